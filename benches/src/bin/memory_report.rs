//! Memory report of smime-core: heap allocations, peak RSS over message
//! sizes, stack high-water marks and the RAM each streaming stage holds.
//!
//! ```sh
//! cargo run --release -p smime-benches --bin memory-report              # RSS up to 1 GiB
//! cargo run --release -p smime-benches --bin memory-report -- --quick   # RSS up to 16 MiB
//! cargo run --release -p smime-benches --bin memory-report -- --max 256M
//! ```
//!
//! 1. **Heap allocations** made inside core operations (encrypt, decrypt,
//!    sign, verify, the MIME pipeline), counted by a counting global
//!    allocator while the operation runs, with fixed buffers as sinks.
//!    The `rsa` crate's private-key operation (the software RSA backend, not
//!    the core) allocates; counting pauses inside it. Must be 0.
//! 2. **Peak RSS** (`VmHWM` of `/proc/self/status`) of a child process per
//!    size that streams a generated message through the EnvelopedData
//!    encoder straight into the decoder (AES-256-CBC, RSA-2048) and checks
//!    the plaintext that comes out: no file, no buffer of the message.
//! 3. **Stack high-water mark** of each operation: it runs on a thread whose
//!    stack is a buffer we allocate and paint with a pattern
//!    (`pthread_attr_setstack`); afterwards the bytes from the low end that
//!    still hold the pattern were never touched. The use of a thread that
//!    does nothing (glibc keeps the thread descriptor and TLS at the top of
//!    a caller-given stack) is subtracted.
//! 4. **RAM of each streaming stage**: `size_of` of each encoder and decoder
//!    type with its default const parameters, and the scratch buffers
//!    callers give.
//!
//! Exits with status 1 if an operation allocated.
#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::process::{Command, ExitCode};

use smime_benches::{KeyPair, data, mail, mime_decrypt_verify, mime_sign_encrypt};
use smime_core::backend::{
    ErrorType, KeyTransAlgorithm, KeyTransDecrypter, RecipientId, Signer, ToBeSigned,
};
use smime_core::cipher::{CipherSet, ContentCipher, Policy};
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN as ENV_SCRATCH_LEN, DecryptOptions, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, Recipient,
};
use smime_core::cms::sign::{
    DEFAULT_SCRATCH_LEN as SIGN_SCRATCH_LEN, SignOptions, SignedDataEncoder,
};
use smime_core::cms::signed::{
    DEFAULT_SCRATCH_LEN as VERIFY_SCRATCH_LEN, SignedDataDecoder, VerifyOptions,
};
use smime_core::soft::SoftRsaKey;
use smime_core::soft_ec::{SoftEcKey, SoftEd25519Key};
use smime_core::x509::CertificateRef;

// ---------------------------------------------------------------------------
// Counting allocator

struct Counting;

thread_local! {
    static COUNT: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn counting() -> bool {
    COUNT.try_with(Cell::get).unwrap_or(false)
}

fn bump() {
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
}

// SAFETY: forwards to the system allocator; counting touches only
// const-initialised thread-locals (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            bump();
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            bump();
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` with counting on; the allocations it made on this thread.
fn count(f: &mut dyn FnMut()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    COUNT.with(|c| c.set(true));
    f();
    COUNT.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get) - before
}

/// Runs `f` with counting paused (the software RSA backend's own work).
fn uncounted<T>(f: impl FnOnce() -> T) -> T {
    let was = COUNT.with(|c| c.replace(false));
    let r = f();
    COUNT.with(|c| c.set(was));
    r
}

/// The software RSA key, its private-key operations not counted.
struct Rsa(SoftRsaKey);

impl ErrorType for Rsa {
    type Error = <SoftRsaKey as ErrorType>::Error;
}

impl KeyTransDecrypter for Rsa {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        self.0.recipient_id()
    }
    fn decrypt_key(
        &mut self,
        alg: &KeyTransAlgorithm<'_>,
        ek: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Self::Error> {
        uncounted(|| self.0.decrypt_key(alg, ek, out))
    }
}

impl Signer for Rsa {
    fn algorithm(&self) -> smime_core::pubkey::SignatureAlgorithm {
        Signer::algorithm(&self.0)
    }
    fn certificate(&self) -> Option<&[u8]> {
        Signer::certificate(&self.0)
    }
    fn max_signature_len(&self) -> usize {
        Signer::max_signature_len(&self.0)
    }
    fn sign(&mut self, tbs: &ToBeSigned<'_>, out: &mut [u8]) -> Result<usize, Self::Error> {
        uncounted(|| Signer::sign(&mut self.0, tbs, out))
    }
}

// ---------------------------------------------------------------------------
// Stack painting

const STACK_LEN: usize = 8 << 20;
const PAINT: u8 = 0xA5;

extern "C" fn trampoline(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `arg` is the `&mut &mut dyn FnMut()` that `stack_use` passes,
    // alive until it has joined this thread.
    let f = unsafe { &mut *arg.cast::<&mut dyn FnMut()>() };
    f();
    std::ptr::null_mut()
}

/// The bytes of stack `f` touched, running on a painted stack of its own.
fn stack_touched(mut f: &mut dyn FnMut()) -> usize {
    let layout = Layout::from_size_align(STACK_LEN, 4096).unwrap();
    // SAFETY: a non-zero size; freed below with the same layout.
    let base = unsafe { std::alloc::alloc(layout) };
    assert!(!base.is_null());
    // SAFETY: `base` is valid for STACK_LEN bytes; the thread that uses it
    // as its stack is joined before the memory is read or freed, and the
    // closure it runs outlives it (we block in pthread_join).
    unsafe {
        std::ptr::write_bytes(base, PAINT, STACK_LEN);
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        assert_eq!(libc::pthread_attr_init(&mut attr), 0);
        assert_eq!(
            libc::pthread_attr_setstack(&mut attr, base.cast(), STACK_LEN),
            0
        );
        let mut t: libc::pthread_t = std::mem::zeroed();
        let arg = (&raw mut f).cast::<libc::c_void>();
        assert_eq!(libc::pthread_create(&mut t, &attr, trampoline, arg), 0);
        assert_eq!(libc::pthread_join(t, std::ptr::null_mut()), 0);
        libc::pthread_attr_destroy(&mut attr);
        let stack = std::slice::from_raw_parts(base, STACK_LEN);
        let untouched = stack.iter().take_while(|b| **b == PAINT).count();
        std::alloc::dealloc(base, layout);
        STACK_LEN - untouched
    }
}

// ---------------------------------------------------------------------------
// The operations

fn policy() -> Policy {
    Policy {
        produce: CipherSet::ALL,
        ..Policy::DEFAULT
    }
}

struct Fixtures {
    recipient: KeyPair,
    rsa_signer: KeyPair,
    p256: KeyPair,
    ed25519: KeyPair,
    plain: Vec<u8>,
    mail: Vec<u8>,
}

fn rsa(kp: &KeyPair) -> Rsa {
    Rsa(SoftRsaKey::from_pem(&kp.key_pem)
        .unwrap()
        .with_certificate(&kp.cert_der)
        .unwrap()
        .with_rng(getrandom::SysRng))
}

fn encrypt_into(cert: &[u8], cipher: ContentCipher, plain: &[u8], out: &mut [u8]) -> usize {
    let cert = CertificateRef::from_der(cert).unwrap();
    let options = EncryptOptions {
        cipher,
        policy: policy(),
        ..Default::default()
    };
    let cap = out.len();
    let mut enc = EnvelopedDataEncoder::<&mut [u8]>::new(
        out,
        &[Recipient::new(cert)],
        &options,
        &mut getrandom::SysRng,
    )
    .unwrap();
    for part in plain.chunks(4096) {
        enc.write(part).unwrap();
    }
    cap - enc.finish().unwrap().len()
}

fn decrypt_into(key: &mut Rsa, ct: &[u8], out: &mut [u8]) -> usize {
    let mut scratch = [0u8; ENV_SCRATCH_LEN];
    let cap = out.len();
    let mut dec = EnvelopedDataDecoder::<_, _, &mut [u8]>::new(
        out,
        std::slice::from_mut(key),
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions { policy: policy() },
    );
    for part in ct.chunks(4096) {
        dec.write(part).unwrap();
    }
    cap - dec.finish().unwrap().0.len()
}

fn sign_into<S: Signer>(signer: &mut S, plain: &[u8], out: &mut [u8]) -> usize {
    let mut scratch = [0u8; SIGN_SCRATCH_LEN];
    let cap = out.len();
    let mut enc = SignedDataEncoder::new(
        out,
        std::slice::from_mut(signer),
        &mut scratch,
        &SignOptions::default(),
    )
    .unwrap();
    for part in plain.chunks(4096) {
        enc.write(part).unwrap();
    }
    cap - enc.finish().unwrap().len()
}

fn verify_into(sig: &[u8], out: &mut [u8]) -> usize {
    let mut scratch = [0u8; VERIFY_SCRATCH_LEN];
    let cap = out.len();
    let mut dec = SignedDataDecoder::<&mut [u8]>::new(out, &mut scratch, VerifyOptions::default());
    for part in sig.chunks(4096) {
        dec.write(part).unwrap();
    }
    let (rest, report) = dec.finish().unwrap();
    assert!(report.all_valid());
    cap - rest.len()
}

type Op<'a> = (String, Box<dyn FnMut() + 'a>);

/// Every operation, each with its own keys and output buffer (made here,
/// outside what is measured); inputs are made beforehand, by the core.
fn operations(fx: &Fixtures) -> Vec<Op<'_>> {
    let plain = &fx.plain;
    let cap = plain.len() * 2 + 16 * 1024;
    let mut ops: Vec<Op<'_>> = Vec::new();
    for cipher in [
        ContentCipher::Aes256Cbc,
        ContentCipher::DesEde3Cbc,
        ContentCipher::Aes128Gcm,
        ContentCipher::ChaCha20Poly1305,
    ] {
        let mut out = vec![0u8; cap];
        ops.push((
            format!("encrypt {cipher} (RSA-2048 recipient)"),
            Box::new(move || {
                encrypt_into(&fx.recipient.cert_der, cipher, plain, &mut out);
            }),
        ));
        let mut ct = vec![0u8; cap];
        let n = encrypt_into(&fx.recipient.cert_der, cipher, plain, &mut ct);
        ct.truncate(n);
        let mut key = rsa(&fx.recipient);
        let mut out = vec![0u8; cap];
        ops.push((
            format!("decrypt {cipher} (streaming)"),
            Box::new(move || {
                assert_eq!(decrypt_into(&mut key, &ct, &mut out), plain.len());
            }),
        ));
    }
    {
        let mut signer = rsa(&fx.rsa_signer);
        let mut out = vec![0u8; cap];
        let n = sign_into(&mut signer, plain, &mut out);
        let sig = out[..n].to_vec();
        ops.push((
            "sign RSA-2048 PKCS#1 v1.5".to_owned(),
            Box::new(move || {
                sign_into(&mut signer, plain, &mut out);
            }),
        ));
        let mut out = vec![0u8; cap];
        ops.push((
            "verify RSA-2048 PKCS#1 v1.5".to_owned(),
            Box::new(move || {
                verify_into(&sig, &mut out);
            }),
        ));
    }
    {
        let mut signer = SoftEcKey::from_pkcs8_der(&fx.p256.key_der)
            .unwrap()
            .with_certificate(&fx.p256.cert_der)
            .unwrap();
        let mut out = vec![0u8; cap];
        let n = sign_into(&mut signer, plain, &mut out);
        let sig = out[..n].to_vec();
        ops.push((
            "sign ECDSA P-256".to_owned(),
            Box::new(move || {
                sign_into(&mut signer, plain, &mut out);
            }),
        ));
        let mut out = vec![0u8; cap];
        ops.push((
            "verify ECDSA P-256".to_owned(),
            Box::new(move || {
                verify_into(&sig, &mut out);
            }),
        ));
    }
    {
        let mut signer = SoftEd25519Key::from_pkcs8_der(&fx.ed25519.key_der)
            .unwrap()
            .with_certificate(&fx.ed25519.cert_der)
            .unwrap();
        let mut out = vec![0u8; cap];
        let n = sign_into(&mut signer, plain, &mut out);
        let sig = out[..n].to_vec();
        ops.push((
            "sign Ed25519".to_owned(),
            Box::new(move || {
                sign_into(&mut signer, plain, &mut out);
            }),
        ));
        let mut out = vec![0u8; cap];
        ops.push((
            "verify Ed25519".to_owned(),
            Box::new(move || {
                verify_into(&sig, &mut out);
            }),
        ));
    }
    {
        let recipients = [Recipient::new(
            CertificateRef::from_der(&fx.recipient.cert_der).unwrap(),
        )];
        let mut signer = rsa(&fx.rsa_signer);
        let mail_cap = fx.mail.len() * 2 + 16 * 1024;
        let mut out = vec![0u8; mail_cap];
        let rest_len = mime_sign_encrypt(
            &fx.mail,
            std::slice::from_mut(&mut signer),
            &recipients,
            &mut getrandom::SysRng,
            &mut out[..],
        )
        .unwrap()
        .len();
        let msg = out[..mail_cap - rest_len].to_vec();
        ops.push((
            "MIME sign+encrypt (RSA-2048, AES-256-CBC)".to_owned(),
            Box::new(move || {
                mime_sign_encrypt(
                    &fx.mail,
                    std::slice::from_mut(&mut signer),
                    &recipients,
                    &mut getrandom::SysRng,
                    &mut out[..],
                )
                .unwrap();
            }),
        ));
        let mut key = rsa(&fx.recipient);
        let mut inner = vec![0u8; mail_cap];
        let mut entity = vec![0u8; mail_cap];
        ops.push((
            "MIME decrypt+verify".to_owned(),
            Box::new(move || {
                let (_, valid) = mime_decrypt_verify(
                    &msg,
                    std::slice::from_mut(&mut key),
                    &mut inner,
                    &mut entity[..],
                )
                .unwrap();
                assert!(valid);
            }),
        ));
    }
    ops
}

// ---------------------------------------------------------------------------
// Peak RSS

/// xorshift32 bytes, the same stream as `smime_benches::data`.
struct XorShift(u32);

impl XorShift {
    fn fill(&mut self, buf: &mut [u8]) {
        let mut x = self.0;
        for b in buf {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x.to_le_bytes()[0];
        }
        self.0 = x;
    }
}

/// A sink that checks it receives the generator's stream.
struct Check {
    gen_: XorShift,
    n: u64,
    ok: bool,
    buf: Vec<u8>,
}

impl embedded_io::ErrorType for Check {
    type Error = core::convert::Infallible;
}

impl embedded_io::Write for Check {
    fn write(&mut self, data: &[u8]) -> Result<usize, Self::Error> {
        let want = &mut self.buf[..data.len().min(64 * 1024)];
        self.gen_.fill(want);
        self.ok &= *want == data[..want.len()];
        self.n += want.len() as u64;
        Ok(want.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The child: streams `size` generated bytes through encrypt and decrypt.
fn child(size: u64, cert: &str, key: &str) -> ExitCode {
    let cert = std::fs::read(cert).unwrap();
    let key_pem = std::fs::read_to_string(key).unwrap();
    let mut keys = [SoftRsaKey::from_pem(&key_pem)
        .unwrap()
        .with_certificate(&cert)
        .unwrap()];
    let recipients = [Recipient::new(CertificateRef::from_der(&cert).unwrap())];
    let mut scratch = [0u8; ENV_SCRATCH_LEN];
    let sink = Check {
        gen_: XorShift(0x1234_5678),
        n: 0,
        ok: true,
        buf: vec![0u8; 64 * 1024],
    };
    let mut dec = EnvelopedDataDecoder::<_, _, Check>::new(
        sink,
        &mut keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions::default(),
    );
    let options = EncryptOptions::default();
    let mut enc =
        EnvelopedDataEncoder::<_>::new(&mut dec, &recipients, &options, &mut getrandom::SysRng)
            .unwrap();
    let mut gen_ = XorShift(0x1234_5678);
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap();
        gen_.fill(&mut buf[..n]);
        enc.write(&buf[..n]).unwrap();
        left -= n as u64;
    }
    enc.finish().unwrap();
    let (sink, _) = dec.finish().unwrap();
    println!("{} {} {}", vm_hwm_kib(), sink.n, sink.ok);
    if sink.ok && sink.n == size {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn size_label(n: u64) -> String {
    match n {
        0 => "0".to_owned(),
        n if n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mul) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| n * mul)
        .map_err(|e| format!("size {s:?}: {e}"))
}

// ---------------------------------------------------------------------------
// Type sizes

fn type_sizes() -> Vec<(&'static str, usize)> {
    use smime_benches::Discard;
    use smime_core::cms::signed::ContentDigests;
    use smime_core::mime::base64::{Base64Decoder, Base64Encoder};
    use smime_core::mime::canon::Canonicalizer;
    use smime_core::mime::{
        BodyDecoder, BodyEncoder, MessageSplitter, MultipartSignedReader, MultipartSignedWriter,
    };
    type EnvDec<'a> = EnvelopedDataDecoder<'a, 'a, SoftRsaKey, getrandom::SysRng, Discard>;
    use std::mem::size_of;
    vec![
        (
            "EnvelopedDataEncoder<W> (CHUNK = 2048)",
            size_of::<EnvelopedDataEncoder<Discard>>(),
        ),
        (
            "EnvelopedDataEncoder<W, 256> (firmware example)",
            size_of::<EnvelopedDataEncoder<Discard, 256>>(),
        ),
        (
            "EnvelopedDataDecoder<K, R, W> (BUF = 2048)",
            size_of::<EnvDec<'_>>(),
        ),
        (
            "SignedDataEncoder<SoftEcKey, W>",
            size_of::<SignedDataEncoder<SoftEcKey<'_>, Discard>>(),
        ),
        (
            "SignedDataDecoder<W> (4 digests)",
            size_of::<SignedDataDecoder<Discard>>(),
        ),
        (
            "ContentDigests (detached verification)",
            size_of::<ContentDigests>(),
        ),
        ("Base64Encoder<W>", size_of::<Base64Encoder<Discard>>()),
        ("Base64Decoder<W>", size_of::<Base64Decoder<Discard>>()),
        ("Canonicalizer<W>", size_of::<Canonicalizer<Discard>>()),
        ("BodyEncoder<W>", size_of::<BodyEncoder<Discard>>()),
        (
            "BodyDecoder<EnvelopedDataDecoder>",
            size_of::<BodyDecoder<EnvDec<'_>>>(),
        ),
        ("MessageSplitter", size_of::<MessageSplitter<'_>>()),
        (
            "MultipartSignedWriter<SoftEcKey, W>",
            size_of::<MultipartSignedWriter<SoftEcKey<'_>, Discard>>(),
        ),
        (
            "MultipartSignedReader<W>",
            size_of::<MultipartSignedReader<Discard>>(),
        ),
    ]
}

fn scratch_sizes() -> Vec<(&'static str, usize)> {
    vec![
        (
            "enveloped::DEFAULT_SCRATCH_LEN (decoder: recipient infos)",
            ENV_SCRATCH_LEN,
        ),
        (
            "sign::DEFAULT_SCRATCH_LEN (certificates, SignerInfos)",
            SIGN_SCRATCH_LEN,
        ),
        (
            "signed::DEFAULT_SCRATCH_LEN (verifier: certificates, attributes)",
            VERIFY_SCRATCH_LEN,
        ),
        (
            "MIME header field buffer (each; splitter: 2, reader: 1)",
            smime_benches::MIME_FIELD_LEN,
        ),
    ]
}

// ---------------------------------------------------------------------------

const USAGE: &str = "usage: memory-report [--quick] [--max SIZE] [--no-rss]
  --quick     RSS sizes up to 16 MiB (default: up to --max)
  --max SIZE  largest message for the RSS table (K/M/G suffixes; default 1G)
  --no-rss    leave out the RSS table";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, size, cert, key] = &args[..]
        && flag == "--child"
    {
        return child(size.parse().unwrap(), cert, key);
    }
    let (mut max, mut rss) = (1u64 << 30, true);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => max = 16 << 20,
            "--no-rss" => rss = false,
            "--max" => match it.next().map(|s| parse_size(s)) {
                Some(Ok(n)) => max = n,
                Some(Err(e)) => {
                    eprintln!("{e}\n{USAGE}");
                    return ExitCode::from(2);
                }
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }

    let rsa2048 = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
    let fx = Fixtures {
        recipient: KeyPair::new(&rsa2048, "keyEncipherment"),
        rsa_signer: KeyPair::new(&rsa2048, "digitalSignature"),
        p256: KeyPair::new(
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "digitalSignature",
        ),
        ed25519: KeyPair::new(&["-algorithm", "ED25519"], "digitalSignature"),
        plain: data(100_000),
        mail: mail(75_000),
    };
    let mut ops = operations(&fx);

    println!("1. Heap allocations inside smime-core (counting global allocator; must be 0)");
    println!(
        "   {}-byte content, {}-byte mail; fixed buffers as sinks; the `rsa` crate's",
        fx.plain.len(),
        fx.mail.len()
    );
    println!("   private-key operation (software backend) not counted\n");
    println!("   {:<46} {:>11}", "operation", "allocations");
    // The instrument works: one allocation is seen.
    let probe = count(&mut || drop(std::hint::black_box(Vec::<u8>::with_capacity(10))));
    let mut failed = probe == 0;
    println!(
        "   {:<46} {probe:>11}",
        "(check: Vec::with_capacity(10), must be 1)"
    );
    for (name, op) in &mut ops {
        let n = count(op.as_mut());
        failed |= n != 0;
        println!(
            "   {name:<46} {n:>11}{}",
            if n == 0 { "" } else { "  FAIL" }
        );
    }

    if rss {
        println!("\n2. Peak RSS (VmHWM) of a child process streaming a generated message through");
        println!(
            "   the EnvelopedData encoder into the decoder (AES-256-CBC, RSA-2048), plaintext checked\n"
        );
        println!(
            "   {:<10} {:>12} {:>14}",
            "message", "peak RSS", "MB/s (wall)"
        );
        let exe = std::env::current_exe().unwrap();
        let cert = fx.recipient.path("cert.der");
        std::fs::write(&cert, &fx.recipient.cert_der).unwrap();
        let mut sizes = vec![0u64];
        let mut s = 1u64 << 20;
        while s <= max {
            sizes.push(s);
            s *= 16;
        }
        if sizes.last() != Some(&max) && max > 1 << 20 {
            sizes.push(max);
        }
        for size in sizes {
            let t = std::time::Instant::now();
            let o = Command::new(&exe)
                .arg("--child")
                .arg(size.to_string())
                .arg(&cert)
                .arg(fx.recipient.path("key.pem"))
                .output()
                .unwrap();
            let secs = t.elapsed().as_secs_f64();
            let text = String::from_utf8_lossy(&o.stdout);
            let mut f = text.split_whitespace();
            let hwm: u64 = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            if !o.status.success() {
                println!(
                    "   {:<10} child FAILED: {text} {}",
                    size_label(size),
                    String::from_utf8_lossy(&o.stderr)
                );
                failed = true;
                continue;
            }
            let rate = if size == 0 {
                String::new()
            } else {
                format!("{:.0}", size as f64 / 1e6 / secs)
            };
            println!("   {:<10} {:>8} KiB {rate:>14}", size_label(size), hwm);
        }
    }

    println!(
        "\n3. Stack high-water mark (painted {} MiB thread stack; empty thread subtracted)\n",
        STACK_LEN >> 20
    );
    let base = stack_touched(&mut || {});
    println!("   {:<46} {:>11}", "operation", "stack bytes");
    for (name, op) in &mut ops {
        let used = stack_touched(op.as_mut()).saturating_sub(base);
        println!("   {name:<46} {used:>11}");
    }
    println!("   (empty thread: {base} bytes)");

    println!("\n4. RAM each streaming stage holds (size_of, default const parameters)\n");
    for (name, n) in type_sizes() {
        println!("   {name:<52} {n:>7} B");
    }
    println!("\n   scratch buffers the caller gives:");
    for (name, n) in scratch_sizes() {
        println!("   {name:<66} {n:>6} B");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
