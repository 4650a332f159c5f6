//! Org scans (`leakstop scan github`): every listed repository is cloned or
//! fetched into the cache, its history scanned with the one engine of the
//! run, and the findings and stats folded into one report with the
//! repository on every finding. A repository that fails (deleted, denied,
//! interrupted) becomes an error of the scan, naming it, and the rest goes
//! on. Incremental: a repository's state ([`state`]) remembers the ref
//! tips scanned and the findings, so a later run scans only newer commits
//! (a range scan hiding the old tips) and still reports everything.

pub mod shard;
pub mod state;

use crate::engine::Engine;
use crate::finding::Finding;
use crate::github::clone::{self, CloneOptions};
use crate::github::repos::Repository;
use crate::report::merge::{add_stats, empty_stats, sort_findings};
use crate::scan::{self, Mode, ScanOutput, Settings};
use crate::source::history;
use crate::source::odb;
use crate::source::range::Revisions;
use crate::stats::{ProblemKind, ScanError, ScanStats, StatsCollector};
use gix::ObjectId;
use state::RepoState;
use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

/// What an org scan runs over and how.
pub struct OrgScan<'a> {
    pub repositories: &'a [Repository],
    /// Repositories that could not even be looked up, with why.
    pub failed: &'a [(String, String)],
    pub clone: CloneOptions<'a>,
    /// The scan settings every repository is scanned with (their root and
    /// mode are set per repository).
    pub settings: &'a Settings,
    /// Scan every repository in full, whatever was scanned before.
    pub full: bool,
    /// [`state::settings_key`] of this run.
    pub state_key: String,
    /// Draw a progress line over the repositories on a terminal.
    pub progress: bool,
}

/// An org scan's findings and stats, and what it did per repository.
pub struct OrgOutput {
    pub output: ScanOutput,
    /// Repositories scanned (in full or in part).
    pub scanned: usize,
    /// Repositories with nothing new since the last run.
    pub unchanged: usize,
}

/// One repository's part of the report.
struct RepoResult {
    findings: Vec<Finding>,
    stats: ScanStats,
    commits: usize,
    unchanged: bool,
}

/// Runs the org scan with `engine`.
pub fn run(scan: &OrgScan<'_>, engine: &Engine) -> OrgOutput {
    let started = Instant::now();
    let mut findings = Vec::new();
    let mut stats = empty_stats();
    let (mut commits, mut scanned, mut unchanged) = (0, 0, 0);
    for (name, why) in scan.failed {
        stats.errors.push(ScanError {
            path: name.clone(),
            message: why.clone(),
            kind: ProblemKind::Unreadable,
        });
    }
    let draw = scan.progress && std::io::stderr().is_terminal();
    let total = scan.repositories.len();
    for (index, repo) in scan.repositories.iter().enumerate() {
        if draw {
            eprint!("\r\x1b[2K[{}/{total}] {}", index + 1, repo.full_name);
        }
        match scan_repository(scan, repo, engine) {
            Ok(result) => {
                findings.extend(result.findings);
                add_stats(&mut stats, result.stats, Some(&repo.full_name));
                commits += result.commits;
                if result.unchanged {
                    unchanged += 1;
                } else {
                    scanned += 1;
                }
            }
            Err(message) => stats.errors.push(ScanError {
                path: repo.full_name.clone(),
                message,
                kind: ProblemKind::Unreadable,
            }),
        }
    }
    if draw {
        eprint!("\r\x1b[2K");
    }
    stats.errors.sort();
    sort_findings(&mut findings);
    stats.findings = findings.len() as u64;
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    OrgOutput {
        output: ScanOutput {
            findings,
            stats,
            commits: Some(commits),
        },
        scanned,
        unchanged,
    }
}

/// Clones or fetches `repo` and scans what is new since its state.
fn scan_repository(
    scan: &OrgScan<'_>,
    repo: &Repository,
    engine: &Engine,
) -> Result<RepoResult, String> {
    let synced = clone::sync(repo, &scan.clone).map_err(|e| e.to_string())?;
    let earlier = match scan.full {
        true => None,
        false => state::load(&synced.path, &scan.state_key),
    };
    let tips = ref_tips(&synced.path)?;
    if let Some(earlier) = earlier.as_ref().filter(|e| e.tips == tips) {
        return Ok(RepoResult {
            findings: earlier.findings.clone(),
            stats: empty_stats(),
            commits: 0,
            unchanged: true,
        });
    }
    let scanned: Vec<ObjectId> = earlier
        .iter()
        .flat_map(|e| &e.tips)
        .filter_map(|hex| ObjectId::from_hex(hex.as_bytes()).ok())
        .collect();
    let settings = Settings {
        root: synced.path.clone(),
        mode: Mode::Range(Revisions::Since { scanned }),
        progress: false,
        ..scan.settings.clone()
    };
    let output = scan::run(&settings, engine).map_err(|e| format!("{e:#}"))?;
    let mut stats = output.stats;
    if tips.is_empty() {
        stats.warnings.push(ScanError {
            path: "refs".into(),
            message: "the repository is empty: nothing to scan".into(),
            kind: ProblemKind::Other,
        });
    }
    let mut findings = earlier.map(|e| e.findings).unwrap_or_default();
    let mut seen: HashSet<String> = findings.iter().map(identity).collect();
    for mut finding in output.findings {
        finding.repository = Some(repo.full_name.clone());
        if seen.insert(identity(&finding)) {
            findings.push(finding);
        }
    }
    // Only a complete scan moves the state on; otherwise the next run
    // scans the same commits again.
    if stats.errors.is_empty() {
        let state = RepoState::new(&scan.state_key, tips, &findings);
        if let Err(error) = state::save(&synced.path, &state) {
            stats.warnings.push(ScanError {
                path: state::FILE_NAME.into(),
                message: format!(
                    "the scan state could not be saved (the next run scans all again): {error}"
                ),
                kind: ProblemKind::Other,
            });
        }
    }
    Ok(RepoResult {
        findings,
        stats,
        commits: output.commits.unwrap_or(0),
        unchanged: false,
    })
}

/// A finding's place, to drop one reported again (a ref to a tree or a
/// blob is read on every run).
fn identity(f: &Finding) -> String {
    format!(
        "{}\0{}\0{}\0{}\0{}\0{}",
        f.path,
        f.line,
        f.column,
        f.rule_id,
        f.commit.as_ref().map_or("", |c| c.id.as_str()),
        f.fingerprint
    )
}

/// Every ref's target in the clone, hex, sorted and distinct.
fn ref_tips(clone: &Path) -> Result<Vec<String>, String> {
    let shared = odb::open(clone).map_err(|e| e.to_string())?;
    let tips = history::ref_tips(&odb::local(&shared), &StatsCollector::default())
        .map_err(|e| e.to_string())?;
    let mut ids: Vec<String> = tips
        .commits
        .iter()
        .chain(tips.trees.iter().map(|(_, id)| id))
        .chain(tips.blobs.iter().map(|(_, id)| id))
        .map(|id| id.to_string())
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}
