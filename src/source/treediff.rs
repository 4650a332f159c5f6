//! What one tree (or the index) changed against another: the files added or
//! modified with their previous blob, paired across renames. Shared by the
//! history, range and staged sources, so that "what a commit introduced"
//! means the same in all three.

use super::odb::{self, Introduced};
use crate::provenance::Provenance;
use crate::stats::StatsCollector;
use gix::object::tree::EntryKind;
use gix::objs::tree::EntryRef;
use gix::ObjectId;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::RangeInclusive;

/// What one tree comparison found.
#[derive(Default)]
pub struct Changes {
    /// (path, blob before, blob after) for added and modified files.
    pub changed: Vec<(String, Option<ObjectId>, ObjectId)>,
    /// (path, blob) for deleted files: candidates for renames.
    pub deleted: Vec<(String, ObjectId)>,
    pub gitlinks: Vec<String>,
}

impl Changes {
    /// Pairs added files with deleted ones to follow renames: the same
    /// content (a pure rename), the same file name, or the only addition with
    /// the only deletion. The previous version is what keeps a rename from
    /// re-reporting old secrets as new.
    pub fn into_introduced(self, commit: Option<usize>, stats: &StatsCollector) -> Vec<Introduced> {
        for path in &self.gitlinks {
            stats.warning(
                path,
                "submodule (gitlink); its own repository is not scanned",
            );
        }
        let additions = self.changed.iter().filter(|c| c.1.is_none()).count();
        let only_pair = (additions == 1 && self.deleted.len() == 1).then(|| self.deleted[0].1);
        let mut deleted_by_name: HashMap<&str, ObjectId> = HashMap::new();
        let mut deleted_ids = std::collections::HashSet::new();
        for (path, id) in &self.deleted {
            deleted_by_name.entry(file_name(path)).or_insert(*id);
            deleted_ids.insert(*id);
        }
        self.changed
            .into_iter()
            .map(|(path, old, new)| {
                let old = old
                    .or_else(|| deleted_ids.contains(&new).then_some(new))
                    .or_else(|| deleted_by_name.get(file_name(&path)).copied())
                    .or(only_pair);
                Introduced {
                    commit,
                    provenance: Provenance::File(path),
                    old_blob: old,
                    new_blob: new,
                }
            })
            .collect()
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', ':']).next().unwrap_or(path)
}

/// Where tree comparisons read trees from: the repository, or a reader
/// that keeps delta chains (the history scan's, [`super::packread`]).
pub trait TreeSource {
    /// The tree's bytes; an unreadable tree is an error naming it (the
    /// scan becomes incomplete) and `None`.
    fn tree(&self, id: ObjectId, path: &str, stats: &StatsCollector) -> Option<TreeBytes<'_>>;
}

/// A tree's bytes, as gix or the chain reader holds them.
pub enum TreeBytes<'repo> {
    Read(gix::Tree<'repo>),
    Built(std::sync::Arc<Vec<u8>>),
}

impl std::ops::Deref for TreeBytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            TreeBytes::Read(tree) => &tree.data,
            TreeBytes::Built(data) => data,
        }
    }
}

impl TreeSource for gix::Repository {
    fn tree(&self, id: ObjectId, path: &str, stats: &StatsCollector) -> Option<TreeBytes<'_>> {
        read_tree(self, id, path, stats).map(TreeBytes::Read)
    }
}

/// Reads a tree; an unreadable tree is an error naming it (the scan becomes
/// incomplete) and its part of the comparison is skipped.
pub fn read_tree<'repo>(
    repo: &'repo gix::Repository,
    id: ObjectId,
    path: &str,
    stats: &StatsCollector,
) -> Option<gix::Tree<'repo>> {
    match repo.find_tree(id) {
        Ok(tree) => Some(tree),
        Err(error) => {
            stats.error(place(path), odb::describe_read_error(id, &error));
            None
        }
    }
}

pub fn place(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// A tree's entries, decoded lazily (no per-tree allocation). A malformed
/// entry ends the listing with an error naming the tree.
pub fn entries<'a>(
    data: &'a [u8],
    id: ObjectId,
    path: &'a str,
    stats: &'a StatsCollector,
) -> std::iter::Peekable<impl Iterator<Item = EntryRef<'a>> + 'a> {
    gix::objs::TreeRefIter::from_bytes(data)
        .map_while(move |entry| match entry {
            Ok(entry) => Some(entry),
            Err(error) => {
                stats.error(place(path), odb::describe_read_error(id, &error));
                None
            }
        })
        .peekable()
}

/// Recursively compares tree `new` with tree `old` in one merge pass over
/// their sorted entries, skipping identical subtrees by id, so a commit costs
/// what it changed, not the size of its tree.
pub fn diff_tree(
    trees: &dyn TreeSource,
    old: Option<ObjectId>,
    new: ObjectId,
    prefix: &str,
    changes: &mut Changes,
    stats: &StatsCollector,
) {
    let Some(new_tree) = trees.tree(new, prefix, stats) else {
        return;
    };
    let old_tree = old.and_then(|old| Some((old, trees.tree(old, prefix, stats)?)));
    let mut new_entries = entries(&new_tree, new, prefix, stats);
    let mut old_entries = match &old_tree {
        Some((id, tree)) => entries(tree, *id, prefix, stats),
        None => entries(&[], new, prefix, stats),
    };
    let join = |name: &[u8]| {
        let name = String::from_utf8_lossy(name);
        if prefix.is_empty() || prefix.ends_with(':') {
            format!("{prefix}{name}")
        } else {
            format!("{prefix}/{name}")
        }
    };
    loop {
        let order = match (new_entries.peek(), old_entries.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(n), Some(o)) => git_tree_order(n, o),
        };
        let added = if order == Ordering::Greater {
            None
        } else {
            new_entries.next()
        };
        let removed = if order == Ordering::Less {
            None
        } else {
            old_entries.next()
        };
        match (added, removed) {
            (Some(n), Some(o)) if n.oid == o.oid => {}
            (Some(n), previous) => {
                let path = join(n.filename);
                // A gitlink's id names a commit in another repository.
                let previous = previous
                    .filter(|o| !o.mode.is_commit())
                    .map(|o| o.oid.to_owned());
                match n.mode.kind() {
                    EntryKind::Tree => {
                        diff_tree(trees, previous, n.oid.to_owned(), &path, changes, stats)
                    }
                    EntryKind::Commit => changes.gitlinks.push(path),
                    EntryKind::Blob | EntryKind::BlobExecutable | EntryKind::Link => {
                        changes.changed.push((path, previous, n.oid.to_owned()))
                    }
                }
            }
            (None, Some(gone)) => match gone.mode.kind() {
                EntryKind::Tree => {
                    let mut removed = Changes::default();
                    diff_tree(
                        trees,
                        None,
                        gone.oid.to_owned(),
                        &join(gone.filename),
                        &mut removed,
                        stats,
                    );
                    changes
                        .deleted
                        .extend(removed.changed.into_iter().map(|(p, _, id)| (p, id)));
                }
                EntryKind::Commit => {}
                _ => changes
                    .deleted
                    .push((join(gone.filename), gone.oid.to_owned())),
            },
            (None, None) => break,
        }
    }
}

/// Git's tree order: by name, as if a tree's name ended in `/`. Entries
/// compare equal only if both are trees or both are not, so a file replaced
/// by a directory is a deletion and an addition.
fn git_tree_order(a: &EntryRef<'_>, b: &EntryRef<'_>) -> Ordering {
    fn key<'e>(entry: &'e EntryRef<'_>) -> impl Iterator<Item = u8> + 'e {
        let slash = entry.mode.is_tree().then_some(b'/');
        entry.filename.iter().copied().chain(slash)
    }
    key(a).cmp(key(b))
}

/// How long one line diff may search for the shortest edit script before
/// settling for a longer one (which only marks more lines as added).
const LINE_DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// The line diff of two blobs' bytes (each line with its terminator, as git
/// compares them). It reads the content itself, so no `.gitattributes`
/// setting (`-diff`, `binary`, a diff driver, textconv) can hide a line.
fn line_diff(old: &[u8], new: &[u8]) -> (Vec<similar::DiffOp>, usize, usize) {
    let old: Vec<&[u8]> = old.split_inclusive(|&b| b == b'\n').collect();
    let new: Vec<&[u8]> = new.split_inclusive(|&b| b == b'\n').collect();
    let deadline = std::time::Instant::now() + LINE_DIFF_DEADLINE;
    let ops = similar::capture_diff_slices_deadline(
        similar::Algorithm::Myers,
        &old,
        &new,
        Some(deadline),
    );
    (ops, old.len(), new.len())
}

/// The 1-based lines of `new` that `old` does not have, as `git diff -U0`
/// numbers them in its `+` hunks.
pub fn added_lines(old: &[u8], new: &[u8]) -> Vec<RangeInclusive<usize>> {
    let mut added: Vec<RangeInclusive<usize>> = Vec::new();
    for op in line_diff(old, new).0 {
        let (tag, _, lines) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal || lines.is_empty() {
            continue;
        }
        match added.last_mut() {
            Some(last) if *last.end() + 1 == lines.start + 1 => {
                *last = *last.start()..=lines.end;
            }
            _ => added.push(lines.start + 1..=lines.end),
        }
    }
    added
}

/// How alike two blobs are, from 0 to 1: twice the common lines over all
/// lines (git's rename detection pairs files at 0.5 and above).
pub fn similarity(old: &[u8], new: &[u8]) -> f32 {
    let (ops, old_len, new_len) = line_diff(old, new);
    similar::get_diff_ratio(&ops, old_len, new_len)
}
