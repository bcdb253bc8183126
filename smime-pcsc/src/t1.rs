//! ISO/IEC 7816-3 T=1 block transmission over an `embedded-hal` 1.0 I2C
//! bus, for secure elements soldered next to a microcontroller.
//!
//! [`T1`] implements [`Transport`]: one command APDU in, one response APDU
//! out. It never allocates: a block is built and read in a fixed buffer of
//! [`MAX_BLOCK`] bytes inside the engine, and the response goes straight into
//! the caller's buffer.
//!
//! # Frames
//!
//! Every block is `prologue | INF | epilogue`:
//!
//! | field | bytes | meaning |
//! | --- | --- | --- |
//! | NAD | 1 | node address: [`Config::nad_to_se`] on blocks the host sends, [`Config::nad_from_se`] on blocks the SE sends |
//! | PCB | 1 | block type and control bits (below) |
//! | LEN | 1 or 2 | length of INF: one byte (ISO 7816-3, SE05x) or two bytes big-endian (GlobalPlatform T=1'), see [`PrologFormat`] |
//! | INF | 0..=[`MAX_INF`] | APDU bytes (I-block) or S-block parameter |
//! | EDC | 1 or 2 | LRC (XOR of every byte before it) or CRC-16/X-25 (ISO/IEC 13239: reflected polynomial 0x8408, initial value 0xFFFF, final XOR 0xFFFF) over prologue and INF, see [`Checksum`] |
//!
//! PCB coding (ISO/IEC 7816-3 §11.3.2.2):
//!
//! - I-block `0 N(S) M 0 0000`: N(S) the send sequence bit, M the
//!   "more data follows" (chaining) bit.
//! - R-block `1 0 0 N(R) 00 EE`: N(R) the sequence number of the I-block
//!   expected next, EE = `00` acknowledge, `01` EDC error, `10` other error.
//! - S-block `1 1 R kkkkk`: R = 0 request, 1 response; kind `kkkkk` from
//!   [`s_block`]: RESYNCH 0, IFS 1, ABORT 2, WTX 3 (ISO 7816-3), CIP 4,
//!   RELEASE 6, SWR 0x0F (GlobalPlatform T=1'), END APDU SESSION 5,
//!   CHIP RESET 6, GET ATR 7, INTERFACE SOFT RESET 0x0F (NXP SE05x).
//!
//! # Profiles
//!
//! - [`Config::se05x`] is NXP SE05x "T=1 over I2C" (NXP UM11225): NAD 0x5A
//!   host→SE and 0xA5 SE→host, one-byte LEN, CRC-16/X-25 appended least
//!   significant byte first, IFSC 254. The interface soft reset
//!   (S(0xCF) → S(0xEF)) answers with the SE's ATR: `PVER | VID (5) |
//!   DLLP length | DLLP (BWT ms u16 BE, IFSC u16 BE, ...) | PLID | PLP length
//!   | PLP | historical bytes length | historical bytes`; the engine takes BWT
//!   and IFSC from it.
//! - [`Config::gp_t1_prime`] is GlobalPlatform "APDU Transport over SPI/I2C"
//!   v1.0 (GPC_SPE_172) T=1': NAD 0x21 host→SE (destination 2, source 1)
//!   and 0x12 SE→host, two-byte big-endian LEN, CRC-16/X-25 sent most
//!   significant byte first, no ATR: after S(SWR) the host asks for the
//!   Communication Interface Parameters with S(CIP): `PVER | IIN length | IIN
//!   | PLID | PLP length | PLP | DLLP length | DLLP (BWT ms u16 BE, IFSC u16
//!   BE) | HB length | HB`; [`Transport::reset`] returns the CIP as the
//!   "ATR". An S(IFS) parameter is one byte up to 254, two bytes (big-endian)
//!   above. Sources: the GP v1.0 frame layout as published in GP summaries,
//!   cross-checked with Infineon's open-source MIT T=1' stack
//!   (`ifx-t1prime`); this code is written from those descriptions.
//! - [`Config::iso7816`] is plain ISO 7816-3 T=1 framing (NAD 0, LRC) on I2C.
//!
//! # Reading from the bus
//!
//! A secure element that is busy (still computing, or asleep) NACKs its
//! address. The engine reads the prologue (3 or 4 bytes) in one I2C read,
//! polled every [`Config::poll_interval_us`] until it is ACKed, then the
//! information field and the epilogue together in a second read of exactly
//! LEN + EDC bytes: both the SE05x and GP T=1' secure elements stream one
//! block over consecutive reads. A block longer than [`MAX_INF`] is read
//! out and thrown away, then treated as an invalid block. A write the SE
//! NACKs is retried the same way.
//!
//! # Errors and recovery (ISO/IEC 7816-3 §11.6.3)
//!
//! A block lost (no answer within BWT × WTX multiplier, or
//! [`Config::poll_limit`] polls), with a bad EDC, a wrong NAD or out of
//! sequence is answered with R(N(R)) carrying "EDC error" or "other error";
//! the SE then repeats its last block, or asks for ours again with R(N(S)).
//! After [`Config::max_retries`] failures in a row the engine sends
//! S(RESYNCH request); when the SE answers, both sequence numbers are back
//! to 0, IFSC to its initial value, and the command fails with
//! [`TransportError::Reset`] (what the SE had, a verified PIN, is to be
//! taken as lost). When even RESYNCH fails: [`TransportError::Timeout`] if
//! the SE stayed silent, [`TransportError::Protocol`] otherwise. Bus errors
//! other than a NACK are [`TransportError::Io`] at once.
//!
//! S(WTX request) is answered with S(WTX response) and the next wait is the
//! multiplier times BWT (and times the poll limit); S(IFS request) from the
//! SE is answered and changes IFSC; S(ABORT request) is answered and the
//! command fails with [`TransportError::Protocol`]. Everything is bounded:
//! retries, polls, WTX requests ([`Config::wtx_limit`]) and the number of
//! response blocks.

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::{Error as _, ErrorKind, I2c};

use crate::transport::{Limits, Transport, TransportError};

/// The longest information field the engine sends or receives.
pub const MAX_INF: usize = 254;

const MAX_PROLOG: usize = 4;
const MAX_EPILOG: usize = 2;

/// The longest block on the wire: a 4-byte prologue, [`MAX_INF`] bytes and a
/// 2-byte CRC.
pub const MAX_BLOCK: usize = MAX_PROLOG + MAX_INF + MAX_EPILOG;

const PCB_R: u8 = 0x80;
const PCB_S: u8 = 0xC0;
const S_RESPONSE: u8 = 0x20;
const I_NS: u8 = 0x40;
const I_MORE: u8 = 0x20;
const R_NR: u8 = 0x10;
const R_EDC_ERROR: u8 = 0x01;
const R_OTHER_ERROR: u8 = 0x02;

/// Response blocks accepted past the caller's buffer before giving up.
const DRAIN_BLOCKS: usize = 64;

/// The kinds of S-block (the low five bits of the PCB).
pub mod s_block {
    /// RESYNCH (ISO 7816-3): both sides back to sequence number 0.
    pub const RESYNCH: u8 = 0x00;
    /// IFS (ISO 7816-3): announce the largest information field accepted.
    pub const IFS: u8 = 0x01;
    /// ABORT (ISO 7816-3): abandon a chain.
    pub const ABORT: u8 = 0x02;
    /// WTX (ISO 7816-3): the SE asks for more time.
    pub const WTX: u8 = 0x03;
    /// CIP (GlobalPlatform T=1'): read the communication interface
    /// parameters.
    pub const CIP: u8 = 0x04;
    /// END APDU SESSION (NXP SE05x).
    pub const END_APDU_SESSION: u8 = 0x05;
    /// CHIP RESET (NXP SE05x); the same code is RELEASE in GlobalPlatform
    /// T=1'.
    pub const CHIP_RESET: u8 = 0x06;
    /// RELEASE (GlobalPlatform T=1'): the SE may go to sleep.
    pub const RELEASE: u8 = 0x06;
    /// GET ATR (NXP SE05x).
    pub const GET_ATR: u8 = 0x07;
    /// Software reset: SWR (GlobalPlatform T=1'), INTERFACE SOFT RESET (NXP
    /// SE05x, whose response carries the ATR).
    pub const SOFT_RESET: u8 = 0x0F;
}

/// The epilogue: the error detection code of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// One byte, the XOR of every byte of prologue and INF (the ISO 7816-3
    /// default).
    Lrc,
    /// CRC-16/X-25 ([`crc16_x25`]), least significant byte first (NXP
    /// SE05x).
    CrcLsbFirst,
    /// CRC-16/X-25 ([`crc16_x25`]), most significant byte first
    /// (GlobalPlatform T=1').
    CrcMsbFirst,
}

impl Checksum {
    /// The epilogue's length in bytes.
    pub const fn len(self) -> usize {
        match self {
            Self::Lrc => 1,
            Self::CrcLsbFirst | Self::CrcMsbFirst => 2,
        }
    }

    /// Whether the epilogue is empty (never: kept for the `len` convention).
    pub const fn is_empty(self) -> bool {
        false
    }
}

/// The prologue's LEN field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrologFormat {
    /// NAD, PCB, LEN in one byte (ISO 7816-3, NXP SE05x).
    OneByteLen,
    /// NAD, PCB, LEN in two bytes big-endian (GlobalPlatform T=1').
    TwoByteLen,
}

impl PrologFormat {
    /// The prologue's length in bytes.
    pub const fn len(self) -> usize {
        match self {
            Self::OneByteLen => 3,
            Self::TwoByteLen => 4,
        }
    }

    /// Whether the prologue is empty (never: kept for the `len` convention).
    pub const fn is_empty(self) -> bool {
        false
    }
}

/// What [`Transport::reset`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetMethod {
    /// S(RESYNCH) only: the sequence numbers go back to 0; the answer is
    /// empty.
    Resynch,
    /// S(INTERFACE SOFT RESET) whose response carries the ATR (NXP SE05x);
    /// BWT and IFSC are taken from it.
    SoftResetAtr,
    /// S(SWR), a wait of [`Config::reset_delay_us`], then S(CIP) whose
    /// response is returned as the answer (GlobalPlatform T=1'); BWT and
    /// IFSC are taken from it.
    SoftResetCip,
}

/// How the engine talks to the secure element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// 7-bit I2C address of the secure element.
    pub address: u8,
    /// NAD of the blocks the host sends.
    pub nad_to_se: u8,
    /// NAD expected on the blocks the SE sends; a block with another NAD is
    /// invalid.
    pub nad_from_se: u8,
    /// Epilogue.
    pub checksum: Checksum,
    /// Prologue (LEN field width).
    pub prolog: PrologFormat,
    /// IFSC assumed until the SE's ATR/CIP or an S(IFS request) says
    /// otherwise (capped at [`MAX_INF`]).
    pub ifsc: u16,
    /// IFSD announced with S(IFS request) (1..=[`MAX_INF`]).
    pub ifsd: u8,
    /// Whether to send S(IFS request) with [`ifsd`](Self::ifsd) before the
    /// first command and after every reset or resynchronisation.
    pub negotiate_ifsd: bool,
    /// Failures in a row (lost or corrupt block, retransmission request)
    /// tolerated before resynchronising.
    pub max_retries: u8,
    /// Delay between two polls of a secure element that NACKs (its minimum
    /// polling time), in microseconds.
    pub poll_interval_us: u32,
    /// The most polls for one block (multiplied by a pending WTX
    /// multiplier); also the most attempts at one write.
    pub poll_limit: u32,
    /// Block waiting time, in microseconds: how long the SE may take before
    /// its next block (0: bounded by `poll_limit` only).
    pub bwt_us: u32,
    /// Delay after each write before the first read (SE guard time), in
    /// microseconds.
    pub guard_time_us: u32,
    /// The most S(WTX request) and S(IFS request) the SE may send in one
    /// exchange.
    pub wtx_limit: u16,
    /// What a reset does.
    pub reset: ResetMethod,
    /// Delay after a software reset (power wake-up time), in microseconds.
    pub reset_delay_us: u32,
    /// What [`Transport::limits`] reports.
    pub limits: Limits,
}

/// Extended APDUs: up to 65535 bytes of data each way; the caller's buffers
/// bound what really moves.
const EXTENDED: Limits =
    Limits { max_command: 4 + 3 + 65535 + 2, max_response: 65536 + 2, extended: true };

impl Config {
    /// NXP SE05x (T=1 over I2C, UM11225): NAD 0x5A/0xA5, CRC-16/X-25 LSB
    /// first, one-byte LEN, IFSC 254, BWT 1 s, polling every 1 ms, guard time
    /// 100 µs; [`Transport::reset`] is the interface soft reset that returns
    /// the ATR. The usual address is 0x48.
    pub const fn se05x(address: u8) -> Self {
        Self {
            address,
            nad_to_se: 0x5A,
            nad_from_se: 0xA5,
            checksum: Checksum::CrcLsbFirst,
            prolog: PrologFormat::OneByteLen,
            ifsc: 254,
            ifsd: 254,
            negotiate_ifsd: true,
            max_retries: 3,
            poll_interval_us: 1_000,
            poll_limit: 1_000,
            bwt_us: 1_000_000,
            guard_time_us: 100,
            wtx_limit: 256,
            reset: ResetMethod::SoftResetAtr,
            reset_delay_us: 0,
            limits: EXTENDED,
        }
    }

    /// GlobalPlatform "APDU Transport over SPI/I2C" v1.0 T=1': NAD 0x21/0x12,
    /// two-byte LEN, CRC-16/X-25 MSB first, BWT 300 ms, polling every 1 ms,
    /// guard time 10 µs, 25 ms power wake-up time after a software reset;
    /// [`Transport::reset`] is S(SWR) then S(CIP), which sets BWT and IFSC.
    /// Call it first: the IFSC assumed before (254) may be too large.
    pub const fn gp_t1_prime(address: u8) -> Self {
        Self {
            address,
            nad_to_se: 0x21,
            nad_from_se: 0x12,
            checksum: Checksum::CrcMsbFirst,
            prolog: PrologFormat::TwoByteLen,
            ifsc: 254,
            ifsd: 254,
            negotiate_ifsd: true,
            max_retries: 3,
            poll_interval_us: 1_000,
            poll_limit: 300,
            bwt_us: 300_000,
            guard_time_us: 10,
            wtx_limit: 256,
            reset: ResetMethod::SoftResetCip,
            reset_delay_us: 25_000,
            limits: EXTENDED,
        }
    }

    /// Plain ISO/IEC 7816-3 T=1 framing on I2C: NAD 0, LRC, one-byte LEN,
    /// the ISO default IFSC of 32, BWT 1 s; [`Transport::reset`] only
    /// resynchronises.
    pub const fn iso7816(address: u8) -> Self {
        Self {
            address,
            nad_to_se: 0x00,
            nad_from_se: 0x00,
            checksum: Checksum::Lrc,
            prolog: PrologFormat::OneByteLen,
            ifsc: 32,
            ifsd: 254,
            negotiate_ifsd: true,
            max_retries: 3,
            poll_interval_us: 1_000,
            poll_limit: 1_000,
            bwt_us: 1_000_000,
            guard_time_us: 0,
            wtx_limit: 256,
            reset: ResetMethod::Resynch,
            reset_delay_us: 0,
            limits: EXTENDED,
        }
    }
}

/// The ISO 7816-3 LRC: the XOR of all bytes.
pub fn lrc(data: &[u8]) -> u8 {
    data.iter().fold(0, |acc, b| acc ^ b)
}

/// CRC-16/X-25 (ISO/IEC 13239, the CRC of ISO 7816-3 T=1): reflected
/// polynomial 0x1021 (0x8408), initial value 0xFFFF, final XOR 0xFFFF.
/// `crc16_x25(b"123456789") == 0x906E`.
pub fn crc16_x25(data: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &byte in data {
        crc ^= u16::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x8408 } else { crc >> 1 };
        }
    }
    crc ^ 0xFFFF
}

/// The link parameters a secure element announces in its ATR or CIP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkParams {
    /// Block waiting time, in milliseconds.
    pub bwt_ms: u16,
    /// Largest information field the SE accepts.
    pub ifsc: u16,
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at.checked_add(1)?)?]))
}

/// BWT and IFSC from an NXP SE05x ATR (`PVER | VID (5) | DLLP length |
/// DLLP (BWT, IFSC, ...) | ...`); `None` if it is too short.
pub fn parse_se05x_atr(atr: &[u8]) -> Option<LinkParams> {
    let dllp_len = usize::from(*atr.get(6)?);
    if dllp_len < 4 || atr.len() < 7 + dllp_len {
        return None;
    }
    Some(LinkParams { bwt_ms: be16(atr, 7)?, ifsc: be16(atr, 9)? })
}

/// BWT and IFSC from a GlobalPlatform T=1' CIP (`PVER | IIN length | IIN |
/// PLID | PLP length | PLP | DLLP length | DLLP (BWT, IFSC) | HB length |
/// HB`); `None` if it is malformed.
pub fn parse_gp_cip(cip: &[u8]) -> Option<LinkParams> {
    let iin_len = usize::from(*cip.get(1)?);
    let plid_at = 2 + iin_len;
    let plp_len = usize::from(*cip.get(plid_at + 1)?);
    let dllp_len_at = plid_at + 2 + plp_len;
    let dllp_len = usize::from(*cip.get(dllp_len_at)?);
    let dllp = dllp_len_at + 1;
    if dllp_len < 4 || cip.len() < dllp + dllp_len {
        return None;
    }
    Some(LinkParams { bwt_ms: be16(cip, dllp)?, ifsc: be16(cip, dllp + 2)? })
}

/// Why one block exchange failed (internal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    /// Nothing came (NACK until the poll limit).
    Timeout,
    /// The EDC did not match.
    Checksum,
    /// Wrong NAD, PCB, length or sequence.
    Invalid,
    /// The bus failed.
    Io,
}

impl Fail {
    const fn r_code(self) -> u8 {
        match self {
            Self::Checksum => R_EDC_ERROR,
            _ => R_OTHER_ERROR,
        }
    }

    const fn error(self) -> TransportError {
        match self {
            Self::Timeout => TransportError::Timeout,
            Self::Io => TransportError::Io,
            Self::Checksum | Self::Invalid => TransportError::Protocol,
        }
    }
}

/// A block received: its PCB and INF length (INF is in the engine's
/// buffer).
#[derive(Clone, Copy, Debug)]
struct Rx {
    pcb: u8,
    len: usize,
}

/// The next block the host sends in an exchange.
#[derive(Clone, Copy, Debug)]
enum Out {
    /// The current I-block of the command.
    I,
    /// R(N(R)) with this error code (0: acknowledge).
    R(u8),
    /// An S-block: PCB and up to two bytes of INF.
    S(u8, [u8; 2], usize),
}

/// The T=1 block engine over an I2C bus.
pub struct T1<I2C, D> {
    i2c: I2C,
    delay: D,
    config: Config,
    /// N(S) of the next I-block the host sends.
    ns: bool,
    /// N(S) expected on the next I-block from the SE.
    nr: bool,
    ifsc: usize,
    initial_ifsc: usize,
    bwt_us: u32,
    /// WTX multiplier for the next receive (0: none).
    wtx: u32,
    ifsd_negotiated: bool,
    buf: [u8; MAX_BLOCK],
}

impl<I2C: I2c, D: DelayNs> T1<I2C, D> {
    /// An engine on `i2c`, waiting with `delay`. Nothing is sent until the
    /// first command or reset.
    pub fn new(i2c: I2C, delay: D, config: Config) -> Self {
        let ifsc = clamp_ifs(usize::from(config.ifsc));
        Self {
            i2c,
            delay,
            config,
            ns: false,
            nr: false,
            ifsc,
            initial_ifsc: ifsc,
            bwt_us: config.bwt_us,
            wtx: 0,
            ifsd_negotiated: false,
            buf: [0; MAX_BLOCK],
        }
    }

    /// Gives the bus and the delay back.
    pub fn into_parts(self) -> (I2C, D) {
        (self.i2c, self.delay)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The bus, to inspect it.
    pub fn i2c(&self) -> &I2C {
        &self.i2c
    }

    /// The bus, to change it.
    pub fn i2c_mut(&mut self) -> &mut I2C {
        &mut self.i2c
    }

    /// The IFSC in force: the longest information field sent to the SE.
    pub fn ifsc(&self) -> usize {
        self.ifsc
    }

    /// The block waiting time in force, in microseconds.
    pub fn bwt_us(&self) -> u32 {
        self.bwt_us
    }

    /// Sends S(RESYNCH request) and waits for the response: sequence numbers
    /// back to 0, IFSC back to its initial value. The SE's application state
    /// may be gone.
    pub fn resynchronize(&mut self) -> Result<(), TransportError> {
        self.resync().map_err(Fail::error)
    }

    /// Announces [`Config::ifsd`] with S(IFS request).
    pub fn negotiate_ifsd(&mut self) -> Result<(), TransportError> {
        self.ifsd().map_err(Fail::error)
    }

    /// Sends S(ABORT request) and waits for the response.
    pub fn abort(&mut self) -> Result<(), TransportError> {
        self.supervisory(s_block::ABORT, &[], &mut []).map(|_| ())
    }

    /// S(SWR) / S(INTERFACE SOFT RESET): resets the SE's interface and the
    /// sequence numbers; writes the response's INF (the ATR on an SE05x,
    /// nothing on GP T=1') into `answer` and returns its length. BWT and
    /// IFSC are not changed: [`Transport::reset`] does that.
    pub fn soft_reset(&mut self, answer: &mut [u8]) -> Result<usize, TransportError> {
        let n = self.supervisory(s_block::SOFT_RESET, &[], answer);
        self.after_reset();
        n
    }

    /// S(CIP) (GlobalPlatform T=1'): writes the communication interface
    /// parameters into `cip` and returns their length.
    pub fn read_cip(&mut self, cip: &mut [u8]) -> Result<usize, TransportError> {
        self.supervisory(s_block::CIP, &[], cip)
    }

    /// S(GET ATR) (NXP SE05x): writes the ATR into `atr` without resetting
    /// and returns its length.
    pub fn get_atr(&mut self, atr: &mut [u8]) -> Result<usize, TransportError> {
        self.supervisory(s_block::GET_ATR, &[], atr)
    }

    /// S(END APDU SESSION) (NXP SE05x).
    pub fn end_apdu_session(&mut self) -> Result<(), TransportError> {
        self.supervisory(s_block::END_APDU_SESSION, &[], &mut []).map(|_| ())
    }

    /// S(CHIP RESET) (NXP SE05x): a cold reset of the SE; sequence numbers go
    /// back to 0.
    pub fn chip_reset(&mut self) -> Result<(), TransportError> {
        let r = self.supervisory(s_block::CHIP_RESET, &[], &mut []).map(|_| ());
        self.after_reset();
        r
    }

    /// S(RELEASE) (GlobalPlatform T=1'): the SE may enter power saving.
    pub fn release(&mut self) -> Result<(), TransportError> {
        self.supervisory(s_block::RELEASE, &[], &mut []).map(|_| ())
    }

    /// Any S-block exchange: sends S(`kind` request) with `inf` (at most
    /// [`MAX_INF`] bytes), waits for S(`kind` response), answering WTX
    /// requests on the way, and retransmits the request on errors up to
    /// [`Config::max_retries`] times. Writes the response's INF into
    /// `response` and returns its length
    /// ([`TransportError::BufferTooSmall`] if it did not fit). The engine's
    /// sequence numbers and IFSC are left alone: reset with
    /// [`resynchronize`](Self::resynchronize), [`soft_reset`](Self::soft_reset)
    /// or [`chip_reset`](Self::chip_reset), which also reset them.
    pub fn supervisory(
        &mut self,
        kind: u8,
        inf: &[u8],
        response: &mut [u8],
    ) -> Result<usize, TransportError> {
        let len = self.s_exchange(kind & 0x1F, inf).map_err(Fail::error)?;
        let pl = self.config.prolog.len();
        let dst = response.get_mut(..len).ok_or(TransportError::BufferTooSmall)?;
        dst.copy_from_slice(&self.buf[pl..pl + len]);
        Ok(len)
    }

    // ---- internals ----------------------------------------------------

    fn after_reset(&mut self) {
        self.ns = false;
        self.nr = false;
        self.wtx = 0;
        self.ifsc = self.initial_ifsc;
        self.ifsd_negotiated = false;
    }

    fn apply(&mut self, params: Option<LinkParams>) {
        if let Some(p) = params {
            if p.bwt_ms != 0 {
                self.bwt_us = u32::from(p.bwt_ms).saturating_mul(1000);
            }
            if p.ifsc != 0 {
                self.initial_ifsc = clamp_ifs(usize::from(p.ifsc));
                self.ifsc = self.initial_ifsc;
            }
        }
    }

    fn r_pcb(&self, code: u8) -> u8 {
        PCB_R | if self.nr { R_NR } else { 0 } | (code & 0x03)
    }

    /// Builds a block in the buffer and writes it, polling while the SE
    /// NACKs.
    fn send_block(&mut self, pcb: u8, inf: &[u8]) -> Result<(), Fail> {
        let n = inf.len();
        if n > MAX_INF {
            return Err(Fail::Invalid);
        }
        let pl = self.config.prolog.len();
        self.buf[0] = self.config.nad_to_se;
        self.buf[1] = pcb;
        let len = u16::try_from(n).map_err(|_| Fail::Invalid)?.to_be_bytes();
        match self.config.prolog {
            PrologFormat::OneByteLen => self.buf[2] = len[1],
            PrologFormat::TwoByteLen => self.buf[2..4].copy_from_slice(&len),
        }
        self.buf[pl..pl + n].copy_from_slice(inf);
        let total = pl + n + self.put_edc(pl + n);
        let limit = self.config.poll_limit.max(1);
        let mut attempts = 0u32;
        loop {
            match self.i2c.write(self.config.address, &self.buf[..total]) {
                Ok(()) => break,
                Err(e) if is_nack(e.kind()) => {
                    attempts += 1;
                    if attempts >= limit {
                        return Err(Fail::Timeout);
                    }
                    self.delay.delay_us(self.config.poll_interval_us);
                }
                Err(_) => return Err(Fail::Io),
            }
        }
        if self.config.guard_time_us > 0 {
            self.delay.delay_us(self.config.guard_time_us);
        }
        Ok(())
    }

    /// Writes the EDC of `buf[..at]` after it; returns its length.
    fn put_edc(&mut self, at: usize) -> usize {
        match self.config.checksum {
            Checksum::Lrc => {
                self.buf[at] = lrc(&self.buf[..at]);
                1
            }
            Checksum::CrcLsbFirst => {
                let crc = crc16_x25(&self.buf[..at]).to_le_bytes();
                self.buf[at..at + 2].copy_from_slice(&crc);
                2
            }
            Checksum::CrcMsbFirst => {
                let crc = crc16_x25(&self.buf[..at]).to_be_bytes();
                self.buf[at..at + 2].copy_from_slice(&crc);
                2
            }
        }
    }

    fn edc_ok(&self, at: usize) -> bool {
        match self.config.checksum {
            Checksum::Lrc => self.buf[at] == lrc(&self.buf[..at]),
            Checksum::CrcLsbFirst => {
                self.buf[at..at + 2] == crc16_x25(&self.buf[..at]).to_le_bytes()
            }
            Checksum::CrcMsbFirst => {
                self.buf[at..at + 2] == crc16_x25(&self.buf[..at]).to_be_bytes()
            }
        }
    }

    /// Reads `buf[start..end]`, polling while the SE NACKs: at most
    /// `poll_limit × m` polls and `bwt × m` of waiting.
    fn read_polled(&mut self, start: usize, end: usize, m: u32) -> Result<(), Fail> {
        let limit = u64::from(self.config.poll_limit.max(1)) * u64::from(m);
        let budget = u64::from(self.bwt_us) * u64::from(m);
        let interval = self.config.poll_interval_us;
        let mut attempts = 0u64;
        let mut waited = 0u64;
        loop {
            match self.i2c.read(self.config.address, &mut self.buf[start..end]) {
                Ok(()) => return Ok(()),
                Err(e) if is_nack(e.kind()) => {
                    attempts += 1;
                    if attempts >= limit || (budget > 0 && waited >= budget) {
                        return Err(Fail::Timeout);
                    }
                    self.delay.delay_us(interval);
                    waited += u64::from(interval);
                }
                Err(_) => return Err(Fail::Io),
            }
        }
    }

    /// Reads one block: the prologue, then INF and EDC. Checks EDC and NAD.
    fn recv_block(&mut self) -> Result<Rx, Fail> {
        let m = self.wtx.max(1);
        self.wtx = 0;
        let pl = self.config.prolog.len();
        let el = self.config.checksum.len();
        self.read_polled(0, pl, m)?;
        let len = match self.config.prolog {
            PrologFormat::OneByteLen => usize::from(self.buf[2]),
            PrologFormat::TwoByteLen => usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]])),
        };
        if len > MAX_INF {
            // Read the block out so that the SE's next block starts clean.
            let mut left = len + el;
            while left > 0 {
                let n = left.min(MAX_BLOCK);
                self.read_polled(0, n, 1)?;
                left -= n;
            }
            return Err(Fail::Invalid);
        }
        self.read_polled(pl, pl + len + el, 1)?;
        if !self.edc_ok(pl + len) {
            return Err(Fail::Checksum);
        }
        if self.buf[0] != self.config.nad_from_se {
            return Err(Fail::Invalid);
        }
        Ok(Rx { pcb: self.buf[1], len })
    }

    fn inf_byte(&self, i: usize) -> u8 {
        self.buf[self.config.prolog.len() + i]
    }

    /// The value of an S(IFS) parameter in the buffer.
    fn ifs_value(&self, len: usize) -> Option<usize> {
        let v = match (len, self.config.prolog) {
            (1, _) => usize::from(self.inf_byte(0)),
            (2, PrologFormat::TwoByteLen) => {
                usize::from(u16::from_be_bytes([self.inf_byte(0), self.inf_byte(1)]))
            }
            _ => return None,
        };
        let max = match len {
            1 => 0xFE,
            _ => 0xFF9,
        };
        (v != 0 && v <= max).then_some(v)
    }

    fn s_exchange(&mut self, kind: u8, inf: &[u8]) -> Result<usize, Fail> {
        let request = PCB_S | kind;
        let response = request | S_RESPONSE;
        let mut failures = 0u8;
        let mut wtx = 0u16;
        let mut last = Fail::Timeout;
        'retry: while failures <= self.config.max_retries {
            match self.send_block(request, inf) {
                Ok(()) => {}
                Err(Fail::Io) => return Err(Fail::Io),
                Err(f) => {
                    last = f;
                    failures += 1;
                    continue;
                }
            }
            loop {
                match self.recv_block() {
                    Ok(rx) if rx.pcb == response => return Ok(rx.len),
                    Ok(rx) if rx.pcb == PCB_S | s_block::WTX && rx.len == 1 => {
                        wtx += 1;
                        if wtx > self.config.wtx_limit {
                            return Err(Fail::Timeout);
                        }
                        let m = self.inf_byte(0);
                        match self.send_block(PCB_S | S_RESPONSE | s_block::WTX, &[m]) {
                            Ok(()) => self.wtx = u32::from(m),
                            Err(Fail::Io) => return Err(Fail::Io),
                            Err(f) => {
                                last = f;
                                failures += 1;
                                continue 'retry;
                            }
                        }
                    }
                    Ok(_) => {
                        last = Fail::Invalid;
                        failures += 1;
                        continue 'retry;
                    }
                    Err(Fail::Io) => return Err(Fail::Io),
                    Err(f) => {
                        last = f;
                        failures += 1;
                        continue 'retry;
                    }
                }
            }
        }
        Err(last)
    }

    fn resync(&mut self) -> Result<(), Fail> {
        let len = self.s_exchange(s_block::RESYNCH, &[])?;
        self.after_reset();
        if len != 0 {
            return Err(Fail::Invalid);
        }
        Ok(())
    }

    fn ifsd(&mut self) -> Result<(), Fail> {
        let ifsd = self.config.ifsd.clamp(1, 254);
        let len = self.s_exchange(s_block::IFS, &[ifsd])?;
        if len != 1 || self.inf_byte(0) != ifsd {
            return Err(Fail::Invalid);
        }
        self.ifsd_negotiated = true;
        Ok(())
    }

    /// After the retries: resynchronise and say what the command gets.
    fn give_up(&mut self, fault: Fail) -> TransportError {
        match self.resync() {
            Ok(()) => TransportError::Reset,
            Err(Fail::Io) => TransportError::Io,
            Err(_) if fault == Fail::Timeout => TransportError::Timeout,
            Err(_) => TransportError::Protocol,
        }
    }

    fn exchange(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, TransportError> {
        if self.config.negotiate_ifsd && !self.ifsd_negotiated {
            match self.ifsd() {
                Ok(()) => {}
                Err(Fail::Io) => return Err(TransportError::Io),
                Err(f) => return Err(self.give_up(f)),
            }
        }
        let pl = self.config.prolog.len();
        // The command block in flight: command[offset..offset + chunk].
        let mut offset = 0usize;
        let mut chunk = command.len().min(self.ifsc);
        // Whether the SE has yet to acknowledge the command's last block.
        let mut sending = true;
        let mut received = 0usize;
        let mut blocks = 0usize;
        let mut overflow = false;
        let mut out = Out::I;
        let mut failures = 0u8;
        let mut s_requests = 0u16;
        loop {
            let sent = match out {
                Out::I => {
                    let more = offset + chunk < command.len();
                    let pcb = if self.ns { I_NS } else { 0 } | if more { I_MORE } else { 0 };
                    let inf = command.get(offset..offset + chunk).unwrap_or(&[]);
                    self.send_block(pcb, inf)
                }
                Out::R(code) => self.send_block(self.r_pcb(code), &[]),
                Out::S(pcb, inf, n) => self.send_block(pcb, inf.get(..n).unwrap_or(&[])),
            };
            let fault = match sent {
                Err(Fail::Io) => return Err(TransportError::Io),
                // The SE never took the block: send it again.
                Err(f) => Some((f, out)),
                Ok(()) => match self.recv_block() {
                    Err(Fail::Io) => return Err(TransportError::Io),
                    Err(f) => Some((f, Out::R(f.r_code()))),
                    Ok(rx) => {
                        let pcb = rx.pcb;
                        let chaining = sending && offset + chunk < command.len();
                        if pcb & 0x80 == 0 {
                            // I-block.
                            let seq = pcb & I_NS != 0;
                            if pcb & 0x1F != 0 || chaining || seq != self.nr {
                                Some((Fail::Invalid, Out::R(R_OTHER_ERROR)))
                            } else {
                                if sending {
                                    // The response acknowledges our last block.
                                    self.ns = !self.ns;
                                    sending = false;
                                }
                                self.nr = !self.nr;
                                failures = 0;
                                blocks += 1;
                                let inf = &self.buf[pl..pl + rx.len];
                                match response.get_mut(received..received + rx.len) {
                                    Some(dst) if !overflow => {
                                        dst.copy_from_slice(inf);
                                        received += rx.len;
                                    }
                                    _ => overflow = true,
                                }
                                if pcb & I_MORE == 0 {
                                    return if overflow {
                                        Err(TransportError::BufferTooSmall)
                                    } else if received < 2 {
                                        Err(TransportError::Protocol)
                                    } else {
                                        Ok(received)
                                    };
                                }
                                if blocks > response.len() + DRAIN_BLOCKS {
                                    return Err(self.give_up(Fail::Invalid));
                                }
                                out = Out::R(0);
                                None
                            }
                        } else if pcb & 0xC0 == PCB_R {
                            // R-block.
                            let nr = pcb & R_NR != 0;
                            if pcb & 0x2C != 0 || rx.len != 0 {
                                Some((Fail::Invalid, Out::R(R_OTHER_ERROR)))
                            } else if chaining && nr != self.ns {
                                // Our chained block is acknowledged.
                                self.ns = !self.ns;
                                offset += chunk;
                                chunk = (command.len() - offset).min(self.ifsc);
                                failures = 0;
                                out = Out::I;
                                None
                            } else if sending && nr == self.ns {
                                // The SE asks for our block again.
                                Some((Fail::Invalid, Out::I))
                            } else if !sending {
                                // The SE missed our acknowledgement.
                                Some((Fail::Invalid, Out::R(0)))
                            } else {
                                Some((Fail::Invalid, Out::R(R_OTHER_ERROR)))
                            }
                        } else {
                            // S-block.
                            let kind = pcb & 0x1F;
                            let is_request = pcb & S_RESPONSE == 0;
                            if is_request && (kind == s_block::WTX || kind == s_block::IFS) {
                                s_requests += 1;
                                if s_requests > self.config.wtx_limit {
                                    return Err(self.give_up(Fail::Timeout));
                                }
                            }
                            match (is_request, kind) {
                                (true, s_block::WTX) if rx.len == 1 => {
                                    let m = self.inf_byte(0);
                                    self.wtx = u32::from(m);
                                    out = Out::S(PCB_S | S_RESPONSE | kind, [m, 0], 1);
                                    None
                                }
                                (true, s_block::IFS) => match self.ifs_value(rx.len) {
                                    Some(v) => {
                                        self.ifsc = clamp_ifs(v);
                                        let inf = [self.inf_byte(0), self.inf_byte(1)];
                                        out = Out::S(PCB_S | S_RESPONSE | kind, inf, rx.len);
                                        None
                                    }
                                    None => Some((Fail::Invalid, Out::R(R_OTHER_ERROR))),
                                },
                                (true, s_block::ABORT) => {
                                    let _ = self.send_block(PCB_S | S_RESPONSE | kind, &[]);
                                    return Err(TransportError::Protocol);
                                }
                                _ => Some((Fail::Invalid, Out::R(R_OTHER_ERROR))),
                            }
                        }
                    }
                },
            };
            if let Some((fault, next)) = fault {
                failures += 1;
                if failures > self.config.max_retries {
                    return Err(self.give_up(fault));
                }
                out = next;
            }
        }
    }
}

fn clamp_ifs(v: usize) -> usize {
    v.clamp(1, MAX_INF)
}

fn is_nack(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::NoAcknowledge(_))
}

impl<I2C: I2c, D: DelayNs> Transport for T1<I2C, D> {
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, TransportError> {
        self.exchange(command, response)
    }

    fn limits(&self) -> Limits {
        self.config.limits
    }

    fn reset(&mut self, atr: &mut [u8]) -> Result<usize, TransportError> {
        match self.config.reset {
            ResetMethod::Resynch => {
                self.resynchronize()?;
                Ok(0)
            }
            ResetMethod::SoftResetAtr => {
                let len = self.s_exchange(s_block::SOFT_RESET, &[]).map_err(Fail::error)?;
                let pl = self.config.prolog.len();
                let params = parse_se05x_atr(&self.buf[pl..pl + len]);
                let dst =
                    atr.get_mut(..len).map(|dst| dst.copy_from_slice(&self.buf[pl..pl + len]));
                self.apply(params);
                self.after_reset();
                if self.config.reset_delay_us > 0 {
                    self.delay.delay_us(self.config.reset_delay_us);
                }
                dst.map(|()| len).ok_or(TransportError::BufferTooSmall)
            }
            ResetMethod::SoftResetCip => {
                self.s_exchange(s_block::SOFT_RESET, &[]).map_err(Fail::error)?;
                self.after_reset();
                if self.config.reset_delay_us > 0 {
                    self.delay.delay_us(self.config.reset_delay_us);
                }
                let len = self.s_exchange(s_block::CIP, &[]).map_err(Fail::error)?;
                let pl = self.config.prolog.len();
                let params = parse_gp_cip(&self.buf[pl..pl + len]);
                let dst =
                    atr.get_mut(..len).map(|dst| dst.copy_from_slice(&self.buf[pl..pl + len]));
                self.apply(params);
                dst.map(|()| len).ok_or(TransportError::BufferTooSmall)
            }
        }
    }
}
