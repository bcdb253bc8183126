//! `smime verify`: CMS SignedData in (DER/BER or PEM), content out, a report
//! on standard error.
//!
//! The message is streamed through the core's [`SignedDataDecoder`]; the
//! content goes to the output as it passes and is kept only when every
//! signature is valid and (unless `--no-chain-check`) every signer
//! certificate chains to a `--trust` anchor. A detached signature's content
//! (`--content`) is hashed first with every supported digest, then the
//! signature is decoded.
//!
//! The report (per signer: certificate, algorithms, signing time, status,
//! chain and each failed check) goes to standard error; a failure ends with
//! the usual one-line `smime: error: ...`.

use std::io::Write as _;

use embedded_io_adapters::std::FromStd;
use smime_core::cms::signed::{
    ContentDigests, SignedDataDecoder, SignedDataReport, SignerReport, VerifyOptions,
};
use smime_core::x509::{
    CertificateRef, Check, CrlRef, PathReport, Purpose, Time, ValidationOptions,
};

use crate::cli::{MessageForm, VerifyArgs};
use crate::decrypt::detect;
use crate::describe::{colon_hex, hash_name, now, parse_time, signature_name, status_sentence};
use crate::error::{Error, Result};
use crate::files::{CertFile, load_crls};
use crate::io::{Failure, Input, Output};
use crate::mail::{self, Buffers, Layer, Peel, read_first};
use crate::pem::PemDecoder;
use smime_core::mime::{EntityKind, SmimeType};
use std::cell::RefCell;

/// Room for the message's certificates, CRLs and the largest SignerInfo.
pub const SCRATCH_LEN: usize = 1 << 20;

/// Runs `smime verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let load_all = |paths: &[std::path::PathBuf]| -> Result<Vec<CertFile>> {
        let mut all = Vec::new();
        for p in paths {
            // PEM bundles, DER, .p7b/.p7c.
            all.extend(crate::certs::load(p)?.into_iter().map(|der| CertFile {
                path: p.clone(),
                der,
            }));
        }
        Ok(all)
    };
    let trust = load_all(&args.trust)?;
    let extra = load_all(&args.certs)?;
    let mut crl_ders = Vec::new();
    for p in &args.crls {
        crl_ders.extend(load_crls(p)?);
    }
    let at = match &args.at {
        Some(s) => parse_time(s)?,
        None => now(),
    };
    if !args.no_chain_check && trust.is_empty() {
        return Err(Error::msg(
            "no trusted certificate given: use --trust CERT, or --no-chain-check to check \
             the signatures only",
        ));
    }
    let anchors = trust
        .iter()
        .map(CertFile::parse)
        .collect::<Result<Vec<_>>>()?;
    let extra_refs = extra
        .iter()
        .map(CertFile::parse)
        .collect::<Result<Vec<_>>>()?;

    let mut input = Input::open(args.input.as_deref())?.with_progress("verifying");
    let first = read_first(&mut input)?;
    let form = args.inform.unwrap_or_else(|| detect(&first));
    let checks = Checks {
        anchors: &anchors,
        extra: &extra_refs,
        crls: &crl_ders,
        at,
    };
    if form == MessageForm::Smime {
        if args.content.is_some() {
            return Err(Error::msg(
                "--content is for a bare detached signature (DER or PEM); a multipart/signed \
                 mail carries its content",
            ));
        }
        return verify_mail(args, &checks, &first, &mut input);
    }

    let mut scratch = vec![0u8; SCRATCH_LEN];
    let options = VerifyOptions {
        extra_certificates: &extra_refs,
    };
    let mut out = Output::open(args.output.as_deref())?;

    let decoded = match &args.content {
        Some(path) => {
            let mut digests = ContentDigests::all();
            let mut content = Input::open(Some(path))?;
            content
                .for_each_chunk(|c| -> Result<(), Failure> {
                    digests.update(c)?;
                    out.write_all(c).map_err(|e| {
                        Failure::Tool(Error::msg(format_args!("writing the content: {e}")))
                    })
                })
                .map_err(|f| out.failure(f))?;
            digests.finish();
            let dec = SignedDataDecoder::<_>::detached(
                FromStd::new(std::io::sink()),
                &mut scratch,
                options,
                &digests,
            );
            decode(dec, form, &first, &mut input).map(|(_, r)| r)
        }
        None => {
            let dec =
                SignedDataDecoder::<_>::new(FromStd::new(NoFlush(&mut out)), &mut scratch, options);
            decode(dec, form, &first, &mut input).map(|(_, r)| r)
        }
    };
    let detached = args.content.is_some();
    let report = decoded
        .map_err(|f| explain(f, detached))
        .map_err(|f| out.failure(f))?;

    let mut text = String::new();
    let problems = checks.check(args, &report, &input.name(), Sender::default(), &mut text);
    if problems.is_empty() {
        if !args.quiet {
            eprint!("{text}");
        }
        out.commit()?;
        Ok(())
    } else {
        eprint!("{text}");
        drop(out);
        Err(Error::msg(problems.join("; ")))
    }
}

/// Who a mail says sent it: its From and Sender addresses.
#[derive(Clone, Copy, Debug, Default)]
struct Sender<'a> {
    from: Option<&'a str>,
    sender: Option<&'a str>,
}

/// What signer certificates are checked against.
struct Checks<'a, 'c> {
    anchors: &'a [CertificateRef<'c>],
    extra: &'a [CertificateRef<'c>],
    crls: &'a [Vec<u8>],
    at: Time,
}

impl Checks<'_, '_> {
    /// Checks one SignedData's signers; writes the report into `text` and
    /// returns the problems (empty: success).
    fn check(
        &self,
        args: &VerifyArgs,
        report: &SignedDataReport<'_>,
        name: &str,
        sender: Sender<'_>,
        text: &mut String,
    ) -> Vec<String> {
        let crl_refs: Vec<CrlRef<'_>> = self
            .crls
            .iter()
            .filter_map(|d| CrlRef::from_der(d).ok())
            .chain(report.crls().filter_map(|d| CrlRef::from_der(d).ok()))
            .collect();
        let mut intermediates: Vec<CertificateRef<'_>> = report.certificates().collect();
        intermediates.extend(self.extra.iter().copied());
        let mut vopts = ValidationOptions::new(self.at);
        vopts.purpose = Purpose::Signing;
        vopts.crls = &crl_refs;
        let checker = Checker {
            anchors: self.anchors,
            intermediates: &intermediates,
            options: &vopts,
            chain_check: !args.no_chain_check,
            email: args.email.as_deref(),
            from: sender.from,
            sender: sender.sender,
            ignore_from: args.ignore_from,
            at: self.at,
        };
        checker.report(report, name, text)
    }
}

/// Verifies a mail message: every signature layer is taken off and checked;
/// the message (its outer header fields and the signed entity) is written.
fn verify_mail(
    args: &VerifyArgs,
    checks: &Checks<'_, '_>,
    first: &[u8],
    input: &mut Input,
) -> Result<()> {
    let out = RefCell::new(Output::open(args.output.as_deref())?);
    let mut buffers = Buffers::new();
    let opened = mail::open(
        Peel::Signatures,
        first,
        input,
        &out,
        &mut buffers,
        &mut [],
        checks.extra,
    );
    let mut text = String::new();
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let result = opened.map(|o| {
        let from = o.from.as_deref();
        let sender = o.sender.as_deref();
        for layer in &o.layers {
            match layer {
                Layer::Signed { report, mime } => {
                    if let Some(m) = mime
                        && m.canonicalised
                    {
                        notes.push(
                            "smime: note: the signed part had bare line ends (mail stored or \
                             sent as LF text, or content signed as binary); the content \
                             written has CRLF line ends"
                                .to_owned(),
                        );
                    }
                    problems.extend(checks.check(
                        args,
                        report,
                        &input.name(),
                        Sender { from, sender },
                        &mut text,
                    ));
                }
                Layer::Content(EntityKind::Pkcs7Mime(Some(SmimeType::EnvelopedData))) => notes
                    .push(
                        "smime: the signed content is encrypted: decrypt it with `smime decrypt`"
                            .to_owned(),
                    ),
                _ => {}
            }
        }
    });
    let mut out = out.into_inner();
    result
        .map_err(|f| explain(f, false))
        .map_err(|f| out.failure(f))?;
    if problems.is_empty() {
        if !args.quiet {
            eprint!("{text}");
            for n in &notes {
                eprintln!("{n}");
            }
        }
        out.commit()?;
        Ok(())
    } else {
        eprint!("{text}");
        drop(out);
        Err(Error::msg(problems.join("; ")))
    }
}

/// Says what a format error of the core means for the person reading it.
fn explain(f: Failure, detached: bool) -> Failure {
    use smime_core::ErrorKind;
    let Failure::Core(e) = f else { return f };
    let what = match e.kind() {
        ErrorKind::InvalidValue if detached => {
            "not a detached signature (the message carries its own content; \
             verify it without --content)"
        }
        ErrorKind::Truncated => "truncated message",
        ErrorKind::Mime(_) => "malformed S/MIME message",
        ErrorKind::UnexpectedContentType => "not a SignedData (signed) message",
        ErrorKind::TrailingData
        | ErrorKind::UnexpectedTag { .. }
        | ErrorKind::InvalidEncoding
        | ErrorKind::LengthOverflow
        | ErrorKind::DepthExceeded { .. }
        | ErrorKind::InvalidValue => "not a valid signed CMS message",
        _ => return Failure::Core(e),
    };
    Failure::Tool(Error::msg(format_args!("{what}: {e}")))
}

/// Feeds the whole input (DER or PEM) to `dec` and finishes it.
pub(crate) fn decode<'s, W: embedded_io::Write>(
    mut dec: SignedDataDecoder<'s, W>,
    form: MessageForm,
    first: &[u8],
    input: &mut Input,
) -> Result<(W, SignedDataReport<'s>), Failure> {
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
    Ok(dec.finish()?)
}

/// What each signer certificate is validated against.
struct Checker<'a, 'c> {
    anchors: &'a [CertificateRef<'c>],
    intermediates: &'a [CertificateRef<'c>],
    options: &'a ValidationOptions<'a>,
    chain_check: bool,
    email: Option<&'a str>,
    from: Option<&'a str>,
    sender: Option<&'a str>,
    ignore_from: bool,
    at: Time,
}

impl<'c> Checker<'_, 'c> {
    /// Writes the report into `text`; returns the problems (empty: success).
    fn report(&self, r: &SignedDataReport<'c>, name: &str, text: &mut String) -> Vec<String> {
        use std::fmt::Write as _;
        let mut problems = Vec::new();
        let signers = r.signers();
        let _ = writeln!(
            text,
            "smime: {name}: {} signer(s){}{}",
            signers.len() + r.unchecked_signers,
            if r.detached { ", detached content" } else { "" },
            if self.chain_check {
                format!(", certificates checked at {}", self.at)
            } else {
                ", certificate chains not checked".to_owned()
            }
        );
        if signers.is_empty() && r.unchecked_signers == 0 {
            problems.push("the message has no signers (a certificates-only message?)".to_owned());
        }
        if r.unchecked_signers > 0 {
            problems.push(format!(
                "{} signer(s) beyond the first {} were not checked",
                r.unchecked_signers,
                signers.len()
            ));
        }
        for s in signers {
            self.signer(s, signers.len(), text, &mut problems);
        }
        problems
    }

    fn signer(
        &self,
        s: &SignerReport<'c>,
        count: usize,
        text: &mut String,
        problems: &mut Vec<String>,
    ) {
        use std::fmt::Write as _;
        let n = s.index + 1;
        let _ = writeln!(text, "Signer {n} of {count}:");
        let weak = if s.weak { " (weak)" } else { "" };
        if let Some(c) = &s.signer_cert {
            let _ = writeln!(text, "  Subject:    {}", c.subject());
            let _ = writeln!(text, "  Issuer:     {}", c.issuer());
            let _ = writeln!(text, "  Serial:     {}", colon_hex(c.serial()));
            let _ = writeln!(text, "  SHA-256:    {}", colon_hex(&c.fingerprint_sha256()));
        }
        let digest = s.digest.map_or("an unsupported digest", hash_name);
        let sig = s.signature.map_or_else(
            || "an unsupported signature algorithm".to_owned(),
            signature_name,
        );
        let dw = if s.digest == Some(smime_core::backend::HashAlgorithm::Sha1) {
            " (weak)"
        } else {
            ""
        };
        let _ = writeln!(text, "  Digest:     {digest}{dw}");
        let _ = writeln!(text, "  Signature:  {sig}{weak}");
        match s.signing_time {
            Some(t) => {
                let _ = writeln!(text, "  Signed at:  {t}");
            }
            None => {
                let _ = writeln!(text, "  Signed at:  (no signing time)");
            }
        }
        let sentence = status_sentence(s.status);
        let _ = writeln!(
            text,
            "  Status:     {}: {sentence}",
            if s.is_valid() { "VALID" } else { "INVALID" }
        );
        if !s.is_valid() {
            problems.push(format!("signer {n}: {sentence}"));
        }
        let Some(cert) = &s.signer_cert else { return };
        if self.chain_check {
            let path = x509_validate(cert, self.intermediates, self.anchors, self.options);
            let _ = writeln!(
                text,
                "  Chain:      {}",
                if path.is_valid() { "valid" } else { "INVALID" }
            );
            let len = path.chain().len();
            for (i, c) in path.chain().iter().enumerate() {
                let mark = if i + 1 == len && path.anchor().is_some() {
                    " (trusted)"
                } else {
                    ""
                };
                let _ = writeln!(text, "    {i}: {}{mark}", c.subject());
            }
            let no_crls = self.options.crls.is_empty();
            let mut unchecked = false;
            for f in path.findings() {
                if no_crls
                    && matches!(
                        f.check,
                        Check::RevocationNotChecked {
                            required: false,
                            ..
                        }
                    )
                {
                    // Said once below rather than for every certificate.
                    unchecked = true;
                    continue;
                }
                let kind = if f.check.is_failure() {
                    "Problem"
                } else {
                    "Warning"
                };
                let _ = writeln!(text, "  {kind}:    {f}");
            }
            if unchecked {
                let _ = writeln!(text, "  Revocation: not checked (no CRL given: --crl FILE)");
            }
            if !path.is_valid() {
                let first = path
                    .failures()
                    .next()
                    .map_or_else(|| "invalid".to_owned(), ToString::to_string);
                problems.push(format!("signer {n}: certificate chain: {first}"));
            }
            self.email_check(&path, n, text, problems);
            self.sender_check(&path, n, text, problems);
        } else {
            let path = x509_validate(cert, &[], &[], self.options);
            self.email_check(&path, n, text, problems);
            self.sender_check(&path, n, text, problems);
        }
    }

    /// Ties the signature to the sender (RFC 8551 §3.1.5 / RFC 5750 §3):
    /// the From address must be in the signer's certificate.
    fn sender_check(
        &self,
        path: &PathReport<'_>,
        n: usize,
        text: &mut String,
        problems: &mut Vec<String>,
    ) {
        use std::fmt::Write as _;
        let Some(addr) = self.from else { return };
        if path.email_matches(addr.as_bytes()) {
            let _ = writeln!(text, "  From:       {addr} (matches the certificate)");
        } else if let Some(sender) = self.sender
            && path.email_matches(sender.as_bytes())
        {
            let _ = writeln!(
                text,
                "  From:       {addr}, sent by {sender} (Sender; matches the certificate)"
            );
        } else if self.ignore_from {
            let _ = writeln!(
                text,
                "  From:       {addr} is NOT in the certificate (ignored: --ignore-from)"
            );
        } else {
            let _ = writeln!(text, "  From:       {addr} is NOT in the certificate");
            problems.push(format!(
                "signer {n}: the message's From address {addr} is not in the signer's \
                 certificate (a signature by someone else; --ignore-from to accept it)"
            ));
        }
    }

    fn email_check(
        &self,
        path: &PathReport<'_>,
        n: usize,
        text: &mut String,
        problems: &mut Vec<String>,
    ) {
        use std::fmt::Write as _;
        let Some(addr) = self.email else { return };
        if path.email_matches(addr.as_bytes()) {
            let _ = writeln!(text, "  E-mail:     {addr} (matches the certificate)");
        } else {
            let _ = writeln!(text, "  E-mail:     {addr} is NOT in the certificate");
            problems.push(format!(
                "signer {n}: the certificate is not for the e-mail address {addr}"
            ));
        }
    }
}

fn x509_validate<'c>(
    leaf: &CertificateRef<'c>,
    intermediates: &[CertificateRef<'c>],
    anchors: &[CertificateRef<'c>],
    options: &ValidationOptions<'_>,
) -> PathReport<'c> {
    smime_core::x509::validate(leaf, intermediates, anchors, options)
}

/// The content sink: passes writes on, but not flushes, so that buffered
/// content does not reach standard output before the verdict (the output is
/// flushed by [`Output::commit`] only).
struct NoFlush<'a>(&'a mut Output);

impl std::io::Write for NoFlush<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.write(data)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
