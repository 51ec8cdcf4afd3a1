//! evcarbon: Monte Carlo uncertainty intervals for the CO2 that Chinese cities' electric
//! cars shift to the provinces and cities that generate their electricity.
//!
//! The application, on top of two library crates:
//!
//! - [`model`] (`evcarbon-model`): the attribution physics of one draw, and the
//!   tables that declare every parameter and metric;
//! - [`engine`] (`evcarbon-engine`): random streams, distributions, the parallel
//!   sampler and the exact streaming statistics.
//!
//! This crate adds what a run needs around them: [`config`] parses and validates a
//! config and its data tables, [`driver`] runs the draws until a stop rule holds
//! (with checkpoints and convergence records) and assembles the result tables,
//! [`output`] writes Parquet and the manifest, and [`cli`] is the command line.
//! Dependencies point one way: `cli → driver → {config, output} → engine → model`.

pub mod cli;
pub mod config;
pub mod driver;
pub mod output;
pub mod report;

pub use evcarbon_engine as engine;
pub use evcarbon_model as model;
