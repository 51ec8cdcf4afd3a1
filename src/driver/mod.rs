//! The run driver: samples a validated config until its stop rule holds, with
//! checkpoints, resume, interrupts and convergence records, and turns the
//! aggregate into the result tables that [`crate::output`] writes.
//!
//! A fixed number of draws and `--until` are two [`StopRule`]s of one loop
//! ([`Run::run`]); [`Run::execute`] adds the result tables.

mod accuracy;
mod checkpoint;
mod convergence;
mod given_data;
mod run;
mod sensitivity;
mod sensitivity_shard;
mod shard;
mod shard_id;
mod stop;
mod tables;

pub use checkpoint::{
    Checkpoint, CheckpointError, FORMAT as CHECKPOINT_FORMAT,
    FORMAT_VERSION as CHECKPOINT_FORMAT_VERSION, RunIdentity, load as load_checkpoint,
    read as read_checkpoint, write as write_checkpoint,
};
pub use convergence::{BoundConvergence, ConvergenceBlock, MetricConvergence};
pub use given_data::{GivenDataError, given_data};
pub use run::{CheckpointPolicy, Outcome, Run, RunError, sampler_run};
pub use sensitivity::{
    GroupBy, GroupError, MIN_BASE_DRAWS, NATIONAL_GROUP, SensitivityJob, SensitivityJobError,
    check_sampler, group_variates, output_labels, variate_groups,
};
pub use sensitivity_shard::{
    SENSITIVITY_SHARD_FORMAT, SensitivityIdentity, SensitivityShardState, is_sensitivity_shard,
    merge_sensitivity, sensitivity_shard_file, write_sensitivity_shard,
};
pub use shard::{MergeError, Merged, apply_identity, merge};
pub use shard_id::{SHARD_EXTENSION, Shard};
pub use stop::{DEFAULT_BLOCK_DRAWS, StopReason, StopRule, Until};
pub use tables::{EXACT_QUANTILE_METHOD, QUANTILE_METHOD, results, thresholds};
