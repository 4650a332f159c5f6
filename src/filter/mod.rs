//! Filters decide which matches become reported findings: inline allow
//! comments, the config's allowlists and per-rule path allowances, and a
//! baseline. Every suppression is counted by reason.

pub mod baseline;
pub mod defaults;

use crate::config::Config;
use baseline::Baseline;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::{HashMap, HashSet};

/// Why a finding was not reported.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    AllowComment,
    AllowlistedSecret,
    AllowlistedPath,
    Baseline,
    /// A publishable (client-safe) credential in client-side code: it is
    /// meant to be there (docs/client-side.md; `--show-client-safe`).
    ClientSafe,
    /// Below `--min-severity` (default `low`: `info` findings).
    BelowMinSeverity,
    /// A well-known public value: a documentation example, an emulator key
    /// (patterns/known-public/values.toml; `--show-known-public`).
    KnownPublic,
}

/// The compiled filters of one scan.
pub struct Filters {
    excluded_paths: GlobSet,
    rule_allowed_paths: HashMap<String, GlobSet>,
    secrets: HashSet<String>,
    secret_regexes: Vec<regex::Regex>,
    baseline: Baseline,
}

impl Filters {
    /// Builds filters from a validated config (globs and regexes were checked on load).
    pub fn new(config: &Config, baseline: Baseline) -> Result<Self, globset::Error> {
        let mut rule_allowed_paths = HashMap::new();
        for o in &config.rules.overrides {
            if !o.allow_paths.is_empty() {
                rule_allowed_paths.insert(o.id.clone(), glob_set(&o.allow_paths)?);
            }
        }
        Ok(Filters {
            excluded_paths: glob_set(&config.allowlist.paths)?,
            rule_allowed_paths,
            secrets: config.allowlist.secrets.iter().cloned().collect(),
            secret_regexes: config
                .allowlist
                .regexes
                .iter()
                .filter_map(|p| regex::Regex::new(p).ok())
                .collect(),
            baseline,
        })
    }

    /// True if the user excluded this path from scanning.
    pub fn path_excluded(&self, path: &str) -> bool {
        self.excluded_paths.is_match(path)
    }

    /// Why a finding of `rule_id` at `path` with `secret` is suppressed, if it is.
    /// Inline allow comments are checked by the caller, which has the text.
    pub fn suppression(
        &self,
        rule_id: &str,
        path: &str,
        secret: &str,
        fingerprint: &str,
    ) -> Option<Suppression> {
        if self
            .rule_allowed_paths
            .get(rule_id)
            .is_some_and(|set| set.is_match(path))
        {
            return Some(Suppression::AllowlistedPath);
        }
        if self.secrets.contains(secret) || self.secret_regexes.iter().any(|r| r.is_match(secret)) {
            return Some(Suppression::AllowlistedSecret);
        }
        if self.baseline.contains(fingerprint) {
            return Some(Suppression::Baseline);
        }
        None
    }

    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }
}

fn glob_set(globs: &[String]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        builder.add(Glob::new(glob)?);
        // `dir/` or `dir` also means everything below it.
        let trimmed = glob.trim_end_matches('/');
        if !trimmed.contains('*') {
            builder.add(Glob::new(&format!("{trimmed}/**"))?);
        }
    }
    builder.build()
}
