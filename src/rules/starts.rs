//! Cheap facts about where a match can lie: whether it can cross a line
//! (`can_match_newline`), and what its first two bytes can be, from the
//! regex's prefix literals (`Starts`). The matcher tries an anchored search
//! at every position near a keyword hit (`CompiledRegex::anchored`); most of
//! those positions cannot start a match, and two table lookups say so for a
//! fraction of the cost of starting a regex search.

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Whether some match of `hir` can hold a line feed. When none can, the
/// matcher searches a keyword hit's own line instead of a whole window.
pub fn can_match_newline(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => false,
        HirKind::Literal(literal) => literal.0.contains(&b'\n'),
        HirKind::Class(Class::Bytes(class)) => class
            .iter()
            .any(|range| (range.start()..=range.end()).contains(&b'\n')),
        HirKind::Class(Class::Unicode(class)) => class
            .iter()
            .any(|range| (range.start()..=range.end()).contains(&'\n')),
        HirKind::Repetition(repetition) => {
            repetition.max != Some(0) && can_match_newline(&repetition.sub)
        }
        HirKind::Capture(capture) => can_match_newline(&capture.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => parts.iter().any(can_match_newline),
    }
}

/// A set of bytes as a 256-bit table.
#[derive(Debug, Clone, Default)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn all() -> ByteSet {
        ByteSet([u64::MAX; 4])
    }

    fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte >> 6)] |= 1 << (byte & 63);
    }

    fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0
    }
}

/// The bytes a match can start with, and the bytes that can follow them.
#[derive(Debug, Clone)]
pub struct Starts {
    first: ByteSet,
    second: ByteSet,
}

impl Starts {
    /// `None` when the regex can match the empty string or its prefixes are
    /// not a finite set of literals: every position may then start a match.
    pub fn of(hir: &Hir) -> Option<Starts> {
        let mut extractor = Extractor::new();
        extractor
            .kind(ExtractKind::Prefix)
            .limit_literal_len(2)
            .limit_class(128)
            .limit_repeat(4)
            .limit_total(4096);
        let seq = extractor.extract(hir);
        let literals = seq.literals()?;
        if literals.is_empty() {
            return None;
        }
        let mut starts = Starts {
            first: ByteSet::default(),
            second: ByteSet::default(),
        };
        for literal in literals {
            match literal.as_bytes() {
                [] => return None,
                [first] => {
                    starts.first.insert(*first);
                    // A one-byte literal that is the whole match or a
                    // truncated prefix says nothing of the next byte.
                    starts.second = ByteSet::all();
                }
                [first, second, ..] => {
                    starts.first.insert(*first);
                    starts.second.insert(*second);
                }
            }
        }
        Some(starts)
    }

    /// Whether a match may start at `at` (the byte there and the next).
    pub fn may_start(&self, haystack: &[u8], at: usize) -> bool {
        match haystack.get(at..at.saturating_add(2)) {
            Some([first, second]) => self.first.contains(*first) && self.second.contains(*second),
            _ => haystack
                .get(at)
                .is_none_or(|&first| self.first.contains(first)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(regex: &str) -> Option<Starts> {
        let hir = crate::rules::parse_ascii(regex).unwrap();
        Starts::of(&hir)
    }

    fn newline(regex: &str) -> bool {
        let hir = crate::rules::parse_ascii(regex).unwrap();
        can_match_newline(&hir)
    }

    #[test]
    fn a_regex_whose_classes_exclude_the_line_feed_stays_on_one_line() {
        assert!(!newline(
            r"(?i)server[ \t]{0,2}=[^;\n]{1,200};pwd=([^;\s]{4,8})"
        ));
        assert!(newline(r"server\s{0,2}="));
        assert!(newline(r"a(?:x|\n)b"));
        assert!(newline(r"(?s)a.b"));
        assert!(!newline(r"a.b"));
    }

    #[test]
    fn only_positions_a_prefix_literal_begins_at_may_start_a_match() {
        let telnyx = starts(r"\b(KEY[0-9A-F]{32})\b").unwrap();
        assert!(telnyx.may_start(b"x KEY0", 2));
        assert!(!telnyx.may_start(b"x key0", 2));
        assert!(!telnyx.may_start(b"x KXY0", 2));
        let secret = starts(r"(?i)(?:client|app)?[_.-]?secret=").unwrap();
        for at in [b"Client_secret=".as_slice(), b"app", b"_secret", b"SECRET"] {
            assert!(secret.may_start(at, 0), "{}", String::from_utf8_lossy(at));
        }
        assert!(!secret.may_start(b"xsecret", 0));
        assert!(!secret.may_start(b"cx", 0));
        // At the end of the haystack one byte is enough to ask.
        assert!(secret.may_start(b"c", 0));
        // An optional start adds what follows it; any byte, or a match that
        // may be empty, gives no table.
        assert!(starts(r"[a-z]{0,4}x").unwrap().may_start(b"x", 0));
        assert!(starts(r".x").is_none());
        assert!(starts(r"(?:)").is_none());
    }
}
