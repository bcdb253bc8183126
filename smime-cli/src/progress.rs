//! A progress bar for large inputs, on standard error.
//!
//! Shown only when standard error is a terminal and the input is large: a
//! bar for a known length of at least [`THRESHOLD`] bytes, a spinner with
//! bytes and rate for an unknown length once [`THRESHOLD`] bytes have
//! passed. Never for scripts, pipes or tests.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The input size from which progress is shown: 8 MiB.
pub const THRESHOLD: u64 = 8 << 20;

/// What a [`Progress`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing, ever.
    Hidden,
    /// A bar of this many bytes, shown from the start.
    Bar(u64),
    /// A spinner, shown once [`THRESHOLD`] bytes have passed.
    Spinner,
}

/// The mode for an input of `total` bytes (if known).
fn mode(terminal: bool, total: Option<u64>) -> Mode {
    match total {
        _ if !terminal => Mode::Hidden,
        Some(n) if n >= THRESHOLD => Mode::Bar(n),
        Some(_) => Mode::Hidden,
        None => Mode::Spinner,
    }
}

/// A progress bar on stderr (indicatif), shown only when stderr is a
/// terminal (`std::io::IsTerminal`) and the input is large (known length
/// ≥ 8 MiB, or unknown length: then a spinner with bytes and rate once 8 MiB
/// have passed); never otherwise (scripts, tests, pipes).
#[derive(Debug)]
pub struct Progress {
    /// `None`: hidden for good.
    bar: Option<ProgressBar>,
    /// Whether the bar draws (a spinner starts hidden).
    shown: AtomicBool,
}

impl Progress {
    /// Progress of `what` (e.g. "signing") over an input of `total` bytes,
    /// if known.
    pub fn new(what: &str, total: Option<u64>) -> Self {
        Self::with_mode(what, mode(std::io::stderr().is_terminal(), total))
    }

    /// A progress that never shows.
    pub fn hidden() -> Self {
        Self {
            bar: None,
            shown: AtomicBool::new(false),
        }
    }

    fn with_mode(what: &str, mode: Mode) -> Self {
        match mode {
            Mode::Hidden => Self::hidden(),
            Mode::Bar(n) => {
                let style = ProgressStyle::with_template(
                    "{msg} [{bar:40}] {bytes}/{total_bytes} ({binary_bytes_per_sec}, {eta})",
                )
                .map(|s| s.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                let bar = ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr())
                    .with_style(style)
                    .with_message(what.to_owned());
                Self {
                    bar: Some(bar),
                    shown: AtomicBool::new(true),
                }
            }
            Mode::Spinner => {
                let style = ProgressStyle::with_template(
                    "{spinner} {msg} {bytes} ({binary_bytes_per_sec})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
                    .with_style(style)
                    .with_message(what.to_owned());
                Self {
                    bar: Some(bar),
                    shown: AtomicBool::new(false),
                }
            }
        }
    }

    /// Counts `n` more bytes done.
    pub fn inc(&self, n: u64) {
        let Some(bar) = &self.bar else { return };
        bar.inc(n);
        if !self.shown.load(Ordering::Relaxed)
            && bar.position() >= THRESHOLD
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// Clears the bar (for good).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Whether the bar is drawn now.
    pub fn is_visible(&self) -> bool {
        self.bar.is_some() && self.shown.load(Ordering::Relaxed)
    }
}

impl Drop for Progress {
    /// Clears a bar left unfinished (an error on the way), so that the error
    /// message is not printed after a half-drawn bar.
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_follows_terminal_and_size() {
        assert_eq!(mode(false, Some(1 << 40)), Mode::Hidden);
        assert_eq!(mode(false, None), Mode::Hidden);
        assert_eq!(mode(true, Some(THRESHOLD - 1)), Mode::Hidden);
        assert_eq!(mode(true, Some(0)), Mode::Hidden);
        assert_eq!(mode(true, Some(THRESHOLD)), Mode::Bar(THRESHOLD));
        assert_eq!(mode(true, None), Mode::Spinner);
    }

    #[test]
    fn hidden_when_not_a_terminal_and_harmless() {
        let terminal = std::io::stderr().is_terminal();
        for total in [None, Some(10), Some(1 << 30)] {
            let p = Progress::new("signing", total);
            let large = total.is_none_or(|n| n >= THRESHOLD);
            // Under `cargo test` in CI stderr is not a terminal: never shown.
            // A spinner starts hidden even on a terminal.
            assert_eq!(p.is_visible(), terminal && large && total.is_some());
            p.inc(1 << 20);
            p.inc(0);
            p.finish();
            p.finish();
        }
        let h = Progress::hidden();
        h.inc(u64::MAX);
        assert!(!h.is_visible());
        h.finish();
    }

    #[test]
    fn spinner_shows_only_past_the_threshold() {
        // Built directly: indicatif's stderr target itself draws nothing when
        // stderr is not a terminal, so this is quiet under tests.
        let p = Progress::with_mode("decrypting", Mode::Spinner);
        assert!(!p.is_visible());
        p.inc(THRESHOLD - 1);
        assert!(!p.is_visible());
        p.inc(1);
        assert!(p.is_visible());
        p.inc(THRESHOLD);
        assert!(p.is_visible());
        p.finish();
    }
}
