//! KEKRecipientInfo (RFC 5652 §6.2.3): a content-encryption key wrapped under
//! a pre-shared key-encryption key with AES key wrap (RFC 3394, RFC 3565).
//!
//! ```text
//! KEKRecipientInfo ::= SEQUENCE {
//!   version CMSVersion,  -- always set to 4
//!   kekid KEKIdentifier,
//!   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
//!   encryptedKey EncryptedKey }
//!
//! KEKIdentifier ::= SEQUENCE {
//!   keyIdentifier OCTET STRING,
//!   date GeneralizedTime OPTIONAL,
//!   other OtherKeyAttribute OPTIONAL }
//! ```

use subtle::ConstantTimeEq;

use super::kari::KeyWrapAlg;
use super::keywrap;
use crate::ber::encode::{SliceWriter, tlv_len};
use crate::ber::{SliceReader, Tag};
use crate::error::{Error, ErrorKind, Result};

/// A parsed KEKRecipientInfo, borrowed from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KekRecipientInfo<'a> {
    /// `kekid.keyIdentifier`.
    pub key_id: &'a [u8],
    /// The key-wrap algorithm.
    pub wrap: KeyWrapAlg,
    /// The wrapped content-encryption key.
    pub encrypted_key: &'a [u8],
}

/// Parses a RecipientInfo holding a KEKRecipientInfo: the whole `[2]`-tagged
/// element. Key-wrap algorithms other than AES and triple-DES wrap are
/// [`ErrorKind::UnsupportedAlgorithm`].
pub fn parse(ri: &[u8]) -> Result<KekRecipientInfo<'_>> {
    let mut outer = SliceReader::new(ri);
    let t = outer.read_expect(Tag::context(2, true))?;
    outer.finish()?;
    let mut r = t.reader();
    if r.read_expect(Tag::INTEGER)?.small_uint()? != 4 {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let mut kr = r.read_expect(Tag::SEQUENCE)?.reader();
    let key_id = kr.read_expect(Tag::OCTET_STRING)?.value;
    // date (GeneralizedTime) and other (SEQUENCE) are optional and ignored.
    let _ = kr.read_optional(Tag::universal(24, false))?;
    let _ = kr.read_optional(Tag::SEQUENCE)?;
    kr.finish()?;
    let wrap = KeyWrapAlg::from_alg_id(r.read_expect(Tag::SEQUENCE)?)?;
    let encrypted_key = r.read_expect(Tag::OCTET_STRING)?.value;
    r.finish()?;
    Ok(KekRecipientInfo { key_id, wrap, encrypted_key })
}

/// Unwraps the CEK of the RecipientInfo `ri` (the whole `[2]` element) with
/// the KEK `kek` named `kek_id`, into `out`; returns the CEK's length.
///
/// [`ErrorKind::NoMatchingRecipient`] if the recipient info names another
/// KEK; [`ErrorKind::InvalidKey`] if `kek` is not of the wrap algorithm's
/// length; [`ErrorKind::DecryptionFailed`] if the unwrap fails.
pub fn unwrap_cek(ri: &[u8], kek_id: &[u8], kek: &[u8], out: &mut [u8]) -> Result<usize> {
    let k = parse(ri)?;
    if k.key_id.len() != kek_id.len() || !bool::from(k.key_id.ct_eq(kek_id)) {
        return Err(Error::new(ErrorKind::NoMatchingRecipient));
    }
    if kek.len() != k.wrap.kek_len() {
        return Err(Error::new(ErrorKind::InvalidKey));
    }
    k.wrap.unwrap(kek, k.encrypted_key, out)
}

/// Writes a RecipientInfo (the whole `[2]`-tagged KEKRecipientInfo, version
/// 4) wrapping `cek` under `kek` (16, 24 or 32 bytes: AES-128/192/256 wrap),
/// named `kek_id`, into `out`; returns the length written.
pub fn build_kekri(kek_id: &[u8], kek: &[u8], cek: &[u8], out: &mut [u8]) -> Result<usize> {
    let wrap = match kek.len() {
        16 => KeyWrapAlg::Aes128,
        24 => KeyWrapAlg::Aes192,
        32 => KeyWrapAlg::Aes256,
        _ => return Err(Error::new(ErrorKind::InvalidKey)),
    };
    let mut ek = [0u8; keywrap::MAX_KEY_LEN + 8];
    let ek_len = keywrap::wrap(kek, cek, &mut ek)?;
    let len = |tag: Tag, n: usize| -> Result<usize> {
        usize::try_from(tlv_len(tag, n as u64)?).map_err(|_| Error::new(ErrorKind::LengthOverflow))
    };
    let kekid_content = len(Tag::OCTET_STRING, kek_id.len())?;
    let alg_content = len(Tag::OID, wrap.oid().len())?;
    let content = 3
        + len(Tag::SEQUENCE, kekid_content)?
        + len(Tag::SEQUENCE, alg_content)?
        + len(Tag::OCTET_STRING, ek_len)?;
    let mut w = SliceWriter::new(out);
    w.header(Tag::context(2, true), content)?;
    w.tlv(Tag::INTEGER, &[4])?;
    w.header(Tag::SEQUENCE, kekid_content)?;
    w.tlv(Tag::OCTET_STRING, kek_id)?;
    w.header(Tag::SEQUENCE, alg_content)?;
    w.tlv(Tag::OID, wrap.oid())?;
    w.tlv(Tag::OCTET_STRING, &ek[..ek_len])?;
    Ok(w.position())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let kek = [0x42u8; 24];
        let cek = [7u8; 32];
        let mut ri = [0u8; 128];
        let n = build_kekri(b"my key", &kek, &cek, &mut ri).unwrap();
        let p = parse(&ri[..n]).unwrap();
        assert_eq!(p.key_id, b"my key");
        assert_eq!(p.wrap, KeyWrapAlg::Aes192);
        let mut out = [0u8; 64];
        assert_eq!(unwrap_cek(&ri[..n], b"my key", &kek, &mut out).unwrap(), 32);
        assert_eq!(out[..32], cek);
        assert_eq!(unwrap_cek(&ri[..n], b"other", &kek, &mut out).unwrap_err().kind(), ErrorKind::NoMatchingRecipient);
        assert_eq!(unwrap_cek(&ri[..n], b"my key", &[0x43; 24], &mut out).unwrap_err().kind(), ErrorKind::DecryptionFailed);
        assert_eq!(unwrap_cek(&ri[..n], b"my key", &[0x42; 16], &mut out).unwrap_err().kind(), ErrorKind::InvalidKey);
    }
}

/// A pre-shared key-encryption key for KEKRecipientInfo, as a decrypter for
/// the EnvelopedData decoder: `id` is the `kekid.keyIdentifier`, `key` the
/// KEK (16, 24 or 32 bytes). Its
/// [`decrypt_key`](crate::backend::KeyTransDecrypter::decrypt_key) is
/// [`BackendErrorKind::UnsupportedAlgorithm`](crate::backend::BackendErrorKind::UnsupportedAlgorithm).
#[derive(Clone, Copy)]
pub struct KekKey<'a> {
    /// The key identifier.
    pub id: &'a [u8],
    /// The key-encryption key.
    pub key: &'a [u8],
}

impl core::fmt::Debug for KekKey<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KekKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl crate::backend::ErrorType for KekKey<'_> {
    type Error = crate::backend::BackendErrorKind;
}

impl crate::backend::KeyTransDecrypter for KekKey<'_> {
    fn recipient_id(&self) -> Option<crate::backend::RecipientId<'_>> {
        None
    }

    fn decrypt_key(
        &mut self,
        _algorithm: &crate::backend::KeyTransAlgorithm<'_>,
        _encrypted_key: &[u8],
        _out: &mut [u8],
    ) -> core::result::Result<usize, crate::backend::BackendErrorKind> {
        Err(crate::backend::BackendErrorKind::UnsupportedAlgorithm)
    }

    fn kek(&self) -> Option<(&[u8], &[u8])> {
        Some((self.id, self.key))
    }
}
