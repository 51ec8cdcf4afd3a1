//! Shared Parquet machinery: checked column building, the summary columns,
//! writer properties and the `evcarbon.` key-value metadata.

use std::path::Path;
use std::sync::Arc;

use arrow_array::Array;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Metadata, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::error::OutputError;
use super::rows::Provenance;
use evcarbon_engine::stats::Summary;
use evcarbon_engine::stats::level_label;

/// Prefix of every key-value metadata key we write.
pub(super) const METADATA_PREFIX: &str = "evcarbon.";

/// Builds one table column by column, checking every value on the way.
pub(super) struct TableBuilder<'a> {
    path: &'a Path,
    rows: usize,
    row_key: &'a dyn Fn(usize) -> String,
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
}

impl<'a> TableBuilder<'a> {
    /// Starts a table of `rows` rows; `row_key(i)` describes row `i` in error messages.
    pub(super) fn new(path: &'a Path, rows: usize, row_key: &'a dyn Fn(usize) -> String) -> Self {
        Self {
            path,
            rows,
            row_key,
            fields: Vec::new(),
            columns: Vec::new(),
        }
    }

    /// Adds a non-null Utf8 column.
    pub(super) fn utf8<'s>(&mut self, name: &str, values: impl IntoIterator<Item = &'s str>) {
        let array = StringArray::from_iter_values(values);
        self.push(Field::new(name, DataType::Utf8, false), Arc::new(array));
    }

    /// Adds a nullable Utf8 column.
    pub(super) fn nullable_utf8<'s>(
        &mut self,
        name: &str,
        values: impl IntoIterator<Item = Option<&'s str>>,
    ) {
        let array: StringArray = values.into_iter().collect();
        self.push(Field::new(name, DataType::Utf8, true), Arc::new(array));
    }

    /// Adds a non-null UInt64 column.
    pub(super) fn uint64(&mut self, name: &str, values: impl IntoIterator<Item = u64>) {
        let array = UInt64Array::from_iter_values(values);
        self.push(Field::new(name, DataType::UInt64, false), Arc::new(array));
    }

    /// Adds a nullable UInt64 column.
    pub(super) fn nullable_uint64(
        &mut self,
        name: &str,
        values: impl IntoIterator<Item = Option<u64>>,
    ) {
        let array: UInt64Array = values.into_iter().collect();
        self.push(Field::new(name, DataType::UInt64, true), Arc::new(array));
    }

    /// Adds a non-null Float64 column; fails on NaN or infinity.
    pub(super) fn float64(
        &mut self,
        name: &str,
        values: impl IntoIterator<Item = f64>,
    ) -> Result<(), OutputError> {
        let values: Vec<f64> = values.into_iter().collect();
        for (row, &value) in values.iter().enumerate() {
            self.check_finite(row, name, value)?;
        }
        let array = Float64Array::from(values);
        self.push(Field::new(name, DataType::Float64, false), Arc::new(array));
        Ok(())
    }

    /// Adds a nullable Float64 column; fails on NaN or infinity.
    pub(super) fn nullable_float64(
        &mut self,
        name: &str,
        values: impl IntoIterator<Item = Option<f64>>,
    ) -> Result<(), OutputError> {
        let values: Vec<Option<f64>> = values.into_iter().collect();
        for (row, value) in values.iter().enumerate() {
            if let Some(value) = *value {
                self.check_finite(row, name, value)?;
            }
        }
        let array = Float64Array::from(values);
        self.push(Field::new(name, DataType::Float64, true), Arc::new(array));
        Ok(())
    }

    /// Adds a Boolean column (nullable when `nullable`).
    pub(super) fn boolean(
        &mut self,
        name: &str,
        nullable: bool,
        values: impl IntoIterator<Item = Option<bool>>,
    ) {
        let array: BooleanArray = values.into_iter().collect();
        debug_assert!(nullable || array.null_count() == 0);
        self.push(
            Field::new(name, DataType::Boolean, nullable),
            Arc::new(array),
        );
    }

    /// Adds the summary columns: `draws`, `mean`, `sd`, `mcse`, `median`,
    /// `lo<label>`/`hi<label>` for each level in order, `bounds_mcse`,
    /// `sketch_error`.
    ///
    /// Fails when a summary's intervals do not match `levels` (count and order).
    pub(super) fn summary_columns(
        &mut self,
        summaries: &[&Summary],
        levels: &[f64],
    ) -> Result<(), OutputError> {
        let labels = level_labels(levels, self.path)?;
        for (row, summary) in summaries.iter().enumerate() {
            let found: Vec<String> = summary
                .intervals
                .iter()
                .map(|i| level_label(i.level))
                .collect();
            if found != labels {
                return Err(OutputError::Inconsistent {
                    path: self.path.to_path_buf(),
                    message: format!(
                        "{} has intervals at levels [{}] but the run's levels give columns for [{}]",
                        (self.row_key)(row),
                        found.join(", "),
                        labels.join(", ")
                    ),
                });
            }
        }
        self.uint64("draws", summaries.iter().map(|s| s.draws));
        self.float64("mean", summaries.iter().map(|s| s.mean))?;
        self.float64("sd", summaries.iter().map(|s| s.sd))?;
        self.float64("mcse", summaries.iter().map(|s| s.mcse))?;
        self.float64("median", summaries.iter().map(|s| s.median))?;
        for (k, label) in labels.iter().enumerate() {
            self.float64(
                &format!("lo{label}"),
                summaries.iter().map(|s| s.intervals[k].lo),
            )?;
            self.float64(
                &format!("hi{label}"),
                summaries.iter().map(|s| s.intervals[k].hi),
            )?;
        }
        self.float64("bounds_mcse", summaries.iter().map(|s| s.bounds_mcse))?;
        // Null where no bound holds (a sketch that ran out of buckets).
        let sketch_error = |s: &&Summary| s.sketch_error.is_finite().then_some(s.sketch_error);
        self.nullable_float64("sketch_error", summaries.iter().map(sketch_error))?;
        Ok(())
    }

    /// Encodes the table as a Snappy-compressed Parquet file in memory.
    pub(super) fn finish(self, provenance: &Provenance) -> Result<Vec<u8>, OutputError> {
        let path = self.path;
        let parquet_err = |source| OutputError::Parquet {
            path: path.to_path_buf(),
            source,
        };
        let metadata = provenance_metadata(provenance, path)?;
        // The same keys also go into the Arrow schema embedded in the file, which
        // is where pyarrow and the Rust arrow reader look for schema metadata.
        let schema_metadata: Metadata = metadata
            .iter()
            .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(self.fields, schema_metadata));
        let properties = writer_properties(provenance, metadata);
        let batch = RecordBatch::try_new(schema.clone(), self.columns)
            .map_err(|e| parquet_err(e.into()))?;
        let mut writer =
            ArrowWriter::try_new(Vec::new(), schema, Some(properties)).map_err(parquet_err)?;
        writer.write(&batch).map_err(parquet_err)?;
        writer.into_inner().map_err(parquet_err)
    }

    fn push(&mut self, field: Field, array: ArrayRef) {
        debug_assert_eq!(
            array.len(),
            self.rows,
            "column {} has the wrong length",
            field.name()
        );
        self.fields.push(field);
        self.columns.push(array);
    }

    fn check_finite(&self, row: usize, column: &str, value: f64) -> Result<(), OutputError> {
        if value.is_finite() {
            Ok(())
        } else {
            Err(OutputError::NonFinite {
                path: self.path.to_path_buf(),
                row: (self.row_key)(row),
                column: column.to_string(),
                value,
            })
        }
    }
}

/// Column labels of the levels; fails on levels outside (0, 1) or labels that collide.
pub(super) fn level_labels(levels: &[f64], path: &Path) -> Result<Vec<String>, OutputError> {
    let inconsistent = |message: String| OutputError::Inconsistent {
        path: path.to_path_buf(),
        message,
    };
    let mut labels: Vec<String> = Vec::with_capacity(levels.len());
    for &level in levels {
        if !(level > 0.0 && level < 1.0) {
            return Err(inconsistent(format!(
                "interval level {level} is not strictly between 0 and 1"
            )));
        }
        let label = level_label(level);
        if labels.contains(&label) {
            return Err(inconsistent(format!(
                "interval levels {levels:?} give the column label `{label}` twice"
            )));
        }
        labels.push(label);
    }
    Ok(labels)
}

/// Checks the provenance fields that become numbers in files.
pub(super) fn check_provenance(provenance: &Provenance, path: &Path) -> Result<(), OutputError> {
    level_labels(&provenance.levels, path)?;
    let accuracy = provenance.quantile_relative_accuracy;
    if !accuracy.is_finite() {
        return Err(OutputError::NonFinite {
            path: path.to_path_buf(),
            row: "provenance".to_string(),
            column: "quantile_relative_accuracy".to_string(),
            value: accuracy,
        });
    }
    Ok(())
}

/// `evcarbon.`-prefixed key-value metadata: one key per [`Provenance`] field,
/// plus `evcarbon.tool`. Lists are JSON arrays, numbers are decimal strings.
pub(super) fn provenance_metadata(
    provenance: &Provenance,
    path: &Path,
) -> Result<Vec<KeyValue>, OutputError> {
    check_provenance(provenance, path)?;
    let p = provenance;
    let entries: Vec<(&str, String)> = vec![
        ("tool", "evcarbon".to_string()),
        ("tool_version", p.tool_version.clone()),
        ("config_path", p.config_path.clone()),
        ("config_sha256", p.config_sha256.clone()),
        ("seed", p.seed.to_string()),
        ("draws", p.draws.to_string()),
        ("sampler", p.sampler.clone()),
        ("levels", to_json(&p.levels, path)?),
        ("quantile_method", p.quantile_method.clone()),
        (
            "quantile_relative_accuracy",
            to_json(&p.quantile_relative_accuracy, path)?,
        ),
        ("rng", p.rng.clone()),
        ("chunk_size", p.chunk_size.to_string()),
        ("notes", to_json(&p.notes, path)?),
    ];
    Ok(entries
        .into_iter()
        .map(|(key, value)| KeyValue::new(format!("{METADATA_PREFIX}{key}"), value))
        .collect())
}

/// Writer properties: Snappy, one row group, fixed `created_by`, provenance metadata.
///
/// `created_by` is `evcarbon version <tool_version>` so that nothing about
/// the host, time or thread count reaches the file.
fn writer_properties(provenance: &Provenance, metadata: Vec<KeyValue>) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("evcarbon version {}", provenance.tool_version))
        .set_key_value_metadata(Some(metadata))
        .set_max_row_group_row_count(None)
        .build()
}

/// Compact JSON text of `value`, for metadata values.
fn to_json<T: serde::Serialize + ?Sized>(value: &T, path: &Path) -> Result<String, OutputError> {
    serde_json::to_string(value).map_err(|source| OutputError::Json {
        path: path.to_path_buf(),
        source,
    })
}
