//! A small X.509 v3 certificate builder for throwaway identities (the demo
//! and the tests). Not a CA product: no policies, no CRL distribution points.
//!
//! Certificates are built by hand in DER:
//!
//! ```text
//! Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
//! TBSCertificate ::= SEQUENCE {
//!   version [0] EXPLICIT INTEGER (v3), serialNumber, signature AlgorithmIdentifier,
//!   issuer Name, validity Validity, subject Name, subjectPublicKeyInfo,
//!   extensions [3] EXPLICIT Extensions }
//! ```
//!
//! Names are `O=<organization>, CN=<common name>` (UTF8String); validity runs
//! from five minutes ago for [`CertSpec::validity_days`]; the serial number is
//! 16 random bytes; the subject key identifier is the SHA-1 of the public key
//! bits (RFC 5280 4.2.1.2 method 1); issued certificates carry the CA's key
//! identifier as authority key identifier. The signature is
//! sha256WithRSAEncryption.

use std::time::{SystemTime, UNIX_EPOCH};

use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::rand_core::TryCryptoRng;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use sha1::{Digest, Sha1};

use crate::error::{Error, Result};

/// keyUsage bits (RFC 5280 4.2.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KeyUsage(u16);

impl KeyUsage {
    /// digitalSignature (bit 0).
    pub const DIGITAL_SIGNATURE: KeyUsage = KeyUsage(1 << 0);
    /// nonRepudiation / contentCommitment (bit 1).
    pub const NON_REPUDIATION: KeyUsage = KeyUsage(1 << 1);
    /// keyEncipherment (bit 2).
    pub const KEY_ENCIPHERMENT: KeyUsage = KeyUsage(1 << 2);
    /// dataEncipherment (bit 3).
    pub const DATA_ENCIPHERMENT: KeyUsage = KeyUsage(1 << 3);
    /// keyAgreement (bit 4).
    pub const KEY_AGREEMENT: KeyUsage = KeyUsage(1 << 4);
    /// keyCertSign (bit 5).
    pub const KEY_CERT_SIGN: KeyUsage = KeyUsage(1 << 5);
    /// cRLSign (bit 6).
    pub const CRL_SIGN: KeyUsage = KeyUsage(1 << 6);

    /// Both sets of bits.
    pub const fn union(self, other: KeyUsage) -> KeyUsage {
        KeyUsage(self.0 | other.0)
    }

    /// The DER BIT STRING (tag, length, unused bits, bytes) with trailing
    /// zero bits removed, as DER requires for named bit lists.
    fn bit_string(self) -> Vec<u8> {
        // Bit i of the mask is bit i of the BIT STRING, counted from the most
        // significant bit of the first byte.
        let mut bytes = [0u8; 2];
        let mut last_bit = None;
        for i in 0..16usize {
            if self.0 & (1 << i) != 0 {
                bytes[i / 8] |= 0x80 >> (i % 8);
                last_bit = Some(i);
            }
        }
        let Some(last) = last_bit else {
            return tlv(0x03, &[0]);
        };
        let n = last / 8 + 1;
        let unused = 7 - (last % 8);
        let mut content = vec![u8::try_from(unused).unwrap_or(0)];
        content.extend_from_slice(&bytes[..n]);
        tlv(0x03, &content)
    }
}

/// What to put in a certificate.
#[derive(Clone, Debug)]
pub struct CertSpec<'a> {
    /// Subject common name.
    pub common_name: &'a str,
    /// Subject organization.
    pub organization: &'a str,
    /// An rfc822Name subject alternative name (e-mail address), if any.
    pub email: Option<&'a str>,
    /// keyUsage bits (the extension is critical).
    pub key_usage: KeyUsage,
    /// A CA certificate (critical basicConstraints cA=TRUE).
    pub ca: bool,
    /// Adds extKeyUsage emailProtection.
    pub email_protection: bool,
    /// Days of validity from now.
    pub validity_days: u32,
}

impl<'a> CertSpec<'a> {
    /// A CA: keyCertSign and cRLSign, basicConstraints cA, ten years.
    pub fn ca(common_name: &'a str, organization: &'a str) -> Self {
        Self {
            common_name,
            organization,
            email: None,
            key_usage: KeyUsage::KEY_CERT_SIGN.union(KeyUsage::CRL_SIGN),
            ca: true,
            email_protection: false,
            validity_days: 3650,
        }
    }

    /// An S/MIME user: digitalSignature and keyEncipherment, emailProtection,
    /// one year.
    pub fn user(common_name: &'a str, organization: &'a str, email: Option<&'a str>) -> Self {
        Self {
            common_name,
            organization,
            email,
            key_usage: KeyUsage::DIGITAL_SIGNATURE.union(KeyUsage::KEY_ENCIPHERMENT),
            ca: false,
            email_protection: true,
            validity_days: 365,
        }
    }
}

/// A key pair and its certificate.
#[derive(Clone, Debug)]
pub struct Identity {
    key: RsaPrivateKey,
    cert: Vec<u8>,
    name: Vec<u8>,
    key_id: [u8; 20],
}

impl Identity {
    /// The private key.
    pub fn key(&self) -> &RsaPrivateKey {
        &self.key
    }

    /// The certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert
    }

    /// The certificate, PEM.
    pub fn cert_pem(&self) -> String {
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &self.cert)
            .unwrap_or_default()
    }

    /// The private key as PKCS#8 DER.
    pub fn key_pkcs8_der(&self) -> Result<Vec<u8>> {
        let doc = self
            .key
            .to_pkcs8_der()
            .map_err(|e| Error::msg(format_args!("PKCS#8: {e}")))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// The private key as PKCS#8 PEM (`PRIVATE KEY`).
    pub fn key_pkcs8_pem(&self) -> Result<String> {
        let pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::msg(format_args!("PKCS#8: {e}")))?;
        Ok(pem.as_str().to_owned())
    }

    /// The subject key identifier put in the certificate.
    pub fn key_id(&self) -> &[u8; 20] {
        &self.key_id
    }
}

/// Generates an RSA key of `bits` bits (public exponent 65537).
pub fn generate_key<R: TryCryptoRng + ?Sized>(rng: &mut R, bits: usize) -> Result<RsaPrivateKey> {
    RsaPrivateKey::new(rng, bits).map_err(|e| Error::msg(format_args!("RSA key generation: {e}")))
}

/// A self-signed CA certificate with a fresh `bits`-bit key.
pub fn self_signed_ca<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    spec: &CertSpec<'_>,
    bits: usize,
) -> Result<Identity> {
    let key = generate_key(rng, bits)?;
    let name = name(spec.organization, spec.common_name);
    let key_id = key_id(&key.to_public_key())?;
    let cert = build(
        rng,
        spec,
        &key.to_public_key(),
        &name,
        &name,
        &key,
        &key_id,
        None,
    )?;
    Ok(Identity {
        key,
        cert,
        name,
        key_id,
    })
}

/// A certificate for a fresh `bits`-bit key, issued by `ca`.
pub fn issue<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    ca: &Identity,
    spec: &CertSpec<'_>,
    bits: usize,
) -> Result<Identity> {
    let key = generate_key(rng, bits)?;
    issue_for_key(rng, ca, spec, key)
}

/// A certificate for an existing key, issued by `ca` (a renewal keeps the key).
pub fn issue_for_key<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    ca: &Identity,
    spec: &CertSpec<'_>,
    key: RsaPrivateKey,
) -> Result<Identity> {
    let name = name(spec.organization, spec.common_name);
    let key_id = key_id(&key.to_public_key())?;
    let cert = build(
        rng,
        spec,
        &key.to_public_key(),
        &name,
        &ca.name,
        &ca.key,
        &key_id,
        Some(&ca.key_id),
    )?;
    Ok(Identity {
        key,
        cert,
        name,
        key_id,
    })
}

// OIDs (DER content octets).
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_O: &[u8] = &[0x55, 0x04, 0x0A];
const OID_SHA256_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x13];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1D, 0x0F];
const OID_SKI: &[u8] = &[0x55, 0x1D, 0x0E];
const OID_AKI: &[u8] = &[0x55, 0x1D, 0x23];
const OID_SAN: &[u8] = &[0x55, 0x1D, 0x11];
const OID_EKU: &[u8] = &[0x55, 0x1D, 0x25];
const OID_EMAIL_PROTECTION: &[u8] = &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04];

/// A DER TLV with a one-byte tag.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len.to_be_bytes()[core::mem::size_of::<usize>() - 1]);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let n = bytes.len() - skip;
        out.push(0x80 | n.to_be_bytes()[core::mem::size_of::<usize>() - 1]);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of the concatenated parts.
fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn oid(content: &[u8]) -> Vec<u8> {
    tlv(0x06, content)
}

fn name(organization: &str, common_name: &str) -> Vec<u8> {
    let rdn = |t: &[u8], v: &str| tlv(0x31, &seq(&[&oid(t), &tlv(0x0C, v.as_bytes())]));
    seq(&[&rdn(OID_O, organization), &rdn(OID_CN, common_name)])
}

fn key_id(key: &RsaPublicKey) -> Result<[u8; 20]> {
    let pkcs1 = key
        .to_pkcs1_der()
        .map_err(|e| Error::msg(format_args!("public key: {e}")))?;
    Ok(Sha1::digest(pkcs1.as_bytes()).into())
}

fn extension(id: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    if critical {
        seq(&[&oid(id), &tlv(0x01, &[0xFF]), &tlv(0x04, value)])
    } else {
        seq(&[&oid(id), &tlv(0x04, value)])
    }
}

/// Seconds since the epoch as UTCTime (1950-2049) or GeneralizedTime.
fn time(unix: u64) -> Vec<u8> {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    if (1950..2050).contains(&y) {
        tlv(
            0x17,
            format!("{:02}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z", y % 100).as_bytes(),
        )
    } else {
        tlv(
            0x18,
            format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z").as_bytes(),
        )
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[allow(clippy::too_many_arguments)]
fn build<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    spec: &CertSpec<'_>,
    subject_key: &RsaPublicKey,
    subject: &[u8],
    issuer: &[u8],
    issuer_key: &RsaPrivateKey,
    key_id: &[u8; 20],
    authority_key_id: Option<&[u8; 20]>,
) -> Result<Vec<u8>> {
    let mut serial = [0u8; 16];
    rng.try_fill_bytes(&mut serial)
        .map_err(|_| Error::msg("random number generator failed"))?;
    // Positive and minimal: top bit clear, first byte non-zero.
    serial[0] = (serial[0] & 0x7F) | 0x40;

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::msg("system clock is before 1970"))?
        .as_secs();
    let not_before = now.saturating_sub(300);
    let not_after = now.saturating_add(u64::from(spec.validity_days) * 86_400);

    let spki = subject_key
        .to_public_key_der()
        .map_err(|e| Error::msg(format_args!("public key: {e}")))?;
    let sig_alg = seq(&[&oid(OID_SHA256_WITH_RSA), &[0x05, 0x00]]);

    let mut exts: Vec<Vec<u8>> = Vec::new();
    if spec.ca {
        exts.push(extension(
            OID_BASIC_CONSTRAINTS,
            true,
            &seq(&[&tlv(0x01, &[0xFF])]),
        ));
    }
    exts.push(extension(OID_KEY_USAGE, true, &spec.key_usage.bit_string()));
    exts.push(extension(OID_SKI, false, &tlv(0x04, key_id)));
    if let Some(aki) = authority_key_id {
        exts.push(extension(OID_AKI, false, &seq(&[&tlv(0x80, aki)])));
    }
    if let Some(email) = spec.email {
        exts.push(extension(
            OID_SAN,
            false,
            &seq(&[&tlv(0x81, email.as_bytes())]),
        ));
    }
    if spec.email_protection {
        exts.push(extension(
            OID_EKU,
            false,
            &seq(&[&oid(OID_EMAIL_PROTECTION)]),
        ));
    }
    let ext_refs: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();

    let tbs = seq(&[
        &tlv(0xA0, &tlv(0x02, &[2])),
        &tlv(0x02, &serial),
        &sig_alg,
        issuer,
        &seq(&[&time(not_before), &time(not_after)]),
        subject,
        spki.as_bytes(),
        &tlv(0xA3, &seq(&ext_refs)),
    ]);

    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(issuer_key.clone());
    let signature = signer
        .try_sign(&tbs)
        .map_err(|e| Error::msg(format_args!("signing the certificate: {e}")))?
        .to_vec();
    let mut bits = vec![0u8];
    bits.extend_from_slice(&signature);
    Ok(seq(&[&tbs, &sig_alg, &tlv(0x03, &bits)]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
        assert_eq!(time(0), tlv(0x17, b"700101000000Z"));
        // 2050-01-01T00:00:00Z switches to GeneralizedTime.
        assert_eq!(time(2_524_608_000), tlv(0x18, b"20500101000000Z"));
    }

    #[test]
    fn key_usage_bits() {
        let u = KeyUsage::DIGITAL_SIGNATURE.union(KeyUsage::KEY_ENCIPHERMENT);
        assert_eq!(u.bit_string(), [0x03, 0x02, 0x05, 0xA0]);
        let ca = KeyUsage::KEY_CERT_SIGN.union(KeyUsage::CRL_SIGN);
        assert_eq!(ca.bit_string(), [0x03, 0x02, 0x01, 0x06]);
        assert_eq!(
            KeyUsage::DIGITAL_SIGNATURE.bit_string(),
            [0x03, 0x02, 0x07, 0x80]
        );
    }

    #[test]
    fn long_lengths() {
        assert_eq!(&tlv(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], &[0x04, 0x82, 0x01, 0x2C]);
    }
}
