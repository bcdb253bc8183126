//! SignedData (RFC 5652 §5): streaming signature verification.
//!
//! ```text
//! ContentInfo ::= SEQUENCE {
//!   contentType ContentType,                      -- id-signedData
//!   content [0] EXPLICIT ANY DEFINED BY contentType }
//!
//! SignedData ::= SEQUENCE {
//!   version CMSVersion,
//!   digestAlgorithms DigestAlgorithmIdentifiers,  -- SET OF AlgorithmIdentifier
//!   encapContentInfo EncapsulatedContentInfo,
//!   certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!   crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!   signerInfos SignerInfos }                     -- SET OF SignerInfo
//!
//! EncapsulatedContentInfo ::= SEQUENCE {
//!   eContentType ContentType,
//!   eContent [0] EXPLICIT OCTET STRING OPTIONAL }
//!
//! SignerInfo ::= SEQUENCE {
//!   version CMSVersion,
//!   sid SignerIdentifier,      -- issuerAndSerialNumber | [0] SubjectKeyIdentifier
//!   digestAlgorithm DigestAlgorithmIdentifier,
//!   signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
//!   signatureAlgorithm SignatureAlgorithmIdentifier,
//!   signature SignatureValue,  -- OCTET STRING
//!   unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
//!
//! Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }
//! ```
//!
//! # Decoding
//!
//! [`SignedDataDecoder`] takes the ContentInfo in chunks of any size. The
//! encapsulated content is hashed with every digest algorithm the message
//! lists in `digestAlgorithms` (SHA-1, SHA-256, SHA-384, SHA-512; others are
//! counted in [`SignedDataReport::unknown_digest_algorithms`]) as it passes,
//! and written to the sink. BER is accepted everywhere: indefinite lengths,
//! constructed OCTET STRINGs of any chunking (`openssl cms -sign -stream`,
//! gpgsm, Outlook).
//!
//! The certificates (`[0]`) and CRLs (`[1]`) of the message are kept in the
//! caller's scratch buffer, one after the other; a certificate that does not
//! parse (or another `CertificateChoices` alternative) is counted and dropped.
//! Each SignerInfo is captured into the rest of the scratch and checked as
//! soon as it is complete; its `unsignedAttrs` (countersignatures,
//! timestamps, ...) are passed through, not interpreted
//! ([`SignerReport::unsigned_attributes`]):
//!
//! 1. the signer certificate is looked up by issuer and serial number or by
//!    subject key identifier, among the message's certificates, then the
//!    caller's [`VerifyOptions::extra_certificates`];
//! 2. with signed attributes, `contentType` must equal `eContentType` and
//!    `messageDigest` the digest of the content; the signature covers the DER
//!    of the signed attributes with their `[0]` tag replaced by `SET` (0x31);
//! 3. without signed attributes, `eContentType` must be id-data and the
//!    signature covers the content digest itself (not possible for Ed25519,
//!    which signs the content itself: reported as unsupported).
//!
//! Detached signatures (multipart/signed, where the content comes first) use
//! [`SignedDataDecoder::detached`] with the [`ContentDigests`] of the content.
//!
//! # What `finish` says
//!
//! [`SignedDataDecoder::finish`] returns `Err` only for structural problems
//! (malformed or truncated input, scratch too small, sink errors). A signature
//! that does not verify is **not** an error: it is a [`SignerStatus`] in the
//! report. Callers must check [`SignedDataReport::all_valid`] (or each
//! signer's status) before trusting the content. Certification path
//! validation of the signer certificate is separate ([`crate::x509::path`]).
//!
//! # Memory
//!
//! The decoder holds `MAX_DIGESTS` running hashes (about 200 bytes each), the
//! tokenizer, and results for [`MAX_SIGNERS`] signers. Everything else lives
//! in the caller's scratch: all certificates and CRLs of the message, plus
//! room for the largest single SignerInfo (with its unsigned attributes),
//! plus the encryption key preferences and unsigned attributes kept for the
//! report.
//! [`DEFAULT_SCRATCH_LEN`] fits a message with a handful of certificates.

use embedded_io::Write;

use super::recipient::Rid;
use crate::backend::HashAlgorithm;
use crate::ber::encode::EOC;
use crate::ber::{Header, Length, SliceReader, Tag, Tlv, Token, Tokenizer};
use crate::digest::{Digest, Hasher};
use crate::error::{Error, ErrorKind, Result, io_err};
use crate::oid;
use crate::pubkey::signature::{SignatureAlgorithm, verify_message, verify_prehashed};
use crate::x509::{CertificateRef, Time};

/// A scratch size that holds a few certificates and CRLs and a SignerInfo.
pub const DEFAULT_SCRATCH_LEN: usize = 16 * 1024;
/// Number of signers whose results a report keeps; later signers are counted
/// in [`SignedDataReport::unchecked_signers`] and not checked.
pub const MAX_SIGNERS: usize = 4;
/// Longest content-type OID kept in a [`SignedDataReport`].
pub const MAX_OID_LEN: usize = 32;

/// id-contentType, 1.2.840.113549.1.9.3
pub const ATTR_CONTENT_TYPE: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03];
/// id-messageDigest, 1.2.840.113549.1.9.4
pub const ATTR_MESSAGE_DIGEST: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04];
/// id-signingTime, 1.2.840.113549.1.9.5
pub const ATTR_SIGNING_TIME: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x05];
/// smimeCapabilities, 1.2.840.113549.1.9.15
pub const ATTR_SMIME_CAPABILITIES: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x0F];
/// id-aa-encrypKeyPref (SMIMEEncryptionKeyPreference), 1.2.840.113549.1.9.16.2.11
pub const ATTR_ENCRYPTION_KEY_PREFERENCE: &[u8] =
    &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x02, 0x0B];

fn put<W: Write>(sink: &mut W, bytes: &[u8]) -> Result<()> {
    sink.write_all(bytes).map_err(io_err)
}

fn alg_index(h: HashAlgorithm) -> usize {
    match h {
        HashAlgorithm::Sha1 => 0,
        HashAlgorithm::Sha256 => 1,
        HashAlgorithm::Sha384 => 2,
        HashAlgorithm::Sha512 => 3,
    }
}

// ---------------------------------------------------------------------------
// Content digests for detached signatures
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Slot {
    Off,
    Running(Hasher),
    Done(Digest),
}

/// The digests of a detached content, computed before its signature is seen
/// (multipart/signed puts the content first).
///
/// Hash the content with [`update`](Self::update), call
/// [`finish`](Self::finish), then pass it to [`SignedDataDecoder::detached`].
#[derive(Clone, Debug)]
pub struct ContentDigests {
    slots: [Slot; 4],
    finished: bool,
}

impl ContentDigests {
    /// Digests with each of `algs` (duplicates are fine).
    pub fn new(algs: &[HashAlgorithm]) -> Self {
        let mut slots = [const { Slot::Off }; 4];
        for &a in algs {
            if let Some(s) = slots.get_mut(alg_index(a)) {
                *s = Slot::Running(Hasher::new(a));
            }
        }
        Self { slots, finished: false }
    }

    /// Digests with all four algorithms (when the signature's algorithms are
    /// not known in advance).
    pub fn all() -> Self {
        Self::new(&HashAlgorithm::ALL)
    }

    /// Feeds content. After [`finish`](Self::finish) this is
    /// [`ErrorKind::InvalidState`].
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        if self.finished {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        for s in &mut self.slots {
            if let Slot::Running(h) = s {
                h.update(data);
            }
        }
        Ok(())
    }

    /// Ends the content: the digests are final.
    pub fn finish(&mut self) {
        for s in &mut self.slots {
            if let Slot::Running(h) = s {
                let d = h.clone().finalize();
                *s = Slot::Done(d);
            }
        }
        self.finished = true;
    }

    /// Whether [`finish`](Self::finish) was called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The digest with `alg`, if it was computed and finished.
    pub fn digest(&self, alg: HashAlgorithm) -> Option<Digest> {
        match self.slots.get(alg_index(alg)) {
            Some(Slot::Done(d)) => Some(*d),
            _ => None,
        }
    }
}

impl embedded_io::ErrorType for ContentDigests {
    type Error = Error;
}

impl embedded_io::Write for ContentDigests {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        self.update(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Options and report
// ---------------------------------------------------------------------------

/// Options for [`SignedDataDecoder`].
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyOptions<'s> {
    /// Certificates to look signers up in besides those in the message
    /// (messages made with `-nocerts`, a known correspondent's certificate).
    pub extra_certificates: &'s [CertificateRef<'s>],
}

/// The outcome of one signer's checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerStatus {
    /// The signature verifies over the content (and the signed attributes).
    /// Path validation of the signer certificate is still the caller's.
    Valid,
    /// The signature does not verify with the signer certificate's key.
    BadSignature,
    /// The messageDigest attribute differs from the content's digest (or has
    /// the wrong length).
    DigestMismatch,
    /// The contentType attribute differs from `eContentType`.
    ContentTypeMismatch,
    /// A required signed attribute (contentType, messageDigest) is absent, or
    /// signed attributes are absent while `eContentType` is not id-data.
    MissingAttribute,
    /// A signed attribute is malformed, has the wrong number of values, or
    /// appears twice (RFC 5652 §5.3 forbids it).
    InvalidAttribute,
    /// No certificate in the message or in the options matches the signer
    /// identifier.
    SignerCertificateNotFound,
    /// The digest, signature or key algorithm is not supported (DSA, MD5,
    /// another curve), or does not fit the digest algorithm.
    UnsupportedAlgorithm,
    /// The content's digest with the signer's digest algorithm was not
    /// computed: the algorithm is not listed in `digestAlgorithms` (or, in
    /// detached mode, not in the [`ContentDigests`]).
    DigestNotComputed,
    /// The content is detached and no [`ContentDigests`] were given: only the
    /// structure and the certificates could be read.
    DetachedContent,
}

/// Where the signer certificate was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CertAt {
    None,
    /// Offset and length in the kept certificates.
    Message(usize, usize),
    /// Index in the options' extra certificates.
    Extra(usize),
}

/// One signer's results while decoding (no borrows).
#[derive(Clone, Copy, Debug)]
struct SignerRecord {
    index: usize,
    cert: CertAt,
    digest: Option<HashAlgorithm>,
    signature: Option<SignatureAlgorithm>,
    signing_time: Option<Time>,
    status: SignerStatus,
    weak: bool,
    has_smime_capabilities: bool,
    /// Offset and length of the SMIMECapabilities value in scratch.
    caps: Option<(usize, usize)>,
    /// Offset and length of the SMIMEEncryptionKeyPreference value in scratch.
    ekp: Option<(usize, usize)>,
    /// Offset and length of the unsigned attributes' content in scratch.
    unsigned: Option<(usize, usize)>,
}

const EMPTY_RECORD: SignerRecord = SignerRecord {
    index: 0,
    cert: CertAt::None,
    digest: None,
    signature: None,
    signing_time: None,
    status: SignerStatus::SignerCertificateNotFound,
    weak: false,
    has_smime_capabilities: false,
    caps: None,
    ekp: None,
    unsigned: None,
};

/// What was found about one SignerInfo.
#[derive(Clone, Copy, Debug)]
pub struct SignerReport<'s> {
    /// Position of the SignerInfo in `signerInfos` (from 0).
    pub index: usize,
    /// The signer certificate, if found (in the message or the options).
    pub signer_cert: Option<CertificateRef<'s>>,
    /// The digest algorithm; `None` if it is not supported.
    pub digest: Option<HashAlgorithm>,
    /// The signature algorithm; `None` if it is not supported.
    pub signature: Option<SignatureAlgorithm>,
    /// The signingTime signed attribute, if present and well-formed.
    pub signing_time: Option<Time>,
    /// The outcome. Only [`SignerStatus::Valid`] means the signature holds.
    pub status: SignerStatus,
    /// Whether the signature rests on SHA-1 (digest or signature algorithm).
    pub weak: bool,
    /// Whether the signed attributes include smimeCapabilities.
    pub has_smime_capabilities: bool,
    /// The DER of the smimeCapabilities attribute's value (the `SEQUENCE OF
    /// SMIMECapability`, RFC 8551 §2.5.2), if present with one value: what
    /// [`capabilities::choose_cipher`](super::capabilities::choose_cipher)
    /// takes. Only as trustworthy as the signature ([`Self::is_valid`]).
    pub smime_capabilities: Option<&'s [u8]>,
    /// The DER of the SMIMEEncryptionKeyPreference attribute's value (RFC 8551
    /// §2.5.3: the certificate the sender wants to be encrypted to), if present
    /// among the signed attributes.
    pub encryption_key_preference: Option<&'s [u8]>,
    /// The content octets of the SignerInfo's `unsignedAttrs [1]` (the
    /// `Attribute` TLVs one after the other), if present, passed through as
    /// they came. **They are not covered by the signature**: anyone may have
    /// added, changed or removed them; a valid status says nothing about them.
    pub unsigned_attributes: Option<&'s [u8]>,
}

impl SignerReport<'_> {
    /// Whether this signer's signature holds.
    pub fn is_valid(&self) -> bool {
        self.status == SignerStatus::Valid
    }
}

/// What [`SignedDataDecoder::finish`] found. Borrows the scratch buffer (the
/// certificates, CRLs, encryption-key preferences and unsigned attributes
/// live there).
///
/// **Check [`all_valid`](Self::all_valid)** (or each signer's status): an
/// `Ok` report may hold signers whose signatures do not verify.
#[derive(Clone, Debug)]
pub struct SignedDataReport<'s> {
    kept: &'s [u8],
    certs_end: usize,
    crls_end: usize,
    content_type: [u8; MAX_OID_LEN],
    content_type_len: usize,
    signers: [SignerReport<'s>; MAX_SIGNERS],
    signer_count: usize,
    /// SignerInfos beyond [`MAX_SIGNERS`], not checked.
    pub unchecked_signers: usize,
    /// Digest algorithms listed in `digestAlgorithms` that are not supported
    /// (the content was not hashed with them).
    pub unknown_digest_algorithms: usize,
    /// Certificate-set entries that were dropped: other `CertificateChoices`
    /// (attribute certificates) and certificates that do not parse.
    pub skipped_certificates: usize,
    /// The SignedData version.
    pub version: u32,
    /// Whether the message carried no encapsulated content (detached
    /// signature or certificates-only message).
    pub detached: bool,
}

impl<'s> SignedDataReport<'s> {
    /// The certificates the message carries, in order.
    pub fn certificates(&self) -> impl Iterator<Item = CertificateRef<'s>> + 's {
        let mut r = SliceReader::new(self.kept.get(..self.certs_end).unwrap_or(&[]));
        core::iter::from_fn(move || {
            let t = r.next_tlv().ok().flatten()?;
            CertificateRef::from_der(t.raw).ok()
        })
    }

    /// The DER of each CRL the message carries (`RevocationInfoChoice`s of
    /// the `CertificateList` kind), in order.
    pub fn crls(&self) -> impl Iterator<Item = &'s [u8]> + 's {
        let mut r = SliceReader::new(self.kept.get(self.certs_end..self.crls_end).unwrap_or(&[]));
        core::iter::from_fn(move || Some(r.next_tlv().ok().flatten()?.raw))
    }

    /// The encapsulated content type's OID content octets (id-data for mail).
    pub fn content_type(&self) -> &[u8] {
        self.content_type.get(..self.content_type_len).unwrap_or(&[])
    }

    /// The checked signers, in message order (at most [`MAX_SIGNERS`]).
    pub fn signers(&self) -> &[SignerReport<'s>] {
        self.signers.get(..self.signer_count).unwrap_or(&[])
    }

    /// Whether there is at least one signer, every signer was checked, and
    /// every signature is [`SignerStatus::Valid`]. Path validation of the
    /// signer certificates is still the caller's.
    pub fn all_valid(&self) -> bool {
        self.signer_count > 0
            && self.unchecked_signers == 0
            && self.signers().iter().all(SignerReport::is_valid)
    }
}

// ---------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    ContentInfo,
    ContentType,
    Explicit,
    SignedData,
    Version,
    DigestAlgs,
    Eci,
    EContentType,
    EContent,
    /// Inside `eContent [0]`, before the OCTET STRING.
    InEContent,
    /// After the OCTET STRING, before the end of `eContent [0]`.
    EContentClose,
    /// After `eContent`, before the end of EncapsulatedContentInfo.
    EciClose,
    /// After EncapsulatedContentInfo: certificates, crls or signerInfos.
    Certs,
    InCerts,
    Crls,
    InCrls,
    Signers,
    InSigners,
    InSignerInfo,
    /// Closing: SignedData, `[0]`, ContentInfo (this many ends to go).
    Closing(u8),
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Normal,
    /// Capturing the element opened at this depth into scratch.
    Capture(usize),
    /// Inside the content OCTET STRING opened at this depth.
    Content(usize),
}

/// Streaming SignedData verifier: ContentInfo in, content out, a
/// [`SignedDataReport`] at the end.
///
/// `MAX_DIGESTS` is the number of content digests computed at once (default
/// 4: every supported algorithm). See the [module docs](self).
pub struct SignedDataDecoder<'s, W: Write, const MAX_DIGESTS: usize = 4> {
    sink: W,
    scratch: &'s mut [u8],
    options: VerifyOptions<'s>,
    tok: Tokenizer,
    state: State,
    mode: Mode,
    /// End of the kept certificates (they start at 0).
    certs_end: usize,
    /// End of the kept CRLs (they start at `certs_end`).
    crls_end: usize,
    /// End of everything kept (certificates, CRLs, key preferences,
    /// unsigned attributes).
    kept_end: usize,
    /// Length of the current capture (which starts at `kept_end`).
    cap_len: usize,
    version: u32,
    hashers: [Option<Hasher>; MAX_DIGESTS],
    digests: [Option<Digest>; 4],
    /// A second form of the detached content's digests, tried when the
    /// first does not verify.
    alt_digests: [Option<Digest>; 4],
    unknown_digests: usize,
    detached_mode: bool,
    content_seen: bool,
    content_type: [u8; MAX_OID_LEN],
    content_type_len: usize,
    signers: [SignerRecord; MAX_SIGNERS],
    signer_total: usize,
    skipped_certs: usize,
    /// Fields of the current SignerInfo seen so far.
    signer_fields: usize,
    /// Where the current SignerInfo's `unsignedAttrs` start in its capture.
    unsigned_at: Option<usize>,
    poisoned: bool,
}

impl<'s, W: Write, const MAX_DIGESTS: usize> SignedDataDecoder<'s, W, MAX_DIGESTS> {
    /// A decoder for a message with its content inside (or a
    /// certificates-only message), writing the content to `sink`.
    pub fn new(sink: W, scratch: &'s mut [u8], options: VerifyOptions<'s>) -> Self {
        Self {
            sink,
            scratch,
            options,
            tok: Tokenizer::new(),
            state: State::ContentInfo,
            mode: Mode::Normal,
            certs_end: 0,
            crls_end: 0,
            kept_end: 0,
            cap_len: 0,
            version: 0,
            hashers: [const { None }; MAX_DIGESTS],
            digests: [None; 4],
            alt_digests: [None; 4],
            unknown_digests: 0,
            detached_mode: false,
            content_seen: false,
            content_type: [0; MAX_OID_LEN],
            content_type_len: 0,
            signers: [EMPTY_RECORD; MAX_SIGNERS],
            signer_total: 0,
            skipped_certs: 0,
            signer_fields: 0,
            unsigned_at: None,
            poisoned: false,
        }
    }

    /// A decoder for a detached signature whose content was hashed beforehand
    /// into `content_digests` (finished or not: running digests are finished
    /// on a copy). A message that carries content itself is then
    /// [`ErrorKind::InvalidValue`]: the signed content would be ambiguous.
    /// Nothing is written to `sink`.
    pub fn detached(
        sink: W,
        scratch: &'s mut [u8],
        options: VerifyOptions<'s>,
        content_digests: &ContentDigests,
    ) -> Self {
        let mut s = Self::new(sink, scratch, options);
        s.detached_mode = true;
        for (d, slot) in s.digests.iter_mut().zip(&content_digests.slots) {
            *d = match slot {
                Slot::Off => None,
                Slot::Running(h) => Some(h.clone().finalize()),
                Slot::Done(x) => Some(*x),
            };
        }
        s
    }

    /// For a detached signature: a second form of the content, hashed into
    /// `digests`, that a signer may have signed instead (a multipart/signed
    /// part that was signed as binary, bare line ends and all, while the
    /// first form is its canonical CRLF form). A signer that does not verify
    /// with the first is checked with these.
    pub fn with_alternative_digests(mut self, digests: &ContentDigests) -> Self {
        for (d, slot) in self.alt_digests.iter_mut().zip(&digests.slots) {
            *d = match slot {
                Slot::Off => None,
                Slot::Running(h) => Some(h.clone().finalize()),
                Slot::Done(x) => Some(*x),
            };
        }
        self
    }

    /// Feeds the next part of the message (any size). Writes content to the
    /// sink as it passes; it is verified content only once
    /// [`finish`](Self::finish) says so.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.poisoned {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let r = self.feed(data);
        if r.is_err() {
            self.poisoned = true;
        }
        r
    }

    fn feed(&mut self, data: &[u8]) -> Result<()> {
        let mut pos = 0;
        loop {
            let at = self.tok.offset();
            let rest = data.get(pos..).unwrap_or(&[]);
            let (n, tok) = self.tok.next(rest)?;
            pos += n;
            match tok {
                None => return Ok(()),
                Some(t) => self.on_token(t).map_err(|e| e.or_at(at))?,
            }
        }
    }

    /// Checks that the message was complete; returns the sink and the report.
    ///
    /// `Err` means a structural problem (malformed, truncated, scratch too
    /// small). `Ok` does **not** mean the signatures hold: check
    /// [`SignedDataReport::all_valid`].
    pub fn finish(mut self) -> Result<(W, SignedDataReport<'s>)> {
        if self.poisoned {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        self.tok.finish()?;
        if self.state != State::Done {
            return Err(Error::at(ErrorKind::Truncated, self.tok.offset()));
        }
        self.sink.flush().map_err(io_err)?;
        let Self { sink, scratch, options, .. } = self;
        let scratch: &'s [u8] = scratch;
        let kept = scratch.get(..self.kept_end).unwrap_or(&[]);
        let n = self.signer_total.min(MAX_SIGNERS);
        let records = self.signers;
        let signers = core::array::from_fn(|i| {
            let r = records.get(i).copied().unwrap_or(EMPTY_RECORD);
            let signer_cert = match r.cert {
                CertAt::None => None,
                CertAt::Message(at, len) => {
                    kept.get(at..at.saturating_add(len)).and_then(|d| CertificateRef::from_der(d).ok())
                }
                CertAt::Extra(i) => options.extra_certificates.get(i).copied(),
            };
            SignerReport {
                index: r.index,
                signer_cert,
                digest: r.digest,
                signature: r.signature,
                signing_time: r.signing_time,
                status: r.status,
                weak: r.weak,
                has_smime_capabilities: r.has_smime_capabilities,
                smime_capabilities: r.caps.and_then(|(at, len)| kept.get(at..at.saturating_add(len))),
                encryption_key_preference: r.ekp.and_then(|(at, len)| kept.get(at..at.saturating_add(len))),
                unsigned_attributes: r.unsigned.and_then(|(at, len)| kept.get(at..at.saturating_add(len))),
            }
        });
        Ok((
            sink,
            SignedDataReport {
                kept,
                certs_end: self.certs_end,
                crls_end: self.crls_end,
                content_type: self.content_type,
                content_type_len: self.content_type_len,
                signers,
                signer_count: n,
                unchecked_signers: self.signer_total - n,
                unknown_digest_algorithms: self.unknown_digests,
                skipped_certificates: self.skipped_certs,
                version: self.version,
                detached: !self.content_seen,
            },
        ))
    }

    fn on_token(&mut self, t: Token<'_>) -> Result<()> {
        match self.mode {
            Mode::Capture(d) => match t {
                Token::Start(h) => self.capture(h.raw()),
                Token::Data(b) => self.capture(b),
                Token::End(e) => {
                    if e.indefinite {
                        self.capture(&EOC)?;
                    }
                    if e.depth == d {
                        self.mode = Mode::Normal;
                        self.on_captured()?;
                    }
                    Ok(())
                }
            },
            Mode::Content(d) => match t {
                Token::Start(h) => {
                    if h.tag.same_type(&Tag::OCTET_STRING) {
                        Ok(())
                    } else {
                        Err(unexpected(Tag::OCTET_STRING, &h))
                    }
                }
                Token::Data(b) => self.content(b),
                Token::End(e) => {
                    if e.depth == d {
                        self.mode = Mode::Normal;
                        self.end_content();
                        self.state = State::EContentClose;
                    }
                    Ok(())
                }
            },
            Mode::Normal => match t {
                Token::Start(h) => self.on_start(&h),
                Token::End(_) => self.on_end(),
                Token::Data(_) => Err(Error::new(ErrorKind::InvalidEncoding)),
            },
        }
    }

    /// Starts capturing `h`'s element at `kept_end + cap_len` (appending when
    /// `append`), with `first` as its first identifier octet.
    fn begin_capture(&mut self, h: &Header, append: bool, first: Option<u8>) -> Result<()> {
        if !append {
            self.cap_len = 0;
        }
        if let Length::Definite(n) = h.length {
            let need = (self.kept_end as u64)
                .saturating_add(self.cap_len as u64)
                .saturating_add(h.raw().len() as u64)
                .saturating_add(n);
            if need > self.scratch.len() as u64 {
                return Err(Error::new(ErrorKind::BufferTooSmall {
                    required: usize::try_from(need).unwrap_or(usize::MAX),
                }));
            }
        }
        self.mode = Mode::Capture(h.depth);
        let at = self.kept_end + self.cap_len;
        self.capture(h.raw())?;
        if let (Some(b), Some(slot)) = (first, self.scratch.get_mut(at)) {
            *slot = b;
        }
        Ok(())
    }

    fn capture(&mut self, b: &[u8]) -> Result<()> {
        let start = self.kept_end + self.cap_len;
        let end = start.checked_add(b.len()).ok_or(Error::new(ErrorKind::LengthOverflow))?;
        let Some(dst) = self.scratch.get_mut(start..end) else {
            return Err(Error::new(ErrorKind::CapacityExceeded));
        };
        dst.copy_from_slice(b);
        self.cap_len += b.len();
        Ok(())
    }

    fn captured(&self) -> &[u8] {
        self.scratch.get(self.kept_end..self.kept_end + self.cap_len).unwrap_or(&[])
    }

    fn on_start(&mut self, h: &Header) -> Result<()> {
        match self.state {
            State::ContentInfo => {
                expect(h, Tag::SEQUENCE)?;
                self.state = State::ContentType;
                Ok(())
            }
            State::ContentType | State::EContentType => {
                expect(h, Tag::OID)?;
                self.begin_capture(h, false, None)
            }
            State::Version => {
                expect(h, Tag::INTEGER)?;
                self.begin_capture(h, false, None)
            }
            State::Explicit => {
                expect(h, Tag::context(0, true))?;
                self.state = State::SignedData;
                Ok(())
            }
            State::SignedData => {
                expect(h, Tag::SEQUENCE)?;
                self.state = State::Version;
                Ok(())
            }
            State::DigestAlgs => {
                expect(h, Tag::SET)?;
                self.begin_capture(h, false, None)
            }
            State::Eci => {
                expect(h, Tag::SEQUENCE)?;
                self.state = State::EContentType;
                Ok(())
            }
            State::EContent => {
                expect(h, Tag::context(0, true))?;
                if self.detached_mode {
                    return Err(Error::new(ErrorKind::InvalidValue));
                }
                self.state = State::InEContent;
                Ok(())
            }
            State::InEContent => {
                if !h.tag.same_type(&Tag::OCTET_STRING) {
                    return Err(unexpected(Tag::OCTET_STRING, h));
                }
                self.start_content()?;
                self.mode = Mode::Content(h.depth);
                Ok(())
            }
            State::Certs | State::Crls | State::Signers => {
                if self.state == State::Certs && h.tag == Tag::context(0, true) {
                    self.state = State::InCerts;
                } else if self.state != State::Signers && h.tag == Tag::context(1, true) {
                    self.state = State::InCrls;
                } else {
                    expect(h, Tag::SET)?;
                    self.state = State::InSigners;
                }
                Ok(())
            }
            State::InCerts | State::InCrls => self.begin_capture(h, false, None),
            State::InSigners => {
                expect(h, Tag::SEQUENCE)?;
                self.signer_fields = 0;
                self.unsigned_at = None;
                self.cap_len = 0;
                self.state = State::InSignerInfo;
                Ok(())
            }
            State::InSignerInfo => {
                if self.unsigned_at.is_some() {
                    // Nothing may follow unsignedAttrs.
                    return Err(Error::new(ErrorKind::InvalidValue));
                }
                if h.tag == Tag::context(1, true) {
                    // unsignedAttrs: captured after the other fields, kept
                    // for the report.
                    self.unsigned_at = Some(self.cap_len);
                    return self.begin_capture(h, true, None);
                }
                // signedAttrs (the fourth field, after version, sid and
                // digestAlgorithm) are kept with the SET tag the signature
                // covers.
                let field = self.signer_fields;
                self.signer_fields += 1;
                if h.tag == Tag::SET {
                    // Would pass for signedAttrs below.
                    return Err(unexpected(Tag::context(0, true), h));
                }
                let first = (field == 3 && h.tag == Tag::context(0, true)).then_some(0x31);
                self.begin_capture(h, true, first)
            }
            State::EContentClose
            | State::EciClose
            | State::Closing(_)
            | State::Done => Err(Error::new(ErrorKind::InvalidValue)),
        }
    }

    fn on_end(&mut self) -> Result<()> {
        self.state = match self.state {
            // eContent absent: detached signature or certificates only.
            State::EContent => State::Certs,
            State::EContentClose => State::EciClose,
            State::EciClose => State::Certs,
            State::InCerts => State::Crls,
            State::InCrls => State::Signers,
            State::InSigners => State::Closing(2),
            State::InSignerInfo => {
                self.on_signer()?;
                State::InSigners
            }
            State::Closing(0) => State::Done,
            State::Closing(n) => State::Closing(n - 1),
            _ => return Err(Error::new(ErrorKind::InvalidValue)),
        };
        Ok(())
    }

    fn on_captured(&mut self) -> Result<()> {
        match self.state {
            State::ContentType => {
                let tlv = read_whole(self.captured())?;
                if tlv.value != oid::SIGNED_DATA {
                    return Err(Error::new(ErrorKind::UnexpectedContentType));
                }
                self.state = State::Explicit;
            }
            State::Version => {
                let v = read_whole(self.captured())?.small_uint()?;
                if !matches!(v, 1 | 3 | 4 | 5) {
                    return Err(Error::new(ErrorKind::InvalidValue));
                }
                self.version = v;
                self.state = State::DigestAlgs;
            }
            State::DigestAlgs => {
                self.digest_algorithms()?;
                self.state = State::Eci;
            }
            State::EContentType => {
                let cap = self.scratch.get(self.kept_end..self.kept_end + self.cap_len);
                let tlv = read_whole(cap.unwrap_or(&[]))?;
                let v = tlv.value;
                if v.is_empty() || v.len() > MAX_OID_LEN {
                    return Err(Error::new(ErrorKind::InvalidValue));
                }
                self.content_type[..v.len()].copy_from_slice(v);
                self.content_type_len = v.len();
                self.state = State::EContent;
            }
            State::InCerts => {
                let keep = {
                    let c = self.captured();
                    c.first() == Some(&0x30) && CertificateRef::from_der(c).is_ok()
                };
                if keep {
                    self.kept_end += self.cap_len;
                    self.certs_end = self.kept_end;
                    self.crls_end = self.kept_end;
                } else {
                    self.skipped_certs += 1;
                }
                self.cap_len = 0;
            }
            State::InCrls => {
                // RevocationInfoChoice: a CertificateList, or [1] other formats.
                if self.captured().first() == Some(&0x30) {
                    self.kept_end += self.cap_len;
                    self.crls_end = self.kept_end;
                }
                self.cap_len = 0;
            }
            // A SignerInfo field: appended, checked when the SignerInfo ends.
            State::InSignerInfo => {}
            _ => return Err(Error::new(ErrorKind::InvalidState)),
        }
        Ok(())
    }

    fn digest_algorithms(&mut self) -> Result<()> {
        let set = read_whole(self.captured())?;
        let mut r = set.reader();
        let mut algs = [None; 4];
        let mut unknown = 0;
        while let Some(a) = r.next_tlv()? {
            match parse_digest_alg(&a)? {
                Some(h) => algs[alg_index(h)] = Some(h),
                None => unknown += 1,
            }
        }
        self.unknown_digests = unknown;
        if !self.detached_mode {
            let mut slots = self.hashers.iter_mut();
            for h in algs.into_iter().flatten() {
                match slots.next() {
                    Some(s) => *s = Some(Hasher::new(h)),
                    // More than MAX_DIGESTS: signers using it get DigestNotComputed.
                    None => self.unknown_digests += 1,
                }
            }
        }
        Ok(())
    }

    fn start_content(&mut self) -> Result<()> {
        self.content_seen = true;
        Ok(())
    }

    fn content(&mut self, data: &[u8]) -> Result<()> {
        for h in self.hashers.iter_mut().flatten() {
            h.update(data);
        }
        put(&mut self.sink, data)
    }

    fn end_content(&mut self) {
        for h in self.hashers.iter_mut() {
            if let Some(h) = h.take() {
                let d = h.finalize();
                if let Some(slot) = self.digests.get_mut(alg_index(d.algorithm())) {
                    *slot = Some(d);
                }
            }
        }
    }

    /// Checks the SignerInfo captured (field by field) at `kept_end`.
    fn on_signer(&mut self) -> Result<()> {
        let index = self.signer_total;
        self.signer_total += 1;
        if index >= MAX_SIGNERS {
            self.cap_len = 0;
            return Ok(());
        }
        let (kept, rest) = self.scratch.split_at(self.kept_end.min(self.scratch.len()));
        let si_len = self.unsigned_at.unwrap_or(self.cap_len).min(self.cap_len);
        let si = rest.get(..si_len).unwrap_or(&[]);
        // The unsigned attributes' content octets, relative to `kept_end`.
        let unsigned = match rest.get(si_len..self.cap_len) {
            Some(u) if self.unsigned_at.is_some() => {
                let tlv = read_whole(u)?;
                let off = (tlv.value.as_ptr() as usize).wrapping_sub(rest.as_ptr() as usize);
                Some((off, tlv.value.len()))
            }
            _ => None,
        };
        let certs = kept.get(..self.certs_end).unwrap_or(&[]);
        let ctx = Context {
            certs,
            extra: self.options.extra_certificates,
            digests: &self.digests,
            content_type: self.content_type.get(..self.content_type_len).unwrap_or(&[]),
            have_content: self.content_seen || self.detached_mode,
        };
        let mut rec = check_signer(&ctx, si)?;
        if rec.status != SignerStatus::Valid && self.alt_digests.iter().any(Option::is_some) {
            let alt = check_signer(&Context { digests: &self.alt_digests, ..ctx }, si)?;
            if alt.status == SignerStatus::Valid {
                rec = alt;
            }
        }
        rec.index = index;
        let base = self.kept_end;
        // Keep the capabilities and the encryption-key preference: move them
        // down to `kept_end`, the one that lies first first (both are signed
        // attributes, in either order), so that nothing is overwritten.
        let caps_first = match (rec.caps, rec.ekp) {
            (Some((c, _)), Some((e, _))) => c < e,
            _ => true,
        };
        for is_caps in [caps_first, !caps_first] {
            let slot = if is_caps { &mut rec.caps } else { &mut rec.ekp };
            if let Some((at, len)) = *slot {
                let src = base.checked_add(at).filter(|&s| s >= self.kept_end);
                let end = src.and_then(|s| s.checked_add(len));
                if let (Some(src), Some(end)) = (src, end)
                    && end <= self.scratch.len()
                {
                    self.scratch.copy_within(src..end, self.kept_end);
                    *slot = Some((self.kept_end, len));
                    self.kept_end += len;
                } else {
                    *slot = None;
                }
            }
        }
        // Then the unsigned attributes (they lie after the signed ones).
        rec.unsigned = None;
        if let Some((at, len)) = unsigned {
            let src = base.checked_add(at);
            let end = src.and_then(|s| s.checked_add(len));
            if let (Some(src), Some(end)) = (src, end)
                && end <= self.scratch.len()
            {
                self.scratch.copy_within(src..end, self.kept_end);
                rec.unsigned = Some((self.kept_end, len));
                self.kept_end += len;
            }
        }
        self.unsigned_at = None;
        if let Some(slot) = self.signers.get_mut(index) {
            *slot = rec;
        }
        self.cap_len = 0;
        Ok(())
    }
}

/// What a signer is checked against.
#[derive(Clone, Copy)]
struct Context<'a> {
    certs: &'a [u8],
    extra: &'a [CertificateRef<'a>],
    digests: &'a [Option<Digest>; 4],
    content_type: &'a [u8],
    have_content: bool,
}

/// Parses a digest `AlgorithmIdentifier`: `Ok(None)` for an unknown algorithm.
fn parse_digest_alg(a: &Tlv<'_>) -> Result<Option<HashAlgorithm>> {
    let mut r = a.expect(Tag::SEQUENCE)?.reader();
    let o = r.read_expect(Tag::OID)?;
    if let Some(p) = r.next_tlv()? {
        p.expect(Tag::NULL)?;
    }
    r.finish()?;
    Ok(HashAlgorithm::from_oid(o.value))
}

/// The signed attributes this verifier looks at.
#[derive(Default)]
struct Attrs<'a> {
    content_type: Option<&'a [u8]>,
    message_digest: Option<&'a [u8]>,
    signing_time: Option<Time>,
    smime_caps: bool,
    caps: Option<&'a [u8]>,
    ekp: Option<&'a [u8]>,
}

/// Parses the signed attributes (`SET OF Attribute`); `Err(status)` when they
/// break the rules.
fn parse_attrs<'a>(set: &Tlv<'a>) -> core::result::Result<Attrs<'a>, SignerStatus> {
    let bad = SignerStatus::InvalidAttribute;
    let mut out = Attrs::default();
    let mut r = set.reader();
    let mut count = 0usize;
    while let Some(a) = r.next_tlv().map_err(|_| bad)? {
        count += 1;
        let mut ar = a.expect(Tag::SEQUENCE).map_err(|_| bad)?.reader();
        let ty = ar.read_expect(Tag::OID).map_err(|_| bad)?.value;
        let values = ar.read_expect(Tag::SET).map_err(|_| bad)?;
        ar.finish().map_err(|_| bad)?;
        // No attribute type twice (RFC 5652 §5.3).
        let mut again = set.reader();
        for _ in 1..count {
            let prev = again.next_tlv().ok().flatten().ok_or(bad)?;
            let pty = prev.reader().read().map_err(|_| bad)?.value;
            if pty == ty {
                return Err(bad);
            }
        }
        let single = || -> core::result::Result<Tlv<'a>, SignerStatus> {
            let mut vr = values.reader();
            let v = vr.read().map_err(|_| bad)?;
            vr.finish().map_err(|_| bad)?;
            Ok(v)
        };
        if ty == ATTR_CONTENT_TYPE {
            out.content_type = Some(single()?.expect(Tag::OID).map_err(|_| bad)?.value);
        } else if ty == ATTR_MESSAGE_DIGEST {
            out.message_digest = Some(single()?.expect(Tag::OCTET_STRING).map_err(|_| bad)?.value);
        } else if ty == ATTR_SIGNING_TIME {
            out.signing_time = single().ok().and_then(|v| Time::from_tlv(&v).ok());
        } else if ty == ATTR_SMIME_CAPABILITIES {
            out.smime_caps = true;
            out.caps = single().ok().map(|v| v.raw);
        } else if ty == ATTR_ENCRYPTION_KEY_PREFERENCE {
            out.ekp = single().ok().map(|v| v.raw);
        }
    }
    if count == 0 {
        return Err(bad);
    }
    Ok(out)
}

/// Checks one SignerInfo (its fields, `si`, without the outer header).
/// `Err` only for a SignerInfo that does not parse.
fn check_signer(ctx: &Context<'_>, si: &[u8]) -> Result<SignerRecord> {
    let mut r = SliceReader::new(si);
    let version = r.read_expect(Tag::INTEGER)?.small_uint()?;
    if !matches!(version, 1 | 3) {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let sid_tlv = r.read()?;
    let sid = if sid_tlv.tag == Tag::SEQUENCE {
        let mut ir = sid_tlv.reader();
        let issuer = ir.read_expect(Tag::SEQUENCE)?.raw;
        let serial = ir.read_expect(Tag::INTEGER)?.value;
        ir.finish()?;
        Rid::IssuerSerial { issuer, serial }
    } else if sid_tlv.tag == Tag::context(0, false) {
        Rid::SubjectKeyId(sid_tlv.value)
    } else {
        return Err(Error::new(ErrorKind::UnexpectedTag {
            expected: 0x30,
            actual: sid_tlv.tag.first_octet(),
        }));
    };
    let digest_alg = r.read_expect(Tag::SEQUENCE)?;
    // signedAttrs were captured with the SET tag (see `on_start`).
    let signed_attrs = r.read_optional(Tag::SET)?;
    let sig_alg = r.read_expect(Tag::SEQUENCE)?;
    let signature = r.read_expect(Tag::OCTET_STRING)?.value;
    r.finish()?;

    let mut rec = EMPTY_RECORD;
    let base = si.as_ptr() as usize;
    let attrs = signed_attrs.as_ref().map(parse_attrs);
    if let Some(Ok(a)) = &attrs {
        rec.signing_time = a.signing_time;
        rec.has_smime_capabilities = a.smime_caps;
        rec.caps = a.caps.map(|e| ((e.as_ptr() as usize).wrapping_sub(base), e.len()));
        rec.ekp = a.ekp.map(|e| ((e.as_ptr() as usize).wrapping_sub(base), e.len()));
    }

    // Algorithms.
    rec.digest = parse_digest_alg(&digest_alg)?;
    let Some(hash) = rec.digest else {
        rec.status = SignerStatus::UnsupportedAlgorithm;
        return Ok(rec);
    };
    rec.signature = SignatureAlgorithm::from_der_with_digest(sig_alg.raw, hash).ok();
    rec.weak = hash.is_weak() || rec.signature.is_some_and(|s| s.is_weak());
    let Some(alg) = rec.signature else {
        rec.status = SignerStatus::UnsupportedAlgorithm;
        return Ok(rec);
    };

    // The signer certificate.
    let (cert, at) = match find_cert(ctx, &sid) {
        Some(x) => x,
        None => {
            rec.status = SignerStatus::SignerCertificateNotFound;
            return Ok(rec);
        }
    };
    rec.cert = at;

    if !ctx.have_content {
        rec.status = SignerStatus::DetachedContent;
        return Ok(rec);
    }
    let Some(digest) = ctx.digests.get(alg_index(hash)).copied().flatten() else {
        rec.status = SignerStatus::DigestNotComputed;
        return Ok(rec);
    };

    let verified = match (&signed_attrs, attrs) {
        (Some(sa), Some(Ok(a))) => {
            let Some(ct) = a.content_type else {
                rec.status = SignerStatus::MissingAttribute;
                return Ok(rec);
            };
            let Some(md) = a.message_digest else {
                rec.status = SignerStatus::MissingAttribute;
                return Ok(rec);
            };
            if ct != ctx.content_type {
                rec.status = SignerStatus::ContentTypeMismatch;
                return Ok(rec);
            }
            if md != digest.as_bytes() {
                rec.status = SignerStatus::DigestMismatch;
                return Ok(rec);
            }
            verify_message(cert.spki_der(), &alg, sa.raw, signature)
        }
        (_, Some(Err(status))) => {
            rec.status = status;
            return Ok(rec);
        }
        (_, None) => {
            if ctx.content_type != oid::DATA {
                rec.status = SignerStatus::MissingAttribute;
                return Ok(rec);
            }
            if alg.hash().is_none() {
                // Ed25519 without signed attributes signs the content itself,
                // which a streaming verifier does not keep.
                rec.status = SignerStatus::UnsupportedAlgorithm;
                return Ok(rec);
            }
            verify_prehashed(cert.spki_der(), &alg, digest.as_bytes(), signature)
        }
        (None, Some(Ok(_))) => Err(Error::new(ErrorKind::InvalidState)),
    };
    rec.status = match verified {
        Ok(()) => SignerStatus::Valid,
        Err(e) => match e.kind() {
            ErrorKind::UnsupportedAlgorithm | ErrorKind::InvalidKey => {
                SignerStatus::UnsupportedAlgorithm
            }
            _ => SignerStatus::BadSignature,
        },
    };
    Ok(rec)
}

/// The signer certificate named by `sid`: first in the message, then extra.
fn find_cert<'a>(ctx: &Context<'a>, sid: &Rid<'_>) -> Option<(CertificateRef<'a>, CertAt)> {
    let mut r = SliceReader::new(ctx.certs);
    let mut at = 0usize;
    while let Ok(Some(t)) = r.next_tlv() {
        let len = t.raw.len();
        if let Ok(c) = CertificateRef::from_der(t.raw)
            && sid.matches(&c.recipient_id())
        {
            return Some((c, CertAt::Message(at, len)));
        }
        at += len;
    }
    ctx.extra
        .iter()
        .enumerate()
        .find(|(_, c)| sid.matches(&c.recipient_id()))
        .map(|(i, c)| (*c, CertAt::Extra(i)))
}

fn read_whole(data: &[u8]) -> Result<Tlv<'_>> {
    let mut r = SliceReader::new(data);
    let t = r.read()?;
    r.finish()?;
    Ok(t)
}

fn expect(h: &Header, tag: Tag) -> Result<()> {
    if h.tag == tag { Ok(()) } else { Err(unexpected(tag, h)) }
}

fn unexpected(tag: Tag, h: &Header) -> Error {
    Error::new(ErrorKind::UnexpectedTag { expected: tag.first_octet(), actual: h.tag.first_octet() })
}

impl<W: Write, const MAX_DIGESTS: usize> embedded_io::ErrorType
    for SignedDataDecoder<'_, W, MAX_DIGESTS>
{
    type Error = Error;
}

impl<W: Write, const MAX_DIGESTS: usize> embedded_io::Write for SignedDataDecoder<'_, W, MAX_DIGESTS> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        SignedDataDecoder::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Blocking helper
// ---------------------------------------------------------------------------

/// Verifies the SignedData ContentInfo that `input` yields, writing the
/// encapsulated content to `sink`. A blocking wrapper over
/// [`SignedDataDecoder`]; as there, `Ok` does not mean the signatures hold:
/// check [`SignedDataReport::all_valid`].
pub fn verify<'s, I, W>(
    mut input: I,
    sink: W,
    scratch: &'s mut [u8],
    options: VerifyOptions<'s>,
) -> Result<(W, SignedDataReport<'s>)>
where
    I: embedded_io::Read,
    W: Write,
{
    let mut dec = SignedDataDecoder::<W>::new(sink, scratch, options);
    let mut buf = [0u8; super::enveloped::READ_BUF];
    loop {
        let n = input.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        dec.write(buf.get(..n).unwrap_or(&[]))?;
    }
    dec.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)]
mod tests {
    extern crate std;

    use std::path::PathBuf;
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::digest::digest;

    fn interop(rel: &str) -> Vec<u8> {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop").join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    fn pem(data: &[u8]) -> Vec<u8> {
        let text = std::str::from_utf8(data).unwrap();
        let b64: std::string::String = text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .flat_map(|l| l.trim().chars())
            .collect();
        let mut out = vec![0u8; b64.len()];
        let n = base64_decode(b64.as_bytes(), &mut out);
        out.truncate(n);
        out
    }

    fn base64_decode(src: &[u8], out: &mut [u8]) -> usize {
        let val = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        };
        let mut n = 0;
        let mut acc = 0u32;
        let mut bits = 0;
        for &c in src.iter().filter(|&&c| c != b'=') {
            acc = (acc << 6) | u32::from(val(c));
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out[n] = (acc >> bits) as u8;
                n += 1;
            }
        }
        n
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = content.len();
        if n < 128 {
            v.push(n as u8);
        } else if n < 256 {
            v.extend([0x81, n as u8]);
        } else {
            v.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend_from_slice(content);
        v
    }

    fn attr(ty: &[u8], values: &[&[u8]]) -> Vec<u8> {
        let vals: Vec<u8> = values.concat();
        tlv(0x30, &[tlv(0x06, ty), tlv(0x31, &vals)].concat())
    }

    const CONTENT: &[u8] = b"signed content";

    /// A SignerInfo's fields for Alice's certificate, with `attrs` as signed
    /// attributes (already SET-tagged, as captured) and a junk signature.
    fn signer_info(cert: &CertificateRef<'_>, attrs: Option<&[Vec<u8>]>) -> Vec<u8> {
        let sid = tlv(0x30, &[cert.issuer_der(), &tlv(0x02, cert.serial())].concat());
        let dig = tlv(0x30, &tlv(0x06, oid::SHA256));
        let sig_alg = tlv(0x30, &[tlv(0x06, oid::RSA_ENCRYPTION), vec![5, 0]].concat());
        let mut v = [vec![2, 1, 1], sid, dig].concat();
        if let Some(a) = attrs {
            v.extend(tlv(0x31, &a.concat()));
        }
        v.extend(sig_alg);
        v.extend(tlv(0x04, &[0x55; 256]));
        v
    }

    fn check(attrs: Option<&[Vec<u8>]>, content_type: &[u8]) -> SignerStatus {
        let der = pem(&interop("examples-cms/certs-and-keys/lamps-alice.crt"));
        let cert = CertificateRef::from_der(&der).unwrap();
        let extra = [cert];
        let mut digests = [None; 4];
        digests[1] = Some(digest(HashAlgorithm::Sha256, CONTENT));
        let ctx = Context { certs: &[], extra: &extra, digests: &digests, content_type, have_content: true };
        let si = signer_info(&cert, attrs);
        let rec = check_signer(&ctx, &si).unwrap();
        assert_eq!(rec.cert, CertAt::Extra(0));
        rec.status
    }

    #[test]
    fn signed_attribute_rules() {
        let md = digest(HashAlgorithm::Sha256, CONTENT);
        let ct = attr(ATTR_CONTENT_TYPE, &[&tlv(0x06, oid::DATA)]);
        let good_md = attr(ATTR_MESSAGE_DIGEST, &[&tlv(0x04, md.as_bytes())]);
        let time = attr(ATTR_SIGNING_TIME, &[&tlv(0x17, b"251123120000Z")]);
        let s = |a: &[Vec<u8>]| check(Some(a), oid::DATA);
        // Everything in place: only the (junk) signature fails.
        assert_eq!(s(&[ct.clone(), good_md.clone(), time.clone()]), SignerStatus::BadSignature);
        assert_eq!(s(core::slice::from_ref(&good_md)), SignerStatus::MissingAttribute);
        assert_eq!(s(core::slice::from_ref(&ct)), SignerStatus::MissingAttribute);
        // Duplicates, even of an attribute this verifier ignores.
        assert_eq!(s(&[ct.clone(), good_md.clone(), ct.clone()]), SignerStatus::InvalidAttribute);
        assert_eq!(s(&[time.clone(), ct.clone(), good_md.clone(), time.clone()]), SignerStatus::InvalidAttribute);
        // Two values in one attribute.
        let two = attr(ATTR_MESSAGE_DIGEST, &[&tlv(0x04, md.as_bytes()), &tlv(0x04, md.as_bytes())]);
        assert_eq!(s(&[ct.clone(), two]), SignerStatus::InvalidAttribute);
        // Wrong digest, truncated digest, wrong type.
        let mut other = md.as_bytes().to_vec();
        other[0] ^= 1;
        let bad = attr(ATTR_MESSAGE_DIGEST, &[&tlv(0x04, &other)]);
        assert_eq!(s(&[ct.clone(), bad]), SignerStatus::DigestMismatch);
        let short = attr(ATTR_MESSAGE_DIGEST, &[&tlv(0x04, &md.as_bytes()[..20])]);
        assert_eq!(s(&[ct.clone(), short]), SignerStatus::DigestMismatch);
        let not_os = attr(ATTR_MESSAGE_DIGEST, &[&tlv(0x02, &[1])]);
        assert_eq!(s(&[ct.clone(), not_os]), SignerStatus::InvalidAttribute);
        // Content type mismatch.
        let ct2 = attr(ATTR_CONTENT_TYPE, &[&tlv(0x06, oid::SIGNED_DATA)]);
        assert_eq!(s(&[ct2, good_md.clone()]), SignerStatus::ContentTypeMismatch);
        assert_eq!(check(Some(&[ct.clone(), good_md.clone()]), oid::SIGNED_DATA), SignerStatus::ContentTypeMismatch);
        // An empty SET of attributes.
        assert_eq!(s(&[]), SignerStatus::InvalidAttribute);
        // No signed attributes: only for id-data.
        assert_eq!(check(None, oid::DATA), SignerStatus::BadSignature);
        assert_eq!(check(None, oid::SIGNED_DATA), SignerStatus::MissingAttribute);
    }

    #[test]
    fn attributes_are_read() {
        let ekp = tlv(0xA0, &[0x30, 0x00]);
        let set = tlv(
            0x31,
            &[
                attr(ATTR_SIGNING_TIME, &[&tlv(0x18, b"20251123120000Z")]),
                attr(ATTR_SMIME_CAPABILITIES, &[&tlv(0x30, &[])]),
                attr(ATTR_ENCRYPTION_KEY_PREFERENCE, &[&ekp]),
                attr(&[0x2A, 0x03], &[&[5, 0]]),
            ]
            .concat(),
        );
        let t = SliceReader::new(&set).read().unwrap();
        let a = parse_attrs(&t).ok().unwrap();
        assert_eq!(a.signing_time, Time::from_civil(2025, 11, 23, 12, 0, 0));
        assert!(a.smime_caps);
        assert_eq!(a.ekp, Some(&ekp[..]));
        assert!(a.content_type.is_none() && a.message_digest.is_none());
    }

    #[test]
    fn content_digests() {
        let mut d = ContentDigests::new(&[HashAlgorithm::Sha256, HashAlgorithm::Sha256]);
        d.update(b"signed ").unwrap();
        d.update(b"content").unwrap();
        assert!(!d.is_finished() && d.digest(HashAlgorithm::Sha256).is_none());
        d.finish();
        assert_eq!(d.digest(HashAlgorithm::Sha256), Some(digest(HashAlgorithm::Sha256, CONTENT)));
        assert_eq!(d.digest(HashAlgorithm::Sha1), None);
        assert_eq!(d.update(b"x").unwrap_err().kind(), ErrorKind::InvalidState);
        let mut all = ContentDigests::all();
        embedded_io::Write::write_all(&mut all, CONTENT).unwrap();
        all.finish();
        for h in HashAlgorithm::ALL {
            assert_eq!(all.digest(h), Some(digest(h, CONTENT)));
        }
    }

    fn run(msg: &[u8], chunk: usize, scratch: &mut [u8]) -> Result<(usize, bool)> {
        let mut out = [0u8; 4096];
        let mut dec = SignedDataDecoder::<&mut [u8]>::new(&mut out[..], scratch, VerifyOptions::default());
        for p in msg.chunks(chunk) {
            dec.write(p)?;
        }
        let (rest, report) = dec.finish()?;
        Ok((4096 - rest.len(), report.all_valid()))
    }

    #[test]
    fn alice_sample_whole_and_mutated() {
        let msg = interop("examples-cms/binary-files/signedByAliceRSA.p7m");
        let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
        let (n, valid) = run(&msg, 5, &mut scratch).unwrap();
        assert!(valid && n > 0);
        // Every single-byte change: never a panic; a change in the signed part
        // (everything but the certificate set) is never valid.
        // certificates [0] at offset 86, 4 + 979 bytes (openssl asn1parse).
        let certs = 86..86 + 4 + 979;
        assert_eq!(msg[certs.start..certs.start + 4], [0xA0, 0x82, 0x03, 0xD3]);
        let mut m = msg.clone();
        for i in 0..msg.len() {
            m[i] ^= 0x21;
            if let Ok((_, valid)) = run(&m, 64, &mut scratch) {
                // Before the certificates: content and structure; after them:
                // the SignerInfo. A valid result is possible only inside the
                // certificate (outside what anything here checks), or where a
                // change is invisible to DER-level parsing.
                if valid {
                    assert!(certs.contains(&i), "byte {i} changed and still valid");
                }
            }
            m[i] ^= 0x21;
        }
        // Truncated: always an error.
        for cut in (0..msg.len()).step_by(7) {
            assert!(run(&msg[..cut], 13, &mut scratch).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn structure_errors() {
        let mut scratch = [0u8; 256];
        // Not signedData.
        let ed = [0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03, 0xA0, 0x00];
        assert_eq!(run(&ed, 1, &mut scratch).unwrap_err().kind(), ErrorKind::UnexpectedContentType);
        // Version 2 is not a SignedData version.
        let mut sd = vec![0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
        sd.extend([0xA0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x02]);
        assert_eq!(run(&sd, 2, &mut scratch).unwrap_err().kind(), ErrorKind::InvalidValue);
        // A minimal certificates-only message: valid structure, no signers.
        let mut p7b = vec![0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
        p7b.extend([0xA0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0x31, 0x00]);
        p7b.extend([0x30, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01]);
        p7b.extend([0x31, 0x00, 0, 0, 0, 0, 0, 0]);
        assert_eq!(run(&p7b, 1, &mut scratch).unwrap(), (0, false));
        // A SET where signedAttrs belong is refused.
        let mut bad = p7b[..p7b.len() - 8].to_vec();
        bad.extend([0x31, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0x80, 0x01, 0x01]);
        bad.extend([0x30, 0x0B, 0x06, 0x09]);
        bad.extend(oid::SHA256);
        bad.extend([0x31, 0x00]);
        assert!(matches!(
            run(&bad, 3, &mut scratch).unwrap_err().kind(),
            ErrorKind::UnexpectedTag { .. }
        ));
    }
}
