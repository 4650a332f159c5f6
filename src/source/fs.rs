//! The filesystem source: a parallel walk (the `ignore` crate, as ripgrep)
//! that respects .gitignore by default, scans hidden files (a `.env` is the
//! classic leak), skips binaries by content and files over the size limit,
//! and records every unreadable path without stopping.

use super::{looks_binary, Admission, Blob, BlobSink, SNIFF_LEN};
use crate::bounded::{ReadPolicy, ReadRefused};
use crate::bundle::archive::{self, ArchiveLimits, ArchiveScan};
use crate::bundle::MapLookup;
use crate::filter::defaults::is_vendored_dir;
use crate::filter::Filters;
use crate::provenance::Provenance;
use crate::stats::{ProblemKind, SkipReason, StatsCollector};
use ignore::{WalkBuilder, WalkState};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct FsOptions {
    pub root: PathBuf,
    pub respect_ignore_files: bool,
    pub follow_symlinks: bool,
    pub max_file_size: u64,
    pub default_excludes: bool,
    pub threads: usize,
    /// Look inside archives (`None`: `--no-archives`, archives are binaries).
    pub archives: Option<ArchiveLimits>,
}

/// Default `--max-file-size`: large enough for real bundles, small enough to
/// skip database dumps and media.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 50 << 20;

/// The path that stands for standard input.
pub const STDIN_PATH: &str = "-";

/// Walks `options.root` and feeds every eligible file to `sink`. A root that
/// is `-`, a FIFO or a device (`scan <(…)`, `/dev/stdin`) is read as one
/// stream: the user named it, so it is scanned, not passed over.
pub fn walk(options: &FsOptions, filters: &Filters, sink: &dyn BlobSink, stats: &StatsCollector) {
    let root = options.root.as_path();
    if root.as_os_str() == STDIN_PATH {
        let stdin = std::io::stdin();
        scan_reader(
            &mut stdin.lock(),
            None,
            "<stdin>",
            options,
            filters,
            sink,
            stats,
        );
        return;
    }
    if let Ok(metadata) = std::fs::metadata(root) {
        if !metadata.is_dir() && !metadata.is_file() {
            scan_stream(root, &metadata, options, filters, sink, stats);
            return;
        }
    }
    let respect_ignore_files = options.respect_ignore_files && ignore_files_usable(options, stats);
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .parents(respect_ignore_files)
        .ignore(respect_ignore_files)
        .git_ignore(respect_ignore_files)
        .git_global(respect_ignore_files)
        .git_exclude(respect_ignore_files)
        .require_git(false)
        .follow_links(options.follow_symlinks)
        .threads(options.threads);
    // The walker reads each directory's ignore files itself, before any
    // callback sees the directory: a directory whose ignore file may not be
    // read (a link to /dev/zero, a FIFO, a huge file) is left out here, and
    // reported as an error after the walk.
    let refused: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    {
        let refused = Arc::clone(&refused);
        let policy = ignore_policy(options, options.root.clone());
        let root = options.root.clone();
        builder.filter_entry(move |entry| {
            if entry.file_name() == ".git" {
                return false;
            }
            if !respect_ignore_files || !entry.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            match refused_ignore_file(&policy, entry.path()) {
                Some((name, why)) => {
                    let path = display_path(&root, &entry.path().join(name));
                    refused
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((path, why));
                    false
                }
                None => true,
            }
        });
    }
    builder.build_parallel().run(|| {
        Box::new(move |result| {
            let entry = match result {
                Ok(entry) => entry,
                Err(error) => {
                    let path = error_path(&error).unwrap_or_default();
                    if is_ignore_file_problem(&error) {
                        // A bad ignore rule means scanning more, never less: warn only.
                        stats.warning(path, error.to_string());
                    } else {
                        stats.error(path, error.to_string());
                    }
                    return WalkState::Continue;
                }
            };
            let display = display_path(root, entry.path());
            let Some(file_type) = entry.file_type() else {
                return WalkState::Continue;
            };
            if file_type.is_dir() {
                if entry.depth() > 0 {
                    if options.default_excludes
                        && entry.file_name().to_str().is_some_and(is_vendored_dir)
                    {
                        stats.skipped(SkipReason::VendoredDirectory);
                        return WalkState::Skip;
                    }
                    if filters.path_excluded(&display) {
                        stats.skipped(SkipReason::AllowlistedPath);
                        return WalkState::Skip;
                    }
                }
                return WalkState::Continue;
            }
            if file_type.is_symlink() {
                stats.skipped(SkipReason::Symlink);
                return WalkState::Continue;
            }
            if !file_type.is_file() {
                // A FIFO could block the walk forever, a device never end.
                stats.skipped(SkipReason::SpecialFile);
                return WalkState::Continue;
            }
            if filters.path_excluded(&display) {
                stats.skipped(SkipReason::AllowlistedPath);
                return WalkState::Continue;
            }
            scan_file(entry.path(), &display, options, filters, sink, stats);
            WalkState::Continue
        })
    });
    for (path, why) in refused.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        stats.error_as(
            ProblemKind::IgnoreFile,
            path,
            format!("ignore file not read: {why}; its directory was not scanned"),
        );
    }
}

/// Ignore files the walker reads in every directory.
const IGNORE_FILES: [&str; 2] = [".gitignore", ".ignore"];

/// Largest ignore file read (real ones are a few KiB).
const MAX_IGNORE_FILE: u64 = 1 << 20;

fn ignore_policy(options: &FsOptions, root: PathBuf) -> ReadPolicy {
    ReadPolicy {
        root,
        follow_symlinks: options.follow_symlinks,
        max_size: MAX_IGNORE_FILE,
    }
}

/// The first ignore file in `dir` that may not be read, and why.
fn refused_ignore_file(policy: &ReadPolicy, dir: &Path) -> Option<(&'static str, String)> {
    IGNORE_FILES
        .iter()
        .find_map(|name| match policy.check(&dir.join(name)) {
            Err(refusal) if refusal.is_refusal() => Some((*name, refusal.to_string())),
            _ => None,
        })
}

/// The ignore files of the root and its parents (read before the walk
/// starts) are safe to read; if not, the scan goes on without ignore files
/// (scanning more, never less) and says so.
fn ignore_files_usable(options: &FsOptions, stats: &StatsCollector) -> bool {
    let Ok(root) = options.root.canonicalize() else {
        return true;
    };
    let start = if root.is_dir() {
        root.as_path()
    } else {
        root.parent().unwrap_or(&root)
    };
    for dir in start.ancestors() {
        let policy = ignore_policy(options, dir.to_path_buf());
        if let Some((name, why)) = refused_ignore_file(&policy, dir) {
            stats.warning_as(
                ProblemKind::IgnoreFile,
                dir.join(name).display().to_string(),
                format!("ignore file not read: {why}; scanning without ignore files"),
            );
            return false;
        }
    }
    true
}

/// A FIFO, a character device or a socket named as the scan root. A
/// socket cannot be read as a file: it is an error, not a clean scan.
fn scan_stream(
    root: &Path,
    metadata: &std::fs::Metadata,
    options: &FsOptions,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) {
    let display = display_path(root, root);
    if is_socket(metadata) {
        stats.error_as(
            ProblemKind::NotRegular,
            display,
            "a socket, not a file or a stream; not scanned",
        );
        return;
    }
    match std::fs::File::open(root) {
        Ok(mut stream) => scan_reader(&mut stream, None, &display, options, filters, sink, stats),
        Err(error) => stats.error(display, format!("cannot open: {error}")),
    }
}

#[cfg(unix)]
fn is_socket(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    metadata.file_type().is_socket()
}

#[cfg(not(unix))]
fn is_socket(_: &std::fs::Metadata) -> bool {
    false
}

fn scan_file(
    path: &Path,
    display: &str,
    options: &FsOptions,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => {
            stats.error(display, format!("cannot open: {error}"));
            return;
        }
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > options.max_file_size {
        stats.skipped(SkipReason::TooLarge);
        return;
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    scan_reader(
        &mut file,
        Some(size),
        display,
        options,
        filters,
        sink,
        stats,
    );
}

/// Files up to this size are read whole before the binary sniff: one read
/// call where the sniff first takes two, and most files are text.
const READ_WHOLE_UP_TO: usize = 1 << 20;

/// Reads a file or stream, at most one byte past the size limit (a file
/// that grew after stat, or a stream, is still bounded), and hands it on:
/// an archive to the archive reader, text to the sink. `size` is the file's
/// size at stat time, if it is a file.
fn scan_reader(
    reader: &mut dyn Read,
    size: Option<usize>,
    display: &str,
    options: &FsOptions,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) {
    BUFFER.with_borrow_mut(|storage| {
        // The limit is u64::MAX at most: `+ 1` must not wrap to 0.
        let until = usize::try_from(options.max_file_size.saturating_add(1)).unwrap_or(usize::MAX);
        let mut filled = 0;
        // Sniff the head first, so a large binary is skipped without
        // reading it all; a small file is read whole at once.
        let first = match size {
            Some(size) if size <= READ_WHOLE_UP_TO => until,
            _ => SNIFF_LEN.min(until),
        };
        let expected = size.map_or(0, |size| size.saturating_add(1));
        let ended = match read_into(reader, storage, &mut filled, first, expected) {
            Ok(ended) => ended,
            Err(error) => {
                stats.error(display, format!("cannot read: {error}"));
                return;
            }
        };
        let head = filled.min(SNIFF_LEN);
        let admission = Admission {
            max_file_size: options.max_file_size,
            default_excludes: options.default_excludes,
        };
        let name = display.rsplit('/').next().unwrap_or(display);
        let archive_kind = options
            .archives
            .and_then(|_| archive::kind_of(name, &storage[..head]));
        if archive_kind.is_none() && looks_binary(&storage[..head]) {
            stats.skipped(SkipReason::Binary);
            return;
        }
        if !ended {
            if let Err(error) = read_into(reader, storage, &mut filled, until, expected) {
                stats.error(display, format!("cannot read: {error}"));
                return;
            }
        }
        let data = &storage[..filled];
        if let (Some(kind), Some(limits)) = (archive_kind, options.archives) {
            if data.len() as u64 > options.max_file_size {
                stats.skipped(SkipReason::TooLarge);
                return;
            }
            let scan = ArchiveScan {
                admission,
                limits,
                filters,
                sink,
                stats,
            };
            scan.scan(data, &Provenance::File(display.to_owned()), kind);
            return;
        }
        let Some(kind) = admission.admit(data, display, stats) else {
            return;
        };
        sink.blob(&Blob {
            data,
            provenance: &Provenance::File(display.to_owned()),
            kind,
            lines: None,
            commit: None,
            previous: None,
            also_in: 0,
        });
    });
}

/// Reads on into `storage[*filled..]` until the end of `reader` (true) or
/// until `*filled` reaches `until` (false). `storage` is the thread's
/// buffer, zeroed once as it grows: its length is the largest file read so
/// far, not this one's. `expected` (the file's size plus one, or 0) sizes it up front, so
/// that a file is one read call and the one that finds its end; a stream,
/// or a file that grew, grows it by doubling.
fn read_into(
    reader: &mut dyn Read,
    storage: &mut Vec<u8>,
    filled: &mut usize,
    until: usize,
    expected: usize,
) -> std::io::Result<bool> {
    let wanted = expected.min(until);
    if storage.len() < wanted {
        storage.resize(wanted, 0);
    }
    while *filled < until {
        if *filled == storage.len() {
            let grown = storage.len().saturating_mul(2).max(64 << 10).min(until);
            storage.resize(grown, 0);
        }
        let end = storage.len().min(until);
        match reader.read(&mut storage[*filled..end]) {
            Ok(0) => return Ok(true),
            Ok(read) => *filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(false)
}

thread_local! {
    /// Each walker thread reuses one read buffer.
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `path` relative to the scan root, with `/` separators. A root that is a
/// file is shown as given.
pub fn display_path(root: &Path, path: &Path) -> String {
    let relative = match path.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel,
        _ => path,
    };
    let text = relative.to_string_lossy();
    let text = text.strip_prefix("./").unwrap_or(&text);
    if std::path::MAIN_SEPARATOR == '/' {
        text.to_string()
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

fn is_ignore_file_problem(error: &ignore::Error) -> bool {
    match error {
        ignore::Error::Partial(_)
        | ignore::Error::Glob { .. }
        | ignore::Error::UnrecognizedFileType(_) => true,
        ignore::Error::WithLineNumber { .. } => true,
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => {
            is_ignore_file_problem(err)
        }
        _ => false,
    }
}

fn error_path(error: &ignore::Error) -> Option<String> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.display().to_string()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.display().to_string()),
        _ => None,
    }
}

/// Maps next to bundles on disk, never outside the scan root, read under the
/// same rules as any side file ([`ReadPolicy`]): a map symlinked to
/// `/dev/zero`, a FIFO, a map over the size limit or one linked from
/// outside the root is refused with a warning, not read.
pub struct FsMaps {
    pub root: PathBuf,
    pub follow_symlinks: bool,
    /// `--max-file-size`: a map over it is not read either.
    pub max_file_size: u64,
}

impl MapLookup for FsMaps {
    fn map_for(
        &self,
        bundle: &Provenance,
        reference: Option<&str>,
    ) -> Option<Result<Vec<u8>, String>> {
        // Inside an archive (or not from this directory): only inline maps.
        let Provenance::File(path) = bundle else {
            return None;
        };
        let bundle = if self.root.is_file() {
            self.root.clone()
        } else {
            self.root.join(path)
        };
        let candidate = match reference {
            Some(r) if r.contains("://") || r.starts_with('/') => return None,
            Some(r) => bundle.parent()?.join(r.split(['?', '#']).next()?),
            None => PathBuf::from(format!("{}.map", bundle.display())),
        };
        // A reference may not climb out of the scanned tree.
        if !inside(&self.root, &candidate) {
            return None;
        }
        let policy = ReadPolicy {
            root: self.root.clone(),
            follow_symlinks: self.follow_symlinks,
            max_size: self.max_file_size,
        };
        match policy.read(&candidate) {
            Ok(bytes) => Some(Ok(bytes)),
            Err(ReadRefused::NotFound) if reference.is_none() => None,
            Err(e) => Some(Err(format!(
                "source map {} not read: {e}",
                display_path(&self.root, &candidate)
            ))),
        }
    }
}

/// True if `path` (normalised lexically) stays under `root` (or its directory).
fn inside(root: &Path, path: &Path) -> bool {
    let base = if root.is_file() {
        root.parent().unwrap_or(root)
    } else {
        root
    };
    let Ok(rest) = path.strip_prefix(base) else {
        return false;
    };
    let mut depth = 0i32;
    for component in rest.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_references_stay_inside_the_root() {
        let root = Path::new("/repo");
        assert!(inside(root, Path::new("/repo/dist/a.js.map")));
        assert!(inside(root, Path::new("/repo/dist/../maps/a.map")));
        assert!(!inside(root, Path::new("/repo/dist/../../etc/passwd")));
        assert!(!inside(root, Path::new("/elsewhere/a.map")));
    }

    /// A reader that hands out at most `chunk` bytes per call, and counts
    /// its calls.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            let n = self.data.len().min(self.chunk).min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn reads_stop_at_the_end_or_the_limit_whatever_the_size_said() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        // A file as stat saw it: one read call with the bytes, one that
        // finds the end.
        let mut storage = Vec::new();
        let mut reader = Trickle {
            data: &data,
            chunk: usize::MAX,
            calls: 0,
        };
        let mut filled = 0;
        let ended = read_into(
            &mut reader,
            &mut storage,
            &mut filled,
            usize::MAX,
            data.len() + 1,
        );
        assert!(ended.expect("read"));
        assert_eq!((&storage[..filled], reader.calls), (&data[..], 2));
        // A file that grew since stat, or a stream: read on to the end,
        // in small pieces, with a storage left longer by an earlier file.
        for expected in [0, 10, data.len() / 2] {
            let mut reader = Trickle {
                data: &data,
                chunk: 7_000,
                calls: 0,
            };
            let mut filled = 0;
            assert!(
                read_into(&mut reader, &mut storage, &mut filled, usize::MAX, expected)
                    .expect("read")
            );
            assert_eq!(&storage[..filled], &data[..]);
        }
        // The limit holds however much is left.
        let mut reader = Trickle {
            data: &data,
            chunk: 7_000,
            calls: 0,
        };
        let mut filled = 0;
        let ended = read_into(&mut reader, &mut Vec::new(), &mut filled, 1_001, 0);
        assert_eq!((ended.expect("read"), filled), (false, 1_001));
    }
}
