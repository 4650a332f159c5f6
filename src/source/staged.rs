//! The staged source, for pre-commit: exactly what `git commit` would record.
//! Blobs come from the index (never the working tree, so a partially staged
//! file is scanned as staged), and only the lines the change adds count, with
//! line numbers as in the staged file. It uses git's plumbing commands and
//! starts no async runtime.

use super::git::{unquote, CatFile, Git, GitError};
use super::{Admission, Blob, BlobSink};
use crate::filter::defaults::is_vendored_dir;
use crate::filter::Filters;
use crate::stats::{SkipReason, StatsCollector};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct StagedOptions {
    /// Any directory inside the repository.
    pub repo: PathBuf,
    pub max_file_size: u64,
    pub default_excludes: bool,
}

/// A staged file: its blob and the lines the change adds.
struct StagedFile {
    path: String,
    blob: String,
    added: Vec<RangeInclusive<usize>>,
}

/// Scans the index against HEAD (or against nothing before the first commit).
pub fn scan(
    options: &StagedOptions,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<(), GitError> {
    let git = Git::new(&options.repo);
    let files = staged_files(&git, stats)?;
    let mut eligible = Vec::new();
    for file in files {
        if filters.path_excluded(&file.path) {
            stats.skipped(SkipReason::AllowlistedPath);
        } else if options.default_excludes
            && file.path.split('/').rev().skip(1).any(is_vendored_dir)
        {
            stats.skipped(SkipReason::VendoredDirectory);
        } else {
            eligible.push(file);
        }
    }
    read_blobs(&git, &eligible, options, sink, stats)
}

/// The staged files with their index blobs and added lines, from one
/// zero-context diff of the index against HEAD (`--raw` gives the blob ids,
/// so the index itself is never listed). Deleted files contribute nothing;
/// renamed files only their changed lines.
fn staged_files(git: &Git, stats: &StatsCollector) -> Result<Vec<StagedFile>, GitError> {
    let patch = git.output(&[
        "diff",
        "--cached",
        "--raw",
        "-p",
        "--full-index",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "-U0",
        "-M",
        "--diff-filter=ACMRU",
        "--src-prefix=a/",
        "--dst-prefix=b/",
    ])?;
    Ok(parse_diff(&patch, stats))
}

fn parse_diff(patch: &[u8], stats: &StatsCollector) -> Vec<StagedFile> {
    let mut files: Vec<StagedFile> = Vec::new();
    let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
    let mut current: Option<usize> = None;
    for line in patch.split(|&b| b == b'\n') {
        if let Some(raw) = line.strip_prefix(b":") {
            // :<old mode> <new mode> <old blob> <new blob> <status>\t<path>[\t<new path>]
            let text = String::from_utf8_lossy(raw);
            let mut parts = text.splitn(2, '\t');
            let meta: Vec<&str> = parts.next().unwrap_or_default().split(' ').collect();
            let paths: Vec<String> = parts
                .next()
                .unwrap_or_default()
                .split('\t')
                .map(|p| unquote(p.as_bytes()))
                .collect();
            let (Some(path), [_, new_mode, _, blob, status]) = (paths.last(), &meta[..]) else {
                continue;
            };
            if status.starts_with('U') {
                stats.warning(path, "unmerged (conflict not resolved); not scanned");
            } else if *new_mode == "160000" {
                stats.warning(
                    path,
                    "submodule (gitlink); its own repository is not scanned",
                );
            } else {
                by_path.insert(path.clone(), files.len());
                files.push(StagedFile {
                    path: path.clone(),
                    blob: blob.to_string(),
                    added: Vec::new(),
                });
            }
        } else if let Some(rest) = line.strip_prefix(b"diff --git ") {
            current =
                find(rest, b" b/").and_then(|pos| by_path.get(&unquote(&rest[pos + 3..])).copied());
        } else if let Some(rest) = line.strip_prefix(b"+++ ") {
            let path = unquote(rest.strip_prefix(b"b/").unwrap_or(rest));
            current = by_path.get(&path).copied();
        } else if line.starts_with(b"@@ ") {
            if let (Some(index), Some(range)) = (current, hunk_new_range(line)) {
                files[index].added.push(range);
            }
        }
    }
    files
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// `@@ -a,b +c,d @@` → lines c..=c+d-1 (none when d is 0).
fn hunk_new_range(line: &[u8]) -> Option<RangeInclusive<usize>> {
    let text = std::str::from_utf8(line).ok()?;
    let plus = text.split(' ').find(|part| part.starts_with('+'))?;
    let mut parts = plus[1..].splitn(2, ',');
    let start: usize = parts.next()?.parse().ok()?;
    let count: usize = match parts.next() {
        Some(count) => count.parse().ok()?,
        None => 1,
    };
    (count > 0).then(|| start..=start + count - 1)
}

/// Reads the blobs through one `git cat-file --batch` and feeds them to the sink.
fn read_blobs(
    git: &Git,
    files: &[StagedFile],
    options: &StagedOptions,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<(), GitError> {
    if files.is_empty() {
        return Ok(());
    }
    let mut cat = CatFile::start(git, files.iter().map(|f| f.blob.clone()).collect())?;
    let mut data = Vec::new();
    for file in files {
        if cat.next_blob(&mut data)?.is_none() {
            stats.error(&file.path, format!("staged blob {} is missing", file.blob));
            continue;
        }
        let admission = Admission {
            max_file_size: options.max_file_size,
            default_excludes: options.default_excludes,
        };
        let Some(kind) = admission.admit(&data, &file.path, stats) else {
            continue;
        };
        sink.blob(&Blob {
            data: &data,
            path: &file.path,
            kind,
            lines: Some(&file.added),
            commit: None,
            previous: None,
            also_in: 0,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_and_added_lines_come_from_the_raw_diff_and_hunks() {
        let blob = "1".repeat(40);
        let patch = format!(
            ":100644 100644 {z} {blob} M\tx.txt\n:000000 100644 {z} {blob} A\t\"t\\tab.txt\"\n\
             :160000 160000 {z} {blob} M\tvendor/sub\n\
             diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n@@ -1,0 +2,3 @@\n+a\n+b\n+c\n@@ -9 +12 @@\n-x\n+y\n@@ -20,2 +22,0 @@\n-gone\n-gone\n\
             diff --git a/\"t\\tab.txt\" b/\"t\\tab.txt\"\nBinary files differ\n",
            z = "0".repeat(40)
        );
        let stats = StatsCollector::default();
        let files = parse_diff(patch.as_bytes(), &stats);
        assert_eq!(files.len(), 2);
        assert_eq!(
            (files[0].path.as_str(), files[0].blob.as_str()),
            ("x.txt", blob.as_str())
        );
        assert_eq!(files[0].added, vec![2..=4, 12..=12]);
        assert_eq!(files[1].path, "t\tab.txt");
        assert!(files[1].added.is_empty());
        assert_eq!(stats.finish(0, Default::default()).warnings.len(), 1);
    }
}
