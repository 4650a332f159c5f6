//! Companion values: what a check needs besides the secret itself, found near
//! it in the same file at scan time (the Twilio account SID next to an auth
//! token, the shop domain next to a Shopify token, the other half of an AWS
//! key pair), or inside the secret (a Mailchimp key's data centre).

use crate::finding::Secret;
use crate::matcher::RawMatch;
use crate::rules::Rule;
use crate::text::LineIndex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Lines searched on each side of the secret by default.
const DEFAULT_WITHIN_LINES: usize = 20;

/// One `[[rule.verify.companions]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanionSpec {
    /// Template name (`{account_sid}`).
    pub name: String,
    /// Rules whose secret, found near this one, is the value.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Else: a regex whose first group is the value.
    pub regex: Option<String>,
    /// Search the secret itself instead of the lines around it.
    #[serde(default)]
    pub in_secret: bool,
    /// Lines searched on each side (default 20).
    pub within_lines: Option<usize>,
    /// Verification can run without it (default: it is required).
    #[serde(default)]
    pub optional: bool,
    /// What to say when it is missing.
    pub missing: Option<String>,
    #[serde(skip)]
    compiled: OnceLock<Option<regex::bytes::Regex>>,
}

impl CompanionSpec {
    pub fn validate(&self) -> Result<(), String> {
        if self.name == "secret"
            || self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return Err(format!(
                "companion name `{}` must be lowercase letters and `_`, not `secret`",
                self.name
            ));
        }
        if self.rules.is_empty() && self.regex.is_none() {
            return Err(format!(
                "companion `{}` needs `rules` or `regex`",
                self.name
            ));
        }
        if let Some(pattern) = &self.regex {
            let regex = regex::bytes::Regex::new(pattern)
                .map_err(|e| format!("companion `{}` regex: {e}", self.name))?;
            if regex.captures_len() < 2 {
                return Err(format!(
                    "companion `{}` regex needs a capture group",
                    self.name
                ));
            }
        }
        Ok(())
    }

    fn regex(&self) -> Option<&regex::bytes::Regex> {
        self.compiled
            .get_or_init(|| {
                self.regex
                    .as_deref()
                    .and_then(|p| regex::bytes::Regex::new(p).ok())
            })
            .as_ref()
    }

    /// What the finding says when the value is missing.
    pub fn missing_reason(&self) -> String {
        self.missing.clone().unwrap_or_else(|| {
            format!(
                "the check needs a {} found near the secret in the same file, and there is none",
                self.name.replace('_', " ")
            )
        })
    }
}

/// Finds the companions of the secret `this` in `blob`. `matches` are all
/// the blob's matches (companion rules' secrets among them), `rules` the
/// matcher's rules. Missing values are simply absent.
pub fn find(
    blob: &[u8],
    lines: &LineIndex,
    this: &RawMatch,
    matches: &[RawMatch],
    rules: &[Rule],
) -> BTreeMap<String, Secret> {
    let mut found = BTreeMap::new();
    let Some(spec) = rules[this.rule].verify.as_ref() else {
        return found;
    };
    for companion in &spec.companions {
        if let Some(value) = find_one(blob, lines, this, matches, rules, companion) {
            found.insert(companion.name.clone(), Secret::new(value));
        }
    }
    found
}

fn find_one(
    blob: &[u8],
    lines: &LineIndex,
    this: &RawMatch,
    matches: &[RawMatch],
    rules: &[Rule],
    companion: &CompanionSpec,
) -> Option<String> {
    let within = companion.within_lines.unwrap_or(DEFAULT_WITHIN_LINES);
    let line = lines.line_of(this.secret.start);
    let last_line = lines.line_of(blob.len());
    let first = lines.line_range(blob, line.saturating_sub(within)).start;
    let end = lines.line_range(blob, (line + within).min(last_line)).end;
    let distance = |start: usize| start.abs_diff(this.secret.start);
    let text = |range: std::ops::Range<usize>| String::from_utf8_lossy(&blob[range]).into_owned();
    if companion.in_secret {
        let secret = &blob[this.secret.clone()];
        let captures = companion.regex()?.captures(secret)?;
        return captures
            .get(1)
            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned());
    }
    // Another rule's secret, the nearest one in the window.
    let by_rule = matches
        .iter()
        .filter(|m| m.secret != this.secret)
        .filter(|m| companion.rules.iter().any(|id| *id == rules[m.rule].id))
        .filter(|m| m.secret.start >= first && m.secret.end <= end)
        .min_by_key(|m| distance(m.secret.start));
    if let Some(m) = by_rule {
        return Some(text(m.secret.clone()));
    }
    let regex = companion.regex()?;
    regex
        .captures_iter(&blob[first..end])
        .filter_map(|c| c.get(1))
        .map(|m| (first + m.start())..(first + m.end()))
        .filter(|range| *range != this.secret)
        .min_by_key(|range| distance(range.start))
        .map(text)
}
