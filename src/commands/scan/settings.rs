//! Flags and config resolved once into [`Settings`] (a flag wins over the
//! config, the config over the default).

use crate::blob::Admission;
use crate::bundle::archive::ArchiveLimits;
use crate::bundle::BundleOptions;
use crate::cli::ScanInput;
use crate::config::{self, Config};
use crate::filter::baseline::Baseline;
use crate::finding::Finding;
use crate::scan::{gate, Mode, Settings};
use crate::source::fs::DEFAULT_MAX_FILE_SIZE;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// What a scan runs with: the config and baseline in force, the settings,
/// and findings about changes to the gate's own inputs (range scans).
pub struct Resolved {
    pub config: Config,
    pub baseline: Baseline,
    pub settings: Settings,
    pub gate_changes: Vec<Finding>,
}

/// Resolves the flags for a scan in `mode`. A range scan without an
/// explicit `--config` reads the config and baseline from its base commit
/// ([`gate`]).
pub fn resolve(
    input: &ScanInput,
    mode: Mode,
    baseline: Option<&Path>,
    progress: bool,
) -> Result<Resolved> {
    let root = if mode.is_git() {
        repository_root(&input.path)?
    } else {
        input.path.clone()
    };
    if !root.exists() {
        bail!("scan path {} does not exist", root.display());
    }
    let base = match &mode {
        Mode::Range(revisions) if input.config.is_none() && !input.no_config => {
            gate::base_revision(&root, revisions)?
        }
        _ => None,
    };
    let (config, baseline, gate_changes) = match base {
        Some(base) => {
            let trusted = gate::trusted_inputs(&root, &base, baseline)?;
            eprintln!(
                "leakstop: using the config and baseline of the base commit {base} (changes to them are reported)"
            );
            (trusted.config, trusted.baseline, trusted.changes)
        }
        None => {
            let config = config::discover(input.config.as_deref(), &root, input.no_config)?;
            let baseline = match baseline {
                Some(path) => Baseline::load(path)?,
                None => Baseline::default(),
            };
            (config, baseline, Vec::new())
        }
    };
    if let Some(source) = &config.source {
        eprintln!("leakstop: using config {}", source.display());
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
    Ok(Resolved {
        config,
        baseline,
        settings,
        gate_changes,
    })
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
