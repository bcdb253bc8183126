//! Helpers shared by the benchmarks in `benches/` (run them with
//! `cargo bench -p smime-benches`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A sink that counts and drops bytes.
#[derive(Debug)]
pub struct Discard(pub u64);

impl embedded_io::ErrorType for Discard {
    type Error = core::convert::Infallible;
}

impl embedded_io::Write for Discard {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// DER of a PEM certificate, through `openssl x509`.
///
/// # Panics
/// When `openssl` cannot be run (the benchmarks need it).
#[allow(clippy::expect_used)]
pub fn pem_to_der(pem: &str) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["x509", "-outform", "DER"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl is needed for the benchmarks");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(pem.as_bytes()).expect("write to openssl");
    }
    child.wait_with_output().expect("openssl x509").stdout
}

/// `len` pseudo-random bytes (xorshift; the same every run).
pub fn data(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// The shortest of `n` runs of `f`.
pub fn best_of(n: usize, mut f: impl FnMut()) -> Duration {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}
