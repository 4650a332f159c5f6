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

/// Names git's text output quotes (`core.quotePath`): a space, a tab, `"`,
/// `\`, a newline, ESC, and non-ASCII.
const AWKWARD_NAMES: [&str; 7] = [
    "My Project/.env",
    "tab\there.env",
    "quote\"d.env",
    "back\\slash.env",
    "new\nline.env",
    "esc\x1b[2J.env",
    "ünïcode dir/kéy.env",
];

/// Issue 14 item 1: unusual paths do not slip past `--staged`, new or modified.
#[test]
fn paths_git_would_quote_are_scanned_new_and_modified() {
    let tree = repo();
    for name in AWKWARD_NAMES {
        tree.write(name, format!("GITHUB_TOKEN={GITHUB_PAT}\n"));
    }
    git(&tree, &["add", "-A"]);
    let (out, report) = staged(&tree);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut found: Vec<String> = locations(&report).into_iter().map(|l| l.1).collect();
    found.sort();
    let mut expected: Vec<String> = AWKWARD_NAMES.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(found, expected);

    git(&tree, &["commit", "-q", "--no-verify", "-m", "init"]);
    for name in AWKWARD_NAMES {
        tree.write(
            name,
            format!("GITHUB_TOKEN={GITHUB_PAT}\nOTHER={GITHUB_OAUTH}\n"),
        );
    }
    git(&tree, &["add", "-A"]);
    let (out, report) = staged(&tree);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let found = locations(&report);
    assert_eq!(found.len(), AWKWARD_NAMES.len(), "{found:?}");
    assert!(found
        .iter()
        .all(|(rule, _, line, _)| rule == "github.oauth" && *line == 2));
}

/// Issue 14 item 2: `.gitattributes` cannot turn a staged file into
/// "Binary files differ": the blobs themselves are compared.
#[test]
fn diff_attributes_and_drivers_do_not_hide_staged_content() {
    let tree = repo();
    tree.write(
        ".gitattributes",
        "secret.env -diff\n*.dat binary\nhidden.cfg diff=hide\n",
    )
    .write("secret.env", "A=1\n")
    .write("keys.dat", "B=2\n")
    .write("hidden.cfg", "C=3\n");
    git(&tree, &["config", "diff.hide.binary", "true"]);
    git(&tree, &["config", "diff.hide.textconv", "true"]);
    git(&tree, &["add", "-A"]);
    git(&tree, &["commit", "-q", "--no-verify", "-m", "init"]);

    // Modified: only the added line counts, numbered as in the staged file.
    tree.write("secret.env", format!("A=1\nGITHUB_TOKEN={GITHUB_PAT}\n"))
        .write("keys.dat", format!("B=2\nT={GITHUB_OAUTH}\n"))
        .write("hidden.cfg", format!("C=3\nT={GITHUB_PAT_2}\n"))
        // New, with the same attributes.
        .write("new.dat", format!("{GITHUB_PAT}\n"));
    git(&tree, &["add", "-A"]);
    let (out, report) = staged(&tree);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", "hidden.cfg", 2, 3),
            loc("github.oauth", "keys.dat", 2, 3),
            loc("github.pat-classic", "new.dat", 1, 1),
            loc("github.pat-classic", "secret.env", 2, 14),
        ]
    );
}

/// `git commit -a` stages into a temporary index named by GIT_INDEX_FILE:
/// the hook judges that index, not `.git/index`.
#[test]
fn the_hook_judges_the_index_git_commit_will_record() {
    let tree = repo();
    tree.write("app.py", "x = 1\n");
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "init"]);
    assert_eq!(tree.leakstop(&["hook", "install"]).code, 0);
    tree.write("app.py", format!("x = 1\ntoken = '{GITHUB_PAT}'\n"));
    // Nothing staged in .git/index; `-a` stages the change for this commit.
    let commit = tree.git_output(&["commit", "-q", "-a", "-m", "leak"]);
    assert!(
        !commit.status.success(),
        "the commit must be blocked: {}",
        String::from_utf8_lossy(&commit.stderr)
    );
    assert!(String::from_utf8_lossy(&commit.stderr).contains("app.py:2:10"));
}
