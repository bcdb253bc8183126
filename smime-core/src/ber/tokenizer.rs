//! A push tokenizer for BER streams.
//!
//! [`Tokenizer::next`] takes whatever input the caller has, of any size down
//! to one byte, and returns how much of it was consumed together with at most
//! one [`Token`]. `None` means "give me more input"; it is never an error. The
//! tokenizer keeps no more than one partial header (at most 15 bytes) between
//! calls, so memory is constant whatever the size of the stream.
//!
//! Rules enforced, each reported as an [`Error`] with the stream offset:
//! - nesting deeper than [`MAX_DEPTH`] is refused (`DepthExceeded`);
//! - a definite length must fit in 64 bits and inside every enclosing
//!   definite-length element (`LengthOverflow`);
//! - indefinite lengths only on constructed elements, end-of-contents only
//!   inside indefinite-length elements (`InvalidEncoding`);
//! - one top-level element per stream; bytes after it are `TrailingData`;
//! - [`Tokenizer::finish`] fails with `Truncated` unless the element is complete.
//!
//! Every element, primitive or constructed, produces one [`Token::Start`] and
//! one [`Token::End`]; a primitive's content comes as zero or more
//! [`Token::Data`] chunks in between. Constructed strings (BER chunked OCTET
//! STRINGs, as Outlook and `openssl cms -stream` write) appear as nested
//! elements, so a consumer that wants the string's bytes takes every `Data`
//! below it, whatever the chunking.

use super::encode::MAX_HEADER_LEN;
use super::{MAX_DEPTH, Tag, parse_length, parse_tag};
use crate::error::{Error, ErrorKind, Result};

/// The length of an element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// Definite length: this many content octets.
    Definite(u64),
    /// Indefinite length: the content ends with end-of-contents octets.
    Indefinite,
}

/// An element's header as it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The tag.
    pub tag: Tag,
    /// The length.
    pub length: Length,
    /// Nesting depth of this element: 0 for the top-level element.
    pub depth: usize,
    raw: [u8; MAX_HEADER_LEN],
    raw_len: u8,
}

impl Header {
    /// The identifier and length octets exactly as they were in the stream.
    pub fn raw(&self) -> &[u8] {
        &self.raw[..usize::from(self.raw_len)]
    }
}

/// The end of an element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct End {
    /// The tag of the element that ended.
    pub tag: Tag,
    /// Its depth (0 for the top-level element).
    pub depth: usize,
    /// Whether it was closed by end-of-contents octets (which were consumed).
    pub indefinite: bool,
}

/// What the tokenizer found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token<'a> {
    /// An element starts.
    Start(Header),
    /// Content octets of the innermost open primitive element.
    Data(&'a [u8]),
    /// An element ends.
    End(End),
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    tag: Tag,
    /// Absolute stream offset where the content ends; `None` for indefinite.
    end: Option<u64>,
}

const EMPTY_FRAME: Frame = Frame { tag: Tag::NULL, end: None };

/// The push tokenizer. About 420 bytes of state.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    stack: [Frame; MAX_DEPTH],
    depth: usize,
    offset: u64,
    hdr: [u8; MAX_HEADER_LEN],
    hdr_len: usize,
    done: bool,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Tokenizer {
    /// A tokenizer at the start of a stream.
    pub const fn new() -> Self {
        Self {
            stack: [EMPTY_FRAME; MAX_DEPTH],
            depth: 0,
            offset: 0,
            hdr: [0; MAX_HEADER_LEN],
            hdr_len: 0,
            done: false,
        }
    }

    /// Bytes consumed so far (the stream offset of the next byte).
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Current nesting depth: the number of open elements.
    pub const fn depth(&self) -> usize {
        self.depth
    }

    /// Whether the top-level element is complete.
    pub const fn is_done(&self) -> bool {
        self.done
    }

    /// Consumes a prefix of `input` and returns how many bytes that was and
    /// the next token, if any. `(n, None)` means all of `input` was consumed
    /// (`n == input.len()`) and more is needed. Call again with the rest of the
    /// input after every token: `End` tokens may come with nothing consumed.
    pub fn next<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Token<'a>>)> {
        self.step(input).map_err(|e| e.or_at(self.offset))
    }

    fn step<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Token<'a>>)> {
        if self.depth > 0 {
            let top = self.stack[self.depth - 1];
            if top.end == Some(self.offset) {
                return Ok((0, Some(self.pop(false))));
            }
            if !top.tag.constructed {
                let Some(end) = top.end else {
                    return Err(Error::new(ErrorKind::InvalidEncoding));
                };
                let left = end - self.offset;
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                if take == 0 {
                    return Ok((0, None));
                }
                self.offset += take as u64;
                return Ok((take, Some(Token::Data(&input[..take]))));
            }
        } else if self.done {
            if input.is_empty() {
                return Ok((0, None));
            }
            return Err(Error::new(ErrorKind::TrailingData));
        }
        self.header(input)
    }

    /// The end offset of the nearest enclosing definite-length element.
    fn limit(&self) -> u64 {
        self.stack[..self.depth].iter().rev().find_map(|f| f.end).unwrap_or(u64::MAX)
    }

    fn pop(&mut self, indefinite: bool) -> Token<'static> {
        self.depth -= 1;
        let f = self.stack[self.depth];
        if self.depth == 0 {
            self.done = true;
        }
        Token::End(End { tag: f.tag, depth: self.depth, indefinite })
    }

    fn header<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Token<'a>>)> {
        let limit = self.limit();
        let room = limit - self.offset; // offset never passes limit
        if room == 0 {
            // An indefinite element ran into the end of its definite parent.
            return Err(Error::new(ErrorKind::LengthOverflow));
        }
        let before = self.hdr_len;
        let want = (MAX_HEADER_LEN - before)
            .min(input.len())
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        self.hdr[before..before + want].copy_from_slice(&input[..want]);
        let avail = before + want;
        let parsed = match parse_tag(&self.hdr[..avail])? {
            None => None,
            Some((tag, tl)) => parse_length(&self.hdr[tl..avail])?.map(|(l, ll)| (tag, l, tl + ll)),
        };
        let Some((tag, length, hl)) = parsed else {
            if (want as u64) >= room {
                // The header itself does not fit in the parent.
                return Err(Error::new(ErrorKind::LengthOverflow));
            }
            self.hdr_len = avail;
            self.offset += want as u64;
            return Ok((want, None));
        };
        let used = hl - before;
        let mut raw = [0u8; MAX_HEADER_LEN];
        raw[..hl].copy_from_slice(&self.hdr[..hl]);
        self.hdr_len = 0;
        let start = self.offset - before as u64;
        self.offset += used as u64;

        // End-of-contents.
        if raw[0] == 0 {
            if hl != 2 || raw[1] != 0 {
                return Err(Error::at(ErrorKind::InvalidEncoding, start));
            }
            if self.depth == 0 || self.stack[self.depth - 1].end.is_some() {
                return Err(Error::at(ErrorKind::InvalidEncoding, start));
            }
            return Ok((used, Some(self.pop(true))));
        }
        if self.depth >= MAX_DEPTH {
            return Err(Error::at(ErrorKind::DepthExceeded { max: super::MAX_DEPTH_U8 }, start));
        }
        let end = match length {
            Length::Indefinite if !tag.constructed => {
                return Err(Error::at(ErrorKind::InvalidEncoding, start));
            }
            Length::Indefinite => None,
            Length::Definite(n) => {
                let end = self
                    .offset
                    .checked_add(n)
                    .ok_or(Error::at(ErrorKind::LengthOverflow, start))?;
                if end > limit {
                    return Err(Error::at(ErrorKind::LengthOverflow, start));
                }
                Some(end)
            }
        };
        let depth = self.depth;
        self.stack[depth] = Frame { tag, end };
        self.depth += 1;
        Ok((used, Some(Token::Start(Header { tag, length, depth, raw, raw_len: hl.to_le_bytes()[0] }))))
    }

    /// Checks that the stream held exactly one complete element.
    pub fn finish(&self) -> Result<()> {
        if self.done && self.depth == 0 && self.hdr_len == 0 {
            Ok(())
        } else {
            Err(Error::at(ErrorKind::Truncated, self.offset))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders the token stream as text, feeding `chunk` bytes at a time.
    fn render(data: &[u8], chunk: usize, out: &mut [u8]) -> Result<usize> {
        let mut t = Tokenizer::new();
        let mut w = 0;
        let mut push = |s: &[u8]| {
            out[w..w + s.len()].copy_from_slice(s);
            w += s.len();
        };
        for piece in data.chunks(chunk.max(1)) {
            let mut pos = 0;
            loop {
                let (n, tok) = t.next(&piece[pos..])?;
                pos += n;
                match tok {
                    None => break,
                    Some(Token::Start(h)) => {
                        push(b"<");
                        push(&[h.tag.first_octet()]);
                    }
                    Some(Token::Data(d)) => push(d),
                    Some(Token::End(_)) => push(b">"),
                }
            }
            assert_eq!(pos, piece.len());
        }
        t.finish()?;
        Ok(w)
    }

    const SAMPLE: &[u8] = &[
        0x30, 0x80, // SEQUENCE indefinite
        0x02, 0x01, 0x07, // INTEGER 7
        0xA0, 0x80, // [0] indefinite
        0x04, 0x02, b'a', b'b', //
        0x04, 0x00, //
        0x24, 0x06, 0x04, 0x01, b'c', 0x04, 0x01, b'd', // constructed definite
        0x00, 0x00, //
        0x05, 0x00, // NULL
        0x00, 0x00,
    ];

    #[test]
    fn every_chunk_size_gives_the_same_tokens() {
        let mut reference = [0u8; 128];
        let n = render(SAMPLE, SAMPLE.len(), &mut reference).unwrap();
        for chunk in 1..SAMPLE.len() {
            let mut out = [0u8; 128];
            let m = render(SAMPLE, chunk, &mut out).unwrap();
            assert_eq!(&out[..m], &reference[..n], "chunk {chunk}");
        }
        assert_eq!(&reference[..n], b"<0<\x02\x07><\xa0<\x04ab><\x04><$<\x04c><\x04d>>><\x05>>");
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        for cut in 0..SAMPLE.len() {
            let mut out = [0u8; 128];
            let e = render(&SAMPLE[..cut], 3, &mut out).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Truncated, "cut {cut}");
        }
    }

    #[test]
    fn trailing_data() {
        let mut out = [0u8; 64];
        let e = render(&[0x05, 0x00, 0x05], 1, &mut out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TrailingData);
        assert_eq!(e.position(), Some(2));
    }

    #[test]
    fn child_longer_than_parent() {
        let mut out = [0u8; 64];
        let e = render(&[0x30, 0x03, 0x04, 0x05, 1, 2, 3, 4, 5], 1, &mut out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LengthOverflow);
        // Indefinite child running past a definite parent.
        let e = render(&[0x30, 0x04, 0x30, 0x80, 0x05, 0x00, 0x00, 0x00], 2, &mut out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LengthOverflow);
    }

    #[test]
    fn huge_lengths() {
        let mut out = [0u8; 64];
        let e = render(&[0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x04, 0x88,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 1, &mut out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LengthOverflow);
        let e = render(&[0x04, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1], 1, &mut out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LengthOverflow);
    }

    #[test]
    fn depth_bound_and_bad_forms() {
        let mut deep = [0u8; 2 * (MAX_DEPTH + 1)];
        for i in 0..=MAX_DEPTH {
            deep[2 * i] = 0x30;
            deep[2 * i + 1] = 0x80;
        }
        let mut out = [0u8; 256];
        let e = render(&deep, 7, &mut out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DepthExceeded { max: crate::ber::MAX_DEPTH_U8 });
        // Indefinite primitive.
        assert_eq!(render(&[0x04, 0x80], 1, &mut out).unwrap_err().kind(), ErrorKind::InvalidEncoding);
        // EOC at top level.
        assert_eq!(render(&[0x00, 0x00], 1, &mut out).unwrap_err().kind(), ErrorKind::InvalidEncoding);
        // EOC inside a definite element.
        assert_eq!(
            render(&[0x30, 0x02, 0x00, 0x00], 1, &mut out).unwrap_err().kind(),
            ErrorKind::InvalidEncoding
        );
    }
}
