//! Streaming SignedData sign and verify, RSA-2048 PKCS#1 v1.5 with SHA-256,
//! attached and detached, over 1 MiB and 64 MiB, side by side with
//! `openssl cms -sign -stream` / `-verify` on the same data in the same run.
//!
//! Ours: the core's streaming encoder/decoder from memory into a discarding
//! sink (a detached verify hashes the content first, as a multipart/signed
//! reader does). OpenSSL: `openssl cms -sign -binary -nodetach -stream`
//! (attached) or `openssl cms -sign -binary` (detached: OpenSSL 3.0 embeds
//! the content when `-stream` meets `-outform DER`) /
//! `openssl cms -verify -binary -noverify [-content F]` from files in the page
//! cache to /dev/null (process start-up included, which matters only at
//! 1 MiB). After criterion's own report a summary prints MB/s and the ratio to
//! OpenSSL for each case (best of 5 runs each).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use smime_benches::{Discard, Fixture, best_of, data};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use smime_core::backend::HashAlgorithm;
use smime_core::cms::sign::{DEFAULT_SCRATCH_LEN as SIGN_SCRATCH_LEN, SignOptions, SignedDataEncoder};
use smime_core::cms::signed::{
    ContentDigests, DEFAULT_SCRATCH_LEN as VERIFY_SCRATCH_LEN, SignedDataDecoder, VerifyOptions,
};
use smime_core::soft::SoftRsaKey;

/// A sink that keeps the bytes (for the fixtures).
struct Keep(Vec<u8>);
impl embedded_io::ErrorType for Keep {
    type Error = core::convert::Infallible;
}
impl embedded_io::Write for Keep {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Attached,
    Detached,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Attached => "attached",
            Mode::Detached => "detached",
        }
    }
}

fn ours_sign_into<W: embedded_io::Write>(key: &mut SoftRsaKey, mode: Mode, data: &[u8], sink: W) -> W {
    let mut scratch = [0u8; SIGN_SCRATCH_LEN];
    let options = SignOptions { detached: mode == Mode::Detached, ..Default::default() };
    let mut enc =
        SignedDataEncoder::new(sink, std::slice::from_mut(key), &mut scratch, &options).unwrap();
    for part in data.chunks(64 * 1024) {
        enc.write(part).unwrap();
    }
    enc.finish().unwrap()
}

fn ours_sign(key: &mut SoftRsaKey, mode: Mode, data: &[u8]) -> u64 {
    ours_sign_into(key, mode, data, Discard(0)).0
}

/// Verifies `sig` (with `content` for a detached signature); panics unless
/// every signature is valid. Returns the content bytes written to the sink.
fn ours_verify(mode: Mode, sig: &[u8], content: &[u8]) -> u64 {
    let mut scratch = [0u8; VERIFY_SCRATCH_LEN];
    let mut dec = match mode {
        Mode::Attached => SignedDataDecoder::<Discard>::new(Discard(0), &mut scratch, VerifyOptions::default()),
        Mode::Detached => {
            let mut digests = ContentDigests::new(&[HashAlgorithm::Sha256]);
            for part in content.chunks(64 * 1024) {
                digests.update(part).unwrap();
            }
            digests.finish();
            SignedDataDecoder::<Discard>::detached(Discard(0), &mut scratch, VerifyOptions::default(), &digests)
        }
    };
    for part in sig.chunks(64 * 1024) {
        dec.write(part).unwrap();
    }
    let (sink, report) = dec.finish().unwrap();
    assert!(report.all_valid(), "signature does not verify");
    sink.0
}

fn openssl_sign(fx: &Fixture, mode: Mode, input: &Path, out: &Path) {
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-sign", "-binary"]);
    match mode {
        Mode::Attached => cmd.args(["-nodetach", "-stream"]),
        // OpenSSL 3.0 puts the content inside anyway when `-stream` meets
        // `-outform DER`; without `-stream` it hashes the file and writes a
        // detached signature.
        Mode::Detached => &mut cmd,
    };
    let st = cmd
        .args(["-outform", "DER", "-md", "sha256"])
        .arg("-in")
        .arg(input)
        .arg("-out")
        .arg(out)
        .arg("-signer")
        .arg(fx.path("cert.pem"))
        .arg("-inkey")
        .arg(fx.path("key.pem"))
        .status()
        .unwrap();
    assert!(st.success());
}

fn openssl_verify(mode: Mode, sig: &Path, content: &Path) {
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-verify", "-binary", "-noverify", "-inform", "DER"]).arg("-in").arg(sig);
    if mode == Mode::Detached {
        cmd.arg("-content").arg(content);
    }
    let st = cmd
        .args(["-out", "/dev/null"])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "openssl cms -verify failed");
}

const SIZES: [(usize, &str); 2] = [(1 << 20, "1MiB"), (64 << 20, "64MiB")];
const MODES: [Mode; 2] = [Mode::Attached, Mode::Detached];

fn main() {
    let fx = Fixture::new("digitalSignature");
    let mut key = fx.key().with_rng(getrandom::SysRng);
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut summary = Vec::new();
    let null = Path::new("/dev/null");

    for (len, label) in SIZES {
        let plain = data(len);
        let plain_path = fx.path(&format!("plain-{label}"));
        std::fs::write(&plain_path, &plain).unwrap();
        for mode in MODES {
            let sig = ours_sign_into(&mut key, mode, &plain, Keep(Vec::new())).0;
            let sig_path = fx.path(&format!("sig-{label}-{}.der", mode.name()));
            std::fs::write(&sig_path, &sig).unwrap();
            // Sanity: OpenSSL verifies ours, and we verify OpenSSL's.
            openssl_verify(mode, &sig_path, &plain_path);
            let ossl_path = fx.path(&format!("ossl-{label}-{}.der", mode.name()));
            openssl_sign(&fx, mode, &plain_path, &ossl_path);
            ours_verify(mode, &std::fs::read(&ossl_path).unwrap(), &plain);

            let name = mode.name();
            let flat = |g: &mut criterion::BenchmarkGroup<'_, _>| {
                g.throughput(Throughput::Bytes(len as u64));
                if len > (1 << 20) {
                    // One iteration per sample: criterion's linear sampling
                    // would take 55 iterations of a large message.
                    g.sampling_mode(SamplingMode::Flat);
                }
            };
            let mut g = c.benchmark_group(format!("sign/{label}"));
            flat(&mut g);
            g.bench_function(BenchmarkId::new("smime-core", name), |b| {
                b.iter(|| ours_sign(&mut key, mode, &plain))
            });
            g.bench_function(BenchmarkId::new("openssl-cms", name), |b| {
                b.iter(|| openssl_sign(&fx, mode, &plain_path, null))
            });
            g.finish();
            let mut g = c.benchmark_group(format!("verify/{label}"));
            flat(&mut g);
            g.bench_function(BenchmarkId::new("smime-core", name), |b| {
                b.iter(|| ours_verify(mode, &sig, &plain))
            });
            g.bench_function(BenchmarkId::new("openssl-cms", name), |b| {
                b.iter(|| openssl_verify(mode, &sig_path, &plain_path))
            });
            g.finish();

            let mb = len as f64 / 1e6;
            let s_ours = best_of(5, || {
                ours_sign(&mut key, mode, &plain);
            });
            let s_ossl = best_of(5, || openssl_sign(&fx, mode, &plain_path, null));
            let v_ours = best_of(5, || {
                ours_verify(mode, &sig, &plain);
            });
            let v_ossl = best_of(5, || openssl_verify(mode, &sig_path, &plain_path));
            summary.push((label, mode, "sign", mb / s_ours.as_secs_f64(), mb / s_ossl.as_secs_f64()));
            summary.push((label, mode, "verify", mb / v_ours.as_secs_f64(), mb / v_ossl.as_secs_f64()));
        }
    }
    c.final_summary();

    println!("\nsummary (best of 5; MB = 10^6 bytes; RSA-2048 PKCS#1 v1.5, SHA-256)");
    println!("{:<6} {:<10} {:<8} {:>14} {:>14} {:>8}", "size", "mode", "op", "smime MB/s", "openssl MB/s", "ratio");
    for (label, mode, op, ours, ossl) in summary {
        println!("{label:<6} {:<10} {op:<8} {ours:>14.1} {ossl:>14.1} {:>7.2}x", mode.name(), ours / ossl);
    }
}
