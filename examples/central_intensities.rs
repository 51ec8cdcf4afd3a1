//! Prints, for the default dataset, each province's consumption-side intensity from the
//! model at central values (every parameter at its median) next to the published MEE
//! 2022 provincial factor, as a Markdown table.
//!
//! Run: `cargo run --release --example central_intensities [CONFIG]`

use evcarbon_engine::sampling::Evaluator;
use evcarbon_model::ProvinceMetric;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map_or(PathBuf::from("configs/china-285.toml"), PathBuf::from);
    let config = evcarbon::config::load(&path)?;
    let table = path
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("china-285/provinces.csv");
    let mut published = std::collections::HashMap::new();
    for row in
        csv::Reader::from_path(&table)?.deserialize::<std::collections::HashMap<String, String>>()
    {
        let row = row?;
        if let Ok(f) = row["mee_factor_2022_g_per_kwh"].parse::<f64>() {
            published.insert(row["province"].clone(), f);
        }
    }
    let mut eval = Evaluator::new(&config.model, &config.plan, &config.scenarios);
    let out = eval.central()?.to_vec();
    let layout = config.model.layout();
    println!(
        "| province | model, central values (gCO2/kWh) | pool intensity | MEE 2022 | difference |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (p, province) in config.model.network().provinces().iter().enumerate() {
        let model = out[layout.province(ProvinceMetric::ConsumptionIntensity, p)];
        let pool = out[layout.province(ProvinceMetric::PoolIntensity, p)];
        match published.get(&province.id) {
            Some(f) => println!(
                "| {} | {model:.1} | {pool:.1} | {f:.1} | {:+.1} ({:+.1} %) |",
                province.id,
                model - f,
                (model / f - 1.0) * 100.0
            ),
            None => println!("| {} | {model:.1} | {pool:.1} | n/a | |", province.id),
        }
    }
    Ok(())
}
