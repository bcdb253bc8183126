//! `smime certs lookup ADDR --ldap URL`: a partner's certificates from an
//! LDAP directory (a company's or a trust center's external repository).
//!
//! The search is `(mail=ADDR)` below the URL's base, for the attributes
//! `userSMIMECertificate` (a PKCS#7 message holding certificates),
//! `userCertificate;binary` and `userCertificate`, anonymously. Of the
//! certificates found, those usable for S/MIME at this moment are kept:
//! within their validity, not a CA, naming the address, a keyUsage (if any)
//! that allows encryption or signing, an extendedKeyUsage (if any) with
//! emailProtection. Each is printed with its fingerprints; `--store` adds
//! them to the certificate store `smime encrypt --to` reads.
//!
//! Connections: `ldaps://` is TLS from the start; on `ldap://` StartTLS is
//! used when the server's root DSE offers it (if the TLS handshake then
//! fails, the lookup goes on in the clear with a warning: certificates are
//! public and are checked here anyway). Connecting and each operation are
//! bounded by `--timeout`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use ldap3::{LdapConn, LdapConnSettings, LdapError, Scope, SearchEntry};
use smime_core::x509::{CertificateRef, KeyUsage, Time};

use crate::cli::CertsLookupArgs;
use crate::error::{Context, Error, Result};

/// The StartTLS extended operation's OID.
const STARTTLS_OID: &str = "1.3.6.1.4.1.1466.20037";
/// The attributes asked for.
const ATTRIBUTES: [&str; 3] = [
    "userSMIMECertificate",
    "userCertificate;binary",
    "userCertificate",
];
/// id-kp-emailProtection, OID content octets.
const EMAIL_PROTECTION: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04];
/// anyExtendedKeyUsage, OID content octets.
const ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// A parsed `ldap://HOST[:PORT]/BASE` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapUrl {
    /// TLS from the start (`ldaps://`).
    pub tls: bool,
    /// The host.
    pub host: String,
    /// The port (389, 636 for `ldaps://`, unless given).
    pub port: u16,
    /// The search base (percent-decoded; may be empty).
    pub base: String,
}

impl LdapUrl {
    /// Parses `ldap://HOST[:PORT]/BASE` or `ldaps://...` (a query part, as
    /// in RFC 4516, is not taken).
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |why: &str| Error::msg(format_args!("--ldap '{url}': {why}"));
        let lower = url.to_ascii_lowercase();
        let (tls, rest) = if lower.starts_with("ldaps://") {
            (true, url.get(8..).unwrap_or_default())
        } else if lower.starts_with("ldap://") {
            (false, url.get(7..).unwrap_or_default())
        } else {
            return Err(bad("expected ldap://HOST[:PORT]/BASE or ldaps://..."));
        };
        let (hostport, base) = rest.split_once('/').unwrap_or((rest, ""));
        if base.contains('?') {
            return Err(bad(
                "attributes, scope and filter in the URL are not taken: give only the base",
            ));
        }
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            // [IPv6]:port
            let (h, p) = h.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            (format!("[{h}]"), p.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() || host.contains(['@', ' ']) {
            return Err(bad("no host name"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("invalid port"))?,
            None if tls => 636,
            None => 389,
        };
        let base = percent_decode(base).ok_or_else(|| bad("invalid %-escape in the base"))?;
        Ok(Self {
            tls,
            host,
            port,
            base,
        })
    }

    /// `HOST:PORT`, for messages.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn url(&self) -> String {
        format!(
            "{}://{}:{}",
            if self.tls { "ldaps" } else { "ldap" },
            self.host,
            self.port
        )
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What a connection or operation error means for the person reading.
fn explain(url: &LdapUrl, what: &str, e: &LdapError, timeout: Duration) -> Error {
    let server = url.server();
    let secs = timeout.as_secs();
    match e {
        LdapError::Timeout { .. } => Error::msg(format_args!(
            "LDAP directory {server} did not answer within {secs} s ({what}); \
             is it the right host and port? Firewalls often block LDAP (port 389, LDAPS 636) \
             or drop the packets silently"
        )),
        LdapError::Io { source }
            if source.to_string().contains("certificate")
                || source.kind() == std::io::ErrorKind::InvalidData =>
        {
            Error::msg(format_args!(
                "TLS with LDAP directory {server} failed ({what}: {source}): \
                 its certificate is not trusted here (the system's CA certificates, \
                 or the PEM file SSL_CERT_FILE names)"
            ))
        }
        LdapError::Io { source } => Error::msg(format_args!(
            "cannot reach LDAP directory {server} ({what}: {source}); is the address right? \
             Firewalls often block LDAP (port 389, LDAPS 636)"
        )),
        _ => Error::msg(format_args!("LDAP directory {server}: {what}: {e}")),
    }
}

/// Connects, with StartTLS when plain LDAP and the server offers it.
fn connect(url: &LdapUrl, timeout: Duration) -> Result<(LdapConn, &'static str)> {
    let settings = || LdapConnSettings::new().set_conn_timeout(timeout);
    let target = url.url();
    let mut conn = LdapConn::with_settings(settings(), &target)
        .map_err(|e| explain(url, "connecting", &e, timeout))?;
    if url.tls {
        return Ok((conn, "LDAPS"));
    }
    // Does the server offer StartTLS? (The root DSE's supportedExtension.)
    let root = conn
        .with_timeout(timeout)
        .search(
            "",
            Scope::Base,
            "(objectClass=*)",
            vec!["supportedExtension"],
        )
        .and_then(ldap3::SearchResult::success)
        .map_err(|e| explain(url, "reading the root DSE", &e, timeout))?;
    let offers = root.0.into_iter().any(|entry| {
        SearchEntry::construct(entry)
            .attrs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("supportedExtension"))
            .any(|(_, v)| v.iter().any(|o| o == STARTTLS_OID))
    });
    if !offers {
        return Ok((conn, "plain LDAP (the server offers no StartTLS)"));
    }
    match LdapConn::with_settings(settings().set_starttls(true), &target) {
        Ok(tls) => {
            let _ = conn.unbind();
            Ok((tls, "LDAP with StartTLS"))
        }
        Err(e) => {
            eprintln!(
                "smime: warning: StartTLS with {} failed ({e}); searching without TLS",
                url.server()
            );
            Ok((conn, "plain LDAP (StartTLS failed)"))
        }
    }
}

/// The certificates (DER) of a search entry's attributes.
fn entry_certificates(entry: SearchEntry, notes: &mut Vec<String>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let values = entry.bin_attrs.into_iter().chain(
        entry
            .attrs
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().map(String::into_bytes).collect())),
    );
    for (name, vals) in values {
        let smime = name.eq_ignore_ascii_case("userSMIMECertificate");
        let cert = name.eq_ignore_ascii_case("userCertificate")
            || name.eq_ignore_ascii_case("userCertificate;binary");
        for v in vals {
            if smime {
                match crate::certs::certificates_of_message(&v) {
                    Ok(certs) => out.extend(certs),
                    Err(e) => notes.push(format!("{}: userSMIMECertificate: {e}", entry.dn)),
                }
            } else if cert {
                out.push(v);
            }
        }
    }
    out
}

/// Why `c` is no use for S/MIME with `address` at `now` (empty: it is).
/// Also says what it is good for: "encryption", "signing".
pub fn smime_usability(
    c: &CertificateRef<'_>,
    address: &str,
    now: Time,
) -> (Vec<String>, Vec<&'static str>) {
    let mut why = Vec::new();
    if now < c.not_before() {
        why.push(format!("is not valid before {}", date(c.not_before())));
    } else if now > c.not_after() {
        why.push(format!("expired on {}", date(c.not_after())));
    }
    if c.is_ca() {
        why.push("is a CA certificate".to_owned());
    }
    let address = address.trim().to_lowercase();
    if !crate::store::cert_addresses(c).contains(&address) {
        why.push(format!("does not name {address}"));
    }
    let mut uses = Vec::new();
    match c.key_usage() {
        Some(ku) => {
            if ku.contains(KeyUsage::KEY_ENCIPHERMENT) || ku.contains(KeyUsage::KEY_AGREEMENT) {
                uses.push("encryption");
            }
            if ku.contains(KeyUsage::DIGITAL_SIGNATURE) || ku.contains(KeyUsage::NON_REPUDIATION) {
                uses.push("signing");
            }
            if uses.is_empty() {
                why.push(format!("its keyUsage ({ku}) allows no S/MIME use"));
            }
        }
        None => uses.extend(["encryption", "signing"]),
    }
    if let Some(mut purposes) = c.extended_key_usage()
        && !purposes.any(|p| p == EMAIL_PROTECTION || p == ANY_EXTENDED_KEY_USAGE)
    {
        why.push("is not for e-mail protection (extendedKeyUsage)".to_owned());
    }
    (why, uses)
}

fn date(t: Time) -> String {
    let (y, m, d, ..) = t.to_civil();
    format!("{y:04}-{m:02}-{d:02}")
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Runs `smime certs lookup`.
pub fn run(a: &CertsLookupArgs) -> Result<()> {
    let url = LdapUrl::parse(&a.ldap)?;
    if a.timeout == 0 {
        return Err(Error::msg("--timeout must be at least 1 second"));
    }
    let address = a.address.trim();
    if !address.contains('@') || address.chars().any(char::is_control) {
        return Err(Error::msg(format_args!(
            "'{}' is not an e-mail address",
            a.address
        )));
    }
    let timeout = Duration::from_secs(a.timeout);
    let (mut conn, how) = connect(&url, timeout)?;
    let filter = format!("(mail={})", ldap3::ldap_escape(address));
    let result = conn
        .with_timeout(timeout)
        .search(&url.base, Scope::Subtree, &filter, ATTRIBUTES.to_vec())
        .map_err(|e| explain(&url, "searching", &e, timeout))?;
    let (entries, res) = (result.0, result.1);
    if res.rc == 32 {
        return Err(Error::msg(format_args!(
            "LDAP directory {}: the search base '{}' does not exist there",
            url.server(),
            url.base
        )));
    }
    // 4: sizeLimitExceeded, with entries: take those.
    let partial = res.rc == 4 && !entries.is_empty();
    if res.rc != 0 && !partial {
        return Err(Error::msg(format_args!(
            "LDAP directory {}: the search failed: {}",
            url.server(),
            res
        )));
    }
    let _ = conn.unbind();
    let found_entries = entries.len();
    let mut notes = Vec::new();
    let mut all: Vec<Vec<u8>> = Vec::new();
    for e in entries {
        for der in entry_certificates(SearchEntry::construct(e), &mut notes) {
            if !all.contains(&der) {
                all.push(der);
            }
        }
    }
    if found_entries == 0 {
        return Err(Error::msg(format_args!(
            "no entry with mail={address} in LDAP directory {} (base '{}')",
            url.server(),
            url.base
        )));
    }
    let now = crate::describe::now();
    let mut kept = Vec::new();
    for der in &all {
        let Ok(c) = CertificateRef::from_der(der) else {
            notes.push("a value that is not a certificate was skipped".to_owned());
            continue;
        };
        let (why, uses) = smime_usability(&c, address, now);
        if why.is_empty() {
            kept.push((der, uses));
        } else {
            notes.push(format!(
                "skipped {} ({}): {}",
                &hex(&c.fingerprint_sha256())[..16],
                c.subject(),
                why.join(", ")
            ));
        }
    }
    for n in &notes {
        eprintln!("smime: {n}");
    }
    if kept.is_empty() {
        return Err(Error::msg(format_args!(
            "LDAP directory {}: {found_entries} entr{} for {address}, but no certificate usable \
             for S/MIME ({} certificate(s) found)",
            url.server(),
            if found_entries == 1 { "y" } else { "ies" },
            all.len()
        )));
    }
    let store = a
        .store
        .as_deref()
        .map(crate::store::Store::open)
        .transpose()?;
    let mut text = format!(
        "{} certificate(s) for {address} from {} ({how}):\n",
        kept.len(),
        url.server()
    );
    for (der, uses) in &kept {
        let c = CertificateRef::from_der(der)?;
        let _ = writeln!(
            text,
            "SHA256 {}  SHA1 {}  {}\n  valid {} to {}; for {}",
            hex(&c.fingerprint_sha256()),
            hex(&c.fingerprint_sha1()),
            c.subject(),
            date(c.not_before()),
            date(c.not_after()),
            uses.join(" and ")
        );
        if let Some(store) = &store {
            let added = store.add(der)?;
            let _ = writeln!(
                text,
                "  {} the store '{}'",
                if added.new { "added to" } else { "already in" },
                store.dir().display()
            );
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing standard output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_from_every_attribute_form() {
        use crate::certgen::{CertSpec, issue, self_signed_ca};
        let mut rng = getrandom::SysRng;
        let ca = self_signed_ca(&mut rng, &CertSpec::ca("CA", "Test"), 2048).unwrap();
        let mut user = |m| {
            issue(&mut rng, &ca, &CertSpec::user("U", "Test", Some(m)), 2048)
                .unwrap()
                .cert_der()
                .to_vec()
        };
        let (a, b) = (user("a@example.com"), user("b@example.com"));
        let p7 = {
            let certs = [CertificateRef::from_der(&b).unwrap()];
            let mut out = Vec::new();
            smime_core::cms::sign::write_certs_only(
                embedded_io_adapters::std::FromStd::new(&mut out),
                &certs,
            )
            .unwrap();
            out
        };
        let mut entry = SearchEntry {
            dn: "uid=x,dc=example".into(),
            attrs: std::collections::HashMap::new(),
            bin_attrs: std::collections::HashMap::new(),
        };
        // As servers name them: plain, with ;binary, and other cases.
        entry
            .bin_attrs
            .insert("userCertificate".into(), vec![a.clone()]);
        entry
            .bin_attrs
            .insert("usercertificate;binary".into(), vec![b.clone()]);
        entry
            .bin_attrs
            .insert("userSMIMECertificate".into(), vec![p7, b"junk".to_vec()]);
        entry.bin_attrs.insert("jpegPhoto".into(), vec![vec![0xff]]);
        let mut notes = Vec::new();
        let mut got = entry_certificates(entry, &mut notes);
        got.sort();
        let mut want = vec![a.clone(), b.clone(), b];
        want.sort();
        assert_eq!(got, want);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("userSMIMECertificate"), "{notes:?}");

        // Usability: for a@, not for another address, not when expired.
        let c = CertificateRef::from_der(&a).unwrap();
        let now = crate::describe::now();
        let (why, uses) = smime_usability(&c, "A@Example.com", now);
        assert!(why.is_empty(), "{why:?}");
        assert_eq!(uses, ["encryption", "signing"]);
        let (why, _) = smime_usability(&c, "b@example.com", now);
        assert_eq!(why, ["does not name b@example.com"]);
        let later = Time::from_unix(c.not_after().unix() + 1);
        assert!(smime_usability(&c, "a@example.com", later).0[0].starts_with("expired on"));
        let ca_cert = CertificateRef::from_der(ca.cert_der()).unwrap();
        assert!(
            smime_usability(&ca_cert, "a@example.com", now)
                .0
                .contains(&"is a CA certificate".to_owned())
        );
    }

    #[test]
    fn urls() {
        let u = LdapUrl::parse("ldap://dir.example.com/o=Trust%20center,c=DE").unwrap();
        assert_eq!(
            u,
            LdapUrl {
                tls: false,
                host: "dir.example.com".into(),
                port: 389,
                base: "o=Trust center,c=DE".into()
            }
        );
        let u = LdapUrl::parse("LDAPS://127.0.0.1:1636/").unwrap();
        assert!(u.tls);
        assert_eq!(u.port, 1636);
        assert_eq!(u.base, "");
        assert_eq!(LdapUrl::parse("ldaps://h").unwrap().port, 636);
        assert_eq!(
            LdapUrl::parse("ldap://[::1]:10389/dc=x").unwrap().host,
            "[::1]"
        );
        for bad in [
            "http://x/",
            "ldap:///dc=x",
            "ldap://h:99999/",
            "ldap://h:x/",
            "ldap://h/dc=x?mail",
            "ldap://h/%zz",
        ] {
            assert!(LdapUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
