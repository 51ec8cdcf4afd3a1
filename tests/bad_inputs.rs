//! The bad-input corpus: every `tests/bad_inputs/*.case` breaks a copy of the example
//! config or its tables, and `evcarbon validate` must exit with status 2 (or the
//! case's `status:`), print every `expect:` text, and not panic.
//!
//! A case is lines of `key: value`, `#` for a comment:
//! - `edit: FILE`, then `from: TEXT` and `to: TEXT`: replace the first occurrence;
//! - `replace: FILE`, then `with: TEXT`: the file's whole content;
//! - `bom: FILE`, `crlf: FILE`: prepend a UTF-8 byte-order mark, end lines with CRLF;
//! - `delete: FILE`;
//! - `status: N` (default 2) and `expect: TEXT` (any number).
//!
//! In TEXT, `\n` is a newline and `\xHH` the byte HH (so a case can hold bytes that
//! are not UTF-8).

mod common;

use common::*;
use std::path::Path;

/// `\n` and `\xHH` escapes to bytes.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'n')) => {
                out.push(b'\n');
                i += 2;
            }
            (b'\\', Some(b'x')) => {
                let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).expect("two hex digits");
                out.push(u8::from_str_radix(hex, 16).expect("hex byte"));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn replace_first(haystack: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    let at = haystack.windows(from.len()).position(|w| w == from)?;
    Some([&haystack[..at], to, &haystack[at + from.len()..]].concat())
}

/// Applies a case to the example copy in `dir`; returns (status, expectations).
fn apply(dir: &Path, case: &str, name: &str) -> (i32, Vec<String>) {
    let (mut status, mut expects) = (2, Vec::new());
    let mut lines = case
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let value = |line: Option<&str>, key: &str| -> String {
        let line = line.unwrap_or_else(|| panic!("{name}: `{key}:` expected"));
        let v = line
            .strip_prefix(&format!("{key}: "))
            .or_else(|| line.strip_prefix(&format!("{key}:")));
        v.unwrap_or_else(|| panic!("{name}: `{key}:` expected, got {line}"))
            .to_string()
    };
    while let Some(line) = lines.next() {
        let (key, rest) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{name}: {line}"));
        let path = dir.join(rest.trim());
        let read =
            || std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {}: {e}", path.display()));
        match key {
            "edit" => {
                let from = unescape(&value(lines.next(), "from"));
                let to = unescape(&value(lines.next(), "to"));
                let edited = replace_first(&read(), &from, &to).unwrap_or_else(|| {
                    panic!(
                        "{name}: {} does not contain the `from` text",
                        path.display()
                    )
                });
                std::fs::write(&path, edited).unwrap();
            }
            "replace" => std::fs::write(&path, unescape(&value(lines.next(), "with"))).unwrap(),
            "bom" => std::fs::write(&path, [&b"\xEF\xBB\xBF"[..], &read()].concat()).unwrap(),
            "crlf" => {
                let text = read();
                let mut out = Vec::with_capacity(text.len() + text.len() / 20);
                for &b in &text {
                    if b == b'\n' {
                        out.push(b'\r');
                    }
                    out.push(b);
                }
                std::fs::write(&path, out).unwrap();
            }
            "delete" => std::fs::remove_file(&path).unwrap(),
            "status" => status = rest.trim().parse().expect("a status"),
            "expect" => expects.push(rest.strip_prefix(' ').unwrap_or(rest).to_string()),
            other => panic!("{name}: unknown key `{other}`"),
        }
    }
    (status, expects)
}

#[test]
fn every_case_of_the_corpus_exits_with_a_located_message() {
    let mut names: Vec<_> = std::fs::read_dir(root().join("tests/bad_inputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "{} cases", names.len());
    let mut failures = Vec::new();
    for path in &names {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = example_copy();
        let (status, expects) = apply(dir.path(), &std::fs::read_to_string(path).unwrap(), &name);
        let out = evcarbon(dir.path(), &["validate", "example.toml"]);
        let (_, stderr) = text(&out);
        let missing: Vec<&String> = expects
            .iter()
            .filter(|e| !stderr.contains(e.as_str()))
            .collect();
        if out.status.code() != Some(status) || !missing.is_empty() || stderr.contains("panicked") {
            failures.push(format!(
                "{name}: status {:?} (want {status}), missing {missing:?} in:\n{stderr}",
                out.status.code()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n---\n")
    );
}
