//! Built-in fake providers and a fake GitHub issues API, answering as the
//! real ones document (../shared/PROVIDERS.md): GitHub's `/user`,
//! unauthenticated batched `/credentials/revoke` (202, no per-token result),
//! `/installation/token`; GitLab's `personal_access_tokens/self`; Slack's
//! `auth.test`/`auth.revoke` (HTTP 200, `ok` decides); npm's `whoami` and
//! token delete; Stripe's `/v1/account` (verify only); the admin-API
//! providers in fake_admin.rs. `bot drill` serves
//! them on 127.0.0.1; the tests serve them too, adding faults on top.

use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// A request as the fakes read it.
pub struct FakeRequest<'a> {
    pub method: &'a str,
    /// Path without the query.
    pub path: &'a str,
    pub query: &'a str,
    /// Lowercase names.
    pub headers: &'a [(String, String)],
    pub body: &'a str,
}

impl FakeRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&'_ str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn bearer(&self) -> &str {
        let value = self.header("authorization").unwrap_or_default();
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("token "))
            .unwrap_or(value)
    }
}

/// A fake's answer.
#[derive(Debug, Clone)]
pub struct FakeReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl FakeReply {
    pub fn json(status: u16, body: &str) -> FakeReply {
        FakeReply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    fn header(mut self, name: &str, value: &str) -> FakeReply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// The providers' state: which tokens exist and which were revoked.
#[derive(Debug, Default)]
pub struct Providers {
    pub live: HashSet<String>,
    pub revoked: HashSet<String>,
    /// Checks of a revoked token that still answer "live": the undocumented
    /// delay before a revocation reaches every server.
    pub stale_checks: usize,
    /// AWS access key ids allowed to call IAM (the bot's admin credentials).
    pub admin_keys: HashSet<String>,
    /// Tokens minted by GitLab rotations, in order.
    pub minted: Vec<String>,
    /// Vault: the token it accepts, and what was written (path, body).
    pub vault_token: String,
    pub vault: Vec<(String, String)>,
    /// Admin credentials the admin-API fakes accept (fake_admin.rs).
    pub admin_tokens: HashSet<String>,
    /// Keys that may not revoke themselves (a SendGrid key without the `api_keys` scope).
    pub forbidden: HashSet<String>,
    /// Public ids of keys whose id cannot be cut from them (Twilio `SK…` → secret).
    pub ids: HashMap<String, String>,
    /// Keys deleted, not only deactivated (AWS access keys, Google
    /// service-account keys): they answer 404 from then on.
    pub deleted: HashSet<String>,
}

/// The access key id in a SigV4 `Authorization` header's `Credential=` scope
/// (fakes read it without checking the signature).
fn sigv4_key_id(request: &FakeRequest<'_>) -> String {
    let value = request.header("authorization").unwrap_or_default();
    value
        .split("Credential=")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_string()
}

fn aws_error(status: u16, code: &str, message: &str) -> FakeReply {
    FakeReply::json(
        status,
        &format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>req-err</RequestId></ErrorResponse>"
        ),
    )
}

impl Providers {
    pub(super) fn is_live(&mut self, token: &str) -> bool {
        if self.revoked.contains(token) && self.stale_checks > 0 {
            self.stale_checks -= 1;
            return true;
        }
        self.live.contains(token) && !self.revoked.contains(token)
    }

    /// Revokes `token` if it is live; whether it was.
    pub(super) fn revoke(&mut self, token: &str) -> bool {
        let live = self.live.contains(token) && !self.revoked.contains(token);
        if live {
            self.revoked.insert(token.to_string());
        }
        live
    }

    /// alice's access keys (every known AKIA key but the admin's), with
    /// whether each is active.
    fn user_keys(&self) -> Vec<(String, bool)> {
        let mut keys: Vec<(String, bool)> = self
            .live
            .iter()
            .filter(|k| {
                k.starts_with("AKIA") && !self.admin_keys.contains(*k) && !self.deleted.contains(*k)
            })
            .map(|k| (k.clone(), !self.revoked.contains(k)))
            .collect();
        keys.sort();
        keys
    }

    /// STS and IAM (Query protocol: `POST /` with a form body).
    fn aws(&mut self, request: &FakeRequest<'_>) -> FakeReply {
        let form: Vec<(String, String)> = form_urlencoded::parse(request.body.as_bytes())
            .into_owned()
            .collect();
        let param = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        let caller = sigv4_key_id(request);
        match param("Action") {
            "GetCallerIdentity" if self.is_live(&caller) => FakeReply::json(
                200,
                "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn>\
                 <UserId>AIDAEXAMPLEUSER</UserId><Account>123456789012</Account></GetCallerIdentityResult>\
                 <ResponseMetadata><RequestId>req-sts</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
            ),
            "GetCallerIdentity" => aws_error(403, "InvalidClientTokenId", "The security token included in the request is invalid."),
            "UpdateAccessKey" | "DeleteAccessKey" if !self.admin_keys.contains(&caller) => {
                aws_error(403, "AccessDenied", "not authorized to perform this IAM action")
            }
            "DeleteAccessKey" => {
                let key = param("AccessKeyId").to_string();
                if !self.live.contains(&key) || self.deleted.contains(&key) || param("UserName") != "alice" {
                    // Deleting again: not idempotent at the HTTP level.
                    return aws_error(404, "NoSuchEntity", "The Access Key with id cannot be found.");
                }
                self.revoked.insert(key.clone());
                self.deleted.insert(key);
                FakeReply::json(200, "<DeleteAccessKeyResponse><ResponseMetadata><RequestId>req-iam-delete</RequestId></ResponseMetadata></DeleteAccessKeyResponse>")
            }
            "UpdateAccessKey" => {
                let key = param("AccessKeyId").to_string();
                if !self.live.contains(&key) || self.deleted.contains(&key) || param("UserName") != "alice" {
                    return aws_error(404, "NoSuchEntity", "The Access Key with id cannot be found.");
                }
                if param("Status") == "Inactive" {
                    self.revoked.insert(key);
                }
                FakeReply::json(200, "<UpdateAccessKeyResponse><ResponseMetadata><RequestId>req-iam-1</RequestId></ResponseMetadata></UpdateAccessKeyResponse>")
            }
            "GetAccessKeyLastUsed" if self.admin_keys.contains(&caller) => FakeReply::json(
                200,
                "<GetAccessKeyLastUsedResponse><GetAccessKeyLastUsedResult><UserName>alice</UserName><AccessKeyLastUsed>\
                 <LastUsedDate>2026-12-01T10:00:00Z</LastUsedDate><ServiceName>s3</ServiceName><Region>eu-west-1</Region>\
                 </AccessKeyLastUsed></GetAccessKeyLastUsedResult></GetAccessKeyLastUsedResponse>",
            ),
            "ListAccessKeys" | "CreateAccessKey" | "GetAccessKeyLastUsed" if !self.admin_keys.contains(&caller) => {
                aws_error(403, "AccessDenied", "not authorized")
            }
            "ListAccessKeys" => {
                let members: String = self
                    .user_keys()
                    .iter()
                    .map(|(key, active)| {
                        let status = if *active { "Active" } else { "Inactive" };
                        format!("<member><UserName>alice</UserName><AccessKeyId>{key}</AccessKeyId><Status>{status}</Status></member>")
                    })
                    .collect();
                FakeReply::json(200, &format!(
                    "<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata>{members}</AccessKeyMetadata>\
                     <IsTruncated>false</IsTruncated></ListAccessKeysResult></ListAccessKeysResponse>"
                ))
            }
            "CreateAccessKey" if self.user_keys().len() >= 2 => {
                aws_error(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
            }
            "CreateAccessKey" => {
                let id = format!("AKIAROTATED{:09}", self.minted.len() + 1);
                let secret = format!("rotated/secret/{:026}", self.minted.len() + 1);
                self.live.insert(id.clone());
                self.minted.push(id.clone());
                FakeReply::json(200, &format!(
                    "<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>alice</UserName>\
                     <AccessKeyId>{id}</AccessKeyId><Status>Active</Status><SecretAccessKey>{secret}</SecretAccessKey>\
                     </AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>req-iam-create</RequestId>\
                     </ResponseMetadata></CreateAccessKeyResponse>"
                ))
            }
            _ => aws_error(400, "InvalidAction", "unknown action"),
        }
    }

    /// Answers one request.
    pub fn answer(&mut self, request: &FakeRequest<'_>) -> FakeReply {
        let bad = || {
            FakeReply::json(
                401,
                r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#,
            )
        };
        if let Some(reply) = self.admin_apis(request) {
            return reply;
        }
        let gitlab_token = request.header("private-token").unwrap_or_default();
        match (request.method, request.path) {
            ("POST", "/") => self.aws(request),
            ("GET", "/user") if self.is_live(request.bearer()) => {
                FakeReply::json(200, r#"{"login":"octocat","id":1,"type":"User"}"#)
                    .header("x-oauth-scopes", "repo")
            }
            ("GET", "/user") => bad(),
            ("POST", "/credentials/revoke") => {
                if request.header("authorization").is_some() {
                    return FakeReply::json(403, r#"{"message":"Must not be authenticated"}"#);
                }
                let body: Value = serde_json::from_str(request.body).unwrap_or_default();
                let Some(list) = body.get("credentials").and_then(Value::as_array) else {
                    return FakeReply::json(
                        422,
                        r#"{"message":"Validation failed, or the endpoint has been spammed."}"#,
                    );
                };
                for token in list.iter().filter_map(Value::as_str) {
                    self.revoke(token);
                }
                FakeReply::json(202, "{}").header("x-github-request-id", "REQ-GH-1")
            }
            ("GET", "/installation/repositories") if self.is_live(request.bearer()) => {
                FakeReply::json(
                    200,
                    r#"{"total_count":1,"repositories":[{"owner":{"login":"acme"}}]}"#,
                )
            }
            ("GET", "/installation/repositories") => bad(),
            ("DELETE", "/installation/token") if self.revoke(request.bearer()) => {
                FakeReply::json(204, "")
            }
            ("DELETE", "/installation/token") => bad(),
            ("GET", "/api/v4/personal_access_tokens/self") if self.is_live(gitlab_token) => {
                FakeReply::json(
                    200,
                    r#"{"id":4,"name":"ci","revoked":false,"scopes":["api"],"user_id":3,"active":true,"expires_at":null}"#,
                )
            }
            ("POST", "/api/v4/personal_access_tokens/self/rotate") => {
                if !self.revoke(gitlab_token) {
                    // Reuse detection: rotating a revoked token revokes the family.
                    let minted = self.minted.clone();
                    self.revoked.extend(minted);
                    return FakeReply::json(401, r#"{"message":"401 Unauthorized"}"#);
                }
                let new = format!("glpat-rotated{:014}", self.minted.len() + 1);
                self.live.insert(new.clone());
                self.minted.push(new.clone());
                FakeReply::json(
                    200,
                    &json!({"id": 42, "name": "ci", "active": true, "token": new}).to_string(),
                )
            }
            ("POST", path) if path.starts_with("/v1/") => {
                if request.header("x-vault-token") != Some(self.vault_token.as_str())
                    || self.vault_token.is_empty()
                {
                    return FakeReply::json(403, r#"{"errors":["permission denied"]}"#);
                }
                if self.vault.iter().any(|(p, _)| p == path) {
                    return FakeReply::json(
                        400,
                        r#"{"errors":["check-and-set parameter did not match the current version"]}"#,
                    );
                }
                self.vault
                    .push((path.to_string(), request.body.to_string()));
                FakeReply::json(200, r#"{"data":{"version":1}}"#)
            }
            ("DELETE", "/api/v4/personal_access_tokens/self") if self.revoke(gitlab_token) => {
                FakeReply::json(204, "")
            }
            (_, "/api/v4/personal_access_tokens/self") => {
                FakeReply::json(401, r#"{"message":"401 Unauthorized"}"#)
            }
            ("POST", "/api/auth.test") => {
                let token = request.bearer();
                if self.is_live(token) {
                    FakeReply::json(
                        200,
                        r#"{"ok":true,"team":"Acme","team_id":"T1","user":"bot","user_id":"U1"}"#,
                    )
                } else if self.revoked.contains(token) {
                    FakeReply::json(200, r#"{"ok":false,"error":"token_revoked"}"#)
                } else {
                    FakeReply::json(200, r#"{"ok":false,"error":"invalid_auth"}"#)
                }
            }
            ("POST", "/api/auth.revoke") if self.revoke(request.bearer()) => {
                FakeReply::json(200, r#"{"ok":true,"revoked":true}"#)
            }
            ("POST", "/api/auth.revoke") => {
                FakeReply::json(200, r#"{"ok":false,"error":"token_revoked"}"#)
            }
            ("GET", "/-/whoami") if self.is_live(request.bearer()) => {
                FakeReply::json(200, r#"{"username":"alice"}"#)
            }
            ("GET", "/-/whoami") => FakeReply::json(401, r#"{"error":"unauthorized"}"#),
            ("DELETE", path) if path.starts_with("/-/npm/v1/tokens/token/") => {
                let token = request.bearer().to_string();
                if path.trim_start_matches("/-/npm/v1/tokens/token/") == token
                    && self.revoke(&token)
                {
                    FakeReply::json(204, "")
                } else {
                    FakeReply::json(401, r#"{"error":"unauthorized"}"#)
                }
            }
            ("GET", "/v1/account") if self.is_live(request.bearer()) => {
                FakeReply::json(200, r#"{"id":"acct_1Acme","object":"account"}"#)
            }
            ("GET", "/v1/account") => {
                FakeReply::json(401, r#"{"error":{"message":"Invalid API Key provided"}}"#)
            }
            _ => FakeReply::json(404, r#"{"message":"Not Found"}"#),
        }
    }
}

/// An issue in the fake GitHub.
#[derive(Debug, Clone)]
pub struct FakeIssue {
    pub repo: String,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub open: bool,
    pub comments: Vec<String>,
}

/// The fake GitHub's state; requests must carry `Bearer <token>`.
#[derive(Debug, Default)]
pub struct Github {
    pub token: String,
    pub issues: Vec<FakeIssue>,
    /// Repositories with issues disabled (410).
    pub gone: HashSet<String>,
}

fn issue_json(issue: &FakeIssue) -> Value {
    json!({
        "number": issue.number,
        "html_url": format!("https://github.example/{}/issues/{}", issue.repo, issue.number),
        "state": if issue.open { "open" } else { "closed" },
        "title": issue.title,
        "body": issue.body,
    })
}

fn strings(body: &Value, key: &str) -> Vec<String> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Github {
    pub fn answer(&mut self, request: &FakeRequest<'_>) -> FakeReply {
        if request.header("authorization") != Some(&format!("Bearer {}", self.token)) {
            return FakeReply::json(401, r#"{"message":"Requires authentication"}"#);
        }
        let parts: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
        let body: Value = serde_json::from_str(request.body).unwrap_or_default();
        let not_found = || FakeReply::json(404, r#"{"message":"Not Found"}"#);
        let (repo, rest) = match parts.as_slice() {
            ["repos", owner, name, rest @ ..] => (format!("{owner}/{name}"), rest),
            _ => return not_found(),
        };
        let find = |issues: &mut Vec<FakeIssue>, number: &str| {
            issues
                .iter_mut()
                .position(|i| i.repo == repo && i.number.to_string() == number)
        };
        match (request.method, rest) {
            ("GET", ["issues"]) => {
                let page: usize = request
                    .query
                    .split('&')
                    .find_map(|p| p.strip_prefix("page=")?.parse().ok())
                    .unwrap_or(1);
                let items: Vec<Value> = self
                    .issues
                    .iter()
                    .filter(|i| i.repo == repo)
                    .skip(page.saturating_sub(1) * 100)
                    .take(100)
                    .map(issue_json)
                    .collect();
                FakeReply::json(200, &Value::Array(items).to_string())
            }
            ("POST", ["issues"]) if self.gone.contains(&repo) => {
                FakeReply::json(410, r#"{"message":"Issues are disabled for this repo"}"#)
            }
            ("POST", ["issues"]) => {
                let issue = FakeIssue {
                    repo,
                    number: self.issues.len() as u64 + 1,
                    title: body["title"].as_str().unwrap_or_default().into(),
                    body: body["body"].as_str().unwrap_or_default().into(),
                    labels: strings(&body, "labels"),
                    assignees: strings(&body, "assignees"),
                    open: true,
                    comments: Vec::new(),
                };
                let json = issue_json(&issue);
                self.issues.push(issue);
                FakeReply::json(201, &json.to_string())
            }
            ("POST", ["issues", number, "comments"]) => match find(&mut self.issues, number) {
                Some(i) => {
                    let text = body["body"].as_str().unwrap_or_default().to_string();
                    self.issues[i].comments.push(text);
                    FakeReply::json(201, r#"{"id":1}"#)
                }
                None => not_found(),
            },
            ("PATCH", ["issues", number]) => match find(&mut self.issues, number) {
                Some(i) => {
                    let issue = &mut self.issues[i];
                    if let Some(text) = body.get("body").and_then(Value::as_str) {
                        issue.body = text.into();
                    }
                    if body.get("state").and_then(Value::as_str) == Some("closed") {
                        issue.open = false;
                    }
                    FakeReply::json(200, &issue_json(issue).to_string())
                }
                None => not_found(),
            },
            _ => not_found(),
        }
    }
}
