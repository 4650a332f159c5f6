//! Verification (`scan --verify`): asks each candidate secret's own provider,
//! with one harmless read-only call, whether it is live, and records the
//! answer on every finding of that secret.
//!
//! Most providers are described as data in their `patterns/*.toml` file
//! (crate::provider), checked by [`templated`]; the few that need code (request signing, token exchange)
//! implement [`Verifier`] in their own module ([`aws`], [`gcp`]). A secret is
//! only ever sent to its provider's configured base URL, over TLS unless that
//! URL is on the loopback interface ([`endpoint`]).

pub mod aws;
pub mod cache;
pub mod endpoint;
pub mod gcp;
pub mod http;
pub mod limits;
pub mod run;
pub mod templated;

use crate::finding::Secret;
pub use crate::finding::{Status, Verification};
use crate::provider::Builtin;
use std::collections::BTreeMap;

pub use run::{verify_findings, Options, Summary};

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

/// The verifier implemented in code for a rule's `verify.kind`.
pub fn builtin(kind: Builtin) -> &'static dyn Verifier {
    match kind {
        Builtin::AwsSts => &aws::AwsSts,
        Builtin::GcpServiceAccount => &gcp::ServiceAccount,
    }
}
