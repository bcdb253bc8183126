//! The SignedData verifier on arbitrary input: no panic, no hang, and the
//! same outcome (error kind, or signer statuses and content) whatever the
//! chunking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smime_core::cms::signed::{SignedDataDecoder, SignerStatus, VerifyOptions};

type Outcome = Result<(Vec<u8>, Vec<SignerStatus>, usize, usize), smime_core::ErrorKind>;

fn run(data: &[u8], chunk: usize) -> Outcome {
    let mut scratch = [0u8; 8192];
    let mut out = vec![0u8; 1 << 16];
    let sink: &mut [u8] = &mut out;
    let mut dec = SignedDataDecoder::<&mut [u8]>::new(sink, &mut scratch, VerifyOptions::default());
    for piece in data.chunks(chunk.max(1)) {
        dec.write(piece).map_err(|e| e.kind())?;
    }
    let (rest, report) = dec.finish().map_err(|e| e.kind())?;
    let n = (1 << 16) - rest.len();
    let statuses = report.signers().iter().map(|s| s.status).collect();
    Ok((out[..n].to_vec(), statuses, report.certificates().count(), report.crls().count()))
}

fuzz_target!(|data: &[u8]| {
    let a = run(data, data.len());
    let b = run(data, 1);
    assert_eq!(a, b, "chunking changed the outcome");
});
