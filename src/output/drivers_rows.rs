//! The labels of outputs and input groups, and the given-data drivers of an
//! ordinary run (`run --sensitivity`).

/// Which output a row is about: a city's, a province's or a headline metric.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputLabel {
    /// `city`, `province` or `headline`.
    pub entity: &'static str,
    /// City id (city rows only).
    pub city_id: Option<String>,
    /// City display name (city rows only).
    pub city: Option<String>,
    /// City English name, where the table gives one.
    pub city_en: Option<String>,
    /// Province id (city and province rows).
    pub province: Option<String>,
    /// Metric name.
    pub metric: &'static str,
    /// Metric unit.
    pub unit: &'static str,
}

/// A group of input variates.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupInfo {
    /// Group name: a parameter, a province, `national` or a config group.
    pub name: String,
    /// Independent uniform variates in the group.
    pub variates: u64,
    /// Parameters that own the group's variates, in config order.
    pub params: Vec<&'static str>,
}

/// The given-data sensitivity of one output to one group, from a run's own draws.
#[derive(Clone, Debug, PartialEq)]
pub struct GivenDataRow {
    /// Index into [`DriverResults::outputs`].
    pub output: usize,
    /// Index into [`DriverResults::groups`].
    pub group: usize,
    /// Bias-corrected correlation ratio (a first-order index; a lower bound for a
    /// group of several variates).
    pub s1: f64,
    /// p-value of "no effect" (F test).
    pub p_value: f64,
}

/// Monte Carlo filtering of one headline at its reported figure, for one group.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterRow {
    /// Index into [`DriverResults::outputs`].
    pub output: usize,
    /// Index into [`DriverResults::groups`].
    pub group: usize,
    /// The reported figure the draws are split at.
    pub threshold: f64,
    /// Draws at or above it.
    pub draws_ge: u64,
    /// Draws below it.
    pub draws_lt: u64,
    /// Kolmogorov–Smirnov distance between the two sets' score distributions.
    pub ks_distance: f64,
    /// Its asymptotic p-value.
    pub p_value: f64,
    /// Mean normal score of the group in the draws at or above the figure (`None`
    /// without such draws).
    pub mean_score_ge: Option<f64>,
    /// Mean normal score in the draws below (`None` without such draws).
    pub mean_score_lt: Option<f64>,
}

/// Everything `run --sensitivity` adds: `drivers.parquet`.
#[derive(Clone, Debug, PartialEq)]
pub struct DriverResults {
    /// Outputs analysed (headlines and province metrics), by index.
    pub outputs: Vec<OutputLabel>,
    /// Groups (one per parameter), in order.
    pub groups: Vec<GroupInfo>,
    /// First-order indices of every output that varies.
    pub first_order: Vec<GivenDataRow>,
    /// Filtering of every headline with a reported figure.
    pub filters: Vec<FilterRow>,
}
