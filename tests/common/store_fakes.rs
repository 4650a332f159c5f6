//! A fake of the secret stores the bot writes replacements to, on
//! 127.0.0.1 through `FakeServer`, answering as the services document:
//! AWS Secrets Manager (`PutSecretValue`, `CreateSecret`, idempotent on
//! `ClientRequestToken`: the same token and value is a no-op, the same
//! token with another value `ResourceExistsException`, a missing secret
//! `ResourceNotFoundException`), SSM `PutParameter`, Azure Key Vault
//! `PUT /secrets/{name}` (bearer token), and GitHub Actions secrets (the
//! repository public key, then a sealed value it can open). `lose` makes
//! the store do the work and then answer 500, as a lost answer.
#![allow(dead_code)]

use crate::common::fake::{FakeServer, Recorded, Reply};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

pub const STORE_TOKEN: &str = "store-bearer-token-0123456789";

#[derive(Default)]
pub struct Stores {
    /// Secrets Manager: name → versions (token, value).
    pub secrets: BTreeMap<String, Vec<(String, String)>>,
    /// SSM: name → versions (type, value).
    pub parameters: BTreeMap<String, Vec<(String, String)>>,
    /// Key Vault: name → versions.
    pub vault: BTreeMap<String, Vec<String>>,
    /// Actions: name → the value GitHub opened with its private key.
    pub actions: BTreeMap<String, String>,
    /// `X-Amz-Target`s or `METHOD path` prefixes whose next answer is lost.
    pub lose: HashSet<String>,
    /// Answer every Key Vault write with 403.
    pub forbid: bool,
}

pub struct FakeStores {
    pub server: FakeServer,
    pub state: Arc<Mutex<Stores>>,
    /// The repository's sealed-box key pair (GitHub keeps the secret half).
    pub key: crypto_box::SecretKey,
}

fn aws_error(kind: &str, message: &str) -> Reply {
    Reply::json(
        400,
        &json!({"__type": kind, "message": message}).to_string(),
    )
}

impl Stores {
    fn aws(&mut self, target: &str, body: &Value) -> Reply {
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match target {
            "secretsmanager.PutSecretValue" | "secretsmanager.CreateSecret" => {
                let create = target.ends_with("CreateSecret");
                let name = text(if create { "Name" } else { "SecretId" });
                let (token, value) = (text("ClientRequestToken"), text("SecretString"));
                if token.len() < 32 || token.len() > 64 {
                    return aws_error("ValidationException", "bad ClientRequestToken");
                }
                let versions = match (self.secrets.get_mut(&name), create) {
                    (None, false) => {
                        return aws_error(
                            "ResourceNotFoundException",
                            "Secrets Manager can't find the specified secret.",
                        )
                    }
                    (Some(_), true) => {
                        return aws_error("ResourceExistsException", "already exists")
                    }
                    (None, true) => self.secrets.entry(name.clone()).or_default(),
                    (Some(versions), false) => versions,
                };
                match versions.iter().find(|(t, _)| *t == token) {
                    Some((_, v)) if *v != value => return aws_error(
                        "ResourceExistsException",
                        "You can't modify an existing version, you can only create a new version.",
                    ),
                    Some(_) => {}
                    None => versions.push((token.clone(), value)),
                }
                Reply::json(
                    200,
                    &json!({"ARN": format!("arn:aws:secretsmanager:eu-west-1:123456789012:secret:{name}"),
                            "Name": name, "VersionId": token, "VersionStages": ["AWSCURRENT"]})
                    .to_string(),
                )
                .with_header("x-amzn-RequestId", "req-sm-1")
            }
            "AmazonSSM.PutParameter" => {
                let name = text("Name");
                let overwrite = body.get("Overwrite").and_then(Value::as_bool) == Some(true);
                let versions = self.parameters.entry(name).or_default();
                if !versions.is_empty() && !overwrite {
                    return aws_error("ParameterAlreadyExists", "The parameter already exists.");
                }
                versions.push((text("Type"), text("Value")));
                Reply::json(
                    200,
                    &json!({"Version": versions.len(), "Tier": "Standard"}).to_string(),
                )
                .with_header("x-amzn-RequestId", "req-ssm-1")
            }
            _ => aws_error("UnknownOperationException", target),
        }
    }

    fn answer(&mut self, request: &Recorded, key: &crypto_box::SecretKey) -> Reply {
        let body: Value = serde_json::from_str(&request.body).unwrap_or_default();
        let path = request.path().to_string();
        if request.method == "POST" && path == "/" {
            let target = request
                .header("x-amz-target")
                .unwrap_or_default()
                .to_string();
            return self.aws(&target, &body);
        }
        if request.header("authorization") != Some(&format!("Bearer {STORE_TOKEN}")) {
            return Reply::json(
                401,
                r#"{"error":{"code":"Unauthorized","message":"bad token"}}"#,
            );
        }
        if let Some(name) = path.strip_prefix("/secrets/") {
            if request.method != "PUT" || !request.url.ends_with("?api-version=7.4") {
                return Reply::json(400, r#"{"error":{"message":"bad request"}}"#);
            }
            if self.forbid {
                return Reply::json(
                    403,
                    r#"{"error":{"code":"Forbidden","message":"The user does not have secrets set permission on key vault 'acme'"}}"#,
                );
            }
            let value = body["value"].as_str().unwrap_or_default().to_string();
            let versions = self.vault.entry(name.to_string()).or_default();
            versions.push(value.clone());
            let version = format!("{:032x}", versions.len());
            return Reply::json(
                200,
                &json!({"value": value, "id": format!("https://acme.vault.azure.net/secrets/{name}/{version}"),
                        "attributes": {"enabled": true}})
                .to_string(),
            );
        }
        let engine = base64::engine::general_purpose::STANDARD;
        match (request.method.as_str(), path.as_str()) {
            ("GET", "/repos/acme/app/actions/secrets/public-key") => Reply::json(
                200,
                &json!({"key_id": "568250167242549743", "key": engine.encode(key.public_key().as_bytes())})
                    .to_string(),
            ),
            ("PUT", p) if p.starts_with("/repos/acme/app/actions/secrets/") => {
                let name = p.rsplit('/').next().unwrap_or_default().to_string();
                if body["key_id"] != "568250167242549743" {
                    return Reply::json(422, r#"{"message":"Bad key_id"}"#);
                }
                let sealed = engine
                    .decode(body["encrypted_value"].as_str().unwrap_or_default())
                    .unwrap_or_default();
                let Ok(open) = key.unseal(&sealed) else {
                    return Reply::json(422, r#"{"message":"cannot decrypt"}"#);
                };
                let created = self
                    .actions
                    .insert(name, String::from_utf8(open).unwrap_or_default())
                    .is_none();
                Reply::json(if created { 201 } else { 204 }, "")
            }
            _ => Reply::json(404, r#"{"message":"Not Found"}"#),
        }
    }
}

impl FakeStores {
    pub fn start() -> FakeStores {
        let state: Arc<Mutex<Stores>> = Arc::default();
        let key = crypto_box::SecretKey::generate(&mut crypto_box::aead::OsRng);
        let (s, k) = (Arc::clone(&state), key.clone());
        let server = FakeServer::start(move |request, _| {
            let mut state = s.lock().unwrap();
            let reply = state.answer(request, &k);
            let name = request
                .header("x-amz-target")
                .map(str::to_string)
                .unwrap_or_else(|| format!("{} {}", request.method, request.path()));
            if state.lose.remove(&name) {
                return Reply::json(500, r#"{"message":"internal error"}"#);
            }
            reply
        });
        FakeStores { server, state, key }
    }

    /// `target-or-call body` of each request.
    pub fn calls(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .map(|r| {
                r.header("x-amz-target")
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{} {}", r.method, r.url))
            })
            .collect()
    }
}
