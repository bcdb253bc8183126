//! Key-derivation functions for key agreement: the ANSI X9.63 KDF (RFC 5753
//! §7.2, SEC 1 §3.6.1), HMAC (RFC 2104) and HKDF (RFC 5869).
//!
//! All on SHA-1 and SHA-2, chosen at run time; nothing allocates and every
//! intermediate secret is zeroized.

use sha2::Digest;
use zeroize::Zeroize;

use crate::error::{Error, ErrorKind, Result};

/// The hash of a KDF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KdfHash {
    /// SHA-1 (RFC 5753's `dhSinglePass-stdDH-sha1kdf-scheme`).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// The longest hash output, in bytes.
pub const MAX_HASH_LEN: usize = 64;
const MAX_BLOCK_LEN: usize = 128;

impl KdfHash {
    /// Output length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Block length in bytes (the HMAC key block).
    pub const fn block_len(self) -> usize {
        match self {
            Self::Sha384 | Self::Sha512 => 128,
            _ => 64,
        }
    }

    /// Hashes the concatenation of `parts` into `out` (at least
    /// [`output_len`](Self::output_len) bytes); returns the length.
    fn hash(self, parts: &[&[u8]], out: &mut [u8]) -> usize {
        fn run<D: Digest>(parts: &[&[u8]], out: &mut [u8]) -> usize {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            let mut h = d.finalize();
            let n = h.len();
            out[..n].copy_from_slice(&h);
            h.as_mut_slice().zeroize();
            n
        }
        match self {
            Self::Sha1 => run::<sha1::Sha1>(parts, out),
            Self::Sha224 => run::<sha2::Sha224>(parts, out),
            Self::Sha256 => run::<sha2::Sha256>(parts, out),
            Self::Sha384 => run::<sha2::Sha384>(parts, out),
            Self::Sha512 => run::<sha2::Sha512>(parts, out),
        }
    }
}

/// SHA-1 of `data` (the triple-DES key wrap's checksum).
#[cfg(feature = "des")]
pub(crate) fn sha1(data: &[u8]) -> [u8; 20] {
    let mut out = [0u8; 20];
    KdfHash::Sha1.hash(&[data], &mut out);
    out
}

/// The ANSI X9.63 KDF: `out = H(Z || 00000001 || SharedInfo) || H(Z ||
/// 00000002 || SharedInfo) || …`, truncated to `out.len()`.
///
/// [`ErrorKind::InvalidValue`] if `out` is empty or longer than the KDF allows.
pub fn x963(hash: KdfHash, z: &[u8], shared_info: &[u8], out: &mut [u8]) -> Result<()> {
    if out.is_empty() || out.len() > 255 * hash.output_len() {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let mut block = [0u8; MAX_HASH_LEN];
    for (i, chunk) in out.chunks_mut(hash.output_len()).enumerate() {
        let counter = u32::try_from(i + 1).map_err(|_| Error::new(ErrorKind::InvalidValue))?;
        hash.hash(&[z, &counter.to_be_bytes(), shared_info], &mut block);
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
    block.zeroize();
    Ok(())
}

/// HMAC (RFC 2104) of the concatenation of `parts` under `key`, into `out`
/// (at least the hash's output length); returns the length.
pub fn hmac(hash: KdfHash, key: &[u8], parts: &[&[u8]], out: &mut [u8]) -> Result<usize> {
    let n = hash.output_len();
    if out.len() < n {
        return Err(Error::new(ErrorKind::BufferTooSmall { required: n }));
    }
    let bl = hash.block_len();
    let mut k = [0u8; MAX_BLOCK_LEN];
    if key.len() > bl {
        hash.hash(&[key], &mut k);
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut pad = [0u8; MAX_BLOCK_LEN];
    for (p, kb) in pad.iter_mut().zip(k.iter()) {
        *p = kb ^ 0x36;
    }
    let mut inner = [0u8; MAX_HASH_LEN];
    // parts are at most a handful: ipad, then up to 7 parts.
    let mut all: [&[u8]; 8] = [&[]; 8];
    if parts.len() > 7 {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    all[0] = &pad[..bl];
    all[1..=parts.len()].copy_from_slice(parts);
    hash.hash(&all[..=parts.len()], &mut inner);
    let mut opad = [0u8; MAX_BLOCK_LEN];
    for (p, kb) in opad.iter_mut().zip(k.iter()) {
        *p = kb ^ 0x5C;
    }
    hash.hash(&[&opad[..bl], &inner[..n]], out);
    k.zeroize();
    pad.zeroize();
    opad.zeroize();
    inner.zeroize();
    Ok(n)
}

/// HKDF-Extract (RFC 5869 §2.2): `PRK = HMAC(salt, IKM)`; an empty salt is a
/// string of zeros of the hash length. Returns the PRK length.
pub fn hkdf_extract(hash: KdfHash, salt: &[u8], ikm: &[u8], prk: &mut [u8]) -> Result<usize> {
    let zeros = [0u8; MAX_HASH_LEN];
    let salt = if salt.is_empty() { &zeros[..hash.output_len()] } else { salt };
    hmac(hash, salt, &[ikm], prk)
}

/// HKDF-Expand (RFC 5869 §2.3) of `prk` with `info` into `out`.
/// [`ErrorKind::InvalidValue`] if `out` is empty or longer than 255 blocks.
pub fn hkdf_expand(hash: KdfHash, prk: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    let n = hash.output_len();
    if out.is_empty() || out.len() > 255 * n {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let mut t = [0u8; MAX_HASH_LEN];
    let mut t_len = 0;
    for (i, chunk) in out.chunks_mut(n).enumerate() {
        let counter = [u8::try_from(i + 1).map_err(|_| Error::new(ErrorKind::InvalidValue))?];
        let mut next = [0u8; MAX_HASH_LEN];
        hmac(hash, prk, &[&t[..t_len], info, &counter], &mut next)?;
        t = next;
        next.zeroize();
        t_len = n;
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
    t.zeroize();
    Ok(())
}

/// HKDF (RFC 5869): extract with `salt` (empty for none), then expand with
/// `info` into `out`.
pub fn hkdf(hash: KdfHash, salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    let mut prk = [0u8; MAX_HASH_LEN];
    let n = hkdf_extract(hash, salt, ikm, &mut prk)?;
    let r = hkdf_expand(hash, &prk[..n], info, out);
    prk.zeroize();
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        let s = s.as_bytes();
        assert_eq!(s.len(), 2 * N);
        for (i, c) in s.chunks(2).enumerate() {
            let v = |x: u8| u8::try_from((x as char).to_digit(16).unwrap()).unwrap();
            out[i] = v(c[0]) << 4 | v(c[1]);
        }
        out
    }

    /// RFC 5869 Appendix A.1 – A.3 (SHA-256).
    #[test]
    fn rfc5869_sha256() {
        let ikm = [0x0b; 22];
        let salt: [u8; 13] = hex("000102030405060708090a0b0c");
        let info: [u8; 10] = hex("f0f1f2f3f4f5f6f7f8f9");
        let mut prk = [0u8; 64];
        let n = hkdf_extract(KdfHash::Sha256, &salt, &ikm, &mut prk).unwrap();
        assert_eq!(prk[..n], hex::<32>("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"));
        let mut okm = [0u8; 42];
        hkdf(KdfHash::Sha256, &salt, &ikm, &info, &mut okm).unwrap();
        assert_eq!(okm, hex::<42>("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"));

        // A.2: long inputs.
        let ikm: [u8; 80] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        let salt: [u8; 80] = core::array::from_fn(|i| 0x60 + u8::try_from(i).unwrap());
        let info: [u8; 80] = core::array::from_fn(|i| 0xb0 + u8::try_from(i).unwrap());
        let mut okm = [0u8; 82];
        hkdf(KdfHash::Sha256, &salt, &ikm, &info, &mut okm).unwrap();
        assert_eq!(okm, hex::<82>("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"));

        // A.3: empty salt and info.
        let ikm = [0x0b; 22];
        let mut okm = [0u8; 42];
        hkdf(KdfHash::Sha256, &[], &ikm, &[], &mut okm).unwrap();
        assert_eq!(okm, hex::<42>("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"));
    }

    /// RFC 5869 Appendix A.4 (SHA-1), which exercises the 20-byte hash.
    #[test]
    fn rfc5869_sha1() {
        let ikm = [0x0b; 11];
        let salt: [u8; 13] = hex("000102030405060708090a0b0c");
        let info: [u8; 10] = hex("f0f1f2f3f4f5f6f7f8f9");
        let mut okm = [0u8; 42];
        hkdf(KdfHash::Sha1, &salt, &ikm, &info, &mut okm).unwrap();
        assert_eq!(okm, hex::<42>("085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896"));
    }

    /// RFC 4231 test case 6 (HMAC-SHA-512 and -384 with a key longer than a block).
    #[test]
    fn rfc4231_long_key() {
        let key = [0xaa; 131];
        let msg = b"Test Using Larger Than Block-Size Key - Hash Key First";
        let mut out = [0u8; 64];
        hmac(KdfHash::Sha512, &key, &[msg], &mut out).unwrap();
        assert_eq!(out, hex::<64>("80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"));
        hmac(KdfHash::Sha384, &key, &[&msg[..10], &msg[10..]], &mut out).unwrap();
        assert_eq!(out[..48], hex::<48>("4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952"));
    }
    /// ANSI X9.63 KDF: the CAVS SHA-1 vector (no SharedInfo), and SHA-2
    /// outputs of several blocks cross-checked with `openssl kdf X963KDF`.
    #[test]
    fn x963_vectors() {
        let z: [u8; 24] = hex("1c7d7b5f0597b03d06a018466ed1a93e30ed4b04dc64ccdd");
        let mut out = [0u8; 20];
        x963(KdfHash::Sha1, &z, &[], &mut out).unwrap();
        assert_eq!(out, hex::<20>("bf71dffd8f4d99223936beb46fee8ccc60439b7e"));

        let z: [u8; 24] = hex("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08");
        let info = [0xa1, 0xb2, 0xc3];
        let mut out = [0u8; 40];
        x963(KdfHash::Sha256, &z, &info, &mut out).unwrap();
        assert_eq!(out, hex::<40>("28cddeb12cf625ca2daf836cd239befebfd20c73e897a0d90515ff86dbb2e91417a802d55d80a87e"));
        let cases = [
            (KdfHash::Sha224, "8546507D8075CC441A558D78AC708DDD4768EFB3186674AE46E34B72668348BC224BBAF651C96E61B4DB8C1F8669C3D739ED0645E9FA166C353F45AAE90CD01EB8C2073AB97E"),
            (KdfHash::Sha384, "668A1AFFBEECB47259467D16FE8674A644675A9E3532FAACCB7E1291419B7063E9809594A908EE74E11C3C92CED47E1BC46AC10DBD77A42BF6C9553A5DCB9F9DB7324B08C0E1"),
            (KdfHash::Sha512, "389716671D17E769CE05003B5E61669295C95432E8F01CF8A0CD42339821F4DFE2B8182EFF058CFA6EBA51901C088E0ED0D05835299E42A80B1C0C760FC6DFAD2BDDA1BC103C"),
        ];
        for (h, expect) in cases {
            let mut out = [0u8; 70];
            x963(h, &z, &info, &mut out).unwrap();
            assert_eq!(out, hex::<70>(expect), "{h:?}");
        }
        assert!(x963(KdfHash::Sha256, &z, &info, &mut []).is_err());
    }
}
