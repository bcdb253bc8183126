//! Key backend on PKCS#11 tokens and HSMs (through `cryptoki`).
//!
//! **Not implemented yet.** This crate will implement `smime-core`'s
//! [`KeyTransDecrypter`](smime_core::backend::KeyTransDecrypter) (and the
//! signer trait that comes with SignedData) for keys on PKCS#11 tokens chosen
//! by RFC 7512 URIs, tested against SoftHSMv2. Today it contains no code.
#![forbid(unsafe_code)]
