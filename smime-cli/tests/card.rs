//! `smime` with keys on chip cards (`--key card:...`): the emulated card
//! (`smime-testcard`) in vsmartcard's vpcd reader, through pcscd, with
//! OpenSSL as the peer. The test command starts pcscd with the vpcd reader;
//! without it these tests skip locally and fail under CI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{openssl, run, run_ok, smime};
use smime_testcard::fixture::{Material, material};
use smime_testcard::{CardConfig, Plugged, Profile, VirtualCard, lock_vpcd, pcscd_ready};

const MAIL: &[u8] = b"From: Card Holder <card@example.org>\r\n\
To: bob@example.org\r\n\
Subject: signed on a card\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
Signed with the key on the chip card.\r\n";

fn keys() -> &'static Material {
    static M: OnceLock<Material> = OnceLock::new();
    M.get_or_init(|| material(&PathBuf::from(env!("CARGO_TARGET_TMPDIR"))))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// The `card:` key name of an ISO card configured as the test card is.
fn iso_key(cfg: &CardConfig, pin: &str) -> String {
    format!(
        "card:reader=Virtual PCD;profile=iso7816;aid={};cert-file=C000;pin-ref=81;pin-value={pin}",
        hex(&cfg.aid)
    )
}

#[test]
fn sign_mail_on_an_iso_card_openssl_and_smime_verify() {
    if !pcscd_ready("sign_mail_on_an_iso_card_openssl_and_smime_verify") {
        return;
    }
    let _lock = lock_vpcd();
    let cfg = CardConfig::new(Profile::Iso7816, keys().slot("rsa2048"));
    let key = iso_key(&cfg, "123456");
    let plugged = Plugged::insert(VirtualCard::new(cfg));
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail.eml");
    std::fs::write(&mail, MAIL).unwrap();
    let signed = dir.path().join("signed.eml");
    run_ok(
        smime().args(["sign", "--key", &key, "--in", s(&mail), "--out", s(&signed)]),
        b"",
    );
    // OpenSSL verifies the signature, and the signer is the card's
    // certificate.
    let signer = dir.path().join("signer.pem");
    run_ok(
        openssl().args([
            "smime",
            "-verify",
            "-noverify",
            "-in",
            s(&signed),
            "-signer",
            s(&signer),
        ]),
        b"",
    );
    let want = std::fs::read(keys().path("rsa2048", "cert.pem")).unwrap();
    assert_eq!(std::fs::read(&signer).unwrap(), want);
    // smime verify: the From address is the certificate's.
    let text = run_ok(
        smime().args([
            "verify",
            "--trust",
            s(&keys().path("rsa2048", "cert.pem")),
            "--in",
            s(&signed),
        ]),
        b"",
    );
    // The signed entity comes out (its text base64-encoded, as it was
    // signed).
    let text = String::from_utf8_lossy(&text).into_owned();
    assert!(text.contains("Subject: signed on a card"), "{text}");
    assert!(
        text.contains("U2lnbmVkIHdpdGggdGhlIGtleSBvbiB0aGUgY2hpcCBjYXJkLg0K"),
        "{text}"
    );
    let o = plugged.observed.lock().unwrap().clone();
    assert_eq!((o.verifies, o.signatures), (1, 1));
    drop(o);
    plugged.remove();
}

#[test]
fn decrypt_openssl_mail_with_an_openpgp_card() {
    if !pcscd_ready("decrypt_openssl_mail_with_an_openpgp_card") {
        return;
    }
    let _lock = lock_vpcd();
    let m = keys();
    let plugged = Plugged::insert(VirtualCard::new(CardConfig::new(
        Profile::OpenPgp,
        m.slot("rsa2048"),
    )));
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail.eml");
    std::fs::write(&mail, MAIL).unwrap();
    let enc = dir.path().join("enc.eml");
    run_ok(
        openssl().args([
            "smime",
            "-encrypt",
            "-aes256",
            "-in",
            s(&mail),
            "-out",
            s(&enc),
            s(&m.path("rsa2048", "cert.pem")),
        ]),
        b"",
    );
    let pin = dir.path().join("pin");
    std::fs::write(&pin, "123456\n").unwrap();
    let key = format!("card:reader=Virtual;pin-source={}", s(&pin));
    let out = run_ok(
        smime().args(["decrypt", "--key", &key, "--in", s(&enc)]),
        b"",
    );
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("Signed with the key on the chip card."),
        "{text}"
    );
    assert_eq!(plugged.observed.lock().unwrap().deciphers, 1);
    plugged.remove();
}

#[test]
fn decrypt_ecdh_mail_with_an_openpgp_ec_card() {
    if !pcscd_ready("decrypt_ecdh_mail_with_an_openpgp_ec_card") {
        return;
    }
    let _lock = lock_vpcd();
    let m = keys();
    let plugged = Plugged::insert(VirtualCard::new(CardConfig::new(
        Profile::OpenPgp,
        m.slot("ec256"),
    )));
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail.eml");
    std::fs::write(&mail, MAIL).unwrap();
    for cipher in ["-aes-128-cbc", "-aes-256-gcm"] {
        let enc = dir.path().join("enc.eml");
        run_ok(
            openssl().args([
                "cms",
                "-encrypt",
                cipher,
                "-in",
                s(&mail),
                "-out",
                s(&enc),
                "-recip",
                s(&m.path("ec256", "cert.pem")),
            ]),
            b"",
        );
        let key = "card:reader=Virtual;profile=openpgp;pin-value=123456";
        let out = run_ok(
            smime().args(["decrypt", "--key", key, "--in", s(&enc)]),
            b"",
        );
        assert!(
            String::from_utf8_lossy(&out).contains("on the chip card"),
            "{cipher}"
        );
    }
    plugged.remove();
}

#[test]
fn wrong_pin_fails_once_and_blocked_pin_is_not_asked() {
    if !pcscd_ready("wrong_pin_fails_once_and_blocked_pin_is_not_asked") {
        return;
    }
    let _lock = lock_vpcd();
    let mut cfg = CardConfig::new(Profile::Iso7816, keys().slot("rsa2048"));
    cfg.tries = 2;
    let wrong = iso_key(&cfg, "999999");
    let right = iso_key(&cfg, "123456");
    let plugged = Plugged::insert(VirtualCard::new(cfg));
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail.eml");
    std::fs::write(&mail, MAIL).unwrap();
    let signed = dir.path().join("signed.eml");
    let sign = |key: &str| {
        run(
            smime().args(["sign", "--key", key, "--in", s(&mail), "--out", s(&signed)]),
            b"",
        )
    };
    let out = sign(&wrong);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("wrong PIN (1 tries left"), "{err}");
    assert!(!signed.exists(), "no output after a failure");
    assert_eq!(
        plugged.observed.lock().unwrap().verifies,
        1,
        "one VERIFY, no retry"
    );
    // The last try goes: blocked.
    let out = sign(&wrong);
    assert!(String::from_utf8_lossy(&out.stderr).contains("blocked"));
    // Now even the right PIN is not sent: the tool sees the PIN is
    // blocked (without using a try) and says so.
    let out = sign(&right);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("PIN is blocked"), "{err}");
    let o = plugged.observed.lock().unwrap().clone();
    assert_eq!((o.verifies, o.signatures, o.tries_left), (2, 0, 0));
    plugged.remove();
}

#[test]
fn cards_lists_readers_certificates_and_tries() {
    if !pcscd_ready("cards_lists_readers_certificates_and_tries") {
        return;
    }
    let _lock = lock_vpcd();
    let m = keys();
    let mut cfg = CardConfig::new(Profile::OpenPgp, m.slot("rsa2048"));
    cfg.decrypt = Some(m.slot("ec256"));
    let plugged = Plugged::insert(VirtualCard::new(cfg));
    let out = run_ok(smime().args(["cards", "--reader", "Virtual"]), b"");
    let text = String::from_utf8_lossy(&out).into_owned();
    for want in [
        "Reader: Virtual PCD 00 00",
        "Profile: openpgp",
        "Signature key: ",
        "Card Holder rsa2048",
        "Decryption key: ",
        "Card Holder ec256",
        "PIN: 3 tries left",
        "Use: --key 'card:reader=Virtual PCD 00 00;profile=openpgp'",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    // Listing uses no PIN try.
    assert_eq!(plugged.observed.lock().unwrap().verifies, 0);
    plugged.remove();

    // An ISO card: its application named with --aid.
    let cfg = CardConfig::new(Profile::Iso7816, m.slot("rsa2048"));
    let aid = hex(&cfg.aid);
    let plugged = Plugged::insert(VirtualCard::new(cfg));
    let out = run_ok(
        smime().args(["cards", "--profile", "iso7816", "--aid", &aid]),
        b"",
    );
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(text.contains("Profile: iso7816"), "{text}");
    assert!(text.contains("Card Holder rsa2048"), "{text}");
    assert!(text.contains(&format!(";aid={aid}'")), "{text}");
    plugged.remove();
}
