//! The sink every source feeds: runs the bundle scanner over each blob,
//! keeps only the lines a change adds, drops secrets the previous version of
//! the file already had, and attributes findings to the introducing commit.

use crate::blob::{Blob, BlobSink};
use crate::bundle::BundleScanner;
use crate::finding::Finding;
use crate::stats::{ProblemKind, ScanStats, StatsCollector};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Instant;

/// Receives each blob's findings as soon as they are final, from any
/// worker thread: a JSONL report streams them, so a run that is killed
/// part-way leaves everything it found.
pub trait FindingStream: Sync {
    fn found(&self, findings: &[Finding]);
}

/// Feeds blobs to the engine (through the bundle layers) and keeps the findings.
pub struct Collector<'a> {
    pub scanner: BundleScanner<'a>,
    pub stats: &'a StatsCollector,
    pub findings: Mutex<Vec<Finding>>,
    stream: Option<&'a dyn FindingStream>,
}

impl<'a> Collector<'a> {
    pub fn new(scanner: BundleScanner<'a>, stats: &'a StatsCollector) -> Self {
        Collector {
            scanner,
            stats,
            findings: Mutex::default(),
            stream: None,
        }
    }

    /// Also hands each blob's findings to `stream` as they are found.
    pub fn streaming_to(mut self, stream: Option<&'a dyn FindingStream>) -> Self {
        self.stream = stream;
        self
    }

    /// The findings so far, in the order they were found.
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl BlobSink for Collector<'_> {
    fn blob(&self, blob: &Blob<'_>) {
        // A bug in a decoder or rule must not end the whole run without a
        // report: the blob is recorded as not scanned (the run is
        // incomplete) and the rest goes on.
        let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.collect(blob)));
        if scanned.is_err() {
            self.stats.error_as(
                ProblemKind::Other,
                &*blob.provenance.display_path(),
                "internal error while scanning this blob (a leakstop bug; please report it); the rest of the scan went on",
            );
        }
    }
}

impl Collector<'_> {
    fn collect(&self, blob: &Blob<'_>) {
        let mut found = self
            .scanner
            .scan(blob.data, blob.provenance, blob.kind, self.stats);
        if let Some(lines) = blob.lines {
            found.retain(|f| lines.iter().any(|range| range.contains(&f.line)));
        }
        // Read the previous version only when there is something to compare.
        let previous = match blob.previous {
            Some(read) if !found.is_empty() => read(),
            _ => None,
        };
        if let Some(previous) = previous {
            // Secrets the file already had before this commit are not new.
            let before: HashSet<String> = self
                .scanner
                .scan(
                    &previous,
                    blob.provenance,
                    blob.kind,
                    &StatsCollector::default(),
                )
                .into_iter()
                .map(|f| f.fingerprint)
                .collect();
            found.retain(|f| !before.contains(&f.fingerprint));
        }
        if let Some(commit) = blob.commit {
            for finding in &mut found {
                finding.commit = Some(commit.clone());
                finding.other_occurrences = Some(blob.also_in);
            }
        }
        if !found.is_empty() {
            if let Some(stream) = self.stream {
                stream.found(&found);
            }
            self.findings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(found);
        }
    }
}

/// Sorts the findings by location and closes the stats.
pub fn finish(
    mut findings: Vec<Finding>,
    stats: StatsCollector,
    started: Instant,
) -> (Vec<Finding>, ScanStats) {
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
    });
    let count = findings.len();
    (findings, stats.finish(count, started.elapsed()))
}
