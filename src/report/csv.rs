//! `--format csv`: one row per finding, RFC 4180 quoting.

use super::Report;
use std::io::{self, Write};

const HEADER: &[&str] = &[
    "rule_id",
    "provider",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "secret",
    "fingerprint",
    "confidence",
    "severity",
    "client_safe",
    "commit",
    "verification",
    "verification_detail",
];

pub fn write(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    // Org scans (`scan github`) add a last column naming each finding's
    // repository; other scans keep the documented header unchanged.
    let repositories = report.findings.iter().any(|f| f.repository.is_some());
    let repository_column = if repositories { ",repository" } else { "" };
    writeln!(out, "{}{repository_column}", HEADER.join(","))?;
    for f in report.findings {
        let fields = [
            f.rule_id.clone(),
            f.provider.clone(),
            f.path.clone(),
            f.line.to_string(),
            f.column.to_string(),
            f.end_line.to_string(),
            f.end_column.to_string(),
            f.secret
                .clone()
                .unwrap_or_else(|| f.secret_redacted.clone()),
            f.fingerprint.clone(),
            f.confidence.to_string(),
            f.severity.to_string(),
            f.client_safe.to_string(),
            f.commit.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
            f.verification
                .as_ref()
                .map(|v| v.status.to_string())
                .unwrap_or_default(),
            f.verification
                .as_ref()
                .map(|v| v.describe())
                .unwrap_or_default(),
        ];
        let mut row: Vec<String> = fields.iter().map(|field| quote(field)).collect();
        if repositories {
            row.push(quote(f.repository.as_deref().unwrap_or_default()));
        }
        writeln!(out, "{}", row.join(","))?;
    }
    Ok(())
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}
