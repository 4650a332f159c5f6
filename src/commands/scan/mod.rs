//! `leakstop scan` and `leakstop baseline create`: resolve the arguments and
//! config into [`crate::scan::Settings`] once, run the scan, write the report.

mod github;
mod output;
mod revisions;
pub(crate) mod settings;
mod url;

use crate::cli::{ScanArgs, ScanInput, ScanTarget};
use crate::exit::Outcome;
use crate::filter::baseline::{write_baseline, Baseline};
use crate::report;
use crate::scan::{self, setup::build_engine, Mode};
use anyhow::{bail, Result};
use std::path::Path;

pub use output::ScanReport;

/// Runs `leakstop scan`.
pub fn scan(args: &ScanArgs) -> Result<Outcome> {
    scan_report(args).map(|report| report.outcome)
}

/// Runs `leakstop scan` and returns what was reported (the GitHub Action
/// builds its summary and annotations from it).
pub fn scan_report(args: &ScanArgs) -> Result<ScanReport> {
    if let Some(ScanTarget::Url(url)) = &args.target {
        if args.input.path != Path::new(".") {
            bail!(
                "`scan url` scans a URL, not a PATH: remove `{}`",
                args.input.path.display()
            );
        }
        return url::scan_url(args, url);
    }
    if let Some(ScanTarget::Github(github_args)) = &args.target {
        return github::scan_github(args, github_args);
    }
    let mode = revisions::mode(args)?;
    let resolved = settings::resolve(
        &args.input,
        mode,
        args.baseline.as_deref(),
        !args.no_progress,
    )?;
    let config = resolved.config;
    let engine = build_engine(&config, resolved.baseline, args.show_secrets)?
        .with_known_public(output::show_known_public(args, &config));
    let stream = output::JsonlStream::open(args, &config)?;
    let mut scanned = scan::run_streaming(
        &resolved.settings,
        &engine,
        stream.as_ref().map(|s| s as &dyn scan::FindingStream),
    )?;
    if !resolved.gate_changes.is_empty() {
        if let Some(stream) = &stream {
            scan::FindingStream::found(stream, &resolved.gate_changes);
        }
        scanned.findings.extend(resolved.gate_changes);
        scanned.stats.findings = scanned.findings.len() as u64;
    }
    if let Some(commits) = scanned.commits {
        eprintln!(
            "leakstop: walked {commits} commit{}",
            if commits == 1 { "" } else { "s" }
        );
    }
    output::report_outcome(
        args,
        &config,
        &engine,
        scanned.findings,
        scanned.stats,
        stream.as_ref(),
    )
}

/// Runs `leakstop baseline create`: every current finding becomes an entry.
pub fn create_baseline(input: &ScanInput, output: &Path) -> Result<Outcome> {
    let resolved = settings::resolve(input, Mode::Directory, None, true)?;
    let engine = build_engine(&resolved.config, Baseline::default(), false)?;
    let scanned = scan::run(&resolved.settings, &engine)?;
    let count = write_baseline(output, &scanned.findings)?;
    eprintln!("{}", report::summary(&scanned.stats, 0));
    let findings = scanned.findings.len();
    eprintln!(
        "leakstop: wrote {count} baseline entr{} ({findings} finding{}) to {}",
        if count == 1 { "y" } else { "ies" },
        if findings == 1 { "" } else { "s" },
        output.display()
    );
    Ok(Outcome {
        findings: 0,
        live_findings: 0,
        incomplete: scanned.stats.incomplete(),
    })
}
