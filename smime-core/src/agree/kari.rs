//! KeyAgreeRecipientInfo (RFC 5652 §6.2.2): ECDH recipients on P-256 and
//! P-384 (RFC 5753, ANSI X9.63 KDF) and X25519 (RFC 8418, X9.63 KDF as
//! OpenSSL writes it, or HKDF), with AES key wrap (RFC 3394).
//!
//! ```text
//! KeyAgreeRecipientInfo ::= SEQUENCE {
//!   version CMSVersion,  -- always set to 3
//!   originator [0] EXPLICIT OriginatorIdentifierOrKey,
//!   ukm [1] EXPLICIT UserKeyingMaterial OPTIONAL,
//!   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
//!   recipientEncryptedKeys RecipientEncryptedKeys }
//!
//! OriginatorIdentifierOrKey ::= CHOICE {
//!   issuerAndSerialNumber IssuerAndSerialNumber,
//!   subjectKeyIdentifier [0] SubjectKeyIdentifier,
//!   originatorKey [1] OriginatorPublicKey }   -- the only one supported
//!
//! RecipientEncryptedKey ::= SEQUENCE {
//!   rid KeyAgreeRecipientIdentifier,   -- issuerAndSerialNumber | [0] RecipientKeyIdentifier
//!   encryptedKey EncryptedKey }
//!
//! ECC-CMS-SharedInfo ::= SEQUENCE {       -- RFC 5753 §7.2, RFC 8418 §2
//!   keyInfo AlgorithmIdentifier,            -- the key-wrap algorithm
//!   entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL,   -- the ukm
//!   suppPubInfo [2] EXPLICIT OCTET STRING } -- KEK length in bits, 32-bit big-endian
//! ```
//!
//! The KEK is `X9.63-KDF(Z, SharedInfo)` for the `dhSinglePass-stdDH-sha*kdf`
//! schemes and `HKDF(salt = none, IKM = Z, info = SharedInfo)` for RFC 8418's
//! `dhSinglePass-stdDH-hkdf-sha*` schemes.

use rand_core::TryCryptoRng;
#[cfg(feature = "ec")]
use subtle::ConstantTimeEq;
#[cfg(feature = "ec")]
use zeroize::Zeroize;
use zeroize::Zeroizing;

use super::kdf::{self, KdfHash};
use super::{keywrap, oids};
use crate::backend::{AgreementCurve, BackendErrorKind, KeyAgreement, RecipientId};
use crate::ber::encode::{SliceWriter, tlv_len};
use crate::ber::{SliceReader, Tag, Tlv};
use crate::error::{Error, ErrorKind, Result};
use crate::oid;
use crate::x509::CertificateRef;

/// A key-wrap algorithm: AES key wrap (RFC 3394, RFC 3565) or the legacy
/// CMS triple-DES key wrap (RFC 3217, RFC 3370 §4.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyWrapAlg {
    /// id-aes128-wrap.
    Aes128,
    /// id-aes192-wrap.
    Aes192,
    /// id-aes256-wrap.
    Aes256,
    /// id-alg-CMS3DESwrap (legacy; wraps 24-byte triple-DES keys only).
    DesEde3,
}

impl KeyWrapAlg {
    /// The KEK length in bytes.
    pub const fn kek_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes192 => 24,
            Self::Aes256 => 32,
            Self::DesEde3 => 24,
        }
    }

    /// The OID's DER content octets.
    pub const fn oid(self) -> &'static [u8] {
        match self {
            Self::Aes128 => oids::AES128_WRAP,
            Self::Aes192 => oids::AES192_WRAP,
            Self::Aes256 => oids::AES256_WRAP,
            Self::DesEde3 => oids::TDES_WRAP,
        }
    }

    /// The algorithm named by `oid`, or [`ErrorKind::UnsupportedAlgorithm`].
    pub fn from_oid(oid: &[u8]) -> Result<Self> {
        [Self::Aes128, Self::Aes192, Self::Aes256, Self::DesEde3]
            .into_iter()
            .find(|a| a.oid() == oid)
            .ok_or(Error::new(ErrorKind::UnsupportedAlgorithm))
    }

    /// Parses a key-wrap `AlgorithmIdentifier` (parameters absent; NULL is
    /// tolerated).
    pub fn from_alg_id(alg: Tlv<'_>) -> Result<Self> {
        let mut r = alg.expect(Tag::SEQUENCE)?.reader();
        let a = Self::from_oid(r.read_expect(Tag::OID)?.value)?;
        if let Some(p) = r.next_tlv()? {
            p.expect(Tag::NULL)?;
        }
        r.finish()?;
        Ok(a)
    }

    /// Writes the `AlgorithmIdentifier` into `w`: parameters absent for
    /// AES (RFC 3565 §2.3.2), NULL for triple DES (RFC 3370 §4.3.1).
    fn write_alg_id(self, w: &mut SliceWriter<'_>) -> Result<()> {
        w.header(Tag::SEQUENCE, self.alg_id_len() - 2)?;
        w.tlv(Tag::OID, self.oid())?;
        if self == Self::DesEde3 {
            w.tlv(Tag::NULL, &[])?;
        }
        Ok(())
    }

    const fn alg_id_len(self) -> usize {
        let null = if matches!(self, Self::DesEde3) { 2 } else { 0 };
        4 + self.oid().len() + null
    }

    /// Unwraps `wrapped` under `kek` into `out`.
    pub fn unwrap(self, kek: &[u8], wrapped: &[u8], out: &mut [u8]) -> Result<usize> {
        match self {
            Self::DesEde3 => keywrap::unwrap_3des(kek, wrapped, out),
            _ => keywrap::unwrap(kek, wrapped, out),
        }
    }
}

/// The key-derivation scheme of a key-agreement recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KdfAlg {
    /// `dhSinglePass-stdDH-sha*kdf-scheme` (RFC 5753): ANSI X9.63 KDF.
    X963(KdfHash),
    /// `dhSinglePass-stdDH-hkdf-sha*-scheme` (RFC 8418): HKDF (SHA-256,
    /// SHA-384 or SHA-512).
    Hkdf(KdfHash),
}

impl KdfAlg {
    const ALL: [KdfAlg; 8] = [
        Self::X963(KdfHash::Sha1),
        Self::X963(KdfHash::Sha224),
        Self::X963(KdfHash::Sha256),
        Self::X963(KdfHash::Sha384),
        Self::X963(KdfHash::Sha512),
        Self::Hkdf(KdfHash::Sha256),
        Self::Hkdf(KdfHash::Sha384),
        Self::Hkdf(KdfHash::Sha512),
    ];

    /// The scheme's OID (DER content octets); `None` for combinations that
    /// have none (HKDF with SHA-1 or SHA-224).
    pub const fn oid(self) -> Option<&'static [u8]> {
        Some(match self {
            Self::X963(KdfHash::Sha1) => oids::DH_SHA1KDF,
            Self::X963(KdfHash::Sha224) => oids::DH_SHA224KDF,
            Self::X963(KdfHash::Sha256) => oids::DH_SHA256KDF,
            Self::X963(KdfHash::Sha384) => oids::DH_SHA384KDF,
            Self::X963(KdfHash::Sha512) => oids::DH_SHA512KDF,
            Self::Hkdf(KdfHash::Sha256) => oids::DH_HKDF_SHA256,
            Self::Hkdf(KdfHash::Sha384) => oids::DH_HKDF_SHA384,
            Self::Hkdf(KdfHash::Sha512) => oids::DH_HKDF_SHA512,
            _ => return None,
        })
    }

    /// The scheme named by `oid`, or [`ErrorKind::UnsupportedAlgorithm`].
    pub fn from_oid(oid: &[u8]) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.oid() == Some(oid))
            .ok_or(Error::new(ErrorKind::UnsupportedAlgorithm))
    }

    /// Derives `kek` from the shared secret `z` and the DER `shared_info`.
    pub fn derive(self, z: &[u8], shared_info: &[u8], kek: &mut [u8]) -> Result<()> {
        match self {
            Self::X963(h) => kdf::x963(h, z, shared_info, kek),
            Self::Hkdf(h) => kdf::hkdf(h, &[], z, shared_info, kek),
        }
    }
}

/// How a recipient encrypted key names its recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KariRid<'a> {
    /// The DER of the issuer `Name` and the serial number's content octets.
    IssuerSerial {
        /// The issuer `Name` (whole TLV).
        issuer: &'a [u8],
        /// The serial number INTEGER's content octets.
        serial: &'a [u8],
    },
    /// `rKeyId`'s subjectKeyIdentifier.
    SubjectKeyId(&'a [u8]),
}

impl KariRid<'_> {
    /// Whether this names the certificate `id` describes.
    pub fn matches(&self, id: &RecipientId<'_>) -> bool {
        fn strip(mut s: &[u8]) -> &[u8] {
            while s.len() > 1 && s[0] == 0 && s[1] & 0x80 == 0 {
                s = &s[1..];
            }
            s
        }
        match self {
            Self::IssuerSerial { issuer, serial } => {
                *issuer == id.issuer && strip(serial) == strip(id.serial)
            }
            Self::SubjectKeyId(ski) => id.subject_key_id == Some(*ski),
        }
    }
}

/// The longest UserKeyingMaterial accepted, in bytes.
pub const MAX_UKM_LEN: usize = 128;

/// A parsed KeyAgreeRecipientInfo, borrowed from the message.
#[derive(Clone, Copy, Debug)]
pub struct KeyAgreeRecipientInfo<'a> {
    /// The originator key's algorithm OID (id-ecPublicKey or id-X25519).
    pub originator_alg: &'a [u8],
    /// The originator's public key (BIT STRING content without the unused-bits
    /// octet): an uncompressed SEC1 point, or 32 bytes for X25519.
    pub originator_key: &'a [u8],
    /// The user keying material, if present.
    pub ukm: Option<&'a [u8]>,
    /// The key-derivation scheme.
    pub kdf: KdfAlg,
    /// The key-wrap algorithm.
    pub wrap: KeyWrapAlg,
    /// The key-wrap `AlgorithmIdentifier` as encoded in the message.
    pub wrap_alg_der: &'a [u8],
    keys: &'a [u8],
}

impl<'a> KeyAgreeRecipientInfo<'a> {
    /// Parses a RecipientInfo holding a KeyAgreeRecipientInfo: the whole
    /// `[1]`-tagged element.
    pub fn parse(ri: &'a [u8]) -> Result<Self> {
        let mut outer = SliceReader::new(ri);
        let t = outer.read_expect(Tag::context(1, true))?;
        outer.finish()?;
        Self::parse_content(t.value)
    }

    /// Parses the content octets of the `[1]` element.
    pub fn parse_content(content: &'a [u8]) -> Result<Self> {
        let mut r = SliceReader::new(content);
        if r.read_expect(Tag::INTEGER)?.small_uint()? != 3 {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        let orig = r.read_expect(Tag::context(0, true))?;
        let mut or = orig.reader();
        let ok = or.read()?;
        or.finish()?;
        if ok.tag != Tag::context(1, true) {
            // issuerAndSerialNumber / subjectKeyIdentifier: static-static ECDH.
            return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
        }
        let mut kr = ok.reader();
        let mut ar = kr.read_expect(Tag::SEQUENCE)?.reader();
        let originator_alg = ar.read_expect(Tag::OID)?.value;
        // Parameters: absent or NULL (RFC 5753 §7.1.1); a curve OID is tolerated.
        if let Some(p) = ar.next_tlv()?
            && p.tag != Tag::NULL
            && p.tag != Tag::OID
        {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        ar.finish()?;
        let bits = kr.read_expect(Tag::BIT_STRING)?.value;
        kr.finish()?;
        let originator_key = match bits.split_first() {
            Some((0, k)) if !k.is_empty() => k,
            _ => return Err(Error::new(ErrorKind::InvalidValue)),
        };
        let ukm = match r.read_optional(Tag::context(1, true))? {
            Some(u) => {
                let mut ur = u.reader();
                let v = ur.read_expect(Tag::OCTET_STRING)?.value;
                ur.finish()?;
                if v.len() > MAX_UKM_LEN {
                    return Err(Error::new(ErrorKind::CapacityExceeded));
                }
                Some(v)
            }
            None => None,
        };
        let mut kea = r.read_expect(Tag::SEQUENCE)?.reader();
        let kdf = KdfAlg::from_oid(kea.read_expect(Tag::OID)?.value)?;
        let wrap_tlv = kea.read_expect(Tag::SEQUENCE)?;
        kea.finish()?;
        let wrap = KeyWrapAlg::from_alg_id(wrap_tlv)?;
        let keys = r.read_expect(Tag::SEQUENCE)?.value;
        r.finish()?;
        Ok(Self { originator_alg, originator_key, ukm, kdf, wrap, wrap_alg_der: wrap_tlv.raw, keys })
    }

    /// The recipient encrypted keys: `(rid, encryptedKey)` pairs.
    pub fn recipient_keys(&self) -> RecipientKeys<'a> {
        RecipientKeys { r: SliceReader::new(self.keys) }
    }

    /// Derives the KEK from the shared secret `z` into `kek` (the wrap
    /// algorithm's key length).
    pub fn derive_kek(&self, z: &[u8], kek: &mut [u8]) -> Result<()> {
        let mut info = [0u8; SHARED_INFO_MAX];
        let n = shared_info(self.wrap_alg_der, self.ukm, self.wrap.kek_len(), &mut info)?;
        let kek = kek
            .get_mut(..self.wrap.kek_len())
            .ok_or(Error::new(ErrorKind::BufferTooSmall { required: self.wrap.kek_len() }))?;
        self.kdf.derive(z, &info[..n], kek)
    }
}

/// The recipient encrypted keys of a KeyAgreeRecipientInfo.
#[derive(Clone, Debug)]
pub struct RecipientKeys<'a> {
    r: SliceReader<'a>,
}

impl<'a> Iterator for RecipientKeys<'a> {
    type Item = Result<(KariRid<'a>, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        let rek = match self.r.next_tlv() {
            Ok(Some(t)) => t,
            Ok(None) => return None,
            Err(e) => {
                self.r = SliceReader::new(&[]);
                return Some(Err(e));
            }
        };
        let item = parse_rek(rek);
        if item.is_err() {
            self.r = SliceReader::new(&[]);
        }
        Some(item)
    }
}

fn parse_rek(rek: Tlv<'_>) -> Result<(KariRid<'_>, &[u8])> {
    let mut r = rek.expect(Tag::SEQUENCE)?.reader();
    let rid = r.read()?;
    let rid = if rid.tag == Tag::SEQUENCE {
        let mut ir = rid.reader();
        let issuer = ir.read_expect(Tag::SEQUENCE)?.raw;
        let serial = ir.read_expect(Tag::INTEGER)?.value;
        ir.finish()?;
        KariRid::IssuerSerial { issuer, serial }
    } else if rid.tag == Tag::context(0, true) {
        // RecipientKeyIdentifier { subjectKeyIdentifier, date OPTIONAL, other OPTIONAL }
        let mut kr = rid.reader();
        KariRid::SubjectKeyId(kr.read_expect(Tag::OCTET_STRING)?.value)
    } else {
        return Err(Error::new(ErrorKind::UnexpectedTag {
            expected: 0x30,
            actual: rid.tag.first_octet(),
        }));
    };
    let ek = r.read_expect(Tag::OCTET_STRING)?.value;
    r.finish()?;
    Ok((rid, ek))
}

/// Room for the DER of an ECC-CMS-SharedInfo.
const SHARED_INFO_MAX: usize = 64 + MAX_UKM_LEN + 32;

/// Writes the DER `ECC-CMS-SharedInfo` into `out`; returns its length.
pub fn shared_info(wrap_alg_der: &[u8], ukm: Option<&[u8]>, kek_len: usize, out: &mut [u8]) -> Result<usize> {
    let bits = u32::try_from(kek_len * 8).map_err(|_| Error::new(ErrorKind::InvalidValue))?;
    let ukm_len = match ukm {
        Some(u) => to_usize(tlv_len(Tag::context(0, true), tlv_len(Tag::OCTET_STRING, u.len() as u64)?)?)?,
        None => 0,
    };
    let content = wrap_alg_der.len() + ukm_len + 8;
    let mut w = SliceWriter::new(out);
    w.header(Tag::SEQUENCE, content)?;
    w.bytes(wrap_alg_der)?;
    if let Some(u) = ukm {
        w.header(Tag::context(0, true), to_usize(tlv_len(Tag::OCTET_STRING, u.len() as u64)?)?)?;
        w.tlv(Tag::OCTET_STRING, u)?;
    }
    w.header(Tag::context(2, true), 6)?;
    w.tlv(Tag::OCTET_STRING, &bits.to_be_bytes())?;
    Ok(w.position())
}

fn to_usize(n: u64) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::new(ErrorKind::LengthOverflow))
}

fn backend(e: BackendErrorKind) -> Error {
    match e {
        BackendErrorKind::DecryptionFailed => Error::new(ErrorKind::DecryptionFailed),
        k => Error::new(ErrorKind::Backend(k)),
    }
}

/// Unwraps the content-encryption key of the RecipientInfo `ri` (the whole
/// `[1]`-tagged KeyAgreeRecipientInfo) with `key`, into `out`; returns the
/// CEK's length.
///
/// The recipient encrypted key is the one naming `key.recipient_id()`; a key
/// without a certificate is tried on each (AES key wrap's integrity check
/// tells the right one). Errors: [`ErrorKind::NoMatchingRecipient`] when no
/// entry names the key (or the originator key is for another curve),
/// [`ErrorKind::DecryptionFailed`] for a bad originator key or a failed
/// unwrap, [`ErrorKind::Backend`] for other backend failures,
/// [`ErrorKind::UnsupportedAlgorithm`] for schemes not implemented.
pub fn unwrap_cek<K: KeyAgreement>(ri: &[u8], key: &mut K, out: &mut [u8]) -> Result<usize> {
    let kari = KeyAgreeRecipientInfo::parse(ri)?;
    unwrap_parsed(&kari, key, out)
}

/// [`unwrap_cek`] on an already parsed recipient info.
pub fn unwrap_parsed<K: KeyAgreement>(
    kari: &KeyAgreeRecipientInfo<'_>,
    key: &mut K,
    out: &mut [u8],
) -> Result<usize> {
    use crate::backend::BackendError;
    let curve_ok = match key.curve() {
        AgreementCurve::P256 | AgreementCurve::P384 => kari.originator_alg == oid::EC_PUBLIC_KEY,
        AgreementCurve::X25519 => kari.originator_alg == oids::X25519,
    };
    if !curve_ok {
        return Err(Error::new(ErrorKind::NoMatchingRecipient));
    }
    let mut last = Error::new(ErrorKind::NoMatchingRecipient);
    let mut z = Zeroizing::new([0u8; 66]);
    let mut z_len = None;
    for item in kari.recipient_keys() {
        let (rid, ek) = item?;
        let named = match key.recipient_id() {
            Some(id) => rid.matches(&id),
            None => true,
        };
        if !named {
            continue;
        }
        let zl = match z_len {
            Some(n) => n,
            None => {
                let n = key
                    .shared_secret(kari.originator_key, &mut z[..])
                    .map_err(|e| backend(e.kind()))?;
                if n > z.len() {
                    return Err(Error::new(ErrorKind::Backend(BackendErrorKind::Other)));
                }
                z_len = Some(n);
                n
            }
        };
        let mut kek = Zeroizing::new([0u8; 32]);
        kari.derive_kek(&z[..zl], &mut kek[..])?;
        match kari.wrap.unwrap(&kek[..kari.wrap.kek_len()], ek, out) {
            Ok(n) => return Ok(n),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The curve of a recipient certificate's key.
fn cert_curve(cert: &CertificateRef<'_>) -> Result<AgreementCurve> {
    let alg = cert.public_key_algorithm();
    if alg == oids::X25519 {
        return Ok(AgreementCurve::X25519);
    }
    if alg != oid::EC_PUBLIC_KEY {
        return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
    }
    let params = cert.public_key_parameters().ok_or(Error::new(ErrorKind::InvalidCertificate))?;
    let curve = SliceReader::new(params).read_expect(Tag::OID)?.value;
    if curve == oid::SECP256R1 {
        Ok(AgreementCurve::P256)
    } else if curve == oid::SECP384R1 {
        Ok(AgreementCurve::P384)
    } else {
        Err(Error::new(ErrorKind::UnsupportedAlgorithm))
    }
}

/// Fills `buf` from `rng`.
fn fill<R: TryCryptoRng>(rng: &mut R, buf: &mut [u8]) -> Result<()> {
    rng.try_fill_bytes(buf).map_err(|_| Error::new(ErrorKind::Rng))
}

/// Ephemeral ECDH on a NIST curve: writes the ephemeral public point
/// (uncompressed) into `epk` and `Z` into `z`; returns their lengths.
#[cfg(feature = "ec")]
macro_rules! nist_ephemeral {
    ($curve:ident, $rng:expr, $peer:expr, $epk:expr, $z:expr) => {{
        use $curve::elliptic_curve::point::AffineCoordinates;
        let q = $curve::PublicKey::from_sec1_bytes($peer)
            .map_err(|_| Error::new(ErrorKind::InvalidCertificate))?;
        let mut seed = Zeroizing::new($curve::FieldBytes::default());
        let mut sk = None;
        for _ in 0..16 {
            fill($rng, seed.as_mut_slice())?;
            if let Ok(k) = $curve::ecdsa::SigningKey::from_slice(seed.as_slice()) {
                sk = Some(k);
                break;
            }
        }
        let sk = sk.ok_or(Error::new(ErrorKind::Rng))?;
        let point = sk.verifying_key().to_sec1_point(false);
        let p = point.as_bytes();
        $epk[..p.len()].copy_from_slice(p);
        let d: &$curve::Scalar = sk.as_nonzero_scalar().as_ref();
        let mut x = (q.to_projective() * d).to_affine().x();
        $z[..x.len()].copy_from_slice(&x);
        let zl = x.len();
        x.as_mut_slice().zeroize();
        (p.len(), zl)
    }};
}

/// Writes a RecipientInfo (the whole `[1]`-tagged KeyAgreeRecipientInfo,
/// version 3) for `recipient` into `out`, wrapping `cek` under a KEK agreed
/// with a fresh ephemeral key (P-256, P-384 or X25519, after the recipient's
/// key). The recipient is named by issuer and serial number; no ukm is sent.
/// Returns the length written.
///
/// Errors: [`ErrorKind::UnsupportedAlgorithm`] for a certificate key that is
/// not P-256, P-384 or X25519, or an HKDF hash without an OID;
/// [`ErrorKind::InvalidCertificate`] for a bad public key;
/// [`ErrorKind::Rng`]; [`ErrorKind::BufferTooSmall`].
pub fn build_kari<R: TryCryptoRng>(
    recipient: &CertificateRef<'_>,
    wrap: KeyWrapAlg,
    kdf: KdfAlg,
    cek: &[u8],
    rng: &mut R,
    out: &mut [u8],
) -> Result<usize> {
    let kdf_oid = kdf.oid().ok_or(Error::new(ErrorKind::UnsupportedAlgorithm))?;
    let curve = cert_curve(recipient)?;
    let peer = recipient.public_key();
    let mut epk = [0u8; 97];
    let mut z = Zeroizing::new([0u8; 66]);
    let (epk_len, z_len, alg_oid) = match curve {
        // Without the `ec` feature: no curve arithmetic.
        #[cfg(not(feature = "ec"))]
        _ => {
            let _ = (peer, &mut epk, &mut z);
            Err::<(usize, usize, &[u8]), _>(Error::new(ErrorKind::UnsupportedAlgorithm))?
        }
        #[cfg(feature = "ec")]
        AgreementCurve::P256 => {
            let (a, b) = nist_ephemeral!(p256, rng, peer, epk, z);
            (a, b, oid::EC_PUBLIC_KEY)
        }
        #[cfg(feature = "ec")]
        AgreementCurve::P384 => {
            let (a, b) = nist_ephemeral!(p384, rng, peer, epk, z);
            (a, b, oid::EC_PUBLIC_KEY)
        }
        #[cfg(feature = "ec")]
        AgreementCurve::X25519 => {
            let u = <&[u8; 32]>::try_from(peer).map_err(|_| Error::new(ErrorKind::InvalidCertificate))?;
            let mut k = Zeroizing::new([0u8; 32]);
            fill(rng, &mut k[..])?;
            epk[..32].copy_from_slice(&x25519_base(&k));
            let s = x25519(&k, u).ok_or(Error::new(ErrorKind::InvalidCertificate))?;
            z[..32].copy_from_slice(&s);
            (32, 32, oids::X25519)
        }
    };

    // KEK and wrapped key.
    let mut wrap_der = [0u8; 24];
    let wl = {
        let mut w = SliceWriter::new(&mut wrap_der);
        wrap.write_alg_id(&mut w)?;
        w.position()
    };
    let mut info = [0u8; SHARED_INFO_MAX];
    let il = shared_info(&wrap_der[..wl], None, wrap.kek_len(), &mut info)?;
    let mut kek = Zeroizing::new([0u8; 32]);
    kdf.derive(&z[..z_len], &info[..il], &mut kek[..wrap.kek_len()])?;
    let mut ek = [0u8; keywrap::MAX_KEY_LEN + 8];
    let ek_len = match wrap {
        KeyWrapAlg::DesEde3 => {
            let mut iv = [0u8; 8];
            fill(rng, &mut iv)?;
            keywrap::wrap_3des(&kek[..wrap.kek_len()], cek, &iv, &mut ek)?
        }
        _ => keywrap::wrap(&kek[..wrap.kek_len()], cek, &mut ek)?,
    };

    let issuer = recipient.issuer_der();
    let serial = recipient.serial();
    let KariLens {
        alg_seq,
        bits,
        orig_key,
        kea_content,
        ias_content,
        rek_content,
        reks_content,
        content,
    } = kari_lens(alg_oid, epk_len, kdf_oid, wrap, issuer, serial, ek_len)?;
    let len = |tag: Tag, n: usize| -> Result<usize> { to_usize(tlv_len(tag, n as u64)?) };

    let mut w = SliceWriter::new(out);
    w.header(Tag::context(1, true), content)?;
    w.tlv(Tag::INTEGER, &[3])?;
    w.header(Tag::context(0, true), orig_key)?;
    w.header(Tag::context(1, true), alg_seq + bits)?;
    w.header(Tag::SEQUENCE, len(Tag::OID, alg_oid.len())?)?;
    w.tlv(Tag::OID, alg_oid)?;
    w.header(Tag::BIT_STRING, epk_len + 1)?;
    w.bytes(&[0])?;
    w.bytes(&epk[..epk_len])?;
    w.header(Tag::SEQUENCE, kea_content)?;
    w.tlv(Tag::OID, kdf_oid)?;
    wrap.write_alg_id(&mut w)?;
    w.header(Tag::SEQUENCE, reks_content)?;
    w.header(Tag::SEQUENCE, rek_content)?;
    w.header(Tag::SEQUENCE, ias_content)?;
    w.bytes(issuer)?;
    w.tlv(Tag::INTEGER, serial)?;
    w.tlv(Tag::OCTET_STRING, &ek[..ek_len])?;
    Ok(w.position())
}

/// The lengths of the parts of a KeyAgreeRecipientInfo, inside out.
struct KariLens {
    alg_seq: usize,
    bits: usize,
    orig_key: usize,
    kea_content: usize,
    ias_content: usize,
    rek_content: usize,
    reks_content: usize,
    content: usize,
}

fn kari_lens(
    alg_oid: &[u8],
    epk_len: usize,
    kdf_oid: &[u8],
    wrap: KeyWrapAlg,
    issuer: &[u8],
    serial: &[u8],
    ek_len: usize,
) -> Result<KariLens> {
    let len = |tag: Tag, n: usize| -> Result<usize> { to_usize(tlv_len(tag, n as u64)?) };
    let alg_seq = len(Tag::SEQUENCE, len(Tag::OID, alg_oid.len())?)?;
    let bits = len(Tag::BIT_STRING, epk_len + 1)?;
    let orig_key = len(Tag::context(1, true), alg_seq + bits)?;
    let orig = len(Tag::context(0, true), orig_key)?;
    let kea_content = len(Tag::OID, kdf_oid.len())? + wrap.alg_id_len();
    let kea = len(Tag::SEQUENCE, kea_content)?;
    let ias_content = issuer.len() + len(Tag::INTEGER, serial.len())?;
    let rek_content = len(Tag::SEQUENCE, ias_content)? + len(Tag::OCTET_STRING, ek_len)?;
    let reks_content = len(Tag::SEQUENCE, rek_content)?;
    let reks = len(Tag::SEQUENCE, reks_content)?;
    let content = 3 + orig + kea + reks;
    Ok(KariLens {
        alg_seq,
        bits,
        orig_key,
        kea_content,
        ias_content,
        rek_content,
        reks_content,
        content,
    })
}

/// The length of the RecipientInfo [`build_kari`] writes for `recipient`
/// with a CEK of `cek_len` bytes (it does not depend on the random values),
/// and the recipient key's curve.
///
/// Errors as [`build_kari`], except [`ErrorKind::Rng`] and
/// [`ErrorKind::BufferTooSmall`].
pub fn kari_len(
    recipient: &CertificateRef<'_>,
    wrap: KeyWrapAlg,
    kdf: KdfAlg,
    cek_len: usize,
) -> Result<(usize, AgreementCurve)> {
    let kdf_oid = kdf.oid().ok_or(Error::new(ErrorKind::UnsupportedAlgorithm))?;
    let curve = cert_curve(recipient)?;
    let (epk_len, alg_oid) = match curve {
        AgreementCurve::P256 => (65, oid::EC_PUBLIC_KEY),
        AgreementCurve::P384 => (97, oid::EC_PUBLIC_KEY),
        AgreementCurve::X25519 => (32, oids::X25519),
    };
    let ek_len = match wrap {
        KeyWrapAlg::DesEde3 => cek_len + 16,
        _ => cek_len + 8,
    };
    let l = kari_lens(
        alg_oid,
        epk_len,
        kdf_oid,
        wrap,
        recipient.issuer_der(),
        recipient.serial(),
        ek_len,
    )?;
    Ok((to_usize(tlv_len(Tag::context(1, true), l.content as u64)?)?, curve))
}

/// X25519 (RFC 7748 §5) of the scalar `k` and the u-coordinate `u`; `None`
/// for an all-zero result (a small-order `u`, RFC 7748 §6.1).
#[cfg(feature = "ec")]
pub fn x25519(k: &[u8; 32], u: &[u8; 32]) -> Option<[u8; 32]> {
    // curve25519-dalek is reached through ed25519-dalek (not a direct
    // dependency): a Montgomery point is obtained from a verifying key and
    // its public field set to `u`.
    let mut p = ed25519_dalek::VerifyingKey::from_bytes(&ED25519_BASEPOINT).ok()?.to_montgomery();
    p.0 = *u;
    let mut r = p.mul_clamped(*k).0;
    if bool::from(r.ct_eq(&[0u8; 32])) {
        r.zeroize();
        return None;
    }
    Some(r)
}

/// [`x25519`] without the `ec` feature: always `None`.
#[cfg(not(feature = "ec"))]
pub fn x25519(_k: &[u8; 32], _u: &[u8; 32]) -> Option<[u8; 32]> {
    None
}

/// The X25519 public key of the scalar `k` (`X25519(k, 9)`).
pub fn x25519_base(k: &[u8; 32]) -> [u8; 32] {
    let mut nine = [0u8; 32];
    nine[0] = 9;
    x25519(k, &nine).unwrap_or([0; 32])
}

/// The compressed Edwards25519 base point.
#[cfg(feature = "ec")]
const ED25519_BASEPOINT: [u8; 32] = [
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, c) in s.as_bytes().chunks(2).enumerate() {
            let v = |x: u8| u8::try_from((x as char).to_digit(16).unwrap()).unwrap();
            out[i] = v(c[0]) << 4 | v(c[1]);
        }
        out
    }

    /// RFC 7748 §6.1 (Alice and Bob).
    #[test]
    fn x25519_rfc7748() {
        let a: [u8; 32] = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let b: [u8; 32] = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        let a_pub = x25519_base(&a);
        assert_eq!(a_pub, hex::<32>("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
        let b_pub = x25519_base(&b);
        assert_eq!(b_pub, hex::<32>("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
        let k = hex::<32>("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(x25519(&a, &b_pub), Some(k));
        assert_eq!(x25519(&b, &a_pub), Some(k));
        assert_eq!(x25519(&a, &[0; 32]), None);
    }

    #[test]
    fn shared_info_der() {
        let wrap = [0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x05];
        let mut out = [0u8; 64];
        let n = shared_info(&wrap, None, 16, &mut out).unwrap();
        let mut expect = [0u8; 23];
        expect[..2].copy_from_slice(&[0x30, 0x15]);
        expect[2..15].copy_from_slice(&wrap);
        expect[15..].copy_from_slice(&[0xA2, 0x06, 0x04, 0x04, 0, 0, 0, 0x80]);
        assert_eq!(&out[..n], &expect[..]);
        let n = shared_info(&wrap, Some(&[1, 2, 3]), 32, &mut out).unwrap();
        assert_eq!(&out[..4], &[0x30, 0x1C, 0x30, 0x0B]);
        assert_eq!(&out[15..n], &[0xA0, 0x05, 0x04, 0x03, 1, 2, 3, 0xA2, 0x06, 0x04, 0x04, 0, 0, 1, 0]);
    }

    #[test]
    fn oids_round_trip() {
        for k in KdfAlg::ALL {
            assert_eq!(KdfAlg::from_oid(k.oid().unwrap()).unwrap(), k);
        }
        for w in [KeyWrapAlg::Aes128, KeyWrapAlg::Aes192, KeyWrapAlg::Aes256, KeyWrapAlg::DesEde3] {
            assert_eq!(KeyWrapAlg::from_oid(w.oid()).unwrap(), w);
        }
        assert_eq!(KdfAlg::Hkdf(KdfHash::Sha1).oid(), None);
    }
}
