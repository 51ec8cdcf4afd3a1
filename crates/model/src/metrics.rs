//! The model's outputs, declared once: one table per kind (city, province,
//! headline) giving each metric's name, unit, what it depends on, a description
//! and how to read it (its sign convention). Names and units are part of the output
//! contract.
//!
//! The city and province tables also declare the *named runs* through which the
//! attribution writes its outputs ([`CityRuns`], [`ProvinceRuns`]): one slice per
//! metric, cut from the flat output vector in table order, so that code writes
//! `runs.import_share[c]` and never a position.
//!
//! Adding a metric is one row here, one formula in `attribution.rs` and one
//! hand-worked value in its tests; a row without a formula fails the test
//! `every_declared_metric_is_written`.

use crate::params::Part;

/// What a metric is: one row of a metric table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricInfo {
    /// Name in the output files.
    pub name: &'static str,
    /// Unit of its values.
    pub unit: &'static str,
    /// [`Part::Flows`] when the value depends on no intensity, so that a scenario
    /// that changes only intensities copies it from the baseline.
    pub depends: Part,
    /// What it is, in a sentence.
    pub description: &'static str,
    /// How to read its value: its sign convention and range.
    pub reading: &'static str,
}

/// The methods every metric enum shares, over its `TABLE`.
macro_rules! metric_methods {
    ($enum:ident) => {
        impl $enum {
            /// This metric's row of the table.
            #[inline]
            pub fn info(self) -> &'static MetricInfo {
                &$enum::TABLE[self as usize].0
            }

            /// Name in the output files.
            #[inline]
            pub fn name(self) -> &'static str {
                self.info().name
            }

            /// Unit of the metric's values.
            #[inline]
            pub fn unit(self) -> &'static str {
                self.info().unit
            }

            /// What the metric's value depends on.
            #[inline]
            pub fn depends(self) -> Part {
                self.info().depends
            }

            /// Looks a metric up by its name.
            pub fn from_name(name: &str) -> Option<$enum> {
                $enum::ALL.into_iter().find(|m| m.name() == name)
            }
        }
    };
}

/// Declares a per-entity metric enum, its table and its named runs from one list.
macro_rules! entity_metrics {
    (
        $(#[doc = $enum_doc:literal])+
        enum $enum:ident, runs $runs:ident;
        $(
            $(#[doc = $doc:literal])+
            $variant:ident $field:ident {
                unit: $unit:literal,
                depends: $depends:ident,
                description: $description:literal,
                reading: $reading:literal $(,)?
            }
        )+
    ) => {
        $(#[doc = $enum_doc])+
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $enum {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl $enum {
            /// Every metric, in table order (also the output order).
            pub const ALL: [$enum; [$(stringify!($variant)),+].len()] = [$($enum::$variant),+];

            const TABLE: [(MetricInfo, ()); $enum::ALL.len()] = [$((MetricInfo {
                name: stringify!($field),
                unit: $unit,
                depends: Part::$depends,
                description: $description,
                reading: $reading,
            }, ())),+];
        }

        metric_methods!($enum);

        #[doc = concat!("The output runs of every [`", stringify!($enum), "`], by name: one slice per metric with one value per entity.")]
        #[derive(Debug)]
        pub struct $runs<'o> {
            $(
                $(#[doc = $doc])+
                pub $field: &'o mut [f64],
            )+
        }

        impl<'o> $runs<'o> {
            /// Cuts the first `ALL.len() × n` values of `out` into one run of `n`
            /// values per metric, in table order (the [`crate::OutputLayout`] order).
            #[inline(always)]
            pub fn cut(out: &'o mut [f64], n: usize) -> $runs<'o> {
                let rest = out;
                $(let ($field, rest) = rest.split_at_mut(n);)+
                let _ = rest;
                $runs { $($field),+ }
            }
        }
    };
}

entity_metrics! {
    /// A per-city metric.
    enum CityMetric, runs CityRuns;

    /// i_c: share of the city's consumption served by the provincial pool.
    ImportShare import_share {
        unit: "fraction",
        depends: Flows,
        description: "share of the city's electricity use that comes from its province's pool rather than \
                      from generation inside the city: 1 - min(G, D) / D",
        reading: "0: the city generates all it uses (every exporter city); 1: it generates nothing",
    }
    /// The part of i_c that its province's pool imports from other provinces.
    ImportShareProvince import_share_province {
        unit: "fraction",
        depends: Flows,
        description: "share of the city's electricity use that comes from outside its province: \
                      import_share x the share of the province's pool delivered by links, M / (O + M)",
        reading: "0 to import_share: the province's own generation makes up the difference",
    }
    /// S_c: gCO2 per kWh at the plug.
    SupplyIntensity supply_intensity {
        unit: "gCO2/kWh",
        depends: Intensities,
        description: "CO2 per kWh at the plug: local generation at the city's own generation intensity (its \
                      province's residual intensity where it has none) and pool energy at the pool's, divided by \
                      (1 - distribution loss)",
        reading: ">= 0; compare with the province's consumption_intensity",
    }
    /// gCO2 per km of the EV (charging plus vehicle-cycle extra).
    EvGPerKm ev_g_per_km {
        unit: "gCO2/km",
        depends: Intensities,
        description: "CO2 per km of the city's EV: grid kWh per km times supply_intensity, plus the EV's \
                      vehicle-cycle extra",
        reading: ">= 0",
    }
    /// gCO2 per km of the gasoline car it replaces.
    IceGPerKm ice_g_per_km {
        unit: "gCO2/km",
        depends: Flows,
        description: "CO2 per km of the gasoline car the EV replaces: L/100 km / 100 x kgCO2/L x 1000, \
                      times (1 + well-to-tank uplift) on the wtw basis, plus its vehicle-cycle extra",
        reading: "> 0 (a draw where it is 0 stops the run)",
    }
    /// ev_g_per_km / ice_g_per_km.
    EvIceRatio ev_ice_ratio {
        unit: "ratio",
        depends: Intensities,
        description: "ev_g_per_km / ice_g_per_km",
        reading: "> 1: the EV emits more per km than the gasoline car (1.52 is a 52 % penalty)",
    }
    /// E_c: GWh drawn from the grid by the city's EV fleet per year.
    EvEnergyGwh ev_energy_gwh {
        unit: "GWh",
        depends: Flows,
        description: "electricity the city's EV fleet draws from the grid per year: stock x km per vehicle \
                      x kWh per km / charging efficiency",
        reading: ">= 0; the weight of the city in the advanced_* headlines",
    }
    /// Z_c: tonnes per year from charging, consumption-based.
    EvEmissionsT ev_emissions_t {
        unit: "tCO2/yr",
        depends: Intensities,
        description: "CO2 per year from charging the city's EVs, consumption-based: \
                      ev_territorial_t + burden_exported_t",
        reading: ">= 0",
    }
    /// T_c: the part of Z_c emitted inside the city.
    EvTerritorialT ev_territorial_t {
        unit: "tCO2/yr",
        depends: Intensities,
        description: "the part of ev_emissions_t emitted by generation inside the city",
        reading: ">= 0",
    }
    /// X_c = Z_c − T_c: emitted elsewhere.
    BurdenExportedT burden_exported_t {
        unit: "tCO2/yr",
        depends: Intensities,
        description: "the part of ev_emissions_t emitted outside the city, by the generation behind its \
                      province's pool",
        reading: ">= 0; exactly 0 for a city that imports nothing",
    }
    /// B_c: other cities' exported burden landing on this city's surplus generation.
    BurdenReceivedT burden_received_t {
        unit: "tCO2/yr",
        depends: Intensities,
        description: "other cities' exported burden that lands on this city's surplus generation",
        reading: ">= 0; above 0 only for a city that generates more than it uses",
    }
    /// N_c = X_c − B_c.
    NetTransferT net_transfer_t {
        unit: "tCO2/yr",
        depends: Intensities,
        description: "burden_exported_t - burden_received_t",
        reading: "> 0: the city's EVs emit more elsewhere than other cities' EVs emit in it \
                  (a net carbon importer); < 0: a net receiver",
    }
    /// 1 when the EV emits more per km than the gasoline car, else 0.
    EvWorseThanIce ev_worse_than_ice {
        unit: "probability",
        depends: Intensities,
        description: "1 when ev_ice_ratio > 1, else 0",
        reading: "its mean is the probability that the EV emits more per km than the gasoline car",
    }
    /// 1 when N_c > 0, else 0.
    NetImporter net_importer {
        unit: "probability",
        depends: Intensities,
        description: "1 when net_transfer_t > 0, else 0",
        reading: "its mean is the probability that the city is a net carbon importer",
    }
}

entity_metrics! {
    /// A per-province metric.
    enum ProvinceMetric, runs ProvinceRuns;

    /// P_p: gCO2 per kWh of pool energy (I_p when the pool is empty).
    PoolIntensity pool_intensity {
        unit: "gCO2/kWh",
        depends: Intensities,
        description: "CO2 per kWh of the province's pool: its own residual generation through the pool and its \
                      imports at each line's intensity (the sender's residual intensity where the line has none), \
                      grossed up for line losses; the province's residual intensity when the pool is empty",
        reading: ">= 0",
    }
    /// Consumption-side average intensity of all electricity used in the province
    /// (local use, own pool generation and imports), comparable to published grid factors.
    ConsumptionIntensity consumption_intensity {
        unit: "gCO2/kWh",
        depends: Intensities,
        description: "average CO2 per kWh of all electricity used in the province (local use in cities, own \
                      pool generation, imports); comparable with published provincial grid factors",
        reading: ">= 0",
    }
    /// Λ_p: exported EV burden landing on the province's generation.
    BurdenLandedT burden_landed_t {
        unit: "tCO2/yr",
        depends: Intensities,
        description: "exported EV burden, of cities anywhere, that lands on the province's generation",
        reading: ">= 0; summed over provinces it equals shifted_emissions_t",
    }
    /// The part of Λ_p landing on generation outside the exporter cities (R_p).
    BurdenRestOfProvinceT burden_rest_of_province_t {
        unit: "tCO2/yr",
        depends: Intensities,
        description: "the part of burden_landed_t that lands on the province's generation outside its \
                      exporter cities",
        reading: ">= 0; burden_landed_t = this + the burden_received_t of the province's cities",
    }
}

/// Which cities a headline is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// Every city.
    AllCities,
    /// The cities whose tier is listed in `accounting.advanced_tiers`; the
    /// headline is left out when there are none.
    AdvancedCities,
}

/// What a headline adds to its [`MetricInfo`]. (The figures a study reported are
/// configuration, not part of the model.)
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeadlineInfo {
    /// The cities it is taken over.
    pub over: Over,
}

/// Declares the headline enum and its table from one list.
macro_rules! headlines {
    (
        $(
            $(#[doc = $doc:literal])+
            $variant:ident $field:ident {
                unit: $unit:literal,
                depends: $depends:ident,
                over: $over:ident,
                description: $description:literal,
                reading: $reading:literal $(,)?
            }
        )+
    ) => {
        /// A national headline metric (one value per draw).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Headline {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Headline {
            /// Every headline, in table order (also the output order).
            pub const ALL: [Headline; [$(stringify!($variant)),+].len()] = [$(Headline::$variant),+];

            const TABLE: [(MetricInfo, HeadlineInfo); Headline::ALL.len()] = [$((
                MetricInfo {
                    name: stringify!($field),
                    unit: $unit,
                    depends: Part::$depends,
                    description: $description,
                    reading: $reading,
                },
                HeadlineInfo { over: Over::$over },
            )),+];
        }

        metric_methods!(Headline);
    };
}

headlines! {
    /// Σ_A E_c·i_c / Σ_A E_c over advanced cities A.
    AdvancedImportShare advanced_import_share {
        unit: "fraction",
        depends: Flows,
        over: AdvancedCities,
        description: "share of advanced-tier cities' EV charging electricity imported from outside the city",
        reading: "0 to 1: the share that does not come from inside the city",
    }
    /// Σ_A E_c·i_c·M_p/(O_p+M_p) / Σ_A E_c over advanced cities A.
    AdvancedImportShareProvince advanced_import_share_province {
        unit: "fraction",
        depends: Flows,
        over: AdvancedCities,
        description: "share of advanced-tier cities' EV charging electricity imported from outside the province",
        reading: "0 to advanced_import_share: what the cities' own provinces generate makes up the difference",
    }
    /// max_c (ev_ice_ratio − 1).
    MaxEvPenalty max_ev_penalty {
        unit: "fraction",
        depends: Intensities,
        over: AllCities,
        description: "largest excess of EV over gasoline-car gCO2/km among all cities (ratio - 1)",
        reading: "> 0: in some city the EV emits more per km than the gasoline car (0.52 is +52 %)",
    }
    /// Share of cities with N_c > 0.
    ImporterCityShare importer_city_share {
        unit: "fraction",
        depends: Intensities,
        over: AllCities,
        description: "share of cities that are net carbon importers (burden exported > burden received); \
                      under direct attribution, the cities that generate less electricity than they use \
                      (and charge EVs from a pool that emits CO2)",
        reading: "0 to 1: an energy balance count, as uncertain as the cities' generation",
    }
    /// Share of cities with ev_ice_ratio > 1.
    EvWorseCityShare ev_worse_city_share {
        unit: "fraction",
        depends: Intensities,
        over: AllCities,
        description: "share of cities where an EV emits more per km than a gasoline car",
        reading: "0 to 1",
    }
    /// Σ_c X_c.
    ShiftedEmissionsT shifted_emissions_t {
        unit: "tCO2/yr",
        depends: Intensities,
        over: AllCities,
        description: "EV charging emissions emitted outside the charging city, summed over cities",
        reading: ">= 0",
    }
    /// 1 − Σ_A T_c / Σ_A Z_c.
    AdvancedTerritorialGap advanced_territorial_gap {
        unit: "fraction",
        depends: Intensities,
        over: AdvancedCities,
        description: "share of advanced-tier cities' EV charging emissions that territorial accounting misses",
        reading: "0 to 1: 0 when those cities generate all their EVs' electricity",
    }
}

impl Headline {
    /// What the headline adds to its [`MetricInfo`].
    #[inline]
    pub fn headline_info(self) -> &'static HeadlineInfo {
        &Headline::TABLE[self as usize].1
    }

    /// One-line description for the output table.
    pub fn description(self) -> &'static str {
        self.info().description
    }

    /// Whether the headline needs at least one advanced-tier city.
    pub fn needs_advanced_cities(self) -> bool {
        self.headline_info().over == Over::AdvancedCities
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are unique across the three tables, so a metric column never
    /// needs its table to be told apart.
    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = Vec::new();
        for m in CityMetric::ALL {
            assert_eq!(CityMetric::from_name(m.name()), Some(m));
            names.push(m.name());
        }
        for m in ProvinceMetric::ALL {
            assert_eq!(ProvinceMetric::from_name(m.name()), Some(m));
            names.push(m.name());
        }
        for h in Headline::ALL {
            assert_eq!(Headline::from_name(h.name()), Some(h));
            names.push(h.name());
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate names in {names:?}");
    }

    /// The names and units are the output contract: a change here changes every
    /// output file.
    #[test]
    fn names_and_units_are_the_contract() {
        let city: Vec<(&str, &str)> = CityMetric::ALL
            .iter()
            .map(|m| (m.name(), m.unit()))
            .collect();
        assert_eq!(
            city,
            [
                ("import_share", "fraction"),
                ("import_share_province", "fraction"),
                ("supply_intensity", "gCO2/kWh"),
                ("ev_g_per_km", "gCO2/km"),
                ("ice_g_per_km", "gCO2/km"),
                ("ev_ice_ratio", "ratio"),
                ("ev_energy_gwh", "GWh"),
                ("ev_emissions_t", "tCO2/yr"),
                ("ev_territorial_t", "tCO2/yr"),
                ("burden_exported_t", "tCO2/yr"),
                ("burden_received_t", "tCO2/yr"),
                ("net_transfer_t", "tCO2/yr"),
                ("ev_worse_than_ice", "probability"),
                ("net_importer", "probability"),
            ]
        );
        let headlines: Vec<&str> = Headline::ALL.iter().map(|h| h.name()).collect();
        assert_eq!(
            headlines,
            [
                "advanced_import_share",
                "advanced_import_share_province",
                "max_ev_penalty",
                "importer_city_share",
                "ev_worse_city_share",
                "shifted_emissions_t",
                "advanced_territorial_gap",
            ]
        );
    }

    #[test]
    fn runs_are_cut_in_table_order() {
        let mut out: Vec<f64> = (0..CityMetric::ALL.len() * 3 + 2)
            .map(|i| i as f64)
            .collect();
        let runs = CityRuns::cut(&mut out, 3);
        let run_of = |m: CityMetric| {
            let start = (m as usize * 3) as f64;
            [start, start + 1.0, start + 2.0]
        };
        assert_eq!(runs.import_share, run_of(CityMetric::ImportShare));
        assert_eq!(runs.supply_intensity, run_of(CityMetric::SupplyIntensity));
        assert_eq!(runs.net_importer, run_of(CityMetric::NetImporter));
    }
}
