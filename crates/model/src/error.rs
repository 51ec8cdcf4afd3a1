//! Why a draw has no valid attribution.

use std::fmt;

/// Why a draw has no valid attribution.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelError {
    /// A city imports from a provincial pool that holds no energy.
    EmptyPool {
        /// The province whose pool is empty.
        province: String,
        /// The first city (in table order) that imports from it.
        city: String,
    },
    /// The gasoline car emits nothing, so the EV/ICE ratio is undefined.
    NoGasolineEmissions {
        /// The first such city, in table order.
        city: String,
    },
    /// Advanced-tier headlines divide by zero.
    NoAdvancedEmissions {
        /// What the advanced cities have none of.
        what: &'static str,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::EmptyPool { province, city } => write!(
                f,
                "province `{province}` has an empty pool (own generation through the pool O_p and imports M_p are both 0) \
                 while city `{city}` imports from it; raise province_consumption_twh or the province's imports, \
                 or lower the province's cities' local generation so that C_p > M_p + Σ L_c"
            ),
            ModelError::NoGasolineEmissions { city } => write!(
                f,
                "city `{city}`: the gasoline car emits 0 gCO2/km, so ev_ice_ratio is undefined; \
                 ice_l_per_100km and gasoline_kgco2_per_l must be > 0"
            ),
            ModelError::NoAdvancedEmissions { what } => write!(
                f,
                "the advanced-tier cities have no EV {what} in this draw, so the advanced_* headlines are undefined; \
                 check ev_stock, vkt_km and the intensities of those cities"
            ),
        }
    }
}

impl std::error::Error for ModelError {}
