//! Key backend on PKCS#11 tokens and HSMs (through `cryptoki`).
//!
//! [`Pkcs11Key`] is a private key on a token, chosen by an RFC 7512 URI
//! ([`Pkcs11Uri`]). It implements `smime-core`'s
//! [`Signer`](smime_core::backend::Signer),
//! [`KeyTransDecrypter`](smime_core::backend::KeyTransDecrypter) and
//! [`KeyAgreement`](smime_core::backend::KeyAgreement). Tested against
//! SoftHSMv2.
//!
//! - **Modules** are loaded once per process and path and initialized with
//!   OS locking; every [`Pkcs11Key`] has its own session, so open one key
//!   per thread to sign concurrently.
//! - **Mechanisms**: RSA PKCS#1 v1.5 signs the `DigestInfo` the host builds
//!   (`CKM_RSA_PKCS`), RSA-PSS the digest (`CKM_RSA_PKCS_PSS`), ECDSA the
//!   digest (`CKM_ECDSA`, the token's `r ‖ s` turned into DER); key
//!   transport with `CKM_RSA_PKCS` and `CKM_RSA_PKCS_OAEP`; ECDH with
//!   `CKM_ECDH1_DERIVE` and the null KDF. Content never goes to the token.
//! - **Always-authenticate keys** (`CKA_ALWAYS_AUTHENTICATE`) sign the
//!   signed attributes with the token's hashing mechanism, in parts, with a
//!   context-specific login after `C_SignInit`.
//! - **PINs**: `pin-value`, else `pin-source`, else the [`PinPrompt`]; a
//!   wrong PIN is never retried and its error tells the token's PIN flags.
//! - [`list`] shows everything a module has (`smime tokens`).
//! - [`import()`] puts a key pair and its certificates on a token, all or
//!   nothing; [`open_all`] opens every key with a certificate on a token (a
//!   key history across renewals).
#![forbid(unsafe_code)]

mod error;
pub mod import;
mod key;
mod list;
mod module;
mod token;
pub mod uri;

use std::path::PathBuf;
use std::sync::Arc;

pub use error::Error;
pub use import::{ImportRequest, Imported, KeyMaterial, import, open_all};
pub use key::Pkcs11Key;
pub use list::{ObjectListing, TokenListing, list};
pub use uri::{ObjectType, Pkcs11Uri, is_pkcs11_uri};

/// Where a PIN comes from when the URI has neither `pin-value` nor `pin-source`.
pub trait PinPrompt: Send + Sync {
    /// Asks for the PIN of token `token_label`; `context_specific` when it is
    /// for one operation with an always-authenticate key.
    fn prompt(
        &self,
        token_label: &str,
        context_specific: bool,
    ) -> Result<zeroize::Zeroizing<String>, Error>;
}

/// How [`Pkcs11Key::open`] finds the module and the PIN.
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// The module; else the URI's `module-path`, else the environment
    /// variable `SMIME_PKCS11_MODULE`, else the first of
    /// `/usr/lib/softhsm/libsofthsm2.so`,
    /// `/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so`,
    /// `/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so` that exists.
    pub module: Option<PathBuf>,
    /// Asks for the PIN when the URI has none.
    pub prompt: Option<Arc<dyn PinPrompt>>,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("module", &self.module)
            .field("prompt", &self.prompt.is_some())
            .finish()
    }
}
