//! Variance-based sensitivity of a config (`evcarbon sensitivity`): the groups of
//! input variates, the A/B/AB_g design over them, and the result rows.
//!
//! Groups partition the plan's variates. By parameter (the default), every variate a
//! parameter reads is in that parameter's group. By province, an entity's variates go
//! to its province (a link's to its sending province), and variates shared by every
//! entity (`scope = "global"`) to the group `national`. Config groups
//! (`[sensitivity.groups]`) put several parameters together; a parameter left out
//! keeps a group of its own.
//!
//! The design moves a group's variates from row B into row A. That is only valid when
//! groups are independent of each other, so a block of rank-correlated variates must
//! lie inside one group; otherwise the analysis is refused (see
//! [`GroupError::SplitCorrelation`]).

use std::time::Instant;

use evcarbon_engine::sampling::{
    BaseDrawPlan, ModelSensitivity, SENSITIVITY_BATCHES, SamplerKind, Scope, SensitivityError,
    VariateGroups,
};
use evcarbon_engine::stats::{FirstOrderEstimator, IndexSums};
use evcarbon_model::{CityMetric, Entity, Param, ProvinceMetric};

use super::tables::data_table_notes;
use crate::config::Config;
use crate::output::{
    GroupInfo, IndexRow, OutputLabel, Provenance, SensitivityResults, SensitivitySettings,
    Telemetry,
};

/// Name of the group of the variates every entity shares, with `--groups province`.
pub const NATIONAL_GROUP: &str = "national";

/// Fewest base draws: enough for the 32 batches of the jackknife.
pub const MIN_BASE_DRAWS: u64 = 2 * SENSITIVITY_BATCHES as u64;

/// How input variates are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// One group per parameter.
    Param,
    /// One group per province, plus `national`.
    Province,
    /// The config's `[sensitivity.groups]`, other parameters alone.
    Config,
}

impl GroupBy {
    /// Parses `param`, `province` or `config`.
    pub fn from_name(name: &str) -> Option<GroupBy> {
        match name {
            "param" => Some(GroupBy::Param),
            "province" => Some(GroupBy::Province),
            "config" => Some(GroupBy::Config),
            _ => None,
        }
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Param => "param",
            GroupBy::Province => "province",
            GroupBy::Config => "config",
        }
    }
}

/// Why groups cannot be formed for a config.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GroupError {
    /// No parameter draws: there is nothing to attribute variance to.
    #[error(
        "no parameter of the config is random: every distribution is a point, so there is no variance to attribute"
    )]
    NothingRandom,
    /// `--groups config` without `[sensitivity.groups]`.
    #[error(
        "--groups config needs a [sensitivity.groups] table in the config, e.g.\n  \
         [sensitivity.groups]\n  grid = [\"gen_intensity\", \"loss\"]"
    )]
    NoConfigGroups,
    /// Correlated variates in different groups.
    #[error(
        "[[correlations]] correlate variates of group `{a}` with variates of group `{b}`, but the A/B design \
         that estimates Sobol indices resamples one group while holding the others fixed, which is only valid \
         for independent groups. Put the correlated parameters in one group ([sensitivity.groups] with \
         --groups config, e.g. {example}), or use the given-data estimator of `evcarbon run --sensitivity`, \
         whose first-order indices hold for correlated inputs"
    )]
    SplitCorrelation {
        /// One group.
        a: String,
        /// The other group.
        b: String,
        /// A `[sensitivity.groups]` line that would join them.
        example: String,
    },
}

/// The groups of `config`'s variates and what each holds, checked against its
/// correlations (for the A/B design).
pub fn variate_groups(
    config: &Config,
    by: GroupBy,
) -> Result<(VariateGroups, Vec<GroupInfo>), GroupError> {
    let (groups, infos) = group_variates(config, by)?;
    if let Some(&(a, b)) = groups
        .split_blocks(&config.plan.correlated_variates())
        .first()
    {
        let joined: Vec<String> = (infos[a].params.iter().chain(&infos[b].params))
            .map(|p| format!("\"{p}\""))
            .collect();
        return Err(GroupError::SplitCorrelation {
            a: infos[a].name.clone(),
            b: infos[b].name.clone(),
            example: format!("`correlated = [{}]`", joined.join(", ")),
        });
    }
    Ok((groups, infos))
}

/// The groups of `config`'s variates and what each holds, whatever the correlations
/// (the given-data estimators allow correlated groups).
pub fn group_variates(
    config: &Config,
    by: GroupBy,
) -> Result<(VariateGroups, Vec<GroupInfo>), GroupError> {
    if by == GroupBy::Config && config.sensitivity_groups.is_empty() {
        return Err(GroupError::NoConfigGroups);
    }
    let plan = &config.plan;
    let net = config.model.network();
    let mut names: Vec<String> = Vec::new();
    let mut infos: Vec<GroupInfo> = Vec::new();
    let mut group_of = vec![usize::MAX; plan.n_variates()];
    let mut assign = |name: String, var: u32, param: Param| {
        let g = names.iter().position(|n| *n == name).unwrap_or_else(|| {
            names.push(name.clone());
            infos.push(GroupInfo {
                name,
                variates: 0,
                params: Vec::new(),
            });
            names.len() - 1
        });
        if group_of[var as usize] == usize::MAX {
            group_of[var as usize] = g;
            infos[g].variates += 1;
        }
        if !infos[g].params.contains(&param.name()) {
            infos[g].params.push(param.name());
        }
    };
    for p in plan.params().iter().filter(|p| p.has_variates()) {
        let param = p.param();
        let config_group = || {
            config
                .sensitivity_groups
                .iter()
                .find(|(_, ps)| ps.contains(&param))
                .map_or_else(|| param.name().to_string(), |(name, _)| name.clone())
        };
        let province_of = |e: usize| match param.entity() {
            Entity::City => net.cities()[e].province,
            Entity::Province => e,
            Entity::Link => net.links()[e].from,
        };
        let group = |e: usize| match by {
            GroupBy::Param => param.name().to_string(),
            GroupBy::Config => config_group(),
            GroupBy::Province if p.scope() == Scope::Global => NATIONAL_GROUP.to_string(),
            GroupBy::Province => net.provinces()[province_of(e)].id.clone(),
        };
        for (e, &v) in p.variate_of().iter().enumerate() {
            assign(group(e), v, param);
        }
        if let Some((_, _, province_variates)) = p.shared_score() {
            for (e, &v) in province_variates.iter().enumerate() {
                assign(group(e), v, param);
            }
        }
    }
    if names.is_empty() {
        return Err(GroupError::NothingRandom);
    }
    // Province groups in table order, `national` last.
    let mut order: Vec<usize> = (0..names.len()).collect();
    if by == GroupBy::Province {
        let rank = |n: &str| {
            net.provinces()
                .iter()
                .position(|p| p.id == n)
                .unwrap_or(usize::MAX)
        };
        order.sort_by_key(|&g| rank(&names[g]));
    }
    let members: Vec<(String, Vec<u32>)> = order
        .iter()
        .map(|&g| {
            let vars = (0..group_of.len() as u32)
                .filter(|&v| group_of[v as usize] == g)
                .collect();
            (names[g].clone(), vars)
        })
        .collect();
    let infos: Vec<GroupInfo> = order.iter().map(|&g| infos[g].clone()).collect();
    Ok((VariateGroups::new(members, plan.n_variates()), infos))
}

/// The label of every output of `config`'s model, by layout index.
pub fn output_labels(config: &Config) -> Vec<OutputLabel> {
    let net = config.model.network();
    let layout = config.model.layout();
    let blank = OutputLabel {
        entity: "",
        city_id: None,
        city: None,
        city_en: None,
        province: None,
        metric: "",
        unit: "",
    };
    let mut labels = vec![blank; layout.len()];
    for (c, city) in net.cities().iter().enumerate() {
        for m in CityMetric::ALL {
            labels[layout.city(m, c)] = OutputLabel {
                entity: "city",
                city_id: Some(city.id.clone()),
                city: Some(city.name.clone()),
                city_en: config.city_en[c].clone(),
                province: Some(net.provinces()[city.province].id.clone()),
                metric: m.name(),
                unit: m.unit(),
            };
        }
    }
    for (p, province) in net.provinces().iter().enumerate() {
        for m in ProvinceMetric::ALL {
            labels[layout.province(m, p)] = OutputLabel {
                entity: "province",
                province: Some(province.id.clone()),
                metric: m.name(),
                unit: m.unit(),
                ..labels[layout.province(m, p)].clone()
            };
        }
    }
    for (k, h) in layout.headlines().iter().enumerate() {
        labels[layout.headline(k)] = OutputLabel {
            entity: "headline",
            metric: h.name(),
            unit: h.unit(),
            ..labels[layout.headline(k)].clone()
        };
    }
    labels
}

/// A Sobol analysis of a config.
pub struct SensitivityJob<'a> {
    /// The validated config (overrides applied; its seed and sampler are used).
    pub config: &'a Config,
    /// How variates are grouped.
    pub groups_by: GroupBy,
    /// Base draws N.
    pub base_draws: u64,
    /// First-order estimator.
    pub estimator: FirstOrderEstimator,
    /// Worker threads (the results do not depend on them).
    pub threads: usize,
}

/// Why a Sobol analysis did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SensitivityJobError {
    /// The groups cannot be formed or used.
    #[error(transparent)]
    Groups(#[from] GroupError),
    /// The design or a draw failed.
    #[error(transparent)]
    Design(#[from] SensitivityError),
}

impl SensitivityJob<'_> {
    /// Runs the design; `on_round` sees the base draws done after every round.
    pub fn run(&self, on_round: &dyn Fn(u64)) -> Result<SensitivityResults, SensitivityJobError> {
        let started = Instant::now();
        let (groups, infos) = variate_groups(self.config, self.groups_by)?;
        let mut convergence = Vec::new();
        let mut done = 0;
        let sums = self.design(&groups, None, &mut |sums| {
            let n = sums.base_draws();
            on_round(n - done);
            done = n;
            if n.is_power_of_two() && n < self.base_draws {
                convergence.extend(index_rows(sums, groups.len()));
            }
        })?;
        let indices = index_rows(&sums, groups.len());
        convergence.extend(indices.iter().cloned());
        Ok(self.results(indices, convergence, infos, started.elapsed().as_secs_f64()))
    }

    /// The sums of the design's batches `only` (all with `None`); `after_round`
    /// sees the sums after every round.
    pub(super) fn design(
        &self,
        groups: &VariateGroups,
        only: Option<(usize, usize)>,
        after_round: &mut dyn FnMut(&IndexSums),
    ) -> Result<IndexSums, SensitivityJobError> {
        let config = self.config;
        Ok(ModelSensitivity {
            model: &config.model,
            plan: &config.plan,
            groups,
            seed: config.run.seed,
            sampler: config.run.sampler,
            base: self.plan(),
            estimator: self.estimator,
            threads: self.threads,
            batches: only,
        }
        .run(after_round)?)
    }

    /// The layout of the design.
    pub(super) fn plan(&self) -> BaseDrawPlan {
        BaseDrawPlan {
            base_draws: self.base_draws,
        }
    }

    /// The results of the analysis from its index rows.
    pub(super) fn results(
        &self,
        indices: Vec<IndexRow>,
        convergence: Vec<IndexRow>,
        infos: Vec<GroupInfo>,
        wall_seconds: f64,
    ) -> SensitivityResults {
        let evaluations = self.base_draws * (infos.len() as u64 + 2);
        let settings = SensitivitySettings {
            groups_by: self.groups_by.name(),
            estimator: self.estimator.name(),
            base_draws: self.base_draws,
            evaluations,
            batches: self.plan().batches(),
        };
        SensitivityResults {
            provenance: provenance(self.config, &settings),
            telemetry: Telemetry {
                threads: self.threads,
                wall_seconds,
                draws_per_second: evaluations as f64 / wall_seconds.max(1e-9),
            },
            settings,
            outputs: output_labels(self.config),
            groups: infos,
            indices,
            convergence,
        }
    }
}

/// The rows of every output that varies, with their intervals.
pub(super) fn index_rows(sums: &IndexSums, groups: usize) -> Vec<IndexRow> {
    let base_draws = sums.base_draws();
    let bounds = |e: evcarbon_engine::stats::IndexEstimate| Some((e.value, e.lo95?, e.hi95?));
    sums.indices()
        .into_iter()
        .enumerate()
        .filter_map(|(i, idx)| {
            let idx = idx?;
            Some(IndexRow {
                output: i / groups,
                group: i % groups,
                base_draws,
                s1: bounds(idx.first)?,
                st: bounds(idx.total)?,
            })
        })
        .collect()
}

fn provenance(config: &Config, settings: &SensitivitySettings) -> Provenance {
    let mut notes = data_table_notes(config);
    notes.push(format!(
        "Sobol indices: groups by {}; first order {}, total order jansen1999; {} base draws, \
         {} model evaluations; 95 % intervals by the delete-one-batch jackknife over {} batches",
        settings.groups_by,
        settings.estimator,
        settings.base_draws,
        settings.evaluations,
        settings.batches
    ));
    if config.plan.correlated_blocks() > 0 {
        notes.push(format!(
            "{} blocks of rank-correlated variates, each inside one group",
            config.plan.correlated_blocks()
        ));
    }
    Provenance {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        config_path: config.file.path.clone(),
        config_sha256: config.file.sha256.clone(),
        seed: config.run.seed,
        draws: settings.base_draws,
        sampler: config.run.sampler.name().to_string(),
        levels: config.run.levels.clone(),
        quantile_method: "not applicable (variance-based indices)".to_string(),
        quantile_relative_accuracy: 0.0,
        rng: config.run.sampler.rng_description().to_string(),
        chunk_size: BaseDrawPlan {
            base_draws: settings.base_draws,
        }
        .chunk_len(),
        notes,
    }
}

/// Checks `--sampler` for a Sobol analysis (Latin hypercubes give no independent
/// A and B rows).
pub fn check_sampler(sampler: SamplerKind) -> Result<(), SensitivityError> {
    if sampler == SamplerKind::Lhs {
        Err(SensitivityError::Lhs)
    } else {
        Ok(())
    }
}
