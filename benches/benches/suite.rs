//! The whole benchmark suite in one run, smime-core beside OpenSSL on the
//! same data:
//!
//! - **encrypt / decrypt** with each content cipher: AES-128/192/256-CBC,
//!   3DES-CBC (EnvelopedData), AES-128/256-GCM and ChaCha20-Poly1305
//!   (AuthEnvelopedData), key transport RSA-2048;
//! - **sign / verify** (attached SignedData with signed attributes) with each
//!   signature algorithm: RSA-2048 and RSA-3072 PKCS#1 v1.5, RSA-PSS
//!   (2048, SHA-256), ECDSA P-256 (SHA-256) and P-384 (SHA-384), Ed25519;
//!   keys made with `openssl genpkey`;
//! - **the MIME pipeline**: a mail signed (multipart/signed) and encrypted
//!   (application/pkcs7-mime, AES-256-CBC, base64) in one pass, then
//!   decrypted and verified.
//!
//! Ours: the core's streaming encoders and decoders (software keys: `rsa`
//! crate, p256/p384, ed25519-dalek) from memory into a discarding sink.
//! OpenSSL: `openssl cms` from a file in the page cache to /dev/null, one
//! process per operation (its start-up, printed at the end, is included);
//! the MIME pipeline is `openssl cms -sign | openssl cms -encrypt` and
//! `openssl cms -decrypt | openssl cms -verify`. OpenSSL decrypts and
//! verifies the messages we made (checked before timing), so both sides
//! read the same bytes. Where the installed OpenSSL cannot do an operation
//! (OpenSSL 3.0: no ChaCha20-Poly1305 in CMS, no Ed25519 CMS signing) its
//! column says n/a.
//!
//! After criterion's report a summary prints MB/s (10^6 bytes of content,
//! or of the mail for the MIME pipeline, per second; from the fastest
//! sample criterion took) and the ratio ours/OpenSSL.
//!
//! ```sh
//! cargo bench -p smime-benches --bench suite                        # 16 MiB
//! SMIME_BENCH_QUICK=1 cargo bench -p smime-benches --bench suite    # 4 MiB, short
//! SMIME_BENCH_SIZE=64M cargo bench -p smime-benches --bench suite   # another size
//! cargo bench -p smime-benches --bench suite -- 'sign/'             # a subset
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use smime_benches::{
    Discard, KeyPair, best_of, data, mail, mime_decrypt_verify, mime_sign_encrypt,
};
use smime_core::backend::Signer;
use smime_core::cipher::{CipherSet, ContentCipher, Policy};
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, Recipient,
};
use smime_core::cms::sign::{
    DEFAULT_SCRATCH_LEN as SIGN_SCRATCH_LEN, SignOptions, SignedDataEncoder,
};
use smime_core::cms::signed::{
    DEFAULT_SCRATCH_LEN as VERIFY_SCRATCH_LEN, SignedDataDecoder, VerifyOptions,
};
use smime_core::pubkey::SignatureAlgorithm;
use smime_core::soft::SoftRsaKey;
use smime_core::soft_ec::{SoftEcKey, SoftEd25519Key};
use smime_core::x509::CertificateRef;

const CHUNK: usize = 64 * 1024;

/// The fastest time per iteration seen for each (operation, algorithm, side).
#[derive(Default)]
struct Record {
    /// Operation, algorithm, bytes per operation.
    rows: Vec<(String, String, usize)>,
    times: Vec<((String, String, bool), Duration)>,
}

impl Record {
    fn note(&mut self, op: &str, alg: &str, bytes: usize, ours: bool, d: Duration) {
        if !self.rows.iter().any(|(o, a, _)| o == op && a == alg) {
            self.rows.push((op.to_owned(), alg.to_owned(), bytes));
        }
        let key = (op.to_owned(), alg.to_owned(), ours);
        match self.times.iter_mut().find(|(k, _)| *k == key) {
            Some((_, best)) => *best = (*best).min(d),
            None => self.times.push((key, d)),
        }
    }

    fn get(&self, op: &str, alg: &str, ours: bool) -> Option<Duration> {
        self.times
            .iter()
            .find(|((o, a, s), _)| o == op && a == alg && *s == ours)
            .map(|(_, d)| *d)
    }
}

struct Bench<'r> {
    c: Criterion,
    record: &'r RefCell<Record>,
    label: String,
}

impl Bench<'_> {
    /// One criterion group `op/label` with ours and (when it can) OpenSSL.
    fn compare(
        &mut self,
        op: &str,
        alg: &str,
        bytes: usize,
        ours: &mut dyn FnMut(),
        openssl: Option<&mut dyn FnMut()>,
    ) {
        let record = self.record;
        let mut g = self.c.benchmark_group(format!("{op}/{}", self.label));
        g.throughput(Throughput::Bytes(bytes as u64));
        g.sampling_mode(SamplingMode::Flat);
        let mut run = |who: &str, is_ours: bool, f: &mut dyn FnMut()| {
            g.bench_function(BenchmarkId::new(who, alg), |b| {
                b.iter_custom(|iters| {
                    let t = Instant::now();
                    for _ in 0..iters {
                        f();
                    }
                    let d = t.elapsed();
                    record.borrow_mut().note(
                        op,
                        alg,
                        bytes,
                        is_ours,
                        d.div_f64(iters.max(1) as f64),
                    );
                    d
                })
            });
        };
        run("smime-core", true, ours);
        if let Some(f) = openssl {
            run("openssl", false, f);
        }
        g.finish();
    }
}

fn policy() -> Policy {
    Policy {
        produce: CipherSet::ALL,
        ..Policy::DEFAULT
    }
}

fn run_ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn must(cmd: &mut Command) {
    assert!(run_ok(cmd), "{cmd:?} failed");
}

/// `a | b`, both to completion; the first lines of standard error of a
/// failing one.
fn pipe(a: &mut Command, b: &mut Command) -> Result<(), String> {
    let mut first = a
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = first.stdout.take().unwrap();
    let second = b
        .stdin(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let first = first.wait_with_output().unwrap();
    for o in [first, second] {
        if !o.status.success() {
            return Err(first_lines(&o.stderr));
        }
    }
    Ok(())
}

fn first_lines(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Whether `cmd` succeeds; if not, says why OpenSSL has no figure for `what`.
fn probe(what: &str, cmd: &mut Command) -> bool {
    let o = cmd.stdout(Stdio::null()).output().unwrap();
    if !o.status.success() {
        println!("note: OpenSSL cannot {what}: {}", first_lines(&o.stderr));
    }
    o.status.success()
}

fn openssl() -> Command {
    Command::new("openssl")
}

// ---------------------------------------------------------------------------
// Encryption

fn cipher_flag(c: ContentCipher) -> &'static str {
    match c {
        ContentCipher::Aes128Cbc => "-aes-128-cbc",
        ContentCipher::Aes192Cbc => "-aes-192-cbc",
        ContentCipher::Aes256Cbc => "-aes-256-cbc",
        ContentCipher::DesEde3Cbc => "-des-ede3-cbc",
        ContentCipher::Aes128Gcm => "-aes-128-gcm",
        ContentCipher::Aes256Gcm => "-aes-256-gcm",
        _ => "-chacha20-poly1305",
    }
}

const CIPHERS: [ContentCipher; 7] = [
    ContentCipher::Aes128Cbc,
    ContentCipher::Aes192Cbc,
    ContentCipher::Aes256Cbc,
    ContentCipher::DesEde3Cbc,
    ContentCipher::Aes128Gcm,
    ContentCipher::Aes256Gcm,
    ContentCipher::ChaCha20Poly1305,
];

fn ours_encrypt(cert: CertificateRef<'_>, cipher: ContentCipher, data: &[u8]) -> u64 {
    let options = EncryptOptions {
        cipher,
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
    for part in ct.chunks(CHUNK) {
        dec.write(part).unwrap();
    }
    dec.finish().unwrap().0.0
}

fn encryption(b: &mut Bench<'_>, plain: &[u8], plain_path: &Path) {
    let kp = KeyPair::new(
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "keyEncipherment",
    );
    let cert = CertificateRef::from_der(&kp.cert_der).unwrap();
    let mut key = SoftRsaKey::from_pem(&kp.key_pem)
        .unwrap()
        .with_certificate(&kp.cert_der)
        .unwrap();
    let (cert_pem, key_pem) = (kp.path("cert.pem"), kp.path("key.pem"));
    let encrypt_cmd = |cipher: ContentCipher, out: &Path| {
        let mut cmd = openssl();
        cmd.args([
            "cms",
            "-encrypt",
            "-binary",
            "-stream",
            "-outform",
            "DER",
            cipher_flag(cipher),
            "-in",
        ])
        .arg(plain_path)
        .arg("-out")
        .arg(out)
        .arg("-recip")
        .arg(&cert_pem);
        cmd
    };
    let decrypt_cmd = |ct: &Path| {
        let mut cmd = openssl();
        cmd.args(["cms", "-decrypt", "-binary", "-inform", "DER", "-in"])
            .arg(ct)
            .arg("-inkey")
            .arg(&key_pem)
            .args(["-out", "/dev/null"]);
        cmd
    };
    for cipher in CIPHERS {
        let alg = cipher.to_string();
        let options = EncryptOptions {
            cipher,
            policy: policy(),
            ..Default::default()
        };
        let ct = smime_core::cms::enveloped::encrypt(
            plain,
            Vec::new(),
            &[Recipient::new(cert)],
            &options,
            &mut getrandom::SysRng,
        )
        .unwrap();
        let ct_path = kp.path(&format!("{cipher:?}.der"));
        std::fs::write(&ct_path, &ct).unwrap();
        assert_eq!(ours_decrypt(&mut key, &ct), plain.len() as u64);
        // OpenSSL's own message, when it can make one (it decrypts ours then).
        let theirs = kp.path(&format!("{cipher:?}-openssl.der"));
        let can = probe(
            &format!("encrypt with {alg}"),
            &mut encrypt_cmd(cipher, &theirs),
        );
        if can {
            must(&mut decrypt_cmd(&ct_path));
            assert_eq!(
                ours_decrypt(&mut key, &std::fs::read(&theirs).unwrap()),
                plain.len() as u64
            );
        }
        let null = Path::new("/dev/null");
        let mut theirs_enc = || must(&mut encrypt_cmd(cipher, null));
        b.compare(
            "encrypt",
            &alg,
            plain.len(),
            &mut || {
                ours_encrypt(cert, cipher, plain);
            },
            can.then_some(&mut theirs_enc as &mut dyn FnMut()),
        );
        let mut theirs_dec = || must(&mut decrypt_cmd(&ct_path));
        b.compare(
            "decrypt",
            &alg,
            plain.len(),
            &mut || {
                ours_decrypt(&mut key, &ct);
            },
            can.then_some(&mut theirs_dec as &mut dyn FnMut()),
        );
    }
}

// ---------------------------------------------------------------------------
// Signatures

struct SigAlg {
    name: &'static str,
    genpkey: &'static [&'static str],
    /// `openssl cms -sign` options besides the key.
    openssl: &'static [&'static str],
}

const SIG_ALGS: [SigAlg; 6] = [
    SigAlg {
        name: "RSA-2048 PKCS#1 v1.5",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        openssl: &["-md", "sha256"],
    },
    SigAlg {
        name: "RSA-3072 PKCS#1 v1.5",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
        openssl: &["-md", "sha256"],
    },
    SigAlg {
        name: "RSA-2048 PSS",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        openssl: &[
            "-md",
            "sha256",
            "-keyopt",
            "rsa_padding_mode:pss",
            "-keyopt",
            "rsa_pss_saltlen:32",
        ],
    },
    SigAlg {
        name: "ECDSA P-256",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        openssl: &["-md", "sha256"],
    },
    SigAlg {
        name: "ECDSA P-384",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        openssl: &["-md", "sha384"],
    },
    SigAlg {
        name: "Ed25519",
        genpkey: &["-algorithm", "ED25519"],
        openssl: &["-md", "sha512"],
    },
];

fn ours_sign<S: Signer, W: embedded_io::Write>(signer: &mut S, data: &[u8], sink: W) -> W {
    let mut scratch = [0u8; SIGN_SCRATCH_LEN];
    let mut enc = SignedDataEncoder::new(
        sink,
        std::slice::from_mut(signer),
        &mut scratch,
        &SignOptions::default(),
    )
    .unwrap();
    for part in data.chunks(CHUNK) {
        enc.write(part).unwrap();
    }
    enc.finish().unwrap()
}

fn ours_verify(sig: &[u8]) -> u64 {
    let mut scratch = [0u8; VERIFY_SCRATCH_LEN];
    let mut dec =
        SignedDataDecoder::<Discard>::new(Discard(0), &mut scratch, VerifyOptions::default());
    for part in sig.chunks(CHUNK) {
        dec.write(part).unwrap();
    }
    let (sink, report) = dec.finish().unwrap();
    assert!(report.all_valid(), "signature does not verify");
    sink.0
}

fn signature<S: Signer>(
    b: &mut Bench<'_>,
    alg: &SigAlg,
    kp: &KeyPair,
    signer: &mut S,
    plain: &[u8],
    plain_path: &Path,
) {
    let sig = ours_sign(signer, plain, Vec::new());
    let sig_path = kp.path("sig.der");
    std::fs::write(&sig_path, &sig).unwrap();
    assert_eq!(ours_verify(&sig), plain.len() as u64);
    let sign_cmd = |out: &Path| {
        let mut cmd = openssl();
        // No -stream: OpenSSL 3.0 fails to stream RSA-PSS signing.
        cmd.args([
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-outform",
            "DER",
            "-in",
        ])
        .arg(plain_path)
        .arg("-out")
        .arg(out)
        .arg("-signer")
        .arg(kp.path("cert.pem"))
        .arg("-inkey")
        .arg(kp.path("key.pem"))
        .args(alg.openssl);
        cmd
    };
    let verify_cmd = || {
        let mut cmd = openssl();
        cmd.args([
            "cms",
            "-verify",
            "-binary",
            "-noverify",
            "-inform",
            "DER",
            "-in",
        ])
        .arg(&sig_path)
        .args(["-out", "/dev/null"]);
        cmd
    };
    let theirs = kp.path("sig-openssl.der");
    let can_sign = probe(&format!("sign with {}", alg.name), &mut sign_cmd(&theirs));
    if can_sign {
        assert_eq!(
            ours_verify(&std::fs::read(&theirs).unwrap()),
            plain.len() as u64,
            "{}",
            alg.name
        );
    }
    let can_verify = probe(
        &format!("verify our {} signature", alg.name),
        &mut verify_cmd(),
    );
    let null = Path::new("/dev/null");
    let mut theirs_sign = || must(&mut sign_cmd(null));
    b.compare(
        "sign",
        alg.name,
        plain.len(),
        &mut || {
            ours_sign(signer, plain, Discard(0));
        },
        can_sign.then_some(&mut theirs_sign as &mut dyn FnMut()),
    );
    let mut theirs_verify = || must(&mut verify_cmd());
    b.compare(
        "verify",
        alg.name,
        plain.len(),
        &mut || {
            ours_verify(&sig);
        },
        can_verify.then_some(&mut theirs_verify as &mut dyn FnMut()),
    );
}

fn signatures(b: &mut Bench<'_>, plain: &[u8], plain_path: &Path) {
    for alg in &SIG_ALGS {
        let kp = KeyPair::new(alg.genpkey, "digitalSignature");
        match alg.name {
            "Ed25519" => {
                let mut k = SoftEd25519Key::from_pkcs8_der(&kp.key_der)
                    .unwrap()
                    .with_certificate(&kp.cert_der)
                    .unwrap();
                signature(b, alg, &kp, &mut k, plain, plain_path);
            }
            n if n.starts_with("ECDSA") => {
                let mut k = SoftEcKey::from_pkcs8_der(&kp.key_der)
                    .unwrap()
                    .with_certificate(&kp.cert_der)
                    .unwrap();
                signature(b, alg, &kp, &mut k, plain, plain_path);
            }
            n => {
                let mut k = SoftRsaKey::from_pem(&kp.key_pem)
                    .unwrap()
                    .with_certificate(&kp.cert_der)
                    .unwrap()
                    .with_rng(getrandom::SysRng);
                if n.ends_with("PSS") {
                    let h = smime_core::backend::HashAlgorithm::Sha256;
                    k = k
                        .with_signature_algorithm(SignatureAlgorithm::RsaPss {
                            hash: h,
                            mgf_hash: h,
                            salt_len: 32,
                        })
                        .unwrap();
                }
                signature(b, alg, &kp, &mut k, plain, plain_path);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// MIME pipeline

fn mime_pipeline(b: &mut Bench<'_>, payload: usize) {
    let signer_kp = KeyPair::new(
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "digitalSignature",
    );
    let recip_kp = KeyPair::new(
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "keyEncipherment",
    );
    let mut signer = SoftRsaKey::from_pem(&signer_kp.key_pem)
        .unwrap()
        .with_certificate(&signer_kp.cert_der)
        .unwrap()
        .with_rng(getrandom::SysRng);
    let mut key = SoftRsaKey::from_pem(&recip_kp.key_pem)
        .unwrap()
        .with_certificate(&recip_kp.cert_der)
        .unwrap();
    let recipients = [Recipient::new(
        CertificateRef::from_der(&recip_kp.cert_der).unwrap(),
    )];
    let mail = mail(payload);
    let mail_path = recip_kp.path("mail.eml");
    std::fs::write(&mail_path, &mail).unwrap();
    let msg = mime_sign_encrypt(
        &mail,
        std::slice::from_mut(&mut signer),
        &recipients,
        &mut getrandom::SysRng,
        Vec::new(),
    )
    .unwrap();
    let msg_path = recip_kp.path("mail.p7m");
    std::fs::write(&msg_path, &msg).unwrap();
    let mut inner = vec![0u8; msg.len()];
    let mut open = |inner: &mut [u8]| {
        let (_, valid) = mime_decrypt_verify(&msg, &mut [&mut key], inner, Discard(0)).unwrap();
        assert!(valid, "MIME signature does not verify");
    };
    open(&mut inner);

    let sign_encrypt = || {
        let mut sign = openssl();
        sign.args(["cms", "-sign", "-binary", "-stream", "-md", "sha256", "-in"])
            .arg(&mail_path)
            .arg("-signer")
            .arg(signer_kp.path("cert.pem"))
            .arg("-inkey")
            .arg(signer_kp.path("key.pem"));
        let mut enc = openssl();
        enc.args([
            "cms",
            "-encrypt",
            "-binary",
            "-stream",
            "-aes-256-cbc",
            "-out",
            "/dev/null",
            "-recip",
        ])
        .arg(recip_kp.path("cert.pem"));
        pipe(&mut sign, &mut enc)
    };
    let decrypt_verify = || {
        let mut dec = openssl();
        dec.args(["cms", "-decrypt", "-binary", "-in"])
            .arg(&msg_path)
            .arg("-inkey")
            .arg(recip_kp.path("key.pem"));
        // Without -binary: OpenSSL checks a multipart/signed part in its
        // canonical (CRLF) form only in text mode.
        let mut ver = openssl();
        ver.args(["cms", "-verify", "-noverify", "-out", "/dev/null"]);
        pipe(&mut dec, &mut ver)
    };
    let can_make = sign_encrypt()
        .map_err(|e| println!("note: OpenSSL cannot sign+encrypt the mail: {e}"))
        .is_ok();
    let can_open = decrypt_verify()
        .map_err(|e| println!("note: OpenSSL cannot decrypt+verify our mail: {e}"))
        .is_ok();
    let mut theirs_make = || sign_encrypt().unwrap();
    b.compare(
        "mime sign+encrypt",
        "RSA-2048, AES-256-CBC",
        mail.len(),
        &mut || {
            mime_sign_encrypt(
                &mail,
                std::slice::from_mut(&mut signer),
                &recipients,
                &mut getrandom::SysRng,
                Discard(0),
            )
            .unwrap();
        },
        can_make.then_some(&mut theirs_make as &mut dyn FnMut()),
    );
    let mut theirs_open = || decrypt_verify().unwrap();
    b.compare(
        "mime decrypt+verify",
        "RSA-2048, AES-256-CBC",
        mail.len(),
        &mut || open(&mut inner),
        can_open.then_some(&mut theirs_open as &mut dyn FnMut()),
    );
}

// ---------------------------------------------------------------------------

fn parse_size(s: &str) -> usize {
    let s = s.trim();
    let (num, mul) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<usize>()
        .expect("SMIME_BENCH_SIZE: a number with K, M or G")
        * mul
}

fn size_label(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => format!("{n}B"),
    }
}

fn main() {
    let quick = std::env::var("SMIME_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let size = std::env::var("SMIME_BENCH_SIZE")
        .map_or(if quick { 4 << 20 } else { 16 << 20 }, |s| parse_size(&s));
    let (warm_up, measure) = if quick {
        (Duration::from_millis(100), Duration::from_millis(500))
    } else {
        (Duration::from_millis(300), Duration::from_secs(2))
    };
    let record = RefCell::new(Record::default());
    let mut b = Bench {
        c: Criterion::default()
            .sample_size(10)
            .warm_up_time(warm_up)
            .measurement_time(measure)
            .configure_from_args(),
        record: &record,
        label: size_label(size),
    };
    let dir = tempfile::tempdir().unwrap();
    let plain = data(size);
    let plain_path: PathBuf = dir.path().join("plain");
    std::fs::write(&plain_path, &plain).unwrap();

    encryption(&mut b, &plain, &plain_path);
    signatures(&mut b, &plain, &plain_path);
    // A mail whose payload is three quarters of the size: about `size` bytes in base64.
    mime_pipeline(&mut b, size / 4 * 3);
    b.c.final_summary();

    let startup = best_of(5, || must(openssl().arg("version")));
    let version = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    println!(
        "\nsummary: {} of content (MIME: a mail of about that size), MB/s = 10^6 bytes/s from the fastest sample",
        b.label
    );
    println!(
        "OpenSSL: {}, one process per operation (start-up {:.1} ms, included); ratio = smime-core / OpenSSL",
        version.unwrap_or_default(),
        startup.as_secs_f64() * 1e3
    );
    println!(
        "{:<20} {:<22} {:>15} {:>13} {:>7}",
        "operation", "algorithm", "smime-core MB/s", "OpenSSL MB/s", "ratio"
    );
    let record = record.borrow();
    for (op, alg, bytes) in &record.rows {
        let rate = |d: Duration| *bytes as f64 / 1e6 / d.as_secs_f64();
        let ours = record.get(op, alg, true).map(rate);
        let theirs = record.get(op, alg, false).map(rate);
        let fmt = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.1}"));
        let ratio = match (ours, theirs) {
            (Some(o), Some(t)) => format!("{:.2}x", o / t),
            _ => "-".to_owned(),
        };
        println!(
            "{op:<20} {alg:<22} {:>15} {:>13} {ratio:>7}",
            fmt(ours),
            fmt(theirs)
        );
    }
}
