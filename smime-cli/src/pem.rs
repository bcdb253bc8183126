//! PEM (RFC 7468) for messages, streaming both ways, and for small files.
//!
//! - [`PemWriter`] wraps a `std::io::Write` and base64-encodes what passes
//!   through it, 64 columns a line, between `-----BEGIN <label>-----` and
//!   `-----END <label>-----`. It holds one line of input (48 bytes).
//! - [`PemDecoder`] is a push decoder: it takes PEM text in chunks of any size
//!   and hands the decoded bytes to a callback. It holds one line of the
//!   BEGIN/END boundary, a 4-character base64 quantum and a 48 KiB output
//!   buffer; message size does not change its memory.
//! - [`decode_file`] finds one PEM block with a given label in a small file
//!   (certificates, keys) and returns its DER.
//!
//! ```
//! use std::io::Write;
//! use smime_cli::pem::{PemDecoder, PemWriter};
//!
//! let mut w = PemWriter::new(Vec::new(), "CMS");
//! w.write_all(b"any bytes")?;
//! let text = w.finish()?;
//! assert_eq!(text, b"-----BEGIN CMS-----\nYW55IGJ5dGVz\n-----END CMS-----\n");
//!
//! let mut back = Vec::new();
//! let mut d = PemDecoder::new();
//! for chunk in text.chunks(5) {
//!     d.feed(chunk, |bytes: &[u8]| -> smime_cli::Result<()> {
//!         back.extend_from_slice(bytes);
//!         Ok(())
//!     })?;
//! }
//! d.finish()?;
//! assert_eq!(back, b"any bytes");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Write};

use base64ct::{Base64, Encoding};

use crate::error::{Error, Result};

/// Input bytes per PEM line (64 base64 characters).
const LINE_BYTES: usize = 48;
/// Base64 characters per PEM line.
const LINE_CHARS: usize = 64;

/// Streaming PEM encoder over a `std::io::Write`.
///
/// Call [`PemWriter::finish`] at the end: it writes the last line and the END
/// boundary and gives the inner writer back.
#[derive(Debug)]
pub struct PemWriter<W: Write> {
    inner: W,
    label: &'static str,
    buf: [u8; LINE_BYTES],
    len: usize,
    started: bool,
}

impl<W: Write> PemWriter<W> {
    /// A writer producing a PEM block labelled `label` (`"CMS"` for messages).
    pub fn new(inner: W, label: &'static str) -> Self {
        Self {
            inner,
            label,
            buf: [0; LINE_BYTES],
            len: 0,
            started: false,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            writeln!(self.inner, "-----BEGIN {}-----", self.label)?;
        }
        Ok(())
    }

    fn line(inner: &mut W, bytes: &[u8]) -> io::Result<()> {
        let mut chars = [0u8; LINE_CHARS + 1];
        let n = Base64::encode(bytes, &mut chars[..LINE_CHARS])
            .map_err(|_| io::Error::other("base64 line too long"))?
            .len();
        chars[n] = b'\n';
        inner.write_all(&chars[..=n])
    }

    /// Writes the last line and the END boundary; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.start()?;
        if self.len > 0 {
            Self::line(&mut self.inner, &self.buf[..self.len])?;
            self.len = 0;
        }
        writeln!(self.inner, "-----END {}-----", self.label)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for PemWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.start()?;
        let mut rest = data;
        if self.len > 0 {
            let take = (LINE_BYTES - self.len).min(rest.len());
            self.buf[self.len..self.len + take].copy_from_slice(&rest[..take]);
            self.len += take;
            rest = &rest[take..];
            if self.len < LINE_BYTES {
                return Ok(data.len());
            }
            Self::line(&mut self.inner, &self.buf)?;
            self.len = 0;
        }
        let mut lines = rest.chunks_exact(LINE_BYTES);
        for l in &mut lines {
            Self::line(&mut self.inner, l)?;
        }
        let tail = lines.remainder();
        self.buf[..tail.len()].copy_from_slice(tail);
        self.len = tail.len();
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Longest BEGIN/END boundary line kept (longer ones are an error).
const MAX_BOUNDARY: usize = 128;
/// Decoded bytes collected before they are handed on.
const OUT_CHUNK: usize = 48 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the BEGIN line: text is ignored, lines are checked for BEGIN.
    Preamble,
    /// Base64 body.
    Body,
    /// Reading the END line.
    End,
    /// After the END line: anything is ignored.
    Done,
}

/// Streaming PEM decoder for messages labelled `CMS` or `PKCS7`.
#[derive(Debug)]
pub struct PemDecoder {
    state: State,
    line: [u8; MAX_BOUNDARY],
    line_len: usize,
    line_too_long: bool,
    label: [u8; MAX_BOUNDARY],
    label_len: usize,
    at_line_start: bool,
    quantum: [u8; 4],
    qlen: usize,
    padded: bool,
    out: Vec<u8>,
    line_no: u64,
}

/// The labels accepted on message input.
pub const MESSAGE_LABELS: [&str; 2] = ["CMS", "PKCS7"];

impl Default for PemDecoder {
    fn default() -> Self {
        Self::new()
    }
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

impl PemDecoder {
    /// A decoder expecting a `CMS` or `PKCS7` block.
    pub fn new() -> Self {
        Self {
            state: State::Preamble,
            line: [0; MAX_BOUNDARY],
            line_len: 0,
            line_too_long: false,
            label: [0; MAX_BOUNDARY],
            label_len: 0,
            at_line_start: true,
            quantum: [0; 4],
            qlen: 0,
            padded: false,
            out: Vec::with_capacity(OUT_CHUNK),
            line_no: 1,
        }
    }

    fn err(&self, what: impl std::fmt::Display) -> Error {
        Error::msg(format_args!("PEM input, line {}: {what}", self.line_no))
    }

    fn push_line_byte(&mut self, b: u8) {
        if self.line_len < MAX_BOUNDARY {
            self.line[self.line_len] = b;
            self.line_len += 1;
        } else {
            self.line_too_long = true;
        }
    }

    fn end_preamble_line(&mut self) -> Result<()> {
        let line = trim(&self.line[..self.line_len]);
        if !self.line_too_long
            && let Some(rest) = line.strip_prefix(b"-----BEGIN ")
            && let Some(label) = rest.strip_suffix(b"-----")
        {
            if !MESSAGE_LABELS.iter().any(|l| l.as_bytes() == label) {
                return Err(self.err(format_args!(
                    "unexpected PEM label '{}' (expected CMS or PKCS7)",
                    String::from_utf8_lossy(label)
                )));
            }
            self.label[..label.len()].copy_from_slice(label);
            self.label_len = label.len();
            self.state = State::Body;
            self.at_line_start = true;
        }
        self.line_len = 0;
        self.line_too_long = false;
        Ok(())
    }

    fn end_end_line(&mut self) -> Result<()> {
        if self.line_too_long {
            return Err(self.err("malformed PEM END line"));
        }
        let line = trim(&self.line[..self.line_len]);
        let label = &self.label[..self.label_len];
        let ok = line
            .strip_prefix(b"-----END ")
            .and_then(|r| r.strip_suffix(b"-----"))
            .is_some_and(|l| l == label);
        if !ok {
            return Err(self.err(format_args!(
                "expected '-----END {}-----'",
                String::from_utf8_lossy(label)
            )));
        }
        if self.qlen != 0 {
            return Err(self.err("base64 data ends in the middle of a group"));
        }
        self.state = State::Done;
        Ok(())
    }

    fn quantum_done<E>(&mut self, sink: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E>
    where
        E: From<Error>,
    {
        let q = self.quantum;
        let pads = q.iter().filter(|&&c| c == b'=').count();
        let v = |c: u8| b64_value(c).unwrap_or(0);
        let bits = (u32::from(v(q[0])) << 18)
            | (u32::from(v(q[1])) << 12)
            | (u32::from(v(q[2])) << 6)
            | u32::from(v(q[3]));
        let bytes = bits.to_be_bytes();
        let n = 3 - pads;
        self.out.extend_from_slice(&bytes[1..=n]);
        self.qlen = 0;
        if self.out.len() >= OUT_CHUNK {
            sink(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    /// Decodes complete groups of four base64 characters (no padding).
    fn decode_groups<E: From<Error>>(
        &mut self,
        groups: &[u8],
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        for g in groups.chunks_exact(4) {
            let v = |c: u8| u32::from(b64_value(c).unwrap_or(0));
            let bits = (v(g[0]) << 18) | (v(g[1]) << 12) | (v(g[2]) << 6) | v(g[3]);
            self.out.extend_from_slice(&bits.to_be_bytes()[1..]);
            if self.out.len() >= OUT_CHUNK {
                sink(&self.out)?;
                self.out.clear();
            }
        }
        Ok(())
    }

    /// Feeds PEM text; decoded bytes go to `sink` (in chunks of up to 48 KiB).
    pub fn feed<E: From<Error>>(
        &mut self,
        input: &[u8],
        mut sink: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut i = 0;
        while i < input.len() {
            // Fast path: whole groups of base64 characters in the body.
            if self.state == State::Body && self.qlen == 0 && !self.padded {
                let run = input[i..]
                    .iter()
                    .take_while(|&&c| b64_value(c).is_some())
                    .count();
                let whole = run / 4 * 4;
                if whole > 0 {
                    self.decode_groups(&input[i..i + whole], &mut sink)?;
                    self.at_line_start = false;
                    i += whole;
                    continue;
                }
            }
            let b = input[i];
            i += 1;
            match self.state {
                State::Preamble => {
                    if b == b'\n' {
                        self.end_preamble_line()?;
                        self.line_no += 1;
                    } else {
                        self.push_line_byte(b);
                    }
                }
                State::Body => match b {
                    b'\n' => {
                        self.at_line_start = true;
                        self.line_no += 1;
                    }
                    b'\r' | b' ' | b'\t' => {}
                    b'-' if self.at_line_start => {
                        self.state = State::End;
                        self.line_len = 0;
                        self.push_line_byte(b);
                    }
                    b'=' => {
                        // Padding: only in the last two places of a group.
                        if self.qlen < 2 {
                            return Err(self.err("misplaced base64 padding").into());
                        }
                        self.quantum[self.qlen] = b;
                        self.qlen += 1;
                        self.padded = true;
                        self.at_line_start = false;
                        if self.qlen == 4 {
                            self.quantum_done(&mut sink)?;
                        }
                    }
                    _ => {
                        if b64_value(b).is_none() {
                            return Err(self
                                .err(format_args!("invalid base64 character 0x{b:02x}"))
                                .into());
                        }
                        if self.padded {
                            return Err(self.err("base64 data after padding").into());
                        }
                        self.quantum[self.qlen] = b;
                        self.qlen += 1;
                        self.at_line_start = false;
                        if self.qlen == 4 {
                            self.quantum_done(&mut sink)?;
                        }
                    }
                },
                State::End => {
                    if b == b'\n' {
                        self.end_end_line()?;
                        self.line_no += 1;
                    } else {
                        self.push_line_byte(b);
                    }
                }
                State::Done => {}
            }
        }
        if !self.out.is_empty() {
            sink(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    /// Checks that the input held a complete PEM block.
    pub fn finish(mut self) -> Result<()> {
        match self.state {
            State::Done => Ok(()),
            State::End => self.end_end_line(),
            State::Preamble => {
                // A BEGIN line without a final newline is still only a start.
                Err(Error::msg("PEM input: no '-----BEGIN CMS-----' line found"))
            }
            State::Body => Err(self.err("PEM input ended before its END line (truncated)")),
        }
    }
}

/// Whether `data` looks like PEM text (starts, after whitespace, with `-----`).
pub fn looks_like_pem(data: &[u8]) -> bool {
    trim(data).starts_with(b"-----")
}

/// Finds the first PEM block labelled with one of `labels` in `data` and
/// returns its label and decoded bytes. Text around the block is ignored.
pub fn decode_file<'l>(data: &[u8], labels: &[&'l str]) -> Result<(&'l str, Vec<u8>)> {
    let mut found_other: Option<String> = None;
    let mut pos = 0;
    while let Some(start) = find(&data[pos..], b"-----BEGIN ") {
        let begin = pos + start;
        let after = begin + b"-----BEGIN ".len();
        let Some(label_end) = find(&data[after..], b"-----") else {
            break;
        };
        let label = &data[after..after + label_end];
        pos = after + label_end;
        if let Some(&l) = labels.iter().find(|l| l.as_bytes() == label) {
            let end_marker = format!("-----END {l}-----");
            let Some(end) = find(&data[pos..], end_marker.as_bytes()) else {
                return Err(Error::msg(format_args!("PEM block '{l}' has no END line")));
            };
            let block = &data[begin..pos + end + end_marker.len()];
            let (_, der) = pem_rfc7468::decode_vec(block)
                .map_err(|e| Error::msg(format_args!("malformed PEM block '{l}': {e}")))?;
            return Ok((l, der));
        }
        if found_other.is_none() {
            found_other = Some(String::from_utf8_lossy(label).into_owned());
        }
    }
    Err(match found_other {
        Some(other) => Error::msg(format_args!(
            "PEM block '{other}' found, expected {}",
            labels.join(" or ")
        )),
        None => Error::msg("no PEM block found"),
    })
}

/// Every PEM block in `data`, in order: its label and decoded bytes. Text
/// around and between the blocks is ignored.
pub fn decode_blocks(data: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut blocks = Vec::new();
    let mut pos = 0;
    while let Some(start) = find(&data[pos..], b"-----BEGIN ") {
        let begin = pos + start;
        let after = begin + b"-----BEGIN ".len();
        let Some(label_end) = find(&data[after..], b"-----") else {
            break;
        };
        let label = String::from_utf8_lossy(&data[after..after + label_end]).into_owned();
        let end_marker = format!("-----END {label}-----");
        let body = after + label_end;
        let Some(end) = find(&data[body..], end_marker.as_bytes()) else {
            return Err(Error::msg(format_args!(
                "PEM block '{label}' has no END line"
            )));
        };
        let stop = body + end + end_marker.len();
        let (_, der) = pem_rfc7468::decode_vec(&data[begin..stop])
            .map_err(|e| Error::msg(format_args!("malformed PEM block '{label}': {e}")))?;
        blocks.push((label, der));
        pos = stop;
    }
    Ok(blocks)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn encode(data: &[u8], chunk: usize) -> String {
        let mut w = PemWriter::new(Vec::new(), "CMS");
        for c in data.chunks(chunk.max(1)) {
            w.write_all(c).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    fn decode(text: &[u8], chunk: usize) -> Result<Vec<u8>> {
        let mut d = PemDecoder::new();
        let mut out = Vec::new();
        for c in text.chunks(chunk.max(1)) {
            d.feed(c, |b: &[u8]| -> Result<()> {
                out.extend_from_slice(b);
                Ok(())
            })?;
        }
        d.finish()?;
        Ok(out)
    }

    #[test]
    fn round_trip_matches_pem_rfc7468() {
        for len in [0usize, 1, 2, 3, 47, 48, 49, 95, 96, 97, 1000, 10_000] {
            let data: Vec<u8> = (0..len)
                .map(|i| u8::try_from((i * 7 + 3) % 251).unwrap())
                .collect();
            for chunk in [1, 5, 48, 4096] {
                let pem = encode(&data, chunk);
                let reference =
                    pem_rfc7468::encode_string("CMS", pem_rfc7468::LineEnding::LF, &data).unwrap();
                if len > 0 {
                    // (pem-rfc7468 writes an empty line for empty input.)
                    assert_eq!(pem, reference, "len {len}");
                }
                assert!(pem.lines().all(|l| l.len() <= 64));
                for dchunk in [1, 3, 64, 100_000] {
                    assert_eq!(decode(pem.as_bytes(), dchunk).unwrap(), data);
                }
            }
        }
    }

    #[test]
    fn decoder_accepts_crlf_preamble_and_pkcs7() {
        let data = b"hello world, this is CMS";
        let pem = encode(data, 100)
            .replace('\n', "\r\n")
            .replace("CMS-----", "PKCS7-----");
        let text = format!("some header text\r\n\r\n{pem}trailing text");
        assert_eq!(decode(text.as_bytes(), 7).unwrap(), data);
    }

    #[test]
    fn decoder_rejects_bad_input() {
        let pem = encode(b"abcdefgh", 100);
        // Truncated: no END line.
        let cut = &pem.as_bytes()[..pem.len() - 20];
        assert!(decode(cut, 10).unwrap_err().message().contains("truncated"));
        // Bad character.
        let bad = pem.replacen("YWJj", "YW*j", 1);
        assert!(
            decode(bad.as_bytes(), 10)
                .unwrap_err()
                .message()
                .contains("invalid base64")
        );
        // Wrong END label.
        let bad = pem.replace("END CMS", "END PKCS7");
        assert!(decode(bad.as_bytes(), 10).is_err());
        // Other label.
        let bad = pem.replace("CMS", "CERTIFICATE");
        assert!(
            decode(bad.as_bytes(), 10)
                .unwrap_err()
                .message()
                .contains("CERTIFICATE")
        );
        // No PEM at all.
        assert!(decode(b"just text\n", 10).is_err());
        // Padding in the middle.
        let bad = pem.replacen("YWJj", "Y=Jj", 1);
        assert!(decode(bad.as_bytes(), 10).is_err());
    }

    #[test]
    fn decode_file_finds_block_among_others() {
        let key =
            pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, b"k").unwrap();
        let cert =
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, b"c1").unwrap();
        let text = format!("Bag Attributes\n{key}subject=foo\n{cert}");
        let (l, der) = decode_file(text.as_bytes(), &["CERTIFICATE"]).unwrap();
        assert_eq!((l, der.as_slice()), ("CERTIFICATE", &b"c1"[..]));
        let e = decode_file(key.as_bytes(), &["CERTIFICATE"]).unwrap_err();
        assert!(e.message().contains("PRIVATE KEY"), "{e}");
    }
}
