//! The T=1 block engine (ISO 7816-3 over I2C, SE05x / GP T=1' / plain
//! ISO framing) against a secure element whose blocks come from the fuzz
//! input: transmit, reset, resynchronise, abort, IFS negotiation and the
//! other S-blocks, and an APDU channel on top.
//!
//! The simulated SE reads a control byte per bus read: NACK (busy), bus
//! failure, raw bytes, or a block whose prologue and INF come from the input
//! and whose checksum is computed (so that the engine gets past the EDC and
//! into its protocol logic), optionally corrupted.
//!
//! Checked: no panic; every call ends within a bounded number of bus
//! operations (once the input is used up the SE only NACKs, and the engine
//! must give up: poll limits, retry limits, WTX limits); lengths returned fit
//! the caller's buffer; blocks the engine writes are well framed (NAD,
//! LEN, EDC) and no longer than MAX_BLOCK.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use common::Cursor;
use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation};
use libfuzzer_sys::fuzz_target;
use smime_pcsc::t1::{Checksum, Config, MAX_BLOCK, PrologFormat, T1, crc16_x25, lrc};
use smime_pcsc::{Channel, Command, Transport};

#[derive(Debug)]
struct BusError(ErrorKind);
impl embedded_hal::i2c::Error for BusError {
    fn kind(&self) -> ErrorKind {
        self.0
    }
}

/// Bus operations allowed in one run: far above anything a well-behaved
/// engine does with the small limits configured below.
const MAX_OPS: usize = 200_000;

struct Se<'a> {
    input: Cursor<'a>,
    cfg: Config,
    /// The prologue of the block being sent, when its body is next.
    pending: Option<[u8; 4]>,
    ops: usize,
    delay_us: u64,
}

impl Se<'_> {
    fn op(&mut self) {
        self.ops += 1;
        assert!(self.ops <= MAX_OPS, "{} bus operations: the engine does not give up", self.ops);
    }

    fn edc(&self, frame: &[u8], out: &mut [u8]) {
        match self.cfg.checksum {
            Checksum::Lrc => out[0] = lrc(frame),
            Checksum::CrcLsbFirst => out[..2].copy_from_slice(&crc16_x25(frame).to_le_bytes()),
            Checksum::CrcMsbFirst => out[..2].copy_from_slice(&crc16_x25(frame).to_be_bytes()),
        }
    }

    /// Checks a block the engine writes.
    fn check_written(&self, b: &[u8]) {
        assert!(b.len() <= MAX_BLOCK, "block of {} bytes", b.len());
        let pl = self.cfg.prolog.len();
        let el = self.cfg.checksum.len();
        assert!(b.len() >= pl + el, "short block {b:02X?}");
        assert_eq!(b[0], self.cfg.nad_to_se, "NAD");
        let len = match self.cfg.prolog {
            PrologFormat::OneByteLen => usize::from(b[2]),
            PrologFormat::TwoByteLen => usize::from(u16::from_be_bytes([b[2], b[3]])),
        };
        assert_eq!(b.len(), pl + len + el, "LEN field {b:02X?}");
        let mut e = [0u8; 2];
        self.edc(&b[..pl + len], &mut e);
        assert_eq!(&b[pl + len..], &e[..el], "EDC");
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<(), BusError> {
        let pl = self.cfg.prolog.len();
        let el = self.cfg.checksum.len();
        let Some(c) = self.input.try_u8() else {
            // Out of input: the SE never answers again.
            return Err(BusError(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)));
        };
        match c & 7 {
            0 | 1 => Err(BusError(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address))),
            2 => Err(BusError(ErrorKind::Bus)),
            3 => {
                let src = self.input.bytes(buf.len());
                buf[..src.len()].copy_from_slice(src);
                buf[src.len()..].fill(0);
                self.pending = None;
                Ok(())
            }
            _ => {
                if let Some(p) = self.pending.take() {
                    // The body: INF from the input, then a correct EDC
                    // (corrupted when bit 3 is set).
                    let inf = buf.len().saturating_sub(el);
                    let src = self.input.bytes(inf);
                    buf[..src.len()].copy_from_slice(src);
                    buf[src.len()..inf].fill(0);
                    let mut frame = [0u8; MAX_BLOCK + 4];
                    frame[..pl].copy_from_slice(&p[..pl]);
                    frame[pl..pl + inf].copy_from_slice(&buf[..inf]);
                    let mut e = [0u8; 2];
                    self.edc(&frame[..pl + inf], &mut e);
                    if c & 8 != 0 {
                        e[0] ^= 1;
                    }
                    let tail = buf.len() - inf;
                    buf[inf..].copy_from_slice(&e[..tail]);
                    Ok(())
                } else if buf.len() == pl {
                    // A prologue: the SE's NAD (or another when bit 3 is
                    // set), PCB and LEN from the input.
                    let mut p = [0u8; 4];
                    p[0] = if c & 8 != 0 { self.input.u8() } else { self.cfg.nad_from_se };
                    p[1] = self.input.u8();
                    let len = self.input.u8();
                    match self.cfg.prolog {
                        PrologFormat::OneByteLen => p[2] = len,
                        PrologFormat::TwoByteLen => {
                            // Mostly < 256; bit 4 makes it any 16-bit value.
                            let hi = if c & 0x10 != 0 { self.input.u8() } else { 0 };
                            p[2] = hi;
                            p[3] = len;
                        }
                    }
                    buf.copy_from_slice(&p[..pl]);
                    self.pending = Some(p);
                    Ok(())
                } else {
                    let src = self.input.bytes(buf.len());
                    buf[..src.len()].copy_from_slice(src);
                    Ok(())
                }
            }
        }
    }
}

impl ErrorType for Se<'_> {
    type Error = BusError;
}

impl I2c for Se<'_> {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        assert_eq!(address, self.cfg.address);
        for op in operations {
            self.op();
            match op {
                Operation::Write(b) => {
                    self.check_written(b);
                    // A write starts a new exchange: no body pending.
                    self.pending = None;
                }
                Operation::Read(b) => self.read(b)?,
            }
        }
        Ok(())
    }
}

struct Delay<'a>(&'a core::cell::Cell<u64>);
impl DelayNs for Delay<'_> {
    fn delay_ns(&mut self, ns: u32) {
        self.0.set(self.0.get().saturating_add(u64::from(ns)));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut head = Cursor::new(data);
    let a = head.u8();
    let b = head.u8();
    let mut cfg = match a & 3 {
        0 | 3 => Config::se05x(0x48),
        1 => Config::gp_t1_prime(0x48),
        _ => Config::iso7816(0x48),
    };
    // Small limits keep every run short; the bounds still matter.
    cfg.negotiate_ifsd = a & 4 != 0;
    cfg.max_retries = b & 3;
    cfg.poll_limit = u32::from(b >> 2 & 7) + 1;
    cfg.wtx_limit = u16::from(b >> 5) + 1;
    cfg.ifsc = [254, 32, 16, 1][usize::from(a >> 3 & 3)];
    cfg.ifsd = [254, 32, 1, 128][usize::from(a >> 5 & 3)];
    if a & 0x80 != 0 {
        cfg.bwt_us = 0;
    }
    let ops_len = usize::from(head.u8() & 0x0F);
    let ops_bytes = head.bytes(ops_len);
    let total = core::cell::Cell::new(0u64);
    let se = Se { input: Cursor::new(head.rest()), cfg, pending: None, ops: 0, delay_us: 0 };
    let mut t1 = T1::new(se, Delay(&total), cfg);
    let mut ops = Cursor::new(ops_bytes);
    let cmd_data = [0xA5u8; 600];
    let mut resp = vec![0u8; 70000];
    let mut atr = [0u8; 64];
    for _ in 0..8 {
        let Some(op) = ops.try_u8() else { break };
        let before = t1.i2c().ops;
        match op & 7 {
            0 | 1 | 2 => {
                let n = [4usize, 5, 6, 32, 255, 260, 300, 600][usize::from(op >> 3 & 7)];
                let size = [2usize, 16, 258, 300, 1024, 70000, 0, 1][usize::from(op >> 6 | (op & 1) << 2)];
                let mut cmd = cmd_data;
                cmd[..4].copy_from_slice(&[0x00, 0xA4, 0x04, 0x00]);
                if let Ok(m) = t1.transmit(&cmd[..n], &mut resp[..size]) {
                    assert!(m <= size, "{m} bytes into {size}");
                }
            }
            3 => {
                let size = [0usize, 8, 33, 64][usize::from(op >> 3 & 3)];
                if let Ok(m) = t1.reset(&mut atr[..size]) {
                    assert!(m <= size);
                }
            }
            4 => {
                let _ = t1.resynchronize();
            }
            5 => {
                let _ = match op >> 3 & 3 {
                    0 => t1.abort(),
                    1 => t1.negotiate_ifsd(),
                    2 => t1.end_apdu_session(),
                    _ => t1.release(),
                };
            }
            6 => {
                let size = [0usize, 8, 33, 64][usize::from(op >> 3 & 3)];
                let r = match op >> 5 & 3 {
                    0 => t1.soft_reset(&mut atr[..size]),
                    1 => t1.read_cip(&mut atr[..size]),
                    _ => t1.get_atr(&mut atr[..size]),
                };
                if let Ok(m) = r {
                    assert!(m <= size);
                }
            }
            _ => {
                // An APDU channel over the engine: GET RESPONSE, chaining.
                let mut ch = Channel::new(&mut t1);
                ch.set_extended(op & 8 != 0);
                let cmd = Command::new(0, 0x2A, 0x9E, 0x9A)
                    .with_data(&cmd_data[..usize::from(op >> 4) * 40])
                    .with_ne(256);
                let mut out = [0u8; 512];
                if let Ok(n) = ch.send(&cmd, &mut out, "fuzz") {
                    assert!(n <= out.len());
                }
            }
        }
        assert!(t1.ifsc() >= 1 && t1.ifsc() <= smime_pcsc::t1::MAX_INF);
        let _ = before;
    }
    let _ = t1.i2c().delay_us;
});
