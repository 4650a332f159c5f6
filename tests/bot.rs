//! The revocation bot, end to end: the real binary scans a real tree, the
//! bot reads the report and acts against fake providers and a fake GitHub
//! on 127.0.0.1 (tests/common/bot_fakes.rs). Tests assert the exact calls,
//! the incident states, the issues and comments, and the audit log, and
//! that no secret leaves through anything but its provider's own request.

#[path = "common/bot_fakes.rs"]
mod bot_fakes;
mod common;

#[path = "common/bot_setup.rs"]
mod bot_setup;

use bot_fakes::Fault;
use bot_setup::*;
use common::fake::Reply;
use common::{GITHUB_PAT, GITHUB_PAT_2};

fn github_pat_setup() -> Setup {
    Setup::new(
        &[
            ("config/.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n")),
            (
                "scripts/deploy.sh",
                format!("export GH_TOKEN={GITHUB_PAT}\n"),
            ),
        ],
        &[GITHUB_PAT],
    )
}

#[test]
fn a_live_github_token_is_revoked_confirmed_and_its_issue_opened_and_closed() {
    let setup = github_pat_setup();
    let out = setup.run();
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.contains("detected -> closed"), "{}", out.stdout);
    // Verify, one revocation (both locations are one secret), confirm.
    assert_eq!(
        setup.providers.calls(),
        ["GET /user", "POST /credentials/revoke", "GET /user"]
    );
    let revoke = &setup.providers.server.requests()[1];
    assert_eq!(
        revoke.header("authorization"),
        None,
        "the revoke API is unauthenticated"
    );
    assert_eq!(revoke.header("x-github-api-version"), Some("2022-11-28"));
    let body: serde_json::Value = serde_json::from_str(&revoke.body).unwrap();
    assert_eq!(body, serde_json::json!({ "credentials": [GITHUB_PAT] }));
    // One issue, with both locations as links, closed at the end.
    let issues = setup.github.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    let issue = &issues[0];
    assert_eq!(issue.repo, "acme/app");
    assert!(
        issue.title.contains("GitHub") && issue.title.contains("(github) in "),
        "{}",
        issue.title
    );
    assert!(!issue.open, "closed once confirmed dead");
    assert_eq!(issue.labels, ["leaked-secret"]);
    for path in ["config/.env#L1", "scripts/deploy.sh#L1"] {
        assert!(
            issue.body.contains(&format!("/acme/app/blob/HEAD/{path}")),
            "{}",
            issue.body
        );
    }
    assert!(issue.body.contains("<!-- leakstop:fingerprint=lsfp1:"));
    assert!(issue.body.contains("<!-- leakstop:state {"));
    assert!(
        issue.body.contains("| State | **closed** |"),
        "{}",
        issue.body
    );
    assert!(issue
        .body
        .contains("No API creates a personal access token"));
    assert!(issue.body.contains("Audit chain head: `"));
    assert_eq!(
        setup.github.writes(),
        [
            "POST /repos/acme/app/issues",
            "PATCH /repos/acme/app/issues/1"
        ]
    );
    let status = setup.status("bot.sqlite");
    assert!(status.contains("1 incident(s): 1 closed"), "{status}");
    assert!(status.contains("2 location(s)"), "{status}");
    // The audit log: intent and result of each step, chained.
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    let actions: Vec<(String, String)> = audit
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["action"].as_str().unwrap().to_string(),
                v["phase"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = ["verify", "revoke", "confirm", "issue"]
        .iter()
        .flat_map(|a| {
            [
                (a.to_string(), "intent".to_string()),
                (a.to_string(), "result".to_string()),
            ]
        })
        .collect();
    assert_eq!(actions, expected);
    assert!(audit.contains("\"request_id\":\"REQ-GH-1\""), "{audit}");
    let verified = setup.audit_verify();
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(verified.stdout.contains("8 record(s), chain intact"));
}

#[test]
fn rerunning_changes_nothing_and_new_locations_are_added() {
    let setup = github_pat_setup();
    assert_eq!(setup.run().code, 0);
    let calls = setup.providers.calls().len();
    let writes = setup.github.writes().len();
    let second = setup.run();
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        setup.providers.calls().len(),
        calls,
        "no provider call repeated"
    );
    assert_eq!(
        setup.github.writes().len(),
        writes,
        "no issue write repeated"
    );
    assert!(
        second
            .stderr
            .contains("1 incident(s) (0 new, 0 new location(s))"),
        "{}",
        second.stderr
    );
    // The same secret in a new file: a new location of the known incident.
    setup
        .tree
        .write("app/settings.py", format!("TOKEN = \"{GITHUB_PAT}\"\n"));
    setup.scan();
    let third = setup.run();
    assert!(
        third.stderr.contains("(0 new, 1 new location(s))"),
        "{}",
        third.stderr
    );
    assert_eq!(setup.providers.calls().len(), calls);
    assert!(setup.status("bot.sqlite").contains("3 location(s)"));
}

#[test]
fn a_dry_run_prints_the_plan_and_sends_nothing() {
    let setup = github_pat_setup();
    let out = setup.bot_with("run", "bot.sqlite", &[], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let base = &setup.providers.server.url;
    assert!(out.stdout.contains("Plan (dry run"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("1. verify: GET {base}/user")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "2. revoke (now, if live): POST {base}/credentials/revoke"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("3. confirm dead: GET {base}/user")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("4. issue: find or open one in acme/app"),
        "{}",
        out.stdout
    );
    assert_eq!(setup.providers.server.count(), 0);
    assert_eq!(setup.github.server.count(), 0);
    assert!(
        !setup.path("bot.sqlite").exists(),
        "a dry run writes no store"
    );
    assert!(
        !setup.path("audit.jsonl").exists(),
        "a dry run writes no audit log"
    );
}

#[test]
fn a_run_with_an_empty_store_rebuilds_from_the_issue_and_repeats_nothing() {
    let setup = github_pat_setup();
    assert_eq!(setup.run().code, 0);
    let calls = setup.providers.calls().len();
    let writes = setup.github.writes().len();
    // A fresh runner: no store, only GitHub.
    let out = setup.bot_with("run", "fresh.sqlite", &["--execute"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        setup.providers.calls().len(),
        calls,
        "{:?}",
        setup.providers.calls()
    );
    assert_eq!(
        setup.github.writes().len(),
        writes,
        "{:?}",
        setup.github.writes()
    );
    assert_eq!(setup.github.issues().len(), 1);
    let status = setup.status("fresh.sqlite");
    assert!(status.contains("1 closed"), "{status}");
}

#[test]
fn gitlab_slack_npm_and_installation_tokens_revoke_themselves() {
    let setup = Setup::new(
        &[
            ("gitlab.env", format!("GITLAB_TOKEN={GITLAB}\n")),
            ("slack.env", format!("SLACK_BOT_TOKEN={SLACK}\n")),
            (
                ".npmrc",
                format!("//registry.npmjs.org/:_authToken={NPM}\n"),
            ),
            ("ci.log", format!("Authorization: token {GHS}\n")),
        ],
        &[GITLAB, SLACK, NPM, GHS],
    );
    let out = setup.run();
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    let requests = setup.providers.server.requests();
    let find = |method: &str, prefix: &str| {
        requests
            .iter()
            .find(|r| r.method == method && r.path().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {method} {prefix} in {:?}", setup.providers.calls()))
    };
    assert_eq!(
        find("DELETE", "/api/v4/personal_access_tokens/self").header("private-token"),
        Some(GITLAB)
    );
    assert_eq!(
        find("POST", "/api/auth.revoke").header("authorization"),
        Some(format!("Bearer {SLACK}").as_str())
    );
    assert_eq!(
        find("DELETE", "/-/npm/v1/tokens/token/").path(),
        format!("/-/npm/v1/tokens/token/{NPM}")
    );
    assert_eq!(
        find("DELETE", "/installation/token").header("authorization"),
        Some(format!("Bearer {GHS}").as_str())
    );
    // Each secret went only to its own provider's endpoints.
    for request in &requests {
        let carried: Vec<&str> = [GITLAB, SLACK, NPM, GHS]
            .into_iter()
            .filter(|s| {
                format!("{} {:?} {}", request.url, request.headers, request.body).contains(s)
            })
            .collect();
        assert!(
            carried.len() <= 1,
            "{} {} carried {carried:?}",
            request.method,
            request.url
        );
    }
    let status = setup.status("bot.sqlite");
    assert!(status.contains("4 incident(s): 4 closed"), "{status}");
    assert_eq!(setup.github.issues().len(), 4);
    assert!(setup.github.issues().iter().all(|i| !i.open));
    // Provider calls per incident: verify, revoke, confirm.
    assert_eq!(requests.len(), 12, "{:?}", setup.providers.calls());
}

#[test]
fn a_verify_only_provider_needs_a_human_with_the_manual_steps() {
    let setup = Setup::new(
        &[("pay.env", format!("STRIPE_SECRET_KEY={STRIPE}\n"))],
        &[STRIPE],
    );
    let out = setup.run();
    assert_eq!(out.code, 2, "a live key is left: {}", out.stderr);
    assert_eq!(setup.providers.calls(), ["GET /v1/account"]);
    let issue = &setup.github.issues()[0];
    assert!(issue.open);
    assert!(
        issue.body.contains("| State | **needs_human** |"),
        "{}",
        issue.body
    );
    assert!(
        issue.body.contains("Roll key")
            && issue.body.contains("https://dashboard.stripe.com/apikeys"),
        "{}",
        issue.body
    );
    assert!(setup.status("bot.sqlite").contains("needs_human"));
}

#[test]
fn findings_without_secrets_are_reported_for_a_human() {
    let setup = github_pat_setup();
    let out = setup.tree.leakstop(&["scan", "--format", "json", "."]);
    std::fs::write(setup.path("findings.jsonl"), &out.stdout).unwrap();
    let run = setup.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(setup.providers.server.count(), 0);
    let issue = &setup.github.issues()[0];
    assert!(issue.body.contains("--show-secrets"), "{}", issue.body);
}

#[test]
fn rate_limits_are_waited_out_and_a_lost_issue_answer_opens_no_duplicate() {
    let setup = github_pat_setup();
    setup.providers.fault(Fault::new(
        "POST /credentials/revoke",
        Reply::json(429, r#"{"message":"slow down"}"#).with_header("retry-after", "1"),
        1,
    ));
    setup.github.fault(Fault::new(
        "POST /repos/acme/app/issues",
        Reply::json(
            403,
            r#"{"message":"You have exceeded a secondary rate limit"}"#,
        )
        .with_header("retry-after", "1"),
        1,
    ));
    let out = setup.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let revokes: Vec<_> = setup
        .providers
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/credentials/revoke")
        .collect();
    assert_eq!(revokes.len(), 2);
    assert!(
        revokes[1].at.duration_since(revokes[0].at).as_millis() >= 900,
        "Retry-After honoured"
    );
    assert_eq!(setup.github.issues().len(), 1);

    // An issue created whose answer is lost (500): not retried blindly; the
    // next run finds it by its marker.
    let setup = github_pat_setup();
    setup
        .github
        .fault(Fault::new("POST /repos/acme/app/issues", Reply::json(500, "{}"), 1).landed());
    let first = setup.run();
    assert_eq!(
        first.code, 3,
        "an error leaves the run incomplete: {}",
        first.stderr
    );
    assert_eq!(setup.github.issues().len(), 1);
    let second = setup.run();
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(setup.github.issues().len(), 1, "no duplicate issue");
    assert_eq!(setup.providers.count("POST /credentials/revoke"), 1);
}

#[test]
fn issues_disabled_fall_back_to_the_central_repository() {
    let setup = github_pat_setup();
    setup
        .github
        .state
        .lock()
        .unwrap()
        .gone
        .insert("acme/app".into());
    setup.tree.write(
        "leakstop-bot.toml",
        "[defaults]\ncentral_repo = \"acme/security\"\n",
    );
    let out = setup.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let issues = setup.github.issues();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].repo, "acme/security");
}

#[test]
fn a_hanging_provider_times_out_and_the_next_run_finishes() {
    let setup = github_pat_setup();
    setup
        .providers
        .fault(Fault::new("GET /user", Reply::hang(), 1));
    let started = std::time::Instant::now();
    let out = setup.run();
    assert!(started.elapsed().as_secs() < 20);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("no answer within"), "{}", out.stderr);
    assert_eq!(setup.providers.count("POST /credentials/revoke"), 0);
    let again = setup.run();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(setup.status("bot.sqlite").contains("1 closed"));
}

#[test]
fn policy_notify_waits_for_a_human_and_bot_revoke_acts_now() {
    let setup = github_pat_setup();
    setup.tree.write(
        "leakstop-bot.toml",
        "[[match]]\nprovider = \"github\"\naction = \"notify\"\n",
    );
    let out = setup.run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(setup.providers.calls(), ["GET /user"]);
    assert!(setup.status("bot.sqlite").contains("needs_human"));
    let issue = &setup.github.issues()[0];
    assert!(issue.open && issue.body.contains("notify only"));
    // The emergency revoke, dry run first, then for real.
    let plan = setup.bot_with("revoke", "bot.sqlite", &["--incident", "1"], &[]);
    assert!(plan.stdout.contains("POST "), "{}", plan.stdout);
    assert_eq!(setup.providers.count("POST /credentials/revoke"), 0);
    let revoke = setup.bot_with(
        "revoke",
        "bot.sqlite",
        &["--provider", "github", "--all-live", "--execute"],
        &[],
    );
    assert_eq!(revoke.code, 0, "{}", revoke.stderr);
    assert_eq!(setup.providers.count("POST /credentials/revoke"), 1);
    assert!(setup.status("bot.sqlite").contains("closed"));
    let issue = &setup.github.issues()[0];
    assert!(!issue.open);
    assert_eq!(issue.comments.len(), 1, "{:?}", issue.comments);
    assert!(
        issue.comments[0].contains("needs_human → **closed**"),
        "{}",
        issue.comments[0]
    );
    assert!(issue.comments[0].contains("Audit chain head: `"));
}

#[test]
fn the_overlap_window_delays_revocation_unless_the_repository_is_public() {
    let setup = github_pat_setup();
    setup.tree.write(
        "leakstop-bot.toml",
        "[defaults]\naction = \"rotate-then-revoke\"\noverlap_high = \"24h\"\n",
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = setup.bot_with(
        "run",
        "bot.sqlite",
        &["--execute"],
        &[("LEAKSTOP_BOT_NOW", &now.to_string())],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(setup.providers.count("POST /credentials/revoke"), 0);
    let issue = &setup.github.issues()[0];
    assert!(
        issue.body.contains("Old key revoked not before"),
        "{}",
        issue.body
    );
    let later = (now + 25 * 3600).to_string();
    let out = setup.bot_with(
        "run",
        "bot.sqlite",
        &["--execute"],
        &[("LEAKSTOP_BOT_NOW", &later)],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(setup.providers.count("POST /credentials/revoke"), 1);

    let public = github_pat_setup();
    public.tree.write(
        "leakstop-bot.toml",
        "[defaults]\naction = \"rotate-then-revoke\"\n",
    );
    let out = public.bot_with("run", "bot.sqlite", &["--execute", "--public"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(public.providers.count("POST /credentials/revoke"), 1);
}

#[test]
fn policy_errors_name_the_key_and_line() {
    let setup = github_pat_setup();
    setup.tree.write(
        "leakstop-bot.toml",
        "[defaults]\naction = \"revoke\"\nlabels = [\"x\"]\ncentral = \"acme/sec\"\n",
    );
    let out = setup.run();
    assert_eq!(out.code, 4);
    assert!(
        out.stderr.contains("line 4") && out.stderr.contains("central"),
        "{}",
        out.stderr
    );
    assert_eq!(setup.providers.server.count(), 0);
}

#[test]
fn two_bots_never_act_on_one_incident_at_once() {
    let setup = github_pat_setup();
    setup.scan();
    std::thread::scope(|scope| {
        let first = scope.spawn(|| {
            setup.bot_with(
                "run",
                "bot.sqlite",
                &["--execute"],
                &[("LEAKSTOP_BOT_FAILPOINT", "pause:verify")],
            )
        });
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let second = setup.run();
        assert!(
            second.stderr.contains("another bot is working on it"),
            "{}",
            second.stderr
        );
        let first = first.join().unwrap();
        assert_eq!(first.code, 0, "{}", first.stderr);
    });
    assert_eq!(setup.providers.count("POST /credentials/revoke"), 1);
    assert_eq!(setup.github.issues().len(), 1);
}

#[test]
fn github_tokens_are_revoked_in_one_batch() {
    let setup = Setup::new(
        &[
            ("a.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n")),
            ("b.env", format!("GH_TOKEN={GITHUB_PAT_2}\n")),
        ],
        &[GITHUB_PAT, GITHUB_PAT_2],
    );
    let out = setup.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(setup.providers.count("POST /credentials/revoke"), 1);
    let revoke = setup
        .providers
        .server
        .requests()
        .into_iter()
        .find(|r| r.path() == "/credentials/revoke")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&revoke.body).unwrap();
    let mut sent: Vec<&str> = body["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    sent.sort();
    let mut expected = vec![GITHUB_PAT, GITHUB_PAT_2];
    expected.sort();
    assert_eq!(sent, expected);
    assert!(setup
        .status("bot.sqlite")
        .contains("2 incident(s): 2 closed"));
    assert_eq!(setup.github.issues().len(), 2);
}

#[test]
fn a_revocation_that_takes_a_moment_to_spread_is_confirmed_by_checking_again() {
    let setup = github_pat_setup();
    setup.providers.state.lock().unwrap().stale_checks = 1;
    let out = setup.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        setup.providers.calls(),
        [
            "GET /user",
            "POST /credentials/revoke",
            "GET /user",
            "GET /user"
        ]
    );
    assert!(setup.status("bot.sqlite").contains("1 closed"));
}

#[test]
fn the_drill_revokes_every_planted_key_and_reports_the_times() {
    let tree = common::Tree::new();
    let out = tree.leakstop(&["bot", "drill"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for rule in [
        "github.pat-classic",
        "github.app-installation",
        "gitlab.pat",
        "slack.bot-token",
        "npm.access-token",
        "aws.access-key-id",
        "sendgrid.api-key",
        "discord.webhook",
        "openai.project-key",
        "anthropic.api-key",
        "datadog.api-key",
        "google.api-key",
        "google.service-account-key",
        "twilio.api-key-secret",
    ] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(rule))
            .unwrap_or_else(|| panic!("{rule}: {}", out.stdout));
        assert!(
            line.contains("closed, dead") && line.contains("opened and closed"),
            "{line}"
        );
    }
    assert!(
        out.stdout
            .contains("median time from detection to confirmed revocation:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("3.7 provider calls per incident"),
        "{}",
        out.stdout
    );
}

const AWS_KEY_ID: &str = "AKIA222UC9KG0RG13CKD";
const AWS_SECRET: &str = "KdrwIpQER9ivzmahzCf793LUGivmiCdNuvcyPQju";
const ADMIN_KEY_ID: &str = "AKIAADMIN00000000001";
const ADMIN_SECRET: &str = "admin/secret/value/that/signs/iam/calls0";

fn aws_setup() -> Setup {
    let mut setup = Setup::new(
        &[(
            ".aws/credentials",
            format!("[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"),
        )],
        &[AWS_KEY_ID],
    );
    setup.secrets.push(AWS_SECRET);
    setup.secrets.push(ADMIN_SECRET);
    setup
        .providers
        .state
        .lock()
        .unwrap()
        .admin_keys
        .insert(ADMIN_KEY_ID.into());
    setup.tree.write(
        "leakstop-bot.toml",
        "[credentials.aws]\naccess_key_id = \"BOT_AWS_KEY_ID\"\nsecret_access_key = \"BOT_AWS_SECRET\"\n",
    );
    setup
}

#[test]
fn an_aws_key_is_deactivated_with_the_admin_credentials_the_policy_names() {
    let setup = aws_setup();
    let env = [
        ("BOT_AWS_KEY_ID", ADMIN_KEY_ID),
        ("BOT_AWS_SECRET", ADMIN_SECRET),
    ];
    let out = setup.bot_with("run", "bot.sqlite", &["--execute"], &env);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let requests = setup.providers.server.requests();
    assert_eq!(
        setup.aws_calls(),
        [
            format!("GetCallerIdentity ({AWS_KEY_ID})"),
            format!("GetAccessKeyLastUsed ({ADMIN_KEY_ID})"),
            format!("UpdateAccessKey ({ADMIN_KEY_ID})"),
            format!("GetCallerIdentity ({AWS_KEY_ID})"),
        ]
    );
    assert_eq!(
        requests[2].body,
        format!("Action=UpdateAccessKey&AccessKeyId={AWS_KEY_ID}&Status=Inactive&UserName=alice&Version=2010-05-08")
    );
    assert!(
        setup
            .status("bot.sqlite")
            .contains("1 incident(s): 1 confirmed_dead"),
        "one incident for the pair, open until the deactivated key is deleted (tests/bot_grace.rs)"
    );
    let issue = &setup.github.issues()[0];
    assert!(issue.open);
    assert!(
        issue
            .body
            .contains("arn=arn:aws:iam::123456789012:user/alice"),
        "{}",
        issue.body
    );
    assert!(issue.body.contains("delete-access-key"), "{}", issue.body);
    assert!(
        issue
            .body
            .contains("last_used=2026-12-01T10:00:00Z (s3, eu-west-1)"),
        "GetAccessKeyLastUsed is shown: {}",
        issue.body
    );
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    assert!(audit.contains("\"request_id\":\"req-iam-1\""), "{audit}");
}

#[test]
fn an_aws_key_without_admin_credentials_needs_a_human() {
    let setup = aws_setup();
    let out = setup.run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(setup.providers.count("POST /"), 1, "only the verification");
    let issue = &setup.github.issues()[0];
    assert!(
        issue.body.contains("no AWS admin credentials"),
        "{}",
        issue.body
    );
}

#[test]
fn a_gitlab_token_is_rotated_once_the_replacement_tested_and_stored_in_vault() {
    let setup = Setup::new(
        &[("gitlab.env", format!("GITLAB_TOKEN={GITLAB}\n"))],
        &[GITLAB],
    );
    setup.providers.state.lock().unwrap().vault_token = "vault-test-token".into();
    setup.tree.write(
        "leakstop-bot.toml",
        format!(
            "[defaults]\naction = \"rotate-then-revoke\"\n\n[store]\nkind = \"vault\"\naddress = \"{}\"\ntoken_env = \"BOT_VAULT_TOKEN\"\n",
            setup.providers.server.url
        ),
    );
    let out = setup.bot_with(
        "run",
        "bot.sqlite",
        &["--execute"],
        &[("BOT_VAULT_TOKEN", "vault-test-token")],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let new = setup.providers.state.lock().unwrap().minted.clone();
    assert_eq!(new.len(), 1, "rotated exactly once");
    let calls = setup.providers.calls();
    assert_eq!(
        calls[..3],
        [
            "GET /api/v4/personal_access_tokens/self",
            "POST /api/v4/personal_access_tokens/self/rotate",
            "GET /api/v4/personal_access_tokens/self",
        ],
        "{calls:?}"
    );
    assert_eq!(
        setup
            .providers
            .count("POST /api/v4/personal_access_tokens/self/rotate"),
        1
    );
    let vault = setup.providers.state.lock().unwrap().vault.clone();
    assert_eq!(vault.len(), 1);
    assert!(
        vault[0]
            .0
            .starts_with("/v1/secret/data/leakstop/gitlab/lsfp1"),
        "{}",
        vault[0].0
    );
    assert!(vault[0].1.contains(&new[0]) && vault[0].1.contains("\"cas\":0"));
    // The replacement went to Vault and nowhere else.
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    for text in [&out.stdout, &out.stderr, &audit] {
        assert!(!text.contains(&new[0]));
    }
    for issue in setup.github.issues() {
        assert!(!issue.body.contains(&new[0]));
    }
    assert!(setup.status("bot.sqlite").contains("1 closed"));
}
