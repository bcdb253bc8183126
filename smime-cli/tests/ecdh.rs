//! ECDH recipients (RFC 5753) at the command line: `smime encrypt -r` with an
//! EC certificate makes a KeyAgreeRecipientInfo that OpenSSL opens; OpenSSL's
//! messages to an EC certificate open with `smime decrypt --key ec.key`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;

use common::{openssl, run, run_ok, smime};

const MAIL: &[u8] = b"From: alice@example.com\r\nTo: eve@example.com\r\nSubject: ecdh\r\n\
Content-Type: text/plain\r\n\r\nagreed keys\r\n";

fn ec_identity(dir: &Path, curve: &str) -> (String, String) {
    let key = dir.join(format!("{curve}.key"));
    let cert = dir.join(format!("{curve}.pem"));
    run_ok(
        openssl()
            .args(["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt"])
            .arg(format!("ec_paramgen_curve:{curve}"))
            .args([
                "-days",
                "10",
                "-subj",
                "/CN=Eve",
                "-addext",
                "keyUsage=keyAgreement",
            ])
            .args(["-addext", "subjectAltName=email:eve@example.com", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        b"",
    );
    (
        key.to_str().unwrap().to_owned(),
        cert.to_str().unwrap().to_owned(),
    )
}

#[test]
fn ec_recipients_both_ways_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mail = d.join("mail.eml");
    std::fs::write(&mail, MAIL).unwrap();
    for curve in ["P-256", "P-384"] {
        let (key, cert) = ec_identity(d, curve);
        for cipher in ["aes256-cbc", "aes128-gcm"] {
            // Ours to the EC certificate; OpenSSL and ours open it.
            let enc = d.join(format!("{curve}-{cipher}.eml"));
            let out = run(
                smime()
                    .args(["encrypt", "-r", &cert, "--cipher", cipher, "--in"])
                    .arg(&mail)
                    .arg("--out")
                    .arg(&enc),
                b"",
            );
            assert!(
                out.status.success(),
                "{curve} {cipher}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let plain = run_ok(
                openssl()
                    .args(["cms", "-decrypt", "-inkey", &key, "-in"])
                    .arg(&enc),
                b"",
            );
            assert!(
                String::from_utf8_lossy(&plain).contains("agreed keys"),
                "{curve} {cipher}"
            );
            for with_cert in [false, true] {
                let mut cmd = smime();
                cmd.args(["decrypt", "--key", &key, "--in"]).arg(&enc);
                if with_cert {
                    cmd.args(["--cert", &cert]);
                }
                let out = run(&mut cmd, b"");
                assert!(
                    out.status.success(),
                    "{curve} {cipher}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(String::from_utf8_lossy(&out.stdout).contains("agreed keys"));
            }
        }
        // OpenSSL's to the EC certificate; ours opens it.
        let enc = d.join(format!("{curve}-openssl.eml"));
        run_ok(
            openssl()
                .args(["cms", "-encrypt", "-aes256", "-in"])
                .arg(&mail)
                .arg("-out")
                .arg(&enc)
                .arg(&cert),
            b"",
        );
        let out = run(
            smime().args(["decrypt", "--key", &key, "--in"]).arg(&enc),
            b"",
        );
        assert!(
            out.status.success(),
            "{curve}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("agreed keys"));
    }
    // Someone else's EC key: the uniform failure.
    let (key, _) = ec_identity(d, "P-256");
    let (_, other) = {
        let sub = d.join("other");
        std::fs::create_dir_all(&sub).unwrap();
        ec_identity(&sub, "P-256")
    };
    let enc = d.join("other.eml");
    run_ok(
        smime()
            .args(["encrypt", "-r", &other, "--in"])
            .arg(&mail)
            .arg("--out")
            .arg(&enc),
        b"",
    );
    let out = run(
        smime().args(["decrypt", "--key", &key, "--in"]).arg(&enc),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("agreed keys"));
}
