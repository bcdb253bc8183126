//! Certificate and key files: PEM or DER, read whole (they are small).

use std::path::{Path, PathBuf};

use smime_core::soft::SoftRsaKey;
use smime_core::x509::CertificateRef;

use crate::error::{Error, Result};
use crate::io::read_small_file;
use crate::pem::{decode_blocks, decode_file, looks_like_pem};

/// A certificate file's DER, with its path for messages.
#[derive(Debug, Clone)]
pub struct CertFile {
    /// Where it came from.
    pub path: PathBuf,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

impl CertFile {
    /// Reads a PEM (`CERTIFICATE`, the first one in the file) or DER
    /// certificate and checks that the core can parse it.
    pub fn load(path: &Path) -> Result<Self> {
        let data = read_small_file(path, "certificate")?;
        let der = if looks_like_pem(&data) || !data.starts_with(&[0x30]) {
            decode_file(&data, &["CERTIFICATE", "X509 CERTIFICATE"])
                .map_err(|e| Error::msg(format_args!("certificate '{}': {e}", path.display())))?
                .1
        } else {
            data
        };
        let cert = Self {
            path: path.to_path_buf(),
            der,
        };
        cert.parse()?;
        Ok(cert)
    }

    /// The core's view of the certificate.
    pub fn parse(&self) -> Result<CertificateRef<'_>> {
        CertificateRef::from_der(&self.der)
            .map_err(|e| Error::msg(format_args!("certificate '{}': {e}", self.path.display())))
    }

    /// `'path'`, for messages.
    pub fn name(&self) -> String {
        format!("'{}'", self.path.display())
    }
}

/// Every certificate in a file: a PEM bundle (all `CERTIFICATE` blocks) or
/// one DER certificate. Each is checked to parse.
pub fn load_cert_bundle(path: &Path) -> Result<Vec<CertFile>> {
    let data = read_small_file(path, "certificate")?;
    let fail = |e: &dyn std::fmt::Display| {
        Error::msg(format_args!("certificate '{}': {e}", path.display()))
    };
    let ders = if looks_like_pem(&data) || !data.starts_with(&[0x30]) {
        let ders: Vec<Vec<u8>> = decode_blocks(&data)
            .map_err(|e| fail(&e))?
            .into_iter()
            .filter(|(l, _)| {
                l == "CERTIFICATE" || l == "X509 CERTIFICATE" || l == "TRUSTED CERTIFICATE"
            })
            .map(|(_, d)| d)
            .collect();
        if ders.is_empty() {
            return Err(fail(&"no PEM CERTIFICATE block found"));
        }
        ders
    } else {
        vec![data]
    };
    let certs: Vec<CertFile> = ders
        .into_iter()
        .map(|der| CertFile {
            path: path.to_path_buf(),
            der,
        })
        .collect();
    for c in &certs {
        c.parse()?;
    }
    Ok(certs)
}

/// Every CRL in a file: PEM (`X509 CRL` blocks) or one DER CRL.
pub fn load_crls(path: &Path) -> Result<Vec<Vec<u8>>> {
    let data = read_small_file(path, "CRL")?;
    let fail =
        |e: &dyn std::fmt::Display| Error::msg(format_args!("CRL '{}': {e}", path.display()));
    let ders = if looks_like_pem(&data) || !data.starts_with(&[0x30]) {
        let ders: Vec<Vec<u8>> = decode_blocks(&data)
            .map_err(|e| fail(&e))?
            .into_iter()
            .filter(|(l, _)| l == "X509 CRL")
            .map(|(_, d)| d)
            .collect();
        if ders.is_empty() {
            return Err(fail(&"no PEM X509 CRL block found"));
        }
        ders
    } else {
        vec![data]
    };
    for d in &ders {
        smime_core::x509::CrlRef::from_der(d).map_err(|e| fail(&e))?;
    }
    Ok(ders)
}

/// Blinds the key's private operations with the system RNG: the tool
/// decrypts messages from anyone, so it does not offer an unblinded RSA
/// operation as a timing oracle.
fn blinded(key: SoftRsaKey) -> SoftRsaKey {
    key.with_rng(getrandom::SysRng)
}

/// A private key file's contents, with its path for messages.
#[derive(Debug, Clone)]
pub struct KeyFile {
    /// Where it came from.
    pub path: PathBuf,
    data: Vec<u8>,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        // Best effort: do not leave key bytes in freed memory.
        self.data.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&self.data);
    }
}

impl KeyFile {
    /// Reads a key file (not parsed yet: see [`KeyFile::key`]).
    pub fn read(path: &Path) -> Result<Self> {
        let data = read_small_file(path, "key")?;
        let k = Self {
            path: path.to_path_buf(),
            data,
        };
        k.key()?;
        Ok(k)
    }

    /// A key from its bytes (PEM or DER), e.g. decrypted from an encrypted
    /// key file; `path` names it in messages. Not parsed yet.
    pub fn from_bytes(path: &Path, data: Vec<u8>) -> Self {
        Self {
            path: path.to_path_buf(),
            data,
        }
    }

    /// Reads a key file without parsing it as an RSA key (EC and Ed25519
    /// keys: see [`KeyFile::pkcs8_der`]).
    pub fn read_any(path: &Path) -> Result<Self> {
        let data = read_small_file(path, "key")?;
        Ok(Self {
            path: path.to_path_buf(),
            data,
        })
    }

    /// The key as PKCS#8 DER (PEM `PRIVATE KEY` or DER). The caller should
    /// zero it after use.
    pub fn pkcs8_der(&self) -> Result<Vec<u8>> {
        let fail = |e: &dyn std::fmt::Display| {
            Error::msg(format_args!("key '{}': {e}", self.path.display()))
        };
        if !has_pem_block(&self.data) {
            return Ok(self.data.clone());
        }
        let text = std::str::from_utf8(&self.data).map_err(|_| fail(&"not UTF-8 text"))?;
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(fail(
                &"the key is password-protected; remove the protection first \
                  (openssl pkey -in KEY -out PLAIN)",
            ));
        }
        if text.contains("-----BEGIN EC PRIVATE KEY-----") {
            return Err(fail(
                &"SEC1 EC keys are not read; convert it to PKCS#8 first \
                  (openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY8)",
            ));
        }
        decode_file(&self.data, &["PRIVATE KEY"])
            .map(|(_, der)| der)
            .map_err(|e| fail(&e))
    }

    /// Parses the key: PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`) or DER
    /// (PKCS#8 or PKCS#1).
    pub fn key(&self) -> Result<SoftRsaKey> {
        let fail = |e: &dyn std::fmt::Display| {
            Error::msg(format_args!("key '{}': {e}", self.path.display()))
        };
        if has_pem_block(&self.data) {
            let text = std::str::from_utf8(&self.data).map_err(|_| fail(&"not UTF-8 text"))?;
            if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
                || text.contains("Proc-Type: 4,ENCRYPTED")
            {
                return Err(fail(
                    &"the key is password-protected; remove the protection first \
                      (openssl pkey -in KEY -out PLAIN)",
                ));
            }
            let (_, der) = decode_file(&self.data, &["PRIVATE KEY", "RSA PRIVATE KEY"])
                .map_err(|e| fail(&e))?;
            let key = SoftRsaKey::from_der(&der)
                .map_err(|e| fail(&e))
                .map(blinded);
            let mut der = der;
            der.iter_mut().for_each(|b| *b = 0);
            key
        } else {
            SoftRsaKey::from_der(&self.data)
                .map_err(|e| fail(&e))
                .map(blinded)
        }
    }

    /// `'path'`, for messages.
    pub fn name(&self) -> String {
        format!("'{}'", self.path.display())
    }
}

/// Whether `data` holds a PEM block anywhere (files written by `openssl
/// pkcs12` start with "Bag Attributes" lines).
fn has_pem_block(data: &[u8]) -> bool {
    looks_like_pem(data) || data.windows(11).any(|w| w == b"-----BEGIN ")
}
