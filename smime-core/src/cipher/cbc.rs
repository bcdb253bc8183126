//! Streaming CBC encryption and decryption with PKCS#7 padding.
//!
//! CMS content encryption (RFC 5652 §6.3) pads the content with 1 to
//! `block_len` bytes, each holding the number of bytes added, and encrypts it
//! in CBC mode. [`CbcEncryptor`] and [`CbcDecryptor`] do this as the content
//! passes: `update` takes any number of bytes and writes whole blocks into a
//! caller-provided buffer; `finish` writes the last block (encryption) or the
//! last plaintext bytes (decryption).
//!
//! # Contracts
//!
//! - **No allocation, constant memory.** Each value holds the key schedule,
//!   the chaining block and at most one block of pending input.
//! - **No panics.** Every input gives a result or an [`Error`]; a buffer that is
//!   too small gives [`ErrorKind::BufferTooSmall`] and consumes nothing, so the
//!   call can be repeated with a larger buffer.
//! - **Uniform, constant-time padding check.** [`CbcDecryptor::finish`] checks
//!   the padding without branching or indexing on its value, and reports a bad
//!   padding, a wrong total length and an empty ciphertext with the same
//!   [`ErrorKind::DecryptionFailed`] (RFC 3218 §2.3). Without an integrity
//!   check CBC is malleable all the same: see RFC 8551 §6 and EFAIL; callers
//!   must not act on decrypted content whose signature they have not checked.
//! - **Secrets are zeroized** on drop: the key schedule (through the `zeroize`
//!   feature of `aes`; the triple-DES one by this crate's own DES), the
//!   chaining block and the pending block.
//!
//! # Speed
//!
//! Encryption is inherently serial: each block is XORed into the previous
//! ciphertext block and encrypted, in one loop that runs inside the cipher's
//! backend (AES-NI / VAES when the CPU has them, detected at run time).
//! Decryption decrypts all complete blocks of a call in batches through the
//! backend's parallel path and then XORs each batch with the preceding
//! ciphertext, so large `update` calls are much faster than small ones.

use core::fmt;

#[cfg(feature = "des")]
use super::tdes::TdesEde3;
use aes::cipher::{
    Block, BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt, BlockCipherEncBackend,
    BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, InOutBuf, KeyInit, ParBlocksSizeUser,
    array::{Array, ArraySize},
    typenum::Unsigned,
};
use aes::{Aes128Dec, Aes128Enc, Aes192Dec, Aes192Enc, Aes256Dec, Aes256Enc};
use subtle::{ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::ContentCipher;
use crate::error::{Error, ErrorKind, Result};

/// Streaming CBC encryption with PKCS#7 padding.
///
/// ```
/// # use smime_core::cipher::{CbcEncryptor, ContentCipher};
/// let mut enc = CbcEncryptor::new(ContentCipher::Aes128Cbc, &[7; 16], &[9; 16])?;
/// let mut out = [0u8; 48];
/// let mut n = enc.update(b"twenty bytes of text", &mut out)?;
/// n += enc.finish(&mut out[n..])?;
/// assert_eq!(n, 32);
/// # Ok::<(), smime_core::error::Error>(())
/// ```
pub struct CbcEncryptor {
    inner: EncInner,
}

/// Streaming CBC decryption with a constant-time PKCS#7 padding check.
///
/// The decryptor always holds back the last complete ciphertext block (it
/// carries the padding) and any partial block; [`finish`](Self::finish)
/// decrypts it and checks the padding.
///
/// ```
/// # use smime_core::cipher::{CbcDecryptor, ContentCipher};
/// # let ciphertext = [0u8; 32];
/// let mut dec = CbcDecryptor::new(ContentCipher::Aes128Cbc, &[7; 16], &[9; 16])?;
/// let mut out = [0u8; 48];
/// let n = dec.update(&ciphertext, &mut out)?;
/// assert_eq!(n, 16); // the last block is held back
/// # Ok::<(), smime_core::error::Error>(())
/// ```
pub struct CbcDecryptor {
    inner: DecInner,
}

enum EncInner {
    Aes128(EncState<Aes128Enc>),
    Aes192(EncState<Aes192Enc>),
    Aes256(EncState<Aes256Enc>),
    #[cfg(feature = "des")]
    DesEde3(EncState<TdesEde3>),
}

enum DecInner {
    Aes128(DecState<Aes128Dec>),
    Aes192(DecState<Aes192Dec>),
    Aes256(DecState<Aes256Dec>),
    #[cfg(feature = "des")]
    DesEde3(DecState<TdesEde3>),
}

/// Runs `$body` with `$s` bound to the state inside any variant of `$inner`.
macro_rules! dispatch {
    ($inner:expr, $enum:ident, $s:pat => $body:expr) => {
        match $inner {
            $enum::Aes128($s) => $body,
            $enum::Aes192($s) => $body,
            $enum::Aes256($s) => $body,
            #[cfg(feature = "des")]
            $enum::DesEde3($s) => $body,
        }
    };
}

/// Checks the key and IV lengths against `cipher`, with the documented errors.
fn check_lengths(cipher: ContentCipher, key: &[u8], iv: &[u8]) -> Result<()> {
    if key.len() != cipher.key_len() {
        return Err(Error::new(ErrorKind::InvalidKey));
    }
    if iv.len() != cipher.block_len() {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    Ok(())
}

fn too_small(required: usize) -> Error {
    Error::new(ErrorKind::BufferTooSmall { required })
}

impl CbcEncryptor {
    /// A new encryptor for `cipher` with `key` and `iv`.
    ///
    /// Errors: [`ErrorKind::InvalidKey`] if `key.len() != cipher.key_len()`,
    /// [`ErrorKind::InvalidValue`] if `iv.len() != cipher.block_len()`.
    /// Triple-DES keys are taken as they are (parity bits are ignored, weak
    /// keys are not refused).
    pub fn new(cipher: ContentCipher, key: &[u8], iv: &[u8]) -> Result<Self> {
        check_lengths(cipher, key, iv)?;
        let inner = match cipher {
            ContentCipher::Aes128Cbc => EncInner::Aes128(EncState::new(key, iv)?),
            ContentCipher::Aes192Cbc => EncInner::Aes192(EncState::new(key, iv)?),
            ContentCipher::Aes256Cbc => EncInner::Aes256(EncState::new(key, iv)?),
            #[cfg(feature = "des")]
            ContentCipher::DesEde3Cbc => EncInner::DesEde3(EncState::new(key, iv)?),
            // The AEAD ciphers: see `aead`.
            _ => return Err(Error::new(ErrorKind::UnsupportedAlgorithm)),
        };
        Ok(Self { inner })
    }

    /// The cipher this encryptor uses.
    pub fn cipher(&self) -> ContentCipher {
        match self.inner {
            EncInner::Aes128(_) => ContentCipher::Aes128Cbc,
            EncInner::Aes192(_) => ContentCipher::Aes192Cbc,
            EncInner::Aes256(_) => ContentCipher::Aes256Cbc,
            #[cfg(feature = "des")]
            EncInner::DesEde3(_) => ContentCipher::DesEde3Cbc,
        }
    }

    /// Exactly how many bytes [`update`](Self::update) writes for an input of
    /// `input_len` bytes: the whole blocks of the pending bytes plus the input.
    pub fn update_len(&self, input_len: usize) -> usize {
        dispatch!(&self.inner, EncInner, s => s.update_len(input_len))
    }

    /// Encrypts `input`, writes the whole ciphertext blocks into `out` and
    /// keeps a partial block (fewer than `block_len` bytes) for the next call.
    /// Returns the number of bytes written, [`update_len`](Self::update_len).
    ///
    /// Errors: [`ErrorKind::BufferTooSmall`] if `out` is shorter than
    /// `update_len(input.len())`; nothing is consumed then.
    /// (`out.len() >= input.len() + block_len` is always enough.)
    pub fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        dispatch!(&mut self.inner, EncInner, s => s.update(input, out))
    }

    /// Pads the pending bytes (PKCS#7: always 1 to `block_len` bytes) and
    /// writes the final ciphertext block into `out`. Returns `block_len`.
    ///
    /// Errors: [`ErrorKind::BufferTooSmall`] if `out.len() < block_len`.
    pub fn finish(self, out: &mut [u8]) -> Result<usize> {
        dispatch!(self.inner, EncInner, mut s => s.finish(out))
    }
}

impl CbcDecryptor {
    /// A new decryptor for `cipher` with `key` and `iv`.
    ///
    /// Errors: [`ErrorKind::InvalidKey`] if `key.len() != cipher.key_len()`,
    /// [`ErrorKind::InvalidValue`] if `iv.len() != cipher.block_len()`.
    /// Triple-DES keys are taken as they are (parity bits are ignored, weak
    /// keys are not refused).
    pub fn new(cipher: ContentCipher, key: &[u8], iv: &[u8]) -> Result<Self> {
        check_lengths(cipher, key, iv)?;
        let inner = match cipher {
            ContentCipher::Aes128Cbc => DecInner::Aes128(DecState::new(key, iv)?),
            ContentCipher::Aes192Cbc => DecInner::Aes192(DecState::new(key, iv)?),
            ContentCipher::Aes256Cbc => DecInner::Aes256(DecState::new(key, iv)?),
            #[cfg(feature = "des")]
            ContentCipher::DesEde3Cbc => DecInner::DesEde3(DecState::new(key, iv)?),
            // The AEAD ciphers: see `aead`.
            _ => return Err(Error::new(ErrorKind::UnsupportedAlgorithm)),
        };
        Ok(Self { inner })
    }

    /// The cipher this decryptor uses.
    pub fn cipher(&self) -> ContentCipher {
        match self.inner {
            DecInner::Aes128(_) => ContentCipher::Aes128Cbc,
            DecInner::Aes192(_) => ContentCipher::Aes192Cbc,
            DecInner::Aes256(_) => ContentCipher::Aes256Cbc,
            #[cfg(feature = "des")]
            DecInner::DesEde3(_) => ContentCipher::DesEde3Cbc,
        }
    }

    /// Exactly how many plaintext bytes [`update`](Self::update) writes for
    /// `input_len` more ciphertext bytes: every complete block except the last
    /// one of the pending bytes plus the input.
    pub fn update_len(&self, input_len: usize) -> usize {
        dispatch!(&self.inner, DecInner, s => s.update_len(input_len))
    }

    /// Decrypts `input`. Holds back the last complete block (it carries the
    /// padding) and any partial block, and writes the plaintext of all earlier
    /// blocks into `out`. Returns the number of bytes written,
    /// [`update_len`](Self::update_len).
    ///
    /// Errors: [`ErrorKind::BufferTooSmall`] if `out` is shorter than
    /// `update_len(input.len())`; nothing is consumed then.
    /// (`out.len() >= input.len() + block_len` is always enough.)
    pub fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        dispatch!(&mut self.inner, DecInner, s => s.update(input, out))
    }

    /// Decrypts the held-back block, checks and strips the PKCS#7 padding in
    /// constant time, and writes the remaining 0 to `block_len - 1` plaintext
    /// bytes into `out`. Returns their number.
    ///
    /// Errors: [`ErrorKind::BufferTooSmall`] if `out.len() < block_len`;
    /// [`ErrorKind::DecryptionFailed`] if the total ciphertext was empty or not
    /// a multiple of `block_len`, or the padding is bad (one uniform error for
    /// all of these). On error nothing is left in `out`.
    pub fn finish(self, out: &mut [u8]) -> Result<usize> {
        dispatch!(self.inner, DecInner, mut s => s.finish(out))
    }
}

impl fmt::Debug for CbcEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CbcEncryptor")
            .field("cipher", &self.cipher())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for CbcDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CbcDecryptor")
            .field("cipher", &self.cipher())
            .finish_non_exhaustive()
    }
}

// Every part of the state zeroizes itself on drop: the cipher types through
// the `zeroize` feature of `aes` and in `tdes`, the buffers in `EncState::drop` and
// `DecState::drop`.
impl ZeroizeOnDrop for CbcEncryptor {}
impl ZeroizeOnDrop for CbcDecryptor {}

// ---------------------------------------------------------------------------
// The generic state machines, one instance per cipher.

/// The block length of `C`, a nonzero constant (8 or 16).
const fn block_len<C: BlockSizeUser>() -> usize {
    C::BlockSize::USIZE
}

/// A block length (at most [`super::MAX_BLOCK_LEN`]) or an index below it, as `u8`.
fn small_u8(x: usize) -> u8 {
    u8::try_from(x).unwrap_or(u8::MAX)
}

/// `a ^= b`, block by block (vectorises to one XOR per block).
#[inline(always)]
fn xor_block<BS: ArraySize>(a: &mut Array<u8, BS>, b: &Array<u8, BS>) {
    for (x, y) in a.iter_mut().zip(b.iter()) {
        *x ^= *y;
    }
}

struct EncState<C: BlockCipherEncrypt> {
    cipher: C,
    /// The previous ciphertext block (the IV at first).
    chain: Block<C>,
    /// Pending plaintext, `buf[..buf_len]`; `buf_len < block_len` between calls.
    buf: Block<C>,
    buf_len: usize,
}

impl<C: BlockCipherEncrypt> Drop for EncState<C> {
    fn drop(&mut self) {
        self.chain.as_mut_slice().zeroize();
        self.buf.as_mut_slice().zeroize();
        self.buf_len.zeroize();
    }
}

impl<C: BlockCipherEncrypt + KeyInit> EncState<C> {
    fn new(key: &[u8], iv: &[u8]) -> Result<Self> {
        let cipher = C::new_from_slice(key).map_err(|_| Error::new(ErrorKind::InvalidKey))?;
        let chain = Block::<C>::try_from(iv).map_err(|_| Error::new(ErrorKind::InvalidValue))?;
        Ok(Self {
            cipher,
            chain,
            buf: Block::<C>::default(),
            buf_len: 0,
        })
    }
}

impl<C: BlockCipherEncrypt> EncState<C> {
    fn update_len(&self, input_len: usize) -> usize {
        let total = self.buf_len.saturating_add(input_len);
        total - total % block_len::<C>()
    }

    fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        let bs = block_len::<C>();
        let required = self.update_len(input.len());
        let Some(mut out) = out.get_mut(..required) else {
            return Err(too_small(required));
        };
        let mut input = input;
        if self.buf_len > 0 {
            let need = bs - self.buf_len;
            if input.len() < need {
                // Still less than a block: `buf_len + input.len() < bs`.
                let end = self.buf_len + input.len();
                self.buf[self.buf_len..end].copy_from_slice(input);
                self.buf_len = end;
                return Ok(0);
            }
            // `input.len() >= need`, and the pending bytes plus the input make
            // at least one block, so `required >= bs == out.len()` at least.
            let (head, rest) = input.split_at(need);
            self.buf[self.buf_len..].copy_from_slice(head);
            let (first, rest_out) = out.split_at_mut(bs);
            let (first, _) = Array::slice_as_chunks_mut(first);
            encrypt_chain(
                &self.cipher,
                &mut self.chain,
                core::slice::from_ref(&self.buf),
                first,
            );
            self.buf_len = 0;
            input = rest;
            out = rest_out;
        }
        // Now the buffer is empty and `out.len()` is the whole blocks of `input`.
        let (blocks, tail) = Array::slice_as_chunks(input);
        let (out_blocks, _) = Array::slice_as_chunks_mut(out);
        encrypt_chain(&self.cipher, &mut self.chain, blocks, out_blocks);
        // `tail.len() < bs`.
        self.buf[..tail.len()].copy_from_slice(tail);
        self.buf_len = tail.len();
        Ok(required)
    }

    fn finish(&mut self, out: &mut [u8]) -> Result<usize> {
        let bs = block_len::<C>();
        let Some(out) = out.get_mut(..bs) else {
            return Err(too_small(bs));
        };
        // `buf_len < bs`, so the pad is 1..=bs.
        let pad = small_u8(bs - self.buf_len);
        self.buf[self.buf_len..].fill(pad);
        let (out, _) = Array::slice_as_chunks_mut(out);
        encrypt_chain(
            &self.cipher,
            &mut self.chain,
            core::slice::from_ref(&self.buf),
            out,
        );
        self.buf_len = 0;
        Ok(bs)
    }
}

/// CBC-encrypts `input` into `out` (blocks pairwise; both of one length),
/// chaining from and updating `chain`.
#[inline]
fn encrypt_chain<C: BlockCipherEncrypt>(
    cipher: &C,
    chain: &mut Block<C>,
    input: &[Block<C>],
    out: &mut [Block<C>],
) {
    if !input.is_empty() {
        cipher.encrypt_with_backend(EncChain { chain, input, out });
    }
}

/// The CBC encryption loop, run inside the cipher's backend so that the
/// per-block work is inlined into the code compiled for AES-NI / VAES.
struct EncChain<'a, BS: ArraySize> {
    chain: &'a mut Array<u8, BS>,
    input: &'a [Array<u8, BS>],
    out: &'a mut [Array<u8, BS>],
}

impl<BS: ArraySize> BlockSizeUser for EncChain<'_, BS> {
    type BlockSize = BS;
}

impl<BS: ArraySize> BlockCipherEncClosure for EncChain<'_, BS> {
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = BS>>(self, backend: &B) {
        let mut c = self.chain.clone();
        for (p, o) in self.input.iter().zip(self.out.iter_mut()) {
            xor_block(&mut c, p);
            backend.encrypt_block_inplace(&mut c);
            o.copy_from_slice(&c);
        }
        // `c` is now the last ciphertext block: nothing secret left in it.
        *self.chain = c;
    }
}

struct DecState<C: BlockCipherDecrypt> {
    cipher: C,
    /// The ciphertext block before `buf` (the IV at first).
    chain: Block<C>,
    /// Held-back ciphertext, `buf[..buf_len]`. Between calls `buf_len` is 0
    /// only if no ciphertext came at all, and is `1..=block_len` otherwise.
    buf: Block<C>,
    buf_len: usize,
}

impl<C: BlockCipherDecrypt> Drop for DecState<C> {
    fn drop(&mut self) {
        self.chain.as_mut_slice().zeroize();
        self.buf.as_mut_slice().zeroize();
        self.buf_len.zeroize();
    }
}

impl<C: BlockCipherDecrypt + KeyInit> DecState<C> {
    fn new(key: &[u8], iv: &[u8]) -> Result<Self> {
        let cipher = C::new_from_slice(key).map_err(|_| Error::new(ErrorKind::InvalidKey))?;
        let chain = Block::<C>::try_from(iv).map_err(|_| Error::new(ErrorKind::InvalidValue))?;
        Ok(Self {
            cipher,
            chain,
            buf: Block::<C>::default(),
            buf_len: 0,
        })
    }
}

impl<C: BlockCipherDecrypt> DecState<C> {
    fn update_len(&self, input_len: usize) -> usize {
        let total = self.buf_len.saturating_add(input_len);
        // Everything but the last (complete or partial) block of `total`.
        let out = total.saturating_sub(1);
        out - out % block_len::<C>()
    }

    fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        let bs = block_len::<C>();
        let required = self.update_len(input.len());
        let Some(mut out) = out.get_mut(..required) else {
            return Err(too_small(required));
        };
        let mut input = input;
        if required == 0 {
            // At most one block in all: `buf_len + input.len() <= bs`.
            let end = self.buf_len + input.len();
            self.buf[self.buf_len..end].copy_from_slice(input);
            self.buf_len = end;
            return Ok(0);
        }
        // From here on `total = buf_len + input.len() > bs`, `required` is a
        // multiple of `bs` and `total - required` is in `1..=bs`.
        if self.buf_len > 0 {
            // The held-back bytes complete to a block that is not the last one:
            // `input.len() >= total - bs + 1 > need`, and `required >= bs`.
            let need = bs - self.buf_len;
            let (head, rest) = input.split_at(need);
            self.buf[self.buf_len..].copy_from_slice(head);
            let (first, rest_out) = out.split_at_mut(bs);
            let (first, _) = Array::slice_as_chunks_mut(first);
            decrypt_chain(
                &self.cipher,
                &mut self.chain,
                core::slice::from_ref(&self.buf),
                first,
            );
            self.buf_len = 0;
            input = rest;
            out = rest_out;
        }
        // The buffer is empty; `input.len() - out.len()` is in `1..=bs`.
        let (run, keep) = input.split_at(out.len());
        let (blocks, _) = Array::slice_as_chunks(run);
        let (out_blocks, _) = Array::slice_as_chunks_mut(out);
        decrypt_chain(&self.cipher, &mut self.chain, blocks, out_blocks);
        self.buf[..keep.len()].copy_from_slice(keep);
        self.buf_len = keep.len();
        Ok(required)
    }

    fn finish(&mut self, out: &mut [u8]) -> Result<usize> {
        let bs = block_len::<C>();
        let Some(out) = out.get_mut(..bs) else {
            return Err(too_small(bs));
        };
        // The length is public: no need to hide this branch.
        if self.buf_len != bs {
            return Err(Error::new(ErrorKind::DecryptionFailed));
        }
        let mut block = self.buf.clone();
        self.cipher.decrypt_block(&mut block);
        xor_block(&mut block, &self.chain);

        // Constant time from here to the one branch on `good`: no branch or
        // index depends on the padding byte.
        let bs_u8 = small_u8(bs);
        let pad = block[bs - 1];
        let mut good = !pad.ct_eq(&0) & !pad.ct_gt(&bs_u8);
        for (i, b) in block.iter().enumerate() {
            // Byte `i` is padding iff it is among the last `pad` bytes.
            let from_end = small_u8(bs - i);
            let is_pad = !from_end.ct_gt(&pad);
            good &= !is_pad | b.ct_eq(&pad);
        }
        let len = u8::conditional_select(&0, &bs_u8.wrapping_sub(pad), good);
        out.copy_from_slice(&block);
        block.as_mut_slice().zeroize();
        self.buf.as_mut_slice().zeroize();
        self.buf_len = 0;

        if bool::from(good) {
            // `len <= bs - 1` when the padding is good.
            let len = usize::from(len);
            out[len..].zeroize();
            Ok(len)
        } else {
            out.zeroize();
            Err(Error::new(ErrorKind::DecryptionFailed))
        }
    }
}

/// CBC-decrypts `input` into `out` (blocks pairwise), chaining from and
/// updating `chain`.
#[inline]
fn decrypt_chain<C: BlockCipherDecrypt>(
    cipher: &C,
    chain: &mut Block<C>,
    input: &[Block<C>],
    out: &mut [Block<C>],
) {
    // Equal lengths, which the batch split below relies on.
    let n = input.len().min(out.len());
    let (input, out) = (&input[..n], &mut out[..n]);
    if n > 0 {
        cipher.decrypt_with_backend(DecChain { chain, input, out });
    }
}

/// The CBC decryption loop, run inside the cipher's backend: decrypts a batch
/// of `ParBlocksSize` blocks at a time (8 with AES-NI, 64 with VAES-512, so
/// the cipher pipelines), then XORs the batch with the preceding ciphertext.
struct DecChain<'a, BS: ArraySize> {
    chain: &'a mut Array<u8, BS>,
    input: &'a [Array<u8, BS>],
    out: &'a mut [Array<u8, BS>],
}

impl<BS: ArraySize> BlockSizeUser for DecChain<'_, BS> {
    type BlockSize = BS;
}

/// `out[i] ^= (chain, input[0], input[1], ...)[i]`, then `chain = last input`.
/// `input` and `out` have one length.
#[inline(always)]
fn xor_previous<BS: ArraySize>(
    chain: &mut Array<u8, BS>,
    input: &[Array<u8, BS>],
    out: &mut [Array<u8, BS>],
) {
    let (Some((first, rest)), Some(last)) = (out.split_first_mut(), input.last()) else {
        return;
    };
    xor_block(first, chain);
    // One flat loop over the rest, which the compiler vectorises.
    let rest = Array::slice_as_flattened_mut(rest);
    for (o, i) in rest.iter_mut().zip(Array::slice_as_flattened(input)) {
        *o ^= *i;
    }
    chain.copy_from_slice(last);
}

impl<BS: ArraySize> BlockCipherDecClosure for DecChain<'_, BS> {
    #[inline(always)]
    fn call<B: BlockCipherDecBackend<BlockSize = BS>>(self, backend: &B) {
        let DecChain { chain, input, out } = self;
        let (in_par, in_tail) =
            Array::<Array<u8, BS>, <B as ParBlocksSizeUser>::ParBlocksSize>::slice_as_chunks(input);
        let (out_par, out_tail) =
            Array::<Array<u8, BS>, <B as ParBlocksSizeUser>::ParBlocksSize>::slice_as_chunks_mut(
                out,
            );
        for (i, o) in in_par.iter().zip(out_par.iter_mut()) {
            backend.decrypt_par_blocks((i, &mut *o).into());
            xor_previous(chain, i, o);
        }
        // `input` and `out` have one length, so the tails do too, and both are
        // shorter than a batch as `decrypt_tail_blocks` requires.
        if let Ok(tail) = InOutBuf::new(in_tail, &mut *out_tail) {
            backend.decrypt_tail_blocks(tail);
            xor_previous(chain, in_tail, out_tail);
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "tests"
)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        assert!(s.len().is_multiple_of(2), "odd hex length");
        s.chunks(2)
            .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    /// Encrypts `pt` fed in chunks of the sizes `chunks` yields (cycled).
    fn encrypt_chunked(
        c: ContentCipher,
        key: &[u8],
        iv: &[u8],
        pt: &[u8],
        chunks: &[usize],
    ) -> Vec<u8> {
        let mut enc = CbcEncryptor::new(c, key, iv).unwrap();
        let mut out = Vec::new();
        let mut rest = pt;
        let mut k = 0;
        while !rest.is_empty() {
            let n = chunks[k % chunks.len()].min(rest.len());
            k += 1;
            let (now, later) = rest.split_at(n);
            let expect = enc.update_len(now.len());
            let mut buf = vec![0xAA; expect];
            assert_eq!(enc.update(now, &mut buf).unwrap(), expect);
            out.extend_from_slice(&buf);
            rest = later;
        }
        let mut buf = vec![0; c.block_len()];
        assert_eq!(enc.finish(&mut buf).unwrap(), c.block_len());
        out.extend_from_slice(&buf);
        out
    }

    /// Decrypts `ct` fed in chunks of the sizes `chunks` yields (cycled).
    fn decrypt_chunked(
        c: ContentCipher,
        key: &[u8],
        iv: &[u8],
        ct: &[u8],
        chunks: &[usize],
    ) -> Result<Vec<u8>> {
        let mut dec = CbcDecryptor::new(c, key, iv).unwrap();
        let mut out = Vec::new();
        let mut rest = ct;
        let mut k = 0;
        while !rest.is_empty() {
            let n = chunks[k % chunks.len()].min(rest.len());
            k += 1;
            let (now, later) = rest.split_at(n);
            let expect = dec.update_len(now.len());
            let mut buf = vec![0xAA; expect];
            assert_eq!(dec.update(now, &mut buf).unwrap(), expect);
            out.extend_from_slice(&buf);
            rest = later;
        }
        let mut buf = vec![0; c.block_len()];
        let n = dec.finish(&mut buf)?;
        out.extend_from_slice(&buf[..n]);
        Ok(out)
    }

    fn encrypt(c: ContentCipher, key: &[u8], iv: &[u8], pt: &[u8]) -> Vec<u8> {
        encrypt_chunked(c, key, iv, pt, &[usize::MAX])
    }

    fn decrypt(c: ContentCipher, key: &[u8], iv: &[u8], ct: &[u8]) -> Result<Vec<u8>> {
        decrypt_chunked(c, key, iv, ct, &[usize::MAX])
    }

    /// A small deterministic generator (xorshift64*), good enough for test data.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| (self.next() >> 56) as u8).collect()
        }
    }

    fn key_iv(c: ContentCipher, seed: u64) -> (Vec<u8>, Vec<u8>) {
        let mut r = Rng(seed);
        (r.bytes(c.key_len()), r.bytes(c.block_len()))
    }

    // NIST SP 800-38A, Appendix F.2 (CBC-AES{128,192,256}.Encrypt / .Decrypt).
    const SP800_38A_IV: &str = "000102030405060708090a0b0c0d0e0f";
    const SP800_38A_PT: &str = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                                30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";

    /// `(cipher, key, the four ciphertext blocks of F.2, the padding block)`.
    /// The padding block (16 bytes of 0x10, chained) was made with
    /// `echo $PT | xxd -r -p | openssl enc -aes-$BITS-cbc -K $KEY -iv $IV | xxd -p`
    /// (OpenSSL 3.0.19); its first 64 bytes are the NIST ciphertext.
    const SP800_38A: [(ContentCipher, &str, &str, &str); 3] = [
        (
            ContentCipher::Aes128Cbc,
            "2b7e151628aed2a6abf7158809cf4f3c",
            "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2
             73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7",
            "8cb82807230e1321d3fae00d18cc2012",
        ),
        (
            ContentCipher::Aes192Cbc,
            "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
            "4f021db243bc633d7178183a9fa071e8 b4d9ada9ad7dedf4e5e738763f69145a
             571b242012fb7ae07fa9baac3df102e0 08b0e27988598881d920a9e64f5615cd",
            "612ccd79224b350935d45dd6a98f8176",
        ),
        (
            ContentCipher::Aes256Cbc,
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d
             39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b",
            "3f461796d6b0d6b2e0c2a72b4d80e644",
        ),
    ];

    #[test]
    fn nist_sp800_38a_f2_vectors() {
        let iv = hex(SP800_38A_IV);
        let pt = hex(SP800_38A_PT);
        for (c, key, ct, pad_block) in SP800_38A {
            let key = hex(key);
            let ct = hex(ct);
            let got = encrypt(c, &key, &iv, &pt);
            assert_eq!(got.len(), 80, "{c}");
            assert_eq!(&got[..64], &ct[..], "{c} encrypt");
            assert_eq!(&got[64..], &hex(pad_block)[..], "{c} padding block");
            assert_eq!(decrypt(c, &key, &iv, &got).unwrap(), pt, "{c} decrypt");

            // The F.2 decrypt direction, block by block, without the padding
            // block: update writes all but the held-back last block.
            let mut dec = CbcDecryptor::new(c, &key, &iv).unwrap();
            let mut out = [0u8; 64];
            assert_eq!(dec.update(&ct, &mut out).unwrap(), 48);
            assert_eq!(&out[..48], &pt[..48], "{c} decrypt");
        }
    }

    #[test]
    fn des_ede3_cbc_openssl_vector() {
        // printf 'The quick brown fox jumps over the lazy dog' |
        //   openssl enc -des-ede3-cbc -K 0123456789abcdef23456789abcdef01456789abcdef0123 \
        //     -iv fedcba9876543210 | xxd -p          (OpenSSL 3.0.19)
        let c = ContentCipher::DesEde3Cbc;
        let key = hex("0123456789abcdef23456789abcdef01456789abcdef0123");
        let iv = hex("fedcba9876543210");
        let pt = b"The quick brown fox jumps over the lazy dog";
        let ct = hex(
            "5911530a7bf8de87d6f56b09ddcd5acf8956cc210e18ddccddb0f013739790999e3c30a53cc84037
             a2c073b54cf87958",
        );
        assert_eq!(ct.len(), 48); // 43 bytes + 5 bytes of padding
        assert_eq!(encrypt(c, &key, &iv, pt), ct);
        assert_eq!(decrypt(c, &key, &iv, &ct).unwrap(), pt);
    }

    #[test]
    fn aes256_cbc_openssl_vector_odd_length() {
        // printf 'S/MIME content, 29 bytes long' |
        //   openssl enc -aes-256-cbc \
        //     -K 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
        //     -iv 0f0e0d0c0b0a09080706050403020100 | xxd -p          (OpenSSL 3.0.19)
        let c = ContentCipher::Aes256Cbc;
        let key = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let iv = hex("0f0e0d0c0b0a09080706050403020100");
        let pt = b"S/MIME content, 29 bytes long";
        let ct = hex("1363e86bb4d5c4cb0150d03702fb4af32c10dc95712f55bf9a05fcfd911fb281");
        assert_eq!(encrypt(c, &key, &iv, pt), ct);
        assert_eq!(decrypt(c, &key, &iv, &ct).unwrap(), pt);
    }

    #[test]
    fn all_lengths_0_to_48_round_trip() {
        for c in ContentCipher::ALL {
            let (key, iv) = key_iv(c, 1);
            let mut r = Rng(2);
            for len in 0..=48 {
                let pt = r.bytes(len);
                let ct = encrypt(c, &key, &iv, &pt);
                assert_eq!(
                    Some(ct.len() as u64),
                    c.ciphertext_len(len as u64),
                    "{c} {len}"
                );
                let pad = ct.len() - len;
                assert!((1..=c.block_len()).contains(&pad));
                assert_eq!(decrypt(c, &key, &iv, &ct).unwrap(), pt, "{c} {len}");
                // Byte-at-a-time gives the same.
                assert_eq!(encrypt_chunked(c, &key, &iv, &pt, &[1]), ct, "{c} {len}");
                assert_eq!(
                    decrypt_chunked(c, &key, &iv, &ct, &[1]).unwrap(),
                    pt,
                    "{c} {len}"
                );
            }
        }
    }

    #[test]
    fn chunk_size_invariance() {
        let mut r = Rng(0x5eed);
        let patterns: [&[usize]; 5] = [
            &[0, 1, 0, 17, 3],
            &[15, 16, 17, 31, 32, 33],
            &[7, 8, 9, 1000],
            &[129, 1, 255, 2, 1024],
            &[5, 0, 0, 64, 11, 13],
        ];
        for c in ContentCipher::ALL {
            let (key, iv) = key_iv(c, 3);
            // Long enough to cover the VAES-512 batch of 64 blocks plus a tail.
            for len in [999, 1000, 1031, 2345] {
                let pt = r.bytes(len);
                let ct = encrypt(c, &key, &iv, &pt);
                assert_eq!(decrypt(c, &key, &iv, &ct).unwrap(), pt);
                for size in 1..=64 {
                    assert_eq!(
                        encrypt_chunked(c, &key, &iv, &pt, &[size]),
                        ct,
                        "{c} {size}"
                    );
                    assert_eq!(
                        decrypt_chunked(c, &key, &iv, &ct, &[size]).unwrap(),
                        pt,
                        "{c} {size}"
                    );
                }
                for p in patterns {
                    assert_eq!(encrypt_chunked(c, &key, &iv, &pt, p), ct, "{c} {p:?}");
                    assert_eq!(
                        decrypt_chunked(c, &key, &iv, &ct, p).unwrap(),
                        pt,
                        "{c} {p:?}"
                    );
                }
                let random: Vec<usize> = (0..50).map(|_| (r.next() % 200) as usize).collect();
                assert_eq!(encrypt_chunked(c, &key, &iv, &pt, &random), ct);
                assert_eq!(decrypt_chunked(c, &key, &iv, &ct, &random).unwrap(), pt);
            }
        }
    }

    #[test]
    fn wrong_key_or_iv_length() {
        for c in ContentCipher::ALL {
            let (key, iv) = key_iv(c, 4);
            for bad in [0, 1, c.key_len() - 1, c.key_len() + 1, 64] {
                let k = vec![1; bad];
                assert_eq!(
                    CbcEncryptor::new(c, &k, &iv).unwrap_err().kind(),
                    ErrorKind::InvalidKey
                );
                assert_eq!(
                    CbcDecryptor::new(c, &k, &iv).unwrap_err().kind(),
                    ErrorKind::InvalidKey
                );
            }
            for bad in [0, 1, c.block_len() - 1, c.block_len() + 1, 32] {
                let v = vec![1; bad];
                assert_eq!(
                    CbcEncryptor::new(c, &key, &v).unwrap_err().kind(),
                    ErrorKind::InvalidValue
                );
                assert_eq!(
                    CbcDecryptor::new(c, &key, &v).unwrap_err().kind(),
                    ErrorKind::InvalidValue
                );
            }
            assert_eq!(CbcEncryptor::new(c, &key, &iv).unwrap().cipher(), c);
            assert_eq!(CbcDecryptor::new(c, &key, &iv).unwrap().cipher(), c);
        }
    }

    #[test]
    fn des_ede3_accepts_weak_and_bad_parity_keys() {
        let c = ContentCipher::DesEde3Cbc;
        let iv = [0u8; 8];
        for key in [[0u8; 24], [0x01; 24], [0xFF; 24]] {
            let ct = encrypt(c, &key, &iv, b"x");
            assert_eq!(decrypt(c, &key, &iv, &ct).unwrap(), b"x");
        }
        // Parity bits are ignored: flipping the low bit of every byte gives the
        // same cipher.
        let key = hex("0123456789abcdef23456789abcdef01456789abcdef0123");
        let flipped: Vec<u8> = key.iter().map(|b| b ^ 1).collect();
        assert_eq!(
            encrypt(c, &key, &iv, b"parity"),
            encrypt(c, &flipped, &iv, b"parity")
        );
    }

    #[test]
    fn truncated_or_empty_ciphertext_fails() {
        for c in ContentCipher::ALL {
            let (key, iv) = key_iv(c, 5);
            let ct = encrypt(c, &key, &iv, &Rng(6).bytes(40));
            let err = decrypt(c, &key, &iv, &[]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DecryptionFailed);
            for cut in 1..ct.len() {
                if cut % c.block_len() == 0 {
                    continue; // may or may not decrypt to valid padding
                }
                let err = decrypt(c, &key, &iv, &ct[..cut]).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::DecryptionFailed, "{c} {cut}");
                let err = decrypt_chunked(c, &key, &iv, &ct[..cut], &[3]).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::DecryptionFailed, "{c} {cut}");
            }
            // Extra bytes after a valid ciphertext.
            let mut long = ct.clone();
            long.push(0);
            assert_eq!(
                decrypt(c, &key, &iv, &long).unwrap_err().kind(),
                ErrorKind::DecryptionFailed
            );
        }
    }

    /// A one-block ciphertext and an IV under which it decrypts to `last`:
    /// the IV is `D(C) ^ last`, with `D(C)` found by decrypting `C` followed
    /// by any block under a zero IV (`update` then writes `D(C) ^ 0`).
    fn one_block_with_plaintext(c: ContentCipher, key: &[u8], last: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let bs = c.block_len();
        let ct = vec![0x5A; bs];
        let mut dec = CbcDecryptor::new(c, key, &vec![0; bs]).unwrap();
        let mut two = ct.clone();
        two.extend_from_slice(&ct);
        let mut d = vec![0; bs];
        assert_eq!(dec.update(&two, &mut d).unwrap(), bs);
        let iv = d.iter().zip(last).map(|(a, b)| a ^ b).collect();
        (iv, ct)
    }

    #[test]
    fn every_last_padding_byte_value() {
        for c in ContentCipher::ALL {
            let bs = c.block_len();
            let (key, _) = key_iv(c, 7);
            for v in 0..=255u8 {
                // All bytes equal `v`: valid iff 1 <= v <= bs.
                let block = vec![v; bs];
                let (iv, ct) = one_block_with_plaintext(c, &key, &block);
                let r = decrypt(c, &key, &iv, &ct);
                if (1..=bs).contains(&usize::from(v)) {
                    assert_eq!(r.unwrap(), vec![v; bs - usize::from(v)], "{c} {v}");
                } else {
                    assert_eq!(
                        r.unwrap_err().kind(),
                        ErrorKind::DecryptionFailed,
                        "{c} {v}"
                    );
                }
                // Distinct leading bytes, last byte `v`: valid iff `v == 1`.
                let mut block: Vec<u8> = (0..bs).map(|i| 0x80 | i as u8).collect();
                block[bs - 1] = v;
                let (iv, ct) = one_block_with_plaintext(c, &key, &block);
                let r = decrypt(c, &key, &iv, &ct);
                if v == 1 {
                    assert_eq!(r.unwrap(), &block[..bs - 1], "{c} {v}");
                } else {
                    assert_eq!(
                        r.unwrap_err().kind(),
                        ErrorKind::DecryptionFailed,
                        "{c} {v}"
                    );
                }
            }
            // One wrong byte anywhere in an otherwise valid padding.
            for pad in 2..=bs {
                for wrong in bs - pad..bs - 1 {
                    let mut block = vec![0x33; bs];
                    block[bs - pad..].fill(pad as u8);
                    block[wrong] ^= 0x40;
                    let (iv, ct) = one_block_with_plaintext(c, &key, &block);
                    assert_eq!(
                        decrypt(c, &key, &iv, &ct).unwrap_err().kind(),
                        ErrorKind::DecryptionFailed,
                        "{c} {pad} {wrong}"
                    );
                }
            }
        }
    }

    #[test]
    fn corrupted_last_block_fails_and_leaves_nothing() {
        for c in ContentCipher::ALL {
            let bs = c.block_len();
            let (key, iv) = key_iv(c, 8);
            let pt = Rng(9).bytes(3 * bs); // full padding block at the end
            let mut ct = encrypt(c, &key, &iv, &pt);
            let n = ct.len();
            // Flipping bits of the next-to-last block changes the pad bytes.
            ct[n - bs - 1] ^= 0x07;
            let mut dec = CbcDecryptor::new(c, &key, &iv).unwrap();
            let mut out = vec![0; n];
            dec.update(&ct, &mut out).unwrap();
            let mut last = vec![0xEE; bs];
            assert_eq!(
                dec.finish(&mut last).unwrap_err().kind(),
                ErrorKind::DecryptionFailed
            );
            assert!(last.iter().all(|&b| b == 0));
            // A wrong key gives an error or garbage, never the plaintext. (Flip
            // a high bit: the low bit of each 3DES key byte is parity, ignored.)
            let mut other = key.clone();
            other[0] ^= 0x80;
            let good = encrypt(c, &key, &iv, b"some text");
            match decrypt(c, &other, &iv, &good) {
                Ok(pt) => assert_ne!(pt, b"some text"),
                Err(e) => assert_eq!(e.kind(), ErrorKind::DecryptionFailed),
            }
        }
    }

    #[test]
    fn buffer_too_small_consumes_nothing() {
        for c in ContentCipher::ALL {
            let bs = c.block_len();
            let (key, iv) = key_iv(c, 10);
            let pt = Rng(11).bytes(5 * bs + 3);
            let ct = encrypt(c, &key, &iv, &pt);

            // Encryptor: a pending partial block, then a too-small output.
            let mut enc = CbcEncryptor::new(c, &key, &iv).unwrap();
            let mut out = vec![0; pt.len() + bs];
            assert_eq!(enc.update(&pt[..3], &mut out).unwrap(), 0);
            let need = enc.update_len(pt.len() - 3);
            assert_eq!(need, 5 * bs);
            let err = enc.update(&pt[3..], &mut out[..need - 1]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BufferTooSmall { required: need });
            let mut got = Vec::new();
            assert_eq!(enc.update(&pt[3..], &mut out).unwrap(), need);
            got.extend_from_slice(&out[..need]);
            let err = enc.update(&[], &mut []);
            assert_eq!(err.unwrap(), 0);
            let mut small = vec![0; bs - 1];
            let mut enc2 = CbcEncryptor::new(c, &key, &iv).unwrap();
            assert_eq!(
                enc2.update(&[0; 16][..bs], &mut small).unwrap_err().kind(),
                ErrorKind::BufferTooSmall { required: bs }
            );
            assert_eq!(
                enc2.finish(&mut small).unwrap_err().kind(),
                ErrorKind::BufferTooSmall { required: bs }
            );
            let mut last = vec![0; bs];
            assert_eq!(enc.finish(&mut last).unwrap(), bs);
            got.extend_from_slice(&last);
            assert_eq!(got, ct);

            // Decryptor: the same.
            let mut dec = CbcDecryptor::new(c, &key, &iv).unwrap();
            let mut out = vec![0; ct.len() + bs];
            assert_eq!(dec.update(&ct[..bs], &mut out).unwrap(), 0);
            assert_eq!(dec.update_len(0), 0);
            let need = dec.update_len(ct.len() - bs);
            assert_eq!(need, ct.len() - bs);
            let err = dec.update(&ct[bs..], &mut out[..need - 1]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BufferTooSmall { required: need });
            let err = dec.update(&ct[bs..], &mut []).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BufferTooSmall { required: need });
            let mut got = Vec::new();
            assert_eq!(dec.update(&ct[bs..], &mut out).unwrap(), need);
            got.extend_from_slice(&out[..need]);
            let mut last = vec![0; bs];
            let n = dec.finish(&mut last).unwrap();
            got.extend_from_slice(&last[..n]);
            assert_eq!(got, pt);

            let mut dec = CbcDecryptor::new(c, &key, &iv).unwrap();
            dec.update(&ct, &mut vec![0; ct.len()]).unwrap();
            let mut small = vec![0; bs - 1];
            assert_eq!(
                dec.finish(&mut small).unwrap_err().kind(),
                ErrorKind::BufferTooSmall { required: bs }
            );
        }
    }

    #[test]
    fn update_len_is_exact_and_bounded() {
        for c in ContentCipher::ALL {
            let bs = c.block_len();
            let (key, iv) = key_iv(c, 12);
            let enc = CbcEncryptor::new(c, &key, &iv).unwrap();
            let dec = CbcDecryptor::new(c, &key, &iv).unwrap();
            assert_eq!(enc.update_len(0), 0);
            assert_eq!(enc.update_len(bs - 1), 0);
            assert_eq!(enc.update_len(bs), bs);
            assert_eq!(dec.update_len(0), 0);
            assert_eq!(dec.update_len(bs), 0);
            assert_eq!(dec.update_len(bs + 1), bs);
            assert_eq!(dec.update_len(2 * bs), bs);
            for n in [usize::MAX, usize::MAX - 1] {
                assert!(enc.update_len(n) <= n);
                assert!(dec.update_len(n) <= n);
            }
        }
    }
}
