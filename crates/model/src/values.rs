//! The values of every parameter for one draw.

use crate::network::Network;
use crate::params::Param;

/// The values of every parameter for one draw, one slice per parameter with one value
/// per entity of the parameter's [`Param::entity`].
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
            offsets[p.index() + 1] = offsets[p.index()] + network.count(p.entity());
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

    /// Mutable values of `param`, one per entity.
    #[inline]
    pub fn get_mut(&mut self, param: Param) -> &mut [f64] {
        &mut self.values[self.offsets[param.index()]..self.offsets[param.index() + 1]]
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
}
