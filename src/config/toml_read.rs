//! Typed reads from the spanned TOML tree, reporting every problem with its line.

use super::diagnostics::{Diagnostics, SourceText};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A TOML table being read, with its dotted path for messages.
pub(super) struct Section<'t, 'i> {
    pub path: String,
    pub table: &'t DeTable<'i>,
    /// Offset of the table header (or of the first key) for messages about the table.
    pub offset: usize,
}

/// The kind of a TOML value, for messages.
fn kind(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'t, 'i> Section<'t, 'i> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    /// Reports that `key` holds a value of the wrong type.
    fn wrong_type(
        &self,
        src: &SourceText,
        diags: &mut Diagnostics,
        key: &str,
        v: &Spanned<DeValue<'_>>,
        expected: &str,
    ) {
        diags.at_offset(
            src,
            v.span().start,
            self.key_path(key),
            format!("expected {expected}, got {}", kind(v.get_ref())),
        );
    }

    /// Dotted path of `key` in this section.
    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Reports every key not in `allowed`.
    pub fn reject_unknown(&self, src: &SourceText, diags: &mut Diagnostics, allowed: &[&str]) {
        for (k, _) in self.table.iter() {
            let name = k.get_ref().as_ref();
            if !allowed.contains(&name) {
                diags.at_offset(
                    src,
                    k.span().start,
                    self.key_path(name),
                    format!(
                        "unknown key `{name}`{}; valid keys here: {}",
                        super::suggest::did_you_mean(name, allowed.iter().copied()),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// A required key that is absent.
    pub fn missing(&self, src: &SourceText, diags: &mut Diagnostics, key: &str, what: &str) {
        diags.at_offset(
            src,
            self.offset,
            self.key_path(key),
            format!("missing; {what}"),
        );
    }

    /// A sub-table, or a message if `key` holds something else.
    pub fn table(
        &self,
        src: &SourceText,
        diags: &mut Diagnostics,
        key: &str,
    ) -> Option<Section<'t, 'i>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(Section {
                path: self.key_path(key),
                table: t,
                offset: v.span().start,
            }),
            _ => {
                self.wrong_type(src, diags, key, v, "a table");
                None
            }
        }
    }

    /// A string value.
    pub fn string(
        &self,
        src: &SourceText,
        diags: &mut Diagnostics,
        key: &str,
    ) -> Option<(String, usize)> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span().start)),
            _ => {
                self.wrong_type(src, diags, key, v, "a string");
                None
            }
        }
    }

    /// A non-negative integer value that fits in u64.
    pub fn unsigned(
        &self,
        src: &SourceText,
        diags: &mut Diagnostics,
        key: &str,
    ) -> Option<(u64, usize)> {
        let v = self.get(key)?;
        let at = v.span().start;
        match v.get_ref() {
            DeValue::Integer(i) => match u64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some((n, at)),
                Err(_) => {
                    diags.at_offset(
                        src,
                        at,
                        self.key_path(key),
                        format!("`{}` is not an integer in 0..={}", i.as_str(), u64::MAX),
                    );
                    None
                }
            },
            other => {
                diags.at_offset(
                    src,
                    at,
                    self.key_path(key),
                    format!("expected a whole number, got {}", kind(other)),
                );
                None
            }
        }
    }

    /// An array of strings.
    pub fn strings(
        &self,
        src: &SourceText,
        diags: &mut Diagnostics,
        key: &str,
    ) -> Option<Vec<(String, usize)>> {
        let v = self.get(key)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(src, diags, key, v, "an array of strings");
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push((s.to_string(), item.span().start)),
                other => diags.at_offset(
                    src,
                    item.span().start,
                    self.key_path(key),
                    format!("expected a string, got {}", kind(other)),
                ),
            }
        }
        Some(out)
    }

    /// An array of numbers.
    pub fn numbers(
        &self,
        src: &SourceText,
        diags: &mut Diagnostics,
        key: &str,
    ) -> Option<Vec<(f64, usize)>> {
        let v = self.get(key)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(src, diags, key, v, "an array of numbers");
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            if let Some(x) = number(src, diags, &self.key_path(key), item) {
                out.push((x, item.span().start));
            }
        }
        Some(out)
    }
}

/// A finite number from an integer or float value.
pub(super) fn number(
    src: &SourceText,
    diags: &mut Diagnostics,
    place: &str,
    v: &Spanned<DeValue<'_>>,
) -> Option<f64> {
    let at = v.span().start;
    let parsed = match v.get_ref() {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(|n| n as f64),
        DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
        other => {
            diags.at_offset(
                src,
                at,
                place,
                format!("expected a number, got {}", kind(other)),
            );
            return None;
        }
    };
    match parsed {
        Some(x) if x.is_finite() => Some(x),
        _ => {
            diags.at_offset(src, at, place, "must be a finite number (not nan or inf)");
            None
        }
    }
}

/// The kind of a value, for messages elsewhere in the config module.
pub(super) fn kind_of(v: &DeValue<'_>) -> &'static str {
    kind(v)
}
