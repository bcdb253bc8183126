//! PINs: held zeroized, formatted for VERIFY.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// How a PIN is put into a VERIFY command's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinFormat {
    /// The digits as ASCII, unpadded (OpenPGP card).
    Ascii,
    /// The digits as ASCII, padded with `pad` to `len` bytes (many ISO
    /// 7816-8 cards: 8 bytes, 0xFF).
    AsciiPadded {
        /// Total length.
        len: u8,
        /// Padding byte.
        pad: u8,
    },
    /// ISO 9564-1 format 2: `2N` then BCD digits, padded with `F` to 8 bytes.
    Iso9564Format2,
}

/// A PIN: 4 to 32 bytes, wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Pin {
    bytes: [u8; Self::MAX],
    len: usize,
}

impl core::fmt::Debug for Pin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Pin(..)")
    }
}

impl Pin {
    /// The longest PIN held.
    pub const MAX: usize = 32;

    /// A PIN from its characters; `None` if empty or longer than
    /// [`Pin::MAX`].
    pub fn new(pin: &[u8]) -> Option<Self> {
        if pin.is_empty() || pin.len() > Self::MAX {
            return None;
        }
        let mut bytes = [0u8; Self::MAX];
        bytes[..pin.len()].copy_from_slice(pin);
        Some(Self { bytes, len: pin.len() })
    }

    /// The PIN's characters.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}
