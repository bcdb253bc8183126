//! Public-key operations without heap.
pub mod rsa;
pub use rsa::RsaPublicKeyRef;
