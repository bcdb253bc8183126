//! Signature-card profiles behind one trait, and [`CardKey`], which makes a
//! card key a `smime-core` signer, decrypter and key-agreement key.
//!
//! Two profiles:
//! - [`Iso7816Card`]: a generic ISO 7816-8 signature card, configured with
//!   [`Iso7816Config`] (application AID, certificate file, PIN reference and
//!   format, key and algorithm references). MSE: SET then PSO: COMPUTE
//!   DIGITAL SIGNATURE or PSO: DECIPHER.
//! - [`OpenPgpCard`]: the OpenPGP card v3 (SELECT `D2 76 00 01 24 01`,
//!   VERIFY PW1 `81` for signing and `82` for decryption, PSO:CDS,
//!   PSO:DECIPHER, ECDH through PSO:DECIPHER with the ephemeral point, the
//!   certificates in DO `7F21`).
//!
//! # PINs
//!
//! A PIN is presented once per operation the caller asks for, and never
//! again after the card refused it: [`CardKey`] forgets a PIN the card
//! refused, so the next operation fails with "PIN required" instead of
//! using up another try. [`SignatureCard::pin_status`] asks the tries left
//! without using one (VERIFY without data).

use core::fmt;

use smime_core::backend::{
    AgreementCurve, ErrorType, HashAlgorithm, KeyAgreement, KeyTransAlgorithm, KeyTransDecrypter,
    RecipientId, Signer, ToBeSigned,
};
use smime_core::oid;
use smime_core::pubkey::SignatureAlgorithm;
use smime_core::pubkey::encoding::{digest_info, ecdsa_raw_to_der};
use smime_core::x509::CertificateRef;

use crate::apdu::{Channel, Command, Error, ErrorKind, StatusWord, low_byte};
use crate::pin::{Pin, PinFormat};
use crate::tlv;
use crate::transport::{PinPadRequest, Transport};

/// Which of the card's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRole {
    /// The signature key (qualified signatures, S/MIME signing).
    Signature,
    /// The decryption (key-transport or key-agreement) key.
    Decryption,
}

/// What the card says about a PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinStatus {
    /// Verified now (the card answered VERIFY without data with 9000).
    Verified,
    /// Not verified; this many tries left.
    TriesLeft(u8),
    /// Blocked: only the unblocking code (PUK) helps.
    Blocked,
    /// The card does not tell.
    Unknown,
}

/// A signature card: the operations an S/MIME key needs, whatever the card's
/// command set.
pub trait SignatureCard {
    /// Selects the application (after power-up, a reset, or another
    /// program's use of the card).
    fn select(&mut self) -> Result<(), Error>;

    /// The PIN guarding `role`'s key: verified, tries left, or blocked,
    /// asked without using a try.
    fn pin_status(&mut self, role: KeyRole) -> Result<PinStatus, Error>;

    /// Presents the PIN guarding `role`'s key. Called once; a refusal is
    /// returned as it is (`63Cx`, `6983`).
    fn verify_pin(&mut self, role: KeyRole, pin: &Pin) -> Result<(), Error>;

    /// Has the PIN typed on the reader's PIN pad.
    fn verify_pin_pad(&mut self, role: KeyRole) -> Result<(), Error>;

    /// Whether the reader has a PIN pad.
    fn has_pin_pad(&mut self) -> bool;

    /// Reads the DER certificate of `role`'s key into `out`; returns its
    /// length.
    fn read_certificate(&mut self, role: KeyRole, out: &mut [u8]) -> Result<usize, Error>;

    /// Signs with the signature key: `input` is a DigestInfo for RSA (the
    /// card adds PKCS#1 v1.5 padding) or the bare hash for ECDSA. The
    /// signature comes back raw (RSA) or as `r‖s` (ECDSA).
    fn sign(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, Error>;

    /// Deciphers an RSA PKCS#1 v1.5 cryptogram with the decryption key;
    /// writes the unpadded plaintext.
    fn decipher(&mut self, cryptogram: &[u8], out: &mut [u8]) -> Result<usize, Error>;

    /// ECDH with the decryption key and `peer_point` (uncompressed SEC1 for
    /// the NIST curves, 32 bytes for X25519); writes the shared secret.
    fn ecdh(&mut self, peer_point: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let _ = (peer_point, out);
        Err(Error::new(ErrorKind::Unsupported, "ECDH"))
    }

    /// Starts an exclusive transaction (VERIFY and the operation together).
    fn begin(&mut self) -> Result<(), Error>;

    /// Ends it.
    fn end(&mut self);

    /// Whether the card was removed or reset since the last call: a PIN
    /// verified before is gone and the application must be selected again.
    fn take_state_lost(&mut self) -> bool;
}

fn transport_err(context: &'static str) -> impl Fn(crate::TransportError) -> Error {
    move |e| Error::new(ErrorKind::Transport(e), context)
}

/// Formats a PIN for VERIFY into `out`; returns the length.
fn format_pin(pin: &Pin, format: PinFormat, out: &mut [u8; 32]) -> Result<usize, Error> {
    let p = pin.as_bytes();
    let bad = Error::new(ErrorKind::WrongLength, "formatting the PIN");
    match format {
        PinFormat::Ascii => {
            out[..p.len()].copy_from_slice(p);
            Ok(p.len())
        }
        PinFormat::AsciiPadded { len, pad } => {
            let len = usize::from(len);
            if p.len() > len || len > out.len() {
                return Err(bad);
            }
            out[..p.len()].copy_from_slice(p);
            out[p.len()..len].fill(pad);
            Ok(len)
        }
        PinFormat::Iso9564Format2 => {
            if !(4..=12).contains(&p.len()) || !p.iter().all(u8::is_ascii_digit) {
                return Err(bad);
            }
            out[..8].fill(0xFF);
            out[0] = 0x20 | low_byte(p.len() & 0x0F);
            for (i, d) in p.iter().enumerate() {
                let nibble = d - b'0';
                let byte = &mut out[1 + i / 2];
                *byte = if i % 2 == 0 { (nibble << 4) | 0x0F } else { (*byte & 0xF0) | nibble };
            }
            Ok(8)
        }
    }
}

/// Answers to VERIFY without data: the PIN's state.
fn pin_status_from(sw: StatusWord) -> Result<PinStatus, Error> {
    Ok(match (sw.sw1(), sw.sw2()) {
        (0x90, 0x00) => PinStatus::Verified,
        (0x63, x) if x & 0xF0 == 0xC0 => {
            if x & 0x0F == 0 {
                PinStatus::Blocked
            } else {
                PinStatus::TriesLeft(x & 0x0F)
            }
        }
        (0x69, 0x83) => PinStatus::Blocked,
        // Cards that do not support the empty VERIFY.
        (0x67, 0x00) | (0x6A, 0x80 | 0x86) | (0x69, 0x84 | 0x85) | (0x6B, 0x00) => {
            PinStatus::Unknown
        }
        _ => return Err(Error::new(sw.error_kind().unwrap_or(ErrorKind::Malformed), "VERIFY")),
    })
}

/// The configuration of a generic ISO 7816-8 signature card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iso7816Config<'a> {
    /// The application to select (`None`: the card's default application).
    pub aid: Option<&'a [u8]>,
    /// The elementary file holding the signature key's certificate
    /// (default `C000`).
    pub cert_file: [u8; 2],
    /// The file holding the decryption key's certificate (default: the same
    /// as `cert_file`).
    pub decrypt_cert_file: Option<[u8; 2]>,
    /// The PIN reference (VERIFY P2; default `81`).
    pub pin_ref: u8,
    /// How the PIN is encoded (default ASCII).
    pub pin_format: PinFormat,
    /// Shortest and longest PIN, for the PIN pad (default 4 and 12).
    pub pin_len: (u8, u8),
    /// The signature key's reference (MSE: SET DST tag `84`; default `84`).
    pub sign_key_ref: u8,
    /// The decryption key's reference (MSE: SET CT tag `84`; default `85`).
    pub decrypt_key_ref: u8,
    /// The signature algorithm reference (tag `80`), when the card wants one.
    pub sign_algorithm_ref: Option<u8>,
    /// The decipher algorithm reference (tag `80`), when the card wants one.
    pub decrypt_algorithm_ref: Option<u8>,
    /// Whether the card takes extended-length APDUs (default no: long
    /// commands are chained, long responses come with `61xx`).
    pub extended: bool,
}

impl Default for Iso7816Config<'_> {
    fn default() -> Self {
        Self {
            aid: None,
            cert_file: [0xC0, 0x00],
            decrypt_cert_file: None,
            pin_ref: 0x81,
            pin_format: PinFormat::Ascii,
            pin_len: (4, 12),
            sign_key_ref: 0x84,
            decrypt_key_ref: 0x85,
            sign_algorithm_ref: None,
            decrypt_algorithm_ref: None,
            extended: false,
        }
    }
}

/// A generic ISO 7816-8 signature card.
pub struct Iso7816Card<'a, T> {
    ch: Channel<T>,
    config: Iso7816Config<'a>,
}

impl<T: fmt::Debug> fmt::Debug for Iso7816Card<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iso7816Card").field("ch", &self.ch).field("config", &self.config).finish()
    }
}

impl<'a, T: Transport> Iso7816Card<'a, T> {
    /// The card on `transport`, as `config` describes it.
    pub fn new(transport: T, config: Iso7816Config<'a>) -> Self {
        let mut ch = Channel::new(transport);
        ch.set_extended(config.extended);
        Self { ch, config }
    }

    /// The channel (to send other commands, or to turn extended APDUs off).
    pub fn channel(&mut self) -> &mut Channel<T> {
        &mut self.ch
    }

    fn mse(
        &mut self,
        p2: u8,
        key_ref: u8,
        alg: Option<u8>,
        ctx: &'static str,
    ) -> Result<(), Error> {
        let mut data = [0x84, 0x01, key_ref, 0x80, 0x01, 0];
        let n = match alg {
            Some(a) => {
                data[5] = a;
                6
            }
            None => 3,
        };
        let cmd = Command::new(0x00, 0x22, 0x41, p2).with_data(&data[..n]);
        self.ch.send(&cmd, &mut [], ctx).map(|_| ())
    }
}

/// Reads a transparent file: SELECT by file ID, then READ BINARY in chunks
/// until the DER object at its start is complete.
fn read_der_file<T: Transport>(
    ch: &mut Channel<T>,
    fid: [u8; 2],
    out: &mut [u8],
) -> Result<usize, Error> {
    const CTX: &str = "READ BINARY";
    let select = Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(&fid);
    ch.send(&select, &mut [], "SELECT FILE")?;
    let mut total = 0usize;
    let mut want = None;
    loop {
        let limit = want.unwrap_or(out.len());
        if total >= limit {
            break;
        }
        if total > 0x7FFF {
            return Err(Error::new(ErrorKind::ResponseTooLong, CTX));
        }
        let chunk = (limit - total).min(if ch.extended() { 1024 } else { 256 });
        let cmd =
            Command::new(0x00, 0xB0, low_byte((total >> 8) & 0x7F), low_byte(total)).with_ne(chunk);
        let (n, sw) = ch.send_sw(&cmd, &mut out[total..], CTX)?;
        total += n;
        if want.is_none() && total >= 4 {
            want = Some(der_len(&out[..total]).ok_or(Error::new(ErrorKind::BadCertificate, CTX))?);
            if want.is_some_and(|w| w > out.len()) {
                return Err(Error::new(ErrorKind::ResponseTooLong, CTX));
            }
        }
        match sw.0 {
            0x9000 if n > 0 => {}
            // End of file reached, or an offset past it.
            0x9000 | 0x6282 | 0x6B00 => break,
            _ => return Err(Error::new(sw.error_kind().unwrap_or(ErrorKind::Malformed), CTX)),
        }
    }
    match want {
        Some(w) if total >= w => Ok(w),
        _ => Err(Error::new(ErrorKind::BadCertificate, CTX)),
    }
}

/// The length of the DER TLV at the start of `b`, from its header.
fn der_len(b: &[u8]) -> Option<usize> {
    if b.first() != Some(&0x30) {
        return None;
    }
    match *b.get(1)? {
        l @ 0..=0x7F => Some(2 + usize::from(l)),
        0x81 => Some(3 + usize::from(*b.get(2)?)),
        0x82 => Some(4 + (usize::from(*b.get(2)?) << 8 | usize::from(*b.get(3)?))),
        _ => None,
    }
}

impl<T: Transport> SignatureCard for Iso7816Card<'_, T> {
    fn select(&mut self) -> Result<(), Error> {
        if let Some(aid) = self.config.aid {
            let cmd = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(aid);
            self.ch.send(&cmd, &mut [], "SELECT application")?;
        }
        Ok(())
    }

    fn pin_status(&mut self, _role: KeyRole) -> Result<PinStatus, Error> {
        let cmd = Command::new(0x00, 0x20, 0x00, self.config.pin_ref);
        let (_, sw) = self.ch.send_sw(&cmd, &mut [], "VERIFY")?;
        pin_status_from(sw)
    }

    fn verify_pin(&mut self, _role: KeyRole, pin: &Pin) -> Result<(), Error> {
        let mut buf = zeroize::Zeroizing::new([0u8; 32]);
        let n = format_pin(pin, self.config.pin_format, &mut buf)?;
        let cmd = Command::new(0x00, 0x20, 0x00, self.config.pin_ref).with_data(&buf[..n]);
        self.ch.send(&cmd, &mut [], "VERIFY").map(|_| ())
    }

    fn verify_pin_pad(&mut self, _role: KeyRole) -> Result<(), Error> {
        let request = PinPadRequest {
            header: [0x00, 0x20, 0x00, self.config.pin_ref],
            format: self.config.pin_format,
            min_len: self.config.pin_len.0,
            max_len: self.config.pin_len.1,
        };
        pin_pad(&mut self.ch, &request)
    }

    fn has_pin_pad(&mut self) -> bool {
        self.ch.transport().has_pin_pad()
    }

    fn read_certificate(&mut self, role: KeyRole, out: &mut [u8]) -> Result<usize, Error> {
        let fid = match role {
            KeyRole::Signature => self.config.cert_file,
            KeyRole::Decryption => self.config.decrypt_cert_file.unwrap_or(self.config.cert_file),
        };
        read_der_file(&mut self.ch, fid, out)
    }

    fn sign(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let (key, alg) = (self.config.sign_key_ref, self.config.sign_algorithm_ref);
        self.mse(0xB6, key, alg, "MSE: SET DST")?;
        let cmd = Command::new(0x00, 0x2A, 0x9E, 0x9A).with_data(input).with_ne(65536);
        self.ch.send(&cmd, out, "PSO: COMPUTE DIGITAL SIGNATURE")
    }

    fn decipher(&mut self, cryptogram: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let (key, alg) = (self.config.decrypt_key_ref, self.config.decrypt_algorithm_ref);
        self.mse(0xB8, key, alg, "MSE: SET CT")?;
        pso_decipher_rsa(&mut self.ch, cryptogram, out)
    }

    fn begin(&mut self) -> Result<(), Error> {
        self.ch.transport().begin_transaction().map_err(transport_err("starting a transaction"))
    }

    fn end(&mut self) {
        // Nothing is lost when ending fails: the reader ends it on release.
        let _ = self.ch.transport().end_transaction();
    }

    fn take_state_lost(&mut self) -> bool {
        self.ch.take_state_lost()
    }
}

/// Runs a PIN-pad VERIFY and maps the card's answer.
fn pin_pad<T: Transport>(ch: &mut Channel<T>, request: &PinPadRequest) -> Result<(), Error> {
    const CTX: &str = "VERIFY (PIN pad)";
    let mut resp = [0u8; 2];
    let n = ch
        .transport()
        .verify_pin_pad(request, &mut resp)
        .map_err(|e| Error::new(ErrorKind::Transport(e), CTX))?;
    if n != 2 {
        return Err(Error::new(ErrorKind::Malformed, CTX));
    }
    match StatusWord::new(resp[0], resp[1]).error_kind() {
        None => Ok(()),
        Some(k) => Err(Error::new(k, CTX)),
    }
}

/// PSO: DECIPHER with padding indicator 00 before an RSA cryptogram. The
/// data (up to 513 bytes for RSA-4096) goes extended or chained, as the
/// channel decides.
fn pso_decipher_rsa<T: Transport>(
    ch: &mut Channel<T>,
    cryptogram: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    const CTX: &str = "PSO: DECIPHER";
    let mut data = zeroize::Zeroizing::new([0u8; 1025]);
    let d =
        data.get_mut(..cryptogram.len() + 1).ok_or(Error::new(ErrorKind::CommandTooLong, CTX))?;
    d[1..].copy_from_slice(cryptogram);
    let cmd = Command::new(0x00, 0x2A, 0x80, 0x86).with_data(d).with_ne(65536);
    ch.send(&cmd, out, CTX)
}

/// The OpenPGP card application's AID prefix (RID D276000124, PIX 01).
pub const OPENPGP_AID: [u8; 6] = [0xD2, 0x76, 0x00, 0x01, 0x24, 0x01];

/// An OpenPGP card (version 3).
pub struct OpenPgpCard<T> {
    ch: Channel<T>,
}

impl<T: fmt::Debug> fmt::Debug for OpenPgpCard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenPgpCard").field("ch", &self.ch).finish()
    }
}

impl<T: Transport> OpenPgpCard<T> {
    /// The card on `transport`.
    pub fn new(transport: T) -> Self {
        Self { ch: Channel::new(transport) }
    }

    /// The channel.
    pub fn channel(&mut self) -> &mut Channel<T> {
        &mut self.ch
    }

    fn pw1(role: KeyRole) -> u8 {
        match role {
            KeyRole::Signature => 0x81,
            KeyRole::Decryption => 0x82,
        }
    }
}

impl<T: Transport> SignatureCard for OpenPgpCard<T> {
    fn select(&mut self) -> Result<(), Error> {
        let cmd = Command::new(0x00, 0xA4, 0x04, 0x00).with_data(&OPENPGP_AID);
        self.ch.send(&cmd, &mut [0u8; 64], "SELECT OpenPGP application")?;
        // Extended length only when the card announces it (extended
        // capabilities, DO C0 byte 1 bit 1 / the historical bytes); read the
        // application related data and look.
        let mut ard = [0u8; 512];
        let n = self.ch.send(
            &Command::new(0x00, 0xCA, 0x00, 0x6E).with_ne(256),
            &mut ard,
            "GET DATA 6E",
        )?;
        let ext_info = tlv::find(&ard[..n], 0x7F66)
            .map_err(|_| Error::new(ErrorKind::Malformed, "GET DATA 6E"))?;
        self.ch.set_extended(ext_info.is_some());
        Ok(())
    }

    fn pin_status(&mut self, role: KeyRole) -> Result<PinStatus, Error> {
        let cmd = Command::new(0x00, 0x20, 0x00, Self::pw1(role));
        let (_, sw) = self.ch.send_sw(&cmd, &mut [], "VERIFY")?;
        pin_status_from(sw)
    }

    fn verify_pin(&mut self, role: KeyRole, pin: &Pin) -> Result<(), Error> {
        let cmd = Command::new(0x00, 0x20, 0x00, Self::pw1(role)).with_data(pin.as_bytes());
        self.ch.send(&cmd, &mut [], "VERIFY").map(|_| ())
    }

    fn verify_pin_pad(&mut self, role: KeyRole) -> Result<(), Error> {
        let request = PinPadRequest {
            header: [0x00, 0x20, 0x00, Self::pw1(role)],
            format: PinFormat::Ascii,
            min_len: 6,
            max_len: 32,
        };
        pin_pad(&mut self.ch, &request)
    }

    fn has_pin_pad(&mut self) -> bool {
        self.ch.transport().has_pin_pad()
    }

    fn read_certificate(&mut self, role: KeyRole, out: &mut [u8]) -> Result<usize, Error> {
        // SELECT DATA picks the certificate's occurrence (v3: 0 AUT, 1 DEC,
        // 2 SIG); cards before 3.0 hold one certificate and refuse it.
        let occurrence = match role {
            KeyRole::Signature => 2,
            KeyRole::Decryption => 1,
        };
        let data = [0x60, 0x04, 0x5C, 0x02, 0x7F, 0x21];
        let cmd = Command::new(0x00, 0xA5, occurrence, 0x04).with_data(&data);
        let (_, sw) = self.ch.send_sw(&cmd, &mut [0u8; 16], "SELECT DATA")?;
        if !sw.is_ok() && !matches!(sw.0, 0x6D00 | 0x6B00 | 0x6A86) {
            return Err(Error::new(sw.error_kind().unwrap_or(ErrorKind::Malformed), "SELECT DATA"));
        }
        let cmd = Command::new(0x00, 0xCA, 0x7F, 0x21).with_ne(65536);
        let n = self.ch.send(&cmd, out, "GET DATA 7F21")?;
        if n == 0 {
            return Err(Error::new(ErrorKind::FileNotFound, "GET DATA 7F21"));
        }
        // Some cards return the DO with its tag; a certificate starts with 30.
        if out[0] != 0x30 {
            let inner = tlv::find(&out[..n], 0x7F21)
                .ok()
                .flatten()
                .map(|v| (v.as_ptr() as usize, v.len()))
                .ok_or(Error::new(ErrorKind::BadCertificate, "GET DATA 7F21"))?;
            let start = inner.0 - out.as_ptr() as usize;
            out.copy_within(start..start + inner.1, 0);
            return Ok(inner.1);
        }
        Ok(n)
    }

    fn sign(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let cmd = Command::new(0x00, 0x2A, 0x9E, 0x9A).with_data(input).with_ne(65536);
        self.ch.send(&cmd, out, "PSO: COMPUTE DIGITAL SIGNATURE")
    }

    fn decipher(&mut self, cryptogram: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        pso_decipher_rsa(&mut self.ch, cryptogram, out)
    }

    fn ecdh(&mut self, peer_point: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        const CTX: &str = "PSO: DECIPHER (ECDH)";
        // A6 { 7F49 { 86 <point> } }
        let n = peer_point.len();
        if n > 133 {
            return Err(Error::new(ErrorKind::CommandTooLong, CTX));
        }
        let mut data = [0u8; 144];
        let len86 = 2 + n;
        let len7f49 = 3 + len86;
        data[..3].copy_from_slice(&[0xA6, 0x81, 0]);
        data[2] = low_byte(len7f49);
        data[3..6].copy_from_slice(&[0x7F, 0x49, 0x81]);
        data[6] = low_byte(len86);
        data[7] = 0x86;
        data[8] = low_byte(n);
        data[9..9 + n].copy_from_slice(peer_point);
        let cmd = Command::new(0x00, 0x2A, 0x80, 0x86).with_data(&data[..9 + n]).with_ne(256);
        self.ch.send(&cmd, out, CTX)
    }

    fn begin(&mut self) -> Result<(), Error> {
        self.ch.transport().begin_transaction().map_err(transport_err("starting a transaction"))
    }

    fn end(&mut self) {
        let _ = self.ch.transport().end_transaction();
    }

    fn take_state_lost(&mut self) -> bool {
        self.ch.take_state_lost()
    }
}

/// Either profile, chosen at run time (from a configuration or a command
/// line).
#[derive(Debug)]
pub enum AnyCard<'a, T> {
    /// A generic ISO 7816-8 card.
    Iso7816(Iso7816Card<'a, T>),
    /// An OpenPGP card.
    OpenPgp(OpenPgpCard<T>),
}

macro_rules! any_card {
    ($self:ident, $c:ident => $e:expr) => {
        match $self {
            AnyCard::Iso7816($c) => $e,
            AnyCard::OpenPgp($c) => $e,
        }
    };
}

impl<T: Transport> AnyCard<'_, T> {
    /// The channel.
    pub fn channel(&mut self) -> &mut Channel<T> {
        any_card!(self, c => c.channel())
    }
}

impl<T: Transport> SignatureCard for AnyCard<'_, T> {
    fn select(&mut self) -> Result<(), Error> {
        any_card!(self, c => c.select())
    }
    fn pin_status(&mut self, role: KeyRole) -> Result<PinStatus, Error> {
        any_card!(self, c => c.pin_status(role))
    }
    fn verify_pin(&mut self, role: KeyRole, pin: &Pin) -> Result<(), Error> {
        any_card!(self, c => c.verify_pin(role, pin))
    }
    fn verify_pin_pad(&mut self, role: KeyRole) -> Result<(), Error> {
        any_card!(self, c => c.verify_pin_pad(role))
    }
    fn has_pin_pad(&mut self) -> bool {
        any_card!(self, c => c.has_pin_pad())
    }
    fn read_certificate(&mut self, role: KeyRole, out: &mut [u8]) -> Result<usize, Error> {
        any_card!(self, c => c.read_certificate(role, out))
    }
    fn sign(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        any_card!(self, c => c.sign(input, out))
    }
    fn decipher(&mut self, cryptogram: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        any_card!(self, c => c.decipher(cryptogram, out))
    }
    fn ecdh(&mut self, peer_point: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        any_card!(self, c => c.ecdh(peer_point, out))
    }
    fn begin(&mut self) -> Result<(), Error> {
        any_card!(self, c => c.begin())
    }
    fn end(&mut self) {
        any_card!(self, c => c.end())
    }
    fn take_state_lost(&mut self) -> bool {
        any_card!(self, c => c.take_state_lost())
    }
}

/// How the PIN is given to a [`CardKey`].
#[derive(Clone, Debug)]
pub enum PinEntry {
    /// A PIN from the caller (a prompt, a file). Presented once per
    /// operation; forgotten when the card refuses it.
    Pin(Pin),
    /// Typed on the reader's PIN pad for each operation.
    PinPad,
    /// No PIN: operations the card guards fail with "PIN required".
    None,
}

/// The kind of key on the card, from its certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA, with the modulus size in bits.
    Rsa(u32),
    /// ECDSA / ECDH on a NIST curve.
    Ec(AgreementCurve),
}

/// The longest certificate a [`CardKey`] holds.
pub const MAX_CERTIFICATE: usize = 4096;

/// A card key: a signature card's key for one role, with its certificate;
/// a `smime-core` [`Signer`], [`KeyTransDecrypter`] and [`KeyAgreement`].
pub struct CardKey<C> {
    card: C,
    role: KeyRole,
    cert: [u8; MAX_CERTIFICATE],
    cert_len: usize,
    kind: KeyKind,
    algorithm: SignatureAlgorithm,
    pin: PinEntry,
    selected: bool,
}

impl<C> fmt::Debug for CardKey<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardKey")
            .field("role", &self.role)
            .field("kind", &self.kind)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl<C: SignatureCard> CardKey<C> {
    /// Opens `role`'s key: selects the application and reads the key's
    /// certificate (which says what kind of key it is). No PIN is used.
    pub fn open(mut card: C, role: KeyRole, pin: PinEntry) -> Result<Self, Error> {
        card.begin()?;
        let r = Self::read(&mut card, role);
        card.end();
        let (cert, cert_len, kind) = r?;
        let algorithm = kind.default_algorithm();
        Ok(Self { card, role, cert, cert_len, kind, algorithm, pin, selected: true })
    }

    /// A key whose certificate the caller already has (read before, or
    /// kept from an earlier session): no command is sent until the first
    /// operation, which selects the application first.
    pub fn with_certificate(
        card: C,
        role: KeyRole,
        cert_der: &[u8],
        pin: PinEntry,
    ) -> Result<Self, Error> {
        let kind = KeyKind::of_certificate(cert_der)?;
        let mut cert = [0u8; MAX_CERTIFICATE];
        cert.get_mut(..cert_der.len())
            .ok_or(Error::new(ErrorKind::BadCertificate, "reading the certificate"))?
            .copy_from_slice(cert_der);
        Ok(Self {
            card,
            role,
            cert,
            cert_len: cert_der.len(),
            kind,
            algorithm: kind.default_algorithm(),
            pin,
            selected: false,
        })
    }

    fn read(card: &mut C, role: KeyRole) -> Result<([u8; MAX_CERTIFICATE], usize, KeyKind), Error> {
        card.select()?;
        let mut cert = [0u8; MAX_CERTIFICATE];
        let n = card.read_certificate(role, &mut cert)?;
        let kind = KeyKind::of_certificate(&cert[..n])?;
        Ok((cert, n, kind))
    }

    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key's role on the card.
    pub fn role(&self) -> KeyRole {
        self.role
    }

    /// The DER of the key's certificate.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert[..self.cert_len]
    }

    /// The PIN's state, asked without using a try.
    pub fn pin_status(&mut self) -> Result<PinStatus, Error> {
        let role = self.role;
        self.with_card(|card| card.pin_status(role))
    }

    /// Chooses the hash for signatures (default SHA-256 for RSA and P-256,
    /// SHA-384 for P-384). RSA keys sign PKCS#1 v1.5 only: the card pads.
    pub fn with_hash(mut self, hash: HashAlgorithm) -> Self {
        self.set_hash(hash);
        self
    }

    /// As [`with_hash`](Self::with_hash), in place.
    pub fn set_hash(&mut self, hash: HashAlgorithm) {
        self.algorithm = self.kind.algorithm_with(hash);
    }

    /// Replaces how the PIN is given (for example after asking the tries
    /// left with [`pin_status`](Self::pin_status), which uses none).
    pub fn set_pin(&mut self, pin: PinEntry) {
        self.pin = pin;
    }

    /// The card (to reset it, or send other commands).
    pub fn card_mut(&mut self) -> &mut C {
        &mut self.card
    }

    /// Gives the card back.
    pub fn into_card(self) -> C {
        self.card
    }

    /// Runs `f` in a transaction, selecting the application again after a
    /// reset or removal.
    fn with_card<R>(&mut self, f: impl FnOnce(&mut C) -> Result<R, Error>) -> Result<R, Error> {
        self.card.begin()?;
        let r = (|| {
            if self.card.take_state_lost() || !self.selected {
                self.selected = false;
                self.card.select()?;
                self.selected = true;
            }
            f(&mut self.card)
        })();
        if self.card.take_state_lost() {
            self.selected = false;
        }
        self.card.end();
        r
    }

    /// Presents the PIN (or has it typed), then runs `op`; all in one
    /// transaction. A refused PIN is forgotten.
    fn authorised<R>(&mut self, op: impl FnOnce(&mut C) -> Result<R, Error>) -> Result<R, Error> {
        let role = self.role;
        let mut pin = core::mem::replace(&mut self.pin, PinEntry::None);
        let r = self.with_card(|card| {
            match &pin {
                PinEntry::Pin(p) => {
                    if let Err(e) = card.verify_pin(role, p) {
                        if matches!(
                            e.kind(),
                            ErrorKind::PinIncorrect { .. }
                                | ErrorKind::PinBlocked
                                | ErrorKind::ReferenceDataNotUsable
                        ) {
                            // Never present a refused PIN again.
                            pin = PinEntry::None;
                        }
                        return Err(e);
                    }
                }
                PinEntry::PinPad => card.verify_pin_pad(role)?,
                PinEntry::None => {
                    if card.pin_status(role)? != PinStatus::Verified {
                        return Err(Error::new(ErrorKind::PinRequired, "VERIFY"));
                    }
                }
            }
            op(card)
        });
        self.pin = pin;
        r
    }
}

impl KeyKind {
    /// What kind of key a certificate holds (RSA, or EC on P-256 or
    /// P-384).
    pub fn of_certificate(der: &[u8]) -> Result<Self, Error> {
        key_kind(der)
    }

    /// The signature algorithm a card key of this kind makes by default:
    /// PKCS#1 v1.5 with SHA-256 for RSA, ECDSA with SHA-256 on P-256 and
    /// SHA-384 on P-384.
    pub fn default_algorithm(self) -> SignatureAlgorithm {
        match self {
            KeyKind::Rsa(_) => SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256),
            KeyKind::Ec(AgreementCurve::P384) => SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha384),
            KeyKind::Ec(_) => SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256),
        }
    }

    /// The signature algorithm with `hash`.
    pub fn algorithm_with(self, hash: HashAlgorithm) -> SignatureAlgorithm {
        match self {
            KeyKind::Rsa(_) => SignatureAlgorithm::RsaPkcs1v15(hash),
            KeyKind::Ec(_) => SignatureAlgorithm::Ecdsa(hash),
        }
    }

    /// The longest signature (as CMS carries it) a key of this kind makes.
    pub fn max_signature_len(self) -> usize {
        match self {
            KeyKind::Rsa(bits) => (bits as usize).div_ceil(8),
            // DER Ecdsa-Sig-Value: two INTEGERs of up to 49 bytes each.
            KeyKind::Ec(AgreementCurve::P384) => 104,
            KeyKind::Ec(_) => 72,
        }
    }
}

/// What kind of key a certificate holds.
fn key_kind(der: &[u8]) -> Result<KeyKind, Error> {
    let bad = Error::new(ErrorKind::BadCertificate, "reading the certificate");
    let cert = CertificateRef::from_der(der).map_err(|_| bad)?;
    let alg = cert.public_key_algorithm();
    if alg == oid::RSA_ENCRYPTION {
        let pk = cert.rsa_public_key().ok_or(bad)?;
        Ok(KeyKind::Rsa(pk.bits()))
    } else if alg == oid::EC_PUBLIC_KEY {
        let params = cert.public_key_parameters().ok_or(bad)?;
        // The parameters are the curve's OID, as a whole TLV.
        let curve_oid = params.get(2..).filter(|_| params.first() == Some(&0x06)).ok_or(bad)?;
        if curve_oid == oid::SECP256R1 {
            Ok(KeyKind::Ec(AgreementCurve::P256))
        } else if curve_oid == oid::SECP384R1 {
            Ok(KeyKind::Ec(AgreementCurve::P384))
        } else {
            Err(Error::new(ErrorKind::Unsupported, "reading the certificate"))
        }
    } else {
        Err(Error::new(ErrorKind::Unsupported, "reading the certificate"))
    }
}

impl<C> ErrorType for CardKey<C> {
    type Error = Error;
}

impl<C: SignatureCard> Signer for CardKey<C> {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn certificate(&self) -> Option<&[u8]> {
        Some(self.certificate_der())
    }

    fn max_signature_len(&self) -> usize {
        self.kind.max_signature_len()
    }

    fn sign(&mut self, tbs: &ToBeSigned<'_>, out: &mut [u8]) -> Result<usize, Error> {
        const CTX: &str = "PSO: COMPUTE DIGITAL SIGNATURE";
        if self.role != KeyRole::Signature {
            return Err(Error::new(ErrorKind::Unsupported, CTX));
        }
        match self.algorithm {
            SignatureAlgorithm::RsaPkcs1v15(h) => {
                let mut di = [0u8; 96];
                let n = digest_info(h, tbs.digest, &mut di)
                    .map_err(|_| Error::new(ErrorKind::WrongLength, CTX))?;
                let n = self.authorised(|card| card.sign(&di[..n], out))?;
                // An RSA signature is exactly as long as the modulus.
                if n != self.kind.max_signature_len() {
                    return Err(Error::new(ErrorKind::Malformed, CTX));
                }
                Ok(n)
            }
            SignatureAlgorithm::Ecdsa(h) => {
                if tbs.digest.len() != h.output_len() {
                    return Err(Error::new(ErrorKind::WrongLength, CTX));
                }
                let mut rs = [0u8; 132];
                let n = self.authorised(|card| card.sign(tbs.digest, &mut rs))?;
                // r‖s: two field elements.
                let field = match self.kind {
                    KeyKind::Ec(AgreementCurve::P384) => 48,
                    _ => 32,
                };
                if n != 2 * field {
                    return Err(Error::new(ErrorKind::Malformed, CTX));
                }
                ecdsa_raw_to_der(&rs[..n], out).map_err(|_| Error::new(ErrorKind::Malformed, CTX))
            }
            _ => Err(Error::new(ErrorKind::Unsupported, CTX)),
        }
    }
}

impl<C: SignatureCard> KeyTransDecrypter for CardKey<C> {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        CertificateRef::from_der(self.certificate_der()).ok().map(|c| c.recipient_id())
    }

    fn decrypt_key(
        &mut self,
        algorithm: &KeyTransAlgorithm<'_>,
        encrypted_key: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        const CTX: &str = "PSO: DECIPHER";
        if !matches!(algorithm, KeyTransAlgorithm::RsaPkcs1v15)
            || !matches!(self.kind, KeyKind::Rsa(_))
        {
            return Err(Error::new(ErrorKind::Unsupported, CTX));
        }
        let mut plain = zeroize::Zeroizing::new([0u8; 512]);
        let n = self.authorised(|card| card.decipher(encrypted_key, &mut plain[..]))?;
        let dst = out.get_mut(..n).ok_or(Error::new(ErrorKind::ResponseTooLong, CTX))?;
        dst.copy_from_slice(&plain[..n]);
        Ok(n)
    }

    fn agreement_curve(&self) -> Option<AgreementCurve> {
        match self.kind {
            KeyKind::Ec(c) if self.role == KeyRole::Decryption => Some(c),
            _ => None,
        }
    }

    fn shared_secret(
        &mut self,
        peer_public: &[u8],
        out: &mut [u8],
    ) -> Option<Result<usize, Error>> {
        self.agreement_curve()?;
        Some(KeyAgreement::shared_secret(self, peer_public, out))
    }
}

impl<C: SignatureCard> KeyAgreement for CardKey<C> {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        KeyTransDecrypter::recipient_id(self)
    }

    fn curve(&self) -> AgreementCurve {
        match self.kind {
            KeyKind::Ec(c) => c,
            KeyKind::Rsa(_) => AgreementCurve::P256,
        }
    }

    fn shared_secret(&mut self, peer_public: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        if !matches!(self.kind, KeyKind::Ec(_)) {
            return Err(Error::new(ErrorKind::Unsupported, "ECDH"));
        }
        self.authorised(|card| card.ecdh(peer_public, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_formats() {
        let pin = Pin::new(b"1234").unwrap();
        let mut b = [0u8; 32];
        let n = format_pin(&pin, PinFormat::Ascii, &mut b).unwrap();
        assert_eq!(&b[..n], b"1234");
        let n = format_pin(&pin, PinFormat::AsciiPadded { len: 8, pad: 0xFF }, &mut b).unwrap();
        assert_eq!(&b[..n], b"1234\xFF\xFF\xFF\xFF");
        let n = format_pin(&pin, PinFormat::Iso9564Format2, &mut b).unwrap();
        assert_eq!(&b[..n], &[0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        let odd = Pin::new(b"12345").unwrap();
        let n = format_pin(&odd, PinFormat::Iso9564Format2, &mut b).unwrap();
        assert_eq!(&b[..n], &[0x25, 0x12, 0x34, 0x5F, 0xFF, 0xFF, 0xFF, 0xFF]);
        let letters = Pin::new(b"12a4").unwrap();
        assert!(format_pin(&letters, PinFormat::Iso9564Format2, &mut b).is_err());
    }

    #[test]
    fn pin_status_words() {
        assert_eq!(pin_status_from(StatusWord(0x9000)), Ok(PinStatus::Verified));
        assert_eq!(pin_status_from(StatusWord(0x63C3)), Ok(PinStatus::TriesLeft(3)));
        assert_eq!(pin_status_from(StatusWord(0x63C0)), Ok(PinStatus::Blocked));
        assert_eq!(pin_status_from(StatusWord(0x6983)), Ok(PinStatus::Blocked));
        assert!(pin_status_from(StatusWord(0x6A82)).is_err());
    }

    /// A reader with a PIN pad that answers with the status words given.
    struct PinPad {
        answers: [[u8; 2]; 3],
        at: usize,
        seen: Option<PinPadRequest>,
    }

    impl Transport for PinPad {
        fn transmit(&mut self, _: &[u8], _: &mut [u8]) -> Result<usize, crate::TransportError> {
            Err(crate::TransportError::Unsupported)
        }
        fn limits(&self) -> crate::Limits {
            crate::Limits::SHORT
        }
        fn reset(&mut self, _: &mut [u8]) -> Result<usize, crate::TransportError> {
            Ok(0)
        }
        fn has_pin_pad(&self) -> bool {
            true
        }
        fn verify_pin_pad(
            &mut self,
            request: &PinPadRequest,
            response: &mut [u8],
        ) -> Result<usize, crate::TransportError> {
            self.seen = Some(*request);
            let a = self.answers.get(self.at).ok_or(crate::TransportError::Io)?;
            self.at += 1;
            response[..2].copy_from_slice(a);
            Ok(2)
        }
    }

    #[test]
    fn pin_pad_entry_maps_the_cards_answer() {
        let pad = PinPad { answers: [[0x90, 0x00], [0x63, 0xC1], [0x69, 0x83]], at: 0, seen: None };
        let config = Iso7816Config {
            pin_ref: 0x01,
            pin_format: PinFormat::Iso9564Format2,
            ..Iso7816Config::default()
        };
        let mut card = Iso7816Card::new(pad, config);
        assert!(card.has_pin_pad());
        assert_eq!(card.verify_pin_pad(KeyRole::Signature), Ok(()));
        let e = card.verify_pin_pad(KeyRole::Signature).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PinIncorrect { tries_left: 1 });
        let e = card.verify_pin_pad(KeyRole::Signature).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PinBlocked);
        let seen = card.channel().transport().seen.unwrap();
        assert_eq!(seen.header, [0x00, 0x20, 0x00, 0x01]);
        assert_eq!(seen.format, PinFormat::Iso9564Format2);
        // OpenPGP: PW1 81 for signing, 82 for decryption.
        let pad = PinPad { answers: [[0x90, 0x00]; 3], at: 0, seen: None };
        let mut card = OpenPgpCard::new(pad);
        card.verify_pin_pad(KeyRole::Decryption).unwrap();
        assert_eq!(card.channel().transport().seen.unwrap().header, [0x00, 0x20, 0x00, 0x82]);
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der_len(&[0x30, 0x82, 0x01, 0x00]), Some(260));
        assert_eq!(der_len(&[0x30, 0x81, 0x80]), Some(131));
        assert_eq!(der_len(&[0x30, 0x05]), Some(7));
        assert_eq!(der_len(&[0x31, 0x05]), None);
        assert_eq!(der_len(&[0x30, 0x83, 1, 0, 0]), None);
    }
}
