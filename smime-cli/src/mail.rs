//! S/MIME mail for the subcommands: RFC 5322 messages in and out, streamed
//! through the core's MIME layer.
//!
//! **Reading.** A message is taken apart level by level. Each level reads a
//! header block ([`MessageSplitter`]): its non-`Content-*` fields (From, To,
//! Subject, ...) go straight to the output; then, if the entity is a layer the
//! command takes off ([`Peel`]), its body goes through the matching pipeline
//! (multipart/signed, or base64 and a CMS decoder), whose output, the inner
//! entity, is the next level. The first entity that is not such a layer is
//! written out as it is. So `decrypt` takes off every encryption layer and
//! stops at a signature; `verify` takes off every signature layer and stops
//! at an encryption; a triple-wrapped message takes `verify`, `decrypt`,
//! `verify`. Levels are built as their headers arrive; the buffers they use
//! are made up front ([`Buffers`]), so memory does not grow with the message.
//!
//! **Writing.** [`read_header`] splits the input message into outer fields
//! (written at once) and the content entity; the subcommands then write the
//! entity through the core's writers.

use std::cell::RefCell;

use embedded_io::Write as _;
use embedded_io_adapters::std::FromStd;
use getrandom::SysRng;
use smime_core::cms::enveloped::{DecryptOptions, DecryptReport, EnvelopedDataDecoder};
use smime_core::cms::signed::{SignedDataDecoder, SignedDataReport, VerifyOptions};
use smime_core::mime::open::SNIFF_LEN;
use smime_core::mime::{
    BodyDecoder, EntityKind, FieldSet, MessageSplitter, MultipartSignedInfo, MultipartSignedReader,
    SmimeType, sniff,
};
use smime_core::x509::CertificateRef;
use smime_core::{ErrorKind, MimeError};

use crate::decrypt::KeyRing;
use crate::error::Error;
use crate::io::{Failure, Input};

/// Most levels of nesting read.
pub const MAX_DEPTH: usize = 8;
/// Longest header field (folded lines together).
pub const FIELD_LEN: usize = 64 * 1024;
/// Room for one level's SignedData certificates, CRLs and SignerInfos (or
/// one recipient info).
pub const SCRATCH_LEN: usize = 1 << 20;
/// Most encryption layers read (each takes its own copy of the keys).
pub const MAX_ENVELOPES: usize = 2;

/// Which layers a command takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peel {
    /// multipart/signed and pkcs7-mime signed-data (`verify`).
    Signatures,
    /// pkcs7-mime enveloped-data (`decrypt`).
    Encryption,
}

/// One layer taken off, outermost first.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "a handful per message")]
pub enum Layer<'a> {
    /// A signature (multipart/signed when `mime` is set, else opaque).
    Signed {
        /// The SignedData report.
        report: SignedDataReport<'a>,
        /// What the multipart/signed layer saw.
        mime: Option<MultipartSignedInfo>,
    },
    /// An encryption layer.
    Decrypted {
        /// The EnvelopedData report.
        report: DecryptReport,
        /// Which key opened it.
        key: String,
    },
    /// The entity written out, which this command does not take off.
    Content(EntityKind),
}

/// The buffers of every level, made before reading.
#[derive(Debug)]
pub struct Buffers {
    scratch: Vec<Vec<u8>>,
    fields: Vec<Vec<u8>>,
}

impl Buffers {
    /// Buffers for [`MAX_DEPTH`] levels. Pages are only touched when a level
    /// uses them.
    pub fn new() -> Self {
        Self {
            scratch: (0..MAX_DEPTH).map(|_| vec![0u8; SCRATCH_LEN]).collect(),
            fields: (0..3 * MAX_DEPTH).map(|_| vec![0u8; FIELD_LEN]).collect(),
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}

/// What reading a message found.
#[derive(Debug)]
pub struct Opened<'a> {
    /// The layers, outermost first; the last is the content written out.
    pub layers: Vec<Layer<'a>>,
    /// The address in the outermost From field.
    pub from: Option<String>,
    /// The address in the outermost Sender field.
    pub sender: Option<String>,
}

struct Ctx<'a> {
    peel: Peel,
    scratch: RefCell<std::slice::IterMut<'a, Vec<u8>>>,
    fields: RefCell<std::slice::IterMut<'a, Vec<u8>>>,
    rings: RefCell<std::slice::IterMut<'a, KeyRing>>,
    extra: &'a [CertificateRef<'a>],
    out: &'a RefCell<dyn std::io::Write + 'a>,
    error: RefCell<Option<Failure>>,
    layers: RefCell<Vec<Layer<'a>>>,
    from: RefCell<Option<String>>,
    sender: RefCell<Option<String>>,
}

impl<'a> Ctx<'a> {
    fn scratch(&self) -> Result<&'a mut [u8], Failure> {
        self.scratch
            .borrow_mut()
            .next()
            .map(Vec::as_mut_slice)
            .ok_or_else(too_deep)
    }

    fn field_buf(&self) -> Result<&'a mut [u8], Failure> {
        self.fields
            .borrow_mut()
            .next()
            .map(Vec::as_mut_slice)
            .ok_or_else(too_deep)
    }

    /// Keeps the first failure (the innermost, which happens first): the
    /// levels around it only see an I/O error of their sink.
    fn fail(&self, f: Failure) -> smime_core::Error {
        let e = match &f {
            Failure::Core(e) => *e,
            Failure::Tool(_) => smime_core::Error::new(ErrorKind::InvalidState),
        };
        self.error.borrow_mut().get_or_insert(f);
        e
    }
}

fn too_deep() -> Failure {
    Failure::Core(smime_core::Error::new(ErrorKind::Mime(MimeError::TooDeep)))
}

/// The output, shared by the levels (each writes its part in turn).
struct OutRef<'a>(&'a RefCell<dyn std::io::Write + 'a>);

impl std::io::Write for OutRef<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(data)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A level of the pipeline: a sink that is finished as a whole.
trait Stage: embedded_io::Write<Error = smime_core::Error> {
    fn finish(self: Box<Self>) -> Result<(), Failure>;
}

type Next<'c> = Box<dyn Stage + 'c>;

/// Reads a whole message from `first` and `input`, taking off the layers
/// `peel` says; the content (with the outer header fields) goes to `out`.
///
/// `rings` are the keys for encryption layers (one copy per layer, at most
/// [`MAX_ENVELOPES`]); `extra` are certificates to find signers in.
#[allow(clippy::too_many_arguments)]
pub fn open<'a>(
    peel: Peel,
    first: &[u8],
    input: &mut Input,
    out: &'a RefCell<dyn std::io::Write + 'a>,
    buffers: &'a mut Buffers,
    rings: &'a mut [KeyRing],
    extra: &'a [CertificateRef<'a>],
) -> Result<Opened<'a>, Failure> {
    let ctx = Ctx {
        peel,
        scratch: RefCell::new(buffers.scratch.iter_mut()),
        fields: RefCell::new(buffers.fields.iter_mut()),
        rings: RefCell::new(rings.iter_mut()),
        extra,
        out,
        error: RefCell::new(None),
        layers: RefCell::new(Vec::new()),
        from: RefCell::new(None),
        sender: RefCell::new(None),
    };
    let result = run_levels(&ctx, first, input);
    let stored = ctx.error.borrow_mut().take();
    match (result, stored) {
        (Ok(()), _) => Ok(Opened {
            layers: ctx.layers.into_inner(),
            from: ctx.from.into_inner(),
            sender: ctx.sender.into_inner(),
        }),
        (Err(_), Some(f)) | (Err(f), None) => Err(f),
    }
}

fn run_levels<'a>(ctx: &Ctx<'a>, first: &[u8], input: &mut Input) -> Result<(), Failure> {
    let mut top = Lazy::new(ctx, 1)?;
    top.feed(first)?;
    input.for_each_chunk(|chunk| top.feed(chunk))?;
    Box::new(top).finish()
}

enum State<'c, 'a> {
    /// Reading the header block; for an inner entity, the bytes so far are
    /// kept until a first field is complete (an entity may have no header
    /// block at all: then it is all body).
    Headers(MessageSplitter<'a>, Vec<u8>),
    /// An application/pkcs7-mime without smime-type: the body is held until
    /// its first bytes say what it is.
    Sniff(MessageSplitter<'a>, Vec<u8>),
    Body(Next<'c>),
    Pass,
    Failed,
}

/// A level whose kind is known once its header block is read.
struct Lazy<'c, 'a> {
    ctx: &'c Ctx<'a>,
    level: usize,
    state: State<'c, 'a>,
}

impl<'c, 'a: 'c> Lazy<'c, 'a> {
    fn new(ctx: &'c Ctx<'a>, level: usize) -> Result<Self, Failure> {
        if level > MAX_DEPTH {
            return Err(too_deep());
        }
        let mut splitter = MessageSplitter::new(ctx.field_buf()?, ctx.field_buf()?);
        splitter.keep_mime_version(level == 1);
        // An inner entity's fields are written out later, in their order.
        splitter.hold_all_fields(level > 1);
        Ok(Self {
            ctx,
            level,
            state: State::Headers(splitter, Vec::new()),
        })
    }

    fn out(&self) -> FromStd<OutRef<'a>> {
        FromStd::new(OutRef(self.ctx.out))
    }

    fn feed(&mut self, data: &[u8]) -> Result<(), Failure> {
        let mut data = data;
        loop {
            match &mut self.state {
                State::Headers(s, held) => {
                    let mut out = FromStd::new(OutRef(self.ctx.out));
                    let inner_start = self.level > 1 && s.field_count() == 0;
                    let (n, done) = match s.push(data, &mut out) {
                        Ok(r) => r,
                        Err(e)
                            if inner_start
                                && e.kind() == ErrorKind::Mime(MimeError::MalformedHeader) =>
                        {
                            // No header block: the entity is all body.
                            held.extend_from_slice(data);
                            let held = std::mem::take(held);
                            self.state = State::Pass;
                            self.ctx
                                .layers
                                .borrow_mut()
                                .push(Layer::Content(EntityKind::Plain));
                            let mut out = FromStd::new(OutRef(self.ctx.out));
                            out.write_all(b"\r\n").map_err(write_failure)?;
                            return self.body(&held);
                        }
                        Err(e) => return Err(e.into()),
                    };
                    if inner_start && s.field_count() == 0 && !done {
                        held.extend_from_slice(data.get(..n).unwrap_or(&[]));
                    } else {
                        held.clear();
                    }
                    data = data.get(n..).unwrap_or(&[]);
                    if !done {
                        return Ok(());
                    }
                    let State::Headers(s, _) = std::mem::replace(&mut self.state, State::Failed)
                    else {
                        return Ok(());
                    };
                    self.state = self.start(s, None)?;
                }
                State::Sniff(_, held) => {
                    held.extend_from_slice(data);
                    match sniff_body(held) {
                        SniffResult::More => return Ok(()),
                        found => {
                            let State::Sniff(s, held) =
                                std::mem::replace(&mut self.state, State::Failed)
                            else {
                                return Ok(());
                            };
                            let t = match found {
                                SniffResult::Found(t) => Some(t),
                                _ => None,
                            };
                            self.state = self.start(s, Some(t))?;
                            data = &[];
                            self.body(&held)?;
                        }
                    }
                }
                State::Body(_) | State::Pass | State::Failed => return self.body(data),
            }
            if data.is_empty() {
                return Ok(());
            }
        }
    }

    fn body(&mut self, data: &[u8]) -> Result<(), Failure> {
        if data.is_empty() {
            return Ok(());
        }
        match &mut self.state {
            State::Body(next) => next.write_all(data).map_err(Failure::Core),
            State::Pass => self.out().write_all(data).map_err(write_failure),
            _ => Err(Failure::Core(smime_core::Error::new(
                ErrorKind::InvalidState,
            ))),
        }
    }

    /// Builds the level's pipeline once its header block is read. `sniffed`
    /// is the content type found in the body of a pkcs7-mime without
    /// smime-type (`Some(None)`: not CMS as far as could be seen).
    fn start(
        &mut self,
        splitter: MessageSplitter<'a>,
        sniffed: Option<Option<SmimeType>>,
    ) -> Result<State<'c, 'a>, Failure> {
        let info = splitter.info();
        if self.level == 1 {
            *self.ctx.from.borrow_mut() = splitter
                .from_address()
                .map(|a| String::from_utf8_lossy(a).into_owned());
            *self.ctx.sender.borrow_mut() = splitter
                .sender_address()
                .map(|a| String::from_utf8_lossy(a).into_owned());
        }
        // The body of an application/pkcs7-mime says itself what it is: the
        // smime-type parameter is missing from old clients' mail and wrong in
        // some (.NET labels EnvelopedData "signed-data").
        let kind = match (info.kind, sniffed) {
            (EntityKind::Pkcs7Mime(_), None) => {
                return Ok(State::Sniff(splitter, Vec::new()));
            }
            (
                EntityKind::Pkcs7Mime(Some(SmimeType::CertsOnly)),
                Some(Some(SmimeType::SignedData)),
            ) => EntityKind::Pkcs7Mime(Some(SmimeType::CertsOnly)),
            (EntityKind::Pkcs7Mime(label), Some(found)) => EntityKind::Pkcs7Mime(found.or(label)),
            (k, _) => k,
        };
        let ctx = self.ctx;
        let peeled = matches!(
            (ctx.peel, kind),
            (Peel::Signatures, EntityKind::MultipartSigned)
                | (
                    Peel::Signatures,
                    EntityKind::Pkcs7Mime(Some(SmimeType::SignedData | SmimeType::CertsOnly))
                )
                | (
                    Peel::Encryption,
                    EntityKind::Pkcs7Mime(Some(
                        SmimeType::EnvelopedData | SmimeType::AuthEnvelopedData
                    ))
                )
        );
        if peeled && self.level > 1 {
            // A layer inside: its own fields other than Content-* (protected
            // header fields) are kept; its Content-* fields describe the layer.
            splitter.write_fields(&mut self.out(), FieldSet::Outer)?;
        }
        let stage: Next<'c> = match (ctx.peel, kind) {
            (Peel::Signatures, EntityKind::MultipartSigned) => {
                let boundary = splitter
                    .boundary()
                    .ok_or(Failure::Core(smime_core::Error::new(ErrorKind::Mime(
                        MimeError::InvalidBoundary,
                    ))))?;
                let next: Next<'c> = Box::new(Lazy::new(ctx, self.level + 1)?);
                let reader = MultipartSignedReader::new(
                    next,
                    boundary,
                    info.micalg,
                    ctx.field_buf()?,
                    ctx.scratch()?,
                    VerifyOptions {
                        extra_certificates: ctx.extra,
                    },
                )?;
                Box::new(ClearSigned { reader, ctx })
            }
            (
                Peel::Signatures,
                EntityKind::Pkcs7Mime(Some(SmimeType::SignedData | SmimeType::CertsOnly)),
            ) => {
                let next: Next<'c> = Box::new(Lazy::new(ctx, self.level + 1)?);
                let dec = SignedDataDecoder::new(
                    next,
                    ctx.scratch()?,
                    VerifyOptions {
                        extra_certificates: ctx.extra,
                    },
                );
                Box::new(Opaque {
                    body: BodyDecoder::new(info.transfer_encoding, dec)?,
                    ctx,
                })
            }
            (
                Peel::Encryption,
                EntityKind::Pkcs7Mime(Some(
                    SmimeType::EnvelopedData | SmimeType::AuthEnvelopedData,
                )),
            ) => {
                let ring = ctx.rings.borrow_mut().next().ok_or_else(|| {
                    Failure::Tool(Error::msg(format_args!(
                        "more than {MAX_ENVELOPES} nested encryption layers"
                    )))
                })?;
                let KeyRing { keys, labels } = ring;
                let next: Next<'c> = Box::new(Lazy::new(ctx, self.level + 1)?);
                let dec = EnvelopedDataDecoder::<_, _, _>::new(
                    next,
                    keys.as_mut_slice(),
                    SysRng,
                    ctx.scratch()?,
                    DecryptOptions::default(),
                );
                Box::new(Envelope {
                    body: BodyDecoder::new(info.transfer_encoding, dec)?,
                    labels,
                    ctx,
                })
            }
            (peel, kind) if self.level == 1 => return Err(Failure::Tool(wrong_kind(peel, kind))),
            (_, kind) => {
                // The content: its own header fields, then its body as it is.
                let mut out = self.out();
                let set = if self.level > 1 { FieldSet::All } else { FieldSet::Content };
                splitter.write_fields(&mut out, set)?;
                out.write_all(b"\r\n").map_err(write_failure)?;
                ctx.layers.borrow_mut().push(Layer::Content(kind));
                return Ok(State::Pass);
            }
        };
        Ok(State::Body(stage))
    }
}

fn write_failure(e: std::io::Error) -> Failure {
    Failure::Tool(Error::msg(format_args!("writing the output: {e}")))
}

/// What the command says when the message is not what it takes apart.
fn wrong_kind(peel: Peel, kind: EntityKind) -> Error {
    match (peel, kind) {
        (Peel::Signatures, EntityKind::Pkcs7Mime(Some(SmimeType::EnvelopedData))) => Error::msg(
            "the message is encrypted (enveloped-data), not signed: decrypt it first with \
             `smime decrypt`",
        ),
        (Peel::Signatures, EntityKind::Pkcs7Mime(Some(SmimeType::AuthEnvelopedData))) => {
            Error::msg("the message is encrypted (authEnveloped-data), not signed")
        }
        (Peel::Encryption, EntityKind::MultipartSigned)
        | (Peel::Encryption, EntityKind::Pkcs7Mime(Some(SmimeType::SignedData))) => Error::msg(
            "the message is signed, not encrypted: check it with `smime verify` (its output is \
             the signed content)",
        ),
        (_, EntityKind::Pkcs7Mime(Some(t))) => Error::msg(format_args!(
            "the message is S/MIME {}, which this command does not read",
            t.as_str()
        )),
        (_, EntityKind::Pkcs7Mime(None)) => {
            Error::msg("the message's application/pkcs7-mime body is not a CMS message")
        }
        _ => Error::msg(
            "not an S/MIME message: no multipart/signed or application/pkcs7-mime entity \
             (give --inform der or --inform pem for bare CMS)",
        ),
    }
}

enum SniffResult {
    More,
    Found(SmimeType),
    Unknown,
}

/// Looks at the first bytes of a held pkcs7-mime body (base64 or binary).
fn sniff_body(held: &[u8]) -> SniffResult {
    const LIMIT: usize = 16 * 1024;
    if let Some(t) = sniff(held) {
        return SniffResult::Found(t);
    }
    let chars: Vec<u8> = held
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(SNIFF_LEN / 3 * 4)
        .collect();
    if chars.len() < SNIFF_LEN / 3 * 4 {
        return if held.len() > LIMIT {
            SniffResult::Unknown
        } else {
            SniffResult::More
        };
    }
    let mut buf = [0u8; SNIFF_LEN];
    match <base64ct::Base64 as base64ct::Encoding>::decode(&chars, &mut buf) {
        Ok(bytes) => sniff(bytes).map_or(SniffResult::Unknown, SniffResult::Found),
        Err(_) => SniffResult::Unknown,
    }
}

impl<'c, 'a: 'c> embedded_io::ErrorType for Lazy<'c, 'a> {
    type Error = smime_core::Error;
}

impl<'c, 'a: 'c> embedded_io::Write for Lazy<'c, 'a> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, smime_core::Error> {
        match self.feed(buf) {
            Ok(()) => Ok(buf.len()),
            Err(f) => Err(self.ctx.fail(f)),
        }
    }

    fn flush(&mut self) -> Result<(), smime_core::Error> {
        Ok(())
    }
}

impl<'c, 'a: 'c> Stage for Lazy<'c, 'a> {
    fn finish(mut self: Box<Self>) -> Result<(), Failure> {
        let ctx = self.ctx;
        let r = (|| -> Result<(), Failure> {
            match std::mem::replace(&mut self.state, State::Failed) {
                State::Headers(mut s, _) => {
                    // A header block with no empty line and no body.
                    let mut out = self.out();
                    s.finish(&mut out)?;
                    self.state = self.start(s, None)?;
                    match std::mem::replace(&mut self.state, State::Failed) {
                        State::Body(next) => next.finish(),
                        State::Sniff(..) => {
                            Err(Failure::Core(smime_core::Error::new(ErrorKind::Truncated)))
                        }
                        _ => Ok(()),
                    }
                }
                State::Sniff(s, held) => {
                    let t = match sniff_body(&held) {
                        SniffResult::Found(t) => Some(t),
                        _ => None,
                    };
                    self.state = self.start(s, Some(t))?;
                    self.body(&held)?;
                    match std::mem::replace(&mut self.state, State::Failed) {
                        State::Body(next) => next.finish(),
                        _ => Ok(()),
                    }
                }
                State::Body(next) => next.finish(),
                State::Pass => Ok(()),
                State::Failed => Err(Failure::Core(smime_core::Error::new(
                    ErrorKind::InvalidState,
                ))),
            }
        })();
        r.map_err(|f| {
            let e = ctx.fail(f);
            ctx.error.borrow_mut().take().unwrap_or(Failure::Core(e))
        })
    }
}

struct ClearSigned<'c, 'a> {
    reader: MultipartSignedReader<'a, Next<'c>>,
    ctx: &'c Ctx<'a>,
}

impl embedded_io::ErrorType for ClearSigned<'_, '_> {
    type Error = smime_core::Error;
}

impl embedded_io::Write for ClearSigned<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, smime_core::Error> {
        self.reader.write(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), smime_core::Error> {
        Ok(())
    }
}

impl Stage for ClearSigned<'_, '_> {
    fn finish(self: Box<Self>) -> Result<(), Failure> {
        let (next, report, info) = self.reader.finish()?;
        self.ctx.layers.borrow_mut().push(Layer::Signed {
            report,
            mime: Some(info),
        });
        next.finish()
    }
}

struct Opaque<'c, 'a> {
    body: BodyDecoder<SignedDataDecoder<'a, Next<'c>>>,
    ctx: &'c Ctx<'a>,
}

impl embedded_io::ErrorType for Opaque<'_, '_> {
    type Error = smime_core::Error;
}

impl embedded_io::Write for Opaque<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, smime_core::Error> {
        self.body.write(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), smime_core::Error> {
        Ok(())
    }
}

impl Stage for Opaque<'_, '_> {
    fn finish(self: Box<Self>) -> Result<(), Failure> {
        let (next, report) = self.body.finish()?.finish()?;
        self.ctx
            .layers
            .borrow_mut()
            .push(Layer::Signed { report, mime: None });
        next.finish()
    }
}

struct Envelope<'c, 'a> {
    body: BodyDecoder<EnvelopedDataDecoder<'a, 'a, crate::keys::AnyKey, SysRng, Next<'c>>>,
    labels: &'a [String],
    ctx: &'c Ctx<'a>,
}

impl embedded_io::ErrorType for Envelope<'_, '_> {
    type Error = smime_core::Error;
}

impl embedded_io::Write for Envelope<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, smime_core::Error> {
        self.body.write(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), smime_core::Error> {
        Ok(())
    }
}

impl Stage for Envelope<'_, '_> {
    fn finish(self: Box<Self>) -> Result<(), Failure> {
        let (next, report) = self.body.finish()?.finish()?;
        let key = self
            .labels
            .get(report.key_index)
            .cloned()
            .unwrap_or_default();
        self.ctx
            .layers
            .borrow_mut()
            .push(Layer::Decrypted { report, key });
        next.finish()
    }
}

/// Reads the first bytes of the input (to tell its form).
pub fn read_first(input: &mut Input) -> crate::Result<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let n = input.read_some(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Buffers for reading the header block of the input message.
#[derive(Debug)]
pub struct HeaderBuffers {
    field: Vec<u8>,
    content: Vec<u8>,
}

impl HeaderBuffers {
    /// Room for one field of [`FIELD_LEN`] and the `Content-*` fields.
    pub fn new() -> Self {
        Self {
            field: vec![0u8; FIELD_LEN],
            content: vec![0u8; FIELD_LEN],
        }
    }
}

impl Default for HeaderBuffers {
    fn default() -> Self {
        Self::new()
    }
}

/// The content to protect: the input message's content entity (its header
/// block read, its body still streaming), or raw bytes.
pub struct Content<'b> {
    splitter: Option<MessageSplitter<'b>>,
    rest: Vec<u8>,
}

impl Content<'_> {
    /// Whether the input message had a MIME-Version field (raw input: no).
    pub fn has_mime_version(&self) -> bool {
        self.splitter
            .as_ref()
            .is_some_and(|s| s.info().has_mime_version)
    }
}

/// Reads the header block of the input message; its outer fields (From, To,
/// Subject, ...) are written to `outer` at once. With `mail` false the input
/// is raw content and nothing is read.
pub fn read_content<'b, W: embedded_io::Write>(
    mail: bool,
    bufs: &'b mut HeaderBuffers,
    input: &mut Input,
    outer: &mut W,
) -> Result<Content<'b>, Failure> {
    if !mail {
        return Ok(Content {
            splitter: None,
            rest: Vec::new(),
        });
    }
    let mut splitter = MessageSplitter::new(&mut bufs.field, &mut bufs.content);
    let mut buf = vec![0u8; crate::io::CHUNK];
    loop {
        let n = input.read_some(&mut buf)?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            splitter.finish(outer)?;
            return Ok(Content {
                splitter: Some(splitter),
                rest: Vec::new(),
            });
        };
        let (used, done) = splitter.push(chunk, outer)?;
        if done {
            let rest = chunk.get(used..).unwrap_or(&[]).to_vec();
            return Ok(Content {
                splitter: Some(splitter),
                rest,
            });
        }
    }
}

/// Whether the entity goes into a multipart/signed (transport-safe body
/// needed) or inside CMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The first part of a multipart/signed.
    ClearSigned,
    /// The content of a CMS message, as a MIME entity.
    Cms,
    /// The content of a CMS message, bytes as they are (DER/PEM output of
    /// raw input).
    Raw,
}

/// Writes the content (entity header, then the body in the encoding it
/// needs) into `sink`; returns the sink.
pub fn write_content<W>(
    content: Content<'_>,
    input: &mut Input,
    mut sink: W,
    into: Place,
) -> Result<W, Failure>
where
    W: embedded_io::Write<Error = smime_core::Error>,
{
    use smime_core::mime::BodyEncoder;
    use smime_core::mime::base64::Base64Encoder;
    let Content { splitter, rest } = content;
    match splitter {
        None if into == Place::Raw => {
            sink.write_all(&rest)?;
            input.for_each_chunk(|c| sink.write_all(c).map_err(Failure::Core))?;
            Ok(sink)
        }
        None => {
            // Raw bytes as a MIME entity: base64, so nothing is changed.
            sink.write_all(
                b"Content-Type: application/octet-stream\r\n\
                  Content-Disposition: attachment\r\n\
                  Content-Transfer-Encoding: base64\r\n\r\n",
            )?;
            let mut b64 = Base64Encoder::new(sink);
            b64.write(&rest)?;
            input.for_each_chunk(|c| b64.write(c).map_err(Failure::Core))?;
            Ok(b64.finish()?)
        }
        Some(s) => {
            let info = s.info();
            let base64 = into == Place::ClearSigned && info.needs_base64_for_signing();
            s.write_entity_header(&mut sink, base64)?;
            let mut enc = if into == Place::ClearSigned {
                BodyEncoder::for_signing(&info, sink)
            } else {
                BodyEncoder::for_cms(&info, sink)
            };
            enc.write(&rest)?;
            input.for_each_chunk(|c| enc.write(c).map_err(Failure::Core))?;
            Ok(enc.finish()?)
        }
    }
}

// ---------------------------------------------------------------------------
// Two threads
// ---------------------------------------------------------------------------

/// Size of the pieces handed from one thread to the other.
const PIECE: usize = 64 * 1024;
/// Pieces in flight at most.
const IN_FLIGHT: usize = 4;

enum Piece {
    Data(Vec<u8>),
    End,
}

/// The writing end of a bounded channel of byte pieces (see [`channel`]).
#[derive(Debug)]
pub struct PieceSender {
    tx: std::sync::mpsc::SyncSender<Piece>,
    buf: Vec<u8>,
}

/// The reading end of a bounded channel of byte pieces.
#[derive(Debug)]
pub struct PieceReceiver {
    rx: std::sync::mpsc::Receiver<Piece>,
}

/// A bounded channel that carries a byte stream from one thread to another
/// in 64 KiB pieces (at most four in flight: memory stays constant).
pub fn channel() -> (PieceSender, PieceReceiver) {
    let (tx, rx) = std::sync::mpsc::sync_channel(IN_FLIGHT);
    (
        PieceSender {
            tx,
            buf: Vec::with_capacity(PIECE),
        },
        PieceReceiver { rx },
    )
}

fn gone() -> smime_core::Error {
    smime_core::Error::new(ErrorKind::Io(embedded_io::ErrorKind::BrokenPipe))
}

impl PieceSender {
    fn send_buf(&mut self) -> Result<(), smime_core::Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE));
        self.tx.send(Piece::Data(full)).map_err(|_| gone())
    }

    /// Sends what is buffered and marks the end of the stream: without it,
    /// the receiver treats the stream as broken off.
    pub fn end(mut self) -> Result<(), smime_core::Error> {
        self.send_buf()?;
        self.tx.send(Piece::End).map_err(|_| gone())
    }
}

impl embedded_io::ErrorType for PieceSender {
    type Error = smime_core::Error;
}

impl embedded_io::Write for PieceSender {
    fn write(&mut self, data: &[u8]) -> Result<usize, smime_core::Error> {
        let room = PIECE - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(data.get(..n).unwrap_or(&[]));
        if self.buf.len() >= PIECE {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), smime_core::Error> {
        Ok(())
    }
}

impl PieceReceiver {
    /// Writes every piece into `sink` until the end mark; a stream broken
    /// off before it is an error.
    pub fn drain_into<W>(self, sink: &mut W) -> Result<(), Failure>
    where
        W: embedded_io::Write<Error = smime_core::Error>,
    {
        for piece in self.rx {
            match piece {
                Piece::Data(d) => sink.write_all(&d)?,
                Piece::End => return Ok(()),
            }
        }
        Err(Failure::Tool(Error::msg(
            "the signed message was broken off",
        )))
    }
}
