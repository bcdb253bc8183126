//! Triple DES (DES-EDE3, FIPS 46-3 / NIST SP 800-67), table-based.
//!
//! A classic fast software DES in the style of Eric Young's libdes (the code
//! OpenSSL still uses) and Richard Outerbridge's d3des:
//!
//! - **SP-boxes.** Each S-box is merged with the P permutation that follows
//!   it into a table of 64 `u32` (8 tables, 2 KiB in all), computed at compile
//!   time from the S-boxes and P of FIPS 46-3. A round is 8 table look-ups
//!   and XORs; the E expansion disappears because the data half is kept
//!   rotated by one bit and each round key is stored as two words laid out
//!   so that every 6-bit S-box input is a field of the data half XOR one of
//!   them, taken with one shift (or rotation) and one mask.
//! - **IP and FP by swap-moves.** The initial and final permutations are five
//!   "swap-move" (delta swap) steps each on the two 32-bit halves.
//! - **Precomputed key schedule.** PC-1, the rotations and PC-2 run once at
//!   key setup and store each round key as the two words XORed into the
//!   (rotated) data half; decryption runs the same rounds with the round keys
//!   in reverse order.
//! - **EDE3 in one pass.** Between the three DES operations FP and IP cancel,
//!   so a triple-DES block does IP once, 48 rounds, and FP once.
//! - **Parallel decryption.** The decryption backend handles
//!   [`PAR_BLOCKS`] independent blocks at a time with their rounds
//!   interleaved, which CBC decryption uses to keep the CPU's load units busy
//!   (CBC encryption is serial by nature).
//!
//! Key parity bits are ignored as DES prescribes; weak keys are not refused.
//! No allocation, no `unsafe`, no panics (every table index is masked to
//! 6 bits); the key schedule is zeroized on drop.
//!
//! # Timing
//!
//! Table look-ups whose index depends on key and data can leak through the
//! cache to an attacker who shares the CPU (cache-timing attacks such as
//! those on table-based AES). OpenSSL's DES, and every fast software DES
//! except bitsliced ones, make the same trade-off. The tables are small
//! (2 KiB, 32 cache lines of 64 bytes) and stay in L1 during a message, which
//! narrows the leak but does not close it. Triple DES is here for
//! interoperability with legacy peers; prefer AES (constant time with AES-NI
//! or ARMv8 crypto extensions) where you can.

use aes::cipher::{
    Block, BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt, BlockCipherEncBackend,
    BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, InOut, InOutBuf, Key, KeyInit,
    KeySizeUser, ParBlocks, ParBlocksSizeUser,
    array::Array,
    consts::{U4, U8, U24},
};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// How many blocks the decryption backend processes at once.
pub(crate) const PAR_BLOCKS: usize = 4;

// ---------------------------------------------------------------------------
// The tables of FIPS 46-3, bits numbered from 1 (the most significant).

/// The eight S-boxes: `S[n][row][column]`.
#[rustfmt::skip]
const S: [[[u8; 16]; 4]; 8] = [
    [
        [14,  4, 13,  1,  2, 15, 11,  8,  3, 10,  6, 12,  5,  9,  0,  7],
        [ 0, 15,  7,  4, 14,  2, 13,  1, 10,  6, 12, 11,  9,  5,  3,  8],
        [ 4,  1, 14,  8, 13,  6,  2, 11, 15, 12,  9,  7,  3, 10,  5,  0],
        [15, 12,  8,  2,  4,  9,  1,  7,  5, 11,  3, 14, 10,  0,  6, 13],
    ],
    [
        [15,  1,  8, 14,  6, 11,  3,  4,  9,  7,  2, 13, 12,  0,  5, 10],
        [ 3, 13,  4,  7, 15,  2,  8, 14, 12,  0,  1, 10,  6,  9, 11,  5],
        [ 0, 14,  7, 11, 10,  4, 13,  1,  5,  8, 12,  6,  9,  3,  2, 15],
        [13,  8, 10,  1,  3, 15,  4,  2, 11,  6,  7, 12,  0,  5, 14,  9],
    ],
    [
        [10,  0,  9, 14,  6,  3, 15,  5,  1, 13, 12,  7, 11,  4,  2,  8],
        [13,  7,  0,  9,  3,  4,  6, 10,  2,  8,  5, 14, 12, 11, 15,  1],
        [13,  6,  4,  9,  8, 15,  3,  0, 11,  1,  2, 12,  5, 10, 14,  7],
        [ 1, 10, 13,  0,  6,  9,  8,  7,  4, 15, 14,  3, 11,  5,  2, 12],
    ],
    [
        [ 7, 13, 14,  3,  0,  6,  9, 10,  1,  2,  8,  5, 11, 12,  4, 15],
        [13,  8, 11,  5,  6, 15,  0,  3,  4,  7,  2, 12,  1, 10, 14,  9],
        [10,  6,  9,  0, 12, 11,  7, 13, 15,  1,  3, 14,  5,  2,  8,  4],
        [ 3, 15,  0,  6, 10,  1, 13,  8,  9,  4,  5, 11, 12,  7,  2, 14],
    ],
    [
        [ 2, 12,  4,  1,  7, 10, 11,  6,  8,  5,  3, 15, 13,  0, 14,  9],
        [14, 11,  2, 12,  4,  7, 13,  1,  5,  0, 15, 10,  3,  9,  8,  6],
        [ 4,  2,  1, 11, 10, 13,  7,  8, 15,  9, 12,  5,  6,  3,  0, 14],
        [11,  8, 12,  7,  1, 14,  2, 13,  6, 15,  0,  9, 10,  4,  5,  3],
    ],
    [
        [12,  1, 10, 15,  9,  2,  6,  8,  0, 13,  3,  4, 14,  7,  5, 11],
        [10, 15,  4,  2,  7, 12,  9,  5,  6,  1, 13, 14,  0, 11,  3,  8],
        [ 9, 14, 15,  5,  2,  8, 12,  3,  7,  0,  4, 10,  1, 13, 11,  6],
        [ 4,  3,  2, 12,  9,  5, 15, 10, 11, 14,  1,  7,  6,  0,  8, 13],
    ],
    [
        [ 4, 11,  2, 14, 15,  0,  8, 13,  3, 12,  9,  7,  5, 10,  6,  1],
        [13,  0, 11,  7,  4,  9,  1, 10, 14,  3,  5, 12,  2, 15,  8,  6],
        [ 1,  4, 11, 13, 12,  3,  7, 14, 10, 15,  6,  8,  0,  5,  9,  2],
        [ 6, 11, 13,  8,  1,  4, 10,  7,  9,  5,  0, 15, 14,  2,  3, 12],
    ],
    [
        [13,  2,  8,  4,  6, 15, 11,  1, 10,  9,  3, 14,  5,  0, 12,  7],
        [ 1, 15, 13,  8, 10,  3,  7,  4, 12,  5,  6, 11,  0, 14,  9,  2],
        [ 7, 11,  4,  1,  9, 12, 14,  2,  0,  6, 10, 13, 15,  3,  5,  8],
        [ 2,  1, 14,  7,  4, 10,  8, 13, 15, 12,  9,  0,  3,  5,  6, 11],
    ],
];

/// The permutation P applied to the S-box outputs.
#[rustfmt::skip]
const P: [u8; 32] = [
    16,  7, 20, 21, 29, 12, 28, 17,  1, 15, 23, 26,  5, 18, 31, 10,
     2,  8, 24, 14, 32, 27,  3,  9, 19, 13, 30,  6, 22, 11,  4, 25,
];

/// Permuted choice 1: the 56 key bits (of 64) into C and D.
#[rustfmt::skip]
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17,  9,  1, 58, 50, 42, 34, 26, 18,
    10,  2, 59, 51, 43, 35, 27, 19, 11,  3, 60, 52, 44, 36,
    63, 55, 47, 39, 31, 23, 15,  7, 62, 54, 46, 38, 30, 22,
    14,  6, 61, 53, 45, 37, 29, 21, 13,  5, 28, 20, 12,  4,
];

/// Permuted choice 2: the 48 round-key bits (of the 56 of C and D).
#[rustfmt::skip]
const PC2: [u8; 48] = [
    14, 17, 11, 24,  1,  5,  3, 28, 15,  6, 21, 10,
    23, 19, 12,  4, 26,  8, 16,  7, 27, 20, 13,  2,
    41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
    44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left rotations of C and D before each round.
const SHIFTS: [u8; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// Applies `table` (1-based bit numbers, most significant first) to the
/// `in_bits`-bit value `v`.
const fn permute(v: u64, table: &[u8], in_bits: u32) -> u64 {
    let mut out = 0u64;
    let mut i = 0;
    while i < table.len() {
        out = (out << 1) | ((v >> (in_bits - table[i] as u32)) & 1);
        i += 1;
    }
    out
}

/// The SP-boxes: `SP[n][x]` is S-box `n + 1` of the 6-bit input `x` (first
/// bit most significant), put in place and through P, rotated left by one bit
/// like the data halves.
static SP: [[u32; 64]; 8] = SP_TABLES;

const SP_TABLES: [[u32; 64]; 8] = sp_boxes();

const fn sp_boxes() -> [[u32; 64]; 8] {
    let mut sp = [[0u32; 64]; 8];
    let mut n = 0;
    while n < 8 {
        let mut x = 0;
        while x < 64 {
            // Row: the outer bits; column: the middle four.
            let row = ((x >> 4) & 2) | (x & 1);
            let col = (x >> 1) & 0xF;
            let s = (S[n][row][col] as u64) << (28 - 4 * n);
            // P maps 32 bits to 32 bits.
            #[allow(clippy::cast_possible_truncation, reason = "32-bit value")]
            let p = permute(s, &P, 32) as u32;
            sp[n][x] = p.rotate_left(1);
            x += 1;
        }
        n += 1;
    }
    sp
}

/// The 16 round keys of one DES key. Round `i` uses `ks[2 * i]` (S-boxes 1,
/// 3, 5, 7, at bits 28 (wrapping), 20, 12 and 4) and `ks[2 * i + 1]`
/// (S-boxes 2, 4, 6, 8, at bits 24, 16, 8 and 0), both XORed with the
/// rotated data half.
type Schedule = [u32; 32];

fn key_schedule(key: &[u8; 8]) -> Schedule {
    let mut cd = permute(u64::from_be_bytes(*key), &PC1, 64);
    let (mut c, mut d) = (cd >> 28, cd & 0x0FFF_FFFF);
    cd.zeroize();
    let mut ks = [0u32; 32];
    for (pair, &shift) in ks.chunks_exact_mut(2).zip(SHIFTS.iter()) {
        let shift = u32::from(shift);
        c = ((c << shift) | (c >> (28 - shift))) & 0x0FFF_FFFF;
        d = ((d << shift) | (d >> (28 - shift))) & 0x0FFF_FFFF;
        let mut k = permute((c << 28) | d, &PC2, 56);
        // The eight 6-bit groups of the 48-bit round key, group 1 first.
        #[allow(clippy::cast_possible_truncation, reason = "masked to 6 bits")]
        let g = |j: u32| ((k >> (42 - 6 * j)) & 0x3F) as u32;
        pair[0] = ((g(0) << 24) | (g(2) << 16) | (g(4) << 8) | g(6)).rotate_left(4);
        pair[1] = (g(1) << 24) | (g(3) << 16) | (g(5) << 8) | g(7);
        k.zeroize();
    }
    c.zeroize();
    d.zeroize();
    ks
}

// ---------------------------------------------------------------------------
// The data path.

/// One swap-move: exchanges the bits of `b` under `mask` with the bits of `a`
/// under `mask << n`.
#[inline(always)]
fn swap_move(a: &mut u32, b: &mut u32, n: u32, mask: u32) {
    let t = ((*a >> n) ^ *b) & mask;
    *b ^= t;
    *a ^= t << n;
}

/// The initial permutation of the block `(l, r)` (big-endian halves); leaves
/// both halves rotated left by one bit, as the rounds want them.
#[inline(always)]
fn ip(l: &mut u32, r: &mut u32) {
    swap_move(l, r, 4, 0x0F0F_0F0F);
    swap_move(l, r, 16, 0x0000_FFFF);
    swap_move(r, l, 2, 0x3333_3333);
    swap_move(r, l, 8, 0x00FF_00FF);
    *r = r.rotate_left(1);
    let t = (*l ^ *r) & 0xAAAA_AAAA;
    *l ^= t;
    *r ^= t;
    *l = l.rotate_left(1);
}

/// The final permutation, the inverse of [`ip`], of the pre-output `(l, r)`.
#[inline(always)]
fn fp(l: &mut u32, r: &mut u32) {
    *l = l.rotate_right(1);
    let t = (*l ^ *r) & 0xAAAA_AAAA;
    *l ^= t;
    *r ^= t;
    *r = r.rotate_right(1);
    swap_move(r, l, 8, 0x00FF_00FF);
    swap_move(r, l, 2, 0x3333_3333);
    swap_move(l, r, 16, 0x0000_FFFF);
    swap_move(l, r, 4, 0x0F0F_0F0F);
}

/// The 6-bit field of `w` at bit `shift`, as a table index (always < 64).
#[inline(always)]
fn idx(w: u32, shift: u32) -> usize {
    ((w >> shift) & 0x3F) as usize
}

/// The round function of the (rotated) half `r` under one round key.
///
/// The eight SP-box outputs have disjoint bits (P is a permutation), so
/// XOR, OR and ADD combine them alike. Mixing the three keeps the compiler
/// from re-associating the sum into a chain of eight dependent XORs: this
/// balanced tree is three operations deep after the loads, which shortens
/// the critical path of serial (CBC encryption) rounds by about a quarter.
#[inline(always)]
fn f(r: u32, k0: u32, k1: u32) -> u32 {
    // `k0` is stored rotated left by 4, so the odd S-boxes' fields are
    // extracted from `r ^ k0` without rotating `r` first (one operation less
    // on the critical path); only S-box 1's field wraps around.
    let a = r ^ k0;
    let b = r ^ k1;
    let a0 = SP[0][(a.rotate_left(4) & 0x3F) as usize] | SP[2][idx(a, 20)];
    let a1 = SP[4][idx(a, 12)] | SP[6][idx(a, 4)];
    let b0 = SP[1][idx(b, 24)] | SP[3][idx(b, 16)];
    let b1 = SP[5][idx(b, 8)] | SP[7][idx(b, 0)];
    a0.wrapping_add(a1) ^ b0.wrapping_add(b1)
}

/// The SP-boxes' output bits are disjoint, as [`f`] relies on.
const _: () = {
    let mut seen = 0u32;
    let mut n = 0;
    while n < 8 {
        let mut bits = 0u32;
        let mut x = 0;
        while x < 64 {
            bits |= SP_TABLES[n][x];
            x += 1;
        }
        assert!(bits.count_ones() == 4 && bits & seen == 0);
        seen |= bits;
        n += 1;
    }
};

/// 16 DES rounds on `N` independent blocks, interleaved, in place: block `j`
/// is `(a[j], b[j])` after IP, and the pre-output (before FP) is
/// `(b[j], a[j])`. `DEC` runs the round keys in reverse (decryption).
#[inline(always)]
fn des_rounds<const DEC: bool, const N: usize>(ks: &Schedule, a: &mut [u32; N], b: &mut [u32; N]) {
    let key = |round: usize| {
        let i = if DEC { 15 - round } else { round };
        (ks[2 * i], ks[2 * i + 1])
    };
    let mut round = 0;
    while round < 16 {
        let (k0, k1) = key(round);
        for j in 0..N {
            a[j] ^= f(b[j], k0, k1);
        }
        let (k0, k1) = key(round + 1);
        for j in 0..N {
            b[j] ^= f(a[j], k0, k1);
        }
        round += 2;
    }
}

/// Triple-DES encryption (`DEC == false`: E(k1), D(k2), E(k3)) or decryption
/// (D(k3), E(k2), D(k1)) of `N` blocks given as big-endian halves.
#[inline(always)]
fn ede3<const DEC: bool, const N: usize>(ks: &[Schedule; 3], l: &mut [u32; N], r: &mut [u32; N]) {
    for j in 0..N {
        ip(&mut l[j], &mut r[j]);
    }
    let [k1, k2, k3] = ks;
    let (first, last) = if DEC { (k3, k1) } else { (k1, k3) };
    // FP then IP between the stages cancel out; only the halves swap.
    des_rounds::<DEC, N>(first, l, r);
    if DEC {
        des_rounds::<false, N>(k2, r, l);
    } else {
        des_rounds::<true, N>(k2, r, l);
    }
    des_rounds::<DEC, N>(last, l, r);
    for j in 0..N {
        fp(&mut r[j], &mut l[j]);
    }
}

/// The two big-endian halves of a block.
#[inline(always)]
fn load(b: &Array<u8, U8>) -> (u32, u32) {
    (u32::from_be_bytes([b[0], b[1], b[2], b[3]]), u32::from_be_bytes([b[4], b[5], b[6], b[7]]))
}

#[inline(always)]
fn store(b: &mut Array<u8, U8>, hi: u32, lo: u32) {
    b[..4].copy_from_slice(&hi.to_be_bytes());
    b[4..].copy_from_slice(&lo.to_be_bytes());
}

// ---------------------------------------------------------------------------
// The cipher.

/// Three-key triple DES (DES-EDE3) with a 24-byte key `k1 || k2 || k3`,
/// behind the RustCrypto block-cipher traits so the CBC code is generic.
pub(crate) struct TdesEde3 {
    /// The key schedules of `k1`, `k2`, `k3`, each in encryption order.
    ks: [Schedule; 3],
}

impl KeySizeUser for TdesEde3 {
    type KeySize = U24;
}

impl KeyInit for TdesEde3 {
    fn new(key: &Key<Self>) -> Self {
        let mut ks = [[0u32; 32]; 3];
        for (s, k) in ks.iter_mut().zip(key.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(k);
            *s = key_schedule(&bytes);
            bytes.zeroize();
        }
        Self { ks }
    }
}

impl BlockSizeUser for TdesEde3 {
    type BlockSize = U8;
}

impl BlockCipherEncrypt for TdesEde3 {
    #[inline]
    fn encrypt_with_backend(&self, f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>) {
        f.call(&Backend(&self.ks))
    }
}

impl BlockCipherDecrypt for TdesEde3 {
    #[inline]
    fn decrypt_with_backend(&self, f: impl BlockCipherDecClosure<BlockSize = Self::BlockSize>) {
        f.call(&Backend(&self.ks))
    }
}

/// The encryption and decryption backend: the key schedules.
struct Backend<'a>(&'a [Schedule; 3]);

impl BlockSizeUser for Backend<'_> {
    type BlockSize = U8;
}

impl ParBlocksSizeUser for Backend<'_> {
    type ParBlocksSize = U4;
}

impl Backend<'_> {
    #[inline(always)]
    fn crypt_one<const DEC: bool>(&self, mut block: InOut<'_, '_, Block<Self>>) {
        let (l, r) = load(block.get_in());
        let (mut l, mut r) = ([l], [r]);
        ede3::<DEC, 1>(self.0, &mut l, &mut r);
        store(block.get_out(), r[0], l[0]);
    }

    #[inline(always)]
    fn crypt_par<const DEC: bool>(&self, mut blocks: InOut<'_, '_, ParBlocks<Self>>) {
        let (mut l, mut r) = ([0u32; PAR_BLOCKS], [0u32; PAR_BLOCKS]);
        for ((b, l), r) in blocks.get_in().iter().zip(l.iter_mut()).zip(r.iter_mut()) {
            (*l, *r) = load(b);
        }
        ede3::<DEC, PAR_BLOCKS>(self.0, &mut l, &mut r);
        for ((b, l), r) in blocks.get_out().iter_mut().zip(l).zip(r) {
            store(b, r, l);
        }
    }
}

impl BlockCipherEncBackend for Backend<'_> {
    #[inline(always)]
    fn encrypt_block(&self, block: InOut<'_, '_, Block<Self>>) {
        self.crypt_one::<false>(block);
    }

    #[inline(always)]
    fn encrypt_par_blocks(&self, blocks: InOut<'_, '_, ParBlocks<Self>>) {
        self.crypt_par::<false>(blocks);
    }

    #[inline(always)]
    fn encrypt_tail_blocks(&self, blocks: InOutBuf<'_, '_, Block<Self>>) {
        for block in blocks {
            self.crypt_one::<false>(block);
        }
    }
}

impl BlockCipherDecBackend for Backend<'_> {
    #[inline(always)]
    fn decrypt_block(&self, block: InOut<'_, '_, Block<Self>>) {
        self.crypt_one::<true>(block);
    }

    #[inline(always)]
    fn decrypt_par_blocks(&self, blocks: InOut<'_, '_, ParBlocks<Self>>) {
        self.crypt_par::<true>(blocks);
    }

    #[inline(always)]
    fn decrypt_tail_blocks(&self, blocks: InOutBuf<'_, '_, Block<Self>>) {
        for block in blocks {
            self.crypt_one::<true>(block);
        }
    }
}

impl Drop for TdesEde3 {
    fn drop(&mut self) {
        self.ks.zeroize();
    }
}

impl ZeroizeOnDrop for TdesEde3 {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation, reason = "tests")]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn cipher(key: &[u8]) -> TdesEde3 {
        TdesEde3::new_from_slice(key).unwrap()
    }

    fn enc(c: &TdesEde3, block: &[u8]) -> Vec<u8> {
        let mut b = Block::<TdesEde3>::try_from(block).unwrap();
        c.encrypt_block(&mut b);
        b.to_vec()
    }

    fn dec(c: &TdesEde3, block: &[u8]) -> Vec<u8> {
        let mut b = Block::<TdesEde3>::try_from(block).unwrap();
        c.decrypt_block(&mut b);
        b.to_vec()
    }

    /// Single DES as triple DES with three equal keys (EDE = E).
    fn single(key: &str) -> TdesEde3 {
        cipher(&hex(&[key, key, key].concat()))
    }

    fn check_des(key: &str, pt: &str, ct: &str) {
        let c = single(key);
        assert_eq!(enc(&c, &hex(pt)), hex(ct), "E_{key}({pt})");
        assert_eq!(dec(&c, &hex(ct)), hex(pt), "D_{key}({ct})");
    }

    /// FIPS 81 appendix B / the classic "Now is t" example.
    #[test]
    fn des_classic_vector() {
        check_des("0123456789ABCDEF", "4E6F772069732074", "3FA40E8A984D4815");
    }

    /// NIST SP 800-20 table 1, variable-plaintext known-answer test (first
    /// eight entries), key 0101010101010101 (all zero but for parity).
    #[test]
    fn des_variable_plaintext_kat() {
        for (pt, ct) in [
            ("8000000000000000", "95F8A5E5DD31D900"),
            ("4000000000000000", "DD7F121CA5015619"),
            ("2000000000000000", "2E8653104F3834EA"),
            ("1000000000000000", "4BD388FF6CD81D4F"),
            ("0800000000000000", "20B9E767B2FB1456"),
            ("0400000000000000", "55579380D77138EF"),
            ("0200000000000000", "6CC5DEFAAF04512F"),
            ("0100000000000000", "0D9F279BA5D87260"),
        ] {
            check_des("0101010101010101", pt, ct);
        }
    }

    /// NIST SP 800-20 table 2, variable-key known-answer test (first
    /// entries), plaintext 0.
    #[test]
    fn des_variable_key_kat() {
        for (key, ct) in [
            ("8001010101010101", "95A8D72813DAA94D"),
            ("4001010101010101", "0EEC1487DD8C26D5"),
            ("2001010101010101", "7AD16FFB79C45926"),
            ("1001010101010101", "D3746294CA6A6CF3"),
            ("0801010101010101", "809F5F873C1FD761"),
            ("0401010101010101", "C02FAFFEC989D1FC"),
            ("0201010101010101", "4615AA1D33E72F10"),
        ] {
            check_des(key, "0000000000000000", ct);
        }
    }

    /// NIST SP 800-20 table 3 (permutation operation, first entry) and
    /// table 4 (substitution table, first entries).
    #[test]
    fn des_permutation_and_substitution_kat() {
        check_des("1046913489980131", "0000000000000000", "88D55E54F54C97B4");
        for (key, pt, ct) in [
            ("7CA110454A1A6E57", "01A1D6D039776742", "690F5B0D9A26939B"),
            ("0131D9619DC1376E", "5CD54CA83DEF57DA", "7A389D10354BD271"),
            ("07A1133E4A0B2686", "0248D43806F67172", "868EBB51CAB4599A"),
            ("3849674C2602319E", "51454B582DDF440A", "7178876E01F19B2A"),
        ] {
            check_des(key, pt, ct);
        }
    }

    /// NIST SP 800-67 rev. 1, appendix B: TDEA ECB with three keys.
    #[test]
    fn tdes_sp800_67_example() {
        let c = cipher(&hex("0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123"));
        let pt = b"The qufck brown fox jump";
        let ct = hex("A826FD8CE53B855FCCE21C8112256FE668D5C05DD9B6B900");
        for (p, x) in pt.chunks(8).zip(ct.chunks(8)) {
            assert_eq!(enc(&c, p), x);
            assert_eq!(dec(&c, x), p);
        }
    }

    /// The parity bit (the least significant bit of each key byte) is ignored.
    #[test]
    fn parity_bits_are_ignored() {
        let key = hex("0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123");
        let flipped: Vec<u8> = key.iter().map(|b| b ^ 1).collect();
        let block = hex("5468652071756663");
        assert_eq!(enc(&cipher(&key), &block), enc(&cipher(&flipped), &block));
        // A non-parity bit does matter.
        let mut other = key.clone();
        other[23] ^= 2;
        assert_ne!(enc(&cipher(&key), &block), enc(&cipher(&other), &block));
    }

    #[test]
    fn wrong_key_length_is_refused() {
        assert!(TdesEde3::new_from_slice(&[0; 23]).is_err());
        assert!(TdesEde3::new_from_slice(&[0; 25]).is_err());
        assert!(TdesEde3::new_from_slice(&[0; 8]).is_err());
    }

    /// A small xorshift generator: deterministic test data.
    struct Rng(u64);

    impl Rng {
        fn fill(&mut self, out: &mut [u8]) {
            for b in out {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                *b = (self.0 >> 24) as u8;
            }
        }
    }

    /// Agrees with the RustCrypto `des` crate on random keys and blocks, one
    /// block at a time and through the parallel (interleaved) path.
    #[test]
    fn matches_des_crate() {
        use aes::cipher::array::Array;

        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200 {
            let mut key = [0u8; 24];
            rng.fill(&mut key);
            let ours = cipher(&key);
            let theirs = des::TdesEde3::new_from_slice(&key).unwrap();
            let mut blocks = [[0u8; 8]; 7];
            for b in &mut blocks {
                rng.fill(b);
            }
            for b in &blocks {
                let mut x = Block::<des::TdesEde3>::from(*b);
                BlockCipherEncrypt::encrypt_block(&theirs, &mut x);
                assert_eq!(enc(&ours, b), x.as_slice());
                let mut y = Block::<des::TdesEde3>::from(*b);
                BlockCipherDecrypt::decrypt_block(&theirs, &mut y);
                assert_eq!(dec(&ours, b), y.as_slice());
            }
            // 7 blocks: one parallel batch of 4 and a tail of 3.
            let mut mine: [Block<TdesEde3>; 7] = blocks.map(Array::from);
            let mut want: [Block<des::TdesEde3>; 7] = blocks.map(Array::from);
            ours.encrypt_blocks(&mut mine);
            theirs.encrypt_blocks(&mut want);
            assert_eq!(mine, want);
            ours.decrypt_blocks(&mut mine);
            theirs.decrypt_blocks(&mut want);
            assert_eq!(mine, want);
            assert_eq!(mine, blocks.map(Array::from));
            let mut mine: [Block<TdesEde3>; 7] = blocks.map(Array::from);
            let mut want: [Block<des::TdesEde3>; 7] = blocks.map(Array::from);
            ours.decrypt_blocks(&mut mine);
            theirs.decrypt_blocks(&mut want);
            assert_eq!(mine, want);
        }
    }

    /// DES-EDE3-CBC through `CbcEncryptor` / `CbcDecryptor` (parallel batches
    /// of 4 blocks, tails, held-back blocks) agrees with the `des` crate in a
    /// plain CBC loop, for many lengths and chunkings.
    #[test]
    fn cbc_matches_des_crate_across_chunkings() {
        use crate::cipher::{CbcDecryptor, CbcEncryptor, ContentCipher};

        let mut rng = Rng(7);
        for len in [0usize, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 257, 1000] {
            let (mut key, mut iv) = ([0u8; 24], [0u8; 8]);
            rng.fill(&mut key);
            rng.fill(&mut iv);
            let mut pt = std::vec![0u8; len];
            rng.fill(&mut pt);
            // Reference: PKCS#7 padding, then CBC with the `des` crate.
            let theirs = des::TdesEde3::new_from_slice(&key).unwrap();
            let pad = 8 - len % 8;
            let mut want = pt.clone();
            want.resize(len + pad, u8::try_from(pad).unwrap());
            let mut chain = iv;
            for block in want.chunks_exact_mut(8) {
                for (b, c) in block.iter_mut().zip(chain) {
                    *b ^= c;
                }
                let mut x = Block::<des::TdesEde3>::try_from(&*block).unwrap();
                BlockCipherEncrypt::encrypt_block(&theirs, &mut x);
                block.copy_from_slice(&x);
                chain.copy_from_slice(&x);
            }
            for step in [1usize, 3, 8, 13, 32, 40, 4096] {
                let mut enc = CbcEncryptor::new(ContentCipher::DesEde3Cbc, &key, &iv).unwrap();
                let mut ct = Vec::new();
                let mut out = std::vec![0u8; step + 16];
                for part in pt.chunks(step) {
                    let n = enc.update(part, &mut out).unwrap();
                    ct.extend_from_slice(&out[..n]);
                }
                let n = enc.finish(&mut out).unwrap();
                ct.extend_from_slice(&out[..n]);
                assert_eq!(ct, want, "encrypt {len} {step}");

                let mut dec = CbcDecryptor::new(ContentCipher::DesEde3Cbc, &key, &iv).unwrap();
                let mut back = Vec::new();
                for part in ct.chunks(step) {
                    let n = dec.update(part, &mut out).unwrap();
                    back.extend_from_slice(&out[..n]);
                }
                let n = dec.finish(&mut out).unwrap();
                back.extend_from_slice(&out[..n]);
                assert_eq!(back, pt, "decrypt {len} {step}");
            }
        }
    }

    /// The swap-move IP and FP equal the bit permutations of FIPS 46-3
    /// (up to the one-bit rotation the rounds want).
    #[test]
    fn ip_fp_match_the_tables() {
        #[rustfmt::skip]
        const IP: [u8; 64] = [
            58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
            62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
            57, 49, 41, 33, 25, 17,  9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
            61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
        ];
        let mut rng = Rng(42);
        for _ in 0..1000 {
            let mut b = [0u8; 8];
            rng.fill(&mut b);
            let v = u64::from_be_bytes(b);
            let want = permute(v, &IP, 64);
            let (mut l, mut r) = ((v >> 32) as u32, v as u32);
            ip(&mut l, &mut r);
            assert_eq!(l.rotate_right(1), (want >> 32) as u32);
            assert_eq!(r.rotate_right(1), want as u32);
            fp(&mut l, &mut r);
            assert_eq!((u64::from(l) << 32) | u64::from(r), v);
        }
    }
}
