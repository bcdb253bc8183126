//! Chip-card key backend: ISO 7816 APDUs over PC/SC on hosts and over
//! `embedded-hal` buses (T=1) on firmware.
//!
//! **Not implemented yet.** This crate will hold the no_std APDU layer, the
//! signature-card profiles (generic ISO 7816-8, OpenPGP card) and the
//! transports, implementing `smime-core`'s key-backend traits. Today it
//! contains no code.
#![no_std]
#![forbid(unsafe_code)]
