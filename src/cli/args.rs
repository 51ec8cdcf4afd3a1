//! The command line's syntax: subcommands, arguments and their help.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::driver::DEFAULT_BLOCK_DRAWS;

/// Monte Carlo intervals for the CO2 that Chinese cities' electric cars shift to the
/// provinces and cities that generate their electricity.
#[derive(Debug, Parser)]
#[command(name = "evcarbon", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Sample the config and write interval tables (Parquet) and a manifest.
    Run(RunArgs),
    /// Check a config and its tables without sampling; print a short summary.
    Validate {
        /// Config file (default: the built-in default config).
        config: Option<PathBuf>,
    },
    /// Sobol indices of every output per input group: which inputs the
    /// uncertainty comes from (docs/sensitivity.md).
    Sensitivity(SensitivityArgs),
    /// Merge the shard states of `run --shard K/M` into one run's outputs,
    /// bit-identical to a single process (docs/cluster.md).
    Merge(MergeArgs),
    /// Write Slurm job-array scripts that run the shards and then merge them
    /// (docs/cluster.md).
    Slurm(SlurmArgs),
    /// Draw a results folder as report.html and SVG figures (docs/report.md).
    Report(ReportArgs),
    /// Write the built-in configs and their tables to a folder, to start from.
    Init {
        /// Folder to write into (created if needed).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Overwrite files of the same names.
        #[arg(long)]
        force: bool,
    },
}

/// A count as the config writes it: digits with optional `_` separators
/// (`1_000_000`), or a whole number in scientific notation (`1e6`, `2.5e5`).
pub(super) fn parse_count(text: &str) -> Result<u64, String> {
    let bad =
        || format!("`{text}` is not a whole number of draws (e.g. 1000000, 1_000_000 or 1e6)");
    let plain = text.replace('_', "");
    if !plain.is_empty() && plain.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('_') {
        return plain.parse().map_err(|_| bad());
    }
    if text.contains(['e', 'E']) {
        let x: f64 = text.parse().map_err(|_| bad())?;
        if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x <= 2f64.powi(53) {
            return Ok(x as u64);
        }
    }
    Err(bad())
}

/// The run settings the command line can override.
#[derive(Debug, clap::Args)]
pub(super) struct SettingsArgs {
    /// Number of draws (overrides run.draws); `1_000_000` and `1e6` are read too.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub(super) draws: Option<u64>,
    /// Seed (overrides run.seed).
    #[arg(long, value_name = "S")]
    pub(super) seed: Option<u64>,
    /// Sampling design (overrides run.sampler).
    #[arg(long, value_parser = ["mc", "lhs", "sobol"])]
    pub(super) sampler: Option<String>,
}

/// Arguments of `evcarbon run`.
#[derive(Debug, clap::Args)]
pub(super) struct RunArgs {
    /// Config file (default: the built-in default config).
    pub(super) config: Option<PathBuf>,
    #[command(flatten)]
    pub(super) settings: SettingsArgs,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "T")]
    pub(super) threads: Option<usize>,
    /// Output folder (default: results/<run.name>/).
    #[arg(long, value_name = "DIR")]
    pub(super) out: Option<PathBuf>,
    /// Replace the outputs of an earlier run in the output folder.
    #[arg(long)]
    pub(super) force: bool,
    /// No progress output (by default: a progress bar on a terminal, a one-line
    /// progress log every 30 s otherwise).
    #[arg(long)]
    pub(super) quiet: bool,
    /// Keep drawing blocks until every headline interval bound has a Monte Carlo
    /// standard error ≤ REL × max(|bound|, sd); --draws (or run.draws) is then the
    /// minimum. See docs/long-runs.md.
    #[arg(long, value_name = "REL")]
    pub(super) until: Option<f64>,
    /// With --until: stop at N draws even if the precision is not reached
    /// (default: 100 × the minimum).
    #[arg(long, value_name = "N", requires = "until", value_parser = parse_count)]
    pub(super) max_draws: Option<u64>,
    /// With --until: draws per block, i.e. how often the precision is checked
    /// (a multiple of 1024).
    #[arg(long, value_name = "N", requires = "until", default_value_t = DEFAULT_BLOCK_DRAWS, value_parser = parse_count)]
    pub(super) check_every: u64,
    /// Seconds between checkpoints of the run's state (0: only on interrupt).
    #[arg(long, value_name = "S", default_value_t = 60)]
    pub(super) checkpoint_secs: u64,
    /// Continue the interrupted run whose checkpoint is in the output folder
    /// (same command otherwise).
    #[arg(long, conflicts_with = "force")]
    pub(super) resume: bool,
    /// Keep every draw and report exact quantiles (memory: draws × series × 8 bytes).
    #[arg(long, conflicts_with_all = ["until", "resume"])]
    pub(super) exact: bool,
    /// Largest memory --exact may use, e.g. 512M, 4G (binary units).
    #[arg(long, value_name = "SIZE", default_value = "4G", requires = "exact")]
    pub(super) max_memory: String,
    /// Also write report.html and SVG figures to <output folder>/report/.
    #[arg(long)]
    pub(super) report: bool,
    /// Also write drivers.parquet: first-order indices of the headline and
    /// province metrics from the run's own draws, and what separates the draws
    /// at or above each reported figure from those below (docs/sensitivity.md).
    #[arg(long)]
    pub(super) sensitivity: bool,
    /// Compute only shard K of M (contiguous ranges of chunks) and write its state
    /// to <output folder>/shard-K-of-M.evshard, for `evcarbon merge`
    /// (docs/cluster.md).
    #[arg(long, value_name = "K/M", conflicts_with_all = ["until", "resume", "exact", "report", "sensitivity"])]
    pub(super) shard: Option<String>,
}

/// Arguments of `evcarbon merge`.
#[derive(Debug, clap::Args)]
pub(super) struct MergeArgs {
    /// Shard state files written by `run --shard K/M` (or all by
    /// `sensitivity --shard K/M`).
    #[arg(required = true, value_name = "SHARD_FILES")]
    pub(super) shards: Vec<PathBuf>,
    /// The config the shards were computed from (default: the built-in default).
    #[arg(long, value_name = "CONFIG")]
    pub(super) config: Option<PathBuf>,
    /// Output folder (default: results/<run.name>/).
    #[arg(long, value_name = "DIR")]
    pub(super) out: Option<PathBuf>,
    /// Replace the outputs of an earlier run in the output folder.
    #[arg(long)]
    pub(super) force: bool,
    /// Print only the headline table.
    #[arg(long)]
    pub(super) quiet: bool,
}

/// Arguments of `evcarbon slurm`.
#[derive(Debug, clap::Args)]
pub(super) struct SlurmArgs {
    /// Config file (default: the built-in default config).
    pub(super) config: Option<PathBuf>,
    /// Array tasks, one shard each.
    #[arg(long, value_name = "M")]
    pub(super) tasks: u64,
    #[command(flatten)]
    pub(super) settings: SettingsArgs,
    /// Slurm partition (default: the cluster's default partition).
    #[arg(long, value_name = "P")]
    pub(super) partition: Option<String>,
    /// Time limit per task, in Slurm's syntax (e.g. 30:00, 2:00:00).
    #[arg(long, value_name = "T", default_value = "1:00:00")]
    pub(super) time: String,
    /// Memory per task, in Slurm's syntax (e.g. 2G).
    #[arg(long, value_name = "X", default_value = "2G")]
    pub(super) mem: String,
    /// CPUs (worker threads) per task.
    #[arg(long, value_name = "C", default_value_t = 1)]
    pub(super) cpus: u64,
    /// Output folder of the merged results (default: results/<run.name>/); the
    /// scripts go to its slurm/ folder and the shard states to its shards/ folder.
    #[arg(long, value_name = "DIR")]
    pub(super) out: Option<PathBuf>,
    /// Overwrite earlier scripts.
    #[arg(long)]
    pub(super) force: bool,
}

/// Arguments of `evcarbon sensitivity`.
#[derive(Debug, clap::Args)]
pub(super) struct SensitivityArgs {
    /// Config file (default: the built-in default config).
    pub(super) config: Option<PathBuf>,
    /// Base draws N (at least 64; powers of two suit the Sobol design). The model
    /// is evaluated N × (groups + 2) times.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub(super) base_draws: u64,
    /// How inputs are grouped: one group per parameter, per province (plus
    /// `national` for variates all entities share), or the config's
    /// [sensitivity.groups].
    #[arg(long, value_parser = ["param", "province", "config"], default_value = "param")]
    pub(super) groups: String,
    /// First-order estimator (the total index is always Jansen's).
    #[arg(long, value_parser = ["saltelli", "janon"], default_value = "saltelli")]
    pub(super) estimator: String,
    /// Base design: scrambled Sobol or plain Monte Carlo.
    #[arg(long, value_parser = ["sobol", "mc"], default_value = "sobol")]
    pub(super) sampler: String,
    /// Seed (overrides run.seed).
    #[arg(long, value_name = "S")]
    pub(super) seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "T")]
    pub(super) threads: Option<usize>,
    /// Output folder (default: results/<run.name>/, beside a run's files).
    #[arg(long, value_name = "DIR")]
    pub(super) out: Option<PathBuf>,
    /// Replace the files of an earlier analysis in the output folder.
    #[arg(long)]
    pub(super) force: bool,
    /// No progress output.
    #[arg(long)]
    pub(super) quiet: bool,
    /// Compute only shard K of M (contiguous ranges of the design's 32 batches) and
    /// write its state to <output folder>/sensitivity-shard-K-of-M.evshard, for
    /// `evcarbon merge` (docs/cluster.md).
    #[arg(long, value_name = "K/M")]
    pub(super) shard: Option<String>,
}

/// Arguments of `evcarbon report`.
#[derive(Debug, clap::Args)]
pub(super) struct ReportArgs {
    /// Folder of a completed run (holding manifest.json).
    pub(super) results_dir: PathBuf,
    /// Folder for report.html and the figures (default: RESULTS_DIR/report/).
    #[arg(long, value_name = "DIR")]
    pub(super) out: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn counts_are_read_as_the_config_writes_them() {
        for (text, n) in [
            ("1000", 1000),
            ("1_000_000", 1_000_000),
            ("1e6", 1_000_000),
            ("2.5E5", 250_000),
            ("0", 0),
        ] {
            assert_eq!(parse_count(text), Ok(n), "{text}");
        }
        for bad in ["", "_1", "1.5", "1.5e0", "-3", "1e400", "ten", "1e-3"] {
            let err = parse_count(bad).unwrap_err();
            assert!(err.contains("1_000_000"), "{bad}: {err}");
        }
    }
}
