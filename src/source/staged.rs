//! The staged source, for pre-commit: exactly what `git commit` would record.
//! Blobs come from the index (never the working tree, so a partially staged
//! file is scanned as staged), and only the lines the change adds count, with
//! line numbers as in the staged file. It uses git's plumbing commands and
//! starts no async runtime.

use super::{looks_binary, Blob, BlobSink};
use crate::filter::defaults::{is_declaration_file, is_generated, is_lockfile, is_vendored_dir};
use crate::filter::Filters;
use crate::matcher::BlobKind;
use crate::stats::{SkipReason, StatsCollector};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum StagedError {
    #[error("running git {args}: {source}")]
    Spawn {
        args: String,
        source: std::io::Error,
    },
    #[error("git {args} failed: {stderr}")]
    Git { args: String, stderr: String },
    #[error("reading git output: {0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected output from git cat-file: {0}")]
    CatFile(String),
}

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
) -> Result<(), StagedError> {
    let git = Git::new(&options.repo);
    let added = added_lines(&git)?;
    if added.is_empty() {
        return Ok(());
    }
    let files = index_entries(&git, added, stats)?;
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

struct Git<'a> {
    dir: &'a Path,
}

impl Git<'_> {
    fn new(dir: &Path) -> Git<'_> {
        Git { dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        command
            .arg("-C")
            .arg(self.dir)
            .args(["-c", "core.quotePath=false"])
            .args(args);
        command
    }

    fn output(&self, args: &[&str]) -> Result<Vec<u8>, StagedError> {
        let output = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| StagedError::Spawn {
                args: args.join(" "),
                source,
            })?;
        if !output.status.success() {
            return Err(StagedError::Git {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(output.stdout)
    }
}

/// Path → added line ranges in the staged version, from a zero-context diff
/// of the index against HEAD. Renamed files contribute only changed lines;
/// deleted files contribute nothing.
fn added_lines(git: &Git<'_>) -> Result<BTreeMap<String, Vec<RangeInclusive<usize>>>, StagedError> {
    let patch = git.output(&[
        "diff",
        "--cached",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "-U0",
        "-M",
        "--diff-filter=ACMR",
        "--src-prefix=a/",
        "--dst-prefix=b/",
    ])?;
    Ok(parse_added_lines(&patch))
}

fn parse_added_lines(patch: &[u8]) -> BTreeMap<String, Vec<RangeInclusive<usize>>> {
    let mut files: BTreeMap<String, Vec<RangeInclusive<usize>>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in patch.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"diff --git ") {
            current = None;
            // Binary files have no +++ line; remember the new path from the header.
            if let Some(pos) = find(rest, b" b/") {
                current = Some(unquote(&rest[pos + 3..]));
                files
                    .entry(current.clone().unwrap_or_default())
                    .or_default();
            }
        } else if let Some(rest) = line.strip_prefix(b"+++ ") {
            if rest == b"/dev/null" {
                current = None;
            } else {
                let path = unquote(rest.strip_prefix(b"b/").unwrap_or(rest));
                files.entry(path.clone()).or_default();
                current = Some(path);
            }
        } else if line.starts_with(b"@@ ") {
            if let (Some(path), Some(range)) = (&current, hunk_new_range(line)) {
                files.entry(path.clone()).or_default().push(range);
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

/// Paths git prints in double quotes with C escapes (tabs, newlines, quotes).
fn unquote(raw: &[u8]) -> String {
    let raw = match raw {
        [b'"', inner @ .., b'"'] => inner,
        _ => return String::from_utf8_lossy(raw).into_owned(),
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'"') => out.push(b'"'),
            Some(b'\\') => out.push(b'\\'),
            Some(d @ b'0'..=b'7') => {
                let mut value = (d - b'0') as u32;
                for _ in 0..2 {
                    if let Some(next @ b'0'..=b'7') = bytes.next() {
                        value = value * 8 + (next - b'0') as u32;
                    }
                }
                out.push(value as u8);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The staged blob of every changed path. Unmerged paths (a conflict still
/// open) and submodules are reported and skipped.
fn index_entries(
    git: &Git<'_>,
    added: BTreeMap<String, Vec<RangeInclusive<usize>>>,
    stats: &StatsCollector,
) -> Result<Vec<StagedFile>, StagedError> {
    let mut args: Vec<&str> = vec!["ls-files", "--stage", "-z", "--"];
    // `:(literal)` keeps paths with glob characters from being expanded.
    let specs: Vec<String> = added.keys().map(|p| format!(":(literal){p}")).collect();
    args.extend(specs.iter().map(String::as_str));
    let listing = git.output(&args)?;
    let mut files = Vec::new();
    for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(record);
        let Some((meta, path)) = text.split_once('\t') else {
            continue;
        };
        let fields: Vec<&str> = meta.split(' ').collect();
        let [mode, blob, stage] = fields[..] else {
            continue;
        };
        if stage != "0" {
            stats.warning(path, "unmerged (conflict not resolved); not scanned");
            continue;
        }
        if mode == "160000" {
            stats.warning(
                path,
                "submodule (gitlink); its own repository is not scanned",
            );
            continue;
        }
        if let Some(lines) = added.get(path) {
            files.push(StagedFile {
                path: path.to_string(),
                blob: blob.to_string(),
                added: lines.clone(),
            });
        }
    }
    Ok(files)
}

/// Reads the blobs through one `git cat-file --batch` and feeds them to the sink.
fn read_blobs(
    git: &Git<'_>,
    files: &[StagedFile],
    options: &StagedOptions,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<(), StagedError> {
    if files.is_empty() {
        return Ok(());
    }
    let args = ["cat-file", "--batch"];
    let mut child = git
        .command(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| StagedError::Spawn {
            args: args.join(" "),
            source,
        })?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| StagedError::CatFile("no stdin".into()))?;
    let requests: String = files.iter().map(|f| format!("{}\n", f.blob)).collect();
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| StagedError::CatFile("no stdout".into()))?;
    let mut reader = BufReader::new(stdout);
    let mut header = String::new();
    let mut data = Vec::new();
    for file in files {
        header.clear();
        reader.read_line(&mut header)?;
        let fields: Vec<&str> = header.split_whitespace().collect();
        let size: u64 = match fields[..] {
            [_, "blob", size] => size
                .parse()
                .map_err(|_| StagedError::CatFile(header.trim().to_string()))?,
            [_, "missing"] => {
                stats.error(&file.path, format!("staged blob {} is missing", file.blob));
                continue;
            }
            _ => return Err(StagedError::CatFile(header.trim().to_string())),
        };
        data.clear();
        (&mut reader).take(size + 1).read_to_end(&mut data)?;
        data.pop(); // the newline after the content
        if size > options.max_file_size {
            stats.skipped(SkipReason::TooLarge);
            continue;
        }
        if looks_binary(&data) {
            stats.skipped(SkipReason::Binary);
            continue;
        }
        stats.scanned(size);
        let name = file.path.rsplit('/').next().unwrap_or(&file.path);
        let quiet_generic = options.default_excludes
            && (is_lockfile(name) || is_declaration_file(name) || is_generated(&data));
        sink.blob(&Blob {
            data: &data,
            path: &file.path,
            kind: BlobKind {
                generic_rules: !quiet_generic,
            },
            lines: Some(&file.added),
        });
    }
    drop(reader);
    let _ = writer.join();
    let status = child.wait()?;
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        return Err(StagedError::Git {
            args: args.join(" "),
            stderr,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_come_from_the_new_side_of_each_hunk() {
        let patch = b"diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n@@ -1,0 +2,3 @@\n+a\n+b\n+c\n@@ -9 +12 @@\n-x\n+y\n@@ -20,2 +22,0 @@\n-gone\n-gone\ndiff --git a/\"t\\tab.txt\" b/\"t\\tab.txt\"\nBinary files differ\n";
        let files = parse_added_lines(patch);
        assert_eq!(files["x.txt"], vec![2..=4, 12..=12]);
        assert!(files["t\tab.txt"].is_empty());
    }
}
