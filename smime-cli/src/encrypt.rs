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

use crate::cli::{EncryptArgs, MessageForm};
use crate::error::{Error, Result};
use crate::files::CertFile;
use crate::io::{Failure, Input, Output};
use crate::pem::PemWriter;

/// Runs `smime encrypt`.
pub fn run(args: &EncryptArgs) -> Result<()> {
    let certs = args
        .recipients
        .iter()
        .map(|p| CertFile::load(p))
        .collect::<Result<Vec<_>>>()?;

    let key_transport = match (args.oaep, args.oaep_hash) {
        (false, None) => KeyTransport::RsaPkcs1v15,
        (_, h) => {
            KeyTransport::RsaOaep(h.map_or(smime_core::backend::HashAlgorithm::Sha256, Into::into))
        }
    };
    let id = if args.keyid {
        RecipientIdKind::SubjectKeyId
    } else {
        RecipientIdKind::IssuerAndSerial
    };

    let cipher: ContentCipher = args.cipher.into();
    let mut policy = Policy::DEFAULT;
    if cipher == ContentCipher::DesEde3Cbc {
        // Asked for explicitly: some partners still need it.
        policy.produce = policy.produce.with(ContentCipher::DesEde3Cbc);
    }
    policy.require_key_encipherment = !args.allow_any_key_usage;

    let mut recipients = Vec::with_capacity(certs.len());
    for c in &certs {
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
        recipients.push(recipient);
    }
    let mut input = Input::open(args.input.as_deref())?;
    let options = EncryptOptions {
        cipher,
        policy,
        content_type: oid::DATA,
        content_len: input.known_len()?,
    };

    let mut out = Output::open(args.output.as_deref())?;
    let result = match args.outform {
        MessageForm::Der => encrypt_to(&mut out, &recipients, &options, &mut input).map(|_| ()),
        MessageForm::Pem => encrypt_to(
            PemWriter::new(&mut out, "CMS"),
            &recipients,
            &options,
            &mut input,
        )
        .and_then(|pem| {
            pem.finish()
                .map(|_| ())
                .map_err(|e| Failure::Tool(e.into()))
        }),
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
            "recipient certificate {name} does not hold an RSA key (only RSA key \
             transport is supported)"
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

/// Encrypts everything `input` yields into `sink`; returns the sink.
fn encrypt_to<W: Write>(
    sink: W,
    recipients: &[Recipient<'_>],
    options: &EncryptOptions<'_>,
    input: &mut Input,
) -> Result<W, Failure> {
    let mut rng = SysRng;
    let mut enc =
        EnvelopedDataEncoder::<_>::new(FromStd::new(sink), recipients, options, &mut rng)?;
    input.for_each_chunk(|chunk| enc.write(chunk).map_err(Failure::Core))?;
    Ok(enc.finish()?.into_inner())
}
