//! Base64 Content-Transfer-Encoding (RFC 2045 §6.8) as sink adapters.
//!
//! [`Base64Encoder`] takes bytes in chunks of any size and writes base64 to
//! its sink in lines of exactly [`LINE_LEN`] characters, each ended by CRLF;
//! the last line may be shorter and is also ended by CRLF. The output does
//! not depend on how the input was chunked. Empty input gives no output.
//!
//! [`Base64Decoder`] takes base64 in chunks of any size and writes the
//! decoded bytes to its sink. White space (SP, HTAB, CR, LF) is skipped
//! anywhere; any other byte outside the standard alphabet, misplaced `=`
//! padding or data after the padding is [`MimeError::InvalidBase64`] at the
//! offset of the offending byte; input ending inside a group is
//! [`MimeError::TruncatedBase64`]. Unused low bits of the last group need
//! not be zero (mail clients are lenient there, and so is this decoder).
//!
//! Both hold a small fixed output buffer and never allocate. After an error
//! (a malformed input or a sink failure) they stay failed: further writes
//! return [`ErrorKind::InvalidState`].

use embedded_io::Write;

use crate::error::{Error, ErrorKind, MimeError, Result, io_err};

/// Line length of base64 output (RFC 2045 §6.8).
pub const LINE_LEN: usize = 76;

/// Output buffer of the encoder: 13 full lines with their CRLF, plus room.
const ENC_BUF: usize = 1026;
/// Output buffer of the decoder (a multiple of 3).
const DEC_BUF: usize = 768;

/// The standard base64 alphabet (RFC 4648 §4).
const ALPHABET: [u8; 64] = *b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks in [`DECODE`] for bytes that are not alphabet characters.
const INVALID: u8 = 0xFF;
const SPACE: u8 = 0xFE;
const PAD: u8 = 0xFD;

/// Byte → sextet value, or one of the marks above.
const DECODE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i: u8 = 0;
    while i < 64 {
        t[ALPHABET[i as usize] as usize] = i;
        i += 1;
    }
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[b'=' as usize] = PAD;
    t
};

/// The alphabet character for the low six bits of `v`.
#[inline(always)]
fn enc_char(v: u8) -> u8 {
    ALPHABET[usize::from(v & 0x3f)]
}

/// Input bytes of one full output line.
const LINE_BYTES: usize = LINE_LEN / 4 * 3;

/// Encodes one group into `dst` (four bytes).
#[inline(always)]
fn dst_group(dst: &mut [u8], a: u8, b: u8, c: u8) {
    let chars = [
        enc_char(a >> 2),
        enc_char((a << 4) | (b >> 4)),
        enc_char((b << 2) | (c >> 6)),
        enc_char(c),
    ];
    if let Some(d) = dst.get_mut(..4) {
        d.copy_from_slice(&chars);
    }
}

/// A fixed output buffer drained to a sink.
struct OutBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> OutBuf<N> {
    const fn new() -> Self {
        Self { buf: [0; N], len: 0 }
    }

    fn room(&self) -> usize {
        N.saturating_sub(self.len)
    }

    /// Appends `bytes`; the caller has made sure they fit (else nothing is
    /// appended and `false` returned).
    fn push(&mut self, bytes: &[u8]) -> bool {
        let end = self.len.saturating_add(bytes.len());
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len = end;
                true
            }
            None => false,
        }
    }

    /// Writes the buffered bytes to `sink` and empties the buffer.
    fn drain<W: Write>(&mut self, sink: &mut W) -> Result<()> {
        self.drain_raw(sink).map_err(io_err)
    }

    /// [`drain`](Self::drain), with the sink's own error.
    fn drain_raw<W: Write>(&mut self, sink: &mut W) -> core::result::Result<(), W::Error> {
        if let Some(data) = self.buf.get(..self.len)
            && !data.is_empty()
        {
            sink.write_all(data)?;
        }
        self.len = 0;
        Ok(())
    }
}

/// Base64 encoder writing 76-column CRLF lines to a sink (RFC 2045 §6.8).
///
/// Encoded output is gathered in a fixed 1026-byte buffer (13 lines) that is
/// written to the sink when full, by [`flush_buffer`](Self::flush_buffer)
/// and by [`finish`](Self::finish).
pub struct Base64Encoder<W: Write> {
    sink: W,
    out: OutBuf<ENC_BUF>,
    /// Input bytes not yet forming a complete 3-byte group.
    pending: [u8; 3],
    pending_len: usize,
    /// Characters on the current output line.
    col: usize,
    failed: bool,
}

impl<W: Write> Base64Encoder<W> {
    /// An encoder writing to `sink`.
    pub const fn new(sink: W) -> Self {
        Self { sink, out: OutBuf::new(), pending: [0; 3], pending_len: 0, col: 0, failed: false }
    }

    /// Encodes `data`. Any size and any chunking give the same output.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if the sink fails; [`ErrorKind::InvalidState`]
    /// after an earlier error.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.failed {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let r = self.encode(data);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn encode(&mut self, data: &[u8]) -> Result<()> {
        let mut rest = data;
        if self.pending_len > 0 {
            while self.pending_len < 3 {
                let Some((&b, tail)) = rest.split_first() else {
                    return Ok(());
                };
                self.push_pending(b);
                rest = tail;
            }
            let g = self.pending;
            self.pending_len = 0;
            self.group(g)?;
        }
        loop {
            if self.col == 0 && rest.len() >= LINE_BYTES {
                // A whole line straight into the output buffer.
                if self.out.room() < LINE_LEN + 2 {
                    self.out.drain(&mut self.sink)?;
                }
                let (line, tail) = rest.split_at(LINE_BYTES);
                let mut chars = [0u8; LINE_LEN + 2];
                for (dst, src) in chars.chunks_exact_mut(4).zip(line.chunks_exact(3)) {
                    if let &[a, b, c] = src {
                        dst_group(dst, a, b, c);
                    }
                }
                if let Some(end) = chars.get_mut(LINE_LEN..) {
                    end.copy_from_slice(b"\r\n");
                }
                self.out.push(&chars);
                rest = tail;
            } else if let Some((&[a, b, c], tail)) = rest.split_first_chunk::<3>() {
                self.group([a, b, c])?;
                rest = tail;
            } else {
                break;
            }
        }
        for &b in rest {
            self.push_pending(b);
        }
        Ok(())
    }

    fn push_pending(&mut self, b: u8) {
        if let Some(slot) = self.pending.get_mut(self.pending_len) {
            *slot = b;
            self.pending_len += 1;
        }
    }

    /// Appends four characters (and a CRLF at the end of a line).
    fn put_chars(&mut self, chars: [u8; 4]) -> Result<()> {
        if self.out.room() < 6 {
            self.out.drain(&mut self.sink)?;
        }
        self.out.push(&chars);
        self.col += 4;
        if self.col >= LINE_LEN {
            self.out.push(b"\r\n");
            self.col = 0;
        }
        Ok(())
    }

    fn group(&mut self, [a, b, c]: [u8; 3]) -> Result<()> {
        self.put_chars([
            enc_char(a >> 2),
            enc_char((a << 4) | (b >> 4)),
            enc_char((b << 2) | (c >> 6)),
            enc_char(c),
        ])
    }

    /// Writes out the internal output buffer: the complete groups encoded so
    /// far. The one or two input bytes of an incomplete group stay pending
    /// (they are written, padded, by [`finish`](Self::finish)). Does not
    /// flush the sink itself.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if the sink fails; [`ErrorKind::InvalidState`]
    /// after an earlier error.
    pub fn flush_buffer(&mut self) -> Result<()> {
        if self.failed {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let r = self.out.drain(&mut self.sink);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    /// Writes the last group with its `=` padding and a final CRLF if the
    /// last line is not empty, writes out the buffer, flushes the sink and
    /// returns it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if the sink fails; [`ErrorKind::InvalidState`]
    /// after an earlier error.
    pub fn finish(mut self) -> Result<W> {
        if self.failed {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        match self.pending_len {
            1 => {
                let a = self.pending[0];
                self.put_chars([enc_char(a >> 2), enc_char(a << 4), b'=', b'='])?;
            }
            2 => {
                let [a, b, _] = self.pending;
                self.put_chars([
                    enc_char(a >> 2),
                    enc_char((a << 4) | (b >> 4)),
                    enc_char(b << 2),
                    b'=',
                ])?;
            }
            _ => {}
        }
        self.pending_len = 0;
        if self.col > 0 {
            if self.out.room() < 2 {
                self.out.drain(&mut self.sink)?;
            }
            self.out.push(b"\r\n");
            self.col = 0;
        }
        self.out.drain(&mut self.sink)?;
        self.sink.flush().map_err(io_err)?;
        Ok(self.sink)
    }

    /// The sink.
    pub const fn get_ref(&self) -> &W {
        &self.sink
    }

    /// The sink, mutably.
    ///
    /// Raw bytes may be written straight to the sink only while the encoder
    /// has no buffered output, that is right after
    /// [`flush_buffer`](Self::flush_buffer) (or before any write): otherwise
    /// they would land before base64 already encoded. Bytes written this way
    /// do not count towards the current line's 76 columns.
    pub const fn get_mut(&mut self) -> &mut W {
        &mut self.sink
    }
}

impl<W: Write> embedded_io::ErrorType for Base64Encoder<W> {
    type Error = Error;
}

impl<W: Write> embedded_io::Write for Base64Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        Base64Encoder::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        self.flush_buffer()?;
        let r = self.sink.flush().map_err(io_err);
        if r.is_err() {
            self.failed = true;
        }
        r
    }
}

/// Base64 decoder writing the decoded bytes to a sink.
///
/// White space (SP, HTAB, CR, LF) is skipped anywhere. Decoded bytes are
/// gathered in a fixed 768-byte buffer written to the sink when full and by
/// [`finish`](Self::finish).
pub struct Base64Decoder<W: Write> {
    sink: W,
    out: OutBuf<DEC_BUF>,
    /// Sextets of the current group.
    quad: [u8; 4],
    qlen: usize,
    /// `=` seen in the current group.
    pad: usize,
    /// A padded group is complete: only white space may follow.
    done: bool,
    failed: bool,
    offset: u64,
    /// The sink's own error, when writing to it failed.
    sink_error: Option<W::Error>,
}

impl<W: Write> Base64Decoder<W> {
    /// A decoder writing to `sink`.
    pub const fn new(sink: W) -> Self {
        Self {
            sink,
            out: OutBuf::new(),
            quad: [0; 4],
            qlen: 0,
            pad: 0,
            done: false,
            failed: false,
            offset: 0,
            sink_error: None,
        }
    }

    /// The sink's own error behind the last [`ErrorKind::Io`] this decoder
    /// returned (the [`Error`] only carries its kind). When the sink is
    /// another stage of this crate, that is the error that matters.
    pub fn take_sink_error(&mut self) -> Option<W::Error> {
        self.sink_error.take()
    }

    fn drain_out(&mut self) -> Result<()> {
        self.out.drain_raw(&mut self.sink).map_err(|e| {
            let err = Error::new(ErrorKind::Io(embedded_io::Error::kind(&e)));
            self.sink_error = Some(e);
            err
        })
    }

    /// Decodes `data`, any size and any chunking.
    ///
    /// # Errors
    ///
    /// [`MimeError::InvalidBase64`] at the offset of a byte outside the
    /// alphabet and not white space, of a misplaced `=`, or of data after
    /// the padding; [`ErrorKind::Io`] if the sink fails;
    /// [`ErrorKind::InvalidState`] after an earlier error.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.failed {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        for &b in data {
            if let Err(e) = self.byte(b) {
                self.failed = true;
                return Err(e);
            }
            self.offset += 1;
        }
        Ok(())
    }

    fn invalid(&self) -> Error {
        Error::at(ErrorKind::Mime(MimeError::InvalidBase64), self.offset)
    }

    fn byte(&mut self, b: u8) -> Result<()> {
        match DECODE[usize::from(b)] {
            SPACE => Ok(()),
            _ if self.done => Err(self.invalid()),
            INVALID => Err(self.invalid()),
            PAD => {
                if self.pad == 0 && self.qlen < 2 {
                    return Err(self.invalid());
                }
                self.pad += 1;
                if self.qlen + self.pad >= 4 {
                    let [s0, s1, s2, _] = self.quad;
                    let bytes = [(s0 << 2) | (s1 >> 4), (s1 << 4) | (s2 >> 2)];
                    let n = self.qlen.saturating_sub(1);
                    self.emit(bytes.get(..n).unwrap_or(&[]))?;
                    self.qlen = 0;
                    self.done = true;
                }
                Ok(())
            }
            s => {
                if self.pad > 0 {
                    return Err(self.invalid());
                }
                if let Some(slot) = self.quad.get_mut(self.qlen) {
                    *slot = s;
                    self.qlen += 1;
                }
                if self.qlen == 4 {
                    let [s0, s1, s2, s3] = self.quad;
                    self.qlen = 0;
                    self.emit(&[(s0 << 2) | (s1 >> 4), (s1 << 4) | (s2 >> 2), (s2 << 6) | s3])?;
                }
                Ok(())
            }
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> Result<()> {
        if self.out.room() < bytes.len() {
            self.drain_out()?;
        }
        self.out.push(bytes);
        Ok(())
    }

    /// Ends the input: writes out the buffered bytes, flushes the sink and
    /// returns it.
    ///
    /// # Errors
    ///
    /// [`MimeError::TruncatedBase64`] (at the end offset) if the input ends
    /// inside a group: one to three characters without padding, or two
    /// characters and a single `=`; [`ErrorKind::Io`] if the sink fails;
    /// [`ErrorKind::InvalidState`] after an earlier error.
    pub fn finish(mut self) -> Result<W> {
        if self.failed {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        if !self.done && (self.qlen > 0 || self.pad > 0) {
            return Err(Error::at(ErrorKind::Mime(MimeError::TruncatedBase64), self.offset));
        }
        self.drain_out()?;
        self.sink.flush().map_err(io_err)?;
        Ok(self.sink)
    }

    /// [`finish`](Self::finish), returning a sink error as the sink's own
    /// error (for a sink that is a stage of this crate).
    pub fn finish_through(mut self) -> Result<W>
    where
        W: Write<Error = Error>,
    {
        if self.failed {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        if !self.done && (self.qlen > 0 || self.pad > 0) {
            return Err(Error::at(ErrorKind::Mime(MimeError::TruncatedBase64), self.offset));
        }
        if let Err(e) = self.drain_out() {
            return Err(self.take_sink_error().unwrap_or(e));
        }
        self.sink.flush()?;
        Ok(self.sink)
    }

    /// The sink.
    pub const fn get_ref(&self) -> &W {
        &self.sink
    }

    /// The sink, mutably. Decoded bytes may still be buffered in the decoder.
    pub const fn get_mut(&mut self) -> &mut W {
        &mut self.sink
    }

    /// Bytes of encoded input consumed so far (after an input error: the
    /// offset of the offending byte).
    pub const fn offset(&self) -> u64 {
        self.offset
    }
}

impl<W: Write> embedded_io::ErrorType for Base64Decoder<W> {
    type Error = Error;
}

impl<W: Write> embedded_io::Write for Base64Decoder<W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        Base64Decoder::write(self, buf)?;
        Ok(buf.len())
    }

    /// Writes out the buffered decoded bytes and flushes the sink (a partial
    /// group stays pending).
    fn flush(&mut self) -> Result<()> {
        if self.failed {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let r = self.out.drain(&mut self.sink).and_then(|()| self.sink.flush().map_err(io_err));
        if r.is_err() {
            self.failed = true;
        }
        r
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation, reason = "tests")]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    /// One-shot reference encoder (RFC 4648 + 76-column CRLF lines).
    fn reference(data: &[u8]) -> Vec<u8> {
        let mut chars = Vec::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    chars.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]);
                } else {
                    chars.push(b'=');
                }
            }
        }
        let mut out = Vec::new();
        for line in chars.chunks(LINE_LEN) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    fn encode_chunked(data: &[u8], chunk: usize) -> Vec<u8> {
        let mut enc = Base64Encoder::new(Vec::new());
        for c in data.chunks(chunk) {
            enc.write(c).unwrap();
        }
        enc.finish().unwrap()
    }

    fn decode_chunked(data: &[u8], chunk: usize) -> Result<Vec<u8>> {
        let mut dec = Base64Decoder::new(Vec::new());
        for c in data.chunks(chunk.max(1)) {
            dec.write(c)?;
        }
        dec.finish()
    }

    fn decode(data: &[u8]) -> Result<Vec<u8>> {
        decode_chunked(data, data.len())
    }

    fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect()
    }

    fn err_at(kind: MimeError, pos: u64) -> Error {
        Error::at(ErrorKind::Mime(kind), pos)
    }

    #[test]
    fn rfc4648_vectors() {
        let v: [(&[u8], &[u8]); 7] = [
            (b"", b""),
            (b"f", b"Zg==\r\n"),
            (b"fo", b"Zm8=\r\n"),
            (b"foo", b"Zm9v\r\n"),
            (b"foob", b"Zm9vYg==\r\n"),
            (b"fooba", b"Zm9vYmE=\r\n"),
            (b"foobar", b"Zm9vYmFy\r\n"),
        ];
        for (plain, enc) in v {
            assert_eq!(encode_chunked(plain, 1), enc);
            assert_eq!(encode_chunked(plain, 100), enc);
            assert_eq!(decode(enc).unwrap(), plain);
            assert_eq!(decode(enc.strip_suffix(b"\r\n").unwrap_or(enc)).unwrap(), plain);
        }
    }

    #[test]
    fn empty_input_gives_nothing() {
        let enc = Base64Encoder::new(Vec::new());
        assert!(enc.finish().unwrap().is_empty());
        let mut enc = Base64Encoder::new(Vec::new());
        enc.write(b"").unwrap();
        assert!(enc.finish().unwrap().is_empty());
        assert!(decode(b"").unwrap().is_empty());
        assert!(decode(b" \r\n\t").unwrap().is_empty());
    }

    #[test]
    fn lines_of_76() {
        let data = pseudo_random(57 * 3, 7);
        let out = encode_chunked(&data, 10);
        assert_eq!(out.len(), 3 * 78);
        for line in out.chunks(78) {
            assert_eq!(&line[76..], b"\r\n");
            assert!(!line[..76].contains(&b'\r'));
        }
        // One more byte: a short fourth line.
        let data = pseudo_random(57 * 3 + 1, 7);
        let out = encode_chunked(&data, 10);
        assert_eq!(out.len(), 3 * 78 + 6);
        assert!(out.ends_with(b"==\r\n"));
        assert_eq!(out, reference(&data));
    }

    #[test]
    fn round_trip_chunking_independent() {
        let enc_chunks = [1, 2, 3, 7, 57, 1000];
        let dec_chunks = [1, 4, 5, 13, 78, 4096];
        for len in 0..300 {
            let data = pseudo_random(len, 0x1234_5678 ^ len as u32);
            let expected = reference(&data);
            for (i, &ec) in enc_chunks.iter().enumerate() {
                let enc = encode_chunked(&data, ec);
                assert_eq!(enc, expected, "len {len} chunk {ec}");
                let dc = dec_chunks[(i + len) % dec_chunks.len()];
                assert_eq!(decode_chunked(&enc, dc).unwrap(), data, "len {len} chunk {dc}");
            }
        }
    }

    #[test]
    fn large_input_crosses_buffers() {
        let data = pseudo_random(10_000, 99);
        let enc = encode_chunked(&data, 1000);
        assert_eq!(enc, reference(&data));
        assert_eq!(decode_chunked(&enc, 333).unwrap(), data);
        assert_eq!(decode_chunked(&enc, 1).unwrap(), data);
    }

    #[test]
    fn flush_buffer_and_get_mut() {
        let mut enc = Base64Encoder::new(Vec::new());
        enc.write(b"foob").unwrap();
        enc.flush_buffer().unwrap();
        assert_eq!(enc.get_ref().as_slice(), b"Zm9v");
        enc.write(b"ar").unwrap();
        enc.flush_buffer().unwrap();
        enc.get_mut().extend_from_slice(b"");
        assert_eq!(enc.finish().unwrap(), b"Zm9vYmFy\r\n");

        let mut enc = Base64Encoder::new(Vec::new());
        embedded_io::Write::write_all(&mut enc, b"foobar").unwrap();
        embedded_io::Write::flush(&mut enc).unwrap();
        assert_eq!(enc.get_ref().as_slice(), b"Zm9vYmFy");
    }

    #[test]
    fn decoder_tolerates_white_space() {
        assert_eq!(decode(b" Zm9v\r\nYm\tFy \r\n").unwrap(), b"foobar");
        assert_eq!(decode(b"Zm9vYg=\r\n=\r\n").unwrap(), b"foob");
        assert_eq!(decode(b"Z m 9 v Y g = = ").unwrap(), b"foob");
        assert_eq!(decode(b"Zm9vYmE=\r\n\r\n  ").unwrap(), b"fooba");
    }

    #[test]
    fn decoder_lenient_unused_bits() {
        // "Zh==" has non-zero unused bits; decodes to 'f'.
        assert_eq!(decode(b"Zh==").unwrap(), b"f");
        assert_eq!(decode(b"Zm9=").unwrap(), b"fo");
    }

    #[test]
    fn decoder_invalid_char_position() {
        assert_eq!(decode(b"Zm9v*mFy").unwrap_err(), err_at(MimeError::InvalidBase64, 4));
        assert_eq!(decode(b"Zm9v\r\nYm-y").unwrap_err(), err_at(MimeError::InvalidBase64, 8));
        // Position counts across chunks.
        let e = decode_chunked(b"Zm9vYmFy\r\nZm9v\0", 3).unwrap_err();
        assert_eq!(e, err_at(MimeError::InvalidBase64, 14));
        // URL-safe alphabet characters are not standard.
        assert_eq!(decode(b"Zm_v").unwrap_err(), err_at(MimeError::InvalidBase64, 2));
    }

    #[test]
    fn decoder_data_after_padding() {
        assert_eq!(decode(b"Zg==Zg==").unwrap_err(), err_at(MimeError::InvalidBase64, 4));
        assert_eq!(decode(b"Zm8=\r\nA").unwrap_err(), err_at(MimeError::InvalidBase64, 6));
        assert_eq!(decode(b"Zm8==").unwrap_err(), err_at(MimeError::InvalidBase64, 4));
        assert_eq!(decode(b"Zg=A").unwrap_err(), err_at(MimeError::InvalidBase64, 3));
    }

    #[test]
    fn decoder_misplaced_padding() {
        assert_eq!(decode(b"=AAA").unwrap_err(), err_at(MimeError::InvalidBase64, 0));
        assert_eq!(decode(b"A===").unwrap_err(), err_at(MimeError::InvalidBase64, 1));
        assert_eq!(decode(b"Zm9v=AAA").unwrap_err(), err_at(MimeError::InvalidBase64, 4));
        assert_eq!(decode(b"Zm9vZ=").unwrap_err(), err_at(MimeError::InvalidBase64, 5));
    }

    #[test]
    fn decoder_truncated() {
        assert_eq!(decode(b"Z").unwrap_err(), err_at(MimeError::TruncatedBase64, 1));
        assert_eq!(decode(b"Zm").unwrap_err(), err_at(MimeError::TruncatedBase64, 2));
        assert_eq!(decode(b"Zm9vYmF\r\n").unwrap_err(), err_at(MimeError::TruncatedBase64, 9));
        assert_eq!(decode(b"Zg=").unwrap_err(), err_at(MimeError::TruncatedBase64, 3));
    }

    #[test]
    fn decoder_stays_failed() {
        let mut dec = Base64Decoder::new(Vec::new());
        dec.write(b"Zm9v").unwrap();
        assert_eq!(dec.offset(), 4);
        assert!(dec.write(b"!").is_err());
        assert_eq!(dec.offset(), 4);
        assert_eq!(dec.write(b"Zm9v").unwrap_err(), Error::new(ErrorKind::InvalidState));
        assert_eq!(dec.finish().unwrap_err(), Error::new(ErrorKind::InvalidState));
    }

    #[test]
    fn decoder_embedded_io_write() {
        let mut dec = Base64Decoder::new(Vec::new());
        embedded_io::Write::write_all(&mut dec, b"Zm9vYm").unwrap();
        embedded_io::Write::flush(&mut dec).unwrap();
        assert_eq!(dec.get_ref().as_slice(), b"foo");
        dec.get_mut().clear();
        embedded_io::Write::write_all(&mut dec, b"Fy").unwrap();
        assert_eq!(dec.finish().unwrap(), b"bar");
    }

    /// A sink that accepts `limit` bytes and then fails.
    #[derive(Debug)]
    struct FailingSink {
        limit: usize,
    }

    impl embedded_io::ErrorType for FailingSink {
        type Error = embedded_io::ErrorKind;
    }

    impl embedded_io::Write for FailingSink {
        fn write(&mut self, buf: &[u8]) -> core::result::Result<usize, Self::Error> {
            if self.limit == 0 {
                return Err(embedded_io::ErrorKind::BrokenPipe);
            }
            let n = buf.len().min(self.limit);
            self.limit -= n;
            Ok(n)
        }

        fn flush(&mut self) -> core::result::Result<(), Self::Error> {
            Ok(())
        }
    }

    #[test]
    fn sink_errors_propagate() {
        let io = Error::new(ErrorKind::Io(embedded_io::ErrorKind::BrokenPipe));
        let data = pseudo_random(5000, 3);

        let mut enc = Base64Encoder::new(FailingSink { limit: 100 });
        assert_eq!(enc.write(&data).unwrap_err(), io);
        assert_eq!(enc.write(b"x").unwrap_err(), Error::new(ErrorKind::InvalidState));

        let enc = Base64Encoder::new(FailingSink { limit: 0 });
        let mut enc = enc;
        enc.write(b"foo").unwrap();
        assert_eq!(enc.finish().unwrap_err(), io);

        let encoded = reference(&data);
        let mut dec = Base64Decoder::new(FailingSink { limit: 100 });
        let e = dec.write(&encoded).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io(embedded_io::ErrorKind::BrokenPipe));
        assert_eq!(dec.write(b"Zm9v").unwrap_err(), Error::new(ErrorKind::InvalidState));

        let mut dec = Base64Decoder::new(FailingSink { limit: 0 });
        dec.write(b"Zm9v").unwrap();
        assert_eq!(dec.finish().unwrap_err(), io);
    }
}
