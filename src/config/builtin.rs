//! The default config and its tables, compiled into the binary so that
//! `evcarbon run` works from any folder (and after `cargo install`).

/// Path of the default config, as shown to users.
pub const BUILTIN_CONFIG: &str = "configs/china-285.toml";

macro_rules! bundle {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../", $path)))),*]
    };
}

/// Every compiled-in file as (path, contents); the dataset's README (the
/// provenance of every column) travels with its tables for `evcarbon init`.
pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
    bundle![
        "configs/china-285.toml",
        "configs/china-285-accounting.toml",
        "configs/china-285/provinces.csv",
        "configs/china-285/cities.csv",
        "configs/china-285/links.csv",
        "configs/china-285/README.md",
        "configs/example.toml",
        "configs/example/provinces.csv",
        "configs/example/cities.csv",
        "configs/example/links.csv",
    ]
}
