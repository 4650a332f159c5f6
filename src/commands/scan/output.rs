//! The shared report path of every scan: verification (when asked), the
//! report in the requested format, the summary line and the outcome that
//! decides the exit code.

use crate::cli::{Color, ScanArgs};
use crate::config::{self, Config};
use crate::engine::Engine;
use crate::exit::Outcome;
use crate::filter::Suppression;
use crate::finding::{Finding, Severity};
use crate::report::{self, Report};
use crate::rules::Rule;
use crate::scan::FindingStream;
use crate::stats::{ScanStats, VerificationStats};
use crate::verify;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// A written report: the outcome that decides the exit code, and the
/// findings and stats as reported (verified, `--only-verified` applied).
pub struct ScanReport {
    pub outcome: Outcome,
    pub findings: Vec<Finding>,
    pub stats: ScanStats,
}

/// What is reported: `--min-severity`, else `[scan] min_severity`, else
/// `low` (`info` with `--show-client-safe` or `--show-known-public`).
fn min_severity(args: &ScanArgs, config: &Config) -> Severity {
    let show_client_safe =
        args.input.show_client_safe || config.scan.show_client_safe.unwrap_or(false);
    args.min_severity.or(config.scan.min_severity).unwrap_or(
        if show_client_safe || show_known_public(args, config) {
            Severity::Info
        } else {
            Severity::Low
        },
    )
}

/// `--format jsonl` without verification: each finding is written (and
/// flushed) as soon as it is found, so a history scan that is killed
/// part-way leaves a report of everything found until then. Lines come in
/// the order the workers find them, not sorted.
pub struct JsonlStream {
    out: Mutex<Box<dyn Write + Send>>,
    min_severity: Severity,
    /// The first write error; reported when the scan ends.
    failed: Mutex<Option<std::io::Error>>,
}

impl JsonlStream {
    /// A stream to `--output` (created now) or stdout, if the report can be
    /// streamed: JSONL, and no verification (which needs all findings first).
    pub fn open(args: &ScanArgs, config: &Config) -> Result<Option<JsonlStream>> {
        if args.format != report::Format::Jsonl || args.verify || args.only_verified {
            return Ok(None);
        }
        let out: Box<dyn Write + Send> = match &args.output {
            Some(path) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("writing report to {}", path.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        };
        Ok(Some(JsonlStream {
            out: Mutex::new(out),
            min_severity: min_severity(args, config),
            failed: Mutex::new(None),
        }))
    }

    /// Flushes, and returns the first error any write met.
    fn finish(&self) -> Result<()> {
        let flushed = self.out.lock().unwrap_or_else(|e| e.into_inner()).flush();
        let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner()).take();
        match failed {
            Some(error) => Err(error).context("writing the JSONL report"),
            None => flushed.context("writing the JSONL report"),
        }
    }
}

impl FindingStream for JsonlStream {
    fn found(&self, findings: &[Finding]) {
        let reported: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.severity >= self.min_severity)
            .collect();
        if reported.is_empty() {
            return;
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let written = reported
            .iter()
            .try_for_each(|finding| report::json::write_line(finding, &mut **out))
            .and_then(|()| out.flush());
        if let Err(error) = written {
            self.failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(error);
        }
    }
}

/// Writes the report in the requested format and the summary. With a
/// `stream`, the findings were written as they were found; only the summary
/// is left.
pub fn report_outcome(
    args: &ScanArgs,
    config: &Config,
    engine: &Engine,
    mut findings: Vec<Finding>,
    mut stats: ScanStats,
    stream: Option<&JsonlStream>,
) -> Result<ScanReport> {
    let unused_baseline = engine
        .filters()
        .baseline()
        .unused(&engine.baseline_hits())
        .count();
    let rules_by_id: HashMap<&str, &Rule> = engine
        .matcher()
        .rules()
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let min_severity = min_severity(args, config);
    let fail_on = args
        .fail_on
        .or(config.scan.fail_on)
        .unwrap_or(Severity::Low);
    let found = findings.len();
    findings.retain(|f| f.severity >= min_severity);
    if findings.len() < found {
        *stats
            .suppressed
            .entry(Suppression::BelowMinSeverity)
            .or_default() += (found - findings.len()) as u64;
        stats.findings = findings.len() as u64;
    }
    if args.verify || args.only_verified {
        let options = verify_options(args, config)?;
        let summary = verify::verify_findings(&mut findings, &rules_by_id, &options)?;
        eprintln!("{}", summary.describe(findings.len()));
        stats.verification = Some(VerificationStats {
            distinct_credentials: summary.distinct,
            checked: summary.checked,
            cached: summary.cached,
            by_status: summary
                .by_status
                .iter()
                .map(|(status, n)| (status.to_string(), *n))
                .collect(),
        });
        for warning in &summary.warnings {
            eprintln!(
                "leakstop: warning: {}",
                crate::text::escape_control(&warning.to_string())
            );
        }
        for error in &summary.errors {
            stats.errors.push(crate::stats::ScanError {
                path: "(verification)".into(),
                message: error.clone(),
                kind: crate::stats::ProblemKind::Other,
            });
        }
        if args.only_verified {
            findings.retain(Finding::is_live);
            stats.findings = findings.len() as u64;
        }
    }
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let report = Report {
        findings: &findings,
        stats: &stats,
        rules: rules_by_id,
        color,
    };
    match &args.output {
        _ if stream.is_some() => {}
        Some(path) => {
            let mut buffer = Vec::new();
            report::write(args.format, &report, &mut buffer)?;
            std::fs::write(path, buffer)
                .with_context(|| format!("writing report to {}", path.display()))?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            report::write(args.format, &report, &mut stdout)?;
            stdout.flush()?;
        }
    }
    if let Some(stream) = stream {
        stream.finish()?;
    }
    eprintln!(
        "{}",
        report::summary_with(&stats, unused_baseline, args.verbose)
    );
    let failing = || findings.iter().filter(|f| f.severity >= fail_on);
    let live_findings = failing().filter(|f| f.is_live()).count();
    let failing_findings = failing().count();
    if failing_findings < findings.len() {
        eprintln!(
            "leakstop: {} finding{} below --fail-on {fail_on} (reported, not failing)",
            findings.len() - failing_findings,
            if findings.len() - failing_findings == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    if (args.staged || args.pre_push) && failing_findings > 0 {
        eprintln!("{BLOCKED_COMMIT_HELP}");
    }
    Ok(ScanReport {
        outcome: Outcome {
            findings: failing_findings,
            live_findings,
            incomplete: stats.incomplete(),
        },
        findings,
        stats,
    })
}

/// True if well-known public values (documentation examples, emulator
/// keys) are reported as `info` instead of counted (`--show-known-public`).
pub fn show_known_public(args: &ScanArgs, config: &Config) -> bool {
    args.input.show_known_public || config.scan.show_known_public.unwrap_or(false)
}

/// Verification settings: flags, then the environment, then trusted configs
/// (crate::config::verify_options).
fn verify_options(args: &ScanArgs, config: &Config) -> Result<verify::Options> {
    let flags = config::VerifyFlags {
        timeout: args.verify_timeout,
        deadline: args.verify_deadline,
        no_cache: args.no_verify_cache,
    };
    let (options, notices) = config::verify_options(config, &flags)?;
    for notice in notices {
        eprintln!("leakstop: verify: {notice}");
    }
    Ok(options)
}

/// What a developer whose commit was blocked can do.
const BLOCKED_COMMIT_HELP: &str = "leakstop: commit blocked: the staged changes above contain secrets. Either
  1. remove the secret from the file and `git add` it again (rotate it if it was ever pushed or shared);
  2. if it is not a secret, add `leakstop:allow` in a comment on that line (or on a comment line above);
  3. or accept it: `leakstop baseline create -o .leakstop-baseline.json`, and run the hook with
     `leakstop scan --staged --baseline .leakstop-baseline.json`.";
