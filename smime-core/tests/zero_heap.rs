//! The core's encrypt and decrypt paths allocate nothing.
//!
//! A counting global allocator counts the allocations made on this test's
//! thread while the core runs. The software RSA backend (the `rsa` crate)
//! allocates in its private-key operation; that call is the backend's work,
//! not the core's, so counting pauses inside it (the wrapper below). The
//! public-key side (wrapping the CEK for a recipient) is the core's own and is
//! counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation, clippy::collapsible_if, clippy::manual_repeat_n)]
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use smime_core::backend::{ErrorType, KeyTransAlgorithm, KeyTransDecrypter, RecipientId};
use smime_core::cipher::ContentCipher;
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, KeyTransport, Recipient, RecipientIdKind,
};
use smime_core::soft::SoftRsaKey;
use smime_core::x509::CertificateRef;

struct Counting;

thread_local! {
    /// Whether this thread's allocations are being counted.
    static COUNT: Cell<bool> = const { Cell::new(false) };
    /// This thread's counted allocations (per thread: tests run in parallel).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn bump() {
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
}

fn counting() -> bool {
    COUNT.try_with(|c| c.get()).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            bump();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            bump();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` with allocation counting on; returns the count.
fn count<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    COUNT.with(|c| c.set(true));
    let r = f();
    COUNT.with(|c| c.set(false));
    (r, ALLOCATIONS.with(Cell::get) - before)
}

/// The software key, with counting paused during its own private-key operation.
struct Uncounted(SoftRsaKey);

impl ErrorType for Uncounted {
    type Error = <SoftRsaKey as ErrorType>::Error;
}

impl KeyTransDecrypter for Uncounted {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        self.0.recipient_id()
    }
    fn decrypt_key(
        &mut self,
        alg: &KeyTransAlgorithm<'_>,
        ek: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Self::Error> {
        let was = COUNT.with(|c| c.replace(false));
        let r = self.0.decrypt_key(alg, ek, out);
        COUNT.with(|c| c.set(was));
        r
    }
}

#[test]
fn counter_sees_allocations() {
    // The instrument works: a Vec allocation is counted.
    let (_v, n) = count(|| std::hint::black_box(Vec::<u8>::with_capacity(10)));
    assert!(n >= 1);
}

#[test]
fn encrypt_and_decrypt_allocate_nothing() {
    let bob = common::bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    let msg: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let mut ct_buf = vec![0u8; 200_000];
    let mut pt_buf = vec![0u8; 200_000];
    let mut keys = [Uncounted(common::bob_key())];

    for (cipher, kt, definite) in [
        (ContentCipher::Aes256Cbc, KeyTransport::RsaPkcs1v15, false),
        (ContentCipher::Aes128Cbc, KeyTransport::RsaOaep(smime_core::backend::HashAlgorithm::Sha256), true),
        // AuthEnvelopedData (RFC 5083).
        (ContentCipher::Aes256Gcm, KeyTransport::RsaPkcs1v15, false),
        (ContentCipher::ChaCha20Poly1305, KeyTransport::RsaPkcs1v15, true),
    ] {
        let recipients = [Recipient { cert, id: RecipientIdKind::IssuerAndSerial, key_transport: kt }];
        let options = EncryptOptions {
            cipher,
            content_len: definite.then_some(msg.len() as u64),
            ..Default::default()
        };
        let (ct_len, allocs) = count(|| {
            let mut rng = getrandom::SysRng;
            let sink: &mut [u8] = &mut ct_buf[..];
            let mut enc =
                EnvelopedDataEncoder::<&mut [u8]>::new(sink, &recipients, &options, &mut rng).unwrap();
            for part in msg.chunks(1000) {
                enc.write(part).unwrap();
            }
            let rest = enc.finish().unwrap();
            200_000 - rest.len()
        });
        assert_eq!(allocs, 0, "encryption allocated {allocs} times");

        for chunk in [1usize, 4096] {
            let ct = &ct_buf[..ct_len];
            let ((pt_len, report), allocs) = count(|| {
                let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
                let sink: &mut [u8] = &mut pt_buf[..];
                let mut dec = EnvelopedDataDecoder::<_, _, &mut [u8]>::new(
                    sink,
                    &mut keys[..],
                    getrandom::SysRng,
                    &mut scratch,
                    DecryptOptions::default(),
                );
                for part in ct.chunks(chunk) {
                    dec.write(part).unwrap();
                }
                let (rest, report) = dec.finish().unwrap();
                (200_000 - rest.len(), report)
            });
            assert_eq!(allocs, 0, "decryption allocated {allocs} times (chunk {chunk})");
            assert_eq!(report.cipher, cipher);
            assert_eq!(&pt_buf[..pt_len], &msg[..]);
        }
        if cipher.is_aead() {
            // The two-pass mode over the whole message.
            let ct = &ct_buf[..ct_len];
            let ((pt_len, report), allocs) = count(|| {
                let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
                let sink: &mut [u8] = &mut pt_buf[..];
                let (rest, report) = smime_core::cms::enveloped::decrypt_authenticated(
                    ct,
                    &mut keys[..],
                    getrandom::SysRng,
                    &mut scratch,
                    DecryptOptions::default(),
                    sink,
                )
                .unwrap();
                (200_000 - rest.len(), report)
            });
            assert_eq!(allocs, 0, "two-pass decryption allocated {allocs} times");
            assert!(report.authenticated);
            assert_eq!(&pt_buf[..pt_len], &msg[..]);
        }
    }
}

/// DER of the first certificate in a PEM file with text around it, or of a DER file.
fn cert(rel: &str) -> Vec<u8> {
    let data = common::read(rel);
    let text = String::from_utf8_lossy(&data);
    match (text.find("-----BEGIN CERTIFICATE-----"), text.find("-----END CERTIFICATE-----")) {
        (Some(a), Some(b)) => pem_rfc7468::decode_vec(text[a..b + 25].as_bytes()).unwrap().1,
        _ => data,
    }
}

#[test]
fn signature_verification_allocates_nothing() {
    use smime_core::pubkey::{SignatureAlgorithm, verify_message};
    let lamps = "rfc9216-certs-wbond-certvalidator/tests/fixtures/rfc9216/";
    let ksba = "libksba/tests/samples/";
    let rsa_ca = cert(&format!("{lamps}Sample_LAMPS_RSA_Certification_Authority.selfsigned.pem"));
    let ed_ca = cert(&format!("{lamps}Sample_LAMPS_Ed25519_Certification_Authority.selfsigned.pem"));
    let alice = cert(&format!("{lamps}alice@smime.example.sig.pem"));
    let dana = cert(&format!("{lamps}dana@smime.example.sig.pem"));
    let p256 = cert(&format!("{ksba}secp256r1-sha512_cert.crt"));
    let p384 = cert(&format!("{ksba}secp384r1-sha512_cert.crt"));
    let pairs = [
        (&rsa_ca, &rsa_ca),
        (&alice, &rsa_ca),
        (&ed_ca, &ed_ca),
        (&dana, &ed_ca),
        (&p256, &p256),
        (&p384, &p384),
    ];
    for (subject, issuer) in pairs {
        let s = CertificateRef::from_der(subject).unwrap();
        let i = CertificateRef::from_der(issuer).unwrap();
        let (r, n) = count(|| s.verify_issued_by(&i));
        r.unwrap();
        assert_eq!(n, 0, "verifying {:?} allocated", s.subject());
        // And a failure path (tampered signature) allocates nothing either.
        let alg = SignatureAlgorithm::from_der(s.signature_algorithm_der()).unwrap();
        let mut sig = s.signature().to_vec();
        sig[10] ^= 1;
        let (r, n) = count(|| verify_message(i.spki_der(), &alg, s.tbs_der(), &sig));
        assert!(r.is_err());
        assert_eq!(n, 0);
    }
}

#[test]
fn signed_data_verification_allocates_nothing() {
    use smime_core::cms::signed::{
        ContentDigests, DEFAULT_SCRATCH_LEN, SignedDataDecoder, VerifyOptions,
    };
    let dir = "examples-cms/binary-files/";
    let carlos = cert("examples-cms/certs-and-keys/lamps-carlos.crt");
    let alice = cert("examples-cms/certs-and-keys/lamps-alice.crt");
    let extra = [CertificateRef::from_der(&alice).unwrap(), CertificateRef::from_der(&carlos).unwrap()];
    for (f, signers) in [
        ("signedByAliceRSA.p7m", 1),
        ("signedByAliceRSAPSS.p7m", 1),
        ("signedByCarlosEd25519.p7m", 1),
        ("signedByAliceAndCarlosNoCerts.p7m", 2),
    ] {
        let msg = common::read(&format!("{dir}{f}"));
        for chunk in [1usize, 4096] {
            let mut out = [0u8; 4096];
            let ((n, valid, count), allocs) = count(|| {
                let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
                let options = VerifyOptions { extra_certificates: &extra };
                let mut dec =
                    SignedDataDecoder::<&mut [u8]>::new(&mut out[..], &mut scratch, options);
                for part in msg.chunks(chunk) {
                    dec.write(part).unwrap();
                }
                let (rest, report) = dec.finish().unwrap();
                let valid = report.signers().iter().filter(|s| s.is_valid()).count();
                (4096 - rest.len(), valid, report.signers().len())
            });
            assert_eq!(allocs, 0, "{f}: verification allocated {allocs} times (chunk {chunk})");
            assert_eq!(count, signers, "{f}");
            // Carlos's signature without signed attributes is not checkable
            // while streaming (pure Ed25519 over the content).
            assert_eq!(valid, 1, "{f}");
            assert!(n > 0);
        }
    }
    // Detached mode with digests computed beforehand (the content is not in
    // the sample folder: any content does to count allocations).
    let msg = common::read(&format!("{dir}signedByCarlosDetached.p7m"));
    let (signers, allocs) = count(|| {
        let mut d = ContentDigests::all();
        d.update(b"This is some sample content.").unwrap();
        d.finish();
        let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
        let options = VerifyOptions { extra_certificates: &extra };
        let mut dec = SignedDataDecoder::<&mut [u8]>::detached(&mut [][..], &mut scratch, options, &d);
        dec.write(&msg).unwrap();
        let (_, report) = dec.finish().unwrap();
        report.signers().len()
    });
    assert_eq!(allocs, 0);
    assert_eq!(signers, 1);
}

/// The software key as a signer, with counting paused during its signature.
struct UncountedSigner(SoftRsaKey);

impl ErrorType for UncountedSigner {
    type Error = <SoftRsaKey as ErrorType>::Error;
}

impl smime_core::backend::Signer for UncountedSigner {
    fn algorithm(&self) -> smime_core::pubkey::SignatureAlgorithm {
        smime_core::backend::Signer::algorithm(&self.0)
    }
    fn certificate(&self) -> Option<&[u8]> {
        smime_core::backend::Signer::certificate(&self.0)
    }
    fn max_signature_len(&self) -> usize {
        smime_core::backend::Signer::max_signature_len(&self.0)
    }
    fn sign(
        &mut self,
        tbs: &smime_core::backend::ToBeSigned<'_>,
        out: &mut [u8],
    ) -> Result<usize, Self::Error> {
        let was = COUNT.with(|c| c.replace(false));
        let r = smime_core::backend::Signer::sign(&mut self.0, tbs, out);
        COUNT.with(|c| c.set(was));
        r
    }
}

#[test]
fn signing_allocates_nothing() {
    use smime_core::cms::sign::{DEFAULT_SCRATCH_LEN as SIGN_SCRATCH, SignOptions, SignedDataEncoder};
    let msg: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let bob = common::bob_cert();
    let chain = [CertificateRef::from_der(&bob).unwrap()];
    let mut out = vec![0u8; 100_000];
    let mut signers = [UncountedSigner(common::alice_key())];
    for detached in [false, true] {
        let options = SignOptions {
            detached,
            certificates: &chain,
            encryption_key_preference: Some(chain[0]),
            signing_time: smime_core::x509::Time::from_civil(2026, 1, 2, 3, 4, 5),
            ..Default::default()
        };
        let (len, allocs) = count(|| {
            let mut scratch = [0u8; SIGN_SCRATCH];
            let sink: &mut [u8] = &mut out[..];
            let mut enc = SignedDataEncoder::new(sink, &mut signers, &mut scratch, &options).unwrap();
            for part in msg.chunks(1000) {
                enc.write(part).unwrap();
            }
            let rest = enc.finish().unwrap();
            100_000 - rest.len()
        });
        assert_eq!(allocs, 0, "signing allocated {allocs} times (detached {detached})");
        assert!(len > 1000);
    }
}

#[cfg(feature = "soft-ec")]
#[test]
fn ecdsa_signing_allocates_nothing() {
    use smime_core::cms::sign::{SignOptions, SignedDataEncoder};
    use smime_core::soft_ec::SoftEcKey;
    let dir = tempfile::tempdir().unwrap();
    let (k, c) = (dir.path().join("k.pem"), dir.path().join("c.der"));
    let o = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"])
        .args(["-subj", "/CN=EC", "-days", "30", "-outform", "DER", "-keyout"])
        .arg(&k)
        .arg("-out")
        .arg(&c)
        .output()
        .unwrap();
    assert!(o.status.success());
    let key = pem_rfc7468::decode_vec(&std::fs::read(&k).unwrap()).unwrap().1;
    let cert = std::fs::read(&c).unwrap();
    let mut signers = [SoftEcKey::from_pkcs8_der(&key).unwrap().with_certificate(&cert).unwrap()];
    let msg = [0x5Au8; 5000];
    let mut out = vec![0u8; 20_000];
    for detached in [false, true] {
        let options = SignOptions { detached, ..Default::default() };
        let (len, allocs) = count(|| {
            let mut scratch = [0u8; 4096];
            let sink: &mut [u8] = &mut out[..];
            let mut enc = SignedDataEncoder::new(sink, &mut signers, &mut scratch, &options).unwrap();
            enc.write(&msg).unwrap();
            20_000 - enc.finish().unwrap().len()
        });
        assert_eq!(allocs, 0, "ECDSA signing allocated {allocs} times");
        assert!(len > 300);
    }
}

/// The whole S/MIME message path: a mail is split, signed as
/// multipart/signed, encrypted, base64-wrapped; then decoded, decrypted and
/// its signature verified. Nothing of it allocates.
#[test]
fn mime_sign_encrypt_and_back_allocates_nothing() {
    use smime_core::cms::sign::SignOptions;
    use smime_core::cms::signed::VerifyOptions;
    use smime_core::mime::base64::Base64Encoder;
    use smime_core::mime::{
        BodyDecoder, BodyEncoder, Boundary, MessageSplitter, MultipartSignedReader,
        MultipartSignedWriter, SmimeType, write_pkcs7_mime_header,
    };

    let mut mail = b"From: Alice <alice@smime.example>\r\nTo: bob@smime.example\r\n\
Subject: zero heap\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n"
        .to_vec();
    for i in 0..2000u32 {
        mail.extend_from_slice(format!("line {i} \u{e4}\u{f6}\u{fc}\n").as_bytes());
    }
    let bob = common::bob_cert();
    let recipients = [Recipient::new(CertificateRef::from_der(&bob).unwrap())];
    let mut signers = [UncountedSigner(common::alice_key())];
    let boundary = Boundary::random(&mut getrandom::SysRng).unwrap();
    let mut out = vec![0u8; 1 << 20];
    let mut plain = vec![0u8; 1 << 20];
    let mut keys = [Uncounted(common::bob_key())];

    let (len, allocs) = count(|| {
        let mut field = [0u8; 1024];
        let mut content = [0u8; 1024];
        let mut scratch = [0u8; 16 * 1024];
        let mut s = MessageSplitter::new(&mut field, &mut content);
        let mut sink: &mut [u8] = &mut out[..];
        let (n, done) = s.push(&mail, &mut sink).unwrap();
        assert!(done);
        write_pkcs7_mime_header(&mut sink, SmimeType::EnvelopedData).unwrap();
        let mut env = EnvelopedDataEncoder::<_>::new(
            Base64Encoder::new(sink),
            &recipients,
            &EncryptOptions::default(),
            &mut getrandom::SysRng,
        )
        .unwrap();
        let mut w = MultipartSignedWriter::new(
            &mut env,
            &mut signers,
            &mut scratch,
            &SignOptions::default(),
            boundary,
        )
        .unwrap();
        let info = s.info();
        s.write_entity_header(&mut w, info.needs_base64_for_signing()).unwrap();
        let mut body = BodyEncoder::for_signing(&info, &mut w);
        for part in mail[n..].chunks(777) {
            body.write(part).unwrap();
        }
        body.finish().unwrap();
        w.finish().unwrap();
        let rest = env.finish().unwrap().finish().unwrap();
        (1 << 20) - rest.len()
    });
    assert_eq!(allocs, 0, "producing allocated {allocs} times");
    let msg = &out[..len];

    let (valid, allocs) = count(|| {
        // Outer: pkcs7-mime enveloped-data, base64.
        let mut field = [0u8; 1024];
        let mut content = [0u8; 1024];
        let mut s = MessageSplitter::new(&mut field, &mut content);
        let mut outer: &mut [u8] = &mut [0u8; 1024][..];
        let (n, done) = s.push(msg, &mut outer).unwrap();
        assert!(done);
        let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
        let sink: &mut [u8] = &mut plain[..];
        let dec = EnvelopedDataDecoder::<_, _, _>::new(
            sink,
            &mut keys,
            getrandom::SysRng,
            &mut scratch,
            DecryptOptions::default(),
        );
        let mut b = BodyDecoder::new(s.info().transfer_encoding, dec).unwrap();
        for part in msg[n..].chunks(1000) {
            b.write(part).unwrap();
        }
        let (rest, _) = b.finish().unwrap().finish().unwrap();
        let inner_len = (1 << 20) - rest.len();
        let inner = &plain[..inner_len];
        // Inner: multipart/signed.
        let mut field = [0u8; 1024];
        let mut content = [0u8; 1024];
        let mut sig_field = [0u8; 1024];
        let mut scratch = [0u8; 16 * 1024];
        let mut s = MessageSplitter::new(&mut field, &mut content);
        let mut none: &mut [u8] = &mut [0u8; 16][..];
        let (n, done) = s.push(inner, &mut none).unwrap();
        assert!(done);
        let mut entity = [0u8; 1 << 16];
        let mut r = MultipartSignedReader::new(
            &mut entity[..],
            s.boundary().unwrap(),
            s.info().micalg,
            &mut sig_field,
            &mut scratch,
            VerifyOptions::default(),
        )
        .unwrap();
        for part in inner[n..].chunks(333) {
            r.write(part).unwrap();
        }
        let (_, report, _) = r.finish().unwrap();
        report.all_valid()
    });
    assert_eq!(allocs, 0, "reading allocated {allocs} times");
    assert!(valid);
}

#[test]
fn auth_attrs_allocate_nothing() {
    // SET OF { Attribute { contentType, SET { id-data } } }
    const ATTRS: [u8; 28] = [
        0x31, 0x1A, 0x30, 0x18, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03,
        0x31, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
    ];
    let bob = common::bob_cert();
    let cert = CertificateRef::from_der(&bob).unwrap();
    let msg: Vec<u8> = (0..50_000u32).map(|i| i as u8).collect();
    let mut ct_buf = vec![0u8; 100_000];
    let mut pt_buf = vec![0u8; 100_000];
    let mut keys = [Uncounted(common::bob_key())];
    for cipher in [ContentCipher::Aes128Gcm, ContentCipher::ChaCha20Poly1305] {
        let recipients = [Recipient::new(cert)];
        let options = EncryptOptions { cipher, ..Default::default() };
        let (ct_len, allocs) = count(|| {
            let mut rng = getrandom::SysRng;
            let sink: &mut [u8] = &mut ct_buf[..];
            let mut enc = EnvelopedDataEncoder::<&mut [u8]>::new_with_auth_attrs(
                sink,
                &recipients,
                &options,
                &ATTRS,
                &mut rng,
            )
            .unwrap();
            for part in msg.chunks(1000) {
                enc.write(part).unwrap();
            }
            100_000 - enc.finish().unwrap().len()
        });
        assert_eq!(allocs, 0, "{cipher:?}: encryption allocated {allocs} times");
        let ct = &ct_buf[..ct_len];
        let ((pt_len, report), allocs) = count(|| {
            let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
            let sink: &mut [u8] = &mut pt_buf[..];
            let (rest, report) = smime_core::cms::enveloped::decrypt_authenticated(
                ct,
                &mut keys[..],
                getrandom::SysRng,
                &mut scratch,
                DecryptOptions::default(),
                sink,
            )
            .unwrap();
            (100_000 - rest.len(), report)
        });
        assert_eq!(allocs, 0, "{cipher:?}: two-pass decryption allocated {allocs} times");
        assert!(report.authenticated);
        assert_eq!(&pt_buf[..pt_len], &msg[..]);
    }
}
