//! Round trip: encrypt the input's content with the streaming encoder, then
//! decrypt: the content must come back unchanged (AuthEnvelopedData: AES-GCM, ChaCha20-Poly1305; also two-pass).
//! See fuzz_targets/common/envelope.rs.
#![no_main]

#[path = "common/mod.rs"]
mod common;
#[path = "common/envelope.rs"]
mod envelope;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| envelope::run(data, true));
