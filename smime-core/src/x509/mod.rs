//! Zero-copy X.509 certificate view.
//!
//! ```text
//! Certificate ::= SEQUENCE {
//!     tbsCertificate       TBSCertificate,
//!     signatureAlgorithm   AlgorithmIdentifier,
//!     signatureValue       BIT STRING }
//!
//! TBSCertificate ::= SEQUENCE {
//!     version         [0]  EXPLICIT Version DEFAULT v1,
//!     serialNumber         CertificateSerialNumber,
//!     signature            AlgorithmIdentifier,
//!     issuer               Name,
//!     validity             Validity,
//!     subject              Name,
//!     subjectPublicKeyInfo SubjectPublicKeyInfo,
//!     issuerUniqueID  [1]  IMPLICIT UniqueIdentifier OPTIONAL,
//!     subjectUniqueID [2]  IMPLICIT UniqueIdentifier OPTIONAL,
//!     extensions      [3]  EXPLICIT Extensions OPTIONAL }
//!
//! Extension ::= SEQUENCE {
//!     extnID      OBJECT IDENTIFIER,
//!     critical    BOOLEAN DEFAULT FALSE,
//!     extnValue   OCTET STRING }
//! ```
//! ([RFC 5280 § 4.1](https://www.rfc-editor.org/rfc/rfc5280#section-4.1))
//!
//! # Contract
//!
//! [`CertificateRef::from_der`] checks the whole structure once: every field
//! above, the names ([`NameRef`]), the validity times ([`Time`]), the RSA
//! public key when the algorithm is `rsaEncryption`, and the extensions this
//! module interprets (subjectKeyIdentifier, authorityKeyIdentifier, keyUsage,
//! basicConstraints, subjectAltName, extKeyUsage). Afterwards no accessor can
//! fail or panic. Nothing is copied: every slice borrows from the input.
//!
//! What it tolerates, because real certificates need it: v1 certificates
//! without extensions; serial numbers with leading zero octets or negative
//! ones (kept as encoded); BER lengths; unknown extensions, critical or not
//! (deciding about those is path validation's business). What it refuses
//! (as [`ErrorKind::InvalidCertificate`]): any structural error, bytes after
//! the certificate, two extensions with the same OID, more than
//! [`MAX_EXTENSIONS`] extensions, a malformed interpreted extension, a
//! signature or public key BIT STRING with unused bits.
//!
//! Signature verification and path validation are separate steps.

pub mod crl;
pub mod name;
pub mod path;
pub mod time;

pub use name::{AttributeRef, AttributeValue, DottedOid, NameAttributes, NameRef, short_name};
pub use time::Time;
pub use crl::{CrlRef, RevokedRef};
pub use path::{Check, Finding, PathReport, Purpose, ValidationOptions, validate};

use core::fmt;

use crate::backend::RecipientId;
use crate::ber::{Class, SliceReader, Tag, Tlv};
use crate::error::{AlgorithmName, Error, ErrorKind, KeyUsageError, Result};
use crate::oid;
use crate::pubkey::RsaPublicKeyRef;
use crate::pubkey::signature::{SignatureAlgorithm, verify_message};
use crate::pubkey::rsa::parse_pkcs1;

/// Most extensions a certificate may have (real ones have about ten).
pub const MAX_EXTENSIONS: usize = 64;

/// A borrowed, checked X.509 certificate. See the [module docs](self).
#[derive(Clone, Copy, Debug)]
pub struct CertificateRef<'a> {
    der: &'a [u8],
    tbs: &'a [u8],
    version: u8,
    serial: &'a [u8],
    tbs_signature_algorithm: &'a [u8],
    issuer: NameRef<'a>,
    not_before: Time,
    not_after: Time,
    subject: NameRef<'a>,
    spki: &'a [u8],
    public_key_algorithm: &'a [u8],
    public_key_parameters: Option<&'a [u8]>,
    public_key: &'a [u8],
    rsa: RsaKey<'a>,
    extensions: &'a [u8],
    subject_key_id: Option<&'a [u8]>,
    authority_key_id: Option<&'a [u8]>,
    key_usage: Option<KeyUsage>,
    basic_constraints: Option<BasicConstraints>,
    subject_alt_name: Option<&'a [u8]>,
    extended_key_usage: Option<&'a [u8]>,
    signature_algorithm: &'a [u8],
    signature: &'a [u8],
}

/// The certificate's key, as far as RSA encryption is concerned.
#[derive(Clone, Copy, Debug)]
enum RsaKey<'a> {
    /// An `rsaEncryption` key the public-key code supports.
    Usable(RsaPublicKeyRef<'a>),
    /// A well-formed `rsaEncryption` key outside what the public-key code
    /// supports (size, exponent).
    Unsupported,
    /// Not `rsaEncryption`.
    None,
}

/// The basicConstraints extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicConstraints {
    /// `cA`: the key may sign certificates.
    pub ca: bool,
    /// `pathLenConstraint`, if present.
    pub path_len: Option<u32>,
}

impl<'a> CertificateRef<'a> {
    /// Checks and borrows a DER (or BER) certificate. Any structural problem,
    /// including bytes after the certificate, is
    /// [`ErrorKind::InvalidCertificate`].
    pub fn from_der(der: &'a [u8]) -> Result<Self> {
        parse(der).map_err(|_| Error::new(ErrorKind::InvalidCertificate))
    }

    /// The whole certificate encoding.
    pub fn der(&self) -> &'a [u8] {
        self.der
    }

    /// The whole `TBSCertificate` encoding (what the signature covers).
    pub fn tbs_der(&self) -> &'a [u8] {
        self.tbs
    }

    /// The version: 1, 2 or 3.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The serial number's INTEGER content octets, exactly as encoded
    /// (leading zeros and sign kept), as CMS `IssuerAndSerialNumber` needs.
    pub fn serial(&self) -> &'a [u8] {
        self.serial
    }

    /// The issuer `Name` TLV.
    pub fn issuer_der(&self) -> &'a [u8] {
        self.issuer.der()
    }

    /// The subject `Name` TLV.
    pub fn subject_der(&self) -> &'a [u8] {
        self.subject.der()
    }

    /// The issuer name.
    pub fn issuer(&self) -> NameRef<'a> {
        self.issuer
    }

    /// The subject name.
    pub fn subject(&self) -> NameRef<'a> {
        self.subject
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> Time {
        self.not_before
    }

    /// End of the validity period (inclusive).
    pub fn not_after(&self) -> Time {
        self.not_after
    }

    /// Whether `t` lies within the validity period.
    pub fn is_valid_at(&self, t: Time) -> bool {
        self.not_before <= t && t <= self.not_after
    }

    /// The whole `SubjectPublicKeyInfo` TLV.
    pub fn spki_der(&self) -> &'a [u8] {
        self.spki
    }

    /// The public-key algorithm (OID content octets).
    pub fn public_key_algorithm(&self) -> &'a [u8] {
        self.public_key_algorithm
    }

    /// The public-key algorithm's parameters TLV, if present.
    pub fn public_key_parameters(&self) -> Option<&'a [u8]> {
        self.public_key_parameters
    }

    /// The `subjectPublicKey` octets (BIT STRING contents without the
    /// unused-bits octet): the PKCS#1 `RSAPublicKey`, the EC point, ...
    pub fn public_key(&self) -> &'a [u8] {
        self.public_key
    }

    /// The RSA public key, when the algorithm is `rsaEncryption` and the key
    /// is one the public-key code supports (1024 to 4096 bits).
    pub fn rsa_public_key(&self) -> Option<RsaPublicKeyRef<'a>> {
        match self.rsa {
            RsaKey::Usable(k) => Some(k),
            _ => None,
        }
    }

    /// The subjectKeyIdentifier, if present.
    pub fn subject_key_id(&self) -> Option<&'a [u8]> {
        self.subject_key_id
    }

    /// The authorityKeyIdentifier's `keyIdentifier`, if present.
    pub fn authority_key_id(&self) -> Option<&'a [u8]> {
        self.authority_key_id
    }

    /// The keyUsage extension, if present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// The basicConstraints extension, if present.
    pub fn basic_constraints(&self) -> Option<BasicConstraints> {
        self.basic_constraints
    }

    /// Whether basicConstraints says `cA`.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|b| b.ca)
    }

    /// Whether the certificate may be used for RSA key transport: an RSA key
    /// the public-key code supports, and keyEncipherment if keyUsage is
    /// present.
    ///
    /// Errors: [`KeyUsageError::WrongKeyType`] for a key that is not
    /// `rsaEncryption`; [`ErrorKind::AlgorithmNotAllowed`]`(RsaKeySize)` for
    /// an RSA key of an unsupported size;
    /// [`KeyUsageError::KeyEnciphermentNotAllowed`] when keyUsage lacks
    /// keyEncipherment.
    pub fn check_key_encipherment(&self) -> Result<()> {
        match self.rsa {
            RsaKey::Usable(_) => {}
            RsaKey::Unsupported => {
                return Err(Error::new(ErrorKind::AlgorithmNotAllowed(AlgorithmName::RsaKeySize)));
            }
            RsaKey::None => {
                return Err(Error::new(ErrorKind::KeyUsage(KeyUsageError::WrongKeyType)));
            }
        }
        match self.key_usage {
            Some(ku) if !ku.contains(KeyUsage::KEY_ENCIPHERMENT) => {
                Err(Error::new(ErrorKind::KeyUsage(KeyUsageError::KeyEnciphermentNotAllowed)))
            }
            _ => Ok(()),
        }
    }

    /// Whether keyUsage (if present) allows signatures: digitalSignature or
    /// nonRepudiation. Otherwise [`KeyUsageError::SignatureNotAllowed`].
    pub fn check_signature_usage(&self) -> Result<()> {
        match self.key_usage {
            Some(ku)
                if !ku.contains(KeyUsage::DIGITAL_SIGNATURE)
                    && !ku.contains(KeyUsage::NON_REPUDIATION) =>
            {
                Err(Error::new(ErrorKind::KeyUsage(KeyUsageError::SignatureNotAllowed)))
            }
            _ => Ok(()),
        }
    }

    /// How a CMS message names this certificate: issuer, serial number and
    /// subject key identifier.
    pub fn recipient_id(&self) -> RecipientId<'a> {
        RecipientId {
            issuer: self.issuer.der(),
            serial: self.serial,
            subject_key_id: self.subject_key_id,
        }
    }

    /// All extensions, in encoded order.
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions { reader: SliceReader::new(self.extensions) }
    }

    /// The extension with OID `oid` (content octets), if present.
    pub fn extension(&self, oid: &[u8]) -> Option<Extension<'a>> {
        self.extensions().find(|e| e.oid == oid)
    }

    /// The subjectAltName entries, if the extension is present.
    pub fn subject_alt_names(&self) -> Option<GeneralNames<'a>> {
        self.subject_alt_name.map(|v| GeneralNames { reader: SliceReader::new(v) })
    }

    /// The subjectAltName rfc822Name entries (e-mail addresses).
    pub fn rfc822_names(&self) -> Rfc822Names<'a> {
        Rfc822Names {
            names: GeneralNames { reader: SliceReader::new(self.subject_alt_name.unwrap_or(&[])) },
        }
    }

    /// The extKeyUsage purposes (OID content octets), if the extension is
    /// present.
    pub fn extended_key_usage(&self) -> Option<KeyPurposes<'a>> {
        self.extended_key_usage.map(|v| KeyPurposes { reader: SliceReader::new(v) })
    }

    /// The outer `signatureAlgorithm` TLV.
    pub fn signature_algorithm_der(&self) -> &'a [u8] {
        self.signature_algorithm
    }

    /// The `signature` AlgorithmIdentifier TLV inside the TBSCertificate
    /// (RFC 5280 requires it to equal [`signature_algorithm_der`](Self::signature_algorithm_der)).
    pub fn tbs_signature_algorithm_der(&self) -> &'a [u8] {
        self.tbs_signature_algorithm
    }

    /// The signature octets (BIT STRING contents without the unused-bits octet).
    pub fn signature(&self) -> &'a [u8] {
        self.signature
    }

    /// Checks this certificate's signature with `issuer`'s public key (and
    /// that the outer and TBS signature algorithms agree).
    ///
    /// Errors: [`ErrorKind::BadSignature`] when the signature does not verify
    /// or the two signature algorithm identifiers differ;
    /// [`ErrorKind::UnsupportedAlgorithm`] for algorithms not implemented
    /// (see [`crate::pubkey::signature`]);
    /// [`KeyUsageError::WrongKeyType`] when the issuer's key does not fit the
    /// algorithm; [`ErrorKind::InvalidKey`] when the issuer's key is not
    /// usable; encoding errors for malformed algorithm parameters.
    ///
    /// Only the signature is checked: names, validity, key usage and
    /// basicConstraints are path validation's business. SHA-1 signatures
    /// verify; the caller decides with
    /// [`SignatureAlgorithm::is_weak`](crate::pubkey::SignatureAlgorithm::is_weak)
    /// on [`signature_algorithm_der`](Self::signature_algorithm_der).
    pub fn verify_issued_by(&self, issuer: &CertificateRef<'_>) -> Result<()> {
        if !same_algorithm_id(self.signature_algorithm, self.tbs_signature_algorithm) {
            return Err(Error::new(ErrorKind::BadSignature));
        }
        let alg = SignatureAlgorithm::from_der(self.signature_algorithm)?;
        verify_message(issuer.spki, &alg, self.tbs, self.signature)
    }

    /// SHA-256 of the whole certificate.
    pub fn fingerprint_sha256(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(self.der).into()
    }

    /// SHA-1 of the whole certificate (thumbprint, for display only).
    pub fn fingerprint_sha1(&self) -> [u8; 20] {
        use sha1::Digest;
        sha1::Sha1::digest(self.der).into()
    }
}

fn parse(der: &[u8]) -> Result<CertificateRef<'_>> {
    let mut outer = SliceReader::new(der);
    let cert = outer.read_expect(Tag::SEQUENCE)?;
    outer.finish()?;
    let mut c = cert.reader();
    let tbs = c.read_expect(Tag::SEQUENCE)?;
    let signature_algorithm = algorithm_identifier(&c.read()?)?.raw;
    let signature = bit_string_octets(&c.read()?)?;
    c.finish()?;

    let mut t = tbs.reader();
    let version = match t.read_optional(Tag::context(0, true))? {
        Some(v) => {
            let mut r = v.reader();
            let n = r.read()?.small_uint()?;
            r.finish()?;
            match n {
                0 => 1,
                1 => 2,
                2 => 3,
                _ => return Err(Error::new(ErrorKind::InvalidValue)),
            }
        }
        None => 1,
    };
    let serial = t.read_expect(Tag::INTEGER)?.value;
    if serial.is_empty() {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let tbs_signature_algorithm = algorithm_identifier(&t.read()?)?.raw;
    let issuer = NameRef::from_tlv(&t.read()?)?;
    let validity = t.read_expect(Tag::SEQUENCE)?;
    let mut v = validity.reader();
    let not_before = Time::from_tlv(&v.read()?)?;
    let not_after = Time::from_tlv(&v.read()?)?;
    v.finish()?;
    let subject = NameRef::from_tlv(&t.read()?)?;

    let spki = t.read_expect(Tag::SEQUENCE)?;
    let mut s = spki.reader();
    let alg = algorithm_identifier(&s.read()?)?;
    let public_key = bit_string_octets(&s.read()?)?;
    s.finish()?;
    let mut a = alg.reader();
    let public_key_algorithm = a.read_expect(Tag::OID)?.value;
    let public_key_parameters = a.next_tlv()?.map(|p| p.raw);
    let rsa = if public_key_algorithm == oid::RSA_ENCRYPTION {
        let (n, e) = parse_pkcs1(public_key)?;
        match RsaPublicKeyRef::new(n, e) {
            Ok(k) => RsaKey::Usable(k),
            Err(_) => RsaKey::Unsupported,
        }
    } else {
        RsaKey::None
    };

    // issuerUniqueID and subjectUniqueID: skipped.
    for n in [1, 2] {
        if t.peek_tag().is_some_and(|tag| tag.class == Class::ContextSpecific && tag.number == n) {
            t.read()?;
        }
    }
    let mut cert = CertificateRef {
        der: cert.raw,
        tbs: tbs.raw,
        version,
        serial,
        tbs_signature_algorithm,
        issuer,
        not_before,
        not_after,
        subject,
        spki: spki.raw,
        public_key_algorithm,
        public_key_parameters,
        public_key,
        rsa,
        extensions: &[],
        subject_key_id: None,
        authority_key_id: None,
        key_usage: None,
        basic_constraints: None,
        subject_alt_name: None,
        extended_key_usage: None,
        signature_algorithm,
        signature,
    };
    if let Some(exts) = t.read_optional(Tag::context(3, true))? {
        let mut r = exts.reader();
        let seq = r.read_expect(Tag::SEQUENCE)?;
        r.finish()?;
        cert.extensions = seq.value;
        parse_extensions(&mut cert)?;
    }
    t.finish()?;
    Ok(cert)
}

/// Whether two (checked) `AlgorithmIdentifier`s are the same: equal
/// encodings, or equal OIDs and parameters up to BER length forms.
pub(crate) fn same_algorithm_id(a: &[u8], b: &[u8]) -> bool {
    /// OID, and the parameters' tag and contents.
    type Parts<'a> = (&'a [u8], Option<(Tag, &'a [u8])>);
    fn parts(der: &[u8]) -> Option<Parts<'_>> {
        let mut r = SliceReader::new(der).next_tlv().ok()??.reader();
        let o = r.read_expect(Tag::OID).ok()?.value;
        let p = r.next_tlv().ok()?.map(|p| (p.tag, p.value));
        Some((o, p))
    }
    a == b || parts(a).is_some_and(|pa| parts(b) == Some(pa))
}

/// Checks an `AlgorithmIdentifier` (SEQUENCE { OID, ANY OPTIONAL }).
fn algorithm_identifier<'a>(tlv: &Tlv<'a>) -> Result<Tlv<'a>> {
    let tlv = tlv.expect(Tag::SEQUENCE)?;
    let mut r = tlv.reader();
    r.read_expect(Tag::OID)?;
    r.next_tlv()?;
    r.finish()?;
    Ok(tlv)
}

/// The octets of a primitive BIT STRING with no unused bits.
fn bit_string_octets<'a>(tlv: &Tlv<'a>) -> Result<&'a [u8]> {
    match tlv.expect(Tag::BIT_STRING)?.value {
        [0, rest @ ..] => Ok(rest),
        _ => Err(Error::new(ErrorKind::InvalidValue)),
    }
}

fn parse_extensions(cert: &mut CertificateRef<'_>) -> Result<()> {
    let invalid = Error::new(ErrorKind::InvalidValue);
    let mut count = 0usize;
    for (i, ext) in ExtensionsChecked::new(cert.extensions).enumerate() {
        let ext = ext?;
        count += 1;
        if count > MAX_EXTENSIONS {
            return Err(invalid);
        }
        // Duplicates: compare with every earlier extension (bounded above).
        let mut earlier = Extensions { reader: SliceReader::new(cert.extensions) }.take(i);
        if earlier.any(|e| e.oid == ext.oid) {
            return Err(invalid);
        }
        // The interpreted extensions; others are not looked into.
        let value = || -> Result<Tlv<'_>> {
            let mut r = SliceReader::new(ext.value);
            let value = r.read()?;
            r.finish()?;
            Ok(value)
        };
        match ext.oid {
            oid::SUBJECT_KEY_IDENTIFIER => {
                cert.subject_key_id = Some(value()?.expect(Tag::OCTET_STRING)?.value);
            }
            oid::AUTHORITY_KEY_IDENTIFIER => {
                let mut a = value()?.expect(Tag::SEQUENCE)?.reader();
                cert.authority_key_id = a.read_optional(Tag::context(0, false))?.map(|k| k.value);
                a.read_optional(Tag::context(1, true))?;
                a.read_optional(Tag::context(2, false))?;
                a.finish()?;
            }
            oid::KEY_USAGE => cert.key_usage = Some(KeyUsage::from_bit_string(&value()?)?),
            oid::BASIC_CONSTRAINTS => {
                let mut b = value()?.expect(Tag::SEQUENCE)?.reader();
                let ca = match b.read_optional(Tag::BOOLEAN)? {
                    Some(v) => boolean(&v)?,
                    None => false,
                };
                let path_len = match b.read_optional(Tag::INTEGER)? {
                    Some(v) => Some(path_len(v.value)?),
                    None => None,
                };
                b.finish()?;
                cert.basic_constraints = Some(BasicConstraints { ca, path_len });
            }
            oid::SUBJECT_ALT_NAME => {
                let seq = value()?.expect(Tag::SEQUENCE)?;
                let mut g = seq.reader();
                while let Some(n) = g.next_tlv()? {
                    GeneralName::from_tlv(&n)?;
                }
                cert.subject_alt_name = Some(seq.value);
            }
            oid::EXT_KEY_USAGE => {
                let seq = value()?.expect(Tag::SEQUENCE)?;
                let mut p = seq.reader();
                while let Some(o) = p.next_tlv()? {
                    if o.expect(Tag::OID)?.value.is_empty() {
                        return Err(invalid);
                    }
                }
                cert.extended_key_usage = Some(seq.value);
            }
            _ => {}
        }
    }
    Ok(())
}

/// `pathLenConstraint`: a negative value (old encoders wrote `-1`) is read
/// as 0, the strictest reading, as OpenSSL does; a huge one as `u32::MAX`.
fn path_len(v: &[u8]) -> Result<u32> {
    match v {
        [] => Err(Error::new(ErrorKind::InvalidValue)),
        [b, ..] if b & 0x80 != 0 => Ok(0),
        _ => Ok(v
            .iter()
            .try_fold(0u32, |acc, &b| acc.checked_mul(256).map(|a| a | u32::from(b)))
            .unwrap_or(u32::MAX)),
    }
}

fn boolean(tlv: &Tlv<'_>) -> Result<bool> {
    match tlv.value {
        [b] => Ok(*b != 0),
        _ => Err(Error::new(ErrorKind::InvalidValue)),
    }
}

/// One extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extension<'a> {
    /// `extnID` (OID content octets).
    pub oid: &'a [u8],
    /// `critical`.
    pub critical: bool,
    /// `extnValue`: the OCTET STRING's contents (the DER of the extension's
    /// own structure).
    pub value: &'a [u8],
}

impl<'a> Extension<'a> {
    fn from_tlv(tlv: &Tlv<'a>) -> Result<Self> {
        let mut r = tlv.expect(Tag::SEQUENCE)?.reader();
        let oid = r.read_expect(Tag::OID)?.value;
        if oid.is_empty() {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        let critical = match r.read_optional(Tag::BOOLEAN)? {
            Some(b) => boolean(&b)?,
            None => false,
        };
        let value = r.read_expect(Tag::OCTET_STRING)?.value;
        r.finish()?;
        Ok(Self { oid, critical, value })
    }
}

/// Iterator over a certificate's extensions (checked at construction).
#[derive(Clone, Debug)]
pub struct Extensions<'a> {
    reader: SliceReader<'a>,
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Extension<'a>;

    fn next(&mut self) -> Option<Extension<'a>> {
        let tlv = self.reader.next_tlv().ok().flatten()?;
        Extension::from_tlv(&tlv).ok()
    }
}

/// The checking iterator used at construction: yields errors.
struct ExtensionsChecked<'a> {
    reader: SliceReader<'a>,
}

impl<'a> ExtensionsChecked<'a> {
    fn new(v: &'a [u8]) -> Self {
        Self { reader: SliceReader::new(v) }
    }
}

impl<'a> Iterator for ExtensionsChecked<'a> {
    type Item = Result<Extension<'a>>;

    fn next(&mut self) -> Option<Result<Extension<'a>>> {
        match self.reader.next_tlv() {
            Ok(Some(tlv)) => Some(Extension::from_tlv(&tlv)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// The keyUsage bits (RFC 5280 § 4.2.1.3); bit `n` of the BIT STRING is
/// `1 << n` here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct KeyUsage(pub u16);

impl KeyUsage {
    /// digitalSignature (0).
    pub const DIGITAL_SIGNATURE: KeyUsage = KeyUsage(1 << 0);
    /// nonRepudiation / contentCommitment (1).
    pub const NON_REPUDIATION: KeyUsage = KeyUsage(1 << 1);
    /// keyEncipherment (2).
    pub const KEY_ENCIPHERMENT: KeyUsage = KeyUsage(1 << 2);
    /// dataEncipherment (3).
    pub const DATA_ENCIPHERMENT: KeyUsage = KeyUsage(1 << 3);
    /// keyAgreement (4).
    pub const KEY_AGREEMENT: KeyUsage = KeyUsage(1 << 4);
    /// keyCertSign (5).
    pub const KEY_CERT_SIGN: KeyUsage = KeyUsage(1 << 5);
    /// cRLSign (6).
    pub const CRL_SIGN: KeyUsage = KeyUsage(1 << 6);
    /// encipherOnly (7).
    pub const ENCIPHER_ONLY: KeyUsage = KeyUsage(1 << 7);
    /// decipherOnly (8).
    pub const DECIPHER_ONLY: KeyUsage = KeyUsage(1 << 8);

    const NAMES: [&'static str; 9] = [
        "digitalSignature",
        "nonRepudiation",
        "keyEncipherment",
        "dataEncipherment",
        "keyAgreement",
        "keyCertSign",
        "cRLSign",
        "encipherOnly",
        "decipherOnly",
    ];

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: KeyUsage) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Parses the keyUsage BIT STRING (named bits beyond decipherOnly are
    /// ignored; unused bits are masked off).
    fn from_bit_string(tlv: &Tlv<'_>) -> Result<Self> {
        let v = tlv.expect(Tag::BIT_STRING)?.value;
        let (&unused, bytes) = v.split_first().ok_or(Error::new(ErrorKind::InvalidValue))?;
        if unused > 7 || (unused > 0 && bytes.is_empty()) {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        let mut bits = 0u16;
        for i in 0..9usize {
            let Some(&b) = bytes.get(i / 8) else { break };
            let b = if i / 8 + 1 == bytes.len() { b & (0xFF << unused) } else { b };
            if b & (0x80 >> (i % 8)) != 0 {
                bits |= 1 << i;
            }
        }
        Ok(Self(bits))
    }
}

/// The set bits by name, comma-separated: `digitalSignature, keyEncipherment`.
impl fmt::Display for KeyUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (i, name) in Self::NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first {
                    f.write_str(", ")?;
                }
                first = false;
                f.write_str(name)?;
            }
        }
        Ok(())
    }
}

/// One subjectAltName entry (RFC 5280 § 4.2.1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GeneralName<'a> {
    /// `rfc822Name` (IA5String octets).
    Rfc822(&'a [u8]),
    /// `dNSName` (IA5String octets).
    Dns(&'a [u8]),
    /// `uniformResourceIdentifier` (IA5String octets).
    Uri(&'a [u8]),
    /// `iPAddress` (4 or 16 octets, as encoded).
    Ip(&'a [u8]),
    /// `directoryName`.
    Directory(NameRef<'a>),
    /// Any other form (otherName, x400Address, ediPartyName, registeredID).
    Other(Tlv<'a>),
}

impl<'a> GeneralName<'a> {
    fn from_tlv(tlv: &Tlv<'a>) -> Result<Self> {
        let invalid = Error::new(ErrorKind::InvalidValue);
        if tlv.tag.class != Class::ContextSpecific {
            return Err(invalid);
        }
        let primitive = |t: &Tlv<'a>| if t.tag.constructed { Err(invalid) } else { Ok(t.value) };
        Ok(match tlv.tag.number {
            1 => Self::Rfc822(primitive(tlv)?),
            2 => Self::Dns(primitive(tlv)?),
            6 => Self::Uri(primitive(tlv)?),
            7 => Self::Ip(primitive(tlv)?),
            4 => {
                if !tlv.tag.constructed {
                    return Err(invalid);
                }
                let mut r = tlv.reader();
                let name = NameRef::from_tlv(&r.read()?)?;
                r.finish()?;
                Self::Directory(name)
            }
            0 | 3 | 5 | 8 => Self::Other(*tlv),
            _ => return Err(invalid),
        })
    }
}

/// Iterator over `GeneralNames` (checked at construction).
#[derive(Clone, Debug)]
pub struct GeneralNames<'a> {
    reader: SliceReader<'a>,
}

impl<'a> Iterator for GeneralNames<'a> {
    type Item = GeneralName<'a>;

    fn next(&mut self) -> Option<GeneralName<'a>> {
        let tlv = self.reader.next_tlv().ok().flatten()?;
        GeneralName::from_tlv(&tlv).ok()
    }
}

/// Iterator over the subjectAltName rfc822Name entries.
#[derive(Clone, Debug)]
pub struct Rfc822Names<'a> {
    names: GeneralNames<'a>,
}

impl<'a> Iterator for Rfc822Names<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.names.find_map(|n| match n {
            GeneralName::Rfc822(m) => Some(m),
            _ => None,
        })
    }
}

/// Iterator over extKeyUsage purposes (OID content octets).
#[derive(Clone, Debug)]
pub struct KeyPurposes<'a> {
    reader: SliceReader<'a>,
}

impl<'a> Iterator for KeyPurposes<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.reader.next_tlv().ok().flatten().map(|t| t.value)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core
)]
mod tests;
