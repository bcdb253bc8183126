//! RSA public-key operations on fixed-size integers. (Being written.)
#![allow(missing_docs, unused_variables)]
use crate::backend::HashAlgorithm;
use crate::error::Result;
use rand_core::TryCryptoRng;

#[derive(Clone, Copy, Debug)]
pub struct RsaPublicKeyRef<'a> { n: &'a [u8], e: &'a [u8] }
impl<'a> RsaPublicKeyRef<'a> {
    pub fn from_pkcs1_der(der: &'a [u8]) -> Result<Self> { unimplemented!() }
    pub fn modulus(&self) -> &'a [u8] { self.n }
    pub fn exponent(&self) -> &'a [u8] { self.e }
    pub fn bits(&self) -> u32 { unimplemented!() }
    pub fn size(&self) -> usize { unimplemented!() }
    pub fn encrypt_pkcs1v15<R: TryCryptoRng + ?Sized>(&self, rng: &mut R, msg: &[u8], out: &mut [u8]) -> Result<usize> { unimplemented!() }
    pub fn encrypt_oaep<R: TryCryptoRng + ?Sized>(&self, rng: &mut R, hash: HashAlgorithm, mgf_hash: HashAlgorithm, label: &[u8], msg: &[u8], out: &mut [u8]) -> Result<usize> { unimplemented!() }
}
