//! HashiCorp Vault KV v2: `POST /v1/<mount>/data/<path>` with
//! `{"options":{"cas":0},"data":{"value":…}}` — check-and-set 0 writes only
//! if the secret does not exist yet, so a retried or duplicated write can
//! never overwrite a replacement already stored.

use super::{SecretStore, StoreKind, StoreSpec, Stored, Write};
use crate::finding::Secret;
use crate::verify::http::{Client, Request};

pub struct Vault {
    pub spec: StoreSpec,
    pub token: Secret,
}

impl SecretStore for Vault {
    fn kind(&self) -> StoreKind {
        StoreKind::Vault
    }

    fn put(&self, write: &Write<'_>, client: &Client) -> Result<Stored, String> {
        let (mount, path) = write
            .location
            .split_once('/')
            .unwrap_or((write.location, ""));
        let address = self.spec.address.trim_end_matches('/');
        let mut headers = vec![
            ("x-vault-token".to_string(), self.token.expose().to_string()),
            ("content-type".to_string(), "application/json".to_string()),
        ];
        if let Some(namespace) = &self.spec.namespace {
            headers.push(("x-vault-namespace".into(), namespace.clone()));
        }
        let body =
            serde_json::json!({"options": {"cas": 0}, "data": {"value": write.value.expose()}});
        let request = Request {
            method: "POST".into(),
            url: format!("{address}/v1/{mount}/data/{path}"),
            display: format!("{address}/v1/{mount}/data/… (vault kv put, cas=0)"),
            headers,
            body: Some(body.to_string().into_bytes()),
        };
        let response = crate::bot::providers::exchange(
            client,
            &request,
            &[self.token.expose(), write.value.expose()],
        )?;
        match response.status {
            200 | 204 => Ok(Stored {
                kind: StoreKind::Vault,
                location: write.location.to_string(),
                version: Some(
                    response
                        .json()
                        .and_then(|v| v.pointer("/data/version").and_then(|v| v.as_u64()))
                        .unwrap_or(1)
                        .to_string(),
                ),
                request_id: None,
            }),
            400 if response.body.contains("check-and-set") => Err(
                "a secret already exists at that path (check-and-set 0 refused to overwrite it)"
                    .into(),
            ),
            status => Err(format!("Vault answered HTTP {status}")),
        }
    }
}
