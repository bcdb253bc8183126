//! Helpers shared by the benchmarks in `benches/` (run them with
//! `cargo bench -p smime-benches`).

use std::path::PathBuf;
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

/// A throwaway RSA-2048 certificate and key made with `openssl req` in a
/// temporary directory.
#[derive(Debug)]
pub struct Fixture {
    dir: tempfile::TempDir,
    /// The certificate's DER.
    pub cert_der: Vec<u8>,
}

impl Fixture {
    /// Makes the key and certificate, with `key_usage` (e.g. `keyEncipherment`).
    ///
    /// # Panics
    /// When `openssl` cannot be run or fails.
    #[allow(clippy::expect_used, clippy::panic)]
    pub fn new(key_usage: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let st = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=bench"])
            .arg("-addext")
            .arg(format!("keyUsage={key_usage}"))
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .output()
            .expect("openssl is needed for the benchmarks");
        assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
        let pem = std::fs::read_to_string(dir.path().join("cert.pem")).expect("cert.pem");
        let cert_der = pem_to_der(&pem);
        Fixture { dir, cert_der }
    }

    /// The private key, with its certificate.
    ///
    /// # Panics
    /// When the files openssl wrote cannot be read.
    #[allow(clippy::expect_used)]
    pub fn key(&self) -> smime_core::soft::SoftRsaKey {
        let key_pem = std::fs::read_to_string(self.path("key.pem")).expect("key.pem");
        smime_core::soft::SoftRsaKey::from_pem(&key_pem)
            .expect("key")
            .with_certificate(&self.cert_der)
            .expect("certificate matches")
    }

    /// A path in the fixture's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
