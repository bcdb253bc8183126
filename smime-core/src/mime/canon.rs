//! Canonical line ends (RFC 8551 §3.1.1) and body classification.
//!
//! [`Canonicalizer`] is a sink adapter that turns every line end into CRLF
//! as bytes pass through, whatever the chunking. [`BodyClass`] looks at a
//! body chunk by chunk and tells whether it can travel through 7-bit mail as
//! it stands (RFC 5322 §2.1.1, RFC 2045 §2.7).

use embedded_io::Write;

use crate::error::{Error, ErrorKind, Result, io_err};

/// Output buffer of the canonicalizer.
const BUF: usize = 512;

/// Longest line RFC 5322 §2.1.1 allows, line end excluded.
const MAX_LINE: usize = 998;

/// Converts line ends to CRLF as it passes (RFC 8551 §3.1.1): LF → CRLF, a
/// CR not followed by LF → CRLF, CRLF kept. Chunking-independent (a CR at
/// the end of one write and LF at the start of the next is one CRLF).
///
/// Output is batched in a fixed 512-byte buffer, written to the sink when
/// full and by [`finish`](Self::finish). A CR at the end of a write is held
/// back until the next byte (or `finish`) shows what follows it. After a
/// sink error the canonicalizer stays failed: further writes return
/// [`ErrorKind::InvalidState`].
pub struct Canonicalizer<W: Write> {
    sink: W,
    buf: [u8; BUF],
    len: usize,
    pending_cr: bool,
    changed: bool,
    ends_nl: bool,
    failed: bool,
}

impl<W: Write> Canonicalizer<W> {
    /// A canonicalizer writing to `sink`.
    pub const fn new(sink: W) -> Self {
        Self {
            sink,
            buf: [0; BUF],
            len: 0,
            pending_cr: false,
            changed: false,
            ends_nl: false,
            failed: false,
        }
    }

    /// Canonicalizes `data`, any size and any chunking.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if the sink fails; [`ErrorKind::InvalidState`]
    /// after an earlier error.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.failed {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let r = self.process(data);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn process(&mut self, data: &[u8]) -> Result<()> {
        let mut pending_cr = self.pending_cr;
        let r = canonicalise(data, &mut pending_cr, |piece| match piece {
            Piece::Same(run) => {
                self.put(run)?;
                self.ends_nl = run.ends_with(b"\r\n");
                Ok(())
            }
            Piece::Changed { .. } => {
                self.put(b"\r\n")?;
                self.changed = true;
                self.ends_nl = true;
                Ok(())
            }
        });
        self.pending_cr = pending_cr;
        r
    }

    /// Appends `bytes` to the buffer, draining it to the sink when full.
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let mut bytes = bytes;
        while !bytes.is_empty() {
            if self.len >= BUF {
                self.drain()?;
            }
            let n = bytes.len().min(BUF.saturating_sub(self.len));
            let (now, later) = bytes.split_at_checked(n).unwrap_or((bytes, &[]));
            if let Some(dst) = self.buf.get_mut(self.len..self.len + n) {
                dst.copy_from_slice(now);
            }
            self.len += n;
            bytes = later;
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<()> {
        if let Some(data) = self.buf.get(..self.len)
            && !data.is_empty()
        {
            self.sink.write_all(data).map_err(io_err)?;
        }
        self.len = 0;
        Ok(())
    }

    /// Ends the input: a pending CR becomes CRLF; writes out the buffer,
    /// flushes the sink and returns it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if the sink fails; [`ErrorKind::InvalidState`]
    /// after an earlier error.
    pub fn finish(mut self) -> Result<W> {
        if self.failed {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        if self.pending_cr {
            self.pending_cr = false;
            self.put(b"\r\n")?;
            self.changed = true;
            self.ends_nl = true;
        }
        self.drain()?;
        self.sink.flush().map_err(io_err)?;
        Ok(self.sink)
    }

    /// Whether any byte was added so far (some line end was not CRLF). A CR
    /// still pending at the end of the input counts once
    /// [`finish`](Self::finish) turns it into CRLF.
    pub const fn changed(&self) -> bool {
        self.changed
    }

    /// Whether the output so far ends with CRLF (or a pending CR, which will
    /// become one). False for empty input.
    pub const fn ends_with_newline(&self) -> bool {
        self.ends_nl || self.pending_cr
    }

    /// The sink.
    pub const fn get_ref(&self) -> &W {
        &self.sink
    }

    /// The sink, mutably. Canonicalized bytes may still be buffered (and a
    /// CR pending) in the canonicalizer; flush it first through
    /// [`embedded_io::Write::flush`] before writing to the sink directly.
    pub const fn get_mut(&mut self) -> &mut W {
        &mut self.sink
    }
}

impl<W: Write> embedded_io::ErrorType for Canonicalizer<W> {
    type Error = Error;
}

impl<W: Write> embedded_io::Write for Canonicalizer<W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        Canonicalizer::write(self, buf)?;
        Ok(buf.len())
    }

    /// Writes out the buffer and flushes the sink. A pending CR stays
    /// pending (the next byte may be its LF).
    fn flush(&mut self) -> Result<()> {
        if self.failed {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let r = self.drain().and_then(|()| self.sink.flush().map_err(io_err));
        if r.is_err() {
            self.failed = true;
        }
        r
    }
}

/// What a body needs to travel through 7-bit mail: a classifier fed chunk by
/// chunk.
///
/// The answers describe the data fed so far as if it ended there, and do not
/// depend on how it was chunked. In particular a CR that is the last byte fed
/// so far counts as bare in [`has_bare_cr_or_lf`](Self::has_bare_cr_or_lf)
/// (the body would end in a bare CR); it stops counting if the next chunk
/// starts with LF. A bare CR ends a line, as it will once canonicalized.
#[derive(Clone, Copy, Debug, Default)]
pub struct BodyClass {
    has_8bit: bool,
    has_nul: bool,
    bare: bool,
    prev_cr: bool,
    cur_line: usize,
    max_line: usize,
}

impl BodyClass {
    /// A classifier that has seen nothing.
    pub const fn new() -> Self {
        Self {
            has_8bit: false,
            has_nul: false,
            bare: false,
            prev_cr: false,
            cur_line: 0,
            max_line: 0,
        }
    }

    /// Looks at the next chunk of the body.
    pub fn update(&mut self, data: &[u8]) {
        for &b in data {
            if self.prev_cr && b != b'\n' {
                self.bare = true;
            }
            match b {
                b'\n' => {
                    if !self.prev_cr {
                        self.bare = true;
                    }
                    self.cur_line = 0;
                }
                b'\r' => self.cur_line = 0,
                _ => {
                    self.has_8bit |= b >= 0x80;
                    self.has_nul |= b == 0;
                    self.cur_line = self.cur_line.saturating_add(1);
                    self.max_line = self.max_line.max(self.cur_line);
                }
            }
            self.prev_cr = b == b'\r';
        }
    }

    /// Whether any byte is 0x80 or above.
    pub const fn has_8bit(&self) -> bool {
        self.has_8bit
    }

    /// Whether any byte is NUL.
    pub const fn has_nul(&self) -> bool {
        self.has_nul
    }

    /// Whether some LF is not preceded by CR or some CR is not followed by
    /// LF; a CR that is the last byte fed so far counts as bare.
    pub const fn has_bare_cr_or_lf(&self) -> bool {
        self.bare || self.prev_cr
    }

    /// The longest line in bytes, line ends (CR, LF) excluded.
    pub const fn max_line_len(&self) -> usize {
        self.max_line
    }

    /// Whether the body may be sent as 7bit: no 8-bit byte, no NUL and no
    /// line longer than 998 bytes (RFC 5322 §2.1.1). Line ends are not
    /// looked at: canonicalization fixes them.
    pub const fn is_7bit_safe(&self) -> bool {
        !self.has_8bit && !self.has_nul && self.max_line <= MAX_LINE
    }
}

/// A piece of canonicalised text (see [`canonicalise`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Bytes that were already canonical: the same in both forms.
    Same(&'a [u8]),
    /// A line end that was not CRLF: `raw` as it stood (a bare LF, or a lone
    /// CR), always made `\r\n`.
    Changed {
        /// The line end as it stood.
        raw: &'static [u8],
    },
}

/// Cuts `data` into canonical runs and changed line ends, in order, handing
/// each to `f`. `pending_cr` carries a CR at the end of one call over to the
/// next (its LF may come first thing there); after the last call, a pending
/// CR is a lone one: give it to `f` as `Changed { raw: b"\r" }`.
pub(crate) fn canonicalise<E>(
    data: &[u8],
    pending_cr: &mut bool,
    mut f: impl FnMut(Piece<'_>) -> core::result::Result<(), E>,
) -> core::result::Result<(), E> {
    let mut rest = data;
    while !rest.is_empty() {
        if *pending_cr {
            *pending_cr = false;
            if let Some((b'\n', tail)) = rest.split_first() {
                f(Piece::Same(b"\r\n"))?;
                rest = tail;
                continue;
            }
            f(Piece::Changed { raw: b"\r" })?;
        }
        let n = canonical_prefix(rest);
        let (run, tail) = rest.split_at(n);
        if !run.is_empty() {
            f(Piece::Same(run))?;
            rest = tail;
            continue;
        }
        // A bare LF, or a CR whose LF is not (yet) there.
        match tail.split_first() {
            Some((b'\r', t)) => {
                *pending_cr = true;
                rest = t;
            }
            Some((_, t)) => {
                f(Piece::Changed { raw: b"\n" })?;
                rest = t;
            }
            None => break,
        }
    }
    Ok(())
}

/// Length of the longest prefix of `data` that is already in canonical form:
/// every LF preceded by a CR, every CR followed by an LF (a CR at the very
/// end is left out: its LF may be in the next piece).
pub(crate) fn canonical_prefix(data: &[u8]) -> usize {
    let mut i = 0;
    loop {
        let Some(p) = data.get(i..).and_then(|r| memchr::memchr2(b'\r', b'\n', r)) else {
            return data.len();
        };
        let j = i + p;
        match (data.get(j), data.get(j + 1)) {
            (Some(b'\r'), Some(b'\n')) => i = j + 2,
            _ => return j,
        }
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation, reason = "tests")]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    fn reference(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            match data[i] {
                b'\r' => {
                    out.extend_from_slice(b"\r\n");
                    if data.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                }
                b'\n' => out.extend_from_slice(b"\r\n"),
                b => out.push(b),
            }
            i += 1;
        }
        out
    }

    fn canon_chunked(data: &[u8], chunk: usize) -> (Vec<u8>, bool, bool) {
        let mut c = Canonicalizer::new(Vec::new());
        for part in data.chunks(chunk.max(1)) {
            c.write(part).unwrap();
        }
        let ends = c.ends_with_newline();
        let mut changed = c.changed();
        let had_cr = data.last() == Some(&b'\r');
        let out = c.finish().unwrap();
        changed |= had_cr;
        (out, changed, ends)
    }

    fn canon(data: &[u8]) -> Vec<u8> {
        canon_chunked(data, data.len()).0
    }

    fn xorshift(x: &mut u32) -> u32 {
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        *x
    }

    #[test]
    fn basic_conversions() {
        assert_eq!(canon(b"a\nb"), b"a\r\nb");
        assert_eq!(canon(b"a\rb"), b"a\r\nb");
        assert_eq!(canon(b"a\r\n\r\n\n\rb"), b"a\r\n\r\n\r\n\r\nb");
        assert_eq!(canon(b"\n\n"), b"\r\n\r\n");
        assert_eq!(canon(b""), b"");
    }

    #[test]
    fn crlf_unchanged() {
        let mut c = Canonicalizer::new(Vec::new());
        c.write(b"a\r\nb\r\n").unwrap();
        assert!(!c.changed());
        assert!(c.ends_with_newline());
        let out = c.finish().unwrap();
        assert_eq!(out, b"a\r\nb\r\n");

        let mut c = Canonicalizer::new(Vec::new());
        c.write(b"a\nb").unwrap();
        assert!(c.changed());
        assert!(!c.ends_with_newline());
    }

    #[test]
    fn cr_lf_split_across_writes() {
        let mut c = Canonicalizer::new(Vec::new());
        c.write(b"a\r").unwrap();
        assert!(c.ends_with_newline());
        c.write(b"\nb").unwrap();
        assert!(!c.changed());
        assert_eq!(c.finish().unwrap(), b"a\r\nb");

        let mut c = Canonicalizer::new(Vec::new());
        c.write(b"a\r").unwrap();
        c.write(b"").unwrap();
        c.write(b"b").unwrap();
        assert!(c.changed());
        assert_eq!(c.finish().unwrap(), b"a\r\nb");
    }

    #[test]
    fn lone_cr_at_end() {
        let mut c = Canonicalizer::new(Vec::new());
        c.write(b"abc\r").unwrap();
        assert!(!c.changed());
        assert!(c.ends_with_newline());
        assert_eq!(c.finish().unwrap(), b"abc\r\n");
    }

    #[test]
    fn long_input_crosses_buffer() {
        let mut data = Vec::new();
        for i in 0..3000u32 {
            data.push(if i % 37 == 0 { b'\n' } else { b'x' });
        }
        for chunk in [1, 511, 512, 513, 5000] {
            assert_eq!(canon_chunked(&data, chunk).0, reference(&data));
        }
    }

    #[test]
    fn chunking_independent() {
        let mut x = 0x9e37_79b9u32;
        for len in 0..200 {
            let data: Vec<u8> = (0..len)
                .map(|_| match xorshift(&mut x) % 4 {
                    0 => b'\r',
                    1 => b'\n',
                    _ => b'x',
                })
                .collect();
            let expected = reference(&data);
            let changed = expected.len() != data.len();
            let ends = expected.ends_with(b"\r\n");
            for chunk in [1, 2, 3, 7, 64, 1000] {
                let (out, ch, en) = canon_chunked(&data, chunk);
                assert_eq!(out, expected, "{data:?} chunk {chunk}");
                assert_eq!(ch, changed, "{data:?} chunk {chunk}");
                assert_eq!(en, ends, "{data:?} chunk {chunk}");
            }
        }
    }

    #[test]
    fn embedded_io_write() {
        let mut c = Canonicalizer::new(Vec::new());
        embedded_io::Write::write_all(&mut c, b"a\nb\r").unwrap();
        embedded_io::Write::flush(&mut c).unwrap();
        assert_eq!(c.get_ref().as_slice(), b"a\r\nb");
        c.get_mut().clear();
        embedded_io::Write::write_all(&mut c, b"\n").unwrap();
        assert_eq!(c.finish().unwrap(), b"\r\n");
    }

    #[derive(Debug)]
    struct FailingSink;

    impl embedded_io::ErrorType for FailingSink {
        type Error = embedded_io::ErrorKind;
    }

    impl embedded_io::Write for FailingSink {
        fn write(&mut self, _: &[u8]) -> core::result::Result<usize, Self::Error> {
            Err(embedded_io::ErrorKind::BrokenPipe)
        }

        fn flush(&mut self) -> core::result::Result<(), Self::Error> {
            Ok(())
        }
    }

    #[test]
    fn sink_error_propagates() {
        let io = Error::new(ErrorKind::Io(embedded_io::ErrorKind::BrokenPipe));
        let mut c = Canonicalizer::new(FailingSink);
        assert_eq!(c.write(&[b'x'; 2000]).unwrap_err(), io);
        assert_eq!(c.write(b"x").unwrap_err(), Error::new(ErrorKind::InvalidState));

        let mut c = Canonicalizer::new(FailingSink);
        c.write(b"x\n").unwrap();
        assert_eq!(c.finish().unwrap_err(), io);
    }

    fn classify_chunked(data: &[u8], chunk: usize) -> BodyClass {
        let mut c = BodyClass::new();
        for part in data.chunks(chunk.max(1)) {
            c.update(part);
        }
        c
    }

    #[test]
    fn body_class_cases() {
        let c = BodyClass::new();
        assert!(c.is_7bit_safe());
        assert!(!c.has_bare_cr_or_lf());
        assert_eq!(c.max_line_len(), 0);

        let c = classify_chunked(b"hello\r\nworld\r\n", 3);
        assert!(c.is_7bit_safe() && !c.has_8bit() && !c.has_nul() && !c.has_bare_cr_or_lf());
        assert_eq!(c.max_line_len(), 5);

        let c = classify_chunked("caf\u{e9}\r\n".as_bytes(), 1);
        assert!(c.has_8bit() && !c.is_7bit_safe());

        let c = classify_chunked(b"a\0b", 1);
        assert!(c.has_nul() && !c.is_7bit_safe());

        assert!(classify_chunked(b"a\nb", 1).has_bare_cr_or_lf());
        assert!(classify_chunked(b"a\rb", 1).has_bare_cr_or_lf());
        assert!(classify_chunked(b"\n", 1).has_bare_cr_or_lf());
        assert!(!classify_chunked(b"a\r\n", 2).has_bare_cr_or_lf());

        // A trailing CR counts as bare until an LF follows.
        let mut c = BodyClass::new();
        c.update(b"a\r");
        assert!(c.has_bare_cr_or_lf());
        c.update(b"\n");
        assert!(!c.has_bare_cr_or_lf());
    }

    #[test]
    fn body_class_line_lengths() {
        let mut data = std::vec![b'a'; 998];
        data.extend_from_slice(b"\r\nbb");
        let c = classify_chunked(&data, 100);
        assert_eq!(c.max_line_len(), 998);
        assert!(c.is_7bit_safe());

        let data = std::vec![b'a'; 999];
        let c = classify_chunked(&data, 7);
        assert_eq!(c.max_line_len(), 999);
        assert!(!c.is_7bit_safe());

        // A bare CR ends a line.
        let c = classify_chunked(b"aaa\rbb\nc", 1);
        assert_eq!(c.max_line_len(), 3);
    }

    #[test]
    fn body_class_chunking_independent() {
        let mut x = 0x1357_9bdfu32;
        for len in 0..150 {
            let data: Vec<u8> = (0..len)
                .map(|_| match xorshift(&mut x) % 5 {
                    0 => b'\r',
                    1 => b'\n',
                    2 => 0x80,
                    _ => b'x',
                })
                .collect();
            let whole = classify_chunked(&data, 1000);
            let canon_bare = reference(&data).len() != data.len();
            assert_eq!(whole.has_bare_cr_or_lf(), canon_bare, "{data:?}");
            for chunk in [1, 2, 3, 5] {
                let c = classify_chunked(&data, chunk);
                assert_eq!(c.has_bare_cr_or_lf(), whole.has_bare_cr_or_lf());
                assert_eq!(c.has_8bit(), whole.has_8bit());
                assert_eq!(c.max_line_len(), whole.max_line_len());
            }
        }
    }
}
