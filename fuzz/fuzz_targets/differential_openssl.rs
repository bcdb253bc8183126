//! Differential: mutated SignedData and EnvelopedData (seeds: valid messages
//! from OpenSSL and from us, fuzz/seeds/differential_openssl) are decoded
//! by smime-core and by OpenSSL's CMS (the `openssl` crate on the system
//! libssl), and the outcomes compared: accept/reject, and the content.
//!
//! The first input byte picks the check; the rest is the message:
//! - even: SignedData verification. Ours accepts when the decoder ends with
//!   every signer valid; OpenSSL when `CMS_verify` succeeds with
//!   `CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY` (no chain building: we do
//!   not build chains in the decoder either).
//! - odd: EnvelopedData / AuthEnvelopedData decryption with the fixed RSA
//!   test key. Ours accepts when the decoder ends; OpenSSL when
//!   `CMS_decrypt` with key and certificate succeeds.
//!
//! Every disagreement is written to stderr, one line each
//! (`DIFF <class>: ...`). Explained classes (see below and
//! /tmp/readme-fuzz.md, "Differential") are counted and let pass;
//! anything else panics so libFuzzer keeps the input.
//!
//! Explained classes (found in the first runs; each checked on samples,
//! see /tmp/readme-fuzz.md "Differential"):
//! - `trailing-data`: OpenSSL's d2i reads the first ContentInfo and ignores
//!   whatever follows it; we refuse bytes after the message (TrailingData,
//!   or the error the extra bytes cause).
//! - `content-type-attribute`: the eContentType was changed (or its OID
//!   broken) while the signed contentType attribute still says id-data.
//!   RFC 5652 §11.1 requires them to match and we check it
//!   (ContentTypeMismatch / MissingAttribute); OpenSSL 3.0's CMS_verify does
//!   not, and accepts.
//! - `signer-cert-strictness`: we report SignerCertificateNotFound where
//!   OpenSSL finds the certificate: (a) the certificate was mutated in a
//!   part OpenSSL does not check with NO_SIGNER_CERT_VERIFY (e.g. the
//!   signature BIT STRING's unused-bits octet) and our strict certificate
//!   parser drops it (`skipped_certificates`); (b) the signer's issuer
//!   name differs from the certificate's in letter case or spaces:
//!   OpenSSL's X509_NAME_cmp compares canonical (case-folded) encodings, we
//!   compare the DER.
//! - `name-canonicalisation`: (b) for EnvelopedData: NoMatchingRecipient
//!   where OpenSSL matches the recipient's issuer case-insensitively.
//! - `algorithm-coverage`: UnsupportedAlgorithm where OpenSSL goes on:
//!   OpenSSL ignores the key-transport algorithm OID and the SignerInfo's
//!   signatureAlgorithm OID and uses the key's own type (a garbage OID such
//!   as 1.2.840.61.9986.4.3 in place of ecdsa-with-SHA256 still verifies,
//!   a garbage key-transport OID still decrypts), and supports every EVP
//!   cipher/digest; we refuse what we do not know.
//! - `mma-random-key`: the encrypted key was mutated; both sides hide the
//!   RSA padding failure (RFC 3218) by going on with a random key, and
//!   OpenSSL then "accepts" when the garbage plaintext happens to end in
//!   valid CBC padding (about 1 in 256), returning garbage; we report
//!   DecryptionFailed.
//! - `structural-strictness`: we refuse malformed structure OpenSSL
//!   ignores: wrong version numbers (e.g. a KeyTransRecipientInfo version
//!   0x31), unexpected tags, non-DER where DER is required
//!   (InvalidValue, UnexpectedTag, InvalidEncoding, InvalidCertificate).
//! - `openssl-strict-d2i`: OpenSSL's d2i refuses the whole message because
//!   a certificate in it has an invalid string (e.g. bad UTF8String) in a
//!   name; we parse names lazily and do not need that field.
//! Anything else (OpenSSL rejects a message we accept for another reason;
//! both accept with different content; an error kind not listed) panics.
#![no_main]

#[path = "common/mod.rs"]
mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use common::keys;
use libfuzzer_sys::fuzz_target;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use openssl::x509::store::X509StoreBuilder;
use smime_core::cms::enveloped::{DEFAULT_SCRATCH_LEN, DecryptOptions, EnvelopedDataDecoder};
use smime_core::cms::signed::{SignedDataDecoder, VerifyOptions};

struct Ossl {
    key: PKey<Private>,
    cert: X509,
}
// OpenSSL objects are thread-safe to share for these read-only uses.
unsafe impl Sync for Ossl {}
unsafe impl Send for Ossl {}

fn ossl() -> &'static Ossl {
    static O: OnceLock<Ossl> = OnceLock::new();
    O.get_or_init(|| Ossl {
        key: PKey::private_key_from_der(keys::RSA_P8).unwrap(),
        cert: X509::from_der(keys::RSA_CERT).unwrap(),
    })
}

type Outcome = Result<Vec<u8>, String>;

fn ours_signed(msg: &[u8]) -> Outcome {
    let mut scratch = vec![0u8; 64 * 1024];
    let mut dec =
        SignedDataDecoder::<Vec<u8>>::new(Vec::new(), &mut scratch, VerifyOptions::default());
    dec.write(msg).map_err(|e| format!("{:?}", e.kind()))?;
    let (out, report) = dec.finish().map_err(|e| format!("{:?}", e.kind()))?;
    if !report.all_valid() {
        let s: Vec<_> = report.signers().iter().map(|s| s.status).collect();
        return Err(format!("signers {s:?} unchecked {}", report.unchecked_signers));
    }
    Ok(out)
}

fn openssl_signed(msg: &[u8]) -> Outcome {
    let mut cms = CmsContentInfo::from_der(msg).map_err(|e| format!("d2i: {e}"))?;
    let store = X509StoreBuilder::new().unwrap().build();
    let mut out = Vec::new();
    cms.verify(
        None,
        Some(&store),
        None,
        Some(&mut out),
        CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::BINARY,
    )
    .map_err(|e| format!("verify: {e}"))?;
    Ok(out)
}

fn ours_enveloped(msg: &[u8]) -> Outcome {
    let mut keys_ = [envelope::Key::Rsa];
    let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
    let mut dec = EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
        Vec::new(),
        &mut keys_,
        common::SeededRng::new(3),
        &mut scratch,
        DecryptOptions::default(),
    );
    dec.write(msg).map_err(|e| format!("{:?}", e.kind()))?;
    let (out, _) = dec.finish().map_err(|e| format!("{:?}", e.kind()))?;
    Ok(out)
}

fn openssl_enveloped(msg: &[u8]) -> Outcome {
    let cms = CmsContentInfo::from_der(msg).map_err(|e| format!("d2i: {e}"))?;
    let o = ossl();
    cms.decrypt(&o.key, &o.cert).map_err(|e| format!("decrypt: {e}"))
}

/// The length of the first TLV (definite or indefinite) of `msg`, if it
/// can be told: to spot trailing data.
fn first_tlv_len(msg: &[u8]) -> Option<usize> {
    let mut r = smime_core::ber::SliceReader::new(msg);
    let t = r.next_tlv().ok()??;
    Some(t.raw.len())
}

const CLASSES: [&str; 9] = [
    "trailing-data",
    "content-type-attribute",
    "signer-cert-strictness",
    "name-canonicalisation",
    "algorithm-coverage",
    "mma-random-key",
    "structural-strictness",
    "openssl-strict-d2i",
    "other",
];

/// Which explained class a disagreement falls in, or None.
fn classify(msg: &[u8], ours: &Outcome, theirs: &Outcome) -> Option<usize> {
    match (ours, theirs) {
        (Err(e), Ok(_)) => {
            if e.contains("TrailingData") || first_tlv_len(msg).is_some_and(|n| n < msg.len()) {
                return Some(0);
            }
            if let Some(statuses) = e.strip_prefix("signers [") {
                let st: Vec<&str> = statuses.split(']').next()?.split(", ").collect();
                let known = |s: &&str| {
                    matches!(
                        *s,
                        "Valid"
                            | "ContentTypeMismatch"
                            | "MissingAttribute"
                            | "SignerCertificateNotFound"
                            | "UnsupportedAlgorithm"
                    )
                };
                if !st.iter().all(known) {
                    return None;
                }
                if st.contains(&"SignerCertificateNotFound") {
                    return Some(2);
                }
                if st.contains(&"UnsupportedAlgorithm") {
                    return Some(4);
                }
                if st.iter().any(|s| *s != "Valid") {
                    return Some(1);
                }
                return None;
            }
            let kind = e.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
            match kind {
                "NoMatchingRecipient" => Some(3),
                "UnsupportedAlgorithm" => Some(4),
                "DecryptionFailed" => Some(5),
                "InvalidValue" | "UnexpectedTag" | "InvalidEncoding" | "InvalidCertificate" => Some(6),
                _ => None,
            }
        }
        (Ok(_), Err(t)) if t.starts_with("d2i:") => Some(7),
        _ => None,
    }
}

static COUNTS: [AtomicU64; 9] = [const { AtomicU64::new(0) }; 9];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, msg)) = data.split_first() else { return };
    let (ours, theirs) = if mode & 1 == 0 {
        (ours_signed(msg), openssl_signed(msg))
    } else {
        (ours_enveloped(msg), openssl_enveloped(msg))
    };
    let kind = if mode & 1 == 0 { "signed" } else { "enveloped" };
    let agree = match (&ours, &theirs) {
        (Ok(a), Ok(b)) => a == b,
        (Err(_), Err(_)) => true,
        _ => false,
    };
    if agree {
        return;
    }
    let short = |o: &Outcome| match o {
        Ok(v) => format!("accept ({} bytes)", v.len()),
        Err(e) => format!("reject ({})", e.lines().next().unwrap_or("").chars().take(160).collect::<String>()),
    };
    let class = classify(msg, &ours, &theirs);
    let name = class.map_or("UNEXPLAINED", |c| CLASSES[c]);
    eprintln!("DIFF {name}: {kind} {} bytes: ours {} / openssl {}", msg.len(), short(&ours), short(&theirs));
    if let Some(dir) = std::env::var_os("FUZZ_DIFF_DUMP") {
        let tag: String = short(&ours).chars().chain(short(&theirs).chars()).filter(|c| c.is_ascii_alphanumeric()).take(60).collect();
        let h = data.iter().fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}-{kind}-{tag}-{h:016x}")), data);
    }
    if let Some(c) = class {
        COUNTS[c].fetch_add(1, Ordering::Relaxed);
    }
    if class.is_none() {
        if std::env::var_os("FUZZ_DIFF_LENIENT").is_none() {
            panic!("unexplained disagreement ({kind}): ours {} / openssl {}", short(&ours), short(&theirs));
        }
    }
});
