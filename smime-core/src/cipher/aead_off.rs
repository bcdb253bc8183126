//! The AEAD ciphers when the `aead` feature is off: the same API, whose
//! constructors give [`ErrorKind::UnsupportedAlgorithm`], so that a build
//! without AES-GCM and ChaCha20-Poly1305 (firmware that only sends AES-CBC)
//! carries none of their code. The types cannot be constructed.

use core::convert::Infallible;
use core::fmt;

use zeroize::Zeroizing;

use super::ContentCipher;
use crate::error::{Error, ErrorKind, Result};

/// Nonce length of every supported AEAD, in bytes.
pub const NONCE_LEN: usize = 12;
/// Full tag length, in bytes.
pub const TAG_LEN: usize = 16;
/// Shortest GCM tag accepted (RFC 5084 allows 12 to 16 bytes).
pub const MIN_TAG_LEN: usize = 12;

fn unsupported<T>() -> Result<T> {
    Err(Error::new(ErrorKind::UnsupportedAlgorithm))
}

/// Streaming AEAD encryption (not built: the `aead` feature is off).
pub struct AeadEncryptor {
    never: Infallible,
}

/// Streaming AEAD decryption (not built: the `aead` feature is off).
pub struct AeadDecryptor {
    never: Infallible,
}

impl AeadEncryptor {
    /// Always [`ErrorKind::UnsupportedAlgorithm`] without the `aead` feature.
    pub fn new(_cipher: ContentCipher, _key: &[u8], _nonce: &[u8], _aad: &[u8]) -> Result<Self> {
        unsupported()
    }

    /// The cipher.
    pub fn cipher(&self) -> ContentCipher {
        match self.never {}
    }

    /// Encrypts `input` into `out`.
    pub fn update(&mut self, _input: &[u8], _out: &mut [u8]) -> Result<usize> {
        match self.never {}
    }

    /// Encrypts `buf` in place.
    pub fn update_in_place(&mut self, _buf: &mut [u8]) -> Result<()> {
        match self.never {}
    }

    /// The 16-byte tag.
    pub fn finish(self) -> Result<Zeroizing<[u8; 16]>> {
        match self.never {}
    }
}

impl AeadDecryptor {
    /// Always [`ErrorKind::UnsupportedAlgorithm`] without the `aead` feature.
    pub fn new(_cipher: ContentCipher, _key: &[u8], _nonce: &[u8], _aad: &[u8]) -> Result<Self> {
        unsupported()
    }

    /// Always [`ErrorKind::UnsupportedAlgorithm`] without the `aead` feature.
    pub fn with_aad_parts(
        _cipher: ContentCipher,
        _key: &[u8],
        _nonce: &[u8],
        _aad: &[&[u8]],
    ) -> Result<Self> {
        unsupported()
    }

    /// The cipher.
    pub fn cipher(&self) -> ContentCipher {
        match self.never {}
    }

    /// Decrypts `input` into `out`.
    pub fn update(&mut self, _input: &[u8], _out: &mut [u8]) -> Result<usize> {
        match self.never {}
    }

    /// Authenticates `ciphertext` without decrypting it.
    pub fn authenticate(&mut self, _ciphertext: &[u8]) -> Result<()> {
        match self.never {}
    }

    /// Checks `tag`.
    pub fn finish(self, _tag: &[u8]) -> Result<()> {
        match self.never {}
    }

    /// Adds associated data that came after the content.
    pub fn add_late_aad(&mut self, _aad_parts: &[&[u8]]) -> Result<()> {
        match self.never {}
    }

    /// [`add_late_aad`](Self::add_late_aad) and [`finish`](Self::finish).
    pub fn finish_with_late_aad(self, _aad_parts: &[&[u8]], _tag: &[u8]) -> Result<()> {
        match self.never {}
    }
}

impl fmt::Debug for AeadEncryptor {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.never {}
    }
}

impl fmt::Debug for AeadDecryptor {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.never {}
    }
}
