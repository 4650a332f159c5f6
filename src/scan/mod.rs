//! Scan orchestration: what the command line and the config resolve to
//! ([`Settings`], with a [`Mode`] saying what to scan), and [`run`], which
//! drives the matching source into one [`Collector`] and returns the sorted
//! findings and the stats. The library runs a scan without the CLI.

pub mod collector;
pub mod gate;
pub mod progress;
pub mod setup;
pub mod web;

pub use collector::{finish, Collector, FindingStream};

use crate::blob::{Admission, BlobSink};
use crate::bundle::archive::ArchiveLimits;
use crate::bundle::{BundleOptions, BundleScanner, MapLookup};
use crate::engine::Engine;
use crate::finding::Finding;
use crate::source::fs::{self, FsMaps, FsOptions};
use crate::source::history;
use crate::source::odb::ObjectScanOptions;
use crate::source::range::{self, Revisions};
use crate::source::staged::{self, StagedOptions};
use crate::stats::{ScanStats, StatsCollector};
use anyhow::{Context, Result};
use progress::with_progress;
use std::path::PathBuf;
use std::time::Instant;

/// What a scan reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The files under the root (`leakstop scan PATH`).
    Directory,
    /// The index against HEAD: only the lines a commit would add (pre-commit).
    Staged,
    /// Every blob reachable from any ref (`--git`); with `all_objects`,
    /// also blobs no walked commit introduced (`--all-objects`).
    History { all_objects: bool },
    /// The blobs the commits of a range introduce (`--range`,
    /// `--since-commit`, `--pre-push`).
    Range(Revisions),
}

impl Mode {
    /// Scans that read a repository's objects rather than files.
    pub fn is_git(&self) -> bool {
        !matches!(self, Mode::Directory)
    }
}

/// Everything a scan needs to know, resolved once from flags and config.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The directory scanned, or the top of the repository for git modes.
    pub root: PathBuf,
    pub mode: Mode,
    pub admission: Admission,
    /// Worker threads (`--threads`); `None`: one per CPU.
    pub threads: Option<usize>,
    pub respect_ignore_files: bool,
    pub follow_symlinks: bool,
    /// Look inside archives (`None`: `--no-archives`).
    pub archives: Option<ArchiveLimits>,
    pub bundle: BundleOptions,
    /// Draw a progress line on a terminal.
    pub progress: bool,
}

/// What a scan found.
#[derive(Debug)]
pub struct ScanOutput {
    /// Sorted by location.
    pub findings: Vec<Finding>,
    pub stats: ScanStats,
    /// History and range scans: how many commits were walked.
    pub commits: Option<usize>,
}

/// Runs the scan `settings` describe with `engine`.
pub fn run(settings: &Settings, engine: &Engine) -> Result<ScanOutput> {
    run_streaming(settings, engine, None)
}

/// Runs the scan, handing findings to `stream` as they are found (in the
/// order the workers find them; the returned findings are sorted).
pub fn run_streaming(
    settings: &Settings,
    engine: &Engine,
    stream: Option<&dyn FindingStream>,
) -> Result<ScanOutput> {
    let started = Instant::now();
    let stats = StatsCollector::default();
    let maps = FsMaps {
        root: settings.root.clone(),
        follow_symlinks: settings.follow_symlinks,
        max_file_size: settings.admission.max_file_size,
    };
    let map_lookup: Option<&dyn MapLookup> = match settings.mode {
        Mode::Directory => Some(&maps),
        _ => None,
    };
    let collector = Collector::new(
        BundleScanner {
            engine,
            options: settings.bundle,
            maps: map_lookup,
        },
        &stats,
    )
    .streaming_to(stream);
    let progress = settings.progress && settings.mode != Mode::Staged;
    let commits = with_progress(progress, &stats, || {
        read_source(settings, engine, &collector, &stats)
    })?;
    let (findings, stats) = finish(collector.into_findings(), stats, started);
    Ok(ScanOutput {
        findings,
        stats,
        commits,
    })
}

/// Runs the source of `settings.mode` into `sink`; the number of commits
/// walked, for git history and range scans.
fn read_source(
    settings: &Settings,
    engine: &Engine,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<Option<usize>> {
    let filters = engine.filters();
    let objects = || ObjectScanOptions {
        repo: settings.root.clone(),
        admission: settings.admission,
        all_objects: settings.mode == Mode::History { all_objects: true },
        archives: settings.archives,
    };
    match &settings.mode {
        Mode::Directory => {
            let options = FsOptions {
                root: settings.root.clone(),
                respect_ignore_files: settings.respect_ignore_files,
                follow_symlinks: settings.follow_symlinks,
                max_file_size: settings.admission.max_file_size,
                default_excludes: settings.admission.default_excludes,
                threads: settings.threads.unwrap_or(0),
                archives: settings.archives,
            };
            fs::walk(&options, filters, sink, stats);
            Ok(None)
        }
        Mode::Staged => {
            let options = StagedOptions {
                repo: settings.root.clone(),
                max_file_size: settings.admission.max_file_size,
                default_excludes: settings.admission.default_excludes,
                archives: settings.archives,
            };
            staged::scan(&options, filters, sink, stats)?;
            Ok(None)
        }
        Mode::History { .. } => {
            let options = objects();
            let commits = in_thread_pool(settings.threads, || {
                Ok(history::scan(&options, filters, sink, stats)?)
            })?;
            Ok(Some(commits))
        }
        Mode::Range(revisions) => {
            let options = objects();
            let commits = in_thread_pool(settings.threads, || {
                Ok(range::scan(&options, revisions, filters, sink, stats)?)
            })?;
            Ok(Some(commits))
        }
    }
}

/// Runs `work` on `threads` worker threads (`--threads`), or on rayon's
/// default of one per CPU.
fn in_thread_pool<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    match threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("starting worker threads")?
            .install(work),
        None => work(),
    }
}
