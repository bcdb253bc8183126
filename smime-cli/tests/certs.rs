//! `smime certs show | fingerprint | extract` against OpenSSL's view of the
//! same certificates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod pki;

use std::path::Path;

use common::*;
use pki::pki;

fn smime_ok(args: &[&str]) -> String {
    String::from_utf8(run_ok(smime().args(args), b"")).unwrap()
}

/// `openssl x509 -fingerprint` of a PEM certificate: `AA:BB:...`.
fn openssl_fingerprint(cert: &str, alg: &str) -> String {
    let out = run_ok(
        openssl().args(["x509", "-noout", "-fingerprint", alg, "-in", cert]),
        b"",
    );
    let line = String::from_utf8(out).unwrap();
    line.trim().split_once('=').unwrap().1.to_owned()
}

fn openssl_der(cert: &Path) -> Vec<u8> {
    run_ok(
        openssl().args(["x509", "-outform", "DER", "-in"]).arg(cert),
        b"",
    )
}

#[test]
fn show_and_fingerprint_match_openssl() {
    let p = pki();
    for party in [&p.alice, &p.ec, &p.ca] {
        let sha256 = openssl_fingerprint(party.cert(), "-sha256");
        let sha1 = openssl_fingerprint(party.cert(), "-sha1");
        let fp = smime_ok(&["certs", "fingerprint", party.cert()]);
        assert_eq!(fp.lines().count(), 1, "{fp}");
        assert!(
            fp.starts_with(&format!("SHA256 {sha256}  SHA1 {sha1}  ")),
            "{fp} vs {sha256} {sha1}"
        );
        let show = smime_ok(&["certs", "show", party.cert()]);
        assert!(
            show.contains(&format!("SHA-256:        {sha256}\n")),
            "{show}"
        );
        assert!(
            show.contains(&format!("SHA-1:          {sha1}\n")),
            "{show}"
        );
    }
    // DER input too.
    let der = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(der.path(), openssl_der(&p.alice.cert)).unwrap();
    let show = smime_ok(&["certs", "show", der.path().to_str().unwrap()]);
    assert!(
        show.contains("Subject:        CN=Alice Example, O=smime test"),
        "{show}"
    );
    assert!(show.contains("Issuer:         CN=Test Root CA"), "{show}");
    assert!(show.contains("E-mail:         alice@example.com"), "{show}");
    assert!(show.contains("Ext. key usage: emailProtection"), "{show}");
    assert!(show.contains("digitalSignature"), "{show}");
    let serial = String::from_utf8(run_ok(
        openssl().args(["x509", "-noout", "-serial", "-in", p.alice.cert()]),
        b"",
    ))
    .unwrap();
    let serial = serial.trim().trim_start_matches("serial=").to_owned();
    let ours = show
        .lines()
        .find_map(|l| l.trim().strip_prefix("Serial:"))
        .unwrap()
        .trim()
        .replace(':', "");
    assert_eq!(ours, serial);

    // A PEM bundle: one line per certificate.
    let bundle = tempfile::NamedTempFile::new().unwrap();
    let mut text = std::fs::read(&p.alice.cert).unwrap();
    text.extend(std::fs::read(&p.ca.cert).unwrap());
    std::fs::write(bundle.path(), text).unwrap();
    let fp = smime_ok(&["certs", "fingerprint", bundle.path().to_str().unwrap()]);
    assert_eq!(fp.lines().count(), 2, "{fp}");
    assert!(
        fp.lines().nth(1).unwrap().ends_with("CN=Test Root CA"),
        "{fp}"
    );
}

/// The DER of the certificates written to `dir`, by file name.
fn written(dir: &Path) -> Vec<(String, Vec<u8>)> {
    list_dir(dir)
        .into_iter()
        .map(|n| {
            let der = openssl_der(&dir.join(&n));
            (n, der)
        })
        .collect()
}

#[test]
fn extract_from_p7b_and_signed_message() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    // A certs-only bundle made by OpenSSL.
    let p7b = dir.path().join("bundle.p7b");
    run_ok(
        openssl()
            .args(["crl2pkcs7", "-nocrl", "-outform", "DER"])
            .args(["-certfile", p.alice.cert(), "-certfile", p.sub.cert()])
            .arg("-out")
            .arg(&p7b),
        b"",
    );
    let out = tempfile::tempdir().unwrap();
    let od = out.path().to_str().unwrap();
    let text = smime_ok(&["certs", "extract", p7b.to_str().unwrap(), "--out-dir", od]);
    assert_eq!(text.lines().count(), 2, "{text}");
    let files = written(out.path());
    assert_eq!(
        files,
        vec![
            ("Alice_Example.pem".to_owned(), openssl_der(&p.alice.cert)),
            ("Test_Sub_CA.pem".to_owned(), openssl_der(&p.sub.cert)),
        ]
    );
    // Again: nothing overwritten, new names.
    smime_ok(&["certs", "extract", p7b.to_str().unwrap(), "--out-dir", od]);
    assert_eq!(
        list_dir(out.path()),
        [
            "Alice_Example-1.pem",
            "Alice_Example.pem",
            "Test_Sub_CA-1.pem",
            "Test_Sub_CA.pem"
        ]
    );
    // The PEM form of the bundle (PKCS7 label) and fingerprints of it.
    let p7b_pem = dir.path().join("bundle.pem");
    run_ok(
        openssl()
            .args(["pkcs7", "-inform", "DER", "-outform", "PEM", "-in"])
            .arg(&p7b)
            .arg("-out")
            .arg(&p7b_pem),
        b"",
    );
    let fp = smime_ok(&["certs", "fingerprint", p7b_pem.to_str().unwrap()]);
    assert_eq!(fp.lines().count(), 2, "{fp}");
    assert!(
        fp.contains(&openssl_fingerprint(p.sub.cert(), "-sha256")),
        "{fp}"
    );

    // A signed message with two signers and an extra certificate.
    let content = dir.path().join("content.txt");
    std::fs::write(&content, b"hello").unwrap();
    let signed = run_ok(
        openssl()
            .args(["cms", "-sign", "-binary", "-outform", "PEM", "-in"])
            .arg(&content)
            .args(["-signer", p.alice.cert(), "-inkey", p.alice.key()])
            .args(["-signer", p.ec.cert(), "-inkey", p.ec.key()])
            .args(["-certfile", p.ca.cert()]),
        b"",
    );
    let msg = dir.path().join("signed.pem");
    std::fs::write(&msg, signed).unwrap();
    let out = tempfile::tempdir().unwrap();
    smime_ok(&[
        "certs",
        "extract",
        msg.to_str().unwrap(),
        "--out-dir",
        out.path().to_str().unwrap(),
    ]);
    let mut got: Vec<Vec<u8>> = written(out.path()).into_iter().map(|(_, d)| d).collect();
    let mut want = vec![
        openssl_der(&p.alice.cert),
        openssl_der(&p.ec.cert),
        openssl_der(&p.ca.cert),
    ];
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        list_dir(out.path()),
        ["Alice_Example.pem", "Eve_Curve.pem", "Test_Root_CA.pem"]
    );
}

#[test]
fn certs_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"\x30\x03\x02\x01\x00").unwrap();
    let line = smime_fails(&["certs", "show", junk.to_str().unwrap()], b"");
    assert!(line.contains("junk.bin"), "{line}");
    let text = dir.path().join("text.txt");
    std::fs::write(&text, b"no certificates here\n").unwrap();
    let line = smime_fails(&["certs", "fingerprint", text.to_str().unwrap()], b"");
    assert!(line.contains("no certificates found"), "{line}");
    let line = smime_fails(&["certs", "show", "/nonexistent/x.pem"], b"");
    assert!(line.contains("cannot read"), "{line}");
}

#[test]
fn extract_sanitises_names() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("w.pem");
    let key = dir.path().join("w.key");
    run_ok(
        openssl()
            .args(["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt"])
            .args([
                "ec_paramgen_curve:P-256",
                "-utf8",
                "-subj",
                "/CN=..\\/evil\\/ näme",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        b"",
    );
    let out = dir.path().join("new").join("dir");
    smime_ok(&[
        "certs",
        "extract",
        cert.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert_eq!(list_dir(&out), ["_evil__n_me.pem"]);
    assert_eq!(
        openssl_der(&out.join("_evil__n_me.pem")),
        openssl_der(&cert)
    );
}

#[test]
fn bundle_writes_a_p7b_that_openssl_reads() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let der = dir.path().join("bundle.p7b");
    let pem = dir.path().join("bundle.pem");
    // The CA twice: it is written once.
    smime_ok(&["certs", "bundle", p.alice.cert(), p.ca.cert(), p.ca.cert(), "--out", der.to_str().unwrap()]);
    smime_ok(&["certs", "bundle", p.alice.cert(), p.ca.cert(), "--outform", "pem", "--out", pem.to_str().unwrap()]);
    for (f, form) in [(&der, "DER"), (&pem, "PEM")] {
        let out = run_ok(openssl().args(["pkcs7", "-print_certs", "-noout", "-inform", form, "-in"]).arg(f), b"");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("subject=").count(), 2, "{form}: {text}");
    }
    // And our own reader agrees.
    let fp = smime_ok(&["certs", "fingerprint", der.to_str().unwrap()]);
    assert_eq!(fp.lines().count(), 2, "{fp}");
    assert!(fp.contains(&openssl_fingerprint(p.ca.cert(), "-sha256").replace(':', "")) || fp.contains(&openssl_fingerprint(p.ca.cert(), "-sha256")));
}
