//! `evcarbon validate`: load, check, summarise; sample nothing.

use super::error::CliError;
use super::inputs::load_config;
use crate::config::Config;
use evcarbon_engine::sampling::Evaluator;
use evcarbon_model::{Entity, Fallback, Headline, Param};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

pub(super) fn run(path: Option<PathBuf>) -> Result<(), CliError> {
    let config = load_config(path.as_ref())?;
    let report = summary(&config);
    // A closed pipe (`evcarbon validate | head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(report.as_bytes());
    Ok(())
}

fn summary(config: &Config) -> String {
    let net = config.model.network();
    let mut s = String::new();
    let _ = writeln!(s, "{}: OK", config.file.path);
    let _ = writeln!(
        s,
        "  {} provinces, {} cities ({} in advanced tiers), {} links",
        net.count(Entity::Province),
        net.count(Entity::City),
        net.cities().iter().filter(|c| c.advanced).count(),
        net.count(Entity::Link)
    );
    let left_out: Vec<String> = (Param::ALL.into_iter())
        .filter(|p| !config.params_given.contains(p))
        .map(|p| {
            let why = match p.fallback() {
                _ if p.entity() == Entity::Link && net.links().is_empty() => "no links",
                Fallback::Zero => "0",
                Fallback::ProvinceIntensity => "the province's gen_intensity",
                Fallback::None => "not needed",
            };
            format!("{} ({why})", p.name())
        })
        .collect();
    let _ = writeln!(
        s,
        "  {} of {} parameters given{}; {} random variates per draw",
        config.params_given.len(),
        Param::ALL.len(),
        if left_out.is_empty() {
            String::new()
        } else {
            format!(", left out: {}", left_out.join(", "))
        },
        config.plan.n_variates()
    );
    let levels: Vec<String> = config
        .run
        .levels
        .iter()
        .map(|l| format!("{}%", l * 100.0))
        .collect();
    let _ = writeln!(
        s,
        "  run `{}`: {} draws, seed {}, sampler {}, levels {}",
        config.run.name,
        config.run.draws,
        config.run.seed,
        config.run.sampler.name(),
        levels.join(", ")
    );
    let blocks = config.plan.correlated_blocks();
    if blocks > 0 {
        let _ = writeln!(s, "  {blocks} block(s) of rank-correlated variates");
    }
    for scenario in &config.scenarios {
        let _ = writeln!(
            s,
            "  scenario `{}`: {}",
            scenario.name, scenario.description
        );
    }
    let mut eval = Evaluator::new(&config.model, &config.plan, &config.scenarios);
    match eval.central() {
        Ok(out) => {
            let _ = writeln!(
                s,
                "  headlines at central values (every parameter at its median):"
            );
            let layout = config.model.layout();
            for (k, h) in layout.headlines().iter().enumerate() {
                let reported = config
                    .reported(*h)
                    .map_or(String::new(), |r| format!(" (reported: {r})"));
                let _ = writeln!(
                    s,
                    "    {:<31} {:>14.6} {}{reported}",
                    h.name(),
                    out[layout.headline(k)],
                    h.unit()
                );
            }
            for h in Headline::ALL
                .iter()
                .filter(|h| !layout.headlines().contains(h))
            {
                let _ = writeln!(
                    s,
                    "    {:<31} left out: no city is in an advanced tier",
                    h.name()
                );
            }
        }
        Err(e) => {
            let _ = writeln!(
                s,
                "  warning: the model is undefined at central values: {e}"
            );
        }
    }
    s
}
