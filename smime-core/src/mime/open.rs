//! Consuming S/MIME messages: the MIME around the CMS, taken off as the
//! message streams past.
//!
//! A message is read level by level. [`MessageSplitter`](super::MessageSplitter)
//! reads a header block and says what the entity is
//! ([`EntityKind`](super::EntityKind)); then the body goes to
//!
//! - a [`MultipartSignedReader`] for `multipart/signed`: the first part is
//!   passed on unchanged and hashed in canonical form, the second part's
//!   signature is verified at the end;
//! - a [`BodyDecoder`] (base64 or as it is) feeding the CMS decoder for
//!   `application/pkcs7-mime` ([`EnvelopedDataDecoder`](crate::cms::EnvelopedDataDecoder),
//!   [`SignedDataDecoder`]); [`sniff`] names the CMS content type from its
//!   first bytes when the smime-type parameter is missing.
//!
//! What comes out of a level is again a MIME entity, to be read the same way:
//! that is how sign-then-encrypt, triple wrapping and whatever else other
//! clients nest are taken apart.

use embedded_io::Write;

use super::SmimeType;
use super::base64::Base64Decoder;
use super::canon::{Piece, canonicalise};
use super::compose::hash_index;
use super::header::{ContentType, HeaderEvent, HeaderReader, TransferEncoding};
use super::multipart::{MultipartReader, PartEvent};
use crate::backend::HashAlgorithm;
use crate::cms::{ContentDigests, SignedDataDecoder, SignedDataReport, VerifyOptions};
use crate::error::{Error, ErrorKind, MimeError, Result, io_err};
use crate::oid;

/// A sink that throws everything away.
#[derive(Clone, Copy, Debug, Default)]
pub struct Discard;

impl embedded_io::ErrorType for Discard {
    type Error = core::convert::Infallible;
}

impl embedded_io::Write for Discard {
    fn write(&mut self, buf: &[u8]) -> core::result::Result<usize, Self::Error> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> core::result::Result<(), Self::Error> {
        Ok(())
    }
}

/// Undoes a Content-Transfer-Encoding on the way to a CMS decoder: base64 is
/// decoded, 7bit/8bit/binary pass as they are. Quoted-printable is not a
/// valid encoding for CMS bodies and is refused. The decoder's own errors
/// (a wrong key, a malformed message) come back as they are.
#[allow(clippy::large_enum_variant, reason = "no heap to box into; the size is the point")]
pub enum BodyDecoder<W: Write> {
    /// base64.
    Base64(Base64Decoder<W>),
    /// Bytes as they are.
    Identity(W),
}

impl<W: Write<Error = Error>> BodyDecoder<W> {
    /// A decoder for `encoding`.
    pub fn new(encoding: TransferEncoding, sink: W) -> Result<Self> {
        match encoding {
            TransferEncoding::Base64 => Ok(Self::Base64(Base64Decoder::new(sink))),
            TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => {
                Ok(Self::Identity(sink))
            }
            TransferEncoding::QuotedPrintable => {
                Err(Error::new(ErrorKind::Mime(MimeError::UnsupportedTransferEncoding)))
            }
        }
    }

    /// Decodes the next bytes. An error of the sink (the CMS decoder) comes
    /// back as it is.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Self::Base64(d) => d.write(data).map_err(|e| d.take_sink_error().unwrap_or(e)),
            Self::Identity(w) => w.write_all(data),
        }
    }

    /// Checks the end of the encoding and returns the sink.
    pub fn finish(self) -> Result<W> {
        match self {
            Self::Base64(d) => d.finish_through(),
            Self::Identity(mut w) => {
                w.flush()?;
                Ok(w)
            }
        }
    }

    /// The sink.
    pub fn get_mut(&mut self) -> &mut W {
        match self {
            Self::Base64(d) => d.get_mut(),
            Self::Identity(w) => w,
        }
    }
}

impl<W: Write<Error = Error>> embedded_io::ErrorType for BodyDecoder<W> {
    type Error = Error;
}

impl<W: Write<Error = Error>> embedded_io::Write for BodyDecoder<W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        Self::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// How many decoded bytes [`sniff`] needs at most.
pub const SNIFF_LEN: usize = 24;

/// What CMS content type a ContentInfo starts with, from its first bytes
/// (at least [`SNIFF_LEN`], or all there are): `None` when it is not one of
/// SignedData, EnvelopedData, AuthEnvelopedData or CompressedData. A
/// certs-only message is a SignedData here.
pub fn sniff(first: &[u8]) -> Option<SmimeType> {
    let rest = match first {
        [0x30, 0x80, r @ ..] => r,
        [0x30, n, r @ ..] if *n < 0x80 => r,
        [0x30, n @ 0x81..=0x84, r @ ..] => r.get(usize::from(*n - 0x80)..)?,
        _ => return None,
    };
    let [0x06, len, r @ ..] = rest else {
        return None;
    };
    let oid = r.get(..usize::from(*len))?;
    [
        (oid::SIGNED_DATA, SmimeType::SignedData),
        (oid::ENVELOPED_DATA, SmimeType::EnvelopedData),
        (oid::AUTH_ENVELOPED_DATA, SmimeType::AuthEnvelopedData),
        (oid::COMPRESSED_DATA, SmimeType::CompressedData),
    ]
    .into_iter()
    .find(|(o, _)| *o == oid)
    .map(|(_, t)| t)
}

/// What a [`MultipartSignedReader`] found besides the SignedData report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultipartSignedInfo {
    /// Line ends of the signed part had to be made CRLF before hashing (the
    /// message was stored or sent with bare LF line ends).
    pub canonicalised: bool,
    /// Bytes in the signed part, as it stood.
    pub signed_len: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Preamble,
    Signed,
    SignatureHeader,
    Signature,
    AfterSignature,
}

/// Streaming `multipart/signed` verifier (RFC 8551 §3.5.3, RFC 1847): the
/// body in (after the entity's header block), the signed entity out in the
/// canonical form that was verified (CRLF line ends), the signature checked
/// at [`finish`](Self::finish).
///
/// The signed part is hashed with the `micalg` algorithms and SHA-256 (every
/// supported one when `micalg` names none), after its line ends are made CRLF (RFC
/// 8551 §3.1.1; mail stored with LF line ends verifies). When that changed
/// anything, the part as it stood is hashed too, and a signature over it
/// (a part signed as binary) verifies as well. The signature part
/// must be `application/pkcs7-signature` (or the `x-` form) in base64 or
/// binary; there must be exactly these two parts.
pub struct MultipartSignedReader<'s, W: Write> {
    parts: MultipartReader,
    inner: Parts<'s, W>,
    poisoned: bool,
}

struct Parts<'s, W: Write> {
    sink: W,
    digests: ContentDigests,
    /// The digests of the part as it stood, kept from the first line end
    /// that had to be changed (until then both forms are the same).
    raw: Option<ContentDigests>,
    pending_cr: bool,
    canonicalised: bool,
    signed_len: u64,
    stage: Stage,
    header: HeaderReader<'s>,
    sig_type_ok: bool,
    sig_encoding: TransferEncoding,
    scratch: Option<&'s mut [u8]>,
    options: VerifyOptions<'s>,
    decoder: Option<BodyDecoder<SignedDataDecoder<'s, Discard>>>,
}

impl<'s, W: Write> MultipartSignedReader<'s, W> {
    /// A reader for a body with this `boundary`, hashing with the `micalg`
    /// digests (as in [`EntityInfo::micalg`](super::EntityInfo::micalg)).
    /// `header_buf` holds one header field of the signature part; `scratch`
    /// is the SignedData decoder's.
    pub fn new(
        sink: W,
        boundary: &[u8],
        micalg: [bool; 4],
        header_buf: &'s mut [u8],
        scratch: &'s mut [u8],
        options: VerifyOptions<'s>,
    ) -> Result<Self> {
        let digests = if micalg.iter().any(|b| *b) {
            let mut algs = [HashAlgorithm::Sha256; 4];
            let mut n = 0;
            for h in HashAlgorithm::ALL {
                // SHA-256 too: some clients write a micalg that does not
                // match the digest they signed with (sha-1 for SHA-256).
                let wanted = micalg.get(hash_index(h)).copied().unwrap_or(false)
                    || h == HashAlgorithm::Sha256;
                if wanted && let Some(slot) = algs.get_mut(n) {
                    *slot = h;
                    n += 1;
                }
            }
            ContentDigests::new(algs.get(..n).unwrap_or(&[]))
        } else {
            ContentDigests::all()
        };
        Ok(Self {
            parts: MultipartReader::new(boundary)?,
            inner: Parts {
                sink,
                digests,
                raw: None,
                pending_cr: false,
                canonicalised: false,
                signed_len: 0,
                stage: Stage::Preamble,
                header: HeaderReader::new(header_buf),
                sig_type_ok: false,
                sig_encoding: TransferEncoding::SevenBit,
                scratch: Some(scratch),
                options,
                decoder: None,
            },
            poisoned: false,
        })
    }

    /// Feeds the next bytes of the body.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.poisoned {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let r = self.feed(data);
        self.poisoned = r.is_err();
        r
    }

    fn feed(&mut self, data: &[u8]) -> Result<()> {
        let mut pos = 0;
        loop {
            let rest = data.get(pos..).unwrap_or(&[]);
            let (n, ev) = self.parts.next(rest)?;
            pos += n;
            match ev {
                None => return Ok(()),
                Some(ev) => self.inner.on_event(ev)?,
            }
        }
    }

    /// Checks the end of the body and the signature; returns the sink, the
    /// SignedData report (check [`SignedDataReport::all_valid`]) and what
    /// the MIME layer saw.
    pub fn finish(mut self) -> Result<(W, SignedDataReport<'s>, MultipartSignedInfo)> {
        if self.poisoned {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        while let Some(ev) = self.parts.finish()? {
            self.inner.on_event(ev)?;
        }
        if !self.parts.is_closed() {
            return Err(Error::new(ErrorKind::Mime(MimeError::MissingCloseDelimiter)));
        }
        let mut inner = self.inner;
        if inner.stage != Stage::AfterSignature {
            return Err(malformed());
        }
        let decoder = inner.decoder.take().ok_or(malformed())?;
        let cms = decoder.finish()?;
        let (_, report) = cms.finish()?;
        inner.sink.flush().map_err(io_err)?;
        let info = MultipartSignedInfo {
            canonicalised: inner.canonicalised,
            signed_len: inner.signed_len,
        };
        Ok((inner.sink, report, info))
    }

    /// The sink (the signed entity goes there).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner.sink
    }
}

impl<'s, W: Write> Parts<'s, W> {
    fn on_event(&mut self, ev: PartEvent<'_>) -> Result<()> {
        match ev {
            PartEvent::Preamble(_) | PartEvent::Epilogue(_) => Ok(()),
            PartEvent::PartStart => {
                self.stage = match self.stage {
                    Stage::Preamble => Stage::Signed,
                    Stage::Signed => Stage::SignatureHeader,
                    _ => return Err(malformed()),
                };
                Ok(())
            }
            PartEvent::PartEnd => match self.stage {
                Stage::Signed => Ok(()),
                Stage::SignatureHeader | Stage::Signature => self.end_signature(),
                _ => Err(malformed()),
            },
            PartEvent::Data(d) => self.data(d),
        }
    }

    fn data(&mut self, bytes: &[u8]) -> Result<()> {
        match self.stage {
            Stage::Signed => {
                self.signed_len += bytes.len() as u64;
                self.hash_canonical(bytes)
            }
            Stage::SignatureHeader => {
                let mut rest = bytes;
                while self.stage == Stage::SignatureHeader {
                    let (n, ev) = self.header.next(rest)?;
                    rest = rest.get(n..).unwrap_or(&[]);
                    match ev {
                        None => return Ok(()),
                        Some(HeaderEvent::Field) => self.signature_field()?,
                        Some(HeaderEvent::End) => self.start_signature()?,
                    }
                }
                if rest.is_empty() { Ok(()) } else { self.data(rest) }
            }
            Stage::Signature => match self.decoder.as_mut() {
                Some(d) => d.write(bytes),
                None => Err(Error::new(ErrorKind::InvalidState)),
            },
            _ => Err(malformed()),
        }
    }

    /// Hashes and passes on `bytes`, the same in both forms.
    fn emit(&mut self, bytes: &[u8]) -> Result<()> {
        self.sink.write_all(bytes).map_err(io_err)?;
        self.digests.update(bytes)?;
        match self.raw.as_mut() {
            Some(r) => r.update(bytes),
            None => Ok(()),
        }
    }

    /// A line end that differs: `canonical` passed on and hashed, `raw`
    /// hashed into the as-it-stood digests (forked here).
    fn fix(&mut self, canonical: &[u8], raw: &[u8]) -> Result<()> {
        self.canonicalised = true;
        let r = self.raw.get_or_insert_with(|| self.digests.clone());
        r.update(raw)?;
        self.sink.write_all(canonical).map_err(io_err)?;
        self.digests.update(canonical)
    }

    fn hash_canonical(&mut self, bytes: &[u8]) -> Result<()> {
        let mut pending_cr = self.pending_cr;
        let r = canonicalise(bytes, &mut pending_cr, |piece| match piece {
            Piece::Same(run) => self.emit(run),
            Piece::Changed { raw } => self.fix(b"\r\n", raw),
        });
        self.pending_cr = pending_cr;
        r
    }

    fn signature_field(&mut self) -> Result<()> {
        let Some(f) = self.header.field() else {
            return Ok(());
        };
        if f.is("Content-Type") {
            let ct = ContentType::parse(f.value)?;
            self.sig_type_ok = ct.is("application", "pkcs7-signature")
                || ct.is("application", "x-pkcs7-signature");
        } else if f.is("Content-Transfer-Encoding") {
            self.sig_encoding = TransferEncoding::parse(f.value)?;
        }
        Ok(())
    }

    fn start_signature(&mut self) -> Result<()> {
        if !self.sig_type_ok {
            return Err(malformed());
        }
        if self.pending_cr {
            self.pending_cr = false;
            self.fix(b"\r\n", b"\r")?;
        }
        self.digests.finish();
        let scratch = self.scratch.take().ok_or(Error::new(ErrorKind::InvalidState))?;
        let mut dec = SignedDataDecoder::detached(Discard, scratch, self.options, &self.digests);
        if let Some(raw) = self.raw.as_mut() {
            raw.finish();
            dec = dec.with_alternative_digests(raw);
        }
        self.decoder = Some(BodyDecoder::new(self.sig_encoding, dec)?);
        self.stage = Stage::Signature;
        Ok(())
    }

    fn end_signature(&mut self) -> Result<()> {
        if self.stage == Stage::SignatureHeader {
            // The signature part ended inside its header block: no signature.
            return Err(malformed());
        }
        self.stage = Stage::AfterSignature;
        Ok(())
    }
}

fn malformed() -> Error {
    Error::new(ErrorKind::Mime(MimeError::MalformedMultipartSigned))
}

impl<W: Write> embedded_io::ErrorType for MultipartSignedReader<'_, W> {
    type Error = Error;
}

impl<W: Write> embedded_io::Write for MultipartSignedReader<'_, W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        Self::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}
