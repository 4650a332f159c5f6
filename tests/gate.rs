//! The scanner as a security gate (issue 14): input it does not control
//! cannot talk it out of a finding, make it read without end, pass an
//! unscanned input off as clean, or write control characters to a terminal.

mod common;

use common::*;

/// Issue 14 item 4: a marker 20 KB away in a one-line bundle silenced a
/// GitHub token; a marker counts only in a comment near the secret, on a
/// line that is not minified, and never in decoded text.
#[test]
fn far_minified_and_decoded_allow_markers_do_not_suppress() {
    let tree = Tree::new();
    let padding = "a=1;".repeat(5_000);
    tree.write(
        "dist/app.js",
        format!("var t=\"{GITHUB_PAT}\";{padding}/* gitleaks:allow */\n"),
    );
    // The marker only exists once base64 is decoded.
    let encoded = b64(format!("token={GITHUB_PAT_2} # leakstop:allow").as_bytes());
    tree.write("config.js", format!("const c = atob(\"{encoded}\");\n"));
    // A marker next to the secret, in a comment, still counts.
    tree.write(
        "fixture.py",
        format!("TOKEN = '{GITHUB_OAUTH}'  # leakstop:allow\n"),
    );
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut found = locations(&report);
    found.sort();
    assert_eq!(
        found,
        vec![
            loc("github.pat-classic", "config.js", 1, 25),
            loc("github.pat-classic", "dist/app.js", 1, 8),
        ]
    );
    assert_eq!(report["stats"]["suppressed"]["allow_comment"], 1);
}

/// The bytes a terminal acts on: no raw ESC, BEL, CR, other C0/C1 controls
/// or DEL in text meant for a terminal (tab and line feed are layout).
fn assert_no_controls(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| c.is_control() && c != '\n' && c != '\t')
        .collect();
    assert!(bad.is_empty(), "{what} holds {bad:?}:\n{text}");
}

/// Issue 14 item 13: a file name with ESC ]0; … BEL set the terminal's
/// title; one with a line feed could forge a finding line; a corrupt
/// archive's name reached the summary raw.
#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let tree = Tree::new();
    tree.write("a\x1b]0;pwned\x07.env", format!("T={GITHUB_PAT}\n"));
    tree.write(
        "b\nforged.js:9:9: critical fake.rule [Forged]\x1b[2J.env",
        format!("T={GITHUB_PAT_2}\n"),
    );
    tree.write("c\x1b[31m.zip", b"PK\x03\x04 not really a zip");
    let out = tree.leakstop(&["scan", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_no_controls("stdout", &out.stdout);
    assert_no_controls("stderr", &out.stderr);
    assert!(
        out.stdout.contains("a\\x1b]0;pwned\\x07.env:1:3"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("forged.js")),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("c\\x1b[31m.zip"), "{}", out.stderr);
}

/// Issue 14 item 13: CSV cells a spreadsheet would run as a formula start
/// with `'` (OWASP); the CSV still parses to the same number of columns.
#[test]
fn csv_cells_that_look_like_formulas_are_defused() {
    let tree = Tree::new();
    tree.write("=HYPERLINK(1).env", format!("T={GITHUB_PAT}\n"));
    tree.write("@cmd.env", format!("T={GITHUB_PAT_2}\n"));
    let out = tree.leakstop(&["scan", "--format", "csv", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let rows: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    let paths: Vec<&str> = rows.iter().map(|r| r.split(',').nth(2).unwrap()).collect();
    assert!(paths.contains(&"'=HYPERLINK(1).env"), "{paths:?}");
    assert!(paths.contains(&"'@cmd.env"), "{paths:?}");
}
