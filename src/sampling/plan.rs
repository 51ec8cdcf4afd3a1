//! Which uniform variate drives which entity of which parameter.

use super::copula::Copula;
use super::dist::Dist;
use crate::model::{Level, Network, Param, ParamValues};

/// Which entities share one underlying random variate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One variate per draw, shared by every entity.
    Global,
    /// One variate per province, shared by the province's cities.
    Province,
    /// One variate per entity of the parameter's own level (independent entities).
    Own,
}

impl Scope {
    /// Parses a config `scope` for a parameter of `level`; `None` if it is unknown or
    /// finer than the level.
    pub fn for_level(name: &str, level: Level) -> Option<Scope> {
        match (name, level) {
            ("global", _) => Some(Scope::Global),
            ("province", Level::Province) => Some(Scope::Own),
            ("province", Level::City) => Some(Scope::Province),
            ("city", Level::City) | ("link", Level::Link) => Some(Scope::Own),
            _ => None,
        }
    }

    /// The scope names a parameter of `level` accepts.
    pub fn names_for(level: Level) -> &'static [&'static str] {
        match level {
            Level::Province => &["global", "province"],
            Level::Link => &["global", "link"],
            Level::City => &["global", "province", "city"],
        }
    }

    /// The config name of this scope for a parameter of `level`.
    pub fn name(self, level: Level) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Province => "province",
            Scope::Own => level.name(),
        }
    }
}

/// One parameter's distributions (one per entity) and the variate each entity reads.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamPlan {
    param: Param,
    scope: Scope,
    dists: Vec<Dist>,
    variate_of: Vec<u32>,
    checked: Vec<bool>,
    /// For each entity, an earlier entity with the same variate and distribution
    /// whose value it can copy (a shared draw through one distribution is computed
    /// once, which matters for expensive inverse CDFs such as PERT and beta).
    same_as: Vec<Option<u32>>,
}

impl ParamPlan {
    /// The parameter.
    pub fn param(&self) -> Param {
        self.param
    }

    /// How entities share variates.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The validated distribution of every entity.
    pub fn dists(&self) -> &[Dist] {
        &self.dists
    }

    /// The variate each entity reads (meaningless when [`Self::has_variates`] is false).
    pub fn variate_of(&self) -> &[u32] {
        &self.variate_of
    }

    /// Whether the parameter takes variates (some distribution is not degenerate).
    pub fn has_variates(&self) -> bool {
        self.dists.iter().any(|d| !d.is_degenerate())
    }
}

/// The sampling plan of a run: every parameter with its distributions, and the
/// numbering of the independent uniform variates one draw consumes.
///
/// Variates are numbered parameter by parameter in the order of [`Param::ALL`], and
/// within a parameter by group (the single global group, provinces in table order, or
/// entities in table order). Parameters whose distributions are all degenerate take
/// no variate. This numbering is part of the reproducibility contract.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingPlan {
    params: Vec<ParamPlan>,
    n_variates: usize,
    copula: Copula,
}

/// A drawn value outside its parameter's physical range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "parameter `{param}` drew {value} for {level} `{entity}`, outside its physical range {range}; \
     truncate the distribution with `min`/`max` or choose a bounded one"
)]
pub struct RangeError {
    /// Parameter name.
    pub param: &'static str,
    /// Entity level name.
    pub level: &'static str,
    /// Entity id.
    pub entity: String,
    /// The offending value.
    pub value: f64,
    /// The physical range, printed.
    pub range: String,
}

impl SamplingPlan {
    /// Numbers the variates. `entries` holds one `(scope, dists, checked)` per
    /// parameter in [`Param::ALL`] order, each with one distribution per entity;
    /// `checked[e]` marks entities whose distribution can leave the physical range.
    pub fn new(network: &Network, entries: Vec<(Scope, Vec<Dist>, Vec<bool>)>) -> SamplingPlan {
        assert_eq!(entries.len(), Param::ALL.len());
        let mut next = 0u32;
        let mut params = Vec::with_capacity(entries.len());
        for (param, (scope, dists, checked)) in Param::ALL.into_iter().zip(entries) {
            assert_eq!(dists.len(), network.count(param.level()));
            let groups = group_of_entities(network, param.level(), scope);
            let n_groups = groups.iter().map(|&g| g + 1).max().unwrap_or(0);
            let random = dists.iter().any(|d| !d.is_degenerate());
            let variate_of = if random {
                let first = next;
                next += n_groups;
                groups.iter().map(|&g| first + g).collect()
            } else {
                vec![0; dists.len()]
            };
            let same_as = earlier_twins(&dists, &variate_of);
            params.push(ParamPlan {
                param,
                scope,
                dists,
                variate_of,
                checked,
                same_as,
            });
        }
        SamplingPlan {
            params,
            n_variates: next as usize,
            copula: Copula::default(),
        }
    }

    /// Sets the rank correlations applied to every draw's uniforms (built over this
    /// plan's numbering by [`Copula::new`]).
    pub fn set_copula(&mut self, copula: Copula) {
        self.copula = copula;
    }

    /// The rank correlations between variates.
    pub fn copula(&self) -> &Copula {
        &self.copula
    }

    /// Imposes the rank correlations on one draw's uniforms, in place (a no-op without
    /// `[[correlations]]`). Call it after the design fills the uniforms and before
    /// [`Self::apply`].
    #[inline]
    pub fn correlate(&self, uniforms: &mut [f64]) {
        self.copula.apply(uniforms);
    }

    /// Number of independent uniform variates per draw.
    pub fn n_variates(&self) -> usize {
        self.n_variates
    }

    /// The parameters, in [`Param::ALL`] order.
    pub fn params(&self) -> &[ParamPlan] {
        &self.params
    }

    /// Maps one draw's uniforms to parameter values, checking physical ranges where a
    /// distribution could leave them.
    #[inline]
    pub fn apply(
        &self,
        network: &Network,
        uniforms: &[f64],
        values: &mut ParamValues,
    ) -> Result<(), RangeError> {
        for plan in &self.params {
            let out = values.get_mut(plan.param);
            for e in 0..out.len() {
                if let Some(twin) = plan.same_as[e] {
                    out[e] = out[twin as usize];
                    continue;
                }
                let x = plan.dists[e].quantile(uniforms[plan.variate_of[e] as usize]);
                if plan.checked[e] && !plan.param.range().contains(x) {
                    return Err(range_error(network, plan.param, e, x));
                }
                out[e] = x;
            }
        }
        Ok(())
    }

    /// Sets every parameter to its distribution's median (the "central values").
    pub fn apply_medians(&self, values: &mut ParamValues) {
        for plan in &self.params {
            for (slot, d) in values.get_mut(plan.param).iter_mut().zip(&plan.dists) {
                *slot = d.median();
            }
        }
    }
}

#[cold]
fn range_error(network: &Network, param: Param, entity: usize, value: f64) -> RangeError {
    let id = match param.level() {
        Level::Province => network.provinces()[entity].id.clone(),
        Level::City => network.cities()[entity].id.clone(),
        Level::Link => {
            let l = network.links()[entity];
            format!(
                "{}→{}",
                network.provinces()[l.from].id,
                network.provinces()[l.to].id
            )
        }
    };
    RangeError {
        param: param.name(),
        level: param.level().name(),
        entity: id,
        value,
        range: param.range().to_string(),
    }
}

/// For each entity, the first earlier entity reading the same variate through an
/// equal distribution, if any.
fn earlier_twins(dists: &[Dist], variate_of: &[u32]) -> Vec<Option<u32>> {
    let mut firsts: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
    let mut same_as = Vec::with_capacity(dists.len());
    for (e, d) in dists.iter().enumerate() {
        let group = firsts.entry(variate_of[e]).or_default();
        match group.iter().find(|&&f| dists[f] == *d) {
            Some(&f) => same_as.push(Some(f as u32)),
            None => {
                group.push(e);
                same_as.push(None);
            }
        }
    }
    same_as
}

/// Group index (0-based, dense) of each entity under `scope`.
fn group_of_entities(network: &Network, level: Level, scope: Scope) -> Vec<u32> {
    let n = network.count(level);
    match scope {
        Scope::Global => vec![0; n],
        Scope::Own => (0..n as u32).collect(),
        Scope::Province => {
            // Only provinces that have cities get a variate, numbered in table order.
            let mut dense = vec![u32::MAX; network.provinces().len()];
            let mut next = 0;
            for p in 0..network.provinces().len() {
                if !network.cities_in(p).is_empty() {
                    dense[p] = next;
                    next += 1;
                }
            }
            network.cities().iter().map(|c| dense[c.province]).collect()
        }
    }
}
