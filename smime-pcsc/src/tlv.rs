//! A BER-TLV reader for what cards return (ISO 7816-4 §5.2 and the OpenPGP
//! card's data objects).
//!
//! Cards are not strict DER encoders, so the reader tolerates:
//! - `00` and `FF` padding before and between data objects (ISO 7816-4
//!   allows both);
//! - non-minimal lengths (`81 05`, `82 00 05`);
//! - tags of up to three bytes.
//!
//! It refuses what cannot be read safely: a length running past the data,
//! the indefinite form, lengths of more than three bytes. Searching
//! constructed objects is depth-bounded.

/// One data object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, its bytes big-endian (`0x7F21`, `0x5F50`, `0x81`).
    pub tag: u32,
    /// The value.
    pub value: &'a [u8],
}

impl Tlv<'_> {
    /// Whether the tag is constructed (bit 6 of its first byte).
    pub fn constructed(&self) -> bool {
        let first = if self.tag > 0xFFFF {
            self.tag >> 16
        } else if self.tag > 0xFF {
            self.tag >> 8
        } else {
            self.tag
        };
        first & 0x20 != 0
    }
}

/// The TLV reader found something it cannot read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlvError;

impl core::fmt::Display for TlvError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("malformed BER-TLV data")
    }
}

/// The data objects in a byte string, in order.
#[derive(Clone, Debug)]
pub struct TlvReader<'a> {
    rest: &'a [u8],
}

impl<'a> TlvReader<'a> {
    /// A reader over `data`.
    pub const fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    fn read(&mut self) -> Result<Option<Tlv<'a>>, TlvError> {
        // Padding between objects.
        while let [0x00 | 0xFF, tail @ ..] = self.rest {
            self.rest = tail;
        }
        let data = self.rest;
        let Some(&first) = data.first() else { return Ok(None) };
        let mut tag = u32::from(first);
        let mut i = 1;
        if first & 0x1F == 0x1F {
            // Subsequent tag bytes: bit 8 set means another follows.
            loop {
                let b = *data.get(i).ok_or(TlvError)?;
                tag = (tag << 8) | u32::from(b);
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
                if i >= 3 {
                    return Err(TlvError);
                }
            }
        }
        let l0 = *data.get(i).ok_or(TlvError)?;
        i += 1;
        let len = match l0 {
            0..=0x7F => usize::from(l0),
            0x81..=0x83 => {
                let n = usize::from(l0 & 0x7F);
                let bytes = data.get(i..i + n).ok_or(TlvError)?;
                i += n;
                bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b))
            }
            // Indefinite length, or more than 16 MiB.
            _ => return Err(TlvError),
        };
        let value = data.get(i..).and_then(|d| d.get(..len)).ok_or(TlvError)?;
        self.rest = &data[i + len..];
        Ok(Some(Tlv { tag, value }))
    }
}

impl<'a> Iterator for TlvReader<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.read() {
            Ok(Some(t)) => Some(Ok(t)),
            Ok(None) => None,
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// How deep [`find`] looks into constructed objects.
pub const MAX_DEPTH: usize = 8;

/// Finds the first object with `tag` in `data`, looking into constructed
/// objects (depth-first, at most [`MAX_DEPTH`] levels). A malformed object
/// on the way is an error; an absent tag is `Ok(None)`.
pub fn find(data: &[u8], tag: u32) -> Result<Option<&[u8]>, TlvError> {
    find_at(data, tag, 0)
}

fn find_at(data: &[u8], tag: u32, depth: usize) -> Result<Option<&[u8]>, TlvError> {
    if depth >= MAX_DEPTH {
        return Ok(None);
    }
    for t in TlvReader::new(data) {
        let t = t?;
        if t.tag == tag {
            return Ok(Some(t.value));
        }
        if t.constructed()
            && let Some(v) = find_at(t.value, tag, depth + 1)?
        {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_cards_send() {
        // OpenPGP application related data: 6E { 4F .., 73 { C0 .., C5 .. } }
        let data = [
            0x6E, 0x0F, 0x4F, 0x02, 0xD2, 0x76, 0x73, 0x81, 0x08, 0xC0, 0x01, 0x7F, 0xC5, 0x03, 1,
            2, 3, 0x00, 0xFF,
        ];
        assert_eq!(find(&data, 0x4F).unwrap(), Some(&[0xD2, 0x76][..]));
        assert_eq!(find(&data, 0xC5).unwrap(), Some(&[1, 2, 3][..]));
        assert_eq!(find(&data, 0xC6).unwrap(), None);
        // Two-byte tags, padding, long length forms.
        let data = [0xFF, 0x00, 0x7F, 0x21, 0x82, 0x00, 0x02, 0xAA, 0xBB, 0x5F, 0x50, 0x00];
        let mut r = TlvReader::new(&data);
        assert_eq!(r.next(), Some(Ok(Tlv { tag: 0x7F21, value: &[0xAA, 0xBB] })));
        assert_eq!(r.next(), Some(Ok(Tlv { tag: 0x5F50, value: &[] })));
        assert_eq!(r.next(), None);
        assert!(Tlv { tag: 0x7F21, value: &[] }.constructed());
        assert!(!Tlv { tag: 0x5F50, value: &[] }.constructed());
    }

    #[test]
    fn refuses_what_cannot_be_read() {
        for bad in [
            &[0x4F, 0x05, 1, 2][..],                   // runs past the end
            &[0x4F, 0x80, 1, 2, 0, 0][..],             // indefinite
            &[0x4F, 0x84, 0, 0, 0, 1, 1][..],          // 4 length bytes
            &[0x5F][..],                               // tag cut off
            &[0x5F, 0x81, 0x82, 0x83, 0x01, 0x00][..], // tag too long
            &[0x4F][..],                               // no length
        ] {
            assert_eq!(find(bad, 0x99), Err(TlvError), "{bad:02X?}");
        }
        // Deep nesting ends without recursion beyond the bound.
        let mut deep = [0u8; 64];
        for i in 0..32 {
            deep[2 * i] = 0x30;
            deep[2 * i + 1] = u8::try_from(62 - 2 * i).unwrap();
        }
        assert_eq!(find(&deep, 0x04), Ok(None));
    }
}
