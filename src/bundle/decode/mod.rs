//! Decoded views of a blob: secrets in bundles are often JS/JSON-escaped
//! (`\u0067hp_…`, `https:\/\/…`), percent-encoded, or base64 (standalone,
//! `data:` URIs, `atob("…")`). This module finds the spans where such an
//! encoding can hide a secret, decodes them, and keeps for every decoded byte
//! the offset it came from, so findings are reported where they are in the file.
//!
//! Cheap checks come first: a blob without `\u`, `\x`, `\/`, `%XX` or a long
//! base64 run costs one pass over its bytes and nothing else. Every step is
//! linear in its input, and the total decoded output per blob is capped.

mod base64;
mod runs;

use base64::base64_runs;
pub(crate) use base64::decode_base64_into;
use std::ops::Range;

pub use crate::finding::Encoding;

/// Bytes decoded from a blob, with provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub bytes: Vec<u8>,
    /// Sorted: from each anchor to the next, decoded bytes map one to one
    /// onto source bytes (or three to four characters of base64), so
    /// verbatim runs and base64 runs cost no bookkeeping per byte. The last
    /// anchor marks the end.
    anchors: Vec<Anchor>,
    pub encoding: Encoding,
}

/// Decoded offset `decoded` came from source offset `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Anchor {
    decoded: usize,
    source: usize,
    /// The bytes from here are base64 of the characters from `source`:
    /// byte `n` starts in character `8n / 6`.
    base64: bool,
}

impl Anchor {
    /// The source offset of decoded offset `at` (at or after this anchor).
    fn origin(&self, at: usize) -> usize {
        let n = at - self.decoded;
        self.source + if self.base64 { n * 8 / 6 } else { n }
    }
}

impl Decoded {
    pub(crate) fn new(encoding: Encoding) -> Self {
        Decoded {
            bytes: Vec::new(),
            anchors: Vec::new(),
            encoding,
        }
    }

    /// The source offset of decoded offset `at` (`bytes.len()` is the end).
    pub fn origin(&self, at: usize) -> usize {
        let index = self.anchors.partition_point(|anchor| anchor.decoded <= at);
        match index.checked_sub(1).and_then(|i| self.anchors.get(i)) {
            Some(anchor) => anchor.origin(at),
            None => 0,
        }
    }

    /// The source range a decoded range came from: from the origin of its
    /// first byte to the origin of the byte after it (an escape like
    /// `\u0041` is six source bytes for one decoded byte).
    pub fn source_range(&self, decoded: Range<usize>) -> Range<usize> {
        let start = self.origin(decoded.start);
        let end = self.origin(decoded.end).max(start + 1);
        start..end
    }

    /// True if `decoded` is a verbatim copy of the source bytes it came from:
    /// then a scan of the source already saw it.
    pub fn is_verbatim(&self, source: &[u8], decoded: Range<usize>) -> bool {
        let range = self.source_range(decoded.clone());
        source.get(range) == self.bytes.get(decoded)
    }

    /// Adds an anchor unless the last one already predicts `from`.
    fn anchor(&mut self, from: usize) {
        let at = self.bytes.len();
        let last = self.anchors.last();
        if last.is_none_or(|anchor| anchor.base64 || anchor.origin(at) != from) {
            self.push_anchor(Anchor {
                decoded: at,
                source: from,
                base64: false,
            });
        }
    }

    /// Adds `anchor` at the end, in place of an anchor that no byte follows.
    fn push_anchor(&mut self, anchor: Anchor) {
        if self
            .anchors
            .last()
            .is_some_and(|last| last.decoded == anchor.decoded)
        {
            self.anchors.pop();
        }
        self.anchors.push(anchor);
    }

    /// Starts base64 bytes decoded from the characters from `from`; the
    /// caller then appends to `bytes` directly.
    fn anchor_base64(&mut self, from: usize) {
        self.push_anchor(Anchor {
            decoded: self.bytes.len(),
            source: from,
            base64: true,
        });
    }

    fn push(&mut self, byte: u8, from: usize) {
        self.anchor(from);
        self.bytes.push(byte);
    }

    /// Makes room for `at_most` more decoded bytes and a span's end in one
    /// allocation: grown by doubling, a large view (a source map's embedded
    /// file) was copied several times over.
    fn reserve(&mut self, at_most: usize) {
        self.bytes.reserve(at_most.saturating_add(1));
    }

    /// Copies `data[range]` unchanged.
    fn copy(&mut self, data: &[u8], range: Range<usize>) {
        self.anchor(range.start);
        self.bytes.extend_from_slice(&data[range]);
    }

    fn push_char(&mut self, ch: char, from: usize) {
        let mut buffer = [0u8; 4];
        for &b in ch.encode_utf8(&mut buffer).as_bytes() {
            self.push(b, from);
        }
    }

    /// Ends a decoded span: a newline keeps spans apart for the matcher.
    fn end_span(&mut self, source_end: usize) {
        self.push(b'\n', source_end);
    }

    /// Discards everything from decoded offset `mark` on.
    fn truncate(&mut self, mark: usize) {
        self.bytes.truncate(mark);
        while self
            .anchors
            .last()
            .is_some_and(|anchor| anchor.decoded >= mark)
        {
            self.anchors.pop();
        }
    }

    /// Closes the view at `source_end`; `None` if nothing was decoded.
    pub(crate) fn finish(mut self, source_end: usize) -> Option<Self> {
        if self.bytes.is_empty() {
            return None;
        }
        self.anchors.push(Anchor {
            decoded: self.bytes.len(),
            source: source_end,
            base64: false,
        });
        Some(self)
    }
}

/// Limits on decoding one blob.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most decoded bytes per blob, over all encodings and depths.
    pub max_output: usize,
    /// How many encodings deep to look (base64 inside percent-encoding is 2).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output: 64 << 20,
            max_depth: 3,
        }
    }
}

/// Bytes of context decoded around an escape, so a keyword just outside an
/// escaped string (`apiKey:"\u0061…"`) is seen by the generic rules.
const ESCAPE_WINDOW: usize = 256;

/// The decoded views of a blob and what decoding left out.
#[derive(Debug, Default)]
pub struct DecodeOutcome {
    pub views: Vec<Decoded>,
    /// The budget ran out: some views were dropped.
    pub exhausted: bool,
    /// Text-like base64 runs longer than the longest run decoded (1 MiB).
    pub oversized_runs: usize,
}

/// Longest base64 run decoded, in characters.
pub const MAX_BASE64_RUN: usize = base64::MAX_BASE64_RUN;

/// Every decoded view of `data`, one per encoding found in it (not recursive;
/// the caller decodes a view again for nested encodings). `skip` ranges (an
/// inline source map handled elsewhere) are not decoded. `budget` is reduced
/// by the bytes produced; when it runs out, decoding stops and `exhausted` is set.
pub fn decode(data: &[u8], skip: &[Range<usize>], budget: &mut usize) -> DecodeOutcome {
    let mut outcome = DecodeOutcome::default();
    for step in 0..3 {
        if *budget == 0 {
            outcome.exhausted = true;
            break;
        }
        let views = match step {
            0 => escapes(data, skip),
            1 => percent(data, skip),
            _ => base64_runs(data, skip, &mut outcome.oversized_runs),
        };
        for view in views {
            if view.bytes.len() > *budget {
                outcome.exhausted = true;
                continue;
            }
            *budget -= view.bytes.len();
            outcome.views.push(view);
        }
    }
    outcome
}

fn skipped(skip: &[Range<usize>], at: usize) -> bool {
    skip.iter().any(|r| r.contains(&at))
}

/// Windows around JS escapes that can hide secret characters, decoded.
fn escapes(data: &[u8], skip: &[Range<usize>]) -> Vec<Decoded> {
    let hits = memchr::memchr_iter(b'\\', data).filter(|&i| {
        (matches!(data.get(i + 1), Some(b'u' | b'x' | b'/'))
            || escaped_json_key(data, i)
            || escaped_assigned_string(data, i))
            && !skipped(skip, i)
    });
    let windows = merge_windows(hits, data.len(), ESCAPE_WINDOW);
    if windows.is_empty() {
        return Vec::new();
    }
    let mut view = Decoded::new(Encoding::JsEscape);
    for window in windows {
        decode_escapes_into(data, window.clone(), &mut view);
        view.end_span(window.end);
    }
    view.finish(data.len()).into_iter().collect()
}

/// True at the `\"` opening an escaped JSON key (`\"apiKey\":`), as in JSON
/// inside a JS string (Next.js `self.__next_f` payloads, `JSON.parse("…")`):
/// the escaped quotes hide the `"key":"value"` shape generic rules look for.
fn escaped_json_key(data: &[u8], at: usize) -> bool {
    if data.get(at + 1) != Some(&b'"') {
        return false;
    }
    let rest = &data[(at + 2).min(data.len())..(at + 2 + 64).min(data.len())];
    let Some(end) = memchr::memchr(b'\\', rest) else {
        return false;
    };
    end > 0
        && rest[end..].starts_with(br#"\":"#)
        && rest[..end]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'$')
}

/// True at a `\"` that opens a string assigned to something (`KEY = \"…\"`,
/// `key: \"…\"`), as in source code stored inside a JSON string: a Jupyter
/// notebook's cells (`"API_KEY = \"…\"\n"`), YAML or JSON kept as a JSON
/// value. The escaped quote hides the assignment generic rules look for.
fn escaped_assigned_string(data: &[u8], at: usize) -> bool {
    if data.get(at + 1) != Some(&b'"') {
        return false;
    }
    let before = &data[at.saturating_sub(4)..at];
    before
        .iter()
        .rev()
        .find(|&&b| b != b' ')
        .is_some_and(|&b| b == b'=' || b == b':')
}

/// Decodes the escapes of `data[range]` (and copies everything else).
pub(crate) fn decode_escapes_into(data: &[u8], range: Range<usize>, view: &mut Decoded) {
    // An escape never decodes to more bytes than it is written with.
    view.reserve(range.len());
    let mut i = range.start;
    while i < range.end {
        let Some(found) = memchr::memchr(b'\\', &data[i..range.end]) else {
            view.copy(data, i..range.end);
            return;
        };
        let at = i + found;
        if at > i {
            view.copy(data, i..at);
        }
        match escape_at(data, at, range.end) {
            Some((ch, len)) => {
                view.push_char(ch, at);
                i = at + len;
            }
            None => {
                view.push(b'\\', at);
                i = at + 1;
            }
        }
    }
}

/// The character an escape at `at` stands for and its length in bytes.
pub fn escape_at(data: &[u8], at: usize, end: usize) -> Option<(char, usize)> {
    let next = *data.get(at + 1).filter(|_| at + 1 < end)?;
    let simple = |ch: char| Some((ch, 2));
    match next {
        b'/' | b'\\' | b'"' | b'\'' | b'`' => simple(next as char),
        b'n' => simple('\n'),
        b't' => simple('\t'),
        b'r' => simple('\r'),
        b'b' => simple('\u{8}'),
        b'f' => simple('\u{c}'),
        b'x' => {
            // All the digits, inside the window: a cut escape is not one.
            let value = hex_value(data.get(at + 2..at + 4).filter(|_| at + 4 <= end)?)?;
            Some((char::from_u32(value)?, 4))
        }
        b'u' if at + 3 <= end && data.get(at + 2) == Some(&b'{') => {
            let close = data[at + 3..end.min(at + 12)]
                .iter()
                .position(|&b| b == b'}')?;
            let value = hex_value(&data[at + 3..at + 3 + close])?;
            Some((char::from_u32(value)?, close + 4))
        }
        b'u' => {
            let high = hex_value(data.get(at + 2..at + 6).filter(|_| at + 6 <= end)?)?;
            if (0xD800..0xDC00).contains(&high)
                && data.get(at + 6) == Some(&b'\\')
                && data.get(at + 7) == Some(&b'u')
                && at + 12 <= end
            {
                if let Some(low) = hex_value(&data[at + 8..at + 12]) {
                    if (0xDC00..0xE000).contains(&low) {
                        let value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                        return Some((char::from_u32(value)?, 12));
                    }
                }
            }
            Some((char::from_u32(high).unwrap_or('\u{FFFD}'), 6))
        }
        _ => None,
    }
}

fn hex_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    digits
        .iter()
        .try_fold(0u32, |acc, &d| Some(acc * 16 + (d as char).to_digit(16)?))
}

/// Windows around `%XX` sequences, decoded.
fn percent(data: &[u8], skip: &[Range<usize>]) -> Vec<Decoded> {
    let hits = memchr::memchr_iter(b'%', data).filter(|&i| {
        data.get(i + 1..i + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
            && !skipped(skip, i)
    });
    let windows = merge_windows(hits, data.len(), ESCAPE_WINDOW);
    if windows.is_empty() {
        return Vec::new();
    }
    let mut view = Decoded::new(Encoding::Percent);
    for window in windows {
        decode_percent_into(data, window.clone(), &mut view);
        view.end_span(window.end);
    }
    view.finish(data.len()).into_iter().collect()
}

/// Decodes the `%XX` sequences of `data[range]` (and copies everything else).
pub(crate) fn decode_percent_into(data: &[u8], range: Range<usize>, view: &mut Decoded) {
    view.reserve(range.len());
    let mut i = range.start;
    while i < range.end {
        let Some(found) = memchr::memchr(b'%', &data[i..range.end]) else {
            view.copy(data, i..range.end);
            return;
        };
        let at = i + found;
        if at > i {
            view.copy(data, i..at);
        }
        match data
            .get(at + 1..at + 3)
            .filter(|_| at + 3 <= range.end)
            .and_then(hex_value)
        {
            Some(value) => {
                view.push(value as u8, at);
                i = at + 3;
            }
            None => {
                view.push(b'%', at);
                i = at + 1;
            }
        }
    }
}

/// Merges `radius`-byte windows around sorted hit positions.
fn merge_windows(
    hits: impl Iterator<Item = usize>,
    len: usize,
    radius: usize,
) -> Vec<Range<usize>> {
    let mut windows: Vec<Range<usize>> = Vec::new();
    for hit in hits {
        let start = hit.saturating_sub(radius);
        let end = (hit + radius).min(len);
        match windows.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => windows.push(start..end),
        }
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(data: &[u8]) -> Vec<(Encoding, String)> {
        let mut budget = usize::MAX;
        decode(data, &[], &mut budget)
            .views
            .into_iter()
            .map(|d| (d.encoding, String::from_utf8_lossy(&d.bytes).into_owned()))
            .collect()
    }

    #[test]
    fn js_escapes_decode_with_origins() {
        let data = br#"k="\u0067h\x70_a\/b""#;
        let mut budget = usize::MAX;
        let views = decode(data, &[], &mut budget).views;
        assert_eq!(views.len(), 1);
        let d = &views[0];
        assert_eq!(d.encoding, Encoding::JsEscape);
        assert_eq!(&d.bytes[..], b"k=\"ghp_a/b\"\n");
        // `g` comes from the `\u0067` at offset 3; `h` from offset 9.
        assert_eq!(d.origin(3), 3);
        assert_eq!(d.origin(4), 9);
        assert_eq!(d.source_range(3..5), 3..10);
        assert!(!d.is_verbatim(data, 3..5));
        assert!(d.is_verbatim(data, 0..2));
    }

    #[test]
    fn escaped_json_keys_open_a_window() {
        let data = br#"push([1,"{\"apiKey\":\"abc\"}"])"#;
        assert!(escaped_json_key(data, 10));
        assert_eq!(
            view(data),
            vec![(
                Encoding::JsEscape,
                "push([1,\"{\"apiKey\":\"abc\"}\"])\n".into()
            )]
        );
        // An escaped quote in prose is not a key.
        assert!(view(br#"say("\"hello there\"")"#).is_empty());
    }

    #[test]
    fn surrogate_pairs_and_braced_escapes() {
        let mut out = Decoded::new(Encoding::JsEscape);
        let data = br"\ud83d\ude00\u{1F600}";
        decode_escapes_into(data, 0..data.len(), &mut out);
        assert_eq!(String::from_utf8(out.bytes).unwrap(), "😀😀");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            view(b"u=https%3A%2F%2Fa%40b 100%"),
            vec![(Encoding::Percent, "u=https://a@b 100%\n".to_string())]
        );
    }

    #[test]
    fn base64_text_is_decoded_and_binary_is_not() {
        // "password=correcthorse" in base64.
        let text = b"x = 'cGFzc3dvcmQ9Y29ycmVjdGhvcnNl';";
        assert_eq!(
            view(text),
            vec![(Encoding::Base64, "password=correcthorse\n".into())]
        );
        // PNG header bytes: binary.
        assert!(view(b"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB").is_empty());
        // Identifiers are too short or not text.
        assert!(view(b"function createElementNSWithOptions(a){}").is_empty());
    }

    #[test]
    fn data_uris_are_labelled() {
        let data = b"src='data:text/plain;base64,cGFzc3dvcmQ9Y29ycmVjdGhvcnNl'";
        assert_eq!(
            view(data),
            vec![(Encoding::DataUri, "password=correcthorse\n".into())]
        );
    }

    #[test]
    fn adversarial_input_is_linear_and_bounded() {
        // A megabyte of escapes and base64 decodes in one pass.
        let data = "\\u0041".repeat(200_000) + &"QUFB".repeat(200_000);
        let started = std::time::Instant::now();
        let mut budget = 1 << 20;
        let outcome = decode(data.as_bytes(), &[], &mut budget);
        let (views, exhausted) = (outcome.views, outcome.exhausted);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let produced: usize = views.iter().map(|v| v.bytes.len()).sum();
        assert!(produced <= 1 << 20);
        assert!(exhausted || produced > 0);
    }

    #[test]
    fn truncated_escapes_at_any_window_end_do_not_panic() {
        let text = br#"\u{1F600}\ud83d\ude00\x41\u0041%4"%41 \u{"#;
        for end in 0..=text.len() {
            for start in 0..=end {
                let mut out = Decoded::new(Encoding::JsEscape);
                decode_escapes_into(text, start..end, &mut out);
                decode_percent_into(text, start..end, &mut out);
                let mut budget = usize::MAX;
                let _ = decode(&text[start..end], &[], &mut budget);
            }
        }
    }

    #[test]
    fn over_long_text_runs_are_counted_and_binary_ones_not() {
        let text = "QUFB".repeat(MAX_BASE64_RUN / 4 + 1);
        let mut budget = usize::MAX;
        let outcome = decode(text.as_bytes(), &[], &mut budget);
        assert!(outcome.views.is_empty());
        assert_eq!(outcome.oversized_runs, 1);
        let binary = "AAAA".repeat(MAX_BASE64_RUN / 4 + 1);
        assert_eq!(
            decode(binary.as_bytes(), &[], &mut budget).oversized_runs,
            0
        );
    }

    #[test]
    fn skipped_ranges_are_not_decoded() {
        let data = format!(r#"a="\u0067";{}b="\u0068""#, " ".repeat(600));
        let skip = [Range { start: 0, end: 12 }];
        let mut budget = usize::MAX;
        let views = decode(data.as_bytes(), &skip, &mut budget).views;
        assert_eq!(views.len(), 1);
        let text = String::from_utf8_lossy(&views[0].bytes);
        assert!(
            text.contains(r#"b="h""#) && !text.contains(r#"a="g""#),
            "{text}"
        );
    }
}
