//! The certificate view on arbitrary input (complements `crl_path`, which
//! fuzzes CRLs and chains): every accessor of a `CertificateRef` that
//! parses, name display, extensions, subject alternative names, key usage,
//! RSA key, signature check against itself, and path validation of the
//! certificate as its own anchor and under a fixed test CA (the fuzz keys).
//!
//! Checked: no panic, no hang; every slice the view returns lies inside the
//! input; the DER returned is the input's first TLV; iterators end.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use smime_core::x509::path::{Purpose, ValidationOptions, validate};
use smime_core::x509::{CertificateRef, GeneralName, Time};

fn inside(outer: &[u8], inner: &[u8]) {
    if inner.is_empty() {
        return;
    }
    let o = outer.as_ptr_range();
    let i = inner.as_ptr_range();
    assert!(i.start >= o.start && i.end <= o.end, "slice outside the input");
}

fuzz_target!(|data: &[u8]| {
    let Ok(c) = CertificateRef::from_der(data) else { return };
    let der = c.der();
    inside(data, der);
    assert_eq!(der.as_ptr(), data.as_ptr());
    for s in [c.tbs_der(), c.serial(), c.issuer_der(), c.subject_der(), c.spki_der()] {
        inside(der, s);
    }
    for s in [c.public_key_algorithm(), c.public_key(), c.signature_algorithm_der()] {
        inside(der, s);
    }
    inside(der, c.tbs_signature_algorithm_der());
    inside(der, c.signature());
    let _ = (c.version(), c.not_before(), c.not_after(), c.is_valid_at(Time::from_unix(1_700_000_000)));
    let _ = (c.issuer().to_string(), c.subject().to_string(), c.subject().email());
    for a in c.subject().attributes().take(1000) {
        let _ = (a.short_name(), a.to_string(), a.chars().map(|i| i.take(1000).count()));
    }
    if let Some(p) = c.public_key_parameters() {
        inside(der, p);
    }
    if let Some(k) = c.rsa_public_key() {
        let _ = (k.bits(), k.size());
    }
    let _ = (c.subject_key_id(), c.authority_key_id(), c.key_usage().map(|k| k.to_string()));
    let _ = (c.basic_constraints(), c.is_ca(), c.check_key_encipherment(), c.check_signature_usage());
    let _ = c.recipient_id();
    let mut n = 0;
    for e in c.extensions() {
        n += 1;
        assert!(n <= der.len(), "extension iterator does not end");
        inside(der, e.value);
        let _ = c.extension(e.oid);
    }
    if let Some(names) = c.subject_alt_names() {
        for (i, g) in names.enumerate() {
            assert!(i <= der.len());
            if let GeneralName::Directory(d) = g {
                let _ = d.to_string();
            }
        }
    }
    assert!(c.rfc822_names().take(der.len() + 2).count() <= der.len());
    if let Some(ekus) = c.extended_key_usage() {
        assert!(ekus.take(der.len() + 2).count() <= der.len());
    }
    let _ = (c.fingerprint_sha1(), c.fingerprint_sha256());
    let _ = c.verify_issued_by(&c);

    // Path validation: the certificate as its own anchor, and as a leaf
    // under the fixed test certificates.
    let rsa = CertificateRef::from_der(common::keys::RSA_CERT).expect("test cert");
    let ec = CertificateRef::from_der(common::keys::P256_CERT).expect("test cert");
    for purpose in [Purpose::Any, Purpose::Signing, Purpose::KeyTransport] {
        let mut options = ValidationOptions::new(Time::from_unix(1_700_000_000));
        options.purpose = purpose;
        let r = validate(&c, &[], &[c], &options);
        let _ = (r.is_valid(), r.email_matches(b"fuzz@example.org"), r.findings().len());
        let r = validate(&c, &[ec], &[rsa], &options);
        assert!(r.chain().len() <= smime_core::x509::path::MAX_CHAIN);
    }
});
