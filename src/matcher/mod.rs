//! The compiled rule set. One keyword search over every rule's keywords (a
//! fingerprint filter, `keywords.rs`) selects candidate rules and positions;
//! only those rules' regexes run, and only in windows around the keyword
//! hits. Most bytes of a blob are seen by the keyword search alone.

pub mod companion;
mod keywords;
mod probe;
pub mod validate;

use crate::rules::known_public::KnownPublicValues;
use crate::rules::Rule;
use keywords::Keywords;
use regex_automata::util::captures::Captures;
use std::collections::BTreeMap;
use std::ops::Range;

pub use validate::Rejection;

/// Errors building a matcher.
#[derive(Debug, thiserror::Error)]
pub enum MatcherError {
    #[error("building the keyword automaton: {0}")]
    Automaton(#[from] aho_corasick::BuildError),
}

/// What the matcher may assume about a blob.
#[derive(Debug, Clone, Copy)]
pub struct BlobKind {
    /// Generic keyword+entropy rules run (off for lockfiles and generated files).
    pub generic_rules: bool,
}

impl Default for BlobKind {
    fn default() -> Self {
        BlobKind {
            generic_rules: true,
        }
    }
}

/// A validated match, before filters and reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMatch {
    /// Index into [`Matcher::rules`].
    pub rule: usize,
    /// Byte range of the whole regex match.
    pub span: Range<usize>,
    /// Byte range of the secret within the blob.
    pub secret: Range<usize>,
    /// The secret is a well-known public value (documentation example,
    /// emulator key): the engine counts it as suppressed instead of
    /// reporting it. Validators are skipped for it, so a published example
    /// that looks like a placeholder is still counted.
    pub known_public: bool,
}

/// A candidate the validators dropped, for explaining rule examples.
#[derive(Debug, Clone)]
pub struct Dropped {
    pub rule: usize,
    pub secret: Range<usize>,
    pub why: Rejection,
}

/// All rules, compiled once, shared by every worker thread.
pub struct Matcher {
    /// Tells this matcher's rule indices from another's in the per-thread
    /// capture slots.
    id: u64,
    rules: Vec<Rule>,
    keywords: Keywords,
    /// For each keyword (a distinct lowercased keyword), the rules using it.
    keyword_rules: Vec<Vec<usize>>,
}

impl Matcher {
    pub fn new(rules: Vec<Rule>) -> Result<Self, MatcherError> {
        let mut keyword_index: BTreeMap<String, usize> = BTreeMap::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (rule_index, rule) in rules.iter().enumerate() {
            for keyword in &rule.keywords {
                let key = keyword.to_ascii_lowercase();
                let next = keyword_rules.len();
                let slot = *keyword_index.entry(key).or_insert(next);
                if slot == next {
                    keyword_rules.push(Vec::new());
                }
                if !keyword_rules[slot].contains(&rule_index) {
                    keyword_rules[slot].push(rule_index);
                }
            }
        }
        let mut patterns: Vec<(usize, String)> =
            keyword_index.into_iter().map(|(k, i)| (i, k)).collect();
        patterns.sort();
        let keywords: Vec<String> = patterns.into_iter().map(|(_, k)| k).collect();
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Ok(Matcher {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            rules,
            keywords: Keywords::new(&keywords),
            keyword_rules,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Finds every validated match in `blob`, most specific rule per secret.
    pub fn find(&self, blob: &[u8], kind: BlobKind) -> Vec<RawMatch> {
        self.find_explained(blob, kind, None)
    }

    /// As [`Matcher::find`], also collecting what the validators dropped.
    pub fn find_explained(
        &self,
        blob: &[u8],
        kind: BlobKind,
        dropped: Option<&mut Vec<Dropped>>,
    ) -> Vec<RawMatch> {
        let mut found = Found {
            candidates: Vec::new(),
            bad_checksums: Vec::new(),
            dropped,
            known_public: crate::rules::known_public::embedded(),
        };
        // In the order they were closed: each rule's regions are disjoint
        // and in order, and `most_specific` orders the candidates anyway.
        let regions = self.candidate_regions(blob, kind);
        CAPTURES.with_borrow_mut(|captures| {
            captures.start(self.id, self.rules.len());
            for (rule_index, region) in regions {
                let rule = &self.rules[rule_index];
                let Ok(compiled) = rule.compiled() else {
                    continue;
                };
                if compiled.anchored {
                    // `region` holds the positions where a match may start: one
                    // anchored search at each, which ends as soon as the text
                    // cannot continue a match (a few bytes, not a window).
                    let mut at = region.start;
                    for start in region {
                        if start < at
                            || compiled
                                .starts
                                .as_ref()
                                .is_some_and(|starts| !starts.may_start(blob, start))
                        {
                            continue;
                        }
                        let end = start.saturating_add(compiled.max_len).min(blob.len());
                        let input = regex_automata::Input::new(blob)
                            .span(start..end)
                            .anchored(regex_automata::Anchored::Yes);
                        let caps = captures.of(rule_index, compiled);
                        compiled.regex.search_captures(&input, caps);
                        if let Some(whole) = caps.get_match() {
                            at = whole.end().max(start + 1);
                            found.take(self, rule_index, blob, caps, compiled.secret_group);
                        }
                    }
                } else {
                    let caps = captures.of(rule_index, compiled);
                    let mut at = region.start;
                    while at <= region.end {
                        // A span of the whole blob: the match stays in the window,
                        // while `\b` and `$` at its edges see the bytes beyond.
                        let input = regex_automata::Input::new(blob).span(at..region.end);
                        compiled.regex.search_captures(&input, caps);
                        let Some(whole) = caps.get_match() else {
                            break;
                        };
                        at = if whole.is_empty() {
                            whole.end() + 1
                        } else {
                            whole.end()
                        };
                        found.take(self, rule_index, blob, caps, compiled.secret_group);
                    }
                }
            }
        });
        let Found {
            mut candidates,
            bad_checksums,
            ..
        } = found;
        if !bad_checksums.is_empty() {
            candidates.retain(|m| {
                let rule = &self.rules[m.rule];
                !(rule.generic || rule.broad)
                    || !bad_checksums
                        .iter()
                        .any(|bad| bad.start < m.secret.end && m.secret.start < bad.end)
            });
        }
        self.most_specific(candidates)
    }

    /// Per rule, the merged byte regions its regex must look at around its
    /// keyword hits. A match holds a keyword that ends at most `lead` bytes
    /// after the match starts, and is at most `max_len` long. For a rule
    /// searched in windows, the region is where matches lie: from `lead`
    /// bytes before a hit's end to `max_len` after its start. For an
    /// anchored rule it is where matches start: from `lead` bytes before a
    /// hit's end to the hit's start.
    fn candidate_regions(&self, blob: &[u8], kind: BlobKind) -> Vec<(usize, Range<usize>)> {
        // Hits arrive in increasing position, so each rule's regions can be
        // merged as they come: memory stays proportional to the number of
        // disjoint regions, not to the number of keyword hits.
        OPEN_REGIONS.with_borrow_mut(|open| {
            open.start(self.rules.len());
            self.merge_regions(blob, kind, open)
        })
    }

    /// [`Matcher::candidate_regions`] with each rule's open region in `open`.
    fn merge_regions(
        &self,
        blob: &[u8],
        kind: BlobKind,
        open: &mut OpenRegions,
    ) -> Vec<(usize, Range<usize>)> {
        let mut merged: Vec<(usize, Range<usize>)> = Vec::new();
        for hit in self.keywords.find_all(blob) {
            for &rule_index in &self.keyword_rules[hit.keyword] {
                let rule = &self.rules[rule_index];
                if rule.generic && !kind.generic_rules {
                    continue;
                }
                let Ok(compiled) = rule.compiled() else {
                    continue;
                };
                let mut start = hit.span.end.saturating_sub(compiled.lead);
                let mut end = if compiled.anchored {
                    hit.span.start + 1
                } else {
                    hit.span
                        .start
                        .saturating_add(compiled.max_len)
                        .min(blob.len())
                };
                if compiled.single_line && !compiled.anchored {
                    if let Some(newline) = memchr::memrchr(b'\n', &blob[start..hit.span.start]) {
                        start += newline + 1;
                    }
                    if let Some(newline) = memchr::memchr(b'\n', &blob[hit.span.end..end]) {
                        end = hit.span.end + newline;
                    }
                }
                if let Some(done) = open.extend(rule_index, start..end) {
                    merged.push((rule_index, done));
                }
            }
        }
        merged.extend(open.drain());
        merged
    }

    /// Keeps, among candidates whose secrets overlap, the most specific one:
    /// provider-specific before broad before generic, then higher confidence,
    /// then the longer match.
    fn most_specific(&self, mut candidates: Vec<RawMatch>) -> Vec<RawMatch> {
        if candidates.len() <= 1 {
            return candidates;
        }
        candidates.sort_by_key(|m| {
            let rule = &self.rules[m.rule];
            (
                rule.generic,
                rule.broad,
                std::cmp::Reverse(rule.confidence),
                std::cmp::Reverse(m.span.len()),
                m.secret.start,
                m.rule,
            )
        });
        let mut accepted: BTreeMap<usize, RawMatch> = BTreeMap::new();
        for candidate in candidates {
            let overlaps_before = accepted
                .range(..=candidate.secret.start)
                .next_back()
                .is_some_and(|(_, m)| m.secret.end > candidate.secret.start);
            let overlaps_after = accepted
                .range(candidate.secret.start..)
                .next()
                .is_some_and(|(_, m)| m.secret.start < candidate.secret.end);
            if !overlaps_before && !overlaps_after {
                accepted.insert(candidate.secret.start, candidate);
            }
        }
        accepted.into_values().collect()
    }
}

/// Each thread's open region per rule, kept from blob to blob with the
/// rules that have one, so that a blob costs what its hits touch: a fresh
/// slot per rule was a 24 KiB allocation, zeroed, for every blob and view.
struct OpenRegions {
    by_rule: Vec<Option<Range<usize>>>,
    opened: Vec<usize>,
}

impl OpenRegions {
    /// Starts a blob searched with `rules` rules (no region is open).
    fn start(&mut self, rules: usize) {
        for rule in self.opened.drain(..) {
            self.by_rule[rule] = None;
        }
        if self.by_rule.len() != rules {
            self.by_rule.clear();
            self.by_rule.resize(rules, None);
        }
    }

    /// Extends `rule`'s open region with `region` if they touch; else
    /// opens `region` and returns the region it closes, if any.
    fn extend(&mut self, rule: usize, region: Range<usize>) -> Option<Range<usize>> {
        match &mut self.by_rule[rule] {
            Some(open) if region.start <= open.end => {
                open.start = open.start.min(region.start);
                open.end = open.end.max(region.end);
                None
            }
            slot => {
                let closed = slot.replace(region);
                if closed.is_none() {
                    self.opened.push(rule);
                }
                closed
            }
        }
    }

    /// The regions still open, each rule's last, closed.
    fn drain(&mut self) -> impl Iterator<Item = (usize, Range<usize>)> + '_ {
        let by_rule = &mut self.by_rule;
        self.opened
            .drain(..)
            .filter_map(|rule| by_rule[rule].take().map(|region| (rule, region)))
    }
}

thread_local! {
    static OPEN_REGIONS: std::cell::RefCell<OpenRegions> =
        const { std::cell::RefCell::new(OpenRegions { by_rule: Vec::new(), opened: Vec::new() }) };
    static CAPTURES: std::cell::RefCell<CaptureSlots> =
        const { std::cell::RefCell::new(CaptureSlots { matcher: u64::MAX, by_rule: Vec::new() }) };
}

/// Each thread's capture slots, one per rule of the matcher it last
/// searched with, made when a search first needs them and kept from blob to
/// blob: made per blob, they were 340,000 allocations on the npm corpus.
/// A search resets the slots it uses, so nothing is left over from the last
/// blob, even after a panic.
struct CaptureSlots {
    matcher: u64,
    by_rule: Vec<Option<Captures>>,
}

impl CaptureSlots {
    /// Starts a blob searched by matcher `id` of `rules` rules.
    fn start(&mut self, id: u64, rules: usize) {
        if self.matcher != id {
            self.matcher = id;
            self.by_rule.clear();
        }
        if self.by_rule.len() < rules {
            self.by_rule.resize_with(rules, || None);
        }
    }

    fn of(&mut self, rule: usize, compiled: &crate::rules::CompiledRegex) -> &mut Captures {
        self.by_rule[rule].get_or_insert_with(|| compiled.regex.create_captures())
    }
}

/// What one blob's searches produced so far.
struct Found<'a> {
    candidates: Vec<RawMatch>,
    /// Spans a provider rule recognised by shape and then rejected by its
    /// checksum: a token that fails its own CRC is a fake or a typo, and a
    /// generic or broad rule must not report the same bytes again.
    bad_checksums: Vec<Range<usize>>,
    dropped: Option<&'a mut Vec<Dropped>>,
    known_public: &'static KnownPublicValues,
}

impl Found<'_> {
    /// Validates one regex match and keeps it as a candidate or a drop.
    fn take(
        &mut self,
        matcher: &Matcher,
        rule_index: usize,
        blob: &[u8],
        caps: &regex_automata::util::captures::Captures,
        secret_group: usize,
    ) {
        let (Some(whole), Some(secret)) = (caps.get_match(), caps.get_group(secret_group)) else {
            return;
        };
        let rule = &matcher.rules[rule_index];
        let secret_bytes = &blob[secret.range()];
        let known_public = self.known_public.lookup(secret_bytes).is_some();
        let verdict = if known_public {
            Ok(())
        } else {
            validate::validate(rule, secret_bytes)
        };
        match verdict {
            Ok(()) => self.candidates.push(RawMatch {
                rule: rule_index,
                span: whole.range(),
                secret: secret.range(),
                known_public,
            }),
            Err(why) => {
                if why == Rejection::BadChecksum && !rule.generic && !rule.broad {
                    self.bad_checksums.push(secret.range());
                }
                if let Some(dropped) = self.dropped.as_deref_mut() {
                    dropped.push(Dropped {
                        rule: rule_index,
                        secret: secret.range(),
                        why,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{parse_rule_file, Strictness};

    fn matcher(regex: &str, keywords: &str) -> Matcher {
        let file = format!(
            "provider = \"test\"\nname = \"Test\"\nfamily = \"misc\"\ndocs = \"https://example.com\"\n[[rule]]\nid = \"test.rule\"\nname = \"t\"\nregex = '''{regex}'''\nkeywords = [{keywords}]\nconfidence = \"high\"\nseverity = \"high\"\ndescription = \"d\"\nremediation = \"r\"\n"
        );
        Matcher::new(parse_rule_file("test.toml", &file, Strictness::UserConfig).unwrap()).unwrap()
    }

    fn secrets(matcher: &Matcher, blob: &str) -> Vec<String> {
        matcher
            .find(blob.as_bytes(), BlobKind::default())
            .into_iter()
            .map(|m| blob[m.secret].to_string())
            .collect()
    }

    #[test]
    fn a_match_at_the_edge_of_its_window_sees_the_bytes_beyond() {
        // The window after a hit ends exactly where `abc` + 4 digits ends;
        // the `\b` there must see the fifth digit, not the window's end.
        let anchored = matcher(r"\b(abc[0-9]{4})\b", "\"abc\"");
        assert!(secrets(&anchored, "x abc12345").is_empty());
        assert_eq!(
            secrets(&anchored, "x abc1234 abc5678"),
            ["abc1234", "abc5678"]
        );
        // The same in a searched window (the keyword far from the start).
        let windowed = matcher(r"\b[a-z]{0,40}=(abc[0-9]{4})$", "\"abc\"");
        assert!(secrets(&windowed, "k=abc12345").is_empty());
        assert!(secrets(&windowed, "k=abc1234\n").is_empty());
        assert_eq!(secrets(&windowed, "key=abc1234"), ["abc1234"]);
    }

    #[test]
    fn regions_left_open_by_one_blob_do_not_reach_the_next() {
        // The per-thread open regions outlive a blob: the second scan must
        // see none of the first one's, whatever their order and length.
        let windowed = matcher(r"(?i)[a-z_]{0,40}token=([a-z0-9]{8})", "\"token\"");
        let long = format!("{}token=abcd1234 token=", "x ".repeat(500));
        assert_eq!(secrets(&windowed, &long), ["abcd1234"]);
        assert!(secrets(&windowed, "token").is_empty());
        assert_eq!(secrets(&windowed, "token=q7w2e9r4"), ["q7w2e9r4"]);
        let other = matcher(r"(?i)[a-z_]{0,40}token=([a-z0-9]{8})", "\"token\"");
        assert_eq!(secrets(&other, "a token=k3j8h5g1"), ["k3j8h5g1"]);
        assert_eq!(secrets(&windowed, &long), ["abcd1234"]);
    }

    #[test]
    fn anchored_and_windowed_searches_find_the_same_matches() {
        // The keyword is at most 6 bytes into the match: anchored searches.
        let anchored = matcher(r"(?i)(?:my_|our_)?token=([a-z0-9]{8})", "\"token\"");
        // A keyword 40 bytes in: windows.
        let windowed = matcher(r"(?i)[a-z_]{0,40}token=([a-z0-9]{8})", "\"token\"");
        let blob = "a token=abcd1234 MY_TOKEN=q7w2e9r4 token=token=12345678\nour_token=k3j8h5g1";
        assert_eq!(
            secrets(&anchored, blob),
            ["abcd1234", "q7w2e9r4", "12345678", "k3j8h5g1"]
        );
        assert_eq!(secrets(&windowed, blob), secrets(&anchored, blob));
    }
}
