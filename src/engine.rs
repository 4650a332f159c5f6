//! The one place matcher, filters and findings meet: a blob goes in, the
//! findings to report come out. Every source (filesystem, git, bundles)
//! feeds blobs through [`Engine::scan_blob`], so filters behave the same in
//! every mode.

use crate::filter::{Filters, Suppression};
use crate::finding::{fingerprint, Finding, Secret};
use crate::matcher::validate::{basic_auth_secret, shannon_entropy};
use crate::matcher::{companion, BlobKind, Matcher, RawMatch};
use crate::rules::SecretDecoding;
use crate::stats::StatsCollector;
use crate::text::{allow_marker_covers, context_snippet, LineIndex};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Mutex;

/// Below this many estimated bits, a secret is guessable (a password), and
/// its fingerprint uses the slow hash.
const GUESSABLE_BITS: f64 = 72.0;

pub struct Engine {
    matcher: Matcher,
    filters: Filters,
    show_secrets: bool,
    /// Report well-known public values (as `info`) instead of counting them.
    show_known_public: bool,
    slow_fingerprints: Mutex<HashMap<(String, Vec<u8>), String>>,
    baseline_hits: Mutex<HashSet<String>>,
}

impl Engine {
    pub fn new(matcher: Matcher, filters: Filters, show_secrets: bool) -> Self {
        Engine {
            matcher,
            filters,
            show_secrets,
            show_known_public: false,
            slow_fingerprints: Mutex::default(),
            baseline_hits: Mutex::default(),
        }
    }

    /// Reports well-known public values as `info` findings instead of
    /// suppressing them (`--show-known-public`).
    pub fn with_known_public(mut self, show: bool) -> Self {
        self.show_known_public = show;
        self
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    pub fn filters(&self) -> &Filters {
        &self.filters
    }

    /// Baseline fingerprints that matched a finding in this run.
    pub fn baseline_hits(&self) -> HashSet<String> {
        self.baseline_hits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Finds, locates and filters the secrets in one blob. `path` is the
    /// display path relative to the scan root.
    pub fn scan_blob(
        &self,
        blob: &[u8],
        path: &str,
        kind: BlobKind,
        stats: &StatsCollector,
    ) -> Vec<Finding> {
        self.scan(blob, path, kind, stats, true)
    }

    /// The same for a decoded view of a blob: allow markers in decoded text
    /// do not count (the caller checks the blob itself once a finding is
    /// mapped back to it), so an encoded marker cannot hide anything.
    pub fn scan_decoded(
        &self,
        view: &[u8],
        path: &str,
        kind: BlobKind,
        stats: &StatsCollector,
    ) -> Vec<Finding> {
        self.scan(view, path, kind, stats, false)
    }

    fn scan(
        &self,
        blob: &[u8],
        path: &str,
        kind: BlobKind,
        stats: &StatsCollector,
        allow_markers: bool,
    ) -> Vec<Finding> {
        let matches = self.matcher.find(blob, kind);
        if matches.is_empty() {
            return Vec::new();
        }
        let lines = LineIndex::new(blob);
        let redactions: Vec<(Range<usize>, String)> = matches
            .iter()
            .map(|m| (m.secret.clone(), self.shown(&blob[m.secret.clone()])))
            .collect();
        let mut findings = Vec::with_capacity(matches.len());
        for m in &matches {
            if m.known_public && !self.show_known_public {
                stats.suppressed(Suppression::KnownPublic);
                continue;
            }
            if allow_markers && allow_marker_covers(blob, &lines, m.secret.clone()) {
                stats.suppressed(Suppression::AllowComment);
                continue;
            }
            let rule = &self.matcher.rules()[m.rule];
            let decoded;
            let secret_bytes = match rule.decode {
                None => &blob[m.secret.clone()],
                Some(SecretDecoding::BasicAuth) => {
                    match basic_auth_secret(&blob[m.secret.clone()]) {
                        Some(secret) => {
                            decoded = secret;
                            &decoded[..]
                        }
                        // Not a `user:password` pair, or a placeholder one.
                        None => continue,
                    }
                }
            };
            let secret_text = String::from_utf8_lossy(secret_bytes).into_owned();
            let fp = self.fingerprint(&rule.provider, secret_bytes);
            if let Some(why) = self.filters.suppression(&rule.id, path, &secret_text, &fp) {
                if why == Suppression::Baseline {
                    self.baseline_hits
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(fp.clone());
                }
                stats.suppressed(why);
                continue;
            }
            let mut finding = self.build(blob, &lines, m, path, secret_text, fp, &redactions);
            finding.companions = companion::find(blob, &lines, m, &matches, self.matcher.rules());
            if m.known_public {
                // Public by definition: info, and safe in client-side code.
                finding.severity = crate::finding::Severity::Info;
                finding.client_safe = true;
            }
            findings.push(finding);
        }
        findings
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        blob: &[u8],
        lines: &LineIndex,
        m: &RawMatch,
        path: &str,
        secret_text: String,
        fingerprint: String,
        redactions: &[(Range<usize>, String)],
    ) -> Finding {
        let rule = &self.matcher.rules()[m.rule];
        let (line, column) = lines.position(blob, m.secret.start);
        let (end_line, end_column) = lines.position(blob, m.secret.end);
        let line_range = lines.line_range(blob, line - 1);
        let context = context_snippet(blob, line_range, m.secret.clone(), redactions);
        let secret = Secret::new(secret_text);
        Finding {
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            provider: rule.provider.clone(),
            path: path.to_string(),
            line,
            column,
            end_line,
            end_column,
            secret_redacted: secret.redacted(),
            secret: self.show_secrets.then(|| secret.expose().to_string()),
            fingerprint,
            confidence: rule.confidence,
            severity: rule.severity,
            client_safe: rule.client_safe,
            context,
            commit: None,
            other_occurrences: None,
            original: None,
            verification: None,
            companions: Default::default(),
            encoding: Vec::new(),
            client_exposed: false,
            repository: None,
            raw_secret: secret,
            span: m.secret.clone(),
        }
    }

    /// What reports show in place of a secret.
    fn shown(&self, secret: &[u8]) -> String {
        let text = String::from_utf8_lossy(secret);
        if self.show_secrets {
            text.into_owned()
        } else {
            crate::finding::redact(&text)
        }
    }

    /// Fingerprint, with the slow hash for guessable secrets (memoised per run).
    fn fingerprint(&self, scope: &str, secret: &[u8]) -> String {
        let estimated_bits = shannon_entropy(secret) * secret.len() as f64;
        if estimated_bits >= GUESSABLE_BITS {
            return fingerprint(scope, secret, false);
        }
        let key = (scope.to_string(), secret.to_vec());
        if let Some(found) = self
            .slow_fingerprints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return found.clone();
        }
        let computed = fingerprint(scope, secret, true);
        self.slow_fingerprints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, computed.clone());
        computed
    }
}
