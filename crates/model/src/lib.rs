//! The attribution physics of evcarbon: for one set of parameter values (one Monte
//! Carlo draw), how much CO2 the electric cars of each city emit, and where.
//!
//! Electricity generated and used inside a city never leaves it; a province's pool
//! (its own generation plus what its links deliver, each at the intensity of the
//! generation behind it) serves its cities' deficits; a city's EVs emit at the
//! plug's intensity, and the part of it emitted outside the city (the *burden*)
//! lands on the generation that fed the pool, down to the exporter cities whose
//! surplus feeds it. The README's Model section gives every equation.
//!
//! The crate is pure computation: no randomness, no statistics, no I/O, no
//! dependencies. Its pieces:
//!
//! - [`Param`]: the inputs, declared once with their entity, unit and physical range;
//! - [`Network`]: provinces, cities and directed links;
//! - [`ParamValues`]: one draw's values, one slice per parameter;
//! - [`CityMetric`], [`ProvinceMetric`], [`Headline`]: the outputs, declared once
//!   with unit, description, sign convention and what they depend on;
//! - [`Model`]: evaluates a draw into a flat vector laid out by [`OutputLayout`].
//!
//! Units: energies in TWh (provinces, links, cities) and GWh (EV fleets),
//! intensities in gCO2/kWh, emissions in tonnes CO2 per year (GWh × g/kWh = t).

mod accounting;
mod attribution;
mod error;
mod layout;
mod metrics;
mod model;
mod network;
mod params;
mod values;

pub use accounting::IceBasis;
pub use attribution::Scratch;
pub use error::ModelError;
pub use layout::OutputLayout;
pub use metrics::{
    CityMetric, CityRuns, Headline, HeadlineInfo, MetricInfo, Over, ProvinceMetric, ProvinceRuns,
};
pub use model::Model;
pub use network::{City, Entity, Link, Network, OwnIntensities, Province};
pub use params::{Fallback, Param, ParamInfo, Part, PhysicalRange};
pub use values::ParamValues;
