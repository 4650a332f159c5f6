//! Blobs: bytes plus where they came from, as every source hands them to a
//! [`BlobSink`], and the [`Admission`] policy that decides which are scanned.
//! Below both `source` and `bundle`, which produce blobs (archives expand a
//! blob into entry blobs).

use crate::filter::defaults::{is_declaration_file, is_generated, is_lockfile, is_vendored_dir};
use crate::filter::Filters;
use crate::finding::CommitInfo;
use crate::matcher::BlobKind;
use crate::provenance::Provenance;
use crate::stats::{SkipReason, StatsCollector};
use std::ops::RangeInclusive;

/// One blob and where it came from.
pub struct Blob<'a> {
    pub data: &'a [u8],
    /// Where the bytes came from; reports show it rendered as a path.
    pub provenance: &'a Provenance,
    pub kind: BlobKind,
    /// If set, only findings starting on these 1-based lines count (the
    /// lines a staged change adds).
    pub lines: Option<&'a [RangeInclusive<usize>]>,
    /// The commit that introduced the blob (history and range scans).
    pub commit: Option<&'a CommitInfo>,
    /// The file's content before that commit, read only when asked (only a
    /// blob with findings needs it): secrets already in it are not reported again.
    pub previous: Option<&'a dyn Fn() -> Option<Vec<u8>>>,
    /// How many other (commit, path) places introduced the same blob.
    pub also_in: usize,
}

/// Receives blobs from a source, from any number of threads.
pub trait BlobSink: Sync {
    fn blob(&self, blob: &Blob<'_>);
}

/// The policy every source applies to a blob it read: size limit, binary
/// sniffing, and which files run without the generic rules.
#[derive(Debug, Clone, Copy)]
pub struct Admission {
    pub max_file_size: u64,
    pub default_excludes: bool,
}

impl Admission {
    /// True if a file at `path` (display path, `/` separators) is to be
    /// read at all: not an allowlisted path, not inside a vendored
    /// dependency folder (unless default excludes are off). Counts the skip.
    /// The filesystem walk prunes vendored folders as directories instead.
    pub fn admit_path(&self, path: &str, filters: &Filters, stats: &StatsCollector) -> bool {
        if filters.path_excluded(path) {
            stats.skipped(SkipReason::AllowlistedPath);
            false
        } else if self.default_excludes && path.split('/').rev().skip(1).any(is_vendored_dir) {
            stats.skipped(SkipReason::VendoredDirectory);
            false
        } else {
            true
        }
    }

    /// Counts the blob as skipped or scanned, and returns the matcher settings
    /// for it if it is to be scanned.
    pub fn admit(&self, data: &[u8], path: &str, stats: &StatsCollector) -> Option<BlobKind> {
        if data.len() as u64 > self.max_file_size {
            stats.skipped(SkipReason::TooLarge);
            return None;
        }
        if looks_binary(data) {
            stats.skipped(SkipReason::Binary);
            return None;
        }
        stats.scanned(data.len() as u64);
        let name = path.rsplit('/').next().unwrap_or(path);
        let quiet_generic = self.default_excludes
            && (is_lockfile(name) || is_declaration_file(name) || is_generated(data));
        Some(BlobKind {
            generic_rules: !quiet_generic,
        })
    }
}

/// Bytes sniffed for a NUL to tell binary from text (as git does).
pub const SNIFF_LEN: usize = 8000;

/// True if the start of `data` contains a NUL byte.
pub fn looks_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(SNIFF_LEN)]).is_some()
}
