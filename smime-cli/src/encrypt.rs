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
        // The core checks these too; checking here names the file.
        match cert.rsa_public_key() {
            None => {
                return Err(Error::msg(format_args!(
                    "recipient certificate {} does not hold an RSA key (only RSA key \
                     transport is supported)",
                    c.name()
                )));
            }
            Some(k) if k.bits() < policy.min_rsa_bits => {
                return Err(Error::msg(format_args!(
                    "recipient certificate {} has a {}-bit RSA key; at least {} bits are \
                     required",
                    c.name(),
                    k.bits(),
                    policy.min_rsa_bits
                )));
            }
            Some(_) => {}
        }
        if args.keyid && cert.subject_key_id().is_none() {
            return Err(Error::msg(format_args!(
                "recipient certificate {} has no subjectKeyIdentifier, which --keyid needs",
                c.name()
            )));
        }
        if policy.require_key_encipherment {
            cert.check_key_encipherment().map_err(|e| {
                Error::msg(format_args!(
                    "recipient certificate {}: {e}; use --allow-any-key-usage to \
                     encrypt to it anyway",
                    c.name()
                ))
            })?;
        }
        recipients.push(Recipient {
            cert,
            id,
            key_transport,
        });
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
