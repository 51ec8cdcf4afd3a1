//! `run --sensitivity`: what drives a run's outputs, from the run's own draws.
//!
//! The run's draws are generated again (same design, seed and chunks) with every
//! input group's score beside them; the headline and province outputs go into
//! binned sums (memory independent of the draws), from which come first-order
//! indices and, for every headline with a reported figure, the Monte Carlo
//! filtering of the draws at or above that figure against those below. The groups
//! are the config's `[sensitivity.groups]` where it has them, else one per
//! parameter; correlated groups are allowed (the indices then include what a group
//! carries of the inputs correlated with it).

use evcarbon_engine::sampling::{ChunkPlan, GivenDataPass, SamplerError};
use evcarbon_engine::stats::GivenDataSums;

use super::sensitivity::{GroupBy, GroupError, group_variates, output_labels};
use crate::config::Config;
use crate::output::{DriverResults, FilterRow, GivenDataRow};

/// Why the given-data analysis did not finish.
#[derive(Debug, thiserror::Error)]
pub enum GivenDataError {
    /// The groups cannot be formed.
    #[error(transparent)]
    Groups(#[from] GroupError),
    /// The second pass over the draws failed.
    #[error(transparent)]
    Sampler(#[from] SamplerError),
}

/// Given-data sensitivity of the first `draws` draws of `config`'s run (its seed
/// and sampler), on `threads` workers; `progress` sees the draws of every chunk.
pub fn given_data(
    config: &Config,
    draws: u64,
    threads: usize,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<DriverResults, GivenDataError> {
    let by = if config.sensitivity_groups.is_empty() {
        GroupBy::Param
    } else {
        GroupBy::Config
    };
    let (groups, infos) = group_variates(config, by)?;
    let labels = output_labels(config);
    // Headlines and province metrics: city metrics would make the sums 285 times
    // larger for indices that `evcarbon sensitivity` gives with intervals.
    let outputs: Vec<usize> = (0..labels.len())
        .filter(|&o| matches!(labels[o].entity, "headline" | "province"))
        .collect();
    let filters: Vec<(usize, f64)> = super::tables::thresholds(config)
        .into_iter()
        .filter_map(|(series, threshold)| {
            let at = outputs.iter().position(|&o| o == series)?;
            Some((at, threshold))
        })
        .collect();
    let sums = GivenDataPass {
        model: &config.model,
        plan: &config.plan,
        seed: config.run.seed,
        sampler: config.run.sampler,
        chunks: ChunkPlan { draws },
        groups: &groups,
        outputs: &outputs,
        filters: &filters,
        threads,
        progress,
    }
    .run()?;
    Ok(DriverResults {
        outputs: outputs.iter().map(|&o| labels[o].clone()).collect(),
        first_order: first_order_rows(&sums, outputs.len(), infos.len()),
        filters: filter_rows(&sums, &filters, infos.len()),
        groups: infos,
    })
}

/// First-order rows of every output that varies.
fn first_order_rows(sums: &GivenDataSums, outputs: usize, groups: usize) -> Vec<GivenDataRow> {
    let mut rows = Vec::new();
    for output in 0..outputs {
        for group in 0..groups {
            if let Some(e) = sums.first_order(output, group) {
                rows.push(GivenDataRow {
                    output,
                    group,
                    s1: e.s1,
                    p_value: e.p_no_effect,
                });
            }
        }
    }
    rows
}

/// Filtering rows of every filtered output and group.
fn filter_rows(sums: &GivenDataSums, filters: &[(usize, f64)], groups: usize) -> Vec<FilterRow> {
    let finite = |x: f64| x.is_finite().then_some(x);
    let mut rows = Vec::new();
    for (f, &(output, threshold)) in filters.iter().enumerate() {
        for group in 0..groups {
            let r = sums.filter(f, group);
            rows.push(FilterRow {
                output,
                group,
                threshold,
                draws_ge: r.draws_ge,
                draws_lt: r.draws_lt,
                ks_distance: r.ks_distance,
                p_value: r.p_value,
                mean_score_ge: finite(r.mean_score_ge),
                mean_score_lt: finite(r.mean_score_lt),
            });
        }
    }
    rows
}
