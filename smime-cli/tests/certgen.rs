//! The demo's certificate builder, checked by OpenSSL: the chain verifies for
//! S/MIME encryption, the extensions are what they should be, and a message
//! encrypted to a generated certificate decrypts with its key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use getrandom::SysRng;
use smime_cli::certgen::{self, CertSpec, KeyUsage};

#[test]
fn generated_chain_verifies_with_openssl_and_works_as_recipient() {
    let mut rng = SysRng;
    let ca =
        certgen::self_signed_ca(&mut rng, &CertSpec::ca("Test CA", "smime tests"), 2048).unwrap();
    let user = certgen::issue(
        &mut rng,
        &ca,
        &CertSpec::user("Carol", "smime tests", Some("carol@example.org")),
        2048,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = dir.path().join("ca.pem");
    let user_pem = dir.path().join("carol.pem");
    let user_der = dir.path().join("carol.der");
    let key_pem = dir.path().join("carol.key");
    std::fs::write(&ca_pem, ca.cert_pem()).unwrap();
    std::fs::write(&user_pem, user.cert_pem()).unwrap();
    std::fs::write(&user_der, user.cert_der()).unwrap();
    std::fs::write(&key_pem, user.key_pkcs8_pem().unwrap()).unwrap();
    let p = |x: &std::path::Path| x.to_str().unwrap().to_owned();

    // The chain verifies for S/MIME encryption.
    let out = run_ok(
        openssl().args([
            "verify",
            "-purpose",
            "smimeencrypt",
            "-CAfile",
            &p(&ca_pem),
            &p(&user_pem),
        ]),
        b"",
    );
    assert!(String::from_utf8_lossy(&out).contains(": OK"));

    // The extensions.
    let text = String::from_utf8(run_ok(
        openssl().args([
            "x509",
            "-noout",
            "-text",
            "-in",
            &p(&user_der),
            "-inform",
            "DER",
        ]),
        b"",
    ))
    .unwrap();
    for needle in [
        "Version: 3 (0x2)",
        "Signature Algorithm: sha256WithRSAEncryption",
        "Subject: O = smime tests, CN = Carol",
        "Issuer: O = smime tests, CN = Test CA",
        "Public-Key: (2048 bit)",
        "X509v3 Key Usage: critical",
        "Digital Signature, Key Encipherment",
        "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier",
        "E-mail Protection",
        "email:carol@example.org",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let ca_text = String::from_utf8(run_ok(
        openssl().args(["x509", "-noout", "-text", "-in", &p(&ca_pem)]),
        b"",
    ))
    .unwrap();
    assert!(ca_text.contains("CA:TRUE"), "{ca_text}");
    assert!(ca_text.contains("Certificate Sign, CRL Sign"), "{ca_text}");

    // OpenSSL's SKI (SHA-1 of the key bits) equals ours.
    let ski = String::from_utf8(run_ok(
        openssl().args([
            "x509",
            "-noout",
            "-ext",
            "subjectKeyIdentifier",
            "-in",
            &p(&user_pem),
        ]),
        b"",
    ))
    .unwrap();
    let ours: Vec<String> = user.key_id().iter().map(|b| format!("{b:02X}")).collect();
    assert!(ski.contains(&ours.join(":")), "{ski}");

    // A recipient in practice: smime encrypts to it, OpenSSL decrypts.
    let enc = run_ok(
        &mut smime_cms(&["encrypt", "--keyid", "--recipient", &p(&user_der)]),
        b"for Carol",
    );
    let party = Party {
        key: key_pem.clone(),
        cert: user_pem.clone(),
    };
    assert_eq!(openssl_decrypt(&enc, false, &party, true), b"for Carol");
    // And smime decrypts with the generated key and certificate.
    let out = run_ok(
        smime().args(["decrypt", "--key", &p(&key_pem), "--cert", &p(&user_pem)]),
        &enc,
    );
    assert_eq!(out, b"for Carol");
}

#[test]
fn key_usage_without_key_encipherment_is_written_as_asked() {
    let mut rng = SysRng;
    let ca =
        certgen::self_signed_ca(&mut rng, &CertSpec::ca("Test CA 2", "smime tests"), 2048).unwrap();
    let mut spec = CertSpec::user("Signer", "smime tests", None);
    spec.key_usage = KeyUsage::DIGITAL_SIGNATURE.union(KeyUsage::NON_REPUDIATION);
    let user = certgen::issue(&mut rng, &ca, &spec, 2048).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("signer.der");
    std::fs::write(&cert, user.cert_der()).unwrap();
    let text = String::from_utf8(run_ok(
        openssl()
            .args([
                "x509", "-noout", "-ext", "keyUsage", "-inform", "DER", "-in",
            ])
            .arg(&cert),
        b"",
    ))
    .unwrap();
    assert!(
        text.contains("Digital Signature, Non Repudiation"),
        "{text}"
    );
    let line = smime_fails(
        &cms_args(&["encrypt", "--recipient", cert.to_str().unwrap()]),
        b"x",
    );
    assert!(line.contains("keyUsage"), "{line}");
}
