//! One bot run: read findings, file them into incidents, then (with
//! `--execute`) drive each selected incident through the steps in
//! [`super::steps`]; without it, print the plan — which calls, to which
//! hosts, in which order — and change nothing.

use super::audit::AuditLog;
use super::incident::{Location, State};
use super::input::Leak;
use super::policy::{Decision, Policy, Subject};
use super::providers::{self, Env};
use super::store::{Incident, NewIncident, Store};
use super::text::{parse_state, Step};
use crate::finding::Secret;
use crate::rules::Rule;
use crate::verify::endpoint::Overrides;
use crate::verify::http::{Client, Policy as HttpPolicy};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::Duration;

/// Which incidents a run acts on.
#[derive(Debug, Clone)]
pub enum Selector {
    All,
    Incident(i64),
    Fingerprint(String),
    /// Every live incident of one provider (`bot revoke --provider P --all-live`).
    ProviderLive(String),
}

/// How to reach GitHub for issues.
#[derive(Debug, Clone)]
pub struct GithubSetup {
    pub api: String,
    pub token: Option<String>,
}

impl GithubSetup {
    /// Where people look at the repository: github.com for the public API,
    /// the server for GHES (`/api/v3` dropped), else the API base itself.
    pub fn web_base(&self) -> String {
        let api = self.api.trim_end_matches('/');
        if api == crate::github::DEFAULT_API {
            "https://github.com".into()
        } else {
            api.trim_end_matches("/api/v3").to_string()
        }
    }
}

/// Everything a run needs.
pub struct Settings {
    pub leaks: Vec<Leak>,
    pub execute: bool,
    /// `bot revoke`: revoke now, whatever the policy's action and overlap.
    pub force_revoke: bool,
    pub public: bool,
    pub selector: Selector,
    pub policy: Policy,
    pub github: Option<GithubSetup>,
    pub timeout: Duration,
    /// Provider base URLs (the environment's `LEAKSTOP_VERIFY_URL_*` win).
    pub overrides: Overrides,
    /// Admin credentials by provider, read from the variables the policy names.
    pub credentials: BTreeMap<String, BTreeMap<String, Secret>>,
    /// The secret store's token (`[store] token_env`).
    pub store_token: Option<Secret>,
}

/// What a run did, for the summary and the exit code.
#[derive(Debug, Default)]
pub struct Summary {
    pub incidents: usize,
    pub new_incidents: usize,
    pub new_locations: usize,
    pub by_state: BTreeMap<String, usize>,
    pub errors: Vec<String>,
    pub live_left: usize,
}

/// The bot during one run.
pub struct Bot<'a> {
    pub store: &'a Store,
    pub audit: &'a mut AuditLog,
    pub env: Env<'a>,
    pub policy: &'a Policy,
    pub github: Option<(crate::github::Client, String)>,
    pub holder: String,
    pub settings: &'a Settings,
    /// The secret of each fingerprint, from the findings (never stored).
    pub secrets: HashMap<String, (Leak, Secret)>,
    /// Every fingerprint in this run's findings, with or without its secret.
    pub in_findings: std::collections::HashSet<String>,
    pub errors: Vec<String>,
    /// Issues already listed this run, by repository (for markers).
    pub issue_cache: HashMap<String, Vec<crate::github::issues::Issue>>,
}

/// Runs the bot; `out` gets the plan (dry run) or the per-incident lines.
pub fn run(
    settings: &Settings,
    store: &Store,
    audit: &mut AuditLog,
    out: &mut dyn Write,
) -> anyhow::Result<Summary> {
    let rules_vec = crate::rules::embedded_rules()?;
    let rules: HashMap<&str, &Rule> = rules_vec.iter().map(|r| (r.id.as_str(), r)).collect();
    let http_policy = HttpPolicy {
        timeout: settings.timeout,
        ..HttpPolicy::default()
    };
    let client = Client::new(http_policy.clone());
    let overrides = settings.overrides.clone();
    let options = crate::verify::Options {
        policy: http_policy,
        overrides: overrides.clone(),
        ..crate::verify::Options::default()
    };
    let github = match &settings.github {
        Some(setup) if settings.execute => Some((
            crate::github::Client::new(&setup.api, setup.token.clone(), settings.timeout)?,
            setup.web_base(),
        )),
        _ => None,
    };
    let mut bot = Bot {
        store,
        audit,
        env: Env {
            client: &client,
            overrides: &overrides,
            rules: &rules,
            options: &options,
        },
        policy: &settings.policy,
        github,
        holder: format!("{}:{}", super::audit::actor(), std::process::id()),
        settings,
        secrets: HashMap::new(),
        in_findings: settings
            .leaks
            .iter()
            .map(|l| l.fingerprint.clone())
            .collect(),
        errors: Vec::new(),
        issue_cache: HashMap::new(),
    };
    let mut summary = Summary::default();
    let now = super::clock::now();
    let mut selected = Vec::new();
    for (fingerprint, leaks) in group(&settings.leaks) {
        let first = leaks[0];
        if let Some(secret) = leaks.iter().find_map(|l| l.secret.clone()) {
            bot.secrets
                .insert(fingerprint.to_string(), (first.clone(), secret));
        }
        if !settings.execute {
            selected.push(planned_incident(store, first, now)?);
            continue;
        }
        let (mut incident, created) = store.upsert(
            &NewIncident {
                fingerprint,
                provider: &first.provider,
                rule_id: &first.rule_id,
                kind: &first.rule_name,
                severity: &first.severity,
            },
            now,
        )?;
        if created {
            summary.new_incidents += 1;
            bot.rebuild(&mut incident, &leaks)?;
        }
        for leak in &leaks {
            if store.add_location(incident.id, &leak.location, now)? {
                summary.new_locations += 1;
            }
        }
        selected.push(incident);
    }
    if settings.execute && !matches!(settings.selector, Selector::All) {
        // An operator's selection reaches incidents of earlier findings
        // too; without their secret in this report they are reported, not touched.
        selected = store.all()?;
    }
    selected.retain(|i| matches_selector(&settings.selector, i));
    if !settings.execute {
        bot.plan(&selected, out)?;
    } else {
        bot.drive(&mut selected, out)?;
    }
    summary.incidents = selected.len();
    for incident in &selected {
        *summary
            .by_state
            .entry(incident.state.as_str().to_string())
            .or_default() += 1;
        // A key confirmed dead (deactivated, waiting to be deleted) is not live.
        if incident.live.as_deref() == Some("live")
            && incident.dead_at.is_none()
            && !matches!(incident.state, State::ConfirmedDead | State::Closed)
        {
            summary.live_left += 1;
        }
    }
    summary.errors = bot.errors;
    Ok(summary)
}

/// Findings grouped by fingerprint, in first-seen order.
fn group(leaks: &[Leak]) -> Vec<(&str, Vec<&Leak>)> {
    let mut order: Vec<(&str, Vec<&Leak>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for leak in leaks {
        match index.get(leak.fingerprint.as_str()) {
            Some(&i) => order[i].1.push(leak),
            None => {
                index.insert(&leak.fingerprint, order.len());
                order.push((&leak.fingerprint, vec![leak]));
            }
        }
    }
    order
}

fn matches_selector(selector: &Selector, incident: &Incident) -> bool {
    match selector {
        Selector::All => true,
        Selector::Incident(id) => incident.id == *id,
        Selector::Fingerprint(fp) => &incident.fingerprint == fp,
        Selector::ProviderLive(provider) => {
            &incident.provider == provider
                && incident.live.as_deref() == Some("live")
                && matches!(incident.state, State::Live | State::NeedsHuman)
        }
    }
}

/// A dry run reads the store but never writes it: a new fingerprint is
/// shown as a fresh incident.
fn planned_incident(store: &Store, leak: &Leak, now: i64) -> anyhow::Result<Incident> {
    if let Some(found) = store.by_fingerprint(&leak.fingerprint)? {
        return Ok(found);
    }
    Ok(Incident {
        id: 0,
        fingerprint: leak.fingerprint.clone(),
        provider: leak.provider.clone(),
        rule_id: leak.rule_id.clone(),
        kind: leak.rule_name.clone(),
        severity: leak.severity.clone(),
        state: State::Detected,
        reason: None,
        live: None,
        owner: None,
        action: None,
        revoke_after: None,
        detected_at: now,
        updated_at: now,
        dead_at: None,
    })
}

impl Bot<'_> {
    /// What policy says for an incident.
    pub fn decide(&self, incident: &Incident, repo: &str) -> Decision {
        let public = self.settings.public
            || self
                .secrets
                .get(&incident.fingerprint)
                .is_some_and(|(leak, _)| leak.client_exposed);
        self.policy.decide(&Subject {
            provider: &incident.provider,
            rule: &incident.rule_id,
            severity: &incident.severity,
            repository: repo,
            public,
        })
    }

    /// The first repository an incident was seen in.
    pub fn repo_of(&self, incident: &Incident) -> String {
        self.store
            .locations(incident.id)
            .ok()
            .and_then(|l| l.into_iter().map(|l| l.repo).find(|r| !r.is_empty()))
            .unwrap_or_default()
    }

    /// A new incident whose GitHub issue already exists (a run with no
    /// store, or another runner's): restore its state and journal.
    fn rebuild(&mut self, incident: &mut Incident, leaks: &[&Leak]) -> anyhow::Result<()> {
        let Some(repo) = leaks
            .iter()
            .map(|l| l.location.repo.clone())
            .find(|r| !r.is_empty())
        else {
            return Ok(());
        };
        let decision = self.decide(incident, &repo);
        let Some(target) = decision.issue_repo else {
            return Ok(());
        };
        let Some(issue) = self.find_issue(&target, &incident.fingerprint)? else {
            return Ok(());
        };
        let Some(block) = parse_state(&issue.body) else {
            return Ok(());
        };
        let Some(state) = State::parse(&block.state) else {
            return Ok(());
        };
        self.store
            .set_issue(incident.id, &target, issue.number, &issue.url)?;
        for step in &block.steps {
            let phase = match step.phase.as_str() {
                "intent" => super::store::Phase::Intent,
                "done" => super::store::Phase::Done,
                _ => super::store::Phase::Failed,
            };
            self.store.journal(
                incident.id,
                &step.step,
                phase,
                step.detail.as_deref(),
                step.at,
            )?;
        }
        incident.live = block.live;
        incident.owner = block.owner;
        incident.dead_at = block.dead_at;
        incident.revoke_after = block.revoke_after;
        incident.action = block
            .action
            .and_then(|a| serde_json::from_value(serde_json::Value::String(a)).ok());
        self.store.set_facts(incident)?;
        self.store.set_state(
            incident,
            state,
            block.reason.as_deref(),
            super::clock::now(),
        )?;
        Ok(())
    }

    /// Finds the bot's issue for a fingerprint, listing each repository once per run.
    pub fn find_issue(
        &mut self,
        repo: &str,
        fingerprint: &str,
    ) -> anyhow::Result<Option<crate::github::issues::Issue>> {
        let Some((client, _)) = &self.github else {
            return Ok(None);
        };
        if !self.issue_cache.contains_key(repo) {
            let issues = client.marked_issues(repo)?;
            self.issue_cache.insert(repo.to_string(), issues);
        }
        let marker = crate::github::issues::marker(fingerprint);
        Ok(self.issue_cache[repo]
            .iter()
            .find(|i| i.body.contains(&marker))
            .cloned())
    }

    /// The journal of an incident as timeline steps.
    pub fn steps(&self, incident: &Incident) -> Vec<Step> {
        self.store.timeline(incident.id).unwrap_or_default()
    }

    /// Prints what an execute run would do, call by call, and changes nothing.
    fn plan(&self, incidents: &[Incident], out: &mut dyn Write) -> anyhow::Result<()> {
        writeln!(
            out,
            "Plan (dry run; nothing is sent; add --execute to act):"
        )?;
        for incident in incidents {
            writeln!(
                out,
                "\nincident {} [{}] {} ({}), state {}",
                if incident.id == 0 {
                    "new".to_string()
                } else {
                    incident.id.to_string()
                },
                incident.fingerprint,
                incident.kind,
                incident.rule_id,
                incident.state
            )?;
            let mut n = 0;
            let mut step = |out: &mut dyn Write, text: String| -> std::io::Result<()> {
                n += 1;
                writeln!(out, "  {n}. {text}")
            };
            let forced = self.settings.force_revoke && incident.state == State::NeedsHuman;
            if incident.state.is_final() && !forced {
                step(
                    out,
                    "nothing: the incident is closed or waits for a human".into(),
                )?;
                continue;
            }
            let has_secret = self.secrets.contains_key(&incident.fingerprint);
            let base = self.env.base_url(&incident.rule_id);
            let verify_call = self
                .env
                .rules
                .get(incident.rule_id.as_str())
                .and_then(|r| r.verify.as_ref())
                .and_then(|v| match &v.check {
                    crate::provider::Check::Request(check) => Some(format!(
                        "{} {}{}",
                        check.request.method,
                        base.as_deref().unwrap_or("?"),
                        check.request.path
                    )),
                    crate::provider::Check::Builtin(kind) => Some(format!(
                        "{} check against {}",
                        kind.name(),
                        base.as_deref().unwrap_or("?")
                    )),
                    crate::provider::Check::NotSupported(_) => None,
                });
            if !has_secret {
                step(
                    out,
                    "needs a human: the findings carry no secret (scan with --show-secrets)".into(),
                )?;
                continue;
            }
            if incident.state == State::Detected && !forced {
                match &verify_call {
                    Some(call) => step(out, format!("verify: {call}"))?,
                    None => step(
                        out,
                        "verify: no harmless check exists for this credential".into(),
                    )?,
                }
            }
            let repo = self
                .secrets
                .get(&incident.fingerprint)
                .map(|(leak, _)| leak.location.repo.clone())
                .unwrap_or_default();
            let decision = self.decide(incident, &repo);
            let revoker = providers::for_rule(&incident.rule_id);
            let revoke_base = match &revoker {
                Some(provider) => self.env.revoke_url(&incident.rule_id, provider.as_ref()),
                None => base.clone(),
            };
            match (revoker, revoke_base) {
                (Some(provider), Ok(base))
                    if self.settings.force_revoke
                        || decision.action != super::incident::Action::Notify =>
                {
                    let wait = if self.settings.force_revoke
                        || decision.overlap == 0
                        || decision.action != super::incident::Action::RotateThenRevoke
                    {
                        "now".to_string()
                    } else {
                        format!(
                            "after the {} overlap window",
                            super::clock::human(decision.overlap)
                        )
                    };
                    // A confirmed-dead incident only waits for its deletion.
                    if incident.state != State::ConfirmedDead {
                        for call in provider.plan(&base) {
                            step(out, format!("revoke ({wait}, if live): {call}"))?;
                        }
                        if let Some(call) = &verify_call {
                            step(out, format!("confirm dead: {call} (expects a rejection)"))?;
                        }
                    }
                    for call in provider.finish_plan(&base) {
                        step(
                            out,
                            format!(
                                "delete, by the first run after the {} grace period: {call}",
                                super::clock::human(decision.grace)
                            ),
                        )?;
                    }
                }
                (Some(_), Err(e)) => step(out, format!("cannot act: {e}"))?,
                (Some(_), Ok(_)) => step(
                    out,
                    format!("notify only (policy action {})", decision.action.as_str()),
                )?,
                (None, _) => {
                    let rule = self.env.rules.get(incident.rule_id.as_str()).copied();
                    let manual = providers::manual_steps(rule);
                    step(
                        out,
                        format!(
                            "needs a human (no revoke API): {} {}",
                            manual.steps, manual.url
                        ),
                    )?
                }
            }
            match (&decision.issue_repo, &self.settings.github) {
                (Some(target), Some(setup)) => step(
                    out,
                    format!(
                        "issue: find or open one in {target} via {} (then comment on each change)",
                        setup.api
                    ),
                )?,
                (Some(target), None) => {
                    step(out, format!("issue in {target}: skipped (no GITHUB_TOKEN)"))?
                }
                (None, _) => step(
                    out,
                    "issue: none (no repository; pass --repo or set central_repo)".into(),
                )?,
            }
        }
        Ok(())
    }
}

/// Where the store keeps incidents by default: `$XDG_DATA_HOME/leakstop/bot.sqlite`
/// (else `~/.local/share/leakstop/`).
pub fn default_data_dir() -> Option<std::path::PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    env("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| env("HOME").map(|h| std::path::PathBuf::from(h).join(".local/share")))
        .map(|d| d.join("leakstop"))
}

/// Lines for `bot status`: incidents by state, oldest first, with age.
pub fn status(store: &Store, out: &mut dyn Write) -> anyhow::Result<()> {
    let now = super::clock::now();
    let incidents = store.all()?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for incident in &incidents {
        *counts.entry(incident.state.as_str()).or_default() += 1;
    }
    writeln!(
        out,
        "{} incident(s): {}",
        incidents.len(),
        counts
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    for incident in &incidents {
        let locations: Vec<Location> = store.locations(incident.id)?;
        let issues = store.issues(incident.id)?;
        writeln!(
            out,
            "{:>4}  {:<20} {:<28} {:<10} {:>8} ago  {} location(s){}{}",
            incident.id,
            incident.state.as_str(),
            incident.rule_id,
            incident.live.as_deref().unwrap_or("-"),
            super::clock::human(now - incident.detected_at),
            locations.len(),
            issues
                .iter()
                .map(|(_, _, url)| format!("  {url}"))
                .collect::<String>(),
            incident
                .reason
                .as_deref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}
