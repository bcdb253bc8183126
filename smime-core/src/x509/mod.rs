//! Zero-copy X.509 certificate view. (Being written.)
#![allow(missing_docs, unused_variables)]
use crate::backend::RecipientId;
use crate::error::Result;
use crate::pubkey::RsaPublicKeyRef;

#[derive(Clone, Copy, Debug)]
pub struct CertificateRef<'a> { der: &'a [u8] }
impl<'a> CertificateRef<'a> {
    pub fn from_der(der: &'a [u8]) -> Result<Self> { unimplemented!() }
    pub fn der(&self) -> &'a [u8] { self.der }
    pub fn serial(&self) -> &'a [u8] { unimplemented!() }
    pub fn issuer_der(&self) -> &'a [u8] { unimplemented!() }
    pub fn subject_der(&self) -> &'a [u8] { unimplemented!() }
    pub fn subject_key_id(&self) -> Option<&'a [u8]> { unimplemented!() }
    pub fn rsa_public_key(&self) -> Option<RsaPublicKeyRef<'a>> { unimplemented!() }
    pub fn check_key_encipherment(&self) -> Result<()> { unimplemented!() }
    pub fn recipient_id(&self) -> RecipientId<'a> { unimplemented!() }
}
