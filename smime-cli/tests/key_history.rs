//! Key history across a renewal: a partner renews with a new key pair;
//! mail encrypted (by OpenSSL) to the old certificate and to the new one
//! both decrypt through the same token URI (`pkcs11:token=X`, no object),
//! and through the same key directory (`--key DIR`), by issuer and serial
//! and by subject key identifier. On the sending side, `smime encrypt --to`
//! takes the newest valid certificate, warns when the only one expires
//! soon, and `smime certs list` says which one it uses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod p12kit;

use common::{openssl, run, run_ok, smime_fails};
use p12kit::{Hsm, have_softhsm, make_p12, openssl_encrypt, s, self_signed};

const OLD_MAIL: &[u8] = b"written to the old certificate";
const NEW_MAIL: &[u8] = b"written to the renewed certificate";

#[test]
fn old_and_new_mail_open_with_one_token_uri() {
    if !have_softhsm() {
        return;
    }
    let hsm = Hsm::new(&["history"]);
    let d = hsm.dir.clone();
    let old = self_signed(&d, "old", "Dana 2024", "dana@example.com", "30");
    let new = self_signed(&d, "new", "Dana 2025", "dana@example.com", "365");
    for (party, file) in [(&old, "old.p12"), (&new, "new.p12")] {
        let p12 = make_p12(&d, file, party, &[], "pw", None, true);
        run_ok(
            hsm.smime().args([
                "keys",
                "import",
                s(&p12),
                "--password",
                "pw",
                "--to",
                &hsm.uri("history", ""),
            ]),
            b"",
        );
    }
    let token = hsm.uri("history", "");
    for keyid in [false, true] {
        for (party, content) in [(&old, OLD_MAIL), (&new, NEW_MAIL)] {
            let msg = openssl_encrypt(&party.cert, content, keyid);
            let out = run(
                hsm.smime()
                    .args(["decrypt", "-v", "--key", &token, "--inform", "der"]),
                &msg,
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "keyid {keyid}: {err}");
            assert_eq!(out.stdout, content);
            let cn = if content == OLD_MAIL {
                "Dana 2024"
            } else {
                "Dana 2025"
            };
            assert!(
                err.contains(&format!("with key '{cn}' on token 'history'")),
                "{err}"
            );
        }
    }
    // Mail for a certificate the token does not have: a clear failure.
    let stranger = self_signed(&d, "stranger", "Stranger", "x@example.com", "30");
    let msg = openssl_encrypt(&stranger.cert, b"x", false);
    let out = run(
        hsm.smime()
            .args(["decrypt", "--key", &token, "--inform", "der"]),
        &msg,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    // A URI with an object still names one key only: the new one does not
    // open the old mail.
    let msg = openssl_encrypt(&old.cert, OLD_MAIL, false);
    let out = run(
        hsm.smime().args([
            "decrypt",
            "--key",
            &hsm.uri("history", ";object=Dana%202025"),
            "--inform",
            "der",
        ]),
        &msg,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn old_and_new_mail_open_with_one_key_directory() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let d = tmp.path();
    let old = self_signed(d, "old", "Erin 2024", "erin@example.com", "30");
    let new = self_signed(d, "new", "Erin 2025", "erin@example.com", "365");
    let other = self_signed(d, "other", "Erin Other", "erin@example.com", "365");
    let keys = d.join("keys");
    // Old and new under one password, a third under another.
    for (party, file, pw) in [
        (&old, "old.p12", "pw"),
        (&new, "new.p12", "pw"),
        (&other, "other.p12", "different"),
    ] {
        let p12 = make_p12(d, file, party, &[], pw, None, false);
        run_ok(
            common::smime().args([
                "keys",
                "import",
                s(&p12),
                "--password",
                pw,
                "--to-dir",
                s(&keys),
            ]),
            b"",
        );
    }
    let pw_file = d.join("pw.txt");
    std::fs::write(&pw_file, "pw\n").unwrap();
    let source = format!("file:{}", s(&pw_file));
    for keyid in [false, true] {
        for (party, content) in [(&old, OLD_MAIL), (&new, NEW_MAIL)] {
            let msg = openssl_encrypt(&party.cert, content, keyid);
            let out = run(
                common::smime().args([
                    "decrypt",
                    "-v",
                    "--key",
                    s(&keys),
                    "--password-source",
                    &source,
                    "--inform",
                    "der",
                ]),
                &msg,
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{err}");
            assert_eq!(out.stdout, content);
            // The key the password does not open is skipped, with a warning.
            assert!(err.contains("warning: key"), "{err}");
            assert!(err.contains("wrong password"), "{err}");
        }
    }
    // A wrong password opens no key: a clear error.
    let e = smime_fails(
        &[
            "decrypt",
            "--key",
            s(&keys),
            "--password-source",
            "env:NO_SUCH_PW_VAR_X",
            "--inform",
            "der",
        ],
        b"",
    );
    assert!(e.contains("NO_SUCH_PW_VAR_X"), "{e}");
    std::fs::write(&pw_file, "nope\n").unwrap();
    let e = smime_fails(
        &[
            "decrypt",
            "--key",
            s(&keys),
            "--password-source",
            &source,
            "--inform",
            "der",
        ],
        b"",
    );
    assert!(e.contains("no key in"), "{e}");
    // An empty directory.
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = smime_fails(&["decrypt", "--key", s(&empty), "--inform", "der"], b"");
    assert!(e.contains("holds no keys"), "{e}");
}

#[test]
fn encrypt_takes_the_newest_and_warns_before_expiry() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let d = tmp.path();
    let store = d.join("store");
    let soon = self_signed(d, "soon", "Fay 2024", "fay@example.com", "10");
    // Import from every form: PEM .crt, DER .cer, a PEM bundle, a .p7b.
    let der = d.join("soon.cer");
    run_ok(
        openssl().args([
            "x509",
            "-in",
            soon.cert(),
            "-outform",
            "DER",
            "-out",
            s(&der),
        ]),
        b"",
    );
    let out = run_ok(
        common::smime().args(["certs", "import", s(&der), "--store", s(&store)]),
        b"",
    );
    assert!(String::from_utf8_lossy(&out).starts_with("added fay@example.com: CN=Fay 2024"));
    // Only that one: encrypting works, with a warning.
    let out = run(
        &mut common::smime_cms(&["encrypt", "--to", "fay@example.com", "--store", s(&store)]),
        b"hi",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: the only certificate for fay@example.com (CN=Fay 2024, O=smime test) expires on"),
        "{err}"
    );
    assert!(
        err.contains("(in 9 days)") || err.contains("(in 10 days)"),
        "{err}"
    );
    let listing = String::from_utf8(run_ok(
        common::smime().args(["certs", "list", "--store", s(&store)]),
        b"",
    ))
    .unwrap();
    assert!(
        listing.contains("warning: the only certificate"),
        "{listing}"
    );

    // The renewal arrives (in a .p7b with another person's certificate, and
    // once more as a PEM bundle): the newest is used, no warning.
    let renewed = self_signed(d, "renewed", "Fay 2025", "fay@example.com", "365");
    let gus = self_signed(d, "gus", "Gus", "gus@example.com", "365");
    let p7b = d.join("certs.p7b");
    run_ok(
        openssl().args([
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            renewed.cert(),
            "-certfile",
            gus.cert(),
            "-outform",
            "DER",
            "-out",
            s(&p7b),
        ]),
        b"",
    );
    let bundle = d.join("bundle.pem");
    let text = std::fs::read_to_string(renewed.cert()).unwrap()
        + &std::fs::read_to_string(soon.cert()).unwrap();
    std::fs::write(&bundle, text).unwrap();
    let out = String::from_utf8(run_ok(
        common::smime().args([
            "certs",
            "import",
            s(&p7b),
            s(&bundle),
            soon.cert(),
            "--store",
            s(&store),
        ]),
        b"",
    ))
    .unwrap();
    assert_eq!(out.matches("added ").count(), 2, "{out}");
    assert_eq!(out.matches("known ").count(), 3, "{out}");
    let out = run(
        &mut common::smime_cms(&["encrypt", "--to", "fay@example.com", "--store", s(&store)]),
        b"to the renewed certificate",
    );
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain = run_ok(
        openssl().args([
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-inkey",
            renewed.key(),
        ]),
        &out.stdout,
    );
    assert_eq!(plain, b"to the renewed certificate");

    // The listing: per address, each certificate, which one is used.
    let listing = String::from_utf8(run_ok(
        common::smime().args(["certs", "list", "--store", s(&store)]),
        b"",
    ))
    .unwrap();
    let fay = listing.split("gus@example.com").next().unwrap();
    assert!(fay.starts_with("fay@example.com\n"), "{listing}");
    let fp = |p: &common::Party| {
        let out = run_ok(
            openssl().args(["x509", "-in", p.cert(), "-outform", "DER"]),
            b"",
        );
        let h = run_ok(openssl().args(["dgst", "-sha256", "-r"]), &out);
        String::from_utf8(h).unwrap()[..64].to_owned()
    };
    assert!(
        fay.contains(&format!("* SHA256 {}", fp(&renewed))),
        "{listing}"
    );
    assert!(
        fay.contains(&format!("  SHA256 {}", fp(&soon))),
        "{listing}"
    );
    assert!(fay.contains("CN=Fay 2025, O=smime test"), "{listing}");
    assert!(fay.contains(": used for encryption"), "{listing}");
    assert!(fay.contains(": usable"), "{listing}");
    assert!(!listing.contains("warning"), "{listing}");
    assert!(listing.contains("gus@example.com\n  * SHA256"), "{listing}");

    // Bad input: a file without certificates.
    let junk = d.join("junk.txt");
    std::fs::write(&junk, "no certificates here\n").unwrap();
    let e = smime_fails(&["certs", "import", s(&junk), "--store", s(&store)], b"");
    assert!(e.contains("junk.txt"), "{e}");
}
