//! `smime encrypt`: content in, CMS EnvelopedData out, streamed.
//!
//! The content is read in 64 KiB chunks and pushed through the core's
//! [`EnvelopedDataEncoder`]; memory does not grow with the message. Content
//! from a file gives definite-length DER (its size is known up front); from
//! standard input, indefinite-length BER.

use std::io::Write;

use embedded_io_adapters::std::FromStd;
use getrandom::SysRng;
use smime_core::cipher::{ContentCipher, Policy};
use smime_core::cms::enveloped::{
    EncryptOptions, EnvelopedDataEncoder, KeyTransport, Recipient, RecipientIdKind,
};
use smime_core::oid;

use crate::cli::{ContentForm, EncryptArgs, MessageForm};
use crate::describe::now;
use crate::error::{Error, Result};
use crate::files::CertFile;
use crate::io::{Failure, Input, Output};
use crate::mail::{HeaderBuffers, Place, read_content, write_content};
use crate::pem::PemWriter;
use smime_core::mime::base64::Base64Encoder;
use smime_core::mime::{Discard, SmimeType, write_pkcs7_mime_header};

/// How recipients are named and keys wrapped.
#[derive(Clone, Copy, Debug, Default)]
pub struct RecipientArgs {
    /// Wrap with RSA-OAEP with this hash (else PKCS#1 v1.5).
    pub oaep: Option<smime_core::backend::HashAlgorithm>,
    /// Name recipients by subject key identifier.
    pub keyid: bool,
    /// Allow certificates whose keyUsage lacks keyEncipherment.
    pub allow_any_key_usage: bool,
}

/// The policy for `cipher` (triple-DES allowed when asked for) and the
/// matching options (definite lengths unknown: mail is streamed).
pub fn options_for(cipher: ContentCipher) -> (EncryptOptions<'static>, Policy) {
    let mut policy = Policy::DEFAULT;
    if cipher == ContentCipher::DesEde3Cbc {
        // Asked for explicitly: some partners still need it.
        policy.produce = policy.produce.with(ContentCipher::DesEde3Cbc);
    }
    let options = EncryptOptions {
        cipher,
        policy,
        content_type: oid::DATA,
        content_len: None,
    };
    (options, policy)
}

/// Checks each recipient certificate, naming the file that fails.
pub fn recipients<'c>(certs: &'c [CertFile], a: &RecipientArgs) -> Result<Vec<Recipient<'c>>> {
    let key_transport = a
        .oaep
        .map_or(KeyTransport::RsaPkcs1v15, KeyTransport::RsaOaep);
    let id = if a.keyid {
        RecipientIdKind::SubjectKeyId
    } else {
        RecipientIdKind::IssuerAndSerial
    };
    let mut policy = Policy::DEFAULT;
    policy.require_key_encipherment = !a.allow_any_key_usage;
    let mut out = Vec::with_capacity(certs.len());
    for c in certs {
        let cert = c.parse()?;
        let recipient = Recipient {
            cert,
            id,
            key_transport,
        };
        // The encoder checks every recipient too; checking each here names the file.
        recipient
            .check(&policy)
            .map_err(|e| recipient_error(c, &recipient, &policy, e))?;
        out.push(recipient);
    }
    Ok(out)
}

/// Runs `smime encrypt`.
pub fn run(args: &EncryptArgs) -> Result<()> {
    let mut certs = args
        .recipients
        .iter()
        .map(|p| CertFile::load(p))
        .collect::<Result<Vec<_>>>()?;
    if !args.to.is_empty() {
        let dir = args
            .store
            .as_deref()
            .ok_or_else(|| Error::msg("--to needs --store DIR"))?;
        let store = crate::store::Store::open(dir)?;
        for addr in &args.to {
            let der = store.select_encryption_cert(addr, now())?;
            if let Some(w) = store.expiry_warning(addr, &der, now()) {
                eprintln!("smime: warning: {w}");
            }
            certs.push(CertFile {
                path: dir.join(addr),
                der,
            });
        }
    }
    let oaep = match (args.oaep, args.oaep_hash) {
        (false, None) => None,
        (_, h) => Some(h.map_or(smime_core::backend::HashAlgorithm::Sha256, Into::into)),
    };
    let rargs = RecipientArgs {
        oaep,
        keyid: args.keyid,
        allow_any_key_usage: args.allow_any_key_usage,
    };
    let recipients = recipients(&certs, &rargs)?;

    let cipher: ContentCipher = match args.cipher {
        Some(c) => c.into(),
        None => {
            // What each recipient announced: nothing is known of those
            // given as certificate files.
            let mut caps: Vec<Vec<u8>> = vec![Vec::new(); args.recipients.len()];
            if let Some(dir) = &args.store {
                let store = crate::store::Store::open(dir)?;
                for addr in &args.to {
                    caps.push(store.capabilities(addr)?.unwrap_or_default());
                }
            }
            let caps: Vec<&[u8]> = caps.iter().map(Vec::as_slice).collect();
            smime_core::cms::capabilities::choose_cipher(&caps, ContentCipher::Aes256Cbc)
        }
    };
    let (mut options, mut policy) = options_for(cipher);
    policy.require_key_encipherment = !args.allow_any_key_usage;
    options.policy = policy;
    let mut input = Input::open(args.input.as_deref())?.with_progress("encrypting");
    let mail = args.inform == ContentForm::Smime;
    if !mail {
        options.content_len = input.known_len()?;
    }

    let mut out = Output::open(args.output.as_deref())?;
    let result = match args.outform {
        MessageForm::Der => {
            encrypt_to(&mut out, &recipients, &options, mail, &mut input).map(|_| ())
        }
        MessageForm::Pem => encrypt_to(
            PemWriter::new(&mut out, "CMS"),
            &recipients,
            &options,
            mail,
            &mut input,
        )
        .and_then(|pem| {
            pem.finish()
                .map(|_| ())
                .map_err(|e| Failure::Tool(e.into()))
        }),
        MessageForm::Smime => encrypt_mail(&mut out, &recipients, &options, mail, &mut input),
    };
    result.map_err(|f| out.failure(f))?;
    out.commit()?;
    if args.verbose {
        eprintln!(
            "smime: encrypted {} with {cipher} to {} recipient(s)",
            input.name(),
            recipients.len()
        );
    }
    Ok(())
}

/// Says why the core refused a recipient certificate, naming the file.
fn recipient_error(
    file: &CertFile,
    r: &Recipient<'_>,
    policy: &Policy,
    e: smime_core::Error,
) -> Error {
    use smime_core::ErrorKind;
    use smime_core::error::{AlgorithmName, KeyUsageError};
    let name = file.name();
    match e.kind() {
        ErrorKind::KeyUsage(KeyUsageError::WrongKeyType) => Error::msg(format_args!(
            "recipient certificate {name} holds neither an RSA key (key transport) nor a \
             P-256, P-384 or X25519 key (ECDH)"
        )),
        ErrorKind::AlgorithmNotAllowed(AlgorithmName::RsaKeySize) => {
            let bits = r.cert.rsa_public_key().map_or(0, |k| k.bits());
            Error::msg(format_args!(
                "recipient certificate {name} has a {bits}-bit RSA key; at least {} bits \
                 are required",
                policy.min_rsa_bits
            ))
        }
        ErrorKind::NoSubjectKeyId => Error::msg(format_args!(
            "recipient certificate {name} has no subjectKeyIdentifier, which --keyid needs"
        )),
        ErrorKind::KeyUsage(_) => Error::msg(format_args!(
            "recipient certificate {name}: {e}; use --allow-any-key-usage to encrypt to it \
             anyway"
        )),
        _ => Error::msg(format_args!("recipient certificate {name}: {e}")),
    }
}

/// Encrypts everything `input` yields into `sink` (CMS); returns the sink.
fn encrypt_to<W: Write>(
    sink: W,
    recipients: &[Recipient<'_>],
    options: &EncryptOptions<'_>,
    mail: bool,
    input: &mut Input,
) -> Result<W, Failure> {
    let mut bufs = HeaderBuffers::new();
    // A mail's outer fields have no place in a bare CMS message.
    let content = read_content(mail, &mut bufs, input, &mut Discard)?;
    let enc = EnvelopedDataEncoder::<_>::new(FromStd::new(sink), recipients, options, &mut SysRng)?;
    let place = if mail { Place::Cms } else { Place::Raw };
    let enc = write_content(content, input, enc, place)?;
    Ok(enc.finish()?.into_inner())
}

/// The smime-type of a message encrypted with `cipher`: AEAD ciphers make
/// AuthEnvelopedData.
pub fn smime_type_for(cipher: ContentCipher) -> SmimeType {
    if cipher.is_aead() {
        SmimeType::AuthEnvelopedData
    } else {
        SmimeType::EnvelopedData
    }
}

/// Encrypts the input mail into an `application/pkcs7-mime` mail message.
fn encrypt_mail<W: Write>(
    sink: W,
    recipients: &[Recipient<'_>],
    options: &EncryptOptions<'_>,
    mail: bool,
    input: &mut Input,
) -> Result<(), Failure> {
    let mut bufs = HeaderBuffers::new();
    let mut o = FromStd::new(sink);
    let content = read_content(mail, &mut bufs, input, &mut o)?;
    if !content.has_mime_version() {
        embedded_io::Write::write_all(&mut o, b"MIME-Version: 1.0\r\n")
            .map_err(|e| Failure::Tool(Error::msg(format_args!("writing the output: {e}"))))?;
    }
    write_pkcs7_mime_header(&mut o, smime_type_for(options.cipher))?;
    let env =
        EnvelopedDataEncoder::<_>::new(Base64Encoder::new(o), recipients, options, &mut SysRng)?;
    write_content(content, input, env, Place::Cms)?
        .finish()?
        .finish()?;
    Ok(())
}
