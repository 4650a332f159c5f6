//! What the dashboard shows, read from the bot's store and audit log: the
//! same structures feed the HTML pages and the JSON API (docs/dashboard.md),
//! so the two can never disagree. Nothing here holds a secret: the store
//! and the audit log never do.

use crate::bot::audit::{self, Record};
use crate::bot::clock;
use crate::bot::incident::State;
use crate::bot::policy::{Policy, Subject};
use crate::bot::store::{Incident, Store, StoreError};
use crate::bot::text::Step;
use crate::report::html::github_link;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The list filters (`?state=&provider=&repository=&older_than=`); an
/// empty value means "any".
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub repository: String,
    /// A duration (`1h`, `24h`, `7d`): only incidents detected longer ago.
    #[serde(default)]
    pub older_than: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IssueLink {
    pub repository: String,
    pub number: u64,
    pub url: String,
}

/// One incident in the list.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentRow {
    pub id: i64,
    pub fingerprint: String,
    pub provider: String,
    pub rule_id: String,
    pub kind: String,
    pub severity: String,
    pub state: String,
    pub reason: Option<String>,
    /// The verification status (`live`, `invalid`, …), if verified.
    pub live: Option<String>,
    pub detected_at: String,
    pub age_seconds: i64,
    pub repositories: Vec<String>,
    pub locations: usize,
    pub issues: Vec<IssueLink>,
    /// Open longer than the policy allows (its overlap window, or the
    /// incident's own revoke-after time).
    pub overdue: bool,
    /// The incident may still be revoked from the dashboard.
    pub revocable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocationView {
    pub repository: String,
    pub path: String,
    pub line: usize,
    pub commit: Option<String>,
    pub source: String,
    pub link: Option<String>,
}

/// The audit log's verdict and the records of one incident.
#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    pub path: String,
    /// The whole chain verifies (`leakstop audit verify`).
    pub intact: bool,
    pub records: u64,
    pub head: String,
    pub problems: Vec<String>,
    pub entries: Vec<Record>,
}

/// One incident in full.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub row: IncidentRow,
    pub owner: Option<String>,
    pub action: Option<String>,
    pub revoke_after: Option<String>,
    pub dead_at: Option<String>,
    pub locations: Vec<LocationView>,
    /// The store's journal: every step's intent and result.
    pub timeline: Vec<Step>,
    pub audit: AuditView,
}

/// Time from detection to revocation for one provider.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderTimes {
    pub provider: String,
    pub revoked: usize,
    pub median_seconds: Option<i64>,
    pub worst_seconds: Option<i64>,
    /// Live keys not yet revoked (what "revoke all live" would act on).
    pub open_live: usize,
    pub overdue: usize,
}

/// Whether an incident still leaves a key to act on.
fn open(incident: &Incident) -> bool {
    !matches!(
        incident.state,
        State::NotLive | State::Revoked | State::ConfirmedDead | State::Closed
    )
}

/// Whether a live key of this incident is still unrevoked, the same test
/// `bot revoke --provider P --all-live` applies.
fn open_live(incident: &Incident) -> bool {
    incident.live.as_deref() == Some("live")
        && matches!(incident.state, State::Live | State::NeedsHuman)
}

fn overdue(incident: &Incident, repository: &str, policy: &Policy, now: i64) -> bool {
    if !open(incident) {
        return false;
    }
    let deadline = incident.revoke_after.unwrap_or_else(|| {
        let decision = policy.decide(&Subject {
            provider: &incident.provider,
            rule: &incident.rule_id,
            severity: &incident.severity,
            repository,
            public: false,
        });
        incident.detected_at + decision.overlap
    });
    now > deadline
}

fn row(
    store: &Store,
    incident: &Incident,
    policy: &Policy,
    now: i64,
) -> Result<IncidentRow, StoreError> {
    let locations = store.locations(incident.id)?;
    let mut repositories: Vec<String> = locations
        .iter()
        .map(|l| l.repo.clone())
        .filter(|r| !r.is_empty())
        .collect();
    repositories.sort();
    repositories.dedup();
    let issues = store
        .issues(incident.id)?
        .into_iter()
        .map(|(repository, number, url)| IssueLink {
            repository,
            number,
            url,
        })
        .collect();
    let first_repo = repositories.first().cloned().unwrap_or_default();
    Ok(IncidentRow {
        id: incident.id,
        fingerprint: incident.fingerprint.clone(),
        provider: incident.provider.clone(),
        rule_id: incident.rule_id.clone(),
        kind: incident.kind.clone(),
        severity: incident.severity.clone(),
        state: incident.state.as_str().to_string(),
        reason: incident.reason.clone(),
        live: incident.live.clone(),
        detected_at: clock::rfc3339(incident.detected_at),
        age_seconds: now - incident.detected_at,
        locations: locations.len(),
        overdue: overdue(incident, &first_repo, policy, now),
        revocable: open(incident),
        repositories,
        issues,
    })
}

/// The incidents the filter selects, oldest first.
pub fn list(
    store: &Store,
    policy: &Policy,
    filter: &Filter,
    now: i64,
) -> Result<Vec<IncidentRow>, String> {
    let older_than = match filter.older_than.trim() {
        "" => None,
        text => Some(clock::parse_duration(text).map_err(|e| format!("older_than: {e}"))?),
    };
    let mut rows = Vec::new();
    for incident in store.all().map_err(|e| e.to_string())? {
        if (!filter.state.is_empty() && incident.state.as_str() != filter.state)
            || (!filter.provider.is_empty() && incident.provider != filter.provider)
            || older_than.is_some_and(|age| now - incident.detected_at < age)
        {
            continue;
        }
        let row = row(store, &incident, policy, now).map_err(|e| e.to_string())?;
        if !filter.repository.is_empty() && !row.repositories.contains(&filter.repository) {
            continue;
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Reads the audit log: the chain's verdict and one incident's records.
pub fn audit_view(path: &Path, fingerprint: &str) -> AuditView {
    let (intact, records, head, problems) = match audit::verify(path) {
        Ok(verified) => (
            verified.problems.is_empty(),
            verified.records,
            verified.head,
            verified.problems,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (true, 0, audit::GENESIS.to_string(), Vec::new())
        }
        Err(e) => (false, 0, String::new(), vec![format!("cannot read: {e}")]),
    };
    let entries = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Record>(line).ok())
        .filter(|record| record.incident == fingerprint)
        .collect();
    AuditView {
        path: path.display().to_string(),
        intact,
        records,
        head,
        problems,
        entries,
    }
}

/// One incident in full, or `None` if there is no such incident.
pub fn detail(
    store: &Store,
    policy: &Policy,
    audit_path: &Path,
    web: &str,
    id: i64,
    now: i64,
) -> Result<Option<IncidentDetail>, StoreError> {
    let Some(incident) = store.get(id)? else {
        return Ok(None);
    };
    let locations = store
        .locations(id)?
        .into_iter()
        .map(|l| LocationView {
            link: github_link(web, &l.repo, l.commit.as_deref(), &l.path, l.line),
            repository: l.repo,
            path: l.path,
            line: l.line,
            commit: l.commit,
            source: l.source,
        })
        .collect();
    Ok(Some(IncidentDetail {
        row: row(store, &incident, policy, now)?,
        owner: incident.owner.clone(),
        action: incident.action.map(|a| a.as_str().to_string()),
        revoke_after: incident.revoke_after.map(clock::rfc3339),
        dead_at: incident.dead_at.map(clock::rfc3339),
        locations,
        timeline: store.timeline(id)?,
        audit: audit_view(audit_path, &incident.fingerprint),
    }))
}

/// Median and worst time to revoke per provider, with open live keys and
/// overdue incidents counted.
pub fn time_to_revoke(
    store: &Store,
    policy: &Policy,
    now: i64,
) -> Result<Vec<ProviderTimes>, StoreError> {
    let mut by_provider: BTreeMap<String, (Vec<i64>, usize, usize)> = BTreeMap::new();
    for incident in store.all()? {
        let entry = by_provider.entry(incident.provider.clone()).or_default();
        let revoked_at = store
            .timeline(incident.id)?
            .iter()
            .find(|s| s.step == "revoke" && s.phase == "done")
            .map(|s| s.at)
            .or(incident.dead_at);
        if let Some(at) = revoked_at {
            entry.0.push((at - incident.detected_at).max(0));
        }
        if open_live(&incident) {
            entry.1 += 1;
        }
        let repo = store
            .locations(incident.id)?
            .into_iter()
            .map(|l| l.repo)
            .find(|r| !r.is_empty())
            .unwrap_or_default();
        if overdue(&incident, &repo, policy, now) {
            entry.2 += 1;
        }
    }
    Ok(by_provider
        .into_iter()
        .map(|(provider, (mut times, open_live, overdue))| {
            times.sort_unstable();
            ProviderTimes {
                provider,
                revoked: times.len(),
                median_seconds: median(&times),
                worst_seconds: times.last().copied(),
                open_live,
                overdue,
            }
        })
        .collect())
}

fn median(sorted: &[i64]) -> Option<i64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

/// The incidents `revoke all live keys of a provider` would act on.
pub fn live_of_provider(store: &Store, provider: &str) -> Result<Vec<Incident>, StoreError> {
    Ok(store
        .all()?
        .into_iter()
        .filter(|i| i.provider == provider && open_live(i))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_lists() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[1, 3, 10]), Some(3));
        assert_eq!(median(&[1, 3, 5, 10]), Some(4));
    }
}
