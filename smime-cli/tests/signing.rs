//! `smime verify` against messages signed by `openssl cms -sign`, and
//! `smime sign` against `openssl cms -verify` and `smime verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod pki;

use std::path::Path;
use std::process::Output;

use common::*;
use pki::pki;

/// `openssl cms -sign` of `content` with `signers`; `extra` options added.
fn openssl_sign(dir: &Path, content: &[u8], signers: &[&Party], extra: &[&str]) -> Vec<u8> {
    let input = dir.join("content.bin");
    std::fs::write(&input, content).unwrap();
    let mut cmd = openssl();
    cmd.args(["cms", "-sign", "-binary", "-outform", "DER"]);
    // `-keyopt` belongs after each signer (OpenSSL wants it there).
    let (keyopts, others): (Vec<&[&str]>, Vec<&[&str]>) = extra
        .chunks(1)
        .partition(|c| c[0] == "-keyopt" || c[0].starts_with("rsa_"));
    cmd.args(others.concat()).arg("-in").arg(&input);
    for s in signers {
        cmd.args(["-signer", s.cert(), "-inkey", s.key()]);
        cmd.args(keyopts.concat());
    }
    run_ok(&mut cmd, b"")
}

fn smime_verify(msg: &[u8], args: &[&str]) -> Output {
    run(smime().arg("verify").args(args), msg)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 0 and the content.
fn verify_ok(msg: &[u8], args: &[&str]) -> Vec<u8> {
    let o = smime_verify(msg, args);
    assert!(
        o.status.success(),
        "smime verify {args:?} failed: {}",
        stderr(&o)
    );
    o.stdout
}

/// Exit 1, a report, and the last line `smime: error: ...`; returns stderr.
fn verify_fails(msg: &[u8], args: &[&str]) -> String {
    let o = smime_verify(msg, args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "smime verify {args:?}: {e}");
    assert!(!e.contains("panicked"), "{e}");
    let last = e.lines().last().unwrap_or_default();
    assert!(last.starts_with("smime: error: "), "{e}");
    e
}

#[test]
fn openssl_signed_messages_verify() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(20_000, 7);
    let ca = p.ca.cert();
    let cases: [(&str, Vec<&Party>, Vec<&str>); 6] = [
        ("attached", vec![&p.alice], vec!["-nodetach"]),
        ("stream", vec![&p.alice], vec!["-nodetach", "-stream"]),
        ("keyid", vec![&p.alice], vec!["-nodetach", "-keyid"]),
        (
            "pss",
            vec![&p.alice],
            vec!["-nodetach", "-keyopt", "rsa_padding_mode:pss"],
        ),
        ("ecdsa", vec![&p.ec], vec!["-nodetach"]),
        ("two signers", vec![&p.alice, &p.bob], vec!["-nodetach"]),
    ];
    for (name, signers, extra) in &cases {
        let signed = openssl_sign(dir.path(), &msg, signers, extra);
        let out = verify_ok(&signed, &["--trust", ca]);
        assert_eq!(out, msg, "{name}");
        let o = smime_verify(&signed, &["--trust", ca]);
        let e = stderr(&o);
        assert_eq!(
            e.matches("VALID: the signature is valid").count(),
            signers.len(),
            "{name}: {e}"
        );
        if *name == "pss" {
            assert!(e.contains("RSASSA-PSS"), "{e}");
        }
        if *name == "ecdsa" {
            assert!(e.contains("ECDSA with SHA-256"), "{e}");
        }
    }
    // Detached, DER and PEM, content from a file.
    let signed = openssl_sign(dir.path(), &msg, &[&p.alice], &[]);
    let content_file = dir.path().join("detached.bin");
    std::fs::write(&content_file, &msg).unwrap();
    let cf = content_file.to_str().unwrap();
    assert_eq!(verify_ok(&signed, &["--trust", ca, "--content", cf]), msg);
    let pem = run_ok(
        openssl().args(["cms", "-cmsout", "-inform", "DER", "-outform", "PEM"]),
        &signed,
    );
    assert!(pem.starts_with(b"-----BEGIN CMS-----"));
    assert_eq!(verify_ok(&pem, &["--trust", ca, "--content", cf]), msg);
    // Without its content: exit 1, says what to do.
    let e = verify_fails(&signed, &["--trust", ca]);
    assert!(e.contains("--content"), "{e}");
}

#[test]
fn intermediate_from_message_or_cert_option() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let msg = b"signed by a leaf of the sub CA".to_vec();
    let ca = p.ca.cert();
    // With the intermediate in the message.
    let signed = openssl_sign(
        dir.path(),
        &msg,
        &[&p.carol],
        &["-nodetach", "-certfile", p.sub.cert()],
    );
    assert_eq!(verify_ok(&signed, &["--trust", ca]), msg);
    let e = stderr(&smime_verify(&signed, &["--trust", ca]));
    assert!(
        e.contains("Test Sub CA") && e.contains("Test Root CA (trusted)"),
        "{e}"
    );
    // Without it: the chain breaks, --cert mends it.
    let signed = openssl_sign(dir.path(), &msg, &[&p.carol], &["-nodetach"]);
    let e = verify_fails(&signed, &["--trust", ca]);
    assert!(
        e.contains("no chain of certificates leads from it to a trusted anchor"),
        "{e}"
    );
    assert_eq!(
        verify_ok(&signed, &["--trust", ca, "--cert", p.sub.cert()]),
        msg
    );
}

#[test]
fn unknown_root_fails_unless_no_chain_check() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let msg = b"from someone we do not know".to_vec();
    let signed = openssl_sign(dir.path(), &msg, &[&p.mallory], &["-nodetach"]);
    let out = dir.path().join("out.txt");
    let o = out.to_str().unwrap();
    let e = verify_fails(&signed, &["--trust", p.ca.cert(), "--out", o]);
    assert!(e.contains("VALID: the signature is valid"), "{e}");
    assert!(e.contains("Chain:      INVALID"), "{e}");
    assert!(
        e.lines()
            .last()
            .unwrap()
            .contains("certificate chain: leaf certificate: no chain of certificates leads"),
        "{e}"
    );
    assert!(!out.exists());
    // To standard output: a small message's content is held back.
    let o2 = smime_verify(&signed, &["--trust", p.ca.cert()]);
    assert_eq!(o2.status.code(), Some(1));
    assert!(o2.stdout.is_empty(), "content written despite the failure");
    assert_eq!(verify_ok(&signed, &["--no-chain-check", "--out", o]), b"");
    assert_eq!(std::fs::read(&out).unwrap(), msg);
    // No --trust and no --no-chain-check: a usage error, one line.
    let line = smime_fails(&["verify"], &signed);
    assert!(line.contains("--trust"), "{line}");
}

#[test]
fn expired_leaf_fails_at_a_later_time() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let msg = b"short-lived".to_vec();
    let signed = openssl_sign(dir.path(), &msg, &[&p.short], &["-nodetach"]);
    let ca = p.ca.cert();
    assert_eq!(verify_ok(&signed, &["--trust", ca]), msg);
    let e = verify_fails(&signed, &["--trust", ca, "--at", "2099-01-01T00:00:00Z"]);
    assert!(e.contains("leaf certificate: it expired at"), "{e}");
    // The CA itself is valid for ten years only: before it, not yet valid.
    let e = verify_fails(&signed, &["--trust", ca, "--at", "2001-01-01"]);
    assert!(e.contains("not valid before"), "{e}");
    let line = smime_fails(&["verify", "--trust", ca, "--at", "tomorrow"], &signed);
    assert!(line.contains("RFC 3339"), "{line}");
}

#[test]
fn tampered_content_fails_and_leaves_no_file() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(5_000, 3);
    let ca = p.ca.cert();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("content.bin");
    let o = out.to_str().unwrap();

    // Attached: flip a content byte inside the message.
    let mut signed = openssl_sign(dir.path(), &msg, &[&p.alice], &["-nodetach"]);
    let at = signed.windows(16).position(|w| w == &msg[..16]).unwrap() + 100;
    signed[at] ^= 1;
    let e = verify_fails(&signed, &["--trust", ca, "--out", o]);
    assert!(e.contains("the content was changed"), "{e}");
    assert!(
        list_dir(out_dir.path()).is_empty(),
        "{:?}",
        list_dir(out_dir.path())
    );

    // Detached: other content.
    let signed = openssl_sign(dir.path(), &msg, &[&p.alice], &[]);
    let mut other = msg.clone();
    other[0] ^= 0x80;
    let cf = dir.path().join("other.bin");
    std::fs::write(&cf, &other).unwrap();
    let e = verify_fails(
        &signed,
        &["--trust", ca, "--content", cf.to_str().unwrap(), "--out", o],
    );
    assert!(e.contains("the content was changed"), "{e}");
    assert!(list_dir(out_dir.path()).is_empty());

    // Signed attributes changed: the signature itself fails.
    let mut signed = openssl_sign(dir.path(), &msg, &[&p.alice], &["-nodetach"]);
    let t = signed.len() - 300;
    signed[t] ^= 0x01;
    let o2 = smime_verify(&signed, &["--trust", ca, "--out", o]);
    assert_eq!(o2.status.code(), Some(1), "{}", stderr(&o2));
    assert!(list_dir(out_dir.path()).is_empty());
}

#[test]
fn email_option_checks_the_signer_address() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let msg = b"from alice".to_vec();
    let signed = openssl_sign(dir.path(), &msg, &[&p.alice], &["-nodetach"]);
    let ca = p.ca.cert();
    assert_eq!(
        verify_ok(&signed, &["--trust", ca, "--email", "alice@EXAMPLE.com"]),
        msg
    );
    let e = verify_fails(&signed, &["--trust", ca, "--email", "bob@example.com"]);
    assert!(
        e.contains("not for the e-mail address bob@example.com"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------
// `smime sign`
// ---------------------------------------------------------------------------

/// `smime sign` of `content` (from a file) with `signer`; returns the message.
fn smime_sign(dir: &Path, content: &[u8], signer: &Party, args: &[&str]) -> Vec<u8> {
    let input = dir.join("to-sign.bin");
    std::fs::write(&input, content).unwrap();
    let out = dir.join("signed.out");
    let _ = std::fs::remove_file(&out);
    let mut all = vec!["sign", "--key", signer.key(), "--cert", signer.cert()];
    all.extend_from_slice(args);
    run_ok(
        smime_cms(&all)
            .arg("--in")
            .arg(&input)
            .arg("--out")
            .arg(&out),
        b"",
    );
    std::fs::read(&out).unwrap()
}

/// `openssl cms -verify` against the test CA; returns the content.
fn openssl_verify(dir: &Path, msg: &[u8], pem: bool, content: Option<&[u8]>) -> Vec<u8> {
    let mut cmd = openssl();
    cmd.args(["cms", "-verify", "-binary", "-CAfile", pki().ca.cert()]);
    cmd.args(["-inform", if pem { "PEM" } else { "DER" }]);
    if let Some(c) = content {
        let f = dir.join("detached-content.bin");
        std::fs::write(&f, c).unwrap();
        cmd.arg("-content").arg(f);
    }
    run_ok(&mut cmd, msg)
}

#[test]
fn smime_sign_verifies_with_openssl() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(70_000, 9);
    // Attached, DER.
    let signed = smime_sign(dir.path(), &msg, &p.alice, &[]);
    assert_eq!(openssl_verify(dir.path(), &signed, false, None), msg);
    // Detached, PEM.
    let signed = smime_sign(
        dir.path(),
        &msg,
        &p.alice,
        &["--detached", "--outform", "pem"],
    );
    assert!(signed.starts_with(b"-----BEGIN CMS-----"));
    assert!(
        signed.len() < msg.len(),
        "detached signature carries the content"
    );
    openssl_verify(dir.path(), &signed, true, Some(&msg));
    // PSS, SHA-512, key identifier, no attributes.
    for args in [
        &["--pss"][..],
        &["--digest", "sha512"],
        &["--digest", "sha384", "--pss", "--keyid"],
        &["--no-attributes"],
    ] {
        let signed = smime_sign(dir.path(), &msg, &p.alice, args);
        assert_eq!(
            openssl_verify(dir.path(), &signed, false, None),
            msg,
            "{args:?}"
        );
    }
    // Attached, streamed from standard input (indefinite lengths).
    let signed = run_ok(
        &mut smime_cms(&["sign", "--key", p.alice.key(), "--cert", p.alice.cert()]),
        &msg,
    );
    assert_eq!(openssl_verify(dir.path(), &signed, false, None), msg);
    // A leaf of the sub CA with --chain: OpenSSL finds the intermediate in
    // the message.
    let signed = smime_sign(dir.path(), &msg, &p.carol, &["--chain", p.sub.cert()]);
    assert_eq!(openssl_verify(dir.path(), &signed, false, None), msg);
}

#[test]
fn smime_sign_then_smime_verify() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(10_000, 4);
    let ca = p.ca.cert();
    let signed = smime_sign(dir.path(), &msg, &p.alice, &["--pss", "--outform", "pem"]);
    assert_eq!(verify_ok(&signed, &["--trust", ca]), msg);
    let e = stderr(&smime_verify(&signed, &["--trust", ca]));
    assert!(e.contains("RSASSA-PSS with SHA-256"), "{e}");
    assert!(e.contains("Signed at:  20"), "{e}");
    // Detached through smime, streamed from standard input.
    let sig = run_ok(
        &mut smime_cms(&[
            "sign",
            "--key",
            p.alice.key(),
            "--cert",
            p.alice.cert(),
            "--detached",
        ]),
        &msg,
    );
    let cf = dir.path().join("c.bin");
    std::fs::write(&cf, &msg).unwrap();
    assert_eq!(
        verify_ok(&sig, &["--trust", ca, "--content", cf.to_str().unwrap()]),
        msg
    );
    // ECDSA P-256 (also with SHA-384) and Ed25519 signers; OpenSSL 3.0
    // cannot handle Ed25519 in CMS, so that one is checked by smime only.
    for args in [&[][..], &["--digest", "sha384", "--detached"]] {
        let signed = smime_sign(dir.path(), &msg, &p.ec, args);
        let content = args.contains(&"--detached").then_some(&msg[..]);
        openssl_verify(dir.path(), &signed, false, content);
        if content.is_none() {
            let e = stderr(&smime_verify(&signed, &["--trust", ca]));
            assert!(e.contains("ECDSA with SHA-"), "{e}");
            assert_eq!(verify_ok(&signed, &["--trust", ca]), msg);
        }
    }
    let signed = smime_sign(dir.path(), &msg, &p.ed, &[]);
    assert_eq!(verify_ok(&signed, &["--trust", ca]), msg);
    let e = stderr(&smime_verify(&signed, &["--trust", ca]));
    assert!(e.contains("Signature:  Ed25519"), "{e}");
    let line = smime_fails(
        &cms_args(&["sign", "--key", p.ec.key(), "--cert", p.ec.cert(), "--pss"]),
        b"x",
    );
    assert!(line.contains("--pss is for RSA keys"), "{line}");
    let line = smime_fails(
        &cms_args(&["sign", "--key", p.alice.key(), "--cert", p.ec.cert()]),
        b"x",
    );
    assert!(line.contains("needs a PKCS#8 P-256 or P-384 key"), "{line}");
    let line = smime_fails(
        &cms_args(&["sign", "--key", p.ec.key(), "--cert", p.ed.cert()]),
        b"x",
    );
    assert!(line.contains("needs a PKCS#8 Ed25519 key"), "{line}");
    let line = smime_fails(
        &cms_args(&[
            "sign",
            "--key",
            p.ed.key(),
            "--cert",
            p.ed.cert(),
            "--no-attributes",
        ]),
        b"x",
    );
    assert!(
        line.contains("Ed25519 signs only with signed attributes"),
        "{line}"
    );
    // A key that does not match the certificate: one line.
    let line = smime_fails(
        &cms_args(&["sign", "--key", p.bob.key(), "--cert", p.alice.cert()]),
        b"x",
    );
    assert!(line.contains("does not belong"), "{line}");
    // A CA certificate without digitalSignature.
    let line = smime_fails(
        &cms_args(&["sign", "--key", p.ca.key(), "--cert", p.ca.cert()]),
        b"x",
    );
    assert!(line.contains("may not be used for signing"), "{line}");
}

#[test]
fn crl_option_finds_a_revoked_signer() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("index.txt"), b"").unwrap();
    std::fs::write(d.join("crlnumber"), b"1000\n").unwrap();
    let cnf = d.join("ca.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {}\ncrlnumber = {}\ndefault_md = sha256\n\
             default_crl_days = 30\n",
            d.join("index.txt").display(),
            d.join("crlnumber").display()
        ),
    )
    .unwrap();
    let ca_args = ["-keyfile", p.ca.key(), "-cert", p.ca.cert()];
    run_ok(
        openssl()
            .args([
                "ca",
                "-config",
                cnf.to_str().unwrap(),
                "-revoke",
                p.bob.cert(),
            ])
            .args(ca_args),
        b"",
    );
    let crl = d.join("crl.pem");
    run_ok(
        openssl()
            .args(["ca", "-config", cnf.to_str().unwrap(), "-gencrl", "-out"])
            .arg(&crl)
            .args(ca_args),
        b"",
    );
    let crl = crl.to_str().unwrap();
    let ca = p.ca.cert();
    let msg = b"revocation".to_vec();
    let by_bob = openssl_sign(d, &msg, &[&p.bob], &["-nodetach"]);
    let e = verify_fails(&by_bob, &["--trust", ca, "--crl", crl]);
    assert!(e.contains("leaf certificate: it was revoked at"), "{e}");
    // Without the CRL: valid, and the report says revocation was not checked.
    let o = smime_verify(&by_bob, &["--trust", ca]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("Revocation: not checked"),
        "{}",
        stderr(&o)
    );
    // Alice is not on it.
    let by_alice = openssl_sign(d, &msg, &[&p.alice], &["-nodetach"]);
    let o = smime_verify(&by_alice, &["--trust", ca, "--crl", crl]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("Revocation"), "{}", stderr(&o));
}

#[test]
fn weak_digest_is_marked_and_other_messages_are_refused() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let msg = b"sha-1".to_vec();
    let signed = openssl_sign(dir.path(), &msg, &[&p.alice], &["-nodetach", "-md", "sha1"]);
    let o = smime_verify(&signed, &["--trust", p.ca.cert()]);
    let e = stderr(&o);
    assert!(e.contains("Digest:     SHA-1 (weak)"), "{e}");
    // An encrypted message is not a signed one: one line.
    let enc = run_ok(
        &mut smime_cms(&["encrypt", "--recipient", p.alice.cert()]),
        b"secret",
    );
    let line = smime_fails(&["verify", "--trust", p.ca.cert()], &enc);
    assert!(line.contains("not a SignedData"), "{line}");
    // --content with a message that carries its content.
    let cf = dir.path().join("c.bin");
    std::fs::write(&cf, &msg).unwrap();
    let line = smime_fails(
        &[
            "verify",
            "--no-chain-check",
            "--content",
            cf.to_str().unwrap(),
        ],
        &signed,
    );
    assert!(line.contains("not a detached signature"), "{line}");
    // Garbage and empty input.
    let line = smime_fails(&["verify", "--no-chain-check"], b"");
    assert!(line.contains("empty"), "{line}");
    let line = smime_fails(&["verify", "--no-chain-check"], &signed[..signed.len() / 2]);
    assert!(line.contains("truncated"), "{line}");
}
