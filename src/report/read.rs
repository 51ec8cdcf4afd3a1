//! Reading a results folder: the interval tables, convergence, sensitivity and the
//! manifest, into plain rows. Optional columns (`city_en`, `tier`, `scenario`, …)
//! are read where the table has them.

use std::path::{Path, PathBuf};

use arrow_array::{Array, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::error::ReportError;
use crate::output::ConvergenceRow;

/// Name of the sensitivity table (`evcarbon sensitivity`).
pub use crate::output::SENSITIVITY_FILE;

/// The median and central intervals of one row of an interval table.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Summary {
    pub mean: f64,
    pub median: f64,
    /// `(level, lo, hi)`, levels as fractions (0.95), in column order.
    pub intervals: Vec<(f64, f64, f64)>,
}

impl Summary {
    /// The interval at `level`, else the widest one.
    pub fn band(&self, level: f64) -> (f64, f64, f64) {
        let exact = self
            .intervals
            .iter()
            .find(|(l, _, _)| (l - level).abs() < 1e-9);
        let widest = self.intervals.iter().max_by(|a, b| a.0.total_cmp(&b.0));
        *exact.or(widest).unwrap_or(&(0.0, self.median, self.median))
    }
}

/// One row of any interval table; the entity columns a table lacks are `None`.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub scenario: Option<String>,
    /// `city`, `province` or `headline` in `scenario_deltas.parquet`.
    pub kind: Option<String>,
    pub city: Option<String>,
    pub city_en: Option<String>,
    pub province: Option<String>,
    pub tier: Option<String>,
    pub metric: String,
    pub unit: String,
    pub summary: Summary,
    pub reported: Option<f64>,
    pub p_ge_reported: Option<f64>,
}

impl Row {
    /// A city's label: English name then Chinese name (one of them when the
    /// other is missing or the same).
    pub fn city_label(&self) -> String {
        match (&self.city_en, &self.city) {
            (Some(en), Some(zh)) if en != zh => format!("{en} {zh}"),
            (Some(en), _) => en.clone(),
            (None, Some(zh)) => zh.clone(),
            (None, None) => String::new(),
        }
    }
}

/// One headline row of `sensitivity.parquet`: first-order and total indices.
#[derive(Debug, Clone)]
pub(super) struct SensitivityRow {
    pub metric: String,
    pub group: String,
    /// `(estimate, lo95, hi95)`.
    pub s1: (f64, f64, f64),
    pub st: (f64, f64, f64),
}

/// The provenance the report's header shows, from `manifest.json`.
#[derive(Debug, Clone)]
pub(super) struct Manifest {
    pub tool_version: String,
    pub config_path: String,
    pub config_sha256: String,
    pub seed: u64,
    pub draws: u64,
    pub sampler: String,
    pub quantiles: String,
    pub stop_reason: String,
    /// When `manifest.json` was last written, `YYYY-MM-DD HH:MM UTC` (its
    /// modification time: the manifest itself holds no date).
    pub written: String,
}

/// A Parquet file as one batch per row group, or `None` when it does not exist.
pub(super) fn table(path: &Path) -> Result<Option<Vec<RecordBatch>>, ReportError> {
    if !path.exists() {
        return Ok(None);
    }
    let err = |e: &dyn std::fmt::Display| ReportError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(|e| err(&e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| err(&e))?
        .build()
        .map_err(|e| err(&e))?;
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| err(&e))?;
    Ok(Some(batches))
}

/// Typed column access over the batches of one file.
struct Columns<'a> {
    path: &'a Path,
    batches: Vec<RecordBatch>,
}

impl<'a> Columns<'a> {
    /// The file's columns, or `None` when it does not exist.
    fn open(path: &'a Path) -> Result<Option<Columns<'a>>, ReportError> {
        Ok(table(path)?.map(|batches| Columns { path, batches }))
    }

    fn has(&self, name: &str) -> bool {
        self.batches
            .first()
            .is_some_and(|b| b.column_by_name(name).is_some())
    }

    fn get<T: Array + 'static, V>(
        &self,
        name: &str,
        expected: &'static str,
        value: impl Fn(&T, usize) -> V,
    ) -> Result<Vec<Option<V>>, ReportError> {
        let mut out = Vec::new();
        for batch in &self.batches {
            let array = batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<T>())
                .ok_or_else(|| ReportError::Column {
                    path: self.path.to_path_buf(),
                    column: name.to_string(),
                    expected,
                })?;
            out.extend((0..array.len()).map(|i| array.is_valid(i).then(|| value(array, i))));
        }
        Ok(out)
    }

    fn strings(&self, name: &str) -> Result<Vec<Option<String>>, ReportError> {
        self.get::<StringArray, _>(name, "Utf8", |a, i| a.value(i).to_string())
    }

    fn optional_strings(
        &self,
        name: &str,
        rows: usize,
    ) -> Result<Vec<Option<String>>, ReportError> {
        if self.has(name) {
            self.strings(name)
        } else {
            Ok(vec![None; rows])
        }
    }

    fn floats(&self, name: &str) -> Result<Vec<Option<f64>>, ReportError> {
        self.get::<Float64Array, _>(name, "Float64", |a, i| a.value(i))
    }

    fn required_uints(&self, name: &str) -> Result<Vec<u64>, ReportError> {
        let values = self.get::<UInt64Array, _>(name, "UInt64", |a, i| a.value(i))?;
        self.required(name, values)
    }

    fn required_bools(&self, name: &str) -> Result<Vec<bool>, ReportError> {
        let values = self.get::<BooleanArray, _>(name, "Boolean", |a, i| a.value(i))?;
        self.required(name, values)
    }

    fn required_floats(&self, name: &str) -> Result<Vec<f64>, ReportError> {
        self.required(name, self.floats(name)?)
    }

    fn required_strings(&self, name: &str) -> Result<Vec<String>, ReportError> {
        self.required(name, self.strings(name)?)
    }

    fn required<V>(&self, name: &str, values: Vec<Option<V>>) -> Result<Vec<V>, ReportError> {
        values
            .into_iter()
            .enumerate()
            .map(|(row, v)| {
                v.ok_or_else(|| ReportError::Read {
                    path: self.path.to_path_buf(),
                    message: format!(
                        "row {row}: column `{name}` is null, which evcarbon never writes"
                    ),
                })
            })
            .collect()
    }

    /// The interval levels of the `lo<L>`/`hi<L>` column pairs, in column order.
    fn levels(&self) -> Vec<(f64, String)> {
        let Some(batch) = self.batches.first() else {
            return Vec::new();
        };
        let schema = batch.schema();
        schema
            .fields()
            .iter()
            .filter_map(|f| {
                let label = f.name().strip_prefix("lo")?;
                let level: f64 = label.replace('_', ".").parse().ok()?;
                schema
                    .field_with_name(&format!("hi{label}"))
                    .ok()
                    .map(|_| (level / 100.0, label.to_string()))
            })
            .collect()
    }
}

/// The rows of an interval table (city, province, headline, scenario deltas or
/// scenario headlines), or `None` when the file does not exist.
pub(super) fn intervals(path: &Path) -> Result<Option<Vec<Row>>, ReportError> {
    let Some(c) = Columns::open(path)? else {
        return Ok(None);
    };
    let metric = c.required_strings("metric")?;
    let rows = metric.len();
    let unit = c.required_strings("unit")?;
    let mean = c.required_floats("mean")?;
    let median = c.required_floats("median")?;
    let mut bounds = Vec::new();
    for (level, label) in c.levels() {
        bounds.push((
            level,
            c.required_floats(&format!("lo{label}"))?,
            c.required_floats(&format!("hi{label}"))?,
        ));
    }
    let floats = |name: &str| {
        if c.has(name) {
            c.floats(name)
        } else {
            Ok(vec![None; rows])
        }
    };
    let reported = floats("reported")?;
    let p_ge = floats("p_ge_reported")?;
    let scenario = c.optional_strings("scenario", rows)?;
    let kind = c.optional_strings("level", rows)?;
    let city = c.optional_strings("city", rows)?;
    let city_en = c.optional_strings("city_en", rows)?;
    let province = c.optional_strings("province", rows)?;
    let tier = c.optional_strings("tier", rows)?;
    let out = (0..rows)
        .map(|i| Row {
            scenario: scenario[i].clone(),
            kind: kind[i].clone(),
            city: city[i].clone(),
            city_en: city_en[i].clone(),
            province: province[i].clone(),
            tier: tier[i].clone(),
            metric: metric[i].clone(),
            unit: unit[i].clone(),
            summary: Summary {
                mean: mean[i],
                median: median[i],
                intervals: bounds
                    .iter()
                    .map(|(l, lo, hi)| (*l, lo[i], hi[i]))
                    .collect(),
            },
            reported: reported[i],
            p_ge_reported: p_ge[i],
        })
        .collect();
    Ok(Some(out))
}

/// The headline rows of `sensitivity.parquet`, or `None` when it does not exist.
pub(super) fn sensitivity(path: &Path) -> Result<Option<Vec<SensitivityRow>>, ReportError> {
    let Some(c) = Columns::open(path)? else {
        return Ok(None);
    };
    let entity = c.required_strings("entity")?;
    let metric = c.required_strings("metric")?;
    let group = c.required_strings("group")?;
    let f = |name: &str| c.required_floats(name);
    let (s1, s1_lo, s1_hi) = (f("s1")?, f("s1_lo95")?, f("s1_hi95")?);
    let (st, st_lo, st_hi) = (f("st")?, f("st_lo95")?, f("st_hi95")?);
    Ok(Some(
        (0..entity.len())
            .filter(|&i| entity[i] == "headline")
            .map(|i| SensitivityRow {
                metric: metric[i].clone(),
                group: group[i].clone(),
                s1: (s1[i], s1_lo[i], s1_hi[i]),
                st: (st[i], st_lo[i], st_hi[i]),
            })
            .collect(),
    ))
}

/// One headline's quantile grid: its metric and `(probability, value)` points.
pub(super) type QuantileGrid = (String, Vec<(f64, f64)>);

/// Each headline's quantile grid from `headline_quantiles.parquet`, in file order;
/// `None` when the file does not exist (results of an older version).
pub(super) fn headline_quantiles(path: &Path) -> Result<Option<Vec<QuantileGrid>>, ReportError> {
    let Some(c) = Columns::open(path)? else {
        return Ok(None);
    };
    let metric = c.required_strings("metric")?;
    let probability = c.required_floats("probability")?;
    let value = c.required_floats("value")?;
    let mut out: Vec<QuantileGrid> = Vec::new();
    for i in 0..metric.len() {
        match out.last_mut() {
            Some((m, points)) if *m == metric[i] => points.push((probability[i], value[i])),
            _ => out.push((metric[i].clone(), vec![(probability[i], value[i])])),
        }
    }
    Ok(Some(out))
}

/// The rows of `convergence.parquet`, or `None` when it does not exist (a run
/// without `--until`).
pub(super) fn convergence(path: &Path) -> Result<Option<Vec<ConvergenceRow>>, ReportError> {
    let Some(c) = Columns::open(path)? else {
        return Ok(None);
    };
    let block = c.required_uints("block")?;
    let draws = c.required_uints("draws")?;
    let metric = c.required_strings("metric")?;
    let unit = c.required_strings("unit")?;
    let statistic = c.required_strings("statistic")?;
    let value = c.required_floats("value")?;
    let mcse = c.floats("mcse")?;
    let tolerance = c.floats("tolerance")?;
    let met = c.required_bools("precision_met")?;
    Ok(Some(
        (0..draws.len())
            .map(|i| ConvergenceRow {
                block: block[i],
                draws: draws[i],
                metric: metric[i].clone(),
                unit: unit[i].clone(),
                statistic: statistic[i].clone(),
                value: value[i],
                mcse: mcse[i],
                tolerance: tolerance[i],
                precision_met: met[i],
            })
            .collect(),
    ))
}

/// The manifest's provenance, or [`ReportError::NotARun`] when there is none.
pub(super) fn manifest(dir: &Path, file: &str) -> Result<Manifest, ReportError> {
    let path: PathBuf = dir.join(file);
    let err = |message: String| ReportError::Read {
        path: path.clone(),
        message,
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReportError::NotARun {
                dir: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(err(e.to_string())),
    };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    let s = |key: &str| {
        json.get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| err(format!("key `{key}` is missing or not a string")))
    };
    let u = |key: &str| {
        json.get(key)
            .and_then(|v| v.as_u64())
            .ok_or_else(|| err(format!("key `{key}` is missing or not an integer")))
    };
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .map_err(|e| err(e.to_string()))?;
    Ok(Manifest {
        tool_version: s("tool_version")?,
        config_path: s("config_path")?,
        config_sha256: s("config_sha256")?,
        seed: u("seed")?,
        draws: u("draws")?,
        sampler: s("sampler")?,
        quantiles: s("quantiles")?,
        stop_reason: s("stop_reason")?,
        written: utc_minute(modified),
    })
}

/// `YYYY-MM-DD HH:MM UTC` of a time, by the civil-from-days algorithm (proleptic
/// Gregorian calendar).
fn utc_minute(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc_minute(UNIX_EPOCH), "1970-01-01 00:00 UTC");
        // 2000-02-29 12:34 UTC = 951827640 s (a leap day in a century leap year).
        assert_eq!(
            utc_minute(UNIX_EPOCH + Duration::from_secs(951_827_640)),
            "2000-02-29 12:34 UTC"
        );
        // 2026-12-02 19:00 UTC = 1796238000 s.
        assert_eq!(
            utc_minute(UNIX_EPOCH + Duration::from_secs(1_796_238_000)),
            "2026-12-02 19:00 UTC"
        );
    }

    #[test]
    fn the_band_is_the_level_asked_for_or_the_widest() {
        let s = Summary {
            mean: 0.0,
            median: 1.0,
            intervals: vec![(0.9, 0.5, 1.5), (0.95, 0.4, 1.6)],
        };
        assert_eq!(s.band(0.9), (0.9, 0.5, 1.5));
        assert_eq!(s.band(0.5), (0.95, 0.4, 1.6));
    }
}
