//! A GitHub Actions repository secret: `GET
//! /repos/{owner}/{repo}/actions/secrets/public-key` (`{key_id, key}`, the
//! repository's X25519 public key in base64), the replacement sealed to it
//! (libsodium's `crypto_box_seal`: only GitHub can open it), then `PUT
//! /repos/{owner}/{repo}/actions/secrets/{name}` with `{encrypted_value,
//! key_id}` — 201 created, 204 updated. The plain value never leaves this
//! process; writing the same name again replaces the secret.

use super::{answer_message, SecretStore, StoreKind, Stored, Write};
use crate::finding::Secret;
use crate::verify::http::{Client, Request, Response};
use base64::Engine;

pub struct ActionsSecret {
    pub api: String,
    pub repository: String,
    pub token: Secret,
}

impl ActionsSecret {
    fn request(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> Request {
        let url = format!("{}/repos/{}{path}", self.api, self.repository);
        Request {
            method: method.into(),
            display: url.clone(),
            url,
            headers: vec![
                (
                    "authorization".into(),
                    format!("Bearer {}", self.token.expose()),
                ),
                ("accept".into(), "application/vnd.github+json".into()),
                ("x-github-api-version".into(), "2022-11-28".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body,
        }
    }

    fn failure(&self, what: &str, response: &Response) -> String {
        let message =
            crate::verify::http::scrub(&answer_message(&response.body), &[self.token.expose()]);
        let hint = match response.status {
            401 => " (the token was refused)",
            403 | 404 => " (the token needs the repository's Secrets: write permission, or the repository does not exist)",
            422 => " (GitHub refused the secret name or the encrypted value)",
            _ => "",
        };
        format!(
            "GitHub {what} for {}: HTTP {}{hint}: {message}",
            self.repository, response.status
        )
    }
}

/// Seals `value` to a base64 X25519 public key; (base64 ciphertext).
pub fn seal(public_key: &str, value: &Secret) -> Result<String, String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes: [u8; 32] = engine
        .decode(public_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the repository public key is not 32 bytes of base64")?;
    let key = crypto_box::PublicKey::from(bytes);
    let sealed = key
        .seal(&mut crypto_box::aead::OsRng, value.expose().as_bytes())
        .map_err(|_| "sealing the value failed".to_string())?;
    Ok(engine.encode(sealed))
}

impl SecretStore for ActionsSecret {
    fn kind(&self) -> StoreKind {
        StoreKind::GithubActions
    }

    fn put(&self, write: &Write<'_>, client: &Client) -> Result<Stored, String> {
        let secrets = [self.token.expose(), write.value.expose()];
        let exchange = crate::bot::providers::exchange;
        let key = exchange(
            client,
            &self.request("GET", "/actions/secrets/public-key", None),
            &secrets,
        )?;
        if key.status != 200 {
            return Err(self.failure("public key", &key));
        }
        let answer = key.json().unwrap_or_default();
        let (Some(key_id), Some(public_key)) = (
            answer.get("key_id").and_then(|v| v.as_str()),
            answer.get("key").and_then(|v| v.as_str()),
        ) else {
            return Err("the repository public key answer has no key_id and key".into());
        };
        let body = serde_json::json!({
            "encrypted_value": seal(public_key, write.value)?,
            "key_id": key_id,
        });
        let name = crate::verify::endpoint::encode_segment(write.location);
        let put = exchange(
            client,
            &self.request(
                "PUT",
                &format!("/actions/secrets/{name}"),
                Some(body.to_string().into_bytes()),
            ),
            &secrets,
        )?;
        match put.status {
            201 | 204 => Ok(Stored {
                kind: StoreKind::GithubActions,
                location: format!("{} {}", self.repository, write.location),
                version: None,
                request_id: crate::bot::providers::request_id(&put),
            }),
            _ => Err(self.failure("secret write", &put)),
        }
    }
}
