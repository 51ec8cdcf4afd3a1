//! `[params.NAME]` blocks: distribution family, arguments (numbers or table columns)
//! and scope, resolved into one validated distribution per entity.

use super::data::DataTables;
use super::diagnostics::{Diagnostics, SourceText};
use super::tables::{NumericCache, Table};
use super::toml_read::{Section, kind_of, number};
use evcarbon_engine::sampling::{Dist, DistSpec, Scope};
use evcarbon_engine::sampling::{PlanEntry, check_support};
use evcarbon_model::{Entity, Fallback, Network, OwnIntensities, Param};
use toml::de::DeValue;

/// A distribution argument as written: a number or a column of the table of the parameter's entities.
#[derive(Clone, Debug)]
enum Arg {
    Number(f64),
    Column(String, usize),
}

/// A `[params.NAME]` block after reading, before resolving against the tables.
pub(super) struct RawParam {
    param: Param,
    offset: usize,
    scope: Option<(String, usize)>,
    /// `province_share` and its offset.
    province_share: Option<(f64, usize)>,
    dist: RawDist,
}

/// A `province_share` to install once the plan is numbered: the parameter, the
/// share and where it was written.
pub(super) type ProvinceShare = (Param, f64, usize);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Family {
    Fixed,
    Uniform,
    Triangular,
    Pert,
    Normal,
    LogNormal,
    Beta,
    Gamma,
}

impl Family {
    const ALL: [(&'static str, Family); 8] = [
        ("fixed", Family::Fixed),
        ("uniform", Family::Uniform),
        ("triangular", Family::Triangular),
        ("pert", Family::Pert),
        ("normal", Family::Normal),
        ("lognormal", Family::LogNormal),
        ("beta", Family::Beta),
        ("gamma", Family::Gamma),
    ];

    /// Every argument key the family accepts.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Family::Fixed => &["value"],
            Family::Uniform => &["min", "max"],
            Family::Triangular => &["min", "mode", "max"],
            Family::Pert => &["min", "mode", "max", "shape"],
            Family::Normal => &["mean", "sd", "cv", "min", "max"],
            Family::LogNormal => &["median", "gsd", "mean", "cv", "mu", "sigma"],
            Family::Beta => &["alpha", "beta", "min", "max"],
            Family::Gamma => &["shape", "scale"],
        }
    }

    /// The accepted combinations of arguments, each a (required, optional) pair.
    fn forms(self) -> &'static [(&'static [&'static str], &'static [&'static str])] {
        match self {
            Family::Fixed => &[(&["value"], &[])],
            Family::Uniform => &[(&["min", "max"], &[])],
            Family::Triangular => &[(&["min", "mode", "max"], &[])],
            Family::Pert => &[(&["min", "mode", "max"], &["shape"])],
            Family::Normal => &[
                (&["mean", "sd"], &["min", "max"]),
                (&["mean", "cv"], &["min", "max"]),
            ],
            Family::LogNormal => &[
                (&["median", "gsd"], &[]),
                (&["mean", "cv"], &[]),
                (&["mu", "sigma"], &[]),
            ],
            Family::Beta => &[(&["alpha", "beta"], &["min", "max"])],
            Family::Gamma => &[(&["shape", "scale"], &[])],
        }
    }

    fn describe_forms(self) -> String {
        self.forms()
            .iter()
            .map(|(req, opt)| {
                let mut s = req.join(" + ");
                if !opt.is_empty() {
                    s.push_str(&format!(" (optional: {})", opt.join(", ")));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(", or ")
    }
}

/// Reads every `[params.*]` block; unknown parameter names and malformed blocks are
/// reported, and missing parameters too.
pub(super) fn read_raw(
    src: &SourceText,
    diags: &mut Diagnostics,
    root: &Section<'_, '_>,
) -> RawParams {
    let Some(params) = root.table(src, diags, "params") else {
        if root.get("params").is_none() {
            root.missing(
                src,
                diags,
                "params",
                "add a [params.NAME] block for every model parameter",
            );
        }
        return RawParams {
            params: Vec::new(),
            offset: None,
            named: Vec::new(),
        };
    };
    let mut out = Vec::new();
    for (key, value) in params.table.iter() {
        let name = key.get_ref().as_ref();
        let Some(param) = Param::from_name(name) else {
            let valid: Vec<_> = Param::ALL.iter().map(|p| p.name()).collect();
            diags.at_offset(
                src,
                key.span().start,
                format!("params.{name}"),
                format!("unknown parameter; valid: {}", valid.join(", ")),
            );
            continue;
        };
        let DeValue::Table(table) = value.get_ref() else {
            diags.at_offset(
                src,
                value.span().start,
                format!("params.{name}"),
                format!("expected a table, got {}", kind_of(value.get_ref())),
            );
            continue;
        };
        let section = Section {
            path: format!("params.{name}"),
            table,
            offset: key.span().start,
        };
        if let Some(raw) = read_one(src, diags, param, &section) {
            out.push(raw);
        }
    }
    let named = params
        .table
        .iter()
        .map(|(k, _)| k.get_ref().to_string())
        .collect();
    RawParams {
        params: out,
        offset: Some(params.offset),
        named,
    }
}

/// The `[params]` blocks that could be read, and where the table starts.
pub(super) struct RawParams {
    params: Vec<RawParam>,
    /// Offset of `[params]` (None when it is absent: already reported).
    offset: Option<usize>,
    /// Every key under `[params]`, readable or not (so a broken block is not also
    /// reported as missing).
    named: Vec<String>,
}

fn read_one(
    src: &SourceText,
    diags: &mut Diagnostics,
    param: Param,
    s: &Section<'_, '_>,
) -> Option<RawParam> {
    let scope = s.string(src, diags, "scope");
    let province_share = s.get("province_share").and_then(|v| {
        let share = number(src, diags, &s.key_path("province_share"), v)?;
        Some((share, v.span().start))
    });
    let dist = read_dist(src, diags, s, &["scope", "province_share"])?;
    Some(RawParam {
        param,
        offset: s.offset,
        scope,
        province_share,
        dist,
    })
}

/// A distribution as written: family and arguments, not yet resolved per entity.
#[derive(Clone, Debug)]
pub(super) struct RawDist {
    family: Family,
    args: Vec<(&'static str, Arg)>,
}

impl RawDist {
    fn uses_columns(&self) -> bool {
        self.args.iter().any(|(_, a)| matches!(a, Arg::Column(..)))
    }
}

/// Reads `dist` and its arguments from a table whose other allowed keys are
/// `extra_keys`; reports unknown keys and argument sets that fit no form.
pub(super) fn read_dist(
    src: &SourceText,
    diags: &mut Diagnostics,
    s: &Section<'_, '_>,
    extra_keys: &[&str],
) -> Option<RawDist> {
    let family = match s.string(src, diags, "dist") {
        Some((name, at)) => match Family::ALL.iter().find(|(n, _)| *n == name) {
            Some(&(_, f)) => Some(f),
            None => {
                let valid: Vec<_> = Family::ALL.iter().map(|(n, _)| *n).collect();
                diags.at_offset(
                    src,
                    at,
                    s.key_path("dist"),
                    format!("unknown distribution `{name}`; valid: {}", valid.join(", ")),
                );
                None
            }
        },
        None => {
            if s.get("dist").is_none() {
                s.missing(
                    src,
                    diags,
                    "dist",
                    "name the distribution, e.g. dist = \"normal\"",
                );
            }
            None
        }
    };
    let family = family?;
    let mut allowed = vec!["dist"];
    allowed.extend_from_slice(extra_keys);
    allowed.extend_from_slice(family.keys());
    s.reject_unknown(src, diags, &allowed);

    let mut args = Vec::new();
    let mut unreadable = false;
    for &key in family.keys() {
        let Some(v) = s.get(key) else { continue };
        let place = s.key_path(key);
        let arg = match v.get_ref() {
            DeValue::Table(t) => column_ref(src, diags, &place, t, v.span().start),
            _ => number(src, diags, &place, v).map(Arg::Number),
        };
        match arg {
            Some(arg) => args.push((key, arg)),
            None => unreadable = true,
        }
    }
    // Reported at its TOML line; resolving without it would report once per row.
    if unreadable {
        return None;
    }
    let present: Vec<&str> = family
        .keys()
        .iter()
        .copied()
        .filter(|k| s.get(k).is_some())
        .collect();
    let fits = family.forms().iter().any(|(req, opt)| {
        req.iter().all(|k| present.contains(k))
            && present.iter().all(|k| req.contains(k) || opt.contains(k))
    });
    if !fits {
        diags.at_offset(
            src,
            s.offset,
            s.path.clone(),
            format!(
                "`{}` takes {}; got: {}",
                family_name(family),
                family.describe_forms(),
                if present.is_empty() {
                    "no arguments".into()
                } else {
                    present.join(", ")
                }
            ),
        );
        return None;
    }
    Some(RawDist { family, args })
}

fn family_name(f: Family) -> &'static str {
    Family::ALL
        .iter()
        .find(|(_, x)| *x == f)
        .map_or("?", |(n, _)| n)
}

fn column_ref(
    src: &SourceText,
    diags: &mut Diagnostics,
    place: &str,
    t: &toml::de::DeTable<'_>,
    at: usize,
) -> Option<Arg> {
    let mut entries = t.iter();
    match (entries.next(), entries.next()) {
        (Some((k, v)), None) if k.get_ref().as_ref() == "column" => match v.get_ref() {
            DeValue::String(name) => Some(Arg::Column(name.to_string(), v.span().start)),
            other => {
                diags.at_offset(
                    src,
                    v.span().start,
                    place,
                    format!(
                        "`column` must name a column as a string, got {}",
                        kind_of(other)
                    ),
                );
                None
            }
        },
        _ => {
            diags.at_offset(src, at, place, "expected a number or { column = \"name\" }");
            None
        }
    }
}

/// The parameters resolved: (scope, one distribution per entity, range-check
/// flags) in [`Param::ALL`] order, which links and cities have a generation
/// intensity of their own, and the `province_share`s to install.
pub(super) struct Resolved {
    pub(super) entries: Vec<PlanEntry>,
    /// The parameters the config gives a block, in [`Param::ALL`] order.
    pub(super) given: Vec<Param>,
    pub(super) own: OwnIntensities,
    pub(super) province_shares: Vec<ProvinceShare>,
}

/// Resolves every parameter. `None` when anything was wrong (all reported).
pub(super) fn resolve(
    src: &SourceText,
    diags: &mut Diagnostics,
    raw: RawParams,
    network: &Network,
    data: &DataTables,
) -> Option<Resolved> {
    let mut cache = NumericCache::default();
    let mut out = Vec::with_capacity(Param::ALL.len());
    let mut own = OwnIntensities {
        links: vec![false; network.links().len()],
        cities: vec![false; network.cities().len()],
    };
    let before = diags.len();
    for p in Param::ALL {
        let n = network.count(p.entity());
        let resolved = match raw.params.iter().find(|r| r.param == p) {
            Some(r) => resolve_one(src, diags, r, network, data, &mut cache).map(|(entry, has)| {
                match p {
                    Param::LinkIntensity => own.links = has,
                    Param::CityGenIntensity => own.cities = has,
                    _ => {}
                }
                entry
            }),
            // Optional parameters take their fallback (0, or the province's
            // intensity, which the model reads itself); link parameters are moot
            // without links.
            None if p.is_optional() || n == 0 => Some((
                Scope::Global,
                vec![Dist::new(DistSpec::Fixed { value: 0.0 }).expect("0 is finite"); n],
                vec![false; n],
            )),
            None => {
                if let Some(offset) = raw
                    .offset
                    .filter(|_| !raw.named.iter().any(|n| n == p.name()))
                {
                    diags.at_offset(
                        src,
                        offset,
                        format!("params.{}", p.name()),
                        format!(
                            "missing parameter ({} level, unit {}); add a [params.{}] block",
                            p.entity().name(),
                            p.unit(),
                            p.name()
                        ),
                    );
                }
                None
            }
        };
        if let Some(r) = resolved {
            out.push(r);
        }
    }
    let province_shares = raw
        .params
        .iter()
        .filter_map(|r| r.province_share.map(|(w, at)| (r.param, w, at)))
        .collect();
    let given = (Param::ALL.into_iter())
        .filter(|p| raw.params.iter().any(|r| r.param == *p))
        .collect();
    (diags.len() == before && out.len() == Param::ALL.len()).then_some(Resolved {
        entries: out,
        given,
        own,
        province_shares,
    })
}

/// Parses every column the parameters read, reporting each cell that is not a
/// number: for when the network cannot be built (a bad id in the same table, say),
/// so that those cells are not hidden behind it.
pub(super) fn check_columns(diags: &mut Diagnostics, raw: &RawParams, data: &DataTables) {
    let mut cache = NumericCache::default();
    for r in &raw.params {
        let sparse = r.param.fallback() == Fallback::ProvinceIntensity;
        for (_, arg) in &r.dist.args {
            let (Arg::Column(col, _), (key, Some(table))) =
                (arg, table_for(data, r.param.entity()))
            else {
                continue;
            };
            if table.has_column(col) {
                let _ = cache.get(key, table, col, sparse, diags);
            }
        }
    }
}

fn table_for(data: &DataTables, entity: Entity) -> (usize, Option<&Table>) {
    match entity {
        Entity::Province => (0, Some(&data.provinces)),
        Entity::City => (1, Some(&data.cities)),
        Entity::Link => (2, data.links.as_ref()),
    }
}

/// One parameter's plan entry, and per entity whether it has a value of its own
/// (all true but for the parameters with a province fallback).
fn resolve_one(
    src: &SourceText,
    diags: &mut Diagnostics,
    r: &RawParam,
    network: &Network,
    data: &DataTables,
    cache: &mut NumericCache,
) -> Option<(PlanEntry, Vec<bool>)> {
    let p = r.param;
    let place = format!("params.{}", p.name());
    let scope = match &r.scope {
        None => Some(Scope::Own),
        Some((name, at)) => Scope::for_entity(name, p.entity()).or_else(|| {
            diags.at_offset(
                src,
                *at,
                format!("{place}.scope"),
                format!(
                    "`{name}` is not a valid scope for a {}-level parameter; valid: {}",
                    p.entity().name(),
                    Scope::names_for(p.entity()).join(", ")
                ),
            );
            None
        }),
    };
    let dists = resolve_dists(
        src, diags, &place, r.offset, &r.dist, p, network, data, cache,
    );
    let (scope, (dists, has_own)) = (scope?, dists?);
    let mut checked = Vec::with_capacity(dists.len());
    let mut errors: Vec<(usize, String)> = Vec::new();
    for (e, d) in dists.iter().enumerate() {
        match check_support(p, d.support()) {
            Ok(needs_check) => checked.push(needs_check),
            Err(msg) => errors.push((e, msg)),
        }
    }
    let (_, table) = table_for(data, p.entity());
    report_entity_errors(
        src,
        diags,
        &place,
        r.offset,
        &errors,
        table,
        r.dist.uses_columns(),
    );
    errors
        .is_empty()
        .then_some(((scope, dists, checked), has_own))
}

/// Resolves a distribution's arguments for every entity of `param`'s entity kind and
/// validates each distribution; problems are reported per row. Also says, per
/// entity, whether it has a value of its own: for a parameter with a province
/// fallback (`link_intensity`, `city_gen_intensity`), a row whose cells are empty
/// in every column the block reads has none, and gets a fixed 0 that the model
/// does not read; for every other parameter, each entity has one.
#[allow(clippy::too_many_arguments)]
pub(super) fn resolve_dists(
    src: &SourceText,
    diags: &mut Diagnostics,
    place: &str,
    offset: usize,
    raw: &RawDist,
    p: Param,
    network: &Network,
    data: &DataTables,
    cache: &mut NumericCache,
) -> Option<(Vec<Dist>, Vec<bool>)> {
    let n = network.count(p.entity());
    let (table_key, table) = table_for(data, p.entity());
    let sparse = p.fallback() == Fallback::ProvinceIntensity;
    // Resolve each argument to one value per entity (None: an empty cell of a
    // parameter with a province fallback).
    let mut columns: Vec<(&'static str, Vec<Option<f64>>)> = Vec::new();
    let mut ok = true;
    for (key, arg) in &raw.args {
        match arg {
            Arg::Number(x) => columns.push((key, vec![Some(*x); n])),
            Arg::Column(col, at) => match table {
                Some(t) if t.has_column(col) => match cache.get(table_key, t, col, sparse, diags) {
                    Some(v) => columns.push((key, v.clone())),
                    None => ok = false,
                },
                Some(t) => {
                    diags.at_offset(
                        src,
                        *at,
                        format!("{place}.{key}"),
                        format!(
                            "column `{col}` is not in {}{} (it has: {})",
                            t.src.display,
                            super::suggest::did_you_mean(
                                col,
                                t.headers().iter().map(String::as_str)
                            ),
                            t.headers().join(", ")
                        ),
                    );
                    ok = false;
                }
                None => {
                    diags.at_offset(
                        src,
                        *at,
                        format!("{place}.{key}"),
                        format!(
                            "refers to column `{col}` but [data] names no {} table",
                            p.entity().name()
                        ),
                    );
                    ok = false;
                }
            },
        }
    }
    if !ok {
        return None;
    }
    let arg =
        |key: &str, e: usize| (columns.iter().find(|(k, _)| *k == key)).and_then(|(_, v)| v[e]);
    let n_column_args = (raw.args.iter())
        .filter(|(_, a)| matches!(a, Arg::Column(..)))
        .count();
    let mut dists = Vec::with_capacity(n);
    let mut has_own = Vec::with_capacity(n);
    let mut errors: Vec<(usize, String)> = Vec::new();
    for e in 0..n {
        let empty: Vec<&str> = (columns.iter())
            .filter(|(_, v)| v[e].is_none())
            .map(|(k, _)| *k)
            .collect();
        if !empty.is_empty() && empty.len() == n_column_args {
            has_own.push(false);
            dists.push(Dist::new(DistSpec::Fixed { value: 0.0 }).expect("0 is finite"));
            continue;
        }
        if !empty.is_empty() {
            errors.push((
                e,
                format!(
                    "`{}` is empty but other arguments are not; leave every cell of the row empty \
                     (the {} then takes its province's gen_intensity) or fill them all",
                    empty.join("`, `"),
                    p.entity().name()
                ),
            ));
            continue;
        }
        has_own.push(true);
        match spec_for(raw.family, |k| arg(k, e))
            .and_then(|spec| Dist::new(spec).map_err(|err| err.to_string()))
        {
            Ok(d) => dists.push(d),
            Err(msg) => errors.push((e, msg)),
        }
    }
    report_entity_errors(
        src,
        diags,
        place,
        offset,
        &errors,
        table,
        raw.uses_columns(),
    );
    errors.is_empty().then_some((dists, has_own))
}

/// Reports per-entity problems: with a column argument, at each row of the table
/// (the first 10, then a count); with constants only, once at the config key.
fn report_entity_errors(
    src: &SourceText,
    diags: &mut Diagnostics,
    place: &str,
    offset: usize,
    errors: &[(usize, String)],
    table: Option<&Table>,
    uses_columns: bool,
) {
    const SHOWN: usize = 10;
    // The same problem in every row comes from the TOML (a `shape = -1` beside a
    // column argument, say): said once, at its line.
    let everywhere = table.filter(|t| {
        t.len() > 1 && errors.len() == t.len() && errors.iter().all(|(_, m)| *m == errors[0].1)
    });
    if let (Some(t), Some((_, msg))) = (everywhere, errors.first()) {
        let message = format!("{msg} (in every row of {})", t.src.display);
        diags.at_offset(src, offset, place, message);
        return;
    }
    match table {
        Some(t) if uses_columns => {
            for (e, msg) in errors.iter().take(SHOWN) {
                diags.at(
                    &t.src,
                    Some(t.line(*e)),
                    format!("{} ({place})", t.row_name(*e)),
                    msg.clone(),
                );
            }
            if errors.len() > SHOWN {
                diags.at_offset(
                    src,
                    offset,
                    place,
                    format!(
                        "… and {} more rows with invalid arguments",
                        errors.len() - SHOWN
                    ),
                );
            }
        }
        _ => {
            if let Some((_, msg)) = errors.first() {
                diags.at_offset(src, offset, place, msg.clone());
            }
        }
    }
}

/// Builds the family's arguments for one entity (the form was checked on reading).
fn spec_for(family: Family, arg: impl Fn(&str) -> Option<f64>) -> Result<DistSpec, String> {
    let get = |k: &str| arg(k).ok_or_else(|| format!("missing `{k}`"));
    Ok(match family {
        Family::Fixed => DistSpec::Fixed {
            value: get("value")?,
        },
        Family::Uniform => DistSpec::Uniform {
            min: get("min")?,
            max: get("max")?,
        },
        Family::Triangular => DistSpec::Triangular {
            min: get("min")?,
            mode: get("mode")?,
            max: get("max")?,
        },
        Family::Pert => DistSpec::Pert {
            min: get("min")?,
            mode: get("mode")?,
            max: get("max")?,
            shape: arg("shape").unwrap_or(4.0),
        },
        Family::Normal => {
            let mean = get("mean")?;
            let sd = match (arg("sd"), arg("cv")) {
                (Some(sd), _) => sd,
                (None, Some(cv)) if cv < 0.0 => return Err(format!("`cv` must be ≥ 0, got {cv}")),
                (None, Some(cv)) => cv * mean.abs(),
                (None, None) => return Err("give `sd` or `cv`".into()),
            };
            DistSpec::Normal {
                mean,
                sd,
                min: arg("min"),
                max: arg("max"),
            }
        }
        Family::LogNormal => lognormal(&arg)?,
        Family::Beta => DistSpec::Beta {
            alpha: get("alpha")?,
            beta: get("beta")?,
            min: arg("min").unwrap_or(0.0),
            max: arg("max").unwrap_or(1.0),
        },
        Family::Gamma => DistSpec::Gamma {
            shape: get("shape")?,
            scale: get("scale")?,
        },
    })
}

/// The three lognormal parameterisations, converted to (mu, sigma) of the log.
fn lognormal(arg: &impl Fn(&str) -> Option<f64>) -> Result<DistSpec, String> {
    if let (Some(median), Some(gsd)) = (arg("median"), arg("gsd")) {
        if median <= 0.0 {
            return Err(format!("`median` must be > 0, got {median}"));
        }
        if gsd < 1.0 {
            return Err(format!("`gsd` must be ≥ 1 (a geometric sd), got {gsd}"));
        }
        return Ok(DistSpec::LogNormal {
            mu: median.ln(),
            sigma: gsd.ln(),
        });
    }
    if let (Some(mean), Some(cv)) = (arg("mean"), arg("cv")) {
        if mean <= 0.0 {
            return Err(format!("`mean` must be > 0, got {mean}"));
        }
        if cv < 0.0 {
            return Err(format!("`cv` must be ≥ 0, got {cv}"));
        }
        let sigma2 = cv.mul_add(cv, 1.0).ln();
        return Ok(DistSpec::LogNormal {
            mu: mean.ln() - sigma2 / 2.0,
            sigma: sigma2.sqrt(),
        });
    }
    match (arg("mu"), arg("sigma")) {
        (Some(mu), Some(sigma)) => Ok(DistSpec::LogNormal { mu, sigma }),
        _ => Err("give median + gsd, mean + cv, or mu + sigma".into()),
    }
}
