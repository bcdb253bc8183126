//! BER/DER: the wire format under CMS.
//!
//! Three pieces, each without allocation:
//!
//! - [`tokenizer`]: a push tokenizer for streams. It takes input in chunks of
//!   any size (down to one byte) and emits [`Token`]s. Definite and indefinite
//!   lengths, constructed strings of any chunking, a nesting bound of
//!   [`MAX_DEPTH`] levels, every length checked against overflow and against
//!   its enclosing element.
//! - [`reader`]: a borrowed reader over a complete element in a slice, for the
//!   bounded parts of a message (recipient infos, certificates, algorithm
//!   identifiers). Tolerates BER (indefinite lengths, long-form lengths).
//! - [`encode`]: header and length encoding for the streaming encoders, in
//!   definite form (when sizes are known) or indefinite form.

pub mod encode;
pub mod reader;
pub mod tokenizer;

pub use reader::{SliceReader, Tlv};
pub use tokenizer::{Header, Length, Token, Tokenizer};

/// Deepest nesting accepted by the tokenizer and the slice reader.
///
/// A CMS EnvelopedData with a certificate in its originator info reaches about
/// 12 levels; signed data nested in enveloped data about 20.
pub const MAX_DEPTH: usize = MAX_DEPTH_U8 as usize;

/// [`MAX_DEPTH`] as reported in [`ErrorKind::DepthExceeded`](crate::ErrorKind::DepthExceeded).
pub const MAX_DEPTH_U8: u8 = 32;

/// Tag class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Universal.
    Universal,
    /// Application.
    Application,
    /// Context-specific.
    ContextSpecific,
    /// Private.
    Private,
}

/// A BER tag: class, constructed bit, and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    /// Class.
    pub class: Class,
    /// Constructed (true) or primitive.
    pub constructed: bool,
    /// Tag number.
    pub number: u32,
}

impl Tag {
    /// INTEGER.
    pub const INTEGER: Tag = Tag::universal(2, false);
    /// BIT STRING.
    pub const BIT_STRING: Tag = Tag::universal(3, false);
    /// OCTET STRING (primitive form).
    pub const OCTET_STRING: Tag = Tag::universal(4, false);
    /// NULL.
    pub const NULL: Tag = Tag::universal(5, false);
    /// OBJECT IDENTIFIER.
    pub const OID: Tag = Tag::universal(6, false);
    /// SEQUENCE.
    pub const SEQUENCE: Tag = Tag::universal(16, true);
    /// SET.
    pub const SET: Tag = Tag::universal(17, true);
    /// BOOLEAN.
    pub const BOOLEAN: Tag = Tag::universal(1, false);

    /// A universal tag.
    pub const fn universal(number: u32, constructed: bool) -> Tag {
        Tag { class: Class::Universal, constructed, number }
    }

    /// A context-specific tag `[number]`.
    pub const fn context(number: u32, constructed: bool) -> Tag {
        Tag { class: Class::ContextSpecific, constructed, number }
    }

    /// The first identifier octet (the whole identifier for numbers below 31).
    pub const fn first_octet(&self) -> u8 {
        let class = match self.class {
            Class::Universal => 0x00,
            Class::Application => 0x40,
            Class::ContextSpecific => 0x80,
            Class::Private => 0xC0,
        };
        let c = if self.constructed { 0x20 } else { 0 };
        let n = if self.number < 31 { self.number.to_le_bytes()[0] } else { 0x1F };
        class | c | n
    }

    /// Same class and number, ignoring the constructed bit (strings may be
    /// either in BER).
    pub const fn same_type(&self, other: &Tag) -> bool {
        self.number == other.number
            && (self.class as u8) == (other.class as u8)
    }

    /// Encodes the identifier octets into `out`; returns the count (1..=6).
    pub fn encode(&self, out: &mut [u8; 6]) -> usize {
        out[0] = self.first_octet();
        if self.number < 31 {
            return 1;
        }
        let mut n = self.number;
        let mut tmp = [0u8; 5];
        let mut i = 5;
        loop {
            i -= 1;
            tmp[i] = (n & 0x7F) as u8;
            n >>= 7;
            if n == 0 {
                break;
            }
        }
        let len = 5 - i;
        for (k, b) in tmp[i..].iter().enumerate() {
            out[1 + k] = if k + 1 < len { b | 0x80 } else { *b };
        }
        1 + len
    }
}

/// Parses identifier octets at the start of `input`.
/// Returns `Ok(None)` when more input is needed.
pub(crate) fn parse_tag(input: &[u8]) -> crate::Result<Option<(Tag, usize)>> {
    use crate::error::{Error, ErrorKind};
    let Some(&b0) = input.first() else { return Ok(None) };
    let class = match b0 >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::ContextSpecific,
        _ => Class::Private,
    };
    let constructed = b0 & 0x20 != 0;
    if b0 & 0x1F != 0x1F {
        return Ok(Some((Tag { class, constructed, number: u32::from(b0 & 0x1F) }, 1)));
    }
    let mut number: u32 = 0;
    for i in 1..6 {
        let Some(&b) = input.get(i) else { return Ok(None) };
        if i == 1 && b == 0x80 {
            // Leading zero septet: not minimal, and a way to hide tags.
            return Err(Error::new(ErrorKind::InvalidEncoding));
        }
        if number > (u32::MAX >> 7) {
            return Err(Error::new(ErrorKind::InvalidEncoding));
        }
        number = (number << 7) | u32::from(b & 0x7F);
        if b & 0x80 == 0 {
            return Ok(Some((Tag { class, constructed, number }, i + 1)));
        }
    }
    Err(Error::new(ErrorKind::InvalidEncoding))
}

/// A parsed length: definite or indefinite.
/// Returns `Ok(None)` when more input is needed. Long-form lengths of up to 8
/// octets are accepted (BER allows non-minimal forms); more is an overflow.
pub(crate) fn parse_length(input: &[u8]) -> crate::Result<Option<(Length, usize)>> {
    use crate::error::{Error, ErrorKind};
    let Some(&b0) = input.first() else { return Ok(None) };
    if b0 < 0x80 {
        return Ok(Some((Length::Definite(u64::from(b0)), 1)));
    }
    if b0 == 0x80 {
        return Ok(Some((Length::Indefinite, 1)));
    }
    let n = usize::from(b0 & 0x7F);
    if n == 0x7F {
        return Err(Error::new(ErrorKind::InvalidEncoding));
    }
    if n > 8 {
        return Err(Error::new(ErrorKind::LengthOverflow));
    }
    if input.len() < 1 + n {
        return Ok(None);
    }
    let mut len: u64 = 0;
    for &b in &input[1..=n] {
        len = (len << 8) | u64::from(b);
    }
    Ok(Some((Length::Definite(len), 1 + n)))
}
