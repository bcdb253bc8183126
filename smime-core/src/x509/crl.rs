//! Zero-copy certificate revocation list view.
//!
//! ```text
//! CertificateList  ::=  SEQUENCE  {
//!      tbsCertList          TBSCertList,
//!      signatureAlgorithm   AlgorithmIdentifier,
//!      signatureValue       BIT STRING  }
//!
//! TBSCertList  ::=  SEQUENCE  {
//!      version                 Version OPTIONAL,
//!                                   -- if present, MUST be v2
//!      signature               AlgorithmIdentifier,
//!      issuer                  Name,
//!      thisUpdate              Time,
//!      nextUpdate              Time OPTIONAL,
//!      revokedCertificates     SEQUENCE OF SEQUENCE  {
//!           userCertificate         CertificateSerialNumber,
//!           revocationDate          Time,
//!           crlEntryExtensions      Extensions OPTIONAL
//!                                    -- if present, version MUST be v2
//!                                }  OPTIONAL,
//!      crlExtensions           [0]  EXPLICIT Extensions OPTIONAL
//!                                    -- if present, version MUST be v2
//!                                }
//! ```
//! ([RFC 5280 § 5.1](https://www.rfc-editor.org/rfc/rfc5280#section-5.1))
//!
//! # Contract
//!
//! [`CrlRef::from_der`] checks the whole structure once: every field above,
//! every revoked-certificate entry, every extension (no duplicates, at most
//! [`MAX_EXTENSIONS`] per extension list), and the extensions this module
//! interprets (cRLNumber, authorityKeyIdentifier, issuingDistributionPoint,
//! deltaCRLIndicator; reasonCode and certificateIssuer in entries).
//! Afterwards no accessor can fail or panic. Nothing is copied. Parsing is
//! linear in the size of the list; [`CrlRef::is_revoked`] is a linear scan.
//!
//! Anything wrong with the structure is [`ErrorKind::InvalidCrl`]. A CRL that
//! is well formed but that this library cannot rely on for a complete answer
//! (a delta CRL, an indirect CRL, one limited to some revocation reasons, one
//! with a critical extension it does not know) still parses; it reports why in
//! [`CrlRef::limitation`], and [`CrlRef::covers`] is false for every
//! certificate, so path validation treats it as "no revocation information",
//! never as "not revoked".
//!
//! Signature verification is a separate step ([`CrlRef::verify_issued_by`]).

use core::fmt;

use super::{
    CertificateRef, Extension, ExtensionsChecked, MAX_EXTENSIONS, NameRef, Time,
    algorithm_identifier, bit_string_octets, boolean,
};
use crate::ber::{Class, SliceReader, Tag, Tlv};
use crate::error::{Error, ErrorKind, Result};
use crate::oid;
use crate::pubkey::signature::{SignatureAlgorithm, verify_message};

/// id-ce-cRLNumber, 2.5.29.20
const CRL_NUMBER: &[u8] = &[0x55, 0x1D, 0x14];
/// id-ce-cRLReasons, 2.5.29.21
const REASON_CODE: &[u8] = &[0x55, 0x1D, 0x15];
/// id-ce-holdInstructionCode, 2.5.29.23
const HOLD_INSTRUCTION_CODE: &[u8] = &[0x55, 0x1D, 0x17];
/// id-ce-invalidityDate, 2.5.29.24
const INVALIDITY_DATE: &[u8] = &[0x55, 0x1D, 0x18];
/// id-ce-deltaCRLIndicator, 2.5.29.27
const DELTA_CRL_INDICATOR: &[u8] = &[0x55, 0x1D, 0x1B];
/// id-ce-issuingDistributionPoint, 2.5.29.28
const ISSUING_DISTRIBUTION_POINT: &[u8] = &[0x55, 0x1D, 0x1C];
/// id-ce-certificateIssuer, 2.5.29.29
const CERTIFICATE_ISSUER: &[u8] = &[0x55, 0x1D, 0x1D];
/// id-ce-cRLDistributionPoints, 2.5.29.31
pub(crate) const CRL_DISTRIBUTION_POINTS: &[u8] = &[0x55, 0x1D, 0x1F];
/// id-ce-issuerAltName, 2.5.29.18
const ISSUER_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x12];
/// id-ce-freshestCRL, 2.5.29.46
const FRESHEST_CRL: &[u8] = &[0x55, 0x1D, 0x2E];
/// ENUMERATED.
const ENUMERATED: Tag = Tag::universal(10, false);

/// CRL reason codes (RFC 5280 § 5.3.1), as carried in [`RevokedRef::reason`].
pub mod reason {
    /// unspecified (0).
    pub const UNSPECIFIED: u8 = 0;
    /// keyCompromise (1).
    pub const KEY_COMPROMISE: u8 = 1;
    /// cACompromise (2).
    pub const CA_COMPROMISE: u8 = 2;
    /// affiliationChanged (3).
    pub const AFFILIATION_CHANGED: u8 = 3;
    /// superseded (4).
    pub const SUPERSEDED: u8 = 4;
    /// cessationOfOperation (5).
    pub const CESSATION_OF_OPERATION: u8 = 5;
    /// certificateHold (6): suspended, may be released later.
    pub const CERTIFICATE_HOLD: u8 = 6;
    /// removeFromCRL (8): only in delta CRLs.
    pub const REMOVE_FROM_CRL: u8 = 8;
    /// privilegeWithdrawn (9).
    pub const PRIVILEGE_WITHDRAWN: u8 = 9;
    /// aACompromise (10).
    pub const AA_COMPROMISE: u8 = 10;

    /// The RFC 5280 name of a reason code, if it is one.
    pub fn name(code: u8) -> Option<&'static str> {
        Some(match code {
            UNSPECIFIED => "unspecified",
            KEY_COMPROMISE => "keyCompromise",
            CA_COMPROMISE => "cACompromise",
            AFFILIATION_CHANGED => "affiliationChanged",
            SUPERSEDED => "superseded",
            CESSATION_OF_OPERATION => "cessationOfOperation",
            CERTIFICATE_HOLD => "certificateHold",
            REMOVE_FROM_CRL => "removeFromCRL",
            PRIVILEGE_WITHDRAWN => "privilegeWithdrawn",
            AA_COMPROMISE => "aACompromise",
            _ => return None,
        })
    }
}

/// Why a well-formed CRL cannot be relied on for a complete answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrlLimitation {
    /// A delta CRL (deltaCRLIndicator): it lists only changes since a base
    /// CRL, and this library does not combine CRLs.
    DeltaCrl,
    /// An indirect CRL (issuingDistributionPoint `indirectCRL`, or entries
    /// with a certificateIssuer): entries may be about other issuers'
    /// certificates, which this library does not support.
    IndirectCrl,
    /// The CRL covers only some revocation reasons (`onlySomeReasons`).
    OnlySomeReasons,
    /// The CRL covers only attribute certificates.
    AttributeCertificatesOnly,
    /// A critical CRL extension this library does not know.
    UnknownCriticalExtension,
    /// A critical CRL entry extension this library does not know.
    UnknownCriticalEntryExtension,
}

impl fmt::Display for CrlLimitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DeltaCrl => "it is a delta CRL, and delta CRLs are not supported",
            Self::IndirectCrl => "it is an indirect CRL, and indirect CRLs are not supported",
            Self::OnlySomeReasons => "it covers only some revocation reasons",
            Self::AttributeCertificatesOnly => "it covers only attribute certificates",
            Self::UnknownCriticalExtension => {
                "it has a critical extension this library does not know"
            }
            Self::UnknownCriticalEntryExtension => {
                "an entry has a critical extension this library does not know"
            }
        })
    }
}

/// The issuingDistributionPoint extension, as far as scope checking needs it.
#[derive(Clone, Copy, Debug)]
struct IssuingDistributionPoint<'a> {
    /// The `fullName` GeneralNames contents, when the distribution point is
    /// given that way.
    full_name: Option<&'a [u8]>,
    /// A distribution point given as `nameRelativeToCRLIssuer` (not matched).
    relative_name: bool,
    only_user_certs: bool,
    only_ca_certs: bool,
}

/// A borrowed, checked certificate revocation list. See the [module docs](self).
#[derive(Clone, Copy, Debug)]
pub struct CrlRef<'a> {
    der: &'a [u8],
    tbs: &'a [u8],
    version: u8,
    tbs_signature_algorithm: &'a [u8],
    issuer: NameRef<'a>,
    this_update: Time,
    next_update: Option<Time>,
    revoked: &'a [u8],
    extensions: &'a [u8],
    authority_key_id: Option<&'a [u8]>,
    crl_number: Option<&'a [u8]>,
    idp: Option<IssuingDistributionPoint<'a>>,
    limitation: Option<CrlLimitation>,
    signature_algorithm: &'a [u8],
    signature: &'a [u8],
}

/// One revoked-certificate entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevokedRef<'a> {
    /// The serial number's INTEGER content octets, as encoded.
    pub serial: &'a [u8],
    /// When the certificate was revoked.
    pub revocation_date: Time,
    /// The reasonCode entry extension (see [`reason`]), if present.
    pub reason: Option<u8>,
}

impl<'a> CrlRef<'a> {
    /// Checks and borrows a DER (or BER) CRL. Any structural problem,
    /// including bytes after the CRL, is [`ErrorKind::InvalidCrl`].
    pub fn from_der(der: &'a [u8]) -> Result<Self> {
        parse(der).map_err(|_| Error::new(ErrorKind::InvalidCrl))
    }

    /// The whole CRL encoding.
    pub fn der(&self) -> &'a [u8] {
        self.der
    }

    /// The whole `TBSCertList` encoding (what the signature covers).
    pub fn tbs_der(&self) -> &'a [u8] {
        self.tbs
    }

    /// The version: 1 or 2.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The issuer `Name` TLV.
    pub fn issuer_der(&self) -> &'a [u8] {
        self.issuer.der()
    }

    /// The issuer name.
    pub fn issuer(&self) -> NameRef<'a> {
        self.issuer
    }

    /// When this CRL was issued.
    pub fn this_update(&self) -> Time {
        self.this_update
    }

    /// When the next CRL is due, if stated.
    pub fn next_update(&self) -> Option<Time> {
        self.next_update
    }

    /// Whether the CRL is current at `t`: `thisUpdate <= t` and `nextUpdate`
    /// absent or `t <= nextUpdate`.
    pub fn is_current_at(&self, t: Time) -> bool {
        self.this_update <= t && self.next_update.is_none_or(|n| t <= n)
    }

    /// The revoked-certificate entries, in encoded order.
    pub fn revoked(&self) -> RevokedCertificates<'a> {
        RevokedCertificates { reader: SliceReader::new(self.revoked) }
    }

    /// The entry for the certificate with serial number `serial` (INTEGER
    /// content octets), if listed. Serial numbers are compared as integers:
    /// leading octets that do not change the value (`00` before a positive
    /// number, `FF` before a negative one) are ignored on both sides.
    pub fn is_revoked(&self, serial: &[u8]) -> Option<RevokedRef<'a>> {
        let want = significant(serial);
        self.revoked().find(|r| significant(r.serial) == want)
    }

    /// The `signature` AlgorithmIdentifier TLV inside the TBSCertList.
    pub fn tbs_signature_algorithm_der(&self) -> &'a [u8] {
        self.tbs_signature_algorithm
    }

    /// The outer `signatureAlgorithm` TLV.
    pub fn signature_algorithm_der(&self) -> &'a [u8] {
        self.signature_algorithm
    }

    /// The signature octets (BIT STRING contents without the unused-bits octet).
    pub fn signature(&self) -> &'a [u8] {
        self.signature
    }

    /// The authorityKeyIdentifier's `keyIdentifier`, if present.
    pub fn authority_key_id(&self) -> Option<&'a [u8]> {
        self.authority_key_id
    }

    /// The cRLNumber's INTEGER content octets, if present.
    pub fn crl_number(&self) -> Option<&'a [u8]> {
        self.crl_number
    }

    /// All CRL extensions (not entry extensions), in encoded order.
    pub fn extensions(&self) -> super::Extensions<'a> {
        super::Extensions { reader: SliceReader::new(self.extensions) }
    }

    /// Why this CRL cannot be relied on for a complete answer about any
    /// certificate, or `None` if it can (subject to [`covers`](Self::covers)).
    pub fn limitation(&self) -> Option<CrlLimitation> {
        self.limitation
    }

    /// Whether this CRL is one this library can rely on for `cert`'s status:
    /// same issuer name, no [`limitation`](Self::limitation), and `cert`
    /// within the scope set by an issuingDistributionPoint (user or CA
    /// certificates only; a distribution point name, which must then equal a
    /// `fullName` entry of `cert`'s cRLDistributionPoints).
    ///
    /// Says nothing about the signature or the dates: see
    /// [`verify_issued_by`](Self::verify_issued_by) and
    /// [`is_current_at`](Self::is_current_at).
    pub fn covers(&self, cert: &CertificateRef<'_>) -> bool {
        if self.limitation.is_some() || self.issuer.der() != cert.issuer_der() {
            return false;
        }
        let Some(idp) = self.idp else { return true };
        if (idp.only_user_certs && cert.is_ca()) || (idp.only_ca_certs && !cert.is_ca()) {
            return false;
        }
        if idp.relative_name {
            return false;
        }
        match idp.full_name {
            None => true,
            Some(names) => cert_distribution_point_matches(cert, names),
        }
    }

    /// Verifies this CRL's signature with `issuer`'s public key.
    ///
    /// Like [`CertificateRef::verify_issued_by`]: the two signature
    /// AlgorithmIdentifiers must agree, and the signature must verify over
    /// the `TBSCertList`. Errors: [`ErrorKind::BadSignature`] when it does
    /// not, [`ErrorKind::UnsupportedAlgorithm`] for an algorithm this library
    /// does not implement, key errors as for
    /// [`verify_message`]. Names
    /// and key identifiers are not compared here (see
    /// [`covers`](Self::covers)); SHA-1 signatures verify.
    pub fn verify_issued_by(&self, issuer: &CertificateRef<'_>) -> Result<()> {
        if !super::same_algorithm_id(self.signature_algorithm, self.tbs_signature_algorithm) {
            return Err(Error::new(ErrorKind::BadSignature));
        }
        let alg = SignatureAlgorithm::from_der(self.signature_algorithm)?;
        verify_message(issuer.spki_der(), &alg, self.tbs, self.signature)
    }
}

/// Integer content octets without leading octets that do not change the
/// value (`FF` before a high bit) or only its sign (`00`): a CA that wrote a
/// serial number without its sign octet in one place and with it in another
/// still means the same certificate, and for revocation a false match is the
/// safe side.
fn significant(mut v: &[u8]) -> &[u8] {
    while let [first, second, ..] = v {
        if *first != 0x00 && !(*first == 0xFF && second & 0x80 != 0) {
            break;
        }
        v = &v[1..];
    }
    v
}

/// Whether some `fullName` GeneralName of `cert`'s cRLDistributionPoints
/// equals (byte for byte) one in `idp_names` (GeneralNames contents).
fn cert_distribution_point_matches(cert: &CertificateRef<'_>, idp_names: &[u8]) -> bool {
    let Some(ext) = cert.extension(CRL_DISTRIBUTION_POINTS) else { return false };
    let check = || -> Result<bool> {
        let mut r = SliceReader::new(ext.value);
        let seq = r.read_expect(Tag::SEQUENCE)?;
        r.finish()?;
        let mut dps = seq.reader();
        while let Some(dp) = dps.next_tlv()? {
            let mut d = dp.expect(Tag::SEQUENCE)?.reader();
            let Some(name) = d.read_optional(Tag::context(0, true))? else { continue };
            let mut n = name.reader();
            let Some(full) = n.read_optional(Tag::context(0, true))? else { continue };
            let mut mine = full.reader();
            while let Some(m) = mine.next_tlv()? {
                let mut theirs = SliceReader::new(idp_names);
                while let Some(t) = theirs.next_tlv()? {
                    if t.raw == m.raw {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    };
    check().unwrap_or(false)
}

/// Iterator over a CRL's revoked-certificate entries (checked at construction).
#[derive(Clone, Debug)]
pub struct RevokedCertificates<'a> {
    reader: SliceReader<'a>,
}

impl<'a> Iterator for RevokedCertificates<'a> {
    type Item = RevokedRef<'a>;

    fn next(&mut self) -> Option<RevokedRef<'a>> {
        let tlv = self.reader.next_tlv().ok().flatten()?;
        parse_entry(&tlv).ok().map(|(r, _)| r)
    }
}

fn parse(der: &[u8]) -> Result<CrlRef<'_>> {
    let invalid = Error::new(ErrorKind::InvalidValue);
    let mut outer = SliceReader::new(der);
    let list = outer.read_expect(Tag::SEQUENCE)?;
    outer.finish()?;
    let mut c = list.reader();
    let tbs = c.read_expect(Tag::SEQUENCE)?;
    let signature_algorithm = algorithm_identifier(&c.read()?)?.raw;
    let signature = bit_string_octets(&c.read()?)?;
    c.finish()?;

    let mut t = tbs.reader();
    let version = match t.read_optional(Tag::INTEGER)? {
        // RFC 5280: if present, v2 (1). Some old encoders wrote v1 (0).
        Some(v) => match v.small_uint()? {
            0 => 1,
            1 => 2,
            _ => return Err(invalid),
        },
        None => 1,
    };
    let tbs_signature_algorithm = algorithm_identifier(&t.read()?)?.raw;
    let issuer = NameRef::from_tlv(&t.read()?)?;
    let this_update = Time::from_tlv(&t.read()?)?;
    let next_update = match t.peek_tag() {
        Some(tag) if tag == super::time::UTC_TIME || tag == super::time::GENERALIZED_TIME => {
            Some(Time::from_tlv(&t.read()?)?)
        }
        _ => None,
    };
    let mut crl = CrlRef {
        der: list.raw,
        tbs: tbs.raw,
        version,
        tbs_signature_algorithm,
        issuer,
        this_update,
        next_update,
        revoked: &[],
        extensions: &[],
        authority_key_id: None,
        crl_number: None,
        idp: None,
        limitation: None,
        signature_algorithm,
        signature,
    };
    if let Some(revoked) = t.read_optional(Tag::SEQUENCE)? {
        let mut r = revoked.reader();
        while let Some(entry) = r.next_tlv()? {
            let (_, limitation) = parse_entry(&entry)?;
            if crl.limitation.is_none() {
                crl.limitation = limitation;
            }
        }
        crl.revoked = revoked.value;
    }
    if let Some(exts) = t.read_optional(Tag::context(0, true))? {
        let mut r = exts.reader();
        let seq = r.read_expect(Tag::SEQUENCE)?;
        r.finish()?;
        crl.extensions = seq.value;
        parse_crl_extensions(&mut crl)?;
    }
    t.finish()?;
    Ok(crl)
}

/// Checks an extension list: well formed, no duplicate OIDs, at most
/// [`MAX_EXTENSIONS`]; calls `each` on every extension.
fn for_each_extension<'a>(
    list: &'a [u8],
    mut each: impl FnMut(&Extension<'a>) -> Result<()>,
) -> Result<()> {
    let invalid = Error::new(ErrorKind::InvalidValue);
    for (i, ext) in ExtensionsChecked::new(list).enumerate() {
        let ext = ext?;
        if i >= MAX_EXTENSIONS {
            return Err(invalid);
        }
        let mut earlier = super::Extensions { reader: SliceReader::new(list) }.take(i);
        if earlier.any(|e| e.oid == ext.oid) {
            return Err(invalid);
        }
        each(&ext)?;
    }
    Ok(())
}

/// The single element inside an extension's OCTET STRING.
fn extension_value<'a>(ext: &Extension<'a>) -> Result<Tlv<'a>> {
    let mut r = SliceReader::new(ext.value);
    let value = r.read()?;
    r.finish()?;
    Ok(value)
}

/// Parses one revoked-certificate entry; also returns the limitation its
/// extensions impose on the CRL, if any.
fn parse_entry<'a>(tlv: &Tlv<'a>) -> Result<(RevokedRef<'a>, Option<CrlLimitation>)> {
    let invalid = Error::new(ErrorKind::InvalidValue);
    let mut e = tlv.expect(Tag::SEQUENCE)?.reader();
    let serial = e.read_expect(Tag::INTEGER)?.value;
    if serial.is_empty() {
        return Err(invalid);
    }
    let revocation_date = Time::from_tlv(&e.read()?)?;
    let mut reason = None;
    let mut limitation = None;
    if let Some(exts) = e.read_optional(Tag::SEQUENCE)? {
        for_each_extension(exts.value, |ext| {
            match ext.oid {
                REASON_CODE => {
                    let v = extension_value(ext)?.expect(ENUMERATED)?;
                    match v.value {
                        [code] if code & 0x80 == 0 => reason = Some(*code),
                        _ => return Err(invalid),
                    }
                }
                INVALIDITY_DATE => {
                    Time::from_tlv(&extension_value(ext)?)?;
                }
                HOLD_INSTRUCTION_CODE => {
                    extension_value(ext)?.expect(Tag::OID)?;
                }
                CERTIFICATE_ISSUER => {
                    // Only in indirect CRLs; RFC 5280 makes it critical.
                    limitation.get_or_insert(CrlLimitation::IndirectCrl);
                }
                _ if ext.critical => {
                    limitation.get_or_insert(CrlLimitation::UnknownCriticalEntryExtension);
                }
                _ => {}
            }
            Ok(())
        })?;
    }
    e.finish()?;
    Ok((RevokedRef { serial, revocation_date, reason }, limitation))
}

fn parse_crl_extensions(crl: &mut CrlRef<'_>) -> Result<()> {
    let invalid = Error::new(ErrorKind::InvalidValue);
    let mut limitation = crl.limitation;
    let mut authority_key_id = None;
    let mut crl_number = None;
    let mut idp = None;
    for_each_extension(crl.extensions, |ext| {
        match ext.oid {
            oid::AUTHORITY_KEY_IDENTIFIER => {
                let mut a = extension_value(ext)?.expect(Tag::SEQUENCE)?.reader();
                authority_key_id = a.read_optional(Tag::context(0, false))?.map(|k| k.value);
                a.read_optional(Tag::context(1, true))?;
                a.read_optional(Tag::context(2, false))?;
                a.finish()?;
            }
            CRL_NUMBER => {
                let v = extension_value(ext)?.expect(Tag::INTEGER)?;
                if v.value.is_empty() || v.value[0] & 0x80 != 0 {
                    return Err(invalid);
                }
                crl_number = Some(v.value);
            }
            DELTA_CRL_INDICATOR => {
                extension_value(ext)?.expect(Tag::INTEGER)?;
                limitation.get_or_insert(CrlLimitation::DeltaCrl);
            }
            ISSUING_DISTRIBUTION_POINT => {
                let (point, lim) = parse_idp(&extension_value(ext)?)?;
                idp = Some(point);
                if let Some(l) = lim {
                    limitation.get_or_insert(l);
                }
            }
            ISSUER_ALT_NAME | FRESHEST_CRL => {}
            _ if ext.critical => {
                limitation.get_or_insert(CrlLimitation::UnknownCriticalExtension);
            }
            _ => {}
        }
        Ok(())
    })?;
    crl.limitation = limitation;
    crl.authority_key_id = authority_key_id;
    crl.crl_number = crl_number;
    crl.idp = idp;
    Ok(())
}

/// ```text
/// IssuingDistributionPoint ::= SEQUENCE {
///      distributionPoint          [0] DistributionPointName OPTIONAL,
///      onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
///      onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE,
///      onlySomeReasons            [3] ReasonFlags OPTIONAL,
///      indirectCRL                [4] BOOLEAN DEFAULT FALSE,
///      onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
/// DistributionPointName ::= CHOICE {
///      fullName                [0]     GeneralNames,
///      nameRelativeToCRLIssuer [1]     RelativeDistinguishedName }
/// ```
fn parse_idp<'a>(tlv: &Tlv<'a>) -> Result<(IssuingDistributionPoint<'a>, Option<CrlLimitation>)> {
    let invalid = Error::new(ErrorKind::InvalidValue);
    let mut r = tlv.expect(Tag::SEQUENCE)?.reader();
    let mut idp = IssuingDistributionPoint {
        full_name: None,
        relative_name: false,
        only_user_certs: false,
        only_ca_certs: false,
    };
    let mut limitation = None;
    if let Some(dp) = r.read_optional(Tag::context(0, true))? {
        let mut d = dp.reader();
        let name = d.read()?;
        d.finish()?;
        match (name.tag.class, name.tag.number, name.tag.constructed) {
            (Class::ContextSpecific, 0, true) => {
                let mut g = name.reader();
                while let Some(n) = g.next_tlv()? {
                    super::GeneralName::from_tlv(&n)?;
                }
                idp.full_name = Some(name.value);
            }
            (Class::ContextSpecific, 1, true) => idp.relative_name = true,
            _ => return Err(invalid),
        }
    }
    if let Some(b) = r.read_optional(Tag::context(1, false))? {
        idp.only_user_certs = boolean(&b)?;
    }
    if let Some(b) = r.read_optional(Tag::context(2, false))? {
        idp.only_ca_certs = boolean(&b)?;
    }
    if r.read_optional(Tag::context(3, false))?.is_some() {
        limitation = Some(CrlLimitation::OnlySomeReasons);
    }
    if let Some(b) = r.read_optional(Tag::context(4, false))?
        && boolean(&b)?
    {
        limitation.get_or_insert(CrlLimitation::IndirectCrl);
    }
    if let Some(b) = r.read_optional(Tag::context(5, false))?
        && boolean(&b)?
    {
        limitation.get_or_insert(CrlLimitation::AttributeCertificatesOnly);
    }
    r.finish()?;
    if idp.only_user_certs && idp.only_ca_certs {
        return Err(invalid);
    }
    Ok((idp, limitation))
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
