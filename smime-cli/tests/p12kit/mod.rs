//! Shared by the PKCS#12 and key-history tests: a SoftHSMv2 configuration
//! in a temporary directory with fresh tokens, `smime` run against it, and
//! PKCS#12 files made by OpenSSL (modern, or `-legacy`: 3DES/RC2).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{self, Party, openssl, run_ok};

pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const PIN: &str = "1234";
const SO_PIN: &str = "5678";

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Whether SoftHSM is here; in CI (CI=true) its absence fails the test,
/// elsewhere the test is skipped with a note.
pub fn have_softhsm() -> bool {
    let ok = Path::new(MODULE).exists()
        && Command::new("softhsm2-util")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "SoftHSMv2 ({MODULE}, softhsm2-util) is needed: run scripts/test, which installs it"
        );
        eprintln!("skipped: SoftHSMv2 is not installed (Debian: apt-get install softhsm2)");
    }
    ok
}

/// A SoftHSM configuration with tokens of the given labels.
pub struct Hsm {
    pub dir: PathBuf,
    pub conf: PathBuf,
    pub pin_file: PathBuf,
}

impl Drop for Hsm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Hsm {
    pub fn new(labels: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("softhsm-p12-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        for label in labels {
            run_ok(
                Command::new("softhsm2-util")
                    .env("SOFTHSM2_CONF", &conf)
                    .args(["--init-token", "--free", "--label", label])
                    .args(["--pin", PIN, "--so-pin", SO_PIN]),
                b"",
            );
        }
        let pin_file = dir.join("pin.txt");
        std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
        Self {
            dir,
            conf,
            pin_file,
        }
    }

    /// `smime` with this configuration in its environment.
    pub fn smime(&self) -> Command {
        let mut c = common::smime();
        c.env("SOFTHSM2_CONF", &self.conf)
            .env("SMIME_PKCS11_MODULE", MODULE);
        c
    }

    /// A URI for token `label` (with `extra` path attributes, e.g.
    /// `;object=x`), the PIN from a file.
    pub fn uri(&self, label: &str, extra: &str) -> String {
        format!(
            "pkcs11:token={label}{extra}?pin-source={}",
            s(&self.pin_file)
        )
    }

    /// What `smime tokens --pin` shows of the objects of token `label`.
    pub fn objects(&self, label: &str) -> Vec<String> {
        let out = run_ok(self.smime().args(["tokens", "--pin", PIN]), b"");
        let text = String::from_utf8(out).unwrap();
        let mut in_token = false;
        let mut objects = Vec::new();
        for line in text.lines() {
            if let Some(t) = line.trim().strip_prefix("Token:") {
                in_token = t.trim() == label;
            } else if in_token && let Some(o) = line.trim().strip_prefix("Object: ") {
                objects.push(o.to_owned());
            }
        }
        objects
    }
}

/// A PKCS#12 file of `party` (with `chain` certificates) made by `openssl
/// pkcs12 -export`, legacy (3DES/RC2) or not, under `password`, named
/// `name`.
pub fn make_p12(
    dir: &Path,
    file: &str,
    party: &Party,
    chain: &[&Path],
    password: &str,
    name: Option<&str>,
    legacy: bool,
) -> PathBuf {
    let out = dir.join(file);
    let mut cmd = openssl();
    cmd.args([
        "pkcs12",
        "-export",
        "-in",
        party.cert(),
        "-inkey",
        party.key(),
    ])
    .args(["-out", s(&out), "-passout", &format!("pass:{password}")]);
    if legacy {
        cmd.arg("-legacy");
    }
    if let Some(n) = name {
        cmd.args(["-name", n]);
    }
    if !chain.is_empty() {
        // One -certfile (OpenSSL takes only the last): a bundle of them.
        let bundle = dir.join(format!("{file}.chain.pem"));
        let text: String = chain
            .iter()
            .map(|c| std::fs::read_to_string(c).unwrap())
            .collect();
        std::fs::write(&bundle, text).unwrap();
        cmd.args(["-certfile", s(&bundle)]);
    }
    run_ok(&mut cmd, b"");
    // What OpenSSL says of it: legacy files really use RC2/3DES.
    let mut info = openssl();
    info.args(["pkcs12", "-info", "-noout", "-in", s(&out)])
        .args(["-passin", &format!("pass:{password}")]);
    if legacy {
        info.arg("-legacy");
    }
    let o = info.output().unwrap();
    let text =
        String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    if legacy {
        assert!(text.contains("pbeWithSHA1And40BitRC2-CBC"), "{text}");
        assert!(text.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{text}");
    } else {
        assert!(text.contains("PBES2, PBKDF2, AES-256-CBC"), "{text}");
    }
    out
}

/// A self-signed RSA certificate for `email`, valid `days`, with key and
/// certificate in `dir` (`name.key`, `name.pem`).
pub fn self_signed(dir: &Path, name: &str, cn: &str, email: &str, days: &str) -> Party {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.pem"));
    run_ok(
        openssl()
            .args([
                "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", days,
            ])
            .args(["-keyout", s(&key), "-out", s(&cert)])
            .args(["-subj", &format!("/CN={cn}/O=smime test")])
            .args(["-addext", &format!("subjectAltName=email:{email}")])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args([
                "-addext",
                "keyUsage=critical,keyEncipherment,digitalSignature",
            ])
            .args(["-addext", "extendedKeyUsage=emailProtection"])
            .args(["-addext", "subjectKeyIdentifier=hash"]),
        b"",
    );
    Party { key, cert }
}

/// `openssl cms -encrypt` of `content` to `cert` (DER out); `keyid`: name
/// the recipient by subject key identifier.
pub fn openssl_encrypt(cert: &Path, content: &[u8], keyid: bool) -> Vec<u8> {
    let mut cmd = openssl();
    cmd.args(["cms", "-encrypt", "-binary", "-aes256", "-outform", "DER"]);
    if keyid {
        cmd.arg("-keyid");
    }
    cmd.arg(cert);
    run_ok(&mut cmd, content)
}
