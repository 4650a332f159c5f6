//! The GitHub Action's logic, run as action.yml runs it (`leakstop action`
//! with the runner's environment) against real repositories and sample
//! event payloads: range selection, annotations, job summary, SARIF and
//! step outputs; and action.yml itself.

mod common;

use common::fake::{FakeServer, Reply};
use common::*;
use std::path::Path;

const ZERO: &str = "0000000000000000000000000000000000000000";

/// base: an old leak; head: a new one in another file.
fn pull_request_repo() -> (Tree, String, String) {
    let tree = Tree::repo();
    tree.write("old.env", format!("TOKEN={GITHUB_PAT}\n"));
    tree.git(&["add", "."]);
    tree.git(&["commit", "-q", "-m", "base"]);
    let base = tree.git(&["rev-parse", "HEAD"]);
    tree.write("src/new.env", format!("TOKEN={GITHUB_PAT_2}\n"));
    tree.git(&["add", "."]);
    tree.git(&["commit", "-q", "-m", "head"]);
    let head = tree.git(&["rev-parse", "HEAD"]);
    (tree, base, head)
}

/// Runs `leakstop action ARGS` with an event and the runner's files; the
/// output, the job summary and the step outputs.
fn run_action(
    tree: &Tree,
    event_name: &str,
    payload: serde_json::Value,
    args: &[&str],
) -> (Output, String, String) {
    run_action_env(tree, event_name, payload, args, &[])
}

fn run_action_env(
    tree: &Tree,
    event_name: &str,
    payload: serde_json::Value,
    args: &[&str],
    extra_env: &[(String, String)],
) -> (Output, String, String) {
    let runner = tempfile::tempdir().unwrap();
    let event_path = runner.path().join("event.json");
    std::fs::write(&event_path, payload.to_string()).unwrap();
    let summary = runner.path().join("summary.md");
    let outputs = runner.path().join("outputs.txt");
    let env = |name: &str, value: &Path| (name.to_string(), value.display().to_string());
    let mut full_args = vec!["action"];
    full_args.extend_from_slice(args);
    let mut environment = vec![
        ("GITHUB_EVENT_NAME".into(), event_name.into()),
        env("GITHUB_EVENT_PATH", &event_path),
        env("GITHUB_STEP_SUMMARY", &summary),
        env("GITHUB_OUTPUT", &outputs),
        ("GITHUB_SERVER_URL".into(), "https://github.example".into()),
        ("GITHUB_REPOSITORY".into(), "acme/app".into()),
        ("GITHUB_SHA".into(), "f".repeat(40)),
        env("GITHUB_WORKSPACE", tree.path()),
    ];
    environment.extend_from_slice(extra_env);
    let out = tree.leakstop_env(&full_args, &environment);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (out, read(&summary), read(&outputs))
}

fn annotations(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("::")).collect()
}

#[test]
fn a_pull_request_is_checked_for_its_own_commits_only() {
    let (tree, base, head) = pull_request_repo();
    let payload = serde_json::json!({
        "pull_request": {"base": {"sha": base}, "head": {"sha": head}},
        "repository": {"default_branch": "main"}
    });
    let (out, summary, outputs) =
        run_action(&tree, "pull_request", payload, &["--sarif", "out.sarif"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines = annotations(&out.stdout);
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    assert!(
        lines[0].starts_with("::error file=src/new.env,line=1,col=7,"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(&head), "names the commit: {}", lines[0]);
    assert!(!out.stdout.contains(GITHUB_PAT_2), "secret in annotations");
    assert!(summary.contains("## leakstop: 1 finding"), "{summary}");
    assert!(
        summary.contains(&format!(
            "(https://github.example/acme/app/blob/{head}/src/new%2Eenv#L1)"
        )),
        "{summary}"
    );
    assert!(!summary.contains(GITHUB_PAT_2), "secret in the summary");
    assert!(outputs.contains("findings=1\n"), "{outputs}");
    assert!(outputs.contains("verified=0\n"), "{outputs}");
    assert!(outputs.contains("sarif-file=out.sarif\n"), "{outputs}");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tree.join("out.sarif")).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/new.env"
    );
}

#[test]
fn pushes_scan_what_they_added_and_deletions_nothing() {
    let (tree, base, head) = pull_request_repo();
    let push = |before: &str, after: &str, r: &str| {
        serde_json::json!({"before": before, "after": after, "ref": r,
                           "repository": {"default_branch": "main"}})
    };
    // An ordinary push: before..after.
    let (out, _, outputs) = run_action(&tree, "push", push(&base, &head, "refs/heads/main"), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(annotations(&out.stdout).len(), 1, "{}", out.stdout);
    assert!(outputs.contains("findings=1\n"));
    // A new branch: what it adds to origin/main.
    tree.git(&["update-ref", "refs/remotes/origin/main", &base]);
    let (out, _, _) = run_action(&tree, "push", push(ZERO, &head, "refs/heads/feature"), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines = annotations(&out.stdout);
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    assert!(lines[0].contains("file=src/new.env"));
    // The first push of the default branch: everything reachable.
    let (out, _, _) = run_action(&tree, "push", push(ZERO, &head, "refs/heads/main"), &[]);
    assert_eq!(annotations(&out.stdout).len(), 2, "{}", out.stdout);
    // A deleted branch: nothing to scan, a clean exit that says so.
    let (out, summary, outputs) = run_action(&tree, "push", push(&head, ZERO, "refs/heads/x"), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(summary.contains("nothing to scan"), "{summary}");
    assert!(outputs.contains("findings=0\n"));
}

#[test]
fn fail_on_decides_the_exit_code() {
    let (tree, base, head) = pull_request_repo();
    let payload =
        serde_json::json!({"pull_request": {"base": {"sha": base}, "head": {"sha": head}}});
    let (out, _, _) = run_action(
        &tree,
        "pull_request",
        payload.clone(),
        &["--fail-on", "none"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(annotations(&out.stdout).len(), 1, "still annotated");
    // `verified` checks liveness (against a fake GitHub on 127.0.0.1):
    // the old, dead token in the range would not fail the job, the live one does.
    let github = FakeServer::start(|request, _| {
        if request.header("authorization") == Some(&format!("Bearer {GITHUB_PAT_2}")) {
            Reply::json(200, r#"{"login":"octocat","id":1,"type":"User"}"#)
        } else {
            Reply::json(401, r#"{"message":"Bad credentials"}"#)
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let verify_env = [
        ("LEAKSTOP_VERIFY_URL_GITHUB".to_string(), github.url.clone()),
        (
            "LEAKSTOP_CACHE_DIR".to_string(),
            cache.path().display().to_string(),
        ),
    ];
    let (out, _, outputs) = run_action_env(
        &tree,
        "pull_request",
        payload,
        &["--fail-on", "verified"],
        &verify_env,
    );
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(outputs.contains("verified=1\n"), "{outputs}");
    assert_eq!(github.count(), 1);
    let lines = annotations(&out.stdout);
    assert!(lines[0].contains("LIVE"), "{}", lines[0]);
}

#[test]
fn a_hostile_file_name_cannot_forge_a_workflow_command() {
    let tree = Tree::repo();
    tree.write("README.md", "x\n");
    tree.git(&["add", "."]);
    tree.git(&["commit", "-q", "-m", "base"]);
    let base = tree.git(&["rev-parse", "HEAD"]);
    let name = "a,b:c%\n::error file=forged.txt::owned | <b>x</b>.env";
    tree.write(name, format!("TOKEN={GITHUB_PAT}\n"));
    tree.git(&["add", "."]);
    tree.git(&["commit", "-q", "-m", "head"]);
    let head = tree.git(&["rev-parse", "HEAD"]);
    let payload =
        serde_json::json!({"pull_request": {"base": {"sha": base}, "head": {"sha": head}}});
    let (out, summary, _) = run_action(&tree, "pull_request", payload, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines = annotations(&out.stdout);
    assert_eq!(lines.len(), 1, "a forged command appeared: {}", out.stdout);
    assert!(
        lines[0].contains("file=a%2Cb%3Ac%25%0A%3A%3Aerror file=forged.txt%3A%3Aowned"),
        "{}",
        lines[0]
    );
    assert!(!summary.contains("<b>"), "{summary}");
    assert!(summary.contains("\\|"), "{summary}");
}

#[test]
fn a_build_directory_is_annotated_relative_to_the_repository() {
    let tree = Tree::new();
    tree.write("dist/app.js", format!("const t = \"{GITHUB_PAT}\";\n"));
    let (out, summary, _) = run_action(
        &tree,
        "workflow_dispatch",
        serde_json::json!({}),
        &["--mode", "dir", "--path", "dist"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines = annotations(&out.stdout);
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    assert!(lines[0].contains("file=dist/app.js,line=1"), "{}", lines[0]);
    assert!(summary.contains("dist/app.js"), "{summary}");
}

#[test]
fn payload_values_are_not_revisions_or_options() {
    let (tree, _, head) = pull_request_repo();
    let payload = serde_json::json!({
        "pull_request": {"base": {"sha": "--output=victim.txt"}, "head": {"sha": head}}
    });
    let (out, _, _) = run_action(&tree, "pull_request", payload, &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("pull_request.base.sha"),
        "{}",
        out.stderr
    );
    assert!(!tree.join("victim.txt").exists());
}

#[test]
fn action_yml_is_valid_and_uses_exactly_its_inputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("action.yml")).unwrap();
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("action.yml parses");
    let inputs: Vec<String> = yaml["inputs"]
        .as_mapping()
        .expect("inputs")
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(yaml["runs"]["using"], "composite");
    let mut referenced = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("inputs.") {
        let name: String = rest[at + 7..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        referenced.push(name);
        rest = &rest[at + 7..];
    }
    for name in &referenced {
        assert!(
            inputs.contains(name),
            "action.yml uses undeclared input `{name}`"
        );
    }
    for name in &inputs {
        assert!(
            referenced.contains(name),
            "input `{name}` is declared but never used"
        );
    }
    // Every flag the scan step passes is one `leakstop action` accepts.
    let steps = yaml["runs"]["steps"].as_sequence().expect("steps");
    let scan = steps
        .iter()
        .find(|s| s["id"] == "scan")
        .expect("a step with id scan");
    let script = scan["run"].as_str().expect("scan step runs a script");
    let help = Tree::new().leakstop(&["action", "--help"]).stdout;
    let flags: Vec<&str> = script
        .split_whitespace()
        .filter(|w| w.starts_with("--"))
        .collect();
    assert!(flags.len() >= 8, "{script}");
    for flag in flags {
        assert!(help.contains(flag), "`leakstop action` has no {flag}");
    }
    assert!(
        !script.contains("${{"),
        "inputs reach the script through env only"
    );
    let outputs = yaml["outputs"].as_mapping().expect("outputs");
    for (name, output) in outputs {
        let value = output["value"].as_str().unwrap();
        assert!(
            value.contains(&format!("steps.scan.outputs.{}", name.as_str().unwrap())),
            "{value}"
        );
    }
}
