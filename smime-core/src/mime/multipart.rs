//! The boundary scanner: splits the body of a multipart entity (RFC 2046
//! §5.1.1) into its parts, streaming, byte-exact, in constant memory.
//!
//! [`MultipartReader::next`] takes input of any size down to one byte and
//! returns how much it consumed with at most one [`PartEvent`], in the style
//! of the BER tokenizer. The reader holds back only bytes that may still turn
//! out to be the start of a delimiter (a line end and a prefix of
//! `--boundary`, at most `4 + MAX_BOUNDARY` bytes, which are always a
//! substring of the fixed `CRLF "--" boundary` template, so nothing is
//! copied); everything else is passed on at once, borrowed from the input.
//!
//! # Framing
//!
//! - A delimiter is `--boundary` at the start of a line (at the start of the
//!   body, at the start of a part, or after LF). The line end in front of it
//!   (CRLF or bare LF) belongs to the delimiter, not to the text before it: the
//!   first part of a multipart/signed is exactly the bytes between the line
//!   ends, as RFC 8551 §3.5 hashes it. This holds for the preamble too.
//! - After `--boundary` come `--` for the close delimiter, then optional
//!   transport padding (SP, HTAB), then the line end (CRLF or bare LF). The
//!   delimiter line, line end included, is not part of any part. Anything else
//!   after `--boundary` is [`MimeError::MalformedDelimiter`]: this also catches
//!   a longer boundary sharing the prefix, which RFC 2046 forbids in content.
//! - Bytes before the first delimiter are the preamble, bytes after the close
//!   delimiter line the epilogue; nothing in the epilogue is interpreted.
//!
//! The events do not depend on how the input is split: the bytes of every
//! part, of the preamble and of the epilogue, and any error with its offset,
//! are the same whether the body comes in one piece or one byte at a time.

use super::MAX_BOUNDARY;
use crate::{Error, ErrorKind, MimeError, Result};

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// Size of the template `CRLF "--" boundary`.
const TEMPLATE_LEN: usize = 4 + MAX_BOUNDARY;

/// An event of [`MultipartReader::next`] and [`MultipartReader::finish`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartEvent<'a> {
    /// Bytes of the preamble, before the first delimiter (its line end
    /// excluded); may come in several pieces.
    Preamble(&'a [u8]),
    /// A delimiter line was consumed: a part begins. Its header and body
    /// follow as [`PartEvent::Data`].
    PartStart,
    /// Bytes of the current part, in order; several pieces, borrowed from the
    /// input or from the reader.
    Data(&'a [u8]),
    /// The current part ended (a delimiter follows it).
    PartEnd,
    /// Bytes after the close delimiter line.
    Epilogue(&'a [u8]),
}

/// Which section plain text belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Preamble,
    Part,
}

/// Where the scanner is inside a delimiter line, after `--boundary`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tail {
    /// Right after the boundary.
    Boundary,
    /// After the first `-` of a close delimiter's `--`.
    OneDash,
    /// In transport padding (after `--` for a close delimiter).
    Padding,
    /// After the CR of the line end.
    Cr,
}

/// The scanner's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Inside a line, nothing held back.
    Mid,
    /// A CR is held back (it may start the line end of a delimiter).
    Cr,
    /// At the start of a line. Held back: `template[start..2 + matched]`,
    /// i.e. the line end (CRLF from 0, LF from 1, none from 2) and the first
    /// `matched` bytes of `--boundary`.
    Line { start: usize, matched: usize },
    /// `--boundary` was matched; the rest of the delimiter line follows.
    Tail { state: Tail, close: bool },
    /// After the close delimiter line.
    Epilogue,
}

/// Splits a multipart body into parts; see the [module documentation](self).
///
/// Fixed size (under 256 bytes); never allocates.
#[derive(Clone, Debug)]
pub struct MultipartReader {
    /// `CRLF "--" boundary`, zero-padded.
    template: [u8; TEMPLATE_LEN],
    /// Length of the boundary.
    boundary_len: usize,
    section: Section,
    phase: Phase,
    parts: usize,
    closed: bool,
    offset: u64,
    error: Option<Error>,
    finished: bool,
}

/// The event carrying section text.
fn text(section: Section, bytes: &[u8]) -> PartEvent<'_> {
    match section {
        Section::Preamble => PartEvent::Preamble(bytes),
        Section::Part => PartEvent::Data(bytes),
    }
}

impl MultipartReader {
    /// A reader for the body of a multipart entity with this `boundary` (the
    /// Content-Type parameter's value, without the leading `--`).
    ///
    /// A boundary that is empty, longer than [`MAX_BOUNDARY`], or with bytes
    /// outside printable ASCII and space gives `Mime(InvalidBoundary)`.
    pub fn new(boundary: &[u8]) -> Result<Self> {
        let invalid = Error::new(ErrorKind::Mime(MimeError::InvalidBoundary));
        if boundary.is_empty()
            || boundary.len() > MAX_BOUNDARY
            || !boundary.iter().all(|&b| (0x20..=0x7e).contains(&b))
        {
            return Err(invalid);
        }
        let mut template = [0u8; TEMPLATE_LEN];
        let (head, rest) = template.split_at_mut(4);
        head.copy_from_slice(b"\r\n--");
        for (t, &b) in rest.iter_mut().zip(boundary) {
            *t = b;
        }
        Ok(Self {
            template,
            boundary_len: boundary.len(),
            section: Section::Preamble,
            phase: Phase::Line { start: 2, matched: 0 },
            parts: 0,
            closed: false,
            offset: 0,
            error: None,
            finished: false,
        })
    }

    /// Number of parts started so far (delimiter lines other than the close
    /// delimiter).
    pub const fn parts(&self) -> usize {
        self.parts
    }

    /// Whether the close delimiter has been seen.
    pub const fn is_closed(&self) -> bool {
        self.closed
    }

    /// Input bytes consumed so far (the stream offset of the next byte).
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Consumes a prefix of `input`; returns how many bytes that was and the
    /// next event, if any. `(n, None)` means all of `input` was consumed
    /// (`n == input.len()`) and more is needed. Call again with the rest of
    /// the input after every event: an event may come with nothing consumed
    /// (held-back bytes released), but never twice in a row.
    ///
    /// Errors (with the stream offset): `Mime(MalformedDelimiter)` for a line
    /// starting with `--boundary` followed by anything but `--`, padding and
    /// a line end. After an error, the same error again; after
    /// [`finish`](Self::finish), `InvalidState` for more input.
    pub fn next<'a>(&'a mut self, input: &'a [u8]) -> Result<(usize, Option<PartEvent<'a>>)> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.finished {
            if input.is_empty() {
                return Ok((0, None));
            }
            return Err(Error::at(ErrorKind::InvalidState, self.offset));
        }
        self.step(input)
    }

    /// Records and returns a MIME error at the current offset.
    fn fail(&mut self, kind: MimeError) -> Error {
        let e = Error::at(ErrorKind::Mime(kind), self.offset);
        self.error = Some(e);
        e
    }

    fn step<'a>(&'a mut self, input: &'a [u8]) -> Result<(usize, Option<PartEvent<'a>>)> {
        let mut pos = 0usize;
        loop {
            match self.phase {
                Phase::Epilogue => {
                    let rest = input.get(pos..).unwrap_or_default();
                    if rest.is_empty() {
                        return Ok((pos, None));
                    }
                    self.offset += rest.len() as u64;
                    return Ok((input.len(), Some(PartEvent::Epilogue(rest))));
                }
                Phase::Mid => {
                    let rest = input.get(pos..).unwrap_or_default();
                    match rest.iter().position(|&b| b == CR || b == LF) {
                        None => {
                            if rest.is_empty() {
                                return Ok((pos, None));
                            }
                            self.offset += rest.len() as u64;
                            return Ok((input.len(), Some(text(self.section, rest))));
                        }
                        Some(0) => {
                            self.phase = if rest.first() == Some(&CR) {
                                Phase::Cr
                            } else {
                                Phase::Line { start: 1, matched: 0 }
                            };
                            pos += 1;
                            self.offset += 1;
                        }
                        Some(n) => {
                            pos += n;
                            self.offset += n as u64;
                            let run = rest.get(..n).unwrap_or_default();
                            return Ok((pos, Some(text(self.section, run))));
                        }
                    }
                }
                Phase::Cr => {
                    let Some(&c) = input.get(pos) else {
                        return Ok((pos, None));
                    };
                    if c == LF {
                        self.phase = Phase::Line { start: 0, matched: 0 };
                        pos += 1;
                        self.offset += 1;
                    } else {
                        // A CR not followed by LF is text; `c` is looked at again.
                        self.phase = Phase::Mid;
                        return Ok((pos, Some(text(self.section, b"\r"))));
                    }
                }
                Phase::Line { start, matched } => {
                    let Some(&c) = input.get(pos) else {
                        return Ok((pos, None));
                    };
                    // `matched < 2 + boundary_len`, so this is a byte of `--boundary`.
                    if self.template.get(2 + matched) == Some(&c) {
                        pos += 1;
                        self.offset += 1;
                        let matched = matched + 1;
                        if matched == 2 + self.boundary_len {
                            self.phase = Phase::Tail { state: Tail::Boundary, close: false };
                            if self.section == Section::Part {
                                return Ok((pos, Some(PartEvent::PartEnd)));
                            }
                        } else {
                            self.phase = Phase::Line { start, matched };
                        }
                    } else {
                        // Not a delimiter: release what was held (no CR or LF
                        // after its line end, so no delimiter can start inside
                        // it); `c` is looked at again.
                        self.phase = Phase::Mid;
                        if 2 + matched > start {
                            let held = self.template.get(start..2 + matched).unwrap_or_default();
                            return Ok((pos, Some(text(self.section, held))));
                        }
                    }
                }
                Phase::Tail { state, close } => {
                    let Some(&c) = input.get(pos) else {
                        return Ok((pos, None));
                    };
                    let next = match (state, c) {
                        (Tail::Boundary, b'-') => Tail::OneDash,
                        (Tail::OneDash, b'-') => Tail::Padding,
                        (Tail::Boundary | Tail::Padding, b' ' | b'\t') => Tail::Padding,
                        (Tail::Boundary | Tail::Padding, CR) => Tail::Cr,
                        (Tail::Boundary | Tail::Padding | Tail::Cr, LF) => {
                            pos += 1;
                            self.offset += 1;
                            if close {
                                self.closed = true;
                                self.phase = Phase::Epilogue;
                                continue;
                            }
                            self.section = Section::Part;
                            self.parts += 1;
                            self.phase = Phase::Line { start: 2, matched: 0 };
                            return Ok((pos, Some(PartEvent::PartStart)));
                        }
                        _ => return Err(self.fail(MimeError::MalformedDelimiter)),
                    };
                    let close = close || state == Tail::OneDash;
                    self.phase = Phase::Tail { state: next, close };
                    pos += 1;
                    self.offset += 1;
                }
            }
        }
    }

    /// At the end of the input: returns the next pending event, or `Ok(None)`
    /// when the body is complete; call until `Ok(None)`. (Every event is in
    /// fact produced by [`next`](Self::next): a delimiter's [`PartEvent::PartEnd`]
    /// comes as soon as its `--boundary` is seen, and held-back bytes are
    /// only ever pending in a body that is incomplete.)
    ///
    /// Errors (at the end offset): `Mime(MissingBoundary)` if no delimiter
    /// was seen, `Mime(MissingCloseDelimiter)` if the close delimiter was
    /// not, `Mime(MalformedDelimiter)` for a body ending in `--boundary-`.
    /// A close delimiter at the very end, without line end, is fine.
    pub fn finish(&mut self) -> Result<Option<PartEvent<'_>>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.finished = true;
        match self.phase {
            Phase::Epilogue => Ok(None),
            Phase::Tail { state: Tail::OneDash, .. } => {
                Err(self.fail(MimeError::MalformedDelimiter))
            }
            Phase::Tail { close: true, .. } => {
                self.closed = true;
                self.phase = Phase::Epilogue;
                Ok(None)
            }
            Phase::Tail { close: false, .. } => Err(self.fail(MimeError::MissingCloseDelimiter)),
            Phase::Mid | Phase::Cr | Phase::Line { .. } => match self.section {
                Section::Preamble => Err(self.fail(MimeError::MissingBoundary)),
                Section::Part => Err(self.fail(MimeError::MissingCloseDelimiter)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec;
    use std::vec::Vec;

    #[derive(Debug, Default, PartialEq, Eq)]
    struct Out {
        preamble: Vec<u8>,
        parts: Vec<Vec<u8>>,
        epilogue: Vec<u8>,
    }

    fn mime(kind: MimeError, pos: usize) -> Error {
        Error::at(ErrorKind::Mime(kind), pos as u64)
    }

    fn apply(out: &mut Out, in_part: &mut bool, closed: &mut bool, ev: PartEvent<'_>) {
        match ev {
            PartEvent::Preamble(b) => {
                assert!(!b.is_empty());
                assert!(!*in_part && out.parts.is_empty() && !*closed);
                out.preamble.extend_from_slice(b);
            }
            PartEvent::PartStart => {
                assert!(!*in_part && !*closed);
                *in_part = true;
                out.parts.push(Vec::new());
            }
            PartEvent::Data(b) => {
                assert!(!b.is_empty());
                assert!(*in_part);
                out.parts.last_mut().unwrap().extend_from_slice(b);
            }
            PartEvent::PartEnd => {
                assert!(*in_part);
                *in_part = false;
            }
            PartEvent::Epilogue(b) => {
                assert!(!b.is_empty());
                assert!(!*in_part);
                *closed = true;
                out.epilogue.extend_from_slice(b);
            }
        }
    }

    /// Feeds `body` in chunks of the sizes `chunk` gives; collects the result.
    fn run(boundary: &[u8], body: &[u8], mut chunk: impl FnMut() -> usize) -> Result<Out> {
        let mut r = MultipartReader::new(boundary)?;
        let mut out = Out::default();
        let (mut in_part, mut closed) = (false, false);
        let mut pos = 0;
        while pos < body.len() {
            let n = chunk().max(1).min(body.len() - pos);
            let mut rest = &body[pos..pos + n];
            pos += n;
            let mut zero_streak = 0;
            loop {
                let (used, ev) = r.next(rest)?;
                assert!(used <= rest.len());
                rest = &rest[used..];
                let Some(ev) = ev else {
                    assert!(rest.is_empty(), "(n, None) must consume everything");
                    break;
                };
                if used == 0 {
                    zero_streak += 1;
                    assert!(zero_streak < 2, "two events in a row without progress");
                } else {
                    zero_streak = 0;
                }
                apply(&mut out, &mut in_part, &mut closed, ev);
            }
            assert_eq!(r.offset(), pos as u64);
        }
        let mut guard = 0;
        while let Some(ev) = r.finish()? {
            apply(&mut out, &mut in_part, &mut closed, ev);
            guard += 1;
            assert!(guard < 8);
        }
        assert!(!in_part);
        assert!(r.is_closed());
        assert_eq!(r.parts(), out.parts.len());
        assert_eq!(r.finish(), Ok(None));
        Ok(out)
    }

    fn all_at_once(boundary: &[u8], body: &[u8]) -> Result<Out> {
        run(boundary, body, || usize::MAX)
    }

    /// A whole-buffer splitter written straight from the rules, to compare with.
    fn reference(boundary: &[u8], body: &[u8]) -> Result<Out> {
        let mut pat = b"--".to_vec();
        pat.extend_from_slice(boundary);
        let len = body.len();
        let mut out = Out::default();
        let mut content_start = 0;
        let mut in_preamble = true;
        let mut s = 0;
        loop {
            if body[s..].starts_with(&pat) {
                let le = if s == 0 {
                    0
                } else if s >= 2 && body[s - 2] == b'\r' {
                    2
                } else {
                    1
                };
                let content = &body[content_start..(s - le).max(content_start)];
                if in_preamble {
                    out.preamble = content.to_vec();
                } else {
                    *out.parts.last_mut().unwrap() = content.to_vec();
                }
                let mut i = s + pat.len();
                let mut close = false;
                if body.get(i) == Some(&b'-') {
                    if body.get(i + 1) != Some(&b'-') {
                        return Err(mime(MimeError::MalformedDelimiter, i + 1));
                    }
                    close = true;
                    i += 2;
                }
                while matches!(body.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
                let missing = Err(mime(MimeError::MissingCloseDelimiter, len));
                match body.get(i) {
                    None => return if close { Ok(out) } else { missing },
                    Some(b'\n') => i += 1,
                    Some(b'\r') => match body.get(i + 1) {
                        Some(b'\n') => i += 2,
                        None => return if close { Ok(out) } else { missing },
                        Some(_) => return Err(mime(MimeError::MalformedDelimiter, i + 1)),
                    },
                    Some(_) => return Err(mime(MimeError::MalformedDelimiter, i)),
                }
                if close {
                    out.epilogue = body[i..].to_vec();
                    return Ok(out);
                }
                out.parts.push(Vec::new());
                in_preamble = false;
                content_start = i;
                s = i;
                continue;
            }
            match body[s..].iter().position(|&b| b == b'\n') {
                Some(k) => s += k + 1,
                None => {
                    let kind = if in_preamble {
                        MimeError::MissingBoundary
                    } else {
                        MimeError::MissingCloseDelimiter
                    };
                    return Err(mime(kind, len));
                }
            }
        }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap()
        }
    }

    /// Checks that every chunking gives the reference result; returns it.
    fn check(boundary: &[u8], body: &[u8]) -> Result<Out> {
        let expected = reference(boundary, body);
        assert_eq!(all_at_once(boundary, body), expected, "all at once");
        for size in 1..=17 {
            assert_eq!(run(boundary, body, || size), expected, "chunk size {size}");
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ body.len() as u64);
        for _ in 0..8 {
            let got = run(boundary, body, || rng.below(40) + 1);
            assert_eq!(got, expected, "random chunks");
        }
        expected
    }

    fn ok(preamble: &[u8], parts: &[&[u8]], epilogue: &[u8]) -> Result<Out> {
        Ok(Out {
            preamble: preamble.to_vec(),
            parts: parts.iter().map(|p| p.to_vec()).collect(),
            epilogue: epilogue.to_vec(),
        })
    }

    #[test]
    fn openssl_multipart_signed() {
        let b = b"----5D1B0E0F5A0A7B2E3C6F1A2B3C4D5E6F";
        let part1: &[u8] = b"Content-Type: text/plain\r\n\r\nHello, world!\r\nSecond line";
        let part2: &[u8] = b"Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nMIIGmAYJKoZIhvcNAQcCoIIGiTCCBoUCAQEx\r\n";
        let mut body = b"This is an S/MIME signed message\r\n\r\n".to_vec();
        for p in [part1, part2] {
            body.extend_from_slice(b"--");
            body.extend_from_slice(b);
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(p);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--");
        body.extend_from_slice(b);
        body.extend_from_slice(b"--\r\n");
        assert_eq!(
            check(b, &body),
            ok(b"This is an S/MIME signed message\r\n", &[part1, part2], b"")
        );
    }

    #[test]
    fn line_end_before_delimiter_is_not_part_content() {
        assert_eq!(check(b"b", b"--b\r\ntext\r\n\r\n--b--\r\n"), ok(b"", &[b"text\r\n"], b""));
        assert_eq!(check(b"b", b"--b\r\ntext\r\n--b--\r\n"), ok(b"", &[b"text"], b""));
        assert_eq!(check(b"b", b"--b\r\ntext\n--b--"), ok(b"", &[b"text"], b""));
        assert_eq!(check(b"b", b"--b\r\ntext\r\r\n--b--"), ok(b"", &[b"text\r"], b""));
    }

    #[test]
    fn bare_lf_bodies() {
        assert_eq!(
            check(b"xyz", b"pre\n\n--xyz\nh: v\n\nbody\n--xyz\n\npart2\n\n--xyz--\nepi\n"),
            ok(b"pre\n", &[b"h: v\n\nbody", b"\npart2\n"], b"epi\n")
        );
    }

    #[test]
    fn first_delimiter_at_body_start_and_padding() {
        assert_eq!(
            check(b"b", b"--b  \r\nA\r\n--b\t \r\nB\r\n--b-- \t\r\n"),
            ok(b"", &[b"A", b"B"], b"")
        );
        assert_eq!(check(b"b", b"--b\nA\n--b--"), ok(b"", &[b"A"], b""));
    }

    #[test]
    fn malformed_delimiters() {
        // A longer boundary sharing the prefix.
        assert_eq!(
            check(b"b", b"--b\r\nx\r\n--bc\r\n--b--\r\n"),
            Err(mime(MimeError::MalformedDelimiter, 11))
        );
        assert_eq!(
            check(b"b", b"--b garbage\r\n--b--\r\n"),
            Err(mime(MimeError::MalformedDelimiter, 4))
        );
        assert_eq!(check(b"b", b"--b-x\r\n"), Err(mime(MimeError::MalformedDelimiter, 4)));
        assert_eq!(check(b"b", b"--b\rx\n"), Err(mime(MimeError::MalformedDelimiter, 4)));
        assert_eq!(check(b"b", b"--b\r\n--b--x"), Err(mime(MimeError::MalformedDelimiter, 10)));
        assert_eq!(check(b"b", b"--b\r\n--b-"), Err(mime(MimeError::MalformedDelimiter, 9)));
        // In the preamble too.
        assert_eq!(check(b"b", b"pre\r\n--bb\r\n"), Err(mime(MimeError::MalformedDelimiter, 8)));
    }

    #[test]
    fn not_delimiters() {
        assert_eq!(
            check(b"b", b"--b\r\nx--b\r\n -b\r\n--a\r\n-\r\n--\r\n--b--\r\n"),
            ok(b"", &[b"x--b\r\n -b\r\n--a\r\n-\r\n--"], b"")
        );
        // Not at a line start: after a bare CR.
        assert_eq!(check(b"b", b"--b\r\nx\r--b\r\n--b--"), ok(b"", &[b"x\r--b"], b""));
    }

    #[test]
    fn missing_boundary_and_close() {
        assert_eq!(check(b"b", b""), Err(mime(MimeError::MissingBoundary, 0)));
        assert_eq!(check(b"b", b"hello\r\n-"), Err(mime(MimeError::MissingBoundary, 8)));
        assert_eq!(check(b"b", b"hello\r\n--b"), Err(mime(MimeError::MissingCloseDelimiter, 10)));
        assert_eq!(check(b"b", b"--b\r\nA\r\n"), Err(mime(MimeError::MissingCloseDelimiter, 8)));
        assert_eq!(
            check(b"b", b"--b\r\nA\r\n--b"),
            Err(mime(MimeError::MissingCloseDelimiter, 11))
        );
        assert_eq!(
            check(b"b", b"--b\r\nA\r\n--b\r"),
            Err(mime(MimeError::MissingCloseDelimiter, 12))
        );
    }

    #[test]
    fn close_without_line_end_and_epilogue() {
        assert_eq!(check(b"b", b"--b\r\nA\r\n--b--"), ok(b"", &[b"A"], b""));
        assert_eq!(check(b"b", b"--b\r\nA\r\n--b--  "), ok(b"", &[b"A"], b""));
        assert_eq!(check(b"b", b"--b\r\nA\r\n--b--\r"), ok(b"", &[b"A"], b""));
        assert_eq!(
            check(b"b", b"--b\r\nA\r\n--b--\r\nthe end\r\n--b\r\n--bad"),
            ok(b"", &[b"A"], b"the end\r\n--b\r\n--bad")
        );
    }

    #[test]
    fn empty_parts() {
        assert_eq!(check(b"b", b"--b\r\n\r\n--b--\r\n"), ok(b"", &[b""], b""));
        assert_eq!(check(b"b", b"--b\r\n--b\r\n\n--b--"), ok(b"", &[b"", b""], b""));
        assert_eq!(check(b"b", b"--b--\r\n"), ok(b"", &[], b""));
    }

    #[test]
    fn cr_at_chunk_edges() {
        let body = b"--b\r\na\r\r\rb\r\n\r\n--c\r\r\n--b--\r\n";
        let expected = ok(b"", &[b"a\r\r\rb\r\n\r\n--c\r"], b"");
        assert_eq!(check(b"b", body), expected);
        // Split right after every CR.
        let mut cuts = body.iter().enumerate().filter(|(_, c)| **c == b'\r').map(|(i, _)| i + 1);
        let mut last = 0;
        let got = run(b"b", body, || match cuts.next() {
            Some(c) => {
                let n = c - last;
                last = c;
                n
            }
            None => usize::MAX,
        });
        assert_eq!(got, expected);
    }

    #[test]
    fn invalid_boundaries() {
        let bad = Err(Error::new(ErrorKind::Mime(MimeError::InvalidBoundary)));
        assert_eq!(MultipartReader::new(b"").map(|_| ()), bad);
        assert_eq!(MultipartReader::new(&[b'a'; MAX_BOUNDARY + 1]).map(|_| ()), bad);
        assert_eq!(MultipartReader::new(b"a\r\nb").map(|_| ()), bad);
        assert_eq!(MultipartReader::new(b"a\x7f").map(|_| ()), bad);
        assert_eq!(MultipartReader::new("é".as_bytes()).map(|_| ()), bad);
        assert!(MultipartReader::new(b"with space '()+_,-./:=?").is_ok());
        let long = [b'z'; MAX_BOUNDARY];
        let mut body = b"--".to_vec();
        body.extend_from_slice(&long);
        body.extend_from_slice(b"\r\nA\r\n--");
        body.extend_from_slice(&long[1..]);
        body.extend_from_slice(b"\r\n--");
        body.extend_from_slice(&long);
        body.extend_from_slice(b"--");
        let mut part = b"A\r\n--".to_vec();
        part.extend_from_slice(&long[1..]);
        assert_eq!(check(&long, &body), ok(b"", &[&part], b""));
    }

    #[test]
    fn errors_are_sticky_and_finish_is_final() {
        let mut r = MultipartReader::new(b"b").unwrap();
        let e = mime(MimeError::MalformedDelimiter, 3);
        assert_eq!(r.next(b"--bx").map(|_| ()), Err(e));
        assert_eq!(r.next(b"more").map(|_| ()), Err(e));
        assert_eq!(r.finish(), Err(e));

        let mut r = MultipartReader::new(b"b").unwrap();
        assert_eq!(r.next(b"--b--"), Ok((5, None)));
        assert_eq!(r.finish(), Ok(None));
        assert!(r.is_closed());
        assert_eq!(r.next(b""), Ok((0, None)));
        assert_eq!(r.next(b"x").map(|_| ()), Err(Error::at(ErrorKind::InvalidState, 5)));
    }

    #[test]
    fn prompt_release() {
        let mut r = MultipartReader::new(b"bound").unwrap();
        assert_eq!(r.next(b"--bound\r\n"), Ok((9, Some(PartEvent::PartStart))));
        // Mid-line text comes out at once.
        assert_eq!(r.next(b"abc"), Ok((3, Some(PartEvent::Data(b"abc")))));
        // A line end and a delimiter prefix are held back...
        assert_eq!(r.next(b"\r\n--bou"), Ok((7, None)));
        // ...and released as soon as they cannot be one.
        assert_eq!(r.next(b"x!"), Ok((0, Some(PartEvent::Data(b"\r\n--bou")))));
        assert_eq!(r.next(b"x!"), Ok((2, Some(PartEvent::Data(b"x!")))));
        assert_eq!(r.next(b"\r"), Ok((1, None)));
        assert_eq!(r.next(b"\r"), Ok((0, Some(PartEvent::Data(b"\r")))));
        assert_eq!(r.next(b"\r"), Ok((1, None)));
        assert_eq!(r.next(b"\n--bound"), Ok((8, Some(PartEvent::PartEnd))));
        assert_eq!(r.parts(), 1);
        assert_eq!(r.next(b"--"), Ok((2, None)));
        assert_eq!(r.finish(), Ok(None));
        assert_eq!(r.offset(), 33);
    }

    #[test]
    fn pseudo_random_bodies() {
        const TOKENS: &[&[u8]] = &[
            b"\r\n",
            b"\n",
            b"\r",
            b"-",
            b"--",
            b"b",
            b"bc",
            b"x",
            b" ",
            b"\t",
            b"--b",
            b"\r\n--",
            b"\n--b",
            b"\r\n--bx",
            b"x--bc",
            b"text line",
            b"\r\n--bc",
            b"\r\n--bc--",
            b"--bc\r\n",
            b"\r\n--bcd",
            b"--bc ",
        ];
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut outcomes = [0usize; 2];
        for round in 0..300 {
            let mut body = Vec::new();
            if round % 2 == 0 {
                // Structured: mostly valid, with near misses in the text.
                let text = |rng: &mut Rng, body: &mut Vec<u8>| {
                    for _ in 0..rng.below(12) {
                        body.extend_from_slice(TOKENS[rng.below(16)]);
                    }
                };
                text(&mut rng, &mut body);
                for _ in 0..rng.below(4) + 1 {
                    body.extend_from_slice([&b"\r\n--bc"[..], b"\n--bc"][rng.below(2)]);
                    body.extend_from_slice([&b"\r\n"[..], b"\n", b" \r\n"][rng.below(3)]);
                    text(&mut rng, &mut body);
                }
                body.extend_from_slice(b"\r\n--bc--");
                if rng.below(2) == 0 {
                    body.extend_from_slice(b"\r\n");
                    text(&mut rng, &mut body);
                }
            } else {
                for _ in 0..rng.below(30) {
                    body.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
                }
            }
            outcomes[usize::from(check(b"bc", &body).is_ok())] += 1;
        }
        // Both outcomes are exercised.
        assert!(outcomes[0] > 20 && outcomes[1] > 20, "{outcomes:?}");
    }

    #[test]
    fn many_near_misses() {
        let mut body = b"--b\r\n".to_vec();
        for i in 0..200 {
            body.extend_from_slice([&b"\r\n--"[..], b"\n-", b"\r\n--a", b"\r\r\n", b"--"][i % 5]);
        }
        let part = body[5..].to_vec();
        body.extend_from_slice(b"\r\n--b--\r\n");
        assert_eq!(check(b"b", &body), ok(b"", &[&part], b""));
    }

    #[test]
    fn one_mebibyte_part() {
        assert!(core::mem::size_of::<MultipartReader>() <= 256);
        let boundary = b"=_big_boundary_=";
        // One long line: each chunk comes straight back as one event.
        let size = 1 << 20;
        let chunk = 64 * 1024;
        let mut r = MultipartReader::new(boundary).unwrap();
        assert_eq!(r.next(b"--=_big_boundary_=\r\n"), Ok((20, Some(PartEvent::PartStart))));
        let data = vec![b'a'; chunk];
        for _ in 0..size / chunk {
            assert_eq!(r.next(&data), Ok((chunk, Some(PartEvent::Data(&data[..])))));
        }
        let close = b"\r\n--=_big_boundary_=--\r\n";
        assert_eq!(r.next(close), Ok((20, Some(PartEvent::PartEnd))));
        assert_eq!(r.next(&close[20..]), Ok((4, None)));
        assert_eq!(r.finish(), Ok(None));
        assert_eq!(r.offset(), (20 + size + close.len()) as u64);

        // 76-column lines with near misses: bytes are exact, every event is
        // at most a chunk (input) or the hold-back (4 + MAX_BOUNDARY).
        let mut part = Vec::with_capacity(size + 100);
        let mut i = 0;
        while part.len() < size {
            let line: &[u8] = if i % 7 == 0 { b"--=_big_boundary" } else { &[b'Q'; 76] };
            part.extend_from_slice(line);
            part.extend_from_slice(b"\r\n");
            i += 1;
        }
        let mut body = b"--=_big_boundary_=\r\n".to_vec();
        body.extend_from_slice(&part);
        body.extend_from_slice(close);
        let mut r = MultipartReader::new(boundary).unwrap();
        let (mut got, mut events, mut max_event) = (Vec::new(), 0usize, 0usize);
        for piece in body.chunks(4096) {
            let mut rest = piece;
            loop {
                let (used, ev) = r.next(rest).unwrap();
                rest = &rest[used..];
                match ev {
                    None => break,
                    Some(PartEvent::Data(d)) => {
                        assert!(d.len() <= 4096);
                        if d.len() > 4 + MAX_BOUNDARY {
                            assert!(piece.as_ptr_range().contains(&d.as_ptr()));
                        }
                        max_event = max_event.max(d.len());
                        got.extend_from_slice(d);
                    }
                    Some(_) => {}
                }
                events += 1;
            }
        }
        assert_eq!(r.finish(), Ok(None));
        assert!(got == part);
        assert_eq!(r.parts(), 1);
        assert!(max_event >= 76);
        // About two events a line (text, then the released line end).
        assert!(events < 3 * i + 600, "{events} events for {i} lines");
    }
}
