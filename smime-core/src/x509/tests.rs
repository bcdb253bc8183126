//! Certificate view tests: every certificate in the shared interop samples,
//! compared with OpenSSL where it is installed; hand-made edge cases;
//! truncation and mutation.

extern crate std;

use std::format;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use super::*;

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop")
}

fn interop(rel: &str) -> Vec<u8> {
    let p = interop_dir().join(rel);
    let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    if data.starts_with(b"-----BEGIN") { pem_blocks(&data).remove(0) } else { data }
}

/// The DER of every `CERTIFICATE` PEM block in `data`.
fn pem_blocks(data: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut rest = &text[..];
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    while let Some(b) = rest.find(BEGIN) {
        let Some(e) = rest[b..].find(END) else { break };
        // Re-wrap the body at 64 columns: some samples have other line lengths.
        let body: String =
            rest[b + BEGIN.len()..b + e].chars().filter(|c| !c.is_whitespace()).collect();
        let mut block = String::from(BEGIN);
        block.push('\n');
        for line in body.as_bytes().chunks(64) {
            block.push_str(std::str::from_utf8(line).unwrap());
            block.push('\n');
        }
        block.push_str(END);
        block.push('\n');
        let (_, der) = pem_rfc7468::decode_vec(block.as_bytes()).expect("PEM certificate");
        out.push(der);
        rest = &rest[b + e + END.len()..];
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every certificate in the interop folder: PEM blocks in any file, and DER
/// files that OpenSSL would read as certificates (`.cer`, `.crt`, and the
/// `.der` files listed).
fn corpus() -> Vec<(String, Vec<u8>)> {
    const DER_CERTS: &[&str] = &[
        "cert_dfn_pca15.der",
        "cert_dfn_pca01.der",
        "cert_g10code_test1.der",
        "webdeca.der",
        "webderoot.der",
    ];
    let mut files = Vec::new();
    walk(&interop_dir(), &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let ext = f.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
        if !["pem", "crt", "cer", "der", "key"].contains(&ext.as_str()) {
            continue;
        }
        let data = std::fs::read(&f).unwrap();
        let rel = f.strip_prefix(interop_dir()).unwrap_or(&f).display().to_string();
        let blocks = pem_blocks(&data);
        if !blocks.is_empty() {
            for (i, b) in blocks.into_iter().enumerate() {
                out.push((format!("{rel}#{i}"), b));
            }
        } else if !data.windows(10).any(|w| w == b"-----BEGIN")
            && (ext == "cer" || ext == "crt" || DER_CERTS.contains(&name.as_str()))
        {
            out.push((rel, data));
        }
    }
    out
}

/// Calls every accessor and formats everything: must not panic.
fn exercise(c: &CertificateRef<'_>) -> String {
    let mut s = String::new();
    s += &format!("{} {} {}", c.version(), c.subject(), c.issuer());
    s += &format!("{} {}", c.not_before(), c.not_after());
    for a in c.subject().attributes().chain(c.issuer().attributes()) {
        s += &format!("{a} {:?} {:?}", a.short_name(), a.chars().map(|c| c.count()));
    }
    let _ =
        (c.der(), c.tbs_der(), c.serial(), c.spki_der(), c.public_key(), c.public_key_parameters());
    let _ =
        (c.public_key_algorithm(), c.rsa_public_key(), c.subject_key_id(), c.authority_key_id());
    let _ = (c.key_usage().map(|k| k.to_string()), c.is_ca(), c.basic_constraints());
    let _ = (c.check_key_encipherment(), c.check_signature_usage(), c.recipient_id());
    let _ = (c.signature_algorithm_der(), c.tbs_signature_algorithm_der(), c.signature());
    let _ = (
        c.fingerprint_sha1(),
        c.fingerprint_sha256(),
        c.subject().email(),
        c.is_valid_at(Time::from_unix(0)),
    );
    s += &format!("{}", c.extensions().count());
    for n in c.subject_alt_names().into_iter().flatten() {
        if let GeneralName::Directory(d) = n {
            s += &d.to_string();
        }
    }
    s += &format!("{}", c.rfc822_names().count());
    s += &format!("{}", c.extended_key_usage().map(|k| k.count()).unwrap_or(0));
    s
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02X}")).collect()
}

fn colon_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[test]
fn every_interop_certificate_parses() {
    let corpus = corpus();
    assert!(corpus.len() >= 110, "only {} certificates found", corpus.len());
    let mut failed = Vec::new();
    for (name, der) in &corpus {
        if NOT_CERTIFICATES.iter().any(|n| name.contains(n)) {
            assert!(CertificateRef::from_der(der).is_err(), "{name}");
            continue;
        }
        match CertificateRef::from_der(der) {
            Ok(c) => {
                exercise(&c);
                assert_eq!(c.der(), &der[..]);
            }
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} failed:\n{}",
        failed.len(),
        corpus.len(),
        failed.join("\n")
    );
}

/// Files in CERTIFICATE armour that are not certificates (a CRL, a
/// doubly base64-encoded blob): OpenSSL refuses them too.
const NOT_CERTIFICATES: &[&str] = &["crl_testpki_testpca.pem", "cert_cci_test_wzs.pem"];

/// OpenSSL's view of a certificate, parsed from its text output.
#[derive(Debug, Default)]
struct Openssl {
    serial: String,
    subject: String,
    issuer: String,
    not_before: String,
    not_after: String,
    sha256: String,
    sha1: String,
    ski: Option<String>,
    key_usage: Option<String>,
    ca: Option<bool>,
    emails: Vec<String>,
}

fn openssl(der: &[u8]) -> Option<Openssl> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let run = |args: &[&str]| -> Option<String> {
        let mut child = Command::new("openssl")
            .args(["x509", "-inform", "DER", "-noout"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(der).ok()?;
        let out = child.wait_with_output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let text = run(&[
        "-serial",
        "-subject",
        "-issuer",
        "-startdate",
        "-enddate",
        "-dateopt",
        "iso_8601",
        "-nameopt",
        "sep_comma_plus_space,esc_2253,esc_ctrl,utf8,sname,dump_nostr,dump_der",
        "-fingerprint",
        "-sha256",
        "-ext",
        "subjectKeyIdentifier,keyUsage,basicConstraints,subjectAltName",
    ])?;
    let sha1 = run(&["-fingerprint", "-sha1"])?;
    let mut o = Openssl::default();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("serial=") {
            o.serial = v.to_string();
        } else if let Some(v) = line.strip_prefix("subject=") {
            o.subject = v.to_string();
        } else if let Some(v) = line.strip_prefix("issuer=") {
            o.issuer = v.to_string();
        } else if let Some(v) = line.strip_prefix("notBefore=") {
            o.not_before = v.to_string();
        } else if let Some(v) = line.strip_prefix("notAfter=") {
            o.not_after = v.to_string();
        } else if let Some((_, v)) = line.split_once("Fingerprint=") {
            o.sha256 = v.to_string();
        }
    }
    o.sha1 = sha1.trim().split_once("Fingerprint=")?.1.to_string();
    let mut current = "";
    for line in text.lines().skip_while(|l| !l.starts_with("X509v3")) {
        if !line.starts_with(' ') {
            current = line.split(':').next().unwrap_or("");
            continue;
        }
        let v = line.trim();
        match current {
            "X509v3 Subject Key Identifier" => o.ski = Some(v.to_string()),
            "X509v3 Key Usage" => o.key_usage = Some(v.to_string()),
            "X509v3 Basic Constraints" if v.starts_with("CA:") => {
                o.ca = Some(v.starts_with("CA:TRUE"))
            }
            "X509v3 Subject Alternative Name" => {
                for part in v.split(", ") {
                    if let Some(m) = part.strip_prefix("email:") {
                        o.emails.push(m.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    Some(o)
}

fn openssl_key_usage(ku: KeyUsage) -> String {
    const NAMES: [&str; 9] = [
        "Digital Signature",
        "Non Repudiation",
        "Key Encipherment",
        "Data Encipherment",
        "Key Agreement",
        "Certificate Sign",
        "CRL Sign",
        "Encipher Only",
        "Decipher Only",
    ];
    let names: Vec<&str> = (0..9).filter(|i| ku.bits() & (1 << i) != 0).map(|i| NAMES[i]).collect();
    names.join(", ")
}

/// Whether every attribute type has a short name here (OpenSSL prints long
/// names for types this module shows as dotted OIDs).
fn all_known(n: &NameRef<'_>) -> bool {
    n.attributes().all(|a| a.short_name().is_some())
}

#[test]
fn agrees_with_openssl() {
    let corpus = corpus();
    let mut compared = 0;
    let mut names = 0;
    for (name, der) in &corpus {
        let Some(o) = openssl(der) else { continue };
        let c = CertificateRef::from_der(der).unwrap();
        compared += 1;
        if c.serial()[0] & 0x80 == 0 {
            let mut s = c.serial();
            while s.len() > 1 && s[0] == 0 {
                s = &s[1..];
            }
            assert_eq!(hex(s), o.serial, "{name}: serial");
        }
        for (ours, theirs, what) in
            [(c.subject(), &o.subject, "subject"), (c.issuer(), &o.issuer, "issuer")]
        {
            if all_known(&ours) {
                assert_eq!(&ours.to_string(), theirs, "{name}: {what}");
                names += 1;
            }
        }
        assert_eq!(c.not_before().to_string().replace('T', " "), o.not_before, "{name}");
        assert_eq!(c.not_after().to_string().replace('T', " "), o.not_after, "{name}");
        assert_eq!(colon_hex(&c.fingerprint_sha256()), o.sha256, "{name}");
        assert_eq!(colon_hex(&c.fingerprint_sha1()), o.sha1, "{name}");
        assert_eq!(c.subject_key_id().map(colon_hex), o.ski, "{name}: SKI");
        assert_eq!(c.key_usage().map(openssl_key_usage), o.key_usage, "{name}: keyUsage");
        assert_eq!(c.basic_constraints().map(|b| b.ca), o.ca, "{name}: basicConstraints");
        let emails: Vec<String> =
            c.rfc822_names().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
        assert_eq!(emails, o.emails, "{name}: rfc822Name");
    }
    if compared == 0 {
        std::eprintln!("openssl not available: comparison skipped");
    } else {
        assert_eq!(compared, corpus.len() - NOT_CERTIFICATES.len());
        assert!(names > compared, "too few names compared: {names}");
        std::eprintln!("compared {compared} certificates, {names} names");
    }
}

#[test]
fn lamps_alice_values() {
    // openssl x509 -in lamps-alice.crt -noout -serial -subject -ext ... -fingerprint -sha256
    let der = interop("examples-cms/certs-and-keys/lamps-alice.crt");
    let c = CertificateRef::from_der(&der).unwrap();
    assert_eq!(c.version(), 3);
    assert_eq!(hex(c.serial()), "37410579ED757F42A9A25C3AF4F86ACE9AA9D7");
    assert_eq!(c.subject().to_string(), "O=IETF, OU=LAMPS WG, CN=Alice Lovelace");
    assert_eq!(
        c.issuer().to_string(),
        "O=IETF, OU=LAMPS WG, CN=Sample LAMPS RSA Certification Authority"
    );
    assert_eq!(c.not_before().to_string(), "2019-11-20T06:54:18Z");
    assert_eq!(c.not_after().to_string(), "2052-09-27T06:54:18Z");
    assert_eq!(
        colon_hex(&c.fingerprint_sha256()),
        "61:23:7C:07:02:84:DC:EF:14:EB:B5:A0:5B:0E:89:50:D4:27:EE:46:04:1C:DB:48:91:46:83:30:C1:34:75:A6"
    );
    assert_eq!(
        colon_hex(c.subject_key_id().unwrap()),
        "BB:F6:CC:B2:2D:1D:06:12:1C:97:AE:29:6A:90:10:D3:20:66:66:73"
    );
    let ku = c.key_usage().unwrap();
    assert_eq!(ku, KeyUsage(KeyUsage::DIGITAL_SIGNATURE.0 | KeyUsage::NON_REPUDIATION.0));
    assert_eq!(ku.to_string(), "digitalSignature, nonRepudiation");
    assert!(!c.is_ca());
    assert_eq!(c.basic_constraints(), Some(BasicConstraints { ca: false, path_len: None }));
    assert_eq!(c.rfc822_names().collect::<Vec<_>>(), [&b"alice@smime.example"[..]]);
    assert_eq!(c.public_key_algorithm(), oid::RSA_ENCRYPTION);
    let rsa = c.rsa_public_key().unwrap();
    assert_eq!((rsa.bits(), rsa.exponent()), (2048, &[1, 0, 1][..]));
    // A signing certificate: no key transport.
    assert_eq!(
        c.check_key_encipherment().unwrap_err().kind(),
        ErrorKind::KeyUsage(KeyUsageError::KeyEnciphermentNotAllowed)
    );
    c.check_signature_usage().unwrap();
    let ext = c.extension(oid::BASIC_CONSTRAINTS).unwrap();
    assert!(ext.critical);
    assert_eq!(ext.value, &[0x30, 0x00]);
    let id = c.recipient_id();
    assert_eq!(id.issuer, c.issuer_der());
    assert_eq!(id.serial, c.serial());
    assert_eq!(id.subject_key_id, c.subject_key_id());
    assert_eq!(c.signature().len(), 256);
    assert_eq!(c.signature_algorithm_der(), c.tbs_signature_algorithm_der());
    assert!(c.is_valid_at(Time::from_civil(2024, 1, 1, 0, 0, 0).unwrap()));
    assert!(!c.is_valid_at(Time::from_civil(2019, 11, 20, 6, 54, 17).unwrap()));
}

#[test]
fn lamps_bob_encryption_certificate() {
    let der = interop("examples-cms/certs-and-keys/lamps-bob.encrypt.crt");
    let c = CertificateRef::from_der(&der).unwrap();
    c.check_key_encipherment().unwrap();
    assert!(c.key_usage().unwrap().contains(KeyUsage::KEY_ENCIPHERMENT));
    assert_eq!(c.rfc822_names().collect::<Vec<_>>(), [&b"bob@smime.example"[..]]);
}

#[test]
fn ca_and_non_rsa_certificates() {
    let der = interop(
        "rfc9216-certs-wbond-certvalidator/tests/fixtures/rfc9216/Sample_LAMPS_RSA_Certification_Authority.selfsigned.pem",
    );
    let c = CertificateRef::from_der(&der).unwrap();
    assert!(c.is_ca());
    assert!(c.key_usage().unwrap().contains(KeyUsage::KEY_CERT_SIGN));
    assert_eq!(c.subject_der(), c.issuer_der());
    // Ed25519 and EC keys are not for RSA key transport.
    for f in [
        "rfc9216-certs-wbond-certvalidator/tests/fixtures/rfc9216/carlos@smime.example.sig.pem",
        "asn1crypto/tests/fixtures/keys/test-ec-named.crt",
    ] {
        let der = interop(f);
        let c = CertificateRef::from_der(&der).unwrap();
        assert!(c.rsa_public_key().is_none());
        assert_eq!(
            c.check_key_encipherment().unwrap_err().kind(),
            ErrorKind::KeyUsage(KeyUsageError::WrongKeyType),
            "{f}"
        );
    }
    let der = interop("asn1crypto/tests/fixtures/keys/test-ec-named.crt");
    assert_eq!(CertificateRef::from_der(&der).unwrap().public_key_algorithm(), oid::EC_PUBLIC_KEY);
}

#[test]
fn truncation_is_an_error_at_every_offset() {
    let der = interop("examples-cms/certs-and-keys/lamps-bob.encrypt.crt");
    for i in 0..der.len() {
        assert_eq!(
            CertificateRef::from_der(&der[..i]).unwrap_err().kind(),
            ErrorKind::InvalidCertificate,
            "prefix of {i} bytes"
        );
    }
    let mut long = der.clone();
    long.push(0);
    assert!(CertificateRef::from_der(&long).is_err());
    long.push(0);
    assert!(CertificateRef::from_der(&long).is_err());
}

#[test]
fn mutations_never_panic() {
    let der = interop("examples-cms/certs-and-keys/lamps-alice.crt");
    let mut m = der.clone();
    for i in 0..der.len() {
        for v in [0x00, 0xFF, 0x80, 0x7F, der[i] ^ 0x01, der[i] ^ 0x20] {
            m[i] = v;
            if let Ok(c) = CertificateRef::from_der(&m) {
                exercise(&c);
            }
        }
        m[i] = der[i];
    }
}

// --- Hand-made certificates ---------------------------------------------------

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend([0x81, n as u8]);
    } else {
        v.extend([0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Parts for a certificate; `build` assembles them.
struct Parts {
    version: Option<Vec<u8>>,
    serial: Vec<u8>,
    spki: Vec<u8>,
    unique_ids: Vec<u8>,
    extensions: Option<Vec<u8>>,
}

impl Parts {
    fn new() -> Self {
        let alice = interop("examples-cms/certs-and-keys/lamps-alice.crt");
        let spki = CertificateRef::from_der(&alice).unwrap().spki_der().to_vec();
        Parts {
            version: Some(tlv(0xA0, &tlv(0x02, &[2]))),
            serial: tlv(0x02, &[0x01]),
            spki,
            unique_ids: Vec::new(),
            extensions: None,
        }
    }

    fn build(&self) -> Vec<u8> {
        let alg = tlv(0x30, &cat(&[&tlv(0x06, oid::SHA256_WITH_RSA), &[0x05, 0x00]]));
        let name = tlv(
            0x30,
            &tlv(0x31, &tlv(0x30, &cat(&[&tlv(0x06, oid::AT_COMMON_NAME), &tlv(0x0C, b"T")]))),
        );
        let validity =
            tlv(0x30, &cat(&[&tlv(0x17, b"200101000000Z"), &tlv(0x18, b"20501231235959Z")]));
        let exts = self.extensions.as_ref().map(|e| tlv(0xA3, &tlv(0x30, e))).unwrap_or_default();
        let tbs = tlv(
            0x30,
            &cat(&[
                self.version.as_deref().unwrap_or(&[]),
                &self.serial,
                &alg,
                &name,
                &validity,
                &name,
                &self.spki,
                &self.unique_ids,
                &exts,
            ]),
        );
        tlv(0x30, &cat(&[&tbs, &alg, &tlv(0x03, &[0, 1, 2, 3])]))
    }
}

fn ext(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let crit = if critical { vec![0x01, 0x01, 0xFF] } else { vec![] };
    tlv(0x30, &cat(&[&tlv(0x06, oid), &crit, &tlv(0x04, value)]))
}

fn key_usage(bits: &[u8]) -> Vec<u8> {
    ext(oid::KEY_USAGE, true, &tlv(0x03, bits))
}

#[test]
fn v1_without_extensions() {
    let mut p = Parts::new();
    p.version = None;
    let der = p.build();
    let c = CertificateRef::from_der(&der).unwrap();
    assert_eq!(c.version(), 1);
    assert_eq!(c.extensions().count(), 0);
    assert_eq!(c.key_usage(), None);
    assert_eq!(c.subject_key_id(), None);
    assert_eq!(c.rfc822_names().count(), 0);
    assert!(c.subject_alt_names().is_none());
    assert!(!c.is_ca());
    c.check_key_encipherment().unwrap();
    assert_eq!(c.signature(), &[1, 2, 3]);
    assert_eq!(c.subject().to_string(), "CN=T");
    assert_eq!(c.not_after().to_string(), "2050-12-31T23:59:59Z");
    // v1 written out explicitly (BER) and v2 with unique identifiers.
    p.version = Some(tlv(0xA0, &tlv(0x02, &[0])));
    assert_eq!(CertificateRef::from_der(&p.build()).unwrap().version(), 1);
    p.version = Some(tlv(0xA0, &tlv(0x02, &[1])));
    p.unique_ids = cat(&[&tlv(0x81, &[0, 0xAA]), &tlv(0x82, &[0, 0xBB])]);
    assert_eq!(CertificateRef::from_der(&p.build()).unwrap().version(), 2);
    p.version = Some(tlv(0xA0, &tlv(0x02, &[3])));
    assert!(CertificateRef::from_der(&p.build()).is_err());
}

#[test]
fn serial_numbers_kept_as_encoded() {
    let mut p = Parts::new();
    for serial in [&[0x00, 0x8F, 0x01][..], &[0xFF, 0x01], &[0x00, 0x00, 0x05], &[0x80; 25]] {
        p.serial = tlv(0x02, serial);
        let der = p.build();
        let c = CertificateRef::from_der(&der).unwrap();
        assert_eq!(c.serial(), serial);
        assert_eq!(c.recipient_id().serial, serial);
    }
    p.serial = tlv(0x02, &[]);
    assert!(CertificateRef::from_der(&p.build()).is_err());
}

#[test]
fn extensions_checked() {
    let mut p = Parts::new();
    let ski = ext(oid::SUBJECT_KEY_IDENTIFIER, false, &tlv(0x04, &[1, 2, 3, 4]));
    let unknown_critical = ext(&[0x2A, 0x03, 0x04], true, &[0x05, 0x00]);
    let san = ext(
        oid::SUBJECT_ALT_NAME,
        false,
        &tlv(
            0x30,
            &cat(&[
                &tlv(0x82, b"example.org"),
                &tlv(0x81, b"a@example.org"),
                &tlv(0xA4, &tlv(0x30, &[])),
                &tlv(0x81, b"b@example.org"),
                &tlv(0x87, &[127, 0, 0, 1]),
            ]),
        ),
    );
    let bc = ext(
        oid::BASIC_CONSTRAINTS,
        true,
        &tlv(0x30, &cat(&[&[0x01, 0x01, 0xFF], &tlv(0x02, &[3])])),
    );
    let eku = ext(oid::EXT_KEY_USAGE, false, &tlv(0x30, &tlv(0x06, oid::KP_EMAIL_PROTECTION)));
    let aki = ext(oid::AUTHORITY_KEY_IDENTIFIER, false, &tlv(0x30, &tlv(0x80, &[9, 9])));
    p.extensions =
        Some(cat(&[&ski, &unknown_critical, &san, &bc, &eku, &aki, &key_usage(&[7, 0x80])]));
    let der = p.build();
    let c = CertificateRef::from_der(&der).unwrap();
    assert_eq!(c.subject_key_id(), Some(&[1, 2, 3, 4][..]));
    assert_eq!(c.authority_key_id(), Some(&[9, 9][..]));
    assert_eq!(c.rfc822_names().collect::<Vec<_>>(), [&b"a@example.org"[..], b"b@example.org"]);
    let sans: Vec<_> = c.subject_alt_names().unwrap().collect();
    assert_eq!(sans.len(), 5);
    assert_eq!(sans[0], GeneralName::Dns(b"example.org"));
    assert!(matches!(sans[2], GeneralName::Directory(n) if n.is_empty()));
    assert_eq!(sans[4], GeneralName::Ip(&[127, 0, 0, 1]));
    assert_eq!(c.basic_constraints(), Some(BasicConstraints { ca: true, path_len: Some(3) }));
    assert!(c.is_ca());
    assert_eq!(c.extended_key_usage().unwrap().collect::<Vec<_>>(), [oid::KP_EMAIL_PROTECTION]);
    assert_eq!(c.key_usage(), Some(KeyUsage::DIGITAL_SIGNATURE));
    let crit: Vec<bool> = c.extensions().map(|e| e.critical).collect();
    assert_eq!(crit, [false, true, false, true, false, false, true]);
    assert_eq!(c.extension(&[0x2A, 0x03, 0x04]).unwrap().value, &[0x05, 0x00]);
    assert_eq!(
        c.check_key_encipherment().unwrap_err().kind(),
        ErrorKind::KeyUsage(KeyUsageError::KeyEnciphermentNotAllowed)
    );

    // Duplicate extension OIDs.
    p.extensions = Some(cat(&[&ski, &unknown_critical, &ski]));
    assert_eq!(
        CertificateRef::from_der(&p.build()).unwrap_err().kind(),
        ErrorKind::InvalidCertificate
    );
    // Malformed interpreted extensions.
    for bad in [
        ext(oid::SUBJECT_KEY_IDENTIFIER, false, &tlv(0x03, &[0, 1])),
        ext(oid::SUBJECT_KEY_IDENTIFIER, false, &cat(&[&tlv(0x04, &[1]), &[0]])),
        key_usage(&[8, 0x80]),
        key_usage(&[1]),
        key_usage(&[]),
        ext(oid::BASIC_CONSTRAINTS, false, &tlv(0x30, &[0x01, 0x02, 0xFF, 0xFF])),
        ext(oid::SUBJECT_ALT_NAME, false, &tlv(0x30, &tlv(0x0C, b"x"))),
        ext(oid::SUBJECT_ALT_NAME, false, &tlv(0x30, &tlv(0xA1, &tlv(0x16, b"x")))),
        ext(oid::SUBJECT_ALT_NAME, false, &tlv(0x30, &tlv(0xA4, &tlv(0x31, &[])))),
        ext(oid::EXT_KEY_USAGE, false, &tlv(0x30, &tlv(0x04, &[1]))),
        tlv(0x30, &cat(&[&tlv(0x06, &[0x2A, 0x03]), &tlv(0x01, &[0xFF, 0]), &tlv(0x04, &[])])),
        tlv(0x30, &cat(&[&tlv(0x06, &[0x2A, 0x03]), &tlv(0x24, &tlv(0x04, &[]))])),
    ] {
        p.extensions = Some(bad.clone());
        assert!(CertificateRef::from_der(&p.build()).is_err(), "{bad:02x?}");
    }
    // Too many extensions.
    let many: Vec<u8> =
        (0..=MAX_EXTENSIONS as u8).flat_map(|i| ext(&[0x2A, 0x03, i], false, &[])).collect();
    p.extensions = Some(many);
    assert!(CertificateRef::from_der(&p.build()).is_err());
    let enough: Vec<u8> =
        (0..MAX_EXTENSIONS as u8).flat_map(|i| ext(&[0x2A, 0x03, i], false, &[])).collect();
    p.extensions = Some(enough);
    assert_eq!(CertificateRef::from_der(&p.build()).unwrap().extensions().count(), MAX_EXTENSIONS);
}

#[test]
fn key_usage_bits() {
    let mut p = Parts::new();
    for (bits, want) in [
        (&[0x00][..], 0u16),
        (&[0x05, 0xA0], 0b101),
        (&[0x07, 0xFF], 0x01),
        (&[0x00, 0x00, 0x80], 1 << 8),
        (&[0x07, 0x80, 0x80], 1 << 8 | 1),
        (&[0x00, 0xFF, 0xFF, 0xFF], 0x1FF),
    ] {
        p.extensions = Some(key_usage(bits));
        let der = p.build();
        assert_eq!(
            CertificateRef::from_der(&der).unwrap().key_usage(),
            Some(KeyUsage(want)),
            "{bits:02x?}"
        );
    }
    p.extensions = Some(key_usage(&[0x05, 0x20]));
    let der = p.build();
    let c = CertificateRef::from_der(&der).unwrap();
    assert_eq!(c.key_usage(), Some(KeyUsage::KEY_ENCIPHERMENT));
    c.check_key_encipherment().unwrap();
    assert_eq!(
        c.check_signature_usage().unwrap_err().kind(),
        ErrorKind::KeyUsage(KeyUsageError::SignatureNotAllowed)
    );
}

#[test]
fn rsa_keys_outside_supported_sizes() {
    let mut p = Parts::new();
    // A 512-bit RSA key: the certificate is fine, the key is not usable here.
    let n = [&[0x00, 0xC1][..], &[0x55; 62], &[0x01]].concat();
    let rsa = tlv(0x30, &cat(&[&tlv(0x02, &n), &tlv(0x02, &[1, 0, 1])]));
    let alg = tlv(0x30, &cat(&[&tlv(0x06, oid::RSA_ENCRYPTION), &[0x05, 0x00]]));
    p.spki = tlv(0x30, &cat(&[&alg, &tlv(0x03, &cat(&[&[0], &rsa]))]));
    let der = p.build();
    let c = CertificateRef::from_der(&der).unwrap();
    assert!(c.rsa_public_key().is_none());
    assert_eq!(c.public_key(), &rsa[..]);
    assert_eq!(
        c.check_key_encipherment().unwrap_err().kind(),
        ErrorKind::AlgorithmNotAllowed(AlgorithmName::RsaKeySize)
    );
    // A malformed RSAPublicKey is a broken certificate.
    p.spki = tlv(0x30, &cat(&[&alg, &tlv(0x03, &[0, 0x30, 0x00])]));
    assert!(CertificateRef::from_der(&p.build()).is_err());
    // Unused bits in the key BIT STRING.
    p.spki = tlv(0x30, &cat(&[&alg, &tlv(0x03, &cat(&[&[1], &rsa]))]));
    assert!(CertificateRef::from_der(&p.build()).is_err());
}

#[test]
fn ber_indefinite_lengths_accepted() {
    // The outer SEQUENCE with an indefinite length.
    let der = Parts::new().build();
    let c = CertificateRef::from_der(&der).unwrap();
    let inner = &der[der.len() - c.der().len()..];
    let body_start = 1 + if inner[1] & 0x80 != 0 { 1 + usize::from(inner[1] & 0x7F) } else { 1 };
    let mut ber = vec![0x30, 0x80];
    ber.extend_from_slice(&inner[body_start..]);
    ber.extend([0, 0]);
    let b = CertificateRef::from_der(&ber).unwrap();
    assert_eq!(b.tbs_der(), c.tbs_der());
    assert_eq!(b.der(), &ber[..]);
}

#[test]
fn structural_errors() {
    let good = Parts::new().build();
    assert!(CertificateRef::from_der(&good).is_ok());
    assert!(CertificateRef::from_der(&[]).is_err());
    assert!(CertificateRef::from_der(&[0x30, 0x00]).is_err());
    // A bad time.
    let bad = {
        let mut g = good.clone();
        let pos = g.windows(13).position(|w| w == b"200101000000Z").unwrap();
        g[pos + 2] = b'1';
        g[pos + 3] = b'3';
        g
    };
    assert!(CertificateRef::from_der(&bad).is_err());
    // Signature BIT STRING with unused bits.
    let mut g = good.clone();
    let n = g.len();
    assert_eq!(&g[n - 6..n - 4], &[0x03, 0x04]);
    g[n - 4] = 1;
    assert!(CertificateRef::from_der(&g).is_err());
}
