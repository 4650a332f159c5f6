//! Human output: one block per finding, `path:line:col`, the rule, the
//! redacted secret and a bounded line of context.

use super::Report;
use crate::finding::render_chain;
use crate::rules::Severity;
use crate::text::escape_control as esc;
use crate::verify::Status;
use std::io::{self, Write};

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

pub fn write(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let style = Style { on: report.color };
    for finding in report.findings {
        let severity_color = match finding.severity {
            Severity::Critical | Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low | Severity::Info => "1;36",
        };
        writeln!(
            out,
            "{}:{}:{}: {} {} [{}]",
            style.paint("35", &esc(&finding.path)),
            finding.line,
            finding.column,
            style.paint(severity_color, &finding.severity.to_string()),
            style.paint("1", &finding.rule_id),
            esc(&finding.rule_name),
        )?;
        let secret = finding
            .secret
            .as_deref()
            .unwrap_or(&finding.secret_redacted);
        writeln!(
            out,
            "    secret: {}  confidence: {}  fingerprint: {}",
            style.paint("32", &esc(secret)),
            finding.confidence,
            finding.fingerprint
        )?;
        if let Some(verification) = &finding.verification {
            let color = match verification.status {
                Status::Live => "1;31",
                Status::Invalid | Status::Revoked => "32",
                _ => "33",
            };
            writeln!(
                out,
                "    verification: {}",
                style.paint(color, &esc(&verification.describe()))
            )?;
        }
        if let Some(repository) = &finding.repository {
            writeln!(out, "    repository: {repository}")?;
        }
        if let Some(commit) = &finding.commit {
            writeln!(
                out,
                "    commit: {} by {} on {}",
                esc(&commit.id),
                esc(&commit.author),
                esc(&commit.date)
            )?;
        }
        if let Some(original) = &finding.original {
            writeln!(
                out,
                "    original: {}:{}:{}",
                esc(&original.path),
                original.line,
                original.column
            )?;
        }
        let mut notes = Vec::new();
        if !finding.encoding.is_empty() {
            notes.push(format!("encoded as {}", render_chain(&finding.encoding)));
        }
        if finding.client_exposed {
            notes.push("client-side: shipped to browsers/apps".to_string());
        }
        if !notes.is_empty() {
            writeln!(out, "    {}", esc(&notes.join("; ")))?;
        }
        writeln!(
            out,
            "    {}",
            style.paint("2", &format!("│ {}", esc(&finding.context)))
        )?;
        if let Some(rule) = report.rules.get(finding.rule_id.as_str()) {
            writeln!(out, "    fix: {}", rule.remediation)?;
        }
        writeln!(out)?;
    }
    Ok(())
}
