//! Certification path validation without heap: the parts of
//! [RFC 5280 § 6.1](https://www.rfc-editor.org/rfc/rfc5280#section-6.1)
//! that S/MIME ([RFC 8550](https://www.rfc-editor.org/rfc/rfc8550)) needs.
//!
//! [`validate`] builds a chain from a leaf certificate through caller-given
//! intermediates to one of the caller's trust anchors, checks it at the
//! caller's time (there is no clock in `no_std`), and returns a
//! [`PathReport`]: the chain, the anchor it reached, and every problem found
//! ([`Finding`]s), not just a yes or no.
//!
//! # Chain building
//!
//! From the leaf, an issuer is a certificate whose subject equals the
//! child's issuer (DER bytes) and, when the child has an
//! authorityKeyIdentifier and the candidate a subjectKeyIdentifier, whose
//! key identifier equals it. Anchors are tried before intermediates, and the
//! chain stops at the first anchor. A certificate is never used twice (so
//! loops end), chains are at most [`MAX_CHAIN`] certificates long, and when a
//! candidate's signature does not verify the next candidate is tried
//! (depth-first, at most [`MAX_SIGNATURE_CHECKS`] signature checks in all).
//! The leaf itself may be an anchor (compared byte for byte): an explicitly
//! trusted end-entity certificate is valid without a chain.
//!
//! # Checks
//!
//! Positions in the chain are numbered from the leaf (0) to the anchor.
//!
//! - **Signatures** of every link below the anchor (the anchor's own
//!   signature is not checked); SHA-1 signatures are a warning
//!   ([`Check::WeakSignatureAlgorithm`]).
//! - **Validity** at [`ValidationOptions::at`] of every certificate,
//!   *the anchor included*: an expired root is reported.
//! - **basicConstraints** `cA` and, when keyUsage is present,
//!   **keyCertSign** for every issuer below the anchor. The anchor's cA and
//!   keyUsage are not required (it is trusted as given).
//! - **pathLenConstraint** of every issuer, the anchor's included: the
//!   number of non-self-issued intermediates below it may not exceed it.
//! - **Name constraints** of every issuer, the anchor's included, on every
//!   certificate below it (self-issued intermediates excepted, as RFC 5280
//!   says): rfc822Name (mailbox, host, `.domain` forms) against the
//!   subjectAltName e-mail addresses *and* the subject's emailAddress
//!   attributes; directoryName (RDN-sequence prefix, RDNs compared as DER
//!   bytes) against the subject and directoryName alternative names;
//!   dNSName (label-boundary suffix) and iPAddress (address and mask).
//!   Constraints on other forms (URI, otherName, ...) are not evaluated: a
//!   certificate that has a name of such a constrained form fails, as
//!   RFC 5280 requires of implementations that do not process them.
//! - **Leaf key usage** for [`ValidationOptions::purpose`] when keyUsage is
//!   present, and **emailProtection** (or anyExtendedKeyUsage) in the leaf's
//!   extendedKeyUsage when present.
//! - **Critical extensions** this module does not process fail, on every
//!   certificate but the anchor (the leaf is checked even when it is the
//!   anchor). Processed: subjectKeyIdentifier, authorityKeyIdentifier,
//!   keyUsage, basicConstraints, subjectAltName, extKeyUsage,
//!   nameConstraints; recognised without effect: certificatePolicies (with
//!   RFC 5280's default inputs policy processing cannot fail a path unless a
//!   policyConstraints extension requires an explicit policy, and
//!   policyConstraints, policyMappings and inhibitAnyPolicy are *not*
//!   processed, so a critical one fails), cRLDistributionPoints,
//!   issuerAltName.
//! - **Revocation** of every certificate below the anchor, from
//!   [`ValidationOptions::crls`]: a CRL counts when it
//!   [covers](CrlRef::covers) the certificate, is current at `at`, its
//!   signature verifies with the key of the issuer in the chain (whose
//!   keyUsage, if present, must allow cRLSign), so CRLs signed by another key
//!   of the same CA are not used. A listed certificate fails
//!   ([`Check::Revoked`], whatever the revocation date); without such a CRL,
//!   [`Check::RevocationNotChecked`] is a warning, or a failure when
//!   [`ValidationOptions::require_revocation_info`] is set.
//!
//! Not implemented: certificate policy processing (policy trees, mappings,
//! constraints), OCSP, delta and indirect CRLs, EKU chaining through CA
//! certificates, string-prep name comparison (names compare as DER bytes),
//! URI and otherName constraints.
//!
//! # Contract
//!
//! No heap, no panics. A [`PathReport`] holds the chain by value
//! ([`MAX_CHAIN`] [`CertificateRef`]s, a few KiB) and up to [`MAX_FINDINGS`]
//! findings; if more are found, warnings make way for failures, and
//! [`PathReport::findings_dropped`] counts what was left out.

use core::fmt;

use super::crl::{CRL_DISTRIBUTION_POINTS, CrlRef, reason};
use super::{CertificateRef, GeneralName, KeyUsage, NameRef, Time};
use crate::ber::{SliceReader, Tag};
use crate::error::ErrorKind;
use crate::oid;
use crate::pubkey::signature::SignatureAlgorithm;

/// The longest chain [`validate`] builds, leaf and anchor included.
///
/// S/MIME hierarchies are two to four certificates deep; eight leaves room
/// for cross-certificates and bridge CAs while bounding the work and the size
/// of a [`PathReport`].
pub const MAX_CHAIN: usize = 8;

/// Most findings a [`PathReport`] keeps.
pub const MAX_FINDINGS: usize = 16;

/// Most signature verifications chain building may spend (trying other
/// candidates when a signature fails), so that many certificates with the
/// same name cannot make validation slow. When they are spent, the search
/// stops and the best partial chain is reported.
pub const MAX_SIGNATURE_CHECKS: usize = 4 * MAX_CHAIN;

/// id-ce-issuerAltName, 2.5.29.18
const ISSUER_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x12];
/// id-ce-nameConstraints, 2.5.29.30
const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x1E];
/// id-ce-certificatePolicies, 2.5.29.32
const CERTIFICATE_POLICIES: &[u8] = &[0x55, 0x1D, 0x20];

/// The critical extensions a path may carry (see the [module docs](self)).
const UNDERSTOOD_EXTENSIONS: &[&[u8]] = &[
    oid::SUBJECT_KEY_IDENTIFIER,
    oid::AUTHORITY_KEY_IDENTIFIER,
    oid::KEY_USAGE,
    oid::BASIC_CONSTRAINTS,
    oid::SUBJECT_ALT_NAME,
    oid::EXT_KEY_USAGE,
    NAME_CONSTRAINTS,
    CERTIFICATE_POLICIES,
    CRL_DISTRIBUTION_POINTS,
    ISSUER_ALT_NAME,
];

/// What the leaf's key is to be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Purpose {
    /// Signing: keyUsage (if present) must allow digitalSignature or
    /// nonRepudiation.
    #[default]
    Signing,
    /// Key transport (RSA encryption of a content-encryption key): keyUsage
    /// (if present) must allow keyEncipherment.
    KeyTransport,
    /// No keyUsage requirement.
    Any,
}

/// What [`validate`] checks against.
#[derive(Clone, Copy, Debug)]
pub struct ValidationOptions<'a> {
    /// The time at which the chain must be valid (and CRLs current).
    pub at: Time,
    /// What the leaf's key is to be used for.
    pub purpose: Purpose,
    /// Require emailProtection (or anyExtendedKeyUsage) in the leaf's
    /// extendedKeyUsage when the extension is present. Default `true`.
    pub require_email_protection_eku_when_present: bool,
    /// The CRLs to check revocation with.
    pub crls: &'a [CrlRef<'a>],
    /// Whether a certificate without a usable CRL fails validation
    /// (otherwise it is a warning). Default `false`.
    pub require_revocation_info: bool,
}

impl<'a> ValidationOptions<'a> {
    /// Options for validation at `at`: purpose [`Purpose::Signing`],
    /// emailProtection required when extendedKeyUsage is present, no CRLs,
    /// revocation information not required.
    pub const fn new(at: Time) -> Self {
        Self {
            at,
            purpose: Purpose::Signing,
            require_email_protection_eku_when_present: true,
            crls: &[],
            require_revocation_info: false,
        }
    }
}

/// Why revocation could not be checked for a certificate; the furthest any
/// CRL got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RevocationGap {
    /// No CRL from the certificate's issuer was given.
    NoCrl,
    /// A CRL from the issuer was given but cannot be relied on for this
    /// certificate: see [`CrlRef::limitation`] and [`CrlRef::covers`].
    CrlNotApplicable,
    /// A CRL from the issuer was given but is not current at the validation
    /// time.
    CrlNotCurrent,
    /// The issuer's keyUsage does not allow cRLSign.
    IssuerMayNotSignCrls,
    /// A CRL's signature did not verify with the issuer's key (or uses an
    /// algorithm this library does not implement).
    CrlSignatureInvalid,
}

impl fmt::Display for RevocationGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoCrl => "no CRL from its issuer was given",
            Self::CrlNotApplicable => {
                "the issuer's CRL is of a kind or scope this library cannot rely on"
            }
            Self::CrlNotCurrent => "the issuer's CRL is not current at the validation time",
            Self::IssuerMayNotSignCrls => "the issuer's keyUsage does not allow signing CRLs",
            Self::CrlSignatureInvalid => "the signature on the issuer's CRL does not verify",
        })
    }
}

/// One check that did not pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// No chain leads from this certificate to a trust anchor.
    NoPathToAnchor,
    /// The chain reached [`MAX_CHAIN`] certificates without an anchor.
    ChainTooLong,
    /// The signature on this certificate does not verify with its issuer's key.
    BadSignature,
    /// The signature on this certificate uses an algorithm or an issuer key
    /// this library does not implement.
    UnsupportedAlgorithm,
    /// The signature on this certificate rests on SHA-1 (a warning).
    WeakSignatureAlgorithm,
    /// The certificate expired before the validation time.
    Expired {
        /// Its notAfter.
        not_after: Time,
    },
    /// The certificate is not yet valid at the validation time.
    NotYetValid {
        /// Its notBefore.
        not_before: Time,
    },
    /// An issuing certificate below the anchor is not a CA (basicConstraints
    /// absent or `cA` false).
    NotCa,
    /// An issuing certificate below the anchor has keyUsage without
    /// keyCertSign.
    IssuerKeyUsage,
    /// More intermediate CAs below this certificate than its
    /// pathLenConstraint allows.
    PathLenExceeded {
        /// Its pathLenConstraint.
        path_len: u32,
    },
    /// The leaf's keyUsage does not allow the purpose.
    LeafKeyUsage {
        /// The purpose asked for.
        purpose: Purpose,
    },
    /// The leaf's extendedKeyUsage has neither emailProtection nor
    /// anyExtendedKeyUsage.
    MissingEmailProtection,
    /// A name in this certificate is outside the name constraints of a
    /// certificate above it.
    NameConstraintViolation {
        /// The position of the certificate whose constraints are violated.
        constrained_by: usize,
    },
    /// This certificate's nameConstraints extension is malformed or uses
    /// `minimum`/`maximum` (which RFC 5280 forbids); nothing below it passes.
    InvalidNameConstraints,
    /// The certificate has a critical extension this module does not process.
    UnknownCriticalExtension,
    /// The certificate is listed in a usable CRL of its issuer.
    Revoked {
        /// The revocation date from the CRL.
        date: Time,
        /// The reason code (see [`reason`]), if given.
        reason: Option<u8>,
    },
    /// No usable CRL for this certificate: its revocation status is unknown.
    RevocationNotChecked {
        /// Whether the options require revocation information (then this is
        /// a failure, otherwise a warning).
        required: bool,
        /// Why no CRL could be used.
        gap: RevocationGap,
    },
}

impl Check {
    /// Whether this finding makes the path invalid (otherwise it is a
    /// warning: [`WeakSignatureAlgorithm`](Self::WeakSignatureAlgorithm),
    /// [`RevocationNotChecked`](Self::RevocationNotChecked) when not
    /// required).
    pub fn is_failure(&self) -> bool {
        match self {
            Self::WeakSignatureAlgorithm => false,
            Self::RevocationNotChecked { required, .. } => *required,
            _ => true,
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPathToAnchor => {
                f.write_str("no chain of certificates leads from it to a trusted anchor")
            }
            Self::ChainTooLong => write!(
                f,
                "the chain grew to {MAX_CHAIN} certificates without reaching a trusted anchor"
            ),
            Self::BadSignature => {
                f.write_str("its signature does not verify with its issuer's public key")
            }
            Self::UnsupportedAlgorithm => f.write_str(
                "its signature uses an algorithm or an issuer key this library does not support",
            ),
            Self::WeakSignatureAlgorithm => f.write_str(
                "its signature relies on SHA-1, which is no longer safe against forgery (warning)",
            ),
            Self::Expired { not_after } => write!(f, "it expired at {not_after}"),
            Self::NotYetValid { not_before } => write!(f, "it is not valid before {not_before}"),
            Self::NotCa => {
                f.write_str("it issued a certificate but is not a CA (basicConstraints cA not set)")
            }
            Self::IssuerKeyUsage => f.write_str(
                "it issued a certificate but its keyUsage does not allow certificate signing",
            ),
            Self::PathLenExceeded { path_len } => write!(
                f,
                "it allows at most {path_len} intermediate CA certificate(s) below it, \
                 and the chain has more"
            ),
            Self::LeafKeyUsage { purpose } => match purpose {
                Purpose::KeyTransport => f.write_str(
                    "its keyUsage does not allow encrypting keys to it (keyEncipherment)",
                ),
                _ => f.write_str(
                    "its keyUsage does not allow signing (digitalSignature or nonRepudiation)",
                ),
            },
            Self::MissingEmailProtection => f.write_str(
                "its extendedKeyUsage does not allow e-mail protection (emailProtection)",
            ),
            Self::NameConstraintViolation { constrained_by } => write!(
                f,
                "a name in it is outside the name constraints of certificate {constrained_by} \
                 of the chain"
            ),
            Self::InvalidNameConstraints => f.write_str(
                "its nameConstraints extension is malformed or uses minimum/maximum distances",
            ),
            Self::UnknownCriticalExtension => {
                f.write_str("it has a critical extension this library does not process")
            }
            Self::Revoked { date, reason: code } => {
                write!(f, "it was revoked at {date}")?;
                match code.map(|c| (c, reason::name(c))) {
                    Some((_, Some(name))) => write!(f, " (reason: {name})"),
                    Some((c, None)) => write!(f, " (reason code {c})"),
                    None => Ok(()),
                }
            }
            Self::RevocationNotChecked { required, gap } => {
                write!(f, "its revocation status was not checked: {gap}")?;
                if *required {
                    f.write_str(", and revocation information is required")
                } else {
                    f.write_str(" (warning)")
                }
            }
        }
    }
}

/// A [`Check`] about the certificate at a position of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Position in [`PathReport::chain`]: 0 is the leaf.
    pub cert_index: usize,
    /// What was found.
    pub check: Check,
}

/// `certificate 1 of the chain: it expired at 2020-01-01T00:00:00Z`.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cert_index == 0 {
            write!(f, "leaf certificate: {}", self.check)
        } else {
            write!(f, "certificate {} of the chain: {}", self.cert_index, self.check)
        }
    }
}

/// The outcome of [`validate`]: the chain, the anchor, and the findings.
#[derive(Clone, Debug)]
pub struct PathReport<'a> {
    chain: [CertificateRef<'a>; MAX_CHAIN],
    len: usize,
    anchored: bool,
    findings: Findings,
}

/// A fixed-capacity list of findings.
#[derive(Clone, Debug)]
struct Findings {
    list: [Finding; MAX_FINDINGS],
    len: usize,
    dropped: usize,
    dropped_failure: bool,
}

impl Findings {
    fn as_slice(&self) -> &[Finding] {
        self.list.get(..self.len).unwrap_or(&[])
    }

    fn push(&mut self, cert_index: usize, check: Check) {
        let finding = Finding { cert_index, check };
        if let Some(slot) = self.list.get_mut(self.len) {
            *slot = finding;
            self.len += 1;
            return;
        }
        self.dropped += 1;
        if !check.is_failure() {
            return;
        }
        // Full: a failure takes the place of the last warning, if any.
        match self.list.iter().rposition(|f| !f.check.is_failure()) {
            Some(i) => {
                self.list.copy_within(i + 1.., i);
                self.list[MAX_FINDINGS - 1] = finding;
            }
            None => self.dropped_failure = true,
        }
    }
}

impl<'a> PathReport<'a> {
    fn new(leaf: &CertificateRef<'a>) -> Self {
        Self {
            chain: [*leaf; MAX_CHAIN],
            len: 1,
            anchored: false,
            findings: Findings {
                list: [Finding { cert_index: 0, check: Check::NoPathToAnchor }; MAX_FINDINGS],
                len: 0,
                dropped: 0,
                dropped_failure: false,
            },
        }
    }

    /// Whether the path is valid: it reaches an anchor and no finding is a
    /// failure (warnings allowed), including findings that did not fit.
    pub fn is_valid(&self) -> bool {
        self.anchored
            && !self.findings.dropped_failure
            && !self.findings().iter().any(|f| f.check.is_failure())
    }

    /// The chain, leaf first, anchor last when one was reached. When no path
    /// to an anchor was found, the longest partial chain tried.
    pub fn chain(&self) -> &[CertificateRef<'a>] {
        self.chain.get(..self.len).unwrap_or(&[])
    }

    /// The leaf certificate.
    pub fn leaf(&self) -> &CertificateRef<'a> {
        &self.chain[0]
    }

    /// The trust anchor the chain ends at, if it reached one. This alone
    /// says nothing about validity (a signature on the way may be bad): see
    /// [`is_valid`](Self::is_valid).
    pub fn anchor(&self) -> Option<&CertificateRef<'a>> {
        if self.anchored { self.chain().last() } else { None }
    }

    /// Everything found, failures and warnings.
    pub fn findings(&self) -> &[Finding] {
        self.findings.as_slice()
    }

    /// The findings that make the path invalid.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> + '_ {
        self.findings().iter().filter(|f| f.check.is_failure())
    }

    /// How many findings did not fit in [`MAX_FINDINGS`] (0 normally).
    /// Failures are kept in preference to warnings.
    pub fn findings_dropped(&self) -> usize {
        self.findings.dropped
    }

    /// Whether `addr` (`local@domain`) is one of the leaf's e-mail
    /// addresses: its subjectAltName rfc822Names and its subject's
    /// emailAddress attributes. The local part must match exactly, the
    /// domain case-insensitively (ASCII).
    pub fn email_matches(&self, addr: &[u8]) -> bool {
        let Some((local, domain)) = split_mailbox(addr) else { return false };
        let same = |m: &[u8]| {
            split_mailbox(m).is_some_and(|(l, d)| l == local && d.eq_ignore_ascii_case(domain))
        };
        let leaf = self.leaf();
        leaf.rfc822_names().any(same) || subject_emails(&leaf.subject()).any(same)
    }
}

/// How chain building ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// The path ends at an anchor; every link verified.
    Anchored,
    /// The last link's signature failed with this error.
    BadLink(ErrorKind),
    /// No (further) issuer for the last certificate.
    DeadEnd,
    /// [`MAX_CHAIN`] reached.
    TooLong,
}

/// A path as candidate indices (anchors first, then intermediates);
/// position 0 is the leaf and its entry unused.
#[derive(Clone, Copy, Debug)]
struct Path {
    idx: [usize; MAX_CHAIN],
    len: usize,
    end: Stop,
}

/// Validates `leaf` against `anchors` at `options.at`, with `intermediates`
/// as candidate issuers. See the [module docs](self) for what is checked.
pub fn validate<'a>(
    leaf: &CertificateRef<'a>,
    intermediates: &[CertificateRef<'a>],
    anchors: &[CertificateRef<'a>],
    options: &ValidationOptions<'_>,
) -> PathReport<'a> {
    let mut report = PathReport::new(leaf);
    let path = if anchors.iter().any(|a| a.der() == leaf.der()) {
        Path { idx: [0; MAX_CHAIN], len: 1, end: Stop::Anchored }
    } else {
        build(leaf, intermediates, anchors)
    };
    let candidate = |i: usize| -> &CertificateRef<'a> {
        anchors
            .get(i)
            .or_else(|| i.checked_sub(anchors.len()).and_then(|j| intermediates.get(j)))
            .unwrap_or(leaf)
    };
    for (slot, &k) in report.chain.iter_mut().zip(&path.idx).take(path.len).skip(1) {
        *slot = *candidate(k);
    }
    report.len = path.len;
    report.anchored = matches!(path.end, Stop::Anchored)
        || matches!(path.end, Stop::BadLink(_)) && path.idx[path.len - 1] < anchors.len();
    let chain = report.chain.get(..report.len).unwrap_or(&[]);
    check_path(chain, report.anchored, &path, options, &mut report.findings);
    report
}

/// Whether `issuer` may have issued `child`, by names and key identifiers.
fn names_issuer(child: &CertificateRef<'_>, issuer: &CertificateRef<'_>) -> bool {
    issuer.subject_der() == child.issuer_der()
        && match (child.authority_key_id(), issuer.subject_key_id()) {
            (Some(aki), Some(ski)) => aki == ski,
            _ => true,
        }
}

/// Depth-first chain building; see the [module docs](self).
fn build<'a>(
    leaf: &CertificateRef<'a>,
    intermediates: &[CertificateRef<'a>],
    anchors: &[CertificateRef<'a>],
) -> Path {
    let total = anchors.len().saturating_add(intermediates.len());
    let candidate = |i: usize| -> Option<&CertificateRef<'a>> {
        anchors.get(i).or_else(|| i.checked_sub(anchors.len()).and_then(|j| intermediates.get(j)))
    };
    let mut path = Path { idx: [0; MAX_CHAIN], len: 1, end: Stop::DeadEnd };
    let mut best = path;
    let mut cursor = [0usize; MAX_CHAIN];
    let mut budget = MAX_SIGNATURE_CHECKS;
    let record = |best: &mut Path, p: Path| {
        if p.len > best.len {
            *best = p;
        }
    };
    loop {
        let level = path.len - 1;
        let child = if level == 0 { Some(leaf) } else { candidate(path.idx[level]) };
        let Some(child) = child else { break };
        let in_path = |c: &CertificateRef<'_>| {
            c.der() == leaf.der()
                || path.idx[1..path.len]
                    .iter()
                    .any(|&k| candidate(k).is_some_and(|p| p.der() == c.der()))
        };
        let mut next = None;
        let mut i = cursor[level];
        while i < total {
            if let Some(c) = candidate(i)
                && names_issuer(child, c)
                && !in_path(c)
            {
                next = Some((i, c));
                break;
            }
            i += 1;
        }
        let Some((i, issuer)) = next else {
            record(&mut best, Path { end: Stop::DeadEnd, ..path });
            if path.len == 1 {
                break;
            }
            path.len -= 1;
            continue;
        };
        cursor[level] = i + 1;
        let is_anchor = i < anchors.len();
        if !is_anchor && path.len + 2 > MAX_CHAIN {
            record(&mut best, Path { end: Stop::TooLong, ..path });
            continue;
        }
        if budget == 0 {
            break;
        }
        budget -= 1;
        let mut extended = path;
        let Some(slot) = extended.idx.get_mut(path.len) else { break };
        *slot = i;
        extended.len += 1;
        match child.verify_issued_by(issuer) {
            Err(e) => record(&mut best, Path { end: Stop::BadLink(e.kind()), ..extended }),
            Ok(()) if is_anchor => return Path { end: Stop::Anchored, ..extended },
            Ok(()) => {
                path = extended;
                cursor[path.len - 1] = 0;
            }
        }
    }
    best
}

/// Runs every check of the [module docs](self) on the built path.
fn check_path(
    chain: &[CertificateRef<'_>],
    anchored: bool,
    path: &Path,
    options: &ValidationOptions<'_>,
    report: &mut Findings,
) {
    let n = chain.len();
    let Some(leaf) = chain.first() else { return };
    let is_anchor = |i: usize| anchored && i + 1 == n;
    let at = options.at;

    match path.end {
        Stop::Anchored => {}
        Stop::BadLink(_) if anchored => {}
        Stop::TooLong => report.push(n - 1, Check::ChainTooLong),
        _ => report.push(n - 1, Check::NoPathToAnchor),
    }

    for (i, cert) in chain.iter().enumerate() {
        // Validity, anchors included.
        if at < cert.not_before() {
            report.push(i, Check::NotYetValid { not_before: cert.not_before() });
        } else if at > cert.not_after() {
            report.push(i, Check::Expired { not_after: cert.not_after() });
        }

        // The signature on this certificate (links below the anchor).
        if i + 1 < n {
            match path.end {
                Stop::BadLink(kind) if i + 2 == n => report.push(i, signature_check(kind)),
                _ => {}
            }
            if SignatureAlgorithm::from_der(cert.signature_algorithm_der())
                .is_ok_and(|a| a.is_weak())
            {
                report.push(i, Check::WeakSignatureAlgorithm);
            }
        }

        // Issuers below the anchor.
        if i > 0 && !is_anchor(i) {
            if !cert.is_ca() {
                report.push(i, Check::NotCa);
            }
            if cert.key_usage().is_some_and(|ku| !ku.contains(KeyUsage::KEY_CERT_SIGN)) {
                report.push(i, Check::IssuerKeyUsage);
            }
        }

        // pathLenConstraint, the anchor's included.
        if i > 0
            && let Some(path_len) = cert.basic_constraints().and_then(|b| b.path_len)
        {
            let below = chain[1..i].iter().filter(|c| !self_issued(c)).count();
            if u32::try_from(below).unwrap_or(u32::MAX) > path_len {
                report.push(i, Check::PathLenExceeded { path_len });
            }
        }

        // Critical extensions, on all but the anchor (the leaf always).
        if (i == 0 || !is_anchor(i))
            && cert.extensions().any(|e| e.critical && !UNDERSTOOD_EXTENSIONS.contains(&e.oid))
        {
            report.push(i, Check::UnknownCriticalExtension);
        }

        // Name constraints of this certificate on those below it.
        if i > 0
            && let Some(ext) = cert.extension(NAME_CONSTRAINTS)
        {
            match NameConstraints::parse(ext.value) {
                None => report.push(i, Check::InvalidNameConstraints),
                Some(nc) => {
                    for (k, below) in chain[..i].iter().enumerate() {
                        if k > 0 && self_issued(below) {
                            continue;
                        }
                        if !nc.allows_certificate(below) {
                            report.push(k, Check::NameConstraintViolation { constrained_by: i });
                        }
                    }
                }
            }
        }
    }

    // The leaf's purpose.
    let ku_ok = match (options.purpose, leaf.key_usage()) {
        (_, None) | (Purpose::Any, _) => true,
        (Purpose::Signing, Some(ku)) => {
            ku.contains(KeyUsage::DIGITAL_SIGNATURE) || ku.contains(KeyUsage::NON_REPUDIATION)
        }
        (Purpose::KeyTransport, Some(ku)) => ku.contains(KeyUsage::KEY_ENCIPHERMENT),
    };
    if !ku_ok {
        report.push(0, Check::LeafKeyUsage { purpose: options.purpose });
    }
    if options.require_email_protection_eku_when_present
        && let Some(mut purposes) = leaf.extended_key_usage()
        && !purposes.any(|p| p == oid::KP_EMAIL_PROTECTION || p == oid::ANY_EXTENDED_KEY_USAGE)
    {
        report.push(0, Check::MissingEmailProtection);
    }

    // Revocation of every certificate that has an issuer in the chain and is
    // not the anchor.
    for i in 0..n.saturating_sub(1) {
        if let (Some(cert), Some(issuer)) = (chain.get(i), chain.get(i + 1))
            && let Some(check) = revocation(cert, issuer, options)
        {
            report.push(i, check);
        }
    }
}

fn signature_check(kind: ErrorKind) -> Check {
    match kind {
        ErrorKind::UnsupportedAlgorithm
        | ErrorKind::AlgorithmNotAllowed(_)
        | ErrorKind::WeakAlgorithm(_)
        | ErrorKind::InvalidKey => Check::UnsupportedAlgorithm,
        _ => Check::BadSignature,
    }
}

fn self_issued(c: &CertificateRef<'_>) -> bool {
    c.subject_der() == c.issuer_der()
}

/// The revocation finding for `cert` (issued by `issuer`), if any.
fn revocation(
    cert: &CertificateRef<'_>,
    issuer: &CertificateRef<'_>,
    options: &ValidationOptions<'_>,
) -> Option<Check> {
    let mut gap = RevocationGap::NoCrl;
    let mut checked = false;
    for crl in options.crls {
        if crl.issuer_der() != cert.issuer_der() {
            continue;
        }
        let this = if !crl.covers(cert) {
            RevocationGap::CrlNotApplicable
        } else if !crl.is_current_at(options.at) {
            RevocationGap::CrlNotCurrent
        } else if issuer.key_usage().is_some_and(|ku| !ku.contains(KeyUsage::CRL_SIGN)) {
            RevocationGap::IssuerMayNotSignCrls
        } else if crl.verify_issued_by(issuer).is_err() {
            RevocationGap::CrlSignatureInvalid
        } else {
            checked = true;
            if let Some(r) = crl.is_revoked(cert.serial()) {
                return Some(Check::Revoked { date: r.revocation_date, reason: r.reason });
            }
            continue;
        };
        gap = gap.max(this);
    }
    if checked {
        None
    } else {
        Some(Check::RevocationNotChecked { required: options.require_revocation_info, gap })
    }
}

/// `local@domain`, split at the last `@`; `None` without one.
fn split_mailbox(addr: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = addr.iter().rposition(|&b| b == b'@')?;
    Some((&addr[..at], &addr[at + 1..]))
}

/// The values of every emailAddress attribute of `name`.
fn subject_emails<'a>(name: &NameRef<'a>) -> impl Iterator<Item = &'a [u8]> + 'a {
    name.attributes().filter(|a| a.oid == oid::EMAIL_ADDRESS).map(|a| a.value)
}

/// A checked nameConstraints extension: the contents of its permitted and
/// excluded GeneralSubtrees.
///
/// ```text
/// NameConstraints ::= SEQUENCE {
///      permittedSubtrees       [0]     GeneralSubtrees OPTIONAL,
///      excludedSubtrees        [1]     GeneralSubtrees OPTIONAL }
/// GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF GeneralSubtree
/// GeneralSubtree ::= SEQUENCE {
///      base                    GeneralName,
///      minimum         [0]     BaseDistance DEFAULT 0,
///      maximum         [1]     BaseDistance OPTIONAL }
/// ```
/// ([RFC 5280 § 4.2.1.10](https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.10))
#[derive(Clone, Copy, Debug)]
struct NameConstraints<'a> {
    permitted: &'a [u8],
    excluded: &'a [u8],
}

/// A name of a certificate, as constraints see it.
#[derive(Clone, Copy, Debug)]
enum Name<'a> {
    /// A subjectAltName entry.
    General(GeneralName<'a>),
    /// An emailAddress attribute of the subject (an rfc822Name for
    /// constraints, RFC 5280 § 4.2.1.10).
    SubjectEmail(&'a [u8]),
    /// The subject, when not empty.
    Subject(NameRef<'a>),
}

impl Name<'_> {
    /// The GeneralName tag number of the name's form.
    fn form(&self) -> u32 {
        match self {
            Self::SubjectEmail(_) => 1,
            Self::Subject(_) => 4,
            Self::General(g) => general_name_form(g),
        }
    }
}

fn general_name_form(g: &GeneralName<'_>) -> u32 {
    match g {
        GeneralName::Rfc822(_) => 1,
        GeneralName::Dns(_) => 2,
        GeneralName::Directory(_) => 4,
        GeneralName::Uri(_) => 6,
        GeneralName::Ip(_) => 7,
        GeneralName::Other(t) => t.tag.number,
    }
}

impl<'a> NameConstraints<'a> {
    /// Parses and checks the extension value; `None` if malformed, if a
    /// subtree has a `minimum` other than 0 or a `maximum`, or if both lists
    /// are absent.
    fn parse(value: &'a [u8]) -> Option<Self> {
        let mut r = SliceReader::new(value);
        let seq = r.read_expect(Tag::SEQUENCE).ok()?;
        r.finish().ok()?;
        let mut s = seq.reader();
        let permitted = s.read_optional(Tag::context(0, true)).ok()?;
        let excluded = s.read_optional(Tag::context(1, true)).ok()?;
        s.finish().ok()?;
        if permitted.is_none() && excluded.is_none() {
            return None;
        }
        let nc = Self {
            permitted: permitted.map_or(&[][..], |p| p.value),
            excluded: excluded.map_or(&[][..], |e| e.value),
        };
        for list in [nc.permitted, nc.excluded] {
            let mut subtrees = SliceReader::new(list);
            while let Some(t) = subtrees.next_tlv().ok()? {
                subtree_base(&t)?;
            }
        }
        Some(nc)
    }

    /// Whether every name of `cert` is allowed.
    fn allows_certificate(&self, cert: &CertificateRef<'_>) -> bool {
        let subject = cert.subject();
        let subject_dn = if subject.is_empty() { None } else { Some(Name::Subject(subject)) };
        subject_dn
            .into_iter()
            .chain(subject_emails(&subject).map(Name::SubjectEmail))
            .chain(cert.subject_alt_names().into_iter().flatten().map(Name::General))
            .all(|name| self.allows(&name))
    }

    /// Whether `name` is within the permitted subtrees of its form (if
    /// there are any) and in no excluded subtree. A name whose match cannot
    /// be decided (an unsupported form, a malformed address) is allowed only
    /// if no subtree of its form exists.
    fn allows(&self, name: &Name<'_>) -> bool {
        let form = name.form();
        let mut any_permitted = false;
        let mut permitted = false;
        for base in subtrees(self.permitted).filter(|b| general_name_form(b) == form) {
            any_permitted = true;
            if matches(&base, name) == Some(true) {
                permitted = true;
            }
        }
        if any_permitted && !permitted {
            return false;
        }
        !subtrees(self.excluded)
            .filter(|b| general_name_form(b) == form)
            .any(|base| matches(&base, name) != Some(false))
    }
}

/// The bases of a checked GeneralSubtrees list.
fn subtrees<'a>(list: &'a [u8]) -> impl Iterator<Item = GeneralName<'a>> + 'a {
    let mut r = SliceReader::new(list);
    core::iter::from_fn(move || r.next_tlv().ok().flatten()).filter_map(|t| subtree_base(&t))
}

/// The base of a GeneralSubtree, if well formed with minimum 0 and no maximum.
fn subtree_base<'a>(t: &crate::ber::Tlv<'a>) -> Option<GeneralName<'a>> {
    let mut r = t.expect(Tag::SEQUENCE).ok()?.reader();
    let base = GeneralName::from_tlv(&r.read().ok()?).ok()?;
    if let Some(min) = r.read_optional(Tag::context(0, false)).ok()?
        && min.value != [0]
    {
        return None;
    }
    if r.peek_tag().is_some() {
        return None;
    }
    Some(base)
}

/// Whether `name` is within the subtree `base` (same form); `None` when it
/// cannot be decided.
fn matches(base: &GeneralName<'_>, name: &Name<'_>) -> Option<bool> {
    match (base, name) {
        (GeneralName::Rfc822(b), Name::SubjectEmail(m) | Name::General(GeneralName::Rfc822(m))) => {
            rfc822_matches(b, m)
        }
        (GeneralName::Dns(b), Name::General(GeneralName::Dns(d))) => Some(dns_matches(b, d)),
        (GeneralName::Ip(b), Name::General(GeneralName::Ip(a))) => ip_matches(b, a),
        (
            GeneralName::Directory(b),
            Name::Subject(n) | Name::General(GeneralName::Directory(n)),
        ) => dn_prefix(b, n),
        _ => None,
    }
}

/// RFC 5280 § 4.2.1.10 rfc822Name constraints: `local@host` is one mailbox
/// (local part exact, host case-insensitive); `host` every mailbox at that
/// host; `.domain` every mailbox at a host within the domain.
fn rfc822_matches(base: &[u8], mailbox: &[u8]) -> Option<bool> {
    let (local, host) = split_mailbox(mailbox)?;
    if local.is_empty() || host.is_empty() {
        return None;
    }
    if base.contains(&b'@') {
        let (bl, bh) = split_mailbox(base)?;
        return Some(bl == local && bh.eq_ignore_ascii_case(host));
    }
    if base.first() == Some(&b'.') {
        return Some(host.len() > base.len() && ends_with_ignore_case(host, base));
    }
    Some(base.is_empty() || host.eq_ignore_ascii_case(base))
}

/// dNSName constraints: the name is the base or within it (label boundary);
/// a base with a leading `.` matches only names within it. An empty base
/// matches everything.
fn dns_matches(base: &[u8], name: &[u8]) -> bool {
    if base.is_empty() {
        return true;
    }
    if base.first() == Some(&b'.') {
        return name.len() > base.len() && ends_with_ignore_case(name, base);
    }
    if name.eq_ignore_ascii_case(base) {
        return true;
    }
    name.len() > base.len()
        && ends_with_ignore_case(name, base)
        && name.get(name.len() - base.len() - 1) == Some(&b'.')
}

fn ends_with_ignore_case(s: &[u8], suffix: &[u8]) -> bool {
    s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// iPAddress constraints: address and mask (8 or 32 octets) against an
/// address (4 or 16). Different families do not match.
fn ip_matches(base: &[u8], addr: &[u8]) -> Option<bool> {
    if base.len() != 2 * addr.len() || !(addr.len() == 4 || addr.len() == 16) {
        return if base.len() == 8 || base.len() == 32 { Some(false) } else { None };
    }
    let (net, mask) = base.split_at(addr.len());
    Some(addr.iter().zip(net).zip(mask).all(|((a, n), m)| a & m == n & m))
}

/// Whether `base`'s RDN sequence is a prefix of `name`'s (RDNs compared as
/// DER bytes).
fn dn_prefix(base: &NameRef<'_>, name: &NameRef<'_>) -> Option<bool> {
    fn rdns<'n>(n: &NameRef<'n>) -> Option<SliceReader<'n>> {
        // NameRef is checked: a SEQUENCE of SETs.
        let tlv = SliceReader::new(n.der()).next_tlv().ok()??;
        (tlv.tag == Tag::SEQUENCE).then(|| tlv.reader())
    }
    let (mut b, mut n) = (rdns(base)?, rdns(name)?);
    while let Some(rb) = b.next_tlv().ok()? {
        match n.next_tlv().ok()? {
            Some(rn) if rn.raw == rb.raw => {}
            _ => return Some(false),
        }
    }
    Some(true)
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
