//! The result tables of a finished run: one row per (city, metric), (province,
//! metric), headline and scenario delta, with the run's provenance.

use evcarbon_engine::sampling::{CHUNK_SIZE, DrawSeries};
use evcarbon_engine::stats::{Accumulator, DEFAULT_RELATIVE_ACCURACY, QuantileSketch, Summary};
use evcarbon_model::{City, CityMetric, Headline, ProvinceMetric};

use super::accuracy::AccuracyCheck;
use crate::config::Config;
use crate::output::{
    CityRow, ConvergenceRow, HeadlineQuantileRow, HeadlineRow, Provenance, ProvinceRow,
    QuantileAccuracy, RunInfo, RunResults, ScenarioDeltaRow, ScenarioHeadlineRow, Telemetry,
};

/// How the quantiles are defined and estimated, for the manifest.
pub const QUANTILE_METHOD: &str = "inverted empirical CDF (Hyndman-Fan type 1: the ceil(q*n)-th smallest draw), \
     estimated from a mergeable DDSketch-style log-bucket sketch whose relative accuracy each series gets from the \
     first 256 draws (see quantile_accuracy), clamped to the exact min and max; \
     bounds_mcse by the binomial order-statistic method";

/// How exact quantiles are defined and computed (`--exact`), for the manifest.
pub const EXACT_QUANTILE_METHOD: &str = "inverted empirical CDF (Hyndman-Fan type 1: the ceil(q*n)-th smallest draw), \
     exact: computed from every draw kept in memory (--exact); \
     bounds_mcse by the binomial order-statistic method on exact order statistics";

/// Builds the output tables of a finished run; `exact` (one summary per series,
/// from [`ExactDraws::summaries`](evcarbon_engine::stats::ExactDraws::summaries))
/// replaces the sketch summaries when given.
pub fn results(
    config: &Config,
    acc: &Accumulator,
    exact: Option<&[Summary]>,
    telemetry: Telemetry,
    run_info: RunInfo,
    convergence: Vec<ConvergenceRow>,
) -> RunResults {
    let net = config.model.network();
    let layout = config.model.layout();
    let levels = &config.run.levels;
    let summary = |i: usize| match exact {
        Some(s) => s[i].clone(),
        None => acc.summary(i, levels),
    };
    let mut cities = Vec::with_capacity(net.cities().len() * CityMetric::ALL.len());
    for (c, city) in net.cities().iter().enumerate() {
        for m in CityMetric::ALL {
            cities.push(CityRow {
                city_id: city.id.clone(),
                city: city.name.clone(),
                city_en: config.city_en[c].clone(),
                province: net.provinces()[city.province].id.clone(),
                tier: city.tier.clone(),
                metric: m.name(),
                unit: m.unit(),
                summary: summary(layout.city(m, c)),
            });
        }
    }
    let mut provinces = Vec::new();
    for (p, province) in net.provinces().iter().enumerate() {
        for m in ProvinceMetric::ALL {
            provinces.push(ProvinceRow {
                province: province.id.clone(),
                metric: m.name(),
                unit: m.unit(),
                summary: summary(layout.province(m, p)),
            });
        }
    }
    let thresholds = thresholds(config);
    // The share of draws at or above the reported figure, for the series counted.
    let p_ge = |series: usize| {
        let k = thresholds.iter().position(|&(s, _)| s == series)?;
        Some(acc.share_at_or_above(k))
    };
    let headline_row = |h: Headline, series: usize| HeadlineRow {
        metric: h.name(),
        unit: h.unit(),
        description: h.description(),
        reported: config.reported(h),
        summary: summary(series),
        p_ge_reported: p_ge(series),
    };
    let headlines = (layout.headlines().iter().enumerate())
        .map(|(k, &h)| headline_row(h, layout.headline(k)))
        .collect();
    let headline_quantiles = (layout.headlines().iter().enumerate())
        .flat_map(|(k, &h)| headline_quantiles(h, acc.sketch(layout.headline(k))))
        .collect();
    let series = DrawSeries::new(&config.model, config.scenarios.len());
    let mut scenario_headlines = Vec::new();
    for (s, scenario) in config.scenarios.iter().enumerate() {
        for (k, &h) in layout.headlines().iter().enumerate() {
            scenario_headlines.push(ScenarioHeadlineRow {
                scenario: scenario.name.clone(),
                row: headline_row(h, series.scenario_headline(s, k)),
            });
        }
    }
    let excluded_headlines: Vec<(String, String)> = Headline::ALL
        .into_iter()
        .filter(|h| !layout.headlines().contains(h))
        .map(|h| {
            let reason = format!(
                "no city has a tier listed in accounting.advanced_tiers ({:?})",
                config.advanced_tiers
            );
            (h.name().to_string(), reason)
        })
        .collect();
    let mut results = RunResults {
        provenance: provenance(config, acc, exact.is_some()),
        quantile_accuracy: QuantileAccuracy::default(),
        telemetry,
        cities,
        provinces,
        headlines,
        headline_quantiles,
        excluded_headlines,
        run_info,
        convergence,
        scenario_deltas: scenario_deltas(config, &summary),
        scenario_headlines,
        drivers: None,
    };
    let accuracy = quantile_accuracy(config, acc, &results, exact.is_some());
    if accuracy.not_met > 0 {
        results.provenance.notes.push(format!(
            "{} of {} reported quantiles may be further than 0.01 sd from the exact ones (see quantile_accuracy)",
            accuracy.not_met, accuracy.quantiles_checked
        ));
    }
    results.quantile_accuracy = accuracy;
    results
}

/// Checks every row's median and bounds, and each headline's quantile grid,
/// against the stated accuracy.
fn quantile_accuracy(
    config: &Config,
    acc: &Accumulator,
    results: &RunResults,
    exact: bool,
) -> QuantileAccuracy {
    let alphas: Vec<f64> = acc.resolutions().iter().map(|r| r.alpha).collect();
    let mut check = AccuracyCheck::new(config.run.levels.len(), &alphas);
    for r in &results.cities {
        check.row(&r.summary, || format!("city {} {}", r.city_id, r.metric));
    }
    for r in &results.provinces {
        check.row(&r.summary, || {
            format!("province {} {}", r.province, r.metric)
        });
    }
    for r in &results.headlines {
        check.row(&r.summary, || format!("headline {}", r.metric));
    }
    for r in &results.scenario_deltas {
        let entity = (r.city_id.as_deref())
            .or(r.province.as_deref())
            .unwrap_or("");
        let label = || {
            format!(
                "scenario {} delta {} {entity} {}",
                r.scenario, r.row_kind, r.metric
            )
        };
        check.row(&r.summary, label);
    }
    for r in &results.scenario_headlines {
        let label = || format!("scenario {} headline {}", r.scenario, r.row.metric);
        check.row(&r.row.summary, label);
    }
    let layout = config.model.layout();
    for (k, h) in layout.headlines().iter().enumerate() {
        let series = layout.headline(k);
        let label = || format!("headline {} quantile grid", h.name());
        let (counts, sd) = (acc.sketch(series).counts(), acc.moments(series).1);
        check.grid(&counts, QUANTILE_GRID_STEPS, sd, label);
    }
    check.finish(exact)
}

/// Steps of the probability grid of `headline_quantiles.parquet`.
pub const QUANTILE_GRID_STEPS: u32 = 100;

/// A headline's quantiles at 0, 1/100, …, 1 from its sketch: the exact smallest
/// and largest draws at the ends, the sketch's inverted-CDF quantile between.
fn headline_quantiles(h: Headline, sketch: &QuantileSketch) -> Vec<HeadlineQuantileRow> {
    let counts = sketch.counts();
    (0..=QUANTILE_GRID_STEPS)
        .map(|k| {
            let probability = f64::from(k) / f64::from(QUANTILE_GRID_STEPS);
            let value = match k {
                0 => sketch.min(),
                QUANTILE_GRID_STEPS => sketch.max(),
                _ => counts.quantile(probability),
            };
            HeadlineQuantileRow {
                metric: h.name(),
                unit: h.unit(),
                probability,
                value,
            }
        })
        .collect()
}

/// The `(series, threshold)` pairs counted for `p_ge_reported`: every headline
/// with a reported figure, the baseline's then each scenario's own.
pub fn thresholds(config: &Config) -> Vec<(usize, f64)> {
    let layout = config.model.layout();
    let series = DrawSeries::new(&config.model, config.scenarios.len());
    let reported = |k: usize| config.reported(layout.headlines()[k]);
    let baseline =
        (0..layout.headlines().len()).filter_map(|k| Some((layout.headline(k), reported(k)?)));
    let scenarios = (0..config.scenarios.len()).flat_map(|s| {
        (0..layout.headlines().len())
            .filter_map(move |k| Some((series.scenario_headline(s, k), reported(k)?)))
    });
    baseline.chain(scenarios).collect()
}

/// Rows of scenario − baseline: the scenario's block of series follows the baseline's.
fn scenario_deltas(config: &Config, summary: &dyn Fn(usize) -> Summary) -> Vec<ScenarioDeltaRow> {
    let net = config.model.network();
    let layout = config.model.layout();
    let mut rows = Vec::new();
    for (s, scenario) in config.scenarios.iter().enumerate() {
        let offset = DrawSeries::new(&config.model, config.scenarios.len()).delta(s);
        let row = |row_kind,
                   city: Option<(usize, &City)>,
                   province: Option<&str>,
                   metric,
                   unit,
                   series: usize| {
            ScenarioDeltaRow {
                scenario: scenario.name.clone(),
                row_kind,
                city_id: city.map(|(_, c)| c.id.clone()),
                city: city.map(|(_, c)| c.name.clone()),
                city_en: city.and_then(|(c, _)| config.city_en[c].clone()),
                province: province.map(str::to_string),
                tier: city.map(|(_, c)| c.tier.clone()),
                metric,
                unit,
                summary: summary(offset + series),
            }
        };
        for (c, city) in net.cities().iter().enumerate() {
            let province = net.provinces()[city.province].id.as_str();
            for m in CityMetric::ALL {
                rows.push(row(
                    "city",
                    Some((c, city)),
                    Some(province),
                    m.name(),
                    m.unit(),
                    layout.city(m, c),
                ));
            }
        }
        for (p, province) in net.provinces().iter().enumerate() {
            for m in ProvinceMetric::ALL {
                rows.push(row(
                    "province",
                    None,
                    Some(&province.id),
                    m.name(),
                    m.unit(),
                    layout.province(m, p),
                ));
            }
        }
        for (k, h) in layout.headlines().iter().enumerate() {
            rows.push(row(
                "headline",
                None,
                None,
                h.name(),
                h.unit(),
                layout.headline(k),
            ));
        }
    }
    rows
}

/// One note per data table: its path and SHA-256.
pub(super) fn data_table_notes(config: &Config) -> Vec<String> {
    config
        .tables
        .iter()
        .map(|t| format!("data table {} sha256 {}", t.path, t.sha256))
        .collect()
}

fn provenance(config: &Config, acc: &Accumulator, exact: bool) -> Provenance {
    let mut notes = data_table_notes(config);
    notes.push(format!(
        "{} independent uniform variates per draw; mcse assumes independent draws",
        config.plan.n_variates()
    ));
    for scenario in &config.scenarios {
        let own = scenario.plan.variates_end() - config.plan.n_variates();
        if own > 0 {
            notes.push(format!(
                "scenario `{}` reads {own} variates of its own, plain Monte Carlo from ChaCha8 \
                 stream chunk index | 2^61 (the baseline's draws do not depend on them)",
                scenario.name
            ));
        }
    }
    if acc.any_sketch_collapsed() && !exact {
        notes.push(
            "a quantile sketch hit its bucket cap: quantiles of values with tiny magnitudes (far below the largest) \
             are less accurate than stated"
                .to_string(),
        );
    }
    Provenance {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        config_path: config.file.path.clone(),
        config_sha256: config.file.sha256.clone(),
        seed: config.run.seed,
        draws: acc.draws(),
        sampler: config.run.sampler.name().to_string(),
        levels: config.run.levels.clone(),
        quantile_method: if exact {
            EXACT_QUANTILE_METHOD
        } else {
            QUANTILE_METHOD
        }
        .to_string(),
        quantile_relative_accuracy: if exact {
            0.0
        } else {
            DEFAULT_RELATIVE_ACCURACY
        },
        rng: config.run.sampler.rng_description().to_string(),
        chunk_size: CHUNK_SIZE,
        notes,
    }
}
