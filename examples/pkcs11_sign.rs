//! Signs a mail with a key on a PKCS#11 token (an HSM, a USB token, SoftHSM):
//! the private key never leaves the token; the mail is hashed on the host.
//!
//! ```sh
//! cargo run -p smime-pkcs11 --example pkcs11_sign -- \
//!     'pkcs11:token=my-token;object=signing-key?pin-source=/run/secrets/pin&module-path=/usr/lib/softhsm/libsofthsm2.so' \
//!     mail.eml > signed.eml
//! openssl smime -verify -CAfile ca.pem -in signed.eml
//! ```
//!
//! The certificate is the one stored on the token with the key's CKA_ID.
//! The result is a multipart/signed mail (RFC 8551): the From, To, Subject
//! and Date fields stay outside, the body is signed.

use std::io::Write as _;

use smime_core::cms::sign::SignOptions;
use smime_core::mime::{BodyEncoder, Boundary, MessageSplitter, MultipartSignedWriter};
use smime_pkcs11::{OpenOptions, Pkcs11Key, Pkcs11Uri};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(uri), Some(mail)) = (args.next(), args.next()) else {
        return Err("usage: pkcs11_sign PKCS11-URI MAIL.eml > SIGNED.eml".into());
    };
    let uri = Pkcs11Uri::parse(&uri)?;
    let key = Pkcs11Key::open(&uri, &OpenOptions::default())?;
    if key.certificate().is_none() {
        return Err(format!(
            "token '{}' holds no certificate for the key",
            key.token_label()
        )
        .into());
    }
    let mail = std::fs::read(mail)?;

    // The outer header fields go out as they are; the Content-* fields and
    // the body are what is signed.
    let mut field = vec![0u8; 64 * 1024];
    let mut content = vec![0u8; 64 * 1024];
    let mut splitter = MessageSplitter::new(&mut field, &mut content);
    let mut out: Vec<u8> = Vec::new();
    let (used, done) = splitter.push(&mail, &mut out)?;
    if !done {
        splitter.finish(&mut out)?;
    }
    if !splitter.info().has_mime_version {
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    }

    let mut signers = [key];
    let mut scratch = vec![0u8; 64 * 1024];
    let boundary = Boundary::random(&mut getrandom::SysRng)?;
    let mut writer = MultipartSignedWriter::new(
        out,
        &mut signers,
        &mut scratch,
        &SignOptions::default(),
        boundary,
    )?;
    let info = splitter.info();
    splitter.write_entity_header(&mut writer, info.needs_base64_for_signing())?;
    let mut body = BodyEncoder::for_signing(&info, &mut writer);
    body.write(mail.get(used..).unwrap_or_default())?;
    body.finish()?;
    let signed = writer.finish()?;
    std::io::stdout().write_all(&signed)?;
    Ok(())
}
