//! Putting a private key and its certificates on a token (`smime keys
//! import`), and opening every key that has a certificate on a token (a key
//! history: mail for an expired or renewed certificate still opens).
//!
//! An import is all or nothing: the objects created so far are destroyed
//! when a later one fails, so a failed import leaves nothing behind.

use cryptoki::object::{Attribute, AttributeType, CertificateType, KeyType, ObjectClass};
use cryptoki::session::Session;
use smime_core::backend::BackendErrorKind;
use smime_core::x509::CertificateRef;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::key::get_attrs;
use crate::uri::{ObjectType, encode, encode_all};
use crate::{OpenOptions, Pkcs11Key, Pkcs11Uri, module, token};

/// The private key material to put on a token (big-endian integers without
/// sign padding; secrets zeroized on drop).
pub enum KeyMaterial {
    /// An RSA key (all CRT parts).
    Rsa {
        /// n.
        modulus: Vec<u8>,
        /// e.
        public_exponent: Vec<u8>,
        /// d.
        private_exponent: Zeroizing<Vec<u8>>,
        /// p.
        prime_1: Zeroizing<Vec<u8>>,
        /// q.
        prime_2: Zeroizing<Vec<u8>>,
        /// d mod (p-1).
        exponent_1: Zeroizing<Vec<u8>>,
        /// d mod (q-1).
        exponent_2: Zeroizing<Vec<u8>>,
        /// q^-1 mod p.
        coefficient: Zeroizing<Vec<u8>>,
    },
    /// An EC key.
    Ec {
        /// The curve: the DER of its OID (`CKA_EC_PARAMS`).
        params: Vec<u8>,
        /// The private scalar.
        value: Zeroizing<Vec<u8>>,
        /// The public point, uncompressed (`04 || x || y`), not DER-wrapped.
        point: Vec<u8>,
    },
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rsa { modulus, .. } => write!(f, "KeyMaterial::Rsa({} bytes)", modulus.len()),
            Self::Ec { params, .. } => write!(f, "KeyMaterial::Ec({params:02x?})"),
        }
    }
}

/// What to import.
#[derive(Debug)]
pub struct ImportRequest<'a> {
    /// The private key.
    pub key: &'a KeyMaterial,
    /// `CKA_ID` of the key pair and its certificate.
    pub id: &'a [u8],
    /// `CKA_LABEL` of the key pair and its certificate.
    pub label: &'a str,
    /// The key's certificate (DER).
    pub certificate: &'a [u8],
    /// CA certificates of its chain (DER); those already on the token are
    /// not added again.
    pub chain: &'a [Vec<u8>],
}

/// What [`import`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The token's label.
    pub token_label: String,
    /// Objects created: private key, public key, certificates.
    pub objects: usize,
    /// CA certificates added (the others were on the token already).
    pub chain_added: usize,
    /// A URI naming the imported private key (without PIN).
    pub uri: String,
}

/// Creates the key pair and certificates of `request` on the token `uri`
/// names (its object attributes are ignored). Refuses when the token
/// already holds an object with the same id. On failure every object created
/// is destroyed again.
pub fn import(
    uri: &Pkcs11Uri,
    options: &OpenOptions,
    request: &ImportRequest<'_>,
) -> Result<Imported, Error> {
    let path = module::resolve(options.module.as_deref(), uri.module_path.as_deref())?;
    let ctx = module::load(&path)?;
    let (slot, info) = token::find_token(&ctx, uri)?;
    let token_label = info.label().to_string();
    let session = ctx.open_rw_session(slot).map_err(|e| {
        Error::ck(
            &format!("opening a read-write session on token {token_label:?}"),
            e,
        )
    })?;
    token::login(&ctx, slot, &info, &session, || {
        token::pin_for(uri, options, &token_label, false)
    })?;
    let cert = CertificateRef::from_der(request.certificate).map_err(|e| {
        Error::new(
            BackendErrorKind::Other,
            format!("the certificate does not parse: {e}"),
        )
    })?;
    if request.id.is_empty() {
        return Err(Error::new(BackendErrorKind::Other, "an empty CKA_ID"));
    }
    let existing = session
        .find_objects(&[Attribute::Id(request.id.to_vec())])
        .map_err(|e| Error::ck(&format!("searching token {token_label:?}"), e))?;
    if !existing.is_empty() {
        return Err(Error::new(
            BackendErrorKind::Other,
            format!(
                "token {token_label:?} already has {} object(s) with id {}: the key is there already, \
                 or remove them first",
                existing.len(),
                encode_all(request.id)
            ),
        ));
    }

    let mut created = Vec::new();
    let result = create_all(&session, request, &cert, &mut created);
    match result {
        Ok(chain_added) => Ok(Imported {
            token_label: token_label.clone(),
            objects: created.len(),
            chain_added,
            uri: format!(
                "pkcs11:token={};object={};id={};type=private",
                encode(token_label.as_bytes()),
                encode(request.label.as_bytes()),
                encode_all(request.id)
            ),
        }),
        Err(e) if created.is_empty() => Err(e),
        Err(e) => {
            let n = created.len();
            let mut left = 0;
            for h in created.into_iter().rev() {
                if session.destroy_object(h).is_err() {
                    left += 1;
                }
            }
            let cleanup = if left == 0 {
                format!("the {n} object(s) created so far were removed")
            } else {
                format!("{left} of the {n} object(s) created so far could not be removed")
            };
            Err(Error::new(e.kind(), format!("{}; {cleanup}", e.message())))
        }
    }
}

/// Creates the objects, recording each handle in `created`; returns the
/// number of CA certificates added.
fn create_all(
    session: &Session,
    request: &ImportRequest<'_>,
    cert: &CertificateRef<'_>,
    created: &mut Vec<cryptoki::object::ObjectHandle>,
) -> Result<usize, Error> {
    let id = request.id.to_vec();
    let label = request.label.as_bytes().to_vec();
    let subject = cert.subject_der().to_vec();
    let common = |class: ObjectClass| {
        vec![
            Attribute::Class(class),
            Attribute::Token(true),
            Attribute::Id(id.clone()),
            Attribute::Label(label.clone()),
        ]
    };
    let (mut private, mut public) = (
        common(ObjectClass::PRIVATE_KEY),
        common(ObjectClass::PUBLIC_KEY),
    );
    private.extend([
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Subject(subject.clone()),
    ]);
    public.extend([
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Subject(subject),
    ]);
    match request.key {
        KeyMaterial::Rsa {
            modulus,
            public_exponent,
            private_exponent,
            prime_1,
            prime_2,
            exponent_1,
            exponent_2,
            coefficient,
        } => {
            private.extend([
                Attribute::KeyType(KeyType::RSA),
                Attribute::Decrypt(true),
                Attribute::Unwrap(true),
                Attribute::Modulus(modulus.clone()),
                Attribute::PublicExponent(public_exponent.clone()),
                Attribute::PrivateExponent(private_exponent.to_vec()),
                Attribute::Prime1(prime_1.to_vec()),
                Attribute::Prime2(prime_2.to_vec()),
                Attribute::Exponent1(exponent_1.to_vec()),
                Attribute::Exponent2(exponent_2.to_vec()),
                Attribute::Coefficient(coefficient.to_vec()),
            ]);
            public.extend([
                Attribute::KeyType(KeyType::RSA),
                Attribute::Encrypt(true),
                Attribute::Wrap(true),
                Attribute::Modulus(modulus.clone()),
                Attribute::PublicExponent(public_exponent.clone()),
            ]);
        }
        KeyMaterial::Ec {
            params,
            value,
            point,
        } => {
            private.extend([
                Attribute::KeyType(KeyType::EC),
                Attribute::Derive(true),
                Attribute::EcParams(params.clone()),
                Attribute::Value(value.to_vec()),
            ]);
            public.extend([
                Attribute::KeyType(KeyType::EC),
                Attribute::Derive(true),
                Attribute::EcParams(params.clone()),
                Attribute::EcPoint(der_octet_string(point)),
            ]);
        }
    }
    let created_private = session.create_object(&private);
    wipe(&mut private);
    created.push(created_private.map_err(|e| Error::ck("creating the private key", e))?);
    created.push(
        session
            .create_object(&public)
            .map_err(|e| Error::ck("creating the public key", e))?,
    );
    created.push(
        session
            .create_object(&cert_template(cert, id, label))
            .map_err(|e| Error::ck("creating the certificate", e))?,
    );
    let mut added = 0;
    for der in request.chain {
        let Ok(ca) = CertificateRef::from_der(der) else {
            return Err(Error::new(
                BackendErrorKind::Other,
                "a chain certificate does not parse",
            ));
        };
        let present = session
            .find_objects(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::Value(der.clone()),
            ])
            .map_err(|e| Error::ck("searching the token's certificates", e))?;
        if !present.is_empty() || der.as_slice() == request.certificate {
            continue;
        }
        let ca_id = ca.subject_key_id().map(<[u8]>::to_vec).unwrap_or_default();
        let ca_label = ca.subject().to_string().into_bytes();
        created.push(
            session
                .create_object(&cert_template(&ca, ca_id, ca_label))
                .map_err(|e| Error::ck("creating a CA certificate", e))?,
        );
        added += 1;
    }
    Ok(added)
}

/// The template of an X.509 certificate object.
fn cert_template(cert: &CertificateRef<'_>, id: Vec<u8>, label: Vec<u8>) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Id(id),
        Attribute::Label(label),
        Attribute::Subject(cert.subject_der().to_vec()),
        Attribute::Issuer(cert.issuer_der().to_vec()),
        Attribute::SerialNumber(der_integer(cert.serial())),
        Attribute::Value(cert.der().to_vec()),
    ]
}

/// Zeroes the secret attribute values of a template.
fn wipe(template: &mut [Attribute]) {
    use zeroize::Zeroize as _;
    for a in template {
        match a {
            Attribute::PrivateExponent(v)
            | Attribute::Prime1(v)
            | Attribute::Prime2(v)
            | Attribute::Exponent1(v)
            | Attribute::Exponent2(v)
            | Attribute::Coefficient(v)
            | Attribute::Value(v) => v.zeroize(),
            _ => {}
        }
    }
}

/// A DER length.
fn der_len(out: &mut Vec<u8>, len: usize) {
    match u8::try_from(len) {
        Ok(l) if l < 0x80 => out.push(l),
        _ => {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            let rest = &bytes[skip..];
            // At most 8 length octets.
            out.push(0x80 | u8::try_from(rest.len()).unwrap_or(8));
            out.extend_from_slice(rest);
        }
    }
}

/// `value` as a DER OCTET STRING.
fn der_octet_string(value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x04];
    der_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// The content octets of an INTEGER (as a certificate holds them) as a DER
/// INTEGER.
fn der_integer(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0x02];
    der_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// Opens the private keys `uri` names. A URI that names an object (`object=`
/// or `id=`) gives that one key, as [`Pkcs11Key::open`]. A URI that names
/// only a token gives every private key on it that has a certificate with
/// the same `CKA_ID` (each with its certificate, so that the recipient info
/// naming it is found), or, when none has, every private key (tried on each
/// recipient info).
pub fn open_all(uri: &Pkcs11Uri, options: &OpenOptions) -> Result<Vec<Pkcs11Key>, Error> {
    if uri.object.is_some() || uri.id.is_some() {
        return Pkcs11Key::open(uri, options).map(|k| vec![k]);
    }
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
    // This session stays logged in while the keys are opened, so the PIN is
    // asked for once.
    let session = ctx
        .open_ro_session(slot)
        .map_err(|e| Error::ck(&format!("opening a session on token {token_label:?}"), e))?;
    token::login(&ctx, slot, &info, &session, || {
        token::pin_for(uri, options, &token_label, false)
    })?;
    let keys = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
        .map_err(|e| Error::ck(&format!("searching token {token_label:?}"), e))?;
    if keys.is_empty() {
        return Err(Error::new(
            BackendErrorKind::KeyNotFound,
            format!("no private key on token {token_label:?}"),
        ));
    }
    let mut paired = Vec::new();
    let mut all = Vec::new();
    for k in keys {
        let attrs = get_attrs(&session, k, &[AttributeType::Id, AttributeType::Label])?;
        let mut id = Vec::new();
        let mut label = None;
        for a in attrs {
            match a {
                Attribute::Id(v) => id = v,
                Attribute::Label(v) => label = Some(String::from_utf8_lossy(&v).into_owned()),
                _ => {}
            }
        }
        let has_cert = !id.is_empty()
            && !session
                .find_objects(&[
                    Attribute::Class(ObjectClass::CERTIFICATE),
                    Attribute::Id(id.clone()),
                ])
                .map_err(|e| Error::ck("searching the certificates", e))?
                .is_empty();
        if has_cert {
            paired.push((id.clone(), label.clone()));
        }
        all.push((id, label));
    }
    let chosen = if paired.is_empty() { all } else { paired };
    let mut out = Vec::new();
    for (id, label) in chosen {
        let mut one = uri.clone();
        one.object_type = Some(ObjectType::Private);
        one.id = (!id.is_empty()).then_some(id);
        one.object = label.filter(|l| !l.is_empty());
        if one.id.is_none() && one.object.is_none() {
            // Nothing names it apart from the others: only a lone key opens.
            one.object = None;
        }
        out.push(Pkcs11Key::open(&one, options)?);
    }
    drop(session);
    Ok(out)
}
