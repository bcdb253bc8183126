//! The tool's error: one line of text, printed as `smime: error: <message>`.
//!
//! Errors from the core, from I/O and from argument checks are all turned into
//! this one type, with the context a person needs (which file, which step)
//! prefixed to the cause.

use std::fmt;

/// A one-line error message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    msg: String,
}

/// Result alias of the tool.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with this message.
    pub fn msg(msg: impl fmt::Display) -> Self {
        // Exactly one line: the contract of the tool's error output.
        let msg = msg.to_string().replace(['\r', '\n'], " ");
        Self { msg }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

impl From<smime_core::Error> for Error {
    fn from(e: smime_core::Error) -> Self {
        Self::msg(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::msg(e)
    }
}

/// Adds context to an error: `"<context>: <cause>"`.
pub trait Context<T> {
    /// Prefixes `context` to the error.
    fn context(self, context: impl fmt::Display) -> Result<T>;
    /// Prefixes the context made by `f` to the error (only built on failure).
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::msg(format_args!("{context}: {e}")))
    }

    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| Error::msg(format_args!("{}: {e}", f())))
    }
}
