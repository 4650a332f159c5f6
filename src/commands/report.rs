//! `leakstop report merge`: shard reports in, one report out (in any
//! format), with the same summary and outcome as the scan it stands for.
//! `leakstop report html`: JSON or JSONL reports in, one self-contained page out.

use crate::exit::Outcome;
use crate::report::{self, merge, Format, Report};
use crate::rules::{self, Rule};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Reads a JSON report, or a JSON Lines one (a finding per line, no stats).
fn read_any(path: &Path) -> Result<merge::ReportDocument> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim_start().starts_with('{') && text.trim_start().contains("\"findings\"") {
        if let Ok(document) = merge::read(path) {
            return Ok(document);
        }
    }
    let mut findings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let finding = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: neither a leakstop JSON report nor JSON Lines of findings",
                path.display(),
                index + 1
            )
        })?;
        findings.push(finding);
    }
    Ok(merge::ReportDocument {
        version: crate::report::REPORT_VERSION,
        findings,
        stats: merge::empty_stats(),
    })
}

/// `report html`: the reports' findings on one page.
pub fn html(reports: &[PathBuf], output: Option<&Path>) -> Result<Outcome> {
    let documents = reports
        .iter()
        .map(|path| read_any(path))
        .collect::<Result<Vec<_>>>()?;
    let (findings, stats) = merge::merge(documents);
    let report = Report {
        findings: &findings,
        stats: &stats,
        rules: HashMap::new(),
        color: false,
    };
    let mut buffer = Vec::new();
    report::write(Format::Html, &report, &mut buffer)?;
    write_out(output, &buffer, "the HTML report")?;
    eprintln!(
        "leakstop: HTML report of {} finding{}{}",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        output
            .map(|p| format!(" written to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(Outcome::default())
}

fn write_out(output: Option<&Path>, buffer: &[u8], what: &str) -> Result<()> {
    match output {
        Some(path) => std::fs::write(path, buffer)
            .with_context(|| format!("writing {what} to {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(buffer)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

/// Merges `reports` and writes the result to `output` (stdout if `None`).
pub fn merge(reports: &[PathBuf], output: Option<&Path>, format: Format) -> Result<Outcome> {
    let documents = reports
        .iter()
        .map(|path| merge::read(path))
        .collect::<Result<Vec<_>, _>>()?;
    let (findings, stats) = merge::merge(documents);
    // Rule help for SARIF comes from the embedded rules; a config's own
    // rules keep the name the report gave them.
    let embedded = rules::embedded_rules()?;
    let report = Report {
        findings: &findings,
        stats: &stats,
        rules: embedded
            .iter()
            .map(|r| (r.id.as_str(), r))
            .collect::<HashMap<&str, &Rule>>(),
        color: false,
    };
    let mut buffer = Vec::new();
    report::write(format, &report, &mut buffer)?;
    write_out(output, &buffer, "the merged report")?;
    eprintln!(
        "leakstop: merged {} report{}",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" }
    );
    eprintln!("{}", report::summary(&stats, 0));
    Ok(Outcome {
        findings: findings.len(),
        live_findings: findings.iter().filter(|f| f.is_live()).count(),
        incomplete: stats.incomplete(),
    })
}
