//! `--format csv`: one row per finding, RFC 4180 quoting, and cells a
//! spreadsheet would run as a formula defused (OWASP "CSV injection").

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

/// Quotes `field` as RFC 4180 asks; a field a spreadsheet would read as a
/// formula (starting with `=`, `+`, `-`, `@`, tab or CR: a path or an entry
/// name is input) gets a leading `'` first, so it is shown as text.
fn quote(field: &str) -> String {
    let guarded;
    let field = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{field}");
        guarded.as_str()
    } else {
        field
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn formulas_are_defused_and_quoting_kept() {
        assert_eq!(quote("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(quote("+1"), "'+1");
        assert_eq!(quote("-2+3"), "'-2+3");
        assert_eq!(quote("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(quote("\tx"), "'\tx");
        assert_eq!(quote("\rx"), "\"'\rx\"");
        assert_eq!(quote("src/a.env"), "src/a.env");
        assert_eq!(quote("a,b"), "\"a,b\"");
    }
}
