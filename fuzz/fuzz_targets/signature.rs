//! Signature algorithm identifiers and signature verification on arbitrary
//! input: no panic; whatever parses re-encodes to something that parses to
//! the same algorithm (the inverse property).
#![no_main]

use libfuzzer_sys::fuzz_target;
use smime_core::backend::HashAlgorithm;
use smime_core::pubkey::signature::MAX_ALGORITHM_ID_LEN;
use smime_core::pubkey::{SignatureAlgorithm, verify_message, verify_prehashed};

/// Splits off a piece whose length is given by the first input byte.
fn take<'a>(data: &mut &'a [u8]) -> &'a [u8] {
    let Some((&n, rest)) = data.split_first() else { return &[] };
    let n = usize::from(n).min(rest.len());
    let (piece, rest) = rest.split_at(n);
    *data = rest;
    piece
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let alg_der = take(&mut data);
    let spki = take(&mut data);
    let sig = take(&mut data);
    let msg = data;
    for parsed in [
        SignatureAlgorithm::from_der(alg_der),
        SignatureAlgorithm::from_der_with_digest(alg_der, HashAlgorithm::Sha256),
    ] {
        let Ok(alg) = parsed else { continue };
        let mut buf = [0u8; MAX_ALGORITHM_ID_LEN];
        let n = alg.encode(&mut buf).expect("encode fits MAX_ALGORITHM_ID_LEN");
        assert_eq!(SignatureAlgorithm::from_der(&buf[..n]).ok(), Some(alg), "round trip");
        let _ = verify_message(spki, &alg, msg, sig);
        let _ = verify_prehashed(spki, &alg, msg, sig);
    }
});
