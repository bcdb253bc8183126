//! Streaming CBC with PKCS#7 padding. (Being written.)
#![allow(missing_docs, unused_variables)]
use super::ContentCipher;
use crate::error::Result;

pub struct CbcEncryptor { _c: ContentCipher }
impl CbcEncryptor {
    pub fn new(cipher: ContentCipher, key: &[u8], iv: &[u8]) -> Result<Self> { unimplemented!() }
    pub fn cipher(&self) -> ContentCipher { self._c }
    pub fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> { unimplemented!() }
    pub fn finish(self, out: &mut [u8]) -> Result<usize> { unimplemented!() }
}
pub struct CbcDecryptor { _c: ContentCipher }
impl CbcDecryptor {
    pub fn new(cipher: ContentCipher, key: &[u8], iv: &[u8]) -> Result<Self> { unimplemented!() }
    pub fn cipher(&self) -> ContentCipher { self._c }
    pub fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> { unimplemented!() }
    pub fn finish(self, out: &mut [u8]) -> Result<usize> { unimplemented!() }
}
