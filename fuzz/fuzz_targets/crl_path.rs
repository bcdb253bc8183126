//! CRLs and path validation on arbitrary input: no panic, no hang. The input
//! is split into length-prefixed pieces: a CRL, then certificates (the first
//! is the leaf, the second an anchor, the rest intermediates); whatever
//! parses is validated, with the CRL when it parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smime_core::x509::path::{Purpose, ValidationOptions, validate};
use smime_core::x509::{CertificateRef, CrlRef, Time};

/// Splits off a piece whose length is given by the first two input bytes
/// (always consumes at least one byte of a non-empty input).
fn take<'a>(data: &mut &'a [u8]) -> &'a [u8] {
    let &[a, b, ref rest @ ..] = *data else {
        *data = &[];
        return &[];
    };
    let n = usize::from(u16::from_be_bytes([a, b])).min(rest.len());
    let (piece, rest) = rest.split_at(n);
    *data = rest;
    piece
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let crl = CrlRef::from_der(take(&mut data)).ok();
    if let Some(c) = &crl {
        let _ = (c.issuer().to_string(), c.this_update(), c.next_update(), c.limitation());
        let _ = (c.crl_number(), c.authority_key_id(), c.extensions().count());
        for r in c.revoked() {
            assert!(c.is_revoked(r.serial).is_some());
        }
    }
    let mut certs = Vec::new();
    while !data.is_empty() && certs.len() < 12 {
        if let Ok(c) = CertificateRef::from_der(take(&mut data)) {
            certs.push(c);
        }
    }
    let Some((leaf, rest)) = certs.split_first() else { return };
    let (anchors, intermediates) = rest.split_at(rest.len().min(1));
    let crls: Vec<CrlRef<'_>> = crl.into_iter().collect();
    let mut options = ValidationOptions::new(Time::from_unix(1_700_000_000));
    options.crls = &crls;
    options.purpose = Purpose::Any;
    let report = validate(leaf, intermediates, anchors, &options);
    assert!(report.chain().len() <= smime_core::x509::path::MAX_CHAIN);
    for f in report.findings() {
        let _ = f.to_string();
    }
    let _ = (report.is_valid(), report.email_matches(b"a@b.example"));
});
