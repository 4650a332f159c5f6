//! What an org scan remembers about each repository between runs, in a
//! JSON file inside its clone: the ref tips scanned (the next run hides
//! their history, so it scans only newer commits) and the findings so far
//! (so its report still holds them). Without the raw secrets: a finding is
//! stored redacted, as a report shows it. A state written by other
//! settings (another leakstop version, config, baseline or scan options)
//! is not used: the repository is scanned in full again.

use crate::finding::Finding;
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The state file's name inside a bare clone (git ignores unknown files there).
pub const FILE_NAME: &str = "leakstop-state.json";

const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepoState {
    pub version: u32,
    /// [`settings_key`] of the run that wrote it.
    pub settings: String,
    /// Every ref's target when it was scanned, hex, sorted.
    pub tips: Vec<String>,
    pub findings: Vec<Finding>,
}

impl RepoState {
    pub fn new(settings: &str, tips: Vec<String>, findings: &[Finding]) -> Self {
        RepoState {
            version: STATE_VERSION,
            settings: settings.to_string(),
            tips,
            findings: findings
                .iter()
                .cloned()
                .map(|mut f| {
                    f.secret = None;
                    f
                })
                .collect(),
        }
    }
}

/// A digest of everything that decides what a scan reports.
pub fn settings_key(parts: &[&[u8]]) -> String {
    let mut hasher = Context::new(&SHA256);
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    for part in parts {
        hasher.update(&(part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The state of the clone at `clone`, if there is one written with `settings`.
pub fn load(clone: &Path, settings: &str) -> Option<RepoState> {
    let text = std::fs::read(path(clone)).ok()?;
    let state: RepoState = serde_json::from_slice(&text).ok()?;
    (state.version == STATE_VERSION && state.settings == settings).then_some(state)
}

/// Writes the state atomically (a crash leaves the old one or the new one).
pub fn save(clone: &Path, state: &RepoState) -> std::io::Result<()> {
    let target = path(clone);
    let temporary = target.with_extension("json.tmp");
    std::fs::write(&temporary, serde_json::to_vec(state)?)?;
    std::fs::rename(&temporary, &target)
}

fn path(clone: &Path) -> PathBuf {
    clone.join(FILE_NAME)
}
