//! Architecture test: the module graph of every crate in the workspace has no cycles.
//!
//! When module `a` uses `b` and `b` uses `a`, neither can be understood, tested or moved
//! into its own crate without the other. This test fails `cargo test` as soon as such a
//! cycle appears, and names the modules in it together with a path that makes each edge.
//!
//! The analysis reads source text only (std, no parser crate). It drops comments,
//! literals and test code, then follows every path that can name a module of the same
//! crate: `crate::`, `super::`, `self::`, declared child modules (`child::item`) and names
//! brought in by `use`. Each path is resolved to the module that *defines* the item,
//! following `use` re-exports: a sibling that names `super::Thing`, which the parent
//! only re-exports from `parent::inner`, depends on `inner`, not on the parent.
//!
//! Known limits, all deliberate to keep the analyzer small:
//! - paths produced by macros (other than those written literally in a macro's body)
//!   and `#[path = "..."]` attributes are not seen;
//! - inline modules (`mod x { ... }`, other than test modules) count as part of the file
//!   that contains them;
//! - `use` inside function bodies counts as a dependency of the module (it is one), but
//!   only module-level `use` is followed when resolving re-exports;
//! - a glob re-export (`pub use x::*`) is followed only when `x` visibly defines or
//!   imports the name, found by a rough scan of `fn`/`struct`/`enum`/... names.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Name of the crate root module in graphs and messages.
const ROOT: &str = "crate";

/// Bound on re-export chains and alias lookups, so that a malformed or self-referential
/// `use` cannot loop forever.
const MAX_DEPTH: usize = 32;

/// Item keywords whose next token is the name of an item defined in the module.
const ITEM_KEYWORDS: [&str; 9] = [
    "fn", "struct", "enum", "union", "trait", "type", "const", "static", "mod",
];

// ---------------------------------------------------------------------------------
// Lexing: comments and literals out, then a flat list of tokens.
// ---------------------------------------------------------------------------------

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Whether a token is an identifier or keyword (numbers are lexed as `0`).
fn is_ident(token: &str) -> bool {
    token.starts_with(|c: char| c == '_' || c.is_alphabetic())
}

/// Replaces comments and string, byte-string and char literals by a space.
///
/// Doc links such as [`crate::x::Y`] and strings such as `"crate::b"` must not count as
/// dependencies. Lifetimes and labels (`'a`) are kept: they are not literals.
fn strip_comments_and_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let end = if c == '/' && next == Some('/') {
            // Line comments, including `///` and `//!` doc comments.
            (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len())
        } else if c == '/' && next == Some('*') {
            block_comment_end(&chars, i)
        } else if let Some(end) = raw_string_end(&chars, i) {
            end
        } else if c == '"' {
            string_end(&chars, i)
        } else if let Some(end) = char_literal_end(&chars, i) {
            end
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        out.push(' ');
        i = end;
    }
    out
}

/// Index after the block comment opening at `start`; block comments nest in Rust.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('/', Some('*')) => {
                depth += 1;
                i += 2;
            }
            ('*', Some('/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// Index after the ordinary string literal opening at `start` (a `"`).
fn string_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() && chars[i] != '"' {
        // A backslash escapes the next character, including `\"`.
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    (i + 1).min(chars.len())
}

/// Index after the raw string (`r"..."`, `r#"..."#`, `br"..."`, `cr"..."`) whose `r`
/// is at `start`, or `None` when there is none there (e.g. `r#ident` or `for`).
fn raw_string_end(chars: &[char], start: usize) -> Option<usize> {
    if chars[start] != 'r' {
        return None;
    }
    // The `r` must start a token, possibly after a `b` or `c` prefix that does.
    let starts_token = |at: usize| at == 0 || !is_ident_char(chars[at - 1]);
    let prefixed = start > 0 && matches!(chars[start - 1], 'b' | 'c') && starts_token(start - 1);
    if !starts_token(start) && !prefixed {
        return None;
    }
    let hashes = chars[start + 1..].iter().take_while(|&&c| c == '#').count();
    let open = start + 1 + hashes;
    if chars.get(open) != Some(&'"') {
        return None;
    }
    // Raw strings have no escapes: they end at the first `"` followed by as many `#`.
    let close = (open + 1..chars.len())
        .find(|&i| chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')));
    Some(close.map_or(chars.len(), |i| i + 1 + hashes))
}

/// Index after the char literal (`'x'`, `'\n'`, `'\u{1F600}'`) opening at `start`, or
/// `None` when the quote starts a lifetime or a label instead.
fn char_literal_end(chars: &[char], start: usize) -> Option<usize> {
    if chars[start] != '\'' {
        return None;
    }
    match (chars.get(start + 1), chars.get(start + 2)) {
        (Some('\\'), _) => {
            // Skip the escaped character, then find the closing quote.
            let close = (start + 3..chars.len()).find(|&i| chars[i] == '\'')?;
            Some(close + 1)
        }
        (Some(&c), Some('\'')) if c != '\'' => Some(start + 3),
        _ => None,
    }
}

/// Splits comment- and literal-free code into identifiers, `::` and one-character
/// punctuation. Numbers become `0` so that they never look like names; raw
/// identifiers keep their `r#` so that they never look like keywords.
fn tokenize(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_ident_char(c) {
            let start = i;
            if c == 'r' && chars.get(i + 1) == Some(&'#') {
                i += 2;
            }
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(if c.is_ascii_digit() { "0".into() } else { word });
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".into());
            i += 2;
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens
}

/// Whether `tokens[i]` exists and is `text`.
fn is_at(tokens: &[String], i: usize, text: &str) -> bool {
    tokens.get(i).is_some_and(|t| t == text)
}

/// Index after the bracket group (`(...)`, `[...]` or `{...}`) opening at `open`.
fn group_end(tokens: &[String], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// Index after the item, statement, field or variant starting at `start`: its first `;`
/// outside brackets, or the end of its first top-level `{...}` block (a `fn`, `impl` or
/// `mod` body). A field or variant (not led by a keyword) also ends at a `,`, and
/// nothing runs past the bracket that closes the enclosing group.
fn item_end(tokens: &[String], start: usize) -> usize {
    const ITEM_STARTS: [&str; 14] = [
        "fn", "mod", "impl", "use", "struct", "enum", "union", "trait", "type", "const", "static",
        "unsafe", "extern", "async",
    ];
    let first = tokens.get(skip_visibility(tokens, start));
    let field_or_variant = !first.is_some_and(|t| ITEM_STARTS.contains(&t.as_str()));
    let mut i = start;
    while i < tokens.len() {
        match tokens[i].as_str() {
            ";" => return i + 1,
            "," if field_or_variant => return i + 1,
            "{" => return group_end(tokens, i),
            "(" | "[" => i = group_end(tokens, i),
            ")" | "]" | "}" => return i,
            _ => i += 1,
        }
    }
    tokens.len()
}

/// Index after an optional visibility (`pub`, `pub(crate)`, `pub(in crate::x)`).
fn skip_visibility(tokens: &[String], i: usize) -> usize {
    if !is_at(tokens, i, "pub") {
        i
    } else if is_at(tokens, i + 1, "(") {
        group_end(tokens, i + 1)
    } else {
        i + 1
    }
}

/// Removes every item marked `#[cfg(test)]` (test modules, test helpers, test-only
/// imports) and returns the remaining tokens with the names of the test modules that
/// live in their own file (`#[cfg(test)] mod tests;`), whose files are skipped too.
fn remove_test_items(tokens: &[String]) -> (Vec<String>, Vec<String>) {
    const CFG_TEST: [&str; 7] = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut kept = Vec::with_capacity(tokens.len());
    let mut test_modules = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !CFG_TEST
            .iter()
            .enumerate()
            .all(|(k, t)| is_at(tokens, i + k, t))
        {
            kept.push(tokens[i].clone());
            i += 1;
            continue;
        }
        // Other attributes may sit between `#[cfg(test)]` and the item.
        let mut item = i + CFG_TEST.len();
        while is_at(tokens, item, "#") && is_at(tokens, item + 1, "[") {
            item = group_end(tokens, item + 1);
        }
        let name_at = skip_visibility(tokens, item) + 1;
        if is_at(tokens, name_at - 1, "mod") && is_at(tokens, name_at + 1, ";") {
            test_modules.push(tokens[name_at].clone());
        }
        i = item_end(tokens, item);
    }
    (kept, test_modules)
}

// ---------------------------------------------------------------------------------
// Per-module facts, before any resolution.
// ---------------------------------------------------------------------------------

/// One leaf of a `use` tree: `use a::{b, c as d}` has leaves `a::b` and `a::c as d`.
#[derive(Clone, Debug)]
struct UseLeaf {
    /// The path as written; a leading `::` (external crate) is kept as a `::` segment.
    path: Vec<String>,
    /// The name the leaf binds in the module, if any (not for globs or `as _`).
    binding: Option<String>,
    /// Whether the leaf is a glob (`a::*`), whose `path` is then the glob's module.
    glob: bool,
    /// Whether the `use` is at module level rather than inside a function or block:
    /// only those are visible to other modules, so only those are followed as
    /// re-exports.
    module_level: bool,
}

impl UseLeaf {
    /// A leaf as parsed; `ModuleSource::parse` then sets `module_level`.
    fn new(path: Vec<String>, binding: Option<String>, glob: bool) -> UseLeaf {
        UseLeaf {
            path,
            // `use x::Trait as _;` imports a trait for its methods but binds no name.
            binding: binding.filter(|b| b != "_"),
            glob,
            module_level: true,
        }
    }
}

/// What the source of one module says, before paths are resolved.
#[derive(Debug, Default)]
struct ModuleSource {
    /// Every leaf of every `use` declaration.
    uses: Vec<UseLeaf>,
    /// Every other path of two segments or more, e.g. `super::Item` or `child::f`.
    paths: Vec<Vec<String>>,
    /// Names of items defined here (roughly: the name after `fn`, `struct`, ...).
    items: BTreeSet<String>,
    /// Child modules declared `#[cfg(test)] mod name;`: test code in their own files.
    test_children: Vec<String>,
}

impl ModuleSource {
    /// Reads the facts of one file.
    fn parse(source: &str) -> ModuleSource {
        let tokens = tokenize(&strip_comments_and_literals(source));
        let (tokens, test_children) = remove_test_items(&tokens);
        let mut module = ModuleSource {
            test_children,
            ..ModuleSource::default()
        };
        // Brace depth, to tell module-level `use` from `use` inside a function body.
        let mut depth = 0usize;
        let mut i = 0;
        while i < tokens.len() {
            let token = tokens[i].as_str();
            let starts_path = i == 0 || tokens[i - 1] != "::";
            match token {
                "{" => depth += 1,
                "}" => depth = depth.saturating_sub(1),
                _ => {}
            }
            if token == "use" {
                let mut leaves = Vec::new();
                let end = parse_use_tree(&tokens, i + 1, &[], &mut leaves);
                module.uses.extend(leaves.into_iter().map(|leaf| UseLeaf {
                    module_level: depth == 0,
                    ..leaf
                }));
                i = end.max(i + 1);
            } else if token == "pub" && is_at(&tokens, i + 1, "(") {
                // `pub(in crate::x)` restricts visibility; it is not a dependency.
                i = group_end(&tokens, i + 1);
            } else if is_ident(token) && starts_path && is_at(&tokens, i + 1, "::") {
                let (path, end) = read_path(&tokens, i);
                module.paths.push(path);
                i = end;
            } else {
                if ITEM_KEYWORDS.contains(&token)
                    && let Some(name) = tokens.get(i + 1).filter(|t| is_ident(t))
                {
                    module.items.insert(name.clone());
                }
                i += 1;
            }
        }
        module
    }

    fn merge(&mut self, other: ModuleSource) {
        self.uses.extend(other.uses);
        self.paths.extend(other.paths);
        self.items.extend(other.items);
        self.test_children.extend(other.test_children);
    }

    /// The module-level `use` leaf that binds `name`, if any.
    fn module_level_binding(&self, name: &str) -> Option<&UseLeaf> {
        self.uses
            .iter()
            .find(|u| u.module_level && u.binding.as_deref() == Some(name))
    }

    /// Whether the module visibly defines or imports `name`.
    fn has_name(&self, name: &str) -> bool {
        self.items.contains(name) || self.module_level_binding(name).is_some()
    }
}

/// Reads `a::b::c` starting at `start`, stopping before `::<` (turbofish), `::{` or
/// `::*`; returns the segments and the index after them.
fn read_path(tokens: &[String], start: usize) -> (Vec<String>, usize) {
    let mut path = vec![tokens[start].clone()];
    let mut i = start + 1;
    while is_at(tokens, i, "::") && tokens.get(i + 1).is_some_and(|t| is_ident(t)) {
        path.push(tokens[i + 1].clone());
        i += 2;
    }
    (path, i)
}

/// Parses one use tree starting at `i`, appends its leaves and returns the index after
/// it. `prefix` is the path of the enclosing groups: `use a::{b, c::{d, e}}` has leaves
/// `a::b`, `a::c::d` and `a::c::e`.
fn parse_use_tree(
    tokens: &[String],
    mut i: usize,
    prefix: &[String],
    leaves: &mut Vec<UseLeaf>,
) -> usize {
    let mut path = prefix.to_vec();
    if is_at(tokens, i, "::") {
        // `use ::name` always names an external crate; keep the marker so it never resolves.
        path.push("::".into());
        i += 1;
    }
    loop {
        let Some(token) = tokens.get(i) else {
            return i;
        };
        match token.as_str() {
            "{" => {
                i += 1;
                while i < tokens.len() && !is_at(tokens, i, "}") {
                    let end = parse_use_tree(tokens, i, &path, leaves);
                    // Skip the separator, or anything malformed, so that we always advance.
                    i = if is_at(tokens, end, ",") || end == i {
                        end + 1
                    } else {
                        end
                    };
                }
                return i + 1;
            }
            "*" => {
                leaves.push(UseLeaf::new(path, None, true));
                return i + 1;
            }
            name if is_ident(name) => {
                // `self` first in a group (`use a::{self, b}`) is the group's own module.
                let group_self = name == "self" && path.len() == prefix.len() && !path.is_empty();
                if !group_self {
                    path.push(name.to_string());
                }
                i += 1;
                if !group_self && is_at(tokens, i, "::") {
                    i += 1;
                    continue;
                }
                let mut binding = path.last().cloned();
                if is_at(tokens, i, "as") {
                    binding = tokens.get(i + 1).cloned();
                    i += 2;
                }
                leaves.push(UseLeaf::new(path, binding, false));
                return i;
            }
            // Something this small parser does not understand (e.g. `$` in a macro).
            _ => return i,
        }
    }
}

// ---------------------------------------------------------------------------------
// A crate: its modules, and path resolution.
// ---------------------------------------------------------------------------------

/// Every module of one crate, keyed by module path (`[]` is the crate root).
struct Crate {
    modules: BTreeMap<Vec<String>, ModuleSource>,
}

/// `base` followed by `rest`.
fn concat(base: &[String], rest: &[String]) -> Vec<String> {
    base.iter().chain(rest).cloned().collect()
}

/// Display name of a module path: `a::b`, or `crate` for the root.
fn module_name(path: &[String]) -> String {
    if path.is_empty() {
        ROOT.to_string()
    } else {
        path.join("::")
    }
}

/// Module path of a source file: `lib.rs`/`main.rs` are the root, `a.rs` and
/// `a/mod.rs` are `a`, `a/b.rs` is `a::b`.
fn module_path_of(src_root: &Path, file: &Path) -> Vec<String> {
    let relative = file
        .strip_prefix(src_root)
        .unwrap_or(file)
        .with_extension("");
    let mut path: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let is_root_file = path.len() == 1 && (path[0] == "lib" || path[0] == "main");
    if is_root_file || path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    path
}

/// Every `.rs` file under `dir`, in a stable order, leaving out `skip` (`src/bin`: each
/// file there is a crate of its own).
fn rust_files(dir: &Path, skip: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path == skip {
            continue;
        } else if path.is_dir() {
            rust_files(&path, skip, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

impl Crate {
    /// Reads every non-test module under `src_root`.
    fn load(src_root: &Path) -> Crate {
        let mut files = Vec::new();
        rust_files(src_root, &src_root.join("bin"), &mut files);
        let mut modules: BTreeMap<Vec<String>, ModuleSource> = BTreeMap::new();
        // The root exists even when lib.rs is missing, so that resolution always finds
        // a module prefix.
        modules.insert(Vec::new(), ModuleSource::default());
        for file in files {
            let source = fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            let parsed = ModuleSource::parse(&source);
            modules
                .entry(module_path_of(src_root, &file))
                .or_default()
                .merge(parsed);
        }
        // Test modules in their own file (`#[cfg(test)] mod tests;`, and by convention any
        // module called `tests`) are test code, and so is everything below them.
        let test_roots: Vec<Vec<String>> = modules
            .iter()
            .flat_map(|(path, m)| {
                m.test_children
                    .iter()
                    .map(|c| concat(path, std::slice::from_ref(c)))
            })
            .collect();
        modules.retain(|path, _| {
            !path.iter().any(|segment| segment == "tests")
                && !test_roots.iter().any(|t| path.starts_with(t))
        });
        Crate { modules }
    }

    /// The crate-absolute form (without `crate`) of `path` as written in `module`, or
    /// `None` when it does not start in this crate (external crates, prelude names,
    /// local types such as `Self::` or `Enum::Variant`).
    fn absolute(&self, module: &[String], path: &[String], depth: usize) -> Option<Vec<String>> {
        let (first, rest) = path.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some(concat(module, rest)),
            "super" => {
                // Each `super` (there may be several) goes up one level.
                let mut base = module.to_vec();
                let mut remaining = path;
                while let Some((segment, tail)) = remaining.split_first()
                    && segment == "super"
                {
                    base.pop()?;
                    remaining = tail;
                }
                Some(concat(&base, remaining))
            }
            // A child module, named relative to the current one.
            name if self
                .modules
                .contains_key(&concat(module, &[name.to_string()])) =>
            {
                Some(concat(module, path))
            }
            // A name brought in by `use` (e.g. `use crate::output;` then `output::write`),
            // anywhere in the module: a function-level alias is still this module's.
            name => {
                let leaf =
                    self.modules.get(module)?.uses.iter().find(|u| {
                        !u.glob && u.binding.as_deref() == Some(name) && u.path != [name]
                    })?;
                if depth >= MAX_DEPTH {
                    return None;
                }
                let target = self.absolute(module, &leaf.path, depth + 1)?;
                Some(concat(&target, rest))
            }
        }
    }

    /// The module that defines the item at crate-absolute `path`, following re-exports;
    /// `None` when the item is an external one re-exported by this crate.
    fn defining_module(&self, path: &[String], depth: usize) -> Option<Vec<String>> {
        // The longest prefix that is a module; the root always is one.
        let k = (0..=path.len())
            .rev()
            .find(|&k| self.modules.contains_key(&path[..k]))?;
        let module = &path[..k];
        let source = &self.modules[module];
        let Some(name) = path.get(k) else {
            return Some(module.to_vec());
        };
        if depth >= MAX_DEPTH {
            return Some(module.to_vec());
        }
        if let Some(leaf) = source.module_level_binding(name) {
            // A re-export (or an import, which descendants may also name): the item
            // lives where the `use` points.
            let target = self.absolute(module, &leaf.path, depth + 1)?;
            return self.defining_module(&concat(&target, &path[k + 1..]), depth + 1);
        }
        if !source.items.contains(name) {
            // Not defined here by name: perhaps brought in by a glob `use x::*`.
            for glob in source.uses.iter().filter(|u| u.glob && u.module_level) {
                if let Some(target) = self.absolute(module, &glob.path, depth + 1)
                    && self.modules.get(&target).is_some_and(|m| m.has_name(name))
                {
                    return self.defining_module(&concat(&target, &path[k..]), depth + 1);
                }
            }
        }
        Some(module.to_vec())
    }
}

/// Per module, the modules of the same crate it depends on, each with one path (as
/// written) that makes the dependency: the evidence printed when a cycle is found.
fn module_graph_with_reasons(src_root: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let krate = Crate::load(src_root);
    let mut graph = BTreeMap::new();
    for (module, source) in &krate.modules {
        let deps: &mut BTreeMap<String, String> = graph.entry(module_name(module)).or_default();
        // Declaring `mod child;` is not a dependency; using or re-exporting its items is.
        let written = source.uses.iter().map(|u| &u.path).chain(&source.paths);
        for path in written {
            let target = krate
                .absolute(module, path, 0)
                .and_then(|absolute| krate.defining_module(&absolute, 0));
            if let Some(target) = target {
                deps.entry(module_name(&target))
                    .or_insert_with(|| path.join("::"));
            }
        }
    }
    graph
}

/// Per module of the crate whose sources are under `src_root`, the modules of the same
/// crate it depends on (the root is `crate`; a module may depend on itself).
fn module_graph(src_root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    module_graph_with_reasons(src_root)
        .into_iter()
        .map(|(module, deps)| (module, deps.into_keys().collect()))
        .collect()
}

/// `graph` without the evidence behind each edge.
fn without_reasons(
    graph: &BTreeMap<String, BTreeMap<String, String>>,
) -> BTreeMap<String, BTreeSet<String>> {
    graph
        .iter()
        .map(|(module, deps)| (module.clone(), deps.keys().cloned().collect()))
        .collect()
}

// ---------------------------------------------------------------------------------
// Cycles.
// ---------------------------------------------------------------------------------

/// Tarjan's strongly connected components, keeping those of two modules or more.
struct Tarjan<'g> {
    graph: &'g BTreeMap<String, BTreeSet<String>>,
    index: BTreeMap<&'g str, usize>,
    low: BTreeMap<&'g str, usize>,
    stack: Vec<&'g str>,
    on_stack: BTreeSet<&'g str>,
    components: Vec<Vec<String>>,
}

impl<'g> Tarjan<'g> {
    fn visit(&mut self, v: &'g str) {
        let graph = self.graph;
        let order = self.index.len();
        self.index.insert(v, order);
        self.low.insert(v, order);
        self.stack.push(v);
        self.on_stack.insert(v);
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            let reach = if !self.index.contains_key(w) {
                self.visit(w);
                self.low[w]
            } else if self.on_stack.contains(w) {
                self.index[w]
            } else {
                continue;
            };
            let low = self.low.get_mut(v).expect("visited");
            *low = (*low).min(reach);
        }
        if self.low[v] == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            // A single module is not a cycle, even if it refers to itself.
            if component.len() > 1 {
                component.sort();
                self.components.push(component);
            }
        }
    }
}

/// The module cycles of `graph`: every strongly connected component of more than one
/// module, each sorted, in sorted order. Self-loops are not cycles.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for v in graph.keys() {
        if !tarjan.index.contains_key(v.as_str()) {
            tarjan.visit(v);
        }
    }
    tarjan.components.sort();
    tarjan.components
}

/// A shortest path from `from` to `to` that stays inside `component`, as
/// `[from, ..., to]` (breadth-first search). Both ends are in the component, so there is
/// one.
fn shortest_path(
    graph: &BTreeMap<String, BTreeSet<String>>,
    component: &[String],
    from: &str,
    to: &str,
) -> Vec<String> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut reached = BTreeSet::from([from]);
    let mut queue = VecDeque::from([from]);
    while let Some(v) = queue.pop_front() {
        if v == to {
            let mut path = vec![to.to_string()];
            let mut at = to;
            while let Some(&previous) = parent.get(at) {
                path.push(previous.to_string());
                at = previous;
            }
            path.reverse();
            return path;
        }
        for w in graph.get(v).into_iter().flatten() {
            if component.contains(w) && reached.insert(w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    vec![from.to_string(), to.to_string()]
}

/// Describes the cycles of one crate: for each strongly connected component its
/// modules, then for every edge inside it a shortest cycle through that edge (each
/// cycle once), with a path behind each edge. Breaking the component means removing
/// enough of these edges.
fn describe_cycles(
    graph: &BTreeMap<String, BTreeMap<String, String>>,
    components: &[Vec<String>],
) -> String {
    let plain = without_reasons(graph);
    let mut text = String::new();
    for component in components {
        text += &format!(
            "  modules that depend on each other: {}\n",
            component.join(", ")
        );
        let mut seen = BTreeSet::new();
        for from in component {
            let inside = plain[from]
                .iter()
                .filter(|to| *to != from && component.contains(to));
            for to in inside {
                // The edge, then the way back.
                let mut cycle = vec![from.clone()];
                cycle.extend(shortest_path(&plain, component, to, from));
                // Report each cycle once, rotated to start at its smallest module.
                cycle.pop();
                let smallest = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap_or(0);
                cycle.rotate_left(smallest);
                cycle.push(cycle[0].clone());
                if !seen.insert(cycle.clone()) {
                    continue;
                }
                text += &format!("    {}\n", cycle.join(" -> "));
                for edge in cycle.windows(2) {
                    let why = &graph[&edge[0]][&edge[1]];
                    text += &format!("        {} -> {}: `{why}`\n", edge[0], edge[1]);
                }
            }
        }
    }
    text
}

// ---------------------------------------------------------------------------------
// Tests of the analyzer on small synthetic crates.
// ---------------------------------------------------------------------------------

/// A throwaway crate source tree in the system temp folder, removed on drop.
struct TempCrate {
    root: PathBuf,
}

impl TempCrate {
    /// Writes `files` (paths relative to `src/`, contents) into a fresh folder.
    fn new(files: &[(&str, &str)]) -> TempCrate {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "evcarbon-architecture-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let root = std::env::temp_dir().join(unique);
        for (path, text) in files {
            let file = root.join("src").join(path);
            fs::create_dir_all(file.parent().expect("file in a folder")).unwrap();
            fs::write(&file, text).unwrap();
        }
        TempCrate { root }
    }

    fn graph(&self) -> BTreeMap<String, BTreeSet<String>> {
        module_graph(&self.root.join("src"))
    }
}

impl Drop for TempCrate {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn cycle(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn analyzer_finds_a_planted_cycle() {
    let krate = TempCrate::new(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\npub use c::Gamma;\n"),
        (
            "a.rs",
            "use crate::b::Beta;\npub struct Alpha;\npub fn f(_: Beta) {}\n",
        ),
        (
            "b.rs",
            "pub struct Beta;\npub fn g() -> super::a::Alpha { super::a::Alpha }\n",
        ),
        (
            "c.rs",
            concat!(
                "/// Unlike [`crate::a::Alpha`], a gamma has no /* nested */ parts.\n",
                "pub struct Gamma;\n",
                "/* a block comment about crate::b::Beta /* nested crate::a */ */\n",
                "pub const NAME: &str = \"crate::b\";\n",
                "pub const RAW: &str = r#\"crate::a::Alpha \" still raw\"#;\n",
                "pub fn quote<'a>(s: &'a str) -> (char, &'a str) { ('\"', s) }\n",
            ),
        ),
    ]);
    let graph = krate.graph();
    assert_eq!(graph["crate"], set(&["c"]), "the root re-exports c::Gamma");
    assert_eq!(graph["a"], set(&["b"]));
    assert_eq!(graph["b"], set(&["a"]));
    assert_eq!(graph["c"], set(&[]), "comments and literals are not paths");
    assert_eq!(cycles(&graph), vec![cycle(&["a", "b"])]);
}

#[test]
fn child_using_an_item_of_its_parent_while_the_parent_uses_it_is_a_cycle() {
    let krate = TempCrate::new(&[
        ("lib.rs", "pub mod parent;\n"),
        (
            "parent/mod.rs",
            "mod child;\npub struct Item;\npub fn run() { child::Thing::new(); }\n",
        ),
        (
            "parent/child.rs",
            "pub struct Thing;\nimpl Thing { pub fn new() -> Self { Thing } }\npub fn f(_: super::Item) {}\n",
        ),
    ]);
    let graph = krate.graph();
    assert_eq!(
        graph["crate"],
        set(&[]),
        "declaring a module is not using it"
    );
    assert_eq!(graph["parent"], set(&["parent::child"]));
    assert_eq!(graph["parent::child"], set(&["parent"]));
    assert_eq!(cycles(&graph), vec![cycle(&["parent", "parent::child"])]);
}

#[test]
fn nested_use_groups_resolve_every_leaf() {
    let krate = TempCrate::new(&[
        ("lib.rs", "mod m;\npub const TOP: u32 = 1;\n"),
        ("m/mod.rs", "mod x;\nmod y;\nmod z;\n"),
        ("m/x.rs", "pub struct A;\npub struct B;\n"),
        ("m/y.rs", "pub struct C;\n"),
        (
            "m/z.rs",
            concat!(
                "use super::{\n    x::{A, B},\n    y::C,\n};\n",
                "use std::{fmt, io::{self, Read}};\n",
                "pub fn top() -> u32 { super::super::TOP }\n",
            ),
        ),
    ]);
    let graph = krate.graph();
    assert_eq!(graph["m::z"], set(&["crate", "m::x", "m::y"]));
    assert_eq!(graph["m"], set(&[]));
    assert!(cycles(&graph).is_empty());
}

#[test]
fn reexports_are_followed_to_the_defining_module() {
    let krate = TempCrate::new(&[
        (
            "lib.rs",
            "mod parent;\nmod user;\npub use parent::Thing;\npub const LIMIT: u32 = 3;\n",
        ),
        (
            "parent/mod.rs",
            concat!(
                "mod inner;\nmod sibling;\n",
                "pub use inner::Thing;\n",
                "pub(crate) use inner::{Other as Alias, Third};\n",
            ),
        ),
        (
            "parent/inner.rs",
            "pub struct Thing;\npub struct Other;\npub struct Third;\n",
        ),
        (
            "parent/sibling.rs",
            "use super::Thing;\npub fn f(_: super::Alias, _: Thing) {}\n",
        ),
        // Through two re-exports (crate root, then parent), and to an item of the root.
        (
            "user.rs",
            "pub fn g(_: crate::Thing) -> u32 { crate::LIMIT }\n",
        ),
    ]);
    let graph = krate.graph();
    assert_eq!(graph["parent::sibling"], set(&["parent::inner"]));
    assert_eq!(graph["parent"], set(&["parent::inner"]));
    assert_eq!(graph["user"], set(&["crate", "parent::inner"]));
    assert_eq!(graph["crate"], set(&["parent::inner"]));
    assert!(cycles(&graph).is_empty());
}

#[test]
fn test_code_is_ignored() {
    let krate = TempCrate::new(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", "pub fn f() {}\n#[cfg(test)]\nmod tests;\n"),
        // The test file of `a`, the inline test module of `b` and a test-only field of
        // `b` all use the other module.
        ("a/tests.rs", "use crate::b::g;\n"),
        (
            "b.rs",
            concat!(
                "pub fn g() {}\n",
                "#[cfg(test)]\n#[allow(unused)]\nmod tests {\n    use crate::a::f;\n    fn t() { super::g() }\n}\n",
                "pub struct S {\n    #[cfg(test)]\n    probe: crate::a::Probe,\n    pub n: u32,\n}\n",
                "pub fn h() { crate::b::g() }\n",
            ),
        ),
    ]);
    let graph = krate.graph();
    assert!(!graph.contains_key("a::tests"));
    assert_eq!(graph["a"], set(&[]));
    assert_eq!(
        graph["b"],
        set(&["b"]),
        "code after the test module is still read"
    );
    assert!(cycles(&graph).is_empty());
}

#[test]
fn cycles_are_strongly_connected_components_without_self_loops() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", &["a", "b"][..]),
        ("b", &["c"]),
        ("c", &["a"]),
        ("d", &["d"]),
        ("e", &["f", "a"]),
        ("f", &["e"]),
    ]
    .into_iter()
    .map(|(m, deps)| (m.to_string(), set(deps)))
    .collect();
    assert_eq!(
        cycles(&graph),
        vec![cycle(&["a", "b", "c"]), cycle(&["e", "f"])]
    );
    let component = cycle(&["a", "b", "c"]);
    assert_eq!(
        shortest_path(&graph, &component, "b", "a"),
        cycle(&["b", "c", "a"])
    );
}

// ---------------------------------------------------------------------------------
// The architecture rule itself.
// ---------------------------------------------------------------------------------

#[test]
fn workspace_module_graphs_have_no_cycles() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The application and the two library crates; any other crate under `crates/` is
    // checked too, so that a new crate cannot slip through.
    let mut roots = vec![
        PathBuf::from("src"),
        PathBuf::from("crates/model/src"),
        PathBuf::from("crates/engine/src"),
    ];
    let mut others = Vec::new();
    rust_crate_roots(&workspace.join("crates"), &mut others);
    for other in others {
        let relative = other
            .strip_prefix(workspace)
            .unwrap_or(&other)
            .to_path_buf();
        if !roots.contains(&relative) {
            roots.push(relative);
        }
    }

    let mut report = String::new();
    for root in roots {
        let src = workspace.join(&root);
        assert!(src.is_dir(), "{} is missing", src.display());
        let graph = module_graph_with_reasons(&src);
        let components = cycles(&without_reasons(&graph));
        if !components.is_empty() {
            report += &format!(
                "crate `{}` has {} module cycle(s):\n{}",
                root.display(),
                components.len(),
                describe_cycles(&graph, &components)
            );
        }
    }
    assert!(
        report.is_empty(),
        "module graphs must not have cycles; move the shared items into a module that \
         both sides can depend on, or invert one of the dependencies.\n{report}"
    );
}

/// The application's top-level modules are layers: `cli` may use the others,
/// `driver` uses `config` and `output`, and `config` and `output` use neither each
/// other nor anything above them (`output` writes plain row types and imports
/// nothing from the driver). A cycle test cannot see this: an edge from `output`
/// to the driver's `stop` module makes no cycle, but it points up.
#[test]
fn application_layers_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let may_use: [(&str, &[&str]); 5] = [
        ("cli", &["driver", "config", "output", "report"]),
        ("report", &["output"]),
        ("driver", &["config", "output"]),
        ("config", &[]),
        ("output", &[]),
    ];
    let layer = |module: &str| module.split("::").next().unwrap_or(module).to_string();
    let mut violations = Vec::new();
    for (from, edges) in module_graph_with_reasons(&src) {
        let Some(&(_, allowed)) = may_use.iter().find(|(l, _)| *l == layer(&from)) else {
            continue;
        };
        for (to, reason) in edges {
            let target = layer(&to);
            let known = may_use.iter().any(|(l, _)| *l == target);
            if known && target != layer(&from) && !allowed.contains(&target.as_str()) {
                violations.push(format!("{from} -> {to}: `{reason}`"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "the application's layers must point down (cli → driver → config, output):\n    {}",
        violations.join("\n    ")
    );
}

/// The `src` folder of every crate directly under `crates`.
fn rust_crate_roots(crates: &Path, roots: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(crates) else {
        return;
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path().join("src")))
        .filter(|src| src.is_dir())
        .collect();
    found.sort();
    roots.extend(found);
}
