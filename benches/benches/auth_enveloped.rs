//! Streaming AuthEnvelopedData (RFC 5083) encrypt and decrypt with
//! AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 over 1 MiB and 64 MiB,
//! side by side with `openssl cms -stream` on the same data in the same run.
//!
//! Ours: the core's streaming encoder and decoder from memory into a
//! discarding sink, and the two-pass decryption (`decrypt_authenticated`:
//! tag first, then plaintext) of the message in memory. OpenSSL:
//! `openssl cms -encrypt -stream -aes-128-gcm` / `-decrypt` from a file in
//! the page cache to /dev/null (process start-up included, which matters
//! only at 1 MiB). OpenSSL 3.0 has no ChaCha20-Poly1305 in CMS: that row has
//! no OpenSSL figure unless the installed OpenSSL makes one. After
//! criterion's report a summary prints MB/s and the ratio to OpenSSL (best
//! of 5 runs each); `openssl speed -evp` gives the raw cipher speed for
//! reference.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use smime_benches::{Discard, Fixture, best_of, data};
use smime_core::cipher::ContentCipher;
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, Recipient, decrypt_authenticated,
};
use smime_core::soft::SoftRsaKey;
use smime_core::x509::CertificateRef;

fn ours_encrypt(fx: &Fixture, cipher: ContentCipher, data: &[u8]) -> u64 {
    let cert = CertificateRef::from_der(&fx.cert_der).unwrap();
    let options = EncryptOptions {
        cipher,
        ..Default::default()
    };
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
    let options = EncryptOptions {
        cipher,
        ..Default::default()
    };
    smime_core::cms::enveloped::encrypt(
        data,
        Vec::new(),
        &[Recipient::new(cert)],
        &options,
        &mut getrandom::SysRng,
    )
    .unwrap()
}

/// Streaming: plaintext released before the tag is checked at `finish`.
fn ours_decrypt(key: &mut SoftRsaKey, ct: &[u8]) -> u64 {
    let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
    let mut keys = [key];
    let mut dec = EnvelopedDataDecoder::<_, _, Discard>::new(
        Discard(0),
        &mut keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions::default(),
    );
    for part in ct.chunks(64 * 1024) {
        dec.write(part).unwrap();
    }
    let (sink, report) = dec.finish().unwrap();
    assert!(report.authenticated);
    sink.0
}

/// Two-pass: the tag first, then the plaintext.
fn ours_decrypt_two_pass(key: &mut SoftRsaKey, ct: &[u8]) -> u64 {
    let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
    let mut keys = [key];
    let (sink, report) = decrypt_authenticated(
        ct,
        &mut keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions::default(),
        Discard(0),
    )
    .unwrap();
    assert!(report.authenticated);
    sink.0
}

fn openssl_flag(c: ContentCipher) -> &'static str {
    match c {
        ContentCipher::Aes128Gcm => "-aes-128-gcm",
        ContentCipher::Aes256Gcm => "-aes-256-gcm",
        _ => "-chacha20-poly1305",
    }
}

/// Whether `openssl cms -encrypt` makes an AuthEnvelopedData with `cipher`.
fn openssl_encrypt(fx: &Fixture, cipher: ContentCipher, input: &Path, out: &Path) -> bool {
    Command::new("openssl")
        .args([
            "cms",
            "-encrypt",
            "-binary",
            "-stream",
            "-outform",
            "DER",
            openssl_flag(cipher),
        ])
        .arg("-in")
        .arg(input)
        .arg("-out")
        .arg(out)
        .arg("-recip")
        .arg(fx.path("cert.pem"))
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
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

/// `openssl speed -evp` for 16 KiB blocks, in MB/s (10^6 bytes).
fn openssl_speed(evp: &str) -> Option<f64> {
    let o = Command::new("openssl")
        .args(["speed", "-evp", evp, "-bytes", "16384", "-seconds", "1"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&o.stdout);
    // The last line: "<name>  <k/s>k" with the figure in 1000s of bytes/s.
    let last = text.lines().rev().find(|l| l.trim_end().ends_with('k'))?;
    let k = last.split_whitespace().last()?.trim_end_matches('k');
    k.parse::<f64>().ok().map(|k| k / 1000.0)
}

const SIZES: [(usize, &str); 2] = [(1 << 20, "1MiB"), (64 << 20, "64MiB")];
const CIPHERS: [ContentCipher; 3] = [
    ContentCipher::Aes128Gcm,
    ContentCipher::Aes256Gcm,
    ContentCipher::ChaCha20Poly1305,
];

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
            // OpenSSL's own message, when it can make one; it decrypts ours then too.
            let ossl_path = fx.path(&format!("ossl-{label}-{cipher:?}.der"));
            let ossl = openssl_encrypt(&fx, cipher, &plain_path, &ossl_path);
            if ossl {
                openssl_decrypt(&fx, &ct_path);
                // Sanity: ours decrypts OpenSSL's.
                let theirs = std::fs::read(&ossl_path).unwrap();
                assert_eq!(ours_decrypt(&mut key, &theirs), len as u64);
            }

            let name = format!("{cipher}");
            let mut g = c.benchmark_group(format!("auth-encrypt/{label}"));
            g.throughput(Throughput::Bytes(len as u64));
            g.bench_function(BenchmarkId::new("smime-core", &name), |b| {
                b.iter(|| ours_encrypt(&fx, cipher, &plain))
            });
            if ossl {
                g.bench_function(BenchmarkId::new("openssl-cms-stream", &name), |b| {
                    b.iter(|| openssl_encrypt(&fx, cipher, &plain_path, Path::new("/dev/null")))
                });
            }
            g.finish();
            let mut g = c.benchmark_group(format!("auth-decrypt/{label}"));
            g.throughput(Throughput::Bytes(len as u64));
            g.bench_function(BenchmarkId::new("smime-core", &name), |b| {
                b.iter(|| ours_decrypt(&mut key, &ct))
            });
            g.bench_function(BenchmarkId::new("smime-core-two-pass", &name), |b| {
                b.iter(|| ours_decrypt_two_pass(&mut key, &ct))
            });
            if ossl {
                g.bench_function(BenchmarkId::new("openssl-cms", &name), |b| {
                    b.iter(|| openssl_decrypt(&fx, &ct_path))
                });
            }
            g.finish();

            let mb = len as f64 / 1e6;
            let rate = |d: Duration| mb / d.as_secs_f64();
            let e_ours = rate(best_of(5, || {
                ours_encrypt(&fx, cipher, &plain);
            }));
            let d_ours = rate(best_of(5, || {
                ours_decrypt(&mut key, &ct);
            }));
            let d2_ours = rate(best_of(5, || {
                ours_decrypt_two_pass(&mut key, &ct);
            }));
            let (e_ossl, d_ossl) = if ossl {
                (
                    Some(rate(best_of(5, || {
                        openssl_encrypt(&fx, cipher, &plain_path, Path::new("/dev/null"));
                    }))),
                    Some(rate(best_of(5, || openssl_decrypt(&fx, &ct_path)))),
                )
            } else {
                (None, None)
            };
            summary.push((label, cipher, "encrypt", e_ours, e_ossl));
            summary.push((label, cipher, "decrypt", d_ours, d_ossl));
            summary.push((label, cipher, "decrypt-2p", d2_ours, d_ossl));
        }
    }
    c.final_summary();

    println!("\nsummary (best of 5; MB = 10^6 bytes)");
    println!(
        "{:<6} {:<18} {:<10} {:>11} {:>13} {:>7}",
        "size", "cipher", "op", "smime MB/s", "openssl MB/s", "ratio"
    );
    for (label, cipher, op, ours, ossl) in summary {
        let (o, r) = match ossl {
            Some(o) => (format!("{o:.1}"), format!("{:.2}x", ours / o)),
            None => ("n/a".to_owned(), "-".to_owned()),
        };
        println!(
            "{label:<6} {:<18} {op:<10} {ours:>11.1} {o:>13} {r:>7}",
            cipher.to_string()
        );
    }
    println!("\nraw cipher speed for reference (openssl speed -evp, 16 KiB blocks):");
    for evp in ["aes-128-gcm", "aes-256-gcm", "chacha20-poly1305"] {
        match openssl_speed(evp) {
            Some(v) => println!("  {evp:<18} {v:>9.1} MB/s"),
            None => println!("  {evp:<18} n/a"),
        }
    }
}
