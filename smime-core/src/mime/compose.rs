//! Producing S/MIME messages (RFC 8551 §3.3–3.5): the MIME around the CMS.
//!
//! The pieces compose as sink adapters, outermost first:
//!
//! ```text
//! signed (multipart/signed):     outer headers ─► MultipartSignedWriter ─► sink
//! enveloped (pkcs7-mime):         outer headers ─► pkcs7-mime header ─► Base64Encoder
//!                                     ◄─ EnvelopedDataEncoder ◄─ Canonicalizer ◄─ entity
//! signed, then encrypted:         outer headers ─► pkcs7-mime header ─► Base64Encoder
//!                                     ◄─ EnvelopedDataEncoder ◄─ MultipartSignedWriter ◄─ entity
//! ```
//!
//! [`MessageSplitter`] takes an RFC 5322 message apart: the header fields
//! that describe the mail (From, To, Subject, Date, Message-ID, ...) stay
//! outside, written at once to the outer sink; the `Content-*` fields go
//! with the body into the protected entity.

use embedded_io::Write;
use rand_core::TryCryptoRng;

use super::MAX_BOUNDARY;
use super::base64::Base64Encoder;
use super::canon::{Canonicalizer, Piece, canonicalise};
use super::header::{
    ContentType, HeaderEvent, HeaderReader, TransferEncoding, addresses, is_content_field,
};
use crate::backend::{HashAlgorithm, Signer};
use crate::cms::{SignOptions, SignedDataEncoder};
use crate::error::{Error, ErrorKind, MimeError, Result, io_err};

/// The `smime-type` parameter of `application/pkcs7-mime` (RFC 8551 §3.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmimeType {
    /// `signed-data`: opaque SignedData with the content inside.
    SignedData,
    /// `enveloped-data`: EnvelopedData.
    EnvelopedData,
    /// `authEnveloped-data`: AuthEnvelopedData (RFC 8551 §3.2.2).
    AuthEnvelopedData,
    /// `certs-only`: a SignedData that only carries certificates.
    CertsOnly,
    /// `compressed-data`: CompressedData (RFC 3274).
    CompressedData,
}

impl SmimeType {
    /// The parameter value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignedData => "signed-data",
            Self::EnvelopedData => "enveloped-data",
            Self::AuthEnvelopedData => "authEnveloped-data",
            Self::CertsOnly => "certs-only",
            Self::CompressedData => "compressed-data",
        }
    }

    /// Parses a parameter value (case-insensitively); `None` when unknown.
    pub fn parse(value: &[u8]) -> Option<Self> {
        [
            Self::SignedData,
            Self::EnvelopedData,
            Self::AuthEnvelopedData,
            Self::CertsOnly,
            Self::CompressedData,
        ]
        .into_iter()
        .find(|t| value.eq_ignore_ascii_case(t.as_str().as_bytes()))
    }

    /// The file name the part is given (`smime.p7m`, or `smime.p7c` for
    /// certificates only; RFC 8551 §3.2.1).
    pub const fn file_name(self) -> &'static str {
        match self {
            Self::CertsOnly => "smime.p7c",
            _ => "smime.p7m",
        }
    }
}

/// The `micalg` name of a digest algorithm (RFC 8551 §3.5.3.2).
pub const fn micalg(h: HashAlgorithm) -> &'static str {
    match h {
        HashAlgorithm::Sha1 => "sha-1",
        HashAlgorithm::Sha256 => "sha-256",
        HashAlgorithm::Sha384 => "sha-384",
        HashAlgorithm::Sha512 => "sha-512",
    }
}

/// Parses one `micalg` name (also the forms without hyphen that some clients
/// write); `None` for others (md5, unknown).
pub fn parse_micalg(name: &[u8]) -> Option<HashAlgorithm> {
    let n = trim(name);
    HashAlgorithm::ALL.into_iter().find(|h| {
        let m = micalg(*h).as_bytes();
        n.eq_ignore_ascii_case(m)
            || (n.len() + 1 == m.len()
                && n.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(b"sha"))
                && n.get(3..) == m.get(4..))
    })
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() || *first == b'"' {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() || *last == b'"' {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Longest From address kept.
pub const MAX_ADDRESS: usize = 320;

pub(crate) fn hash_index(h: HashAlgorithm) -> usize {
    match h {
        HashAlgorithm::Sha1 => 0,
        HashAlgorithm::Sha256 => 1,
        HashAlgorithm::Sha384 => 2,
        HashAlgorithm::Sha512 => 3,
    }
}

/// Length of a generated boundary.
const BOUNDARY_LEN: usize = 36;
const BOUNDARY_PREFIX: &[u8] = b"----smime-";

/// A multipart boundary that cannot occur in base64 or in ordinary text: a
/// fixed prefix and 104 random bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boundary {
    bytes: [u8; BOUNDARY_LEN],
}

impl Boundary {
    /// A fresh random boundary.
    pub fn random<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut bytes = [b'-'; BOUNDARY_LEN];
        let mut random = [0u8; BOUNDARY_LEN];
        rng.try_fill_bytes(&mut random).map_err(|_| Error::new(ErrorKind::Rng))?;
        for (i, (b, r)) in bytes.iter_mut().zip(random).enumerate() {
            *b = match BOUNDARY_PREFIX.get(i) {
                Some(p) => *p,
                None => ALPHABET.get(usize::from(r & 31)).copied().unwrap_or(b'A'),
            };
        }
        Ok(Self { bytes })
    }

    /// The boundary's characters.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn put<W: Write>(sink: &mut W, bytes: &[u8]) -> Result<()> {
    sink.write_all(bytes).map_err(io_err)
}

/// Writes the header of an `application/pkcs7-mime` entity with base64
/// transfer encoding, up to and including the empty line; the base64 body
/// follows (a [`Base64Encoder`] over the same sink).
pub fn write_pkcs7_mime_header<W: Write>(sink: &mut W, smime_type: SmimeType) -> Result<()> {
    let name = smime_type.file_name();
    put(sink, b"Content-Type: application/pkcs7-mime; smime-type=")?;
    put(sink, smime_type.as_str().as_bytes())?;
    put(sink, b";\r\n\tname=\"")?;
    put(sink, name.as_bytes())?;
    put(sink, b"\"\r\nContent-Transfer-Encoding: base64\r\n")?;
    put(sink, b"Content-Disposition: attachment; filename=\"")?;
    put(sink, name.as_bytes())?;
    put(sink, b"\"\r\n\r\n")
}

/// Streaming `multipart/signed` writer (RFC 8551 §3.5.3): the entity goes
/// out as its first part, canonicalised to CRLF line ends as it passes, and
/// is hashed at the same time; `finish` signs and writes the detached
/// SignedData as the base64 `smime.p7s` second part.
///
/// Write the outer header fields (and `MIME-Version: 1.0`) to the sink
/// before [`new`](Self::new), which writes the Content-Type field, the empty
/// line, a preamble and the first delimiter. The entity written then must be
/// a MIME entity (its header fields, an empty line, its body) that is
/// 7-bit safe or in a transfer encoding that makes it so: a signed part must
/// survive mail transport unchanged (RFC 8551 §3.1.3). Line ends are made
/// CRLF; nothing else is changed.
pub struct MultipartSignedWriter<'k, 's, S: Signer, W: Write> {
    enc: SignedDataEncoder<'k, 's, S, Base64Encoder<W>>,
    boundary: Boundary,
    /// The last entity byte was a CR.
    pending_cr: bool,
    poisoned: bool,
}

impl<'k, 's, S: Signer, W: Write> MultipartSignedWriter<'k, 's, S, W> {
    /// Checks the signers (see [`SignedDataEncoder::new`]; `options.detached`
    /// is forced on) and writes the multipart header and the first delimiter.
    pub fn new(
        sink: W,
        signers: &'k mut [S],
        scratch: &'s mut [u8],
        options: &SignOptions<'_>,
        boundary: Boundary,
    ) -> Result<Self> {
        let options = SignOptions { detached: true, ..*options };
        let mut enc = SignedDataEncoder::new(Base64Encoder::new(sink), signers, scratch, &options)?;
        let mut algs = [None; 4];
        for (slot, h) in algs.iter_mut().zip(enc.digest_algorithms()) {
            *slot = Some(h);
        }
        let out = enc.get_mut().get_mut();
        put(out, b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\tmicalg=")?;
        let several = algs.iter().flatten().count() > 1;
        if several {
            put(out, b"\"")?;
        }
        for (i, h) in algs.iter().flatten().enumerate() {
            if i > 0 {
                put(out, b",")?;
            }
            put(out, micalg(*h).as_bytes())?;
        }
        if several {
            put(out, b"\"")?;
        }
        put(out, b"; boundary=\"")?;
        put(out, boundary.as_bytes())?;
        put(
            out,
            b"\"\r\n\r\nThis is a cryptographically signed message in MIME format.\r\n\r\n--",
        )?;
        put(out, boundary.as_bytes())?;
        put(out, b"\r\n")?;
        Ok(Self { enc, boundary, pending_cr: false, poisoned: false })
    }

    /// Writes (and hashes) the next bytes of the entity, with line ends made CRLF.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.poisoned {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let r = self.feed(data);
        self.poisoned = r.is_err();
        r
    }

    fn emit(&mut self, bytes: &[u8]) -> Result<()> {
        put(self.enc.get_mut().get_mut(), bytes)?;
        self.enc.write(bytes)
    }

    fn feed(&mut self, data: &[u8]) -> Result<()> {
        let mut pending_cr = self.pending_cr;
        let r = canonicalise(data, &mut pending_cr, |piece| match piece {
            Piece::Same(bytes) => self.emit(bytes),
            Piece::Changed { .. } => self.emit(b"\r\n"),
        });
        self.pending_cr = pending_cr;
        r
    }

    /// Signs, writes the signature part and the closing delimiter; returns
    /// the sink.
    pub fn finish(mut self) -> Result<W> {
        if self.poisoned {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        if self.pending_cr {
            self.pending_cr = false;
            self.emit(b"\r\n")?;
        }
        let boundary = self.boundary;
        let out = self.enc.get_mut().get_mut();
        put(out, b"\r\n--")?;
        put(out, boundary.as_bytes())?;
        put(
            out,
            b"\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
              Content-Transfer-Encoding: base64\r\n\
              Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\
              Content-Description: S/MIME Cryptographic Signature\r\n\r\n",
        )?;
        let mut sink = self.enc.finish()?.finish()?;
        put(&mut sink, b"\r\n--")?;
        put(&mut sink, boundary.as_bytes())?;
        put(&mut sink, b"--\r\n")?;
        sink.flush().map_err(io_err)?;
        Ok(sink)
    }
}

impl<S: Signer, W: Write> embedded_io::ErrorType for MultipartSignedWriter<'_, '_, S, W> {
    type Error = Error;
}

impl<S: Signer, W: Write> embedded_io::Write for MultipartSignedWriter<'_, '_, S, W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        Self::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// What kind of entity a header block announces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EntityKind {
    /// Anything that is not S/MIME (text, multipart/mixed, ...).
    #[default]
    Plain,
    /// `multipart/signed` with protocol `application/pkcs7-signature` (or
    /// the `x-` form): a clear-signed message.
    MultipartSigned,
    /// `application/pkcs7-mime` (or `x-pkcs7-mime`, or an
    /// `application/octet-stream` named `*.p7m`/`*.p7c`/`*.p7s`): the CMS is
    /// the body. The smime-type, when given.
    Pkcs7Mime(Option<SmimeType>),
}

/// Which kept header fields [`MessageSplitter::write_fields`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldSet {
    /// All of them.
    All,
    /// Those that are not `Content-*` fields (From, Subject, ...).
    Outer,
    /// The `Content-*` fields.
    Content,
}

/// What [`MessageSplitter`] learnt about the content entity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntityInfo {
    /// What the Content-Type announces.
    pub kind: EntityKind,
    /// The digest algorithms of a multipart/signed `micalg` (in
    /// [`HashAlgorithm::ALL`] order); all `false` when absent or unknown.
    pub micalg: [bool; 4],
    /// A Content-Type field was present.
    pub has_content_type: bool,
    /// The Content-Type is `multipart/*`.
    pub multipart: bool,
    /// The Content-Type is `text/*` (or absent: RFC 2045 §5.2 default).
    pub text: bool,
    /// The Content-Transfer-Encoding (7bit when absent).
    pub transfer_encoding: TransferEncoding,
    /// A MIME-Version field was among the outer fields.
    pub has_mime_version: bool,
}

impl EntityInfo {
    /// Whether the body must be given a base64 transfer encoding before it
    /// is signed in a multipart/signed: a single part in 7bit, 8bit or
    /// binary cannot be trusted to reach the verifier unchanged (RFC 8551
    /// §3.1.2–3.1.3), and the body is not seen before its header must be
    /// written, so such a body is always re-encoded. Multipart bodies are
    /// taken as their composer encoded their parts.
    pub fn needs_base64_for_signing(&self) -> bool {
        !self.multipart
            && !matches!(
                self.transfer_encoding,
                TransferEncoding::Base64 | TransferEncoding::QuotedPrintable
            )
    }

    /// Whether the body's line ends may be made CRLF: not for a binary
    /// transfer encoding, nor for a non-text single part in 8bit.
    pub fn canonicalise_body(&self) -> bool {
        match self.transfer_encoding {
            TransferEncoding::Binary => false,
            TransferEncoding::EightBit => self.text || self.multipart,
            _ => true,
        }
    }
}

/// Gives an entity's body the transfer encoding it was announced with by
/// [`MessageSplitter::write_entity_header`], on the way to a sink.
#[allow(clippy::large_enum_variant, reason = "no heap to box into; the size is the point")]
pub enum BodyEncoder<W: Write> {
    /// As it is.
    Identity(W),
    /// Line ends made CRLF.
    Canonical(Canonicalizer<W>),
    /// base64 of the bytes as they are (binary bodies).
    Base64(Base64Encoder<W>),
    /// base64 of the text with its line ends made CRLF.
    CanonicalBase64(Canonicalizer<Base64Encoder<W>>),
}

impl<W: Write> BodyEncoder<W> {
    /// The encoder for a body to be signed in a multipart/signed: see
    /// [`EntityInfo::needs_base64_for_signing`]; pass the same decision to
    /// [`MessageSplitter::write_entity_header`].
    /// The [`MultipartSignedWriter`] makes line ends CRLF itself, so a body
    /// that is not re-encoded passes as it is.
    pub fn for_signing(info: &EntityInfo, sink: W) -> Self {
        match (info.needs_base64_for_signing(), info.canonicalise_body()) {
            (true, true) => Self::CanonicalBase64(Canonicalizer::new(Base64Encoder::new(sink))),
            (true, false) => Self::Base64(Base64Encoder::new(sink)),
            (false, _) => Self::Identity(sink),
        }
    }

    /// The encoder for a body going inside CMS (encrypted, or signed
    /// opaquely): only line ends are made CRLF, where that is safe.
    pub fn for_cms(info: &EntityInfo, sink: W) -> Self {
        if info.canonicalise_body() {
            Self::Canonical(Canonicalizer::new(sink))
        } else {
            Self::Identity(sink)
        }
    }

    /// Encodes the next bytes of the body.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Self::Identity(w) => put(w, data),
            Self::Canonical(c) => c.write(data),
            Self::Base64(b) => b.write(data),
            Self::CanonicalBase64(c) => c.write(data),
        }
    }

    /// Ends the encoding; returns the sink.
    pub fn finish(self) -> Result<W> {
        match self {
            Self::Identity(w) => Ok(w),
            Self::Canonical(c) => c.finish(),
            Self::Base64(b) => b.finish(),
            Self::CanonicalBase64(c) => c.finish()?.finish(),
        }
    }
}

impl<W: Write> embedded_io::ErrorType for BodyEncoder<W> {
    type Error = Error;
}

impl<W: Write> embedded_io::Write for BodyEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        Self::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Takes an RFC 5322 message apart, streaming: outer header fields go to a
/// sink as they are read (line ends made CRLF); `Content-*` fields are kept
/// (bounded, in the caller's buffer) to start the protected entity.
pub struct MessageSplitter<'b> {
    reader: HeaderReader<'b>,
    content: &'b mut [u8],
    content_len: usize,
    boundary: [u8; MAX_BOUNDARY],
    boundary_len: usize,
    from: [u8; MAX_ADDRESS],
    from_len: usize,
    sender: [u8; MAX_ADDRESS],
    sender_len: usize,
    keep_mime_version: bool,
    hold_all: bool,
    fields: usize,
    info: EntityInfo,
    done: bool,
}

impl<'b> MessageSplitter<'b> {
    /// `field_buf` holds one header field at a time (its length bounds a
    /// field); `content_buf` holds the `Content-*` fields together.
    pub fn new(field_buf: &'b mut [u8], content_buf: &'b mut [u8]) -> Self {
        Self {
            reader: HeaderReader::new(field_buf),
            content: content_buf,
            content_len: 0,
            boundary: [0; MAX_BOUNDARY],
            boundary_len: 0,
            from: [0; MAX_ADDRESS],
            from_len: 0,
            sender: [0; MAX_ADDRESS],
            sender_len: 0,
            keep_mime_version: true,
            hold_all: false,
            fields: 0,
            info: EntityInfo { text: true, ..EntityInfo::default() },
            done: false,
        }
    }

    /// Reads header bytes; outer fields are written to `outer`. Returns how
    /// many bytes were consumed and whether the header block is complete
    /// (the body starts right after the consumed bytes).
    pub fn push<W: Write>(&mut self, input: &[u8], outer: &mut W) -> Result<(usize, bool)> {
        let mut pos = 0;
        while !self.done {
            let rest = input.get(pos..).unwrap_or(&[]);
            let (n, ev) = self.reader.next(rest)?;
            pos += n;
            match ev {
                None => break,
                Some(HeaderEvent::End) => self.done = true,
                Some(HeaderEvent::Field) => self.on_field(outer)?,
            }
        }
        Ok((pos, self.done))
    }

    /// At the end of input: a message that is only a header block (no empty
    /// line) is complete here, with an empty body.
    pub fn finish<W: Write>(&mut self, outer: &mut W) -> Result<()> {
        while !self.done {
            match self.reader.finish()? {
                Some(HeaderEvent::Field) => self.on_field(outer)?,
                _ => self.done = true,
            }
        }
        Ok(())
    }

    fn on_field<W: Write>(&mut self, outer: &mut W) -> Result<()> {
        let Some(field) = self.reader.field() else {
            return Ok(());
        };
        self.fields += 1;
        let content = is_content_field(field.name);
        if content {
            if field.is("Content-Type") {
                if self.info.has_content_type {
                    return Err(Error::new(ErrorKind::Mime(MimeError::MalformedContentType)));
                }
                let ct = ContentType::parse(field.value)?;
                self.info.has_content_type = true;
                self.info.multipart = ct.is_multipart();
                self.info.text = ct.media_type().eq_ignore_ascii_case(b"text");
                self.boundary_len =
                    classify(&ct, &mut self.info, &mut self.boundary)?.unwrap_or(self.boundary_len);
            } else if field.is("Content-Transfer-Encoding") {
                self.info.transfer_encoding = TransferEncoding::parse(field.value)?;
            }
        } else {
            if field.is("MIME-Version") {
                self.info.has_mime_version = true;
                if !self.keep_mime_version {
                    return Ok(());
                }
            }
            if field.is("From")
                && self.from_len == 0
                && let Some(a) = addresses(field.value).next()
                && let Some(dst) = self.from.get_mut(..a.len())
            {
                dst.copy_from_slice(a);
                self.from_len = a.len();
            }
            if field.is("Sender")
                && self.sender_len == 0
                && let Some(a) = addresses(field.value).next()
                && let Some(dst) = self.sender.get_mut(..a.len())
            {
                dst.copy_from_slice(a);
                self.sender_len = a.len();
            }
            if !self.hold_all {
                write_crlf(outer, self.reader.raw())?;
            }
        }
        if content || self.hold_all {
            let raw = self.reader.raw();
            let end = self.content_len + raw.len();
            let dst = self
                .content
                .get_mut(self.content_len..end)
                .ok_or(Error::new(ErrorKind::Mime(MimeError::HeaderTooLong)))?;
            dst.copy_from_slice(raw);
            self.content_len = end;
        }
        Ok(())
    }

    /// Whether a MIME-Version field is written to the outer sink (default
    /// `true`; an inner entity's is usually dropped).
    pub fn keep_mime_version(&mut self, keep: bool) {
        self.keep_mime_version = keep;
    }

    /// The boundary of a multipart entity.
    pub fn boundary(&self) -> Option<&[u8]> {
        self.boundary.get(..self.boundary_len).filter(|b| !b.is_empty())
    }

    /// The address in the From field (the first, if several), as written.
    pub fn from_address(&self) -> Option<&[u8]> {
        self.from.get(..self.from_len).filter(|b| !b.is_empty())
    }

    /// The address in the Sender field, if there is one (RFC 8550 §3: the
    /// signer's certificate must hold the From or the Sender address).
    pub fn sender_address(&self) -> Option<&[u8]> {
        self.sender.get(..self.sender_len).filter(|b| !b.is_empty())
    }

    /// Writes the `Content-*` fields as they came, line ends made CRLF.
    pub fn write_content_fields<W: Write>(&self, sink: &mut W) -> Result<()> {
        write_crlf(sink, self.content_fields())
    }

    /// Whether every field is kept (in order, in the content buffer) rather
    /// than the outer ones written at once; default `false`. For an inner
    /// entity whose fields are written out later by
    /// [`write_fields`](Self::write_fields), in the order they came.
    pub fn hold_all_fields(&mut self, hold: bool) {
        self.hold_all = hold;
    }

    /// Writes the kept fields of `set` in the order they came, line ends
    /// made CRLF (MIME-Version only when [`keep_mime_version`](Self::keep_mime_version)
    /// allows it).
    pub fn write_fields<W: Write>(&self, sink: &mut W, set: FieldSet) -> Result<()> {
        let mut fields = self.content_fields();
        while !fields.is_empty() {
            let len = field_len(fields);
            let (f, rest) = fields.split_at(len.min(fields.len()));
            fields = rest;
            let name = f.split(|b| *b == b':').next().unwrap_or(&[]);
            let content = is_content_field(name);
            let mime_version = name.eq_ignore_ascii_case(b"MIME-Version");
            let wanted = match set {
                FieldSet::All => true,
                FieldSet::Outer => !content,
                FieldSet::Content => content,
            };
            if wanted && (!mime_version || self.keep_mime_version) {
                write_crlf(sink, f)?;
            }
        }
        Ok(())
    }

    /// How many header fields were read so far.
    pub fn field_count(&self) -> usize {
        self.fields
    }

    /// Whether the header block is complete.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// What is known about the content entity.
    pub fn info(&self) -> EntityInfo {
        self.info
    }

    /// The `Content-*` fields, raw, in input order.
    pub fn content_fields(&self) -> &[u8] {
        self.content.get(..self.content_len).unwrap_or(&[])
    }

    /// Writes the entity's header block: the `Content-*` fields (a
    /// `Content-Type: text/plain; charset=us-ascii` if there was none), with
    /// the Content-Transfer-Encoding replaced by `base64` when `base64` is
    /// set, line ends made CRLF, and the empty line.
    pub fn write_entity_header<W: Write>(&self, sink: &mut W, base64: bool) -> Result<()> {
        let mut fields = self.content_fields();
        if !self.info.has_content_type {
            put(sink, b"Content-Type: text/plain; charset=us-ascii\r\n")?;
        }
        while !fields.is_empty() {
            let len = field_len(fields);
            let (f, rest) = fields.split_at(len.min(fields.len()));
            let is_cte =
                f.get(..26).is_some_and(|n| n.eq_ignore_ascii_case(b"Content-Transfer-Encoding:"));
            if !(base64 && is_cte) {
                write_crlf(sink, f)?;
            }
            fields = rest;
        }
        if base64 {
            put(sink, b"Content-Transfer-Encoding: base64\r\n")?;
        }
        put(sink, b"\r\n")
    }
}

fn classify(
    ct: &ContentType<'_>,
    info: &mut EntityInfo,
    boundary: &mut [u8; MAX_BOUNDARY],
) -> Result<Option<usize>> {
    let mut buf = [0u8; 64];
    let mut blen = None;
    if ct.is_multipart() {
        blen = Some(ct.boundary(boundary)?.len());
    }
    if ct.is("multipart", "signed") {
        let protocol = ct.param("protocol", &mut buf).ok().flatten().unwrap_or(&[]);
        if protocol.eq_ignore_ascii_case(b"application/pkcs7-signature")
            || protocol.eq_ignore_ascii_case(b"application/x-pkcs7-signature")
        {
            info.kind = EntityKind::MultipartSigned;
            let mut m = [0u8; 128];
            if let Ok(Some(list)) = ct.param("micalg", &mut m) {
                for name in list.split(|b| *b == b',') {
                    if let Some(h) = parse_micalg(name)
                        && let Some(slot) = info.micalg.get_mut(hash_index(h))
                    {
                        *slot = true;
                    }
                }
            }
        }
        return Ok(blen);
    }
    let pkcs7 = ct.is("application", "pkcs7-mime") || ct.is("application", "x-pkcs7-mime");
    let named = ct.is("application", "octet-stream")
        && ct.param("name", &mut buf).ok().flatten().is_some_and(|n| {
            let n = trim(n);
            n.len() >= 4
                && n.get(n.len() - 4..).is_some_and(|e| {
                    e.eq_ignore_ascii_case(b".p7m") || e.eq_ignore_ascii_case(b".p7c")
                })
        });
    if pkcs7 || named {
        let t = match ct.param("smime-type", &mut buf) {
            Ok(Some(v)) => Some(
                SmimeType::parse(trim(v))
                    .ok_or(Error::new(ErrorKind::Mime(MimeError::UnknownSmimeType)))?,
            ),
            Ok(None) => None,
            Err(_) => return Err(Error::new(ErrorKind::Mime(MimeError::UnknownSmimeType))),
        };
        info.kind = EntityKind::Pkcs7Mime(t);
    }
    Ok(blen)
}

/// Length of the first raw field in `fields` (up to a line end not followed
/// by a fold).
fn field_len(fields: &[u8]) -> usize {
    let mut i = 0;
    while let Some(at) = fields.get(i..).and_then(|r| r.iter().position(|b| *b == b'\n')) {
        i += at + 1;
        match fields.get(i) {
            Some(b' ' | b'\t') => continue,
            _ => return i,
        }
    }
    fields.len()
}

/// Writes `bytes` with every line end made CRLF (the bytes are complete
/// lines, so no line end is split).
fn write_crlf<W: Write>(sink: &mut W, bytes: &[u8]) -> Result<()> {
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
        let (text, tail) = rest.split_at(i);
        put(sink, text)?;
        put(sink, b"\r\n")?;
        rest = match tail {
            [b'\r', b'\n', r @ ..] => r,
            [_, r @ ..] => r,
            [] => &[],
        };
    }
    put(sink, rest)
}
