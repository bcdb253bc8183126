//! RSA public-key operations on fixed-size integers, without heap.
//!
//! [`RsaPublicKeyRef`] borrows a modulus and an exponent (from a certificate
//! or a PKCS#1 `RSAPublicKey`) and offers what a sender and a verifier need:
//!
//! - RSAES-PKCS1-v1_5 encryption ([RFC 8017 § 7.2.1]),
//! - RSAES-OAEP encryption with MGF1 ([RFC 8017 § 7.1.1]), SHA-1 and SHA-2,
//! - the raw public operation RSAEP / RSAVP1 ([RFC 8017 § 5.1.1, 5.2.2]) for
//!   signature verification.
//!
//! ```text
//! RSAPublicKey ::= SEQUENCE {
//!     modulus           INTEGER,  -- n
//!     publicExponent    INTEGER   -- e
//! }
//! ```
//!
//! # Contracts
//!
//! - A key is checked once, at construction: modulus of 1024 to 4096 bits
//!   ([`MIN_MODULUS_BITS`], [`MAX_MODULUS_BITS`]) and odd, exponent odd,
//!   greater than one and at most 64 bits. Anything else is
//!   [`ErrorKind::InvalidKey`]. Policy (such as a 2048-bit minimum for new
//!   messages) is the caller's.
//! - The arithmetic runs on `crypto-bigint` fixed-size integers chosen by the
//!   modulus size (U1024, U2048, U3072 or U4096): no heap. The exponentiation
//!   keeps a table of 16 integers, so a 4096-bit operation needs about 12 KiB
//!   of stack.
//! - Buffers that held the encoded message (which contains the
//!   content-encryption key) are zeroized, also on error.
//! - No panics on any input.
//!
//! [RFC 8017 § 7.2.1]: https://www.rfc-editor.org/rfc/rfc8017#section-7.2.1
//! [RFC 8017 § 7.1.1]: https://www.rfc-editor.org/rfc/rfc8017#section-7.1.1
//! [RFC 8017 § 5.1.1, 5.2.2]: https://www.rfc-editor.org/rfc/rfc8017#section-5.1.1

use core::cmp::Ordering;

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, U64, U1024, U2048, U3072, U4096, Uint};
use rand_core::TryCryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::backend::HashAlgorithm;
use crate::ber::{SliceReader, Tag};
use crate::digest::Hasher;
use crate::error::{Error, ErrorKind, Result};

/// Smallest modulus accepted, in bits.
pub const MIN_MODULUS_BITS: u32 = 1024;
/// Largest modulus accepted, in bits.
pub const MAX_MODULUS_BITS: u32 = 4096;
/// Largest modulus accepted, in bytes (the largest `k`).
pub const MAX_MODULUS_LEN: usize = 512;

/// Largest hash output (SHA-512).
const MAX_HASH_LEN: usize = 64;

/// A borrowed RSA public key: modulus `n` and public exponent `e` as
/// big-endian magnitudes without leading zeros.
///
/// Checked at construction (see the [module docs](self)), so the operations
/// fail only on their inputs, never on the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsaPublicKeyRef<'a> {
    n: &'a [u8],
    e: &'a [u8],
}

impl<'a> RsaPublicKeyRef<'a> {
    /// Parses a PKCS#1 `RSAPublicKey` (BER accepted; nothing may follow it).
    pub fn from_pkcs1_der(der: &'a [u8]) -> Result<Self> {
        let (n, e) = parse_pkcs1(der)?;
        Self::new(n, e)
    }

    /// A key from the big-endian magnitudes of `n` and `e`; leading zero
    /// octets are stripped.
    pub fn new(n: &'a [u8], e: &'a [u8]) -> Result<Self> {
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        let invalid = Error::new(ErrorKind::InvalidKey);
        let bits = bit_len(n);
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
            return Err(invalid);
        }
        if n.last().is_none_or(|b| b & 1 == 0) {
            return Err(invalid);
        }
        if e.len() > 8 || e.last().is_none_or(|b| b & 1 == 0) || be_u64(e) < 3 {
            return Err(invalid);
        }
        Ok(Self { n, e })
    }

    /// The modulus `n`, big-endian, without leading zeros.
    pub fn modulus(&self) -> &'a [u8] {
        self.n
    }

    /// The public exponent `e`, big-endian, without leading zeros.
    pub fn exponent(&self) -> &'a [u8] {
        self.e
    }

    /// The size of the modulus in bits.
    pub fn bits(&self) -> u32 {
        bit_len(self.n)
    }

    /// The size of the modulus in bytes (`k` in RFC 8017): the length of a
    /// ciphertext or signature.
    pub fn size(&self) -> usize {
        self.n.len()
    }

    /// RSAES-PKCS1-v1_5 encryption (RFC 8017 § 7.2.1) of `msg` into
    /// `out[..k]`; returns `k`.
    ///
    /// `msg` may be at most `k - 11` bytes ([`ErrorKind::InvalidValue`]
    /// otherwise); `out` must hold `k` bytes
    /// ([`ErrorKind::BufferTooSmall`] otherwise). The padding string is
    /// non-zero random bytes from `rng`; an RNG failure is
    /// [`ErrorKind::Rng`].
    pub fn encrypt_pkcs1v15<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        msg: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let k = self.size();
        let out = out_slice(out, k)?;
        if msg.len() > k.saturating_sub(11) {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        let r = pkcs1v15_pad(rng, msg, out).and_then(|()| self.encrypt_in_place(out));
        if r.is_err() {
            out.zeroize();
        }
        r.map(|()| k)
    }

    /// RSAES-OAEP encryption (RFC 8017 § 7.1.1) of `msg` into `out[..k]`
    /// with `hash`, MGF1 over `mgf_hash` and `label`; returns `k`.
    ///
    /// `msg` may be at most `k - 2·hLen - 2` bytes
    /// ([`ErrorKind::InvalidValue`] otherwise; a 1024-bit key is too small for
    /// SHA-512); `out` must hold `k` bytes ([`ErrorKind::BufferTooSmall`]
    /// otherwise). An RNG failure is [`ErrorKind::Rng`].
    pub fn encrypt_oaep<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        hash: HashAlgorithm,
        mgf_hash: HashAlgorithm,
        label: &[u8],
        msg: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let k = self.size();
        let out = out_slice(out, k)?;
        let h_len = hash.output_len();
        let max = k.checked_sub(2 * h_len + 2).ok_or(Error::new(ErrorKind::InvalidValue))?;
        if msg.len() > max {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        let r = oaep_pad(rng, hash, mgf_hash, label, msg, out)
            .and_then(|()| self.encrypt_in_place(out));
        if r.is_err() {
            out.zeroize();
        }
        r.map(|()| k)
    }

    /// The raw public operation `out = input^e mod n` (RSAEP, RSAVP1).
    ///
    /// `input` must be exactly `k` bytes and, as a big-endian integer, less
    /// than `n` ([`ErrorKind::InvalidValue`] otherwise). The result is written
    /// to `out[..k]` ([`ErrorKind::BufferTooSmall`] if `out` is shorter).
    pub fn public_op(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        let k = self.size();
        let out = out_slice(out, k)?;
        if input.len() != k || input.cmp(self.n) != Ordering::Less {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        self.exp(input, out)
    }

    /// Replaces the encoded message in `em` (k bytes, first byte 0, so less
    /// than `n`) by its encryption.
    fn encrypt_in_place(&self, em: &mut [u8]) -> Result<()> {
        let mut input = Zeroizing::new([0u8; MAX_MODULUS_LEN]);
        let input = input.get_mut(..em.len()).ok_or(Error::new(ErrorKind::InvalidKey))?;
        input.copy_from_slice(em);
        self.exp(input, em)
    }

    /// `out = input^e mod n` on the smallest integer type that holds `n`.
    /// `input` and `out` are `k` bytes and `input < n`.
    fn exp(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        let e = be_u64(self.e);
        match self.bits() {
            0..=1024 => exp_fixed::<{ U1024::LIMBS }>(self.n, e, input, out),
            1025..=2048 => exp_fixed::<{ U2048::LIMBS }>(self.n, e, input, out),
            2049..=3072 => exp_fixed::<{ U3072::LIMBS }>(self.n, e, input, out),
            _ => exp_fixed::<{ U4096::LIMBS }>(self.n, e, input, out),
        }
    }
}

/// Parses `RSAPublicKey` into the magnitudes of `n` and `e` without checking
/// their values (for comparing keys the arithmetic here does not support).
pub(crate) fn parse_pkcs1(der: &[u8]) -> Result<(&[u8], &[u8])> {
    let mut outer = SliceReader::new(der);
    let seq = outer.read_expect(Tag::SEQUENCE)?;
    outer.finish()?;
    let mut r = seq.reader();
    let n = r.read_expect(Tag::INTEGER)?.uint_bytes();
    let e = r.read_expect(Tag::INTEGER)?.uint_bytes();
    r.finish()?;
    match (n, e) {
        (Ok(n), Ok(e)) => Ok((n, e)),
        _ => Err(Error::new(ErrorKind::InvalidKey)),
    }
}

/// `x^e mod n` on `Uint<LIMBS>`; `n`, `x` and `out` are big-endian, `x` and
/// `out` of `n.len()` bytes.
fn exp_fixed<const LIMBS: usize>(n: &[u8], e: u64, x: &[u8], out: &mut [u8]) -> Result<()> {
    let invalid = Error::new(ErrorKind::InvalidKey);
    let width = Uint::<LIMBS>::BYTES;
    let offset = width.checked_sub(n.len()).ok_or(invalid)?;
    let mut buf = Zeroizing::new([0u8; MAX_MODULUS_LEN]);
    let buf = buf.get_mut(..width).ok_or(invalid)?;

    buf.get_mut(offset..).ok_or(invalid)?.copy_from_slice(n);
    let modulus =
        Option::<Odd<Uint<LIMBS>>>::from(Odd::new(Uint::from_be_slice(buf))).ok_or(invalid)?;
    let params = FixedMontyParams::new_vartime(modulus);

    buf.zeroize();
    buf.get_mut(offset..).ok_or(invalid)?.copy_from_slice(x);
    let mut xi = Uint::<LIMBS>::from_be_slice(buf);
    buf.zeroize();
    let mut xm = FixedMontyForm::new(&xi, &params);
    xi.zeroize();
    let mut ym = xm.pow_vartime(&U64::from_u64(e));
    xm.zeroize();
    let mut y = ym.retrieve();
    ym.zeroize();
    let mut bytes = y.to_be_bytes();
    y.zeroize();
    let r = match bytes.get(offset..) {
        Some(b) if b.len() == out.len() => {
            out.copy_from_slice(b);
            Ok(())
        }
        _ => Err(invalid),
    };
    bytes.zeroize();
    r
}

/// EME-PKCS1-v1_5 encoding: `EM = 0x00 || 0x02 || PS || 0x00 || M`.
/// The caller checked `msg.len() <= em.len() - 11`.
fn pkcs1v15_pad<R: TryCryptoRng + ?Sized>(rng: &mut R, msg: &[u8], em: &mut [u8]) -> Result<()> {
    let k = em.len();
    let ps_len = k
        .checked_sub(msg.len() + 3)
        .filter(|&l| l >= 8)
        .ok_or(Error::new(ErrorKind::InvalidValue))?;
    let (head, rest) = em.split_at_mut(2);
    head.copy_from_slice(&[0x00, 0x02]);
    let (ps, rest) = rest.split_at_mut(ps_len);
    let (sep, m) = rest.split_at_mut(1);
    sep[0] = 0;
    m.copy_from_slice(msg);
    fill_nonzero(rng, ps)
}

/// Fills `out` with non-zero random bytes.
fn fill_nonzero<R: TryCryptoRng + ?Sized>(rng: &mut R, out: &mut [u8]) -> Result<()> {
    rng.try_fill_bytes(out).map_err(|_| Error::new(ErrorKind::Rng))?;
    let mut spare = Zeroizing::new([0u8; 64]);
    let mut next = spare.len();
    // A working RNG needs about one refill per 256 zero bytes; this bound
    // only stops an RNG that returns zeros forever.
    let mut refills = 0u32;
    for b in out.iter_mut() {
        while *b == 0 {
            if next == spare.len() {
                refills += 1;
                if refills > 64 {
                    return Err(Error::new(ErrorKind::Rng));
                }
                rng.try_fill_bytes(&mut spare[..]).map_err(|_| Error::new(ErrorKind::Rng))?;
                next = 0;
            }
            *b = spare[next];
            next += 1;
        }
    }
    Ok(())
}

/// EME-OAEP encoding: `EM = 0x00 || maskedSeed || maskedDB` with
/// `DB = lHash || PS || 0x01 || M`. The caller checked the lengths.
fn oaep_pad<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    hash: HashAlgorithm,
    mgf_hash: HashAlgorithm,
    label: &[u8],
    msg: &[u8],
    em: &mut [u8],
) -> Result<()> {
    let h_len = hash.output_len();
    let k = em.len();
    let db_len = k.checked_sub(h_len + 1).ok_or(Error::new(ErrorKind::InvalidValue))?;
    let ps_len =
        db_len.checked_sub(h_len + 1 + msg.len()).ok_or(Error::new(ErrorKind::InvalidValue))?;
    em.zeroize();
    let (zero_seed, db) = em.split_at_mut(1 + h_len);
    let seed = &mut zero_seed[1..];

    let mut l_hash = [0u8; MAX_HASH_LEN];
    hash_into(hash, label, &mut l_hash);
    db[..h_len].copy_from_slice(&l_hash[..h_len]);
    // db[h_len..h_len + ps_len] stays zero (PS).
    db[h_len + ps_len] = 0x01;
    db[h_len + ps_len + 1..].copy_from_slice(msg);

    rng.try_fill_bytes(seed).map_err(|_| Error::new(ErrorKind::Rng))?;
    mgf1_xor(mgf_hash, seed, db);
    mgf1_xor(mgf_hash, db, seed);
    Ok(())
}

/// `out = Hash(data)`, in the first `hash.output_len()` bytes of `out`.
fn hash_into(hash: HashAlgorithm, data: &[u8], out: &mut [u8; MAX_HASH_LEN]) {
    let d = crate::digest::digest(hash, data);
    for (o, i) in out.iter_mut().zip(d.as_bytes()) {
        *o = *i;
    }
}

/// `out ^= MGF1(seed, out.len())` over `hash` (RFC 8017 appendix B.2.1).
pub(crate) fn mgf1_xor(hash: HashAlgorithm, seed: &[u8], out: &mut [u8]) {
    let mut counter: u32 = 0;
    for chunk in out.chunks_mut(hash.output_len()) {
        let mut h = Hasher::new(hash);
        h.update(seed);
        h.update(&counter.to_be_bytes());
        let mut block = h.finalize();
        for (o, m) in chunk.iter_mut().zip(block.as_bytes()) {
            *o ^= *m;
        }
        block.zeroize();
        counter = counter.wrapping_add(1);
    }
}

/// `out[..k]`, or `BufferTooSmall`.
fn out_slice(out: &mut [u8], k: usize) -> Result<&mut [u8]> {
    out.get_mut(..k).ok_or(Error::new(ErrorKind::BufferTooSmall { required: k }))
}

fn strip_zeros(mut v: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = v {
        v = rest;
    }
    v
}

/// Bit length of a big-endian magnitude without leading zeros (saturating).
fn bit_len(v: &[u8]) -> u32 {
    let Some(&first) = v.first() else { return 0 };
    let bytes = u32::try_from(v.len()).unwrap_or(u32::MAX / 8);
    (bytes - 1).saturating_mul(8).saturating_add(8 - first.leading_zeros())
}

/// A big-endian magnitude of at most 8 bytes as `u64` (callers check the length).
fn be_u64(v: &[u8]) -> u64 {
    v.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core
)]
mod tests {
    extern crate std;

    use std::format;
    use std::string::String;
    use std::vec;
    use std::vec::Vec;

    use ::rsa::pkcs8::DecodePrivateKey;
    use ::rsa::traits::PublicKeyParts;
    use ::rsa::{Oaep, Pkcs1v15Encrypt, PrivateKey};
    use sha2::Digest as _;

    use super::*;

    const ALL_HASHES: [HashAlgorithm; 4] =
        [HashAlgorithm::Sha1, HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512];

    fn read(path: &str) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn interop(rel: &str) -> String {
        format!("{}/../../shared/interop/{rel}", env!("CARGO_MANIFEST_DIR"))
    }

    fn data(rel: &str) -> String {
        format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"))
    }

    /// Private keys of 1024, 2048, 2050, 3072 and 4096 bits.
    fn keys() -> Vec<PrivateKey> {
        use ::rsa::pkcs1::DecodeRsaPrivateKey;
        let mut keys = vec![
            PrivateKey::from_pkcs1_pem(&read(&interop(
                "bc-java/mail/src/test/resources/org/bouncycastle/mail/smime/test/key.pem",
            )))
            .unwrap(),
            PrivateKey::from_pkcs8_pem(&read(&interop(
                "examples-cms/certs-and-keys/lamps-bob.decrypt.p8.pem",
            )))
            .unwrap(),
        ];
        for b in [2050, 3072, 4096] {
            keys.push(
                PrivateKey::from_pkcs8_pem(&read(&data(&format!("rsa-{b}.p8.pem")))).unwrap(),
            );
        }
        let bits: Vec<usize> = keys.iter().map(|k| k.n().bit_width_vartime() as usize).collect();
        assert_eq!(bits, [1024, 2048, 2050, 3072, 4096]);
        keys
    }

    /// Runs `f` with our borrowed view of `key`'s public half.
    fn with_public<T>(key: &PrivateKey, f: impl FnOnce(RsaPublicKeyRef<'_>) -> T) -> T {
        let n = key.n_bytes();
        let e = key.e_bytes();
        f(RsaPublicKeyRef::new(&n, &e).unwrap())
    }

    fn hash_name(h: HashAlgorithm) -> &'static str {
        match h {
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    // Oaep is generic over the digests: a small enum-dispatched decrypt.
    fn oaep_decrypt(
        key: &PrivateKey,
        h: HashAlgorithm,
        mgf: HashAlgorithm,
        label: &[u8],
        ct: &[u8],
    ) -> ::rsa::Result<Vec<u8>> {
        macro_rules! with_mgf {
            ($d:ty) => {
                match mgf {
                    HashAlgorithm::Sha1 => key.decrypt(
                        Oaep::<$d, sha1::Sha1>::new_with_mgf_hash_and_label(label.to_vec()),
                        ct,
                    ),
                    HashAlgorithm::Sha256 => key.decrypt(
                        Oaep::<$d, sha2::Sha256>::new_with_mgf_hash_and_label(label.to_vec()),
                        ct,
                    ),
                    HashAlgorithm::Sha384 => key.decrypt(
                        Oaep::<$d, sha2::Sha384>::new_with_mgf_hash_and_label(label.to_vec()),
                        ct,
                    ),
                    HashAlgorithm::Sha512 => key.decrypt(
                        Oaep::<$d, sha2::Sha512>::new_with_mgf_hash_and_label(label.to_vec()),
                        ct,
                    ),
                }
            };
        }
        match h {
            HashAlgorithm::Sha1 => with_mgf!(sha1::Sha1),
            HashAlgorithm::Sha256 => with_mgf!(sha2::Sha256),
            HashAlgorithm::Sha384 => with_mgf!(sha2::Sha384),
            HashAlgorithm::Sha512 => with_mgf!(sha2::Sha512),
        }
    }

    #[test]
    fn pkcs1v15_decrypts_with_rsa_crate() {
        let mut rng = getrandom::SysRng;
        for key in keys() {
            with_public(&key, |pk| {
                assert_eq!(pk.size(), key.size());
                assert_eq!(pk.bits() as usize, key.n().bit_width_vartime() as usize);
                for len in [0usize, 1, 16, 24, 32, pk.size() - 11] {
                    let msg: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
                    let mut out = vec![0u8; pk.size() + 3];
                    let n = pk.encrypt_pkcs1v15(&mut rng, &msg, &mut out).unwrap();
                    assert_eq!(n, pk.size());
                    let pt = key.decrypt(Pkcs1v15Encrypt, &out[..n]).unwrap();
                    assert_eq!(pt, msg, "{} bits, {len} bytes", pk.bits());
                }
            });
        }
    }

    #[test]
    fn oaep_decrypts_with_rsa_crate() {
        let mut rng = getrandom::SysRng;
        let msg = [0x5Au8; 32];
        for key in keys() {
            with_public(&key, |pk| {
                for h in ALL_HASHES {
                    for mgf in ALL_HASHES {
                        for label in [&b""[..], b"a label"] {
                            let mut out = vec![0u8; pk.size()];
                            let r = pk.encrypt_oaep(&mut rng, h, mgf, label, &msg, &mut out);
                            let what = format!(
                                "{} bits, {}/{} label {:?}",
                                pk.bits(),
                                hash_name(h),
                                hash_name(mgf),
                                label
                            );
                            if pk.size() < 2 * h.output_len() + 2 + msg.len() {
                                assert_eq!(
                                    r.unwrap_err().kind(),
                                    ErrorKind::InvalidValue,
                                    "{what}"
                                );
                                continue;
                            }
                            assert_eq!(r.unwrap(), pk.size(), "{what}");
                            let pt = oaep_decrypt(&key, h, mgf, label, &out).unwrap();
                            assert_eq!(pt, msg, "{what}");
                            // A different label must not decrypt.
                            assert!(oaep_decrypt(&key, h, mgf, b"other", &out).is_err(), "{what}");
                        }
                    }
                }
            });
        }
    }

    #[test]
    fn oaep_longest_message() {
        let mut rng = getrandom::SysRng;
        let key = &keys()[1];
        with_public(key, |pk| {
            for h in ALL_HASHES {
                let max = pk.size() - 2 * h.output_len() - 2;
                let msg = vec![0xA5u8; max];
                let mut out = vec![0u8; pk.size()];
                pk.encrypt_oaep(&mut rng, h, h, b"", &msg, &mut out).unwrap();
                assert_eq!(oaep_decrypt(key, h, h, b"", &out).unwrap(), msg);
                let long = vec![0xA5u8; max + 1];
                let e = pk.encrypt_oaep(&mut rng, h, h, b"", &long, &mut out).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidValue);
            }
        });
    }

    #[test]
    fn public_op_matches_rsa_crate() {
        use ::rsa::pkcs1v15::Pkcs1v15Sign;
        for key in keys() {
            // A PKCS#1 v1.5 signature made by the rsa crate opens to its
            // encoded message under our public operation.
            let digest = sha2::Sha256::digest(b"public op");
            let sig = key.sign(Pkcs1v15Sign::new::<sha2::Sha256>(), &digest).unwrap();
            with_public(&key, |pk| {
                let mut em = vec![0u8; pk.size()];
                pk.public_op(&sig, &mut em).unwrap();
                let k = pk.size();
                assert_eq!(&em[..2], &[0x00, 0x01]);
                assert_eq!(&em[k - 32..], &digest[..]);
                assert_eq!(em[k - 33 - 19], 0x00);
                assert!(em[2..k - 33 - 19].iter().all(|&b| b == 0xFF));
                // input >= n is refused; n - 1 is not.
                let n = pk.modulus().to_vec();
                assert_eq!(pk.public_op(&n, &mut em).unwrap_err().kind(), ErrorKind::InvalidValue);
                let mut n1 = n.clone();
                *n1.last_mut().unwrap() -= 1;
                pk.public_op(&n1, &mut em).unwrap();
                // (n-1)^e = (-1)^e = -1 = n - 1 for odd e.
                assert_eq!(em, n1);
                // Wrong lengths.
                assert_eq!(
                    pk.public_op(&sig[1..], &mut em).unwrap_err().kind(),
                    ErrorKind::InvalidValue
                );
                let mut small = vec![0u8; k - 1];
                assert_eq!(
                    pk.public_op(&sig, &mut small).unwrap_err().kind(),
                    ErrorKind::BufferTooSmall { required: k }
                );
            });
        }
    }

    #[test]
    fn pkcs1_der_parsing() {
        use ::rsa::pkcs1::EncodeRsaPublicKey;
        let keys = keys();
        let key = &keys[1];
        let der = key.to_public_key().to_pkcs1_der().unwrap();
        let pk = RsaPublicKeyRef::from_pkcs1_der(der.as_bytes()).unwrap();
        assert_eq!(pk.modulus(), &key.n_bytes()[..]);
        assert_eq!(pk.exponent(), &[0x01, 0x00, 0x01]);
        assert_eq!(pk.bits(), 2048);
        assert_eq!(pk.size(), 256);
        // Trailing data, truncation at every offset.
        let mut long = der.as_bytes().to_vec();
        long.push(0);
        assert!(RsaPublicKeyRef::from_pkcs1_der(&long).is_err());
        for i in 0..der.as_bytes().len() {
            assert!(RsaPublicKeyRef::from_pkcs1_der(&der.as_bytes()[..i]).is_err());
        }
        // A negative modulus.
        let bad = [0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x03];
        assert_eq!(
            RsaPublicKeyRef::from_pkcs1_der(&bad).unwrap_err().kind(),
            ErrorKind::InvalidKey
        );
    }

    #[test]
    fn invalid_keys() {
        let mut n = [0xC5u8; 128];
        let e = [0x01, 0x00, 0x01];
        assert!(RsaPublicKeyRef::new(&n, &e).is_ok());
        // Leading zeros are stripped.
        let mut padded = [0u8; 130];
        padded[2..].copy_from_slice(&n);
        let pk = RsaPublicKeyRef::new(&padded, &[0, 0, 3]).unwrap();
        assert_eq!(pk.size(), 128);
        assert_eq!(pk.bits(), 1024);
        assert_eq!(pk.exponent(), &[3]);
        let invalid = |n: &[u8], e: &[u8]| {
            assert_eq!(RsaPublicKeyRef::new(n, e).unwrap_err().kind(), ErrorKind::InvalidKey);
        };
        // Too small (1023 bits), too large (4097 bits), even, empty.
        let mut small = n;
        small[0] = 0x7F;
        invalid(&small, &e);
        invalid(&n[1..], &e);
        let mut big = [0xC5u8; 513];
        big[0] = 1;
        invalid(&big, &e);
        assert_eq!(RsaPublicKeyRef::new(&big[1..], &e).unwrap().bits(), 4096);
        n[127] = 0xC4;
        invalid(&n, &e);
        invalid(&[], &e);
        n[127] = 0xC5;
        // Exponent: even, one, zero, empty, more than 64 bits.
        invalid(&n, &[0x01, 0x00, 0x00]);
        invalid(&n, &[1]);
        invalid(&n, &[0]);
        invalid(&n, &[]);
        invalid(&n, &[1, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(RsaPublicKeyRef::new(&n, &[0xFF; 8]).is_ok());
    }

    #[test]
    fn input_errors() {
        let mut rng = getrandom::SysRng;
        let keys = keys();
        with_public(&keys[1], |pk| {
            let k = pk.size();
            let mut out = vec![0u8; k];
            let e = pk.encrypt_pkcs1v15(&mut rng, &vec![1u8; k - 10], &mut out).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidValue);
            let mut small = vec![0u8; k - 1];
            let e = pk.encrypt_pkcs1v15(&mut rng, &[1u8; 16], &mut small).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BufferTooSmall { required: k });
            let e = pk
                .encrypt_oaep(
                    &mut rng,
                    HashAlgorithm::Sha256,
                    HashAlgorithm::Sha256,
                    b"",
                    &[1; 16],
                    &mut small,
                )
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BufferTooSmall { required: k });
        });
    }

    /// An RNG that fails, or returns only zeros.
    struct BadRng {
        zeros: bool,
    }

    #[derive(Debug)]
    struct RngFailed;
    impl core::fmt::Display for RngFailed {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("rng failed")
        }
    }
    impl core::error::Error for RngFailed {}

    impl rand_core::TryRng for BadRng {
        type Error = RngFailed;
        fn try_next_u32(&mut self) -> core::result::Result<u32, RngFailed> {
            if self.zeros { Ok(0) } else { Err(RngFailed) }
        }
        fn try_next_u64(&mut self) -> core::result::Result<u64, RngFailed> {
            if self.zeros { Ok(0) } else { Err(RngFailed) }
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), RngFailed> {
            if self.zeros {
                dst.fill(0);
                Ok(())
            } else {
                Err(RngFailed)
            }
        }
    }
    impl rand_core::TryCryptoRng for BadRng {}

    #[test]
    fn rng_failure() {
        let keys = keys();
        with_public(&keys[0], |pk| {
            let mut out = vec![0xEEu8; pk.size()];
            for zeros in [false, true] {
                let mut rng = BadRng { zeros };
                let e = pk.encrypt_pkcs1v15(&mut rng, &[7u8; 16], &mut out).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Rng);
                assert!(out.iter().all(|&b| b == 0), "output zeroized on error");
            }
            let mut rng = BadRng { zeros: false };
            let e = pk
                .encrypt_oaep(
                    &mut rng,
                    HashAlgorithm::Sha1,
                    HashAlgorithm::Sha1,
                    b"",
                    &[7u8; 16],
                    &mut out,
                )
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Rng);
            assert!(out.iter().all(|&b| b == 0));
        });
    }

    /// `c^d mod n` with the rsa crate's raw private operation, as `k` bytes.
    fn raw_decrypt(key: &PrivateKey, ct: &[u8]) -> Vec<u8> {
        let c = ::rsa::BoxedUint::from_be_slice(ct, key.n_bits_precision()).unwrap();
        let m = ::rsa::hazmat::rsa_decrypt(None::<&mut getrandom::SysRng>, key, &c).unwrap();
        let bytes = m.to_be_bytes();
        bytes[bytes.len() - key.size()..].to_vec()
    }

    #[test]
    fn pkcs1v15_encoding_is_exact() {
        // Open our ciphertexts with the raw private operation and check the
        // encoded message byte by byte: 00 02, non-zero padding, 00, message.
        let mut rng = getrandom::SysRng;
        let keys = keys();
        for key in [&keys[0], &keys[2]] {
            with_public(key, |pk| {
                let k = pk.size();
                for len in [0usize, 32, k - 11] {
                    let msg = vec![0u8; len];
                    let mut ct = vec![0u8; k];
                    pk.encrypt_pkcs1v15(&mut rng, &msg, &mut ct).unwrap();
                    let em = raw_decrypt(key, &ct);
                    assert_eq!(&em[..2], &[0x00, 0x02]);
                    let ps = &em[2..k - len - 1];
                    assert!(ps.len() >= 8 && ps.iter().all(|&b| b != 0));
                    assert_eq!(em[k - len - 1], 0);
                    assert_eq!(&em[k - len..], &msg[..]);
                }
            });
        }
    }

    #[test]
    fn oaep_encoding_starts_with_zero() {
        let mut rng = getrandom::SysRng;
        let keys = keys();
        let key = &keys[4];
        with_public(key, |pk| {
            let mut ct = vec![0u8; pk.size()];
            pk.encrypt_oaep(
                &mut rng,
                HashAlgorithm::Sha512,
                HashAlgorithm::Sha1,
                b"L",
                &[1; 32],
                &mut ct,
            )
            .unwrap();
            assert_eq!(raw_decrypt(key, &ct)[0], 0);
        });
    }
}
