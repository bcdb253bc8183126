//! The transport a card profile talks through: one command APDU in, one
//! response APDU out.
//!
//! Implemented by the PC/SC reader ([`crate::pcsc`], feature `pcsc`) and the
//! ISO 7816-3 T=1 engine over an I2C bus ([`crate::t1`], feature
//! `embedded-hal`). Command chaining, `61xx` and `6Cxx` are handled above the
//! transport, in [`crate::apdu::Channel`]; a transport moves bytes.

use core::fmt;

/// What a transport can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest command APDU (header and all) the transport sends.
    pub max_command: usize,
    /// The longest response APDU (data and status word) it receives.
    pub max_response: usize,
    /// Whether extended-length APDUs (Lc/Le up to 65535) get through.
    pub extended: bool,
}

impl Limits {
    /// Short APDUs only: 5 + 255 bytes out, 256 + 2 in.
    pub const SHORT: Self = Self { max_command: 261, max_response: 258, extended: false };
}

/// Why a transport failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// The card was removed.
    Removed,
    /// The card was reset (by another process, a power loss, a
    /// resynchronisation): anything verified before (a PIN) is lost.
    Reset,
    /// No card in the reader.
    NoCard,
    /// The reader or card did not answer in time.
    Timeout,
    /// The link protocol failed (checksum, sequence, framing) after its
    /// retries.
    Protocol,
    /// The response did not fit the caller's buffer.
    BufferTooSmall,
    /// A PIN-pad entry was cancelled by the user.
    Cancelled,
    /// A PIN-pad entry timed out.
    PinTimeout,
    /// The transport cannot do this (a PIN pad that is not there).
    Unsupported,
    /// Another process holds the card exclusively.
    Busy,
    /// The bus or the reader failed.
    Io,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Removed => "card removed",
            Self::Reset => "card reset",
            Self::NoCard => "no card in the reader",
            Self::Timeout => "the card did not answer in time",
            Self::Protocol => "transmission protocol error",
            Self::BufferTooSmall => "response too long for the buffer",
            Self::Cancelled => "PIN entry cancelled",
            Self::PinTimeout => "PIN entry timed out",
            Self::Unsupported => "not supported by the reader",
            Self::Busy => "card in use by another process",
            Self::Io => "reader or bus failure",
        })
    }
}

/// A PIN to be entered on the reader's PIN pad (PC/SC part 10
/// `FEATURE_VERIFY_PIN_DIRECT`): the VERIFY command the reader completes with
/// the digits typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinPadRequest {
    /// CLA, INS, P1, P2 of the VERIFY command.
    pub header: [u8; 4],
    /// How the PIN is formatted in the command's data.
    pub format: crate::pin::PinFormat,
    /// Shortest PIN accepted, in digits.
    pub min_len: u8,
    /// Longest PIN accepted, in digits.
    pub max_len: u8,
}

/// One command APDU in, one response APDU out.
pub trait Transport {
    /// Sends `command` (a whole command APDU within
    /// [`limits`](Self::limits)) and writes the whole response, data and
    /// status word, into `response`; returns its length (at least 2).
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, TransportError>;

    /// What this transport carries.
    fn limits(&self) -> Limits;

    /// Starts an exclusive transaction: until
    /// [`end_transaction`](Self::end_transaction) no other process talks to
    /// the card, so a VERIFY and the signature it allows are not separated.
    /// Transports with a single user do nothing.
    fn begin_transaction(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    /// Ends the transaction [`begin_transaction`](Self::begin_transaction)
    /// started.
    fn end_transaction(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    /// Resets the card and writes its answer to reset into `atr`; returns
    /// the ATR's length.
    fn reset(&mut self, atr: &mut [u8]) -> Result<usize, TransportError>;

    /// Whether the reader has a PIN pad (PC/SC part 10 secure PIN entry).
    fn has_pin_pad(&self) -> bool {
        false
    }

    /// Runs a VERIFY with the PIN typed on the reader's PIN pad; writes the
    /// card's response into `response` and returns its length.
    fn verify_pin_pad(
        &mut self,
        request: &PinPadRequest,
        response: &mut [u8],
    ) -> Result<usize, TransportError> {
        let _ = (request, response);
        Err(TransportError::Unsupported)
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, TransportError> {
        T::transmit(self, command, response)
    }

    fn limits(&self) -> Limits {
        T::limits(self)
    }

    fn begin_transaction(&mut self) -> Result<(), TransportError> {
        T::begin_transaction(self)
    }

    fn end_transaction(&mut self) -> Result<(), TransportError> {
        T::end_transaction(self)
    }

    fn reset(&mut self, atr: &mut [u8]) -> Result<usize, TransportError> {
        T::reset(self, atr)
    }

    fn has_pin_pad(&self) -> bool {
        T::has_pin_pad(self)
    }

    fn verify_pin_pad(
        &mut self,
        request: &PinPadRequest,
        response: &mut [u8],
    ) -> Result<usize, TransportError> {
        T::verify_pin_pad(self, request, response)
    }
}
