//! The job summary (`GITHUB_STEP_SUMMARY`): a Markdown table of findings,
//! secrets redacted. Cells hold file names and rule text from the scanned
//! repository, escaped so they cannot break the table or inject HTML.

use crate::finding::Finding;
use std::fmt::Write;

/// Rows shown; the rest are counted (the SARIF file has them all).
pub const MAX_ROWS: usize = 200;

/// Where the scanned files are on GitHub, for links.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// `https://github.com/OWNER/REPO` (`GITHUB_SERVER_URL`/`GITHUB_REPOSITORY`).
    pub repository: Option<String>,
    /// The commit to link files at when a finding names none.
    pub commit: Option<String>,
}

/// Escapes a table cell: `|`, HTML and Markdown specials, control characters.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' | '*' | '_' | '[' | ']' | '\\' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32 & 0xff)),
            c => out.push(c),
        }
    }
    out
}

/// The summary for `findings` of a scan described by `scope`.
pub fn render(
    findings: &[Finding],
    scope: &str,
    files: u64,
    links: &Links,
    prefix: &str,
) -> String {
    let live = findings.iter().filter(|f| f.is_live()).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## leakstop: {} finding{}{}\n",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        if live > 0 {
            format!(", {live} live")
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "Scanned {} ({files} files or blobs).\n", cell(scope));
    if findings.is_empty() {
        let _ = writeln!(out, "No secrets found.");
        return out;
    }
    out.push_str("| severity | rule | location | secret | commit | verification |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for finding in findings.iter().take(MAX_ROWS) {
        let path = format!("{prefix}{}", finding.path);
        let commit = finding.commit.as_ref().map(|c| c.id.as_str());
        let location = match (&links.repository, commit.or(links.commit.as_deref())) {
            (Some(repo), Some(at)) => format!(
                "[{}:{}]({repo}/blob/{at}/{}#L{})",
                cell(&path),
                finding.line,
                url_path(&path),
                finding.line
            ),
            _ => format!("{}:{}", cell(&path), finding.line),
        };
        let verification = finding
            .verification
            .as_ref()
            .map_or("not checked".to_string(), |v| v.status.to_string());
        let _ = writeln!(
            out,
            "| {} | {} | {} | `{}` | {} | {} |",
            finding.severity,
            cell(&finding.rule_id),
            location,
            finding
                .secret_redacted
                .replace('`', "'")
                .replace('|', "\\|"),
            commit.map_or("—".to_string(), |c| c.chars().take(12).collect()),
            verification
        );
    }
    if findings.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n…and {} more (see the SARIF report).",
            findings.len() - MAX_ROWS
        );
    }
    out
}

/// A repository path as a URL path (each segment percent-encoded).
fn url_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("<script>x</script>"), "&lt;script&gt;x&lt;/script&gt;");
        assert_eq!(cell("a\nb"), "a\\x0ab");
        assert_eq!(url_path("dir/a b#.env"), "dir/a%20b%23%2Eenv");
    }
}
