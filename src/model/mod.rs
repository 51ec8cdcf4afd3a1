//! The attribution model of SPEC section 2: pure functions over the parameter values
//! of one draw.
//!
//! Units: energies in TWh (provinces, links, cities) and GWh (EV fleets), intensities
//! in gCO2/kWh, emissions in tonnes CO2 per year (GWh × g/kWh = t).

mod attribution;
mod metrics;
mod network;
mod params;

pub use attribution::{ModelError, Scratch};
pub use metrics::{CityMetric, Headline, ProvinceMetric};
pub use network::{City, Link, Network, Province};
pub use params::{Level, Param, PhysicalRange};

/// Which gasoline emissions the EV is compared against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IceBasis {
    /// Tank to wheel: combustion only.
    Ttw,
    /// Well to wheel: combustion plus the well-to-tank uplift.
    Wtw,
}

impl IceBasis {
    /// Name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            IceBasis::Ttw => "ttw",
            IceBasis::Wtw => "wtw",
        }
    }
}

/// The values of every parameter for one draw, one slice per parameter with one value
/// per entity of the parameter's level.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamValues {
    values: Vec<f64>,
    offsets: [usize; Param::ALL.len() + 1],
}

impl ParamValues {
    /// Zero-filled storage sized for `network`.
    pub fn new(network: &Network) -> ParamValues {
        let mut offsets = [0; Param::ALL.len() + 1];
        for p in Param::ALL {
            offsets[p.index() + 1] = offsets[p.index()] + network.count(p.level());
        }
        ParamValues {
            values: vec![0.0; offsets[Param::ALL.len()]],
            offsets,
        }
    }

    /// The values of `param`, one per entity.
    #[inline]
    pub fn get(&self, param: Param) -> &[f64] {
        &self.values[self.offsets[param.index()]..self.offsets[param.index() + 1]]
    }

    /// Overwrites these values with `other`'s (same network), without allocating.
    #[inline]
    pub fn copy_from(&mut self, other: &ParamValues) {
        self.values.copy_from_slice(&other.values);
    }

    /// Overwrites the values of `param` with `other`'s (same network).
    #[inline]
    pub fn copy_param_from(&mut self, other: &ParamValues, param: Param) {
        self.get_mut(param).copy_from_slice(other.get(param));
    }

    /// Mutable values of `param`, one per entity.
    #[inline]
    pub fn get_mut(&mut self, param: Param) -> &mut [f64] {
        &mut self.values[self.offsets[param.index()]..self.offsets[param.index() + 1]]
    }
}

/// Where each metric of one draw sits in the flat output vector.
///
/// Layout: city metrics metric-major (`CityMetric::ALL` × cities), then province
/// metrics (`ProvinceMetric::ALL` × provinces), then the headlines that apply.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputLayout {
    n_cities: usize,
    n_provinces: usize,
    headlines: Vec<Headline>,
}

impl OutputLayout {
    /// Number of values per draw.
    pub fn len(&self) -> usize {
        CityMetric::ALL.len() * self.n_cities
            + ProvinceMetric::ALL.len() * self.n_provinces
            + self.headlines.len()
    }

    /// Always false: a model has at least one city.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index of city metric `m` for city `c`.
    #[inline]
    pub fn city(&self, m: CityMetric, c: usize) -> usize {
        m as usize * self.n_cities + c
    }

    /// Index of province metric `m` for province `p`.
    #[inline]
    pub fn province(&self, m: ProvinceMetric, p: usize) -> usize {
        CityMetric::ALL.len() * self.n_cities + m as usize * self.n_provinces + p
    }

    /// Index of the `k`-th reported headline (see [`OutputLayout::headlines`]).
    #[inline]
    pub fn headline(&self, k: usize) -> usize {
        CityMetric::ALL.len() * self.n_cities + ProvinceMetric::ALL.len() * self.n_provinces + k
    }

    /// The headlines computed for this network, in output order.
    pub fn headlines(&self) -> &[Headline] {
        &self.headlines
    }
}

/// The model: a network plus accounting choices, evaluated draw by draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    network: Network,
    ice_basis: IceBasis,
    layout: OutputLayout,
}

impl Model {
    /// Builds the model; headlines that need advanced-tier cities are left out when
    /// there are none.
    pub fn new(network: Network, ice_basis: IceBasis) -> Model {
        let has_advanced = network.has_advanced_cities();
        let headlines = Headline::ALL
            .into_iter()
            .filter(|h| has_advanced || !h.needs_advanced_cities())
            .collect();
        let layout = OutputLayout {
            n_cities: network.cities().len(),
            n_provinces: network.provinces().len(),
            headlines,
        };
        Model {
            network,
            ice_basis,
            layout,
        }
    }

    /// The entities.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The accounting basis of the gasoline comparison.
    pub fn ice_basis(&self) -> IceBasis {
        self.ice_basis
    }

    /// Where each metric sits in an output vector.
    pub fn layout(&self) -> &OutputLayout {
        &self.layout
    }

    /// Scratch space for [`Model::evaluate`], allocated once per worker.
    pub fn scratch(&self) -> Scratch {
        Scratch::new(&self.network)
    }

    /// Evaluates every metric of one draw into `out` (length `layout().len()`).
    pub fn evaluate(
        &self,
        values: &ParamValues,
        scratch: &mut Scratch,
        out: &mut [f64],
    ) -> Result<(), ModelError> {
        attribution::evaluate(self, values, scratch, out)
    }

    /// Evaluates a variant of the draw that the last [`Model::evaluate`] on
    /// `scratch` put into `base`, into `out`: bit for bit what `evaluate` would
    /// give, but the draw's flows (energy sent, pooled, drawn and leaving, and
    /// the cities' import shares, cars and charging energy: everything that does
    /// not depend on the generation intensities) are taken from `scratch` and
    /// `base` instead of being computed again.
    ///
    /// `values` must differ from that draw's values only in parameters for which
    /// [`Param::is_intensity`] holds, and `scratch` must not have been used by
    /// another [`Model::evaluate`] since (variants do not count). Only those
    /// parameters are read from `values` (a test sets the others to NaN), so a
    /// caller need not copy the rest.
    pub fn evaluate_variant(
        &self,
        values: &ParamValues,
        scratch: &mut Scratch,
        base: &[f64],
        out: &mut [f64],
    ) -> Result<(), ModelError> {
        attribution::evaluate_variant(self, values, scratch, base, out)
    }
}
