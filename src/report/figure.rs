//! One figure of the report.

/// One figure: its SVG file name, title, caption (plain text) and SVG source.
#[derive(Debug, Clone)]
pub(super) struct Figure {
    /// File name under the report folder, e.g. `ev_ice_ratio.svg`.
    pub file: String,
    /// Heading in the HTML report.
    pub title: String,
    /// One or two sentences on what is drawn and how to read it.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}
