//! AuthEnvelopedData (RFC 5083) with AES-GCM (RFC 5084) and
//! ChaCha20-Poly1305 (RFC 8103): OpenSSL both ways, a real sample, round
//! trips under every chunking, tampering in streaming and two-pass mode.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::indexing_slicing
)]

mod common;

use std::process::Command;

use common::*;
use smime_core::ErrorKind;
use smime_core::cipher::ContentCipher;
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, DecryptReport, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, Recipient, decrypt_authenticated,
};
use smime_core::oid;
use smime_core::x509::CertificateRef;

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 37 % 253) as u8).collect()
}

fn openssl_available() -> bool {
    Command::new("openssl").arg("version").output().map(|o| o.status.success()).unwrap_or(false)
}

fn encrypt(msg: &[u8], cipher: ContentCipher, definite: bool) -> Vec<u8> {
    let bob = bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    let options = EncryptOptions {
        cipher,
        content_len: definite.then_some(msg.len() as u64),
        ..Default::default()
    };
    let mut enc = EnvelopedDataEncoder::<Vec<u8>>::new(
        Vec::new(),
        &[Recipient::new(cert)],
        &options,
        &mut getrandom::SysRng,
    )
    .unwrap();
    for part in msg.chunks(333) {
        enc.write(part).unwrap();
    }
    enc.finish().unwrap()
}

fn two_pass(msg: &[u8]) -> (Vec<u8>, Result<DecryptReport, smime_core::Error>) {
    let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
    let mut keys = [bob_key()];
    let mut out = Vec::new();
    let r = decrypt_authenticated(
        msg,
        &mut keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions::default(),
        &mut out,
    )
    .map(|(_, rep)| rep);
    (out, r)
}

const AEAD: [ContentCipher; 4] = [
    ContentCipher::Aes128Gcm,
    ContentCipher::Aes192Gcm,
    ContentCipher::Aes256Gcm,
    ContentCipher::ChaCha20Poly1305,
];

#[test]
fn round_trip_every_aead_cipher_length_and_form() {
    let mut keys = [bob_key()];
    for cipher in AEAD {
        for definite in [false, true] {
            for len in [0usize, 1, 15, 16, 17, 1000, 5000] {
                let msg = message(len);
                let ct = encrypt(&msg, cipher, definite);
                // The outer content type is id-ct-authEnvelopedData.
                let at = if definite { 6 } else { 4 };
                assert_eq!(&ct[at..at + oid::AUTH_ENVELOPED_DATA.len()], oid::AUTH_ENVELOPED_DATA);
                let (pt, report) = if len == 1000 {
                    decrypt_all_chunkings(&ct, &mut keys).unwrap()
                } else {
                    decrypt_with(&ct, &mut keys, Chunking::Whole, DecryptOptions::default())
                        .unwrap()
                };
                assert_eq!(pt, msg, "{cipher:?} definite={definite} len={len}");
                assert_eq!(report.cipher, cipher);
                assert!(report.authenticated);
                assert_eq!(report.version, 0);
                assert_eq!(report.content_type(), oid::DATA);
                let (pt2, r) = two_pass(&ct);
                let r = r.unwrap();
                assert_eq!(pt2, msg);
                assert!(r.authenticated);
                assert_eq!(r.cipher, cipher);
            }
        }
    }
}

#[test]
fn cbc_is_not_reported_as_authenticated_and_two_pass_refuses_it() {
    let msg = message(100);
    let ct = encrypt(&msg, ContentCipher::Aes128Cbc, false);
    let (_, report) = decrypt_all_chunkings(&ct, &mut [bob_key()]).unwrap();
    assert!(!report.authenticated);
    let (out, r) = two_pass(&ct);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::UnexpectedContentType);
    assert!(out.is_empty());
}

fn openssl_encrypt(content: &[u8], cipher_flag: &str, stream: bool) -> Option<Vec<u8>> {
    if !openssl_available() {
        eprintln!("openssl not found: skipped");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("bob.pem");
    std::fs::write(
        &cert,
        pem_rfc7468::encode_string("CERTIFICATE", Default::default(), &bob_cert()).unwrap(),
    )
    .unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, content).unwrap();
    let out = dir.path().join("out.der");
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-encrypt", cipher_flag, "-binary", "-outform", "DER", "-recip"])
        .arg(&cert)
        .arg("-in")
        .arg(&input)
        .arg("-out")
        .arg(&out);
    if stream {
        cmd.arg("-stream");
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "openssl: {}", String::from_utf8_lossy(&o.stderr));
    Some(std::fs::read(&out).unwrap())
}

#[test]
fn openssl_aes_gcm_to_ours() {
    let content = message(5000);
    for (flag, cipher) in [
        ("-aes-128-gcm", ContentCipher::Aes128Gcm),
        ("-aes-192-gcm", ContentCipher::Aes192Gcm),
        ("-aes-256-gcm", ContentCipher::Aes256Gcm),
    ] {
        for stream in [false, true] {
            let Some(msg) = openssl_encrypt(&content, flag, stream) else { return };
            let (pt, report) = decrypt_all_chunkings(&msg, &mut [bob_key()]).unwrap();
            assert_eq!(pt, content, "{flag} stream={stream}");
            assert_eq!(report.cipher, cipher);
            assert!(report.authenticated);
            let (pt, r) = two_pass(&msg);
            assert_eq!(pt, content);
            assert!(r.unwrap().authenticated);
        }
    }
}

#[test]
fn ours_to_openssl() {
    if !openssl_available() {
        eprintln!("openssl not found: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = interop("examples-cms/certs-and-keys/lamps-bob.decrypt.p8.pem");
    let content = message(7777);
    // OpenSSL 3.0 has no ChaCha20-Poly1305 in CMS.
    for cipher in [ContentCipher::Aes128Gcm, ContentCipher::Aes192Gcm, ContentCipher::Aes256Gcm] {
        for definite in [false, true] {
            let ct = encrypt(&content, cipher, definite);
            let f = dir.path().join("m.der");
            std::fs::write(&f, &ct).unwrap();
            let o = Command::new("openssl")
                .args(["cms", "-decrypt", "-binary", "-inform", "DER", "-in"])
                .arg(&f)
                .arg("-inkey")
                .arg(&key)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{cipher:?} definite={definite}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(o.stdout, content, "{cipher:?} definite={definite}");
        }
    }
}

#[test]
fn lamps_chacha20_poly1305_sample() {
    let msg = read("examples-cms/binary-files/authEnvelopedForBobChaCha20Poly1305.p7m");
    let expected = read("derived/examples-cms/sample-content.txt");
    let (pt, report) = decrypt_all_chunkings(&msg, &mut [bob_key()]).unwrap();
    assert_eq!(pt, expected);
    assert!(pt.starts_with(b"This is some sample content."));
    assert_eq!(report.cipher, ContentCipher::ChaCha20Poly1305);
    assert!(report.authenticated);
    let (pt, r) = two_pass(&msg);
    assert_eq!(pt, expected);
    assert!(r.unwrap().authenticated);
}

/// Finds the last occurrence of `needle`.
fn rfind(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).rposition(|w| w == needle).expect("needle")
}

/// Streaming: every write is accepted and the error comes at `finish`.
fn streaming_fails_at_finish(msg: &[u8]) {
    for c in ALL_CHUNKINGS {
        let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
        let mut keys = [bob_key()];
        let mut dec = EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
            Vec::new(),
            &mut keys,
            getrandom::SysRng,
            &mut scratch,
            DecryptOptions::default(),
        );
        for p in pieces(msg, c) {
            dec.write(p).unwrap();
        }
        assert_eq!(dec.finish().unwrap_err().kind(), ErrorKind::DecryptionFailed, "{c:?}");
    }
}

#[test]
fn tampering_fails_streaming_at_finish_and_two_pass_writes_nothing() {
    for cipher in AEAD {
        for definite in [false, true] {
            let content = message(3000);
            let msg = encrypt(&content, cipher, definite);
            // The tag: the last OCTET STRING of 16 bytes.
            let tag_at = rfind(&msg, &[0x04, 0x10]) + 2;
            // The nonce: the first OCTET STRING of 12 bytes after the OID.
            let nonce_at = rfind(&msg, cipher.oid()) + cipher.oid().len();
            let nonce_at =
                nonce_at + msg[nonce_at..].windows(2).position(|w| w == [0x04, 0x0C]).unwrap() + 2;
            // A ciphertext byte in the middle.
            let ct_at = tag_at - 1500;
            for (what, at) in [
                ("tag", tag_at + 15),
                ("tag", tag_at),
                ("nonce", nonce_at + 3),
                ("ciphertext", ct_at),
            ] {
                let mut bad = msg.clone();
                bad[at] ^= 0x01;
                streaming_fails_at_finish(&bad);
                let (out, r) = two_pass(&bad);
                assert_eq!(r.unwrap_err().kind(), ErrorKind::DecryptionFailed, "{cipher:?} {what}");
                assert!(out.is_empty(), "{cipher:?} {what}: nothing is written");
            }
            // A shortened tag (ICVlen says 16) is a structure error.
            let _ = content;
        }
    }
}

#[test]
fn openssl_message_tampered() {
    let content = message(2000);
    let Some(msg) = openssl_encrypt(&content, "-aes-256-gcm", false) else { return };
    let tag_at = rfind(&msg, &[0x04, 0x10]) + 2;
    for at in [tag_at + 7, tag_at - 100] {
        let mut bad = msg.clone();
        bad[at] ^= 0x80;
        streaming_fails_at_finish(&bad);
        let (out, r) = two_pass(&bad);
        assert_eq!(r.unwrap_err().kind(), ErrorKind::DecryptionFailed);
        assert!(out.is_empty());
    }
}

#[test]
fn truncated_messages_never_decrypt() {
    let msg = encrypt(b"truncate me, please", ContentCipher::Aes128Gcm, false);
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
        let (out, r) = two_pass(&msg[..cut]);
        assert!(r.is_err());
        assert!(out.is_empty());
    }
}

#[test]
fn wrong_key_is_uniform() {
    let msg = encrypt(b"for Bob", ContentCipher::Aes256Gcm, true);
    let alice = smime_core::soft::SoftRsaKey::from_der(&der(
        "examples-cms/certs-and-keys/lamps-alice.p8.pem",
    ))
    .unwrap();
    let e = decrypt_all_chunkings(&msg, &mut [alice]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecryptionFailed);
}

// --- Authenticated attributes ------------------------------------------------

/// SET OF Attribute { contentType: id-data }, DER.
const AUTH_ATTRS: [u8; 28] = [
    0x31, 0x1A, 0x30, 0x18, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03, 0x31,
    0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
];

/// An AuthEnvelopedData to Bob with authAttrs: made by our encoder
/// (indefinite lengths, one content chunk), the CEK unwrapped with Bob's key,
/// the authAttrs spliced in before the mac and the tag computed anew.
fn with_auth_attrs(content: &[u8], cipher: ContentCipher) -> Vec<u8> {
    use smime_core::backend::{KeyTransAlgorithm, KeyTransDecrypter};
    use smime_core::cipher::AeadEncryptor;
    assert!(content.len() < 1000);
    let msg = encrypt(content, cipher, false);
    let ek_at = rfind(&msg, &[0x04, 0x82, 0x01, 0x00]) + 4;
    let mut cek = [0u8; 512];
    let n = bob_key()
        .decrypt_key(&KeyTransAlgorithm::RsaPkcs1v15, &msg[ek_at..ek_at + 256], &mut cek)
        .unwrap();
    let nonce_at = rfind(&msg, cipher.oid()) + cipher.oid().len();
    let nonce_at =
        nonce_at + msg[nonce_at..].windows(2).position(|w| w == [0x04, 0x0C]).unwrap() + 2;
    let nonce = &msg[nonce_at..nonce_at + 12];
    let mut enc = AeadEncryptor::new(cipher, &cek[..n], nonce, &AUTH_ATTRS).unwrap();
    let mut ct = vec![0u8; content.len()];
    enc.update(content, &mut ct).unwrap();
    let tag = enc.finish().unwrap();
    // ... [0] EOC, ECI EOC, 04 10 <tag>, three EOCs.
    let mac_at = msg.len() - 6 - 18;
    assert_eq!(&msg[mac_at..mac_at + 2], &[0x04, 0x10]);
    let mut out = msg[..mac_at].to_vec();
    assert!(out.windows(ct.len()).any(|w| w == ct.as_slice()), "same ciphertext");
    out.push(0xA1);
    out.extend_from_slice(&AUTH_ATTRS[1..]);
    out.extend_from_slice(&[0x04, 0x10]);
    out.extend_from_slice(&tag[..]);
    out.extend_from_slice(&[0; 6]);
    out
}

#[test]
fn auth_attrs_gcm_streaming_and_two_pass() {
    let content = message(500);
    for cipher in [ContentCipher::Aes128Gcm, ContentCipher::Aes256Gcm] {
        let msg = with_auth_attrs(&content, cipher);
        let (pt, report) = decrypt_all_chunkings(&msg, &mut [bob_key()]).unwrap();
        assert_eq!(pt, content);
        assert!(report.authenticated);
        let (pt, r) = two_pass(&msg);
        assert_eq!(pt, content);
        assert!(r.unwrap().authenticated);
        // A changed attribute: the id-data OID's last arc.
        let mut bad = msg.clone();
        let at = rfind(&bad, &[0x04, 0x10]) - 1;
        assert_eq!(bad[at], 0x01);
        bad[at] = 0x02;
        streaming_fails_at_finish(&bad);
        let (out, r) = two_pass(&bad);
        assert_eq!(r.unwrap_err().kind(), ErrorKind::DecryptionFailed);
        assert!(out.is_empty());
        // Without the attributes the tag no longer fits.
        let start = rfind(&msg, &[0xA1, 0x1A]);
        let mut stripped = msg[..start].to_vec();
        stripped.extend_from_slice(&msg[start + 28..]);
        streaming_fails_at_finish(&stripped);
        assert!(two_pass(&stripped).0.is_empty());
    }
}

#[test]
fn auth_attrs_chacha_need_two_pass() {
    let content = message(300);
    let msg = with_auth_attrs(&content, ContentCipher::ChaCha20Poly1305);
    let e = decrypt_with(&msg, &mut [bob_key()], Chunking::Whole, DecryptOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthAttrsNeedTwoPass);
    assert!(e.to_string().contains("two-pass"));
    let (pt, r) = two_pass(&msg);
    assert_eq!(pt, content);
    assert!(r.unwrap().authenticated);
    let mut bad = msg.clone();
    let at = rfind(&bad, &[0x04, 0x10]) - 1;
    bad[at] = 0x02;
    let (out, r) = two_pass(&bad);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::DecryptionFailed);
    assert!(out.is_empty());
}

/// RFC 3394 key unwrap (AES-128 KEK), for the KEK samples below.
fn aes_kw_unwrap(kek: &[u8; 16], wrapped: &[u8]) -> Option<Vec<u8>> {
    use aes::cipher::{BlockCipherDecrypt, KeyInit};
    let aes = aes::Aes128::new_from_slice(kek).unwrap();
    let n = wrapped.len() / 8 - 1;
    let mut a: [u8; 8] = wrapped[..8].try_into().unwrap();
    let mut r: Vec<[u8; 8]> = wrapped[8..].chunks(8).map(|c| c.try_into().unwrap()).collect();
    for j in (0..6).rev() {
        for i in (1..=n).rev() {
            let t = (n * j + i) as u64;
            let mut b = [0u8; 16];
            for (k, x) in t.to_be_bytes().iter().enumerate() {
                b[k] = a[k] ^ x;
            }
            b[8..].copy_from_slice(&r[i - 1]);
            let mut block = aes::Block::from(b);
            aes.decrypt_block(&mut block);
            a.copy_from_slice(&block[..8]);
            r[i - 1].copy_from_slice(&block[8..]);
        }
    }
    (a == [0xA6; 8]).then(|| r.concat())
}

/// OpenSSL's AES-128-GCM samples with authenticated attributes (a KEK
/// recipient, which the decoder does not support yet): the CEK is unwrapped
/// here and the AEAD layer checked with the attributes before the content
/// (as the two-pass mode does) and after it (as the streaming decoder does).
/// The "bad" sample has one attribute byte changed after encryption.
#[test]
fn openssl_kek_samples_with_auth_attrs() {
    use smime_core::ber::{SliceReader, Tag};
    use smime_core::cipher::AeadDecryptor;
    let kek: [u8; 16] = core::array::from_fn(|i| i as u8);
    for (file, good) in [("authenveloped_attrs.pem", true), ("bad_authenveloped_attrs.pem", false)]
    {
        let msg = der(&format!("openssl-master-extra/test/recipes/80-test_cms_data/{file}"));
        // The element offsets, as `openssl asn1parse` shows them.
        assert_eq!(&msg[49..51], &[0x04, 0x18]);
        let cek = aes_kw_unwrap(&kek, &msg[51..75]).expect("KEK unwraps");
        assert_eq!(
            &msg[90..101],
            &[0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x06]
        );
        let nonce = &msg[105..117];
        let ct = &msg[124..154];
        assert_eq!(msg[158], 0xA1);
        let attrs_tlv = SliceReader::new(&msg[158..]).read().unwrap();
        assert_eq!(attrs_tlv.tag, Tag::context(1, true));
        let attrs = &msg[158..182];
        let tag = &msg[184..200];
        let mut pt = vec![0u8; ct.len()];
        let mut d = AeadDecryptor::with_aad_parts(
            ContentCipher::Aes128Gcm,
            &cek,
            nonce,
            &[&[0x31], &attrs[1..]],
        )
        .unwrap();
        d.update(ct, &mut pt).unwrap();
        assert_eq!(d.finish(tag).is_ok(), good, "{file}");
        let mut late = AeadDecryptor::new(ContentCipher::Aes128Gcm, &cek, nonce, b"").unwrap();
        late.update(ct, &mut pt).unwrap();
        let r = late.finish_with_late_aad(&[&[0x31], &attrs[1..]], tag);
        assert_eq!(r.is_ok(), good, "{file}");
        if !good {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::DecryptionFailed);
        }
    }
}

#[test]
fn icv_length_and_content_type_mismatches() {
    let content = message(100);
    let msg = encrypt(&content, ContentCipher::Aes128Gcm, false);
    let icv_at = rfind(&msg, &[0x02, 0x01, 0x10]);
    let mac_at = rfind(&msg, &[0x04, 0x10]);
    // aes-ICVlen 12 and a 12-byte mac: GCM's truncated tag is the full tag's start.
    let mut short = msg.clone();
    short[icv_at + 2] = 12;
    short[mac_at + 1] = 12;
    short.drain(mac_at + 2 + 12..mac_at + 2 + 16);
    let (pt, report) = decrypt_all_chunkings(&short, &mut [bob_key()]).unwrap();
    assert_eq!(pt, content);
    assert!(report.authenticated);
    assert_eq!(two_pass(&short).0, content);
    // ICVlen 12 with a 16-byte mac, and an ICVlen outside 12..=16.
    for icv in [12u8, 8, 17] {
        let mut bad = msg.clone();
        bad[icv_at + 2] = icv;
        let e = decrypt_with(&bad, &mut [bob_key()], Chunking::Whole, DecryptOptions::default())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue, "ICVlen {icv}");
        assert!(two_pass(&bad).0.is_empty());
    }
    // The GCM content in an EnvelopedData is refused.
    let oid_at = 2;
    assert_eq!(&msg[oid_at..oid_at + 2], &[0x06, 0x0B]);
    let mut env = vec![0x30, 0x80, 0x06, 0x09];
    env.extend_from_slice(oid::ENVELOPED_DATA);
    env.extend_from_slice(&msg[oid_at + 13..]);
    let e = decrypt_with(&env, &mut [bob_key()], Chunking::Whole, DecryptOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    // A policy without AEAD ciphers refuses them.
    let strict = DecryptOptions {
        policy: smime_core::cipher::Policy {
            accept: smime_core::cipher::CipherSet::AES,
            ..Default::default()
        },
    };
    let e = decrypt_with(&msg, &mut [bob_key()], Chunking::Whole, strict).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::AlgorithmNotAllowed(smime_core::error::AlgorithmName::Aes128Gcm)
    );
}

#[test]
fn gcm_nonce_other_than_12_bytes_is_refused() {
    let msg = encrypt(b"nonce", ContentCipher::Aes256Gcm, false);
    // SEQUENCE { OID aes256-GCM, SEQUENCE { OCTET STRING (12), INTEGER 16 } }
    let alg_at = rfind(&msg, oid::AES256_GCM) - 4;
    assert_eq!(&msg[alg_at..alg_at + 4], &[0x30, 0x1E, 0x06, 0x09]);
    let params_at = alg_at + 13;
    assert_eq!(&msg[params_at..params_at + 4], &[0x30, 0x11, 0x04, 0x0C]);
    for extra in [4usize, 0] {
        let mut bad = msg.clone();
        bad[alg_at + 1] += extra as u8;
        bad[params_at + 1] += extra as u8;
        if extra == 0 {
            // An 8-byte nonce.
            bad[alg_at + 1] -= 4;
            bad[params_at + 1] -= 4;
            bad[params_at + 3] = 8;
            bad.drain(params_at + 4..params_at + 8);
        } else {
            bad[params_at + 3] += extra as u8;
            bad.splice(params_at + 4..params_at + 4, [0u8; 4]);
        }
        let e = decrypt_with(&bad, &mut [bob_key()], Chunking::Bytes(3), DecryptOptions::default())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedAlgorithm);
        assert!(two_pass(&bad).0.is_empty());
    }
}

// --- Authenticated attributes from the encoder --------------------------------

/// One DER TLV with a short or long definite length.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match value.len() {
        n @ 0..=0x7F => out.push(n as u8),
        n @ 0x80..=0xFF => out.extend_from_slice(&[0x81, n as u8]),
        n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(value);
    out
}

/// `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF ANY }`.
fn attribute(oid: &[u8], value: &[u8]) -> Vec<u8> {
    tlv(0x30, &[tlv(0x06, oid), tlv(0x31, value)].concat())
}

/// A DER `SET OF Attribute` (sorted): content type `ct` and a signing time.
fn auth_attrs_der(ct: &[u8]) -> Vec<u8> {
    const CONTENT_TYPE: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03];
    const SIGNING_TIME: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x05];
    let mut attrs = [
        attribute(CONTENT_TYPE, &tlv(0x06, ct)),
        attribute(SIGNING_TIME, &tlv(0x17, b"261123180000Z")),
    ];
    attrs.sort();
    tlv(0x31, &attrs.concat())
}

fn encrypt_with_attrs(
    msg: &[u8],
    cipher: ContentCipher,
    definite: bool,
    content_type: &[u8],
    attrs: &[u8],
) -> Result<Vec<u8>, smime_core::Error> {
    let bob = bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    let options = EncryptOptions {
        cipher,
        content_type,
        content_len: definite.then_some(msg.len() as u64),
        ..Default::default()
    };
    let mut enc = EnvelopedDataEncoder::<Vec<u8>>::new_with_auth_attrs(
        Vec::new(),
        &[Recipient::new(cert)],
        &options,
        attrs,
        &mut getrandom::SysRng,
    )?;
    for part in msg.chunks(333) {
        enc.write(part)?;
    }
    enc.finish()
}

#[test]
fn encoder_auth_attrs_round_trip_and_tampering() {
    let attrs = auth_attrs_der(oid::DATA);
    let mut keys = [bob_key()];
    for cipher in AEAD {
        for definite in [false, true] {
            for len in [0usize, 1, 700, 3000] {
                let content = message(len);
                let msg =
                    encrypt_with_attrs(&content, cipher, definite, oid::DATA, &attrs).unwrap();
                let what = format!("{cipher:?} definite={definite} len={len}");
                // authAttrs [1] IMPLICIT, right before the mac.
                let mut implicit = attrs.clone();
                implicit[0] = 0xA1;
                let mac_at = rfind(&msg, &[0x04, 0x10]);
                assert_eq!(&msg[mac_at - implicit.len()..mac_at], &implicit[..], "{what}");
                // Two-pass mode, with either cipher.
                let (pt, r) = two_pass(&msg);
                assert_eq!(pt, content, "{what}");
                let r = r.unwrap();
                assert!(r.authenticated);
                assert_eq!(r.cipher, cipher);
                // Streaming: GCM adds the attributes late; ChaCha20-Poly1305 cannot.
                if cipher == ContentCipher::ChaCha20Poly1305 {
                    let e =
                        decrypt_with(&msg, &mut keys, Chunking::Whole, DecryptOptions::default())
                            .unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::AuthAttrsNeedTwoPass, "{what}");
                } else {
                    let (pt, report) = if len == 700 {
                        decrypt_all_chunkings(&msg, &mut keys).unwrap()
                    } else {
                        decrypt_with(&msg, &mut keys, Chunking::Bytes(7), DecryptOptions::default())
                            .unwrap()
                    };
                    assert_eq!(pt, content, "{what}");
                    assert!(report.authenticated);
                }
                // A changed attribute byte (in the signing time): refused,
                // nothing written in two-pass mode.
                let mut bad = msg.clone();
                let at = mac_at - 3;
                bad[at] ^= 0x01;
                let (out, r) = two_pass(&bad);
                assert_eq!(r.unwrap_err().kind(), ErrorKind::DecryptionFailed, "{what}");
                assert!(out.is_empty());
                if cipher != ContentCipher::ChaCha20Poly1305 {
                    streaming_fails_at_finish(&bad);
                }
            }
        }
    }
}

#[test]
fn encoder_auth_attrs_match_the_spliced_construction() {
    // The attributes as AAD with the SET OF tag: the same tag as the
    // independent construction above (AeadEncryptor with the 0x31 DER).
    let content = message(400);
    let msg = encrypt_with_attrs(&content, ContentCipher::Aes128Gcm, false, oid::DATA, &AUTH_ATTRS)
        .unwrap();
    let mac_at = rfind(&msg, &[0x04, 0x10]);
    assert_eq!(msg[mac_at - 28], 0xA1);
    assert_eq!(&msg[mac_at - 27..mac_at], &AUTH_ATTRS[1..]);
    let (pt, r) = two_pass(&msg);
    assert_eq!(pt, content);
    assert!(r.unwrap().authenticated);
    // The same message with [1] replaced by a SET OF tag is refused: the
    // decoder expects [1] there.
    let mut wrong = msg.clone();
    wrong[mac_at - 28] = 0x31;
    assert!(two_pass(&wrong).1.is_err());
}

#[test]
fn encoder_auth_attrs_rules() {
    let content = message(50);
    let attrs = auth_attrs_der(oid::SIGNED_DATA);
    // RFC 5083 §2.1: authAttrs MUST be present if the content type is not id-data.
    let bob = bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    for cipher in AEAD {
        let options =
            EncryptOptions { cipher, content_type: oid::SIGNED_DATA, ..Default::default() };
        let e = EnvelopedDataEncoder::<Vec<u8>>::new(
            Vec::new(),
            &[Recipient::new(cert)],
            &options,
            &mut getrandom::SysRng,
        )
        .err()
        .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidValue, "{cipher:?}");
        // With attributes it is fine.
        let msg = encrypt_with_attrs(&content, cipher, true, oid::SIGNED_DATA, &attrs).unwrap();
        let (pt, r) = two_pass(&msg);
        assert_eq!(pt, content);
        assert_eq!(r.unwrap().content_type(), oid::SIGNED_DATA);
    }
    // CBC (EnvelopedData) has no authenticated attributes.
    let e = encrypt_with_attrs(&content, ContentCipher::Aes256Cbc, false, oid::DATA, &attrs)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    // Not one DER SET OF Attribute.
    let a = attribute(&[0x2A, 0x03], &tlv(0x05, &[]));
    let b = attribute(&[0x2A, 0x04], &tlv(0x05, &[]));
    let bad: [Vec<u8>; 8] = [
        vec![],
        vec![0x31, 0x00],                                 // empty SET
        tlv(0x30, &a),                                    // not a SET
        [tlv(0x31, &a), vec![0x00]].concat(),             // trailing byte
        tlv(0x31, &[b.clone(), a.clone()].concat()),      // not in DER order
        tlv(0x31, &tlv(0x30, &tlv(0x06, &[0x2A, 0x03]))), // no values
        tlv(0x31, &tlv(0x30, &[tlv(0x06, &[0x2A]), tlv(0x31, &[])].concat())), // empty values
        vec![0x31, 0x80, 0x00, 0x00],                     // indefinite
    ];
    for (i, attrs) in bad.iter().enumerate() {
        let r = encrypt_with_attrs(&content, ContentCipher::Aes128Gcm, false, oid::DATA, attrs);
        assert!(r.is_err(), "case {i} must be refused");
    }
    // In DER order, it is accepted.
    let good = tlv(0x31, &[a, b].concat());
    assert!(
        encrypt_with_attrs(&content, ContentCipher::Aes128Gcm, false, oid::DATA, &good).is_ok()
    );
}

/// Whether this OpenSSL reads authAttrs at all: 3.0 decodes them with the
/// wrong tag (`[2]`) and fails on OpenSSL master's own sample.
fn openssl_reads_auth_attrs() -> bool {
    let sample =
        interop("openssl-master-extra/test/recipes/80-test_cms_data/authenveloped_attrs.pem");
    Command::new("openssl")
        .args(["cms", "-cmsout", "-noout", "-inform", "PEM", "-in"])
        .arg(sample)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn openssl_decrypts_ours_with_auth_attrs() {
    if !openssl_available() {
        eprintln!("openssl not found: skipped");
        return;
    }
    if !openssl_reads_auth_attrs() {
        eprintln!("this OpenSSL cannot parse authAttrs (its own sample fails): skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = interop("examples-cms/certs-and-keys/lamps-bob.decrypt.p8.pem");
    let content = message(2222);
    let attrs = auth_attrs_der(oid::DATA);
    let run = |msg: &[u8]| {
        let f = dir.path().join("m.der");
        std::fs::write(&f, msg).unwrap();
        Command::new("openssl")
            .args(["cms", "-decrypt", "-binary", "-inform", "DER", "-in"])
            .arg(&f)
            .arg("-inkey")
            .arg(&key)
            .output()
            .unwrap()
    };
    // OpenSSL 3.0 has no ChaCha20-Poly1305 in CMS.
    for cipher in [ContentCipher::Aes128Gcm, ContentCipher::Aes192Gcm, ContentCipher::Aes256Gcm] {
        for definite in [false, true] {
            let msg = encrypt_with_attrs(&content, cipher, definite, oid::DATA, &attrs).unwrap();
            let o = run(&msg);
            let what = format!("{cipher:?} definite={definite}");
            assert!(o.status.success(), "{what}: {}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(o.stdout, content, "{what}");
            // OpenSSL authenticates the attributes too: a changed one fails.
            let mut bad = msg.clone();
            let at = rfind(&bad, &[0x04, 0x10]) - 3;
            bad[at] ^= 0x01;
            let o = run(&bad);
            assert!(!o.status.success(), "{what}: OpenSSL must refuse a changed attribute");
        }
    }
}

/// OpenSSL master's AES-128-GCM samples with authAttrs, through the whole
/// decoder with the KEK: both modes accept the good one and refuse the one
/// with a changed attribute. (Together with the tests above, this ties our
/// AAD construction to OpenSSL's, which OpenSSL 3.0 cannot check.)
#[test]
fn openssl_master_auth_attrs_samples_through_the_decoder() {
    use smime_core::agree::kekri::KekKey;
    let kek: [u8; 16] = core::array::from_fn(|i| i as u8);
    let id = [0xC0, 0xFE, 0xE0];
    for (file, good) in [("authenveloped_attrs.pem", true), ("bad_authenveloped_attrs.pem", false)]
    {
        let msg = der(&format!("openssl-master-extra/test/recipes/80-test_cms_data/{file}"));
        let mut keys = [KekKey { id: &id, key: &kek }];
        let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
        let mut out = Vec::new();
        let r = decrypt_authenticated(
            &msg,
            &mut keys,
            getrandom::SysRng,
            &mut scratch,
            DecryptOptions::default(),
            &mut out,
        );
        let mut dec = EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
            Vec::new(),
            &mut keys,
            getrandom::SysRng,
            &mut scratch,
            DecryptOptions::default(),
        );
        dec.write(&msg).unwrap();
        let streamed = dec.finish();
        if good {
            let report = r.unwrap().1;
            assert!(report.authenticated);
            assert_eq!(report.cipher, ContentCipher::Aes128Gcm);
            assert_eq!(out.len(), 30);
            assert_eq!(streamed.unwrap().0, out);
        } else {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::DecryptionFailed, "{file}");
            assert!(out.is_empty());
            assert_eq!(streamed.unwrap_err().kind(), ErrorKind::DecryptionFailed, "{file}");
        }
    }
}
