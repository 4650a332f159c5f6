//! Flags and config resolved once into [`Settings`] (a flag wins over the
//! config, the config over the default).

use crate::blob::Admission;
use crate::bundle::archive::ArchiveLimits;
use crate::bundle::BundleOptions;
use crate::cli::ScanInput;
use crate::config::{self, Config};
use crate::scan::{Mode, Settings};
use crate::source::fs::DEFAULT_MAX_FILE_SIZE;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The config in force and the settings of a scan in `mode`.
pub fn resolve(input: &ScanInput, mode: Mode, progress: bool) -> Result<(Config, Settings)> {
    let root = if mode.is_git() {
        repository_root(&input.path)?
    } else {
        input.path.clone()
    };
    // `-` is standard input (read by the filesystem source as a stream).
    if root.as_os_str() != crate::source::fs::STDIN_PATH && !root.exists() {
        bail!("scan path {} does not exist", root.display());
    }
    let config = config::discover(input.config.as_deref(), &root, input.no_config)?;
    if let Some(source) = &config.source {
        eprintln!(
            "leakstop: using config {}",
            crate::text::escape_control(&source.display().to_string())
        );
    }
    let scan = &config.scan;
    let settings = Settings {
        admission: admission(input, &config),
        threads: input.threads,
        respect_ignore_files: !input.no_ignore,
        follow_symlinks: input.follow_symlinks,
        archives: (!input.no_archives && scan.archives.unwrap_or(true))
            .then(ArchiveLimits::default),
        bundle: bundle_options(input, &config),
        progress,
        root,
        mode,
    };
    Ok((config, settings))
}

/// Size limit and default excludes.
pub fn admission(input: &ScanInput, config: &Config) -> Admission {
    Admission {
        max_file_size: input
            .max_file_size
            .or(config.max_file_size())
            .unwrap_or(DEFAULT_MAX_FILE_SIZE),
        default_excludes: !input.no_default_excludes
            && config.scan.default_excludes.unwrap_or(true),
    }
}

/// The bundle features the flags and the config's `[scan]` leave on.
pub fn bundle_options(input: &ScanInput, config: &Config) -> BundleOptions {
    let scan = &config.scan;
    BundleOptions {
        decode: !input.no_decode && scan.decode.unwrap_or(true),
        sourcemaps: !input.no_sourcemaps && scan.sourcemaps.unwrap_or(true),
        show_client_safe: input.show_client_safe || scan.show_client_safe.unwrap_or(false),
        ..BundleOptions::default()
    }
}

/// The top directory of the git work tree containing `dir` (a bare
/// repository is its own top).
fn repository_root(dir: &Path) -> Result<PathBuf> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .context("running git (is it installed?)")?;
    if !output.status.success() {
        let bare = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "--is-bare-repository"])
            .output()
            .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"));
        if bare {
            return Ok(dir.to_path_buf());
        }
        bail!(
            "this scan needs a git repository: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim_end_matches(['\n', '\r']),
    ))
}
