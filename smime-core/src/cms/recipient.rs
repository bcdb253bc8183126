//! KeyTransRecipientInfo (RFC 5652 §6.2.1): encoding for a recipient
//! certificate, parsing of received ones.
//!
//! ```text
//! KeyTransRecipientInfo ::= SEQUENCE {
//!   version CMSVersion,  -- always set to 0 or 2
//!   rid RecipientIdentifier,
//!   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
//!   encryptedKey EncryptedKey }
//!
//! RecipientIdentifier ::= CHOICE {
//!   issuerAndSerialNumber IssuerAndSerialNumber,
//!   subjectKeyIdentifier [0] SubjectKeyIdentifier }
//!
//! RSAES-OAEP-params ::= SEQUENCE {            -- RFC 4055 §4.1
//!   hashFunc    [0] AlgorithmIdentifier DEFAULT sha1Identifier,
//!   maskGenFunc [1] AlgorithmIdentifier DEFAULT mgf1SHA1Identifier,
//!   pSourceFunc [2] AlgorithmIdentifier DEFAULT pSpecifiedEmptyIdentifier }
//! ```

use crate::backend::{HashAlgorithm, KeyTransAlgorithm, RecipientId};
use crate::ber::encode::{SliceWriter, tlv_len};
use crate::ber::{SliceReader, Tag, Tlv};
use crate::error::{Error, ErrorKind, Result};
use crate::oid;

/// The DER of an `AlgorithmIdentifier` that fits in [`ALG_ID_MAX`] bytes.
pub(crate) const ALG_ID_MAX: usize = 64;

/// Writes the key-encryption `AlgorithmIdentifier` the way OpenSSL does:
/// `rsaEncryption` with NULL; OAEP with SHA-1 as the empty default parameters;
/// OAEP with SHA-2 naming the hash and MGF1 hash with absent parameters.
pub(crate) fn key_trans_alg_id(
    alg: &KeyTransAlgorithm<'_>,
    buf: &mut [u8; ALG_ID_MAX],
) -> Result<usize> {
    let mut w = SliceWriter::new(buf);
    match alg {
        KeyTransAlgorithm::RsaPkcs1v15 => {
            w.header(Tag::SEQUENCE, 2 + oid::RSA_ENCRYPTION.len() + 2)?;
            w.tlv(Tag::OID, oid::RSA_ENCRYPTION)?;
            w.tlv(Tag::NULL, &[])?;
        }
        KeyTransAlgorithm::RsaOaep { hash, mgf_hash, label } => {
            if !label.is_empty() {
                return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
            }
            if *hash == HashAlgorithm::Sha1 && *mgf_hash == HashAlgorithm::Sha1 {
                w.header(Tag::SEQUENCE, 2 + oid::RSAES_OAEP.len() + 2)?;
                w.tlv(Tag::OID, oid::RSAES_OAEP)?;
                w.header(Tag::SEQUENCE, 0)?;
            } else {
                let h = hash.oid();
                let m = mgf_hash.oid();
                let hash_alg = 2 + (2 + h.len()); // SEQ { OID }
                let c0 = 2 + hash_alg; // [0] { hash_alg }
                let mgf_inner = 2 + oid::MGF1.len() + 2 + (2 + m.len());
                let c1 = 2 + (2 + mgf_inner); // [1] { SEQ { mgf1, SEQ { OID } } }
                let params = c0 + c1;
                w.header(Tag::SEQUENCE, 2 + oid::RSAES_OAEP.len() + 2 + params)?;
                w.tlv(Tag::OID, oid::RSAES_OAEP)?;
                w.header(Tag::SEQUENCE, params)?;
                w.header(Tag::context(0, true), hash_alg)?;
                w.header(Tag::SEQUENCE, 2 + h.len())?;
                w.tlv(Tag::OID, h)?;
                w.header(Tag::context(1, true), 2 + mgf_inner)?;
                w.header(Tag::SEQUENCE, mgf_inner)?;
                w.tlv(Tag::OID, oid::MGF1)?;
                w.header(Tag::SEQUENCE, 2 + m.len())?;
                w.tlv(Tag::OID, m)?;
            }
        }
    }
    Ok(w.position())
}

/// Parses a received key-encryption `AlgorithmIdentifier`.
pub(crate) fn parse_key_trans_alg(alg: Tlv<'_>) -> Result<KeyTransAlgorithm<'_>> {
    let mut r = alg.expect(Tag::SEQUENCE)?.reader();
    let o = r.read_expect(Tag::OID)?;
    if o.value == oid::RSA_ENCRYPTION {
        // Parameters NULL, or absent (seen in the wild).
        if let Some(p) = r.next_tlv()? {
            p.expect(Tag::NULL)?;
        }
        r.finish()?;
        return Ok(KeyTransAlgorithm::RsaPkcs1v15);
    }
    if o.value != oid::RSAES_OAEP {
        return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
    }
    let mut hash = HashAlgorithm::Sha1;
    let mut mgf_hash = HashAlgorithm::Sha1;
    let mut label: &[u8] = &[];
    if let Some(params) = r.next_tlv()? {
        let mut p = params.expect(Tag::SEQUENCE)?.reader();
        if let Some(h) = p.read_optional(Tag::context(0, true))? {
            hash = parse_hash_alg(h.reader().read()?)?;
        }
        if let Some(m) = p.read_optional(Tag::context(1, true))? {
            let mut mr = m.reader().read_expect(Tag::SEQUENCE)?.reader();
            if mr.read_expect(Tag::OID)?.value != oid::MGF1 {
                return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
            }
            mgf_hash = parse_hash_alg(mr.read()?)?;
            mr.finish()?;
        }
        if let Some(s) = p.read_optional(Tag::context(2, true))? {
            let mut sr = s.reader().read_expect(Tag::SEQUENCE)?.reader();
            if sr.read_expect(Tag::OID)?.value != oid::P_SPECIFIED {
                return Err(Error::new(ErrorKind::UnsupportedAlgorithm));
            }
            label = sr.read_expect(Tag::OCTET_STRING)?.value;
            sr.finish()?;
        }
        p.finish()?;
    }
    r.finish()?;
    Ok(KeyTransAlgorithm::RsaOaep { hash, mgf_hash, label })
}

fn parse_hash_alg(alg: Tlv<'_>) -> Result<HashAlgorithm> {
    let mut r = alg.expect(Tag::SEQUENCE)?.reader();
    let o = r.read_expect(Tag::OID)?;
    if let Some(p) = r.next_tlv()? {
        p.expect(Tag::NULL)?;
    }
    r.finish()?;
    HashAlgorithm::from_oid(o.value).ok_or(Error::new(ErrorKind::UnsupportedAlgorithm))
}

/// How a received recipient info names its recipient.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rid<'a> {
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    SubjectKeyId(&'a [u8]),
}

impl Rid<'_> {
    pub(crate) fn matches(&self, id: &RecipientId<'_>) -> bool {
        match self {
            Rid::IssuerSerial { issuer, serial } => {
                *issuer == id.issuer && strip_zeros(serial) == strip_zeros(id.serial)
            }
            Rid::SubjectKeyId(ski) => id.subject_key_id == Some(*ski),
        }
    }
}

fn strip_zeros(mut s: &[u8]) -> &[u8] {
    while s.len() > 1 && s[0] == 0 && s[1] & 0x80 == 0 {
        s = &s[1..];
    }
    s
}

/// A received KeyTransRecipientInfo.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyTrans<'a> {
    pub(crate) rid: Rid<'a>,
    pub(crate) alg: Tlv<'a>,
    pub(crate) encrypted_key: &'a [u8],
}

/// Parses one RecipientInfo; `Ok(None)` for the other recipient-info kinds
/// (key agreement, KEK, password, other), which this decoder skips.
pub(crate) fn parse_recipient_info(data: &[u8]) -> Result<Option<KeyTrans<'_>>> {
    let mut outer = SliceReader::new(data);
    let ri = outer.read()?;
    outer.finish()?;
    if ri.tag != Tag::SEQUENCE {
        return Ok(None);
    }
    let mut r = ri.reader();
    let version = r.read_expect(Tag::INTEGER)?.small_uint()?;
    if version != 0 && version != 2 {
        return Err(Error::new(ErrorKind::InvalidValue));
    }
    let rid_tlv = r.read()?;
    let rid = if rid_tlv.tag == Tag::SEQUENCE {
        let mut ir = rid_tlv.reader();
        let issuer = ir.read_expect(Tag::SEQUENCE)?.raw;
        let serial = ir.read_expect(Tag::INTEGER)?.value;
        ir.finish()?;
        Rid::IssuerSerial { issuer, serial }
    } else if rid_tlv.tag == Tag::context(0, false) {
        Rid::SubjectKeyId(rid_tlv.value)
    } else {
        return Err(Error::new(ErrorKind::UnexpectedTag {
            expected: 0x30,
            actual: rid_tlv.tag.first_octet(),
        }));
    };
    let alg = r.read_expect(Tag::SEQUENCE)?;
    let encrypted_key = r.read_expect(Tag::OCTET_STRING)?.value;
    r.finish()?;
    Ok(Some(KeyTrans { rid, alg, encrypted_key }))
}

/// Content length of the KeyTransRecipientInfo SEQUENCE for a recipient.
pub(crate) fn ktri_content_len(rid: &RidOut<'_>, alg_len: usize, key_len: usize) -> Result<u64> {
    let rid_len = match rid {
        RidOut::IssuerSerial { issuer, serial } => {
            tlv_len(Tag::SEQUENCE, issuer.len() as u64 + tlv_len(Tag::INTEGER, serial.len() as u64)?)?
        }
        RidOut::SubjectKeyId(ski) => tlv_len(Tag::context(0, false), ski.len() as u64)?,
    };
    Ok(3 + rid_len + alg_len as u64 + tlv_len(Tag::OCTET_STRING, key_len as u64)?)
}

/// How an outgoing recipient info names the recipient.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RidOut<'a> {
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    SubjectKeyId(&'a [u8]),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_ids_round_trip() {
        let algs = [
            KeyTransAlgorithm::RsaPkcs1v15,
            KeyTransAlgorithm::RsaOaep { hash: HashAlgorithm::Sha1, mgf_hash: HashAlgorithm::Sha1, label: &[] },
            KeyTransAlgorithm::RsaOaep { hash: HashAlgorithm::Sha256, mgf_hash: HashAlgorithm::Sha256, label: &[] },
            KeyTransAlgorithm::RsaOaep { hash: HashAlgorithm::Sha512, mgf_hash: HashAlgorithm::Sha1, label: &[] },
        ];
        for a in algs {
            let mut buf = [0u8; ALG_ID_MAX];
            let n = key_trans_alg_id(&a, &mut buf).unwrap();
            let tlv = SliceReader::new(&buf[..n]).read().unwrap();
            assert_eq!(tlv.raw.len(), n);
            assert_eq!(parse_key_trans_alg(tlv).unwrap(), a);
        }
    }

    #[test]
    fn openssl_oaep_sha256_alg_id() {
        // As written by `openssl cms -encrypt -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256`.
        let der = [
            0x30, 0x38, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07, 0x30, 0x2b,
            0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
            0xa1, 0x1a, 0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
            0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        ];
        let a = KeyTransAlgorithm::RsaOaep {
            hash: HashAlgorithm::Sha256,
            mgf_hash: HashAlgorithm::Sha256,
            label: &[],
        };
        let mut buf = [0u8; ALG_ID_MAX];
        let n = key_trans_alg_id(&a, &mut buf).unwrap();
        assert_eq!(&buf[..n], &der[..]);
    }
}
