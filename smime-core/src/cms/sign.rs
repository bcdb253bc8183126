//! Streaming SignedData encoder (RFC 5652 § 5, S/MIME RFC 8551).
//!
//! ```text
//! SignedData ::= SEQUENCE {
//!     version CMSVersion,                      -- 1, or 3 with SKI signers / non-data content
//!     digestAlgorithms SET OF DigestAlgorithmIdentifier,
//!     encapContentInfo EncapsulatedContentInfo,
//!     certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!     signerInfos SET OF SignerInfo }
//!
//! SignerInfo ::= SEQUENCE {
//!     version CMSVersion,                      -- 1 (issuerAndSerialNumber) or 3 (SKI)
//!     sid SignerIdentifier,
//!     digestAlgorithm DigestAlgorithmIdentifier,
//!     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
//!     signatureAlgorithm SignatureAlgorithmIdentifier,
//!     signature SignatureValue,
//!     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
//! ```
//!
//! # Output
//!
//! - **Attached** (content inside): indefinite-length BER as
//!   `openssl cms -sign -stream` writes it; the content goes out as a
//!   constructed OCTET STRING, one primitive chunk per
//!   [`write`](SignedDataEncoder::write) call (empty writes are skipped).
//! - **Detached** (`multipart/signed`): the content is only hashed; at
//!   [`finish`](SignedDataEncoder::finish) the whole SignedData is written
//!   in DER.
//!
//! The digestAlgorithms, the certificates, the CRLs, the signed and unsigned
//! attributes and the signerInfos are DER `SET OF`s (sorted). SHA-2 digest identifiers are
//! written without parameters (RFC 5754). PKCS#1 v1.5 signatures are labelled
//! `rsaEncryption` as OpenSSL does; PSS, ECDSA and Ed25519 use their own
//! identifiers ([`SignatureAlgorithm::encode`]). Ed25519 uses SHA-512 as the
//! digest algorithm (RFC 8419).
//!
//! # Memory
//!
//! No heap. The caller's scratch buffer ([`DEFAULT_SCRATCH_LEN`] is plenty
//! for a few certificates and 4096-bit RSA) holds the certificates (copied at
//! [`new`](SignedDataEncoder::new)), the CRLs, the encryption key preference,
//! the unsigned attributes, and at
//! `finish` each SignerInfo with its signature. Too small a buffer is
//! [`ErrorKind::BufferTooSmall`].

use embedded_io::{Read, Write};

use super::signed::{
    ATTR_CONTENT_TYPE, ATTR_ENCRYPTION_KEY_PREFERENCE, ATTR_MESSAGE_DIGEST, ATTR_SIGNING_TIME,
    ATTR_SMIME_CAPABILITIES,
};
use crate::backend::{BackendError, BackendErrorKind, HashAlgorithm, Signer, ToBeSigned};
use crate::ber::Tag;
use crate::ber::encode::{EOC, SliceWriter, header, tlv_len};
use crate::digest::{Digest, Hasher};
use crate::error::{Error, ErrorKind, Result, io_err};
use crate::oid;
use crate::pubkey::SignatureAlgorithm;
use crate::pubkey::signature::MAX_ALGORITHM_ID_LEN;
use crate::x509::{CertificateRef, Time};

/// A scratch size that fits a handful of certificates and 4096-bit signers.
pub const DEFAULT_SCRATCH_LEN: usize = 8 * 1024;

/// Most signers in one message.
pub const MAX_SIGNERS: usize = 8;

/// Longest content-type OID (content octets).
const MAX_OID_LEN: usize = 32;

/// The capabilities announced in SMIMECapabilities, preferred first: the
/// AuthEnvelopedData ciphers (RFC 8551 §2.7; no parameters, RFC 5084 §3.2,
/// RFC 8103 §5), then the CBC ones.
const CAPABILITIES: [&[u8]; 7] = [
    oid::AES256_GCM,
    oid::AES128_GCM,
    oid::CHACHA20_POLY1305,
    oid::AES256_CBC,
    oid::AES192_CBC,
    oid::AES128_CBC,
    oid::DES_EDE3_CBC,
];

/// How a SignerInfo names its signer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignerIdKind {
    /// issuerAndSerialNumber (SignerInfo version 1): what every client reads.
    #[default]
    IssuerAndSerial,
    /// subjectKeyIdentifier (SignerInfo version 3, SignedData version 3);
    /// the certificate must have the extension
    /// ([`ErrorKind::NoSubjectKeyId`] otherwise).
    SubjectKeyId,
}

/// Options for [`SignedDataEncoder`].
#[derive(Clone, Copy, Debug)]
pub struct SignOptions<'a> {
    /// Leave the content out of the message (`multipart/signed`): the
    /// SignedData is then written in DER at `finish`.
    pub detached: bool,
    /// The eContentType OID (content octets); default `id-data`.
    pub content_type: &'a [u8],
    /// The signingTime attribute; the core has no clock, so the caller gives it.
    pub signing_time: Option<Time>,
    /// Certificates to include besides each signer's own (its chain).
    /// Every certificate is included once.
    pub certificates: &'a [CertificateRef<'a>],
    /// How signers are named.
    pub signer_id: SignerIdKind,
    /// Whether to sign attributes (contentType, messageDigest, signingTime,
    /// SMIMECapabilities, encryption key preference); default `true`.
    /// Without them only the content's digest is signed, and the other
    /// attribute options are ignored.
    pub signed_attributes: bool,
    /// Whether to announce SMIMECapabilities (RFC 8551 § 2.5.2):
    /// AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305, then AES-256, AES-192,
    /// AES-128 and triple-DES in CBC mode; default `true`.
    pub smime_capabilities: bool,
    /// The certificate the sender wants to be encrypted to
    /// (SMIMEEncryptionKeyPreference, RFC 8551 § 2.5.3), named by issuer and
    /// serial number.
    pub encryption_key_preference: Option<CertificateRef<'a>>,
    /// CRLs to include (`crls [1]`), each the DER of one `CertificateList`;
    /// written after the certificates as a DER SET OF (sorted, each once).
    /// One that is not a single SEQUENCE is [`ErrorKind::InvalidValue`].
    pub crls: &'a [&'a [u8]],
    /// Unsigned attributes for every SignerInfo (`unsignedAttrs [1]`): the
    /// DER of zero or more `Attribute ::= SEQUENCE { attrType OBJECT
    /// IDENTIFIER, attrValues SET }`, one after the other; empty for none.
    /// Written as a DER SET OF (sorted; identical ones once). They are not covered by the
    /// signature. A malformed one is [`ErrorKind::InvalidValue`].
    pub unsigned_attributes: &'a [u8],
}

impl Default for SignOptions<'_> {
    fn default() -> Self {
        Self {
            detached: false,
            content_type: oid::DATA,
            signing_time: None,
            certificates: &[],
            signer_id: SignerIdKind::IssuerAndSerial,
            signed_attributes: true,
            smime_capabilities: true,
            encryption_key_preference: None,
            crls: &[],
            unsigned_attributes: &[],
        }
    }
}

fn put<W: Write>(sink: &mut W, bytes: &[u8]) -> Result<()> {
    sink.write_all(bytes).map_err(io_err)
}

fn put_header<W: Write>(sink: &mut W, tag: Tag, len: Option<u64>) -> Result<()> {
    put(sink, header(tag, len).as_bytes())
}

/// The next certificate encoding after `last` in DER SET OF order, skipping
/// duplicates.
fn next_cert<'a>(certs: &[CertificateRef<'a>], last: Option<&[u8]>) -> Option<&'a [u8]> {
    certs.iter().map(|c| c.der()).filter(|d| last.is_none_or(|l| *d > l)).min()
}

/// Writes a certs-only SignedData (a `.p7b`, RFC 8551 §3.6 `application/pkcs7-mime;
/// smime-type=certs-only`): no signers, no content, the certificates as a
/// DER SET OF (sorted, each once). Returns the sink.
///
/// ```text
/// SignedData ::= SEQUENCE { version 1, digestAlgorithms {}, encapContentInfo { id-data },
///   certificates [0] IMPLICIT CertificateSet, signerInfos {} }
/// ```
pub fn write_certs_only<W: Write>(mut sink: W, certs: &[CertificateRef<'_>]) -> Result<W> {
    let mut certs_len: u64 = 0;
    let mut last = None;
    while let Some(d) = next_cert(certs, last) {
        certs_len = certs_len.checked_add(d.len() as u64).ok_or_else(overflow)?;
        last = Some(d);
    }
    let eci = tlv_len(Tag::SEQUENCE, tlv_len(Tag::OID, oid::DATA.len() as u64)?)?;
    let sd = 3 + 2 + eci + tlv_len(Tag::context(0, true), certs_len)? + 2;
    let sd_tlv = tlv_len(Tag::SEQUENCE, sd)?;
    let ci =
        tlv_len(Tag::OID, oid::SIGNED_DATA.len() as u64)? + tlv_len(Tag::context(0, true), sd_tlv)?;
    put_header(&mut sink, Tag::SEQUENCE, Some(ci))?;
    put_header(&mut sink, Tag::OID, Some(oid::SIGNED_DATA.len() as u64))?;
    put(&mut sink, oid::SIGNED_DATA)?;
    put_header(&mut sink, Tag::context(0, true), Some(sd_tlv))?;
    put_header(&mut sink, Tag::SEQUENCE, Some(sd))?;
    put(&mut sink, &[0x02, 0x01, 0x01, 0x31, 0x00])?;
    put_header(&mut sink, Tag::SEQUENCE, Some(tlv_len(Tag::OID, oid::DATA.len() as u64)?))?;
    put_header(&mut sink, Tag::OID, Some(oid::DATA.len() as u64))?;
    put(&mut sink, oid::DATA)?;
    put_header(&mut sink, Tag::context(0, true), Some(certs_len))?;
    let mut last = None;
    while let Some(d) = next_cert(certs, last) {
        put(&mut sink, d)?;
        last = Some(d);
    }
    put(&mut sink, &[0x31, 0x00])?;
    sink.flush().map_err(io_err)?;
    Ok(sink)
}

/// Writes the items `items()` yields in DER SET OF order (ascending
/// encodings), identical ones once.
fn write_sorted<'a, I, F>(w: &mut SliceWriter<'_>, items: F) -> Result<()>
where
    I: Iterator<Item = &'a [u8]>,
    F: Fn() -> I,
{
    let mut last: Option<&[u8]> = None;
    while let Some(b) = items().filter(|c| last.is_none_or(|l| *c > l)).min() {
        w.bytes(b)?;
        last = Some(b);
    }
    Ok(())
}

/// The Attribute TLVs of `attrs` (already checked by [`check_unsigned`]).
fn attribute_tlvs(attrs: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut r = crate::ber::SliceReader::new(attrs);
    core::iter::from_fn(move || r.next_tlv().ok().flatten().map(|t| t.raw))
}

/// Checks that `attrs` is a run of DER `Attribute ::= SEQUENCE { OID, SET }`.
fn check_unsigned(attrs: &[u8]) -> Result<()> {
    let bad = |_| Error::new(ErrorKind::InvalidValue);
    let mut r = crate::ber::SliceReader::new(attrs);
    while let Some(a) = r.next_tlv().map_err(bad)? {
        if a.indefinite {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        let mut ar = a.expect(Tag::SEQUENCE).map_err(bad)?.reader();
        ar.read_expect(Tag::OID).map_err(bad)?;
        ar.read_expect(Tag::SET).map_err(bad)?;
        ar.finish().map_err(bad)?;
    }
    Ok(())
}

/// Checks that `crl` is one definite-length SEQUENCE TLV.
fn check_crl(crl: &[u8]) -> Result<()> {
    let mut r = crate::ber::SliceReader::new(crl);
    let ok = match r.read() {
        Ok(t) => t.tag == Tag::SEQUENCE && !t.indefinite && r.finish().is_ok(),
        Err(_) => false,
    };
    if ok { Ok(()) } else { Err(Error::new(ErrorKind::InvalidValue)) }
}

/// The digest algorithm of a signature algorithm (SHA-512 for Ed25519).
fn digest_alg(alg: &SignatureAlgorithm) -> HashAlgorithm {
    alg.hash().unwrap_or(HashAlgorithm::Sha512)
}

fn hash_index(h: HashAlgorithm) -> usize {
    match h {
        HashAlgorithm::Sha1 => 0,
        HashAlgorithm::Sha256 => 1,
        HashAlgorithm::Sha384 => 2,
        HashAlgorithm::Sha512 => 3,
    }
}

/// Length of a digest `AlgorithmIdentifier` (no parameters).
fn digest_alg_len(h: HashAlgorithm) -> Result<u64> {
    tlv_len(Tag::SEQUENCE, tlv_len(Tag::OID, h.oid().len() as u64)?)
}

fn write_digest_alg(w: &mut SliceWriter<'_>, h: HashAlgorithm) -> Result<()> {
    w.header(Tag::SEQUENCE, 2 + h.oid().len())?;
    w.tlv(Tag::OID, h.oid())
}

fn digest_algorithms_len(present: [bool; 4]) -> Result<u64> {
    let mut n = 0u64;
    for h in HashAlgorithm::ALL {
        if present.get(hash_index(h)).copied().unwrap_or(false) {
            n = n.checked_add(digest_alg_len(h)?).ok_or(overflow())?;
        }
    }
    Ok(n)
}

/// The digestAlgorithms SET (DER order is `HashAlgorithm::ALL` order).
fn write_digest_algorithms<W: Write>(sink: &mut W, present: [bool; 4]) -> Result<()> {
    put_header(sink, Tag::SET, Some(digest_algorithms_len(present)?))?;
    for h in HashAlgorithm::ALL {
        if present.get(hash_index(h)).copied().unwrap_or(false) {
            let mut buf = [0u8; 16];
            let mut w = SliceWriter::new(&mut buf);
            write_digest_alg(&mut w, h)?;
            put(sink, w.finish())?;
        }
    }
    Ok(())
}

fn overflow() -> Error {
    Error::new(ErrorKind::LengthOverflow)
}

fn to_usize(n: u64) -> Result<usize> {
    usize::try_from(n).map_err(|_| overflow())
}

/// Streaming SignedData encoder: content in, ContentInfo out.
///
/// See the [module docs](self). `S` is the key backend (one per signer).
pub struct SignedDataEncoder<'k, 's, S: Signer, W: Write> {
    sink: W,
    signers: &'k mut [S],
    scratch: &'s mut [u8],
    hashers: [Option<Hasher>; 4],
    detached: bool,
    content_type: [u8; MAX_OID_LEN],
    content_type_len: usize,
    signing_time: Option<Time>,
    signed_attributes: bool,
    smime_capabilities: bool,
    signer_id: SignerIdKind,
    /// `scratch[..certs_len]`: the certificate TLVs, sorted.
    certs_len: usize,
    /// `scratch[certs_len..certs_len + crls_len]`: the CRL TLVs, sorted.
    crls_len: usize,
    /// Then `ekp_len` bytes: the encryption key preference attribute, if any.
    ekp_len: usize,
    /// Then `unsigned_len` bytes: the unsigned attributes, sorted.
    unsigned_len: usize,
    version: u8,
    poisoned: bool,
}

impl<'k, 's, S: Signer, W: Write> SignedDataEncoder<'k, 's, S, W> {
    /// Checks the signers, copies the certificates into `scratch` and, for
    /// an attached signature, writes everything up to the content.
    ///
    /// Errors: no signers, a malformed content type, or a content type other
    /// than id-data without signed attributes (RFC 5652 § 5.3)
    /// ([`ErrorKind::InvalidValue`]), more than [`MAX_SIGNERS`]
    /// ([`ErrorKind::CapacityExceeded`]), a signer without certificate
    /// ([`ErrorKind::NoSignerCertificate`]) or whose certificate does not
    /// parse, a malformed CRL or unsigned attribute
    /// ([`ErrorKind::InvalidValue`]), a subject key identifier asked for and missing
    /// ([`ErrorKind::NoSubjectKeyId`]), Ed25519 without signed attributes
    /// ([`ErrorKind::UnsupportedAlgorithm`]), a too small scratch buffer
    /// ([`ErrorKind::BufferTooSmall`]), sink errors.
    pub fn new(
        mut sink: W,
        signers: &'k mut [S],
        scratch: &'s mut [u8],
        options: &SignOptions<'_>,
    ) -> Result<Self> {
        if signers.is_empty() {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        if signers.len() > MAX_SIGNERS {
            return Err(Error::new(ErrorKind::CapacityExceeded));
        }
        let ct = options.content_type;
        if ct.is_empty() || ct.len() > MAX_OID_LEN {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        // RFC 5652 § 5.3: other content types need signed attributes.
        if ct != oid::DATA && !options.signed_attributes {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        for crl in options.crls {
            check_crl(crl)?;
        }
        check_unsigned(options.unsigned_attributes)?;
        let mut hashers: [Option<Hasher>; 4] = [const { None }; 4];
        for s in signers.iter() {
            let der = s.certificate().ok_or(Error::new(ErrorKind::NoSignerCertificate))?;
            let cert = CertificateRef::from_der(der)?;
            if options.signer_id == SignerIdKind::SubjectKeyId && cert.subject_key_id().is_none() {
                return Err(Error::new(ErrorKind::NoSubjectKeyId));
            }
            let alg = s.algorithm();
            if alg == SignatureAlgorithm::Ed25519 && !options.signed_attributes {
                return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
            }
            let h = digest_alg(&alg);
            if let Some(slot @ None) = hashers.get_mut(hash_index(h)) {
                *slot = Some(Hasher::new(h));
            }
        }
        let version =
            if options.signer_id == SignerIdKind::SubjectKeyId || ct != oid::DATA { 3 } else { 1 };

        // Certificates: sorted, each once.
        let mut w = SliceWriter::new(&mut *scratch);
        let mut last: Option<&[u8]> = None;
        loop {
            let mut best: Option<&[u8]> = None;
            let candidates = signers
                .iter()
                .filter_map(|s| s.certificate())
                .chain(options.certificates.iter().map(|c| c.der()));
            for c in candidates {
                if last.is_some_and(|l| c <= l) {
                    continue;
                }
                best = match best {
                    Some(b) if b <= c => Some(b),
                    _ => Some(c),
                };
            }
            match best {
                Some(b) => {
                    w.bytes(b)?;
                    last = Some(b);
                }
                None => break,
            }
        }
        let certs_len = w.position();
        write_sorted(&mut w, || options.crls.iter().copied())?;
        let crls_len = w.position() - certs_len;
        if let (true, Some(c)) = (options.signed_attributes, options.encryption_key_preference) {
            let serial_tlv = tlv_len(Tag::INTEGER, c.serial().len() as u64)?;
            let ias = to_usize(c.issuer_der().len() as u64 + serial_tlv)?;
            let a0 = to_usize(tlv_len(Tag::context(0, true), ias as u64)?)?;
            let set = to_usize(tlv_len(Tag::SET, a0 as u64)?)?;
            let content = 2 + ATTR_ENCRYPTION_KEY_PREFERENCE.len() + set;
            w.header(Tag::SEQUENCE, content)?;
            w.tlv(Tag::OID, ATTR_ENCRYPTION_KEY_PREFERENCE)?;
            w.header(Tag::SET, a0)?;
            w.header(Tag::context(0, true), ias)?;
            w.bytes(c.issuer_der())?;
            w.tlv(Tag::INTEGER, c.serial())?;
        }
        let ekp_len = w.position() - certs_len - crls_len;
        write_sorted(&mut w, || attribute_tlvs(options.unsigned_attributes))?;
        let unsigned_len = w.position() - certs_len - crls_len - ekp_len;

        let mut content_type = [0u8; MAX_OID_LEN];
        if let Some(d) = content_type.get_mut(..ct.len()) {
            d.copy_from_slice(ct);
        }
        let present = hashers.each_ref().map(Option::is_some);
        if !options.detached {
            put_header(&mut sink, Tag::SEQUENCE, None)?;
            put_header(&mut sink, Tag::OID, Some(oid::SIGNED_DATA.len() as u64))?;
            put(&mut sink, oid::SIGNED_DATA)?;
            put_header(&mut sink, Tag::context(0, true), None)?;
            put_header(&mut sink, Tag::SEQUENCE, None)?;
            put(&mut sink, &[0x02, 0x01, version])?;
            write_digest_algorithms(&mut sink, present)?;
            put_header(&mut sink, Tag::SEQUENCE, None)?;
            put_header(&mut sink, Tag::OID, Some(ct.len() as u64))?;
            put(&mut sink, ct)?;
            put_header(&mut sink, Tag::context(0, true), None)?;
            put_header(&mut sink, Tag::universal(4, true), None)?;
        }
        Ok(Self {
            sink,
            signers,
            scratch,
            hashers,
            detached: options.detached,
            content_type,
            content_type_len: ct.len(),
            signing_time: options.signing_time,
            signed_attributes: options.signed_attributes,
            smime_capabilities: options.smime_capabilities,
            signer_id: options.signer_id,
            certs_len,
            crls_len,
            ekp_len,
            unsigned_len,
            version,
            poisoned: false,
        })
    }

    /// The sink.
    pub fn get_ref(&self) -> &W {
        &self.sink
    }

    /// The sink, mutably. For a detached signature nothing is written to it
    /// before [`finish`](Self::finish), so a caller may write its own bytes
    /// (the MIME part that carries the content) in between.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.sink
    }

    /// The digest algorithms the signers use (each once, in
    /// [`HashAlgorithm::ALL`] order): the `micalg` of a multipart/signed.
    pub fn digest_algorithms(&self) -> impl Iterator<Item = HashAlgorithm> + '_ {
        HashAlgorithm::ALL
            .into_iter()
            .filter(|h| self.hashers.get(hash_index(*h)).is_some_and(Option::is_some))
    }

    /// Hashes `content` and, for an attached signature, writes it.
    pub fn write(&mut self, content: &[u8]) -> Result<()> {
        if self.poisoned {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        for h in self.hashers.iter_mut().flatten() {
            h.update(content);
        }
        if self.detached || content.is_empty() {
            return Ok(());
        }
        let r = put_header(&mut self.sink, Tag::OCTET_STRING, Some(content.len() as u64))
            .and_then(|()| put(&mut self.sink, content));
        self.poisoned = r.is_err();
        r
    }

    /// Signs with every signer and writes the rest of the message (for a
    /// detached signature, all of it). Returns the sink.
    ///
    /// Backend failures are [`ErrorKind::Backend`]; nothing of the
    /// certificates or signerInfos is written before every signature is made.
    pub fn finish(self) -> Result<W> {
        if self.poisoned {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let Self {
            mut sink,
            signers,
            scratch,
            hashers,
            detached,
            content_type,
            content_type_len,
            signing_time,
            signed_attributes,
            smime_capabilities,
            signer_id,
            certs_len,
            crls_len,
            ekp_len,
            unsigned_len,
            version,
            ..
        } = self;
        let mut digests: [Option<Digest>; 4] = [None; 4];
        for (d, h) in digests.iter_mut().zip(hashers.iter()) {
            *d = h.clone().map(Hasher::finalize);
        }
        let ct = content_type.get(..content_type_len).unwrap_or(&[]);
        let base = [certs_len, crls_len, ekp_len, unsigned_len]
            .into_iter()
            .try_fold(0usize, usize::checked_add)
            .ok_or(overflow())?;
        if base > scratch.len() {
            return Err(Error::new(ErrorKind::BufferTooSmall { required: base }));
        }
        let (head, tail) = scratch.split_at_mut(base);
        let (certs, rest) = head.split_at(certs_len.min(head.len()));
        let (crls, rest) = rest.split_at(crls_len.min(rest.len()));
        let (ekp, unsigned) = rest.split_at(ekp_len.min(rest.len()));
        let ctx = AttrContext {
            content_type: ct,
            signing_time: if signed_attributes { signing_time } else { None },
            smime_capabilities,
            ekp,
            unsigned,
            signed_attributes,
            signer_id,
        };

        // Every SignerInfo, one after the other in `tail`.
        let mut spans = [(0usize, 0usize); MAX_SIGNERS];
        let mut pos = 0usize;
        for (signer, span) in signers.iter_mut().zip(spans.iter_mut()) {
            let h = digest_alg(&signer.algorithm());
            let digest = digests
                .get(hash_index(h))
                .copied()
                .flatten()
                .ok_or(Error::new(ErrorKind::InvalidState))?;
            let buf = tail.get_mut(pos..).ok_or(Error::new(ErrorKind::BufferTooSmall {
                required: base.saturating_add(pos),
            }))?;
            let n = build_signer_info(signer, buf, &digest, &ctx).map_err(|e| match e.kind() {
                ErrorKind::BufferTooSmall { required } => Error::new(ErrorKind::BufferTooSmall {
                    required: required.saturating_add(base).saturating_add(pos),
                }),
                _ => e,
            })?;
            *span = (pos, n);
            pos += n;
        }
        let count = signers.len().min(MAX_SIGNERS);
        let spans = spans.get_mut(..count).unwrap_or(&mut []);
        let tail: &[u8] = tail;
        let slice = |s: (usize, usize)| tail.get(s.0..s.0.saturating_add(s.1)).unwrap_or(&[]);
        // DER SET OF order.
        spans.sort_unstable_by(|a, b| slice(*a).cmp(slice(*b)));
        let sis_len = pos as u64;

        let certs_tlv =
            if certs_len == 0 { 0 } else { tlv_len(Tag::context(0, true), certs_len as u64)? };
        let crls_tlv =
            if crls_len == 0 { 0 } else { tlv_len(Tag::context(1, true), crls_len as u64)? };
        let sis_tlv = tlv_len(Tag::SET, sis_len)?;
        let write_tail = |sink: &mut W| -> Result<()> {
            if certs_len != 0 {
                put_header(sink, Tag::context(0, true), Some(certs_len as u64))?;
                put(sink, certs)?;
            }
            if crls_len != 0 {
                put_header(sink, Tag::context(1, true), Some(crls_len as u64))?;
                put(sink, crls)?;
            }
            put_header(sink, Tag::SET, Some(sis_len))?;
            for s in spans.iter() {
                put(sink, slice(*s))?;
            }
            Ok(())
        };
        let present = digests.each_ref().map(Option::is_some);
        let digalgs = digest_algorithms_len(present)?;
        if detached {
            let encap = tlv_len(Tag::SEQUENCE, tlv_len(Tag::OID, ct.len() as u64)?)?;
            let sd = [3, tlv_len(Tag::SET, digalgs)?, encap, certs_tlv, crls_tlv, sis_tlv]
                .into_iter()
                .try_fold(0u64, u64::checked_add)
                .ok_or(overflow())?;
            let sd_tlv = tlv_len(Tag::SEQUENCE, sd)?;
            let ci = tlv_len(Tag::OID, oid::SIGNED_DATA.len() as u64)?
                .checked_add(tlv_len(Tag::context(0, true), sd_tlv)?)
                .ok_or(overflow())?;
            put_header(&mut sink, Tag::SEQUENCE, Some(ci))?;
            put_header(&mut sink, Tag::OID, Some(oid::SIGNED_DATA.len() as u64))?;
            put(&mut sink, oid::SIGNED_DATA)?;
            put_header(&mut sink, Tag::context(0, true), Some(sd_tlv))?;
            put_header(&mut sink, Tag::SEQUENCE, Some(sd))?;
            put(&mut sink, &[0x02, 0x01, version])?;
            write_digest_algorithms(&mut sink, present)?;
            put_header(&mut sink, Tag::SEQUENCE, Some(tlv_len(Tag::OID, ct.len() as u64)?))?;
            put_header(&mut sink, Tag::OID, Some(ct.len() as u64))?;
            put(&mut sink, ct)?;
            write_tail(&mut sink)?;
        } else {
            // OCTET STRING, [0] eContent, EncapsulatedContentInfo.
            for _ in 0..3 {
                put(&mut sink, &EOC)?;
            }
            write_tail(&mut sink)?;
            // SignedData, [0] content, ContentInfo.
            for _ in 0..3 {
                put(&mut sink, &EOC)?;
            }
        }
        sink.flush().map_err(io_err)?;
        Ok(sink)
    }
}

/// What every SignerInfo shares.
struct AttrContext<'a> {
    content_type: &'a [u8],
    signing_time: Option<Time>,
    smime_capabilities: bool,
    /// The encryption key preference attribute (whole TLV), or empty.
    ekp: &'a [u8],
    /// The unsigned attributes (Attribute TLVs, sorted), or empty.
    unsigned: &'a [u8],
    signed_attributes: bool,
    signer_id: SignerIdKind,
}

/// Writes a Time as UTCTime (1950 to 2049) or GeneralizedTime.
fn write_time(w: &mut SliceWriter<'_>, t: Time) -> Result<()> {
    let (y, mo, d, h, mi, s) = t.to_civil();
    let mut buf = [0u8; 15];
    let (tag, digits_year) = if (1950..2050).contains(&y) {
        (Tag::universal(23, false), 2)
    } else if (0..10000).contains(&y) {
        (Tag::universal(24, false), 4)
    } else {
        return Err(Error::new(ErrorKind::InvalidValue));
    };
    let year = u32::try_from(y).map_err(|_| Error::new(ErrorKind::InvalidValue))?;
    let mut pos = 0;
    let mut push = |v: u32, n: u32| {
        for i in (0..n).rev() {
            let digit = (v / 10u32.pow(i)) % 10;
            if let Some(b) = buf.get_mut(pos) {
                *b = b'0' + u8::try_from(digit).unwrap_or(0);
            }
            pos += 1;
        }
    };
    push(year % 10u32.pow(digits_year), digits_year);
    for v in [mo, d, h, mi, s] {
        push(u32::from(v), 2);
    }
    if let Some(b) = buf.get_mut(pos) {
        *b = b'Z';
    }
    pos += 1;
    w.tlv(tag, buf.get(..pos).unwrap_or(&[]))
}

/// Builds one SignerInfo at the start of `buf`; returns its length. The
/// end of `buf` is used as working space.
fn build_signer_info<S: Signer>(
    signer: &mut S,
    buf: &mut [u8],
    content_digest: &Digest,
    ctx: &AttrContext<'_>,
) -> Result<usize> {
    let alg = signer.algorithm();
    let hash = digest_alg(&alg);
    let sig_max = signer.max_signature_len();

    // The fixed attributes in a small local buffer, then sorted.
    let mut local = [0u8; 384];
    let mut parts: [&[u8]; 5] = [&[]; 5];
    let mut nparts = 0usize;
    if ctx.signed_attributes {
        let mut w = SliceWriter::new(&mut local);
        let mut ends = [0usize; 4];
        let mut nends = 0usize;
        let attr = |w: &mut SliceWriter<'_>, ty: &[u8], value_len: usize| -> Result<()> {
            let set = to_usize(tlv_len(Tag::SET, value_len as u64)?)?;
            w.header(Tag::SEQUENCE, 2 + ty.len() + set)?;
            w.tlv(Tag::OID, ty)?;
            w.header(Tag::SET, value_len)
        };
        attr(&mut w, ATTR_CONTENT_TYPE, 2 + ctx.content_type.len())?;
        w.tlv(Tag::OID, ctx.content_type)?;
        if let Some(e) = ends.get_mut(nends) {
            *e = w.position();
            nends += 1;
        }
        let md = content_digest.as_bytes();
        attr(&mut w, ATTR_MESSAGE_DIGEST, 2 + md.len())?;
        w.tlv(Tag::OCTET_STRING, md)?;
        if let Some(e) = ends.get_mut(nends) {
            *e = w.position();
            nends += 1;
        }
        if let Some(t) = ctx.signing_time {
            let mut tb = [0u8; 20];
            let mut tw = SliceWriter::new(&mut tb);
            write_time(&mut tw, t)?;
            let tder = tw.finish();
            attr(&mut w, ATTR_SIGNING_TIME, tder.len())?;
            w.bytes(tder)?;
            if let Some(e) = ends.get_mut(nends) {
                *e = w.position();
                nends += 1;
            }
        }
        if ctx.smime_capabilities {
            let caps: usize = CAPABILITIES.iter().map(|c| 4 + c.len()).sum();
            let seq = 2 + caps;
            attr(&mut w, ATTR_SMIME_CAPABILITIES, seq)?;
            w.header(Tag::SEQUENCE, caps)?;
            for c in CAPABILITIES {
                w.header(Tag::SEQUENCE, 2 + c.len())?;
                w.tlv(Tag::OID, c)?;
            }
            if let Some(e) = ends.get_mut(nends) {
                *e = w.position();
                nends += 1;
            }
        }
        let mut start = 0;
        let written = w.finish();
        for &end in ends.get(..nends).unwrap_or(&[]) {
            if let (Some(p), Some(s)) = (parts.get_mut(nparts), written.get(start..end)) {
                *p = s;
                nparts += 1;
            }
            start = end;
        }
        if let (false, Some(p)) = (ctx.ekp.is_empty(), parts.get_mut(nparts)) {
            *p = ctx.ekp;
            nparts += 1;
        }
    }
    let parts = parts.get_mut(..nparts).unwrap_or(&mut []);
    parts.sort_unstable();
    let attrs_content: usize = parts.iter().map(|p| p.len()).sum();
    let attrs_set =
        if ctx.signed_attributes { to_usize(tlv_len(Tag::SET, attrs_content as u64)?)? } else { 0 };

    // Everything but the signature is known: check the space before signing.
    let (version, sid_len) = {
        let der = signer.certificate().ok_or(Error::new(ErrorKind::NoSignerCertificate))?;
        let cert = CertificateRef::from_der(der)?;
        match ctx.signer_id {
            SignerIdKind::IssuerAndSerial => {
                let ias = (cert.issuer_der().len() as u64)
                    .checked_add(tlv_len(Tag::INTEGER, cert.serial().len() as u64)?)
                    .ok_or(overflow())?;
                (1u8, tlv_len(Tag::SEQUENCE, ias)?)
            }
            SignerIdKind::SubjectKeyId => {
                let ski = cert.subject_key_id().ok_or(Error::new(ErrorKind::NoSubjectKeyId))?;
                (3u8, tlv_len(Tag::context(0, false), ski.len() as u64)?)
            }
        }
    };
    let mut alg_buf = [0u8; MAX_ALGORITHM_ID_LEN];
    let alg_id: &[u8] = match alg {
        SignatureAlgorithm::RsaPkcs1v15(_) => {
            let mut w = SliceWriter::new(&mut alg_buf);
            w.header(Tag::SEQUENCE, 2 + oid::RSA_ENCRYPTION.len() + 2)?;
            w.tlv(Tag::OID, oid::RSA_ENCRYPTION)?;
            w.tlv(Tag::NULL, &[])?;
            w.finish()
        }
        _ => {
            let l = alg.encode(&mut alg_buf)?;
            alg_buf.get(..l).unwrap_or(&[])
        }
    };
    let attrs_tlv = if ctx.signed_attributes {
        tlv_len(Tag::context(0, true), attrs_content as u64)?
    } else {
        0
    };
    let unsigned_tlv = if ctx.unsigned.is_empty() {
        0
    } else {
        tlv_len(Tag::context(1, true), ctx.unsigned.len() as u64)?
    };
    let digest_alg_tlv = digest_alg_len(hash)?;
    let alg_id_len = alg_id.len() as u64;
    let content_for = |sig_len: usize| -> Result<u64> {
        [
            3,
            sid_len,
            digest_alg_tlv,
            attrs_tlv,
            alg_id_len,
            tlv_len(Tag::OCTET_STRING, sig_len as u64)?,
            unsigned_tlv,
        ]
        .into_iter()
        .try_fold(0u64, u64::checked_add)
        .ok_or(overflow())
    };
    let temp_len = attrs_set.checked_add(sig_max).ok_or(overflow())?;
    let required = to_usize(tlv_len(Tag::SEQUENCE, content_for(sig_max)?)?)?
        .checked_add(temp_len)
        .ok_or(overflow())?;
    if required > buf.len() {
        return Err(Error::new(ErrorKind::BufferTooSmall { required }));
    }

    // Working space at the end: the DER of the signed attributes, then the
    // signature.
    let temp_start = buf
        .len()
        .checked_sub(temp_len)
        .ok_or(Error::new(ErrorKind::BufferTooSmall { required }))?;
    let (front, temp) = buf.split_at_mut(temp_start);
    let (attrs_buf, sig_buf) = temp.split_at_mut(attrs_set);
    if ctx.signed_attributes {
        let mut w = SliceWriter::new(attrs_buf);
        w.header(Tag::SET, attrs_content)?;
        for p in parts.iter() {
            w.bytes(p)?;
        }
    }
    let attrs_der: &[u8] = attrs_buf;

    // Sign exactly the bytes that go into the message.
    let n = {
        let md;
        let tbs = if ctx.signed_attributes {
            md = crate::digest::digest(hash, attrs_der);
            let digest = if alg == SignatureAlgorithm::Ed25519 { &[][..] } else { md.as_bytes() };
            ToBeSigned { message: Some(attrs_der), digest }
        } else {
            ToBeSigned { message: None, digest: content_digest.as_bytes() }
        };
        signer.sign(&tbs, sig_buf).map_err(|e| Error::new(ErrorKind::Backend(e.kind())))?
    };
    let sig = sig_buf.get(..n).ok_or(Error::new(ErrorKind::Backend(BackendErrorKind::Other)))?;

    let der = signer.certificate().ok_or(Error::new(ErrorKind::NoSignerCertificate))?;
    let cert = CertificateRef::from_der(der)?;
    let content = content_for(n)?;
    let total = to_usize(tlv_len(Tag::SEQUENCE, content)?)?;
    if total > front.len() {
        return Err(Error::new(ErrorKind::BufferTooSmall {
            required: total.saturating_add(temp_len),
        }));
    }
    let mut w = SliceWriter::new(front);
    w.header(Tag::SEQUENCE, to_usize(content)?)?;
    w.bytes(&[0x02, 0x01, version])?;
    match ctx.signer_id {
        SignerIdKind::IssuerAndSerial => {
            let ias = to_usize(
                cert.issuer_der().len() as u64 + tlv_len(Tag::INTEGER, cert.serial().len() as u64)?,
            )?;
            w.header(Tag::SEQUENCE, ias)?;
            w.bytes(cert.issuer_der())?;
            w.tlv(Tag::INTEGER, cert.serial())?;
        }
        SignerIdKind::SubjectKeyId => {
            w.tlv(Tag::context(0, false), cert.subject_key_id().unwrap_or(&[]))?;
        }
    }
    write_digest_alg(&mut w, hash)?;
    if ctx.signed_attributes {
        w.header(Tag::context(0, true), attrs_content)?;
        for p in parts.iter() {
            w.bytes(p)?;
        }
    }
    w.bytes(alg_id)?;
    w.tlv(Tag::OCTET_STRING, sig)?;
    if !ctx.unsigned.is_empty() {
        w.header(Tag::context(1, true), ctx.unsigned.len())?;
        w.bytes(ctx.unsigned)?;
    }
    Ok(w.position())
}

impl<S: Signer, W: Write> embedded_io::ErrorType for SignedDataEncoder<'_, '_, S, W> {
    type Error = Error;
}

impl<S: Signer, W: Write> embedded_io::Write for SignedDataEncoder<'_, '_, S, W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        SignedDataEncoder::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Signs everything `input` gives (until end of input) into `sink`: a
/// blocking convenience around [`SignedDataEncoder`]. Read errors are
/// [`ErrorKind::Io`].
pub fn sign<I, W, S>(
    mut input: I,
    sink: W,
    signers: &mut [S],
    scratch: &mut [u8],
    options: &SignOptions<'_>,
) -> Result<W>
where
    I: Read,
    W: Write,
    S: Signer,
{
    let mut enc = SignedDataEncoder::new(sink, signers, scratch, options)?;
    let mut buf = [0u8; 1024];
    loop {
        let n = input.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        enc.write(buf.get(..n).unwrap_or(&[]))?;
    }
    enc.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn time_der(t: Time) -> ([u8; 20], usize) {
        let mut b = [0u8; 20];
        let mut w = SliceWriter::new(&mut b);
        write_time(&mut w, t).unwrap();
        let n = w.position();
        (b, n)
    }

    #[test]
    fn times() {
        let (b, n) = time_der(Time::from_civil(2026, 11, 23, 14, 5, 6).unwrap());
        assert_eq!(&b[..n], b"\x17\x0d261123140506Z");
        let (b, n) = time_der(Time::from_civil(1950, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(&b[..n], b"\x17\x0d500101000000Z");
        let (b, n) = time_der(Time::from_civil(2050, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(&b[..n], b"\x18\x0f20500101000000Z");
        let (b, n) = time_der(Time::from_civil(1949, 12, 31, 23, 59, 59).unwrap());
        assert_eq!(&b[..n], b"\x18\x0f19491231235959Z");
        // Round trip through the parser.
        for t in [
            Time::from_civil(2049, 12, 31, 23, 59, 59).unwrap(),
            Time::from_civil(2100, 2, 3, 4, 5, 6).unwrap(),
        ] {
            let (b, n) = time_der(t);
            let tlv = crate::ber::SliceReader::new(&b[..n]).next_tlv().unwrap().unwrap();
            assert_eq!(Time::from_tlv(&tlv).unwrap(), t);
        }
    }

    #[test]
    fn digest_algorithms_are_sorted() {
        let mut out: std::vec::Vec<u8> = std::vec::Vec::new();
        write_digest_algorithms(&mut out, [true, true, false, true]).unwrap();
        let mut r = crate::ber::SliceReader::new(&out);
        let set = r.read_expect(Tag::SET).unwrap();
        let mut inner = set.reader();
        let mut prev: std::vec::Vec<u8> = std::vec::Vec::new();
        let mut n = 0;
        while let Some(t) = inner.next_tlv().unwrap() {
            let mut enc = std::vec![0x30, u8::try_from(t.value.len()).unwrap()];
            enc.extend_from_slice(t.value);
            assert!(enc > prev);
            prev = enc;
            n += 1;
        }
        assert_eq!(n, 3);
    }

    extern crate std;
}
