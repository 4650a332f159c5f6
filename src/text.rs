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

/// Longest line on which an allow marker counts. Longer lines are minified
/// or generated code, where one marker anywhere would silence every secret
/// on a line that can hold a whole bundle.
pub const ALLOW_MAX_LINE: usize = 1000;

/// Most bytes between an allow marker and the secret it covers: a marker
/// allows the secret a reader sees next to it, not everything in reach.
pub const ALLOW_MAX_DISTANCE: usize = 200;

/// Comment leaders that may open a comment after code on the same line.
const TRAILING_COMMENT_LEADERS: &[&str] =
    &["#", "//", "/*", "<!--", "--", ";", "%", "REM ", "rem "];

/// Comment leaders of common languages and config formats, at the start of
/// a line.
const COMMENT_LEADERS: &[&str] = &[
    "#", "//", "/*", "*", "--", ";", "<!--", "%", "'", "rem ", "REM ",
];

/// Byte ranges of the allow markers in `blob[range]`.
fn markers_in(blob: &[u8], range: Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
    let base = range.start;
    let text = &blob[range];
    ALLOW_MARKERS.iter().flat_map(move |marker| {
        memchr::memmem::find_iter(text, marker.as_bytes())
            .map(move |at| base + at..base + at + marker.len())
    })
}

/// Bytes between two ranges (0 if they touch or overlap).
fn gap(a: &Range<usize>, b: &Range<usize>) -> usize {
    if a.end <= b.start {
        b.start - a.end
    } else {
        a.start.saturating_sub(b.end)
    }
}

/// True if an allow marker covers the secret at `secret`: a marker inside a
/// comment on the secret's own line, or on a comment line just above it,
/// within [`ALLOW_MAX_DISTANCE`] bytes of the secret, on lines no longer
/// than [`ALLOW_MAX_LINE`].
pub fn allow_marker_covers(blob: &[u8], lines: &LineIndex, secret: Range<usize>) -> bool {
    let line = lines.line_of(secret.start.min(blob.len()));
    let own = lines.line_range(blob, line);
    if own.len() > ALLOW_MAX_LINE {
        return false;
    }
    let near = |marker: &Range<usize>| gap(marker, &secret) <= ALLOW_MAX_DISTANCE;
    let in_comment = |marker: &Range<usize>| {
        let before = &blob[own.start..marker.start];
        TRAILING_COMMENT_LEADERS
            .iter()
            .any(|leader| memchr::memmem::find(before, leader.as_bytes()).is_some())
    };
    if markers_in(blob, own.clone()).any(|m| near(&m) && in_comment(&m)) {
        return true;
    }
    if line == 0 {
        return false;
    }
    let above = lines.line_range(blob, line - 1);
    above.len() <= ALLOW_MAX_LINE
        && is_comment_line(&blob[above.clone()])
        && markers_in(blob, above).any(|m| near(&m))
}

/// True if `line` is a comment (starts with a comment leader).
fn is_comment_line(line: &[u8]) -> bool {
    let trimmed = line.trim_ascii_start();
    COMMENT_LEADERS
        .iter()
        .any(|leader| trimmed.starts_with(leader.as_bytes()))
}

/// True for characters a terminal acts on instead of showing: C0 and C1
/// controls (ESC starts escape sequences, BEL, CR and LF rewrite or forge
/// lines), DEL, and the bidirectional overrides that reorder what is shown.
fn is_unsafe_char(ch: char) -> bool {
    ch.is_control()
        || matches!(ch, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` safe to print to a terminal: every control character shown as an
/// escape (`\n`, `\x1b`, `\u{202e}`). Every human-facing field that holds
/// input-derived text (paths, archive entry names, git metadata, messages
/// naming them) goes through this.
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ch if is_unsafe_char(ch) && (ch as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", ch as u32))
            }
            ch if is_unsafe_char(ch) => out.push_str(&format!("\\u{{{:x}}}", ch as u32)),
            ch => out.push(ch),
        }
    }
    std::borrow::Cow::Owned(out)
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

    /// Whether a marker covers the secret `x` (the first `SECRET`) in `blob`.
    fn covered(blob: &str) -> bool {
        let at = blob.find("SECRET").unwrap();
        allow_marker_covers(
            blob.as_bytes(),
            &LineIndex::new(blob.as_bytes()),
            at..at + 6,
        )
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("src/a.env"), "src/a.env");
        assert_eq!(
            escape_control("a\x1b]0;x\x07\nb\r\u{85}\u{202e}\x7f"),
            "a\\x1b]0;x\\x07\\nb\\r\\u{85}\\u{202e}\\x7f"
        );
    }

    #[test]
    fn allow_markers_of_other_tools_are_honoured() {
        assert!(covered("token = 'SECRET' # gitleaks:allow"));
        assert!(covered("pw = 'SECRET'  # pragma: allowlist secret"));
        assert!(covered("# leakstop:allow\nkey = 'SECRET'"));
        assert!(covered("/* leakstop:allow */ key = 'SECRET'"));
        assert!(!covered("token = 'SECRET'"));
    }

    #[test]
    fn allow_markers_count_only_near_the_secret_in_a_comment() {
        // Not in a comment.
        assert!(!covered("token = 'SECRET', note = 'leakstop:allow'"));
        // Too far away on the same line.
        let far = format!("t = 'SECRET'; {} // leakstop:allow", "x".repeat(300));
        assert!(!covered(&far));
        // A minified line.
        let long = format!("t='SECRET';//leakstop:allow{}", "x".repeat(ALLOW_MAX_LINE));
        assert!(!covered(&long));
        // Two lines above, or the line above not being a comment.
        assert!(!covered("// leakstop:allow\n\nk = 'SECRET'"));
        assert!(!covered("x = 1 // leakstop:allow\nk = 'SECRET'"));
        // The line below does not count.
        assert!(!covered("k = 'SECRET'\n// leakstop:allow"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Escaped text holds no character a terminal acts on.
        #[test]
        fn escaped_text_has_no_controls(text in proptest::prelude::any::<String>()) {
            let escaped = escape_control(&text);
            proptest::prop_assert!(!escaped.chars().any(is_unsafe_char));
        }

        /// Allow-marker lookups and context snippets stay inside the blob
        /// and bounded, whatever the bytes and the secret's place.
        #[test]
        fn markers_and_snippets_stay_bounded(
            blob in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(b'\n'),
                    proptest::strategy::Just(b'#'),
                    proptest::prelude::any::<u8>(),
                ],
                1..2048,
            ),
            a in 0usize..2048,
            b in 0usize..2048,
        ) {
            let mut blob = blob;
            blob.extend_from_slice(b" leakstop:allow");
            let (start, end) = (a.min(b).min(blob.len() - 1), a.max(b).min(blob.len()));
            let lines = LineIndex::new(&blob);
            let _ = allow_marker_covers(&blob, &lines, start..end);
            let line = lines.line_range(&blob, lines.line_of(start));
            let snippet = context_snippet(&blob, line, start..end.max(start), &[]);
            proptest::prop_assert!(snippet.chars().count() <= 2 * CONTEXT_RADIUS + end - start + 8);
        }
    }
}
