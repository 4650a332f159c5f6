//! The bot's inputs and its GitHub side, end to end with the real binary
//! against the fake providers and fake GitHub on 127.0.0.1:
//! `bot run --scan PATH` (the scan runs in the bot, no report on disk),
//! `--git` history scans, assignees from CODEOWNERS (at the scanned commit
//! or the working tree) or the committer's GitHub login, and GitHub App
//! authentication (JWT → installation token).

#[path = "common/bot_fakes.rs"]
mod bot_fakes;
mod common;

#[path = "common/bot_setup.rs"]
mod bot_setup;

use bot_setup::*;
use common::{Output, GITHUB_PAT};

/// `leakstop bot run --scan . <extra> --repo acme/app --execute` in the tree.
fn run_scan(setup: &Setup, extra: &[&str]) -> Output {
    setup.bot_scan(extra, &[])
}

fn leaking(files: &[(&str, &str)]) -> Setup {
    let files: Vec<(&str, String)> = files.iter().map(|(p, c)| (*p, c.to_string())).collect();
    Setup::new(&files, &[GITHUB_PAT])
}

#[test]
fn bot_run_scan_scans_the_paths_itself_and_writes_no_report() {
    let setup = leaking(&[("config/.env", &format!("GITHUB_TOKEN={GITHUB_PAT}\n"))]);
    let out = run_scan(&setup, &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("scanned .: 1 finding(s)"),
        "{}",
        out.stderr
    );
    assert_eq!(setup.providers.count("POST /credentials/revoke"), 1);
    assert!(setup.status("bot.sqlite").contains("1 closed"));
    let issue = &setup.github.issues()[0];
    assert!(
        !issue.open && issue.title.contains("config/.env"),
        "{issue:?}"
    );
    // The secrets stayed in memory: nothing but the store and the log was written.
    let mut written: Vec<String> = std::fs::read_dir(setup.state.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("bot.sqlite"))
        .collect();
    written.sort();
    assert_eq!(written, ["audit.jsonl"]);
    // A second run over the same tree changes nothing.
    let again = run_scan(&setup, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(setup.providers.count("POST /credentials/revoke"), 1);
    assert_eq!(setup.github.issues().len(), 1);
}

#[test]
fn codeowners_users_are_assigned_and_teams_mentioned() {
    let setup = leaking(&[
        ("config/.env", &format!("GITHUB_TOKEN={GITHUB_PAT}\n")),
        (
            ".github/CODEOWNERS",
            "* @acme/everyone\n/config/ @alice @acme/security\n*.md @docs-team\n",
        ),
        (
            "leakstop-bot.toml",
            "[defaults]\nassign = \"codeowners\"\nassignees = [\"fallback-user\"]\n",
        ),
    ]);
    let out = setup.run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let issue = &setup.github.issues()[0];
    assert_eq!(issue.assignees, ["alice"]);
    assert!(
        issue
            .body
            .contains("teams cannot be assigned): @acme/security"),
        "{}",
        issue.body
    );
}

#[test]
fn without_codeowners_the_fixed_assignees_apply() {
    let setup = leaking(&[
        ("config/.env", &format!("GITHUB_TOKEN={GITHUB_PAT}\n")),
        (
            "leakstop-bot.toml",
            "[defaults]\nassign = \"codeowners\"\nassignees = [\"fallback-user\"]\n",
        ),
    ]);
    let out = setup.run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(setup.github.issues()[0].assignees, ["fallback-user"]);
}

/// A repository whose one commit, by a GitHub no-reply address, adds a
/// GitHub token in deploy/token.txt (and `files`).
fn committed(files: &[(&str, &str)]) -> Setup {
    let setup = leaking(&[]);
    let tree = &setup.tree;
    tree.git(&["init", "-q", "-b", "main"]);
    for (path, contents) in files {
        tree.write(path, contents);
    }
    tree.write("deploy/token.txt", format!("{GITHUB_PAT}\n"));
    tree.git(&["add", "."]);
    tree.git(&[
        "-c",
        "user.email=4242+octo-dev@users.noreply.github.com",
        "commit",
        "-q",
        "-m",
        "add deploy token",
    ]);
    setup
}

#[test]
fn a_history_scan_reads_codeowners_at_the_commit_and_assigns_the_committer() {
    let setup = committed(&[("docs/CODEOWNERS", "/deploy/ @bob\n")]);
    let tree = &setup.tree;
    tree.git(&["rm", "-q", "deploy/token.txt"]);
    tree.git(&["commit", "-q", "-m", "remove it"]);
    // The working tree now names someone else; the commit's owners count.
    tree.write("docs/CODEOWNERS", "/deploy/ @carol\n");
    tree.write(
        "leakstop-bot.toml",
        "[defaults]\nassign = \"codeowners\"\n\n[[match]]\nprovider = \"nobody\"\nassign = \"fixed\"\n",
    );
    let out = run_scan(&setup, &["--git"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(setup.github.issues()[0].assignees, ["bob"]);

    let setup2 = committed(&[]);
    setup2
        .tree
        .write("leakstop-bot.toml", "[defaults]\nassign = \"committer\"\n");
    let out = run_scan(&setup2, &["--git"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(setup2.github.issues()[0].assignees, ["octo-dev"]);
}

#[test]
fn an_unknown_assign_mode_is_a_policy_error_naming_the_line() {
    let setup = leaking(&[("leakstop-bot.toml", "[defaults]\nassign = \"oncall\"\n")]);
    let out = setup.bot_with("run", "bot.sqlite", &[], &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("line 2") && out.stderr.contains("oncall"),
        "{}",
        out.stderr
    );
}

/// The RSA key of the fake GCP service account fixture, as an App key.
fn app_key() -> (String, Vec<u8>) {
    let account: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/fake-gcp-service-account.json").unwrap(),
    )
    .unwrap();
    let pem = account["private_key"].as_str().unwrap().to_string();
    let der = leakstop::verify::gcp::pkcs8_der(&pem).unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    (pem, key.public().as_ref().to_vec())
}

#[test]
fn a_github_app_mints_one_installation_token_and_the_issues_use_it() {
    use base64::Engine;
    use common::fake::{FakeServer, Reply};
    const MINTED: &str = "ghs_minted0installation0token0000000001";
    let setup = leaking(&[
        ("config/.env", &format!("GITHUB_TOKEN={GITHUB_PAT}\n")),
        (
            "leakstop-bot.toml",
            "[github_app]\napp_id = 12345\ninstallation_id = 77\nprivate_key_env = \"BOT_APP_KEY\"\n",
        ),
    ]);
    let (pem, public) = app_key();
    // GitHub now takes only the installation token, not GITHUB_TOKEN.
    let state = std::sync::Arc::clone(&setup.github.state);
    state.lock().unwrap().token = MINTED.into();
    let github = FakeServer::start(move |request, _| {
        if request.method == "POST" && request.path() == "/app/installations/77/access_tokens" {
            let body = serde_json::json!({"token": MINTED, "expires_at": "2099-01-01T00:00:00Z",
                                          "permissions": {"issues": "write"}});
            return Reply::json(201, &body.to_string());
        }
        let (path, query) = request.url.split_once('?').unwrap_or((&request.url, ""));
        let fake = state
            .lock()
            .unwrap()
            .answer(&leakstop::bot::drill::fake::FakeRequest {
                method: &request.method,
                path,
                query,
                headers: &request.headers,
                body: &request.body,
            });
        let mut reply = Reply::json(fake.status, &fake.body);
        reply.headers = fake.headers;
        reply
    });
    let out = setup.bot_with(
        "run",
        "bot.sqlite",
        &["--execute"],
        &[("BOT_APP_KEY", &pem), ("LEAKSTOP_GITHUB_API", &github.url)],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let requests = github.requests();
    let mints: Vec<_> = requests
        .iter()
        .filter(|r| r.path() == "/app/installations/77/access_tokens")
        .collect();
    assert_eq!(mints.len(), 1, "one token for the run");
    assert_eq!(requests[0].path(), "/app/installations/77/access_tokens");
    // The JWT: RS256 over header.claims, signed by the App key, issuer the App id.
    let jwt = mints[0]
        .header("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &public)
        .verify(signed.as_bytes(), &b64.decode(signature).unwrap())
        .expect("signed with the App key");
    let (header, claims) = signed.split_once('.').unwrap();
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(header).unwrap()).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&b64.decode(claims).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], "12345");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 600, "at most ten minutes");
    for request in &requests[1..] {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {MINTED}").as_str()),
            "{} {}",
            request.method,
            request.url
        );
    }
    let issue = &setup.github.issues()[0];
    assert!(!issue.open);
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    let key_body = pem.lines().nth(1).unwrap();
    for text in [&out.stdout, &out.stderr, &audit, &issue.body] {
        assert!(!text.contains(MINTED) && !text.contains(key_body));
    }
}

#[test]
fn github_app_policy_errors_name_the_key_and_line() {
    let setup = leaking(&[(
        "leakstop-bot.toml",
        "[github_app]\napp_id = 1\ninstallation_id = 2\nprivate_key_env = \"-----BEGIN\"\n",
    )]);
    let out = setup.bot_with("run", "bot.sqlite", &[], &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("`github_app.private_key_env`") && out.stderr.contains("line 4"),
        "{}",
        out.stderr
    );
}
