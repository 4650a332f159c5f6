//! `--format json` (one document) and `--format jsonl` (one finding per
//! line). The schema is documented in docs/output.md and versioned.

use super::{Report, REPORT_VERSION};
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
    for finding in report.findings {
        serde_json::to_writer(&mut *out, finding)?;
        writeln!(out)?;
    }
    Ok(())
}
