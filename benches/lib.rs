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

/// A key made with `openssl genpkey` and a self-signed certificate for it
/// made with `openssl req -x509`, in a temporary directory (`key.pem`,
/// `cert.pem`).
#[derive(Debug)]
pub struct KeyPair {
    dir: tempfile::TempDir,
    /// The certificate's DER.
    pub cert_der: Vec<u8>,
    /// The private key as unencrypted PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// The key as PEM (PKCS#8).
    pub key_pem: String,
}

impl KeyPair {
    /// `genpkey` are the `openssl genpkey` arguments (e.g. `["-algorithm",
    /// "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]`); `key_usage` goes to
    /// the certificate (e.g. `digitalSignature`).
    ///
    /// # Panics
    /// When `openssl` cannot be run or fails.
    #[allow(clippy::expect_used, clippy::panic)]
    pub fn new(genpkey: &[&str], key_usage: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let run = |cmd: &mut Command| {
            let o = cmd.output().expect("openssl is needed for the benchmarks");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            o.stdout
        };
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        run(Command::new("openssl")
            .arg("genpkey")
            .args(genpkey)
            .arg("-out")
            .arg(&key));
        run(Command::new("openssl")
            .args(["req", "-x509", "-subj", "/CN=bench", "-days", "2", "-key"])
            .arg(&key)
            .arg("-addext")
            .arg(format!("keyUsage={key_usage}"))
            .arg("-out")
            .arg(&cert));
        let key_der = run(Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
            .arg(&key));
        let key_pem = std::fs::read_to_string(&key).expect("key.pem");
        let cert_der = pem_to_der(&std::fs::read_to_string(&cert).expect("cert.pem"));
        KeyPair {
            dir,
            cert_der,
            key_der,
            key_pem,
        }
    }

    /// A path in the key pair's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// An RFC 5322 mail of about `payload` bytes of pseudo-random data (as
/// [`data`]) in a base64 body with 76-column CRLF lines, as the
/// `mail-pipeline` binary writes it.
pub fn mail(payload: usize) -> Vec<u8> {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = format!(
        "From: Alice <alice@example.com>\r\n\
         To: Bob <bob@example.com>\r\n\
         Subject: benchmark, {payload} bytes\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: application/octet-stream\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n"
    )
    .into_bytes();
    for line in data(payload).chunks(57) {
        for g in line.chunks(3) {
            let b = [
                g[0],
                g.get(1).copied().unwrap_or(0),
                g.get(2).copied().unwrap_or(0),
            ];
            let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
            let c = |shift: u32| B64[usize::from(((n >> shift) & 63).to_le_bytes()[0])];
            out.extend_from_slice(&[
                c(18),
                c(12),
                if g.len() > 1 { c(6) } else { b'=' },
                if g.len() > 2 { c(0) } else { b'=' },
            ]);
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Signs a mail as multipart/signed and encrypts that into an
/// application/pkcs7-mime EnvelopedData in base64 (AES-256-CBC), in one
/// streaming pass, as `smime sign --encrypt-to` does: the RFC 5322 header
/// stays outside, the `Content-*` fields and the body are signed. All
/// working memory is on the stack (no heap unless the sink or the keys
/// allocate).
///
/// # Errors
/// The core's errors; an incomplete header is `Truncated`.
pub fn mime_sign_encrypt<S, W, R>(
    mail: &[u8],
    signers: &mut [S],
    recipients: &[smime_core::cms::enveloped::Recipient<'_>],
    rng: &mut R,
    mut sink: W,
) -> smime_core::Result<W>
where
    S: smime_core::backend::Signer,
    W: embedded_io::Write,
    R: rand_core::TryCryptoRng,
{
    use smime_core::cms::enveloped::{EncryptOptions, EnvelopedDataEncoder};
    use smime_core::cms::sign::SignOptions;
    use smime_core::mime::base64::Base64Encoder;
    use smime_core::mime::{
        BodyEncoder, Boundary, MessageSplitter, MultipartSignedWriter, SmimeType,
        write_pkcs7_mime_header,
    };
    let mut field = [0u8; MIME_FIELD_LEN];
    let mut content = [0u8; MIME_FIELD_LEN];
    let mut scratch = [0u8; smime_core::cms::sign::DEFAULT_SCRATCH_LEN];
    let mut s = MessageSplitter::new(&mut field, &mut content);
    let (n, done) = s.push(mail, &mut sink)?;
    if !done {
        return Err(smime_core::Error::new(smime_core::ErrorKind::Truncated));
    }
    write_pkcs7_mime_header(&mut sink, SmimeType::EnvelopedData)?;
    let boundary = Boundary::random(rng)?;
    let mut env = EnvelopedDataEncoder::<_>::new(
        Base64Encoder::new(sink),
        recipients,
        &EncryptOptions::default(),
        rng,
    )?;
    let mut w = MultipartSignedWriter::new(
        &mut env,
        signers,
        &mut scratch,
        &SignOptions::default(),
        boundary,
    )?;
    let info = s.info();
    s.write_entity_header(&mut w, info.needs_base64_for_signing())?;
    let mut body = BodyEncoder::for_signing(&info, &mut w);
    for part in mail.get(n..).unwrap_or_default().chunks(64 * 1024) {
        body.write(part)?;
    }
    body.finish()?;
    w.finish()?;
    env.finish()?.finish()
}

/// One header field's buffer in the MIME helpers.
pub const MIME_FIELD_LEN: usize = 1024;

/// Opens what [`mime_sign_encrypt`] makes: decodes the base64, decrypts
/// (into `inner`, which must hold the multipart/signed entity), then reads
/// the multipart/signed and verifies its signature, writing the signed
/// entity to `sink`. Returns the sink and whether every signature is valid.
/// All working memory is on the stack or in `inner`.
///
/// # Errors
/// The core's errors; an incomplete header is `Truncated`.
pub fn mime_decrypt_verify<K, W>(
    msg: &[u8],
    keys: &mut [K],
    inner: &mut [u8],
    sink: W,
) -> smime_core::Result<(W, bool)>
where
    K: smime_core::backend::KeyTransDecrypter,
    W: embedded_io::Write,
{
    use smime_core::cms::enveloped::{DEFAULT_SCRATCH_LEN, DecryptOptions, EnvelopedDataDecoder};
    use smime_core::cms::signed::{DEFAULT_SCRATCH_LEN as VERIFY_SCRATCH_LEN, VerifyOptions};
    use smime_core::mime::{BodyDecoder, MessageSplitter, MultipartSignedReader};
    let truncated = || smime_core::Error::new(smime_core::ErrorKind::Truncated);
    // Outer: application/pkcs7-mime enveloped-data, base64.
    let mut field = [0u8; MIME_FIELD_LEN];
    let mut content = [0u8; MIME_FIELD_LEN];
    let mut s = MessageSplitter::new(&mut field, &mut content);
    let (n, done) = s.push(msg, &mut Discard(0))?;
    if !done {
        return Err(truncated());
    }
    let cap = inner.len();
    let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
    let dec = EnvelopedDataDecoder::<_, _, _>::new(
        &mut *inner,
        keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions::default(),
    );
    let mut b = BodyDecoder::new(s.info().transfer_encoding, dec)?;
    for part in msg.get(n..).unwrap_or_default().chunks(64 * 1024) {
        b.write(part)?;
    }
    let (rest, _) = b.finish()?.finish()?;
    let inner_len = cap - rest.len();
    let inner = inner.get(..inner_len).ok_or_else(truncated)?;
    // Inner: multipart/signed.
    let mut field = [0u8; MIME_FIELD_LEN];
    let mut content = [0u8; MIME_FIELD_LEN];
    let mut sig_field = [0u8; MIME_FIELD_LEN];
    let mut scratch = [0u8; VERIFY_SCRATCH_LEN];
    let mut s = MessageSplitter::new(&mut field, &mut content);
    let (n, done) = s.push(inner, &mut Discard(0))?;
    if !done {
        return Err(truncated());
    }
    let boundary = s.boundary().ok_or_else(truncated)?;
    let mut r = MultipartSignedReader::new(
        sink,
        boundary,
        s.info().micalg,
        &mut sig_field,
        &mut scratch,
        VerifyOptions::default(),
    )?;
    for part in inner.get(n..).unwrap_or_default().chunks(64 * 1024) {
        r.write(part)?;
    }
    let (sink, report, _) = r.finish()?;
    Ok((sink, report.all_valid()))
}
