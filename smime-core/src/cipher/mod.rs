//! Content-encryption ciphers and the policy of which ones may be used.
//!
//! - [`ContentCipher`]: the ciphers this library implements, with their OIDs.
//! - [`cbc`]: streaming CBC encryption and decryption with PKCS#7 padding,
//!   checked in constant time; no allocation, about 420 bytes of state
//!   (mostly the key schedule).
//! - [`aead`]: streaming AES-GCM and ChaCha20-Poly1305 for AuthEnvelopedData
//!   (RFC 5083, 5084, 8103); unauthenticated until `finish`.
//! - [`Policy`]: what the caller allows to be produced and accepted.
//! - Triple DES (feature `des`): the crate's own allocation-free, table-based
//!   DES-EDE3 (`cipher/tdes.rs`), used by [`cbc`] and the 3DES key wrap.
//!
//! Weak ciphers (RC2 at any key size, single DES) are recognised by OID only
//! so they can be refused with a clear error; they are not implemented.

#[cfg(feature = "aead")]
pub mod aead;
#[cfg(not(feature = "aead"))]
#[path = "aead_off.rs"]
pub mod aead;
pub mod cbc;
#[cfg(feature = "des")]
pub(crate) mod tdes;

pub use aead::{AeadDecryptor, AeadEncryptor};
pub use cbc::{CbcDecryptor, CbcEncryptor};

use crate::error::{AlgorithmName, Error, ErrorKind, Result};
use crate::oid;

/// A content-encryption cipher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentCipher {
    /// AES-128-CBC (RFC 3565).
    Aes128Cbc,
    /// AES-192-CBC (RFC 3565).
    Aes192Cbc,
    /// AES-256-CBC (RFC 3565).
    Aes256Cbc,
    /// DES-EDE3-CBC, three-key triple DES (RFC 3370 §5.1).
    DesEde3Cbc,
    /// AES-128-GCM (RFC 5084), for AuthEnvelopedData only.
    Aes128Gcm,
    /// AES-192-GCM (RFC 5084), for AuthEnvelopedData only.
    Aes192Gcm,
    /// AES-256-GCM (RFC 5084), for AuthEnvelopedData only.
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8103), for AuthEnvelopedData only.
    ChaCha20Poly1305,
}

/// The largest key of any [`ContentCipher`], in bytes.
pub const MAX_KEY_LEN: usize = 32;
/// The largest block (and IV) of any [`ContentCipher`], in bytes.
pub const MAX_BLOCK_LEN: usize = 16;

impl ContentCipher {
    /// The CBC ciphers (EnvelopedData), strongest first. The AEAD ciphers
    /// are in [`AEAD`](Self::AEAD).
    pub const ALL: [ContentCipher; 4] =
        [Self::Aes256Cbc, Self::Aes192Cbc, Self::Aes128Cbc, Self::DesEde3Cbc];

    /// The AEAD ciphers (AuthEnvelopedData), strongest first.
    pub const AEAD: [ContentCipher; 4] =
        [Self::Aes256Gcm, Self::ChaCha20Poly1305, Self::Aes192Gcm, Self::Aes128Gcm];

    /// Whether this is an authenticated cipher, carried in AuthEnvelopedData
    /// (RFC 5083) rather than EnvelopedData.
    pub const fn is_aead(self) -> bool {
        matches!(
            self,
            Self::Aes128Gcm | Self::Aes192Gcm | Self::Aes256Gcm | Self::ChaCha20Poly1305
        )
    }

    /// Nonce length in bytes of an AEAD cipher (12), IV length of a CBC one.
    pub const fn nonce_len(self) -> usize {
        if self.is_aead() { aead::NONCE_LEN } else { self.block_len() }
    }

    /// Key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128Cbc => 16,
            Self::Aes192Cbc => 24,
            Self::Aes256Cbc => 32,
            Self::DesEde3Cbc => 24,
            Self::Aes128Gcm => 16,
            Self::Aes192Gcm => 24,
            Self::Aes256Gcm | Self::ChaCha20Poly1305 => 32,
        }
    }

    /// Block length in bytes (also the IV length of CBC ciphers; AEAD ciphers
    /// have a [`nonce_len`](Self::nonce_len) instead and report the 16-byte
    /// block of their authenticator here).
    pub const fn block_len(self) -> usize {
        match self {
            Self::DesEde3Cbc => 8,
            _ => 16,
        }
    }

    /// The OID's DER content octets.
    pub const fn oid(self) -> &'static [u8] {
        match self {
            Self::Aes128Cbc => oid::AES128_CBC,
            Self::Aes192Cbc => oid::AES192_CBC,
            Self::Aes256Cbc => oid::AES256_CBC,
            Self::DesEde3Cbc => oid::DES_EDE3_CBC,
            Self::Aes128Gcm => oid::AES128_GCM,
            Self::Aes192Gcm => oid::AES192_GCM,
            Self::Aes256Gcm => oid::AES256_GCM,
            Self::ChaCha20Poly1305 => oid::CHACHA20_POLY1305,
        }
    }

    /// The cipher named by an OID. Known weak ciphers give `WeakAlgorithm`,
    /// anything else unknown `UnsupportedAlgorithm`.
    pub fn from_oid(oid: &[u8]) -> Result<Self> {
        for c in Self::ALL.into_iter().chain(Self::AEAD) {
            if c.oid() == oid {
                return Ok(c);
            }
        }
        if oid == oid::RC2_CBC {
            return Err(Error::new(ErrorKind::WeakAlgorithm(AlgorithmName::Rc2Cbc)));
        }
        if oid == oid::DES_CBC {
            return Err(Error::new(ErrorKind::WeakAlgorithm(AlgorithmName::DesCbc)));
        }
        Err(Error::new(ErrorKind::UnsupportedAlgorithm))
    }

    /// The algorithm's name, for errors and reports.
    pub const fn name(self) -> AlgorithmName {
        match self {
            Self::Aes128Cbc => AlgorithmName::Aes128Cbc,
            Self::Aes192Cbc => AlgorithmName::Aes192Cbc,
            Self::Aes256Cbc => AlgorithmName::Aes256Cbc,
            Self::DesEde3Cbc => AlgorithmName::DesEde3Cbc,
            Self::Aes128Gcm => AlgorithmName::Aes128Gcm,
            Self::Aes192Gcm => AlgorithmName::Aes192Gcm,
            Self::Aes256Gcm => AlgorithmName::Aes256Gcm,
            Self::ChaCha20Poly1305 => AlgorithmName::ChaCha20Poly1305,
        }
    }

    /// The length of the ciphertext for `plaintext_len` bytes (PKCS#7 padding
    /// always adds 1 to `block_len` bytes; AEAD ciphertext is as long as the
    /// plaintext, the tag is apart). `None` on overflow.
    pub const fn ciphertext_len(self, plaintext_len: u64) -> Option<u64> {
        if self.is_aead() {
            return Some(plaintext_len);
        }
        let b = self.block_len() as u64;
        match (plaintext_len / b).checked_add(1) {
            Some(blocks) => blocks.checked_mul(b),
            None => None,
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Self::Aes128Cbc => 1,
            Self::Aes192Cbc => 2,
            Self::Aes256Cbc => 4,
            Self::DesEde3Cbc => 8,
            Self::Aes128Gcm => 16,
            Self::Aes192Gcm => 32,
            Self::Aes256Gcm => 64,
            Self::ChaCha20Poly1305 => 128,
        }
    }
}

impl core::fmt::Display for ContentCipher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.name(), f)
    }
}

/// A set of content ciphers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CipherSet(u8);

impl CipherSet {
    /// No cipher.
    pub const EMPTY: CipherSet = CipherSet(0);
    /// The AES-CBC ciphers.
    pub const AES: CipherSet = CipherSet(1 | 2 | 4);
    /// The AES-GCM ciphers.
    pub const AES_GCM: CipherSet = CipherSet(16 | 32 | 64);
    /// The authenticated ciphers (AES-GCM and ChaCha20-Poly1305).
    pub const AEAD: CipherSet = CipherSet(16 | 32 | 64 | 128);
    /// Every implemented cipher.
    pub const ALL: CipherSet = CipherSet(0xFF);

    /// The union of two sets.
    pub const fn union(self, other: CipherSet) -> Self {
        CipherSet(self.0 | other.0)
    }

    /// This set with `c` added.
    pub const fn with(self, c: ContentCipher) -> Self {
        CipherSet(self.0 | c.bit())
    }

    /// This set without `c`.
    pub const fn without(self, c: ContentCipher) -> Self {
        CipherSet(self.0 & !c.bit())
    }

    /// Whether `c` is in the set.
    pub const fn contains(self, c: ContentCipher) -> bool {
        self.0 & c.bit() != 0
    }
}

/// The caller's algorithm policy for EnvelopedData.
///
/// The default accepts AES-CBC, 3DES, AES-GCM and ChaCha20-Poly1305 for
/// decryption (partners still send 3DES), produces AES-CBC and, when asked
/// for, the AEAD ciphers (3DES only when the set is widened), requires recipients'
/// RSA keys of at least 2048 bits, and requires the keyEncipherment key usage
/// on recipient certificates that carry a keyUsage extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Ciphers accepted when decrypting.
    pub accept: CipherSet,
    /// Ciphers that may be produced when encrypting.
    pub produce: CipherSet,
    /// Smallest recipient RSA modulus, in bits, that may be encrypted to.
    pub min_rsa_bits: u32,
    /// Refuse recipient certificates whose keyUsage lacks keyEncipherment
    /// (keyAgreement for ECDH recipients).
    pub require_key_encipherment: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Policy {
    /// The default policy (see the type's documentation).
    pub const DEFAULT: Policy = Policy {
        accept: CipherSet::ALL,
        produce: CipherSet::AES.union(CipherSet::AEAD),
        min_rsa_bits: 2048,
        require_key_encipherment: true,
    };

    /// Checks that `c` may be accepted when decrypting.
    pub fn check_accept(&self, c: ContentCipher) -> Result<()> {
        if self.accept.contains(c) {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::AlgorithmNotAllowed(c.name())))
        }
    }

    /// Checks that `c` may be produced when encrypting.
    pub fn check_produce(&self, c: ContentCipher) -> Result<()> {
        if self.produce.contains(c) {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::AlgorithmNotAllowed(c.name())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip_and_weak_ones_are_named() {
        for c in ContentCipher::ALL.into_iter().chain(ContentCipher::AEAD) {
            assert_eq!(ContentCipher::from_oid(c.oid()).unwrap(), c);
            assert_eq!(c.is_aead(), ContentCipher::AEAD.contains(&c));
        }
        assert_eq!(
            ContentCipher::from_oid(oid::RC2_CBC).unwrap_err().kind(),
            ErrorKind::WeakAlgorithm(AlgorithmName::Rc2Cbc)
        );
        assert_eq!(
            ContentCipher::from_oid(oid::DES_CBC).unwrap_err().kind(),
            ErrorKind::WeakAlgorithm(AlgorithmName::DesCbc)
        );
        assert_eq!(
            ContentCipher::from_oid(&[0x2A, 0x03]).unwrap_err().kind(),
            ErrorKind::UnsupportedAlgorithm
        );
    }

    #[test]
    fn default_policy() {
        let p = Policy::default();
        assert!(p.check_accept(ContentCipher::DesEde3Cbc).is_ok());
        assert!(p.check_produce(ContentCipher::DesEde3Cbc).is_err());
        assert!(p.check_produce(ContentCipher::Aes256Cbc).is_ok());
        assert_eq!(ContentCipher::Aes128Cbc.ciphertext_len(16), Some(32));
        assert_eq!(ContentCipher::DesEde3Cbc.ciphertext_len(7), Some(8));
    }
}
