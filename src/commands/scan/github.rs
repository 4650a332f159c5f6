//! `leakstop scan github`: the listing, shard and cache from the flags, one
//! engine from `--config`, the org scan, then the shared report path.

use super::output::{report_outcome, ScanReport};
use super::settings::{admission, bundle_options};
use crate::bundle::archive::ArchiveLimits;
use crate::cli::{GithubArgs, ScanArgs};
use crate::config;
use crate::filter::baseline::Baseline;
use crate::github::{self, clone::CloneOptions, repos};
use crate::org::{self, state::settings_key, OrgScan};
use crate::scan::{setup::build_engine, Mode, Settings};
use crate::verify;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Runs `leakstop scan github`.
pub fn scan_github(args: &ScanArgs, github_args: &GithubArgs) -> Result<ScanReport> {
    if args.input.path != Path::new(".") {
        bail!(
            "`scan github` scans repositories, not a PATH: remove `{}`",
            args.input.path.display()
        );
    }
    if args.staged
        || args.git
        || args.range.is_some()
        || args.since_commit.is_some()
        || args.pre_push
    {
        bail!("`scan github` always scans each repository's history: --staged, --git, --range, --since-commit and --pre-push do not apply");
    }
    let api_url = github_args
        .api_url
        .clone()
        .or_else(|| {
            std::env::var("GITHUB_API_URL")
                .ok()
                .filter(|u| !u.is_empty())
        })
        .unwrap_or_else(|| github::DEFAULT_API_URL.to_string());
    let api_url = url::Url::parse(&api_url)
        .with_context(|| format!("the API URL `{api_url}` is not a URL"))?;
    let token = github::token_from_env();
    if token.is_none() {
        eprintln!("leakstop: no GITHUB_TOKEN or GH_TOKEN: public repositories only, at the anonymous rate limit");
    }
    let client = github::client(&api_url, token.as_ref())?;
    let sources: Vec<repos::Source> = (github_args.org.iter().cloned().map(repos::Source::Org))
        .chain(github_args.user.iter().cloned().map(repos::Source::User))
        .chain(github_args.repo.iter().cloned().map(repos::Source::Repo))
        .collect();
    let filter = repos::Filter {
        include_forks: github_args.include_forks,
        include_archived: github_args.include_archived,
        visibility: github_args.visibility,
        topics: github_args.topic.clone(),
    };
    let mut listing = repos::list(&client, &sources, &filter, repos::RateLimits::default())?;
    if let Some(shard) = github_args.shard {
        listing
            .repositories
            .retain(|r| shard.contains(&r.full_name));
        listing.failed.retain(|(name, _)| shard.contains(name));
        eprintln!(
            "leakstop: shard {shard}: {} repositories",
            listing.repositories.len()
        );
    } else {
        eprintln!("leakstop: {} repositories", listing.repositories.len());
    }

    // One config for every repository: only an explicit --config applies.
    let config = config::discover(args.input.config.as_deref(), Path::new("."), true)?;
    let baseline = match &args.baseline {
        Some(path) => Baseline::load(path)?,
        None => Baseline::default(),
    };
    let engine = build_engine(&config, baseline, args.show_secrets)?
        .with_known_public(super::output::show_known_public(args, &config));
    let scan = &config.scan;
    let settings = Settings {
        root: PathBuf::from("."),
        mode: Mode::History { all_objects: false },
        admission: admission(&args.input, &config),
        threads: args.input.threads,
        respect_ignore_files: true,
        follow_symlinks: false,
        archives: (!args.input.no_archives && scan.archives.unwrap_or(true))
            .then(ArchiveLimits::default),
        bundle: bundle_options(&args.input, &config),
        progress: false,
    };
    // Stored findings carry no raw secret: showing or verifying secrets
    // needs them found again.
    let full = github_args.full || args.show_secrets || args.verify || args.only_verified;
    if full && !github_args.full {
        eprintln!("leakstop: --show-secrets and --verify scan every repository in full");
    }
    let read = |path: Option<&Path>| path.and_then(|p| std::fs::read(p).ok()).unwrap_or_default();
    let options = format!(
        "{:?} {:?} {:?}",
        settings.admission, settings.archives, settings.bundle
    );
    let state_key = settings_key(&[
        &read(config.source.as_deref()),
        &read(args.baseline.as_deref()),
        options.as_bytes(),
    ]);
    let cache_dir = match &github_args.cache_dir {
        Some(dir) => dir.clone(),
        None => verify::cache::default_dir()
            .context("no cache directory: set --cache-dir, XDG_CACHE_HOME or HOME")?
            .join("github"),
    };
    let scanned = org::run(
        &OrgScan {
            repositories: &listing.repositories,
            failed: &listing.failed,
            clone: CloneOptions {
                cache_dir: &cache_dir,
                token: token.as_ref(),
                api_url: &api_url,
                time_limit: Duration::from_secs(github_args.clone_timeout),
            },
            settings: &settings,
            full,
            state_key,
            progress: !args.no_progress,
        },
        &engine,
    );
    eprintln!(
        "leakstop: {} repositories scanned, {} unchanged since the last run; walked {} commits",
        scanned.scanned,
        scanned.unchanged,
        scanned.output.commits.unwrap_or(0)
    );
    report_outcome(
        args,
        &config,
        &engine,
        scanned.output.findings,
        scanned.output.stats,
        None,
    )
}
