//! A software RSA private key (feature `soft-rsa`): the key-transport backend
//! for keys held in files, and the reference the hardware backends are
//! compared with.
//!
//! This is the one module of the core that allocates: the `rsa` crate needs
//! `alloc`. The core's own work around it stays allocation-free.
//!
//! # Side channels
//!
//! - **Blinding.** The `rsa` crate blinds the private-key operation only
//!   when given a random number generator. [`SoftRsaKey::with_rng`] supplies
//!   one (for example `getrandom::SysRng`); without it the operation is
//!   unblinded. The core has no RNG of its own in `no_std`, so this is the
//!   caller's choice; use it for keys that decrypt messages from untrusted
//!   senders.
//! - **PKCS#1 v1.5.** The `rsa` crate (0.10) decrypts PKCS#1 v1.5 with
//!   *implicit rejection*: bad padding gives a deterministic synthetic key
//!   instead of an error. The EnvelopedData decoder treats a wrong-length
//!   result like a failure and hides both (RFC 3218), so the outcome is the
//!   same uniform "decryption failed".
//! - Decrypted keys are zeroized after they are copied to the caller's buffer.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use rand_core::{TryCryptoRng, TryRng};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::{PaddingScheme, PublicKeyParts};
use rsa::{Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, PrivateKey};
use zeroize::Zeroizing;

use crate::backend::{
    BackendError, BackendErrorKind, ErrorType, HashAlgorithm, KeyTransAlgorithm, KeyTransDecrypter,
    RecipientId, Signer, ToBeSigned,
};
use crate::pubkey::SignatureAlgorithm;
use crate::error::{Error, ErrorKind, Result};
use crate::oid;
use crate::pubkey::rsa::parse_pkcs1;
use crate::x509::CertificateRef;

/// An RSA private key in memory, optionally with its certificate.
pub struct SoftRsaKey {
    key: PrivateKey,
    cert: Option<Vec<u8>>,
    rng: Option<Box<dyn BlindingRng>>,
    sig_alg: SignatureAlgorithm,
}

impl SoftRsaKey {
    /// Reads a PKCS#8 `PrivateKeyInfo` (unencrypted) holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        PrivateKey::from_pkcs8_der(der).map(Self::new).map_err(|_| invalid_key())
    }

    /// Reads a PKCS#1 `RSAPrivateKey` (two primes).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        PrivateKey::from_pkcs1_der(der).map(Self::new).map_err(|_| invalid_key())
    }

    /// Reads PKCS#8, or else PKCS#1.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_pkcs8_der(der).or_else(|_| Self::from_pkcs1_der(der))
    }

    /// Reads a PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1).
    /// Text before the first `-----BEGIN` line is skipped.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let pem = pem.find("-----BEGIN").and_then(|i| pem.get(i..)).ok_or(invalid_key())?;
        match PrivateKey::from_pkcs8_pem(pem) {
            Ok(k) => Ok(Self::new(k)),
            Err(_) => PrivateKey::from_pkcs1_pem(pem).map(Self::new).map_err(|_| invalid_key()),
        }
    }

    fn new(key: PrivateKey) -> Self {
        Self { key, cert: None, rng: None, sig_alg: SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256) }
    }

    /// Attaches the key's certificate: the decoder then uses this key only
    /// for the recipient infos that name the certificate.
    ///
    /// Fails with [`ErrorKind::InvalidCertificate`] if the certificate does
    /// not parse, and with [`ErrorKind::InvalidKey`] if its public key is not
    /// this key's.
    pub fn with_certificate(mut self, cert_der: &[u8]) -> Result<Self> {
        let cert = CertificateRef::from_der(cert_der)?;
        if cert.public_key_algorithm() != oid::RSA_ENCRYPTION {
            return Err(invalid_key());
        }
        let (n, e) = parse_pkcs1(cert.public_key()).map_err(|_| invalid_key())?;
        if n != &self.key.n_bytes()[..] || e != &self.key.e_bytes()[..] {
            return Err(invalid_key());
        }
        self.cert = Some(cert_der.to_vec());
        Ok(self)
    }

    /// Blinds every private-key operation with randomness from `rng` (see
    /// the [module docs](self)).
    pub fn with_rng<R: TryCryptoRng + Send + Sync + 'static>(mut self, rng: R) -> Self {
        self.rng = Some(Box::new(rng));
        self
    }

    /// Chooses the signature algorithm of [`Signer::sign`]: PKCS#1 v1.5
    /// (the default, with SHA-256) or RSASSA-PSS, with SHA-256, SHA-384 or
    /// SHA-512. PSS must use the same hash for MGF1 and a salt as long as the
    /// hash (RFC 8702 / RFC 4056 practice); it needs randomness, so the key
    /// must have an RNG ([`with_rng`](Self::with_rng)) when it signs.
    ///
    /// Anything else is [`ErrorKind::UnsupportedAlgorithm`].
    pub fn with_signature_algorithm(mut self, alg: SignatureAlgorithm) -> Result<Self> {
        let ok = match alg {
            SignatureAlgorithm::RsaPkcs1v15(h) => h != HashAlgorithm::Sha1,
            SignatureAlgorithm::RsaPss { hash, mgf_hash, salt_len } => {
                hash != HashAlgorithm::Sha1
                    && mgf_hash == hash
                    && usize::try_from(salt_len).ok() == Some(hash.output_len())
            }
            _ => false,
        };
        if !ok {
            return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
        }
        self.sig_alg = alg;
        Ok(self)
    }

    /// The certificate, if one was attached.
    pub fn certificate(&self) -> Option<&[u8]> {
        self.cert.as_deref()
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        usize::try_from(self.key.n().bit_width_vartime()).unwrap_or(usize::MAX)
    }

    /// The `rsa` crate's key.
    pub fn rsa_key(&self) -> &PrivateKey {
        &self.key
    }

    fn decrypt<P: PaddingScheme>(&mut self, padding: P, ct: &[u8]) -> rsa::Result<Vec<u8>> {
        match self.rng.as_deref_mut() {
            Some(rng) => self.key.decrypt_blinded(&mut DynRng(rng), padding, ct),
            None => self.key.decrypt(padding, ct),
        }
    }

    fn decrypt_oaep(
        &mut self,
        hash: HashAlgorithm,
        mgf_hash: HashAlgorithm,
        label: &[u8],
        ct: &[u8],
    ) -> rsa::Result<Vec<u8>> {
        macro_rules! with_mgf {
            ($d:ty) => {
                match mgf_hash {
                    HashAlgorithm::Sha1 => {
                        self.decrypt(Oaep::<$d, sha1::Sha1>::new_with_mgf_hash_and_label(label), ct)
                    }
                    HashAlgorithm::Sha256 => self
                        .decrypt(Oaep::<$d, sha2::Sha256>::new_with_mgf_hash_and_label(label), ct),
                    HashAlgorithm::Sha384 => self
                        .decrypt(Oaep::<$d, sha2::Sha384>::new_with_mgf_hash_and_label(label), ct),
                    HashAlgorithm::Sha512 => self
                        .decrypt(Oaep::<$d, sha2::Sha512>::new_with_mgf_hash_and_label(label), ct),
                }
            };
        }
        match hash {
            HashAlgorithm::Sha1 => with_mgf!(sha1::Sha1),
            HashAlgorithm::Sha256 => with_mgf!(sha2::Sha256),
            HashAlgorithm::Sha384 => with_mgf!(sha2::Sha384),
            HashAlgorithm::Sha512 => with_mgf!(sha2::Sha512),
        }
    }
}

impl fmt::Debug for SoftRsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftRsaKey")
            .field("bits", &self.bits())
            .field("certificate", &self.cert.is_some())
            .field("blinded", &self.rng.is_some())
            .finish_non_exhaustive()
    }
}

fn invalid_key() -> Error {
    Error::new(ErrorKind::InvalidKey)
}

/// The software key's error: a [`BackendErrorKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftKeyError(pub BackendErrorKind);

impl BackendError for SoftKeyError {
    fn kind(&self) -> BackendErrorKind {
        self.0
    }
}

impl fmt::Display for SoftKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl core::error::Error for SoftKeyError {}

impl ErrorType for SoftRsaKey {
    type Error = SoftKeyError;
}

impl KeyTransDecrypter for SoftRsaKey {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        let cert = CertificateRef::from_der(self.cert.as_deref()?).ok()?;
        Some(cert.recipient_id())
    }

    /// Decrypts with the `rsa` crate. A ciphertext shorter than the modulus
    /// (a sender that dropped leading zero octets) is left-padded with zeros.
    fn decrypt_key(
        &mut self,
        algorithm: &KeyTransAlgorithm<'_>,
        encrypted_key: &[u8],
        out: &mut [u8],
    ) -> core::result::Result<usize, SoftKeyError> {
        let k = self.key.size();
        let padded;
        let ct = match encrypted_key.len() {
            n if n == k => encrypted_key,
            n if n < k => {
                let mut v = vec![0u8; k];
                v[k - n..].copy_from_slice(encrypted_key);
                padded = v;
                &padded[..]
            }
            _ => return Err(SoftKeyError(BackendErrorKind::DecryptionFailed)),
        };
        let result = match *algorithm {
            KeyTransAlgorithm::RsaPkcs1v15 => self.decrypt(Pkcs1v15Encrypt, ct),
            KeyTransAlgorithm::RsaOaep { hash, mgf_hash, label } => {
                self.decrypt_oaep(hash, mgf_hash, label, ct)
            }
        };
        let key = Zeroizing::new(result.map_err(|e| match e {
            rsa::Error::Rng => SoftKeyError(BackendErrorKind::Other),
            _ => SoftKeyError(BackendErrorKind::DecryptionFailed),
        })?);
        let dst = out.get_mut(..key.len()).ok_or(SoftKeyError(BackendErrorKind::BufferTooSmall))?;
        dst.copy_from_slice(&key);
        Ok(key.len())
    }
}

impl Signer for SoftRsaKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.sig_alg
    }

    fn certificate(&self) -> Option<&[u8]> {
        self.cert.as_deref()
    }

    fn max_signature_len(&self) -> usize {
        self.key.size()
    }

    /// Signs `tbs.digest` (the `rsa` crate's prehash signing), blinded when
    /// the key has an RNG. PSS without an RNG is [`BackendErrorKind::Other`].
    fn sign(
        &mut self,
        tbs: &ToBeSigned<'_>,
        out: &mut [u8],
    ) -> core::result::Result<usize, SoftKeyError> {
        let hash = self.sig_alg.hash().ok_or(SoftKeyError(BackendErrorKind::UnsupportedAlgorithm))?;
        if tbs.digest.len() != hash.output_len() {
            return Err(SoftKeyError(BackendErrorKind::Other));
        }
        macro_rules! go {
            ($pad:expr) => {
                match self.rng.as_deref_mut() {
                    Some(rng) => self.key.sign_with_rng(&mut DynRng(rng), $pad, tbs.digest),
                    None => self.key.sign($pad, tbs.digest),
                }
            };
        }
        let result = match (self.sig_alg, hash) {
            (SignatureAlgorithm::RsaPss { .. }, h) => {
                let Some(rng) = self.rng.as_deref_mut() else {
                    return Err(SoftKeyError(BackendErrorKind::Other));
                };
                let mut rng = DynRng(rng);
                match h {
                    HashAlgorithm::Sha256 => {
                        self.key.sign_with_rng(&mut rng, rsa::Pss::<sha2::Sha256>::new(), tbs.digest)
                    }
                    HashAlgorithm::Sha384 => {
                        self.key.sign_with_rng(&mut rng, rsa::Pss::<sha2::Sha384>::new(), tbs.digest)
                    }
                    HashAlgorithm::Sha512 => {
                        self.key.sign_with_rng(&mut rng, rsa::Pss::<sha2::Sha512>::new(), tbs.digest)
                    }
                    HashAlgorithm::Sha1 => {
                        return Err(SoftKeyError(BackendErrorKind::UnsupportedAlgorithm));
                    }
                }
            }
            (_, HashAlgorithm::Sha256) => go!(Pkcs1v15Sign::new::<sha2::Sha256>()),
            (_, HashAlgorithm::Sha384) => go!(Pkcs1v15Sign::new::<sha2::Sha384>()),
            (_, HashAlgorithm::Sha512) => go!(Pkcs1v15Sign::new::<sha2::Sha512>()),
            (_, HashAlgorithm::Sha1) => {
                return Err(SoftKeyError(BackendErrorKind::UnsupportedAlgorithm));
            }
        };
        let sig = result.map_err(|_| SoftKeyError(BackendErrorKind::Other))?;
        let dst = out.get_mut(..sig.len()).ok_or(SoftKeyError(BackendErrorKind::BufferTooSmall))?;
        dst.copy_from_slice(&sig);
        Ok(sig.len())
    }
}

/// An object-safe view of the caller's RNG, kept in the key.
trait BlindingRng: Send + Sync {
    fn fill(&mut self, dst: &mut [u8]) -> bool;
}

impl<R: TryCryptoRng + Send + Sync> BlindingRng for R {
    fn fill(&mut self, dst: &mut [u8]) -> bool {
        self.try_fill_bytes(dst).is_ok()
    }
}

/// Adapts a [`BlindingRng`] back to `rand_core` for the `rsa` crate.
struct DynRng<'a>(&'a mut dyn BlindingRng);

#[derive(Debug)]
struct RngFailed;

impl fmt::Display for RngFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("random number generator failed")
    }
}

impl core::error::Error for RngFailed {}

impl TryRng for DynRng<'_> {
    type Error = RngFailed;

    fn try_next_u32(&mut self) -> core::result::Result<u32, RngFailed> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, RngFailed> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), RngFailed> {
        if self.0.fill(dst) { Ok(()) } else { Err(RngFailed) }
    }
}

impl TryCryptoRng for DynRng<'_> {}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core
)]
mod tests {
    extern crate std;

    use std::format;
    use std::string::String;
    use std::vec::Vec;

    use super::*;
    use crate::pubkey::RsaPublicKeyRef;

    const ALL_HASHES: [HashAlgorithm; 4] =
        [HashAlgorithm::Sha1, HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512];

    fn path(rel: &str) -> String {
        format!("{}/../../shared/interop/{rel}", env!("CARGO_MANIFEST_DIR"))
    }

    fn text(rel: &str) -> String {
        std::fs::read_to_string(path(rel)).unwrap()
    }

    fn der(rel: &str) -> Vec<u8> {
        let data = std::fs::read(path(rel)).unwrap();
        if data.starts_with(b"-----BEGIN") {
            pem_rfc7468::decode_vec(&data).unwrap().1
        } else {
            data
        }
    }

    const KEY: &str = "asn1crypto/tests/fixtures/keys/test.key";
    const CERT: &str = "asn1crypto/tests/fixtures/keys/test.crt";
    const BOB_KEY: &str = "examples-cms/certs-and-keys/lamps-bob.decrypt.p8.pem";
    const BOB_CERT: &str = "examples-cms/certs-and-keys/lamps-bob.encrypt.crt";

    fn test_key() -> SoftRsaKey {
        SoftRsaKey::from_pem(&text(KEY)).unwrap().with_certificate(&der(CERT)).unwrap()
    }

    fn oaep(hash: HashAlgorithm, mgf_hash: HashAlgorithm, label: &[u8]) -> KeyTransAlgorithm<'_> {
        KeyTransAlgorithm::RsaOaep { hash, mgf_hash, label }
    }

    #[test]
    fn loads_keys_in_all_forms() {
        let k = SoftRsaKey::from_pem(&text(KEY)).unwrap();
        assert_eq!(k.bits(), 2048);
        assert!(k.certificate().is_none());
        assert!(k.recipient_id().is_none());
        let pkcs8 =
            SoftRsaKey::from_pem(&text("asn1crypto/tests/fixtures/keys/test-pkcs8.key")).unwrap();
        assert_eq!(pkcs8.rsa_key(), k.rsa_key());
        let pkcs1_der = std::fs::read(path("asn1crypto/tests/fixtures/keys/test-der.key")).unwrap();
        assert_eq!(SoftRsaKey::from_pkcs1_der(&pkcs1_der).unwrap().rsa_key(), k.rsa_key());
        assert_eq!(SoftRsaKey::from_der(&pkcs1_der).unwrap().rsa_key(), k.rsa_key());
        let pkcs8_der = der("asn1crypto/tests/fixtures/keys/test-pkcs8.key");
        assert_eq!(SoftRsaKey::from_pkcs8_der(&pkcs8_der).unwrap().rsa_key(), k.rsa_key());
        assert_eq!(SoftRsaKey::from_der(&pkcs8_der).unwrap().rsa_key(), k.rsa_key());
        assert!(SoftRsaKey::from_pkcs1_der(&pkcs8_der).is_err());
        // Text before the armour (as in `openssl pkcs12` output).
        let with_bag = format!("Bag Attributes\n    localKeyID: 01\n{}", text(KEY));
        assert_eq!(SoftRsaKey::from_pem(&with_bag).unwrap().rsa_key(), k.rsa_key());
        for bad in [&b""[..], b"\x30\x00", &pkcs1_der[..pkcs1_der.len() - 1]] {
            assert_eq!(SoftRsaKey::from_der(bad).unwrap_err().kind(), ErrorKind::InvalidKey);
        }
        assert_eq!(SoftRsaKey::from_pem("no key here").unwrap_err().kind(), ErrorKind::InvalidKey);
        // An EC key is not an RSA key.
        let ec = text("asn1crypto/tests/fixtures/keys/test-pkcs8-ec.key");
        assert_eq!(SoftRsaKey::from_pem(&ec).unwrap_err().kind(), ErrorKind::InvalidKey);
        assert!(std::format!("{k:?}").contains("bits: 2048"));
    }

    #[test]
    fn certificate_must_match() {
        let key = test_key();
        let cert_der = der(CERT);
        let cert = CertificateRef::from_der(&cert_der).unwrap();
        assert_eq!(key.certificate(), Some(&cert_der[..]));
        assert_eq!(key.recipient_id(), Some(cert.recipient_id()));
        let e =
            SoftRsaKey::from_pem(&text(KEY)).unwrap().with_certificate(&der(BOB_CERT)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
        let ec = der("asn1crypto/tests/fixtures/keys/test-ec-named.crt");
        let e = SoftRsaKey::from_pem(&text(KEY)).unwrap().with_certificate(&ec).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
        let e =
            SoftRsaKey::from_pem(&text(KEY)).unwrap().with_certificate(&cert_der[1..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidCertificate);
    }

    /// Encrypts `cek` to the test certificate with our public-key code.
    fn wrap(alg: &KeyTransAlgorithm<'_>, cek: &[u8]) -> Vec<u8> {
        let cert_der = der(CERT);
        let cert = CertificateRef::from_der(&cert_der).unwrap();
        let pk: RsaPublicKeyRef<'_> = cert.rsa_public_key().unwrap();
        let mut out = std::vec![0u8; pk.size()];
        let mut rng = getrandom::SysRng;
        let n = match *alg {
            KeyTransAlgorithm::RsaPkcs1v15 => pk.encrypt_pkcs1v15(&mut rng, cek, &mut out),
            KeyTransAlgorithm::RsaOaep { hash, mgf_hash, label } => {
                pk.encrypt_oaep(&mut rng, hash, mgf_hash, label, cek, &mut out)
            }
        }
        .unwrap();
        out.truncate(n);
        out
    }

    fn all_algorithms() -> Vec<KeyTransAlgorithm<'static>> {
        let mut v = std::vec![KeyTransAlgorithm::RsaPkcs1v15];
        for h in ALL_HASHES {
            for m in ALL_HASHES {
                v.push(oaep(h, m, b""));
                v.push(oaep(h, m, b"label"));
            }
        }
        v
    }

    #[test]
    fn decrypts_what_we_encrypt() {
        let cek: [u8; 32] = core::array::from_fn(|i| i as u8 ^ 0x5C);
        let mut key = test_key();
        let mut blinded = SoftRsaKey::from_pem(&text(KEY)).unwrap().with_rng(getrandom::SysRng);
        for alg in all_algorithms() {
            let ct = wrap(&alg, &cek);
            let mut out = [0u8; 64];
            let n = key.decrypt_key(&alg, &ct, &mut out).unwrap();
            assert_eq!(&out[..n], &cek, "{alg:?}");
            let n = blinded.decrypt_key(&alg, &ct, &mut out).unwrap();
            assert_eq!(&out[..n], &cek, "{alg:?} blinded");
            // Through `&mut` too.
            let mut by_ref = &mut key;
            assert_eq!(
                KeyTransDecrypter::decrypt_key(&mut by_ref, &alg, &ct, &mut out).unwrap(),
                32
            );
        }
    }

    #[test]
    fn failures() {
        let cek = [7u8; 32];
        let mut key = test_key();
        let mut bob = SoftRsaKey::from_pem(&text(BOB_KEY)).unwrap();
        let mut out = [0u8; 64];
        for alg in all_algorithms() {
            let ct = wrap(&alg, &cek);
            // Too small an output buffer.
            assert_eq!(
                key.decrypt_key(&alg, &ct, &mut out[..31]).unwrap_err().kind(),
                BackendErrorKind::BufferTooSmall
            );
            // Longer than the modulus.
            let mut long = ct.clone();
            long.push(0);
            assert_eq!(
                key.decrypt_key(&alg, &long, &mut out).unwrap_err().kind(),
                BackendErrorKind::DecryptionFailed
            );
            // The wrong key: OAEP fails; PKCS#1 v1.5 (implicit rejection)
            // fails or gives some other key.
            match (alg, bob.decrypt_key(&alg, &ct, &mut out)) {
                (KeyTransAlgorithm::RsaOaep { .. }, r) => {
                    assert_eq!(
                        r.unwrap_err().kind(),
                        BackendErrorKind::DecryptionFailed,
                        "{alg:?}"
                    );
                }
                (_, Ok(n)) => assert_ne!(&out[..n], &cek),
                (_, Err(e)) => assert!(matches!(
                    e.kind(),
                    BackendErrorKind::DecryptionFailed | BackendErrorKind::BufferTooSmall
                )),
            }
        }
        // Wrong OAEP parameters.
        let ct = wrap(&oaep(HashAlgorithm::Sha256, HashAlgorithm::Sha256, b""), &cek);
        for alg in [
            oaep(HashAlgorithm::Sha256, HashAlgorithm::Sha1, b""),
            oaep(HashAlgorithm::Sha1, HashAlgorithm::Sha256, b""),
            oaep(HashAlgorithm::Sha256, HashAlgorithm::Sha256, b"x"),
        ] {
            assert_eq!(
                key.decrypt_key(&alg, &ct, &mut out).unwrap_err().kind(),
                BackendErrorKind::DecryptionFailed
            );
        }
        assert_eq!(
            SoftKeyError(BackendErrorKind::DecryptionFailed).kind(),
            BackendErrorKind::DecryptionFailed
        );
        assert_eq!(
            std::format!("{}", SoftKeyError(BackendErrorKind::DecryptionFailed)),
            "decryption failed"
        );
    }

    #[test]
    fn short_ciphertext_is_padded() {
        // Find a ciphertext with a leading zero octet and drop it.
        let cek = [9u8; 16];
        let mut key = test_key();
        let alg = KeyTransAlgorithm::RsaPkcs1v15;
        let ct = (0..5000)
            .map(|_| wrap(&alg, &cek))
            .find(|c| c[0] == 0)
            .expect("a leading zero in 5000 tries");
        let mut out = [0u8; 32];
        let n = key.decrypt_key(&alg, &ct[1..], &mut out).unwrap();
        assert_eq!(&out[..n], &cek);
    }
}
