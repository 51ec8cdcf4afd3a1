//! Problems found in a config or its data tables, each with file, line and place.

use std::fmt;

/// A text file being checked, with the byte offsets of its lines.
#[derive(Clone, Debug)]
pub struct SourceText {
    /// How the file is named in messages.
    pub display: String,
    line_starts: Vec<usize>,
}

impl SourceText {
    /// Indexes the lines of `text`.
    pub fn new(display: impl Into<String>, text: &str) -> SourceText {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceText {
            display: display.into(),
            line_starts,
        }
    }

    /// 1-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> u64 {
        self.line_starts.partition_point(|&start| start <= offset) as u64
    }
}

/// One problem: where it is and what would be valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// The key (`params.loss.max`) or row (`city_id 3301, column bev_stock`).
    pub place: String,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "{}:{}: {}: {}",
                self.file, line, self.place, self.message
            ),
            None => write!(f, "{}: {}: {}", self.file, self.place, self.message),
        }
    }
}

/// Every problem found so far; loading continues after a problem so that all of
/// them are reported at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records a problem at a line of `src`.
    pub fn at(
        &mut self,
        src: &SourceText,
        line: Option<u64>,
        place: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.items.push(Diagnostic {
            file: src.display.clone(),
            line,
            place: place.into(),
            message: message.into(),
        });
    }

    /// Records a problem at a byte offset of `src`.
    pub fn at_offset(
        &mut self,
        src: &SourceText,
        offset: usize,
        place: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.at(src, Some(src.line_of(offset)), place, message);
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The problems, in the order found.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.items.len()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.items.len();
        writeln!(f, "{n} problem{} found:", if n == 1 { "" } else { "s" })?;
        for d in &self.items {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_one_based() {
        let src = SourceText::new("x", "a\nbc\n\nd");
        assert_eq!(src.line_of(0), 1);
        assert_eq!(src.line_of(2), 2);
        assert_eq!(src.line_of(3), 2);
        assert_eq!(src.line_of(5), 3);
        assert_eq!(src.line_of(6), 4);
    }
}
