//! Keys on chip cards, named on the command line as
//! `card:reader=SUBSTR;profile=iso7816|openpgp;cert-file=C000;pin-ref=81;pin-value=...`.
//!
//! Options (all optional, separated by `;`):
//! - `reader=SUBSTR`: the first reader whose name contains SUBSTR and holds
//!   a card (default: any reader with a card);
//! - `profile=iso7816|openpgp|auto` (default `auto`: the OpenPGP
//!   application when the card has one, else ISO 7816-8);
//! - ISO 7816-8 cards: `aid=HEX` (application to select), `cert-file=C000`,
//!   `decrypt-cert-file=HEX`, `pin-ref=81`,
//!   `pin-format=ascii|pad8|iso9564-2`, `sign-key-ref=84`,
//!   `decrypt-key-ref=85`, `sign-alg-ref=HEX`, `decrypt-alg-ref=HEX`,
//!   `extended=yes|no` (extended-length APDUs; default no);
//! - the PIN: `pin-value=PIN`, `pin-source=FILE` (or `file:FILE`,
//!   `env:VAR`), `pinpad=yes|no` (the reader's PIN pad; by default used when
//!   the reader has one and no PIN is given); otherwise a prompt without
//!   echo.
//!
//! A PIN the card refuses is never tried again: the command fails and says
//! how many tries are left. The tries left are checked before asking (it
//! costs no try), so a blocked PIN is reported without prompting.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use smime_core::backend::{
    AgreementCurve, ErrorType, HashAlgorithm, KeyTransAlgorithm, KeyTransDecrypter, RecipientId,
    Signer, ToBeSigned,
};
use smime_core::pubkey::SignatureAlgorithm;
use smime_core::x509::CertificateRef;
use smime_pcsc::card::{
    AnyCard, CardKey, Iso7816Card, Iso7816Config, KeyKind, KeyRole, OpenPgpCard, PinEntry,
    PinStatus, SignatureCard,
};
use smime_pcsc::pcsc::{PcscTransport, Reader};
use smime_pcsc::{Pin, PinFormat};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::KeyError;

/// Whether a `--key` argument names a card key.
pub fn is_card_key(arg: &Path) -> bool {
    arg.to_str().is_some_and(|s| s.starts_with("card:"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Profile {
    Auto,
    Iso7816,
    OpenPgp,
}

/// A parsed `card:` key name.
#[derive(Clone, Default)]
struct CardSpec {
    reader: String,
    profile: Option<Profile>,
    aid: Option<Vec<u8>>,
    cert_file: Option<[u8; 2]>,
    decrypt_cert_file: Option<[u8; 2]>,
    pin_ref: Option<u8>,
    pin_format: Option<PinFormat>,
    sign_key_ref: Option<u8>,
    decrypt_key_ref: Option<u8>,
    sign_alg_ref: Option<u8>,
    decrypt_alg_ref: Option<u8>,
    extended: bool,
    pin_value: Option<Zeroizing<String>>,
    pin_source: Option<String>,
    pinpad: Option<bool>,
}

impl fmt::Debug for CardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardSpec")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

fn hex(name: &str, v: &str) -> Result<Vec<u8>> {
    let v = v.trim();
    if v.is_empty() || !v.len().is_multiple_of(2) || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::msg(format_args!(
            "card: {name}={v:?} is not hexadecimal bytes"
        )));
    }
    (0..v.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&v[i..i + 2], 16)
                .map_err(|_| Error::msg(format_args!("card: {name}={v:?} is not hexadecimal")))
        })
        .collect()
}

fn byte(name: &str, v: &str) -> Result<u8> {
    match hex(name, v)?.as_slice() {
        [b] => Ok(*b),
        _ => Err(Error::msg(format_args!(
            "card: {name}= takes one byte in hex, such as 81"
        ))),
    }
}

fn file_id(name: &str, v: &str) -> Result<[u8; 2]> {
    <[u8; 2]>::try_from(hex(name, v)?.as_slice()).map_err(|_| {
        Error::msg(format_args!(
            "card: {name}= takes a 2-byte file ID, such as C000"
        ))
    })
}

fn yes_no(name: &str, v: &str) -> Result<bool> {
    match v {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        _ => Err(Error::msg(format_args!("card: {name}= takes yes or no"))),
    }
}

impl CardSpec {
    fn parse(text: &str) -> Result<Self> {
        let body = text.strip_prefix("card:").unwrap_or(text);
        let mut s = CardSpec::default();
        for part in body.split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| Error::msg(format_args!("card: {part:?} is not NAME=VALUE")))?;
            match name {
                "reader" => s.reader = value.to_string(),
                "profile" => {
                    s.profile = Some(match value {
                        "iso7816" | "iso" => Profile::Iso7816,
                        "openpgp" => Profile::OpenPgp,
                        "auto" => Profile::Auto,
                        _ => {
                            return Err(Error::msg(format_args!(
                                "card: profile={value:?}: iso7816, openpgp or auto"
                            )));
                        }
                    });
                }
                "aid" => s.aid = Some(hex(name, value)?),
                "cert-file" => s.cert_file = Some(file_id(name, value)?),
                "decrypt-cert-file" => s.decrypt_cert_file = Some(file_id(name, value)?),
                "pin-ref" => s.pin_ref = Some(byte(name, value)?),
                "pin-format" => {
                    s.pin_format = Some(match value {
                        "ascii" => PinFormat::Ascii,
                        "pad8" => PinFormat::AsciiPadded { len: 8, pad: 0xFF },
                        "iso9564-2" | "format2" => PinFormat::Iso9564Format2,
                        _ => {
                            return Err(Error::msg(format_args!(
                                "card: pin-format={value:?}: ascii, pad8 or iso9564-2"
                            )));
                        }
                    });
                }
                "sign-key-ref" | "key-ref" => s.sign_key_ref = Some(byte(name, value)?),
                "decrypt-key-ref" => s.decrypt_key_ref = Some(byte(name, value)?),
                "sign-alg-ref" => s.sign_alg_ref = Some(byte(name, value)?),
                "decrypt-alg-ref" => s.decrypt_alg_ref = Some(byte(name, value)?),
                "extended" => s.extended = yes_no(name, value)?,
                "pin-value" => s.pin_value = Some(Zeroizing::new(value.to_string())),
                "pin-source" => s.pin_source = Some(value.to_string()),
                "pinpad" => s.pinpad = Some(yes_no(name, value)?),
                _ => {
                    return Err(Error::msg(format_args!(
                        "card: unknown option {name:?} (reader, profile, aid, cert-file, \
                         decrypt-cert-file, pin-ref, pin-format, sign-key-ref, decrypt-key-ref, \
                         sign-alg-ref, decrypt-alg-ref, extended, pin-value, pin-source, pinpad)"
                    )));
                }
            }
        }
        Ok(s)
    }

    fn iso_config<'a>(&self, aid: &'a [u8]) -> Iso7816Config<'a> {
        let d = Iso7816Config::default();
        Iso7816Config {
            aid: (!aid.is_empty()).then_some(aid),
            cert_file: self.cert_file.unwrap_or(d.cert_file),
            decrypt_cert_file: self.decrypt_cert_file,
            pin_ref: self.pin_ref.unwrap_or(d.pin_ref),
            pin_format: self.pin_format.unwrap_or(d.pin_format),
            sign_key_ref: self.sign_key_ref.unwrap_or(d.sign_key_ref),
            decrypt_key_ref: self.decrypt_key_ref.unwrap_or(d.decrypt_key_ref),
            sign_algorithm_ref: self.sign_alg_ref,
            decrypt_algorithm_ref: self.decrypt_alg_ref,
            extended: self.extended,
            ..d
        }
    }

    /// The PIN from `pin-value` or `pin-source`, if given.
    fn given_pin(&self) -> Result<Option<Zeroizing<String>>> {
        if let Some(v) = &self.pin_value {
            return Ok(Some(v.clone()));
        }
        let Some(src) = &self.pin_source else {
            return Ok(None);
        };
        if let Some(var) = src.strip_prefix("env:") {
            let v = std::env::var(var).map_err(|_| {
                Error::msg(format_args!(
                    "card: pin-source=env:{var}: the variable is not set"
                ))
            })?;
            return Ok(Some(Zeroizing::new(v)));
        }
        let path = src.strip_prefix("file:").unwrap_or(src);
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| Error::msg(format_args!("card: pin-source={path}: {e}")))?,
        );
        let line = text.lines().next().unwrap_or_default();
        Ok(Some(Zeroizing::new(line.to_string())))
    }
}

/// A card key for the run of a command.
///
/// Each operation connects to the reader, starts an exclusive PC/SC
/// transaction (so no other program talks to the card between the VERIFY
/// and the operation it allows), selects the application, presents the PIN
/// once, runs, and disconnects with a card reset, so the verified PIN does
/// not outlive the operation. A PIN the card refuses is forgotten.
pub struct OpenCard {
    spec: CardSpec,
    profile: Profile,
    role: KeyRole,
    reader: String,
    cert: Vec<u8>,
    kind: KeyKind,
    hash: Option<HashAlgorithm>,
    pin: Option<PinEntry>,
}

impl fmt::Debug for OpenCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenCard")
            .field("reader", &self.reader)
            .field("role", &self.role)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn card_error(reader: &str, e: &smime_pcsc::Error) -> Error {
    Error::msg(format_args!("card in reader {reader:?}: {e}"))
}

type PcscCard<'r> = AnyCard<'r, PcscTransport<'r>>;

/// Connects to the card, resolving `profile=auto` on the way.
fn connect<'r>(
    reader: &'r mut Reader,
    spec: &'r CardSpec,
    profile: Profile,
) -> Result<(PcscCard<'r>, Profile)> {
    let mut tx = reader
        .transaction()
        .map_err(|e| Error::msg(format_args!("card: {e}")))?;
    let profile = match profile {
        Profile::Auto => {
            let mut probe = OpenPgpCard::new(&mut tx);
            if probe.select().is_ok() {
                Profile::OpenPgp
            } else {
                Profile::Iso7816
            }
        }
        p => p,
    };
    let card = match profile {
        Profile::OpenPgp => AnyCard::OpenPgp(OpenPgpCard::new(tx)),
        _ => {
            let aid = spec.aid.as_deref().unwrap_or_default();
            AnyCard::Iso7816(Iso7816Card::new(tx, spec.iso_config(aid)))
        }
    };
    Ok((card, profile))
}

/// Opens the key of `role` on the card `arg` names: reads its certificate
/// and the PIN's state, and gets the PIN (given, PIN pad or prompt).
pub fn open(arg: &Path, role: KeyRole) -> Result<OpenCard> {
    let spec = CardSpec::parse(arg.to_str().unwrap_or_default())?;
    let mut reader =
        Reader::connect(&spec.reader).map_err(|e| Error::msg(format_args!("card: {e}")))?;
    let name = reader.name().to_string();
    let has_pad = reader.features().verify_pin_direct.is_some();
    let (card, profile) = connect(&mut reader, &spec, spec.profile.unwrap_or(Profile::Auto))?;
    let mut key = CardKey::open(card, role, PinEntry::None).map_err(|e| card_error(&name, &e))?;
    let cert = key.certificate_der().to_vec();
    let kind = key.kind();

    // The PIN: given, typed on the PIN pad, or asked for, after checking
    // (without using a try) that it is not blocked.
    let status = key.pin_status().map_err(|e| card_error(&name, &e))?;
    drop(key);
    drop(reader);
    let what = match role {
        KeyRole::Signature => "signature",
        KeyRole::Decryption => "decryption",
    };
    let entry = match status {
        PinStatus::Blocked => {
            return Err(Error::msg(format_args!(
                "card in reader {name:?}: the {what} PIN is blocked; unblock it with the PUK \
                 (the card's issuer tells how)"
            )));
        }
        _ => match spec.given_pin()? {
            Some(p) => PinEntry::Pin(pin(&p)?),
            None if spec.pinpad.unwrap_or(has_pad) => {
                if !has_pad {
                    return Err(Error::msg(format_args!(
                        "card: reader {name:?} has no PIN pad (pinpad=yes)"
                    )));
                }
                PinEntry::PinPad
            }
            None => {
                let tries = match status {
                    PinStatus::TriesLeft(n) => format!(", {n} tries left"),
                    _ => String::new(),
                };
                let p = rpassword::prompt_password(format!(
                    "{what} PIN for the card in reader {name:?}{tries}: "
                ))
                .map(Zeroizing::new)
                .map_err(|e| {
                    Error::msg(format_args!(
                        "card in reader {name:?} needs a PIN and none could be asked for ({e}): \
                         give pin-value= or pin-source="
                    ))
                })?;
                PinEntry::Pin(pin(&p)?)
            }
        },
    };
    Ok(OpenCard {
        spec,
        profile,
        role,
        reader: name,
        cert,
        kind,
        hash: None,
        pin: Some(entry),
    })
}

fn pin(p: &str) -> Result<Pin> {
    Pin::new(p.as_bytes())
        .ok_or_else(|| Error::msg(format_args!("a card PIN has 1 to {} characters", Pin::MAX)))
}

impl OpenCard {
    /// The DER of the key's certificate.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert
    }

    /// Signs with `hash` (RSA PKCS#1 v1.5 or ECDSA, as the key is).
    pub fn set_hash(&mut self, hash: HashAlgorithm) {
        self.hash = Some(hash);
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    fn err(&self, e: &smime_pcsc::Error) -> KeyError {
        crate::keys::remember(
            smime_core::backend::BackendError::kind(e),
            format!("card in reader {:?}: {e}", self.reader),
        )
    }

    /// Runs `op` on the card key in one connection and transaction.
    fn run<R>(
        &mut self,
        op: impl FnOnce(&mut CardKey<PcscCard<'_>>) -> std::result::Result<R, smime_pcsc::Error>,
    ) -> std::result::Result<R, KeyError> {
        let failed = |message: String| {
            crate::keys::remember(smime_core::backend::BackendErrorKind::Device, message)
        };
        let Some(entry) = self.pin.take() else {
            return Err(crate::keys::remember(
                smime_core::backend::BackendErrorKind::PinRequired,
                format!(
                    "card in reader {:?}: the PIN was refused before and is not tried again",
                    self.reader
                ),
            ));
        };
        let mut reader = Reader::connect_exact(&self.reader)
            .map_err(|e| failed(format!("card in reader {:?}: {e}", self.reader)))?;
        let (card, _) =
            connect(&mut reader, &self.spec, self.profile).map_err(|e| failed(e.to_string()))?;
        let mut key = CardKey::with_certificate(card, self.role, &self.cert, entry.clone())
            .map_err(|e| self.err(&e))?;
        if let Some(h) = self.hash {
            key.set_hash(h);
        }
        let r = op(&mut key);
        drop(key);
        drop(reader);
        match &r {
            // Never present a refused PIN again.
            Err(e)
                if matches!(
                    e.kind(),
                    smime_pcsc::ErrorKind::PinIncorrect { .. }
                        | smime_pcsc::ErrorKind::PinBlocked
                        | smime_pcsc::ErrorKind::ReferenceDataNotUsable
                ) => {}
            _ => self.pin = Some(entry),
        }
        r.map_err(|e| self.err(&e))
    }
}

impl ErrorType for OpenCard {
    type Error = KeyError;
}

impl Signer for OpenCard {
    fn algorithm(&self) -> SignatureAlgorithm {
        match self.hash {
            Some(h) => self.kind.algorithm_with(h),
            None => self.kind.default_algorithm(),
        }
    }

    fn certificate(&self) -> Option<&[u8]> {
        Some(&self.cert)
    }

    fn max_signature_len(&self) -> usize {
        self.kind.max_signature_len()
    }

    fn sign(
        &mut self,
        tbs: &ToBeSigned<'_>,
        out: &mut [u8],
    ) -> std::result::Result<usize, KeyError> {
        self.run(|k| k.sign(tbs, out))
    }
}

impl KeyTransDecrypter for OpenCard {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        CertificateRef::from_der(&self.cert)
            .ok()
            .map(|c| c.recipient_id())
    }

    fn decrypt_key(
        &mut self,
        algorithm: &KeyTransAlgorithm<'_>,
        encrypted_key: &[u8],
        out: &mut [u8],
    ) -> std::result::Result<usize, KeyError> {
        self.run(|k| k.decrypt_key(algorithm, encrypted_key, out))
    }

    fn agreement_curve(&self) -> Option<AgreementCurve> {
        match (self.kind, self.role) {
            (KeyKind::Ec(c), KeyRole::Decryption) => Some(c),
            _ => None,
        }
    }

    fn shared_secret(
        &mut self,
        peer_public: &[u8],
        out: &mut [u8],
    ) -> Option<std::result::Result<usize, KeyError>> {
        self.agreement_curve()?;
        Some(self.run(|k| smime_core::backend::KeyAgreement::shared_secret(k, peer_public, out)))
    }
}

/// Runs `smime cards`: every reader, whether it holds a card, and for a
/// card its profile, its certificates and PIN tries (asked without using
/// one), with the `card:` key name that selects it.
pub fn list(args: &crate::cli::CardsArgs) -> Result<()> {
    use std::fmt::Write as _;
    let readers =
        smime_pcsc::pcsc::list_readers().map_err(|e| Error::msg(format_args!("card: {e}")))?;
    let mut out = String::new();
    if readers.is_empty() {
        out.push_str("no smart-card reader\n");
    }
    for r in readers.iter().filter(|r| r.name.contains(&args.reader)) {
        let _ = writeln!(out, "Reader: {}", r.name);
        if !r.card_present {
            let _ = writeln!(out, "  no card");
            continue;
        }
        let mut spec = CardSpec::parse(&format!("card:profile={}", args.profile))?;
        if let Some(aid) = &args.aid {
            spec.aid = Some(hex("aid", aid)?);
        }
        let mut reader = match Reader::connect_exact(&r.name) {
            Ok(x) => x,
            Err(e) => {
                let _ = writeln!(out, "  {e}");
                continue;
            }
        };
        let pad = reader.features().verify_pin_direct.is_some();
        let (mut card, profile) =
            match connect(&mut reader, &spec, spec.profile.unwrap_or(Profile::Auto)) {
                Ok(x) => x,
                Err(e) => {
                    let _ = writeln!(out, "  {e}");
                    continue;
                }
            };
        let pname = match profile {
            Profile::OpenPgp => "openpgp",
            _ => "iso7816",
        };
        let _ = writeln!(
            out,
            "  Profile: {pname}{}",
            if pad {
                " (the reader has a PIN pad)"
            } else {
                ""
            }
        );
        for role in [KeyRole::Signature, KeyRole::Decryption] {
            let what = match role {
                KeyRole::Signature => "Signature key",
                KeyRole::Decryption => "Decryption key",
            };
            let _ = card.select();
            let mut buf = vec![0u8; smime_pcsc::card::MAX_CERTIFICATE];
            match card.read_certificate(role, &mut buf) {
                Ok(n) => match CertificateRef::from_der(&buf[..n]) {
                    Ok(c) => {
                        let _ = writeln!(out, "  {what}: {}", c.subject());
                        let _ = writeln!(
                            out,
                            "    SHA-256 {}",
                            crate::describe::colon_hex(&c.fingerprint_sha256())
                        );
                    }
                    Err(_) => {
                        let _ =
                            writeln!(out, "  {what}: the certificate on the card does not parse");
                    }
                },
                Err(e) => {
                    let _ = writeln!(out, "  {what}: no certificate ({e})");
                    continue;
                }
            }
            let tries = match card.pin_status(role) {
                Ok(PinStatus::TriesLeft(n)) => format!("{n} tries left"),
                Ok(PinStatus::Blocked) => "BLOCKED".to_string(),
                Ok(PinStatus::Verified) => "verified".to_string(),
                Ok(PinStatus::Unknown) => "tries left not told".to_string(),
                Err(e) => e.to_string(),
            };
            let _ = writeln!(out, "    PIN: {tries}");
        }
        let aid = spec
            .aid
            .as_deref()
            .map(|a| {
                format!(
                    ";aid={}",
                    a.iter().map(|b| format!("{b:02X}")).collect::<String>()
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  Use: --key 'card:reader={};profile={pname}{aid}'",
            r.name
        );
    }
    print!("{out}");
    Ok(())
}

/// A card's decryption key shared by the envelope levels of one command
/// (one connection and one transaction per card).
#[derive(Clone, Debug)]
pub struct SharedCard {
    key: Arc<Mutex<OpenCard>>,
    cert: Arc<Vec<u8>>,
    /// The key-agreement curve, for an EC key.
    pub curve: Option<AgreementCurve>,
}

impl SharedCard {
    /// The recipient the key's certificate names.
    pub fn recipient_id(&self) -> Option<RecipientId<'_>> {
        CertificateRef::from_der(&self.cert)
            .ok()
            .map(|c| c.recipient_id())
    }

    /// Runs `f` with the card key.
    pub fn with<R>(&self, f: impl FnOnce(&mut OpenCard) -> R) -> R {
        let mut g = self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    /// The reader's name.
    pub fn reader(&self) -> String {
        self.with(|c| c.reader.clone())
    }
}

/// The decryption key of the card `arg` names, opened once per command.
pub fn open_shared(arg: &Path) -> Result<SharedCard> {
    static OPEN: Mutex<Vec<(String, SharedCard)>> = Mutex::new(Vec::new());
    let name = arg.to_string_lossy().into_owned();
    let mut open = OPEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, c)) = open.iter().find(|(n, _)| *n == name) {
        return Ok(c.clone());
    }
    let card = self::open(arg, KeyRole::Decryption)?;
    let shared = SharedCard {
        cert: Arc::new(card.certificate_der().to_vec()),
        curve: KeyTransDecrypter::agreement_curve(&card),
        key: Arc::new(Mutex::new(card)),
    };
    open.push((name, shared.clone()));
    Ok(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_card_key_names() {
        let s = CardSpec::parse(
            "card:reader=Virtual;profile=iso7816;cert-file=C001;pin-ref=01;pin-value=1234;\
             aid=E828BD080F;pin-format=iso9564-2;extended=yes",
        )
        .unwrap();
        assert_eq!(s.reader, "Virtual");
        assert_eq!(s.profile, Some(Profile::Iso7816));
        let c = s.iso_config(&[1, 2]);
        assert_eq!(
            (c.cert_file, c.pin_ref, c.extended),
            ([0xC0, 0x01], 0x01, true)
        );
        assert_eq!(c.pin_format, PinFormat::Iso9564Format2);
        assert_eq!(s.aid.as_deref(), Some(&[0xE8, 0x28, 0xBD, 0x08, 0x0F][..]));
        assert_eq!(
            s.given_pin().unwrap().as_deref().map(String::as_str),
            Some("1234")
        );
        // Defaults.
        let s = CardSpec::parse("card:").unwrap();
        let c = s.iso_config(&[]);
        assert_eq!((c.aid, c.cert_file, c.pin_ref), (None, [0xC0, 0x00], 0x81));
        assert!(s.given_pin().unwrap().is_none());
        // Mistakes are named.
        for bad in [
            "card:pin-ref=8",
            "card:profile=piv",
            "card:cert-file=C0",
            "card:nope=1",
            "card:x",
        ] {
            assert!(CardSpec::parse(bad).is_err(), "{bad}");
        }
        assert!(is_card_key(Path::new("card:reader=x")));
        assert!(!is_card_key(Path::new("key.pem")));
    }
}
