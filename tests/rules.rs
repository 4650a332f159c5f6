//! The rule library: every file valid, every example behaving, the provider
//! coverage the scanner promises, and the `rules` subcommands.

mod common;

use common::*;
use leakstop::commands::rules::{check_examples, FAMILIES};
use leakstop::matcher::Matcher;
use leakstop::rules::{embedded_rules, validate_embedded};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn every_rule_file_is_valid() {
    let errors = validate_embedded();
    assert!(
        errors.is_empty(),
        "broken rule files:\n{}",
        errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_example_behaves_as_its_rule_says() {
    let matcher = Matcher::new(embedded_rules().expect("rules load")).expect("matcher");
    let failures = check_examples(&matcher, |_| true);
    assert!(
        failures.is_empty(),
        "{} example failure(s):\n{}",
        failures.len(),
        failures
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_library_covers_at_least_100_providers() {
    let rules = embedded_rules().unwrap();
    let providers: BTreeSet<&str> = rules.iter().map(|r| r.provider.as_str()).collect();
    assert!(
        providers.len() >= 100,
        "only {} providers: {providers:?}",
        providers.len()
    );
    for required in [
        "github",
        "gitlab",
        "aws",
        "google",
        "azure",
        "slack",
        "stripe",
        "openai",
        "anthropic",
        "huggingface",
        "npm",
        "pypi",
        "private-key",
        "jwt",
        "database-url",
        "generic",
    ] {
        assert!(providers.contains(required), "missing provider {required}");
    }
    let github: BTreeSet<&str> = rules
        .iter()
        .filter(|r| r.provider == "github")
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(github.len(), 6, "{github:?}");
}

/// A realistic tree: every rule's first example planted in a config file of
/// its provider; the real binary must report every rule.
#[test]
fn planted_secrets_of_every_rule_are_found_by_the_binary() {
    let rules = embedded_rules().unwrap();
    let tree = Tree::new();
    let mut by_provider: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for rule in &rules {
        by_provider
            .entry(&rule.provider)
            .or_default()
            .push(&rule.examples[0]);
    }
    for (provider, examples) in &by_provider {
        // Blank lines keep examples apart, as in a real config file.
        tree.write(
            &format!("services/{provider}/settings.conf"),
            examples.join("\n\n=== next example ===\n\n") + "\n",
        );
    }
    // Every severity, info included (the default --min-severity is low).
    let (out, report) = tree.scan_json(&["--min-severity", "info"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let found: BTreeSet<String> = locations(&report)
        .into_iter()
        .map(|(rule, ..)| rule)
        .collect();
    let missing: Vec<&str> = rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !found.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules not found in the planted tree: {missing:?}"
    );
}

/// Documentation examples and placeholders, planted one file per rule, produce
/// no finding of their rule.
#[test]
fn negative_examples_stay_quiet_in_the_binary() {
    let rules = embedded_rules().unwrap();
    let tree = Tree::new();
    for rule in &rules {
        tree.write(
            &format!("docs/{}.md", rule.id),
            rule.negative_examples.join("\n\n=== next example ===\n\n") + "\n",
        );
    }
    let (_, report) = tree.scan_json(&[]);
    let noisy: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["path"].as_str().unwrap() == format!("docs/{}.md", f["rule_id"].as_str().unwrap())
        })
        .map(|f| format!("{} at {}:{}", f["rule_id"], f["path"], f["line"]))
        .collect();
    assert!(noisy.is_empty(), "negative examples reported: {noisy:?}");
}

#[test]
fn rules_list_prints_every_rule() {
    let tree = Tree::new();
    let out = tree.leakstop(&["rules", "list"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("github.pat-classic") && out.stdout.contains("high"));
    let json = tree.leakstop(&["rules", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        rows.as_array().unwrap().len(),
        embedded_rules().unwrap().len()
    );
}

/// Every provider file names one of the documented families, so `rules list`
/// can count coverage by kind of service.
#[test]
fn every_provider_names_a_known_family() {
    let known: BTreeSet<&str> = FAMILIES.iter().map(|(name, _)| *name).collect();
    let unknown: BTreeSet<String> = embedded_rules()
        .unwrap()
        .iter()
        .filter(|r| {
            !r.provider_family
                .as_deref()
                .is_some_and(|f| known.contains(f))
        })
        .map(|r| format!("{}: {:?}", r.provider, r.provider_family))
        .collect();
    assert!(
        unknown.is_empty(),
        "providers without a known family: {unknown:?}"
    );
}

/// `rules list` ends with one line per family: providers and rules, which add
/// up to the totals; the JSON rows carry the family too.
#[test]
fn rules_list_counts_by_family() {
    let rules = embedded_rules().unwrap();
    let tree = Tree::new();
    let out = tree.leakstop(&["rules", "list"]);
    assert_eq!(out.code, 0);
    let table: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("FAMILY"))
        .skip(1)
        .collect();
    let (mut providers, mut count) = (0, 0);
    for line in &table {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols.len(), 3, "{line}");
        assert!(FAMILIES.iter().any(|(f, _)| *f == cols[0]), "{line}");
        providers += cols[1].parse::<usize>().unwrap();
        count += cols[2].parse::<usize>().unwrap();
    }
    let distinct: BTreeSet<&str> = rules.iter().map(|r| r.provider.as_str()).collect();
    assert_eq!((providers, count), (distinct.len(), rules.len()));
    let json = tree.leakstop(&["rules", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        rows[0]["family"].as_str(),
        rules[0].provider_family.as_deref()
    );
}

const GOOD_RULE_FILE: &str = r#"
provider = "acme"
name = "ACME"
docs = "https://acme.example/docs/tokens"

[[rule]]
id = "acme.token"
name = "ACME API token"
regex = '''\b(acme_[a-z0-9]{24})\b'''
keywords = ["acme_"]
confidence = "high"
severity = "high"
min_entropy = 3.0
description = "Grants access to the ACME API."
remediation = "Revoke it in the ACME console."
examples = ["ACME=acme_q8z2lmx0pt4kr7wn3vb6yc1d", "token: acme_k2m9x7q4w1z8r5t3y6u0p2s4"]
negative_examples = ["acme_aaaaaaaaaaaaaaaaaaaaaaaa", "acme_short"]
"#;

#[test]
fn rules_check_accepts_a_good_file() {
    let tree = Tree::new();
    tree.write("acme.toml", GOOD_RULE_FILE);
    let out = tree.leakstop(&["rules", "check", "acme.toml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("ok: acme.toml: 1 rule(s)"),
        "{}",
        out.stdout
    );
}

#[test]
fn rules_check_names_file_rule_and_reason() {
    let tree = Tree::new();
    let failing_example =
        GOOD_RULE_FILE.replace("\"acme_short\"", "\"acme_z8k2m4x7q1w9r3t5y6u0p2s4\"");
    tree.write("acme.toml", failing_example);
    let out = tree.leakstop(&["rules", "check", "acme.toml"]);
    assert_eq!(out.code, 4);
    assert!(
        out.stdout
            .contains("acme.toml: rule `acme.token`: negative example produced a finding"),
        "{}",
        out.stdout
    );

    let unbounded = GOOD_RULE_FILE.replace("{24}", "+");
    tree.write("acme.toml", unbounded);
    let out = tree.leakstop(&["rules", "check", "acme.toml"]);
    assert_eq!(out.code, 4);
    assert!(
        out.stdout
            .contains("acme.toml: rule `acme.token`: regex has no maximum length"),
        "{}",
        out.stdout
    );

    let no_examples = GOOD_RULE_FILE.replace(
        "negative_examples = [\"acme_aaaaaaaaaaaaaaaaaaaaaaaa\", \"acme_short\"]",
        "",
    );
    tree.write("acme.toml", no_examples);
    let out = tree.leakstop(&["rules", "check", "acme.toml"]);
    assert_eq!(out.code, 4);
    assert!(
        out.stdout
            .contains("needs at least 2 examples and 2 negative_examples"),
        "{}",
        out.stdout
    );

    tree.write("acme.toml", "provider = \"acme\"\n[[rule]]\nid = 3\n");
    let out = tree.leakstop(&["rules", "check", "acme.toml"]);
    assert_eq!(out.code, 4);
    assert!(
        out.stdout.contains("acme.toml") && out.stdout.contains("line"),
        "{}",
        out.stdout
    );
}

/// A `.leakstop.toml` defining the rule `acme.token`.
fn config_rule(regex: &str, keyword: &str) -> String {
    format!(
        "[[rule]]\nid = \"acme.token\"\nname = \"ACME API token\"\nregex = '''{regex}'''\n\
         keywords = [\"{keyword}\"]\nconfidence = \"high\"\nseverity = \"high\"\n\
         description = \"d\"\nremediation = \"r\"\n"
    )
}

/// The prefilter only looks near keywords: a rule whose regex can match
/// without one would miss secrets silently, so it does not load.
#[test]
fn a_rule_whose_matches_can_lack_every_keyword_is_refused() {
    let tree = Tree::new();
    let optional_prefix = GOOD_RULE_FILE.replace(
        r"\b(acme_[a-z0-9]{24})\b",
        r"\b(?:acme_|acm_)([a-z0-9]{24})\b",
    );
    tree.write("acme.toml", optional_prefix);
    let out = tree.leakstop(&["rules", "check", "acme.toml"]);
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("acme.toml: rule `acme.token`: the regex can match text that contains none of the keywords"),
        "{}",
        out.stdout
    );
    // The same rule in a config is a configuration error naming it.
    tree.write(
        ".leakstop.toml",
        config_rule(r"\b(?:acme_)?([a-z0-9]{24})\b", "acme_"),
    );
    tree.write("app.env", "ACME=acme_q8z2lmx0pt4kr7wn3vb6yc1d\n");
    let out = tree.leakstop(&["scan", "."]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("acme.token") && out.stderr.contains("none of the keywords"),
        "{}",
        out.stderr
    );
}

/// `{{assign}}` stands for the key/value operator every assignment rule
/// shares: `=`, `:`, `=>` and `:=`, with optional quotes and spaces.
#[test]
fn the_assign_fragment_expands_in_user_rules() {
    let tree = Tree::new();
    let config = config_rule(r"acme_key{{assign}}([a-z0-9]{24})\b", "acme_key");
    tree.write(".leakstop.toml", &config);
    tree.write(
        "settings.txt",
        "acme_key = \"q8z2lmx0pt4kr7wn3vb6yc1d\"\n\
         'acme_key' => 'k2m9x7q4w1z8r5t3y6u0p2s4'\n\
         acme_key := \"z8k2m4x7q1w9r3t5y6u0p2s4\"\n\
         \"acme_key\": \"m4x7q1w9r3t5y6u0p2s4z8k2\"\n",
    );
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines: Vec<u64> = locations(&report)
        .into_iter()
        .filter(|(rule, ..)| rule == "acme.token")
        .map(|(_, _, line, _)| line)
        .collect();
    assert_eq!(lines, vec![1, 2, 3, 4], "{report:#}");

    tree.write(
        ".leakstop.toml",
        config.replace("{{assign}}", "{{assignment}}"),
    );
    let out = tree.leakstop(&["scan", "."]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("unknown regex fragment `{{assignment}}`"),
        "{}",
        out.stderr
    );
}
