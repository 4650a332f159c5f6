//! The incident store: SQLite (compiled in), one row per fingerprint, every
//! location, a journal of intents and results for each external step, the
//! issues opened, and per-incident leases so two bots on one store never act
//! on the same incident at once. The schema is versioned (`user_version`)
//! and migrated forward on open. No secret is ever written here.

use super::incident::{Action, Location, State};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

/// Schema migrations, in order; migration `i` brings `user_version` to `i + 1`.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    live TEXT,
    owner TEXT,
    action TEXT,
    revoke_after INTEGER,
    detected_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    dead_at INTEGER
);
CREATE TABLE locations (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    repo TEXT NOT NULL,
    path TEXT NOT NULL,
    line INTEGER NOT NULL,
    commit_id TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    first_seen INTEGER NOT NULL,
    UNIQUE (incident_id, repo, path, line, commit_id)
);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    step TEXT NOT NULL,
    phase TEXT NOT NULL,
    detail TEXT,
    at INTEGER NOT NULL
);
CREATE TABLE issues (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    repo TEXT NOT NULL,
    number INTEGER NOT NULL,
    url TEXT NOT NULL,
    PRIMARY KEY (incident_id, repo)
);
CREATE TABLE leases (
    incident_id INTEGER PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
"#];

/// Errors from the store (the path is added by the caller).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("incident store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("incident store: schema version {found} is newer than this leakstop knows ({known}); upgrade leakstop")]
    TooNew { found: i64, known: i64 },
    #[error("incident store: state of incident {id} cannot move from {from} to {to}")]
    Backward { id: i64, from: State, to: State },
}

/// An incident as stored.
#[derive(Debug, Clone)]
pub struct Incident {
    pub id: i64,
    pub fingerprint: String,
    pub provider: String,
    pub rule_id: String,
    /// The rule's name: the kind of key, for titles.
    pub kind: String,
    pub severity: String,
    pub state: State,
    pub reason: Option<String>,
    /// The verification status, as `scan --verify` names it.
    pub live: Option<String>,
    /// Owner identity from verification, as `key=value, …`.
    pub owner: Option<String>,
    pub action: Option<Action>,
    /// Not before this time (the overlap window) is the old key revoked.
    pub revoke_after: Option<i64>,
    pub detected_at: i64,
    pub updated_at: i64,
    pub dead_at: Option<i64>,
}

/// What a journal row says about a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Intent,
    Done,
    Failed,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Intent => "intent",
            Phase::Done => "done",
            Phase::Failed => "failed",
        }
    }
}

pub struct Store {
    conn: Connection,
}

const COLUMNS: &str = "id, fingerprint, provider, rule_id, kind, severity, state, reason, live, \
                       owner, action, revoke_after, detected_at, updated_at, dead_at";

fn row_to_incident(row: &rusqlite::Row<'_>) -> rusqlite::Result<Incident> {
    let state: String = row.get(6)?;
    let action: Option<String> = row.get(10)?;
    Ok(Incident {
        id: row.get(0)?,
        fingerprint: row.get(1)?,
        provider: row.get(2)?,
        rule_id: row.get(3)?,
        kind: row.get(4)?,
        severity: row.get(5)?,
        state: State::parse(&state).unwrap_or(State::NeedsHuman),
        reason: row.get(7)?,
        live: row.get(8)?,
        owner: row.get(9)?,
        action: action.and_then(|a| serde_json::from_value(serde_json::Value::String(a)).ok()),
        revoke_after: row.get(11)?,
        detected_at: row.get(12)?,
        updated_at: row.get(13)?,
        dead_at: row.get(14)?,
    })
}

/// A new incident's facts (from its first finding).
pub struct NewIncident<'a> {
    pub fingerprint: &'a str,
    pub provider: &'a str,
    pub rule_id: &'a str,
    pub kind: &'a str,
    pub severity: &'a str,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::init(Connection::open(path)?)
    }

    /// A store that lives only for this run (a stateless CI run rebuilds
    /// from GitHub issues instead).
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        Ok(Store { conn })
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// The incident for a fingerprint, created in `Detected` if new.
    /// Returns it and whether it was created.
    pub fn upsert(&self, new: &NewIncident<'_>, now: i64) -> Result<(Incident, bool), StoreError> {
        if let Some(found) = self.by_fingerprint(new.fingerprint)? {
            return Ok((found, false));
        }
        self.conn.execute(
            "INSERT INTO incidents (fingerprint, provider, rule_id, kind, severity, state, detected_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'detected', ?6, ?6)",
            params![new.fingerprint, new.provider, new.rule_id, new.kind, new.severity, now],
        )?;
        let created = self
            .by_fingerprint(new.fingerprint)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        Ok((created, true))
    }

    /// Adds a location; true if it was new.
    pub fn add_location(&self, id: i64, location: &Location, now: i64) -> Result<bool, StoreError> {
        let added = self.conn.execute(
            "INSERT OR IGNORE INTO locations (incident_id, repo, path, line, commit_id, source, first_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                location.repo,
                location.path,
                location.line as i64,
                location.commit.as_deref().unwrap_or(""),
                location.source,
                now
            ],
        )?;
        Ok(added > 0)
    }

    pub fn locations(&self, id: i64) -> Result<Vec<Location>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT repo, path, line, commit_id, source FROM locations WHERE incident_id = ?1
             ORDER BY repo, path, line, commit_id",
        )?;
        let rows = statement.query_map([id], |row| {
            let commit: String = row.get(3)?;
            Ok(Location {
                repo: row.get(0)?,
                path: row.get(1)?,
                line: row.get::<_, i64>(2)? as usize,
                commit: (!commit.is_empty()).then_some(commit),
                source: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn by_fingerprint(&self, fingerprint: &str) -> Result<Option<Incident>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM incidents WHERE fingerprint = ?1"),
                [fingerprint],
                row_to_incident,
            )
            .optional()?)
    }

    pub fn get(&self, id: i64) -> Result<Option<Incident>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1"),
                [id],
                row_to_incident,
            )
            .optional()?)
    }

    /// Every incident, oldest first.
    pub fn all(&self) -> Result<Vec<Incident>, StoreError> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM incidents ORDER BY detected_at, id"
        ))?;
        let rows = statement.query_map([], row_to_incident)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Moves an incident forward (never back); `reason` explains a
    /// needs-human state. Moving to the state it is in is a no-op.
    pub fn set_state(
        &self,
        incident: &mut Incident,
        next: State,
        reason: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        if incident.state == next {
            return Ok(());
        }
        if !incident.state.may_become(next) {
            return Err(StoreError::Backward {
                id: incident.id,
                from: incident.state,
                to: next,
            });
        }
        // Kept when already known: a run that rebuilt the incident from its
        // issue restores when it died (the grace period counts from then).
        let dead_at = if next == State::ConfirmedDead {
            incident.dead_at.or(Some(now))
        } else {
            incident.dead_at
        };
        self.conn.execute(
            "UPDATE incidents SET state = ?2, reason = COALESCE(?3, reason), updated_at = ?4, dead_at = ?5 WHERE id = ?1",
            params![incident.id, next.as_str(), reason, now, dead_at],
        )?;
        incident.state = next;
        incident.dead_at = dead_at;
        if let Some(reason) = reason {
            incident.reason = Some(reason.to_string());
        }
        Ok(())
    }

    /// Records what verification said and what policy decided.
    pub fn set_facts(&self, incident: &mut Incident) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE incidents SET live = ?2, owner = ?3, action = ?4, revoke_after = ?5 WHERE id = ?1",
            params![
                incident.id,
                incident.live,
                incident.owner,
                incident.action.map(Action::as_str),
                incident.revoke_after
            ],
        )?;
        Ok(())
    }

    /// Appends a journal row for `step` of an incident.
    pub fn journal(
        &self,
        id: i64,
        step: &str,
        phase: Phase,
        detail: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO journal (incident_id, step, phase, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, step, phase.as_str(), detail, now],
        )?;
        Ok(())
    }

    /// The last recorded phase of a step, if any.
    pub fn last_phase(&self, id: i64, step: &str) -> Result<Option<Phase>, StoreError> {
        let phase: Option<String> = self
            .conn
            .query_row(
                "SELECT phase FROM journal WHERE incident_id = ?1 AND step = ?2 ORDER BY seq DESC LIMIT 1",
                params![id, step],
                |r| r.get(0),
            )
            .optional()?;
        Ok(phase.map(|p| match p.as_str() {
            "intent" => Phase::Intent,
            "done" => Phase::Done,
            _ => Phase::Failed,
        }))
    }

    /// The journal of an incident, oldest first: its timeline.
    pub fn timeline(&self, id: i64) -> Result<Vec<super::text::Step>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT step, phase, detail, at FROM journal WHERE incident_id = ?1 ORDER BY seq",
        )?;
        let rows = statement.query_map([id], |r| {
            Ok(super::text::Step {
                step: r.get(0)?,
                phase: r.get(1)?,
                detail: r.get(2)?,
                at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The issue opened for an incident in a repository.
    pub fn issue(&self, id: i64, repo: &str) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT number, url FROM issues WHERE incident_id = ?1 AND repo = ?2",
                params![id, repo],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn issues(&self, id: i64) -> Result<Vec<(String, u64, String)>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT repo, number, url FROM issues WHERE incident_id = ?1 ORDER BY repo")?;
        let rows = statement.query_map([id], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn set_issue(&self, id: i64, repo: &str, number: u64, url: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO issues (incident_id, repo, number, url) VALUES (?1, ?2, ?3, ?4)",
            params![id, repo, number as i64, url],
        )?;
        Ok(())
    }

    /// Takes the lease on an incident for `ttl` seconds; false if another
    /// holder's lease is still running.
    pub fn lease(&self, id: i64, holder: &str, now: i64, ttl: i64) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "INSERT INTO leases (incident_id, holder, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (incident_id) DO UPDATE SET holder = ?2, expires_at = ?3
             WHERE leases.expires_at < ?4 OR leases.holder = ?2",
            params![id, holder, now + ttl, now],
        )?;
        Ok(changed > 0)
    }

    /// Who holds an incident's lease, if anyone.
    pub fn lease_holder(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT holder FROM leases WHERE incident_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Takes over the lease of a holder known to be dead.
    pub fn take_lease(
        &self,
        id: i64,
        from: &str,
        holder: &str,
        now: i64,
        ttl: i64,
    ) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE leases SET holder = ?3, expires_at = ?4 WHERE incident_id = ?1 AND holder = ?2",
            params![id, from, holder, now + ttl],
        )?;
        Ok(changed > 0)
    }

    pub fn release(&self, id: i64, holder: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM leases WHERE incident_id = ?1 AND holder = ?2",
            params![id, holder],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new() -> NewIncident<'static> {
        NewIncident {
            fingerprint: "lsfp1:aa",
            provider: "github",
            rule_id: "github.pat-classic",
            kind: "GitHub token",
            severity: "high",
        }
    }

    #[test]
    fn one_incident_per_fingerprint_and_states_move_forward() {
        let store = Store::in_memory().unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let (mut incident, created) = store.upsert(&new(), 10).unwrap();
        assert!(created);
        let (again, created) = store.upsert(&new(), 11).unwrap();
        assert!(!created);
        assert_eq!(again.id, incident.id);
        let location = Location {
            repo: "acme/app".into(),
            path: "a.env".into(),
            line: 3,
            commit: None,
            source: String::new(),
        };
        assert!(store.add_location(incident.id, &location, 10).unwrap());
        assert!(!store.add_location(incident.id, &location, 11).unwrap());
        store
            .set_state(&mut incident, State::Live, None, 12)
            .unwrap();
        store
            .set_state(&mut incident, State::Revoked, None, 13)
            .unwrap();
        assert!(store
            .set_state(&mut incident, State::Live, None, 14)
            .is_err());
        assert_eq!(
            store.get(incident.id).unwrap().unwrap().state,
            State::Revoked
        );
    }

    #[test]
    fn a_lease_keeps_a_second_holder_out_until_it_expires() {
        let store = Store::in_memory().unwrap();
        let (incident, _) = store.upsert(&new(), 10).unwrap();
        assert!(store.lease(incident.id, "a", 100, 60).unwrap());
        assert!(!store.lease(incident.id, "b", 120, 60).unwrap());
        assert!(store.lease(incident.id, "a", 120, 60).unwrap());
        assert!(store.lease(incident.id, "b", 200, 60).unwrap());
    }
}
