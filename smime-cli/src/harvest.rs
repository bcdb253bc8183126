//! `smime certs harvest MAIL --store DIR`: the certificate exchange users
//! otherwise do by hand. A partner sends a signed mail; its signer's
//! certificates (and the chain the message carries) go into a store keyed
//! by e-mail address, and the certificate the partner asked to be encrypted
//! to (SMIMEEncryptionKeyPreference, RFC 8551 §2.5.3) is remembered, so that
//! `smime encrypt --to partner@example.com --store DIR` just works.
//!
//! Only a message whose signatures verify is harvested (its certificate
//! chain is not judged here: trust is a decision for when it is used).

use std::cell::RefCell;

use embedded_io_adapters::std::FromStd;
use smime_core::ber::{SliceReader, Tag};
use smime_core::cms::signed::{SignedDataDecoder, SignedDataReport, VerifyOptions};
use smime_core::x509::CertificateRef;

use crate::cli::{CertsHarvestArgs, MessageForm};
use crate::decrypt::detect;
use crate::describe::colon_hex;
use crate::error::{Error, Result};
use crate::io::{Failure, Input};
use crate::mail::{self, Buffers, Layer, Peel, read_first};
use crate::store::{Store, cert_addresses};

/// The certificates a signed message carries, and what its signers said.
#[derive(Debug, Default)]
pub struct Harvest {
    /// Every certificate in the message (signed layers, outermost first).
    pub certificates: Vec<Vec<u8>>,
    /// The signer certificates.
    pub signers: Vec<Vec<u8>>,
    /// The certificates named by the signers' encryption key preference.
    pub preferred: Vec<Vec<u8>>,
    /// Each signer's certificate with the SMIMECapabilities it announced.
    pub capabilities: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether every signature verifies.
    pub valid: bool,
    /// The address in the mail's From field.
    pub from: Option<String>,
}

impl Harvest {
    fn add(&mut self, report: &SignedDataReport<'_>) {
        let certs: Vec<CertificateRef<'_>> = report.certificates().collect();
        for c in &certs {
            push_once(&mut self.certificates, c.der());
        }
        for s in report.signers() {
            if let Some(c) = &s.signer_cert {
                push_once(&mut self.certificates, c.der());
                push_once(&mut self.signers, c.der());
                if let Some(caps) = s.smime_capabilities {
                    self.capabilities.retain(|(d, _)| d != c.der());
                    self.capabilities.push((c.der().to_vec(), caps.to_vec()));
                }
            }
            if let Some(p) = s
                .encryption_key_preference
                .and_then(|ekp| preferred(ekp, &certs))
            {
                push_once(&mut self.preferred, p.der());
            }
        }
        self.valid &= report.all_valid();
    }
}

fn push_once(v: &mut Vec<Vec<u8>>, der: &[u8]) {
    if !v.iter().any(|d| d == der) {
        v.push(der.to_vec());
    }
}

/// The certificate an SMIMEEncryptionKeyPreference value names:
/// `issuerAndSerialNumber [0]` or `subjectAltKeyIdentifier [2]`.
fn preferred<'c>(ekp: &[u8], certs: &[CertificateRef<'c>]) -> Option<CertificateRef<'c>> {
    let mut r = SliceReader::new(ekp);
    let t = r.next_tlv().ok()??;
    if t.tag == Tag::context(0, true) {
        let mut inner = t.reader();
        let issuer = inner.next_tlv().ok()??;
        let serial = inner.read_expect(Tag::INTEGER).ok()?;
        certs
            .iter()
            .find(|c| c.issuer_der() == issuer.raw && c.serial() == serial.value)
            .copied()
    } else if t.tag == Tag::context(2, false) {
        certs
            .iter()
            .find(|c| c.subject_key_id() == Some(t.value))
            .copied()
    } else {
        None
    }
}

/// Reads a signed message (mail, DER or PEM) and collects its certificates.
pub fn collect(path: &std::path::Path) -> Result<Harvest> {
    let mut input = Input::open(Some(path))?;
    let first = read_first(&mut input)?;
    let mut h = Harvest {
        valid: true,
        ..Harvest::default()
    };
    let fail = |f: Failure| match f {
        Failure::Core(e) => Error::msg(format_args!(
            "{}: not a signed message: {e}",
            input_name(path)
        )),
        Failure::Tool(e) => Error::msg(format_args!("{}: {e}", input_name(path))),
    };
    match detect(&first) {
        MessageForm::Smime => {
            let out: RefCell<std::io::Sink> = RefCell::new(std::io::sink());
            let mut buffers = Buffers::new();
            let opened = mail::open(
                Peel::Signatures,
                &first,
                &mut input,
                &out,
                &mut buffers,
                &mut [],
                &[],
            )
            .map_err(fail)?;
            h.from = opened.from.clone();
            for layer in &opened.layers {
                if let Layer::Signed { report, .. } = layer {
                    h.add(report);
                }
            }
        }
        form => {
            let mut scratch = vec![0u8; mail::SCRATCH_LEN];
            let dec = SignedDataDecoder::<_>::new(
                FromStd::new(std::io::sink()),
                &mut scratch,
                VerifyOptions::default(),
            );
            let (_, report) = crate::verify::decode(dec, form, &first, &mut input).map_err(fail)?;
            h.add(&report);
        }
    }
    Ok(h)
}

fn input_name(path: &std::path::Path) -> String {
    format!("'{}'", path.display())
}

/// Runs `smime certs harvest`.
pub fn run(a: &CertsHarvestArgs) -> Result<()> {
    let h = collect(&a.mail)?;
    if h.signers.is_empty() {
        return Err(Error::msg(format_args!(
            "{}: no signer certificate in the message (nothing to harvest)",
            input_name(&a.mail)
        )));
    }
    if !h.valid {
        return Err(Error::msg(format_args!(
            "{}: the signature does not verify; no certificate was harvested",
            input_name(&a.mail)
        )));
    }
    let store = Store::open(&a.store)?;
    for der in &h.certificates {
        let added = store.add(der)?;
        let c = CertificateRef::from_der(der)?;
        let whom = if added.addresses.is_empty() {
            "(CA)".to_owned()
        } else {
            added.addresses.join(", ")
        };
        println!(
            "{} {whom}: {}  SHA-256 {}",
            if added.new { "added" } else { "known" },
            c.subject(),
            colon_hex(&c.fingerprint_sha256())
        );
    }
    for der in &h.preferred {
        store.set_preferred(der)?;
        let c = CertificateRef::from_der(der)?;
        println!("preferred for encryption: {}", c.subject());
    }
    for (cert, caps) in &h.capabilities {
        store.set_capabilities(cert, caps)?;
        let c = CertificateRef::from_der(cert)?;
        let aead = smime_core::cms::capabilities::all_announce_aead(&[caps]);
        println!(
            "capabilities of {}: {}",
            c.subject(),
            if aead {
                "AuthEnvelopedData (AES-GCM): `smime encrypt --to` uses AES-256-GCM"
            } else {
                "no AES-GCM announced: `smime encrypt --to` uses AES-256-CBC"
            }
        );
    }
    if let Some(from) = &h.from {
        let matches = h.signers.iter().any(|d| {
            CertificateRef::from_der(d).is_ok_and(|c| {
                cert_addresses(&c)
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(from))
            })
        });
        if !matches {
            eprintln!("smime: warning: the From address {from} is not in the signer's certificate");
        }
    }
    Ok(())
}
