//! The commit-range source, for PR checks and pre-push: the blobs that the
//! commits of a range introduce, each distinct blob scanned once and
//! attributed to the first commit and path that introduced it. The version of
//! the file before that commit travels with the blob, so only secrets the
//! commit added are reported, never older ones.

use super::{looks_binary, Blob, BlobSink};
use crate::filter::defaults::{is_declaration_file, is_generated, is_lockfile, is_vendored_dir};
use crate::filter::Filters;
use crate::finding::CommitInfo;
use crate::matcher::BlobKind;
use crate::source::staged::{unquote, GitError};
use crate::stats::{SkipReason, StatsCollector};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const NULL_OID: &str = "0000000000000000000000000000000000000000";

#[derive(Debug, Clone)]
pub struct RangeOptions {
    pub repo: PathBuf,
    /// Revision arguments for `git log`, e.g. `["A..B"]` or `["B", "--not", "--remotes"]`.
    pub revisions: Vec<String>,
    pub max_file_size: u64,
    pub default_excludes: bool,
}

/// One blob a commit introduced at a path.
struct Introduced {
    commit: usize,
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
    let mut args: Vec<String> = [
        "-c",
        "core.quotePath=false",
        "log",
        "--reverse",
        "--no-color",
        "--format=%x01%H%x02%an <%ae>%x02%aI",
        "--raw",
        "--no-abbrev",
        "-M",
        "--diff-filter=AMR",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(options.revisions.iter().cloned());
    args.push("--".into());
    let output = Command::new("git")
        .arg("-C")
        .arg(&options.repo)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| GitError::Spawn {
            args: args.join(" "),
            source,
        })?;
    if !output.status.success() {
        return Err(GitError::Git {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let (commits, introduced) = parse_log(&output.stdout, stats);
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
    read_and_scan(options, &commits, &todo, &places, sink, stats)?;
    Ok(commits.len())
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
                commit,
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
    let args = ["cat-file", "--batch"];
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&options.repo)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| GitError::Spawn {
            args: args.join(" "),
            source,
        })?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| GitError::CatFile("no stdin".into()))?;
    let requests: String = todo
        .iter()
        .map(|item| match &item.old_blob {
            Some(old) => format!("{old}\n{}\n", item.new_blob),
            None => format!("{}\n", item.new_blob),
        })
        .collect();
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| GitError::CatFile("no stdout".into()))?;
    let mut reader = BufReader::new(stdout);
    let mut old = Vec::new();
    let mut new = Vec::new();
    for item in todo {
        let has_old = match &item.old_blob {
            Some(id) => read_object(&mut reader, id, &mut old, stats, &item.path)?,
            None => false,
        };
        if !read_object(&mut reader, &item.new_blob, &mut new, stats, &item.path)? {
            continue;
        }
        if new.len() as u64 > options.max_file_size {
            stats.skipped(SkipReason::TooLarge);
            continue;
        }
        if looks_binary(&new) {
            stats.skipped(SkipReason::Binary);
            continue;
        }
        stats.scanned(new.len() as u64);
        let name = item.path.rsplit('/').next().unwrap_or(&item.path);
        let quiet_generic = options.default_excludes
            && (is_lockfile(name) || is_declaration_file(name) || is_generated(&new));
        sink.blob(&Blob {
            data: &new,
            path: &item.path,
            kind: BlobKind {
                generic_rules: !quiet_generic,
            },
            lines: None,
            commit: Some(&commits[item.commit]),
            previous: has_old.then_some(old.as_slice()),
            also_in: places
                .get(&item.new_blob)
                .map_or(0, |n| n.saturating_sub(1)),
        });
    }
    drop(reader);
    let _ = writer.join();
    let _ = child.wait();
    Ok(())
}

/// Reads one object into `into`; false (and an error recorded) if git says it
/// is missing.
fn read_object(
    reader: &mut impl BufRead,
    id: &str,
    into: &mut Vec<u8>,
    stats: &StatsCollector,
    path: &str,
) -> Result<bool, GitError> {
    let mut header = String::new();
    reader.read_line(&mut header)?;
    let fields: Vec<&str> = header.split_whitespace().collect();
    match fields[..] {
        [_, "blob", size] => {
            let size: u64 = size
                .parse()
                .map_err(|_| GitError::CatFile(header.trim().to_string()))?;
            into.clear();
            reader.take(size + 1).read_to_end(into)?;
            into.pop();
            Ok(true)
        }
        [_, "missing"] => {
            stats.error(path, format!("object {id} is missing from the repository"));
            Ok(false)
        }
        _ => Err(GitError::CatFile(header.trim().to_string())),
    }
}
