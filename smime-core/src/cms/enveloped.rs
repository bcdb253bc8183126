//! EnvelopedData (RFC 5652 §6) and AuthEnvelopedData (RFC 5083): streaming
//! encryption and decryption.
//!
//! ```text
//! ContentInfo ::= SEQUENCE {
//!   contentType ContentType,                      -- id-envelopedData
//!   content [0] EXPLICIT ANY DEFINED BY contentType }
//!
//! EnvelopedData ::= SEQUENCE {
//!   version CMSVersion,
//!   originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
//!   recipientInfos RecipientInfos,
//!   encryptedContentInfo EncryptedContentInfo,
//!   unprotectedAttrs [1] IMPLICIT UnprotectedAttributes OPTIONAL }
//!
//! EncryptedContentInfo ::= SEQUENCE {
//!   contentType ContentType,
//!   contentEncryptionAlgorithm ContentEncryptionAlgorithmIdentifier,
//!   encryptedContent [0] IMPLICIT EncryptedContent OPTIONAL }
//! ```
//!
//! ```text
//! AuthEnvelopedData ::= SEQUENCE {              -- id-ct-authEnvelopedData
//!   version CMSVersion,                         -- always 0
//!   originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
//!   recipientInfos RecipientInfos,
//!   authEncryptedContentInfo EncryptedContentInfo,
//!   authAttrs [1] IMPLICIT AuthAttributes OPTIONAL,
//!   mac MessageAuthenticationCode,              -- the AEAD tag
//!   unauthAttrs [2] IMPLICIT UnauthAttributes OPTIONAL }
//! ```
//!
//! The content cipher decides: CBC ciphers make EnvelopedData, the AEAD
//! ciphers ([`ContentCipher::is_aead`]: AES-GCM, RFC 5084, and
//! ChaCha20-Poly1305, RFC 8103) AuthEnvelopedData, with a fresh 12-byte nonce
//! and a 16-byte tag.
//!
//! # Encoding
//!
//! [`EnvelopedDataEncoder`] wraps a fresh content-encryption key (CEK) for
//! every recipient up front, then encrypts content as it is written. With
//! [`EncryptOptions::content_len`] known, the output is DER with definite
//! lengths; otherwise it is BER with indefinite lengths and the ciphertext in
//! OCTET STRING chunks of at most `CHUNK` bytes, as `openssl cms -stream` does.
//! [`EnvelopedDataEncoder::new_with_auth_attrs`] adds the caller's
//! authenticated attributes to an AuthEnvelopedData (RFC 5083 §2.1), which
//! RFC 5083 requires when the inner content type is not id-data.
//!
//! # Decoding
//!
//! [`EnvelopedDataDecoder`] takes the message in chunks of any size. Each
//! recipient info is captured into the caller's scratch buffer on its own,
//! matched against the offered keys (a key history: old keys after a renewal
//! are offered beside the current one), and the first match is unwrapped
//! through the key backend. Then the content is decrypted as it arrives and
//! written to the sink.
//!
//! Following RFC 3218, a failed unwrap does not stop the decoder: it carries
//! on with a random CEK and ends in the one uniform
//! [`ErrorKind::DecryptionFailed`], the same error as bad content padding. The
//! plaintext written to the sink is therefore only valid once
//! [`EnvelopedDataDecoder::finish`] returns `Ok`.
//!
//! The same decoder takes AuthEnvelopedData. Its content is decrypted and
//! written as it arrives too, **unauthenticated until
//! [`EnvelopedDataDecoder::finish`] returns `Ok`**: the tag comes at the end
//! of the message, and `finish` gives [`ErrorKind::DecryptionFailed`] when it
//! does not verify (for any reason: wrong key, altered ciphertext, nonce,
//! tag or attributes). The authenticated attributes come after the content
//! too; with AES-GCM they are added to the tag late (GHASH is linear), with
//! ChaCha20-Poly1305 that is impossible and such a message gives
//! [`ErrorKind::AuthAttrsNeedTwoPass`]. [`DecryptReport::authenticated`] says
//! whether the content was authenticated.
//!
//! [`decrypt_authenticated`] is the two-pass mode for a message held whole
//! in memory or flash: it checks the tag before writing anything, so a
//! caller never sees unauthenticated plaintext.
//!
//! # Memory
//!
//! The encoder holds a `CHUNK`-byte ciphertext buffer (default
//! [`DEFAULT_CHUNK`]); the decoder a `BUF`-byte plaintext buffer (default
//! [`DEFAULT_BUF`]) plus the caller's scratch, which must hold the largest
//! single recipient info ([`DEFAULT_SCRATCH_LEN`] fits RSA-4096 with a long
//! issuer name). Neither allocates; message size does not change memory use.
//! The AEAD state (AES key schedule, counter, GHASH or ChaCha20/Poly1305)
//! takes about 1.3 KB of the encoder's and decoder's own size.

use embedded_io::Write;
use rand_core::TryCryptoRng;
use zeroize::{Zeroize, Zeroizing};

use super::recipient::{
    ALG_ID_MAX, KeyTrans, RidOut, key_trans_alg_id, ktri_content_len, parse_key_trans_alg,
    parse_recipient_info,
};
use crate::agree::kari::{self, KdfAlg, KeyWrapAlg};
use crate::agree::kdf::KdfHash;
use crate::backend::{
    AgreementCurve, BackendError, BackendErrorKind, ErrorType, HashAlgorithm, KeyAgreement,
    KeyTransAlgorithm, KeyTransDecrypter, RecipientId,
};
use crate::ber::encode::{EOC, header, tlv_len};
use crate::ber::{Header, Length, SliceReader, Tag, Token, Tokenizer};
use crate::cipher::aead::{MIN_TAG_LEN, NONCE_LEN, TAG_LEN};
use crate::cipher::{
    AeadDecryptor, AeadEncryptor, CbcDecryptor, CbcEncryptor, ContentCipher, MAX_BLOCK_LEN,
    MAX_KEY_LEN, Policy,
};
use crate::error::{AlgorithmName, Error, ErrorKind, Result, io_err};
use crate::oid;
use crate::x509::{CertificateRef, KeyUsage};

/// Default ciphertext chunk of the encoder, in bytes.
pub const DEFAULT_CHUNK: usize = 2048;
/// Default plaintext buffer of the decoder, in bytes.
pub const DEFAULT_BUF: usize = 2048;
/// A scratch size that holds any RSA-4096 recipient info with a long issuer.
pub const DEFAULT_SCRATCH_LEN: usize = 2048;
/// Largest RSA modulus supported, in bytes (4096 bits).
pub const MAX_RSA_LEN: usize = 512;
/// Longest content-type OID kept in a [`DecryptReport`].
pub const MAX_OID_LEN: usize = 32;

fn rng_fill<R: TryCryptoRng + ?Sized>(rng: &mut R, buf: &mut [u8]) -> Result<()> {
    rng.try_fill_bytes(buf).map_err(|_| Error::new(ErrorKind::Rng))
}

fn put<W: Write>(sink: &mut W, bytes: &[u8]) -> Result<()> {
    sink.write_all(bytes).map_err(io_err)
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// How a recipient is named in its recipient info.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RecipientIdKind {
    /// By the certificate's issuer and serial number (version 0; every client
    /// understands it).
    #[default]
    IssuerAndSerial,
    /// By the certificate's subject key identifier (version 2).
    SubjectKeyId,
}

/// The key-transport algorithm for a recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyTransport {
    /// RSAES-PKCS1-v1_5 (what most clients send).
    #[default]
    RsaPkcs1v15,
    /// RSAES-OAEP with MGF1 over the same hash and an empty label (RFC 3560).
    RsaOaep(HashAlgorithm),
}

impl KeyTransport {
    fn algorithm(self) -> KeyTransAlgorithm<'static> {
        match self {
            Self::RsaPkcs1v15 => KeyTransAlgorithm::RsaPkcs1v15,
            Self::RsaOaep(h) => KeyTransAlgorithm::RsaOaep { hash: h, mgf_hash: h, label: &[] },
        }
    }
}

/// A recipient: a certificate and how to address and encrypt to it.
#[derive(Clone, Copy, Debug)]
pub struct Recipient<'a> {
    /// The recipient's certificate.
    pub cert: CertificateRef<'a>,
    /// How the recipient info names it.
    pub id: RecipientIdKind,
    /// How the content-encryption key is wrapped for it.
    pub key_transport: KeyTransport,
}

impl<'a> Recipient<'a> {
    /// A recipient named by issuer and serial number, with PKCS#1 v1.5.
    pub fn new(cert: CertificateRef<'a>) -> Self {
        Self { cert, id: RecipientIdKind::IssuerAndSerial, key_transport: KeyTransport::RsaPkcs1v15 }
    }

    /// The checks [`EnvelopedDataEncoder::new`] makes for this recipient,
    /// on their own, so that a caller can say which recipient fails: an RSA
    /// key of at least `policy.min_rsa_bits` bits (and at most 4096), the
    /// keyEncipherment key usage unless the policy waives it, and a subject
    /// key identifier when the recipient is to be named by one; or a P-256,
    /// P-384 or X25519 key (ECDH, KeyAgreeRecipientInfo) with the
    /// keyAgreement key usage unless the policy waives it. Any other key is
    /// [`KeyUsageError::WrongKeyType`](crate::error::KeyUsageError::WrongKeyType).
    ///
    /// An ECDH recipient is always named by issuer and serial number, and
    /// its `key_transport` is not used.
    pub fn check(&self, policy: &Policy) -> Result<()> {
        prepare(self, policy, MAX_KEY_LEN).map(|_| ())
    }
}

/// Options for [`EnvelopedDataEncoder`].
#[derive(Clone, Copy, Debug)]
pub struct EncryptOptions<'a> {
    /// The content cipher (checked against `policy.produce`).
    pub cipher: ContentCipher,
    /// The algorithm policy.
    pub policy: Policy,
    /// The inner content type's OID content octets ([`oid::DATA`] by default).
    pub content_type: &'a [u8],
    /// The exact content length when known: the output then uses definite
    /// lengths (DER), and writing more or less than this is an error.
    pub content_len: Option<u64>,
}

impl Default for EncryptOptions<'_> {
    fn default() -> Self {
        Self {
            cipher: ContentCipher::Aes256Cbc,
            policy: Policy::DEFAULT,
            content_type: oid::DATA,
            content_len: None,
        }
    }
}

struct Prepared<'a> {
    rid: RidOut<'a>,
    alg: [u8; ALG_ID_MAX],
    alg_len: usize,
    key_len: usize,
    ktri_len: u64,
    /// An ECDH recipient: the key wrap and KDF of its KeyAgreeRecipientInfo.
    kari: Option<(KeyWrapAlg, KdfAlg)>,
}

/// The largest KeyAgreeRecipientInfo the encoder writes.
const KARI_MAX: usize = 2048;

/// Checks a recipient and sizes its recipient info for a CEK of `cek_len`
/// bytes.
fn prepare<'a>(r: &Recipient<'a>, policy: &Policy, cek_len: usize) -> Result<Prepared<'a>> {
    let Some(rsa) = r.cert.rsa_public_key() else {
        return prepare_kari(r, policy, cek_len);
    };
    if rsa.bits() < policy.min_rsa_bits {
        return Err(Error::new(ErrorKind::AlgorithmNotAllowed(AlgorithmName::RsaKeySize)));
    }
    if rsa.size() > MAX_RSA_LEN {
        return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
    }
    if policy.require_key_encipherment {
        r.cert.check_key_encipherment()?;
    }
    let rid = match r.id {
        RecipientIdKind::IssuerAndSerial => {
            RidOut::IssuerSerial { issuer: r.cert.issuer_der(), serial: r.cert.serial() }
        }
        RecipientIdKind::SubjectKeyId => RidOut::SubjectKeyId(
            r.cert.subject_key_id().ok_or(Error::new(ErrorKind::NoSubjectKeyId))?,
        ),
    };
    let mut alg = [0u8; ALG_ID_MAX];
    let alg_len = key_trans_alg_id(&r.key_transport.algorithm(), &mut alg)?;
    let key_len = rsa.size();
    let ktri_len = tlv_len(Tag::SEQUENCE, ktri_content_len(&rid, alg_len, key_len)?)?;
    Ok(Prepared { rid, alg, alg_len, key_len, ktri_len, kari: None })
}

/// [`prepare`] for an ECDH recipient: AES wrap of the CEK's size (AES-128
/// wrap for 16-byte keys, AES-256 wrap otherwise), the X9.63 KDF with
/// SHA-256 (P-256) or SHA-384 (P-384), HKDF-SHA-256 for X25519 (RFC 8418).
fn prepare_kari<'a>(r: &Recipient<'a>, policy: &Policy, cek_len: usize) -> Result<Prepared<'a>> {
    use crate::error::KeyUsageError;
    let wrap = if cek_len == 16 { KeyWrapAlg::Aes128 } else { KeyWrapAlg::Aes256 };
    let curve = match kari::kari_len(&r.cert, wrap, KdfAlg::X963(KdfHash::Sha256), cek_len) {
        Ok((_, curve)) => curve,
        Err(e) if e.kind() == ErrorKind::UnsupportedAlgorithm => {
            return Err(Error::new(ErrorKind::KeyUsage(KeyUsageError::WrongKeyType)));
        }
        Err(e) => return Err(e),
    };
    if policy.require_key_encipherment
        && r.cert.key_usage().is_some_and(|ku| !ku.contains(KeyUsage::KEY_AGREEMENT))
    {
        return Err(Error::new(ErrorKind::KeyUsage(KeyUsageError::KeyAgreementNotAllowed)));
    }
    let kdf = match curve {
        AgreementCurve::P384 => KdfAlg::X963(KdfHash::Sha384),
        // RFC 8418 §2 and RFC 8551 §2.7: X25519 with HKDF-SHA-256.
        AgreementCurve::X25519 => KdfAlg::Hkdf(KdfHash::Sha256),
        _ => KdfAlg::X963(KdfHash::Sha256),
    };
    let (len, _) = kari::kari_len(&r.cert, wrap, kdf, cek_len)?;
    if len > KARI_MAX {
        return Err(Error::new(ErrorKind::BufferTooSmall { required: len }));
    }
    Ok(Prepared {
        rid: RidOut::IssuerSerial { issuer: r.cert.issuer_der(), serial: r.cert.serial() },
        alg: [0; ALG_ID_MAX],
        alg_len: 0,
        key_len: 0,
        ktri_len: len as u64,
        kari: Some((wrap, kdf)),
    })
}

/// Streaming EnvelopedData encoder: content in, ContentInfo out.
///
/// `CHUNK` is the ciphertext buffer (at least 64 bytes). `'a` is the
/// lifetime of the authenticated attributes given to
/// [`new_with_auth_attrs`](Self::new_with_auth_attrs) (unconstrained
/// otherwise).
pub struct EnvelopedDataEncoder<'a, W: Write, const CHUNK: usize = DEFAULT_CHUNK> {
    sink: W,
    enc: ContentEnc,
    buf: [u8; CHUNK],
    len: usize,
    /// Content still expected in definite-length mode.
    remaining: Option<u64>,
    /// AuthEnvelopedData's authAttrs, DER with the SET OF tag; written as
    /// `[1] IMPLICIT` after the content.
    auth_attrs: Option<&'a [u8]>,
    poisoned: bool,
}

/// Checks caller-supplied authenticated attributes: one DER `SET SIZE
/// (1..MAX) OF Attribute` (RFC 5083 §2.1), definite lengths, every
/// `Attribute ::= SEQUENCE { attrType OID, attrValues SET SIZE (1..MAX) }`,
/// the elements in DER order.
fn check_auth_attrs(attrs: &[u8]) -> Result<()> {
    let set = read_whole(attrs)?.expect(Tag::SET)?;
    if set.indefinite {
        return Err(Error::new(ErrorKind::InvalidEncoding));
    }
    let mut r = set.reader();
    let mut prev: Option<&[u8]> = None;
    while let Some(a) = r.next_tlv()? {
        let a = a.expect(Tag::SEQUENCE)?;
        if a.indefinite {
            return Err(Error::new(ErrorKind::InvalidEncoding));
        }
        let mut ar = a.reader();
        let ty = ar.read_expect(Tag::OID)?;
        let values = ar.read_expect(Tag::SET)?;
        ar.finish()?;
        if ty.value.is_empty() || values.value.is_empty() || values.indefinite {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        // DER orders a SET OF by the elements' encodings (X.690 §11.6).
        if prev.is_some_and(|p| p > a.raw) {
            return Err(Error::new(ErrorKind::InvalidEncoding));
        }
        prev = Some(a.raw);
    }
    if prev.is_none() {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    Ok(())
}

impl<'a, W: Write, const CHUNK: usize> EnvelopedDataEncoder<'a, W, CHUNK> {
    const CHUNK_OK: () = assert!(CHUNK >= 64, "CHUNK must be at least 64 bytes");

    /// Checks the recipients against the policy, makes a fresh CEK and IV,
    /// wraps the CEK for every recipient and writes everything up to the
    /// encrypted content.
    ///
    /// With an AEAD cipher and an inner content type other than id-data,
    /// RFC 5083 §2.1 requires authenticated attributes: use
    /// [`new_with_auth_attrs`](Self::new_with_auth_attrs); this gives
    /// [`ErrorKind::InvalidValue`].
    pub fn new<R: TryCryptoRng + ?Sized>(
        sink: W,
        recipients: &[Recipient<'_>],
        options: &EncryptOptions<'_>,
        rng: &mut R,
    ) -> Result<Self> {
        Self::new_inner(sink, recipients, options, None, rng)
    }

    /// Like [`new`](Self::new), for AuthEnvelopedData with the caller's
    /// authenticated attributes (RFC 5083 §2.1): `auth_attrs` is the DER of
    /// a `SET OF Attribute` with its SET OF tag (`0x31`), as it is given to
    /// the AEAD as associated data (RFC 5083 §2.2); the message carries it
    /// as `authAttrs [1] IMPLICIT`, after the content. The attributes are
    /// kept by reference until [`finish`](Self::finish) writes them.
    ///
    /// Errors: [`ErrorKind::InvalidValue`] with a CBC cipher (EnvelopedData
    /// has no authenticated attributes) or an empty set;
    /// [`ErrorKind::InvalidEncoding`] or a parse error for attributes that
    /// are not one DER `SET OF Attribute` in DER order.
    pub fn new_with_auth_attrs<R: TryCryptoRng + ?Sized>(
        sink: W,
        recipients: &[Recipient<'_>],
        options: &EncryptOptions<'_>,
        auth_attrs: &'a [u8],
        rng: &mut R,
    ) -> Result<Self> {
        if !options.cipher.is_aead() {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        check_auth_attrs(auth_attrs)?;
        Self::new_inner(sink, recipients, options, Some(auth_attrs), rng)
    }

    fn new_inner<R: TryCryptoRng + ?Sized>(
        mut sink: W,
        recipients: &[Recipient<'_>],
        options: &EncryptOptions<'_>,
        auth_attrs: Option<&'a [u8]>,
        rng: &mut R,
    ) -> Result<Self> {
        let () = Self::CHUNK_OK;
        let cipher = options.cipher;
        options.policy.check_produce(cipher)?;
        if recipients.is_empty() {
            return Err(Error::new(ErrorKind::NoRecipients));
        }
        if options.content_type.is_empty() || options.content_type.len() > MAX_OID_LEN {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        // RFC 5083 §2.1: "The authAttrs MUST be present if the content type
        // carried in EncryptedContentInfo is not id-data."
        if cipher.is_aead() && options.content_type != oid::DATA && auth_attrs.is_none() {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        // Validate every recipient before anything is written.
        let mut set_len: u64 = 0;
        let mut v2 = false;
        for r in recipients {
            let p = prepare(r, &options.policy, cipher.key_len())?;
            set_len = set_len.checked_add(p.ktri_len).ok_or(Error::new(ErrorKind::LengthOverflow))?;
            // Version 2 with a subject key identifier or any
            // KeyAgreeRecipientInfo (RFC 5652 §6.1).
            v2 |= matches!(p.rid, RidOut::SubjectKeyId(_)) || p.kari.is_some();
        }

        let mut cek = Zeroizing::new([0u8; MAX_KEY_LEN]);
        let cek = &mut cek[..cipher.key_len()];
        rng_fill(rng, cek)?;
        // The CBC IV or the AEAD nonce.
        let mut iv = [0u8; MAX_BLOCK_LEN];
        let iv = &mut iv[..cipher.nonce_len()];
        rng_fill(rng, iv)?;
        let aead = cipher.is_aead();
        let enc = if aead {
            // RFC 5083 §2.2: the authAttrs' DER with the SET OF tag, or
            // nothing, is the associated data.
            ContentEnc::Aead(AeadEncryptor::new(cipher, cek, iv, auth_attrs.unwrap_or(&[]))?)
        } else {
            ContentEnc::Cbc(CbcEncryptor::new(cipher, cek, iv)?)
        };

        // Lengths of the parts before the content. AuthEnvelopedData is
        // always version 0 (RFC 5083 §2.1).
        let version: u8 = if v2 && !aead { 2 } else { 0 };
        let outer_type = if aead { oid::AUTH_ENVELOPED_DATA } else { oid::ENVELOPED_DATA };
        let ct = options.content_type;
        let params_len = match cipher {
            // GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING,
            //                              aes-ICVlen INTEGER DEFAULT 12 }
            ContentCipher::Aes128Gcm | ContentCipher::Aes192Gcm | ContentCipher::Aes256Gcm => {
                tlv_len(Tag::SEQUENCE, tlv_len(Tag::OCTET_STRING, iv.len() as u64)? + 3)?
            }
            _ => tlv_len(Tag::OCTET_STRING, iv.len() as u64)?,
        };
        let alg_content = tlv_len(Tag::OID, cipher.oid().len() as u64)? + params_len;
        let eci_prefix = tlv_len(Tag::OID, ct.len() as u64)? + tlv_len(Tag::SEQUENCE, alg_content)?;
        let set_tlv = tlv_len(Tag::SET, set_len)?;
        let mac_tlv = if aead { tlv_len(Tag::OCTET_STRING, TAG_LEN as u64)? } else { 0 };
        // `[1] IMPLICIT` has the length of the SET OF it replaces.
        let attrs_tlv = auth_attrs.map_or(0, |a| a.len() as u64);

        let definite = match options.content_len {
            Some(n) => {
                let ct_len = cipher.ciphertext_len(n).ok_or(Error::new(ErrorKind::LengthOverflow))?;
                let eci = eci_prefix + tlv_len(Tag::context(0, false), ct_len)?;
                let ed = 3 + set_tlv + tlv_len(Tag::SEQUENCE, eci)? + attrs_tlv + mac_tlv;
                let ed_tlv = tlv_len(Tag::SEQUENCE, ed)?;
                let ci = tlv_len(Tag::OID, outer_type.len() as u64)?
                    + tlv_len(Tag::context(0, true), ed_tlv)?;
                Some((ci, ed_tlv, ed, eci, ct_len))
            }
            None => None,
        };
        let l = |i: usize| definite.map(|d| [d.0, d.1, d.2, d.3, d.4][i]);

        put(&mut sink, header(Tag::SEQUENCE, l(0)).as_bytes())?;
        put(&mut sink, header(Tag::OID, Some(outer_type.len() as u64)).as_bytes())?;
        put(&mut sink, outer_type)?;
        put(&mut sink, header(Tag::context(0, true), l(1)).as_bytes())?;
        put(&mut sink, header(Tag::SEQUENCE, l(2)).as_bytes())?;
        put(&mut sink, &[0x02, 0x01, version])?;
        put(&mut sink, header(Tag::SET, Some(set_len)).as_bytes())?;
        for r in recipients {
            write_ktri(&mut sink, r, &options.policy, cek, rng)?;
        }
        put(&mut sink, header(Tag::SEQUENCE, l(3)).as_bytes())?;
        put(&mut sink, header(Tag::OID, Some(ct.len() as u64)).as_bytes())?;
        put(&mut sink, ct)?;
        put(&mut sink, header(Tag::SEQUENCE, Some(alg_content)).as_bytes())?;
        put(&mut sink, header(Tag::OID, Some(cipher.oid().len() as u64)).as_bytes())?;
        put(&mut sink, cipher.oid())?;
        if matches!(
            cipher,
            ContentCipher::Aes128Gcm | ContentCipher::Aes192Gcm | ContentCipher::Aes256Gcm
        ) {
            let inner = tlv_len(Tag::OCTET_STRING, iv.len() as u64)? + 3;
            put(&mut sink, header(Tag::SEQUENCE, Some(inner)).as_bytes())?;
        }
        put(&mut sink, header(Tag::OCTET_STRING, Some(iv.len() as u64)).as_bytes())?;
        put(&mut sink, iv)?;
        if cipher.is_aead() && cipher != ContentCipher::ChaCha20Poly1305 {
            // aes-ICVlen: the full 16-byte tag, as OpenSSL writes it.
            put(&mut sink, &[0x02, 0x01, 16])?;
        }
        match l(4) {
            Some(ct_len) => put(&mut sink, header(Tag::context(0, false), Some(ct_len)).as_bytes())?,
            None => put(&mut sink, header(Tag::context(0, true), None).as_bytes())?,
        }
        Ok(Self {
            sink,
            enc,
            buf: [0; CHUNK],
            len: 0,
            remaining: options.content_len,
            auth_attrs,
            poisoned: false,
        })
    }

    fn flush_chunk(&mut self) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        if self.remaining.is_none() {
            put(&mut self.sink, header(Tag::OCTET_STRING, Some(self.len as u64)).as_bytes())?;
        }
        put(&mut self.sink, &self.buf[..self.len])?;
        self.len = 0;
        Ok(())
    }

    fn write_inner(&mut self, mut data: &[u8]) -> Result<()> {
        if let Some(rem) = self.remaining.as_mut() {
            let n = data.len() as u64;
            if n > *rem {
                return Err(Error::new(ErrorKind::InvalidState));
            }
            *rem -= n;
        }
        while !data.is_empty() {
            if CHUNK - self.len < 2 * MAX_BLOCK_LEN {
                self.flush_chunk()?;
            }
            let take = data.len().min(CHUNK - self.len - MAX_BLOCK_LEN);
            let n = self.enc.update(&data[..take], &mut self.buf[self.len..])?;
            self.len += n;
            data = &data[take..];
        }
        Ok(())
    }

    /// Encrypts and writes `data`.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.poisoned {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        let r = self.write_inner(data);
        self.poisoned = r.is_err();
        r
    }

    /// Pads, writes the last block and closes the structure. Returns the sink.
    pub fn finish(mut self) -> Result<W> {
        if self.poisoned || matches!(self.remaining, Some(r) if r != 0) {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        if CHUNK - self.len < MAX_BLOCK_LEN {
            self.flush_chunk()?;
        }
        let Self { mut sink, enc, mut buf, len, remaining, auth_attrs, .. } = self;
        let enc = match enc {
            ContentEnc::Cbc(enc) => enc,
            ContentEnc::Aead(enc) => {
                let indefinite = remaining.is_none();
                if indefinite && len > 0 {
                    put(&mut sink, header(Tag::OCTET_STRING, Some(len as u64)).as_bytes())?;
                }
                put(&mut sink, &buf[..len])?;
                let tag = enc.finish()?;
                if indefinite {
                    // [0] content, EncryptedContentInfo.
                    put(&mut sink, &EOC)?;
                    put(&mut sink, &EOC)?;
                }
                if let Some(attrs) = auth_attrs {
                    // authAttrs [1] IMPLICIT: the SET OF with its tag
                    // replaced (checked as one DER SET in `new`).
                    put(&mut sink, &[Tag::context(1, true).first_octet()])?;
                    put(&mut sink, attrs.get(1..).unwrap_or(&[]))?;
                }
                put(&mut sink, header(Tag::OCTET_STRING, Some(TAG_LEN as u64)).as_bytes())?;
                put(&mut sink, &tag[..])?;
                if indefinite {
                    // AuthEnvelopedData, [0] explicit, ContentInfo.
                    for _ in 0..3 {
                        put(&mut sink, &EOC)?;
                    }
                }
                sink.flush().map_err(io_err)?;
                return Ok(sink);
            }
        };
        let n = enc.finish(&mut buf[len..])?;
        let total = len + n;
        if remaining.is_none() {
            put(&mut sink, header(Tag::OCTET_STRING, Some(total as u64)).as_bytes())?;
            put(&mut sink, &buf[..total])?;
            // [0] content, EncryptedContentInfo, EnvelopedData, [0] explicit, ContentInfo.
            for _ in 0..5 {
                put(&mut sink, &EOC)?;
            }
        } else {
            put(&mut sink, &buf[..total])?;
        }
        sink.flush().map_err(io_err)?;
        Ok(sink)
    }
}

/// The encoder's content cipher.
// No heap to box into: the larger variant is the price of one enum.
#[allow(clippy::large_enum_variant)]
enum ContentEnc {
    Cbc(CbcEncryptor),
    Aead(AeadEncryptor),
}

impl ContentEnc {
    fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        match self {
            Self::Cbc(e) => e.update(input, out),
            Self::Aead(e) => e.update(input, out),
        }
    }
}

fn write_ktri<W: Write, R: TryCryptoRng + ?Sized>(
    sink: &mut W,
    r: &Recipient<'_>,
    policy: &Policy,
    cek: &[u8],
    rng: &mut R,
) -> Result<()> {
    let p = prepare(r, policy, cek.len())?;
    if let Some((wrap, kdf)) = p.kari {
        let mut buf = [0u8; KARI_MAX];
        let mut rng = &mut *rng;
        let n = kari::build_kari(&r.cert, wrap, kdf, cek, &mut rng, &mut buf)?;
        if n as u64 != p.ktri_len {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        return put(sink, &buf[..n]);
    }
    let rsa = r.cert.rsa_public_key().ok_or(Error::new(ErrorKind::InvalidCertificate))?;
    let mut ek = Zeroizing::new([0u8; MAX_RSA_LEN]);
    let ek = &mut ek[..p.key_len];
    let n = match r.key_transport {
        KeyTransport::RsaPkcs1v15 => rsa.encrypt_pkcs1v15(rng, cek, ek)?,
        KeyTransport::RsaOaep(h) => rsa.encrypt_oaep(rng, h, h, &[], cek, ek)?,
    };
    if n != p.key_len {
        return Err(Error::new(ErrorKind::InvalidKey));
    }
    let content = ktri_content_len(&p.rid, p.alg_len, p.key_len)?;
    put(sink, header(Tag::SEQUENCE, Some(content)).as_bytes())?;
    match p.rid {
        RidOut::IssuerSerial { issuer, serial } => {
            put(sink, &[0x02, 0x01, 0x00])?;
            let inner = issuer.len() as u64 + tlv_len(Tag::INTEGER, serial.len() as u64)?;
            put(sink, header(Tag::SEQUENCE, Some(inner)).as_bytes())?;
            put(sink, issuer)?;
            put(sink, header(Tag::INTEGER, Some(serial.len() as u64)).as_bytes())?;
            put(sink, serial)?;
        }
        RidOut::SubjectKeyId(ski) => {
            put(sink, &[0x02, 0x01, 0x02])?;
            put(sink, header(Tag::context(0, false), Some(ski.len() as u64)).as_bytes())?;
            put(sink, ski)?;
        }
    }
    put(sink, &p.alg[..p.alg_len])?;
    put(sink, header(Tag::OCTET_STRING, Some(p.key_len as u64)).as_bytes())?;
    put(sink, ek)
}

impl<W: Write, const CHUNK: usize> embedded_io::ErrorType for EnvelopedDataEncoder<'_, W, CHUNK> {
    type Error = Error;
}

impl<W: Write, const CHUNK: usize> embedded_io::Write for EnvelopedDataEncoder<'_, W, CHUNK> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        EnvelopedDataEncoder::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// Options for [`EnvelopedDataDecoder`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DecryptOptions {
    /// The algorithm policy (`accept` is used).
    pub policy: Policy,
}

/// What a successful decryption found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecryptReport {
    /// The content cipher.
    pub cipher: ContentCipher,
    /// Index (in the offered keys) of the key that unwrapped the CEK.
    pub key_index: usize,
    /// Number of recipient infos in the message (of all kinds).
    pub recipient_count: usize,
    /// The EnvelopedData (or AuthEnvelopedData) version.
    pub version: u32,
    /// Whether the content was authenticated: an AuthEnvelopedData whose
    /// AEAD tag verified. `false` for EnvelopedData (CBC), whose content is
    /// malleable (RFC 8551 §6).
    pub authenticated: bool,
    content_type: [u8; MAX_OID_LEN],
    content_type_len: usize,
}

impl DecryptReport {
    /// The inner content type's OID content octets.
    pub fn content_type(&self) -> &[u8] {
        &self.content_type[..self.content_type_len]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    ContentInfo,
    ContentType,
    Explicit,
    EnvelopedData,
    Version,
    Recipients,
    InRecipients,
    Eci,
    InnerType,
    ContentAlg,
    Content,
    EciEnd,
    Unprotected,
    /// AuthEnvelopedData after the EncryptedContentInfo: authAttrs [1] or mac.
    AuthAttrs,
    /// Capturing authAttrs.
    InAuthAttrs,
    /// Expecting the mac.
    Mac,
    /// Capturing the mac.
    InMac,
    /// After the mac: unauthAttrs [2] or the end.
    Unauth,
    EdEnd,
    ExplicitEnd,
    ContentInfoEnd,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Normal,
    /// Skipping the element opened at this depth.
    Skip(usize),
    /// Capturing the element opened at this depth into scratch.
    Capture(usize),
    /// Inside the encrypted content opened at this depth.
    Content(usize),
}

/// Streaming EnvelopedData decoder: ContentInfo in, content out.
///
/// `keys` are the offered private keys (current and older ones); `scratch`
/// holds one recipient info at a time; `BUF` is the plaintext buffer.
pub struct EnvelopedDataDecoder<'k, 's, D, R, W, const BUF: usize = DEFAULT_BUF>
where
    D: KeyTransDecrypter,
    R: TryCryptoRng,
    W: Write,
{
    sink: W,
    keys: &'k mut [D],
    rng: R,
    scratch: &'s mut [u8],
    cap_len: usize,
    policy: Policy,
    tok: Tokenizer,
    state: State,
    mode: Mode,
    version: u32,
    recipients: usize,
    cek: Zeroizing<[u8; MAX_KEY_LEN]>,
    cek_len: usize,
    key_index: Option<usize>,
    unwrap_failed: bool,
    unsupported_match: bool,
    candidates: Zeroizing<[Candidate; MAX_CANDIDATES]>,
    dec: Option<CbcDecryptor>,
    aead: Option<AeadDecryptor>,
    cipher: Option<ContentCipher>,
    rfc3218_failed: bool,
    /// The message is an AuthEnvelopedData.
    auth: bool,
    /// The AEAD tag verified.
    auth_ok: bool,
    nonce: [u8; NONCE_LEN],
    icv_len: usize,
    tag: [u8; TAG_LEN],
    /// First pass of [`decrypt_authenticated`]: nothing is decrypted; the
    /// positions of the content and the authAttrs are noted.
    scan: bool,
    /// Stream offset after the last token.
    pos: u64,
    content_range: (u64, u64),
    auth_attrs_range: Option<(u64, u64)>,
    content_type: [u8; MAX_OID_LEN],
    content_type_len: usize,
    out: [u8; BUF],
    poisoned: bool,
}

impl<'k, 's, D, R, W, const BUF: usize> EnvelopedDataDecoder<'k, 's, D, R, W, BUF>
where
    D: KeyTransDecrypter,
    R: TryCryptoRng,
    W: Write,
{
    const BUF_OK: () = assert!(BUF >= 64, "BUF must be at least 64 bytes");

    /// A decoder writing the content to `sink`.
    pub fn new(
        sink: W,
        keys: &'k mut [D],
        rng: R,
        scratch: &'s mut [u8],
        options: DecryptOptions,
    ) -> Self {
        let () = Self::BUF_OK;
        Self {
            sink,
            keys,
            rng,
            scratch,
            cap_len: 0,
            policy: options.policy,
            tok: Tokenizer::new(),
            state: State::ContentInfo,
            mode: Mode::Normal,
            version: 0,
            recipients: 0,
            cek: Zeroizing::new([0; MAX_KEY_LEN]),
            cek_len: 0,
            key_index: None,
            unwrap_failed: false,
            unsupported_match: false,
            candidates: Zeroizing::new([Candidate::EMPTY; MAX_CANDIDATES]),
            dec: None,
            aead: None,
            cipher: None,
            rfc3218_failed: false,
            auth: false,
            auth_ok: false,
            nonce: [0; NONCE_LEN],
            icv_len: 0,
            tag: [0; TAG_LEN],
            scan: false,
            pos: 0,
            content_range: (0, 0),
            auth_attrs_range: None,
            content_type: [0; MAX_OID_LEN],
            content_type_len: 0,
            out: [0; BUF],
            poisoned: false,
        }
    }

    /// Feeds the next part of the message (any size). Writes decrypted
    /// content to the sink as it goes.
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
            let (n, tok) = self.tok.next(&data[pos..])?;
            pos += n;
            self.pos = self.tok.offset();
            match tok {
                None => return Ok(()),
                Some(t) => self.on_token(t).map_err(|e| e.or_at(at))?,
            }
        }
    }

    /// Checks that the message was complete and every check passed; returns
    /// the sink and a report. Only now is the written content valid.
    pub fn finish(mut self) -> Result<(W, DecryptReport)> {
        if self.poisoned {
            return Err(Error::new(ErrorKind::InvalidState));
        }
        self.tok.finish()?;
        if self.state != State::Done {
            return Err(Error::at(ErrorKind::Truncated, self.tok.offset()));
        }
        let (Some(cipher), Some(key_index)) = (self.cipher, self.key_index) else {
            return Err(Error::new(ErrorKind::DecryptionFailed));
        };
        if self.auth && !self.scan && (!self.auth_ok || self.rfc3218_failed) {
            return Err(Error::new(ErrorKind::DecryptionFailed));
        }
        self.sink.flush().map_err(io_err)?;
        Ok((
            self.sink,
            DecryptReport {
                cipher,
                key_index,
                recipient_count: self.recipients,
                version: self.version,
                authenticated: self.auth && self.auth_ok,
                content_type: self.content_type,
                content_type_len: self.content_type_len,
            },
        ))
    }

    fn on_token(&mut self, t: Token<'_>) -> Result<()> {
        match self.mode {
            Mode::Skip(d) => {
                if let Token::End(e) = t
                    && e.depth == d
                {
                    self.mode = Mode::Normal;
                }
                Ok(())
            }
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
                Token::Data(b) => self.decrypt(b),
                Token::End(e) => {
                    if e.depth == d {
                        self.mode = Mode::Normal;
                        self.content_range.1 = self.pos;
                        self.end_content()?;
                        self.state = State::EciEnd;
                    }
                    Ok(())
                }
            },
            Mode::Normal => match t {
                Token::Start(h) => self.on_start(&h),
                Token::End(_) => self.on_end(),
                // Data outside any mode would be a primitive we did not capture.
                Token::Data(_) => Err(Error::new(ErrorKind::InvalidEncoding)),
            },
        }
    }

    fn begin_capture(&mut self, h: &Header) -> Result<()> {
        self.cap_len = 0;
        if let Length::Definite(n) = h.length {
            let need = (h.raw().len() as u64).saturating_add(n);
            if need > self.scratch.len() as u64 {
                return Err(Error::new(ErrorKind::BufferTooSmall {
                    required: usize::try_from(need).unwrap_or(usize::MAX),
                }));
            }
        }
        self.mode = Mode::Capture(h.depth);
        self.capture(h.raw())
    }

    fn capture(&mut self, b: &[u8]) -> Result<()> {
        let end = self.cap_len + b.len();
        let Some(dst) = self.scratch.get_mut(self.cap_len..end) else {
            return Err(Error::new(ErrorKind::CapacityExceeded));
        };
        dst.copy_from_slice(b);
        self.cap_len = end;
        Ok(())
    }

    fn on_start(&mut self, h: &Header) -> Result<()> {
        match self.state {
            State::ContentInfo => {
                expect(h, Tag::SEQUENCE)?;
                self.state = State::ContentType;
                Ok(())
            }
            State::ContentType | State::InnerType | State::Version => {
                expect(h, if self.state == State::Version { Tag::INTEGER } else { Tag::OID })?;
                self.begin_capture(h)
            }
            State::Explicit => {
                expect(h, Tag::context(0, true))?;
                self.state = State::EnvelopedData;
                Ok(())
            }
            State::EnvelopedData => {
                expect(h, Tag::SEQUENCE)?;
                self.state = State::Version;
                Ok(())
            }
            State::Recipients => {
                if h.tag == Tag::context(0, true) {
                    // originatorInfo: certificates and CRLs, not needed here.
                    self.mode = Mode::Skip(h.depth);
                    return Ok(());
                }
                expect(h, Tag::SET)?;
                self.state = State::InRecipients;
                Ok(())
            }
            State::InRecipients => {
                self.recipients += 1;
                self.begin_capture(h)
            }
            State::Eci => {
                expect(h, Tag::SEQUENCE)?;
                self.state = State::InnerType;
                Ok(())
            }
            State::ContentAlg => {
                expect(h, Tag::SEQUENCE)?;
                self.begin_capture(h)
            }
            State::Content => {
                if !h.tag.same_type(&Tag::context(0, false)) {
                    return Err(unexpected(Tag::context(0, false), h));
                }
                self.mode = Mode::Content(h.depth);
                self.content_range.0 = self.pos - h.raw().len() as u64;
                Ok(())
            }
            State::AuthAttrs if h.tag == Tag::context(1, true) => {
                self.state = State::InAuthAttrs;
                self.begin_capture(h)
            }
            State::AuthAttrs | State::Mac => {
                expect(h, Tag::OCTET_STRING)?;
                self.state = State::InMac;
                self.begin_capture(h)
            }
            State::Unauth => {
                expect(h, Tag::context(2, true))?;
                self.mode = Mode::Skip(h.depth);
                self.state = State::EdEnd;
                Ok(())
            }
            State::Unprotected => {
                expect(h, Tag::context(1, true))?;
                self.mode = Mode::Skip(h.depth);
                self.state = State::EdEnd;
                Ok(())
            }
            State::EciEnd
            | State::EdEnd
            | State::ExplicitEnd
            | State::ContentInfoEnd
            | State::InAuthAttrs
            | State::InMac
            | State::Done => {
                Err(Error::new(ErrorKind::InvalidValue))
            }
        }
    }

    fn on_end(&mut self) -> Result<()> {
        self.state = match self.state {
            State::InRecipients => {
                self.end_recipients()?;
                State::Eci
            }
            // encryptedContent absent: the content is detached.
            State::Content => return Err(Error::new(ErrorKind::DetachedContent)),
            State::EciEnd if self.auth => State::AuthAttrs,
            State::EciEnd => State::Unprotected,
            // The EnvelopedData closed (after or without unprotectedAttrs).
            State::Unprotected | State::EdEnd | State::Unauth => State::ExplicitEnd,
            State::ExplicitEnd => State::ContentInfoEnd,
            State::ContentInfoEnd => State::Done,
            _ => return Err(Error::new(ErrorKind::InvalidValue)),
        };
        Ok(())
    }

    fn on_captured(&mut self) -> Result<()> {
        let len = self.cap_len;
        match self.state {
            State::ContentType => {
                let tlv = read_whole(&self.scratch[..len])?;
                if tlv.value == oid::AUTH_ENVELOPED_DATA {
                    self.auth = true;
                } else if tlv.value != oid::ENVELOPED_DATA || self.scan {
                    return Err(Error::new(ErrorKind::UnexpectedContentType));
                }
                self.state = State::Explicit;
            }
            State::Version => {
                let v = read_whole(&self.scratch[..len])?.small_uint()?;
                if v > 4 {
                    return Err(Error::new(ErrorKind::InvalidValue));
                }
                self.version = v;
                self.state = State::Recipients;
            }
            State::InRecipients => self.on_recipient()?,
            State::InnerType => {
                let tlv = read_whole(&self.scratch[..len])?;
                if tlv.value.is_empty() || tlv.value.len() > MAX_OID_LEN {
                    return Err(Error::new(ErrorKind::InvalidValue));
                }
                self.content_type[..tlv.value.len()].copy_from_slice(tlv.value);
                self.content_type_len = tlv.value.len();
                self.state = State::ContentAlg;
            }
            State::ContentAlg => {
                self.start_cipher()?;
                self.state = State::Content;
            }
            State::InAuthAttrs => {
                self.on_auth_attrs()?;
                self.state = State::Mac;
            }
            State::InMac => {
                self.on_mac()?;
                self.state = State::Unauth;
            }
            _ => return Err(Error::new(ErrorKind::InvalidState)),
        }
        Ok(())
    }

    /// Matches one captured recipient info against the keys. A key whose
    /// certificate names the recipient unwraps the CEK and settles it. A key
    /// without certificate is tried on every key-transport recipient info
    /// (trial decryption); its results are kept as candidates until the
    /// content cipher, and with it the CEK length, is known, because a
    /// backend with implicit rejection (RFC 8017 bis) returns a synthetic key
    /// instead of an error for a recipient info that is not its own.
    ///
    /// KeyAgreeRecipientInfo (`[1]`) and KEKRecipientInfo (`[2]`) are opened
    /// by the keys that answer `agreement_curve()` and `kek()`; AES key
    /// wrap's integrity check tells a right key, so a success settles the
    /// CEK and a failed unwrap is hidden as RFC 3218 says.
    fn on_recipient(&mut self) -> Result<()> {
        let ri = &self.scratch[..self.cap_len];
        let kind = ri.first().copied().unwrap_or(0);
        if (kind == 0xA1 || kind == 0xA2) && self.key_index.is_none() {
            for (i, key) in self.keys.iter_mut().enumerate() {
                let mut cek = Zeroizing::new([0u8; crate::agree::keywrap::MAX_KEY_LEN]);
                let r = if kind == 0xA1 {
                    let Some(curve) = key.agreement_curve() else { continue };
                    crate::agree::kari::unwrap_cek(ri, &mut Agree { key, curve }, &mut cek[..])
                } else {
                    let Some((id, kek)) = key.kek() else { continue };
                    crate::agree::kekri::unwrap_cek(ri, id, kek, &mut cek[..])
                };
                match r {
                    Ok(n) if n > 0 && n <= MAX_KEY_LEN => {
                        self.cek[..n].copy_from_slice(&cek[..n]);
                        self.cek_len = n;
                        self.key_index = Some(i);
                        return Ok(());
                    }
                    // RFC 3218: remember, say nothing yet, try any other key.
                    Ok(_) => self.unwrap_failed = true,
                    Err(e) => match e.kind() {
                        ErrorKind::NoMatchingRecipient
                        | ErrorKind::UnsupportedAlgorithm
                        | ErrorKind::Backend(BackendErrorKind::UnsupportedAlgorithm) => {}
                        ErrorKind::DecryptionFailed
                        | ErrorKind::Backend(
                            BackendErrorKind::DecryptionFailed | BackendErrorKind::BufferTooSmall,
                        ) => self.unwrap_failed = true,
                        _ => return Err(e),
                    },
                }
            }
            return Ok(());
        }
        let Some(kt) = parse_recipient_info(ri)? else {
            return Ok(()); // another recipient-info kind
        };
        if self.key_index.is_some() {
            return Ok(());
        }
        for (i, key) in self.keys.iter_mut().enumerate() {
            if key.agreement_curve().is_some() || key.kek().is_some() {
                continue; // not a key-transport key
            }
            let by_id = match key.recipient_id() {
                Some(id) => {
                    if !kt.rid.matches(&id) {
                        continue;
                    }
                    true
                }
                None => false,
            };
            let alg = match parse_key_trans_alg(kt.alg) {
                Ok(a) => a,
                Err(e) if e.kind() == ErrorKind::UnsupportedAlgorithm => {
                    self.unsupported_match = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut cek = Zeroizing::new([0u8; MAX_KEY_LEN]);
            match unwrap_with(key, &alg, &kt, &mut cek)? {
                Some(n) if by_id => {
                    self.cek[..n].copy_from_slice(&cek[..n]);
                    self.cek_len = n;
                    self.key_index = Some(i);
                    return Ok(());
                }
                Some(n) => {
                    if let Some(slot) = self.candidates.iter_mut().find(|c| c.len == 0) {
                        slot.key[..n].copy_from_slice(&cek[..n]);
                        slot.len = n;
                        slot.index = i;
                    }
                    self.unwrap_failed = true;
                }
                // RFC 3218: remember, say nothing yet, try any other match.
                None => self.unwrap_failed = true,
            }
        }
        Ok(())
    }

    fn end_recipients(&mut self) -> Result<()> {
        if self.key_index.is_some() || self.unwrap_failed {
            return Ok(());
        }
        if self.unsupported_match {
            return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
        }
        Err(Error::new(ErrorKind::NoMatchingRecipient))
    }

    fn start_cipher(&mut self) -> Result<()> {
        let tlv = read_whole(&self.scratch[..self.cap_len])?;
        let mut r = tlv.reader();
        let cipher = ContentCipher::from_oid(r.read_expect(Tag::OID)?.value)?;
        self.policy.check_accept(cipher)?;
        // AEAD ciphers only in AuthEnvelopedData (RFC 5084 §3, RFC 8103 §1),
        // and AuthEnvelopedData only with them.
        if cipher.is_aead() != self.auth {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        let mut iv_buf = [0u8; MAX_BLOCK_LEN];
        let iv_len = if cipher.is_aead() {
            let (nonce, icv) = parse_aead_params(cipher, &mut r)?;
            r.finish()?;
            self.nonce.copy_from_slice(nonce);
            self.icv_len = icv;
            NONCE_LEN
        } else {
            let iv = r.read_expect(Tag::OCTET_STRING)?.value;
            r.finish()?;
            if iv.len() != cipher.block_len() {
                return Err(Error::new(ErrorKind::InvalidValue));
            }
            iv_buf[..iv.len()].copy_from_slice(iv);
            iv.len()
        };
        if self.key_index.is_none()
            && let Some(c) = self.candidates.iter().find(|c| c.len == cipher.key_len())
        {
            self.cek[..c.len].copy_from_slice(&c.key[..c.len]);
            self.cek_len = c.len;
            self.key_index = Some(c.index);
        }
        for c in self.candidates.iter_mut() {
            *c = Candidate::EMPTY;
        }
        if self.key_index.is_none() || self.cek_len != cipher.key_len() {
            // RFC 3218: no usable CEK. Carry on with a random one so that
            // this path looks like any other until the uniform failure.
            rng_fill(&mut self.rng, &mut self.cek[..cipher.key_len()])?;
            self.cek_len = cipher.key_len();
            self.rfc3218_failed = true;
        }
        if cipher.is_aead() {
            self.aead = Some(AeadDecryptor::new(
                cipher,
                &self.cek[..self.cek_len],
                &self.nonce,
                &[],
            )?);
        } else {
            self.dec = Some(CbcDecryptor::new(cipher, &self.cek[..self.cek_len], &iv_buf[..iv_len])?);
        }
        self.cipher = Some(cipher);
        Ok(())
    }

    fn decrypt(&mut self, mut data: &[u8]) -> Result<()> {
        if self.scan {
            return Ok(());
        }
        if let Some(aead) = self.aead.as_mut() {
            while !data.is_empty() {
                let take = data.len().min(BUF);
                let n = aead.update(&data[..take], &mut self.out)?;
                put(&mut self.sink, &self.out[..n])?;
                data = &data[take..];
            }
            return Ok(());
        }
        let Some(dec) = self.dec.as_mut() else {
            return Err(Error::new(ErrorKind::InvalidState));
        };
        while !data.is_empty() {
            let take = data.len().min(BUF - MAX_BLOCK_LEN);
            let n = dec.update(&data[..take], &mut self.out)?;
            put(&mut self.sink, &self.out[..n])?;
            data = &data[take..];
        }
        Ok(())
    }

    fn end_content(&mut self) -> Result<()> {
        if self.auth {
            // The tag comes with the mac.
            return if self.aead.is_some() { Ok(()) } else { Err(Error::new(ErrorKind::InvalidState)) };
        }
        let Some(dec) = self.dec.take() else {
            return Err(Error::new(ErrorKind::InvalidState));
        };
        let last = dec.finish(&mut self.out);
        if self.rfc3218_failed {
            return Err(Error::new(ErrorKind::DecryptionFailed));
        }
        let n = last.map_err(|_| Error::new(ErrorKind::DecryptionFailed))?;
        put(&mut self.sink, &self.out[..n])
    }

    /// The authAttrs are in scratch. They are authenticated as associated
    /// data, DER with the SET OF tag (RFC 5083 §2.1), but come after the
    /// content: AES-GCM can add them late, ChaCha20-Poly1305 cannot.
    fn on_auth_attrs(&mut self) -> Result<()> {
        let len = self.cap_len;
        if self.scan {
            self.auth_attrs_range = Some((self.pos - len as u64, self.pos));
            return Ok(());
        }
        let Some(aead) = self.aead.as_mut() else {
            return Err(Error::new(ErrorKind::InvalidState));
        };
        match aead.add_late_aad(&[&[0x31], &self.scratch[1..len]]) {
            Err(e) if e.kind() == ErrorKind::UnsupportedAlgorithm => {
                Err(Error::new(ErrorKind::AuthAttrsNeedTwoPass))
            }
            r => r,
        }
    }

    fn on_mac(&mut self) -> Result<()> {
        let tlv = read_whole(&self.scratch[..self.cap_len])?;
        let mac = tlv.value;
        if mac.len() != self.icv_len {
            return Err(Error::new(ErrorKind::InvalidValue));
        }
        self.tag[..mac.len()].copy_from_slice(mac);
        if self.scan {
            return Ok(());
        }
        let Some(aead) = self.aead.take() else {
            return Err(Error::new(ErrorKind::InvalidState));
        };
        self.auth_ok = aead.finish(mac).is_ok() && !self.rfc3218_failed;
        Ok(())
    }
}

/// The nonce and tag length from an AEAD cipher's parameters, with the
/// cipher's OID read from `r` already.
fn parse_aead_params<'a>(
    cipher: ContentCipher,
    r: &mut SliceReader<'a>,
) -> Result<(&'a [u8], usize)> {
    let (nonce, icv) = if cipher == ContentCipher::ChaCha20Poly1305 {
        // AEADChaCha20Poly1305Nonce ::= OCTET STRING (SIZE(12))
        (r.read_expect(Tag::OCTET_STRING)?.value, TAG_LEN)
    } else {
        // GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING,
        //                              aes-ICVlen INTEGER DEFAULT 12 }
        let params = r.read_expect(Tag::SEQUENCE)?;
        let mut p = params.reader();
        let nonce = p.read_expect(Tag::OCTET_STRING)?.value;
        let icv = match p.read_optional(Tag::INTEGER)? {
            Some(t) => t.small_uint()? as usize,
            None => MIN_TAG_LEN,
        };
        p.finish()?;
        (nonce, icv)
    };
    // Other GCM nonce lengths are legal but refused, as OpenSSL does.
    if nonce.len() != NONCE_LEN {
        return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
    }
    if !(MIN_TAG_LEN..=TAG_LEN).contains(&icv) {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    Ok((nonce, icv))
}

/// What the first pass of [`decrypt_authenticated`] found.
struct Scanned {
    cipher: ContentCipher,
    cek: Zeroizing<[u8; MAX_KEY_LEN]>,
    nonce: [u8; NONCE_LEN],
    tag: [u8; TAG_LEN],
    icv_len: usize,
    content: (usize, usize),
    auth_attrs: Option<(usize, usize)>,
    report: DecryptReport,
}

impl<D, R, W, const BUF: usize> EnvelopedDataDecoder<'_, '_, D, R, W, BUF>
where
    D: KeyTransDecrypter,
    R: TryCryptoRng,
    W: Write,
{
    /// Ends the first pass: the parsed message, the CEK, where things are.
    fn finish_scan(self) -> Result<Scanned> {
        let rfc3218_failed = self.rfc3218_failed;
        let cek_len = self.cek_len;
        let mut cek = Zeroizing::new([0u8; MAX_KEY_LEN]);
        cek[..cek_len].copy_from_slice(&self.cek[..cek_len]);
        let (nonce, tag, icv_len) = (self.nonce, self.tag, self.icv_len);
        let (content, auth_attrs) = (self.content_range, self.auth_attrs_range);
        let (_, report) = self.finish()?;
        let to_usize = |(a, b): (u64, u64)| -> Result<(usize, usize)> {
            let a = usize::try_from(a).map_err(|_| Error::new(ErrorKind::LengthOverflow))?;
            let b = usize::try_from(b).map_err(|_| Error::new(ErrorKind::LengthOverflow))?;
            Ok((a, b))
        };
        if rfc3218_failed {
            // The tag check would fail; say so without a second pass.
            return Err(Error::new(ErrorKind::DecryptionFailed));
        }
        Ok(Scanned {
            cipher: report.cipher,
            cek,
            nonce,
            tag,
            icv_len,
            content: to_usize(content)?,
            auth_attrs: auth_attrs.map(to_usize).transpose()?,
            report,
        })
    }
}

/// A sink that drops everything (the first pass writes nothing).
struct Discard;

impl embedded_io::ErrorType for Discard {
    type Error = core::convert::Infallible;
}

impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> core::result::Result<usize, Self::Error> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> core::result::Result<(), Self::Error> {
        Ok(())
    }
}

/// Feeds every ciphertext piece of the `[0] encryptedContent` element in
/// `content` (a whole TLV, primitive or constructed) to `f`.
fn for_each_ciphertext(content: &[u8], mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
    let mut tok = Tokenizer::new();
    let mut rest = content;
    loop {
        let (n, t) = tok.next(rest)?;
        rest = &rest[n..];
        match t {
            None => break,
            Some(Token::Data(b)) => f(b)?,
            Some(_) => {}
        }
    }
    tok.finish()?;
    if !rest.is_empty() {
        return Err(Error::new(ErrorKind::TrailingData));
    }
    Ok(())
}

/// Decrypts an AuthEnvelopedData held whole in memory (or flash: any byte
/// slice), in two passes, so that nothing unauthenticated is ever written.
///
/// Pass 1 parses the message, matches the recipient infos and unwraps the
/// content-encryption key, and checks the tag over the ciphertext and the
/// authenticated attributes (which may come with either AEAD cipher here),
/// writing nothing. Pass 2 decrypts into `sink`. A wrong key, a tampered
/// tag, nonce, ciphertext or attribute all give the uniform
/// [`ErrorKind::DecryptionFailed`] with nothing written.
///
/// `keys`, `rng`, `scratch` and `options` are as for
/// [`EnvelopedDataDecoder::new`]. A message that is not an AuthEnvelopedData
/// gives [`ErrorKind::UnexpectedContentType`]: EnvelopedData (CBC) has no
/// integrity to check.
pub fn decrypt_authenticated<D, R, W>(
    message: &[u8],
    keys: &mut [D],
    rng: R,
    scratch: &mut [u8],
    options: DecryptOptions,
    mut sink: W,
) -> Result<(W, DecryptReport)>
where
    D: KeyTransDecrypter,
    R: TryCryptoRng,
    W: Write,
{
    let mut dec = EnvelopedDataDecoder::<D, R, Discard, 64>::new(Discard, keys, rng, scratch, options);
    dec.scan = true;
    dec.write(message)?;
    let sc = dec.finish_scan()?;
    let content = message.get(sc.content.0..sc.content.1).ok_or(Error::new(ErrorKind::InvalidState))?;
    let attrs: &[u8] = match sc.auth_attrs {
        Some((a, b)) => message.get(a + 1..b).ok_or(Error::new(ErrorKind::InvalidState))?,
        None => &[],
    };
    let aad: [&[u8]; 2] = if sc.auth_attrs.is_some() { [&[0x31], attrs] } else { [&[], &[]] };
    let key = &sc.cek[..sc.cipher.key_len()];
    let tag = &sc.tag[..sc.icv_len];

    // Pass 1 (continued): the tag, without decrypting.
    let mut check = AeadDecryptor::with_aad_parts(sc.cipher, key, &sc.nonce, &aad)?;
    for_each_ciphertext(content, |c| check.authenticate(c))?;
    check.finish(tag)?;

    // Pass 2: decrypt into the sink.
    let mut dec = AeadDecryptor::with_aad_parts(sc.cipher, key, &sc.nonce, &aad)?;
    let mut out = [0u8; READ_BUF];
    for_each_ciphertext(content, |mut c| {
        while !c.is_empty() {
            let take = c.len().min(READ_BUF);
            let n = dec.update(&c[..take], &mut out)?;
            put(&mut sink, &out[..n])?;
            c = &c[take..];
        }
        Ok(())
    })?;
    out.zeroize();
    // The same bytes as in pass 1: this cannot fail, but costs nothing.
    dec.finish(tag)?;
    sink.flush().map_err(io_err)?;
    let mut report = sc.report;
    report.authenticated = true;
    Ok((sink, report))
}

/// Unwraps the CEK with one key into `cek`; returns its length. `Ok(None)` is
/// a decryption failure that RFC 3218 says to hide; other backend failures
/// are errors.
fn unwrap_with<D: KeyTransDecrypter>(
    key: &mut D,
    alg: &KeyTransAlgorithm<'_>,
    kt: &KeyTrans<'_>,
    cek: &mut [u8; MAX_KEY_LEN],
) -> Result<Option<usize>> {
    let mut buf = Zeroizing::new([0u8; MAX_RSA_LEN]);
    match key.decrypt_key(alg, kt.encrypted_key, &mut buf[..]) {
        Ok(n) if n > 0 && n <= MAX_KEY_LEN => {
            cek[..n].copy_from_slice(&buf[..n]);
            Ok(Some(n))
        }
        Ok(_) => Ok(None),
        Err(e) => match e.kind() {
            BackendErrorKind::DecryptionFailed | BackendErrorKind::BufferTooSmall => Ok(None),
            k => Err(Error::new(ErrorKind::Backend(k))),
        },
    }
}

/// A decrypter that is a key-agreement key, seen as a [`KeyAgreement`].
struct Agree<'a, D> {
    key: &'a mut D,
    curve: AgreementCurve,
}

impl<D: KeyTransDecrypter> ErrorType for Agree<'_, D> {
    type Error = BackendErrorKind;
}

impl<D: KeyTransDecrypter> KeyAgreement for Agree<'_, D> {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        self.key.recipient_id()
    }

    fn curve(&self) -> AgreementCurve {
        self.curve
    }

    fn shared_secret(
        &mut self,
        peer_public: &[u8],
        out: &mut [u8],
    ) -> core::result::Result<usize, BackendErrorKind> {
        match self.key.shared_secret(peer_public, out) {
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) => Err(e.kind()),
            None => Err(BackendErrorKind::UnsupportedAlgorithm),
        }
    }
}

/// Candidate CEKs from trial decryption, kept until the cipher is known.
const MAX_CANDIDATES: usize = 4;

#[derive(Clone, Copy)]
struct Candidate {
    key: [u8; MAX_KEY_LEN],
    len: usize,
    index: usize,
}

impl Candidate {
    const EMPTY: Candidate = Candidate { key: [0; MAX_KEY_LEN], len: 0, index: 0 };
}

impl zeroize::Zeroize for Candidate {
    fn zeroize(&mut self) {
        self.key.zeroize();
        self.len = 0;
    }
}

fn read_whole(data: &[u8]) -> Result<crate::ber::Tlv<'_>> {
    let mut r = SliceReader::new(data);
    let t = r.read()?;
    r.finish()?;
    Ok(t)
}

impl<D, R, W, const BUF: usize> embedded_io::ErrorType for EnvelopedDataDecoder<'_, '_, D, R, W, BUF>
where
    D: KeyTransDecrypter,
    R: TryCryptoRng,
    W: Write,
{
    type Error = Error;
}

impl<D, R, W, const BUF: usize> embedded_io::Write for EnvelopedDataDecoder<'_, '_, D, R, W, BUF>
where
    D: KeyTransDecrypter,
    R: TryCryptoRng,
    W: Write,
{
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        EnvelopedDataDecoder::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

fn expect(h: &Header, tag: Tag) -> Result<()> {
    if h.tag == tag { Ok(()) } else { Err(unexpected(tag, h)) }
}

fn unexpected(tag: Tag, h: &Header) -> Error {
    Error::new(ErrorKind::UnexpectedTag { expected: tag.first_octet(), actual: h.tag.first_octet() })
}

// ---------------------------------------------------------------------------
// Blocking helpers
// ---------------------------------------------------------------------------

/// Size of the stack buffer the blocking helpers read through.
pub const READ_BUF: usize = 1024;

/// Encrypts everything `input` yields to `recipients`, writing the ContentInfo
/// to `sink`. A blocking wrapper over [`EnvelopedDataEncoder`].
pub fn encrypt<I, W, R>(
    mut input: I,
    sink: W,
    recipients: &[Recipient<'_>],
    options: &EncryptOptions<'_>,
    rng: &mut R,
) -> Result<W>
where
    I: embedded_io::Read,
    W: Write,
    R: TryCryptoRng + ?Sized,
{
    let mut enc = EnvelopedDataEncoder::<W>::new(sink, recipients, options, rng)?;
    let mut buf = [0u8; READ_BUF];
    loop {
        let n = input.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        enc.write(&buf[..n])?;
    }
    enc.finish()
}

/// Decrypts the ContentInfo that `input` yields, writing the content to
/// `sink`. A blocking wrapper over [`EnvelopedDataDecoder`]; the content in
/// `sink` is valid only if this returns `Ok`.
pub fn decrypt<I, W, D, R>(
    mut input: I,
    sink: W,
    keys: &mut [D],
    rng: R,
    scratch: &mut [u8],
    options: DecryptOptions,
) -> Result<(W, DecryptReport)>
where
    I: embedded_io::Read,
    W: Write,
    D: KeyTransDecrypter,
    R: TryCryptoRng,
{
    let mut dec = EnvelopedDataDecoder::<D, R, W>::new(sink, keys, rng, scratch, options);
    let mut buf = [0u8; READ_BUF];
    loop {
        let n = input.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        dec.write(&buf[..n])?;
    }
    dec.finish()
}
