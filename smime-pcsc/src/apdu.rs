//! ISO 7816-4 command and response APDUs, and the [`Channel`] that sends
//! them: short or extended length, command chaining, `61xx` answered with
//! GET RESPONSE, `6Cxx` answered by re-sending with the right Le. No heap.

use core::fmt;

use smime_core::backend::{BackendError, BackendErrorKind};

use crate::transport::{Transport, TransportError};

/// A status word (SW1 SW2).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `9000`: success.
    pub const OK: Self = Self(0x9000);

    /// From SW1 and SW2.
    pub const fn new(sw1: u8, sw2: u8) -> Self {
        Self(((sw1 as u16) << 8) | sw2 as u16)
    }

    /// SW1.
    pub const fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// SW2.
    pub const fn sw2(self) -> u8 {
        (self.0 & 0xFF) as u8
    }

    /// Whether this is `9000`.
    pub const fn is_ok(self) -> bool {
        self.0 == 0x9000
    }

    /// The error this status word means, `None` for `9000`.
    pub fn error_kind(self) -> Option<ErrorKind> {
        Some(match (self.sw1(), self.sw2()) {
            (0x90, 0x00) => return None,
            (0x63, x) if x & 0xF0 == 0xC0 => ErrorKind::PinIncorrect { tries_left: x & 0x0F },
            (0x69, 0x83) => ErrorKind::PinBlocked,
            (0x69, 0x82) => ErrorKind::SecurityStatusNotSatisfied,
            (0x69, 0x84) => ErrorKind::ReferenceDataNotUsable,
            (0x69, 0x85) => ErrorKind::ConditionsNotSatisfied,
            (0x6A, 0x82) => ErrorKind::FileNotFound,
            (0x6A, 0x88) => ErrorKind::ReferenceDataNotFound,
            (0x6A, 0x80) => ErrorKind::WrongData,
            (0x67, 0x00) => ErrorKind::WrongLength,
            (0x6A, 0x86) | (0x6B, 0x00) => ErrorKind::WrongParameters,
            (0x6D, 0x00) | (0x6E, 0x00) | (0x6A, 0x81) => ErrorKind::NotSupported,
            (0x64 | 0x65, _) | (0x6F, 0x00) => ErrorKind::CardFailure(self),
            _ => ErrorKind::Status(self),
        })
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SW {:04X}", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

/// What went wrong talking to a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The transport failed (card removed or reset, reader failure).
    Transport(TransportError),
    /// `63Cx`: the PIN was wrong; `tries_left` tries remain.
    PinIncorrect {
        /// Tries left before the PIN is blocked.
        tries_left: u8,
    },
    /// `6983`: the PIN (authentication method) is blocked.
    PinBlocked,
    /// `6982`: security status not satisfied (the PIN was not verified).
    SecurityStatusNotSatisfied,
    /// `6984`: reference data not usable.
    ReferenceDataNotUsable,
    /// `6985`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `6A82`: file or application not found.
    FileNotFound,
    /// `6A88`: referenced data (a key, a PIN) not found.
    ReferenceDataNotFound,
    /// `6A80`: incorrect data in the command.
    WrongData,
    /// `6700`: wrong length.
    WrongLength,
    /// `6A86` / `6B00`: incorrect P1 P2.
    WrongParameters,
    /// `6D00`, `6E00`, `6A81`: instruction, class or function not supported.
    NotSupported,
    /// `64xx`, `65xx`, `6F00`: the card failed (memory, unknown error).
    CardFailure(StatusWord),
    /// Another status word.
    Status(StatusWord),
    /// The command does not fit what the transport and this channel carry.
    CommandTooLong,
    /// The response does not fit the caller's buffer.
    ResponseTooLong,
    /// The card's response is malformed (shorter than a status word, a bad
    /// TLV, an unexpected length).
    Malformed,
    /// A PIN is needed and none was given (or it was used up by a failed
    /// VERIFY: PINs are never presented twice).
    PinRequired,
    /// The key does not do this (an RSA operation on an EC key, ...).
    Unsupported,
    /// The card's certificate does not match what was expected or does not
    /// parse.
    BadCertificate,
}

/// An error from a card: its kind and the command it happened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    context: &'static str,
}

impl Error {
    /// An error of `kind` during `context` (a short description of the
    /// command: `"VERIFY"`, `"PSO: COMPUTE DIGITAL SIGNATURE"`).
    pub const fn new(kind: ErrorKind, context: &'static str) -> Self {
        Self { kind, context }
    }

    /// The kind.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The command it happened in.
    pub const fn context(&self) -> &'static str {
        self.context
    }

    /// Whether the card lost its security state (removed or reset): a PIN
    /// verified before no longer counts.
    pub const fn lost_state(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Transport(
                TransportError::Removed | TransportError::Reset | TransportError::NoCard
            )
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.context)?;
        match self.kind {
            ErrorKind::Transport(t) => write!(f, "{t}"),
            ErrorKind::PinIncorrect { tries_left } => {
                write!(f, "wrong PIN ({tries_left} tries left; the PIN is not tried again)")
            }
            ErrorKind::PinBlocked => f.write_str("the PIN is blocked (6983)"),
            ErrorKind::SecurityStatusNotSatisfied => {
                f.write_str("security status not satisfied: PIN not verified (6982)")
            }
            ErrorKind::ReferenceDataNotUsable => f.write_str("reference data not usable (6984)"),
            ErrorKind::ConditionsNotSatisfied => {
                f.write_str("conditions of use not satisfied (6985)")
            }
            ErrorKind::FileNotFound => f.write_str("file or application not found (6A82)"),
            ErrorKind::ReferenceDataNotFound => {
                f.write_str("key or PIN reference not found (6A88)")
            }
            ErrorKind::WrongData => f.write_str("incorrect data (6A80)"),
            ErrorKind::WrongLength => f.write_str("wrong length (6700)"),
            ErrorKind::WrongParameters => f.write_str("incorrect parameters P1-P2"),
            ErrorKind::NotSupported => f.write_str("not supported by the card"),
            ErrorKind::CardFailure(sw) => write!(f, "card failure (SW {sw})"),
            ErrorKind::Status(sw) => write!(f, "status word {sw}"),
            ErrorKind::CommandTooLong => f.write_str("command too long for the reader"),
            ErrorKind::ResponseTooLong => f.write_str("response too long for the buffer"),
            ErrorKind::Malformed => f.write_str("malformed response"),
            ErrorKind::PinRequired => f.write_str("a PIN is needed"),
            ErrorKind::Unsupported => f.write_str("the card key cannot do this"),
            ErrorKind::BadCertificate => f.write_str("unusable certificate"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

impl BackendError for Error {
    fn kind(&self) -> BackendErrorKind {
        match self.kind {
            ErrorKind::PinIncorrect { tries_left } => {
                BackendErrorKind::PinIncorrect { tries_left: Some(tries_left) }
            }
            ErrorKind::PinBlocked => BackendErrorKind::PinLocked,
            ErrorKind::PinRequired | ErrorKind::SecurityStatusNotSatisfied => {
                BackendErrorKind::PinRequired
            }
            ErrorKind::Transport(
                TransportError::Removed | TransportError::Reset | TransportError::NoCard,
            ) => BackendErrorKind::Removed,
            ErrorKind::Transport(_) | ErrorKind::CardFailure(_) | ErrorKind::Malformed => {
                BackendErrorKind::Device
            }
            ErrorKind::ReferenceDataNotFound | ErrorKind::FileNotFound => {
                BackendErrorKind::KeyNotFound
            }
            ErrorKind::Unsupported | ErrorKind::NotSupported => {
                BackendErrorKind::UnsupportedAlgorithm
            }
            ErrorKind::ResponseTooLong => BackendErrorKind::BufferTooSmall,
            // A decipher the card refuses (bad padding) reports 6A80 or 6985.
            ErrorKind::WrongData => BackendErrorKind::DecryptionFailed,
            _ => BackendErrorKind::Other,
        }
    }
}

/// A command APDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Lc bytes); empty for cases 1 and 2.
    pub data: &'a [u8],
    /// The most response data expected (Ne): 0 for none (cases 1 and 3),
    /// up to 256 (short) or 65536 (extended). The channel lowers it to what
    /// the caller's buffer holds.
    pub ne: usize,
}

impl<'a> Command<'a> {
    /// A case 1 command (header only).
    pub const fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self { cla, ins, p1, p2, data: &[], ne: 0 }
    }

    /// With command data.
    pub const fn with_data(self, data: &'a [u8]) -> Self {
        Self { data, ..self }
    }

    /// Expecting up to `ne` bytes of response data.
    pub const fn with_ne(self, ne: usize) -> Self {
        Self { ne, ..self }
    }

    /// The length of this command encoded short (`extended == false`) or
    /// extended; `None` when it cannot be encoded so.
    pub fn encoded_len(&self, extended: bool) -> Option<usize> {
        let lc = self.data.len();
        let ne = self.ne;
        if extended {
            if lc > 65535 || ne > 65536 {
                return None;
            }
            let mut n = 4;
            if lc > 0 {
                n += 3 + lc;
            }
            if ne > 0 {
                n += if lc > 0 { 2 } else { 3 };
            }
            Some(n)
        } else {
            if lc > 255 || ne > 256 {
                return None;
            }
            Some(4 + if lc > 0 { 1 + lc } else { 0 } + usize::from(ne > 0))
        }
    }

    /// Encodes the command into `out`, short or extended; returns its
    /// length. Short encoding needs Lc ≤ 255 and Ne ≤ 256; extended Lc ≤
    /// 65535 and Ne ≤ 65536.
    pub fn encode(&self, extended: bool, out: &mut [u8]) -> Result<usize, Error> {
        let too_long = Error::new(ErrorKind::CommandTooLong, "encoding a command");
        let n = self.encoded_len(extended).ok_or(too_long)?;
        let out = out.get_mut(..n).ok_or(too_long)?;
        out[..4].copy_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let lc = self.data.len();
        let mut i = 4;
        if extended {
            if lc > 0 {
                out[i] = 0;
                out[i + 1..i + 3].copy_from_slice(&u16_be(lc));
                i += 3;
                out[i..i + lc].copy_from_slice(self.data);
                i += lc;
            }
            if self.ne > 0 {
                if lc == 0 {
                    out[i] = 0;
                    i += 1;
                }
                // 65536 is encoded as 0000.
                out[i..i + 2].copy_from_slice(&u16_be(self.ne & 0xFFFF));
                i += 2;
            }
        } else {
            if lc > 0 {
                out[i] = low_byte(lc);
                i += 1;
                out[i..i + lc].copy_from_slice(self.data);
                i += lc;
            }
            if self.ne > 0 {
                // 256 is encoded as 00.
                out[i] = low_byte(self.ne & 0xFF);
                i += 1;
            }
        }
        debug_assert_eq!(i, n);
        Ok(n)
    }
}

/// The low byte of `v`.
pub(crate) fn low_byte(v: usize) -> u8 {
    #[allow(clippy::cast_possible_truncation, reason = "masked")]
    let b = (v & 0xFF) as u8;
    b
}

fn u16_be(v: usize) -> [u8; 2] {
    [low_byte(v >> 8), low_byte(v)]
}

/// The largest command this channel builds in one APDU (header, extended
/// Lc and Le, data): enough for PSO: DECIPHER with an 8192-bit RSA
/// cryptogram. Longer commands are chained.
pub const MAX_COMMAND: usize = 1040;

/// Sends commands over a [`Transport`], handling what ISO 7816-4 leaves to
/// the host:
///
/// - a command whose data does not fit a short APDU goes as one extended
///   APDU when the transport carries those (and the card takes them: see
///   [`set_extended`](Self::set_extended)), otherwise in a chain of short
///   APDUs (CLA bit `0x10` on all but the last);
/// - `61xx` (more data) is answered with GET RESPONSE, its data appended in
///   the caller's buffer, until the card is done;
/// - `6Cxx` (wrong Le) makes the channel send the command again, once, with
///   Le = `xx`.
pub struct Channel<T> {
    transport: T,
    cmd: [u8; MAX_COMMAND],
    extended: bool,
    state_lost: bool,
}

impl<T: fmt::Debug> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("transport", &self.transport)
            .field("extended", &self.extended)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Channel<T> {
    /// A channel over `transport`; extended APDUs are used when the
    /// transport carries them.
    pub fn new(transport: T) -> Self {
        let extended = transport.limits().extended;
        Self { transport, cmd: [0; MAX_COMMAND], extended, state_lost: false }
    }

    /// Whether to send extended APDUs (when the transport carries them). A
    /// card that announces no extended length support in its ATR or
    /// capabilities gets chained short APDUs instead.
    pub fn set_extended(&mut self, extended: bool) {
        self.extended = extended && self.transport.limits().extended;
    }

    /// Whether extended APDUs are being used.
    pub fn extended(&self) -> bool {
        self.extended
    }

    /// The transport.
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// Whether the card was removed or reset since the last call (and
    /// clears the flag): a profile forgets a verified PIN then.
    pub fn take_state_lost(&mut self) -> bool {
        core::mem::take(&mut self.state_lost)
    }

    /// Sends `cmd` and writes the response data into `out`; returns its
    /// length. Any status word but `9000` is an error.
    pub fn send(
        &mut self,
        cmd: &Command<'_>,
        out: &mut [u8],
        context: &'static str,
    ) -> Result<usize, Error> {
        let (n, sw) = self.send_sw(cmd, out, context)?;
        match sw.error_kind() {
            None => Ok(n),
            Some(kind) => Err(Error::new(kind, context)),
        }
    }

    /// Sends `cmd`, writes the response data into `out`, returns its length
    /// and the final status word, whatever it is (for a VERIFY without data
    /// asking the tries left, a READ BINARY that reaches the end).
    pub fn send_sw(
        &mut self,
        cmd: &Command<'_>,
        out: &mut [u8],
        context: &'static str,
    ) -> Result<(usize, StatusWord), Error> {
        let r = self.send_inner(cmd, out, context);
        if let Err(e) = &r
            && e.lost_state()
        {
            self.state_lost = true;
        }
        r
    }

    fn send_inner(
        &mut self,
        cmd: &Command<'_>,
        out: &mut [u8],
        context: &'static str,
    ) -> Result<(usize, StatusWord), Error> {
        let limits = self.transport.limits();
        let max_ne = if self.extended { 65536 } else { 256 };
        // The response data (Ne) we ask for: what the caller holds, no more
        // than the transport carries.
        // A response is received straight into `out` when it holds 258
        // bytes or more (so data and status word fit), else into a short
        // buffer and copied.
        let holds = if out.len() >= 258 { out.len() - 2 } else { out.len() };
        let room = holds.min(limits.max_response.saturating_sub(2)).min(max_ne);
        let ne = if cmd.ne == 0 { 0 } else { cmd.ne.min(room).max(1) };
        let single = Command { ne, ..*cmd };

        let (mut n, mut sw) = self.dispatch(&single, out, context)?;

        // 6Cxx: the card wants Le = xx; send the same command again, once,
        // the same way (a chained command as a chain again).
        if sw.sw1() == 0x6C && cmd.ne > 0 {
            let want = if sw.sw2() == 0 { 256 } else { usize::from(sw.sw2()) };
            if want > out.len() {
                return Err(Error::new(ErrorKind::ResponseTooLong, context));
            }
            let again = Command { ne: want, ..single };
            (n, sw) = self.dispatch(&again, out, context)?;
            if sw.sw1() == 0x6C {
                // A second wrong-length answer: the card contradicts itself.
                return Err(Error::new(ErrorKind::Malformed, context));
            }
        }

        // 61xx: more data waits; collect it with GET RESPONSE. Bounded by
        // the caller's buffer: every round must add data.
        let mut total = n;
        while sw.sw1() == 0x61 {
            let left = out.len() - total;
            if left == 0 {
                return Err(Error::new(ErrorKind::ResponseTooLong, context));
            }
            let avail = if sw.sw2() == 0 { 256 } else { usize::from(sw.sw2()) };
            let get = Command::new(cmd.cla & 0x03, 0xC0, 0, 0).with_ne(avail.min(left).min(256));
            if limits.max_command < 5 {
                return Err(Error::new(ErrorKind::CommandTooLong, context));
            }
            let len = get.encode(false, &mut self.cmd)?;
            let (m, s) = self.exchange(len, &mut out[total..], context)?;
            if m == 0 && s.sw1() == 0x61 {
                return Err(Error::new(ErrorKind::Malformed, context));
            }
            total += m;
            sw = s;
        }
        Ok((total, sw))
    }

    /// Sends `cmd` as one short APDU when it fits, else as one extended
    /// APDU when those are on, else as a chain of short APDUs.
    fn dispatch(
        &mut self,
        cmd: &Command<'_>,
        out: &mut [u8],
        context: &'static str,
    ) -> Result<(usize, StatusWord), Error> {
        let limits = self.transport.limits();
        let fits = |ext: bool| {
            cmd.encoded_len(ext).is_some_and(|n| n <= limits.max_command && n <= MAX_COMMAND)
        };
        if fits(false) {
            let len = cmd.encode(false, &mut self.cmd)?;
            self.exchange(len, out, context)
        } else if self.extended && fits(true) {
            let len = cmd.encode(true, &mut self.cmd)?;
            self.exchange(len, out, context)
        } else {
            self.chain(cmd, out, context)
        }
    }

    /// Sends `self.cmd[..len]`; the response data goes to the start of
    /// `out`. Returns the data length and the status word.
    fn exchange(
        &mut self,
        len: usize,
        out: &mut [u8],
        context: &'static str,
    ) -> Result<(usize, StatusWord), Error> {
        let Self { transport, cmd, .. } = self;
        // The transport writes data and SW; room for the SW comes from a
        // small buffer when `out` is full.
        let mut small = [0u8; 258];
        let direct = out.len() >= 258;
        let rx: &mut [u8] = if direct { out } else { &mut small };
        let n = transport.transmit(&cmd[..len], rx).map_err(|e| {
            Error::new(
                if e == TransportError::BufferTooSmall {
                    ErrorKind::ResponseTooLong
                } else {
                    ErrorKind::Transport(e)
                },
                context,
            )
        })?;
        if n < 2 || n > rx.len() {
            return Err(Error::new(ErrorKind::Malformed, context));
        }
        let sw = StatusWord::new(rx[n - 2], rx[n - 1]);
        let data = n - 2;
        if !direct {
            let dst = out.get_mut(..data).ok_or(Error::new(ErrorKind::ResponseTooLong, context))?;
            dst.copy_from_slice(&small[..data]);
        }
        Ok((data, sw))
    }

    /// Sends a command in a chain of short APDUs.
    fn chain(
        &mut self,
        cmd: &Command<'_>,
        out: &mut [u8],
        context: &'static str,
    ) -> Result<(usize, StatusWord), Error> {
        let limits = self.transport.limits();
        // Header, Lc and Le around each piece.
        let piece = limits.max_command.saturating_sub(6).min(255);
        if piece == 0 || cmd.ne > 256 {
            return Err(Error::new(ErrorKind::CommandTooLong, context));
        }
        let mut chunks = cmd.data.chunks(piece).peekable();
        while let Some(chunk) = chunks.next() {
            if chunks.peek().is_none() {
                let last = Command { data: chunk, ..*cmd };
                let len = last.encode(false, &mut self.cmd)?;
                return self.exchange(len, out, context);
            }
            let link = Command { cla: cmd.cla | 0x10, data: chunk, ne: 0, ..*cmd };
            let len = link.encode(false, &mut self.cmd)?;
            let mut none = [0u8; 0];
            let (_, sw) = self.exchange(len, &mut none, context)?;
            if !sw.is_ok() {
                // The card refused a link of the chain (6884: chaining not
                // supported, or a real error).
                let kind = match sw.0 {
                    0x6883 | 0x6884 => ErrorKind::CommandTooLong,
                    _ => sw.error_kind().unwrap_or(ErrorKind::Malformed),
                };
                return Err(Error::new(kind, context));
            }
        }
        // Empty data cannot need chaining.
        Err(Error::new(ErrorKind::CommandTooLong, context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Limits;

    struct Enc([u8; 64], usize);
    impl Enc {
        fn as_slice(&self) -> &[u8] {
            &self.0[..self.1]
        }
    }
    fn enc(c: &Command<'_>, extended: bool) -> Enc {
        let mut b = [0u8; 64];
        let n = c.encode(extended, &mut b).unwrap();
        Enc(b, n)
    }

    #[test]
    fn encodes_all_cases() {
        let c1 = Command::new(0x00, 0xA4, 0x04, 0x00);
        assert_eq!(enc(&c1, false).as_slice(), &[0, 0xA4, 4, 0]);
        let c2 = Command::new(0x00, 0xB0, 0, 0).with_ne(256);
        assert_eq!(enc(&c2, false).as_slice(), &[0, 0xB0, 0, 0, 0]);
        let c3 = Command::new(0x00, 0x20, 0, 0x81).with_data(&[1, 2]);
        assert_eq!(enc(&c3, false).as_slice(), &[0, 0x20, 0, 0x81, 2, 1, 2]);
        let c4 = Command::new(0x00, 0x2A, 0x9E, 0x9A).with_data(&[9]).with_ne(0x80);
        assert_eq!(enc(&c4, false).as_slice(), &[0, 0x2A, 0x9E, 0x9A, 1, 9, 0x80]);
        // Extended forms.
        let e2 = Command::new(0x00, 0xCA, 0x7F, 0x21).with_ne(65536);
        assert_eq!(enc(&e2, true).as_slice(), &[0, 0xCA, 0x7F, 0x21, 0, 0, 0]);
        let e4 = Command::new(0x00, 0x2A, 0x80, 0x86).with_data(&[7; 3]).with_ne(512);
        assert_eq!(enc(&e4, true).as_slice(), &[0, 0x2A, 0x80, 0x86, 0, 0, 3, 7, 7, 7, 2, 0]);
        let e3 = Command::new(0x00, 0xDA, 0, 0).with_data(&[1; 300]);
        let mut big = [0u8; 400];
        let n = e3.encode(true, &mut big).unwrap();
        assert_eq!(n, 4 + 3 + 300);
        assert_eq!(&big[4..7], &[0, 1, 44]);
        // Too long for short.
        assert_eq!(e3.encode(false, &mut big).unwrap_err().kind(), ErrorKind::CommandTooLong);
        assert_eq!(c4.encode(false, &mut [0u8; 6]).unwrap_err().kind(), ErrorKind::CommandTooLong);
    }

    #[test]
    fn status_words() {
        assert_eq!(
            StatusWord(0x63C2).error_kind(),
            Some(ErrorKind::PinIncorrect { tries_left: 2 })
        );
        assert_eq!(StatusWord(0x6983).error_kind(), Some(ErrorKind::PinBlocked));
        assert_eq!(StatusWord(0x6982).error_kind(), Some(ErrorKind::SecurityStatusNotSatisfied));
        assert_eq!(StatusWord(0x6A82).error_kind(), Some(ErrorKind::FileNotFound));
        assert_eq!(StatusWord(0x9000).error_kind(), None);
        assert_eq!(StatusWord(0x6A83).error_kind(), Some(ErrorKind::Status(StatusWord(0x6A83))));
        let e = Error::new(ErrorKind::PinIncorrect { tries_left: 1 }, "VERIFY");
        assert_eq!(BackendError::kind(&e), BackendErrorKind::PinIncorrect { tries_left: Some(1) });
    }

    /// A scripted transport: expected commands and the responses to give.
    struct Script<'a> {
        steps: &'a [(&'a [u8], &'a [u8])],
        at: usize,
        limits: Limits,
    }

    impl Transport for Script<'_> {
        fn transmit(
            &mut self,
            command: &[u8],
            response: &mut [u8],
        ) -> Result<usize, TransportError> {
            let (want, give) = self.steps[self.at];
            assert_eq!(command, want, "command {}", self.at);
            self.at += 1;
            if give.len() > response.len() {
                return Err(TransportError::BufferTooSmall);
            }
            response[..give.len()].copy_from_slice(give);
            Ok(give.len())
        }
        fn limits(&self) -> Limits {
            self.limits
        }
        fn reset(&mut self, _: &mut [u8]) -> Result<usize, TransportError> {
            Ok(0)
        }
    }

    #[test]
    fn get_response_and_wrong_le() {
        let steps: &[(&[u8], &[u8])] = &[
            (&[0, 0xCA, 0x7F, 0x21, 0], &[1, 2, 0x61, 0x03]),
            (&[0, 0xC0, 0, 0, 3], &[3, 4, 5, 0x90, 0]),
            (&[0, 0xB0, 0, 0, 0], &[0x6C, 0x02]),
            (&[0, 0xB0, 0, 0, 2], &[8, 9, 0x90, 0]),
        ];
        let mut ch = Channel::new(Script { steps, at: 0, limits: Limits::SHORT });
        let mut out = [0u8; 1000];
        let n = ch.send(&Command::new(0, 0xCA, 0x7F, 0x21).with_ne(256), &mut out, "t").unwrap();
        assert_eq!(&out[..n], &[1, 2, 3, 4, 5]);
        let n = ch.send(&Command::new(0, 0xB0, 0, 0).with_ne(256), &mut out, "t").unwrap();
        assert_eq!(&out[..n], &[8, 9]);
        assert_eq!(ch.transport().at, 4);
    }

    #[test]
    fn chains_long_commands_and_bounds_responses() {
        let data = [0x55u8; 300];
        let mut first = [0u8; 260];
        first[..5].copy_from_slice(&[0x10, 0x2A, 0x80, 0x86, 255]);
        first[5..].fill(0x55);
        let mut second = [0u8; 51];
        second[..5].copy_from_slice(&[0x00, 0x2A, 0x80, 0x86, 45]);
        second[5..50].fill(0x55);
        second[50] = 0;
        let steps: &[(&[u8], &[u8])] = &[(&first, &[0x90, 0]), (&second, &[1, 2, 3, 0x90, 0])];
        let mut ch = Channel::new(Script { steps, at: 0, limits: Limits::SHORT });
        let mut out = [0u8; 512];
        let n = ch
            .send(&Command::new(0, 0x2A, 0x80, 0x86).with_data(&data).with_ne(256), &mut out, "t")
            .unwrap();
        assert_eq!(&out[..n], &[1, 2, 3]);

        // Extended transport: one APDU.
        let mut ext = [0u8; 4 + 3 + 300 + 2];
        ext[..7].copy_from_slice(&[0, 0x2A, 0x80, 0x86, 0, 1, 44]);
        ext[7..307].fill(0x55);
        ext[307..].copy_from_slice(&[1, 0]);
        let steps: &[(&[u8], &[u8])] = &[(&ext, &[7, 0x90, 0])];
        let limits = Limits { max_command: 65544, max_response: 65538, extended: true };
        let mut ch = Channel::new(Script { steps, at: 0, limits });
        let n = ch
            .send(&Command::new(0, 0x2A, 0x80, 0x86).with_data(&data).with_ne(256), &mut out, "t")
            .unwrap();
        assert_eq!(&out[..n], &[7]);

        // More data than the caller holds: an error, not a truncation.
        let steps: &[(&[u8], &[u8])] = &[(&[0, 0xCA, 0, 0x65, 4], &[1, 2, 3, 4, 0x61, 0x10])];
        let mut ch = Channel::new(Script { steps, at: 0, limits: Limits::SHORT });
        let mut small = [0u8; 4];
        let e = ch.send(&Command::new(0, 0xCA, 0, 0x65).with_ne(256), &mut small, "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ResponseTooLong);
    }

    #[test]
    fn wrong_le_after_a_chain_resends_the_chain() {
        let data = [0x55u8; 300];
        let mut first = [0u8; 260];
        first[..5].copy_from_slice(&[0x10, 0x2A, 0x9E, 0x9A, 255]);
        first[5..].fill(0x55);
        let mut last = [0u8; 51];
        last[..5].copy_from_slice(&[0x00, 0x2A, 0x9E, 0x9A, 45]);
        last[5..50].fill(0x55);
        last[50] = 0;
        let mut last2 = last;
        last2[50] = 3;
        let steps: &[(&[u8], &[u8])] = &[
            (&first, &[0x90, 0]),
            (&last, &[0x6C, 0x03]),
            (&first, &[0x90, 0]),
            (&last2, &[7, 8, 9, 0x90, 0]),
        ];
        let mut ch = Channel::new(Script { steps, at: 0, limits: Limits::SHORT });
        let mut out = [0u8; 512];
        let n = ch
            .send(&Command::new(0, 0x2A, 0x9E, 0x9A).with_data(&data).with_ne(256), &mut out, "t")
            .unwrap();
        assert_eq!(&out[..n], &[7, 8, 9]);
        assert_eq!(ch.transport().at, 4);
    }

    #[test]
    fn refused_link_and_lost_card() {
        let data = [1u8; 260];
        let mut first = [0u8; 260];
        first[..5].copy_from_slice(&[0x10, 0x2A, 0x80, 0x86, 255]);
        first[5..].fill(1);
        let steps: &[(&[u8], &[u8])] = &[(&first, &[0x68, 0x84])];
        let mut ch = Channel::new(Script { steps, at: 0, limits: Limits::SHORT });
        let mut out = [0u8; 300];
        let e = ch
            .send(&Command::new(0, 0x2A, 0x80, 0x86).with_data(&data), &mut out, "t")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CommandTooLong);

        struct Gone;
        impl Transport for Gone {
            fn transmit(&mut self, _: &[u8], _: &mut [u8]) -> Result<usize, TransportError> {
                Err(TransportError::Removed)
            }
            fn limits(&self) -> Limits {
                Limits::SHORT
            }
            fn reset(&mut self, _: &mut [u8]) -> Result<usize, TransportError> {
                Err(TransportError::Removed)
            }
        }
        let mut ch = Channel::new(Gone);
        let e = ch.send(&Command::new(0, 0x20, 0, 0x81), &mut out, "VERIFY").unwrap_err();
        assert!(e.lost_state());
        assert!(ch.take_state_lost());
        assert!(!ch.take_state_lost());
    }
}
