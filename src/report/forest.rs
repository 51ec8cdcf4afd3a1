//! The interval-per-row layout: one labelled row per item with its median (a dot)
//! and interval (a bar), optional headings between groups of rows, reference lines
//! and a note at the right of each row. Caterpillar plots, scenario deltas,
//! accounting variants and sensitivity indices are all drawn with it.

use super::svg::{Anchor, Scale, Svg, colour, x_axis};

/// Width of every figure, px.
pub(super) const WIDTH: f64 = 960.0;
/// Height of one row, px: enough for 10 px labels not to overlap.
const ROW: f64 = 13.0;
const TOP: f64 = 48.0;

/// One estimate on a row: a dot at `mid` and a bar from `lo` to `hi`.
#[derive(Debug, Clone)]
pub(super) struct Mark {
    pub mid: f64,
    pub lo: f64,
    pub hi: f64,
    pub colour: &'static str,
}

/// A line of the layout.
#[derive(Debug, Clone)]
pub(super) enum Entry {
    /// A group heading.
    Heading(String),
    /// A labelled row with its estimates (drawn one above the other when several)
    /// and a note printed at the right.
    Row {
        label: String,
        marks: Vec<Mark>,
        note: String,
    },
}

/// A panel of rows over one horizontal axis.
#[derive(Debug, Clone)]
pub(super) struct Forest {
    pub title: String,
    pub entries: Vec<Entry>,
    /// The horizontal axis label, with its unit.
    pub x_label: String,
    /// Vertical reference lines: value and its label.
    pub references: Vec<(f64, String)>,
    /// Colour key: colour and what it means.
    pub legend: Vec<(&'static str, String)>,
    /// Width of the label column, px.
    pub label_width: f64,
}

impl Forest {
    /// The panel as its own SVG document.
    pub fn svg(&self) -> String {
        let mut svg = Svg::new(WIDTH, 0.0);
        let h = self.draw(&mut svg, 0.0);
        svg.ensure_height(h);
        svg.finish(&self.title)
    }

    /// Draws the panel with its top at `y0`; returns the y below it.
    pub fn draw(&self, svg: &mut Svg, y0: f64) -> f64 {
        svg.bold((12.0, y0 + 20.0), 15.0, Anchor::Start, &self.title);
        let mut lx = 12.0;
        for (c, what) in &self.legend {
            svg.circle(lx + 5.0, y0 + 36.0, 4.5, c);
            svg.text(
                (lx + 14.0, y0 + 40.0),
                11.0,
                Anchor::Start,
                colour::BLACK,
                what,
            );
            lx += 24.0 + 6.5 * what.chars().count() as f64;
        }
        let left = self.label_width + 12.0;
        let right = WIDTH - 130.0;
        let values = self.entries.iter().flat_map(|e| match e {
            Entry::Row { marks, .. } => marks.iter().flat_map(|m| [m.lo, m.hi, m.mid]).collect(),
            Entry::Heading(_) => Vec::new(),
        });
        let refs = self.references.iter().map(|r| r.0);
        let (lo, hi) = values
            .chain(refs)
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let scale = Scale::nice(lo, hi, left, right);
        let top = y0 + TOP;
        let mut y = top + 6.0;
        let mut rows = Vec::new();
        for entry in &self.entries {
            match entry {
                Entry::Heading(_) => {
                    y += 6.0;
                    rows.push((y, entry));
                    y += ROW + 2.0;
                }
                Entry::Row { marks, .. } => {
                    let height = ROW.max(5.0 * marks.len() as f64 + 4.0);
                    rows.push((y + height / 2.0, entry));
                    y += height;
                }
            }
        }
        let bottom = y + 4.0;
        x_axis(svg, &scale, bottom, top, &self.x_label);
        for (value, label) in &self.references {
            let x = scale.px(*value);
            svg.line((x, top), (x, bottom), colour::BLACK, 1.0, Some("5 3"));
            svg.text((x, top - 3.0), 11.0, Anchor::Middle, colour::BLACK, label);
        }
        for (cy, entry) in rows {
            let (label, marks, note) = match entry {
                Entry::Heading(text) => {
                    svg.bold((12.0, cy + 9.0), 12.0, Anchor::Start, text);
                    continue;
                }
                Entry::Row { label, marks, note } => (label, marks, note),
            };
            svg.text(
                (left - 6.0, cy + 3.5),
                10.0,
                Anchor::End,
                colour::BLACK,
                label,
            );
            let spread = 5.0 * (marks.len() as f64 - 1.0);
            for (k, m) in marks.iter().enumerate() {
                let my = cy - spread / 2.0 + 5.0 * k as f64;
                svg.line(
                    (scale.px(m.lo), my),
                    (scale.px(m.hi), my),
                    m.colour,
                    2.0,
                    None,
                );
                svg.circle(scale.px(m.mid), my, 3.0, m.colour);
            }
            svg.text(
                (right + 8.0, cy + 3.5),
                10.0,
                Anchor::Start,
                colour::BLACK,
                note,
            );
        }
        bottom + 44.0
    }
}

/// Several panels stacked in one SVG document.
pub(super) fn stacked(title: &str, panels: &[Forest]) -> String {
    let mut svg = Svg::new(WIDTH, 0.0);
    let mut y = 0.0;
    for panel in panels {
        y = panel.draw(&mut svg, y);
    }
    svg.ensure_height(y);
    svg.finish(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_drawn_at_their_values() {
        let forest = Forest {
            title: "t".into(),
            entries: vec![
                Entry::Heading("group".into()),
                Entry::Row {
                    label: "a & b".into(),
                    marks: vec![Mark {
                        mid: 0.5,
                        lo: 0.0,
                        hi: 1.0,
                        colour: colour::BLUE,
                    }],
                    note: "n".into(),
                },
            ],
            x_label: "x (ratio)".into(),
            references: vec![(1.0, "parity".into())],
            legend: vec![],
            label_width: 100.0,
        };
        let svg = forest.svg();
        // The scale runs 0..1 over px 112..830: the dot at 0.5 sits at 471.
        assert!(svg.contains("<circle cx=\"471\""), "{svg}");
        assert!(svg.contains("a &amp; b"));
        assert!(svg.contains(">group</text>"));
        assert!(svg.contains("stroke-dasharray=\"5 3\""));
    }
}
