//! What leakstop knows about each provider's API, as data: how a credential
//! is checked (the `[rule.verify]` table of a pattern file), which values
//! found near a secret the check needs, and provider-wide settings.
//!
//! This module sits below the rule model, the matcher and verification, and
//! imports none of them: `rules` embeds these types in a rule, the matcher
//! searches for companions, `verify` runs the checks (and a later revoke or
//! rotate step can build on the same facts). Nothing here makes a request.

mod builtin;
mod companion;
mod spec;
pub mod template;

pub use builtin::Builtin;
pub use companion::CompanionSpec;
pub use spec::{Check, HttpCheck, Outcome, RequestSpec, ResponseRule, VerifySpec};

use serde::Deserialize;

/// Provider-wide verification settings: the file-level `[verify]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderVerify {
    /// Default base URL of the provider's API.
    pub base_url: Option<String>,
    /// Most requests in flight to this provider at once.
    pub concurrency: Option<usize>,
}
