//! `leakstop hook install` and the hook it writes, driven by real `git commit`s.

mod common;

use common::*;

fn git(tree: &Tree, args: &[&str]) -> std::process::Output {
    tree.git_output(args)
}

fn repo() -> Tree {
    Tree::repo()
}

#[test]
fn installed_hook_blocks_a_commit_with_a_secret_and_passes_a_clean_one() {
    let tree = repo();
    let out = tree.leakstop(&["hook", "install"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(tree.join(".git/hooks/pre-commit").exists());

    tree.write("clean.txt", "hello\n");
    git(&tree, &["add", "."]);
    let commit = git(&tree, &["commit", "-q", "-m", "clean"]);
    assert!(
        commit.status.success(),
        "{}",
        String::from_utf8_lossy(&commit.stderr)
    );

    tree.write("leak.env", format!("TOKEN={GITHUB_PAT}\n"));
    git(&tree, &["add", "."]);
    let commit = git(&tree, &["commit", "-q", "-m", "leak"]);
    assert!(!commit.status.success(), "the commit must be blocked");
    // git sends a hook's stdout to stderr.
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&commit.stdout),
        String::from_utf8_lossy(&commit.stderr)
    );
    assert!(
        output.contains("leak.env:1:7") && output.contains("github.pat-classic"),
        "{output}"
    );
    assert!(
        output.contains("commit blocked")
            && output.contains("leakstop:allow")
            && output.contains("baseline"),
        "{output}"
    );
    assert!(output.contains("scanned 1 file"), "{output}");
    assert!(!output.contains(GITHUB_PAT));
}

#[test]
fn an_existing_hook_is_refused_replaced_or_chained() {
    let tree = repo();
    let hook = tree.join(".git/hooks/pre-commit");
    tree.write(
        ".git/hooks/pre-commit",
        "#!/bin/sh\necho ran-local-hook >&2\n",
    );
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let out = tree.leakstop(&["hook", "install"]);
    assert_eq!(out.code, 4);
    assert!(
        out.stderr.contains("--chain") && out.stderr.contains("--force"),
        "{}",
        out.stderr
    );
    assert!(
        std::fs::read_to_string(&hook)
            .unwrap()
            .contains("ran-local-hook"),
        "untouched"
    );

    let out = tree.leakstop(&["hook", "install", "--chain"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::read_to_string(tree.join(".git/hooks/pre-commit.local"))
            .unwrap()
            .contains("ran-local-hook")
    );
    tree.write("leak.env", format!("TOKEN={GITHUB_PAT}\n"));
    git(&tree, &["add", "."]);
    let commit = git(&tree, &["commit", "-q", "-m", "leak"]);
    assert!(!commit.status.success());
    let stderr = String::from_utf8_lossy(&commit.stderr);
    assert!(
        stderr.contains("ran-local-hook") && stderr.contains("commit blocked"),
        "{stderr}"
    );

    // Re-installing over leakstop's own hook is fine and keeps the chain.
    assert_eq!(tree.leakstop(&["hook", "install"]).code, 0);
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("pre-commit.local"));

    tree.write(".git/hooks/pre-commit", "#!/bin/sh\nexit 0\n");
    assert_eq!(tree.leakstop(&["hook", "install", "--force"]).code, 0);
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("leakstop-managed"));
}

#[test]
fn core_hooks_path_is_honoured() {
    let tree = repo();
    assert!(git(&tree, &["config", "core.hooksPath", ".githooks"])
        .status
        .success());
    let out = tree.leakstop(&["hook", "install"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(tree.join(".githooks/pre-commit").exists());
    assert!(!tree.join(".git/hooks/pre-commit").exists());
    tree.write("leak.env", format!("TOKEN={GITHUB_PAT}\n"));
    git(&tree, &["add", "leak.env"]);
    assert!(!git(&tree, &["commit", "-q", "-m", "leak"]).status.success());
}

#[test]
fn outside_a_repository_hook_install_is_a_usage_error() {
    let tree = Tree::new();
    let out = tree.leakstop(&["hook", "install"]);
    assert_eq!(out.code, 4);
    assert!(
        out.stderr.contains("needs a git repository"),
        "{}",
        out.stderr
    );
}

#[test]
fn pre_push_hook_blocks_pushing_a_commit_that_adds_a_secret() {
    let tree = repo();
    let remote = tempfile::tempdir().unwrap();
    let init = std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(remote.path())
        .output()
        .unwrap();
    assert!(init.status.success());
    assert!(git(
        &tree,
        &["remote", "add", "origin", &remote.path().to_string_lossy()]
    )
    .status
    .success());
    let out = tree.leakstop(&["hook", "install", "--pre-push"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(std::fs::read_to_string(tree.join(".git/hooks/pre-push"))
        .unwrap()
        .contains("--pre-push"));

    tree.write("a.txt", "clean\n");
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "clean"]);
    let push = git(&tree, &["push", "-q", "origin", "main"]);
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );

    tree.write("b.env", format!("T={GITHUB_PAT}\n"));
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "leak"]);
    let push = git(&tree, &["push", "-q", "origin", "main"]);
    assert!(!push.status.success(), "the push must be blocked");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&push.stdout),
        String::from_utf8_lossy(&push.stderr)
    );
    assert!(
        output.contains("b.env:1:3") && output.contains("walked 1 commit"),
        "{output}"
    );
}
