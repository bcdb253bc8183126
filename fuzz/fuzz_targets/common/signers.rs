//! The fixed test signers (fuzz/keys): P-256 ECDSA, Ed25519 and RSA, behind
//! one type.

use smime_core::backend::{BackendError, BackendErrorKind, ErrorType, HashAlgorithm, Signer, ToBeSigned};
use smime_core::pubkey::SignatureAlgorithm;
use smime_core::soft::SoftRsaKey;
use smime_core::soft_ec::{SoftEcKey, SoftEd25519Key};

use crate::common::keys;

pub enum AnySigner {
    Ec(SoftEcKey<'static>),
    Ed(SoftEd25519Key<'static>),
    Rsa(SoftRsaKey),
}

impl AnySigner {
    /// From a selector byte: mostly P-256 and Ed25519 (fast); RSA (slow to
    /// sign) one time in eight.
    pub fn pick(b: u8) -> Self {
        match b & 7 {
            0 => {
                let alg = if b & 8 != 0 {
                    SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256)
                } else {
                    SignatureAlgorithm::RsaPss {
                        hash: HashAlgorithm::Sha256,
                        mgf_hash: HashAlgorithm::Sha256,
                        salt_len: 32,
                    }
                };
                AnySigner::Rsa(
                    SoftRsaKey::from_der(keys::RSA_P8)
                        .unwrap()
                        .with_certificate(keys::RSA_CERT)
                        .unwrap()
                        .with_signature_algorithm(alg)
                        .unwrap()
                        .with_rng(crate::common::SeededRng::new(u64::from(b))),
                )
            }
            1..=3 => AnySigner::Ed(
                SoftEd25519Key::from_pkcs8_der(keys::ED25519_P8)
                    .unwrap()
                    .with_certificate(keys::ED25519_CERT)
                    .unwrap(),
            ),
            _ => {
                let h = [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512]
                    [usize::from(b >> 3) % 3];
                AnySigner::Ec(
                    SoftEcKey::from_pkcs8_der(keys::P256_P8)
                        .unwrap()
                        .with_hash(h)
                        .unwrap()
                        .with_certificate(keys::P256_CERT)
                        .unwrap(),
                )
            }
        }
    }
}

impl ErrorType for AnySigner {
    type Error = BackendErrorKind;
}

impl Signer for AnySigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        match self {
            AnySigner::Ec(k) => k.algorithm(),
            AnySigner::Ed(k) => k.algorithm(),
            AnySigner::Rsa(k) => k.algorithm(),
        }
    }
    fn certificate(&self) -> Option<&[u8]> {
        match self {
            AnySigner::Ec(k) => k.certificate(),
            AnySigner::Ed(k) => k.certificate(),
            AnySigner::Rsa(k) => Signer::certificate(k),
        }
    }
    fn max_signature_len(&self) -> usize {
        match self {
            AnySigner::Ec(k) => k.max_signature_len(),
            AnySigner::Ed(k) => k.max_signature_len(),
            AnySigner::Rsa(k) => k.max_signature_len(),
        }
    }
    fn sign(&mut self, tbs: &ToBeSigned<'_>, out: &mut [u8]) -> Result<usize, BackendErrorKind> {
        match self {
            AnySigner::Ec(k) => k.sign(tbs, out),
            AnySigner::Ed(k) => k.sign(tbs, out),
            AnySigner::Rsa(k) => k.sign(tbs, out).map_err(|e| e.kind()),
        }
    }
}
