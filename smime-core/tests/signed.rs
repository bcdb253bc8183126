//! SignedData verification: messages made by `openssl cms -sign` at test time
//! (RSA, P-256, Ed25519; attached, detached, streamed, ...), tampered
//! messages, and real samples from the interop folder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{ALL_CHUNKINGS, Chunking, pieces};
use smime_core::backend::HashAlgorithm;
use smime_core::cms::signed::{
    ContentDigests, DEFAULT_SCRATCH_LEN, SignedDataDecoder, SignerStatus, VerifyOptions, verify,
};
use smime_core::pubkey::SignatureAlgorithm;
use smime_core::x509::CertificateRef;
use smime_core::{Error, ErrorKind};

/// An owned copy of a report, comparable across chunkings.
#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    content: Vec<u8>,
    content_type: Vec<u8>,
    certs: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    signers: Vec<Signer>,
    all_valid: bool,
    detached: bool,
    unchecked: usize,
}

#[derive(Clone, Debug, PartialEq)]
struct Signer {
    index: usize,
    status: SignerStatus,
    digest: Option<HashAlgorithm>,
    signature: Option<SignatureAlgorithm>,
    signing_time: Option<i64>,
    weak: bool,
    cert: Option<Vec<u8>>,
    caps: bool,
    ekp: Option<Vec<u8>>,
}

impl Outcome {
    fn statuses(&self) -> Vec<SignerStatus> {
        self.signers.iter().map(|s| s.status).collect()
    }
}

/// Verifies `msg` fed as `c` says; `detached` gives the content of a
/// detached signature.
fn verify_with(
    msg: &[u8],
    c: Chunking,
    extra: &[Vec<u8>],
    detached: Option<&[u8]>,
) -> Result<Outcome, Error> {
    let extra: Vec<CertificateRef<'_>> =
        extra.iter().map(|d| CertificateRef::from_der(d).unwrap()).collect();
    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN * 4];
    let options = VerifyOptions { extra_certificates: &extra };
    let mut dec = match detached {
        None => SignedDataDecoder::<Vec<u8>>::new(Vec::new(), &mut scratch, options),
        Some(content) => {
            let mut d = ContentDigests::all();
            for p in pieces(content, c) {
                d.update(p).unwrap();
            }
            d.finish();
            SignedDataDecoder::<Vec<u8>>::detached(Vec::new(), &mut scratch, options, &d)
        }
    };
    for p in pieces(msg, c) {
        dec.write(p)?;
    }
    let (content, report) = dec.finish()?;
    Ok(Outcome {
        content,
        content_type: report.content_type().to_vec(),
        certs: report.certificates().map(|c| c.der().to_vec()).collect(),
        crls: report.crls().map(<[u8]>::to_vec).collect(),
        signers: report
            .signers()
            .iter()
            .map(|s| Signer {
                index: s.index,
                status: s.status,
                digest: s.digest,
                signature: s.signature,
                signing_time: s.signing_time.map(|t| t.unix()),
                weak: s.weak,
                cert: s.signer_cert.map(|c| c.der().to_vec()),
                caps: s.has_smime_capabilities,
                ekp: s.encryption_key_preference.map(<[u8]>::to_vec),
            })
            .collect(),
        all_valid: report.all_valid(),
        detached: report.detached,
        unchecked: report.unchecked_signers,
    })
}

/// Verifies under every chunking and checks the outcomes agree.
fn verify_all_chunkings(
    msg: &[u8],
    extra: &[Vec<u8>],
    detached: Option<&[u8]>,
) -> Result<Outcome, Error> {
    let first = verify_with(msg, Chunking::Whole, extra, detached);
    for c in ALL_CHUNKINGS {
        let r = verify_with(msg, c, extra, detached);
        match (&first, &r) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "chunking {c:?} changed the outcome"),
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "chunking {c:?} changed the error"),
            _ => panic!("chunking {c:?}: {first:?} vs {r:?}"),
        }
    }
    first
}

// ---------------------------------------------------------------------------
// OpenSSL-made messages
// ---------------------------------------------------------------------------

fn openssl(dir: &Path, args: &[&str]) -> bool {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("run openssl");
    if !out.status.success() {
        eprintln!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

fn pem_der(path: &Path) -> Vec<u8> {
    let data = std::fs::read(path).unwrap();
    pem_rfc7468::decode_vec(&data).unwrap().1
}

struct Pki {
    dir: tempfile::TempDir,
    content: Vec<u8>,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (name, alg) in [
            ("rsa", &["-newkey", "rsa:2048"][..]),
            ("rsb", &["-newkey", "rsa:2048"][..]),
            ("p256", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"][..]),
            ("p2", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"][..]),
            ("p384", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"][..]),
        ] {
            let key = format!("{name}.key");
            let crt = format!("{name}.crt");
            let subj = format!("/CN=signer {name}/emailAddress={name}@example.org");
            let mut args = vec!["req", "-x509", "-nodes", "-days", "30", "-subj", &subj];
            args.extend_from_slice(alg);
            args.extend_from_slice(&["-keyout", &key, "-out", &crt]);
            assert!(openssl(d, &args), "make {name}");
        }
        let content: Vec<u8> =
            (0..5000u32).map(|i| if i % 61 == 60 { b'\n' } else { b'a' + (i % 26) as u8 }).collect();
        std::fs::write(d.join("content.bin"), &content).unwrap();
        Self { dir, content }
    }

    fn path(&self, f: &str) -> std::path::PathBuf {
        self.dir.path().join(f)
    }

    fn cert(&self, name: &str) -> Vec<u8> {
        pem_der(&self.path(&format!("{name}.crt")))
    }

    /// `openssl cms -sign` with `signers` and extra arguments; the DER output.
    fn sign(&self, signers: &[&str], extra: &[&str]) -> Vec<u8> {
        let mut args: Vec<String> =
            ["cms", "-sign", "-binary", "-outform", "DER", "-in", "content.bin", "-out", "out.der"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        for s in signers {
            args.extend(["-signer".into(), format!("{s}.crt"), "-inkey".into(), format!("{s}.key")]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        assert!(openssl(self.dir.path(), &a), "openssl {a:?}");
        std::fs::read(self.path("out.der")).unwrap()
    }
}

fn assert_valid(o: &Outcome, n: usize) {
    assert_eq!(o.signers.len(), n, "{o:?}");
    assert!(o.all_valid, "{:?}", o.statuses());
    for s in &o.signers {
        assert_eq!(s.status, SignerStatus::Valid);
        assert!(s.cert.is_some());
    }
}

#[test]
fn openssl_attached_variants() {
    let pki = Pki::new();
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<&'a str>, Option<HashAlgorithm>);
    let cases: Vec<Case<'_>> = vec![
        ("rsa", vec!["rsa"], vec!["-nodetach"], Some(HashAlgorithm::Sha256)),
        ("p256", vec!["p256"], vec!["-nodetach"], Some(HashAlgorithm::Sha256)),
        ("stream", vec!["rsa"], vec!["-nodetach", "-stream"], Some(HashAlgorithm::Sha256)),
        ("stream p256", vec!["p256"], vec!["-nodetach", "-stream"], None),
        ("keyid", vec!["rsa"], vec!["-nodetach", "-keyid"], None),
        ("pss", vec!["rsa"], vec!["-nodetach", "-keyopt", "rsa_padding_mode:pss"], None),
        ("sha384", vec!["rsa"], vec!["-nodetach", "-md", "sha384"], Some(HashAlgorithm::Sha384)),
        ("sha512", vec!["p256"], vec!["-nodetach", "-md", "sha512"], Some(HashAlgorithm::Sha512)),
        ("p384", vec!["p384"], vec!["-nodetach", "-md", "sha384"], Some(HashAlgorithm::Sha384)),
        ("sha1", vec!["rsa"], vec!["-nodetach", "-md", "sha1"], Some(HashAlgorithm::Sha1)),
        ("noattr", vec!["rsa"], vec!["-nodetach", "-noattr"], None),
        ("noattr p256", vec!["p256"], vec!["-nodetach", "-noattr"], None),
        ("two signers", vec!["rsa", "p256"], vec!["-nodetach"], None),
        ("three signers", vec!["rsa", "p256", "rsb"], vec!["-nodetach", "-stream"], None),
    ];
    for (name, signers, extra, digest) in cases {
        let msg = pki.sign(&signers, &extra);
        let o = verify_all_chunkings(&msg, &[], None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(o.content, pki.content, "{name}");
        assert_eq!(o.content_type, smime_core::oid::DATA);
        assert!(!o.detached);
        assert_valid(&o, signers.len());
        // SET OF: the signer infos come in DER order, not command-line order.
        for who in &signers {
            let c = pki.cert(who);
            assert!(o.signers.iter().any(|s| s.cert.as_deref() == Some(&c[..])), "{name}");
            assert!(o.certs.contains(&c), "{name}");
        }
        for (i, s) in o.signers.iter().enumerate() {
            assert_eq!(s.index, i);
        }
        if let Some(d) = digest {
            assert_eq!(o.signers[0].digest, Some(d), "{name}");
            assert_eq!(o.signers[0].weak, d == HashAlgorithm::Sha1, "{name}");
        }
        let s = &o.signers[0];
        if signers.len() == 1 {
            assert_eq!(s.cert.as_deref(), Some(&pki.cert(signers[0])[..]), "{name}");
        }
        if extra.contains(&"-noattr") {
            assert!(s.signing_time.is_none() && !s.caps);
        } else {
            assert!(s.signing_time.is_some() && s.caps, "{name}");
        }
        if name == "pss" {
            assert!(matches!(s.signature, Some(SignatureAlgorithm::RsaPss { .. })), "{s:?}");
        }
        // The blocking helper agrees.
        let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN * 4];
        let (content, report) =
            verify(&msg[..], Vec::new(), &mut scratch, VerifyOptions::default()).unwrap();
        assert_eq!(content, pki.content);
        assert!(report.all_valid());
    }
}

#[test]
fn openssl_detached_and_certs() {
    let pki = Pki::new();
    // Detached: hashed beforehand.
    for signer in ["rsa", "p256"] {
        let msg = pki.sign(&[signer], &[]);
        let o = verify_all_chunkings(&msg, &[], Some(&pki.content)).unwrap();
        assert!(o.content.is_empty() && o.detached);
        assert_valid(&o, 1);
        // Without the content: structure and certificates only.
        let o = verify_all_chunkings(&msg, &[], None).unwrap();
        assert_eq!(o.statuses(), [SignerStatus::DetachedContent]);
        assert!(!o.all_valid);
        assert_eq!(o.certs, [pki.cert(signer)]);
        // Other content: digest mismatch.
        let mut other = pki.content.clone();
        other[100] ^= 1;
        let o = verify_all_chunkings(&msg, &[], Some(&other)).unwrap();
        assert_eq!(o.statuses(), [SignerStatus::DigestMismatch]);
    }
    // Only some digests computed beforehand.
    let msg = pki.sign(&["rsa"], &["-md", "sha384"]);
    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
    let mut d = ContentDigests::new(&[HashAlgorithm::Sha256]);
    d.update(&pki.content).unwrap();
    d.finish();
    assert_eq!(d.update(b"x").unwrap_err().kind(), ErrorKind::InvalidState);
    let mut dec = SignedDataDecoder::<Vec<u8>>::detached(
        Vec::new(),
        &mut scratch,
        VerifyOptions::default(),
        &d,
    );
    dec.write(&msg).unwrap();
    let (_, report) = dec.finish().unwrap();
    assert_eq!(report.signers()[0].status, SignerStatus::DigestNotComputed);
    // An attached message in detached mode is refused (ambiguous content).
    let attached = pki.sign(&["rsa"], &["-nodetach"]);
    let e = verify_with(&attached, Chunking::Whole, &[], Some(&pki.content)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidValue);

    // Extra certificates travel along.
    let msg = pki.sign(&["rsa"], &["-nodetach", "-certfile", "rsb.crt"]);
    let o = verify_all_chunkings(&msg, &[], None).unwrap();
    assert_valid(&o, 1);
    assert_eq!(o.certs.len(), 2);
    assert!(o.certs.contains(&pki.cert("rsb")));

    // Without certificates: not found, then found through the options.
    for s in ["rsa", "p256"] {
        let msg = pki.sign(&[s], &["-nodetach", "-nocerts"]);
        let o = verify_all_chunkings(&msg, &[], None).unwrap();
        assert_eq!(o.statuses(), [SignerStatus::SignerCertificateNotFound]);
        assert!(o.certs.is_empty() && !o.all_valid);
        let extra = vec![pki.cert("rsb"), pki.cert(s)];
        let o = verify_all_chunkings(&msg, &extra, None).unwrap();
        assert_valid(&o, 1);
        assert_eq!(o.signers[0].cert.as_deref(), Some(&pki.cert(s)[..]));
        // A wrong certificate with the same name is not the signer.
        let o = verify_all_chunkings(&msg, &[pki.cert("rsb")], None).unwrap();
        assert_eq!(o.statuses(), [SignerStatus::SignerCertificateNotFound]);
    }

    // Certificates only (.p7b).
    assert!(openssl(
        pki.dir.path(),
        &["crl2pkcs7", "-nocrl", "-certfile", "rsa.crt", "-certfile", "p256.crt", "-outform", "DER",
            "-out", "certs.p7b"]
    ));
    let p7b = std::fs::read(pki.path("certs.p7b")).unwrap();
    let o = verify_all_chunkings(&p7b, &[], None).unwrap();
    assert!(o.signers.is_empty() && !o.all_valid && o.detached && o.content.is_empty());
    assert_eq!(o.certs, [pki.cert("rsa"), pki.cert("p256")]);
    assert!(o.crls.is_empty());

    // With a CRL.
    let crl = common::interop("bc-csharp/crypto/test/data/rfc4134/CarlRSACRLEmpty.crl");
    assert!(openssl(
        pki.dir.path(),
        &["crl2pkcs7", "-inform", "DER", "-in", crl.to_str().unwrap(), "-certfile", "rsa.crt",
            "-outform", "DER", "-out", "crl.p7b"]
    ));
    let p7b = std::fs::read(pki.path("crl.p7b")).unwrap();
    let o = verify_all_chunkings(&p7b, &[], None).unwrap();
    assert_eq!(o.certs, [pki.cert("rsa")]);
    assert_eq!(o.crls, [std::fs::read(&crl).unwrap()]);
    assert!(o.signers.is_empty());
}

#[test]
fn more_signers_than_kept() {
    let pki = Pki::new();
    let msg = pki.sign(&["rsa", "rsb", "p256", "p2", "p384"], &["-nodetach", "-md", "sha384"]);
    let o = verify_all_chunkings(&msg, &[], None).unwrap();
    assert_eq!(o.signers.len(), smime_core::cms::signed::MAX_SIGNERS);
    assert_eq!(o.unchecked, 1);
    assert!(o.signers.iter().all(|s| s.status == SignerStatus::Valid));
    assert!(!o.all_valid, "an unchecked signer is not valid");
}

#[test]
fn openssl_tampering() {
    let pki = Pki::new();
    let msg = pki.sign(&["rsa"], &["-nodetach"]);
    assert_valid(&verify_all_chunkings(&msg, &[], None).unwrap(), 1);

    // A content byte.
    let at = msg.windows(64).position(|w| w == &pki.content[1000..1064]).unwrap();
    let mut m = msg.clone();
    m[at] ^= 1;
    let o = verify_all_chunkings(&m, &[], None).unwrap();
    assert_eq!(o.statuses(), [SignerStatus::DigestMismatch]);
    assert_ne!(o.content, pki.content);

    // A byte of the signed attributes: the signing time's last second digit.
    let t = msg.windows(2).rposition(|w| w == [0x17, 0x0d]).unwrap();
    let mut m = msg.clone();
    m[t + 2 + 11] ^= 1;
    let o = verify_all_chunkings(&m, &[], None).unwrap();
    assert_eq!(o.statuses(), [SignerStatus::BadSignature]);

    // The signature (the last bytes of the message).
    let mut m = msg.clone();
    let n = m.len();
    m[n - 5] ^= 0x40;
    let o = verify_all_chunkings(&m, &[], None).unwrap();
    assert_eq!(o.statuses(), [SignerStatus::BadSignature]);
    assert_eq!(o.content, pki.content);

    // The messageDigest attribute's value.
    let md = msg.windows(11).position(|w| w == [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04]).unwrap();
    let mut m = msg.clone();
    m[md + 11 + 4 + 3] ^= 1;
    let o = verify_all_chunkings(&m, &[], None).unwrap();
    assert_eq!(o.statuses(), [SignerStatus::DigestMismatch]);
}

#[test]
fn truncation_is_never_valid() {
    let pki = Pki::new();
    for extra in [&["-nodetach"][..], &["-nodetach", "-stream"][..]] {
        let msg = pki.sign(&["p256"], extra);
        for cut in 0..msg.len() {
            let r = verify_with(&msg[..cut], Chunking::Whole, &[], None);
            assert!(r.is_err(), "cut {cut} of {}: {r:?}", msg.len());
        }
        // Every single-byte change: the same outcome under two chunkings,
        // and never valid in the signed parts (before the certificates or
        // after them).
        let (certs_at, certs_end) = {
            let c = pki.cert("p256");
            let at = msg.windows(c.len()).position(|w| w == &c[..]).unwrap();
            (at, at + c.len())
        };
        let mut m = msg.clone();
        for i in (0..msg.len()).step_by(3) {
            m[i] ^= 0x10;
            let a = verify_with(&m, Chunking::Whole, &[], None);
            let b = verify_with(&m, Chunking::Bytes(1), &[], None);
            match (&a, &b) {
                (Ok(x), Ok(y)) => {
                    assert_eq!(x, y, "byte {i}");
                    if x.all_valid {
                        assert!((certs_at..certs_end).contains(&i), "byte {i} changed, still valid");
                    }
                }
                (Err(x), Err(y)) => assert_eq!(x.kind(), y.kind(), "byte {i}"),
                _ => panic!("byte {i}: {a:?} vs {b:?}"),
            }
            m[i] ^= 0x10;
        }
        // Trailing bytes.
        let mut m = msg.clone();
        m.push(0);
        assert_eq!(
            verify_with(&m, Chunking::Bytes(7), &[], None).unwrap_err().kind(),
            ErrorKind::TrailingData
        );
    }
}

#[test]
fn small_scratch_is_an_error_not_a_truncation() {
    let pki = Pki::new();
    let msg = pki.sign(&["rsa"], &["-nodetach", "-certfile", "rsb.crt"]);
    for len in [0usize, 100, 800, 1500, 2200] {
        let mut scratch = vec![0u8; len];
        let mut dec =
            SignedDataDecoder::<Vec<u8>>::new(Vec::new(), &mut scratch, VerifyOptions::default());
        let r = dec.write(&msg).and_then(|()| dec.finish().map(|_| ()));
        let e = r.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::BufferTooSmall { .. } | ErrorKind::CapacityExceeded),
            "{len}: {e:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Real samples
// ---------------------------------------------------------------------------

/// Whether `openssl cms -verify -noverify` accepts the (attached) sample.
fn openssl_accepts(path: &Path) -> bool {
    Command::new("openssl")
        .args(["cms", "-verify", "-noverify", "-inform", "DER", "-out", "/dev/null", "-in"])
        .arg(path)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn pem_or_der(rel: &str) -> Vec<u8> {
    common::der(rel)
}

#[test]
fn rfc4134_samples() {
    let base = "bc-csharp/crypto/test/data/rfc4134/";
    let content = common::read(&format!("{base}ExContent.bin"));
    // 4.1: DSA.
    let o = verify_all_chunkings(&common::read(&format!("{base}4.1.bin")), &[], None).unwrap();
    assert_eq!(o.statuses(), [SignerStatus::UnsupportedAlgorithm]);
    assert_eq!(o.content, content);
    // 4.2: RSA, attached.
    let path = common::interop(&format!("{base}4.2.bin"));
    let msg = std::fs::read(&path).unwrap();
    let o = verify_all_chunkings(&msg, &[], None).unwrap();
    assert_eq!(o.content, content);
    assert_valid(&o, 1);
    assert!(openssl_accepts(&path));
    // 4.3: DSA, detached: read, not checked.
    let msg = common::read(&format!("{base}4.3.bin"));
    let o = verify_all_chunkings(&msg, &[], Some(&content)).unwrap();
    assert!(o.detached && o.content.is_empty());
    assert_eq!(o.statuses(), [SignerStatus::UnsupportedAlgorithm]);
    assert!(o.signers[0].cert.is_none() && o.signers[0].weak);
}

#[test]
fn examples_cms_samples() {
    let dir = "examples-cms/binary-files/";
    let certs = "examples-cms/certs-and-keys/";
    let alice = pem_or_der(&format!("{certs}lamps-alice.crt"));
    let carlos = pem_or_der(&format!("{certs}lamps-carlos.crt"));
    for f in ["signedByAliceRSA.p7m", "signedByAliceRSAPSS.p7m", "signedByCarlosEd25519.p7m"] {
        let path = common::interop(&format!("{dir}{f}"));
        let msg = std::fs::read(&path).unwrap();
        let o = verify_all_chunkings(&msg, &[], None).unwrap();
        assert_valid(&o, 1);
        assert!(!o.content.is_empty());
        // OpenSSL 3.0 cannot verify Ed25519 in CMS ("invalid digest").
        if !f.contains("Ed25519") {
            assert_eq!(o.all_valid, openssl_accepts(&path), "{f}");
        } else {
            assert_eq!(o.signers[0].signature, Some(SignatureAlgorithm::Ed25519));
        }
    }
    let msg = common::read(&format!("{dir}signedByAliceAndCarlosNoCerts.p7m"));
    let o = verify_all_chunkings(&msg, &[], None).unwrap();
    assert_eq!(o.statuses(), [SignerStatus::SignerCertificateNotFound; 2]);
    let o = verify_all_chunkings(&msg, &[alice.clone(), carlos.clone()], None).unwrap();
    // Carlos signs with Ed25519 without signed attributes: pure EdDSA over
    // the content itself, which a streaming verifier does not keep.
    assert_eq!(o.statuses(), [SignerStatus::UnsupportedAlgorithm, SignerStatus::Valid]);
    assert_eq!(o.signers[0].signature, Some(SignatureAlgorithm::Ed25519));
    assert_eq!(o.signers[1].cert.as_deref(), Some(&alice[..]));
    // Detached by Carlos: the content is not in the folder; structure only.
    let msg = common::read(&format!("{dir}signedByCarlosDetached.p7m"));
    let o = verify_all_chunkings(&msg, std::slice::from_ref(&carlos), None).unwrap();
    assert!(o.detached);
    assert_eq!(o.statuses(), [SignerStatus::DetachedContent]);
    // Pure Ed25519 without signed attributes signs the content itself, not
    // a digest: not checkable from ContentDigests.
    let o = verify_all_chunkings(&msg, &[carlos], Some(b"This is some sample content.")).unwrap();
    assert_eq!(o.statuses(), [SignerStatus::UnsupportedAlgorithm]);
}

#[test]
fn asn1crypto_smimesign_libksba_gnupg_samples() {
    // (file, expected to be all valid)
    let attached = [
        "asn1crypto/tests/fixtures/cms-signed.der",
        "asn1crypto/tests/fixtures/cms-signed-indefinite-length.der",
        "smimesign/fixtureSignatureGPGSMAttached.der",
        "smimesign/fixtureSignatureOpenSSLAttached.der",
        "smimesign/fixtureSmimesignAttachedWithTimestamp.der",
        "smimesign/fixtureSignatureOne.der",
        "libksba/tests/samples/rsa-sample1.p7s",
    ];
    for f in attached {
        let path = common::interop(f);
        let mut msg = std::fs::read(&path).unwrap();
        if f.ends_with("indefinite-length.der") {
            // The fixture ends in a newline after the message.
            assert_eq!(msg.pop(), Some(b'\n'));
            assert_eq!(
                verify_with(&std::fs::read(&path).unwrap(), Chunking::Whole, &[], None)
                    .unwrap_err()
                    .kind(),
                ErrorKind::TrailingData
            );
        }
        let o = verify_all_chunkings(&msg, &[], None).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(!o.detached && !o.content.is_empty() && !o.certs.is_empty(), "{f}");
        assert_eq!(o.all_valid, openssl_accepts(&path), "{f}: {:?}", o.statuses());
        // asn1crypto's indefinite-length fixture does not verify (its content
        // was changed after signing); OpenSSL says so too.
        let want_valid = !f.contains("indefinite");
        assert_eq!(o.all_valid, want_valid, "{f}: {:?}", o.statuses());
    }
    // WEB.DE's signature names its content type 1.2.840.113546.1.7.2 (a typo
    // of id-signedData); OpenSSL refuses it too.
    let path = common::interop("gnupg/tests/cms/samplemsgs/webde-buenemann-signed.cms");
    let e = verify_with(&std::fs::read(&path).unwrap(), Chunking::Bytes(3), &[], None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedContentType);
    assert!(!openssl_accepts(&path));
    // libksba's "detached-sig.cms" carries its content ("hallo\n") and no
    // certificates.
    let o = verify_all_chunkings(&common::read("libksba/tests/samples/detached-sig.cms"), &[], None)
        .unwrap();
    assert_eq!(o.content, b"hallo\n");
    assert_eq!(o.statuses(), [SignerStatus::SignerCertificateNotFound]);
    assert!(o.certs.is_empty() && o.signers[0].signing_time.is_some() && o.signers[0].caps);
    // Detached ones: structure and certificates.
    for f in [
        "asn1crypto/tests/fixtures/smime-signature-generated-by-thunderbird.p7s",
        "smimesign/fixtureSignatureOutlookDetached.der",
        "smimesign/fixtureSignatureOpenSSLDetached.der",
        "smimesign/fixtureSignatureNoCertsGPGSM.der",
        "smimesign/fixtureSignatureGPGSM.der",
        "libksba/tests/samples/ecdsa-sample1.p7s",
    ] {
        let msg = pem_or_der(f);
        let o = verify_all_chunkings(&msg, &[], None).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(o.detached && !o.all_valid && o.content.is_empty(), "{f}: {o:?}");
        let want = if f.contains("NoCerts") {
            SignerStatus::SignerCertificateNotFound
        } else {
            SignerStatus::DetachedContent
        };
        assert!(o.signers.iter().all(|s| s.status == want), "{f}: {:?}", o.statuses());
        assert_eq!(o.certs.is_empty(), f.contains("NoCerts"), "{f}");
        let s = &o.signers[0];
        assert!(s.signing_time.is_some(), "{f}");
        // Thunderbird and Outlook announce their encryption certificate
        // (SMIMEEncryptionKeyPreference, [0] IssuerAndSerialNumber): one of
        // the certificates the message carries.
        if f.contains("thunderbird") || f.contains("Outlook") {
            let ekp = s.ekp.as_ref().expect("encryption key preference");
            assert_eq!(ekp[0], 0xA0);
            let named = o.certs.iter().any(|c| {
                let c = CertificateRef::from_der(c).unwrap();
                let has = |x: &[u8]| ekp.windows(x.len()).any(|w| w == x);
                has(c.issuer_der()) && has(c.serial())
            });
            assert!(named, "{f}");
        } else {
            assert!(s.ekp.is_none());
        }
    }
}
