//! Loading PKCS#11 modules: once per process and path, shared.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use smime_core::backend::BackendErrorKind;

use crate::error::Error;

/// The modules tried, in order, when none is named.
pub(crate) const DEFAULT_MODULES: [&str; 3] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
];

/// The environment variable naming the module.
pub(crate) const MODULE_ENV: &str = "SMIME_PKCS11_MODULE";

/// Chooses the module: `explicit`, else `from_uri`, else the environment,
/// else the first default that exists.
pub(crate) fn resolve(explicit: Option<&Path>, from_uri: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(p) = explicit.or(from_uri) {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(MODULE_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    DEFAULT_MODULES.iter().map(PathBuf::from).find(|p| p.exists()).ok_or_else(|| {
        Error::new(
            BackendErrorKind::Device,
            format!(
                "no PKCS#11 module given (set {MODULE_ENV} or use module-path=) and none of {} exists",
                DEFAULT_MODULES.join(", ")
            ),
        )
    })
}

fn modules() -> &'static Mutex<HashMap<PathBuf, Pkcs11>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    MODULES.get_or_init(|| Mutex::new(HashMap::new()))
}

fn initialize(ctx: &Pkcs11, path: &Path) -> Result<(), Error> {
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(Error::ck(
            &format!("initializing PKCS#11 module {}", path.display()),
            e,
        )),
    }
}

/// The loaded and initialized module at `path` (loaded on first use).
///
/// If someone finalized the module since (`C_Finalize` elsewhere in the
/// process), it is initialized again here; the sessions opened before stay
/// invalid.
pub(crate) fn load(path: &Path) -> Result<Pkcs11, Error> {
    let mut map = modules()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(ctx) = map.get(path) {
        let ctx = ctx.clone();
        if let Err(CkError::Pkcs11(RvError::CryptokiNotInitialized, _)) = ctx.get_library_info() {
            initialize(&ctx, path)?;
        }
        return Ok(ctx);
    }
    let ctx = Pkcs11::new(path).map_err(|e| {
        Error::new(
            BackendErrorKind::Device,
            format!("cannot load PKCS#11 module {}: {e}", path.display()).replace('\n', " "),
        )
    })?;
    initialize(&ctx, path)?;
    map.insert(path.to_path_buf(), ctx.clone());
    Ok(ctx)
}
