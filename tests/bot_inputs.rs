//! The bot's inputs and issue assignees, end to end with the real binary
//! against the fake providers and fake GitHub on 127.0.0.1:
//! `bot run --scan PATH` (the scan runs in the bot, no report on disk),
//! `--git` history scans, and assignees from CODEOWNERS (at the scanned
//! commit or the working tree) or the committer's GitHub login.

#[path = "common/bot_fakes.rs"]
mod bot_fakes;
mod common;

#[path = "common/bot_setup.rs"]
mod bot_setup;

use bot_setup::*;
use common::{Output, GITHUB_PAT};

/// `leakstop bot run --scan . <extra> --repo acme/app --execute` in the tree.
fn run_scan(setup: &Setup, extra: &[&str]) -> Output {
    let store = setup.path("bot.sqlite");
    let audit = setup.path("audit.jsonl");
    let mut args = vec!["bot", "run", "--scan", "."];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--repo",
        "acme/app",
        "--store",
        store.to_str().unwrap(),
        "--audit-log",
        audit.to_str().unwrap(),
        "--timeout",
        "2",
        "--execute",
    ]);
    let out = setup.tree.leakstop_env(&args, &setup.env(&[]));
    setup.assert_no_secret(&out);
    out
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

#[test]
fn a_history_scan_reads_codeowners_at_the_commit_and_assigns_the_committer() {
    let setup = leaking(&[]);
    let tree = &setup.tree;
    tree.git(&["init", "-q", "-b", "main"]);
    tree.write("docs/CODEOWNERS", "/deploy/ @bob\n");
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

    let setup2 = leaking(&[]);
    let tree2 = &setup2.tree;
    tree2.git(&["init", "-q", "-b", "main"]);
    tree2.write("deploy/token.txt", format!("{GITHUB_PAT}\n"));
    tree2.git(&["add", "."]);
    tree2.git(&[
        "-c",
        "user.email=4242+octo-dev@users.noreply.github.com",
        "commit",
        "-q",
        "-m",
        "add deploy token",
    ]);
    tree2.write("leakstop-bot.toml", "[defaults]\nassign = \"committer\"\n");
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
