//! The push tokenizer and the slice reader on arbitrary input: no panic, no
//! hang, and the same tokens whatever the chunking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smime_core::ber::{SliceReader, Token, Tokenizer};

fn run(data: &[u8], chunk: usize) -> (Vec<(u8, usize)>, Option<smime_core::ErrorKind>) {
    let mut t = Tokenizer::new();
    let mut seen = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        let mut pos = 0;
        loop {
            match t.next(&piece[pos..]) {
                Ok((n, tok)) => {
                    pos += n;
                    match tok {
                        None => break,
                        Some(Token::Start(h)) => seen.push((h.tag.first_octet(), h.depth)),
                        Some(Token::Data(d)) => seen.push((0xFF, d.len().min(1))),
                        Some(Token::End(e)) => seen.push((0xFE, e.depth)),
                    }
                }
                Err(e) => return (seen, Some(e.kind())),
            }
        }
    }
    (seen, t.finish().err().map(|e| e.kind()))
}

fuzz_target!(|data: &[u8]| {
    let (_, e1) = run(data, data.len());
    let (_, e2) = run(data, 1);
    assert_eq!(e1, e2, "chunking changed the outcome");
    let mut r = SliceReader::new(data);
    while let Ok(Some(tlv)) = r.next_tlv() {
        let mut inner = tlv.reader();
        while let Ok(Some(_)) = inner.next_tlv() {}
    }
});
