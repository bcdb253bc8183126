//! Readers through the PC/SC daemon (pcsc-lite, WinSCard), with PC/SC part
//! 10 secure PIN entry.
//!
//! A [`Reader`] is a connection to the card in one reader, shared with
//! other programs. [`Reader::transaction`] gives a [`PcscTransport`] holding
//! an exclusive PC/SC transaction until it is dropped: give it to a card
//! profile for one batch of operations, so that a VERIFY and the signature it
//! allows are never separated by another program's commands. A removed or
//! reset card is reported as [`TransportError::Removed`] or
//! [`TransportError::Reset`].

use std::ffi::CString;
use std::fmt;
use std::time::Duration;

use pcsc::{Card, Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

use crate::pin::PinFormat;
use crate::transport::{Limits, PinPadRequest, Transport, TransportError};

/// A PC/SC failure with its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderError {
    /// The kind, as a transport reports it.
    pub kind: TransportError,
    /// What happened, for a person.
    pub message: String,
}

impl fmt::Display for ReaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReaderError {}

fn reader_error(what: &str, e: pcsc::Error) -> ReaderError {
    let kind = map_error(e);
    let hint = match e {
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => {
            " (is pcscd running? start it with `pcscd`)"
        }
        pcsc::Error::NoReadersAvailable => " (no reader is connected)",
        _ => "",
    };
    ReaderError { kind, message: format!("{what}: {e}{hint}") }
}

/// What a PC/SC error means for a transport.
pub fn map_error(e: pcsc::Error) -> TransportError {
    use pcsc::Error as E;
    match e {
        E::RemovedCard => TransportError::Removed,
        E::ResetCard => TransportError::Reset,
        E::NoSmartcard | E::UnpoweredCard | E::UnresponsiveCard => TransportError::NoCard,
        E::Timeout | E::WaitedTooLong => TransportError::Timeout,
        E::InsufficientBuffer => TransportError::BufferTooSmall,
        E::Cancelled | E::CancelledByUser => TransportError::Cancelled,
        E::SharingViolation => TransportError::Busy,
        E::UnsupportedFeature | E::ReaderUnsupported => TransportError::Unsupported,
        E::ProtoMismatch | E::CommDataLost => TransportError::Protocol,
        _ => TransportError::Io,
    }
}

/// A reader the PC/SC daemon knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderInfo {
    /// The reader's name.
    pub name: String,
    /// Whether a card is in it.
    pub card_present: bool,
}

/// The readers, with whether each holds a card.
pub fn list_readers() -> Result<Vec<ReaderInfo>, ReaderError> {
    let ctx = Context::establish(Scope::User).map_err(|e| reader_error("PC/SC", e))?;
    let names = match ctx.list_readers_owned() {
        Ok(n) => n,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
        Err(e) => return Err(reader_error("listing the readers", e)),
    };
    let mut states: Vec<ReaderState> =
        names.iter().map(|n| ReaderState::new(n.clone(), State::UNAWARE)).collect();
    ctx.get_status_change(Duration::ZERO, &mut states)
        .map_err(|e| reader_error("asking the readers' state", e))?;
    Ok(states
        .iter()
        .map(|s| ReaderInfo {
            name: s.name().to_string_lossy().into_owned(),
            card_present: s.event_state().contains(State::PRESENT),
        })
        .collect())
}

/// PC/SC part 10 features of a reader (from `CM_IOCTL_GET_FEATURE_REQUEST`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// The control code of `FEATURE_VERIFY_PIN_DIRECT`, when offered.
    pub verify_pin_direct: Option<u32>,
    /// The control code of `FEATURE_MODIFY_PIN_DIRECT`, when offered.
    pub modify_pin_direct: Option<u32>,
}

/// `FEATURE_VERIFY_PIN_DIRECT`.
pub const FEATURE_VERIFY_PIN_DIRECT: u8 = 0x06;
/// `FEATURE_MODIFY_PIN_DIRECT`.
pub const FEATURE_MODIFY_PIN_DIRECT: u8 = 0x07;

impl Features {
    /// Parses the TLV list a reader answers `GET_FEATURE_REQUEST` with: a
    /// tag (the feature), a length (4) and the control code, big-endian.
    /// Entries with another length are skipped; a list cut short ends it.
    pub fn parse(tlv: &[u8]) -> Self {
        let mut f = Self::default();
        let mut rest = tlv;
        while let [tag, len, tail @ ..] = rest {
            let len = usize::from(*len);
            let Some(value) = tail.get(..len) else { break };
            if let Ok(code) = <[u8; 4]>::try_from(value) {
                let code = u32::from_be_bytes(code);
                match *tag {
                    FEATURE_VERIFY_PIN_DIRECT => f.verify_pin_direct = Some(code),
                    FEATURE_MODIFY_PIN_DIRECT => f.modify_pin_direct = Some(code),
                    _ => {}
                }
            }
            rest = &tail[len..];
        }
        f
    }
}

/// Builds the `PIN_VERIFY_STRUCTURE` (PC/SC part 10 v2.02.09 §2.5.2) for a
/// PIN-pad VERIFY into `out`; returns its length. Multi-byte fields are
/// little-endian.
pub fn pin_verify_structure(request: &PinPadRequest, out: &mut [u8]) -> Option<usize> {
    // The command the reader completes: header, Lc and the PIN block
    // template.
    let mut apdu = [0u8; 5 + 32];
    apdu[..4].copy_from_slice(&request.header);
    let (format_string, block_string, length_format, block_len, fill) = match request.format {
        // Bytes as system unit, PIN at position 0, left justified, ASCII;
        // no PIN block: the PIN is the data.
        PinFormat::Ascii => (0x82u8, 0x00u8, 0x00u8, 0usize, 0u8),
        // Same, into a block of `len` bytes padded with `pad`.
        PinFormat::AsciiPadded { len, pad } => (0x82, len, 0x00, usize::from(len), pad),
        // Bytes as unit, PIN at byte 1, left justified, BCD; a 4-bit PIN
        // length at bit 4 of the block; an 8-byte block of F nibbles.
        PinFormat::Iso9564Format2 => (0x89, 0x48, 0x04, 8, 0xFF),
    };
    if block_len > 32 {
        return None;
    }
    apdu[4] = u8::try_from(block_len).ok()?;
    apdu[5..5 + block_len].fill(fill);
    if matches!(request.format, PinFormat::Iso9564Format2) {
        apdu[5] = 0x20;
    }
    let apdu = &apdu[..5 + block_len];
    let total = 19 + apdu.len();
    let out = out.get_mut(..total)?;
    out[0] = 0x00; // bTimerOut: the reader's default
    out[1] = 0x00; // bTimerOut2
    out[2] = format_string; // bmFormatString
    out[3] = block_string; // bmPINBlockString
    out[4] = length_format; // bmPINLengthFormat
    out[5] = request.max_len; // wPINMaxExtraDigit, low byte: maximum
    out[6] = request.min_len; // high byte: minimum
    out[7] = 0x02; // bEntryValidationCondition: the OK key
    out[8] = 0x01; // bNumberMessage
    out[9] = 0x09; // wLangId 0x0409 (English)
    out[10] = 0x04;
    out[11] = 0x00; // bMsgIndex
    out[12..15].fill(0); // bTeoPrologue
    let len = u32::try_from(apdu.len()).ok()?;
    out[15..19].copy_from_slice(&len.to_le_bytes()); // ulDataLength
    out[19..].copy_from_slice(apdu);
    Some(total)
}

/// The card in a reader, connected in shared mode.
pub struct Reader {
    card: Card,
    name: String,
    features: Features,
    // The context must outlive the card handle.
    _ctx: Context,
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("name", &self.name)
            .field("features", &self.features)
            .finish()
    }
}

impl Reader {
    /// Connects to the card in the first reader whose name contains
    /// `name_contains` (all readers for an empty string) and holds a card.
    pub fn connect(name_contains: &str) -> Result<Self, ReaderError> {
        let readers = list_readers()?;
        if readers.is_empty() {
            return Err(ReaderError {
                kind: TransportError::NoCard,
                message: "no smart-card reader found (is pcscd running?)".into(),
            });
        }
        let matching: Vec<&ReaderInfo> =
            readers.iter().filter(|r| r.name.contains(name_contains)).collect();
        let Some(reader) = matching.iter().find(|r| r.card_present) else {
            let names: Vec<&str> = readers.iter().map(|r| r.name.as_str()).collect();
            return Err(ReaderError {
                kind: TransportError::NoCard,
                message: if matching.is_empty() {
                    format!("no reader's name contains {name_contains:?}; readers: {names:?}")
                } else {
                    format!("no card in reader {:?}", matching[0].name)
                },
            });
        };
        Self::connect_exact(&reader.name)
    }

    /// Connects to the card in the reader named exactly `name`.
    pub fn connect_exact(name: &str) -> Result<Self, ReaderError> {
        let ctx = Context::establish(Scope::User).map_err(|e| reader_error("PC/SC", e))?;
        let cname = CString::new(name).map_err(|_| ReaderError {
            kind: TransportError::Io,
            message: "a reader name with a NUL byte".into(),
        })?;
        let card = ctx
            .connect(&cname, ShareMode::Shared, Protocols::T1 | Protocols::T0)
            .map_err(|e| reader_error(&format!("connecting to the card in {name:?}"), e))?;
        let features = read_features(&card);
        Ok(Self { card, name: name.to_string(), features, _ctx: ctx })
    }

    /// The reader's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The reader's part 10 features.
    pub fn features(&self) -> Features {
        self.features
    }

    /// The card's answer to reset.
    pub fn atr(&self) -> Result<Vec<u8>, ReaderError> {
        let s = self.card.status2_owned().map_err(|e| reader_error("reading the ATR", e))?;
        Ok(s.atr().to_vec())
    }

    /// An exclusive transaction: until the transport is dropped, no other
    /// program talks to the card.
    pub fn transaction(&mut self) -> Result<PcscTransport<'_>, ReaderError> {
        let features = self.features;
        let tx = self.card.transaction().map_err(|e| reader_error("starting a transaction", e))?;
        Ok(PcscTransport { inner: Inner::Tx(tx), features })
    }

    /// A transport without a transaction (other programs may interleave
    /// their commands).
    pub fn shared(&self) -> PcscTransport<'_> {
        PcscTransport { inner: Inner::Plain(&self.card), features: self.features }
    }
}

/// Asks the reader's part 10 features; a reader that does not answer has
/// none.
fn read_features(card: &Card) -> Features {
    let mut buf = [0u8; 256];
    match card.control(pcsc::ctl_code(3400), &[], &mut buf) {
        Ok(tlv) => Features::parse(tlv),
        Err(_) => Features::default(),
    }
}

enum Inner<'a> {
    Tx(pcsc::Transaction<'a>),
    Plain(&'a Card),
}

/// A [`Transport`] over PC/SC.
pub struct PcscTransport<'a> {
    inner: Inner<'a>,
    features: Features,
}

impl fmt::Debug for PcscTransport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscTransport")
            .field("transaction", &matches!(self.inner, Inner::Tx(_)))
            .field("features", &self.features)
            .finish()
    }
}

impl PcscTransport<'_> {
    /// A failed exchange: a card pulled out mid-command shows up as a
    /// communication error first; ask the reader (briefly) whether the card
    /// is still there, so that removal is reported as such.
    fn explain(&self, e: pcsc::Error) -> TransportError {
        if std::env::var_os("SMIME_PCSC_DEBUG").is_some() {
            std::eprintln!("pcsc: {e:?}");
        }
        let kind = map_error(e);
        if !matches!(kind, TransportError::Io | TransportError::Protocol | TransportError::Timeout)
        {
            return kind;
        }
        for _ in 0..5 {
            match self.card().status2_owned() {
                Err(pcsc::Error::RemovedCard | pcsc::Error::NoSmartcard) => {
                    return TransportError::Removed;
                }
                Err(pcsc::Error::ResetCard) => return TransportError::Reset,
                Ok(s) if !s.status().contains(pcsc::Status::PRESENT) => {
                    return TransportError::Removed;
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        kind
    }

    fn card(&self) -> &Card {
        match &self.inner {
            Inner::Tx(tx) => tx,
            Inner::Plain(c) => c,
        }
    }
}

impl Transport for PcscTransport<'_> {
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, TransportError> {
        match self.card().transmit(command, response) {
            // No status word: the reader lost the card (vpcd answers so).
            Ok(r) if r.len() < 2 => Err(self.explain(pcsc::Error::CommError)),
            Ok(r) => Ok(r.len()),
            Err(e) => Err(self.explain(e)),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_command: pcsc::MAX_BUFFER_SIZE_EXTENDED,
            max_response: pcsc::MAX_BUFFER_SIZE_EXTENDED,
            extended: true,
        }
    }

    fn reset(&mut self, atr: &mut [u8]) -> Result<usize, TransportError> {
        match &mut self.inner {
            Inner::Tx(tx) => tx
                .reconnect(ShareMode::Shared, Protocols::T1 | Protocols::T0, Disposition::ResetCard)
                .map_err(map_error)?,
            Inner::Plain(_) => return Err(TransportError::Unsupported),
        }
        let s = self.card().status2_owned().map_err(map_error)?;
        let a = s.atr();
        let dst = atr.get_mut(..a.len()).ok_or(TransportError::BufferTooSmall)?;
        dst.copy_from_slice(a);
        Ok(a.len())
    }

    fn has_pin_pad(&self) -> bool {
        self.features.verify_pin_direct.is_some()
    }

    fn verify_pin_pad(
        &mut self,
        request: &PinPadRequest,
        response: &mut [u8],
    ) -> Result<usize, TransportError> {
        let code = self.features.verify_pin_direct.ok_or(TransportError::Unsupported)?;
        let mut s = [0u8; 64];
        let n = pin_verify_structure(request, &mut s).ok_or(TransportError::Unsupported)?;
        let r = self.card().control(code as _, &s[..n], response).map_err(map_error)?;
        match r {
            // The reader's own answers (CCID): timeout, cancel.
            [0x64, 0x00] => Err(TransportError::PinTimeout),
            [0x64, 0x01] => Err(TransportError::Cancelled),
            _ => Ok(r.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_feature_lists() {
        // As a CCID PIN-pad reader answers: VERIFY_PIN_DIRECT,
        // MODIFY_PIN_DIRECT, IFD_PIN_PROPERTIES (0x0A), a TLV of length 2.
        let tlv = [
            0x06, 0x04, 0x42, 0x33, 0x00, 0x06, 0x07, 0x04, 0x42, 0x33, 0x00, 0x07, 0x0A, 0x04,
            0x42, 0x33, 0x00, 0x0A, 0x12, 0x02, 0x01, 0x02,
        ];
        let f = Features::parse(&tlv);
        assert_eq!(f.verify_pin_direct, Some(0x4233_0006));
        assert_eq!(f.modify_pin_direct, Some(0x4233_0007));
        assert_eq!(Features::parse(&[0x06, 0x04, 0x42]), Features::default());
        assert_eq!(Features::parse(&[]), Features::default());
    }

    #[test]
    fn pin_verify_structure_bytes() {
        // OpenPGP PW1 for signing, ASCII, 6 to 32 digits.
        let req = PinPadRequest {
            header: [0x00, 0x20, 0x00, 0x81],
            format: PinFormat::Ascii,
            min_len: 6,
            max_len: 32,
        };
        let mut out = [0u8; 64];
        let n = pin_verify_structure(&req, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &[
                0x00, 0x00, 0x82, 0x00, 0x00, 0x20, 0x06, 0x02, 0x01, 0x09, 0x04, 0x00, 0x00, 0x00,
                0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x81, 0x00,
            ]
        );
        // ISO 9564 format 2 block for PIN reference 0x81, 4 to 8 digits.
        let req = PinPadRequest {
            header: [0x00, 0x20, 0x00, 0x81],
            format: PinFormat::Iso9564Format2,
            min_len: 4,
            max_len: 8,
        };
        let n = pin_verify_structure(&req, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &[
                0x00, 0x00, 0x89, 0x48, 0x04, 0x08, 0x04, 0x02, 0x01, 0x09, 0x04, 0x00, 0x00, 0x00,
                0x00, 0x0D, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x81, 0x08, 0x20, 0xFF, 0xFF, 0xFF,
                0xFF, 0xFF, 0xFF, 0xFF,
            ]
        );
        // 8-byte ASCII block padded with FF.
        let req = PinPadRequest {
            header: [0x00, 0x20, 0x00, 0x01],
            format: PinFormat::AsciiPadded { len: 8, pad: 0xFF },
            min_len: 4,
            max_len: 8,
        };
        let n = pin_verify_structure(&req, &mut out).unwrap();
        assert_eq!(&out[2..5], &[0x82, 0x08, 0x00]);
        assert_eq!(&out[15..19], &[13, 0, 0, 0]);
        assert_eq!(
            &out[19..n],
            &[0, 0x20, 0, 0x01, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert!(pin_verify_structure(&req, &mut [0u8; 10]).is_none());
    }
}
