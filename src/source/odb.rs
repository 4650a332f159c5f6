//! Reading blobs straight from git's object database (packs and loose
//! objects) with gix. Each distinct blob is read once, then decompressed and
//! scanned in parallel; every worker thread has its own repository handle,
//! so pack caches are never shared or locked.

use super::archived::{self, ArchiveReading, CommittedArchive};
use super::{Admission, Blob, BlobSink};
use crate::bundle::archive::ArchiveLimits;
use crate::filter::Filters;
use crate::finding::CommitInfo;
use crate::provenance::Provenance;
use crate::stats::{SkipReason, StatsCollector};
use gix::ObjectId;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub use gix::ThreadSafeRepository as SharedRepository;

/// Bytes of decoded trees and commits each thread keeps: tree diffs of
/// neighbouring commits read the same trees again and again.
const OBJECT_CACHE_BYTES: usize = 32 << 20;

/// Bytes of delta bases each blob-reading thread keeps.
const DELTA_BASE_CACHE_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum OdbError {
    #[error("opening the git repository at {path}: {source}")]
    Open {
        path: String,
        source: Box<gix::discover::Error>,
    },
    #[error("{context}: {source}")]
    Git {
        context: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl OdbError {
    pub fn git(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> OdbError {
        OdbError::Git {
            context: context.into(),
            source: Box::new(source),
        }
    }
}

/// Opens the repository at or above `path` (work tree, linked worktree or bare).
pub fn open(path: &Path) -> Result<SharedRepository, OdbError> {
    let repo = gix::discover(path).map_err(|source| OdbError::Open {
        path: path.display().to_string(),
        source: Box::new(source),
    })?;
    Ok(repo.into_sync())
}

/// A repository handle for the current thread, with an object cache.
pub fn local(shared: &SharedRepository) -> gix::Repository {
    let mut repo = shared.to_thread_local();
    repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
    repo
}

/// A repository handle for reading blobs: no object cache (each blob is
/// read once, caching it would only copy it), and a delta-base cache sized
/// for long delta chains.
fn blob_reader(shared: &SharedRepository) -> gix::Repository {
    let mut repo = shared.to_thread_local();
    repo.object_cache_size(0);
    repo.objects.set_pack_cache(|| {
        Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
            DELTA_BASE_CACHE_BYTES,
        ))
    });
    repo
}

/// One blob a commit introduced at a path.
#[derive(Debug, Clone)]
pub struct Introduced {
    /// Index into the scanned commits; `None` for a blob no commit
    /// introduced (unreachable, or only reachable from a tag on a tree).
    pub commit: Option<usize>,
    pub provenance: Provenance,
    /// The file's blob before that commit, if it had one.
    pub old_blob: Option<ObjectId>,
    pub new_blob: ObjectId,
}

/// What history and range scans share: the repository, which blobs are
/// admitted, and whether blobs no walked commit introduced are scanned too.
#[derive(Debug, Clone)]
pub struct ObjectScanOptions {
    pub repo: PathBuf,
    pub admission: Admission,
    /// Also scan blobs no walked commit introduced (dangling objects, dropped stashes).
    pub all_objects: bool,
    /// Open archives (`None`: `--no-archives`, archives are binaries).
    pub archives: Option<ArchiveLimits>,
}

impl ObjectScanOptions {
    pub fn plan<'a>(&'a self, commits: &'a [CommitInfo], filters: &'a Filters) -> ScanPlan<'a> {
        ScanPlan {
            commits,
            admission: self.admission,
            filters,
            all_objects: self.all_objects,
            archives: self.archives,
        }
    }
}

/// Warned by history and range scans of a shallow clone.
pub const SHALLOW_WARNING: &str =
    "shallow clone: commits before the shallow boundary are not in this repository and were not scanned";

/// What the scan of introduced blobs needs besides the blobs.
pub struct ScanPlan<'a> {
    pub commits: &'a [CommitInfo],
    pub admission: Admission,
    pub filters: &'a Filters,
    /// Also scan blobs no walked commit introduced.
    pub all_objects: bool,
    pub archives: Option<ArchiveLimits>,
}

/// Scans each distinct introduced blob once, at its first introduction (the
/// list is in commit order), in parallel.
pub fn scan_introduced(
    shared: &SharedRepository,
    introduced: Vec<Introduced>,
    plan: &ScanPlan<'_>,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<(), OdbError> {
    let mut places: HashMap<ObjectId, usize> = HashMap::new();
    for item in &introduced {
        *places.entry(item.new_blob).or_default() += 1;
    }
    let mut seen = HashSet::with_capacity(places.len());
    let mut todo = Vec::with_capacity(places.len());
    for item in introduced {
        if !seen.insert(item.new_blob) {
            continue;
        }
        if plan
            .admission
            .admit_path(&item.provenance.display_path(), plan.filters, stats)
        {
            todo.push(item);
        }
    }
    if plan.all_objects {
        todo.extend(unreachable_blobs(&local(shared), &seen, stats)?);
    }
    todo.par_iter().for_each_init(
        || blob_reader(shared),
        |repo, item| {
            let also_in = places
                .get(&item.new_blob)
                .map_or(0, |n| n.saturating_sub(1));
            scan_one(repo, item, also_in, plan, sink, stats);
        },
    );
    Ok(())
}

fn scan_one(
    repo: &gix::Repository,
    item: &Introduced,
    also_in: usize,
    plan: &ScanPlan<'_>,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) {
    let limit = plan.admission.max_file_size;
    let path = item.provenance.display_path();
    let blob = match read_blob_within(repo, item.new_blob, &path, limit, stats) {
        BlobRead::Data(blob) => blob,
        BlobRead::TooLarge => {
            stats.skipped(SkipReason::TooLarge);
            return;
        }
        BlobRead::Failed => return,
    };
    let read_previous = || -> Option<Vec<u8>> {
        match read_blob_within(repo, item.old_blob?, &path, limit, stats) {
            BlobRead::Data(previous) => Some(previous),
            BlobRead::TooLarge | BlobRead::Failed => None,
        }
    };
    let commit = item.commit.map(|index| &plan.commits[index]);
    if let Some(kind) = archived::kind_of(&item.provenance, &blob, plan.archives) {
        let previous = read_previous();
        let archive = CommittedArchive {
            data: &blob,
            origin: &item.provenance,
            kind,
            commit,
            also_in,
            previous: previous.as_deref(),
        };
        let reading = ArchiveReading {
            limits: plan.archives.unwrap_or_default(),
            admission: plan.admission,
            filters: plan.filters,
        };
        archived::scan(&archive, reading, sink, stats);
        return;
    }
    let Some(kind) = plan.admission.admit(&blob, &path, stats) else {
        return;
    };
    sink.blob(&Blob {
        data: &blob,
        provenance: &item.provenance,
        kind,
        lines: None,
        commit,
        previous: Some(&read_previous),
        also_in,
    });
}

/// What reading a blob under a size limit gave.
pub enum BlobRead {
    Data(Vec<u8>),
    /// Over the limit: the object's header said so, nothing was inflated.
    TooLarge,
    /// Missing, corrupt or not a blob; already counted as an error.
    Failed,
}

/// Reads a blob unless its header says it is over `max_size` bytes, so an
/// oversized blob is never inflated (a 4 GB blob costs a header read).
pub fn read_blob_within(
    repo: &gix::Repository,
    id: ObjectId,
    path: &str,
    max_size: u64,
    stats: &StatsCollector,
) -> BlobRead {
    match repo.find_header(id) {
        Ok(header) if header.kind() != gix::object::Kind::Blob => {
            stats.error(
                path,
                format!("object {id} is a {}, not a blob", header.kind()),
            );
            BlobRead::Failed
        }
        Ok(header) if header.size() > max_size => BlobRead::TooLarge,
        Ok(_) => read_blob(repo, id, path, stats).map_or(BlobRead::Failed, BlobRead::Data),
        Err(error) => {
            stats.error(path, describe_read_error(id, &error));
            BlobRead::Failed
        }
    }
}

/// A blob that cannot be read is an input the scan should have covered: an
/// error naming the object (the scan becomes incomplete), and the rest goes on.
fn read_blob(
    repo: &gix::Repository,
    id: ObjectId,
    path: &str,
    stats: &StatsCollector,
) -> Option<Vec<u8>> {
    match repo.find_object(id) {
        Ok(object) if object.kind == gix::object::Kind::Blob => Some(object.detach().data),
        Ok(object) => {
            stats.error(
                path,
                format!("object {id} is a {}, not a blob", object.kind),
            );
            None
        }
        Err(error) => {
            stats.error(path, describe_read_error(id, &error));
            None
        }
    }
}

pub fn describe_read_error(id: ObjectId, error: &dyn std::error::Error) -> String {
    let mut message = format!("object {id} could not be read: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

/// Every blob in the object database that no walked commit introduced, as a
/// pseudo-path `unreachable/<blob id>` with no commit.
fn unreachable_blobs(
    repo: &gix::Repository,
    seen: &HashSet<ObjectId>,
    stats: &StatsCollector,
) -> Result<Vec<Introduced>, OdbError> {
    let all = repo
        .objects
        .iter()
        .map_err(|e| OdbError::git("listing the object database", e))?;
    let mut listed = HashSet::new();
    let mut found = Vec::new();
    for id in all {
        let id = match id {
            Ok(id) => id,
            Err(error) => {
                stats.error(
                    repo.path().display().to_string(),
                    format!("listing objects failed part-way: {error}"),
                );
                continue;
            }
        };
        if seen.contains(&id) || !listed.insert(id) {
            continue;
        }
        match repo.find_header(id) {
            Ok(header) if header.kind() == gix::object::Kind::Blob => found.push(Introduced {
                commit: None,
                provenance: Provenance::Unreachable {
                    blob: id.to_string(),
                },
                old_blob: None,
                new_blob: id,
            }),
            Ok(_) => {}
            Err(error) => stats.error(
                Provenance::Unreachable {
                    blob: id.to_string(),
                }
                .to_string(),
                describe_read_error(id, &error),
            ),
        }
    }
    Ok(found)
}
