//! `smime`: sign, verify, encrypt and decrypt S/MIME (CMS) messages.
//!
//! Exit status: 0 on success, 1 on any error (one line on standard error:
//! `smime: error: <message>`), 2 for usage errors.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = smime_cli::cli::Cli::parse();
    match smime_cli::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smime: error: {e}");
            ExitCode::FAILURE
        }
    }
}
