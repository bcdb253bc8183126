//! `smime decrypt`: CMS EnvelopedData in (DER/BER or PEM), content out,
//! streamed.
//!
//! Keys: every `--key` is offered to the core's decoder. Each `--cert` is
//! attached to the key whose public key it matches, so that the decoder picks
//! the recipient info that names it; a key without a certificate is tried on
//! every key-transport recipient info (trial decryption). A key with several
//! certificates (renewed with the same key) is offered once per certificate.
//!
//! The decoder writes content as it decrypts; it is valid only once the whole
//! message was checked, so output to a file goes through a temporary file that
//! is renamed only then (see [`crate::io`]).

use embedded_io_adapters::std::FromStd;
use getrandom::SysRng;
use smime_core::ErrorKind;
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, DecryptReport, EnvelopedDataDecoder,
};
use std::path::{Path, PathBuf};

use crate::keys::AnyKey;

use crate::cli::{DecryptArgs, MessageForm};
use crate::error::{Error, Result};
use crate::files::{CertFile, KeyFile};
use crate::io::{Failure, Input, Output};
use crate::mail::{self, Buffers, Layer, MAX_ENVELOPES, Peel, read_first};
use crate::pem::PemDecoder;
use smime_core::mime::EntityKind;
use std::cell::RefCell;
use std::io::IsTerminal as _;

/// The keys offered to the decoder, with a description of each for reports.
#[derive(Debug)]
pub struct KeyRing {
    /// The keys, in the order of `--key` (each once per certificate); token
    /// keys after the key files.
    pub keys: Vec<AnyKey>,
    /// What each key is, for messages: `key 'k.pem' (certificate 'c.pem')`.
    pub labels: Vec<String>,
}

impl KeyRing {
    /// Loads the key and certificate files and pairs them, and opens the
    /// token keys (`pkcs11:` URIs; their certificates come from the token).
    pub fn load(
        key_files: &[KeyFile],
        certs: &[CertFile],
        token_keys: &[&Path],
        agreement_keys: &[KeyFile],
    ) -> Result<Self> {
        // EC and X25519 keys first: they take the certificates they match.
        let (agree, taken) = load_agreement_keys(agreement_keys, certs)?;
        // Which key each certificate belongs to.
        let mut owner = Vec::with_capacity(certs.len());
        for (ci, c) in certs.iter().enumerate() {
            if taken.contains(&ci) {
                owner.push(usize::MAX);
                continue;
            }
            let mut found = None;
            for (i, k) in key_files.iter().enumerate() {
                if k.key()?.with_certificate(&c.der).is_ok() {
                    found = Some(i);
                    break;
                }
            }
            let Some(i) = found else {
                if token_keys.is_empty() {
                    return Err(Error::msg(format_args!(
                        "certificate {} does not match any of the given keys",
                        c.name()
                    )));
                }
                // Perhaps a token key's: those bring their own certificate.
                owner.push(usize::MAX);
                continue;
            };
            owner.push(i);
        }
        let mut keys = Vec::new();
        let mut labels = Vec::new();
        for (i, k) in key_files.iter().enumerate() {
            let mut has_cert = false;
            for (c, _) in certs.iter().zip(&owner).filter(|&(_, &o)| o == i) {
                let key = k.key()?.with_certificate(&c.der).map_err(|e| {
                    Error::msg(format_args!(
                        "key {} with certificate {}: {e}",
                        k.name(),
                        c.name()
                    ))
                })?;
                keys.push(AnyKey::Soft(key));
                labels.push(format!("key {} (certificate {})", k.name(), c.name()));
                has_cert = true;
            }
            if !has_cert {
                keys.push(AnyKey::Soft(k.key()?));
                labels.push(format!(
                    "key {} (no certificate: trial decryption)",
                    k.name()
                ));
            }
        }
        for (key, label) in agree {
            keys.push(key);
            labels.push(label);
        }
        for uri in token_keys {
            if crate::card::is_card_key(uri) {
                // One card key (and one PIN entry) for the whole command,
                // shared by every envelope level.
                let card = crate::card::open_shared(uri)?;
                let label = format!(
                    "the decryption key on the card in reader {:?}",
                    card.reader()
                );
                keys.push(AnyKey::Card(card));
                labels.push(label);
                continue;
            }
            // A URI naming only a token: each of its keys with a certificate.
            for key in crate::keys::open_token_keys(uri)? {
                labels.push(format!(
                    "key '{}' on token '{}'{}",
                    key.label(),
                    key.token_label(),
                    if key.certificate().is_some() {
                        ""
                    } else {
                        " (no certificate: trial decryption)"
                    }
                ));
                keys.push(AnyKey::Token(key));
            }
        }
        Ok(Self { keys, labels })
    }
}

/// A key and what it is, for messages.
type LabelledKey = (AnyKey, String);

/// Opens EC (P-256, P-384) and X25519 key files (PKCS#8) for ECDH
/// recipients, each with the certificate among `certs` that it matches;
/// returns the keys with their labels and the indexes of the certificates
/// taken. The certificates are kept for the rest of the run (public data).
fn load_agreement_keys(
    files: &[KeyFile],
    certs: &[CertFile],
) -> Result<(Vec<LabelledKey>, Vec<usize>)> {
    use smime_core::soft_ec::{SoftEcKey, SoftX25519Key};
    let mut keys = Vec::new();
    let mut taken = Vec::new();
    for k in files {
        let mut der = k.pkcs8_der()?;
        let is_ec = SoftEcKey::from_pkcs8_der(&der).is_ok();
        let mut found = None;
        for (ci, c) in certs.iter().enumerate() {
            let fits = if is_ec {
                SoftEcKey::from_pkcs8_der(&der)
                    .and_then(|x| x.with_certificate(&c.der))
                    .is_ok()
            } else {
                SoftX25519Key::from_pkcs8_der(&der)
                    .and_then(|x| x.with_certificate(&c.der))
                    .is_ok()
            };
            if fits {
                found = Some(ci);
                break;
            }
        }
        let cert: Option<&'static [u8]> = found
            .and_then(|ci| certs.get(ci))
            .map(|c| &*Box::leak(c.der.clone().into_boxed_slice()));
        let key = if is_ec {
            let key = SoftEcKey::from_pkcs8_der(&der);
            let key = match cert {
                Some(c) => key.and_then(|x| x.with_certificate(c)),
                None => key,
            };
            key.map(AnyKey::Ec)
        } else {
            let key = SoftX25519Key::from_pkcs8_der(&der);
            let key = match cert {
                Some(c) => key.and_then(|x| x.with_certificate(c)),
                None => key,
            };
            key.map(AnyKey::X25519)
        };
        der.iter_mut().for_each(|b| *b = 0);
        let key = key.map_err(|e| {
            Error::msg(format_args!(
                "key {}: {e}: not an RSA, EC (P-256, P-384) or X25519 private key",
                k.name()
            ))
        })?;
        let label = match found.and_then(|ci| certs.get(ci)) {
            Some(c) => format!("key {} (certificate {})", k.name(), c.name()),
            None => format!(
                "key {} (no certificate: tried on every ECDH recipient)",
                k.name()
            ),
        };
        if let Some(ci) = found {
            taken.push(ci);
        }
        keys.push((key, label));
    }
    Ok((keys, taken))
}

/// Runs `smime decrypt`.
pub fn run(args: &DecryptArgs) -> Result<()> {
    let token_keys: Vec<&Path> = args
        .keys
        .iter()
        .map(PathBuf::as_path)
        .filter(|p| crate::keys::is_device_key(p))
        .collect();
    // RSA key files, and the others (EC, X25519: key agreement).
    let mut key_files = Vec::new();
    let mut agreement_files = Vec::new();
    let mut dir_certs = Vec::new();
    let mut password = None;
    for dir in args
        .keys
        .iter()
        .filter(|p| !crate::keys::is_device_key(p) && p.is_dir())
    {
        // A key directory (`smime keys import --to-dir`): every key in it,
        // each with its certificate.
        let (keys, certs) =
            crate::p12::load_key_dir(dir, args.password_source.as_deref(), &mut password)?;
        for k in keys {
            if k.key().is_ok() {
                key_files.push(k);
            } else {
                agreement_files.push(k);
            }
        }
        dir_certs.extend(certs);
    }
    drop(password);
    for p in args
        .keys
        .iter()
        .filter(|p| !crate::keys::is_device_key(p) && !p.is_dir())
    {
        match KeyFile::read(p) {
            Ok(k) => key_files.push(k),
            Err(rsa_error) => {
                let k = KeyFile::read_any(p)?;
                let mut der = k.pkcs8_der().map_err(|_| rsa_error.clone())?;
                let agreement = smime_core::soft_ec::SoftEcKey::from_pkcs8_der(&der).is_ok()
                    || smime_core::soft_ec::SoftX25519Key::from_pkcs8_der(&der).is_ok();
                der.iter_mut().for_each(|b| *b = 0);
                if !agreement {
                    return Err(rsa_error);
                }
                agreement_files.push(k);
            }
        }
    }
    let mut certs = args
        .certs
        .iter()
        .map(|p| CertFile::load(p))
        .collect::<Result<Vec<_>>>()?;
    certs.extend(dir_certs);
    let mut ring = KeyRing::load(&key_files, &certs, &token_keys, &agreement_files)?;

    let mut input = Input::open(args.input.as_deref())?.with_progress("decrypting");
    let first = read_first(&mut input)?;
    let form = args.inform.unwrap_or_else(|| detect(&first));
    if form == MessageForm::Smime {
        let mut rings = vec![ring];
        for _ in 1..MAX_ENVELOPES {
            rings.push(KeyRing::load(
                &key_files,
                &certs,
                &token_keys,
                &agreement_files,
            )?);
        }
        drop(key_files);
        return decrypt_mail(args, &first, &mut input, &mut rings);
    }
    drop(key_files);
    let mut out = Output::open(args.output.as_deref())?;
    let report = decrypt_to(&mut out, &mut ring.keys, form, &first, &mut input)
        .map_err(explain)
        .map_err(|f| out.failure(f))?;
    out.commit()?;
    if args.verbose {
        let label = ring
            .labels
            .get(report.key_index)
            .map_or("?", String::as_str);
        eprintln!(
            "smime: decrypted {} with {label}: {}, {} recipient info(s)",
            input.name(),
            report.cipher,
            report.recipient_count
        );
    }
    Ok(())
}

/// Decrypts a mail message: every encryption layer is taken off; the
/// message (its outer header fields and the decrypted entity) is written.
fn decrypt_mail(
    args: &DecryptArgs,
    first: &[u8],
    input: &mut Input,
    rings: &mut [KeyRing],
) -> Result<()> {
    let out = RefCell::new(Output::open(args.output.as_deref())?);
    let mut buffers = Buffers::new();
    let opened = mail::open(
        Peel::Encryption,
        first,
        input,
        &out,
        &mut buffers,
        rings,
        &[],
    );
    let mut notes = Vec::new();
    let result = opened.map(|o| {
        for layer in &o.layers {
            match layer {
                Layer::Decrypted { report, key } if args.verbose => {
                    notes.push(format!(
                        "smime: decrypted {} with {key}: {}, {} recipient info(s)",
                        input.name(),
                        report.cipher,
                        report.recipient_count
                    ));
                }
                Layer::Content(kind)
                    if *kind != EntityKind::Plain
                        && (args.verbose || std::io::stderr().is_terminal()) =>
                {
                    notes.push(
                        "smime: the decrypted message is signed: check it with `smime verify`"
                            .to_owned(),
                    );
                }
                _ => {}
            }
        }
    });
    let mut out = out.into_inner();
    result.map_err(explain).map_err(|f| out.failure(f))?;
    out.commit()?;
    for n in notes {
        eprintln!("{n}");
    }
    Ok(())
}

/// Says what a format error of the core means for the person reading it.
fn explain(f: Failure) -> Failure {
    let Failure::Core(e) = f else { return f };
    if let ErrorKind::Backend(_) = e.kind()
        && let Some(m) = crate::keys::last_token_error()
    {
        if m.starts_with("card ") {
            return Failure::Tool(Error::msg(m));
        }
        return Failure::Tool(Error::msg(format_args!("PKCS#11: {m}")));
    }
    let what = match e.kind() {
        ErrorKind::Truncated => "truncated message",
        ErrorKind::Mime(_) => "malformed S/MIME message",
        ErrorKind::UnexpectedContentType => "not an EnvelopedData (encrypted) message",
        ErrorKind::TrailingData
        | ErrorKind::UnexpectedTag { .. }
        | ErrorKind::InvalidEncoding
        | ErrorKind::LengthOverflow
        | ErrorKind::DepthExceeded { .. }
        | ErrorKind::InvalidValue => "not a valid CMS message",
        _ => return Failure::Core(e),
    };
    Failure::Tool(Error::msg(format_args!("{what}: {e}")))
}

/// Feeds the whole input to a decoder writing into `out`.
fn decrypt_to(
    out: &mut Output,
    keys: &mut [AnyKey],
    form: MessageForm,
    first: &[u8],
    input: &mut Input,
) -> Result<DecryptReport, Failure> {
    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
    let mut dec = EnvelopedDataDecoder::<_, _, _>::new(
        FromStd::new(out),
        keys,
        SysRng,
        &mut scratch,
        DecryptOptions::default(),
    );
    if first.is_empty() {
        return Err(Failure::Tool(Error::msg("the input is empty")));
    }
    let mut pem = PemDecoder::new();
    let mut feed = |chunk: &[u8]| -> Result<(), Failure> {
        match form {
            MessageForm::Pem => pem.feed(chunk, |bytes: &[u8]| {
                dec.write(bytes).map_err(Failure::Core)
            }),
            _ => dec.write(chunk).map_err(Failure::Core),
        }
    };
    feed(first)?;
    input.for_each_chunk(&mut feed)?;
    if form == MessageForm::Pem {
        pem.finish()?;
    }
    let (_, report) = dec.finish()?;
    Ok(report)
}

/// DER if the message starts with a SEQUENCE tag, PEM if it starts with
/// `-` or white space, else a mail message.
pub(crate) fn detect(first: &[u8]) -> MessageForm {
    match first.first() {
        Some(0x30) => MessageForm::Der,
        Some(b) if *b == b'-' || b.is_ascii_whitespace() => MessageForm::Pem,
        None => MessageForm::Der,
        _ => MessageForm::Smime,
    }
}
