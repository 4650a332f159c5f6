//! Findings: what a scan reports. A finding's identity is its fingerprint, a
//! hash of the secret scoped by provider; locations are metadata, so
//! baselines and allowlists survive line moves, rebases and squashes.

mod encoding;
pub mod identifiers;
mod rating;
mod verification;

pub use encoding::{render_chain, Encoding};
pub use rating::{Confidence, Severity};
pub use verification::{Status, Verification};

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Version tag of the fingerprint algorithm, recorded in baselines.
pub const FINGERPRINT_ALGORITHM: &str = "leakstop-fp-v1";

/// Rounds of SHA-256 for generic (often low-entropy, password-like) secrets,
/// so a committed baseline cannot cheaply be used to guess them.
const SLOW_HASH_ROUNDS: u32 = 20_000;

/// A secret value. Its `Debug` never prints the value, so it cannot leak
/// through logs or error messages by accident.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The raw value: only for `--show-secrets`, fingerprints and allowlists.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short form that identifies the secret to its owner without revealing
    /// it: the first few characters (at most a fifth of it), then asterisks.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

pub fn redact(secret: &str) -> String {
    let shown = (secret.chars().count() / 5).min(6);
    let mut out: String = secret.chars().take(shown).collect();
    out.push_str("*****");
    out
}

/// Stable fingerprint of `secret` in the family `scope` (the rule's provider).
///
/// The slow variant chains SHA-256 rounds over (previous digest, secret).
/// It is not PBKDF2 (whose HMAC rounds give other values), and baselines
/// already hold these values, so the chain stays as it is.
pub fn fingerprint(scope: &str, secret: &[u8], slow: bool) -> String {
    let mut context = Context::new(&SHA256);
    context.update(FINGERPRINT_ALGORITHM.as_bytes());
    context.update(&[0]);
    context.update(scope.as_bytes());
    context.update(&[0]);
    context.update(secret);
    let mut digest = context.finish();
    if slow {
        for _ in 0..SLOW_HASH_ROUNDS {
            let mut round = Context::new(&SHA256);
            round.update(digest.as_ref());
            round.update(secret);
            digest = round.finish();
        }
    }
    let hex: String = digest
        .as_ref()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("lsfp1:{hex}")
}

/// The git commit that introduced a finding's blob (history scans).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub date: String,
}

/// A position in an original source file behind a source map.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OriginalLocation {
    pub path: String,
    pub line: usize,
    pub column: usize,
}

/// One reported secret at one location. Deserialized from reports (`report
/// merge`) and org-scan state without the raw secret, which never leaves
/// the process that found it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub rule_name: String,
    pub provider: String,
    /// Path relative to the scan root, with `/` separators.
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub secret_redacted: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub fingerprint: String,
    pub confidence: Confidence,
    pub severity: Severity,
    pub client_safe: bool,
    /// The line around the secret, cut to a bounded width, secrets redacted.
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitInfo>,
    /// History scans: how many other (commit, path) places introduced the
    /// same blob (it was scanned once, and is reported at its first introduction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_occurrences: Option<usize>,
    /// Where the secret is in the source behind a source map (a map's
    /// `sourcesContent` entry, or a bundle position resolved through its map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<OriginalLocation>,
    /// `scan --verify`: what the provider said (docs/output.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Values found near the secret that its verification needs, by name.
    /// Reports carry only the identifiers among them (`identifiers`: a
    /// Twilio key SID, a service account's e-mail), never a secret.
    #[serde(
        rename = "identifiers",
        default,
        skip_serializing_if = "identifiers::none",
        with = "identifiers"
    )]
    pub companions: BTreeMap<String, Secret>,
    /// How the secret was encoded where it was found, outermost first
    /// (reports join the names with `+`: `percent+base64`); empty if it was
    /// found as written.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "encoding::chain"
    )]
    pub encoding: Vec<Encoding>,
    /// The file is shipped to browsers or apps (docs/client-side.md).
    pub client_exposed: bool,
    /// Org scans (`scan github`): the repository's full name, `owner/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip)]
    pub raw_secret: Secret,
    /// Byte range of the secret in the scanned bytes (for mapping derived
    /// views back to their file).
    #[serde(skip)]
    pub span: std::ops::Range<usize>,
}

impl Finding {
    /// Verification found the credential live (`scan --verify`).
    pub fn is_live(&self) -> bool {
        self.verification
            .as_ref()
            .is_some_and(|v| v.status == Status::Live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_secret_and_scope_only() {
        let a = fingerprint("github", b"ghp_abc", false);
        assert_eq!(a, fingerprint("github", b"ghp_abc", false));
        assert_ne!(a, fingerprint("github", b"ghp_abd", false));
        assert_ne!(a, fingerprint("gitlab", b"ghp_abc", false));
        assert_ne!(a, fingerprint("github", b"ghp_abc", true));
        assert!(a.starts_with("lsfp1:") && a.len() == 6 + 32);
    }

    /// Values computed by the first implementation (hand-rolled SHA-256
    /// rounds over `sha2`): baselines in the wild hold them, so any change of
    /// hashing code must reproduce them byte for byte.
    #[test]
    fn fingerprints_are_pinned() {
        let pins: [(&str, &[u8], bool, &str); 5] = [
            (
                "github",
                b"ghp_abc",
                false,
                "lsfp1:b890be98c325e492560a7115a1885632",
            ),
            (
                "generic",
                b"hunter2",
                true,
                "lsfp1:4f9d7b4092253ecc675e09677a183a95",
            ),
            // A published documentation example, not a credential.
            (
                "aws",
                b"AKIAIOSFODNN7EXAMPLE",
                false,
                "lsfp1:b929403d0a2369e7e23ba3b6ee409bfa",
            ),
            (
                "generic",
                b"p@ss w\xc3\xb6rd\x00",
                true,
                "lsfp1:97699eb4612ed71cdd61db91f16658cc",
            ),
            ("", b"", true, "lsfp1:29cb3a3e80879abcd24d6bf062ce6c50"),
        ];
        for (scope, secret, slow, expected) in pins {
            assert_eq!(
                fingerprint(scope, secret, slow),
                expected,
                "{scope} {secret:?}"
            );
        }
    }

    #[test]
    fn redaction_hides_most_of_the_secret() {
        assert_eq!(
            // A fake token (scripts/fake_token.py). leakstop:allow
            redact("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"),
            "ghp_YO*****"
        );
        assert_eq!(redact("hunter2"), "h*****");
        assert_eq!(redact("abc"), "*****");
        assert!(!format!("{:?}", Secret::new("topsecretvalue".into())).contains("topsecret"));
    }
}
