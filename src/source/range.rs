//! The commit-range source, for PR checks and pre-push: the blobs that the
//! commits of a range introduce, each distinct blob scanned once and
//! attributed to the first commit and path that introduced it. The version of
//! the file before that commit travels with the blob, so only secrets the
//! commit added are reported, never older ones.

use super::git::{unquote, Git, GitError};
use super::odb::{self, Introduced, ObjectScanOptions, OdbError};
use super::BlobSink;
use crate::filter::Filters;
use crate::finding::CommitInfo;
use crate::stats::StatsCollector;
use gix::ObjectId;

/// Scans the blobs introduced by the commits `revisions` selects: `git log`
/// revision arguments, e.g. `["A..B"]` or `["B", "--not", "--remotes"]`.
/// Returns the number of commits walked.
pub fn scan(
    options: &ObjectScanOptions,
    revisions: &[String],
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<usize, RangeError> {
    let git = Git::new(&options.repo);
    if git
        .output(&["rev-parse", "--is-shallow-repository"])?
        .starts_with(b"true")
    {
        stats.warning(options.repo.display().to_string(), odb::SHALLOW_WARNING);
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
    args.extend(revisions.iter().cloned());
    args.push("--".into());
    let log = git.output(&args)?;
    let (commits, introduced) = parse_log(&log, stats);
    let shared = odb::open(&options.repo)?;
    odb::scan_introduced(
        &shared,
        introduced,
        &options.plan(&commits, filters),
        sink,
        stats,
    )?;
    Ok(commits.len())
}

#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Odb(#[from] OdbError),
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
            let Ok(new_blob) = ObjectId::from_hex(new_blob.as_bytes()) else {
                stats.error(
                    &path,
                    format!("git log printed a bad object id: {new_blob}"),
                );
                continue;
            };
            introduced.push(Introduced {
                commit: Some(commit),
                path,
                old_blob: ObjectId::from_hex(old_blob.as_bytes())
                    .ok()
                    .filter(|id| !id.is_null()),
                new_blob,
            });
        }
    }
    (commits, introduced)
}
