//! What a scan covered, skipped and failed on. Every run reports these, so a
//! scan that read nothing can never pass for a clean one.

use crate::filter::Suppression;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Why an input was deliberately not scanned (policy, not failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    Binary,
    TooLarge,
    Symlink,
    VendoredDirectory,
    AllowlistedPath,
    /// URL scans: a script or map on an origin not allowed.
    CrossOrigin,
    /// URL scans: robots.txt disallows the path.
    RobotsTxt,
    /// A FIFO, socket or device met while walking a directory (one named
    /// on the command line is read as a stream instead).
    SpecialFile,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "over the size limit",
            SkipReason::Symlink => "symlinks not followed",
            SkipReason::VendoredDirectory => "vendored dependency folders",
            SkipReason::AllowlistedPath => "allowlisted paths",
            SkipReason::CrossOrigin => "cross-origin resources not fetched",
            SkipReason::RobotsTxt => "disallowed by robots.txt",
            SkipReason::SpecialFile => "FIFOs, sockets and devices",
        }
    }
}

/// What sort of problem a warning or error is, so a CI job can tell an
/// unreadable file from a refused archive entry without parsing messages
/// (`kind` in docs/output.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A file, object or resource could not be opened or read.
    Unreadable,
    /// Content that could not be parsed or decompressed.
    Corrupt,
    /// An archive entry refused: a bomb ratio, nesting, size, the expansion
    /// budget, a name escaping the archive.
    ArchiveRefused,
    /// Decoding stopped at a limit (per-file budget, an over-long base64 run).
    DecodeLimit,
    /// `scan url`: a response or the crawl over a request, byte or time limit.
    FetchLimit,
    /// `scan url`: a page or script that could not be fetched.
    FetchFailed,
    /// A source map that could not be found, read or fetched.
    SourceMapMissing,
    /// A source map that was read but could not be used.
    SourceMapInvalid,
    /// A FIFO, socket or device where a regular file was expected.
    NotRegular,
    /// An ignore file (`.gitignore`, `.ignore`) that was refused or has a bad rule.
    IgnoreFile,
    /// Anything else (shallow repositories, unmerged paths, …).
    Other,
}

/// A problem with one input. In `errors`: it should have been scanned but
/// was not, which makes the scan incomplete; in `warnings`: it cost no coverage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScanError {
    pub path: String,
    pub message: String,
    pub kind: ProblemKind,
}

/// Counters shared by all worker threads.
#[derive(Debug, Default)]
pub struct StatsCollector {
    files: AtomicU64,
    bytes: AtomicU64,
    skipped: Mutex<BTreeMap<SkipReason, u64>>,
    suppressed: Mutex<BTreeMap<Suppression, u64>>,
    errors: Mutex<Vec<ScanError>>,
    warnings: Mutex<Vec<ScanError>>,
}

impl StatsCollector {
    pub fn scanned(&self, bytes: u64) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn skipped(&self, reason: SkipReason) {
        *lock(&self.skipped).entry(reason).or_default() += 1;
    }

    pub fn suppressed(&self, reason: Suppression) {
        *lock(&self.suppressed).entry(reason).or_default() += 1;
    }

    /// An input that could not be read (kind `unreadable`).
    pub fn error(&self, path: impl Into<String>, message: impl Into<String>) {
        self.error_as(ProblemKind::Unreadable, path, message);
    }

    /// An input that was not (fully) scanned, for the reason `kind`.
    pub fn error_as(&self, kind: ProblemKind, path: impl Into<String>, message: impl Into<String>) {
        lock(&self.errors).push(ScanError {
            path: path.into(),
            message: message.into(),
            kind,
        });
    }

    /// A problem that did not cost coverage (kind `other`).
    pub fn warning(&self, path: impl Into<String>, message: impl Into<String>) {
        self.warning_as(ProblemKind::Other, path, message);
    }

    /// A problem of `kind` that did not cost coverage (e.g. a bad .gitignore line).
    pub fn warning_as(
        &self,
        kind: ProblemKind,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        lock(&self.warnings).push(ScanError {
            path: path.into(),
            message: message.into(),
            kind,
        });
    }

    /// Files and bytes so far, for the progress indicator.
    pub fn progress(&self) -> (u64, u64) {
        (
            self.files.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    pub fn finish(self, findings: usize, elapsed: std::time::Duration) -> ScanStats {
        let mut errors = self.errors.into_inner().unwrap_or_else(|e| e.into_inner());
        errors.sort();
        let mut warnings = self
            .warnings
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        warnings.sort();
        ScanStats {
            warnings,
            files_scanned: self.files.into_inner(),
            bytes_scanned: self.bytes.into_inner(),
            skipped: self.skipped.into_inner().unwrap_or_else(|e| e.into_inner()),
            suppressed: self
                .suppressed
                .into_inner()
                .unwrap_or_else(|e| e.into_inner()),
            errors,
            findings: findings as u64,
            elapsed_ms: elapsed.as_millis() as u64,
            verification: None,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The final account of a scan, part of every report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanStats {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub skipped: BTreeMap<SkipReason, u64>,
    pub suppressed: BTreeMap<Suppression, u64>,
    pub errors: Vec<ScanError>,
    pub warnings: Vec<ScanError>,
    pub findings: u64,
    pub elapsed_ms: u64,
    /// `scan --verify` only: what verification did (docs/output.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationStats>,
}

/// Verification counts: distinct credentials, how many checks went to a
/// provider or came from the cache, and findings' statuses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VerificationStats {
    pub distinct_credentials: usize,
    pub checked: usize,
    pub cached: usize,
    /// Distinct credentials per status (`live`, `invalid`, ...).
    pub by_status: BTreeMap<String, usize>,
}

impl ScanStats {
    /// True if some input could not be read or parsed.
    pub fn incomplete(&self) -> bool {
        !self.errors.is_empty()
    }
}
