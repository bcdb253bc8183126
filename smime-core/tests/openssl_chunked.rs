//! Messages made by `openssl cms -encrypt` decrypt with the core to the same
//! bytes under every chunking (whole, 1 byte, 7 bytes, random sizes): with
//! and without `-stream`, each cipher, PKCS#1 v1.5 and OAEP, one and three
//! recipients, `-keyid`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::decrypt_all_chunkings;
use smime_core::backend::KeyTransDecrypter;
use smime_core::cipher::ContentCipher;
use smime_core::soft::SoftRsaKey;

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (scripts/test installs it)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn make_recipient(dir: &Path, name: &str) -> SoftRsaKey {
    openssl(
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", &format!("/CN={name}"),
            "-addext", "keyUsage=keyEncipherment",
            "-addext", "subjectKeyIdentifier=hash",
            "-keyout", &format!("{name}.key"), "-out", &format!("{name}.pem"),
        ],
        dir,
    );
    openssl(&["x509", "-in", &format!("{name}.pem"), "-outform", "DER", "-out", &format!("{name}.der")], dir);
    let key = std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap();
    let cert = std::fs::read(dir.join(format!("{name}.der"))).unwrap();
    SoftRsaKey::from_pem(&key).unwrap().with_certificate(&cert).unwrap()
}

#[test]
fn openssl_messages_decrypt_identically_under_every_chunking() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut keys: Vec<SoftRsaKey> = ["r1", "r2", "r3"].iter().map(|n| make_recipient(d, n)).collect();
    let msg: Vec<u8> = (0..3000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(d.join("msg"), &msg).unwrap();

    let ciphers = [
        ("-aes128", ContentCipher::Aes128Cbc),
        ("-aes192", ContentCipher::Aes192Cbc),
        ("-aes256", ContentCipher::Aes256Cbc),
        ("-des3", ContentCipher::DesEde3Cbc),
    ];
    let transports: [&[&str]; 3] = [
        &[],
        &["-keyopt", "rsa_padding_mode:oaep"],
        &["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"],
    ];
    let mut n = 0;
    for (flag, cipher) in ciphers {
        for stream in [false, true] {
            for (ti, transport) in transports.iter().enumerate() {
                for keyid in [false, true] {
                    for three in [false, true] {
                        let mut args = vec!["cms", "-encrypt", "-binary", "-outform", "DER", flag, "-in", "msg", "-out", "ct.der"];
                        if stream {
                            args.push("-stream");
                        }
                        if keyid {
                            args.push("-keyid");
                        }
                        let recips: &[&str] = if three { &["r1.pem", "r2.pem", "r3.pem"] } else { &["r2.pem"] };
                        for r in recips {
                            args.push("-recip");
                            args.push(r);
                            args.extend_from_slice(transport);
                        }
                        openssl(&args, d);
                        let ct = std::fs::read(d.join("ct.der")).unwrap();
                        if stream {
                            assert_eq!(&ct[..2], &[0x30, 0x80], "-stream writes indefinite lengths");
                        }
                        // Only r2's key: the decoder must find its recipient info.
                        let (pt, report) = decrypt_all_chunkings(&ct, &mut keys[1..2]).unwrap_or_else(|e| {
                            panic!("{flag} stream={stream} transport={ti} keyid={keyid} three={three}: {e}")
                        });
                        assert_eq!(pt, msg);
                        assert_eq!(report.cipher, cipher);
                        assert_eq!(report.recipient_count, if three { 3 } else { 1 });
                        assert_eq!(report.version, if keyid { 2 } else { 0 });
                        n += 1;
                    }
                }
            }
        }
    }
    assert_eq!(n, 4 * 2 * 3 * 2 * 2);
    // All three keys offered (a key history): the key of the recipient info
    // that comes first in the message wins. OpenSSL writes RecipientInfos as
    // a DER SET OF, sorted by encoding (here: by subject key identifier), not
    // in command-line order, so find which one that is.
    let ct = std::fs::read(d.join("ct.der")).unwrap();
    let (pt, report) = decrypt_all_chunkings(&ct, &mut keys).unwrap();
    assert_eq!(pt, msg);
    let first = (0..keys.len())
        .min_by_key(|&i| {
            let id = keys[i].recipient_id().unwrap();
            let ski = id.subject_key_id.unwrap();
            ct.windows(ski.len()).position(|w| w == ski).unwrap()
        })
        .unwrap();
    assert_eq!(report.key_index, first);
}
