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
///
/// The first group holds a draw's *flows*: what does not depend on the
/// generation intensities `I_p` or the EV's vehicle-cycle extra. They stay valid
/// after a full evaluation, so that [`Model::evaluate_variant`] can reuse them.
#[derive(Clone, Debug)]
pub struct Scratch {
    sent_twh: Vec<f64>,
    imports_twh: Vec<f64>,
    own_pool_twh: Vec<f64>,
    /// Per province: Σ min(G_c, E_c) over its cities, TWh.
    local_use_twh: Vec<f64>,
    /// Σ E_c·i_c/(1−δ_c) over the province's cities: GWh drawn from its pool.
    drawn_gwh: Vec<f64>,
    /// Per province: O_r plus the TWh sent on its outgoing links, the surplus
    /// Σ max(G_c − E_c, 0) of its cities, and the larger of the two, which the
    /// burden landing in it is shared over.
    leaving_twh: Vec<f64>,
    surplus_twh: Vec<f64>,
    share_base_twh: Vec<f64>,
    /// Per city: its province.
    province_of: Vec<usize>,
    /// Per city: 1 when its province's pool holds no energy in this draw, else 0
    /// (a float, so that the city pass keeps one lane width and vectorizes).
    pool_empty: Vec<f64>,
    /// Per city: E_c·i_c/(1−δ_c), summed into `drawn_gwh` in city order.
    city_drawn_gwh: Vec<f64>,
    /// Per city: min(G_c, E_c), summed into `local_use_twh` in city order.
    city_local_use_twh: Vec<f64>,
    /// Per city: 1/(1−δ_c), the grid kWh per km and its surplus
    /// max(G_c − E_c, 0), TWh.
    at_plug: Vec<f64>,
    grid_kwh_per_km: Vec<f64>,
    city_surplus_twh: Vec<f64>,
    /// Per city: its province's `share_base_twh`.
    city_share_base_twh: Vec<f64>,

    // What depends on the intensities.
    landed_t: Vec<f64>,
    /// Per city: its province's I_p and P_p in this draw (gathered once, so that
    /// the city pass runs over contiguous arrays).
    own_intensity: Vec<f64>,
    pool_intensity: Vec<f64>,
    /// Per city: its province's Λ_r.
    city_landed_t: Vec<f64>,
    /// The cities of the advanced tiers, ascending.
    advanced: Vec<usize>,
}

impl Scratch {
    pub(super) fn new(network: &Network) -> Scratch {
        let (np, nc) = (network.provinces().len(), network.cities().len());
        Scratch {
            sent_twh: vec![0.0; network.links().len()],
            imports_twh: vec![0.0; np],
            own_pool_twh: vec![0.0; np],
            local_use_twh: vec![0.0; np],
            drawn_gwh: vec![0.0; np],
            leaving_twh: vec![0.0; np],
            surplus_twh: vec![0.0; np],
            share_base_twh: vec![0.0; np],
            province_of: network.cities().iter().map(|c| c.province).collect(),
            pool_empty: vec![0.0; nc],
            city_drawn_gwh: vec![0.0; nc],
            city_local_use_twh: vec![0.0; nc],
            at_plug: vec![0.0; nc],
            grid_kwh_per_km: vec![0.0; nc],
            city_surplus_twh: vec![0.0; nc],
            city_share_base_twh: vec![0.0; nc],
            landed_t: vec![0.0; np],
            own_intensity: vec![0.0; nc],
            pool_intensity: vec![0.0; nc],
            city_landed_t: vec![0.0; nc],
            advanced: (0..nc).filter(|&c| network.cities()[c].advanced).collect(),
        }
    }
}

/// Evaluates one draw (see [`Model::evaluate`]).
///
/// Runs the AVX2 build of the same code where the CPU has it: the city pass then
/// handles four cities per instruction. Both builds do the same IEEE operations
/// (Rust never fuses a multiply and an add on its own), so the results do not
/// depend on the CPU.
pub(super) fn evaluate(
    model: &Model,
    v: &ParamValues,
    s: &mut Scratch,
    out: &mut [f64],
) -> Result<(), ModelError> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { evaluate_avx2(model, v, s, out) };
    }
    evaluate_portable(model, v, s, out)
}

/// [`evaluate_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn evaluate_avx2(
    model: &Model,
    v: &ParamValues,
    s: &mut Scratch,
    out: &mut [f64],
) -> Result<(), ModelError> {
    evaluate_portable(model, v, s, out)
}

#[inline(always)]
fn evaluate_portable(
    model: &Model,
    v: &ParamValues,
    s: &mut Scratch,
    out: &mut [f64],
) -> Result<(), ModelError> {
    debug_assert_eq!(out.len(), model.layout().len());
    pool_flows(model, v, s);
    let invalid = city_flows(model, v, s, out);
    burden_flows(model, s);
    intensities(model, v, s, out, invalid)
}

/// Evaluates a variant of the draw that the last [`evaluate`] on `s` put into
/// `base` (see [`Model::evaluate_variant`]): the flows are that draw's, kept in
/// `s` and `base`.
pub(super) fn evaluate_variant(
    model: &Model,
    v: &ParamValues,
    s: &mut Scratch,
    base: &[f64],
    out: &mut [f64],
) -> Result<(), ModelError> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { evaluate_variant_avx2(model, v, s, base, out) };
    }
    evaluate_variant_portable(model, v, s, base, out)
}

/// [`evaluate_variant_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn evaluate_variant_avx2(
    model: &Model,
    v: &ParamValues,
    s: &mut Scratch,
    base: &[f64],
    out: &mut [f64],
) -> Result<(), ModelError> {
    evaluate_variant_portable(model, v, s, base, out)
}

#[inline(always)]
fn evaluate_variant_portable(
    model: &Model,
    v: &ParamValues,
    s: &mut Scratch,
    base: &[f64],
    out: &mut [f64],
) -> Result<(), ModelError> {
    debug_assert_eq!(out.len(), model.layout().len());
    debug_assert_eq!(base.len(), model.layout().len());
    // The city metrics that are flows: the base draw passed its checks of them.
    let (lay, n) = (model.layout(), s.province_of.len());
    for m in [CM::ImportShare, CM::IceGPerKm, CM::EvEnergyGwh] {
        let run = lay.city(m, 0)..lay.city(m, 0) + n;
        out[run.clone()].copy_from_slice(&base[run]);
    }
    intensities(model, v, s, out, 0)
}

/// Everything that depends on the intensities, from the flows in `s` and `out`;
/// `invalid` counts the cities the flow pass found invalid.
#[inline(always)]
fn intensities(
    model: &Model,
    v: &ParamValues,
    s: &mut Scratch,
    out: &mut [f64],
    invalid: u64,
) -> Result<(), ModelError> {
    pool_intensities(model, v, s, out);
    if invalid + city_intensities(model, v, s, out) > 0 {
        check_cities(model, s, out)?;
    }
    burden_landing(model, v, s, out);
    headlines(model, s, out)
}

/// Per link the TWh sent; per province M_p, O_p, Σ min(G_c, E_c), and whether
/// its pool is empty, spread to its cities.
#[inline(always)]
fn pool_flows(model: &Model, v: &ParamValues, s: &mut Scratch) {
    let net = model.network();
    let consumption = v.get(Param::ProvinceConsumptionTwh);
    let delivered = v.get(Param::DeliveredTwh);
    let loss = v.get(Param::Loss);
    let city_demand = v.get(Param::CityConsumptionTwh);
    let city_generation = v.get(Param::CityGenerationTwh);

    for (sent, (f, lam)) in s.sent_twh.iter_mut().zip(delivered.iter().zip(loss)) {
        *sent = f / (1.0 - lam);
    }
    let n = s.province_of.len();
    let (generation, demand) = (&city_generation[..n], &city_demand[..n]);
    for (local_use, (g, e)) in s
        .city_local_use_twh
        .iter_mut()
        .zip(generation.iter().zip(demand))
    {
        *local_use = g.min(*e);
    }
    // `f64::sum`'s additions, whose sum of no terms is −0.0.
    sum_by_province(
        &s.province_of,
        &s.city_local_use_twh,
        &mut s.local_use_twh,
        -0.0,
    );
    for (p, &consumption_twh) in consumption.iter().enumerate() {
        let mut imports = 0.0;
        for &l in net.links_into(p) {
            imports += delivered[l];
        }
        let local_use = s.local_use_twh[p];
        let own_pool = (consumption_twh - imports - local_use).max(0.0);
        s.imports_twh[p] = imports;
        s.own_pool_twh[p] = own_pool;
        let empty = f64::from(u8::from(own_pool + imports <= 0.0));
        spread(net.cities_in(p), &mut s.pool_empty, empty);
    }
}

/// Sets `per_city` to `value` at each of `cities` (a province's value spread to
/// its cities, province by province: cheaper than a gather per city).
#[inline(always)]
fn spread(cities: &[usize], per_city: &mut [f64], value: f64) {
    for &c in cities {
        per_city[c] = value;
    }
}

/// P_p and the consumption-side intensity of every province.
#[inline(always)]
fn pool_intensities(model: &Model, v: &ParamValues, s: &mut Scratch, out: &mut [f64]) {
    let net = model.network();
    let lay = model.layout();
    let gen_intensity = v.get(Param::GenIntensity);
    for p in 0..net.provinces().len() {
        let mut imported_emissions = 0.0;
        for &l in net.links_into(p) {
            imported_emissions += s.sent_twh[l] * gen_intensity[net.links()[l].from];
        }
        let (own_pool, imports, local_use) =
            (s.own_pool_twh[p], s.imports_twh[p], s.local_use_twh[p]);
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
        out[lay.province(PM::PoolIntensity, p)] = pool_intensity;
        out[lay.province(PM::ConsumptionIntensity, p)] = consumption_intensity;
        spread(net.cities_in(p), &mut s.own_intensity, gen_intensity[p]);
        spread(net.cities_in(p), &mut s.pool_intensity, pool_intensity);
    }
}

/// The city metrics' runs of `out`, `n` values each, in `CityMetric::ALL`
/// order: cut up front, so that the loops over cities have no bounds checks and
/// vectorize.
#[inline(always)]
fn city_runs<'o>(
    model: &Model,
    out: &'o mut [f64],
    n: usize,
) -> std::slice::ChunksExactMut<'o, f64> {
    let lay = model.layout();
    debug_assert!(
        CM::ALL
            .iter()
            .enumerate()
            .all(|(k, &m)| lay.city(m, 0) == k * n)
    );
    out[..CM::ALL.len() * n].chunks_exact_mut(n)
}

/// The city quantities that do not depend on the intensities: import share,
/// 1/(1−δ_c), grid kWh per km, gasoline car, charging energy and the energy drawn
/// from the pool, then the GWh drawn from each province's pool. Returns the
/// number of cities whose gasoline car emits nothing.
///
/// One pass over contiguous per-city arrays with no branch that leaves the loop,
/// so that it vectorizes (four cities at a time with AVX2, see [`evaluate`]).
#[inline(always)]
fn city_flows(model: &Model, v: &ParamValues, s: &mut Scratch, out: &mut [f64]) -> u64 {
    let n = s.province_of.len();
    let well_to_wheel = model.ice_basis() == IceBasis::Wtw;
    let city = |param: Param| &v.get(param)[..n];
    let (demand, generation) = (
        city(Param::CityConsumptionTwh),
        city(Param::CityGenerationTwh),
    );
    let dist_loss = city(Param::DistributionLoss);
    let (stock, vkt) = (city(Param::EvStock), city(Param::VktKm));
    let (ev_kwh, charge_eff) = (city(Param::EvKwhPer100km), city(Param::ChargingEfficiency));
    let (ice_l, fuel_factor) = (city(Param::IceLPer100km), city(Param::GasolineKgco2PerL));
    let wtt = city(Param::GasolineWttUplift);
    let ice_extra = city(Param::IceExtraGPerKm);
    let mut runs = city_runs(model, out, n);
    let mut next_run = || runs.next().expect("a run per city metric");
    let (share_of, _supply, _ev) = (next_run(), next_run(), next_run());
    let (ice_of, _ratio, energy_of) = (next_run(), next_run(), next_run());
    let (at_plug_of, grid_of) = (&mut s.at_plug[..n], &mut s.grid_kwh_per_km[..n]);
    let surplus_of = &mut s.city_surplus_twh[..n];
    let city_drawn_gwh = &mut s.city_drawn_gwh[..n];
    let mut invalid = 0u64;
    for c in 0..n {
        let local_use = generation[c].min(demand[c]);
        let share = 1.0 - local_use / demand[c];
        let at_plug = 1.0 / (1.0 - dist_loss[c]);
        let grid_kwh_per_km = ev_kwh[c] / 100.0 / charge_eff[c];
        let uplift = if well_to_wheel { wtt[c] } else { 0.0 };
        let ice = ice_l[c] / 100.0 * fuel_factor[c] * 1000.0 * (1.0 + uplift) + ice_extra[c];
        let energy = stock[c] * vkt[c] * grid_kwh_per_km / 1e6;
        share_of[c] = share;
        at_plug_of[c] = at_plug;
        grid_of[c] = grid_kwh_per_km;
        ice_of[c] = ice;
        energy_of[c] = energy;
        city_drawn_gwh[c] = energy * share * at_plug;
        surplus_of[c] = (generation[c] - demand[c]).max(0.0);
        invalid += u64::from(ice <= 0.0);
    }
    sum_by_province(&s.province_of, &s.city_drawn_gwh, &mut s.drawn_gwh, 0.0);
    invalid
}

/// `per_province[p] = start + Σ per_city[c]` over the cities `c` of province `p`
/// (`province_of[c] == p`), added in city order.
///
/// One pass over the cities, summed in a register over each run of cities of one
/// province: the same additions as a loop over each province's cities, without
/// that loop's exit, which a varying number of cities per province mispredicts,
/// or a store-to-load wait per city.
#[inline(always)]
fn sum_by_province(province_of: &[usize], per_city: &[f64], per_province: &mut [f64], start: f64) {
    per_province.fill(start);
    let mut run: Option<(usize, f64)> = None;
    for (&p, &x) in province_of.iter().zip(per_city) {
        run = match run {
            Some((q, sum)) if q == p => Some((p, sum + x)),
            Some((q, sum)) => {
                per_province[q] = sum;
                Some((p, per_province[p] + x))
            }
            None => Some((p, per_province[p] + x)),
        };
    }
    if let Some((q, sum)) = run {
        per_province[q] = sum;
    }
}

/// City supply and where each city's EV emissions happen, from the flows of
/// [`city_flows`] in `s` and `out`. Returns the number of cities that import from
/// an empty pool; [`check_cities`] names the first invalid city.
///
/// Vectorizes like [`city_flows`].
#[inline(always)]
fn city_intensities(model: &Model, v: &ParamValues, s: &mut Scratch, out: &mut [f64]) -> u64 {
    let n = s.province_of.len();
    let mut runs = city_runs(model, out, n);
    let mut next_run = || runs.next().expect("a run per city metric");
    let (share_of, supply_intensity, ev_g_per_km) = (next_run(), next_run(), next_run());
    let (ice_of, ratio, energy_of) = (next_run(), next_run(), next_run());
    let (emissions_t, territorial_t, exported_t) = (next_run(), next_run(), next_run());
    let (_received, _net_transfer, worse) = (next_run(), next_run(), next_run());
    let (share_of, ice_of, energy_of) = (&*share_of, &*ice_of, &*energy_of);
    let ev_extra = &v.get(Param::EvExtraGPerKm)[..n];
    let (own_intensity, pool_intensity) = (&s.own_intensity[..n], &s.pool_intensity[..n]);
    let (at_plug_of, grid_of) = (&s.at_plug[..n], &s.grid_kwh_per_km[..n]);
    let pool_empty = &s.pool_empty[..n];
    let mut invalid = 0u64;
    for c in 0..n {
        let (own, pool) = (own_intensity[c], pool_intensity[c]);
        let (share, at_plug, energy) = (share_of[c], at_plug_of[c], energy_of[c]);
        let supply = ((1.0 - share) * own + share * pool) * at_plug;
        let ev = grid_of[c] * supply + ev_extra[c];
        // X and T are computed directly (Z = T + X) so that a city that imports
        // nothing exports exactly zero burden, not a rounding residue.
        let territorial = energy * (1.0 - share) * own * at_plug;
        let exported = energy * share * pool * at_plug;
        supply_intensity[c] = supply;
        ev_g_per_km[c] = ev;
        let ev_over_ice = ev / ice_of[c];
        ratio[c] = ev_over_ice;
        emissions_t[c] = territorial + exported;
        territorial_t[c] = territorial;
        exported_t[c] = exported;
        worse[c] = if ev_over_ice > 1.0 { 1.0 } else { 0.0 };
        invalid += u64::from(share > 0.0 && pool_empty[c] > 0.0);
    }
    invalid
}

/// The first city (in order) whose draw is invalid: it imports from an empty
/// pool, or its gasoline car emits nothing.
fn check_cities(model: &Model, s: &Scratch, out: &[f64]) -> Result<(), ModelError> {
    let (net, lay) = (model.network(), model.layout());
    for (c, &p) in s.province_of.iter().enumerate() {
        let pool_twh = s.own_pool_twh[p] + s.imports_twh[p];
        if out[lay.city(CM::ImportShare, c)] > 0.0 && pool_twh <= 0.0 {
            return Err(ModelError::EmptyPool {
                province: net.provinces()[p].id.clone(),
                city: net.cities()[c].id.clone(),
            });
        }
        if out[lay.city(CM::IceGPerKm, c)] <= 0.0 {
            return Err(ModelError::NoGasolineEmissions {
                city: net.cities()[c].id.clone(),
            });
        }
    }
    Ok(())
}

/// Per province the TWh leaving it (O_r plus what its links send), its cities'
/// surplus and the larger of the two, which the burden landing in it is shared
/// over; spread to its cities.
#[inline(always)]
fn burden_flows(model: &Model, s: &mut Scratch) {
    let net = model.network();
    // `f64::sum`'s additions, whose sum of no terms is −0.0.
    sum_by_province(
        &s.province_of,
        &s.city_surplus_twh,
        &mut s.surplus_twh,
        -0.0,
    );
    for r in 0..net.provinces().len() {
        let leaving_twh = s.own_pool_twh[r]
            + net
                .links_out_of(r)
                .iter()
                .map(|&l| s.sent_twh[l])
                .sum::<f64>();
        let surplus_twh = s.surplus_twh[r];
        let share_base = leaving_twh.max(surplus_twh);
        s.leaving_twh[r] = leaving_twh;
        s.share_base_twh[r] = share_base;
        spread(net.cities_in(r), &mut s.city_share_base_twh, share_base);
    }
}

/// Λ_r per province, then B_s for exporter cities and N_c for every city.
#[inline(always)]
fn burden_landing(model: &Model, v: &ParamValues, s: &mut Scratch, out: &mut [f64]) {
    let net = model.network();
    let lay = model.layout();
    let gen_intensity = v.get(Param::GenIntensity);
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
        let (share_base, landed) = (s.share_base_twh[r], s.landed_t[r]);
        spread(net.cities_in(r), &mut s.city_landed_t, landed);
        let rest = if share_base > 0.0 {
            landed * (s.leaving_twh[r] - s.surplus_twh[r]).max(0.0) / share_base
        } else {
            landed
        };
        out[lay.province(PM::BurdenLandedT, r)] = landed;
        out[lay.province(PM::BurdenRestOfProvinceT, r)] = rest;
    }
    // B_s and N_c over the contiguous per-city runs (see `city_intensities`).
    let n = s.province_of.len();
    let (front, back) = out.split_at_mut(lay.city(CM::BurdenReceivedT, 0));
    let exported = &front[lay.city(CM::BurdenExportedT, 0)..][..n];
    let mut runs = back.chunks_exact_mut(n);
    let mut next_run = || runs.next().expect("a run per city metric");
    let (received, net_transfer, _worse, net_importer) =
        (next_run(), next_run(), next_run(), next_run());
    let surplus_twh = &s.city_surplus_twh[..n];
    let (share_base_twh, landed_t) = (&s.city_share_base_twh[..n], &s.city_landed_t[..n]);
    for c in 0..n {
        let surplus = surplus_twh[c];
        let share_base = share_base_twh[c];
        let received_t = if share_base > 0.0 {
            landed_t[c] * surplus / share_base
        } else {
            0.0
        };
        received[c] = received_t;
        net_transfer[c] = exported[c] - received_t;
        net_importer[c] = if net_transfer[c] > 0.0 { 1.0 } else { 0.0 };
    }
}

/// National headline metrics from the city metrics already in `out`.
///
/// Reads each city metric as its contiguous run; the sums over cities are taken
/// in city order.
#[inline(always)]
fn headlines(model: &Model, s: &Scratch, out: &mut [f64]) -> Result<(), ModelError> {
    let lay = model.layout();
    let n = s.province_of.len();
    let run = |m: CM| &out[lay.city(m, 0)..][..n];
    let (energy, share) = (run(CM::EvEnergyGwh), run(CM::ImportShare));
    let (territorial, emissions) = (run(CM::EvTerritorialT), run(CM::EvEmissionsT));
    let (mut adv_energy, mut adv_imported, mut adv_territorial, mut adv_emissions) =
        (0.0, 0.0, 0.0, 0.0);
    for &c in &s.advanced {
        adv_energy += energy[c];
        adv_imported += energy[c] * share[c];
        adv_territorial += territorial[c];
        adv_emissions += emissions[c];
    }
    let max_ratio = run(CM::EvIceRatio)
        .iter()
        .fold(f64::NEG_INFINITY, |m, &r| m.max(r));
    let positive = |m: CM| run(m).iter().map(|&x| usize::from(x > 0.0)).sum::<usize>();
    let (importers, worse) = (positive(CM::NetImporter), positive(CM::EvWorseThanIce));
    let shifted = run(CM::BurdenExportedT).iter().fold(0.0, |sum, &x| sum + x);
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
