//! Finding tokens, logging in, and the PIN.

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::slot::TokenInfo;
use cryptoki::types::AuthPin;
use smime_core::backend::BackendErrorKind;
use zeroize::Zeroizing;

use crate::OpenOptions;
use crate::error::Error;
use crate::uri::Pkcs11Uri;

/// The one token `uri` names.
pub(crate) fn find_token(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<(Slot, TokenInfo), Error> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| Error::ck("listing the slots", e))?;
    let mut found = Vec::new();
    let mut matching = Vec::new();
    for slot in slots {
        let info = match ctx.get_token_info(slot) {
            Ok(i) => i,
            Err(CkError::Pkcs11(RvError::CryptokiNotInitialized, f)) => {
                return Err(Error::ck(
                    "reading the token information",
                    CkError::Pkcs11(RvError::CryptokiNotInitialized, f),
                ));
            }
            Err(_) => continue,
        };
        let ok = uri.token.as_deref().is_none_or(|t| t == info.label())
            && uri
                .manufacturer
                .as_deref()
                .is_none_or(|t| t == info.manufacturer_id())
            && uri.model.as_deref().is_none_or(|t| t == info.model())
            && uri
                .serial
                .as_deref()
                .is_none_or(|t| t == info.serial_number())
            && uri.slot_id.is_none_or(|id| id == slot.id());
        found.push(format!(
            "{:?} (slot {}, serial {})",
            info.label(),
            slot.id(),
            info.serial_number()
        ));
        if ok {
            matching.push((slot, info));
        }
    }
    let what = describe_token(uri);
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(Error::new(
            BackendErrorKind::KeyNotFound,
            format!(
                "no token matches {what}; tokens found: {}",
                if found.is_empty() {
                    "none".to_string()
                } else {
                    found.join(", ")
                }
            ),
        )),
        n => Err(Error::new(
            BackendErrorKind::Other,
            format!(
                "{n} tokens match {what}: {}; name one with token= or serial=",
                matching
                    .iter()
                    .map(|(s, i)| format!(
                        "{:?} (slot {}, serial {})",
                        i.label(),
                        s.id(),
                        i.serial_number()
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

fn describe_token(uri: &Pkcs11Uri) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &uri.token {
        parts.push(format!("token={t:?}"));
    }
    if let Some(t) = &uri.manufacturer {
        parts.push(format!("manufacturer={t:?}"));
    }
    if let Some(t) = &uri.model {
        parts.push(format!("model={t:?}"));
    }
    if let Some(t) = &uri.serial {
        parts.push(format!("serial={t:?}"));
    }
    if let Some(t) = uri.slot_id {
        parts.push(format!("slot-id={t}"));
    }
    if parts.is_empty() {
        "the URI".to_string()
    } else {
        parts.join(" ")
    }
}

/// Reads `pin-source` (a path or a `file:` URI): its first line.
pub(crate) fn read_pin_source(src: &str) -> Result<Zeroizing<String>, Error> {
    let path = if let Some(p) = src.strip_prefix("file://") {
        // file:///path or file://localhost/path
        p.strip_prefix("localhost").unwrap_or(p)
    } else if let Some(p) = src.strip_prefix("file:") {
        p
    } else {
        src
    };
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            BackendErrorKind::PinRequired,
            format!("cannot read pin-source {path}: {e}"),
        )
    })?);
    let line = text.lines().next().unwrap_or("");
    Ok(Zeroizing::new(line.trim_end_matches('\r').to_string()))
}

/// The PIN from the URI or the prompt; `None` if there is none.
pub(crate) fn pin_for(
    uri: &Pkcs11Uri,
    options: &OpenOptions,
    token_label: &str,
    context_specific: bool,
) -> Result<Option<Zeroizing<String>>, Error> {
    if let Some(p) = &uri.pin_value {
        return Ok(Some(p.clone()));
    }
    if let Some(src) = &uri.pin_source {
        return read_pin_source(src).map(Some);
    }
    match &options.prompt {
        Some(prompt) => prompt.prompt(token_label, context_specific).map(Some),
        None => Ok(None),
    }
}

/// The flags that a failed login leaves, as words.
pub(crate) fn pin_state(ctx: &Pkcs11, slot: Slot) -> (Vec<&'static str>, bool) {
    let Ok(info) = ctx.get_token_info(slot) else {
        return (Vec::new(), false);
    };
    let mut words = Vec::new();
    if info.user_pin_count_low() {
        words.push("count low");
    }
    if info.user_pin_final_try() {
        words.push("final try: one more wrong PIN locks it");
    }
    if info.user_pin_locked() {
        words.push("locked");
    }
    (words, info.user_pin_locked())
}

/// Maps a failed `C_Login`: a wrong PIN with the token's flags after it.
pub(crate) fn login_error(ctx: &Pkcs11, slot: Slot, label: &str, e: CkError) -> Error {
    match Error::rv(&e) {
        Some(RvError::PinIncorrect) => {
            let (words, locked) = pin_state(ctx, slot);
            let flags = if words.is_empty() {
                String::new()
            } else {
                format!(" (user PIN {})", words.join(", "))
            };
            let final_try = words.iter().any(|w| w.starts_with("final try"));
            if locked {
                Error::new(
                    BackendErrorKind::PinLocked,
                    format!("wrong PIN for token {label:?}: the user PIN is now locked"),
                )
            } else {
                Error::new(
                    BackendErrorKind::PinIncorrect {
                        tries_left: final_try.then_some(1),
                    },
                    format!("wrong PIN for token {label:?}{flags}; not retried"),
                )
            }
        }
        Some(RvError::PinLocked) => Error::new(
            BackendErrorKind::PinLocked,
            format!("the user PIN of token {label:?} is locked"),
        ),
        _ => Error::ck(&format!("logging in to token {label:?}"), e),
    }
}

/// Logs `session` in as user unless it already is or the token needs no
/// login. Returns the PIN used (for context-specific logins).
pub(crate) fn login(
    ctx: &Pkcs11,
    slot: Slot,
    info: &TokenInfo,
    session: &Session,
    pin: impl FnOnce() -> Result<Option<Zeroizing<String>>, Error>,
) -> Result<Option<Zeroizing<String>>, Error> {
    let label = info.label();
    let state = session
        .get_session_info()
        .map_err(|e| Error::ck("reading the session state", e))?
        .session_state();
    let logged_in = matches!(state, SessionState::RoUser | SessionState::RwUser);
    if info.protected_authentication_path() {
        if !logged_in {
            match session.login(UserType::User, None) {
                Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                Err(e) => return Err(login_error(ctx, slot, label, e)),
            }
        }
        return Ok(None);
    }
    if logged_in || !info.login_required() {
        return Ok(None);
    }
    if info.user_pin_locked() {
        return Err(Error::new(
            BackendErrorKind::PinLocked,
            format!("the user PIN of token {label:?} is locked"),
        ));
    }
    let Some(pin) = pin()? else {
        return Err(Error::new(
            BackendErrorKind::PinRequired,
            format!(
                "token {label:?} needs a PIN: give pin-value= or pin-source= in the URI, or a prompt"
            ),
        ));
    };
    let auth = AuthPin::from(pin.as_str());
    match session.login(UserType::User, Some(&auth)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(Some(pin)),
        Err(e) => Err(login_error(ctx, slot, label, e)),
    }
}
