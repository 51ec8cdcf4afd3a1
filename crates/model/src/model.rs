//! The model: a network plus accounting choices, evaluated draw by draw.

use crate::accounting::IceBasis;
use crate::attribution::{self, Scratch};
use crate::error::ModelError;
use crate::layout::OutputLayout;
use crate::metrics::Headline;
use crate::network::Network;
use crate::values::ParamValues;

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
        let layout =
            OutputLayout::new(network.cities().len(), network.provinces().len(), headlines);
        Model {
            network,
            ice_basis,
            layout,
        }
    }

    /// The entities.
    #[inline]
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The accounting basis of the gasoline comparison.
    #[inline]
    pub fn ice_basis(&self) -> IceBasis {
        self.ice_basis
    }

    /// Where each metric sits in an output vector.
    #[inline]
    pub fn layout(&self) -> &OutputLayout {
        &self.layout
    }

    /// Scratch space for [`Model::evaluate`], allocated once per worker.
    pub fn scratch(&self) -> Scratch {
        Scratch::new(&self.network)
    }

    /// Evaluates every metric of one draw into `out` (length `layout().len()`).
    ///
    /// Always inlined, so that a caller compiled for a wider instruction set (the
    /// engine's AVX2 build) compiles the whole evaluation for it: the city passes
    /// are written to vectorize. The IEEE operations are the same in every build
    /// (Rust never fuses a multiply and an add on its own), so are the bits.
    #[inline(always)]
    pub fn evaluate(
        &self,
        values: &ParamValues,
        scratch: &mut Scratch,
        out: &mut [f64],
    ) -> Result<(), ModelError> {
        attribution::evaluate(
            &self.network,
            self.ice_basis,
            &self.layout,
            values,
            scratch,
            out,
        )
    }

    /// Evaluates a variant of the draw that the last [`Model::evaluate`] on
    /// `scratch` put into `base`, into `out`: bit for bit what `evaluate` would
    /// give, but the draw's flows (energy sent, pooled, drawn and leaving, and the
    /// metrics the tables mark as depending on flows only) are taken from
    /// `scratch` and `base` instead of being computed again.
    ///
    /// `values` must differ from that draw's values only in parameters for which
    /// [`crate::Param::is_intensity`] holds, and `scratch` must not have been used
    /// by another [`Model::evaluate`] since (variants do not count). Only those
    /// parameters are read from `values` (a test sets the others to NaN), so a
    /// caller need not copy the rest. Inlined like [`Model::evaluate`].
    #[inline(always)]
    pub fn evaluate_variant(
        &self,
        values: &ParamValues,
        scratch: &mut Scratch,
        base: &[f64],
        out: &mut [f64],
    ) -> Result<(), ModelError> {
        attribution::evaluate_variant(&self.network, &self.layout, values, scratch, base, out)
    }
}
