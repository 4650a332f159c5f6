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

    fn union_with(&mut self, other: &ByteSet) {
        for (word, other) in self.0.iter_mut().zip(other.0) {
            *word |= other;
        }
    }

    fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0
    }
}

/// The bytes a match can start with, and the bytes that can follow them;
/// and where every match begins with a run of fixed shape (`pat` and 14
/// letters or digits, `KEY` and 32 hex digits), the bytes each of its first
/// positions can be.
#[derive(Debug, Clone)]
pub struct Starts {
    first: ByteSet,
    second: ByteSet,
    positions: Vec<ByteSet>,
}

/// Positions of a match's fixed-shape start tested before a regex search:
/// enough to turn away nearly every keyword hit in ordinary code (`path`
/// for `pat`, `keys` for `KEY`) at a few table lookups, where a search that
/// fails costs hundreds of instructions.
const MAX_POSITIONS: usize = 16;

/// Appends to `out` the bytes each position of a match of `hir` can be, for
/// the positions every match of `hir` determines; true if every match of
/// `hir` has the length appended (what follows is then at fixed positions
/// too), false if the shape stops being fixed somewhere.
fn fixed_positions(hir: &Hir, out: &mut Vec<ByteSet>) -> bool {
    if out.len() >= MAX_POSITIONS {
        out.truncate(MAX_POSITIONS);
        return false;
    }
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(literal) => {
            for &byte in literal.0.iter() {
                let mut set = ByteSet::default();
                set.insert(byte);
                out.push(set);
            }
            within_limit(out)
        }
        HirKind::Class(Class::Bytes(class)) => {
            let mut set = ByteSet::default();
            for range in class.iter() {
                for byte in range.start()..=range.end() {
                    set.insert(byte);
                }
            }
            out.push(set);
            true
        }
        HirKind::Class(Class::Unicode(class)) => {
            let mut set = ByteSet::default();
            let mut wide = false;
            for range in class.iter() {
                for ch in range.start()..=range.end().min('\x7f') {
                    set.insert(ch as u8);
                }
                wide |= range.end() > '\x7f';
            }
            if wide {
                // A character of several bytes: its first is a lead byte,
                // and the positions after it are not fixed.
                for byte in 0xC2..=0xF4 {
                    set.insert(byte);
                }
            }
            out.push(set);
            !wide
        }
        HirKind::Capture(capture) => fixed_positions(&capture.sub, out),
        HirKind::Concat(parts) => parts.iter().all(|part| fixed_positions(part, out)),
        HirKind::Repetition(repetition) => {
            if repetition.min == 0 {
                return false;
            }
            let mut once = Vec::new();
            let fixed = fixed_positions(&repetition.sub, &mut once);
            if !fixed {
                out.extend(once);
                return false;
            }
            for _ in 0..repetition.min {
                if out.len() >= MAX_POSITIONS || once.is_empty() {
                    break;
                }
                out.extend(once.iter().cloned());
            }
            within_limit(out) && repetition.max == Some(repetition.min)
        }
        HirKind::Alternation(branches) => {
            let mut shapes = Vec::new();
            for branch in branches {
                let mut sets = Vec::new();
                let fixed = fixed_positions(branch, &mut sets);
                shapes.push((sets, fixed));
            }
            let common = shapes.iter().map(|(sets, _)| sets.len()).min().unwrap_or(0);
            for position in 0..common {
                let mut union = ByteSet::default();
                for (sets, _) in &shapes {
                    union.union_with(&sets[position]);
                }
                out.push(union);
            }
            shapes
                .iter()
                .all(|(sets, fixed)| *fixed && sets.len() == common)
        }
    }
}

/// Cuts `out` to [`MAX_POSITIONS`]; false if that dropped a position (the
/// shape then stops being followed).
fn within_limit(out: &mut Vec<ByteSet>) -> bool {
    let fits = out.len() <= MAX_POSITIONS;
    out.truncate(MAX_POSITIONS);
    fits
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
        let mut positions = Vec::new();
        fixed_positions(hir, &mut positions);
        let mut starts = Starts {
            first: ByteSet::default(),
            second: ByteSet::default(),
            positions,
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

    /// Whether a match may start at `at`: the byte there and the next, and
    /// the fixed start of every match.
    pub fn may_start(&self, haystack: &[u8], at: usize) -> bool {
        let pair = match haystack.get(at..at.saturating_add(2)) {
            Some([first, second]) => self.first.contains(*first) && self.second.contains(*second),
            _ => haystack
                .get(at)
                .is_none_or(|&first| self.first.contains(first)),
        };
        pair && self.positions.iter().enumerate().all(|(offset, set)| {
            // A match needs all of its fixed start inside the haystack.
            haystack
                .get(at.saturating_add(offset))
                .is_some_and(|&byte| set.contains(byte))
        })
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
        assert!(telnyx.may_start(b"x KEY0123456789ABCDEF0123456789ABCDEF", 2));
        assert!(!telnyx.may_start(b"x KEY0123456x89ABCDEF0123456789ABCDEF", 2));
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

    #[test]
    fn a_fixed_shape_start_is_tested_position_by_position() {
        let airtable = starts(r"\b(pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b").unwrap();
        assert_eq!(airtable.positions.len(), MAX_POSITIONS);
        assert!(airtable.may_start(b"x patAbcdefghij0123.", 2));
        assert!(!airtable.may_start(b"x path.join(a, b)", 2));
        assert!(!airtable.may_start(b"x pattern", 2));
        // A fixed start cut by the end of the haystack cannot match.
        assert!(!airtable.may_start(b"patAbc", 0));
        // Alternatives of one length stay fixed; of two lengths, the common
        // positions only.
        let either = starts(r"(?:ab|cd)[0-9]{2}x").unwrap();
        assert_eq!(either.positions.len(), 5);
        assert!(either.may_start(b"cb12x", 0));
        assert!(!either.may_start(b"ab1xx", 0));
        let uneven = starts(r"(?:a|bc)[0-9]").unwrap();
        assert_eq!(uneven.positions.len(), 1);
        // A repetition of varying count fixes its first `min` copies.
        let ranged = starts(r"k[0-9]{2,4}z").unwrap();
        assert_eq!(ranged.positions.len(), 3);
        assert!(ranged.may_start(b"k12", 0));
        assert!(!ranged.may_start(b"k1z", 0));
    }

    proptest::proptest! {
        /// Wherever a regex matches, its start tables say it may: they turn
        /// positions away, never a match.
        #[test]
        fn no_match_is_turned_away(
            shape in 0usize..8,
            haystack in proptest::collection::vec(
                proptest::sample::select(b"ab01xXK_-.=pat".to_vec()),
                0..40,
            ),
        ) {
            let pattern = [
                r"\bpat[a-z0-9]{3}\.[0-9]{2}",
                r"(?:ab|x0)[0-9]{2}[._-]",
                r"(?i)k[a-z0-9_]{2,4}=",
                r"(?:a|bx)1{1,3}(?:p|a)",
                r"(?:pa|xx|ab)?t[0-9a]{1,2}",
                r"(?:a(?:b|0)){2}\.",
                r"[ab]{3}(?:0|1){0,2}x",
                r"(?i)PAT(?:_|-)[0-9]{2}\b",
            ][shape];
            let hir = crate::rules::parse_ascii(pattern).unwrap();
            let starts = Starts::of(&hir);
            let regex = regex_automata::meta::Regex::new(pattern).unwrap();
            for at in 0..=haystack.len() {
                let input = regex_automata::Input::new(&haystack)
                    .span(at..haystack.len())
                    .anchored(regex_automata::Anchored::Yes);
                if regex.is_match(input) {
                    proptest::prop_assert!(
                        starts.as_ref().is_none_or(|starts| starts.may_start(&haystack, at)),
                        "{pattern} at {at} of {:?}", String::from_utf8_lossy(&haystack)
                    );
                }
            }
        }
    }
}
