//! evcarbon: Monte Carlo uncertainty intervals for the CO2 that Chinese cities' electric
//! cars shift to the provinces and cities that generate their electricity.
//!
//! The crate follows the architecture of the specification: [`config`] parses and
//! validates a run, [`model`] is the attribution physics of one draw, [`sampling`]
//! turns uniform variates into parameter values and runs draws in parallel,
//! [`stats`] aggregates them, [`output`] writes Parquet and the manifest, and [`cli`]
//! is the command line.

pub mod cli;
pub mod config;
pub mod longrun;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod sampling;
pub mod stats;
