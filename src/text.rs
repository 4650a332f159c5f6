//! Byte-level text helpers: line/column lookup and bounded context snippets.
//! Blobs are bytes (invalid UTF-8 is scanned, not rejected).

use std::ops::Range;

/// Line starts of a blob, built once per blob that has findings.
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(blob: &[u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', blob).map(|i| i + 1));
        LineIndex {
            starts,
            len: blob.len(),
        }
    }

    /// 0-based line number containing byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset) - 1
    }

    /// Byte range of 0-based `line`, without its line terminator.
    pub fn line_range(&self, blob: &[u8], line: usize) -> Range<usize> {
        let start = self.starts[line];
        let mut end = self.starts.get(line + 1).map_or(self.len, |next| next - 1);
        if end > start && blob.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        start..end
    }

    /// 1-based (line, column) of `offset`; the column counts characters
    /// (UTF-8 scalar values; each invalid byte counts as one).
    pub fn position(&self, blob: &[u8], offset: usize) -> (usize, usize) {
        let line = self.line_of(offset);
        let start = self.starts[line];
        let column = char_count(&blob[start..offset.min(blob.len())]) + 1;
        (line + 1, column)
    }
}

fn char_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

/// Characters of context shown on each side of a secret.
pub const CONTEXT_RADIUS: usize = 48;

/// The line around `focus`, cut to about `CONTEXT_RADIUS` bytes on each side
/// (so a 3 MB minified line prints as one short line), with every range in
/// `redact` (secrets on that line) replaced by its redacted text.
pub fn context_snippet(
    blob: &[u8],
    line: Range<usize>,
    focus: Range<usize>,
    redact: &[(Range<usize>, String)],
) -> String {
    let mut from = focus.start.saturating_sub(CONTEXT_RADIUS).max(line.start);
    let mut to = focus
        .end
        .min(line.end)
        .saturating_add(CONTEXT_RADIUS)
        .min(line.end)
        .max(from);
    while from > line.start && (blob[from] & 0xC0) == 0x80 {
        from -= 1;
    }
    while to < line.end && (blob[to] & 0xC0) == 0x80 {
        to += 1;
    }
    let mut out = String::new();
    if from > line.start {
        out.push('…');
    }
    let mut at = from;
    let mut pending: Vec<&(Range<usize>, String)> = redact
        .iter()
        .filter(|(r, _)| r.start < to && r.end > from)
        .collect();
    pending.sort_by_key(|(r, _)| r.start);
    for (range, replacement) in pending {
        if range.start > at {
            push_clean(&mut out, &blob[at..range.start]);
        }
        if range.end > at {
            out.push_str(replacement);
            at = range.end;
        }
    }
    if at < to {
        push_clean(&mut out, &blob[at..to]);
    }
    if to < line.end {
        out.push('…');
    }
    out.trim().to_string()
}

fn push_clean(out: &mut String, bytes: &[u8]) {
    for ch in String::from_utf8_lossy(bytes).chars() {
        out.push(if ch.is_control() { ' ' } else { ch });
    }
}

/// Inline comments that suppress a finding on their line or the next one.
/// Other tools' forms are honoured so teams can migrate.
pub const ALLOW_MARKERS: &[&str] = &[
    "leakstop:allow",
    "gitleaks:allow",
    "pragma: allowlist secret",
];

/// True if `line` carries an allow marker.
pub fn has_allow_marker(line: &[u8]) -> bool {
    ALLOW_MARKERS
        .iter()
        .any(|marker| memchr::memmem::find(line, marker.as_bytes()).is_some())
}

/// Comment leaders of common languages and config formats.
const COMMENT_LEADERS: &[&str] = &[
    "#", "//", "/*", "*", "--", ";", "<!--", "%", "'", "rem ", "REM ",
];

/// True if `line` is a comment carrying an allow marker: such a line
/// suppresses findings on the line below it. (A marker at the end of a code
/// line only covers that line.)
pub fn is_allow_comment_line(line: &[u8]) -> bool {
    let trimmed = line.trim_ascii_start();
    COMMENT_LEADERS
        .iter()
        .any(|leader| trimmed.starts_with(leader.as_bytes()))
        && has_allow_marker(line)
}

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let blob = "ab\nçé key\n".as_bytes();
        let index = LineIndex::new(blob);
        let key = blob.windows(3).position(|w| w == b"key").unwrap();
        assert_eq!(index.position(blob, key), (2, 4));
        assert_eq!(index.position(blob, 0), (1, 1));
        assert_eq!(index.line_range(blob, 1), 3..blob.len() - 1);
    }

    #[test]
    fn context_of_a_huge_line_is_bounded_and_redacted() {
        let mut blob = vec![b'a'; 3_000_000];
        blob.extend_from_slice(b"SECRETVALUE");
        blob.extend(vec![b'b'; 3_000_000]);
        let focus = 3_000_000..3_000_011;
        let snippet = context_snippet(
            &blob,
            0..blob.len(),
            focus.clone(),
            &[(focus, "SE*****".into())],
        );
        assert!(snippet.len() < 2 * CONTEXT_RADIUS + 20, "{}", snippet.len());
        assert!(snippet.contains("SE*****") && !snippet.contains("SECRETVALUE"));
        assert!(snippet.starts_with('…') && snippet.ends_with('…'));
    }

    #[test]
    fn allow_markers_of_other_tools_are_honoured() {
        assert!(has_allow_marker(b"token = 'x' # gitleaks:allow"));
        assert!(has_allow_marker(b"pw = 'x'  # pragma: allowlist secret"));
        assert!(!has_allow_marker(b"token = 'x'"));
    }
}
