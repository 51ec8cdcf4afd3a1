//! Fuzzes config and CSV loading: the input is split at `\x00` into the config
//! text and the provinces, cities and links tables it may name (`p.csv`, `c.csv`,
//! `l.csv`). Loading must return a config or diagnostics, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let config = parts.next().unwrap_or("").to_string();
    let tables: Vec<String> = parts.map(str::to_string).collect();
    let read = |rel: &str| {
        let i = match rel {
            "p.csv" => 0,
            "c.csv" => 1,
            "l.csv" => 2,
            _ => return Err((rel.to_string(), "not found".to_string())),
        };
        tables
            .get(i)
            .map(|t| (rel.to_string(), t.clone()))
            .ok_or_else(|| (rel.to_string(), "not found".to_string()))
    };
    let _ = evcarbon::config::load_from("fuzz.toml".to_string(), &config, &read);
});
