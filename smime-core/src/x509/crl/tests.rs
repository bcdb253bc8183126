//! CRL view tests: every CRL in the shared interop samples (compared with
//! OpenSSL), signatures of real CRLs, truncation and mutation, hand-made
//! edge cases. CRLs made by `openssl ca` are tested with path validation
//! (`x509::path` tests).

extern crate std;

use std::format;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use super::*;

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop")
}

/// The DER of every PEM block (any label) in `data`; lines of any length.
fn pem_blocks(data: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut rest = &text[..];
    while let Some(b) = rest.find("-----BEGIN ") {
        let after = &rest[b + 11..];
        let Some(l) = after.find("-----") else { break };
        let label = &after[..l];
        let end_marker = format!("-----END {label}-----");
        let body_start = b + 11 + l + 5;
        let Some(e) = rest[body_start..].find(&end_marker) else { break };
        let body: String =
            rest[body_start..body_start + e].chars().filter(|c| !c.is_whitespace()).collect();
        let mut block = format!("-----BEGIN {label}-----\n");
        for line in body.as_bytes().chunks(64) {
            block.push_str(std::str::from_utf8(line).unwrap());
            block.push('\n');
        }
        block.push_str(&end_marker);
        block.push('\n');
        let (_, der) = pem_rfc7468::decode_vec(block.as_bytes()).expect("PEM block");
        out.push(der);
        rest = &rest[body_start + e + end_marker.len()..];
    }
    out
}

fn read_der(path: &Path) -> Vec<u8> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if data.windows(11).any(|w| w == b"-----BEGIN ") { pem_blocks(&data).remove(0) } else { data }
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

/// Every CRL under the interop folder: `*.crl`, `crl_*.der`, `crl_*.pem`.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    walk(&interop_dir(), &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        let is_crl = lower.ends_with(".crl")
            || (lower.starts_with("crl_") && (lower.ends_with(".der") || lower.ends_with(".pem")));
        if is_crl {
            let rel = f.strip_prefix(interop_dir()).unwrap_or(&f).display().to_string();
            out.push((rel, read_der(&f)));
        }
    }
    out
}

/// Calls every accessor: must not panic.
fn exercise(c: &CrlRef<'_>) -> String {
    let mut s = format!("{} {} {} {:?}", c.version(), c.issuer(), c.this_update(), c.next_update());
    let _ = (c.der(), c.tbs_der(), c.issuer_der(), c.signature_algorithm_der());
    let _ = (c.tbs_signature_algorithm_der(), c.signature(), c.authority_key_id());
    let _ = (c.crl_number(), c.limitation().map(|l| l.to_string()), c.extensions().count());
    let _ = c.is_current_at(Time::from_unix(0));
    for r in c.revoked() {
        s += &format!(" {:02x?} {} {:?}", r.serial, r.revocation_date, r.reason.map(reason::name));
        assert_eq!(c.is_revoked(r.serial).map(|e| e.serial), Some(r.serial));
    }
    assert!(c.is_revoked(&[0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x7A, 0x79]).is_none());
    s
}

/// What `openssl crl -text` says: entry count and the two dates.
fn openssl_summary(der: &[u8]) -> Option<(usize, String, String)> {
    use std::io::Write as _;
    let mut child = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(der).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let count = text.matches("Serial Number:").count();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    Some((count, field("Last Update:"), field("Next Update:")))
}

/// OpenSSL's default form: `Jan 14 07:00:28 2002 GMT`.
fn iso(t: Time) -> String {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, mo, d, h, mi, s) = t.to_civil();
    format!("{} {d:>2} {h:02}:{mi:02}:{s:02} {y} GMT", MONTHS[usize::from(mo) - 1])
}

#[test]
fn every_interop_crl_parses() {
    let corpus = corpus();
    assert!(corpus.len() >= 10, "only {} CRLs found", corpus.len());
    let mut compared = 0;
    for (name, der) in &corpus {
        let crl = CrlRef::from_der(der).unwrap_or_else(|e| panic!("{name}: {e}"));
        exercise(&crl);
        if let Some((count, last, next)) = openssl_summary(der) {
            assert_eq!(crl.revoked().count(), count, "{name}: entries");
            assert_eq!(iso(crl.this_update()), last, "{name}: thisUpdate");
            let next_ours = crl.next_update().map(iso).unwrap_or_else(|| "NONE".to_string());
            assert_eq!(next_ours, next, "{name}: nextUpdate");
            compared += 1;
        }
    }
    std::eprintln!("{} CRLs parsed, {compared} compared with OpenSSL", corpus.len());
}

fn interop(rel: &str) -> Vec<u8> {
    read_der(&interop_dir().join(rel))
}

#[test]
fn libksba_testpki_values() {
    // openssl crl -inform DER -in crl_testpki_testpca.der -noout -text
    let der = interop("libksba/tests/samples/crl_testpki_testpca.der");
    let crl = CrlRef::from_der(&der).unwrap();
    assert_eq!(crl.version(), 2);
    assert_eq!(crl.issuer().to_string(), "C=DE, O=TEST_PKI, CN=TEST_PCA");
    assert_eq!(crl.this_update().to_string(), "2002-01-14T07:00:28Z");
    assert_eq!(crl.next_update().unwrap().to_string(), "2002-02-14T07:00:28Z");
    assert_eq!(crl.crl_number(), Some(&[0x01, 0x50][..])); // 336
    assert_eq!(crl.authority_key_id(), None); // only issuer and serial
    assert_eq!(crl.limitation(), None); // the issuingDistributionPoint is empty
    let first = crl.revoked().next().unwrap();
    assert_eq!(first.serial, [0x3A, 0x9C, 0xDB, 0x0B]);
    assert_eq!(first.revocation_date.to_string(), "2001-02-28T14:55:19Z");
    assert_eq!(first.reason, Some(reason::AFFILIATION_CHANGED));
    // Serial numbers compare as integers.
    assert!(crl.is_revoked(&[0x00, 0x3A, 0x9C, 0xDB, 0x0B]).is_some());
    assert!(crl.is_revoked(&[0x3A, 0x9C, 0xDB]).is_none());
    assert!(crl.is_current_at(Time::from_civil(2002, 2, 1, 0, 0, 0).unwrap()));
    assert!(!crl.is_current_at(Time::from_civil(2002, 3, 1, 0, 0, 0).unwrap()));
    assert!(!crl.is_current_at(Time::from_civil(2002, 1, 1, 0, 0, 0).unwrap()));
    // The PEM copy in the gnupg tests is the same CRL.
    assert_eq!(interop("gnupg/tests/cms/crl_testpki_testpca.pem"), der);
    // Signed by the TEST_PCA certificate (SHA-1 with RSA).
    let ca = interop("gnupg/tests/cms/cert_testpki_testpca.pem");
    let ca = CertificateRef::from_der(&ca).unwrap();
    assert_eq!(ca.subject_der(), crl.issuer_der());
    crl.verify_issued_by(&ca).unwrap();
    assert!(crl.covers(&ca) == (ca.issuer_der() == crl.issuer_der()));
}

#[test]
fn real_crl_signatures() {
    let dir = "bc-java/mail/src/test/resources/org/bouncycastle/mail/smime/test/";
    let der = interop(&format!("{dir}validator.revoked.crl"));
    let root = interop(&format!("{dir}validator.root.crt"));
    let root = CertificateRef::from_der(&root).unwrap();
    let crl = CrlRef::from_der(&der).unwrap();
    crl.verify_issued_by(&root).unwrap();
    assert!(crl.next_update().is_none());
    // One changed byte anywhere in the signed part, or in the signature.
    for pos in [crl.tbs_der().len() / 2, der.len() - 1] {
        let mut bad = der.clone();
        bad[pos] ^= 0x01;
        if let Ok(c) = CrlRef::from_der(&bad) {
            assert_eq!(
                c.verify_issued_by(&root).unwrap_err().kind(),
                ErrorKind::BadSignature,
                "byte {pos}"
            );
        }
    }
    // The wrong key.
    let other = interop("gnupg/tests/cms/cert_testpki_testpca.pem");
    let other = CertificateRef::from_der(&other).unwrap();
    assert!(crl.verify_issued_by(&other).is_err());
    // MD5 with RSA and DSA: not supported.
    let md5 = interop("bc-csharp/crypto/test/data/rfc4134/CarlRSACRLForAll.crl");
    let md5 = CrlRef::from_der(&md5).unwrap();
    assert_eq!(md5.verify_issued_by(&root).unwrap_err().kind(), ErrorKind::UnsupportedAlgorithm);
}

#[test]
fn truncation_is_an_error_at_every_offset() {
    let der = interop("libksba/tests/samples/crl_testpki_testpca.der");
    CrlRef::from_der(&der).unwrap();
    for n in 0..der.len() {
        assert_eq!(
            CrlRef::from_der(&der[..n]).unwrap_err().kind(),
            ErrorKind::InvalidCrl,
            "prefix {n}"
        );
    }
    let mut longer = der.clone();
    longer.push(0);
    assert!(CrlRef::from_der(&longer).is_err());
}

#[test]
fn mutations_never_panic() {
    for rel in [
        "libksba/tests/samples/crl_testpki_testpca.der",
        "bc-java/mail/src/test/resources/org/bouncycastle/mail/smime/test/validator.revoked.crl",
    ] {
        let der = interop(rel);
        for i in 0..der.len() {
            for x in [0x01u8, 0x80, 0xFF] {
                let mut m = der.clone();
                m[i] ^= x;
                if let Ok(c) = CrlRef::from_der(&m) {
                    exercise(&c);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Hand-made CRLs.

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

const SHA256_RSA: &[u8] =
    &[0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B, 0x05, 0x00];
const NAME: &[u8] = &[
    0x30, 0x0F, 0x31, 0x0D, 0x30, 0x0B, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, 0x04, b'T', b'e', b's',
    b't',
];

fn utc(s: &str) -> Vec<u8> {
    tlv(0x17, s.as_bytes())
}

fn ext(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let crit: &[u8] = if critical { &[0x01, 0x01, 0xFF] } else { &[] };
    tlv(0x30, &cat(&[&tlv(0x06, oid), crit, &tlv(0x04, value)]))
}

fn entry(serial: &[u8], exts: Option<&[u8]>) -> Vec<u8> {
    let exts = exts.map(|e| tlv(0x30, e)).unwrap_or_default();
    tlv(0x30, &cat(&[&tlv(0x02, serial), &utc("240101000000Z"), &exts]))
}

/// A v2 CRL with the given entries (contents of revokedCertificates, or
/// none) and CRL extensions (contents of the Extensions SEQUENCE, or none).
fn crl(entries: Option<&[u8]>, exts: Option<&[u8]>) -> Vec<u8> {
    let revoked = entries.map(|e| tlv(0x30, e)).unwrap_or_default();
    let exts = exts.map(|e| tlv(0xA0, &tlv(0x30, e))).unwrap_or_default();
    let tbs = tlv(
        0x30,
        &cat(&[
            &[0x02, 0x01, 0x01],
            SHA256_RSA,
            NAME,
            &utc("240101000000Z"),
            &utc("250101000000Z"),
            &revoked,
            &exts,
        ]),
    );
    tlv(0x30, &cat(&[&tbs, SHA256_RSA, &[0x03, 0x02, 0x00, 0xAB]]))
}

#[test]
fn minimal_and_entries() {
    let der = crl(None, None);
    let c = CrlRef::from_der(&der).unwrap();
    assert_eq!(c.revoked().count(), 0);
    assert_eq!(c.issuer().to_string(), "CN=Test");
    assert_eq!(c.signature(), [0xAB]);
    assert_eq!(c.limitation(), None);

    let reason_ext = ext(REASON_CODE, false, &[0x0A, 0x01, 0x04]);
    let entries = cat(&[&entry(&[0x00, 0x80], None), &entry(&[0x05], Some(&reason_ext))]);
    let der = crl(Some(&entries), None);
    let c = CrlRef::from_der(&der).unwrap();
    assert_eq!(c.revoked().count(), 2);
    assert_eq!(c.is_revoked(&[0x80]).unwrap().serial, [0x00, 0x80]);
    assert_eq!(c.is_revoked(&[0x00, 0x00, 0x80]).unwrap().serial, [0x00, 0x80]);
    assert_eq!(c.is_revoked(&[0x00, 0x05]).unwrap().reason, Some(reason::SUPERSEDED));
    assert!(c.is_revoked(&[0x06]).is_none());
    // An empty revokedCertificates SEQUENCE is tolerated.
    assert_eq!(CrlRef::from_der(&crl(Some(&[]), None)).unwrap().revoked().count(), 0);
}

#[test]
fn limitations() {
    let cases: Vec<(Vec<u8>, CrlLimitation)> = vec![
        (ext(DELTA_CRL_INDICATOR, true, &[0x02, 0x01, 0x07]), CrlLimitation::DeltaCrl),
        (
            ext(ISSUING_DISTRIBUTION_POINT, true, &[0x30, 0x03, 0x84, 0x01, 0xFF]),
            CrlLimitation::IndirectCrl,
        ),
        (
            ext(ISSUING_DISTRIBUTION_POINT, true, &[0x30, 0x04, 0x83, 0x02, 0x07, 0x80]),
            CrlLimitation::OnlySomeReasons,
        ),
        (
            ext(ISSUING_DISTRIBUTION_POINT, true, &[0x30, 0x03, 0x85, 0x01, 0xFF]),
            CrlLimitation::AttributeCertificatesOnly,
        ),
        (ext(&[0x2A, 0x03], true, &[0x05, 0x00]), CrlLimitation::UnknownCriticalExtension),
    ];
    for (exts, want) in &cases {
        let der = crl(None, Some(exts));
        let c = CrlRef::from_der(&der).unwrap();
        assert_eq!(c.limitation(), Some(*want));
        assert!(!c.limitation().unwrap().to_string().is_empty());
    }
    // Non-critical unknown: fine.
    let der = crl(None, Some(&ext(&[0x2A, 0x03], false, &[0x05, 0x00])));
    assert_eq!(CrlRef::from_der(&der).unwrap().limitation(), None);
    // Entry extensions: certificateIssuer, unknown critical.
    let e = ext(CERTIFICATE_ISSUER, true, &[0x30, 0x00]);
    let der = crl(Some(&entry(&[1], Some(&e))), None);
    assert_eq!(CrlRef::from_der(&der).unwrap().limitation(), Some(CrlLimitation::IndirectCrl));
    let e = ext(&[0x2A, 0x03], true, &[0x05, 0x00]);
    let der = crl(Some(&entry(&[1], Some(&e))), None);
    assert_eq!(
        CrlRef::from_der(&der).unwrap().limitation(),
        Some(CrlLimitation::UnknownCriticalEntryExtension)
    );
}

#[test]
fn structural_errors() {
    let reason_ext = |v: &[u8]| ext(REASON_CODE, false, v);
    let dup = cat(&[
        &ext(CRL_NUMBER, false, &[0x02, 0x01, 0x01]),
        &ext(CRL_NUMBER, false, &[0x02, 0x01, 0x02]),
    ]);
    for (what, der) in [
        ("duplicate extension", crl(None, Some(&dup))),
        ("negative CRL number", crl(None, Some(&ext(CRL_NUMBER, false, &[0x02, 0x01, 0x80])))),
        (
            "reason not ENUMERATED",
            crl(Some(&entry(&[1], Some(&reason_ext(&[0x02, 0x01, 0x01])))), None),
        ),
        (
            "reason too long",
            crl(Some(&entry(&[1], Some(&reason_ext(&[0x0A, 0x02, 0x01, 0x01])))), None),
        ),
        ("empty serial", crl(Some(&entry(&[], None)), None)),
        (
            "both only-user and only-CA",
            crl(
                None,
                Some(&ext(
                    ISSUING_DISTRIBUTION_POINT,
                    true,
                    &[0x30, 0x06, 0x81, 0x01, 0xFF, 0x82, 0x01, 0xFF],
                )),
            ),
        ),
        ("bad delta indicator", crl(None, Some(&ext(DELTA_CRL_INDICATOR, true, &[0x05, 0x00])))),
    ] {
        assert_eq!(CrlRef::from_der(&der).unwrap_err().kind(), ErrorKind::InvalidCrl, "{what}");
    }
    // Version 3 (INTEGER 2) is not a CRL version.
    let mut der = crl(None, None);
    let pos = der.windows(3).position(|w| w == [0x02, 0x01, 0x01]).unwrap();
    der[pos + 2] = 0x02;
    assert!(CrlRef::from_der(&der).is_err());
}
