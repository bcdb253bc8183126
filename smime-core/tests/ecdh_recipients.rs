//! ECDH (KeyAgreeRecipientInfo) and KEK (KEKRecipientInfo) recipients through
//! the EnvelopedData / AuthEnvelopedData decoder and encoder: OpenSSL both
//! ways (P-256, P-384), mixed RSA + EC recipients, Bouncy Castle samples, an
//! OpenSSL KEK message, AES-GCM to an EC recipient, wrong keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ALL_CHUNKINGS, Chunking, pieces};
use smime_core::ErrorKind;
use smime_core::agree::kekri::KekKey;
use smime_core::backend::{
    AgreementCurve, BackendError, BackendErrorKind, ErrorType, KeyTransAlgorithm,
    KeyTransDecrypter, RecipientId,
};
use smime_core::cipher::ContentCipher;
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, DecryptReport, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, Recipient, decrypt_authenticated,
};
use smime_core::error::KeyUsageError;
use smime_core::soft::SoftRsaKey;
use smime_core::soft_ec::SoftEcKey;
use smime_core::x509::CertificateRef;

const BC_ECDH: &str = "bc-java/pkix/src/test/resources/org/bouncycastle/cms/test/ecdh";

/// Any of the keys these tests offer, as one decrypter type.
enum AnyKey<'a> {
    Rsa(SoftRsaKey),
    Ec(SoftEcKey<'a>),
    Kek(KekKey<'a>),
}

impl ErrorType for AnyKey<'_> {
    type Error = BackendErrorKind;
}

impl KeyTransDecrypter for AnyKey<'_> {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        match self {
            Self::Rsa(k) => k.recipient_id(),
            Self::Ec(k) => KeyTransDecrypter::recipient_id(k),
            Self::Kek(k) => k.recipient_id(),
        }
    }

    fn decrypt_key(
        &mut self,
        algorithm: &KeyTransAlgorithm<'_>,
        encrypted_key: &[u8],
        out: &mut [u8],
    ) -> Result<usize, BackendErrorKind> {
        match self {
            Self::Rsa(k) => k.decrypt_key(algorithm, encrypted_key, out).map_err(|e| e.kind()),
            Self::Ec(k) => k.decrypt_key(algorithm, encrypted_key, out),
            Self::Kek(k) => k.decrypt_key(algorithm, encrypted_key, out),
        }
    }

    fn agreement_curve(&self) -> Option<AgreementCurve> {
        match self {
            Self::Ec(k) => k.agreement_curve(),
            _ => None,
        }
    }

    fn shared_secret(
        &mut self,
        peer_public: &[u8],
        out: &mut [u8],
    ) -> Option<Result<usize, BackendErrorKind>> {
        match self {
            Self::Ec(k) => KeyTransDecrypter::shared_secret(k, peer_public, out),
            _ => None,
        }
    }

    fn kek(&self) -> Option<(&[u8], &[u8])> {
        match self {
            Self::Kek(k) => k.kek(),
            _ => None,
        }
    }
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn pem_or_der(data: &[u8]) -> Vec<u8> {
    if data.starts_with(b"-----BEGIN") {
        pem_rfc7468::decode_vec(data).expect("PEM").1
    } else {
        data.to_vec()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An EC key (`curve`: P-256 or P-384) and self-signed certificate made by
/// OpenSSL in `dir`; returns the key file, the certificate file, the PKCS#8
/// DER and the certificate DER.
fn ec_key(dir: &Path, name: &str, curve: &str) -> (PathBuf, PathBuf, Vec<u8>, Vec<u8>) {
    let k = dir.join(format!("{name}.key"));
    let c = dir.join(format!("{name}.pem"));
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        &format!("ec_paramgen_curve:{curve}"),
        "-out",
        s(&k),
    ]);
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        s(&k),
        "-subj",
        &format!("/CN={name}"),
        "-out",
        s(&c),
    ]);
    let p8 = openssl(&["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", s(&k)]);
    let cert = pem_or_der(&std::fs::read(&c).unwrap());
    (k, c, p8, cert)
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Decrypts `msg` with `keys`, fed as `c` says.
fn decrypt_with(
    msg: &[u8],
    keys: &mut [AnyKey<'_>],
    c: Chunking,
) -> Result<(Vec<u8>, DecryptReport), smime_core::Error> {
    let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
    let mut dec = EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
        Vec::new(),
        keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions::default(),
    );
    for p in pieces(msg, c) {
        dec.write(p)?;
    }
    dec.finish()
}

/// Decrypts under every chunking and checks they agree.
fn decrypt_all(
    msg: &[u8],
    keys: &mut [AnyKey<'_>],
) -> Result<(Vec<u8>, DecryptReport), smime_core::Error> {
    let first = decrypt_with(msg, keys, Chunking::Whole);
    for c in ALL_CHUNKINGS {
        let r = decrypt_with(msg, keys, c);
        match (&first, &r) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "chunking {c:?} changed the output"),
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "chunking {c:?} changed the error"),
            _ => panic!("chunking {c:?}: {first:?} vs {r:?}"),
        }
    }
    first
}

fn encrypt(
    recipients: &[Recipient<'_>],
    cipher: ContentCipher,
    msg: &[u8],
    definite: bool,
) -> Vec<u8> {
    let options = EncryptOptions {
        cipher,
        content_len: definite.then_some(msg.len() as u64),
        ..Default::default()
    };
    let mut enc = EnvelopedDataEncoder::<Vec<u8>>::new(
        Vec::new(),
        recipients,
        &options,
        &mut getrandom::SysRng,
    )
    .unwrap();
    for part in msg.chunks(333) {
        enc.write(part).unwrap();
    }
    enc.finish().unwrap()
}

/// The EnvelopedData version and the tags of its recipient infos.
fn version_and_kinds(msg: &[u8]) -> (u32, Vec<u8>) {
    use smime_core::ber::{SliceReader, Tag};
    let ci = SliceReader::new(msg).read().unwrap();
    let mut r = ci.reader();
    r.read_expect(Tag::OID).unwrap();
    let ed = r.read().unwrap().reader().read().unwrap();
    let mut r = ed.reader();
    let v = r.read_expect(Tag::INTEGER).unwrap().small_uint().unwrap();
    let mut ris = r.read_expect(Tag::SET).unwrap().reader();
    let mut kinds = Vec::new();
    while let Some(ri) = ris.next_tlv().unwrap() {
        kinds.push(ri.raw[0]);
    }
    (v, kinds)
}

#[test]
fn openssl_to_ours_p256_p384() {
    let dir = tempfile::tempdir().unwrap();
    for (name, curve, cipher) in
        [("p256", "P-256", "-aes256"), ("p384", "P-384", "-aes256"), ("p256c", "P-256", "-aes128")]
    {
        let (_k, c, p8, cert) = ec_key(dir.path(), name, curve);
        let msg_plain = content(1500);
        let input = dir.path().join("in.bin");
        std::fs::write(&input, &msg_plain).unwrap();
        let msg = openssl(&[
            "cms",
            "-encrypt",
            "-binary",
            cipher,
            "-outform",
            "DER",
            "-in",
            s(&input),
            "-recip",
            s(&c),
        ]);
        let key = SoftEcKey::from_pkcs8_der(&p8).unwrap().with_certificate(&cert).unwrap();
        let (out, rep) = decrypt_all(&msg, &mut [AnyKey::Ec(key)]).unwrap();
        assert_eq!(out, msg_plain, "{name}");
        assert_eq!(rep.key_index, 0);
        // Without its certificate the key is tried on every key-agreement
        // recipient (the key wrap's integrity check tells).
        let key = SoftEcKey::from_pkcs8_der(&p8).unwrap();
        let (out, _) = decrypt_all(&msg, &mut [AnyKey::Ec(key)]).unwrap();
        assert_eq!(out, msg_plain, "{name} without certificate");
    }
}

#[test]
fn ours_to_openssl_p256_p384() {
    let dir = tempfile::tempdir().unwrap();
    for (name, curve) in [("p256", "P-256"), ("p384", "P-384")] {
        let (k, _c, p8, cert) = ec_key(dir.path(), name, curve);
        for (cipher, definite) in
            [(ContentCipher::Aes256Cbc, true), (ContentCipher::Aes128Cbc, false)]
        {
            let msg_plain = content(2000);
            let cr = CertificateRef::from_der(&cert).unwrap();
            let msg = encrypt(&[Recipient::new(cr)], cipher, &msg_plain, definite);
            assert_eq!(version_and_kinds(&msg), (2, vec![0xA1]));
            let m = dir.path().join("ours.der");
            std::fs::write(&m, &msg).unwrap();
            let plain = openssl(&[
                "cms",
                "-decrypt",
                "-binary",
                "-inform",
                "DER",
                "-in",
                s(&m),
                "-inkey",
                s(&k),
            ]);
            assert_eq!(plain, msg_plain, "{name} {cipher:?}");
            // And our own decoder.
            let key = SoftEcKey::from_pkcs8_der(&p8).unwrap().with_certificate(&cert).unwrap();
            let (out, _) = decrypt_all(&msg, &mut [AnyKey::Ec(key)]).unwrap();
            assert_eq!(out, msg_plain);
        }
    }
}

#[test]
fn mixed_rsa_and_ec_recipients_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let (k, c, p8, cert) = ec_key(dir.path(), "ec", "P-256");
    let bob = common::bob_cert();
    let msg_plain = content(777);

    // Ours, to Bob (RSA) and the EC key.
    let recipients = [
        Recipient::new(CertificateRef::from_der(&bob).unwrap()),
        Recipient::new(CertificateRef::from_der(&cert).unwrap()),
    ];
    let msg = encrypt(&recipients, ContentCipher::Aes256Cbc, &msg_plain, true);
    assert_eq!(version_and_kinds(&msg), (2, vec![0x30, 0xA1]));
    let ec = || SoftEcKey::from_pkcs8_der(&p8).unwrap().with_certificate(&cert).unwrap();
    let (out, rep) = decrypt_all(&msg, &mut [AnyKey::Ec(ec())]).unwrap();
    assert_eq!(out, msg_plain);
    assert_eq!(rep.key_index, 0);
    assert_eq!(rep.recipient_count, 2);
    let (out, rep) =
        decrypt_all(&msg, &mut [AnyKey::Ec(ec()), AnyKey::Rsa(common::bob_key())]).unwrap();
    assert_eq!(out, msg_plain);
    assert_eq!(rep.key_index, 1, "Bob's key-transport recipient comes first");
    let (out, _) = decrypt_all(&msg, &mut [AnyKey::Rsa(common::bob_key())]).unwrap();
    assert_eq!(out, msg_plain);
    let m = dir.path().join("mixed.der");
    std::fs::write(&m, &msg).unwrap();
    assert_eq!(
        openssl(&[
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            s(&m),
            "-inkey",
            s(&k),
            "-recip",
            s(&c)
        ]),
        msg_plain
    );

    // OpenSSL's, to both.
    let bob_pem = dir.path().join("bob.pem");
    std::fs::write(&bob_pem, &bob).unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, &msg_plain).unwrap();
    let msg = openssl(&[
        "cms",
        "-encrypt",
        "-binary",
        "-aes256",
        "-outform",
        "DER",
        "-in",
        s(&input),
        "-recip",
        s(&bob_pem),
        "-recip",
        s(&c),
    ]);
    let (out, rep) =
        decrypt_all(&msg, &mut [AnyKey::Rsa(common::alice_key()), AnyKey::Ec(ec())]).unwrap();
    assert_eq!(out, msg_plain);
    assert_eq!(rep.key_index, 1);
    let (out, rep) = decrypt_all(&msg, &mut [AnyKey::Rsa(common::bob_key())]).unwrap();
    assert_eq!(out, msg_plain);
    assert_eq!(rep.key_index, 0);
}

#[test]
fn bouncy_castle_ecdh_samples_through_the_decoder() {
    let key_pem = common::interop(&format!("{BC_ECDH}/ecc.key"));
    let p8 = openssl(&["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", s(&key_pem)]);
    let cert = pem_or_der(&common::read(&format!("{BC_ECDH}/ecc.crt")));
    let expected = common::read(&format!("{BC_ECDH}/sess.txt"));
    for sfx in ["1", "2", "3", "4", "5", "6", "7", "8", "A", "B", "C", "D", "E", "F", "G", "H"] {
        let msg = pem_or_der(&common::read(&format!("{BC_ECDH}/encSess{sfx}.asc")));
        for with_cert in [true, false] {
            let mut key = SoftEcKey::from_pkcs8_der(&p8).unwrap();
            if with_cert {
                key = key.with_certificate(&cert).unwrap();
            }
            let (out, rep) = decrypt_all(&msg, &mut [AnyKey::Ec(key)]).unwrap();
            assert_eq!(
                out.strip_suffix(b"\r\n").unwrap_or(&out),
                expected.trim_ascii_end(),
                "{sfx}"
            );
            assert_eq!(rep.key_index, 0);
        }
    }
}

#[test]
fn openssl_kek_message_with_kek_key() {
    let dir = tempfile::tempdir().unwrap();
    let msg_plain = content(999);
    let input = dir.path().join("in.bin");
    std::fs::write(&input, &msg_plain).unwrap();
    let kek: Vec<u8> = (0u8..32).collect();
    let hex: String = kek.iter().map(|b| format!("{b:02X}")).collect();
    let msg = openssl(&[
        "cms",
        "-encrypt",
        "-binary",
        "-aes256",
        "-outform",
        "DER",
        "-in",
        s(&input),
        "-secretkey",
        &hex,
        "-secretkeyid",
        "C0FEE0",
    ]);
    let id = [0xC0, 0xFE, 0xE0];
    let (out, rep) = decrypt_all(&msg, &mut [AnyKey::Kek(KekKey { id: &id, key: &kek })]).unwrap();
    assert_eq!(out, msg_plain);
    assert_eq!(rep.key_index, 0);
    // Beside an RSA key that is not a recipient.
    let (out, rep) = decrypt_all(
        &msg,
        &mut [AnyKey::Rsa(common::bob_key()), AnyKey::Kek(KekKey { id: &id, key: &kek })],
    )
    .unwrap();
    assert_eq!(out, msg_plain);
    assert_eq!(rep.key_index, 1);
    // Another identifier: no recipient.
    let e =
        decrypt_all(&msg, &mut [AnyKey::Kek(KekKey { id: &[1, 2, 3], key: &kek })]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoMatchingRecipient);
    // The right identifier, a wrong key: the uniform failure.
    let mut bad = kek.clone();
    bad[0] ^= 1;
    let e = decrypt_all(&msg, &mut [AnyKey::Kek(KekKey { id: &id, key: &bad })]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecryptionFailed);
}

#[test]
fn aes_gcm_auth_enveloped_to_ec_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for (name, curve, cipher) in
        [("p256", "P-256", ContentCipher::Aes128Gcm), ("p384", "P-384", ContentCipher::Aes256Gcm)]
    {
        let (k, _c, p8, cert) = ec_key(dir.path(), name, curve);
        let msg_plain = content(1234);
        let msg = encrypt(
            &[Recipient::new(CertificateRef::from_der(&cert).unwrap())],
            cipher,
            &msg_plain,
            true,
        );
        assert_eq!(version_and_kinds(&msg), (0, vec![0xA1]), "AuthEnvelopedData stays version 0");
        let key = || SoftEcKey::from_pkcs8_der(&p8).unwrap().with_certificate(&cert).unwrap();
        let (out, rep) = decrypt_all(&msg, &mut [AnyKey::Ec(key())]).unwrap();
        assert_eq!(out, msg_plain);
        assert!(rep.authenticated);
        let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
        let (out, rep) = decrypt_authenticated(
            &msg,
            &mut [AnyKey::Ec(key())],
            getrandom::SysRng,
            &mut scratch,
            DecryptOptions::default(),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(out, msg_plain);
        assert!(rep.authenticated);
        let m = dir.path().join("gcm.der");
        std::fs::write(&m, &msg).unwrap();
        let plain = openssl(&[
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            s(&m),
            "-inkey",
            s(&k),
        ]);
        assert_eq!(plain, msg_plain, "{name}");
    }
}

#[test]
fn wrong_ec_key_fails_uniformly() {
    let dir = tempfile::tempdir().unwrap();
    let (_k, _c, _p8, cert) = ec_key(dir.path(), "right", "P-256");
    let (_k2, _c2, p8_other, cert_other) = ec_key(dir.path(), "other", "P-256");
    let (_k3, _c3, p8_384, _cert_384) = ec_key(dir.path(), "p384", "P-384");
    let msg_plain = content(100);
    for cipher in [ContentCipher::Aes256Cbc, ContentCipher::Aes256Gcm] {
        let msg = encrypt(
            &[Recipient::new(CertificateRef::from_der(&cert).unwrap())],
            cipher,
            &msg_plain,
            false,
        );
        // Another key with its own certificate: not named.
        let other =
            SoftEcKey::from_pkcs8_der(&p8_other).unwrap().with_certificate(&cert_other).unwrap();
        let e = decrypt_all(&msg, &mut [AnyKey::Ec(other)]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NoMatchingRecipient);
        // Another key without certificate: tried, and the failure is uniform.
        let other = SoftEcKey::from_pkcs8_der(&p8_other).unwrap();
        let e = decrypt_all(&msg, &mut [AnyKey::Ec(other)]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DecryptionFailed);
        // A key on another curve, without certificate: the originator key
        // is not a point of its curve, hidden as any failed unwrap.
        let other = SoftEcKey::from_pkcs8_der(&p8_384).unwrap();
        let e = decrypt_all(&msg, &mut [AnyKey::Ec(other)]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DecryptionFailed);
        // An RSA key: no key-transport recipient.
        let e = decrypt_all(&msg, &mut [AnyKey::Rsa(common::bob_key())]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NoMatchingRecipient);
    }
}

#[test]
fn recipient_check_key_types_and_usage() {
    let dir = tempfile::tempdir().unwrap();
    let policy = smime_core::cipher::Policy::default();
    let (k, _c, _p8, cert) = ec_key(dir.path(), "ec", "P-256");
    Recipient::new(CertificateRef::from_der(&cert).unwrap()).check(&policy).unwrap();
    // keyUsage without keyAgreement is refused unless the policy waives it.
    let c2 = dir.path().join("sig.pem");
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        s(&k),
        "-subj",
        "/CN=sig",
        "-addext",
        "keyUsage=critical,digitalSignature",
        "-out",
        s(&c2),
    ]);
    let sig = pem_or_der(&std::fs::read(&c2).unwrap());
    let r = Recipient::new(CertificateRef::from_der(&sig).unwrap());
    assert_eq!(
        r.check(&policy).unwrap_err().kind(),
        ErrorKind::KeyUsage(KeyUsageError::KeyAgreementNotAllowed)
    );
    let lax = smime_core::cipher::Policy { require_key_encipherment: false, ..policy };
    r.check(&lax).unwrap();
    let c3 = dir.path().join("ka.pem");
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        s(&k),
        "-subj",
        "/CN=ka",
        "-addext",
        "keyUsage=critical,keyAgreement",
        "-out",
        s(&c3),
    ]);
    let ka = pem_or_der(&std::fs::read(&c3).unwrap());
    Recipient::new(CertificateRef::from_der(&ka).unwrap()).check(&policy).unwrap();
    // An Ed25519 certificate cannot be encrypted to.
    let ed = dir.path().join("ed.key");
    let edc = dir.path().join("ed.pem");
    openssl(&["genpkey", "-algorithm", "ED25519", "-out", s(&ed)]);
    openssl(&["req", "-x509", "-new", "-key", s(&ed), "-subj", "/CN=ed", "-out", s(&edc)]);
    let edc = pem_or_der(&std::fs::read(&edc).unwrap());
    assert_eq!(
        Recipient::new(CertificateRef::from_der(&edc).unwrap()).check(&policy).unwrap_err().kind(),
        ErrorKind::KeyUsage(KeyUsageError::WrongKeyType)
    );
}
