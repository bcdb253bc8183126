//! The S/MIME message layer, end to end in the core: multipart/signed and
//! pkcs7-mime written and read back under every chunking, sign-then-encrypt,
//! messages from other clients, and malformed mail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ALL_CHUNKINGS, Chunking, pieces};
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, Recipient,
};
use smime_core::cms::{SignOptions, SignedDataReport, SignerStatus, VerifyOptions};
use smime_core::mime::base64::Base64Encoder;
use smime_core::mime::{
    BodyDecoder, BodyEncoder, Boundary, EntityKind, MessageSplitter, MultipartSignedInfo,
    MultipartSignedReader, MultipartSignedWriter, SmimeType, write_pkcs7_mime_header,
};
use smime_core::x509::CertificateRef;
use smime_core::{Error, ErrorKind, MimeError};

const MAIL: &[u8] = b"From: Alice <alice@smime.example>\r\n\
To: Bob <bob@smime.example>\r\n\
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\
Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <1@smime.example>\r\n\
Content-Type: text/plain;\r\n charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln,\n\
with bare LF line ends.\n\
--\n\
Alice\n";

/// Splits a message: outer fields, the entity info and the body.
fn split(msg: &[u8]) -> (Vec<u8>, MessageSplitter<'static>, Vec<u8>) {
    let field = Box::leak(vec![0u8; 4096].into_boxed_slice());
    let content = Box::leak(vec![0u8; 4096].into_boxed_slice());
    let mut s = MessageSplitter::new(field, content);
    let mut outer = Vec::new();
    let (n, done) = s.push(msg, &mut outer).unwrap();
    if !done {
        s.finish(&mut outer).unwrap();
    }
    (outer, s, msg[n..].to_vec())
}

/// Signs `MAIL` as multipart/signed with Alice's key; returns the message.
fn sign_mail(mail: &[u8]) -> Vec<u8> {
    let (mut out, splitter, body) = split(mail);
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    let mut signers = [common::alice_key()];
    let mut scratch = vec![0u8; 16 * 1024];
    let boundary = Boundary::random(&mut getrandom::SysRng).unwrap();
    let mut w = MultipartSignedWriter::new(
        out,
        &mut signers,
        &mut scratch,
        &SignOptions::default(),
        boundary,
    )
    .unwrap();
    let info = splitter.info();
    splitter.write_entity_header(&mut w, info.needs_base64_for_signing()).unwrap();
    let mut enc = BodyEncoder::for_signing(&info, &mut w);
    enc.write(&body).unwrap();
    enc.finish().unwrap();
    w.finish().unwrap()
}

struct Verified {
    outer: Vec<u8>,
    inner: Vec<u8>,
    valid: bool,
    statuses: Vec<SignerStatus>,
    info: MultipartSignedInfo,
    from: Option<Vec<u8>>,
}

/// Reads a multipart/signed message fed as `c` says.
fn verify(msg: &[u8], c: Chunking) -> Result<Verified, Error> {
    let mut field = vec![0u8; 4096];
    let mut content = vec![0u8; 4096];
    let mut sig_field = vec![0u8; 4096];
    let mut scratch = vec![0u8; 64 * 1024];
    let mut s = MessageSplitter::new(&mut field, &mut content);
    let mut outer = Vec::new();
    let mut reader: Option<MultipartSignedReader<'_, Vec<u8>>> = None;
    let mut sig_field = Some(&mut sig_field[..]);
    let mut scratch = Some(&mut scratch[..]);
    for p in pieces(msg, c) {
        let mut p = p;
        if reader.is_none() {
            let (n, done) = s.push(p, &mut outer)?;
            p = &p[n..];
            if !done {
                continue;
            }
            assert_eq!(s.info().kind, EntityKind::MultipartSigned);
            reader = Some(MultipartSignedReader::new(
                Vec::new(),
                s.boundary().unwrap(),
                s.info().micalg,
                sig_field.take().unwrap(),
                scratch.take().unwrap(),
                VerifyOptions::default(),
            )?);
        }
        reader.as_mut().unwrap().write(p)?;
    }
    let Some(reader) = reader else { return Err(Error::new(ErrorKind::Truncated)) };
    let (inner, report, info) = reader.finish()?;
    Ok(Verified {
        outer,
        inner,
        valid: report.all_valid(),
        statuses: report.signers().iter().map(|r| r.status).collect(),
        info,
        from: s.from_address().map(<[u8]>::to_vec),
    })
}

fn verify_all_chunkings(msg: &[u8]) -> Result<Verified, Error> {
    let first = verify(msg, Chunking::Whole);
    for c in ALL_CHUNKINGS.into_iter().chain([Chunking::Bytes(2), Chunking::Bytes(76)]) {
        let r = verify(msg, c);
        match (&first, &r) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.inner, b.inner, "{c:?}");
                assert_eq!(a.statuses, b.statuses, "{c:?}");
                assert_eq!(a.outer, b.outer, "{c:?}");
            }
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{c:?}"),
            _ => panic!("chunking {c:?} changed the outcome: {r:?}", r = r.as_ref().err()),
        }
    }
    first
}

#[test]
fn multipart_signed_round_trip_under_every_chunking() {
    let signed = sign_mail(MAIL);
    let text = String::from_utf8_lossy(&signed);
    assert!(text.contains("micalg=sha-256"), "{text}");
    assert!(text.contains("protocol=\"application/pkcs7-signature\""), "{text}");
    // Outer fields first, then MIME; the 8-bit body was base64-encoded.
    assert!(text.starts_with("From: Alice"), "{text}");
    assert!(text.contains("Content-Transfer-Encoding: base64\r\n\r\nR3L"), "{text}");
    assert!(!text.contains("Content-Transfer-Encoding: 8bit"), "{text}");
    assert!(signed.iter().all(|b| *b < 0x80), "the message is 7-bit clean");
    let v = verify_all_chunkings(&signed).unwrap();
    assert!(v.valid, "{:?}", v.statuses);
    assert!(!v.info.canonicalised);
    assert_eq!(v.from.as_deref(), Some(&b"alice@smime.example"[..]));
    assert!(v.outer.starts_with(b"From: Alice <alice@smime.example>\r\nTo: Bob"));
    assert!(v.inner.starts_with(b"Content-Type: text/plain;\r\n charset=utf-8\r\n"));
}

#[test]
fn signature_survives_transport_to_lf_line_ends() {
    let signed = sign_mail(MAIL);
    // Stored on a Unix mail spool: every CRLF becomes LF.
    let lf: Vec<u8> = String::from_utf8(signed).unwrap().replace("\r\n", "\n").into_bytes();
    let v = verify_all_chunkings(&lf).unwrap();
    assert!(v.valid, "{:?}", v.statuses);
    assert!(v.info.canonicalised);
}

#[test]
fn changed_content_does_not_verify() {
    let signed = sign_mail(MAIL);
    let text = String::from_utf8(signed).unwrap();
    // Change one character of the signed part's base64 body.
    let at = text.find("\r\n\r\nR3L").unwrap() + 4;
    let mut bytes = text.into_bytes();
    bytes[at] = b'S';
    let v = verify(&bytes, Chunking::Whole).unwrap();
    assert!(!v.valid);
    assert_eq!(v.statuses, [SignerStatus::DigestMismatch]);
}

fn mime_error(r: Result<Verified, Error>) -> MimeError {
    match r.map(|_| ()).unwrap_err().kind() {
        ErrorKind::Mime(m) => m,
        k => panic!("not a MIME error: {k:?}"),
    }
}

#[test]
fn malformed_multipart_signed_is_refused() {
    let signed = String::from_utf8(sign_mail(MAIL)).unwrap();
    let boundary = {
        let at = signed.find("boundary=\"").unwrap() + 10;
        signed[at..at + signed[at..].find('"').unwrap()].to_owned()
    };
    let close = format!("\r\n--{boundary}--");
    let delim = format!("\r\n--{boundary}\r\n");

    // No closing delimiter.
    let cut = signed.replace(&close, "");
    assert_eq!(mime_error(verify_all_chunkings(cut.as_bytes())), MimeError::MissingCloseDelimiter);

    // The body truncated inside the signature's base64.
    let sig_at = signed.rfind(&delim).unwrap() + delim.len();
    let truncated = &signed[..sig_at + 300];
    assert!(verify_all_chunkings(truncated.as_bytes()).is_err());

    // A third part (garbage after the signature).
    let third = signed.replace(&close, &format!("{delim}Content-Type: text/plain\r\n\r\nx{close}"));
    assert_eq!(
        mime_error(verify_all_chunkings(third.as_bytes())),
        MimeError::MalformedMultipartSigned
    );

    // A duplicated delimiter: an empty second part instead of the signature.
    let dup = signed.replacen(&delim, &format!("{delim}x{delim}"), 1);
    assert!(verify_all_chunkings(dup.as_bytes()).is_err());

    // Garbage on a delimiter line.
    let garbage = signed.replacen(&delim, &format!("\r\n--{boundary} junk\r\n"), 1);
    assert_eq!(mime_error(verify_all_chunkings(garbage.as_bytes())), MimeError::MalformedDelimiter);

    // A boundary that never appears.
    let other = signed.replace(&format!("boundary=\"{boundary}\""), "boundary=\"nowhere\"");
    assert_eq!(mime_error(verify_all_chunkings(other.as_bytes())), MimeError::MissingBoundary);

    // Invalid base64 in the signature part.
    let bad = signed.replacen("MII", "M*I", 1);
    assert_eq!(mime_error(verify_all_chunkings(bad.as_bytes())), MimeError::InvalidBase64);

    // The signature part is not a CMS signature.
    let wrong = signed.replace("application/pkcs7-signature; name", "text/plain; name");
    assert_eq!(
        mime_error(verify_all_chunkings(wrong.as_bytes())),
        MimeError::MalformedMultipartSigned
    );
}

#[test]
fn header_errors_are_mime_errors() {
    // An oversized header line.
    let mut long = b"Subject: ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 10_000));
    long.extend_from_slice(b"\r\n\r\nbody");
    let mut field = vec![0u8; 4096];
    let mut content = vec![0u8; 4096];
    let mut s = MessageSplitter::new(&mut field, &mut content);
    let e = s.push(&long, &mut Vec::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mime(MimeError::HeaderTooLong));

    // An unknown smime-type.
    let mut s = MessageSplitter::new(&mut field, &mut content);
    let e = s
        .push(
            b"Content-Type: application/pkcs7-mime; smime-type=frobnicated-data\r\n\r\n",
            &mut Vec::new(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mime(MimeError::UnknownSmimeType));

    // Two boundary parameters.
    let mut s = MessageSplitter::new(&mut field, &mut content);
    let e = s
        .push(b"Content-Type: multipart/signed; boundary=a; boundary=b\r\n\r\n", &mut Vec::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mime(MimeError::DuplicateParameter));
}

/// Sign, then encrypt to Bob, in one pass; then decrypt and verify.
#[test]
fn sign_then_encrypt_round_trip() {
    let (mut out, splitter, body) = split(MAIL);
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    write_pkcs7_mime_header(&mut out, SmimeType::EnvelopedData).unwrap();
    let bob = common::bob_cert();
    let recipients = [Recipient::new(CertificateRef::from_der(&bob).unwrap())];
    let mut env = EnvelopedDataEncoder::<_>::new(
        Base64Encoder::new(out),
        &recipients,
        &EncryptOptions::default(),
        &mut getrandom::SysRng,
    )
    .unwrap();
    let mut signers = [common::alice_key()];
    let mut scratch = vec![0u8; 16 * 1024];
    let boundary = Boundary::random(&mut getrandom::SysRng).unwrap();
    let mut w = MultipartSignedWriter::new(
        &mut env,
        &mut signers,
        &mut scratch,
        &SignOptions::default(),
        boundary,
    )
    .unwrap();
    let info = splitter.info();
    splitter.write_entity_header(&mut w, info.needs_base64_for_signing()).unwrap();
    let mut enc = BodyEncoder::for_signing(&info, &mut w);
    enc.write(&body).unwrap();
    enc.finish().unwrap();
    w.finish().unwrap();
    let msg = env.finish().unwrap().finish().unwrap();
    let text = String::from_utf8_lossy(&msg);
    assert!(text.contains("smime-type=enveloped-data"), "{text}");
    assert!(!text.contains("multipart/signed"), "the signature is inside the encryption");

    for c in ALL_CHUNKINGS {
        // Outer level: pkcs7-mime enveloped-data.
        let (outer, s, body) = split(&msg);
        assert_eq!(s.info().kind, EntityKind::Pkcs7Mime(Some(SmimeType::EnvelopedData)));
        assert!(outer.starts_with(b"From: Alice"));
        let mut keys = [common::bob_key()];
        let mut scratch = [0u8; DEFAULT_SCRATCH_LEN];
        let dec = EnvelopedDataDecoder::<_, _, Vec<u8>>::new(
            Vec::new(),
            &mut keys,
            getrandom::SysRng,
            &mut scratch,
            DecryptOptions::default(),
        );
        let mut b = BodyDecoder::new(s.info().transfer_encoding, dec).unwrap();
        for p in pieces(&body, c) {
            b.write(p).unwrap();
        }
        let (inner, _) = b.finish().unwrap().finish().unwrap();
        // Inner level: the multipart/signed entity.
        let v = verify_all_chunkings(&inner).unwrap();
        assert!(v.valid, "{:?}", v.statuses);
        assert!(v.outer.is_empty(), "an inner entity has only Content-* fields");
    }
}

fn verify_file(rel: &str) -> Verified {
    let msg = common::read(rel);
    verify_all_chunkings(&msg).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Clear-signed mail from other clients: the signed part is hashed as it
/// stands (quoted-printable soft breaks, Outlook and Thunderbird layouts,
/// OpenSSL's x-pkcs7-signature, RSA-PSS).
#[test]
fn multipart_signed_mail_from_other_clients_verifies() {
    let bc = "bc-java/mail/src/test/resources/org/bouncycastle/mail/smime/test/";
    for (file, from) in [
        (format!("{bc}validator.validMail.eml"), "arminha@student.ethz.ch"),
        (format!("{bc}qp-soft-break.eml"), "martijn@izecom.com"),
        (format!("{bc}3nnn_smime.eml"), "bruce_hoff@hotmail.com"),
        (format!("{bc}openssl-signed-sha256-non-default-salt-length.eml"), "test@example.com"),
        (
            "autocrypt-protected-headers/smime-multipart-signed.eml".to_owned(),
            "alice@smime.example",
        ),
    ] {
        let v = verify_file(&file);
        assert!(v.valid, "{file}: {:?}", v.statuses);
        assert_eq!(v.from.as_deref(), Some(from.as_bytes()), "{file}");
    }
}

#[test]
fn one_part_signed_mail_from_gnutls_verifies() {
    let msg = common::read("autocrypt-protected-headers/smime-onepart-signed.eml");
    let (_, s, body) = split(&msg);
    let EntityKind::Pkcs7Mime(t) = s.info().kind else { panic!("{:?}", s.info().kind) };
    assert_eq!(t, Some(SmimeType::SignedData));
    for c in ALL_CHUNKINGS {
        let mut scratch = vec![0u8; 64 * 1024];
        let dec = smime_core::cms::SignedDataDecoder::<_>::new(
            Vec::new(),
            &mut scratch,
            VerifyOptions::default(),
        );
        let mut b = BodyDecoder::new(s.info().transfer_encoding, dec).unwrap();
        for p in pieces(&body, c) {
            b.write(p).unwrap();
        }
        let (inner, report): (Vec<u8>, SignedDataReport<'_>) =
            b.finish().unwrap().finish().unwrap();
        assert!(report.all_valid());
        assert!(inner.windows(13).any(|w| w == b"Content-Type:"));
    }
}

#[test]
fn sniffing_names_the_cms_content_type() {
    let rfc = "bc-csharp/crypto/test/data/rfc4134/";
    assert_eq!(
        smime_core::mime::sniff(&common::read(&format!("{rfc}5.1.bin"))),
        Some(SmimeType::EnvelopedData)
    );
    assert_eq!(
        smime_core::mime::sniff(&common::read(&format!("{rfc}4.2.bin"))),
        Some(SmimeType::SignedData)
    );
    assert_eq!(smime_core::mime::sniff(b"Content-Type: text/plain"), None);
    assert_eq!(smime_core::mime::sniff(&[0x30, 0x80]), None);
}

#[test]
fn a_wrong_micalg_does_not_hide_a_sha256_signature() {
    let signed = String::from_utf8(sign_mail(MAIL)).unwrap();
    assert!(signed.contains("micalg=sha-256"));
    let wrong = signed.replace("micalg=sha-256", "micalg=sha1");
    let v = verify_all_chunkings(wrong.as_bytes()).unwrap();
    assert!(v.valid, "{:?}", v.statuses);
}
