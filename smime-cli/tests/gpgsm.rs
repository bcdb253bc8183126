//! Interoperability with GnuPG's `gpgsm` for signatures, both ways:
//! `gpgsm --sign` / `--detach-sign` verified by `smime verify`, and
//! `smime sign` (attached and `--detached`) verified by `gpgsm --verify`.
//! A tampered content must fail both ways.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod gpgsm_home;
mod pki;

use std::path::Path;
use std::process::Output;

use common::*;
use gpgsm_home::Gpgsm;
use pki::pki;


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
