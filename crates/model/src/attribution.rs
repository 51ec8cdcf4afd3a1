//! One draw of the attribution model: provincial pools, city supply, vehicles, and
//! where the EV emissions land (the README's Model section gives the equations).
//!
//! Generation carries the intensity of the plants behind it: a link's own
//! `link_intensity` (K_l) or its sender's `gen_intensity`, a city's own
//! `city_gen_intensity` (J_c) or its province's. Which links and cities have their
//! own is fixed for a network ([`Network::own_intensities`]); without any, every
//! pass does exactly the operations of the model without source intensities, so
//! a config without the two parameters gives the same bits as before them.
//!
//! A draw is evaluated in passes. The *flow* passes compute what does not depend
//! on any intensity (energy sent, pooled, drawn and leaving; the metrics the tables
//! mark [`Part::Flows`]); the *intensity* passes compute the rest from them. A
//! scenario that changes only intensities reruns the intensity passes alone
//! ([`evaluate_variant`]).
//!
//! The passes over cities run over contiguous per-city arrays (a province's value is
//! spread to its cities first) with no branch that leaves the loop, so that a build
//! for a wider instruction set handles several cities per instruction.

use crate::accounting::IceBasis;
use crate::error::ModelError;
use crate::layout::OutputLayout;
use crate::metrics::{CityMetric, CityRuns, Headline, ProvinceMetric, ProvinceRuns};
use crate::network::Network;
use crate::params::{Param, Part};
use crate::values::ParamValues;

/// Working arrays for [`crate::Model::evaluate`], sized once for a network.
///
/// The first group holds a draw's *flows*: what does not depend on the
/// intensities. They stay valid after a full evaluation, so that
/// [`crate::Model::evaluate_variant`] can reuse them.
#[derive(Clone, Debug)]
pub struct Scratch {
    sent_twh: Vec<f64>,
    imports_twh: Vec<f64>,
    own_pool_twh: Vec<f64>,
    /// Per province: Σ min(G_c, D_c) over its cities, TWh.
    local_use_twh: Vec<f64>,
    /// Σ E_c·i_c/(1−δ_c) over the province's cities: GWh drawn from its pool.
    drawn_gwh: Vec<f64>,
    /// Per province: O_r plus the TWh sent on its outgoing links, the surplus
    /// Σ max(G_c − D_c, 0) of its cities, and the larger of the two, which the
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
    /// Per city: min(G_c, D_c), summed into `local_use_twh` in city order.
    city_local_use_twh: Vec<f64>,
    /// Per city: 1/(1−δ_c), the grid kWh per km and its surplus
    /// max(G_c − D_c, 0), TWh.
    at_plug: Vec<f64>,
    grid_kwh_per_km: Vec<f64>,
    city_surplus_twh: Vec<f64>,
    /// Per city: its province's `share_base_twh`.
    city_share_base_twh: Vec<f64>,
    /// Per province: the energy of its leaving generation that EVs draw from the
    /// pools it feeds, Σ_p drawn_p/pool_p·e_{p,r} (GWh; Λ_r at a uniform intensity is
    /// this times I_r).
    drawn_from_gwh: Vec<f64>,
    /// Per city: the share of its province's pool that links deliver, M/(O+M)
    /// (0 for an empty pool).
    pool_import_share: Vec<f64>,

    // What depends on the intensities.
    landed_t: Vec<f64>,
    /// Per city: its province's I_p and P_p in this draw (spread once, so that
    /// the city pass runs over contiguous arrays).
    own_intensity: Vec<f64>,
    pool_intensity: Vec<f64>,
    /// Per city: its province's Λ_r.
    city_landed_t: Vec<f64>,
    /// Per link: K_l, its own intensity or its sender's I_q.
    link_intensity: Vec<f64>,
    /// Per province: the emissions of its pool, O_p·I_p + Σ sent_l·K_l.
    pool_emissions: Vec<f64>,
    /// Per city, where some province has sources of their own: the share and base
    /// of the burden it receives (see `share_by_emissions`).
    emission_share_num: Vec<f64>,
    emission_share_den: Vec<f64>,

    // The network's sources of their own intensity, fixed for a model.
    /// Per link: whether it has its own intensity.
    own_link: Vec<bool>,
    /// The cities with their own intensity, ascending.
    own_cities: Vec<usize>,
    /// Per province: whether a city of it has its own intensity (its local use is
    /// then summed city by city).
    own_city_in: Vec<bool>,
    /// The provinces with sources of their own (a city or an outgoing link), whose
    /// landed burden is shared in proportion to emissions, not energy.
    own_source_provinces: Vec<usize>,
    /// Per province: whether a link out of it has its own intensity.
    own_link_out_of: Vec<bool>,
    /// The cities of the advanced tiers, ascending.
    advanced: Vec<usize>,
}

impl Scratch {
    pub(crate) fn new(network: &Network) -> Scratch {
        let (np, nc) = (network.provinces().len(), network.cities().len());
        let own = network.own_intensities();
        let own_source_provinces: Vec<usize> =
            (0..np).filter(|&p| network.has_own_sources(p)).collect();
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
            pool_import_share: vec![0.0; nc],
            drawn_from_gwh: vec![0.0; np],
            landed_t: vec![0.0; np],
            own_intensity: vec![0.0; nc],
            pool_intensity: vec![0.0; nc],
            city_landed_t: vec![0.0; nc],
            link_intensity: vec![0.0; network.links().len()],
            pool_emissions: vec![0.0; np],
            emission_share_num: vec![0.0; nc],
            emission_share_den: vec![0.0; nc],
            own_link: own.links.clone(),
            own_cities: (0..nc).filter(|&c| own.cities[c]).collect(),
            own_city_in: (0..np)
                .map(|p| network.cities_in(p).iter().any(|&c| own.cities[c]))
                .collect(),
            own_source_provinces: own_source_provinces.clone(),
            own_link_out_of: (0..np)
                .map(|p| network.links_out_of(p).iter().any(|&l| own.links[l]))
                .collect(),
            advanced: (0..nc).filter(|&c| network.cities()[c].advanced).collect(),
        }
    }
}

/// One draw's outputs, by name: the city and province runs and the headline
/// values (in [`OutputLayout::headlines`] order).
struct Outputs<'o> {
    city: CityRuns<'o>,
    province: ProvinceRuns<'o>,
    headlines: &'o mut [f64],
}

impl<'o> Outputs<'o> {
    /// Cuts `out` (one draw, laid out by `lay`) into named runs.
    #[inline(always)]
    fn cut(lay: &OutputLayout, out: &'o mut [f64]) -> Outputs<'o> {
        debug_assert_eq!(out.len(), lay.len());
        let (city, rest) = out.split_at_mut(lay.province_start());
        let (province, headlines) = rest.split_at_mut(lay.headline_start() - lay.province_start());
        Outputs {
            city: CityRuns::cut(city, lay.cities()),
            province: ProvinceRuns::cut(province, lay.provinces()),
            headlines,
        }
    }
}

/// Which evaluation a pass belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Evaluation {
    /// Every metric computed.
    Full,
    /// A variant on the base draw's flows: the flow metrics were copied.
    Variant,
}

/// Evaluates one draw (see [`crate::Model::evaluate`]).
#[inline(always)]
pub(crate) fn evaluate(
    net: &Network,
    ice_basis: IceBasis,
    lay: &OutputLayout,
    v: &ParamValues,
    s: &mut Scratch,
    out: &mut [f64],
) -> Result<(), ModelError> {
    let mut o = Outputs::cut(lay, out);
    pool_flows(net, v, s);
    let invalid = city_flows(ice_basis, v, s, &mut o.city);
    burden_flows(net, s);
    intensities(net, lay, v, s, &mut o, invalid, Evaluation::Full)
}

/// Evaluates a variant of the draw that the last [`evaluate`] on `s` put into
/// `base` (see [`crate::Model::evaluate_variant`]): the flows are that draw's,
/// kept in `s`, and the metrics that depend on flows only are copied from `base`.
#[inline(always)]
pub(crate) fn evaluate_variant(
    net: &Network,
    lay: &OutputLayout,
    v: &ParamValues,
    s: &mut Scratch,
    base: &[f64],
    out: &mut [f64],
) -> Result<(), ModelError> {
    debug_assert_eq!(base.len(), lay.len());
    copy_flow_metrics(lay, base, out);
    let mut o = Outputs::cut(lay, out);
    // The base draw passed its checks of the flows.
    intensities(net, lay, v, s, &mut o, 0, Evaluation::Variant)
}

/// Copies from `base` into `out` every metric whose table marks it as depending on
/// flows only.
#[inline(always)]
fn copy_flow_metrics(lay: &OutputLayout, base: &[f64], out: &mut [f64]) {
    let flows_only = |depends: Part| depends == Part::Flows;
    for m in CityMetric::ALL
        .into_iter()
        .filter(|m| flows_only(m.depends()))
    {
        let run = lay.city(m, 0)..lay.city(m, 0) + lay.cities();
        out[run.clone()].copy_from_slice(&base[run]);
    }
    for m in ProvinceMetric::ALL
        .into_iter()
        .filter(|m| flows_only(m.depends()))
    {
        let run = lay.province(m, 0)..lay.province(m, 0) + lay.provinces();
        out[run.clone()].copy_from_slice(&base[run]);
    }
    for (k, h) in lay.headlines().iter().enumerate() {
        if flows_only(h.depends()) {
            out[lay.headline(k)] = base[lay.headline(k)];
        }
    }
}

/// Everything that depends on the intensities, from the flows in `s` and `o`;
/// `invalid` counts the cities the flow pass found invalid.
#[inline(always)]
fn intensities(
    net: &Network,
    lay: &OutputLayout,
    v: &ParamValues,
    s: &mut Scratch,
    o: &mut Outputs<'_>,
    invalid: u64,
    evaluation: Evaluation,
) -> Result<(), ModelError> {
    pool_intensities(net, v, s, &mut o.province);
    if invalid + city_intensities(v, s, &mut o.city) > 0 {
        check_cities(net, s, &o.city)?;
    }
    burden_landing(net, v, s, o);
    headlines(lay, s, &o.city, o.headlines, evaluation)
}

/// Per link the TWh sent; per province M_p, O_p, Σ min(G_c, D_c), and whether
/// its pool is empty, spread to its cities.
#[inline(always)]
fn pool_flows(net: &Network, v: &ParamValues, s: &mut Scratch) {
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
        let pool_twh = own_pool + imports;
        let empty = f64::from(u8::from(pool_twh <= 0.0));
        spread(net.cities_in(p), &mut s.pool_empty, empty);
        let imported = if pool_twh > 0.0 {
            imports / pool_twh
        } else {
            0.0
        };
        spread(net.cities_in(p), &mut s.pool_import_share, imported);
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

/// K_l of every link, then P_p and the consumption-side intensity of every
/// province, and I_p, J_c and P_p spread to the cities.
// `p` indexes a dozen per-province arrays, not only the intensities.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn pool_intensities(net: &Network, v: &ParamValues, s: &mut Scratch, o: &mut ProvinceRuns<'_>) {
    let gen_intensity = v.get(Param::GenIntensity);
    let own_link_intensity = v.get(Param::LinkIntensity);
    for (l, link) in net.links().iter().enumerate() {
        s.link_intensity[l] = if s.own_link[l] {
            own_link_intensity[l]
        } else {
            gen_intensity[link.from]
        };
    }
    for p in 0..net.provinces().len() {
        let mut imported_emissions = 0.0;
        for &l in net.links_into(p) {
            imported_emissions += s.sent_twh[l] * s.link_intensity[l];
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
        o.pool_intensity[p] = pool_intensity;
        o.consumption_intensity[p] = consumption_intensity;
        s.pool_emissions[p] = pool_emissions;
        spread(net.cities_in(p), &mut s.own_intensity, gen_intensity[p]);
        spread(net.cities_in(p), &mut s.pool_intensity, pool_intensity);
    }
    // J_c where a city has its own; its province's local use is then summed
    // city by city (elsewhere Σ L_c·I_p is the province's local use times I_p).
    let own_city_intensity = v.get(Param::CityGenIntensity);
    for &c in &s.own_cities {
        s.own_intensity[c] = own_city_intensity[c];
    }
    for p in (0..net.provinces().len()).filter(|&p| s.own_city_in[p]) {
        let local_emissions: f64 = (net.cities_in(p).iter())
            .map(|&c| s.city_local_use_twh[c] * s.own_intensity[c])
            .sum();
        let used_twh = s.local_use_twh[p] + s.own_pool_twh[p] + s.imports_twh[p];
        o.consumption_intensity[p] = if used_twh > 0.0 {
            (local_emissions + s.pool_emissions[p]) / used_twh
        } else {
            gen_intensity[p]
        };
    }
}

/// The city quantities that do not depend on the intensities: import share,
/// 1/(1−δ_c), grid kWh per km, gasoline car, charging energy and the energy drawn
/// from the pool, then the GWh drawn from each province's pool. Returns the
/// number of cities whose gasoline car emits nothing.
#[inline(always)]
fn city_flows(ice_basis: IceBasis, v: &ParamValues, s: &mut Scratch, o: &mut CityRuns<'_>) -> u64 {
    let n = s.province_of.len();
    let well_to_wheel = ice_basis == IceBasis::Wtw;
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
    let share_of = &mut o.import_share[..n];
    let share_province_of = &mut o.import_share_province[..n];
    let pool_import_share = &s.pool_import_share[..n];
    let ice_of = &mut o.ice_g_per_km[..n];
    let energy_of = &mut o.ev_energy_gwh[..n];
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
        share_province_of[c] = share * pool_import_share[c];
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
/// [`city_flows`] in `s` and `o`. Returns the number of cities that import from
/// an empty pool; [`check_cities`] names the first invalid city.
#[inline(always)]
fn city_intensities(v: &ParamValues, s: &mut Scratch, o: &mut CityRuns<'_>) -> u64 {
    let n = s.province_of.len();
    let (share_of, ice_of, energy_of) = (
        &o.import_share[..n],
        &o.ice_g_per_km[..n],
        &o.ev_energy_gwh[..n],
    );
    let supply_intensity = &mut o.supply_intensity[..n];
    let ev_g_per_km = &mut o.ev_g_per_km[..n];
    let ratio = &mut o.ev_ice_ratio[..n];
    let emissions_t = &mut o.ev_emissions_t[..n];
    let territorial_t = &mut o.ev_territorial_t[..n];
    let exported_t = &mut o.burden_exported_t[..n];
    let worse = &mut o.ev_worse_than_ice[..n];
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
fn check_cities(net: &Network, s: &Scratch, o: &CityRuns<'_>) -> Result<(), ModelError> {
    for (c, &p) in s.province_of.iter().enumerate() {
        let pool_twh = s.own_pool_twh[p] + s.imports_twh[p];
        if o.import_share[c] > 0.0 && pool_twh <= 0.0 {
            return Err(ModelError::EmptyPool {
                province: net.provinces()[p].id.clone(),
                city: net.cities()[c].id.clone(),
            });
        }
        if o.ice_g_per_km[c] <= 0.0 {
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
fn burden_flows(net: &Network, s: &mut Scratch) {
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
    // The energy EVs draw from each province's leaving generation, for the
    // provinces whose burden is shared by emissions.
    if s.own_source_provinces.is_empty() {
        return;
    }
    s.drawn_from_gwh.fill(0.0);
    for p in 0..net.provinces().len() {
        let pool_twh = s.own_pool_twh[p] + s.imports_twh[p];
        if s.drawn_gwh[p] <= 0.0 || pool_twh <= 0.0 {
            continue;
        }
        let per_twh = s.drawn_gwh[p] / pool_twh;
        s.drawn_from_gwh[p] += per_twh * s.own_pool_twh[p];
        for &l in net.links_into(p) {
            s.drawn_from_gwh[net.links()[l].from] += per_twh * s.sent_twh[l];
        }
    }
}

/// Λ_r per province, then B_s for exporter cities and N_c for every city.
// `p` indexes a dozen per-province arrays, not only the intensities.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn burden_landing(net: &Network, v: &ParamValues, s: &mut Scratch, o: &mut Outputs<'_>) {
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
            s.landed_t[from] += per_twh * s.sent_twh[l] * s.link_intensity[l];
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
        o.province.burden_landed_t[r] = landed;
        o.province.burden_rest_of_province_t[r] = rest;
    }
    // Each city receives landed·share/base: its surplus over the larger of its
    // province's leaving energy and surplus, or, in a province with sources of
    // their own intensity, its surplus emissions times the burden per tonne
    // (`share_by_emissions`, which then sets landed = per tonne and base = 1).
    let (share, base) = if s.own_source_provinces.is_empty() {
        (&s.city_surplus_twh, &s.city_share_base_twh)
    } else {
        share_by_emissions(net, v, s, &mut o.province);
        (&s.emission_share_num, &s.emission_share_den)
    };
    // B_s and N_c over the contiguous per-city runs (see `city_intensities`).
    let n = s.province_of.len();
    let city = &mut o.city;
    let exported = &city.burden_exported_t[..n];
    let received = &mut city.burden_received_t[..n];
    let net_transfer = &mut city.net_transfer_t[..n];
    let net_importer = &mut city.net_importer[..n];
    let (share, base, landed_t) = (&share[..n], &base[..n], &s.city_landed_t[..n]);
    for c in 0..n {
        let received_t = if base[c] > 0.0 {
            landed_t[c] * share[c] / base[c]
        } else {
            0.0
        };
        received[c] = received_t;
        net_transfer[c] = exported[c] - received_t;
        net_importer[c] = if net_transfer[c] > 0.0 { 1.0 } else { 0.0 };
    }
}

/// For a province with generation of its own intensity, the burden landing on it
/// is shared by its surplus cities and the rest of the province in proportion to
/// their emissions (U_s·J_s, and what is left of the emissions leaving the
/// province, O_r·I_r + Σ sent_l·K_l), not to their energy: a city of wind farms
/// takes little of the burden that lands on its coal-heavy province. Sets the rest
/// of the province, and each city's share and base for the city pass of
/// [`burden_landing`]: the energy ones of the other provinces, and for these the
/// city's surplus emissions, base 1 and (in `city_landed_t`) the burden per
/// tonne. Where intensities are uniform this is the energy share.
#[inline(always)]
fn share_by_emissions(net: &Network, v: &ParamValues, s: &mut Scratch, o: &mut ProvinceRuns<'_>) {
    let gen_intensity = v.get(Param::GenIntensity);
    s.emission_share_num.copy_from_slice(&s.city_surplus_twh);
    s.emission_share_den.copy_from_slice(&s.city_share_base_twh);
    for &r in &s.own_source_provinces {
        let leaving_emissions = s.own_pool_twh[r] * gen_intensity[r]
            + (net.links_out_of(r).iter())
                .map(|&l| s.sent_twh[l] * s.link_intensity[l])
                .sum::<f64>();
        let mut surplus_emissions = 0.0;
        for &c in net.cities_in(r) {
            let emissions = s.city_surplus_twh[c] * s.own_intensity[c];
            s.emission_share_num[c] = emissions;
            surplus_emissions += emissions;
        }
        let base = leaving_emissions.max(surplus_emissions);
        let landed = s.landed_t[r];
        // The burden per tonne emitted. When every kWh leaving the province
        // carries I_r (no link of its own intensity), it is the share of the
        // leaving energy that EVs draw: flows only, so a scenario that changes
        // I_r alone leaves a city of its own intensity exactly its burden, not
        // the same up to a rounding residue.
        let per_tonne = if !s.own_link_out_of[r] && leaving_emissions >= surplus_emissions {
            if s.leaving_twh[r] > 0.0 {
                s.drawn_from_gwh[r] / s.leaving_twh[r]
            } else {
                0.0
            }
        } else if base > 0.0 {
            landed / base
        } else {
            0.0
        };
        for &c in net.cities_in(r) {
            s.city_landed_t[c] = per_tonne;
            s.emission_share_den[c] = 1.0;
        }
        o.burden_rest_of_province_t[r] = if base > 0.0 {
            per_tonne * (leaving_emissions - surplus_emissions).max(0.0)
        } else {
            landed
        };
    }
}

/// National headline metrics from the city metrics already in `city`, into
/// `values` (in `lay.headlines()` order). A variant keeps the flow headlines it
/// copied from its base draw.
///
/// The sums over cities are taken in city order.
#[inline(always)]
fn headlines(
    lay: &OutputLayout,
    s: &Scratch,
    city: &CityRuns<'_>,
    values: &mut [f64],
    evaluation: Evaluation,
) -> Result<(), ModelError> {
    let n = s.province_of.len();
    let (energy, share) = (&city.ev_energy_gwh[..n], &city.import_share[..n]);
    let (territorial, emissions) = (&city.ev_territorial_t[..n], &city.ev_emissions_t[..n]);
    let share_province = &city.import_share_province[..n];
    let (mut adv_energy, mut adv_imported, mut adv_territorial, mut adv_emissions) =
        (0.0, 0.0, 0.0, 0.0);
    let mut adv_imported_province = 0.0;
    for &c in &s.advanced {
        adv_energy += energy[c];
        adv_imported += energy[c] * share[c];
        adv_imported_province += energy[c] * share_province[c];
        adv_territorial += territorial[c];
        adv_emissions += emissions[c];
    }
    let max_ratio = city.ev_ice_ratio[..n]
        .iter()
        .fold(f64::NEG_INFINITY, |m, &r| m.max(r));
    let positive = |run: &[f64]| run.iter().map(|&x| usize::from(x > 0.0)).sum::<usize>();
    let importers = positive(&city.net_importer[..n]);
    let worse = positive(&city.ev_worse_than_ice[..n]);
    let shifted = city.burden_exported_t[..n]
        .iter()
        .fold(0.0, |sum, &x| sum + x);
    for (value, &h) in values.iter_mut().zip(lay.headlines()) {
        if evaluation == Evaluation::Variant && h.depends() == Part::Flows {
            continue;
        }
        *value = match h {
            Headline::AdvancedImportShare => {
                if adv_energy <= 0.0 {
                    return Err(ModelError::NoAdvancedEmissions {
                        what: "charging energy",
                    });
                }
                adv_imported / adv_energy
            }
            Headline::AdvancedImportShareProvince => {
                if adv_energy <= 0.0 {
                    return Err(ModelError::NoAdvancedEmissions {
                        what: "charging energy",
                    });
                }
                adv_imported_province / adv_energy
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
