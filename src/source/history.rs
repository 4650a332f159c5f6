//! The full-history source (`scan --git`): every blob reachable from any ref
//! (branches, tags, remote-tracking refs, the stash, a detached HEAD), read
//! in-process with gix. Commits are ordered parents first; each commit's tree
//! is compared with its first parent's in parallel, and each distinct blob is
//! attributed to the first commit and path that introduced it.

use super::introductions::{Commits, Introductions};
use super::odb::{self, Introduced, ObjectScanOptions, OdbError, SharedRepository};
use super::packread;
use super::treediff::{diff_tree, Changes, TreeBytes, TreeSource};
use super::BlobSink;
use crate::filter::Filters;
use crate::provenance::Provenance;
use crate::stats::StatsCollector;
use gix::ObjectId;
use rayon::prelude::*;
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Scans the history of every ref. Returns the number of commits walked.
pub fn scan(
    options: &ObjectScanOptions,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<usize, OdbError> {
    let shared = odb::open(&options.repo)?;
    let tips = ref_tips(&odb::local(&shared), stats)?;
    scan_selected(&shared, options, &tips, filters, sink, stats)
}

/// Scans what the commits reachable from `tips.commits`, and not from
/// `tips.hidden`, introduced (and the trees and blobs refs point at).
/// Range and pre-push scans are this with hidden bases, so they and the
/// history scan agree on what a commit introduced by construction.
/// Returns the number of commits walked.
///
/// Commits are read and diffed in chunks of [`CHUNK`], in parallel within
/// a chunk, and each chunk's introductions are folded at once into the
/// compact [`Introductions`] table (first place of each distinct blob, and
/// a count), so no list of every (commit, path) introduction is ever held.
pub fn scan_selected(
    shared: &SharedRepository,
    options: &ObjectScanOptions,
    tips: &Tips,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<usize, OdbError> {
    // Each phase's repository handle (and its caches) is dropped before
    // the next phase starts, so their caches never add up.
    let graph = {
        let repo = odb::local(shared);
        if repo.is_shallow() {
            stats.warning(options.repo.display().to_string(), odb::SHALLOW_WARNING);
        }
        walk(&repo, &tips.commits, &tips.hidden, stats)
    };
    // Mapped once for the tree diffs and the blob reads.
    let packs = packread::Packs::of(&odb::local(shared));
    let (mut introductions, commits) = introductions(shared, &packs, &graph, stats);
    drop(graph);
    odb::return_freed_memory();
    {
        let repo = odb::local(shared);
        for (name, tree) in &tips.trees {
            let mut changes = Changes::default();
            diff_tree(&repo, None, *tree, &format!("{name}:"), &mut changes, stats);
            for item in changes.into_introduced(None, stats) {
                introductions.add(item);
            }
        }
    }
    for (name, blob) in &tips.blobs {
        introductions.add(Introduced {
            commit: None,
            provenance: Provenance::TaggedBlob { tag: name.clone() },
            old_blob: None,
            new_blob: *blob,
        });
    }
    odb::scan_introduced(
        shared,
        &packs,
        &introductions,
        &options.plan(&commits, filters),
        sink,
        stats,
    )?;
    Ok(commits.len())
}

/// Commits read and diffed together: enough to keep every thread busy,
/// few enough that one chunk's introductions stay small.
const CHUNK: usize = 1024;

/// Reads and diffs the walked commits chunk by chunk, folding what each
/// introduced into the table in history order.
fn introductions(
    shared: &SharedRepository,
    packs: &packread::Packs,
    graph: &[Walked],
    stats: &StatsCollector,
) -> (Introductions, Commits) {
    let make = || ChainedTrees {
        repo: odb::local(shared),
        chains: RefCell::new(packread::ChainReader::new(
            packs,
            TREE_CHAIN_BYTES,
            MAX_TREE_SIZE,
        )),
    };
    let handles = odb::Handles::new(&make);
    let mut introductions = Introductions::default();
    let mut commits = Commits::default();
    let mut trees: Vec<Option<ObjectId>> = Vec::with_capacity(graph.len());
    for (chunk_index, chunk) in graph.chunks(CHUNK).enumerate() {
        let read: Vec<ReadCommit> = chunk
            .par_iter()
            .map(|commit| handles.with(|reader| read_commit(&reader.repo, commit.id, stats)))
            .collect();
        for commit in read {
            trees.push(commit.tree);
            commits.push(commit.id, commit.author.as_deref(), commit.date);
        }
        let first = chunk_index * CHUNK;
        let per_commit: Vec<Vec<Introduced>> = chunk
            .par_iter()
            .enumerate()
            .map(|(offset, commit)| {
                let index = first + offset;
                let Some(tree) = trees[index] else {
                    return Vec::new();
                };
                handles.with(|reader| {
                    // A parent outside the walk is a range's base (hidden):
                    // its tree is read here; a parent missing from a shallow
                    // clone has none.
                    let parent_tree = match commit.first_parent {
                        Parent::None => None,
                        Parent::Walked(p) => trees[p as usize],
                        Parent::Outside(p) => reader
                            .repo
                            .find_commit(p)
                            .ok()
                            .and_then(|c| c.tree_id().ok())
                            .map(|id| id.detach()),
                    };
                    let mut changes = Changes::default();
                    diff_tree(reader, parent_tree, tree, "", &mut changes, stats);
                    changes.into_introduced(Some(index), stats)
                })
            })
            .collect();
        for item in per_commit.into_iter().flatten() {
            introductions.add(item);
        }
    }
    (introductions, commits)
}

/// Bytes of trees each diffing thread keeps from the delta chains it
/// builds (the versions of a tree are read oldest, deepest delta, first).
const TREE_CHAIN_BYTES: usize = 16 << 20;

/// Trees larger than this are read the ordinary way.
const MAX_TREE_SIZE: u64 = 64 << 20;

/// A diffing thread's trees: packed ones through a chain reader, the rest
/// (loose, odd or corrupt) from the repository, which reports errors.
struct ChainedTrees<'a> {
    repo: gix::Repository,
    chains: RefCell<packread::ChainReader<'a>>,
}

impl TreeSource for ChainedTrees<'_> {
    fn tree(&self, id: ObjectId, path: &str, stats: &StatsCollector) -> Option<TreeBytes<'_>> {
        let built = self.chains.borrow_mut().read(&id, gix::object::Kind::Tree);
        match built {
            Some(data) => Some(TreeBytes::Built(data)),
            None => self.repo.tree(id, path, stats),
        }
    }
}

/// What a scan starts from: refs peeled through annotated tags.
#[derive(Debug, Default)]
pub struct Tips {
    pub commits: Vec<ObjectId>,
    /// Commits whose history is left out (the bases of a range).
    pub hidden: Vec<ObjectId>,
    /// Refs (usually tags) that point straight at a tree or a blob.
    pub trees: Vec<(String, ObjectId)>,
    pub blobs: Vec<(String, ObjectId)>,
}

/// Every ref's target (and HEAD), peeled; what `scan --git` starts from.
pub fn ref_tips(repo: &gix::Repository, stats: &StatsCollector) -> Result<Tips, OdbError> {
    let platform = repo
        .references()
        .map_err(|e| OdbError::git("reading the repository's refs", e))?;
    let all = platform
        .all()
        .map_err(|e| OdbError::git("reading the repository's refs", e))?;
    let mut tips = Tips::default();
    let mut add = |name: String, id: ObjectId| match repo.find_header(id) {
        Ok(header) => match header.kind() {
            gix::object::Kind::Commit => tips.commits.push(id),
            gix::object::Kind::Tree => tips.trees.push((name, id)),
            gix::object::Kind::Blob => tips.blobs.push((name, id)),
            gix::object::Kind::Tag => {}
        },
        Err(error) => stats.error(name, odb::describe_read_error(id, &error)),
    };
    for reference in all {
        let mut reference = match reference {
            Ok(reference) => reference,
            Err(error) => {
                stats.error("refs", format!("a ref could not be read: {error}"));
                continue;
            }
        };
        let name = reference.name().as_bstr().to_string();
        match reference.peel_to_id_in_place() {
            Ok(id) => add(name, id.detach()),
            Err(error) => stats.error(name, format!("the ref could not be resolved: {error}")),
        }
    }
    if let Ok(head) = repo.head_id() {
        add("HEAD".to_string(), head.detach());
    }
    tips.commits.sort();
    tips.commits.dedup();
    Ok(tips)
}

/// A commit as the walk finds it: its id and the parents that are in the
/// repository. Only the walk holds these.
struct Found {
    id: ObjectId,
    parents: Vec<ObjectId>,
}

/// A walked commit in history order: its id and its first parent, the
/// only one its tree is compared with (the commit graph kept compact:
/// 4 bytes per walked parent instead of a list of ids).
struct Walked {
    id: ObjectId,
    first_parent: Parent,
}

enum Parent {
    None,
    /// Index of an earlier walked commit.
    Walked(u32),
    /// A commit outside the walk (a range's hidden base, or missing).
    Outside(ObjectId),
}

/// Every commit reachable from `tips` and not from `hidden`, parents before children and otherwise
/// oldest first, so "first introduced" means what a reader of the history
/// would call first. A commit that cannot be read ends that line of the walk
/// with an error; the rest goes on.
fn walk(
    repo: &gix::Repository,
    tips: &[ObjectId],
    hidden: &[ObjectId],
    stats: &StatsCollector,
) -> Vec<Walked> {
    let mut found: Vec<(Found, i64)> = Vec::new();
    let by_time = gix::revision::walk::Sorting::ByCommitTime(Default::default());
    let walk = repo
        .rev_walk(tips.iter().copied())
        .with_hidden(hidden.iter().copied())
        .sorting(by_time)
        .all();
    let walk = match walk {
        Ok(walk) => walk,
        Err(error) => {
            stats.error(
                repo.path().display().to_string(),
                format!("the history could not be walked: {error}"),
            );
            return Vec::new();
        }
    };
    for info in walk {
        match info {
            Ok(info) => found.push((
                Found {
                    id: info.id,
                    parents: info.parent_ids.iter().copied().collect(),
                },
                info.commit_time.unwrap_or_default(),
            )),
            Err(error) => stats.error(
                repo.path().display().to_string(),
                format!("the history walk stopped early: {error}"),
            ),
        }
    }
    parents_first(found)
}

/// Kahn's algorithm with the oldest ready commit first.
fn parents_first(commits: Vec<(Found, i64)>) -> Vec<Walked> {
    let index: HashMap<ObjectId, usize> = commits
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (c.id, i))
        .collect();
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); commits.len()];
    let mut waiting_on: Vec<u32> = vec![0; commits.len()];
    for (child, (commit, _)) in commits.iter().enumerate() {
        let mut parents: Vec<usize> = commit
            .parents
            .iter()
            .filter_map(|p| index.get(p).copied())
            .collect();
        parents.sort_unstable();
        parents.dedup();
        waiting_on[child] = parents.len() as u32;
        for parent in parents {
            children[parent].push(child as u32);
        }
    }
    let mut ready: BinaryHeap<Reverse<(i64, usize)>> = waiting_on
        .iter()
        .enumerate()
        .filter(|(_, n)| **n == 0)
        .map(|(i, _)| Reverse((commits[i].1, i)))
        .collect();
    let mut order = Vec::with_capacity(commits.len());
    while let Some(Reverse((_, next))) = ready.pop() {
        order.push(next);
        for &child in &children[next] {
            let child = child as usize;
            waiting_on[child] -= 1;
            if waiting_on[child] == 0 {
                ready.push(Reverse((commits[child].1, child)));
            }
        }
    }
    drop(children);
    // Where each commit ended up, to name first parents by position.
    let mut position = vec![u32::MAX; commits.len()];
    for (at, &i) in order.iter().enumerate() {
        position[i] = at as u32;
    }
    let mut slots: Vec<Option<Found>> = commits.into_iter().map(|(c, _)| Some(c)).collect();
    order
        .into_iter()
        .filter_map(|i| slots[i].take())
        .map(|found| {
            let first_parent = match found.parents.first() {
                None => Parent::None,
                Some(p) => match index.get(p).map(|&i| position[i]) {
                    Some(at) if at != u32::MAX => Parent::Walked(at),
                    _ => Parent::Outside(*p),
                },
            };
            Walked {
                id: found.id,
                first_parent,
            }
        })
        .collect()
}

/// What a commit says that the scan needs.
struct ReadCommit {
    id: ObjectId,
    tree: Option<ObjectId>,
    author: Option<String>,
    date: Option<(i64, i32)>,
}

impl ReadCommit {
    fn unread(id: ObjectId) -> ReadCommit {
        ReadCommit {
            id,
            tree: None,
            author: None,
            date: None,
        }
    }
}

fn read_commit(repo: &gix::Repository, id: ObjectId, stats: &StatsCollector) -> ReadCommit {
    let mut read = ReadCommit::unread(id);
    let commit = match repo.find_commit(id) {
        Ok(commit) => commit,
        Err(error) => {
            stats.error(id.to_string(), odb::describe_read_error(id, &error));
            return read;
        }
    };
    match commit.decode() {
        Ok(decoded) => {
            read.tree = Some(decoded.tree());
            let author = decoded.author();
            read.author = Some(format!("{} <{}>", author.name, author.email));
            if let Ok(time) = author.time() {
                read.date = Some((time.seconds, time.offset));
            }
        }
        Err(error) => stats.error(id.to_string(), odb::describe_read_error(id, &error)),
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_come_parents_first_even_with_skewed_clocks() {
        let id = |n: u8| ObjectId::from_bytes_or_panic(&[n; 20]);
        let commit = |n: u8, parents: &[u8]| Found {
            id: id(n),
            parents: parents.iter().map(|&p| id(p)).collect(),
        };
        // 3 is a child of 2 but claims to be older than everything.
        let order = parents_first(vec![
            (commit(3, &[2]), 1),
            (commit(2, &[1]), 20),
            (commit(1, &[]), 10),
            (commit(4, &[1]), 15),
        ]);
        let ids: Vec<ObjectId> = order.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![id(1), id(4), id(2), id(3)]);
        // First parents are named by their position in that order.
        assert!(matches!(order[0].first_parent, Parent::None));
        assert!(matches!(order[3].first_parent, Parent::Walked(2)));
    }
}
