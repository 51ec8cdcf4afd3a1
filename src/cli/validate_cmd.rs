//! `evcarbon validate`: load, check, summarise; sample nothing.

use super::{CliError, load_config};
use crate::model::{Headline, Level};
use crate::sampling::Evaluator;
use std::path::PathBuf;

pub(super) fn run(path: Option<PathBuf>) -> Result<(), CliError> {
    let config = load_config(path.as_ref())?;
    let net = config.model.network();
    println!("{}: OK", config.file.path);
    println!(
        "  {} provinces, {} cities ({} in advanced tiers), {} links",
        net.count(Level::Province),
        net.count(Level::City),
        net.cities().iter().filter(|c| c.advanced).count(),
        net.count(Level::Link)
    );
    println!(
        "  {} parameters, {} random variates per draw",
        config.plan.params().len(),
        config.plan.n_variates()
    );
    let levels: Vec<String> = config
        .run
        .levels
        .iter()
        .map(|l| format!("{}%", l * 100.0))
        .collect();
    println!(
        "  run `{}`: {} draws, seed {}, sampler {}, levels {}",
        config.run.name,
        config.run.draws,
        config.run.seed,
        config.run.sampler.name(),
        levels.join(", ")
    );
    let mut eval = Evaluator::new(&config.model, &config.plan);
    match eval.central() {
        Ok(out) => {
            println!("  headlines at central values (every parameter at its median):");
            let layout = config.model.layout();
            for (k, h) in layout.headlines().iter().enumerate() {
                let reported = h
                    .reported()
                    .map_or(String::new(), |r| format!(" (reported: {r})"));
                println!(
                    "    {:<26} {:>14.6} {}{reported}",
                    h.name(),
                    out[layout.headline(k)],
                    h.unit()
                );
            }
            for h in Headline::ALL
                .iter()
                .filter(|h| !layout.headlines().contains(h))
            {
                println!(
                    "    {:<26} left out: no city is in an advanced tier",
                    h.name()
                );
            }
        }
        Err(e) => println!("  warning: the model is undefined at central values: {e}"),
    }
    Ok(())
}
