//! Companion values: what a check needs besides the secret itself, found near
//! it in the same file at scan time (the Twilio account SID next to an auth
//! token, the shop domain next to a Shopify token, the other half of an AWS
//! key pair), or inside the secret (a Mailchimp key's data centre). This is
//! the definition; the matcher does the search.

use serde::Deserialize;
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
    /// Checks the name's shape (cheap: done whenever a rule loads).
    pub fn check_name(&self) -> Result<(), String> {
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
        Ok(())
    }

    /// Compiles the regex: done when a rule is validated (user rules at load,
    /// the embedded library by the test suite).
    pub fn validate(&self) -> Result<(), String> {
        self.check_name()?;
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

    /// The regex, compiled on first use.
    pub fn regex(&self) -> Option<&regex::bytes::Regex> {
        self.compiled
            .get_or_init(|| {
                self.regex
                    .as_deref()
                    .and_then(|p| regex::bytes::Regex::new(p).ok())
            })
            .as_ref()
    }

    /// Lines searched on each side of the secret.
    pub fn within_lines(&self) -> usize {
        self.within_lines.unwrap_or(DEFAULT_WITHIN_LINES)
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
