//! The T=1 block engine over I2C: exact bytes on the wire with
//! `embedded-hal-mock`, and a simulated secure element that injects faults.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation};
use embedded_hal_mock::eh1::delay::NoopDelay;
use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};
use smime_pcsc::t1::{
    Checksum, Config, MAX_BLOCK, MAX_INF, PrologFormat, T1, crc16_x25, lrc, parse_gp_cip,
    parse_se05x_atr,
};
use smime_pcsc::{Transport, TransportError};

const ADDR: u8 = 0x48;
const SELECT: [u8; 5] = [0x00, 0xA4, 0x04, 0x00, 0x00];

fn nack() -> ErrorKind {
    ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)
}

/// A block as the engine frames it under `cfg`, from the host (`to_se`) or
/// from the SE.
fn block(cfg: &Config, to_se: bool, pcb: u8, inf: &[u8]) -> Vec<u8> {
    let mut f = vec![if to_se { cfg.nad_to_se } else { cfg.nad_from_se }, pcb];
    match cfg.prolog {
        PrologFormat::OneByteLen => f.push(u8::try_from(inf.len()).unwrap()),
        PrologFormat::TwoByteLen => {
            f.extend_from_slice(&u16::try_from(inf.len()).unwrap().to_be_bytes());
        }
    }
    f.extend_from_slice(inf);
    match cfg.checksum {
        Checksum::Lrc => f.push(lrc(&f)),
        Checksum::CrcLsbFirst => f.extend_from_slice(&crc16_x25(&f).to_le_bytes()),
        Checksum::CrcMsbFirst => f.extend_from_slice(&crc16_x25(&f).to_be_bytes()),
    }
    f
}

/// Mock transactions for the SE sending `frame`: prologue read, then the
/// rest.
fn se_sends(cfg: &Config, frame: Vec<u8>) -> [T; 2] {
    let pl = cfg.prolog.len();
    [T::read(ADDR, frame[..pl].to_vec()), T::read(ADDR, frame[pl..].to_vec())]
}

fn quiet(mut cfg: Config) -> Config {
    cfg.negotiate_ifsd = false;
    cfg
}

// ---- checksums ----------------------------------------------------------

#[test]
fn crc16_x25_known_vectors() {
    assert_eq!(crc16_x25(b"123456789"), 0x906E);
    assert_eq!(crc16_x25(b""), 0x0000);
    // SE05x S(RESYNCH request) 5A C0 00 is followed on the wire by these two
    // bytes, LSB first.
    let crc = crc16_x25(&[0x5A, 0xC0, 0x00]).to_le_bytes();
    assert_eq!(block(&Config::se05x(ADDR), true, 0xC0, &[])[3..], crc);
    assert_eq!(crc16_x25(&[0x5A, 0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00]), 0x3C1E);
}

#[test]
fn lrc_known_vectors() {
    assert_eq!(lrc(&[]), 0);
    assert_eq!(lrc(&[0x00, 0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00]), 0xA5);
    assert_eq!(lrc(&[0xFF, 0x0F, 0xF0]), 0x00);
}

#[test]
fn atr_and_cip_parsing() {
    let atr = [
        0x00, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x04, 0x01, 0xF4, 0x00, 0x80, 0x02, 0x0B, 0x03, 0xE8,
        0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x02, 0x4A, 0x43,
    ];
    let p = parse_se05x_atr(&atr).unwrap();
    assert_eq!((p.bwt_ms, p.ifsc), (500, 0x80));
    assert!(parse_se05x_atr(&atr[..9]).is_none());
    assert!(parse_se05x_atr(&[]).is_none());
    let cip = [0x01, 0x02, 0xAA, 0xBB, 0x02, 0x01, 0x00, 0x04, 0x00, 0xC8, 0x00, 0xF0, 0x00];
    let p = parse_gp_cip(&cip).unwrap();
    assert_eq!((p.bwt_ms, p.ifsc), (200, 0xF0));
    for n in 0..cip.len() - 1 {
        // Truncated: never a panic; the DLLP is complete from 12 bytes on.
        assert_eq!(parse_gp_cip(&cip[..n]).is_some(), n >= 12, "{n}");
    }
    assert!(parse_gp_cip(&[0x01, 0xFF]).is_none());
}

// ---- exact bytes on the wire ------------------------------------------

#[test]
fn se05x_short_apdu_exact_bytes() {
    let cfg = quiet(Config::se05x(ADDR));
    let mut script = vec![
        T::write(ADDR, vec![0x5A, 0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00, 0x1E, 0x3C]),
        // Busy twice, then the prologue.
        T::read(ADDR, vec![0; 3]).with_error(nack()),
        T::read(ADDR, vec![0; 3]).with_error(nack()),
        T::read(ADDR, vec![0xA5, 0x00, 0x02]),
        T::read(ADDR, vec![0x90, 0x00, 0x02, 0xAF]),
    ];
    // Second command: N(S) = 1, and the SE's N(S) = 1.
    script.push(T::write(ADDR, block(&cfg, true, 0x40, &SELECT)));
    script.extend(se_sends(&cfg, block(&cfg, false, 0x40, &[0x6A, 0x82])));
    let mut t1 = T1::new(Mock::new(&script), NoopDelay::new(), cfg);
    let mut resp = [0u8; 16];
    assert_eq!(t1.transmit(&SELECT, &mut resp), Ok(2));
    assert_eq!(resp[..2], [0x90, 0x00]);
    assert_eq!(t1.transmit(&SELECT, &mut resp), Ok(2));
    assert_eq!(resp[..2], [0x6A, 0x82]);
    t1.into_parts().0.done();
}

#[test]
fn gp_t1_prime_short_apdu_exact_bytes() {
    let cfg = quiet(Config::gp_t1_prime(ADDR));
    let script = [
        T::write(ADDR, vec![0x21, 0x00, 0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00, 0xAC, 0x14]),
        T::read(ADDR, vec![0x12, 0x00, 0x00, 0x02]),
        T::read(ADDR, vec![0x90, 0x00, 0x11, 0x8C]),
    ];
    let mut t1 = T1::new(Mock::new(&script), NoopDelay::new(), cfg);
    let mut resp = [0u8; 4];
    assert_eq!(t1.transmit(&SELECT, &mut resp), Ok(2));
    assert_eq!(resp[..2], [0x90, 0x00]);
    t1.into_parts().0.done();
}

#[test]
fn lrc_short_apdu_exact_bytes() {
    let cfg = quiet(Config::iso7816(ADDR));
    let script = [
        T::write(ADDR, vec![0x00, 0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00, 0xA5]),
        T::read(ADDR, vec![0x00, 0x00, 0x02]),
        T::read(ADDR, vec![0x90, 0x00, 0x92]),
    ];
    let mut t1 = T1::new(Mock::new(&script), NoopDelay::new(), cfg);
    let mut resp = [0u8; 4];
    assert_eq!(t1.transmit(&SELECT, &mut resp), Ok(2));
    t1.into_parts().0.done();
}

#[test]
fn command_chaining_over_ifsc() {
    let mut cfg = quiet(Config::se05x(ADDR));
    cfg.ifsc = 4;
    let cmd: Vec<u8> = (0..10).collect();
    let mut script = vec![T::write(ADDR, block(&cfg, true, 0x20, &cmd[0..4]))];
    script.extend(se_sends(&cfg, block(&cfg, false, 0x90, &[]))); // R(1)
    script.push(T::write(ADDR, block(&cfg, true, 0x60, &cmd[4..8])));
    script.extend(se_sends(&cfg, block(&cfg, false, 0x80, &[]))); // R(0)
    script.push(T::write(ADDR, block(&cfg, true, 0x00, &cmd[8..10])));
    script.extend(se_sends(&cfg, block(&cfg, false, 0x00, &[0x90, 0x00])));
    let mut t1 = T1::new(Mock::new(&script), NoopDelay::new(), cfg);
    let mut resp = [0u8; 4];
    assert_eq!(t1.transmit(&cmd, &mut resp), Ok(2));
    t1.into_parts().0.done();
}

#[test]
fn chained_response() {
    let cfg = quiet(Config::se05x(ADDR));
    let mut script = vec![T::write(ADDR, block(&cfg, true, 0x00, &SELECT))];
    script.extend(se_sends(&cfg, block(&cfg, false, 0x20, &[1, 2, 3])));
    script.push(T::write(ADDR, block(&cfg, true, 0x90, &[]))); // R(1)
    script.extend(se_sends(&cfg, block(&cfg, false, 0x60, &[4, 5])));
    script.push(T::write(ADDR, block(&cfg, true, 0x80, &[]))); // R(0)
    script.extend(se_sends(&cfg, block(&cfg, false, 0x00, &[6, 0x90, 0x00])));
    let mut t1 = T1::new(Mock::new(&script), NoopDelay::new(), cfg);
    let mut resp = [0u8; 16];
    assert_eq!(t1.transmit(&SELECT, &mut resp), Ok(8));
    assert_eq!(resp[..8], [1, 2, 3, 4, 5, 6, 0x90, 0x00]);
    t1.into_parts().0.done();
}

#[test]
fn ifs_negotiation_exact_bytes() {
    let cfg = Config::se05x(ADDR);
    assert!(cfg.negotiate_ifsd);
    let mut script = vec![
        T::write(ADDR, vec![0x5A, 0xC1, 0x01, 0xFE, 0x09, 0xA2]),
        T::read(ADDR, vec![0xA5, 0xE1, 0x01]),
        T::read(ADDR, vec![0xFE, 0xE0, 0x64]),
    ];
    script.push(T::write(ADDR, block(&cfg, true, 0x00, &SELECT)));
    script.extend(se_sends(&cfg, block(&cfg, false, 0x00, &[0x90, 0x00])));
    // Negotiated once only.
    script.push(T::write(ADDR, block(&cfg, true, 0x40, &SELECT)));
    script.extend(se_sends(&cfg, block(&cfg, false, 0x40, &[0x90, 0x00])));
    let mut t1 = T1::new(Mock::new(&script), NoopDelay::new(), cfg);
    let mut resp = [0u8; 4];
    assert_eq!(t1.transmit(&SELECT, &mut resp), Ok(2));
    assert_eq!(t1.transmit(&SELECT, &mut resp), Ok(2));
    t1.into_parts().0.done();
}

#[test]
fn wtx_exact_bytes() {
    let mut cfg = quiet(Config::se05x(ADDR));
    cfg.poll_limit = 2;
    cfg.bwt_us = 0;
    let mut script = vec![T::write(ADDR, block(&cfg, true, 0x00, &SELECT))];
    script.push(T::read(ADDR, vec![0xA5, 0xC3, 0x01]));
    script.push(T::read(ADDR, vec![0x02, 0x80, 0xEF]));
    script.push(T::write(ADDR, vec![0x5A, 0xE3, 0x01, 0x02, 0x69, 0x29]));
    // Three NACKs: more than the poll limit of 2, within 2 × 2.
    for _ in 0..3 {
        script.push(T::read(ADDR, vec![0; 3]).with_error(nack()));
    }
    script.extend(se_sends(&cfg, block(&cfg, false, 0x00, &[0x90, 0x00])));
    let mut t1 = T1::new(Mock::new(&script), NoopDelay::new(), cfg);
    let mut resp = [0u8; 4];
    assert_eq!(t1.transmit(&SELECT, &mut resp), Ok(2));
    t1.into_parts().0.done();
}

#[test]
fn bad_crc_answered_with_r_edc_error() {
    let cfg = quiet(Config::se05x(ADDR));
    let good = block(&cfg, false, 0x00, &[0x90, 0x00]);
    let mut bad = good.clone();
    bad[4] ^= 0x01;
    let mut script = vec![T::write(ADDR, block(&cfg, true, 0x00, &SELECT))];
    script.extend(se_sends(&cfg, bad));
    script.push(T::write(ADDR, vec![0x5A, 0x81, 0x00, 0x41, 0xA3])); // R(0, EDC error)
    script.extend(se_sends(&cfg, good));
    let mut t1 = T1::new(Mock::new(&script), NoopDelay::new(), cfg);
    let mut resp = [0u8; 4];
    assert_eq!(t1.transmit(&SELECT, &mut resp), Ok(2));
    t1.into_parts().0.done();
    assert_eq!(block(&cfg, true, 0x81, &[]), [0x5A, 0x81, 0x00, 0x41, 0xA3]);
}

#[test]
fn lost_blocks_then_resync_exact_bytes() {
    let mut cfg = quiet(Config::se05x(ADDR));
    cfg.max_retries = 1;
    cfg.poll_limit = 2;
    cfg.bwt_us = 0;
    let script = [
        T::write(ADDR, block(&cfg, true, 0x00, &SELECT)),
        T::read(ADDR, vec![0; 3]).with_error(nack()),
        T::read(ADDR, vec![0; 3]).with_error(nack()),
        // R(0, other error): 5A 82 00 + CRC.
        T::write(ADDR, block(&cfg, true, 0x82, &[])),
        T::read(ADDR, vec![0; 3]).with_error(nack()),
        T::read(ADDR, vec![0; 3]).with_error(nack()),
        // S(RESYNCH request) and its response.
        T::write(ADDR, block(&cfg, true, 0xC0, &[])),
        T::read(ADDR, vec![0xA5, 0xE0, 0x00]),
        T::read(ADDR, block(&cfg, false, 0xE0, &[])[3..].to_vec()),
        // Sequence numbers back at 0.
        T::write(ADDR, block(&cfg, true, 0x00, &SELECT)),
        T::read(ADDR, vec![0xA5, 0x00, 0x02]),
        T::read(ADDR, vec![0x90, 0x00, 0x02, 0xAF]),
    ];
    let mut t1 = T1::new(Mock::new(&script), NoopDelay::new(), cfg);
    let mut resp = [0u8; 4];
    assert_eq!(t1.transmit(&SELECT, &mut resp), Err(TransportError::Reset));
    assert_eq!(t1.transmit(&SELECT, &mut resp), Ok(2));
    t1.into_parts().0.done();
    let crc = crc16_x25(&[0x5A, 0xC0, 0x00]).to_le_bytes();
    assert_eq!(block(&cfg, true, 0xC0, &[]), [0x5A, 0xC0, 0x00, crc[0], crc[1]]);
}

#[test]
fn bus_error_is_io() {
    let cfg = quiet(Config::se05x(ADDR));
    let script = [T::write(ADDR, block(&cfg, true, 0x00, &SELECT)).with_error(ErrorKind::Bus)];
    let mut t1 = T1::new(Mock::new(&script), NoopDelay::new(), cfg);
    assert_eq!(t1.transmit(&SELECT, &mut [0u8; 4]), Err(TransportError::Io));
    t1.into_parts().0.done();
}

// ---- a simulated secure element -----------------------------------------

#[derive(Default)]
struct Stats {
    writes: usize,
    reads: usize,
    resyncs: usize,
    r_errors_sent: usize,
    apdus: Vec<Vec<u8>>,
    host_i_lens: Vec<usize>,
    wtx_echo_wrong: usize,
    soft_resets: usize,
}

/// The card side of T=1 over I2C. Answers an APDU with INS 0xB0 with
/// P1P2 bytes of pattern and 9000, anything else with itself and 9000.
struct SimSe {
    cfg: Config,
    ns: bool,
    nr: bool,
    cmd: Vec<u8>,
    chunks: VecDeque<Vec<u8>>,
    /// A chained I-block is out, waiting for its acknowledgement.
    in_chain: bool,
    last_i_seq: bool,
    last_sent: Option<Vec<u8>>,
    out: Vec<u8>,
    out_pos: usize,
    busy: u32,
    /// The SE's IFSD (largest INF it sends).
    ifsd: usize,
    /// The SE's IFSC (largest INF it accepts).
    ifsc: usize,
    answer: Vec<u8>,
    // Faults.
    busy_per_block: u32,
    busy_after_wtx: u32,
    corrupt_responses: u32,
    drop_responses: u32,
    corrupt_host_blocks: u32,
    wtx: VecDeque<u8>,
    ifs_request: Option<u8>,
    ack_after_ifs: bool,
    broken_until_resync: bool,
    dead: bool,
    deaf: bool,
    stats: Stats,
}

impl SimSe {
    fn new(cfg: Config) -> Self {
        Self {
            cfg,
            ns: false,
            nr: false,
            cmd: Vec::new(),
            chunks: VecDeque::new(),
            in_chain: false,
            last_i_seq: false,
            last_sent: None,
            out: Vec::new(),
            out_pos: 0,
            busy: 0,
            ifsd: 254,
            ifsc: 254,
            answer: Vec::new(),
            busy_per_block: 1,
            busy_after_wtx: 0,
            corrupt_responses: 0,
            drop_responses: 0,
            corrupt_host_blocks: 0,
            wtx: VecDeque::new(),
            ifs_request: None,
            ack_after_ifs: false,
            broken_until_resync: false,
            dead: false,
            deaf: false,
            stats: Stats::default(),
        }
    }

    fn emit(&mut self, pcb: u8, inf: &[u8]) {
        let frame = block(&self.cfg, false, pcb, inf);
        self.last_sent = Some(frame.clone());
        self.put(frame);
    }

    fn put(&mut self, mut frame: Vec<u8>) {
        self.out_pos = 0;
        self.busy = self.busy_per_block;
        if self.drop_responses > 0 {
            self.drop_responses -= 1;
            self.out = Vec::new();
            return;
        }
        if self.broken_until_resync || self.corrupt_responses > 0 {
            self.corrupt_responses = self.corrupt_responses.saturating_sub(1);
            let n = frame.len();
            frame[n - 1] ^= 0x55;
        }
        self.out = frame;
    }

    fn r(&mut self, code: u8) {
        if code != 0 {
            self.stats.r_errors_sent += 1;
        }
        self.emit(0x80 | if self.nr { 0x10 } else { 0 } | code, &[]);
    }

    fn reset_state(&mut self) {
        self.ns = false;
        self.nr = false;
        self.cmd.clear();
        self.chunks.clear();
        self.in_chain = false;
        self.last_sent = None;
    }

    fn next_chunk(&mut self) {
        let chunk = self.chunks.pop_front().unwrap_or_default();
        let more = !self.chunks.is_empty();
        let pcb = if self.ns { 0x40 } else { 0 } | if more { 0x20 } else { 0 };
        self.last_i_seq = self.ns;
        self.ns = !self.ns;
        self.in_chain = more;
        self.emit(pcb, &chunk);
    }

    /// WTX requests queued for this response (up to a 0), then the response.
    fn respond(&mut self) {
        match self.wtx.pop_front() {
            Some(m) if m != 0 => self.emit(0xC3, &[m]),
            _ => self.next_chunk(),
        }
    }

    fn process(apdu: &[u8]) -> Vec<u8> {
        let mut r = if apdu.len() >= 4 && apdu[1] == 0xB0 {
            let n = usize::from(u16::from_be_bytes([apdu[2], apdu[3]]));
            (0..n).map(|i| byte(i * 7 + 3)).collect()
        } else {
            apdu.to_vec()
        };
        r.extend_from_slice(&[0x90, 0x00]);
        r
    }

    fn on_write(&mut self, bytes: &[u8]) {
        self.stats.writes += 1;
        if self.deaf {
            return;
        }
        let mut b = bytes.to_vec();
        if self.corrupt_host_blocks > 0 {
            self.corrupt_host_blocks -= 1;
            b[1] ^= 0x08;
        }
        let pl = self.cfg.prolog.len();
        let el = self.cfg.checksum.len();
        if b.len() < pl + el {
            return self.r(2);
        }
        let body = &b[..b.len() - el];
        let len =
            if pl == 3 { usize::from(b[2]) } else { (usize::from(b[2]) << 8) | usize::from(b[3]) };
        if block(&self.cfg, true, b[1], &body[pl..]) != b {
            return self.r(1);
        }
        if len != body.len() - pl || b[0] != self.cfg.nad_to_se {
            return self.r(2);
        }
        let pcb = b[1];
        let inf = body[pl..].to_vec();
        if pcb & 0x80 == 0 {
            let seq = pcb & 0x40 != 0;
            let more = pcb & 0x20 != 0;
            if self.in_chain || seq != self.nr || inf.len() > self.ifsc {
                return self.r(2);
            }
            self.stats.host_i_lens.push(inf.len());
            self.nr = !self.nr;
            self.cmd.extend_from_slice(&inf);
            if more {
                if let Some(v) = self.ifs_request.take() {
                    self.ifsc = usize::from(v);
                    self.ack_after_ifs = true;
                    self.emit(0xC1, &[v]);
                } else {
                    self.r(0);
                }
            } else {
                let apdu = std::mem::take(&mut self.cmd);
                let resp = Self::process(&apdu);
                self.stats.apdus.push(apdu);
                self.chunks = resp.chunks(self.ifsd).map(<[u8]>::to_vec).collect();
                self.respond();
            }
        } else if pcb & 0xC0 == 0x80 {
            let nr = pcb & 0x10 != 0;
            if self.in_chain && pcb & 0x03 == 0 && nr != self.last_i_seq {
                self.next_chunk();
            } else if let Some(f) = self.last_sent.clone() {
                self.put(f);
            } else {
                self.r(0);
            }
        } else {
            match pcb {
                0xC0 => {
                    self.reset_state();
                    self.broken_until_resync = false;
                    self.stats.resyncs += 1;
                    self.emit(0xE0, &[]);
                }
                0xC1 if inf.len() == 1 => {
                    self.ifsd = usize::from(inf[0]);
                    self.emit(0xE1, &inf);
                }
                0xE1 if self.ack_after_ifs => {
                    self.ack_after_ifs = false;
                    self.r(0);
                }
                0xE3 => {
                    if self.last_sent.as_ref().map(|f| f[self.cfg.prolog.len()])
                        != inf.first().copied()
                    {
                        self.stats.wtx_echo_wrong += 1;
                    }
                    let busy = self.busy_after_wtx;
                    self.respond();
                    self.busy = busy;
                }
                0xCF => {
                    self.reset_state();
                    self.stats.soft_resets += 1;
                    if self.cfg.prolog.len() == 3 {
                        let atr = self.answer.clone();
                        self.emit(0xEF, &atr);
                    } else {
                        self.emit(0xEF, &[]);
                    }
                }
                0xC4 => {
                    let cip = self.answer.clone();
                    self.emit(0xE4, &cip);
                }
                0xC6 => {
                    self.reset_state();
                    self.emit(0xE6, &[]);
                }
                0xC7 => {
                    let atr = self.answer.clone();
                    self.emit(0xE7, &atr);
                }
                0xC5 | 0xC2 => self.emit(pcb | 0x20, &[]),
                _ => self.r(2),
            }
        }
    }

    fn on_read(&mut self, buf: &mut [u8]) -> Result<(), ErrorKind> {
        self.stats.reads += 1;
        if self.dead {
            return Err(nack());
        }
        if self.busy > 0 {
            self.busy -= 1;
            return Err(nack());
        }
        if self.out_pos >= self.out.len() {
            return Err(nack());
        }
        for b in buf.iter_mut() {
            *b = self.out.get(self.out_pos).copied().unwrap_or(0xFF);
            self.out_pos += 1;
        }
        Ok(())
    }
}

impl ErrorType for SimSe {
    type Error = ErrorKind;
}

impl I2c for SimSe {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        assert_eq!(address, self.cfg.address);
        for op in operations {
            match op {
                Operation::Write(w) => {
                    if self.dead && self.deaf {
                        return Err(nack());
                    }
                    self.on_write(w);
                }
                Operation::Read(r) => self.on_read(r)?,
            }
        }
        Ok(())
    }
}

/// Counts the time waited.
#[derive(Default)]
struct Clock {
    ns: u64,
}

impl DelayNs for Clock {
    fn delay_ns(&mut self, ns: u32) {
        self.ns += u64::from(ns);
    }
}

fn byte(x: usize) -> u8 {
    u8::try_from(x % 256).unwrap()
}

fn sim_cfg() -> Config {
    let mut cfg = Config::se05x(ADDR);
    cfg.poll_limit = 5;
    cfg.poll_interval_us = 1_000;
    cfg.bwt_us = 5_000;
    cfg
}

fn engine(se: SimSe) -> T1<SimSe, Clock> {
    let cfg = se.cfg;
    T1::new(se, Clock::default(), cfg)
}

fn echo(t1: &mut T1<SimSe, Clock>, cmd: &[u8]) {
    let mut resp = vec![0u8; cmd.len() + 2];
    assert_eq!(t1.transmit(cmd, &mut resp), Ok(cmd.len() + 2));
    assert_eq!(resp[..cmd.len()], *cmd);
    assert_eq!(resp[cmd.len()..], [0x90, 0x00]);
}

fn read_binary(t1: &mut T1<SimSe, Clock>, n: u16) {
    let [p1, p2] = n.to_be_bytes();
    let mut resp = vec![0u8; usize::from(n) + 2];
    assert_eq!(t1.transmit(&[0x00, 0xB0, p1, p2, 0x00], &mut resp), Ok(usize::from(n) + 2));
    for (i, b) in resp[..usize::from(n)].iter().enumerate() {
        assert_eq!(*b, byte(i * 7 + 3), "byte {i}");
    }
    assert_eq!(resp[usize::from(n)..], [0x90, 0x00]);
}

#[test]
fn sim_plain_exchanges() {
    let mut t1 = engine(SimSe::new(sim_cfg()));
    for i in 0..5u8 {
        echo(&mut t1, &[0x80, 0x10, i, 0x00, 0x02, 0xAB, i]);
    }
    let se = t1.i2c();
    assert_eq!(se.stats.apdus.len(), 5);
    assert_eq!(se.stats.r_errors_sent, 0);
    assert_eq!(se.ifsd, 254);
}

#[test]
fn sim_bad_crc_in_response_is_retried() {
    let mut se = SimSe::new(sim_cfg());
    se.corrupt_responses = 2;
    let mut t1 = engine(se);
    echo(&mut t1, &SELECT); // the IFS response and the APDU response are hit
    echo(&mut t1, &SELECT);
    assert_eq!(t1.i2c().stats.apdus.len(), 2);
    assert_eq!(t1.i2c().stats.resyncs, 0);
}

#[test]
fn sim_lost_block_is_retried() {
    let mut t1 = engine(SimSe::new(sim_cfg()));
    echo(&mut t1, &SELECT);
    t1.i2c_mut().drop_responses = 1;
    echo(&mut t1, &[0x00, 0xCA, 0x00, 0x6E, 0x00]);
    let se = t1.i2c();
    assert_eq!(se.stats.apdus.len(), 2, "processed once");
    assert_eq!(se.stats.resyncs, 0);
}

#[test]
fn sim_corrupted_host_block_gets_r_error() {
    let mut t1 = engine(SimSe::new(sim_cfg()));
    echo(&mut t1, &SELECT);
    t1.i2c_mut().corrupt_host_blocks = 1;
    echo(&mut t1, &[0x00, 0x20, 0x00, 0x81, 0x02, 0x31, 0x32]);
    let se = t1.i2c();
    assert_eq!(se.stats.r_errors_sent, 1);
    assert_eq!(se.stats.apdus.len(), 2);
    assert_eq!(se.stats.resyncs, 0);
}

#[test]
fn sim_corrupted_chained_block_and_lost_ack() {
    let mut cfg = sim_cfg();
    cfg.ifsc = 16;
    let mut t1 = engine(SimSe::new(cfg));
    let cmd: Vec<u8> = (0..100u8).collect();
    echo(&mut t1, &cmd);
    t1.i2c_mut().corrupt_host_blocks = 1;
    echo(&mut t1, &cmd);
    // An acknowledgement of a chained block lost, then corrupted.
    t1.i2c_mut().drop_responses = 1;
    echo(&mut t1, &cmd[..40]);
    t1.i2c_mut().corrupt_responses = 1;
    echo(&mut t1, &cmd[..40]);
    let se = t1.i2c();
    assert_eq!(se.stats.apdus.len(), 4);
    assert_eq!(se.stats.apdus[3], cmd[..40]);
    assert!(se.stats.host_i_lens.iter().all(|&n| n <= 16));
    assert_eq!(se.stats.resyncs, 0);
}

#[test]
fn sim_wtx_extends_the_wait() {
    let mut se = SimSe::new(sim_cfg());
    // Twelve polls of processing: more than the poll limit of 5, within
    // 5 × 3.
    se.busy_after_wtx = 12;
    se.wtx.extend([3, 0, 1, 2, 0]);
    let mut t1 = engine(se);
    echo(&mut t1, &SELECT);
    t1.i2c_mut().busy_after_wtx = 1;
    echo(&mut t1, &SELECT);
    let (se, clock) = t1.into_parts();
    assert_eq!(se.stats.wtx_echo_wrong, 0);
    assert_eq!(se.stats.resyncs, 0);
    assert_eq!(se.stats.apdus.len(), 2);
    assert!(clock.ns >= 12_000_000, "waited {} ns", clock.ns);
}

#[test]
fn sim_busy_without_wtx_times_out_then_recovers() {
    let mut se = SimSe::new(sim_cfg());
    se.busy_per_block = 1;
    let mut t1 = engine(se);
    echo(&mut t1, &SELECT);
    // Too slow on every block: retries, then RESYNCH (also too slow).
    t1.i2c_mut().busy_per_block = 50;
    assert_eq!(t1.transmit(&SELECT, &mut [0u8; 8]), Err(TransportError::Timeout));
    t1.i2c_mut().busy_per_block = 1;
    // The SE is out of step: the host resynchronises.
    let r = t1.transmit(&SELECT, &mut [0u8; 8]);
    assert!(matches!(r, Ok(7) | Err(TransportError::Reset)), "{r:?}");
    echo(&mut t1, &SELECT);
}

#[test]
fn sim_long_chained_response() {
    let mut t1 = engine(SimSe::new(sim_cfg()));
    read_binary(&mut t1, 1000);
    read_binary(&mut t1, 254);
    read_binary(&mut t1, 253);
    read_binary(&mut t1, 0);
    let se = t1.i2c();
    assert_eq!(se.stats.apdus.len(), 4);
    assert_eq!(se.stats.r_errors_sent, 0);
}

#[test]
fn sim_long_chained_response_small_ifsd_with_faults() {
    let mut cfg = sim_cfg();
    cfg.ifsd = 32;
    let mut se = SimSe::new(cfg);
    se.corrupt_responses = 0;
    let mut t1 = engine(se);
    read_binary(&mut t1, 700);
    assert_eq!(t1.i2c().ifsd, 32);
    t1.i2c_mut().corrupt_responses = 1;
    read_binary(&mut t1, 300);
    t1.i2c_mut().drop_responses = 1;
    read_binary(&mut t1, 300);
    t1.i2c_mut().wtx.extend([2, 0]);
    read_binary(&mut t1, 100);
    assert_eq!(t1.i2c().stats.resyncs, 0);
}

#[test]
fn sim_long_command_and_se_ifs_request() {
    let mut t1 = engine(SimSe::new(sim_cfg()));
    let cmd: Vec<u8> = (0..600).map(|i| byte(i % 251)).collect();
    echo(&mut t1, &cmd);
    assert_eq!(t1.i2c().stats.host_i_lens, [254, 254, 92]);
    t1.i2c_mut().stats.host_i_lens.clear();
    t1.i2c_mut().ifs_request = Some(100);
    echo(&mut t1, &cmd);
    assert_eq!(t1.ifsc(), 100);
    // The block in flight keeps its size; the next ones follow the new IFSC.
    assert_eq!(t1.i2c().stats.host_i_lens, [254, 100, 100, 100, 46]);
    let resp_cap = cmd.len() + 2;
    let mut resp = vec![0; resp_cap];
    assert_eq!(t1.transmit(&cmd, &mut resp), Ok(resp_cap));
}

#[test]
fn sim_persistent_failure_resyncs_and_reports_reset() {
    let mut t1 = engine(SimSe::new(sim_cfg()));
    echo(&mut t1, &SELECT);
    echo(&mut t1, &SELECT);
    t1.i2c_mut().broken_until_resync = true;
    let before = t1.i2c().stats.writes;
    assert_eq!(t1.transmit(&SELECT, &mut [0u8; 8]), Err(TransportError::Reset));
    let se = t1.i2c();
    assert_eq!(se.stats.resyncs, 1);
    // The I-block, three R-blocks (max_retries), then S(RESYNCH).
    assert_eq!(se.stats.writes - before, 1 + 3 + 1);
    // Works again, from sequence number 0, IFSD negotiated again.
    echo(&mut t1, &SELECT);
    echo(&mut t1, &SELECT);
    assert_eq!(t1.i2c().stats.resyncs, 1);
}

#[test]
fn sim_dead_se_times_out_bounded() {
    let mut se = SimSe::new(sim_cfg());
    se.dead = true;
    let mut t1 = engine(se);
    assert_eq!(t1.transmit(&SELECT, &mut [0u8; 8]), Err(TransportError::Timeout));
    let (se, clock) = t1.into_parts();
    // IFS request 4 times and RESYNCH 4 times, 5 polls each.
    assert_eq!(se.stats.reads, 8 * 5);
    assert_eq!(se.stats.writes, 8);
    assert!(clock.ns < 1_000_000_000);
}

#[test]
fn sim_deaf_se_nacking_writes_times_out_bounded() {
    let mut se = SimSe::new(sim_cfg());
    se.dead = true;
    se.deaf = true;
    let mut t1 = engine(se);
    assert_eq!(t1.transmit(&SELECT, &mut [0u8; 8]), Err(TransportError::Timeout));
    assert_eq!(t1.i2c().stats.reads, 0);
}

#[test]
fn sim_response_too_long_for_buffer() {
    let mut t1 = engine(SimSe::new(sim_cfg()));
    let mut small = [0u8; 100];
    assert_eq!(
        t1.transmit(&[0x00, 0xB0, 0x01, 0x00, 0x00], &mut small),
        Err(TransportError::BufferTooSmall)
    );
    // The chain was drained: the link is still in step.
    echo(&mut t1, &SELECT);
    read_binary(&mut t1, 300);
    assert_eq!(t1.i2c().stats.resyncs, 0);
}

#[test]
fn sim_se05x_soft_reset_returns_atr() {
    let atr = vec![
        0x00, 0xA0, 0x00, 0x00, 0x03, 0x96, 0x04, 0x01, 0xF4, 0x00, 0x40, 0x02, 0x0B, 0x03, 0xE8,
        0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x02, 0x4A, 0x43,
    ];
    let mut se = SimSe::new(sim_cfg());
    se.answer = atr.clone();
    let mut t1 = engine(se);
    echo(&mut t1, &SELECT);
    let mut buf = [0u8; 64];
    assert_eq!(t1.reset(&mut buf), Ok(atr.len()));
    assert_eq!(buf[..atr.len()], atr[..]);
    assert_eq!(t1.ifsc(), 0x40);
    assert_eq!(t1.bwt_us(), 500_000);
    let cmd: Vec<u8> = (0..150).collect();
    echo(&mut t1, &cmd);
    assert_eq!(t1.i2c().stats.host_i_lens[1..], [64, 64, 22]);
    assert_eq!(t1.reset(&mut [0u8; 4]), Err(TransportError::BufferTooSmall));
    echo(&mut t1, &SELECT);
    assert_eq!(t1.i2c().stats.soft_resets, 2);
}

#[test]
fn sim_gp_t1_prime_reset_reads_cip() {
    let mut cfg = Config::gp_t1_prime(ADDR);
    cfg.poll_limit = 5;
    cfg.bwt_us = 5_000;
    let cip = vec![0x01, 0x02, 0xAA, 0xBB, 0x02, 0x01, 0x00, 0x04, 0x00, 0xC8, 0x00, 0xF0, 0x00];
    let mut se = SimSe::new(cfg);
    se.answer = cip.clone();
    let mut t1 = engine(se);
    let mut buf = [0u8; 32];
    assert_eq!(t1.reset(&mut buf), Ok(cip.len()));
    assert_eq!(buf[..cip.len()], cip[..]);
    assert_eq!((t1.ifsc(), t1.bwt_us()), (0xF0, 200_000));
    echo(&mut t1, &SELECT);
    read_binary(&mut t1, 600);
    t1.i2c_mut().corrupt_responses = 1;
    let cmd: Vec<u8> = (0..=255).collect();
    echo(&mut t1, &cmd);
    assert_eq!(t1.i2c().stats.soft_resets, 1);
}

#[test]
fn sim_lrc_profile() {
    let mut cfg = Config::iso7816(ADDR);
    cfg.poll_limit = 5;
    cfg.bwt_us = 5_000;
    let mut se = SimSe::new(cfg);
    se.ifsc = 32;
    let mut t1 = engine(se);
    let cmd: Vec<u8> = (0..80).collect();
    echo(&mut t1, &cmd);
    t1.i2c_mut().corrupt_responses = 1;
    read_binary(&mut t1, 400);
    assert_eq!(t1.reset(&mut []), Ok(0));
    echo(&mut t1, &cmd);
    assert_eq!(t1.i2c().stats.resyncs, 1);
}

#[test]
fn supervisory_blocks() {
    let mut t1 = engine(SimSe::new(sim_cfg()));
    t1.end_apdu_session().unwrap();
    t1.chip_reset().unwrap();
    t1.abort().unwrap();
    t1.resynchronize().unwrap();
    t1.i2c_mut().answer = vec![1, 2, 3];
    let mut atr = [0u8; 4];
    assert_eq!(t1.get_atr(&mut atr), Ok(3));
    assert_eq!(atr, [1, 2, 3, 0]);
    assert_eq!(t1.get_atr(&mut atr[..2]), Err(TransportError::BufferTooSmall));
    echo(&mut t1, &SELECT);
}

// ---- garbage from the bus ------------------------------------------------

/// Answers every read with pseudo-random bytes, sometimes NACKs.
struct Noise {
    state: u64,
    ops: usize,
}

impl Noise {
    fn next(&mut self) -> u8 {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.state.to_be_bytes()[0]
    }
}

impl ErrorType for Noise {
    type Error = ErrorKind;
}

impl I2c for Noise {
    fn transaction(&mut self, _: u8, operations: &mut [Operation<'_>]) -> Result<(), ErrorKind> {
        self.ops += 1;
        if self.next() < 16 {
            return Err(nack());
        }
        for op in operations {
            if let Operation::Read(r) = op {
                for b in r.iter_mut() {
                    // Mostly plausible prologues: NADs and small lengths.
                    *b = match self.next() {
                        0..=63 => 0xA5,
                        64..=127 => self.next() & 0x0F,
                        _ => self.next(),
                    };
                }
            }
        }
        Ok(())
    }
}

#[test]
fn noise_never_panics_and_ends() {
    assert_eq!((MAX_INF, MAX_BLOCK), (254, 260));
    for (seed, lrc) in (0..300u64).map(|s| (s, s % 2 == 0)) {
        let mut cfg = Config::se05x(ADDR);
        if lrc {
            cfg.checksum = Checksum::Lrc;
        }
        let mut t1 = T1::new(Noise { state: seed, ops: 0 }, NoopDelay::new(), cfg);
        let mut resp = [0u8; 300];
        let _ = t1.transmit(&[0u8; 600], &mut resp);
        let _ = t1.reset(&mut resp);
        let _ = t1.transmit(&SELECT, &mut resp[..3]);
        let (noise, _) = t1.into_parts();
        assert!(noise.ops < 10_000, "seed {seed}: {} bus operations", noise.ops);
    }
}

/// Sends well-formed blocks (right NAD, mostly right EDC) with random PCBs,
/// lengths and contents: walks the engine's state machine at random.
struct Adversary {
    cfg: Config,
    state: u64,
    ops: usize,
    out: VecDeque<u8>,
}

impl Adversary {
    fn next(&mut self) -> u8 {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.state.to_be_bytes()[0]
    }

    fn make_block(&mut self) {
        let pcb = match self.next() % 8 {
            0 | 1 => self.next() & 0x60,      // I-block, any N(S) and M
            2 => 0x80 | (self.next() & 0x13), // R-block
            3 => 0xC0 | (self.next() & 0x23), // S-block, ISO kinds
            4 => 0xC3,                        // WTX request
            5 => 0xC1,                        // IFS request
            6 => self.next() & 0x40,          // final I-block
            _ => self.next(),                 // anything
        };
        let len = match self.next() {
            0..=9 => 255,
            10..=40 => 1,
            41..=60 => 0,
            n => usize::from(n % 40),
        };
        let inf: Vec<u8> = (0..len).map(|_| self.next()).collect();
        let mut f = block(&self.cfg, false, pcb, &inf);
        if self.next() < 20 {
            let n = f.len();
            f[n - 1] ^= 1;
        }
        self.out.extend(f);
    }
}

impl ErrorType for Adversary {
    type Error = ErrorKind;
}

impl I2c for Adversary {
    fn transaction(&mut self, _: u8, operations: &mut [Operation<'_>]) -> Result<(), ErrorKind> {
        self.ops += 1;
        if self.next() < 8 {
            return Err(nack());
        }
        for op in operations {
            match op {
                Operation::Write(_) => self.out.clear(),
                Operation::Read(r) => {
                    if self.out.is_empty() {
                        self.make_block();
                    }
                    for b in r.iter_mut() {
                        *b = self.out.pop_front().unwrap_or(0xFF);
                    }
                }
            }
        }
        Ok(())
    }
}

#[test]
fn adversary_never_panics_and_ends() {
    let mut outcomes = std::collections::BTreeMap::new();
    for seed in 0..400u64 {
        let mut cfg = match seed % 3 {
            0 => Config::se05x(ADDR),
            1 => Config::gp_t1_prime(ADDR),
            _ => Config::iso7816(ADDR),
        };
        cfg.negotiate_ifsd = seed % 2 == 0;
        let adversary = Adversary { cfg, state: seed, ops: 0, out: VecDeque::new() };
        let mut t1 = T1::new(adversary, NoopDelay::new(), cfg);
        let mut resp = [0u8; 64];
        for cmd_len in [5usize, 300] {
            let r = t1.transmit(&vec![0x5A; cmd_len], &mut resp);
            if let Ok(n) = r {
                assert!((2..=resp.len()).contains(&n));
            }
            let key = match r {
                Ok(_) => "Ok".to_owned(),
                Err(e) => format!("{e:?}"),
            };
            *outcomes.entry(key).or_insert(0) += 1;
        }
        let _ = t1.reset(&mut resp);
        let (adversary, _) = t1.into_parts();
        assert!(adversary.ops < 5_000, "seed {seed}: {} bus operations", adversary.ops);
    }
    // The walk reaches both ends.
    assert!(outcomes.get("Ok").is_some_and(|&n| n > 0), "{outcomes:?}");
    assert!(outcomes.len() >= 3, "{outcomes:?}");
}
