//! A small PKI made by OpenSSL for the signing tests: a CA, leaves it
//! issued (RSA, EC P-256, short-lived), and an unrelated CA. Made once per
//! test process in a temporary directory.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Serial numbers of the issued certificates (distinct within the PKI).
static SERIAL: AtomicU32 = AtomicU32::new(1000);

use crate::common::{Party, openssl, run_ok};

#[derive(Debug)]
pub struct Pki {
    pub dir: PathBuf,
    pub ca: Party,
    /// An intermediate CA issued by `ca`.
    pub sub: Party,
    /// RSA-2048 leaf issued by `ca`: alice@example.com.
    pub alice: Party,
    /// Second RSA leaf issued by `ca`.
    pub bob: Party,
    /// EC P-256 leaf issued by `ca`.
    pub ec: Party,
    /// Ed25519 leaf issued by `ca`.
    pub ed: Party,
    /// RSA leaf issued by `sub` (needs the intermediate).
    pub carol: Party,
    /// RSA leaf valid for 2 days only.
    pub short: Party,
    /// A CA nobody trusts, and a leaf it issued.
    pub other_ca: Party,
    pub mallory: Party,
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn self_signed(dir: &Path, name: &str, cn: &str) -> Party {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.pem"));
    run_ok(
        openssl()
            .args([
                "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "3650",
            ])
            .args([
                "-keyout",
                s(&key),
                "-out",
                s(&cert),
                "-subj",
                &format!("/CN={cn}"),
            ])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
        b"",
    );
    Party { key, cert }
}

fn issue(
    dir: &Path,
    name: &str,
    subj: &str,
    newkey: &[&str],
    issuer: &Party,
    days: &str,
    ext: &str,
) -> Party {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.pem"));
    let csr = dir.join(format!("{name}.csr"));
    let extfile = dir.join(format!("{name}.ext"));
    std::fs::write(&extfile, ext).unwrap();
    run_ok(
        openssl()
            .args(["req", "-new", "-nodes", "-newkey"])
            .args(newkey)
            .args(["-keyout", s(&key), "-out", s(&csr), "-subj", subj]),
        b"",
    );
    run_ok(
        openssl()
            .args([
                "x509",
                "-req",
                "-in",
                s(&csr),
                "-CA",
                issuer.cert(),
                "-CAkey",
                issuer.key(),
            ])
            .args([
                "-set_serial",
                &SERIAL.fetch_add(1, Ordering::Relaxed).to_string(),
            ])
            .args(["-days", days, "-out", s(&cert), "-extfile", s(&extfile)]),
        b"",
    );
    Party { key, cert }
}

const LEAF_EXT: &str = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

pub fn pki() -> &'static Pki {
    static P: OnceLock<Pki> = OnceLock::new();
    P.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("pki-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        let d = dir.as_path();
        let rsa = ["rsa:2048"];
        let ca = self_signed(d, "ca", "Test Root CA");
        let sub = issue(
            d,
            "sub",
            "/CN=Test Sub CA",
            &rsa,
            &ca,
            "3650",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
        );
        let mail = |m: &str| format!("{LEAF_EXT}subjectAltName=email:{m}\n");
        let alice = issue(d, "alice", "/CN=Alice Example/O=smime test", &rsa, &ca, "3650", &mail("alice@example.com"));
        let bob = issue(d, "bob", "/CN=Bob Example/O=smime test", &rsa, &ca, "3650", &mail("bob@example.com"));
        let ec = issue(
            d,
            "ec",
            "/CN=Eve Curve",
            &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            &ca,
            "3650",
            &mail("eve@example.com"),
        );
        let ed = issue(
            d,
            "ed",
            "/CN=Ed Wards",
            &["ed25519"],
            &ca,
            "3650",
            &mail("ed@example.com"),
        );
        let carol = issue(d, "carol", "/CN=Carol Sub", &rsa, &sub, "3650", &mail("carol@example.com"));
        let short = issue(d, "short", "/CN=Short Lived", &rsa, &ca, "2", &mail("short@example.com"));
        let other_ca = self_signed(d, "other-ca", "Unknown Root");
        let mallory = issue(d, "mallory", "/CN=Mallory", &rsa, &other_ca, "3650", &mail("mallory@example.com"));
        Pki { dir, ca, sub, alice, bob, ec, ed, carol, short, other_ca, mallory }
    })
}
