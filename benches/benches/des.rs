//! Triple DES speed: smime-core's table-based DES-EDE3 beside the RustCrypto
//! `des` crate and OpenSSL, in the same run.
//!
//! - **Raw 3DES-CBC** over 1 MiB in memory: ours (`CbcEncryptor` /
//!   `CbcDecryptor`, one `update` per MiB), the `des` crate (`TdesEde3` in a
//!   plain CBC loop, as the `cbc` crate runs it), and `openssl speed -evp
//!   des-ede3-cbc` (16 KiB blocks; `-decrypt` for decryption). AES-256-CBC
//!   raw is printed beside it for scale.
//! - **EnvelopedData 3DES** of 16 MiB (RSA-2048 key transport): ours
//!   streaming from memory into a discarding sink, against `openssl cms
//!   -encrypt -des3 -stream` / `-decrypt` from a file in the page cache to
//!   /dev/null (one process per run, start-up included).
//!
//! After criterion's report a summary prints MB/s (10^6 bytes per second,
//! best of 5 runs) by wall-clock time and by CPU time, and the ratio to
//! OpenSSL by CPU time. `openssl speed` divides by CPU time unless given
//! `-elapsed`; on a machine shared with other work only CPU time compares
//! like with like (the wall-clock figures then depend on who else runs).
//!
//! ```sh
//! cargo bench -p smime-benches --bench des -- --warm-up-time 1 --measurement-time 3
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use des::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use smime_benches::{Discard, Fixture, best_of, data};
use smime_core::cipher::{CbcDecryptor, CbcEncryptor, CipherSet, ContentCipher, Policy};
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, Recipient,
};
use smime_core::soft::SoftRsaKey;
use smime_core::x509::CertificateRef;

const RAW_LEN: usize = 1 << 20;
const CMS_LEN: usize = 16 << 20;
const CHUNK: usize = 64 * 1024;
const KEY: [u8; 24] = *b"0123456789abcdefghijklmn";
const IV: [u8; 8] = *b"ivivivi!";

fn ours_raw_encrypt(cipher: ContentCipher, key: &[u8], iv: &[u8], data: &[u8], out: &mut [u8]) {
    let mut enc = CbcEncryptor::new(cipher, key, iv).unwrap();
    let n = enc.update(data, out).unwrap();
    enc.finish(&mut out[n..]).unwrap();
}

fn ours_raw_decrypt(cipher: ContentCipher, key: &[u8], iv: &[u8], ct: &[u8], out: &mut [u8]) {
    let mut dec = CbcDecryptor::new(cipher, key, iv).unwrap();
    let n = dec.update(ct, out).unwrap();
    dec.finish(&mut out[n..]).unwrap();
}

/// CBC with the `des` crate, block by block (its `TdesEde3` has no parallel
/// path); no padding, `data` is whole blocks.
fn des_crate_encrypt(c: &des::TdesEde3, data: &[u8], out: &mut [u8]) {
    let mut chain = Block::<des::TdesEde3>::from(IV);
    for (p, o) in data.chunks_exact(8).zip(out.chunks_exact_mut(8)) {
        for (x, y) in chain.iter_mut().zip(p) {
            *x ^= y;
        }
        c.encrypt_block(&mut chain);
        o.copy_from_slice(&chain);
    }
}

fn des_crate_decrypt(c: &des::TdesEde3, ct: &[u8], out: &mut [u8]) {
    let mut prev: &[u8] = &IV;
    for (x, o) in ct.chunks_exact(8).zip(out.chunks_exact_mut(8)) {
        let mut b = Block::<des::TdesEde3>::try_from(x).unwrap();
        c.decrypt_block(&mut b);
        for ((o, b), p) in o.iter_mut().zip(b.iter()).zip(prev) {
            *o = b ^ p;
        }
        prev = x;
    }
}

/// `openssl speed -evp <evp>` for 16 KiB blocks, in MB/s (10^6 bytes), by
/// CPU time (its default) and, with `elapsed`, by wall-clock time.
fn openssl_speed(evp: &str, decrypt: bool, elapsed: bool) -> Option<f64> {
    let mut cmd = Command::new("openssl");
    cmd.arg("speed");
    if decrypt {
        cmd.arg("-decrypt");
    }
    if elapsed {
        cmd.arg("-elapsed");
    }
    let o = cmd
        .args(["-evp", evp, "-bytes", "16384", "-seconds", "1"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&o.stdout);
    // The last line: "<name>  <k/s>k", the figure in 1000s of bytes per second.
    let last = text.lines().rev().find(|l| l.trim_end().ends_with('k'))?;
    let k = last.split_whitespace().last()?.trim_end_matches('k');
    k.parse::<f64>().ok().map(|k| k / 1000.0)
}

/// The CPU time this thread has used.
#[allow(unsafe_code)]
fn thread_cpu() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a live local that the call only writes.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(r, 0, "clock_gettime");
    Duration::new(u64::try_from(t.tv_sec).unwrap(), u32::try_from(t.tv_nsec).unwrap())
}

/// The user plus system CPU time of all children waited for so far.
#[allow(unsafe_code)]
fn children_cpu() -> Duration {
    // SAFETY: `rusage` is a C struct of integers, for which all zeroes is valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a live local that the call only writes.
    let r = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    assert_eq!(r, 0, "getrusage");
    let tv = |t: libc::timeval| {
        Duration::new(u64::try_from(t.tv_sec).unwrap(), 1000 * u32::try_from(t.tv_usec).unwrap())
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The least CPU time of `n` runs of `f`, counting this thread (`child`
/// false) or the child processes `f` runs and waits for (`child` true).
fn cpu_best_of(n: usize, child: bool, mut f: impl FnMut()) -> Duration {
    let now = || if child { children_cpu() } else { thread_cpu() };
    (0..n)
        .map(|_| {
            let t = now();
            f();
            now().saturating_sub(t)
        })
        .min()
        .unwrap_or_default()
}

fn policy() -> Policy {
    Policy { produce: CipherSet::ALL, ..Policy::DEFAULT }
}

fn ours_cms_encrypt(fx: &Fixture, data: &[u8]) -> u64 {
    let cert = CertificateRef::from_der(&fx.cert_der).unwrap();
    let options = EncryptOptions {
        cipher: ContentCipher::DesEde3Cbc,
        policy: policy(),
        ..Default::default()
    };
    let mut enc = EnvelopedDataEncoder::<Discard>::new(
        Discard(0),
        &[Recipient::new(cert)],
        &options,
        &mut getrandom::SysRng,
    )
    .unwrap();
    for part in data.chunks(CHUNK) {
        enc.write(part).unwrap();
    }
    enc.finish().unwrap().0
}

fn ours_cms_encrypt_to_vec(fx: &Fixture, data: &[u8]) -> Vec<u8> {
    let cert = CertificateRef::from_der(&fx.cert_der).unwrap();
    let options = EncryptOptions {
        cipher: ContentCipher::DesEde3Cbc,
        policy: policy(),
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

fn ours_cms_decrypt(key: &mut SoftRsaKey, ct: &[u8]) -> u64 {
    let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
    let mut keys = [key];
    let mut dec = EnvelopedDataDecoder::<_, _, Discard>::new(
        Discard(0),
        &mut keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions { policy: policy() },
    );
    for part in ct.chunks(CHUNK) {
        dec.write(part).unwrap();
    }
    dec.finish().unwrap().0.0
}

fn openssl_cms_encrypt(fx: &Fixture, input: &Path) {
    let st = Command::new("openssl")
        .args(["cms", "-encrypt", "-binary", "-stream", "-outform", "DER", "-des3", "-in"])
        .arg(input)
        .args(["-out", "/dev/null", "-recip"])
        .arg(fx.path("cert.pem"))
        .status()
        .unwrap();
    assert!(st.success());
}

fn openssl_cms_decrypt(fx: &Fixture, input: &Path) {
    let st = Command::new("openssl")
        .args(["cms", "-decrypt", "-binary", "-inform", "DER", "-in"])
        .arg(input)
        .arg("-inkey")
        .arg(fx.path("key.pem"))
        .args(["-out", "/dev/null"])
        .status()
        .unwrap();
    assert!(st.success());
}

fn mb_s(len: usize, d: Duration) -> f64 {
    len as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    // (case, implementation, (wall, CPU) MB/s, OpenSSL's (wall, CPU) MB/s)
    #[allow(clippy::type_complexity)]
    let mut summary: Vec<(&str, &str, (f64, f64), (Option<f64>, Option<f64>))> = Vec::new();

    // Raw CBC.
    let plain = data(RAW_LEN);
    let mut ct = vec![0u8; RAW_LEN + 16];
    let mut out = vec![0u8; RAW_LEN + 16];
    let theirs = des::TdesEde3::new_from_slice(&KEY).unwrap();
    // All three agree on the ciphertext (ours has one more, padding block).
    ours_raw_encrypt(ContentCipher::DesEde3Cbc, &KEY, &IV, &plain, &mut ct);
    des_crate_encrypt(&theirs, &plain, &mut out);
    assert_eq!(ct[..RAW_LEN], out[..RAW_LEN]);
    let ct_des = ct[..RAW_LEN + 8].to_vec();
    let aes_key = [7u8; 32];
    let aes_iv = [9u8; 16];
    ours_raw_encrypt(ContentCipher::Aes256Cbc, &aes_key, &aes_iv, &plain, &mut ct);
    let ct_aes = ct[..RAW_LEN + 16].to_vec();

    let mut g = c.benchmark_group("raw-cbc-encrypt/1MiB");
    g.throughput(Throughput::Bytes(RAW_LEN as u64));
    g.bench_function(BenchmarkId::new("smime-core", "3DES"), |b| {
        b.iter(|| {
            ours_raw_encrypt(ContentCipher::DesEde3Cbc, &KEY, &IV, black_box(&plain), &mut ct)
        })
    });
    g.bench_function(BenchmarkId::new("des-crate", "3DES"), |b| {
        b.iter(|| des_crate_encrypt(&theirs, black_box(&plain), &mut ct))
    });
    g.bench_function(BenchmarkId::new("smime-core", "AES-256"), |b| {
        b.iter(|| {
            ours_raw_encrypt(
                ContentCipher::Aes256Cbc,
                &aes_key,
                &aes_iv,
                black_box(&plain),
                &mut ct,
            )
        })
    });
    g.finish();
    let mut g = c.benchmark_group("raw-cbc-decrypt/1MiB");
    g.throughput(Throughput::Bytes(RAW_LEN as u64));
    g.bench_function(BenchmarkId::new("smime-core", "3DES"), |b| {
        b.iter(|| {
            ours_raw_decrypt(ContentCipher::DesEde3Cbc, &KEY, &IV, black_box(&ct_des), &mut out)
        })
    });
    g.bench_function(BenchmarkId::new("des-crate", "3DES"), |b| {
        b.iter(|| des_crate_decrypt(&theirs, black_box(&ct_des[..RAW_LEN]), &mut out))
    });
    g.bench_function(BenchmarkId::new("smime-core", "AES-256"), |b| {
        b.iter(|| {
            ours_raw_decrypt(
                ContentCipher::Aes256Cbc,
                &aes_key,
                &aes_iv,
                black_box(&ct_aes),
                &mut out,
            )
        })
    });
    g.finish();

    // (wall MB/s, CPU MB/s) of ours, best of 5.
    let raw = |f: &mut dyn FnMut()| {
        (mb_s(RAW_LEN, best_of(5, &mut *f)), mb_s(RAW_LEN, cpu_best_of(5, false, &mut *f)))
    };
    let ossl = |evp: &str, decrypt: bool| {
        (openssl_speed(evp, decrypt, true), openssl_speed(evp, decrypt, false))
    };
    let des_enc = ossl("des-ede3-cbc", false);
    let des_dec = ossl("des-ede3-cbc", true);
    let none = (None, None);
    summary.push((
        "raw 3DES-CBC encrypt 1 MiB",
        "smime-core",
        raw(&mut || ours_raw_encrypt(ContentCipher::DesEde3Cbc, &KEY, &IV, &plain, &mut ct)),
        des_enc,
    ));
    summary.push((
        "raw 3DES-CBC encrypt 1 MiB",
        "des crate",
        raw(&mut || des_crate_encrypt(&theirs, &plain, &mut ct)),
        none,
    ));
    summary.push((
        "raw 3DES-CBC decrypt 1 MiB",
        "smime-core",
        raw(&mut || ours_raw_decrypt(ContentCipher::DesEde3Cbc, &KEY, &IV, &ct_des, &mut out)),
        des_dec,
    ));
    summary.push((
        "raw 3DES-CBC decrypt 1 MiB",
        "des crate",
        raw(&mut || des_crate_decrypt(&theirs, &ct_des[..RAW_LEN], &mut out)),
        none,
    ));
    summary.push((
        "raw AES-256-CBC encrypt 1 MiB",
        "smime-core",
        raw(&mut || ours_raw_encrypt(ContentCipher::Aes256Cbc, &aes_key, &aes_iv, &plain, &mut ct)),
        ossl("aes-256-cbc", false),
    ));
    summary.push((
        "raw AES-256-CBC decrypt 1 MiB",
        "smime-core",
        raw(&mut || {
            ours_raw_decrypt(ContentCipher::Aes256Cbc, &aes_key, &aes_iv, &ct_aes, &mut out)
        }),
        ossl("aes-256-cbc", true),
    ));

    // EnvelopedData.
    let fx = Fixture::new("keyEncipherment");
    let mut key = fx.key();
    let plain = data(CMS_LEN);
    let plain_path = fx.path("plain");
    std::fs::write(&plain_path, &plain).unwrap();
    let cms_der = ours_cms_encrypt_to_vec(&fx, &plain);
    let cms_path = fx.path("ct.der");
    std::fs::write(&cms_path, &cms_der).unwrap();
    // Sanity: OpenSSL decrypts ours, and we decrypt all of it.
    openssl_cms_decrypt(&fx, &cms_path);
    assert_eq!(ours_cms_decrypt(&mut key, &cms_der), CMS_LEN as u64);

    let mut g = c.benchmark_group("cms-3des/16MiB");
    g.throughput(Throughput::Bytes(CMS_LEN as u64));
    g.bench_function(BenchmarkId::new("smime-core", "encrypt"), |b| {
        b.iter(|| ours_cms_encrypt(&fx, &plain))
    });
    g.bench_function(BenchmarkId::new("openssl-cms", "encrypt"), |b| {
        b.iter(|| openssl_cms_encrypt(&fx, &plain_path))
    });
    g.bench_function(BenchmarkId::new("smime-core", "decrypt"), |b| {
        b.iter(|| ours_cms_decrypt(&mut key, &cms_der))
    });
    g.bench_function(BenchmarkId::new("openssl-cms", "decrypt"), |b| {
        b.iter(|| openssl_cms_decrypt(&fx, &cms_path))
    });
    g.finish();
    // (wall MB/s, CPU MB/s), best of 5; OpenSSL's CPU time is its child's.
    let cms = |child: bool, f: &mut dyn FnMut()| {
        (mb_s(CMS_LEN, best_of(5, &mut *f)), mb_s(CMS_LEN, cpu_best_of(5, child, &mut *f)))
    };
    let wrap = |(w, c): (f64, f64)| (Some(w), Some(c));
    let e_ossl = wrap(cms(true, &mut || openssl_cms_encrypt(&fx, &plain_path)));
    let d_ossl = wrap(cms(true, &mut || openssl_cms_decrypt(&fx, &cms_path)));
    let e_ours = cms(false, &mut || {
        ours_cms_encrypt(&fx, &plain);
    });
    let d_ours = cms(false, &mut || {
        ours_cms_decrypt(&mut key, &cms_der);
    });
    summary.push(("EnvelopedData 3DES encrypt 16 MiB", "smime-core", e_ours, e_ossl));
    summary.push(("EnvelopedData 3DES decrypt 16 MiB", "smime-core", d_ours, d_ossl));

    c.final_summary();
    println!(
        "\nsummary (best of 5; MB = 10^6 bytes). wall: elapsed time; cpu: CPU time of the \
         thread or of the openssl process, which is what `openssl speed` reports by default \
         and what is fair on a loaded machine. OpenSSL raw: `openssl speed -evp` (16 KiB \
         blocks; wall: -elapsed); OpenSSL CMS: `openssl cms`."
    );
    println!(
        "{:<34} {:<11} {:>9} {:>9} {:>10} {:>10} {:>7}",
        "case", "impl", "wall MB/s", "cpu MB/s", "ossl wall", "ossl cpu", "cpu x"
    );
    let opt = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"));
    for (case, who, (w, cpu), (ow, ocpu)) in summary {
        let ratio = ocpu.map_or_else(|| "n/a".to_owned(), |o| format!("{:.2}x", cpu / o));
        println!(
            "{case:<34} {who:<11} {w:>9.1} {cpu:>9.1} {:>10} {:>10} {ratio:>7}",
            opt(ow),
            opt(ocpu)
        );
    }
}
