//! Streaming AEAD content encryption: AES-GCM (RFC 5084) and
//! ChaCha20-Poly1305 (RFC 8103, RFC 8439 §2.8), for AuthEnvelopedData.
//!
//! [`AeadEncryptor`] and [`AeadDecryptor`] take the content in pieces of any
//! size; ciphertext and plaintext are as long as their input (stream
//! ciphers), and partial blocks of the authenticator are kept across calls.
//!
//! # Contracts
//!
//! - **No allocation, constant memory.**
//! - **Streaming decryption is unauthenticated until the end.**
//!   [`AeadDecryptor::update`] hands out plaintext before the tag has been
//!   checked; only [`AeadDecryptor::finish`] returning `Ok` says that it is
//!   authentic. A caller that cannot hold plaintext back verifies first with
//!   [`AeadDecryptor::authenticate`] (two passes over the ciphertext).
//! - **Constant-time tag check**, with the one uniform
//!   [`ErrorKind::DecryptionFailed`].
//! - **Secrets are zeroized** on drop (key schedules, keystream state, the
//!   GCM tag mask, authenticator state).
//! - **Nonces are 12 bytes**; other GCM nonce lengths are refused with
//!   [`ErrorKind::UnsupportedAlgorithm`] (as OpenSSL does for CMS).
//! - **Associated data** normally comes first ([`AeadDecryptor::new`]). In
//!   AuthEnvelopedData the authenticated attributes come after the content;
//!   for AES-GCM they can still be added at the end
//!   ([`AeadDecryptor::finish_with_late_aad`]), because GHASH is linear in its
//!   input blocks. ChaCha20-Poly1305 cannot do that.

use core::fmt;

use aes::cipher::{BlockCipherEncrypt, KeyInit, KeyIvInit, StreamCipher, consts::U16};
use aes::{Aes128, Aes192, Aes256};
use chacha20::ChaCha20;
use ctr::Ctr32BE;
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use poly1305::Poly1305;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::ContentCipher;
use crate::error::{Error, ErrorKind, Result};

/// Nonce length of every supported AEAD, in bytes.
pub const NONCE_LEN: usize = 12;
/// Full tag length, in bytes.
pub const TAG_LEN: usize = 16;
/// Shortest GCM tag accepted (RFC 5084 allows 12 to 16 bytes).
pub const MIN_TAG_LEN: usize = 12;

enum Keystream {
    Aes128(Ctr32BE<Aes128>),
    Aes192(Ctr32BE<Aes192>),
    Aes256(Ctr32BE<Aes256>),
    ChaCha(ChaCha20),
}

impl Keystream {
    fn apply(&mut self, buf: &mut [u8]) -> Result<()> {
        let r = match self {
            Self::Aes128(c) => c.try_apply_keystream(buf),
            Self::Aes192(c) => c.try_apply_keystream(buf),
            Self::Aes256(c) => c.try_apply_keystream(buf),
            Self::ChaCha(c) => c.try_apply_keystream(buf),
        };
        // The content is longer than the cipher allows for one nonce.
        r.map_err(|_| Error::new(ErrorKind::LengthOverflow))
    }
}

// No heap to box into: the larger variant is the price of one enum.
#[allow(clippy::large_enum_variant)]
enum Mac {
    Ghash(GHash),
    Poly(Poly1305),
}

impl Mac {
    fn blocks(&mut self, data: &[u8]) {
        // `data` is a whole number of blocks: no padding happens.
        match self {
            Self::Ghash(g) => g.update_padded(data),
            Self::Poly(p) => p.update_padded(data),
        }
    }
}

/// The authenticator over a stream: whole blocks go to the MAC, a partial
/// one is kept for the next call.
struct Absorber {
    mac: Mac,
    pending: [u8; 16],
    pending_len: usize,
}

impl Absorber {
    fn update(&mut self, mut data: &[u8]) {
        if self.pending_len > 0 {
            let take = data.len().min(16 - self.pending_len);
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < 16 {
                return;
            }
            let block = self.pending;
            self.mac.blocks(&block);
            self.pending_len = 0;
        }
        let whole = data.len() - data.len() % 16;
        if whole > 0 {
            self.mac.blocks(&data[..whole]);
        }
        let rest = &data[whole..];
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// Zero-pads the partial block (both constructions pad with zeros).
    fn pad(&mut self) {
        if self.pending_len > 0 {
            self.pending[self.pending_len..].fill(0);
            let block = self.pending;
            self.mac.blocks(&block);
            self.pending_len = 0;
        }
    }
}

impl Drop for Absorber {
    fn drop(&mut self) {
        self.pending.zeroize();
    }
}

/// What both directions share.
struct State {
    cipher: ContentCipher,
    ks: Keystream,
    auth: Absorber,
    /// GCM: E(K, J0) and H; ChaCha20-Poly1305: unused.
    mask: Zeroizing<[u8; 16]>,
    h: Zeroizing<[u8; 16]>,
    aad_len: u64,
    ct_len: u64,
    /// GCM associated data that came after the content: GHASH_H(AAD) and
    /// its length.
    late: Option<(Zeroizing<[u8; 16]>, u64)>,
}

fn aes_setup<C: BlockCipherEncrypt<BlockSize = U16> + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    mask: &mut [u8; 16],
    h: &mut [u8; 16],
) -> Result<()> {
    let aes = C::new_from_slice(key).map_err(|_| Error::new(ErrorKind::InvalidKey))?;
    let mut block = aes::cipher::Block::<C>::default();
    aes.encrypt_block(&mut block);
    h.copy_from_slice(&block);
    block[..NONCE_LEN].copy_from_slice(nonce);
    block[12..].copy_from_slice(&[0, 0, 0, 1]);
    aes.encrypt_block(&mut block);
    mask.copy_from_slice(&block);
    block.zeroize();
    Ok(())
}

fn ctr_init<C>(key: &[u8], nonce: &[u8]) -> Result<Ctr32BE<C>>
where
    C: BlockCipherEncrypt<BlockSize = U16> + KeyInit,
    Ctr32BE<C>: KeyIvInit,
{
    let mut iv = [0u8; 16];
    iv[..NONCE_LEN].copy_from_slice(nonce);
    iv[12..].copy_from_slice(&[0, 0, 0, 2]);
    Ctr32BE::<C>::new_from_slices(key, &iv).map_err(|_| Error::new(ErrorKind::InvalidKey))
}

impl State {
    fn new(cipher: ContentCipher, key: &[u8], nonce: &[u8], aad: &[&[u8]]) -> Result<Self> {
        if !cipher.is_aead() {
            return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
        }
        if key.len() != cipher.key_len() {
            return Err(Error::new(ErrorKind::InvalidKey));
        }
        if nonce.len() != NONCE_LEN {
            return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
        }
        let mut mask = Zeroizing::new([0u8; 16]);
        let mut h = Zeroizing::new([0u8; 16]);
        let ks = match cipher {
            ContentCipher::Aes128Gcm => {
                aes_setup::<Aes128>(key, nonce, &mut mask, &mut h)?;
                Keystream::Aes128(ctr_init(key, nonce)?)
            }
            ContentCipher::Aes192Gcm => {
                aes_setup::<Aes192>(key, nonce, &mut mask, &mut h)?;
                Keystream::Aes192(ctr_init(key, nonce)?)
            }
            ContentCipher::Aes256Gcm => {
                aes_setup::<Aes256>(key, nonce, &mut mask, &mut h)?;
                Keystream::Aes256(ctr_init(key, nonce)?)
            }
            _ => {
                let c = ChaCha20::new_from_slices(key, nonce)
                    .map_err(|_| Error::new(ErrorKind::InvalidKey))?;
                Keystream::ChaCha(c)
            }
        };
        let mut ks = ks;
        let mac = match &mut ks {
            Keystream::ChaCha(_) => {
                // RFC 8439 §2.6: the one-time key is block 0's first 32 bytes;
                // the content starts at block 1.
                let mut block0 = Zeroizing::new([0u8; 64]);
                ks.apply(&mut block0[..])?;
                let k = poly1305::Key::try_from(&block0[..32])
                    .map_err(|_| Error::new(ErrorKind::InvalidKey))?;
                Mac::Poly(Poly1305::new(&k))
            }
            _ => Mac::Ghash(GHash::new(&ghash::Key::from(*h))),
        };
        let mut s = State {
            cipher,
            ks,
            auth: Absorber { mac, pending: [0; 16], pending_len: 0 },
            mask,
            h,
            aad_len: 0,
            ct_len: 0,
            late: None,
        };
        for part in aad {
            s.auth.update(part);
            s.aad_len = s
                .aad_len
                .checked_add(part.len() as u64)
                .ok_or(Error::new(ErrorKind::LengthOverflow))?;
        }
        s.auth.pad();
        Ok(s)
    }

    fn count(&mut self, n: usize) -> Result<()> {
        self.ct_len =
            self.ct_len.checked_add(n as u64).ok_or(Error::new(ErrorKind::LengthOverflow))?;
        Ok(())
    }

    /// The full 16-byte tag over the data so far; `aad_len` is what the
    /// length block says.
    fn tag(mut self) -> Result<Zeroizing<[u8; 16]>> {
        self.auth.pad();
        let late = self.late.take();
        let aad_len = match &late {
            Some((_, n)) => *n,
            None => self.aad_len,
        };
        let gcm = !matches!(self.auth.mac, Mac::Poly(_));
        let mut lens = [0u8; 16];
        if gcm {
            let a = aad_len.checked_mul(8).ok_or(Error::new(ErrorKind::LengthOverflow))?;
            let c = self.ct_len.checked_mul(8).ok_or(Error::new(ErrorKind::LengthOverflow))?;
            lens[..8].copy_from_slice(&a.to_be_bytes());
            lens[8..].copy_from_slice(&c.to_be_bytes());
        } else {
            lens[..8].copy_from_slice(&aad_len.to_le_bytes());
            lens[8..].copy_from_slice(&self.ct_len.to_le_bytes());
        }
        self.auth.mac.blocks(&lens);
        let mac =
            core::mem::replace(&mut self.auth.mac, Mac::Ghash(GHash::new(&Default::default())));
        let mut out = Zeroizing::new([0u8; 16]);
        match mac {
            Mac::Ghash(g) => {
                let mut s: [u8; 16] = g.finalize().into();
                if let Some((x, _)) = late {
                    // The AAD blocks stood before the ciphertext blocks and
                    // the length block: their sum is worth H^(c+1) more.
                    let c_blocks = self.ct_len.div_ceil(16);
                    let p = gf_pow(&self.h, c_blocks + 1);
                    let add = gf_mul(&x, &p);
                    for (a, b) in s.iter_mut().zip(add.iter()) {
                        *a ^= b;
                    }
                }
                for (o, (a, m)) in out.iter_mut().zip(s.iter().zip(self.mask.iter())) {
                    *o = a ^ m;
                }
                s.zeroize();
            }
            Mac::Poly(p) => {
                if late.is_some() {
                    return Err(Error::new(ErrorKind::InvalidState));
                }
                out.copy_from_slice(&p.finalize());
            }
        }
        Ok(out)
    }
}

/// `x · y` in GHASH's field, through GHASH itself (GHASH_y(x) = x · y).
fn gf_mul(x: &[u8; 16], y: &[u8; 16]) -> Zeroizing<[u8; 16]> {
    let mut g = GHash::new(&ghash::Key::from(*y));
    g.update_padded(x);
    Zeroizing::new(g.finalize().into())
}

/// `h^e` for `e >= 1` (square and multiply; `e` is public).
fn gf_pow(h: &[u8; 16], e: u64) -> Zeroizing<[u8; 16]> {
    let mut result: Option<Zeroizing<[u8; 16]>> = None;
    let mut base = Zeroizing::new(*h);
    let mut e = e;
    while e > 0 {
        if e & 1 == 1 {
            result = Some(match result {
                None => base.clone(),
                Some(r) => gf_mul(&r, &base),
            });
        }
        e >>= 1;
        if e > 0 {
            base = gf_mul(&base, &base);
        }
    }
    result.unwrap_or_else(|| Zeroizing::new(*h))
}

/// Streaming AEAD encryption.
///
/// ```
/// # use smime_core::cipher::{AeadEncryptor, ContentCipher};
/// let mut enc = AeadEncryptor::new(ContentCipher::Aes128Gcm, &[7; 16], &[9; 12], b"")?;
/// let mut out = [0u8; 20];
/// let n = enc.update(b"twenty bytes of text", &mut out)?;
/// assert_eq!(n, 20);
/// let tag = enc.finish()?;
/// assert_eq!(tag.len(), 16);
/// # Ok::<(), smime_core::error::Error>(())
/// ```
pub struct AeadEncryptor {
    s: State,
}

/// Streaming AEAD decryption. Plaintext is **not authenticated** until
/// [`finish`](Self::finish) returns `Ok`.
pub struct AeadDecryptor {
    s: State,
}

impl AeadEncryptor {
    /// A new encryptor for the AEAD `cipher` with `key`, a 12-byte `nonce`
    /// and associated data `aad`.
    ///
    /// Errors: [`ErrorKind::UnsupportedAlgorithm`] for a non-AEAD cipher or a
    /// nonce that is not 12 bytes, [`ErrorKind::InvalidKey`] for a key of the
    /// wrong length.
    pub fn new(cipher: ContentCipher, key: &[u8], nonce: &[u8], aad: &[u8]) -> Result<Self> {
        Ok(Self { s: State::new(cipher, key, nonce, &[aad])? })
    }

    /// The cipher.
    pub fn cipher(&self) -> ContentCipher {
        self.s.cipher
    }

    /// Encrypts `input` into `out[..input.len()]`; returns `input.len()`.
    ///
    /// Errors: [`ErrorKind::BufferTooSmall`] if `out` is shorter than
    /// `input`; [`ErrorKind::LengthOverflow`] past the cipher's limit for one
    /// nonce (64 GiB for GCM, 256 GiB for ChaCha20).
    pub fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        let Some(out) = out.get_mut(..input.len()) else {
            return Err(Error::new(ErrorKind::BufferTooSmall { required: input.len() }));
        };
        out.copy_from_slice(input);
        self.update_in_place(out)?;
        Ok(input.len())
    }

    /// Encrypts `buf` in place.
    pub fn update_in_place(&mut self, buf: &mut [u8]) -> Result<()> {
        self.s.count(buf.len())?;
        self.s.ks.apply(buf)?;
        self.s.auth.update(buf);
        Ok(())
    }

    /// The 16-byte tag.
    pub fn finish(self) -> Result<Zeroizing<[u8; 16]>> {
        self.s.tag()
    }
}

impl AeadDecryptor {
    /// A new decryptor for the AEAD `cipher` with `key`, a 12-byte `nonce`
    /// and associated data `aad`. Errors as for [`AeadEncryptor::new`].
    pub fn new(cipher: ContentCipher, key: &[u8], nonce: &[u8], aad: &[u8]) -> Result<Self> {
        Ok(Self { s: State::new(cipher, key, nonce, &[aad])? })
    }

    /// Like [`new`](Self::new), with the associated data in pieces that are
    /// authenticated as one string.
    pub fn with_aad_parts(
        cipher: ContentCipher,
        key: &[u8],
        nonce: &[u8],
        aad: &[&[u8]],
    ) -> Result<Self> {
        Ok(Self { s: State::new(cipher, key, nonce, aad)? })
    }

    /// The cipher.
    pub fn cipher(&self) -> ContentCipher {
        self.s.cipher
    }

    /// Decrypts `input` into `out[..input.len()]`; returns `input.len()`.
    /// The plaintext is unauthenticated until [`finish`](Self::finish).
    pub fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        let Some(out) = out.get_mut(..input.len()) else {
            return Err(Error::new(ErrorKind::BufferTooSmall { required: input.len() }));
        };
        self.s.count(input.len())?;
        self.s.auth.update(input);
        out.copy_from_slice(input);
        self.s.ks.apply(out)?;
        Ok(input.len())
    }

    /// Authenticates `ciphertext` without decrypting it: for a first pass that
    /// only checks the tag. Do not mix with [`update`](Self::update) on one
    /// decryptor.
    pub fn authenticate(&mut self, ciphertext: &[u8]) -> Result<()> {
        self.s.count(ciphertext.len())?;
        self.s.auth.update(ciphertext);
        Ok(())
    }

    /// Checks `tag` (12 to 16 bytes; a truncated tag is compared with the
    /// start of the full one) in constant time.
    ///
    /// Errors: [`ErrorKind::DecryptionFailed`], for a tag of a bad length
    /// too.
    pub fn finish(self, tag: &[u8]) -> Result<()> {
        let full = self.s.tag()?;
        check_tag(&full, tag)
    }

    /// For AES-GCM with associated data that arrives after the content
    /// (AuthEnvelopedData's authAttrs): adds `aad_parts`, authenticated as
    /// one string, as if they had been given to [`new`](Self::new). May be
    /// called once, on a decryptor made with empty associated data, any time
    /// before [`finish`](Self::finish).
    ///
    /// Errors: [`ErrorKind::UnsupportedAlgorithm`] for ChaCha20-Poly1305,
    /// whose one-time key makes the reordering impossible;
    /// [`ErrorKind::InvalidState`] when associated data was given already.
    pub fn add_late_aad(&mut self, aad_parts: &[&[u8]]) -> Result<()> {
        if matches!(self.s.auth.mac, Mac::Poly(_)) {
            return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
        }
        if self.s.aad_len != 0 || self.s.late.is_some() {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let mut a = Absorber {
            mac: Mac::Ghash(GHash::new(&ghash::Key::from(*self.s.h))),
            pending: [0; 16],
            pending_len: 0,
        };
        let mut len: u64 = 0;
        for p in aad_parts {
            a.update(p);
            len = len.checked_add(p.len() as u64).ok_or(Error::new(ErrorKind::LengthOverflow))?;
        }
        a.pad();
        let mac = core::mem::replace(&mut a.mac, Mac::Ghash(GHash::new(&Default::default())));
        let Mac::Ghash(g) = mac else {
            return Err(Error::new(ErrorKind::InvalidState));
        };
        self.s.late = Some((Zeroizing::new(g.finalize().into()), len));
        Ok(())
    }

    /// [`add_late_aad`](Self::add_late_aad) and [`finish`](Self::finish).
    pub fn finish_with_late_aad(mut self, aad_parts: &[&[u8]], tag: &[u8]) -> Result<()> {
        self.add_late_aad(aad_parts)?;
        self.finish(tag)
    }
}

fn check_tag(full: &[u8; 16], tag: &[u8]) -> Result<()> {
    if !(MIN_TAG_LEN..=TAG_LEN).contains(&tag.len()) {
        return Err(Error::new(ErrorKind::DecryptionFailed));
    }
    if bool::from(full[..tag.len()].ct_eq(tag)) {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::DecryptionFailed))
    }
}

impl fmt::Debug for AeadEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AeadEncryptor").field("cipher", &self.s.cipher).finish_non_exhaustive()
    }
}

impl fmt::Debug for AeadDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AeadDecryptor").field("cipher", &self.s.cipher).finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for AeadEncryptor {}
impl ZeroizeOnDrop for AeadDecryptor {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn hex(s: &str) -> [u8; 64] {
        let mut out = [0u8; 64];
        let b = s.as_bytes();
        for i in 0..b.len() / 2 {
            let d = |c: u8| u8::try_from((c as char).to_digit(16).unwrap()).unwrap();
            out[i] = d(b[2 * i]) << 4 | d(b[2 * i + 1]);
        }
        out
    }

    #[test]
    fn gcm_nist_test_case_4() {
        // McGrew & Viega test case 4 (AES-128, 60-byte plaintext, 20-byte AAD),
        // with a 96-bit IV.
        let key = hex("feffe9928665731c6d6a8f9467308308");
        let iv = hex("cafebabefacedbaddecaf888");
        let pt = hex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let ct = hex(
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        );
        let tag = hex("5bc94fbc3221a5db94fae95ae7121a47");
        let mut enc =
            AeadEncryptor::new(ContentCipher::Aes128Gcm, &key[..16], &iv[..12], &aad[..20])
                .unwrap();
        let mut out = [0u8; 60];
        // Uneven pieces.
        enc.update(&pt[..7], &mut out[..7]).unwrap();
        enc.update(&pt[7..33], &mut out[7..33]).unwrap();
        enc.update(&pt[33..60], &mut out[33..60]).unwrap();
        assert_eq!(out, ct[..60]);
        assert_eq!(&enc.finish().unwrap()[..], &tag[..16]);

        let mut dec =
            AeadDecryptor::new(ContentCipher::Aes128Gcm, &key[..16], &iv[..12], &aad[..20])
                .unwrap();
        let mut back = [0u8; 60];
        for i in 0..60 {
            dec.update(&ct[i..i + 1], &mut back[i..i + 1]).unwrap();
        }
        assert_eq!(back, pt[..60]);
        dec.finish(&tag[..16]).unwrap();

        // The AAD after the content gives the same tag.
        let mut dec =
            AeadDecryptor::new(ContentCipher::Aes128Gcm, &key[..16], &iv[..12], b"").unwrap();
        dec.update(&ct[..60], &mut back).unwrap();
        dec.finish_with_late_aad(&[&aad[..3], &aad[3..20]], &tag[..16]).unwrap();
        let mut dec =
            AeadDecryptor::new(ContentCipher::Aes128Gcm, &key[..16], &iv[..12], b"").unwrap();
        dec.update(&ct[..60], &mut back).unwrap();
        let mut bad = aad;
        bad[0] ^= 1;
        assert_eq!(
            dec.finish_with_late_aad(&[&bad[..20]], &tag[..16]).unwrap_err().kind(),
            ErrorKind::DecryptionFailed
        );
        // A truncated tag is compared with the start of the full one.
        let mut dec =
            AeadDecryptor::new(ContentCipher::Aes128Gcm, &key[..16], &iv[..12], &aad[..20])
                .unwrap();
        dec.authenticate(&ct[..60]).unwrap();
        dec.finish(&tag[..12]).unwrap();
    }

    #[test]
    fn chacha20_poly1305_rfc8439_2_8_2() {
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        let nonce = hex("070000004041424344454647");
        let tag = hex("1ae10b594f09e26a7e902ecbd0600691");
        let mut enc = AeadEncryptor::new(
            ContentCipher::ChaCha20Poly1305,
            &key[..32],
            &nonce[..12],
            &aad[..12],
        )
        .unwrap();
        let mut ct = [0u8; 114];
        enc.update(&pt[..50], &mut ct[..50]).unwrap();
        enc.update(&pt[50..], &mut ct[50..]).unwrap();
        assert_eq!(&ct[..4], &[0xd3, 0x1a, 0x8d, 0x34]);
        assert_eq!(&enc.finish().unwrap()[..], &tag[..16]);
        let mut dec = AeadDecryptor::new(
            ContentCipher::ChaCha20Poly1305,
            &key[..32],
            &nonce[..12],
            &aad[..12],
        )
        .unwrap();
        let mut back = [0u8; 114];
        dec.update(&ct, &mut back).unwrap();
        assert_eq!(&back[..], &pt[..]);
        let mut t = tag;
        t[15] ^= 1;
        assert_eq!(dec.finish(&t[..16]).unwrap_err().kind(), ErrorKind::DecryptionFailed);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            AeadEncryptor::new(ContentCipher::Aes128Gcm, &[0; 16], &[0; 16], b"")
                .unwrap_err()
                .kind(),
            ErrorKind::UnsupportedAlgorithm
        );
        assert_eq!(
            AeadEncryptor::new(ContentCipher::Aes128Gcm, &[0; 32], &[0; 12], b"")
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidKey
        );
        assert_eq!(
            AeadEncryptor::new(ContentCipher::Aes128Cbc, &[0; 16], &[0; 12], b"")
                .unwrap_err()
                .kind(),
            ErrorKind::UnsupportedAlgorithm
        );
    }
}
