//! `evcarbon report` end to end on the example config: every figure is written,
//! every SVG (on its own and inlined) parses as XML, the page refers to local files
//! only, and headless Chromium renders it to a screenshot that is not blank.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// A results folder of the example with every optional table: scenarios (the
/// example has them), `--until` (convergence) and `evcarbon sensitivity`.
fn full_results(dir: &Path) -> PathBuf {
    let run = evcarbon(
        dir,
        &[
            "run",
            "example.toml",
            "--draws",
            "20000",
            "--until",
            "0.05",
            "--check-every",
            "4096",
            "--out",
            "r",
            "--quiet",
        ],
    );
    assert!(run.status.success(), "{}", text(&run).1);
    let sens = evcarbon(
        dir,
        &[
            "sensitivity",
            "example.toml",
            "--base-draws",
            "256",
            "--out",
            "r",
            "--quiet",
        ],
    );
    assert!(sens.status.success(), "{}", text(&sens).1);
    let report = evcarbon(dir, &["report", "r"]);
    assert!(report.status.success(), "{}", text(&report).1);
    dir.join("r").join("report")
}

/// Every `<svg …>…</svg>` element in `html`.
fn inline_svgs(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("closed svg") + start + "</svg>".len();
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

/// Values of every `attr="…"` in `text`.
fn attribute_values<'t>(text: &'t str, attr: &str) -> Vec<&'t str> {
    let key = format!("{attr}=\"");
    text.match_indices(&key)
        .map(|(at, _)| {
            let from = at + key.len();
            &text[from..from + text[from..].find('"').unwrap()]
        })
        .collect()
}

#[test]
fn the_report_has_every_figure_and_its_svg_parses() {
    let dir = example_copy();
    let report = full_results(dir.path());
    let expected = [
        "headlines.svg",
        "ev_ice_ratio.svg",
        "import_share.svg",
        "burden_by_province.svg",
        "scenario_deltas.svg",
        "accounting_variants.svg",
        "convergence.svg",
        "sensitivity.svg",
    ];
    for name in expected {
        let svg =
            std::fs::read_to_string(report.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{name}");
        assert!(root.attribute("viewBox").is_some() || root.attribute("width").is_some());
        assert!(
            doc.descendants().any(|n| n.has_tag_name("text")),
            "{name} has labels"
        );
    }
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        !html.contains("Not drawn"),
        "every optional table was there"
    );
    let inlined = inline_svgs(&html);
    assert_eq!(inlined.len(), expected.len());
    for svg in inlined {
        roxmltree::Document::parse(svg).expect("inlined SVG parses");
    }
    // The provenance header.
    for key in ["config SHA-256", "seed", "20261128", "evcarbon version"] {
        assert!(html.contains(key), "{key}");
    }
}

#[test]
fn the_page_refers_to_local_files_only() {
    let dir = example_copy();
    let report = full_results(dir.path());
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    // The SVG namespace is an identifier, not something fetched.
    let page = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for remote in ["http:", "https:", "//", "url(", "@import"] {
        assert!(!page.contains(remote), "the page must not load {remote}…");
    }
    assert!(!html.contains("<script"), "no scripts");
    let mut refs = attribute_values(&html, "href");
    refs.extend(attribute_values(&html, "src"));
    assert!(!refs.is_empty(), "the page links each figure's SVG file");
    for r in refs {
        assert!(!r.contains(':') && !r.starts_with('/'), "{r} is not local");
        assert!(report.join(r).is_file(), "{r} is linked but not written");
    }
}

/// The Chromium binary: `EVCARBON_CHROMIUM`, else `chromium` or `chromium-browser`
/// on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("EVCARBON_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|b| dir.join(b)))
        .find(|p| p.is_file())
}

/// Decodes a PNG into `(width, height, RGBA8 pixels)`.
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let mut decoder =
        png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgba);
    (info.width, info.height, buf)
}

#[test]
fn headless_chromium_renders_the_page() {
    let Some(browser) = chromium() else {
        let message = "no Chromium (apt-get install chromium, or set EVCARBON_CHROMIUM): \
                       the report was not rendered";
        assert!(
            std::env::var_os("EVCARBON_REQUIRE_CHROMIUM").is_none(),
            "{message}, but EVCARBON_REQUIRE_CHROMIUM is set"
        );
        say_skipped(message);
        return;
    };
    let dir = example_copy();
    let report = full_results(dir.path());
    let shot = dir.path().join("shot.png");
    let profile = dir.path().join("chromium-profile");
    let out = std::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1000,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", report.join("report.html").display()))
        .output()
        .expect("chromium starts");
    assert!(
        shot.is_file(),
        "no screenshot; chromium said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (width, height, pixels) = decode_png(&shot);
    assert_eq!((width, height), (1000, 1600));
    let rgb = |p: &[u8]| (p[0], p[1], p[2]);
    let dark = pixels
        .chunks_exact(4)
        .filter(|p| p[0] < 128 && p[1] < 128 && p[2] < 128)
        .count();
    let mut colours: Vec<(u8, u8, u8)> = pixels.chunks_exact(4).map(rgb).collect();
    colours.sort_unstable();
    colours.dedup();
    let share_dark = dark as f64 / (width * height) as f64;
    // Text and axes: a page that rendered nothing is one colour.
    assert!(
        share_dark > 0.005,
        "only {share_dark:.4} of the screenshot is dark"
    );
    assert!(colours.len() > 20, "only {} colours", colours.len());
    // The palette's blue (#0072B2) is drawn: the figures rendered, not just text.
    let blue = pixels
        .chunks_exact(4)
        .filter(|p| rgb(p) == (0x00, 0x72, 0xB2))
        .count();
    assert!(blue > 50, "{blue} pixels of the figures' blue");
}
