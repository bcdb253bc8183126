//! `smime sign`: content in, CMS SignedData out (attached or detached),
//! streamed.
//!
//! The content is read in 64 KiB chunks and pushed through the core's
//! `SignedDataEncoder`; the message goes to the output through a temporary
//! file renamed on success (see [`crate::io`]). Signed attributes: content
//! type, message digest, signing time (now, from the system clock) and
//! S/MIME capabilities, unless `--no-attributes`.
//!
//! Keys: RSA (PKCS#1 v1.5 or `--pss`), ECDSA on P-256 or P-384, Ed25519;
//! the key type is taken from the signer certificate.

use std::io::Write;

use embedded_io::Write as _;
use embedded_io_adapters::std::FromStd;
use getrandom::SysRng;
use smime_core::backend::{HashAlgorithm, Signer};
use smime_core::cipher::ContentCipher;
use smime_core::cms::enveloped::{EnvelopedDataEncoder, Recipient};
use smime_core::cms::sign::{DEFAULT_SCRATCH_LEN, SignOptions, SignedDataEncoder, SignerIdKind};
use smime_core::mime::base64::Base64Encoder;
use smime_core::mime::{
    Boundary, Discard, MultipartSignedWriter, SmimeType, write_pkcs7_mime_header,
};
use smime_core::oid;
use smime_core::pubkey::SignatureAlgorithm;
use smime_core::soft::SoftRsaKey;
use smime_core::soft_ec::{SoftEcKey, SoftEd25519Key};
use smime_core::x509::CertificateRef;

use crate::cli::{ContentForm, MessageForm, SignArgs};
use crate::describe::now;
use crate::error::{Error, Result};
use crate::files::{CertFile, KeyFile, load_cert_bundle};
use crate::io::{Failure, Input, Output};
use crate::mail::{self, HeaderBuffers, Place, read_content, write_content};
use crate::pem::PemWriter;

/// Runs `smime sign`.
pub fn run(args: &SignArgs) -> Result<()> {
    // A key on a token brings its certificate (or is given one with --cert).
    let mut token = None;
    let mut card = None;
    let cert = if crate::card::is_card_key(&args.key) {
        // A card key brings its certificate from the card.
        let key = crate::card::open(&args.key, smime_pcsc::card::KeyRole::Signature)?;
        let der = match &args.cert {
            Some(p) => {
                let file = CertFile::load(p)?;
                if file.der != key.certificate_der() {
                    return Err(Error::msg(format_args!(
                        "certificate {} is not the one on the card in reader {:?}",
                        file.name(),
                        key.reader()
                    )));
                }
                file.der
            }
            None => key.certificate_der().to_vec(),
        };
        card = Some(key);
        CertFile {
            path: args.key.clone(),
            der,
        }
    } else if crate::keys::is_token_key(&args.key) {
        let key = crate::keys::open_token_key(&args.key)?;
        let key = match &args.cert {
            Some(p) => {
                let file = CertFile::load(p)?;
                key.with_certificate(file.der.clone())
                    .map_err(|e| Error::msg(format_args!("certificate {}: {e}", file.name())))?
            }
            None => key,
        };
        let der = key.certificate().map(<[u8]>::to_vec).ok_or_else(|| {
            Error::msg(format_args!(
                "token '{}' holds no certificate for key '{}': give it with --cert",
                key.token_label(),
                key.label()
            ))
        })?;
        let file = CertFile {
            path: args.key.clone(),
            der,
        };
        token = Some(key);
        file
    } else {
        let path = args
            .cert
            .as_deref()
            .ok_or_else(|| Error::msg("--cert CERT is needed with a key file"))?;
        CertFile::load(path)?
    };
    let signer_cert = cert.parse()?;
    let kind = match signer_cert.public_key_algorithm() {
        oid::RSA_ENCRYPTION => KeyKind::Rsa,
        oid::EC_PUBLIC_KEY => KeyKind::Ec,
        oid::ED25519 => KeyKind::Ed25519,
        _ => {
            return Err(Error::msg(format_args!(
                "certificate {} holds a key type that cannot sign here (RSA, EC P-256/P-384 \
                 and Ed25519 can)",
                cert.name()
            )));
        }
    };
    if args.pss && kind != KeyKind::Rsa {
        return Err(Error::msg("--pss is for RSA keys only"));
    }
    if args.no_attributes && kind == KeyKind::Ed25519 {
        return Err(Error::msg(
            "Ed25519 signs only with signed attributes: leave out --no-attributes",
        ));
    }
    let mut chain = Vec::new();
    for p in &args.chain {
        chain.extend(load_cert_bundle(p)?);
    }
    signer_cert.check_signature_usage().map_err(|e| {
        Error::msg(format_args!(
            "certificate {} may not be used for signing: {e}",
            cert.name()
        ))
    })?;
    if args.keyid && signer_cert.subject_key_id().is_none() {
        return Err(Error::msg(format_args!(
            "certificate {} has no subjectKeyIdentifier, which --keyid needs",
            cert.name()
        )));
    }

    // The encoder includes the signer's own certificate itself.
    let mut certs: Vec<CertificateRef<'_>> = Vec::new();
    for c in &chain {
        let c = c.parse()?;
        if c.der() != signer_cert.der() && !certs.iter().any(|k| k.der() == c.der()) {
            certs.push(c);
        }
    }
    let attrs = !args.no_attributes;
    let options = SignOptions {
        detached: args.detached,
        content_type: oid::DATA,
        signing_time: attrs.then(now),
        certificates: &certs,
        signer_id: if args.keyid {
            SignerIdKind::SubjectKeyId
        } else {
            SignerIdKind::IssuerAndSerial
        },
        signed_attributes: attrs,
        smime_capabilities: attrs,
        ..SignOptions::default()
    };

    let hash: HashAlgorithm = args.digest.into();
    if let Some(mut key) = card {
        if args.pss {
            return Err(Error::msg(
                "--pss: signature cards pad RSA signatures with PKCS#1 v1.5 themselves",
            ));
        }
        key.set_hash(hash);
        let r = emit(args, &mut [key], &options);
        return r.map_err(|e| match crate::keys::last_token_error() {
            Some(m) => Error::msg(m),
            None => e,
        });
    }
    if let Some(key) = token {
        let algorithm = match kind {
            KeyKind::Rsa if args.pss => SignatureAlgorithm::RsaPss {
                hash,
                mgf_hash: hash,
                salt_len: u32::try_from(hash.output_len()).unwrap_or(32),
            },
            KeyKind::Rsa => SignatureAlgorithm::RsaPkcs1v15(hash),
            KeyKind::Ec => SignatureAlgorithm::Ecdsa(hash),
            KeyKind::Ed25519 => SignatureAlgorithm::Ed25519,
        };
        let key = key
            .with_signature_algorithm(algorithm)
            .map_err(|e| Error::msg(format_args!("PKCS#11: {e}")))?;
        let r = emit(args, &mut [crate::keys::TokenSigner(key)], &options);
        return r.map_err(|e| match crate::keys::last_token_error() {
            Some(m) => Error::msg(format_args!("PKCS#11: {m}")),
            None => e,
        });
    }
    let mismatch = |key: &KeyFile, e: smime_core::Error| {
        Error::msg(format_args!(
            "key {} does not belong to certificate {}: {e}",
            key.name(),
            cert.name()
        ))
    };
    match kind {
        KeyKind::Rsa => {
            let algorithm = if args.pss {
                SignatureAlgorithm::RsaPss {
                    hash,
                    mgf_hash: hash,
                    salt_len: u32::try_from(hash.output_len()).unwrap_or(32),
                }
            } else {
                SignatureAlgorithm::RsaPkcs1v15(hash)
            };
            let key_file = KeyFile::read(&args.key)?;
            let key: SoftRsaKey = key_file
                .key()?
                .with_certificate(&cert.der)
                .map_err(|e| mismatch(&key_file, e))?
                .with_signature_algorithm(algorithm)
                .map_err(|e| Error::msg(format_args!("key {}: {e}", key_file.name())))?;
            drop(key_file);
            emit(args, &mut [key], &options)?;
        }
        KeyKind::Ec => {
            let key_file = KeyFile::read_any(&args.key)?;
            let mut der = key_file.pkcs8_der()?;
            let key = SoftEcKey::from_pkcs8_der(&der);
            der.iter_mut().for_each(|b| *b = 0);
            let key = key
                .map_err(|e| {
                    Error::msg(format_args!(
                        "key {}: {e}: certificate {} needs a PKCS#8 P-256 or P-384 key",
                        key_file.name(),
                        cert.name()
                    ))
                })?
                .with_hash(hash)
                .map_err(|e| Error::msg(format_args!("key {}: {e}", key_file.name())))?
                .with_certificate(&cert.der)
                .map_err(|e| mismatch(&key_file, e))?;
            emit(args, &mut [key], &options)?;
        }
        KeyKind::Ed25519 => {
            let key_file = KeyFile::read_any(&args.key)?;
            let mut der = key_file.pkcs8_der()?;
            let key = SoftEd25519Key::from_pkcs8_der(&der);
            der.iter_mut().for_each(|b| *b = 0);
            let key = key
                .map_err(|e| {
                    Error::msg(format_args!(
                        "key {}: {e}: certificate {} needs a PKCS#8 Ed25519 key",
                        key_file.name(),
                        cert.name()
                    ))
                })?
                .with_certificate(&cert.der)
                .map_err(|e| mismatch(&key_file, e))?;
            emit(args, &mut [key], &options)?;
        }
    }
    if args.verbose {
        eprintln!(
            "smime: signed {} ({}) as {}",
            args.input.as_deref().map_or_else(
                || "standard input".to_owned(),
                |p| format!("'{}'", p.display())
            ),
            if args.detached {
                "detached"
            } else {
                "attached"
            },
            signer_cert.subject()
        );
    }
    Ok(())
}

/// The signer's key type, from its certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    Ec,
    Ed25519,
}

/// Signs the input to the output in the form asked for.
fn emit<S: Signer>(args: &SignArgs, signers: &mut [S], options: &SignOptions<'_>) -> Result<()> {
    let certs = args
        .encrypt_to
        .iter()
        .map(|p| CertFile::load(p))
        .collect::<Result<Vec<_>>>()?;
    let recipients = crate::encrypt::recipients(&certs, &crate::encrypt::RecipientArgs::default())?;
    if !recipients.is_empty() && args.outform != MessageForm::Smime {
        return Err(Error::msg(
            "--encrypt-to makes a mail message: leave out --outform (or give --outform smime)",
        ));
    }
    let mut input = Input::open(args.input.as_deref())?.with_progress("signing");
    let mut out = Output::open(args.output.as_deref())?;
    let mail = args.inform == ContentForm::Smime;
    let result = match args.outform {
        MessageForm::Der => sign_to(&mut out, signers, options, mail, &mut input).map(|_| ()),
        MessageForm::Pem => sign_to(
            PemWriter::new(&mut out, "CMS"),
            signers,
            options,
            mail,
            &mut input,
        )
        .and_then(|pem| {
            pem.finish()
                .map(|_| ())
                .map_err(|e| Failure::Tool(e.into()))
        }),
        MessageForm::Smime => {
            let cipher = args.cipher.into();
            sign_mail(
                &mut out,
                signers,
                options,
                args,
                &recipients,
                cipher,
                &mut input,
            )
        }
    };
    result.map_err(|f| out.failure(f))?;
    out.commit()
}

/// The scratch buffer for signing: the certificates, with room for the
/// signed attributes and the signature.
fn scratch_for<S: Signer>(signers: &[S], options: &SignOptions<'_>) -> Vec<u8> {
    let certs: usize = options.certificates.iter().map(|c| c.der().len()).sum();
    let own: usize = signers
        .iter()
        .filter_map(|s| Signer::certificate(s).map(<[u8]>::len))
        .sum();
    vec![0u8; DEFAULT_SCRATCH_LEN.max(32 * 1024) + certs + own]
}

/// Signs everything `input` yields into `sink` (CMS, DER); returns the sink.
fn sign_to<W: Write, S: Signer>(
    sink: W,
    signers: &mut [S],
    options: &SignOptions<'_>,
    mail: bool,
    input: &mut Input,
) -> Result<W, Failure> {
    let mut scratch = scratch_for(signers, options);
    let mut bufs = HeaderBuffers::new();
    // A mail's outer fields have no place in a bare CMS message.
    let content = read_content(mail, &mut bufs, input, &mut Discard)?;
    let enc = SignedDataEncoder::<_, _>::new(FromStd::new(sink), signers, &mut scratch, options)?;
    let place = if mail { Place::Cms } else { Place::Raw };
    let enc = write_content(content, input, enc, place)?;
    Ok(enc.finish()?.into_inner())
}

/// Signs the input mail (clear-signed or opaque), and encrypts the result
/// when there are recipients; writes an S/MIME mail message.
fn sign_mail<W: Write + Send, S: Signer>(
    sink: W,
    signers: &mut [S],
    options: &SignOptions<'_>,
    args: &SignArgs,
    recipients: &[Recipient<'_>],
    cipher: ContentCipher,
    input: &mut Input,
) -> Result<(), Failure> {
    let mut scratch = scratch_for(signers, options);
    let mut bufs = HeaderBuffers::new();
    let mut o = FromStd::new(sink);
    let content = read_content(args.inform == ContentForm::Smime, &mut bufs, input, &mut o)?;
    if !content.has_mime_version() {
        o.write_all(b"MIME-Version: 1.0\r\n").map_err(io_failure)?;
    }
    let boundary = Boundary::random(&mut SysRng)?;
    let attached = SignOptions {
        detached: false,
        ..*options
    };
    if recipients.is_empty() {
        if args.opaque {
            write_pkcs7_mime_header(&mut o, SmimeType::SignedData)?;
            let enc = SignedDataEncoder::<_, _>::new(
                Base64Encoder::new(o),
                signers,
                &mut scratch,
                &attached,
            )?;
            write_content(content, input, enc, Place::Cms)?
                .finish()?
                .finish()?;
        } else {
            let msw = MultipartSignedWriter::new(o, signers, &mut scratch, options, boundary)?;
            write_content(content, input, msw, Place::ClearSigned)?.finish()?;
        }
        return Ok(());
    }
    let (eopts, _) = crate::encrypt::options_for(cipher);
    write_pkcs7_mime_header(&mut o, crate::encrypt::smime_type_for(cipher))?;
    // Three threads, a bounded channel between each two (memory stays
    // constant): this one reads, hashes and writes the signed entity; the
    // next encrypts it; the last base64-encodes and writes the result.
    let (cipher_out, cipher_in) = mail::channel();
    let env = EnvelopedDataEncoder::<_>::new(cipher_out, recipients, &eopts, &mut SysRng)?;
    std::thread::scope(|scope| {
        let (sink, chunks) = mail::channel();
        let writer = scope.spawn(move || -> Result<(), Failure> {
            let mut b64 = Base64Encoder::new(o);
            cipher_in.drain_into(&mut b64)?;
            b64.finish()?;
            Ok(())
        });
        let encryptor = scope.spawn(move || -> Result<(), Failure> {
            let mut env = env;
            chunks.drain_into(&mut env)?;
            env.finish()?.end()?;
            Ok(())
        });
        let produced = (|| -> Result<(), Failure> {
            let sink = if args.opaque {
                let mut sink = sink;
                write_pkcs7_mime_header(&mut sink, SmimeType::SignedData)?;
                let enc = SignedDataEncoder::<_, _>::new(
                    Base64Encoder::new(sink),
                    signers,
                    &mut scratch,
                    &attached,
                )?;
                write_content(content, input, enc, Place::Cms)?
                    .finish()?
                    .finish()?
            } else {
                let msw =
                    MultipartSignedWriter::new(sink, signers, &mut scratch, options, boundary)?;
                write_content(content, input, msw, Place::ClearSigned)?.finish()?
            };
            sink.end()?;
            Ok(())
        })();
        let thread_failed = |_| Err(Failure::Tool(Error::msg("a worker thread failed")));
        let encrypted = encryptor.join().unwrap_or_else(thread_failed);
        let written = writer.join().unwrap_or_else(thread_failed);
        // A later stage's error (an output error) explains an earlier
        // stage's failure to hand it data; otherwise the earliest comes first.
        match (produced, encrypted, written) {
            (Ok(()), Ok(()), r) => r,
            (_, _, Err(e)) => Err(e),
            (_, Err(e), Ok(())) => Err(e),
            (Err(e), Ok(()), Ok(())) => Err(e),
        }
    })
}

fn io_failure(e: std::io::Error) -> Failure {
    Failure::Tool(Error::msg(format_args!("writing the output: {e}")))
}
