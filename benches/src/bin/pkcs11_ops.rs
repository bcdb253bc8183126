//! Signatures and decryptions per second on a SoftHSMv2 token: through
//! `smime-pkcs11` (the library's signer and decrypter traits) next to the same
//! raw operation through `cryptoki` alone, on the same key in the same run.
//! The library's overhead (DigestInfo built on the host, mechanism checks,
//! output copies) should be invisible.
//!
//! ```sh
//! cargo run --release -p smime-benches --bin pkcs11-ops            # 2000 operations each
//! cargo run --release -p smime-benches --bin pkcs11-ops -- 500
//! ```
//!
//! Needs `softhsm2-util`, `pkcs11-tool` (OpenSC) and `openssl`; makes a
//! throwaway token in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use smime_core::backend::{
    HashAlgorithm, KeyTransAlgorithm, KeyTransDecrypter, Signer, ToBeSigned,
};
use smime_core::pubkey::encoding::digest_info;
use smime_pkcs11::{OpenOptions, Pkcs11Key, Pkcs11Uri};

type Res<T> = Result<T, String>;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

fn run(cmd: &mut Command) -> Res<Vec<u8>> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(out.stdout)
}

fn s(p: &Path) -> Res<&str> {
    p.to_str()
        .ok_or_else(|| format!("not UTF-8: {}", p.display()))
}

/// A token with an RSA-2048 key and its certificate; returns the directory
/// (kept alive by the caller) and the ciphertext of a 32-byte key.
fn setup(dir: &Path) -> Res<Vec<u8>> {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).map_err(|e| e.to_string())?;
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    // Only this process and its children use the token: set before the
    // module is loaded.
    set_conf(&conf);
    run(Command::new("softhsm2-util").args([
        "--init-token",
        "--free",
        "--label",
        "bench",
        "--pin",
        "1234",
        "--so-pin",
        "5678",
    ]))?;
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    run(Command::new("openssl").args([
        "req",
        "-x509",
        "-nodes",
        "-newkey",
        "rsa:2048",
        "-days",
        "10",
        "-subj",
        "/CN=bench",
        "-addext",
        "keyUsage=digitalSignature,keyEncipherment",
        "-keyout",
        s(&key)?,
        "-out",
        s(&cert)?,
    ]))?;
    let key_der = dir.join("key.der");
    let cert_der = dir.join("cert.der");
    run(Command::new("openssl").args([
        "pkey",
        "-in",
        s(&key)?,
        "-outform",
        "DER",
        "-out",
        s(&key_der)?,
    ]))?;
    run(Command::new("openssl").args([
        "x509",
        "-in",
        s(&cert)?,
        "-outform",
        "DER",
        "-out",
        s(&cert_der)?,
    ]))?;
    for (file, kind) in [(&key_der, "privkey"), (&cert_der, "cert")] {
        run(Command::new("pkcs11-tool").args([
            "--module",
            MODULE,
            "--login",
            "--pin",
            "1234",
            "--token-label",
            "bench",
            "--write-object",
            s(file)?,
            "--type",
            kind,
            "--id",
            "01",
            "--label",
            "bench",
        ]))?;
    }
    // A CEK encrypted to the certificate (PKCS#1 v1.5), as a recipient info holds it.
    let cek = dir.join("cek.bin");
    std::fs::write(&cek, [7u8; 32]).map_err(|e| e.to_string())?;
    run(Command::new("openssl").args([
        "pkeyutl",
        "-encrypt",
        "-certin",
        "-inkey",
        s(&cert)?,
        "-in",
        s(&cek)?,
    ]))
}

#[allow(unsafe_code)]
fn set_conf(conf: &Path) {
    // SAFETY: called at start-up, before any other thread exists, so no
    // concurrent reader of the environment can observe the change.
    unsafe { std::env::set_var("SOFTHSM2_CONF", conf) };
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

const ROUNDS: usize = 5;

fn time<F: FnMut() -> Res<()>>(mut f: F) -> Res<Duration> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed())
}

fn main() -> Res<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|e| format!("operations: {e}"))?,
        None => 2000,
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ciphertext = setup(dir.path())?;
    let digest = [0x5au8; 32];

    // Through the library.
    let uri = Pkcs11Uri::parse(&format!(
        "pkcs11:token=bench;object=bench;type=private?pin-value=1234&module-path={MODULE}"
    ))
    .map_err(|e| e.to_string())?;
    let mut key = Pkcs11Key::open(&uri, &OpenOptions::default()).map_err(|e| e.to_string())?;
    let mut sig = vec![0u8; 512];
    let mut cek = [0u8; 64];
    let tbs = ToBeSigned {
        message: None,
        digest: &digest,
    };

    // Raw cryptoki on the same module (already initialized by the library)
    // and the same key, in its own session.
    let pkcs11 = Pkcs11::new(PathBuf::from(MODULE)).map_err(|e| e.to_string())?;
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => return Err(e.to_string()),
    }
    let slot = pkcs11
        .get_slots_with_token()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|s| {
            pkcs11
                .get_token_info(*s)
                .is_ok_and(|i| i.label() == "bench")
        })
        .ok_or("no token 'bench'")?;
    let session = pkcs11.open_ro_session(slot).map_err(|e| e.to_string())?;
    match session.login(UserType::User, Some(&AuthPin::new("1234".into()))) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => return Err(e.to_string()),
    }
    let handle = *session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(b"bench".to_vec()),
        ])
        .map_err(|e| e.to_string())?
        .first()
        .ok_or("no key")?;
    let mut info = [0u8; 64];

    // Interleaved rounds, best of each: the token's own speed drifts.
    let mut best = [Duration::MAX; 4];
    for _ in 0..ROUNDS {
        let t = [
            time(|| {
                for _ in 0..n {
                    key.sign(&tbs, &mut sig).map_err(|e| e.to_string())?;
                }
                Ok(())
            })?,
            time(|| {
                for _ in 0..n {
                    let len = digest_info(HashAlgorithm::Sha256, &digest, &mut info)
                        .map_err(|e| e.to_string())?;
                    session
                        .sign(&Mechanism::RsaPkcs, handle, &info[..len])
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            })?,
            time(|| {
                for _ in 0..n {
                    key.decrypt_key(&KeyTransAlgorithm::RsaPkcs1v15, &ciphertext, &mut cek)
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            })?,
            time(|| {
                for _ in 0..n {
                    session
                        .decrypt(&Mechanism::RsaPkcs, handle, &ciphertext)
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            })?,
        ];
        for (b, t) in best.iter_mut().zip(t) {
            *b = (*b).min(t);
        }
    }
    if cek[..32] != [7u8; 32] {
        return Err("the library's decryption gave a wrong key".into());
    }
    let [lib_sign, raw_sign, lib_dec, raw_dec] = best;

    println!("SoftHSMv2, RSA-2048, {n} operations, best of {ROUNDS} interleaved rounds");
    println!(
        "{:<28} {:>12} {:>12} {:>10}",
        "operation", "smime-pkcs11", "cryptoki", "overhead"
    );
    for (what, lib, raw) in [
        ("sign (PKCS#1 v1.5, SHA-256)", lib_sign, raw_sign),
        ("decrypt (PKCS#1 v1.5)", lib_dec, raw_dec),
    ] {
        let (a, b) = (rate(n, lib), rate(n, raw));
        println!(
            "{what:<28} {a:>10.0}/s {b:>10.0}/s {:>9.1}%",
            (b / a - 1.0) * 100.0
        );
    }
    Ok(())
}
