//! The bot's input: a leakstop JSON report (`--format json`) or JSON Lines
//! (`--format jsonl`), each finding becoming a [`Leak`]. To verify or revoke,
//! the report must carry the secret (`scan --show-secrets`); a finding
//! without one can only be reported, and its incident says so.

use super::incident::Location;
use crate::finding::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Lines between an AWS key id and its secret for the two to count as one
/// credential (the companion window of the verify rules).
const PAIR_WINDOW: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("findings {path}: {message}")]
    Invalid { path: String, message: String },
}

/// The fields of a report finding the bot uses.
#[derive(Deserialize)]
struct RawFinding {
    rule_id: String,
    #[serde(default)]
    rule_name: String,
    provider: String,
    path: String,
    line: usize,
    fingerprint: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    client_exposed: bool,
    #[serde(default)]
    commit: Option<RawCommit>,
    /// Values found next to the secret that name what it belongs to (a
    /// Twilio key SID, a service account's e-mail): never secrets.
    #[serde(default)]
    identifiers: BTreeMap<String, String>,
    /// Every companion, secrets included, when the scan ran in this
    /// process (`--scan`): kept in memory only.
    #[serde(skip)]
    companions: BTreeMap<String, Secret>,
}

#[derive(Deserialize)]
struct RawCommit {
    id: String,
}

/// One finding, as the bot sees it.
#[derive(Debug, Clone)]
pub struct Leak {
    pub rule_id: String,
    pub rule_name: String,
    pub provider: String,
    pub fingerprint: String,
    pub severity: String,
    pub secret: Option<Secret>,
    pub client_exposed: bool,
    pub location: Location,
    /// Values found with the secret that acting on it needs (the AWS
    /// secret access key next to a key id, a report's identifiers such as
    /// a Twilio key SID), by the verify rules' names.
    pub companions: BTreeMap<String, Secret>,
}

/// Reads every finding of a JSON or JSONL report; `repo` names the
/// repository the report was made in (`owner/name`).
pub fn read(path: &Path, repo: &str) -> Result<Vec<Leak>, InputError> {
    let shown = path.display().to_string();
    let fail = |message: String| InputError::Invalid {
        path: shown.clone(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    parse(&text, repo).map_err(fail)
}

/// The findings of a scan this process ran (`bot run --scan`), read as a
/// report's findings are, so both inputs mean the same.
pub fn from_findings(
    findings: &[crate::finding::Finding],
    repo: &str,
) -> Result<Vec<Leak>, InputError> {
    let raw = findings
        .iter()
        .map(|f| {
            let mut raw: RawFinding = serde_json::to_value(f).and_then(serde_json::from_value)?;
            // In memory, the scan's companions are all there (the private
            // key a service-account key is verified with, too).
            raw.companions = f.companions.clone();
            Ok(raw)
        })
        .collect::<Result<Vec<RawFinding>, serde_json::Error>>()
        .map_err(|e| InputError::Invalid {
            path: "<scan>".into(),
            message: e.to_string(),
        })?;
    Ok(leaks(raw, repo))
}

fn parse(text: &str, repo: &str) -> Result<Vec<Leak>, String> {
    let raw: Vec<RawFinding> = if text.trim_start().starts_with('{')
        && serde_json::from_str::<serde_json::Value>(text)
            .is_ok_and(|v| v.get("findings").is_some())
    {
        #[derive(Deserialize)]
        struct Document {
            findings: Vec<RawFinding>,
        }
        serde_json::from_str::<Document>(text)
            .map_err(|e| format!("not a leakstop JSON report: {e}"))?
            .findings
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .map_err(|e| format!("line {}: not a leakstop finding: {e}", i + 1))
            })
            .collect::<Result<_, _>>()?
    };
    Ok(leaks(raw, repo))
}

fn leaks(raw: Vec<RawFinding>, repo: &str) -> Vec<Leak> {
    let leaks = raw
        .into_iter()
        .map(|f| {
            let source = if f.commit.is_some() {
                "git history"
            } else {
                "working tree"
            };
            Leak {
                rule_name: if f.rule_name.is_empty() {
                    f.rule_id.clone()
                } else {
                    f.rule_name
                },
                rule_id: f.rule_id,
                provider: f.provider,
                fingerprint: f.fingerprint,
                severity: f.severity.unwrap_or_else(|| "high".into()),
                secret: f.secret.filter(|s| !s.is_empty()).map(Secret::new),
                client_exposed: f.client_exposed,
                location: Location {
                    repo: repo.to_string(),
                    path: f.path,
                    line: f.line,
                    commit: f.commit.map(|c| c.id),
                    source: source.into(),
                },
                companions: f
                    .identifiers
                    .into_iter()
                    .map(|(name, value)| (name, Secret::new(value)))
                    .chain(f.companions)
                    .collect(),
            }
        })
        .collect();
    pair_aws(leaks)
}

/// Joins each AWS secret access key to the key id found with it: together
/// they are one credential (one incident, named by the key id); the secret
/// alone is kept only when no key id is near it.
fn pair_aws(mut leaks: Vec<Leak>) -> Vec<Leak> {
    let near = |a: &Location, b: &Location| {
        a.repo == b.repo
            && a.path == b.path
            && a.commit == b.commit
            && a.line.abs_diff(b.line) <= PAIR_WINDOW
    };
    let mut absorbed = vec![false; leaks.len()];
    for i in 0..leaks.len() {
        if !leaks[i].rule_id.starts_with("aws.") || !leaks[i].rule_id.ends_with("access-key-id") {
            continue;
        }
        let partner = (0..leaks.len()).find(|&j| {
            leaks[j].rule_id == "aws.secret-access-key"
                && leaks[j].secret.is_some()
                && near(&leaks[i].location, &leaks[j].location)
        });
        if let Some(j) = partner {
            absorbed[j] = true;
            if let Some(secret) = leaks[j].secret.clone() {
                leaks[i].companions.insert("secret_key".into(), secret);
            }
        }
    }
    leaks
        .into_iter()
        .zip(absorbed)
        .filter(|(_, gone)| !gone)
        .map(|(leak, _)| leak)
        .collect()
}
