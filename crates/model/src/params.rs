//! The model's input parameters, declared once in one table: name, entity, unit,
//! physical range, which part of a draw they belong to, and whether a config must
//! give them.

use std::fmt;

use crate::network::Entity;

/// The set of physically meaningful values of a parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhysicalRange {
    /// Lower end (may be −∞).
    pub lo: f64,
    /// True when `lo` itself is excluded.
    pub lo_open: bool,
    /// Upper end (may be +∞).
    pub hi: f64,
    /// True when `hi` itself is excluded.
    pub hi_open: bool,
}

impl PhysicalRange {
    /// `[0, ∞)`.
    pub const NON_NEGATIVE: PhysicalRange = PhysicalRange {
        lo: 0.0,
        lo_open: false,
        hi: f64::INFINITY,
        hi_open: true,
    };
    /// `(0, ∞)`.
    pub const POSITIVE: PhysicalRange = PhysicalRange {
        lo: 0.0,
        lo_open: true,
        hi: f64::INFINITY,
        hi_open: true,
    };
    /// `[0, 1)`: a loss, which can never take everything.
    pub const FRACTION_BELOW_ONE: PhysicalRange = PhysicalRange {
        lo: 0.0,
        lo_open: false,
        hi: 1.0,
        hi_open: true,
    };
    /// `(0, 1]`: an efficiency, which cannot be zero.
    pub const EFFICIENCY: PhysicalRange = PhysicalRange {
        lo: 0.0,
        lo_open: true,
        hi: 1.0,
        hi_open: false,
    };

    /// Whether `x` is a finite value inside the range.
    #[inline]
    pub fn contains(&self, x: f64) -> bool {
        let above = if self.lo_open {
            x > self.lo
        } else {
            x >= self.lo
        };
        let below = if self.hi_open {
            x < self.hi
        } else {
            x <= self.hi
        };
        x.is_finite() && above && below
    }
}

impl fmt::Display for PhysicalRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = if self.lo_open { '(' } else { '[' };
        let close = if self.hi_open { ')' } else { ']' };
        if self.hi.is_infinite() {
            write!(f, "{open}{}, ∞)", self.lo)
        } else {
            write!(f, "{open}{}, {}{close}", self.lo, self.hi)
        }
    }
}

/// The two parts of a draw. *Intensities* are the parameters that say how much
/// CO2 a kWh or a km carries (the provinces' generation intensity, the EV's
/// vehicle-cycle extra); *flows* are everything else: energies, losses, fleets and
/// the gasoline car. No energy flow depends on an intensity, so a scenario that
/// changes only intensities can reuse the baseline's flows (see
/// [`crate::Model::evaluate_variant`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Energies, losses, fleets, distances and the gasoline car.
    Flows,
    /// Emission intensities.
    Intensities,
}

/// What an entity without a value of its own takes, for a parameter a config may
/// leave out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// The parameter is required: every entity has a value.
    None,
    /// 0 (the vehicle-cycle extras).
    Zero,
    /// The `gen_intensity` of the province behind the entity: a link's sending
    /// province, a city's own province. Entity by entity: a config gives its own
    /// value to some entities only.
    ProvinceIntensity,
}

/// What the model knows about one parameter (one row of the parameter table).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamInfo {
    /// The name used in configs (`[params.NAME]`).
    pub name: &'static str,
    /// The entities it has one value for.
    pub entity: Entity,
    /// Unit of its values.
    pub unit: &'static str,
    /// The values that make physical sense.
    pub range: PhysicalRange,
    /// Which part of a draw it belongs to.
    pub part: Part,
    /// Whether a config must give it (an optional one takes [`Param::fallback`]).
    pub required: bool,
    /// What it is, in a sentence: its doc comment (see [`Param::meaning`]).
    meaning: &'static str,
}

/// Declares [`Param`] and its table from one list, so that the enum, its order and
/// each parameter's properties cannot drift apart.
macro_rules! params {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident {
            name: $name:literal,
            entity: $entity:ident,
            unit: $unit:literal,
            range: $range:ident,
            part: $part:ident,
            required: $required:literal $(,)?
        }
    )+) => {
        /// One model input. Values are stored per entity of [`Param::entity`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Param {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Param {
            /// Every parameter, in table order (also the storage order).
            pub const ALL: [Param; [$(stringify!($variant)),+].len()] = [$(Param::$variant),+];

            const TABLE: [ParamInfo; Param::ALL.len()] = [$(ParamInfo {
                name: $name,
                entity: Entity::$entity,
                unit: $unit,
                range: PhysicalRange::$range,
                part: Part::$part,
                required: $required,
                meaning: concat!($($doc),+),
            }),+];
        }
    };
}

params! {
    /// gCO2 per kWh generated by the province's own plants.
    GenIntensity {
        name: "gen_intensity", entity: Province, unit: "gCO2/kWh",
        range: NON_NEGATIVE, part: Intensities, required: true,
    }
    /// TWh consumed in the province.
    ProvinceConsumptionTwh {
        name: "province_consumption_twh", entity: Province, unit: "TWh",
        range: NON_NEGATIVE, part: Flows, required: true,
    }
    /// TWh delivered at the receiving end of a link.
    DeliveredTwh {
        name: "delivered_twh", entity: Link, unit: "TWh",
        range: NON_NEGATIVE, part: Flows, required: true,
    }
    /// Transmission loss fraction of a link: sent = delivered / (1 − loss).
    Loss {
        name: "loss", entity: Link, unit: "fraction",
        range: FRACTION_BELOW_ONE, part: Flows, required: true,
    }
    /// gCO2 per kWh generated by the plants behind a link (a dedicated hydro, wind
    /// or coal base line), where they are known; a link without its own value
    /// carries its sending province's `gen_intensity`.
    LinkIntensity {
        name: "link_intensity", entity: Link, unit: "gCO2/kWh",
        range: NON_NEGATIVE, part: Intensities, required: false,
    }
    /// TWh consumed in the city.
    CityConsumptionTwh {
        name: "city_consumption_twh", entity: City, unit: "TWh",
        range: POSITIVE, part: Flows, required: true,
    }
    /// TWh generated inside the city.
    CityGenerationTwh {
        name: "city_generation_twh", entity: City, unit: "TWh",
        range: NON_NEGATIVE, part: Flows, required: true,
    }
    /// gCO2 per kWh generated inside the city, where its plants are known; a city
    /// without its own value generates at its province's `gen_intensity`.
    CityGenIntensity {
        name: "city_gen_intensity", entity: City, unit: "gCO2/kWh",
        range: NON_NEGATIVE, part: Intensities, required: false,
    }
    /// Fraction lost between the provincial grid and end users.
    DistributionLoss {
        name: "distribution_loss", entity: City, unit: "fraction",
        range: FRACTION_BELOW_ONE, part: Flows, required: true,
    }
    /// Battery-electric cars registered in the city.
    EvStock {
        name: "ev_stock", entity: City, unit: "vehicles",
        range: NON_NEGATIVE, part: Flows, required: true,
    }
    /// km per vehicle per year.
    VktKm {
        name: "vkt_km", entity: City, unit: "km/vehicle/yr",
        range: NON_NEGATIVE, part: Flows, required: true,
    }
    /// kWh into the battery per 100 km.
    EvKwhPer100km {
        name: "ev_kwh_per_100km", entity: City, unit: "kWh/100km",
        range: NON_NEGATIVE, part: Flows, required: true,
    }
    /// Battery energy / energy drawn from the grid.
    ChargingEfficiency {
        name: "charging_efficiency", entity: City, unit: "fraction",
        range: EFFICIENCY, part: Flows, required: true,
    }
    /// L of gasoline per 100 km of the car the EV replaces.
    IceLPer100km {
        name: "ice_l_per_100km", entity: City, unit: "L/100km",
        range: NON_NEGATIVE, part: Flows, required: true,
    }
    /// kgCO2 per L burnt (tank to wheel).
    GasolineKgco2PerL {
        name: "gasoline_kgco2_per_l", entity: City, unit: "kgCO2/L",
        range: NON_NEGATIVE, part: Flows, required: true,
    }
    /// Well-to-tank emissions as a share of combustion.
    GasolineWttUplift {
        name: "gasoline_wtt_uplift", entity: City, unit: "fraction",
        range: NON_NEGATIVE, part: Flows, required: true,
    }
    /// gCO2/km vehicle-cycle extra for the EV (battery manufacture, say).
    EvExtraGPerKm {
        name: "ev_extra_g_per_km", entity: City, unit: "gCO2/km",
        range: NON_NEGATIVE, part: Intensities, required: false,
    }
    /// gCO2/km vehicle-cycle extra for the gasoline car. A flow, not an
    /// intensity: it only enters the gasoline car's gCO2/km, which no scenario on
    /// the baseline's flows recomputes.
    IceExtraGPerKm {
        name: "ice_extra_g_per_km", entity: City, unit: "gCO2/km",
        range: NON_NEGATIVE, part: Flows, required: false,
    }
}

impl Param {
    /// This parameter's row of the table.
    #[inline]
    pub fn info(self) -> &'static ParamInfo {
        &Param::TABLE[self as usize]
    }

    /// Position in [`Param::ALL`].
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in configs (`[params.NAME]`).
    #[inline]
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// What the parameter is, in a sentence.
    pub fn meaning(self) -> &'static str {
        self.info().meaning.trim()
    }

    /// Looks a parameter up by its config name.
    pub fn from_name(name: &str) -> Option<Param> {
        Param::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The entities the parameter has one value for.
    #[inline]
    pub fn entity(self) -> Entity {
        self.info().entity
    }

    /// Whether the parameter is an emission intensity ([`Part::Intensities`]):
    /// a variant that changes only these can be evaluated with
    /// [`crate::Model::evaluate_variant`].
    #[inline]
    pub fn is_intensity(self) -> bool {
        self.info().part == Part::Intensities
    }

    /// Unit of the parameter's values.
    #[inline]
    pub fn unit(self) -> &'static str {
        self.info().unit
    }

    /// The values that make physical sense.
    #[inline]
    pub fn range(self) -> PhysicalRange {
        self.info().range
    }

    /// Whether the config may leave the parameter out (it then takes
    /// [`Param::fallback`]).
    #[inline]
    pub fn is_optional(self) -> bool {
        !self.info().required
    }

    /// What an entity without a value of its own takes.
    pub fn fallback(self) -> Fallback {
        match (self.info().required, self.info().part) {
            (true, _) => Fallback::None,
            (false, Part::Intensities) if self != Param::EvExtraGPerKm => {
                Fallback::ProvinceIntensity
            }
            (false, _) => Fallback::Zero,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_matches_index() {
        for (i, p) in Param::ALL.into_iter().enumerate() {
            assert_eq!(p.index(), i);
            assert_eq!(Param::from_name(p.name()), Some(p));
            assert!(
                p.meaning().ends_with('.'),
                "{}: {:?}",
                p.name(),
                p.meaning()
            );
        }
    }

    #[test]
    fn ranges_follow_the_physics() {
        assert!(!Param::Loss.range().contains(1.0));
        assert!(Param::Loss.range().contains(0.0));
        assert!(!Param::ChargingEfficiency.range().contains(0.0));
        assert!(Param::ChargingEfficiency.range().contains(1.0));
        assert!(!Param::CityConsumptionTwh.range().contains(0.0));
        assert!(Param::CityGenerationTwh.range().contains(0.0));
        assert!(!Param::EvStock.range().contains(f64::INFINITY));
        assert!(!Param::EvStock.range().contains(f64::NAN));
    }

    #[test]
    fn optional_parameters_and_intensities() {
        let optional: Vec<&str> = Param::ALL
            .into_iter()
            .filter(|p| p.is_optional())
            .map(Param::name)
            .collect();
        assert_eq!(
            optional,
            [
                "link_intensity",
                "city_gen_intensity",
                "ev_extra_g_per_km",
                "ice_extra_g_per_km"
            ]
        );
        let intensities: Vec<&str> = Param::ALL
            .into_iter()
            .filter(|p| p.is_intensity())
            .map(Param::name)
            .collect();
        assert_eq!(
            intensities,
            [
                "gen_intensity",
                "link_intensity",
                "city_gen_intensity",
                "ev_extra_g_per_km"
            ]
        );
        let by_province: Vec<&str> = Param::ALL
            .into_iter()
            .filter(|p| p.fallback() == Fallback::ProvinceIntensity)
            .map(Param::name)
            .collect();
        assert_eq!(by_province, ["link_intensity", "city_gen_intensity"]);
    }
}
