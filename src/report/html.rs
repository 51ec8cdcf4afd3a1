//! The HTML page: the provenance header, then every figure inlined (so the page
//! stands alone) with a link to its SVG file next to it. No scripts, styles or
//! fonts from elsewhere.

use std::fmt::Write as _;

use super::figure::Figure;
use super::read::Manifest;
use super::svg::esc;

/// The whole page.
pub(super) fn page(manifest: &Manifest, figures: &[Figure], missing: &[String]) -> String {
    let m = manifest;
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>evcarbon report: {config}</title>\n<style>\nbody {{ font-family: DejaVu Sans, Helvetica, Arial, sans-serif; max-width: 1000px; margin: 1em auto; color: #000; background: #fff; }}\ntable {{ border-collapse: collapse; }} td {{ padding: 2px 10px 2px 0; vertical-align: top; }}\nfigure {{ margin: 2em 0; }} figcaption {{ max-width: 960px; font-size: 14px; }}\n</style>\n</head>\n<body>\n<h1>evcarbon report</h1>\n<table>\n",
        config = esc(&m.config_path)
    );
    let rows = [
        ("config", m.config_path.clone()),
        ("config SHA-256", m.config_sha256.clone()),
        ("seed", m.seed.to_string()),
        (
            "draws",
            format!(
                "{} ({}, {} quantiles; stopped: {})",
                m.draws, m.sampler, m.quantiles, m.stop_reason
            ),
        ),
        ("evcarbon version", m.tool_version.clone()),
        ("results written", m.written.clone()),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(&v));
    }
    s.push_str("</table>\n");
    for f in figures {
        let _ = write!(
            s,
            "<figure>\n<h2>{}</h2>\n{}<figcaption>{} <a href=\"{}\">{}</a></figcaption>\n</figure>\n",
            esc(&f.title),
            f.svg,
            esc(&f.caption),
            esc(&f.file),
            esc(&f.file)
        );
    }
    if !missing.is_empty() {
        s.push_str("<h2>Not drawn</h2>\n<ul>\n");
        for why in missing {
            let _ = writeln!(s, "<li>{}</li>", esc(why));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</body>\n</html>\n");
    s
}
