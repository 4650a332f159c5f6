//! Building the engine a scan runs: the embedded rules after the config's
//! disables, overrides and extra rules, compiled, with the filters.

use crate::config::Config;
use crate::engine::Engine;
use crate::filter::baseline::Baseline;
use crate::filter::Filters;
use crate::matcher::Matcher;
use crate::rules::{self, Rule};
use anyhow::{bail, Result};
use std::collections::HashSet;

/// The rule set after the config's disables, overrides and extra rules.
pub fn assemble_rules(config: &Config) -> Result<Vec<Rule>> {
    let mut rules = rules::embedded_rules()?;
    let known: HashSet<String> = rules.iter().map(|r| r.id.clone()).collect();
    for id in &config.rules.disable {
        if !known.contains(id) {
            bail!("config: rules.disable names unknown rule `{id}` (see `leakstop rules list`)");
        }
    }
    rules.retain(|r| !config.rules.disable.contains(&r.id));
    for o in &config.rules.overrides {
        let Some(rule) = rules.iter_mut().find(|r| r.id == o.id) else {
            if known.contains(&o.id) {
                continue; // overriding a disabled rule is harmless
            }
            bail!("config: rules.override names unknown rule `{}`", o.id);
        };
        if let Some(severity) = o.severity {
            rule.severity = severity;
        }
        if let Some(confidence) = o.confidence {
            rule.confidence = confidence;
        }
        if o.min_entropy.is_some() {
            rule.min_entropy = o.min_entropy;
        }
    }
    rules.extend(config.rule.iter().cloned());
    rules::ensure_unique_ids(&rules)?;
    Ok(rules)
}

/// The engine for `config`, with `baseline` applied.
pub fn build_engine(config: &Config, baseline: Baseline, show_secrets: bool) -> Result<Engine> {
    let matcher = Matcher::new(assemble_rules(config)?)?;
    let filters = Filters::new(config, baseline)?;
    Ok(Engine::new(matcher, filters, show_secrets))
}
