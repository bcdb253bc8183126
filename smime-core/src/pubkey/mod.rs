//! Public-key operations without heap.
//!
//! - [`rsa`]: RSA encryption (PKCS#1 v1.5, OAEP) and the raw public operation.
//! - [`signature`]: signature algorithms and verification (RSA PKCS#1 v1.5,
//!   RSASSA-PSS, ECDSA P-256/P-384, Ed25519).
pub mod encoding;
pub mod rsa;
pub mod signature;
pub use rsa::RsaPublicKeyRef;
pub use signature::{SignatureAlgorithm, verify_message, verify_prehashed};
