//! `leakstop report merge`: shard reports in, one report out (in any
//! format), with the same summary and outcome as the scan it stands for.

use crate::exit::Outcome;
use crate::report::{self, merge, Format, Report};
use crate::rules::{self, Rule};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    match output {
        Some(path) => std::fs::write(path, buffer)
            .with_context(|| format!("writing the merged report to {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&buffer)?;
            stdout.flush()?;
        }
    }
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
