//! The core's encrypt and decrypt paths allocate nothing.
//!
//! A counting global allocator counts the allocations made on this test's
//! thread while the core runs. The software RSA backend (the `rsa` crate)
//! allocates in its private-key operation; that call is the backend's work,
//! not the core's, so counting pauses inside it (the wrapper below). The
//! public-key side (wrapping the CEK for a recipient) is the core's own and is
//! counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation, clippy::collapsible_if, clippy::manual_repeat_n)]
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use smime_core::backend::{ErrorType, KeyTransAlgorithm, KeyTransDecrypter, RecipientId};
use smime_core::cipher::ContentCipher;
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, KeyTransport, Recipient, RecipientIdKind,
};
use smime_core::soft::SoftRsaKey;
use smime_core::x509::CertificateRef;

struct Counting;

thread_local! {
    /// Whether this thread's allocations are being counted.
    static COUNT: Cell<bool> = const { Cell::new(false) };
    /// This thread's counted allocations (per thread: tests run in parallel).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn bump() {
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
}

fn counting() -> bool {
    COUNT.try_with(|c| c.get()).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            bump();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            bump();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` with allocation counting on; returns the count.
fn count<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    COUNT.with(|c| c.set(true));
    let r = f();
    COUNT.with(|c| c.set(false));
    (r, ALLOCATIONS.with(Cell::get) - before)
}

/// The software key, with counting paused during its own private-key operation.
struct Uncounted(SoftRsaKey);

impl ErrorType for Uncounted {
    type Error = <SoftRsaKey as ErrorType>::Error;
}

impl KeyTransDecrypter for Uncounted {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        self.0.recipient_id()
    }
    fn decrypt_key(
        &mut self,
        alg: &KeyTransAlgorithm<'_>,
        ek: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Self::Error> {
        let was = COUNT.with(|c| c.replace(false));
        let r = self.0.decrypt_key(alg, ek, out);
        COUNT.with(|c| c.set(was));
        r
    }
}

#[test]
fn counter_sees_allocations() {
    // The instrument works: a Vec allocation is counted.
    let (_v, n) = count(|| std::hint::black_box(Vec::<u8>::with_capacity(10)));
    assert!(n >= 1);
}

#[test]
fn encrypt_and_decrypt_allocate_nothing() {
    let bob = common::bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    let msg: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let mut ct_buf = vec![0u8; 200_000];
    let mut pt_buf = vec![0u8; 200_000];
    let mut keys = [Uncounted(common::bob_key())];

    for (cipher, kt, definite) in [
        (ContentCipher::Aes256Cbc, KeyTransport::RsaPkcs1v15, false),
        (ContentCipher::Aes128Cbc, KeyTransport::RsaOaep(smime_core::backend::HashAlgorithm::Sha256), true),
    ] {
        let recipients = [Recipient { cert, id: RecipientIdKind::IssuerAndSerial, key_transport: kt }];
        let options = EncryptOptions {
            cipher,
            content_len: definite.then_some(msg.len() as u64),
            ..Default::default()
        };
        let (ct_len, allocs) = count(|| {
            let mut rng = getrandom::SysRng;
            let sink: &mut [u8] = &mut ct_buf[..];
            let mut enc =
                EnvelopedDataEncoder::<&mut [u8]>::new(sink, &recipients, &options, &mut rng).unwrap();
            for part in msg.chunks(1000) {
                enc.write(part).unwrap();
            }
            let rest = enc.finish().unwrap();
            200_000 - rest.len()
        });
        assert_eq!(allocs, 0, "encryption allocated {allocs} times");

        for chunk in [1usize, 4096] {
            let ct = &ct_buf[..ct_len];
            let ((pt_len, report), allocs) = count(|| {
                let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
                let sink: &mut [u8] = &mut pt_buf[..];
                let mut dec = EnvelopedDataDecoder::<_, _, &mut [u8]>::new(
                    sink,
                    &mut keys[..],
                    getrandom::SysRng,
                    &mut scratch,
                    DecryptOptions::default(),
                );
                for part in ct.chunks(chunk) {
                    dec.write(part).unwrap();
                }
                let (rest, report) = dec.finish().unwrap();
                (200_000 - rest.len(), report)
            });
            assert_eq!(allocs, 0, "decryption allocated {allocs} times (chunk {chunk})");
            assert_eq!(report.cipher, cipher);
            assert_eq!(&pt_buf[..pt_len], &msg[..]);
        }
    }
}
