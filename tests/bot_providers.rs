//! The bot against the admin-API and id-cut providers, end to end: the real
//! binary scans a tree, verifies the key at a fake provider on 127.0.0.1
//! (src/bot/drill/fake_admin.rs, the contracts of PROVIDERS.md), revokes it
//! with exactly the documented calls, confirms it dead, and opens and closes
//! its issue; no secret (leaked or admin) appears anywhere but the
//! provider's own requests.

#[path = "common/bot_fakes.rs"]
mod bot_fakes;
mod common;

#[path = "common/bot_setup.rs"]
mod bot_setup;

use bot_fakes::Fault;
use bot_setup::*;
use common::fake::Reply;
use leakstop::bot::drill::fake_admin::key_id;

const SENDGRID: &str = "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";
const WEBHOOK: &str = "https://discord.com/api/webhooks/9403269910237409546/eefnLOpaMxxNDi9LE1Ki3ylOjt6o0NpUmkVO8JmR8y4EMfAdggcG9qpVTzqA05MFsHl7";
const OPENAI: &str = "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";
const OPENAI_OTHER: &str = "sk-proj-GcHhBIjKeTPfvOT52TCWT3BlbkFJIFBGeSGNDbJRIMZtYQHq";
const ANTHROPIC: &str = "sk-ant-api03-gfTOOib_3A7I4y4QsZ8Fujo2dwrbnMpfsOfEnG2AreVhIpmhk5abr-zasJBDlXxbpFoxe3gPooRAe2FT3UXiEY2hNhLyDAA";
const DATADOG: &str = "e8b78c4ff9f71b109dc31de998a1aeb9";
const GOOGLE: &str = "AIzazau95mFvyvG5nCLagcfS4uzhONvJ0DrCuOu";
const ADMIN: &str = "admin-credential-never-shown-0001";
const ADMIN_APP: &str = "admin-application-key-never-shown-2";

/// A tree with `line` in `file`, `live` known to the fake, the admin
/// credentials accepted by it and named in the policy.
fn setup(file: &str, line: String, live: &[&'static str], policy: &str) -> Setup {
    let mut setup = Setup::new(&[(file, line)], live);
    setup.secrets.extend([ADMIN, ADMIN_APP]);
    {
        let mut state = setup.providers.state.lock().unwrap();
        state.admin_tokens.insert(ADMIN.into());
        state.admin_tokens.insert(ADMIN_APP.into());
    }
    setup.tree.write("leakstop-bot.toml", policy);
    setup
}

fn run(setup: &Setup) -> common::Output {
    setup.bot_with(
        "run",
        "bot.sqlite",
        &["--execute"],
        &[("BOT_ADMIN", ADMIN), ("BOT_ADMIN_APP", ADMIN_APP)],
    )
}

fn assert_closed(setup: &Setup, out: &common::Output) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        setup
            .status("bot.sqlite")
            .contains("1 incident(s): 1 closed"),
        "{}",
        out.stdout
    );
    let issues = setup.github.issues();
    assert_eq!(issues.len(), 1);
    assert!(!issues[0].open, "the issue is closed with the incident");
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    for step in ["verify", "revoke", "confirm", "issue"] {
        assert!(
            audit.contains(&format!("\"action\":\"{step}\",\"phase\":\"result\"")),
            "{step}: {audit}"
        );
    }
    assert_eq!(setup.audit_verify().code, 0);
}

#[test]
fn a_sendgrid_key_deletes_itself_by_the_id_inside_it() {
    let setup = setup(
        "mail.env",
        format!("SENDGRID_API_KEY={SENDGRID}\n"),
        &[SENDGRID],
        "",
    );
    let out = run(&setup);
    assert_closed(&setup, &out);
    assert_eq!(
        setup.providers.calls(),
        [
            "GET /v3/scopes",
            "DELETE /v3/api_keys/_wDXjZTFmbtkgYJ99osvXe",
            "GET /v3/scopes"
        ]
    );
    let delete = &setup.providers.server.requests()[1];
    assert_eq!(
        delete.header("authorization"),
        Some(format!("Bearer {SENDGRID}").as_str())
    );
}

#[test]
fn a_sendgrid_key_without_the_api_keys_scope_needs_a_human() {
    let setup = setup(
        "mail.env",
        format!("SENDGRID_API_KEY={SENDGRID}\n"),
        &[SENDGRID],
        "",
    );
    setup
        .providers
        .state
        .lock()
        .unwrap()
        .forbidden
        .insert(SENDGRID.into());
    let out = run(&setup);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        setup
            .providers
            .count("DELETE /v3/api_keys/_wDXjZTFmbtkgYJ99osvXe"),
        1
    );
    let issue = &setup.github.issues()[0];
    assert!(issue.open);
    assert!(
        issue.body.contains("lacks the api_keys scope"),
        "{}",
        issue.body
    );
    assert!(issue
        .body
        .contains("https://app.sendgrid.com/settings/api_keys"));
}

#[test]
fn a_discord_webhook_is_deleted_with_its_own_token_and_a_gone_one_is_not_retried() {
    let setup = setup(
        "notify.env",
        format!("DISCORD_WEBHOOK_URL={WEBHOOK}\n"),
        &[WEBHOOK],
        "",
    );
    let path = "/api/v10/webhooks/9403269910237409546/eefnLOpaMxxNDi9LE1Ki3ylOjt6o0NpUmkVO8JmR8y4EMfAdggcG9qpVTzqA05MFsHl7";
    // The delete's answer is lost once after the webhook was deleted (502).
    setup
        .providers
        .fault(Fault::new(&format!("DELETE {path}"), Reply::json(502, "{}"), 1).landed());
    let out = run(&setup);
    assert_closed(&setup, &out);
    assert_eq!(
        setup.providers.calls(),
        [
            format!("GET {path}"),
            format!("DELETE {path}"),
            format!("DELETE {path}"),
            format!("GET {path}"),
        ],
        "the retried delete finds the webhook gone (404) and counts it as revoked"
    );
    assert!(setup.providers.server.requests()[1]
        .header("authorization")
        .is_none());
}

fn openai_setup(policy: &str) -> Setup {
    setup(
        "ai.env",
        format!("OPENAI_API_KEY={OPENAI}\n"),
        &[OPENAI, OPENAI_OTHER],
        policy,
    )
}

const OPENAI_POLICY: &str = "[credentials.openai]\nadmin_key = \"BOT_ADMIN\"\n";

#[test]
fn an_openai_project_key_is_found_by_its_redacted_value_and_deleted_with_the_admin_key() {
    let setup = openai_setup(OPENAI_POLICY);
    setup.providers.fault(Fault::new(
        "DELETE /v1/organization/projects/",
        Reply::json(429, r#"{"error":{"message":"Rate limit reached"}}"#)
            .with_header("retry-after", "1"),
        1,
    ));
    let out = run(&setup);
    assert_closed(&setup, &out);
    let delete = format!(
        "DELETE /v1/organization/projects/proj_main/api_keys/key_{}",
        key_id(OPENAI)
    );
    assert_eq!(
        setup.providers.calls(),
        [
            "GET /v1/models".to_string(),
            "GET /v1/organization/projects".into(),
            "GET /v1/organization/projects/proj_empty/api_keys".into(),
            "GET /v1/organization/projects/proj_main/api_keys".into(),
            delete.clone(),
            delete,
            "GET /v1/models".into(),
        ],
        "429 with Retry-After is waited out and retried once"
    );
    let requests = setup.providers.server.requests();
    for request in &requests[1..6] {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {ADMIN}").as_str()),
            "admin calls carry the admin key, never the leaked one"
        );
    }
    let state = setup.providers.state.lock().unwrap();
    assert!(
        !state.revoked.contains(OPENAI_OTHER),
        "only the leaked key is deleted"
    );
}

#[test]
fn an_openai_key_without_admin_credentials_needs_a_human_naming_the_policy_key() {
    let setup = openai_setup("");
    let out = run(&setup);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(setup.providers.calls(), ["GET /v1/models"]);
    let issue = &setup.github.issues()[0];
    assert!(
        issue.body.contains("[credentials.openai] admin_key"),
        "{}",
        issue.body
    );
}

#[test]
fn an_anthropic_key_is_found_by_its_hint_and_set_inactive() {
    let setup = setup(
        "ai.env",
        format!("ANTHROPIC_API_KEY={ANTHROPIC}\n"),
        &[ANTHROPIC],
        "[credentials.anthropic]\nadmin_key = \"BOT_ADMIN\"\n",
    );
    let out = run(&setup);
    assert_closed(&setup, &out);
    let update = format!(
        "POST /v1/organizations/api_keys/apikey_{}",
        key_id(ANTHROPIC)
    );
    assert_eq!(
        setup.providers.calls(),
        [
            "GET /v1/models".to_string(),
            "GET /v1/organizations/api_keys".into(),
            update,
            "GET /v1/models".into(),
        ]
    );
    let requests = setup.providers.server.requests();
    assert_eq!(requests[2].header("x-api-key"), Some(ADMIN));
    assert_eq!(requests[2].header("anthropic-version"), Some("2023-06-01"));
    let body: serde_json::Value = serde_json::from_str(&requests[2].body).unwrap();
    assert_eq!(body, serde_json::json!({"status": "inactive"}));
}

#[test]
fn a_datadog_key_names_its_id_and_is_deleted_with_the_admin_api_and_application_keys() {
    let setup = setup(
        "dd.env",
        format!("DD_API_KEY={DATADOG}\n"),
        &[DATADOG],
        "[credentials.datadog]\napi_key = \"BOT_ADMIN\"\napplication_key = \"BOT_ADMIN_APP\"\n",
    );
    let out = run(&setup);
    assert_closed(&setup, &out);
    assert_eq!(
        setup.providers.calls(),
        [
            "GET /api/v1/validate".to_string(),
            "GET /api/v2/validate".into(),
            format!("DELETE /api/v2/api_keys/{}", key_id(DATADOG)),
            "GET /api/v1/validate".into(),
        ]
    );
    let delete = &setup.providers.server.requests()[2];
    assert_eq!(delete.header("dd-api-key"), Some(ADMIN));
    assert_eq!(delete.header("dd-application-key"), Some(ADMIN_APP));
}

#[test]
fn a_google_api_key_is_looked_up_and_deleted_with_the_admin_token() {
    let setup = setup(
        "maps.env",
        format!("GOOGLE_API_KEY={GOOGLE}\n"),
        &[GOOGLE],
        "[credentials.google]\naccess_token = \"BOT_ADMIN\"\n",
    );
    let out = run(&setup);
    assert_closed(&setup, &out);
    assert_eq!(
        setup.providers.calls(),
        [
            "GET /v1beta/models".to_string(),
            "GET /v2/keys:lookupKey".into(),
            format!(
                "DELETE /v2/projects/123456789/locations/global/keys/{}",
                key_id(GOOGLE)
            ),
            "GET /v1beta/models".into(),
        ]
    );
    let delete = &setup.providers.server.requests()[2];
    assert_eq!(
        delete.header("authorization"),
        Some(format!("Bearer {ADMIN}").as_str())
    );
}

#[test]
fn docker_hub_tokens_need_a_human_with_the_exact_steps_and_link() {
    let token = "dckr_pat_6bq2nXn9yUUbWPZFxzG9t5L2Ox2";
    let setup = setup(
        "ci.sh",
        format!("echo {token} | docker login -u acmebot --password-stdin\n"),
        &[],
        "",
    );
    run(&setup);
    assert!(setup.status("bot.sqlite").contains("1 needs_human"));
    let issue = &setup.github.issues()[0];
    assert!(issue.open);
    assert!(
        issue.body.contains("Personal access tokens"),
        "{}",
        issue.body
    );
    assert!(issue
        .body
        .contains("https://app.docker.com/settings/personal-access-tokens"));
    assert!(
        setup
            .providers
            .calls()
            .iter()
            .all(|c| !c.starts_with("DELETE")),
        "no revocation is attempted"
    );
}

const AWS_KEY_ID: &str = "AKIA222UC9KG0RG13CKD";
const AWS_SECRET: &str = "KdrwIpQER9ivzmahzCf793LUGivmiCdNuvcyPQju";
const AWS_ADMIN_ID: &str = "AKIAADMIN00000000001";
const AWS_ADMIN_SECRET: &str = "admin/secret/value/that/signs/iam/calls0";

/// A leaked AWS pair, rotate-then-revoke, Vault on the fake.
fn aws_rotation_setup() -> Setup {
    let mut setup = Setup::new(
        &[(
            ".aws/credentials",
            format!("[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"),
        )],
        &[AWS_KEY_ID],
    );
    setup.secrets.extend([AWS_SECRET, AWS_ADMIN_SECRET]);
    {
        let mut state = setup.providers.state.lock().unwrap();
        state.admin_keys.insert(AWS_ADMIN_ID.into());
        state.vault_token = "vault-test-token".into();
    }
    setup.tree.write(
        "leakstop-bot.toml",
        format!(
            "[defaults]\naction = \"rotate-then-revoke\"\n\n[store]\nkind = \"vault\"\naddress = \"{}\"\ntoken_env = \"BOT_VAULT_TOKEN\"\n\n\
             [credentials.aws]\naccess_key_id = \"BOT_AWS_KEY_ID\"\nsecret_access_key = \"BOT_AWS_SECRET\"\n",
            setup.providers.server.url
        ),
    );
    setup
}

fn aws_run(setup: &Setup, extra: &[(&str, &str)]) -> common::Output {
    let mut env = vec![
        ("BOT_AWS_KEY_ID", AWS_ADMIN_ID),
        ("BOT_AWS_SECRET", AWS_ADMIN_SECRET),
        ("BOT_VAULT_TOKEN", "vault-test-token"),
    ];
    env.extend_from_slice(extra);
    setup.bot_with("run", "bot.sqlite", &["--execute"], &env)
}

#[test]
fn an_aws_key_is_rotated_the_new_pair_tested_and_stored_then_deactivated_after_the_overlap() {
    let setup = aws_rotation_setup();
    let out = aws_run(&setup, &[]);
    assert_eq!(
        out.code, 2,
        "waits for the overlap window\n{}\n{}",
        out.stdout, out.stderr
    );
    let new = "AKIAROTATED000000001";
    let calls = setup.aws_calls();
    assert_eq!(
        calls[..6],
        [
            format!("GetCallerIdentity ({AWS_KEY_ID})"),
            format!("GetAccessKeyLastUsed ({AWS_ADMIN_ID})"),
            format!("ListAccessKeys ({AWS_ADMIN_ID})"),
            format!("CreateAccessKey ({AWS_ADMIN_ID})"),
            format!("GetCallerIdentity ({new})"),
            calls[5].clone(),
        ],
        "{calls:?}"
    );
    assert!(
        calls[5].starts_with("POST /v1/secret/data/leakstop/aws/lsfp1"),
        "{calls:?}"
    );
    assert_eq!(
        calls.len(),
        6,
        "the old key is not touched before the overlap: {calls:?}"
    );
    let vault = setup.providers.state.lock().unwrap().vault.clone();
    assert_eq!(vault.len(), 1);
    let stored: serde_json::Value = serde_json::from_str(&vault[0].1).unwrap();
    let pair: serde_json::Value =
        serde_json::from_str(stored["data"]["value"].as_str().unwrap()).unwrap();
    assert_eq!(pair["access_key_id"], new);
    let new_secret = pair["secret_access_key"].as_str().unwrap().to_string();
    assert!(setup.status("bot.sqlite").contains("replacement_stored"));
    // After the overlap window the old key is deactivated and confirmed dead.
    let later = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3 * 86_400)
        .to_string();
    let out = aws_run(&setup, &[("LEAKSTOP_BOT_NOW", &later)]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let calls = setup.aws_calls();
    assert_eq!(
        calls[6..],
        [
            format!("UpdateAccessKey ({AWS_ADMIN_ID})"),
            format!("GetCallerIdentity ({AWS_KEY_ID})"),
        ]
    );
    assert_eq!(
        setup.providers.count("POST /"),
        7,
        "one CreateAccessKey in all"
    );
    assert!(setup.status("bot.sqlite").contains("1 confirmed_dead"));
    // After the grace period (a week by default) the deactivated key is deleted.
    let after_grace = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 11 * 86_400)
        .to_string();
    let out = aws_run(&setup, &[("LEAKSTOP_BOT_NOW", &after_grace)]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        setup.aws_calls()[8..],
        [
            format!("DeleteAccessKey ({AWS_ADMIN_ID})"),
            format!("GetCallerIdentity ({AWS_KEY_ID})"),
        ]
    );
    assert!(setup.status("bot.sqlite").contains("1 closed"));
    // The replacement went to Vault and nowhere else.
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    assert!(!audit.contains(&new_secret));
    for issue in setup.github.issues() {
        assert!(!issue.body.contains(&new_secret));
        assert!(issue.comments.iter().all(|c| !c.contains(&new_secret)));
    }
}

#[test]
fn an_aws_user_with_two_keys_needs_a_human_and_no_key_is_created() {
    let setup = aws_rotation_setup();
    setup
        .providers
        .state
        .lock()
        .unwrap()
        .live
        .insert("AKIAOTHERKEY00000002".into());
    let out = aws_run(&setup, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let calls = setup.aws_calls();
    assert!(
        calls.iter().all(|c| !c.starts_with("CreateAccessKey")),
        "{calls:?}"
    );
    let issue = &setup.github.issues()[0];
    assert!(
        issue.body.contains("already has two access keys"),
        "{}",
        issue.body
    );
}

#[test]
fn an_aws_rotation_killed_after_create_access_key_creates_no_second_key() {
    let setup = aws_rotation_setup();
    let out = aws_run(&setup, &[("LEAKSTOP_BOT_FAILPOINT", "after:rotate")]);
    assert_eq!(out.code, 86, "{}", out.stderr);
    let out = aws_run(&setup, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let calls = setup.aws_calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.starts_with("CreateAccessKey"))
            .count(),
        1,
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .filter(|c| c.starts_with("ListAccessKeys"))
            .count()
            == 2,
        "reconciled with ListAccessKeys: {calls:?}"
    );
    let issue = &setup.github.issues()[0];
    assert!(
        issue.body.contains("AKIAROTATED000000001") && issue.body.contains("no second key"),
        "{}",
        issue.body
    );
}

const TWILIO_ACCOUNT: &str = "ACdac674cd017a1a8be8eedf5a72951c14";
const TWILIO_KEY_SID: &str = "SK1d64dee1d4be81c3e14440aec31309aa";
const TWILIO_SECRET: &str = "BuP3zZmHpGPZPiyAacouHdUvrY0xCNrV";
const TWILIO_ADMIN_SID: &str = "AC00000000000000000000000000000001";

fn twilio_setup() -> Setup {
    let setup = setup(
        "twilio.env",
        format!(
            "TWILIO_ACCOUNT_SID={TWILIO_ACCOUNT}\nTWILIO_API_KEY={TWILIO_KEY_SID}\nTWILIO_API_SECRET={TWILIO_SECRET}\n"
        ),
        &[TWILIO_SECRET],
        "[credentials.twilio]\naccount_sid = \"BOT_TWILIO_SID\"\nauth_token = \"BOT_ADMIN\"\n",
    );
    setup
        .providers
        .state
        .lock()
        .unwrap()
        .ids
        .insert(TWILIO_KEY_SID.into(), TWILIO_SECRET.into());
    setup
}

#[test]
fn reports_carry_the_identifiers_next_to_a_key_never_a_secret() {
    let setup = twilio_setup();
    let out = setup.tree.leakstop(&["scan", "--format", "json", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "twilio.api-key-secret")
        .expect("the API key secret is found");
    assert_eq!(
        finding["identifiers"],
        serde_json::json!({"account_sid": TWILIO_ACCOUNT, "key_sid": TWILIO_KEY_SID})
    );
    assert!(
        !out.stdout.contains(TWILIO_SECRET),
        "no secret without --show-secrets"
    );
    // An AWS pair: the secret half is a companion, never an identifier.
    let aws = common::Tree::new();
    aws.write(
        ".aws/credentials",
        "[default]\naws_access_key_id = AKIA222UC9KG0RG13CKD\naws_secret_access_key = KdrwIpQER9ivzmahzCf793LUGivmiCdNuvcyPQju\n",
    );
    let out = aws.leakstop(&["scan", "--format", "jsonl", "."]);
    assert!(!out.stdout.contains("identifiers"), "{}", out.stdout);
    assert!(!out
        .stdout
        .contains("KdrwIpQER9ivzmahzCf793LUGivmiCdNuvcyPQju"));
}

#[test]
fn a_twilio_api_key_is_deleted_by_its_sid_with_the_account_credentials() {
    let setup = twilio_setup();
    let out = setup.bot_with(
        "run",
        "bot.sqlite",
        &["--execute"],
        &[("BOT_ADMIN", ADMIN), ("BOT_TWILIO_SID", TWILIO_ADMIN_SID)],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let account = format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT}");
    assert_eq!(
        setup.providers.calls(),
        [
            format!("GET {account}.json"),
            format!("DELETE {account}/Keys/{TWILIO_KEY_SID}.json"),
            format!("GET {account}.json"),
        ]
    );
    let requests = setup.providers.server.requests();
    let basic = |user: &str, password: &str| {
        use base64::Engine;
        let pair = format!("{user}:{password}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    };
    assert_eq!(
        requests[0].header("authorization"),
        Some(basic(TWILIO_KEY_SID, TWILIO_SECRET).as_str()),
        "verified with the key itself"
    );
    assert_eq!(
        requests[1].header("authorization"),
        Some(basic(TWILIO_ADMIN_SID, ADMIN).as_str()),
        "deleted with the account's credentials"
    );
    let status = setup.status("bot.sqlite");
    assert!(
        status.contains("twilio.api-key-secret") && status.contains("closed"),
        "{status}"
    );
    let issues = setup.github.issues();
    let key_issue = issues
        .iter()
        .find(|i| i.title.contains("API key secret"))
        .expect("an issue for the key");
    assert!(!key_issue.open, "closed with the incident");
    // The account SID found next to it is no key: a human checks the auth token.
    let sid_issue = issues
        .iter()
        .find(|i| i.title.contains("account SID"))
        .expect("an issue for the SID");
    assert!(
        sid_issue.open && sid_issue.body.contains("Promote"),
        "{}",
        sid_issue.body
    );
    assert_eq!(setup.audit_verify().code, 0);
}

#[test]
fn a_twilio_key_without_account_credentials_needs_a_human_naming_the_policy_keys() {
    let setup = twilio_setup();
    let out = setup.bot_with("run", "bot.sqlite", &["--execute"], &[]);
    assert_eq!(out.code, 2, "a live key is left: {}", out.stderr);
    assert!(setup
        .providers
        .calls()
        .iter()
        .all(|c| !c.starts_with("DELETE")));
    let issue = setup
        .github
        .issues()
        .into_iter()
        .find(|i| i.title.contains("API key secret"))
        .unwrap();
    assert!(
        issue
            .body
            .contains("[credentials.twilio] account_sid, auth_token"),
        "{}",
        issue.body
    );
}

const SA_KEY_ID: &str = "5c2f0e7d9b1a4c3e8f6d2a0b9c8e7f6a5b4c3d2e";
const SA_EMAIL: &str = "deployer@acme-prod-381204.iam.gserviceaccount.com";

fn service_account_setup(policy: &str) -> Setup {
    setup(
        "deploy/sa.json",
        include_str!("fixtures/fake-gcp-service-account.json").to_string(),
        &[SA_KEY_ID],
        &format!("{policy}[credentials.google]\naccess_token = \"BOT_ADMIN\"\n"),
    )
}

/// The service-account key's incident is closed, and its issue (the file's
/// private key is a second finding: a human handles that one).
fn assert_sa_closed(setup: &Setup, out: &common::Output) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let status = setup.status("bot.sqlite");
    let line = status
        .lines()
        .find(|l| l.contains("google.service-account-key"))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(line.contains("closed"), "{status}");
    let issue = setup
        .github
        .issues()
        .into_iter()
        .find(|i| i.title.contains("service account key"))
        .expect("an issue for the key");
    assert!(!issue.open, "closed with the incident");
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    for step in ["revoke", "confirm", "delete"] {
        assert!(
            audit.contains(&format!("\"action\":\"{step}\",\"phase\":\"result\"")),
            "{step}: {audit}"
        );
    }
    assert_eq!(setup.audit_verify().code, 0);
}

fn sa_key() -> String {
    format!("/v1/projects/acme-prod-381204/serviceAccounts/{SA_EMAIL}/keys/{SA_KEY_ID}")
}

#[test]
fn a_service_account_key_from_a_report_is_disabled_then_deleted_after_the_grace() {
    let setup = service_account_setup("");
    let report = std::fs::read_to_string(setup.scan()).unwrap();
    assert!(
        report.contains(
            r#""identifiers":{"client_email":"deployer@acme-prod-381204.iam.gserviceaccount.com"}"#
        ),
        "{report}"
    );
    let out = run(&setup);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let key = sa_key();
    // No private key in the report, so no JWT check: IAM confirms instead.
    assert_eq!(
        setup.providers.calls(),
        [format!("POST {key}:disable"), format!("GET {key}")]
    );
    let disable = &setup.providers.server.requests()[0];
    assert_eq!(
        disable.header("authorization"),
        Some(format!("Bearer {ADMIN}").as_str())
    );
    assert!(setup.status("bot.sqlite").contains("confirmed_dead"));
    let later = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 8 * 86_400)
        .to_string();
    let out = setup.bot_with(
        "run",
        "bot.sqlite",
        &["--execute"],
        &[("BOT_ADMIN", ADMIN), ("LEAKSTOP_BOT_NOW", &later)],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        setup.providers.calls()[2..],
        [format!("DELETE {key}"), format!("GET {key}")]
    );
    assert!(setup
        .providers
        .state
        .lock()
        .unwrap()
        .deleted
        .contains(SA_KEY_ID));
    assert_sa_closed(&setup, &out);
}

#[test]
fn a_service_account_key_scanned_in_process_is_verified_with_its_private_key() {
    let setup = service_account_setup("[defaults]\ngrace = \"0\"\n\n");
    let out = setup.bot_scan(&[], &[("BOT_ADMIN", ADMIN)]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let key = sa_key();
    // The JWT-bearer exchange proves it live, and then dead; no grace: deleted.
    assert_eq!(
        setup.providers.calls(),
        [
            "POST /token".to_string(),
            format!("POST {key}:disable"),
            "POST /token".into(),
            format!("DELETE {key}"),
            "POST /token".into(),
        ]
    );
    assert_sa_closed(&setup, &out);
    let issue = setup
        .github
        .issues()
        .into_iter()
        .find(|i| i.title.contains("service account key"))
        .unwrap();
    assert!(
        issue.body.contains("| Live when checked | live |"),
        "{}",
        issue.body
    );
}

#[test]
fn every_verified_provider_without_a_revocation_api_has_manual_steps_and_a_link() {
    let rules = leakstop::rules::embedded_rules().unwrap();
    let mut checked = 0;
    for rule in rules.iter().filter(|r| r.verify.is_some()) {
        if leakstop::bot::providers::for_rule(&rule.id).is_some() {
            continue;
        }
        checked += 1;
        let manual = rule.manual_revoke().unwrap_or_else(|| {
            panic!(
                "{} ({}) has a verify check and no revocation API, but no manual steps: \
                 add [revoke] or [rule.revoke] to its pattern file",
                rule.id, rule.origin
            )
        });
        assert!(manual.steps.len() > 40, "{}: {}", rule.id, manual.steps);
        assert!(
            manual.url.starts_with("https://"),
            "{}: {}",
            rule.id,
            manual.url
        );
        // The bot hands exactly these to the human.
        let handed = leakstop::bot::providers::manual_steps(Some(rule));
        assert_eq!(
            (handed.steps, handed.url),
            (manual.steps.clone(), manual.url.clone())
        );
    }
    assert!(checked >= 70, "{checked} verify-only rules");
    // And the library check refuses such a rule.
    let file = "provider = \"acme\"\nname = \"Acme\"\ndocs = \"https://acme.example/docs\"\n\n[[rule]]\n\
        id = \"acme.token\"\nname = \"Acme token\"\nregex = '''\\b(acme_[a-z0-9]{20})\\b'''\n\
        keywords = [\"acme_\"]\nconfidence = \"high\"\nseverity = \"high\"\ndescription = \"d\"\n\
        remediation = \"r\"\nexamples = ['acme_abcdefghij0123456789', 'x acme_abcdefghij0123456780']\n\
        negative_examples = ['acme_short', 'nothing']\n\n[rule.verify]\nnot_supported = \"none\"\n";
    let error =
        leakstop::rules::parse_rule_file("acme.toml", file, leakstop::rules::Strictness::Library)
            .unwrap_err()
            .to_string();
    assert!(
        error.contains("manual") && error.contains("[revoke]"),
        "{error}"
    );
    let fixed = file.replace(
        "\n[[rule]]",
        "\n[revoke]\nsteps = \"Console > Tokens > Revoke.\"\nurl = \"https://acme.example/tokens\"\n\n[[rule]]",
    );
    leakstop::rules::parse_rule_file("acme.toml", &fixed, leakstop::rules::Strictness::Library)
        .unwrap();
}
