//! A borrowed BER reader over a complete element held in a slice.
//!
//! Used for the bounded parts of a message (recipient infos, algorithm
//! identifiers, certificates). Nothing is copied: every [`Tlv`] borrows from
//! the input. Indefinite lengths and long-form lengths are accepted (BER), a
//! nesting bound of [`MAX_DEPTH`] applies, and every length
//! is checked against the remaining input, so no accessor can read out of
//! bounds.

use super::{Length, MAX_DEPTH, Tag, parse_length, parse_tag};
use crate::error::{Error, ErrorKind, Result};

/// One element: its tag, its content octets, and its whole encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: Tag,
    /// The content octets (for an indefinite length, without the end-of-contents).
    pub value: &'a [u8],
    /// The whole encoding: identifier, length, contents (and end-of-contents).
    pub raw: &'a [u8],
    /// Whether the element used the indefinite-length form.
    pub indefinite: bool,
}

impl<'a> Tlv<'a> {
    /// A reader over the contents of this (constructed) element.
    pub fn reader(&self) -> SliceReader<'a> {
        SliceReader::new(self.value)
    }

    /// Checks the tag and returns the element, or an `UnexpectedTag` error.
    pub fn expect(self, tag: Tag) -> Result<Self> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(Error::new(ErrorKind::UnexpectedTag {
                expected: tag.first_octet(),
                actual: self.tag.first_octet(),
            }))
        }
    }

    /// The content of a small non-negative INTEGER.
    pub fn small_uint(&self) -> Result<u32> {
        if self.tag != Tag::INTEGER || self.value.is_empty() || self.value.len() > 5 {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        if self.value[0] & 0x80 != 0 {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        let mut v: u64 = 0;
        for &b in self.value {
            v = (v << 8) | u64::from(b);
        }
        u32::try_from(v).map_err(|_| Error::new(ErrorKind::InvalidValue))
    }

    /// The magnitude octets of a non-negative INTEGER, without leading zeros.
    pub fn uint_bytes(&self) -> Result<&'a [u8]> {
        if self.tag != Tag::INTEGER || self.value.is_empty() || self.value[0] & 0x80 != 0 {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        let mut v = self.value;
        while v.len() > 1 && v[0] == 0 {
            v = &v[1..];
        }
        Ok(v)
    }
}

/// Reads consecutive elements from a slice.
#[derive(Clone, Debug)]
pub struct SliceReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> SliceReader<'a> {
    /// A reader over `data`.
    pub const fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Whether all input was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The unread remainder.
    pub fn remaining(&self) -> &'a [u8] {
        &self.data[self.pos.min(self.data.len())..]
    }

    /// The next element's tag, without consuming it.
    pub fn peek_tag(&self) -> Option<Tag> {
        parse_tag(self.remaining()).ok().flatten().map(|(t, _)| t)
    }

    /// The next element, or `None` at the end of input.
    pub fn next_tlv(&mut self) -> Result<Option<Tlv<'a>>> {
        if self.is_empty() {
            return Ok(None);
        }
        let (tlv, used) = parse_one(self.remaining(), 0)
            .map_err(|e| e.or_at(self.pos as u64))?;
        self.pos += used;
        Ok(Some(tlv))
    }

    /// The next element; `Truncated` at the end of input.
    pub fn read(&mut self) -> Result<Tlv<'a>> {
        self.next_tlv()?.ok_or(Error::new(ErrorKind::Truncated))
    }

    /// The next element, which must have `tag`.
    pub fn read_expect(&mut self, tag: Tag) -> Result<Tlv<'a>> {
        self.read()?.expect(tag)
    }

    /// The next element if it has `tag`, otherwise nothing is consumed.
    pub fn read_optional(&mut self, tag: Tag) -> Result<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(tag) { self.read().map(Some) } else { Ok(None) }
    }

    /// Fails with `TrailingData` unless all input was read.
    pub fn finish(&self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::at(ErrorKind::TrailingData, self.pos as u64))
        }
    }
}

/// Parses exactly one complete element at the start of `input`.
/// Returns the element and the bytes it used.
pub fn parse_one(input: &[u8], depth: usize) -> Result<(Tlv<'_>, usize)> {
    if depth >= MAX_DEPTH {
        return Err(Error::new(ErrorKind::DepthExceeded { max: super::MAX_DEPTH_U8 }));
    }
    let (tag, tl) = parse_tag(input)?.ok_or(Error::new(ErrorKind::Truncated))?;
    let (len, ll) = parse_length(&input[tl..])?.ok_or(Error::new(ErrorKind::Truncated))?;
    let hdr = tl + ll;
    match len {
        Length::Definite(n) => {
            let n = usize::try_from(n).map_err(|_| Error::new(ErrorKind::LengthOverflow))?;
            let end = hdr.checked_add(n).ok_or(Error::new(ErrorKind::LengthOverflow))?;
            if end > input.len() {
                return Err(Error::new(ErrorKind::Truncated));
            }
            Ok((
                Tlv { tag, value: &input[hdr..end], raw: &input[..end], indefinite: false },
                end,
            ))
        }
        Length::Indefinite => {
            if !tag.constructed {
                return Err(Error::new(ErrorKind::InvalidEncoding));
            }
            let mut pos = hdr;
            loop {
                let rest = &input[pos..];
                if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
                    let end = pos + 2;
                    return Ok((
                        Tlv { tag, value: &input[hdr..pos], raw: &input[..end], indefinite: true },
                        end,
                    ));
                }
                if rest.is_empty() {
                    return Err(Error::new(ErrorKind::Truncated));
                }
                let (_, used) = parse_one(rest, depth + 1)?;
                pos += used;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite() {
        // SEQUENCE (indefinite) { INTEGER 5, OCTET STRING (constructed, indefinite) { "ab" } }
        let data = [0x30, 0x80, 0x02, 0x01, 0x05, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0, 0, 0, 0];
        let mut r = SliceReader::new(&data);
        let seq = r.read_expect(Tag::SEQUENCE).unwrap();
        assert!(seq.indefinite);
        assert_eq!(seq.raw.len(), data.len());
        r.finish().unwrap();
        let mut inner = seq.reader();
        assert_eq!(inner.read().unwrap().small_uint().unwrap(), 5);
        let os = inner.read().unwrap();
        assert!(os.tag.constructed && os.indefinite);
        inner.finish().unwrap();
    }

    #[test]
    fn bad_lengths() {
        assert_eq!(parse_one(&[0x04, 0x05, 1, 2], 0).unwrap_err().kind(), ErrorKind::Truncated);
        assert_eq!(
            parse_one(&[0x04, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1], 0).unwrap_err().kind(),
            ErrorKind::LengthOverflow
        );
        assert_eq!(
            parse_one(&[0x04, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0)
                .unwrap_err()
                .kind(),
            ErrorKind::LengthOverflow
        );
        assert_eq!(parse_one(&[0x04, 0x80, 0, 0], 0).unwrap_err().kind(), ErrorKind::InvalidEncoding);
        assert_eq!(parse_one(&[0x30, 0x80, 0x04, 0x00], 0).unwrap_err().kind(), ErrorKind::Truncated);
    }

    #[test]
    fn depth_bound() {
        let mut deep = [0u8; 2 * (MAX_DEPTH + 2)];
        for i in 0..MAX_DEPTH + 2 {
            deep[2 * i] = 0x30;
            deep[2 * i + 1] = 0x80;
        }
        assert!(matches!(
            parse_one(&deep, 0).unwrap_err().kind(),
            ErrorKind::DepthExceeded { .. }
        ));
    }
}
