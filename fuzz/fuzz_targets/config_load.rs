//! Config and CSV loading on arbitrary input: the bytes are split at 0xFF into the
//! config's TOML and the texts of provinces.csv, cities.csv and links.csv (as the
//! example config names them). Loading must never panic; a config that loads must
//! evaluate at its medians without panicking, too.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xFF).map(String::from_utf8_lossy);
    let toml = parts.next().unwrap_or_default().into_owned();
    let tables: Vec<String> = parts.take(3).map(|t| t.into_owned()).collect();
    let read = |rel: &str| {
        let k = match rel {
            "example/provinces.csv" => 0,
            "example/cities.csv" => 1,
            "example/links.csv" => 2,
            other => return Err((other.to_string(), "not in the fuzz input".to_string())),
        };
        tables
            .get(k)
            .map(|t| (rel.to_string(), t.clone()))
            .ok_or_else(|| (rel.to_string(), "not in the fuzz input".to_string()))
    };
    if let Ok(config) = evcarbon::config::load_from("fuzz.toml".into(), &toml, &read) {
        let mut evaluator =
            evcarbon::engine::sampling::Evaluator::new(&config.model, &config.plan, &[]);
        let _ = evaluator.central();
    }
});
