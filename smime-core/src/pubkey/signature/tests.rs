extern crate std;

use std::format;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use super::*;
use crate::digest::digest;
use crate::x509::CertificateRef;

const SHA1: HashAlgorithm = HashAlgorithm::Sha1;
const SHA256: HashAlgorithm = HashAlgorithm::Sha256;
const SHA384: HashAlgorithm = HashAlgorithm::Sha384;
const SHA512: HashAlgorithm = HashAlgorithm::Sha512;

fn kind<T: core::fmt::Debug>(r: Result<T>) -> ErrorKind {
    r.unwrap_err().kind()
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn interop(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop").join(rel)
}

/// A certificate file, DER or PEM (text around the block allowed), as DER.
fn cert_file(path: &Path) -> Vec<u8> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = String::from_utf8_lossy(&data);
    match text.find("-----BEGIN CERTIFICATE-----") {
        Some(start) => {
            let end = text.find("-----END CERTIFICATE-----").unwrap() + 25;
            pem_rfc7468::decode_vec(text[start..end].as_bytes()).unwrap().1
        }
        None => data,
    }
}

/// Runs openssl with `args` in `dir`; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

fn flip(data: &[u8], i: usize) -> Vec<u8> {
    let mut v = data.to_vec();
    v[i] ^= 0x01;
    v
}

/// A key made by openssl in a temp dir: `NAME.key` (private, PEM) and the
/// SubjectPublicKeyInfo DER.
struct Key {
    name: String,
    spki: Vec<u8>,
}

fn genkey(dir: &Path, name: &str, genpkey_args: &[&str]) -> Key {
    let key = format!("{name}.key");
    let pubk = format!("{name}.pub.der");
    let mut args = vec!["genpkey"];
    args.extend_from_slice(genpkey_args);
    args.extend_from_slice(&["-out", &key]);
    openssl(dir, &args);
    openssl(dir, &["pkey", "-in", &key, "-pubout", "-outform", "DER", "-out", &pubk]);
    Key { name: name.to_string(), spki: read(dir, &pubk) }
}

fn rsa_key(dir: &Path, name: &str, bits: u32) -> Key {
    genkey(dir, name, &["-algorithm", "RSA", "-pkeyopt", &format!("rsa_keygen_bits:{bits}")])
}

fn ec_key(dir: &Path, name: &str, curve: &str) -> Key {
    genkey(dir, name, &["-algorithm", "EC", "-pkeyopt", &format!("ec_paramgen_curve:{curve}")])
}

fn hash_name(h: HashAlgorithm) -> &'static str {
    match h {
        HashAlgorithm::Sha1 => "sha1",
        HashAlgorithm::Sha256 => "sha256",
        HashAlgorithm::Sha384 => "sha384",
        HashAlgorithm::Sha512 => "sha512",
    }
}

/// `openssl dgst -<hash> -sign` over `msg.bin`, with extra `-sigopt`s.
fn dgst_sign(dir: &Path, key: &Key, h: HashAlgorithm, sigopts: &[&str]) -> Vec<u8> {
    let keyf = format!("{}.key", key.name);
    let dash_h = format!("-{}", hash_name(h));
    let mut args = vec!["dgst", dash_h.as_str(), "-sign", keyf.as_str()];
    for o in sigopts {
        args.extend_from_slice(&["-sigopt", o]);
    }
    args.extend_from_slice(&["-out", "sig.bin", "msg.bin"]);
    openssl(dir, &args);
    read(dir, "sig.bin")
}

const MSG: &[u8] = b"The quick brown fox jumps over the lazy dog.\r\n";

/// Verifies, then checks that a changed message, a changed signature and
/// the `wrong` key all fail with BadSignature; the prehashed path agrees.
fn check(spki: &[u8], wrong: &[u8], alg: &SignatureAlgorithm, sig: &[u8], what: &str) {
    verify_message(spki, alg, MSG, sig).unwrap_or_else(|e| panic!("{what}: {e}"));
    if let Some(h) = alg.hash() {
        let d = digest(h, MSG);
        verify_prehashed(spki, alg, d.as_bytes(), sig).unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut d2 = d.as_bytes().to_vec();
        d2[0] ^= 0x80;
        assert_eq!(kind(verify_prehashed(spki, alg, &d2, sig)), ErrorKind::BadSignature, "{what}");
        assert_eq!(
            kind(verify_prehashed(spki, alg, &d2[1..], sig)),
            ErrorKind::InvalidValue,
            "{what}"
        );
    } else {
        assert_eq!(
            kind(verify_prehashed(spki, alg, &[0; 64], sig)),
            ErrorKind::UnsupportedAlgorithm
        );
    }
    for i in [0, MSG.len() / 2, MSG.len() - 1] {
        let m = flip(MSG, i);
        assert_eq!(kind(verify_message(spki, alg, &m, sig)), ErrorKind::BadSignature, "{what}");
    }
    assert_eq!(
        kind(verify_message(spki, alg, &MSG[1..], sig)),
        ErrorKind::BadSignature,
        "{what}"
    );
    for i in [0, sig.len() / 2, sig.len() - 1] {
        let s = flip(sig, i);
        assert_eq!(kind(verify_message(spki, alg, MSG, &s)), ErrorKind::BadSignature, "{what} {i}");
    }
    assert_eq!(
        kind(verify_message(spki, alg, MSG, &sig[..sig.len() - 1])),
        ErrorKind::BadSignature,
        "{what}"
    );
    let mut long = sig.to_vec();
    long.push(0);
    assert_eq!(kind(verify_message(spki, alg, MSG, &long)), ErrorKind::BadSignature, "{what}");
    assert_eq!(kind(verify_message(spki, alg, MSG, &[])), ErrorKind::BadSignature, "{what}");
    assert_eq!(kind(verify_message(wrong, alg, MSG, sig)), ErrorKind::BadSignature, "{what}");
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("msg.bin"), MSG).unwrap();
    dir
}

#[test]
fn rsa_pkcs1v15_openssl() {
    let dir = setup();
    let d = dir.path();
    let a = rsa_key(d, "a", 2048);
    let b = rsa_key(d, "b", 2048);
    for h in [SHA1, SHA256, SHA384, SHA512] {
        let sig = dgst_sign(d, &a, h, &[]);
        let alg = SignatureAlgorithm::RsaPkcs1v15(h);
        check(&a.spki, &b.spki, &alg, &sig, &format!("pkcs1 {h:?}"));
        // The same signature does not verify as PSS or under another hash.
        let pss = SignatureAlgorithm::RsaPss { hash: h, mgf_hash: h, salt_len: 20 };
        assert_eq!(kind(verify_message(&a.spki, &pss, MSG, &sig)), ErrorKind::BadSignature);
        let other = SignatureAlgorithm::RsaPkcs1v15(if h == SHA256 { SHA512 } else { SHA256 });
        assert_eq!(kind(verify_message(&a.spki, &other, MSG, &sig)), ErrorKind::BadSignature);
    }
}

#[test]
fn rsa_pkcs1v15_digest_info_without_null() {
    // Old signers leave out the NULL in the DigestInfo: build such a
    // signature with the raw private operation (openssl pkeyutl, no padding).
    let dir = setup();
    let d = dir.path();
    let a = rsa_key(d, "a", 2048);
    let b = rsa_key(d, "b", 2048);
    for h in [SHA1, SHA256] {
        for with_null in [true, false] {
            let mut em = vec![0u8; 256];
            emsa_pkcs1v15_encode(h, with_null, digest(h, MSG).as_bytes(), &mut em).unwrap();
            std::fs::write(d.join("em.bin"), &em).unwrap();
            openssl(
                d,
                &[
                    // The raw private operation: "decrypt" without padding.
                    "pkeyutl", "-decrypt", "-inkey", "a.key", "-pkeyopt", "rsa_padding_mode:none",
                    "-in", "em.bin", "-out", "sig.bin",
                ],
            );
            let sig = read(d, "sig.bin");
            let alg = SignatureAlgorithm::RsaPkcs1v15(h);
            check(&a.spki, &b.spki, &alg, &sig, &format!("{h:?} null {with_null}"));
        }
    }
    // The NULL-params DigestInfo of SHA-256 is the one cards are sent.
    let mut em = vec![0u8; 256];
    emsa_pkcs1v15_encode(SHA256, true, &[0xAB; 32], &mut em).unwrap();
    assert_eq!(&em[..3], &[0x00, 0x01, 0xFF]);
    assert_eq!(&em[256 - 32 - 19 - 1..256 - 32], &hex("00 3031300D060960864801650304020105000420")[..]);
}

#[test]
fn rsa_pss_openssl() {
    let dir = setup();
    let d = dir.path();
    // 2049 bits: emLen is one octet shorter than k (RFC 8017 § 9.1.2 step 3).
    let keys = [rsa_key(d, "a", 2048), rsa_key(d, "odd", 2049), rsa_key(d, "c", 3072)];
    let wrong = rsa_key(d, "b", 2048);
    for key in &keys {
        let k_bits = if key.name == "odd" { 2049 } else if key.name == "c" { 3072 } else { 2048 };
        for (h, mgf, salt) in [
            (SHA256, SHA256, "32"),
            (SHA256, SHA256, "20"),
            (SHA256, SHA256, "0"),
            (SHA512, SHA512, "20"),
            (SHA512, SHA512, "64"),
            (SHA256, SHA1, "32"),
            (SHA1, SHA1, "20"),
            (SHA384, SHA256, "max"),
        ] {
            let mgf_opt = format!("rsa_mgf1_md:{}", hash_name(mgf));
            let salt_opt = format!("rsa_pss_saltlen:{salt}");
            let sig =
                dgst_sign(d, key, h, &["rsa_padding_mode:pss", &salt_opt, mgf_opt.as_str()]);
            let em_len = (k_bits - 1usize).div_ceil(8);
            let salt_len = match salt {
                "max" => em_len - h.output_len() - 2,
                s => s.parse().unwrap(),
            } as u32;
            let alg = SignatureAlgorithm::RsaPss { hash: h, mgf_hash: mgf, salt_len };
            let what = format!("{} {h:?}/{mgf:?} salt {salt}", key.name);
            check(&key.spki, &wrong.spki, &alg, &sig, &what);
            // A different salt length or MGF hash does not verify.
            for alg2 in [
                SignatureAlgorithm::RsaPss { hash: h, mgf_hash: mgf, salt_len: salt_len + 1 },
                SignatureAlgorithm::RsaPss {
                    hash: h,
                    mgf_hash: if mgf == SHA1 { SHA256 } else { SHA1 },
                    salt_len,
                },
                SignatureAlgorithm::RsaPkcs1v15(h),
            ] {
                assert_eq!(
                    kind(verify_message(&key.spki, &alg2, MSG, &sig)),
                    ErrorKind::BadSignature,
                    "{what} {alg2:?}"
                );
            }
        }
    }
    // A salt longer than the key allows is a bad signature, not a panic.
    let alg = SignatureAlgorithm::RsaPss { hash: SHA256, mgf_hash: SHA256, salt_len: u32::MAX };
    let sig = dgst_sign(d, &keys[0], SHA256, &["rsa_padding_mode:pss"]);
    assert_eq!(kind(verify_message(&keys[0].spki, &alg, MSG, &sig)), ErrorKind::BadSignature);
}

#[test]
fn ecdsa_openssl() {
    let dir = setup();
    let d = dir.path();
    let p256 = ec_key(d, "p256", "P-256");
    let p256b = ec_key(d, "p256b", "P-256");
    let p384 = ec_key(d, "p384", "P-384");
    let p384b = ec_key(d, "p384b", "P-384");
    for (key, wrong) in [(&p256, &p256b), (&p384, &p384b)] {
        // Hashes shorter and longer than the curve: truncation per SEC1.
        for h in [SHA1, SHA256, SHA384, SHA512] {
            let sig = dgst_sign(d, key, h, &[]);
            let alg = SignatureAlgorithm::Ecdsa(h);
            check(&key.spki, &wrong.spki, &alg, &sig, &format!("{} {h:?}", key.name));
        }
    }
    // A P-256 signature under the P-384 key: bad (the scalars may not even fit).
    let sig = dgst_sign(d, &p256, SHA256, &[]);
    let alg = SignatureAlgorithm::Ecdsa(SHA256);
    assert_eq!(kind(verify_message(&p384.spki, &alg, MSG, &sig)), ErrorKind::BadSignature);
    // Ecdsa-Sig-Value malformations: trailing data, raw r||s, negative r.
    let mut trailing = sig.clone();
    trailing.extend_from_slice(&[0, 0]);
    assert_eq!(kind(verify_message(&p256.spki, &alg, MSG, &trailing)), ErrorKind::BadSignature);
    assert_eq!(kind(verify_message(&p256.spki, &alg, MSG, &[0u8; 64])), ErrorKind::BadSignature);
    let zero = [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01];
    assert_eq!(kind(verify_message(&p256.spki, &alg, MSG, &zero)), ErrorKind::BadSignature);
    let neg = [0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01];
    assert_eq!(kind(verify_message(&p256.spki, &alg, MSG, &neg)), ErrorKind::BadSignature);
}

#[test]
fn ed25519_openssl() {
    let dir = setup();
    let d = dir.path();
    let a = genkey(d, "a", &["-algorithm", "ED25519"]);
    let b = genkey(d, "b", &["-algorithm", "ED25519"]);
    openssl(d, &["pkeyutl", "-sign", "-rawin", "-inkey", "a.key", "-in", "msg.bin", "-out", "sig.bin"]);
    let sig = read(d, "sig.bin");
    assert_eq!(sig.len(), 64);
    check(&a.spki, &b.spki, &SignatureAlgorithm::Ed25519, &sig, "ed25519");
}

/// SubjectPublicKeyInfo for a raw Ed25519 key.
fn ed25519_spki(key: &[u8]) -> Vec<u8> {
    let mut v = hex("302a300506032b6570032100");
    v.extend_from_slice(key);
    v
}

#[test]
fn ed25519_rfc8032_vectors() {
    // RFC 8032 § 7.1, TEST 1 to 3: (public key, message, signature).
    let vectors = [
        (
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac\
             18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];
    let keys: Vec<Vec<u8>> = vectors.iter().map(|v| ed25519_spki(&hex(v.0))).collect();
    for (i, (_, msg, sig)) in vectors.iter().enumerate() {
        let (msg, sig) = (hex(msg), hex(sig));
        let alg = SignatureAlgorithm::Ed25519;
        verify_message(&keys[i], &alg, &msg, &sig).unwrap();
        let mut m2 = msg.clone();
        m2.push(0);
        assert_eq!(kind(verify_message(&keys[i], &alg, &m2, &sig)), ErrorKind::BadSignature);
        let wrong = &keys[(i + 1) % 3];
        assert_eq!(kind(verify_message(wrong, &alg, &msg, &sig)), ErrorKind::BadSignature);
        for j in [0, 31, 32, 63] {
            let s = flip(&sig, j);
            assert_eq!(kind(verify_message(&keys[i], &alg, &msg, &s)), ErrorKind::BadSignature);
        }
    }
    // Malformed keys: wrong length, parameters present.
    let alg = SignatureAlgorithm::Ed25519;
    let sig = hex(vectors[0].2);
    assert_eq!(kind(verify_message(&keys[0][..43], &alg, b"", &sig)), ErrorKind::InvalidKey);
    let mut short = hex("3029300506032b6570032000");
    short.extend_from_slice(&[1; 31]);
    assert_eq!(kind(verify_message(&short, &alg, b"", &sig)), ErrorKind::InvalidKey);
    let mut with_params = hex("302c300706032b65700500032100");
    with_params.extend_from_slice(&hex(vectors[0].0));
    assert_eq!(kind(verify_message(&with_params, &alg, b"", &sig)), ErrorKind::InvalidKey);
}

#[test]
fn wrong_key_types_and_sizes() {
    let dir = setup();
    let d = dir.path();
    let rsa = rsa_key(d, "rsa", 2048);
    let small = rsa_key(d, "small", 1000);
    let p256 = ec_key(d, "p256", "P-256");
    let p521 = ec_key(d, "p521", "P-521");
    let ed = genkey(d, "ed", &["-algorithm", "ED25519"]);
    let sig = dgst_sign(d, &rsa, SHA256, &[]);
    let wrong = ErrorKind::KeyUsage(KeyUsageError::WrongKeyType);
    let pkcs1 = SignatureAlgorithm::RsaPkcs1v15(SHA256);
    let pss = SignatureAlgorithm::RsaPss { hash: SHA256, mgf_hash: SHA256, salt_len: 32 };
    let ecdsa = SignatureAlgorithm::Ecdsa(SHA256);
    let ed25519 = SignatureAlgorithm::Ed25519;
    for alg in [pkcs1, pss] {
        assert_eq!(kind(verify_message(&p256.spki, &alg, MSG, &sig)), wrong);
        assert_eq!(kind(verify_message(&ed.spki, &alg, MSG, &sig)), wrong);
        // Below 1024 bits: not a usable key.
        let s = dgst_sign(d, &small, SHA256, &[]);
        assert_eq!(kind(verify_message(&small.spki, &alg, MSG, &s)), ErrorKind::InvalidKey);
    }
    assert_eq!(kind(verify_message(&rsa.spki, &ecdsa, MSG, &sig)), wrong);
    assert_eq!(kind(verify_message(&ed.spki, &ecdsa, MSG, &sig)), wrong);
    assert_eq!(kind(verify_message(&rsa.spki, &ed25519, MSG, &sig)), wrong);
    assert_eq!(kind(verify_message(&p256.spki, &ed25519, MSG, &sig)), wrong);
    // P-521 is not implemented.
    let s = dgst_sign(d, &p521, SHA512, &[]);
    let e = verify_message(&p521.spki, &SignatureAlgorithm::Ecdsa(SHA512), MSG, &s);
    assert_eq!(kind(e), ErrorKind::InvalidKey);
    // Garbage keys.
    assert_eq!(kind(verify_message(&[], &pkcs1, MSG, &sig)), ErrorKind::InvalidKey);
    let mut trailing = rsa.spki.clone();
    trailing.push(0);
    assert_eq!(kind(verify_message(&trailing, &pkcs1, MSG, &sig)), ErrorKind::InvalidKey);
}

/// Every variant `encode` can write.
fn all_variants() -> Vec<SignatureAlgorithm> {
    let mut v = vec![SignatureAlgorithm::Ed25519];
    for h in HashAlgorithm::ALL {
        v.push(SignatureAlgorithm::RsaPkcs1v15(h));
        v.push(SignatureAlgorithm::Ecdsa(h));
        for mgf_hash in HashAlgorithm::ALL {
            for salt_len in [0, 1, 20, 32, 64, 127, 128, 255, 256, 65535, 1 << 31, u32::MAX] {
                v.push(SignatureAlgorithm::RsaPss { hash: h, mgf_hash, salt_len });
            }
        }
    }
    v
}

#[test]
fn algorithm_identifier_round_trip() {
    for alg in all_variants() {
        let mut buf = [0u8; MAX_ALGORITHM_ID_LEN];
        let n = alg.encode(&mut buf).unwrap();
        assert!(n <= MAX_ALGORITHM_ID_LEN);
        assert_eq!(SignatureAlgorithm::from_der(&buf[..n]).unwrap(), alg, "{:02x?}", &buf[..n]);
        // Too small a buffer: an error, never a truncated encoding.
        let mut small = vec![0u8; n - 1];
        assert!(matches!(kind(alg.encode(&mut small)), ErrorKind::BufferTooSmall { .. }));
        assert_eq!(alg.is_weak(), alg.hash() == Some(SHA1));
    }
    // Known encodings.
    let mut buf = [0u8; MAX_ALGORITHM_ID_LEN];
    let n = SignatureAlgorithm::RsaPkcs1v15(SHA256).encode(&mut buf).unwrap();
    assert_eq!(&buf[..n], &hex("300d06092a864886f70d01010b0500")[..]);
    let n = SignatureAlgorithm::Ecdsa(SHA384).encode(&mut buf).unwrap();
    assert_eq!(&buf[..n], &hex("300a06082a8648ce3d040303")[..]);
    let n = SignatureAlgorithm::Ed25519.encode(&mut buf).unwrap();
    assert_eq!(&buf[..n], &hex("300506032b6570")[..]);
    let pss = SignatureAlgorithm::RsaPss { hash: SHA1, mgf_hash: SHA1, salt_len: 20 };
    let n = pss.encode(&mut buf).unwrap();
    assert_eq!(&buf[..n], &hex("300d06092a864886f70d01010a3000")[..]);
}

#[test]
fn algorithm_identifier_parsing() {
    let p = |h: &str| SignatureAlgorithm::from_der(&hex(h));
    // Absent parameters for RSA, NULL for ECDSA: both tolerated.
    assert_eq!(p("300b06092a864886f70d01010b").unwrap(), SignatureAlgorithm::RsaPkcs1v15(SHA256));
    assert_eq!(p("300c06082a8648ce3d0403020500").unwrap(), SignatureAlgorithm::Ecdsa(SHA256));
    // ecdsa-with-Specified { sha384 } (X9.62, Certicom).
    assert_eq!(
        p("301606072a8648ce3d0403300b0609608648016503040202").unwrap(),
        SignatureAlgorithm::Ecdsa(SHA384)
    );
    // PSS: all fields explicit, including trailerField 1 and BER lengths.
    assert_eq!(
        p("3046 06092a864886f70d01010a 3039 \
           a00f300d06096086480165030402010500 \
           a11c301a06092a864886f70d010108300d06096086480165030402010500 \
           a203020120 a303020101")
        .unwrap(),
        SignatureAlgorithm::RsaPss { hash: SHA256, mgf_hash: SHA256, salt_len: 32 }
    );
    assert_eq!(
        p("3081 0f 06092a864886f70d01010a 3080 0000").unwrap(),
        SignatureAlgorithm::RsaPss { hash: SHA1, mgf_hash: SHA1, salt_len: 20 }
    );
    // trailerField other than 1, unknown MGF, absent PSS params, negative salt.
    assert_eq!(kind(p("3012 06092a864886f70d01010a 3005 a303020102")), ErrorKind::UnsupportedAlgorithm);
    assert_eq!(
        kind(p("301c 06092a864886f70d01010a 300f a10d300b06092a864886f70d010109")),
        ErrorKind::UnsupportedAlgorithm
    );
    assert_eq!(kind(p("300b06092a864886f70d01010a")), ErrorKind::InvalidValue);
    assert_eq!(kind(p("300d06092a864886f70d01010a0500")), ErrorKind::UnexpectedTag {
        expected: 0x30,
        actual: 0x05
    });
    assert_eq!(kind(p("3012 06092a864886f70d01010a 3005 a2030201ff")), ErrorKind::InvalidValue);
    // Fields out of order.
    assert!(p("3017 06092a864886f70d01010a 300a a203020120 a003300105").is_err());
    // Unknown: md5WithRSAEncryption, dsa-with-sha256, Ed448.
    assert_eq!(kind(p("300d06092a864886f70d0101040500")), ErrorKind::UnsupportedAlgorithm);
    assert_eq!(kind(p("300b0609608648016503040302")), ErrorKind::UnsupportedAlgorithm);
    assert_eq!(kind(p("300506032b6571")), ErrorKind::UnsupportedAlgorithm);
    // Parameters where none belong; non-NULL parameters; trailing data.
    assert_eq!(kind(p("300706032b65700500")), ErrorKind::InvalidValue);
    assert_eq!(kind(p("300e06092a864886f70d01010b020100")), ErrorKind::InvalidValue);
    assert_eq!(kind(p("300d06092a864886f70d01010b050000")), ErrorKind::TrailingData);
    assert_eq!(kind(p("300d06092a864886f70d01010b050000")), ErrorKind::TrailingData);
    assert!(p("").is_err());
    assert!(p("3000").is_err());
}

#[test]
fn algorithm_with_digest() {
    let w = |h: &str, d| SignatureAlgorithm::from_der_with_digest(&hex(h), d);
    // rsaEncryption (what OpenSSL writes in SignerInfo), NULL or absent.
    assert_eq!(w("300d06092a864886f70d0101010500", SHA384).unwrap(), SignatureAlgorithm::RsaPkcs1v15(SHA384));
    assert_eq!(w("300b06092a864886f70d010101", SHA1).unwrap(), SignatureAlgorithm::RsaPkcs1v15(SHA1));
    // id-ecPublicKey, with or without a curve.
    assert_eq!(w("300906072a8648ce3d0201", SHA256).unwrap(), SignatureAlgorithm::Ecdsa(SHA256));
    assert_eq!(
        w("301306072a8648ce3d020106082a8648ce3d030107", SHA512).unwrap(),
        SignatureAlgorithm::Ecdsa(SHA512)
    );
    // Algorithms naming their hash must agree with the digest.
    assert_eq!(w("300d06092a864886f70d01010b0500", SHA256).unwrap(), SignatureAlgorithm::RsaPkcs1v15(SHA256));
    assert_eq!(kind(w("300d06092a864886f70d01010b0500", SHA384)), ErrorKind::InvalidValue);
    assert_eq!(kind(w("300a06082a8648ce3d040302", SHA1)), ErrorKind::InvalidValue);
    // Ed25519 takes any digest (RFC 8419: SHA-512 for the message digest).
    assert_eq!(w("300506032b6570", SHA512).unwrap(), SignatureAlgorithm::Ed25519);
    assert_eq!(w("300506032b6570", SHA256).unwrap(), SignatureAlgorithm::Ed25519);
    // rsaEncryption with parameters other than NULL.
    assert_eq!(kind(w("300e06092a864886f70d010101020100", SHA256)), ErrorKind::InvalidValue);
    assert_eq!(kind(w("300b0609608648016503040302", SHA256)), ErrorKind::UnsupportedAlgorithm);
}

/// Makes a self-signed certificate with openssl for `key` and returns it.
fn self_signed(dir: &Path, key: &Key, args: &[&str]) -> Vec<u8> {
    let keyf = format!("{}.key", key.name);
    let out = format!("{}.crt", key.name);
    let mut a = vec!["req", "-x509", "-new", "-key", keyf.as_str(), "-subj", "/CN=test", "-days", "2"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-outform", "DER", "-out", out.as_str()]);
    openssl(dir, &a);
    read(dir, &out)
}

#[test]
fn openssl_certificates_parse_encode_and_verify() {
    // What OpenSSL writes as a certificate's signatureAlgorithm: parsed to
    // the expected variant, re-encoded byte for byte, and the self-signed
    // certificate verifies.
    let dir = setup();
    let d = dir.path();
    let rsa = rsa_key(d, "rsa", 2048);
    let p256 = ec_key(d, "p256", "P-256");
    let p384 = ec_key(d, "p384", "P-384");
    let ed = genkey(d, "ed", &["-algorithm", "ED25519"]);
    let mut cases: Vec<(&Key, Vec<String>, SignatureAlgorithm)> = vec![];
    for h in HashAlgorithm::ALL {
        let flag = match h {
            HashAlgorithm::Sha1 => "-sha1",
            HashAlgorithm::Sha256 => "-sha256",
            HashAlgorithm::Sha384 => "-sha384",
            HashAlgorithm::Sha512 => "-sha512",
        };
        cases.push((&rsa, vec![flag.into()], SignatureAlgorithm::RsaPkcs1v15(h)));
        cases.push((&p256, vec![flag.into()], SignatureAlgorithm::Ecdsa(h)));
        cases.push((&p384, vec![flag.into()], SignatureAlgorithm::Ecdsa(h)));
    }
    for (h, flag, mgf, salt) in [
        (SHA256, "-sha256", SHA256, 32u32),
        (SHA256, "-sha256", SHA256, 20),
        (SHA512, "-sha512", SHA512, 64),
        (SHA1, "-sha1", SHA1, 20),
        (SHA384, "-sha384", SHA1, 0),
        (SHA1, "-sha1", SHA256, 200),
    ] {
        let args = vec![
            flag.to_string(),
            "-sigopt".into(),
            "rsa_padding_mode:pss".into(),
            "-sigopt".into(),
            format!("rsa_pss_saltlen:{salt}"),
            "-sigopt".into(),
            format!("rsa_mgf1_md:{}", hash_name(mgf)),
        ];
        cases.push((&rsa, args, SignatureAlgorithm::RsaPss { hash: h, mgf_hash: mgf, salt_len: salt }));
    }
    cases.push((&ed, vec![], SignatureAlgorithm::Ed25519));
    for (key, args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let der = self_signed(d, key, &args);
        let cert = CertificateRef::from_der(&der).unwrap();
        let alg_der = cert.signature_algorithm_der();
        let alg = SignatureAlgorithm::from_der(alg_der).unwrap();
        assert_eq!(alg, want, "{args:?}");
        let mut buf = [0u8; MAX_ALGORITHM_ID_LEN];
        let n = alg.encode(&mut buf).unwrap();
        assert_eq!(&buf[..n], alg_der, "{want:?} encodes as OpenSSL does");
        cert.verify_issued_by(&cert).unwrap_or_else(|e| panic!("{want:?}: {e}"));
        check_tampered(&der, &cert);
    }
}

/// Flipping a byte of the TBS (in the subject's common name) or of the
/// signature makes `cert` no longer verify under its own key.
fn check_tampered(der: &[u8], issuer: &CertificateRef<'_>) {
    let cert = CertificateRef::from_der(der).unwrap();
    let tbs_start = cert.tbs_der().as_ptr() as usize - der.as_ptr() as usize;
    let subject = cert.subject_der();
    let subject_start = subject.as_ptr() as usize - der.as_ptr() as usize;
    // The last octet of the subject: inside a string value.
    let i = subject_start + subject.len() - 1;
    assert!(i > tbs_start && i < tbs_start + cert.tbs_der().len());
    let bad = flip(der, i);
    let bad_cert = CertificateRef::from_der(&bad).unwrap();
    assert_eq!(kind(bad_cert.verify_issued_by(issuer)), ErrorKind::BadSignature);
    let sig = cert.signature();
    let j = sig.as_ptr() as usize - der.as_ptr() as usize + sig.len() / 2;
    let bad = flip(der, j);
    let bad_cert = CertificateRef::from_der(&bad).unwrap();
    assert_eq!(kind(bad_cert.verify_issued_by(issuer)), ErrorKind::BadSignature);
}

#[test]
fn rfc9216_chains() {
    let dir = interop("rfc9216-certs-wbond-certvalidator/tests/fixtures/rfc9216");
    let load = |n: &str| cert_file(&dir.join(format!("{n}.pem")));
    let rsa_ca = load("Sample_LAMPS_RSA_Certification_Authority.selfsigned");
    let ed_ca = load("Sample_LAMPS_Ed25519_Certification_Authority.selfsigned");
    let rsa_cross = load("Sample_LAMPS_RSA_Certification_Authority.crosssigned");
    let ed_cross = load("Sample_LAMPS_Ed25519_Certification_Authority.crosssigned");
    let rsa_ca_c = CertificateRef::from_der(&rsa_ca).unwrap();
    let ed_ca_c = CertificateRef::from_der(&ed_ca).unwrap();
    // Self-signed CAs and the cross-certificates.
    rsa_ca_c.verify_issued_by(&rsa_ca_c).unwrap();
    ed_ca_c.verify_issued_by(&ed_ca_c).unwrap();
    CertificateRef::from_der(&rsa_cross).unwrap().verify_issued_by(&ed_ca_c).unwrap();
    CertificateRef::from_der(&ed_cross).unwrap().verify_issued_by(&rsa_ca_c).unwrap();
    check_tampered(&rsa_ca, &rsa_ca_c);
    check_tampered(&ed_ca, &ed_ca_c);
    let wrong = ErrorKind::KeyUsage(KeyUsageError::WrongKeyType);
    assert_eq!(kind(rsa_ca_c.verify_issued_by(&ed_ca_c)), wrong);
    for (who, ca, other_ca) in [
        ("alice", &rsa_ca_c, &ed_ca_c),
        ("bob", &rsa_ca_c, &ed_ca_c),
        ("carlos", &ed_ca_c, &rsa_ca_c),
        ("dana", &ed_ca_c, &rsa_ca_c),
    ] {
        for usage in ["sig", "enc"] {
            let der = load(&format!("{who}@smime.example.{usage}"));
            let cert = CertificateRef::from_der(&der).unwrap();
            cert.verify_issued_by(ca).unwrap_or_else(|e| panic!("{who} {usage}: {e}"));
            check_tampered(&der, ca);
            assert_eq!(kind(cert.verify_issued_by(other_ca)), wrong, "{who}");
            // Not under its own key either (alice's and bob's are RSA, like
            // the RSA CA's; carlos's and dana's signing keys are Ed25519).
            if usage == "sig" {
                assert_eq!(kind(cert.verify_issued_by(&cert)), ErrorKind::BadSignature);
            }
        }
    }
    // The CA's own signature algorithm is sha512WithRSAEncryption.
    assert_eq!(
        SignatureAlgorithm::from_der(rsa_ca_c.signature_algorithm_der()).unwrap(),
        SignatureAlgorithm::RsaPkcs1v15(SHA512)
    );
}

#[test]
fn libksba_ec_and_ed25519_certificates() {
    let dir = interop("libksba/tests/samples");
    for (name, want) in [
        ("openssl-secp256r1ca.cert.crt", SignatureAlgorithm::Ecdsa(SHA1)),
        ("secp256r1-sha384_cert.crt", SignatureAlgorithm::Ecdsa(SHA384)),
        ("secp256r1-sha512_cert.crt", SignatureAlgorithm::Ecdsa(SHA512)),
        ("secp384r1-sha512_cert.crt", SignatureAlgorithm::Ecdsa(SHA512)),
        ("ed25519-ossl-1.crt", SignatureAlgorithm::Ed25519),
    ] {
        let der = cert_file(&dir.join(name));
        let cert = CertificateRef::from_der(&der).unwrap();
        assert_eq!(SignatureAlgorithm::from_der(cert.signature_algorithm_der()).unwrap(), want);
        cert.verify_issued_by(&cert).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_tampered(&der, &cert);
    }
    // The two Certicom P-256 samples share one key; the OpenSSL sample CA
    // has another P-256 key, the P-384 sample a P-384 one.
    let load = |n: &str| cert_file(&dir.join(n));
    let (a, b, c, o) = (
        load("secp256r1-sha384_cert.crt"),
        load("secp256r1-sha512_cert.crt"),
        load("secp384r1-sha512_cert.crt"),
        load("openssl-secp256r1ca.cert.crt"),
    );
    let (a, b, c, o) = (
        CertificateRef::from_der(&a).unwrap(),
        CertificateRef::from_der(&b).unwrap(),
        CertificateRef::from_der(&c).unwrap(),
        CertificateRef::from_der(&o).unwrap(),
    );
    a.verify_issued_by(&b).unwrap();
    assert_eq!(kind(a.verify_issued_by(&o)), ErrorKind::BadSignature);
    assert_eq!(kind(o.verify_issued_by(&a)), ErrorKind::BadSignature);
    assert_eq!(kind(b.verify_issued_by(&c)), ErrorKind::BadSignature);
    assert_eq!(kind(c.verify_issued_by(&b)), ErrorKind::BadSignature);
}

#[test]
fn algorithm_mismatch_between_tbs_and_outer() {
    // Change the outer signatureAlgorithm of a sha512WithRSAEncryption
    // certificate to sha256WithRSAEncryption (same length): refused even
    // before the signature is looked at.
    let dir = interop("rfc9216-certs-wbond-certvalidator/tests/fixtures/rfc9216");
    let der = cert_file(&dir.join("Sample_LAMPS_RSA_Certification_Authority.selfsigned.pem"));
    let cert = CertificateRef::from_der(&der).unwrap();
    let alg = cert.signature_algorithm_der();
    let off = alg.as_ptr() as usize - der.as_ptr() as usize;
    let mut bad = der.clone();
    // 30 0d 06 09 2a 86 48 86 f7 0d 01 01 0d 05 00: the OID's last octet.
    assert_eq!(bad[off + 12], 0x0D);
    bad[off + 12] = 0x0B;
    let bad_cert = CertificateRef::from_der(&bad).unwrap();
    assert_eq!(kind(bad_cert.verify_issued_by(&cert)), ErrorKind::BadSignature);
    // Equal up to a BER length form: still the same algorithm.
    assert!(crate::x509::same_algorithm_id(
        &hex("300d06092a864886f70d01010d0500"),
        &hex("30810d06092a864886f70d01010d0500")
    ));
    assert!(!crate::x509::same_algorithm_id(
        &hex("300d06092a864886f70d01010d0500"),
        &hex("300b06092a864886f70d01010d")
    ));
}

/// A small deterministic generator for the mutation tests.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(3) {
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 => v.truncate(rng.below(v.len() + 1)),
            3 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
            4 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.remove(i);
            }
            _ => {
                // Length octets are where parsers break: set one to an extreme.
                if v.len() > 1 {
                    let i = 1 + rng.below(v.len() - 1);
                    v[i] = [0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF][rng.below(6)];
                }
            }
        }
    }
    v
}

#[test]
fn no_panics_on_mutated_input() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut seeds: Vec<Vec<u8>> = all_variants()
        .iter()
        .map(|a| {
            let mut buf = [0u8; MAX_ALGORITHM_ID_LEN];
            let n = a.encode(&mut buf).unwrap();
            buf[..n].to_vec()
        })
        .collect();
    seeds.push(hex("301606072a8648ce3d0403300b0609608648016503040202"));
    seeds.push(hex("300d06092a864886f70d0101010500"));
    for i in 0..20_000 {
        let seed = &seeds[i % seeds.len()];
        let m = mutate(&mut rng, seed);
        if let Ok(a) = SignatureAlgorithm::from_der(&m) {
            let mut buf = [0u8; MAX_ALGORITHM_ID_LEN];
            let n = a.encode(&mut buf).unwrap();
            assert_eq!(SignatureAlgorithm::from_der(&buf[..n]).unwrap(), a);
        }
        let _ = SignatureAlgorithm::from_der_with_digest(&m, SHA256);
    }

    // Keys and signatures: one real (key, algorithm, signature) per key type,
    // then mutated keys and mutated signatures.
    let dir = setup();
    let d = dir.path();
    let rsa = rsa_key(d, "rsa", 1024);
    let p256 = ec_key(d, "p256", "P-256");
    let p384 = ec_key(d, "p384", "P-384");
    let ed = genkey(d, "ed", &["-algorithm", "ED25519"]);
    openssl(d, &["pkeyutl", "-sign", "-rawin", "-inkey", "ed.key", "-in", "msg.bin", "-out", "sig.bin"]);
    let ed_sig = read(d, "sig.bin");
    let pss = SignatureAlgorithm::RsaPss { hash: SHA256, mgf_hash: SHA256, salt_len: 32 };
    let cases = [
        (&rsa.spki, SignatureAlgorithm::RsaPkcs1v15(SHA256), dgst_sign(d, &rsa, SHA256, &[])),
        (&rsa.spki, pss, dgst_sign(d, &rsa, SHA256, &["rsa_padding_mode:pss", "rsa_pss_saltlen:32"])),
        (&p256.spki, SignatureAlgorithm::Ecdsa(SHA256), dgst_sign(d, &p256, SHA256, &[])),
        (&p384.spki, SignatureAlgorithm::Ecdsa(SHA512), dgst_sign(d, &p384, SHA512, &[])),
        (&ed.spki, SignatureAlgorithm::Ed25519, ed_sig),
    ];
    for (spki, alg, sig) in &cases {
        verify_message(spki, alg, MSG, sig).unwrap();
    }
    for i in 0..3_000 {
        let (spki, alg, sig) = &cases[i % cases.len()];
        let (k, s) = if i % 2 == 0 {
            (mutate(&mut rng, spki), sig.to_vec())
        } else {
            (spki.to_vec(), mutate(&mut rng, sig))
        };
        if k != **spki || s != *sig {
            // A mutation may leave the key equivalent (BER slack), but
            // never makes a changed signature verify.
            let r = verify_message(&k, alg, MSG, &s);
            if s != *sig {
                assert!(r.is_err(), "mutated signature verified: {alg:?}");
            }
        }
        let _ = verify_prehashed(&k, alg, &[0u8; 32], &s);
    }
}
