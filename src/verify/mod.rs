//! Verification (`scan --verify`): asks each candidate secret's own provider,
//! with one harmless read-only call, whether it is live, and records the
//! answer on every finding of that secret.
//!
//! Most providers are described as data in their `patterns/*.toml` file
//! ([`spec`]); the few that need code (request signing, token exchange)
//! implement [`Verifier`] in their own module ([`aws`], [`gcp`]). A secret is
//! only ever sent to its provider's configured base URL, over TLS unless that
//! URL is on the loopback interface ([`endpoint`]).

pub mod aws;
pub mod cache;
pub mod companion;
pub mod endpoint;
pub mod gcp;
pub mod http;
pub mod run;
pub mod spec;

use crate::finding::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub use run::{verify_findings, Options, Summary};

/// What the provider said about a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The provider confirmed the credential and named its owner.
    Live,
    /// The provider rejected the credential.
    Invalid,
    /// The provider said the credential existed but was revoked or expired.
    Revoked,
    /// The provider kept answering "too many requests".
    RateLimited,
    /// No answer could be had (timeout, network, unexpected response).
    Error,
    /// leakstop has no harmless check for this kind of credential.
    NotSupported,
    /// Deliberately not checked (a canary token, a missing companion value).
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::Invalid => "invalid",
            Status::Revoked => "revoked",
            Status::RateLimited => "rate_limited",
            Status::Error => "error",
            Status::NotSupported => "not_supported",
            Status::Skipped => "skipped",
        }
    }

    /// Outcomes worth remembering across runs; transient ones are retried next time.
    pub fn cacheable(self) -> bool {
        matches!(self, Status::Live | Status::Invalid | Status::Revoked)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verification result recorded on a finding (docs/output.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub status: Status,
    /// Why: the provider's error, the skip reason, or a note on a live result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Owner identity fields the provider returned (`login`, `account`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub owner: BTreeMap<String, String>,
    /// Scopes or permissions, where the provider tells.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Expiry, as the provider wrote it, where it tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The call made, as `METHOD URL` with no secret in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The result came from the verification cache, not a new request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

impl Verification {
    pub fn new(status: Status, reason: Option<String>) -> Self {
        Verification {
            status,
            reason,
            owner: BTreeMap::new(),
            scopes: Vec::new(),
            expires_at: None,
            endpoint: None,
            cached: false,
        }
    }

    pub fn with_reason(status: Status, reason: impl Into<String>) -> Self {
        Verification::new(status, Some(reason.into()))
    }

    pub fn error(reason: impl Into<String>) -> Self {
        Verification::with_reason(Status::Error, reason)
    }

    /// One line for humans: `live (login=octocat; scopes: repo)`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.owner.is_empty() {
            let owner: Vec<String> = self.owner.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("owner: {}", owner.join(", ")));
        }
        if !self.scopes.is_empty() {
            parts.push(format!("scopes: {}", self.scopes.join(", ")));
        }
        if let Some(expiry) = &self.expires_at {
            parts.push(format!("expires: {expiry}"));
        }
        if let Some(reason) = &self.reason {
            parts.push(reason.clone());
        }
        if self.cached {
            parts.push("cached".into());
        }
        if parts.is_empty() {
            self.status.to_string()
        } else {
            format!("{} ({})", self.status, parts.join("; "))
        }
    }
}

/// A credential to check: the finding's secret plus the companion values
/// found near it (an account SID, a shop domain, the other half of a key
/// pair), by the names the rule's templates use (`secret` unless the rule
/// renames it with `verify.secret_as`).
#[derive(Debug, Clone)]
pub struct Credential {
    pub parts: BTreeMap<String, Secret>,
}

impl Credential {
    /// A named part.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.parts.get(name).map(Secret::expose)
    }

    /// Every secret value in the credential, for scrubbing error text.
    pub fn values(&self) -> Vec<&str> {
        self.parts.values().map(Secret::expose).collect()
    }
}

/// Where and how one verification runs.
pub struct Context<'a> {
    pub client: &'a http::Client,
    /// The provider's base URL after config and environment overrides.
    pub base_url: &'a str,
    /// Verify known canary tokens anyway (`verify.canaries = true`).
    pub verify_canaries: bool,
}

/// A provider check that needs code rather than a single templated request.
pub trait Verifier: Send + Sync {
    /// Checks one credential, with at most one harmless request (plus retries).
    fn verify(&self, credential: &Credential, context: &Context<'_>) -> Verification;
}

/// The verifiers implemented in code, by the name a rule's `verify.kind` uses.
pub fn builtin(kind: &str) -> Option<&'static dyn Verifier> {
    match kind {
        "aws-sts" => Some(&aws::AwsSts),
        "gcp-service-account" => Some(&gcp::ServiceAccount),
        _ => None,
    }
}

/// Names `verify.kind` accepts, for rule validation messages.
pub const BUILTIN_KINDS: &[&str] = &["aws-sts", "gcp-service-account"];
