//! The load-time promise behind the keyword prefilter: every match a rule's
//! regex can produce contains one of its keywords (ASCII case-insensitively).
//! The matcher only runs a rule's regex in windows around keyword hits, so a
//! match without a keyword would be silently missed.
//!
//! The check uses regex-syntax's literal extraction, as ripgrep does for its
//! prefilters: the HIR is folded to lower case (keywords are
//! case-insensitive), then for every position in every concatenation the
//! prefixes of what can match from there are extracted; if each of a finite
//! set of prefixes contains a keyword, every match does.

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Capture, Class, ClassBytes, ClassBytesRange, Hir, HirKind, Repetition};

/// Classes up to this size are folded to lower case.
const FOLD_CLASS_LIMIT: usize = 64;

/// Whether every match of `hir` contains one of `keywords`.
pub fn in_every_match(hir: &Hir, keywords: &[String]) -> bool {
    Check::new(keywords).covered(&fold(hir))
}

/// The longest stretch from the start of a match to the end of a keyword
/// the match must hold there: the part of the regex up to the first element
/// after which every match has met a keyword. The matcher opens a rule's
/// window only that far before a hit instead of a whole match length; for a
/// rule that starts with its keyword that halves the bytes its regex reads.
/// `None` when no such bound exists (the full match length applies).
pub fn lead(hir: &Hir, keywords: &[String]) -> Option<usize> {
    Check::new(keywords).lead(&fold(hir))
}

struct Check {
    keywords: Vec<Vec<u8>>,
    extractors: [Extractor; 2],
}

impl Check {
    fn new(keywords: &[String]) -> Check {
        let keywords = keywords
            .iter()
            .map(|k| k.to_ascii_lowercase().into_bytes())
            .collect();
        // Two extractors: small classes keep extraction from exploding on
        // `[a-z]{0,12}`; letter-sized ones see keywords such as `hc[a-z]ik_`.
        let extractors = [10, 26].map(|limit_class| {
            let mut extractor = Extractor::new();
            extractor
                .kind(ExtractKind::Prefix)
                .limit_class(limit_class)
                .limit_repeat(32)
                .limit_total(1000);
            extractor
        });
        Check {
            keywords,
            extractors,
        }
    }

    fn lead(&self, hir: &Hir) -> Option<usize> {
        match hir.kind() {
            HirKind::Capture(capture) => self.lead(&capture.sub),
            HirKind::Alternation(branches) => branches
                .iter()
                .map(|branch| self.lead(branch))
                .try_fold(0, |longest, lead| Some(longest.max(lead?))),
            HirKind::Concat(parts) => {
                let end = (1..=parts.len())
                    .find(|&end| self.covered(&Hir::concat(parts[..end].to_vec())))?;
                let before = Hir::concat(parts[..end - 1].to_vec());
                let last = &parts[end - 1];
                let last_lead = if self.covered(last) {
                    self.lead(last)
                } else {
                    None
                };
                let last_lead = last_lead.or_else(|| last.properties().maximum_len())?;
                Some(before.properties().maximum_len()? + last_lead)
            }
            _ if self.covered(hir) => hir.properties().maximum_len(),
            _ => None,
        }
    }

    fn covered(&self, hir: &Hir) -> bool {
        if self.prefixes_covered(hir) {
            return true;
        }
        match hir.kind() {
            HirKind::Concat(parts) => {
                (1..parts.len()).any(|i| self.prefixes_covered(&Hir::concat(parts[i..].to_vec())))
                    || parts.iter().any(|part| self.covered(part))
            }
            HirKind::Alternation(branches) => branches.iter().all(|b| self.covered(b)),
            HirKind::Capture(capture) => self.covered(&capture.sub),
            HirKind::Repetition(repetition) if repetition.min > 0 => self.covered(&repetition.sub),
            _ => false,
        }
    }

    /// Every match of `hir` starts with one of a finite set of literals,
    /// and each of them contains a keyword.
    fn prefixes_covered(&self, hir: &Hir) -> bool {
        self.extractors.iter().any(|extractor| {
            extractor.extract(hir).literals().is_some_and(|literals| {
                literals.iter().all(|literal| {
                    let bytes = literal.as_bytes();
                    self.keywords
                        .iter()
                        .any(|k| bytes.windows(k.len()).any(|w| w == k.as_slice()))
                })
            })
        })
    }
}

/// The same expression with ASCII letters folded to lower case, so `(?i)`
/// classes such as `[Gg]` become the literal `g` and extraction stays small.
fn fold(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Literal(literal) => Hir::literal(literal.0.to_ascii_lowercase()),
        HirKind::Class(Class::Bytes(class)) => fold_class(class),
        // Simplification can turn `(?i)(?:es|ec)` into a Unicode class.
        HirKind::Class(Class::Unicode(class)) => match class.to_byte_class() {
            Some(bytes) => fold_class(&bytes),
            None => hir.clone(),
        },
        HirKind::Repetition(repetition) => Hir::repetition(Repetition {
            sub: Box::new(fold(&repetition.sub)),
            ..repetition.clone()
        }),
        HirKind::Capture(capture) => Hir::capture(Capture {
            sub: Box::new(fold(&capture.sub)),
            ..capture.clone()
        }),
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(fold).collect()),
        HirKind::Alternation(branches) => Hir::alternation(branches.iter().map(fold).collect()),
        _ => hir.clone(),
    }
}

fn fold_class(class: &ClassBytes) -> Hir {
    let size: usize = class
        .iter()
        .map(|r| usize::from(r.end() - r.start()) + 1)
        .sum();
    if size > FOLD_CLASS_LIMIT {
        return Hir::class(Class::Bytes(class.clone()));
    }
    let mut bytes: Vec<u8> = class
        .iter()
        .flat_map(|r| r.start()..=r.end())
        .map(|b| b.to_ascii_lowercase())
        .collect();
    bytes.sort_unstable();
    bytes.dedup();
    match bytes.as_slice() {
        [single] => Hir::literal([*single]),
        _ => Hir::class(Class::Bytes(ClassBytes::new(
            bytes.iter().map(|&b| ClassBytesRange::new(b, b)),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(regex: &str, keywords: &[&str]) -> bool {
        let hir = crate::rules::parse_ascii(regex).unwrap();
        let keywords: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        in_every_match(&hir, &keywords)
    }

    #[test]
    fn keywords_inside_every_match() {
        assert!(holds(r"\b(ghp_[A-Za-z0-9]{36})\b", &["ghp_"]));
        assert!(holds(r"(?i)\bGHP_[a-z]{4}", &["ghp_"]));
        assert!(holds(
            r"(?i)algolia[_.-]?(?:admin)?key=([a-f0-9]{32})",
            &["algolia"]
        ));
        assert!(holds(
            r"(?:sk_live_|rk_live_)[a-z]{8}",
            &["sk_live_", "rk_live_"]
        ));
        assert!(holds(r"x(?:abc|abd)[0-9]{2}", &["ab"]));
        // A branch without the keyword, an optional keyword, a keyword that
        // only some spellings of a class give.
        assert!(!holds(r"(?:ghp_|gho_)[a-z]{4}", &["ghp_"]));
        assert!(!holds(r"(?:token=)?[a-f0-9]{32}", &["token"]));
        assert!(!holds(r"tok[a-z]n=[0-9]{4}", &["token"]));
        assert!(!holds(r"[a-z]{4}", &["abcd"]));
    }

    fn lead_of(regex: &str, keywords: &[&str]) -> Option<usize> {
        let hir = crate::rules::parse_ascii(regex).unwrap();
        let keywords: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        lead(&hir, &keywords)
    }

    #[test]
    fn the_lead_ends_where_every_match_has_met_a_keyword() {
        assert_eq!(lead_of(r"\b(ghp_[A-Za-z0-9]{36})\b", &["ghp_"]), Some(4));
        assert_eq!(
            lead_of(
                r"(?i)(?:client|app)?[_.-]?secret=([a-z0-9]{16,128})",
                &["secret"]
            ),
            Some(6 + 1 + "secret=".len())
        );
        // The branch whose keyword ends furthest in decides; a branch
        // without a bound gives none.
        assert_eq!(lead_of(r"(?:ab[0-9]{8}|x{0,5}ab)c", &["ab"]), Some(7));
        assert_eq!(lead_of(r"(?:ab|[a-z]{0,9}c)d", &["ab"]), None);
        // A keyword that only the end of the regex guarantees.
        assert_eq!(lead_of(r"[0-9a-f]{32}\s{0,4}token", &["token"]), Some(41));
    }
}
