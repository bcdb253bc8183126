//! Chip-card key backend for `smime-core`: ISO 7816-4 APDUs to signature
//! cards, over PC/SC on hosts and over an `embedded-hal` I2C bus (ISO 7816-3
//! T=1) on firmware.
//!
//! - [`apdu`]: command APDUs (cases 1-4, short and extended), command
//!   chaining, `61xx` GET RESPONSE and `6Cxx` handled by [`apdu::Channel`],
//!   status words mapped to errors. No heap.
//! - [`tlv`]: a BER-TLV reader for what cards return.
//! - [`transport`]: the [`Transport`](transport::Transport) trait a reader or
//!   bus implements.
//! - [`card`]: signature-card profiles behind one trait: a configurable ISO
//!   7816-8 profile and the OpenPGP card v3; [`card::CardKey`] implements the
//!   core's `Signer`, `KeyTransDecrypter` and `KeyAgreement`.
//! - `pcsc` (feature `pcsc`): readers through the PC/SC daemon, with part 10
//!   secure PIN entry.
//! - `t1` (feature `embedded-hal`): the T=1 block engine over I2C.
//!
//! A wrong PIN is never retried: a VERIFY runs once per operation the caller
//! asks for, and its status word (`63Cx`, `6983`) is reported as it is.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

pub mod apdu;
pub mod card;
pub mod pin;
pub mod tlv;
pub mod transport;

#[cfg(feature = "pcsc")]
pub mod pcsc;
#[cfg(feature = "embedded-hal")]
pub mod t1;

pub use apdu::{Channel, Command, Error, ErrorKind, StatusWord};
pub use pin::{Pin, PinFormat};
pub use transport::{Limits, PinPadRequest, Transport, TransportError};
