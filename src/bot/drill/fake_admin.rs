//! Fakes of the providers revoked with an admin credential or by an id cut
//! from the key, answering as PROVIDERS.md documents them: SendGrid
//! (`/v3/scopes`, key delete by id, 403 for a key without the `api_keys`
//! scope), Discord webhooks (GET/DELETE with the token, 404 once gone),
//! OpenAI (`/v1/models`; Admin API projects, keys by `redacted_value`,
//! delete), Anthropic (`/v1/models`; Admin API keys by `partial_key_hint`,
//! status update), Twilio (account fetch with Basic auth, key delete with
//! the account's credentials), Datadog (v1/v2 validate, key delete with an
//! API + application key), Google (Gemini models probe, `keys:lookupKey`,
//! key delete; JWT-bearer token exchange, service-account key
//! get/disable/delete). Admin credentials are the tokens in `admin_tokens`.

use super::fake::{FakeReply, FakeRequest, Providers};
use base64::Engine;
use serde_json::{json, Value};

/// The provider's public id of a fake key (a stable hash of it).
pub fn key_id(token: &str) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for byte in token.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3);
    }
    format!("{hash:016x}")
}

/// `head...tail` as OpenAI's `redacted_value` and Anthropic's hint show a key.
fn redact(token: &str, head: usize) -> String {
    let tail = token.len().saturating_sub(4);
    format!("{}...{}", &token[..head.min(tail)], &token[tail..])
}

fn bearer<'a>(request: &'a FakeRequest<'_>) -> &'a str {
    let value = request.header("authorization").unwrap_or_default();
    value.strip_prefix("Bearer ").unwrap_or(value)
}

/// `user:password` of a Basic `Authorization` header.
fn basic(request: &FakeRequest<'_>) -> (String, String) {
    let value = request.header("authorization").unwrap_or_default();
    let decoded = value
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let (user, password) = decoded.split_once(':').unwrap_or_default();
    (user.to_string(), password.to_string())
}

fn openai_invalid() -> FakeReply {
    FakeReply::json(
        401,
        r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
    )
}

fn anthropic_invalid() -> FakeReply {
    FakeReply::json(
        401,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
    )
}

fn google_error(status: u16, code: &str, message: &str) -> FakeReply {
    FakeReply::json(
        status,
        &json!({"error": {"code": status, "message": message, "status": code}}).to_string(),
    )
}

impl Providers {
    fn admin(&self, token: &str) -> bool {
        !token.is_empty() && self.admin_tokens.contains(token)
    }

    /// Live keys (not revoked) with this prefix, sorted.
    fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .live
            .iter()
            .filter(|t| t.starts_with(prefix) && !self.revoked.contains(*t))
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    /// The known key (live or revoked) whose id is `id`.
    fn by_id(&self, prefix: &str, id: &str) -> Option<String> {
        self.live
            .iter()
            .find(|t| t.starts_with(prefix) && key_id(t) == id)
            .cloned()
    }

    /// Answers the admin-API providers' requests; None for anything else.
    pub(super) fn admin_apis(&mut self, request: &FakeRequest<'_>) -> Option<FakeReply> {
        let parts: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
        let reply = match (request.method, parts.as_slice()) {
            // SendGrid
            ("GET", ["v3", "scopes"]) if self.is_live(bearer(request)) => {
                FakeReply::json(200, r#"{"scopes":["api_keys.delete","mail.send"]}"#)
            }
            ("GET", ["v3", "scopes"]) => FakeReply::json(
                401,
                r#"{"errors":[{"field":null,"message":"authorization required"}]}"#,
            ),
            ("DELETE", ["v3", "api_keys", id]) => {
                let token = bearer(request).to_string();
                if !self.is_live(&token) {
                    FakeReply::json(
                        401,
                        r#"{"errors":[{"field":null,"message":"authorization required"}]}"#,
                    )
                } else if self.forbidden.contains(&token) {
                    FakeReply::json(
                        403,
                        r#"{"errors":[{"field":null,"message":"access forbidden"}]}"#,
                    )
                } else if token.split('.').nth(1) == Some(*id) && self.revoke(&token) {
                    FakeReply::json(204, "")
                } else {
                    FakeReply::json(
                        404,
                        r#"{"errors":[{"field":null,"message":"resource not found"}]}"#,
                    )
                }
            }
            // Discord webhooks: the URL is the secret.
            (method, ["api", "v10", "webhooks", id, token]) => {
                let tail = format!("/webhooks/{id}/{token}");
                let known = self.live.iter().find(|t| t.ends_with(&tail)).cloned();
                match (method, known) {
                    (_, None) => FakeReply::json(401, r#"{"message":"Invalid Webhook Token","code":50027}"#),
                    (_, Some(url)) if self.revoked.contains(&url) && !self.is_live(&url) => {
                        FakeReply::json(404, r#"{"message":"Unknown Webhook","code":10015}"#)
                    }
                    ("GET", Some(_)) => FakeReply::json(
                        200,
                        &json!({"id": id, "type": 1, "name": "deploys", "channel_id": "199737254929760256", "guild_id": "199737254929760257"}).to_string(),
                    ),
                    ("DELETE", Some(url)) => {
                        self.revoke(&url);
                        FakeReply::json(204, "")
                    }
                    _ => FakeReply::json(405, r#"{"message":"405: Method Not Allowed","code":0}"#),
                }
            }
            // OpenAI
            ("GET", ["v1", "models"]) if request.header("x-api-key").is_none() => {
                if self.is_live(bearer(request)) {
                    FakeReply::json(
                        200,
                        r#"{"object":"list","data":[{"id":"gpt-4o","object":"model"}]}"#,
                    )
                } else {
                    openai_invalid()
                }
            }
            ("GET", ["v1", "organization", "admin_api_keys"]) => {
                let caller = bearer(request).to_string();
                if !self.admin(&caller) && !self.is_live(&caller) {
                    return Some(openai_invalid());
                }
                let data: Vec<Value> = self
                    .keys("sk-admin-")
                    .iter()
                    .map(|k| json!({"object": "organization.admin_api_key", "id": format!("key_{}", key_id(k)), "redacted_value": redact(k, 12)}))
                    .collect();
                FakeReply::json(
                    200,
                    &json!({"object": "list", "data": data, "has_more": false}).to_string(),
                )
            }
            ("DELETE", ["v1", "organization", "admin_api_keys", id]) => {
                let caller = bearer(request).to_string();
                if !self.admin(&caller) && !self.is_live(&caller) {
                    return Some(openai_invalid());
                }
                let id = id.trim_start_matches("key_");
                match self.by_id("sk-admin-", id) {
                    Some(key) if self.revoke(&key) => FakeReply::json(
                        200,
                        &json!({"id": format!("key_{id}"), "object": "organization.admin_api_key.deleted", "deleted": true}).to_string(),
                    ),
                    _ => FakeReply::json(404, r#"{"error":{"message":"No such admin API key","type":"invalid_request_error"}}"#),
                }
            }
            (_, ["v1", "organization", "projects", ..]) if !self.admin(bearer(request)) => {
                openai_invalid()
            }
            ("GET", ["v1", "organization", "projects"]) => FakeReply::json(
                200,
                r#"{"object":"list","data":[{"id":"proj_empty","object":"organization.project","name":"Sandbox"},{"id":"proj_main","object":"organization.project","name":"Main"}],"has_more":false,"last_id":"proj_main"}"#,
            ),
            ("GET", ["v1", "organization", "projects", project, "api_keys"]) => {
                let keys = if *project == "proj_main" {
                    self.keys("sk-proj-")
                } else {
                    Vec::new()
                };
                let data: Vec<Value> = keys
                    .iter()
                    .map(|k| json!({"object": "organization.project.api_key", "id": format!("key_{}", key_id(k)), "name": "ci", "redacted_value": redact(k, 11), "owner": {"type": "user"}}))
                    .collect();
                FakeReply::json(
                    200,
                    &json!({"object": "list", "data": data, "has_more": false}).to_string(),
                )
            }
            ("DELETE", ["v1", "organization", "projects", "proj_main", "api_keys", id]) => {
                let id = id.trim_start_matches("key_");
                match self.by_id("sk-proj-", id) {
                    Some(key) if self.revoke(&key) => FakeReply::json(
                        200,
                        &json!({"object": "organization.project.api_key.deleted", "id": format!("key_{id}"), "deleted": true}).to_string(),
                    ),
                    _ => FakeReply::json(404, r#"{"error":{"message":"No such API key","type":"invalid_request_error"}}"#),
                }
            }
            // Anthropic
            ("GET", ["v1", "models"]) => {
                if self.is_live(request.header("x-api-key").unwrap_or_default()) {
                    FakeReply::json(
                        200,
                        r#"{"data":[{"type":"model","id":"claude-sonnet-4-5"}],"has_more":false}"#,
                    )
                } else {
                    anthropic_invalid()
                }
            }
            (_, ["v1", "organizations", "api_keys", ..])
                if !self.admin(request.header("x-api-key").unwrap_or_default())
                    || request.header("anthropic-version") != Some("2023-06-01") =>
            {
                anthropic_invalid()
            }
            ("GET", ["v1", "organizations", "api_keys"]) => {
                let mut keys: Vec<&String> = self
                    .live
                    .iter()
                    .filter(|t| t.starts_with("sk-ant-api03-"))
                    .collect();
                keys.sort();
                let data: Vec<Value> = keys
                    .iter()
                    .map(|k| {
                        let status = if self.revoked.contains(*k) { "inactive" } else { "active" };
                        json!({"type": "api_key", "id": format!("apikey_{}", key_id(k)), "name": "ci", "partial_key_hint": redact(k, 16), "status": status, "workspace_id": null})
                    })
                    .collect();
                FakeReply::json(
                    200,
                    &json!({"data": data, "has_more": false, "first_id": null, "last_id": null})
                        .to_string(),
                )
            }
            ("POST", ["v1", "organizations", "api_keys", id]) => {
                let body: Value = serde_json::from_str(request.body).unwrap_or_default();
                let key = self.by_id("sk-ant-api03-", id.trim_start_matches("apikey_"));
                match (key, body.get("status").and_then(Value::as_str)) {
                    (Some(key), Some(status @ ("inactive" | "archived"))) => {
                        self.revoke(&key);
                        FakeReply::json(200, &json!({"type": "api_key", "id": id, "status": status, "partial_key_hint": redact(&key, 16)}).to_string())
                    }
                    (None, _) => FakeReply::json(
                        404,
                        r#"{"type":"error","error":{"type":"not_found_error","message":"API key not found"}}"#,
                    ),
                    _ => FakeReply::json(
                        400,
                        r#"{"type":"error","error":{"type":"invalid_request_error","message":"status"}}"#,
                    ),
                }
            }
            // Twilio
            ("GET", ["2010-04-01", "Accounts", account]) => {
                let (_, password) = basic(request);
                if self.is_live(&password) || self.admin(&password) {
                    let sid = account.trim_end_matches(".json");
                    FakeReply::json(
                        200,
                        &json!({"sid": sid, "friendly_name": "Acme", "status": "active"})
                            .to_string(),
                    )
                } else {
                    FakeReply::json(
                        401,
                        r#"{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}"#,
                    )
                }
            }
            ("DELETE", ["2010-04-01", "Accounts", _, "Keys", key]) => {
                let (_, password) = basic(request);
                if !self.admin(&password) {
                    return Some(FakeReply::json(
                        401,
                        r#"{"code":20003,"message":"Authenticate","status":401}"#,
                    ));
                }
                let sid = key.trim_end_matches(".json");
                match self.ids.get(sid).cloned() {
                    Some(secret) if self.revoke(&secret) => FakeReply::json(204, ""),
                    _ => FakeReply::json(
                        404,
                        r#"{"code":20404,"message":"The requested resource was not found","status":404}"#,
                    ),
                }
            }
            // Datadog
            ("GET", ["api", version @ ("v1" | "v2"), "validate"]) => {
                let key = request.header("dd-api-key").unwrap_or_default().to_string();
                match (self.is_live(&key), *version) {
                    (false, _) => FakeReply::json(403, r#"{"errors":["Forbidden"]}"#),
                    (true, "v1") => FakeReply::json(200, r#"{"valid":true}"#),
                    (true, _) => FakeReply::json(
                        200,
                        &json!({"data": {"attributes": {"api_key_id": key_id(&key), "api_key_scopes": [], "valid": true}, "id": "550e8400-e29b-41d4-a716-446655440000", "type": "validate_v2"}}).to_string(),
                    ),
                }
            }
            ("DELETE", ["api", "v2", "api_keys", id]) => {
                let api = request.header("dd-api-key").unwrap_or_default();
                let app = request.header("dd-application-key").unwrap_or_default();
                if !self.admin(api) || !self.admin(app) {
                    return Some(FakeReply::json(403, r#"{"errors":["Forbidden"]}"#));
                }
                let key = self
                    .live
                    .iter()
                    .find(|t| key_id(t) == *id && t.len() == 32)
                    .cloned();
                match key {
                    Some(key) if self.revoke(&key) => FakeReply::json(204, ""),
                    _ => FakeReply::json(404, r#"{"errors":["API key not found"]}"#),
                }
            }
            // Google API keys
            ("GET", ["v1beta", "models"]) => {
                let key = request
                    .query
                    .split('&')
                    .find_map(|p| p.strip_prefix("key="))
                    .unwrap_or_default();
                if self.is_live(key) {
                    FakeReply::json(200, r#"{"models":[{"name":"models/gemini-2.0-flash"}]}"#)
                } else {
                    FakeReply::json(
                        400,
                        r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#,
                    )
                }
            }
            (_, ["v2", ..]) if !self.admin(bearer(request)) => google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
            ),
            ("GET", ["v2", "keys:lookupKey"]) => {
                let key = request
                    .query
                    .split('&')
                    .find_map(|p| p.strip_prefix("keyString="))
                    .unwrap_or_default();
                if self.live.contains(key) {
                    FakeReply::json(200, &json!({"parent": "projects/123456789/locations/global", "name": format!("projects/123456789/locations/global/keys/{}", key_id(key))}).to_string())
                } else {
                    google_error(
                        403,
                        "PERMISSION_DENIED",
                        "Permission denied: Consumer 'api_key:…' has been suspended.",
                    )
                }
            }
            ("DELETE", ["v2", "projects", _, "locations", "global", "keys", id]) => {
                match self
                    .live
                    .iter()
                    .find(|t| t.starts_with("AIza") && key_id(t) == *id)
                    .cloned()
                {
                    Some(key) if self.revoke(&key) => FakeReply::json(
                        200,
                        r#"{"name":"operations/akmf.p7-123456789-1","done":true}"#,
                    ),
                    _ => google_error(404, "NOT_FOUND", "Key not found."),
                }
            }
            // Google OAuth: a JWT-bearer grant for a service-account key.
            ("POST", ["token"]) => {
                let form: Vec<(String, String)> = form_urlencoded::parse(request.body.as_bytes())
                    .into_owned()
                    .collect();
                let kid = form
                    .iter()
                    .find(|(k, _)| k == "assertion")
                    .and_then(|(_, jwt)| jwt.split('.').next())
                    .and_then(|h| {
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(h)
                            .ok()
                    })
                    .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
                    .and_then(|h| h.get("kid").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                if self.is_live(&kid) {
                    FakeReply::json(
                        200,
                        r#"{"access_token":"ya29.fake-access-token","expires_in":3599,"token_type":"Bearer"}"#,
                    )
                } else {
                    FakeReply::json(
                        400,
                        r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
                    )
                }
            }
            // Google IAM service-account keys.
            (method, ["v1", "projects", _, "serviceAccounts", _, "keys", key]) => {
                if !self.admin(bearer(request)) {
                    return Some(google_error(
                        401,
                        "UNAUTHENTICATED",
                        "Request had invalid authentication credentials.",
                    ));
                }
                let (id, verb) = key.split_once(':').unwrap_or((key, ""));
                let known = self.live.contains(id) && !self.deleted.contains(id);
                match (method, verb, known) {
                    (_, _, false) => {
                        google_error(404, "NOT_FOUND", "Service account key not found.")
                    }
                    ("POST", "disable", true) => {
                        self.revoke(id);
                        FakeReply::json(200, "{}")
                    }
                    ("GET", "", true) => FakeReply::json(
                        200,
                        &json!({"name": request.path.trim_start_matches("/v1/"), "keyType": "USER_MANAGED", "keyOrigin": "GOOGLE_PROVIDED", "disabled": self.revoked.contains(id)}).to_string(),
                    ),
                    ("DELETE", "", true) => {
                        self.revoke(id);
                        self.deleted.insert(id.to_string());
                        FakeReply::json(200, "{}")
                    }
                    _ => google_error(400, "INVALID_ARGUMENT", "unknown method"),
                }
            }
            _ => return None,
        };
        Some(reply)
    }
}
