//! The full-history source (`scan --git`): every blob reachable from any ref
//! (branches, tags, remote-tracking refs, the stash, a detached HEAD), read
//! in-process with gix. Commits are ordered parents first; each commit's tree
//! is compared with its first parent's in parallel, and each distinct blob is
//! attributed to the first commit and path that introduced it.

use super::odb::{self, Introduced, ObjectScanOptions, OdbError, SharedRepository};
use super::treediff::{diff_tree, Changes};
use super::BlobSink;
use crate::filter::Filters;
use crate::finding::CommitInfo;
use crate::provenance::Provenance;
use crate::stats::StatsCollector;
use gix::ObjectId;
use rayon::prelude::*;
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
pub fn scan_selected(
    shared: &SharedRepository,
    options: &ObjectScanOptions,
    tips: &Tips,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<usize, OdbError> {
    let repo = odb::local(shared);
    if repo.is_shallow() {
        stats.warning(options.repo.display().to_string(), odb::SHALLOW_WARNING);
    }
    let walked = walk(&repo, &tips.commits, &tips.hidden, stats);
    let commits = read_commits(shared, &walked, stats);
    let mut introduced = diff_commits(shared, &walked, &commits, stats);
    for (name, tree) in &tips.trees {
        let mut changes = Changes::default();
        diff_tree(&repo, None, *tree, "", &mut changes, stats);
        for mut item in changes.into_introduced(None, stats) {
            if let Provenance::File(path) = item.provenance {
                item.provenance = Provenance::TaggedTree {
                    tag: name.clone(),
                    path,
                };
            }
            introduced.push(item);
        }
    }
    for (name, blob) in &tips.blobs {
        introduced.push(Introduced {
            commit: None,
            provenance: Provenance::TaggedBlob { tag: name.clone() },
            old_blob: None,
            new_blob: *blob,
        });
    }
    let infos: Vec<CommitInfo> = commits.into_iter().map(|c| c.info).collect();
    odb::scan_introduced(
        shared,
        introduced,
        &options.plan(&infos, filters),
        sink,
        stats,
    )?;
    Ok(infos.len())
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

/// A walked commit: its id and the parents that are in the repository.
struct Walked {
    id: ObjectId,
    parents: Vec<ObjectId>,
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
    let mut found: Vec<(Walked, i64)> = Vec::new();
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
                Walked {
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
fn parents_first(commits: Vec<(Walked, i64)>) -> Vec<Walked> {
    let index: HashMap<ObjectId, usize> = commits
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (c.id, i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); commits.len()];
    let mut waiting_on: Vec<usize> = vec![0; commits.len()];
    for (child, (commit, _)) in commits.iter().enumerate() {
        let mut parents: Vec<usize> = commit
            .parents
            .iter()
            .filter_map(|p| index.get(p).copied())
            .collect();
        parents.sort_unstable();
        parents.dedup();
        waiting_on[child] = parents.len();
        for parent in parents {
            children[parent].push(child);
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
            waiting_on[child] -= 1;
            if waiting_on[child] == 0 {
                ready.push(Reverse((commits[child].1, child)));
            }
        }
    }
    let mut slots: Vec<Option<Walked>> = commits.into_iter().map(|(c, _)| Some(c)).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

struct ReadCommit {
    info: CommitInfo,
    tree: Option<ObjectId>,
}

fn read_commits(
    shared: &SharedRepository,
    walked: &[Walked],
    stats: &StatsCollector,
) -> Vec<ReadCommit> {
    walked
        .par_iter()
        .map_init(
            || odb::local(shared),
            |repo, commit| read_commit(repo, commit.id, stats),
        )
        .collect()
}

fn read_commit(repo: &gix::Repository, id: ObjectId, stats: &StatsCollector) -> ReadCommit {
    let mut read = ReadCommit {
        info: CommitInfo {
            id: id.to_string(),
            author: String::new(),
            date: String::new(),
        },
        tree: None,
    };
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
            read.info.author = format!("{} <{}>", author.name, author.email);
            if let Ok(time) = author.time() {
                read.info.date = iso8601(time.seconds, time.offset);
            }
        }
        Err(error) => stats.error(id.to_string(), odb::describe_read_error(id, &error)),
    }
    read
}

/// Compares each commit's tree with its first parent's (merges count what
/// they bring into the first-parent line), in parallel, and lists the blobs
/// introduced in commit order.
fn diff_commits(
    shared: &SharedRepository,
    walked: &[Walked],
    commits: &[ReadCommit],
    stats: &StatsCollector,
) -> Vec<Introduced> {
    let position: HashMap<ObjectId, usize> =
        walked.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let per_commit: Vec<Vec<Introduced>> = walked
        .par_iter()
        .enumerate()
        .map_init(
            || odb::local(shared),
            |repo, (index, commit)| {
                let Some(tree) = commits[index].tree else {
                    return Vec::new();
                };
                // A parent outside the walk is a range's base (hidden): its
                // tree is read here; a parent missing from a shallow clone
                // has none.
                let parent_tree = commit.parents.first().and_then(|p| match position.get(p) {
                    Some(&p) => commits[p].tree,
                    None => repo
                        .find_commit(*p)
                        .ok()
                        .and_then(|c| c.tree_id().ok())
                        .map(|id| id.detach()),
                });
                let mut changes = Changes::default();
                diff_tree(repo, parent_tree, tree, "", &mut changes, stats);
                changes.into_introduced(Some(index), stats)
            },
        )
        .collect();
    per_commit.into_iter().flatten().collect()
}

/// `2024-05-01T12:30:00+02:00`, as `git log --format=%aI` prints it.
fn iso8601(seconds: i64, offset: i32) -> String {
    let local = seconds + offset as i64;
    let days = local.div_euclid(86_400);
    let second_of_day = local.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let sign = if offset < 0 { '-' } else { '+' };
    let offset_minutes = offset.unsigned_abs() / 60;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        offset_minutes / 60,
        offset_minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_like_git_iso_strict() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(1_714_559_400, 7200), "2024-05-01T12:30:00+02:00");
        assert_eq!(iso8601(951_782_400, -19_800), "2000-02-28T18:30:00-05:30");
        assert_eq!(iso8601(951_782_400, 0), "2000-02-29T00:00:00+00:00");
        assert_eq!(iso8601(-86_400, 0), "1969-12-31T00:00:00+00:00");
    }

    #[test]
    fn commits_come_parents_first_even_with_skewed_clocks() {
        let id = |n: u8| ObjectId::from_bytes_or_panic(&[n; 20]);
        let commit = |n: u8, parents: &[u8]| Walked {
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
    }
}
