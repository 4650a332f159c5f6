//! The house rules of src/, checked on every test run:
//!
//! - imports run downward only: each top-level module has a layer, and a
//!   module may name (`crate::…`) only modules of a lower layer, or of its
//!   own layer when the other does not name it back;
//! - no two modules import each other;
//! - no file under src/ is longer than 600 lines.
//!
//! A failure names the file, the line and the import.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Top to bottom (docs/architecture.md). Modules on one line share a layer.
const LAYERS: &[&[&str]] = &[
    &["main", "cli", "commands", "exit", "action", "logging"],
    &["bot"],
    &["org"],
    &["github"],
    &["scan"],
    &["source", "bundle"],
    &["blob"],
    &["engine"],
    &["report", "stats"],
    &["filter", "config"],
    &["verify"],
    &["matcher"],
    &["rules"],
    &["provider"],
    &[
        "finding",
        "provenance",
        "text",
        "units",
        "threads",
        "bounded",
        "lib",
    ],
];

const MAX_LINES: usize = 600;

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under src/ belongs to (`src/source/web/mod.rs` → `source`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("file under src/");
    let first = relative
        .components()
        .next()
        .expect("non-empty path")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a line without its `//` comment (string contents are kept:
/// the scanner's sources hold no `crate::` in string literals).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    }
}

/// Every top-level module a line names through `crate::`, including the
/// members of `use crate::{a, b::c}` groups.
fn named_modules(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code(line);
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
        rest = after;
    }
    out
}

struct Import {
    file: String,
    line: usize,
    text: String,
}

#[test]
fn imports_run_downward_and_files_stay_small() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    // (importer, imported) → the first place it happens.
    let mut edges: BTreeMap<(String, String), Import> = BTreeMap::new();
    let mut modules = BTreeSet::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("source file is UTF-8");
        let shown = file
            .strip_prefix(src.parent().expect("src has a parent"))
            .expect("under the manifest dir")
            .display()
            .to_string();
        let lines = text.lines().count();
        if lines > MAX_LINES {
            problems.push(format!(
                "{shown}: {lines} lines (at most {MAX_LINES}: split it by job)"
            ));
        }
        let module = module_of(&src, file);
        if layer_of(&module).is_none() {
            problems.push(format!(
                "{shown}: module `{module}` has no layer in tests/architecture.rs"
            ));
        }
        modules.insert(module.clone());
        for (number, line) in text.lines().enumerate() {
            for imported in named_modules(line) {
                if imported == module {
                    continue;
                }
                edges
                    .entry((module.clone(), imported))
                    .or_insert_with(|| Import {
                        file: shown.clone(),
                        line: number + 1,
                        text: line.trim().to_string(),
                    });
            }
        }
    }
    for ((from, to), import) in &edges {
        let place = format!("{}:{}: `{}`", import.file, import.line, import.text);
        let (Some(from_layer), Some(to_layer)) = (layer_of(from), layer_of(to)) else {
            if layer_of(to).is_none() {
                problems.push(format!("{place}: imports `{to}`, which has no layer"));
            }
            continue;
        };
        if to_layer < from_layer {
            problems.push(format!(
                "{place}: `{from}` imports `{to}`, a higher layer ({} above {})",
                LAYERS[to_layer].join("/"),
                LAYERS[from_layer].join("/")
            ));
        } else if edges.contains_key(&(to.clone(), from.clone())) && from < to {
            let back = &edges[&(to.clone(), from.clone())];
            problems.push(format!(
                "{place}: `{from}` and `{to}` import each other (also {}:{}: `{}`)",
                back.file, back.line, back.text
            ));
        }
    }
    assert!(
        modules.len() > 10,
        "expected to read the whole crate, read {modules:?}"
    );
    assert!(
        problems.is_empty(),
        "house rules broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_reader_sees_grouped_and_inline_imports() {
    assert_eq!(
        named_modules("use crate::{finding::Finding, rules::Rule};"),
        ["finding", "rules"]
    );
    assert_eq!(
        named_modules("    let x = crate::text::human_bytes(1); // crate::scan"),
        ["text"]
    );
    assert_eq!(named_modules("/// see crate::scan"), Vec::<String>::new());
}
