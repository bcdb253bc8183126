//! Pkcs11Key against a real SoftHSMv2 token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "softhsm/mod.rs"]
mod softhsm;

use std::process::Command;

use smime_core::ErrorKind;
use smime_core::backend::KeyAgreement;
use smime_core::backend::{BackendErrorKind, HashAlgorithm, KeyTransDecrypter, Signer, ToBeSigned};
use smime_core::cms::enveloped::{DecryptOptions, EnvelopedDataDecoder};
use smime_core::cms::sign::{SignOptions, SignedDataEncoder};
use smime_core::cms::signed::{SignedDataDecoder, SignerStatus, VerifyOptions};
use smime_core::pubkey::SignatureAlgorithm;
use smime_pkcs11::{OpenOptions, Pkcs11Key, Pkcs11Uri};
use softhsm::{MODULE, PIN, PIN_TOKEN, TOKEN, fixture};
use std::sync::{Arc, Mutex};

const MSG: &[u8] = b"Content-Type: text/plain\r\n\r\nHello from a PKCS#11 token!\r\n";

fn open(uri: &str) -> Result<Pkcs11Key, smime_pkcs11::Error> {
    fixture();
    Pkcs11Key::open(&Pkcs11Uri::parse(uri).unwrap(), &OpenOptions::default())
}

fn key(object: &str) -> Pkcs11Key {
    open(&fixture().uri(object)).unwrap()
}

fn sign_cms(keys: &mut [Pkcs11Key], msg: &[u8]) -> Vec<u8> {
    let mut scratch = vec![0u8; 32 * 1024];
    let mut enc =
        SignedDataEncoder::new(Vec::new(), keys, &mut scratch, &SignOptions::default()).unwrap();
    enc.write(msg).unwrap();
    enc.finish().unwrap()
}

fn verify_ours(der: &[u8]) -> Vec<SignatureAlgorithm> {
    let mut scratch = vec![0u8; 64 * 1024];
    let mut dec =
        SignedDataDecoder::<Vec<u8>>::new(Vec::new(), &mut scratch, VerifyOptions::default());
    dec.write(der).unwrap();
    let (out, report) = dec.finish().unwrap();
    assert_eq!(out, MSG);
    assert!(!report.signers().is_empty());
    report
        .signers()
        .iter()
        .map(|s| {
            assert_eq!(s.status, SignerStatus::Valid, "{s:?}");
            s.signature.unwrap()
        })
        .collect()
}

fn openssl_verify(der: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let p7 = dir.path().join("sig.der");
    let out = dir.path().join("out");
    std::fs::write(&p7, der).unwrap();
    let o = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-noverify",
            "-in",
        ])
        .arg(&p7)
        .arg("-out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), MSG);
}

fn pss(h: HashAlgorithm) -> SignatureAlgorithm {
    SignatureAlgorithm::RsaPss {
        hash: h,
        mgf_hash: h,
        salt_len: u32::try_from(h.output_len()).unwrap(),
    }
}

#[test]
fn sign_rsa2048_pkcs1_rsa3072_pss_ec256() {
    let cases = [
        (
            "rsa2048",
            SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256),
            2048,
            true,
        ),
        (
            "rsa2048",
            SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha384),
            2048,
            true,
        ),
        ("rsa3072", pss(HashAlgorithm::Sha256), 3072, true),
        ("rsa3072", pss(HashAlgorithm::Sha512), 3072, true),
        (
            "ec256",
            SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256),
            256,
            false,
        ),
        (
            "ec256",
            SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha384),
            256,
            false,
        ),
    ];
    for (name, alg, bits, rsa) in cases {
        let k = key(name).with_signature_algorithm(alg).unwrap();
        assert_eq!(k.key_bits(), bits);
        assert_eq!(k.is_rsa(), rsa);
        assert_eq!(k.label(), name);
        assert_eq!(k.token_label(), TOKEN);
        assert_eq!(
            Signer::certificate(&k).unwrap(),
            &fixture().read(name, "cert.der")[..]
        );
        let der = sign_cms(&mut [k], MSG);
        assert_eq!(verify_ours(&der), vec![alg], "{name}");
        openssl_verify(&der);
    }
    // P-384: ECDSA with SHA-384 by default.
    let k = key("ec384");
    assert_eq!(
        k.algorithm(),
        SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha384)
    );
    assert_eq!((k.key_bits(), k.max_signature_len()), (384, 104));
    let der = sign_cms(&mut [k], MSG);
    assert_eq!(
        verify_ours(&der),
        vec![SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha384)]
    );
    openssl_verify(&der);
    assert_eq!(key("ec256").max_signature_len(), 72);
    assert_eq!(key("rsa3072").max_signature_len(), 384);
    // Defaults.
    assert_eq!(
        key("rsa2048").algorithm(),
        SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256)
    );
    assert_eq!(
        key("ec256").algorithm(),
        SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256)
    );
    // Two token signers in one message.
    let der = sign_cms(&mut [key("rsa2048"), key("ec256")], MSG);
    assert_eq!(verify_ours(&der).len(), 2);
    openssl_verify(&der);
    // Algorithms that do not fit the key.
    let e = key("ec256")
        .with_signature_algorithm(pss(HashAlgorithm::Sha256))
        .unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::UnsupportedAlgorithm);
    let e = key("rsa2048")
        .with_signature_algorithm(SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256))
        .unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::UnsupportedAlgorithm);
    // A too small buffer.
    let mut k = key("rsa2048");
    let d = [0u8; 32];
    let e = k
        .sign(
            &ToBeSigned {
                message: None,
                digest: &d,
            },
            &mut [0u8; 100],
        )
        .unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::BufferTooSmall);
}

fn openssl_encrypt(recip: &str, extra: &[&str]) -> Vec<u8> {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("msg");
    let out = dir.path().join("msg.p7m");
    std::fs::write(&input, MSG).unwrap();
    let o = Command::new("openssl")
        .args([
            "cms", "-encrypt", "-binary", "-aes256", "-outform", "DER", "-in",
        ])
        .arg(&input)
        .arg("-out")
        .arg(&out)
        .arg("-recip")
        .arg(f.path(recip, "cert.pem"))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(&out).unwrap()
}

fn decrypt_cms(msg: &[u8], keys: &mut [Pkcs11Key]) -> Result<Vec<u8>, smime_core::Error> {
    let mut scratch = vec![0u8; 16 * 1024];
    let mut dec = EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
        Vec::new(),
        keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions::default(),
    );
    dec.write(msg)?;
    dec.finish().map(|(out, _)| out)
}

#[test]
fn decrypt_openssl_messages() {
    // PKCS#1 v1.5 and OAEP (SHA-1, the defaults SoftHSM supports).
    for extra in [&[][..], &["-keyopt", "rsa_padding_mode:oaep"][..]] {
        let msg = openssl_encrypt("rsa2048", extra);
        let out = decrypt_cms(&msg, &mut [key("rsa2048")]).unwrap();
        assert_eq!(out, MSG, "{extra:?}");
        // With a key history: the token's other keys first.
        let out = decrypt_cms(&msg, &mut [key("rsa3072"), key("rsa-aa"), key("rsa2048")]);
        assert_eq!(out.unwrap(), MSG);
    }
    // Encrypted to another certificate: no recipient for our key.
    let msg = openssl_encrypt("other", &[]);
    let e = decrypt_cms(&msg, &mut [key("rsa2048")]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoMatchingRecipient, "{e:?}");
    // The encrypted key damaged: the uniform failure.
    let mut msg = openssl_encrypt("rsa2048", &[]);
    let cert = fixture().read("rsa2048", "cert.der");
    let c = smime_core::x509::CertificateRef::from_der(&cert).unwrap();
    let serial = c.serial();
    let at = msg.windows(serial.len()).position(|w| w == serial).unwrap();
    // The encrypted key (256 bytes) follows the serial and the algorithm.
    let i = at + serial.len() + 40;
    msg[i] ^= 0x55;
    let e = decrypt_cms(&msg, &mut [key("rsa2048")]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecryptionFailed, "{e:?}");

    // Directly: bad ciphertexts are DecryptionFailed.
    let mut k = key("rsa2048");
    let mut out = [0u8; 64];
    let alg = smime_core::backend::KeyTransAlgorithm::RsaPkcs1v15;
    let e = k.decrypt_key(&alg, &[0x42; 256], &mut out).unwrap_err();
    println!("bad PKCS#1 v1.5 ciphertext: {e}");
    assert_eq!(e.kind(), BackendErrorKind::DecryptionFailed, "{e}");
    let e = k.decrypt_key(&alg, &[0x42; 257], &mut out).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::DecryptionFailed, "{e}");
    let oaep = smime_core::backend::KeyTransAlgorithm::RsaOaep {
        hash: HashAlgorithm::Sha1,
        mgf_hash: HashAlgorithm::Sha1,
        label: b"",
    };
    let e = k.decrypt_key(&oaep, &[0x42; 256], &mut out).unwrap_err();
    println!("bad OAEP ciphertext: {e}");
    assert_eq!(e.kind(), BackendErrorKind::DecryptionFailed, "{e}");
    // OAEP parameters SoftHSM does not do.
    // A real OAEP ciphertext with a label.
    let labeled = pkeyutl_encrypt(
        &[7u8; 32],
        &[
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_label:6c6162656c",
        ],
    );
    let alg = smime_core::backend::KeyTransAlgorithm::RsaOaep {
        hash: HashAlgorithm::Sha1,
        mgf_hash: HashAlgorithm::Sha1,
        label: b"label",
    };
    let e = k.decrypt_key(&alg, &labeled, &mut out).unwrap_err();
    println!("OAEP SHA-1 with a label: {e}");
    assert_eq!(e.kind(), BackendErrorKind::UnsupportedAlgorithm, "{e}");
    let alg = smime_core::backend::KeyTransAlgorithm::RsaOaep {
        hash: HashAlgorithm::Sha1,
        mgf_hash: HashAlgorithm::Sha1,
        label: b"",
    };
    let e = k.decrypt_key(&alg, &labeled, &mut out).unwrap_err();
    println!("OAEP SHA-1 labeled ciphertext, no label asked: {e}");
    assert_eq!(e.kind(), BackendErrorKind::DecryptionFailed, "{e}");
    for (hash, label) in [
        (HashAlgorithm::Sha256, &b""[..]),
        (HashAlgorithm::Sha1, &b"label"[..]),
    ] {
        let alg = smime_core::backend::KeyTransAlgorithm::RsaOaep {
            hash,
            mgf_hash: hash,
            label,
        };
        let e = k.decrypt_key(&alg, &[0x42; 256], &mut out).unwrap_err();
        println!("OAEP {hash:?} label {label:?}: {e}");
        assert_eq!(e.kind(), BackendErrorKind::UnsupportedAlgorithm, "{e}");
        assert!(e.message().contains("OAEP"), "{e}");
    }
    let msg = openssl_encrypt(
        "rsa2048",
        &[
            "-keyopt",
            "rsa_padding_mode:oaep",
            "-keyopt",
            "rsa_oaep_md:sha256",
        ],
    );
    let e = decrypt_cms(&msg, &mut [key("rsa2048")]).unwrap_err();
    println!("OAEP SHA-256 message: {e:?}");
    assert_eq!(
        e.kind(),
        ErrorKind::Backend(BackendErrorKind::UnsupportedAlgorithm),
        "{e:?}"
    );
    // A too small output buffer.
    let alg = smime_core::backend::KeyTransAlgorithm::RsaPkcs1v15;
    let ct = pkeyutl_encrypt(&[7u8; 32], &[]);
    assert_eq!(ct.len(), 256);
    let n = k.decrypt_key(&alg, &ct, &mut out).unwrap();
    assert_eq!(&out[..n], &[7u8; 32]);
    let e = k.decrypt_key(&alg, &ct, &mut [0u8; 31]).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::BufferTooSmall);
    // Leading zero octets dropped by a sender are tolerated.
    if ct[0] == 0 {
        let n = k.decrypt_key(&alg, &ct[1..], &mut out).unwrap();
        assert_eq!(n, 32);
    }
    // Recipient id from the certificate.
    let rid = KeyTransDecrypter::recipient_id(&k).unwrap();
    assert_eq!(rid.serial, c.serial());
}

#[test]
fn always_authenticate_key() {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::{Attribute, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;

    let k = key("rsa-aa");
    let der = sign_cms(&mut [k], MSG);
    verify_ours(&der);
    openssl_verify(&der);
    for alg in [
        SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha384),
        pss(HashAlgorithm::Sha256),
    ] {
        let der = sign_cms(
            &mut [key("rsa-aa").with_signature_algorithm(alg).unwrap()],
            MSG,
        );
        assert_eq!(verify_ours(&der), vec![alg]);
        openssl_verify(&der);
    }
    // Without signed attributes there is no message for the token to hash.
    let mut k = key("rsa-aa");
    let e = k
        .sign(
            &ToBeSigned {
                message: None,
                digest: &[0; 32],
            },
            &mut [0u8; 512],
        )
        .unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::UnsupportedAlgorithm, "{e}");
    // Decryption with a context-specific login, if the token does it in parts.
    let msg = openssl_encrypt("rsa-aa", &[]);
    match decrypt_cms(&msg, &mut [key("rsa-aa")]) {
        Ok(out) => assert_eq!(out, MSG),
        Err(e) => {
            // SoftHSM 2.6 decrypts RSA in one part only: a clear error.
            let e2 = key("rsa-aa")
                .decrypt_key(
                    &smime_core::backend::KeyTransAlgorithm::RsaPkcs1v15,
                    &[1; 256],
                    &mut [0; 64],
                )
                .unwrap_err();
            println!("always-authenticate decryption: {e:?}; directly: {e2}");
            assert_eq!(
                e.kind(),
                ErrorKind::Backend(BackendErrorKind::UnsupportedAlgorithm),
                "{e:?}"
            );
            assert_eq!(e2.kind(), BackendErrorKind::UnsupportedAlgorithm, "{e2}");
            assert!(e2.message().contains("in parts"), "{e2}");
            // The key stays usable: the failed operation was ended.
            let mut k = key("rsa-aa");
            for _ in 0..2 {
                let e = k
                    .decrypt_key(
                        &smime_core::backend::KeyTransAlgorithm::RsaPkcs1v15,
                        &[1; 256],
                        &mut [0; 64],
                    )
                    .unwrap_err();
                assert_eq!(e.kind(), BackendErrorKind::UnsupportedAlgorithm, "{e}");
            }
            let der = sign_cms(&mut [k], MSG);
            verify_ours(&der);
        }
    }

    // Raw cryptoki on the same (shared) module: the one-shot C_SignInit +
    // C_Sign with no context-specific login is refused.
    let ctx = Pkcs11::new(MODULE).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => panic!("{e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == TOKEN)
        .unwrap();
    let session = ctx.open_ro_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::from(PIN))) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("{e}"),
    }
    let h = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Id(vec![4]),
        ])
        .unwrap()[0];
    let e = session
        .sign(&Mechanism::Sha256RsaPkcs, h, b"data")
        .unwrap_err();
    assert!(
        matches!(
            e,
            cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserNotLoggedIn, _)
        ),
        "{e}"
    );
    // ... and works with it.
    session.sign_init(&Mechanism::Sha256RsaPkcs, h).unwrap();
    session
        .login(UserType::ContextSpecific, Some(&AuthPin::from(PIN)))
        .unwrap();
    session.sign_update(b"data").unwrap();
    assert_eq!(session.sign_final().unwrap().len(), 256);
}

#[test]
fn missing_key_and_token() {
    let e = open(&format!("pkcs11:token={TOKEN};object=nope?pin-value={PIN}")).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::KeyNotFound);
    assert!(
        e.message().contains("nope") && e.message().contains(TOKEN),
        "{e}"
    );
    let e = open(&format!("pkcs11:token={TOKEN};id=%99?pin-value={PIN}")).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::KeyNotFound);
    assert!(e.message().contains("%99"), "{e}");
    let e = open(&format!(
        "pkcs11:token=no%20such%20token;object=rsa2048?pin-value={PIN}"
    ))
    .unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::KeyNotFound);
    assert!(
        e.message().contains("no such token") && e.message().contains(TOKEN),
        "{e}"
    );
    // Several keys: ask for id=.
    let e = open(&format!("pkcs11:token={TOKEN}?pin-value={PIN}")).unwrap_err();
    assert!(e.message().contains("id="), "{e}");
    // By id alone, and with a pin-source file.
    let dir = tempfile::tempdir().unwrap();
    let pin_file = dir.path().join("pin");
    std::fs::write(&pin_file, format!("{PIN}\nignored\n")).unwrap();
    let k = open(&format!(
        "pkcs11:token={TOKEN};id=%03?pin-source=file:{}",
        pin_file.display()
    ))
    .unwrap();
    assert_eq!(k.label(), "ec256");
    // A URI naming a certificate is not a private key.
    let e = open(&format!(
        "pkcs11:token={TOKEN};object=rsa2048;type=cert?pin-value={PIN}"
    ))
    .unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::KeyNotFound);
}

#[test]
fn attach_certificate() {
    let f = fixture();
    let k = key("ec256-nocert");
    assert!(Signer::certificate(&k).is_none());
    let k = k.with_certificate(f.read("ec256", "cert.der")).unwrap();
    let der = sign_cms(&mut [k], MSG);
    verify_ours(&der);
    openssl_verify(&der);
    assert!(
        key("ec256-nocert")
            .with_certificate(f.read("rsa2048", "cert.der"))
            .is_err()
    );
    assert!(
        key("rsa2048")
            .with_certificate(f.read("rsa2048", "cert.der"))
            .is_ok()
    );
    let e = key("rsa2048")
        .with_certificate(f.read("other", "cert.der"))
        .unwrap_err();
    assert!(e.message().contains("public key"), "{e}");
}

#[test]
fn ecdh_shared_secret() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let peer = dir.path().join("peer.pem");
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    run(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        peer.to_str().unwrap(),
    ]);
    let spki = run(&["pkey", "-in", "peer.pem", "-pubout", "-outform", "DER"]);
    let point = &spki[spki.len() - 65..];
    assert_eq!(point[0], 4);
    run(&[
        "pkey",
        "-in",
        f.path("ec256", "pub.der").to_str().unwrap(),
        "-pubin",
        "-inform",
        "DER",
        "-out",
        "ours.pem",
    ]);
    let expected = run(&[
        "pkeyutl", "-derive", "-inkey", "peer.pem", "-peerkey", "ours.pem",
    ]);
    let mut k = key("ec256");
    assert_eq!(k.curve(), smime_core::backend::AgreementCurve::P256);
    let mut out = [0u8; 48];
    let n = KeyAgreement::shared_secret(&mut k, point, &mut out).unwrap();
    assert_eq!(&out[..n], &expected[..]);
    assert!(KeyAgreement::shared_secret(&mut k, point, &mut [0u8; 31]).is_err());
    // A point not on the curve is refused (no panic).
    let mut bad = point.to_vec();
    bad[10] ^= 1;
    let e = KeyAgreement::shared_secret(&mut k, &bad, &mut out);
    println!("bad point: {e:?}");
    assert!(e.is_err());
}

#[derive(Default)]
struct CountingPrompt {
    pin: String,
    calls: Mutex<u32>,
}

impl smime_pkcs11::PinPrompt for CountingPrompt {
    fn prompt(
        &self,
        _token: &str,
        _ctx: bool,
    ) -> Result<zeroize::Zeroizing<String>, smime_pkcs11::Error> {
        *self.calls.lock().unwrap() += 1;
        Ok(zeroize::Zeroizing::new(self.pin.clone()))
    }
}

/// Serializes the tests that log in to the wrong-PIN token (under `cargo
/// test` they share a process, and with it the token's login state).
static PIN_TOKEN_LOCK: Mutex<()> = Mutex::new(());

fn pin_flags() -> Vec<&'static str> {
    smime_pkcs11::list(Some(MODULE.as_ref()), None)
        .unwrap()
        .into_iter()
        .find(|t| t.label == PIN_TOKEN)
        .unwrap()
        .flags
}

#[test]
fn wrong_pin() {
    fixture();
    let _guard = PIN_TOKEN_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let uri = Pkcs11Uri::parse(&format!("pkcs11:token={PIN_TOKEN};object=rsa2048")).unwrap();
    // No PIN and no prompt.
    let e = Pkcs11Key::open(&uri, &OpenOptions::default()).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::PinRequired, "{e}");
    assert!(!pin_flags().contains(&"user PIN count low"));
    // A wrong PIN from the prompt: asked once, not retried.
    let prompt = Arc::new(CountingPrompt {
        pin: "0000".into(),
        ..Default::default()
    });
    let options = OpenOptions {
        module: Some(MODULE.into()),
        prompt: Some(prompt.clone()),
    };
    let e = Pkcs11Key::open(&uri, &options).unwrap_err();
    assert_eq!(
        e.kind(),
        BackendErrorKind::PinIncorrect { tries_left: None },
        "{e}"
    );
    assert_eq!(*prompt.calls.lock().unwrap(), 1);
    println!("wrong PIN: {e}; flags {:?}", pin_flags());
    assert!(
        e.message().contains(PIN_TOKEN) && e.message().contains("count low"),
        "{e}"
    );
    // Each open tries once more; SoftHSM 2.6 counts but never locks.
    let mut last = e;
    for i in 2..=12 {
        let e = Pkcs11Key::open(&uri, &options).unwrap_err();
        assert_eq!(*prompt.calls.lock().unwrap(), i);
        println!("try {i}: {e}; flags {:?}", pin_flags());
        if e.kind() == BackendErrorKind::PinLocked {
            last = e;
            break;
        }
        assert!(
            matches!(e.kind(), BackendErrorKind::PinIncorrect { .. }),
            "{e}"
        );
        last = e;
    }
    println!("after the wrong PINs: {last}");
    if last.kind() != BackendErrorKind::PinLocked {
        // The right PIN still works and resets the count.
        let good = Pkcs11Uri::parse(&format!(
            "pkcs11:token={PIN_TOKEN};object=rsa2048?pin-value={PIN}"
        ))
        .unwrap();
        let k = Pkcs11Key::open(&good, &OpenOptions::default()).unwrap();
        assert_eq!(k.token_label(), PIN_TOKEN);
        assert!(
            !pin_flags().contains(&"user PIN count low"),
            "{:?}",
            pin_flags()
        );
        // The token is logged in (k's session): an always-authenticate key
        // opens with a wrong PIN, and its context-specific login fails.
        let aa = Pkcs11Uri::parse(&format!(
            "pkcs11:token={PIN_TOKEN};object=rsa-aa?pin-value=0000"
        ))
        .unwrap();
        let mut aa = Pkcs11Key::open(&aa, &OpenOptions::default()).unwrap();
        let tbs = ToBeSigned {
            message: Some(b"attrs"),
            digest: &[0; 32],
        };
        for _ in 0..2 {
            let e = aa.sign(&tbs, &mut [0u8; 512]).unwrap_err();
            println!("context-specific login with a wrong PIN: {e}");
            assert!(
                matches!(e.kind(), BackendErrorKind::PinIncorrect { .. }),
                "{e}"
            );
            assert!(e.message().contains("count low"), "{e}");
        }
        drop(k);
    }
}

#[test]
fn finalized_module() {
    // Runs in a child process: finalizing the module would break the other
    // tests of this process when they run on threads (cargo test).
    if std::env::var_os("SMIME_PKCS11_FINALIZE_CHILD").is_some() {
        return finalized_module_child();
    }
    let o = Command::new(std::env::current_exe().unwrap())
        .env("SMIME_PKCS11_FINALIZE_CHILD", "1")
        .args([
            "--exact",
            "finalized_module",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("finalized-child-ok"), "{out}");
}

fn finalized_module_child() {
    use cryptoki::context::Pkcs11;
    let mut k = key("rsa2048");
    let mut sig = [0u8; 512];
    k.sign(
        &ToBeSigned {
            message: None,
            digest: &[1; 32],
        },
        &mut sig,
    )
    .unwrap();
    // Someone else in the process finalizes the (shared) module.
    Pkcs11::new(MODULE).unwrap().finalize().unwrap();
    let e = k
        .sign(
            &ToBeSigned {
                message: None,
                digest: &[1; 32],
            },
            &mut sig,
        )
        .unwrap_err();
    println!("after C_Finalize: {e}");
    assert_eq!(e.kind(), BackendErrorKind::Device, "{e}");
    assert!(e.message().contains("finalized"), "{e}");
    let e = k
        .decrypt_key(
            &smime_core::backend::KeyTransAlgorithm::RsaPkcs1v15,
            &[1; 256],
            &mut sig,
        )
        .unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Device, "{e}");
    drop(k);
    // A new open initializes the module again.
    let mut k = key("rsa2048");
    k.sign(
        &ToBeSigned {
            message: None,
            digest: &[1; 32],
        },
        &mut sig,
    )
    .unwrap();
    println!("finalized-child-ok");
}

#[test]
fn four_threads_sign_concurrently() {
    fn send<T: Send>(_: &T) {}
    fixture();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let name = if t % 2 == 0 { "rsa2048" } else { "ec256" };
                let mut k = [key(name)];
                send(&k);
                for _ in 0..25 {
                    let der = sign_cms(&mut k, MSG);
                    verify_ours(&der);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn list_tokens_and_objects() {
    fixture();
    let _guard = PIN_TOKEN_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tokens = smime_pkcs11::list(Some(MODULE.as_ref()), Some(PIN)).unwrap();
    let t = tokens
        .iter()
        .find(|t| t.label == TOKEN)
        .expect("token listed");
    println!("{t:#?}");
    assert!(t.flags.contains(&"login required") && t.flags.contains(&"initialized"));
    assert_eq!(t.manufacturer, "SoftHSM project");
    let find = |class: &str, label: &str| {
        t.objects
            .iter()
            .find(|o| o.class == class && o.label == label)
            .unwrap_or_else(|| panic!("{class} {label}"))
    };
    assert_eq!(
        find("private key", "rsa2048").key_type.as_deref(),
        Some("RSA-2048")
    );
    assert_eq!(
        find("private key", "rsa3072").key_type.as_deref(),
        Some("RSA-3072")
    );
    assert_eq!(
        find("private key", "ec256").key_type.as_deref(),
        Some("EC P-256")
    );
    assert_eq!(
        find("public key", "ec256").key_type.as_deref(),
        Some("EC P-256")
    );
    assert_eq!(find("private key", "rsa2048").id, vec![1]);
    let c = find("certificate", "rsa2048");
    assert!(
        c.subject.as_deref().unwrap().contains("rsa2048 test"),
        "{c:?}"
    );
    assert!(c.key_type.is_none());
    // Every private key's URI opens it.
    let mut n = 0;
    for o in t.objects.iter().filter(|o| o.class == "private key") {
        let k = open(&format!("{}?pin-value={PIN}", o.uri)).unwrap();
        assert_eq!(k.label(), o.label);
        n += 1;
    }
    assert_eq!(n, 6);
    assert_eq!(
        find("private key", "ec384").key_type.as_deref(),
        Some("EC P-384")
    );
    // Without the PIN: public objects only.
    let tokens = smime_pkcs11::list(Some(MODULE.as_ref()), None).unwrap();
    let t = tokens.iter().find(|t| t.label == TOKEN).unwrap();
    assert!(t.objects.iter().all(|o| o.class != "private key"), "{t:#?}");
}

fn pkeyutl_encrypt(data: &[u8], extra: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let mut o = Command::new("openssl")
        .args(["pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey"])
        .arg(fixture().path("rsa2048", "pub.der"))
        .args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    o.stdin.take().unwrap().write_all(data).unwrap();
    let out = o.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// `openssl cms -encrypt` to `cert` (PEM) with `cipher` and extra options.
fn openssl_encrypt_to(cert: &std::path::Path, cipher: &str, extra: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("msg");
    let out = dir.path().join("msg.p7m");
    std::fs::write(&input, MSG).unwrap();
    let o = Command::new("openssl")
        .args([
            "cms", "-encrypt", "-binary", cipher, "-outform", "DER", "-in",
        ])
        .arg(&input)
        .arg("-out")
        .arg(&out)
        .arg("-recip")
        .arg(cert)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl {cipher} {extra:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(&out).unwrap()
}

/// Two-pass AuthEnvelopedData decryption with token keys.
fn decrypt_two_pass(
    msg: &[u8],
    keys: &mut [Pkcs11Key],
) -> Result<(Vec<u8>, smime_core::cms::DecryptReport), smime_core::Error> {
    let mut scratch = vec![0u8; 16 * 1024];
    smime_core::cms::enveloped::decrypt_authenticated(
        msg,
        keys,
        getrandom::SysRng,
        &mut scratch,
        DecryptOptions::default(),
        Vec::new(),
    )
}

/// ECDH ephemeral-static (KeyAgreeRecipientInfo, RFC 5753) through the
/// token: OpenSSL encrypts to the P-256 and P-384 certificates, with
/// EnvelopedData (AES-CBC) and AuthEnvelopedData (AES-GCM), with OpenSSL's
/// default SHA-1 KDF and with SHA-256/384; the decoder unwraps the CEK with
/// `CKM_ECDH1_DERIVE` on the token and the KDF on the host.
#[test]
fn decrypt_openssl_ecdh_messages() {
    let f = fixture();
    for (name, kdfs) in [
        ("ec256", &["", "sha256"][..]),
        ("ec384", &["", "sha384"][..]),
    ] {
        for (cipher, aead) in [
            ("-aes-256-cbc", false),
            ("-aes-128-cbc", false),
            ("-aes-256-gcm", true),
            ("-aes-128-gcm", true),
        ] {
            for kdf in kdfs {
                let what = format!("{name} {cipher} kdf={kdf:?}");
                let md = format!("ecdh_kdf_md:{kdf}");
                let extra: &[&str] = if kdf.is_empty() {
                    &[]
                } else {
                    &["-keyopt", &md]
                };
                let msg = openssl_encrypt_to(&f.path(name, "cert.pem"), cipher, extra);
                // A KeyAgreeRecipientInfo ([1]) is in there.
                let out =
                    decrypt_cms(&msg, &mut [key(name)]).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(out, MSG, "{what}");
                // The key without certificate (P-256 only) tries the agreement too.
                if name == "ec256" {
                    let out = decrypt_cms(&msg, &mut [key("rsa2048"), key("ec256-nocert")]);
                    assert_eq!(out.unwrap(), MSG, "{what} (no certificate)");
                }
                if aead {
                    let (out, report) = decrypt_two_pass(&msg, &mut [key(name)]).unwrap();
                    assert_eq!(out, MSG, "{what}");
                    assert!(report.authenticated);
                    // A changed tag: nothing released in two-pass mode.
                    let mut bad = msg.clone();
                    let last = bad.len() - 1;
                    bad[last] ^= 1;
                    let e = decrypt_two_pass(&bad, &mut [key(name)]).unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::DecryptionFailed, "{what}");
                    let e = decrypt_cms(&bad, &mut [key(name)]).unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::DecryptionFailed, "{what}");
                }
            }
        }
    }
}

/// ECDH with the wrong token key: a message to a throwaway P-256 certificate
/// does not open with the token's P-256 key (with or without certificate),
/// and a P-256 message does not open with the P-384 key.
#[test]
fn ecdh_wrong_key_fails() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-subj",
            "/CN=stranger",
            "-days",
            "2",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stranger = dir.path().join("c.pem");
    for cipher in ["-aes-256-cbc", "-aes-256-gcm"] {
        let msg = openssl_encrypt_to(&stranger, cipher, &[]);
        // Named by issuer and serial: the certificate key finds no recipient.
        let e = decrypt_cms(&msg, &mut [key("ec256")]).unwrap_err();
        println!("{cipher} ec256: {e}");
        assert_eq!(e.kind(), ErrorKind::NoMatchingRecipient, "{cipher}: {e}");
        // Without certificate the key is tried: the key unwrap fails.
        let e = decrypt_cms(&msg, &mut [key("ec256-nocert")]).unwrap_err();
        println!("{cipher} ec256-nocert: {e}");
        assert_eq!(e.kind(), ErrorKind::DecryptionFailed, "{cipher}: {e}");
        // Control: the stranger's own key (software) is not on the token,
        // but OpenSSL opens the message with it.
        let m = dir.path().join("m.der");
        std::fs::write(&m, &msg).unwrap();
        let o = Command::new("openssl")
            .args(["cms", "-decrypt", "-binary", "-inform", "DER", "-in"])
            .arg(&m)
            .arg("-inkey")
            .arg(dir.path().join("k.pem"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.stdout, MSG);
    }
    // A P-256 message and the P-384 key.
    let msg = openssl_encrypt_to(&f.path("ec256", "cert.pem"), "-aes-256-gcm", &[]);
    let e = decrypt_cms(&msg, &mut [key("ec384")]).unwrap_err();
    println!("ec384 on P-256: {e}");
    assert_eq!(e.kind(), ErrorKind::NoMatchingRecipient, "{e}");
    assert!(decrypt_two_pass(&msg, &mut [key("ec384")]).is_err());
}

/// Our encoder makes the KeyAgreeRecipientInfo (ephemeral key, X9.63 KDF,
/// AES key wrap) to the token's EC certificates; the token opens it, in
/// EnvelopedData and AuthEnvelopedData (with authenticated attributes).
#[test]
fn our_ecdh_messages_through_the_token() {
    use smime_core::cipher::ContentCipher;
    use smime_core::cms::enveloped::{EncryptOptions, EnvelopedDataEncoder, Recipient};
    use smime_core::x509::CertificateRef;
    // SET OF { Attribute { contentType, SET { id-data } } }
    const ATTRS: [u8; 28] = [
        0x31, 0x1A, 0x30, 0x18, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03,
        0x31, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
    ];
    let f = fixture();
    for name in ["ec256", "ec384"] {
        let der = f.read(name, "cert.der");
        let cert = CertificateRef::from_der(&der).unwrap();
        for cipher in [
            ContentCipher::Aes128Cbc,
            ContentCipher::Aes256Gcm,
            ContentCipher::ChaCha20Poly1305,
        ] {
            for attrs in [None, Some(&ATTRS[..])] {
                if attrs.is_some() && !cipher.is_aead() {
                    continue;
                }
                let options = EncryptOptions {
                    cipher,
                    ..Default::default()
                };
                let recipients = [Recipient::new(cert)];
                let mut rng = getrandom::SysRng;
                let mut enc = match attrs {
                    None => EnvelopedDataEncoder::<Vec<u8>>::new(
                        Vec::new(),
                        &recipients,
                        &options,
                        &mut rng,
                    ),
                    Some(a) => EnvelopedDataEncoder::<Vec<u8>>::new_with_auth_attrs(
                        Vec::new(),
                        &recipients,
                        &options,
                        a,
                        &mut rng,
                    ),
                }
                .unwrap();
                enc.write(MSG).unwrap();
                let msg = enc.finish().unwrap();
                let what = format!("{name} {cipher:?} attrs={}", attrs.is_some());
                if cipher.is_aead() {
                    let (out, report) = decrypt_two_pass(&msg, &mut [key(name)]).unwrap();
                    assert_eq!(out, MSG, "{what}");
                    assert!(report.authenticated, "{what}");
                }
                let streamed = decrypt_cms(&msg, &mut [key(name)]);
                if attrs.is_some() && cipher == ContentCipher::ChaCha20Poly1305 {
                    let e = streamed.unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::AuthAttrsNeedTwoPass, "{what}");
                } else {
                    assert_eq!(streamed.unwrap(), MSG, "{what}");
                }
                // The other curve's key does not open it.
                let other = if name == "ec256" { "ec384" } else { "ec256" };
                assert!(decrypt_cms(&msg, &mut [key(other)]).is_err(), "{what}");
            }
        }
    }
}
