//! Firmware example: sign a message with a built-in ECDSA P-256 key and
//! encrypt a message to a recipient certificate, with no heap and no
//! standard library.
//!
//! Built as a static library with **no global allocator**: if anything in the
//! dependency graph used `alloc`, this crate would fail to build ("no global
//! memory allocator found"). That is the proof that `smime-core` (with its
//! `soft-ec` software ECDSA key) is allocation-free.
//!
//! The C entry points write into the caller's output buffer; all working
//! memory is on the stack (`build.sh` measures how much):
//!
//! ```c
//! int32_t smime_encrypt(const uint8_t *cert, size_t cert_len,
//!                       const uint8_t *msg, size_t msg_len,
//!                       uint8_t *out, size_t out_cap,
//!                       int32_t (*trng)(uint8_t *buf, size_t len));
//! int32_t smime_sign(const uint8_t *msg, size_t msg_len,
//!                    uint8_t *out, size_t out_cap);
//! ```
//! `smime_encrypt` takes the recipient certificate (DER), the message, an
//! output buffer and the device's entropy source (a TRNG driver callback).
//! `smime_sign` makes an attached SignedData (DER) with the built-in signer
//! (ECDSA P-256 with SHA-256, RFC 6979 deterministic nonces, so it needs no
//! entropy). Both return the number of bytes written, or a negative error
//! code.
//!
//! `build.sh` builds it for the host, links it into a C harness and prints the
//! code and static memory it adds (`size`: text, data, bss) and the stack
//! each function uses (painted-stack high-water mark), then checks both
//! outputs with `openssl cms`. For a Cortex-M4F/M7, where the target is
//! installed (`rustup target list --installed` lists
//! `thumbv7em-none-eabihf`):
//!
//! ```sh
//! cargo build --release --locked --target thumbv7em-none-eabihf
//! arm-none-eabi-size -t target/thumbv7em-none-eabihf/release/libsmime_firmware_example.a
//! ```
//!
//! then link `libsmime_firmware_example.a` into the firmware image with
//! `--gc-sections` (only what the two functions reach is kept).
#![no_std]
#![deny(missing_docs)]

use core::fmt;

use smime_core::cipher::ContentCipher;
use smime_core::cms::enveloped::{EncryptOptions, EnvelopedDataEncoder, Recipient};
use smime_core::cms::sign::{SignOptions, SignedDataEncoder};
use smime_core::soft_ec::SoftEcKey;
use smime_core::x509::CertificateRef;

/// The built-in recipient certificate, used when the caller passes none
/// (RSA-2048, keyEncipherment; made with `openssl req -x509 -newkey rsa:2048
/// -subj "/O=smime example/CN=Firmware Recipient" -addext
/// keyUsage=critical,keyEncipherment ...`; its test-only private key is
/// `recipient-key.pem`, which `build.sh` uses to check the output).
static DEFAULT_RECIPIENT: &[u8] = include_bytes!("recipient.der");

/// The built-in signer's certificate (P-256, self-signed, digitalSignature;
/// made with `openssl genpkey -algorithm EC -pkeyopt
/// ec_paramgen_curve:P-256` and `openssl req -x509 -subj "/O=smime
/// example/CN=Firmware Signer" ...`; `build.sh` verifies against it).
static SIGNER_CERT: &[u8] = include_bytes!("signer.der");

/// The built-in signer's private key (PKCS#8 DER, from `openssl pkcs8
/// -topk8 -nocrypt -outform DER`). A **test key**: a real device keeps its
/// key in protected storage or a secure element.
static SIGNER_KEY: &[u8] = include_bytes!("signer-key.der");

/// Scratch for the SignedData encoder: the signer's certificate (463
/// bytes) and, at `finish`, the SignerInfo with its signed attributes and
/// signature (1024 bytes is too small, 1536 does).
const SIGN_SCRATCH_LEN: usize = 1536;

/// The fixed message the firmware signs or encrypts when the caller passes none.
pub static FIXED_MESSAGE: &[u8] = b"Meter 4711: 12345.6 kWh, signed off by firmware.";

/// The device's entropy source.
pub type Trng = extern "C" fn(buf: *mut u8, len: usize) -> i32;

/// An RNG over the device's TRNG callback.
struct DeviceRng(Trng);

/// The TRNG reported a failure.
#[derive(Debug)]
struct TrngError;

impl fmt::Display for TrngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TRNG failure")
    }
}

impl core::error::Error for TrngError {}

impl rand_core::TryRng for DeviceRng {
    type Error = TrngError;
    fn try_next_u32(&mut self) -> Result<u32, TrngError> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, TrngError> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), TrngError> {
        if (self.0)(dst.as_mut_ptr(), dst.len()) == 0 { Ok(()) } else { Err(TrngError) }
    }
}

impl rand_core::TryCryptoRng for DeviceRng {}

/// Encrypts `msg` to `cert` into `out` with AES-256-CBC and definite lengths.
/// Returns the bytes written.
pub fn encrypt_into(
    cert: &[u8],
    msg: &[u8],
    out: &mut [u8],
    trng: Trng,
) -> Result<usize, smime_core::Error> {
    let cert = CertificateRef::from_der(cert)?;
    let options = EncryptOptions {
        cipher: ContentCipher::Aes256Cbc,
        content_len: Some(msg.len() as u64),
        ..EncryptOptions::default()
    };
    let cap = out.len();
    let mut rng = DeviceRng(trng);
    // A small ciphertext chunk: firmware RAM is precious.
    let mut enc =
        EnvelopedDataEncoder::<&mut [u8], 256>::new(out, &[Recipient::new(cert)], &options, &mut rng)?;
    enc.write(msg)?;
    let rest = enc.finish()?;
    Ok(cap - rest.len())
}

/// Signs `msg` with the built-in P-256 key into `out`: an attached
/// SignedData with signed attributes (contentType, messageDigest,
/// SMIMECapabilities; no signingTime: the device has no clock), streamed as
/// indefinite-length BER. Returns the bytes written.
pub fn sign_into(msg: &[u8], out: &mut [u8]) -> Result<usize, smime_core::Error> {
    let mut signers = [SoftEcKey::from_pkcs8_der(SIGNER_KEY)?.with_certificate(SIGNER_CERT)?];
    let mut scratch = [0u8; SIGN_SCRATCH_LEN];
    let cap = out.len();
    let mut enc = SignedDataEncoder::new(out, &mut signers, &mut scratch, &SignOptions::default())?;
    enc.write(msg)?;
    let rest = enc.finish()?;
    Ok(cap - rest.len())
}

/// C entry point; see the crate documentation. Null `msg` selects the
/// built-in message.
///
/// # Safety
/// `msg` and `out` must be valid for the given lengths (or null for `msg`),
/// and `out` must not overlap `msg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smime_sign(msg: *const u8, msg_len: usize, out: *mut u8, out_cap: usize) -> i32 {
    let msg = if msg.is_null() {
        FIXED_MESSAGE
    } else {
        // SAFETY: the caller guarantees `msg` is valid for `msg_len` bytes.
        unsafe { core::slice::from_raw_parts(msg, msg_len) }
    };
    if out.is_null() {
        return -1;
    }
    // SAFETY: the caller guarantees `out` is valid and exclusive for `out_cap` bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(out, out_cap) };
    match sign_into(msg, out) {
        Ok(n) => i32::try_from(n).unwrap_or(-2),
        Err(_) => -2,
    }
}

/// C entry point; see the crate documentation. Null `cert` or `msg` selects
/// the built-in certificate or message.
///
/// # Safety
/// `cert`, `msg` and `out` must be valid for the given lengths (or null for
/// `cert`/`msg`), and `out` must not overlap the inputs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smime_encrypt(
    cert: *const u8,
    cert_len: usize,
    msg: *const u8,
    msg_len: usize,
    out: *mut u8,
    out_cap: usize,
    trng: Trng,
) -> i32 {
    let cert = if cert.is_null() {
        DEFAULT_RECIPIENT
    } else {
        // SAFETY: the caller guarantees `cert` is valid for `cert_len` bytes.
        unsafe { core::slice::from_raw_parts(cert, cert_len) }
    };
    let msg = if msg.is_null() {
        FIXED_MESSAGE
    } else {
        // SAFETY: the caller guarantees `msg` is valid for `msg_len` bytes.
        unsafe { core::slice::from_raw_parts(msg, msg_len) }
    };
    if out.is_null() {
        return -1;
    }
    // SAFETY: the caller guarantees `out` is valid and exclusive for `out_cap` bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(out, out_cap) };
    match encrypt_into(cert, msg, out, trng) {
        Ok(n) => i32::try_from(n).unwrap_or(-2),
        Err(_) => -2,
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
