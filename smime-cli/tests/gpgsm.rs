//! Interoperability with GnuPG's `gpgsm` for signatures, both ways:
//! `gpgsm --sign` / `--detach-sign` verified by `smime verify`, and
//! `smime sign` (attached and `--detached`) verified by `gpgsm --verify`.
//! A tampered content must fail both ways.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod pki;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use pki::pki;

/// The passphrase protecting the signer's key in the PKCS#12 file and in
/// gpg-agent.
const PASS: &str = "gpgsm-interop";

/// A temporary GNUPGHOME with the test CA trusted and Alice's key and
/// certificate imported. The agent is stopped when dropped.
struct Gpgsm {
    home: tempfile::TempDir,
    /// SHA-1 fingerprint of Alice's certificate (plain hex).
    signer: String,
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
    fn new() -> Self {
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
            signer: sha1_fingerprint(p.alice.cert()),
        };
        // The CA certificate, trusted as a root.
        run_ok(g.cmd().args(["--import", p.ca.cert()]), b"");
        std::fs::write(
            g.path("trustlist.txt"),
            format!("{} S\n", sha1_fingerprint(p.ca.cert())),
        )
        .unwrap();
        // Alice's key and certificate, through PKCS#12 with the old
        // 3DES/SHA-1 key protection (gpgsm 2.2 does not read the AES one)
        // and the certificate bag left unencrypted: gpgsm 2.2 now and then
        // rejects a 3DES-encrypted certificate bag ("encryptedData error
        // ... possibly bad passphrase") depending on the random salt. A
        // fresh export is tried a few times for the same reason.
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

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    /// `gpgsm --batch` in this GNUPGHOME.
    fn cmd(&self) -> Command {
        let mut c = Command::new("gpgsm");
        c.env("GNUPGHOME", self.home.path()).arg("--batch");
        c
    }

    /// Signs the file `input` with Alice's key (`--sign` or `--detach-sign`).
    fn sign(&self, input: &Path, op: &str) -> Vec<u8> {
        let out = self.path("gpgsm-out.p7");
        let _ = std::fs::remove_file(&out);
        run_ok(
            self.cmd()
                .args(["--pinentry-mode", "loopback", "--passphrase-fd", "0"])
                .args(["-u", &self.signer, op, "--output"])
                .arg(&out)
                .arg(input),
            format!("{PASS}\n").as_bytes(),
        );
        std::fs::read(&out).unwrap()
    }

    /// `gpgsm --verify --status-fd 1` of the file `sig` (and the detached
    /// `content`): the output and the status lines.
    fn verify(&self, sig: &Path, content: Option<&Path>) -> (Output, String) {
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

/// Test content: text with a marker line to tamper with, and binary bytes.
fn test_content() -> Vec<u8> {
    let mut c = b"gpgsm interop test: MARKER-LINE\n".to_vec();
    c.extend(content(3000, 11));
    c
}

/// `data` with the first byte of the marker changed.
fn tamper(data: &[u8]) -> Vec<u8> {
    let at = data
        .windows(11)
        .position(|w| w == b"MARKER-LINE")
        .expect("marker in the data");
    let mut d = data.to_vec();
    d[at] ^= 0x20;
    d
}

fn smime_verify(msg: &Path, content: Option<&Path>) -> Output {
    let mut c = smime();
    c.args(["verify", "--trust", pki().ca.cert(), "--in"])
        .arg(msg);
    if let Some(content) = content {
        c.arg("--content").arg(content);
    }
    run(&mut c, b"")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_good(o: &Output, status: &str, what: &str) {
    assert!(
        o.status.success(),
        "gpgsm --verify ({what}) failed ({}): {status}\n{}",
        o.status,
        stderr(o)
    );
    assert!(
        status.contains("[GNUPG:] GOODSIG ") && status.contains("[GNUPG:] VALIDSIG "),
        "gpgsm --verify ({what}): no good signature: {status}\n{}",
        stderr(o)
    );
    assert!(!status.contains("BADSIG"), "{what}: {status}");
}

fn assert_bad(o: &Output, status: &str, what: &str) {
    assert!(
        !o.status.success(),
        "gpgsm --verify accepted a tampered {what}: {status}"
    );
    assert!(!status.contains("[GNUPG:] GOODSIG "), "{what}: {status}");
    assert!(!status.contains("[GNUPG:] VALIDSIG "), "{what}: {status}");
}

#[test]
fn gpgsm_signed_messages_verify_with_smime() {
    let g = Gpgsm::new();
    let msg = test_content();
    let input = g.path("content.bin");
    std::fs::write(&input, &msg).unwrap();
    let bad = g.path("tampered.bin");
    std::fs::write(&bad, tamper(&msg)).unwrap();

    // Attached.
    let att = g.path("attached.p7m");
    std::fs::write(&att, g.sign(&input, "--sign")).unwrap();
    let o = smime_verify(&att, None);
    assert!(
        o.status.success(),
        "smime verify (attached): {}",
        stderr(&o)
    );
    assert_eq!(o.stdout, msg, "content of the gpgsm attached signature");
    let att_bad = g.path("attached-bad.p7m");
    std::fs::write(&att_bad, tamper(&std::fs::read(&att).unwrap())).unwrap();
    let o = smime_verify(&att_bad, None);
    assert_eq!(
        o.status.code(),
        Some(1),
        "tampered attached: {}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty(), "content written despite failure");

    // Detached.
    let det = g.path("detached.p7s");
    std::fs::write(&det, g.sign(&input, "--detach-sign")).unwrap();
    let o = smime_verify(&det, Some(&input));
    assert!(
        o.status.success(),
        "smime verify (detached): {}",
        stderr(&o)
    );
    assert_eq!(o.stdout, msg, "content of the gpgsm detached signature");
    let o = smime_verify(&det, Some(&bad));
    assert_eq!(
        o.status.code(),
        Some(1),
        "tampered detached: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("content was changed"), "{}", stderr(&o));
}

#[test]
fn smime_signed_messages_verify_with_gpgsm() {
    let g = Gpgsm::new();
    let p = pki();
    let msg = test_content();
    let input = g.path("content.bin");
    std::fs::write(&input, &msg).unwrap();
    let bad = g.path("tampered.bin");
    std::fs::write(&bad, tamper(&msg)).unwrap();

    for (name, extra) in [
        ("attached", &[][..]),
        ("attached, pem", &["--outform", "pem"][..]),
        ("attached, sha512", &["--digest", "sha512"][..]),
        ("detached", &["--detached"][..]),
    ] {
        let sig = g.path("smime.p7");
        let mut args = vec!["sign", "--key", p.alice.key(), "--cert", p.alice.cert()];
        args.extend_from_slice(extra);
        run_ok(
            smime_cms(&args)
                .arg("--in")
                .arg(&input)
                .arg("--out")
                .arg(&sig),
            b"",
        );
        let detached = extra.contains(&"--detached");
        let content = detached.then_some(input.as_path());
        let (o, status) = g.verify(&sig, content);
        assert_good(&o, &status, name);

        if detached {
            let (o, status) = g.verify(&sig, Some(&bad));
            assert_bad(&o, &status, name);
        } else if !extra.contains(&"pem") {
            let sig_bad = g.path("smime-bad.p7");
            std::fs::write(&sig_bad, tamper(&std::fs::read(&sig).unwrap())).unwrap();
            let (o, status) = g.verify(&sig_bad, None);
            assert_bad(&o, &status, name);
        }
    }
}
