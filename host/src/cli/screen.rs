//! What a person sees on stderr while a command runs: log lines as the
//! verbosity asks, a progress bar per download (size, rate and time left when
//! the response says its length), a spinner with the run's status while a
//! dbt Cloud run is awaited. Bars only on a terminal; nothing but errors with
//! `-q`; debug lines with `-v`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use model_sync_host::Event;

use super::output;

/// How much a command says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// Progress, info, warnings and errors (warnings and errors only with `--json`).
    Normal,
    /// Everything, debug lines included (`-v`).
    Verbose,
}

/// The progress bars of one command and where its lines go.
pub struct Screen {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    verbosity: Verbosity,
    json: bool,
    bars_shown: bool,
}

impl Screen {
    /// A screen for `verbosity`; bars only when stderr is a terminal, and not for `--json` or `-q`.
    pub fn new(verbosity: Verbosity, json: bool) -> Self {
        let bars_shown = std::io::stderr().is_terminal() && !json && verbosity != Verbosity::Quiet;
        let target = if bars_shown { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        Screen {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            verbosity,
            json,
            bars_shown,
        }
    }

    fn shows(&self, level: &str) -> bool {
        match self.verbosity {
            Verbosity::Quiet => level == "error",
            Verbosity::Verbose => true,
            Verbosity::Normal if self.json => matches!(level, "warn" | "error"),
            Verbosity::Normal => level != "debug",
        }
    }

    /// A line on stderr, above the bars.
    fn line(&self, text: &str) {
        // Above the bars while there are some; plainly otherwise (indicatif
        // prints a line without its break when no bar is drawn).
        let bars_drawn = self.bars_shown && self.bars.lock().is_ok_and(|b| !b.is_empty());
        if bars_drawn {
            let _ = self.multi.println(text);
        } else {
            eprintln!("{text}");
        }
    }

    /// Shows one event of the plugin.
    pub fn event(&self, event: Event) {
        match event {
            Event::Log { level, message } if self.shows(level) => {
                self.line(&format!("  {} {}", output::level_label(level), output::printable(&message)))
            }
            Event::Log { .. } => {}
            Event::Progress { step, done, total } => self.progress(&output::printable(&step), done, total),
            Event::Denied(m) if self.verbosity != Verbosity::Quiet => {
                self.line(&format!("  sandbox {}", output::printable(&m)))
            }
            Event::LimitReached(limit) if self.verbosity != Verbosity::Quiet => {
                self.line(&format!("  sandbox limit reached: {limit}"))
            }
            Event::Denied(_) | Event::LimitReached(_) => {}
        }
    }

    fn progress(&self, step: &str, done: u64, total: Option<u64>) {
        if !self.bars_shown {
            return;
        }
        let Ok(mut bars) = self.bars.lock() else { return };
        let bar = bars.entry(step.to_string()).or_insert_with(|| {
            let bar = self.multi.add(new_bar(step, total));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if step.starts_with("download") {
            bar.set_position(done);
            if total.is_some_and(|t| done >= t) {
                // Done: the bar goes, and a later download of the same name gets a new one.
                bar.finish_and_clear();
                bars.remove(step);
            }
        } else if let Some((_, state)) = step.split_once(": ") {
            // "waiting for run N: Running": the spinner says the run's status and the polls.
            bar.set_message(format!("{state} ({done} polls)"));
        }
    }

    /// Clears every bar (at the end of a command).
    pub fn finish(&self) {
        if let Ok(mut bars) = self.bars.lock() {
            for (_, bar) in bars.drain() {
                bar.finish_and_clear();
            }
        }
    }
}

/// A bar for a download of known size, a byte counter for one of unknown
/// size, a spinner for a wait.
fn new_bar(step: &str, total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(len) if step.starts_with("download") => {
            (ProgressBar::new(len), "  {prefix} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec}, {eta} left")
        }
        _ if step.starts_with("download") => {
            (ProgressBar::new_spinner(), "  {spinner} {prefix} {bytes} {binary_bytes_per_sec}")
        }
        _ => (ProgressBar::new_spinner(), "  {spinner} {prefix}: {msg} {elapsed}"),
    };
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    let prefix = step.split_once(": ").map_or(step, |(what, _)| what).trim_start_matches("download ").to_string();
    bar.with_style(style.progress_chars("=> ")).with_prefix(prefix)
}
