//! Distinguished names: a borrowed view and its text form.
//!
//! ```text
//! Name ::= CHOICE { rdnSequence RDNSequence }
//! RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
//! RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
//! AttributeTypeAndValue ::= SEQUENCE { type AttributeType, value AttributeValue }
//! ```
//! ([RFC 5280 § 4.1.2.4](https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.4))
//!
//! A [`NameRef`] is checked once, at construction; its iterators and its
//! [`Display`](fmt::Display) cannot fail afterwards.
//!
//! The text form lists the attributes in encoded order (not reversed as in
//! RFC 4514), `type=value` separated by `", "`, the attributes of one
//! multi-valued RDN joined by `" + "`: `O=Example, OU=Mail, CN=Alice`. Known
//! types get their short names ([`short_name`]), others their dotted OID.
//! Values are decoded from PrintableString, UTF8String, IA5String,
//! VisibleString, NumericString, TeletexString (as Latin-1), BMPString and
//! UniversalString; other types are shown as `#` and the hex of their
//! encoding. Escaping follows RFC 4514: `,+"\<>;` get a backslash, as do a
//! leading `#` or space and a trailing space; control characters are written
//! as `\XX` (the hex of their UTF-8 bytes). This matches
//! `openssl x509 -nameopt sep_comma_plus_space,esc_2253,esc_ctrl,utf8,sname,dump_nostr,dump_der`.

use core::fmt::{self, Write as _};

use crate::ber::{Class, SliceReader, Tag, Tlv};
use crate::error::{Error, ErrorKind, Result};
use crate::oid;

/// A borrowed, checked X.501 `Name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NameRef<'a> {
    /// The whole `Name` TLV.
    der: &'a [u8],
    /// Its content octets (the RDNs).
    rdns: &'a [u8],
}

impl<'a> NameRef<'a> {
    /// Checks and borrows the DER (or BER) of a `Name`; nothing may follow it.
    pub fn from_der(der: &'a [u8]) -> Result<Self> {
        let mut r = SliceReader::new(der);
        let tlv = r.read()?;
        r.finish()?;
        Self::from_tlv(&tlv)
    }

    /// Checks and borrows a parsed `Name` element.
    pub(crate) fn from_tlv(tlv: &Tlv<'a>) -> Result<Self> {
        let tlv = tlv.expect(Tag::SEQUENCE)?;
        let mut rdns = tlv.reader();
        while let Some(rdn) = rdns.next_tlv()? {
            let rdn = rdn.expect(Tag::SET)?;
            let mut atvs = rdn.reader();
            let mut count = 0usize;
            while let Some(atv) = atvs.next_tlv()? {
                parse_atv(&atv)?;
                count += 1;
            }
            if count == 0 {
                return Err(Error::new(ErrorKind::InvalidValue));
            }
        }
        Ok(Self { der: tlv.raw, rdns: tlv.value })
    }

    /// The whole `Name` TLV as encoded (what CMS `IssuerAndSerialNumber`
    /// matching compares).
    pub fn der(&self) -> &'a [u8] {
        self.der
    }

    /// Whether the name has no attributes (allowed for a subject that is
    /// named in subjectAltName only).
    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }

    /// All attributes, in encoded order (multi-valued RDNs flattened).
    pub fn attributes(&self) -> NameAttributes<'a> {
        NameAttributes { rdns: SliceReader::new(self.rdns), atvs: SliceReader::new(&[]) }
    }

    /// The first attribute of type `oid` (content octets of the OID).
    pub fn find(&self, oid: &[u8]) -> Option<AttributeRef<'a>> {
        self.attributes().find(|a| a.oid == oid)
    }

    /// The first emailAddress (PKCS #9) attribute's value octets.
    pub fn email(&self) -> Option<&'a [u8]> {
        self.find(oid::EMAIL_ADDRESS).map(|a| a.value)
    }

    /// The first commonName attribute.
    pub fn common_name(&self) -> Option<AttributeRef<'a>> {
        self.find(oid::AT_COMMON_NAME)
    }
}

impl fmt::Display for NameRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rdns = SliceReader::new(self.rdns);
        let mut first_rdn = true;
        while let Ok(Some(rdn)) = rdns.next_tlv() {
            if !first_rdn {
                f.write_str(", ")?;
            }
            first_rdn = false;
            let mut atvs = rdn.reader();
            let mut first = true;
            while let Ok(Some(atv)) = atvs.next_tlv() {
                let Ok(a) = parse_atv(&atv) else { break };
                if !first {
                    f.write_str(" + ")?;
                }
                first = false;
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

/// One attribute of a name: its type and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributeRef<'a> {
    /// The attribute type (OID content octets).
    pub oid: &'a [u8],
    /// The tag of the value (PrintableString, UTF8String, ...).
    pub tag: Tag,
    /// The value's content octets.
    pub value: &'a [u8],
    /// The value's whole encoding.
    pub value_der: &'a [u8],
}

impl<'a> AttributeRef<'a> {
    /// The short name of the attribute type (`CN`, `O`, ...), if known.
    pub fn short_name(&self) -> Option<&'static str> {
        short_name(self.oid)
    }

    /// The value as text (decoded and escaped as described in the
    /// [module docs](self)).
    pub fn display_value(&self) -> AttributeValue<'a> {
        AttributeValue { tag: self.tag, value: self.value, der: self.value_der }
    }

    /// The value decoded as text without escaping, if it is a string type
    /// this module decodes and is well-formed.
    pub fn chars(&self) -> Option<impl Iterator<Item = char> + 'a> {
        let kind = StringKind::of(self.tag)?;
        if !kind.is_valid(self.value) {
            return None;
        }
        Some(Chars { kind, rest: self.value })
    }
}

impl fmt::Display for AttributeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.short_name() {
            Some(n) => f.write_str(n)?,
            None => write!(f, "{}", DottedOid(self.oid))?,
        }
        f.write_char('=')?;
        write!(f, "{}", self.display_value())
    }
}

/// An attribute value as escaped text (see the [module docs](self)).
#[derive(Clone, Copy, Debug)]
pub struct AttributeValue<'a> {
    tag: Tag,
    value: &'a [u8],
    der: &'a [u8],
}

impl fmt::Display for AttributeValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(kind) = StringKind::of(self.tag).filter(|k| k.is_valid(self.value)) else {
            f.write_char('#')?;
            return write_hex(f, self.der);
        };
        let mut chars = Chars { kind, rest: self.value }.peekable();
        let mut first = true;
        while let Some(c) = chars.next() {
            let last = chars.peek().is_none();
            escape_char(f, c, first, last)?;
            first = false;
        }
        Ok(())
    }
}

fn escape_char(f: &mut fmt::Formatter<'_>, c: char, first: bool, last: bool) -> fmt::Result {
    match c {
        ',' | '+' | '"' | '\\' | '<' | '>' | ';' => {
            f.write_char('\\')?;
            f.write_char(c)
        }
        '#' if first => f.write_str("\\#"),
        ' ' if first || last => f.write_str("\\ "),
        c if c.is_control() => {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                write!(f, "\\{b:02X}")?;
            }
            Ok(())
        }
        c => f.write_char(c),
    }
}

/// Iterator over the attributes of a [`NameRef`].
#[derive(Clone, Debug)]
pub struct NameAttributes<'a> {
    rdns: SliceReader<'a>,
    atvs: SliceReader<'a>,
}

impl<'a> Iterator for NameAttributes<'a> {
    type Item = AttributeRef<'a>;

    fn next(&mut self) -> Option<AttributeRef<'a>> {
        loop {
            if let Some(atv) = self.atvs.next_tlv().ok().flatten() {
                return parse_atv(&atv).ok();
            }
            let rdn = self.rdns.next_tlv().ok().flatten()?;
            self.atvs = rdn.reader();
        }
    }
}

fn parse_atv<'a>(atv: &Tlv<'a>) -> Result<AttributeRef<'a>> {
    let atv = atv.expect(Tag::SEQUENCE)?;
    let mut r = atv.reader();
    let oid = r.read_expect(Tag::OID)?.value;
    if oid.is_empty() {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let value = r.read()?;
    r.finish()?;
    Ok(AttributeRef { oid, tag: value.tag, value: value.value, value_der: value.raw })
}

/// The short name of a name attribute type, for the types this module knows.
pub fn short_name(attribute_type: &[u8]) -> Option<&'static str> {
    Some(match attribute_type {
        oid::AT_COMMON_NAME => "CN",
        oid::AT_SURNAME => "SN",
        oid::AT_SERIAL_NUMBER => "serialNumber",
        oid::AT_COUNTRY => "C",
        oid::AT_LOCALITY => "L",
        oid::AT_STATE => "ST",
        oid::AT_STREET => "street",
        oid::AT_ORGANIZATION => "O",
        oid::AT_ORGANIZATIONAL_UNIT => "OU",
        oid::AT_TITLE => "title",
        oid::AT_POSTAL_CODE => "postalCode",
        oid::AT_GIVEN_NAME => "GN",
        oid::AT_INITIALS => "initials",
        oid::AT_GENERATION_QUALIFIER => "generationQualifier",
        oid::AT_DN_QUALIFIER => "dnQualifier",
        oid::AT_PSEUDONYM => "pseudonym",
        oid::AT_ORGANIZATION_IDENTIFIER => "organizationIdentifier",
        oid::EMAIL_ADDRESS => "emailAddress",
        oid::DOMAIN_COMPONENT => "DC",
        oid::USER_ID => "UID",
        _ => return None,
    })
}

/// Displays OID content octets in dotted form (`2.5.4.3`); a malformed
/// encoding is shown as `#` and hex.
#[derive(Clone, Copy, Debug)]
pub struct DottedOid<'a>(pub &'a [u8]);

impl fmt::Display for DottedOid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Check first: every arc ends, none starts with 0x80, none overflows u64.
        let mut valid = !self.0.is_empty() && self.0.last().is_some_and(|b| b & 0x80 == 0);
        let mut start = true;
        let mut septets = 0u32;
        for &b in self.0 {
            if start && b == 0x80 {
                valid = false;
            }
            septets += 1;
            if septets > 9 {
                valid = false;
            }
            start = b & 0x80 == 0;
            if start {
                septets = 0;
            }
        }
        if !valid {
            f.write_char('#')?;
            return write_hex(f, self.0);
        }
        let mut arc: u64 = 0;
        let mut first = true;
        for &b in self.0 {
            arc = (arc << 7) | u64::from(b & 0x7F);
            if b & 0x80 != 0 {
                continue;
            }
            if first {
                let (x, y) = match arc {
                    0..=39 => (0, arc),
                    40..=79 => (1, arc - 40),
                    _ => (2, arc - 80),
                };
                write!(f, "{x}.{y}")?;
                first = false;
            } else {
                write!(f, ".{arc}")?;
            }
            arc = 0;
        }
        Ok(())
    }
}

pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02X}")?;
    }
    Ok(())
}

/// The string types the text form decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StringKind {
    /// UTF8String.
    Utf8,
    /// One byte per character, read as Latin-1 (Printable, IA5, Visible,
    /// Numeric, Teletex).
    Latin1,
    /// BMPString: UTF-16BE (UCS-2), surrogates paired when well-formed.
    Bmp,
    /// UniversalString: UCS-4BE.
    Universal,
}

impl StringKind {
    fn of(tag: Tag) -> Option<Self> {
        if tag.class != Class::Universal || tag.constructed {
            return None;
        }
        Some(match tag.number {
            12 => Self::Utf8,
            18 | 19 | 20 | 22 | 26 => Self::Latin1,
            30 => Self::Bmp,
            28 => Self::Universal,
            _ => return None,
        })
    }

    fn is_valid(self, v: &[u8]) -> bool {
        match self {
            Self::Utf8 => core::str::from_utf8(v).is_ok(),
            Self::Latin1 => true,
            Self::Bmp => {
                v.len().is_multiple_of(2)
                    && char::decode_utf16(
                        v.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])),
                    )
                    .all(|c| c.is_ok())
            }
            Self::Universal => {
                v.len().is_multiple_of(4)
                    && v.chunks_exact(4).all(|c| {
                        char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])).is_some()
                    })
            }
        }
    }
}

/// Characters of a validated string value.
struct Chars<'a> {
    kind: StringKind,
    rest: &'a [u8],
}

impl Iterator for Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        match self.kind {
            StringKind::Latin1 => {
                let (&b, rest) = self.rest.split_first()?;
                self.rest = rest;
                Some(char::from(b))
            }
            StringKind::Utf8 => {
                let s = core::str::from_utf8(self.rest).ok()?;
                let c = s.chars().next()?;
                self.rest = self.rest.get(c.len_utf8()..)?;
                Some(c)
            }
            StringKind::Bmp => {
                let hi = u16::from_be_bytes([*self.rest.first()?, *self.rest.get(1)?]);
                let (units, c) = if (0xD800..0xDC00).contains(&hi) {
                    let lo = u16::from_be_bytes([*self.rest.get(2)?, *self.rest.get(3)?]);
                    (4, char::decode_utf16([hi, lo]).next()?.ok()?)
                } else {
                    (2, char::decode_utf16([hi]).next()?.ok()?)
                };
                self.rest = self.rest.get(units..)?;
                Some(c)
            }
            StringKind::Universal => {
                let c = self.rest.get(..4)?;
                let c = char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))?;
                self.rest = self.rest.get(4..)?;
                Some(c)
            }
        }
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
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    fn name(der: &[u8]) -> NameRef<'_> {
        NameRef::from_der(der).unwrap()
    }

    #[test]
    fn display_simple_and_multi_valued() {
        // SEQUENCE { SET { CN "Alice" }, SET { O "Ex", C "DE" } }
        let der = [
            0x30, 0x28, //
            0x31, 0x0E, 0x30, 0x0C, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, 0x05, b'A', b'l', b'i',
            b'c', b'e', //
            0x31, 0x16, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x0A, 0x13, 0x02, b'E', b'x', 0x30,
            0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'D', b'E',
        ];
        let n = name(&der);
        assert_eq!(n.to_string(), "CN=Alice, O=Ex + C=DE");
        assert_eq!(n.attributes().count(), 3);
        assert_eq!(n.common_name().unwrap().value, b"Alice");
        assert_eq!(n.email(), None);
        assert_eq!(n.der(), &der[..]);
    }

    fn one(oid: &[u8], tag: u8, value: &[u8]) -> std::vec::Vec<u8> {
        let atv_len = 2 + oid.len() + 2 + value.len();
        let mut v =
            std::vec![0x30, (atv_len + 4) as u8, 0x31, (atv_len + 2) as u8, 0x30, atv_len as u8];
        v.extend([0x06, oid.len() as u8]);
        v.extend(oid);
        v.extend([tag, value.len() as u8]);
        v.extend(value);
        v
    }

    #[test]
    fn strings_and_escapes() {
        let cn = oid::AT_COMMON_NAME;
        let cases: &[(u8, &[u8], &str)] = &[
            (0x0C, "Jürgen".as_bytes(), "CN=Jürgen"),
            (0x14, b"J\xFCrgen", "CN=Jürgen"),
            (0x1E, b"\x00J\x00\xFC\xD8\x3D\xDE\x00", "CN=Jü😀"),
            (0x1C, b"\x00\x00\x00a\x00\x01\xF6\x00", "CN=a😀"),
            (0x13, b"a,b+c", "CN=a\\,b\\+c"),
            (0x0C, b" #x ", "CN=\\ #x\\ "),
            (0x0C, b"#x", "CN=\\#x"),
            (0x0C, b"a\nb\x7F", "CN=a\\0Ab\\7F"),
            (0x0C, b"q\"<>;\\", "CN=q\\\"\\<\\>\\;\\\\"),
            (0x0C, b"\xFF", "CN=#0C01FF"),
            (0x1E, b"\xD8\x00", "CN=#1E02D800"),
            (0x02, b"\x05", "CN=#020105"),
        ];
        for (tag, value, want) in cases {
            let der = one(cn, *tag, value);
            assert_eq!(name(&der).to_string(), *want);
        }
        let der = one(oid::EMAIL_ADDRESS, 0x16, b"a@b.example");
        let n = name(&der);
        assert_eq!(n.to_string(), "emailAddress=a@b.example");
        assert_eq!(n.email(), Some(&b"a@b.example"[..]));
        let der = one(&[0x2A, 0x03, 0x87, 0x04], 0x0C, b"v");
        assert_eq!(name(&der).to_string(), "1.2.3.900=v");
        let der = one(&[0x88, 0x37, 0x01], 0x0C, b"v");
        assert_eq!(name(&der).to_string(), "2.999.1=v");
        let a = name(&der).attributes().next().unwrap();
        assert_eq!(a.chars().unwrap().collect::<std::string::String>(), "v");
    }

    #[test]
    fn dotted_oid_malformed() {
        assert_eq!(DottedOid(&[0x2A, 0x86]).to_string(), "#2A86");
        assert_eq!(DottedOid(&[0x2A, 0x80, 0x01]).to_string(), "#2A8001");
        assert_eq!(DottedOid(&[]).to_string(), "#");
        assert_eq!(DottedOid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D]).to_string(), "1.2.840.113549");
    }

    #[test]
    fn structure_errors() {
        assert!(NameRef::from_der(&[0x30, 0x00]).unwrap().is_empty());
        for bad in [
            &[0x31, 0x00][..],                                       // SET, not SEQUENCE
            &[0x30, 0x02, 0x31, 0x00],                               // empty RDN
            &[0x30, 0x02, 0x30, 0x00],                               // RDN not a SET
            &[0x30, 0x06, 0x31, 0x04, 0x30, 0x02, 0x06, 0x00],       // no value, empty OID
            &[0x30, 0x07, 0x31, 0x05, 0x30, 0x03, 0x06, 0x01, 0x55], // no value
            &[0x30, 0x00, 0x00],                                     // trailing
        ] {
            assert!(NameRef::from_der(bad).is_err(), "{bad:02x?}");
        }
    }
}
