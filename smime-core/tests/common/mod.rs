//! Shared helpers for the integration tests: interop files, keys, chunked feeding.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, DecryptReport, EnvelopedDataDecoder,
};
use smime_core::soft::SoftRsaKey;
use smime_core::Error;

/// The shared interop folder (`../shared/interop` beside the repository).
pub fn interop(rel: &str) -> PathBuf {
    let base = std::env::var_os("SMIME_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop"));
    let p = base.join(rel);
    assert!(p.exists(), "interop sample missing: {} (set SMIME_INTEROP_DIR)", p.display());
    p
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(interop(rel)).expect("read interop file")
}

/// DER from a PEM or DER file.
pub fn der(rel: &str) -> Vec<u8> {
    let data = read(rel);
    if data.starts_with(b"-----BEGIN") {
        pem_rfc7468::decode_vec(&data).expect("PEM").1
    } else {
        data
    }
}

pub fn bob_cert() -> Vec<u8> {
    der("examples-cms/certs-and-keys/lamps-bob.encrypt.crt")
}

pub fn bob_key() -> SoftRsaKey {
    SoftRsaKey::from_der(&der("examples-cms/certs-and-keys/lamps-bob.decrypt.p8.pem"))
        .expect("bob key")
        .with_certificate(&bob_cert())
        .expect("bob cert matches")
}

pub fn alice_cert() -> Vec<u8> {
    der("examples-cms/certs-and-keys/lamps-alice.crt")
}

pub fn alice_key() -> SoftRsaKey {
    SoftRsaKey::from_der(&der("examples-cms/certs-and-keys/lamps-alice.p8.pem"))
        .expect("alice key")
        .with_certificate(&alice_cert())
        .expect("alice cert matches")
}

/// How a message is fed to a decoder.
#[derive(Clone, Copy, Debug)]
pub enum Chunking {
    Whole,
    Bytes(usize),
    Random(u64),
}

pub const ALL_CHUNKINGS: [Chunking; 5] = [
    Chunking::Whole,
    Chunking::Bytes(1),
    Chunking::Bytes(7),
    Chunking::Random(1),
    Chunking::Random(0xdead_beef),
];

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Splits `data` according to `c`.
pub fn pieces(data: &[u8], c: Chunking) -> Vec<&[u8]> {
    match c {
        Chunking::Whole => vec![data],
        Chunking::Bytes(n) => data.chunks(n).collect(),
        Chunking::Random(seed) => {
            let mut rng = XorShift(seed | 1);
            let mut out = Vec::new();
            let mut rest = data;
            while !rest.is_empty() {
                let n = ((rng.next() % 700) as usize + 1).min(rest.len());
                out.push(&rest[..n]);
                rest = &rest[n..];
            }
            out
        }
    }
}

/// Decrypts `msg` with `keys`, fed as `c` says.
pub fn decrypt_with(
    msg: &[u8],
    keys: &mut [SoftRsaKey],
    c: Chunking,
    options: DecryptOptions,
) -> Result<(Vec<u8>, DecryptReport), Error> {
    let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
    let mut dec = EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
        Vec::new(),
        keys,
        getrandom::SysRng,
        &mut scratch,
        options,
    );
    for p in pieces(msg, c) {
        dec.write(p)?;
    }
    dec.finish()
}

/// Decrypts under every chunking and checks they agree; returns the result.
pub fn decrypt_all_chunkings(
    msg: &[u8],
    keys: &mut [SoftRsaKey],
) -> Result<(Vec<u8>, DecryptReport), Error> {
    let first = decrypt_with(msg, keys, Chunking::Whole, DecryptOptions::default());
    for c in ALL_CHUNKINGS {
        let r = decrypt_with(msg, keys, c, DecryptOptions::default());
        match (&first, &r) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "chunking {c:?} changed the output"),
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "chunking {c:?} changed the error"),
            _ => panic!("chunking {c:?}: {first:?} vs {r:?}"),
        }
    }
    first
}
