//! Signs a mail with the signature key on a chip card in a PC/SC reader:
//! an OpenPGP card, or an ISO 7816-8 signature card (qualified signature
//! cards). The key never leaves the card; the mail is hashed on the host
//! and the card signs the DigestInfo (or the hash, for ECDSA).
//!
//! ```sh
//! SMIME_CARD_PIN=123456 cargo run -p smime-pcsc --features pcsc --example card_sign -- \
//!     openpgp mail.eml > signed.eml
//! openssl smime -verify -noverify -in signed.eml
//! ```
//!
//! The first argument is the profile (`openpgp`, or `iso7816` for a card
//! whose signature application is the default one and whose certificate is
//! in file C000). The PIN is presented once; a wrong PIN is reported with
//! the tries left and never retried.

use std::io::Write as _;

use smime_core::cms::sign::SignOptions;
use smime_core::mime::{BodyEncoder, Boundary, MessageSplitter, MultipartSignedWriter};
use smime_pcsc::card::{
    AnyCard, CardKey, Iso7816Card, Iso7816Config, KeyRole, OpenPgpCard, PinEntry, PinStatus,
};
use smime_pcsc::pcsc::Reader;
use smime_pcsc::Pin;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(profile), Some(mail)) = (args.next(), args.next()) else {
        return Err("usage: card_sign openpgp|iso7816 MAIL.eml > SIGNED.eml".into());
    };
    let pin = std::env::var("SMIME_CARD_PIN").map_err(|_| "set SMIME_CARD_PIN")?;
    let pin = Pin::new(pin.as_bytes()).ok_or("a PIN has 1 to 32 characters")?;

    // The first reader with a card; one PC/SC transaction for the whole
    // signature, so no other program comes between VERIFY and the PSO.
    let mut reader = Reader::connect("")?;
    eprintln!("reader: {}", reader.name());
    let tx = reader.transaction()?;
    let card = match profile.as_str() {
        "openpgp" => AnyCard::OpenPgp(OpenPgpCard::new(tx)),
        _ => AnyCard::Iso7816(Iso7816Card::new(tx, Iso7816Config::default())),
    };
    let mut key = CardKey::open(card, KeyRole::Signature, PinEntry::None)?;
    match key.pin_status()? {
        PinStatus::Blocked => return Err("the signature PIN is blocked".into()),
        PinStatus::TriesLeft(n) => eprintln!("PIN: {n} tries left"),
        _ => {}
    }
    key.set_pin(PinEntry::Pin(pin));

    let mail = std::fs::read(mail)?;
    let mut field = vec![0u8; 64 * 1024];
    let mut content = vec![0u8; 64 * 1024];
    let mut splitter = MessageSplitter::new(&mut field, &mut content);
    let mut out: Vec<u8> = Vec::new();
    let (used, done) = splitter.push(&mail, &mut out)?;
    if !done {
        splitter.finish(&mut out)?;
    }
    if !splitter.info().has_mime_version {
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    }
    let mut signers = [key];
    let mut scratch = vec![0u8; 64 * 1024];
    let boundary = Boundary::random(&mut getrandom::SysRng)?;
    let mut writer =
        MultipartSignedWriter::new(out, &mut signers, &mut scratch, &SignOptions::default(), boundary)?;
    let info = splitter.info();
    splitter.write_entity_header(&mut writer, info.needs_base64_for_signing())?;
    let mut body = BodyEncoder::for_signing(&info, &mut writer);
    body.write(mail.get(used..).unwrap_or_default())?;
    body.finish()?;
    let signed = writer.finish()?;
    std::io::stdout().write_all(&signed)?;
    Ok(())
}
