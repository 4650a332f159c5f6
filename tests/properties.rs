//! The report writers on arbitrary input, through the real binary: files
//! with arbitrary names (any bytes a file name can hold) and arbitrary lines
//! around a secret must give JSON and SARIF that parse, CSV whose every
//! record has the header's columns, and human output and a summary with no
//! raw control character.

mod common;

use common::*;
use proptest::prelude::*;
use std::os::unix::ffi::OsStringExt;

/// A file name: any bytes but `/` and NUL, behind a fixed first letter (so
/// no name is `.`, `..` or an ignore or config file).
fn file_name() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        any::<u8>().prop_filter("name byte", |b| *b != b'/' && *b != 0),
        0..40,
    )
    .prop_map(|rest| [b"f".to_vec(), rest].concat())
}

/// A line of any bytes but NUL (a NUL makes the file binary) and newline.
fn line() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        any::<u8>().prop_filter("line byte", |b| *b != 0 && *b != b'\n'),
        0..80,
    )
}

/// Parses RFC 4180 CSV into records of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quote");
    records
}

fn no_controls(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() && c != '\n')
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn reports_parse_and_human_output_has_no_controls(
        files in proptest::collection::btree_map(file_name(), (line(), line()), 1..6),
    ) {
        let tree = Tree::new();
        for (name, (before, after)) in &files {
            let path = tree.path().join(std::ffi::OsString::from_vec(name.clone()));
            let content = [before.as_slice(), b"\nT=", GITHUB_PAT.as_bytes(), b"\n", after.as_slice()].concat();
            std::fs::write(path, content).unwrap();
        }
        let (out, report) = tree.scan_json(&[]);
        prop_assert_eq!(out.code, 1, "{}", out.stderr);
        prop_assert_eq!(report["findings"].as_array().unwrap().len(), files.len());
        prop_assert!(no_controls(&out.stderr), "{:?}", out.stderr);

        let sarif = tree.leakstop(&["scan", "--format", "sarif", "."]);
        let sarif: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
        prop_assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), files.len());

        let csv = tree.leakstop(&["scan", "--format", "csv", "."]);
        let records = parse_csv(&csv.stdout);
        prop_assert_eq!(records.len(), files.len() + 1, "{}", csv.stdout);
        for record in &records {
            prop_assert_eq!(record.len(), records[0].len(), "{:?}", record);
            prop_assert!(!record[2].starts_with(['=', '+', '-', '@', '\t', '\r']));
        }

        let human = tree.leakstop(&["scan", "."]);
        prop_assert!(no_controls(&human.stdout), "{:?}", human.stdout);
        prop_assert!(no_controls(&human.stderr), "{:?}", human.stderr);
        // One unindented line per finding: a name cannot forge another.
        let finding_lines = human.stdout.lines().filter(|l| !l.is_empty() && !l.starts_with(' ')).count();
        prop_assert_eq!(finding_lines, files.len(), "{}", human.stdout);
    }
}
