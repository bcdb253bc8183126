//! [`Pkcs11Key`]: a private key on a token.

use std::fmt;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::{AuthPin, Ulong};
use smime_core::backend::{
    AgreementCurve, BackendErrorKind, ErrorType, HashAlgorithm, KeyAgreement, KeyTransAlgorithm,
    KeyTransDecrypter, RecipientId, Signer, ToBeSigned,
};
use smime_core::pubkey::SignatureAlgorithm;
use smime_core::pubkey::encoding::{MAX_ECDSA_DER_LEN, digest_info, ecdsa_raw_to_der};
use smime_core::x509::CertificateRef;
use smime_core::{ErrorKind, oid};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, rv_name};
use crate::uri::{ObjectType, Pkcs11Uri, encode, encode_all};
use crate::{OpenOptions, module, token};

/// The curve of an EC key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl Curve {
    pub(crate) fn field_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
        }
    }

    /// From DER `CKA_EC_PARAMS` (a named curve OID).
    pub(crate) fn from_params(p: &[u8]) -> Option<Self> {
        let (&[0x06, len], rest) = p.split_first_chunk::<2>()? else {
            return None;
        };
        if usize::from(len) != rest.len() {
            return None;
        }
        if rest == oid::SECP256R1 {
            Some(Self::P256)
        } else if rest == oid::SECP384R1 {
            Some(Self::P384)
        } else {
            None
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Rsa,
    Ec(Curve),
}

/// A private key on a PKCS#11 token, with its own session.
///
/// One `Pkcs11Key` is used by one thread at a time (it is `Send`, not
/// `Sync`); open one per thread to sign concurrently.
pub struct Pkcs11Key {
    ctx: Pkcs11,
    session: Session,
    slot: Slot,
    key: ObjectHandle,
    id: Vec<u8>,
    label: String,
    token_label: String,
    manufacturer: String,
    cert: Option<Vec<u8>>,
    kind: Kind,
    bits: usize,
    sig_alg: SignatureAlgorithm,
    always_authenticate: bool,
    protected_path: bool,
    pin: Option<Zeroizing<String>>,
    mechanisms: Vec<MechanismType>,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.token_label)
            .field("label", &self.label)
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("bits", &self.bits)
            .field("algorithm", &self.sig_alg)
            .field("always_authenticate", &self.always_authenticate)
            .field("certificate", &self.cert.is_some())
            .finish_non_exhaustive()
    }
}

fn attr_bytes(attrs: &[Attribute], t: AttributeType) -> Option<&[u8]> {
    attrs.iter().find_map(|a| match (a, t) {
        (Attribute::Label(v), AttributeType::Label)
        | (Attribute::Id(v), AttributeType::Id)
        | (Attribute::Modulus(v), AttributeType::Modulus)
        | (Attribute::EcParams(v), AttributeType::EcParams)
        | (Attribute::EcPoint(v), AttributeType::EcPoint)
        | (Attribute::Value(v), AttributeType::Value)
        | (Attribute::Subject(v), AttributeType::Subject)
        | (Attribute::PublicExponent(v), AttributeType::PublicExponent) => Some(&v[..]),
        _ => None,
    })
}

pub(crate) fn get_attrs(
    session: &Session,
    obj: ObjectHandle,
    types: &[AttributeType],
) -> Result<Vec<Attribute>, Error> {
    session
        .get_attributes(obj, types)
        .map_err(|e| Error::ck("reading object attributes", e))
}

pub(crate) fn key_type(attrs: &[Attribute]) -> Option<KeyType> {
    attrs.iter().find_map(|a| match a {
        Attribute::KeyType(k) => Some(*k),
        _ => None,
    })
}

fn always_auth(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| matches!(a, Attribute::AlwaysAuthenticate(true)))
}

pub(crate) fn strip_zeros(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[i..]
}

/// The bit length of a big-endian integer.
pub(crate) fn bit_len(b: &[u8]) -> usize {
    let b = strip_zeros(b);
    match b.first() {
        None => 0,
        Some(&x) => b.len() * 8 - x.leading_zeros() as usize,
    }
}

/// The point in a `CKA_EC_POINT`: DER OCTET STRING around it (the spec) or bare.
pub(crate) fn unwrap_point(p: &[u8]) -> &[u8] {
    match p {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() && *len < 0x80 => rest,
        [0x04, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        _ => p,
    }
}

fn hash_mech(h: HashAlgorithm) -> (MechanismType, PkcsMgfType) {
    match h {
        HashAlgorithm::Sha1 => (MechanismType::SHA1, PkcsMgfType::MGF1_SHA1),
        HashAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
        HashAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
        HashAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
        _ => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
    }
}

fn mgf(h: HashAlgorithm) -> PkcsMgfType {
    hash_mech(h).1
}

fn unsupported(msg: impl Into<String>) -> Error {
    Error::new(BackendErrorKind::UnsupportedAlgorithm, msg)
}

fn core_err(what: &str, e: smime_core::Error) -> Error {
    let kind = match e.kind() {
        ErrorKind::BufferTooSmall { .. } => BackendErrorKind::BufferTooSmall,
        _ => BackendErrorKind::Other,
    };
    Error::new(kind, format!("{what}: {e}"))
}

fn pss_params(hash: HashAlgorithm, mgf_hash: HashAlgorithm, salt_len: u32) -> PkcsPssParams {
    PkcsPssParams {
        hash_alg: hash_mech(hash).0,
        mgf: mgf(mgf_hash),
        s_len: Ulong::from(u64::from(salt_len)),
    }
}

impl Pkcs11Key {
    /// Opens the private key `uri` names (see the crate docs).
    pub fn open(uri: &Pkcs11Uri, options: &OpenOptions) -> Result<Self, Error> {
        if let Some(t) = uri.object_type.filter(|t| *t != ObjectType::Private) {
            return Err(Error::new(
                BackendErrorKind::KeyNotFound,
                format!("the URI names a {} object, not a private key", t.as_str()),
            ));
        }
        let path = module::resolve(options.module.as_deref(), uri.module_path.as_deref())?;
        let ctx = module::load(&path)?;
        let (slot, info) = token::find_token(&ctx, uri)?;
        let token_label = info.label().to_string();
        let session = ctx
            .open_ro_session(slot)
            .map_err(|e| Error::ck(&format!("opening a session on token {token_label:?}"), e))?;
        let mut pin = token::login(&ctx, slot, &info, &session, || {
            token::pin_for(uri, options, &token_label, false)
        })?;

        // The private key.
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(l) = &uri.object {
            template.push(Attribute::Label(l.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            template.push(Attribute::Id(id.clone()));
        }
        let what = describe_object(uri);
        let found = session
            .find_objects(&template)
            .map_err(|e| Error::ck(&format!("searching token {token_label:?}"), e))?;
        let key = match found.as_slice() {
            [k] => *k,
            [] => {
                return Err(Error::new(
                    BackendErrorKind::KeyNotFound,
                    format!("no private key with {what} on token {token_label:?}"),
                ));
            }
            many => {
                return Err(Error::new(
                    BackendErrorKind::KeyNotFound,
                    format!(
                        "{} private keys match {what} on token {token_label:?}: add id= (or object=) to the URI",
                        many.len()
                    ),
                ));
            }
        };
        let attrs = get_attrs(
            &session,
            key,
            &[
                AttributeType::KeyType,
                AttributeType::Label,
                AttributeType::Id,
                AttributeType::AlwaysAuthenticate,
                AttributeType::Modulus,
                AttributeType::EcParams,
            ],
        )?;
        let label =
            String::from_utf8_lossy(attr_bytes(&attrs, AttributeType::Label).unwrap_or(b""))
                .into_owned();
        let id = attr_bytes(&attrs, AttributeType::Id)
            .unwrap_or(b"")
            .to_vec();
        let (kind, bits) = match key_type(&attrs) {
            Some(KeyType::RSA) => {
                let n = attr_bytes(&attrs, AttributeType::Modulus).ok_or_else(|| {
                    Error::new(
                        BackendErrorKind::Device,
                        format!("RSA key {label:?} has no readable CKA_MODULUS"),
                    )
                })?;
                (Kind::Rsa, bit_len(n))
            }
            Some(KeyType::EC) => {
                let p = attr_bytes(&attrs, AttributeType::EcParams).unwrap_or(b"");
                let c = Curve::from_params(p).ok_or_else(|| {
                    unsupported(format!(
                        "EC key {label:?}: only P-256 and P-384 are supported"
                    ))
                })?;
                (Kind::Ec(c), c.field_len() * 8)
            }
            other => {
                return Err(unsupported(format!(
                    "key {label:?} has type {}: only RSA and EC keys are supported",
                    other.map_or_else(|| "unknown".to_string(), |k| k.to_string())
                )));
            }
        };
        let always_authenticate = always_auth(&attrs);
        if always_authenticate && pin.is_none() && !info.protected_authentication_path() {
            pin = token::pin_for(uri, options, &token_label, true)?;
        }
        if !always_authenticate {
            pin = None;
        }

        // Its certificate, when the token has one with the same id.
        let cert = if id.is_empty() {
            None
        } else {
            let certs = session
                .find_objects(&[
                    Attribute::Class(ObjectClass::CERTIFICATE),
                    Attribute::Id(id.clone()),
                ])
                .map_err(|e| Error::ck("searching the certificate", e))?;
            match certs.first() {
                Some(&c) => get_attrs(&session, c, &[AttributeType::Value])?
                    .into_iter()
                    .find_map(|a| match a {
                        Attribute::Value(v) => Some(v),
                        _ => None,
                    }),
                None => None,
            }
        };
        let mechanisms = ctx.get_mechanism_list(slot).map_err(|e| {
            Error::ck(
                &format!("listing the mechanisms of token {token_label:?}"),
                e,
            )
        })?;
        let sig_alg = match kind {
            Kind::Rsa => SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256),
            Kind::Ec(Curve::P256) => SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256),
            Kind::Ec(Curve::P384) => SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha384),
        };
        Ok(Self {
            ctx,
            session,
            slot,
            key,
            id,
            label,
            token_label,
            manufacturer: info.manufacturer_id().to_string(),
            cert,
            kind,
            bits,
            sig_alg,
            always_authenticate,
            protected_path: info.protected_authentication_path(),
            pin,
            mechanisms,
        })
    }

    /// The DER of the key's certificate, if the token has one (or one was attached).
    pub fn certificate(&self) -> Option<&[u8]> {
        self.cert.as_deref()
    }

    /// Attaches a certificate (for a token that has none). Its public key
    /// must be this key's: the RSA modulus, or the EC point of the public key
    /// object with the same id.
    pub fn with_certificate(mut self, der: Vec<u8>) -> Result<Self, Error> {
        let cert = CertificateRef::from_der(&der).map_err(|e| {
            Error::new(
                BackendErrorKind::Other,
                format!("the certificate does not parse: {e}"),
            )
        })?;
        let mismatch = || {
            Error::new(
                BackendErrorKind::KeyNotFound,
                format!(
                    "the certificate's public key is not the one of key {:?} on token {:?}",
                    self.label, self.token_label
                ),
            )
        };
        match self.kind {
            Kind::Rsa => {
                let pk = cert.rsa_public_key().ok_or_else(mismatch)?;
                let n = self.public_attr(AttributeType::Modulus)?.ok_or_else(|| {
                    Error::new(
                        BackendErrorKind::Device,
                        "the token does not show the key's modulus",
                    )
                })?;
                if strip_zeros(&n) != strip_zeros(pk.modulus()) {
                    return Err(mismatch());
                }
            }
            Kind::Ec(_) => {
                if cert.public_key_algorithm() != oid::EC_PUBLIC_KEY {
                    return Err(mismatch());
                }
                let p = self.public_attr(AttributeType::EcPoint)?.ok_or_else(|| {
                    Error::new(
                        BackendErrorKind::Device,
                        "the token has no public key object with the key's id to compare the certificate with",
                    )
                })?;
                if unwrap_point(&p) != cert.public_key() {
                    return Err(mismatch());
                }
            }
        }
        self.cert = Some(der);
        Ok(self)
    }

    /// An attribute of the private key, or else of the public key with the same id.
    fn public_attr(&self, t: AttributeType) -> Result<Option<Vec<u8>>, Error> {
        let attrs = get_attrs(&self.session, self.key, &[t])?;
        if let Some(v) = attr_bytes(&attrs, t) {
            return Ok(Some(v.to_vec()));
        }
        if self.id.is_empty() {
            return Ok(None);
        }
        let pubs = self
            .session
            .find_objects(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::Id(self.id.clone()),
            ])
            .map_err(|e| Error::ck("searching the public key", e))?;
        for p in pubs {
            let attrs = get_attrs(&self.session, p, &[t])?;
            if let Some(v) = attr_bytes(&attrs, t) {
                return Ok(Some(v.to_vec()));
            }
        }
        Ok(None)
    }

    /// Chooses the signature algorithm (default: PKCS#1 v1.5 with SHA-256 for
    /// RSA, ECDSA with SHA-256 on P-256 and SHA-384 on P-384). It must fit the
    /// key, and the token must have the mechanism.
    pub fn with_signature_algorithm(mut self, alg: SignatureAlgorithm) -> Result<Self, Error> {
        let fits = match (alg, self.kind) {
            (SignatureAlgorithm::RsaPkcs1v15(h), Kind::Rsa)
            | (SignatureAlgorithm::Ecdsa(h), Kind::Ec(_)) => h != HashAlgorithm::Sha1,
            (SignatureAlgorithm::RsaPss { hash, mgf_hash, .. }, Kind::Rsa) => {
                hash != HashAlgorithm::Sha1 && mgf_hash != HashAlgorithm::Sha1
            }
            _ => false,
        };
        if !fits {
            return Err(unsupported(format!(
                "{alg:?} does not fit the {} key {:?}",
                self.kind_name(),
                self.label
            )));
        }
        let mech = self.sign_mechanism(alg)?;
        self.need(mech)?;
        self.sig_alg = alg;
        Ok(self)
    }

    fn kind_name(&self) -> String {
        match self.kind {
            Kind::Rsa => format!("RSA-{}", self.bits),
            Kind::Ec(c) => format!("EC {}", c.name()),
        }
    }

    /// The key's label (`CKA_LABEL`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The token's label.
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    /// The key size in bits (RSA modulus, EC field).
    pub fn key_bits(&self) -> usize {
        self.bits
    }

    /// Whether this is an RSA key.
    pub fn is_rsa(&self) -> bool {
        self.kind == Kind::Rsa
    }

    /// A URI naming this key.
    pub fn uri(&self) -> String {
        format!(
            "pkcs11:token={};object={};id={};type=private",
            encode(self.token_label.as_bytes()),
            encode(self.label.as_bytes()),
            encode_all(&self.id)
        )
    }

    fn need(&self, mech: MechanismType) -> Result<(), Error> {
        if self.mechanisms.contains(&mech) {
            Ok(())
        } else {
            Err(unsupported(format!(
                "token {:?} does not offer {mech}",
                self.token_label
            )))
        }
    }

    /// The mechanism type `alg` is signed with (token hashing for
    /// always-authenticate keys).
    fn sign_mechanism(&self, alg: SignatureAlgorithm) -> Result<MechanismType, Error> {
        Ok(match (alg, self.always_authenticate) {
            (SignatureAlgorithm::RsaPkcs1v15(_), false) => MechanismType::RSA_PKCS,
            (SignatureAlgorithm::RsaPss { .. }, false) => MechanismType::RSA_PKCS_PSS,
            (SignatureAlgorithm::Ecdsa(_), false) => MechanismType::ECDSA,
            (alg, true) => self.hashing_mechanism(alg)?.mechanism_type(),
            (alg, _) => return Err(unsupported(format!("{alg:?} is not supported"))),
        })
    }

    fn hashing_mechanism(&self, alg: SignatureAlgorithm) -> Result<Mechanism<'static>, Error> {
        use HashAlgorithm::{Sha256, Sha384, Sha512};
        Ok(match alg {
            SignatureAlgorithm::RsaPkcs1v15(Sha256) => Mechanism::Sha256RsaPkcs,
            SignatureAlgorithm::RsaPkcs1v15(Sha384) => Mechanism::Sha384RsaPkcs,
            SignatureAlgorithm::RsaPkcs1v15(Sha512) => Mechanism::Sha512RsaPkcs,
            SignatureAlgorithm::RsaPss {
                hash,
                mgf_hash,
                salt_len,
            } => {
                let p = pss_params(hash, mgf_hash, salt_len);
                match hash {
                    Sha256 => Mechanism::Sha256RsaPkcsPss(p),
                    Sha384 => Mechanism::Sha384RsaPkcsPss(p),
                    Sha512 => Mechanism::Sha512RsaPkcsPss(p),
                    _ => return Err(unsupported(format!("{alg:?} is not supported"))),
                }
            }
            SignatureAlgorithm::Ecdsa(Sha256) => Mechanism::EcdsaSha256,
            SignatureAlgorithm::Ecdsa(Sha384) => Mechanism::EcdsaSha384,
            SignatureAlgorithm::Ecdsa(Sha512) => Mechanism::EcdsaSha512,
            _ => return Err(unsupported(format!("{alg:?} is not supported"))),
        })
    }

    /// The context-specific login an always-authenticate key needs after
    /// each `*_Init`.
    fn context_login(&self) -> Result<(), Error> {
        let r = if self.protected_path {
            self.session.login(UserType::ContextSpecific, None)
        } else {
            let pin = self.pin.as_ref().ok_or_else(|| {
                Error::new(
                    BackendErrorKind::PinRequired,
                    format!(
                        "key {:?} on token {:?} needs the PIN for every use (CKA_ALWAYS_AUTHENTICATE) and none was given",
                        self.label, self.token_label
                    ),
                )
            })?;
            self.session.login(
                UserType::ContextSpecific,
                Some(&AuthPin::from(pin.as_str())),
            )
        };
        r.map_err(|e| token::login_error(&self.ctx, self.slot, &self.token_label, e))
    }

    fn op_err(&self, what: &str, e: CkError) -> Error {
        Error::ck(
            &format!(
                "{what} with key {:?} on token {:?}",
                self.label, self.token_label
            ),
            e,
        )
    }

    /// Replaces the session after a failed always-authenticate operation:
    /// tokens (SoftHSM among them) keep such an operation active, and ending
    /// it needs `C_SessionCancel` or a NULL mechanism, which cryptoki does not
    /// offer. The new session is opened first, so the token stays logged in.
    fn reset_session(&mut self) {
        if let Ok(s) = self.ctx.open_ro_session(self.slot) {
            self.session = s;
        }
    }

    fn sign_raw(&self, tbs: &ToBeSigned<'_>) -> Result<Vec<u8>, Error> {
        let alg = self.sig_alg;
        let mech = self.sign_mechanism(alg)?;
        self.need(mech)?;
        if self.always_authenticate {
            let msg = tbs.message.ok_or_else(|| {
                unsupported(format!(
                    "key {:?} needs the PIN for every signature (CKA_ALWAYS_AUTHENTICATE): it signs only with signed attributes",
                    self.label
                ))
            })?;
            let m = self.hashing_mechanism(alg)?;
            self.session
                .sign_init(&m, self.key)
                .map_err(|e| self.op_err("C_SignInit", e))?;
            // On failure the caller replaces the session (the operation
            // stays active).
            self.context_login()?;
            let r = self
                .session
                .sign_update(msg)
                .and_then(|()| self.session.sign_final());
            return r.map_err(|e| self.op_err("signing", e));
        }
        let hash = alg
            .hash()
            .ok_or_else(|| unsupported(format!("{alg:?} is not supported")))?;
        if tbs.digest.len() != hash.output_len() {
            return Err(Error::new(
                BackendErrorKind::Other,
                "the digest's length does not fit the hash",
            ));
        }
        let r = match alg {
            SignatureAlgorithm::RsaPkcs1v15(h) => {
                let mut di = [0u8; 96];
                let n =
                    digest_info(h, tbs.digest, &mut di).map_err(|e| core_err("DigestInfo", e))?;
                self.session.sign(&Mechanism::RsaPkcs, self.key, &di[..n])
            }
            SignatureAlgorithm::RsaPss {
                hash,
                mgf_hash,
                salt_len,
            } => self.session.sign(
                &Mechanism::RsaPkcsPss(pss_params(hash, mgf_hash, salt_len)),
                self.key,
                tbs.digest,
            ),
            SignatureAlgorithm::Ecdsa(_) => {
                self.session.sign(&Mechanism::Ecdsa, self.key, tbs.digest)
            }
            _ => return Err(unsupported(format!("{alg:?} is not supported"))),
        };
        r.map_err(|e| self.op_err("signing", e))
    }

    /// Decrypts; `Err(Ok(e))` is a failed context-specific login (already
    /// mapped), `Err(Err(e))` a token error of the decryption.
    fn decrypt_raw(
        &self,
        mech: &Mechanism<'_>,
        ct: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Result<Error, CkError>> {
        if !self.always_authenticate {
            return self
                .session
                .decrypt(mech, self.key, ct)
                .map(Zeroizing::new)
                .map_err(Err);
        }
        self.session.decrypt_init(mech, self.key).map_err(Err)?;
        // On failure the caller replaces the session (the operation stays
        // active).
        self.context_login().map_err(Ok)?;
        let mut a = Zeroizing::new(self.session.decrypt_update(ct).map_err(Err)?);
        let mut b = self.session.decrypt_final().map_err(Err)?;
        a.extend_from_slice(&b);
        b.zeroize();
        Ok(a)
    }
}

fn describe_object(uri: &Pkcs11Uri) -> String {
    match (&uri.object, &uri.id) {
        (Some(l), Some(id)) => format!("object={l:?} id={}", encode_all(id)),
        (Some(l), None) => format!("object={l:?}"),
        (None, Some(id)) => format!("id={}", encode_all(id)),
        (None, None) => "any label".to_string(),
    }
}

impl ErrorType for Pkcs11Key {
    type Error = Error;
}

impl Signer for Pkcs11Key {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.sig_alg
    }

    fn certificate(&self) -> Option<&[u8]> {
        self.cert.as_deref()
    }

    fn max_signature_len(&self) -> usize {
        match self.kind {
            Kind::Rsa => self.bits.div_ceil(8),
            Kind::Ec(c) => {
                // SEQUENCE { INTEGER r, INTEGER s }, each with a possible 0x00.
                let body = 2 * (2 + c.field_len() + 1);
                (body + if body < 0x80 { 2 } else { 3 }).min(MAX_ECDSA_DER_LEN)
            }
        }
    }

    /// RSA PKCS#1 v1.5 signs the DigestInfo the host builds (`CKM_RSA_PKCS`),
    /// PSS the digest (`CKM_RSA_PKCS_PSS`), ECDSA the digest (`CKM_ECDSA`);
    /// an always-authenticate key signs `tbs.message` with the token's
    /// hashing mechanism after a context-specific login.
    fn sign(&mut self, tbs: &ToBeSigned<'_>, out: &mut [u8]) -> Result<usize, Error> {
        let sig = match self.sign_raw(tbs) {
            Ok(sig) => sig,
            Err(e) => {
                if self.always_authenticate {
                    self.reset_session();
                }
                return Err(e);
            }
        };
        match self.kind {
            Kind::Rsa => {
                let dst = out.get_mut(..sig.len()).ok_or_else(|| {
                    Error::new(
                        BackendErrorKind::BufferTooSmall,
                        "the signature buffer is too small",
                    )
                })?;
                dst.copy_from_slice(&sig);
                Ok(sig.len())
            }
            Kind::Ec(_) => {
                ecdsa_raw_to_der(&sig, out).map_err(|e| core_err("the token's ECDSA signature", e))
            }
        }
    }
}

impl KeyTransDecrypter for Pkcs11Key {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        let cert = CertificateRef::from_der(self.cert.as_deref()?).ok()?;
        Some(cert.recipient_id())
    }

    /// The curve of an EC key (ECDH through `CKM_ECDH1_DERIVE`).
    fn agreement_curve(&self) -> Option<AgreementCurve> {
        match self.kind {
            Kind::Ec(_) => Some(KeyAgreement::curve(self)),
            _ => None,
        }
    }

    fn shared_secret(
        &mut self,
        peer_public: &[u8],
        out: &mut [u8],
    ) -> Option<Result<usize, Error>> {
        match self.kind {
            Kind::Ec(_) => Some(KeyAgreement::shared_secret(self, peer_public, out)),
            _ => None,
        }
    }

    /// `CKM_RSA_PKCS` or `CKM_RSA_PKCS_OAEP`. Token errors of the decryption
    /// itself are [`BackendErrorKind::DecryptionFailed`]; OAEP parameters the
    /// token refuses are [`BackendErrorKind::UnsupportedAlgorithm`].
    fn decrypt_key(
        &mut self,
        algorithm: &KeyTransAlgorithm<'_>,
        encrypted_key: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if self.kind != Kind::Rsa {
            return Err(unsupported(format!(
                "key {:?} is not an RSA key",
                self.label
            )));
        }
        let k = self.bits.div_ceil(8);
        let padded;
        let ct = match encrypted_key.len() {
            n if n == k => encrypted_key,
            n if n < k => {
                let mut v = vec![0u8; k];
                v[k - n..].copy_from_slice(encrypted_key);
                padded = v;
                &padded[..]
            }
            _ => {
                return Err(Error::new(
                    BackendErrorKind::DecryptionFailed,
                    "the encrypted key is longer than the modulus",
                ));
            }
        };
        let oaep;
        let (mech, name) = match *algorithm {
            KeyTransAlgorithm::RsaPkcs1v15 => (Mechanism::RsaPkcs, MechanismType::RSA_PKCS),
            KeyTransAlgorithm::RsaOaep {
                hash,
                mgf_hash,
                label,
            } => {
                if !label.is_empty() && self.manufacturer == "SoftHSM project" {
                    // SoftHSM 2.6 takes the label and decrypts as if it were empty.
                    return Err(unsupported(format!(
                        "token {:?} (SoftHSM) does not do OAEP with a label",
                        self.token_label
                    )));
                }
                let source = if label.is_empty() {
                    PkcsOaepSource::empty()
                } else {
                    PkcsOaepSource::data_specified(label)
                };
                oaep = PkcsOaepParams::new(hash_mech(hash).0, mgf(mgf_hash), source);
                (Mechanism::RsaPkcsOaep(oaep), MechanismType::RSA_PKCS_OAEP)
            }
            _ => return Err(unsupported("unknown key-transport algorithm")),
        };
        self.need(name)?;
        let result = self.decrypt_raw(&mech, ct);
        if result.is_err() && self.always_authenticate {
            self.reset_session();
        }
        let key = match result {
            Ok(k) => k,
            Err(Ok(login)) => return Err(login),
            Err(Err(e)) => {
                let rv = Error::rv(&e);
                return Err(match rv {
                    Some(
                        RvError::EncryptedDataInvalid
                        | RvError::EncryptedDataLenRange
                        | RvError::DataInvalid
                        | RvError::DataLenRange
                        | RvError::GeneralError,
                    ) => Error::new(
                        BackendErrorKind::DecryptionFailed,
                        format!(
                            "decryption failed ({})",
                            rv.map(rv_name).unwrap_or_default()
                        ),
                    ),
                    Some(
                        RvError::MechanismParamInvalid
                        | RvError::ArgumentsBad
                        | RvError::MechanismInvalid,
                    ) if matches!(algorithm, KeyTransAlgorithm::RsaOaep { .. }) => {
                        unsupported(format!(
                            "token {:?} refuses these OAEP parameters ({algorithm:?}): {}; SoftHSM 2.6 does OAEP only with SHA-1 and an empty label",
                            self.token_label,
                            rv.map(rv_name).unwrap_or_default()
                        ))
                    }
                    Some(
                        RvError::FunctionNotSupported
                        | RvError::FunctionNotParallel
                        | RvError::OperationNotInitialized,
                    ) if self.always_authenticate => unsupported(format!(
                        "token {:?} cannot decrypt with the always-authenticate key {:?} in parts ({}), and a context-specific login needs that",
                        self.token_label,
                        self.label,
                        rv.map(rv_name).unwrap_or_default()
                    )),
                    _ => self.op_err("decrypting", e),
                });
            }
        };
        let dst = out.get_mut(..key.len()).ok_or_else(|| {
            Error::new(
                BackendErrorKind::BufferTooSmall,
                "the key buffer is too small",
            )
        })?;
        dst.copy_from_slice(&key);
        Ok(key.len())
    }
}

impl KeyAgreement for Pkcs11Key {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        let cert = CertificateRef::from_der(self.cert.as_deref()?).ok()?;
        Some(cert.recipient_id())
    }

    fn curve(&self) -> AgreementCurve {
        match self.kind {
            Kind::Ec(Curve::P384) => AgreementCurve::P384,
            _ => AgreementCurve::P256,
        }
    }

    /// `CKM_ECDH1_DERIVE` with the null KDF into a session object of type
    /// `CKK_GENERIC_SECRET` that is read and destroyed.
    fn shared_secret(&mut self, peer_public: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let Kind::Ec(curve) = self.kind else {
            return Err(unsupported(format!(
                "key {:?} is not an EC key",
                self.label
            )));
        };
        self.need(MechanismType::ECDH1_DERIVE)?;
        let n = curve.field_len();
        let dst = out.get_mut(..n).ok_or_else(|| {
            Error::new(
                BackendErrorKind::BufferTooSmall,
                "the secret buffer is too small",
            )
        })?;
        let mech = Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(EcKdf::null(), peer_public));
        let len = Ulong::try_from(n).map_err(|_| Error::new(BackendErrorKind::Other, "length"))?;
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(false),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
            Attribute::ValueLen(len),
        ];
        if self.always_authenticate {
            return Err(unsupported(format!(
                "key agreement with the always-authenticate key {:?} is not supported",
                self.label
            )));
        }
        let obj = self
            .session
            .derive_key(&mech, self.key, &template)
            .map_err(|e| match Error::rv(&e) {
                Some(
                    RvError::MechanismParamInvalid
                    | RvError::ArgumentsBad
                    | RvError::DomainParamsInvalid
                    | RvError::GeneralError,
                ) => Error::new(
                    BackendErrorKind::Other,
                    format!(
                        "the token refused the key agreement (is the peer's point valid?): {}",
                        Error::ck("C_DeriveKey", e)
                    ),
                ),
                _ => self.op_err("C_DeriveKey", e),
            })?;
        let value = self.session.get_attributes(obj, &[AttributeType::Value]);
        let _ = self.session.destroy_object(obj);
        let mut attrs = value.map_err(|e| self.op_err("reading the derived secret", e))?;
        let mut result = Err(Error::new(
            BackendErrorKind::Device,
            "the token did not return the derived secret",
        ));
        for a in &mut attrs {
            if let Attribute::Value(v) = a {
                if v.len() == n {
                    dst.copy_from_slice(v);
                    result = Ok(n);
                }
                v.zeroize();
            }
        }
        result
    }
}
