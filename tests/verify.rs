//! `scan --verify` against fake provider servers on 127.0.0.1: request
//! shapes, recorded statuses, retries, timeouts, the cache, host pinning,
//! logging without secrets, and one request per distinct secret.
//! Every token here is fake (scripts/fake_token.py or rule examples).

mod common;

use base64::Engine as _;
use common::fake::{FakeServer, Recorded, Reply};
use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Every endpoint name a pattern file can use, so no test can reach a real
/// provider: provider ids plus the extra endpoint names rules declare.
fn endpoint_names() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("patterns");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("patterns/")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".toml"))
                .map(str::to_string)
        })
        .collect();
    names.push("google-oauth".into());
    names
}

fn env_name(endpoint: &str) -> String {
    format!(
        "LEAKSTOP_VERIFY_URL_{}",
        endpoint.to_ascii_uppercase().replace(['-', '.'], "_")
    )
}

/// A verification run: every endpoint points at `server`, the cache lives
/// in its own temp dir (outside the scanned tree).
struct Run<'a> {
    tree: &'a Tree,
    server: &'a str,
    cache: &'a Path,
    env: Vec<(String, String)>,
}

impl<'a> Run<'a> {
    fn new(tree: &'a Tree, server: &'a FakeServer, cache: &'a Path) -> Self {
        Run {
            tree,
            server: &server.url,
            cache,
            env: Vec::new(),
        }
    }

    fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    fn output(&self, args: &[&str]) -> Output {
        let mut env = vec![(
            "LEAKSTOP_CACHE_DIR".to_string(),
            self.cache.display().to_string(),
        )];
        for name in endpoint_names() {
            env.push((env_name(&name), self.server.to_string()));
        }
        env.extend(self.env.iter().cloned());
        self.tree.leakstop_env(args, &env)
    }

    fn json(&self, extra: &[&str]) -> (Output, Value) {
        let mut args = vec!["scan", "--format", "json", "--verify"];
        args.extend_from_slice(extra);
        args.push(".");
        let output = self.output(&args);
        let json = serde_json::from_str(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "json: {e}\nstdout: {}\nstderr: {}",
                output.stdout, output.stderr
            )
        });
        (output, json)
    }
}

/// The verification object of the (first) finding of `rule`.
fn verification<'v>(report: &'v Value, rule: &str) -> &'v Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule_id"] == rule)
        .unwrap_or_else(|| panic!("no finding of {rule} in {report:#}"))
        .get("verification")
        .unwrap_or_else(|| panic!("no verification on {rule}"))
}

/// Verifies a tree holding one GitHub PAT against `server`, with a fresh cache.
fn verify_pat(server: &FakeServer, extra: &[&str]) -> (Output, Value) {
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    let cache = tempfile::tempdir().unwrap();
    Run::new(&tree, server, cache.path()).json(extra)
}

fn github_user_api() -> FakeServer {
    FakeServer::start(|request, _| {
        let auth = request.header("authorization").unwrap_or_default();
        match (request.method.as_str(), request.path()) {
            ("GET", "/user") if auth == format!("Bearer {GITHUB_PAT}") => {
                Reply::json(200, r#"{"login":"octocat","id":583231,"type":"User"}"#)
                    .with_header("X-OAuth-Scopes", "repo, read:org")
                    .with_header(
                        "GitHub-Authentication-Token-Expiration",
                        "2030-01-01 00:00:00 UTC",
                    )
            }
            ("GET", "/user") => Reply::json(
                401,
                r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#,
            ),
            _ => Reply::json(404, r#"{"message":"Not Found"}"#),
        }
    })
}

#[test]
fn live_and_invalid_github_tokens_with_owner_scopes_and_exit_2() {
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"))
        .write("old.env", format!("GITHUB_TOKEN={GITHUB_PAT_2}\n"));
    let server = github_user_api();
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let findings = report["findings"].as_array().unwrap();
    let live = &findings[0]["verification"];
    assert_eq!(findings[0]["path"], ".env");
    assert_eq!(live["status"], "live");
    assert_eq!(live["owner"]["login"], "octocat");
    assert_eq!(live["owner"]["id"], "583231");
    assert_eq!(live["scopes"], serde_json::json!(["repo", "read:org"]));
    assert_eq!(live["expires_at"], "2030-01-01 00:00:00 UTC");
    assert_eq!(live["endpoint"], format!("GET {}/user", server.url));
    let invalid = &findings[1]["verification"];
    assert_eq!(invalid["status"], "invalid");
    // The documented request shape.
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!((r.method.as_str(), r.path()), ("GET", "/user"));
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
        assert!(r.header("user-agent").unwrap().starts_with("leakstop/"));
    }
    assert!(out.stderr.contains("1 live, 1 invalid"), "{}", out.stderr);
}

#[test]
fn without_verify_nothing_is_sent() {
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    let server = github_user_api();
    let cache = tempfile::tempdir().unwrap();
    let out = Run::new(&tree, &server, cache.path()).output(&["scan", "--format", "json", "."]);
    assert_eq!(out.code, 1);
    assert_eq!(server.count(), 0);
    assert!(!out.stdout.contains("verification"));
}

#[test]
fn only_verified_reports_live_findings_in_every_format() {
    let tree = Tree::new();
    tree.write(".env", format!("A={GITHUB_PAT}\nB={GITHUB_PAT_2}\n"));
    let server = github_user_api();
    let cache = tempfile::tempdir().unwrap();
    let run = Run::new(&tree, &server, cache.path());
    let (out, report) = run.json(&["--only-verified"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", ".env", 1, 3)]
    );
    let human = run.output(&["scan", "--only-verified", "."]);
    assert!(
        human.stdout.contains(
            "verification: live (owner: id=583231, login=octocat, type=User; scopes: repo, read:org"
        ),
        "{}",
        human.stdout
    );
    let sarif = run.output(&["scan", "--only-verified", "--format", "sarif", "."]);
    let sarif: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["properties"]["verification"]["status"], "live");
    assert!(result["message"]["text"]
        .as_str()
        .unwrap()
        .contains("Verification: live"));
    let csv = run.output(&["scan", "--verify", "--format", "csv", "."]);
    let rows: Vec<&str> = csv.stdout.lines().collect();
    assert!(
        rows[0].ends_with(",commit,verification,verification_detail"),
        "{}",
        rows[0]
    );
    assert!(rows[1].contains(",live,"), "{}", rows[1]);
    assert!(rows[2].contains(",invalid,"), "{}", rows[2]);
}

#[test]
fn revoked_and_insufficient_scope_are_told_apart() {
    let tree = Tree::new();
    // Slack answers HTTP 200 with ok:false; a restricted Stripe key without
    // permission for /v1/account gets 403 but is still live.
    tree.write(
        "slack.env",
        "SLACK_BOT_TOKEN=xoxb-8294364837568-4485813728360-Y0F1Z0y9Cofi1n09zRPmBtRy\n",
    )
    .write(
        "stripe.env",
        "STRIPE_RESTRICTED_KEY=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\n",
    );
    let server = FakeServer::start(|request, _| match request.path() {
        "/api/auth.test" => Reply::json(200, r#"{"ok":false,"error":"token_revoked"}"#),
        "/v1/account" => Reply::json(
            403,
            r#"{"error":{"message":"The provided key 'rk_live_****pKM' does not have the required permissions for this endpoint on account 'acct_1Acme'.","type":"invalid_request_error"}}"#,
        ),
        _ => Reply::json(404, "{}"),
    });
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let slack = verification(&report, "slack.bot-token");
    assert_eq!(slack["status"], "revoked");
    assert_eq!(slack["reason"], "Slack: token_revoked");
    let stripe = verification(&report, "stripe.restricted-key");
    assert_eq!(stripe["status"], "live");
    assert!(stripe["reason"].as_str().unwrap().contains("not allowed"));
    let slack_request = server
        .requests()
        .into_iter()
        .find(|r| r.path() == "/api/auth.test")
        .unwrap();
    assert_eq!(slack_request.method, "POST");
    assert_eq!(
        slack_request.header("authorization"),
        Some("Bearer xoxb-8294364837568-4485813728360-Y0F1Z0y9Cofi1n09zRPmBtRy")
    );
}

#[test]
fn a_200_without_the_identity_field_is_not_live() {
    // Some servers answer 200 to anything: that proves nothing.
    let server = FakeServer::start(|_, _| Reply::json(200, "{}"));
    let (out, report) = verify_pat(&server, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = verification(&report, "github.pat-classic");
    assert_eq!(v["status"], "error");
    assert_eq!(v["reason"], "unexpected response: HTTP 200");
}

/// The first answer is `first` (asking to wait `wait`), then success: the
/// retry must come no earlier than asked, measured by the server's clock.
fn assert_retry_waits(first: Reply, wait: Duration) {
    let server = FakeServer::start(move |_, index| {
        if index == 0 {
            first.clone()
        } else {
            Reply::json(200, r#"{"login":"octocat","id":1,"type":"User"}"#)
        }
    });
    let (out, report) = verify_pat(&server, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        verification(&report, "github.pat-classic")["status"],
        "live"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= wait, "retried after {gap:?}, asked {wait:?}");
}

#[test]
fn rate_limit_retry_honours_retry_after() {
    assert_retry_waits(
        Reply::json(429, r#"{"message":"API rate limit exceeded"}"#)
            .with_header("Retry-After", "2"),
        Duration::from_secs(2),
    );
}

#[test]
fn github_secondary_limits_are_waited_out() {
    // The secondary limit: 403 with Retry-After (no x-ratelimit-remaining: 0).
    assert_retry_waits(
        Reply::json(
            403,
            r#"{"message":"You have exceeded a secondary rate limit."}"#,
        )
        .with_header("Retry-After", "1"),
        Duration::from_secs(1),
    );
}

#[test]
fn rate_limited_when_the_provider_keeps_refusing() {
    // GitHub's primary limit: 403 with x-ratelimit-remaining: 0 and a reset time.
    let server = FakeServer::start(|_, _| {
        Reply::json(403, r#"{"message":"API rate limit exceeded"}"#)
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-reset", "4000000000")
    });
    let (out, report) = verify_pat(&server, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = verification(&report, "github.pat-classic");
    assert_eq!(v["status"], "rate_limited");
    // The reset is far away: give up at once instead of sleeping for years.
    assert_eq!(server.count(), 1);
}

#[test]
fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = FakeServer::start(|_, _| Reply::json(503, r#"{"message":"unavailable"}"#));
    let (out, report) = verify_pat(&server, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = verification(&report, "github.pat-classic");
    assert_eq!(v["status"], "error");
    assert_eq!(v["reason"], "HTTP 503 from the provider after 3 attempts");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    // Exponential backoff: 250 ms, then 500 ms.
    assert!(requests[1].at - requests[0].at >= Duration::from_millis(250));
    assert!(requests[2].at - requests[1].at >= Duration::from_millis(500));
}

#[test]
fn a_hanging_connection_times_out_as_an_error() {
    let server = FakeServer::start(|_, _| Reply::hang());
    let (out, report) = verify_pat(&server, &["--verify-timeout", "1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = verification(&report, "github.pat-classic");
    assert_eq!(v["status"], "error");
    assert_eq!(v["reason"], "no answer within 1.0s (--verify-timeout)");
    assert_eq!(server.count(), 1, "a timeout is not retried");
}

#[test]
fn the_cache_prevents_a_second_call() {
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    let server = github_user_api();
    let cache = tempfile::tempdir().unwrap();
    let run = Run::new(&tree, &server, cache.path());
    let (_, first) = run.json(&[]);
    assert_eq!(server.count(), 1);
    assert!(verification(&first, "github.pat-classic")
        .get("cached")
        .is_none());
    let (out, second) = run.json(&[]);
    assert_eq!(out.code, 2);
    assert_eq!(server.count(), 1, "the second run asked the provider again");
    let v = verification(&second, "github.pat-classic");
    assert_eq!(v["status"], "live");
    assert_eq!(v["owner"]["login"], "octocat");
    assert_eq!(v["cached"], true);
    assert_eq!(second["stats"]["verification"]["cached"], 1);
    assert_eq!(second["stats"]["verification"]["checked"], 0);
    assert!(first["stats"].get("verification").is_some());
    let (_, unverified) = tree.scan_json(&[]);
    assert!(unverified["stats"].get("verification").is_none());
    // The cache holds no secret.
    let stored = std::fs::read_to_string(cache.path().join("verify-v1.json")).unwrap();
    assert!(!stored.contains(GITHUB_PAT));
    assert!(!stored.contains(&GITHUB_PAT[4..20]));
    // --no-verify-cache asks again.
    run.json(&["--no-verify-cache"]);
    assert_eq!(server.count(), 2);
}

#[test]
fn requests_never_go_to_another_host() {
    let elsewhere = FakeServer::start(|_, _| Reply::json(200, r#"{"login":"thief"}"#));
    let target = format!("{}/user", elsewhere.url);
    let server = FakeServer::start(move |_, _| {
        let mut reply = Reply::json(302, "");
        reply.headers.push(("Location".into(), target.clone()));
        reply
    });
    let (out, report) = verify_pat(&server, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(server.count(), 1);
    assert_eq!(
        elsewhere.count(),
        0,
        "a redirect carried the token elsewhere"
    );
    assert_eq!(
        verification(&report, "github.pat-classic")["reason"],
        "unexpected response: HTTP 302"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    let server = github_user_api();
    let cache = tempfile::tempdir().unwrap();
    let out = Run::new(&tree, &server, cache.path())
        .env("LEAKSTOP_VERIFY_URL_GITHUB", "http://api.github.com")
        .output(&["scan", "--verify", "."]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("plain http is only allowed to a loopback host"),
        "{}",
        out.stderr
    );
    // The config is checked the same way.
    tree.write(
        "cfg.toml",
        "[verify.base_urls]\ngitlab = \"http://gitlab.example.com\"\n",
    );
    let out = tree.leakstop(&["scan", "--config", "cfg.toml", "."]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("verify.base_urls"), "{}", out.stderr);
    assert_eq!(server.count(), 0);
}

#[test]
fn verbose_logging_never_contains_a_secret() {
    let tree = Tree::new();
    let telegram = "5130007190:AA3FKaNQyyLaMeffOhq4AUvy7VSLDCD1IfH";
    tree.write(
        ".env",
        format!("GITHUB_TOKEN={GITHUB_PAT}\nTELEGRAM_BOT_TOKEN={telegram}\n"),
    );
    // Every answer is a failure of some kind, so error paths log too.
    let server = FakeServer::start(|request, _| {
        if request.path().starts_with("/bot") {
            Reply::json(500, r#"{"ok":false}"#)
        } else {
            Reply::json(401, r#"{"message":"Bad credentials"}"#)
        }
    });
    let cache = tempfile::tempdir().unwrap();
    // Every output format, with the cache off so each run makes its requests.
    for format in ["json", "jsonl", "human", "sarif", "csv"] {
        let out = Run::new(&tree, &server, cache.path())
            .env("LEAKSTOP_LOG", "debug")
            .output(&[
                "scan",
                "--verify",
                "-v",
                "--no-verify-cache",
                "--format",
                format,
                ".",
            ]);
        assert_eq!(out.code, 1, "{format}: {}", out.stderr);
        assert!(
            out.stderr.contains("leakstop: verify: GET"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("/bot{secret}/getMe"), "{}", out.stderr);
        for secret in [GITHUB_PAT, telegram, &GITHUB_PAT[4..24], &telegram[11..30]] {
            assert!(
                !out.stderr.contains(secret),
                "{format}: stderr leaks {secret}: {}",
                out.stderr
            );
            assert!(
                !out.stdout.contains(secret),
                "{format}: stdout leaks {secret}"
            );
        }
    }
    // The token really went to the server (in the path), but not to the logs.
    assert!(server.requests().iter().any(|r| r.url.contains(telegram)));
}

/// A GitHub token with a valid CRC32 checksum, distinct per `n`.
fn github_token(n: usize) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let body: String = format!("{n:04}")
        .chars()
        .chain("qZ7xK2mP9vR4tW8yB3nD6fH1jLcS0gAe".chars())
        .take(30)
        .collect();
    let mut crc = crc32fast::hash(body.as_bytes());
    let mut checksum = [b'0'; 6];
    for slot in checksum.iter_mut().rev() {
        *slot = B62[(crc % 62) as usize];
        crc /= 62;
    }
    format!("ghp_{body}{}", String::from_utf8_lossy(&checksum))
}

#[test]
fn a_thousand_findings_of_fifty_secrets_make_fifty_requests() {
    let tree = Tree::new();
    let tokens: Vec<String> = (0..50).map(github_token).collect();
    for file in 0..20 {
        let text: String = tokens
            .iter()
            .map(|t| format!("token = \"{t}\"\n"))
            .collect();
        tree.write(&format!("config/{file:02}.env"), text);
    }
    let server = FakeServer::start(|request, _| {
        if request
            .header("authorization")
            .is_some_and(|a| a.ends_with('0'))
        {
            Reply::json(200, r#"{"login":"octocat","id":1,"type":"User"}"#)
        } else {
            Reply::json(401, r#"{"message":"Bad credentials"}"#)
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&["--no-verify-cache"]);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1000, "{}", out.stderr);
    assert_eq!(server.count(), 50, "one request per distinct secret");
    let mut asked: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    asked.sort();
    asked.dedup();
    assert_eq!(asked.len(), 50);
    assert!(findings
        .iter()
        .all(|f| f["verification"]["status"].is_string()));
    let counts = &report["stats"]["verification"];
    assert_eq!(counts["distinct_credentials"], 50);
    assert_eq!(counts["checked"], 50);
    assert_eq!(counts["cached"], 0);
    let by_status = counts["by_status"].as_object().unwrap();
    let total: u64 = by_status.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(total, 50, "{by_status:?}");
    assert!(by_status.contains_key("invalid"), "{by_status:?}");
    assert!(
        out.stderr
            .contains("verified 50 distinct credentials in 1000 findings"),
        "{}",
        out.stderr
    );
}

/// Checks a recorded request: method, path, and headers containing text.
struct Shape {
    rule: &'static str,
    file: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    owner: Option<(&'static str, &'static str)>,
}

/// Answers like each provider's identity endpoint does for a live credential.
fn provider_reply(request: &Recorded) -> Reply {
    let path = request.path();
    let body = match path {
        "/user" => r#"{"login":"octocat","id":1,"type":"User"}"#,
        "/installation/repositories" => {
            r#"{"total_count":1,"repositories":[{"owner":{"login":"acme"}}]}"#
        }
        "/api/v4/personal_access_tokens/self" => {
            r#"{"id":4,"name":"ci","revoked":false,"active":true,"scopes":["api"],"user_id":3,"expires_at":null}"#
        }
        "/api/v4/job" => r#"{"id":8,"ref":"main","user":{"username":"ci-user"}}"#,
        "/account" => r#"{"id":"u1","email":"ada@acme.test"}"#,
        "/client/v4/user/tokens/verify" => {
            r#"{"result":{"id":"tok1","status":"active"},"success":true}"#
        }
        "/api/v1/user" => r#"{"id":"n1","email":"ada@acme.test","full_name":"Ada"}"#,
        "/v2/user" => r#"{"user":{"id":"v1","username":"ada","email":"ada@acme.test"}}"#,
        "/api/1.0/users/me" => r#"{"data":{"gid":"1","name":"Ada","email":"ada@acme.test"}}"#,
        "/v0/meta/whoami" => {
            r#"{"id":"usr1","email":"ada@acme.test","scopes":["data.records:read"]}"#
        }
        "/v1/me" => r#"{"id":"1","handle":"ada","email":"ada@acme.test"}"#,
        "/v4/profile" => r#"{"username":"ada","email":"ada@acme.test"}"#,
        "/openai/v1/models" | "/models" => r#"{"object":"list","data":[]}"#,
        "/v1/api-key" => r#"{"api_key_id":"k1","team_id":"t1","name":"ci"}"#,
        "/api/auth.test" => {
            r#"{"ok":true,"team":"Acme","team_id":"T1","user":"grace","user_id":"U1"}"#
        }
        "/v1/account" => r#"{"id":"acct_1Acme","object":"account","email":"ops@acme.test"}"#,
        "/v1/models" => r#"{"object":"list","data":[]}"#,
        "/v1/organization/admin_api_keys" => r#"{"object":"list","data":[]}"#,
        "/v1/organizations/api_keys" => r#"{"data":[],"has_more":false}"#,
        "/api/whoami-v2" => {
            r#"{"name":"alice","type":"user","auth":{"accessToken":{"role":"read"}}}"#
        }
        "/-/whoami" => r#"{"username":"alice"}"#,
        "/v3/scopes" => r#"{"scopes":["mail.send"]}"#,
        "/v3/domains" => r#"{"total_count":1,"items":[{"name":"mg.acme.test"}]}"#,
        "/3.0/" => r#"{"account_id":"a1","account_name":"Acme"}"#,
        "/api/v10/users/@me" => r#"{"id":"10843","username":"acmebot","bot":true}"#,
        "/admin/api/2024-10/shop.json" => {
            r#"{"shop":{"id":1,"name":"Acme","myshopify_domain":"acme-store.myshopify.com"}}"#
        }
        "/v2/account" => r#"{"account":{"uuid":"u1","email":"ops@acme.test","status":"active"}}"#,
        "/v2/auth/token" => r#"{"access_token":"eyJfake"}"#,
        "/api/v1/validate" => r#"{"valid":true}"#,
        "/api/v1/org" => r#"{"orgs":[{"name":"Acme","public_id":"p1"}]}"#,
        "/graphql" => {
            r#"{"data":{"actor":{"user":{"id":1,"name":"Ada","email":"ada@acme.test"}},"viewer":{"id":"v1","name":"Ada","email":"ada@acme.test"}}}"#
        }
        "/api/0/organizations/" => r#"[{"slug":"acme","name":"Acme"}]"#,
        "/v1/users/me" => {
            r#"{"object":"user","id":"u1","name":"bot","bot":{"workspace_name":"Acme"}}"#
        }
        "/me" => r#"{"user":{"id":1,"username":"alice"}}"#,
        "/v3/me" => r#"{"name":"ci","type":"service","workplace":{"slug":"acme","name":"Acme"}}"#,
        "/v1/auth/token/lookup-self" => {
            r#"{"data":{"accessor":"a1","display_name":"token-ci","policies":["default"],"expire_time":null}}"#
        }
        "/api/v2/account/details" => {
            r#"{"data":{"attributes":{"username":"alice","email":"a@acme.test"}}}"#
        }
        "/api/instances" => r#"{"items":[{"orgSlug":"acme","slug":"acme"}]}"#,
        "/v1beta/models" => r#"{"models":[{"name":"models/gemini"}]}"#,
        p if p.starts_with("/2010-04-01/Accounts/") => {
            r#"{"sid":"ACdac674cd017a1a8be8eedf5a72951c14","friendly_name":"Acme","status":"active"}"#
        }
        p if p.starts_with("/api/v10/webhooks/") => {
            r#"{"id":"9403269910237409546","name":"deploys","channel_id":"1"}"#
        }
        p if p.starts_with("/bot") => {
            r#"{"ok":true,"result":{"id":5130007190,"username":"acme_bot"}}"#
        }
        _ => return Reply::json(404, r#"{"message":"no such fake endpoint"}"#),
    };
    let reply = Reply::json(200, body);
    if path == "/v1/models" {
        reply.with_header("openai-organization", "org-acme")
    } else {
        reply
    }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// One file and the expected request for every covered rule family.
fn shapes() -> Vec<Shape> {
    const GH: &[(&str, &str)] = &[
        ("accept", "application/vnd.github+json"),
        ("x-github-api-version", "2022-11-28"),
    ];
    vec![
        Shape { rule: "github.pat-classic", file: "GITHUB_TOKEN=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", method: "GET", path: "/user", headers: &[("authorization", "Bearer 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")], owner: Some(("login", "octocat")) },
        Shape { rule: "github.pat-fine-grained", file: "GH_TOKEN=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", method: "GET", path: "/user", headers: GH, owner: Some(("login", "octocat")) },
        Shape { rule: "github.oauth", file: "access_token=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", method: "GET", path: "/user", headers: &[("authorization", "Bearer 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")], owner: Some(("login", "octocat")) },
        Shape { rule: "github.app-user", file: "GH_USER_TOKEN=ghu_BN3KpSoAI90e391ZwmkYqEfaEmulVI2BAWVw", method: "GET", path: "/user", headers: GH, owner: Some(("type", "User")) },
        Shape { rule: "github.app-installation", file: "Authorization: token ghs_vYCygWr8fFGMTxfR7RuEFqzqmgDycA2diZTl", method: "GET", path: "/installation/repositories", headers: &[("authorization", "Bearer ghs_vYCygWr8fFGMTxfR7RuEFqzqmgDycA2diZTl")], owner: Some(("repositories.0.owner.login", "acme")) },
        Shape { rule: "gitlab.pat", file: "GITLAB_TOKEN=glpat-3GLziBYV9CCKn8Tk4JO2", method: "GET", path: "/api/v4/personal_access_tokens/self", headers: &[("private-token", "glpat-3GLziBYV9CCKn8Tk4JO2")], owner: Some(("user_id", "3")) },
        Shape { rule: "gitlab.pat-routable", file: "GITLAB_TOKEN=glpat-ksHcxOaerCf_vSgTiFL1tC9xUx5tsqd.01.0zj2gc1n4", method: "GET", path: "/api/v4/personal_access_tokens/self", headers: &[("private-token", "glpat-ksHcxOaerCf_vSgTiFL1tC9xUx5tsqd.01.0zj2gc1n4")], owner: Some(("name", "ci")) },
        Shape { rule: "gitlab.ci-job-token", file: "CI_JOB_TOKEN=glcbt-64_V6zK3x06D3BErlllFvMH", method: "GET", path: "/api/v4/job", headers: &[("job-token", "glcbt-64_V6zK3x06D3BErlllFvMH")], owner: Some(("user.username", "ci-user")) },
        Shape { rule: "heroku.api-token", file: "HEROKU_API_KEY=HRKU-AApkePp78UrH_t9M7VkjXhGzP6hkqkYvvJx3MUd69pt_hn0ZDrBd-njK_02U", method: "GET", path: "/account", headers: &[("accept", "version=3"), ("authorization", "Bearer HRKU-")], owner: Some(("email", "ada@acme.test")) },
        Shape { rule: "cloudflare.user-api-token", file: "CLOUDFLARE_API_TOKEN=cfut_D3miSBMZI16uTadeDegWNXsbisNeYo7Zgp0eu8cVe64da012", method: "GET", path: "/client/v4/user/tokens/verify", headers: &[("authorization", "Bearer cfut_")], owner: Some(("result.id", "tok1")) },
        Shape { rule: "netlify.personal-access-token", file: "NETLIFY_AUTH_TOKEN=nfp_6KQDELmDxA02mgR111uFH8Sqyuln7Hg7ef6e", method: "GET", path: "/api/v1/user", headers: &[("authorization", "Bearer nfp_")], owner: Some(("full_name", "Ada")) },
        Shape { rule: "vercel.personal-access-token", file: "VERCEL_TOKEN=vcp_7CCvQNlpICib3CFS74qiAPgwapYkPzjWbx9yLh439fqq5TT0RcnH4Nda", method: "GET", path: "/v2/user", headers: &[("authorization", "Bearer vcp_")], owner: Some(("user.username", "ada")) },
        Shape { rule: "asana.pat", file: "ASANA_ACCESS_TOKEN=1/4887979006906143:63596345eb929d0045ebb3b613ba980b", method: "GET", path: "/api/1.0/users/me", headers: &[("authorization", "Bearer 1/4887979006906143:")], owner: Some(("data.name", "Ada")) },
        Shape { rule: "airtable.pat", file: "AIRTABLE_TOKEN=patPYXQAg0Zmylcpv.eeea153d83de151909b6957440eb0f5dec631582863dcfb734c47d0bcda1eb42", method: "GET", path: "/v0/meta/whoami", headers: &[("authorization", "Bearer patPYXQAg0Zmylcpv.")], owner: Some(("email", "ada@acme.test")) },
        Shape { rule: "figma.pat", file: "FIGMA_TOKEN=figd_XZqeForVhy2lGuRTgX7iIm5liLPXe2iHMk1R1qvs", method: "GET", path: "/v1/me", headers: &[("x-figma-token", "figd_XZqeForVhy2lGuRTgX7iIm5liLPXe2iHMk1R1qvs")], owner: Some(("handle", "ada")) },
        Shape { rule: "linode.personal-access-token", file: "LINODE_TOKEN=e04d3c3f6bb0cac7568f4e9da5d3a50505781fc1eb2feaad56b3e8960cef3380", method: "GET", path: "/v4/profile", headers: &[("authorization", "Bearer e04d3c3f")], owner: Some(("username", "ada")) },
        Shape { rule: "groq.api-key", file: "GROQ_API_KEY=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", method: "GET", path: "/openai/v1/models", headers: &[("authorization", "Bearer gsk_")], owner: None },
        Shape { rule: "mistral.api-key", file: "MISTRAL_API_KEY=59ZSyyNTZqqKZn7MI1HQIjOQbLqDVlIY", method: "GET", path: "/v1/models", headers: &[("authorization", "Bearer 59ZSyyNTZqqKZn7MI1HQIjOQbLqDVlIY")], owner: None },
        Shape { rule: "deepseek.api-key", file: "DEEPSEEK_API_KEY=sk-1c0ee2dba4bac0e2642b56f3aa425808", method: "GET", path: "/models", headers: &[("authorization", "Bearer sk-1c0ee2dba4bac0e2642b56f3aa425808")], owner: None },
        Shape { rule: "xai.api-key", file: "XAI_API_KEY=xai-ULS3rOJlIUn5WmnzmaKqEuLHxoneChRJDcRtNSARqOY2ICppJ4PbLPbUL1Hy3a08xPk8MyHppMIsGzUV", method: "GET", path: "/v1/api-key", headers: &[("authorization", "Bearer xai-")], owner: Some(("team_id", "t1")) },
        Shape { rule: "slack.user-token", file: "SLACK_USER_TOKEN=xoxp-8924695572253-2120273531343-8947866314442-1ad5c3a1d980352aed4ababa04f1761c", method: "POST", path: "/api/auth.test", headers: &[("authorization", "Bearer xoxp-")], owner: Some(("team_id", "T1")) },
        Shape { rule: "stripe.secret-key", file: "STRIPE_SECRET_KEY=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", method: "GET", path: "/v1/account", headers: &[("authorization", "Bearer sk_live_51TOxe")], owner: Some(("id", "acct_1Acme")) },
        Shape { rule: "openai.project-key", file: "OPENAI_API_KEY=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", method: "GET", path: "/v1/models", headers: &[("authorization", "Bearer sk-proj-")], owner: Some(("openai-organization", "org-acme")) },
        Shape { rule: "openai.admin-key", file: "OPENAI_ADMIN_KEY=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", method: "GET", path: "/v1/organization/admin_api_keys", headers: &[("authorization", "Bearer sk-admin-")], owner: None },
        Shape { rule: "anthropic.api-key", file: "ANTHROPIC_API_KEY=sk-ant-api03-gfTOOib_3A7I4y4QsZ8Fujo2dwrbnMpfsOfEnG2AreVhIpmhk5abr-zasJBDlXxbpFoxe3gPooRAe2FT3UXiEY2hNhLyDAA", method: "GET", path: "/v1/models", headers: &[("x-api-key", "sk-ant-api03-"), ("anthropic-version", "2023-06-01")], owner: None },
        Shape { rule: "anthropic.admin-key", file: "ANTHROPIC_ADMIN_KEY=sk-ant-admin01-XkNw7OgJrNGYmg-qcbs7NcmL-DolV_ZwRozm_IXTThJOu7vq_vVc3YSHA6xDCya2m8E377sBf_lsC9FZzgOLwMjNDt2XHAA", method: "GET", path: "/v1/organizations/api_keys", headers: &[("x-api-key", "sk-ant-admin01-")], owner: None },
        Shape { rule: "huggingface.user-token", file: "HF_TOKEN=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", method: "GET", path: "/api/whoami-v2", headers: &[("authorization", "Bearer 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")], owner: Some(("name", "alice")) },
        Shape { rule: "npm.access-token", file: "//registry.npmjs.org/:_authToken=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", method: "GET", path: "/-/whoami", headers: &[("authorization", "Bearer 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")], owner: Some(("username", "alice")) },
        Shape { rule: "sendgrid.api-key", file: "SENDGRID_API_KEY=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", method: "GET", path: "/v3/scopes", headers: &[("authorization", "Bearer SG._wDXjZTFmbtkgYJ99osvXe")], owner: None },
        Shape { rule: "twilio.auth-token", file: "TWILIO_ACCOUNT_SID=ACdac674cd017a1a8be8eedf5a72951c14\nTWILIO_AUTH_TOKEN=1d64dee1d4be81c3e14440aec31309aa", method: "GET", path: "/2010-04-01/Accounts/ACdac674cd017a1a8be8eedf5a72951c14.json", headers: &[], owner: Some(("friendly_name", "Acme")) },
        Shape { rule: "mailgun.api-key", file: "MAILGUN_API_KEY=c8347c600ba8dd9fd93ace7c694e57f3-24c2c27e-e5f2aa05", method: "GET", path: "/v3/domains", headers: &[], owner: Some(("items.0.name", "mg.acme.test")) },
        Shape { rule: "mailchimp.api-key", file: "MAILCHIMP_API_KEY=046747579c0c3eb7ef79bb408a113b65-us21", method: "GET", path: "/3.0/", headers: &[], owner: Some(("account_name", "Acme")) },
        Shape { rule: "discord.bot-token", file: "DISCORD_TOKEN=MTA4NDMyOTE4ODQ1NzI2MzEwNA.C3J27X.DCG2LmlZGEONYlgCtjfIZ4SOcMz9CPVNPkNa1H", method: "GET", path: "/api/v10/users/@me", headers: &[("authorization", "Bot MTA4NDMyOTE4ODQ1NzI2MzEwNA.C3J27X.")], owner: Some(("username", "acmebot")) },
        Shape { rule: "discord.webhook", file: "DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/9403269910237409546/eefnLOpaMxxNDi9LE1Ki3ylOjt6o0NpUmkVO8JmR8y4EMfAdggcG9qpVTzqA05MFsHl7", method: "GET", path: "/api/v10/webhooks/9403269910237409546/eefnLOpaMxxNDi9LE1Ki3ylOjt6o0NpUmkVO8JmR8y4EMfAdggcG9qpVTzqA05MFsHl7", headers: &[], owner: Some(("name", "deploys")) },
        Shape { rule: "telegram.bot-token", file: "TELEGRAM_BOT_TOKEN=5130007190:AA3FKaNQyyLaMeffOhq4AUvy7VSLDCD1IfH", method: "GET", path: "/bot5130007190:AA3FKaNQyyLaMeffOhq4AUvy7VSLDCD1IfH/getMe", headers: &[], owner: Some(("result.username", "acme_bot")) },
        Shape { rule: "shopify.access-token", file: "SHOPIFY_SHOP=acme-store.myshopify.com\nSHOPIFY_ACCESS_TOKEN=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", method: "GET", path: "/admin/api/2024-10/shop.json", headers: &[("x-shopify-access-token", "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")], owner: Some(("shop.name", "Acme")) },
        Shape { rule: "digitalocean.personal-access-token", file: "DIGITALOCEAN_TOKEN=dop_v1_e04d3c3f6bb0cac7568f4e9da5d3a50505781fc1eb2feaad56b3e8960cef3380", method: "GET", path: "/v2/account", headers: &[("authorization", "Bearer dop_v1_")], owner: Some(("account.uuid", "u1")) },
        Shape { rule: "dockerhub.pat", file: "echo dckr_pat_6bq2nXn9yUUbWPZFxzG9t5L2Ox2 | docker login -u acmebot --password-stdin", method: "POST", path: "/v2/auth/token", headers: &[("content-type", "application/json")], owner: Some(("username", "acmebot")) },
        Shape { rule: "datadog.api-key", file: "DD_API_KEY=e8b78c4ff9f71b109dc31de998a1aeb9", method: "GET", path: "/api/v1/validate", headers: &[("dd-api-key", "e8b78c4ff9f71b109dc31de998a1aeb9")], owner: None },
        Shape { rule: "datadog.application-key", file: "DD_API_KEY=e8b78c4ff9f71b109dc31de998a1aeb9\nDD_APP_KEY=f1a900102f29bbeab4ce3ebff390ec5d64c3bf16", method: "GET", path: "/api/v1/org", headers: &[("dd-api-key", "e8b78c4ff9f71b109dc31de998a1aeb9"), ("dd-application-key", "f1a900102f29bbeab4ce3ebff390ec5d64c3bf16")], owner: Some(("orgs.0.name", "Acme")) },
        Shape { rule: "newrelic.user-api-key", file: "NEW_RELIC_API_KEY=NRAK-LAAVL9V5BPLSN8KT49XKI78AF14", method: "POST", path: "/graphql", headers: &[("api-key", "NRAK-LAAVL9V5BPLSN8KT49XKI78AF14")], owner: Some(("data.actor.user.email", "ada@acme.test")) },
        Shape { rule: "sentry.user-auth-token", file: "SENTRY_AUTH_TOKEN=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", method: "GET", path: "/api/0/organizations/", headers: &[("authorization", "Bearer sntryu_")], owner: Some(("0.slug", "acme")) },
        Shape { rule: "linear.api-key", file: "LINEAR_API_KEY=lin_api_s1odOpcU9HKRpYFvS9ZJpGv9Fyj9gJLfof3pa9Ux", method: "POST", path: "/graphql", headers: &[("authorization", "lin_api_s1odOpcU9HKRpYFvS9ZJpGv9Fyj9gJLfof3pa9Ux")], owner: Some(("data.viewer.name", "Ada")) },
        Shape { rule: "notion.integration-token", file: "NOTION_TOKEN=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", method: "GET", path: "/v1/users/me", headers: &[("authorization", "Bearer ntn_"), ("notion-version", "2022-06-28")], owner: Some(("bot.workspace_name", "Acme")) },
        Shape { rule: "postman.api-key", file: "POSTMAN_API_KEY=PMAK-890c27cdadadee1ceb6815f6-d145876a06fbdaff1da192042e23d93f90", method: "GET", path: "/me", headers: &[("x-api-key", "PMAK-890c27cdadadee1ceb6815f6-d145876a06fbdaff1da192042e23d93f90")], owner: Some(("user.username", "alice")) },
        Shape { rule: "doppler.service-token", file: "DOPPLER_TOKEN=dp.st.prd.UINYZpnzLFigx1AQSyFVZUWBVNSF60UWdb3VGE2BSne", method: "GET", path: "/v3/me", headers: &[("authorization", "Bearer dp.st.prd.")], owner: Some(("workplace.name", "Acme")) },
        Shape { rule: "hashicorp-vault.service-token", file: "export VAULT_TOKEN=hvs.CAESINA3MdUa5_y7p0f9vvl_ED2EE368iVue7XSo1vCEtJNz40XuqbH3YGM4pu-ZYAB2R-m-CPJ9tMTPUc9DPa4", method: "GET", path: "/v1/auth/token/lookup-self", headers: &[("x-vault-token", "hvs.CAESINA3")], owner: Some(("data.display_name", "token-ci")) },
        Shape { rule: "terraform-cloud.api-token", file: "credentials \"app.terraform.io\" { token = \"qZ3zNn2KkDWh7L.atlasv1.DBF1Y7IT66mF5MOaUblvn3j7tF2wQdEPUPvrbCp1pH8cdJTKsWRKZ7sQDfhowRmF2J5\" }", method: "GET", path: "/api/v2/account/details", headers: &[("authorization", "Bearer qZ3zNn2KkDWh7L.atlasv1.")], owner: Some(("data.attributes.username", "alice")) },
        Shape { rule: "grafana.cloud-token", file: "GRAFANA_CLOUD_TOKEN=glc_eyJNyDLxwKNZROoG8yhyknsuejMlRZieGrvpqhtgHXFPxMZHQGhV0FdTPB8SDrI7icSL6DNvBLWZAR1WlmZ6IUrG5buBfNOjJnr3m3OIPVGp8ZY343pnOxGG7mK==", method: "GET", path: "/api/instances", headers: &[("authorization", "Bearer glc_")], owner: Some(("items.0.orgSlug", "acme")) },
        Shape { rule: "google.api-key", file: "GOOGLE_API_KEY=AIzazau95mFvyvG5nCLagcfS4uzhONvJ0DrCuOu", method: "GET", path: "/v1beta/models", headers: &[], owner: None },
    ]
}

/// Writes one file per shape, verifies the tree against a fake answering
/// with `reply`; the server, the run, and each shape's verification object.
fn verify_shapes(
    shapes: &[Shape],
    reply: fn(&Recorded) -> Reply,
) -> (FakeServer, Output, Vec<Value>) {
    let tree = Tree::new();
    for (i, shape) in shapes.iter().enumerate() {
        tree.write(
            &format!("p/{i:02}-{}.txt", shape.rule),
            format!("{}\n", shape.file),
        );
    }
    let server = FakeServer::start(move |request, _| reply(request));
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&[]);
    let verifications = shapes
        .iter()
        .enumerate()
        .map(|(i, shape)| {
            let path = format!("p/{i:02}-{}.txt", shape.rule);
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["path"] == path.as_str() && f["rule_id"] == shape.rule)
                .unwrap_or_else(|| panic!("{}: no finding", shape.rule))["verification"]
                .clone()
        })
        .collect();
    (server, out, verifications)
}

#[test]
fn every_covered_provider_gets_its_documented_request() {
    let shapes = shapes();
    let (server, out, verifications) = verify_shapes(&shapes, provider_reply);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let requests = server.requests();
    for (shape, v) in shapes.iter().zip(&verifications) {
        assert_eq!(v["status"], "live", "{}: {v}", shape.rule);
        if let Some((key, value)) = shape.owner {
            assert_eq!(v["owner"][key], value, "{}: {v}", shape.rule);
        }
        let matching: Vec<&Recorded> = requests
            .iter()
            .filter(|r| r.method == shape.method && r.path() == shape.path)
            .filter(|r| {
                shape
                    .headers
                    .iter()
                    .all(|(name, value)| r.header(name).is_some_and(|h| h.contains(value)))
            })
            .collect();
        assert!(
            !matching.is_empty(),
            "{}: no {} {} with {:?}",
            shape.rule,
            shape.method,
            shape.path,
            shape.headers
        );
    }
    // Basic authentication and bodies, checked exactly.
    let find = |path: &str| requests.iter().find(|r| r.path() == path).unwrap();
    assert_eq!(
        find("/2010-04-01/Accounts/ACdac674cd017a1a8be8eedf5a72951c14.json")
            .header("authorization"),
        Some(
            basic(
                "ACdac674cd017a1a8be8eedf5a72951c14",
                "1d64dee1d4be81c3e14440aec31309aa"
            )
            .as_str()
        )
    );
    assert_eq!(
        find("/v3/domains").header("authorization"),
        Some(basic("api", "c8347c600ba8dd9fd93ace7c694e57f3-24c2c27e-e5f2aa05").as_str())
    );
    let docker: Value = serde_json::from_str(&find("/v2/auth/token").body).unwrap();
    assert_eq!(
        docker,
        serde_json::json!({"identifier": "acmebot", "secret": "dckr_pat_6bq2nXn9yUUbWPZFxzG9t5L2Ox2"})
    );
    assert!(find("/v1beta/models")
        .url
        .contains("key=AIzazau95mFvyvG5nCLagcfS4uzhONvJ0DrCuOu"));
    // One request per distinct credential, nothing else.
    assert_eq!(
        requests.len(),
        shapes.len(),
        "{:#?}",
        requests.iter().map(|r| &r.url).collect::<Vec<_>>()
    );
}

#[test]
fn credentials_without_a_check_say_why() {
    let tree = Tree::new();
    tree.write(
        "a.txt",
        "PYPI_TOKEN=pypi-AgEIcHlwaS5vcmcCJGI4YmNhMjQ0LTk3NTctNDFiNy1iM2U3LTMyNjdmMjA0YTQ1MwACKlszLCJhNjU0ZDZhNi1mZmE0LTRkOTItYjZmYy05YTk3MDNlODI3MjAiXQAABiB0s2XDUlD2XvoLQOHqZhFPEF6w9tS6ucGd3oN9TEsNyw\n",
    )
    .write("b.txt", "TWILIO_AUTH_TOKEN=dac674cd017a1a8be8eedf5a72951c14\n")
    .write("c.txt", "SHOPIFY_ACCESS_TOKEN=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\n");
    let server = FakeServer::start(|request, _| provider_reply(request));
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let pypi = verification(&report, "pypi.api-token");
    assert_eq!(pypi["status"], "not_supported");
    assert!(pypi["reason"].as_str().unwrap().contains("upload"));
    let twilio = verification(&report, "twilio.auth-token");
    assert_eq!(twilio["status"], "skipped");
    assert!(twilio["reason"].as_str().unwrap().contains("account SID"));
    assert_eq!(
        verification(&report, "shopify.access-token")["status"],
        "skipped"
    );
    assert_eq!(server.count(), 0);
}

/// A fake key pair (random, no one's); the key id decodes to an ordinary account.
const AWS_KEY_ID: &str = "AKIA222UC9KG0RG13CKD";
const AWS_SECRET: &str = "KdrwIpQER9ivzmahzCf793LUGivmiCdNuvcyPQju";
/// A fake key id whose account bits name 052310077262, a canary-token account.
const CANARY_KEY_ID: &str = "AKIAAYLPMN5HGWOEDZZL";

#[test]
fn aws_key_pairs_are_checked_once_with_a_valid_sigv4_signature() {
    let tree = Tree::new();
    tree.write(
        "credentials",
        format!(
            "[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"
        ),
    )
    .write(
        "canary",
        format!(
            "[canary]\naws_access_key_id = {CANARY_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"
        ),
    )
    .write("lonely", "AWS_ACCESS_KEY_ID=AKIA0GMYLCPVS5J3Z5MJ\n");
    let server = FakeServer::start(|request, _| {
        // Recompute the signature from what arrived: the signed headers must
        // be the ones sent, and the secret the one found.
        let headers: Vec<(String, String)> = ["content-type", "host", "x-amz-date"]
            .iter()
            .map(|name| {
                (
                    name.to_string(),
                    request.header(name).unwrap_or_default().to_string(),
                )
            })
            .collect();
        let expected = leakstop::verify::aws::authorization(
            &leakstop::verify::aws::Signing {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                body: request.body.as_bytes(),
                region: "us-east-1",
                service: "sts",
                amz_date: request.header("x-amz-date").unwrap_or_default(),
            },
            AWS_KEY_ID,
            AWS_SECRET,
        );
        if request.header("authorization") == Some(expected.as_str()) {
            Reply::json(
                200,
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/deployer</Arn><UserId>AIDACKCEVSQ6C2EXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
            )
        } else {
            Reply::json(
                403,
                "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error></ErrorResponse>",
            )
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let by_path = |path: &str, rule: &str| -> Value {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path && f["rule_id"] == rule)
            .unwrap_or_else(|| panic!("{path} {rule}"))["verification"]
            .clone()
    };
    // Both halves of the pair carry the same answer, from one request.
    for rule in ["aws.access-key-id", "aws.secret-access-key"] {
        let v = by_path("credentials", rule);
        assert_eq!(v["status"], "live", "{rule}: {v}");
        assert_eq!(v["owner"]["arn"], "arn:aws:iam::123456789012:user/deployer");
        assert_eq!(v["owner"]["account"], "123456789012");
    }
    let canary = by_path("canary", "aws.access-key-id");
    assert_eq!(canary["status"], "skipped");
    assert!(
        canary["reason"].as_str().unwrap().contains("052310077262"),
        "{canary}"
    );
    let lonely = by_path("lonely", "aws.access-key-id");
    assert_eq!(lonely["status"], "skipped");
    assert!(lonely["reason"]
        .as_str()
        .unwrap()
        .contains("no AWS secret access key"));
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "only the non-canary pair is sent");
    let sts = &requests[0];
    assert_eq!((sts.method.as_str(), sts.path()), ("POST", "/"));
    assert_eq!(sts.body, "Action=GetCallerIdentity&Version=2011-06-15");
    assert!(sts
        .header("authorization")
        .unwrap()
        .starts_with(&format!("AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/")));
    assert!(!sts.headers.iter().any(|(_, v)| v.contains(AWS_SECRET)));
}

#[test]
fn canaries_are_verified_only_when_asked() {
    let tree = Tree::new();
    tree.write(
        ".env",
        format!("aws_access_key_id = {CANARY_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"),
    )
    .write("cfg.toml", "[verify]\ncanaries = true\n");
    let server = FakeServer::start(|_, _| {
        Reply::json(403, "<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>")
    });
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&["--config", "cfg.toml"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = verification(&report, "aws.access-key-id");
    assert_eq!(v["status"], "invalid");
    assert!(v["reason"]
        .as_str()
        .unwrap()
        .starts_with("InvalidClientTokenId"));
    assert_eq!(server.count(), 1);
}

#[test]
fn gcp_service_account_keys_are_exchanged_at_the_configured_endpoint_only() {
    use ring::signature::KeyPair as _;
    let key_file = include_str!("fixtures/fake-gcp-service-account.json");
    let decoy = FakeServer::start(|_, _| Reply::json(200, r#"{"access_token":"stolen"}"#));
    let tree = Tree::new();
    tree.write(
        "deploy/key.json",
        key_file.replace("TOKEN_URI_PLACEHOLDER", &format!("{}/token", decoy.url)),
    );
    let parsed: Value = serde_json::from_str(key_file).unwrap();
    let der = leakstop::verify::gcp::pkcs8_der(parsed["private_key"].as_str().unwrap()).unwrap();
    let public_key = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec();
    let server = FakeServer::start(move |request, _| {
        let form: Vec<(&str, &str)> = request
            .body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .collect();
        let grant = form
            .iter()
            .find(|(k, _)| *k == "grant_type")
            .map(|(_, v)| *v);
        let assertion = form
            .iter()
            .find(|(k, _)| *k == "assertion")
            .map(|(_, v)| *v)
            .unwrap_or_default();
        let parts: Vec<&str> = assertion.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let valid = grant == Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
            && parts.len() == 3
            && ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                &public_key,
            )
            .verify(
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &b64.decode(parts[2]).unwrap_or_default(),
            )
            .is_ok();
        let claims: Value = b64
            .decode(parts.get(1).copied().unwrap_or_default())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        if valid
            && claims["iss"] == "deployer@acme-prod-381204.iam.gserviceaccount.com"
            && claims["aud"] == "https://oauth2.googleapis.com/token"
        {
            Reply::json(
                200,
                r#"{"access_token":"fake-access-token","expires_in":3599,"token_type":"Bearer"}"#,
            )
        } else {
            Reply::json(
                400,
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
            )
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let v = verification(&report, "google.service-account-key");
    assert_eq!(v["status"], "live", "{v}");
    assert_eq!(
        v["owner"]["client_email"],
        "deployer@acme-prod-381204.iam.gserviceaccount.com"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path()),
        ("POST", "/token")
    );
    assert_eq!(
        decoy.count(),
        0,
        "the key file's token_uri must never be used"
    );
    assert!(!out.stdout.contains("fake-access-token"));
}

/// A fake GitHub that takes `delay` per request and records the most
/// requests it ever had in flight at once.
fn slow_github(delay: Duration) -> (FakeServer, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&most);
    let server = FakeServer::start(move |_, _| {
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(delay);
        in_flight.fetch_sub(1, Ordering::SeqCst);
        Reply::json(200, r#"{"login":"octocat","id":1,"type":"User"}"#)
    });
    (server, seen)
}

#[test]
fn requests_in_flight_stay_within_the_per_provider_limit() {
    use std::sync::atomic::Ordering;
    let tree = Tree::new();
    let text: String = (0..8)
        .map(|n| format!("t{n} = {}\n", github_token(n)))
        .collect();
    tree.write(".env", text)
        .write("wide.toml", "[verify]\nprovider_concurrency = 4\n");
    let cache = tempfile::tempdir().unwrap();
    let (server, most) = slow_github(Duration::from_millis(300));
    let (out, _) = Run::new(&tree, &server, cache.path()).json(&["--no-verify-cache"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(server.count(), 8);
    let default_most = most.load(Ordering::SeqCst);
    assert!(
        default_most <= 2,
        "{default_most} requests in flight to one provider (limit 2)"
    );
    let (server, most) = slow_github(Duration::from_millis(300));
    let (out, _) = Run::new(&tree, &server, cache.path()).json(&[
        "--no-verify-cache",
        "--config",
        "wide.toml",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let configured_most = most.load(Ordering::SeqCst);
    assert!(
        (2..=4).contains(&configured_most),
        "{configured_most} requests in flight (limit 4)"
    );
}

#[test]
fn rules_list_says_how_each_rule_is_verified() {
    let tree = Tree::new();
    let out = tree.leakstop(&["rules", "list", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rules: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let mode = |id: &str| {
        rules
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))["verify"]
            .clone()
    };
    assert_eq!(mode("github.pat-classic"), "request");
    assert_eq!(mode("aws.access-key-id"), "aws-sts");
    assert_eq!(mode("google.service-account-key"), "gcp-service-account");
    assert_eq!(mode("pypi.api-token"), "not_supported");
    assert_eq!(mode("generic.password-assignment"), Value::Null);
}

/// Answers like each provider does for an unknown or revoked credential.
fn provider_rejection(request: &Recorded) -> Reply {
    match request.path() {
        "/api/auth.test" => Reply::json(200, r#"{"ok":false,"error":"invalid_auth"}"#),
        "/client/v4/user/tokens/verify" => Reply::json(
            401,
            r#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}]}"#,
        ),
        "/v1/me" => Reply::json(403, r#"{"status":403,"err":"Invalid token"}"#),
        "/api/v1/validate" | "/api/v1/org" => Reply::json(403, r#"{"errors":["Forbidden"]}"#),
        "/v1/auth/token/lookup-self" => Reply::json(403, r#"{"errors":["permission denied"]}"#),
        "/v1beta/models" => Reply::json(
            400,
            r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#,
        ),
        "/graphql" => Reply::json(
            401,
            r#"{"errors":[{"message":"Authentication required, not authenticated"}]}"#,
        ),
        _ => Reply::json(
            401,
            r#"{"message":"Bad credentials","error":{"type":"authentication_error","message":"invalid credentials"}}"#,
        ),
    }
}

#[test]
fn every_covered_provider_reads_its_documented_rejection() {
    let shapes = shapes();
    let (server, out, verifications) = verify_shapes(&shapes, provider_rejection);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for (shape, v) in shapes.iter().zip(&verifications) {
        assert_eq!(v["status"], "invalid", "{}: {v}", shape.rule);
        assert!(v.get("owner").is_none(), "{}: {v}", shape.rule);
    }
    assert_eq!(server.count(), shapes.len());
}

#[test]
fn enterprise_base_urls_keep_their_path_and_the_environment_wins() {
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    let server = FakeServer::start(|request, _| match request.path() {
        "/api/v3/user" => Reply::json(200, r#"{"login":"ghe-user","id":7,"type":"User"}"#),
        _ => Reply::json(404, r#"{"message":"Not Found"}"#),
    });
    let other = FakeServer::start(|_, _| Reply::json(500, "{}"));
    tree.write(
        "ghe.toml",
        format!("[verify.base_urls]\ngithub = \"{}/api/v3\"\n", other.url),
    );
    let cache = tempfile::tempdir().unwrap();
    // Config alone: the request goes to the configured host and path prefix.
    let config_only = Run::new(&tree, &other, cache.path())
        .env("LEAKSTOP_VERIFY_URL_GITHUB", "")
        .json(&["--config", "ghe.toml", "--no-verify-cache"]);
    assert_eq!(
        config_only.1["findings"][0]["verification"]["status"],
        "error"
    );
    assert!(
        config_only
            .0
            .stderr
            .contains("leakstop: verify: base URL for `github` from the config"),
        "{}",
        config_only.0.stderr
    );
    assert_eq!(other.requests()[0].path(), "/api/v3/user");
    // The environment wins over the config.
    let (out, report) = Run::new(&tree, &other, cache.path())
        .env(
            "LEAKSTOP_VERIFY_URL_GITHUB",
            &format!("{}/api/v3/", server.url),
        )
        .json(&["--config", "ghe.toml", "--no-verify-cache"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let v = verification(&report, "github.pat-classic");
    assert_eq!(v["owner"]["login"], "ghe-user");
    assert_eq!(v["endpoint"], format!("GET {}/api/v3/user", server.url));
    assert_eq!(server.count(), 1);
}

#[test]
fn retries_on_429_are_bounded() {
    let server = FakeServer::start(|_, _| {
        Reply::json(429, r#"{"message":"slow down"}"#).with_header("Retry-After", "0")
    });
    let (out, report) = verify_pat(&server, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = verification(&report, "github.pat-classic");
    assert_eq!(v["status"], "rate_limited");
    assert_eq!(v["reason"], "HTTP 429 after 3 attempts");
    assert_eq!(server.count(), 3);
}

#[test]
fn docs_list_every_verified_rule() {
    let tree = Tree::new();
    let out = tree.leakstop(&["rules", "list", "--json"]);
    let rules: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verification.md"))
            .unwrap();
    let missing: Vec<&str> = rules
        .iter()
        .filter(|r| !r["verify"].is_null())
        .filter_map(|r| r["id"].as_str())
        .filter(|id| !docs.contains(&format!("| `{id}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/verification.md lacks {missing:?}: run scripts/verification_table.py"
    );
}

#[test]
fn a_failed_tls_handshake_is_an_error_not_a_crash() {
    // The fake speaks plain HTTP; asking it for TLS exercises the rustls
    // client set-up and its failure path.
    let server = github_user_api();
    let tls_url = server.url.replace("http://", "https://");
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path())
        .env("LEAKSTOP_VERIFY_URL_GITHUB", &tls_url)
        .json(&["--verify-timeout", "1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // tiny_http never answers a ClientHello: the handshake times out.
    let v = verification(&report, "github.pat-classic");
    assert_eq!(v["status"], "error");
    assert_eq!(v["reason"], "no answer within 1.0s (--verify-timeout)");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn providers_that_tell_revoked_from_unknown_are_recorded_as_revoked() {
    let tree = Tree::new();
    tree.write("gitlab.env", "GITLAB_TOKEN=glpat-3GLziBYV9CCKn8Tk4JO2\n")
        .write(
            "stripe.env",
            "STRIPE_SECRET_KEY=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\n",
        )
        .write(
            "cloudflare.env",
            "CLOUDFLARE_API_TOKEN=cfut_D3miSBMZI16uTadeDegWNXsbisNeYo7Zgp0eu8cVe64da012\n",
        )
        .write(
            "credentials",
            format!("aws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"),
        );
    let server = FakeServer::start(|request, _| {
        match request.path() {
        "/api/v4/personal_access_tokens/self" => Reply::json(
            200,
            r#"{"id":4,"name":"ci","revoked":true,"active":false,"scopes":["api"],"user_id":3}"#,
        ),
        "/v1/account" => Reply::json(
            401,
            r#"{"error":{"message":"Expired API Key provided: sk_live_****udm","type":"invalid_request_error"}}"#,
        ),
        "/client/v4/user/tokens/verify" => Reply::json(
            200,
            r#"{"result":{"id":"tok1","status":"disabled"},"success":true}"#,
        ),
        "/" => Reply::json(
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error></ErrorResponse>",
        ),
        _ => Reply::json(404, "{}"),
    }
    });
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for (rule, reason) in [
        ("gitlab.pat", "GitLab lists the token as revoked"),
        ("stripe.secret-key", "Stripe: expired API key"),
        (
            "cloudflare.user-api-token",
            "Cloudflare: the token is disabled or expired",
        ),
        (
            "aws.access-key-id",
            "ExpiredToken: The security token included in the request is expired",
        ),
    ] {
        let v = verification(&report, rule);
        assert_eq!(v["status"], "revoked", "{rule}: {v}");
        assert_eq!(v["reason"], reason, "{rule}");
    }
}

// ---- Gate integrity (issue 14): repository configs, untrusted answers ----

/// A pull request can change the scanned tree's `.leakstop.toml`: it must
/// not be able to send the secrets found to a host of its choosing, nor
/// make verification retry without end. The user's own config still can.
#[test]
fn a_repository_config_cannot_move_verification_or_raise_its_limits() {
    let attacker = FakeServer::start(|_, _| Reply::json(200, r#"{"login":"thief"}"#));
    let provider = FakeServer::start(|_, _| Reply::json(503, r#"{"message":"unavailable"}"#));
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    tree.write(
        ".leakstop.toml",
        format!(
            "[verify]\nretries = 4294967295\nconcurrency = 100000\n\
             [verify.base_urls]\ngithub = \"{}\"\n",
            attacker.url.replace("127.0.0.1", "localhost")
        ),
    );
    let home = tempfile::tempdir().unwrap();
    let user_config = home.path().join("config.toml");
    std::fs::write(
        &user_config,
        format!("[verify.base_urls]\ngithub = \"{}\"\n", provider.url),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &provider, cache.path())
        .env("LEAKSTOP_VERIFY_URL_GITHUB", "")
        .env("LEAKSTOP_USER_CONFIG", &user_config.display().to_string())
        .json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        attacker.count(),
        0,
        "the token went to the repository's host"
    );
    // The default number of retries, not the repository's.
    assert_eq!(provider.count(), 3, "{}", out.stderr);
    assert_eq!(
        verification(&report, "github.pat-classic")["reason"],
        "HTTP 503 from the provider after 3 attempts"
    );
    assert!(
        out.stderr
            .contains("ignoring [verify.base_urls], retries, concurrency")
            && out.stderr.contains("LEAKSTOP_VERIFY_URL_<NAME>"),
        "{}",
        out.stderr
    );
}

/// An explicit config is trusted, but its limits are clamped.
#[test]
fn explicit_limits_are_clamped() {
    let server = FakeServer::start(|_, _| Reply::json(503, r#"{"message":"unavailable"}"#));
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    tree.write("ci.toml", "[verify]\nretries = 4294967295\n");
    let cache = tempfile::tempdir().unwrap();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&["--config", "ci.toml"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(server.count(), 6, "{}", out.stderr);
    assert_eq!(
        verification(&report, "github.pat-classic")["reason"],
        "HTTP 503 from the provider after 6 attempts"
    );
    assert!(
        out.stderr
            .contains("verify.retries = 4294967295 is above the maximum of 5"),
        "{}",
        out.stderr
    );
}

/// Durations from a server's answer are clamped: none can panic the run.
#[test]
fn absurd_rate_limit_headers_do_not_crash_the_run() {
    for (header, value) in [
        ("Retry-After", "1e30"),
        ("Retry-After", "18446744073709551615"),
        ("Retry-After", "inf"),
        ("x-ratelimit-reset", "18446744073709551615"),
    ] {
        let server = FakeServer::start(move |_, _| {
            Reply::json(429, r#"{"message":"slow down"}"#).with_header(header, value)
        });
        let (out, report) = verify_pat(&server, &[]);
        assert_eq!(out.code, 1, "{header}: {value}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        let v = verification(&report, "github.pat-classic");
        assert_eq!(v["status"], "rate_limited", "{header}: {value}");
        assert_eq!(server.count(), 1, "{header}: {value}");
    }
}

/// The whole verification has a budget; checks it leaves undone say so.
#[test]
fn checks_past_the_deadline_are_skipped() {
    let server = FakeServer::start(|_, _| {
        Reply::json(429, r#"{"message":"slow down"}"#).with_header("Retry-After", "20")
    });
    let tree = Tree::new();
    tree.write(
        ".env",
        format!("A={}\nB={}\n", github_token(1), github_token(2)),
    );
    let cache = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let (out, report) = Run::new(&tree, &server, cache.path()).json(&["--verify-deadline", "1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for finding in report["findings"].as_array().unwrap() {
        let v = &finding["verification"];
        assert_eq!(v["status"], "skipped", "{v}");
        assert!(v["reason"].as_str().unwrap().starts_with("deadline"), "{v}");
    }
    // One attempt each: the 20 s wait would pass the deadline.
    assert!(server.count() <= 2, "{}", server.count());
    assert!(started.elapsed() < Duration::from_secs(20));
    // The environment sets the same budget.
    let (out, report) = Run::new(&tree, &server, cache.path())
        .env("LEAKSTOP_VERIFY_DEADLINE", "1")
        .json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        report["findings"][0]["verification"]["status"], "skipped",
        "{report:#}"
    );
}

/// A server that echoes the token back must not get it into any report
/// or the verification cache.
#[test]
fn echoed_secrets_are_scrubbed_from_every_output_and_the_cache() {
    let server = FakeServer::start(|request, _| {
        let token = request
            .header("authorization")
            .unwrap_or_default()
            .trim_start_matches("Bearer ")
            .to_string();
        Reply::json(200, &format!(r#"{{"login":"{token}","id":1}}"#))
            .with_header("X-OAuth-Scopes", &format!("repo, {token}"))
            .with_header("GitHub-Authentication-Token-Expiration", &token)
    });
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    let cache = tempfile::tempdir().unwrap();
    for format in ["json", "jsonl", "sarif", "csv", "human"] {
        let out = Run::new(&tree, &server, cache.path())
            .output(&["scan", "--verify", "--format", format, "."]);
        assert_eq!(out.code, 2, "{format}: {}", out.stderr);
        assert!(!out.stdout.contains(GITHUB_PAT), "{format}: {}", out.stdout);
        assert!(!out.stderr.contains(GITHUB_PAT), "{format}: {}", out.stderr);
    }
    let cached = std::fs::read_to_string(cache.path().join("verify-v1.json")).unwrap();
    assert!(cached.contains("repo"), "{cached}");
    assert!(!cached.contains(GITHUB_PAT), "{cached}");
}
