//! The commit-range source, for PR checks and pre-push: the blobs that the
//! commits of a range introduce, each distinct blob scanned once and
//! attributed to the first commit and path that introduced it. The version of
//! the file before that commit travels with the blob, so only secrets the
//! commit added are reported, never older ones.

use super::git::{unquote, CatFile, Git, GitError};
use super::{Admission, Blob, BlobSink};
use crate::filter::defaults::is_vendored_dir;
use crate::filter::Filters;
use crate::finding::CommitInfo;
use crate::stats::{SkipReason, StatsCollector};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

const NULL_OID: &str = "0000000000000000000000000000000000000000";

#[derive(Debug, Clone)]
pub struct RangeOptions {
    pub repo: PathBuf,
    /// Revision arguments for `git log`, e.g. `["A..B"]` or `["B", "--not", "--remotes"]`.
    pub revisions: Vec<String>,
    pub max_file_size: u64,
    pub default_excludes: bool,
    /// Also scan blobs no ref reaches (dangling objects, dropped stashes).
    pub all_objects: bool,
}

/// One blob a commit introduced at a path.
struct Introduced {
    /// Index into the walked commits; `None` for an unreachable blob.
    commit: Option<usize>,
    path: String,
    old_blob: Option<String>,
    new_blob: String,
}

/// Scans the blobs introduced by the commits in `options.revisions`.
/// Returns the number of commits walked.
pub fn scan(
    options: &RangeOptions,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<usize, GitError> {
    let git = Git::new(&options.repo);
    if git
        .output(&["rev-parse", "--is-shallow-repository"])?
        .starts_with(b"true")
    {
        stats.warning(
            options.repo.display().to_string(),
            "shallow clone: commits before the shallow boundary are not in this repository and were not scanned",
        );
    }
    let mut args: Vec<String> = [
        "log",
        "--reverse",
        "--no-color",
        "--format=%x01%H%x02%an <%ae>%x02%aI",
        "--raw",
        "--no-abbrev",
        "-M",
        // Merges and stashes: what they add against their first parent.
        "--diff-merges=first-parent",
        "--diff-filter=AMR",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(options.revisions.iter().cloned());
    args.push("--".into());
    let log = git.output(&args)?;
    let (commits, introduced) = parse_log(&log, stats);
    let mut places: HashMap<String, usize> = HashMap::new();
    for item in &introduced {
        *places.entry(item.new_blob.clone()).or_default() += 1;
    }
    let mut seen = HashSet::new();
    let mut todo = Vec::new();
    for item in introduced {
        if !seen.insert(item.new_blob.clone()) {
            continue;
        }
        if filters.path_excluded(&item.path) {
            stats.skipped(SkipReason::AllowlistedPath);
        } else if options.default_excludes
            && item.path.split('/').rev().skip(1).any(is_vendored_dir)
        {
            stats.skipped(SkipReason::VendoredDirectory);
        } else {
            todo.push(item);
        }
    }
    if options.all_objects {
        todo.extend(unreachable_blobs(&git, &seen)?);
    }
    read_and_scan(&git, options, &commits, &todo, &places, sink, stats)?;
    Ok(commits.len())
}

/// Every blob in the object database that the walk did not introduce, as a
/// pseudo-path `unreachable/<blob id>` with no commit.
fn unreachable_blobs(git: &Git, seen: &HashSet<String>) -> Result<Vec<Introduced>, GitError> {
    let listing = git.output(&[
        "cat-file",
        "--batch-all-objects",
        "--unordered",
        "--batch-check=%(objecttype) %(objectname)",
    ])?;
    Ok(String::from_utf8_lossy(&listing)
        .lines()
        .filter_map(|line| line.strip_prefix("blob "))
        .filter(|id| !seen.contains(*id))
        .map(|id| Introduced {
            commit: None,
            path: format!("unreachable/{id}"),
            old_blob: None,
            new_blob: id.to_string(),
        })
        .collect())
}

fn parse_log(log: &[u8], stats: &StatsCollector) -> (Vec<CommitInfo>, Vec<Introduced>) {
    let mut commits: Vec<CommitInfo> = Vec::new();
    let mut introduced = Vec::new();
    for line in log.split(|&b| b == b'\n') {
        if let Some(header) = line.strip_prefix(b"\x01") {
            let text = String::from_utf8_lossy(header);
            let mut fields = text.split('\x02');
            commits.push(CommitInfo {
                id: fields.next().unwrap_or_default().to_string(),
                author: fields.next().unwrap_or_default().to_string(),
                date: fields.next().unwrap_or_default().to_string(),
            });
        } else if let Some(raw) = line.strip_prefix(b":") {
            let Some(commit) = commits.len().checked_sub(1) else {
                continue;
            };
            let text = String::from_utf8_lossy(raw);
            let mut parts = text.splitn(2, '\t');
            let meta: Vec<&str> = parts.next().unwrap_or_default().split(' ').collect();
            let Some(path) = parts.next().and_then(|paths| paths.split('\t').next_back()) else {
                continue;
            };
            let path = unquote(path.as_bytes());
            let [_, new_mode, old_blob, new_blob, _status] = meta[..] else {
                continue;
            };
            if new_mode == "160000" {
                stats.warning(
                    &path,
                    "submodule (gitlink); its own repository is not scanned",
                );
                continue;
            }
            introduced.push(Introduced {
                commit: Some(commit),
                path,
                old_blob: (old_blob != NULL_OID).then(|| old_blob.to_string()),
                new_blob: new_blob.to_string(),
            });
        }
    }
    (commits, introduced)
}

/// Reads each introduced blob and its previous version through one
/// `git cat-file --batch`, and feeds them to the sink.
fn read_and_scan(
    git: &Git,
    options: &RangeOptions,
    commits: &[CommitInfo],
    todo: &[Introduced],
    places: &HashMap<String, usize>,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<(), GitError> {
    if todo.is_empty() {
        return Ok(());
    }
    let requests = todo.iter().map(|item| item.new_blob.clone()).collect();
    let mut cat = CatFile::start(git, requests)?;
    // Previous versions are only needed for blobs with findings: looked up
    // on demand through a second cat-file.
    let lookup: RefCell<Option<CatFile>> = RefCell::new(None);
    let admission = Admission {
        max_file_size: options.max_file_size,
        default_excludes: options.default_excludes,
    };
    let mut new = Vec::new();
    for item in todo {
        if !present(cat.next_blob(&mut new)?, &item.new_blob, &item.path, stats) {
            continue;
        }
        let Some(kind) = admission.admit(&new, &item.path, stats) else {
            continue;
        };
        let read_previous = || -> Option<Vec<u8>> {
            let id = item.old_blob.as_deref()?;
            let mut slot = lookup.borrow_mut();
            if slot.is_none() {
                *slot = CatFile::on_demand(git).ok();
            }
            let found = slot.as_mut()?.get(id).ok().flatten();
            present(found.as_ref().map(|_| ()), id, &item.path, stats);
            found
        };
        sink.blob(&Blob {
            data: &new,
            path: &item.path,
            kind,
            lines: None,
            commit: item.commit.map(|index| &commits[index]),
            previous: Some(&read_previous),
            also_in: places
                .get(&item.new_blob)
                .map_or(0, |n| n.saturating_sub(1)),
        });
    }
    Ok(())
}

/// A missing object is an input the scan should have covered: recorded as an
/// error (the scan becomes incomplete) and skipped.
fn present(read: Option<()>, id: &str, path: &str, stats: &StatsCollector) -> bool {
    if read.is_none() {
        stats.error(path, format!("object {id} is missing from the repository"));
    }
    read.is_some()
}
