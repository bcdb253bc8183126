//! `smime certs show | fingerprint | extract`: the certificates in a
//! certificate file (PEM, bundles too, or DER), a `.p7b`/`.p7c`
//! certificates-only message or a signed message (DER or PEM).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use embedded_io_adapters::std::FromStd;
use smime_core::cms::signed::{SignedDataDecoder, VerifyOptions};
use smime_core::x509::CertificateRef;

use crate::cli::CertsCommand;
use crate::describe::{colon_hex, key_purpose_name, now};
use crate::error::{Context, Error, Result};
use crate::pem::{decode_blocks, looks_like_pem};

/// Runs `smime certs ...`.
pub fn run(c: &CertsCommand) -> Result<()> {
    match c {
        CertsCommand::Bundle(a) => return bundle(a),
        CertsCommand::Harvest(a) => return crate::harvest::run(a),
        CertsCommand::Lookup(a) => return crate::ldap::run(a),
        _ => {}
    }
    let text = match c {
        CertsCommand::Bundle(_) | CertsCommand::Harvest(_) | CertsCommand::Lookup(_) => {
            String::new()
        }
        CertsCommand::Import(a) => import(&a.files, &a.store)?,
        CertsCommand::List(a) => crate::store::Store::open(&a.store)?.listing(now())?,
        CertsCommand::Show(a) => show(&load(&a.file)?, &a.file)?,
        CertsCommand::Fingerprint(a) => fingerprints(&load(&a.file)?, &a.file)?,
        CertsCommand::Extract(a) => extract(&load(&a.file)?, &a.file, &a.out_dir)?,
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing standard output")
}

/// `smime certs import`: every certificate of the files into the store.
fn import(files: &[PathBuf], store: &Path) -> Result<String> {
    let mut all = Vec::new();
    for f in files {
        for der in load(f)? {
            all.push((f, der));
        }
    }
    let store = crate::store::Store::open(store)?;
    let mut s = String::new();
    for (f, der) in &all {
        let added = store
            .add(der)
            .with_context(|| format!("'{}'", f.display()))?;
        let c = parse(der, f)?;
        let whom = if added.addresses.is_empty() {
            "(CA)".to_owned()
        } else {
            added.addresses.join(", ")
        };
        let _ = writeln!(
            s,
            "{} {whom}: {}  SHA-256 {}",
            if added.new { "added" } else { "known" },
            c.subject(),
            colon_hex(&c.fingerprint_sha256())
        );
    }
    Ok(s)
}

/// `smime certs bundle`: a certs-only SignedData of every certificate given.
fn bundle(a: &crate::cli::CertsBundleArgs) -> Result<()> {
    let mut ders = Vec::new();
    for f in &a.files {
        ders.extend(load(f)?);
    }
    let certs = ders
        .iter()
        .map(|d| CertificateRef::from_der(d))
        .collect::<core::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::msg(format_args!("invalid certificate: {e}")))?;
    let mut out = crate::io::Output::open(a.output.as_deref())?;
    let written = match a.outform {
        crate::cli::MessageForm::Der => {
            smime_core::cms::sign::write_certs_only(FromStd::new(&mut out), &certs)
                .map(|_| ())
                .map_err(|e| Error::msg(format_args!("writing the bundle: {e}")))
        }
        crate::cli::MessageForm::Smime => {
            let mut sink = FromStd::new(&mut out);
            smime_core::mime::write_pkcs7_mime_header(
                &mut sink,
                smime_core::mime::SmimeType::CertsOnly,
            )
            .and_then(|()| {
                let b64 = smime_core::mime::base64::Base64Encoder::new(sink);
                smime_core::cms::sign::write_certs_only(b64, &certs)?.finish()
            })
            .map(|_| ())
            .map_err(|e| Error::msg(format_args!("writing the bundle: {e}")))
        }
        crate::cli::MessageForm::Pem => {
            let pem = crate::pem::PemWriter::new(&mut out, "PKCS7");
            smime_core::cms::sign::write_certs_only(FromStd::new(pem), &certs)
                .map_err(|e| Error::msg(format_args!("writing the bundle: {e}")))
                .and_then(|w| {
                    w.into_inner()
                        .finish()
                        .map(|_| ())
                        .context("writing the bundle")
                })
        }
    };
    written?;
    out.commit()
}

/// The DER of every certificate in the file at `path`, in order: a
/// certificate (PEM, also bundles, or DER), a `.p7b`/`.p7c`, a signed CMS
/// message (DER or PEM) or a signed mail message.
pub fn load(path: &Path) -> Result<Vec<Vec<u8>>> {
    let data = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    let name = || format!("'{}'", path.display());
    let mut certs = Vec::new();
    let has_pem = looks_like_pem(&data) || data.windows(11).any(|w| w == b"-----BEGIN ");
    if !has_pem && !data.starts_with(&[0x30]) {
        // A mail message: the certificates of its signature layers. Text
        // that is not even a header block has none.
        let first_line = data.split(|b| *b == b'\n').next().unwrap_or(&[]);
        let mail_like = first_line.contains(&b':') && !first_line.starts_with(b" ");
        if mail_like {
            certs = crate::harvest::collect(path)?.certificates;
        }
    } else if has_pem {
        for (label, der) in decode_blocks(&data).with_context(name)? {
            match label.as_str() {
                "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => certs.push(der),
                "CMS" | "PKCS7" => certs.extend(from_message(&der).with_context(name)?),
                _ => {}
            }
        }
    } else if CertificateRef::from_der(&data).is_ok() {
        certs.push(data);
    } else {
        certs = from_message(&data).with_context(name)?;
    }
    if certs.is_empty() {
        return Err(Error::msg(format_args!(
            "no certificates found in {}",
            name()
        )));
    }
    Ok(certs)
}

/// The certificates of a CMS signed or certificates-only message (DER), as
/// an LDAP directory's `userSMIMECertificate` holds them.
pub fn certificates_of_message(der: &[u8]) -> Result<Vec<Vec<u8>>> {
    from_message(der)
}

/// The certificates of a SignedData message (signed or certificates-only).
fn from_message(der: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut scratch = vec![0u8; crate::verify::SCRATCH_LEN.max(der.len())];
    let mut dec = SignedDataDecoder::<_>::new(
        FromStd::new(std::io::sink()),
        &mut scratch,
        VerifyOptions::default(),
    );
    dec.write(der).map_err(|e| {
        Error::msg(format_args!(
            "not a signed or certificates-only CMS message: {e}"
        ))
    })?;
    let (_, report) = dec.finish().map_err(|e| {
        Error::msg(format_args!(
            "not a signed or certificates-only CMS message: {e}"
        ))
    })?;
    Ok(report.certificates().map(|c| c.der().to_vec()).collect())
}

fn parse<'a>(der: &'a [u8], file: &Path) -> Result<CertificateRef<'a>> {
    CertificateRef::from_der(der)
        .map_err(|e| Error::msg(format_args!("'{}': certificate: {e}", file.display())))
}

/// The certificate's e-mail addresses: subjectAltName, then the subject's
/// emailAddress attributes.
fn emails(c: &CertificateRef<'_>) -> Vec<String> {
    let mut v: Vec<String> = c
        .rfc822_names()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    if let Some(m) = c.subject().email() {
        let m = String::from_utf8_lossy(m).into_owned();
        if !v.contains(&m) {
            v.push(m);
        }
    }
    v
}

fn show(ders: &[Vec<u8>], file: &Path) -> Result<String> {
    let mut s = String::new();
    for (i, der) in ders.iter().enumerate() {
        let c = parse(der, file)?;
        if i > 0 {
            s.push('\n');
        }
        let _ = writeln!(s, "Certificate {} of {}:", i + 1, ders.len());
        let _ = writeln!(s, "  Subject:        {}", c.subject());
        let _ = writeln!(s, "  Issuer:         {}", c.issuer());
        let _ = writeln!(s, "  Serial:         {}", colon_hex(c.serial()));
        let _ = writeln!(s, "  Not before:     {}", c.not_before());
        let _ = writeln!(s, "  Not after:      {}", c.not_after());
        if c.is_ca() {
            let _ = writeln!(s, "  CA:             yes");
        }
        let ku = c
            .key_usage()
            .map_or_else(|| "(not restricted)".to_owned(), |k| k.to_string());
        let _ = writeln!(s, "  Key usage:      {ku}");
        let eku = c.extended_key_usage().map_or_else(
            || "(not restricted)".to_owned(),
            |p| p.map(key_purpose_name).collect::<Vec<_>>().join(", "),
        );
        let _ = writeln!(s, "  Ext. key usage: {eku}");
        let mails = emails(&c);
        if !mails.is_empty() {
            let _ = writeln!(s, "  E-mail:         {}", mails.join(", "));
        }
        let _ = writeln!(s, "  SHA-1:          {}", colon_hex(&c.fingerprint_sha1()));
        let _ = writeln!(
            s,
            "  SHA-256:        {}",
            colon_hex(&c.fingerprint_sha256())
        );
    }
    Ok(s)
}

fn fingerprints(ders: &[Vec<u8>], file: &Path) -> Result<String> {
    let mut s = String::new();
    for der in ders {
        let c = parse(der, file)?;
        let _ = writeln!(
            s,
            "SHA256 {}  SHA1 {}  {}",
            colon_hex(&c.fingerprint_sha256()),
            colon_hex(&c.fingerprint_sha1()),
            c.subject()
        );
    }
    Ok(s)
}

/// A file name from the subject's CN (or e-mail address): letters, digits,
/// `.`, `-`, `_`, `@` kept, the rest `_`.
pub fn file_stem(c: &CertificateRef<'_>) -> String {
    let raw = c
        .subject()
        .common_name()
        .and_then(|a| a.chars().map(Iterator::collect::<String>))
        .filter(|s| !s.trim().is_empty())
        .or_else(|| emails(c).into_iter().next())
        .unwrap_or_default();
    let mut stem: String = raw
        .trim()
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_' | '@') {
                ch
            } else {
                '_'
            }
        })
        .collect();
    // No hidden files, no `..`.
    let trimmed = stem.trim_start_matches(['.', '-']).to_owned();
    stem = trimmed.chars().take(64).collect();
    if stem.is_empty() {
        stem = "certificate".to_owned();
    }
    stem
}

fn extract(ders: &[Vec<u8>], file: &Path, dir: &Path) -> Result<String> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory '{}'", dir.display()))?;
    let mut s = String::new();
    for der in ders {
        let c = parse(der, file)?;
        let stem = file_stem(&c);
        let pem = pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
            .map_err(|e| Error::msg(format_args!("PEM encoding: {e}")))?;
        let path = write_new(dir, &stem, pem.as_bytes())?;
        let _ = writeln!(s, "{}  {}", path.display(), c.subject());
    }
    Ok(s)
}

/// Writes `data` to `dir/stem.pem`, or `stem-1.pem`, `stem-2.pem`, ... when
/// the name is taken (never overwriting a file).
fn write_new(dir: &Path, stem: &str, data: &[u8]) -> Result<PathBuf> {
    for n in 0u32.. {
        let name = if n == 0 {
            format!("{stem}.pem")
        } else {
            format!("{stem}-{n}.pem")
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(data)
                    .and_then(|()| f.sync_all())
                    .with_context(|| format!("writing '{}'", path.display()))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::msg(format_args!(
                    "cannot create '{}': {e}",
                    path.display()
                )));
            }
        }
    }
    Err(Error::msg("no free file name"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn write_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_new(dir.path(), "x", b"1").unwrap();
        let b = write_new(dir.path(), "x", b"2").unwrap();
        let c = write_new(dir.path(), "x", b"3").unwrap();
        assert_eq!(a.file_name().unwrap(), "x.pem");
        assert_eq!(b.file_name().unwrap(), "x-1.pem");
        assert_eq!(c.file_name().unwrap(), "x-2.pem");
        assert_eq!(std::fs::read(a).unwrap(), b"1");
    }
}
