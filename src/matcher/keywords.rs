//! Finding every occurrence of every keyword (ASCII case-insensitively), the
//! first pass over each blob and most of the matcher's time.
//!
//! An Aho-Corasick DFA over hundreds of keywords costs a dependent table
//! lookup per byte (~400 MB/s per core). Instead each keyword is represented by
//! one *fingerprint*: a 3-byte window of it (the whole keyword if shorter),
//! chosen to be rare in code. The scan tests the bytes at every position
//! in a bitset of the fingerprints (`probe.rs`; 16-32 KiB, in L1); the loop
//! has no dependency from one position to the next. The bitset says yes at
//! 2-5% of positions of real code, mostly true occurrences of common
//! fingerprints; a yes is tested again on 4 bytes (the fingerprint and the
//! byte that follows it in its keyword, in a second, hashed bitset), which
//! leaves about 1.2%, then checked exactly: the folded window is looked up in a
//! table of the keywords that chose it, and each is compared with the bytes
//! around.
//!
//! Every occurrence of a keyword contains its fingerprint at a fixed offset, so
//! it is found exactly once; the hits are sorted by end then start, the order
//! an overlapping Aho-Corasick search reports them in.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use super::probe::{Probe, Scheme};

/// Folds ASCII case (and maps a few punctuation bytes together: a superset
/// filter only).
const FOLD: u32 = 0x2020_2020;
/// The 3 bytes of a fingerprint.
const WINDOW: u32 = 0x00FF_FFFF;
/// Multiplicative hash constant (golden ratio).
const MIX: u32 = 0x9E37_79B1;
/// Bits of the second test's bitset and the hash of the fingerprint table.
const FILTER_LOG2: u32 = 17;
const FILTER_WORDS: usize = 1 << (FILTER_LOG2 - 6);
/// Bits of the bitset of fingerprints that end their keyword: a few dozen
/// 3-byte keywords and 128 fingerprints per 2-byte keyword in 2^15 bits.
const ENDING_LOG2: u32 = 15;
const ENDING_WORDS: usize = 1 << (ENDING_LOG2 - 6);

/// One keyword occurrence: which keyword (index into the list given to
/// [`Keywords::new`]) and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub keyword: usize,
    pub span: Range<usize>,
}

/// A keyword that chose a fingerprint, with what the first check of a
/// candidate needs, inline: most candidates end at the prefix compare.
#[derive(Debug, Clone, Copy)]
struct Member {
    /// The keyword's index, with [`PREFIX_DECIDES`] set when the prefix
    /// compare alone decides.
    keyword: u32,
    /// Where the fingerprint sits in the keyword.
    offset: u32,
    /// The keyword's first (up to) 8 bytes folded like the haystack, and
    /// the mask of the bytes it has: one 8-byte compare rejects most
    /// fingerprint hits that are not the keyword before the exact check.
    prefix: u64,
    prefix_mask: u64,
}

/// Set in [`Member::keyword`] for a keyword of at most 8 ASCII letters:
/// folding maps each letter to its other case only, so the 8-byte prefix
/// compare is then the exact case-insensitive check.
const PREFIX_DECIDES: u32 = 1 << 31;

/// The members of one fingerprint: `members[first..first + count]`.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// The folded fingerprint (3 bytes, little-endian).
    key: u32,
    first: u32,
    /// 0: an empty slot.
    count: u32,
}

/// The fingerprints: a bitset that almost always says no (`probe.rs`), and
/// behind it a flat open-addressing table of 12-byte slots pointing into one
/// array of members, so a candidate costs two cache lines, not a chain of
/// pointers.
#[derive(Debug, Clone)]
struct Filter {
    probe: Probe,
    /// The second test of a position the bitset said yes to: a bitset of
    /// the fingerprints with the byte that follows them in their keyword.
    /// A window of 4 bytes is far rarer in code than one of 3, so most
    /// candidates stop here, before any table lookup.
    followed: Box<[u64; FILTER_WORDS]>,
    /// The fingerprints that end their keyword (keywords of 2 and 3 bytes),
    /// which pass the second test on 3 bytes: set in `followed` with every
    /// possible next byte, two-byte keywords alone (128 fingerprints each)
    /// would fill a quarter of it.
    ending: Box<[u64; ENDING_WORDS]>,
    slots: Vec<Slot>,
    members: Vec<Member>,
}

impl Filter {
    /// The filter of `(fingerprint, member, next byte)`: the next byte is
    /// the keyword's byte after the fingerprint, if any.
    fn new(mut entries: Vec<(u32, Member, Option<u8>)>, scheme: Scheme) -> Self {
        entries.sort_by_key(|&(key, member, _)| (key, member.keyword));
        let mut filter = Filter {
            probe: Probe::new(scheme),
            followed: Box::new([0; FILTER_WORDS]),
            ending: Box::new([0; ENDING_WORDS]),
            slots: vec![Slot::default(); (entries.len() * 2).next_power_of_two().max(2)],
            members: entries.iter().map(|&(_, member, _)| member).collect(),
        };
        for &(key, _, next) in &entries {
            match next {
                Some(byte) => {
                    let h = Self::hash(key | u32::from(byte | 0x20) << 24);
                    filter.followed[h >> 6] |= 1 << (h & 63);
                }
                None => {
                    let h = Self::hash_ending(key);
                    filter.ending[h >> 6] |= 1 << (h & 63);
                }
            }
        }
        let mut first = 0;
        for group in entries.chunk_by(|a, b| a.0 == b.0) {
            let key = group[0].0;
            for &(_, _, next) in group {
                filter.probe.insert(key, next);
            }
            let h = Self::hash(key);
            let mask = filter.slots.len() - 1;
            let mut slot = h & mask;
            while filter.slots[slot].count != 0 {
                slot = (slot + 1) & mask;
            }
            filter.slots[slot] = Slot {
                key,
                first: first as u32,
                count: group.len() as u32,
            };
            first += group.len();
        }
        filter
    }

    #[inline(always)]
    fn hash(key: u32) -> usize {
        (key.wrapping_mul(MIX) >> (32 - FILTER_LOG2)) as usize
    }

    #[inline(always)]
    fn hash_ending(key: u32) -> usize {
        (key.wrapping_mul(MIX) >> (32 - ENDING_LOG2)) as usize
    }

    /// The second test: all 4 bytes of `folded`, or the first 3 for a
    /// fingerprint that ends its keyword.
    #[inline(always)]
    fn maybe_followed(&self, folded: u32) -> bool {
        let h = Self::hash(folded);
        let e = Self::hash_ending(folded & WINDOW);
        (self.followed[h >> 6] >> (h & 63)) & 1 | (self.ending[e >> 6] >> (e & 63)) & 1 != 0
    }

    /// The members of fingerprint `key` (none for a false positive of the
    /// bitset).
    fn members(&self, key: u32) -> &[Member] {
        let mask = self.slots.len() - 1;
        let mut slot = Self::hash(key) & mask;
        loop {
            let Slot {
                key: found,
                first,
                count,
            } = self.slots[slot];
            if count == 0 {
                return &[];
            }
            if found == key {
                let first = first as usize;
                return &self.members[first..first + count as usize];
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// A compiled set of keywords.
#[derive(Debug, Clone)]
pub struct Keywords {
    /// Lowercased keywords.
    keywords: Vec<Vec<u8>>,
    /// Fingerprints, all 3 bytes wide: one probe per position.
    filter: Filter,
    /// Two-byte keywords. Their fingerprints are the keyword followed by
    /// each possible byte, so only an occurrence in the last two bytes of a
    /// haystack needs checking apart.
    short: Vec<usize>,
}

impl Keywords {
    /// Compiles `keywords` (lowercase ASCII, at least 2 bytes, distinct).
    pub fn new(keywords: &[String]) -> Self {
        Self::with_scheme(keywords, Scheme::fastest())
    }

    fn with_scheme(keywords: &[String], scheme: Scheme) -> Self {
        let keywords: Vec<Vec<u8>> = keywords
            .iter()
            .map(|k| k.to_ascii_lowercase().into_bytes())
            .collect();
        let short: Vec<usize> = (0..keywords.len())
            .filter(|&index| keywords[index].len() == 2)
            .collect();
        let mut entries: Vec<(u32, Member, Option<u8>)> = Vec::new();
        let mut add = |key: u32, index: usize, offset: usize| {
            let next = keywords[index].get(offset + 3).copied();
            let (prefix, prefix_mask) = prefix(&keywords[index]);
            let decides =
                keywords[index].len() <= 8 && keywords[index].iter().all(u8::is_ascii_lowercase);
            let member = Member {
                keyword: index as u32 | if decides { PREFIX_DECIDES } else { 0 },
                offset: offset as u32,
                prefix,
                prefix_mask,
            };
            entries.push((key, member, next));
        };
        // How many keywords already chose each fingerprint: sharing one makes
        // every hit on it check them all.
        let mut users: HashMap<u32, u64> = HashMap::new();
        for (index, keyword) in keywords.iter().enumerate() {
            match keyword.len() {
                0 | 1 => {}
                2 => {
                    let pair = fold(keyword);
                    for next in (0..=255u32).filter(|byte| byte | 0x20 == *byte) {
                        add(pair | next << 16, index, 0);
                    }
                }
                len => {
                    // Not the last 3 bytes of a longer keyword: the byte after
                    // the fingerprint is then known, for the second test.
                    let last = if len == 3 { 0 } else { len - 4 };
                    let (offset, key) = (0..=last)
                        .map(|offset| (offset, fold(&keyword[offset..offset + 3])))
                        .min_by_key(|&(_, key)| {
                            frequency(key) * (1 + users.get(&key).copied().unwrap_or(0))
                        })
                        .unwrap_or((0, 0));
                    *users.entry(key).or_default() += 1;
                    add(key, index, offset);
                }
            }
        }
        Keywords {
            filter: Filter::new(entries, scheme),
            keywords,
            short,
        }
    }

    /// Every occurrence of every keyword in `haystack`, ordered by end, then
    /// start.
    pub fn find_all(&self, haystack: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        let n = haystack.len();
        self.filter.probe.candidates(haystack, |at, window| {
            let folded = window | FOLD;
            if self.filter.maybe_followed(folded) {
                self.verify(folded & WINDOW, haystack, at, &mut hits);
            }
        });
        // The last position where 3 bytes remain (looked up directly: the
        // probe reads 4), then the two-byte keywords in the last two bytes.
        if n >= 3 {
            let at = n - 3;
            let folded =
                u32::from_le_bytes([haystack[at], haystack[at + 1], haystack[at + 2], 0]) | FOLD;
            self.verify(folded & WINDOW, haystack, at, &mut hits);
        }
        if n >= 2 {
            let tail = &haystack[n - 2..];
            for &keyword in &self.short {
                if tail.eq_ignore_ascii_case(&self.keywords[keyword]) {
                    push_in_order(
                        &mut hits,
                        Hit {
                            keyword,
                            span: n - 2..n,
                        },
                    );
                }
            }
        }
        debug_assert!(hits.is_sorted_by_key(|hit| (hit.span.end, hit.span.start)));
        hits
    }

    /// Checks the keywords whose fingerprint may sit at `at`.
    #[inline(never)]
    fn verify(&self, key: u32, haystack: &[u8], at: usize, hits: &mut Vec<Hit>) {
        for member in self.filter.members(key) {
            let Some(start) = at.checked_sub(member.offset as usize) else {
                continue;
            };
            let keyword = (member.keyword & !PREFIX_DECIDES) as usize;
            let text = &self.keywords[keyword];
            let end = start + text.len();
            let decided = match haystack.get(start..start + 8) {
                Some(window) => {
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(window);
                    if (u64::from_le_bytes(bytes) | FOLD64) & member.prefix_mask != member.prefix {
                        continue;
                    }
                    member.keyword & PREFIX_DECIDES != 0
                }
                None => false,
            };
            if decided
                || haystack
                    .get(start..end)
                    .is_some_and(|found| found.eq_ignore_ascii_case(text))
            {
                push_in_order(
                    hits,
                    Hit {
                        keyword,
                        span: start..end,
                    },
                );
            }
        }
    }
}

/// Adds `hit` to `hits`, kept ordered by end, then start. Hits arrive in
/// the order of their fingerprints, which sit at most a keyword's length
/// into them, so a new hit moves back past a few others at most: cheaper
/// than sorting them all at the end (2% of the npm scan).
fn push_in_order(hits: &mut Vec<Hit>, hit: Hit) {
    let key = |hit: &Hit| (hit.span.end, hit.span.start);
    let mut at = hits.len();
    while at > 0 && key(&hits[at - 1]) > key(&hit) {
        at -= 1;
    }
    hits.insert(at, hit);
}

/// [`FOLD`] over 8 bytes.
const FOLD64: u64 = 0x2020_2020_2020_2020;

/// A keyword's first (up to) 8 bytes folded with [`FOLD64`], and the mask
/// of the bytes it has. Bytes equal up to ASCII case are equal after
/// folding, so a mismatch here rules the keyword out.
fn prefix(keyword: &[u8]) -> (u64, u64) {
    let len = keyword.len().min(8);
    let mut bytes = [0u8; 8];
    bytes[..len].copy_from_slice(&keyword[..len]);
    let mask = if len == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * len)) - 1
    };
    ((u64::from_le_bytes(bytes) | FOLD64) & mask, mask)
}

/// The folded little-endian value of a window of 2 or 3 bytes.
fn fold(window: &[u8]) -> u32 {
    let mut bytes = [0u8; 4];
    bytes[..window.len()].copy_from_slice(window);
    let mask = match window.len() {
        3 => WINDOW,
        _ => 0x0000_FFFF,
    };
    (u32::from_le_bytes(bytes) | FOLD) & mask
}

/// How often a folded 3-byte window occurs in real code, per million
/// positions: measured for the most frequent 2,048 (`trigrams.txt`, made by
/// `scripts/gen_trigrams.py`); any other window is rarer than all of them
/// and ranked by its letters.
fn frequency(key: u32) -> u64 {
    static MEASURED: OnceLock<HashMap<u32, u64>> = OnceLock::new();
    let measured = MEASURED.get_or_init(|| {
        include_str!("trigrams.txt")
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (hex, per_million) = line.split_once(' ')?;
                let bytes = u32::from_str_radix(hex, 16).ok()?.to_be_bytes();
                let key = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], 0]);
                Some((key, per_million.parse().ok()?))
            })
            .collect()
    });
    measured.get(&key).copied().unwrap_or_else(|| {
        key.to_le_bytes()[..3]
            .iter()
            .map(|&b| u64::from(commonness(b)))
            .sum()
    })
}

/// A rough rank of how often a byte occurs in code and text (higher: more
/// often), to pick fingerprints that rarely occur by chance.
fn commonness(byte: u8) -> u32 {
    match byte.to_ascii_lowercase() {
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 9,
        b' ' | b'\n' | b'\t' => 9,
        b'h' | b'l' | b'd' | b'c' | b'u' | b'm' | b'p' | b'f' | b'g' => 7,
        b'.' | b',' | b'(' | b')' | b';' | b'=' | b'"' | b'\'' | b'_' | b'/' => 6,
        b'w' | b'y' | b'b' | b'v' | b':' | b'-' | b'{' | b'}' | b'[' | b']' => 5,
        b'0'..=b'9' => 4,
        b'k' | b'x' => 3,
        b'j' | b'q' | b'z' => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasick, MatchKind};

    fn reference(keywords: &[&str], haystack: &[u8]) -> Vec<Hit> {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(keywords)
            .expect("automaton");
        ac.find_overlapping_iter(haystack)
            .map(|m| Hit {
                keyword: m.pattern().as_usize(),
                span: m.range(),
            })
            .collect()
    }

    /// Compares with Aho-Corasick under each scheme of the first test this
    /// CPU can run.
    fn check(keywords: &[&str], haystack: &[u8]) {
        let owned: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        for scheme in Scheme::runnable() {
            assert_eq!(
                Keywords::with_scheme(&owned, scheme).find_all(haystack),
                reference(keywords, haystack),
                "{scheme:?}, haystack {:?}",
                String::from_utf8_lossy(haystack)
            );
        }
    }

    #[test]
    fn finds_what_aho_corasick_finds_in_the_same_order() {
        let keywords = [
            "password",
            "pass",
            "sword",
            "pwd",
            "://",
            "ab",
            "aaaa",
            "token",
            "api_token",
            "_token",
            "ghp_",
            "eyj",
            "xx",
        ];
        check(&keywords, b"");
        check(&keywords, b"a");
        check(&keywords, b"ab");
        check(
            &keywords,
            b"PassWord=1 API_TOKEN: x ghp_abc eyJhb https://u:p@h",
        );
        check(&keywords, b"aaaaaaaaab aaaXX xxx pwd");
        check(&keywords, b"...pwd");
        check(&keywords, b"..://");
        // Punctuation that case folding maps together must not match.
        check(&keywords, b"\x1a/ ghp\x7f PASS@ pass` `WD");
    }

    #[test]
    fn agrees_with_aho_corasick_on_pseudo_random_text() {
        let keywords = [
            "key", "keys", "secret", "se", "ecr", "api-key", "k3y", "to", "tok",
        ];
        let alphabet = b"kKeEyYsScCrRtT-_3apio. :";
        let mut state = 0x2545_F491_u64;
        for length in 0..200 {
            let haystack: Vec<u8> = (0..length * 7)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            check(&keywords, &haystack);
        }
    }

    /// The rule library's own keywords (over 1,600, many of them common
    /// words) on its own examples mixed with code-like filler: every scheme
    /// finds what Aho-Corasick finds, at every alignment of the 8-position
    /// vector steps.
    #[test]
    fn every_scheme_agrees_with_aho_corasick_on_the_rule_library() {
        let rules = crate::rules::embedded_rules().expect("embedded rules");
        let mut keywords: Vec<String> = rules
            .iter()
            .flat_map(|rule| rule.keywords.iter().map(|k| k.to_ascii_lowercase()))
            .collect();
        keywords.sort();
        keywords.dedup();
        let mut haystack = Vec::new();
        let filler = b"const path = require('node:path'); let keys = Object.keys(obj);\n";
        for (i, rule) in rules.iter().enumerate() {
            for example in &rule.examples {
                haystack.extend_from_slice(example.as_bytes());
                haystack.extend_from_slice(&filler[..i % filler.len()]);
            }
        }
        let borrowed: Vec<&str> = keywords.iter().map(String::as_str).collect();
        for shift in 0..8 {
            let text = &haystack[shift..];
            let expected = reference(&borrowed, text);
            assert!(expected.len() > 1_000, "{} hits", expected.len());
            for scheme in Scheme::runnable() {
                assert!(
                    Keywords::with_scheme(&keywords, scheme).find_all(text) == expected,
                    "{scheme:?} at shift {shift}"
                );
            }
        }
    }

    #[test]
    fn the_measured_table_ranks_common_code_windows_above_token_prefixes() {
        let key = |text: &str| fold(text.as_bytes());
        assert!(frequency(key("ion")) > 1_000, "{}", frequency(key("ion")));
        assert!(frequency(key("ion")) > 20 * frequency(key("ghp")));
        // A keyword made only of common letters takes its rarest window.
        let keywords = Keywords::new(&["iterable".to_string()]);
        let slot = keywords
            .filter
            .slots
            .iter()
            .find(|slot| slot.count > 0)
            .expect("one slot");
        assert_ne!(slot.key, key("ter"));
    }
}
