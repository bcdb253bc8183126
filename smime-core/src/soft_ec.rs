//! A software ECDSA private key on P-256 or P-384 (feature `soft-ec`): a
//! [`Signer`] for keys held in files.
//!
//! [`SoftEd25519Key`] does the same for Ed25519 (RFC 8419).
//!
//! [`SoftEcKey`] is also a [`KeyAgreement`] key (ECDH on P-256 / P-384 for
//! KeyAgreeRecipientInfo, RFC 5753), and [`SoftX25519Key`] is one for X25519
//! (RFC 8418).
//!
//! ECDSA signatures are deterministic (RFC 6979) and come out as DER
//! `Ecdsa-Sig-Value`, as CMS carries them. Nothing here allocates; the
//! certificate is borrowed.

use core::fmt;

use p256::pkcs8::DecodePrivateKey;
use p256::ecdsa::signature::hazmat::PrehashSigner;

use crate::backend::{
    AgreementCurve, BackendErrorKind, ErrorType, HashAlgorithm, KeyAgreement, KeyTransAlgorithm,
    KeyTransDecrypter, RecipientId, Signer, ToBeSigned,
};
use crate::error::{Error, ErrorKind, Result};
use crate::oid;
use crate::pubkey::SignatureAlgorithm;
use crate::x509::CertificateRef;

enum Key {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// An ECDSA private key (P-256 or P-384), with the certificate it signs for.
pub struct SoftEcKey<'c> {
    key: Key,
    hash: HashAlgorithm,
    cert: Option<&'c [u8]>,
}

impl<'c> SoftEcKey<'c> {
    /// Reads a PKCS#8 `PrivateKeyInfo` (unencrypted) holding a P-256 or
    /// P-384 key. The hash is SHA-256 for P-256 and SHA-384 for P-384.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(Self { key: Key::P256(k), hash: HashAlgorithm::Sha256, cert: None });
        }
        if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(Self { key: Key::P384(k), hash: HashAlgorithm::Sha384, cert: None });
        }
        Err(Error::new(ErrorKind::InvalidKey))
    }

    /// Chooses the hash (SHA-256, SHA-384 or SHA-512); SHA-1 is
    /// [`ErrorKind::UnsupportedAlgorithm`].
    pub fn with_hash(mut self, hash: HashAlgorithm) -> Result<Self> {
        if hash == HashAlgorithm::Sha1 {
            return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
        }
        self.hash = hash;
        Ok(self)
    }

    /// Attaches the key's certificate. [`ErrorKind::InvalidCertificate`] if it
    /// does not parse, [`ErrorKind::InvalidKey`] if its key is not this key.
    pub fn with_certificate(mut self, cert_der: &'c [u8]) -> Result<Self> {
        let cert = CertificateRef::from_der(cert_der)?;
        if cert.public_key_algorithm() != oid::EC_PUBLIC_KEY {
            return Err(Error::new(ErrorKind::InvalidKey));
        }
        let same = match &self.key {
            Key::P256(k) => {
                k.verifying_key().to_sec1_point(false).as_bytes() == cert.public_key()
                    || k.verifying_key().to_sec1_point(true).as_bytes() == cert.public_key()
            }
            Key::P384(k) => {
                k.verifying_key().to_sec1_point(false).as_bytes() == cert.public_key()
                    || k.verifying_key().to_sec1_point(true).as_bytes() == cert.public_key()
            }
        };
        if !same {
            return Err(Error::new(ErrorKind::InvalidKey));
        }
        self.cert = Some(cert_der);
        Ok(self)
    }
}

impl fmt::Debug for SoftEcKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let curve = match self.key {
            Key::P256(_) => "P-256",
            Key::P384(_) => "P-384",
        };
        f.debug_struct("SoftEcKey")
            .field("curve", &curve)
            .field("hash", &self.hash)
            .field("certificate", &self.cert.is_some())
            .finish_non_exhaustive()
    }
}

impl ErrorType for SoftEcKey<'_> {
    type Error = BackendErrorKind;
}

impl Signer for SoftEcKey<'_> {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::Ecdsa(self.hash)
    }

    fn certificate(&self) -> Option<&[u8]> {
        self.cert
    }

    fn max_signature_len(&self) -> usize {
        match self.key {
            // SEQUENCE { INTEGER r, INTEGER s }, each with a possible 0 octet.
            Key::P256(_) => 72,
            Key::P384(_) => 104,
        }
    }

    /// Signs `tbs.digest` (RFC 6979 deterministic nonce).
    fn sign(&mut self, tbs: &ToBeSigned<'_>, out: &mut [u8]) -> core::result::Result<usize, BackendErrorKind> {
        if tbs.digest.len() != self.hash.output_len() {
            return Err(BackendErrorKind::Other);
        }
        let mut copy = |der: &[u8]| -> core::result::Result<usize, BackendErrorKind> {
            let dst = out.get_mut(..der.len()).ok_or(BackendErrorKind::BufferTooSmall)?;
            dst.copy_from_slice(der);
            Ok(der.len())
        };
        match &self.key {
            Key::P256(k) => {
                let sig: p256::ecdsa::DerSignature =
                    k.sign_prehash(tbs.digest).map_err(|_| BackendErrorKind::Other)?;
                copy(sig.as_bytes())
            }
            Key::P384(k) => {
                let sig: p384::ecdsa::DerSignature =
                    k.sign_prehash(tbs.digest).map_err(|_| BackendErrorKind::Other)?;
                copy(sig.as_bytes())
            }
        }
    }
}

/// The fixed prefix of an Ed25519 PKCS#8 v1 `PrivateKeyInfo` (RFC 8410 § 7):
/// SEQUENCE, version 0, AlgorithmIdentifier id-Ed25519, OCTET STRING
/// { OCTET STRING (32) }.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// An Ed25519 private key (RFC 8410, RFC 8419), with its certificate.
/// Pure Ed25519 signs the DER of the signed attributes itself, so it needs
/// signed attributes (the encoder refuses it without).
pub struct SoftEd25519Key<'c> {
    key: ed25519_dalek::SigningKey,
    cert: Option<&'c [u8]>,
}

impl<'c> SoftEd25519Key<'c> {
    /// Reads a PKCS#8 v1 `PrivateKeyInfo` of an Ed25519 key (48 bytes, as
    /// OpenSSL writes it). Anything else is [`ErrorKind::InvalidKey`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let secret = der
            .strip_prefix(&ED25519_PKCS8_PREFIX[..])
            .and_then(|s| <&[u8; 32]>::try_from(s).ok())
            .ok_or(Error::new(ErrorKind::InvalidKey))?;
        Ok(Self { key: ed25519_dalek::SigningKey::from_bytes(secret), cert: None })
    }

    /// Attaches the key's certificate. [`ErrorKind::InvalidCertificate`] if it
    /// does not parse, [`ErrorKind::InvalidKey`] if its key is not this key.
    pub fn with_certificate(mut self, cert_der: &'c [u8]) -> Result<Self> {
        let cert = CertificateRef::from_der(cert_der)?;
        if cert.public_key_algorithm() != oid::ED25519
            || cert.public_key() != self.key.verifying_key().as_bytes()
        {
            return Err(Error::new(ErrorKind::InvalidKey));
        }
        self.cert = Some(cert_der);
        Ok(self)
    }
}

impl fmt::Debug for SoftEd25519Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftEd25519Key")
            .field("certificate", &self.cert.is_some())
            .finish_non_exhaustive()
    }
}

impl ErrorType for SoftEd25519Key<'_> {
    type Error = BackendErrorKind;
}

impl Signer for SoftEd25519Key<'_> {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::Ed25519
    }

    fn certificate(&self) -> Option<&[u8]> {
        self.cert
    }

    fn max_signature_len(&self) -> usize {
        64
    }

    /// Signs `tbs.message`; without a message this is
    /// [`BackendErrorKind::UnsupportedAlgorithm`].
    fn sign(&mut self, tbs: &ToBeSigned<'_>, out: &mut [u8]) -> core::result::Result<usize, BackendErrorKind> {
        use ed25519_dalek::Signer as _;
        let msg = tbs.message.ok_or(BackendErrorKind::UnsupportedAlgorithm)?;
        let sig = self.key.sign(msg).to_bytes();
        let dst = out.get_mut(..sig.len()).ok_or(BackendErrorKind::BufferTooSmall)?;
        dst.copy_from_slice(&sig);
        Ok(sig.len())
    }
}

/// The recipient id of a certificate held as DER.
fn cert_recipient_id(cert: Option<&[u8]>) -> Option<RecipientId<'_>> {
    cert.and_then(|c| CertificateRef::from_der(c).ok()).map(|c| c.recipient_id())
}

/// Copies a shared secret into `out`.
fn put_secret(z: &[u8], out: &mut [u8]) -> core::result::Result<usize, BackendErrorKind> {
    let dst = out.get_mut(..z.len()).ok_or(BackendErrorKind::BufferTooSmall)?;
    dst.copy_from_slice(z);
    Ok(z.len())
}

impl KeyAgreement for SoftEcKey<'_> {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        cert_recipient_id(self.cert)
    }

    fn curve(&self) -> AgreementCurve {
        match self.key {
            Key::P256(_) => AgreementCurve::P256,
            Key::P384(_) => AgreementCurve::P384,
        }
    }

    /// ECDH (SEC 1 §3.3.1): `Z` is the x-coordinate of `d·Q`. `peer_public`
    /// must be a SEC1 point on the key's curve (not the identity); anything
    /// else is [`BackendErrorKind::DecryptionFailed`].
    fn shared_secret(&mut self, peer_public: &[u8], out: &mut [u8]) -> core::result::Result<usize, BackendErrorKind> {
        use p256::elliptic_curve::point::AffineCoordinates;
        use zeroize::Zeroize;
        match &self.key {
            Key::P256(k) => {
                let q = p256::PublicKey::from_sec1_bytes(peer_public)
                    .map_err(|_| BackendErrorKind::DecryptionFailed)?;
                let d: &p256::Scalar = k.as_nonzero_scalar().as_ref();
                let mut x = (q.to_projective() * d).to_affine().x();
                let r = put_secret(&x, out);
                x.as_mut_slice().zeroize();
                r
            }
            Key::P384(k) => {
                let q = p384::PublicKey::from_sec1_bytes(peer_public)
                    .map_err(|_| BackendErrorKind::DecryptionFailed)?;
                let d: &p384::Scalar = k.as_nonzero_scalar().as_ref();
                let mut x = (q.to_projective() * d).to_affine().x();
                let r = put_secret(&x, out);
                x.as_mut_slice().zeroize();
                r
            }
        }
    }
}

/// The fixed prefix of an X25519 PKCS#8 v1 `PrivateKeyInfo` (RFC 8410 § 7).
const X25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x6E, 0x04, 0x22, 0x04, 0x20,
];

/// An X25519 private key (RFC 8410, RFC 8418), with its certificate: a
/// [`KeyAgreement`] key for KeyAgreeRecipientInfo.
pub struct SoftX25519Key<'c> {
    secret: zeroize::Zeroizing<[u8; 32]>,
    cert: Option<&'c [u8]>,
}

impl<'c> SoftX25519Key<'c> {
    /// Reads a PKCS#8 v1 `PrivateKeyInfo` of an X25519 key (48 bytes, as
    /// OpenSSL writes it). Anything else is [`ErrorKind::InvalidKey`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let secret = der
            .strip_prefix(&X25519_PKCS8_PREFIX[..])
            .and_then(|s| <[u8; 32]>::try_from(s).ok())
            .ok_or(Error::new(ErrorKind::InvalidKey))?;
        Ok(Self { secret: zeroize::Zeroizing::new(secret), cert: None })
    }

    /// The public key (`X25519(k, 9)`).
    pub fn public_key(&self) -> [u8; 32] {
        crate::agree::kari::x25519_base(&self.secret)
    }

    /// Attaches the key's certificate. [`ErrorKind::InvalidCertificate`] if it
    /// does not parse, [`ErrorKind::InvalidKey`] if its key is not this key.
    pub fn with_certificate(mut self, cert_der: &'c [u8]) -> Result<Self> {
        let cert = CertificateRef::from_der(cert_der)?;
        if cert.public_key_algorithm() != crate::agree::oids::X25519
            || cert.public_key() != self.public_key()
        {
            return Err(Error::new(ErrorKind::InvalidKey));
        }
        self.cert = Some(cert_der);
        Ok(self)
    }
}

impl fmt::Debug for SoftX25519Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftX25519Key")
            .field("certificate", &self.cert.is_some())
            .finish_non_exhaustive()
    }
}

impl ErrorType for SoftX25519Key<'_> {
    type Error = BackendErrorKind;
}

impl KeyAgreement for SoftX25519Key<'_> {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        cert_recipient_id(self.cert)
    }

    fn curve(&self) -> AgreementCurve {
        AgreementCurve::X25519
    }

    /// X25519 (RFC 7748); an all-zero result (a small-order peer key) is
    /// [`BackendErrorKind::DecryptionFailed`].
    fn shared_secret(&mut self, peer_public: &[u8], out: &mut [u8]) -> core::result::Result<usize, BackendErrorKind> {
        let u = <&[u8; 32]>::try_from(peer_public).map_err(|_| BackendErrorKind::DecryptionFailed)?;
        let z = zeroize::Zeroizing::new(
            crate::agree::kari::x25519(&self.secret, u).ok_or(BackendErrorKind::DecryptionFailed)?,
        );
        put_secret(&z[..], out)
    }
}

/// A key-agreement key as a decrypter: [`KeyTransDecrypter::decrypt_key`]
/// is [`BackendErrorKind::UnsupportedAlgorithm`]; the decoder uses it on
/// KeyAgreeRecipientInfo through `agreement_curve` and `shared_secret`.
macro_rules! agreement_decrypter {
    ($t:ident) => {
        impl KeyTransDecrypter for $t<'_> {
            fn recipient_id(&self) -> Option<RecipientId<'_>> {
                cert_recipient_id(self.cert)
            }

            fn decrypt_key(
                &mut self,
                _algorithm: &KeyTransAlgorithm<'_>,
                _encrypted_key: &[u8],
                _out: &mut [u8],
            ) -> core::result::Result<usize, BackendErrorKind> {
                Err(BackendErrorKind::UnsupportedAlgorithm)
            }

            fn agreement_curve(&self) -> Option<AgreementCurve> {
                Some(KeyAgreement::curve(self))
            }

            fn shared_secret(
                &mut self,
                peer_public: &[u8],
                out: &mut [u8],
            ) -> Option<core::result::Result<usize, BackendErrorKind>> {
                Some(KeyAgreement::shared_secret(self, peer_public, out))
            }
        }
    };
}

agreement_decrypter!(SoftEcKey);
agreement_decrypter!(SoftX25519Key);
