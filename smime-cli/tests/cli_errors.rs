//! What the tool does when things go wrong: one clear line on standard error,
//! exit status 1 (2 for usage errors), and no output file left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;

/// A message to recipient 1 (made by us; the tests below are about errors).
fn message_to_r1(pem: bool) -> Vec<u8> {
    let f = fixture();
    let outform = if pem { "pem" } else { "der" };
    run_ok(
        &mut smime_cms(&[
            "encrypt",
            "--recipient",
            f.r[0].cert(),
            "--outform",
            outform,
        ]),
        &content(100_000, 42),
    )
}

#[test]
fn wrong_key_fails_uniformly_and_leaves_no_file() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("msg.p7m");
    std::fs::write(&input, message_to_r1(false)).unwrap();
    let out = dir.path().join("plain.txt");
    let args = [
        "decrypt",
        "--key",
        f.r[1].key(),
        "--in",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    // Recipient 2's key without a certificate: tried on recipient 1's info.
    let line = smime_fails(&args, b"");
    assert!(line.contains("decryption failed"), "{line}");
    assert!(!out.exists());
    assert_eq!(list_dir(dir.path()), ["msg.p7m"], "no temporary file left");

    // An existing file of that name is left as it was.
    std::fs::write(&out, b"previous").unwrap();
    let line = smime_fails(&args, b"");
    assert!(line.contains("decryption failed"), "{line}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
    assert_eq!(list_dir(dir.path()), ["msg.p7m", "plain.txt"]);
}

#[test]
fn wrong_key_writes_nothing_to_stdout_for_a_small_message() {
    let f = fixture();
    let enc = run_ok(
        &mut smime_cms(&["encrypt", "--recipient", f.r[0].cert()]),
        &content(5_000, 1),
    );
    let out = run(smime().args(["decrypt", "--key", f.r[1].key()]), &enc);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("decryption failed"));
    assert!(
        out.stdout.is_empty(),
        "{} bytes of garbage on stdout",
        out.stdout.len()
    );
}

#[test]
fn key_with_certificate_not_among_recipients() {
    let f = fixture();
    let msg = message_to_r1(false);
    let line = smime_fails(
        &["decrypt", "--key", f.r[1].key(), "--cert", f.r[1].cert()],
        &msg,
    );
    assert!(line.contains("no recipient"), "{line}");
}

#[test]
fn certificate_matching_no_key() {
    let f = fixture();
    let msg = message_to_r1(false);
    let line = smime_fails(
        &["decrypt", "--key", f.r[0].key(), "--cert", f.r[1].cert()],
        &msg,
    );
    assert!(line.contains("does not match"), "{line}");
    assert!(line.contains(f.r[1].cert()), "names the file: {line}");
}

#[test]
fn recipient_without_key_encipherment_is_refused_unless_allowed() {
    let f = fixture();
    let line = smime_fails(
        &cms_args(&["encrypt", "--recipient", f.sign_only.cert()]),
        b"secret",
    );
    assert!(line.contains("keyUsage"), "{line}");
    assert!(line.contains("keyEncipherment"), "{line}");
    assert!(line.contains("--allow-any-key-usage"), "{line}");

    let enc = run_ok(
        &mut smime_cms(&[
            "encrypt",
            "--allow-any-key-usage",
            "--recipient",
            f.sign_only.cert(),
        ]),
        b"secret",
    );
    assert_eq!(openssl_decrypt(&enc, false, &f.sign_only, true), b"secret");
}

#[test]
fn small_and_non_rsa_recipients_are_refused() {
    let f = fixture();
    let line = smime_fails(&cms_args(&["encrypt", "--recipient", f.small.cert()]), b"x");
    assert!(line.contains("1024-bit"), "{line}");
    assert!(line.contains(f.small.cert()), "{line}");
    // An EC key is an ECDH recipient, but this one's keyUsage lacks
    // keyAgreement.
    let line = smime_fails(&cms_args(&["encrypt", "--recipient", f.ec.cert()]), b"x");
    assert!(line.contains("keyAgreement"), "{line}");
    assert!(line.contains(f.ec.cert()), "{line}");
    // An Ed25519 key can neither transport nor agree on a key.
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("ed.key"), dir.path().join("ed.crt"));
    run_ok(
        openssl()
            .args([
                "req", "-x509", "-nodes", "-newkey", "ed25519", "-subj", "/CN=ed", "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        b"",
    );
    let cert = cert.to_str().unwrap();
    let line = smime_fails(&cms_args(&["encrypt", "--recipient", cert]), b"x");
    assert!(line.contains("RSA"), "{line}");
    assert!(line.contains(cert), "{line}");
    // An EC key decrypts only for ECDH recipients: a message to an RSA
    // recipient has none it can open.
    let enc = run_ok(
        &mut smime_cms(&["encrypt", "--recipient", f.r[0].cert()]),
        b"x",
    );
    let line = smime_fails(&["decrypt", "--key", f.ec.key()], &enc);
    assert!(line.contains("no recipient info matches"), "{line}");
}

#[test]
fn keyid_needs_a_subject_key_identifier() {
    let f = fixture();
    let line = smime_fails(
        &cms_args(&["encrypt", "--keyid", "--recipient", f.no_ski.cert()]),
        b"x",
    );
    assert!(line.contains("subjectKeyIdentifier"), "{line}");
    // Without --keyid it is a fine recipient.
    let enc = run_ok(
        &mut smime_cms(&["encrypt", "--recipient", f.no_ski.cert()]),
        b"x",
    );
    assert_eq!(openssl_decrypt(&enc, false, &f.no_ski, true), b"x");
}

#[test]
fn truncated_input_is_an_error() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plain");
    for pem in [false, true] {
        let msg = message_to_r1(pem);
        // (PEM: cut inside the base64 body; without its last newline a PEM
        // message is still complete.)
        let cuts = if pem {
            [40, msg.len() / 2, msg.len() - 25]
        } else {
            [40, msg.len() / 2, msg.len() - 1]
        };
        for cut in cuts {
            let line = smime_fails(
                &[
                    "decrypt",
                    "--key",
                    f.r[0].key(),
                    "--out",
                    out.to_str().unwrap(),
                ],
                &msg[..cut],
            );
            assert!(line.contains("ended"), "pem={pem} cut={cut}: {line}");
            assert!(!out.exists());
            assert!(list_dir(dir.path()).is_empty());
        }
    }
    // Indefinite-length BER (from standard input) cut at an end-of-contents.
    let enc = run_ok(
        &mut smime_cms(&["encrypt", "--recipient", f.r[0].cert()]),
        b"abc",
    );
    let line = smime_fails(&["decrypt", "--key", f.r[0].key()], &enc[..enc.len() - 2]);
    assert!(
        line.contains("ended") || line.contains("truncated"),
        "{line}"
    );
}

#[test]
fn garbage_and_empty_input_are_errors() {
    let f = fixture();
    let garbage = content(5_000, 99);
    smime_fails(&["decrypt", "--key", f.r[0].key()], &garbage);
    smime_fails(
        &["decrypt", "--key", f.r[0].key(), "--inform", "der"],
        b"0\x80\x06\x09garbage",
    );
    smime_fails(
        &["decrypt", "--key", f.r[0].key()],
        b"-----BEGIN CMS-----\n!!!!\n-----END CMS-----\n",
    );
    smime_fails(&["decrypt", "--key", f.r[0].key()], b"");
    // A PEM certificate is not a message.
    let cert = std::fs::read(&f.r[0].cert).unwrap();
    let line = smime_fails(&["decrypt", "--key", f.r[0].key()], &cert);
    assert!(line.contains("CERTIFICATE"), "{line}");
    // A DER message that is not EnvelopedData.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.txt");
    std::fs::write(&data, b"hello").unwrap();
    let signed = run_ok(
        openssl()
            .args([
                "cms",
                "-sign",
                "-binary",
                "-nodetach",
                "-outform",
                "DER",
                "-in",
            ])
            .arg(&data)
            .args(["-signer", f.r[0].cert(), "-inkey", f.r[0].key()]),
        b"",
    );
    smime_fails(&["decrypt", "--key", f.r[0].key()], &signed);
}

#[test]
fn bad_files_are_named() {
    let f = fixture();
    let line = smime_fails(
        &cms_args(&["encrypt", "--recipient", "/nonexistent/cert.pem"]),
        b"x",
    );
    assert!(line.contains("/nonexistent/cert.pem"), "{line}");
    // A key given as a certificate.
    let line = smime_fails(&cms_args(&["encrypt", "--recipient", f.r[0].key()]), b"x");
    assert!(line.contains(f.r[0].key()), "{line}");
    // A certificate given as a key.
    let line = smime_fails(&["decrypt", "--key", f.r[0].cert()], b"x");
    assert!(line.contains(f.r[0].cert()), "{line}");
    // Missing input file.
    let line = smime_fails(
        &cms_args(&[
            "encrypt",
            "--recipient",
            f.r[0].cert(),
            "--in",
            "/nonexistent/in",
        ]),
        b"",
    );
    assert!(line.contains("/nonexistent/in"), "{line}");
    // An output directory that does not exist.
    let line = smime_fails(
        &cms_args(&[
            "encrypt",
            "--recipient",
            f.r[0].cert(),
            "--out",
            "/nonexistent/dir/out.p7m",
        ]),
        b"x",
    );
    assert!(line.contains("/nonexistent/dir"), "{line}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["encrypt"][..],
        &["decrypt"][..],
        &["encrypt", "--recipient", "c.pem", "--cipher", "rc2-cbc"][..],
        // (`smime` is a valid output form since mail became the default.)
        &["encrypt", "--recipient", "c.pem", "--outform", "bogus"][..],
        &[
            "sign", "--key", "k.pem", "--cert", "c.pem", "--inform", "der",
        ][..],
        &["frobnicate"][..],
    ] {
        let out = run(smime().args(args), b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn demo_runs_and_says_ok() {
    let out = run(smime().arg("demo"), b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().last(), Some("OK"), "{stdout}");
    // The whole workflow, shown as mail.
    for step in [
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";",
        "added alice@example.org",
        // Alice's mail announced AES-GCM: Bob's reply is AuthEnvelopedData.
        "announced AES-GCM",
        "smime-type=authEnveloped-data",
        "$ smime decrypt",
        "> Thanks, Alice.",
    ] {
        assert!(stdout.contains(step), "{step}: {stdout}");
    }
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
