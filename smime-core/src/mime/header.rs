//! Header fields in bounded memory (RFC 5322 §2.2, RFC 2045).
//!
//! - [`HeaderReader`]: a push parser that takes a header block in chunks of
//!   any size and hands out one [`Field`] at a time, kept raw (with its folds)
//!   in the caller's buffer.
//! - [`ContentType`]: a parsed, checked Content-Type value with its
//!   parameters (quoted strings, comments, folds).
//! - [`TransferEncoding`]: the Content-Transfer-Encoding values of RFC 2045 §6.
//! - [`addresses`], [`same_address`]: the addr-specs of an address-list
//!   header (From, To, Cc, Sender), for matching against certificates.
//! - [`is_content_field`]: which fields belong to the MIME entity.
//!
//! Every structured-value parser here treats CR, LF, SP and HTAB as white
//! space, so values can be passed with their folds left in. Nothing allocates
//! or panics on input; all work is linear in the input.

use crate::error::{Error, ErrorKind, MimeError, Result};

fn mime_err(e: MimeError) -> Error {
    Error::new(ErrorKind::Mime(e))
}

fn mime_at(e: MimeError, position: u64) -> Error {
    Error::at(ErrorKind::Mime(e), position)
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// SP or HTAB (RFC 5322 WSP).
fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// SP, HTAB, CR or LF: white space in a (possibly folded) header value.
fn is_fws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `s` without leading and trailing SP, HTAB, CR and LF.
fn trim_fws(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_fws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_fws(b)).map_or(start, |p| p + 1);
    s.get(start..end).unwrap_or_default()
}

/// Case-insensitive ASCII compare.
pub fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

// ---------------------------------------------------------------------------
// HeaderReader
// ---------------------------------------------------------------------------

/// What `HeaderReader::next` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderEvent {
    /// A complete field, available through [`HeaderReader::field`] and
    /// [`HeaderReader::raw`] until the next call.
    Field,
    /// The empty line that ends the header block was consumed; the body
    /// starts right after it.
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The next byte is the first of a line.
    LineStart,
    /// A CR was the first byte of a line: an empty line if LF follows.
    CrAtStart,
    /// In the field name of a field's first line.
    Name,
    /// After the colon, or in a continuation line.
    Value,
    /// Skipping an mbox `From ` separator line.
    SkipLine,
}

/// One header field.
#[derive(Clone, Copy, Debug)]
pub struct Field<'a> {
    /// The field name, as it stands (printable ASCII, no colon).
    pub name: &'a [u8],
    /// The value: after the colon, leading white space skipped, the trailing
    /// line end and trailing white space removed; inner folds (CRLF or LF
    /// followed by SP/HTAB) are left in.
    pub value: &'a [u8],
}

impl Field<'_> {
    /// Whether the field's name is `name`, compared case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        eq_ignore_case(self.name, name.as_bytes())
    }
}

/// A push parser for a header block (RFC 5322 §2.2, RFC 2045): one field at
/// a time, kept raw (with its folds) in the caller's buffer.
///
/// Rules:
/// - line ends are CRLF or bare LF; a bare CR not followed by LF inside a
///   line is kept as a byte of the line;
/// - a line that starts with SP or HTAB continues (folds) the previous field;
/// - a field (raw bytes, folds and line end included) longer than the buffer
///   is `Mime(HeaderTooLong)`, so an empty buffer accepts no field at all;
/// - a first line starting with SP/HTAB, a line without `:`, an empty name or
///   a name with bytes outside printable ASCII (33..=126, `:` excluded) is
///   `Mime(MalformedHeader)`; a line starting with a bare CR is too;
/// - if the very first line of the block starts with `From ` (an mbox
///   separator) it is skipped silently;
/// - an empty line ends the block ([`HeaderEvent::End`]); an immediate empty
///   line is a block with no fields.
///
/// Errors carry the stream offset of the offending byte. After an error, every
/// call returns the same error.
#[derive(Debug)]
pub struct HeaderReader<'b> {
    buf: &'b mut [u8],
    /// Bytes of the current field in `buf`.
    len: usize,
    /// Position of the colon in `buf`.
    name_len: usize,
    state: State,
    /// No line of the block has been completed yet.
    first_line: bool,
    /// `buf[..len]` holds a complete field handed out to the caller.
    ready: bool,
    done: bool,
    error: Option<Error>,
    offset: u64,
}

impl<'b> HeaderReader<'b> {
    /// A reader at the start of a header block, keeping each field in `buf`
    /// (which bounds the length of a field, folds included).
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            name_len: 0,
            state: State::LineStart,
            first_line: true,
            ready: false,
            done: false,
            error: None,
            offset: 0,
        }
    }

    /// Consumes from `input` (any chunking). Returns how many bytes were
    /// consumed and, when a field is complete, `Some(Field)` (the field is then
    /// available through [`field`](Self::field)/[`raw`](Self::raw) until the
    /// next call), or `Some(End)` after the empty line that ends the block (the
    /// bytes consumed include that empty line; the body starts right after).
    /// `None` means all of `input` was consumed and more is needed.
    ///
    /// A field is complete only when the first byte of the next line is seen
    /// and is not SP/HTAB (folding), so the parser holds the field until then;
    /// that byte is not consumed. Call again with the rest of the input after
    /// every event. After `End` (or after [`finish`](Self::finish)), `next`
    /// returns `(0, Some(End))` every time and consumes nothing.
    pub fn next(&mut self, input: &[u8]) -> Result<(usize, Option<HeaderEvent>)> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.done {
            return Ok((0, Some(HeaderEvent::End)));
        }
        self.release();
        let r = self.step(input);
        match r {
            Ok((n, _)) => self.offset = self.offset.saturating_add(to_u64(n)),
            Err(e) => self.error = Some(e),
        }
        r
    }

    /// At end of input: if a field is pending because the input ended without
    /// the empty line, returns it as `Some(Field)` once (then `None`). A last
    /// line without its line end is accepted (its raw bytes then have none); a
    /// pending line without a colon is `Mime(MalformedHeader)`.
    ///
    /// A header block that ends without an empty line is acceptable only for
    /// an entity with no body (RFC 2046 §5.1.1 allows a body part that is
    /// headers only); the caller decides. After `End`, returns `Ok(None)`.
    pub fn finish(&mut self) -> Result<Option<HeaderEvent>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.done {
            return Ok(None);
        }
        self.release();
        self.done = true;
        match self.state {
            State::Value | State::LineStart if self.len > 0 => {
                self.ready = true;
                Ok(Some(HeaderEvent::Field))
            }
            State::Name => {
                let e = mime_at(MimeError::MalformedHeader, self.offset);
                self.error = Some(e);
                Err(e)
            }
            _ => Ok(None),
        }
    }

    /// The last complete field, while it is available (until the next call to
    /// [`next`](Self::next)); `None` otherwise.
    pub fn field(&self) -> Option<Field<'_>> {
        if !self.ready {
            return None;
        }
        let raw = self.buf.get(..self.len)?;
        let (name, rest) = raw.split_at_checked(self.name_len)?;
        let value = rest.get(1..)?;
        Some(Field { name, value: trim_fws(value) })
    }

    /// The last complete field's raw bytes exactly as in the input, including
    /// folds and its final line end (CRLF or LF as given); empty when no field
    /// is available.
    pub fn raw(&self) -> &[u8] {
        if self.ready { self.buf.get(..self.len).unwrap_or_default() } else { &[] }
    }

    /// Input bytes consumed so far (the stream offset of the next byte).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Drops the field handed out by the previous call.
    fn release(&mut self) {
        if self.ready {
            self.ready = false;
            self.len = 0;
            self.name_len = 0;
        }
    }

    fn push(&mut self, b: u8, pos: u64) -> Result<()> {
        let slot = self.buf.get_mut(self.len).ok_or(mime_at(MimeError::HeaderTooLong, pos))?;
        *slot = b;
        self.len += 1;
        Ok(())
    }

    fn step(&mut self, input: &[u8]) -> Result<(usize, Option<HeaderEvent>)> {
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            let pos = self.offset.saturating_add(to_u64(i));
            match self.state {
                State::LineStart => {
                    if self.len > 0 {
                        if is_wsp(b) {
                            self.push(b, pos)?;
                            self.state = State::Value;
                        } else {
                            self.ready = true;
                            return Ok((i, Some(HeaderEvent::Field)));
                        }
                    } else {
                        match b {
                            b'\n' => {
                                self.done = true;
                                return Ok((i + 1, Some(HeaderEvent::End)));
                            }
                            b'\r' => self.state = State::CrAtStart,
                            b' ' | b'\t' => return Err(mime_at(MimeError::MalformedHeader, pos)),
                            _ => {
                                self.state = State::Name;
                                continue;
                            }
                        }
                    }
                }
                State::CrAtStart => {
                    if b == b'\n' {
                        self.done = true;
                        return Ok((i + 1, Some(HeaderEvent::End)));
                    }
                    return Err(mime_at(MimeError::MalformedHeader, pos));
                }
                State::Name => {
                    if b == b':' {
                        if self.len == 0 {
                            return Err(mime_at(MimeError::MalformedHeader, pos));
                        }
                        self.name_len = self.len;
                        self.push(b, pos)?;
                        self.state = State::Value;
                    } else if b == b' '
                        && self.first_line
                        && self.buf.get(..self.len) == Some(&b"From"[..])
                    {
                        self.len = 0;
                        self.state = State::SkipLine;
                    } else if (33..=126).contains(&b) {
                        self.push(b, pos)?;
                    } else {
                        return Err(mime_at(MimeError::MalformedHeader, pos));
                    }
                }
                State::Value => {
                    self.push(b, pos)?;
                    if b == b'\n' {
                        self.state = State::LineStart;
                        self.first_line = false;
                    }
                }
                State::SkipLine => {
                    if b == b'\n' {
                        self.state = State::LineStart;
                        self.first_line = false;
                    }
                }
            }
            i += 1;
        }
        Ok((i, None))
    }
}

// ---------------------------------------------------------------------------
// Structured values: a small lexer (RFC 2045 §5.1 tokens, quoted strings,
// RFC 5322 comments)
// ---------------------------------------------------------------------------

/// RFC 2045 tspecials.
fn is_tspecial(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')'
            | b'<'
            | b'>'
            | b'@'
            | b','
            | b';'
            | b':'
            | b'\\'
            | b'"'
            | b'/'
            | b'['
            | b']'
            | b'?'
            | b'='
    )
}

/// A token character: printable ASCII except tspecials; bytes of 128 and up
/// are tolerated (some mailers put raw 8-bit file names in parameters).
fn is_token_char(b: u8) -> bool {
    (33..=126).contains(&b) && !is_tspecial(b) || b >= 128
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(s: &'a [u8]) -> Self {
        Self { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn slice(&self, start: usize) -> &'a [u8] {
        self.s.get(start..self.pos).unwrap_or_default()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips white space (SP, HTAB, CR, LF) and comments, nested, with
    /// quoted-pairs. `Err(())` on an unterminated comment.
    fn skip_cfws(&mut self) -> core::result::Result<(), ()> {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b'\\' if depth > 0 => {
                    if self.peek().is_none() {
                        return Err(());
                    }
                    self.pos += 1;
                }
                _ if depth > 0 => {}
                _ if is_fws(b) => {}
                _ => {
                    self.pos -= 1;
                    return Ok(());
                }
            }
        }
        if depth > 0 { Err(()) } else { Ok(()) }
    }

    /// A non-empty run of token characters.
    fn token(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        while self.peek().is_some_and(is_token_char) {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.slice(start))
    }

    /// A quoted-string, quotes included; `None` if there is none here or it
    /// is unterminated.
    fn quoted(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        if !self.eat(b'"') {
            return None;
        }
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => return Some(self.slice(start)),
                b'\\' => {
                    self.peek()?;
                    self.pos += 1;
                }
                _ => {}
            }
        }
        None
    }
}

/// The bytes of a parameter value with quotes removed, quoted-pairs resolved
/// and unescaped CR/LF (folds) dropped.
struct Unquote<'a> {
    s: core::slice::Iter<'a, u8>,
    quoted: bool,
}

impl<'a> Unquote<'a> {
    fn new(raw: &'a [u8]) -> Self {
        match raw.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\"")) {
            Some(inner) => Self { s: inner.iter(), quoted: true },
            None => Self { s: raw.iter(), quoted: false },
        }
    }
}

impl Iterator for Unquote<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        loop {
            let b = *self.s.next()?;
            if !self.quoted {
                return Some(b);
            }
            match b {
                b'\\' => return self.s.next().copied(),
                b'\r' | b'\n' => {}
                _ => return Some(b),
            }
        }
    }
}

/// A parameter: (name, raw value).
type Param<'a> = (&'a [u8], &'a [u8]);

/// Parameters after the subtype: `*(";" name "=" value) [";"]`.
struct ParamIter<'a> {
    lex: Lexer<'a>,
    done: bool,
}

impl<'a> ParamIter<'a> {
    fn parse_one(&mut self) -> core::result::Result<Option<Param<'a>>, ()> {
        self.lex.skip_cfws()?;
        if self.lex.at_end() {
            return Ok(None);
        }
        if !self.lex.eat(b';') {
            return Err(());
        }
        self.lex.skip_cfws()?;
        if self.lex.at_end() {
            return Ok(None);
        }
        let name = self.lex.token().ok_or(())?;
        self.lex.skip_cfws()?;
        if !self.lex.eat(b'=') {
            return Err(());
        }
        self.lex.skip_cfws()?;
        let value = if self.lex.peek() == Some(b'"') {
            self.lex.quoted().ok_or(())?
        } else {
            self.lex.token().ok_or(())?
        };
        Ok(Some((name, value)))
    }
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = core::result::Result<Param<'a>, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.parse_one();
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
        }
        r.transpose()
    }
}

/// Most parameters accepted in one Content-Type.
const MAX_PARAMS: usize = 32;

/// A parsed Content-Type (RFC 2045 §5.1): `type "/" subtype *(";" parameter)`.
///
/// The whole value is checked once by [`parse`](Self::parse); the parameters
/// stay in the value and are found again on each look-up (linear, at most
/// 32 of them). RFC 2231 parameter continuations and charsets (`name*0*=`)
/// are not decoded: such names are ordinary names with a `*`.
#[derive(Clone, Copy, Debug)]
pub struct ContentType<'a> {
    media_type: &'a [u8],
    subtype: &'a [u8],
    /// The value after the subtype: the parameters.
    params: &'a [u8],
}

impl<'a> ContentType<'a> {
    /// Parses and checks the whole value once: comments in parentheses are
    /// skipped, white space (CR/LF included) is tolerated around tokens, `/`,
    /// `=` and `;`, a trailing `;` is tolerated, quoted strings may hold
    /// backslash quoted-pairs.
    ///
    /// Errors: `Mime(MalformedContentType)` for anything that does not parse
    /// or more than 32 parameters; `Mime(DuplicateParameter)` for a parameter
    /// name given twice (compared case-insensitively).
    pub fn parse(value: &'a [u8]) -> Result<Self> {
        let bad = |()| mime_err(MimeError::MalformedContentType);
        let mut lex = Lexer::new(value);
        lex.skip_cfws().map_err(bad)?;
        let media_type = lex.token().ok_or(()).map_err(bad)?;
        lex.skip_cfws().map_err(bad)?;
        if !lex.eat(b'/') {
            return Err(bad(()));
        }
        lex.skip_cfws().map_err(bad)?;
        let subtype = lex.token().ok_or(()).map_err(bad)?;
        let params = value.get(lex.pos..).unwrap_or_default();

        let mut seen: [&[u8]; MAX_PARAMS] = [&[]; MAX_PARAMS];
        for (count, p) in (ParamIter { lex: Lexer::new(params), done: false }).enumerate() {
            let (name, _) = p.map_err(bad)?;
            let earlier = seen.get(..count).unwrap_or_default();
            if earlier.iter().any(|n| eq_ignore_case(n, name)) {
                return Err(mime_err(MimeError::DuplicateParameter));
            }
            let slot = seen.get_mut(count).ok_or(()).map_err(bad)?;
            *slot = name;
        }
        Ok(Self { media_type, subtype, params })
    }

    /// The media type (`multipart` in `multipart/signed`), as written.
    pub fn media_type(&self) -> &'a [u8] {
        self.media_type
    }

    /// The subtype (`signed` in `multipart/signed`), as written.
    pub fn subtype(&self) -> &'a [u8] {
        self.subtype
    }

    /// Whether this is `media_type/subtype`, compared case-insensitively.
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        eq_ignore_case(self.media_type, media_type.as_bytes())
            && eq_ignore_case(self.subtype, subtype.as_bytes())
    }

    /// Whether the media type is `multipart` (any subtype).
    pub fn is_multipart(&self) -> bool {
        eq_ignore_case(self.media_type, b"multipart")
    }

    /// Iterates the parameters as (name, raw value), in order; a raw value is
    /// a token, or a quoted-string with its quotes.
    pub fn params(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + use<'a> {
        ParamIter { lex: Lexer::new(self.params), done: false }.map_while(core::result::Result::ok)
    }

    /// The parameter's raw value (a token, or a quoted-string with its
    /// quotes), if present; the name is compared case-insensitively.
    pub fn param_raw(&self, name: &str) -> Option<&'a [u8]> {
        self.params().find(|(n, _)| eq_ignore_case(n, name.as_bytes())).map(|(_, v)| v)
    }

    /// The parameter's value with quotes removed and quoted-pairs resolved
    /// (CR and LF of folds inside a quoted string are dropped), copied into
    /// `out`; `Ok(None)` if the parameter is absent;
    /// `Err(BufferTooSmall { required })` if it does not fit.
    pub fn param<'o>(&self, name: &str, out: &'o mut [u8]) -> Result<Option<&'o [u8]>> {
        let Some(raw) = self.param_raw(name) else {
            return Ok(None);
        };
        let required = Unquote::new(raw).count();
        if required > out.len() {
            return Err(Error::new(ErrorKind::BufferTooSmall { required }));
        }
        for (slot, b) in out.iter_mut().zip(Unquote::new(raw)) {
            *slot = b;
        }
        let out: &'o [u8] = out;
        Ok(Some(out.get(..required).unwrap_or_default()))
    }

    /// The `boundary` parameter, unquoted, into `out` (give at least
    /// [`super::MAX_BOUNDARY`] bytes). Missing, empty, longer than
    /// `MAX_BOUNDARY`, or ending with a space: `Mime(InvalidBoundary)`. A
    /// valid boundary that does not fit a shorter `out` is `BufferTooSmall`.
    pub fn boundary<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8]> {
        let invalid = mime_err(MimeError::InvalidBoundary);
        let b = match self.param("boundary", out) {
            Ok(Some(b)) => b,
            Ok(None) => return Err(invalid),
            Err(e) => {
                return Err(match e.kind() {
                    ErrorKind::BufferTooSmall { required } if required > super::MAX_BOUNDARY => {
                        invalid
                    }
                    _ => e,
                });
            }
        };
        if b.is_empty() || b.len() > super::MAX_BOUNDARY || b.last() == Some(&b' ') {
            return Err(invalid);
        }
        Ok(b)
    }
}

// ---------------------------------------------------------------------------
// Content-Transfer-Encoding
// ---------------------------------------------------------------------------

/// RFC 2045 §6 Content-Transfer-Encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TransferEncoding {
    /// `7bit`: the default when the field is absent.
    #[default]
    SevenBit,
    /// `8bit`.
    EightBit,
    /// `binary`.
    Binary,
    /// `base64`.
    Base64,
    /// `quoted-printable`.
    QuotedPrintable,
}

impl TransferEncoding {
    /// Parses a header value (case-insensitive, white space and comments
    /// tolerated). Anything else, including `x-` encodings such as
    /// `x-uuencode` and an empty value, is `Mime(UnsupportedTransferEncoding)`.
    pub fn parse(value: &[u8]) -> Result<Self> {
        let unsupported = mime_err(MimeError::UnsupportedTransferEncoding);
        let mut lex = Lexer::new(value);
        lex.skip_cfws().map_err(|()| unsupported)?;
        let token = lex.token().ok_or(unsupported)?;
        lex.skip_cfws().map_err(|()| unsupported)?;
        if !lex.at_end() {
            return Err(unsupported);
        }
        [Self::SevenBit, Self::EightBit, Self::Binary, Self::Base64, Self::QuotedPrintable]
            .into_iter()
            .find(|e| eq_ignore_case(token, e.as_str().as_bytes()))
            .ok_or(unsupported)
    }

    /// The canonical (lower-case) name: `7bit`, `8bit`, `binary`, `base64`,
    /// `quoted-printable`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SevenBit => "7bit",
            Self::EightBit => "8bit",
            Self::Binary => "binary",
            Self::Base64 => "base64",
            Self::QuotedPrintable => "quoted-printable",
        }
    }
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

/// The addr-spec of each mailbox in an address-list header value (From, To,
/// Cc, Sender; RFC 5322 §3.4).
///
/// Handles `a@b`, `Name <a@b>`, `"Quoted, Name" <a@b>`, `a@b (comment)`,
/// comments with nested parentheses, groups (`Team: a@b, c@d;`), the obsolete
/// route `<@x,@y:a@b>` (gives `a@b`) and folds. Yields the address bytes as
/// they stand in the value (no unquoting, no comment removal inside the
/// address), trimmed of white space. Malformed pieces (unterminated quotes,
/// comments or angle brackets, no `@`, an empty local part or domain, white
/// space outside quotes) are skipped. Work is linear in the value.
pub fn addresses(value: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    Addresses { s: value, pos: 0 }
}

struct Addresses<'a> {
    s: &'a [u8],
    pos: usize,
}

/// One mailbox being scanned.
#[derive(Default)]
struct Candidate {
    /// First and one-past-last content byte outside comments (bare addr-spec).
    content: Option<(usize, usize)>,
    /// Inside angle brackets: start after `<`, end at `>`.
    angle: Option<(usize, usize)>,
    /// An angle bracket was opened and not closed.
    angle_open: bool,
}

impl<'a> Iterator for Addresses<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while self.pos < self.s.len() {
            let (cand, ok) = self.scan_one();
            if !ok {
                continue;
            }
            let addr = match (cand.angle, cand.content) {
                (Some((a, b)), _) => strip_route(self.s.get(a..b).unwrap_or_default()),
                (None, Some((a, b))) => self.s.get(a..b),
                (None, None) => None,
            };
            if let Some(addr) = addr.map(trim_fws).filter(|a| plausible_addr_spec(a)) {
                return Some(addr);
            }
        }
        None
    }
}

impl Addresses<'_> {
    /// Scans one mailbox up to a top-level `,` or `;` (consumed) or the end.
    /// A top-level `:` outside angle brackets starts a group: what came
    /// before it (the group name) is dropped. Returns the candidate and
    /// whether it ended cleanly (no unterminated quote, comment or angle).
    fn scan_one(&mut self) -> (Candidate, bool) {
        let mut cand = Candidate::default();
        let mut in_quote = false;
        let mut depth = 0usize; // comment nesting
        let mut escaped = false;
        let mut angle_start = 0usize;
        while let Some(&b) = self.s.get(self.pos) {
            let i = self.pos;
            self.pos += 1;
            if escaped {
                escaped = false;
                if !cand.angle_open && depth == 0 {
                    extend(&mut cand.content, i);
                }
                continue;
            }
            if in_quote {
                match b {
                    b'\\' => escaped = true,
                    b'"' => in_quote = false,
                    _ => {}
                }
                if !cand.angle_open {
                    extend(&mut cand.content, i);
                }
                continue;
            }
            if depth > 0 {
                match b {
                    b'\\' => escaped = true,
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
                continue;
            }
            match b {
                b'(' => depth = 1,
                b'"' => {
                    in_quote = true;
                    if !cand.angle_open {
                        extend(&mut cand.content, i);
                    }
                }
                b'\\' => escaped = true,
                _ if cand.angle_open => {
                    if b == b'>' {
                        cand.angle_open = false;
                        if cand.angle.is_none() {
                            cand.angle = Some((angle_start, i));
                        }
                    }
                }
                b'<' => {
                    cand.angle_open = true;
                    angle_start = i + 1;
                }
                b',' | b';' => return (cand, true),
                b':' => cand = Candidate::default(),
                _ if is_fws(b) => {}
                _ => extend(&mut cand.content, i),
            }
        }
        let ok = !in_quote && depth == 0 && !cand.angle_open && !escaped;
        (cand, ok)
    }
}

/// Widens `range` to include byte `i`.
fn extend(range: &mut Option<(usize, usize)>, i: usize) {
    *range = Some(match *range {
        Some((a, _)) => (a, i + 1),
        None => (i, i + 1),
    });
}

/// The addr-spec in an angle-addr, without an obsolete route (`@x,@y:`).
fn strip_route(s: &[u8]) -> Option<&[u8]> {
    let t = trim_fws(s);
    if t.first() == Some(&b'@') {
        let colon = t.iter().position(|&b| b == b':')?;
        t.get(colon + 1..)
    } else {
        Some(t)
    }
}

/// Whether `a` looks like `local@domain`: an `@` outside quotes with
/// something on both sides, and no white space or angle brackets outside
/// quotes.
fn plausible_addr_spec(a: &[u8]) -> bool {
    let mut in_quote = false;
    let mut escaped = false;
    let mut at = None;
    for (i, &b) in a.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            in_quote = !in_quote;
        } else if !in_quote {
            match b {
                b'@' => at = Some(i),
                b'<' | b'>' | b',' | b';' => return false,
                _ if is_fws(b) => return false,
                _ => {}
            }
        }
    }
    !in_quote && at.is_some_and(|i| i > 0 && i + 1 < a.len())
}

/// Whether two addresses (as yielded by [`addresses`]) are the same mailbox.
///
/// Surrounding white space is ignored; the domain is compared
/// case-insensitively (RFC 5321 §2.4), and so is the local part: strictly it
/// is case-sensitive, but mail systems and clients treat it as not, and
/// S/MIME clients match certificate addresses that way. Quoted local parts
/// are compared as written (`"a"@b` differs from `a@b`).
pub fn same_address(a: &[u8], b: &[u8]) -> bool {
    eq_ignore_case(trim_fws(a), trim_fws(b))
}

/// Whether a header field belongs inside a MIME entity: its name starts with
/// `Content-` (case-insensitive). Used to split a message into its outer
/// headers and the content entity; `MIME-Version` is not a content field.
pub fn is_content_field(name: &[u8]) -> bool {
    name.get(..8).is_some_and(|p| eq_ignore_case(p, b"content-"))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn kind(e: Error) -> ErrorKind {
        e.kind()
    }

    #[derive(Debug, PartialEq, Eq)]
    struct Out {
        fields: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>, // name, value, raw
        end_at: Option<u64>,
    }

    /// Feeds `input` in chunks of `chunk` bytes; runs `finish` if no End.
    fn run(input: &[u8], chunk: usize, buf_len: usize) -> Result<Out> {
        let mut buf = std::vec![0u8; buf_len];
        let mut r = HeaderReader::new(&mut buf);
        let mut out = Out { fields: Vec::new(), end_at: None };
        let mut pos = 0;
        let mut total = 0usize;
        while pos < input.len() {
            let end = (pos + chunk).min(input.len());
            let mut piece = &input[pos..end];
            loop {
                let (n, ev) = r.next(piece)?;
                total += n;
                piece = &piece[n..];
                match ev {
                    Some(HeaderEvent::Field) => {
                        let f = r.field().unwrap();
                        out.fields.push((f.name.to_vec(), f.value.to_vec(), r.raw().to_vec()));
                    }
                    Some(HeaderEvent::End) => {
                        out.end_at = Some(r.offset());
                        assert_eq!(r.offset(), total as u64);
                        return Ok(out);
                    }
                    None => {
                        assert!(piece.is_empty());
                        break;
                    }
                }
            }
            pos = end;
        }
        if let Some(HeaderEvent::Field) = r.finish()? {
            let f = r.field().unwrap();
            out.fields.push((f.name.to_vec(), f.value.to_vec(), r.raw().to_vec()));
        }
        assert_eq!(r.finish()?, None);
        Ok(out)
    }

    fn body_at(out: &Out) -> usize {
        usize::try_from(out.end_at.unwrap()).unwrap()
    }

    fn run_all_chunkings(input: &[u8], buf_len: usize) -> Result<Out> {
        let whole = run(input, input.len().max(1), buf_len);
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(run(input, chunk, buf_len), whole, "chunk {chunk}");
        }
        whole
    }

    fn f(name: &str, value: &str, raw: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (name.as_bytes().to_vec(), value.as_bytes().to_vec(), raw.as_bytes().to_vec())
    }

    #[test]
    fn crlf_fields_and_end() {
        let msg = b"From: a@b\r\nSubject:  hi there \r\nX-Empty:\r\n\r\nbody";
        let out = run_all_chunkings(msg, 256).unwrap();
        assert_eq!(
            out.fields,
            std::vec![
                f("From", "a@b", "From: a@b\r\n"),
                f("Subject", "hi there", "Subject:  hi there \r\n"),
                f("X-Empty", "", "X-Empty:\r\n"),
            ]
        );
        assert_eq!(out.end_at, Some(msg.len() as u64 - 4));
    }

    #[test]
    fn lf_fields_and_end() {
        let msg = b"To: x@y\nContent-Type: text/plain\n\nbody\n";
        let out = run_all_chunkings(msg, 256).unwrap();
        assert_eq!(
            out.fields,
            std::vec![
                f("To", "x@y", "To: x@y\n"),
                f("Content-Type", "text/plain", "Content-Type: text/plain\n"),
            ]
        );
        assert_eq!(&msg[body_at(&out)..], b"body\n");
    }

    #[test]
    fn folded_subject() {
        let msg = b"Subject: a long\r\n  subject\r\n\tline\r\nTo: z@z\r\n\r\n";
        let out = run_all_chunkings(msg, 256).unwrap();
        assert_eq!(
            out.fields[0],
            f(
                "Subject",
                "a long\r\n  subject\r\n\tline",
                "Subject: a long\r\n  subject\r\n\tline\r\n"
            )
        );
        assert_eq!(out.fields[1], f("To", "z@z", "To: z@z\r\n"));
        assert_eq!(out.end_at, Some(msg.len() as u64));
    }

    #[test]
    fn consumed_counts_and_body_start() {
        let msg = b"A: 1\r\nB: 2\r\n\r\nBODY";
        let mut buf = [0u8; 64];
        let mut r = HeaderReader::new(&mut buf);
        // "A: 1\r\n" is held until 'B' is seen; 'B' itself is not consumed.
        assert_eq!(r.next(msg).unwrap(), (6, Some(HeaderEvent::Field)));
        assert_eq!(r.raw(), b"A: 1\r\n");
        assert!(r.field().unwrap().is("a"));
        assert_eq!(r.next(&msg[6..]).unwrap(), (6, Some(HeaderEvent::Field)));
        assert_eq!(r.field().unwrap().value, b"2");
        assert_eq!(r.next(&msg[12..]).unwrap(), (2, Some(HeaderEvent::End)));
        assert_eq!(r.offset(), 14);
        assert_eq!(&msg[14..], b"BODY");
        assert!(r.field().is_none());
        assert_eq!(r.raw(), b"");
        // After End: nothing consumed, End again.
        assert_eq!(r.next(b"BODY").unwrap(), (0, Some(HeaderEvent::End)));
        assert_eq!(r.next(b"").unwrap(), (0, Some(HeaderEvent::End)));
        assert_eq!(r.finish().unwrap(), None);
    }

    #[test]
    fn field_held_until_next_line() {
        let mut buf = [0u8; 64];
        let mut r = HeaderReader::new(&mut buf);
        assert_eq!(r.next(b"A: 1\r\n").unwrap(), (6, None));
        assert!(r.field().is_none());
        assert_eq!(r.next(b" 2\r\n").unwrap(), (4, None));
        assert_eq!(r.next(b"\r\n").unwrap(), (0, Some(HeaderEvent::Field)));
        assert_eq!(r.raw(), b"A: 1\r\n 2\r\n");
        assert_eq!(r.field().unwrap().value, b"1\r\n 2");
        assert_eq!(r.next(b"\r\n").unwrap(), (2, Some(HeaderEvent::End)));
        assert_eq!(r.offset(), 12);
    }

    #[test]
    fn empty_block() {
        for msg in [&b"\r\nbody"[..], b"\nbody"] {
            let mut buf = [0u8; 8];
            let mut r = HeaderReader::new(&mut buf);
            let (n, ev) = r.next(msg).unwrap();
            assert_eq!(ev, Some(HeaderEvent::End));
            assert_eq!(&msg[n..], b"body");
        }
        // Even with an empty buffer.
        let mut r = HeaderReader::new(&mut []);
        assert_eq!(r.next(b"\r\n").unwrap(), (2, Some(HeaderEvent::End)));
    }

    #[test]
    fn bare_cr_kept() {
        let out = run_all_chunkings(b"X: a\rb\r\n\r\n", 64).unwrap();
        assert_eq!(out.fields, std::vec![f("X", "a\rb", "X: a\rb\r\n")]);
    }

    #[test]
    fn header_too_long() {
        let msg = b"Subject: 0123456789\r\n\r\n";
        let e = run(msg, msg.len(), 10).unwrap_err();
        assert_eq!(kind(e), ErrorKind::Mime(MimeError::HeaderTooLong));
        assert_eq!(e.position(), Some(10));
        for chunk in [1, 3] {
            assert_eq!(run(msg, chunk, 10).unwrap_err(), e);
        }
        // Exactly fitting is fine (raw includes the CRLF).
        let out = run(msg, msg.len(), 21).unwrap();
        assert_eq!(out.fields.len(), 1);
        // Folds count too.
        let e = run(b"S: 12345\r\n 678\r\n\r\n", 64, 12).unwrap_err();
        assert_eq!(kind(e), ErrorKind::Mime(MimeError::HeaderTooLong));
        assert_eq!(e.position(), Some(12));
        // Empty buffer.
        let e = run(b"A: b\r\n\r\n", 64, 0).unwrap_err();
        assert_eq!(kind(e), ErrorKind::Mime(MimeError::HeaderTooLong));
        assert_eq!(e.position(), Some(0));
    }

    #[test]
    fn malformed_headers() {
        let cases: &[(&[u8], u64)] = &[
            (b" folded: first\r\n\r\n", 0),
            (b"\tX: y\r\n\r\n", 0),
            (b"A: b\r\nno colon here\r\n\r\n", 8),
            (b"A: b\r\nNoColon\r\n\r\n", 13),
            (b": empty name\r\n\r\n", 0),
            (b"Bad Name: x\r\n\r\n", 3),
            (b"Bad\x01: x\r\n\r\n", 3),
            (b"Caf\xc3\xa9: x\r\n\r\n", 3),
            (b"A: b\r\n\rX: y\r\n\r\n", 7),
            (b"A: b\r\nFrom x@y\r\n\r\n", 10),
        ];
        for &(msg, pos) in cases {
            for chunk in [1, 2, msg.len()] {
                let e = run(msg, chunk, 64).unwrap_err();
                assert_eq!(kind(e), ErrorKind::Mime(MimeError::MalformedHeader), "{msg:?}");
                assert_eq!(e.position(), Some(pos), "{msg:?}");
            }
        }
        // Sticky error.
        let mut buf = [0u8; 16];
        let mut r = HeaderReader::new(&mut buf);
        let e = r.next(b" x").unwrap_err();
        assert_eq!(r.next(b"A: b\r\n").unwrap_err(), e);
        assert_eq!(r.finish().unwrap_err(), e);
        // A pending line without a colon at finish.
        let mut r = HeaderReader::new(&mut buf);
        assert_eq!(r.next(b"Abc").unwrap(), (3, None));
        assert_eq!(kind(r.finish().unwrap_err()), ErrorKind::Mime(MimeError::MalformedHeader));
    }

    #[test]
    fn mbox_from_line_skipped() {
        let msg = b"From alice@example.com Mon Jan  1 00:00:00 2024\nFrom: alice@example.com\n\n";
        let out = run_all_chunkings(msg, 64).unwrap();
        assert_eq!(
            out.fields,
            std::vec![f("From", "alice@example.com", "From: alice@example.com\n")]
        );
        assert_eq!(out.end_at, Some(msg.len() as u64));
        // A From: field first is an ordinary field.
        let out = run_all_chunkings(b"From: a@b\r\n\r\n", 64).unwrap();
        assert_eq!(out.fields, std::vec![f("From", "a@b", "From: a@b\r\n")]);
    }

    #[test]
    fn finish_without_empty_line() {
        let out = run_all_chunkings(b"Content-Type: text/plain\r\nX: 1\r\n", 64).unwrap();
        assert_eq!(out.end_at, None);
        assert_eq!(
            out.fields,
            std::vec![
                f("Content-Type", "text/plain", "Content-Type: text/plain\r\n"),
                f("X", "1", "X: 1\r\n"),
            ]
        );
        // A last line without its line end.
        let out = run_all_chunkings(b"A: 1\r\nB: 2", 64).unwrap();
        assert_eq!(out.fields[1], f("B", "2", "B: 2"));
        // Nothing at all.
        let mut r = HeaderReader::new(&mut []);
        assert_eq!(r.finish().unwrap(), None);
        assert_eq!(r.next(b"x").unwrap(), (0, Some(HeaderEvent::End)));
        // Field returned once, then None; still readable.
        let mut buf = [0u8; 16];
        let mut r = HeaderReader::new(&mut buf);
        r.next(b"A: 1\n").unwrap();
        assert_eq!(r.finish().unwrap(), Some(HeaderEvent::Field));
        assert_eq!(r.raw(), b"A: 1\n");
        assert_eq!(r.finish().unwrap(), None);
    }

    // Header snippets copied from real messages (Bouncy Castle test data:
    // bc-java mail/smime/test/3nnn_smime.eml, outlook_2010_beta_sime_msg.eml,
    // bc-csharp rfc4134/4.8.eml).
    const MAC_OUTLOOK: &[u8] = b"Received: from BLU437-SMTP76 ([65.55.116.9]) by BLU004-OMC1S15.hotmail.com over TLS secured channel with Microsoft SMTPSVC(7.5.7601.22751);\r\n\t Wed, 11 Mar 2015 06:36:51 -0700\r\nMessage-ID: <BLU437-SMTP7628639F7B5AB7E5FC9DEBF4190@phx.gbl>\r\nSubject: tiny attachment test\r\nFrom: Bruce Hoff <bruce_hoff@hotmail.com>\r\nTo: \"bruce.hoff@sagebase.org\" <bruce.hoff@sagebase.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\tmicalg=sha256; boundary=\"B_3508900603_18998010\"\r\n\r\n";
    const OUTLOOK_2010: &[u8] = b"To: <john.doe@example.net>\nSubject: A broken S/MIME encrypted message\nMessage-ID: <000c01cadd1e$d8e3b700$8aab2500$@Domain>\nMIME-Version: 1.0\nContent-Type: application/pkcs7-mime;\n\tsmime-type=enveloped-data;\n\tname=\"smime.p7m\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment;\n\tfilename=\"smime.p7m\"\nX-Mailer: Microsoft Outlook 14.0\n\nMIAGCSqGSIb3DQEHA6CAMIACAQAx";
    const RFC4134_4_8: &[u8] = b"MIME-Version: 1.0\r\nTo: User2@examples.com\r\nFrom: aliceDss@examples.com\r\nSubject: Example 4.8\r\nMessage-Id: <020906002550300.249@examples.com>\r\nDate: Fri, 06 Sep 2002 00:25:21 -0300 \r\nContent-Type: multipart/signed;\r\n    micalg=SHA1;\r\n    boundary=\"----=_NextBoundry____Fri,_06_Sep_2002_00:25:21\";\r\n    protocol=\"application/pkcs7-signature\"\r\n\r\nThis is a multi-part message in MIME format.\r\n";

    fn find<'o>(out: &'o Out, name: &str) -> &'o [u8] {
        &out.fields.iter().find(|(n, _, _)| eq_ignore_case(n, name.as_bytes())).unwrap().1
    }

    #[test]
    fn real_header_blocks() {
        let out = run_all_chunkings(MAC_OUTLOOK, 512).unwrap();
        assert_eq!(out.fields.len(), 7);
        assert_eq!(out.end_at, Some(MAC_OUTLOOK.len() as u64));
        assert!(find(&out, "received").ends_with(b";\r\n\t Wed, 11 Mar 2015 06:36:51 -0700"));
        let ct = ContentType::parse(find(&out, "content-type")).unwrap();
        assert!(ct.is("multipart", "signed"));
        let mut b = [0u8; 128];
        assert_eq!(ct.boundary(&mut b).unwrap(), b"B_3508900603_18998010");
        assert_eq!(ct.param_raw("micalg"), Some(&b"sha256"[..]));
        let from: Vec<&[u8]> = addresses(find(&out, "from")).collect();
        assert_eq!(from, [&b"bruce_hoff@hotmail.com"[..]]);
        let to: Vec<&[u8]> = addresses(find(&out, "to")).collect();
        assert_eq!(to, [&b"bruce.hoff@sagebase.org"[..]]);

        let out = run_all_chunkings(OUTLOOK_2010, 512).unwrap();
        assert_eq!(out.fields.len(), 8);
        assert_eq!(&OUTLOOK_2010[body_at(&out)..], b"MIAGCSqGSIb3DQEHA6CAMIACAQAx");
        let ct = ContentType::parse(find(&out, "Content-Type")).unwrap();
        assert!(ct.is("application", "pkcs7-mime"));
        assert_eq!(ct.param_raw("smime-type"), Some(&b"enveloped-data"[..]));
        let mut n = [0u8; 16];
        assert_eq!(ct.param("name", &mut n).unwrap(), Some(&b"smime.p7m"[..]));
        assert_eq!(
            TransferEncoding::parse(find(&out, "content-transfer-encoding")).unwrap(),
            TransferEncoding::Base64
        );
        let to: Vec<&[u8]> = addresses(find(&out, "to")).collect();
        assert_eq!(to, [&b"john.doe@example.net"[..]]);
        let content: Vec<&Vec<u8>> =
            out.fields.iter().map(|(n, _, _)| n).filter(|n| is_content_field(n)).collect();
        assert_eq!(content.len(), 3);

        let out = run_all_chunkings(RFC4134_4_8, 512).unwrap();
        assert_eq!(out.fields.len(), 7);
        assert_eq!(find(&out, "date"), b"Fri, 06 Sep 2002 00:25:21 -0300");
        let ct = ContentType::parse(find(&out, "content-type")).unwrap();
        assert!(ct.is_multipart());
        assert_eq!(ct.boundary(&mut b).unwrap(), b"----=_NextBoundry____Fri,_06_Sep_2002_00:25:21");
        assert_eq!(ct.param_raw("MICALG"), Some(&b"SHA1"[..]));
    }

    /// Pseudo-random header-like inputs: no panic, and the same result
    /// (fields, raw bytes, errors and their positions) whatever the chunking.
    #[test]
    fn random_blocks_chunking_independent() {
        const ALPHABET: &[u8] = b"ab:;= \t\r\n\"()<>@,\\/F";
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2000 {
            let len = usize::try_from(next() % 40).unwrap();
            let v: Vec<u8> = (0..len)
                .map(|_| ALPHABET[usize::try_from(next()).unwrap() % ALPHABET.len()])
                .collect();
            let _ = run_all_chunkings(&v, 16);
            if let Ok(ct) = ContentType::parse(&v) {
                let mut out = [0u8; 64];
                for (name, raw) in ct.params() {
                    let name = core::str::from_utf8(name).unwrap();
                    assert_eq!(ct.param_raw(name), Some(raw));
                    assert!(ct.param(name, &mut out).unwrap().is_some());
                }
                let _ = ct.boundary(&mut out);
            }
            let _ = TransferEncoding::parse(&v);
            for a in addresses(&v) {
                assert!(a.contains(&b'@'));
                assert!(same_address(a, a));
            }
        }
    }

    // --- ContentType --------------------------------------------------------

    #[test]
    fn content_type_multipart_signed() {
        let v = b"multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"----=_Part_0_1.2\"";
        let ct = ContentType::parse(v).unwrap();
        assert_eq!(ct.media_type(), b"multipart");
        assert_eq!(ct.subtype(), b"signed");
        assert!(ct.is("Multipart", "SIGNED"));
        assert!(ct.is_multipart());
        assert_eq!(ct.param_raw("protocol"), Some(&b"\"application/pkcs7-signature\""[..]));
        let mut out = [0u8; 64];
        assert_eq!(
            ct.param("Protocol", &mut out).unwrap(),
            Some(&b"application/pkcs7-signature"[..])
        );
        assert_eq!(ct.param("micalg", &mut out).unwrap(), Some(&b"sha-256"[..]));
        assert_eq!(ct.param("charset", &mut out).unwrap(), None);
        let mut b = [0u8; crate::mime::MAX_BOUNDARY];
        assert_eq!(ct.boundary(&mut b).unwrap(), b"----=_Part_0_1.2");
        let names: Vec<&[u8]> = ct.params().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"protocol"[..], b"micalg", b"boundary"]);
    }

    #[test]
    fn content_type_real_forms() {
        let ct = ContentType::parse(
            b"application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"",
        )
        .unwrap();
        assert!(ct.is("application", "pkcs7-mime"));
        assert!(!ct.is_multipart());
        assert_eq!(ct.param_raw("smime-type"), Some(&b"enveloped-data"[..]));
        assert_eq!(ct.param_raw("name"), Some(&b"\"smime.p7m\""[..]));

        let ct = ContentType::parse(b"application/x-pkcs7-mime; name=smime.p7m").unwrap();
        assert!(ct.is("application", "x-pkcs7-mime"));
        let mut out = [0u8; 9];
        assert_eq!(ct.param("name", &mut out).unwrap(), Some(&b"smime.p7m"[..]));
        let mut small = [0u8; 8];
        assert_eq!(
            ct.param("name", &mut small).unwrap_err().kind(),
            ErrorKind::BufferTooSmall { required: 9 }
        );

        let ct = ContentType::parse(b"multipart/signed; protocol=\"application/x-pkcs7-signature\"; micalg=\"sha-256\"; boundary=\"----9F3E2A1B0C4D5E6F7A8B9C0D1E2F3A4B\"").unwrap();
        let mut b = [0u8; 128];
        assert_eq!(ct.boundary(&mut b).unwrap(), b"----9F3E2A1B0C4D5E6F7A8B9C0D1E2F3A4B");
        assert_eq!(ct.param("micalg", &mut b).unwrap(), Some(&b"sha-256"[..]));

        // Thunderbird: folded, trailing space before the fold.
        let ct = ContentType::parse(
            b"multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha1; \r\n\tboundary=\"----=_Part_0_10440721.1157101715093\"",
        )
        .unwrap();
        assert_eq!(ct.boundary(&mut b).unwrap(), b"----=_Part_0_10440721.1157101715093");
    }

    #[test]
    fn content_type_lenient_syntax() {
        let v = b"  MULTIPART / Mixed (a (nested) comment)\r\n ;\r\n\tBOUNDARY = \"x y\" (c) ; Charset=US-ASCII ;";
        let ct = ContentType::parse(v).unwrap();
        assert_eq!(ct.media_type(), b"MULTIPART");
        assert_eq!(ct.subtype(), b"Mixed");
        assert!(ct.is("multipart", "mixed"));
        let mut b = [0u8; 128];
        assert_eq!(ct.boundary(&mut b).unwrap(), b"x y");
        assert_eq!(ct.param_raw("charset"), Some(&b"US-ASCII"[..]));
        assert_eq!(ct.params().count(), 2);

        let ct = ContentType::parse(b"text/plain; name=\"a\\\"b\\\\c\"").unwrap();
        assert_eq!(ct.param_raw("name"), Some(&b"\"a\\\"b\\\\c\""[..]));
        let mut out = [0u8; 8];
        assert_eq!(ct.param("name", &mut out).unwrap(), Some(&b"a\"b\\c"[..]));

        // A quoted string folded over lines: CR/LF dropped.
        let ct = ContentType::parse(b"text/plain; name=\"ab\r\n cd\"").unwrap();
        assert_eq!(ct.param("name", &mut out).unwrap(), Some(&b"ab cd"[..]));

        assert!(ContentType::parse(b"text/plain;").is_ok());
        assert!(ContentType::parse(b"text/plain").unwrap().params().next().is_none());
    }

    #[test]
    fn content_type_errors() {
        let mal = ErrorKind::Mime(MimeError::MalformedContentType);
        for v in [
            &b""[..],
            b"text",
            b"text/",
            b"/plain",
            b"text/plain; name=\"unterminated",
            b"text/plain; name",
            b"text/plain; name=",
            b"text/plain; =x",
            b"text/plain name=x",
            b"text/plain; a=b c=d",
            b"text/plain; a=b;;",
            b"text/plain (unterminated comment",
            b"text/plain; a=b (x",
            b"text/pl@in",
            b"text/plain; a=\"x\\",
        ] {
            assert_eq!(ContentType::parse(v).unwrap_err().kind(), mal, "{v:?}");
        }
        let dup = ErrorKind::Mime(MimeError::DuplicateParameter);
        assert_eq!(
            ContentType::parse(b"multipart/mixed; boundary=a; BOUNDARY=\"b\"").unwrap_err().kind(),
            dup
        );
        // 32 parameters are fine, 33 are not.
        let mut v = Vec::from(&b"text/plain"[..]);
        for i in 0..32 {
            v.extend_from_slice(std::format!("; p{i}=v").as_bytes());
        }
        assert_eq!(ContentType::parse(&v).unwrap().params().count(), 32);
        v.extend_from_slice(b"; p32=v");
        assert_eq!(ContentType::parse(&v).unwrap_err().kind(), mal);
    }

    #[test]
    fn boundary_errors() {
        let inv = ErrorKind::Mime(MimeError::InvalidBoundary);
        let mut b = [0u8; 256];
        let long = std::format!("multipart/mixed; boundary={}", "x".repeat(129));
        let ok = std::format!("multipart/mixed; boundary={}", "x".repeat(128));
        for v in [
            &b"multipart/mixed"[..],
            b"multipart/mixed; boundary=\"\"",
            b"multipart/mixed; boundary=\"abc \"",
            long.as_bytes(),
        ] {
            let ct = ContentType::parse(v).unwrap();
            assert_eq!(ct.boundary(&mut b).unwrap_err().kind(), inv, "{v:?}");
        }
        // Too long for MAX_BOUNDARY even with a small buffer: InvalidBoundary.
        let ct = ContentType::parse(long.as_bytes()).unwrap();
        assert_eq!(ct.boundary(&mut [0u8; 10]).unwrap_err().kind(), inv);
        let ct = ContentType::parse(ok.as_bytes()).unwrap();
        assert_eq!(ct.boundary(&mut b).unwrap().len(), 128);
        assert_eq!(
            ct.boundary(&mut [0u8; 10]).unwrap_err().kind(),
            ErrorKind::BufferTooSmall { required: 128 }
        );
    }

    // --- Transfer encoding ---------------------------------------------------

    #[test]
    fn transfer_encoding() {
        use TransferEncoding as T;
        for (v, e) in [
            (&b"7bit"[..], T::SevenBit),
            (b"8BIT", T::EightBit),
            (b" Binary ", T::Binary),
            (b"base64", T::Base64),
            (b"BASE64 (as usual)", T::Base64),
            (b"\r\n\tQuoted-Printable", T::QuotedPrintable),
        ] {
            assert_eq!(T::parse(v).unwrap(), e);
            assert_eq!(T::parse(e.as_str().as_bytes()).unwrap(), e);
        }
        assert_eq!(T::default(), T::SevenBit);
        let uns = ErrorKind::Mime(MimeError::UnsupportedTransferEncoding);
        for v in [&b"x-uuencode"[..], b"", b"base64 7bit", b"(c)", b"base 64", b"base64 (x"] {
            assert_eq!(T::parse(v).unwrap_err().kind(), uns, "{v:?}");
        }
    }

    // --- Addresses -----------------------------------------------------------

    fn addrs(v: &[u8]) -> Vec<&[u8]> {
        addresses(v).collect()
    }

    #[test]
    fn address_forms() {
        assert_eq!(addrs(b"a@b"), [&b"a@b"[..]]);
        assert_eq!(addrs(b"  Name <a@b.example> "), [&b"a@b.example"[..]]);
        assert_eq!(addrs(b"\"Quoted, Name\" <a@b>, c@d"), [&b"a@b"[..], b"c@d"]);
        assert_eq!(addrs(b"a@b (comment)"), [&b"a@b"[..]]);
        assert_eq!(addrs(b"a@b (outer (nested, <x@y>) c), d@e"), [&b"a@b"[..], b"d@e"]);
        assert_eq!(addrs(b"(lead) a@b"), [&b"a@b"[..]]);
        assert_eq!(addrs(b"Team: a@b, Bob <c@d>;, e@f"), [&b"a@b"[..], b"c@d", b"e@f"]);
        assert_eq!(addrs(b"undisclosed-recipients:;"), Vec::<&[u8]>::new());
        assert_eq!(addrs(b"<@x,@y:a@b>"), [&b"a@b"[..]]);
        assert_eq!(addrs(b"Route <@x.example:a@b>"), [&b"a@b"[..]]);
        assert_eq!(
            addrs(b"Alice <alice@example.com>,\r\n Bob <bob@example.com>,\r\n\tcarol@example.com"),
            [&b"alice@example.com"[..], b"bob@example.com", b"carol@example.com"]
        );
        assert_eq!(
            addrs(b"=?ISO-8859-1?Q?Armin_H=E4berling?= <armin@privasphere.com>"),
            [&b"armin@privasphere.com"[..]]
        );
        assert_eq!(addrs(b"<\"odd local\"@b>"), [&b"\"odd local\"@b"[..]]);
        assert_eq!(addrs(b"\"quoted local\"@b"), [&b"\"quoted local\"@b"[..]]);
        assert_eq!(addrs(b"\"a>b\" <x@y>"), [&b"x@y"[..]]);
        assert_eq!(addrs(b"<edifact@landenergie.de>"), [&b"edifact@landenergie.de"[..]]);
    }

    #[test]
    fn address_malformed_skipped() {
        assert_eq!(addrs(b""), Vec::<&[u8]>::new());
        assert_eq!(addrs(b"no-at-sign, a@b"), [&b"a@b"[..]]);
        assert_eq!(addrs(b"<>, @b, a@, x@y"), [&b"x@y"[..]]);
        assert_eq!(addrs(b"John Doe a@b, c@d"), [&b"c@d"[..]]);
        assert_eq!(addrs(b"a@b, \"unterminated <x@y>"), [&b"a@b"[..]]);
        assert_eq!(addrs(b"a@b, (unterminated c@d"), [&b"a@b"[..]]);
        assert_eq!(addrs(b"a@b, <c@d"), [&b"a@b"[..]]);
        assert_eq!(addrs(b"<@x a@b>"), Vec::<&[u8]>::new());
        assert_eq!(addrs(b",,;;::,"), Vec::<&[u8]>::new());
        // Bounded work on pathological input.
        let deep = std::vec![b'('; 100_000];
        assert_eq!(addrs(&deep), Vec::<&[u8]>::new());
        for i in 0..=255u8 {
            for j in 0..=255u8 {
                let _ = addrs(&[i, b'@', j, b'\\']).len();
            }
        }
    }

    #[test]
    fn same_address_and_content_fields() {
        assert!(same_address(b"Alice@Example.COM", b"alice@example.com"));
        assert!(same_address(b" a@b ", b"a@b"));
        assert!(!same_address(b"a@b", b"a@c"));
        assert!(!same_address(b"\"a\"@b", b"a@b"));
        assert!(is_content_field(b"Content-Type"));
        assert!(is_content_field(b"content-transfer-encoding"));
        assert!(is_content_field(b"CONTENT-Disposition"));
        assert!(!is_content_field(b"Content"));
        assert!(!is_content_field(b"MIME-Version"));
        assert!(!is_content_field(b"X-Content-Type"));
        assert!(eq_ignore_case(b"ABC", b"abc"));
        assert!(!eq_ignore_case(b"ABC", b"abcd"));
    }
}
