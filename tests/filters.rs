//! Configuration, allowlists and baselines, through the real binary.

mod common;

use common::*;

#[test]
fn config_is_discovered_at_the_root_and_announced() {
    let tree = Tree::new();
    tree.write("tests/fixtures/token.txt", format!("{GITHUB_PAT}\n"))
        .write("src/a.txt", format!("{GITHUB_PAT_2}\n"))
        .write("src/b.txt", format!("{GITHUB_OAUTH}\n"))
        .write(
            ".leakstop.toml",
            format!("[allowlist]\npaths = [\"tests/fixtures\"]\nsecrets = [\"{GITHUB_PAT_2}\"]\n"),
        );
    let (out, report) = tree.scan_json(&[]);
    assert!(
        out.stderr.contains("using config ./.leakstop.toml"),
        "{}",
        out.stderr
    );
    assert_eq!(
        locations(&report),
        vec![loc("github.oauth", "src/b.txt", 1, 1)]
    );
    assert_eq!(report["stats"]["skipped"]["allowlisted_path"], 1);
    // The secret is allowlisted in src/a.txt and in the config file itself.
    assert_eq!(report["stats"]["suppressed"]["allowlisted_secret"], 2);

    let (out, report) = tree.scan_json(&["--no-config"]);
    assert!(!out.stderr.contains("using config"));
    assert_eq!(locations(&report).len(), 4);
}

#[test]
fn allowlist_regexes_disabled_rules_and_overrides() {
    let tree = Tree::new();
    tree.write("a.txt", format!("{GITHUB_PAT}\n{GITHUB_OAUTH}\n"))
        .write("docs/b.txt", format!("{GITHUB_PAT_2}\n"))
        .write(
            "cfg.toml",
            r#"
[rules]
disable = ["github.oauth"]

[[rules.override]]
id = "github.pat-classic"
severity = "low"
allow_paths = ["docs/**"]

[allowlist]
regexes = ["^ghp_YOd"]
"#,
        );
    let (out, report) = tree.scan_json(&["--config", "cfg.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(locations(&report), vec![]);
    assert_eq!(report["stats"]["suppressed"]["allowlisted_secret"], 1);
    assert_eq!(report["stats"]["suppressed"]["allowlisted_path"], 1);

    tree.write(
        "cfg.toml",
        "[[rules.override]]\nid = \"github.pat-classic\"\nseverity = \"low\"\n",
    );
    let (_, report) = tree.scan_json(&["--config", "cfg.toml"]);
    let severities: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "github.pat-classic")
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, vec!["low", "low"]);
}

#[test]
fn broken_configs_are_errors_that_name_the_problem() {
    let tree = Tree::new();
    tree.write("a.txt", format!("{GITHUB_PAT}\n"));
    let cases = [
        ("[allowlist]\npaths = []\nsecretz = [\"x\"]\n", "secretz"),
        ("[rules]\ndisable = [\"github.no-such-rule\"]\n", "github.no-such-rule"),
        ("[allowlist]\nregexes = [\"(unclosed\"]\n", "(unclosed"),
        (
            "[[rule]]\nid = \"acme.token\"\nname = \"ACME\"\nregex = 'acme_[a-z]+'\nkeywords = [\"acme_\"]\nconfidence = \"high\"\nseverity = \"high\"\ndescription = \"d\"\nremediation = \"r\"\n",
            "acme.token",
        ),
        ("this is not toml", "line 1"),
    ];
    for (text, needle) in cases {
        tree.write(".leakstop.toml", text);
        let out = tree.leakstop(&["scan", "."]);
        assert_eq!(out.code, 4, "{text}: {}", out.stderr);
        assert!(
            out.stderr.contains(needle),
            "{needle} not in: {}",
            out.stderr
        );
        assert!(out.stderr.contains(".leakstop.toml"), "{}", out.stderr);
        assert!(
            !out.stderr.contains("scanned"),
            "a broken config must stop the scan"
        );
    }
    let line_case = tree.leakstop(&["scan", "--config", "missing.toml", "."]);
    assert_eq!(line_case.code, 4);
}

#[test]
fn user_rules_from_config_find_their_secrets() {
    let tree = Tree::new();
    tree.write(
        ".leakstop.toml",
        r#"
[[rule]]
id = "acme.internal-token"
name = "ACME internal token"
regex = '''\b(acme_[a-z0-9]{24})\b'''
keywords = ["acme_"]
confidence = "high"
severity = "high"
min_entropy = 3.0
description = "Grants access to ACME's internal API."
remediation = "Rotate it in the ACME console."
"#,
    )
    .write(
        "x.env",
        "ACME=acme_q8z2lmx0pt4kr7wn3vb6yc1d\nACME2=acme_aaaaaaaaaaaaaaaaaaaaaaaa\n",
    );
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("acme.internal-token", "x.env", 1, 6)]
    );
}

#[test]
fn baseline_hides_known_findings_and_survives_line_moves() {
    let tree = Tree::new();
    tree.write("app.py", format!("# settings\nTOKEN = '{GITHUB_PAT}'\n"));
    let out = tree.leakstop(&["baseline", "create", "--output", "baseline.json", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("wrote 1 baseline entry"),
        "{}",
        out.stderr
    );

    let text = std::fs::read_to_string(tree.join("baseline.json")).unwrap();
    let baseline: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(baseline["version"], 1);
    assert_eq!(baseline["fingerprint_algorithm"], "leakstop-fp-v1");
    assert!(
        !text.contains("line") && !text.contains("time") && !text.contains(GITHUB_PAT),
        "{text}"
    );

    let out = tree.leakstop(&["scan", "--baseline", "baseline.json", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("1 by baseline"), "{}", out.stderr);

    // The same secret moved to another line and file: still hidden.
    tree.write("app.py", "# settings\n\n\n# moved\n");
    tree.write("lib/config.py", format!("TOKEN = '{GITHUB_PAT}'\n"));
    let out = tree.leakstop(&["scan", "--baseline", "baseline.json", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // A different secret on the very same line is reported.
    tree.write("lib/config.py", format!("TOKEN = '{GITHUB_PAT_2}'\n"));
    let (out, report) = tree.scan_json(&["--baseline", "baseline.json"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "lib/config.py", 1, 10)]
    );
    assert!(
        out.stderr.contains("1 baseline entry matched nothing"),
        "{}",
        out.stderr
    );
}

#[test]
fn baseline_entries_are_sorted_and_one_per_line() {
    let tree = Tree::new();
    tree.write("b.txt", format!("{GITHUB_PAT}\n{GITHUB_OAUTH}\n"))
        .write("a.txt", format!("{GITHUB_PAT_2}\n{GITHUB_PAT}\n"));
    assert_eq!(
        tree.leakstop(&["baseline", "create", "-o", "bl.json", "."])
            .code,
        0
    );
    let text = std::fs::read_to_string(tree.join("bl.json")).unwrap();
    let entries: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"fingerprint\""))
        .collect();
    assert_eq!(entries.len(), 3, "{text}");
    let mut sorted = entries.clone();
    sorted.sort();
    assert_eq!(entries, sorted);
    // Re-creating from the same tree gives the same bytes (no churn).
    assert_eq!(
        tree.leakstop(&["baseline", "create", "-o", "bl2.json", "."])
            .code,
        0
    );
    assert_eq!(
        text,
        std::fs::read_to_string(tree.join("bl2.json")).unwrap()
    );
}

#[test]
fn a_broken_baseline_is_an_error() {
    let tree = Tree::new();
    tree.write(
        "bl.json",
        "{\"version\": 9, \"fingerprint_algorithm\": \"x\", \"entries\": []}",
    );
    let out = tree.leakstop(&["scan", "--baseline", "bl.json", "."]);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("version 9"), "{}", out.stderr);
}

const GENERIC_RULE: &str = r#"
[[rule]]
id = "custom.integrity-like"
name = "Anything assigned to `checksum`"
regex = '''checksum\s{0,2}[:=]\s{0,2}"([A-Za-z0-9+/=]{20,100})"'''
keywords = ["checksum"]
confidence = "low"
severity = "low"
generic = true
description = "A deliberately broad generic rule."
remediation = "None."
"#;

#[test]
fn lockfiles_generated_and_declaration_files_skip_generic_rules_by_default() {
    let tree = Tree::new();
    let line = "checksum = \"q8Zr2LmX0pT4kW9vB3nY7cE1\"\n";
    tree.write(".leakstop.toml", GENERIC_RULE)
        .write(
            "Cargo.lock",
            format!("{line}url = \"x\"\ntoken = \"{GITHUB_PAT}\"\n"),
        )
        .write(
            "gen/api.pb.go",
            format!("// Code generated by protoc-gen-go. DO NOT EDIT.\n{line}"),
        )
        .write("types/api.d.ts", line)
        .write("src/app.toml", line);
    let (_, report) = tree.scan_json(&[]);
    // Specific rules still run in lockfiles; the generic one only in ordinary files.
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", "Cargo.lock", 3, 10),
            loc("custom.integrity-like", "src/app.toml", 1, 13),
        ]
    );
    let (_, report) = tree.scan_json(&["--no-default-excludes"]);
    assert_eq!(locations(&report).len(), 5);
}
