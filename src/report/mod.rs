//! Reports: one module per format. Every format carries redacted secrets
//! unless the user asked for `--show-secrets`.

mod csv;
pub mod html;
mod human;
pub mod json;
pub mod merge;
mod sarif;

use crate::finding::Finding;
use crate::rules::Rule;
use crate::stats::ScanStats;
use crate::text::{escape_control as esc, human_bytes};
use std::collections::HashMap;
use std::io::{self, Write};

/// JSON report format version; bump on any incompatible change (docs/output.md).
pub const REPORT_VERSION: u32 = 1;

/// The report formats (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Jsonl,
    Sarif,
    Csv,
    /// One self-contained page (summary, charts, a sortable table); secrets always redacted.
    Html,
}

/// Everything a report renders.
pub struct Report<'a> {
    pub findings: &'a [Finding],
    pub stats: &'a ScanStats,
    pub rules: HashMap<&'a str, &'a Rule>,
    pub color: bool,
}

/// Writes `report` in `format` to `out`.
pub fn write(format: Format, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human::write(report, out),
        Format::Json => json::write(report, out),
        Format::Jsonl => json::write_lines(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Csv => csv::write(report, out),
        Format::Html => html::write(report, out),
    }
}

/// One-paragraph account of what was scanned, skipped and found, for stderr.
pub fn summary(stats: &ScanStats, baseline_unused: usize) -> String {
    summary_with(stats, baseline_unused, false)
}

/// The same; `verbose` (`scan -v`) also lists each missing source map, which
/// otherwise is only counted: a `sourceMappingURL` naming a map that was
/// not shipped is normal in vendored code, and dozens of such lines would
/// bury the warnings that need action.
pub fn summary_with(stats: &ScanStats, baseline_unused: usize, verbose: bool) -> String {
    let mut text = format!(
        "leakstop: scanned {} file{} ({}) in {:.2}s; {} finding{}",
        stats.files_scanned,
        if stats.files_scanned == 1 { "" } else { "s" },
        human_bytes(stats.bytes_scanned),
        stats.elapsed_ms as f64 / 1000.0,
        stats.findings,
        if stats.findings == 1 { "" } else { "s" },
    );
    if !stats.skipped.is_empty() {
        let parts: Vec<String> = stats
            .skipped
            .iter()
            .map(|(reason, n)| format!("{n} {}", reason.describe()))
            .collect();
        text.push_str(&format!("\nleakstop: skipped: {}", parts.join(", ")));
    }
    if !stats.suppressed.is_empty() {
        let parts: Vec<String> = stats
            .suppressed
            .iter()
            .map(|(reason, n)| {
                format!(
                    "{n} by {}",
                    serde_json::to_value(reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                        .replace('_', " ")
                )
            })
            .collect();
        text.push_str(&format!("\nleakstop: suppressed: {}", parts.join(", ")));
    }
    if baseline_unused > 0 {
        text.push_str(&format!(
            "\nleakstop: {baseline_unused} baseline entr{} matched nothing in this scan (stale?)",
            if baseline_unused == 1 { "y" } else { "ies" }
        ));
    }
    let mut maps_missing = 0;
    for warning in &stats.warnings {
        if !verbose && warning.kind == crate::stats::ProblemKind::SourceMapMissing {
            maps_missing += 1;
            continue;
        }
        text.push_str(&format!(
            "\nleakstop: warning: {}: {}",
            esc(&warning.path),
            esc(&warning.message)
        ));
    }
    if maps_missing > 0 {
        text.push_str(&format!(
            "\nleakstop: {maps_missing} source map{} named by a sourceMappingURL not found (usual in vendored code; -v lists them)",
            if maps_missing == 1 { "" } else { "s" }
        ));
    }
    if stats.incomplete() {
        text.push_str(&format!(
            "\nleakstop: INCOMPLETE: {} input{} could not be read or scanned:",
            stats.errors.len(),
            if stats.errors.len() == 1 { "" } else { "s" }
        ));
        for error in stats.errors.iter().take(20) {
            text.push_str(&format!(
                "\n  {}: {}",
                esc(&error.path),
                esc(&error.message)
            ));
        }
        if stats.errors.len() > 20 {
            text.push_str(&format!("\n  … and {} more", stats.errors.len() - 20));
        }
    }
    text
}
