//! Words for what the core reports: algorithm names, signer statuses,
//! fingerprints, times, for the reports a person reads.

use std::fmt::Write as _;

use smime_core::backend::HashAlgorithm;
use smime_core::cms::SignerStatus;
use smime_core::pubkey::SignatureAlgorithm;
use smime_core::x509::{DottedOid, Time};

use crate::error::{Error, Result};

/// Colon-separated upper-case hex: `0A:1B:2C`.
pub fn colon_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// `SHA-256`.
pub fn hash_name(h: HashAlgorithm) -> &'static str {
    match h {
        HashAlgorithm::Sha1 => "SHA-1",
        HashAlgorithm::Sha256 => "SHA-256",
        HashAlgorithm::Sha384 => "SHA-384",
        HashAlgorithm::Sha512 => "SHA-512",
        _ => "an unknown hash",
    }
}

/// `RSA PKCS#1 v1.5 with SHA-256`.
pub fn signature_name(s: SignatureAlgorithm) -> String {
    match s {
        SignatureAlgorithm::RsaPkcs1v15(h) => format!("RSA PKCS#1 v1.5 with {}", hash_name(h)),
        SignatureAlgorithm::RsaPss {
            hash,
            mgf_hash,
            salt_len,
        } => format!(
            "RSASSA-PSS with {} (MGF1 with {}, {salt_len}-byte salt)",
            hash_name(hash),
            hash_name(mgf_hash)
        ),
        SignatureAlgorithm::Ecdsa(h) => format!("ECDSA with {}", hash_name(h)),
        SignatureAlgorithm::Ed25519 => "Ed25519".to_owned(),
        _ => "an unknown signature algorithm".to_owned(),
    }
}

/// What a signer status means, as a sentence without the final full stop.
pub fn status_sentence(s: SignerStatus) -> &'static str {
    match s {
        SignerStatus::Valid => "the signature is valid",
        SignerStatus::BadSignature => {
            "the signature does not verify with the signer certificate's key \
             (the signed attributes were changed, or it is not the signer's certificate)"
        }
        SignerStatus::DigestMismatch => {
            "the content does not match the signed digest (the content was changed)"
        }
        SignerStatus::ContentTypeMismatch => {
            "the signed content type differs from the message's content type"
        }
        SignerStatus::MissingAttribute => {
            "a required signed attribute (content type or message digest) is missing"
        }
        SignerStatus::InvalidAttribute => "a signed attribute is malformed or repeated",
        SignerStatus::SignerCertificateNotFound => {
            "the signer's certificate is neither in the message nor given with --cert"
        }
        SignerStatus::UnsupportedAlgorithm => {
            "the digest or signature algorithm (or the signer's key type) is not supported"
        }
        SignerStatus::DigestNotComputed => {
            "the content was not hashed with the signer's digest algorithm \
             (the message does not list it)"
        }
        SignerStatus::DetachedContent => {
            "the content is detached (not in the message): give it with --content FILE"
        }
        _ => "the signature could not be checked",
    }
}

/// The name of an extended key usage purpose (OID content octets).
pub fn key_purpose_name(oid: &[u8]) -> String {
    const KP: &[u8] = &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03];
    match oid {
        smime_core::oid::ANY_EXTENDED_KEY_USAGE => return "anyExtendedKeyUsage".to_owned(),
        [p @ .., n] if p == KP => {
            let name = match n {
                1 => Some("serverAuth"),
                2 => Some("clientAuth"),
                3 => Some("codeSigning"),
                4 => Some("emailProtection"),
                8 => Some("timeStamping"),
                9 => Some("OCSPSigning"),
                _ => None,
            };
            if let Some(name) = name {
                return name.to_owned();
            }
        }
        _ => {}
    }
    DottedOid(oid).to_string()
}

/// The current time from the system clock.
pub fn now() -> Time {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Time::from_unix(secs)
}

/// Parses an RFC 3339 time (`2030-01-01T12:00:00Z`, `...+02:00`, fractions
/// of a second ignored) or a date (`2030-01-01`, midnight UTC).
pub fn parse_time(s: &str) -> Result<Time> {
    let bad = || {
        Error::msg(format_args!(
            "invalid time '{s}': expected RFC 3339, e.g. 2030-01-01T00:00:00Z"
        ))
    };
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64> {
        let part = b.get(r).ok_or_else(bad)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        std::str::from_utf8(part)
            .ok()
            .and_then(|p| p.parse().ok())
            .ok_or_else(bad)
    };
    let small = |v: i64| u8::try_from(v).map_err(|_| bad());
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(bad());
    }
    let (y, mo, d) = (num(0..4)?, small(num(5..7)?)?, small(num(8..10)?)?);
    if b.len() == 10 {
        return Time::from_civil(y, mo, d, 0, 0, 0).ok_or_else(bad);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return Err(bad());
    }
    let (h, mi) = (small(num(11..13)?)?, small(num(14..16)?)?);
    let (sec, mut rest) = if b.get(16) == Some(&b':') {
        (small(num(17..19)?)?, 19)
    } else {
        (0, 16)
    };
    if b.get(rest) == Some(&b'.') {
        rest += 1;
        while b.get(rest).is_some_and(u8::is_ascii_digit) {
            rest += 1;
        }
    }
    let offset = match b.get(rest..) {
        Some(b"Z" | b"z") => 0,
        Some([sign @ (b'+' | b'-'), ..]) if b.len() == rest + 6 && b[rest + 3] == b':' => {
            let o = num(rest + 1..rest + 3)? * 3600 + num(rest + 4..rest + 6)? * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return Err(bad()),
    };
    let t = Time::from_civil(y, mo, d, h, mi, sec).ok_or_else(bad)?;
    Ok(Time::from_unix(t.unix() - offset))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = |s| parse_time(s).map(|t| t.to_string());
        assert_eq!(t("2030-01-02T03:04:05Z").unwrap(), "2030-01-02T03:04:05Z");
        assert_eq!(t("2030-01-02").unwrap(), "2030-01-02T00:00:00Z");
        assert_eq!(
            t("2030-01-02T03:04:05.123+02:00").unwrap(),
            "2030-01-02T01:04:05Z"
        );
        assert_eq!(t("2030-01-02 03:04Z").unwrap(), "2030-01-02T03:04:00Z");
        for bad in [
            "",
            "2030",
            "2030-13-01",
            "2030-01-02T03:04:05",
            "yesterday",
            "2030-01-02T25:00:00Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(colon_hex(&[0x0a, 0xff]), "0A:FF");
    }
}
