//! EnvelopedData: round trips, real messages from other implementations,
//! chunking, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation, clippy::collapsible_if, clippy::manual_repeat_n)]

mod common;

use common::*;
use smime_core::ErrorKind;
use smime_core::backend::HashAlgorithm;
use smime_core::cipher::{CipherSet, ContentCipher, Policy};
use smime_core::cms::enveloped::{
    DecryptOptions, EncryptOptions, EnvelopedDataEncoder, KeyTransport, Recipient,
    RecipientIdKind,
};
use smime_core::error::{AlgorithmName, KeyUsageError};
use smime_core::oid;
use smime_core::x509::CertificateRef;

fn all_ciphers_policy() -> Policy {
    Policy { produce: CipherSet::ALL, ..Policy::DEFAULT }
}

fn encrypt(
    msg: &[u8],
    recipients: &[Recipient<'_>],
    cipher: ContentCipher,
    definite: bool,
) -> Vec<u8> {
    let options = EncryptOptions {
        cipher,
        policy: all_ciphers_policy(),
        content_len: definite.then_some(msg.len() as u64),
        ..Default::default()
    };
    let mut enc =
        EnvelopedDataEncoder::<Vec<u8>>::new(Vec::new(), recipients, &options, &mut getrandom::SysRng)
            .expect("encoder");
    // Uneven writes.
    for part in msg.chunks(333) {
        enc.write(part).expect("write");
    }
    enc.finish().expect("finish")
}

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn round_trip_every_cipher_transport_and_length_form() {
    let bob = bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    let transports = [
        KeyTransport::RsaPkcs1v15,
        KeyTransport::RsaOaep(HashAlgorithm::Sha1),
        KeyTransport::RsaOaep(HashAlgorithm::Sha256),
        KeyTransport::RsaOaep(HashAlgorithm::Sha512),
    ];
    let mut keys = [bob_key()];
    for cipher in ContentCipher::ALL {
        for kt in transports {
            for definite in [false, true] {
                for len in [0usize, 1, 15, 16, 17, 1000, 5000] {
                    let msg = message(len);
                    let r = Recipient { cert, id: RecipientIdKind::IssuerAndSerial, key_transport: kt };
                    let ct = encrypt(&msg, &[r], cipher, definite);
                    if definite {
                        // DER: the outer length covers the whole output.
                        assert_eq!(ct[1] & 0x80, 0x80);
                        assert_ne!(ct[1], 0x80);
                    } else {
                        assert_eq!(&ct[..2], &[0x30, 0x80]);
                    }
                    let (pt, report) = if len == 1000 {
                        decrypt_all_chunkings(&ct, &mut keys).unwrap()
                    } else {
                        decrypt_with(&ct, &mut keys, Chunking::Whole, DecryptOptions::default())
                            .unwrap()
                    };
                    assert_eq!(pt, msg, "{cipher:?} {kt:?} definite={definite} len={len}");
                    assert_eq!(report.cipher, cipher);
                    assert_eq!(report.key_index, 0);
                    assert_eq!(report.content_type(), oid::DATA);
                }
            }
        }
    }
}

#[test]
fn several_recipients_ski_and_key_history() {
    let bob = bob_cert();
    let alice = alice_cert();
    let bob_c = CertificateRef::from_der(&bob).unwrap();
    let alice_c = CertificateRef::from_der(&alice).unwrap();
    let msg = message(4321);
    let recipients = [
        Recipient { cert: alice_c, id: RecipientIdKind::SubjectKeyId, key_transport: KeyTransport::RsaPkcs1v15 },
        Recipient { cert: bob_c, id: RecipientIdKind::SubjectKeyId, key_transport: KeyTransport::RsaOaep(HashAlgorithm::Sha256) },
    ];
    // Alice's certificate is a signing certificate: allow it explicitly.
    let options = EncryptOptions {
        policy: Policy { require_key_encipherment: false, ..Policy::DEFAULT },
        ..Default::default()
    };
    let ct = smime_core::cms::enveloped::encrypt(
        &msg[..],
        Vec::new(),
        &recipients,
        &options,
        &mut getrandom::SysRng,
    )
    .unwrap();
    // Key history: an unrelated key first, then Bob's.
    let mut keys = [alice_key(), bob_key()];
    let (pt, report) = decrypt_all_chunkings(&ct, &mut keys).unwrap();
    assert_eq!(pt, msg);
    assert_eq!(report.key_index, 0, "Alice is the first recipient");
    assert_eq!(report.recipient_count, 2);
    assert_eq!(report.version, 2, "SKI recipients make version 2");
    let mut keys = [bob_key()];
    let (pt, report) = decrypt_all_chunkings(&ct, &mut keys).unwrap();
    assert_eq!(pt, msg);
    assert_eq!(report.key_index, 0);
}

#[test]
fn trial_decryption_without_certificate() {
    let bob = bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    let msg = b"no certificate needed";
    let ct = encrypt(msg, &[Recipient::new(cert)], ContentCipher::Aes128Cbc, false);
    let key = smime_core::soft::SoftRsaKey::from_der(&der(
        "examples-cms/certs-and-keys/lamps-bob.decrypt.p8.pem",
    ))
    .unwrap();
    let (pt, _) = decrypt_all_chunkings(&ct, &mut [key]).unwrap();
    assert_eq!(pt, msg);
}

// --- Real messages from other implementations --------------------------------

#[test]
fn lamps_examples_oaep_and_two_recipients() {
    let expected = read("derived/examples-cms/sample-content.txt");
    for f in ["encryptedForBobRSAOaep.p7m", "encryptedForBobAndDana.p7m"] {
        let msg = read(&format!("examples-cms/binary-files/{f}"));
        let (pt, report) = decrypt_all_chunkings(&msg, &mut [bob_key()]).unwrap();
        assert_eq!(pt, expected, "{f}");
        assert!(matches!(report.cipher, ContentCipher::Aes128Cbc | ContentCipher::Aes256Cbc), "{f}");
    }
}

#[test]
fn rfc4134_5_1_triple_des() {
    let msg = read("bc-csharp/crypto/test/data/rfc4134/5.1.bin");
    let key = smime_core::soft::SoftRsaKey::from_der(&read(
        "bc-csharp/crypto/test/data/rfc4134/BobPrivRSAEncrypt.pri",
    ))
    .unwrap();
    let (pt, report) = decrypt_all_chunkings(&msg, &mut [key]).unwrap();
    assert_eq!(pt, b"This is some sample content.");
    assert_eq!(report.cipher, ContentCipher::DesEde3Cbc);
}

#[test]
fn rfc4134_5_2_rc2_is_refused_as_weak() {
    let msg = read("bc-csharp/crypto/test/data/rfc4134/5.2.bin");
    let key = smime_core::soft::SoftRsaKey::from_der(&read(
        "bc-csharp/crypto/test/data/rfc4134/BobPrivRSAEncrypt.pri",
    ))
    .unwrap();
    let e = decrypt_with(&msg, &mut [key], Chunking::Whole, DecryptOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WeakAlgorithm(AlgorithmName::Rc2Cbc));
}

#[test]
fn asn1crypto_enveloped_sample() {
    let msg = read("asn1crypto/tests/fixtures/cms-enveloped.der");
    let key = smime_core::soft::SoftRsaKey::from_der(&der("asn1crypto/tests/fixtures/keys/test.key"))
        .unwrap();
    let (pt, _) = decrypt_all_chunkings(&msg, &mut [key]).unwrap();
    assert!(!pt.is_empty());
    // OpenSSL agrees, when it is there to ask.
    if let Ok(out) = std::process::Command::new("openssl")
        .args(["cms", "-decrypt", "-binary", "-inform", "DER", "-in"])
        .arg(interop("asn1crypto/tests/fixtures/cms-enveloped.der"))
        .arg("-inkey")
        .arg(interop("asn1crypto/tests/fixtures/keys/test.key"))
        .output()
    {
        if out.status.success() {
            assert_eq!(pt, out.stdout);
        }
    }
}

// --- Bad input ---------------------------------------------------------------

fn sample() -> Vec<u8> {
    let bob = bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    encrypt(b"truncate me, please", &[Recipient::new(cert)], ContentCipher::Aes128Cbc, false)
}

#[test]
fn truncated_at_every_offset_is_an_error() {
    for definite in [false, true] {
        let bob = bob_cert();
        let cert = CertificateRef::from_der(&bob).unwrap();
        let msg = encrypt(b"truncate me, please", &[Recipient::new(cert)], ContentCipher::Aes128Cbc, definite);
        let mut keys = [bob_key()];
        for cut in 0..msg.len() {
            let r = decrypt_with(&msg[..cut], &mut keys, Chunking::Bytes(5), DecryptOptions::default());
            let e = r.expect_err("a truncated message must not decrypt");
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Truncated | ErrorKind::DecryptionFailed | ErrorKind::LengthOverflow
                ),
                "cut {cut}: {e}"
            );
        }
    }
}

#[test]
fn trailing_garbage_is_an_error() {
    let mut msg = sample();
    msg.extend_from_slice(b"\x00");
    let e = decrypt_with(&msg, &mut [bob_key()], Chunking::Whole, DecryptOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TrailingData);
}

#[test]
fn overflowing_lengths_and_deep_nesting() {
    let mut keys = [bob_key()];
    let huge = [0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x06, 0x89];
    let e = decrypt_with(&huge, &mut keys, Chunking::Bytes(1), DecryptOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LengthOverflow);
    let mut inner_too_long = sample();
    inner_too_long[1] = 0x80; // outer indefinite already; make the OID claim 0x7f bytes
    inner_too_long[3] = 0x7f;
    assert!(decrypt_with(&inner_too_long, &mut keys, Chunking::Whole, DecryptOptions::default()).is_err());
    let deep: Vec<u8> = std::iter::repeat([0x30u8, 0x80]).take(100).flatten().collect();
    let e = decrypt_with(&deep, &mut keys, Chunking::Random(3), DecryptOptions::default()).unwrap_err();
    // The decoder wants an OID after the first SEQUENCE: structure or depth, either is an error.
    assert!(matches!(e.kind(), ErrorKind::UnexpectedTag { .. } | ErrorKind::DepthExceeded { .. }));
    // Depth inside a skipped part (originatorInfo) hits the bound.
    let mut m = vec![0x30, 0x80, 0x06, 0x09];
    m.extend_from_slice(oid::ENVELOPED_DATA);
    m.extend_from_slice(&[0xA0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x00, 0xA0, 0x80]);
    m.extend(std::iter::repeat([0x30u8, 0x80]).take(40).flatten());
    let e = decrypt_with(&m, &mut keys, Chunking::Whole, DecryptOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::DepthExceeded { .. }), "{e}");
}

#[test]
fn wrong_key_is_a_uniform_failure() {
    let msg = sample();
    // Alice's key, but claiming Bob's certificate identity is impossible with
    // SoftRsaKey (it checks); use a key without certificate: trial decryption.
    let alice = smime_core::soft::SoftRsaKey::from_der(&der(
        "examples-cms/certs-and-keys/lamps-alice.p8.pem",
    ))
    .unwrap();
    let e = decrypt_all_chunkings(&msg, &mut [alice]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecryptionFailed);
}

#[test]
fn no_matching_recipient() {
    let msg = sample();
    let e = decrypt_all_chunkings(&msg, &mut [alice_key()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoMatchingRecipient);
    let e = decrypt_all_chunkings(&msg, &mut []).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoMatchingRecipient);
}

/// Finds `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).expect("needle")
}

#[test]
fn corrupted_padding_and_ciphertext() {
    let msg = sample();
    // Flip a bit in the last ciphertext byte: before the five EOCs, the last
    // chunk's final byte.
    let mut bad = msg.clone();
    let last = bad.len() - 11;
    bad[last] ^= 0x01;
    let e = decrypt_all_chunkings(&bad, &mut [bob_key()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecryptionFailed);
    // Flip a bit in the wrapped key.
    let mut bad = msg.clone();
    let at = find(&bad, &[0x04, 0x82, 0x01, 0x00]) + 10;
    bad[at] ^= 0x40;
    let e = decrypt_all_chunkings(&bad, &mut [bob_key()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecryptionFailed);
}

#[test]
fn unknown_algorithms() {
    let msg = sample();
    // Unknown content cipher OID: change the last arc of aes128-CBC.
    let mut bad = msg.clone();
    let at = find(&bad, oid::AES128_CBC) + oid::AES128_CBC.len() - 1;
    bad[at] = 0x7f;
    let e = decrypt_all_chunkings(&bad, &mut [bob_key()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedAlgorithm);
    // Unknown key-transport OID.
    let mut bad = msg.clone();
    let at = find(&bad, oid::RSA_ENCRYPTION) + oid::RSA_ENCRYPTION.len() - 1;
    bad[at] = 0x7f;
    let e = decrypt_all_chunkings(&bad, &mut [bob_key()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedAlgorithm);
    // Not EnvelopedData at all.
    let mut bad = msg.clone();
    let at = find(&bad, oid::ENVELOPED_DATA) + oid::ENVELOPED_DATA.len() - 1;
    bad[at] = 0x02;
    let e = decrypt_all_chunkings(&bad, &mut [bob_key()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedContentType);
}

#[test]
fn policy_refusals() {
    let msg = {
        let bob = bob_cert();
        let cert = CertificateRef::from_der(&bob).unwrap();
        encrypt(b"3des", &[Recipient::new(cert)], ContentCipher::DesEde3Cbc, true)
    };
    let strict = DecryptOptions { policy: Policy { accept: CipherSet::AES, ..Policy::DEFAULT } };
    let e = decrypt_with(&msg, &mut [bob_key()], Chunking::Whole, strict).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlgorithmNotAllowed(AlgorithmName::DesEde3Cbc));
    // 3DES is not produced unless asked for.
    let bob = bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    let options = EncryptOptions { cipher: ContentCipher::DesEde3Cbc, ..Default::default() };
    let e = EnvelopedDataEncoder::<Vec<u8>>::new(Vec::new(), &[Recipient::new(cert)], &options, &mut getrandom::SysRng)
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::AlgorithmNotAllowed(AlgorithmName::DesEde3Cbc));
}

#[test]
fn wrong_key_usage_is_refused_with_reason() {
    // Alice's signing certificate does not allow keyEncipherment.
    let alice = alice_cert();
    let cert = CertificateRef::from_der(&alice).unwrap();
    let e = EnvelopedDataEncoder::<Vec<u8>>::new(
        Vec::new(),
        &[Recipient::new(cert)],
        &EncryptOptions::default(),
        &mut getrandom::SysRng,
    )
    .err()
    .unwrap();
    assert_eq!(e.kind(), ErrorKind::KeyUsage(KeyUsageError::KeyEnciphermentNotAllowed));
    assert!(e.to_string().contains("keyEncipherment"));
}

#[test]
fn detached_content_is_reported() {
    // EncryptedContentInfo without encryptedContent.
    let msg = sample();
    // Rebuild: take everything up to the [0] content (A0 80) inside the ECI
    // and close the structures.
    let iv_at = find(&msg, &[0x04, 0x10]) + 18;
    assert_eq!(&msg[iv_at..iv_at + 2], &[0xA0, 0x80]);
    let mut detached = msg[..iv_at].to_vec();
    detached.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    let e = decrypt_with(&detached, &mut [bob_key()], Chunking::Whole, DecryptOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DetachedContent);
}

#[test]
fn content_length_must_match_announcement() {
    let bob = bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    let options = EncryptOptions { content_len: Some(10), ..Default::default() };
    let mut enc = EnvelopedDataEncoder::<Vec<u8>>::new(Vec::new(), &[Recipient::new(cert)], &options, &mut getrandom::SysRng).unwrap();
    enc.write(b"12345").unwrap();
    assert_eq!(enc.finish().unwrap_err().kind(), ErrorKind::InvalidState);
    let mut enc = EnvelopedDataEncoder::<Vec<u8>>::new(Vec::new(), &[Recipient::new(cert)], &options, &mut getrandom::SysRng).unwrap();
    assert_eq!(enc.write(b"12345678901").unwrap_err().kind(), ErrorKind::InvalidState);
}

#[test]
fn scratch_too_small_is_a_clear_error() {
    let msg = sample();
    let mut scratch = [0u8; 100];
    let mut keys = [bob_key()];
    let mut dec = smime_core::cms::enveloped::EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
        Vec::new(),
        &mut keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions::default(),
    );
    let e = dec.write(&msg).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BufferTooSmall { required } if required > 100), "{e}");
}
