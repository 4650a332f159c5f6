//! File/line annotations as GitHub workflow commands
//! (`::error file=…,line=…::message`). File names come from the scanned
//! repository, so every value is escaped the way the runner unescapes it: a
//! newline in a file name cannot end the command and start another one.

use crate::finding::{Finding, Severity};

/// Escapes a command's message (`%`, CR, LF).
pub fn escape_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if c.is_control() => out.push_str(&format!("%{:02X}", c as u32 & 0xff)),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a command's property value (also `:` and `,`, which separate properties).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow command for one finding; `prefix` is the scan root relative
/// to the repository (`dist/` for a directory scan of `dist`).
pub fn command(finding: &Finding, prefix: &str) -> String {
    let level = match finding.severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "notice",
    };
    let live = finding.is_live();
    let mut message = format!(
        "{} ({}): {}{}",
        finding.rule_name,
        finding.rule_id,
        finding.secret_redacted,
        if live { " — LIVE: revoke it now" } else { "" }
    );
    if let Some(commit) = &finding.commit {
        message.push_str(&format!(" — introduced in {}", commit.id));
    }
    message.push_str(&format!(" — fingerprint {}", finding.fingerprint));
    format!(
        "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        escape_property(&format!("{prefix}{}", finding.path)),
        finding.line,
        finding.column,
        finding.end_line,
        finding.end_column,
        escape_property(&format!("leakstop: {}", finding.rule_name)),
        escape_data(&message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_line_breaks_are_escaped() {
        assert_eq!(escape_data("50% a\nb\r"), "50%25 a%0Ab%0D");
        assert_eq!(escape_property("a,b:c\n::x"), "a%2Cb%3Ac%0A%3A%3Ax");
        assert_eq!(escape_data("\x1b]0;t\x07"), "%1B]0;t%07");
    }
}
