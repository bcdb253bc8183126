//! The `smime` command line tool, as a library: argument definitions, one
//! module per subcommand, and the small pieces they share.
//!
//! The tool has no cryptography of its own: everything CMS goes through
//! `smime-core`. What lives here is I/O: reading files and streams in chunks,
//! PEM armour, output that appears only when complete, and the messages a
//! person reads.
//!
//! - [`cli`]: the command line (clap).
//! - [`encrypt`], [`decrypt`], [`sign`], [`verify`], [`certs`], [`demo`]:
//!   the subcommands ([`describe`]: words for reports).
//! - [`certgen`]: a small X.509 certificate builder for throwaway identities
//!   (the demo and the tests).
//! - [`pem`], [`io`], [`files`]: streaming PEM, chunked input and atomic
//!   output, certificate and key files.
//! - [`error`]: the one-line error the tool prints.

#![forbid(unsafe_code)]
// A std tool: `core` paths buy nothing here.
#![allow(clippy::std_instead_of_core)]

pub mod card;
pub mod certgen;
pub mod certs;
pub mod cli;
pub mod decrypt;
pub mod demo;
pub mod describe;
pub mod encrypt;
pub mod error;
pub mod files;
pub mod harvest;
pub mod io;
pub mod keys;
pub mod ldap;
pub mod mail;
pub mod p12;
pub mod pem;
pub mod progress;
pub mod sign;
pub mod store;
pub mod tokens;
pub mod verify;

pub use error::{Error, Result};

/// Runs a parsed command line.
pub fn run(cli: &cli::Cli) -> Result<()> {
    match &cli.command {
        cli::Command::Encrypt(a) => encrypt::run(a),
        cli::Command::Decrypt(a) => decrypt::run(a),
        cli::Command::Sign(a) => sign::run(a),
        cli::Command::Verify(a) => verify::run(a),
        cli::Command::Certs(c) => certs::run(c),
        cli::Command::Demo(a) => demo::run(a),
        cli::Command::Tokens(a) => tokens::run(a),
        cli::Command::Cards(a) => card::list(a),
        cli::Command::Keys(c) => p12::run(c),
    }
}
