//! Encodings a key backend needs around a raw private-key operation: the
//! PKCS#1 v1.5 `DigestInfo` a token or card pads and signs (RFC 8017 §9.2),
//! and the DER `Ecdsa-Sig-Value` CMS carries for an ECDSA signature that a
//! device returns as `r ‖ s` (PKCS#11 `CKM_ECDSA`, ISO 7816 cards).

use crate::backend::HashAlgorithm;
use crate::error::{Error, ErrorKind, Result};

/// The DER prefix of a `DigestInfo` with NULL parameters for `hash`; the
/// digest follows it.
pub const fn digest_info_prefix(hash: HashAlgorithm) -> &'static [u8] {
    match hash {
        HashAlgorithm::Sha1 => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04,
            0x14,
        ],
        HashAlgorithm::Sha256 => &[
            0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        HashAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        HashAlgorithm::Sha512 => &[
            0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// Writes the `DigestInfo` of `digest` (which must be `hash`'s length) into
/// `out`; returns its length.
///
/// Errors: a digest of the wrong length ([`ErrorKind::InvalidValue`]), a
/// too small `out` ([`ErrorKind::BufferTooSmall`]).
pub fn digest_info(hash: HashAlgorithm, digest: &[u8], out: &mut [u8]) -> Result<usize> {
    if digest.len() != hash.output_len() {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let prefix = digest_info_prefix(hash);
    let len = prefix.len() + digest.len();
    let dst = out.get_mut(..len).ok_or(Error::new(ErrorKind::BufferTooSmall { required: len }))?;
    let (p, d) = dst.split_at_mut(prefix.len());
    p.copy_from_slice(prefix);
    d.copy_from_slice(digest);
    Ok(len)
}

/// Longest `Ecdsa-Sig-Value` for a curve of up to 521 bits.
pub const MAX_ECDSA_DER_LEN: usize = 3 + 2 * (3 + 67);

/// Writes `r ‖ s` (two big-endian integers of equal length) as the DER
/// `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` into `out`;
/// returns its length.
///
/// Errors: an empty or odd-length input, or one longer than 2 × 66 bytes
/// ([`ErrorKind::InvalidValue`]); a too small `out`
/// ([`ErrorKind::BufferTooSmall`]).
pub fn ecdsa_raw_to_der(rs: &[u8], out: &mut [u8]) -> Result<usize> {
    if rs.is_empty() || !rs.len().is_multiple_of(2) || rs.len() > 2 * 66 {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let (r, s) = rs.split_at(rs.len() / 2);
    let r = trim_int(r);
    let s = trim_int(s);
    let int_len = |x: &[u8]| x.len() + usize::from(x.first().is_none_or(|b| b & 0x80 != 0));
    let (rl, sl) = (int_len(r), int_len(s));
    let body = 2 + rl + 2 + sl;
    let header = if body < 0x80 { 2 } else { 3 };
    let total = header + body;
    let dst = out.get_mut(..total).ok_or(Error::new(ErrorKind::BufferTooSmall { required: total }))?;
    let mut i = 0;
    let mut put = |b: u8| {
        if let Some(slot) = dst.get_mut(i) {
            *slot = b;
        }
        i += 1;
    };
    put(0x30);
    if header == 3 {
        put(0x81);
    }
    put(u8::try_from(body).map_err(|_| Error::new(ErrorKind::InvalidValue))?);
    for (x, len) in [(r, rl), (s, sl)] {
        put(0x02);
        put(u8::try_from(len).map_err(|_| Error::new(ErrorKind::InvalidValue))?);
        if len > x.len() {
            put(0);
        }
        for b in x {
            put(*b);
        }
    }
    Ok(total)
}

/// An unsigned big-endian integer without its leading zero bytes (empty for
/// zero, which is then encoded as `02 01 00`).
fn trim_int(x: &[u8]) -> &[u8] {
    let first = x.iter().position(|b| *b != 0).unwrap_or(x.len());
    x.get(first..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_info_sha256() {
        let mut out = [0u8; 64];
        let n = digest_info(HashAlgorithm::Sha256, &[7u8; 32], &mut out).unwrap();
        assert_eq!(n, 51);
        assert_eq!(&out[..19], digest_info_prefix(HashAlgorithm::Sha256));
        assert_eq!(&out[19..51], &[7u8; 32]);
        assert!(digest_info(HashAlgorithm::Sha256, &[7u8; 20], &mut out).is_err());
        assert!(digest_info(HashAlgorithm::Sha512, &[7u8; 64], &mut [0u8; 70]).is_err());
    }

    #[test]
    fn digest_info_prefixes_have_the_right_lengths() {
        for h in HashAlgorithm::ALL {
            let p = digest_info_prefix(h);
            assert_eq!(usize::from(p[1]) + 2, p.len() + h.output_len());
            assert_eq!(usize::from(*p.last().unwrap()), h.output_len());
        }
    }

    #[test]
    fn ecdsa_der() {
        let mut out = [0u8; MAX_ECDSA_DER_LEN];
        // High bits set: a zero byte is added.
        let mut rs = [0u8; 64];
        rs[0] = 0x80;
        rs[32] = 0x01;
        let n = ecdsa_raw_to_der(&rs, &mut out).unwrap();
        assert_eq!(&out[..5], &[0x30, 0x45, 0x02, 0x21, 0x00]);
        assert_eq!(out[5], 0x80);
        // s = 0x01 followed by zeros: 32 bytes, no padding.
        assert_eq!(&out[37..40], &[0x02, 0x20, 0x01]);
        assert_eq!(n, 2 + 35 + 34);
        // Leading zeros are dropped; zero is 02 01 00.
        let rs = [0u8; 64];
        let n = ecdsa_raw_to_der(&rs, &mut out).unwrap();
        assert_eq!(&out[..n], &[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]);
        // P-521: long form length.
        let rs = [0xFFu8; 132];
        let n = ecdsa_raw_to_der(&rs, &mut out).unwrap();
        assert_eq!(&out[..3], &[0x30, 0x81, u8::try_from(n - 3).unwrap()]);
        assert!(ecdsa_raw_to_der(&[1, 2, 3], &mut out).is_err());
        assert!(ecdsa_raw_to_der(&[], &mut out).is_err());
    }

    #[test]
    #[cfg(feature = "ec")]
    fn ecdsa_der_verifies_with_p256() {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        let sk = p256::ecdsa::SigningKey::from_slice(&[0x42u8; 32]).unwrap();
        let digest = [9u8; 32];
        let sig: p256::ecdsa::Signature =
            p256::ecdsa::signature::hazmat::PrehashSigner::sign_prehash(&sk, &digest).unwrap();
        let raw = sig.to_bytes();
        let mut out = [0u8; MAX_ECDSA_DER_LEN];
        let n = ecdsa_raw_to_der(&raw, &mut out).unwrap();
        let parsed = p256::ecdsa::Signature::from_der(&out[..n]).unwrap();
        sk.verifying_key().verify_prehash(&digest, &parsed).unwrap();
    }
}
