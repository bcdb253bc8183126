//! `smime demo`: the whole S/MIME workflow on an embedded default, with no
//! services and nothing left behind (a temporary directory).
//!
//! 0. Makes a throwaway CA and two identities, Alice and Bob (RSA-2048,
//!    X.509 v3 certificates from [`crate::certgen`]).
//! 1. Alice signs a mail to Bob (`smime sign`): a multipart/signed `.eml`.
//! 2. Bob harvests Alice's certificate from it into his store (`smime certs
//!    harvest`).
//! 3. Bob signs a reply and encrypts it to Alice, her certificate picked
//!    from his store by address (`smime sign`, `smime encrypt --to`).
//! 4. Alice decrypts it (`smime decrypt`) and verifies it (`smime verify`,
//!    chain to the CA, From address against the certificate); the text she
//!    reads is the text Bob wrote.
//!
//! Every step runs the subcommand itself on files, and shows the mail as
//! `.eml` text (long base64 bodies shortened).

use std::fmt::Write as _;
use std::io::Write as _;

use std::path::Path;

use getrandom::SysRng;
use smime_core::x509::CertificateRef;

use crate::certgen::{self, CertSpec, Identity};
use crate::cli::{
    CipherArg, ContentForm, DecryptArgs, DecryptedForm, DemoArgs, DigestArg, EncryptArgs,
    MessageForm, SignArgs, VerifyArgs,
};
use crate::error::{Context, Error, Result};

/// RSA modulus size of the demo identities.
const BITS: usize = 2048;

fn hex_colons(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

fn describe(who: &str, id: &Identity) -> Result<String> {
    let cert = CertificateRef::from_der(id.cert_der()).context("parsing a demo certificate")?;
    Ok(format!(
        "  {who:<6} {}\n         issuer {}, serial {}, valid until {}\n         SHA-256 {}",
        cert.subject(),
        cert.issuer(),
        hex_colons(cert.serial()),
        cert.not_after(),
        hex_colons(&cert.fingerprint_sha256()),
    ))
}

/// Runs `smime demo`, printing to standard output.
pub fn run(args: &DemoArgs) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let report = run_to_string(args.message.as_bytes())?;
    stdout
        .write_all(report.as_bytes())
        .context("writing standard output")?;
    Ok(())
}

/// A mail text shown with its base64 runs shortened to three lines.
fn show_eml(r: &mut String, title: &str, data: &[u8]) {
    let _ = writeln!(r, "   ---- {title} ----");
    let text = String::from_utf8_lossy(data);
    let mut run = 0usize;
    let mut hidden = 0usize;
    for line in text.lines() {
        let b64 = line.len() >= 60
            && line
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
        if b64 {
            run += 1;
            if run > 3 {
                hidden += 1;
                continue;
            }
        } else {
            if hidden > 0 {
                let _ = writeln!(r, "   | [... {hidden} more lines of base64]");
            }
            run = 0;
            hidden = 0;
        }
        let _ = writeln!(r, "   | {line}");
    }
    if hidden > 0 {
        let _ = writeln!(r, "   | [... {hidden} more lines of base64]");
    }
    let _ = writeln!(r, "   ----");
}

fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    std::fs::write(path, data).with_context(|| format!("writing '{}'", path.display()))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading '{}'", path.display()))
}

/// The text of a mail's body (after the empty line), base64 undone, line
/// ends made LF.
fn body_of(mail: &[u8]) -> String {
    let text = String::from_utf8_lossy(mail).replace("\r\n", "\n");
    let Some((head, body)) = text.split_once("\n\n") else {
        return String::new();
    };
    if head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: base64")
    {
        let clean: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let decoded =
            <base64ct::Base64 as base64ct::Encoding>::decode_vec(&clean).unwrap_or_default();
        String::from_utf8_lossy(&decoded).replace("\r\n", "\n")
    } else {
        body.to_owned()
    }
}

/// The demo, returning its report (it ends with `OK` when all went well).
pub fn run_to_string(message: &[u8]) -> Result<String> {
    let mut rng = SysRng;
    let mut r = String::new();
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let d = dir.path();
    let f = |name: &str| d.join(name);
    let _ = writeln!(
        r,
        "smime demo: signed and encrypted S/MIME mail between Alice and Bob"
    );
    let _ = writeln!(r, "0. a CA and two identities (RSA-{BITS}), throwaway");
    let ca = certgen::self_signed_ca(&mut rng, &CertSpec::ca("Demo CA", "smime demo"), BITS)?;
    let alice = certgen::issue(
        &mut rng,
        &ca,
        &CertSpec::user("Alice", "smime demo", Some("alice@example.org")),
        BITS,
    )?;
    let bob = certgen::issue(
        &mut rng,
        &ca,
        &CertSpec::user("Bob", "smime demo", Some("bob@example.org")),
        BITS,
    )?;
    for (who, id) in [("CA", &ca), ("Alice", &alice), ("Bob", &bob)] {
        let _ = writeln!(r, "{}", describe(who, id)?);
    }
    write_file(&f("ca.pem"), ca.cert_pem().as_bytes())?;
    for (name, id) in [("alice", &alice), ("bob", &bob)] {
        write_file(&f(&format!("{name}.pem")), id.cert_pem().as_bytes())?;
        write_file(&f(&format!("{name}.key")), id.key_pkcs8_pem()?.as_bytes())?;
    }

    // 1. Alice signs a mail to Bob.
    let text = String::from_utf8_lossy(message).into_owned();
    let mail = format!(
        "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\n\
         Subject: Our certificates\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <demo-1@example.org>\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {text}\r\n"
    );
    write_file(&f("mail.eml"), mail.as_bytes())?;
    crate::sign::run(&sign_args(
        &f("alice.key"),
        &f("alice.pem"),
        &f("mail.eml"),
        &f("signed.eml"),
    ))?;
    let _ = writeln!(
        r,
        "1. Alice signs a mail to Bob:\n   $ smime sign --key alice.key --cert alice.pem --in mail.eml --out signed.eml"
    );
    show_eml(&mut r, "signed.eml", &read_file(&f("signed.eml"))?);

    // 2. Bob harvests Alice's certificate.
    let h = crate::harvest::collect(&f("signed.eml"))?;
    if !h.valid {
        return Err(Error::msg("the signed mail does not verify"));
    }
    let store = crate::store::Store::open(&f("bob-store"))?;
    let _ = writeln!(
        r,
        "2. Bob harvests Alice's certificate from it:\n   $ smime certs harvest signed.eml --store bob-store"
    );
    for der in &h.certificates {
        let added = store.add(der)?;
        let c = CertificateRef::from_der(der)?;
        let _ = writeln!(
            r,
            "   added {}: {}",
            if added.addresses.is_empty() {
                "(CA)".to_owned()
            } else {
                added.addresses.join(", ")
            },
            c.subject()
        );
    }
    for (cert, caps) in &h.capabilities {
        store.set_capabilities(cert, caps)?;
        if smime_core::cms::capabilities::all_announce_aead(&[caps]) {
            let _ = writeln!(
                r,
                "   Alice's mail announced AES-GCM (SMIMECapabilities): mail to her is encrypted with AES-256-GCM"
            );
        }
    }

    // 3. Bob signs a reply and encrypts it to Alice, found by address.
    let reply_text = format!("Thanks, Alice. Got your certificate.\r\n> {text}");
    let reply = format!(
        "From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\n\
         Subject: Re: Our certificates\r\nDate: Mon, 23 Nov 2026 10:05:00 +0000\r\n\
         Message-ID: <demo-2@example.org>\r\nIn-Reply-To: <demo-1@example.org>\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {reply_text}\r\n"
    );
    write_file(&f("reply.eml"), reply.as_bytes())?;
    crate::sign::run(&sign_args(
        &f("bob.key"),
        &f("bob.pem"),
        &f("reply.eml"),
        &f("reply-signed.eml"),
    ))?;
    let enc = EncryptArgs {
        recipients: Vec::new(),
        to: vec!["alice@example.org".to_owned()],
        store: Some(f("bob-store")),
        cipher: None,
        oaep: false,
        oaep_hash: None,
        keyid: false,
        allow_any_key_usage: false,
        inform: ContentForm::Smime,
        outform: MessageForm::Smime,
        input: Some(f("reply-signed.eml")),
        output: Some(f("reply-encrypted.eml")),
        verbose: false,
    };
    crate::encrypt::run(&enc)?;
    let _ = writeln!(
        r,
        "3. Bob signs a reply and encrypts it to Alice, her certificate taken from his store:\n   \
         $ smime sign --key bob.key --cert bob.pem --in reply.eml --out reply-signed.eml\n   \
         $ smime encrypt --to alice@example.org --store bob-store --in reply-signed.eml --out reply-encrypted.eml"
    );
    show_eml(
        &mut r,
        "reply-encrypted.eml",
        &read_file(&f("reply-encrypted.eml"))?,
    );

    // 4. Alice decrypts and verifies.
    crate::decrypt::run(&DecryptArgs {
        keys: vec![f("alice.key")],
        certs: vec![f("alice.pem")],
        inform: None,
        password_source: None,
        outform: DecryptedForm::Binary,
        input: Some(f("reply-encrypted.eml")),
        output: Some(f("reply-decrypted.eml")),
        verbose: false,
    })?;
    crate::verify::run(&VerifyArgs {
        trust: vec![f("ca.pem")],
        certs: Vec::new(),
        crls: Vec::new(),
        no_chain_check: false,
        content: None,
        at: None,
        email: None,
        ignore_from: false,
        inform: None,
        outform: DecryptedForm::Binary,
        input: Some(f("reply-decrypted.eml")),
        output: Some(f("reply-read.eml")),
        quiet: true,
    })?;
    let _ = writeln!(
        r,
        "4. Alice decrypts it and verifies the signature (chain to Demo CA, From against Bob's certificate):\n   \
         $ smime decrypt --key alice.key --cert alice.pem --in reply-encrypted.eml --out reply-decrypted.eml\n   \
         $ smime verify --trust ca.pem --in reply-decrypted.eml --out reply-read.eml"
    );
    let read = read_file(&f("reply-read.eml"))?;
    show_eml(&mut r, "reply-read.eml", &read);
    let got = body_of(&read);
    let want = reply_text.replace("\r\n", "\n");
    if got.trim_end() != want.trim_end() {
        return Err(Error::msg(format_args!(
            "the text Alice reads differs from what Bob wrote: {got:?}"
        )));
    }
    let _ = writeln!(
        r,
        "   signature valid, signed by Bob; the text Alice reads, as Bob wrote it:"
    );
    for line in got.lines() {
        let _ = writeln!(r, "   > {line}");
    }
    let _ = writeln!(r, "OK");
    Ok(r)
}

fn sign_args(key: &Path, cert: &Path, input: &Path, output: &Path) -> SignArgs {
    SignArgs {
        key: key.to_path_buf(),
        cert: Some(cert.to_path_buf()),
        chain: Vec::new(),
        detached: false,
        digest: DigestArg::Sha256,
        pss: false,
        keyid: false,
        no_attributes: false,
        opaque: false,
        encrypt_to: Vec::new(),
        cipher: CipherArg::Aes256Cbc,
        inform: ContentForm::Smime,
        outform: MessageForm::Smime,
        input: Some(input.to_path_buf()),
        output: Some(output.to_path_buf()),
        verbose: false,
    }
}
