//! Data that is valid cell by cell but contradicts itself: reported as warnings
//! with the figures, since the tables may still be what the user means.

use evcarbon_engine::sampling::SamplingPlan;
use evcarbon_model::{Network, Param, ParamValues};

/// Warnings about `network`'s data at every parameter's median: provinces whose
/// cities consume more than the province does.
pub(super) fn warnings(network: &Network, plan: &SamplingPlan) -> Vec<String> {
    let mut values = ParamValues::new(network);
    plan.apply_medians(&mut values);
    let province_twh = values.get(Param::ProvinceConsumptionTwh);
    let city_twh = values.get(Param::CityConsumptionTwh);
    let mut cities_twh = vec![0.0; network.provinces().len()];
    for (c, city) in network.cities().iter().enumerate() {
        cities_twh[city.province] += city_twh[c];
    }
    let mut out = Vec::new();
    for (p, province) in network.provinces().iter().enumerate() {
        if cities_twh[p] > province_twh[p] * (1.0 + 1e-9) {
            out.push(format!(
                "province `{}`: its cities consume {:.4} TWh at the medians, more than the \
                 province's {:.4} TWh (province_consumption_twh), though the cities' use is \
                 part of the province's; check the units and years of the two columns",
                province.id, cities_twh[p], province_twh[p]
            ));
        }
    }
    out
}
