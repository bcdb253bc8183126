//! AES key wrap (RFC 3394) with the default initial value `A6A6A6A6A6A6A6A6`.
//!
//! The KEK is 16, 24 or 32 bytes (AES-128/192/256); the wrapped key is a
//! multiple of 8 bytes, at least 16. Unwrapping checks the integrity value in
//! constant time and reports any failure as [`ErrorKind::DecryptionFailed`].

use aes::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

#[cfg(feature = "des")]
use crate::cipher::tdes::TdesEde3;
use crate::error::{Error, ErrorKind, Result};

/// The default initial value of RFC 3394 §2.2.3.1.
const IV: [u8; 8] = [0xA6; 8];

/// The largest key this module wraps, in bytes.
pub const MAX_KEY_LEN: usize = 64;

enum Kek {
    A128(Aes128),
    A192(Aes192),
    A256(Aes256),
}

impl Kek {
    fn new(kek: &[u8]) -> Result<Self> {
        let bad = |_| Error::new(ErrorKind::InvalidKey);
        Ok(match kek.len() {
            16 => Self::A128(Aes128::new_from_slice(kek).map_err(bad)?),
            24 => Self::A192(Aes192::new_from_slice(kek).map_err(bad)?),
            32 => Self::A256(Aes256::new_from_slice(kek).map_err(bad)?),
            _ => return Err(Error::new(ErrorKind::InvalidKey)),
        })
    }

    fn encrypt(&self, b: &mut Block<Aes128>) {
        match self {
            Self::A128(c) => c.encrypt_block(b),
            Self::A192(c) => c.encrypt_block(b),
            Self::A256(c) => c.encrypt_block(b),
        }
    }

    fn decrypt(&self, b: &mut Block<Aes128>) {
        match self {
            Self::A128(c) => c.decrypt_block(b),
            Self::A192(c) => c.decrypt_block(b),
            Self::A256(c) => c.decrypt_block(b),
        }
    }
}

/// The length of `key_len` bytes once wrapped.
pub const fn wrapped_len(key_len: usize) -> usize {
    key_len + 8
}

/// Wraps `key` (a multiple of 8 bytes, 16 to [`MAX_KEY_LEN`]) under `kek`
/// into `out`; returns the length written (`key.len() + 8`).
///
/// Errors: [`ErrorKind::InvalidKey`] for a KEK that is not 16, 24 or 32
/// bytes, [`ErrorKind::InvalidValue`] for a key of a bad length,
/// [`ErrorKind::BufferTooSmall`] if `out` is too short.
pub fn wrap(kek: &[u8], key: &[u8], out: &mut [u8]) -> Result<usize> {
    let cipher = Kek::new(kek)?;
    if !key.len().is_multiple_of(8) || key.len() < 16 || key.len() > MAX_KEY_LEN {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let total = key.len() + 8;
    let out = out
        .get_mut(..total)
        .ok_or(Error::new(ErrorKind::BufferTooSmall { required: total }))?;
    let n = key.len() / 8;
    out[8..].copy_from_slice(key);
    let mut a = IV;
    let mut b = Block::<Aes128>::default();
    for j in 0..6u64 {
        for i in 1..=n {
            b[..8].copy_from_slice(&a);
            b[8..].copy_from_slice(&out[8 * i..8 * i + 8]);
            cipher.encrypt(&mut b);
            let t = (n as u64) * j + i as u64;
            for (k, tb) in t.to_be_bytes().iter().enumerate() {
                a[k] = b[k] ^ tb;
            }
            out[8 * i..8 * i + 8].copy_from_slice(&b[8..]);
        }
    }
    out[..8].copy_from_slice(&a);
    b.zeroize();
    Ok(total)
}

/// Unwraps `wrapped` (a multiple of 8 bytes, 24 to `MAX_KEY_LEN + 8`) under
/// `kek` into `out`; returns the key's length (`wrapped.len() - 8`).
///
/// A failed integrity check, and a wrapped key of a bad length, give
/// [`ErrorKind::DecryptionFailed`]; `out` is then zeroized. A KEK of a bad
/// length gives [`ErrorKind::InvalidKey`], a short `out`
/// [`ErrorKind::BufferTooSmall`].
pub fn unwrap(kek: &[u8], wrapped: &[u8], out: &mut [u8]) -> Result<usize> {
    let cipher = Kek::new(kek)?;
    if !wrapped.len().is_multiple_of(8) || wrapped.len() < 24 || wrapped.len() > MAX_KEY_LEN + 8 {
        return Err(Error::new(ErrorKind::DecryptionFailed));
    }
    let key_len = wrapped.len() - 8;
    let out = out
        .get_mut(..key_len)
        .ok_or(Error::new(ErrorKind::BufferTooSmall { required: key_len }))?;
    let n = key_len / 8;
    let mut a = [0u8; 8];
    a.copy_from_slice(&wrapped[..8]);
    out.copy_from_slice(&wrapped[8..]);
    let mut b = Block::<Aes128>::default();
    for j in (0..6u64).rev() {
        for i in (1..=n).rev() {
            let t = (n as u64) * j + i as u64;
            for (k, tb) in t.to_be_bytes().iter().enumerate() {
                b[k] = a[k] ^ tb;
            }
            b[8..].copy_from_slice(&out[8 * (i - 1)..8 * i]);
            cipher.decrypt(&mut b);
            a.copy_from_slice(&b[..8]);
            out[8 * (i - 1)..8 * i].copy_from_slice(&b[8..]);
        }
    }
    b.zeroize();
    let ok = a.ct_eq(&IV);
    a.zeroize();
    if bool::from(ok) {
        Ok(key_len)
    } else {
        out.zeroize();
        Err(Error::new(ErrorKind::DecryptionFailed))
    }
}

/// The IV of the second encryption pass of the CMS triple-DES key wrap
/// (RFC 3217 §3.1).
#[cfg(feature = "des")]
const TDES_IV2: [u8; 8] = [0x4A, 0xDD, 0xA2, 0x2C, 0x79, 0xE8, 0x21, 0x05];

/// Length of a triple-DES key wrapped with [`wrap_3des`].
pub const TDES_WRAPPED_LEN: usize = 40;

#[cfg(feature = "des")]
fn tdes(kek: &[u8]) -> Result<TdesEde3> {
    if kek.len() != 24 {
        return Err(Error::new(ErrorKind::InvalidKey));
    }
    TdesEde3::new_from_slice(kek).map_err(|_| Error::new(ErrorKind::InvalidKey))
}

#[cfg(feature = "des")]
fn cbc_encrypt_in_place(c: &TdesEde3, iv: &[u8; 8], buf: &mut [u8]) {
    let mut prev = *iv;
    let mut b = Block::<TdesEde3>::default();
    for chunk in buf.chunks_exact_mut(8) {
        for ((x, p), d) in b.iter_mut().zip(prev.iter()).zip(chunk.iter()) {
            *x = p ^ d;
        }
        c.encrypt_block(&mut b);
        chunk.copy_from_slice(&b);
        prev.copy_from_slice(&b);
    }
    b.zeroize();
}

#[cfg(feature = "des")]
fn cbc_decrypt_in_place(c: &TdesEde3, iv: &[u8; 8], buf: &mut [u8]) {
    let mut prev = *iv;
    let mut b = Block::<TdesEde3>::default();
    for chunk in buf.chunks_exact_mut(8) {
        b.copy_from_slice(chunk);
        let mut this = [0u8; 8];
        this.copy_from_slice(chunk);
        c.decrypt_block(&mut b);
        for ((o, x), p) in chunk.iter_mut().zip(b.iter()).zip(prev.iter()) {
            *o = x ^ p;
        }
        prev = this;
    }
    b.zeroize();
}

/// The CMS triple-DES key wrap (RFC 3217 §3.1) of the 24-byte key `key`
/// under the 24-byte `kek` with the random `iv`, into `out` (40 bytes).
/// Key parity bits are taken as they are.
#[cfg(feature = "des")]
pub fn wrap_3des(kek: &[u8], key: &[u8], iv: &[u8; 8], out: &mut [u8]) -> Result<usize> {
    let c = tdes(kek)?;
    if key.len() != 24 {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let out = out
        .get_mut(..TDES_WRAPPED_LEN)
        .ok_or(Error::new(ErrorKind::BufferTooSmall { required: TDES_WRAPPED_LEN }))?;
    let mut icv = super::kdf::sha1(key);
    out[..8].copy_from_slice(iv);
    out[8..32].copy_from_slice(key);
    out[32..].copy_from_slice(&icv[..8]);
    icv.zeroize();
    cbc_encrypt_in_place(&c, iv, &mut out[8..]);
    out.reverse();
    cbc_encrypt_in_place(&c, &TDES_IV2, out);
    Ok(TDES_WRAPPED_LEN)
}

/// Unwraps a CMS triple-DES key wrap (RFC 3217 §3.2) under the 24-byte
/// `kek` into `out`; returns 24. A bad length or integrity check gives
/// [`ErrorKind::DecryptionFailed`] (and `out` is zeroized).
#[cfg(feature = "des")]
pub fn unwrap_3des(kek: &[u8], wrapped: &[u8], out: &mut [u8]) -> Result<usize> {
    let c = tdes(kek)?;
    if wrapped.len() != TDES_WRAPPED_LEN {
        return Err(Error::new(ErrorKind::DecryptionFailed));
    }
    let out = out.get_mut(..24).ok_or(Error::new(ErrorKind::BufferTooSmall { required: 24 }))?;
    let mut tmp = [0u8; TDES_WRAPPED_LEN];
    tmp.copy_from_slice(wrapped);
    cbc_decrypt_in_place(&c, &TDES_IV2, &mut tmp);
    tmp.reverse();
    let mut iv = [0u8; 8];
    iv.copy_from_slice(&tmp[..8]);
    cbc_decrypt_in_place(&c, &iv, &mut tmp[8..]);
    let mut icv = super::kdf::sha1(&tmp[8..32]);
    let ok = icv[..8].ct_eq(&tmp[32..]);
    out.copy_from_slice(&tmp[8..32]);
    icv.zeroize();
    tmp.zeroize();
    if bool::from(ok) {
        Ok(24)
    } else {
        out.zeroize();
        Err(Error::new(ErrorKind::DecryptionFailed))
    }
}

/// [`wrap_3des`] without the `des` feature: [`ErrorKind::UnsupportedAlgorithm`].
#[cfg(not(feature = "des"))]
pub fn wrap_3des(_kek: &[u8], _key: &[u8], _iv: &[u8; 8], _out: &mut [u8]) -> Result<usize> {
    Err(Error::new(ErrorKind::UnsupportedAlgorithm))
}

/// [`unwrap_3des`] without the `des` feature: [`ErrorKind::UnsupportedAlgorithm`].
#[cfg(not(feature = "des"))]
pub fn unwrap_3des(_kek: &[u8], _wrapped: &[u8], _out: &mut [u8]) -> Result<usize> {
    Err(Error::new(ErrorKind::UnsupportedAlgorithm))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn hex(s: &str) -> ([u8; 64], usize) {
        let mut out = [0u8; 64];
        let s = s.as_bytes();
        for (i, c) in s.chunks(2).enumerate() {
            let v = |x: u8| u8::try_from((x as char).to_digit(16).unwrap()).unwrap();
            out[i] = v(c[0]) << 4 | v(c[1]);
        }
        (out, s.len() / 2)
    }

    /// RFC 3394 §4.1 – §4.6.
    #[test]
    fn rfc3394_vectors() {
        let cases = [
            ("000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF",
             "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"),
            ("000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF",
             "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"),
            ("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
             "00112233445566778899AABBCCDDEEFF", "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"),
            ("000102030405060708090A0B0C0D0E0F1011121314151617",
             "00112233445566778899AABBCCDDEEFF0001020304050607",
             "031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2"),
            ("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
             "00112233445566778899AABBCCDDEEFF0001020304050607",
             "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"),
            ("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
             "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
             "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"),
        ];
        for (kek, key, wrapped) in cases {
            let (kek, kl) = hex(kek);
            let (key, n) = hex(key);
            let (wrapped, wl) = hex(wrapped);
            let mut out = [0u8; 72];
            assert_eq!(wrap(&kek[..kl], &key[..n], &mut out).unwrap(), wl);
            assert_eq!(&out[..wl], &wrapped[..wl]);
            let mut back = [0u8; 64];
            assert_eq!(unwrap(&kek[..kl], &wrapped[..wl], &mut back).unwrap(), n);
            assert_eq!(&back[..n], &key[..n]);
            // Any flipped bit fails the integrity check.
            let mut bad = wrapped;
            bad[wl - 1] ^= 1;
            let e = unwrap(&kek[..kl], &bad[..wl], &mut back).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::DecryptionFailed);
            assert_eq!(&back[..n], &[0u8; 64][..n]);
        }
    }

    #[test]
    #[cfg(feature = "des")]
    fn tdes_round_trip() {
        let kek: [u8; 24] = core::array::from_fn(|i| u8::try_from(i * 7 + 1).unwrap());
        let key = [0x5Bu8; 24];
        let mut w = [0u8; 40];
        assert_eq!(wrap_3des(&kek, &key, &[9; 8], &mut w).unwrap(), 40);
        let mut back = [0u8; 24];
        assert_eq!(unwrap_3des(&kek, &w, &mut back).unwrap(), 24);
        assert_eq!(back, key);
        w[20] ^= 4;
        assert_eq!(unwrap_3des(&kek, &w, &mut back).unwrap_err().kind(), ErrorKind::DecryptionFailed);
        assert_eq!(back, [0; 24]);
    }

    #[test]
    fn bad_lengths() {
        let mut out = [0u8; 80];
        assert_eq!(wrap(&[0; 15], &[0; 16], &mut out).unwrap_err().kind(), ErrorKind::InvalidKey);
        assert_eq!(wrap(&[0; 16], &[0; 12], &mut out).unwrap_err().kind(), ErrorKind::InvalidValue);
        assert_eq!(wrap(&[0; 16], &[0; 8], &mut out).unwrap_err().kind(), ErrorKind::InvalidValue);
        assert_eq!(unwrap(&[0; 16], &[0; 20], &mut out).unwrap_err().kind(), ErrorKind::DecryptionFailed);
        assert_eq!(unwrap(&[0; 16], &[0; 16], &mut out).unwrap_err().kind(), ErrorKind::DecryptionFailed);
        assert!(matches!(
            wrap(&[0; 16], &[0; 16], &mut out[..10]).unwrap_err().kind(),
            ErrorKind::BufferTooSmall { required: 24 }
        ));
    }
}
