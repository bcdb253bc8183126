//! Card responses on arbitrary input: the APDU channel (`61xx` GET RESPONSE
//! loops, `6Cxx`, chaining refusals, oversize and lying responses), the
//! BER-TLV reader, and the card profiles (`OpenPgpCard`, `Iso7816Card`)
//! behind `CardKey` (open, sign, decrypt, ECDH, PIN status), all over a
//! scripted transport whose answers come from the fuzz input.
//!
//! Checked: no panic, no hang (the transport counts the exchanges: every one
//! consumes input, so their number is bounded by the input's length); every
//! command the channel sends is a well-formed ISO 7816-4 APDU within the
//! transport's limits; every length returned fits the caller's buffer; TLV
//! values lie inside the input.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use common::{Cursor, keys};
use libfuzzer_sys::fuzz_target;
use smime_core::backend::{
    HashAlgorithm, KeyAgreement, KeyTransAlgorithm, KeyTransDecrypter, Signer, ToBeSigned,
};
use smime_pcsc::card::{
    CardKey, Iso7816Card, Iso7816Config, KeyRole, OpenPgpCard, PinEntry, SignatureCard,
};
use smime_pcsc::tlv::{self, TlvReader};
use smime_pcsc::transport::PinPadRequest;
use smime_pcsc::{Channel, Command, Limits, Pin, PinFormat, Transport, TransportError};

/// Checks that `c` is one well-formed command APDU (cases 1-4, short or
/// extended) within `limits`.
fn check_command(c: &[u8], limits: Limits) {
    assert!(c.len() >= 4, "command shorter than a header: {c:02X?}");
    assert!(c.len() <= limits.max_command, "command longer than the transport carries");
    let body = &c[4..];
    match body.len() {
        0 | 1 => {}
        _ if body[0] != 0 => {
            let lc = usize::from(body[0]);
            assert!(body.len() == 1 + lc || body.len() == 2 + lc, "bad short APDU {c:02X?}");
        }
        _ => {
            assert!(limits.extended, "extended APDU on a short-only transport");
            if body.len() != 3 {
                let lc = usize::from(u16::from_be_bytes([body[1], body[2]]));
                assert!(lc > 0, "extended Lc of 0");
                assert!(
                    body.len() == 3 + lc || body.len() == 5 + lc,
                    "bad extended APDU, {} bytes",
                    c.len()
                );
            }
        }
    }
}

const ERRORS: [TransportError; 11] = [
    TransportError::Removed,
    TransportError::Reset,
    TransportError::NoCard,
    TransportError::Timeout,
    TransportError::Protocol,
    TransportError::BufferTooSmall,
    TransportError::Cancelled,
    TransportError::PinTimeout,
    TransportError::Unsupported,
    TransportError::Busy,
    TransportError::Io,
];

const STATUS: [u16; 16] = [
    0x9000, 0x6100, 0x6110, 0x6101, 0x6C00, 0x6C10, 0x6C01, 0x6883, 0x6884, 0x63C2, 0x63C0,
    0x6982, 0x6983, 0x6282, 0x6B00, 0x6A82,
];

/// A transport whose answers come from the fuzz input.
struct Scripted<'a> {
    input: Cursor<'a>,
    limits: Limits,
    pin_pad: bool,
    /// The certificate a "smart" answer serves (READ BINARY, GET DATA 7F21).
    cert: &'static [u8],
    exchanges: usize,
    budget: usize,
    /// The last command was a chain link (CLA bit 0x10).
    prev_link: bool,
    /// The last command ended a chain, and was answered with 6Cxx.
    chain_end_6c: bool,
}

impl Scripted<'_> {
    fn count(&mut self) {
        self.exchanges += 1;
        assert!(self.exchanges <= self.budget, "{} exchanges: the channel loops", self.exchanges);
    }

    /// One answer into `response`.
    fn answer(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, TransportError> {
        let Some(c) = self.input.try_u8() else {
            // Out of input: the card is gone; everything must end now.
            return Err(TransportError::Removed);
        };
        match c >> 5 {
            0 => Err(ERRORS[usize::from(c & 0x0F) % ERRORS.len()]),
            // A transport that lies about the length (or returns fewer than
            // two bytes): the channel must refuse, not index out of bounds.
            1 => Ok(match c & 3 {
                0 => response.len() + 1 + usize::from(c >> 2 & 7),
                1 => 1,
                2 => 0,
                _ => response.len().saturating_add(usize::MAX / 2),
            }),
            // A card that answers from its "file system": the certificate.
            2 | 3 => {
                let ins = command.get(1).copied().unwrap_or(0);
                let p1p2 = usize::from(u16::from_be_bytes([command[2], command[3]]));
                let le = le_of(command);
                let (data, sw): (&[u8], u16) = match ins {
                    0xB0 => {
                        let off = p1p2 & 0x7FFF;
                        let s = self.cert.get(off..).unwrap_or(&[]);
                        let s = &s[..s.len().min(le)];
                        (s, if s.is_empty() { 0x6282 } else { 0x9000 })
                    }
                    0xCA if p1p2 == 0x7F21 => (self.cert, 0x9000),
                    _ if c & 1 == 0 => (&[], 0x9000),
                    _ => (&[], STATUS[usize::from(c >> 1 & 0x0F)]),
                };
                put(response, data, sw)
            }
            // Data from the input, then a status word from the table or the
            // input.
            _ => {
                let len = if c & 0x10 != 0 {
                    usize::from(self.input.u16()) % (self.limits.max_response + 1)
                } else {
                    usize::from(self.input.u8())
                };
                let data = self.input.bytes(len);
                let sw = if c & 0x08 != 0 {
                    self.input.u16()
                } else {
                    STATUS[usize::from(c & 0x07) * 2 % STATUS.len() + usize::from(c >> 6 & 1)]
                };
                put(response, data, sw)
            }
        }
    }
}

/// The Le (Ne) of a command, 0 when absent.
fn le_of(c: &[u8]) -> usize {
    let body = &c[4..];
    match body.len() {
        0 => 0,
        1 => match body[0] {
            0 => 256,
            n => usize::from(n),
        },
        _ if body[0] != 0 => {
            let lc = usize::from(body[0]);
            match body.get(1 + lc) {
                Some(0) => 256,
                Some(&n) => usize::from(n),
                None => 0,
            }
        }
        3 => match u16::from_be_bytes([body[1], body[2]]) {
            0 => 65536,
            n => usize::from(n),
        },
        _ => {
            let lc = usize::from(u16::from_be_bytes([body[1], body[2]]));
            match body.get(3 + lc..5 + lc) {
                Some(&[0, 0]) => 65536,
                Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
                _ => 0,
            }
        }
    }
}

fn put(response: &mut [u8], data: &[u8], sw: u16) -> Result<usize, TransportError> {
    let n = data.len() + 2;
    let dst = response.get_mut(..n).ok_or(TransportError::BufferTooSmall)?;
    dst[..data.len()].copy_from_slice(data);
    dst[data.len()..].copy_from_slice(&sw.to_be_bytes());
    Ok(n)
}

impl Transport for Scripted<'_> {
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, TransportError> {
        self.count();
        if std::env::var_os("FUZZ_TRACE").is_some() {
            eprintln!("> {command:02X?} (limits {:?})", self.limits);
        }
        // (Fixed: a 6Cxx answer to the last link of a chain used to make
        // the channel re-send the whole command as one over-long short APDU;
        // regression inputs in fuzz/regressions/apdu_response.)
        let link = command.first().is_some_and(|c| c & 0x10 != 0);
        check_command(command, self.limits);
        // (A 6Cxx re-send of an unchained command has the length of the
        // command before it, which fitted; only a chain's can be too long.)
        let _ = self.prev_link && !link;
        self.prev_link = link;
        let r = self.answer(command, response);
        self.chain_end_6c = matches!(r, Ok(n) if n >= 2 && n <= response.len() && response[n - 2] == 0x6C);
        r
    }
    fn limits(&self) -> Limits {
        self.limits
    }
    fn reset(&mut self, atr: &mut [u8]) -> Result<usize, TransportError> {
        self.count();
        let n = usize::from(self.input.u8() % 34);
        let src = self.input.bytes(n);
        let dst = atr.get_mut(..src.len()).ok_or(TransportError::BufferTooSmall)?;
        dst.copy_from_slice(src);
        Ok(src.len())
    }
    fn has_pin_pad(&self) -> bool {
        self.pin_pad
    }
    fn verify_pin_pad(
        &mut self,
        request: &PinPadRequest,
        response: &mut [u8],
    ) -> Result<usize, TransportError> {
        self.count();
        let header = request.header; // PIN-pad VERIFY: answered like a command
        self.answer(&header, response)
    }
}

/// Transports carry at least a 5-byte APDU (a GET RESPONSE); below that
/// the channel cannot work (and does not check: GET RESPONSE and the 6Cxx
/// resend are sent without a length check).
fn limits_from(b: u8, input: &mut Cursor<'_>) -> Limits {
    match b & 3 {
        0 => Limits::SHORT,
        1 => Limits { max_command: 65544, max_response: 65538, extended: true },
        2 => Limits {
            max_command: 5 + usize::from(input.u8()),
            max_response: 2 + usize::from(input.u8()),
            extended: false,
        },
        _ => Limits {
            max_command: 5 + usize::from(input.u16()),
            max_response: 2 + usize::from(input.u16()),
            extended: true,
        },
    }
}

const OUT_SIZES: [usize; 12] = [0, 1, 2, 16, 255, 256, 257, 258, 300, 1024, 4096, 70000];
const NE: [usize; 8] = [0, 1, 255, 256, 257, 4096, 65535, 65536];

/// Raw channel commands.
fn channel_ops(t: Scripted<'_>, ops: &mut Cursor<'_>) {
    let mut ch = Channel::new(t);
    let data = [0x5Au8; 70000];
    let mut out = vec![0u8; 70000];
    for _ in 0..16 {
        let Some(op) = ops.try_u8() else { break };
        if op & 0x80 != 0 {
            ch.set_extended(op & 0x40 != 0);
            assert!(!ch.extended() || ch.transport().limits.extended);
        }
        let dlen = match op >> 4 & 3 {
            0 => 0,
            1 => usize::from(ops.u8()),
            2 => usize::from(ops.u16()) % 1200,
            _ => usize::from(ops.u16()),
        };
        let ne = match op & 8 {
            0 => NE[usize::from(op & 7)],
            _ => usize::from(ops.u16()) + 1,
        };
        let size = OUT_SIZES[usize::from(ops.u8()) % OUT_SIZES.len()];
        let hdr = ops.bytes(4);
        let mut h = [0u8; 4];
        h[..hdr.len()].copy_from_slice(hdr);
        let cmd = Command::new(h[0], h[1], h[2], h[3]).with_data(&data[..dlen]).with_ne(ne);
        let buf = &mut out[..size];
        match ch.send_sw(&cmd, buf, "fuzz") {
            Ok((n, _sw)) => assert!(n <= size, "{n} bytes returned into {size}"),
            Err(e) => {
                let _ = e.to_string();
                if e.lost_state() {
                    assert!(ch.take_state_lost());
                }
            }
        }
    }
}

/// A card key over a card profile: open (or from a known certificate), then
/// operations.
fn card_ops<C: SignatureCard>(card: C, input_flags: u8, role: KeyRole, ops: &mut Cursor<'_>) {
    let pin = match input_flags >> 4 & 3 {
        0 => PinEntry::None,
        1 => PinEntry::PinPad,
        2 => PinEntry::Pin(Pin::new(b"123456").unwrap()),
        _ => PinEntry::Pin(Pin::new(b"12345678901234567890123456789012").unwrap()),
    };
    let key = if input_flags & 0x40 != 0 {
        let cert = if input_flags & 0x80 != 0 { keys::P256_CERT } else { keys::RSA_CERT };
        CardKey::with_certificate(card, role, cert, pin)
    } else {
        CardKey::open(card, role, pin)
    };
    let mut key = match key {
        Ok(k) => k,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!(key.certificate_der().len() <= smime_pcsc::card::MAX_CERTIFICATE);
    let mut out = [0u8; 1024];
    for _ in 0..6 {
        let Some(op) = ops.try_u8() else { break };
        let size = [0usize, 32, 64, 72, 104, 256, 512, 1024][usize::from(op >> 5)];
        match op & 7 {
            0 => {
                let _ = key.pin_status();
            }
            1 | 2 => {
                let hash = [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512]
                    [usize::from(op >> 3 & 3) % 3];
                key.set_hash(hash);
                let digest = [0x11u8; 64];
                let dlen = if op & 2 != 0 { hash.output_len() } else { usize::from(op >> 3) };
                let tbs = ToBeSigned { message: None, digest: &digest[..dlen] };
                if let Ok(n) = Signer::sign(&mut key, &tbs, &mut out[..size]) {
                    assert!(n <= size);
                    // Not checked: n <= max_signature_len(). CardKey passes
                    // on what the card returns (an RSA "signature" of any
                    // length); the CMS encoder is safe as it hands the
                    // signer a buffer of max_signature_len() bytes only.
                }
            }
            3 | 4 => {
                let ek = [0x22u8; 512];
                let n = [0usize, 1, 128, 256, 384, 512, 255, 257][usize::from(op >> 3 & 7)];
                if let Ok(m) = KeyTransDecrypter::decrypt_key(
                    &mut key,
                    &KeyTransAlgorithm::RsaPkcs1v15,
                    &ek[..n],
                    &mut out[..size],
                ) {
                    assert!(m <= size);
                }
            }
            5 => {
                let mut point = [0x33u8; 97];
                point[0] = 4;
                let n = [65usize, 97, 32, 0][usize::from(op >> 3 & 3)];
                if let Ok(m) = KeyAgreement::shared_secret(&mut key, &point[..n], &mut out[..size])
                {
                    assert!(m <= size);
                }
            }
            6 => key.set_pin(PinEntry::Pin(Pin::new(b"0000").unwrap())),
            _ => {
                let _ = key.card_mut().take_state_lost();
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The BER-TLV reader on the raw input: values inside the input, and the
    // iteration ends.
    let range = data.as_ptr_range();
    let mut count = 0;
    for t in TlvReader::new(data) {
        count += 1;
        assert!(count <= data.len() + 1, "TLV reader does not advance");
        if let Ok(t) = t {
            let v = t.value.as_ptr_range();
            assert!(t.value.is_empty() || (v.start >= range.start && v.end <= range.end));
            let _ = t.constructed();
        }
    }
    let tag = match data.first() {
        Some(&b) if b & 1 == 0 => 0x7F21,
        Some(&b) => u32::from(b),
        None => 0x4F,
    };
    if let Ok(Some(v)) = tlv::find(data, tag) {
        let v = v.as_ptr_range();
        assert!(v.start >= range.start && v.end <= range.end);
    }

    // Then a scenario: the first byte says which, and the transport's limits.
    let mut input = Cursor::new(data);
    let head = input.u8();
    let flags = input.u8();
    let limits = limits_from(head, &mut input);
    // Operations (up to 31 bytes, as `flags` says), then the card's answers.
    let rest = input.rest();
    let (ops_bytes, answers) = rest.split_at(usize::from(flags & 0x1F).min(rest.len()));
    let mut ops = Cursor::new(ops_bytes);
    let t = Scripted {
        input: Cursor::new(answers),
        limits,
        pin_pad: head & 0x04 != 0,
        cert: if head & 0x08 != 0 { keys::P256_CERT } else { keys::RSA_CERT },
        exchanges: 0,
        budget: answers.len() + 64,
        prev_link: false,
        chain_end_6c: false,
    };
    let role = if head & 0x10 != 0 { KeyRole::Decryption } else { KeyRole::Signature };
    match head >> 5 {
        0 | 1 => channel_ops(t, &mut ops),
        2 | 3 | 4 => card_ops(OpenPgpCard::new(t), flags, role, &mut ops),
        _ => {
            let aid = [0xA0u8, 0, 0, 0, 0x63];
            let config = Iso7816Config {
                aid: (flags & 1 != 0).then_some(&aid[..]),
                cert_file: [0xC0, flags],
                decrypt_cert_file: (flags & 2 != 0).then_some([0xC0, 0x01]),
                pin_ref: 0x81,
                pin_format: match flags >> 2 & 3 {
                    0 => PinFormat::Ascii,
                    1 => PinFormat::AsciiPadded { len: 8, pad: 0xFF },
                    2 => PinFormat::AsciiPadded { len: flags, pad: 0 },
                    _ => PinFormat::Iso9564Format2,
                },
                pin_len: (flags & 0x0F, flags >> 4),
                sign_key_ref: 0x84,
                decrypt_key_ref: 0x85,
                sign_algorithm_ref: (flags & 4 != 0).then_some(0x02),
                decrypt_algorithm_ref: (flags & 8 != 0).then_some(0x1A),
                extended: head & 0x01 != 0,
            };
            card_ops(Iso7816Card::new(t, config), flags, role, &mut ops)
        }
    }
});
