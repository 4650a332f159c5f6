//! The filesystem source: a parallel walk (the `ignore` crate, as ripgrep)
//! that respects .gitignore by default, scans hidden files (a `.env` is the
//! classic leak), skips binaries by content and files over the size limit,
//! and records every unreadable path without stopping.

use super::{looks_binary, Admission, Blob, BlobSink, SNIFF_LEN};
use crate::bundle::archive::{self, ArchiveLimits, ArchiveScan};
use crate::bundle::MapLookup;
use crate::filter::defaults::is_vendored_dir;
use crate::filter::Filters;
use crate::stats::{SkipReason, StatsCollector};
use ignore::{WalkBuilder, WalkState};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

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

/// Walks `options.root` and feeds every eligible file to `sink`.
pub fn walk(options: &FsOptions, filters: &Filters, sink: &dyn BlobSink, stats: &StatsCollector) {
    let root = options.root.as_path();
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .parents(options.respect_ignore_files)
        .ignore(options.respect_ignore_files)
        .git_ignore(options.respect_ignore_files)
        .git_global(options.respect_ignore_files)
        .git_exclude(options.respect_ignore_files)
        .require_git(false)
        .follow_links(options.follow_symlinks)
        .threads(options.threads);
    builder.filter_entry(|entry| entry.file_name() != ".git");
    builder.build_parallel().run(|| {
        let mut buffer = Vec::new();
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
                return WalkState::Continue;
            }
            if filters.path_excluded(&display) {
                stats.skipped(SkipReason::AllowlistedPath);
                return WalkState::Continue;
            }
            scan_file(
                entry.path(),
                &display,
                options,
                filters,
                sink,
                stats,
                &mut buffer,
            );
            WalkState::Continue
        })
    });
}

fn scan_file(
    path: &Path,
    display: &str,
    options: &FsOptions,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
    buffer: &mut Vec<u8>,
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
    buffer.clear();
    // Sniff the head first, so a large binary is skipped without reading it
    // all; then read the rest, at most one byte past the limit (a file that
    // grew after stat is still bounded).
    let mut limited = (&mut file).take(options.max_file_size + 1);
    let head = match (&mut limited).take(SNIFF_LEN as u64).read_to_end(buffer) {
        Ok(n) => n,
        Err(error) => {
            stats.error(display, format!("cannot read: {error}"));
            return;
        }
    };
    let admission = Admission {
        max_file_size: options.max_file_size,
        default_excludes: options.default_excludes,
    };
    let name = display.rsplit('/').next().unwrap_or(display);
    let archive_kind = options
        .archives
        .and_then(|_| archive::kind_of(name, &buffer[..head]));
    if archive_kind.is_none() && looks_binary(&buffer[..head]) {
        stats.skipped(SkipReason::Binary);
        return;
    }
    if let Err(error) = limited.read_to_end(buffer) {
        stats.error(display, format!("cannot read: {error}"));
        return;
    }
    if let (Some(kind), Some(limits)) = (archive_kind, options.archives) {
        if buffer.len() as u64 > options.max_file_size {
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
        scan.scan(buffer, display, kind);
        return;
    }
    let Some(kind) = admission.admit(buffer, display, stats) else {
        return;
    };
    sink.blob(&Blob {
        data: buffer,
        path: display,
        kind,
        lines: None,
        commit: None,
        previous: None,
        also_in: 0,
    });
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

/// Maps next to bundles on disk, never outside the scan root.
pub struct FsMaps {
    pub root: PathBuf,
}

impl MapLookup for FsMaps {
    fn map_for(&self, path: &str, reference: Option<&str>) -> Option<Result<Vec<u8>, String>> {
        if path.contains('!') {
            return None; // inside an archive: only inline maps
        }
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
        match std::fs::read(&candidate) {
            Ok(bytes) => Some(Ok(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && reference.is_none() => None,
            Err(e) => Some(Err(format!("source map {}: {e}", candidate.display()))),
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
}
