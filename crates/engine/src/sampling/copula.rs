//! Rank correlation between parameters through a Gaussian copula.
//!
//! A `[[correlations]]` entry asks for Spearman's rank correlation `ρ_s` between two
//! parameters. The design fills the uniforms as usual; then, per draw, the uniforms of
//! each group of correlated variates are mapped `u → z = Φ⁻¹(u) → w = L z → Φ(w)`,
//! where `L` is the Cholesky factor of the Pearson correlations `r = 2 sin(π ρ_s / 6)`
//! (for a bivariate normal, this `r` has exactly the rank correlation `ρ_s`). The
//! parameters' own distributions then map the correlated uniforms, so marginals are
//! unchanged and the ranks of the parameter values have the asked correlation. It
//! works with every design, after the design has filled the uniforms.
//!
//! **Pairing rule.** Two correlated parameters must pair up one to one, so their
//! *pairing* (from level and scope) must be the same:
//!
//! | pairing | parameters | one block per |
//! |---|---|---|
//! | global | any level with `scope = "global"` | run (one pair of variates) |
//! | province | province-level parameters (own scope), city-level with `scope = "province"` | province |
//! | city | city-level parameters with `scope = "city"` | city |
//! | link | link-level parameters with `scope = "link"` | link |
//!
//! Correlations chain: entries a–b and b–c make one block of three per group. Within a
//! block the variables are ordered as in the parameter table (the [`Param::ALL`] order); the
//! first one keeps its uniform bit for bit. A group where only some of a block's
//! parameters have a variate (a province without cities has no variate of a
//! province-scoped city parameter) correlates those present, with the sub-matrix.

use super::dist::std_normal_cdf;
use super::normal::std_normal_quantile;
use super::scope::Scope;
use evcarbon_model::{Entity, Network, Param};

/// The smallest and largest uniforms any design produces; the copula's output is
/// kept inside them so that inverse CDFs stay finite.
const U_MIN: f64 = 0.5 / (1u64 << 52) as f64;
const U_MAX: f64 = 1.0 - U_MIN;

/// Smallest Cholesky pivot accepted: below it the matrix counts as not positive
/// definite.
const MIN_PIVOT: f64 = 1e-9;

/// What the copula needs to know of one parameter's sampling.
pub(crate) struct ParamVariates<'p> {
    /// The parameter.
    pub(crate) param: Param,
    /// How its entities share variates.
    pub(crate) scope: Scope,
    /// The variate each entity reads.
    pub(crate) variate_of: &'p [u32],
    /// Whether it draws a random value (some distribution is not degenerate).
    pub(crate) random: bool,
}

/// One requested rank correlation (names validated, `-1 < rank < 1`).
#[derive(Clone, Debug, PartialEq)]
pub struct Correlation {
    /// The two (different) parameters.
    pub params: [Param; 2],
    /// Spearman's rank correlation.
    pub rank: f64,
}

/// How a parameter's variates pair up with another parameter's (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pairing {
    /// One variate per draw.
    Global,
    /// One variate per province.
    Province,
    /// One variate per city.
    City,
    /// One variate per link.
    Link,
}

impl Pairing {
    /// The pairing of a parameter with one value per `entity`, sampled with `scope`.
    pub fn of(entity: Entity, scope: Scope) -> Pairing {
        match (scope, entity) {
            (Scope::Global, _) => Pairing::Global,
            (Scope::Province, _) | (Scope::Own, Entity::Province) => Pairing::Province,
            (Scope::Own, Entity::City) => Pairing::City,
            (Scope::Own, Entity::Link) => Pairing::Link,
        }
    }

    /// Words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Pairing::Global => "one global variate",
            Pairing::Province => "one variate per province",
            Pairing::City => "one variate per city",
            Pairing::Link => "one variate per link",
        }
    }
}

/// Why the correlations cannot be realised; `entry` indexes the list given.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CopulaError {
    /// A parameter without random variate (all its distributions are fixed).
    #[error(
        "parameter `{param}` is not random (every entity's distribution is fixed), so it cannot be correlated"
    )]
    Degenerate {
        /// The entry.
        entry: usize,
        /// The parameter.
        param: &'static str,
    },
    /// The two parameters do not pair up one to one.
    #[error(
        "`{a}` ({a_pairing}) and `{b}` ({b_pairing}) do not pair up; correlated parameters must both be global, \
         both per province (province-level, or city-level with scope = \"province\"), both per city \
         (scope = \"city\") or both per link"
    )]
    Mismatch {
        /// The entry.
        entry: usize,
        /// First parameter.
        a: &'static str,
        /// Its pairing, in words.
        a_pairing: &'static str,
        /// Second parameter.
        b: &'static str,
        /// Its pairing, in words.
        b_pairing: &'static str,
    },
    /// Correlations that chain into a matrix that is not positive definite.
    #[error(
        "the correlations {pairs} form a correlation matrix that is not positive definite; \
         weaken or drop one of them"
    )]
    NotPositiveDefinite {
        /// The entries involved.
        entries: Vec<usize>,
        /// The entries, printed.
        pairs: String,
    },
}

impl CopulaError {
    /// The entries the error is about (the first is where to report it).
    pub fn entries(&self) -> Vec<usize> {
        match self {
            CopulaError::Degenerate { entry, .. } | CopulaError::Mismatch { entry, .. } => {
                vec![*entry]
            }
            CopulaError::NotPositiveDefinite { entries, .. } => entries.clone(),
        }
    }
}

/// The Gaussian copula of a run: blocks of correlated variates with their Cholesky
/// factors. The empty copula (no correlations) leaves the uniforms untouched.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Copula {
    /// Variate indices of all blocks, block after block.
    vars: Vec<u32>,
    /// Packed lower-triangular Cholesky factors, block after block.
    lower: Vec<f64>,
    /// `(first var, size, first lower entry)` of each block.
    blocks: Vec<(u32, u32, u32)>,
}

impl Copula {
    /// Builds the copula for `correlations` over the variates of `params` (one per
    /// parameter, in [`Param::ALL`] order). Every problem is returned, each naming
    /// its entries.
    pub(crate) fn new(
        params: &[ParamVariates<'_>],
        network: &Network,
        correlations: &[Correlation],
    ) -> Result<Copula, Vec<CopulaError>> {
        let mut errors = Vec::new();
        let find = |p: Param| &params[p.index()];
        // Entries that pass the per-entry checks; the matrix is built from them only,
        // so that a bad entry does not hide a matrix problem among the others.
        let mut usable = Vec::with_capacity(correlations.len());
        for (i, c) in correlations.iter().enumerate() {
            let before = errors.len();
            let [a, b] = c.params.map(find);
            for p in [a, b] {
                if !p.random {
                    errors.push(CopulaError::Degenerate {
                        entry: i,
                        param: p.param.name(),
                    });
                }
            }
            let (pa, pb) = (pairing(a), pairing(b));
            if pa != pb {
                errors.push(CopulaError::Mismatch {
                    entry: i,
                    a: a.param.name(),
                    a_pairing: pa.describe(),
                    b: b.param.name(),
                    b_pairing: pb.describe(),
                });
            }
            if errors.len() == before {
                usable.push(i);
            }
        }

        // Connected components of the correlation graph, over parameter indices.
        let n = Param::ALL.len();
        let mut root: Vec<usize> = (0..n).collect();
        fn find_root(root: &mut [usize], mut i: usize) -> usize {
            while root[i] != i {
                root[i] = root[root[i]];
                i = root[i];
            }
            i
        }
        for c in usable.iter().map(|&e| &correlations[e]) {
            let (x, y) = (
                find_root(&mut root, c.params[0].index()),
                find_root(&mut root, c.params[1].index()),
            );
            root[x.max(y)] = x.min(y);
        }
        let involved: Vec<bool> = (0..n)
            .map(|i| {
                correlations
                    .iter()
                    .any(|c| c.params.iter().any(|p| p.index() == i))
            })
            .collect();

        let mut copula = Copula::default();
        for r in 0..n {
            let members: Vec<usize> = (0..n)
                .filter(|&i| involved[i] && find_root(&mut root, i) == r)
                .collect();
            if members.len() < 2 {
                continue;
            }
            let entries: Vec<usize> = usable
                .iter()
                .copied()
                .filter(|&e| members.contains(&correlations[e].params[0].index()))
                .collect();
            let k = members.len();
            let mut matrix = vec![0.0; k * k];
            for i in 0..k {
                matrix[i * k + i] = 1.0;
            }
            for &e in &entries {
                let c = &correlations[e];
                let at = |p: Param| {
                    members
                        .iter()
                        .position(|&m| m == p.index())
                        .expect("member")
                };
                let (i, j) = (at(c.params[0]), at(c.params[1]));
                let pearson = 2.0 * (std::f64::consts::PI * c.rank / 6.0).sin();
                matrix[i * k + j] = pearson;
                matrix[j * k + i] = pearson;
            }
            if cholesky(&matrix, k).is_none() {
                let pairs = entries
                    .iter()
                    .map(|&e| {
                        let c = &correlations[e];
                        format!("{}–{} ({})", c.params[0].name(), c.params[1].name(), c.rank)
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                errors.push(CopulaError::NotPositiveDefinite { entries, pairs });
                continue;
            }
            // One block per group (province, city, …) with the members present there.
            let keyed: Vec<Vec<(u32, u32)>> = members
                .iter()
                .map(|&m| keyed_variates(&params[m], network))
                .collect();
            let mut keys: Vec<u32> = keyed.iter().flatten().map(|&(key, _)| key).collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                let present: Vec<(usize, u32)> = keyed
                    .iter()
                    .enumerate()
                    .filter_map(|(i, kv)| {
                        kv.binary_search_by_key(&key, |&(k, _)| k)
                            .ok()
                            .map(|at| (i, kv[at].1))
                    })
                    .collect();
                if present.len() < 2 {
                    continue;
                }
                let s = present.len();
                let mut sub = vec![0.0; s * s];
                for (a, &(i, _)) in present.iter().enumerate() {
                    for (b, &(j, _)) in present.iter().enumerate() {
                        sub[a * s + b] = matrix[i * k + j];
                    }
                }
                let lower = cholesky(&sub, s).expect(
                    "a principal sub-matrix of a positive definite matrix is positive definite",
                );
                copula.blocks.push((
                    copula.vars.len() as u32,
                    s as u32,
                    copula.lower.len() as u32,
                ));
                copula.vars.extend(present.iter().map(|&(_, v)| v));
                copula.lower.extend(lower);
            }
        }
        if errors.is_empty() {
            Ok(copula)
        } else {
            Err(errors)
        }
    }

    /// Number of blocks (groups of correlated variates) per draw.
    pub fn n_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// The variates of each block, block after block.
    pub fn block_variates(&self) -> impl Iterator<Item = &[u32]> + '_ {
        self.blocks
            .iter()
            .map(|&(first, size, _)| &self.vars[first as usize..(first + size) as usize])
    }

    /// Correlates one draw's uniforms in place. Allocates nothing.
    #[inline]
    pub fn apply(&self, u: &mut [f64]) {
        for &(first, size, lower) in &self.blocks {
            let vars = &self.vars[first as usize..(first + size) as usize];
            let l = &self.lower[lower as usize..];
            let kept = u[vars[0] as usize];
            for &v in vars {
                u[v as usize] = std_normal_quantile(u[v as usize]);
            }
            // w = L z in place, last row first: row i reads z_0 … z_i only.
            for i in (1..vars.len()).rev() {
                let row = &l[i * (i + 1) / 2..][..=i];
                let w: f64 = row
                    .iter()
                    .zip(vars)
                    .map(|(lij, &v)| lij * u[v as usize])
                    .sum();
                u[vars[i] as usize] = std_normal_cdf(w).clamp(U_MIN, U_MAX);
            }
            // Row 0 of L is [1]: the first variable keeps its uniform exactly.
            u[vars[0] as usize] = kept;
        }
    }
}

/// The pairing of a parameter's variates.
fn pairing(p: &ParamVariates<'_>) -> Pairing {
    Pairing::of(p.param.entity(), p.scope)
}

/// `(group key, variate)` of a parameter, sorted by key: the key is 0 for global, the
/// province index for province pairing, the entity index for city and link pairing.
fn keyed_variates(p: &ParamVariates<'_>, network: &Network) -> Vec<(u32, u32)> {
    let variates = p.variate_of;
    let mut out: Vec<(u32, u32)> = match pairing(p) {
        Pairing::Global => variates.first().map(|&v| (0, v)).into_iter().collect(),
        Pairing::Province if p.param.entity() == Entity::City => network
            .cities()
            .iter()
            .zip(variates)
            .map(|(c, &v)| (c.province as u32, v))
            .collect(),
        _ => variates
            .iter()
            .enumerate()
            .map(|(e, &v)| (e as u32, v))
            .collect(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// Packed lower-triangular Cholesky factor of a symmetric `k × k` matrix, or `None`
/// when it is not (numerically) positive definite.
fn cholesky(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * (k + 1) / 2];
    let at = |i: usize, j: usize| i * (i + 1) / 2 + j;
    for i in 0..k {
        for j in 0..=i {
            let mut s = a[i * k + j];
            for p in 0..j {
                s -= l[at(i, p)] * l[at(j, p)];
            }
            if i == j {
                if s.is_nan() || s < MIN_PIVOT {
                    return None;
                }
                l[at(i, i)] = s.sqrt();
            } else {
                l[at(i, j)] = s / l[at(j, j)];
            }
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_of_a_known_matrix() {
        let l = cholesky(&[4.0, 2.0, 2.0, 5.0], 2).unwrap();
        assert_eq!(l, vec![2.0, 1.0, 2.0]);
        assert!(cholesky(&[1.0, 1.0, 1.0, 1.0], 2).is_none());
        // Three pairwise correlations of 0.9, -0.9, 0.9 cannot coexist.
        let r = [1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0];
        assert!(cholesky(&r, 3).is_none());
    }

    #[test]
    fn the_first_variable_is_untouched_and_outputs_stay_open() {
        let copula = Copula {
            vars: vec![2, 0],
            lower: vec![1.0, 0.6, 0.8],
            blocks: vec![(0, 2, 0)],
        };
        let mut u = [0.3, 0.77, 0.123456789];
        copula.apply(&mut u);
        assert_eq!(u[2], 0.123456789);
        assert_eq!(u[1], 0.77);
        let z = 0.6 * std_normal_quantile(0.123456789) + 0.8 * std_normal_quantile(0.3);
        assert!((u[0] - std_normal_cdf(z)).abs() < 1e-15);
        let mut extreme = [1.0 - U_MIN, 0.5, 1.0 - U_MIN];
        copula.apply(&mut extreme);
        assert!(extreme[0] < 1.0 && extreme[0] >= U_MIN);
    }
}
