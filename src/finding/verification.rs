//! What a provider said about a finding's secret (`scan --verify`): the
//! result type findings and reports carry. The checks themselves live in
//! `verify`, above this module.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

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
