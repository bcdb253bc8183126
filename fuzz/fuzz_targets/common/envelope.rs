//! The EnvelopedData / AuthEnvelopedData round trip shared by
#![allow(dead_code)]
//! `roundtrip_enveloped` and `roundtrip_auth_enveloped`: encrypt the input's
//! content to a fixed RSA (PKCS#1 v1.5 or OAEP, named by issuer/serial or
//! subject key identifier) or P-256 (ECDH) test recipient, with a cipher,
//! length form and chunking from the input; decrypt, fed in other chunks;
//! the plaintext must be the content and the report must name the cipher.
//! AEAD messages are also opened with the two-pass `decrypt_authenticated`.
//!
//! RSA private-key operations are slow (milliseconds), so the RSA key's
//! results are memoised by encrypted key: the RNG is seeded from one input
//! byte, so there are few distinct CEKs.

use std::collections::HashMap;
use std::sync::Mutex;

use smime_core::backend::{
    AgreementCurve, BackendError, BackendErrorKind, ErrorType, HashAlgorithm, KeyTransAlgorithm,
    KeyTransDecrypter, RecipientId,
};
use smime_core::cipher::ContentCipher;
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, KeyTransport, Recipient, RecipientIdKind, decrypt_authenticated,
};
use smime_core::oid;
use smime_core::soft::SoftRsaKey;
use smime_core::soft_ec::SoftEcKey;
use smime_core::x509::CertificateRef;

use crate::common::{Cursor, SeededRng, chunked, keys};

static RSA_CACHE: Mutex<Option<HashMap<Vec<u8>, Result<Vec<u8>, BackendErrorKind>>>> =
    Mutex::new(None);

static RSA_KEY: Mutex<Option<SoftRsaKey>> = Mutex::new(None);

pub enum Key {
    /// The RSA test key, built on first use (parsing it is slow).
    Rsa,
    Ec(SoftEcKey<'static>),
}

impl ErrorType for Key {
    type Error = BackendErrorKind;
}

impl KeyTransDecrypter for Key {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        match self {
            Key::Rsa => Some(CertificateRef::from_der(keys::RSA_CERT).ok()?.recipient_id()),
            Key::Ec(k) => KeyTransDecrypter::recipient_id(k),
        }
    }
    fn decrypt_key(
        &mut self,
        algorithm: &KeyTransAlgorithm<'_>,
        encrypted_key: &[u8],
        out: &mut [u8],
    ) -> Result<usize, BackendErrorKind> {
        match self {
            Key::Rsa => {
                let mut tag = encrypted_key.to_vec();
                tag.push(matches!(algorithm, KeyTransAlgorithm::RsaPkcs1v15) as u8);
                let mut cache = RSA_CACHE.lock().unwrap();
                let cache = cache.get_or_insert_with(HashMap::new);
                if cache.len() > 50_000 {
                    cache.clear();
                }
                let r = cache
                    .entry(tag)
                    .or_insert_with(|| {
                        let mut buf = [0u8; 512];
                        let mut k = RSA_KEY.lock().unwrap();
                        let k = k.get_or_insert_with(rsa_key);
                        k.decrypt_key(algorithm, encrypted_key, &mut buf)
                            .map(|n| buf[..n].to_vec())
                            .map_err(|e| e.kind())
                    })
                    .clone()?;
                let dst = out.get_mut(..r.len()).ok_or(BackendErrorKind::BufferTooSmall)?;
                dst.copy_from_slice(&r);
                Ok(r.len())
            }
            Key::Ec(k) => k.decrypt_key(algorithm, encrypted_key, out),
        }
    }
    fn agreement_curve(&self) -> Option<AgreementCurve> {
        match self {
            Key::Ec(k) => k.agreement_curve(),
            Key::Rsa => None,
        }
    }
    fn shared_secret(
        &mut self,
        peer_public: &[u8],
        out: &mut [u8],
    ) -> Option<Result<usize, BackendErrorKind>> {
        match self {
            Key::Ec(k) => KeyTransDecrypter::shared_secret(k, peer_public, out),
            Key::Rsa => None,
        }
    }
}

pub fn rsa_key() -> SoftRsaKey {
    SoftRsaKey::from_der(keys::RSA_P8).unwrap().with_certificate(keys::RSA_CERT).unwrap()
}

pub fn ec_key() -> SoftEcKey<'static> {
    SoftEcKey::from_pkcs8_der(keys::P256_P8).unwrap().with_certificate(keys::P256_CERT).unwrap()
}

pub fn run(data: &[u8], aead: bool) {
    let mut input = Cursor::new(data);
    let a = input.u8();
    let b = input.u8();
    let seed = input.u8();
    let enc_sizes = [input.u8(), input.u8()];
    let dec_sizes = [input.u8(), input.u8(), input.u8()];
    let content = input.rest();

    let cipher = if aead {
        [
            ContentCipher::Aes128Gcm,
            ContentCipher::Aes192Gcm,
            ContentCipher::Aes256Gcm,
            ContentCipher::ChaCha20Poly1305,
        ][usize::from(a & 3)]
    } else {
        [
            ContentCipher::Aes128Cbc,
            ContentCipher::Aes192Cbc,
            ContentCipher::Aes256Cbc,
            ContentCipher::DesEde3Cbc,
        ][usize::from(a & 3)]
    };
    let definite = a & 4 != 0;
    // ECDH is ~20x slower than the (memoised) RSA path: 1 run in 8.
    let ec = a & 0x38 == 0x08;
    let cert_der = if ec { keys::P256_CERT } else { keys::RSA_CERT };
    let cert = CertificateRef::from_der(cert_der).unwrap();
    let recipient = Recipient {
        cert,
        id: if b & 1 != 0 { RecipientIdKind::SubjectKeyId } else { RecipientIdKind::IssuerAndSerial },
        key_transport: match b >> 1 & 3 {
            0 | 1 => KeyTransport::RsaPkcs1v15,
            2 => KeyTransport::RsaOaep(HashAlgorithm::Sha256),
            _ => KeyTransport::RsaOaep(HashAlgorithm::Sha384),
        },
    };
    let mut options = EncryptOptions {
        cipher,
        content_len: definite.then_some(content.len() as u64),
        ..Default::default()
    };
    options.policy.produce = options.policy.accept; // 3DES too
    let mut rng = SeededRng::new(u64::from(seed));
    let mut enc = match EnvelopedDataEncoder::<Vec<u8>>::new(
        Vec::new(),
        &[recipient],
        &options,
        &mut rng,
    ) {
        Ok(e) => e,
        Err(e) => panic!("encoder refused {cipher:?} ec={ec} {recipient:?}: {e:?}"),
    };
    for piece in chunked(content, &enc_sizes) {
        enc.write(piece).expect("encode");
    }
    let der = enc.finish().expect("finish");

    let mut keys_ = [if ec { Key::Ec(ec_key()) } else { Key::Rsa }];
    let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
    let mut dec = EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
        Vec::new(),
        &mut keys_,
        SeededRng::new(7),
        &mut scratch,
        DecryptOptions::default(),
    );
    for piece in chunked(&der, &dec_sizes) {
        dec.write(piece).unwrap_or_else(|e| panic!("decode {cipher:?}: {e:?}"));
    }
    let (plain, report) = dec.finish().unwrap_or_else(|e| panic!("decode {cipher:?}: {e:?}"));
    assert!(plain == content, "round trip changed the content ({cipher:?})");
    assert_eq!(report.cipher, cipher);
    assert_eq!(report.authenticated, aead);
    assert_eq!(report.key_index, 0);
    assert_eq!(report.recipient_count, 1);
    assert_eq!(report.content_type(), oid::DATA);

    if aead {
        let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
        let mut out = Vec::new();
        let (_, r) = decrypt_authenticated(
            &der[..],
            &mut keys_,
            SeededRng::new(9),
            &mut scratch,
            DecryptOptions::default(),
            &mut out,
        )
        .unwrap_or_else(|e| panic!("two-pass {cipher:?}: {e:?}"));
        assert!(out == content, "two-pass changed the content");
        assert!(r.authenticated);
    }
}
