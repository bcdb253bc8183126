//! Key-agreement (RFC 5753 / RFC 8418) and KEK recipients: interop samples
//! from Bouncy Castle, the CMS examples (RFC 9216 keys) and OpenSSL.
#![cfg(all(feature = "soft-rsa", feature = "soft-ec"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)]
// The counting allocator below (as in `zero_heap.rs`) needs `unsafe impl GlobalAlloc`.
#![allow(unsafe_code)]

mod common;

use std::path::Path;
use std::process::Command;

use smime_core::agree::kari::{self, KdfAlg, KeyAgreeRecipientInfo, KeyWrapAlg};
use smime_core::agree::kdf::KdfHash;
use smime_core::agree::kekri;
use smime_core::ber::{SliceReader, Tag, Tlv};
use smime_core::cipher::{CbcDecryptor, CbcEncryptor, ContentCipher};
use smime_core::soft_ec::{SoftEcKey, SoftX25519Key};
use smime_core::x509::CertificateRef;
use smime_core::ErrorKind;

/// Counts this thread's allocations while enabled (tests run in parallel).
mod alloc_count {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    struct Counting;

    thread_local! {
        static COUNT: Cell<bool> = const { Cell::new(false) };
        static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    }

    fn note() {
        if COUNT.try_with(Cell::get).unwrap_or(false) {
            let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        }
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note();
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note();
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Runs `f` with counting on; returns its result and the allocation count.
    pub(crate) fn count<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let before = ALLOCATIONS.with(Cell::get);
        COUNT.with(|c| c.set(true));
        let r = f();
        COUNT.with(|c| c.set(false));
        (r, ALLOCATIONS.with(Cell::get) - before)
    }
}

const BC_ECDH: &str = "bc-java/pkix/src/test/resources/org/bouncycastle/cms/test/ecdh";

/// The parts of an EnvelopedData this test needs.
struct Enveloped {
    recipient_infos: Vec<Vec<u8>>,
    cipher: ContentCipher,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
}

fn octets(t: Tlv<'_>) -> Vec<u8> {
    if t.tag.constructed {
        let mut r = t.reader();
        let mut v = Vec::new();
        while let Some(c) = r.next_tlv().unwrap() {
            v.extend(octets(c));
        }
        v
    } else {
        t.value.to_vec()
    }
}

fn parse_enveloped(der: &[u8]) -> Enveloped {
    let ci = SliceReader::new(der).read_expect(Tag::SEQUENCE).unwrap();
    let mut r = ci.reader();
    r.read_expect(Tag::OID).unwrap();
    let ed = r.read_expect(Tag::context(0, true)).unwrap().reader().read_expect(Tag::SEQUENCE).unwrap();
    let mut r = ed.reader();
    r.read_expect(Tag::INTEGER).unwrap();
    r.read_optional(Tag::context(0, true)).unwrap();
    let mut ris = r.read_expect(Tag::SET).unwrap().reader();
    let mut recipient_infos = Vec::new();
    while let Some(ri) = ris.next_tlv().unwrap() {
        recipient_infos.push(ri.raw.to_vec());
    }
    let mut eci = r.read_expect(Tag::SEQUENCE).unwrap().reader();
    eci.read_expect(Tag::OID).unwrap();
    let mut alg = eci.read_expect(Tag::SEQUENCE).unwrap().reader();
    let cipher = ContentCipher::from_oid(alg.read_expect(Tag::OID).unwrap().value).unwrap();
    let iv = alg.read_expect(Tag::OCTET_STRING).unwrap().value.to_vec();
    let ciphertext = octets(eci.read().unwrap());
    Enveloped { recipient_infos, cipher, iv, ciphertext }
}

fn decrypt_content(env: &Enveloped, cek: &[u8]) -> Vec<u8> {
    let mut dec = CbcDecryptor::new(env.cipher, cek, &env.iv).unwrap();
    let mut out = vec![0u8; env.ciphertext.len() + 32];
    let mut n = dec.update(&env.ciphertext, &mut out).unwrap();
    n += dec.finish(&mut out[n..]).unwrap();
    out.truncate(n);
    out
}

fn pem_or_der(data: &[u8]) -> Vec<u8> {
    if data.starts_with(b"-----BEGIN") {
        pem_rfc7468::decode_vec(data).expect("PEM").1
    } else {
        data.to_vec()
    }
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A PKCS#8 DER of any key file OpenSSL reads.
fn pkcs8(path: &Path) -> Vec<u8> {
    openssl(&["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", path.to_str().unwrap()])
}

/// Unwraps the CEK from the first key-agreement recipient that `key` opens.
fn kari_cek<K: smime_core::backend::KeyAgreement>(env: &Enveloped, key: &mut K) -> Vec<u8> {
    let mut last = None;
    for ri in &env.recipient_infos {
        if ri[0] != 0xA1 {
            continue;
        }
        let mut cek = [0u8; 64];
        match kari::unwrap_cek(ri, key, &mut cek) {
            Ok(n) => return cek[..n].to_vec(),
            Err(e) => last = Some(e),
        }
    }
    panic!("no key-agreement recipient opened: {last:?}");
}

#[test]
fn bouncy_castle_ecdh_p256() {
    let key_der = pkcs8(&common::interop(&format!("{BC_ECDH}/ecc.key")));
    let cert = pem_or_der(&common::read(&format!("{BC_ECDH}/ecc.crt")));
    let expected = common::read(&format!("{BC_ECDH}/sess.txt"));
    let mut key = SoftEcKey::from_pkcs8_der(&key_der).unwrap().with_certificate(&cert).unwrap();
    let mut seen_kdfs = std::collections::HashSet::new();
    let mut opened = 0;
    for s in ["1", "2", "3", "4", "5", "6", "7", "8", "A", "B", "C", "D", "E", "F", "G", "H"] {
        let rel = format!("{BC_ECDH}/encSess{s}.asc");
        let msg = pem_or_der(&common::read(&rel));
        let env = parse_enveloped(&msg);
        let ri = &env.recipient_infos[0];
        let parsed = KeyAgreeRecipientInfo::parse(ri).unwrap();
        let expect_wrap = match env.cipher {
            ContentCipher::DesEde3Cbc => KeyWrapAlg::DesEde3,
            ContentCipher::Aes128Cbc => KeyWrapAlg::Aes128,
            ContentCipher::Aes192Cbc => KeyWrapAlg::Aes192,
            _ => KeyWrapAlg::Aes256,
        };
        assert_eq!(parsed.wrap, expect_wrap, "{s}");
        seen_kdfs.insert(format!("{:?}", parsed.kdf));
        let cek = kari_cek(&env, &mut key);
        assert_eq!(cek.len(), env.cipher.key_len(), "{s}");
        let plain = decrypt_content(&env, &cek);
        // BC's content is sess.txt with a CRLF line end; OpenSSL agrees.
        assert_eq!(plain.strip_suffix(b"\r\n").unwrap_or(&plain), expected.trim_ascii_end(), "{s}");
        let ossl = openssl(&[
            "cms", "-decrypt", "-inform", "PEM", "-in", common::interop(&rel).to_str().unwrap(),
            "-inkey", common::interop(&format!("{BC_ECDH}/ecc.key")).to_str().unwrap(),
        ]);
        assert_eq!(ossl, plain, "{s}");
        opened += 1;
    }
    assert_eq!(opened, 16);
    // SHA-1, SHA-224, SHA-256, SHA-384 and SHA-512 KDFs.
    assert_eq!(seen_kdfs.len(), 5, "{seen_kdfs:?}");
}

#[test]
fn bouncy_castle_wrong_key_fails() {
    let msg = pem_or_der(&common::read(&format!("{BC_ECDH}/encSess4.asc")));
    let env = parse_enveloped(&msg);
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k.pem");
    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", k.to_str().unwrap()]);
    let mut other = SoftEcKey::from_pkcs8_der(&pkcs8(&k)).unwrap();
    let mut cek = [0u8; 64];
    let e = kari::unwrap_cek(&env.recipient_infos[0], &mut other, &mut cek).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecryptionFailed);
    assert_eq!(cek, [0u8; 64]);
}

fn dana_key(cert: &[u8]) -> SoftX25519Key<'_> {
    let der = common::der("examples-cms/certs-and-keys/lamps-dana.decrypt.p8.pem");
    SoftX25519Key::from_pkcs8_der(&der).unwrap().with_certificate(cert).unwrap()
}

#[test]
fn examples_cms_x25519_x963() {
    let cert = common::der("examples-cms/certs-and-keys/lamps-dana.encrypt.crt");
    let mut key = dana_key(&cert);
    let msg = common::read("examples-cms/binary-files/encryptedForBobAndDana.p7m");
    let env = parse_enveloped(&msg);
    let kari_ri = env.recipient_infos.iter().find(|r| r[0] == 0xA1).unwrap();
    let p = KeyAgreeRecipientInfo::parse(kari_ri).unwrap();
    assert_eq!(p.kdf, KdfAlg::X963(KdfHash::Sha256));
    assert_eq!(p.wrap, KeyWrapAlg::Aes128);
    let cek = kari_cek(&env, &mut key);
    let plain = decrypt_content(&env, &cek);
    assert_eq!(plain, common::read("derived/examples-cms/sample-content.txt"));
}

#[test]
fn examples_cms_x25519_hkdf() {
    // AuthEnvelopedData (AES-GCM content): the CEK unwraps (AES key wrap's
    // integrity check passes), which checks the HKDF derivation.
    let cert = common::der("examples-cms/certs-and-keys/lamps-dana.encrypt.crt");
    let mut key = dana_key(&cert);
    let msg = common::read("examples-cms/binary-files/authEnvelopedForDanaX25519HKDF.p7m");
    let ci = SliceReader::new(&msg).read_expect(Tag::SEQUENCE).unwrap();
    let mut r = ci.reader();
    r.read_expect(Tag::OID).unwrap();
    let aed = r.read_expect(Tag::context(0, true)).unwrap().reader().read_expect(Tag::SEQUENCE).unwrap();
    let mut r = aed.reader();
    r.read_expect(Tag::INTEGER).unwrap();
    let ri = r.read_expect(Tag::SET).unwrap().reader().read().unwrap();
    let p = KeyAgreeRecipientInfo::parse(ri.raw).unwrap();
    assert_eq!(p.kdf, KdfAlg::Hkdf(KdfHash::Sha256));
    assert_eq!(p.wrap, KeyWrapAlg::Aes256);
    let mut cek = [0u8; 32];
    assert_eq!(kari::unwrap_cek(ri.raw, &mut key, &mut cek).unwrap(), 16);
}

/// Generates a key and self-signed certificate with OpenSSL in `dir`.
fn openssl_key(dir: &Path, name: &str, genpkey: &[&str]) -> (std::path::PathBuf, std::path::PathBuf) {
    let k = dir.join(format!("{name}.key"));
    let c = dir.join(format!("{name}.pem"));
    let mut args = vec!["genpkey"];
    args.extend_from_slice(genpkey);
    args.extend_from_slice(&["-out", k.to_str().unwrap()]);
    openssl(&args);
    if genpkey.contains(&"X25519") {
        // X25519 keys cannot self-sign: issue from an Ed25519 CA.
        let ca = dir.join("ca.key");
        let ca_crt = dir.join("ca.pem");
        openssl(&["genpkey", "-algorithm", "ED25519", "-out", ca.to_str().unwrap()]);
        openssl(&["req", "-x509", "-new", "-key", ca.to_str().unwrap(), "-subj", "/CN=CA", "-out", ca_crt.to_str().unwrap()]);
        let pubk = dir.join(format!("{name}.pub"));
        openssl(&["pkey", "-in", k.to_str().unwrap(), "-pubout", "-out", pubk.to_str().unwrap()]);
        openssl(&[
            "x509", "-new", "-CA", ca_crt.to_str().unwrap(), "-CAkey", ca.to_str().unwrap(),
            "-force_pubkey", pubk.to_str().unwrap(), "-subj", "/CN=recipient", "-out", c.to_str().unwrap(),
        ]);
    } else {
        openssl(&[
            "req", "-x509", "-new", "-key", k.to_str().unwrap(), "-subj", "/CN=recipient",
            "-out", c.to_str().unwrap(),
        ]);
    }
    (k, c)
}

fn openssl_encrypt(dir: &Path, cert: &Path, cipher: &str, extra: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let content: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let input = dir.join("content.bin");
    std::fs::write(&input, &content).unwrap();
    let mut args = vec!["cms", "-encrypt", "-binary", cipher, "-outform", "DER", "-in", input.to_str().unwrap()];
    args.extend_from_slice(&["-recip", cert.to_str().unwrap()]);
    args.extend_from_slice(extra);
    (openssl(&args), content)
}

#[test]
fn openssl_ecdh_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], &str, &[&str]); 3] = [
        ("p256", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], "-aes256", &[]),
        ("p384", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], "-aes192", &[]),
        ("p256b", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], "-aes128",
            &["-keyopt", "ecdh_kdf_md:sha512"]),
    ];
    for (name, genkey, cipher, extra) in cases {
        let (k, c) = openssl_key(dir.path(), name, genkey);
        let (msg, content) = openssl_encrypt(dir.path(), &c, cipher, extra);
        let env = parse_enveloped(&msg);
        let p = KeyAgreeRecipientInfo::parse(&env.recipient_infos[0]).unwrap();
        let expect_kdf = if name == "p256b" { KdfHash::Sha512 } else { KdfHash::Sha1 };
        assert_eq!(p.kdf, KdfAlg::X963(expect_kdf), "{name}");
        let cert = pem_or_der(&std::fs::read(&c).unwrap());
        let key_der = pkcs8(&k);
        // (OpenSSL 3.0 does not do X25519 recipients: they are tested with
        // the CMS examples above.)
        let cek = kari_cek(&env, &mut SoftEcKey::from_pkcs8_der(&key_der).unwrap().with_certificate(&cert).unwrap());
        assert_eq!(decrypt_content(&env, &cek), content, "{name}");
    }
}

/// Assembles an EnvelopedData around `ri` with AES-128-CBC content.
fn assemble(ri: &[u8], cek: &[u8], content: &[u8]) -> Vec<u8> {
    assemble_with(ri, ContentCipher::Aes128Cbc, cek, content)
}

/// Assembles an EnvelopedData around `ri` with `cipher` content.
fn assemble_with(ri: &[u8], cipher: ContentCipher, cek: &[u8], content: &[u8]) -> Vec<u8> {
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = body.len();
        if n < 0x80 {
            v.push(n as u8);
        } else if n < 0x100 {
            v.extend([0x81, n as u8]);
        } else {
            v.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend_from_slice(body);
        v
    }
    let iv = vec![0x24u8; cipher.block_len()];
    let mut enc = CbcEncryptor::new(cipher, cek, &iv).unwrap();
    let mut ct = vec![0u8; content.len() + 32];
    let mut n = enc.update(content, &mut ct).unwrap();
    n += enc.finish(&mut ct[n..]).unwrap();
    ct.truncate(n);
    let data_oid = tlv(0x06, &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01]);
    let alg = tlv(0x30, &[tlv(0x06, cipher.oid()), tlv(0x04, &iv)].concat());
    let eci = tlv(0x30, &[data_oid, alg, tlv(0x80, &ct)].concat());
    // Version 2 with a key-agreement or KEK recipient (RFC 5652 §6.1).
    let ed = tlv(0x30, &[tlv(0x02, &[2]), tlv(0x31, ri), eci].concat());
    let env_oid = tlv(0x06, &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03]);
    tlv(0x30, &[env_oid, tlv(0xA0, &ed)].concat())
}

#[test]
fn build_kari_round_trip_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], KdfAlg, KeyWrapAlg); 6] = [
        ("p256", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], KdfAlg::X963(KdfHash::Sha256), KeyWrapAlg::Aes128),
        ("p384", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], KdfAlg::X963(KdfHash::Sha384), KeyWrapAlg::Aes256),
        ("p256s1", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], KdfAlg::X963(KdfHash::Sha1), KeyWrapAlg::Aes192),
        ("p256des", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], KdfAlg::X963(KdfHash::Sha224), KeyWrapAlg::DesEde3),
        ("x25519", &["-algorithm", "X25519"], KdfAlg::X963(KdfHash::Sha256), KeyWrapAlg::Aes128),
        ("x25519h", &["-algorithm", "X25519"], KdfAlg::Hkdf(KdfHash::Sha256), KeyWrapAlg::Aes256),
    ];
    let content = b"key agreement round trip\n".repeat(10);
    for (name, genkey, kdf, wrap) in cases {
        let (cipher, cek): (ContentCipher, &[u8]) = if wrap == KeyWrapAlg::DesEde3 {
            (ContentCipher::DesEde3Cbc, &[0x5B; 24])
        } else {
            (ContentCipher::Aes128Cbc, &[0x5A; 16])
        };
        let (k, c) = openssl_key(dir.path(), name, genkey);
        let cert_der = pem_or_der(&std::fs::read(&c).unwrap());
        let cert = CertificateRef::from_der(&cert_der).unwrap();
        let mut ri = [0u8; 600];
        let n = kari::build_kari(&cert, wrap, kdf, cek, &mut getrandom::SysRng, &mut ri).unwrap();
        let ri = &ri[..n];
        let p = KeyAgreeRecipientInfo::parse(ri).unwrap();
        assert_eq!((p.kdf, p.wrap), (kdf, wrap));
        let key_der = pkcs8(&k);
        let mut out = [0u8; 64];
        let got = if name.starts_with("x25519") {
            kari::unwrap_cek(ri, &mut SoftX25519Key::from_pkcs8_der(&key_der).unwrap().with_certificate(&cert_der).unwrap(), &mut out)
        } else {
            kari::unwrap_cek(ri, &mut SoftEcKey::from_pkcs8_der(&key_der).unwrap().with_certificate(&cert_der).unwrap(), &mut out)
        };
        assert_eq!(&out[..got.unwrap()], cek, "{name}");

        if name.starts_with("x25519") {
            continue; // OpenSSL 3.0 does not do X25519 recipients (RFC 8418).
        }
        let msg = assemble_with(ri, cipher, cek, &content);
        let m = dir.path().join(format!("{name}.der"));
        std::fs::write(&m, &msg).unwrap();
        let plain = openssl(&[
            "cms", "-decrypt", "-inform", "DER", "-in", m.to_str().unwrap(), "-inkey", k.to_str().unwrap(),
            "-recip", c.to_str().unwrap(),
        ]);
        assert_eq!(plain, content, "{name}: OpenSSL decrypts");
    }
}

#[test]
fn openssl_kekri() {
    let dir = tempfile::tempdir().unwrap();
    for (kek_hex, cipher) in [
        ("000102030405060708090A0B0C0D0E0F", "-aes128"),
        ("000102030405060708090A0B0C0D0E0F1011121314151617", "-aes256"),
        ("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "-aes192"),
    ] {
        let content: Vec<u8> = b"KEK recipient content".repeat(7);
        let input = dir.path().join("c.bin");
        std::fs::write(&input, &content).unwrap();
        let msg = openssl(&[
            "cms", "-encrypt", "-binary", cipher, "-outform", "DER", "-in", input.to_str().unwrap(),
            "-secretkey", kek_hex, "-secretkeyid", "C0FEE0",
        ]);
        let env = parse_enveloped(&msg);
        let kek: Vec<u8> = (0..kek_hex.len() / 2).map(|i| u8::from_str_radix(&kek_hex[2 * i..2 * i + 2], 16).unwrap()).collect();
        let mut cek = [0u8; 64];
        let n = kekri::unwrap_cek(&env.recipient_infos[0], &[0xC0, 0xFE, 0xE0], &kek, &mut cek).unwrap();
        assert_eq!(decrypt_content(&env, &cek[..n]), content);

        // And ours, decrypted by OpenSSL.
        let mut ri = [0u8; 128];
        let cek = [0x11u8; 16];
        let rn = kekri::build_kekri(&[0xC0, 0xFE, 0xE0], &kek, &cek, &mut ri).unwrap();
        let mine = assemble(&ri[..rn], &cek, &content);
        let m = dir.path().join("kekri.der");
        std::fs::write(&m, &mine).unwrap();
        let plain = openssl(&[
            "cms", "-decrypt", "-inform", "DER", "-in", m.to_str().unwrap(), "-secretkey", kek_hex,
            "-secretkeyid", "C0FEE0",
        ]);
        assert_eq!(plain, content);
    }
}

#[test]
fn openssl_auth_enveloped_kekri_sample() {
    // OpenSSL's AES-GCM AuthEnvelopedData sample with KEK id C0FEE0: the CEK
    // unwraps under the documented KEK (integrity check) and not under another.
    let msg = pem_or_der(&common::read("openssl-master-extra/test/recipes/80-test_cms_data/authenveloped_attrs.pem"));
    let ci = SliceReader::new(&msg).read_expect(Tag::SEQUENCE).unwrap();
    let mut r = ci.reader();
    r.read_expect(Tag::OID).unwrap();
    let aed = r.read_expect(Tag::context(0, true)).unwrap().reader().read_expect(Tag::SEQUENCE).unwrap();
    let mut r = aed.reader();
    r.read_expect(Tag::INTEGER).unwrap();
    let ri = r.read_expect(Tag::SET).unwrap().reader().read().unwrap();
    let kek: Vec<u8> = (0u8..16).collect();
    let p = kekri::parse(ri.raw).unwrap();
    assert_eq!(p.key_id, &[0xC0, 0xFE, 0xE0]);
    let mut cek = [0u8; 64];
    let n = kekri::unwrap_cek(ri.raw, &[0xC0, 0xFE, 0xE0], &kek, &mut cek).unwrap();
    assert!(n == 16 || n == 24 || n == 32);
    let mut other = kek.clone();
    other[0] ^= 1;
    assert_eq!(
        kekri::unwrap_cek(ri.raw, &[0xC0, 0xFE, 0xE0], &other, &mut cek).unwrap_err().kind(),
        ErrorKind::DecryptionFailed
    );
}

#[test]
fn examples_cms_kekri_parses() {
    let msg = common::read("examples-cms/binary-files/encryptedKekri.p7m");
    let env = parse_enveloped(&msg);
    let p = kekri::parse(&env.recipient_infos[0]).unwrap();
    assert_eq!(p.key_id, b"keyid");
    assert_eq!(p.wrap, KeyWrapAlg::Aes256);
    assert_eq!(p.encrypted_key.len(), 32);
    assert_eq!(env.cipher, ContentCipher::Aes192Cbc);
}

#[test]
fn build_kari_negative_cases() {
    let dir = tempfile::tempdir().unwrap();
    let (k, c) = openssl_key(dir.path(), "p256", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let (k2, c2) = openssl_key(dir.path(), "other", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let cert_der = pem_or_der(&std::fs::read(&c).unwrap());
    let other_cert = pem_or_der(&std::fs::read(&c2).unwrap());
    let cert = CertificateRef::from_der(&cert_der).unwrap();
    let cek = [0x33u8; 32];
    let mut buf = [0u8; 400];
    let n = kari::build_kari(&cert, KeyWrapAlg::Aes256, KdfAlg::X963(KdfHash::Sha256), &cek, &mut getrandom::SysRng, &mut buf)
        .unwrap();
    let ri = &buf[..n];
    let key_der = pkcs8(&k);
    let mut out = [0u8; 64];

    // Without a certificate the key is tried on every entry.
    let mut bare = SoftEcKey::from_pkcs8_der(&key_der).unwrap();
    assert_eq!(kari::unwrap_cek(ri, &mut bare, &mut out).unwrap(), 32);
    assert_eq!(out[..32], cek);

    // Another certificate's key is not named by the recipient info.
    let mut other = SoftEcKey::from_pkcs8_der(&pkcs8(&k2)).unwrap().with_certificate(&other_cert).unwrap();
    assert_eq!(kari::unwrap_cek(ri, &mut other, &mut out).unwrap_err().kind(), ErrorKind::NoMatchingRecipient);

    // An X25519 key does not take a NIST-curve originator key.
    let dana_cert = common::der("examples-cms/certs-and-keys/lamps-dana.encrypt.crt");
    assert_eq!(
        kari::unwrap_cek(ri, &mut dana_key(&dana_cert), &mut out).unwrap_err().kind(),
        ErrorKind::NoMatchingRecipient
    );

    // A damaged wrapped key (last byte) or originator point fails uniformly.
    let mut key = SoftEcKey::from_pkcs8_der(&key_der).unwrap().with_certificate(&cert_der).unwrap();
    let mut bad = ri.to_vec();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(kari::unwrap_cek(&bad, &mut key, &mut out).unwrap_err().kind(), ErrorKind::DecryptionFailed);
    let p = KeyAgreeRecipientInfo::parse(ri).unwrap();
    let at = ri.windows(p.originator_key.len()).position(|w| w == p.originator_key).unwrap();
    let mut bad = ri.to_vec();
    bad[at + 40] ^= 1; // off the curve
    assert_eq!(kari::unwrap_cek(&bad, &mut key, &mut out).unwrap_err().kind(), ErrorKind::DecryptionFailed);

    // Truncations and garbage give errors, not panics.
    for i in 0..ri.len() {
        assert!(kari::unwrap_cek(&ri[..i], &mut key, &mut out).is_err());
        let mut flipped = ri.to_vec();
        flipped[i] ^= 0x80;
        let _ = kari::unwrap_cek(&flipped, &mut key, &mut out);
        let _ = kekri::parse(&flipped);
    }
    // A buffer too small for the recipient info.
    let e = kari::build_kari(&cert, KeyWrapAlg::Aes128, KdfAlg::X963(KdfHash::Sha1), &cek, &mut getrandom::SysRng, &mut buf[..50])
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BufferTooSmall { .. }));
    // HKDF with SHA-1 has no OID.
    assert_eq!(
        kari::build_kari(&cert, KeyWrapAlg::Aes128, KdfAlg::Hkdf(KdfHash::Sha1), &cek, &mut getrandom::SysRng, &mut buf)
            .unwrap_err()
            .kind(),
        ErrorKind::UnsupportedAlgorithm
    );
}

#[test]
fn rfc4134_rc2_kek_recipient_is_refused() {
    // RFC 4134 5.2: a KEK recipient with the RC2 key wrap, which is not implemented.
    let msg = common::read("bc-csharp/crypto/test/data/rfc4134/5.2.bin");
    let ci = SliceReader::new(&msg).read_expect(Tag::SEQUENCE).unwrap();
    let mut r = ci.reader();
    r.read_expect(Tag::OID).unwrap();
    let ed = r.read_expect(Tag::context(0, true)).unwrap().reader().read_expect(Tag::SEQUENCE).unwrap();
    let mut r = ed.reader();
    r.read_expect(Tag::INTEGER).unwrap();
    let mut ris = r.read_expect(Tag::SET).unwrap().reader();
    ris.read().unwrap();
    let kek_ri = ris.read().unwrap();
    assert_eq!(kekri::parse(kek_ri.raw).unwrap_err().kind(), ErrorKind::UnsupportedAlgorithm);
}

#[test]
fn key_agreement_allocates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (k, c) = openssl_key(dir.path(), "p384", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]);
    let cert_der = pem_or_der(&std::fs::read(&c).unwrap());
    let key_der = pkcs8(&k);
    let dana_cert = common::der("examples-cms/certs-and-keys/lamps-dana.encrypt.crt");
    let dana_der = common::der("examples-cms/certs-and-keys/lamps-dana.decrypt.p8.pem");
    let bc_msg = pem_or_der(&common::read(&format!("{BC_ECDH}/encSessB.asc")));
    let bc_env = parse_enveloped(&bc_msg);
    let bc_key = pkcs8(&common::interop(&format!("{BC_ECDH}/ecc.key")));
    let bc_cert = pem_or_der(&common::read(&format!("{BC_ECDH}/ecc.crt")));
    let mut rng = getrandom::SysRng;
    let ((), n) = alloc_count::count(|| {
        let cert = CertificateRef::from_der(&cert_der).unwrap();
        let mut ri = [0u8; 600];
        let cek = [1u8; 32];
        let n = kari::build_kari(&cert, KeyWrapAlg::Aes256, KdfAlg::X963(KdfHash::Sha384), &cek, &mut rng, &mut ri).unwrap();
        let mut key = SoftEcKey::from_pkcs8_der(&key_der).unwrap().with_certificate(&cert_der).unwrap();
        let mut out = [0u8; 64];
        assert_eq!(kari::unwrap_cek(&ri[..n], &mut key, &mut out).unwrap(), 32);

        let dana = CertificateRef::from_der(&dana_cert).unwrap();
        let n = kari::build_kari(&dana, KeyWrapAlg::Aes128, KdfAlg::Hkdf(KdfHash::Sha512), &cek[..16], &mut rng, &mut ri).unwrap();
        let mut dkey = SoftX25519Key::from_pkcs8_der(&dana_der).unwrap().with_certificate(&dana_cert).unwrap();
        assert_eq!(kari::unwrap_cek(&ri[..n], &mut dkey, &mut out).unwrap(), 16);

        let mut bkey = SoftEcKey::from_pkcs8_der(&bc_key).unwrap().with_certificate(&bc_cert).unwrap();
        assert_eq!(kari::unwrap_cek(&bc_env.recipient_infos[0], &mut bkey, &mut out).unwrap(), 24);

        let n = kekri::build_kekri(b"id", &[3; 32], &cek, &mut ri).unwrap();
        assert_eq!(kekri::unwrap_cek(&ri[..n], b"id", &[3; 32], &mut out).unwrap(), 32);
    });
    assert_eq!(n, 0, "allocations in key agreement / KEK paths");
    // The counter itself works.
    let ((), m) = alloc_count::count(|| drop(std::hint::black_box(vec![1u8; 3])));
    assert!(m > 0);
}

#[test]
fn our_x25519_recipients_use_hkdf() {
    use smime_core::cms::enveloped::{
        DecryptOptions, EncryptOptions, EnvelopedDataDecoder, EnvelopedDataEncoder, Recipient,
    };
    // RFC 8418 §2 / RFC 8551 §2.7: X25519 with HKDF-SHA-256.
    let cert = common::der("examples-cms/certs-and-keys/lamps-dana.encrypt.crt");
    let recipients = [Recipient::new(CertificateRef::from_der(&cert).unwrap())];
    for cipher in [ContentCipher::Aes256Cbc, ContentCipher::Aes128Gcm] {
        let options = EncryptOptions { cipher, ..Default::default() };
        let mut enc = EnvelopedDataEncoder::<Vec<u8>>::new(Vec::new(), &recipients, &options, &mut getrandom::SysRng)
            .unwrap();
        enc.write(b"to Dana, with HKDF").unwrap();
        let msg = enc.finish().unwrap();
        if cipher == ContentCipher::Aes256Cbc {
            let env = parse_enveloped(&msg);
            let kari_ri = env.recipient_infos.iter().find(|r| r[0] == 0xA1).unwrap();
            let p = KeyAgreeRecipientInfo::parse(kari_ri).unwrap();
            assert_eq!(p.kdf, KdfAlg::Hkdf(KdfHash::Sha256));
        }
        let hkdf = KdfAlg::Hkdf(KdfHash::Sha256).oid().unwrap();
        let x963 = KdfAlg::X963(KdfHash::Sha256).oid().unwrap();
        assert!(msg.windows(hkdf.len()).any(|w| w == hkdf), "{cipher:?}");
        assert!(!msg.windows(x963.len()).any(|w| w == x963), "{cipher:?}");
        let mut scratch = vec![0u8; 16 * 1024];
        let mut keys = [dana_key(&cert)];
        let mut dec = EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
            Vec::new(),
            &mut keys,
            getrandom::SysRng,
            &mut scratch,
            DecryptOptions::default(),
        );
        dec.write(&msg).unwrap();
        assert_eq!(dec.finish().unwrap().0, b"to Dana, with HKDF");
    }
}
