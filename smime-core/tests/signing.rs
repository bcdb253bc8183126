//! SignedData encoder: round trips through our verifier and through OpenSSL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use smime_core::backend::HashAlgorithm;
use smime_core::cms::sign::{DEFAULT_SCRATCH_LEN, SignOptions, SignedDataEncoder, SignerIdKind, sign};
use smime_core::cms::signed::{
    ContentDigests, SignedDataDecoder, SignedDataReport, SignerStatus, VerifyOptions,
};
use smime_core::pubkey::SignatureAlgorithm;
use smime_core::soft::SoftRsaKey;
use smime_core::x509::{CertificateRef, Time};
use smime_core::{ErrorKind, oid};

const MSG: &[u8] = b"Content-Type: text/plain\r\n\r\nHello, signed world!\r\n";

fn alice(alg: SignatureAlgorithm) -> SoftRsaKey {
    common::alice_key().with_signature_algorithm(alg).unwrap().with_rng(getrandom::SysRng)
}

fn pss(h: HashAlgorithm) -> SignatureAlgorithm {
    SignatureAlgorithm::RsaPss { hash: h, mgf_hash: h, salt_len: u32::try_from(h.output_len()).unwrap() }
}

/// Signs `msg` in pieces of 7 bytes.
fn sign_with(signers: &mut [SoftRsaKey], options: &SignOptions<'_>, msg: &[u8]) -> Vec<u8> {
    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
    let mut enc = SignedDataEncoder::new(Vec::new(), signers, &mut scratch, options).unwrap();
    for part in msg.chunks(7) {
        enc.write(part).unwrap();
    }
    enc.finish().unwrap()
}

/// Verifies with our decoder; returns the content and a closure-free report check.
fn verify_ours(
    der: &[u8],
    detached: Option<&[u8]>,
    check: impl FnOnce(&SignedDataReport<'_>),
) -> Vec<u8> {
    let mut scratch = vec![0u8; 64 * 1024];
    let mut dec = match detached {
        None => SignedDataDecoder::<Vec<u8>>::new(Vec::new(), &mut scratch, VerifyOptions::default()),
        Some(c) => {
            let mut d = ContentDigests::all();
            d.update(c).unwrap();
            d.finish();
            SignedDataDecoder::<Vec<u8>>::detached(Vec::new(), &mut scratch, VerifyOptions::default(), &d)
        }
    };
    for part in der.chunks(13) {
        dec.write(part).unwrap();
    }
    let (out, report) = dec.finish().unwrap();
    check(&report);
    out
}

fn all_valid(r: &SignedDataReport<'_>) {
    assert!(!r.signers().is_empty());
    for s in r.signers() {
        assert_eq!(s.status, SignerStatus::Valid, "{s:?}");
    }
}

/// The SignedData version of an attached (indefinite-length) message.
fn r_version(der: &[u8]) -> u8 {
    // 30 80 06 09 <signedData> A0 80 30 80 02 01 vv
    assert_eq!(&der[..2], &[0x30, 0x80]);
    assert_eq!(&der[13..19], &[0xA0, 0x80, 0x30, 0x80, 0x02, 0x01]);
    der[19]
}

fn openssl_verify(der: &[u8], detached: Option<&[u8]>) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let p7 = dir.path().join("sig.der");
    let out = dir.path().join("out");
    std::fs::write(&p7, der).unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-verify", "-binary", "-inform", "DER", "-noverify", "-in"])
        .arg(&p7)
        .arg("-out")
        .arg(&out);
    if let Some(c) = detached {
        let cf = dir.path().join("content");
        std::fs::write(&cf, c).unwrap();
        cmd.arg("-content").arg(&cf);
    }
    let o = cmd.output().expect("run openssl");
    if !o.status.success() {
        return None;
    }
    // It also prints.
    let p = Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(&p7)
        .output()
        .unwrap();
    assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
    Some(std::fs::read(&out).unwrap())
}

#[test]
fn attached_and_detached_all_algorithms() {
    let algs = [
        SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256),
        SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha384),
        SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha512),
        pss(HashAlgorithm::Sha256),
        pss(HashAlgorithm::Sha512),
    ];
    for alg in algs {
        for detached in [false, true] {
            let opts = SignOptions { detached, ..Default::default() };
            let der = sign_with(&mut [alice(alg)], &opts, MSG);
            let content = if detached { Some(MSG) } else { None };
            let out = verify_ours(&der, content, |r| {
                all_valid(r);
                assert_eq!(r.signers()[0].signature, Some(alg));
                assert_eq!(r.certificates().count(), 1);
                assert!(r.signers()[0].has_smime_capabilities);
            });
            assert_eq!(out, if detached { &b""[..] } else { MSG }, "{alg:?}");
            if detached {
                // DER: definite lengths from the start.
                assert_eq!(der[1] & 0x80, 0x80);
                assert_ne!(der[1], 0x80);
            } else {
                assert_eq!(&der[..2], &[0x30, 0x80]);
            }
            let got = openssl_verify(&der, content).expect("openssl verifies");
            assert_eq!(got, MSG, "{alg:?} detached={detached}");
        }
    }
}

#[test]
fn tampered_content_is_refused() {
    for detached in [false, true] {
        let opts = SignOptions { detached, ..Default::default() };
        let der = sign_with(&mut [alice(SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256))], &opts, MSG);
        let mut bad_msg = MSG.to_vec();
        bad_msg[30] ^= 1;
        let (bad_der, content) = if detached {
            (der.clone(), Some(&bad_msg[..]))
        } else {
            let i = der.windows(MSG.len().min(7)).position(|w| w == &MSG[28..35]).unwrap();
            let mut d = der.clone();
            d[i + 2] ^= 1;
            (d, None)
        };
        assert!(openssl_verify(&bad_der, content).is_none());
        verify_ours(&bad_der, content, |r| {
            assert!(!r.signers()[0].is_valid());
        });
    }
}

#[test]
fn ski_two_signers_chain_time_and_preference() {
    let bob = common::bob_cert();
    let alice_der = common::alice_cert();
    let chain = [CertificateRef::from_der(&bob).unwrap(), CertificateRef::from_der(&alice_der).unwrap()];
    let time = Time::from_civil(2026, 11, 23, 14, 5, 6).unwrap();
    for detached in [false, true] {
        let opts = SignOptions {
            detached,
            signer_id: SignerIdKind::SubjectKeyId,
            signing_time: Some(time),
            certificates: &chain,
            encryption_key_preference: Some(chain[0]),
            ..Default::default()
        };
        let mut signers = [
            alice(SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256)),
            alice(pss(HashAlgorithm::Sha384)),
        ];
        let der = sign_with(&mut signers, &opts, MSG);
        if !detached {
            assert_eq!(r_version(&der), 3);
        }
        let content = detached.then_some(MSG);
        verify_ours(&der, content, |r| {
            all_valid(r);
            assert_eq!(r.signers().len(), 2);
            // alice (twice as signer, once in the chain) and bob: each once.
            assert_eq!(r.certificates().count(), 2);
            for s in r.signers() {
                assert_eq!(s.signing_time, Some(time));
                let ekp = s.encryption_key_preference.expect("key preference");
                let c = chain[0];
                assert!(ekp.windows(c.issuer_der().len()).any(|w| w == c.issuer_der()));
                assert!(ekp.ends_with(c.serial()));
                // The capabilities are kept beside the key preference.
                let caps = s.smime_capabilities.expect("capabilities");
                let set = smime_core::cms::capabilities::announced_ciphers(caps).unwrap();
                assert!(set.contains(smime_core::cipher::ContentCipher::Aes256Gcm));
                assert_eq!(s.signer_cert.unwrap().der(), &alice_der[..]);
            }
        });
        assert_eq!(openssl_verify(&der, content).expect("openssl verifies"), MSG);
    }
}

#[test]
fn without_signed_attributes_and_other_content_type() {
    let opts = SignOptions { signed_attributes: false, ..Default::default() };
    let der = sign_with(&mut [alice(SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256))], &opts, MSG);
    assert_eq!(verify_ours(&der, None, all_valid), MSG);
    assert_eq!(openssl_verify(&der, None).expect("openssl verifies"), MSG);
    // Empty content, blocking helper.
    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
    let mut signers = [alice(SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256))];
    let der = sign(&b""[..], Vec::new(), &mut signers, &mut scratch, &SignOptions::default()).unwrap();
    assert_eq!(verify_ours(&der, None, all_valid), b"");
    assert_eq!(r_version(&der), 1);
    assert_eq!(openssl_verify(&der, None).expect("openssl verifies"), b"");
    let der = sign(MSG, Vec::new(), &mut signers, &mut scratch, &SignOptions::default()).unwrap();
    assert_eq!(verify_ours(&der, None, all_valid), MSG);
    // Another content type (id-ct-TSTInfo, as an example): SignedData
    // version 3; it needs signed attributes.
    let tst = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x04];
    let opts = SignOptions { content_type: &tst, ..Default::default() };
    let der = sign(MSG, Vec::new(), &mut signers, &mut scratch, &opts).unwrap();
    verify_ours(&der, None, |r| {
        all_valid(r);
        assert_eq!(r.content_type(), &tst);
    });
    assert_eq!(r_version(&der), 3);
    let opts = SignOptions { content_type: &tst, signed_attributes: false, ..Default::default() };
    let e = sign(MSG, Vec::new(), &mut signers, &mut scratch, &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    let opts = SignOptions { content_type: &[], ..Default::default() };
    let e = sign(MSG, Vec::new(), &mut signers, &mut scratch, &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    assert_eq!(oid::DATA, SignOptions::default().content_type);
}

#[test]
fn bad_use() {
    let alg = SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256);
    // Scratch too small for the certificate.
    let mut small = [0u8; 100];
    let e = SignedDataEncoder::new(Vec::new(), &mut [alice(alg)], &mut small, &SignOptions::default())
        .err()
        .unwrap();
    assert!(matches!(e.kind(), ErrorKind::BufferTooSmall { .. }), "{e:?}");
    // Room for the certificate, not for the signature.
    let cert_len = common::alice_cert().len();
    let mut scratch = vec![0u8; cert_len + 200];
    let mut signers = [alice(alg)];
    let mut enc = SignedDataEncoder::new(Vec::new(), &mut signers, &mut scratch, &SignOptions::default()).unwrap();
    enc.write(MSG).unwrap();
    let e = enc.finish().unwrap_err();
    let required = match e.kind() {
        ErrorKind::BufferTooSmall { required } => required,
        k => panic!("{k:?}"),
    };
    assert!(required > cert_len + 200);
    // That many bytes do.
    let mut scratch = vec![0u8; required];
    let mut signers = [alice(alg)];
    let mut enc = SignedDataEncoder::new(Vec::new(), &mut signers, &mut scratch, &SignOptions::default()).unwrap();
    enc.write(MSG).unwrap();
    let der = enc.finish().unwrap();
    assert_eq!(verify_ours(&der, None, all_valid), MSG);
    // No certificate.
    let bare = SoftRsaKey::from_der(&common::der("examples-cms/certs-and-keys/lamps-alice.p8.pem")).unwrap();
    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
    let e = SignedDataEncoder::new(Vec::new(), &mut [bare], &mut scratch, &SignOptions::default())
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::NoSignerCertificate);
    // No signers.
    let e = SignedDataEncoder::<SoftRsaKey, _>::new(Vec::new(), &mut [], &mut scratch, &SignOptions::default())
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    // Unsupported algorithms for the soft key.
    assert!(common::alice_key().with_signature_algorithm(SignatureAlgorithm::Ed25519).is_err());
    assert!(common::alice_key()
        .with_signature_algorithm(SignatureAlgorithm::RsaPss {
            hash: HashAlgorithm::Sha256,
            mgf_hash: HashAlgorithm::Sha1,
            salt_len: 32
        })
        .is_err());
    // PSS without an RNG: a backend error.
    let mut k = [common::alice_key().with_signature_algorithm(pss(HashAlgorithm::Sha256)).unwrap()];
    let mut enc = SignedDataEncoder::new(Vec::new(), &mut k, &mut scratch, &SignOptions::default()).unwrap();
    enc.write(MSG).unwrap();
    assert!(matches!(enc.finish().unwrap_err().kind(), ErrorKind::Backend(_)));
}

#[test]
#[ignore = "manual: writes /tmp/smime-sign-sample.der"]
fn dump_sample() {
    let bob = common::bob_cert();
    let chain = [CertificateRef::from_der(&bob).unwrap()];
    let opts = SignOptions {
        signing_time: Some(Time::from_civil(2026, 11, 23, 14, 5, 6).unwrap()),
        certificates: &chain,
        encryption_key_preference: Some(chain[0]),
        ..Default::default()
    };
    let der = sign_with(&mut [alice(pss(HashAlgorithm::Sha256))], &opts, MSG);
    std::fs::write("/tmp/smime-sign-sample.der", der).unwrap();
    #[cfg(feature = "soft-ec")]
    {
        use smime_core::soft_ec::SoftEd25519Key;
        let key = common::der("examples-cms/certs-and-keys/lamps-carlos.p8.pem");
        let cert = common::der("examples-cms/certs-and-keys/lamps-carlos.crt");
        let signer = SoftEd25519Key::from_pkcs8_der(&key).unwrap().with_certificate(&cert).unwrap();
        let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
        let der = sign(MSG, Vec::new(), &mut [signer], &mut scratch, &SignOptions::default()).unwrap();
        std::fs::write("/tmp/smime-sign-ed25519.der", der).unwrap();
    }
}

/// A fresh EC key and self-signed certificate from OpenSSL: (PKCS#8 DER, cert DER).
#[cfg(feature = "soft-ec")]
fn openssl_ec(curve: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k.der");
    let c = dir.path().join("c.der");
    let o = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg(format!("ec_paramgen_curve:{curve}"))
        .args(["-nodes", "-subj", "/CN=EC signer", "-days", "30", "-outform", "DER", "-keyout"])
        .arg(&k)
        .arg("-out")
        .arg(&c)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pem = std::fs::read(&k).unwrap();
    (pem_rfc7468::decode_vec(&pem).unwrap().1, std::fs::read(&c).unwrap())
}

#[cfg(feature = "soft-ec")]
#[test]
fn ecdsa_signers() {
    use smime_core::soft_ec::SoftEcKey;
    for (curve, hashes) in [
        ("P-256", &[HashAlgorithm::Sha256, HashAlgorithm::Sha384][..]),
        ("P-384", &[HashAlgorithm::Sha384, HashAlgorithm::Sha512][..]),
    ] {
        let (key, cert) = openssl_ec(curve);
        for &h in hashes {
            for detached in [false, true] {
                let signer = SoftEcKey::from_pkcs8_der(&key)
                    .unwrap()
                    .with_hash(h)
                    .unwrap()
                    .with_certificate(&cert)
                    .unwrap();
                let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
                let opts = SignOptions { detached, ..Default::default() };
                let der = sign(MSG, Vec::new(), &mut [signer], &mut scratch, &opts).unwrap();
                let content = detached.then_some(MSG);
                verify_ours(&der, content, |r| {
                    all_valid(r);
                    assert_eq!(r.signers()[0].signature, Some(SignatureAlgorithm::Ecdsa(h)));
                });
                assert_eq!(openssl_verify(&der, content).expect("openssl verifies"), MSG, "{curve} {h:?}");
            }
        }
        // The wrong certificate.
        let (_, other) = openssl_ec(curve);
        let e = SoftEcKey::from_pkcs8_der(&key).unwrap().with_certificate(&other).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
    }
    let rsa = common::der("examples-cms/certs-and-keys/lamps-alice.p8.pem");
    assert_eq!(SoftEcKey::from_pkcs8_der(&rsa).unwrap_err().kind(), ErrorKind::InvalidKey);
}

#[cfg(feature = "soft-ec")]
#[test]
fn ed25519_signer() {
    use smime_core::soft_ec::SoftEd25519Key;
    let key = common::der("examples-cms/certs-and-keys/lamps-carlos.p8.pem");
    let cert = common::der("examples-cms/certs-and-keys/lamps-carlos.crt");
    for detached in [false, true] {
        let signer = SoftEd25519Key::from_pkcs8_der(&key).unwrap().with_certificate(&cert).unwrap();
        let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
        let opts = SignOptions { detached, ..Default::default() };
        let der = sign(MSG, Vec::new(), &mut [signer], &mut scratch, &opts).unwrap();
        let content = detached.then_some(MSG);
        verify_ours(&der, content, |r| {
            all_valid(r);
            assert_eq!(r.signers()[0].signature, Some(SignatureAlgorithm::Ed25519));
            assert_eq!(r.signers()[0].digest, Some(HashAlgorithm::Sha512));
        });
        // OpenSSL 3.0 cannot verify Ed25519 SignerInfos with signed
        // attributes ("eddsa_digest_signverify_init: invalid digest", it
        // cannot make them either); it must at least parse the message.
        let dir = tempfile::tempdir().unwrap();
        let p7 = dir.path().join("ed.der");
        std::fs::write(&p7, &der).unwrap();
        let o = Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&p7)
            .output()
            .unwrap();
        assert!(o.status.success());
        assert!(String::from_utf8_lossy(&o.stdout).contains("ED25519"));
    }
    // Without signed attributes: refused up front.
    let signer = SoftEd25519Key::from_pkcs8_der(&key).unwrap().with_certificate(&cert).unwrap();
    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
    let opts = SignOptions { signed_attributes: false, ..Default::default() };
    let e = SignedDataEncoder::new(Vec::new(), &mut [signer], &mut scratch, &opts).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::UnsupportedAlgorithm);
    // The wrong certificate, the wrong key.
    let e = SoftEd25519Key::from_pkcs8_der(&key).unwrap().with_certificate(&common::alice_cert()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
    assert!(SoftEd25519Key::from_pkcs8_der(&key[1..]).is_err());
}

#[test]
fn crls_and_unsigned_attributes() {
    let crl = std::fs::read("/work/shared/interop/libksba/tests/samples/ov-test-crl.crl").expect("sample CRL");
    // Attribute { 1.2.3.4, { UTF8String "hello" } } and { 1.2.3.5, { UTF8String "b" } },
    // given out of DER order (the shorter encoding sorts first: 30 0A < 30 0E).
    let first: &[u8] = &[
        0x30, 0x0E, 0x06, 0x03, 0x2A, 0x03, 0x04, 0x31, 0x07, 0x0C, 0x05, b'h', b'e', b'l', b'l', b'o',
    ];
    let second: &[u8] = &[0x30, 0x0A, 0x06, 0x03, 0x2A, 0x03, 0x05, 0x31, 0x03, 0x0C, 0x01, b'b'];
    let unsigned = [first, second].concat();
    let sorted = [second, first].concat();
    let crls: [&[u8]; 2] = [&crl, &crl];
    for detached in [false, true] {
        let opts = SignOptions { detached, crls: &crls, unsigned_attributes: &unsigned, ..Default::default() };
        let mut signers = [
            alice(SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256)),
            alice(pss(HashAlgorithm::Sha256)),
        ];
        let der = sign_with(&mut signers, &opts, MSG);
        let content = detached.then_some(MSG);
        verify_ours(&der, content, |r| {
            all_valid(r);
            // The CRL, once.
            assert_eq!(r.crls().collect::<Vec<_>>(), [&crl[..]]);
            assert_eq!(r.signers().len(), 2);
            for s in r.signers() {
                assert_eq!(s.unsigned_attributes, Some(&sorted[..]));
            }
        });
        assert_eq!(openssl_verify(&der, content).expect("openssl verifies"), MSG);
        let p = Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().unwrap().write_all(&der)?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(p.status.success());
        let text = String::from_utf8_lossy(&p.stdout);
        assert!(text.contains("crls:") && text.contains("1.2.3.4") && text.contains("1.2.3.5"), "{text}");
    }
    // Without them, no unsigned attributes are reported.
    let der = sign_with(&mut [alice(SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256))], &SignOptions::default(), MSG);
    verify_ours(&der, None, |r| {
        assert_eq!(r.crls().count(), 0);
        assert!(r.signers().iter().all(|s| s.unsigned_attributes.is_none()));
    });
    // Malformed ones are refused.
    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
    let mut signers = [alice(SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256))];
    let bad_crls: [&[&[u8]]; 4] = [&[&[]], &[&[0x31, 0x00]], &[&[0x30, 0x00, 0x00]], &[&crl[..crl.len() - 1]]];
    for crls in bad_crls {
        let opts = SignOptions { crls, ..Default::default() };
        let e = sign(MSG, Vec::new(), &mut signers, &mut scratch, &opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue);
    }
    let bad_attrs: [&[u8]; 5] = [
        &[0x31, 0x00],
        &[0x30, 0x00],
        &[0x30, 0x05, 0x06, 0x03, 0x2A, 0x03, 0x04],
        &[0x30, 0x07, 0x06, 0x03, 0x2A, 0x03, 0x04, 0x04, 0x00],
        &first[..first.len() - 1],
    ];
    for unsigned_attributes in bad_attrs {
        let opts = SignOptions { unsigned_attributes, ..Default::default() };
        let e = sign(MSG, Vec::new(), &mut signers, &mut scratch, &opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue);
    }
}

/// Our signer announces the AuthEnvelopedData ciphers first, so that a
/// correspondent using this library picks AES-256-GCM from our mail.
#[test]
fn announced_capabilities_lead_to_aes_gcm() {
    use smime_core::ber::SliceReader;
    use smime_core::cipher::ContentCipher;
    use smime_core::cms::capabilities::{announced_ciphers, choose_cipher};
    let der = sign_with(
        &mut [alice(SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256))],
        &SignOptions::default(),
        MSG,
    );
    let oid = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x0F];
    let at = der.windows(oid.len()).position(|w| w == oid).expect("smimeCapabilities") + oid.len();
    let values = SliceReader::new(&der[at..]).read().unwrap();
    let caps = values.reader().read().unwrap().raw;
    let set = announced_ciphers(caps).unwrap();
    for c in [
        ContentCipher::Aes256Gcm,
        ContentCipher::Aes128Gcm,
        ContentCipher::ChaCha20Poly1305,
        ContentCipher::Aes256Cbc,
        ContentCipher::Aes128Cbc,
    ] {
        assert!(set.contains(c), "{c:?}");
    }
    assert!(!set.contains(ContentCipher::Aes192Gcm));
    assert_eq!(choose_cipher(&[caps, caps], ContentCipher::Aes256Cbc), ContentCipher::Aes256Gcm);
    // Our verifier hands the same capabilities out.
    verify_ours(&der, None, |r| assert_eq!(r.signers()[0].smime_capabilities, Some(caps)));
    // And OpenSSL reads the attribute.
    if Command::new("openssl").arg("version").output().is_ok() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.der");
        std::fs::write(&f, &der).unwrap();
        let o = Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(o.status.success());
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("aes-256-gcm") || text.contains("id-aes256-GCM"), "{text}");
    }
}
