//! `leakstop scan` on real files: findings, filters, bad input, exit codes.

mod common;

use common::*;

#[test]
fn finds_secrets_with_exact_locations_and_exits_1() {
    let tree = Tree::new();
    tree.write(
        ".env",
        format!("# deploy settings\nGITHUB_TOKEN={GITHUB_PAT}\n"),
    )
    .write(
        "src/app.py",
        format!("import os\n\nclient = Client(token=\"{GITHUB_OAUTH}\")\n"),
    )
    .write("README.md", "nothing to see here\n");
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", ".env", 2, 14),
            loc("github.oauth", "src/app.py", 3, 24),
        ]
    );
    let first = &report["findings"][0];
    assert_eq!(first["end_line"], 2);
    assert_eq!(first["end_column"], 54);
    assert_eq!(first["provider"], "github");
    assert_eq!(first["confidence"], "high");
    assert!(first["fingerprint"].as_str().unwrap().starts_with("lsfp1:"));
    assert_eq!(report["version"], 1);
    assert_eq!(report["stats"]["files_scanned"], 3);
    assert!(out.stderr.contains("scanned 3 files"), "{}", out.stderr);
}

#[test]
fn clean_tree_exits_0_and_says_what_it_scanned() {
    let tree = Tree::new();
    tree.write("a.txt", "hello\n")
        .write("b/c.rs", "fn main() {}\n");
    let out = tree.leakstop(&["scan", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("scanned 2 files"), "{}", out.stderr);
    assert!(out.stderr.contains("0 findings"), "{}", out.stderr);
}

#[test]
fn empty_directory_reports_zero_files_scanned() {
    let tree = Tree::new();
    let out = tree.leakstop(&["scan", "."]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains("scanned 0 files (0 B)"),
        "{}",
        out.stderr
    );
}

#[test]
fn secrets_are_redacted_in_every_format_unless_asked() {
    let tree = Tree::new();
    tree.write("config.yml", format!("token: {GITHUB_PAT}\n"));
    for format in ["human", "json", "jsonl", "sarif", "csv"] {
        let out = tree.leakstop(&["scan", "--format", format, "."]);
        assert_eq!(out.code, 1, "{format}: {}", out.stderr);
        assert!(
            !out.stdout.contains(GITHUB_PAT),
            "{format} leaked the secret"
        );
        assert!(
            !out.stderr.contains(GITHUB_PAT),
            "{format} leaked the secret on stderr"
        );
        assert!(
            out.stdout.contains("ghp_YO*****"),
            "{format}: {}",
            out.stdout
        );
        let shown = tree.leakstop(&["scan", "--format", format, "--show-secrets", "."]);
        assert!(
            shown.stdout.contains(GITHUB_PAT),
            "{format} with --show-secrets"
        );
    }
}

#[test]
fn allow_comments_suppress_on_the_line_and_the_line_above() {
    let tree = Tree::new();
    tree.write(
        "a.js",
        format!(
            "const a = '{GITHUB_PAT}'; // leakstop:allow\n\
             // leakstop:allow\n\
             const b = '{GITHUB_PAT_2}';\n\
             const c = '{GITHUB_OAUTH}'; // gitleaks:allow\n"
        ),
    );
    tree.write(
        "b.py",
        format!("x = '{GITHUB_PAT}'  # pragma: allowlist secret\ny = '{GITHUB_OAUTH}'\n"),
    );
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(locations(&report), vec![loc("github.oauth", "b.py", 2, 6)]);
    assert_eq!(
        report["stats"]["suppressed"]["allow_comment"], 4,
        "{}",
        out.stderr
    );
}

#[test]
fn gitignore_is_respected_unless_no_ignore_and_hidden_files_are_scanned() {
    let tree = Tree::new();
    tree.write(".gitignore", "generated/\n")
        .write("generated/keys.txt", format!("{GITHUB_PAT}\n"))
        .write(".config/.env", format!("T={GITHUB_OAUTH}\n"));
    let (_, report) = tree.scan_json(&[]);
    assert_eq!(
        locations(&report),
        vec![loc("github.oauth", ".config/.env", 1, 3)]
    );
    let (_, report) = tree.scan_json(&["--no-ignore"]);
    assert_eq!(locations(&report).len(), 2);
}

#[test]
fn binary_empty_oversized_and_invalid_utf8_files() {
    let tree = Tree::new();
    let mut binary = b"\x7fELF\0\0\0".to_vec();
    binary.extend_from_slice(GITHUB_PAT.as_bytes());
    tree.write("app.bin", binary)
        .write("empty.txt", "")
        .write("big.txt", format!("{}\n{GITHUB_PAT_2}\n", "x".repeat(2000)));
    let mut latin1 = b"caf\xe9 \xff\xfe token=".to_vec();
    latin1.extend_from_slice(GITHUB_OAUTH.as_bytes());
    tree.write("latin1.txt", latin1);
    let (out, report) = tree.scan_json(&["--max-file-size", "1K"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        locations(&report),
        vec![loc("github.oauth", "latin1.txt", 1, 15)]
    );
    assert_eq!(report["stats"]["skipped"]["binary"], 1);
    assert_eq!(report["stats"]["skipped"]["too_large"], 1);
    assert_eq!(report["stats"]["files_scanned"], 2);
    assert!(
        out.stderr.contains("1 binary") && out.stderr.contains("1 over the size limit"),
        "{}",
        out.stderr
    );
}

#[test]
fn huge_minified_line_reports_exact_column_and_bounded_context() {
    let tree = Tree::new();
    let prefix = "var a=1;".repeat(400_000);
    let line = format!("{prefix}var t=\"{GITHUB_PAT}\";{}", "b();".repeat(100_000));
    tree.write("dist/app.min.js", &line);
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1);
    let finding = &report["findings"][0];
    assert_eq!(finding["line"], 1);
    assert_eq!(finding["column"], prefix.len() as u64 + 8);
    let context = finding["context"].as_str().unwrap();
    assert!(context.len() < 200, "context is {} bytes", context.len());
    assert!(context.contains("ghp_YO*****"));
    let human = tree.leakstop(&["scan", "."]);
    assert!(
        human.stdout.len() < 1000,
        "human output is {} bytes",
        human.stdout.len()
    );
}

#[test]
fn unreadable_input_makes_the_scan_incomplete_and_exit_3() {
    let tree = Tree::new();
    tree.write("ok.txt", "fine\n");
    std::os::unix::fs::symlink(tree.join("missing-target"), tree.join("dangling.txt")).unwrap();
    let out = tree.leakstop(&["scan", "--follow-symlinks", "."]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("INCOMPLETE") && out.stderr.contains("dangling.txt"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("scanned 1 file"), "{}", out.stderr);

    // Findings still win over incompleteness.
    tree.write("leak.txt", GITHUB_PAT);
    let out = tree.leakstop(&["scan", "--follow-symlinks", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("INCOMPLETE"));

    // Without following symlinks, the link is skipped by policy: complete.
    let out = tree.leakstop(&["scan", "."]);
    assert_eq!(out.code, 1);
    assert!(
        !out.stderr.contains("INCOMPLETE") && out.stderr.contains("1 symlinks not followed"),
        "{}",
        out.stderr
    );
}

#[test]
fn permission_denied_is_reported_by_path() {
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(true);
    if is_root {
        // Root reads any file; the dangling-symlink test covers the same path.
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let tree = Tree::new();
    tree.write("secret.txt", GITHUB_PAT);
    std::fs::set_permissions(
        tree.join("secret.txt"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let out = tree.leakstop(&["scan", "."]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("secret.txt"));
}

#[test]
fn usage_errors_exit_4() {
    let tree = Tree::new();
    assert_eq!(tree.leakstop(&["scan", "--no-such-flag"]).code, 4);
    assert_eq!(tree.leakstop(&["scan", "--format", "xml", "."]).code, 4);
    let out = tree.leakstop(&["scan", "does-not-exist"]);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("does-not-exist"), "{}", out.stderr);
    assert_eq!(tree.leakstop(&["--help"]).code, 0);
}

#[test]
fn most_specific_rule_wins() {
    let tree = Tree::new();
    tree.write(
        "settings.py",
        format!("GITHUB_API_TOKEN = \"{GITHUB_PAT}\"\npassword = \"{GITHUB_OAUTH}\"\n"),
    );
    let (_, report) = tree.scan_json(&[]);
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", "settings.py", 1, 21),
            loc("github.oauth", "settings.py", 2, 13),
        ]
    );
}

#[test]
fn output_file_receives_the_report() {
    let tree = Tree::new();
    tree.write("a.txt", GITHUB_PAT);
    let out = tree.leakstop(&[
        "scan",
        "--format",
        "jsonl",
        "--output",
        "report.jsonl",
        "a.txt",
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(tree.join("report.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["rule_id"], "github.pat-classic");
    assert_eq!(lines[0]["path"], "a.txt");
}

#[test]
fn csv_has_a_header_and_one_row_per_finding() {
    let tree = Tree::new();
    tree.write("a b.txt", format!("{GITHUB_PAT}\n{GITHUB_OAUTH}\n"));
    let out = tree.leakstop(&["scan", "--format", "csv", "."]);
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].starts_with("rule_id,provider,path,line,column"));
    assert!(
        rows[1].starts_with("github.pat-classic,github,a b.txt,1,1,1,41,ghp_YO*****,lsfp1:"),
        "{}",
        rows[1]
    );
}

#[test]
fn vendored_folders_are_skipped_by_default() {
    let tree = Tree::new();
    tree.write("node_modules/pkg/index.js", format!("t='{GITHUB_PAT}'\n"))
        .write("src/index.js", "ok\n");
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 0);
    assert_eq!(report["stats"]["skipped"]["vendored_directory"], 1);
    let (out, _) = tree.scan_json(&["--no-default-excludes"]);
    assert_eq!(out.code, 1);
}
