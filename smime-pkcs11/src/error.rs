//! The backend's error: a [`BackendErrorKind`] and a one-line message.

use std::fmt;

use cryptoki::error::{Error as CkError, RvError};
use smime_core::backend::{BackendError, BackendErrorKind};

/// An error of the PKCS#11 backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: BackendErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind` with `message` (for example from a
    /// [`PinPrompt`](crate::PinPrompt) that was cancelled). Line breaks in
    /// the message become spaces.
    pub fn new(kind: BackendErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: one_line(&message.into()),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }

    /// The message, one line.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Maps a cryptoki error of operation `what` ("C_Sign", "logging in").
    pub(crate) fn ck(what: &str, e: CkError) -> Self {
        let kind = match &e {
            CkError::Pkcs11(rv, _) => rv_kind(*rv),
            CkError::LibraryLoading(_) | CkError::MissingSymbol(_) => BackendErrorKind::Device,
            _ => BackendErrorKind::Other,
        };
        let message = match &e {
            CkError::Pkcs11(RvError::CryptokiNotInitialized, f) => {
                format!(
                    "{what}: the PKCS#11 module was finalized ({} returned CKR_CRYPTOKI_NOT_INITIALIZED)",
                    f.to_string().replace("Function::", "C_")
                )
            }
            CkError::Pkcs11(rv, f) => {
                format!(
                    "{what}: {} failed: {}",
                    f.to_string().replace("Function::", "C_"),
                    rv_name(*rv)
                )
            }
            other => format!("{what}: {other}"),
        };
        Self {
            kind,
            message: one_line(&message),
        }
    }

    /// The PKCS#11 return value of a cryptoki error, if it has one.
    pub(crate) fn rv(e: &CkError) -> Option<RvError> {
        match e {
            CkError::Pkcs11(rv, _) => Some(*rv),
            _ => None,
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The kind for a PKCS#11 return value.
fn rv_kind(rv: RvError) -> BackendErrorKind {
    match rv {
        RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange => {
            BackendErrorKind::PinIncorrect { tries_left: None }
        }
        RvError::PinLocked | RvError::PinExpired => BackendErrorKind::PinLocked,
        RvError::UserNotLoggedIn => BackendErrorKind::PinRequired,
        RvError::MechanismInvalid
        | RvError::MechanismParamInvalid
        | RvError::KeyTypeInconsistent
        | RvError::KeyFunctionNotPermitted => BackendErrorKind::UnsupportedAlgorithm,
        RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange => {
            BackendErrorKind::DecryptionFailed
        }
        RvError::DeviceRemoved
        | RvError::TokenNotPresent
        | RvError::SessionClosed
        | RvError::SessionHandleInvalid
        | RvError::TokenNotRecognized => BackendErrorKind::Removed,
        RvError::BufferTooSmall => BackendErrorKind::BufferTooSmall,
        _ => BackendErrorKind::Device,
    }
}

/// `CKR_...` with the spec's name.
pub(crate) fn rv_name(rv: RvError) -> String {
    let dbg = format!("{rv:?}");
    let mut out = String::from("CKR");
    for c in dbg.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl BackendError for Error {
    fn kind(&self) -> BackendErrorKind {
        self.kind
    }
}
