//! `--format sarif`: SARIF 2.1.0 as GitHub code scanning accepts it: one run,
//! each rule listed once with help text, physical locations, and
//! `partialFingerprints` so alerts stay stable across runs. Secrets are
//! redacted in messages unless `--show-secrets`.

use super::Report;
use crate::finding::{render_chain, Finding};
use crate::rules::{Confidence, Rule, Severity};
use ring::digest::{digest, SHA256};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn write(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules: Vec<Value> = Vec::new();
    for finding in report.findings {
        if rule_index.contains_key(finding.rule_id.as_str()) {
            continue;
        }
        rule_index.insert(&finding.rule_id, rules.len());
        rules.push(match report.rules.get(finding.rule_id.as_str()) {
            Some(rule) => describe_rule(rule),
            None => json!({
                "id": finding.rule_id,
                "shortDescription": { "text": finding.rule_name },
                "fullDescription": { "text": finding.rule_name },
                "help": { "text": finding.rule_name },
            }),
        });
    }
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(f, rule_index[f.rule_id.as_str()]))
        .collect();
    let document = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "leakstop",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/leakstop/leakstop",
                "rules": rules,
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

fn describe_rule(rule: &Rule) -> Value {
    let help = format!(
        "{}\n\nRemediation: {}\n\nDocumentation: {}",
        rule.description,
        rule.remediation,
        rule.docs_url()
    );
    let markdown = format!(
        "{}\n\n**Remediation:** {}\n\n[Provider documentation]({})",
        rule.description,
        rule.remediation,
        rule.docs_url()
    );
    json!({
        "id": rule.id,
        "name": pascal_case(&rule.id),
        "shortDescription": { "text": truncate(&rule.name, 1024) },
        "fullDescription": { "text": truncate(&rule.description, 1024) },
        "help": { "text": help, "markdown": markdown },
        "helpUri": rule.docs_url(),
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": {
            "tags": ["security", "secret", rule.provider.clone()],
            "precision": match rule.confidence {
                Confidence::High => "very-high",
                Confidence::Medium => "high",
                Confidence::Low => "medium",
            },
            "problem.severity": match rule.severity {
                Severity::Critical | Severity::High => "error",
                Severity::Medium => "warning",
                Severity::Low | Severity::Info => "recommendation",
            },
            "security-severity": security_severity(rule.severity),
        },
    })
}

fn result(finding: &Finding, rule_index: usize) -> Value {
    let shown = finding
        .secret
        .as_deref()
        .unwrap_or(&finding.secret_redacted);
    let mut message = format!("{} found: {}", finding.rule_name, shown);
    if let Some(verification) = &finding.verification {
        message.push_str(&format!(". Verification: {}", verification.describe()));
    }
    let mut properties = json!({
        "fingerprint": finding.fingerprint,
        "confidence": finding.confidence,
        "severity": finding.severity,
        "clientSafe": finding.client_safe,
        "clientExposed": finding.client_exposed,
    });
    if let Some(verification) = &finding.verification {
        properties["verification"] = json!(verification);
    }
    if !finding.encoding.is_empty() {
        properties["encoding"] = json!(render_chain(&finding.encoding));
    }
    if let Some(original) = &finding.original {
        properties["original"] = json!(original);
    }
    if let Some(repository) = &finding.repository {
        properties["repository"] = json!(repository);
    }
    json!({
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": { "text": message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri_path(&finding.path) },
                "region": {
                    "startLine": finding.line,
                    "startColumn": finding.column,
                    "endLine": finding.end_line,
                    "endColumn": finding.end_column,
                },
            },
        }],
        "partialFingerprints": {
            "primaryLocationLineHash": location_hash(finding),
            "leakstopFingerprint/v1": finding.fingerprint,
        },
        "properties": properties,
    })
}

/// Stable per (secret, file): the same secret in two files is two alerts,
/// a moved line in one file is still the same alert.
fn location_hash(finding: &Finding) -> String {
    let digest = digest(
        &SHA256,
        format!("{}\0{}", finding.fingerprint, finding.path).as_bytes(),
    );
    digest
        .as_ref()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn pascal_case(id: &str) -> String {
    id.split(['.', '-'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max - 1;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end - 2])
}

/// Relative paths as URI references: percent-encode what a URI cannot hold.
fn uri_path(path: &str) -> String {
    // `scan url` findings: the fetched URL is already an absolute URI.
    if path.starts_with("https://") || path.starts_with("http://") {
        return path.replace(' ', "%20");
    }
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b'!'
            | b'@'
            | b'+'
            | b'='
            | b',' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
