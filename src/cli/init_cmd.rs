//! `evcarbon init [DIR]`: write the built-in configs and their tables to a folder,
//! so that a user of an installed binary can read, copy and change them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::error::CliError;
use crate::config::builtin_files;
use crate::output::{OutputError, write_file_atomically_with};

pub(super) fn run(dir: &Path, force: bool) -> Result<(), CliError> {
    let targets: Vec<(PathBuf, &str)> = builtin_files()
        .iter()
        .map(|&(path, text)| {
            (
                dir.join(path.strip_prefix("configs/").unwrap_or(path)),
                text,
            )
        })
        .collect();
    let existing: Vec<String> = (targets.iter())
        .filter(|(t, _)| t.exists())
        .map(|(t, _)| t.display().to_string())
        .collect();
    if !existing.is_empty() && !force {
        return Err(CliError::Usage(format!(
            "{} already exist{}; pass --force to overwrite, or choose another folder",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        )));
    }
    for (target, text) in &targets {
        let folder = target.parent().unwrap_or(dir);
        std::fs::create_dir_all(folder).map_err(|source| OutputError::Io {
            path: folder.to_path_buf(),
            source,
        })?;
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        write_file_atomically_with(folder, name, |w| w.write_all(text.as_bytes()))?;
    }
    let config = dir.join("china-285.toml");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "wrote {} files to {}", targets.len(), dir.display());
    for (target, _) in &targets {
        let _ = writeln!(out, "  {}", target.display());
    }
    let _ = writeln!(
        out,
        "the source of every column: {}",
        dir.join("china-285/README.md").display()
    );
    let _ = writeln!(
        out,
        "next: evcarbon validate {0}   (then: evcarbon run {0})",
        config.display()
    );
    Ok(())
}
