//! `smime` with keys on a real SoftHSMv2 token, named by `pkcs11:` URIs:
//! mail signed on the token verifies with OpenSSL; OpenSSL encrypts to the
//! token's certificate and the token decrypts; `smime tokens` lists what the
//! module shows; a wrong PIN and a missing key fail clearly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod pki;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{openssl, run, run_ok};
use pki::pki;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "1234";
const SO_PIN: &str = "5678";

/// A SoftHSM configuration with two tokens: `smime-cli` (Alice's RSA key
/// and Eve's EC key, with their certificates) and `smime-pin` (for wrong
/// PINs, so that the main token is never locked).
struct Token {
    dir: PathBuf,
    conf: PathBuf,
    pin_file: PathBuf,
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn softhsm(conf: &Path) -> Command {
    let mut c = Command::new("softhsm2-util");
    c.env("SOFTHSM2_CONF", conf);
    c
}

fn pkcs11_tool(conf: &Path) -> Command {
    let mut c = Command::new("pkcs11-tool");
    c.env("SOFTHSM2_CONF", conf).args(["--module", MODULE]);
    c
}

fn der_of(dir: &Path, name: &str, pem: &str, key: bool) -> PathBuf {
    let out = dir.join(format!("{name}.der"));
    let args: &[&str] = if key {
        &["pkey", "-in", pem, "-outform", "DER", "-out", s(&out)]
    } else {
        &["x509", "-in", pem, "-outform", "DER", "-out", s(&out)]
    };
    run_ok(openssl().args(args), b"");
    out
}

fn token() -> &'static Token {
    static T: OnceLock<Token> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("softhsm-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        for label in ["smime-cli", "smime-pin"] {
            run_ok(
                softhsm(&conf).args([
                    "--init-token",
                    "--free",
                    "--label",
                    label,
                    "--pin",
                    PIN,
                    "--so-pin",
                    SO_PIN,
                ]),
                b"",
            );
        }
        let p = pki();
        for (party, id, label) in [(&p.alice, "01", "alice"), (&p.ec, "02", "eve")] {
            let key = der_of(&dir, &format!("{label}-key"), party.key(), true);
            let cert = der_of(&dir, &format!("{label}-cert"), party.cert(), false);
            for (file, kind) in [(&key, "privkey"), (&cert, "cert")] {
                run_ok(
                    pkcs11_tool(&conf).args([
                        "--login",
                        "--pin",
                        PIN,
                        "--token-label",
                        "smime-cli",
                        "--write-object",
                        s(file),
                        "--type",
                        kind,
                        "--id",
                        id,
                        "--label",
                        label,
                    ]),
                    b"",
                );
            }
        }
        let pin_file = dir.join("pin.txt");
        std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
        Token {
            dir,
            conf,
            pin_file,
        }
    })
}

/// `smime` with the token's configuration in its environment.
fn smime() -> Command {
    let t = token();
    let mut c = common::smime();
    c.env("SOFTHSM2_CONF", &t.conf)
        .env("SMIME_PKCS11_MODULE", MODULE);
    c
}

/// A URI for a key on the main token, with the PIN from a file.
fn uri(object: &str) -> String {
    format!(
        "pkcs11:token=smime-cli;object={object};type=private?pin-source={}&module-path={MODULE}",
        s(&token().pin_file)
    )
}

const MAIL: &[u8] = b"From: Alice Example <alice@example.com>\r\nTo: bob@example.com\r\n\
Subject: signed on a token\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
The key never left the token.\r\n";

/// The text of an entity's body, base64 undone when its header says so.
fn body_text(entity: &[u8]) -> String {
    let text = String::from_utf8_lossy(entity).replace("\r\n", "\n");
    let Some((head, body)) = text.split_once("\n\n") else {
        return text;
    };
    if head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: base64")
    {
        let clean: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let out = run_ok(openssl().args(["base64", "-d", "-A"]), clean.as_bytes());
        String::from_utf8_lossy(&out).into_owned()
    } else {
        body.to_owned()
    }
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn mail_signed_on_the_token_verifies_with_openssl() {
    let t = token();
    let dir = tempfile::tempdir_in(&t.dir).unwrap();
    let d = dir.path();
    let mail = write(d, "mail.eml", MAIL);
    for (object, extra, from) in [
        ("alice", &[][..], "alice@example.com"),
        ("alice", &["--pss"][..], "alice@example.com"),
        ("eve", &[][..], "eve@example.com"),
    ] {
        let body = String::from_utf8_lossy(MAIL).replace("alice@example.com", from);
        let mail = write(d, "m.eml", body.as_bytes());
        let signed = d.join(format!("signed-{object}.eml"));
        let out = run(
            smime()
                .args([
                    "sign",
                    "--key",
                    &uri(object),
                    "--in",
                    s(&mail),
                    "--out",
                    s(&signed),
                ])
                .args(extra),
            b"",
        );
        assert!(
            out.status.success(),
            "{object} {extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // No --cert: the certificate came from the token.
        let content = run_ok(
            openssl().args([
                "cms",
                "-verify",
                "-CAfile",
                pki().ca.cert(),
                "-in",
                s(&signed),
            ]),
            b"",
        );
        // The signed entity (its text body was given base64 to travel safely).
        assert!(
            body_text(&content).contains("The key never left the token."),
            "{object}: {}",
            String::from_utf8_lossy(&content)
        );
        // And our own verify, with the From check.
        let out = run(
            smime().args(["verify", "--trust", pki().ca.cert(), "--in", s(&signed)]),
            b"",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = mail;
}

#[test]
fn openssl_encrypts_to_the_token_and_the_token_decrypts() {
    let t = token();
    let dir = tempfile::tempdir_in(&t.dir).unwrap();
    let d = dir.path();
    let mail = write(d, "mail.eml", MAIL);
    for padding in [None, Some("rsa_padding_mode:oaep")] {
        let enc = d.join("enc.eml");
        let mut cmd = openssl();
        cmd.args([
            "smime",
            "-encrypt",
            "-aes256",
            "-in",
            s(&mail),
            "-out",
            s(&enc),
        ]);
        if let Some(p) = padding {
            cmd.args(["-keyopt", p]);
        }
        // `openssl smime` takes the recipient last; -keyopt needs `cms`.
        if padding.is_some() {
            cmd = openssl();
            cmd.args([
                "cms",
                "-encrypt",
                "-aes256",
                "-in",
                s(&mail),
                "-out",
                s(&enc),
            ])
            .args([
                "-recip",
                pki().alice.cert(),
                "-keyopt",
                "rsa_padding_mode:oaep",
            ]);
        } else {
            cmd.arg(pki().alice.cert());
        }
        run_ok(&mut cmd, b"");
        let dec = d.join("dec.eml");
        let out = run(
            smime().args([
                "decrypt",
                "--key",
                &uri("alice"),
                "--in",
                s(&enc),
                "--out",
                s(&dec),
            ]),
            b"",
        );
        assert!(
            out.status.success(),
            "{padding:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read(&dec).unwrap();
        assert!(
            body_text(&text).contains("The key never left the token."),
            "{}",
            String::from_utf8_lossy(&text)
        );
    }
    // Encrypted to someone else: the uniform failure, no file.
    let enc = d.join("bob.eml");
    run_ok(
        openssl().args([
            "smime",
            "-encrypt",
            "-aes256",
            "-in",
            s(&mail),
            "-out",
            s(&enc),
            pki().bob.cert(),
        ]),
        b"",
    );
    let dec = d.join("none.eml");
    let out = run(
        smime().args([
            "decrypt",
            "--key",
            &uri("alice"),
            "--in",
            s(&enc),
            "--out",
            s(&dec),
        ]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!dec.exists());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("recipient") || err.contains("decryption failed"),
        "{err}"
    );
}

#[test]
fn tokens_lists_keys_and_certificates_with_working_uris() {
    let t = token();
    let out = run(
        smime().args(["tokens", "--module", MODULE, "--pin-source", s(&t.pin_file)]),
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("smime-cli"), "{text}");
    assert!(text.contains("smime-pin"), "{text}");
    assert!(text.contains("private key 'alice'"), "{text}");
    assert!(text.contains("certificate 'eve'"), "{text}");
    assert!(text.contains("RSA-2048"), "{text}");
    assert!(text.contains("Alice Example"), "{text}");
    // The URI printed for Alice's private key signs.
    let line = text
        .lines()
        .skip_while(|l| !l.contains("private key 'alice'"))
        .find(|l| l.trim_start().starts_with("URI:"))
        .expect("a URI line");
    let printed = line.trim_start().trim_start_matches("URI:").trim();
    let with_pin = format!("{printed}?pin-source={}", s(&t.pin_file));
    let dir = tempfile::tempdir_in(&t.dir).unwrap();
    let mail = write(dir.path(), "mail.eml", MAIL);
    let out = run(
        smime().args(["sign", "--key", &with_pin, "--in", s(&mail)]),
        b"",
    );
    assert!(
        out.status.success(),
        "{with_pin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn wrong_pin_and_missing_key_fail_clearly() {
    let t = token();
    let dir = tempfile::tempdir_in(&t.dir).unwrap();
    let mail = write(dir.path(), "mail.eml", MAIL);
    let signed = dir.path().join("s.eml");
    // A wrong PIN, on the token kept for it.
    let wrong = format!("pkcs11:token=smime-pin;object=x?pin-value=0000&module-path={MODULE}");
    let out = run(
        smime().args([
            "sign",
            "--key",
            &wrong,
            "--in",
            s(&mail),
            "--out",
            s(&signed),
        ]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.to_lowercase().contains("pin"), "{err}");
    assert!(!signed.exists());
    // No such key.
    let out = run(
        smime().args([
            "sign",
            "--key",
            &uri("nobody"),
            "--in",
            s(&mail),
            "--out",
            s(&signed),
        ]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nobody"), "{err}");
    assert!(!signed.exists());
    // A malformed URI is a clear error too.
    let out = run(
        smime().args([
            "sign",
            "--key",
            "pkcs11:token=%zz",
            "--in",
            s(&mail),
            "--out",
            s(&signed),
        ]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
}
