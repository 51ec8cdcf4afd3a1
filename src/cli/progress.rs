//! Progress output of `evcarbon run`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::driver::ConvergenceBlock;

/// Interval of the one-line progress logs when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(30);

/// Progress output: an indicatif bar on a terminal, one-line logs every
/// [`LOG_EVERY`] (and after each `--until` block and checkpoint) otherwise, nothing
/// with `--quiet`.
pub(super) struct Reporter {
    mode: Mode,
    total: u64,
    done: AtomicU64,
    resumed: u64,
    started: Instant,
    last_log: Mutex<Instant>,
}

enum Mode {
    Quiet,
    Bar(ProgressBar),
    Log,
}

impl Reporter {
    pub(super) fn new(quiet: bool, total: u64, resumed: u64) -> Reporter {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:30} {human_pos}/{human_len} draws  {rate}  ETA {eta}  {msg}",
            )
            .map(|style| {
                style.with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} draws/s", state.per_sec());
                    },
                )
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(resumed);
            bar.reset_eta();
            Mode::Bar(bar)
        } else {
            Mode::Log
        };
        let now = Instant::now();
        Reporter {
            mode,
            total,
            done: AtomicU64::new(resumed),
            resumed,
            started: now,
            last_log: Mutex::new(now),
        }
    }

    /// `n` more draws done (called from workers).
    pub(super) fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar) => bar.inc(n),
            Mode::Log => {
                let Ok(mut last) = self.last_log.try_lock() else {
                    return;
                };
                if last.elapsed() >= LOG_EVERY {
                    *last = Instant::now();
                    eprintln!("progress: {}", self.line(done));
                }
            }
        }
    }

    fn line(&self, done: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = (done - self.resumed.min(done)) as f64 / secs;
        let left = self.total.saturating_sub(done) as f64 / rate.max(1e-9);
        format!(
            "{done}/{} draws ({:.1} %), {rate:.0} draws/s, ETA {left:.0} s",
            self.total,
            100.0 * done as f64 / self.total.max(1) as f64
        )
    }

    /// After each `--until` block.
    pub(super) fn block(&self, b: &ConvergenceBlock) {
        let ratio = b.worst_ratio();
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar) => bar.set_message(format!("precision {ratio:.2} (stops at ≤ 1)")),
            Mode::Log => eprintln!(
                "block {}: {} draws, worst headline bound mcse/tolerance {ratio:.3} (stops at ≤ 1)",
                b.block, b.draws
            ),
        }
    }

    /// After each checkpoint.
    pub(super) fn checkpoint(&self, draws: u64) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar(_) => {}
            Mode::Log => eprintln!("checkpoint: {draws} draws saved"),
        }
    }

    pub(super) fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}
