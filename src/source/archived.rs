//! Archives committed to git (jar, zip, tgz, whl, …), opened in history,
//! range and staged scans as directory scans open them. Every entry is a
//! blob of the commit that introduced that version of the archive, and its
//! previous version is the entry of the same name in the archive's previous
//! version: a secret is reported at the commit whose archive first holds it,
//! not again each time the archive is rebuilt around it.

use super::{Admission, Blob, BlobSink};
use crate::bundle::archive::{self, ArchiveKind, ArchiveLimits, ArchiveScan};
use crate::filter::Filters;
use crate::finding::CommitInfo;
use crate::provenance::Provenance;
use crate::stats::StatsCollector;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// One version of an archive in git, and what its entries inherit.
pub struct CommittedArchive<'a> {
    pub data: &'a [u8],
    pub origin: &'a Provenance,
    pub kind: ArchiveKind,
    pub commit: Option<&'a CommitInfo>,
    /// How many other (commit, path) places introduced the same archive blob.
    pub also_in: usize,
    /// The archive before this change (read up front: the sink is shared
    /// between threads and a repository handle is not); expanded only if
    /// an entry has findings.
    pub previous: Option<&'a [u8]>,
}

/// How archives are opened: the same limits and filters as directory scans.
#[derive(Clone, Copy)]
pub struct ArchiveReading<'a> {
    pub limits: ArchiveLimits,
    pub admission: Admission,
    pub filters: &'a Filters,
}

/// The archive kind of a blob read from git, if archives are opened.
pub fn kind_of(
    origin: &Provenance,
    data: &[u8],
    archives: Option<ArchiveLimits>,
) -> Option<ArchiveKind> {
    archives?;
    archive::kind_of(origin.file_name(), &data[..data.len().min(512)])
}

/// Feeds the entries of `archive` to `sink`, each with the archive's commit
/// and its own previous version.
pub fn scan(
    archive: &CommittedArchive<'_>,
    reading: ArchiveReading<'_>,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) {
    let entries = EntrySink {
        archive,
        reading,
        inner: sink,
        old_entries: OnceLock::new(),
    };
    ArchiveScan {
        admission: reading.admission,
        limits: reading.limits,
        filters: reading.filters,
        sink: &entries,
        stats,
    }
    .scan(archive.data, archive.origin, archive.kind);
}

struct EntrySink<'a> {
    archive: &'a CommittedArchive<'a>,
    reading: ArchiveReading<'a>,
    inner: &'a dyn BlobSink,
    /// The entries of the previous version, by provenance: expanded once,
    /// the first time an entry with findings asks for its previous version.
    old_entries: OnceLock<HashMap<Provenance, Vec<u8>>>,
}

impl EntrySink<'_> {
    fn old_entry(&self, entry: &Provenance) -> Option<Vec<u8>> {
        let old = self.old_entries.get_or_init(|| self.expand_previous());
        old.get(entry).cloned()
    }

    /// The previous version's entries under the same provenance as this
    /// version's (a renamed archive is compared entry by entry too). Its
    /// problems were reported when it was scanned, so they are not counted
    /// again here.
    fn expand_previous(&self) -> HashMap<Provenance, Vec<u8>> {
        let Some(data) = self.archive.previous else {
            return HashMap::new();
        };
        let Some(kind) = kind_of(self.archive.origin, data, Some(self.reading.limits)) else {
            return HashMap::new();
        };
        let collected = Collect::default();
        ArchiveScan {
            admission: self.reading.admission,
            limits: self.reading.limits,
            filters: self.reading.filters,
            sink: &collected,
            stats: &StatsCollector::default(),
        }
        .scan(data, self.archive.origin, kind);
        collected
            .entries
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl BlobSink for EntrySink<'_> {
    fn blob(&self, entry: &Blob<'_>) {
        let read_old = || self.old_entry(entry.provenance);
        let previous: Option<&dyn Fn() -> Option<Vec<u8>>> =
            self.archive.previous.map(|_| &read_old as _);
        self.inner.blob(&Blob {
            data: entry.data,
            provenance: entry.provenance,
            kind: entry.kind,
            lines: None,
            commit: self.archive.commit,
            previous,
            also_in: self.archive.also_in,
        });
    }
}

/// Keeps every entry of an archive (the previous version, for comparison).
#[derive(Default)]
struct Collect {
    entries: Mutex<HashMap<Provenance, Vec<u8>>>,
}

impl BlobSink for Collect {
    fn blob(&self, blob: &Blob<'_>) {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(blob.provenance.clone(), blob.data.to_vec());
    }
}
