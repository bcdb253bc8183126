//! `smime demo`: the main job on an embedded default, with no files and no
//! services.
//!
//! 1. Makes a throwaway CA and two identities, Alice and Bob (RSA-2048,
//!    X.509 v3 certificates from [`crate::certgen`]), in memory.
//! 2. Encrypts a short message from Alice to Bob and Alice (two recipients)
//!    with AES-256-CBC through the core's [`EnvelopedDataEncoder`].
//! 3. Parses Bob's certificate back with [`CertificateRef`], decrypts with
//!    Bob's key through the core's [`EnvelopedDataDecoder`], checks the
//!    plaintext, and says what happened.

use std::fmt::Write as _;
use std::io::Write as _;

use getrandom::SysRng;
use smime_core::cipher::ContentCipher;
use smime_core::cms::enveloped::{
    DEFAULT_SCRATCH_LEN, DecryptOptions, EncryptOptions, EnvelopedDataDecoder,
    EnvelopedDataEncoder, Recipient,
};
use smime_core::soft::SoftRsaKey;
use smime_core::x509::CertificateRef;

use crate::certgen::{self, CertSpec, Identity};
use crate::cli::DemoArgs;
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

/// The demo, returning its report (it ends with `OK` when all went well).
pub fn run_to_string(message: &[u8]) -> Result<String> {
    let mut rng = SysRng;
    let mut r = String::new();
    let _ = writeln!(
        r,
        "smime demo: S/MIME EnvelopedData round trip, all in memory"
    );
    let _ = writeln!(r, "1. generating a CA and two identities (RSA-{BITS})");
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

    // 2. Encrypt from Alice to Bob and to Alice herself.
    let bob_cert = CertificateRef::from_der(bob.cert_der()).context("Bob's certificate")?;
    let alice_cert = CertificateRef::from_der(alice.cert_der()).context("Alice's certificate")?;
    let recipients = [Recipient::new(bob_cert), Recipient::new(alice_cert)];
    let options = EncryptOptions {
        cipher: ContentCipher::Aes256Cbc,
        content_len: Some(u64::try_from(message.len()).map_err(Error::msg)?),
        ..EncryptOptions::default()
    };
    let mut enc = EnvelopedDataEncoder::<_>::new(Vec::new(), &recipients, &options, &mut rng)
        .context("encrypting")?;
    enc.write(message).context("encrypting")?;
    let encrypted = enc.finish().context("encrypting")?;
    let _ = writeln!(
        r,
        "2. Alice encrypted a {}-byte message to Bob and Alice with {}: {} bytes of DER",
        message.len(),
        options.cipher,
        encrypted.len()
    );

    // 3. Bob: his certificate back from DER, his key, decrypt.
    let bob_der = bob.cert_der().to_vec();
    let parsed = CertificateRef::from_der(&bob_der).context("parsing Bob's certificate")?;
    let bob_key = SoftRsaKey::from_der(&bob.key_pkcs8_der()?)
        .and_then(|k| k.with_certificate(&bob_der))
        .map(|k| k.with_rng(SysRng))
        .context("Bob's key")?;
    let mut keys = [bob_key];
    let mut scratch = vec![0u8; DEFAULT_SCRATCH_LEN];
    let mut dec = EnvelopedDataDecoder::<_, _, _>::new(
        Vec::new(),
        &mut keys,
        SysRng,
        &mut scratch,
        DecryptOptions::default(),
    );
    dec.write(&encrypted).context("decrypting")?;
    let (plaintext, report) = dec.finish().context("decrypting")?;
    let _ = writeln!(
        r,
        "3. Bob ({}) decrypted it with key {} of 1: {}, {} recipient infos, {} bytes",
        parsed.subject(),
        report.key_index + 1,
        report.cipher,
        report.recipient_count,
        plaintext.len()
    );
    if plaintext != message {
        return Err(Error::msg(
            "the decrypted message differs from the original",
        ));
    }
    let _ = writeln!(r, "   plaintext: {}", String::from_utf8_lossy(&plaintext));
    let _ = writeln!(r, "OK");
    Ok(r)
}
