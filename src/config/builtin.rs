//! The default config and its tables, compiled into the binary so that
//! `evcarbon run` works from any folder.

/// Path of the default config, as shown to users.
pub const BUILTIN_CONFIG: &str = "configs/example.toml";

/// Every compiled-in file as (path, contents).
pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
    &[
        (
            "configs/example.toml",
            include_str!("../../configs/example.toml"),
        ),
        (
            "configs/example/provinces.csv",
            include_str!("../../configs/example/provinces.csv"),
        ),
        (
            "configs/example/cities.csv",
            include_str!("../../configs/example/cities.csv"),
        ),
        (
            "configs/example/links.csv",
            include_str!("../../configs/example/links.csv"),
        ),
    ]
}
