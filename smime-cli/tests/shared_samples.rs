//! Real messages from other implementations (the shared interop folder beside
//! the repository): `smime decrypt` must give what `openssl cms -decrypt`
//! gives for the same file, and what the samples' documents say.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A file in the shared interop folder (fails clearly if it is missing).
fn interop(rel: &str) -> PathBuf {
    let base = std::env::var_os("SMIME_INTEROP_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop"),
        PathBuf::from,
    );
    assert!(
        base.is_dir(),
        "the shared interop folder is missing: expected {} (set SMIME_INTEROP_DIR to point \
         elsewhere)",
        base.display()
    );
    let p = base.join(rel);
    assert!(p.exists(), "interop sample missing: {}", p.display());
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `smime decrypt --in msg --key key [--cert cert]`.
fn smime_decrypt(msg: &Path, key: &Path, cert: Option<&Path>) -> Vec<u8> {
    let mut cmd = smime();
    cmd.args(["decrypt", "--in", s(msg), "--key", s(key)]);
    if let Some(c) = cert {
        cmd.args(["--cert", s(c)]);
    }
    run_ok(&mut cmd, b"")
}

/// `openssl cms -decrypt` of the same file with the same key.
fn openssl_reference(msg: &Path, key: &Path, key_der: bool, pem: bool) -> Vec<u8> {
    let mut cmd = openssl();
    cmd.args([
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        if pem { "PEM" } else { "DER" },
    ]);
    cmd.args(["-in", s(msg), "-inkey", s(key)]);
    if key_der {
        cmd.args(["-keyform", "DER"]);
    }
    run_ok(&mut cmd, b"")
}

const RFC4134: &str = "bc-csharp/crypto/test/data/rfc4134";

#[test]
fn rfc4134_5_1_triple_des() {
    let msg = interop(&format!("{RFC4134}/5.1.bin"));
    let key = interop(&format!("{RFC4134}/BobPrivRSAEncrypt.pri"));
    let out = smime_decrypt(&msg, &key, None);
    // RFC 4134 section 5.1: the content is ExContent, "This is some sample content."
    assert_eq!(out, b"This is some sample content.");
    assert_eq!(
        out,
        std::fs::read(interop(&format!("{RFC4134}/ExContent.bin"))).unwrap()
    );
    assert_eq!(out, openssl_reference(&msg, &key, true, false));
}

#[test]
fn rfc4134_5_2_rc2_is_refused_as_weak() {
    let msg = interop(&format!("{RFC4134}/5.2.bin"));
    let key = interop(&format!("{RFC4134}/BobPrivRSAEncrypt.pri"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let line = smime_fails(
        &[
            "decrypt",
            "--in",
            s(&msg),
            "--key",
            s(&key),
            "--out",
            s(&out),
        ],
        b"",
    );
    assert!(line.contains("weak algorithm"), "{line}");
    assert!(line.contains("RC2"), "{line}");
    assert!(!out.exists());
}

#[test]
fn asn1crypto_enveloped_triple_des() {
    let msg = interop("asn1crypto/tests/fixtures/cms-enveloped.der");
    // A PKCS#1 "RSA PRIVATE KEY" PEM file.
    let key = interop("asn1crypto/tests/fixtures/keys/test.key");
    let out = smime_decrypt(&msg, &key, None);
    assert_eq!(out, openssl_reference(&msg, &key, false, false));
    assert_eq!(out, b"This is the message to encapsulate in PKCS#7/CMS\n");
    // With its certificate, the key is matched by issuer and serial.
    let cert = interop("asn1crypto/tests/fixtures/keys/test.crt");
    assert_eq!(smime_decrypt(&msg, &key, Some(&cert)), out);
    // The same key and certificate in the other encodings: DER PKCS#1, DER
    // and PEM PKCS#8, DER certificate.
    let der_cert = interop("asn1crypto/tests/fixtures/keys/test-der.crt");
    for k in ["test-der.key", "test-pkcs8-der.key", "test-pkcs8.key"] {
        let k = interop(&format!("asn1crypto/tests/fixtures/keys/{k}"));
        assert_eq!(
            smime_decrypt(&msg, &k, Some(&der_cert)),
            out,
            "{}",
            k.display()
        );
    }
    // A password-protected key is refused with a hint.
    let locked = interop("asn1crypto/tests/fixtures/keys/test-aes128.key");
    let line = smime_fails(&["decrypt", "--in", s(&msg), "--key", s(&locked)], b"");
    assert!(line.contains("password"), "{line}");
}

#[test]
fn gnupg_gpgsm_enveloped_ber() {
    // gpgsm output (indefinite-length BER, AES-128, RSA-1024 test key).
    let key = interop("gnupg/extracted/32100C27173EF6E9C4E9A25D3D69F86D37A4F939.pkcs8.pem");
    let cert = interop("derived/gnupg/cert_g10code_test1.pem");
    for name in ["plain-1", "plain-2", "plain-3", "plain-large"] {
        let msg = interop(&format!("derived/gnupg/{name}.cms"));
        let reference = openssl_reference(&msg, &key, false, false);
        assert!(!reference.is_empty());
        assert_eq!(smime_decrypt(&msg, &key, None), reference, "{name}");
        assert_eq!(
            smime_decrypt(&msg, &key, Some(&cert)),
            reference,
            "{name} with cert"
        );
    }
    // The other extracted key is not a recipient.
    let other = interop("gnupg/extracted/8D6D17B4B94BBE8304926C016D2C5C7805EB6705.pkcs8.pem");
    let msg = interop("derived/gnupg/plain-3.cms");
    let line = smime_fails(&["decrypt", "--in", s(&msg), "--key", s(&other)], b"");
    assert!(line.contains("decryption failed"), "{line}");
}

#[test]
fn examples_cms_rsa_oaep() {
    let certs = "examples-cms/certs-and-keys";
    let key = interop(&format!("{certs}/lamps-bob.decrypt.p8.pem"));
    let cert = interop(&format!("{certs}/lamps-bob.encrypt.crt"));
    let expected = std::fs::read(interop("derived/examples-cms/sample-content.txt")).unwrap();

    let der = interop("examples-cms/binary-files/encryptedForBobRSAOaep.p7m");
    let out = smime_decrypt(&der, &key, Some(&cert));
    assert_eq!(out, expected);
    assert_eq!(out, openssl_reference(&der, &key, false, false));
    assert_eq!(smime_decrypt(&der, &key, None), expected);

    // The PEM edition of the same message (72-column lines).
    let pem = interop("examples-cms/pem-encoded/encryptedForBobRSAOaep.pem");
    assert_eq!(smime_decrypt(&pem, &key, Some(&cert)), expected);
    assert_eq!(openssl_reference(&pem, &key, false, true), expected);
}

#[test]
fn examples_cms_bob_beside_an_x25519_recipient() {
    // Two recipient infos: RSA-OAEP for Bob and key agreement (X25519) for
    // Dana. Bob decrypts; the key-agreement info is passed over.
    let certs = "examples-cms/certs-and-keys";
    let key = interop(&format!("{certs}/lamps-bob.decrypt.p8.pem"));
    let cert = interop(&format!("{certs}/lamps-bob.encrypt.crt"));
    let msg = interop("examples-cms/binary-files/encryptedForBobAndDana.p7m");
    let out = smime_decrypt(&msg, &key, Some(&cert));
    assert_eq!(
        out,
        std::fs::read(interop("derived/examples-cms/sample-content.txt")).unwrap()
    );
    let mut reference = openssl();
    reference.args([
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-in",
        s(&msg),
    ]);
    reference.args(["-inkey", s(&key), "-recip", s(&cert)]);
    assert_eq!(out, run_ok(&mut reference, b""));
}
