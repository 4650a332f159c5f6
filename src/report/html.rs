//! `--format html` and `leakstop report html`: one self-contained page that
//! opens from a CI artifact with no network at all. The page's own
//! Content-Security-Policy allows only its one inline script and style (by
//! hash) and nothing else, so even a finding crafted to look like markup can
//! neither run code nor make the browser fetch anything. Every text is
//! escaped; the findings travel as JSON in a `<script type="application/json">`
//! block with `<`, `>` and `&` written as `\u003c`…, so no value can close it.
//! The secret is always redacted here, even with `--show-secrets`: a page is
//! passed around more freely than a JSON file.

use super::Report;
use crate::finding::Finding;
use base64::Engine as _;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The page's script: sorting and filtering of the findings table.
const SCRIPT: &str = include_str!("html/report.js");
/// The page's style.
const STYLE: &str = include_str!("html/report.css");

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script type="application/json">` block: nothing in
/// it can end the block or start a comment, whatever the data holds.
pub fn script_json<T: Serialize>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The CSP source for an inline script or style: `'sha256-…'`.
fn csp_hash(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// Where a location can be seen on GitHub (an org scan names the repository).
pub fn github_link(
    web: &str,
    repo: &str,
    commit: Option<&str>,
    path: &str,
    line: usize,
) -> Option<String> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let (owner, name) = repo.split_once('/')?;
    if !valid(owner) || !valid(name) || path.contains('!') {
        return None;
    }
    let commit = commit.filter(|c| c.chars().all(|c| c.is_ascii_hexdigit()) && !c.is_empty());
    const SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'`')
        .add(b'{')
        .add(b'}')
        .add(b'\'')
        .add(b'\\');
    Some(format!(
        "{}/{owner}/{name}/blob/{}/{}#L{line}",
        web.trim_end_matches('/'),
        commit.unwrap_or("HEAD"),
        percent_encoding::utf8_percent_encode(path.trim_start_matches('/'), SET)
    ))
}

/// A horizontal bar chart as inline SVG: one bar per (label, count).
pub fn bar_chart(title: &str, items: &[(String, usize)]) -> String {
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let height = 24 + items.len() * 20;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 460 {height}\" width=\"460\" height=\"{height}\" aria-label=\"{}\"><text x=\"0\" y=\"14\" class=\"chart-title\">{}</text>",
        escape(title),
        escape(title)
    );
    for (i, (label, count)) in items.iter().enumerate() {
        let y = 24 + i * 20;
        let width = (*count as f64 / max as f64 * 240.0).max(1.0);
        let short: String = label.chars().take(24).collect();
        svg.push_str(&format!(
            "<g><title>{}: {count}</title><text x=\"0\" y=\"{}\">{}</text><rect x=\"170\" y=\"{}\" width=\"{width:.1}\" height=\"14\" class=\"bar\"></rect><text x=\"{:.1}\" y=\"{}\">{count}</text></g>",
            escape(label),
            y + 12,
            escape(&short),
            y + 2,
            176.0 + width,
            y + 12
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A column chart over days (history scans: leaks introduced per day).
fn time_chart(days: &BTreeMap<String, usize>) -> String {
    let max = days.values().copied().max().unwrap_or(0).max(1);
    let width = 40 + days.len() * 14;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {width} 150\" width=\"{width}\" height=\"150\" aria-label=\"Leaks introduced over time\"><text x=\"0\" y=\"14\" class=\"chart-title\">Leaks introduced per day (commit date)</text>"
    );
    for (i, (day, count)) in days.iter().enumerate() {
        let h = (*count as f64 / max as f64 * 100.0).max(1.0);
        let x = 20 + i * 14;
        svg.push_str(&format!(
            "<g><title>{}: {count}</title><rect x=\"{x}\" y=\"{:.1}\" width=\"10\" height=\"{h:.1}\" class=\"bar\"></rect></g>",
            escape(day),
            130.0 - h
        ));
    }
    if let (Some(first), Some(last)) = (days.keys().next(), days.keys().last()) {
        svg.push_str(&format!(
            "<text x=\"20\" y=\"146\">{}</text><text x=\"{}\" y=\"146\" text-anchor=\"end\">{}</text>",
            escape(first),
            width - 4,
            escape(last)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// What the page shows of one finding (never the secret).
#[derive(Serialize)]
struct Row<'a> {
    rule_id: &'a str,
    rule_name: &'a str,
    provider: &'a str,
    severity: String,
    status: String,
    repository: &'a str,
    path: &'a str,
    line: usize,
    commit: Option<&'a str>,
    date: Option<&'a str>,
    secret_redacted: &'a str,
    fingerprint: &'a str,
    #[serde(skip)]
    link: Option<String>,
}

fn row(finding: &Finding) -> Row<'_> {
    let repository = finding.repository.as_deref().unwrap_or("");
    let commit = finding.commit.as_ref().map(|c| c.id.as_str());
    Row {
        rule_id: &finding.rule_id,
        rule_name: &finding.rule_name,
        provider: &finding.provider,
        severity: finding.severity.to_string(),
        status: finding
            .verification
            .as_ref()
            .map(|v| v.status.as_str().to_string())
            .unwrap_or_else(|| "unverified".into()),
        repository,
        path: &finding.path,
        line: finding.line,
        commit,
        date: finding.commit.as_ref().map(|c| c.date.as_str()),
        secret_redacted: &finding.secret_redacted,
        fingerprint: &finding.fingerprint,
        link: github_link(
            "https://github.com",
            repository,
            commit,
            &finding.path,
            finding.line,
        ),
    }
}

fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

/// Counts by a key, largest first.
fn counts<'a>(rows: &'a [Row<'a>], key: impl Fn(&'a Row<'a>) -> &'a str) -> Vec<(String, usize)> {
    let mut map: BTreeMap<&str, usize> = BTreeMap::new();
    for row in rows {
        *map.entry(key(row)).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> = map
        .into_iter()
        .map(|(k, n)| {
            (
                if k.is_empty() {
                    "(none)".into()
                } else {
                    k.to_string()
                },
                n,
            )
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

fn count_table(title: &str, items: &[(String, usize)]) -> String {
    let mut html = format!(
        "<table class=\"counts\"><caption>{}</caption><tbody>",
        escape(title)
    );
    for (label, n) in items {
        html.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
            escape(label)
        ));
    }
    html.push_str("</tbody></table>");
    html
}

fn filter_select(key: &str, title: &str, items: &[(String, usize)]) -> String {
    let mut html = format!(
        "<label>{} <select data-filter=\"{key}\" id=\"filter-{key}\"><option value=\"\">all</option>",
        escape(title)
    );
    let mut values: Vec<&String> = items.iter().map(|(v, _)| v).collect();
    values.sort();
    for value in values {
        let raw = if value == "(none)" {
            ""
        } else {
            value.as_str()
        };
        if raw.is_empty() {
            continue;
        }
        html.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            escape(raw),
            escape(raw)
        ));
    }
    html.push_str("</select></label>");
    html
}

/// Writes the page.
pub fn write(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<Row<'_>> = report.findings.iter().map(row).collect();
    let by_provider = counts(&rows, |r| r.provider);
    let by_severity = counts(&rows, |r| r.severity.as_str());
    let by_status = counts(&rows, |r| r.status.as_str());
    let by_repository = counts(&rows, |r| r.repository);
    let mut days: BTreeMap<String, usize> = BTreeMap::new();
    for row in &rows {
        if let Some(day) = row.date.and_then(|d| d.get(..10)) {
            *days.entry(day.to_string()).or_default() += 1;
        }
    }
    let live = rows.iter().filter(|r| r.status == "live").count();
    let csp = format!(
        "default-src 'none'; script-src {}; style-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE)
    );
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    // The policy is ours (hashes are base64): no quote to escape.
    html.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">"
    ));
    html.push_str("<meta name=\"referrer\" content=\"no-referrer\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>leakstop report</title>");
    html.push_str(&format!("<style>{STYLE}</style></head><body>"));
    html.push_str(&format!(
        "<header><h1>leakstop report</h1><p class=\"meta\">{} finding{}, <strong>{live} live</strong>; {} file{} scanned{}. Secrets are redacted.</p></header>",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        report.stats.files_scanned,
        if report.stats.files_scanned == 1 { "" } else { "s" },
        if report.stats.incomplete() {
            "; <strong class=\"warn\">INCOMPLETE: some inputs could not be read</strong>"
        } else {
            ""
        }
    ));
    html.push_str("<section class=\"summary\">");
    html.push_str(&count_table("By provider", &by_provider));
    html.push_str(&count_table("By severity", &by_severity));
    html.push_str(&count_table("By verification", &by_status));
    html.push_str(&count_table("By repository", &by_repository));
    html.push_str("</section><section class=\"charts\">");
    html.push_str(&bar_chart("Findings by provider", &by_provider));
    html.push_str(&bar_chart("Findings by repository", &by_repository));
    if !days.is_empty() {
        html.push_str(&time_chart(&days));
    }
    html.push_str("</section><section><h2>Findings</h2><form class=\"filters\" id=\"filters\">");
    html.push_str("<label>Search <input type=\"search\" id=\"search\" placeholder=\"path, rule, fingerprint…\"></label>");
    html.push_str(&filter_select("provider", "Provider", &by_provider));
    html.push_str(&filter_select("severity", "Severity", &by_severity));
    html.push_str(&filter_select("status", "Verification", &by_status));
    html.push_str(&filter_select("repository", "Repository", &by_repository));
    html.push_str(&format!(
        "<span class=\"shown\"><span id=\"shown\">{}</span> shown</span></form>",
        rows.len()
    ));
    html.push_str("<table id=\"findings\" class=\"findings\"><thead><tr><th data-sort=\"severity\">Severity</th><th data-sort>Provider</th><th data-sort>Rule</th><th data-sort>Verification</th><th data-sort>Repository</th><th data-sort>Location</th><th data-sort>Commit</th><th data-sort>Secret</th><th data-sort>Fingerprint</th></tr></thead><tbody>");
    for row in &rows {
        let place = format!("{}:{}", row.path, row.line);
        let location = match &row.link {
            Some(link) => format!(
                "<a href=\"{}\" rel=\"noreferrer noopener\" target=\"_blank\">{}</a>",
                escape(link),
                escape(&place)
            ),
            None => escape(&place),
        };
        html.push_str(&format!(
            "<tr data-provider=\"{}\" data-severity=\"{}\" data-status=\"{}\" data-repository=\"{}\"><td data-key=\"{}\" class=\"sev-{}\">{}</td><td>{}</td><td title=\"{}\">{}</td><td class=\"st-{}\">{}</td><td>{}</td><td class=\"path\">{location}</td><td data-key=\"{}\">{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            escape(row.provider),
            escape(&row.severity),
            escape(&row.status),
            escape(row.repository),
            severity_rank(&row.severity),
            escape(&row.severity),
            escape(&row.severity),
            escape(row.provider),
            escape(row.rule_name),
            escape(row.rule_id),
            escape(&row.status),
            escape(&row.status),
            escape(row.repository),
            escape(row.date.unwrap_or("")),
            escape(&row.commit.map(|c| c.chars().take(10).collect::<String>()).unwrap_or_default()),
            escape(row.secret_redacted),
            escape(row.fingerprint),
        ));
    }
    html.push_str("</tbody></table></section>");
    html.push_str(&format!(
        "<script type=\"application/json\" id=\"leakstop-data\">{}</script>",
        script_json(&serde_json::json!({
            "version": super::REPORT_VERSION,
            "findings": rows,
            "stats": { "files_scanned": report.stats.files_scanned, "bytes_scanned": report.stats.bytes_scanned, "incomplete": report.stats.incomplete() },
        }))
    ));
    html.push_str(&format!("<script>{SCRIPT}</script></body></html>\n"));
    out.write_all(html.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_its_block() {
        let text = script_json(&serde_json::json!({"path": "</script><script>alert(1)</script>&"}));
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["path"], "</script><script>alert(1)</script>&");
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn links_only_for_plain_repository_names() {
        assert_eq!(
            github_link(
                "https://github.com",
                "acme/app",
                Some("abc123"),
                "a b#.env",
                3
            )
            .as_deref(),
            Some("https://github.com/acme/app/blob/abc123/a%20b%23.env#L3")
        );
        assert_eq!(
            github_link("https://github.com", "javascript:x/y", None, "a", 1),
            None
        );
        assert_eq!(github_link("https://github.com", "", None, "a", 1), None);
    }
}
