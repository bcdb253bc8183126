//! RFC 5322 / RFC 8551 mail, both ways with the OpenSSL 3 command line:
//! `openssl smime` and `openssl cms` mail read by `smime verify` and
//! `smime decrypt`, `smime sign` and `smime encrypt` mail read by OpenSSL;
//! text and attachment bodies through transport re-encoding, nested layers,
//! malformed mail, certificate harvesting, streamed input and a quiet
//! standard error when it is not a terminal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod pki;

use std::path::{Path, PathBuf};
use std::process::Output;

use base64ct::{Base64, Encoding};
use common::{Party, content, list_dir, openssl, run, run_ok, smime, smime_fails};
use pki::pki;

// ---------------------------------------------------------------- helpers

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("mail-openssl-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let f = dir.join(name);
    std::fs::write(&f, data).unwrap();
    f
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

/// A mail message from Alice to Bob with `content` (its `Content-*` fields,
/// a blank line and the body), CRLF line ends.
fn mail(from: &str, content: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: Bob <bob@example.com>\r\nSubject: interop test\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <t-1@example.com>\r\n\
         MIME-Version: 1.0\r\n"
    )
    .into_bytes();
    m.extend_from_slice(content);
    m
}

const TEXT_ENTITY: &[u8] =
    b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Bob,\r\nthe second line.\r\n";

/// The outer fields [`mail`] writes, as `smime verify` and `smime decrypt`
/// write them back.
fn outer(from: &str) -> Vec<u8> {
    mail(from, b"")
}

/// `smime sign` of `msg` (a mail file) with `signer`; the signed mail.
fn smime_sign(dir: &Path, msg: &[u8], signer: &Party, extra: &[&str]) -> Vec<u8> {
    let input = write(dir, "to-sign.eml", msg);
    let out = dir.join("signed-by-smime.eml");
    run_ok(
        smime()
            .args(["sign", "--key", signer.key(), "--cert", signer.cert()])
            .args(extra)
            .args(["--in", p(&input), "--out", p(&out)]),
        b"",
    );
    std::fs::read(&out).unwrap()
}

/// `smime verify --trust CA` of `msg`; the whole run.
fn smime_verify(dir: &Path, msg: &[u8], extra: &[&str]) -> (Output, Option<Vec<u8>>) {
    let input = write(dir, "to-verify.eml", msg);
    let out = dir.join("verified.eml");
    let _ = std::fs::remove_file(&out);
    let o = run(
        smime()
            .args(["verify", "--trust", pki().ca.cert()])
            .args(extra)
            .args(["--in", p(&input), "--out", p(&out)]),
        b"",
    );
    let written = std::fs::read(&out).ok();
    (o, written)
}

/// `smime verify`, which must succeed; the message it writes.
fn verify_ok(dir: &Path, msg: &[u8], extra: &[&str]) -> Vec<u8> {
    let (o, written) = smime_verify(dir, msg, extra);
    assert!(o.status.success(), "smime verify failed: {}", stderr(&o));
    assert!(
        stderr(&o).contains("VALID"),
        "no report of a valid signature: {}",
        stderr(&o)
    );
    written.expect("smime verify wrote no output file")
}

/// `smime decrypt` with `party`'s key (and certificate); the message written.
fn smime_decrypt(dir: &Path, msg: &[u8], party: &Party) -> Vec<u8> {
    let input = write(dir, "to-decrypt.eml", msg);
    let out = dir.join("decrypted.eml");
    run_ok(
        smime()
            .args(["decrypt", "--key", party.key(), "--cert", party.cert()])
            .args(["--in", p(&input), "--out", p(&out)]),
        b"",
    );
    std::fs::read(&out).unwrap()
}

/// `smime encrypt -r CERT` of a mail.
fn smime_encrypt(dir: &Path, msg: &[u8], to: &Party) -> Vec<u8> {
    let input = write(dir, "to-encrypt.eml", msg);
    let out = dir.join("encrypted-by-smime.eml");
    run_ok(
        smime()
            .args(["encrypt", "-r", to.cert()])
            .args(["--in", p(&input), "--out", p(&out)]),
        b"",
    );
    std::fs::read(&out).unwrap()
}

/// `openssl <tool> -verify -CAfile CA` of a mail; its output (the signed
/// entity), and its verdict must be success.
fn openssl_verify(tool: &str, msg: &[u8]) -> Vec<u8> {
    let o = run(
        openssl().args([tool, "-verify", "-CAfile", pki().ca.cert()]),
        msg,
    );
    let err = stderr(&o);
    assert!(o.status.success(), "openssl {tool} -verify failed: {err}");
    assert!(
        err.contains("Verification successful"),
        "openssl {tool}: {err}"
    );
    o.stdout
}

/// `openssl smime -decrypt` of a mail with `party`'s key.
fn openssl_decrypt(msg: &[u8], party: &Party) -> Vec<u8> {
    run_ok(
        openssl().args([
            "smime",
            "-decrypt",
            "-inkey",
            party.key(),
            "-recip",
            party.cert(),
        ]),
        msg,
    )
}

/// The `boundary` parameter of the top-level Content-Type.
fn boundary(msg: &[u8]) -> Vec<u8> {
    let at = find(msg, b"boundary=\"").expect("a boundary parameter") + 10;
    let len = msg[at..].iter().position(|&b| b == b'"').unwrap();
    msg[at..at + len].to_vec()
}

/// The first part of a multipart/signed mail with CRLF line ends: what was
/// signed (between the first delimiter line and the CRLF before the next).
fn signed_entity(msg: &[u8]) -> Vec<u8> {
    let b = boundary(msg);
    let mut open = b"\r\n--".to_vec();
    open.extend_from_slice(&b);
    open.extend_from_slice(b"\r\n");
    let start = find(msg, &open).expect("a first delimiter") + open.len();
    let mut next = b"\r\n--".to_vec();
    next.extend_from_slice(&b);
    let len = find(&msg[start..], &next).expect("a second delimiter");
    msg[start..start + len].to_vec()
}

/// The body of a message or entity: after the first blank line (CRLF or LF).
/// (A header block ending "\n\r\n" counts too: see
/// [`lf_only_mail_verify_output_has_consistent_line_ends`].)
fn body(msg: &[u8]) -> &[u8] {
    let ends: [&[u8]; 3] = [b"\r\n\r\n", b"\n\n", b"\n\r\n"];
    let (at, len) = ends
        .iter()
        .filter_map(|e| find(msg, e).map(|i| (i, e.len())))
        .min()
        .expect("a blank line");
    &msg[at + len..]
}

/// Header section of a message (before the first blank line).
fn head(msg: &[u8]) -> &[u8] {
    let n = msg.len() - body(msg).len();
    &msg[..n]
}

fn b64decode(text: &[u8]) -> Vec<u8> {
    let clean: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    Base64::decode_vec(std::str::from_utf8(&clean).unwrap()).unwrap()
}

/// The text of an entity: its body, base64-decoded if its header says so.
fn decoded_text(entity: &[u8]) -> Vec<u8> {
    let h = String::from_utf8_lossy(head(entity)).to_ascii_lowercase();
    if h.contains("content-transfer-encoding: base64") {
        b64decode(body(entity))
    } else {
        body(entity).to_vec()
    }
}

fn crlf_to_lf(data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        v.push(data[i]);
        i += 1;
    }
    v
}

fn lf_to_crlf(data: &[u8]) -> Vec<u8> {
    let lf = crlf_to_lf(data);
    let mut v = Vec::with_capacity(lf.len() * 2);
    for &b in &lf {
        if b == b'\n' {
            v.push(b'\r');
        }
        v.push(b);
    }
    v
}

/// An OpenSSL-made mail: `openssl <args> -from/-to/-subject` on `entity`.
/// `args` are options only; recipient certificates go in `recipients`
/// (OpenSSL stops reading options at the first operand).
fn openssl_mail(args: &[&str], recipients: &[&str], entity: &[u8]) -> Vec<u8> {
    run_ok(
        openssl()
            .args(args)
            .args([
                "-from",
                "alice@example.com",
                "-to",
                "bob@example.com",
                "-subject",
                "Hi",
            ])
            .args(recipients),
        entity,
    )
}

/// What `smime verify`/`smime decrypt` should write for an OpenSSL mail made
/// by [`openssl_mail`] around `entity`.
fn openssl_outer_plus(entity: &[u8]) -> Vec<u8> {
    let mut v =
        b"To: bob@example.com\r\nFrom: alice@example.com\r\nSubject: Hi\r\nMIME-Version: 1.0\r\n"
            .to_vec();
    v.extend_from_slice(entity);
    v
}

const OSSL_ENTITY: &[u8] = b"Content-Type: text/plain\r\n\r\nHello from OpenSSL\r\nline two\r\n";

// ------------------------------------------------------ 1. OpenSSL -> smime

#[test]
fn openssl_smime_sign_verifies_with_smime() {
    let dir = tmp();
    let a = &pki().alice;
    let signed = openssl_mail(
        &["smime", "-sign", "-signer", a.cert(), "-inkey", a.key()],
        &[],
        OSSL_ENTITY,
    );
    assert!(contains(&signed, b"multipart/signed"));
    let out = verify_ok(dir.path(), &signed, &[]);
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&openssl_outer_plus(OSSL_ENTITY))
    );
}

#[test]
fn openssl_cms_sign_detached_and_opaque_verify_with_smime() {
    let dir = tmp();
    let a = &pki().alice;
    let detached = openssl_mail(
        &["cms", "-sign", "-signer", a.cert(), "-inkey", a.key()],
        &[],
        OSSL_ENTITY,
    );
    assert!(contains(&detached, b"multipart/signed"));
    let out = verify_ok(dir.path(), &detached, &[]);
    assert_eq!(out, openssl_outer_plus(OSSL_ENTITY));

    let opaque = openssl_mail(
        &[
            "cms",
            "-sign",
            "-nodetach",
            "-signer",
            a.cert(),
            "-inkey",
            a.key(),
        ],
        &[],
        OSSL_ENTITY,
    );
    assert!(contains(&opaque, b"smime-type=signed-data"));
    let out = verify_ok(dir.path(), &opaque, &[]);
    assert_eq!(out, openssl_outer_plus(OSSL_ENTITY));

    // A changed body must fail (the test can fail).
    let bad = String::from_utf8(detached)
        .unwrap()
        .replace("line two", "line 2!!");
    let (o, written) = smime_verify(dir.path(), bad.as_bytes(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(written.is_none());
}

#[test]
fn openssl_smime_encrypt_decrypts_with_smime() {
    let dir = tmp();
    let b = &pki().bob;
    let enc = openssl_mail(&["smime", "-encrypt", "-aes256"], &[b.cert()], OSSL_ENTITY);
    assert!(contains(&enc, b"smime-type=enveloped-data"));
    let out = smime_decrypt(dir.path(), &enc, b);
    assert_eq!(out, openssl_outer_plus(OSSL_ENTITY));
}

#[test]
fn openssl_sign_then_encrypt_decrypts_then_verifies_with_smime() {
    let dir = tmp();
    let (a, b) = (&pki().alice, &pki().bob);
    let signed = run_ok(
        openssl().args(["cms", "-sign", "-signer", a.cert(), "-inkey", a.key()]),
        OSSL_ENTITY,
    );
    let enc = openssl_mail(&["cms", "-encrypt", "-aes256"], &[b.cert()], &signed);
    let dec = smime_decrypt(dir.path(), &enc, b);
    assert!(
        contains(&dec, b"multipart/signed"),
        "{}",
        String::from_utf8_lossy(&dec)
    );
    assert!(dec.starts_with(b"To: bob@example.com\r\nFrom: alice@example.com\r\n"));
    let out = verify_ok(dir.path(), &dec, &[]);
    assert_eq!(out, openssl_outer_plus(OSSL_ENTITY));
}

// ------------------------------------------------------ 2. smime -> OpenSSL

#[test]
fn smime_sign_verifies_with_openssl_smime_and_cms() {
    let dir = tmp();
    let a = &pki().alice;
    let msg = mail("Alice <alice@example.com>", TEXT_ENTITY);
    let signed = smime_sign(dir.path(), &msg, a, &[]);
    // The outer fields come first, unchanged.
    assert!(signed.starts_with(&outer("Alice <alice@example.com>")));
    assert!(contains(&signed, b"multipart/signed"));
    let entity = signed_entity(&signed);
    assert_eq!(decoded_text(&entity), body(TEXT_ENTITY));

    let by_smime = openssl_verify("smime", &signed);
    assert_eq!(by_smime, entity);
    let by_cms = openssl_verify("cms", &signed);
    assert_eq!(by_cms, entity);

    // And smime's own verify writes the outer fields and the same entity.
    let ours = verify_ok(dir.path(), &signed, &[]);
    let mut want = outer("Alice <alice@example.com>");
    want.extend_from_slice(&entity);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&want)
    );
}

#[test]
fn smime_sign_opaque_verifies_with_openssl_cms() {
    let dir = tmp();
    let a = &pki().alice;
    let msg = mail("alice@example.com", TEXT_ENTITY);
    let signed = smime_sign(dir.path(), &msg, a, &["--opaque"]);
    assert!(contains(&signed, b"smime-type=signed-data"));
    assert!(!contains(&signed, b"multipart/signed"));
    let out = openssl_verify("cms", &signed);
    assert_eq!(decoded_text(&out), body(TEXT_ENTITY));
    assert!(out.starts_with(b"Content-Type: text/plain; charset=us-ascii\r\n"));
}

#[test]
fn smime_encrypt_decrypts_with_openssl() {
    let dir = tmp();
    let b = &pki().bob;
    let msg = mail("alice@example.com", TEXT_ENTITY);
    let enc = smime_encrypt(dir.path(), &msg, b);
    assert!(contains(&enc, b"smime-type=enveloped-data"));
    assert!(!contains(&enc, b"Hello Bob"));
    let out = openssl_decrypt(&enc, b);
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(TEXT_ENTITY)
    );
}

#[test]
fn smime_sign_encrypt_to_decrypts_and_verifies_with_openssl() {
    let dir = tmp();
    let (a, b) = (&pki().alice, &pki().bob);
    let msg = mail("alice@example.com", TEXT_ENTITY);
    let enc = smime_sign(dir.path(), &msg, a, &["--encrypt-to", b.cert()]);
    assert!(contains(&enc, b"smime-type=enveloped-data"));
    let dec = openssl_decrypt(&enc, b);
    assert!(contains(&dec, b"multipart/signed"));
    let out = openssl_verify("smime", &dec);
    assert_eq!(decoded_text(&out), body(TEXT_ENTITY));
    // Bob's key is needed: Alice's does not open it.
    let o = run(
        openssl().args(["smime", "-decrypt", "-inkey", a.key(), "-recip", a.cert()]),
        &enc,
    );
    assert!(!o.status.success());
}

// ------------------------------------------------------------ 3. bodies

const UTF8_TEXT: &str = "Grüße aus Köln — ½ € and 日本語\nzweite Zeile\n\n  indented, trailing space \nFrom the start of a line\n.\nlast\n";

#[test]
fn utf8_8bit_lf_body_survives_signing_and_crlf_to_lf_transport() {
    let dir = tmp();
    let a = &pki().alice;
    let msg = format!(
        "From: alice@example.com\nTo: bob@example.com\nSubject: utf8\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{UTF8_TEXT}"
    );
    let signed = smime_sign(dir.path(), msg.as_bytes(), a, &[]);
    // Transport: a Unix mail store keeps LF line ends.
    let stored = crlf_to_lf(&signed);
    assert!(!stored.contains(&b'\r'));

    let ours = verify_ok(dir.path(), &stored, &[]);
    let text = crlf_to_lf(&decoded_text(&ours));
    assert_eq!(String::from_utf8(text).unwrap(), UTF8_TEXT);

    let theirs = openssl_verify("smime", &stored);
    let text = crlf_to_lf(&decoded_text(&theirs));
    assert_eq!(String::from_utf8(text).unwrap(), UTF8_TEXT);

    // And back to CRLF (as an SMTP hop does): still the same.
    let back = lf_to_crlf(&stored);
    let ours = verify_ok(dir.path(), &back, &[]);
    assert_eq!(
        String::from_utf8(crlf_to_lf(&decoded_text(&ours))).unwrap(),
        UTF8_TEXT
    );
}

/// A multipart/mixed entity: a text part and a 100 KiB attachment.
fn mixed_entity() -> (Vec<u8>, String) {
    let attachment = content(100 * 1024, 7);
    let b64 = Base64::encode_string(&attachment);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let b64 = lines.join("\r\n");
    let e = format!(
        "Content-Type: multipart/mixed; boundary=\"=_mixed_42\"\r\n\r\n\
         This is a multi-part message in MIME format.\r\n\
         --=_mixed_42\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n\
         See the report attached.\r\n\
         --=_mixed_42\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"report.pdf\"\r\n\r\n\
         {b64}\r\n--=_mixed_42--\r\n"
    );
    (e.into_bytes(), b64)
}

#[test]
fn attachment_signs_and_verifies_both_ways() {
    let dir = tmp();
    let a = &pki().alice;
    let (entity, b64) = mixed_entity();

    // smime -> openssl and smime.
    let msg = mail("alice@example.com", &entity);
    let signed = smime_sign(dir.path(), &msg, a, &[]);
    let theirs = openssl_verify("smime", &signed);
    assert!(contains(&theirs, b64.as_bytes()), "attachment changed");
    assert!(contains(&theirs, b"See the report attached."));
    let ours = verify_ok(dir.path(), &signed, &[]);
    assert!(contains(&ours, b64.as_bytes()), "attachment changed");
    assert!(ours.ends_with(&theirs), "smime and openssl disagree");
    let opaque = smime_sign(dir.path(), &msg, a, &["--opaque"]);
    let theirs = openssl_verify("cms", &opaque);
    assert!(contains(&theirs, b64.as_bytes()), "attachment changed");

    // openssl -> smime.
    let signed = openssl_mail(
        &["smime", "-sign", "-signer", a.cert(), "-inkey", a.key()],
        &[],
        &entity,
    );
    let ours = verify_ok(dir.path(), &signed, &[]);
    assert_eq!(ours, openssl_outer_plus(&entity));
    assert!(contains(&ours, b64.as_bytes()));
}

const NESTED_TEXT: &[u8] =
    b"Content-Type: text/plain; charset=us-ascii\r\n\r\nnested layers, one text\r\n";

#[test]
fn signed_in_encrypted_decrypts_then_verifies() {
    let dir = tmp();
    let (a, b) = (&pki().alice, &pki().bob);
    let msg = mail("alice@example.com", NESTED_TEXT);
    let enc = smime_sign(dir.path(), &msg, a, &["--encrypt-to", b.cert()]);
    // Verify first is the wrong order: a clear one-line error.
    let input = write(dir.path(), "enc.eml", &enc);
    let out = dir.path().join("nothing.eml");
    let line = smime_fails(
        &[
            "verify",
            "--trust",
            pki().ca.cert(),
            "--in",
            p(&input),
            "--out",
            p(&out),
        ],
        b"",
    );
    assert!(line.contains("decrypt it first"), "{line}");
    assert!(!out.exists());

    let dec = smime_decrypt(dir.path(), &enc, b);
    assert!(contains(&dec, b"multipart/signed"));
    let clear = verify_ok(dir.path(), &dec, &[]);
    assert_eq!(decoded_text(&clear), body(NESTED_TEXT));
    assert!(clear.starts_with(b"From: alice@example.com\r\n"));
}

#[test]
fn encrypted_in_signed_verifies_then_decrypts() {
    let dir = tmp();
    let (a, b) = (&pki().alice, &pki().bob);
    let msg = mail("alice@example.com", NESTED_TEXT);
    let enc = smime_encrypt(dir.path(), &msg, b);
    let signed = smime_sign(dir.path(), &enc, a, &[]);
    assert!(contains(&signed, b"multipart/signed"));
    // OpenSSL agrees the signature is good.
    let inner = openssl_verify("smime", &signed);
    assert!(contains(&inner, b"enveloped-data"));

    let verified = verify_ok(dir.path(), &signed, &[]);
    assert!(contains(&verified, b"smime-type=enveloped-data"));
    let clear = smime_decrypt(dir.path(), &verified, b);
    assert_eq!(decoded_text(&clear), body(NESTED_TEXT));
    // And OpenSSL decrypts what smime verify wrote.
    let theirs = openssl_decrypt(&verified, b);
    assert_eq!(decoded_text(&theirs), body(NESTED_TEXT));
}

// --------------------------------------------------------- 4. bad input

/// Runs `smime <cmd> ... --in bad.eml --out out.eml`, which must fail with
/// exit 1, one line, and leave no file; returns the line.
fn fails_on(cmd: &str, msg: &[u8]) -> String {
    let dir = tmp();
    let input = write(dir.path(), "bad.eml", msg);
    let out = dir.path().join("out.eml");
    let pki = pki();
    let mut args: Vec<&str> = vec![cmd];
    match cmd {
        "verify" => args.extend(["--trust", pki.ca.cert()]),
        "decrypt" => args.extend(["--key", pki.bob.key(), "--cert", pki.bob.cert()]),
        _ => panic!("{cmd}"),
    }
    args.extend(["--in", p(&input), "--out", p(&out)]);
    let line = smime_fails(&args, b"");
    assert!(!out.exists(), "{cmd} left an output file");
    assert_eq!(list_dir(dir.path()), vec!["bad.eml".to_owned()]);
    line
}

fn good_signed() -> Vec<u8> {
    let dir = tmp();
    smime_sign(
        dir.path(),
        &mail("alice@example.com", TEXT_ENTITY),
        &pki().alice,
        &[],
    )
}

fn good_encrypted() -> Vec<u8> {
    let dir = tmp();
    smime_encrypt(
        dir.path(),
        &mail("alice@example.com", TEXT_ENTITY),
        &pki().bob,
    )
}

fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let i = find(data, from).unwrap_or_else(|| panic!("{:?} not found", from));
    let mut v = data[..i].to_vec();
    v.extend_from_slice(to);
    v.extend_from_slice(&data[i + from.len()..]);
    v
}

#[test]
fn bad_missing_boundary() {
    let signed = good_signed();
    let b = boundary(&signed);
    // The delimiters in the body now name another boundary.
    let s = String::from_utf8(signed.clone()).unwrap();
    let b = String::from_utf8(b).unwrap();
    let param = format!("boundary=\"{b}\"");
    let bad = s
        .replace(&param, "PARAM")
        .replace(&b, "----other-boundary")
        .replace("PARAM", &param);
    let line = fails_on("verify", bad.as_bytes());
    assert!(line.contains("boundary"), "{line}");
}

#[test]
fn bad_duplicated_boundary_parameter() {
    let signed = good_signed();
    let b = boundary(&signed);
    let mut param = b"boundary=\"".to_vec();
    param.extend_from_slice(&b);
    param.push(b'"');
    let mut twice = param.clone();
    twice.extend_from_slice(b"; boundary=\"another\"");
    let bad = replace(&signed, &param, &twice);
    let line = fails_on("verify", &bad);
    assert!(
        line.contains("boundary") || line.contains("given twice"),
        "{line}"
    );
}

#[test]
fn bad_truncated_base64() {
    let enc = good_encrypted();
    let start = enc.len() - body(&enc).len();
    // In the middle of the third base64 line, not on a 4-character group.
    let cut = start + 2 * 78 + 37;
    assert!(cut < enc.len() - 100);
    let line = fails_on("decrypt", &enc[..cut]);
    assert!(line.contains("base64"), "{line}");
    // openssl fails too.
    let o = run(
        openssl().args(["smime", "-decrypt", "-inkey", pki().bob.key()]),
        &enc[..cut],
    );
    assert!(!o.status.success());
}

#[test]
fn bad_third_part_in_multipart_signed() {
    let signed = good_signed();
    let b = boundary(&signed);
    let mut end = b"\r\n--".to_vec();
    end.extend_from_slice(&b);
    end.extend_from_slice(b"--");
    let mut third = b"\r\n--".to_vec();
    third.extend_from_slice(&b);
    third.extend_from_slice(b"\r\nContent-Type: text/plain\r\n\r\nsmuggled part\r\n");
    third.extend_from_slice(&end);
    let bad = replace(&signed, &end, &third);
    let line = fails_on("verify", &bad);
    assert!(line.contains("part"), "{line}");
}

#[test]
fn bad_junk_on_delimiter_line() {
    let signed = good_signed();
    let b = boundary(&signed);
    let mut second = b"\r\n--".to_vec();
    second.extend_from_slice(&b);
    second.extend_from_slice(b"\r\nContent-Type: application/pkcs7-signature");
    let mut junk = b"\r\n--".to_vec();
    junk.extend_from_slice(&b);
    junk.extend_from_slice(b" junk\r\nContent-Type: application/pkcs7-signature");
    let bad = replace(&signed, &second, &junk);
    let line = fails_on("verify", &bad);
    assert!(
        line.contains("boundary") || line.contains("delimiter"),
        "{line}"
    );
}

#[test]
fn bad_oversized_header_line() {
    let signed = good_signed();
    let huge = format!("Subject: {}", "x".repeat(100 * 1024));
    let bad = replace(&signed, b"Subject: interop test", huge.as_bytes());
    let line = fails_on("verify", &bad);
    assert!(line.contains("header"), "{line}");
    let enc = good_encrypted();
    let bad = replace(&enc, b"Subject: interop test", huge.as_bytes());
    let line = fails_on("decrypt", &bad);
    assert!(line.contains("header"), "{line}");
}

#[test]
fn bad_unknown_smime_type() {
    let enc = good_encrypted();
    let bad = replace(
        &enc,
        b"smime-type=enveloped-data",
        b"smime-type=frobnicated-data",
    );
    let line = fails_on("decrypt", &bad);
    assert!(line.contains("smime-type"), "{line}");
    let line = fails_on("verify", &bad);
    assert!(line.contains("smime-type"), "{line}");
}

#[test]
fn bad_plain_mail_is_not_smime() {
    let msg = mail("alice@example.com", TEXT_ENTITY);
    let line = fails_on("verify", &msg);
    assert!(line.contains("not an S/MIME message"), "{line}");
    let line = fails_on("decrypt", &msg);
    assert!(line.contains("not an S/MIME message"), "{line}");
}

// ------------------------------------------------- 5. certificate exchange

#[test]
fn harvested_certificate_encrypts_for_openssl() {
    let dir = tmp();
    let a = &pki().alice;
    let signed = smime_sign(dir.path(), &mail("alice@example.com", TEXT_ENTITY), a, &[]);
    let signed_file = write(dir.path(), "from-alice.eml", &signed);
    let store = dir.path().join("store");
    run_ok(
        smime()
            .args(["certs", "harvest", p(&signed_file)])
            .args(["--store", p(&store)]),
        b"",
    );
    assert!(list_dir(&store).contains(&"alice@example.com".to_owned()));

    let msg = write(
        dir.path(),
        "reply.eml",
        &mail("bob@example.com", NESTED_TEXT),
    );
    let out = dir.path().join("reply-enc.eml");
    run_ok(
        smime()
            .args(["encrypt", "--to", "alice@example.com", "--store", p(&store)])
            .args(["--in", p(&msg), "--out", p(&out)]),
        b"",
    );
    let enc = std::fs::read(&out).unwrap();
    // Alice's mail (signed by smime) announced AES-GCM in its
    // SMIMECapabilities: the reply is AuthEnvelopedData, which `openssl cms`
    // reads (`openssl smime`, PKCS#7 only, does not).
    assert!(
        find(&enc, b"smime-type=authEnveloped-data").is_some(),
        "{}",
        String::from_utf8_lossy(&enc[..200.min(enc.len())])
    );
    let dec = run_ok(
        openssl().args(["cms", "-decrypt", "-inkey", a.key(), "-recip", a.cert()]),
        &enc,
    );
    assert_eq!(dec, NESTED_TEXT);
    // Asked for explicitly, the cipher is the caller's: AES-256-CBC, which
    // `openssl smime` reads too.
    run_ok(
        smime()
            .args(["encrypt", "--to", "alice@example.com", "--store", p(&store)])
            .args(["--cipher", "aes256-cbc", "--in", p(&msg), "--out", p(&out)]),
        b"",
    );
    let enc = std::fs::read(&out).unwrap();
    assert!(find(&enc, b"smime-type=enveloped-data").is_some());
    assert_eq!(openssl_decrypt(&enc, a), NESTED_TEXT);
}

#[test]
fn openssl_capabilities_keep_cbc() {
    // OpenSSL announces AES-CBC, 3DES, RC2 and DES: no AES-GCM, so mail to
    // a harvested OpenSSL user stays EnvelopedData with AES-256-CBC.
    let dir = tmp();
    let a = &pki().alice;
    let signed = openssl_mail(
        &["smime", "-sign", "-signer", a.cert(), "-inkey", a.key()],
        &[],
        OSSL_ENTITY,
    );
    let signed_file = write(dir.path(), "from-openssl.eml", &signed);
    let store = dir.path().join("store");
    let out = run_ok(
        smime()
            .args(["certs", "harvest", p(&signed_file)])
            .args(["--store", p(&store)]),
        b"",
    );
    assert!(String::from_utf8_lossy(&out).contains("no AES-GCM announced"));
    let msg = write(
        dir.path(),
        "reply.eml",
        &mail("bob@example.com", NESTED_TEXT),
    );
    let out = dir.path().join("reply-enc.eml");
    run_ok(
        smime()
            .args(["encrypt", "--to", "alice@example.com", "--store", p(&store)])
            .args(["--in", p(&msg), "--out", p(&out)]),
        b"",
    );
    let enc = std::fs::read(&out).unwrap();
    assert!(find(&enc, b"smime-type=enveloped-data").is_some());
    assert_eq!(openssl_decrypt(&enc, a), NESTED_TEXT);
}

#[test]
fn harvest_of_tampered_mail_fails_and_adds_nothing() {
    let dir = tmp();
    let signed = good_signed();
    let entity = signed_entity(&signed);
    let b64 = body(&entity);
    // Change one base64 character of the signed text.
    let mut changed = b64.to_vec();
    changed[3] = if changed[3] == b'A' { b'B' } else { b'A' };
    let bad = replace(&signed, b64, &changed);
    let file = write(dir.path(), "tampered.eml", &bad);
    let store = dir.path().join("store");
    let o = run(
        smime()
            .args(["certs", "harvest", p(&file)])
            .args(["--store", p(&store)]),
        b"",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("smime: error: "), "{}", stderr(&o));
    let added = store.exists() && !list_dir(&store).is_empty();
    assert!(!added, "a certificate was harvested from a bad signature");
}

#[test]
fn from_mismatch_fails_unless_ignore_from() {
    let dir = tmp();
    let bob = &pki().bob;
    let signed = smime_sign(
        dir.path(),
        &mail("alice@example.com", TEXT_ENTITY),
        bob,
        &[],
    );
    let (o, written) = smime_verify(dir.path(), &signed, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(written.is_none());
    let last = err.lines().last().unwrap();
    assert!(last.starts_with("smime: error: "), "{err}");
    assert!(last.contains("alice@example.com"), "{last}");
    assert!(last.contains("From"), "{last}");
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("smime: error"))
            .count(),
        1
    );

    let out = verify_ok(dir.path(), &signed, &["--ignore-from"]);
    assert_eq!(decoded_text(&out), body(TEXT_ENTITY));
    // OpenSSL does not check From: it accepts the signature.
    openssl_verify("smime", &signed);
}

// ------------------------------------------------ 6. streamed input

#[test]
fn five_mib_signed_mail_through_stdin() {
    let dir = tmp();
    let a = &pki().alice;
    let data = content(5 * 1024 * 1024, 3);
    let b64 = Base64::encode_string(&data);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let entity = format!(
        "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        lines.join("\r\n")
    );
    let msg = mail("alice@example.com", entity.as_bytes());
    let signed = smime_sign(dir.path(), &msg, a, &[]);
    assert!(signed.len() > 5 * 1024 * 1024);
    let out = run(
        smime().args(["verify", "--trust", pki().ca.cert()]),
        &signed,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(b64decode(body(&out.stdout)), data);
    assert_eq!(out.stdout, msg);
    // A changed byte near the end fails on stdin too, and writes no success.
    let mut bad = signed.clone();
    let entity = signed_entity(&signed);
    let at = find(&signed, &entity[..200]).unwrap() + entity.len() * 2 / 3;
    let at = at
        + signed[at..]
            .iter()
            .position(u8::is_ascii_alphanumeric)
            .unwrap();
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    let o = run(smime().args(["verify", "--trust", pki().ca.cert()]), &bad);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // With --out, streamed from stdin: no file.
    let out = dir.path().join("big-out.eml");
    let o = run(
        smime()
            .args(["verify", "--trust", pki().ca.cert()])
            .args(["--out", p(&out)]),
        &bad,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!out.exists(), "a failed verify left {}", out.display());
}

const LF_MAIL: &str = "From: alice@example.com\nTo: bob@example.com\nSubject: lf only\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nline one\nline two\n";

#[test]
fn lf_only_mail_signs_and_verifies() {
    let dir = tmp();
    let a = &pki().alice;
    let signed = smime_sign(dir.path(), LF_MAIL.as_bytes(), a, &[]);
    let stored = crlf_to_lf(&signed);
    // Through stdin, with LF line ends throughout.
    let out = run(
        smime().args(["verify", "--trust", pki().ca.cert()]),
        &stored,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        crlf_to_lf(&decoded_text(&out.stdout)),
        b"line one\nline two\n"
    );
    assert!(out.stdout.starts_with(b"From: alice@example.com"));
    let theirs = openssl_verify("smime", &stored);
    assert_eq!(crlf_to_lf(&decoded_text(&theirs)), b"line one\nline two\n");
}

/// What `smime verify` writes for an LF-only mail: one line-end convention.
/// (It writes the outer fields with CRLF, the entity's own fields as they
/// came, LF, and then a CRLF blank line: a header block with mixed line
/// ends. OpenSSL writes the verified entity with CRLF throughout.)
#[test]
fn lf_only_mail_verify_output_has_consistent_line_ends() {
    let dir = tmp();
    let a = &pki().alice;
    let signed = smime_sign(dir.path(), LF_MAIL.as_bytes(), a, &[]);
    let stored = crlf_to_lf(&signed);
    let out = run(
        smime().args(["verify", "--trust", pki().ca.cert()]),
        &stored,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let crlf = out.stdout.windows(2).filter(|w| w == b"\r\n").count();
    let lf = out.stdout.iter().filter(|&&b| b == b'\n').count();
    assert!(
        crlf == 0 || crlf == lf,
        "mixed line ends ({crlf} CRLF of {lf} LF) in:\n{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

// ----------------------------------------- 7. no progress bar off a terminal

#[test]
fn no_progress_output_when_not_a_terminal() {
    let dir = tmp();
    let a = &pki().alice;
    let data = content(15 * 1024 * 1024, 9);
    let b64 = Base64::encode_string(&data);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let entity = format!(
        "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        lines.join("\r\n")
    );
    let msg = mail("alice@example.com", entity.as_bytes());
    assert!(msg.len() >= 20 * 1024 * 1024);
    let input = write(dir.path(), "big.eml", &msg);
    let signed = dir.path().join("big-signed.eml");
    let o = run(
        smime()
            .args(["sign", "--key", a.key(), "--cert", a.cert()])
            .args(["--in", p(&input), "--out", p(&signed)]),
        b"",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        o.stderr.is_empty(),
        "sign wrote to stderr: {:?}",
        stderr(&o)
    );

    let out = dir.path().join("big-verified.eml");
    let o = run(
        smime().args(["verify", "--trust", pki().ca.cert()]).args([
            "--in",
            p(&signed),
            "--out",
            p(&out),
        ]),
        b"",
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains('\r'), "{err:?}");
    assert!(!err.contains('\u{1b}'), "escape sequences: {err:?}");
    // The bar's pieces ("[===>   ] 3.00 MiB/20.00 MiB (12 MiB/s, 1s)").
    for piece in [
        "[=", "=>", "> ]", "MiB", "KiB", "/s", "\u{2588}", "\u{2807}",
    ] {
        assert!(!err.contains(piece), "progress output {piece:?}: {err:?}");
    }
    assert!(err.contains("VALID"), "{err}");
    for line in err.lines() {
        assert!(
            line.starts_with("smime: ") || line.starts_with("Signer ") || line.starts_with(' '),
            "unexpected stderr line {line:?}"
        );
    }
    assert_eq!(std::fs::read(&out).unwrap(), msg);
    // The same quiet with -q: nothing at all.
    let o = run(
        smime()
            .args(["verify", "-q", "--trust", pki().ca.cert()])
            .args(["--in", p(&signed)]),
        b"",
    );
    assert!(o.status.success());
    assert!(o.stderr.is_empty(), "{:?}", stderr(&o));
}

// ------------------------------------------------------------ more peers

#[test]
fn ec_and_ed25519_signers_verify_with_openssl_and_smime() {
    let dir = tmp();
    let pki = pki();
    // OpenSSL 3.0 cannot verify Ed25519 in CMS ("invalid digest"), so that
    // signer is checked by smime only.
    for (who, from, peer) in [
        (&pki.ec, "eve@example.com", true),
        (&pki.ed, "ed@example.com", false),
    ] {
        let signed = smime_sign(dir.path(), &mail(from, TEXT_ENTITY), who, &[]);
        if peer {
            let theirs = openssl_verify("cms", &signed);
            assert_eq!(theirs, signed_entity(&signed), "{from}");
        }
        let ours = verify_ok(dir.path(), &signed, &[]);
        assert_eq!(decoded_text(&ours), body(TEXT_ENTITY), "{from}");
        // Signed by eve or ed, claimed from alice: refused.
        let claimed = mail("alice@example.com", TEXT_ENTITY);
        let signed = smime_sign(dir.path(), &claimed, who, &[]);
        let (o, written) = smime_verify(dir.path(), &signed, &[]);
        assert_eq!(o.status.code(), Some(1), "{from}: {}", stderr(&o));
        assert!(written.is_none());
    }
}

#[test]
fn sign_encrypt_to_with_other_ciphers_opens_with_openssl() {
    let dir = tmp();
    let (a, b) = (&pki().alice, &pki().bob);
    let msg = mail("alice@example.com", TEXT_ENTITY);
    for cipher in ["aes128-cbc", "aes192-cbc", "des-ede3-cbc"] {
        let enc = smime_sign(
            dir.path(),
            &msg,
            a,
            &["--encrypt-to", b.cert(), "--cipher", cipher],
        );
        let dec = openssl_decrypt(&enc, b);
        let out = openssl_verify("smime", &dec);
        assert_eq!(decoded_text(&out), body(TEXT_ENTITY), "{cipher}");
    }
}

#[test]
fn openssl_8bit_signature_survives_lf_store() {
    // OpenSSL signs 8-bit text as it is (no base64): the signature covers
    // the CRLF form, and a Unix mail store turns it into LF.
    let dir = tmp();
    let a = &pki().alice;
    let entity = "Content-Type: text/plain; charset=utf-8\r\n\
                  Content-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\nzweite Zeile\r\n";
    let signed = openssl_mail(
        &["smime", "-sign", "-signer", a.cert(), "-inkey", a.key()],
        &[],
        entity.as_bytes(),
    );
    assert!(contains(&signed, "Grüße".as_bytes()), "OpenSSL re-encoded");
    let stored = crlf_to_lf(&signed);
    let ours = verify_ok(dir.path(), &stored, &[]);
    assert_eq!(
        crlf_to_lf(&decoded_text(&ours)),
        "Grüße aus Köln\nzweite Zeile\n".as_bytes()
    );
}

#[test]
fn transport_padding_and_header_case_are_accepted() {
    let dir = tmp();
    let signed = good_signed();
    let b = boundary(&signed);
    // RFC 2046: white space may follow a delimiter.
    let mut delim = b"\r\n--".to_vec();
    delim.extend_from_slice(&b);
    let mut from = delim.clone();
    from.extend_from_slice(b"\r\nContent-Type: text/plain");
    let mut to = delim.clone();
    to.extend_from_slice(b" \t \r\nContent-Type: text/plain");
    let padded = replace(&signed, &from, &to);
    openssl_verify("smime", &padded);
    let ours = verify_ok(dir.path(), &padded, &[]);
    assert_eq!(decoded_text(&ours), body(TEXT_ENTITY));

    // RFC 2045: type, subtype and parameter names are case-insensitive.
    let s = String::from_utf8(signed).unwrap();
    let upper = s
        .replacen(
            "Content-Type: multipart/signed;",
            "content-type: Multipart/Signed;",
            1,
        )
        .replacen("protocol=", "PROTOCOL=", 1)
        .replacen("micalg=sha-256", "MICALG=SHA-256", 1);
    assert_ne!(upper, s);
    let ours = verify_ok(dir.path(), upper.as_bytes(), &[]);
    assert_eq!(decoded_text(&ours), body(TEXT_ENTITY));

    let enc = good_encrypted();
    let upper = replace(
        &enc,
        b"application/pkcs7-mime; smime-type=enveloped-data;",
        b"Application/PKCS7-MIME; Smime-Type=\"enveloped-data\";",
    );
    let dec = smime_decrypt(dir.path(), &upper, &pki().bob);
    assert_eq!(decoded_text(&dec), body(TEXT_ENTITY));
}

#[test]
fn decrypt_reads_stdin() {
    let enc = good_encrypted();
    let b = &pki().bob;
    let out = run_ok(smime().args(["decrypt", "--key", b.key()]), &enc);
    let mut want = outer("alice@example.com");
    want.extend_from_slice(TEXT_ENTITY);
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&want)
    );
}

/// RFC 8550 section 3 (as RFC 5750 before it): receiving agents "MUST check
/// that the address in the From or Sender header of a mail message matches
/// an Internet mail address in the signer's certificate". A mail written by
/// Bob and sent by Alice (`Sender: alice@...`), signed by Alice, matches.
/// smime checks From only, and refuses it.
#[test]
fn sender_field_matching_the_signer_is_accepted() {
    let dir = tmp();
    let a = &pki().alice;
    let msg = replace(
        &mail("bob@example.com", TEXT_ENTITY),
        b"From: bob@example.com\r\n",
        b"From: bob@example.com\r\nSender: alice@example.com\r\n",
    );
    let signed = smime_sign(dir.path(), &msg, a, &[]);
    let out = verify_ok(dir.path(), &signed, &[]);
    assert_eq!(decoded_text(&out), body(TEXT_ENTITY));
}

/// OpenSSL's `cms -sign -binary` signs the part as it stands, bare LFs and
/// lone CRs included; the canonical form differs, and the signature still
/// verifies (the part as it stood is hashed too).
#[test]
fn binary_signed_part_with_bare_line_ends_verifies() {
    let dir = tmp();
    let d = dir.path();
    let a = &pki().alice;
    let entity = d.join("entity.txt");
    std::fs::write(
        &entity,
        b"Content-Type: application/octet-stream\n\nline one\nline two\rlone cr\n",
    )
    .unwrap();
    let signed = d.join("signed.eml");
    run_ok(
        openssl().args([
            "cms",
            "-sign",
            "-binary",
            "-signer",
            a.cert(),
            "-inkey",
            a.key(),
            "-in",
            entity.to_str().unwrap(),
            "-out",
            signed.to_str().unwrap(),
        ]),
        b"",
    );
    let mut mail = b"From: alice@example.com\n".to_vec();
    mail.extend(std::fs::read(&signed).unwrap());
    std::fs::write(&signed, &mail).unwrap();
    let out = run(
        smime().args([
            "verify",
            "--trust",
            pki().ca.cert(),
            "--in",
            signed.to_str().unwrap(),
        ]),
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A changed byte still fails.
    let text = String::from_utf8(mail)
        .unwrap()
        .replacen("line two", "line tw0", 1);
    std::fs::write(&signed, text).unwrap();
    let out = run(
        smime().args([
            "verify",
            "--trust",
            pki().ca.cert(),
            "--in",
            signed.to_str().unwrap(),
        ]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
}

/// AuthEnvelopedData (S/MIME 4.0): ours with AES-GCM opens with OpenSSL,
/// OpenSSL's opens with ours, ChaCha20-Poly1305 makes the round trip, and a
/// changed byte of an authenticated message leaves no output at all.
#[test]
fn auth_enveloped_mail_both_ways() {
    let dir = tmp();
    let d = dir.path();
    let b = &pki().bob;
    let mail = d.join("mail.eml");
    std::fs::write(
        &mail,
        b"From: alice@example.com\r\nTo: bob@example.com\r\nSubject: gcm\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nauthenticated encryption\r\n",
    )
    .unwrap();
    let m = mail.to_str().unwrap();
    for cipher in ["aes128-gcm", "aes256-gcm", "chacha20-poly1305"] {
        let enc = d.join(format!("{cipher}.eml"));
        let out = run(
            smime()
                .args([
                    "encrypt",
                    "-r",
                    b.cert(),
                    "--cipher",
                    cipher,
                    "--in",
                    m,
                    "--out",
                ])
                .arg(&enc),
            b"",
        );
        assert!(
            out.status.success(),
            "{cipher}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&enc).unwrap();
        assert!(
            text.contains("smime-type=authEnveloped-data"),
            "{cipher}: {text}"
        );
        let dec = d.join(format!("{cipher}-dec.eml"));
        let out = run(
            smime()
                .args(["decrypt", "--key", b.key(), "--in"])
                .arg(&enc)
                .arg("--out")
                .arg(&dec),
            b"",
        );
        assert!(
            out.status.success(),
            "{cipher}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            std::fs::read_to_string(&dec)
                .unwrap()
                .contains("authenticated encryption")
        );
        if cipher != "chacha20-poly1305" {
            // OpenSSL 3.0 reads GCM AuthEnvelopedData (not ChaCha20-Poly1305).
            let plain = run_ok(
                openssl()
                    .args(["cms", "-decrypt", "-inkey", b.key(), "-in"])
                    .arg(&enc),
                b"",
            );
            assert!(
                String::from_utf8_lossy(&plain).contains("authenticated encryption"),
                "{cipher}"
            );
        }
        // Tampering: one base64 character of the body changed.
        let at = text.rfind("\r\n\r\n").unwrap() + 200;
        let mut bytes = text.into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let bad = d.join(format!("{cipher}-bad.eml"));
        std::fs::write(&bad, &bytes).unwrap();
        let gone = d.join(format!("{cipher}-bad-dec.eml"));
        let out = run(
            smime()
                .args(["decrypt", "--key", b.key(), "--in"])
                .arg(&bad)
                .arg("--out")
                .arg(&gone),
            b"",
        );
        assert_eq!(out.status.code(), Some(1), "{cipher}");
        assert!(!gone.exists(), "{cipher}: a failed tag left output");
    }
    // OpenSSL's AES-256-GCM mail opens with ours.
    let enc = d.join("openssl-gcm.eml");
    run_ok(
        openssl()
            .args(["cms", "-encrypt", "-aes-256-gcm", "-in", m, "-out"])
            .arg(&enc)
            .arg(b.cert()),
        b"",
    );
    let out = run(
        smime()
            .args(["decrypt", "--key", b.key(), "-v", "--in"])
            .arg(&enc),
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("authenticated encryption"));
}
