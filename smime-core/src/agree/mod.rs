//! Key agreement and key-encryption-key recipients: the building blocks of
//! KeyAgreeRecipientInfo (ECDH, RFC 5753 with the ANSI X9.63 KDF; X25519,
//! RFC 8418) and KEKRecipientInfo (RFC 5652 §6.2.3), with AES key wrap
//! (RFC 3394) and the key-derivation functions they use.
//!
//! - [`keywrap`]: AES key wrap and unwrap (RFC 3394, default IV), and the
//!   legacy CMS triple-DES key wrap (RFC 3217).
//! - [`kdf`]: ANSI X9.63 KDF, HMAC and HKDF (RFC 5869) on SHA-1/SHA-2.
//! - [`kari`]: KeyAgreeRecipientInfo parsing, CEK unwrapping with a
//!   [`KeyAgreement`](crate::backend::KeyAgreement) key, and encoding for a
//!   recipient certificate with a fresh ephemeral key.
//! - [`kekri`]: KEKRecipientInfo parsing, unwrapping and encoding.
//!
//! Nothing here allocates; secrets (shared secrets, KEKs, temporaries) are
//! zeroized.

pub mod kari;
pub mod kdf;
pub mod kekri;
pub mod keywrap;

/// OIDs (DER content octets) used by this module.
pub mod oids {
    /// id-aes128-wrap (2.16.840.1.101.3.4.1.5).
    pub const AES128_WRAP: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x05];
    /// id-aes192-wrap (2.16.840.1.101.3.4.1.25).
    pub const AES192_WRAP: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x19];
    /// id-aes256-wrap (2.16.840.1.101.3.4.1.45).
    pub const AES256_WRAP: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2D];
    /// id-alg-CMS3DESwrap (1.2.840.113549.1.9.16.3.6).
    pub const TDES_WRAP: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x06];
    /// dhSinglePass-stdDH-sha1kdf-scheme (1.3.133.16.840.63.0.2).
    pub const DH_SHA1KDF: &[u8] = &[0x2B, 0x81, 0x05, 0x10, 0x86, 0x48, 0x3F, 0x00, 0x02];
    /// dhSinglePass-stdDH-sha224kdf-scheme (1.3.132.1.11.0).
    pub const DH_SHA224KDF: &[u8] = &[0x2B, 0x81, 0x04, 0x01, 0x0B, 0x00];
    /// dhSinglePass-stdDH-sha256kdf-scheme (1.3.132.1.11.1).
    pub const DH_SHA256KDF: &[u8] = &[0x2B, 0x81, 0x04, 0x01, 0x0B, 0x01];
    /// dhSinglePass-stdDH-sha384kdf-scheme (1.3.132.1.11.2).
    pub const DH_SHA384KDF: &[u8] = &[0x2B, 0x81, 0x04, 0x01, 0x0B, 0x02];
    /// dhSinglePass-stdDH-sha512kdf-scheme (1.3.132.1.11.3).
    pub const DH_SHA512KDF: &[u8] = &[0x2B, 0x81, 0x04, 0x01, 0x0B, 0x03];
    /// dhSinglePass-stdDH-hkdf-sha256-scheme (1.2.840.113549.1.9.16.3.19).
    pub const DH_HKDF_SHA256: &[u8] =
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x13];
    /// dhSinglePass-stdDH-hkdf-sha384-scheme (1.2.840.113549.1.9.16.3.20).
    pub const DH_HKDF_SHA384: &[u8] =
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x14];
    /// dhSinglePass-stdDH-hkdf-sha512-scheme (1.2.840.113549.1.9.16.3.21).
    pub const DH_HKDF_SHA512: &[u8] =
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x15];
    /// id-X25519 (1.3.101.110).
    pub const X25519: &[u8] = &[0x2B, 0x65, 0x6E];
}
