//! PKCS#11 URIs (RFC 7512): which token and object a key is.
//!
//! ```text
//! pkcs11:token=My%20Token;object=sign%20key;type=private?pin-source=file:/run/pin
//! ```
//!
//! Path attributes come after `pkcs11:` separated by `;`; query attributes
//! after `?` separated by `&`. Values are percent-decoded (`id` as raw
//! bytes, the others as UTF-8). Unknown path attributes are an error unless
//! vendor-specific (`x-...`); unknown query attributes are ignored. An
//! attribute given twice is an error.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use smime_core::backend::BackendErrorKind;
use zeroize::Zeroizing;

use crate::error::Error;

/// The object class an URI names (`type=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectType {
    /// `type=private`: a private key.
    Private,
    /// `type=public`: a public key.
    Public,
    /// `type=cert`: a certificate.
    Cert,
    /// `type=secret-key`: a secret key.
    SecretKey,
    /// `type=data`: a data object.
    Data,
}

impl ObjectType {
    /// The URI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Public => "public",
            Self::Cert => "cert",
            Self::SecretKey => "secret-key",
            Self::Data => "data",
        }
    }
}

/// A parsed RFC 7512 PKCS#11 URI.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token=`: the token label.
    pub token: Option<String>,
    /// `manufacturer=`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model=`: the token model.
    pub model: Option<String>,
    /// `serial=`: the token serial number.
    pub serial: Option<String>,
    /// `slot-id=`: the slot number.
    pub slot_id: Option<u64>,
    /// `object=`: the object label.
    pub object: Option<String>,
    /// `id=`: the object's CKA_ID (raw bytes).
    pub id: Option<Vec<u8>>,
    /// `type=`: the object class.
    pub object_type: Option<ObjectType>,
    /// `pin-value=` (query): the PIN itself.
    pub pin_value: Option<Zeroizing<String>>,
    /// `pin-source=` (query): a file (path or `file:` URI) whose first line is the PIN.
    pub pin_source: Option<String>,
    /// `module-path=` (query): the module's file.
    pub module_path: Option<PathBuf>,
    /// `module-name=` (query): the module's name.
    pub module_name: Option<String>,
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("token", &self.token)
            .field("manufacturer", &self.manufacturer)
            .field("model", &self.model)
            .field("serial", &self.serial)
            .field("slot_id", &self.slot_id)
            .field("object", &self.object)
            .field("id", &self.id)
            .field("object_type", &self.object_type)
            .field("pin_value", &self.pin_value.as_ref().map(|_| "<redacted>"))
            .field("pin_source", &self.pin_source)
            .field("module_path", &self.module_path)
            .field("module_name", &self.module_name)
            .finish()
    }
}

/// Whether `s` is a PKCS#11 URI (starts with `pkcs11:`, any case).
pub fn is_pkcs11_uri(s: &str) -> bool {
    s.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("pkcs11:"))
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(BackendErrorKind::Other, msg)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s` into bytes.
fn decode(name: &str, s: &str) -> Result<Vec<u8>, Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let v = b
                .get(i + 1)
                .and_then(|&h| hex(h))
                .zip(b.get(i + 2).and_then(|&l| hex(l)))
                .ok_or_else(|| bad(format!("PKCS#11 URI: bad percent encoding in {name}")))?;
            out.push(v.0 << 4 | v.1);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_str(name: &str, s: &str) -> Result<String, Error> {
    String::from_utf8(decode(name, s)?)
        .map_err(|_| bad(format!("PKCS#11 URI: {name} is not UTF-8")))
}

fn set<T>(slot: &mut Option<T>, name: &str, v: T) -> Result<(), Error> {
    if slot.is_some() {
        return Err(bad(format!("PKCS#11 URI: attribute {name} given twice")));
    }
    *slot = Some(v);
    Ok(())
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI.
    pub fn parse(s: &str) -> Result<Self, Error> {
        if !is_pkcs11_uri(s) {
            return Err(bad("not a PKCS#11 URI (must start with \"pkcs11:\")"));
        }
        let rest = &s[7..];
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut u = Self::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| bad(format!("PKCS#11 URI: attribute without value: {attr:?}")))?;
            match name {
                "token" => set(&mut u.token, name, decode_str(name, value)?)?,
                "manufacturer" => set(&mut u.manufacturer, name, decode_str(name, value)?)?,
                "model" => set(&mut u.model, name, decode_str(name, value)?)?,
                "serial" => set(&mut u.serial, name, decode_str(name, value)?)?,
                "object" => set(&mut u.object, name, decode_str(name, value)?)?,
                "id" => set(&mut u.id, name, decode(name, value)?)?,
                "slot-id" => {
                    let v = decode_str(name, value)?;
                    let n = v
                        .parse::<u64>()
                        .map_err(|_| bad(format!("PKCS#11 URI: slot-id is not a number: {v:?}")))?;
                    set(&mut u.slot_id, name, n)?;
                }
                "type" => {
                    let t = match decode_str(name, value)?.as_str() {
                        "private" => ObjectType::Private,
                        "public" => ObjectType::Public,
                        "cert" => ObjectType::Cert,
                        "secret-key" => ObjectType::SecretKey,
                        "data" => ObjectType::Data,
                        other => {
                            return Err(bad(format!("PKCS#11 URI: unknown type {other:?}")));
                        }
                    };
                    set(&mut u.object_type, name, t)?;
                }
                // Known to RFC 7512 / later drafts but not used here.
                "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer" => {}
                n if n.starts_with("x-") => {}
                n => return Err(bad(format!("PKCS#11 URI: unknown attribute {n:?}"))),
            }
        }
        if let Some(q) = query {
            for attr in q.split('&').filter(|a| !a.is_empty()) {
                let (name, value) = attr.split_once('=').unwrap_or((attr, ""));
                match name {
                    "pin-value" => {
                        let v = Zeroizing::new(decode_str(name, value)?);
                        set(&mut u.pin_value, name, v)?;
                    }
                    "pin-source" => set(&mut u.pin_source, name, decode_str(name, value)?)?,
                    "module-path" => {
                        set(
                            &mut u.module_path,
                            name,
                            PathBuf::from(decode_str(name, value)?),
                        )?;
                    }
                    "module-name" => set(&mut u.module_name, name, decode_str(name, value)?)?,
                    _ => {}
                }
            }
        }
        Ok(u)
    }
}

impl FromStr for Pkcs11Uri {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// Percent-encodes a path attribute value (RFC 7512 `pchar` minus `;`).
pub(crate) fn encode(v: &[u8]) -> String {
    let mut s = String::with_capacity(v.len());
    for &b in v {
        if b.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,=&".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Percent-encodes a query attribute value (RFC 7512 `pk11-qchar`: `&` and
/// `=` escaped, `/` and `?` kept).
fn encode_query(v: &[u8]) -> String {
    let mut s = String::with_capacity(v.len());
    for &b in v {
        if b.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,;/?|".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

impl fmt::Display for Pkcs11Uri {
    /// The URI in one canonical form: path attributes in the order token,
    /// manufacturer, model, serial, slot-id, object, id, type; then the query
    /// attributes module-name, module-path, pin-source. `pin-value` is never
    /// written (URIs end up in logs and error messages), and the attributes
    /// the parser ignores (`library-*`, `slot-*`, `x-*`, unknown query
    /// attributes) are not kept. Parsing the result gives the same URI
    /// without its PIN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pkcs11:")?;
        let mut sep = "";
        let mut path = |f: &mut fmt::Formatter<'_>, name: &str, v: &str| {
            let r = write!(f, "{sep}{name}={v}");
            sep = ";";
            r
        };
        for (name, v) in [
            ("token", &self.token),
            ("manufacturer", &self.manufacturer),
            ("model", &self.model),
            ("serial", &self.serial),
        ] {
            if let Some(v) = v {
                path(f, name, &encode(v.as_bytes()))?;
            }
        }
        if let Some(n) = self.slot_id {
            path(f, "slot-id", &n.to_string())?;
        }
        if let Some(v) = &self.object {
            path(f, "object", &encode(v.as_bytes()))?;
        }
        if let Some(v) = &self.id {
            path(f, "id", &encode_all(v))?;
        }
        if let Some(t) = self.object_type {
            path(f, "type", t.as_str())?;
        }
        let mut sep = "?";
        let module_path = self.module_path.as_ref().map(|p| p.to_string_lossy());
        for (name, v) in [
            ("module-name", self.module_name.as_deref()),
            ("module-path", module_path.as_deref()),
            ("pin-source", self.pin_source.as_deref()),
        ] {
            if let Some(v) = v {
                write!(f, "{sep}{name}={}", encode_query(v.as_bytes()))?;
                sep = "&";
            }
        }
        Ok(())
    }
}

/// Percent-encodes every byte (for `id=`).
pub(crate) fn encode_all(v: &[u8]) -> String {
    v.iter().map(|b| format!("%{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7512_examples() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;object=my%20key;type=private",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
        assert_eq!(u.object.as_deref(), Some("my key"));
        assert_eq!(u.object_type, Some(ObjectType::Private));

        let u =
            Pkcs11Uri::parse("pkcs11:id=%01%02?pin-value=1234&module-path=/usr/lib/x.so").unwrap();
        assert_eq!(u.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(u.pin_value.as_deref().map(String::as_str), Some("1234"));
        assert_eq!(u.module_path, Some(PathBuf::from("/usr/lib/x.so")));

        let u = Pkcs11Uri::parse(
            "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-source=file:/etc/token",
        )
        .unwrap();
        assert_eq!(u.manufacturer.as_deref(), Some("Snake Oil, Inc."));
        assert_eq!(u.pin_source.as_deref(), Some("file:/etc/token"));

        let u = Pkcs11Uri::parse("pkcs11:slot-id=3;serial=DECC0401648;x-vendor=1?foo=bar").unwrap();
        assert_eq!(u.slot_id, Some(3));
        assert_eq!(u.serial.as_deref(), Some("DECC0401648"));

        let u = Pkcs11Uri::parse("PKCS11:").unwrap();
        assert_eq!(u, Pkcs11Uri::default());
        let u = Pkcs11Uri::parse("pkcs11:object=a%3bb;id=A").unwrap();
        assert_eq!(u.object.as_deref(), Some("a;b"));
        assert_eq!(u.id.as_deref(), Some(&b"A"[..]));
        assert!(is_pkcs11_uri("Pkcs11:token=x"));
        assert!(!is_pkcs11_uri("pkcs1:token=x"));
        let u: Pkcs11Uri = "pkcs11:type=cert".parse().unwrap();
        assert_eq!(u.object_type, Some(ObjectType::Cert));
    }

    #[test]
    fn errors() {
        for s in [
            "token=x",
            "pkcs11:token=%2",
            "pkcs11:token=%zz",
            "pkcs11:token=a;token=b",
            "pkcs11:object=a?pin-value=1&pin-value=2",
            "pkcs11:frobnicate=1",
            "pkcs11:type=secret",
            "pkcs11:slot-id=x",
            "pkcs11:token",
            "pkcs11:id=%ff%fe;object=%ff",
        ] {
            assert!(Pkcs11Uri::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn debug_hides_pin() {
        let u = Pkcs11Uri::parse("pkcs11:object=k?pin-value=secret4711").unwrap();
        let d = format!("{u:?}");
        assert!(!d.contains("secret4711"), "{d}");
        assert!(d.contains("redacted"));
    }

    #[test]
    fn encode_roundtrip() {
        let label = "my key;1 %ü";
        let s = format!(
            "pkcs11:object={};id={}",
            encode(label.as_bytes()),
            encode_all(&[0, 0xff])
        );
        let u = Pkcs11Uri::parse(&s).unwrap();
        assert_eq!(u.object.as_deref(), Some(label));
        assert_eq!(u.id.as_deref(), Some(&[0u8, 0xff][..]));
    }

    #[test]
    fn display_is_canonical_and_parses_back() {
        let s = "pkcs11:type=private;id=%01%ab;object=sign%3bkey%20%C3%BC;x-v=1;slot-id=07;\
                 token=A%26B?pin-value=1234&module-path=/usr/lib/a%26b%3d.so&foo=bar&\
                 pin-source=file:/run/pin?x&module-name=softhsm";
        let u = Pkcs11Uri::parse(s).unwrap();
        let shown = u.to_string();
        assert_eq!(
            shown,
            "pkcs11:token=A&B;slot-id=7;object=sign%3Bkey%20%C3%BC;id=%01%AB;type=private\
             ?module-name=softhsm&module-path=/usr/lib/a%26b%3D.so&pin-source=file:/run/pin?x"
        );
        assert!(!shown.contains("1234"));
        let back = Pkcs11Uri::parse(&shown).unwrap();
        let mut without_pin = u.clone();
        without_pin.pin_value = None;
        assert_eq!(back, without_pin);
        assert_eq!(back.to_string(), shown);
        assert_eq!(Pkcs11Uri::default().to_string(), "pkcs11:");
        let only_query = Pkcs11Uri::parse("pkcs11:?pin-source=%2Fp").unwrap();
        assert_eq!(only_query.to_string(), "pkcs11:?pin-source=/p");
    }
}
