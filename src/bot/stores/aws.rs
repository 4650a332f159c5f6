//! AWS Secrets Manager and Systems Manager Parameter Store, both over the
//! JSON 1.1 protocol (`POST /`, `X-Amz-Target`), signed with SigV4 by the
//! signer of crate::verify::aws, with the credentials whose variables the
//! policy names.
//!
//! Secrets Manager: `PutSecretValue` with a `ClientRequestToken` derived
//! from the incident and the location, so a retried write (the HTTP
//! client's retry after a lost answer, or the next run's) is the same
//! version, not a second one — AWS treats the same token with the same
//! value as a no-op. A secret that does not exist yet
//! (`ResourceNotFoundException`) is created with `CreateSecret` and the
//! same token.
//!
//! Parameter Store: `PutParameter` `Type=SecureString`, `Overwrite=true`
//! (the parameter is the place consumers read; a retry writes the same value).

use super::{answer_message, SecretStore, StoreKind, StoreSpec, Stored, Write};
use crate::finding::Secret;
use crate::verify::http::{Client, Response};
use serde_json::{json, Value};

pub struct Aws {
    kind: StoreKind,
    address: String,
    region: String,
    key_id: Secret,
    secret_key: Secret,
    session_token: Option<Secret>,
    kms_key_id: Option<String>,
}

impl Aws {
    pub fn new(
        spec: &StoreSpec,
        secret_key: &Secret,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Aws, String> {
        let key_var = spec
            .access_key_id_env
            .as_deref()
            .unwrap_or("AWS_ACCESS_KEY_ID");
        let key_id = env(key_var).ok_or_else(|| {
            format!("`{key_var}` (store.access_key_id_env) is not set: no AWS access key id for the store")
        })?;
        let session_token = match spec.session_token_env.as_deref() {
            Some(var) => {
                Some(Secret::new(env(var).ok_or_else(|| {
                    format!("`{var}` (store.session_token_env) is not set")
                })?))
            }
            None => None,
        };
        Ok(Aws {
            kind: spec.kind,
            address: spec.address_or_default(),
            region: spec.region.clone().unwrap_or_else(|| "us-east-1".into()),
            key_id: Secret::new(key_id),
            secret_key: secret_key.clone(),
            session_token,
            kms_key_id: spec.kms_key_id.clone(),
        })
    }

    /// One signed JSON 1.1 call; `target` is `secretsmanager.PutSecretValue`.
    fn call(
        &self,
        client: &Client,
        service: &str,
        target: &str,
        body: &Value,
        value: &Secret,
    ) -> Result<Response, String> {
        let request = crate::bot::sigv4::request(crate::bot::sigv4::Post {
            base_url: &self.address,
            content_type: "application/x-amz-json-1.1",
            target: Some(target),
            body: body.to_string().into_bytes(),
            region: &self.region,
            service,
            key_id: self.key_id.expose(),
            secret_key: self.secret_key.expose(),
            session_token: self.session_token.as_ref().map(Secret::expose),
            label: target,
        })?;
        let mut secrets = vec![self.secret_key.expose(), value.expose()];
        if let Some(token) = &self.session_token {
            secrets.push(token.expose());
        }
        crate::bot::providers::exchange(client, &request, &secrets)
    }

    fn put_secret_value(&self, write: &Write<'_>, client: &Client) -> Result<Stored, String> {
        let token = request_token(write.incident, write.location);
        let put = json!({
            "SecretId": write.location,
            "ClientRequestToken": token,
            "SecretString": write.value.expose(),
        });
        let mut response = self.call(
            client,
            "secretsmanager",
            "secretsmanager.PutSecretValue",
            &put,
            write.value,
        )?;
        if error_type(&response).as_deref() == Some("ResourceNotFoundException") {
            let create = json!({
                "Name": write.location,
                "ClientRequestToken": token,
                "SecretString": write.value.expose(),
                "Description": format!("Replacement for the leaked credential of leakstop incident {}", write.incident),
            });
            response = self.call(
                client,
                "secretsmanager",
                "secretsmanager.CreateSecret",
                &create,
                write.value,
            )?;
        }
        if response.status == 200 {
            return Ok(self.stored(write, &response, "/VersionId"));
        }
        Err(match error_type(&response).as_deref() {
            Some("ResourceExistsException") => format!(
                "Secrets Manager already holds a different value under this incident's request token {token}: \
                 a replacement was stored before; check the secret's versions"
            ),
            _ => self.failure(&response, write.value),
        })
    }

    fn put_parameter(&self, write: &Write<'_>, client: &Client) -> Result<Stored, String> {
        let mut put = json!({
            "Name": write.location,
            "Value": write.value.expose(),
            "Type": "SecureString",
            "Overwrite": true,
            "Description": format!("leakstop incident {}", write.incident),
        });
        if let Some(key) = &self.kms_key_id {
            put["KeyId"] = json!(key);
        }
        let response = self.call(client, "ssm", "AmazonSSM.PutParameter", &put, write.value)?;
        if response.status == 200 {
            return Ok(self.stored(write, &response, "/Version"));
        }
        Err(self.failure(&response, write.value))
    }

    fn stored(&self, write: &Write<'_>, response: &Response, version: &str) -> Stored {
        Stored {
            kind: self.kind,
            location: write.location.to_string(),
            version: response.json().and_then(|v| {
                v.pointer(version).map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            }),
            request_id: response.header("x-amzn-requestid").map(str::to_string),
        }
    }

    fn failure(&self, response: &Response, value: &Secret) -> String {
        let message =
            crate::verify::http::scrub(&answer_message(&response.body), &[value.expose()]);
        format!(
            "{} answered HTTP {} {}: {message}",
            self.kind.as_str(),
            response.status,
            error_type(response).unwrap_or_default()
        )
    }
}

impl SecretStore for Aws {
    fn kind(&self) -> StoreKind {
        self.kind
    }

    fn put(&self, write: &Write<'_>, client: &Client) -> Result<Stored, String> {
        match self.kind {
            StoreKind::AwsSecretsManager => self.put_secret_value(write, client),
            _ => self.put_parameter(write, client),
        }
    }
}

/// The error's type name: `__type` without its namespace
/// (`com.amazonaws…#ResourceNotFoundException`).
fn error_type(response: &Response) -> Option<String> {
    let kind = response.json()?.get("__type")?.as_str()?.to_string();
    Some(kind.rsplit('#').next().unwrap_or(&kind).to_string())
}

/// A UUID-shaped token (36 characters; AWS takes 32 to 64) from the
/// incident and the secret id: the same incident writing to the same
/// secret always sends the same token.
pub fn request_token(incident: &str, location: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("leakstop-store-v1\0{incident}\0{location}").as_bytes(),
    );
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_token_is_stable_per_incident_and_secret() {
        let a = request_token("lsfp1:aa", "prod/app");
        assert_eq!(a, request_token("lsfp1:aa", "prod/app"));
        assert_ne!(a, request_token("lsfp1:ab", "prod/app"));
        assert_eq!(a.len(), 36);
    }
}
