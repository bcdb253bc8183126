//! OpenSSL as a real peer, both ways: messages made by `openssl cms -encrypt`
//! decrypt with `smime decrypt` to the same bytes, and messages made by
//! `smime encrypt` decrypt with `openssl cms -decrypt` to the same bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;

use common::*;

/// `openssl cms -encrypt` of `msg` (a file) to `recips`. `extra` options
/// come first; `-keyopt` pairs are given after each `-recip` (OpenSSL wants
/// them there).
fn openssl_encrypt(
    dir: &Path,
    msg: &[u8],
    recips: &[&Party],
    cipher: &str,
    extra: &[&str],
    stream: bool,
) -> Vec<u8> {
    let input = dir.join("plain.bin");
    std::fs::write(&input, msg).unwrap();
    let (keyopts, others): (Vec<&[&str]>, Vec<&[&str]>) = extra
        .chunks(1)
        .partition(|c| c[0].starts_with("rsa_") || c[0] == "-keyopt");
    let keyopts: Vec<&str> = keyopts.concat();
    let others: Vec<&str> = others.concat();
    let mut cmd = openssl();
    cmd.args([
        "cms",
        "-encrypt",
        "-binary",
        "-outform",
        "DER",
        &format!("-{cipher}"),
    ]);
    if stream {
        cmd.arg("-stream");
    }
    cmd.args(&others).arg("-in").arg(&input);
    for r in recips {
        cmd.args(["-recip", r.cert()]).args(&keyopts);
    }
    run_ok(&mut cmd, b"")
}

/// `smime decrypt` of `msg` from standard input with the given arguments.
fn smime_decrypt(msg: &[u8], args: &[&str]) -> Vec<u8> {
    run_ok(smime().arg("decrypt").args(args), msg)
}

/// Whether a DER/BER ContentInfo uses an indefinite outer length.
fn is_indefinite(msg: &[u8]) -> bool {
    msg.get(1) == Some(&0x80)
}

#[test]
fn openssl_to_smime_every_cipher_streamed_and_not() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(10_000, 1);
    for cipher in ["aes128", "aes192", "aes256", "des3"] {
        for stream in [false, true] {
            let enc = openssl_encrypt(dir.path(), &msg, &[&f.r[0]], cipher, &[], stream);
            assert_eq!(is_indefinite(&enc), stream, "{cipher} stream={stream}");
            let with_cert = smime_decrypt(&enc, &["--key", f.r[0].key(), "--cert", f.r[0].cert()]);
            assert_eq!(with_cert, msg, "{cipher} stream={stream}");
            let key_only = smime_decrypt(&enc, &["--key", f.r[0].key()]);
            assert_eq!(key_only, msg, "{cipher} stream={stream}, key only");
        }
    }
}

#[test]
fn openssl_to_smime_oaep_sha1_and_sha256() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(3_000, 2);
    let sha1 = ["-keyopt", "rsa_padding_mode:oaep"];
    let sha256 = [
        "-keyopt",
        "rsa_padding_mode:oaep",
        "-keyopt",
        "rsa_oaep_md:sha256",
    ];
    for (name, opts) in [("sha1", &sha1[..]), ("sha256", &sha256[..])] {
        for stream in [false, true] {
            let enc = openssl_encrypt(dir.path(), &msg, &[&f.r[1]], "aes256", opts, stream);
            let out = smime_decrypt(&enc, &["--key", f.r[1].key(), "--cert", f.r[1].cert()]);
            assert_eq!(out, msg, "OAEP {name} stream={stream}");
            let out = smime_decrypt(&enc, &["--key", f.r[1].key()]);
            assert_eq!(out, msg, "OAEP {name} stream={stream}, key only");
        }
    }
}

#[test]
fn openssl_to_smime_three_recipients() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(5_000, 3);
    let all = [&f.r[0], &f.r[1], &f.r[2]];
    for stream in [false, true] {
        let enc = openssl_encrypt(dir.path(), &msg, &all, "aes128", &[], stream);
        // As the 2nd recipient, with its certificate.
        let out = smime_decrypt(&enc, &["--key", f.r[1].key(), "--cert", f.r[1].cert()]);
        assert_eq!(out, msg);
        // As the 3rd, by trial decryption (key without certificate).
        let out = smime_decrypt(&enc, &["--key", f.r[2].key()]);
        assert_eq!(out, msg);
        // The 3rd recipient's key in a key history behind a key that is not
        // a recipient at all.
        let out = smime_decrypt(
            &enc,
            &[
                "--key",
                f.no_ski.key(),
                "--key",
                f.r[2].key(),
                "--cert",
                f.r[2].cert(),
            ],
        );
        assert_eq!(out, msg);
    }
}

#[test]
fn openssl_to_smime_keyid() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(777, 4);
    let all = [&f.r[0], &f.r[1], &f.r[2]];
    for stream in [false, true] {
        let enc = openssl_encrypt(dir.path(), &msg, &all, "aes256", &["-keyid"], stream);
        let out = smime_decrypt(&enc, &["--key", f.r[2].key(), "--cert", f.r[2].cert()]);
        assert_eq!(out, msg, "-keyid stream={stream}");
        let out = smime_decrypt(&enc, &["--key", f.r[1].key()]);
        assert_eq!(out, msg, "-keyid stream={stream}, key only");
    }
}

#[test]
fn openssl_to_smime_pem_input() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(20_000, 5);
    let input = dir.path().join("plain.bin");
    std::fs::write(&input, &msg).unwrap();
    let pem = run_ok(
        openssl()
            .args([
                "cms", "-encrypt", "-binary", "-stream", "-outform", "PEM", "-aes256", "-in",
            ])
            .arg(&input)
            .arg(f.r[0].cert()),
        b"",
    );
    assert!(pem.starts_with(b"-----BEGIN CMS-----"));
    // Detected, and said explicitly.
    assert_eq!(smime_decrypt(&pem, &["--key", f.r[0].key()]), msg);
    assert_eq!(
        smime_decrypt(&pem, &["--key", f.r[0].key(), "--inform", "pem"]),
        msg
    );
    // The older PKCS7 label is accepted too.
    let pkcs7 = String::from_utf8(pem)
        .unwrap()
        .replace("CMS-----", "PKCS7-----");
    assert_eq!(
        smime_decrypt(pkcs7.as_bytes(), &["--key", f.r[0].key()]),
        msg
    );
}

#[test]
fn openssl_to_smime_empty_and_large() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    for (len, seed) in [(0usize, 6u8), (3 * 1024 * 1024 + 17, 7)] {
        let msg = content(len, seed);
        for stream in [false, true] {
            let enc = openssl_encrypt(dir.path(), &msg, &[&f.r[0], &f.r[1]], "aes256", &[], stream);
            // From a file to a file.
            let input = dir.path().join("msg.der");
            let output = dir.path().join("out.bin");
            std::fs::write(&input, &enc).unwrap();
            run_ok(
                smime()
                    .args([
                        "decrypt",
                        "--key",
                        f.r[1].key(),
                        "--cert",
                        f.r[1].cert(),
                        "--in",
                    ])
                    .arg(&input)
                    .arg("--out")
                    .arg(&output),
                b"",
            );
            assert!(
                std::fs::read(&output).unwrap() == msg,
                "len {len} stream={stream}"
            );
            // Through pipes.
            let out = smime_decrypt(&enc, &["--key", f.r[0].key()]);
            assert!(out == msg, "len {len} stream={stream} via stdin");
        }
    }
}

/// `smime encrypt` with `args`, content on standard input or from a file.
fn smime_encrypt(dir: &Path, msg: &[u8], args: &[&str], from_file: bool) -> Vec<u8> {
    let mut all = vec!["encrypt"];
    all.extend_from_slice(args);
    let mut cmd = smime_cms(&all);
    if from_file {
        let input = dir.join("content.bin");
        std::fs::write(&input, msg).unwrap();
        cmd.arg("--in").arg(&input);
        run_ok(&mut cmd, b"")
    } else {
        run_ok(&mut cmd, msg)
    }
}

#[test]
fn smime_to_openssl_every_cipher() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(4_097, 8);
    for cipher in ["aes128-cbc", "aes192-cbc", "aes256-cbc", "des-ede3-cbc"] {
        for from_file in [true, false] {
            let enc = smime_encrypt(
                dir.path(),
                &msg,
                &["--recipient", f.r[0].cert(), "--cipher", cipher],
                from_file,
            );
            // A file gives definite lengths, standard input indefinite ones.
            assert_eq!(is_indefinite(&enc), !from_file, "{cipher}");
            assert_eq!(openssl_decrypt(&enc, false, &f.r[0], true), msg, "{cipher}");
            assert_eq!(
                openssl_decrypt(&enc, false, &f.r[0], false),
                msg,
                "{cipher}"
            );
        }
    }
}

#[test]
fn smime_default_is_aes256_and_pkcs1v15() {
    let f = fixture();
    let enc = run_ok(
        &mut smime_cms(&["encrypt", "--recipient", f.r[0].cert()]),
        b"hello",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.der");
    std::fs::write(&path, &enc).unwrap();
    let print = run_ok(
        openssl()
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&path),
        b"",
    );
    let print = String::from_utf8_lossy(&print);
    assert!(print.contains("aes-256-cbc"), "{print}");
    assert!(print.contains("rsaEncryption"), "{print}");
    assert!(print.contains("d.issuerAndSerialNumber"), "{print}");
    assert_eq!(openssl_decrypt(&enc, false, &f.r[0], true), b"hello");
}

#[test]
fn smime_to_openssl_oaep() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(1_000, 9);
    let cases: [&[&str]; 4] = [
        &["--oaep"],
        &["--oaep", "--oaep-hash", "sha1"],
        &["--oaep", "--oaep-hash", "sha384"],
        &["--oaep-hash", "sha512"],
    ];
    for extra in cases {
        let mut args = vec!["--recipient", f.r[1].cert()];
        args.extend_from_slice(extra);
        let enc = smime_encrypt(dir.path(), &msg, &args, true);
        assert_eq!(
            openssl_decrypt(&enc, false, &f.r[1], true),
            msg,
            "{extra:?}"
        );
    }
}

#[test]
fn smime_to_openssl_keyid_and_three_recipients() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(2_000, 10);
    for keyid in [false, true] {
        for from_file in [true, false] {
            let mut args = vec![
                "--recipient",
                f.r[0].cert(),
                "--recipient",
                f.r[1].cert(),
                "-r",
                f.r[2].cert(),
            ];
            if keyid {
                args.push("--keyid");
            }
            let enc = smime_encrypt(dir.path(), &msg, &args, from_file);
            for p in &f.r {
                assert_eq!(openssl_decrypt(&enc, false, p, true), msg, "keyid={keyid}");
            }
            // And back through ourselves, as the last recipient.
            assert_eq!(
                run_ok(
                    smime().args(["decrypt", "--key", f.r[2].key(), "--cert", f.r[2].cert()]),
                    &enc
                ),
                msg
            );
        }
    }
}

#[test]
fn smime_to_openssl_pem_output() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let msg = content(10_000, 11);
    for from_file in [true, false] {
        let pem = smime_encrypt(
            dir.path(),
            &msg,
            &["--recipient", f.r[0].cert(), "--outform", "pem", "--oaep"],
            from_file,
        );
        let text = String::from_utf8(pem.clone()).unwrap();
        assert!(text.starts_with("-----BEGIN CMS-----\n"), "{text}");
        assert!(text.ends_with("-----END CMS-----\n"), "{text}");
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(openssl_decrypt(&pem, true, &f.r[0], true), msg);
        assert_eq!(
            run_ok(smime().args(["decrypt", "--key", f.r[0].key()]), &pem),
            msg
        );
    }
}

#[test]
fn smime_to_openssl_empty_and_large() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    for (len, seed) in [(0usize, 12u8), (3 * 1024 * 1024 + 5, 13)] {
        let msg = content(len, seed);
        for from_file in [true, false] {
            let enc = smime_encrypt(dir.path(), &msg, &["--recipient", f.r[2].cert()], from_file);
            assert!(
                openssl_decrypt(&enc, false, &f.r[2], true) == msg,
                "len {len}"
            );
        }
        // --out writes the same through a temporary file.
        let input = dir.path().join("content.bin");
        let output = dir.path().join("sub dir").join("msg.p7m");
        std::fs::create_dir_all(output.parent().unwrap()).unwrap();
        std::fs::write(&input, &msg).unwrap();
        run_ok(
            smime_cms(&["encrypt", "--recipient", f.r[2].cert(), "--in"])
                .arg(&input)
                .arg("--out")
                .arg(&output),
            b"",
        );
        assert_eq!(list_dir(output.parent().unwrap()), ["msg.p7m"]);
        let enc = std::fs::read(&output).unwrap();
        assert!(
            openssl_decrypt(&enc, false, &f.r[2], true) == msg,
            "len {len} --out"
        );
    }
}
