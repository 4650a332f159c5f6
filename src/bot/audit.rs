//! The audit log: append-only JSON Lines, one record per intent and result
//! of every action the bot takes. Each record carries a sequence number, the
//! hash of the record before it and its own hash, so `leakstop audit verify`
//! can name a record that was changed, deleted, inserted or moved. The chain
//! head (the last hash) goes into every issue comment, so rewriting the whole
//! local log shows up against GitHub. No record ever holds a secret: keys are
//! named by fingerprint or by the provider's public key id.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {path}: the log is broken ({problem}); run `leakstop audit verify` and keep the file as evidence")]
    Broken { path: PathBuf, problem: String },
}

/// One record. Field order is the serialization order, which the hash covers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub seq: u64,
    pub time: String,
    /// Who ran the bot, and where (`user@host`, or the GitHub Actions run).
    pub actor: String,
    /// The incident's fingerprint.
    pub incident: String,
    pub action: String,
    /// `intent` before an external call, `result` after it.
    pub phase: String,
    pub provider: String,
    /// The key's public id where the provider has one, else the fingerprint.
    pub key: String,
    #[serde(default)]
    pub request_id: Option<String>,
    pub outcome: String,
    #[serde(default)]
    pub error: Option<String>,
    pub prev: String,
    #[serde(default)]
    pub hash: String,
}

impl Record {
    /// The hash of everything but the `hash` field.
    fn compute_hash(&self) -> String {
        let mut copy = self.clone();
        copy.hash = String::new();
        let text = serde_json::to_string(&copy).unwrap_or_default();
        hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a new record says; the log fills in sequence, time, actor and hashes.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub incident: String,
    pub action: String,
    pub phase: &'static str,
    pub provider: String,
    pub key: String,
    pub request_id: Option<String>,
    pub outcome: String,
    pub error: Option<String>,
}

/// An open log, positioned after its last record.
pub struct AuditLog {
    path: PathBuf,
    file: File,
    seq: u64,
    head: String,
    actor: String,
}

impl AuditLog {
    /// Opens (creating) the log; refuses to append to a broken chain.
    pub fn open(path: &Path, actor: String) -> Result<AuditLog, AuditError> {
        let io = |source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(io)?;
        let report = verify(path).map_err(io)?;
        if let Some(problem) = report.problems.first() {
            return Err(AuditError::Broken {
                path: path.to_path_buf(),
                problem: problem.clone(),
            });
        }
        Ok(AuditLog {
            path: path.to_path_buf(),
            file,
            seq: report.records,
            head: report.head,
            actor,
        })
    }

    /// The hash of the last record: the chain head.
    pub fn head(&self) -> &str {
        &self.head
    }

    /// Appends one record and syncs it to disk before returning, so an
    /// intent is on disk before the action it announces.
    pub fn append(&mut self, entry: Entry, time: String) -> Result<(), AuditError> {
        let mut record = Record {
            seq: self.seq + 1,
            time,
            actor: self.actor.clone(),
            incident: entry.incident,
            action: entry.action,
            phase: entry.phase.to_string(),
            provider: entry.provider,
            key: entry.key,
            request_id: entry.request_id,
            outcome: entry.outcome,
            error: entry.error,
            prev: self.head.clone(),
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        let mut line = serde_json::to_string(&record).unwrap_or_default();
        line.push('\n');
        let io = |source| AuditError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.seq = record.seq;
        self.head = record.hash;
        Ok(())
    }
}

/// What `audit verify` found.
#[derive(Debug, Default)]
pub struct Verified {
    pub records: u64,
    pub head: String,
    pub problems: Vec<String>,
}

/// Checks the whole chain: every record's own hash, its link to the record
/// before it, and the sequence numbers. Each problem names the line and
/// says what happened to it.
pub fn verify(path: &Path) -> std::io::Result<Verified> {
    let reader = BufReader::new(File::open(path)?);
    let mut out = Verified {
        head: GENESIS.to_string(),
        ..Verified::default()
    };
    let mut last_seq = 0u64;
    let mut seen = std::collections::HashSet::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line?;
        let n = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let Ok(record) = serde_json::from_str::<Record>(&line) else {
            out.problems
                .push(format!("line {n}: not an audit record (changed)"));
            continue;
        };
        let seq = record.seq;
        if record.compute_hash() != record.hash {
            out.problems.push(format!(
                "line {n} (record {seq}): changed (its content does not match its hash)"
            ));
        } else if seq <= last_seq {
            if seen.contains(&seq) {
                out.problems.push(format!(
                    "line {n} (record {seq}): inserted (a second record {seq}; the chain was rewritten before it)"
                ));
            } else {
                out.problems.push(format!(
                    "line {n} (record {seq}): reordered (it comes after record {last_seq})"
                ));
            }
        } else if seq > last_seq + 1 {
            let missing = if seq == last_seq + 2 {
                format!("record {}", last_seq + 1)
            } else {
                format!("records {}–{}", last_seq + 1, seq - 1)
            };
            out.problems.push(format!(
                "line {n} (record {seq}): {missing} deleted before it"
            ));
        } else if record.prev != out.head {
            out.problems.push(format!(
                "line {n} (record {seq}): inserted or replaced (it does not link to the record before it)"
            ));
        }
        seen.insert(seq);
        last_seq = last_seq.max(seq);
        out.head = record.hash;
        out.records += 1;
    }
    Ok(out)
}

/// Who is acting: the GitHub Actions run where there is one, else user@host.
pub fn actor() -> String {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(repo), Some(run)) = (env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID")) {
        let who = env("GITHUB_ACTOR").unwrap_or_else(|| "actions".into());
        return format!("{who}@github-actions:{repo}/runs/{run}");
    }
    let user = env("USER")
        .or_else(|| env("USERNAME"))
        .unwrap_or_else(|| "unknown".into());
    let host = env("HOSTNAME")
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    format!("{user}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> Entry {
        Entry {
            incident: "lsfp1:aa".into(),
            action: action.into(),
            phase: "result",
            provider: "github".into(),
            key: "lsfp1:aa".into(),
            outcome: "ok".into(),
            ..Entry::default()
        }
    }

    #[test]
    fn a_clean_chain_verifies_and_reopens_at_its_head() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path, "me@here".into()).unwrap();
        log.append(entry("verify"), "t1".into()).unwrap();
        log.append(entry("revoke"), "t2".into()).unwrap();
        let head = log.head().to_string();
        drop(log);
        let report = verify(&path).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!((report.records, report.head.as_str()), (2, head.as_str()));
        let mut log = AuditLog::open(&path, "me@here".into()).unwrap();
        log.append(entry("confirm"), "t3".into()).unwrap();
        assert_eq!(verify(&path).unwrap().records, 3);
    }
}
