//! The documentation stands on its own: every Markdown link and every repository
//! path it names exists, nothing points outside the repository, and the README's
//! Python and SQL snippets run on a real run's outputs.

mod common;

use common::{evcarbon, f64_col, read_parquet, root, say_skipped, str_col, text};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Folders at the repository root whose paths the docs may name in backticks.
const CHECKED_PREFIXES: [&str; 8] = [
    "src/",
    "crates/",
    "configs/",
    "docs/",
    "tests/",
    "benches/",
    "examples/",
    ".ci/",
];

/// Every Markdown file of the repository (build output and VCS data excluded).
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !(name.starts_with('.') || name == "target") || name == ".ci" {
                    walk(&path, found);
                }
            } else if name.ends_with(".md") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&root(), &mut found);
    // Only what a clone has: results/ holds run outputs except its README.
    found.retain(|p| {
        let rel = p.strip_prefix(root()).unwrap();
        !rel.starts_with("results") || rel == Path::new("results/README.md")
    });
    found
}

/// The prose of a Markdown file: fenced code blocks blanked out (line numbers kept).
fn prose(text: &str) -> Vec<String> {
    let mut in_fence = false;
    text.lines()
        .map(|line| {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                return String::new();
            }
            if in_fence {
                String::new()
            } else {
                line.to_string()
            }
        })
        .collect()
}

/// Link targets of `[text](target)` on a line, with inline code removed first.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_inline_code(line);
    let mut targets = Vec::new();
    let mut rest = line.as_str();
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split_whitespace().next().unwrap_or("");
        let target = target.trim_start_matches('<').trim_end_matches('>');
        targets.push(target.to_string());
        rest = &after[end..];
    }
    targets
}

fn without_inline_code(line: &str) -> String {
    let mut out = String::new();
    for (k, part) in line.split('`').enumerate() {
        if k % 2 == 0 {
            out.push_str(part);
        }
    }
    out
}

/// The contents of inline code spans on a line.
fn inline_code(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (GitHub numbers repeats `-1`, `-2`).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in prose(text) {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            let heading = trimmed.trim_start_matches('#');
            let base = anchor(heading);
            let mut a = base.clone();
            let mut k = 1;
            while seen.contains(&a) {
                a = format!("{base}-{k}");
                k += 1;
            }
            seen.insert(a);
        }
    }
    seen
}

/// `path` made lexically normal (`a/./b/../c` → `a/c`); `None` if it climbs out.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

#[test]
fn every_link_and_named_path_in_the_docs_exists() {
    let root = root();
    let files = markdown_files();
    assert!(
        files.len() >= 8,
        "found only {} Markdown files: {files:?}",
        files.len()
    );
    let mut problems = Vec::new();
    for file in &files {
        let rel_file = file.strip_prefix(&root).unwrap();
        let dir = rel_file.parent().unwrap_or(Path::new(""));
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in prose(&text).iter().enumerate() {
            let at = format!("{}:{}", rel_file.display(), n + 1);
            for target in link_targets(line) {
                if target.starts_with("http://")
                    || target.starts_with("https://")
                    || target.starts_with("mailto:")
                {
                    continue;
                }
                let (path_part, fragment) = match target.split_once('#') {
                    Some((p, f)) => (p, Some(f)),
                    None => (target.as_str(), None),
                };
                let linked = if path_part.is_empty() {
                    Some(rel_file.to_path_buf())
                } else {
                    normalize(&dir.join(path_part))
                };
                let Some(linked) = linked else {
                    problems.push(format!("{at}: link {target} points outside the repository"));
                    continue;
                };
                let full = root.join(&linked);
                if !full.exists() {
                    problems.push(format!(
                        "{at}: link {target}: {} does not exist",
                        linked.display()
                    ));
                    continue;
                }
                if let Some(fragment) = fragment
                    && linked.extension().is_some_and(|e| e == "md")
                {
                    let target_text = std::fs::read_to_string(&full).unwrap();
                    if !anchors(&target_text).contains(fragment) {
                        problems.push(format!(
                            "{at}: link {target}: {} has no heading with anchor #{fragment}",
                            linked.display()
                        ));
                    }
                }
            }
            for code in inline_code(line) {
                let candidate = code.trim().trim_end_matches('/');
                let candidate = candidate.split(':').next().unwrap_or(candidate);
                if !CHECKED_PREFIXES.iter().any(|p| candidate.starts_with(p))
                    || candidate.contains(|c: char| c.is_whitespace() || "*{}<>…|$".contains(c))
                {
                    continue;
                }
                if !root.join(candidate).exists() {
                    problems.push(format!("{at}: `{code}` names a path that does not exist"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in the docs:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// Nothing in the repository refers to files outside it (the project's internal
/// notes and the machine it was built on are not part of a clone).
#[test]
fn nothing_refers_to_a_path_outside_the_repository() {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !(name.starts_with('.') && name != ".ci"
                    || name == "target"
                    || name == "results")
                {
                    walk(&path, found);
                }
            } else if [".md", ".rs", ".py", ".toml", ".csv", ".cff", ".txt", "run"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                found.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root(), &mut files);
    // Assembled here, so that this file does not contain what it looks for: the
    // project's internal contract, the folder beside the repository that holds it,
    // and the development machine's working folder.
    let forbidden = [
        ["SPEC", "md"].join("."),
        ["..", "shared"].join("/"),
        ["", "work", ""].join("/"),
    ];
    let mut problems = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            for word in &forbidden {
                if line.contains(word.as_str()) {
                    problems.push(format!(
                        "{}:{}: {word}",
                        file.strip_prefix(root()).unwrap().display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "outside references:\n  {}",
        problems.join("\n  ")
    );
}

/// The fenced code blocks of the README in `language`, in order.
fn readme_blocks(language: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed.starts_with("```") => {
                if trimmed.trim_start_matches('`').trim() == language {
                    current = Some(String::new());
                } else {
                    current = Some(String::from("\u{0}"));
                }
            }
            Some(block) if trimmed.starts_with("```") => {
                if !block.starts_with('\u{0}') {
                    blocks.push(std::mem::take(block));
                }
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The interpreter for the snippets: `EVCARBON_PYTHON` (CI points it at the
/// virtual environment it installs) or `python3`.
fn python() -> String {
    std::env::var("EVCARBON_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn has_module(module: &str) -> bool {
    Command::new(python())
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a Python script in `dir` and returns its stdout; a failure shows the script.
fn run_python(dir: &Path, script: &str, env: &[(&str, &str)], what: &str) -> String {
    let out = Command::new(python())
        .args(["-c", script])
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "{what} snippet failed:\n{script}\n{env:?}\n{stderr}"
    );
    stdout
}

/// Every decimal number in a text.
fn numbers_in(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e' || c == '+'))
        .filter_map(|w| w.parse::<f64>().ok())
        .collect()
}

/// What the README's snippets must find in a run's outputs, read with arrow.
struct Expected {
    beijing_ratio_median: f64,
    beijing_ratio_hi95: f64,
    top_burden: Vec<String>,
}

fn expected(city_intervals: &Path) -> Expected {
    use arrow_array::Array;
    let batch = read_parquet(city_intervals);
    let (city_en, metric) = (str_col(&batch, "city_en"), str_col(&batch, "metric"));
    let (median, hi95) = (f64_col(&batch, "median"), f64_col(&batch, "hi95"));
    let mut beijing = (f64::NAN, f64::NAN);
    let mut burden: Vec<(f64, String)> = Vec::new();
    for r in 0..batch.num_rows() {
        let name = if city_en.is_null(r) {
            ""
        } else {
            city_en.value(r)
        };
        match metric.value(r) {
            "ev_ice_ratio" if name == "Beijing" => beijing = (median.value(r), hi95.value(r)),
            "burden_received_t" => burden.push((median.value(r), name.to_string())),
            _ => {}
        }
    }
    burden.sort_by(|a, b| b.0.total_cmp(&a.0));
    assert!(burden[9].0 > 0.0, "fewer than 10 cities receive burden");
    Expected {
        beijing_ratio_median: beijing.0,
        beijing_ratio_hi95: beijing.1,
        top_burden: burden.iter().take(10).map(|(_, n)| n.clone()).collect(),
    }
}

/// Checks one snippet's output: Beijing's median and upper bound, and the ten
/// cities, each printed (to the precision a data-frame library prints).
fn check_answers(what: &str, stdout: &str, expected: &Expected) {
    let numbers = numbers_in(stdout);
    for (name, value) in [
        ("Beijing's median ratio", expected.beijing_ratio_median),
        ("Beijing's hi95", expected.beijing_ratio_hi95),
    ] {
        assert!(
            numbers
                .iter()
                .any(|x| (x - value).abs() <= 1e-5 * value.abs()),
            "{what}: {name} {value} is not in the output:\n{stdout}"
        );
    }
    for city in &expected.top_burden {
        assert!(
            stdout.contains(city.as_str()),
            "{what}: {city} missing from\n{stdout}"
        );
    }
}

/// The README's pandas, polars and DuckDB snippets answer its two questions on a
/// small default run, exactly as printed there. A library that is not installed
/// is skipped with a message (CI installs all three).
#[test]
fn readme_snippets_run_on_a_small_run() {
    let python_blocks = readme_blocks("python");
    let sql_blocks = readme_blocks("sql");
    assert!(
        python_blocks.iter().any(|b| b.contains("import pandas"))
            && python_blocks.iter().any(|b| b.contains("import polars"))
            && sql_blocks.len() == 1,
        "the README should have a pandas and a polars snippet and one SQL block"
    );
    let dir = tempfile::tempdir().unwrap();
    let run = evcarbon(dir.path(), &["run", "--draws", "4096", "--quiet"]);
    assert!(run.status.success(), "{}", text(&run).1);
    let expected = expected(&dir.path().join("results/china-285/city_intervals.parquet"));

    let mut skipped = Vec::new();
    for block in &python_blocks {
        let module = if block.contains("import polars") {
            "polars"
        } else {
            "pandas"
        };
        if !has_module(module) || !has_module("pyarrow") && module == "pandas" {
            skipped.push(module);
            continue;
        }
        let stdout = run_python(dir.path(), block, &[], module);
        check_answers(module, &stdout, &expected);
    }
    if has_module("duckdb") {
        // Each statement through DuckDB's Python API, printed as DuckDB prints it.
        let script = "import duckdb, os\n\
                      for q in os.environ['README_SQL'].split(';'):\n    \
                      if q.strip():\n        duckdb.sql(q).show(max_rows=20)\n";
        let stdout = run_python(
            dir.path(),
            script,
            &[("README_SQL", &sql_blocks[0])],
            "DuckDB",
        );
        check_answers("duckdb", &stdout, &expected);
    } else {
        skipped.push("duckdb");
    }
    if !skipped.is_empty() {
        say_skipped(&format!(
            "the README's {} snippet(s) were not run: `{} -c 'import …'` failed \
             (pip install pyarrow pandas polars duckdb, or set EVCARBON_PYTHON)",
            skipped.join(", "),
            python()
        ));
    }
}

#[test]
fn anchors_follow_github() {
    assert_eq!(
        anchor(" What the default run says"),
        "what-the-default-run-says"
    );
    assert_eq!(
        anchor("Outputs: how to read them"),
        "outputs-how-to-read-them"
    );
    assert_eq!(anchor("`evcarbon init` and 2.1"), "evcarbon-init-and-21");
    let text = "# A\n## A\n```\n# not a heading\n```\n### B c\n";
    let a = anchors(text);
    assert!(
        a.contains("a") && a.contains("a-1") && a.contains("b-c") && !a.contains("not-a-heading")
    );
    assert_eq!(
        link_targets("see [x](docs/a.md#b) and [y](c.md \"t\") `[z](no.md)`"),
        ["docs/a.md#b", "c.md"]
    );
    assert_eq!(
        normalize(Path::new("docs/../configs/x")),
        Some(PathBuf::from("configs/x"))
    );
    assert_eq!(normalize(Path::new("../x")), None);
}

/// The fenced blocks of a Markdown section (from its heading to the next `## `),
/// each with the prose line just before it.
fn section_blocks(file: &str, heading: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("{file} has no {heading:?}"));
    let section = &text[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut blocks = Vec::new();
    let mut before = String::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match &mut current {
            None if line.starts_with("```") => current = Some(String::new()),
            None if !line.trim().is_empty() => before = line.trim().to_string(),
            None => {}
            Some(block) if line.starts_with("```") => {
                blocks.push((before.clone(), std::mem::take(block)));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

/// The minimal config of the configuration reference, saved as the text tells a
/// reader to, validates with exactly the summary printed there, and runs.
#[test]
fn the_minimal_config_in_the_docs_validates_and_runs() {
    let blocks = section_blocks("docs/config.md", "## A minimal complete config");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("minimal")).unwrap();
    let mut tables = 0;
    let mut documented_output = None;
    for (before, block) in &blocks {
        if block.starts_with("# A minimal complete evcarbon config") {
            std::fs::write(dir.path().join("minimal.toml"), block).unwrap();
        } else if let Some(table) = before.strip_suffix(':').filter(|b| b.ends_with(".csv")) {
            std::fs::write(dir.path().join(table), block).unwrap();
            tables += 1;
        } else if let Some(rest) = block.strip_prefix("$ evcarbon validate minimal.toml\n") {
            documented_output = Some(rest[..rest.find("$ ").unwrap_or(rest.len())].to_string());
        }
    }
    assert_eq!(tables, 3, "expected three tables in {blocks:?}");
    let documented_output = documented_output.expect("the section shows validate's output");

    let validate = evcarbon(dir.path(), &["validate", "minimal.toml"]);
    let (stdout, stderr) = text(&validate);
    assert!(validate.status.success(), "{stderr}");
    assert_eq!(
        stdout, documented_output,
        "docs/config.md shows another summary"
    );
    let run = evcarbon(
        dir.path(),
        &[
            "run",
            "minimal.toml",
            "--draws",
            "4096",
            "--out",
            "out",
            "--quiet",
        ],
    );
    assert!(run.status.success(), "{}", text(&run).1);
    assert!(dir.path().join("out/manifest.json").is_file());
}
