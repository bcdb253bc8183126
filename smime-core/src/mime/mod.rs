//! The S/MIME message layer (RFC 8551 §3 on MIME, RFC 2045/2046), streaming
//! and allocation-free.
//!
//! - [`base64`]: base64 Content-Transfer-Encoding as sink adapters (76-column
//!   CRLF lines out; white space tolerated in).
//! - [`canon`]: canonicalisation of line ends to CRLF (RFC 8551 §3.1.1).
//! - [`header`]: header fields parsed in bounded memory (folding, quoted
//!   parameters, case-insensitive names), Content-Type and addresses.
//! - [`multipart`]: the boundary scanner that splits a multipart body into
//!   its parts, byte-exact (the signed part of a multipart/signed is hashed
//!   as it stands between the delimiters).
//!
//! No function here allocates or panics on input; every buffer is fixed or
//! the caller's, and every length is bounded.

pub mod base64;
pub mod canon;
pub mod header;
pub mod multipart;

/// Longest boundary accepted (RFC 2046 §5.1.1 allows 70 characters; some
/// clients exceed it a little).
pub const MAX_BOUNDARY: usize = 128;

pub mod compose;
pub mod open;

pub use compose::{
    BodyEncoder, Boundary, EntityInfo, FieldSet, EntityKind, MessageSplitter, MultipartSignedWriter,
    SmimeType, micalg, write_pkcs7_mime_header,
};
pub use open::{BodyDecoder, Discard, MultipartSignedInfo, MultipartSignedReader, sniff};
