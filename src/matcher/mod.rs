//! The compiled rule set. One keyword search over every rule's keywords (a
//! fingerprint filter, `keywords.rs`) selects candidate rules and positions;
//! only those rules' regexes run, and only in windows around the keyword
//! hits. Most bytes of a blob are seen by the keyword search alone.

pub mod companion;
mod keywords;
pub mod validate;

use crate::rules::Rule;
use keywords::Keywords;
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
        Ok(Matcher {
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
        mut dropped: Option<&mut Vec<Dropped>>,
    ) -> Vec<RawMatch> {
        let windows = self.candidate_windows(blob, kind);
        let mut candidates = Vec::new();
        // Spans a provider rule recognised by shape and then rejected by its
        // checksum: a token that fails its own CRC is a fake or a typo, and
        // a generic or broad rule must not report the same bytes again.
        let mut bad_checksums: Vec<Range<usize>> = Vec::new();
        let known_public = crate::rules::known_public::embedded();
        for (rule_index, window) in windows {
            let rule = &self.rules[rule_index];
            let Ok(compiled) = rule.compiled() else {
                continue;
            };
            let haystack = &blob[..window.end];
            let mut at = window.start;
            while at <= haystack.len() {
                let Some(caps) = compiled.regex.captures_at(haystack, at) else {
                    break;
                };
                let Some(whole) = caps.get(0) else { break };
                at = if whole.end() > whole.start() {
                    whole.end()
                } else {
                    whole.end() + 1
                };
                let Some(secret) = caps.get(compiled.secret_group) else {
                    continue;
                };
                let known_public = known_public.lookup(secret.as_bytes()).is_some();
                let verdict = if known_public {
                    Ok(())
                } else {
                    validate::validate(rule, secret.as_bytes())
                };
                match verdict {
                    Ok(()) => candidates.push(RawMatch {
                        rule: rule_index,
                        span: whole.range(),
                        secret: secret.range(),
                        known_public,
                    }),
                    Err(why) => {
                        if why == Rejection::BadChecksum && !rule.generic && !rule.broad {
                            bad_checksums.push(secret.range());
                        }
                        if let Some(dropped) = dropped.as_deref_mut() {
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

    /// Per rule, the merged byte windows around its keyword hits in which its
    /// regex can match. A match contains a keyword and is at most `max_len`
    /// long, so it lies within `max_len` bytes of the hit on either side.
    fn candidate_windows(&self, blob: &[u8], kind: BlobKind) -> Vec<(usize, Range<usize>)> {
        // Hits arrive in increasing position, so each rule's windows can be
        // merged as they come: memory stays proportional to the number of
        // disjoint windows, not to the number of keyword hits.
        let mut open: Vec<Option<Range<usize>>> = vec![None; self.rules.len()];
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
                let start = hit.span.start.saturating_sub(compiled.max_len);
                let end = hit
                    .span
                    .end
                    .saturating_add(compiled.max_len)
                    .min(blob.len());
                match &mut open[rule_index] {
                    Some(window) if start <= window.end => {
                        window.start = window.start.min(start);
                        window.end = window.end.max(end);
                    }
                    slot => {
                        if let Some(done) = slot.replace(start..end) {
                            merged.push((rule_index, done));
                        }
                    }
                }
            }
        }
        merged.extend(
            open.into_iter()
                .enumerate()
                .filter_map(|(rule_index, window)| window.map(|w| (rule_index, w))),
        );
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
