//! Secret stores for replacements. A rotated credential goes from the
//! provider's answer straight into the store the policy names (`[store]`),
//! and nowhere else: never printed, logged, journaled or put in an issue;
//! the incident records only where it went and the store's version.
//!
//! Every kind sits behind [`SecretStore`] and writes so that a retry (of the
//! HTTP client after a lost answer, or of a whole run after a crash) never
//! makes a second replacement version that differs from the first:
//! Vault with check-and-set 0, AWS Secrets Manager with a
//! `ClientRequestToken` derived from the incident, SSM, Azure Key Vault and
//! GitHub Actions by writing the same name with the same value.

pub mod aws;
pub mod azure;
pub mod github;
mod spec;
pub mod vault;

use crate::finding::Secret;
use crate::verify::http::Client;
pub use spec::{key_line, spec_error_at, SpecError, StoreKind, StoreSpec};

/// One replacement to write.
pub struct Write<'a> {
    /// The incident's fingerprint: idempotency tokens are derived from it.
    pub incident: &'a str,
    /// Where it goes, as [`StoreSpec::location`] rendered it.
    pub location: &'a str,
    pub value: &'a Secret,
}

/// Where a replacement went; nothing in it is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub kind: StoreKind,
    pub location: String,
    /// The store's version of the write, where it names one.
    pub version: Option<String>,
    /// The store's request id, for the audit log.
    pub request_id: Option<String>,
}

impl Stored {
    /// `stored in aws-ssm /leakstop/gitlab/lsfp1-…, version 3`.
    pub fn describe(&self) -> String {
        let version = self
            .version
            .as_deref()
            .map(|v| format!(", version {v}"))
            .unwrap_or_default();
        format!(
            "stored in {} {}{version}",
            self.kind.as_str(),
            self.location
        )
    }
}

/// A place replacements can be written to.
pub trait SecretStore {
    fn kind(&self) -> StoreKind;
    /// Writes one replacement; the error says what a human should check
    /// and never holds the value.
    fn put(&self, write: &Write<'_>, client: &Client) -> Result<Stored, String>;
}

/// The store a policy names, with its credential (`token_env`'s value) and
/// the other variables it names, read through `env`.
pub fn open(
    spec: &StoreSpec,
    token: &Secret,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn SecretStore>, String> {
    Ok(match spec.kind {
        StoreKind::Vault => Box::new(vault::Vault {
            spec: spec.clone(),
            token: token.clone(),
        }),
        StoreKind::AwsSecretsManager | StoreKind::AwsSsm => {
            Box::new(aws::Aws::new(spec, token, env)?)
        }
        StoreKind::AzureKeyVault => Box::new(azure::KeyVault {
            address: spec.address_or_default(),
            token: token.clone(),
        }),
        StoreKind::GithubActions => Box::new(github::ActionsSecret {
            api: spec.address_or_default(),
            repository: spec.repository.clone().unwrap_or_default(),
            token: token.clone(),
        }),
    })
}

/// Writes a replacement to the store the policy names, reading any further
/// variables the policy names from the process environment.
pub fn store_replacement(
    spec: &StoreSpec,
    token: &Secret,
    write: &Write<'_>,
    client: &Client,
) -> Result<Stored, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    open(spec, token, &env)?.put(write, client)
}

/// The first interface, kept for callers that know only a location: writes
/// once and returns the numeric version (1 when the store names none).
pub fn put(
    spec: &StoreSpec,
    token: &Secret,
    location: &str,
    value: &Secret,
    client: &Client,
) -> Result<u64, String> {
    let stored = store_replacement(
        spec,
        token,
        &Write {
            incident: location,
            location,
            value,
        },
        client,
    )?;
    Ok(stored.version.and_then(|v| v.parse().ok()).unwrap_or(1))
}

/// The message of an error answer: `message`, `Message` or `error.message`.
fn answer_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return String::new();
    };
    ["/message", "/Message", "/error/message"]
        .iter()
        .find_map(|p| value.pointer(p).and_then(|m| m.as_str()))
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}
