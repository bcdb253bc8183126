//! Helpers shared by the fuzz targets: a byte cursor over the fuzz input,
//! fixed test keys (fuzz/keys, generated once with OpenSSL), deterministic
//! RNGs and sinks.
#![allow(dead_code)]

/// Reads the fuzz input front to back; past the end every read is 0 / empty.
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }
    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos = (self.pos + 1).min(self.data.len());
        b
    }
    pub fn try_u8(&mut self) -> Option<u8> {
        let b = self.data.get(self.pos).copied()?;
        self.pos += 1;
        Some(b)
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let end = (self.pos + n).min(self.data.len());
        let s = &self.data[self.pos..end];
        self.pos = end;
        s
    }
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.data[self.pos..];
        self.pos = self.data.len();
        s
    }
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

/// Fixed test keys and self-signed certificates (fuzz/keys; see
/// fuzz/keys/README.md). Never used for anything but tests.
pub mod keys {
    pub const RSA_P8: &[u8] = include_bytes!("../../keys/rsa.p8.der");
    pub const RSA_CERT: &[u8] = include_bytes!("../../keys/rsa.crt.der");
    pub const P256_P8: &[u8] = include_bytes!("../../keys/p256.p8.der");
    pub const P256_CERT: &[u8] = include_bytes!("../../keys/p256.crt.der");
    pub const ED25519_P8: &[u8] = include_bytes!("../../keys/ed25519.p8.der");
    pub const ED25519_CERT: &[u8] = include_bytes!("../../keys/ed25519.crt.der");
}

/// An xorshift RNG seeded from the fuzz input: deterministic, so a crash
/// reproduces.
#[derive(Clone)]
pub struct SeededRng(pub u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn step(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

impl rand_core::TryRng for SeededRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.step() as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.step())
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> {
        for c in d.chunks_mut(8) {
            let v = self.step().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for SeededRng {}

/// Splits `data` into pieces whose sizes come from `sizes` (cycled; 0
/// means "the rest").
pub fn chunked<'a>(data: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let s = if sizes.is_empty() { 0 } else { usize::from(sizes[i % sizes.len()]) };
        i += 1;
        let n = if s == 0 { rest.len() } else { s.min(rest.len()) };
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    out
}
