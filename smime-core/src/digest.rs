//! Message digests: SHA-1 (legacy verification only) and SHA-2, without heap.
//!
//! [`Hasher`] is an incremental hash whose algorithm is chosen at run time
//! (from an `AlgorithmIdentifier` in a message); [`Digest`] is its fixed-size
//! result. [`HashAlgorithm`] gets its OIDs here:
//!
//! ```text
//! id-sha1   OBJECT IDENTIFIER ::= { iso(1) identified-organization(3) oiw(14)
//!                                   secsig(3) algorithms(2) 26 }
//! id-sha256 OBJECT IDENTIFIER ::= { joint-iso-itu-t(2) country(16) us(840)
//!                                   organization(1) gov(101) csor(3)
//!                                   nistalgorithm(4) hashalgs(2) 1 }   -- 2, 3: SHA-384, SHA-512
//! ```
//! ([RFC 3370 § 2.1](https://www.rfc-editor.org/rfc/rfc3370#section-2.1),
//! [RFC 5754 § 2](https://www.rfc-editor.org/rfc/rfc5754#section-2))
//!
//! No panics, no allocation; the state of the largest hash (SHA-512) is about
//! 200 bytes.

use core::fmt;

use sha2::Digest as _;

use crate::backend::HashAlgorithm;
use crate::oid;

/// Largest digest length (SHA-512), in bytes.
pub const MAX_DIGEST_LEN: usize = 64;

impl HashAlgorithm {
    /// Every algorithm, strongest last.
    pub const ALL: [HashAlgorithm; 4] =
        [HashAlgorithm::Sha1, HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512];

    /// The algorithm's OID (content octets).
    pub fn oid(self) -> &'static [u8] {
        match self {
            Self::Sha1 => oid::SHA1,
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
        }
    }

    /// The algorithm with OID `oid` (content octets), if it is one of these.
    pub fn from_oid(oid: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.oid() == oid)
    }

    /// Whether collisions are practical (SHA-1): signatures over such a hash
    /// should be reported as weak.
    pub fn is_weak(self) -> bool {
        matches!(self, Self::Sha1)
    }
}

/// An incremental hash of any [`HashAlgorithm`].
#[derive(Clone, Debug)]
pub enum Hasher {
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-384.
    Sha384(sha2::Sha384),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A fresh hash of `alg`.
    pub fn new(alg: HashAlgorithm) -> Self {
        match alg {
            HashAlgorithm::Sha1 => Self::Sha1(sha1::Sha1::new()),
            HashAlgorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
            HashAlgorithm::Sha384 => Self::Sha384(sha2::Sha384::new()),
            HashAlgorithm::Sha512 => Self::Sha512(sha2::Sha512::new()),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        match self {
            Self::Sha1(_) => HashAlgorithm::Sha1,
            Self::Sha256(_) => HashAlgorithm::Sha256,
            Self::Sha384(_) => HashAlgorithm::Sha384,
            Self::Sha512(_) => HashAlgorithm::Sha512,
        }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed.
    pub fn finalize(self) -> Digest {
        let mut d = Digest { bytes: [0; MAX_DIGEST_LEN], len: 0, alg: self.algorithm() };
        fn copy(out: &mut Digest, h: &[u8]) {
            for (o, i) in out.bytes.iter_mut().zip(h) {
                *o = *i;
            }
            out.len = h.len().min(MAX_DIGEST_LEN);
        }
        match self {
            Self::Sha1(h) => copy(&mut d, &h.finalize()),
            Self::Sha256(h) => copy(&mut d, &h.finalize()),
            Self::Sha384(h) => copy(&mut d, &h.finalize()),
            Self::Sha512(h) => copy(&mut d, &h.finalize()),
        }
        d
    }
}

/// `alg(data)` in one call.
pub fn digest(alg: HashAlgorithm, data: &[u8]) -> Digest {
    let mut h = Hasher::new(alg);
    h.update(data);
    h.finalize()
}

/// A digest value: up to [`MAX_DIGEST_LEN`] bytes and the algorithm that made it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    bytes: [u8; MAX_DIGEST_LEN],
    len: usize,
    alg: HashAlgorithm,
}

impl Digest {
    /// The digest octets (`algorithm().output_len()` of them).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// The algorithm that made it.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.alg
    }
}

/// Overwrites the value (for digests that are secrets, such as MGF1 masks).
impl zeroize::Zeroize for Digest {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// The algorithm and the digest in hex.
impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({:?}, ", self.alg)?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn hex(s: &str) -> [u8; MAX_DIGEST_LEN] {
        let mut out = [0u8; MAX_DIGEST_LEN];
        for (i, o) in out.iter_mut().enumerate().take(s.len() / 2) {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn abc_vectors() {
        // FIPS 180-2 appendix examples ("abc").
        let cases = [
            (HashAlgorithm::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                HashAlgorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                HashAlgorithm::Sha384,
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
                 8086072ba1e7cc2358baeca134c825a7",
            ),
            (
                HashAlgorithm::Sha512,
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
        ];
        for (alg, want) in cases {
            let want: std::string::String = want.split_whitespace().collect();
            let d = digest(alg, b"abc");
            assert_eq!(d.algorithm(), alg);
            assert_eq!(d.as_bytes().len(), alg.output_len());
            assert_eq!(d.as_bytes(), &hex(&want)[..alg.output_len()]);
            // Incremental, byte by byte.
            let mut h = Hasher::new(alg);
            for b in b"abc" {
                h.update(&[*b]);
            }
            assert_eq!(h.finalize(), d);
        }
    }

    #[test]
    fn oids() {
        for alg in HashAlgorithm::ALL {
            assert_eq!(HashAlgorithm::from_oid(alg.oid()), Some(alg));
            assert_eq!(alg.is_weak(), alg == HashAlgorithm::Sha1);
        }
        assert_eq!(HashAlgorithm::from_oid(oid::RSA_ENCRYPTION), None);
        assert_eq!(HashAlgorithm::from_oid(&[]), None);
    }

    extern crate std;
}
