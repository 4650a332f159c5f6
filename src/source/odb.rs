//! Reading blobs straight from git's object database (packs and loose
//! objects) with gix. Each distinct blob is read once, then decompressed and
//! scanned in parallel; every worker thread has its own repository handle,
//! so pack caches are never shared or locked.

use super::archived::{self, ArchiveReading, CommittedArchive};
use super::introductions::{Commits, Introductions};
use super::packread;
use super::{Admission, Blob, BlobSink};
use crate::bundle::archive::ArchiveLimits;
use crate::filter::Filters;
use crate::finding::CommitInfo;
use crate::provenance::Provenance;
use crate::stats::{SkipReason, StatsCollector};
use gix::ObjectId;
use rayon::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use gix::ThreadSafeRepository as SharedRepository;

/// Bytes of decoded trees and commits each thread keeps: tree diffs of
/// neighbouring commits read the same trees again. Small on purpose: on
/// the rails history (160k commits) 4 MiB per thread took the same CPU
/// time as 32 MiB and 100 MiB less private memory (docs/benchmarks.md).
const OBJECT_CACHE_BYTES: usize = 4 << 20;

/// Bytes of delta bases each blob-reading thread keeps. Measured like the
/// object cache: 16 MiB per thread reads rails as fast as 64 MiB did.
const DELTA_BASE_CACHE_BYTES: usize = 16 << 20;

/// Bytes of bases the delta-order reader holds at once per thread (the
/// objects on the path from a family's root to the blob being built).
const PATH_BUDGET: usize = 32 << 20;

/// Blobs placed in one delta forest (tens of bytes each).
const FOREST_BLOBS: usize = 1 << 18;

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

/// One repository handle per worker thread, kept for a whole parallel
/// phase so each handle's caches stay warm from one task to the next
/// (rayon's `map_init` may build a fresh handle, with cold caches, for
/// every split of the work). A task takes its thread's handle, or any free
/// one; if all are busy (a nested task on the same thread) it makes its own.
pub struct Handles<'a, T = gix::Repository> {
    slots: Vec<Mutex<T>>,
    make: &'a (dyn Fn() -> T + Sync),
}

impl<'a, T> Handles<'a, T> {
    pub fn new(make: &'a (dyn Fn() -> T + Sync)) -> Self {
        let slots = (0..rayon::current_num_threads().max(1))
            .map(|_| Mutex::new(make()))
            .collect();
        Handles { slots, make }
    }

    pub fn with<R>(&self, work: impl FnOnce(&T) -> R) -> R {
        let count = self.slots.len();
        let start = rayon::current_thread_index().unwrap_or(0);
        for k in 0..count {
            if let Ok(handle) = self.slots[(start + k) % count].try_lock() {
                return work(&handle);
            }
        }
        work(&(self.make)())
    }
}

/// Hands memory freed by a finished phase back to the system. glibc keeps
/// freed memory for reuse, and on a large history the tree-diff phase's
/// caches and tables stayed counted as private memory through the blob
/// phase (a peak of 233 MiB on rails, 183 MiB with the memory returned;
/// docs/benchmarks.md). Other allocators return memory on their own.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's
    // own heaps; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
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
    pub fn plan<'a>(&'a self, commits: &'a Commits, filters: &'a Filters) -> ScanPlan<'a> {
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
    pub commits: &'a Commits,
    pub admission: Admission,
    pub filters: &'a Filters,
    /// Also scan blobs no walked commit introduced.
    pub all_objects: bool,
    pub archives: Option<ArchiveLimits>,
}

/// Scans each distinct introduced blob once, at its first introduction (the
/// table is in history order), in parallel. The blobs are read in delta
/// order ([`packread`]): each pack entry inflated once, each delta applied
/// once to a base in hand. What that reader leaves (loose objects, odd
/// packs) is read one object at a time, in pack order.
pub fn scan_introduced(
    shared: &SharedRepository,
    packs: &packread::Packs,
    introductions: &Introductions,
    plan: &ScanPlan<'_>,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<(), OdbError> {
    let make = || blob_reader(shared);
    let readers = Handles::new(&make);
    let firsts = introductions.firsts();
    let admitted: Vec<u32> = (0..firsts.len() as u32)
        .into_par_iter()
        .filter(|&at| {
            let path = introductions.path(&firsts[at as usize]);
            plan.admission.admit_path(path, plan.filters, stats)
        })
        .collect();
    let scan_first = |repo: &gix::Repository, at: u32, data: Option<&[u8]>| {
        let first = &firsts[admitted[at as usize] as usize];
        let path = introductions.path(first);
        let commit = introductions
            .commit(first)
            .and_then(|index| plan.commits.info(index));
        let item = Item {
            path,
            provenance: Provenance::File(path.to_owned()),
            old_blob: first.old_blob,
            new_blob: first.blob,
            commit: commit.as_ref(),
        };
        let also_in = introductions.also_in(first);
        match data {
            Some(data) => scan_data(repo, &item, data, also_in, plan, sink, stats),
            None => scan_one(repo, &item, also_in, plan, sink, stats),
        }
    };
    let limits = packread::ReadLimits {
        max_size: plan.admission.max_file_size,
        path_budget: PATH_BUDGET,
        forest_blobs: FOREST_BLOBS,
    };
    let leftovers = packread::read_in_pack_order(
        packs,
        admitted.len() as u32,
        &|at| firsts[admitted[at as usize] as usize].blob,
        limits,
        &|at, data| readers.with(|repo| scan_first(repo, at, Some(data))),
    );
    leftovers.par_iter().for_each(|&at| {
        readers.with(|repo| scan_first(repo, at, None));
    });
    if plan.all_objects {
        let unreachable = unreachable_blobs(&local(shared), introductions, stats)?;
        unreachable.par_iter().for_each(|id| {
            readers.with(|repo| {
                let provenance = Provenance::Unreachable {
                    blob: id.to_string(),
                };
                let path = provenance.to_string();
                if !plan.admission.admit_path(&path, plan.filters, stats) {
                    return;
                }
                let item = Item {
                    path: &path,
                    provenance,
                    old_blob: None,
                    new_blob: *id,
                    commit: None,
                };
                scan_one(repo, &item, 0, plan, sink, stats);
            })
        });
    }
    Ok(())
}

/// One blob to scan and where it was first introduced.
struct Item<'a> {
    path: &'a str,
    /// The same place as a type (the table keeps paths as strings).
    provenance: Provenance,
    old_blob: Option<ObjectId>,
    new_blob: ObjectId,
    commit: Option<&'a CommitInfo>,
}

fn scan_one(
    repo: &gix::Repository,
    item: &Item<'_>,
    also_in: usize,
    plan: &ScanPlan<'_>,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) {
    let limit = plan.admission.max_file_size;
    let blob = match read_blob_within(repo, item.new_blob, item.path, limit, stats) {
        BlobRead::Data(blob) => blob,
        BlobRead::TooLarge => {
            stats.skipped(SkipReason::TooLarge);
            return;
        }
        BlobRead::Failed => return,
    };
    scan_data(repo, item, &blob, also_in, plan, sink, stats);
}

/// Scans a blob's bytes, already read: as an archive, or as one blob
/// whose findings are compared with the file's previous version.
fn scan_data(
    repo: &gix::Repository,
    item: &Item<'_>,
    blob: &[u8],
    also_in: usize,
    plan: &ScanPlan<'_>,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) {
    let limit = plan.admission.max_file_size;
    let read_previous = || -> Option<Vec<u8>> {
        match read_blob_within(repo, item.old_blob?, item.path, limit, stats) {
            BlobRead::Data(previous) => Some(previous),
            BlobRead::TooLarge | BlobRead::Failed => None,
        }
    };
    if let Some(kind) = archived::kind_of(&item.provenance, blob, plan.archives) {
        let previous = read_previous();
        let archive = CommittedArchive {
            data: blob,
            origin: &item.provenance,
            kind,
            commit: item.commit,
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
    let Some(kind) = plan.admission.admit(blob, item.path, stats) else {
        return;
    };
    sink.blob(&Blob {
        data: blob,
        provenance: &item.provenance,
        kind,
        lines: None,
        commit: item.commit,
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

/// Every blob in the object database that no walked commit introduced; it
/// is scanned as a pseudo-path `unreachable/<blob id>` with no commit.
fn unreachable_blobs(
    repo: &gix::Repository,
    introduced: &Introductions,
    stats: &StatsCollector,
) -> Result<Vec<ObjectId>, OdbError> {
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
        if introduced.contains(&id) || !listed.insert(id) {
            continue;
        }
        match repo.find_header(id) {
            Ok(header) if header.kind() == gix::object::Kind::Blob => found.push(id),
            Ok(_) => {}
            Err(error) => stats.error(format!("unreachable/{id}"), describe_read_error(id, &error)),
        }
    }
    Ok(found)
}
