//! Severity decides what is reported (`--min-severity`, default low) and
//! what fails the run (`--fail-on`, default low), from flags or `[scan]`.

mod common;

use common::*;

/// A publishable key (severity info) in server code.
const PUBLISHABLE: &str = "pk_live_51E1R6Bmi9akhamNlt8M0C3Fp6ToUon7uJezr9aOWUEmsMKBzBh2TT7e9uetbYD64tY2EIJnj0bDC7X9VtvzOkpuaV8MoHDhQWL";

fn rules(report: &serde_json::Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect()
}

#[test]
fn an_info_finding_does_not_fail_or_flood_by_default() {
    let tree = Tree::new();
    tree.write(
        "server/config.py",
        format!("STRIPE_PUBLISHABLE = \"{PUBLISHABLE}\"\n"),
    );
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(rules(&report).is_empty(), "{report}");
    assert_eq!(report["stats"]["suppressed"]["below_min_severity"], 1);
    assert!(
        out.stderr.contains("1 by below min severity"),
        "{}",
        out.stderr
    );
    // Shown when asked, still not failing.
    let (out, report) = tree.scan_json(&["--min-severity", "info"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(rules(&report), ["stripe.publishable-key"]);
    assert!(out.stderr.contains("below --fail-on low"), "{}", out.stderr);
    // Failing when asked.
    let (out, _) = tree.scan_json(&["--min-severity", "info", "--fail-on", "info"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
}

#[test]
fn fail_on_and_min_severity_come_from_the_config_and_flags_win() {
    let tree = Tree::new();
    tree.write("app.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    tree.write(".leakstop.toml", "[scan]\nfail_on = \"critical\"\n");
    // A critical GitHub token still fails under fail_on = critical.
    let (out, _) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    tree.write(
        ".leakstop.toml",
        "[scan]\nfail_on = \"critical\"\nmin_severity = \"medium\"\n",
    );
    tree.write(
        "app.env",
        "Stripe.api_key = \"sk_test_agyKC01RjRVIsVrmYADH9NE7\"\n",
    );
    tree.write("hi.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    let (out, report) = tree.scan_json(&["--fail-on", "high"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(rules(&report).contains(&"github.pat-classic"));
    assert!(
        !rules(&report).contains(&"stripe.test-secret-key"),
        "{report}"
    );
    std::fs::remove_file(tree.join("hi.env")).unwrap();
    let (out, report) = tree.scan_json(&["--fail-on", "high", "--min-severity", "low"]);
    assert_eq!(
        out.code, 0,
        "a low finding under --fail-on high: {}",
        out.stderr
    );
    assert_eq!(rules(&report), ["stripe.test-secret-key"]);
    // A bad value names itself.
    let out = tree.leakstop(&["scan", "--fail-on", "severe", "."]);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("not a severity"), "{}", out.stderr);
}
