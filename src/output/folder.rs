//! The output folder: preparing it, writing every file atomically, cleaning up.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::OutputError;
use super::format::OutputFile;
use super::names::{
    CHECKPOINT_FILE, CONVERGENCE_FILE, DRIVERS_FILE, MANIFEST_FILE, RUN_FILES, SCENARIO_FILE,
    SCENARIO_HEADLINE_FILE, SENSITIVITY_FILES, SENSITIVITY_MANIFEST_FILE,
};
use super::rows::RunResults;
use super::sensitivity_rows::SensitivityResults;
use super::{
    city_parquet, convergence_parquet, drivers_parquet, headline_parquet,
    headline_quantiles_parquet, manifest, province_parquet, scenario_parquet, sensitivity_manifest,
    sensitivity_parquet,
};

/// Prepares the output folder before sampling.
///
/// Fails with [`OutputError::Exists`] when `dir` already holds any of our
/// output files and `force` is false ([`OutputError::Unfinished`] when it holds
/// only a checkpoint). With `force`, our previous output files, any checkpoint
/// (and leftover temporary files of interrupted runs) are deleted, so a run
/// that fails later cannot leave old results next to new ones; other files are
/// never touched. Creates `dir` and its parents.
pub fn prepare_output_dir(dir: &Path, force: bool) -> Result<(), OutputError> {
    prepare_dir(dir, &RUN_FILES, force, |found| {
        if found == [CHECKPOINT_FILE] {
            OutputError::Unfinished {
                dir: dir.to_path_buf(),
            }
        } else {
            OutputError::Exists {
                dir: dir.to_path_buf(),
                found,
            }
        }
    })
}

/// Creates `dir`, or checks it for `files` (listed manifest last): when some are
/// there and `force` is false, fails with `refusal(found)`; otherwise deletes them,
/// manifest first (once it is gone the folder no longer claims a completed result),
/// and any leftover temporary files.
fn prepare_dir(
    dir: &Path,
    files: &[&str],
    force: bool,
    refusal: impl FnOnce(Vec<String>) -> OutputError,
) -> Result<(), OutputError> {
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(OutputError::NotAFolder {
                path: dir.to_path_buf(),
            });
        }
        Ok(_) => {
            let found: Vec<String> = files
                .iter()
                .filter(|name| fs::symlink_metadata(dir.join(name)).is_ok())
                .map(|name| name.to_string())
                .collect();
            if !found.is_empty() && !force {
                return Err(refusal(found));
            }
            for name in files.iter().rev() {
                remove_if_present(&dir.join(name))?;
            }
            remove_stale_partials(dir)?;
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(OutputError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    fs::create_dir_all(dir).map_err(|source| OutputError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Prepares the output folder of a resumed run: it must be a folder; leftover
/// temporary files are deleted, everything else (the checkpoint, results of an
/// earlier attempt that will be overwritten) is left alone.
pub fn prepare_resume_dir(dir: &Path) -> Result<(), OutputError> {
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(OutputError::NotAFolder {
            path: dir.to_path_buf(),
        }),
        Ok(_) => remove_stale_partials(dir),
        Err(source) => Err(OutputError::Io {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// Deletes the checkpoint in `dir`, if any (after a run completed).
pub fn remove_checkpoint(dir: &Path) -> Result<(), OutputError> {
    remove_if_present(&dir.join(CHECKPOINT_FILE))?;
    sync_dir(dir)
}

/// Writes all output files into `dir` (which must exist) and returns their paths.
///
/// All rows are checked first; a NaN or infinite value, or intervals that do
/// not match `provenance.levels`, give an error before any file is written.
/// A stale `manifest.json` is removed first and the new one is written last.
pub fn write_results(dir: &Path, results: &RunResults) -> Result<Vec<PathBuf>, OutputError> {
    let mut files: Vec<&dyn OutputFile> = vec![
        &city_parquet::CityParquet,
        &province_parquet::ProvinceParquet,
        &headline_parquet::HeadlineParquet,
        &headline_quantiles_parquet::HeadlineQuantilesParquet,
    ];
    if !results.scenario_deltas.is_empty() {
        files.push(&scenario_parquet::ScenarioParquet);
        files.push(&headline_parquet::ScenarioHeadlineParquet);
    } else {
        remove_if_present(&dir.join(SCENARIO_FILE))?;
        remove_if_present(&dir.join(SCENARIO_HEADLINE_FILE))?;
    }
    if !results.convergence.is_empty() {
        files.push(&convergence_parquet::ConvergenceParquet);
    } else {
        remove_if_present(&dir.join(CONVERGENCE_FILE))?;
    }
    if results.drivers.is_some() {
        files.push(&drivers_parquet::DriversParquet);
    } else {
        remove_if_present(&dir.join(DRIVERS_FILE))?;
    }
    files.push(&manifest::Manifest);
    // Render everything in memory first: validation happens before any disk write.
    let mut rendered = Vec::with_capacity(files.len());
    for file in files {
        let path = dir.join(file.file_name());
        let bytes = file.render(results, &path)?;
        rendered.push((file.file_name(), bytes));
    }
    remove_if_present(&dir.join(MANIFEST_FILE))?;
    let mut written = Vec::with_capacity(rendered.len());
    for (name, bytes) in rendered {
        written.push(write_atomically(dir, name, &bytes)?);
    }
    Ok(written)
}

/// Prepares the output folder of `evcarbon sensitivity`: like
/// [`prepare_output_dir`], but only the sensitivity files count (a run's files in
/// the same folder are left alone, so that the report shows both).
pub fn prepare_sensitivity_dir(dir: &Path, force: bool) -> Result<(), OutputError> {
    prepare_dir(dir, &SENSITIVITY_FILES, force, |found| {
        OutputError::Exists {
            dir: dir.to_path_buf(),
            found,
        }
    })
}

/// Writes the files of a Sobol analysis into `dir` (which must exist), its
/// manifest last, and returns their paths. Everything is rendered (and checked)
/// before any file is written.
pub fn write_sensitivity(
    dir: &Path,
    results: &SensitivityResults,
) -> Result<Vec<PathBuf>, OutputError> {
    let files: [&dyn OutputFile<SensitivityResults>; 3] = [
        &sensitivity_parquet::SensitivityParquet,
        &sensitivity_parquet::SensitivityConvergenceParquet,
        &sensitivity_manifest::SensitivityManifest,
    ];
    let mut rendered = Vec::with_capacity(files.len());
    for file in files {
        let path = dir.join(file.file_name());
        rendered.push((file.file_name(), file.render(results, &path)?));
    }
    remove_if_present(&dir.join(SENSITIVITY_MANIFEST_FILE))?;
    rendered
        .into_iter()
        .map(|(name, bytes)| write_atomically(dir, name, &bytes))
        .collect()
}

/// Hidden temporary name of `name` while it is being written.
fn partial_name(name: &str) -> String {
    format!(".{name}.partial-{}", std::process::id())
}

/// Writes what `fill` writes to `dir/.name.partial-<pid>` (buffered, so that a
/// large file is streamed rather than held in memory), fsyncs, renames to
/// `dir/name` and fsyncs the folder; `name` must be one of the run's files (so that
/// stale temporary files are recognized and cleaned up).
pub fn write_file_atomically_with(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<PathBuf, OutputError> {
    let target = dir.join(name);
    let temp = dir.join(partial_name(name));
    let result = (|| -> std::io::Result<()> {
        let mut writer = std::io::BufWriter::new(File::create(&temp)?);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, &target)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&temp);
        return Err(OutputError::Io {
            path: target,
            source,
        });
    }
    sync_dir(dir)?;
    Ok(target)
}

/// Writes `bytes` to `dir/.name.partial-<pid>`, fsyncs, renames to `dir/name`
/// and fsyncs the folder (see [`write_file_atomically_with`]).
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, OutputError> {
    write_file_atomically_with(dir, name, |w| w.write_all(bytes))
}

/// Makes the rename durable by syncing the folder (Unix only).
fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| OutputError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Deletes `path` if it exists.
fn remove_if_present(path: &Path) -> Result<(), OutputError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OutputError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Deletes `.<our file>.partial-*` left by interrupted runs.
fn remove_stale_partials(dir: &Path) -> Result<(), OutputError> {
    let io_err = |source| OutputError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = (RUN_FILES.iter().chain(&SENSITIVITY_FILES))
            .any(|f| name.starts_with(&format!(".{f}.partial-")));
        if ours {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}
