//! The dashboard (`leakstop serve`) and the HTML report, in a real browser:
//! headless Chromium driven over WebDriver (tests/common/webdriver.rs). The
//! bot's store is filled the way a user fills it (scan, then `bot run`
//! against the fake providers and fake GitHub of tests/common/bot_fakes.rs),
//! and the emergency revoke is checked against what the fake provider saw.
//! Screenshots land in target/tmp/screenshots (docs/dashboard.png is one).

#[path = "common/bot_fakes.rs"]
mod bot_fakes;
mod common;

#[path = "common/bot_setup.rs"]
mod bot_setup;

#[path = "common/webdriver.rs"]
mod webdriver;

use bot_setup::*;
use common::GITHUB_PAT;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use webdriver::{http, Browser};

/// A file name a browser would run if the page did not escape it.
const HOSTILE: &str = "<script>window.pwned=1<img src=x onerror=window.pwned=2>.env";
const TOKEN: &str = "dashboard-test-token-0123456789";
const GITLAB_REVOKE: &str = "DELETE /api/v4/personal_access_tokens/self";

/// `leakstop serve …` running; killed on drop.
struct Server {
    child: Child,
    url: String,
    /// Standard error up to and including the "dashboard on" line.
    early: Vec<String>,
    lines: mpsc::Receiver<String>,
}

impl Server {
    /// What serve printed since it started listening.
    fn log(&self) -> String {
        self.lines.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `leakstop serve ARGS` in the setup's tree and waits for the line
/// naming its address; `Err` holds what it printed if it exited instead.
fn serve(setup: &Setup, args: &[&str], env: &[(String, String)]) -> Result<Server, String> {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("leakstop"));
    command
        .arg("serve")
        .args(args)
        .current_dir(setup.tree.path())
        .env("NO_COLOR", "1")
        .env("LEAKSTOP_USER_CONFIG", "")
        .env_remove("LEAKSTOP_SERVE_BIND")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start leakstop serve");
    let stderr = child.stderr.take().expect("stderr");
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut early = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(30)) {
        let url = line
            .split("dashboard on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(|u| u.trim_end_matches('/').to_string());
        early.push(line);
        if let Some(url) = url {
            return Ok(Server {
                child,
                url,
                early,
                lines,
            });
        }
    }
    let _ = child.kill();
    let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
    Err(format!("serve exited ({status}): {}", early.join("\n")))
}

/// Three incidents whose keys the fake providers call live, filed by
/// `bot run` under a notify-only policy three days ago (so all are still
/// open, and overdue), with their GitHub issues opened.
fn filed() -> (Setup, Vec<String>) {
    let setup = Setup::new(
        &[
            ("config/.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n")),
            (HOSTILE, format!("GITLAB_TOKEN={GITLAB}\n")),
            ("chat/slack.txt", format!("SLACK_BOT_TOKEN={SLACK}\n")),
        ],
        &[GITHUB_PAT, GITLAB, SLACK],
    );
    let policy = setup.path("policy.toml");
    std::fs::write(&policy, "[defaults]\naction = \"notify\"\n").expect("policy");
    let policy = policy.to_str().expect("utf-8").to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let three_days_ago = (now - 3 * 86_400).to_string();
    let out = setup.bot_with(
        "run",
        "bot.sqlite",
        &["--execute", "--policy", &policy],
        &[("LEAKSTOP_BOT_NOW", &three_days_ago)],
    );
    assert_eq!(
        out.code, 2,
        "live keys are left for a human: {}",
        out.stderr
    );
    let token = setup.path("token");
    std::fs::write(&token, format!("{TOKEN}\n")).expect("token file");
    let args = vec![
        "--store".to_string(),
        setup.path("bot.sqlite").display().to_string(),
        "--audit-log".into(),
        setup.path("audit.jsonl").display().to_string(),
        "--findings".into(),
        setup.path("findings.jsonl").display().to_string(),
        "--repo".into(),
        "acme/app".into(),
        "--policy".into(),
        policy,
        "--token-file".into(),
        token.display().to_string(),
        "--timeout".into(),
        "2".into(),
    ];
    (setup, args)
}

fn rows(browser: &Browser) -> usize {
    browser
        .exec("return document.querySelectorAll('#incidents tbody tr').length;")
        .as_u64()
        .unwrap_or(0) as usize
}

/// Submits the confirmation form of the page at `url` with `token`,
/// after `tamper` (a script) has had its way with the form.
fn submit_revoke(browser: &Browser, url: &str, token: &str, tamper: &str) -> String {
    browser.goto(url);
    browser.type_into("#token", token);
    browser.click("#confirm");
    browser.exec(tamper);
    browser.click("#do-revoke");
    browser.wait_for(
        "return document.readyState === 'complete' && !document.getElementById('confirm-form');",
        "the answer to the revoke form",
    );
    browser
        .exec("return document.body.innerText;")
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn dashboard_filters_shows_a_timeline_and_revokes_only_with_token_and_csrf() {
    let (setup, args) = filed();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut with_bind = args.clone();
    with_bind.extend(["--bind", "127.0.0.1:0"]);
    let server = serve(&setup, &with_bind, &setup.env(&[])).expect("serve starts");
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    let browser = Browser::start();

    // The list: every incident, all overdue (detected three days ago,
    // still open), the time-to-revoke table, nothing revoked yet.
    browser.goto(&format!("{}/", server.url));
    assert_eq!(rows(&browser), 3);
    assert_eq!(
        browser.exec("return document.querySelectorAll('#incidents tr.overdue').length;"),
        3
    );
    assert!(browser.text("#times").contains("gitlab"));
    browser.screenshot("dashboard.png");

    // Filtering: choosing a provider submits the form (dashboard.js, a
    // static file the CSP allows) and leaves one incident.
    browser.click("#filter-provider option[value=gitlab]");
    browser.wait_for(
        "return location.search.indexOf('provider=gitlab') >= 0 && document.readyState === 'complete';",
        "the provider filter",
    );
    assert_eq!(rows(&browser), 1);
    assert!(browser.text("#incidents").contains("gitlab"));

    // The incident: the hostile path is text, its timeline and audit chain show.
    browser.click("#incidents tbody tr a");
    browser.wait_for(
        "return !!document.getElementById('timeline');",
        "the incident page",
    );
    let locations = browser.text("#locations");
    assert!(locations.contains("<script>window.pwned=1"), "{locations}");
    assert_eq!(
        browser.exec("return [typeof window.pwned, document.querySelectorAll('main script, main img').length];"),
        serde_json::json!(["undefined", 0])
    );
    let timeline = browser.text("#timeline");
    assert!(
        timeline.contains("verify") && timeline.contains("done"),
        "{timeline}"
    );
    assert!(browser.text("#chain").contains("Audit chain intact"));
    assert!(browser.text("#issues").contains("acme/app#"));
    assert!(browser.text("#verification").contains("live"));
    browser.screenshot("incident.png");
    let incident_url = browser.url();
    let id: String = incident_url.rsplit('/').next().unwrap_or("").to_string();

    // Emergency revoke: the confirmation step, then refused without the
    // right token, refused without the CSRF token, done once with both.
    browser.click("#revoke");
    browser.wait_for(
        "return !!document.getElementById('confirm-form');",
        "the confirmation page",
    );
    browser.screenshot("confirm.png");
    let confirm_url = browser.url();
    let answer = submit_revoke(&browser, &confirm_url, "not-the-token-at-all", "");
    assert!(answer.contains("wrong token"), "{answer}");
    assert_eq!(setup.providers.count(GITLAB_REVOKE), 0);
    let answer = submit_revoke(
        &browser,
        &confirm_url,
        TOKEN,
        "document.getElementById('csrf').value = 'forged';",
    );
    assert!(answer.contains("CSRF"), "{answer}");
    let answer = submit_revoke(
        &browser,
        &confirm_url,
        TOKEN,
        "document.getElementById('csrf').remove();",
    );
    assert!(answer.contains("CSRF"), "{answer}");
    assert_eq!(setup.providers.count(GITLAB_REVOKE), 0);

    // The JSON API refuses an action without the bearer token.
    let refused = http(
        "POST",
        &format!("{}/api/incidents/{id}/revoke", server.url),
        &[],
        None,
    );
    assert_eq!(refused.status, 401);
    assert_eq!(setup.providers.count(GITLAB_REVOKE), 0);

    let answer = submit_revoke(&browser, &confirm_url, TOKEN, "");
    assert!(
        answer.contains("1 incident(s) acted on"),
        "{answer}\n{}",
        server.log()
    );
    assert_eq!(
        setup.providers.count(GITLAB_REVOKE),
        1,
        "{:?}",
        setup.providers.calls()
    );
    browser.screenshot("revoked.png");

    // Again, from the page and from the API: idempotent, no second call.
    let again = submit_revoke(&browser, &confirm_url, TOKEN, "");
    assert!(again.contains("Done"), "{again}");
    let bearer = format!("Bearer {TOKEN}");
    let api = http(
        "POST",
        &format!("{}/api/incidents/{id}/revoke", server.url),
        &[("authorization", &bearer)],
        None,
    );
    assert_eq!(api.status, 200, "{}", api.body);
    assert_eq!(setup.providers.count(GITLAB_REVOKE), 1);

    // The incident page and the API now tell the same story.
    browser.goto(&incident_url);
    assert!(!browser.text("h1").contains("overdue"));
    assert!(browser.text("#timeline").contains("revoke"));
    let detail: serde_json::Value = serde_json::from_str(
        &http(
            "GET",
            &format!("{}/api/incidents/{id}", server.url),
            &[],
            None,
        )
        .body,
    )
    .expect("JSON");
    assert!(
        ["revoked", "confirmed_dead", "closed"].contains(&detail["state"].as_str().unwrap_or("")),
        "{detail}"
    );
    assert_eq!(detail["audit"]["intact"], true);
    let times: serde_json::Value = serde_json::from_str(
        &http(
            "GET",
            &format!("{}/api/time-to-revoke", server.url),
            &[],
            None,
        )
        .body,
    )
    .expect("JSON");
    let gitlab = times["providers"]
        .as_array()
        .and_then(|p| p.iter().find(|t| t["provider"] == "gitlab"))
        .cloned()
        .expect("gitlab times");
    assert_eq!(gitlab["revoked"], 1);
    assert!(gitlab["worst_seconds"].as_i64().unwrap_or(0) >= 3 * 86_400 - 60);

    // Every response carries the strict policy; no page holds a secret.
    let page = http("GET", &format!("{}/", server.url), &[], None);
    for secret in [GITHUB_PAT, GITLAB, SLACK] {
        assert!(!page.body.contains(secret) && !detail.to_string().contains(secret));
    }
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).expect("audit log");
    assert!(!audit.contains(GITLAB));
    assert_eq!(setup.audit_verify().code, 0);
}

#[test]
fn the_html_report_opens_with_no_network_request_and_its_table_filters() {
    let setup = Setup::new(
        &[
            ("config/.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n")),
            (HOSTILE, format!("GITLAB_TOKEN={GITLAB}\n")),
            ("chat/slack.txt", format!("SLACK_BOT_TOKEN={SLACK}\n")),
        ],
        &[],
    );
    let findings = setup.scan();
    let page = setup.path("report.html");
    let out = setup.tree.leakstop(&[
        "report",
        "html",
        findings.to_str().expect("utf-8"),
        "-o",
        page.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let html = std::fs::read_to_string(&page).expect("the page");
    for secret in [GITHUB_PAT, GITLAB, SLACK] {
        assert!(!html.contains(secret), "a secret in the HTML report");
    }
    assert!(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"));

    let browser = Browser::start();
    browser.goto(&Browser::file_url(&page));
    browser.wait_for("return document.readyState === 'complete';", "the report");
    assert_eq!(
        browser.exec("return performance.getEntriesByType('resource').length;"),
        0,
        "the report made a network request"
    );
    let visible = "return Array.prototype.filter.call(document.querySelectorAll('#findings tbody tr'), function (r) { return !r.hidden; }).length;";
    assert_eq!(browser.exec(visible), 3);
    assert_eq!(
        browser.exec("return JSON.parse(document.getElementById('leakstop-data').textContent).findings.length;"),
        3
    );
    assert_eq!(browser.exec("return typeof window.pwned;"), "undefined");
    assert!(browser.text("#findings").contains("<script>window.pwned=1"));
    browser.screenshot("report.png");

    browser.type_into("#search", "slack");
    assert_eq!(browser.exec(visible), 1);
    assert_eq!(browser.text("#shown"), "1");
    browser.exec("document.getElementById('search').value = ''; document.getElementById('search').dispatchEvent(new Event('input'));");
    browser.click("#filter-provider option[value=gitlab]");
    assert_eq!(browser.exec(visible), 1);
    assert!(browser.text("#findings").contains("gitlab"));
    browser.click("#filter-provider option[value='']");
    assert_eq!(browser.exec(visible), 3);

    // Sorting by provider puts github first, then descending after a second click.
    browser.click("#findings thead th:nth-child(2)");
    let first =
        "return document.querySelector('#findings tbody tr').getAttribute('data-provider');";
    assert_eq!(browser.exec(first), "github");
    browser.click("#findings thead th:nth-child(2)");
    assert_eq!(browser.exec(first), "slack");
    assert_eq!(
        browser.exec("return performance.getEntriesByType('resource').length;"),
        0
    );
}

#[test]
fn serve_refuses_a_non_loopback_address_unless_bind_is_explicit() {
    let (setup, args) = filed();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut env = setup.env(&[]);
    env.push(("LEAKSTOP_SERVE_BIND".into(), "0.0.0.0:0".into()));
    let refused = serve(&setup, &args, &env);
    let message = refused
        .err()
        .expect("a non-loopback address from the environment is refused");
    assert!(
        message.contains("refusing to listen on 0.0.0.0:0"),
        "{message}"
    );
    assert!(message.contains("(exit status: 4)"), "{message}");

    let mut explicit = args.clone();
    explicit.extend(["--bind", "0.0.0.0:0"]);
    let server = serve(&setup, &explicit, &setup.env(&[])).expect("an explicit --bind is taken");
    let early = server.early.join("\n");
    assert!(
        early.contains("warning: the dashboard listens on 0.0.0.0:"),
        "{early}"
    );
    assert!(server.url.starts_with("http://0.0.0.0:"));

    // The default is loopback.
    let mut loopback_env = setup.env(&[]);
    loopback_env.push(("LEAKSTOP_SERVE_BIND".into(), "127.0.0.1:0".into()));
    let local = serve(&setup, &args, &loopback_env).expect("loopback from the environment");
    assert!(local.url.starts_with("http://127.0.0.1:"));
    assert!(!local.early.join("\n").contains("warning"));
}
