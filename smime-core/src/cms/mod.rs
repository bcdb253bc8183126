//! CMS content types (RFC 5652), as streaming encoders and decoders.
//!
//! Each content type is a pair of push stages:
//!
//! - an encoder that owns an [`embedded_io::Write`] sink, takes content with
//!   `write` and ends with `finish`, writing the encoding as it goes;
//! - a decoder that owns the sink for the content, takes the encoding with
//!   `write` in chunks of any size, and ends with `finish`, which checks that
//!   the message was complete and returns a report.
//!
//! Both implement [`embedded_io::Write`] themselves, so stages chain like
//! `io::Write` adapters. Neither allocates; memory is fixed by const generics
//! and the caller's scratch buffer.
//!
//! Decoders stream their output before the end of the message is seen. Output
//! is only valid once `finish` returned `Ok`: a caller that writes to a file
//! writes to a temporary one and renames it on success.
//!
//! That includes AuthEnvelopedData (RFC 5083, [`enveloped`]): in streaming
//! mode its plaintext is unauthenticated until `finish` has checked the AEAD
//! tag. A message held whole in memory or flash can instead be decrypted
//! with [`enveloped::decrypt_authenticated`], which checks the tag first and
//! writes nothing unauthenticated.

pub mod capabilities;
pub mod enveloped;
pub(crate) mod recipient;
pub mod sign;
pub mod signed;

pub use enveloped::{
    DecryptOptions, DecryptReport, EncryptOptions, EnvelopedDataDecoder, EnvelopedDataEncoder,
    KeyTransport, Recipient, RecipientIdKind, decrypt_authenticated,
};
pub use sign::{SignOptions, SignedDataEncoder, SignerIdKind};
pub use signed::{
    ContentDigests, SignedDataDecoder, SignedDataReport, SignerReport, SignerStatus, VerifyOptions,
};
