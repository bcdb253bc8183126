//! A throwaway GnuPG home for the gpgsm interoperability tests: the test
//! CA trusted, Alice's key and certificate imported through PKCS#12 with
//! loopback pinentry, the agent stopped when dropped.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{openssl, run, run_ok};
use crate::pki::pki;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The passphrase protecting Alice's key in the PKCS#12 file and in gpg-agent.
pub const PASS: &str = "gpgsm-interop";

pub struct Gpgsm {
    home: tempfile::TempDir,
    /// SHA-1 fingerprint of Alice's certificate (plain hex).
    pub alice: String,
}

fn sha1_fingerprint(cert: &str) -> String {
    let out = run_ok(
        openssl().args(["x509", "-in", cert, "-noout", "-fingerprint", "-sha1"]),
        b"",
    );
    let out = String::from_utf8(out).unwrap();
    let (_, fpr) = out
        .trim()
        .split_once('=')
        .expect("openssl fingerprint output");
    fpr.replace(':', "").to_uppercase()
}

impl Gpgsm {
    pub fn new() -> Self {
        let ok = Command::new("gpgsm")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "GnuPG's `gpgsm` is needed for these tests");
        let p = pki();
        // In /tmp: the agent's socket path must stay short.
        let home = tempfile::Builder::new().prefix("gpgsm-").tempdir().unwrap();
        let h = home.path();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(h, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::fs::write(h.join("gpg-agent.conf"), "allow-loopback-pinentry\n").unwrap();
        std::fs::write(h.join("gpgsm.conf"), "disable-crl-checks\n").unwrap();
        let g = Self {
            home,
            alice: sha1_fingerprint(p.alice.cert()),
        };
        run_ok(g.cmd().args(["--import", p.ca.cert()]), b"");
        std::fs::write(
            g.path("trustlist.txt"),
            format!("{} S\n", sha1_fingerprint(p.ca.cert())),
        )
        .unwrap();
        // Old 3DES/SHA-1 key protection and an unencrypted certificate bag
        // (gpgsm 2.2 reads these reliably); retried for the random salt.
        let p12 = g.path("alice.p12");
        let mut last = String::new();
        for _ in 0..4 {
            run_ok(
                openssl()
                    .args(["pkcs12", "-export", "-inkey", p.alice.key(), "-in"])
                    .arg(p.alice.cert())
                    .args(["-certpbe", "NONE", "-keypbe", "PBE-SHA1-3DES"])
                    .args(["-macalg", "sha1", "-passout", &format!("pass:{PASS}")])
                    .arg("-out")
                    .arg(&p12),
                b"",
            );
            let o = run(
                g.cmd()
                    .args(["--pinentry-mode", "loopback", "--passphrase-fd", "0"])
                    .arg("--import")
                    .arg(&p12),
                format!("{PASS}\n").as_bytes(),
            );
            last = stderr(&o);
            if o.status.success() && last.contains("secret keys read: 1") {
                return g;
            }
        }
        panic!("gpgsm --import of the PKCS#12 file failed:\n{last}");
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new("gpgsm");
        c.env("GNUPGHOME", self.home.path()).arg("--batch");
        c
    }

    /// `gpgsm <op>` of the file `input` with Alice's key (and passphrase);
    /// `extra` before the operation. Returns what gpgsm wrote.
    pub fn run_op(&self, extra: &[&str], op: &str, input: &Path) -> Vec<u8> {
        let out = self.path("gpgsm-out");
        let _ = std::fs::remove_file(&out);
        run_ok(
            self.cmd()
                .args(["--pinentry-mode", "loopback", "--passphrase-fd", "0"])
                .args(extra)
                .args([op, "--output"])
                .arg(&out)
                .arg(input),
            format!("{PASS}\n").as_bytes(),
        );
        std::fs::read(&out).unwrap()
    }

    /// Signs the file `input` with Alice's key (`--sign` or `--detach-sign`).
    pub fn sign(&self, input: &Path, op: &str) -> Vec<u8> {
        self.run_op(&["-u", &self.alice], op, input)
    }

    /// `gpgsm --verify --status-fd 1` of `sig` (and the detached `content`).
    pub fn verify(&self, sig: &Path, content: Option<&Path>) -> (Output, String) {
        let mut c = self.cmd();
        c.args(["--status-fd", "1", "--verify"]).arg(sig);
        if let Some(content) = content {
            c.arg(content);
        }
        let o = run(&mut c, b"");
        let status = String::from_utf8_lossy(&o.stdout).into_owned();
        (o, status)
    }
}

impl Drop for Gpgsm {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}
