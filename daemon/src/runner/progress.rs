//! Progress of long work: a bar on a terminal, a log line now and then otherwise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// Reports progress of one scan or task batch.
pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    done: AtomicU64,
    logged: AtomicU64,
}

/// Without a terminal, a line every this many items.
const LOG_EVERY: u64 = 10_000;

impl Progress {
    /// A progress report for `label`; draws a bar only if stderr is a terminal and `enabled`.
    pub fn new(label: &str, enabled: bool) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>24} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(label.to_owned());
            bar
        });
        Self {
            bar,
            label: label.to_owned(),
            done: AtomicU64::new(0),
            logged: AtomicU64::new(0),
        }
    }

    /// A progress report that shows nothing (tests, `--json`).
    pub fn hidden() -> Self {
        Self::new("", false)
    }

    /// Sets the expected total, when known.
    pub fn set_total(&self, total: Option<u64>) {
        if let (Some(bar), Some(total)) = (&self.bar, total) {
            bar.set_length(total);
        }
    }

    /// Counts `n` more items done.
    pub fn advance(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None if !self.label.is_empty() => {
                let step = done / LOG_EVERY;
                if step > self.logged.swap(step, Ordering::Relaxed) {
                    tracing::info!(what = %self.label, done, "progress");
                }
            }
            None => {}
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
