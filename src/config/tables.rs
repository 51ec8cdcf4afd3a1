//! Data tables (CSV) named by a config: headers, rows with their line numbers, and
//! numeric columns parsed on demand.

use super::diagnostics::{Diagnostics, SourceText};
use std::collections::HashMap;

/// One CSV table, as read; cells are trimmed strings.
#[derive(Clone, Debug)]
pub struct Table {
    /// The file, for messages and line numbers.
    pub src: SourceText,
    /// The column holding each row's id, for messages.
    pub id_column: &'static str,
    headers: Vec<String>,
    rows: Vec<Row>,
}

#[derive(Clone, Debug)]
struct Row {
    line: u64,
    cells: Vec<String>,
}

impl Table {
    /// Parses `text`; reports malformed rows, duplicate headers, missing `required`
    /// columns and an empty table. Returns `None` when the table cannot be used.
    pub fn parse(
        display: String,
        text: &str,
        id_column: &'static str,
        required: &[&str],
        diags: &mut Diagnostics,
    ) -> Option<Table> {
        let src = SourceText::new(display, text);
        // Headers are read as the first record, so that every line number comes from
        // the record's byte offset: the reader's own line count skips blank lines
        // and miscounts CRLF files.
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let line_of = |p: Option<&csv::Position>| {
            p.map(|p| src.line_of(record_start(text, p.byte() as usize)))
        };
        let mut records = reader.records();
        let (headers, header_line): (Vec<String>, u64) = match records.next() {
            Some(Ok(h)) => (
                h.iter().map(str::to_string).collect(),
                line_of(h.position()).unwrap_or(1),
            ),
            Some(Err(e)) => {
                diags.at(
                    &src,
                    line_of(e.position()),
                    "header",
                    format!("cannot read the header row: {e}"),
                );
                return None;
            }
            None => (Vec::new(), 1),
        };
        let mut usable = true;
        for (i, h) in headers.iter().enumerate() {
            if headers[..i].contains(h) {
                diags.at(
                    &src,
                    Some(header_line),
                    format!("column `{h}`"),
                    "appears twice in the header; rename one",
                );
                usable = false;
            }
        }
        for col in required {
            if !headers.iter().any(|h| h == col) {
                diags.at(
                    &src,
                    Some(header_line),
                    format!("column `{col}`"),
                    format!(
                        "required column is missing (the header has: {})",
                        headers.join(", ")
                    ),
                );
                usable = false;
            }
        }
        let mut rows = Vec::new();
        for record in records {
            match record {
                Ok(r) if r.len() != headers.len() => {
                    diags.at(
                        &src,
                        line_of(r.position()),
                        "row",
                        format!(
                            "malformed CSV row: it has {} fields, the header has {}",
                            r.len(),
                            headers.len()
                        ),
                    );
                    usable = false;
                }
                Ok(r) => rows.push(Row {
                    line: line_of(r.position()).unwrap_or(0),
                    cells: r.iter().map(str::to_string).collect(),
                }),
                Err(e) => {
                    diags.at(
                        &src,
                        line_of(e.position()),
                        "row",
                        format!("malformed CSV row: {e}"),
                    );
                    usable = false;
                }
            }
        }
        if rows.is_empty() {
            diags.at(
                &src,
                None,
                "table",
                "has no data rows; add at least one row below the header",
            );
            usable = false;
        }
        usable.then_some(Table {
            src,
            id_column,
            headers,
            rows,
        })
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows (never true for a parsed table).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether the header names `column`.
    pub fn has_column(&self, column: &str) -> bool {
        self.headers.iter().any(|h| h == column)
    }

    /// The header names.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The cell of `row` in `column` (which must exist).
    pub fn cell(&self, row: usize, column: &str) -> &str {
        let i = self
            .headers
            .iter()
            .position(|h| h == column)
            .expect("column checked");
        &self.rows[row].cells[i]
    }

    /// 1-based line of `row` in the file.
    pub fn line(&self, row: usize) -> u64 {
        self.rows[row].line
    }

    /// How a row is named in messages: `city_id 3301`.
    pub fn row_name(&self, row: usize) -> String {
        format!("{} `{}`", self.id_column, self.cell(row, self.id_column))
    }

    /// Parses `column` as finite numbers; reports every bad cell. With
    /// `empty_allowed`, an empty cell is `None` rather than an error.
    pub fn numeric(
        &self,
        column: &str,
        empty_allowed: bool,
        diags: &mut Diagnostics,
    ) -> Option<Vec<Option<f64>>> {
        let mut values = Vec::with_capacity(self.rows.len());
        let mut ok = true;
        for row in 0..self.rows.len() {
            let cell = self.cell(row, column);
            match cell.parse::<f64>() {
                Ok(x) if x.is_finite() => values.push(Some(x)),
                _ if cell.is_empty() && empty_allowed => values.push(None),
                _ => {
                    ok = false;
                    let what = if cell.is_empty() {
                        "is empty".to_string()
                    } else {
                        format!("`{cell}` is not a finite number")
                    };
                    diags.at(
                        &self.src,
                        Some(self.line(row)),
                        format!("{}, column `{column}`", self.row_name(row)),
                        what,
                    );
                }
            }
        }
        ok.then_some(values)
    }
}

/// Numeric columns parsed once, so a bad column is reported once however many
/// parameters refer to it.
#[derive(Default)]
pub struct NumericCache {
    parsed: HashMap<ColumnKey, Option<Vec<Option<f64>>>>,
}

/// A parsed column: (table number, column name, whether empty cells are allowed).
type ColumnKey = (usize, String, bool);

impl NumericCache {
    /// The parsed column of table number `table_key` (see [`Table::numeric`]).
    pub fn get(
        &mut self,
        table_key: usize,
        table: &Table,
        column: &str,
        empty_allowed: bool,
        diags: &mut Diagnostics,
    ) -> Option<&Vec<Option<f64>>> {
        self.parsed
            .entry((table_key, column.to_string(), empty_allowed))
            .or_insert_with(|| table.numeric(column, empty_allowed, diags))
            .as_ref()
    }
}

/// The byte offset where the record the reader placed at `at` begins: the csv
/// reader's position is the end of the previous record, before any blank or
/// comment lines (and a byte-order mark) it skipped.
fn record_start(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    if bytes
        .get(at..)
        .is_some_and(|rest| rest.starts_with(b"\xEF\xBB\xBF"))
    {
        at += 3;
    }
    while at < bytes.len() {
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| at + i + 1);
        let line = String::from_utf8_lossy(&bytes[at..end]);
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') {
            at = end;
        } else {
            break;
        }
    }
    at
}
