//! `evcarbon merge`: the shard states of `run --shard K/M` merged into one run's
//! outputs, bit-identical to those of a single process.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use super::args::MergeArgs;
use super::error::CliError;
use super::inputs::load_config;
use super::run_cmd::headline_table;
use super::sensitivity_cmd;
use crate::config::BUILTIN_CONFIG;
use crate::config::Config;
use crate::driver::{
    MergeError, StopReason, is_sensitivity_shard, merge, merge_sensitivity, results,
};
use crate::output::{self, RunInfo, Telemetry};

pub(super) fn run(args: MergeArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let mut config = load_config(args.config.as_ref())?;
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{BUILTIN_CONFIG} (built in)")));
    if let Some(first) = args.shards.first()
        && is_sensitivity_shard(first).map_err(MergeError::from)?
    {
        return merge_sensitivity_shards(&args, &mut config, &config_path);
    }
    let merged = merge(&args.shards, &mut config, &config_path)?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&config.run.name));
    output::prepare_output_dir(&out_dir, args.force)?;
    let acc = &merged.state.accumulator;
    let wall_seconds = started.elapsed().as_secs_f64();
    let telemetry = Telemetry {
        threads: 1,
        wall_seconds,
        draws_per_second: acc.draws() as f64 / wall_seconds.max(1e-9),
    };
    let run_info = RunInfo {
        stop_reason: StopReason::DrawsReached.as_str().to_string(),
        ..RunInfo::default()
    };
    // No note about the shards: the tables' metadata must equal a single run's.
    let tables = results(&config, acc, None, telemetry, run_info, Vec::new());
    let files = output::write_results(&out_dir, &tables)?;
    if !args.quiet {
        eprintln!(
            "{} draws from {} shards merged in {wall_seconds:.1} s; wrote:",
            acc.draws(),
            merged.files.len()
        );
        for f in files {
            eprintln!("  {}", f.display());
        }
    }
    let _ = std::io::stdout()
        .lock()
        .write_all(headline_table(&tables).as_bytes());
    Ok(())
}

/// The shards of `sensitivity --shard K/M` merged into the analysis' files.
fn merge_sensitivity_shards(
    args: &MergeArgs,
    config: &mut Config,
    config_path: &std::path::Path,
) -> Result<(), CliError> {
    let results = merge_sensitivity(&args.shards, config, config_path, 1)?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&config.run.name));
    output::prepare_sensitivity_dir(&out_dir, args.force)?;
    let files = output::write_sensitivity(&out_dir, &results)?;
    if !args.quiet {
        eprintln!(
            "Sobol design of {} base draws from {} shards merged; wrote:",
            results.settings.base_draws,
            args.shards.len()
        );
        for f in files {
            eprintln!("  {}", f.display());
        }
    }
    let _ = std::io::stdout()
        .lock()
        .write_all(sensitivity_cmd::headline_table(&results).as_bytes());
    Ok(())
}
