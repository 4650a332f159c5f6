//! `--range`, `--since-commit` and `--pre-push` in real repositories: only
//! secrets that the commits in range introduced, attributed to the commit.

mod common;

use common::*;
use std::io::Write;

fn git(tree: &Tree, args: &[&str]) -> String {
    tree.git(args)
}

/// c1: old leak in app.py; c2: adds a second secret to app.py; c3: new file
/// with a third secret, and the same blob copied to a second path.
fn history() -> (Tree, [String; 3]) {
    let tree = Tree::new();
    git(&tree, &["init", "-q", "-b", "main"]);
    tree.write("app.py", format!("OLD = '{GITHUB_PAT}'\n"));
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "c1"]);
    let c1 = git(&tree, &["rev-parse", "HEAD"]);
    tree.write(
        "app.py",
        format!("OLD = '{GITHUB_PAT}'\nNEW = '{GITHUB_OAUTH}'\n"),
    );
    git(&tree, &["commit", "-q", "-am", "c2"]);
    let c2 = git(&tree, &["rev-parse", "HEAD"]);
    tree.write("conf/a.env", format!("T={GITHUB_PAT_2}\n"))
        .write("conf/copy.env", format!("T={GITHUB_PAT_2}\n"));
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "c3"]);
    let c3 = git(&tree, &["rev-parse", "HEAD"]);
    (tree, [c1, c2, c3])
}

#[test]
fn a_range_reports_only_what_its_commits_introduced() {
    let (tree, [c1, c2, c3]) = history();
    let (out, report) = tree.scan_json(&["--range", &format!("{c1}..HEAD")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![
            loc("github.oauth", "app.py", 2, 8),
            loc("github.pat-classic", "conf/a.env", 1, 3)
        ]
    );
    let findings = report["findings"].as_array().unwrap();
    let oauth = findings
        .iter()
        .find(|f| f["rule_id"] == "github.oauth")
        .unwrap();
    assert_eq!(oauth["commit"]["id"], c2.as_str());
    assert_eq!(oauth["commit"]["author"], "Ada Lovelace <ada@example.com>");
    assert!(oauth["commit"]["date"].as_str().unwrap().len() >= 20);
    let pat2 = findings
        .iter()
        .find(|f| f["rule_id"] == "github.pat-classic")
        .unwrap();
    assert_eq!(pat2["commit"]["id"], c3.as_str());
    assert!(out.stderr.contains("walked 2 commits"), "{}", out.stderr);

    // --since-commit is the same range; the whole history includes the old leak.
    let (_, since) = tree.scan_json(&["--since-commit", &c1]);
    assert_eq!(locations(&since), locations(&report));
    let (_, all) = tree.scan_json(&["--range", "HEAD"]);
    assert_eq!(locations(&all).len(), 3, "{:?}", locations(&all));
}

#[test]
fn an_empty_range_scans_nothing_and_says_so() {
    let (tree, _) = history();
    let (out, report) = tree.scan_json(&["--range", "HEAD..HEAD"]);
    assert_eq!(out.code, 0);
    assert_eq!(locations(&report), vec![]);
    assert!(
        out.stderr.contains("walked 0 commits") && out.stderr.contains("scanned 0 files"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bad_range_is_a_usage_error() {
    let (tree, _) = history();
    let out = tree.leakstop(&["scan", "--range", "no-such-branch..HEAD", "."]);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("no-such-branch"), "{}", out.stderr);
}

#[test]
fn pre_push_reads_git_protocol_from_stdin() {
    let (tree, [c1, _, c3]) = history();
    let zero = "0".repeat(40);
    let run = |stdin: String| {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakstop"))
            .current_dir(tree.path())
            .args(["scan", "--pre-push", "--format", "json", "."])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        (
            output.status.code().unwrap(),
            locations(&report),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // Updating a branch the remote has at c1: the two new commits.
    let (code, found, stderr) = run(format!("refs/heads/main {c3} refs/heads/main {c1}\n"));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(stderr.contains("commit blocked"), "{stderr}");
    // A new branch (no remote has anything): every commit.
    let (_, found, _) = run(format!("refs/heads/main {c3} refs/heads/main {zero}\n"));
    assert_eq!(found.len(), 3);
    // The pre-commit framework's environment instead of stdin.
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakstop"))
        .current_dir(tree.path())
        .args(["scan", "--pre-push", "--format", "json", "."])
        .env("PRE_COMMIT_FROM_REF", &c1)
        .env("PRE_COMMIT_TO_REF", &c3)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(locations(&report).len(), 2);
    // Deleting a remote branch pushes nothing.
    let (code, found, stderr) = run(format!("(delete) {zero} refs/heads/old {c1}\n"));
    assert_eq!((code, found.len()), (0, 0), "{stderr}");
}

#[test]
fn history_scan_finds_deleted_side_branch_and_tag_only_secrets() {
    let tree = Tree::new();
    git(&tree, &["init", "-q", "-b", "main"]);
    tree.write("app.py", format!("T = '{GITHUB_PAT}'\n"));
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "add"]);
    let added = git(&tree, &["rev-parse", "HEAD"]);
    tree.write("app.py", "T = os.environ['T']\n");
    git(&tree, &["commit", "-q", "-am", "remove the secret"]);

    git(&tree, &["checkout", "-q", "-b", "side"]);
    tree.write("side.env", format!("S={GITHUB_OAUTH}\n"));
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "side"]);
    git(&tree, &["checkout", "-q", "main"]);

    git(&tree, &["checkout", "-q", "--detach"]);
    for path in ["tagged/a.txt", "tagged/b.txt", "tagged/c.txt"] {
        tree.write(path, format!("{GITHUB_PAT_2}\n"));
    }
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "tagged only"]);
    git(&tree, &["tag", "v1"]);
    git(&tree, &["checkout", "-q", "main"]);

    // The working tree is clean...
    let (out, _) = tree.scan_json(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // ...but the history is not.
    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", "app.py", 1, 6),
            loc("github.oauth", "side.env", 1, 3),
            loc("github.pat-classic", "tagged/a.txt", 1, 1),
        ]
    );
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings[0]["commit"]["id"], added.as_str());
    assert_eq!(
        findings[2]["other_occurrences"], 2,
        "same blob at three paths, scanned once"
    );
    assert_eq!(
        report["stats"]["files_scanned"], 4,
        "app.py twice, side.env, the tagged blob once"
    );
}

#[test]
fn history_scan_of_a_bare_clone() {
    let (tree, _) = history();
    let bare = tempfile::tempdir().unwrap();
    let clone = std::process::Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(tree.path())
        .arg(bare.path().join("repo.git"))
        .output()
        .unwrap();
    assert!(clone.status.success());
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakstop"))
        .args(["scan", "--git", "--format", "json"])
        .arg(bare.path().join("repo.git"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(locations(&report).len(), 3);
}

#[test]
fn stashes_unreachable_objects_and_shallow_clones() {
    let tree = Tree::repo();
    tree.write("a.txt", "clean\n");
    tree.git(&["add", "."]);
    tree.git(&["commit", "-q", "-m", "init"]);

    // A secret only in a stash (working-tree change, never committed).
    tree.write("a.txt", format!("clean\nT={GITHUB_PAT}\n"));
    tree.git(&["stash", "-q"]);
    // A secret only in a dangling blob.
    tree.write("loose.txt", format!("{GITHUB_OAUTH}\n"));
    let dangling = tree.git(&["hash-object", "-w", "loose.txt"]);
    std::fs::remove_file(tree.join("loose.txt")).unwrap();

    let (_, report) = tree.scan_json(&["--git"]);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "a.txt", 2, 3)]
    );
    let (_, report) = tree.scan_json(&["--git", "--all-objects"]);
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", "a.txt", 2, 3),
            loc("github.oauth", &format!("unreachable/{dangling}"), 1, 1),
        ]
    );

    // A shallow clone: scanned as far as it goes, and it says so.
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", tree.path().display());
    let clone = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url])
        .arg(clones.path().join("shallow"))
        .output()
        .unwrap();
    assert!(
        clone.status.success(),
        "{}",
        String::from_utf8_lossy(&clone.stderr)
    );
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakstop"))
        .args(["scan", "--git"])
        .arg(clones.path().join("shallow"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("shallow clone"), "{stderr}");
}

#[test]
fn a_missing_blob_is_named_and_the_rest_of_the_history_is_scanned() {
    let tree = Tree::repo();
    tree.write("lost.txt", "this blob will vanish\n")
        .write("leak.env", format!("T={GITHUB_PAT}\n"));
    tree.git(&["add", "."]);
    tree.git(&["commit", "-q", "-m", "init"]);
    let lost = tree.git(&["rev-parse", "HEAD:lost.txt"]);
    std::fs::remove_file(tree.join(&format!(".git/objects/{}/{}", &lost[..2], &lost[2..])))
        .unwrap();

    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "leak.env", 1, 3)]
    );
    assert_eq!(out.code, 1, "findings win over incompleteness");
    assert!(
        out.stderr.contains("INCOMPLETE") && out.stderr.contains(&lost),
        "{}",
        out.stderr
    );

    // With nothing found, the missing object makes the scan incomplete: exit 3.
    let only_lost = Tree::repo();
    only_lost
        .write("lost.txt", "gone\n")
        .write("ok.txt", "fine\n");
    only_lost.git(&["add", "."]);
    only_lost.git(&["commit", "-q", "-m", "init"]);
    let lost = only_lost.git(&["rev-parse", "HEAD:lost.txt"]);
    std::fs::remove_file(only_lost.join(&format!(".git/objects/{}/{}", &lost[..2], &lost[2..])))
        .unwrap();
    let (out, _) = only_lost.scan_json(&["--git"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("scanned 1 file"), "{}", out.stderr);
}

/// Runs `leakstop scan --pre-push --format json .` with `stdin`; exit code,
/// report (if any) and stderr.
fn pre_push(tree: &Tree, stdin: &str) -> (i32, Option<serde_json::Value>, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakstop"))
        .current_dir(tree.path())
        .args(["scan", "--pre-push", "--format", "json", "."])
        .env_remove("PRE_COMMIT_FROM_REF")
        .env_remove("PRE_COMMIT_TO_REF")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap(),
        serde_json::from_slice(&output.stdout).ok(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn range_forms_resolve_like_git_and_agree_with_the_history_scan() {
    let (tree, [c1, c2, c3]) = history();
    let commits_of = |report: &serde_json::Value| -> Vec<String> {
        let mut ids: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["commit"]["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    // One commit alone (`c2^!`), a symmetric difference, `^A` alone.
    let (_, only_c2) = tree.scan_json(&["--range", &format!("{c2}^!")]);
    assert_eq!(
        locations(&only_c2),
        vec![loc("github.oauth", "app.py", 2, 8)]
    );
    let (_, symmetric) = tree.scan_json(&["--range", &format!("{c1}...{c3}")]);
    let (_, two_dots) = tree.scan_json(&["--range", &format!("{c1}..{c3}")]);
    assert_eq!(locations(&symmetric), locations(&two_dots));
    let (out, nothing) = tree.scan_json(&["--range", &format!("^{c3}")]);
    assert_eq!(
        (out.code, locations(&nothing).len()),
        (0, 0),
        "{}",
        out.stderr
    );

    // A range is the history scan with the base hidden: the same findings,
    // at the same commits, as the history's for those commits.
    let (_, all) = tree.scan_json(&["--git"]);
    let in_range: Vec<String> = commits_of(&all)
        .into_iter()
        .filter(|id| *id == c2 || *id == c3)
        .collect();
    assert_eq!(commits_of(&two_dots), in_range);
}

#[test]
fn pre_push_of_a_new_branch_skips_what_any_remote_tracking_ref_reaches() {
    let (tree, [_, c2, c3]) = history();
    let zero = "0".repeat(40);
    // Some remote already has c2 (a remote-tracking ref points there).
    git(&tree, &["update-ref", "refs/remotes/upstream/main", &c2]);
    let (code, report, stderr) = pre_push(
        &tree,
        &format!("refs/heads/topic {c3} refs/heads/topic {zero}\n"),
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        locations(&report.unwrap()),
        vec![loc("github.pat-classic", "conf/a.env", 1, 3)]
    );
    assert!(stderr.contains("walked 1 commit"), "{stderr}");
    // An annotated tag is pushed by its tag object: peeled to the commit.
    git(&tree, &["tag", "-a", "-m", "v1", "v1", &c3]);
    let tag = git(&tree, &["rev-parse", "v1"]);
    let (code, report, stderr) =
        pre_push(&tree, &format!("refs/tags/v1 {tag} refs/tags/v1 {zero}\n"));
    assert_eq!(
        (code, locations(&report.unwrap()).len()),
        (1, 1),
        "{stderr}"
    );
}

/// Issue 14 item 3: nothing from the pre-push protocol reaches git as an
/// option; a malformed line is a usage error naming it.
#[test]
fn pre_push_lines_cannot_inject_options_into_git() {
    let (tree, [c1, _, c3]) = history();
    let zero = "0".repeat(40);
    tree.write("victim.txt", "keep me\n");
    for line in [
        format!("refs/heads/main --output=victim.txt refs/heads/main {zero}"),
        format!("refs/heads/main {c3} refs/heads/main --output=victim.txt"),
        format!("--output=victim.txt {c3} refs/heads/main {c1}"),
        format!("refs/heads/main {c3} --output=victim.txt {c1}"),
        format!("refs/heads/main {} refs/heads/main {c1}", &c3[..12]),
    ] {
        let (code, report, stderr) = pre_push(&tree, &format!("{line}\n"));
        assert_eq!(code, 4, "{line}: {stderr}");
        assert!(report.is_none(), "no report for a refused push");
        assert!(
            stderr.contains("pre-push line 1 refused: bad") && stderr.contains(&line),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(tree.join("victim.txt")).unwrap(),
            "keep me\n"
        );
    }
}
