//! Private keys for the subcommands: a key file, or a key on a PKCS#11 token
//! named by an RFC 7512 `pkcs11:` URI (every `--key` accepts one).
//!
//! The PIN of a token comes from the URI (`pin-value=`, `pin-source=`), or
//! from a prompt on the terminal without echo. A wrong PIN is reported with
//! what the token says about its retry counter and never retried.

use std::path::Path;
use std::sync::Arc;

use smime_core::backend::{
    BackendError, BackendErrorKind, ErrorType, KeyTransAlgorithm, KeyTransDecrypter, RecipientId,
    Signer, ToBeSigned,
};
use smime_core::pubkey::SignatureAlgorithm;
use smime_core::soft::SoftRsaKey;
use smime_pkcs11::{OpenOptions, PinPrompt, Pkcs11Key, Pkcs11Uri};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Whether a `--key` argument is a PKCS#11 URI rather than a file.
pub fn is_token_key(arg: &Path) -> bool {
    arg.to_str().is_some_and(smime_pkcs11::is_pkcs11_uri)
}

/// Whether a `--key` argument names a key on a device (a PKCS#11 token or
/// a chip card) rather than a file.
pub fn is_device_key(arg: &Path) -> bool {
    is_token_key(arg) || crate::card::is_card_key(arg)
}

/// Asks for a token's PIN on the terminal, without echo.
#[derive(Debug)]
pub(crate) struct TerminalPrompt;

impl PinPrompt for TerminalPrompt {
    fn prompt(
        &self,
        token_label: &str,
        context_specific: bool,
    ) -> std::result::Result<Zeroizing<String>, smime_pkcs11::Error> {
        let what = if context_specific {
            format!("PIN for the signature key on token '{token_label}' (asked for each use): ")
        } else {
            format!("PIN for token '{token_label}': ")
        };
        rpassword::prompt_password(what)
            .map(Zeroizing::new)
            .map_err(|e| {
                smime_pkcs11::Error::new(
                    BackendErrorKind::PinRequired,
                    format!(
                        "token '{token_label}' needs a PIN and none could be asked for ({e}): \
                     give pin-value= or pin-source= in the URI"
                    ),
                )
            })
    }
}

/// Opens the token key a `pkcs11:` URI names.
pub fn open_token_key(arg: &Path) -> Result<Pkcs11Key> {
    let text = arg.to_str().unwrap_or_default();
    let uri = Pkcs11Uri::parse(text).map_err(|e| Error::msg(format_args!("--key {e}")))?;
    let options = OpenOptions {
        prompt: Some(Arc::new(TerminalPrompt)),
        ..OpenOptions::default()
    };
    Pkcs11Key::open(&uri, &options).map_err(|e| Error::msg(format_args!("PKCS#11: {e}")))
}

/// Opens the token keys a `pkcs11:` URI names: the one key of a URI with
/// `object=` or `id=`; for a URI naming only a token, every key on it that
/// has a certificate (a key history: mail for an old certificate opens too).
pub fn open_token_keys(arg: &Path) -> Result<Vec<Pkcs11Key>> {
    let text = arg.to_str().unwrap_or_default();
    let uri = Pkcs11Uri::parse(text).map_err(|e| Error::msg(format_args!("--key {e}")))?;
    let options = OpenOptions {
        prompt: Some(Arc::new(TerminalPrompt)),
        ..OpenOptions::default()
    };
    smime_pkcs11::open_all(&uri, &options).map_err(|e| Error::msg(format_args!("PKCS#11: {e}")))
}

/// The error of a [`AnyKey`]: its kind for the core, its message for the
/// person reading.
#[derive(Debug, Clone)]
pub struct KeyError {
    kind: BackendErrorKind,
    message: String,
}

impl BackendError for KeyError {
    fn kind(&self) -> BackendErrorKind {
        self.kind
    }
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A private key from a file or on a token.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "a few keys per run")]
pub enum AnyKey {
    /// A software RSA key from a file.
    Soft(SoftRsaKey),
    /// A key on a PKCS#11 token.
    Token(Pkcs11Key),
    /// A software EC key (P-256, P-384) from a file: ECDH recipients.
    Ec(smime_core::soft_ec::SoftEcKey<'static>),
    /// A software X25519 key from a file: ECDH recipients (RFC 8418).
    X25519(smime_core::soft_ec::SoftX25519Key<'static>),
    /// The decryption key on a chip card (shared by the envelope levels of
    /// one command).
    Card(crate::card::SharedCard),
}

/// The last error a token reported with its full message, for the report
/// (the core passes on only its kind).
static LAST_TOKEN_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// The message of the last token error, if any (taken).
pub fn last_token_error() -> Option<String> {
    LAST_TOKEN_ERROR.lock().ok().and_then(|mut g| g.take())
}

/// A backend error of `kind` with its full message, kept for the report
/// (as [`last_token_error`] gives it).
pub fn remember(kind: BackendErrorKind, message: String) -> KeyError {
    if let Ok(mut g) = LAST_TOKEN_ERROR.lock() {
        *g = Some(message.clone());
    }
    KeyError { kind, message }
}

fn keep(e: &smime_pkcs11::Error) -> KeyError {
    if let Ok(mut g) = LAST_TOKEN_ERROR.lock() {
        *g = Some(e.to_string());
    }
    KeyError {
        kind: e.kind(),
        message: e.to_string(),
    }
}

impl ErrorType for AnyKey {
    type Error = KeyError;
}

fn kind_error(kind: BackendErrorKind) -> KeyError {
    KeyError {
        kind,
        message: kind.to_string(),
    }
}

impl KeyTransDecrypter for AnyKey {
    fn recipient_id(&self) -> Option<RecipientId<'_>> {
        match self {
            Self::Soft(k) => k.recipient_id(),
            Self::Token(k) => k.recipient_id(),
            Self::Ec(k) => KeyTransDecrypter::recipient_id(k),
            Self::X25519(k) => KeyTransDecrypter::recipient_id(k),
            Self::Card(k) => k.recipient_id(),
        }
    }

    fn agreement_curve(&self) -> Option<smime_core::backend::AgreementCurve> {
        match self {
            Self::Soft(_) => None,
            Self::Token(k) => KeyTransDecrypter::agreement_curve(k),
            Self::Ec(k) => KeyTransDecrypter::agreement_curve(k),
            Self::X25519(k) => KeyTransDecrypter::agreement_curve(k),
            Self::Card(k) => k.curve,
        }
    }

    fn shared_secret(
        &mut self,
        peer_public: &[u8],
        out: &mut [u8],
    ) -> Option<std::result::Result<usize, KeyError>> {
        match self {
            Self::Soft(_) => None,
            Self::Token(k) => KeyTransDecrypter::shared_secret(k, peer_public, out)
                .map(|r| r.map_err(|e| keep(&e))),
            Self::Ec(k) => {
                KeyTransDecrypter::shared_secret(k, peer_public, out).map(|r| r.map_err(kind_error))
            }
            Self::X25519(k) => {
                KeyTransDecrypter::shared_secret(k, peer_public, out).map(|r| r.map_err(kind_error))
            }
            Self::Card(k) => k.with(|c| KeyTransDecrypter::shared_secret(c, peer_public, out)),
        }
    }

    fn decrypt_key(
        &mut self,
        algorithm: &KeyTransAlgorithm<'_>,
        encrypted_key: &[u8],
        out: &mut [u8],
    ) -> std::result::Result<usize, KeyError> {
        match self {
            Self::Soft(k) => k
                .decrypt_key(algorithm, encrypted_key, out)
                .map_err(|e| KeyError {
                    kind: e.kind(),
                    message: format!("{e:?}"),
                }),
            Self::Token(k) => k
                .decrypt_key(algorithm, encrypted_key, out)
                .map_err(|e| keep(&e)),
            Self::Ec(_) | Self::X25519(_) => {
                Err(kind_error(BackendErrorKind::UnsupportedAlgorithm))
            }
            Self::Card(k) => k.with(|c| c.decrypt_key(algorithm, encrypted_key, out)),
        }
    }
}

/// A token signer with its error kept for the report.
#[derive(Debug)]
pub struct TokenSigner(pub Pkcs11Key);

impl ErrorType for TokenSigner {
    type Error = KeyError;
}

impl Signer for TokenSigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.0.algorithm()
    }

    fn certificate(&self) -> Option<&[u8]> {
        Signer::certificate(&self.0)
    }

    fn max_signature_len(&self) -> usize {
        self.0.max_signature_len()
    }

    fn sign(
        &mut self,
        tbs: &ToBeSigned<'_>,
        out: &mut [u8],
    ) -> std::result::Result<usize, KeyError> {
        self.0.sign(tbs, out).map_err(|e| keep(&e))
    }
}
