//! `--format json` (one document) and `--format jsonl` (one finding per
//! line). The schema is documented in docs/output.md and versioned.

use super::{Report, REPORT_VERSION};
use crate::finding::Finding;
use serde_json::json;
use std::io::{self, Write};

pub fn write(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let document = json!({
        "version": REPORT_VERSION,
        "tool": { "name": "leakstop", "version": env!("CARGO_PKG_VERSION") },
        "findings": report.findings,
        "stats": report.stats,
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

pub fn write_lines(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    report
        .findings
        .iter()
        .try_for_each(|finding| write_line(finding, out))
}

/// One JSONL line: a finding as the JSON report holds it.
pub fn write_line(finding: &Finding, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, finding)?;
    writeln!(out)
}
