//! Chip cards through the real PC/SC stack: the emulated card
//! (`smime-testcard`) plugged into vsmartcard's vpcd reader, pcscd in
//! between, and OpenSSL as the peer. The test command starts pcscd with the
//! vpcd reader; without it these tests skip locally and fail under CI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command as Cmd;
use std::sync::OnceLock;

use smime_core::backend::BackendErrorKind;
use smime_core::cms::enveloped::{DecryptOptions, EnvelopedDataDecoder};
use smime_core::cms::sign::SignOptions;
use smime_core::mime::{Boundary, MultipartSignedWriter};
use smime_pcsc::Pin;
use smime_pcsc::card::{
    CardKey, Iso7816Card, Iso7816Config, KeyRole, OpenPgpCard, PinEntry, PinStatus,
};
use smime_pcsc::pcsc::Reader;
use smime_testcard::fixture::{Material, material};
use smime_testcard::{CardConfig, Plugged, Profile, READER, VirtualCard, lock_vpcd, pcscd_ready};

const MSG: &[u8] = b"Content-Type: text/plain\r\n\r\nSigned on a chip card.\r\n";

fn keys() -> &'static Material {
    static M: OnceLock<Material> = OnceLock::new();
    M.get_or_init(|| material(&PathBuf::from(env!("CARGO_TARGET_TMPDIR"))))
}

fn iso_config(aid: &[u8]) -> Iso7816Config<'_> {
    Iso7816Config { aid: Some(aid), ..Iso7816Config::default() }
}

fn pin(p: &str) -> PinEntry {
    PinEntry::Pin(Pin::new(p.as_bytes()).unwrap())
}

/// A detached multipart/signed mail made with `key`.
fn sign_mail<S: smime_core::backend::Signer>(key: S) -> Result<Vec<u8>, smime_core::Error> {
    let mut signers = [key];
    let mut scratch = vec![0u8; 16 * 1024];
    let boundary = Boundary::random(&mut getrandom::SysRng).unwrap();
    let mut w = MultipartSignedWriter::new(
        Vec::new(),
        &mut signers,
        &mut scratch,
        &SignOptions::default(),
        boundary,
    )?;
    embedded_io::Write::write_all(&mut w, MSG)?;
    w.finish()
}

fn openssl_verify(mail: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("signed.eml");
    std::fs::write(&p, mail).unwrap();
    let o = Cmd::new("openssl")
        .args(["smime", "-verify", "-noverify", "-in"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, MSG, "the content openssl verified");
}

fn openssl_encrypt(cert: &std::path::Path, extra: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("msg");
    let out = dir.path().join("msg.p7m");
    std::fs::write(&input, MSG).unwrap();
    let o = Cmd::new("openssl")
        .args(["cms", "-encrypt", "-binary", "-outform", "DER", "-in"])
        .arg(&input)
        .arg("-out")
        .arg(&out)
        .args(extra)
        .arg("-recip")
        .arg(cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::read(&out).unwrap()
}

fn decrypt<K: smime_core::backend::KeyTransDecrypter>(
    msg: &[u8],
    key: K,
) -> Result<Vec<u8>, smime_core::Error> {
    let mut scratch = vec![0u8; 16 * 1024];
    let mut keys = [key];
    let mut dec = EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
        Vec::new(),
        &mut keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions::default(),
    );
    dec.write(msg)?;
    dec.finish().map(|(out, _)| out)
}

/// Plugs a card, runs `f` with the reader, unplugs.
fn with_card(cfg: CardConfig, f: impl FnOnce(&mut Reader, &Plugged)) -> Option<Plugged> {
    let card = VirtualCard::new(cfg);
    let plugged = Plugged::insert(card);
    let mut reader = Reader::connect("Virtual PCD").unwrap();
    assert_eq!(reader.name(), READER);
    f(&mut reader, &plugged);
    drop(reader);
    Some(plugged)
}

#[test]
fn iso_card_signs_mail_openssl_verifies() {
    if !pcscd_ready("iso_card_signs_mail_openssl_verifies") {
        return;
    }
    let _lock = lock_vpcd();
    let cfg = CardConfig::new(Profile::Iso7816, keys().slot("rsa2048"));
    let aid = cfg.aid.clone();
    let plugged = with_card(cfg, |reader, plugged| {
        let tx = reader.transaction().unwrap();
        let card = Iso7816Card::new(tx, iso_config(&aid));
        let mut key = CardKey::open(card, KeyRole::Signature, pin("123456")).unwrap();
        assert_eq!(key.pin_status().unwrap(), PinStatus::TriesLeft(3));
        assert_eq!(key.certificate_der(), keys().slot("rsa2048").cert);
        let mail = sign_mail(&mut key).unwrap();
        openssl_verify(&mail);
        // A second signature presents the PIN again (the card wants it for
        // each signature), once.
        let mail = sign_mail(&mut key).unwrap();
        openssl_verify(&mail);
        let o = plugged.observed.lock().unwrap();
        assert_eq!((o.verifies, o.signatures, o.tries_left), (2, 2, 3));
    })
    .unwrap();
    plugged.remove();
}

#[test]
fn openpgp_card_decrypts_what_openssl_encrypts() {
    if !pcscd_ready("openpgp_card_decrypts_what_openssl_encrypts") {
        return;
    }
    let _lock = lock_vpcd();
    let m = keys();
    let mut cfg = CardConfig::new(Profile::OpenPgp, m.slot("rsa2048"));
    cfg.decrypt = Some(m.slot("other"));
    let plugged = with_card(cfg, |reader, plugged| {
        let tx = reader.transaction().unwrap();
        let mut key =
            CardKey::open(OpenPgpCard::new(tx), KeyRole::Decryption, pin("123456")).unwrap();
        // The decryption key's certificate, not the signature key's.
        assert_eq!(key.certificate_der(), m.slot("other").cert);
        for cipher in ["-aes256", "-des3"] {
            let msg = openssl_encrypt(&m.path("other", "cert.pem"), &[cipher]);
            assert_eq!(decrypt(&msg, &mut key).unwrap(), MSG, "{cipher}");
        }
        // Mail for the signature key's certificate is not for this key.
        let msg = openssl_encrypt(&m.path("rsa2048", "cert.pem"), &[]);
        let e = decrypt(&msg, &mut key).unwrap_err();
        assert_eq!(e.kind(), smime_core::ErrorKind::NoMatchingRecipient);
        let o = plugged.observed.lock().unwrap();
        assert_eq!(o.deciphers, 2);
    })
    .unwrap();
    plugged.remove();
}

#[test]
fn rsa4096_through_extended_apdus_and_chaining() {
    if !pcscd_ready("rsa4096_through_extended_apdus_and_chaining") {
        return;
    }
    let m = keys();
    for extended in [true, false] {
        let _lock = lock_vpcd();
        let mut cfg = CardConfig::new(Profile::Iso7816, m.slot("rsa4096"));
        cfg.extended = extended;
        let aid = cfg.aid.clone();
        let plugged = with_card(cfg, |reader, plugged| {
            let tx = reader.transaction().unwrap();
            let config = Iso7816Config { extended, ..iso_config(&aid) };
            let card = Iso7816Card::new(tx, config);
            let mut key = CardKey::open(card, KeyRole::Signature, pin("123456")).unwrap();
            // The 2 KiB-odd certificate came in READ BINARY chunks.
            assert_eq!(key.certificate_der(), m.slot("rsa4096").cert);
            openssl_verify(&sign_mail(&mut key).unwrap());
            let msg = openssl_encrypt(&m.path("rsa4096", "cert.pem"), &[]);
            assert_eq!(decrypt(&msg, &mut key).unwrap(), MSG);

            let o = plugged.observed.lock().unwrap();
            let decipher: Vec<&Vec<u8>> =
                o.commands.iter().filter(|c| c[1] == 0x2A && c[2] == 0x80).collect();
            if extended {
                // One extended APDU: 00 2A 80 86 00 02 01 (Lc = 513).
                assert_eq!(decipher.len(), 1);
                assert_eq!(&decipher[0][..7], &[0x00, 0x2A, 0x80, 0x86, 0x00, 0x02, 0x01]);
            } else {
                // A chain: 10 2A 80 86 FF .., 10 .., 00 .. (513 = 255 + 255 + 3).
                assert_eq!(decipher.len(), 3);
                assert_eq!(decipher[0][0], 0x10);
                assert_eq!(decipher[1][0], 0x10);
                assert_eq!(decipher[2][0], 0x00);
                assert_eq!(decipher[2][4], 3);
                // The 512-byte signature came back as 256 bytes and 61 00,
                // then GET RESPONSE.
                assert!(o.commands.iter().any(|c| c[1] == 0xC0));
            }
        })
        .unwrap();
        plugged.remove();
    }
}

#[test]
fn wrong_pin_counts_down_and_is_never_retried() {
    if !pcscd_ready("wrong_pin_counts_down_and_is_never_retried") {
        return;
    }
    let _lock = lock_vpcd();
    let cfg = CardConfig::new(Profile::OpenPgp, keys().slot("rsa2048"));
    let plugged = with_card(cfg, |reader, plugged| {
        let tx = reader.transaction().unwrap();
        let mut key =
            CardKey::open(OpenPgpCard::new(tx), KeyRole::Signature, pin("654321")).unwrap();
        let e = sign_mail(&mut key).unwrap_err();
        assert_eq!(
            e.kind(),
            smime_core::ErrorKind::Backend(BackendErrorKind::PinIncorrect { tries_left: Some(2) }),
            "{e:?}"
        );
        // The refused PIN is gone: the next operation asks for one instead
        // of using up another try.
        let e = sign_mail(&mut key).unwrap_err();
        assert_eq!(
            e.kind(),
            smime_core::ErrorKind::Backend(BackendErrorKind::PinRequired),
            "{e:?}"
        );
        // Asking the tries left costs none.
        assert_eq!(key.pin_status().unwrap(), PinStatus::TriesLeft(2));
        assert_eq!(key.pin_status().unwrap(), PinStatus::TriesLeft(2));
        let o = plugged.observed.lock().unwrap();
        assert_eq!((o.verifies, o.tries_left, o.signatures), (1, 2, 0));
    })
    .unwrap();
    plugged.remove();
}

#[test]
fn blocked_pin_is_reported() {
    if !pcscd_ready("blocked_pin_is_reported") {
        return;
    }
    let _lock = lock_vpcd();
    let mut cfg = CardConfig::new(Profile::Iso7816, keys().slot("rsa2048"));
    cfg.tries = 1;
    let aid = cfg.aid.clone();
    let plugged = with_card(cfg, |reader, plugged| {
        let mut tx = reader.transaction().unwrap();
        {
            let card = Iso7816Card::new(&mut tx, iso_config(&aid));
            let mut key = CardKey::open(card, KeyRole::Signature, pin("000000")).unwrap();
            let e = sign_mail(&mut key).unwrap_err();
            assert_eq!(
                e.kind(),
                smime_core::ErrorKind::Backend(BackendErrorKind::PinLocked),
                "{e:?}"
            );
            assert_eq!(key.pin_status().unwrap(), PinStatus::Blocked);
        }
        // The right PIN does not help any more.
        let card = Iso7816Card::new(&mut tx, iso_config(&aid));
        let mut key = CardKey::open(card, KeyRole::Signature, pin("123456")).unwrap();
        let e = sign_mail(&mut key).unwrap_err();
        assert_eq!(e.kind(), smime_core::ErrorKind::Backend(BackendErrorKind::PinLocked));
        assert_eq!(plugged.observed.lock().unwrap().signatures, 0);
    })
    .unwrap();
    plugged.remove();
}

#[test]
fn card_removed_in_the_middle_of_a_signature() {
    if !pcscd_ready("card_removed_in_the_middle_of_a_signature") {
        return;
    }
    let _lock = lock_vpcd();
    let cfg = CardConfig::new(Profile::Iso7816, keys().slot("rsa2048"));
    let aid = cfg.aid.clone();
    let card = VirtualCard::new(cfg);
    let plugged = Plugged::insert(card);
    let mut reader = Reader::connect("Virtual PCD").unwrap();
    {
        let tx = reader.transaction().unwrap();
        let card = Iso7816Card::new(tx, iso_config(&aid));
        let mut key = CardKey::open(card, KeyRole::Signature, pin("123456")).unwrap();
        // VERIFY and MSE go through; the card is gone during the PSO.
        plugged.pull_at(3);
        let e = sign_mail(&mut key).unwrap_err();
        let smime_core::ErrorKind::Backend(kind) = e.kind() else { panic!("{e:?}") };
        assert_eq!(kind, BackendErrorKind::Removed, "{e:?}");
        assert_eq!(plugged.observed.lock().unwrap().signatures, 0);
    }
    drop(reader);
    plugged.remove();
}

#[test]
fn openpgp_ec_card_signs_and_opens_ecdh_mail() {
    if !pcscd_ready("openpgp_ec_card_signs_and_opens_ecdh_mail") {
        return;
    }
    let _lock = lock_vpcd();
    let m = keys();
    let cfg = CardConfig::new(Profile::OpenPgp, m.slot("ec256"));
    let plugged = with_card(cfg, |reader, plugged| {
        let mut tx = reader.transaction().unwrap();
        {
            let mut key =
                CardKey::open(OpenPgpCard::new(&mut tx), KeyRole::Signature, pin("123456"))
                    .unwrap();
            openssl_verify(&sign_mail(&mut key).unwrap());
        }
        // ECDH ephemeral-static (RFC 5753) through PSO:DECIPHER with the
        // ephemeral point; CBC and GCM.
        let mut key =
            CardKey::open(OpenPgpCard::new(&mut tx), KeyRole::Decryption, pin("123456")).unwrap();
        for cipher in ["-aes128", "-aes-256-gcm"] {
            let msg = openssl_encrypt(&m.path("ec256", "cert.pem"), &[cipher]);
            assert_eq!(decrypt(&msg, &mut key).unwrap(), MSG, "{cipher}");
        }
        let o = plugged.observed.lock().unwrap();
        assert_eq!((o.signatures, o.deciphers), (1, 2));
    })
    .unwrap();
    plugged.remove();
}
