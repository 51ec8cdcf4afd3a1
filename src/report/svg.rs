//! SVG drawing primitives: a document builder, linear scales, tick placement and
//! the palette. Coordinates are SVG user units (px at 100 % zoom); every number
//! is written with at most two decimals so the files are small and stable.

use std::fmt::Write as _;

/// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
pub(super) mod colour {
    pub const BLUE: &str = "#0072B2";
    pub const VERMILLION: &str = "#D55E00";
    pub const ORANGE: &str = "#E69F00";
    pub const SKY: &str = "#56B4E9";
    pub const GREEN: &str = "#009E73";
    pub const PURPLE: &str = "#CC79A7";
    pub const BLACK: &str = "#000000";
    pub const LIGHT: &str = "#DDDDDD";
    /// The categorical sequence, in the order groups are coloured.
    pub const SEQUENCE: [&str; 7] = [BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, BLACK];
}

/// Font stack: Latin first, then fonts with Chinese glyphs for the city names.
const FONTS: &str = "DejaVu Sans, Helvetica, Arial, Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif";

/// Escapes text for XML character data and attribute values.
pub(super) fn esc(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            c => s.push(c),
        }
    }
    s
}

/// A number as an SVG coordinate: two decimals, trailing zeros dropped.
fn n(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Text alignment relative to the anchor point.
#[derive(Clone, Copy)]
pub(super) enum Anchor {
    Start,
    Middle,
    End,
}

/// An SVG document being built.
pub(super) struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    /// An empty drawing of `width` × `height` px.
    pub fn new(width: f64, height: f64) -> Svg {
        Svg {
            width,
            height,
            body: String::new(),
        }
    }

    /// A straight line; `dash` is an SVG dash array such as `"4 3"`.
    pub fn line(
        &mut self,
        (x1, y1): (f64, f64),
        (x2, y2): (f64, f64),
        stroke: &str,
        width: f64,
        dash: Option<&str>,
    ) {
        let dash = dash.map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"{}\"{dash}/>",
            n(x1),
            n(y1),
            n(x2),
            n(y2),
            n(width)
        );
    }

    /// A filled rectangle; negative sizes are normalised.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, opacity: f64) {
        let (x, w) = if w < 0.0 { (x + w, -w) } else { (x, w) };
        let (y, h) = if h < 0.0 { (y + h, -h) } else { (y, h) };
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" fill-opacity=\"{}\"/>",
            n(x),
            n(y),
            n(w),
            n(h),
            n(opacity)
        );
    }

    /// A filled circle.
    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\"/>",
            n(cx),
            n(cy),
            n(r)
        );
    }

    /// A polyline through `points`.
    pub fn polyline(
        &mut self,
        points: &[(f64, f64)],
        stroke: &str,
        width: f64,
        dash: Option<&str>,
    ) {
        let pts: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{},{}", n(x), n(y)))
            .collect();
        let dash = dash.map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
        let _ = writeln!(
            self.body,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{}\"{dash}/>",
            pts.join(" "),
            n(width)
        );
    }

    /// Text at `(x, y)` (baseline), `size` px.
    pub fn text(&mut self, (x, y): (f64, f64), size: f64, anchor: Anchor, fill: &str, text: &str) {
        self.text_rotated((x, y), size, anchor, fill, text, 0.0);
    }

    /// Bold text, for titles and headings.
    pub fn bold(&mut self, (x, y): (f64, f64), size: f64, anchor: Anchor, text: &str) {
        let _ = writeln!(
            self.body,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" font-weight=\"bold\" text-anchor=\"{}\">{}</text>",
            n(x),
            n(y),
            n(size),
            anchor_name(anchor),
            esc(text)
        );
    }

    /// Text rotated by `degrees` about its anchor (−90 for a vertical axis label).
    pub fn text_rotated(
        &mut self,
        (x, y): (f64, f64),
        size: f64,
        anchor: Anchor,
        fill: &str,
        text: &str,
        degrees: f64,
    ) {
        let rotate = if degrees == 0.0 {
            String::new()
        } else {
            format!(" transform=\"rotate({} {} {})\"", n(degrees), n(x), n(y))
        };
        let _ = writeln!(
            self.body,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{fill}\" text-anchor=\"{}\"{rotate}>{}</text>",
            n(x),
            n(y),
            n(size),
            anchor_name(anchor),
            esc(text)
        );
    }

    /// Grows the drawing to at least `height` px.
    pub fn ensure_height(&mut self, height: f64) {
        self.height = self.height.max(height);
    }

    /// The finished document, with `title` as its accessible name.
    pub fn finish(self, title: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{FONTS}\" role=\"img\">\n<title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#FFFFFF\"/>\n{}</svg>\n",
            esc(title),
            self.body,
            w = n(self.width),
            h = n(self.height.ceil()),
        )
    }
}

fn anchor_name(anchor: Anchor) -> &'static str {
    match anchor {
        Anchor::Start => "start",
        Anchor::Middle => "middle",
        Anchor::End => "end",
    }
}

/// A linear map from data values `[d0, d1]` to pixels `[r0, r1]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scale {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl Scale {
    /// A scale over `[lo, hi]` widened to nice tick values (a zero-width range is
    /// widened by ±1 or ±10 %).
    pub fn nice(lo: f64, hi: f64, r0: f64, r1: f64) -> Scale {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo - pad, hi + pad)
        };
        let step = tick_step(lo, hi);
        Scale {
            d0: (lo / step).floor() * step,
            d1: (hi / step).ceil() * step,
            r0,
            r1,
        }
    }

    /// The pixel of value `v`.
    pub fn px(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }

    /// Tick values: multiples of a 1–2–5 step, about five over the range.
    pub fn ticks(&self) -> Vec<f64> {
        let step = tick_step(self.d0, self.d1);
        let first = (self.d0 / step).ceil() as i64;
        let last = (self.d1 / step).floor() as i64;
        (first..=last).map(|k| k as f64 * step).collect()
    }
}

/// A 1, 2 or 5 × 10^k step giving four to ten ticks over `[lo, hi]`.
fn tick_step(lo: f64, hi: f64) -> f64 {
    let raw = (hi - lo) / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let m = raw / magnitude;
    let f = if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    };
    f * magnitude
}

/// A tick label: large numbers with k/M suffixes, small ones with just enough
/// decimals for the tick step.
pub(super) fn tick_label(v: f64, scale: &Scale) -> String {
    let step = tick_step(scale.d0, scale.d1);
    let big = scale.d0.abs().max(scale.d1.abs());
    let (v, step, suffix) = if big >= 1e6 {
        (v / 1e6, step / 1e6, " M")
    } else if big >= 1e4 {
        (v / 1e3, step / 1e3, " k")
    } else {
        (v, step, "")
    };
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    };
    format!("{s}{suffix}")
}

/// A horizontal axis at pixel row `y` with ticks, vertical grid lines up to
/// `grid_top` and a label under it.
pub(super) fn x_axis(svg: &mut Svg, scale: &Scale, y: f64, grid_top: f64, label: &str) {
    for t in scale.ticks() {
        let x = scale.px(t);
        svg.line((x, grid_top), (x, y), colour::LIGHT, 0.6, None);
        svg.line((x, y), (x, y + 4.0), colour::BLACK, 0.8, None);
        svg.text(
            (x, y + 15.0),
            11.0,
            Anchor::Middle,
            colour::BLACK,
            &tick_label(t, scale),
        );
    }
    svg.line((scale.r0, y), (scale.r1, y), colour::BLACK, 0.8, None);
    svg.text(
        ((scale.r0 + scale.r1) / 2.0, y + 31.0),
        12.0,
        Anchor::Middle,
        colour::BLACK,
        label,
    );
}

/// A vertical axis at pixel column `x` with ticks, horizontal grid lines to
/// `grid_right` and a rotated label.
pub(super) fn y_axis(svg: &mut Svg, scale: &Scale, x: f64, grid_right: f64, label: &str) {
    for t in scale.ticks() {
        let y = scale.px(t);
        svg.line((x, y), (grid_right, y), colour::LIGHT, 0.6, None);
        svg.line((x - 4.0, y), (x, y), colour::BLACK, 0.8, None);
        svg.text(
            (x - 6.0, y + 4.0),
            11.0,
            Anchor::End,
            colour::BLACK,
            &tick_label(t, scale),
        );
    }
    svg.line((x, scale.r0), (x, scale.r1), colour::BLACK, 0.8, None);
    let mid = (scale.r0 + scale.r1) / 2.0;
    svg.text_rotated(
        (x - 48.0, mid),
        12.0,
        Anchor::Middle,
        colour::BLACK,
        label,
        -90.0,
    );
}

/// A metric's axis label: `name (unit)`, with the unit spelled for readers.
pub(super) fn axis_label(what: &str, unit: &str) -> String {
    format!("{what} ({unit})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_map_ends_and_round_to_nice_ticks() {
        let s = Scale::nice(0.13, 0.87, 100.0, 500.0);
        assert!((s.d0 - 0.1).abs() < 1e-12 && (s.d1 - 0.9).abs() < 1e-12);
        assert!((s.px(0.1) - 100.0).abs() < 1e-9 && (s.px(0.9) - 500.0).abs() < 1e-9);
        assert!((s.px(0.5) - 300.0).abs() < 1e-9);
        let ticks = s.ticks();
        assert_eq!(ticks.len(), 4);
        assert!((ticks[0] - 0.2).abs() < 1e-12);
        assert_eq!(tick_label(ticks[0], &s), "0.2");
        let big = Scale::nice(0.0, 7.06e6, 0.0, 1.0);
        assert_eq!((big.d0, big.d1), (0.0, 8e6));
        assert_eq!(tick_label(2e6, &big), "2 M");
        assert_eq!(tick_label(-0.0, &s), "0.0");
    }

    #[test]
    fn a_degenerate_range_is_widened() {
        let s = Scale::nice(0.0, 0.0, 0.0, 10.0);
        assert!(s.d0 < 0.0 && s.d1 > 0.0);
    }

    #[test]
    fn text_is_escaped_and_numbers_are_short() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(n(1.0), "1");
        assert_eq!(n(2.456), "2.46");
        assert_eq!(n(-0.001), "0");
    }
}
