//! A range scan (a pull request, a push) checks the commits against the
//! config and baseline of the base commit: the commits cannot switch their
//! own gate off, and every way they loosen it is itself a finding.

mod common;

use common::*;

/// A repository whose base commit has a config that disables nothing, and
/// returns the base commit id.
fn base_repo(config: &str) -> (Tree, String) {
    let tree = Tree::new();
    tree.git(&["init", "-q", "-b", "main"]);
    tree.write("README.md", "app\n");
    if !config.is_empty() {
        tree.write(".leakstop.toml", config);
    }
    tree.git(&["add", "."]);
    tree.git(&["commit", "-q", "-m", "base"]);
    let base = tree.git(&["rev-parse", "HEAD"]);
    (tree, base)
}

fn rules_of(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_pull_request_cannot_allowlist_its_own_secret() {
    let (tree, base) = base_repo("");
    tree.write("secrets/prod.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    tree.write(
        ".leakstop.toml",
        "[allowlist]\npaths = [\"secrets/**\"]\n\n[rules]\ndisable = [\"github.pat-classic\"]\n",
    );
    tree.git(&["add", "."]);
    tree.git(&["commit", "-q", "-m", "add a secret and hide it"]);
    let (out, report) = tree.scan_json(&["--range", &format!("{base}..HEAD")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let rules = rules_of(&report);
    assert!(
        rules.contains(&"github.pat-classic".to_string()),
        "the secret must be found despite the PR's own config: {rules:?}"
    );
    let changes: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "leakstop.gate-change")
        .collect();
    let contexts: Vec<&str> = changes
        .iter()
        .map(|f| f["context"].as_str().unwrap())
        .collect();
    assert_eq!(changes.len(), 2, "{contexts:?}");
    assert!(contexts
        .iter()
        .any(|c| c.contains("disables rule `github.pat-classic`")));
    assert!(contexts
        .iter()
        .any(|c| c.contains("allowlists path `secrets/**`")));
    assert_eq!(changes[0]["path"], ".leakstop.toml");
    assert!(out.stderr.contains("base commit"), "{}", out.stderr);
    // The same config already at the base is trusted and applies.
    let (trusted, base) = base_repo("[allowlist]\npaths = [\"secrets/**\"]\n");
    trusted.write("secrets/prod.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    trusted.git(&["add", "."]);
    trusted.git(&["commit", "-q", "-m", "fixture"]);
    let (out, report) = trusted.scan_json(&["--range", &format!("{base}..HEAD")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(rules_of(&report).is_empty());
}

#[test]
fn a_pull_request_cannot_baseline_its_own_secret() {
    let (tree, base) = base_repo("");
    tree.write("app.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    // The change accepts its own secret in the baseline it commits.
    let out = tree.leakstop(&["baseline", "create", "-o", "leakstop-baseline.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    tree.git(&["add", "."]);
    tree.git(&["commit", "-q", "-m", "secret plus baseline"]);
    // Outside a range, the working tree's baseline applies (pre-commit use).
    let (out, _) = tree.scan_json(&["--baseline", "leakstop-baseline.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (out, report) = tree.scan_json(&[
        "--range",
        &format!("{base}..HEAD"),
        "--baseline",
        "leakstop-baseline.json",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let rules = rules_of(&report);
    assert!(
        rules.contains(&"github.pat-classic".to_string()),
        "{rules:?}"
    );
    let change = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "leakstop.gate-change")
        .expect("the added baseline entry is reported");
    assert_eq!(change["path"], "leakstop-baseline.json");
    assert!(change["context"]
        .as_str()
        .unwrap()
        .contains("adds baseline entry lsfp1:"));
}

#[test]
fn an_explicit_config_is_trusted_as_given() {
    let (tree, base) = base_repo("");
    tree.write("app.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    tree.git(&["add", "."]);
    tree.git(&["commit", "-q", "-m", "secret"]);
    let outside = tempfile::tempdir().unwrap();
    let config = outside.path().join("ci.toml");
    std::fs::write(&config, "[allowlist]\npaths = [\"app.env\"]\n").unwrap();
    let (out, report) = tree.scan_json(&[
        "--range",
        &format!("{base}..HEAD"),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(rules_of(&report).is_empty());
}
