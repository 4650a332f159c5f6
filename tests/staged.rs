//! `leakstop scan --staged` in real git repositories: the index is scanned,
//! never the working tree, and only added lines count.

mod common;

use common::*;

fn git(tree: &Tree, args: &[&str]) {
    tree.git(args);
}

fn repo() -> Tree {
    Tree::repo()
}

fn staged(tree: &Tree) -> (Output, serde_json::Value) {
    tree.scan_json(&["--staged"])
}

#[test]
fn the_first_commit_is_scanned() {
    let tree = repo();
    tree.write("config/.env", format!("A=1\nGITHUB_TOKEN={GITHUB_PAT}\n"));
    git(&tree, &["add", "."]);
    let (out, report) = staged(&tree);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "config/.env", 2, 14)]
    );
    assert!(out.stderr.contains("scanned 1 file"), "{}", out.stderr);
    assert!(
        out.stderr.contains("commit blocked") && out.stderr.contains("leakstop:allow"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_index_is_scanned_not_the_working_tree() {
    let tree = repo();
    tree.write("app.py", "x = 1\n");
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "init"]);

    // Staged version has the secret; the working copy no longer does.
    tree.write("app.py", format!("x = 1\ntoken = '{GITHUB_PAT}'\n"));
    git(&tree, &["add", "app.py"]);
    tree.write("app.py", "x = 1\ntoken = os.environ['T']\n");
    let (out, report) = staged(&tree);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "app.py", 2, 10)]
    );

    // The reverse: clean index, secret only in the working tree.
    tree.write("app.py", "x = 1\ntoken = os.environ['T']\n");
    git(&tree, &["add", "app.py"]);
    tree.write("app.py", format!("x = 1\ntoken = '{GITHUB_PAT}'\n"));
    let (out, report) = staged(&tree);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(locations(&report), vec![]);
    assert!(out.stderr.contains("scanned 1 file"), "{}", out.stderr);
}

#[test]
fn only_added_lines_count_with_staged_line_numbers() {
    let tree = repo();
    tree.write(
        "settings.py",
        format!("OLD = '{GITHUB_PAT}'  # committed before leakstop\nA = 1\n"),
    );
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "init"]);
    tree.write("settings.py", format!("OLD = '{GITHUB_PAT}'  # committed before leakstop\nA = 1\nB = 2\nNEW = '{GITHUB_OAUTH}'\n"));
    git(&tree, &["add", "."]);
    let (out, report) = staged(&tree);
    assert_eq!(out.code, 1);
    assert_eq!(
        locations(&report),
        vec![loc("github.oauth", "settings.py", 4, 8)]
    );
}

#[test]
fn renames_deletions_and_binaries() {
    let tree = repo();
    tree.write("old.txt", format!("{GITHUB_PAT}\nline\n"))
        .write("gone.txt", format!("{GITHUB_PAT_2}\n"));
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "init"]);

    git(&tree, &["mv", "old.txt", "new.txt"]);
    git(&tree, &["rm", "-q", "gone.txt"]);
    let mut binary = b"\x00\x01bin".to_vec();
    binary.extend_from_slice(GITHUB_OAUTH.as_bytes());
    tree.write("img.bin", binary);
    git(&tree, &["add", "."]);
    let (out, report) = staged(&tree);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(locations(&report), vec![]);
    assert_eq!(report["stats"]["skipped"]["binary"], 1);

    // A renamed file with a new secret line: reported at the new path.
    tree.write("new.txt", format!("{GITHUB_PAT}\nline\nT={GITHUB_OAUTH}\n"));
    git(&tree, &["add", "."]);
    let (_, report) = staged(&tree);
    assert_eq!(
        locations(&report),
        vec![loc("github.oauth", "new.txt", 3, 3)]
    );
}

#[test]
fn nothing_staged_says_it_scanned_nothing() {
    let tree = repo();
    let (out, _) = staged(&tree);
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("scanned 0 files"), "{}", out.stderr);
}

#[test]
fn allow_comments_config_and_size_limit_apply_to_staged_scans() {
    let tree = repo();
    tree.write("a.txt", format!("T={GITHUB_PAT} # leakstop:allow\n"))
        .write("fixtures/b.txt", format!("{GITHUB_OAUTH}\n"))
        .write("big.txt", format!("{}\n{GITHUB_PAT_2}\n", "x".repeat(4000)))
        .write(
            ".leakstop.toml",
            "[allowlist]\npaths = [\"fixtures/\"]\n[scan]\nmax_file_size = \"2K\"\n",
        );
    git(&tree, &["add", "."]);
    let (out, report) = staged(&tree);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(report["stats"]["suppressed"]["allow_comment"], 1);
    assert_eq!(report["stats"]["skipped"]["allowlisted_path"], 1);
    assert_eq!(report["stats"]["skipped"]["too_large"], 1);
}

#[test]
fn outside_a_repository_is_a_usage_error() {
    let tree = Tree::new();
    let out = tree.leakstop(&["scan", "--staged", "."]);
    assert_eq!(out.code, 4);
    assert!(
        out.stderr.contains("needs a git repository"),
        "{}",
        out.stderr
    );
}
