//! A directory certificate store keyed by e-mail address: harvest a
//! partner's certificate once, then encrypt to `partner@example.com`
//! without handling files.
//!
//! Layout:
//!
//! ```text
//! DIR/<address>/<sha256-hex>.pem   a certificate naming <address> (lowercased);
//!                                  one file per certificate under each of its addresses
//! DIR/<address>/preferred          the sha256 hex of the certificate the partner asked
//!                                  to be encrypted to (SMIMEEncryptionKeyPreference)
//! DIR/ca/<sha256-hex>.pem          CA certificates, and certificates naming no address
//! ```
//!
//! Files are written atomically (a temporary file, then a rename that never
//! replaces an existing certificate file). Addresses taken from certificates
//! are checked before they become directory names, so a hostile certificate
//! cannot write outside the store.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use smime_core::x509::{CertificateRef, KeyUsage, Time};

use crate::error::{Context, Error, Result};

/// The directory for CA certificates and certificates without an address.
const CA_DIR: &str = "ca";
/// The file naming the preferred certificate of an address.
const PREFERRED: &str = "preferred";
/// The file holding the SMIMECapabilities an address announced (DER).
const CAPABILITIES: &str = "capabilities";
/// rsaEncryption (1.2.840.113549.1.1.1), OID content octets.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-kp-emailProtection (1.3.6.1.5.5.7.3.4), OID content octets.
const EMAIL_PROTECTION: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04];
/// anyExtendedKeyUsage (2.5.29.37.0), OID content octets.
const ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
/// Warn when the certificate to encrypt to expires within this (30 days).
const EXPIRY_WARNING_SECS: i64 = 30 * 86_400;
/// The longest address accepted (RFC 5321's path limit, less the brackets).
const MAX_ADDRESS_LEN: usize = 254;

/// A directory of certificates: `DIR/<address>/<sha256-hex>.pem` for
/// certificates that name an e-mail address (one file per certificate, under
/// each of its addresses, address lowercased), `DIR/ca/<sha256-hex>.pem` for
/// CA and other certificates without an address; `DIR/<address>/preferred`
/// holds the sha256 hex of the certificate the partner asked to be encrypted
/// to (SMIMEEncryptionKeyPreference).
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Result of [`Store::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// The addresses the certificate was filed under (lowercased; empty for
    /// a certificate filed under `ca/`). Addresses that are not safe as
    /// directory names are left out.
    pub addresses: Vec<String>,
    /// Whether any file was written (false: the certificate was already
    /// present everywhere it belongs).
    pub new: bool,
    /// The certificate's SHA-256 fingerprint, lowercase hex.
    pub sha256: String,
}

impl Store {
    /// Opens the store at `dir`, creating the directory if missing.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create certificate store '{}'", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds a certificate (DER); returns what happened per address (added /
    /// already present). Writes atomically (temp file + rename); never
    /// overwrites a different file. A DER that does not parse is an error.
    ///
    /// CA certificates go to `ca/` only; other certificates go under each of
    /// their (valid) addresses, or to `ca/` if they name none.
    pub fn add(&self, der: &[u8]) -> Result<Added> {
        let cert = parse(der)?;
        let sha256 = hex(&cert.fingerprint_sha256());
        let pem = pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
            .map_err(|e| Error::msg(format_args!("PEM encoding: {e}")))?;
        let addresses: Vec<String> = if cert.is_ca() {
            Vec::new()
        } else {
            cert_addresses(&cert)
                .into_iter()
                .filter(|a| valid_address(a))
                .collect()
        };
        let dirs: Vec<PathBuf> = if addresses.is_empty() {
            vec![self.dir.join(CA_DIR)]
        } else {
            addresses.iter().map(|a| self.dir.join(a)).collect()
        };
        let mut new = false;
        for dir in &dirs {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create directory '{}'", dir.display()))?;
            new |= write_cert(dir, &sha256, der, pem.as_bytes())?;
        }
        Ok(Added {
            addresses,
            new,
            sha256,
        })
    }

    /// Records `preferred` (a certificate DER, which is also added) as the
    /// one to encrypt to for each of its addresses.
    pub fn set_preferred(&self, preferred: &[u8]) -> Result<()> {
        let added = self.add(preferred)?;
        if added.addresses.is_empty() {
            return Err(Error::msg(format_args!(
                "certificate {} names no usable e-mail address; it cannot be preferred",
                short(&added.sha256)
            )));
        }
        for a in &added.addresses {
            let dir = self.dir.join(a);
            let mut tmp = tempfile::NamedTempFile::new_in(&dir)
                .with_context(|| format!("cannot create a file in '{}'", dir.display()))?;
            let path = dir.join(PREFERRED);
            tmp.write_all(format!("{}\n", added.sha256).as_bytes())
                .and_then(|()| tmp.as_file().sync_all())
                .with_context(|| format!("writing '{}'", path.display()))?;
            tmp.persist(&path)
                .map_err(|e| e.error)
                .with_context(|| format!("writing '{}'", path.display()))?;
        }
        Ok(())
    }

    /// Records what the owner of `cert` (a certificate DER, which is also
    /// added) announced in a signed mail: the DER of its SMIMECapabilities
    /// (RFC 8551 §2.5.2), for each of the certificate's addresses. The
    /// latest announcement replaces an earlier one.
    pub fn set_capabilities(&self, cert: &[u8], capabilities: &[u8]) -> Result<()> {
        let added = self.add(cert)?;
        for a in &added.addresses {
            let dir = self.dir.join(a);
            let path = dir.join(CAPABILITIES);
            let mut tmp = tempfile::NamedTempFile::new_in(&dir)
                .with_context(|| format!("cannot create a file in '{}'", dir.display()))?;
            tmp.write_all(capabilities)
                .and_then(|()| tmp.as_file().sync_all())
                .with_context(|| format!("writing '{}'", path.display()))?;
            tmp.persist(&path)
                .map_err(|e| e.error)
                .with_context(|| format!("writing '{}'", path.display()))?;
        }
        Ok(())
    }

    /// The SMIMECapabilities an address announced (see
    /// [`set_capabilities`](Self::set_capabilities)), if any.
    pub fn capabilities(&self, address: &str) -> Result<Option<Vec<u8>>> {
        let path = self.dir.join(lookup_address(address)?).join(CAPABILITIES);
        match std::fs::read(&path) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::msg(format_args!(
                "cannot read '{}': {e}",
                path.display()
            ))),
        }
    }

    /// All certificates stored for an address (case-insensitive), DER, in
    /// file-name order. An address with nothing stored gives an empty list.
    pub fn certificates_for(&self, address: &str) -> Result<Vec<Vec<u8>>> {
        let address = lookup_address(address)?;
        Ok(self
            .read_dir_certs(&self.dir.join(&address))?
            .into_iter()
            .map(|(_, der)| der)
            .collect())
    }

    /// CA certificates in the store (for chain building): everything filed
    /// under `ca/` (which also holds certificates that name no address).
    pub fn ca_certificates(&self) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .read_dir_certs(&self.dir.join(CA_DIR))?
            .into_iter()
            .map(|(_, der)| der)
            .collect())
    }

    /// Picks the certificate to encrypt to: among the address's
    /// certificates, those usable for encryption at `now` (within validity,
    /// an RSA key, keyUsage absent or allowing keyEncipherment,
    /// extendedKeyUsage absent or containing emailProtection or
    /// anyExtendedKeyUsage, not a CA), the preferred one if it is among
    /// them, else the newest (latest notBefore; ties: latest notAfter).
    ///
    /// The error lists why each candidate was refused.
    pub fn select_encryption_cert(&self, address: &str, now: Time) -> Result<Vec<u8>> {
        let address = lookup_address(address)?;
        let dir = self.dir.join(&address);
        let certs = self.read_dir_certs(&dir)?;
        if certs.is_empty() {
            return Err(Error::msg(format_args!(
                "no certificate for {address} in '{}'",
                self.dir.display()
            )));
        }
        let mut usable: Vec<(String, CertificateRef<'_>)> = Vec::new();
        let mut refused: Vec<String> = Vec::new();
        for (sha, der) in &certs {
            let c = parse(der)
                .with_context(|| format!("'{}'", dir.join(format!("{sha}.pem")).display()))?;
            let reasons = unusable_reasons(&c, now);
            if reasons.is_empty() {
                usable.push((sha.clone(), c));
            } else {
                refused.push(format!(
                    "certificate {} ({}) {}",
                    short(sha),
                    c.subject(),
                    reasons.join(", ")
                ));
            }
        }
        let preferred = self.preferred(&dir)?;
        if let Some((_, c)) = preferred.and_then(|p| usable.iter().find(|(sha, _)| *sha == p)) {
            return Ok(c.der().to_vec());
        }
        usable
            .iter()
            .max_by(|(sa, a), (sb, b)| {
                (a.not_before(), a.not_after(), sa).cmp(&(b.not_before(), b.not_after(), sb))
            })
            .map(|(_, c)| c.der().to_vec())
            .ok_or_else(|| {
                Error::msg(format_args!(
                    "{address}: no certificate usable for encryption in '{}': {}",
                    self.dir.display(),
                    refused.join("; ")
                ))
            })
    }

    /// A warning for encrypting to `chosen` (DER) for `address` at `now`,
    /// when it expires within 30 days and no other stored certificate of the
    /// address lasts longer (ask the partner for a renewed one), if any.
    pub fn expiry_warning(&self, address: &str, chosen: &[u8], now: Time) -> Option<String> {
        let c = CertificateRef::from_der(chosen).ok()?;
        let left = c.not_after().unix() - now.unix();
        if left > EXPIRY_WARNING_SECS {
            return None;
        }
        let address = lookup_address(address).ok()?;
        let later = self
            .read_dir_certs(&self.dir.join(&address))
            .ok()?
            .iter()
            .filter_map(|(_, der)| CertificateRef::from_der(der).ok())
            .any(|o| o.not_after() > c.not_after() && unusable_reasons(&o, now).is_empty());
        if later {
            return None;
        }
        let days = left / 86_400;
        Some(if left < 0 {
            format!(
                "the certificate for {address} ({}) expired on {}; ask the partner for a renewed one",
                c.subject(),
                date(c.not_after())
            )
        } else {
            format!(
                "the only certificate for {address} ({}) expires on {} (in {days} day{}); \
                 ask the partner for a renewed one",
                c.subject(),
                date(c.not_after()),
                if days == 1 { "" } else { "s" }
            )
        })
    }

    /// `smime certs list`: per address, each certificate's validity and
    /// fingerprint, and which one `smime encrypt --to` would use (`*`);
    /// then the number of CA certificates.
    pub fn listing(&self, now: Time) -> Result<String> {
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("cannot read the store '{}'", self.dir.display()))?;
        let mut addresses = Vec::new();
        for e in entries {
            let e = e.with_context(|| format!("cannot read the store '{}'", self.dir.display()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name != CA_DIR && e.path().is_dir() && valid_address(&name) {
                addresses.push(name);
            }
        }
        addresses.sort();
        let mut s = String::new();
        for address in &addresses {
            let dir = self.dir.join(address);
            let certs = self.read_dir_certs(&dir)?;
            if certs.is_empty() {
                continue;
            }
            let chosen = self.select_encryption_cert(address, now).ok();
            let chosen_sha = chosen
                .as_deref()
                .and_then(|d| CertificateRef::from_der(d).ok())
                .map(|c| hex(&c.fingerprint_sha256()));
            let preferred = self.preferred(&dir)?;
            let _ = writeln!(s, "{address}");
            let mut sorted: Vec<(String, CertificateRef<'_>)> = certs
                .iter()
                .filter_map(|(sha, der)| {
                    CertificateRef::from_der(der).ok().map(|c| (sha.clone(), c))
                })
                .collect();
            sorted.sort_by_key(|(_, c)| std::cmp::Reverse(c.not_before()));
            for (sha, c) in &sorted {
                let used = chosen_sha.as_deref() == Some(sha.as_str());
                let reasons = unusable_reasons(c, now);
                let state = if used {
                    "used for encryption".to_owned()
                } else if reasons.is_empty() {
                    "usable".to_owned()
                } else {
                    format!("not used: {}", reasons.join(", "))
                };
                let pref = if preferred.as_deref() == Some(sha.as_str()) {
                    ", preferred by the partner"
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "  {} SHA256 {sha}\n      {}\n      valid {} to {}: {state}{pref}",
                    if used { "*" } else { " " },
                    c.subject(),
                    date(c.not_before()),
                    date(c.not_after()),
                );
            }
            if chosen.is_none() {
                let _ = writeln!(s, "  (no certificate usable for encryption)");
            } else if let Some(w) = chosen
                .as_deref()
                .and_then(|d| self.expiry_warning(address, d, now))
            {
                let _ = writeln!(s, "  warning: {w}");
            }
        }
        let cas = self.ca_certificates()?.len();
        if addresses.is_empty() && cas == 0 {
            let _ = writeln!(s, "the store '{}' is empty", self.dir.display());
        } else if cas > 0 {
            let _ = writeln!(s, "{cas} CA certificate(s) (or without an address) in ca/");
        }
        Ok(s)
    }

    /// The preferred certificate's sha256 hex recorded in `dir`, if any.
    fn preferred(&self, dir: &Path) -> Result<Option<String>> {
        let path = dir.join(PREFERRED);
        match std::fs::read_to_string(&path) {
            Ok(s) => Ok(Some(s.trim().to_ascii_lowercase())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::msg(format_args!(
                "cannot read '{}': {e}",
                path.display()
            ))),
        }
    }

    /// The `<sha256-hex>.pem` certificates of `dir` (none if it does not
    /// exist), sorted by file name: (sha256 hex, DER).
    fn read_dir_certs(&self, dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::msg(format_args!(
                    "cannot read directory '{}': {e}",
                    dir.display()
                )));
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry =
                entry.with_context(|| format!("cannot read directory '{}'", dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(stem) = name.strip_suffix(".pem")
                && is_sha256_hex(stem)
            {
                names.push(stem.to_owned());
            }
        }
        names.sort();
        names
            .into_iter()
            .map(|stem| {
                let path = dir.join(format!("{stem}.pem"));
                let der = read_cert_file(&path)?;
                Ok((stem, der))
            })
            .collect()
    }
}

/// The e-mail addresses a certificate is for: its rfc822Name SANs, plus
/// emailAddress in the subject; lowercased, deduplicated, in that order.
/// Addresses that are not UTF-8 are left out. (Not checked as directory
/// names: [`Store::add`] does that.)
pub fn cert_addresses(cert: &CertificateRef<'_>) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for m in cert.rfc822_names().chain(cert.subject().email()) {
        let Ok(m) = std::str::from_utf8(m) else {
            continue;
        };
        let m = m.trim().to_lowercase();
        if !m.is_empty() && !v.contains(&m) {
            v.push(m);
        }
    }
    v
}

/// Whether `a` (lowercased) is safe as a directory name of the store: has
/// an '@', no '/', '\\', NUL or other control character, no leading '.',
/// at most 254 bytes.
fn valid_address(a: &str) -> bool {
    !a.is_empty()
        && a.len() <= MAX_ADDRESS_LEN
        && a.contains('@')
        && !a.starts_with('.')
        && !a.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

/// A user-given address, lowercased and checked.
fn lookup_address(address: &str) -> Result<String> {
    let a = address.trim().to_lowercase();
    if valid_address(&a) {
        Ok(a)
    } else {
        Err(Error::msg(format_args!(
            "'{address}' is not an e-mail address the certificate store can look up"
        )))
    }
}

/// Why `c` cannot be encrypted to at `now` (empty: it can).
fn unusable_reasons(c: &CertificateRef<'_>, now: Time) -> Vec<String> {
    let mut why = Vec::new();
    if now < c.not_before() {
        why.push(format!("is not valid before {}", date(c.not_before())));
    } else if now > c.not_after() {
        why.push(format!("expired on {}", date(c.not_after())));
    }
    if c.rsa_public_key().is_none() {
        if c.public_key_algorithm() == RSA_ENCRYPTION {
            why.push("has an RSA key of an unsupported size".to_owned());
        } else {
            why.push("has no RSA key (only RSA key transport is supported)".to_owned());
        }
    }
    if let Some(ku) = c.key_usage()
        && !ku.contains(KeyUsage::KEY_ENCIPHERMENT)
    {
        why.push(format!("does not allow keyEncipherment (keyUsage: {ku})"));
    }
    if let Some(mut purposes) = c.extended_key_usage()
        && !purposes.any(|p| p == EMAIL_PROTECTION || p == ANY_EXTENDED_KEY_USAGE)
    {
        why.push("is not for e-mail protection (extendedKeyUsage)".to_owned());
    }
    if c.is_ca() {
        why.push("is a CA certificate".to_owned());
    }
    why
}

/// Writes the certificate as `dir/<sha256>.pem` unless it is there already;
/// returns whether it was written. A different file of that name is an
/// error, never replaced.
fn write_cert(dir: &Path, sha256: &str, der: &[u8], pem: &[u8]) -> Result<bool> {
    let path = dir.join(format!("{sha256}.pem"));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in '{}'", dir.display()))?;
    tmp.write_all(pem)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing '{}'", path.display()))?;
    match tmp.persist_noclobber(&path) {
        Ok(_) => Ok(true),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            let existing = read_cert_file(&path)?;
            if existing == der {
                Ok(false)
            } else {
                Err(Error::msg(format_args!(
                    "'{}' exists and holds a different certificate; not replaced",
                    path.display()
                )))
            }
        }
        Err(e) => Err(Error::msg(format_args!(
            "writing '{}': {}",
            path.display(),
            e.error
        ))),
    }
}

/// A stored certificate file's DER (PEM or DER on disk).
fn read_cert_file(path: &Path) -> Result<Vec<u8>> {
    let data = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    if crate::pem::looks_like_pem(&data) {
        crate::pem::decode_file(&data, &["CERTIFICATE", "X509 CERTIFICATE"])
            .map(|(_, der)| der)
            .with_context(|| format!("'{}'", path.display()))
    } else {
        Ok(data)
    }
}

fn parse(der: &[u8]) -> Result<CertificateRef<'_>> {
    CertificateRef::from_der(der).map_err(|e| Error::msg(format_args!("invalid certificate: {e}")))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The first 16 hex digits of a fingerprint, for messages.
fn short(sha256: &str) -> &str {
    sha256.get(..16).unwrap_or(sha256)
}

/// `YYYY-MM-DD`.
fn date(t: Time) -> String {
    let (y, m, d, ..) = t.to_civil();
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Distinct serial numbers, so that no two test certificates coincide.
    static SERIAL: AtomicU32 = AtomicU32::new(0x1000);

    /// An RSA and an EC key, made once per test process.
    fn keys() -> &'static Path {
        static KEYS: OnceLock<tempfile::TempDir> = OnceLock::new();
        KEYS.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            openssl(
                dir.path(),
                &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                    "-out",
                    "rsa.key",
                ],
            );
            openssl(
                dir.path(),
                &[
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-out",
                    "ec.key",
                ],
            );
            dir
        })
        .path()
    }

    fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    const CA_CONFIG: &str = "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\n\
        new_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\n\
        copy_extensions = copy\nunique_subject = no\n[p]\ncommonName = supplied\nemailAddress = optional\n";

    /// A self-signed certificate (DER) valid from `start` to `end`
    /// (`YYYYMMDDHHMMSSZ`), with `exts` (`-addext` values) and an RSA key,
    /// or an EC key if `ec`.
    fn cert(subj: &str, exts: &[&str], start: &str, end: &str, ec: bool) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let key = keys().join(if ec { "ec.key" } else { "rsa.key" });
        let key = key.to_str().unwrap();
        std::fs::write(d.join("ca.cnf"), CA_CONFIG).unwrap();
        std::fs::write(d.join("index.txt"), "").unwrap();
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        std::fs::write(d.join("serial"), format!("{serial:X}\n")).unwrap();
        let mut req = vec!["req", "-new", "-key", key, "-subj", subj, "-out", "r.csr"];
        for e in exts {
            req.extend(["-addext", e]);
        }
        openssl(d, &req);
        openssl(
            d,
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-selfsign",
                "-keyfile",
                key,
                "-in",
                "r.csr",
                "-startdate",
                start,
                "-enddate",
                end,
                "-notext",
                "-out",
                "c.pem",
            ],
        );
        read_cert_file(&d.join("c.pem")).unwrap()
    }

    /// An RSA end-entity certificate for `email` (SAN) valid `start`..`end`.
    fn user(email: &str, start: &str, end: &str) -> Vec<u8> {
        let san = format!("subjectAltName=email:{email}");
        cert("/CN=User", &[&san], start, end, false)
    }

    fn now() -> Time {
        Time::from_civil(2030, 6, 1, 0, 0, 0).unwrap()
    }

    fn sha(der: &[u8]) -> String {
        hex(&CertificateRef::from_der(der).unwrap().fingerprint_sha256())
    }

    const Y2029: &str = "20290101000000Z";
    const Y2030: &str = "20300101000000Z";
    const Y2031: &str = "20310101000000Z";
    const Y2032: &str = "20320101000000Z";

    #[test]
    fn add_and_look_up_case_insensitively() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let der = cert(
            "/CN=Alice/emailAddress=Alice.Subject@Example.org",
            &["subjectAltName=email:Alice@Example.COM"],
            Y2029,
            Y2031,
            false,
        );
        let added = store.add(&der).unwrap();
        assert!(added.new);
        assert_eq!(added.sha256, sha(&der));
        assert_eq!(
            added.addresses,
            ["alice@example.com", "alice.subject@example.org"]
        );
        let file = tmp
            .path()
            .join("store/alice@example.com")
            .join(format!("{}.pem", added.sha256));
        assert!(
            std::fs::read_to_string(file)
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert_eq!(
            store.certificates_for("ALICE@example.com").unwrap(),
            std::slice::from_ref(&der)
        );
        assert_eq!(
            store
                .certificates_for(" alice.subject@EXAMPLE.org ")
                .unwrap(),
            std::slice::from_ref(&der)
        );
        assert!(
            store
                .certificates_for("bob@example.com")
                .unwrap()
                .is_empty()
        );
        assert!(store.ca_certificates().unwrap().is_empty());

        // Again: nothing new, nothing duplicated; also through a new handle.
        let again = Store::open(store.dir()).unwrap().add(&der).unwrap();
        assert!(!again.new);
        assert_eq!(again.addresses, added.addresses);
        assert_eq!(
            store.certificates_for("alice@example.com").unwrap().len(),
            1
        );
        let names: Vec<_> = std::fs::read_dir(tmp.path().join("store/alice@example.com"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }

    #[test]
    fn ca_and_addressless_certificates_go_to_ca() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        // A CA naming an address is still filed as a CA only.
        let ca = cert(
            "/CN=Test CA/emailAddress=ca@example.com",
            &[
                "basicConstraints=critical,CA:TRUE",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            Y2029,
            Y2032,
            false,
        );
        let plain = cert("/CN=No Address", &[], Y2029, Y2032, false);
        let a = store.add(&ca).unwrap();
        assert!(a.new && a.addresses.is_empty());
        let b = store.add(&plain).unwrap();
        assert!(b.new && b.addresses.is_empty());
        assert!(
            tmp.path()
                .join("ca")
                .join(format!("{}.pem", a.sha256))
                .is_file()
        );
        let mut cas = store.ca_certificates().unwrap();
        cas.sort();
        let mut want = vec![ca, plain];
        want.sort();
        assert_eq!(cas, want);
        assert!(store.certificates_for("ca@example.com").unwrap().is_empty());
        assert!(!store.add(&want[0]).unwrap().new);
    }

    #[test]
    fn hostile_addresses_write_nothing_outside_the_store() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("store");
        let store = Store::open(&root).unwrap();
        let evil = cert(
            "/CN=Evil/emailAddress=..\\/..\\/subject@x",
            &["subjectAltName=email:../evil@x,email:a/b@x,email:.hidden@x,email:Good@X"],
            Y2029,
            Y2032,
            false,
        );
        let added = store.add(&evil).unwrap();
        assert_eq!(added.addresses, ["good@x"]);
        let only_bad = cert(
            "/CN=Evil",
            &["subjectAltName=email:../../evil2@x,email:x/../../evil3@y"],
            Y2029,
            Y2032,
            false,
        );
        let added = store.add(&only_bad).unwrap();
        assert!(added.addresses.is_empty());
        // Outside: only the store itself.
        let outside: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(outside, ["store"]);
        let mut inside: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        inside.sort();
        assert_eq!(inside, ["ca", "good@x"]);
        for bad in [
            "../evil@x",
            "a/b@x",
            ".hidden@x",
            "a\\b@x",
            "a\0@x",
            "no-at-sign",
            "",
        ] {
            assert!(store.certificates_for(bad).is_err(), "{bad:?}");
            assert!(store.select_encryption_cert(bad, now()).is_err(), "{bad:?}");
        }
        let long = format!("{}@x", "a".repeat(MAX_ADDRESS_LEN));
        assert!(store.certificates_for(&long).is_err());
    }

    #[test]
    fn bad_input_and_existing_different_file() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        assert!(store.add(b"not a certificate").is_err());
        assert!(store.add(&[]).is_err());
        let a = user("a@example.com", Y2029, Y2032);
        let b = user("b@example.com", Y2029, Y2032);
        // A file of a's name holding another certificate: never replaced.
        let dir = tmp.path().join("a@example.com");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.pem", sha(&a)));
        let other =
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &b).unwrap();
        std::fs::write(&path, &other).unwrap();
        let err = store.add(&a).unwrap_err();
        assert!(err.message().contains("different certificate"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), other);
        // Setting a certificate without an address as preferred is refused.
        let plain = cert("/CN=No Address", &[], Y2029, Y2032, false);
        assert!(store.set_preferred(&plain).is_err());
    }

    #[test]
    fn empty_store_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("new/store")).unwrap();
        assert!(store.dir().is_dir());
        let err = store
            .select_encryption_cert("Bob@Example.com", now())
            .unwrap_err();
        assert!(
            err.message()
                .starts_with("no certificate for bob@example.com in '"),
            "{err}"
        );
        assert!(err.message().contains("store"), "{err}");
    }

    #[test]
    fn unusable_certificates_are_refused_with_reasons() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let bob = "bob@example.com";
        let san = format!("subjectAltName=email:{bob}");
        let expired = cert("/CN=Expired", &[&san], Y2029, Y2030, false);
        let future = cert("/CN=Future", &[&san], Y2031, Y2032, false);
        let signing = cert(
            "/CN=Signing Only",
            &[&san, "keyUsage=critical,digitalSignature"],
            Y2029,
            Y2032,
            false,
        );
        let ec = cert("/CN=EC", &[&san], Y2029, Y2032, true);
        let server = cert(
            "/CN=Server",
            &[&san, "extendedKeyUsage=serverAuth"],
            Y2029,
            Y2032,
            false,
        );
        for c in [&expired, &future, &signing, &ec, &server] {
            store.add(c).unwrap();
        }
        let err = store.select_encryption_cert(bob, now()).unwrap_err();
        let m = err.message();
        assert!(
            m.starts_with("bob@example.com: no certificate usable for encryption"),
            "{m}"
        );
        assert!(
            m.contains(&format!(
                "certificate {} (CN=Expired) expired on 2030-01-01",
                short(&sha(&expired))
            )),
            "{m}"
        );
        assert!(
            m.contains("(CN=Future) is not valid before 2031-01-01"),
            "{m}"
        );
        assert!(
            m.contains("(CN=Signing Only) does not allow keyEncipherment"),
            "{m}"
        );
        assert!(m.contains("(CN=EC) has no RSA key"), "{m}");
        assert!(
            m.contains("(CN=Server) is not for e-mail protection"),
            "{m}"
        );
        assert_eq!(m.matches("; certificate ").count(), 4, "{m}");

        // One usable certificate among them is picked.
        let good = cert(
            "/CN=Good",
            &[
                &san,
                "keyUsage=critical,keyEncipherment,digitalSignature",
                "extendedKeyUsage=emailProtection",
            ],
            Y2029,
            "20300102000000Z",
            false,
        );
        store.add(&good).unwrap();
        // Valid at the very end of its period (inclusive), not after.
        let end = Time::from_civil(2030, 1, 2, 0, 0, 0).unwrap();
        assert_eq!(store.select_encryption_cert(bob, end).unwrap(), good);
        assert!(store.select_encryption_cert(bob, now()).is_err());
    }

    #[test]
    fn newest_valid_is_chosen() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let bob = "bob@example.com";
        let old = user(bob, Y2029, Y2032);
        let newer = user(bob, "20290601000000Z", Y2031);
        let newer_longer = user(bob, "20290601000000Z", Y2032);
        let newest_expired = user(bob, "20300101000000Z", "20300501000000Z");
        let ca = cert(
            "/CN=Bob CA",
            &[
                &format!("subjectAltName=email:{bob}"),
                "basicConstraints=critical,CA:TRUE",
            ],
            "20300201000000Z",
            Y2032,
            false,
        );
        for c in [&old, &newer, &ca, &newest_expired] {
            store.add(c).unwrap();
        }
        assert_eq!(
            store
                .select_encryption_cert("BOB@example.com", now())
                .unwrap(),
            newer
        );
        // Same notBefore: the later notAfter wins.
        store.add(&newer_longer).unwrap();
        assert_eq!(
            store.select_encryption_cert(bob, now()).unwrap(),
            newer_longer
        );
        assert_eq!(store.certificates_for(bob).unwrap().len(), 4);
    }

    #[test]
    fn preferred_wins_while_usable() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let bob = "bob@example.com";
        let old = user(bob, Y2029, Y2032);
        let new = user(bob, "20290601000000Z", Y2032);
        store.add(&old).unwrap();
        store.add(&new).unwrap();
        assert_eq!(store.select_encryption_cert(bob, now()).unwrap(), new);
        store.set_preferred(&old).unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("bob@example.com/preferred"))
                .unwrap()
                .trim(),
            sha(&old)
        );
        assert_eq!(store.select_encryption_cert(bob, now()).unwrap(), old);
        // A preferred certificate that was not stored yet is added.
        let third = user(bob, "20290301000000Z", Y2032);
        store.set_preferred(&third).unwrap();
        assert_eq!(store.certificates_for(bob).unwrap().len(), 3);
        assert_eq!(store.select_encryption_cert(bob, now()).unwrap(), third);
        // Preferred but expired: the newest valid one instead.
        let expired = user(bob, Y2029, Y2030);
        store.set_preferred(&expired).unwrap();
        assert_eq!(store.select_encryption_cert(bob, now()).unwrap(), new);
    }

    #[test]
    fn address_checks() {
        assert!(valid_address("a@b"));
        assert!(valid_address("ü@example.com"));
        for bad in [
            "", "ab", "../a@b", ".a@b", "a/b@c", "a\\b@c", "a\0b@c", "a\n@b",
        ] {
            assert!(!valid_address(bad), "{bad:?}");
        }
        assert!(valid_address(&format!("{}@x", "a".repeat(252))));
        assert!(!valid_address(&format!("{}@x", "a".repeat(253))));
        assert_eq!(
            date(Time::from_civil(2025, 1, 1, 23, 59, 59).unwrap()),
            "2025-01-01"
        );
        assert_eq!(short(&"ab".repeat(32)), "abababababababab");
    }
}
