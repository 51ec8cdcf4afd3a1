//! `evcarbon slurm`: job scripts for a Slurm cluster. A job array runs the shards
//! (`run --shard K/M`, one per task) and a merge job, which waits for the whole
//! array to succeed (`afterok`), merges them into the results folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::args::SlurmArgs;
use super::error::CliError;
use super::inputs::{apply_settings, load_config, shell_quote as sh};
use super::shard_cmd::SHARDS_DIR;
use crate::driver::SHARD_EXTENSION;
use crate::output::OutputError;

/// Folder of the scripts inside the results folder.
const SLURM_DIR: &str = "slurm";

fn absolute(path: &Path) -> Result<PathBuf, CliError> {
    std::path::absolute(path).map_err(|source| {
        OutputError::Io {
            path: path.to_path_buf(),
            source,
        }
        .into()
    })
}

pub(super) fn run(args: SlurmArgs) -> Result<(), CliError> {
    if args.tasks == 0 {
        return Err(CliError::Usage("--tasks must be at least 1".into()));
    }
    if args.cpus == 0 {
        return Err(CliError::Usage("--cpus must be at least 1".into()));
    }
    // Validate the config now rather than on the cluster; settle the overrides.
    let mut config = load_config(args.config.as_ref())?;
    apply_settings(&mut config, &args.settings)?;
    let out = absolute(
        &args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("results").join(&config.run.name)),
    )?;
    let scripts = out.join(SLURM_DIR);
    let shards = out.join(SHARDS_DIR);
    let exe = std::env::current_exe().map_err(|source| OutputError::Io {
        path: PathBuf::from("evcarbon"),
        source,
    })?;
    // The jobs start in this folder and name the config as it was given here, so
    // that the outputs record the same config path as a run started here.
    let cwd = std::env::current_dir().map_err(|source| OutputError::Io {
        path: PathBuf::from("."),
        source,
    })?;
    let config_arg = match &args.config {
        Some(p) => format!(" {}", sh(&p.display().to_string())),
        None => String::new(),
    };
    let merge_config = match &args.config {
        Some(p) => format!(" --config {}", sh(&p.display().to_string())),
        None => String::new(),
    };
    let name = &config.run.name;
    let m = args.tasks;
    let mut header = format!(
        "#!/bin/bash\n#SBATCH --time={}\n#SBATCH --mem={}\n#SBATCH --chdir={}\n",
        sh(&args.time),
        sh(&args.mem),
        sh(&cwd.display().to_string())
    );
    if let Some(p) = &args.partition {
        let _ = writeln!(header, "#SBATCH --partition={}", sh(p));
    }
    let exe = sh(&exe.display().to_string());
    let mut array = header.clone();
    let _ = write!(
        array,
        "#SBATCH --job-name=evcarbon-{name}\n#SBATCH --array=1-{m}\n#SBATCH --cpus-per-task={cpus}\n#SBATCH --output={log}\n\
         # Shard K of {m}: contiguous chunks of the run of {draws} draws, seed {seed}, {sampler}.\n\
         set -euo pipefail\n\
         cd {cwd}\n\
         exec {exe} run{config_arg} --draws {draws} --seed {seed} --sampler {sampler} \\\n    --shard \"${{SLURM_ARRAY_TASK_ID}}/{m}\" --threads {cpus} --out {shards} --force --quiet\n",
        cpus = args.cpus,
        log = sh(&scripts.join("shard-%a.log").display().to_string()),
        draws = config.run.draws,
        seed = config.run.seed,
        sampler = config.run.sampler.name(),
        shards = sh(&shards.display().to_string()),
        cwd = sh(&cwd.display().to_string()),
    );
    let mut merge = header;
    let _ = write!(
        merge,
        "#SBATCH --job-name=evcarbon-{name}-merge\n#SBATCH --cpus-per-task=1\n#SBATCH --output={log}\n\
         # Runs after every task of the array succeeded (afterok, see submit.sh).\n\
         set -euo pipefail\n\
         cd {cwd}\n\
         exec {exe} merge{merge_config} {shards}/shard-*-of-{m:04}.{SHARD_EXTENSION} --out {out} --force\n",
        log = sh(&scripts.join("merge.log").display().to_string()),
        shards = sh(&shards.display().to_string()),
        out = sh(&out.display().to_string()),
        cwd = sh(&cwd.display().to_string()),
    );
    let submit = "#!/bin/bash\n# Submits the shards as a job array and the merge as a job that waits for them.\n\
         set -euo pipefail\n\
         cd \"$(dirname \"$0\")\"\n\
         array=$(sbatch --parsable shards.sbatch)\n\
         merge=$(sbatch --parsable --dependency=afterok:\"${array%%;*}\" merge.sbatch)\n\
         echo \"submitted shards as job ${array} and the merge as job ${merge}\"\n"
        .to_string();
    std::fs::create_dir_all(&scripts).map_err(|source| OutputError::Io {
        path: scripts.clone(),
        source,
    })?;
    let files = [
        ("shards.sbatch", array),
        ("merge.sbatch", merge),
        ("submit.sh", submit),
    ];
    if !args.force {
        let existing: Vec<String> = (files.iter())
            .filter(|(f, _)| scripts.join(f).exists())
            .map(|(f, _)| f.to_string())
            .collect();
        if !existing.is_empty() {
            return Err(CliError::Usage(format!(
                "{} already holds {}; pass --force to overwrite them",
                scripts.display(),
                existing.join(", ")
            )));
        }
    }
    for (file, text) in &files {
        let path = scripts.join(file);
        std::fs::write(&path, text).map_err(|source| OutputError::Io {
            path: path.clone(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
        }
    }
    eprintln!(
        "wrote {0}/shards.sbatch ({m} tasks), {0}/merge.sbatch and {0}/submit.sh; submit with\n  bash {1}\nthe merged results go to {2}",
        scripts.display(),
        sh(&scripts.join("submit.sh").display().to_string()),
        out.display()
    );
    Ok(())
}
