//! The outputs of the model: per-city, per-province and headline metrics, with their
//! names and units (part of the output contract, SPEC section 2).

/// A per-city metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CityMetric {
    /// i_c: share of the city's consumption served by the provincial pool.
    ImportShare,
    /// S_c: gCO2 per kWh at the plug.
    SupplyIntensity,
    /// gCO2 per km of the EV (charging plus vehicle-cycle extra).
    EvGPerKm,
    /// gCO2 per km of the gasoline car it replaces.
    IceGPerKm,
    /// ev_g_per_km / ice_g_per_km.
    EvIceRatio,
    /// E_c: GWh drawn from the grid by the city's EV fleet per year.
    EvEnergyGwh,
    /// Z_c: tonnes per year from charging, consumption-based.
    EvEmissionsT,
    /// T_c: the part of Z_c emitted inside the city.
    EvTerritorialT,
    /// X_c = Z_c − T_c: emitted elsewhere.
    BurdenExportedT,
    /// B_c: other cities' exported burden landing on this city's surplus generation.
    BurdenReceivedT,
    /// N_c = X_c − B_c.
    NetTransferT,
    /// 1 when the EV emits more per km than the gasoline car, else 0.
    EvWorseThanIce,
    /// 1 when N_c > 0, else 0.
    NetImporter,
}

impl CityMetric {
    /// Every city metric, in output order.
    pub const ALL: [CityMetric; 13] = [
        CityMetric::ImportShare,
        CityMetric::SupplyIntensity,
        CityMetric::EvGPerKm,
        CityMetric::IceGPerKm,
        CityMetric::EvIceRatio,
        CityMetric::EvEnergyGwh,
        CityMetric::EvEmissionsT,
        CityMetric::EvTerritorialT,
        CityMetric::BurdenExportedT,
        CityMetric::BurdenReceivedT,
        CityMetric::NetTransferT,
        CityMetric::EvWorseThanIce,
        CityMetric::NetImporter,
    ];

    /// Metric name in the output files.
    pub fn name(self) -> &'static str {
        match self {
            CityMetric::ImportShare => "import_share",
            CityMetric::SupplyIntensity => "supply_intensity",
            CityMetric::EvGPerKm => "ev_g_per_km",
            CityMetric::IceGPerKm => "ice_g_per_km",
            CityMetric::EvIceRatio => "ev_ice_ratio",
            CityMetric::EvEnergyGwh => "ev_energy_gwh",
            CityMetric::EvEmissionsT => "ev_emissions_t",
            CityMetric::EvTerritorialT => "ev_territorial_t",
            CityMetric::BurdenExportedT => "burden_exported_t",
            CityMetric::BurdenReceivedT => "burden_received_t",
            CityMetric::NetTransferT => "net_transfer_t",
            CityMetric::EvWorseThanIce => "ev_worse_than_ice",
            CityMetric::NetImporter => "net_importer",
        }
    }

    /// Unit of the metric's values.
    pub fn unit(self) -> &'static str {
        match self {
            CityMetric::ImportShare => "fraction",
            CityMetric::SupplyIntensity => "gCO2/kWh",
            CityMetric::EvGPerKm | CityMetric::IceGPerKm => "gCO2/km",
            CityMetric::EvIceRatio => "ratio",
            CityMetric::EvEnergyGwh => "GWh",
            CityMetric::EvEmissionsT
            | CityMetric::EvTerritorialT
            | CityMetric::BurdenExportedT
            | CityMetric::BurdenReceivedT
            | CityMetric::NetTransferT => "tCO2/yr",
            CityMetric::EvWorseThanIce | CityMetric::NetImporter => "probability",
        }
    }
}

/// A per-province metric (an extension of SPEC section 5, described in the README).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvinceMetric {
    /// P_p: gCO2 per kWh of pool energy (I_p when the pool is empty).
    PoolIntensity,
    /// Consumption-side average intensity of all electricity used in the province
    /// (local use, own pool generation and imports), comparable to published grid factors.
    ConsumptionIntensity,
    /// Λ_p: exported EV burden landing on the province's generation.
    BurdenLandedT,
    /// The part of Λ_p landing on generation outside the exporter cities (R_p).
    BurdenRestOfProvinceT,
}

impl ProvinceMetric {
    /// Every province metric, in output order.
    pub const ALL: [ProvinceMetric; 4] = [
        ProvinceMetric::PoolIntensity,
        ProvinceMetric::ConsumptionIntensity,
        ProvinceMetric::BurdenLandedT,
        ProvinceMetric::BurdenRestOfProvinceT,
    ];

    /// Metric name in the output files.
    pub fn name(self) -> &'static str {
        match self {
            ProvinceMetric::PoolIntensity => "pool_intensity",
            ProvinceMetric::ConsumptionIntensity => "consumption_intensity",
            ProvinceMetric::BurdenLandedT => "burden_landed_t",
            ProvinceMetric::BurdenRestOfProvinceT => "burden_rest_of_province_t",
        }
    }

    /// Unit of the metric's values.
    pub fn unit(self) -> &'static str {
        match self {
            ProvinceMetric::PoolIntensity | ProvinceMetric::ConsumptionIntensity => "gCO2/kWh",
            ProvinceMetric::BurdenLandedT | ProvinceMetric::BurdenRestOfProvinceT => "tCO2/yr",
        }
    }
}

/// A national headline metric (one value per draw).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Headline {
    /// Σ_A E_c·i_c / Σ_A E_c over advanced cities A.
    AdvancedImportShare,
    /// max_c (ev_ice_ratio − 1).
    MaxEvPenalty,
    /// Share of cities with N_c > 0.
    ImporterCityShare,
    /// Share of cities with ev_ice_ratio > 1.
    EvWorseCityShare,
    /// Σ_c X_c.
    ShiftedEmissionsT,
    /// 1 − Σ_A T_c / Σ_A Z_c.
    AdvancedTerritorialGap,
}

impl Headline {
    /// Every headline, in output order.
    pub const ALL: [Headline; 6] = [
        Headline::AdvancedImportShare,
        Headline::MaxEvPenalty,
        Headline::ImporterCityShare,
        Headline::EvWorseCityShare,
        Headline::ShiftedEmissionsT,
        Headline::AdvancedTerritorialGap,
    ];

    /// Metric name in the output files.
    pub fn name(self) -> &'static str {
        match self {
            Headline::AdvancedImportShare => "advanced_import_share",
            Headline::MaxEvPenalty => "max_ev_penalty",
            Headline::ImporterCityShare => "importer_city_share",
            Headline::EvWorseCityShare => "ev_worse_city_share",
            Headline::ShiftedEmissionsT => "shifted_emissions_t",
            Headline::AdvancedTerritorialGap => "advanced_territorial_gap",
        }
    }

    /// Unit of the metric's values.
    pub fn unit(self) -> &'static str {
        match self {
            Headline::ShiftedEmissionsT => "tCO2/yr",
            _ => "fraction",
        }
    }

    /// One-line description for the output table.
    pub fn description(self) -> &'static str {
        match self {
            Headline::AdvancedImportShare => {
                "share of advanced-tier cities' EV charging electricity imported from outside the city"
            }
            Headline::MaxEvPenalty => {
                "largest excess of EV over gasoline-car gCO2/km among all cities (ratio - 1)"
            }
            Headline::ImporterCityShare => {
                "share of cities that are net carbon importers (burden exported > burden received)"
            }
            Headline::EvWorseCityShare => {
                "share of cities where an EV emits more per km than a gasoline car"
            }
            Headline::ShiftedEmissionsT => {
                "EV charging emissions emitted outside the charging city, summed over cities"
            }
            Headline::AdvancedTerritorialGap => {
                "share of advanced-tier cities' EV charging emissions that territorial accounting misses"
            }
        }
    }

    /// The figure the study reported, where it reported one.
    pub fn reported(self) -> Option<f64> {
        match self {
            Headline::AdvancedImportShare => Some(0.42),
            Headline::MaxEvPenalty => Some(0.52),
            Headline::ImporterCityShare => Some(0.5),
            _ => None,
        }
    }

    /// Whether the headline needs at least one advanced-tier city.
    pub fn needs_advanced_cities(self) -> bool {
        matches!(
            self,
            Headline::AdvancedImportShare | Headline::AdvancedTerritorialGap
        )
    }
}
