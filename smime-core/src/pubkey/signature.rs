//! Signature algorithms and signature verification without heap: RSA
//! PKCS#1 v1.5 and RSASSA-PSS, ECDSA on P-256 and P-384, Ed25519.
//!
//! [`SignatureAlgorithm`] is what an `AlgorithmIdentifier` in a certificate,
//! CRL or CMS `SignerInfo` names; [`verify_message`] and [`verify_prehashed`]
//! check a signature with the key in a `SubjectPublicKeyInfo`.
//!
//! ```text
//! AlgorithmIdentifier ::= SEQUENCE {
//!     algorithm   OBJECT IDENTIFIER,
//!     parameters  ANY DEFINED BY algorithm OPTIONAL }
//!
//! RSASSA-PSS-params ::= SEQUENCE {               -- RFC 4055 § 3.1
//!     hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
//!     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
//!     saltLength         [2] INTEGER DEFAULT 20,
//!     trailerField       [3] INTEGER DEFAULT 1 }
//!
//! Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }   -- RFC 5480 / RFC 3279
//! ```
//! ([RFC 4055 § 3](https://www.rfc-editor.org/rfc/rfc4055#section-3),
//! [RFC 5754 § 3](https://www.rfc-editor.org/rfc/rfc5754#section-3),
//! [RFC 5758 § 3.2](https://www.rfc-editor.org/rfc/rfc5758#section-3.2),
//! [RFC 8410 § 3](https://www.rfc-editor.org/rfc/rfc8410#section-3),
//! [RFC 8419](https://www.rfc-editor.org/rfc/rfc8419))
//!
//! # What is accepted
//!
//! - `sha{1,256,384,512}WithRSAEncryption` with NULL or absent parameters;
//!   RSASSA-PSS with explicit parameters (hash and MGF1 hash from SHA-1 and
//!   SHA-2, any salt length, trailerField 1); `ecdsa-with-SHA{1,256,384,512}`
//!   with absent (or, leniently, NULL) parameters and `ecdsa-with-Specified`
//!   (ANSI X9.62, the hash as parameter); `id-Ed25519` with absent
//!   parameters. Anything else is [`ErrorKind::UnsupportedAlgorithm`].
//! - Keys: `rsaEncryption` (1024 to 4096 bits, also under `id-RSASSA-PSS` for
//!   PSS), `id-ecPublicKey` on P-256 or P-384 (named curves), `id-Ed25519`.
//!   The curve comes from the key, not from the signature algorithm.
//! - A key that does not fit the algorithm (an EC key for an RSA signature)
//!   is [`KeyUsageError::WrongKeyType`]; a malformed or unsupported key is
//!   [`ErrorKind::InvalidKey`] (RSA below 1024 bits included).
//! - A signature that does not verify, whatever the reason (wrong length, out
//!   of range, wrong padding, wrong digest) is [`ErrorKind::BadSignature`].
//!
//! Policy is the caller's: SHA-1 signatures verify and are flagged by
//! [`SignatureAlgorithm::is_weak`]; RSA key sizes from 1024 bits verify.
//! The restrictions an `id-RSASSA-PSS` key may carry in its parameters are
//! not enforced (the signature's own parameters are used).
//!
//! # Contracts
//!
//! No heap, no panics on any input. RSA encoded messages are compared in
//! constant time (public data, but cheap). The RSA operation needs about
//! 12 KiB of stack for a 4096-bit key (see [`super::rsa`]).

use subtle::ConstantTimeEq;

use crate::backend::HashAlgorithm;
use crate::ber::encode::SliceWriter;
use crate::ber::{SliceReader, Tag, Tlv};
use crate::digest::Hasher;
use crate::error::{Error, ErrorKind, KeyUsageError, Result};
use crate::oid;
use crate::pubkey::rsa::{MAX_MODULUS_LEN, RsaPublicKeyRef, mgf1_xor, parse_pkcs1};

/// RSASSA-PSS default salt length (RFC 4055).
const PSS_DEFAULT_SALT_LEN: u32 = 20;

/// Largest DER `AlgorithmIdentifier` that [`SignatureAlgorithm::encode`]
/// writes (RSASSA-PSS with SHA-2 hashes and a large salt length).
pub const MAX_ALGORITHM_ID_LEN: usize = 80;

/// A signature algorithm with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with the given hash (`sha*WithRSAEncryption`, or
    /// `rsaEncryption` with the hash named elsewhere, see
    /// [`from_der_with_digest`](Self::from_der_with_digest)).
    RsaPkcs1v15(HashAlgorithm),
    /// RSASSA-PSS with MGF1.
    RsaPss {
        /// The message hash.
        hash: HashAlgorithm,
        /// The hash of MGF1.
        mgf_hash: HashAlgorithm,
        /// The salt length in bytes.
        salt_len: u32,
    },
    /// ECDSA with the given hash; the curve (P-256 or P-384) is the key's.
    Ecdsa(HashAlgorithm),
    /// Pure Ed25519 (RFC 8032); the message is not hashed first.
    Ed25519,
}

impl SignatureAlgorithm {
    /// Parses a signature `AlgorithmIdentifier` TLV (nothing may follow it).
    ///
    /// Unknown algorithms (MD5 with RSA, DSA, other curves' algorithms, ...)
    /// are [`ErrorKind::UnsupportedAlgorithm`]; malformed parameters are
    /// encoding errors.
    pub fn from_der(alg_id: &[u8]) -> Result<Self> {
        let (o, params) = split_alg_id(alg_id)?;
        Self::from_parts(o, params)
    }

    /// Parses a CMS `SignerInfo.signatureAlgorithm` given the
    /// `SignerInfo.digestAlgorithm`'s hash.
    ///
    /// `rsaEncryption` (as OpenSSL writes it) becomes PKCS#1 v1.5 and
    /// `id-ecPublicKey` ECDSA, both with `digest`. An algorithm that names its
    /// own hash must name `digest` ([`ErrorKind::InvalidValue`] otherwise);
    /// Ed25519 hashes nothing and takes any digest (RFC 8419 says SHA-512).
    pub fn from_der_with_digest(alg_id: &[u8], digest: HashAlgorithm) -> Result<Self> {
        let (o, params) = split_alg_id(alg_id)?;
        if o == oid::RSA_ENCRYPTION {
            null_or_absent(params)?;
            return Ok(Self::RsaPkcs1v15(digest));
        }
        if o == oid::EC_PUBLIC_KEY {
            // Parameters, if any, would name the curve: the key's business.
            return Ok(Self::Ecdsa(digest));
        }
        let alg = Self::from_parts(o, params)?;
        match alg.hash() {
            Some(h) if h != digest => Err(Error::new(ErrorKind::InvalidValue)),
            _ => Ok(alg),
        }
    }

    fn from_parts(o: &[u8], params: Option<Tlv<'_>>) -> Result<Self> {
        let rsa = [
            (oid::SHA1_WITH_RSA, HashAlgorithm::Sha1),
            (oid::SHA256_WITH_RSA, HashAlgorithm::Sha256),
            (oid::SHA384_WITH_RSA, HashAlgorithm::Sha384),
            (oid::SHA512_WITH_RSA, HashAlgorithm::Sha512),
        ];
        if let Some((_, h)) = rsa.iter().find(|(x, _)| *x == o) {
            null_or_absent(params)?;
            return Ok(Self::RsaPkcs1v15(*h));
        }
        let ecdsa = [
            (oid::ECDSA_WITH_SHA1, HashAlgorithm::Sha1),
            (oid::ECDSA_WITH_SHA256, HashAlgorithm::Sha256),
            (oid::ECDSA_WITH_SHA384, HashAlgorithm::Sha384),
            (oid::ECDSA_WITH_SHA512, HashAlgorithm::Sha512),
        ];
        if let Some((_, h)) = ecdsa.iter().find(|(x, _)| *x == o) {
            null_or_absent(params)?;
            return Ok(Self::Ecdsa(*h));
        }
        if o == oid::ECDSA_WITH_SPECIFIED {
            // X9.62: the parameter is the hash's AlgorithmIdentifier.
            let p = params.ok_or(Error::new(ErrorKind::InvalidValue))?;
            return Ok(Self::Ecdsa(parse_hash_alg(&p)?));
        }
        if o == oid::RSASSA_PSS {
            let p = params.ok_or(Error::new(ErrorKind::InvalidValue))?;
            return parse_pss_params(&p);
        }
        if o == oid::ED25519 {
            if params.is_some() {
                return Err(Error::new(ErrorKind::InvalidValue));
            }
            return Ok(Self::Ed25519);
        }
        Err(Error::new(ErrorKind::UnsupportedAlgorithm))
    }

    /// Writes the DER `AlgorithmIdentifier` into `out` as OpenSSL writes it;
    /// returns its length (at most [`MAX_ALGORITHM_ID_LEN`]).
    ///
    /// PKCS#1 v1.5 as `sha*WithRSAEncryption` with NULL parameters; ECDSA and
    /// Ed25519 without parameters; RSASSA-PSS with explicit parameters that
    /// leave out the defaults (hash identifiers with NULL parameters).
    /// [`ErrorKind::BufferTooSmall`] if `out` is too short.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize> {
        let mut w = SliceWriter::new(out);
        match *self {
            Self::RsaPkcs1v15(h) => {
                let o = match h {
                    HashAlgorithm::Sha1 => oid::SHA1_WITH_RSA,
                    HashAlgorithm::Sha256 => oid::SHA256_WITH_RSA,
                    HashAlgorithm::Sha384 => oid::SHA384_WITH_RSA,
                    HashAlgorithm::Sha512 => oid::SHA512_WITH_RSA,
                };
                w.header(Tag::SEQUENCE, 2 + o.len() + 2)?;
                w.tlv(Tag::OID, o)?;
                w.tlv(Tag::NULL, &[])?;
            }
            Self::Ecdsa(h) => {
                let o = match h {
                    HashAlgorithm::Sha1 => oid::ECDSA_WITH_SHA1,
                    HashAlgorithm::Sha256 => oid::ECDSA_WITH_SHA256,
                    HashAlgorithm::Sha384 => oid::ECDSA_WITH_SHA384,
                    HashAlgorithm::Sha512 => oid::ECDSA_WITH_SHA512,
                };
                w.header(Tag::SEQUENCE, 2 + o.len())?;
                w.tlv(Tag::OID, o)?;
            }
            Self::Ed25519 => {
                w.header(Tag::SEQUENCE, 2 + oid::ED25519.len())?;
                w.tlv(Tag::OID, oid::ED25519)?;
            }
            Self::RsaPss { hash, mgf_hash, salt_len } => {
                // hashAlgorithm: SEQ { OID, NULL }
                let hash_alg = |h: HashAlgorithm| 2 + (2 + h.oid().len()) + 2;
                let c0 = if hash == HashAlgorithm::Sha1 { 0 } else { 2 + hash_alg(hash) };
                let mgf_inner = 2 + oid::MGF1.len() + hash_alg(mgf_hash);
                let c1 = if mgf_hash == HashAlgorithm::Sha1 { 0 } else { 2 + 2 + mgf_inner };
                let salt = uint_octets(salt_len);
                let salt = salt.1.get(salt.0..).unwrap_or(&[0]);
                let c2 = if salt_len == PSS_DEFAULT_SALT_LEN { 0 } else { 2 + 2 + salt.len() };
                let params = c0 + c1 + c2;
                w.header(Tag::SEQUENCE, 2 + oid::RSASSA_PSS.len() + 2 + params)?;
                w.tlv(Tag::OID, oid::RSASSA_PSS)?;
                w.header(Tag::SEQUENCE, params)?;
                let write_hash = |w: &mut SliceWriter<'_>, h: HashAlgorithm| -> Result<()> {
                    w.header(Tag::SEQUENCE, hash_alg(h) - 2)?;
                    w.tlv(Tag::OID, h.oid())?;
                    w.tlv(Tag::NULL, &[])
                };
                if c0 != 0 {
                    w.header(Tag::context(0, true), hash_alg(hash))?;
                    write_hash(&mut w, hash)?;
                }
                if c1 != 0 {
                    w.header(Tag::context(1, true), 2 + mgf_inner)?;
                    w.header(Tag::SEQUENCE, mgf_inner)?;
                    w.tlv(Tag::OID, oid::MGF1)?;
                    write_hash(&mut w, mgf_hash)?;
                }
                if c2 != 0 {
                    w.header(Tag::context(2, true), 2 + salt.len())?;
                    w.tlv(Tag::INTEGER, salt)?;
                }
            }
        }
        Ok(w.position())
    }

    /// The hash the algorithm signs with; `None` for Ed25519 (pure EdDSA).
    pub fn hash(&self) -> Option<HashAlgorithm> {
        match *self {
            Self::RsaPkcs1v15(h) | Self::Ecdsa(h) => Some(h),
            Self::RsaPss { hash, .. } => Some(hash),
            Self::Ed25519 => None,
        }
    }

    /// Whether the signature rests on SHA-1 (collisions are practical): the
    /// caller's policy should refuse or flag it. MGF1 over SHA-1 in PSS is
    /// not counted (MGF1 needs no collision resistance).
    pub fn is_weak(&self) -> bool {
        self.hash().is_some_and(HashAlgorithm::is_weak)
    }
}

/// Verifies `signature` over `message` with the key in `spki_der` (a
/// `SubjectPublicKeyInfo` TLV, e.g.
/// [`CertificateRef::spki_der`](crate::x509::CertificateRef::spki_der)).
///
/// The message is hashed as `alg` says; Ed25519 signs the message itself.
/// Errors: [`ErrorKind::BadSignature`] when the signature does not verify;
/// [`KeyUsageError::WrongKeyType`] when the key does not fit `alg`;
/// [`ErrorKind::InvalidKey`] for a malformed or unsupported key.
pub fn verify_message(
    spki_der: &[u8],
    alg: &SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let Some(hash) = alg.hash() else {
        let spki = Spki::parse(spki_der)?;
        return verify_ed25519(&spki, message, signature);
    };
    let mut h = Hasher::new(hash);
    h.update(message);
    verify_prehashed(spki_der, alg, h.finalize().as_bytes(), signature)
}

/// Verifies `signature` over a message whose hash (`alg.hash()`) is `digest`,
/// with the key in `spki_der`. RSA and ECDSA only: Ed25519 is
/// [`ErrorKind::UnsupportedAlgorithm`] here. A `digest` of the wrong length
/// for the algorithm's hash is [`ErrorKind::InvalidValue`]. Other errors as
/// for [`verify_message`].
pub fn verify_prehashed(
    spki_der: &[u8],
    alg: &SignatureAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<()> {
    let hash = alg.hash().ok_or(Error::new(ErrorKind::UnsupportedAlgorithm))?;
    if digest.len() != hash.output_len() {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let spki = Spki::parse(spki_der)?;
    match *alg {
        SignatureAlgorithm::RsaPkcs1v15(h) => {
            let key = spki.rsa_key(false)?;
            verify_pkcs1v15(&key, h, digest, signature)
        }
        SignatureAlgorithm::RsaPss { hash, mgf_hash, salt_len } => {
            let key = spki.rsa_key(true)?;
            verify_pss(&key, hash, mgf_hash, salt_len, digest, signature)
        }
        SignatureAlgorithm::Ecdsa(_) => verify_ecdsa(&spki, digest, signature),
        SignatureAlgorithm::Ed25519 => Err(Error::new(ErrorKind::UnsupportedAlgorithm)),
    }
}

/// A parsed `SubjectPublicKeyInfo`.
struct Spki<'a> {
    alg: &'a [u8],
    params: Option<Tlv<'a>>,
    key: &'a [u8],
}

impl<'a> Spki<'a> {
    fn parse(der: &'a [u8]) -> Result<Self> {
        let parse = || -> Result<Self> {
            let mut outer = SliceReader::new(der);
            let spki = outer.read_expect(Tag::SEQUENCE)?;
            outer.finish()?;
            let mut r = spki.reader();
            let alg = r.read_expect(Tag::SEQUENCE)?;
            let key = match r.read_expect(Tag::BIT_STRING)?.value {
                [0, rest @ ..] => rest,
                _ => return Err(Error::new(ErrorKind::InvalidValue)),
            };
            r.finish()?;
            let mut a = alg.reader();
            let alg = a.read_expect(Tag::OID)?.value;
            let params = a.next_tlv()?;
            a.finish()?;
            Ok(Self { alg, params, key })
        };
        parse().map_err(|_| Error::new(ErrorKind::InvalidKey))
    }

    /// The RSA key; `pss` also accepts an `id-RSASSA-PSS` key.
    fn rsa_key(&self, pss: bool) -> Result<RsaPublicKeyRef<'a>> {
        if self.alg == oid::RSA_ENCRYPTION {
            null_or_absent(self.params).map_err(|_| Error::new(ErrorKind::InvalidKey))?;
        } else if !(pss && self.alg == oid::RSASSA_PSS) {
            return Err(wrong_key());
        }
        let (n, e) = parse_pkcs1(self.key).map_err(|_| Error::new(ErrorKind::InvalidKey))?;
        RsaPublicKeyRef::new(n, e)
    }
}

fn wrong_key() -> Error {
    Error::new(ErrorKind::KeyUsage(KeyUsageError::WrongKeyType))
}

fn bad_signature() -> Error {
    Error::new(ErrorKind::BadSignature)
}

/// The OID and parameters of an `AlgorithmIdentifier` TLV.
fn split_alg_id(der: &[u8]) -> Result<(&[u8], Option<Tlv<'_>>)> {
    let mut outer = SliceReader::new(der);
    let seq = outer.read_expect(Tag::SEQUENCE)?;
    outer.finish()?;
    let mut r = seq.reader();
    let o = r.read_expect(Tag::OID)?.value;
    let params = r.next_tlv()?;
    r.finish()?;
    Ok((o, params))
}

/// Parameters that must be NULL or absent.
fn null_or_absent(params: Option<Tlv<'_>>) -> Result<()> {
    match params {
        None => Ok(()),
        Some(p) if p.tag == Tag::NULL && p.value.is_empty() => Ok(()),
        Some(_) => Err(Error::new(ErrorKind::InvalidValue)),
    }
}

/// A hash `AlgorithmIdentifier` (parameters NULL or absent).
fn parse_hash_alg(tlv: &Tlv<'_>) -> Result<HashAlgorithm> {
    let mut r = tlv.expect(Tag::SEQUENCE)?.reader();
    let o = r.read_expect(Tag::OID)?.value;
    let params = r.next_tlv()?;
    r.finish()?;
    null_or_absent(params)?;
    HashAlgorithm::from_oid(o).ok_or(Error::new(ErrorKind::UnsupportedAlgorithm))
}

/// The single element inside an EXPLICIT tag.
fn explicit<'a>(tlv: &Tlv<'a>) -> Result<Tlv<'a>> {
    let mut r = tlv.reader();
    let inner = r.read()?;
    r.finish()?;
    Ok(inner)
}

fn parse_pss_params(params: &Tlv<'_>) -> Result<SignatureAlgorithm> {
    let mut p = params.expect(Tag::SEQUENCE)?.reader();
    let mut hash = HashAlgorithm::Sha1;
    let mut mgf_hash = HashAlgorithm::Sha1;
    let mut salt_len = PSS_DEFAULT_SALT_LEN;
    if let Some(h) = p.read_optional(Tag::context(0, true))? {
        hash = parse_hash_alg(&explicit(&h)?)?;
    }
    if let Some(m) = p.read_optional(Tag::context(1, true))? {
        let mut mr = explicit(&m)?.expect(Tag::SEQUENCE)?.reader();
        if mr.read_expect(Tag::OID)?.value != oid::MGF1 {
            return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
        }
        mgf_hash = parse_hash_alg(&mr.read()?)?;
        mr.finish()?;
    }
    if let Some(s) = p.read_optional(Tag::context(2, true))? {
        salt_len = explicit(&s)?.small_uint()?;
    }
    if let Some(t) = p.read_optional(Tag::context(3, true))?
        && explicit(&t)?.small_uint()? != 1
    {
        return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
    }
    p.finish()?;
    Ok(SignatureAlgorithm::RsaPss { hash, mgf_hash, salt_len })
}

/// The minimal DER INTEGER content octets of `v`: `(start, buf)`, the value
/// being `buf[start..]`.
fn uint_octets(v: u32) -> (usize, [u8; 5]) {
    let [a, b, c, d] = v.to_be_bytes();
    let buf = [0, a, b, c, d];
    // Drop leading zeros while the next octet keeps the sign positive.
    let start = buf.windows(2).take_while(|w| matches!(w, [0, next] if next & 0x80 == 0)).count();
    (start, buf)
}

/// `s^e mod n` into `em[..k]` (RSAVP1); any failure (length, range) is a bad
/// signature.
fn rsa_open<'b>(
    key: &RsaPublicKeyRef<'_>,
    signature: &[u8],
    em: &'b mut [u8; MAX_MODULUS_LEN],
) -> Result<&'b mut [u8]> {
    let k = key.size();
    if signature.len() != k {
        return Err(bad_signature());
    }
    key.public_op(signature, em).map_err(|_| bad_signature())?;
    em.get_mut(..k).ok_or(bad_signature())
}

/// RSASSA-PKCS1-v1_5-VERIFY (RFC 8017 § 8.2.2): the whole encoded message
/// `00 01 FF.. 00 DigestInfo` is compared with the expected one, for the
/// DigestInfo with NULL parameters (standard) and with absent ones (seen from
/// old signers).
fn verify_pkcs1v15(
    key: &RsaPublicKeyRef<'_>,
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<()> {
    let mut em = [0u8; MAX_MODULUS_LEN];
    let em = rsa_open(key, signature, &mut em)?;
    let mut ok = subtle::Choice::from(0);
    for with_null in [true, false] {
        let mut expected = [0u8; MAX_MODULUS_LEN];
        let expected = expected.get_mut(..em.len()).ok_or(bad_signature())?;
        emsa_pkcs1v15_encode(hash, with_null, digest, expected)?;
        ok |= em.ct_eq(expected);
    }
    if bool::from(ok) { Ok(()) } else { Err(bad_signature()) }
}

/// EMSA-PKCS1-v1_5 encoding of `digest` into `em` (all of it).
fn emsa_pkcs1v15_encode(
    hash: HashAlgorithm,
    with_null: bool,
    digest: &[u8],
    em: &mut [u8],
) -> Result<()> {
    let o = hash.oid();
    let null = if with_null { 2 } else { 0 };
    let alg_len = 2 + o.len() + null;
    let t_len = 2 + (2 + alg_len) + 2 + digest.len();
    let k = em.len();
    // At least 8 octets of padding (RFC 8017: emLen >= tLen + 11).
    let ps_len = k.checked_sub(t_len + 3).filter(|&l| l >= 8).ok_or(bad_signature())?;
    let (head, rest) = em.split_at_mut(2 + ps_len + 1);
    let [zero, one, ps @ .., sep] = head else { return Err(bad_signature()) };
    (*zero, *one, *sep) = (0x00, 0x01, 0x00);
    ps.fill(0xFF);
    let mut w = SliceWriter::new(rest);
    w.header(Tag::SEQUENCE, t_len - 2)?;
    w.header(Tag::SEQUENCE, alg_len)?;
    w.tlv(Tag::OID, o)?;
    if with_null {
        w.tlv(Tag::NULL, &[])?;
    }
    w.tlv(Tag::OCTET_STRING, digest)?;
    if w.position() == t_len { Ok(()) } else { Err(bad_signature()) }
}

/// RSASSA-PSS-VERIFY (RFC 8017 § 8.1.2, EMSA-PSS-VERIFY § 9.1.2).
fn verify_pss(
    key: &RsaPublicKeyRef<'_>,
    hash: HashAlgorithm,
    mgf_hash: HashAlgorithm,
    salt_len: u32,
    digest: &[u8],
    signature: &[u8],
) -> Result<()> {
    let mut buf = [0u8; MAX_MODULUS_LEN];
    let m = rsa_open(key, signature, &mut buf)?;
    // emBits = modBits - 1; emLen = ceil(emBits / 8). When modBits - 1 is a
    // multiple of 8 the encoded message is one octet shorter than k and the
    // first octet of m must be zero.
    let em_bits = key.bits().saturating_sub(1);
    let em_len = usize::try_from(em_bits.div_ceil(8)).map_err(|_| bad_signature())?;
    let (lead, em) = m.split_at_mut(m.len().saturating_sub(em_len));
    if lead.iter().any(|&b| b != 0) {
        return Err(bad_signature());
    }
    let h_len = hash.output_len();
    let s_len = usize::try_from(salt_len).map_err(|_| bad_signature())?;
    if em.len() != em_len || em_len < h_len.saturating_add(s_len).saturating_add(2) {
        return Err(bad_signature());
    }
    let (masked_db, rest) = em.split_at_mut(em_len - h_len - 1);
    let (h, trailer) = rest.split_at_mut(h_len);
    if trailer != [0xBC] {
        return Err(bad_signature());
    }
    // The leftmost 8·emLen − emBits bits of maskedDB must be zero.
    let unused = u32::try_from(8 * em_len).map_err(|_| bad_signature())? - em_bits;
    let top_mask = 0xFFu8.checked_shr(unused).unwrap_or(0);
    let first = masked_db.first_mut().ok_or(bad_signature())?;
    if *first & !top_mask != 0 {
        return Err(bad_signature());
    }
    let db = masked_db;
    mgf1_xor(mgf_hash, h, db);
    if let Some(b) = db.first_mut() {
        *b &= top_mask;
    }
    let ps_len = db.len() - s_len - 1;
    let (ps, rest) = db.split_at(ps_len);
    let (one, salt) = rest.split_at(1);
    if ps.iter().any(|&b| b != 0) || one != [0x01] {
        return Err(bad_signature());
    }
    let mut hasher = Hasher::new(hash);
    hasher.update(&[0u8; 8]);
    hasher.update(digest);
    hasher.update(salt);
    if bool::from(hasher.finalize().as_bytes().ct_eq(h)) { Ok(()) } else { Err(bad_signature()) }
}

/// ECDSA verification of a prehashed message on the key's curve.
#[cfg(feature = "ec")]
fn verify_ecdsa(spki: &Spki<'_>, digest: &[u8], signature: &[u8]) -> Result<()> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;

    if spki.alg != oid::EC_PUBLIC_KEY {
        return Err(wrong_key());
    }
    let curve = match spki.params {
        Some(p) if p.tag == Tag::OID => p.value,
        // implicitCurve / specifiedCurve: not supported.
        _ => return Err(Error::new(ErrorKind::InvalidKey)),
    };
    let invalid_key = |_| Error::new(ErrorKind::InvalidKey);
    if curve == oid::SECP256R1 {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(spki.key).map_err(invalid_key)?;
        let (r, s) = ecdsa_sig_value::<32>(signature)?;
        let sig = p256::ecdsa::Signature::from_scalars(r, s).map_err(|_| bad_signature())?;
        key.verify_prehash(digest, &sig).map_err(|_| bad_signature())
    } else if curve == oid::SECP384R1 {
        let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(spki.key).map_err(invalid_key)?;
        let (r, s) = ecdsa_sig_value::<48>(signature)?;
        let sig = p384::ecdsa::Signature::from_scalars(r, s).map_err(|_| bad_signature())?;
        key.verify_prehash(digest, &sig).map_err(|_| bad_signature())
    } else {
        Err(Error::new(ErrorKind::InvalidKey))
    }
}

/// `r` and `s` of an `Ecdsa-Sig-Value`, each left-padded to `N` octets. Any
/// malformation (or a value longer than `N` octets) is a bad signature.
#[cfg(feature = "ec")]
fn ecdsa_sig_value<const N: usize>(der: &[u8]) -> Result<([u8; N], [u8; N])> {
    let parse = || -> Result<([u8; N], [u8; N])> {
        let mut outer = SliceReader::new(der);
        let seq = outer.read_expect(Tag::SEQUENCE)?;
        outer.finish()?;
        let mut r = seq.reader();
        let mut out = [[0u8; N]; 2];
        for o in out.iter_mut() {
            let v = r.read_expect(Tag::INTEGER)?.uint_bytes()?;
            let start = N.checked_sub(v.len()).ok_or(bad_signature())?;
            o.get_mut(start..).ok_or(bad_signature())?.copy_from_slice(v);
        }
        r.finish()?;
        let [r, s] = out;
        Ok((r, s))
    };
    parse().map_err(|_| bad_signature())
}

/// Pure Ed25519 verification (RFC 8032 § 5.1.7, with the strict checks of
/// `verify_strict`: no small-order points, canonical `S`).
#[cfg(feature = "ec")]
fn verify_ed25519(spki: &Spki<'_>, message: &[u8], signature: &[u8]) -> Result<()> {
    if spki.alg != oid::ED25519 {
        return Err(wrong_key());
    }
    if spki.params.is_some() {
        return Err(Error::new(ErrorKind::InvalidKey));
    }
    let key: &[u8; 32] = spki.key.try_into().map_err(|_| Error::new(ErrorKind::InvalidKey))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(key)
        .map_err(|_| Error::new(ErrorKind::InvalidKey))?;
    let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| bad_signature())?;
    key.verify_strict(message, &sig).map_err(|_| bad_signature())
}

/// [`verify_ecdsa`] without the `ec` feature: the key is checked to be an
/// EC key, the algorithm is [`ErrorKind::UnsupportedAlgorithm`].
#[cfg(not(feature = "ec"))]
fn verify_ecdsa(spki: &Spki<'_>, _digest: &[u8], _signature: &[u8]) -> Result<()> {
    if spki.alg != oid::EC_PUBLIC_KEY {
        return Err(wrong_key());
    }
    Err(Error::new(ErrorKind::UnsupportedAlgorithm))
}

/// [`verify_ed25519`] without the `ec` feature.
#[cfg(not(feature = "ec"))]
fn verify_ed25519(spki: &Spki<'_>, _message: &[u8], _signature: &[u8]) -> Result<()> {
    if spki.alg != oid::ED25519 {
        return Err(wrong_key());
    }
    Err(Error::new(ErrorKind::UnsupportedAlgorithm))
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
