//! Round trip: sign the input's content with the streaming SignedData
//! encoder (attached or detached, one or two signers among the fixed P-256,
//! Ed25519 and RSA test keys, with or without signed attributes, signing
//! time, subject-key-identifier names, an extra certificate, unsigned
//! attributes), then verify with the streaming decoder fed in other chunks:
//! the content must come back unchanged (attached) or verify against the
//! pre-hashed content (detached), every signer valid, the certificates and
//! signing time reported as sent.
#![no_main]

#[path = "common/mod.rs"]
mod common;
#[path = "common/signers.rs"]
mod signers;

use common::{Cursor, chunked, keys};
use libfuzzer_sys::fuzz_target;
use signers::AnySigner;
use smime_core::cms::sign::{DEFAULT_SCRATCH_LEN, SignOptions, SignedDataEncoder, SignerIdKind};
use smime_core::cms::signed::{ContentDigests, SignedDataDecoder, SignerStatus, VerifyOptions};
use smime_core::x509::{CertificateRef, Time};

fuzz_target!(|data: &[u8]| {
    let mut input = Cursor::new(data);
    let a = input.u8();
    let b = input.u8();
    let c = input.u8();
    let enc_sizes = [input.u8(), input.u8()];
    let dec_sizes = [input.u8(), input.u8(), input.u8()];
    let content = input.rest();

    let detached = a & 1 != 0;
    let signed_attributes = a & 2 != 0 || a & 4 != 0;
    let mut signers = vec![AnySigner::pick(b)];
    if a & 8 != 0 {
        signers.push(AnySigner::pick(c));
    }
    // Ed25519 needs signed attributes.
    let signed_attributes = signed_attributes
        || signers.iter().any(|s| matches!(s, AnySigner::Ed(_)));
    let extra = [CertificateRef::from_der(keys::RSA_CERT).unwrap()];
    let time = Time::from_unix(1_700_000_000 + i64::from(c) * 86_400);
    // unsignedAttrs: one attribute { 1.2.3.4, SET { OCTET STRING } }.
    let unsigned: &[u8] = &[0x30, 0x0A, 0x06, 0x03, 0x2A, 0x03, 0x04, 0x31, 0x03, 0x04, 0x01, 0x55];
    let options = SignOptions {
        detached,
        signing_time: (a & 0x10 != 0).then_some(time),
        certificates: if a & 0x20 != 0 { &extra } else { &[] },
        signer_id: if a & 0x40 != 0 { SignerIdKind::SubjectKeyId } else { SignerIdKind::IssuerAndSerial },
        signed_attributes,
        smime_capabilities: a & 4 != 0,
        unsigned_attributes: if a & 0x80 != 0 { unsigned } else { &[] },
        ..Default::default()
    };
    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
    let mut enc = SignedDataEncoder::new(Vec::new(), &mut signers, &mut scratch, &options)
        .unwrap_or_else(|e| panic!("encoder refused {options:?}: {e:?}"));
    for piece in chunked(content, &enc_sizes) {
        enc.write(piece).expect("encode");
    }
    let der = enc.finish().expect("finish");

    let mut vscratch = vec![0u8; 64 * 1024];
    let mut digests;
    let mut dec = if detached {
        digests = ContentDigests::all();
        for piece in chunked(content, &dec_sizes) {
            digests.update(piece).unwrap();
        }
        digests.finish();
        SignedDataDecoder::<Vec<u8>>::detached(
            Vec::new(),
            &mut vscratch,
            VerifyOptions::default(),
            &digests,
        )
    } else {
        SignedDataDecoder::<Vec<u8>>::new(Vec::new(), &mut vscratch, VerifyOptions::default())
    };
    for piece in chunked(&der, &dec_sizes) {
        dec.write(piece).unwrap_or_else(|e| panic!("decode: {e:?}"));
    }
    let (out, report) = dec.finish().unwrap_or_else(|e| panic!("decode: {e:?}"));
    if detached {
        assert!(out.is_empty());
    } else {
        assert!(out == content, "round trip changed the content");
    }
    assert_eq!(report.detached, detached);
    assert_eq!(report.signers().len(), signers.len());
    // SignerInfos are a SET OF: DER order, not the signers' order.
    for r in report.signers() {
        use smime_core::backend::Signer;
        assert_eq!(r.status, SignerStatus::Valid, "{r:?}");
        assert!(
            signers.iter().any(|s| Some(s.algorithm()) == r.signature
                && r.signer_cert.map(|c| c.der()) == s.certificate()),
            "{r:?} is none of the signers"
        );
        if signed_attributes {
            assert_eq!(r.signing_time, options.signing_time);
        }
        assert_eq!(r.unsigned_attributes.is_some(), a & 0x80 != 0);
    }
    assert!(report.all_valid());
    assert_eq!(report.skipped_certificates, 0);
    let mut sent: Vec<&[u8]> = signers.iter().filter_map(|s| {
        use smime_core::backend::Signer;
        s.certificate()
    }).collect();
    if a & 0x20 != 0 {
        sent.push(keys::RSA_CERT);
    }
    sent.sort();
    sent.dedup();
    let got: Vec<&[u8]> = report.certificates().map(|c| c.der()).collect();
    assert_eq!(got, sent, "certificates");
});
