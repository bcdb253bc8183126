#![no_std]
#![forbid(unsafe_code)]
#![doc = "Streaming, allocation-free CMS (RFC 5652) and S/MIME (RFC 8551) core."]
//!
//! # Layers, top to bottom
//!
//! - [`mime`]: the S/MIME message layer (RFC 8551 §3): mail split into outer
//!   header fields and the protected entity, multipart/signed written and
//!   read, `application/pkcs7-mime` headers, base64, CRLF canonicalisation,
//!   header and multipart parsing in bounded memory. Sink adapters around
//!   the CMS stages.
//! - [`cms`]: CMS content types as streaming encoders and decoders
//!   (EnvelopedData; SignedData signing and verification; certs-only). Push-based:
//!   `write` bytes in, `finish` at the end;
//!   output goes to an [`embedded_io::Write`] sink owned by the stage, so
//!   stages compose like `io::Write` adapters.
//! - [`backend`]: the traits private-key hardware implements (key-transport
//!   decryption, signing), plus software keys behind `soft-rsa` / `soft-ec`.
//! - [`x509`]: a zero-copy certificate and CRL view, and path validation.
//! - [`pubkey`]: public-key operations without heap (RSA encryption on
//!   fixed-size `crypto-bigint` integers; RSA, ECDSA and Ed25519 signature
//!   verification).
//! - [`digest`]: SHA-1 and SHA-2 chosen at run time.
//! - [`cipher`]: streaming content ciphers and the algorithm [`cipher::Policy`].
//! - [`ber`]: the push tokenizer, a borrowed slice reader, header encoding.
//!
//! # Contracts
//!
//! - **No heap.** Nothing in this crate allocates; it does not link `alloc`
//!   unless the `soft-rsa` feature is on (the software RSA private key needs it).
//! - **No panics on input.** Every input, however malformed, gives an
//!   [`Error`]; lengths are checked, nesting is bounded ([`ber::MAX_DEPTH`]).
//! - **Constant memory.** Streaming stages hold a fixed amount of state, set by
//!   const generics and caller-provided scratch buffers; message size does not
//!   change it.
//! - **Secrets are zeroized** when dropped (content-encryption keys, cipher state).
//!
//! # Cargo features
//!
//! - `ec` (default): ECDSA and Ed25519 verification, ECDH (P-256, P-384,
//!   X25519) recipients when encrypting.
//! - `aead` (default): AES-GCM and ChaCha20-Poly1305 (AuthEnvelopedData).
//! - `des` (default): triple DES content and key wrap.
//! - `soft-rsa`, `soft-ec`: software private keys (`soft-ec` implies `ec`).
//!
//! Without `ec`, `aead` or `des` the API is the same and those algorithms
//! give [`ErrorKind::UnsupportedAlgorithm`]: firmware that only sends AES-CBC
//! to RSA recipients builds with `default-features = false` and carries none
//! of their code.

#[cfg(feature = "soft-rsa")]
extern crate alloc;

pub mod agree;
pub mod backend;
pub mod ber;
pub mod cipher;
pub mod cms;
pub mod digest;
pub mod error;
pub mod mime;
pub mod oid;
pub mod pubkey;
#[cfg(feature = "soft-rsa")]
pub mod soft;
#[cfg(feature = "soft-ec")]
pub mod soft_ec;
pub mod x509;

pub use error::{Error, ErrorKind, MimeError, Result};
