//! Helpers shared by the integration tests: run the binary, copy the example config.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `evcarbon` with `args` in `cwd`.
pub fn evcarbon(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_evcarbon"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the evcarbon binary runs")
}

/// Copies `configs/example.toml` and its tables into a fresh temporary folder.
pub fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("example")).unwrap();
    let src = root().join("configs");
    std::fs::copy(src.join("example.toml"), dir.path().join("example.toml")).unwrap();
    for t in ["provinces.csv", "cities.csv", "links.csv"] {
        std::fs::copy(
            src.join("example").join(t),
            dir.path().join("example").join(t),
        )
        .unwrap();
    }
    dir
}

/// Replaces `from` by `to` in a file of `dir` (the text must occur).
pub fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} does not contain {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// Writes a file into `dir`.
pub fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

/// stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
