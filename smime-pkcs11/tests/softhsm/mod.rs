//! A SoftHSMv2 fixture for tests: tokens in a per-process temporary
//! directory, keys and certificates made by `openssl` once (cached under
//! the target directory) and imported with `pkcs11-tool`.
//!
//! Self-contained: copy this file into another crate's `tests/` to use it
//! (it needs `tempfile` and, for `CARGO_TARGET_TMPDIR`, an integration test).
//!
//! Tokens (addressed by label: SoftHSM renumbers slots):
//! - `smime-test` (user PIN `1234`, SO PIN `5678`): RSA-2048 (id 01, label
//!   `rsa2048`), RSA-3072 (02, `rsa3072`), EC P-256 (03, `ec256`), an
//!   RSA-2048 key with CKA_ALWAYS_AUTHENTICATE (04, `rsa-aa`), each with its
//!   certificate and public key under the same id and label, EC P-384 (05,
//!   `ec384`); the P-256 key
//!   again without certificate (06, `ec256-nocert`, with its public key).
//! - `smime-pin` (user PIN `1234`): RSA-2048 (01, `rsa2048`) and the
//!   always-authenticate key (04, `rsa-aa`), for wrong-PIN tests.
//!
//! Key material (PEM and DER) is in [`Fixture::material`]: `<name>/key.pem`,
//! `key.der` (PKCS#8), `cert.pem`, `cert.der`, `pub.der` for the names
//! `rsa2048`, `rsa3072`, `ec256`, `ec384`, `rsa-aa` and `other` (an RSA-2048 key that
//! is not on any token).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The SoftHSM module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The main token's label.
pub const TOKEN: &str = "smime-test";
/// The wrong-PIN token's label.
pub const PIN_TOKEN: &str = "smime-pin";
/// The user PIN of both tokens.
pub const PIN: &str = "1234";
/// The SO PIN of both tokens.
pub const SO_PIN: &str = "5678";

/// The fixture of this test process.
pub struct Fixture {
    /// Holds the token directory and the configuration.
    pub dir: tempfile::TempDir,
    /// The `softhsm2.conf` (also in `SOFTHSM2_CONF`).
    pub conf: PathBuf,
    /// The key material directory.
    pub material: PathBuf,
}

impl Fixture {
    /// A file of the key material: `path("rsa2048", "cert.der")`.
    pub fn path(&self, name: &str, file: &str) -> PathBuf {
        self.material.join(name).join(file)
    }

    /// The contents of a key material file.
    pub fn read(&self, name: &str, file: &str) -> Vec<u8> {
        std::fs::read(self.path(name, file)).unwrap()
    }

    /// A `pkcs11:` URI for `object` on the main token, with the PIN.
    pub fn uri(&self, object: &str) -> String {
        format!("pkcs11:token={TOKEN};object={object};type=private?pin-value={PIN}")
    }

    /// Runs `pkcs11-tool` on SoftHSM with this fixture's configuration.
    pub fn pkcs11_tool(&self, args: &[&str]) -> std::process::Output {
        Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &self.conf)
            .arg("--module")
            .arg(MODULE)
            .args(args)
            .output()
            .expect("run pkcs11-tool")
    }

    /// Initializes (or re-initializes) token `label` with user PIN `1234`.
    pub fn init_token(&self, label: &str) {
        // Re-initializing a token in place needs its slot; a fresh one uses --free.
        let show = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &self.conf)
            .arg("--show-slots")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&show.stdout).into_owned();
        let mut slot = None;
        let mut current = None;
        for line in text.lines() {
            let l = line.trim();
            if let Some(s) = l.strip_prefix("Slot ") {
                current = s.trim().parse::<u64>().ok();
            }
            if l.strip_prefix("Label:")
                .is_some_and(|lab| lab.trim() == label)
            {
                slot = current;
            }
        }
        let mut cmd = Command::new("softhsm2-util");
        cmd.env("SOFTHSM2_CONF", &self.conf).arg("--init-token");
        match slot {
            Some(s) => cmd.args(["--slot", &s.to_string()]),
            None => cmd.arg("--free"),
        };
        run(cmd.args(["--label", label, "--pin", PIN, "--so-pin", SO_PIN]));
    }

    /// Imports key material `name` onto token `token` with `id` and `label`.
    pub fn import(
        &self,
        token: &str,
        name: &str,
        id: &str,
        label: &str,
        extra: &[&str],
        cert: bool,
    ) {
        let key = self.path(name, "key.der");
        let usage: &[&str] = if name.starts_with("ec") {
            &["--usage-sign", "--usage-derive"]
        } else {
            &["--usage-sign", "--usage-decrypt"]
        };
        let mut args = vec![
            "--login",
            "--pin",
            PIN,
            "--token-label",
            token,
            "--write-object",
            key.to_str().unwrap(),
            "--type",
            "privkey",
            "--id",
            id,
            "--label",
            label,
        ];
        args.extend_from_slice(usage);
        args.extend_from_slice(extra);
        check(self.pkcs11_tool(&args), "import private key");
        let public = self.path(name, "pub.der");
        let args = [
            "--login",
            "--pin",
            PIN,
            "--token-label",
            token,
            "--write-object",
            public.to_str().unwrap(),
            "--type",
            "pubkey",
            "--id",
            id,
            "--label",
            label,
        ];
        check(self.pkcs11_tool(&args), "import public key");
        if cert {
            let c = self.path(name, "cert.der");
            let args = [
                "--login",
                "--pin",
                PIN,
                "--token-label",
                token,
                "--write-object",
                c.to_str().unwrap(),
                "--type",
                "cert",
                "--id",
                id,
                "--label",
                label,
            ];
            check(self.pkcs11_tool(&args), "import certificate");
        }
    }
}

fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    check(o, &format!("{cmd:?}"));
}

fn check(o: std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Makes the key material once (cached under the target directory).
fn material() -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("smime-pkcs11-keys-v2");
    if base.join("done").exists() {
        return base;
    }
    let tmp = tempfile::Builder::new()
        .prefix("keys")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    for (name, newkey, ku) in [
        (
            "rsa2048",
            &["-newkey", "rsa:2048"][..],
            "digitalSignature,keyEncipherment",
        ),
        (
            "rsa3072",
            &["-newkey", "rsa:3072"][..],
            "digitalSignature,keyEncipherment",
        ),
        (
            "ec256",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
            "digitalSignature,keyAgreement",
        ),
        (
            "ec384",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"][..],
            "digitalSignature,keyAgreement",
        ),
        (
            "rsa-aa",
            &["-newkey", "rsa:2048"][..],
            "digitalSignature,nonRepudiation",
        ),
        (
            "other",
            &["-newkey", "rsa:2048"][..],
            "digitalSignature,keyEncipherment",
        ),
    ] {
        let d = tmp.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        run(Command::new("openssl")
            .current_dir(&d)
            .args([
                "req", "-x509", "-nodes", "-days", "3650", "-keyout", "key.pem", "-out", "cert.pem",
            ])
            .args(newkey)
            .args([
                "-subj",
                &format!("/CN={name} test/emailAddress={name}@example.com"),
            ])
            .args(["-addext", &format!("keyUsage=critical,{ku}")])
            .args([
                "-addext",
                &format!("subjectAltName=email:{name}@example.com"),
            ]));
        run(Command::new("openssl").current_dir(&d).args([
            "pkey", "-in", "key.pem", "-outform", "DER", "-out", "key.der",
        ]));
        run(Command::new("openssl").current_dir(&d).args([
            "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "pub.der",
        ]));
        run(Command::new("openssl").current_dir(&d).args([
            "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
        ]));
    }
    std::fs::write(tmp.path().join("done"), b"").unwrap();
    let tmp = tmp.keep();
    // Another process may have won the race: then use its copy.
    if std::fs::rename(&tmp, &base).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(base.join("done").exists());
    base
}

/// The fixture: made on first use in this process.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let material = material();
        // Per process (nextest runs each test in its own): under the target
        // directory, where runs older than an hour are removed.
        let runs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("smime-pkcs11-tokens");
        std::fs::create_dir_all(&runs).unwrap();
        for e in std::fs::read_dir(&runs).unwrap().flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if old {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let dir = tempfile::Builder::new().prefix("run").tempdir_in(&runs).unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir_all(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .unwrap();
        // SoftHSM reads SOFTHSM2_CONF when it is initialized: set it before
        // any module load in this process.
        #[allow(unsafe_code)]
        // SAFETY: set once, in the fixture, before SoftHSM is loaded; the
        // tests read no environment concurrently with this.
        unsafe {
            std::env::set_var("SOFTHSM2_CONF", &conf);
        }
        let f = Fixture { dir, conf, material };
        f.init_token(TOKEN);
        f.init_token(PIN_TOKEN);
        f.import(TOKEN, "rsa2048", "01", "rsa2048", &[], true);
        f.import(TOKEN, "rsa3072", "02", "rsa3072", &[], true);
        f.import(TOKEN, "ec256", "03", "ec256", &[], true);
        f.import(TOKEN, "rsa-aa", "04", "rsa-aa", &["--always-auth"], true);
        f.import(TOKEN, "ec384", "05", "ec384", &[], true);
        f.import(TOKEN, "ec256", "06", "ec256-nocert", &[], false);
        f.import(PIN_TOKEN, "rsa2048", "01", "rsa2048", &[], true);
        f.import(PIN_TOKEN, "rsa-aa", "04", "rsa-aa", &["--always-auth"], true);
        f
    })
}
