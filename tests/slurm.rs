//! A real Slurm: `tests/slurm/single_node.sh` installs and starts a single-node
//! Slurm (munged, slurmctld, slurmd), submits the job array and merge job of
//! `evcarbon slurm --tasks 4`, and compares the merged tables with a single-process
//! run. Where Slurm cannot be installed or started, it says so on stderr as
//! SKIPPED; with `EVCARBON_REQUIRE_SLURM` set, that is a failure.

mod common;

use common::*;

#[test]
fn a_job_array_on_a_real_slurm_gives_the_single_run() {
    let dir = example_copy();
    let out = std::process::Command::new("bash")
        .arg(root().join("tests/slurm/single_node.sh"))
        .arg(env!("CARGO_BIN_EXE_evcarbon"))
        .arg(dir.path())
        .output()
        .expect("bash runs");
    let (stdout, stderr) = text(&out);
    match out.status.code() {
        Some(0) => assert!(
            stdout.contains("gave the single-process run's tables"),
            "{stdout}"
        ),
        Some(77) => {
            let reason = stderr
                .lines()
                .find(|l| l.starts_with("SKIPPED"))
                .unwrap_or(&stderr);
            assert!(
                std::env::var_os("EVCARBON_REQUIRE_SLURM").is_none(),
                "{reason}, but EVCARBON_REQUIRE_SLURM is set"
            );
            say_skipped(reason.trim_start_matches("SKIPPED: "));
        }
        code => panic!("the Slurm test failed ({code:?}):\n{stdout}\n{stderr}"),
    }
}
