//! Which uniform variate drives which entity of which parameter.

use super::copula::{Copula, CopulaError, Correlation, ParamVariates};
use super::dist::{Dist, Support, TableMap, TriangularMap, ZMap, table_quantiles};
use super::elementary::exp;
use super::normal::{std_normal_quantile, std_normal_quantiles};
use super::scope::Scope;
use crate::simd::avx2_dispatch;
use evcarbon_model::{Entity, Model, Network, Param, ParamValues};

/// One parameter's scope, distribution per entity, and per-entity flags marking
/// distributions that can leave the physical range (checked on every draw).
pub type PlanEntry = (Scope, Vec<Dist>, Vec<bool>);

/// One parameter's distributions (one per entity) and the variate each entity reads.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamPlan {
    param: Param,
    scope: Scope,
    dists: Vec<Dist>,
    variate_of: Vec<u32>,
    checked: Vec<bool>,
    /// Whether some entity is `checked` (looked up once, not on every draw: a
    /// scan of a per-city parameter's flags cost 1–2 % of a default run).
    any_checked: bool,
    /// The entities whose value is computed, and those that copy it.
    twins: Twins,
    /// Scenario changes `x → x·scale + shift` per entity (`None`: no change).
    affine: Option<Vec<(f64, f64)>>,
    /// True in a scenario variant for parameters that differ from the baseline.
    changed: bool,
    /// Set when every distribution is of the normal family (normal or truncated
    /// normal) or every one is lognormal (the per-city activity data, say): the
    /// draw is then mapped in batches that vectorize (see [`Self::apply_z_batch`]).
    z_batch: Option<ZBatch>,
    /// Set when every distribution is triangular (a per-link or per-province
    /// loss, say): the draw is then mapped without a branch per entity (see
    /// [`Self::apply_triangular`]).
    triangular: Option<TriangularBatch>,
    /// Set when every distribution is beta, PERT or gamma: the draw is then
    /// mapped leader by leader through their tabulated inverses (see
    /// [`Self::apply_tables`]).
    tables: Option<TableBatch>,
    /// Whether some entity takes a variate (some distribution is not degenerate);
    /// a parameter that takes none reads no uniform.
    random: bool,
    /// A part of each entity's normal score shared with the other cities of its
    /// province (`province_share`).
    shared: Option<SharedScore>,
}

/// The province-wide part of a per-city parameter's normal score: entity `c` maps
/// `z = √w·Z_province + √(1−w)·Z_c` through its distribution, where `Z_province`
/// is the score of its province's variate. Only for normal (untruncated) and
/// lognormal parameters, whose values are functions of the score.
#[derive(Clone, Debug, PartialEq)]
struct SharedScore {
    /// √w and √(1 − w).
    common: f64,
    own: f64,
    /// Per entity: the variate of its province.
    province_variate: Vec<u32>,
}
/// The inverse CDFs of a parameter's triangular leaders (see [`Twins`]), field
/// by field, so that the loop over them vectorizes where their variates are
/// consecutive.
#[derive(Clone, Debug, PartialEq)]
struct TriangularBatch {
    min: Vec<f64>,
    max: Vec<f64>,
    mode_cdf: Vec<f64>,
    left_area: Vec<f64>,
    right_area: Vec<f64>,
    variates: LeaderVariates,
}

impl TriangularBatch {
    /// The batch form of `dists`, if they are all triangular and `random` (take
    /// variates).
    fn of(dists: &[Dist], variate_of: &[u32], twins: &Twins, random: bool) -> Option<Self> {
        let maps: Option<Vec<TriangularMap>> = dists.iter().map(Dist::triangular_map).collect();
        let maps = maps.filter(|m| random && !m.is_empty())?;
        let leaders: Vec<usize> = twins.leaders.iter().map(|&e| e as usize).collect();
        let field = |f: fn(&TriangularMap) -> f64| leaders.iter().map(|&e| f(&maps[e])).collect();
        Some(TriangularBatch {
            min: field(|m| m.min),
            max: field(|m| m.max),
            mode_cdf: field(|m| m.mode_cdf),
            left_area: field(|m| m.left_area),
            right_area: field(|m| m.right_area),
            variates: LeaderVariates::of(variate_of, twins),
        })
    }
}

/// The tabulated quantile functions of a parameter's beta, PERT or gamma
/// leaders (see [`Twins`]); leaders with equal arguments share one table.
#[derive(Clone, Debug, PartialEq)]
struct TableBatch {
    maps: Vec<TableMap>,
    variates: LeaderVariates,
}

impl TableBatch {
    /// The batch form of `dists`, if they are all beta, PERT or gamma and
    /// `random` (take variates).
    fn of(dists: &[Dist], variate_of: &[u32], twins: &Twins, random: bool) -> Option<Self> {
        if !random || dists.is_empty() || dists.iter().any(|d| d.table_map().is_none()) {
            return None;
        }
        let maps = (twins.leaders.iter())
            .filter_map(|&e| dists[e as usize].table_map().cloned())
            .collect();
        Some(TableBatch {
            maps,
            variates: LeaderVariates::of(variate_of, twins),
        })
    }
}

/// Entities that copy an earlier entity's value: one with the same variate and
/// distribution (and scenario change). A shared draw through one distribution is
/// computed once, which matters for expensive inverse CDFs such as PERT and beta,
/// and for global per-city parameters (285 entities, a few distinct values).
#[derive(Clone, Debug, PartialEq)]
struct Twins {
    /// The entities that are no twin, ascending.
    leaders: Vec<u32>,
    /// `(leader, first, len)`: twins `first..first + len` copy `leader`, an
    /// earlier entity (a global parameter's 284 twins are one run).
    copies: Vec<(u32, u32, u32)>,
}

impl Twins {
    /// From each entity's earlier twin, if any.
    fn of(same_as: &[Option<u32>]) -> Twins {
        let mut twins = Twins {
            leaders: Vec::new(),
            copies: Vec::new(),
        };
        for (e, &leader) in same_as.iter().enumerate() {
            let e = e as u32;
            match (leader, twins.copies.last_mut()) {
                (Some(leader), Some((l, first, len))) if *l == leader && *first + *len == e => {
                    *len += 1;
                }
                (Some(leader), _) => twins.copies.push((leader, e, 1)),
                (None, _) => twins.leaders.push(e),
            }
        }
        twins
    }

    /// Copies each leader's value in `out` to its twins.
    #[inline]
    fn copy(&self, out: &mut [f64]) {
        for &(leader, first, len) in &self.copies {
            let value = out[leader as usize];
            out[first as usize..(first + len) as usize].fill(value);
        }
    }
}

/// The maps of a parameter whose entities are all of the normal family (normal
/// or truncated normal) or all lognormal (see [`ZMap`]), one per *leader*: an
/// entity that is no twin of an earlier one (see [`Twins`], whose `leaders` they
/// follow). A global per-city parameter has one leader and 284 twins, whose values
/// are copies; the batch computes one score and one `exp` for them, not 285.
#[derive(Clone, Debug, PartialEq)]
struct ZBatch {
    shift: Vec<f64>,
    scale: Vec<f64>,
    log: bool,
    /// `(u_lo, u_width, min, max)` per leader, when some entity is truncated.
    truncation: Option<Vec<(f64, f64, f64, f64)>>,
    variates: LeaderVariates,
}

/// The variate each leader of a batch reads (see [`Twins`]).
#[derive(Clone, Debug, PartialEq)]
struct LeaderVariates {
    of_leader: Vec<u32>,
    /// The first of them when they are consecutive (read as one slice).
    first: Option<u32>,
}

impl LeaderVariates {
    /// The variates of `twins`' leaders (there is at least one).
    fn of(variate_of: &[u32], twins: &Twins) -> LeaderVariates {
        let of_leader: Vec<u32> = twins
            .leaders
            .iter()
            .map(|&e| variate_of[e as usize])
            .collect();
        let first = of_leader[0];
        let consecutive = (of_leader.iter().enumerate()).all(|(k, &v)| v == first + k as u32);
        LeaderVariates {
            first: consecutive.then_some(first),
            of_leader,
        }
    }

    /// Number of leaders.
    fn len(&self) -> usize {
        self.of_leader.len()
    }

    /// Sets `us` to the uniforms of leaders `start..start + us.len()`.
    #[inline(always)]
    fn read(&self, uniforms: &[f64], start: usize, us: &mut [f64]) {
        let end = start + us.len();
        match self.first {
            Some(first) => {
                let first = first as usize;
                us.copy_from_slice(&uniforms[first + start..first + end]);
            }
            None => {
                for (u, &v) in us.iter_mut().zip(&self.of_leader[start..end]) {
                    *u = uniforms[v as usize];
                }
            }
        }
    }
}

impl ZBatch {
    /// The batch form of `dists`, if they are all of the normal family or all
    /// lognormal and `random` (take variates). Fixed values join a normal-family
    /// batch as normals of sd 0 (`v + 0·z` is `v`, for every `v` but −0.0): a
    /// parameter that only some entities draw (a source intensity of its own
    /// here and there) still maps in batches.
    fn of(dists: &[Dist], variate_of: &[u32], twins: &Twins, random: bool) -> Option<ZBatch> {
        let maps: Option<Vec<ZMap>> = dists.iter().map(Dist::z_map).collect();
        let maps = maps.or_else(|| {
            let normal = dists.iter().any(|d| d.z_map().is_some_and(|m| !m.log));
            let as_normal = |d: &Dist| d.z_map().or_else(|| d.fixed_as_z_map());
            normal.then(|| dists.iter().map(as_normal).collect::<Option<Vec<ZMap>>>())?
        });
        let maps = maps.filter(|m| random && !m.is_empty())?;
        let log = maps[0].log;
        let truncated = maps.iter().any(|m| {
            m.u_lo != 0.0 || m.u_width != 1.0 || m.min > f64::NEG_INFINITY || m.max < f64::INFINITY
        });
        // Entity 0 is a leader (no earlier twin), and there is one: `maps` is not empty.
        let leaders: Vec<usize> = twins.leaders.iter().map(|&e| e as usize).collect();
        let of_leaders = |f: &dyn Fn(&ZMap) -> f64| leaders.iter().map(|&e| f(&maps[e])).collect();
        maps.iter().all(|m| m.log == log).then(|| ZBatch {
            shift: of_leaders(&|m| m.shift),
            scale: of_leaders(&|m| m.scale),
            log,
            truncation: truncated.then(|| {
                leaders
                    .iter()
                    .map(|&e| (maps[e].u_lo, maps[e].u_width, maps[e].min, maps[e].max))
                    .collect()
            }),
            variates: LeaderVariates::of(variate_of, twins),
        })
    }
}

impl SharedScore {
    /// Mixes each leader's own score in `zs` with its province's. The province's
    /// score is computed once per run of leaders of one province (contiguous in
    /// the bundled tables; were they not, it would be computed more often, never
    /// differently).
    #[inline(always)]
    fn mix(&self, uniforms: &[f64], leaders: &[u32], zs: &mut [f64]) {
        let (mut variate, mut province_z) = (u32::MAX, f64::NAN);
        for (z, &e) in zs.iter_mut().zip(leaders) {
            let v = self.province_variate[e as usize];
            if v != variate {
                (variate, province_z) = (v, std_normal_quantile(uniforms[v as usize]));
            }
            *z = self.common * province_z + self.own * *z;
        }
    }
}

/// Entities mapped per batch: the uniforms and scores of a batch stay on the stack.
const BATCH: usize = 256;

/// Scratch of [`ParamPlan::apply_z_batch`]: a batch's uniforms, scores and values.
/// Set up once per draw for all parameters (zeroing it per parameter cost 1–2 %
/// of a run).
struct BatchScratch {
    us: [f64; BATCH],
    zs: [f64; BATCH],
    values: [f64; BATCH],
}

impl BatchScratch {
    fn new() -> BatchScratch {
        BatchScratch {
            us: [0.0; BATCH],
            zs: [0.0; BATCH],
            values: [0.0; BATCH],
        }
    }
}

impl ParamPlan {
    /// Maps one draw's uniforms to this parameter's values.
    #[inline(always)]
    fn apply(
        &self,
        network: &Network,
        uniforms: &[f64],
        values: &mut ParamValues,
        scratch: &mut BatchScratch,
    ) -> Result<(), RangeError> {
        let out = values.get_mut(self.param);
        if let Some(batch) = &self.z_batch {
            return self.apply_z_batch(batch, network, uniforms, out, scratch);
        }
        if let Some(batch) = &self.triangular {
            return self.apply_triangular(batch, network, uniforms, out, scratch);
        }
        if let Some(batch) = &self.tables {
            return self.apply_tables(batch, network, uniforms, out, scratch);
        }
        // Entities of a shared scope that read one variate through different normal or
        // lognormal distributions (a per-city mean, say) need the same z = Φ⁻¹(u):
        // it is computed once per run of such entities on one variate. Entities of a
        // group are contiguous in the bundled tables; were they not, z would only be
        // computed more often, never differently.
        let shares_z = self.scope != Scope::Own;
        let (mut z_variate, mut z) = (u32::MAX, f64::NAN);
        for &e in &self.twins.leaders {
            let e = e as usize;
            let (d, v) = (&self.dists[e], self.variate_of[e]);
            // A degenerate distribution ignores its uniform (a plan of fixed
            // values has none to read).
            let u = if self.random {
                uniforms[v as usize]
            } else {
                0.5
            };
            let mut x = if shares_z && d.reads_z() {
                if z_variate != v {
                    (z_variate, z) = (v, std_normal_quantile(u));
                }
                d.quantile_from_z(z)
            } else {
                d.quantile(u)
            };
            if let Some(affine) = &self.affine {
                let (scale, shift) = affine[e];
                x = x.mul_add(scale, shift);
            }
            // A finite support can still overflow to infinity (a lognormal with a
            // huge sigma), which must never reach the model or an output file.
            if (self.checked[e] || !x.is_finite()) && !self.param.range().contains(x) {
                return Err(range_error(network, self.param, e, x));
            }
            out[e] = x;
        }
        self.twins.copy(out);
        Ok(())
    }

    /// [`Self::apply`] for normal-family or lognormal entities: the scores, then
    /// the values, of up to [`BATCH`] leaders at a time in loops that vectorize,
    /// then the twins' copies, the scenario change and the range check over all
    /// entities. The same operations as entity by entity, so the same bits (entities
    /// that share a variate through different distributions compute the same score
    /// again, instead of copying it), and the same entity named when a value leaves
    /// its range (the first in table order).
    #[inline(always)]
    fn apply_z_batch(
        &self,
        batch: &ZBatch,
        network: &Network,
        uniforms: &[f64],
        out: &mut [f64],
        scratch: &mut BatchScratch,
    ) -> Result<(), RangeError> {
        let BatchScratch {
            us,
            zs,
            values: computed,
        } = scratch;
        let n_leaders = batch.variates.len();
        // With no twins, leader `k` is entity `k`, and values go straight to `out`.
        let has_twins = !self.twins.copies.is_empty();
        for start in (0..n_leaders).step_by(BATCH) {
            let end = n_leaders.min(start + BATCH);
            let (us, zs) = (&mut us[..end - start], &mut zs[..end - start]);
            let xs = if has_twins {
                &mut computed[..end - start]
            } else {
                &mut out[start..end]
            };
            batch.variates.read(uniforms, start, us);
            let truncation = batch.truncation.as_ref().map(|t| &t[start..end]);
            if let Some(truncation) = truncation {
                for (u, &(lo, width, _, _)) in us.iter_mut().zip(truncation) {
                    *u = lo + *u * width;
                }
            }
            std_normal_quantiles(us, zs);
            if let Some(shared) = &self.shared {
                shared.mix(uniforms, &self.twins.leaders[start..end], zs);
            }
            let (shift, scale) = (&batch.shift[start..end], &batch.scale[start..end]);
            if batch.log {
                lognormals_from_z(zs, shift, scale, xs);
            } else {
                for (((x, &z), &shift), &scale) in xs.iter_mut().zip(&*zs).zip(shift).zip(scale) {
                    *x = shift + scale * z;
                }
            }
            if let Some(truncation) = truncation.filter(|_| !batch.log) {
                for (x, &(_, _, min, max)) in xs.iter_mut().zip(truncation) {
                    // `f64::clamp`'s operations (NaN stays NaN).
                    *x = if *x < min {
                        min
                    } else if *x > max {
                        max
                    } else {
                        *x
                    };
                }
            }
            if has_twins {
                for (&x, &e) in computed.iter().zip(&self.twins.leaders[start..end]) {
                    out[e as usize] = x;
                }
            }
        }
        self.twins.copy(out);
        self.finish_batch(network, out)
    }

    /// [`Self::apply`] for triangular entities: [`TriangularMap::quantile`] for
    /// each leader, up to [`BATCH`] at a time in a loop without a branch per
    /// entity, then the twins' copies, the scenario change and the range check
    /// over all entities. The same operations as entity by entity, so the same
    /// bits.
    #[inline(always)]
    fn apply_triangular(
        &self,
        batch: &TriangularBatch,
        network: &Network,
        uniforms: &[f64],
        out: &mut [f64],
        scratch: &mut BatchScratch,
    ) -> Result<(), RangeError> {
        let leaders = (&batch.variates, uniforms);
        self.apply_leaders(leaders, network, out, scratch, |start, us, xs| {
            let end = start + us.len();
            let (min, max) = (&batch.min[start..end], &batch.max[start..end]);
            let mode_cdf = &batch.mode_cdf[start..end];
            let (left_area, right_area) =
                (&batch.left_area[start..end], &batch.right_area[start..end]);
            for k in 0..us.len() {
                let map = TriangularMap {
                    min: min[k],
                    max: max[k],
                    mode_cdf: mode_cdf[k],
                    left_area: left_area[k],
                    right_area: right_area[k],
                };
                xs[k] = map.quantile(us[k]);
            }
        })
    }

    /// [`Self::apply`] for beta, PERT and gamma entities: [`TableMap::quantile`]
    /// of each leader on its gathered uniform, up to [`BATCH`] at a time, the
    /// polynomials of several leaders evaluated together ([`table_quantiles`]),
    /// then the twins' copies, the
    /// scenario change and the range check over all entities. The same
    /// operations as [`Dist::quantile`], so the same bits.
    #[inline(always)]
    fn apply_tables(
        &self,
        batch: &TableBatch,
        network: &Network,
        uniforms: &[f64],
        out: &mut [f64],
        scratch: &mut BatchScratch,
    ) -> Result<(), RangeError> {
        let leaders = (&batch.variates, uniforms);
        self.apply_leaders(leaders, network, out, scratch, |start, us, xs| {
            table_quantiles(&batch.maps[start..start + us.len()], us, xs);
        })
    }

    /// The frame of a batch mapping: `map(start, us, xs)` sets the values `xs` of
    /// leaders `start..start + us.len()` from their uniforms `us`, up to
    /// [`BATCH`] at a time; then the values go to the leaders' entities, the
    /// twins copy them, and [`Self::finish_batch`] ends the draw.
    #[inline(always)]
    fn apply_leaders(
        &self,
        (variates, uniforms): (&LeaderVariates, &[f64]),
        network: &Network,
        out: &mut [f64],
        scratch: &mut BatchScratch,
        mut map: impl FnMut(usize, &[f64], &mut [f64]),
    ) -> Result<(), RangeError> {
        let n_leaders = variates.len();
        for start in (0..n_leaders).step_by(BATCH) {
            let end = n_leaders.min(start + BATCH);
            let (us, xs) = (
                &mut scratch.us[..end - start],
                &mut scratch.values[..end - start],
            );
            variates.read(uniforms, start, us);
            map(start, us, xs);
            for (&x, &e) in xs.iter().zip(&self.twins.leaders[start..end]) {
                out[e as usize] = x;
            }
        }
        self.twins.copy(out);
        self.finish_batch(network, out)
    }

    /// The end of a batch mapping: the scenario change of every entity, then the
    /// range check (the first entity out of range, in table order, is named).
    #[inline(always)]
    fn finish_batch(&self, network: &Network, out: &mut [f64]) -> Result<(), RangeError> {
        if let Some(affine) = &self.affine {
            for (x, &(scale, shift)) in out.iter_mut().zip(affine) {
                *x = x.mul_add(scale, shift);
            }
        }
        // Flagged without a branch per entity; the first one is named when any is.
        let range = self.param.range();
        let leaves = |x: f64, checked: bool| (checked | !x.is_finite()) & !range.contains(x);
        let any = if self.any_checked {
            out.iter()
                .zip(&self.checked)
                .fold(false, |any, (&x, &checked)| any | leaves(x, checked))
        } else {
            // `leaves(x, false)`: a value leaves the range only if it is not finite.
            out.iter().fold(false, |any, &x| any | !x.is_finite())
        };
        if !any {
            return Ok(());
        }
        let (e, x) = (0..out.len())
            .map(|e| (e, out[e]))
            .find(|&(e, x)| leaves(x, self.checked[e]))
            .expect("an entity was flagged");
        Err(range_error(network, self.param, e, x))
    }

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

    /// With `province_share`: the weights `(√w, √(1−w))` of the province's and
    /// the entity's own normal score, and each entity's province variate.
    pub fn shared_score(&self) -> Option<(f64, f64, &[u32])> {
        let s = self.shared.as_ref()?;
        Some((s.common, s.own, &s.province_variate))
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
    /// One past the last variate a draw of this plan reads: `n_variates`, or more
    /// in a scenario that gives a random distribution to a parameter the baseline
    /// leaves fixed (those variates are not the design's; see
    /// [`SamplingPlan::variant`]).
    variates_end: usize,
    copula: Copula,
}

/// A drawn value outside its parameter's physical range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "parameter `{param}` drew {value} for {kind} `{entity}`, outside its physical range {range}; \
     truncate the distribution with `min`/`max` or choose a bounded one"
)]
pub struct RangeError {
    /// Parameter name.
    pub param: &'static str,
    /// The kind of entity (`province`, `link`, `city`).
    pub kind: &'static str,
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
    pub fn new(network: &Network, entries: Vec<PlanEntry>) -> SamplingPlan {
        assert_eq!(entries.len(), Param::ALL.len());
        let mut next = 0u32;
        let mut params = Vec::with_capacity(entries.len());
        for (param, (scope, dists, checked)) in Param::ALL.into_iter().zip(entries) {
            assert_eq!(dists.len(), network.count(param.entity()));
            let groups = group_of_entities(network, param.entity(), scope);
            let n_groups = groups.iter().map(|&g| g + 1).max().unwrap_or(0);
            let random = dists.iter().any(|d| !d.is_degenerate());
            let variate_of = if random {
                let first = next;
                next += n_groups;
                groups.iter().map(|&g| first + g).collect()
            } else {
                vec![0; dists.len()]
            };
            let twins = Twins::of(&earlier_twins(&dists, &variate_of));
            params.push(ParamPlan {
                param,
                scope,
                z_batch: ZBatch::of(&dists, &variate_of, &twins, random),
                triangular: TriangularBatch::of(&dists, &variate_of, &twins, random),
                tables: TableBatch::of(&dists, &variate_of, &twins, random),
                dists,
                variate_of,
                any_checked: checked.contains(&true),
                checked,
                twins,
                affine: None,
                changed: false,
                random,
                shared: None,
            });
        }
        SamplingPlan {
            params,
            n_variates: next as usize,
            variates_end: next as usize,
            copula: Copula::default(),
        }
    }

    /// Gives per-city parameter `param` a normal-score part shared by the cities
    /// of each province, with share `w` of the score's variance (0 < w < 1): one
    /// more variate per province with cities, numbered after every variate so far,
    /// so that the others keep their numbers. Call it before [`Self::correlate`]
    /// and before making scenario variants.
    pub fn share_within_provinces(
        &mut self,
        network: &Network,
        param: Param,
        w: f64,
    ) -> Result<(), ShareError> {
        let plan = &self.params[param.index()];
        if !(w > 0.0 && w < 1.0) {
            return Err(ShareError::Range(w));
        }
        if param.entity() != Entity::City || plan.scope != Scope::Own {
            return Err(ShareError::Scope(param.name()));
        }
        let plain_scores = plan
            .z_batch
            .as_ref()
            .is_some_and(|b| b.truncation.is_none());
        if !plain_scores {
            return Err(ShareError::Family(param.name()));
        }
        let first = self.n_variates as u32;
        let groups = group_of_entities(network, Entity::City, Scope::Province);
        let n_groups = groups.iter().map(|&g| g + 1).max().unwrap_or(0);
        self.params[param.index()].shared = Some(SharedScore {
            common: w.sqrt(),
            own: (1.0 - w).sqrt(),
            province_variate: groups.iter().map(|&g| first + g).collect(),
        });
        self.n_variates += n_groups as usize;
        self.variates_end = self.n_variates;
        Ok(())
    }

    /// Whether `param` shares part of its score within provinces.
    pub fn is_shared_within_provinces(&self, param: Param) -> bool {
        self.params[param.index()].shared.is_some()
    }

    /// Sets the rank correlations applied to every draw's uniforms: the Gaussian
    /// copula of `correlations` over this plan's variates. Every problem is
    /// returned, each naming its entries (the plan is then left unchanged).
    pub fn correlate(
        &mut self,
        network: &Network,
        correlations: &[Correlation],
    ) -> Result<(), Vec<CopulaError>> {
        let params: Vec<ParamVariates<'_>> = self
            .params
            .iter()
            .map(|p| ParamVariates {
                param: p.param,
                scope: p.scope,
                variate_of: &p.variate_of,
                random: p.has_variates(),
            })
            .collect();
        self.copula = Copula::new(&params, network, correlations)?;
        Ok(())
    }

    /// Number of blocks of rank-correlated variates per draw (0 without
    /// `[[correlations]]`).
    pub fn correlated_blocks(&self) -> usize {
        self.copula.n_blocks()
    }

    /// The variates of each block of rank-correlated variates (empty without
    /// `[[correlations]]`).
    pub fn correlated_variates(&self) -> Vec<Vec<u32>> {
        self.copula.block_variates().map(<[u32]>::to_vec).collect()
    }

    /// Imposes the rank correlations on one draw's uniforms, in place (a no-op without
    /// `[[correlations]]`). Call it after the design fills the uniforms and before
    /// [`Self::apply`].
    #[inline]
    pub fn correlate_uniforms(&self, uniforms: &mut [f64]) {
        self.copula.apply(uniforms);
    }

    /// Number of independent uniform variates per draw that the design draws.
    pub fn n_variates(&self) -> usize {
        self.n_variates
    }

    /// One past the last variate a draw of this plan reads (at least
    /// [`Self::n_variates`]; more in a scenario with variates of its own).
    pub fn variates_end(&self) -> usize {
        self.variates_end
    }

    /// The parameters, in [`Param::ALL`] order.
    pub fn params(&self) -> &[ParamPlan] {
        &self.params
    }

    /// The parameters whose values [`Self::apply_changes`] draws again: those
    /// this plan (a scenario's variant) changes.
    pub fn changed_params(&self) -> impl Iterator<Item = Param> + '_ {
        self.params.iter().filter(|p| p.changed).map(|p| p.param)
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
        self.apply_params(network, uniforms, values, false)
    }

    /// Like [`Self::apply`] for a scenario variant whose `values` already hold the
    /// baseline's values of the same draw: only the changed parameters are redrawn.
    #[inline]
    pub fn apply_changes(
        &self,
        network: &Network,
        uniforms: &[f64],
        values: &mut ParamValues,
    ) -> Result<(), RangeError> {
        self.apply_params(network, uniforms, values, true)
    }

    avx2_dispatch! {
        /// [`Self::apply`] of every parameter, or of the changed ones only. In the
        /// AVX2 build the batches' loops over entities (the triangular quantiles,
        /// the twins' copies, the range check) run four values at a time.
        #[inline]
        fn apply_params(
            &self,
            network: &Network,
            uniforms: &[f64],
            values: &mut ParamValues,
            changed_only: bool,
        ) -> Result<(), RangeError> = self.apply_portable, avx2 self.apply_avx2;
    }

    #[inline(always)]
    fn apply_portable(
        &self,
        network: &Network,
        uniforms: &[f64],
        values: &mut ParamValues,
        changed_only: bool,
    ) -> Result<(), RangeError> {
        let mut scratch = BatchScratch::new();
        for plan in self.params.iter().filter(|p| p.changed || !changed_only) {
            plan.apply(network, uniforms, values, &mut scratch)?;
        }
        Ok(())
    }

    /// Sets every parameter to its distribution's median (the "central values").
    pub fn apply_medians(&self, values: &mut ParamValues) {
        for plan in &self.params {
            for (e, (slot, d)) in values
                .get_mut(plan.param)
                .iter_mut()
                .zip(&plan.dists)
                .enumerate()
            {
                let (scale, shift) = plan.affine.as_ref().map_or((1.0, 0.0), |a| a[e]);
                *slot = d.median().mul_add(scale, shift);
            }
        }
    }
}

/// A named scenario: the baseline plan with some parameters changed, sampled on
/// the same variates (common random numbers), and possibly other accounting.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Name from `[scenarios.NAME]`.
    pub name: String,
    /// Free text from the config.
    pub description: String,
    /// The changed plan.
    pub plan: SamplingPlan,
    /// The scenario's own model, when its accounting differs from the baseline's
    /// (`ice_basis`); `None`: the baseline's model.
    pub model: Option<Model>,
}

/// A scenario's change to one entity's parameter value.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Draw from another distribution, through the same variate.
    Replace(Dist),
    /// Transform the drawn value: `x → x·scale + shift` (scale ≥ 0).
    Affine {
        /// Multiplier (≥ 0).
        scale: f64,
        /// Added after scaling, in the parameter's unit.
        shift: f64,
    },
}

/// Why a scenario's changes cannot be applied.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum VariantError {
    /// The changed value can leave the physical range.
    #[error("{0}")]
    Range(String),
    /// A parameter shared within provinces got a distribution whose value is not a
    /// function of a normal score.
    #[error(
        "`{0}` shares part of its score within provinces (province_share), so a scenario can only \
         give it normal (without min/max) or lognormal distributions"
    )]
    Shared(&'static str),
}

/// Why a parameter cannot share part of its score within provinces.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ShareError {
    /// The share is not strictly between 0 and 1.
    #[error(
        "province_share must be strictly between 0 and 1 (0 means independent cities), not {0}"
    )]
    Range(f64),
    /// The parameter is not drawn city by city.
    #[error(
        "province_share needs a city-level parameter drawn city by city (scope = \"city\"); `{0}` is not"
    )]
    Scope(&'static str),
    /// The distributions are not functions of a normal score.
    #[error(
        "province_share works with normal (without min/max) and lognormal distributions; \
         give `{0}` one of them for every city"
    )]
    Family(&'static str),
}

impl SamplingPlan {
    /// A variant of this plan for a scenario: the same variates (common random
    /// numbers), with `changes` applied in order to the listed entities of each
    /// parameter.
    ///
    /// A parameter that takes no variate here (its distributions are fixed, or
    /// the config leaves it out) and gets a random distribution is given variates
    /// of its own, numbered by its scope from [`Self::variates_end`]: they are
    /// not the design's (the evaluator draws them from a stream of their own), so
    /// the baseline's draws do not change.
    pub fn variant(
        &self,
        network: &Network,
        changes: &[(Param, Vec<usize>, Change)],
    ) -> Result<SamplingPlan, VariantError> {
        let mut variant = self.clone();
        // Parameters given variates of their own by an earlier change.
        let mut numbered: Vec<Param> = Vec::new();
        for (param, entities, change) in changes {
            let plan = &mut variant.params[param.index()];
            plan.changed = true;
            let has_variates = self.params[param.index()]
                .dists
                .iter()
                .any(|d| !d.is_degenerate());
            for &e in entities {
                match change {
                    Change::Replace(d) => {
                        if !has_variates && !d.is_degenerate() && !numbered.contains(param) {
                            numbered.push(*param);
                            let groups = group_of_entities(network, param.entity(), plan.scope);
                            let first = variant.variates_end as u32;
                            let n_groups = groups.iter().map(|&g| g + 1).max().unwrap_or(0);
                            plan.variate_of = groups.iter().map(|&g| first + g).collect();
                            variant.variates_end += n_groups as usize;
                        }
                        plan.dists[e] = d.clone();
                        if let Some(a) = plan.affine.as_mut() {
                            a[e] = (1.0, 0.0);
                        }
                    }
                    Change::Affine { scale, shift } => {
                        let n = plan.dists.len();
                        let a = plan.affine.get_or_insert_with(|| vec![(1.0, 0.0); n]);
                        a[e] = (a[e].0 * scale, a[e].1.mul_add(*scale, *shift));
                    }
                }
            }
        }
        for plan in &mut variant.params {
            for e in 0..plan.dists.len() {
                let (scale, shift) = plan.affine.as_ref().map_or((1.0, 0.0), |a| a[e]);
                let s = plan.dists[e].support();
                let moved = Support {
                    lo: s.lo.mul_add(scale, shift),
                    hi: s.hi.mul_add(scale, shift),
                    open_lo: s.open_lo && scale > 0.0,
                };
                plan.checked[e] = check_support(plan.param, moved).map_err(VariantError::Range)?;
            }
            plan.any_checked = plan.checked.contains(&true);
            plan.twins = Twins::of(&earlier_twins_affine(
                &plan.dists,
                &plan.variate_of,
                plan.affine.as_deref(),
            ));
            let random = plan.has_variates();
            plan.random = random;
            plan.z_batch = ZBatch::of(&plan.dists, &plan.variate_of, &plan.twins, random);
            plan.triangular =
                TriangularBatch::of(&plan.dists, &plan.variate_of, &plan.twins, random);
            plan.tables = TableBatch::of(&plan.dists, &plan.variate_of, &plan.twins, random);
            let plain_scores = plan
                .z_batch
                .as_ref()
                .is_some_and(|b| b.truncation.is_none());
            if plan.shared.is_some() && !plain_scores {
                return Err(VariantError::Shared(plan.param.name()));
            }
        }
        Ok(variant)
    }
}

avx2_dispatch! {
    /// `out[k] = exp(shift[k] + scale[k]·zs[k])` (slices of one length), as
    /// [`Dist::quantile_from_z`] computes a lognormal, four values per instruction
    /// where the CPU has AVX2 (no FMA: the same operations, so the same bits).
    fn lognormals_from_z(zs: &[f64], shift: &[f64], scale: &[f64], out: &mut [f64])
        = lognormals_from_z_portable, avx2 lognormals_from_z_avx2;
}

#[inline(always)]
fn lognormals_from_z_portable(zs: &[f64], shift: &[f64], scale: &[f64], out: &mut [f64]) {
    let n = zs.len();
    let (shift, scale, out) = (&shift[..n], &scale[..n], &mut out[..n]);
    for k in 0..n {
        out[k] = exp(shift[k] + scale[k] * zs[k]);
    }
}

/// Checks a support against the parameter's physical range. Returns whether draws
/// must be checked at run time (an unbounded side meets a bounded range), or why the
/// support leaves the range.
pub fn check_support(p: Param, s: Support) -> Result<bool, String> {
    let r = p.range();
    let mut runtime = false;
    let outside = |what: &str| {
        Err(format!(
            "the distribution's support [{}, {}] leaves the physical range {} of {} ({what}); narrow it or choose other bounds",
            s.lo,
            s.hi,
            r,
            p.name()
        ))
    };
    if s.lo == f64::NEG_INFINITY {
        runtime |= r.lo > f64::NEG_INFINITY;
    } else if s.lo < r.lo || (s.lo == r.lo && r.lo_open && !s.open_lo) {
        return outside("lower end");
    }
    if s.hi == f64::INFINITY {
        runtime |= r.hi < f64::INFINITY;
    } else if s.hi > r.hi || (s.hi == r.hi && r.hi_open) {
        return outside("upper end");
    }
    Ok(runtime)
}

fn earlier_twins_affine(
    dists: &[Dist],
    variate_of: &[u32],
    affine: Option<&[(f64, f64)]>,
) -> Vec<Option<u32>> {
    let Some(affine) = affine else {
        return earlier_twins(dists, variate_of);
    };
    let mut same_as = earlier_twins(dists, variate_of);
    for (e, twin) in same_as.iter_mut().enumerate() {
        if let Some(t) = *twin
            && affine[t as usize] != affine[e]
        {
            *twin = None;
        }
    }
    same_as
}

#[cold]
fn range_error(network: &Network, param: Param, entity: usize, value: f64) -> RangeError {
    let id = match param.entity() {
        Entity::Province => network.provinces()[entity].id.clone(),
        Entity::City => network.cities()[entity].id.clone(),
        Entity::Link => {
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
        kind: param.entity().name(),
        entity: id,
        value,
        range: param.range().to_string(),
    }
}

/// For each entity, the first earlier entity reading the same variate through an
/// equal distribution, if any.
///
/// A degenerate distribution's value does not depend on its variate, so such
/// entities are twins across variates: the fixed entities of a parameter that
/// only some entities draw cost one value, not one each.
fn earlier_twins(dists: &[Dist], variate_of: &[u32]) -> Vec<Option<u32>> {
    let mut firsts: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
    let mut same_as = Vec::with_capacity(dists.len());
    for (e, d) in dists.iter().enumerate() {
        let key = if d.is_degenerate() {
            u32::MAX
        } else {
            variate_of[e]
        };
        let group = firsts.entry(key).or_default();
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
fn group_of_entities(network: &Network, entity: Entity, scope: Scope) -> Vec<u32> {
    let n = network.count(entity);
    match scope {
        Scope::Global => vec![0; n],
        Scope::Own => (0..n as u32).collect(),
        Scope::Province => {
            // Only provinces that have cities get a variate, numbered in table order.
            let mut dense = vec![u32::MAX; network.provinces().len()];
            let mut next = 0;
            for (p, slot) in dense.iter_mut().enumerate() {
                if !network.cities_in(p).is_empty() {
                    *slot = next;
                    next += 1;
                }
            }
            network.cities().iter().map(|c| dense[c.province]).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::DistSpec;
    use evcarbon_model::{City, Network, Province};

    fn city(id: &str, province: usize) -> City {
        City {
            id: id.into(),
            name: id.into(),
            province,
            tier: "t".into(),
            advanced: false,
        }
    }

    fn network() -> Network {
        let provinces = vec![Province { id: "A".into() }, Province { id: "B".into() }];
        Network::new(
            provinces,
            vec![city("a", 0), city("b", 1), city("c", 1)],
            Vec::new(),
        )
    }

    fn plan(net: &Network, stock_scope: Scope) -> SamplingPlan {
        let entries = Param::ALL
            .into_iter()
            .map(|p| {
                let n = net.count(p.entity());
                let spec = if p == Param::EvStock {
                    DistSpec::Uniform {
                        min: 100.0,
                        max: 200.0,
                    }
                } else {
                    DistSpec::Fixed { value: 0.5 }
                };
                let scope = if p == Param::EvStock {
                    stock_scope
                } else {
                    Scope::Global
                };
                (scope, vec![Dist::new(spec).unwrap(); n], vec![false; n])
            })
            .collect();
        SamplingPlan::new(net, entries)
    }

    /// A plan whose every parameter is fixed takes no variate and applies from an
    /// empty draw of uniforms: a run of it has zero spread.
    #[test]
    fn a_plan_of_fixed_values_reads_no_uniform() {
        let net = network();
        let entries = Param::ALL
            .into_iter()
            .map(|p| {
                let n = net.count(p.entity());
                let d = Dist::new(DistSpec::Fixed { value: 0.5 }).unwrap();
                (Scope::Global, vec![d; n], vec![false; n])
            })
            .collect();
        let plan = SamplingPlan::new(&net, entries);
        assert_eq!(plan.n_variates(), 0);
        let mut values = ParamValues::new(&net);
        plan.apply(&net, &[], &mut values).unwrap();
        assert_eq!(values.get(Param::EvStock), &[0.5, 0.5, 0.5]);
    }

    /// With `province_share` w, city `c` of a lognormal parameter maps
    /// `√w·Φ⁻¹(u_province) + √(1−w)·Φ⁻¹(u_c)`: the province variates come after
    /// every other, cities of one province share theirs, and w is refused outside
    /// (0, 1) and for distributions that are not functions of a normal score.
    #[test]
    fn a_score_shared_within_provinces_mixes_the_province_variate() {
        let net = network();
        let lognormal = Dist::new(DistSpec::LogNormal {
            mu: 1.0,
            sigma: 0.5,
        })
        .unwrap();
        let entries: Vec<PlanEntry> = Param::ALL
            .into_iter()
            .map(|p| {
                let n = net.count(p.entity());
                let d = if p == Param::CityGenerationTwh {
                    lognormal.clone()
                } else {
                    Dist::new(DistSpec::Fixed { value: 0.5 }).unwrap()
                };
                let scope = if p == Param::CityGenerationTwh {
                    Scope::Own
                } else {
                    Scope::Global
                };
                (scope, vec![d; n], vec![false; n])
            })
            .collect();
        let mut plan = SamplingPlan::new(&net, entries.clone());
        assert_eq!(plan.n_variates(), 3);
        let w: f64 = 0.36;
        plan.share_within_provinces(&net, Param::CityGenerationTwh, w)
            .unwrap();
        assert_eq!(
            plan.n_variates(),
            5,
            "one more variate per province with cities"
        );
        let u = [0.2, 0.7, 0.9, 0.6, 0.1];
        let mut values = ParamValues::new(&net);
        plan.apply(&net, &u, &mut values).unwrap();
        // Cities a (province A: variate 3), b and c (province B: variate 4).
        for (c, province_u) in [(0, u[3]), (1, u[4]), (2, u[4])] {
            let z = w.sqrt() * std_normal_quantile(province_u)
                + (1.0 - w).sqrt() * std_normal_quantile(u[c]);
            let expected = lognormal.quantile_from_z(z);
            assert_eq!(
                values.get(Param::CityGenerationTwh)[c].to_bits(),
                expected.to_bits()
            );
        }
        let mut other = SamplingPlan::new(&net, entries);
        for bad in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(matches!(
                other.share_within_provinces(&net, Param::CityGenerationTwh, bad),
                Err(ShareError::Range(_))
            ));
        }
        assert!(matches!(
            other.share_within_provinces(&net, Param::EvStock, 0.5),
            Err(ShareError::Scope(_))
        ));
        let uniform_stock = plan_with(&net, |p, n| {
            (p == Param::CityGenerationTwh).then(|| {
                let d = Dist::new(DistSpec::Uniform { min: 1.0, max: 2.0 }).unwrap();
                (Scope::Own, vec![d; n])
            })
        });
        let mut uniform_stock = uniform_stock;
        assert!(matches!(
            uniform_stock.share_within_provinces(&net, Param::CityGenerationTwh, 0.5),
            Err(ShareError::Family(_))
        ));
    }

    /// The AVX2 build of the lognormal batch gives the bits of the portable build
    /// and of `Dist::quantile_from_z`, overflow and underflow included.
    #[test]
    fn lognormal_batch_equals_the_scalar_quantile() {
        let zs: Vec<f64> = (0..301).map(|i| f64::from(i) * 0.05 - 7.5).collect();
        let shift: Vec<f64> = (0..301).map(|i| f64::from(i % 7) * 250.0 - 800.0).collect();
        let scale: Vec<f64> = (0..301).map(|i| f64::from(i % 5) * 0.4).collect();
        let mut batch = vec![0.0; zs.len()];
        lognormals_from_z(&zs, &shift, &scale, &mut batch);
        let mut portable = vec![0.0; zs.len()];
        lognormals_from_z_portable(&zs, &shift, &scale, &mut portable);
        for k in 0..zs.len() {
            let d = Dist::new(DistSpec::LogNormal {
                mu: shift[k],
                sigma: scale[k],
            })
            .unwrap();
            let scalar = d.quantile_from_z(zs[k]);
            assert_eq!(batch[k].to_bits(), scalar.to_bits(), "k = {k}");
            assert_eq!(portable[k].to_bits(), scalar.to_bits(), "k = {k}");
        }
        assert!(batch.contains(&f64::INFINITY) && batch.contains(&0.0));
    }

    /// A draw that leaves the physical range names the first entity (in table
    /// order) that left it, through the batch path (all normal) and through the
    /// per-entity path (mixed families) alike.
    #[test]
    fn a_draw_outside_the_range_names_the_first_entity_that_left_it() {
        let net = network();
        let normal = |mean| {
            Dist::new(DistSpec::Normal {
                mean,
                sd: 1.0,
                min: None,
                max: None,
            })
            .unwrap()
        };
        let uniform = Dist::new(DistSpec::Uniform { min: 1.0, max: 2.0 }).unwrap();
        for mixed in [false, true] {
            let entries = Param::ALL
                .into_iter()
                .map(|p| {
                    let n = net.count(p.entity());
                    if p == Param::EvStock {
                        let first = if mixed { uniform.clone() } else { normal(5.0) };
                        (
                            Scope::Own,
                            vec![first, normal(0.5), normal(-0.5)],
                            vec![true; n],
                        )
                    } else {
                        let fixed = Dist::new(DistSpec::Fixed { value: 0.5 }).unwrap();
                        (Scope::Global, vec![fixed; n], vec![false; n])
                    }
                })
                .collect();
            let plan = SamplingPlan::new(&net, entries);
            assert_eq!(
                plan.params[Param::EvStock.index()].z_batch.is_some(),
                !mixed
            );
            let mut values = ParamValues::new(&net);
            // u = 0.1 puts both normals below 0: entity b (index 1) is the first.
            let err = plan.apply(&net, &[0.1; 3], &mut values).unwrap_err();
            assert_eq!(err.entity, "b", "mixed = {mixed}");
            assert!(plan.apply(&net, &[0.9; 3], &mut values).is_ok());
        }
    }

    /// A scenario that replaces a bounded distribution with one that can leave
    /// the physical range has its draws checked, though the baseline's are not.
    #[test]
    fn a_scenario_that_can_leave_the_range_is_checked() {
        let net = network();
        let normal = |mean, min| {
            Dist::new(DistSpec::Normal {
                mean,
                sd: 1.0,
                min,
                max: None,
            })
            .unwrap()
        };
        let base = plan_with(&net, |p, n| {
            (p == Param::EvStock).then(|| (Scope::Own, vec![normal(5.0, Some(0.0)); n]))
        });
        let variant = base
            .variant(
                &net,
                &[(
                    Param::EvStock,
                    vec![2],
                    Change::Replace(normal(-10.0, None)),
                )],
            )
            .unwrap();
        // Still mapped in a batch, whose range check is skipped when no entity
        // needs one.
        assert!(variant.params[Param::EvStock.index()].z_batch.is_some());
        let mut values = ParamValues::new(&net);
        assert!(base.apply(&net, &[0.5; 3], &mut values).is_ok());
        let err = variant.apply(&net, &[0.5; 3], &mut values).unwrap_err();
        assert_eq!(err.entity, "c");
    }

    #[test]
    fn variates_are_numbered_by_scope_and_fixed_parameters_take_none() {
        let net = network();
        assert_eq!(plan(&net, Scope::Own).n_variates(), 3);
        assert_eq!(plan(&net, Scope::Province).n_variates(), 2);
        assert_eq!(plan(&net, Scope::Global).n_variates(), 1);
        // Province scope: b and c share B's variate, a reads A's.
        let p = plan(&net, Scope::Province);
        let mut values = ParamValues::new(&net);
        p.apply(&net, &[0.25, 0.75], &mut values).unwrap();
        assert_eq!(values.get(Param::EvStock), &[125.0, 175.0, 175.0]);
    }

    /// Each entity's value computed on its own: its distribution's quantile at its
    /// variate, then the scenario's affine change.
    fn straightforward(plan: &ParamPlan, u: &[f64]) -> Vec<u64> {
        (0..plan.dists.len())
            .map(|e| {
                let x = plan.dists[e].quantile(u[plan.variate_of[e] as usize]);
                let (scale, shift) = plan.affine.as_ref().map_or((1.0, 0.0), |a| a[e]);
                x.mul_add(scale, shift).to_bits()
            })
            .collect()
    }

    /// A plan over `net` with `chosen(param, n)`'s scope and distributions where
    /// it gives some, and every other parameter fixed at 0.5.
    fn plan_with(
        net: &Network,
        chosen: impl Fn(Param, usize) -> Option<(Scope, Vec<Dist>)>,
    ) -> SamplingPlan {
        let entries = Param::ALL
            .into_iter()
            .map(|p| {
                let n = net.count(p.entity());
                let (scope, dists) = chosen(p, n).unwrap_or_else(|| {
                    let fixed = Dist::new(DistSpec::Fixed { value: 0.5 }).unwrap();
                    (Scope::Global, vec![fixed; n])
                });
                (scope, dists, vec![false; n])
            })
            .collect();
        SamplingPlan::new(net, entries)
    }

    /// Seven cities that alternate between two provinces.
    fn alternating_cities() -> Network {
        let provinces = vec![Province { id: "A".into() }, Province { id: "B".into() }];
        let cities = (0..7).map(|c| city(&format!("c{c}"), c % 2)).collect();
        Network::new(provinces, cities, Vec::new())
    }

    /// The variant of `base` whose `distribution_loss` of cities 2 and 3 is
    /// changed to `x·0.5 + 0.01`.
    fn loss_changed_in_cities_2_and_3(net: &Network, base: &SamplingPlan) -> SamplingPlan {
        let change = Change::Affine {
            scale: 0.5,
            shift: 0.01,
        };
        base.variant(net, &[(Param::DistributionLoss, vec![2, 3], change)])
            .unwrap()
    }

    /// Triangular parameters are mapped in a batch, shared per province (with
    /// twins) or per city, and a scenario change on some entities: every value
    /// has the bits of the textbook inverse CDF, branch and all.
    #[test]
    fn triangular_batches_give_the_textbook_quantiles_bit_for_bit() {
        let net = alternating_cities();
        let spec = |c: usize, p: Param| match p {
            // Per province, as the default's `distribution_loss`.
            Param::DistributionLoss => [(0.025, 0.045, 0.07), (0.1, 0.3, 0.7)][c % 2],
            _ => (1.0 + c as f64, 1.5 + 2.0 * c as f64, 3.0 + 3.0 * c as f64),
        };
        let triangular =
            |(min, mode, max)| Dist::new(DistSpec::Triangular { min, mode, max }).unwrap();
        let base = plan_with(&net, |p, n| {
            let dists = || (0..n).map(|c| triangular(spec(c, p))).collect();
            match p {
                Param::DistributionLoss => Some((Scope::Province, dists())),
                Param::CityGenerationTwh => Some((Scope::Own, dists())),
                _ => None,
            }
        });
        let variant = loss_changed_in_cities_2_and_3(&net, &base);
        let textbook = |(min, mode, max): (f64, f64, f64), u: f64| {
            let width = max - min;
            if u < (mode - min) / width {
                min + (u * (width * (mode - min))).sqrt()
            } else {
                max - ((1.0 - u) * (width * (max - mode))).sqrt()
            }
        };
        let mut values = ParamValues::new(&net);
        // The modes' levels take the upper branch (at province B's the two branches
        // differ in the last bit); 0 and 1 − 2⁻⁵³ are the ends.
        let modes = [
            (0.045 - 0.025) / (0.07 - 0.025),
            (0.3 - 0.1) / (0.7 - 0.1),
            0.25,
        ];
        let levels = [
            modes[0],
            modes[1],
            modes[2],
            0.0,
            1.0 - f64::EPSILON / 2.0,
            0.7,
            0.01,
        ];
        for shift in 0..levels.len() {
            let u: Vec<f64> = (0..base.n_variates())
                .map(|v| levels[(v + shift) % levels.len()])
                .collect();
            for (plan, changed) in [(&base, &[][..]), (&variant, &[2usize, 3][..])] {
                plan.apply(&net, &u, &mut values).unwrap();
                for p in [Param::DistributionLoss, Param::CityGenerationTwh] {
                    let param_plan = &plan.params[p.index()];
                    assert!(
                        param_plan.triangular.is_some(),
                        "{p:?} is mapped in a batch"
                    );
                    for (c, &x) in values.get(p).iter().enumerate() {
                        let mut expected =
                            textbook(spec(c, p), u[param_plan.variate_of[c] as usize]);
                        if p == Param::DistributionLoss && changed.contains(&c) {
                            expected = expected.mul_add(0.5, 0.01);
                        }
                        assert_eq!(
                            x.to_bits(),
                            expected.to_bits(),
                            "{p:?} city {c}, shift {shift}"
                        );
                    }
                }
            }
        }
        // Provinces share a variate: the per-province parameter has two leaders.
        let leaders = &base.params[Param::DistributionLoss.index()].twins.leaders;
        assert_eq!(leaders.len(), 2);
    }

    /// PERT, beta and gamma parameters are mapped through their tables in a
    /// batch, per city, per province (with twins) and global, with a scenario
    /// change on some entities: every value has the bits of [`Dist::quantile`],
    /// inside the tables' range and outside it (the exact fallback).
    #[test]
    fn table_batches_give_the_scalar_quantiles_bit_for_bit() {
        let net = alternating_cities();
        let dist = |spec| Dist::new(spec).unwrap();
        let base = plan_with(&net, |p, n| {
            let per = |f: &dyn Fn(usize) -> DistSpec| (0..n).map(|c| dist(f(c))).collect();
            match p {
                Param::CityGenerationTwh => Some((
                    Scope::Own,
                    per(&|c| DistSpec::Pert {
                        min: 1.0 + c as f64,
                        mode: 1.5 + 1.7 * c as f64,
                        max: 3.0 + 3.0 * c as f64,
                        shape: 4.0,
                    }),
                )),
                Param::DistributionLoss => Some((
                    Scope::Province,
                    per(&|c| DistSpec::Beta {
                        alpha: [0.7, 40.0][c % 2],
                        beta: [2.5, 7.0][c % 2],
                        min: 0.02,
                        max: 0.08,
                    }),
                )),
                Param::VktKm => Some((
                    Scope::Global,
                    per(&|c| DistSpec::Gamma {
                        shape: [0.3, 2.5, 20.0][c % 3],
                        scale: 1000.0,
                    }),
                )),
                _ => None,
            }
        });
        let variant = loss_changed_in_cities_2_and_3(&net, &base);
        let params = [
            Param::CityGenerationTwh,
            Param::DistributionLoss,
            Param::VktKm,
        ];
        for p in params {
            assert!(base.params[p.index()].tables.is_some(), "{p:?} in a batch");
        }
        let leaders = |p: Param| base.params[p.index()].twins.leaders.len();
        assert_eq!((leaders(params[1]), leaders(params[2])), (2, 3));
        let levels = [1e-12, 0.3, 0.5, 0.999, 1.0 - 1e-12, 0.01, 1e-5];
        let mut values = ParamValues::new(&net);
        for shift in 0..levels.len() {
            let u: Vec<f64> = (0..base.n_variates())
                .map(|v| levels[(v + shift) % levels.len()])
                .collect();
            for plan in [&base, &variant] {
                plan.apply(&net, &u, &mut values).unwrap();
                for p in params {
                    let got: Vec<u64> = values.get(p).iter().map(|x| x.to_bits()).collect();
                    let expected = straightforward(&plan.params[p.index()], &u);
                    assert_eq!(got, expected, "{p:?}, shift {shift}");
                }
            }
        }
    }

    /// A batch whose entities are twins of a few (a global per-city parameter
    /// with a value per tier, say) maps its leaders only and copies the rest: the
    /// bits of mapping every entity, also when a scenario change splits twins.
    #[test]
    fn a_batch_of_twins_maps_its_leaders_and_copies_the_bits() {
        let net = alternating_cities();
        let lognormal = |mu| Dist::new(DistSpec::LogNormal { mu, sigma: 0.3 }).unwrap();
        let truncated = |mean| {
            Dist::new(DistSpec::Normal {
                mean,
                sd: 2.0,
                min: Some(0.0),
                max: None,
            })
            .unwrap()
        };
        let base = plan_with(&net, |p, n| match p {
            Param::VktKm => Some((
                Scope::Global,
                (0..n).map(|c| lognormal(9.0 + (c % 3) as f64)).collect(),
            )),
            Param::EvStock => Some((
                Scope::Province,
                (0..n).map(|c| truncated(1.0 + (c % 2) as f64)).collect(),
            )),
            _ => None,
        });
        let leaders = |plan: &SamplingPlan, p: Param| {
            let plan = &plan.params[p.index()];
            assert!(plan.z_batch.is_some(), "{p:?} is mapped in batches");
            plan.twins.leaders.len()
        };
        assert_eq!(leaders(&base, Param::VktKm), 3);
        // Cities alternate between the two provinces, with the province's mean: one
        // distinct (variate, distribution) pair per province.
        assert_eq!(leaders(&base, Param::EvStock), 2);
        let variant = base
            .variant(
                &net,
                &[(
                    Param::VktKm,
                    vec![3, 6],
                    Change::Affine {
                        scale: 0.8,
                        shift: 0.0,
                    },
                )],
            )
            .unwrap();
        // c3 and c6, changed, are no longer twins of c0: they lead too (twins are
        // only looked for among the baseline's leaders).
        assert_eq!(leaders(&variant, Param::VktKm), 5);
        assert_maps_like_straightforward(&net, &[&base, &variant]);
    }

    /// `ev_stock` and `vkt_km` of every plan, at a few uniforms, have the bits of
    /// [`straightforward`].
    fn assert_maps_like_straightforward(net: &Network, plans: &[&SamplingPlan]) {
        let mut values = ParamValues::new(net);
        for u in [[0.3, 0.7, 0.01], [0.5, 0.999, 1e-9], [0.92, 0.08, 0.5]] {
            for plan in plans {
                plan.apply(net, &u, &mut values).unwrap();
                for p in [Param::EvStock, Param::VktKm] {
                    let bits: Vec<u64> = values.get(p).iter().map(|x| x.to_bits()).collect();
                    assert_eq!(
                        bits,
                        straightforward(&plan.params[p.index()], &u),
                        "{p:?} at {u:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_shared_normal_score_gives_the_per_entity_values_bit_for_bit() {
        // Cities of a province are not contiguous here (a, c in A; b, d in B), and the
        // distributions differ per city, mixing families that read z with one that
        // does not, plus twins.
        let provinces = vec![Province { id: "A".into() }, Province { id: "B".into() }];
        let net = Network::new(
            provinces,
            vec![
                city("a", 0),
                city("b", 1),
                city("c", 0),
                city("d", 1),
                city("e", 0),
            ],
            Vec::new(),
        );
        let lognormal = |mu| Dist::new(DistSpec::LogNormal { mu, sigma: 0.3 }).unwrap();
        let normal = |mean| {
            Dist::new(DistSpec::Normal {
                mean,
                sd: 0.1 * mean,
                min: None,
                max: None,
            })
            .unwrap()
        };
        let truncated = Dist::new(DistSpec::Normal {
            mean: 5.0,
            sd: 2.0,
            min: Some(0.0),
            max: None,
        })
        .unwrap();
        let shared = |p: Param| match p {
            Param::EvStock => Some((
                Scope::Global,
                vec![
                    lognormal(9.0),
                    lognormal(10.0),
                    truncated.clone(),
                    lognormal(9.0),
                    normal(7e3),
                ],
            )),
            Param::VktKm => Some((
                Scope::Province,
                vec![
                    normal(12e3),
                    lognormal(9.5),
                    normal(15e3),
                    truncated.clone(),
                    lognormal(9.6),
                ],
            )),
            _ => None,
        };
        let entries = Param::ALL
            .into_iter()
            .map(|p| {
                let n = net.count(p.entity());
                let (scope, dists) = shared(p).unwrap_or_else(|| {
                    (
                        Scope::Global,
                        vec![Dist::new(DistSpec::Fixed { value: 0.5 }).unwrap(); n],
                    )
                });
                (scope, dists, vec![false; n])
            })
            .collect();
        let base = SamplingPlan::new(&net, entries);
        let variant = base
            .variant(
                &net,
                &[(
                    Param::EvStock,
                    vec![1, 4],
                    Change::Affine {
                        scale: 1.5,
                        shift: 2.0,
                    },
                )],
            )
            .unwrap();
        assert_maps_like_straightforward(&net, &[&base, &variant]);
    }

    #[test]
    fn a_variant_changes_only_the_selected_entities_on_the_same_variates() {
        let net = network();
        let base = plan(&net, Scope::Own);
        let variant = base
            .variant(
                &net,
                &[
                    (
                        Param::EvStock,
                        vec![1],
                        Change::Affine {
                            scale: 2.0,
                            shift: 1.0,
                        },
                    ),
                    (
                        Param::EvStock,
                        vec![2],
                        Change::Replace(
                            Dist::new(DistSpec::Uniform {
                                min: 0.0,
                                max: 10.0,
                            })
                            .unwrap(),
                        ),
                    ),
                ],
            )
            .unwrap();
        assert_eq!(variant.n_variates(), base.n_variates());
        let u = [0.5, 0.5, 0.2];
        let (mut a, mut b) = (ParamValues::new(&net), ParamValues::new(&net));
        base.apply(&net, &u, &mut a).unwrap();
        variant.apply(&net, &u, &mut b).unwrap();
        assert_eq!(a.get(Param::EvStock), &[150.0, 150.0, 120.0]);
        assert_eq!(b.get(Param::EvStock), &[150.0, 301.0, 2.0]);
        // A shift that makes stock negative leaves the physical range.
        let err = base.variant(
            &net,
            &[(
                Param::EvStock,
                vec![0],
                Change::Affine {
                    scale: 1.0,
                    shift: -150.0,
                },
            )],
        );
        assert!(matches!(err, Err(VariantError::Range(_))));
        // A parameter fixed in the baseline that a scenario makes random reads
        // variates of its own, after the baseline's, whose numbering stays.
        let random = Dist::new(DistSpec::Uniform { min: 0.0, max: 1.0 }).unwrap();
        let variant = base
            .variant(&net, &[(Param::VktKm, vec![0], Change::Replace(random))])
            .unwrap();
        assert_eq!(variant.n_variates(), base.n_variates());
        assert!(variant.variates_end() > base.n_variates());
        let mut u = u.to_vec();
        u.resize(variant.variates_end(), 0.25);
        variant.apply(&net, &u, &mut b).unwrap();
        assert_eq!(b.get(Param::VktKm)[0], 0.25);
        assert_eq!(b.get(Param::EvStock), a.get(Param::EvStock));
    }
}
