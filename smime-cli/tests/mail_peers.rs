//! S/MIME mail exchanged with other implementations: gpgsm's bare CMS
//! wrapped in MIME the way mail clients (KMail, Mutt, Evolution) do it, both
//! directions; real messages from other clients in the shared interop folder
//! (compared with what OpenSSL makes of them); and a triple-wrapped message
//! (sign, encrypt, sign) made by OpenSSL, taken apart layer by layer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
mod gpgsm_home;
mod pki;

use std::path::{Path, PathBuf};
use std::process::Output;

use base64ct::{Base64, Encoding};
use common::*;
use gpgsm_home::Gpgsm;
use pki::pki;

// ---------------------------------------------------------------------------
// Helpers: files, output, MIME.

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `smime` with `args`, which must succeed; returns its standard error.
fn smime_ok(args: &[&str]) -> String {
    let o = run(smime().args(args), b"");
    assert!(
        o.status.success(),
        "smime {args:?} failed ({}):\n{}",
        o.status,
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    stderr(&o)
}

/// `smime` with `args`, which must fail with exit code 1, without a panic,
/// its last line on standard error being `smime: error: ...` (verify prints
/// its report before); returns that line.
fn smime_err(args: &[&str]) -> String {
    let o = run(smime().args(args), b"");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "smime {args:?}: {err}");
    assert!(!err.contains("panicked"), "smime {args:?}: {err}");
    let last = err.lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("smime: error: "), "smime {args:?}: {err}");
    assert_eq!(
        err.matches("smime: error: ").count(),
        1,
        "smime {args:?}: more than one error line: {err}"
    );
    last
}

/// `data` with CRLF turned into LF (to compare texts stored with LF).
fn lf(data: &[u8]) -> Vec<u8> {
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

/// `data` with every line end CRLF.
fn crlf(data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for &b in &lf(data) {
        if b == b'\n' {
            v.push(b'\r');
        }
        v.push(b);
    }
    v
}

/// Where a header block ends: (end of the fields, start of the body).
fn header_end(data: &[u8]) -> (usize, usize) {
    if data.starts_with(b"\r\n") {
        return (0, 2);
    }
    if data.starts_with(b"\n") {
        return (0, 1);
    }
    for i in 0..data.len() {
        if data[i..].starts_with(b"\r\n\r\n") {
            return (i + 2, i + 4);
        }
        if data[i..].starts_with(b"\n\n") {
            return (i + 1, i + 2);
        }
    }
    (data.len(), data.len())
}

/// The header fields (unfolded, CRLF/LF taken off) and the body of an
/// entity.
fn split_entity(data: &[u8]) -> (Vec<String>, Vec<u8>) {
    let (end, body) = header_end(data);
    let mut fields: Vec<String> = Vec::new();
    for line in text(&data[..end]).split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let last = fields
                .last_mut()
                .expect("a continuation line after a field");
            last.push_str("\r\n");
            last.push_str(line);
        } else {
            fields.push(line.to_owned());
        }
    }
    (fields, data[body..].to_vec())
}

/// The value of the first field `name` (case-insensitive), unfolded.
fn field(fields: &[String], name: &str) -> Option<String> {
    fields.iter().find_map(|f| {
        let (n, v) = f.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.replace("\r\n", "").trim().to_owned())
    })
}

/// A parameter of a structured field value (`boundary`, `smime-type`).
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Base64 of `data` in lines of 76 characters, CRLF after each.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    let b = Base64::encode_string(data);
    let mut out = Vec::new();
    for chunk in b.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Decodes base64 text with line breaks (and other white space).
fn unbase64(body: &[u8]) -> Vec<u8> {
    let clean: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    Base64::decode_vec(std::str::from_utf8(&clean).unwrap()).expect("valid base64")
}

/// The parts of a multipart body with `boundary`: the exact bytes between
/// the delimiters (the line end before a delimiter belongs to it, RFC 2046
/// section 5.1.1).
fn multipart_parts(body: &[u8], boundary: &str) -> Vec<Vec<u8>> {
    let delim = format!("--{boundary}");
    let d = delim.as_bytes();
    // Positions of delimiter lines: at the start or after a line end.
    // (where the line end before the delimiter starts, after the delimiter line)
    let mut starts: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i + d.len() <= body.len() {
        let at_line_start = i == 0 || body[i - 1] == b'\n';
        if at_line_start && body[i..].starts_with(d) {
            let before = if i >= 2 && &body[i - 2..i] == b"\r\n" {
                i - 2
            } else {
                i.saturating_sub(1)
            };
            let mut after = i + d.len();
            let close = body[after..].starts_with(b"--");
            while after < body.len() && body[after] != b'\n' {
                after += 1;
            }
            starts.push((before, (after + 1).min(body.len())));
            if close {
                break;
            }
            i = after;
            continue;
        }
        i += 1;
    }
    starts
        .windows(2)
        .map(|w| body[w[0].1..w[1].0].to_vec())
        .collect()
}

/// The (first part, signature DER) of a multipart/signed mail.
fn clear_signed_parts(mail: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (fields, body) = split_entity(mail);
    let ct = field(&fields, "Content-Type").expect("a Content-Type");
    assert!(
        ct.to_ascii_lowercase().starts_with("multipart/signed"),
        "not multipart/signed: {ct}"
    );
    let ct_l = ct.to_ascii_lowercase();
    assert!(
        ct_l.contains("application/pkcs7-signature")
            || ct_l.contains("application/x-pkcs7-signature"),
        "protocol: {ct}"
    );
    let boundary = param(&ct, "boundary").expect("a boundary");
    let parts = multipart_parts(&body, &boundary);
    assert_eq!(parts.len(), 2, "two parts in the multipart/signed body");
    let (sig_fields, sig_body) = split_entity(&parts[1]);
    let sig_ct = field(&sig_fields, "Content-Type")
        .unwrap()
        .to_ascii_lowercase();
    assert!(sig_ct.contains("pkcs7-signature"), "{sig_ct}");
    (parts[0].clone(), unbase64(&sig_body))
}

/// The base64-decoded body of an application/pkcs7-mime mail, checking its
/// smime-type.
fn pkcs7_mime_body(mail: &[u8], smime_type: &str) -> Vec<u8> {
    let (fields, body) = split_entity(mail);
    let ct = field(&fields, "Content-Type").expect("a Content-Type");
    assert!(
        ct.to_ascii_lowercase()
            .starts_with("application/pkcs7-mime")
            || ct
                .to_ascii_lowercase()
                .starts_with("application/x-pkcs7-mime"),
        "{ct}"
    );
    assert_eq!(
        param(&ct, "smime-type").as_deref(),
        Some(smime_type),
        "{ct}"
    );
    let cte = field(&fields, "Content-Transfer-Encoding").unwrap_or_default();
    assert!(cte.eq_ignore_ascii_case("base64"), "{cte}");
    unbase64(&body)
}

/// Checks that `ours` (outer fields + entity, as `smime verify`/`decrypt`
/// write it) holds the entity `theirs` (what OpenSSL wrote: the inner entity
/// without the outer fields): the same body, every field of `theirs` among
/// ours, and our other fields among the `outer` fields of the input mail.
/// Line ends are compared as LF (the samples are stored with LF).
fn assert_same_entity(ours: &[u8], theirs: &[u8], outer: &[u8], what: &str) {
    let (our_fields, our_body) = split_entity(&lf(ours));
    let (their_fields, their_body) = split_entity(&lf(theirs));
    let (outer_fields, _) = split_entity(&lf(outer));
    assert_eq!(
        text(&our_body),
        text(&their_body),
        "{what}: the bodies differ"
    );
    let mut rest = our_fields.clone();
    for f in &their_fields {
        let at = rest
            .iter()
            .position(|g| g == f)
            .unwrap_or_else(|| panic!("{what}: field {f:?} missing in our output {our_fields:?}"));
        rest.remove(at);
    }
    for f in &rest {
        assert!(
            outer_fields.contains(f),
            "{what}: our output has a field {f:?} that is neither in the entity nor among the \
             outer fields"
        );
    }
}

/// Writes `data` to `dir/name`; returns the path.
fn put(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("mail-peers-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// The test entity (a MIME entity, not yet a mail: no outer fields).
const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Hallo Bob,\r\n\
\r\n\
das ist eine signierte Nachricht. Gr\xc3\xbc\xc3\x9fe, MARKER-LINE\r\n\
-- \r\n\
Alice\r\n";

/// The outer fields a mail client puts above the S/MIME entity.
const OUTER: &[u8] = b"From: Alice Example <alice@example.com>\r\n\
To: Bob Example <bob@example.com>\r\n\
Subject: Interop\r\n\
Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n\
Message-ID: <mail-peers@example.com>\r\n\
MIME-Version: 1.0\r\n";

/// A mail: the outer fields and the entity.
fn mail_of(entity: &[u8]) -> Vec<u8> {
    [OUTER, entity].concat()
}

/// `data` with the first byte of MARKER-LINE changed.
fn tamper(data: &[u8]) -> Vec<u8> {
    let at = data
        .windows(11)
        .position(|w| w == b"MARKER-LINE")
        .expect("marker in the data");
    let mut d = data.to_vec();
    d[at] ^= 0x20;
    d
}

/// Checks `out` is the outer fields of [`OUTER`] and then `entity`
/// exactly.
fn assert_outer_and_entity(out: &[u8], entity: &[u8], what: &str) {
    assert!(
        out.ends_with(entity),
        "{what}: the output does not end with the entity:\n{}",
        text(out)
    );
    let head = &out[..out.len() - entity.len()];
    let (fields, _) = split_entity(&[head, b"\r\n"].concat());
    assert_eq!(
        field(&fields, "From").as_deref(),
        Some("Alice Example <alice@example.com>"),
        "{what}: {}",
        text(out)
    );
    assert_eq!(
        field(&fields, "Subject").as_deref(),
        Some("Interop"),
        "{what}"
    );
    assert!(
        fields
            .iter()
            .all(|f| !f.to_ascii_lowercase().starts_with("content-")),
        "{what}: outer Content-* fields left: {fields:?}"
    );
}

// ---------------------------------------------------------------------------
// gpgsm (copied from tests/gpgsm.rs: a GNUPGHOME with the test CA trusted and
// Alice's key imported through PKCS#12 with loopback pinentry).


fn assert_gpgsm_good(o: &Output, status: &str, what: &str) {
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

fn assert_gpgsm_bad(o: &Output, status: &str, what: &str) {
    assert!(
        !o.status.success(),
        "gpgsm --verify accepted a tampered {what}: {status}"
    );
    assert!(!status.contains("[GNUPG:] GOODSIG "), "{what}: {status}");
}

/// A multipart/signed mail as KMail, Mutt or Evolution build it around a
/// detached signature.
fn wrap_clear_signed(entity: &[u8], sig: &[u8]) -> Vec<u8> {
    let b = "----=_gpgsm_boundary_42";
    let mut m = OUTER.to_vec();
    m.extend_from_slice(
        format!(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n \
             micalg=sha-256; boundary=\"{b}\"\r\n\r\n\
             This is a cryptographically signed message in MIME format.\r\n\r\n--{b}\r\n"
        )
        .as_bytes(),
    );
    m.extend_from_slice(entity);
    m.extend_from_slice(
        format!(
            "\r\n--{b}\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\
             Content-Description: S/MIME Cryptographic Signature\r\n\r\n"
        )
        .as_bytes(),
    );
    m.extend_from_slice(&base64_lines(sig));
    m.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    m
}

/// An application/pkcs7-mime mail around a bare CMS message.
fn wrap_pkcs7_mime(cms: &[u8], smime_type: &str) -> Vec<u8> {
    let mut m = OUTER.to_vec();
    m.extend_from_slice(
        format!(
            "Content-Type: application/pkcs7-mime; smime-type={smime_type};\r\n \
             name=\"smime.p7m\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n"
        )
        .as_bytes(),
    );
    m.extend_from_slice(&base64_lines(cms));
    m
}

fn smime_verify_trusted(input: &Path, out: &Path) -> Output {
    run(
        smime().args([
            "verify",
            "--trust",
            pki().ca.cert(),
            "--in",
            s(input),
            "--out",
            s(out),
        ]),
        b"",
    )
}

#[test]
fn gpgsm_detached_signature_in_multipart_signed_verifies() {
    let g = Gpgsm::new();
    let dir = tmpdir();
    let d = dir.path();
    let entity = put(d, "entity.txt", ENTITY);
    // gpgsm writes DER by default (--armor would give PEM, which a mail
    // client base64-encodes from the DER anyway).
    let sig = g.run_op(&["-u", &g.alice], "--detach-sign", &entity);
    assert_eq!(sig.first(), Some(&0x30), "gpgsm wrote DER");
    let mail = put(d, "signed.eml", &wrap_clear_signed(ENTITY, &sig));
    let out = d.join("content.eml");
    let o = smime_verify_trusted(&mail, &out);
    assert!(o.status.success(), "smime verify: {}", stderr(&o));
    assert!(
        stderr(&o).contains("alice@example.com (matches the certificate)"),
        "{}",
        stderr(&o)
    );
    assert_outer_and_entity(&std::fs::read(&out).unwrap(), ENTITY, "gpgsm detached");

    // The same mail with a byte of the signed part changed must fail.
    let bad = put(d, "bad.eml", &tamper(&std::fs::read(&mail).unwrap()));
    let bad_out = d.join("bad-content.eml");
    let o = smime_verify_trusted(&bad, &bad_out);
    assert_eq!(o.status.code(), Some(1), "tampered: {}", stderr(&o));
    assert!(!bad_out.exists(), "content written despite the failure");

    // Armoured output: the same signature in PEM; unwrapped by hand it is
    // the same DER structure that a client would base64-encode.
    let armored = g.run_op(&["-u", &g.alice, "--armor"], "--detach-sign", &entity);
    let armored = text(&armored);
    assert!(
        armored.contains("-----BEGIN SIGNED MESSAGE-----"),
        "{armored}"
    );
    let b64: String = armored
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.contains(':'))
        .collect();
    let der = unbase64(b64.as_bytes());
    let mail = put(d, "signed-armor.eml", &wrap_clear_signed(ENTITY, &der));
    let out = d.join("content-armor.eml");
    let o = smime_verify_trusted(&mail, &out);
    assert!(o.status.success(), "smime verify (armor): {}", stderr(&o));
    assert_outer_and_entity(&std::fs::read(&out).unwrap(), ENTITY, "gpgsm armor");
}

#[test]
fn gpgsm_opaque_signature_as_pkcs7_mime_verifies() {
    let g = Gpgsm::new();
    let dir = tmpdir();
    let d = dir.path();
    let entity = put(d, "entity.txt", ENTITY);
    let cms = g.run_op(&["-u", &g.alice], "--sign", &entity);
    let mail = put(d, "opaque.eml", &wrap_pkcs7_mime(&cms, "signed-data"));
    let out = d.join("content.eml");
    let o = smime_verify_trusted(&mail, &out);
    assert!(o.status.success(), "smime verify: {}", stderr(&o));
    assert_outer_and_entity(&std::fs::read(&out).unwrap(), ENTITY, "gpgsm opaque");
}

#[test]
fn gpgsm_encrypted_entity_decrypts() {
    let g = Gpgsm::new();
    let p = pki();
    let dir = tmpdir();
    let d = dir.path();
    let entity = put(d, "entity.txt", ENTITY);
    let cms = g.run_op(&["-r", &g.alice], "--encrypt", &entity);
    let mail = put(d, "enc.eml", &wrap_pkcs7_mime(&cms, "enveloped-data"));
    for with_cert in [false, true] {
        let out = d.join(format!("dec-{with_cert}.eml"));
        let mut args = vec!["decrypt", "--key", p.alice.key()];
        if with_cert {
            args.extend(["--cert", p.alice.cert()]);
        }
        args.extend(["--in", s(&mail), "--out", s(&out)]);
        smime_ok(&args);
        assert_outer_and_entity(&std::fs::read(&out).unwrap(), ENTITY, "gpgsm encrypted");
    }
    // A key that is not a recipient's: see
    // wrong_key_on_a_mail_says_what_it_says_on_der.
}

#[test]
fn smime_multipart_signed_verifies_with_gpgsm() {
    let g = Gpgsm::new();
    let p = pki();
    let dir = tmpdir();
    let d = dir.path();
    let input = put(d, "mail.eml", &mail_of(ENTITY));
    let signed = d.join("signed.eml");
    smime_ok(&[
        "sign",
        "--key",
        p.alice.key(),
        "--cert",
        p.alice.cert(),
        "--in",
        s(&input),
        "--out",
        s(&signed),
    ]);
    let signed = std::fs::read(&signed).unwrap();
    let (fields, _) = split_entity(&signed);
    assert_eq!(
        field(&fields, "From").as_deref(),
        Some("Alice Example <alice@example.com>"),
        "the outer fields stay outside"
    );
    let ct = field(&fields, "Content-Type").unwrap();
    assert_eq!(param(&ct, "micalg").as_deref(), Some("sha-256"), "{ct}");
    let (part, sig) = clear_signed_parts(&signed);
    // The entity is 8bit: RFC 8551 section 3.1.2 wants it in 7 bits inside
    // multipart/signed, so the signed part carries the same Content-Type
    // and the same text in base64 or quoted-printable.
    let (part_fields, part_body) = split_entity(&part);
    assert_eq!(
        field(&part_fields, "Content-Type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    let cte = field(&part_fields, "Content-Transfer-Encoding").unwrap_or_default();
    assert!(part.is_ascii(), "the signed part is 7bit: {}", text(&part));
    let (_, entity_body) = split_entity(ENTITY);
    if cte.eq_ignore_ascii_case("base64") {
        assert_eq!(unbase64(&part_body), entity_body);
    } else {
        assert!(cte.eq_ignore_ascii_case("quoted-printable"), "{cte}");
        assert!(text(&part_body).contains("MARKER-LINE"));
    }
    let part_path = put(d, "part.txt", &part);
    let sig_path = put(d, "sig.p7s", &sig);
    let (o, status) = g.verify(&sig_path, Some(&part_path));
    assert_gpgsm_good(&o, &status, "multipart/signed");
    // One byte of the part changed (it may be base64: change its header).
    let at = part
        .windows(5)
        .position(|w| w == b"utf-8")
        .expect("the charset");
    let mut bad = part.clone();
    bad[at + 4] = b'9';
    let bad = put(d, "part-bad.txt", &bad);
    let (o, status) = g.verify(&sig_path, Some(&bad));
    assert_gpgsm_bad(&o, &status, "multipart/signed part");
}

#[test]
fn smime_opaque_signature_verifies_with_gpgsm() {
    let g = Gpgsm::new();
    let p = pki();
    let dir = tmpdir();
    let d = dir.path();
    let input = put(d, "mail.eml", &mail_of(ENTITY));
    let signed = d.join("opaque.eml");
    smime_ok(&[
        "sign",
        "--opaque",
        "--key",
        p.alice.key(),
        "--cert",
        p.alice.cert(),
        "--in",
        s(&input),
        "--out",
        s(&signed),
    ]);
    let cms = pkcs7_mime_body(&std::fs::read(&signed).unwrap(), "signed-data");
    let cms_path = put(d, "opaque.p7m", &cms);
    let (o, status) = g.verify(&cms_path, None);
    assert_gpgsm_good(&o, &status, "opaque");
    // gpgsm gives back the entity.
    let content = d.join("content.txt");
    run_ok(
        g.cmd()
            .args(["--verify", "--output"])
            .arg(&content)
            .arg(&cms_path),
        b"",
    );
    assert_eq!(std::fs::read(&content).unwrap(), ENTITY);
    let bad = put(d, "opaque-bad.p7m", &tamper(&cms));
    let (o, status) = g.verify(&bad, None);
    assert_gpgsm_bad(&o, &status, "opaque");
}

#[test]
fn smime_encrypted_mail_decrypts_with_gpgsm() {
    let g = Gpgsm::new();
    let p = pki();
    let dir = tmpdir();
    let d = dir.path();
    let input = put(d, "mail.eml", &mail_of(ENTITY));
    let enc = d.join("enc.eml");
    smime_ok(&[
        "encrypt",
        "-r",
        p.alice.cert(),
        "--in",
        s(&input),
        "--out",
        s(&enc),
    ]);
    let enc = std::fs::read(&enc).unwrap();
    let (fields, _) = split_entity(&enc);
    assert_eq!(field(&fields, "Subject").as_deref(), Some("Interop"));
    let cms = pkcs7_mime_body(&enc, "enveloped-data");
    let cms_path = put(d, "enc.p7m", &cms);
    let out = g.run_op(&[], "--decrypt", &cms_path);
    assert_eq!(text(&out), text(ENTITY), "gpgsm --decrypt of our mail");
}

// ---------------------------------------------------------------------------
// Real messages from other clients.

/// A file in the shared interop folder (fails clearly if it is missing).
fn interop(rel: &str) -> PathBuf {
    let base = std::env::var_os("SMIME_INTEROP_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop"),
        PathBuf::from,
    );
    assert!(
        base.is_dir(),
        "the shared interop folder is missing: expected {} (set SMIME_INTEROP_DIR to point \
         elsewhere)",
        base.display()
    );
    let p = base.join(rel);
    assert!(p.exists(), "interop sample missing: {}", p.display());
    p
}

const BC_MAIL: &str = "bc-java/mail/src/test/resources/org/bouncycastle/mail/smime/test";
const RFC4134: &str = "bc-csharp/crypto/test/data/rfc4134";
const AUTOCRYPT: &str = "autocrypt-protected-headers";

/// `openssl cms -verify -noverify` of `mail`: the content it writes
/// (`cms`, not `smime`: OpenSSL's PKCS#7 path cannot verify RSASSA-PSS; the
/// content written is the same).
fn openssl_verify_content(mail: &Path, dir: &Path) -> Vec<u8> {
    let out = dir.join("openssl-content");
    run_ok(
        openssl()
            .args(["cms", "-verify", "-noverify", "-in", s(mail), "-out"])
            .arg(&out),
        b"",
    );
    std::fs::read(out).unwrap()
}

/// `openssl smime -decrypt` of `mail` with `key`.
fn openssl_decrypt_content(mail: &Path, key: &Path, key_der: bool, dir: &Path) -> Vec<u8> {
    let out = dir.join("openssl-decrypted");
    let mut c = openssl();
    c.args(["smime", "-decrypt", "-in", s(mail), "-inkey", s(key)]);
    if key_der {
        c.args(["-keyform", "DER"]);
    }
    run_ok(c.arg("-out").arg(&out), b"");
    std::fs::read(out).unwrap()
}

/// The address in a mail's From field.
fn from_address(mail: &[u8]) -> String {
    let (fields, _) = split_entity(mail);
    let from = field(&fields, "From").expect("a From field");
    let from = from.rsplit_once('<').map_or(from.as_str(), |(_, a)| a);
    from.trim_end_matches('>').trim().to_ascii_lowercase()
}

#[test]
fn signed_mails_from_other_clients_verify_and_match_openssl() {
    let dir = tmpdir();
    let d = dir.path();
    for rel in [
        format!("{BC_MAIL}/validator.validMail.eml"),
        format!("{BC_MAIL}/qp-soft-break.eml"),
        format!("{BC_MAIL}/3nnn_smime.eml"),
        format!("{BC_MAIL}/openssl-signed-sha256-non-default-salt-length.eml"),
        format!("{AUTOCRYPT}/smime-multipart-signed.eml"),
        format!("{AUTOCRYPT}/smime-onepart-signed.eml"),
    ] {
        let mail = interop(&rel);
        let raw = std::fs::read(&mail).unwrap();
        let out = d.join("ours.eml");
        let _ = std::fs::remove_file(&out);
        let err = smime_ok(&[
            "verify",
            "--no-chain-check",
            "--in",
            s(&mail),
            "--out",
            s(&out),
        ]);
        let from = from_address(&raw);
        assert!(
            err.contains(&format!("{from} (matches the certificate)")),
            "{rel}: From {from} not reported as matching:\n{err}"
        );
        assert!(err.contains("Status:     VALID"), "{rel}: {err}");
        let ours = std::fs::read(&out).unwrap();
        let theirs = openssl_verify_content(&mail, d);
        assert_same_entity(&ours, &theirs, &raw, &rel);
    }
}

#[test]
fn extra_nl_signature_is_valid_but_from_is_someone_else() {
    // extra-nl.eml (Djigzo/Thunderbird) has an extra empty line before the
    // closing delimiter of the signed multipart/mixed part. The signature is
    // valid: it covers that empty line (RFC 2046: only the line end right
    // before a delimiter belongs to the delimiter), and `openssl smime
    // -verify -noverify` accepts it too. But it is signed with a
    // certificate for test@example.com while From is martijn@djigzo.com: a
    // signature by someone else, which must fail unless --ignore-from.
    let dir = tmpdir();
    let d = dir.path();
    let mail = interop(&format!("{BC_MAIL}/extra-nl.eml"));
    let raw = std::fs::read(&mail).unwrap();
    let out = d.join("ours.eml");
    let line = smime_err(&[
        "verify",
        "--no-chain-check",
        "--in",
        s(&mail),
        "--out",
        s(&out),
    ]);
    assert!(
        line.contains("martijn@djigzo.com") && line.contains("From"),
        "{line}"
    );
    assert!(!out.exists(), "content written despite the From failure");
    let err = smime_ok(&[
        "verify",
        "--no-chain-check",
        "--ignore-from",
        "--in",
        s(&mail),
        "--out",
        s(&out),
    ]);
    assert!(err.contains("Status:     VALID"), "{err}");
    let ours = std::fs::read(&out).unwrap();
    let theirs = openssl_verify_content(&mail, d);
    assert!(
        lf(&theirs).ends_with(b"_08_20--\n\n"),
        "OpenSSL's content keeps the extra empty line"
    );
    assert_same_entity(&ours, &theirs, &raw, "extra-nl");

    // Without the extra empty line the signature no longer matches: the
    // line is really part of what was signed.
    let needle = b"_08_20--\n\n\n------=_Part_0";
    let at = raw
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the extra empty line");
    let mut shorter = raw.clone();
    shorter.remove(at + 8);
    let shorter = put(d, "extra-nl-shorter.eml", &shorter);
    let line = smime_err(&[
        "verify",
        "--no-chain-check",
        "--ignore-from",
        "--in",
        s(&shorter),
        "--out",
        s(&d.join("shorter-out.eml")),
    ]);
    assert!(!line.contains("From"), "{line}");
}

#[test]
fn rfc4134_dsa_mails_are_refused_as_unsupported() {
    for name in ["4.8.eml", "4.9.eml"] {
        let dir = tmpdir();
        let mail = interop(&format!("{RFC4134}/{name}"));
        let out = dir.path().join("out.eml");
        let line = smime_err(&[
            "verify",
            "--no-chain-check",
            "--in",
            s(&mail),
            "--out",
            s(&out),
        ]);
        assert!(line.contains("not supported"), "{name}: {line}");
        assert!(!out.exists(), "{name}: content written");
    }
}

#[test]
fn rfc4134_5_3_enveloped_mail_decrypts() {
    let dir = tmpdir();
    let d = dir.path();
    let mail = interop(&format!("{RFC4134}/5.3.eml"));
    // DER PKCS#8, taken as it is.
    let key = interop(&format!("{RFC4134}/BobPrivRSAEncrypt.pri"));
    let out = d.join("dec.eml");
    smime_ok(&[
        "decrypt",
        "--key",
        s(&key),
        "--in",
        s(&mail),
        "--out",
        s(&out),
    ]);
    let ours = std::fs::read(&out).unwrap();
    // RFC 4134 section 5.3: the content is ExContent, "This is some sample
    // content." (no header of its own).
    let rfc = std::fs::read_to_string(interop(&format!("{RFC4134}/rfc4134.txt"))).unwrap();
    assert!(rfc.contains("This is some sample content."));
    let (fields, body) = split_entity(&ours);
    assert_eq!(body, b"This is some sample content.");
    assert_eq!(
        body,
        std::fs::read(interop(&format!("{RFC4134}/ExContent.bin"))).unwrap()
    );
    assert_eq!(field(&fields, "Subject").as_deref(), Some("Example 5.3"));
    assert!(
        field(&fields, "Content-Type").is_none(),
        "the enveloped-data Content-Type left: {fields:?}"
    );
    // The entity has no header of its own: OpenSSL writes the body only.
    let theirs = openssl_decrypt_content(&mail, &key, true, d);
    assert_eq!(text(&body), text(&theirs), "OpenSSL's content");
}

/// Bob's private key from the header-protection samples (the PEM file
/// made from bob.p12 holds the certificates first and then the key).
fn autocrypt_bob_key(dir: &Path) -> PathBuf {
    let all = std::fs::read_to_string(interop(&format!(
        "{AUTOCRYPT}/extracted/bob.p12.contents.pem"
    )))
    .unwrap();
    let begin = all.find("-----BEGIN PRIVATE KEY-----").expect("a key");
    let end = all.find("-----END PRIVATE KEY-----").expect("a key end");
    put(
        dir,
        "bob.key",
        &all.as_bytes()[begin..end + "-----END PRIVATE KEY-----\n".len()],
    )
}

#[test]
fn header_protection_samples_decrypt_and_verify() {
    let dir = tmpdir();
    let d = dir.path();
    let key = autocrypt_bob_key(d);
    let bob_cert = interop(&format!(
        "{AUTOCRYPT}/extracted/bob.draft-dkg-lamps-samples-01.crt.pem"
    ));
    let ca = interop(&format!("{AUTOCRYPT}/sample-ca.pem"));

    // Encrypted only: the inner entity is multipart/mixed with a legacy
    // display part.
    let mail = interop(&format!("{AUTOCRYPT}/smime-enc+legacy-disp.eml"));
    let raw = std::fs::read(&mail).unwrap();
    let out = d.join("enc.eml");
    smime_ok(&[
        "decrypt",
        "--key",
        s(&key),
        "--cert",
        s(&bob_cert),
        "--in",
        s(&mail),
        "--out",
        s(&out),
    ]);
    let ours = std::fs::read(&out).unwrap();
    let theirs = openssl_decrypt_content(&mail, &key, false, d);
    assert_same_entity(&ours, &theirs, &raw, "smime-enc+legacy-disp");
    let inner =
        std::fs::read(interop(&format!("{AUTOCRYPT}/smime-enc+legacy-disp.inner"))).unwrap();
    assert_same_entity(&ours, &inner, &raw, "smime-enc+legacy-disp (.inner)");

    // Signed, then encrypted: decrypt stops at the signature; verify (with
    // the samples' CA) takes it off.
    let mail = interop(&format!("{AUTOCRYPT}/smime-sign+enc.eml"));
    let raw = std::fs::read(&mail).unwrap();
    let dec = d.join("sign+enc.dec.eml");
    smime_ok(&[
        "decrypt",
        "--key",
        s(&key),
        "--in",
        s(&mail),
        "--out",
        s(&dec),
    ]);
    let ours = std::fs::read(&dec).unwrap();
    let theirs = openssl_decrypt_content(&mail, &key, false, d);
    assert_same_entity(&ours, &theirs, &raw, "smime-sign+enc decrypted");
    let (fields, _) = split_entity(&ours);
    let ct = field(&fields, "Content-Type").unwrap();
    assert_eq!(
        param(&ct, "smime-type").as_deref(),
        Some("signed-data"),
        "{ct}"
    );

    let out = d.join("sign+enc.out.eml");
    let err = smime_ok(&[
        "verify",
        "--trust",
        s(&ca),
        "--in",
        s(&dec),
        "--out",
        s(&out),
    ]);
    assert!(
        err.contains("alice@smime.example (matches the certificate)"),
        "{err}"
    );
    let ours = std::fs::read(&out).unwrap();
    let theirs = openssl_verify_content(&dec, d);
    assert_same_entity(&ours, &theirs, &raw, "smime-sign+enc verified");
    let inner = std::fs::read(interop(&format!("{AUTOCRYPT}/smime-sign+enc.inner.inner"))).unwrap();
    assert_same_entity(&ours, &inner, &raw, "smime-sign+enc (.inner.inner)");
    assert!(
        text(&ours).contains("Hi Bob!") && text(&ours).contains("Subject: BarCorp contract signed"),
        "{}",
        text(&ours)
    );
}

#[test]
fn header_protection_decrypted_entity_keeps_its_field_order() {
    // RFC 5322 §3.6: fields SHOULD NOT be reordered. `smime decrypt` writes
    // the decrypted entity's header fields (protected headers among them) in
    // the order the sender put them, as OpenSSL does.
    let dir = tmpdir();
    let d = dir.path();
    let key = autocrypt_bob_key(d);
    let mail = interop(&format!("{AUTOCRYPT}/smime-enc+legacy-disp.eml"));
    let out = d.join("enc.eml");
    smime_ok(&[
        "decrypt",
        "--key",
        s(&key),
        "--in",
        s(&mail),
        "--out",
        s(&out),
    ]);
    let ours = std::fs::read(&out).unwrap();
    let theirs = crlf(&openssl_decrypt_content(&mail, &key, false, d));
    assert!(
        ours.ends_with(&theirs),
        "our output does not end with OpenSSL's decrypted entity:\n--- ours\n{}\n--- openssl\n{}",
        text(&ours),
        text(&theirs)
    );
}

/// key.pem and cert.pem of the Bouncy Castle mail samples (a pair).
fn bc_key_and_cert() -> (PathBuf, PathBuf) {
    (
        interop(&format!("{BC_MAIL}/key.pem")),
        interop(&format!("{BC_MAIL}/cert.pem")),
    )
}

#[test]
fn outlook_2010_mail_for_someone_else_says_no_recipient() {
    // outlook_2010_beta_sime_msg.eml (3DES, BER) is to a subject key id
    // that no certificate in the folder has, so no key there opens it. With
    // a key and its certificate the answer must be the one the same
    // message gives as bare DER: "no recipient info matches any offered
    // key".
    let dir = tmpdir();
    let d = dir.path();
    let (key, cert) = bc_key_and_cert();
    let mail = interop(&format!("{BC_MAIL}/outlook_2010_beta_sime_msg.eml"));
    let der = put(
        d,
        "outlook.p7m",
        &pkcs7_mime_body(&std::fs::read(&mail).unwrap(), "enveloped-data"),
    );
    let out = d.join("out.eml");
    for input in [&der, &mail] {
        let line = smime_err(&[
            "decrypt",
            "--key",
            s(&key),
            "--cert",
            s(&cert),
            "--in",
            s(input),
            "--out",
            s(&out),
        ]);
        assert!(line.contains("no recipient"), "{}: {line}", input.display());
        assert!(!out.exists());
    }
}

#[test]
fn dotnet_mail_mislabelled_signed_data_gives_a_clear_error() {
    // dotnet_encrypted_mail.eml is EnvelopedData (to dotnet_enc_cert.pem,
    // whose key is not in the folder) but labelled smime-type=signed-data.
    // Neither command can succeed; both must say something a user can act
    // on, not a bare I/O error kind.
    let dir = tmpdir();
    let d = dir.path();
    let (key, cert) = bc_key_and_cert();
    let mail = interop(&format!("{BC_MAIL}/dotnet_encrypted_mail.eml"));
    let out = d.join("out.eml");
    for args in [
        vec!["decrypt", "--key", s(&key), "--cert", s(&cert)],
        vec!["verify", "--no-chain-check"],
    ] {
        let mut args = args;
        args.extend(["--in", s(&mail), "--out", s(&out)]);
        let line = smime_err(&args);
        assert!(
            !line.contains("InvalidData") && !line.contains("output error"),
            ".NET mail, smime {}: an error that says nothing: {line}",
            args[0]
        );
        assert!(!out.exists());
    }
}

#[test]
fn wrong_key_on_a_mail_says_what_it_says_on_der() {
    // The same message as DER and as mail, decrypted with a key that is not
    // a recipient's: the errors must say so in both forms.
    let p = pki();
    let dir = tmpdir();
    let d = dir.path();
    let input = put(d, "mail.eml", &mail_of(ENTITY));
    let enc_mail = d.join("enc.eml");
    smime_ok(&[
        "encrypt",
        "-r",
        p.bob.cert(),
        "--in",
        s(&input),
        "--out",
        s(&enc_mail),
    ]);
    let cms = pkcs7_mime_body(&std::fs::read(&enc_mail).unwrap(), "enveloped-data");
    let enc_der = put(d, "enc.der", &cms);
    let out = d.join("out");
    for enc in [&enc_der, &enc_mail] {
        let line = smime_err(&[
            "decrypt",
            "--key",
            p.alice.key(),
            "--cert",
            p.alice.cert(),
            "--in",
            s(enc),
            "--out",
            s(&out),
        ]);
        assert!(line.contains("no recipient"), "{}: {line}", enc.display());
        let line = smime_err(&[
            "decrypt",
            "--key",
            p.alice.key(),
            "--in",
            s(enc),
            "--out",
            s(&out),
        ]);
        assert!(
            line.contains("decryption failed"),
            "{}: {line}",
            enc.display()
        );
        assert!(!out.exists());
    }
}

// ---------------------------------------------------------------------------
// Nesting as other clients make it.

#[test]
fn openssl_triple_wrapped_mail_is_taken_apart() {
    let p = pki();
    let dir = tmpdir();
    let d = dir.path();
    let entity = put(d, "entity.txt", ENTITY);
    // 1. Sign the entity (clear-signed; OpenSSL canonicalises to CRLF).
    let signed1 = d.join("signed1.eml");
    run_ok(
        openssl()
            .args(["smime", "-sign", "-md", "sha256", "-signer", p.alice.cert()])
            .args([
                "-inkey",
                p.alice.key(),
                "-in",
                s(&entity),
                "-out",
                s(&signed1),
            ]),
        b"",
    );
    // 2. Encrypt the signed entity (its MIME-Version and Content-Type
    //    fields are the entity's header) to Bob.
    let enc = d.join("enc.eml");
    run_ok(
        openssl()
            .args([
                "smime",
                "-encrypt",
                "-aes256",
                "-in",
                s(&signed1),
                "-out",
                s(&enc),
            ])
            .arg(p.bob.cert()),
        b"",
    );
    // 3. Sign that again, with the outer fields.
    let triple = d.join("triple.eml");
    run_ok(
        openssl()
            .args(["smime", "-sign", "-md", "sha256", "-signer", p.alice.cert()])
            .args(["-inkey", p.alice.key(), "-in", s(&enc), "-out", s(&triple)])
            .args(["-from", "Alice Example <alice@example.com>"])
            .args(["-to", "bob@example.com", "-subject", "Triple"]),
        b"",
    );

    // Decrypt first is refused, in one line: the outer layer is a
    // signature.
    let line = smime_fails(
        &[
            "decrypt",
            "--key",
            p.bob.key(),
            "--in",
            s(&triple),
            "--out",
            s(&d.join("never.eml")),
        ],
        b"",
    );
    assert!(line.contains("smime verify"), "{line}");
    assert!(!d.join("never.eml").exists());

    let v1 = d.join("v1.eml");
    let err = smime_ok(&[
        "verify",
        "--trust",
        p.ca.cert(),
        "--in",
        s(&triple),
        "--out",
        s(&v1),
    ]);
    assert!(
        err.contains("alice@example.com (matches the certificate)"),
        "{err}"
    );
    let v1_data = std::fs::read(&v1).unwrap();
    let (fields, _) = split_entity(&v1_data);
    let ct = field(&fields, "Content-Type").unwrap();
    assert!(
        param(&ct, "smime-type").as_deref() == Some("enveloped-data"),
        "verify stops at the encryption: {ct}"
    );
    assert_eq!(field(&fields, "Subject").as_deref(), Some("Triple"));

    let d1 = d.join("d1.eml");
    smime_ok(&[
        "decrypt",
        "--key",
        p.bob.key(),
        "--cert",
        p.bob.cert(),
        "--in",
        s(&v1),
        "--out",
        s(&d1),
    ]);
    let d1_data = std::fs::read(&d1).unwrap();
    let (fields, _) = split_entity(&d1_data);
    let ct = field(&fields, "Content-Type").unwrap();
    assert!(
        ct.starts_with("multipart/signed"),
        "decrypt stops at the signature: {ct}"
    );

    let v2 = d.join("v2.eml");
    smime_ok(&[
        "verify",
        "--trust",
        p.ca.cert(),
        "--in",
        s(&d1),
        "--out",
        s(&v2),
    ]);
    let v2_data = std::fs::read(&v2).unwrap();
    assert!(
        v2_data.ends_with(ENTITY),
        "the original entity at the end:\n{}",
        text(&v2_data)
    );
    let (fields, _) = split_entity(&v2_data);
    assert_eq!(field(&fields, "Subject").as_deref(), Some("Triple"));
    assert_eq!(
        field(&fields, "Content-Type").as_deref(),
        Some("text/plain; charset=utf-8")
    );

    // A byte changed in the innermost text is caught at the last step: the
    // decrypted signed layer, tampered, does not verify.
    let bad = put(d, "d1-bad.eml", &tamper(&d1_data));
    let line = smime_err(&[
        "verify",
        "--trust",
        p.ca.cert(),
        "--in",
        s(&bad),
        "--out",
        s(&d.join("v2-bad.eml")),
    ]);
    assert!(!line.is_empty());
}
