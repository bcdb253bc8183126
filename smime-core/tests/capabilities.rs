//! Cipher choice from SMIMECapabilities (RFC 8551 §2.5.2, §2.7), with the
//! capabilities that real clients put into signed mail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::path::PathBuf;

use smime_core::ber::{SliceReader, Tag};
use smime_core::cipher::{CipherSet, ContentCipher};
use smime_core::cms::capabilities::{
    all_announce_aead, announced_ciphers, choose_cipher, common_ciphers, find_in_signed_attrs,
};
use smime_core::oid;

fn interop(rel: &str) -> Vec<u8> {
    let base = std::env::var_os("SMIME_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop"));
    let p = base.join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("interop sample {}: {e}", p.display()))
}

/// smimeCapabilities, 1.2.840.113549.1.9.15
const SMIME_CAPABILITIES: &[u8] =
    &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x0F];

/// The SignerInfo's signed attributes in a SignedData: the `[0]` element
/// that holds the smimeCapabilities attribute, found by walking back from
/// the OID to the enclosing `[0] IMPLICIT SET OF` (tests only: the samples
/// have one signer).
fn signed_attrs(msg: &[u8]) -> &[u8] {
    let at = msg.windows(SMIME_CAPABILITIES.len()).position(|w| w == SMIME_CAPABILITIES).unwrap();
    // The nearest [0] constructed before `at` whose element covers it.
    for start in (0..at).rev() {
        if msg[start] != 0xA0 {
            continue;
        }
        if let Ok(t) = SliceReader::new(&msg[start..]).read()
            && start + t.raw.len() > at
            && t.reader().read().is_ok_and(|a| a.tag == Tag::SEQUENCE)
        {
            return t.raw;
        }
    }
    panic!("no signed attributes");
}

fn caps_of(file: &str) -> Vec<u8> {
    let msg = interop(file);
    find_in_signed_attrs(signed_attrs(&msg)).unwrap().expect("capabilities").to_vec()
}

fn set(ciphers: &[ContentCipher]) -> CipherSet {
    ciphers.iter().fold(CipherSet::EMPTY, |s, &c| s.with(c))
}

#[test]
fn real_clients_announce_cbc_only() {
    use ContentCipher::*;
    let samples: [(&str, CipherSet); 5] = [
        (
            "asn1crypto/tests/fixtures/smime-signature-generated-by-thunderbird.p7s",
            set(&[Aes256Cbc, Aes128Cbc, DesEde3Cbc]),
        ),
        (
            "smimesign/fixtureSignatureOpenSSLAttached.der",
            set(&[Aes256Cbc, Aes192Cbc, Aes128Cbc, DesEde3Cbc]),
        ),
        ("smimesign/fixtureSignatureGPGSM.der", set(&[Aes128Cbc, DesEde3Cbc])),
        ("libksba/tests/samples/rsa-sample1.p7s", set(&[Aes128Cbc, DesEde3Cbc])),
        (
            "smimesign/fixtureSignatureOutlookDetached.der",
            set(&[Aes256Cbc, Aes192Cbc, Aes128Cbc, DesEde3Cbc]),
        ),
    ];
    let mut all = Vec::new();
    for (file, expected) in samples {
        let caps = caps_of(file);
        assert_eq!(announced_ciphers(&caps).unwrap(), expected, "{file}");
        assert!(!all_announce_aead(&[&caps]), "{file}");
        assert_eq!(choose_cipher(&[&caps], ContentCipher::Aes256Cbc), ContentCipher::Aes256Cbc);
        all.push(caps);
    }
    // What all of them can read.
    let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
    assert_eq!(common_ciphers(&refs), set(&[Aes128Cbc, DesEde3Cbc]));
}

/// A capability list as a newer client writes it: the real Thunderbird list
/// with AES-256-GCM and AES-128-GCM put in front.
fn with_gcm(caps: &[u8], gcm: &[&[u8]]) -> Vec<u8> {
    let inner = SliceReader::new(caps).read().unwrap().value;
    let mut body = Vec::new();
    for o in gcm {
        body.extend_from_slice(&[0x30, (o.len() + 2) as u8, 0x06, o.len() as u8]);
        body.extend_from_slice(o);
    }
    body.extend_from_slice(inner);
    let mut out = vec![0x30];
    if body.len() < 0x80 {
        out.push(body.len() as u8);
    } else {
        out.extend_from_slice(&[0x81, body.len() as u8]);
    }
    out.extend_from_slice(&body);
    out
}

#[test]
fn aead_only_when_every_recipient_announced_it() {
    let tb = caps_of("asn1crypto/tests/fixtures/smime-signature-generated-by-thunderbird.p7s");
    let gpgsm = caps_of("smimesign/fixtureSignatureGPGSM.der");
    let both = with_gcm(&tb, &[oid::AES256_GCM, oid::AES128_GCM]);
    let only128 = with_gcm(&gpgsm, &[oid::AES128_GCM]);
    let chacha = with_gcm(&gpgsm, &[oid::CHACHA20_POLY1305]);
    let d = ContentCipher::Aes256Cbc;
    assert_eq!(choose_cipher(&[&both], d), ContentCipher::Aes256Gcm);
    assert_eq!(choose_cipher(&[&both, &both], d), ContentCipher::Aes256Gcm);
    assert_eq!(choose_cipher(&[&both, &only128], d), ContentCipher::Aes128Gcm);
    assert_eq!(choose_cipher(&[&chacha], d), ContentCipher::ChaCha20Poly1305);
    assert!(all_announce_aead(&[&both, &only128]));
    // One recipient without AuthEnvelopedData support, or unknown: the policy.
    assert_eq!(choose_cipher(&[&both, &tb], d), d);
    assert_eq!(choose_cipher(&[&both, &[]], d), d);
    assert_eq!(
        choose_cipher(&[&both, &chacha], ContentCipher::Aes128Cbc),
        ContentCipher::Aes128Cbc
    );
    assert!(!all_announce_aead(&[&both, &gpgsm]));
    // Truncated capabilities are ignored, never a panic.
    for cut in 0..both.len() {
        assert_eq!(choose_cipher(&[&both[..cut]], d), d, "cut {cut}");
    }
}

/// The SignedData verifier reports each signer's capabilities, for
/// `choose_cipher` (here OpenSSL's and gpgsm's attached signatures).
#[test]
fn verifier_reports_the_capabilities() {
    use smime_core::cms::signed::{SignedDataDecoder, VerifyOptions};
    for file in [
        "smimesign/fixtureSignatureOpenSSLAttached.der",
        "smimesign/fixtureSignatureGPGSMAttached.der",
    ] {
        let msg = interop(file);
        let mut scratch = vec![0u8; 64 * 1024];
        let mut dec =
            SignedDataDecoder::<Vec<u8>>::new(Vec::new(), &mut scratch, VerifyOptions::default());
        for part in msg.chunks(100) {
            dec.write(part).unwrap();
        }
        let (_, report) = dec.finish().unwrap();
        let signer = &report.signers()[0];
        assert!(signer.has_smime_capabilities, "{file}");
        assert_eq!(signer.smime_capabilities, Some(&caps_of(file)[..]), "{file}");
    }
}
