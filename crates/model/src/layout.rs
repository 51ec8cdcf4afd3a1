//! Where each metric of one draw sits in the flat output vector.

use crate::metrics::{CityMetric, Headline, ProvinceMetric};

/// Where each metric of one draw sits in the flat output vector.
///
/// Layout: city metrics metric-major (`CityMetric::ALL` × cities), then province
/// metrics (`ProvinceMetric::ALL` × provinces), then the headlines that apply. The
/// model writes through named runs cut in the same order
/// ([`crate::CityRuns::cut`], [`crate::ProvinceRuns::cut`]).
#[derive(Clone, Debug, PartialEq)]
pub struct OutputLayout {
    n_cities: usize,
    n_provinces: usize,
    headlines: Vec<Headline>,
}

impl OutputLayout {
    /// The layout of `n_cities` cities, `n_provinces` provinces and `headlines`.
    pub(crate) fn new(n_cities: usize, n_provinces: usize, headlines: Vec<Headline>) -> Self {
        OutputLayout {
            n_cities,
            n_provinces,
            headlines,
        }
    }

    /// Number of values per draw.
    #[inline]
    pub fn len(&self) -> usize {
        self.province_start() + ProvinceMetric::ALL.len() * self.n_provinces + self.headlines.len()
    }

    /// Always false: a model has at least one city.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index of city metric `m` for city `c`.
    #[inline]
    pub fn city(&self, m: CityMetric, c: usize) -> usize {
        m as usize * self.n_cities + c
    }

    /// Index of province metric `m` for province `p`.
    #[inline]
    pub fn province(&self, m: ProvinceMetric, p: usize) -> usize {
        self.province_start() + m as usize * self.n_provinces + p
    }

    /// Index of the `k`-th reported headline (see [`OutputLayout::headlines`]).
    #[inline]
    pub fn headline(&self, k: usize) -> usize {
        self.headline_start() + k
    }

    /// The headlines computed for this network, in output order.
    #[inline]
    pub fn headlines(&self) -> &[Headline] {
        &self.headlines
    }

    /// Index of the first province metric: the city runs end here.
    #[inline]
    pub fn province_start(&self) -> usize {
        CityMetric::ALL.len() * self.n_cities
    }

    /// Index of the first headline: the province runs end here.
    #[inline]
    pub fn headline_start(&self) -> usize {
        self.province_start() + ProvinceMetric::ALL.len() * self.n_provinces
    }

    /// Number of cities (the length of each city run).
    #[inline]
    pub fn cities(&self) -> usize {
        self.n_cities
    }

    /// Number of provinces (the length of each province run).
    #[inline]
    pub fn provinces(&self) -> usize {
        self.n_provinces
    }
}
