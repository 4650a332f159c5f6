//! Fakes for the bot (tests/bot*.rs), on 127.0.0.1 through `FakeServer`:
//! one server answering the provider APIs the bot revokes with (GitHub's
//! `/user`, `/credentials/revoke` and `/installation/token`, GitLab's
//! `personal_access_tokens/self`, Slack's `auth.test`/`auth.revoke`, npm's
//! `whoami` and token delete, Stripe's `/v1/account`) with the contracts of
//! ../shared/PROVIDERS.md, and a stateful fake GitHub issues API. Both keep
//! state (revoked tokens, issues, comments) and take injected faults.
#![allow(dead_code)]

use crate::common::fake::{FakeServer, Recorded, Reply};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A reply to give instead of the real one, `times` times, to requests
/// whose `METHOD path` starts with `matches`. `land` makes the real action
/// happen first (an answer lost after the work was done).
#[derive(Clone)]
pub struct Fault {
    pub matches: String,
    pub reply: Reply,
    pub times: usize,
    pub land: bool,
}

impl Fault {
    pub fn new(matches: &str, reply: Reply, times: usize) -> Fault {
        Fault {
            matches: matches.into(),
            reply,
            times,
            land: false,
        }
    }

    pub fn landed(mut self) -> Fault {
        self.land = true;
        self
    }
}

fn take_fault(faults: &Mutex<Vec<Fault>>, request: &Recorded) -> Option<(Reply, bool)> {
    let key = format!("{} {}", request.method, request.url);
    let mut faults = faults.lock().unwrap();
    let fault = faults
        .iter_mut()
        .find(|f| f.times > 0 && key.starts_with(&f.matches))?;
    fault.times -= 1;
    Some((fault.reply.clone(), fault.land))
}

#[derive(Default)]
pub struct ProviderState {
    /// Tokens the fake knows as issued (and live until revoked).
    pub live: HashSet<String>,
    pub revoked: HashSet<String>,
    /// Checks of a revoked token that still answer "live" (eventual consistency).
    pub stale_checks: usize,
}

pub struct FakeProviders {
    pub server: FakeServer,
    pub state: Arc<Mutex<ProviderState>>,
    pub faults: Arc<Mutex<Vec<Fault>>>,
}

fn bearer(request: &Recorded) -> String {
    request
        .header("authorization")
        .unwrap_or_default()
        .trim_start_matches("Bearer ")
        .trim_start_matches("token ")
        .to_string()
}

impl FakeProviders {
    /// Starts the fake with these tokens live.
    pub fn start(live: &[&str]) -> FakeProviders {
        let state = Arc::new(Mutex::new(ProviderState {
            live: live.iter().map(|s| s.to_string()).collect(),
            ..ProviderState::default()
        }));
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::default();
        let (s, f) = (Arc::clone(&state), Arc::clone(&faults));
        let server = FakeServer::start(move |request, _| {
            let fault = take_fault(&f, request);
            if let Some((reply, false)) = &fault {
                return reply.clone();
            }
            let real = answer(&mut s.lock().unwrap(), request);
            fault.map(|(reply, _)| reply).unwrap_or(real)
        });
        FakeProviders {
            server,
            state,
            faults,
        }
    }

    pub fn fault(&self, fault: Fault) {
        self.faults.lock().unwrap().push(fault);
    }

    /// Environment pointing every provider the fake plays at it.
    pub fn env(&self) -> Vec<(String, String)> {
        ["GITHUB", "GITLAB", "SLACK", "NPM", "STRIPE"]
            .iter()
            .map(|p| (format!("LEAKSTOP_VERIFY_URL_{p}"), self.server.url.clone()))
            .collect()
    }

    /// `METHOD path` of every request, in order.
    pub fn calls(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path()))
            .collect()
    }

    pub fn count(&self, call: &str) -> usize {
        self.calls().iter().filter(|c| *c == call).count()
    }
}

fn is_live(state: &mut ProviderState, token: &str) -> bool {
    if state.revoked.contains(token) && state.stale_checks > 0 {
        state.stale_checks -= 1;
        return true;
    }
    state.live.contains(token) && !state.revoked.contains(token)
}

/// Revokes `token` if it is live; whether it was.
fn revoke(state: &mut ProviderState, token: &str) -> bool {
    let live = state.live.contains(token) && !state.revoked.contains(token);
    if live {
        state.revoked.insert(token.to_string());
    }
    live
}

fn answer(state: &mut ProviderState, request: &Recorded) -> Reply {
    let bad = || {
        Reply::json(
            401,
            r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#,
        )
    };
    match (request.method.as_str(), request.path()) {
        ("GET", "/user") => {
            if is_live(state, &bearer(request)) {
                Reply::json(200, r#"{"login":"octocat","id":1,"type":"User"}"#)
                    .with_header("x-oauth-scopes", "repo")
            } else {
                bad()
            }
        }
        ("POST", "/credentials/revoke") => {
            if request.header("authorization").is_some() {
                return Reply::json(403, r#"{"message":"Must not be authenticated"}"#);
            }
            let body: serde_json::Value = serde_json::from_str(&request.body).unwrap_or_default();
            let Some(list) = body.get("credentials").and_then(|c| c.as_array()) else {
                return Reply::json(
                    422,
                    r#"{"message":"Validation failed, or the endpoint has been spammed."}"#,
                );
            };
            for token in list.iter().filter_map(|t| t.as_str()) {
                revoke(state, token);
            }
            // 202 with no per-token result, for unknown tokens too.
            Reply::json(202, "{}").with_header("x-github-request-id", "REQ-GH-1")
        }
        ("GET", "/installation/repositories") => {
            if is_live(state, &bearer(request)) {
                Reply::json(
                    200,
                    r#"{"total_count":1,"repositories":[{"owner":{"login":"acme"}}]}"#,
                )
            } else {
                bad()
            }
        }
        ("DELETE", "/installation/token") => {
            if revoke(state, &bearer(request)) {
                Reply::json(204, "")
            } else {
                bad()
            }
        }
        ("GET", "/api/v4/personal_access_tokens/self") => {
            let token = request
                .header("private-token")
                .unwrap_or_default()
                .to_string();
            if is_live(state, &token) {
                Reply::json(
                    200,
                    r#"{"id":4,"name":"ci","revoked":false,"scopes":["api"],"user_id":3,"active":true,"expires_at":null}"#,
                )
            } else {
                Reply::json(401, r#"{"message":"401 Unauthorized"}"#)
            }
        }
        ("DELETE", "/api/v4/personal_access_tokens/self") => {
            let token = request
                .header("private-token")
                .unwrap_or_default()
                .to_string();
            if revoke(state, &token) {
                Reply::json(204, "")
            } else {
                Reply::json(401, r#"{"message":"401 Unauthorized"}"#)
            }
        }
        ("POST", "/api/auth.test") => {
            let token = bearer(request);
            if is_live(state, &token) {
                Reply::json(
                    200,
                    r#"{"ok":true,"team":"Acme","team_id":"T1","user":"bot","user_id":"U1"}"#,
                )
            } else if state.revoked.contains(&token) {
                Reply::json(200, r#"{"ok":false,"error":"token_revoked"}"#)
            } else {
                Reply::json(200, r#"{"ok":false,"error":"invalid_auth"}"#)
            }
        }
        ("POST", "/api/auth.revoke") => {
            if revoke(state, &bearer(request)) {
                Reply::json(200, r#"{"ok":true,"revoked":true}"#)
            } else {
                Reply::json(200, r#"{"ok":false,"error":"token_revoked"}"#)
            }
        }
        ("GET", "/-/whoami") => {
            if is_live(state, &bearer(request)) {
                Reply::json(200, r#"{"username":"alice"}"#)
            } else {
                Reply::json(401, r#"{"error":"unauthorized"}"#)
            }
        }
        ("DELETE", path) if path.starts_with("/-/npm/v1/tokens/token/") => {
            let token = bearer(request);
            let named = path.trim_start_matches("/-/npm/v1/tokens/token/");
            if named == token && revoke(state, &token) {
                Reply::json(204, "")
            } else {
                Reply::json(401, r#"{"error":"unauthorized"}"#)
            }
        }
        ("GET", "/v1/account") => {
            if is_live(state, &bearer(request)) {
                Reply::json(200, r#"{"id":"acct_1Acme","object":"account"}"#)
            } else {
                Reply::json(401, r#"{"error":{"message":"Invalid API Key provided"}}"#)
            }
        }
        _ => Reply::json(404, r#"{"message":"Not Found"}"#),
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

#[derive(Default)]
pub struct GithubState {
    pub issues: Vec<FakeIssue>,
    /// Repositories with issues disabled (410).
    pub gone: HashSet<String>,
}

pub struct FakeGithub {
    pub server: FakeServer,
    pub state: Arc<Mutex<GithubState>>,
    pub faults: Arc<Mutex<Vec<Fault>>>,
}

impl FakeGithub {
    pub fn start() -> FakeGithub {
        let state: Arc<Mutex<GithubState>> = Arc::default();
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::default();
        let (s, f) = (Arc::clone(&state), Arc::clone(&faults));
        let server = FakeServer::start(move |request, _| {
            let fault = take_fault(&f, request);
            if let Some((reply, false)) = &fault {
                return reply.clone();
            }
            let real = github_answer(&mut s.lock().unwrap(), request);
            fault.map(|(reply, _)| reply).unwrap_or(real)
        });
        FakeGithub {
            server,
            state,
            faults,
        }
    }

    pub fn fault(&self, fault: Fault) {
        self.faults.lock().unwrap().push(fault);
    }

    pub fn issues(&self) -> Vec<FakeIssue> {
        self.state.lock().unwrap().issues.clone()
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("LEAKSTOP_GITHUB_API".into(), self.server.url.clone()),
            ("GITHUB_TOKEN".into(), "test-bot-token".into()),
        ]
    }

    /// `METHOD path` of every request that changed something.
    pub fn writes(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {}", r.method, r.path()))
            .collect()
    }
}

fn issue_json(issue: &FakeIssue) -> serde_json::Value {
    serde_json::json!({
        "number": issue.number,
        "html_url": format!("https://github.example/{}/issues/{}", issue.repo, issue.number),
        "state": if issue.open { "open" } else { "closed" },
        "title": issue.title,
        "body": issue.body,
    })
}

fn github_answer(state: &mut GithubState, request: &Recorded) -> Reply {
    if request.header("authorization") != Some("Bearer test-bot-token") {
        return Reply::json(401, r#"{"message":"Requires authentication"}"#);
    }
    let parts: Vec<&str> = request.path().trim_start_matches('/').split('/').collect();
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap_or_default();
    match (request.method.as_str(), parts.as_slice()) {
        ("GET", ["repos", owner, name, "issues"]) => {
            let repo = format!("{owner}/{name}");
            let page: usize = request
                .url
                .split("&page=")
                .nth(1)
                .and_then(|p| p.split('&').next()?.parse().ok())
                .unwrap_or(1);
            let all: Vec<serde_json::Value> = state
                .issues
                .iter()
                .filter(|i| i.repo == repo)
                .map(issue_json)
                .collect();
            let items: Vec<_> = all.into_iter().skip((page - 1) * 100).take(100).collect();
            Reply::json(200, &serde_json::Value::Array(items).to_string())
        }
        ("POST", ["repos", owner, name, "issues"]) => {
            let repo = format!("{owner}/{name}");
            if state.gone.contains(&repo) {
                return Reply::json(410, r#"{"message":"Issues are disabled for this repo"}"#);
            }
            let strings = |key: &str| -> Vec<String> {
                body.get(key)
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let issue = FakeIssue {
                repo,
                number: state.issues.len() as u64 + 1,
                title: body["title"].as_str().unwrap_or_default().into(),
                body: body["body"].as_str().unwrap_or_default().into(),
                labels: strings("labels"),
                assignees: strings("assignees"),
                open: true,
                comments: Vec::new(),
            };
            let json = issue_json(&issue);
            state.issues.push(issue);
            Reply::json(201, &json.to_string())
        }
        ("POST", ["repos", owner, name, "issues", number, "comments"]) => {
            let repo = format!("{owner}/{name}");
            match state
                .issues
                .iter_mut()
                .find(|i| i.repo == repo && i.number.to_string() == *number)
            {
                Some(issue) => {
                    issue
                        .comments
                        .push(body["body"].as_str().unwrap_or_default().into());
                    Reply::json(201, r#"{"id":1}"#)
                }
                None => Reply::json(404, r#"{"message":"Not Found"}"#),
            }
        }
        ("PATCH", ["repos", owner, name, "issues", number]) => {
            let repo = format!("{owner}/{name}");
            match state
                .issues
                .iter_mut()
                .find(|i| i.repo == repo && i.number.to_string() == *number)
            {
                Some(issue) => {
                    if let Some(text) = body.get("body").and_then(|b| b.as_str()) {
                        issue.body = text.into();
                    }
                    if body.get("state").and_then(|s| s.as_str()) == Some("closed") {
                        issue.open = false;
                    }
                    Reply::json(200, &issue_json(issue).to_string())
                }
                None => Reply::json(404, r#"{"message":"Not Found"}"#),
            }
        }
        _ => Reply::json(404, r#"{"message":"Not Found"}"#),
    }
}
