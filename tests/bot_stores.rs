//! Replacements in secret stores, end to end: the real binary rotates a
//! leaked GitLab token (fake GitLab, tests/common/bot_fakes.rs), tests the
//! replacement, and writes it to AWS Secrets Manager, SSM Parameter Store,
//! Azure Key Vault or a GitHub Actions secret (tests/common/store_fakes.rs,
//! on 127.0.0.1). Each test asserts the exact store requests and that the
//! replacement appears nowhere but the store's own request: not in the
//! output, the audit log, the issues, the SQLite store, nor any other request.

#[path = "common/bot_fakes.rs"]
mod bot_fakes;
mod common;

#[path = "common/bot_setup.rs"]
mod bot_setup;
#[path = "common/store_fakes.rs"]
mod store_fakes;

use bot_setup::*;
use common::Output;
use store_fakes::{FakeStores, STORE_TOKEN};

const KEY_ID: &str = "AKIASTOREADMIN000001";
const SECRET_KEY: &str = "store/admin/secret/key/that/signs/calls0";

/// A repository leaking a GitLab token, a policy rotating it into `store`.
fn rotating(store: &str) -> (Setup, FakeStores) {
    let setup = Setup::new(
        &[("gitlab.env", format!("GITLAB_TOKEN={GITLAB}\n"))],
        &[GITLAB],
    );
    let stores = FakeStores::start();
    setup.tree.write(
        "leakstop-bot.toml",
        format!(
            "[defaults]\naction = \"rotate-then-revoke\"\n\n[store]\naddress = \"{}\"\n{store}",
            stores.server.url
        ),
    );
    (setup, stores)
}

fn run(setup: &Setup) -> Output {
    setup.bot_with(
        "run",
        "bot.sqlite",
        &["--execute"],
        &[
            ("BOT_STORE_KEY_ID", KEY_ID),
            ("BOT_STORE_SECRET", SECRET_KEY),
            ("BOT_STORE_TOKEN", STORE_TOKEN),
        ],
    )
}

/// The one replacement GitLab minted; it is in no output, audit record,
/// issue, SQLite file, GitHub request, nor any store request but `allowed`.
fn replacement(setup: &Setup, stores: &FakeStores, out: &Output, allowed: &[usize]) -> String {
    let minted = setup.providers.state.lock().unwrap().minted.clone();
    assert_eq!(minted.len(), 1, "rotated exactly once");
    let new = minted[0].clone();
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    for text in [&out.stdout, &out.stderr, &audit] {
        assert!(!text.contains(&new), "replacement leaked: {text}");
    }
    for issue in setup.github.issues() {
        assert!(!issue.body.contains(&new));
        assert!(issue.comments.iter().all(|c| !c.contains(&new)));
    }
    for request in setup.github.server.requests() {
        assert!(!request.body.contains(&new));
    }
    for entry in std::fs::read_dir(setup.state.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("bot.sqlite") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(new.len()).any(|w| w == new.as_bytes()),
                "replacement in {}",
                path.display()
            );
        }
    }
    for (i, request) in stores.server.requests().iter().enumerate() {
        if !allowed.contains(&i) {
            assert!(
                !request.body.contains(&new),
                "request {i}: {}",
                request.body
            );
        }
        assert!(!request.url.contains(&new));
        assert!(request
            .headers
            .iter()
            .all(|(_, value)| !value.contains(&new) && !value.contains(SECRET_KEY)));
    }
    new
}

/// Recomputes the SigV4 signature of a recorded JSON 1.1 request.
fn assert_signed(request: &common::fake::Recorded, service: &str) {
    let authorization = request.header("authorization").unwrap_or_default();
    let date = request.header("x-amz-date").unwrap_or_default();
    let mut headers: Vec<(String, String)> = ["content-type", "host", "x-amz-date", "x-amz-target"]
        .iter()
        .map(|name| {
            (
                name.to_string(),
                request.header(name).unwrap_or_default().to_string(),
            )
        })
        .collect();
    headers.sort();
    let expected = leakstop::verify::aws::authorization(
        &leakstop::verify::aws::Signing {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: request.body.as_bytes(),
            region: "eu-west-1",
            service,
            amz_date: date,
        },
        KEY_ID,
        SECRET_KEY,
    );
    assert_eq!(authorization, expected);
    assert!(authorization.contains(&format!("Credential={KEY_ID}/")));
}

const AWS_KEYS: &str = "region = \"eu-west-1\"\ntoken_env = \"BOT_STORE_SECRET\"\naccess_key_id_env = \"BOT_STORE_KEY_ID\"\n";

#[test]
fn a_lost_secrets_manager_answer_is_retried_with_the_same_request_token_and_makes_one_version() {
    let (setup, stores) = rotating(&format!(
        "kind = \"aws-secrets-manager\"\npath = \"prod/app/gitlab\"\n{AWS_KEYS}"
    ));
    {
        let mut state = stores.state.lock().unwrap();
        state.secrets.insert("prod/app/gitlab".into(), Vec::new());
        state.lose.insert("secretsmanager.PutSecretValue".into());
    }
    let out = run(&setup);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        stores.calls(),
        [
            "secretsmanager.PutSecretValue",
            "secretsmanager.PutSecretValue"
        ]
    );
    let requests = stores.server.requests();
    let new = replacement(&setup, &stores, &out, &[0, 1]);
    let bodies: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(bodies[0], bodies[1], "the retry is the same request");
    let token = bodies[0]["ClientRequestToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        bodies[0],
        serde_json::json!({"SecretId": "prod/app/gitlab", "ClientRequestToken": token, "SecretString": new})
    );
    assert_eq!(token.len(), 36);
    for request in &requests {
        assert_eq!(
            request.header("content-type"),
            Some("application/x-amz-json-1.1")
        );
        assert_signed(request, "secretsmanager");
    }
    let versions = stores.state.lock().unwrap().secrets["prod/app/gitlab"].clone();
    assert_eq!(versions, [(token.clone(), new)], "one version, not two");
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    assert!(audit.contains("\"request_id\":\"req-sm-1\""), "{audit}");
    assert!(setup.status("bot.sqlite").contains("1 closed"));
    let issue = &setup.github.issues()[0];
    // The issue's audit trail says where the replacement went, never what it is.
    assert!(
        issue.body.contains(&format!(
            "stored in aws-secrets-manager prod/app/gitlab, version {token}"
        )),
        "{}",
        issue.body
    );
}

#[test]
fn a_missing_secrets_manager_secret_is_created_with_the_same_request_token() {
    let (setup, stores) = rotating(&format!("kind = \"aws-secrets-manager\"\n{AWS_KEYS}"));
    let out = run(&setup);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        stores.calls(),
        [
            "secretsmanager.PutSecretValue",
            "secretsmanager.CreateSecret"
        ]
    );
    let requests = stores.server.requests();
    let new = replacement(&setup, &stores, &out, &[0, 1]);
    let put: serde_json::Value = serde_json::from_str(&requests[0].body).unwrap();
    let create: serde_json::Value = serde_json::from_str(&requests[1].body).unwrap();
    let name = put["SecretId"].as_str().unwrap();
    assert!(name.starts_with("leakstop/gitlab/lsfp1-"), "{name}");
    assert_eq!(create["Name"], name);
    assert_eq!(create["ClientRequestToken"], put["ClientRequestToken"]);
    assert_eq!(create["SecretString"], new);
    assert_signed(&requests[1], "secretsmanager");
    assert_eq!(stores.state.lock().unwrap().secrets[name].len(), 1);
}

#[test]
fn an_ssm_parameter_is_written_as_a_secure_string() {
    let (setup, stores) = rotating(&format!(
        "kind = \"aws-ssm\"\nkms_key_id = \"alias/leakstop\"\n{AWS_KEYS}"
    ));
    let out = run(&setup);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(stores.calls(), ["AmazonSSM.PutParameter"]);
    let request = &stores.server.requests()[0];
    let new = replacement(&setup, &stores, &out, &[0]);
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    let name = body["Name"].as_str().unwrap().to_string();
    assert!(name.starts_with("/leakstop/gitlab/lsfp1-"), "{name}");
    assert!(!name.contains(':'), "SSM names take no colon: {name}");
    assert_eq!(body["Type"], "SecureString");
    assert_eq!(body["Overwrite"], true);
    assert_eq!(body["KeyId"], "alias/leakstop");
    assert_eq!(body["Value"], new);
    assert_signed(request, "ssm");
    assert_eq!(
        stores.state.lock().unwrap().parameters[&name],
        [("SecureString".to_string(), new)]
    );
}

#[test]
fn azure_key_vault_gets_the_replacement_with_the_bearer_token_and_a_refusal_goes_to_a_human() {
    let (setup, stores) = rotating("kind = \"azure-key-vault\"\ntoken_env = \"BOT_STORE_TOKEN\"\n");
    let out = run(&setup);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let request = &stores.server.requests()[0];
    let new = replacement(&setup, &stores, &out, &[0]);
    assert_eq!(request.method, "PUT");
    assert!(
        request.url.starts_with("/secrets/leakstop-gitlab-lsfp1-")
            && request.url.ends_with("?api-version=7.4"),
        "{}",
        request.url
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {STORE_TOKEN}").as_str())
    );
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["value"], new);
    assert_eq!(stores.state.lock().unwrap().vault.len(), 1);
    // The answer echoes the value; the bot reads only the version.
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    assert!(
        audit.contains("version 00000000000000000000000000000001"),
        "{audit}"
    );

    let (setup, stores) = rotating("kind = \"azure-key-vault\"\ntoken_env = \"BOT_STORE_TOKEN\"\n");
    stores.state.lock().unwrap().forbid = true;
    let out = run(&setup);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    replacement(&setup, &stores, &out, &[0]);
    let issue = &setup.github.issues()[0];
    assert!(
        issue.body.contains("secrets set permission") && issue.body.contains("could not be stored"),
        "{}",
        issue.body
    );
}

#[test]
fn a_github_actions_secret_is_sealed_to_the_repository_key() {
    let (setup, stores) = rotating(
        "kind = \"github-actions\"\nrepository = \"acme/app\"\npath = \"{provider}_TOKEN\"\ntoken_env = \"BOT_STORE_TOKEN\"\n",
    );
    let out = run(&setup);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        stores.calls(),
        [
            "GET /repos/acme/app/actions/secrets/public-key",
            "PUT /repos/acme/app/actions/secrets/GITLAB_TOKEN",
        ]
    );
    // The plain value is in no request at all: only GitHub's key opens it.
    let new = replacement(&setup, &stores, &out, &[]);
    let put = &stores.server.requests()[1];
    assert_eq!(put.header("x-github-api-version"), Some("2022-11-28"));
    let body: serde_json::Value = serde_json::from_str(&put.body).unwrap();
    assert_eq!(body["key_id"], "568250167242549743");
    assert_eq!(
        stores.state.lock().unwrap().actions["GITLAB_TOKEN"],
        new,
        "the sealed value opens to the replacement"
    );
}

#[test]
fn store_policy_errors_name_the_key_and_line() {
    let cases = [
        ("kind = \"aws-ssm\"\n", "`store.region`", "line 1"),
        (
            "kind = \"azure-key-vault\"\naddress = \"https://acme.vault.azure.net\"\nnamespace = \"x\"\n",
            "`store.namespace`: not a key of kind `azure-key-vault`",
            "line 4",
        ),
        (
            "kind = \"github-actions\"\nrepository = \"acme\"\n",
            "`store.repository`",
            "line 3",
        ),
        (
            "kind = \"aws-secrets-manager\"\nregion = \"eu-west-1\"\naccess_key_id_env = \"AKIA not a name\"\n",
            "`store.access_key_id_env`",
            "line 4",
        ),
        ("kind = \"s3\"\n", "unknown variant `s3`", "line 2"),
    ];
    for (table, key, line) in cases {
        let setup = Setup::new(&[], &[]);
        setup
            .tree
            .write("leakstop-bot.toml", format!("[store]\n{table}"));
        let out = setup.bot_with("run", "bot.sqlite", &[], &[]);
        assert_eq!(out.code, 4, "{table}: {}", out.stderr);
        assert!(
            out.stderr.contains(key) && out.stderr.contains(line),
            "{table}: {}",
            out.stderr
        );
    }
}
