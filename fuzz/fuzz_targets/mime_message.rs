//! The mail reader on arbitrary input: header splitting, then a
//! multipart/signed verifier or a base64 body decoder into the SignedData
//! decoder, as the entity says. No panic, no hang, and the same outcome
//! (error kind, or outer fields, content and signer statuses) whatever the
//! chunking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smime_core::cms::signed::{SignedDataDecoder, SignerStatus, VerifyOptions};
use smime_core::mime::{BodyDecoder, EntityKind, MessageSplitter, MultipartSignedReader};

type Outcome = Result<(Vec<u8>, Vec<u8>, Vec<SignerStatus>), smime_core::ErrorKind>;

fn run(data: &[u8], chunk: usize) -> Outcome {
    let mut field = [0u8; 512];
    let mut content = [0u8; 512];
    let mut sig_field = [0u8; 512];
    let mut scratch = [0u8; 8192];
    let mut s = MessageSplitter::new(&mut field, &mut content);
    let mut outer = Vec::new();
    let mut pos = 0;
    for piece in data.chunks(chunk.max(1)) {
        let (n, done) = s.push(piece, &mut outer).map_err(|e| e.kind())?;
        pos += n;
        if done {
            break;
        }
    }
    if !s.is_done() {
        s.finish(&mut outer).map_err(|e| e.kind())?;
    }
    let body = &data[pos..];
    let info = s.info();
    match info.kind {
        EntityKind::MultipartSigned => {
            let boundary = s.boundary().ok_or(smime_core::ErrorKind::InvalidValue)?;
            let mut r = MultipartSignedReader::new(
                Vec::new(),
                boundary,
                info.micalg,
                &mut sig_field,
                &mut scratch,
                VerifyOptions::default(),
            )
            .map_err(|e| e.kind())?;
            for piece in body.chunks(chunk.max(1)) {
                r.write(piece).map_err(|e| e.kind())?;
            }
            let (inner, report, _) = r.finish().map_err(|e| e.kind())?;
            Ok((outer, inner, report.signers().iter().map(|s| s.status).collect()))
        }
        EntityKind::Pkcs7Mime(_) => {
            let dec = SignedDataDecoder::<Vec<u8>>::new(
                Vec::new(),
                &mut scratch,
                VerifyOptions::default(),
            );
            let mut b = BodyDecoder::new(info.transfer_encoding, dec).map_err(|e| e.kind())?;
            for piece in body.chunks(chunk.max(1)) {
                b.write(piece).map_err(|e| e.kind())?;
            }
            let (inner, report) =
                b.finish().map_err(|e| e.kind())?.finish().map_err(|e| e.kind())?;
            Ok((outer, inner, report.signers().iter().map(|s| s.status).collect()))
        }
        EntityKind::Plain => Ok((outer, body.to_vec(), Vec::new())),
    }
}

fuzz_target!(|data: &[u8]| {
    let a = run(data, data.len());
    let b = run(data, 1);
    let c = run(data, 7);
    assert_eq!(a, b, "chunking changed the outcome");
    assert_eq!(a, c, "chunking changed the outcome");
});
