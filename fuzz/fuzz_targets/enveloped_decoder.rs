//! The EnvelopedData decoder on arbitrary input, with a fixed key: every input
//! ends in an error or a report; no panic, no hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smime_core::backend::{
    BackendErrorKind, ErrorType, KeyTransAlgorithm, KeyTransDecrypter, RecipientId,
};
use smime_core::cms::enveloped::{DecryptOptions, EnvelopedDataDecoder};

/// A key that names no certificate and "unwraps" every recipient info to a fixed 16-byte key, so the content path runs too.
struct FixedKey;
impl ErrorType for FixedKey {
    type Error = BackendErrorKind;
}
impl KeyTransDecrypter for FixedKey {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        None
    }
    fn decrypt_key(&mut self, _: &KeyTransAlgorithm<'_>, _: &[u8], out: &mut [u8]) -> Result<usize, BackendErrorKind> {
        // Pretend to succeed with a 16-byte key so the content path runs.
        out[..16].fill(0x42);
        Ok(16)
    }
}

struct ZeroRng;
impl rand_core::TryRng for ZeroRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok(0) }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> { Ok(0) }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> { d.fill(7); Ok(()) }
}
impl rand_core::TryCryptoRng for ZeroRng {}

struct Sink;
impl embedded_io::ErrorType for Sink { type Error = core::convert::Infallible; }
impl embedded_io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> Result<usize, Self::Error> { Ok(b.len()) }
    fn flush(&mut self) -> Result<(), Self::Error> { Ok(()) }
}

fuzz_target!(|data: &[u8]| {
    let split = data.first().map(|b| usize::from(*b) + 1).unwrap_or(1);
    let mut scratch = [0u8; 2048];
    let mut keys = [FixedKey];
    let mut dec = EnvelopedDataDecoder::<_, _, Sink>::new(Sink, &mut keys, ZeroRng, &mut scratch, DecryptOptions::default());
    for piece in data.chunks(split) {
        if dec.write(piece).is_err() {
            return;
        }
    }
    let _ = dec.finish();
});
