//! Certs-only SignedData (`.p7b`): written by the core, read back by the
//! core's verifier and by OpenSSL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use smime_core::cms::sign::write_certs_only;
use smime_core::cms::signed::{DEFAULT_SCRATCH_LEN, SignedDataDecoder, VerifyOptions};
use smime_core::x509::CertificateRef;

#[test]
fn certs_only_round_trip_and_openssl_reads_it() {
    let alice = common::alice_cert();
    let bob = common::bob_cert();
    let a = CertificateRef::from_der(&alice).unwrap();
    let b = CertificateRef::from_der(&bob).unwrap();
    // Duplicates are written once.
    let p7b = write_certs_only(Vec::new(), &[b, a, b]).unwrap();

    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
    let mut dec = SignedDataDecoder::<_>::new(Vec::new(), &mut scratch, VerifyOptions::default());
    for part in p7b.chunks(7) {
        dec.write(part).unwrap();
    }
    let (content, report) = dec.finish().unwrap();
    assert!(content.is_empty());
    assert!(report.signers().is_empty());
    let mut got: Vec<Vec<u8>> = report.certificates().map(|c| c.der().to_vec()).collect();
    let mut want = vec![alice.clone(), bob.clone()];
    want.sort();
    assert_eq!(got, want, "sorted as a DER SET OF, each once");
    got.dedup();
    assert_eq!(got.len(), 2);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("certs.p7b");
    std::fs::write(&path, &p7b).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["pkcs7", "-inform", "DER", "-print_certs", "-noout", "-in"])
        .arg(&path)
        .output()
        .expect("openssl must be installed (scripts/test installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("subject=").count(), 2, "{text}");
    // Strict DER: OpenSSL re-encodes it byte for byte.
    let re = std::process::Command::new("openssl")
        .args(["pkcs7", "-inform", "DER", "-outform", "DER", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(re.stdout, p7b);
}
