//! One draw of SPEC section 2: provincial pools, city supply, vehicles, and where the
//! EV emissions land.

use super::network::Network;
use super::{
    CityMetric as CM, Headline, IceBasis, Model, Param, ParamValues, ProvinceMetric as PM,
};

/// Why a draw has no valid attribution.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A city imports from a provincial pool that holds no energy.
    #[error(
        "province `{province}` has an empty pool (own generation through the pool O_p and imports M_p are both 0) \
         while city `{city}` imports from it; raise province_consumption_twh or the province's imports, \
         or lower the province's cities' local generation so that C_p > M_p + Σ L_c"
    )]
    EmptyPool { province: String, city: String },
    /// The gasoline car emits nothing, so the EV/ICE ratio is undefined.
    #[error(
        "city `{city}`: the gasoline car emits 0 gCO2/km, so ev_ice_ratio is undefined; \
         ice_l_per_100km and gasoline_kgco2_per_l must be > 0"
    )]
    NoGasolineEmissions { city: String },
    /// Advanced-tier headlines divide by zero.
    #[error(
        "the advanced-tier cities have no EV {what} in this draw, so the advanced_* headlines are undefined; \
         check ev_stock, vkt_km and the intensities of those cities"
    )]
    NoAdvancedEmissions { what: &'static str },
}

/// Working arrays for [`Model::evaluate`], sized once for a network.
#[derive(Clone, Debug)]
pub struct Scratch {
    sent_twh: Vec<f64>,
    imports_twh: Vec<f64>,
    own_pool_twh: Vec<f64>,
    /// Σ E_c·i_c/(1−δ_c) over the province's cities: GWh drawn from its pool.
    drawn_gwh: Vec<f64>,
    landed_t: Vec<f64>,
}

impl Scratch {
    pub(super) fn new(network: &Network) -> Scratch {
        let np = network.provinces().len();
        Scratch {
            sent_twh: vec![0.0; network.links().len()],
            imports_twh: vec![0.0; np],
            own_pool_twh: vec![0.0; np],
            drawn_gwh: vec![0.0; np],
            landed_t: vec![0.0; np],
        }
    }
}

pub(super) fn evaluate(
    model: &Model,
    v: &ParamValues,
    s: &mut Scratch,
    out: &mut [f64],
) -> Result<(), ModelError> {
    debug_assert_eq!(out.len(), model.layout().len());
    provincial_pools(model, v, s, out);
    cities(model, v, s, out)?;
    burden_landing(model, v, s, out);
    headlines(model, out)
}

/// M_p, O_p and P_p for every province, plus its consumption-side intensity.
fn provincial_pools(model: &Model, v: &ParamValues, s: &mut Scratch, out: &mut [f64]) {
    let net = model.network();
    let lay = model.layout();
    let gen_intensity = v.get(Param::GenIntensity);
    let consumption = v.get(Param::ProvinceConsumptionTwh);
    let delivered = v.get(Param::DeliveredTwh);
    let loss = v.get(Param::Loss);
    let city_demand = v.get(Param::CityConsumptionTwh);
    let city_generation = v.get(Param::CityGenerationTwh);

    for (sent, (f, lam)) in s.sent_twh.iter_mut().zip(delivered.iter().zip(loss)) {
        *sent = f / (1.0 - lam);
    }
    for p in 0..net.provinces().len() {
        let (mut imports, mut imported_emissions) = (0.0, 0.0);
        for &l in net.links_into(p) {
            imports += delivered[l];
            imported_emissions += s.sent_twh[l] * gen_intensity[net.links()[l].from];
        }
        let local_use: f64 = net
            .cities_in(p)
            .iter()
            .map(|&c| city_generation[c].min(city_demand[c]))
            .sum();
        let own_pool = (consumption[p] - imports - local_use).max(0.0);
        let pool_emissions = own_pool * gen_intensity[p] + imported_emissions;
        let pool_twh = own_pool + imports;
        // An empty pool serves nobody (an importing city makes it an error); its
        // intensity is reported as the province's own generation intensity.
        let pool_intensity = if pool_twh > 0.0 {
            pool_emissions / pool_twh
        } else {
            gen_intensity[p]
        };
        let used_twh = local_use + pool_twh;
        let consumption_intensity = if used_twh > 0.0 {
            (local_use * gen_intensity[p] + pool_emissions) / used_twh
        } else {
            gen_intensity[p]
        };
        s.imports_twh[p] = imports;
        s.own_pool_twh[p] = own_pool;
        out[lay.province(PM::PoolIntensity, p)] = pool_intensity;
        out[lay.province(PM::ConsumptionIntensity, p)] = consumption_intensity;
    }
}

/// City supply, vehicles and where each city's EV emissions happen.
fn cities(
    model: &Model,
    v: &ParamValues,
    s: &mut Scratch,
    out: &mut [f64],
) -> Result<(), ModelError> {
    let net = model.network();
    let lay = model.layout();
    let gen_intensity = v.get(Param::GenIntensity);
    let demand = v.get(Param::CityConsumptionTwh);
    let generation = v.get(Param::CityGenerationTwh);
    let dist_loss = v.get(Param::DistributionLoss);
    let stock = v.get(Param::EvStock);
    let vkt = v.get(Param::VktKm);
    let ev_kwh = v.get(Param::EvKwhPer100km);
    let charge_eff = v.get(Param::ChargingEfficiency);
    let ice_l = v.get(Param::IceLPer100km);
    let fuel_factor = v.get(Param::GasolineKgco2PerL);
    let wtt = v.get(Param::GasolineWttUplift);
    let ev_extra = v.get(Param::EvExtraGPerKm);
    let ice_extra = v.get(Param::IceExtraGPerKm);

    s.drawn_gwh.fill(0.0);
    for (c, city) in net.cities().iter().enumerate() {
        let p = city.province;
        let local_use = generation[c].min(demand[c]);
        let import_share = 1.0 - local_use / demand[c];
        let pool_twh = s.own_pool_twh[p] + s.imports_twh[p];
        if import_share > 0.0 && pool_twh <= 0.0 {
            return Err(ModelError::EmptyPool {
                province: net.provinces()[p].id.clone(),
                city: city.id.clone(),
            });
        }
        let own = gen_intensity[p];
        let pool = out[lay.province(PM::PoolIntensity, p)];
        let at_plug = 1.0 / (1.0 - dist_loss[c]);
        let supply_intensity = ((1.0 - import_share) * own + import_share * pool) * at_plug;

        let grid_kwh_per_km = ev_kwh[c] / 100.0 / charge_eff[c];
        let ev_g_per_km = grid_kwh_per_km * supply_intensity + ev_extra[c];
        let uplift = match model.ice_basis() {
            IceBasis::Wtw => wtt[c],
            IceBasis::Ttw => 0.0,
        };
        let ice_g_per_km =
            ice_l[c] / 100.0 * fuel_factor[c] * 1000.0 * (1.0 + uplift) + ice_extra[c];
        if ice_g_per_km <= 0.0 {
            return Err(ModelError::NoGasolineEmissions {
                city: city.id.clone(),
            });
        }
        let ratio = ev_g_per_km / ice_g_per_km;
        let energy_gwh = stock[c] * vkt[c] * grid_kwh_per_km / 1e6;
        // X and T are computed directly (Z = T + X) so that a city that imports
        // nothing exports exactly zero burden, not a rounding residue.
        let territorial_t = energy_gwh * (1.0 - import_share) * own * at_plug;
        let exported_t = energy_gwh * import_share * pool * at_plug;
        s.drawn_gwh[p] += energy_gwh * import_share * at_plug;

        out[lay.city(CM::ImportShare, c)] = import_share;
        out[lay.city(CM::SupplyIntensity, c)] = supply_intensity;
        out[lay.city(CM::EvGPerKm, c)] = ev_g_per_km;
        out[lay.city(CM::IceGPerKm, c)] = ice_g_per_km;
        out[lay.city(CM::EvIceRatio, c)] = ratio;
        out[lay.city(CM::EvEnergyGwh, c)] = energy_gwh;
        out[lay.city(CM::EvEmissionsT, c)] = territorial_t + exported_t;
        out[lay.city(CM::EvTerritorialT, c)] = territorial_t;
        out[lay.city(CM::BurdenExportedT, c)] = exported_t;
        out[lay.city(CM::EvWorseThanIce, c)] = if ratio > 1.0 { 1.0 } else { 0.0 };
    }
    Ok(())
}

/// Λ_r per province, then B_s for exporter cities and N_c for every city.
fn burden_landing(model: &Model, v: &ParamValues, s: &mut Scratch, out: &mut [f64]) {
    let net = model.network();
    let lay = model.layout();
    let gen_intensity = v.get(Param::GenIntensity);
    let demand = v.get(Param::CityConsumptionTwh);
    let generation = v.get(Param::CityGenerationTwh);

    s.landed_t.fill(0.0);
    for p in 0..net.provinces().len() {
        let pool_twh = s.own_pool_twh[p] + s.imports_twh[p];
        if s.drawn_gwh[p] <= 0.0 || pool_twh <= 0.0 {
            continue;
        }
        // Λ_r = Σ_c X_c·ψ_{p(c),r}. With X_c = drawn_c·P_p and
        // ψ_{p,r} = sent_r·I_r / ((O_p+M_p)·P_p), P_p cancels: each source receives
        // its share of the pool's energy times its own intensity. Computed this way,
        // a source whose intensity a scenario leaves alone receives exactly the same
        // burden, not the same up to a rounding residue.
        let per_twh = s.drawn_gwh[p] / pool_twh;
        s.landed_t[p] += per_twh * s.own_pool_twh[p] * gen_intensity[p];
        for &l in net.links_into(p) {
            let from = net.links()[l].from;
            s.landed_t[from] += per_twh * s.sent_twh[l] * gen_intensity[from];
        }
    }
    for r in 0..net.provinces().len() {
        let leaving_twh = s.own_pool_twh[r]
            + net
                .links_out_of(r)
                .iter()
                .map(|&l| s.sent_twh[l])
                .sum::<f64>();
        let surplus_twh: f64 = net
            .cities_in(r)
            .iter()
            .map(|&c| (generation[c] - demand[c]).max(0.0))
            .sum();
        let share_base = leaving_twh.max(surplus_twh);
        let landed = s.landed_t[r];
        for &c in net.cities_in(r) {
            let surplus = (generation[c] - demand[c]).max(0.0);
            let received = if share_base > 0.0 {
                landed * surplus / share_base
            } else {
                0.0
            };
            let net_transfer = out[lay.city(CM::BurdenExportedT, c)] - received;
            out[lay.city(CM::BurdenReceivedT, c)] = received;
            out[lay.city(CM::NetTransferT, c)] = net_transfer;
            out[lay.city(CM::NetImporter, c)] = if net_transfer > 0.0 { 1.0 } else { 0.0 };
        }
        let rest = if share_base > 0.0 {
            landed * (leaving_twh - surplus_twh).max(0.0) / share_base
        } else {
            landed
        };
        out[lay.province(PM::BurdenLandedT, r)] = landed;
        out[lay.province(PM::BurdenRestOfProvinceT, r)] = rest;
    }
}

/// National headline metrics from the city metrics already in `out`.
fn headlines(model: &Model, out: &mut [f64]) -> Result<(), ModelError> {
    let net = model.network();
    let lay = model.layout();
    let n = net.cities().len();
    let (mut adv_energy, mut adv_imported, mut adv_territorial, mut adv_emissions) =
        (0.0, 0.0, 0.0, 0.0);
    let (mut max_ratio, mut importers, mut worse, mut shifted) =
        (f64::NEG_INFINITY, 0usize, 0usize, 0.0);
    for (c, city) in net.cities().iter().enumerate() {
        let energy = out[lay.city(CM::EvEnergyGwh, c)];
        if city.advanced {
            adv_energy += energy;
            adv_imported += energy * out[lay.city(CM::ImportShare, c)];
            adv_territorial += out[lay.city(CM::EvTerritorialT, c)];
            adv_emissions += out[lay.city(CM::EvEmissionsT, c)];
        }
        max_ratio = max_ratio.max(out[lay.city(CM::EvIceRatio, c)]);
        importers += (out[lay.city(CM::NetImporter, c)] > 0.0) as usize;
        worse += (out[lay.city(CM::EvWorseThanIce, c)] > 0.0) as usize;
        shifted += out[lay.city(CM::BurdenExportedT, c)];
    }
    for (k, h) in lay.headlines().iter().enumerate() {
        out[lay.headline(k)] = match h {
            Headline::AdvancedImportShare => {
                if adv_energy <= 0.0 {
                    return Err(ModelError::NoAdvancedEmissions {
                        what: "charging energy",
                    });
                }
                adv_imported / adv_energy
            }
            Headline::MaxEvPenalty => max_ratio - 1.0,
            Headline::ImporterCityShare => importers as f64 / n as f64,
            Headline::EvWorseCityShare => worse as f64 / n as f64,
            Headline::ShiftedEmissionsT => shifted,
            Headline::AdvancedTerritorialGap => {
                if adv_emissions <= 0.0 {
                    return Err(ModelError::NoAdvancedEmissions {
                        what: "charging emissions",
                    });
                }
                1.0 - adv_territorial / adv_emissions
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests;
