//! Random streams and designs, distributions, the sampling plan and the parallel
//! sampler: everything between a seed and one draw's metrics.
//!
//! The modules are private; what the rest of evcarbon uses is re-exported here.

mod beta;
mod chunk_set;
mod copula;
mod design;
mod dist;
mod elementary;
mod evaluator;
mod gamma;
mod given_pass;
mod lhs;
mod normal;
mod parallel;
mod pinv;
mod plan;
mod saltelli;
mod scope;
mod sobol;
mod stream;

pub use chunk_set::ChunkSet;
pub use copula::{CopulaError, Correlation};
pub use design::{ChunkVariates, Design, DesignError, SamplerKind};
pub use dist::{Dist, DistError, DistSpec, Support};
pub use evaluator::{
    DRAWS_PER_GROUP, DrawError, DrawErrorKind, DrawSeries, Evaluator, evaluate_model,
};
pub use given_pass::GivenDataPass;
pub use normal::std_normal_quantiles;
pub use parallel::{ChunkPlan, PreparedRun, SamplerError, SamplerRun, Segment};
pub use plan::{
    Change, ParamPlan, PlanEntry, RangeError, SamplingPlan, Scenario, ShareError, VariantError,
    check_support,
};
pub use saltelli::{
    BaseDrawPlan, ModelSensitivity, SENSITIVITY_BATCHES, SensitivityError, VariateGroups,
    run_design,
};
pub use scope::Scope;
pub use stream::CHUNK_SIZE;
