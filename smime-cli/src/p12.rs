//! `smime keys import | export`: PKCS#12 files (.p12/.pfx) in and out, and
//! key directories of encrypted software keys.
//!
//! - Reading takes PBES2 files (AES with PBKDF2, as OpenSSL 3 writes them)
//!   and the legacy ones of Windows and older CAs (PBE-SHA1-3DES for the key,
//!   PBE-SHA1-RC2-40 for the certificates), with their MAC checked first: a
//!   wrong password is said so.
//! - `--to pkcs11:...` puts the key pair and the certificate chain on a token
//!   with one `CKA_ID` and label (see [`smime_pkcs11::import`]: all or
//!   nothing).
//! - `--to-dir DIR` writes `DIR/<fp>.key.pem` (an `ENCRYPTED PRIVATE KEY`:
//!   PKCS#8, PBES2 with AES-256-CBC and PBKDF2-SHA256, under the file's
//!   password) and `DIR/<fp>.cert.pem` (the certificate, then its chain),
//!   `<fp>` being the first 16 hex digits of the certificate's SHA-256
//!   fingerprint. `smime decrypt --key DIR` uses every key there.
//! - Export writes PBES2/AES-256-CBC/PBKDF2-SHA256 with an HMAC-SHA256 MAC,
//!   which OpenSSL 3 reads without its legacy provider.
//!
//! Passwords and key bytes are held in [`Zeroizing`] buffers.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use der::{Decode as _, Encode as _};
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, LocalKeyId, MacAlgorithm,
    Pkcs12Archive, PrivateKey, PrivateKeyChain,
};
use sha1::Digest as _;
use smime_core::x509::CertificateRef;
use zeroize::Zeroizing;

use crate::cli::{KeysCommand, KeysExportArgs, KeysImportArgs, PasswordArgs};
use crate::error::{Context, Error, Result};
use crate::files::{CertFile, KeyFile};
use crate::io::read_small_file;

/// PBKDF2 iterations for keys written to a key directory and PKCS#12 files.
const ITERATIONS: u32 = 100_000;
/// rsaEncryption, as the `der` crate spells OIDs.
const RSA_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-ecPublicKey.
const EC_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// Runs `smime keys ...`.
pub fn run(c: &KeysCommand) -> Result<()> {
    match c {
        KeysCommand::Import(a) => import(a),
        KeysCommand::Export(a) => export(a),
    }
}

/// A password from `--password`, `--password-source` or the terminal.
/// `confirm`: ask twice (a new password).
pub fn password(args: &PasswordArgs, what: &str, confirm: bool) -> Result<Zeroizing<String>> {
    if let Some(p) = &args.password {
        return Ok(Zeroizing::new(p.clone()));
    }
    if let Some(src) = &args.password_source {
        return password_from_source(src);
    }
    prompt(what, confirm)
}

/// Asks for a password on the terminal, without echo.
pub fn prompt(what: &str, confirm: bool) -> Result<Zeroizing<String>> {
    let fail = |e: std::io::Error| {
        Error::msg(format_args!(
            "a password is needed for {what} and none could be asked for ({e}): \
             give --password-source file:FILE or env:VAR"
        ))
    };
    let first =
        Zeroizing::new(rpassword::prompt_password(format!("Password for {what}: ")).map_err(fail)?);
    if confirm {
        let again =
            Zeroizing::new(rpassword::prompt_password("The same password again: ").map_err(fail)?);
        if *again != *first {
            return Err(Error::msg("the two passwords differ"));
        }
    }
    Ok(first)
}

/// A password from `file:FILE` (its first line) or `env:VAR`.
pub fn password_from_source(src: &str) -> Result<Zeroizing<String>> {
    if let Some(path) = src.strip_prefix("file:") {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the password file '{path}'"))?,
        );
        let line = text.lines().next().unwrap_or("");
        Ok(Zeroizing::new(line.trim_end_matches('\r').to_owned()))
    } else if let Some(var) = src.strip_prefix("env:") {
        std::env::var(var).map(Zeroizing::new).map_err(|_| {
            Error::msg(format_args!(
                "--password-source env:{var}: the environment variable {var} is not set"
            ))
        })
    } else {
        Err(Error::msg(format_args!(
            "--password-source '{src}': expected file:FILE or env:VAR"
        )))
    }
}

/// What a PKCS#12 file holds: one private key, its certificate and the rest
/// of the chain.
pub struct Contents {
    /// The key, PKCS#8 DER.
    pub key: Zeroizing<Vec<u8>>,
    /// The bag's friendlyName, if any.
    pub friendly_name: Option<String>,
    /// The key's certificate (DER).
    pub cert: Vec<u8>,
    /// The other certificates (DER), issuer order where it could be found.
    pub chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contents")
            .field("friendly_name", &self.friendly_name)
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// Says what a PKCS#12 reading error means.
fn explain(path: &Path, e: &p12_keystore::error::Error) -> Error {
    use p12_keystore::error::Error as E;
    let name = path.display();
    match e {
        E::MacError(_) => Error::msg(format_args!(
            "wrong password for '{name}' (its integrity check failed)"
        )),
        E::UnpadError | E::Pkcs5Error(_) | E::InvalidPrivateKey => Error::msg(format_args!(
            "'{name}' cannot be decrypted: wrong password, or a damaged file ({e})"
        )),
        E::UnsupportedEncryptionScheme | E::UnsupportedMacAlgorithm => Error::msg(format_args!(
            "'{name}' uses an encryption or MAC algorithm that is not supported ({e})"
        )),
        E::DerError(_) | E::InvalidVersion | E::UnsupportedContentType => Error::msg(format_args!(
            "'{name}' is not a PKCS#12 (.p12/.pfx) file ({e})"
        )),
        _ => Error::msg(format_args!("'{name}': {e}")),
    }
}

/// Reads a PKCS#12 file: its one private key and the certificates.
pub fn read_p12(path: &Path, password: &str) -> Result<Contents> {
    let data = read_small_file(path, "PKCS#12 file")?;
    let data = if crate::pem::looks_like_pem(&data) {
        crate::pem::decode_file(&data, &["PKCS12"])
            .with_context(|| format!("'{}'", path.display()))?
            .1
    } else {
        data
    };
    let archive = Pkcs12Archive::from_pkcs12(&data, password).map_err(|e| explain(path, &e))?;
    let mut keys = archive.keys;
    let key_bag = match keys.len() {
        0 => {
            return Err(Error::msg(format_args!(
                "'{}' holds no private key",
                path.display()
            )));
        }
        1 => keys.remove(0),
        n => {
            return Err(Error::msg(format_args!(
                "'{}' holds {n} private keys; only files with one are supported",
                path.display()
            )));
        }
    };
    let key = Zeroizing::new(key_bag.key.as_der().to_vec());
    let certs: Vec<Vec<u8>> = archive
        .certs
        .iter()
        .map(|c| c.cert.as_der().to_vec())
        .collect();
    // The key's certificate: the one whose public key is the key's, else
    // the one with the key's localKeyId.
    let public = public_key_of(&key).ok();
    let by_key = certs.iter().position(|c| {
        public
            .as_deref()
            .is_some_and(|p| CertificateRef::from_der(c).is_ok_and(|cert| cert.public_key() == p))
    });
    let by_id = key_bag.local_key_id.as_ref().and_then(|id| {
        archive
            .certs
            .iter()
            .position(|c| c.local_key_id.as_deref() == Some(id.0.as_slice()))
    });
    let Some(leaf) = by_key.or(by_id) else {
        return Err(Error::msg(format_args!(
            "'{}' holds no certificate for its private key",
            path.display()
        )));
    };
    let mut rest = certs;
    let cert = rest.remove(leaf);
    for c in &rest {
        CertificateRef::from_der(c)
            .map_err(|e| Error::msg(format_args!("'{}': a certificate: {e}", path.display())))?;
    }
    let chain = chain_order(&cert, rest);
    Ok(Contents {
        key,
        friendly_name: key_bag.friendly_name.filter(|n| !n.trim().is_empty()),
        cert,
        chain,
    })
}

/// `rest` with the issuer of `leaf` first, its issuer next, ...; the
/// certificates not in that chain after them.
fn chain_order(leaf: &[u8], mut rest: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut current = leaf.to_vec();
    while let Ok(c) = CertificateRef::from_der(&current) {
        if c.issuer_der() == c.subject_der() {
            break;
        }
        let issuer = c.issuer_der().to_vec();
        let Some(i) = rest.iter().position(|r| {
            CertificateRef::from_der(r).is_ok_and(|r| r.subject_der() == issuer.as_slice())
        }) else {
            break;
        };
        current = rest.remove(i);
        out.push(current.clone());
    }
    out.extend(rest);
    out
}

/// The public key bits (as a certificate's SubjectPublicKeyInfo holds them)
/// of a PKCS#8 key: the RSAPublicKey DER, or the EC point.
fn public_key_of(pkcs8: &[u8]) -> Result<Vec<u8>> {
    match key_material(pkcs8)? {
        smime_pkcs11::KeyMaterial::Rsa {
            modulus,
            public_exponent,
            ..
        } => {
            let n = der::asn1::UintRef::new(&modulus).map_err(der_err)?;
            let e = der::asn1::UintRef::new(&public_exponent).map_err(der_err)?;
            let pk = pkcs1::RsaPublicKey {
                modulus: n,
                public_exponent: e,
            };
            pk.to_der().map_err(der_err)
        }
        smime_pkcs11::KeyMaterial::Ec { point, .. } => Ok(point),
    }
}

fn der_err(e: der::Error) -> Error {
    Error::msg(format_args!("the private key: {e}"))
}

/// The parts of a PKCS#8 RSA or EC key, for a token.
pub fn key_material(pkcs8: &[u8]) -> Result<smime_pkcs11::KeyMaterial> {
    let info = pkcs8::PrivateKeyInfoRef::try_from(pkcs8)
        .map_err(|e| Error::msg(format_args!("the private key is not PKCS#8: {e}")))?;
    let oid = info.algorithm.oid;
    let body = info.private_key.as_bytes();
    if oid == RSA_OID {
        let k = pkcs1::RsaPrivateKeyRef::try_from(body)
            .map_err(|e| Error::msg(format_args!("the RSA private key does not parse: {e}")))?;
        let z = |u: der::asn1::UintRef<'_>| Zeroizing::new(u.as_bytes().to_vec());
        Ok(smime_pkcs11::KeyMaterial::Rsa {
            modulus: k.modulus.as_bytes().to_vec(),
            public_exponent: k.public_exponent.as_bytes().to_vec(),
            private_exponent: z(k.private_exponent),
            prime_1: z(k.prime1),
            prime_2: z(k.prime2),
            exponent_1: z(k.exponent1),
            exponent_2: z(k.exponent2),
            coefficient: z(k.coefficient),
        })
    } else if oid == EC_OID {
        let k = sec1::EcPrivateKey::try_from(body)
            .map_err(|e| Error::msg(format_args!("the EC private key does not parse: {e}")))?;
        let curve = info
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
            .or(match k.parameters {
                Some(sec1::EcParameters::NamedCurve(c)) => Some(c),
                _ => None,
            })
            .ok_or_else(|| Error::msg("the EC private key names no curve"))?;
        let params = curve.to_der().map_err(der_err)?;
        let point = k
            .public_key
            .ok_or_else(|| Error::msg("the EC private key holds no public key"))?
            .to_vec();
        Ok(smime_pkcs11::KeyMaterial::Ec {
            params,
            value: Zeroizing::new(k.private_key.to_vec()),
            point,
        })
    } else {
        Err(Error::msg(format_args!(
            "the private key's algorithm {oid} is not supported (RSA and EC keys are)"
        )))
    }
}

/// The first 16 hex digits of a certificate's SHA-256 fingerprint.
fn short_fingerprint(cert: &CertificateRef<'_>) -> String {
    cert.fingerprint_sha256()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `smime keys import`.
fn import(a: &KeysImportArgs) -> Result<()> {
    let what = format!("'{}'", a.file.display());
    let pw = password(&a.password, &what, false)?;
    let contents = read_p12(&a.file, &pw)?;
    let cert = CertificateRef::from_der(&contents.cert)
        .map_err(|e| Error::msg(format_args!("{what}: its certificate: {e}")))?;
    // The bag's friendlyName, else the subject's CN, else the whole subject.
    let label = contents
        .friendly_name
        .clone()
        .or_else(|| {
            cert.subject()
                .common_name()
                .and_then(|a| a.chars().map(Iterator::collect::<String>))
                .filter(|s| !s.trim().is_empty())
        })
        .unwrap_or_else(|| cert.subject().to_string());
    let mut out = std::io::stdout().lock();
    if let Some(uri) = &a.to {
        if !smime_pkcs11::is_pkcs11_uri(uri) {
            return Err(Error::msg(format_args!(
                "--to '{uri}': expected a pkcs11: URI (pkcs11:token=NAME?pin-source=FILE)"
            )));
        }
        let parsed = smime_pkcs11::Pkcs11Uri::parse(uri)
            .map_err(|e| Error::msg(format_args!("--to {e}")))?;
        let id = match cert.subject_key_id() {
            Some(ski) => ski.to_vec(),
            None => sha1::Sha1::digest(cert.public_key()).to_vec(),
        };
        let material = key_material(&contents.key)?;
        let options = smime_pkcs11::OpenOptions {
            prompt: Some(Arc::new(crate::keys::TerminalPrompt)),
            ..smime_pkcs11::OpenOptions::default()
        };
        let request = smime_pkcs11::ImportRequest {
            key: &material,
            id: &id,
            label: &label,
            certificate: &contents.cert,
            chain: &contents.chain,
        };
        let done = smime_pkcs11::import(&parsed, &options, &request)
            .map_err(|e| Error::msg(format_args!("PKCS#11: {e}")))?;
        writeln!(
            out,
            "imported the key and certificate of {} (label '{label}') onto token '{}', \
             with {} CA certificate(s) of its chain\n{}",
            cert.subject(),
            done.token_label,
            done.chain_added,
            done.uri
        )
        .context("writing standard output")?;
    } else if let Some(dir) = &a.to_dir {
        let (key_path, cert_path) = write_key_dir(dir, &contents, &pw)?;
        writeln!(
            out,
            "imported the key of {} (label '{label}'):\n  {}\n  {}",
            cert.subject(),
            key_path.display(),
            cert_path.display()
        )
        .context("writing standard output")?;
    }
    Ok(())
}

/// Writes the key (encrypted) and its certificates into a key directory;
/// returns the two paths.
fn write_key_dir(dir: &Path, contents: &Contents, pw: &str) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create key directory '{}'", dir.display()))?;
    let cert = CertificateRef::from_der(&contents.cert)?;
    let stem = short_fingerprint(&cert);
    let key_path = dir.join(format!("{stem}.key.pem"));
    let cert_path = dir.join(format!("{stem}.cert.pem"));
    let encrypted = encrypt_pkcs8(&contents.key, pw)?;
    let key_pem = Zeroizing::new(
        pem_rfc7468::encode_string(
            "ENCRYPTED PRIVATE KEY",
            pem_rfc7468::LineEnding::LF,
            &encrypted,
        )
        .map_err(|e| Error::msg(format_args!("PEM encoding: {e}")))?,
    );
    let mut certs_pem = String::new();
    for der in std::iter::once(&contents.cert).chain(&contents.chain) {
        certs_pem.push_str(
            &pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
                .map_err(|e| Error::msg(format_args!("PEM encoding: {e}")))?,
        );
    }
    write_new(&cert_path, certs_pem.as_bytes())?;
    write_new(&key_path, key_pem.as_bytes())?;
    Ok((key_path, cert_path))
}

/// Writes a new file atomically (owner-only permissions); an existing file
/// of that name is an error.
fn write_new(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in '{}'", dir.display()))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing '{}'", path.display()))?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::msg(format_args!(
                "'{}' exists already; not replaced",
                path.display()
            ))
        } else {
            Error::msg(format_args!("writing '{}': {}", path.display(), e.error))
        }
    })?;
    Ok(())
}

/// Random bytes from the system.
fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::msg(format_args!("no random numbers: {e}")))?;
    Ok(b)
}

/// PKCS#8 DER encrypted as an EncryptedPrivateKeyInfo (DER): PBES2,
/// PBKDF2-HMAC-SHA256, AES-256-CBC.
pub fn encrypt_pkcs8(pkcs8_der: &[u8], pw: &str) -> Result<Vec<u8>> {
    let info = pkcs8::PrivateKeyInfoRef::try_from(pkcs8_der)
        .map_err(|e| Error::msg(format_args!("the private key is not PKCS#8: {e}")))?;
    let salt: [u8; 16] = random()?;
    let iv: [u8; 16] = random()?;
    let params = pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(ITERATIONS, &salt, iv)
        .map_err(|e| Error::msg(format_args!("PBES2 parameters: {e}")))?;
    let doc = info
        .encrypt_with_params(params, pw.as_bytes())
        .map_err(|e| Error::msg(format_args!("encrypting the key: {e}")))?;
    Ok(doc.as_bytes().to_vec())
}

/// Decrypts an EncryptedPrivateKeyInfo (DER) into PKCS#8 DER.
pub fn decrypt_pkcs8(encrypted_der: &[u8], pw: &str) -> Result<Zeroizing<Vec<u8>>> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(encrypted_der)
        .map_err(|e| Error::msg(format_args!("not an encrypted PKCS#8 key: {e}")))?;
    let doc = info
        .decrypt(pw.as_bytes())
        .map_err(|_| Error::msg("wrong password (or a damaged key)"))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// The keys of a key directory (`*.key.pem`, `*.key`; encrypted ones
/// decrypted with the password, asked for once if none is given) and the
/// certificate of each (`<stem>.cert.pem`, first certificate). A key the
/// password does not open is skipped with a warning; none opened is an
/// error.
pub fn load_key_dir(
    dir: &Path,
    password_source: Option<&str>,
    pw_cache: &mut Option<Zeroizing<String>>,
) -> Result<(Vec<KeyFile>, Vec<CertFile>)> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read key directory '{}'", dir.display()))?;
    let mut names: Vec<PathBuf> = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("cannot read key directory '{}'", dir.display()))?;
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_file() && (name.ends_with(".key.pem") || name.ends_with(".key")) {
            names.push(p);
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(Error::msg(format_args!(
            "key directory '{}' holds no keys (*.key.pem files, as `smime keys import --to-dir` writes)",
            dir.display()
        )));
    }
    let mut keys = Vec::new();
    let mut certs = Vec::new();
    let mut skipped = Vec::new();
    for path in names {
        let data = Zeroizing::new(read_small_file(&path, "key")?);
        let encrypted = data
            .windows(31)
            .any(|w| w == b"BEGIN ENCRYPTED PRIVATE KEY----");
        let key = if encrypted {
            let der = crate::pem::decode_file(&data, &["ENCRYPTED PRIVATE KEY"])
                .with_context(|| format!("key '{}'", path.display()))?
                .1;
            if pw_cache.is_none() {
                *pw_cache = Some(match password_source {
                    Some(src) => password_from_source(src)?,
                    None => prompt(&format!("the keys in '{}'", dir.display()), false)?,
                });
            }
            let pw = pw_cache.as_deref().map_or("", String::as_str);
            match decrypt_pkcs8(&der, pw) {
                Ok(plain) => KeyFile::from_bytes(&path, plain.to_vec()),
                Err(e) => {
                    skipped.push(format!("'{}': {e}", path.display()));
                    continue;
                }
            }
        } else {
            KeyFile::from_bytes(&path, data.to_vec())
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let stem = name
            .as_deref()
            .and_then(|n| {
                n.strip_suffix(".key.pem")
                    .or_else(|| n.strip_suffix(".key"))
            })
            .unwrap_or_default();
        let cert_path = dir.join(format!("{stem}.cert.pem"));
        if cert_path.is_file() {
            certs.push(CertFile::load(&cert_path)?);
        }
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(Error::msg(format_args!(
            "no key in '{}' could be opened: {}",
            dir.display(),
            skipped.join("; ")
        )));
    }
    for s in skipped {
        eprintln!("smime: warning: key {s}: skipped");
    }
    Ok((keys, certs))
}

/// `smime keys export`.
fn export(a: &KeysExportArgs) -> Result<()> {
    let mut certs = Vec::new();
    for p in &a.cert {
        for c in crate::files::load_cert_bundle(p)? {
            if !certs.contains(&c.der) {
                certs.push(c.der);
            }
        }
    }
    let pw = password(&a.password, &format!("'{}'", a.p12.display()), true)?;
    let key_file = KeyFile::read_any(&a.key)?;
    let data = Zeroizing::new(read_small_file(&a.key, "key")?);
    let pkcs8 = if data
        .windows(31)
        .any(|w| w == b"BEGIN ENCRYPTED PRIVATE KEY----")
    {
        let der = crate::pem::decode_file(&data, &["ENCRYPTED PRIVATE KEY"])
            .with_context(|| format!("key '{}'", a.key.display()))?
            .1;
        // Encrypted under the new password, else asked for.
        match decrypt_pkcs8(&der, &pw) {
            Ok(k) => k,
            Err(_) => {
                let kp = prompt(&format!("the key '{}'", a.key.display()), false)?;
                decrypt_pkcs8(&der, &kp).with_context(|| format!("key '{}'", a.key.display()))?
            }
        }
    } else {
        match key_file.pkcs8_der() {
            Ok(d) if pkcs8::PrivateKeyInfoRef::try_from(d.as_slice()).is_ok() => Zeroizing::new(d),
            _ => {
                // PKCS#1 RSA: as PKCS#8.
                use rsa::pkcs1::DecodeRsaPrivateKey as _;
                use rsa::pkcs8::EncodePrivateKey as _;
                let fail = |e: &dyn std::fmt::Display| {
                    Error::msg(format_args!("key '{}': {e}", a.key.display()))
                };
                let der = Zeroizing::new(
                    crate::pem::decode_file(&data, &["RSA PRIVATE KEY"])
                        .map_or_else(|_| data.to_vec(), |(_, d)| d),
                );
                let k = rsa::PrivateKey::from_pkcs1_der(&der).map_err(|e| fail(&e))?;
                Zeroizing::new(k.to_pkcs8_der().map_err(|e| fail(&e))?.as_bytes().to_vec())
            }
        }
    };
    // The certificate of the key: the one with its public key.
    let public = public_key_of(&pkcs8)?;
    let leaf = certs
        .iter()
        .position(|c| {
            CertificateRef::from_der(c).is_ok_and(|c| c.public_key() == public.as_slice())
        })
        .ok_or_else(|| {
            Error::msg(format_args!(
                "none of the --cert certificates is for the key '{}'",
                a.key.display()
            ))
        })?;
    let leaf_der = certs.remove(leaf);
    let leaf_cert = CertificateRef::from_der(&leaf_der)?;
    let chain = chain_order(&leaf_der, certs);
    let alias = leaf_cert.subject().to_string();
    let local_key_id = sha1::Sha1::digest(&leaf_der).to_vec();
    let key = PrivateKey::from_der(&pkcs8)
        .map_err(|e| Error::msg(format_args!("key '{}': {e}", a.key.display())))?;
    let p12_certs = std::iter::once(&leaf_der)
        .chain(&chain)
        .map(|d| Certificate::from_der(d))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::msg(format_args!("a certificate: {e}")))?;
    let mut store = KeyStore::new();
    store.add_entry(
        &alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
            LocalKeyId(local_key_id),
            key,
            p12_certs,
        )),
    );
    let bytes = store
        .writer(&pw)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .encryption_iterations(ITERATIONS)
        .mac_algorithm(MacAlgorithm::HmacSha256)
        .mac_iterations(ITERATIONS)
        .write()
        .map_err(|e| Error::msg(format_args!("writing PKCS#12: {e}")))?;
    write_new(&a.p12, &bytes)?;
    eprintln!(
        "smime: wrote '{}': the key and {} certificate(s) of {}, PBES2 (AES-256-CBC, PBKDF2-SHA256)",
        a.p12.display(),
        1 + chain.len(),
        leaf_cert.subject()
    );
    Ok(())
}
