//! A loaded, validated configuration.

use evcarbon_engine::sampling::{SamplerKind, SamplingPlan, Scenario};
use evcarbon_model::{Headline, Model, Param};

/// Run settings from `[run]`, possibly overridden on the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    /// Output folder name under `results/`.
    pub name: String,
    /// Number of draws (≥ 1).
    pub draws: u64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Sampling design.
    pub sampler: SamplerKind,
    /// Central interval levels, each in (0, 1), distinct.
    pub levels: Vec<f64>,
}

/// A data table's identity for provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct InputFile {
    /// Path as shown to the user.
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// A loaded, validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Data that is valid but contradicts itself, with the figures (printed by
    /// `validate` and `run`; they do not stop a run).
    pub warnings: Vec<String>,
    /// The config file.
    pub file: InputFile,
    /// The data tables, in the order provinces, cities, links.
    pub tables: Vec<InputFile>,
    /// Run settings.
    pub run: RunSettings,
    /// Tiers counted as advanced.
    pub advanced_tiers: Vec<String>,
    /// The parameters the config gives a block (the others take their fallback).
    pub params_given: Vec<Param>,
    /// Each city's English name (`city_en` column of the cities table; `None`
    /// where the table has no such column or the cell is empty), in table order.
    pub city_en: Vec<Option<String>>,
    /// The figures a study reported for some headline metrics
    /// (`[headlines.reported]`), in config order.
    pub reported: Vec<(Headline, f64)>,
    /// Named groups of parameters for Sobol indices (`[sensitivity.groups]`), in
    /// config order; each parameter is in one group at most.
    pub sensitivity_groups: Vec<(String, Vec<Param>)>,
    /// The attribution model over the network.
    pub model: Model,
    /// Distributions, variate numbering and rank correlations (`[[correlations]]`).
    pub plan: SamplingPlan,
    /// Scenarios evaluated on the same draws as the baseline.
    pub scenarios: Vec<Scenario>,
}

impl Config {
    /// The figure reported for headline `h`, if the config names one.
    pub fn reported(&self, h: Headline) -> Option<f64> {
        self.reported.iter().find(|(x, _)| *x == h).map(|&(_, r)| r)
    }
}
