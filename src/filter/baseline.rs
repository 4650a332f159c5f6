//! Baseline files: findings a team has accepted, keyed by fingerprint.
//!
//! The file is merge-friendly by construction: a format version, no
//! timestamps or line numbers, one entry per line, sorted by fingerprint,
//! written atomically (temp file + rename).

use crate::finding::{Finding, FINGERPRINT_ALGORITHM};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const BASELINE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("reading baseline {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("baseline {path} is not a leakstop baseline: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("writing baseline {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule_id: String,
    /// Where the secret was first seen, for the reader; matching ignores it.
    pub path: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    fingerprint_algorithm: String,
    entries: Vec<BaselineEntry>,
}

/// A loaded baseline.
#[derive(Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::parse(path, &text)
    }

    /// Parses a baseline's text; `path` names it in errors (a file, or a
    /// blob at a commit).
    pub fn parse(path: &Path, text: &str) -> Result<Baseline, BaselineError> {
        let invalid = |message: String| BaselineError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let file: BaselineFile = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if file.version != BASELINE_VERSION {
            return Err(invalid(format!(
                "version {} is not supported (expected {BASELINE_VERSION})",
                file.version
            )));
        }
        if file.fingerprint_algorithm != FINGERPRINT_ALGORITHM {
            return Err(invalid(format!(
                "fingerprint algorithm `{}` is not supported (expected `{FINGERPRINT_ALGORITHM}`)",
                file.fingerprint_algorithm
            )));
        }
        Ok(Baseline {
            fingerprints: file.entries.into_iter().map(|e| e.fingerprint).collect(),
        })
    }

    /// The accepted fingerprints.
    pub fn fingerprints(&self) -> impl Iterator<Item = &String> {
        self.fingerprints.iter()
    }

    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// Entries no finding of this scan matched: candidates for removal.
    pub fn unused<'a>(&'a self, matched: &'a HashSet<String>) -> impl Iterator<Item = &'a String> {
        self.fingerprints
            .iter()
            .filter(move |f| !matched.contains(*f))
    }
}

/// Writes a baseline of `findings` to `path` atomically. One entry per
/// fingerprint (the first location in path order).
pub fn write_baseline(path: &Path, findings: &[Finding]) -> Result<usize, BaselineError> {
    let mut by_fingerprint: BTreeMap<&str, BaselineEntry> = BTreeMap::new();
    for finding in findings {
        by_fingerprint
            .entry(finding.fingerprint.as_str())
            .and_modify(|entry| {
                if finding.path < entry.path {
                    entry.path = finding.path.clone();
                }
            })
            .or_insert_with(|| BaselineEntry {
                fingerprint: finding.fingerprint.clone(),
                rule_id: finding.rule_id.clone(),
                path: finding.path.clone(),
            });
    }
    let mut text = format!(
        "{{\n  \"version\": {BASELINE_VERSION},\n  \"fingerprint_algorithm\": \"{FINGERPRINT_ALGORITHM}\",\n  \"entries\": ["
    );
    let count = by_fingerprint.len();
    for (i, entry) in by_fingerprint.values().enumerate() {
        let line = serde_json::to_string(entry).map_err(|e| BaselineError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        text.push_str("\n    ");
        text.push_str(&line);
        if i + 1 < count {
            text.push(',');
        }
    }
    text.push_str(if count == 0 { "]\n}\n" } else { "\n  ]\n}\n" });
    write_atomically(path, text.as_bytes()).map_err(|source| BaselineError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(count)
}

/// Writes via a temporary file in the same directory and a rename, so a
/// crash never leaves a half-written file behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let temp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
