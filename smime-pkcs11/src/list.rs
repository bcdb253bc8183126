//! Listing what a module shows (`smime tokens`).

use std::path::Path;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, CertificateType, KeyType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use smime_core::x509::CertificateRef;

use crate::error::Error;
use crate::key::{Curve, bit_len, get_attrs, key_type};
use crate::uri::{encode, encode_all};
use crate::{module, token};

/// A token and its objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenListing {
    /// The slot number (may change between runs with SoftHSM).
    pub slot_id: u64,
    /// The slot description.
    pub slot_description: String,
    /// The token label.
    pub label: String,
    /// The token manufacturer.
    pub manufacturer: String,
    /// The token model.
    pub model: String,
    /// The token serial number.
    pub serial: String,
    /// Flags: "login required", "protected authentication path", "user PIN
    /// count low", "user PIN final try", "user PIN locked", "initialized".
    pub flags: Vec<&'static str>,
    /// The objects visible (public ones, and private ones after login).
    pub objects: Vec<ObjectListing>,
}

/// One object on a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectListing {
    /// "private key", "public key", "certificate", "secret key" or "data".
    pub class: &'static str,
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// For keys: "RSA-2048", "EC P-256", ...
    pub key_type: Option<String>,
    /// A `pkcs11:` URI naming the object.
    pub uri: String,
    /// For X.509 certificates: the subject.
    pub subject: Option<String>,
}

/// Everything `module` (or the default module) shows: its tokens and, with
/// `pin`, the private objects too.
pub fn list(module: Option<&Path>, pin: Option<&str>) -> Result<Vec<TokenListing>, Error> {
    let path = module::resolve(module, None)?;
    let ctx = module::load(&path)?;
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| Error::ck("listing the slots", e))?;
    let mut out = Vec::new();
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| Error::ck("reading the token information", e))?;
        let slot_description = ctx
            .get_slot_info(slot)
            .map(|s| s.slot_description().trim_end().to_string())
            .unwrap_or_default();
        let mut flags = Vec::new();
        for (on, name) in [
            (info.login_required(), "login required"),
            (
                info.protected_authentication_path(),
                "protected authentication path",
            ),
            (info.user_pin_count_low(), "user PIN count low"),
            (info.user_pin_final_try(), "user PIN final try"),
            (info.user_pin_locked(), "user PIN locked"),
            (info.token_initialized(), "initialized"),
        ] {
            if on {
                flags.push(name);
            }
        }
        let label = info.label().to_string();
        let mut objects = Vec::new();
        if info.token_initialized() {
            let session = ctx
                .open_ro_session(slot)
                .map_err(|e| Error::ck(&format!("opening a session on token {label:?}"), e))?;
            if let Some(pin) = pin.filter(|_| info.login_required() && !info.user_pin_locked()) {
                match session.login(UserType::User, Some(&AuthPin::from(pin))) {
                    Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                    Err(e) => return Err(token::login_error(&ctx, slot, &label, e)),
                }
            }
            let handles = session
                .find_objects(&[])
                .map_err(|e| Error::ck("listing the objects", e))?;
            for h in handles {
                let attrs = get_attrs(
                    &session,
                    h,
                    &[
                        AttributeType::Class,
                        AttributeType::Label,
                        AttributeType::Id,
                        AttributeType::KeyType,
                        AttributeType::Modulus,
                        AttributeType::ModulusBits,
                        AttributeType::EcParams,
                        AttributeType::CertificateType,
                    ],
                )?;
                let class = attrs.iter().find_map(|a| match a {
                    Attribute::Class(c) => Some(*c),
                    _ => None,
                });
                let (class, uri_type) = match class {
                    Some(ObjectClass::PRIVATE_KEY) => ("private key", "private"),
                    Some(ObjectClass::PUBLIC_KEY) => ("public key", "public"),
                    Some(ObjectClass::CERTIFICATE) => ("certificate", "cert"),
                    Some(ObjectClass::SECRET_KEY) => ("secret key", "secret-key"),
                    Some(ObjectClass::DATA) => ("data", "data"),
                    _ => continue,
                };
                let mut olabel = String::new();
                let mut id = Vec::new();
                let mut bits = None;
                let mut curve = None;
                let mut x509 = false;
                for a in &attrs {
                    match a {
                        Attribute::Label(v) => olabel = String::from_utf8_lossy(v).into_owned(),
                        Attribute::Id(v) => id.clone_from(v),
                        Attribute::Modulus(v) => bits = Some(bit_len(v)),
                        Attribute::ModulusBits(b) if bits.is_none() => bits = Some(usize::from(*b)),
                        Attribute::EcParams(p) => {
                            curve =
                                Some(Curve::from_params(p).map_or("unknown curve", Curve::name));
                        }
                        Attribute::CertificateType(t) => x509 = *t == CertificateType::X_509,
                        _ => {}
                    }
                }
                let key_type = match key_type(&attrs) {
                    _ if !class.ends_with("key") => None,
                    Some(KeyType::RSA) => Some(format!("RSA-{}", bits.unwrap_or(0))),
                    Some(KeyType::EC) => Some(format!("EC {}", curve.unwrap_or("unknown curve"))),
                    Some(k) => Some(k.to_string()),
                    None => None,
                };
                // Only a certificate's value is read (a secret key's is not
                // this listing's business).
                let subject = if class == "certificate" && x509 {
                    get_attrs(&session, h, &[AttributeType::Value])?
                        .iter()
                        .find_map(|a| match a {
                            Attribute::Value(v) => CertificateRef::from_der(v)
                                .ok()
                                .map(|c| c.subject().to_string()),
                            _ => None,
                        })
                } else {
                    None
                };
                let mut uri = format!("pkcs11:token={}", encode(label.as_bytes()));
                if !olabel.is_empty() {
                    uri.push_str(&format!(";object={}", encode(olabel.as_bytes())));
                }
                if !id.is_empty() {
                    uri.push_str(&format!(";id={}", encode_all(&id)));
                }
                uri.push_str(&format!(";type={uri_type}"));
                objects.push(ObjectListing {
                    class,
                    label: olabel,
                    id,
                    key_type,
                    uri,
                    subject,
                });
            }
        }
        out.push(TokenListing {
            slot_id: slot.id(),
            slot_description,
            label,
            manufacturer: info.manufacturer_id().to_string(),
            model: info.model().to_string(),
            serial: info.serial_number().to_string(),
            flags,
            objects,
        });
    }
    Ok(out)
}
