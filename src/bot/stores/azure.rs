//! Azure Key Vault: `PUT {vault}/secrets/{name}?api-version=7.4` with
//! `{"value":…}` and a bearer token (Microsoft Entra, for the resource
//! `https://vault.azure.net`) from the variable the policy names. Each write
//! makes a new version of the secret; the answer echoes the value, so only
//! its `id` (which ends in the version) is read.

use super::{answer_message, SecretStore, StoreKind, Stored, Write};
use crate::finding::Secret;
use crate::verify::endpoint::encode_segment;
use crate::verify::http::{Client, Request};

/// The Key Vault REST API version sent.
pub const API_VERSION: &str = "7.4";

pub struct KeyVault {
    pub address: String,
    pub token: Secret,
}

impl SecretStore for KeyVault {
    fn kind(&self) -> StoreKind {
        StoreKind::AzureKeyVault
    }

    fn put(&self, write: &Write<'_>, client: &Client) -> Result<Stored, String> {
        let url = format!(
            "{}/secrets/{}?api-version={API_VERSION}",
            self.address,
            encode_segment(write.location)
        );
        let body = serde_json::json!({
            "value": write.value.expose(),
            "contentType": "text/plain",
            "tags": {"leakstop-incident": write.incident},
        });
        let request = Request {
            method: "PUT".into(),
            url: url.clone(),
            display: format!("{url} (key vault set secret)"),
            headers: vec![
                (
                    "authorization".into(),
                    format!("Bearer {}", self.token.expose()),
                ),
                ("content-type".into(), "application/json".into()),
            ],
            body: Some(body.to_string().into_bytes()),
        };
        let secrets = [self.token.expose(), write.value.expose()];
        let response = crate::bot::providers::exchange(client, &request, &secrets)?;
        let message = crate::verify::http::scrub(&answer_message(&response.body), &secrets);
        match response.status {
            200 | 201 => Ok(Stored {
                kind: StoreKind::AzureKeyVault,
                location: write.location.to_string(),
                version: response
                    .json()
                    .and_then(|v| v.get("id")?.as_str().map(str::to_string))
                    .and_then(|id| id.rsplit('/').next().map(str::to_string))
                    .filter(|v| !v.is_empty()),
                request_id: response.header("x-ms-request-id").map(str::to_string),
            }),
            401 => Err(format!(
                "Key Vault refused the token (HTTP 401): {message}"
            )),
            403 => Err(format!(
                "Key Vault forbids the write (HTTP 403; the identity needs the secrets set permission): {message}"
            )),
            409 => Err(format!(
                "a deleted secret of that name is kept for recovery (HTTP 409): recover or purge it first: {message}"
            )),
            status => Err(format!("Key Vault answered HTTP {status}: {message}")),
        }
    }
}
