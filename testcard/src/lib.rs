//! An emulated signature card for tests: a generic ISO 7816-8 signature card
//! or an OpenPGP card v3, with software keys, plugged into the `vpcd`
//! virtual reader of vsmartcard so that `pcscd` and every PC/SC program see
//! it as a real card.
//!
//! This is a test utility, not product code: it keeps keys in memory and
//! does what the tests need. It behaves like a card where the tests look:
//! PIN try counters (`63Cx`, `6983` when blocked, VERIFY without data
//! answers the tries left), a signature PIN valid for one signature, short
//! APDUs answered with `61xx` and GET RESPONSE when the response is long,
//! command chaining, extended length only when configured, `6700` for an
//! extended APDU it does not take.
//!
//! vpcd protocol (vsmartcard's `vpcd.c`): the card connects to vpcd's TCP
//! port (35963 for the first reader); every message is a two-byte
//! big-endian length and a payload. A one-byte payload is a control: `00`
//! power off, `01` power on, `02` reset, `04` get ATR (answered with the
//! ATR). Any other payload is a command APDU, answered with the response
//! APDU.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "a test utility: lengths are bounded by the tests"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rsa::Pkcs1v15Sign;
use smime_core::backend::{KeyAgreement, KeyTransAlgorithm, KeyTransDecrypter, Signer, ToBeSigned};
use smime_core::soft::SoftRsaKey;
use smime_core::soft_ec::SoftEcKey;

/// The card's answer to reset: T=1 only, no historical bytes.
pub const ATR: [u8; 4] = [0x3B, 0x80, 0x01, 0x81];

/// The OpenPGP card AID (version 3.4, manufacturer FF FE test, serial).
pub const OPENPGP_AID: [u8; 16] = [
    0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x03, 0x04, 0xFF, 0xFE, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
];

/// Which card to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// A generic ISO 7816-8 signature card.
    Iso7816,
    /// An OpenPGP card v3.
    OpenPgp,
}

/// A private key and its certificate.
#[derive(Clone, Debug)]
pub struct KeySlot {
    /// The PKCS#8 DER of the key (RSA, P-256 or P-384).
    pub pkcs8: Vec<u8>,
    /// The certificate's DER.
    pub cert: Vec<u8>,
}

/// How to build the card.
#[derive(Clone, Debug)]
pub struct CardConfig {
    /// ISO 7816-8 or OpenPGP.
    pub profile: Profile,
    /// The PIN (user PIN / PW1), compared byte for byte with VERIFY's data.
    pub pin: Vec<u8>,
    /// Tries before the PIN blocks.
    pub tries: u8,
    /// The signature key.
    pub sign: KeySlot,
    /// The decryption key (default: the signature key).
    pub decrypt: Option<KeySlot>,
    /// Whether extended-length APDUs are taken.
    pub extended: bool,
    /// The ISO profile's application AID.
    pub aid: Vec<u8>,
    /// The ISO profile's certificate file.
    pub cert_file: [u8; 2],
    /// The ISO profile's PIN reference.
    pub pin_ref: u8,
    /// The ISO profile's signature and decryption key references.
    pub key_refs: (u8, u8),
}

impl CardConfig {
    /// A card of `profile` with `sign` as its only key (also deciphering),
    /// PIN `123456`, 3 tries, short APDUs only.
    pub fn new(profile: Profile, sign: KeySlot) -> Self {
        Self {
            profile,
            pin: b"123456".to_vec(),
            tries: 3,
            sign,
            decrypt: None,
            extended: false,
            aid: vec![
                0xE8, 0x28, 0xBD, 0x08, 0x0F, 0xA0, 0x00, 0x00, 0x01, 0x67, 0x45, 0x53, 0x49, 0x47,
                0x4E,
            ],
            cert_file: [0xC0, 0x00],
            pin_ref: 0x81,
            key_refs: (0x84, 0x85),
        }
    }
}

enum Key {
    Rsa(SoftRsaKey),
    Ec(SoftEcKey<'static>),
}

impl Key {
    fn new(pkcs8: &[u8]) -> Self {
        if let Ok(k) = SoftRsaKey::from_pkcs8_der(pkcs8) {
            return Key::Rsa(k);
        }
        Key::Ec(SoftEcKey::from_pkcs8_der(pkcs8).expect("an RSA or EC PKCS#8 key"))
    }
}

/// What the tests can look at while the card runs.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Every command APDU the card received, in order.
    pub commands: Vec<Vec<u8>>,
    /// Tries left of the PIN.
    pub tries_left: u8,
    /// VERIFY commands with a PIN (not the empty status query).
    pub verifies: usize,
    /// Signatures made.
    pub signatures: usize,
    /// Decipher operations done.
    pub deciphers: usize,
}

/// The card's logic, without a reader.
pub struct VirtualCard {
    cfg: CardConfig,
    sign_key: Key,
    dec_key: Key,
    selected: bool,
    file: Option<[u8; 2]>,
    sig_verified: bool,
    dec_verified: bool,
    chain: Vec<u8>,
    pending: Vec<u8>,
    cert_occurrence: u8,
    /// Shared with the tests.
    pub observed: Arc<Mutex<Observed>>,
}

fn sw(data: &[u8], sw: u16) -> Vec<u8> {
    let mut v = data.to_vec();
    v.extend_from_slice(&sw.to_be_bytes());
    v
}

/// A parsed command APDU.
struct Apdu<'a> {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: &'a [u8],
    ne: usize,
    extended: bool,
}

fn parse(a: &[u8]) -> Option<Apdu<'_>> {
    let (h, body) = (a.get(..4)?, &a[4..]);
    let mk =
        |data, ne, extended| Apdu { cla: h[0], ins: h[1], p1: h[2], p2: h[3], data, ne, extended };
    match body.len() {
        0 => Some(mk(&[][..], 0, false)),
        1 => Some(mk(&[][..], if body[0] == 0 { 256 } else { usize::from(body[0]) }, false)),
        _ if body[0] != 0 => {
            let lc = usize::from(body[0]);
            let data = body.get(1..1 + lc)?;
            match body.len() - 1 - lc {
                0 => Some(mk(data, 0, false)),
                1 => {
                    let le = body[1 + lc];
                    Some(mk(data, if le == 0 { 256 } else { usize::from(le) }, false))
                }
                _ => None,
            }
        }
        3 => {
            let le = usize::from(u16::from_be_bytes([body[1], body[2]]));
            Some(mk(&[][..], if le == 0 { 65536 } else { le }, true))
        }
        _ => {
            let lc = usize::from(u16::from_be_bytes([body[1], body[2]]));
            let data = body.get(3..3 + lc)?;
            match body.len() - 3 - lc {
                0 => Some(mk(data, 0, true)),
                2 => {
                    let le = usize::from(u16::from_be_bytes([body[3 + lc], body[4 + lc]]));
                    Some(mk(data, if le == 0 { 65536 } else { le }, true))
                }
                _ => None,
            }
        }
    }
}

/// `r‖s` from a DER Ecdsa-Sig-Value.
fn der_to_raw(der: &[u8], field: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 2;
    if der[1] == 0x81 {
        i = 3;
    }
    for _ in 0..2 {
        assert_eq!(der[i], 0x02);
        let len = usize::from(der[i + 1]);
        let mut v = &der[i + 2..i + 2 + len];
        while v.len() > field && v[0] == 0 {
            v = &v[1..];
        }
        out.extend(std::iter::repeat_n(0, field - v.len()));
        out.extend_from_slice(v);
        i += 2 + len;
    }
    out
}

impl VirtualCard {
    /// A card as `cfg` says.
    pub fn new(cfg: CardConfig) -> Self {
        let sign_key = Key::new(&cfg.sign.pkcs8);
        let dec_key = Key::new(&cfg.decrypt.as_ref().unwrap_or(&cfg.sign).pkcs8);
        let observed =
            Arc::new(Mutex::new(Observed { tries_left: cfg.tries, ..Observed::default() }));
        Self {
            cfg,
            sign_key,
            dec_key,
            selected: false,
            file: None,
            sig_verified: false,
            dec_verified: false,
            chain: Vec::new(),
            pending: Vec::new(),
            cert_occurrence: 0,
            observed,
        }
    }

    /// Power-up or reset: security state and selection are lost.
    pub fn reset(&mut self) {
        self.selected = false;
        self.file = None;
        self.sig_verified = false;
        self.dec_verified = false;
        self.chain.clear();
        self.pending.clear();
        self.cert_occurrence = 0;
    }

    fn tries(&self) -> u8 {
        self.observed.lock().unwrap().tries_left
    }

    /// Answers one command APDU.
    pub fn process(&mut self, raw: &[u8]) -> Vec<u8> {
        self.observed.lock().unwrap().commands.push(raw.to_vec());
        let Some(a) = parse(raw) else { return sw(&[], 0x6700) };
        if a.extended && !self.cfg.extended {
            return sw(&[], 0x6700);
        }
        // GET RESPONSE for what a short response left over.
        if a.ins == 0xC0 {
            if self.pending.is_empty() {
                return sw(&[], 0x6985);
            }
            let rest = std::mem::take(&mut self.pending);
            return self.respond(&rest, a.ne, a.extended);
        }
        self.pending.clear();
        // Command chaining: collect, answer 9000, run the whole at the end.
        if a.cla & 0x10 != 0 {
            self.chain.extend_from_slice(a.data);
            return sw(&[], 0x9000);
        }
        let data = if self.chain.is_empty() {
            a.data.to_vec()
        } else {
            let mut d = std::mem::take(&mut self.chain);
            d.extend_from_slice(a.data);
            d
        };
        let a = Apdu { data: &data, ..a };
        let (out, status) = match self.cfg.profile {
            Profile::Iso7816 => self.iso(&a),
            Profile::OpenPgp => self.openpgp(&a),
        };
        if status != 0x9000 {
            return sw(&[], status);
        }
        self.respond(&out, a.ne, a.extended)
    }

    /// Sends `data` within Ne; a short APDU gets 256 bytes at most and
    /// `61xx` for the rest.
    fn respond(&mut self, data: &[u8], ne: usize, extended: bool) -> Vec<u8> {
        let limit = if extended { ne } else { ne.min(256) };
        if data.len() <= limit {
            return sw(data, 0x9000);
        }
        if extended {
            // ISO: a longer response than Ne on an extended APDU is cut to
            // Ne with 6100 (more data).
            self.pending = data[limit..].to_vec();
            return sw(&data[..limit], 0x6100);
        }
        self.pending = data[limit..].to_vec();
        let left = self.pending.len().min(256);
        let sw2 = if left == 256 { 0 } else { left as u16 };
        sw(&data[..limit], 0x6100 | sw2)
    }

    fn check_pin(&mut self, pin: &[u8]) -> u16 {
        let mut o = self.observed.lock().unwrap();
        o.verifies += 1;
        if o.tries_left == 0 {
            return 0x6983;
        }
        if pin == self.cfg.pin.as_slice() {
            o.tries_left = self.cfg.tries;
            0x9000
        } else {
            o.tries_left -= 1;
            if o.tries_left == 0 { 0x6983 } else { 0x63C0 | u16::from(o.tries_left) }
        }
    }

    fn pin_query(&self, verified: bool) -> u16 {
        match (verified, self.tries()) {
            (true, _) => 0x9000,
            (false, 0) => 0x6983,
            (false, n) => 0x63C0 | u16::from(n),
        }
    }

    fn sign(&mut self, input: &[u8]) -> (Vec<u8>, u16) {
        let sig = match &mut self.sign_key {
            Key::Rsa(k) => match k.rsa_key().sign(Pkcs1v15Sign::new_unprefixed(), input) {
                Ok(s) => s,
                Err(_) => return (vec![], 0x6A80),
            },
            Key::Ec(k) => {
                let mut der = [0u8; 128];
                let tbs = ToBeSigned { message: None, digest: input };
                let field = if k.max_signature_len() > 80 { 48 } else { 32 };
                match Signer::sign(k, &tbs, &mut der) {
                    Ok(n) => der_to_raw(&der[..n], field),
                    Err(_) => return (vec![], 0x6A80),
                }
            }
        };
        self.observed.lock().unwrap().signatures += 1;
        // A signature PIN is good for one signature.
        self.sig_verified = false;
        (sig, 0x9000)
    }

    fn decipher(&mut self, data: &[u8]) -> (Vec<u8>, u16) {
        self.observed.lock().unwrap().deciphers += 1;
        match &mut self.dec_key {
            Key::Rsa(k) => {
                if data.first() != Some(&0x00) {
                    return (vec![], 0x6A80);
                }
                let mut out = [0u8; 512];
                match k.decrypt_key(&KeyTransAlgorithm::RsaPkcs1v15, &data[1..], &mut out) {
                    Ok(n) => (out[..n].to_vec(), 0x9000),
                    Err(_) => (vec![], 0x6A80),
                }
            }
            Key::Ec(k) => {
                // A6 { 7F49 { 86 <point> } }
                let point = find_86(data);
                let Some(point) = point else { return (vec![], 0x6A80) };
                let mut out = [0u8; 66];
                match KeyAgreement::shared_secret(k, point, &mut out) {
                    Ok(n) => (out[..n].to_vec(), 0x9000),
                    Err(_) => (vec![], 0x6A80),
                }
            }
        }
    }

    fn iso(&mut self, a: &Apdu<'_>) -> (Vec<u8>, u16) {
        match (a.ins, a.p1, a.p2) {
            (0xA4, 0x04, _) => {
                if a.data == self.cfg.aid.as_slice() {
                    self.selected = true;
                    (vec![], 0x9000)
                } else {
                    (vec![], 0x6A82)
                }
            }
            _ if !self.selected => (vec![], 0x6985),
            (0xA4, 0x02, _) => {
                if a.data == self.cfg.cert_file {
                    self.file = Some(self.cfg.cert_file);
                    (vec![], 0x9000)
                } else {
                    (vec![], 0x6A82)
                }
            }
            (0xB0, p1, p2) => {
                if self.file.is_none() {
                    return (vec![], 0x6986);
                }
                let off = usize::from(p1 & 0x7F) << 8 | usize::from(p2);
                let cert = &self.cfg.sign.cert;
                if off > cert.len() {
                    return (vec![], 0x6B00);
                }
                let end = (off + a.ne).min(cert.len());
                (cert[off..end].to_vec(), 0x9000)
            }
            (0x20, 0x00, r) if r == self.cfg.pin_ref => {
                if a.data.is_empty() {
                    return (vec![], self.pin_query(self.sig_verified));
                }
                let s = self.check_pin(a.data);
                self.sig_verified = s == 0x9000;
                self.dec_verified = s == 0x9000;
                (vec![], s)
            }
            (0x20, _, _) => (vec![], 0x6A88),
            (0x22, 0x41, 0xB6 | 0xB8) => {
                let want = if a.p2 == 0xB6 { self.cfg.key_refs.0 } else { self.cfg.key_refs.1 };
                if a.data.windows(3).any(|w| w == [0x84, 0x01, want]) {
                    (vec![], 0x9000)
                } else {
                    (vec![], 0x6A88)
                }
            }
            (0x2A, 0x9E, 0x9A) => {
                if !self.sig_verified {
                    return (vec![], 0x6982);
                }
                self.sign(a.data)
            }
            (0x2A, 0x80, 0x86) => {
                if !self.dec_verified {
                    return (vec![], 0x6982);
                }
                self.decipher(a.data)
            }
            _ => (vec![], 0x6D00),
        }
    }

    fn openpgp(&mut self, a: &Apdu<'_>) -> (Vec<u8>, u16) {
        match (a.ins, a.p1, a.p2) {
            (0xA4, 0x04, _) => {
                if OPENPGP_AID.starts_with(a.data) && a.data.len() >= 6 {
                    self.selected = true;
                    (vec![], 0x9000)
                } else {
                    (vec![], 0x6A82)
                }
            }
            _ if !self.selected => (vec![], 0x6985),
            (0xCA, 0x00, 0x6E) => {
                // 6E { 4F aid, 73 { C0 extended capabilities, C4 PW status }, 7F66 }
                let mut inner = vec![0xC0, 0x0A, 0x7D, 0, 0, 0, 0x08, 0, 0x00, 0xFF, 0, 0];
                inner.extend_from_slice(&[0xC4, 0x07, 0x00, 32, 32, 32, self.tries(), 0, 3]);
                let mut d = vec![0x4F, 16];
                d.extend_from_slice(&OPENPGP_AID);
                d.push(0x73);
                d.push(inner.len() as u8);
                d.extend_from_slice(&inner);
                if self.cfg.extended {
                    d.extend_from_slice(&[
                        0x7F, 0x66, 0x08, 0x02, 0x02, 0x08, 0x00, 0x02, 0x02, 0x08, 0x00,
                    ]);
                }
                let mut out = vec![0x6E, 0x81, d.len() as u8];
                out.extend_from_slice(&d);
                (out, 0x9000)
            }
            (0xA5, occ, 0x04) => {
                if a.data != [0x60, 0x04, 0x5C, 0x02, 0x7F, 0x21] || occ > 2 {
                    return (vec![], 0x6A80);
                }
                self.cert_occurrence = occ;
                (vec![], 0x9000)
            }
            (0xCA, 0x7F, 0x21) => {
                let cert = match self.cert_occurrence {
                    2 => &self.cfg.sign.cert,
                    1 => &self.cfg.decrypt.as_ref().unwrap_or(&self.cfg.sign).cert,
                    _ => return (vec![], 0x6A88),
                };
                (cert.clone(), 0x9000)
            }
            (0x20, 0x00, r @ (0x81 | 0x82)) => {
                let verified = if r == 0x81 { self.sig_verified } else { self.dec_verified };
                if a.data.is_empty() {
                    return (vec![], self.pin_query(verified));
                }
                let s = self.check_pin(a.data);
                if r == 0x81 {
                    self.sig_verified = s == 0x9000;
                } else {
                    self.dec_verified = s == 0x9000;
                }
                (vec![], s)
            }
            (0x2A, 0x9E, 0x9A) => {
                if !self.sig_verified {
                    return (vec![], 0x6982);
                }
                self.sign(a.data)
            }
            (0x2A, 0x80, 0x86) => {
                if !self.dec_verified {
                    return (vec![], 0x6982);
                }
                self.decipher(a.data)
            }
            _ => (vec![], 0x6D00),
        }
    }
}

/// The value of tag 86 inside `A6 { 7F49 { 86 .. } }`.
fn find_86(d: &[u8]) -> Option<&[u8]> {
    fn len(d: &[u8], i: usize) -> Option<(usize, usize)> {
        match *d.get(i)? {
            l @ 0..=0x7F => Some((usize::from(l), i + 1)),
            0x81 => Some((usize::from(*d.get(i + 1)?), i + 2)),
            _ => None,
        }
    }
    if d.first()? != &0xA6 {
        return None;
    }
    let (_, i) = len(d, 1)?;
    if d.get(i..i + 2)? != [0x7F, 0x49] {
        return None;
    }
    let (_, i) = len(d, i + 2)?;
    if *d.get(i)? != 0x86 {
        return None;
    }
    let (n, i) = len(d, i + 1)?;
    d.get(i..i + n)
}

/// A card plugged into vpcd, answering in a thread until unplugged.
pub struct Plugged {
    stop: Arc<AtomicBool>,
    control: Option<TcpStream>,
    limit: Arc<AtomicUsize>,
    count: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
    /// What the card saw.
    pub observed: Arc<Mutex<Observed>>,
}

/// Where the vpcd slots listen: the first reader (`Virtual PCD 00 00`) on
/// 35963, the next on 35964.
pub const VPCD_PORT: u16 = 35963;

impl Plugged {
    /// Connects `card` to vpcd on `port` and answers in a thread.
    pub fn plug(mut card: VirtualCard, port: u16) -> std::io::Result<Self> {
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        // Blocking reads; unplugging shuts the socket down from outside.
        let control = s.try_clone()?;
        let stop = Arc::new(AtomicBool::new(false));
        let observed = card.observed.clone();
        let limit = Arc::new(AtomicUsize::new(usize::MAX));
        let count = Arc::new(AtomicUsize::new(0));
        let (limit2, count2) = (limit.clone(), count.clone());
        let thread = std::thread::spawn(move || {
            loop {
                let mut len = [0u8; 2];
                if s.read_exact(&mut len).is_err() {
                    return;
                }
                let n = usize::from(u16::from_be_bytes(len));
                let mut msg = vec![0u8; n];
                if s.read_exact(&mut msg).is_err() {
                    return;
                }
                let reply = match msg.as_slice() {
                    [0x00] | [0x01] | [0x02] => {
                        card.reset();
                        None
                    }
                    [0x04] => Some(ATR.to_vec()),
                    apdu => {
                        let n = count2.fetch_add(1, Ordering::SeqCst) + 1;
                        if n > limit2.load(Ordering::SeqCst) {
                            // Pulled out: no answer, the connection goes.
                            let _ = s.shutdown(std::net::Shutdown::Both);
                            return;
                        }
                        Some(card.process(apdu))
                    }
                };
                if let Some(r) = reply {
                    let mut framed = (r.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&r);
                    if s.write_all(&framed).is_err() {
                        return;
                    }
                }
            }
        });
        let control = Some(control);
        Ok(Self { stop, control, limit, count, thread: Some(thread), observed })
    }

    /// Pulls the card out when it receives its `n`-th command from now: it
    /// answers `n - 1` more and is gone in the middle of the next.
    pub fn pull_at(&self, n: usize) {
        let now = self.count.load(Ordering::SeqCst);
        self.limit.store(now + n - 1, Ordering::SeqCst);
    }

    /// Whether the card's thread still runs (false once it was pulled out).
    pub fn is_plugged(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Pulls the card out and waits for its thread.
    pub fn unplug(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(c) = self.control.take() {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Plugged {
    fn drop(&mut self) {
        self.stop_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_apdu_cases() {
        let a = parse(&[0, 0xA4, 4, 0]).unwrap();
        assert_eq!((a.data.len(), a.ne, a.extended), (0, 0, false));
        let a = parse(&[0, 0xB0, 0, 0, 0]).unwrap();
        assert_eq!(a.ne, 256);
        let a = parse(&[0, 0x20, 0, 0x81, 2, 1, 2]).unwrap();
        assert_eq!((a.data, a.ne), (&[1u8, 2][..], 0));
        let a = parse(&[0, 0x2A, 0x9E, 0x9A, 1, 9, 0]).unwrap();
        assert_eq!((a.data, a.ne), (&[9u8][..], 256));
        let a = parse(&[0, 0xCA, 0x7F, 0x21, 0, 0, 0]).unwrap();
        assert_eq!((a.ne, a.extended), (65536, true));
        let a = parse(&[0, 0x2A, 0x80, 0x86, 0, 0, 2, 7, 7, 0, 0]).unwrap();
        assert_eq!((a.data, a.ne, a.extended), (&[7u8, 7][..], 65536, true));
        assert!(parse(&[0, 0x2A, 0x80, 0x86, 5, 1]).is_none());
    }

    #[test]
    fn finds_the_ecdh_point() {
        let d = [0xA6, 0x07, 0x7F, 0x49, 0x04, 0x86, 0x02, 0x04, 0x05];
        assert_eq!(find_86(&d), Some(&[4u8, 5][..]));
        assert_eq!(find_86(&[0xA6, 0x01]), None);
    }
}

/// Keys and certificates for the test cards, made by `openssl` once and
/// kept (under a directory the caller names, such as
/// `CARGO_TARGET_TMPDIR`).
pub mod fixture {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::KeySlot;

    /// The e-mail address in every test card certificate.
    pub const EMAIL: &str = "card@example.org";

    /// The key material: `<dir>/<name>/{key.pem,key.der,cert.pem,cert.der}`
    /// for `rsa2048`, `rsa4096`, `ec256` and `other` (an RSA-2048 key on no
    /// card).
    #[derive(Clone, Debug)]
    pub struct Material {
        /// Where it is.
        pub dir: PathBuf,
    }

    impl Material {
        /// A file of key `name`.
        pub fn path(&self, name: &str, file: &str) -> PathBuf {
            self.dir.join(name).join(file)
        }

        /// Key `name` with its certificate.
        pub fn slot(&self, name: &str) -> KeySlot {
            KeySlot {
                pkcs8: std::fs::read(self.path(name, "key.der")).unwrap(),
                cert: std::fs::read(self.path(name, "cert.der")).unwrap(),
            }
        }
    }

    fn openssl(args: &[&str], dir: &Path) {
        let o = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
        assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }

    fn make(dir: &Path, name: &str) {
        let (newkey, usage): (&[&str], &str) = match name {
            "rsa4096" => {
                (&["-newkey", "rsa:4096"], "digitalSignature,nonRepudiation,keyEncipherment")
            }
            "ec256" => (
                &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
                "digitalSignature,nonRepudiation,keyAgreement",
            ),
            _ => (&["-newkey", "rsa:2048"], "digitalSignature,nonRepudiation,keyEncipherment"),
        };
        let mut args = vec!["req", "-x509", "-nodes", "-days", "3650"];
        args.extend_from_slice(newkey);
        let subj = format!("/CN=Card Holder {name}/emailAddress={EMAIL}");
        let san = format!("subjectAltName=email:{EMAIL}");
        let ku = format!("keyUsage=critical,{usage}");
        args.extend_from_slice(&["-keyout", "key.pem", "-out", "cert.pem", "-subj", &subj]);
        args.extend_from_slice(&["-addext", &san, "-addext", &ku]);
        args.extend_from_slice(&["-addext", "extendedKeyUsage=emailProtection"]);
        openssl(&args, dir);
        openssl(
            &[
                "pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out",
                "key.der",
            ],
            dir,
        );
        openssl(&["x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der"], dir);
    }

    /// The material under `base`, made when missing.
    pub fn material(base: &Path) -> Material {
        let dir = base.join("card-material");
        for name in ["rsa2048", "rsa4096", "ec256", "other"] {
            let done = dir.join(name).join("cert.der");
            if done.exists() {
                continue;
            }
            // Made aside and renamed, so parallel test processes never see
            // half a key.
            let tmp = dir.join(format!(".{name}.{}", std::process::id()));
            std::fs::create_dir_all(&tmp).unwrap();
            make(&tmp, name);
            if std::fs::rename(&tmp, dir.join(name)).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        Material { dir }
    }
}

/// The reader vpcd's first slot shows up as in pcscd.
pub const READER: &str = "Virtual PCD 00 00";

/// Holds vpcd's first slot for one test: test processes take turns.
#[derive(Debug)]
pub struct VpcdLock(#[allow(dead_code)] std::fs::File);

/// Waits for vpcd's first slot (a file lock shared by all test processes).
pub fn lock_vpcd() -> VpcdLock {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join("smime-testcard-vpcd.lock"))
        .unwrap();
    f.lock().unwrap();
    VpcdLock(f)
}

/// Whether pcscd runs with the vpcd reader. When it does not, tests skip
/// locally and fail under CI (`CI` set), where the test command starts it.
pub fn pcscd_ready(test: &str) -> bool {
    let ok = pcsc::Context::establish(pcsc::Scope::User)
        .and_then(|c| c.list_readers_owned())
        .is_ok_and(|r| r.iter().any(|n| n.to_string_lossy() == READER));
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: pcscd with the vpcd reader is not running (scripts/test starts it)"
        );
        eprintln!(
            "{test}: skipped: pcscd with the vpcd reader is not running (scripts/test starts it)"
        );
    }
    ok
}

fn card_present() -> bool {
    let Ok(ctx) = pcsc::Context::establish(pcsc::Scope::User) else { return false };
    let name = std::ffi::CString::new(READER).unwrap();
    let mut st = [pcsc::ReaderState::new(name, pcsc::State::UNAWARE)];
    ctx.get_status_change(Duration::ZERO, &mut st).is_ok()
        && st[0].event_state().contains(pcsc::State::PRESENT)
}

fn wait_for(present: bool) -> bool {
    for _ in 0..100 {
        if card_present() == present {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Plugged {
    /// Plugs `card` into vpcd's first slot and waits until pcscd sees it.
    pub fn insert(card: VirtualCard) -> Self {
        // A card left from an earlier test must be gone first.
        assert!(wait_for(false), "the vpcd reader still shows a card");
        let p = Self::plug(card, VPCD_PORT).expect("connect to vpcd");
        assert!(wait_for(true), "pcscd did not see the card");
        p
    }

    /// Unplugs and waits until pcscd sees the reader empty.
    pub fn remove(self) {
        self.unplug();
        assert!(wait_for(false), "pcscd still sees the card");
    }
}
