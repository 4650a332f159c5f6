//! `leakstop rules list` and `leakstop rules check`: the latter runs rules'
//! examples through a matcher — each positive example must yield a finding
//! of its rule, no negative example may.

use crate::matcher::{BlobKind, Dropped, Matcher};
use crate::provider::Check;
use crate::rules::{self, parse_rule_file, Strictness};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::PathBuf;

/// The families a rule file's `family` may name, with what each covers
/// (docs/rules.md lists the providers of each).
pub const FAMILIES: &[(&str, &str)] = &[
    ("ai", "AI and ML APIs, model hosts, vector databases"),
    ("ci-forge", "CI/CD services and code forges"),
    ("registry", "package and container registries"),
    ("cloud", "clouds, PaaS, hosted databases and CDNs"),
    (
        "observability",
        "monitoring, logging, error tracking, analytics, feature flags",
    ),
    (
        "comms",
        "email, SMS, chat, support desks, marketing, social networks",
    ),
    (
        "payments",
        "payments, commerce, shipping, crypto and finance",
    ),
    ("identity", "identity, authentication and verification"),
    (
        "productivity",
        "productivity, collaboration, automation and media",
    ),
    (
        "security",
        "security tooling, secret managers and network access",
    ),
    ("data", "maps, weather, search and other data APIs"),
    ("iot", "IoT platforms and push notifications"),
    (
        "file-format",
        "key files, password hashes, tickets and connection strings",
    ),
    (
        "generic",
        "keyword and structure rules shared by many services",
    ),
];

/// Prints every rule with its provider, confidence and severity.
pub fn list(json: bool, out: &mut dyn Write) -> Result<()> {
    let rules = rules::embedded_rules()?;
    if json {
        let rows: Vec<_> = rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "name": r.name, "provider": r.provider,
                    "confidence": r.confidence, "severity": r.severity,
                    "family": r.provider_family,
                    "client_safe": r.client_safe, "generic": r.generic,
                    "verify": verify_mode(r),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(2);
    writeln!(
        out,
        "{:width$}  {:16}  {:10}  SEVERITY",
        "ID", "PROVIDER", "CONFIDENCE"
    )?;
    for rule in &rules {
        writeln!(
            out,
            "{:width$}  {:16}  {:10}  {}",
            rule.id,
            rule.provider,
            rule.confidence.to_string(),
            rule.severity
        )?;
    }
    writeln!(
        out,
        "{} rules from {} providers",
        rules.len(),
        rules
            .iter()
            .map(|r| &r.provider)
            .collect::<HashSet<_>>()
            .len()
    )?;
    write_family_counts(&rules, out)
}

/// One line per family: how many providers and rules it holds.
fn write_family_counts(rules: &[rules::Rule], out: &mut dyn Write) -> Result<()> {
    let mut families: BTreeMap<&str, (BTreeSet<&str>, usize)> = BTreeMap::new();
    for rule in rules {
        let family = rule.provider_family.as_deref().unwrap_or("(none)");
        let entry = families.entry(family).or_default();
        entry.0.insert(&rule.provider);
        entry.1 += 1;
    }
    writeln!(out, "{:14}  {:>9}  {:>5}", "FAMILY", "PROVIDERS", "RULES")?;
    for (family, (providers, count)) in &families {
        writeln!(out, "{family:14}  {:>9}  {count:>5}", providers.len())?;
    }
    Ok(())
}

/// How `scan --verify` treats a rule: `request` (one templated HTTP
/// request), a built-in verifier's name, `not_supported`, or null (no check).
fn verify_mode(rule: &rules::Rule) -> Option<&str> {
    Some(match &rule.verify.as_ref()?.check {
        Check::NotSupported(_) => "not_supported",
        Check::Builtin(builtin) => builtin.name(),
        Check::Request(_) => "request",
    })
}

/// Validates rule files and runs their examples against the full rule set
/// (a file's rules replace built-in rules with the same id). Returns the
/// number of problems found.
pub fn check(files: &[PathBuf], out: &mut dyn Write) -> Result<usize> {
    let mut problems = 0;
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading rule file {}", file.display()))?;
        let origin = file.display().to_string();
        let user_rules = match parse_rule_file(&origin, &text, Strictness::Library) {
            Ok(rules) => rules,
            Err(error) => {
                writeln!(out, "error: {error}")?;
                problems += 1;
                continue;
            }
        };
        let ids: HashSet<String> = user_rules.iter().map(|r| r.id.clone()).collect();
        let mut all: Vec<_> = rules::embedded_rules()?
            .into_iter()
            .filter(|r| !ids.contains(&r.id))
            .collect();
        all.extend(user_rules);
        let matcher = Matcher::new(all)?;
        let failures = check_examples(&matcher, |id| ids.contains(id));
        for failure in &failures {
            writeln!(out, "error: {failure}")?;
        }
        problems += failures.len();
        if failures.is_empty() {
            writeln!(
                out,
                "ok: {origin}: {} rule(s), all examples pass",
                ids.len()
            )?;
        }
    }
    Ok(problems)
}

/// One example that did not behave as its rule says.
#[derive(Debug, Clone)]
pub struct ExampleFailure {
    pub origin: String,
    pub rule_id: String,
    pub example: String,
    pub reason: String,
}

impl std::fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: rule `{}`: {}: {:?}",
            self.origin, self.rule_id, self.reason, self.example
        )
    }
}

/// Checks the examples of the rules whose ids satisfy `selected`, using the
/// whole matcher so that overlaps between rules are part of the check.
pub fn check_examples(matcher: &Matcher, selected: impl Fn(&str) -> bool) -> Vec<ExampleFailure> {
    let mut failures = Vec::new();
    for (index, rule) in matcher.rules().iter().enumerate() {
        if !selected(&rule.id) {
            continue;
        }
        let fail = |example: &str, reason: String| ExampleFailure {
            origin: rule.origin.clone(),
            rule_id: rule.id.clone(),
            example: example.to_string(),
            reason,
        };
        for example in &rule.examples {
            let mut dropped = Vec::new();
            let found =
                matcher.find_explained(example.as_bytes(), BlobKind::default(), Some(&mut dropped));
            if found.iter().any(|m| m.rule == index && !m.known_public) {
                continue;
            }
            let reason = match (
                found.first(),
                dropped.iter().find(|d: &&Dropped| d.rule == index),
            ) {
                (_, Some(d)) => format!(
                    "example matched but was dropped by the validators ({:?})",
                    d.why
                ),
                (Some(other), None) => format!(
                    "example was claimed by rule `{}` instead",
                    matcher.rules()[other.rule].id
                ),
                (None, None) => "example does not match (check the regex and keywords)".to_string(),
            };
            failures.push(fail(example, reason));
        }
        for example in &rule.negative_examples {
            let found = matcher.find(example.as_bytes(), BlobKind::default());
            // A published documentation value is counted, never reported.
            if found.iter().any(|m| m.rule == index && !m.known_public) {
                failures.push(fail(example, "negative example produced a finding".into()));
            }
        }
    }
    failures
}
