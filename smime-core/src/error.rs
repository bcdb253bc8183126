//! The one error type of the core: small, `Copy`, with a `#[non_exhaustive]` kind.
//!
//! Every fallible operation in `smime-core` returns [`Error`]. It carries an
//! [`ErrorKind`] with structured detail and, where the error comes from a byte
//! stream, the stream offset at which it was found.

use core::fmt;

/// Result alias used throughout the core.
pub type Result<T> = core::result::Result<T, Error>;

/// An error from the core: what went wrong and, for stream errors, where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    position: Option<u64>,
}

impl Error {
    /// An error of `kind` with no position.
    pub const fn new(kind: ErrorKind) -> Self {
        Self { kind, position: None }
    }

    /// An error of `kind` found at byte offset `position` of the input stream.
    pub const fn at(kind: ErrorKind, position: u64) -> Self {
        Self { kind, position: Some(position) }
    }

    /// What went wrong.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The byte offset in the input stream where the error was found, if known.
    pub const fn position(&self) -> Option<u64> {
        self.position
    }

    /// The same error, with a position if it had none.
    pub const fn or_at(self, position: u64) -> Self {
        match self.position {
            Some(_) => self,
            None => Self::at(self.kind, position),
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

/// Which algorithm an [`ErrorKind::WeakAlgorithm`] or
/// [`ErrorKind::AlgorithmNotAllowed`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlgorithmName {
    /// RC2-CBC (RFC 2268), any effective key size.
    Rc2Cbc,
    /// Single DES in CBC mode.
    DesCbc,
    /// Two-key or three-key triple DES in CBC mode.
    DesEde3Cbc,
    /// AES-128 in CBC mode.
    Aes128Cbc,
    /// AES-192 in CBC mode.
    Aes192Cbc,
    /// AES-256 in CBC mode.
    Aes256Cbc,
    /// AES-128 in GCM mode.
    Aes128Gcm,
    /// AES-192 in GCM mode.
    Aes192Gcm,
    /// AES-256 in GCM mode.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
    /// RSA key transport with PKCS#1 v1.5 padding.
    RsaPkcs1v15,
    /// RSA key transport with OAEP.
    RsaOaep,
    /// An RSA key too small or too large for the policy or the implementation.
    RsaKeySize,
    /// An algorithm this library does not know.
    Unknown,
}

impl fmt::Display for AlgorithmName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rc2Cbc => "RC2-CBC",
            Self::DesCbc => "DES-CBC",
            Self::DesEde3Cbc => "DES-EDE3-CBC",
            Self::Aes128Cbc => "AES-128-CBC",
            Self::Aes192Cbc => "AES-192-CBC",
            Self::Aes256Cbc => "AES-256-CBC",
            Self::Aes128Gcm => "AES-128-GCM",
            Self::Aes192Gcm => "AES-192-GCM",
            Self::Aes256Gcm => "AES-256-GCM",
            Self::ChaCha20Poly1305 => "ChaCha20-Poly1305",
            Self::RsaPkcs1v15 => "RSA PKCS#1 v1.5",
            Self::RsaOaep => "RSA-OAEP",
            Self::RsaKeySize => "RSA key size",
            Self::Unknown => "unknown algorithm",
        })
    }
}

/// Why a certificate may not be used for what it was asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyUsageError {
    /// The keyUsage extension is present and does not allow keyEncipherment.
    KeyEnciphermentNotAllowed,
    /// The keyUsage extension is present and does not allow digitalSignature
    /// or nonRepudiation.
    SignatureNotAllowed,
    /// The certificate's public key is not of a type usable for the operation.
    WrongKeyType,
    /// The keyUsage extension is present and does not allow keyAgreement
    /// (an ECDH recipient).
    KeyAgreementNotAllowed,
}

impl fmt::Display for KeyUsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::KeyEnciphermentNotAllowed => {
                "the certificate's keyUsage does not allow keyEncipherment"
            }
            Self::SignatureNotAllowed => {
                "the certificate's keyUsage allows neither digitalSignature nor nonRepudiation"
            }
            Self::WrongKeyType => "the certificate's public key type cannot be used for this",
            Self::KeyAgreementNotAllowed => {
                "the certificate's keyUsage does not allow keyAgreement"
            }
        })
    }
}

/// What is wrong with a MIME entity (RFC 2045/2046, RFC 8551 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MimeError {
    /// A header field longer than the header buffer (unfolded and folded
    /// lines together).
    HeaderTooLong,
    /// A header line without a colon, an empty field name, or a name with
    /// characters RFC 5322 does not allow.
    MalformedHeader,
    /// A Content-Type value that does not parse (no `/`, bad parameter syntax,
    /// an unterminated quoted string).
    MalformedContentType,
    /// The same parameter twice in one Content-Type (two `boundary=`).
    DuplicateParameter,
    /// A multipart entity without a `boundary` parameter, or one that is
    /// empty or longer than [`crate::mime::MAX_BOUNDARY`].
    InvalidBoundary,
    /// The body of a multipart entity has no delimiter line for its boundary.
    MissingBoundary,
    /// The body ended before the closing delimiter (`--boundary--`).
    MissingCloseDelimiter,
    /// A line starts with the boundary delimiter but goes on with something
    /// other than white space or `--`.
    MalformedDelimiter,
    /// A multipart/signed entity without exactly two parts, or whose second
    /// part is not an `application/pkcs7-signature`.
    MalformedMultipartSigned,
    /// A character outside the base64 alphabet (and not white space), or
    /// data after the padding.
    InvalidBase64,
    /// The base64 body ended in the middle of a 4-character group.
    TruncatedBase64,
    /// A Content-Transfer-Encoding this library does not decode here.
    UnsupportedTransferEncoding,
    /// An `smime-type` parameter this library does not know, or one that
    /// contradicts the CMS content type.
    UnknownSmimeType,
    /// The entity is not S/MIME (neither multipart/signed with a CMS
    /// signature nor application/pkcs7-mime).
    NotSmime,
    /// MIME entities nested deeper than the bound.
    TooDeep,
}

impl fmt::Display for MimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HeaderTooLong => "MIME header field too long",
            Self::MalformedHeader => "malformed MIME header line",
            Self::MalformedContentType => "malformed Content-Type",
            Self::DuplicateParameter => "Content-Type parameter given twice",
            Self::InvalidBoundary => "multipart boundary missing, empty or too long",
            Self::MissingBoundary => "no boundary delimiter in the multipart body",
            Self::MissingCloseDelimiter => "multipart body ends without its closing delimiter",
            Self::MalformedDelimiter => "malformed multipart boundary delimiter line",
            Self::MalformedMultipartSigned => {
                "multipart/signed needs exactly two parts, the second an application/pkcs7-signature"
            }
            Self::InvalidBase64 => "invalid base64",
            Self::TruncatedBase64 => "base64 body ends in the middle of a group",
            Self::UnsupportedTransferEncoding => "unsupported Content-Transfer-Encoding",
            Self::UnknownSmimeType => "unknown or inconsistent smime-type",
            Self::NotSmime => "not an S/MIME message",
            Self::TooDeep => "MIME entities nested too deeply",
        })
    }
}

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended before the structure was complete.
    Truncated,
    /// Bytes follow the end of the outermost structure.
    TrailingData,
    /// A tag other than the one the structure requires.
    UnexpectedTag {
        /// The identifier octet that was expected (first octet for multi-byte tags).
        expected: u8,
        /// The identifier octet that was found.
        actual: u8,
    },
    /// A malformed tag or length (reserved forms, indefinite primitive, ...).
    InvalidEncoding,
    /// A length that does not fit in 64 bits, in `usize`, or in its enclosing element.
    LengthOverflow,
    /// Elements nested deeper than the documented bound.
    DepthExceeded {
        /// The bound.
        max: u8,
    },
    /// A value outside what the structure allows (a version, a size, an OID arc).
    InvalidValue,
    /// The outer content type is not the one expected.
    UnexpectedContentType,
    /// An algorithm this library does not implement.
    UnsupportedAlgorithm,
    /// A weak algorithm refused by policy (RC2, single DES, 40-bit ciphers, ...).
    WeakAlgorithm(AlgorithmName),
    /// An algorithm the caller's policy does not allow here.
    AlgorithmNotAllowed(AlgorithmName),
    /// The EnvelopedData carries no encryptedContent: the content is detached
    /// and must be supplied separately.
    DetachedContent,
    /// None of the recipient infos names any of the offered keys.
    NoMatchingRecipient,
    /// A message needs at least one recipient.
    NoRecipients,
    /// The recipient is to be named by subject key identifier and its
    /// certificate has none.
    NoSubjectKeyId,
    /// A signer's backend has no certificate: CMS names the signer by its
    /// certificate, so one must be attached to the key.
    NoSignerCertificate,
    /// Decryption failed. Deliberately uniform: wrong key, bad key transport
    /// padding, and bad content padding all look the same (RFC 3218).
    DecryptionFailed,
    /// A certificate may not be used for this operation.
    KeyUsage(KeyUsageError),
    /// A certificate could not be parsed.
    InvalidCertificate,
    /// A signature does not verify: wrong key, altered data, or a malformed
    /// signature value.
    BadSignature,
    /// A certificate revocation list could not be parsed.
    InvalidCrl,
    /// A key could not be parsed or is not usable.
    InvalidKey,
    /// A caller-provided buffer is too small; `required` bytes would do.
    BufferTooSmall {
        /// The size that would have been enough.
        required: usize,
    },
    /// A fixed capacity (number of recipients, scratch space) was exceeded.
    CapacityExceeded,
    /// The random number generator failed.
    Rng,
    /// The output sink failed.
    Io(embedded_io::ErrorKind),
    /// The key backend failed for a reason other than a decryption failure.
    Backend(crate::backend::BackendErrorKind),
    /// An operation was used in a state that does not allow it (after an error,
    /// content longer than announced, ...).
    InvalidState,
    /// A MIME entity is malformed or not what was expected.
    Mime(MimeError),
    /// An AuthEnvelopedData with ChaCha20-Poly1305 carries authenticated
    /// attributes, which come after the content but must be authenticated
    /// before it: it cannot be decrypted in one streaming pass; use the
    /// two-pass `decrypt_authenticated` over the whole message.
    AuthAttrsNeedTwoPass,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("input ended before the structure was complete"),
            Self::TrailingData => f.write_str("data after the end of the message"),
            Self::UnexpectedTag { expected, actual } => {
                write!(f, "unexpected tag 0x{actual:02x} (expected 0x{expected:02x})")
            }
            Self::InvalidEncoding => f.write_str("malformed BER tag or length"),
            Self::LengthOverflow => f.write_str("length overflows its container or the platform"),
            Self::DepthExceeded { max } => write!(f, "nesting deeper than {max} levels"),
            Self::InvalidValue => f.write_str("value not allowed by the structure"),
            Self::UnexpectedContentType => f.write_str("unexpected CMS content type"),
            Self::UnsupportedAlgorithm => f.write_str("unsupported algorithm"),
            Self::WeakAlgorithm(a) => write!(f, "weak algorithm {a} refused"),
            Self::AlgorithmNotAllowed(a) => write!(f, "algorithm {a} not allowed by policy"),
            Self::DetachedContent => {
                f.write_str("encrypted content is detached (absent from the message)")
            }
            Self::NoMatchingRecipient => f.write_str("no recipient info matches any offered key"),
            Self::NoRecipients => f.write_str("no recipients given"),
            Self::NoSignerCertificate => f.write_str("the signing key has no certificate"),
            Self::NoSubjectKeyId => {
                f.write_str("the recipient certificate has no subject key identifier")
            }
            Self::DecryptionFailed => f.write_str("decryption failed"),
            Self::KeyUsage(e) => fmt::Display::fmt(e, f),
            Self::InvalidCertificate => f.write_str("invalid certificate"),
            Self::BadSignature => f.write_str("signature does not verify"),
            Self::InvalidCrl => f.write_str("invalid certificate revocation list"),
            Self::InvalidKey => f.write_str("invalid or unusable key"),
            Self::BufferTooSmall { required } => {
                write!(f, "buffer too small ({required} bytes required)")
            }
            Self::CapacityExceeded => f.write_str("fixed capacity exceeded"),
            Self::Rng => f.write_str("random number generator failed"),
            Self::Io(k) => write!(f, "output error: {k:?}"),
            Self::Backend(k) => write!(f, "key backend error: {k}"),
            Self::InvalidState => f.write_str("operation not allowed in this state"),
            Self::Mime(e) => fmt::Display::fmt(e, f),
            Self::AuthAttrsNeedTwoPass => f.write_str(
                "authenticated attributes with ChaCha20-Poly1305 need two-pass decryption \
                 (the message must be seekable)",
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)?;
        if let Some(p) = self.position {
            write!(f, " at byte {p}")?;
        }
        Ok(())
    }
}

impl core::error::Error for Error {}

impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self.kind {
            ErrorKind::Io(k) => k,
            _ => embedded_io::ErrorKind::InvalidData,
        }
    }
}

/// Maps a sink error into the core error.
pub(crate) fn io_err<E: embedded_io::Error>(e: E) -> Error {
    Error::new(ErrorKind::Io(e.kind()))
}
