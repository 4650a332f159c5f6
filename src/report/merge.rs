//! Combining reports: the shards of an org scan (`scan github --shard K/N`)
//! merged by `leakstop report merge` into the report one unsharded run
//! would have written, and the per-repository results of an org scan
//! folded into its one report. Both sort findings and sum stats here, so
//! they agree by construction.

use super::REPORT_VERSION;
use crate::finding::Finding;
use crate::stats::{ScanError, ScanStats, StatsCollector};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a leakstop JSON report: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path} is a version {found} report; this leakstop reads version {REPORT_VERSION}")]
    Version { path: String, found: u32 },
}

/// A `--format json` report as read back (docs/output.md).
#[derive(Debug, Deserialize)]
pub struct ReportDocument {
    pub version: u32,
    pub findings: Vec<Finding>,
    pub stats: ScanStats,
}

/// Reads the JSON report at `path`, refusing other versions.
pub fn read(path: &Path) -> Result<ReportDocument, MergeError> {
    let name = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| MergeError::Read {
        path: name.clone(),
        source,
    })?;
    let document: ReportDocument =
        serde_json::from_slice(&text).map_err(|source| MergeError::Parse {
            path: name.clone(),
            source,
        })?;
    if document.version != REPORT_VERSION {
        return Err(MergeError::Version {
            path: name,
            found: document.version,
        });
    }
    Ok(document)
}

/// Stats with nothing counted yet.
pub fn empty_stats() -> ScanStats {
    StatsCollector::default().finish(0, Duration::ZERO)
}

/// One report from several: findings concatenated and sorted, stats summed.
pub fn merge(documents: Vec<ReportDocument>) -> (Vec<Finding>, ScanStats) {
    let mut findings = Vec::new();
    let mut stats = empty_stats();
    for document in documents {
        findings.extend(document.findings);
        add_stats(&mut stats, document.stats, None);
    }
    sort_findings(&mut findings);
    stats.findings = findings.len() as u64;
    (findings, stats)
}

/// The order of combined reports: by repository, then location, then
/// rule, commit and fingerprint, so that equal inputs give equal reports
/// whatever order they were found or merged in.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                f.repository.clone(),
                f.path.clone(),
                f.line,
                f.column,
                f.rule_id.clone(),
                f.commit.as_ref().map(|c| c.id.clone()),
                f.fingerprint.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
}

/// Adds `part` to `total`: counters summed, errors and warnings kept (with
/// `prefix`, e.g. the repository, in front of their paths) and sorted.
/// `findings` is left to the caller, who knows the combined list.
/// Verification counts are summed too, so `distinct_credentials` may count
/// a credential once per part.
pub fn add_stats(total: &mut ScanStats, part: ScanStats, prefix: Option<&str>) {
    total.files_scanned += part.files_scanned;
    total.bytes_scanned += part.bytes_scanned;
    total.elapsed_ms += part.elapsed_ms;
    for (reason, n) in part.skipped {
        *total.skipped.entry(reason).or_default() += n;
    }
    for (reason, n) in part.suppressed {
        *total.suppressed.entry(reason).or_default() += n;
    }
    let named = |e: ScanError| match prefix {
        Some(prefix) => ScanError {
            path: format!("{prefix}: {}", e.path),
            ..e
        },
        None => e,
    };
    total.errors.extend(part.errors.into_iter().map(named));
    total.errors.sort();
    total.warnings.extend(part.warnings.into_iter().map(named));
    total.warnings.sort();
    if let Some(part) = part.verification {
        let sum = total.verification.get_or_insert_with(Default::default);
        sum.distinct_credentials += part.distinct_credentials;
        sum.checked += part.checked;
        sum.cached += part.cached;
        for (status, n) in part.by_status {
            *sum.by_status.entry(status).or_default() += n;
        }
    }
}
