//! The companion search: finds, near a secret in the same blob, the values
//! its verification needs (crate::provider::CompanionSpec says which). It
//! runs at scan time, with or without `--verify`, while the blob is at hand.

use super::RawMatch;
use crate::finding::Secret;
use crate::provider::CompanionSpec;
use crate::rules::Rule;
use crate::text::LineIndex;
use std::collections::BTreeMap;

/// Finds the companions of the secret `this` in `blob`. `matches` are all
/// the blob's matches (companion rules' secrets among them), `rules` the
/// matcher's rules. Missing values are simply absent.
pub fn find(
    blob: &[u8],
    lines: &LineIndex,
    this: &RawMatch,
    matches: &[RawMatch],
    rules: &[Rule],
) -> BTreeMap<String, Secret> {
    let mut found = BTreeMap::new();
    let Some(spec) = rules[this.rule].verify.as_ref() else {
        return found;
    };
    for companion in &spec.companions {
        if let Some(value) = find_one(blob, lines, this, matches, rules, companion) {
            found.insert(companion.name.clone(), Secret::new(value));
        }
    }
    found
}

fn find_one(
    blob: &[u8],
    lines: &LineIndex,
    this: &RawMatch,
    matches: &[RawMatch],
    rules: &[Rule],
    companion: &CompanionSpec,
) -> Option<String> {
    let within = companion.within_lines();
    let line = lines.line_of(this.secret.start);
    let last_line = lines.line_of(blob.len());
    let first = lines.line_range(blob, line.saturating_sub(within)).start;
    let end = lines.line_range(blob, (line + within).min(last_line)).end;
    let distance = |start: usize| start.abs_diff(this.secret.start);
    let text = |range: std::ops::Range<usize>| String::from_utf8_lossy(&blob[range]).into_owned();
    if companion.in_secret {
        let secret = &blob[this.secret.clone()];
        let captures = companion.regex()?.captures(secret)?;
        return captures
            .get(1)
            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned());
    }
    // Another rule's secret, the nearest one in the window.
    let by_rule = matches
        .iter()
        .filter(|m| m.secret != this.secret)
        .filter(|m| companion.rules.iter().any(|id| *id == rules[m.rule].id))
        .filter(|m| m.secret.start >= first && m.secret.end <= end)
        .min_by_key(|m| distance(m.secret.start));
    if let Some(m) = by_rule {
        return Some(text(m.secret.clone()));
    }
    let regex = companion.regex()?;
    regex
        .captures_iter(&blob[first..end])
        .filter_map(|c| c.get(1))
        .map(|m| (first + m.start())..(first + m.end()))
        .filter(|range| *range != this.secret)
        .min_by_key(|range| distance(range.start))
        .map(text)
}
