//! `leakstop bot drill`: the whole pipeline — verify, revoke, confirm dead,
//! issue, audit — against built-in fake providers and a fake GitHub on
//! 127.0.0.1, with freshly planted random keys (never anyone's), one
//! provider at a time. It reports the time from detection to confirmed
//! revocation and the provider calls for each, and fails if any step did,
//! so a team can run it on a schedule to prove the emergency plan works.

pub mod fake;
pub mod fake_admin;
mod server;

use super::audit::AuditLog;
use super::incident::{Location, State};
use super::input::Leak;
use super::policy::Policy;
use super::run::{self, GithubSetup, Selector, Settings};
use super::store::Store;
use crate::finding::Secret;
use crate::verify::endpoint::{self, Overrides};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The rules planted, with the prefix and random length of their keys
/// (keys with an inner shape are built by [`plant`]).
const PLANTED: &[(&str, &str, usize)] = &[
    ("github.pat-classic", "ghp_", 36),
    ("github.app-installation", "ghs_", 36),
    ("gitlab.pat", "glpat-", 20),
    ("slack.bot-token", "xoxb-1234567890-1234567890-", 24),
    ("npm.access-token", "npm_", 36),
    ("aws.access-key-id", "AKIA", 16),
    ("sendgrid.api-key", "", 0),
    ("discord.webhook", "", 0),
    ("openai.project-key", "sk-proj-", 64),
    ("anthropic.api-key", "", 0),
    ("datadog.api-key", "", 0),
    ("google.api-key", "AIza", 35),
    ("google.service-account-key", "", 0),
    ("twilio.api-key-secret", "", 32),
];

/// Lowercase hex of `length` random digits (SIDs, key ids).
fn random_hex(length: usize) -> anyhow::Result<String> {
    Ok(random_key("", length)?
        .bytes()
        .map(|b| char::from(b"0123456789abcdef"[usize::from(b % 16)]))
        .collect())
}

/// A random key of the rule's shape.
fn plant(rule_id: &str, prefix: &str, length: usize) -> anyhow::Result<String> {
    Ok(match rule_id {
        "sendgrid.api-key" => format!("SG.{}.{}", random_key("", 22)?, random_key("", 43)?),
        "discord.webhook" => format!(
            "https://discord.com/api/webhooks/1{}/{}",
            random_key("", 18)?
                .bytes()
                .map(|b| char::from(b'0' + b % 10))
                .collect::<String>(),
            random_key("", 68)?
        ),
        "anthropic.api-key" => format!("sk-ant-api03-{}AA", random_key("", 93)?),
        "datadog.api-key" => random_hex(32)?,
        // A service-account key is named by its file's private_key_id.
        "google.service-account-key" => random_hex(40)?,
        _ => random_key(prefix, length)?,
    })
}

/// The admin credentials a planted provider's revocation needs, by the
/// names its `[credentials.<provider>]` takes.
const ADMIN_NAMES: &[(&str, &[&str])] = &[
    ("openai", &["admin_key"]),
    ("anthropic", &["admin_key"]),
    ("datadog", &["api_key", "application_key"]),
    ("google", &["access_token"]),
    ("twilio", &["account_sid", "auth_token"]),
];

/// One provider's drill result.
#[derive(Debug)]
pub struct Outcome {
    pub rule_id: String,
    pub state: State,
    pub dead: bool,
    pub elapsed: Duration,
    pub provider_calls: usize,
    pub issue_closed: bool,
}

fn random_key(prefix: &str, length: usize) -> anyhow::Result<String> {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = vec![0u8; length];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("no random numbers"))?;
    let body: String = bytes
        .iter()
        .map(|b| B62[*b as usize % 62] as char)
        .collect();
    Ok(format!("{prefix}{body}"))
}

/// Runs the drill; prints a table and returns every provider's outcome.
pub fn drill(out: &mut dyn Write) -> anyhow::Result<Vec<Outcome>> {
    let rules = crate::rules::embedded_rules()?;
    let providers = Arc::new(Mutex::new(fake::Providers::default()));
    let github = Arc::new(Mutex::new(fake::Github {
        token: random_key("drill_", 20)?,
        ..fake::Github::default()
    }));
    let token = github
        .lock()
        .map_err(|_| anyhow::anyhow!("fake GitHub"))?
        .token
        .clone();
    let provider_server = {
        let providers = Arc::clone(&providers);
        server::Server::start(move |request| match providers.lock() {
            Ok(mut state) => state.answer(request),
            Err(_) => fake::FakeReply::json(500, "{}"),
        })?
    };
    let github_server = {
        let github = Arc::clone(&github);
        server::Server::start(move |request| match github.lock() {
            Ok(mut state) => state.answer(request),
            Err(_) => fake::FakeReply::json(500, "{}"),
        })?
    };
    let scratch = std::env::temp_dir().join(format!("leakstop-drill-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    writeln!(
        out,
        "leakstop bot drill: {} planted keys, fake providers at {}, fake GitHub at {}\n",
        PLANTED.len(),
        provider_server.url,
        github_server.url
    )?;
    writeln!(
        out,
        "{:<26} {:<16} {:>12} {:>15}  issue",
        "rule", "result", "to dead (ms)", "provider calls"
    )?;
    let mut outcomes = Vec::new();
    for (rule_id, prefix, length) in PLANTED {
        let rule = rules
            .iter()
            .find(|r| r.id == *rule_id)
            .ok_or_else(|| anyhow::anyhow!("rule {rule_id} is not built in"))?;
        let name = rule
            .verify
            .as_ref()
            .map(|s| s.endpoint_name(&rule.provider))
            .unwrap_or(&rule.provider);
        if std::env::var(endpoint::env_name(name)).is_ok_and(|v| !v.is_empty()) {
            anyhow::bail!(
                "unset {} for the drill: it must only reach its own fakes",
                endpoint::env_name(name)
            );
        }
        let key = plant(rule_id, prefix, *length)?;
        let mut companions = BTreeMap::new();
        let mut credentials = BTreeMap::new();
        let mut overrides = BTreeMap::from([(name.to_string(), provider_server.url.clone())]);
        {
            let mut fake = providers
                .lock()
                .map_err(|_| anyhow::anyhow!("fake providers"))?;
            fake.live.insert(key.clone());
            if rule.provider == "aws" {
                // The key's secret half, and the bot's own admin key for IAM.
                companions.insert("secret_key".to_string(), Secret::new(random_key("", 40)?));
                let admin = random_key("AKIA", 16)?;
                fake.admin_keys.insert(admin.clone());
                credentials.insert(
                    "aws".to_string(),
                    BTreeMap::from([
                        ("access_key_id".to_string(), Secret::new(admin)),
                        (
                            "secret_access_key".to_string(),
                            Secret::new(random_key("", 40)?),
                        ),
                    ]),
                );
                overrides.insert("aws-iam".into(), provider_server.url.clone());
            }
            if let Some((_, names)) = ADMIN_NAMES.iter().find(|(p, _)| *p == rule.provider) {
                let mut named = BTreeMap::new();
                for name in *names {
                    let admin = random_key("drill-admin-", 24)?;
                    fake.admin_tokens.insert(admin.clone());
                    named.insert(name.to_string(), Secret::new(admin));
                }
                credentials.insert(rule.provider.clone(), named);
                for admin_api in ["google-apikeys", "google-iam"] {
                    overrides.insert(admin_api.into(), provider_server.url.clone());
                }
            }
            // What the scan's report carries next to these keys (identifiers).
            if rule.id == "twilio.api-key-secret" {
                let sid = format!("SK{}", random_hex(32)?);
                fake.ids.insert(sid.clone(), key.clone());
                companions.insert("key_sid".to_string(), Secret::new(sid));
                let account = format!("AC{}", random_hex(32)?);
                companions.insert("account_sid".to_string(), Secret::new(account));
            }
            if rule.id == "google.service-account-key" {
                let email = "deployer@leakstop-drill.iam.gserviceaccount.com".to_string();
                companions.insert("client_email".to_string(), Secret::new(email));
            }
        }
        let leak = Leak {
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            provider: rule.provider.clone(),
            fingerprint: crate::finding::fingerprint(&rule.provider, key.as_bytes(), false),
            severity: "high".into(),
            secret: Some(Secret::new(key)),
            client_exposed: false,
            location: Location {
                repo: "leakstop-drill/planted".into(),
                path: format!("drill/{}.env", rule.provider),
                line: 1,
                commit: None,
                source: "drill".into(),
            },
            companions,
        };
        let settings = Settings {
            leaks: vec![leak],
            execute: true,
            force_revoke: false,
            public: true,
            selector: Selector::All,
            // No grace: the drill also proves the deletion of a deactivated key.
            policy: Policy::parse("<drill>", "[defaults]\ngrace = \"0\"\n")?,
            github: Some(GithubSetup {
                api: github_server.url.clone(),
                token: Some(token.clone()),
            }),
            timeout: Duration::from_secs(5),
            credentials,
            store_token: None,
            overrides: Overrides::new(overrides),
        };
        let store = Store::in_memory()?;
        let audit_path = scratch.join(format!("{rule_id}.audit.jsonl"));
        let mut audit = AuditLog::open(&audit_path, super::audit::actor())?;
        let calls_before = provider_server.requests();
        let started = Instant::now();
        let summary = run::run(&settings, &store, &mut audit, &mut std::io::sink())?;
        let elapsed = started.elapsed();
        let incident = store.all()?.into_iter().next();
        let state = incident
            .as_ref()
            .map(|i| i.state)
            .unwrap_or(State::Detected);
        let dead = incident.as_ref().is_some_and(|i| i.dead_at.is_some());
        let issue_closed = github
            .lock()
            .map_err(|_| anyhow::anyhow!("fake GitHub"))?
            .issues
            .iter()
            .any(|i| i.title.contains(rule.name.as_str()) && !i.open);
        let outcome = Outcome {
            rule_id: rule_id.to_string(),
            state,
            dead,
            elapsed,
            provider_calls: provider_server.requests() - calls_before,
            issue_closed,
        };
        writeln!(
            out,
            "{:<26} {:<16} {:>12} {:>15}  {}{}",
            outcome.rule_id,
            if dead {
                format!("{state}, dead")
            } else {
                state.to_string()
            },
            outcome.elapsed.as_millis(),
            outcome.provider_calls,
            if issue_closed {
                "opened and closed"
            } else {
                "NOT closed"
            },
            summary
                .errors
                .first()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        )?;
        outcomes.push(outcome);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let mut times: Vec<u128> = outcomes
        .iter()
        .filter(|o| o.dead)
        .map(|o| o.elapsed.as_millis())
        .collect();
    times.sort_unstable();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let calls: usize = outcomes.iter().map(|o| o.provider_calls).sum();
    writeln!(
        out,
        "\nmedian time from detection to confirmed revocation: {median} ms over {} provider(s); {:.1} provider calls per incident",
        times.len(),
        calls as f64 / outcomes.len().max(1) as f64
    )?;
    Ok(outcomes)
}
