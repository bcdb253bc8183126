//! Streaming EnvelopedData encrypt and decrypt, AES-256-CBC and 3DES, over
//! 1 MiB and 64 MiB, side by side with `openssl cms -stream` on the same data
//! in the same run.
//!
//! Ours: the core's streaming encoder/decoder from memory into a discarding
//! sink. OpenSSL: `openssl cms -encrypt -stream` / `-decrypt` from a file in
//! the page cache to /dev/null (process start-up included, which matters only
//! at 1 MiB). After criterion's own report a summary prints MB/s and the ratio
//! to OpenSSL for each case (best of 5 runs each).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use smime_benches::{Discard, Fixture, best_of, data};
use criterion::{BenchmarkId, Criterion, Throughput};
use smime_core::cipher::{CipherSet, ContentCipher, Policy};
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, Recipient,
};
use smime_core::soft::SoftRsaKey;
use smime_core::x509::CertificateRef;

fn policy() -> Policy {
    Policy { produce: CipherSet::ALL, ..Policy::DEFAULT }
}

fn ours_encrypt(fx: &Fixture, cipher: ContentCipher, data: &[u8]) -> u64 {
    let cert = CertificateRef::from_der(&fx.cert_der).unwrap();
    let options = EncryptOptions { cipher, policy: policy(), ..Default::default() };
    let mut enc = EnvelopedDataEncoder::<Discard>::new(
        Discard(0),
        &[Recipient::new(cert)],
        &options,
        &mut getrandom::SysRng,
    )
    .unwrap();
    for part in data.chunks(64 * 1024) {
        enc.write(part).unwrap();
    }
    enc.finish().unwrap().0
}

fn ours_encrypt_to_vec(fx: &Fixture, cipher: ContentCipher, data: &[u8]) -> Vec<u8> {
    let cert = CertificateRef::from_der(&fx.cert_der).unwrap();
    let options = EncryptOptions { cipher, policy: policy(), ..Default::default() };
    smime_core::cms::enveloped::encrypt(data, Vec::new(), &[Recipient::new(cert)], &options, &mut getrandom::SysRng)
        .unwrap()
}

fn ours_decrypt(key: &mut SoftRsaKey, ct: &[u8]) -> u64 {
    let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
    let mut keys = [key];
    let mut dec = EnvelopedDataDecoder::<_, _, Discard>::new(
        Discard(0),
        &mut keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions { policy: policy() },
    );
    for part in ct.chunks(64 * 1024) {
        dec.write(part).unwrap();
    }
    dec.finish().unwrap().0.0
}

fn openssl_flag(c: ContentCipher) -> &'static str {
    match c {
        ContentCipher::Aes128Cbc => "-aes128",
        ContentCipher::Aes192Cbc => "-aes192",
        ContentCipher::Aes256Cbc => "-aes256",
        _ => "-des3",
    }
}

fn openssl_encrypt(fx: &Fixture, cipher: ContentCipher, input: &Path) {
    let st = Command::new("openssl")
        .args(["cms", "-encrypt", "-binary", "-stream", "-outform", "DER", openssl_flag(cipher)])
        .arg("-in")
        .arg(input)
        .args(["-out", "/dev/null", "-recip"])
        .arg(fx.path("cert.pem"))
        .status()
        .unwrap();
    assert!(st.success());
}

fn openssl_decrypt(fx: &Fixture, input: &Path) {
    let st = Command::new("openssl")
        .args(["cms", "-decrypt", "-binary", "-inform", "DER"])
        .arg("-in")
        .arg(input)
        .arg("-inkey")
        .arg(fx.path("key.pem"))
        .args(["-out", "/dev/null"])
        .status()
        .unwrap();
    assert!(st.success());
}

const SIZES: [(usize, &str); 2] = [(1 << 20, "1MiB"), (64 << 20, "64MiB")];
const CIPHERS: [ContentCipher; 2] = [ContentCipher::Aes256Cbc, ContentCipher::DesEde3Cbc];

fn main() {
    let fx = Fixture::new("keyEncipherment");
    let mut key = fx.key();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let mut summary = Vec::new();

    for (len, label) in SIZES {
        let plain = data(len);
        let plain_path = fx.path(&format!("plain-{label}"));
        std::fs::write(&plain_path, &plain).unwrap();
        for cipher in CIPHERS {
            let ct = ours_encrypt_to_vec(&fx, cipher, &plain);
            let ct_path = fx.path(&format!("ct-{label}-{cipher:?}.der"));
            std::fs::write(&ct_path, &ct).unwrap();
            // Sanity: OpenSSL decrypts ours.
            openssl_decrypt(&fx, &ct_path);

            let name = format!("{cipher}");
            let mut g = c.benchmark_group(format!("encrypt/{label}"));
            g.throughput(Throughput::Bytes(len as u64));
            g.bench_function(BenchmarkId::new("smime-core", &name), |b| {
                b.iter(|| ours_encrypt(&fx, cipher, &plain))
            });
            g.bench_function(BenchmarkId::new("openssl-cms-stream", &name), |b| {
                b.iter(|| openssl_encrypt(&fx, cipher, &plain_path))
            });
            g.finish();
            let mut g = c.benchmark_group(format!("decrypt/{label}"));
            g.throughput(Throughput::Bytes(len as u64));
            g.bench_function(BenchmarkId::new("smime-core", &name), |b| {
                b.iter(|| ours_decrypt(&mut key, &ct))
            });
            g.bench_function(BenchmarkId::new("openssl-cms", &name), |b| {
                b.iter(|| openssl_decrypt(&fx, &ct_path))
            });
            g.finish();

            let mb = len as f64 / 1e6;
            let e_ours = best_of(5, || {
                ours_encrypt(&fx, cipher, &plain);
            });
            let e_ossl = best_of(5, || openssl_encrypt(&fx, cipher, &plain_path));
            let d_ours = best_of(5, || {
                ours_decrypt(&mut key, &ct);
            });
            let d_ossl = best_of(5, || openssl_decrypt(&fx, &ct_path));
            summary.push((label, cipher, "encrypt", mb / e_ours.as_secs_f64(), mb / e_ossl.as_secs_f64()));
            summary.push((label, cipher, "decrypt", mb / d_ours.as_secs_f64(), mb / d_ossl.as_secs_f64()));
        }
    }
    c.final_summary();

    println!("\nsummary (best of 5; MB = 10^6 bytes)");
    println!("{:<6} {:<14} {:<8} {:>14} {:>14} {:>8}", "size", "cipher", "op", "smime MB/s", "openssl MB/s", "ratio");
    for (label, cipher, op, ours, ossl) in summary {
        println!(
            "{label:<6} {:<14} {op:<8} {ours:>14.1} {ossl:>14.1} {:>7.2}x",
            cipher.to_string(),
            ours / ossl
        );
    }
}
