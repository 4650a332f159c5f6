//! The staged source, for pre-commit: exactly what `git commit` would record.
//! Blobs come from the index (never the working tree, so a partially staged
//! file is scanned as staged), and only the lines the change adds count, with
//! line numbers as in the staged file.
//!
//! The index and HEAD's tree are read in-process with gix, never by parsing
//! git's text output (which quotes unusual paths and which `.gitattributes`
//! can reduce to "Binary files differ"): directories whose index tree-cache
//! id equals HEAD's tree id are skipped whole, blob ids are compared, and only
//! changed blobs are read. Added lines come from a line diff of the two blobs'
//! bytes. No git process, thread pool or async runtime is started.

use super::archived::{self, ArchiveReading, CommittedArchive};
use super::odb::{self, BlobRead, OdbError};
use super::treediff::{self, Changes};
use super::{Admission, Blob, BlobSink};
use crate::bundle::archive::ArchiveLimits;
use crate::filter::Filters;
use crate::stats::{SkipReason, StatsCollector};
use gix::index::entry::{Flags, Mode};
use gix::index::extension::Tree as CacheTree;
use gix::objs::tree::EntryKind;
use gix::ObjectId;
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct StagedOptions {
    /// Any directory inside the repository.
    pub repo: PathBuf,
    pub max_file_size: u64,
    pub default_excludes: bool,
    /// Open archives (`None`: `--no-archives`, archives are binaries).
    pub archives: Option<ArchiveLimits>,
}

/// Renamed files are paired by content similarity only while there are at
/// most this many (addition, deletion) pairs to compare, as git limits its
/// rename detection; beyond it, by name or content id only.
const MAX_SIMILARITY_PAIRS: usize = 100;

/// Scans the index against HEAD (or against nothing before the first commit).
pub fn scan(
    options: &StagedOptions,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<(), OdbError> {
    // In a hook, git's environment (GIT_DIR, GIT_INDEX_FILE) names the
    // repository and index being committed.
    let repo = gix::ThreadSafeRepository::discover_with_environment_overrides(&options.repo)
        .map_err(|source| OdbError::Open {
            path: options.repo.display().to_string(),
            source: Box::new(source),
        })?;
    let repo = odb::local(&repo);
    let index = open_index(&repo)?;
    let head = head_tree(&repo)?;
    let mut diff = IndexDiff {
        repo: &repo,
        index: &index,
        stats,
        changes: Changes::default(),
    };
    diff.compare(head, b"", index.tree(), index.entries());
    let deleted = diff.changes.deleted.clone();
    let admission = Admission {
        max_file_size: options.max_file_size,
        default_excludes: options.default_excludes,
    };
    let mut staged = Vec::new();
    for file in diff.changes.into_introduced(None, stats) {
        if admission.admit_path(&file.provenance.display_path(), filters, stats) {
            staged.push(file);
        }
    }
    let unpaired = staged.iter().filter(|f| f.old_blob.is_none()).count();
    let pair_by_similarity = unpaired * deleted.len() <= MAX_SIMILARITY_PAIRS;
    for file in staged {
        let path = file.provenance.display_path();
        let data = match odb::read_blob_within(
            &repo,
            file.new_blob,
            &path,
            admission.max_file_size,
            stats,
        ) {
            BlobRead::Data(data) => data,
            BlobRead::TooLarge => {
                stats.skipped(SkipReason::TooLarge);
                continue;
            }
            BlobRead::Failed => continue,
        };
        let read =
            |id| match odb::read_blob_within(&repo, id, &path, admission.max_file_size, stats) {
                BlobRead::Data(data) => Some(data),
                _ => None,
            };
        if let Some(kind) = archived::kind_of(&file.provenance, &data, options.archives) {
            // Every entry of the staged archive is scanned; entries the
            // committed version already had are compared with it.
            let previous = file.old_blob.and_then(read);
            let archive = CommittedArchive {
                data: &data,
                origin: &file.provenance,
                kind,
                commit: None,
                also_in: 0,
                previous: previous.as_deref(),
            };
            let reading = ArchiveReading {
                limits: options.archives.unwrap_or_default(),
                admission,
                filters,
            };
            archived::scan(&archive, reading, sink, stats);
            continue;
        }
        let Some(kind) = admission.admit(&data, &path, stats) else {
            continue;
        };
        let old = match file.old_blob {
            Some(id) => read(id),
            None if pair_by_similarity => renamed_from(&data, &deleted, read),
            None => None,
        };
        // No previous version (or an unreadable one): every line is added.
        let added = treediff::added_lines(old.as_deref().unwrap_or_default(), &data);
        sink.blob(&Blob {
            data: &data,
            provenance: &file.provenance,
            kind,
            lines: Some(&added),
            commit: None,
            previous: None,
            also_in: 0,
        });
    }
    Ok(())
}

/// The index `git commit` records: `$GIT_INDEX_FILE` when git set it for
/// the hook (`git commit -a` and `git commit <paths>` stage into a temporary
/// index that the hook must judge), else the repository's own; none yet is
/// an empty index. The trailing checksum is not verified (as with git's
/// `index.skipHash`): hashing a 50,000-file index with collision-detecting
/// SHA-1 was a third of a hook's CPU time, the entries are still decoded
/// and checked, and a damaged blob id fails closed (a missing object is an
/// error).
fn open_index(repo: &gix::Repository) -> Result<gix::index::File, OdbError> {
    let path = match std::env::var_os("GIT_INDEX_FILE") {
        Some(path) if !path.is_empty() => {
            std::path::absolute(path).map_err(|e| OdbError::git("locating $GIT_INDEX_FILE", e))?
        }
        _ => repo.index_path(),
    };
    let skip_hash = true;
    gix::index::File::at_or_default(&path, repo.object_hash(), skip_hash, Default::default())
        .map_err(|e| OdbError::git(format!("reading the index {}", path.display()), e))
}

/// HEAD's tree; `None` before the first commit.
fn head_tree(repo: &gix::Repository) -> Result<Option<ObjectId>, OdbError> {
    let head = repo.head().map_err(|e| OdbError::git("reading HEAD", e))?;
    if head.is_unborn() {
        return Ok(None);
    }
    let tree = repo
        .head_tree_id()
        .map_err(|e| OdbError::git("reading HEAD's tree", e))?;
    Ok(Some(tree.detach()))
}

/// The deleted file most like `data` (git's rename detection: at least half
/// alike), read only for an addition no id or name paired.
fn renamed_from(
    data: &[u8],
    deleted: &[(String, ObjectId)],
    read: impl Fn(ObjectId) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    deleted
        .iter()
        .filter_map(|(_, id)| read(*id))
        .map(|old| (treediff::similarity(&old, data), old))
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, old)| old)
}

/// The index compared with HEAD's tree, one directory level at a time.
struct IndexDiff<'a> {
    repo: &'a gix::Repository,
    index: &'a gix::index::State,
    stats: &'a StatsCollector,
    changes: Changes,
}

impl IndexDiff<'_> {
    /// Compares the index `entries` under `prefix` (all of them start with
    /// it; sorted by path, as the index keeps them) with HEAD's `tree` there.
    fn compare(
        &mut self,
        tree: Option<ObjectId>,
        prefix: &[u8],
        cache: Option<&CacheTree>,
        entries: &[gix::index::Entry],
    ) {
        // A valid tree-cache entry with HEAD's id: nothing here is staged.
        if let (Some(tree), Some(cache)) = (tree, cache) {
            if cache.num_entries.is_some() && cache.id == tree {
                return;
            }
        }
        let display =
            String::from_utf8_lossy(prefix.strip_suffix(b"/").unwrap_or(prefix)).into_owned();
        let head_tree =
            tree.and_then(|id| treediff::read_tree(self.repo, id, &display, self.stats));
        let head: Vec<(Vec<u8>, EntryKind, ObjectId)> = match &head_tree {
            Some(t) => treediff::entries(&t.data, t.id, &display, self.stats)
                .map(|e| (e.filename.to_vec(), e.mode.kind(), e.oid.to_owned()))
                .collect(),
            None => Vec::new(),
        };
        let by_name: HashMap<(&[u8], bool), usize> = head
            .iter()
            .enumerate()
            .map(|(at, (name, kind, _))| ((name.as_slice(), *kind == EntryKind::Tree), at))
            .collect();
        let mut seen = vec![false; head.len()];
        let mut lookup = |name: &[u8], tree: bool| {
            let at = *by_name.get(&(name, tree))?;
            seen[at] = true;
            Some((head[at].1, head[at].2))
        };
        let path_of = |e: &gix::index::Entry| -> &[u8] { e.path(self.index) };
        let mut i = 0;
        while i < entries.len() {
            let path = path_of(&entries[i]);
            let rest = &path[prefix.len()..];
            if let Some(slash) = rest.iter().position(|&b| b == b'/') {
                let dir = &path[..prefix.len() + slash + 1];
                let end = i + entries[i..].partition_point(|e| path_of(e).starts_with(dir));
                let head_dir = lookup(&rest[..slash], true).map(|(_, id)| id);
                let group = &entries[i..end];
                if let [only] = group {
                    if only.mode == Mode::DIR {
                        // A sparse index's directory entry: compare the trees.
                        let name = String::from_utf8_lossy(&dir[..dir.len() - 1]).into_owned();
                        treediff::diff_tree(
                            self.repo,
                            head_dir,
                            only.id,
                            &name,
                            &mut self.changes,
                            self.stats,
                        );
                        i = end;
                        continue;
                    }
                }
                let child = cache.and_then(|c| {
                    c.children
                        .iter()
                        .find(|t| t.name.as_slice() == &rest[..slash])
                });
                self.compare(head_dir, dir, child, group);
                i = end;
            } else {
                let end = i + entries[i..].partition_point(|e| path_of(e) == path);
                let head_file = lookup(rest, false);
                self.file(path, &entries[i..end], head_file);
                i = end;
            }
        }
        for ((name, kind, id), seen) in head.iter().zip(seen) {
            if seen {
                continue;
            }
            let mut path = prefix.to_vec();
            path.extend_from_slice(name);
            let path = String::from_utf8_lossy(&path).into_owned();
            match kind {
                EntryKind::Tree => {
                    let mut removed = Changes::default();
                    treediff::diff_tree(self.repo, None, *id, &path, &mut removed, self.stats);
                    self.changes
                        .deleted
                        .extend(removed.changed.into_iter().map(|(p, _, id)| (p, id)));
                }
                EntryKind::Commit => {}
                _ => self.changes.deleted.push((path, *id)),
            }
        }
    }

    /// One path's index entries (several while a merge conflict is
    /// unresolved) against HEAD's entry for it.
    fn file(
        &mut self,
        path: &[u8],
        stages: &[gix::index::Entry],
        head: Option<(EntryKind, ObjectId)>,
    ) {
        let display = String::from_utf8_lossy(path).into_owned();
        let Some(entry) = stages.first() else {
            return;
        };
        if stages.iter().any(|e| e.stage_raw() != 0) {
            self.stats
                .warning(display, "unmerged (conflict not resolved); not scanned");
            return;
        }
        // `git add -N`: nothing is staged yet.
        if entry.flags.contains(Flags::INTENT_TO_ADD) {
            return;
        }
        if head.is_some_and(|(_, id)| id == entry.id) {
            return;
        }
        if entry.mode == Mode::COMMIT {
            self.changes.gitlinks.push(display);
            return;
        }
        let old = head
            .filter(|(kind, _)| *kind != EntryKind::Commit)
            .map(|(_, id)| id);
        self.changes.changed.push((display, old, entry.id));
    }
}
