//! Choosing the content cipher from the recipients' SMIMECapabilities
//! (RFC 8551 §2.5.2, §2.7).
//!
//! A sending agent learns what a correspondent can decrypt from the
//! `smimeCapabilities` signed attribute of mail the correspondent signed:
//!
//! ```text
//! SMIMECapabilities ::= SEQUENCE OF SMIMECapability
//! SMIMECapability ::= SEQUENCE {
//!   capabilityID OBJECT IDENTIFIER,
//!   parameters ANY DEFINED BY capabilityID OPTIONAL }
//! ```
//!
//! [`choose_cipher`] prefers AuthEnvelopedData (AES-GCM, RFC 5084; or
//! ChaCha20-Poly1305, RFC 8103) when **every** recipient announced the same
//! authenticated cipher, and otherwise keeps the caller's policy cipher: one
//! recipient that never announced AuthEnvelopedData support (an older
//! client, or a correspondent whose capabilities are unknown) could not read
//! the message.
//!
//! Everything here works on borrowed DER and allocates nothing; malformed
//! capabilities count as announcing nothing.

use crate::ber::{SliceReader, Tag};
use crate::cipher::{CipherSet, ContentCipher};
use crate::error::{Error, ErrorKind, Result};

/// The authenticated ciphers [`choose_cipher`] picks from, preferred first.
pub const AEAD_PREFERENCE: [ContentCipher; 4] = [
    ContentCipher::Aes256Gcm,
    ContentCipher::Aes128Gcm,
    ContentCipher::ChaCha20Poly1305,
    ContentCipher::Aes192Gcm,
];

/// The content ciphers this library implements that one SMIMECapabilities
/// value announces. `caps` is the DER of the attribute's value (the
/// `SEQUENCE OF SMIMECapability`). Capabilities for other algorithms
/// (signature, key encryption, weak or unknown ciphers) are skipped;
/// parameters are not looked at (RFC 5084 and RFC 8103 announce the AEAD
/// ciphers without them).
///
/// Errors: a parse error or [`ErrorKind::UnexpectedTag`] when `caps` is not
/// one SEQUENCE of SEQUENCEs each starting with an OID.
pub fn announced_ciphers(caps: &[u8]) -> Result<CipherSet> {
    let mut outer = SliceReader::new(caps);
    let seq = outer.read_expect(Tag::SEQUENCE)?;
    outer.finish()?;
    let mut r = seq.reader();
    let mut set = CipherSet::EMPTY;
    while let Some(cap) = r.next_tlv()? {
        let cap = cap.expect(Tag::SEQUENCE)?;
        let id = cap.reader().read_expect(Tag::OID)?;
        if let Ok(c) = ContentCipher::from_oid(id.value) {
            set = set.with(c);
        }
    }
    Ok(set)
}

/// The content ciphers that every recipient announced: the intersection of
/// [`announced_ciphers`] over `caps_per_recipient`, one SMIMECapabilities
/// value per recipient. A recipient whose capabilities are unknown is given
/// as an empty slice; that, malformed capabilities, or no recipients at all
/// give [`CipherSet::EMPTY`].
pub fn common_ciphers(caps_per_recipient: &[&[u8]]) -> CipherSet {
    let mut common = if caps_per_recipient.is_empty() { CipherSet::EMPTY } else { CipherSet::ALL };
    for caps in caps_per_recipient {
        let announced = announced_ciphers(caps).unwrap_or(CipherSet::EMPTY);
        common = intersect(common, announced);
    }
    common
}

fn intersect(a: CipherSet, b: CipherSet) -> CipherSet {
    let mut out = CipherSet::EMPTY;
    for c in ContentCipher::ALL.into_iter().chain(ContentCipher::AEAD) {
        if a.contains(c) && b.contains(c) {
            out = out.with(c);
        }
    }
    out
}

/// Whether every recipient announced one and the same AuthEnvelopedData
/// cipher (AES-128-GCM, AES-192-GCM, AES-256-GCM or ChaCha20-Poly1305), so
/// that an AuthEnvelopedData can be sent to all of them. Arguments as for
/// [`common_ciphers`].
pub fn all_announce_aead(caps_per_recipient: &[&[u8]]) -> bool {
    let common = common_ciphers(caps_per_recipient);
    AEAD_PREFERENCE.iter().any(|&c| common.contains(c))
}

/// The content cipher for a message to these recipients: the first of
/// [`AEAD_PREFERENCE`] (AES-256-GCM, then AES-128-GCM, ChaCha20-Poly1305,
/// AES-192-GCM) that every recipient announced; otherwise `policy_default`
/// (the caller's choice, e.g. AES-256-CBC). Arguments as for
/// [`common_ciphers`]: one unknown or malformed recipient keeps the default.
///
/// ```
/// use smime_core::cipher::ContentCipher;
/// use smime_core::cms::capabilities::choose_cipher;
/// // SEQUENCE { SEQUENCE { OID aes256-GCM }, SEQUENCE { OID aes256-CBC } }
/// let gcm: &[u8] = &[
///     0x30, 0x1A, 0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01,
///     0x2E, 0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A,
/// ];
/// // SEQUENCE { SEQUENCE { OID aes256-CBC } }
/// let cbc_only: &[u8] = &[
///     0x30, 0x0D, 0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A,
/// ];
/// assert_eq!(choose_cipher(&[gcm, gcm], ContentCipher::Aes256Cbc), ContentCipher::Aes256Gcm);
/// assert_eq!(choose_cipher(&[gcm, cbc_only], ContentCipher::Aes256Cbc), ContentCipher::Aes256Cbc);
/// assert_eq!(choose_cipher(&[gcm, &[]], ContentCipher::Aes256Cbc), ContentCipher::Aes256Cbc);
/// ```
pub fn choose_cipher(caps_per_recipient: &[&[u8]], policy_default: ContentCipher) -> ContentCipher {
    choose_cipher_allowed(caps_per_recipient, policy_default, CipherSet::AEAD)
}

/// [`choose_cipher`] restricted to the ciphers in `allowed` (pass the
/// policy's [`produce`](crate::cipher::Policy::produce) set): an AEAD cipher
/// every recipient announced but the policy does not allow is passed over.
pub fn choose_cipher_allowed(
    caps_per_recipient: &[&[u8]],
    policy_default: ContentCipher,
    allowed: CipherSet,
) -> ContentCipher {
    let common = common_ciphers(caps_per_recipient);
    AEAD_PREFERENCE
        .into_iter()
        .find(|&c| common.contains(c) && allowed.contains(c))
        .unwrap_or(policy_default)
}

/// The SMIMECapabilities value (the DER of the `SEQUENCE OF
/// SMIMECapability`) in a DER `SignedAttributes`, given with its SET OF
/// (`0x31`) or `[0] IMPLICIT` (`0xA0`) tag; `None` when absent or when the
/// attribute does not have exactly one value.
///
/// Errors: a parse error for attributes that are not a SET of `Attribute`.
pub fn find_in_signed_attrs(signed_attrs: &[u8]) -> Result<Option<&[u8]>> {
    let mut outer = SliceReader::new(signed_attrs);
    let set = outer.read()?;
    outer.finish()?;
    if set.tag != Tag::SET && set.tag != Tag::context(0, true) {
        return Err(Error::new(ErrorKind::UnexpectedTag {
            expected: Tag::SET.first_octet(),
            actual: set.tag.first_octet(),
        }));
    }
    let mut r = set.reader();
    while let Some(attr) = r.next_tlv()? {
        let mut ar = attr.expect(Tag::SEQUENCE)?.reader();
        let ty = ar.read_expect(Tag::OID)?;
        let values = ar.read_expect(Tag::SET)?;
        if ty.value != super::signed::ATTR_SMIME_CAPABILITIES {
            continue;
        }
        let mut vr = values.reader();
        let Some(v) = vr.next_tlv()? else { return Ok(None) };
        return Ok(vr.is_empty().then_some(v.raw));
    }
    Ok(None)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::oid;

    fn cap(oid: &[u8], params: &[u8]) -> ([u8; 64], usize) {
        let mut out = [0u8; 64];
        let inner = 2 + oid.len() + params.len();
        out[0] = 0x30;
        out[1] = inner as u8;
        out[2] = 0x06;
        out[3] = oid.len() as u8;
        out[4..4 + oid.len()].copy_from_slice(oid);
        out[4 + oid.len()..2 + inner].copy_from_slice(params);
        (out, 2 + inner)
    }

    /// SEQUENCE OF the capabilities, in `buf`.
    fn caps<'b>(buf: &'b mut [u8; 512], list: &[(&[u8], &[u8])]) -> &'b [u8] {
        let mut n = 2;
        for (o, p) in list {
            let (c, len) = cap(o, p);
            buf[n..n + len].copy_from_slice(&c[..len]);
            n += len;
        }
        buf[0] = 0x30;
        buf[1] = (n - 2) as u8;
        &buf[..n]
    }

    const RC2_40: &[u8] = &[0x02, 0x01, 0x28];

    #[test]
    fn announced_sets() {
        let mut b = [0u8; 512];
        let c = caps(
            &mut b,
            &[
                (oid::AES256_GCM, &[]),
                (oid::CHACHA20_POLY1305, &[]),
                (oid::AES256_CBC, &[]),
                (oid::RC2_CBC, RC2_40),
                (oid::SHA256, &[]),
            ],
        );
        let s = announced_ciphers(c).unwrap();
        assert!(s.contains(ContentCipher::Aes256Gcm));
        assert!(s.contains(ContentCipher::ChaCha20Poly1305));
        assert!(s.contains(ContentCipher::Aes256Cbc));
        assert!(!s.contains(ContentCipher::Aes128Gcm));
        assert!(!s.contains(ContentCipher::Aes128Cbc));
        // Malformed: not a SEQUENCE, trailing data, a capability without OID.
        assert!(announced_ciphers(&[]).is_err());
        assert!(announced_ciphers(&[0x31, 0x00]).is_err());
        assert!(announced_ciphers(&[0x30, 0x00, 0x00]).is_err());
        assert!(announced_ciphers(&[0x30, 0x02, 0x30, 0x00]).is_err());
        assert!(announced_ciphers(&[0x30, 0x05, 0x30, 0x03, 0x06]).is_err());
        assert_eq!(announced_ciphers(&[0x30, 0x00]).unwrap(), CipherSet::EMPTY);
    }

    #[test]
    fn choosing() {
        let (mut b1, mut b2, mut b3, mut b4) = ([0u8; 512], [0u8; 512], [0u8; 512], [0u8; 512]);
        let both = caps(&mut b1, &[(oid::AES256_GCM, &[]), (oid::AES128_GCM, &[])]);
        let only128 = caps(&mut b2, &[(oid::AES128_GCM, &[]), (oid::AES256_CBC, &[])]);
        let cbc = caps(&mut b3, &[(oid::AES256_CBC, &[]), (oid::AES128_CBC, &[])]);
        let chacha = caps(&mut b4, &[(oid::CHACHA20_POLY1305, &[]), (oid::AES256_CBC, &[])]);
        let d = ContentCipher::Aes256Cbc;
        assert_eq!(choose_cipher(&[both], d), ContentCipher::Aes256Gcm);
        assert_eq!(choose_cipher(&[both, both], d), ContentCipher::Aes256Gcm);
        assert_eq!(choose_cipher(&[both, only128], d), ContentCipher::Aes128Gcm);
        assert_eq!(choose_cipher(&[only128], d), ContentCipher::Aes128Gcm);
        assert_eq!(choose_cipher(&[chacha], d), ContentCipher::ChaCha20Poly1305);
        // Not every recipient announced the same AEAD cipher: the policy.
        assert_eq!(choose_cipher(&[both, cbc], d), d);
        assert_eq!(choose_cipher(&[both, chacha], d), d);
        assert_eq!(choose_cipher(&[cbc], ContentCipher::Aes128Cbc), ContentCipher::Aes128Cbc);
        // Unknown (empty) or malformed capabilities, or no recipients.
        assert_eq!(choose_cipher(&[both, &[]], d), d);
        assert_eq!(choose_cipher(&[both, &both[..both.len() - 1]], d), d);
        assert_eq!(choose_cipher(&[], d), d);
        assert!(all_announce_aead(&[both, only128]));
        assert!(!all_announce_aead(&[both, cbc]));
        assert!(!all_announce_aead(&[]));
        // The policy's produce set.
        let no256 = CipherSet::AEAD.without(ContentCipher::Aes256Gcm);
        assert_eq!(choose_cipher_allowed(&[both], d, no256), ContentCipher::Aes128Gcm);
        assert_eq!(choose_cipher_allowed(&[both], d, CipherSet::AES), d);
        assert_eq!(
            common_ciphers(&[both, only128]),
            CipherSet::EMPTY.with(ContentCipher::Aes128Gcm)
        );
    }

    #[test]
    fn found_in_signed_attrs() {
        let mut b = [0u8; 512];
        let c = caps(&mut b, &[(oid::AES128_GCM, &[])]);
        let mut attrs = [0u8; 128];
        // SET { SEQUENCE { OID contentType, SET { OID id-data } },
        //       SEQUENCE { OID smimeCapabilities, SET { caps } } }
        let ct = [
            0x30, 0x18, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03, 0x31,
            0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
        ];
        let ty = super::super::signed::ATTR_SMIME_CAPABILITIES;
        let attr_len = 2 + ty.len() + 2 + c.len();
        let total = ct.len() + 2 + attr_len;
        attrs[0] = 0xA0;
        attrs[1] = total as u8;
        let mut n = 2;
        attrs[n..n + ct.len()].copy_from_slice(&ct);
        n += ct.len();
        attrs[n..n + 4].copy_from_slice(&[0x30, attr_len as u8, 0x06, ty.len() as u8]);
        n += 4;
        attrs[n..n + ty.len()].copy_from_slice(ty);
        n += ty.len();
        attrs[n..n + 2].copy_from_slice(&[0x31, c.len() as u8]);
        n += 2;
        attrs[n..n + c.len()].copy_from_slice(c);
        n += c.len();
        assert_eq!(find_in_signed_attrs(&attrs[..n]).unwrap(), Some(c));
        attrs[0] = 0x31;
        assert_eq!(find_in_signed_attrs(&attrs[..n]).unwrap(), Some(c));
        // Without the capabilities.
        let mut only_ct = [0u8; 28];
        only_ct[0] = 0x31;
        only_ct[1] = ct.len() as u8;
        only_ct[2..].copy_from_slice(&ct);
        assert_eq!(find_in_signed_attrs(&only_ct).unwrap(), None);
        attrs[0] = 0x30;
        assert!(find_in_signed_attrs(&attrs[..n]).is_err());
    }
}
