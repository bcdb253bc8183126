//! Shared helpers for the CLI tests: running `smime` and `openssl`, and a set
//! of recipients made by OpenSSL once and kept under the target directory.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The `smime` binary under test.
pub fn smime() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smime"))
}

/// `args` of `smime sign` or `smime encrypt` (the subcommand first) for the
/// forms most tests work with: raw bytes in (`--inform binary`) and a bare CMS
/// message out (`--outform der`, unless `args` give an `--outform`). The
/// tool's own defaults are a mail message in and an S/MIME mail message out.
pub fn cms_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let (command, rest) = args.split_first().expect("a subcommand");
    assert!(
        matches!(*command, "sign" | "encrypt"),
        "cms_args is for sign and encrypt, not {command:?}"
    );
    let mut v = vec![*command, "--inform", "binary"];
    if !rest.contains(&"--outform") {
        v.extend(["--outform", "der"]);
    }
    v.extend_from_slice(rest);
    v
}

/// `smime` with [`cms_args`]`(args)`: `sign` or `encrypt` of raw bytes to a
/// bare CMS message (DER unless `args` give an `--outform`).
pub fn smime_cms(args: &[&str]) -> Command {
    let mut cmd = smime();
    cmd.args(cms_args(args));
    cmd
}

/// The `openssl` command line tool (a real peer, not a mock).
pub fn openssl() -> Command {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let ok = Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "the `openssl` command line tool is needed: run scripts/test, which installs it"
        );
    });
    Command::new("openssl")
}

/// Runs `cmd` with `stdin` fed from another thread (large inputs and outputs
/// must not dead-lock on pipe buffers).
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The child may exit early (an error): a broken pipe is fine then.
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Runs `cmd`, which must succeed; returns its standard output.
pub fn run_ok(cmd: &mut Command, stdin: &[u8]) -> Vec<u8> {
    let out = run(cmd, stdin);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `smime` with `args`, which must fail with exit code 1 and exactly one
/// line `smime: error: ...` on standard error; returns that line.
pub fn smime_fails(args: &[&str], stdin: &[u8]) -> String {
    let out = run(smime().args(args), stdin);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "smime {args:?}: expected exit 1, stderr: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "smime {args:?}: expected one line on stderr, got {stderr:?}"
    );
    assert!(
        lines[0].starts_with("smime: error: "),
        "smime {args:?}: {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0].to_owned()
}

/// A private key and certificate made by OpenSSL (PEM files).
#[derive(Debug, Clone)]
pub struct Party {
    pub key: PathBuf,
    pub cert: PathBuf,
}

impl Party {
    pub fn key(&self) -> &str {
        self.key.to_str().unwrap()
    }
    pub fn cert(&self) -> &str {
        self.cert.to_str().unwrap()
    }
}

/// Recipients made once by `openssl req -x509` and reused by every test.
#[derive(Debug)]
pub struct Fixture {
    /// Three RSA-2048 recipients with keyEncipherment and a subject key id.
    pub r: [Party; 3],
    /// keyUsage digitalSignature only (no keyEncipherment).
    pub sign_only: Party,
    /// No subjectKeyIdentifier.
    pub no_ski: Party,
    /// RSA-1024 (below the default policy).
    pub small: Party,
    /// An EC P-256 key (no RSA key transport).
    pub ec: Party,
}

const FIXTURE_VERSION: &str = "openssl-fixture-v2";

fn make_party(dir: &Path, name: &str, cn: &str, newkey: &[&str], exts: &[&str]) -> Party {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    let mut cmd = openssl();
    cmd.args(["req", "-x509", "-nodes", "-days", "3650", "-newkey"])
        .args(newkey)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-subj", &format!("/CN={cn}/O=smime test")]);
    for e in exts {
        cmd.args(["-addext", e]);
    }
    run_ok(&mut cmd, b"");
    Party { key, cert }
}

fn parties(dir: &Path) -> Fixture {
    let p = |name: &str| Party {
        key: dir.join(format!("{name}.key")),
        cert: dir.join(format!("{name}.crt")),
    };
    Fixture {
        r: [p("r1"), p("r2"), p("r3")],
        sign_only: p("sign-only"),
        no_ski: p("no-ski"),
        small: p("small"),
        ec: p("ec"),
    }
}

const RSA: [&str; 1] = ["rsa:2048"];

/// The shared recipients. Made in a fresh directory and renamed into place,
/// so that test processes running at the same time never see half of it.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = base.join(FIXTURE_VERSION);
        if dir.join("complete").exists() {
            return parties(&dir);
        }
        let tmp = tempfile::Builder::new()
            .prefix("fixture-")
            .tempdir_in(base)
            .unwrap();
        let usual = [
            "keyUsage=keyEncipherment,digitalSignature",
            "subjectKeyIdentifier=hash",
        ];
        for i in 1..=3 {
            make_party(
                tmp.path(),
                &format!("r{i}"),
                &format!("Recipient {i}"),
                &RSA,
                &usual,
            );
        }
        make_party(
            tmp.path(),
            "sign-only",
            "Signing Only",
            &RSA,
            &["keyUsage=digitalSignature", "subjectKeyIdentifier=hash"],
        );
        make_party(
            tmp.path(),
            "no-ski",
            "No Key Id",
            &RSA,
            &[
                "keyUsage=keyEncipherment,digitalSignature",
                "subjectKeyIdentifier=none",
                "authorityKeyIdentifier=none",
            ],
        );
        let usual = usual[..1].to_vec();
        make_party(tmp.path(), "small", "Small Key", &["rsa:1024"], &usual);
        let ec = ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
        make_party(tmp.path(), "ec", "EC Key", &ec, &usual);
        std::fs::write(tmp.path().join("complete"), b"").unwrap();
        let tmp = tmp.keep();
        if std::fs::rename(&tmp, &dir).is_err() {
            // Another process was first: use its set.
            let _ = std::fs::remove_dir_all(&tmp);
            assert!(
                dir.join("complete").exists(),
                "fixture directory {} is incomplete",
                dir.display()
            );
        }
        parties(&dir)
    })
}

/// Deterministic test content of `len` bytes (not all text: every byte value).
pub fn content(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 0x1234_5600;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Names of the files in `dir`, sorted.
pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `openssl cms -decrypt` of `msg` (DER or PEM) with `party`'s key.
pub fn openssl_decrypt(msg: &[u8], pem: bool, party: &Party, with_cert: bool) -> Vec<u8> {
    let mut cmd = openssl();
    cmd.args([
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        if pem { "PEM" } else { "DER" },
    ]);
    cmd.args(["-inkey", party.key()]);
    if with_cert {
        cmd.args(["-recip", party.cert()]);
    }
    run_ok(&mut cmd, msg)
}
