//! Key-backend traits: the private-key operations that hardware performs.
//!
//! Private keys never enter the core. A backend (software key behind the
//! `soft-rsa` feature, a PKCS#11 token, a chip card) implements these traits;
//! the core calls them with caller-sized buffers and gets bytes back.
//!
//! The traits follow the embedded-hal pattern: an [`ErrorType`] with an error
//! that has a [`kind()`](BackendError::kind), and forwarding impls for `&mut T`
//! so a caller can lend a backend without giving it away.
//!
//! A backend that needs a PIN handles it itself (PKCS#11 login, ISO 7816
//! VERIFY, a reader's PIN pad). The core never retries a failed operation, so
//! a wrong PIN is never presented twice by this library.

use core::fmt;

/// What kind of failure a backend reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The private-key operation ran and the result was invalid (bad padding,
    /// wrong key). The core turns this into its uniform RFC 3218 failure.
    DecryptionFailed,
    /// A PIN is needed and none was given.
    PinRequired,
    /// The PIN was wrong; `tries_left` when the device says so.
    PinIncorrect {
        /// Remaining tries, when known.
        tries_left: Option<u8>,
    },
    /// The PIN (or key) is blocked.
    PinLocked,
    /// The key was not found on the device.
    KeyNotFound,
    /// The device cannot do the requested algorithm or mechanism.
    UnsupportedAlgorithm,
    /// The output buffer was too small.
    BufferTooSmall,
    /// The card or token was removed or reset during the operation.
    Removed,
    /// A device or transport failure.
    Device,
    /// Anything else.
    Other,
}

impl fmt::Display for BackendErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DecryptionFailed => f.write_str("decryption failed"),
            Self::PinRequired => f.write_str("PIN required"),
            Self::PinIncorrect { tries_left: Some(n) } => {
                write!(f, "PIN incorrect ({n} tries left)")
            }
            Self::PinIncorrect { tries_left: None } => f.write_str("PIN incorrect"),
            Self::PinLocked => f.write_str("PIN locked"),
            Self::KeyNotFound => f.write_str("key not found"),
            Self::UnsupportedAlgorithm => f.write_str("algorithm not supported by the key"),
            Self::BufferTooSmall => f.write_str("buffer too small"),
            Self::Removed => f.write_str("device removed or reset"),
            Self::Device => f.write_str("device failure"),
            Self::Other => f.write_str("backend failure"),
        }
    }
}

/// An error a backend returns.
pub trait BackendError: fmt::Debug {
    /// The kind of failure.
    fn kind(&self) -> BackendErrorKind;
}

impl BackendError for core::convert::Infallible {
    fn kind(&self) -> BackendErrorKind {
        match *self {}
    }
}

impl BackendError for BackendErrorKind {
    fn kind(&self) -> BackendErrorKind {
        *self
    }
}

/// The error type of a backend.
pub trait ErrorType {
    /// The backend's error.
    type Error: BackendError;
}

impl<T: ErrorType + ?Sized> ErrorType for &mut T {
    type Error = T::Error;
}

/// A hash function, as used by OAEP, MGF1 and (later) signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-1 (legacy; OAEP default parameters).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// Output length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// A key-transport algorithm with its parameters, borrowed from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyTransAlgorithm<'a> {
    /// RSAES-PKCS1-v1_5 (`rsaEncryption`).
    RsaPkcs1v15,
    /// RSAES-OAEP (RFC 3560 / RFC 8017).
    RsaOaep {
        /// The hash function.
        hash: HashAlgorithm,
        /// The hash function of MGF1.
        mgf_hash: HashAlgorithm,
        /// The label (`pSourceFunc`); empty by default.
        label: &'a [u8],
    },
}

/// How a recipient is named in a message: the certificate's issuer and serial
/// number, and its subject key identifier when it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecipientId<'a> {
    /// The DER of the certificate's issuer `Name` (the whole TLV).
    pub issuer: &'a [u8],
    /// The content octets of the certificate's serial number INTEGER.
    pub serial: &'a [u8],
    /// The subjectKeyIdentifier extension's value, if the certificate has one.
    pub subject_key_id: Option<&'a [u8]>,
}

/// A key-transport private key: unwraps a content-encryption key.
///
/// Implemented by the software backend (`soft-rsa`), PKCS#11 tokens and cards.
/// A token holding several keys offers one `KeyTransDecrypter` per key; the
/// decoder is given them all (a key history) and uses the one a recipient info
/// names.
pub trait KeyTransDecrypter: ErrorType {
    /// Which certificate this key belongs to. `None` means the certificate is
    /// not known: the decoder then tries the key on every key-transport
    /// recipient info (trial decryption), which is slower and, with PKCS#1
    /// v1.5, gives an attacker more oracle queries per message.
    fn recipient_id(&self) -> Option<RecipientId<'_>>;

    /// Decrypts `encrypted_key` with `algorithm` into `out`; returns the length
    /// of the key written.
    ///
    /// A failure of the decryption itself (bad padding) must be reported with
    /// [`BackendErrorKind::DecryptionFailed`], so that the core can hide it
    /// (RFC 3218). Other kinds (a wrong PIN, a removed card) are passed on to
    /// the caller as they are.
    fn decrypt_key(
        &mut self,
        algorithm: &KeyTransAlgorithm<'_>,
        encrypted_key: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Self::Error>;

    /// The curve when this is a key-agreement key (EC or X25519) that opens
    /// KeyAgreeRecipientInfo; `None` (the default) for a key-transport key.
    ///
    /// A key-agreement or KEK key answers [`decrypt_key`](Self::decrypt_key)
    /// with an error of kind [`BackendErrorKind::UnsupportedAlgorithm`].
    fn agreement_curve(&self) -> Option<AgreementCurve> {
        None
    }

    /// For a key-agreement key: the ECDH shared secret with `peer_public`
    /// (as [`KeyAgreement::shared_secret`]); `None` (the default) otherwise.
    fn shared_secret(
        &mut self,
        peer_public: &[u8],
        out: &mut [u8],
    ) -> Option<Result<usize, Self::Error>> {
        let _ = (peer_public, out);
        None
    }

    /// For a pre-shared key-encryption key (KEKRecipientInfo): its key
    /// identifier and the key; `None` (the default) otherwise.
    fn kek(&self) -> Option<(&[u8], &[u8])> {
        None
    }
}

impl<T: KeyTransDecrypter + ?Sized> KeyTransDecrypter for &mut T {
    fn agreement_curve(&self) -> Option<AgreementCurve> {
        T::agreement_curve(self)
    }

    fn shared_secret(
        &mut self,
        peer_public: &[u8],
        out: &mut [u8],
    ) -> Option<Result<usize, Self::Error>> {
        T::shared_secret(self, peer_public, out)
    }

    fn kek(&self) -> Option<(&[u8], &[u8])> {
        T::kek(self)
    }

    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        T::recipient_id(self)
    }

    fn decrypt_key(
        &mut self,
        algorithm: &KeyTransAlgorithm<'_>,
        encrypted_key: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Self::Error> {
        T::decrypt_key(self, algorithm, encrypted_key, out)
    }
}

/// What a [`Signer`] signs: the message and its digest.
///
/// In CMS the message is the DER of the signed attributes (or, without
/// signed attributes, the content, of which only the digest is at hand).
/// `digest` is the message's hash with the signer's hash algorithm; it is
/// empty for Ed25519, which signs the message itself. A backend uses
/// whichever its device wants: a token that hashes itself takes `message`,
/// a card that signs a hash takes `digest`.
#[derive(Clone, Copy, Debug)]
pub struct ToBeSigned<'a> {
    /// The message (the DER of the signed attributes), when available.
    pub message: Option<&'a [u8]>,
    /// The message's digest with the signer's hash algorithm.
    pub digest: &'a [u8],
}

/// A signing private key (software key, PKCS#11 token, card).
pub trait Signer: ErrorType {
    /// The signature algorithm this key produces, including its hash.
    fn algorithm(&self) -> crate::pubkey::SignatureAlgorithm;

    /// The DER of the signer's certificate, when the backend has it.
    fn certificate(&self) -> Option<&[u8]>;

    /// The longest signature this key produces, in bytes.
    fn max_signature_len(&self) -> usize;

    /// Signs into `out`; returns the signature's length. The signature is in
    /// the form CMS carries: RSA as is, ECDSA as a DER `Ecdsa-Sig-Value`,
    /// Ed25519 as 64 bytes.
    fn sign(&mut self, tbs: &ToBeSigned<'_>, out: &mut [u8]) -> Result<usize, Self::Error>;
}

impl<T: Signer + ?Sized> Signer for &mut T {
    fn algorithm(&self) -> crate::pubkey::SignatureAlgorithm {
        T::algorithm(self)
    }

    fn certificate(&self) -> Option<&[u8]> {
        T::certificate(self)
    }

    fn max_signature_len(&self) -> usize {
        T::max_signature_len(self)
    }

    fn sign(&mut self, tbs: &ToBeSigned<'_>, out: &mut [u8]) -> Result<usize, Self::Error> {
        T::sign(self, tbs, out)
    }
}

/// The curve of a key-agreement key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgreementCurve {
    /// NIST P-256 (RFC 5753).
    P256,
    /// NIST P-384 (RFC 5753).
    P384,
    /// X25519 (RFC 8418).
    X25519,
}

/// A key-agreement private key (ECDH): computes the shared secret `Z` with a
/// peer's public key; the key-derivation function runs in the core.
///
/// Shaped for what devices offer: PKCS#11 `CKM_ECDH1_DERIVE` with the null
/// KDF (SoftHSM 2.6 supports only that), and the OpenPGP card's ECDH through
/// PSO:DECIPHER with the ephemeral point. ECDH recipients
/// (KeyAgreeRecipientInfo, RFC 5753 / RFC 8418) use it.
pub trait KeyAgreement: ErrorType {
    /// Which certificate this key belongs to, when known.
    fn recipient_id(&self) -> Option<RecipientId<'_>>;

    /// The key's curve.
    fn curve(&self) -> AgreementCurve;

    /// Computes the shared secret with `peer_public` (an uncompressed SEC1
    /// point for the NIST curves, 32 bytes for X25519) into `out`; returns
    /// its length (the field size).
    fn shared_secret(&mut self, peer_public: &[u8], out: &mut [u8]) -> Result<usize, Self::Error>;
}

impl<T: KeyAgreement + ?Sized> KeyAgreement for &mut T {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        T::recipient_id(self)
    }

    fn curve(&self) -> AgreementCurve {
        T::curve(self)
    }

    fn shared_secret(&mut self, peer_public: &[u8], out: &mut [u8]) -> Result<usize, Self::Error> {
        T::shared_secret(self, peer_public, out)
    }
}
