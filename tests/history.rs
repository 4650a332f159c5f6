//! `scan --git` read in-process from the object database: renames, merges,
//! tags on blobs, linked worktrees, submodules and corrupt objects.

mod common;

use common::*;

fn commit_all(tree: &Tree, message: &str) -> String {
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", message]);
    tree.git(&["rev-parse", "HEAD"])
}

#[test]
fn a_renamed_and_edited_file_does_not_report_its_old_secret_again() {
    let tree = Tree::repo();
    tree.write("app.py", format!("A = '{GITHUB_PAT}'\n"));
    let first = commit_all(&tree, "add");
    tree.git(&["mv", "app.py", "main.py"]);
    tree.write(
        "main.py",
        format!("A = '{GITHUB_PAT}'\nB = '{GITHUB_OAUTH}'\n"),
    );
    let renamed = commit_all(&tree, "rename and add a second secret");

    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", "app.py", 1, 6),
            loc("github.oauth", "main.py", 2, 6),
        ]
    );
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings[0]["commit"]["id"], first.as_str());
    assert_eq!(findings[1]["commit"]["id"], renamed.as_str());
}

#[test]
fn a_merge_does_not_claim_what_its_side_branch_introduced() {
    let tree = Tree::repo();
    tree.write("README", "hello\n");
    commit_all(&tree, "init");
    tree.git(&["checkout", "-q", "-b", "feature"]);
    tree.write("feature.env", format!("T={GITHUB_PAT}\n"));
    let side = commit_all(&tree, "feature");
    tree.git(&["checkout", "-q", "main"]);
    tree.write("other.txt", "unrelated\n");
    commit_all(&tree, "main moves on");
    tree.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    tree.git(&["branch", "-q", "-D", "feature"]);

    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "feature.env", 1, 3)]
    );
    let finding = &report["findings"][0];
    assert_eq!(finding["commit"]["id"], side.as_str());
    assert_eq!(
        finding["other_occurrences"], 1,
        "the merge brought the same blob into main"
    );
    assert!(out.stderr.contains("walked 4 commits"), "{}", out.stderr);
}

#[test]
fn a_tag_on_a_bare_blob_is_scanned() {
    let tree = Tree::repo();
    tree.write("README", "hello\n");
    commit_all(&tree, "init");
    std::fs::write(tree.join("loose.txt"), format!("{GITHUB_OAUTH}\n")).unwrap();
    let blob = tree.git(&["hash-object", "-w", "loose.txt"]);
    std::fs::remove_file(tree.join("loose.txt")).unwrap();
    tree.git(&["tag", "blob-tag", &blob]);

    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.oauth", "refs/tags/blob-tag", 1, 1)]
    );
    assert!(report["findings"][0].get("commit").is_none());
}

#[test]
fn a_linked_worktree_scans_the_shared_history() {
    let tree = Tree::repo();
    tree.write("app.env", format!("T={GITHUB_PAT}\n"));
    commit_all(&tree, "leak");
    tree.write("app.env", "T=\n");
    commit_all(&tree, "fix");
    let linked = tree.join("linked");
    tree.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "wt",
        linked.to_str().unwrap(),
    ]);

    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakstop"))
        .args(["scan", "--git", "--format", "json", "--no-progress"])
        .arg(&linked)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "app.env", 1, 3)]
    );
}

#[test]
fn submodule_gitlinks_are_skipped_with_a_warning() {
    let tree = Tree::repo();
    tree.write("README", "hello\n");
    let first = commit_all(&tree, "init");
    tree.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{first},vendor/lib"),
    ]);
    tree.git(&["commit", "-q", "-m", "add a submodule"]);

    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(locations(&report), vec![]);
    assert!(
        out.stderr.contains("vendor/lib") && out.stderr.contains("submodule"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_corrupt_object_is_named_and_the_rest_is_scanned() {
    let tree = Tree::repo();
    tree.write("broken.txt", "this blob will be damaged\n")
        .write("leak.env", format!("T={GITHUB_PAT}\n"));
    commit_all(&tree, "init");
    let broken = tree.git(&["rev-parse", "HEAD:broken.txt"]);
    let file = tree.join(&format!(".git/objects/{}/{}", &broken[..2], &broken[2..]));
    let mut permissions = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&file, permissions).unwrap();
    std::fs::write(&file, b"not zlib at all").unwrap();

    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "leak.env", 1, 3)]
    );
    assert!(
        out.stderr.contains("INCOMPLETE") && out.stderr.contains(&broken),
        "{}",
        out.stderr
    );
}

#[test]
fn history_reads_packed_objects() {
    let tree = Tree::repo();
    tree.write("a.env", format!("T={GITHUB_PAT}\n"));
    commit_all(&tree, "one");
    for n in 0..5 {
        tree.write("a.env", format!("T={GITHUB_PAT}\nN={n}\n"));
        commit_all(&tree, "edit");
    }
    tree.write("b.env", format!("T={GITHUB_OAUTH}\n"));
    commit_all(&tree, "two");
    tree.git(&["gc", "-q", "--aggressive", "--prune=now"]);
    let loose = std::fs::read_dir(tree.join(".git/objects"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().len() == 2)
        .count();
    assert_eq!(loose, 0, "everything is packed, with deltas");

    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", "a.env", 1, 3),
            loc("github.oauth", "b.env", 1, 3),
        ]
    );
    assert_eq!(report["stats"]["files_scanned"], 7);

    let (out, one_thread) = tree.scan_json(&["--git", "--threads", "1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(one_thread["findings"], report["findings"]);
}

#[test]
fn the_oldest_of_several_introductions_is_the_one_reported() {
    let tree = Tree::repo();
    tree.write("README", "hello\n");
    commit_all(&tree, "init");
    // Six branches add the same file; the last one created is the oldest.
    let mut oldest = String::new();
    for n in 0..6 {
        tree.git(&["checkout", "-q", "-b", &format!("b{n}"), "main"]);
        tree.write(&format!("b{n}.env"), format!("T={GITHUB_PAT}\n"));
        tree.git(&["add", "-A"]);
        let date = format!("2020-01-{:02}T12:00:00+00:00", 20 - n);
        let status = std::process::Command::new("git")
            .current_dir(tree.path())
            .args(["commit", "-q", "-m", "add"])
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .status()
            .unwrap();
        assert!(status.success());
        oldest = tree.git(&["rev-parse", "HEAD"]);
    }

    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "b5.env", 1, 3)]
    );
    assert_eq!(report["findings"][0]["commit"]["id"], oldest.as_str());
    assert_eq!(
        report["findings"][0]["commit"]["date"],
        "2020-01-15T12:00:00+00:00"
    );
    assert_eq!(report["findings"][0]["other_occurrences"], 5);
}

/// Writes a loose blob whose header claims `claimed` bytes but whose stream
/// holds a few: inflating it fails, so only a scan that checks the header
/// size first can skip it cleanly. Returns its id.
fn loose_blob_claiming(tree: &Tree, claimed: u64) -> String {
    use std::io::Write;
    let id = "abad1dea".repeat(5);
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(format!("blob {claimed}\0only a few bytes").as_bytes())
        .unwrap();
    tree.write(
        &format!(".git/objects/{}/{}", &id[..2], &id[2..]),
        encoder.finish().unwrap(),
    );
    id
}

/// Issue 14 item 8: a blob over `--max-file-size` is skipped by its header
/// size, never inflated (history, range and staged scans alike).
#[test]
fn an_oversized_blob_is_skipped_by_its_header_without_being_inflated() {
    let tree = Tree::repo();
    tree.write("a.txt", format!("T={GITHUB_PAT}\n"));
    let base = commit_all(&tree, "init");
    let huge = loose_blob_claiming(&tree, 3_000_000_000);
    tree.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{huge},huge.txt"),
    ]);

    let (out, report) = tree.scan_json(&["--staged", "--max-file-size", "1M"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(report["stats"]["skipped"]["too_large"], 1);

    tree.git(&["commit", "-q", "--no-verify", "-m", "huge"]);
    let (out, report) = tree.scan_json(&["--git", "--max-file-size", "1M"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("INCOMPLETE"), "{}", out.stderr);
    assert_eq!(report["stats"]["skipped"]["too_large"], 1);
    let (out, report) =
        tree.scan_json(&["--range", &format!("{base}..HEAD"), "--max-file-size", "1M"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(report["stats"]["skipped"]["too_large"], 1);
}

/// Issue 14 item 8: `-j 5000` does not start 5,000 threads.
#[test]
fn absurd_thread_counts_are_capped_with_a_warning() {
    let tree = Tree::repo();
    tree.write("a.txt", format!("T={GITHUB_PAT}\n"));
    commit_all(&tree, "init");
    let (out, report) = tree.scan_json(&["--git", "-j", "5000"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(locations(&report).len(), 1);
    assert!(
        out.stderr.contains("--threads 5000 capped at"),
        "{}",
        out.stderr
    );
    let (out, _) = tree.scan_json(&["-j", "5000"]);
    assert!(out.stderr.contains("capped at"), "{}", out.stderr);
}

/// Commits are read and diffed in chunks (1,024 at a time); a commit whose
/// parent was diffed in an earlier chunk must still be compared with that
/// parent's tree, or its edited file would look new and old secrets would
/// be reported again.
#[test]
fn a_history_longer_than_one_chunk_attributes_each_secret_once() {
    use std::io::Write;
    let tree = Tree::repo();
    let mut stream = String::new();
    for n in 0..1_100 {
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter T <t@example.com> {} +0000\ndata 4\nedit\n",
            1_700_000_000 + n
        ));
        // Commit 1,024 (the first of the second chunk) adds B to the
        // file its parent, in the first chunk, had with A.
        let config = if n < 1_024 {
            format!("A={GITHUB_PAT}\n")
        } else {
            format!("A={GITHUB_PAT}\nB={GITHUB_OAUTH}\n")
        };
        let counter = format!("{n}\n");
        for (path, data) in [("config.env", config), ("counter.txt", counter)] {
            stream.push_str(&format!(
                "M 100644 inline {path}\ndata {}\n{data}\n",
                data.len()
            ));
        }
    }
    let mut import = std::process::Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(tree.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    import
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(import.wait().unwrap().success());
    let first = tree.git(&["rev-list", "--max-parents=0", "main"]);
    let added = tree.git(&["rev-list", "--skip=75", "--max-count=1", "main"]);

    let (out, report) = tree.scan_json(&["--git"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", "config.env", 1, 3),
            loc("github.oauth", "config.env", 2, 3),
        ]
    );
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings[0]["commit"]["id"], first.as_str());
    assert_eq!(findings[1]["commit"]["id"], added.as_str());
    assert_eq!(findings[1]["other_occurrences"], 0);
}

/// Packed history is read in delta order (each family of versions walked
/// from its full base), loose history one object at a time: both must
/// report the same findings, attributed to the same commits, and skip the
/// same oversized blobs.
#[test]
fn a_packed_history_reports_what_the_loose_one_does() {
    let tree = Tree::repo();
    let mut lines: Vec<String> = (0..200).map(|i| format!("setting_{i} = {i}")).collect();
    for version in 0..30 {
        lines[(version * 13) % 200] = format!("setting_changed = {version}");
        if version == 10 {
            lines.push(format!("token = '{GITHUB_PAT}'"));
        }
        if version == 20 {
            lines.push(format!("oauth = '{GITHUB_OAUTH}'"));
        }
        tree.write("settings.py", lines.join("\n"));
        // Grows past the size limit used below after a few versions.
        tree.write("big.txt", "filler line\n".repeat(100 + 40 * version));
        commit_all(&tree, &format!("version {version}"));
    }
    let scan = |extra: &[&str]| {
        let mut args = vec!["--git"];
        args.extend_from_slice(extra);
        let (out, report) = tree.scan_json(&args);
        assert_eq!(out.code, 1, "{}", out.stderr);
        report
    };
    let loose = scan(&[]);
    let loose_limited = scan(&["--max-file-size", "8K"]);
    tree.git(&["repack", "-adfq", "--depth=50", "--window=250"]);
    let chains = tree.git(&["verify-pack", "-s", &pack_index(&tree)]);
    assert!(
        chains.contains("chain length = 10"),
        "long chains: {chains}"
    );
    let packed = scan(&[]);
    let packed_limited = scan(&["--max-file-size", "8K"]);

    assert_eq!(
        locations(&packed),
        vec![
            loc("github.pat-classic", "settings.py", 201, 10),
            loc("github.oauth", "settings.py", 202, 10),
        ]
    );
    assert_eq!(packed["findings"], loose["findings"]);
    assert_eq!(packed["stats"]["files_scanned"], 60);
    assert_eq!(
        packed["stats"]["files_scanned"],
        loose["stats"]["files_scanned"]
    );
    assert_eq!(packed_limited["findings"], loose_limited["findings"]);
    let too_large = &packed_limited["stats"]["skipped"]["too_large"];
    assert!(too_large.as_u64().unwrap() > 5, "{too_large}");
    assert_eq!(too_large, &loose_limited["stats"]["skipped"]["too_large"]);
}

fn pack_index(tree: &Tree) -> String {
    std::fs::read_dir(tree.join(".git/objects/pack"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .unwrap()
        .display()
        .to_string()
}
