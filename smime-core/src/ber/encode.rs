//! Header encoding for the streaming encoders.
//!
//! Sizes that are known up front are written as definite lengths in their
//! minimal (DER) form; elements whose size is not known use the indefinite
//! form and are closed with [`EOC`].

use super::Tag;
use crate::error::{Error, ErrorKind, Result};

/// End-of-contents octets closing an indefinite-length element.
pub const EOC: [u8; 2] = [0, 0];

/// Largest header: 6 identifier octets and 9 length octets.
pub const MAX_HEADER_LEN: usize = 15;

/// Octets needed to encode a definite length `len`.
pub const fn length_len(len: u64) -> usize {
    if len < 0x80 {
        1
    } else {
        let bytes = (64 - len.leading_zeros() as usize).div_ceil(8);
        1 + bytes
    }
}

/// Octets needed for an element of `tag` with `content_len` content octets.
pub fn tlv_len(tag: Tag, content_len: u64) -> Result<u64> {
    let mut id = [0u8; 6];
    let tl = tag.encode(&mut id) as u64;
    (tl + length_len(content_len) as u64)
        .checked_add(content_len)
        .ok_or(Error::new(ErrorKind::LengthOverflow))
}

/// An encoded header, ready to be written.
#[derive(Clone, Copy, Debug)]
pub struct HeaderBytes {
    buf: [u8; MAX_HEADER_LEN],
    len: usize,
}

impl HeaderBytes {
    /// The header octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Encodes the header of `tag` with a definite length (`Some`) or the
/// indefinite form (`None`).
pub fn header(tag: Tag, len: Option<u64>) -> HeaderBytes {
    let mut buf = [0u8; MAX_HEADER_LEN];
    let mut id = [0u8; 6];
    let tl = tag.encode(&mut id);
    buf[..tl].copy_from_slice(&id[..tl]);
    let mut pos = tl;
    match len {
        None => {
            buf[pos] = 0x80;
            pos += 1;
        }
        Some(n) if n < 0x80 => {
            buf[pos] = n.to_le_bytes()[0];
            pos += 1;
        }
        Some(n) => {
            let ll = length_len(n) - 1;
            buf[pos] = 0x80 | ll.to_le_bytes()[0]; // ll <= 8
            pos += 1;
            let be = n.to_be_bytes();
            buf[pos..pos + ll].copy_from_slice(&be[8 - ll..]);
            pos += ll;
        }
    }
    HeaderBytes { buf, len: pos }
}

/// A DER writer into a caller slice, for the bounded parts of a message.
/// Fails with `BufferTooSmall` instead of truncating.
#[derive(Debug)]
pub struct SliceWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> SliceWriter<'a> {
    /// A writer over `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, data: &[u8]) -> Result<()> {
        let end = self.pos.checked_add(data.len()).ok_or(Error::new(ErrorKind::LengthOverflow))?;
        if end > self.buf.len() {
            return Err(Error::new(ErrorKind::BufferTooSmall { required: end }));
        }
        self.buf[self.pos..end].copy_from_slice(data);
        self.pos = end;
        Ok(())
    }

    /// Appends a header with a definite length.
    pub fn header(&mut self, tag: Tag, len: usize) -> Result<()> {
        self.bytes(header(tag, Some(len as u64)).as_bytes())
    }

    /// Appends a whole primitive element.
    pub fn tlv(&mut self, tag: Tag, value: &[u8]) -> Result<()> {
        self.header(tag, value.len())?;
        self.bytes(value)
    }

    /// The written bytes.
    pub fn finish(self) -> &'a [u8] {
        let Self { buf, pos } = self;
        &buf[..pos]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(header(Tag::SEQUENCE, Some(5)).as_bytes(), &[0x30, 5]);
        assert_eq!(header(Tag::SEQUENCE, Some(0x80)).as_bytes(), &[0x30, 0x81, 0x80]);
        assert_eq!(header(Tag::SEQUENCE, Some(0x1234)).as_bytes(), &[0x30, 0x82, 0x12, 0x34]);
        assert_eq!(header(Tag::context(0, true), None).as_bytes(), &[0xA0, 0x80]);
        assert_eq!(tlv_len(Tag::OCTET_STRING, 300).unwrap(), 304);
        assert_eq!(header(Tag::context(40, false), Some(1)).as_bytes(), &[0x9F, 40, 1]);
        assert_eq!(length_len(u64::MAX), 9);
    }
}
