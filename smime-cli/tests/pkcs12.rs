//! `smime keys import | export` with PKCS#12 files made by OpenSSL, modern
//! (PBES2, AES-256) and `-legacy` (3DES for the key, RC2-40 for the
//! certificates): imported into SoftHSMv2 (RSA with a two-CA chain, and EC
//! P-256), the key signs (OpenSSL verifies) and decrypts (OpenSSL encrypts;
//! RSA key transport and ECDH); a wrong password is said so and leaves
//! nothing on the token, nor does an import that fails half-way; `--to-dir`
//! stores the key encrypted; export writes what OpenSSL reads as
//! PBES2/AES-256-CBC/PBKDF2-SHA256.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod p12kit;
mod pki;

use std::path::Path;

use common::{openssl, run, run_ok, smime_fails};
use p12kit::{Hsm, have_softhsm, make_p12, openssl_encrypt, s};
use pki::pki;

const CONTENT: &[u8] = b"PKCS#12 keys at work\r\n";

fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// Imports `p12` onto `token` of `hsm`, signs with it and decrypts with it.
fn import_sign_decrypt(hsm: &Hsm, token: &str, p12: &Path, pw_file: &Path, rsa: bool) {
    let p = pki();
    let out = run_ok(
        hsm.smime().args([
            "keys",
            "import",
            s(p12),
            "--password-source",
            &format!("file:{}", s(pw_file)),
            "--to",
            &hsm.uri(token, ""),
        ]),
        b"",
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(&format!("onto token '{token}'")), "{text}");
    // Key, public key, certificate share one id and label.
    let objects = hsm.objects(token);
    let label = if rsa { "Carol" } else { "Eve Curve" };
    for class in ["private key", "public key", "certificate"] {
        assert!(
            objects.contains(&format!("{class} '{label}'")),
            "{class}: {objects:?}"
        );
    }
    if rsa {
        // The chain's two CA certificates went on too.
        assert!(text.contains("with 2 CA certificate(s)"), "{text}");
        assert_eq!(objects.len(), 5, "{objects:?}");
    }

    // Sign with it: OpenSSL verifies against the root.
    let dir = tempfile::tempdir_in(&hsm.dir).unwrap();
    let d = dir.path();
    let key_uri = hsm.uri(token, &format!(";object={}", label.replace(' ', "%20")));
    let signed = run(
        hsm.smime()
            .args(common::cms_args(&["sign", "--key", &key_uri]))
            .args(["--chain", p.sub.cert()]),
        CONTENT,
    );
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let signed = write(d, "signed.der", &signed.stdout);
    let content = run_ok(
        openssl()
            .args([
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                s(&signed),
            ])
            .args(["-CAfile", p.ca.cert(), "-purpose", "any"]),
        b"",
    );
    assert_eq!(content, CONTENT);

    // Decrypt with it what OpenSSL encrypted to its certificate.
    // (EC: ECDH key agreement on the token.)
    let cert = if rsa { &p.carol.cert } else { &p.ec.cert };
    let msg = openssl_encrypt(cert, CONTENT, false);
    let plain = run_ok(
        hsm.smime()
            .args(["decrypt", "--key", &key_uri, "--inform", "der"]),
        &msg,
    );
    assert_eq!(plain, CONTENT);
}

#[test]
fn modern_and_legacy_files_work_on_the_token() {
    if !have_softhsm() {
        return;
    }
    let p = pki();
    let hsm = Hsm::new(&["p12-modern", "p12-legacy", "p12-ec"]);
    let d = hsm.dir.clone();
    let pw = write(&d, "pw.txt", b"correct horse\n");
    let chain = [p.sub.cert.as_path(), p.ca.cert.as_path()];
    let modern = make_p12(
        &d,
        "modern.p12",
        &p.carol,
        &chain,
        "correct horse",
        Some("Carol"),
        false,
    );
    let legacy = make_p12(
        &d,
        "legacy.p12",
        &p.carol,
        &chain,
        "correct horse",
        Some("Carol"),
        true,
    );
    import_sign_decrypt(&hsm, "p12-modern", &modern, &pw, true);
    import_sign_decrypt(&hsm, "p12-legacy", &legacy, &pw, true);
    // An EC key (P-256), without a friendlyName: labelled by its CN.
    let ec = make_p12(&d, "ec.p12", &p.ec, &[], "correct horse", None, false);
    import_sign_decrypt(&hsm, "p12-ec", &ec, &pw, false);

    // The same file again: refused, nothing added.
    let before = hsm.objects("p12-modern");
    let out = run(
        hsm.smime().args([
            "keys",
            "import",
            s(&modern),
            "--password",
            "correct horse",
            "--to",
            &hsm.uri("p12-modern", ""),
        ]),
        b"",
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("already has 3 object(s) with id"), "{e}");
    assert_eq!(hsm.objects("p12-modern"), before);
}

#[test]
fn a_wrong_password_is_said_and_leaves_nothing() {
    if !have_softhsm() {
        return;
    }
    let p = pki();
    let hsm = Hsm::new(&["p12-wrong"]);
    let d = hsm.dir.clone();
    for legacy in [false, true] {
        let f = make_p12(
            &d,
            &format!("w{legacy}.p12"),
            &p.alice,
            &[],
            "right",
            None,
            legacy,
        );
        let out = run(
            hsm.smime().args([
                "keys",
                "import",
                s(&f),
                "--password",
                "wrong",
                "--to",
                &hsm.uri("p12-wrong", ""),
            ]),
            b"",
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("wrong password for '{}'", s(&f))),
            "{err}"
        );
        assert!(hsm.objects("p12-wrong").is_empty());
    }
    // Not a PKCS#12 file at all; an unknown password source; a URI that is
    // not one.
    let e = smime_fails(
        &[
            "keys",
            "import",
            p.alice.cert(),
            "--password",
            "x",
            "--to-dir",
            s(&d),
        ],
        b"",
    );
    assert!(e.contains("PKCS12") || e.contains("not a PKCS#12"), "{e}");
    let f = make_p12(&d, "ok.p12", &p.alice, &[], "pw", None, false);
    let e = smime_fails(
        &[
            "keys",
            "import",
            s(&f),
            "--password-source",
            "pw",
            "--to-dir",
            s(&d),
        ],
        b"",
    );
    assert!(e.contains("expected file:FILE or env:VAR"), "{e}");
    let e = smime_fails(
        &[
            "keys",
            "import",
            s(&f),
            "--password",
            "pw",
            "--to",
            "token=x",
        ],
        b"",
    );
    assert!(e.contains("expected a pkcs11: URI"), "{e}");
    // A token that does not exist.
    let out = run(
        hsm.smime().args([
            "keys",
            "import",
            s(&f),
            "--password",
            "pw",
            "--to",
            &hsm.uri("no-such-token", ""),
        ]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(hsm.objects("p12-wrong").is_empty());
}

#[test]
fn key_directory_and_export_round_trip() {
    let p = pki();
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let d = tmp.path();
    let legacy = make_p12(
        d,
        "legacy.p12",
        &p.alice,
        &[p.ca.cert.as_path()],
        "old secret",
        None,
        true,
    );
    let keys = d.join("keys");
    let out = run_ok(
        common::smime()
            .args(["keys", "import", s(&legacy), "--to-dir", s(&keys)])
            .env("P12_PW", "old secret")
            .args(["--password-source", "env:P12_PW"]),
        b"",
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("imported the key of CN=Alice Example"),
        "{text}"
    );
    let names = common::list_dir(&keys);
    assert_eq!(names.len(), 2, "{names:?}");
    let key_file = keys.join(names.iter().find(|n| n.ends_with(".key.pem")).unwrap());
    let cert_file = keys.join(names.iter().find(|n| n.ends_with(".cert.pem")).unwrap());
    let key_text = std::fs::read_to_string(&key_file).unwrap();
    assert!(key_text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    // PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, and OpenSSL opens it.
    let parsed = String::from_utf8(run_ok(
        openssl().args(["asn1parse", "-in", s(&key_file)]),
        b"",
    ))
    .unwrap();
    for alg in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"] {
        assert!(parsed.contains(alg), "{alg}: {parsed}");
    }
    run_ok(
        openssl().args([
            "pkey",
            "-in",
            s(&key_file),
            "-passin",
            "pass:old secret",
            "-noout",
        ]),
        b"",
    );
    // The certificate file: the key's certificate, then the CA.
    assert_eq!(
        std::fs::read_to_string(&cert_file)
            .unwrap()
            .matches("-----BEGIN CERTIFICATE-----")
            .count(),
        2
    );

    // Back up as PKCS#12 under a new password: OpenSSL reads PBES2/AES-256.
    let backup = d.join("backup.p12");
    let out = run(
        common::smime().args([
            "keys",
            "export",
            "--key",
            s(&key_file),
            "--cert",
            s(&cert_file),
            "--p12",
            s(&backup),
            "--password",
            "old secret",
        ]),
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = run(
        openssl().args([
            "pkcs12",
            "-info",
            "-noout",
            "-in",
            s(&backup),
            "-passin",
            "pass:old secret",
        ]),
        b"",
    );
    assert!(info.status.success());
    let info = String::from_utf8_lossy(&info.stderr);
    assert!(info.contains("MAC: sha256"), "{info}");
    assert_eq!(
        info.matches("PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256")
            .count(),
        2,
        "{info}"
    );
    // OpenSSL takes the key out and decrypts with it.
    let pem = run_ok(
        openssl().args([
            "pkcs12",
            "-in",
            s(&backup),
            "-passin",
            "pass:old secret",
            "-nodes",
            "-nocerts",
        ]),
        b"",
    );
    let plain_key = write(d, "plain.key", &pem);
    let msg = run_ok(
        &mut common::smime_cms(&["encrypt", "-r", p.alice.cert()]),
        CONTENT,
    );
    let plain = run_ok(
        openssl().args([
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-inkey",
            s(&plain_key),
        ]),
        &msg,
    );
    assert_eq!(plain, CONTENT);
    // The wrong certificate for the key.
    let e = smime_fails(
        &[
            "keys",
            "export",
            "--key",
            p.alice.key(),
            "--cert",
            p.bob.cert(),
            "--p12",
            s(&d.join("x.p12")),
            "--password",
            "x",
        ],
        b"",
    );
    assert!(
        e.contains("none of the --cert certificates is for the key"),
        "{e}"
    );
    // Never over an existing file.
    let e = smime_fails(
        &[
            "keys",
            "export",
            "--key",
            p.alice.key(),
            "--cert",
            p.alice.cert(),
            "--p12",
            s(&backup),
            "--password",
            "x",
        ],
        b"",
    );
    assert!(e.contains("exists already"), "{e}");
    // And the backup imports again.
    let again = d.join("again");
    run_ok(
        common::smime().args([
            "keys",
            "import",
            s(&backup),
            "--password",
            "old secret",
            "--to-dir",
            s(&again),
        ]),
        b"",
    );
    let msg = openssl_encrypt(&p.alice.cert, CONTENT, false);
    let plain = run_ok(
        common::smime()
            .args(["decrypt", "--key", s(&again), "--inform", "der"])
            .env("PW", "old secret")
            .args(["--password-source", "env:PW"]),
        &msg,
    );
    assert_eq!(plain, CONTENT);
}

/// Set in the child process of [`a_failed_import_leaves_nothing_on_the_token`].
const ROLLBACK_CHILD: &str = "SMIME_TEST_P12_ROLLBACK_CHILD";

#[test]
fn a_failed_import_leaves_nothing_on_the_token() {
    if !have_softhsm() {
        return;
    }
    let p = pki();
    let hsm = Hsm::new(&["p12-rollback"]);
    let f = make_p12(&hsm.dir, "r.p12", &p.alice, &[], "pw", None, false);
    // The import runs in a child process of this test binary, with the
    // token's configuration in its environment.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "import_rollback_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("SOFTHSM2_CONF", &hsm.conf)
        .env(ROLLBACK_CHILD, s(&f))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("rollback child: import failed: "), "{text}");
    assert!(
        text.contains("the 3 object(s) created so far were removed"),
        "{text}"
    );
    assert!(hsm.objects("p12-rollback").is_empty(), "{text}");
    // And a good import afterwards works: nothing was left in the way.
    run_ok(
        hsm.smime().args([
            "keys",
            "import",
            s(&f),
            "--password",
            "pw",
            "--to",
            &hsm.uri("p12-rollback", ""),
        ]),
        b"",
    );
    assert_eq!(hsm.objects("p12-rollback").len(), 3);
}

/// The child of [`a_failed_import_leaves_nothing_on_the_token`]: an import
/// whose last object (a chain certificate that is not one) fails after the
/// key pair and the certificate were created.
#[test]
fn import_rollback_child() {
    let Ok(file) = std::env::var(ROLLBACK_CHILD) else {
        return;
    };
    let contents = smime_cli::p12::read_p12(Path::new(&file), "pw").unwrap();
    let material = smime_cli::p12::key_material(&contents.key).unwrap();
    let uri = smime_pkcs11::Pkcs11Uri::parse(&format!(
        "pkcs11:token=p12-rollback?pin-value={}&module-path={}",
        p12kit::PIN,
        p12kit::MODULE
    ))
    .unwrap();
    let bad_chain = vec![b"not a certificate".to_vec()];
    let request = smime_pkcs11::ImportRequest {
        key: &material,
        id: b"\x42",
        label: "rollback",
        certificate: &contents.cert,
        chain: &bad_chain,
    };
    let err = smime_pkcs11::import(&uri, &smime_pkcs11::OpenOptions::default(), &request)
        .expect_err("a chain certificate that does not parse fails the import");
    println!("rollback child: import failed: {err}");
}
