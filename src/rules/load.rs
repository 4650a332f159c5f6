//! Loading rule files: the embedded library and users' files. Every problem is
//! an error naming the file, the rule and the reason.

use super::Rule;
use crate::provider::revoke::{revoke_for, Manual};
use crate::provider::ProviderVerify;
use serde::Deserialize;
use std::collections::HashSet;

include!(concat!(env!("OUT_DIR"), "/embedded_patterns.rs"));

/// A broken rule file or rule.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {reason}", rule.as_ref().map(|r| format!(": rule `{r}`")).unwrap_or_default())]
pub struct RuleError {
    pub file: String,
    pub rule: Option<String>,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    provider: String,
    name: String,
    docs: String,
    /// The kind of service (`ai`, `cloud`, …): `rules list` counts by it.
    #[serde(default)]
    family: Option<String>,
    /// Provider-wide verification settings.
    #[serde(default)]
    verify: ProviderVerify,
    /// How a human revokes this provider's credentials where no API can.
    #[serde(default)]
    revoke: Option<Manual>,
    #[serde(default)]
    rule: Vec<Rule>,
}

impl RuleFile {
    /// The file's rules, each carrying its provider and origin.
    fn into_rules(self, origin: &str) -> Vec<Rule> {
        let RuleFile {
            provider,
            name,
            docs,
            family,
            verify,
            revoke,
            rule,
        } = self;
        rule.into_iter()
            .map(|mut rule| {
                rule.provider = provider.clone();
                rule.provider_name = name.clone();
                rule.provider_docs = docs.clone();
                rule.provider_family = family.clone();
                rule.origin = origin.to_string();
                rule.provider_verify = verify.clone();
                rule.provider_revoke = revoke.clone();
                rule
            })
            .collect()
    }
}

/// How strictly to check a file: the shipped library and rule files checked
/// with `rules check` must carry examples; rules inlined in a config need not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    Library,
    UserConfig,
}

/// Parses and validates one rule file. `origin` names it in errors.
pub fn parse_rule_file(
    origin: &str,
    text: &str,
    strictness: Strictness,
) -> Result<Vec<Rule>, RuleError> {
    let file_error = |reason: String| RuleError {
        file: origin.to_string(),
        rule: None,
        reason,
    };
    let parsed: RuleFile = toml::from_str(text).map_err(|e| file_error(e.to_string()))?;
    if !valid_provider_id(&parsed.provider) {
        return Err(file_error(format!(
            "provider `{}` must be lowercase letters, digits and dashes",
            parsed.provider
        )));
    }
    if parsed.rule.is_empty() {
        return Err(file_error("the file defines no [[rule]]".into()));
    }
    let rules = parsed.into_rules(origin);
    for rule in &rules {
        validate_rule(rule, strictness).map_err(|reason| RuleError {
            file: origin.to_string(),
            rule: Some(rule.id.clone()),
            reason,
        })?;
    }
    Ok(rules)
}

/// Validates one rule, compiling its regex (so a broken regex is reported at
/// load time for user rules, and by `cargo test` for the library).
pub fn validate_rule(rule: &Rule, strictness: Strictness) -> Result<(), String> {
    let prefix = format!("{}.", rule.provider);
    if !rule.id.starts_with(&prefix) || rule.id.len() == prefix.len() {
        return Err(format!("id must look like `{}<kind>`", prefix));
    }
    if !rule
        .id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err("id must be lowercase letters, digits, dashes and dots".into());
    }
    if rule.keywords.is_empty() {
        return Err("keywords must name at least one literal that occurs in every match".into());
    }
    for keyword in &rule.keywords {
        if keyword.len() < 2 || !keyword.is_ascii() {
            return Err(format!(
                "keyword `{keyword}` must be ASCII and at least 2 characters long"
            ));
        }
    }
    if let Some(entropy) = rule.min_entropy {
        if !(0.0..=8.0).contains(&entropy) {
            return Err(format!(
                "min_entropy = {entropy} is outside 0..=8 bits per byte"
            ));
        }
    }
    if rule.name.trim().is_empty()
        || rule.description.trim().is_empty()
        || rule.remediation.trim().is_empty()
    {
        return Err("name, description and remediation must not be empty".into());
    }
    if strictness == Strictness::Library {
        if rule.examples.len() < 2 || rule.negative_examples.len() < 2 {
            return Err("needs at least 2 examples and 2 negative_examples".into());
        }
        let docs = rule.docs_url();
        if !docs.starts_with("https://") {
            return Err(format!("docs link `{docs}` must be an https:// URL"));
        }
    }
    if let Some(verify) = &rule.verify {
        verify.validate()?;
    }
    if let Some(manual) = rule.manual_revoke() {
        manual.validate()?;
    }
    if strictness == Strictness::Library
        && rule.verify.is_some()
        && revoke_for(&rule.id).is_none()
        && rule.manual_revoke().is_none()
    {
        // `bot run` hands such a key to a human: the steps must say how.
        return Err(
            "the credential has a verify check but no revocation API: give the provider's manual \
             steps and link in `[revoke]` (or this rule's in `[rule.revoke]`)"
                .into(),
        );
    }
    rule.compiled().map_err(str::to_string)?;
    keywords_in_every_match(rule)
}

/// The matcher runs a regex only around its keywords: a match that could
/// hold none of them would be silently missed.
fn keywords_in_every_match(rule: &Rule) -> Result<(), String> {
    let hir = super::parse_ascii(&rule.regex).map_err(|e| format!("invalid regex: {e}"))?;
    if super::keywords::in_every_match(&hir, &rule.keywords) {
        Ok(())
    } else {
        Err(format!(
            "the regex can match text that contains none of the keywords {:?}; \
             the matcher only looks near a keyword, so every match must contain one \
             (add a keyword, or make the regex require one)",
            rule.keywords
        ))
    }
}

fn valid_provider_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Every rule in `patterns/`, as embedded at build time.
///
/// Regexes are not compiled here (see [`Rule::compiled`]); `cargo test`
/// compiles and checks every one of them.
pub fn embedded_rules() -> Result<Vec<Rule>, RuleError> {
    let mut rules = Vec::new();
    for (name, json) in EMBEDDED_PATTERNS_JSON {
        let origin = format!("patterns/{name}");
        rules.extend(parse_embedded(&origin, json)?);
    }
    ensure_unique_ids(&rules)?;
    Ok(rules)
}

/// The embedded library is read from the JSON that build.rs made of each
/// file (parsing 2.7 MB of TOML was most of a pre-commit run's time) and
/// skips regex compilation at load: it was validated by the test suite, and
/// compiling hundreds of regexes would cost every run tens of milliseconds.
fn parse_embedded(origin: &str, json: &str) -> Result<Vec<Rule>, RuleError> {
    let parsed: RuleFile = serde_json::from_str(json).map_err(|e| RuleError {
        file: origin.to_string(),
        rule: None,
        reason: e.to_string(),
    })?;
    Ok(parsed.into_rules(origin))
}

/// Rule ids are the key of baselines and selectors; two rules may not share one.
pub fn ensure_unique_ids(rules: &[Rule]) -> Result<(), RuleError> {
    let mut seen = HashSet::new();
    for rule in rules {
        if !seen.insert(rule.id.as_str()) {
            return Err(RuleError {
                file: rule.origin.clone(),
                rule: Some(rule.id.clone()),
                reason: "duplicate rule id".into(),
            });
        }
    }
    Ok(())
}

/// All embedded files, strictly validated: used by tests and `rules check`.
pub fn validate_embedded() -> Vec<RuleError> {
    let mut errors = Vec::new();
    for (name, text) in EMBEDDED_PATTERNS {
        let origin = format!("patterns/{name}");
        match parse_rule_file(&origin, text, Strictness::Library) {
            Err(e) => errors.push(e),
            Ok(rules) => {
                let stem = name.trim_end_matches(".toml");
                if let Some(rule) = rules.iter().find(|r| r.provider != stem) {
                    errors.push(RuleError {
                        file: origin,
                        rule: None,
                        reason: format!(
                            "provider `{}` does not match the file name",
                            rule.provider
                        ),
                    });
                }
            }
        }
    }
    if let Ok(rules) = embedded_rules() {
        errors.extend(unknown_companion_rules(&rules));
    }
    errors
}

/// Verification companions that name a rule no file defines.
fn unknown_companion_rules(rules: &[Rule]) -> Vec<RuleError> {
    let ids: HashSet<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    let mut errors = Vec::new();
    for rule in rules {
        let companions = rule.verify.iter().flat_map(|v| &v.companions);
        for id in companions.flat_map(|c| &c.rules) {
            if !ids.contains(id.as_str()) {
                errors.push(RuleError {
                    file: rule.origin.clone(),
                    rule: Some(rule.id.clone()),
                    reason: format!("verify companion names unknown rule `{id}`"),
                });
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_json_holds_exactly_what_the_toml_says() {
        assert_eq!(EMBEDDED_PATTERNS.len(), EMBEDDED_PATTERNS_JSON.len());
        for ((name, toml_text), (json_name, json)) in
            EMBEDDED_PATTERNS.iter().zip(EMBEDDED_PATTERNS_JSON)
        {
            assert_eq!(name, json_name);
            let origin = format!("patterns/{name}");
            let from_toml = toml::from_str::<RuleFile>(toml_text)
                .unwrap()
                .into_rules(&origin);
            let from_json = parse_embedded(&origin, json).unwrap();
            assert_eq!(format!("{from_toml:?}"), format!("{from_json:?}"), "{name}");
        }
    }
}
