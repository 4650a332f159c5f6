//! Archives committed to git (jar, zip, tgz, whl) are opened in history,
//! range and staged scans as directory scans open them; a secret is reported
//! at the commit whose archive version first holds it, once.

mod common;

use common::*;

fn commit_all(tree: &Tree, message: &str) -> String {
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", message]);
    tree.git(&["rev-parse", "HEAD"])
}

fn jar(properties: &str, manifest: &str) -> Vec<u8> {
    zip(&[
        ("META-INF/MANIFEST.MF", manifest.as_bytes()),
        ("application.properties", properties.as_bytes()),
    ])
}

fn commits_of(report: &serde_json::Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["commit"]["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_jar_changed_twice_reports_its_key_once_at_the_first_commit() {
    let tree = Tree::repo();
    tree.write("README", "service\n");
    commit_all(&tree, "init");
    let key = format!("github.token={GITHUB_PAT}\n");
    tree.write("lib/app.jar", jar(&key, "Version: 1\n"));
    let first = commit_all(&tree, "add the jar");
    tree.write("lib/app.jar", jar(&key, "Version: 2\n"));
    commit_all(&tree, "rebuild: manifest changed");
    let second_key = format!("{key}other.token={GITHUB_OAUTH}\n");
    tree.write("lib/app.jar", jar(&second_key, "Version: 3\n"));
    let third = commit_all(&tree, "rebuild: a second key");

    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![
            loc(
                "github.pat-classic",
                "lib/app.jar!application.properties",
                1,
                14
            ),
            loc("github.oauth", "lib/app.jar!application.properties", 2, 13),
        ]
    );
    assert_eq!(
        commits_of(&report),
        vec![
            ("lib/app.jar!application.properties".to_string(), first),
            ("lib/app.jar!application.properties".to_string(), third),
        ]
    );

    // `--no-archives`: a jar is a binary file again, in history too.
    let (out, plain) = tree.scan_json(&["--git", "--no-archives"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(locations(&plain).is_empty());
}

#[test]
fn a_range_reports_only_what_its_archive_versions_added() {
    let tree = Tree::repo();
    let key = format!("github.token={GITHUB_PAT}\n");
    tree.write("dist/site.zip", zip(&[("config.js", key.as_bytes())]));
    let base = commit_all(&tree, "ship the site");
    let more = format!("{key}oauth={GITHUB_OAUTH}\n");
    tree.write("dist/site.zip", zip(&[("config.js", more.as_bytes())]));
    let head = commit_all(&tree, "ship again");

    let (out, report) = tree.scan_json(&["--range", &format!("{base}..HEAD")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        commits_of(&report),
        vec![("dist/site.zip!config.js".to_string(), head)]
    );
    assert_eq!(report["findings"][0]["rule_id"], "github.oauth");
}

#[test]
fn the_hook_opens_staged_archives_and_ignores_unchanged_entries() {
    let tree = Tree::repo();
    tree.write("README", "service\n");
    commit_all(&tree, "init");
    let key = format!("github.token={GITHUB_PAT}\n");
    tree.write("lib/app.jar", jar(&key, "Version: 1\n"));
    tree.git(&["add", "-A"]);

    let (out, report) = tree.scan_json(&["--staged"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc(
            "github.pat-classic",
            "lib/app.jar!application.properties",
            1,
            14
        )]
    );

    // Committed (say with --no-verify); a rebuild that keeps the key is not
    // a new leak for the next commit's hook, a new key in it is.
    tree.git(&["commit", "-q", "--no-verify", "-m", "jar"]);
    tree.write("lib/app.jar", jar(&key, "Version: 2\n"));
    tree.git(&["add", "-A"]);
    let (out, report) = tree.scan_json(&["--staged"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(locations(&report).is_empty());

    tree.write(
        "lib/app.jar",
        jar(&format!("{key}oauth={GITHUB_OAUTH}\n"), "Version: 3\n"),
    );
    tree.git(&["add", "-A"]);
    let (out, report) = tree.scan_json(&["--staged"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc(
            "github.oauth",
            "lib/app.jar!application.properties",
            2,
            7
        )]
    );
}
