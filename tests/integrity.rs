//! The scanner as a security gate (issue 14): input it does not control
//! cannot talk it out of a finding, make it read without end, pass an
//! unscanned input off as clean, or write control characters to a terminal.

mod common;

use common::*;

/// Issue 14 item 4: a marker 20 KB away in a one-line bundle silenced a
/// GitHub token; a marker counts only in a comment near the secret, on a
/// line that is not minified, and never in decoded text.
#[test]
fn far_minified_and_decoded_allow_markers_do_not_suppress() {
    let tree = Tree::new();
    let padding = "a=1;".repeat(5_000);
    tree.write(
        "dist/app.js",
        format!("var t=\"{GITHUB_PAT}\";{padding}/* gitleaks:allow */\n"),
    );
    // The marker only exists once base64 is decoded.
    let encoded = b64(format!("token={GITHUB_PAT_2} # leakstop:allow").as_bytes());
    tree.write("config.js", format!("const c = atob(\"{encoded}\");\n"));
    // A marker next to the secret, in a comment, still counts.
    tree.write(
        "fixture.py",
        format!("TOKEN = '{GITHUB_OAUTH}'  # leakstop:allow\n"),
    );
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut found = locations(&report);
    found.sort();
    assert_eq!(
        found,
        vec![
            loc("github.pat-classic", "config.js", 1, 25),
            loc("github.pat-classic", "dist/app.js", 1, 8),
        ]
    );
    assert_eq!(report["stats"]["suppressed"]["allow_comment"], 1);
}

/// The bytes a terminal acts on: no raw ESC, BEL, CR, other C0/C1 controls
/// or DEL in text meant for a terminal (tab and line feed are layout).
fn assert_no_controls(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| c.is_control() && c != '\n' && c != '\t')
        .collect();
    assert!(bad.is_empty(), "{what} holds {bad:?}:\n{text}");
}

/// Issue 14 item 13: a file name with ESC ]0; … BEL set the terminal's
/// title; one with a line feed could forge a finding line; a corrupt
/// archive's name reached the summary raw.
#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let tree = Tree::new();
    tree.write("a\x1b]0;pwned\x07.env", format!("T={GITHUB_PAT}\n"));
    tree.write(
        "b\nforged.js:9:9: critical fake.rule [Forged]\x1b[2J.env",
        format!("T={GITHUB_PAT_2}\n"),
    );
    tree.write("c\x1b[31m.zip", b"PK\x03\x04 not really a zip");
    let out = tree.leakstop(&["scan", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_no_controls("stdout", &out.stdout);
    assert_no_controls("stderr", &out.stderr);
    assert!(
        out.stdout.contains("a\\x1b]0;pwned\\x07.env:1:3"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("forged.js")),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("c\\x1b[31m.zip"), "{}", out.stderr);
}

/// Issue 14 item 13: CSV cells a spreadsheet would run as a formula start
/// with `'` (OWASP); the CSV still parses to the same number of columns.
#[test]
fn csv_cells_that_look_like_formulas_are_defused() {
    let tree = Tree::new();
    tree.write("=HYPERLINK(1).env", format!("T={GITHUB_PAT}\n"));
    tree.write("@cmd.env", format!("T={GITHUB_PAT_2}\n"));
    let out = tree.leakstop(&["scan", "--format", "csv", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let rows: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    let paths: Vec<&str> = rows.iter().map(|r| r.split(',').nth(2).unwrap()).collect();
    assert!(paths.contains(&"'=HYPERLINK(1).env"), "{paths:?}");
    assert!(paths.contains(&"'@cmd.env"), "{paths:?}");
}

/// `(kind, path)` of every error in a JSON report.
fn errors(report: &serde_json::Value) -> Vec<(String, String)> {
    report["stats"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind").to_string(),
                e["path"].as_str().expect("path").to_string(),
            )
        })
        .collect()
}

/// Issue 14 item 6: a refused archive entry (bomb ratio, nesting past 3,
/// over the size limit) was a warning and the run exited 0, while the same
/// file on disk is a finding. Now each is an `archive_refused` error and the
/// run is incomplete.
#[test]
fn refused_archive_entries_make_the_scan_incomplete() {
    let secret = format!("t={GITHUB_PAT}\n");
    let mut padded = secret.clone().into_bytes();
    padded.extend(vec![b' '; 30 << 20]);
    let mut nested = zip(&[("deep.txt", secret.as_bytes())]);
    for level in (1..=3).rev() {
        nested = zip(&[(&format!("level{level}.zip"), &nested)]);
    }
    for (name, archive, extra) in [
        ("bomb.zip", zip(&[("a.txt", &padded)]), vec![]),
        ("outer.zip", nested, vec![]),
        (
            "big.zip",
            zip(&[("a.txt", secret.repeat(100).as_bytes())]),
            vec!["--max-file-size", "1K"],
        ),
    ] {
        let tree = Tree::new();
        tree.write(name, archive);
        let (out, report) = tree.scan_json(&extra);
        assert_eq!(out.code, 3, "{name}: {}", out.stderr);
        let errors = errors(&report);
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
        assert_eq!(errors[0].0, "archive_refused", "{name}");
        assert!(errors[0].1.starts_with(&format!("{name}!")), "{errors:?}");
        assert!(out.stderr.contains("INCOMPLETE"), "{}", out.stderr);
    }
}

/// Issue 14 item 6: a base64 run over the decoding limit (1 MiB) was passed
/// over without a word; now a `decode_limit` warning says so.
#[test]
fn an_over_long_base64_run_is_reported() {
    let tree = Tree::new();
    let text = format!("token={GITHUB_PAT} ").repeat((1 << 20) / 40);
    tree.write("blob.js", format!("var d=\"{}\";\n", b64(text.as_bytes())));
    let (out, report) = tree.scan_json(&[]);
    let warnings = report["stats"]["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w["kind"] == "decode_limit"
            && w["path"] == "blob.js"
            && w["message"]
                .as_str()
                .is_some_and(|m| m.contains("base64 run longer than 1.0 MiB"))),
        "{warnings:?}\n{}",
        out.stderr
    );
}

/// Issue 14 item 6: `-`, `/dev/stdin`, `<(…)` and a FIFO named explicitly
/// were "scanned 0 files", exit 0; they are read as a stream.
#[test]
fn stdin_and_fifos_named_explicitly_are_read_as_streams() {
    let tree = Tree::new();
    let input = format!("GITHUB_TOKEN={GITHUB_PAT}\n");
    for path in ["-", "/dev/stdin"] {
        let output = assert_cmd::Command::cargo_bin("leakstop")
            .expect("binary")
            .current_dir(tree.path())
            .args(["scan", "--format", "json", path])
            .write_stdin(input.clone())
            .output()
            .expect("run");
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        assert_eq!(output.status.code(), Some(1), "{path}: {report}");
        assert_eq!(report["findings"][0]["line"], 1, "{path}");
        assert_eq!(report["stats"]["files_scanned"], 1, "{path}");
    }
    let fifo = tree.join("pipe");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        let input = input.clone();
        std::thread::spawn(move || std::fs::write(fifo, input).expect("write fifo"))
    };
    let (out, report) = tree.scan_json_path(&[], "pipe");
    writer.join().expect("writer");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(report["findings"][0]["path"], "pipe");
    // Process substitution, as a shell user writes it.
    let binary = assert_cmd::cargo::cargo_bin("leakstop");
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' scan --format json <(printf 'T={GITHUB_PAT}\\n')",
            binary.display()
        ))
        .output()
        .expect("bash");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}

/// Issue 14 item 6: a FIFO met while walking a directory is skipped and
/// counted (reading it could block forever), and the walk goes on.
#[test]
fn fifos_in_a_walked_directory_are_skipped_and_counted() {
    let tree = Tree::new();
    tree.write("a.env", format!("T={GITHUB_PAT}\n"));
    mkfifo(&tree.join("pipe"));
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(report["stats"]["skipped"]["special_file"], 1);
    assert!(
        out.stderr.contains("1 FIFOs, sockets and devices"),
        "{}",
        out.stderr
    );
}

/// Issue 14 item 6: `--max-file-size 18446744073709551615` made the read
/// limit `max + 1` wrap to 0: "0 B scanned", exit 0 (a panic in debug
/// builds). The limit saturates instead.
#[test]
fn the_largest_size_limit_does_not_wrap_to_zero() {
    let tree = Tree::new();
    tree.write("a.env", format!("T={GITHUB_PAT}\n"));
    let (out, report) = tree.scan_json(&["--max-file-size", "18446744073709551615"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(report["stats"]["files_scanned"], 1);
    assert_eq!(report["stats"]["bytes_scanned"], 43);
}

/// `leakstop scan --format json <args> .` in `tree`, killed after 20 s (a
/// scanner reading /dev/zero or waiting on a FIFO would never end).
fn scan_bounded(tree: &Tree, args: &[&str]) -> (i32, serde_json::Value, String) {
    let output = assert_cmd::Command::cargo_bin("leakstop")
        .expect("binary")
        .current_dir(tree.path())
        .env("NO_COLOR", "1")
        .args(["scan", "--format", "json"])
        .args(args)
        .arg(".")
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let code = output.status.code().unwrap_or(-1);
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("json ({e}), exit {code}: {stderr}"));
    (code, report, stderr)
}

fn mkfifo(path: &std::path::Path) {
    assert!(std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo")
        .success());
}

/// Issue 14 item 7: a bundle's sibling map symlinked to /dev/zero (GBs of
/// memory in seconds), a FIFO (a hang), a sparse 1 GiB map (skipped as a
/// file yet read as a map) and a map linked from outside the root (used)
/// are each refused with a warning; the bundle's finding is still reported.
#[test]
fn sibling_source_maps_are_read_only_when_regular_small_and_inside() {
    let outside = Tree::new();
    outside.write(
        "app.js.map",
        r#"{"version":3,"sources":["../../secret/outside.ts"],"names":[],"mappings":"AAAA"}"#,
    );
    type Make<'a> = Box<dyn Fn(&std::path::Path) + 'a>;
    let cases: Vec<(&str, Make, &[&str])> = vec![
        (
            "symlink to /dev/zero",
            Box::new(|map| std::os::unix::fs::symlink("/dev/zero", map).unwrap()),
            &[],
        ),
        ("FIFO", Box::new(mkfifo), &[]),
        (
            "sparse 1 GiB",
            Box::new(|map| {
                std::fs::File::create(map)
                    .unwrap()
                    .set_len(1 << 30)
                    .unwrap()
            }),
            &[],
        ),
        (
            "link from outside the root",
            Box::new(|map| std::os::unix::fs::symlink(outside.join("app.js.map"), map).unwrap()),
            &["--follow-symlinks"],
        ),
    ];
    for (what, make, flags) in cases {
        let tree = Tree::new();
        tree.write("dist/app.js", format!("var t=\"{GITHUB_PAT}\";\n"));
        make(&tree.join("dist/app.js.map"));
        let (code, report, stderr) = scan_bounded(&tree, flags);
        assert_eq!(code, 1, "{what}: {stderr}");
        let finding = &report["findings"][0];
        assert_eq!(finding["path"], "dist/app.js", "{what}");
        assert!(finding.get("original").is_none(), "{what}: {finding}");
        let warnings = report["stats"]["warnings"].as_array().expect("warnings");
        assert!(
            warnings.iter().any(|w| w["kind"] == "source_map_missing"
                && w["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("dist/app.js.map not read"))),
            "{what}: {warnings:?}"
        );
    }
}

/// Issue 14 item 7: `.gitignore`/`.ignore` linked to /dev/zero or a FIFO
/// (the walker reads them itself) are never read: at the root the scan goes
/// on without ignore files, with a warning; in a subdirectory the directory
/// is left out and the scan is incomplete.
#[test]
fn ignore_files_that_are_links_to_devices_or_fifos_are_not_read() {
    let tree = Tree::new();
    tree.write("a.env", format!("T={GITHUB_PAT}\n"));
    std::os::unix::fs::symlink("/dev/zero", tree.join(".gitignore")).unwrap();
    let (code, report, stderr) = scan_bounded(&tree, &[]);
    assert_eq!(code, 1, "{stderr}");
    let warnings = report["stats"]["warnings"].as_array().expect("warnings");
    assert_eq!(warnings[0]["kind"], "ignore_file", "{warnings:?}");

    let tree = Tree::new();
    tree.write("sub/a.env", format!("T={GITHUB_PAT}\n"));
    tree.write("other/b.txt", "nothing\n");
    mkfifo(&tree.join("sub/.ignore"));
    let (code, report, stderr) = scan_bounded(&tree, &[]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(
        errors(&report),
        vec![("ignore_file".to_string(), "sub/.ignore".to_string())]
    );
}
