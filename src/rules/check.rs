//! Runs rules' examples through a matcher: each positive example must yield a
//! finding of its rule, no negative example may.

use crate::matcher::{BlobKind, Dropped, Matcher};

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
            if found.iter().any(|m| m.rule == index) {
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
            if found.iter().any(|m| m.rule == index) {
                failures.push(fail(example, "negative example produced a finding".into()));
            }
        }
    }
    failures
}
