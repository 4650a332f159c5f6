//! The rule model: what a detector is, as loaded from `patterns/*.toml` or a
//! user's configuration. Rules are data; the matcher compiles them.

mod fragments;
mod keywords;
pub mod known_public;
mod load;
mod starts;

pub use load::{
    embedded_rules, ensure_unique_ids, parse_rule_file, validate_embedded, validate_rule,
    RuleError, Strictness,
};

pub use crate::finding::{Confidence, Severity};
use crate::provider::revoke::Manual;
use crate::provider::{ProviderVerify, VerifySpec};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Offline checksum schemes some token formats carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checksum {
    /// Last 6 chars: base62 CRC32 of the 30 random chars before them (GitHub).
    GithubCrc32,
    /// The same scheme, as used by npm's `npm_` tokens.
    NpmCrc32,
}

/// How the matched text becomes the secret that is reported (`decode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretDecoding {
    /// Base64 of `user:password` (HTTP Basic): the password is the secret
    /// (the user when the password is empty, as API keys sent as `key:`).
    BasicAuth,
}

/// A character class a secret must contain (`requires`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CharClass {
    Digit,
    Lower,
    Upper,
    Letter,
    Special,
}

/// One detector. Field meanings are documented in docs/rules.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub name: String,
    /// The regex, with named fragments (`{{assign}}`) expanded.
    #[serde(deserialize_with = "fragments::deserialize")]
    pub regex: String,
    pub keywords: Vec<String>,
    #[serde(default)]
    pub secret_group: Option<usize>,
    pub confidence: Confidence,
    pub severity: Severity,
    #[serde(default)]
    pub client_safe: bool,
    #[serde(default)]
    pub generic: bool,
    /// Matches a structure many providers share (URLs with passwords,
    /// Authorization headers, JWTs): any provider-specific rule on the same
    /// secret wins over it.
    #[serde(default)]
    pub broad: bool,
    #[serde(default)]
    pub min_entropy: Option<f64>,
    #[serde(default)]
    pub requires: Vec<CharClass>,
    #[serde(default)]
    pub checksum: Option<Checksum>,
    /// The secret group is an encoding of the credential: reports carry the
    /// decoded credential, so its fingerprint, allowlist entry and redacted
    /// form are those of the password, not of its base64.
    #[serde(default)]
    pub decode: Option<SecretDecoding>,
    /// Longest match in bytes, for regexes that cannot be bounded cheaply
    /// (a PEM block): counted repetitions like `{64,16384}` compile into huge
    /// automata, so such rules use `+` and declare their bound here.
    #[serde(default)]
    pub max_len: Option<usize>,
    pub description: String,
    pub remediation: String,
    #[serde(default)]
    pub docs: Option<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// How `scan --verify` checks whether a match is live (docs/rules.md).
    #[serde(default)]
    pub verify: Option<VerifySpec>,
    /// How a human revokes the credential where no API can
    /// (`[rule.revoke]`); else the provider file's `[revoke]` applies.
    #[serde(default)]
    pub revoke: Option<Manual>,
    /// The provider file's `[revoke]` table.
    #[serde(skip)]
    pub provider_revoke: Option<Manual>,
    /// The provider file's `[verify]` table (base URL, concurrency).
    #[serde(skip)]
    pub provider_verify: ProviderVerify,
    /// Filled in by the loader from the file header.
    #[serde(skip)]
    pub provider: String,
    #[serde(skip)]
    pub provider_name: String,
    #[serde(skip)]
    pub provider_docs: String,
    /// The file header's optional `family` (docs/rules.md lists them).
    #[serde(skip)]
    pub provider_family: Option<String>,
    /// Where the rule came from, for error messages (`patterns/github.toml`).
    #[serde(skip)]
    pub origin: String,
    #[serde(skip)]
    compiled: OnceLock<Result<CompiledRegex, String>>,
}

/// A rule's regex, compiled on first use, with the facts the matcher needs.
#[derive(Debug, Clone)]
pub struct CompiledRegex {
    pub regex: regex_automata::meta::Regex,
    /// Longest possible match in bytes: the search window after a keyword hit.
    pub max_len: usize,
    /// Longest stretch from a match's start to the end of the keyword it
    /// holds (at most `max_len`): the search window before a keyword hit.
    pub lead: usize,
    /// Matches start at most [`ANCHOR_SLACK`] bytes before a keyword hit:
    /// the matcher tries an anchored search at each such position instead
    /// of searching a window of `lead + max_len` bytes.
    pub anchored: bool,
    /// No match holds a line feed: a window ends at the hit's line.
    pub single_line: bool,
    /// What an anchored match can start with, when the regex says.
    pub starts: Option<starts::Starts>,
    pub secret_group: usize,
}

/// How far before a keyword a match may start for the matcher to try
/// anchored searches there (see [`CompiledRegex::anchored`]).
pub const ANCHOR_SLACK: usize = 16;

/// Longest match the matcher accepts; keeps windows (and work per hit) bounded.
pub const MAX_MATCH_LEN: usize = 64 * 1024;

impl Rule {
    /// The regex, compiled lazily: a pre-commit run pays only for the rules
    /// its content can trigger.
    pub fn compiled(&self) -> Result<&CompiledRegex, &str> {
        self.compiled
            .get_or_init(|| compile(&self.regex, &self.keywords, self.secret_group, self.max_len))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Documentation link: the rule's own, else the provider's.
    pub fn docs_url(&self) -> &str {
        self.docs.as_deref().unwrap_or(&self.provider_docs)
    }

    /// The manual revocation steps: the rule's own, else its provider's.
    pub fn manual_revoke(&self) -> Option<&Manual> {
        self.revoke.as_ref().or(self.provider_revoke.as_ref())
    }
}

/// Parses a rule's regex the way the matcher compiles it: over bytes, with
/// ASCII classes and word boundaries.
pub(crate) fn parse_ascii(
    pattern: &str,
) -> Result<regex_syntax::hir::Hir, Box<regex_syntax::Error>> {
    regex_syntax::ParserBuilder::new()
        .utf8(false)
        .unicode(false)
        .build()
        .parse(pattern)
        .map_err(Box::new)
}

fn compile(
    pattern: &str,
    keywords: &[String],
    secret_group: Option<usize>,
    declared_max_len: Option<usize>,
) -> Result<CompiledRegex, String> {
    // Credentials are ASCII: ASCII classes and word boundaries keep every
    // search in the lazy DFA (a Unicode `\b` sends non-ASCII input to the
    // much slower PikeVM).
    let hir = parse_ascii(pattern).map_err(|e| format!("invalid regex: {e}"))?;
    let max_len = declared_max_len
        .or(hir.properties().maximum_len())
        .ok_or_else(|| {
            "regex has no maximum length; bound every repetition (e.g. `{1,256}` instead of `+`, `\\s{0,4}` instead of `\\s*`) or declare `max_len`".to_string()
        })?;
    if max_len > MAX_MATCH_LEN {
        return Err(format!(
            "regex can match up to {max_len} bytes; the limit is {MAX_MATCH_LEN}"
        ));
    }
    let lead = keywords::lead(&hir, keywords).map_or(max_len, |lead| lead.min(max_len));
    let shortest_keyword = keywords.iter().map(String::len).min().unwrap_or(0);
    let anchored = lead.saturating_sub(shortest_keyword) <= ANCHOR_SLACK;
    // The meta regex that `regex::bytes` wraps, configured as it does, built
    // from the HIR parsed above: the matcher searches a window as a span of
    // the whole blob, so `\b` and `$` at a window's edge see the real bytes.
    let regex = regex_automata::meta::Builder::new()
        .configure(
            regex_automata::meta::Config::new()
                .match_kind(regex_automata::MatchKind::LeftmostFirst)
                .utf8_empty(false)
                // Every search starts at or just before a keyword hit, so a
                // literal prefilter has nothing to skip; extracting one was
                // a third of compiling a rule.
                .auto_prefilter(false)
                .nfa_size_limit(Some(50 * (1 << 20)))
                .hybrid_cache_capacity(2 * (1 << 20)),
        )
        .build_from_hir(&hir)
        .map_err(|e| format!("invalid regex: {e}"))?;
    let groups = regex
        .group_info()
        .group_len(regex_automata::PatternID::ZERO);
    let secret_group = match secret_group {
        Some(group) if group >= groups => {
            return Err(format!(
                "secret_group = {group}, but the regex has only {} capture group(s)",
                groups - 1
            ))
        }
        Some(group) => group,
        None => regex
            .group_info()
            .to_index(regex_automata::PatternID::ZERO, "secret")
            .unwrap_or(if groups > 1 { 1 } else { 0 }),
    };
    Ok(CompiledRegex {
        regex,
        max_len,
        lead,
        anchored,
        single_line: !starts::can_match_newline(&hir),
        starts: starts::Starts::of(&hir),
        secret_group,
    })
}
