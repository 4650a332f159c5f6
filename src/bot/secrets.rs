//! Secret stores for replacements. A rotated credential goes from the
//! provider's answer straight into the store the policy names, and nowhere
//! else: never printed, logged, journaled or put in an issue; the incident
//! records only where it went and the store's version.
//!
//! HashiCorp Vault KV v2: `POST /v1/<mount>/data/<path>` with
//! `{"options":{"cas":0},"data":{"value":…}}` — check-and-set 0 writes only
//! if the secret does not exist yet, so a retried or duplicated write can
//! never overwrite a replacement already stored.

use crate::finding::Secret;
use crate::provider::template::render;
use crate::verify::endpoint::{self, encode_segment};
use crate::verify::http::{Client, Request};
use serde::Deserialize;

/// The policy's `[store]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSpec {
    /// `vault` (the only kind so far).
    pub kind: StoreKind,
    /// `https://vault.example:8200` (http only to loopback).
    pub address: String,
    /// The KV v2 mount (default `secret`).
    #[serde(default = "default_mount")]
    pub mount: String,
    /// Path template under the mount: `{provider}`, `{rule}`, `{fingerprint}`.
    #[serde(default = "default_path")]
    pub path: String,
    /// The environment variable holding the Vault token.
    pub token_env: String,
    /// `X-Vault-Namespace`, for Vault Enterprise.
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    Vault,
}

fn default_mount() -> String {
    "secret".into()
}

fn default_path() -> String {
    "leakstop/{provider}/{fingerprint}".into()
}

impl StoreSpec {
    /// Checks the address and template; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        endpoint::check("store.address", &self.address)
            .map_err(|e| format!("`store.address`: {e}"))?;
        let names = crate::provider::template::placeholders(&self.path);
        if let Some(bad) = names
            .iter()
            .find(|n| !["provider", "rule", "fingerprint"].contains(n))
        {
            return Err(format!(
                "`store.path`: unknown placeholder `{{{bad}}}` (use provider, rule, fingerprint)"
            ));
        }
        if self.token_env.is_empty()
            || !self
                .token_env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "`store.token_env`: `{}` is not an environment variable name",
                self.token_env
            ));
        }
        Ok(())
    }

    /// Where a replacement goes, for people: `vault secret/leakstop/github/lsfp1:…`.
    pub fn location(
        &self,
        provider: &str,
        rule: &str,
        fingerprint: &str,
    ) -> Result<String, String> {
        let path = render(
            &self.path,
            |name| match name {
                "provider" => Some(provider.to_string()),
                "rule" => Some(rule.to_string()),
                "fingerprint" => Some(fingerprint.to_string()),
                _ => None,
            },
            encode_segment,
        )?;
        Ok(format!("{}/{path}", self.mount.trim_matches('/')))
    }
}

/// Writes a replacement once (check-and-set 0); its version on success.
pub fn put(
    spec: &StoreSpec,
    token: &Secret,
    location: &str,
    value: &Secret,
    client: &Client,
) -> Result<u64, String> {
    let (mount, path) = location.split_once('/').unwrap_or((location, ""));
    let url = format!(
        "{}/v1/{mount}/data/{path}",
        spec.address.trim_end_matches('/')
    );
    let mut headers = vec![
        ("x-vault-token".to_string(), token.expose().to_string()),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    if let Some(namespace) = &spec.namespace {
        headers.push(("x-vault-namespace".into(), namespace.clone()));
    }
    let body = serde_json::json!({"options": {"cas": 0}, "data": {"value": value.expose()}});
    let request = Request {
        method: "POST".into(),
        url,
        display: format!(
            "{}/v1/{mount}/data/… (vault kv put, cas=0)",
            spec.address.trim_end_matches('/')
        ),
        headers,
        body: Some(body.to_string().into_bytes()),
    };
    let response = super::providers::exchange(client, &request, &[token.expose(), value.expose()])?;
    match response.status {
        200 | 204 => Ok(response
            .json()
            .and_then(|v| {
                v.pointer("/data/version")
                    .and_then(serde_json::Value::as_u64)
            })
            .unwrap_or(1)),
        400 if response.body.contains("check-and-set") => Err(
            "a secret already exists at that path (check-and-set 0 refused to overwrite it)".into(),
        ),
        status => Err(format!("Vault answered HTTP {status}")),
    }
}
