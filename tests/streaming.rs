//! `--format jsonl` streams: each finding is written and flushed when it is
//! found, so a scan that is killed part-way leaves what it found.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn a_killed_history_scan_leaves_the_findings_it_had_already_written() {
    let tree = Tree::repo();
    tree.write("a.env", format!("TOKEN={GITHUB_PAT}\n"));
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "the leak"]);
    // Enough later history that the scan is still running when the first
    // line arrives (one worker reads the blobs in commit order).
    let filler = "let value = compute(input, 42); // ordinary code\n".repeat(20_000);
    for i in 0..120 {
        tree.write(&format!("later/part{i:03}.js"), format!("// {i}\n{filler}"));
    }
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "a lot of code"]);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("leakstop"))
        .args([
            "scan",
            "--git",
            "--format",
            "jsonl",
            "--no-progress",
            "-j",
            "1",
        ])
        .current_dir(tree.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("leakstop starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a line");
    let running = child.try_wait().expect("process state").is_none();
    child.kill().expect("kill");
    child.wait().expect("reaped");

    assert!(running, "the finding arrived only after the scan ended");
    assert!(first.ends_with('\n'), "a complete line: {first:?}");
    let finding: serde_json::Value = serde_json::from_str(&first).expect("a JSON finding");
    assert_eq!(finding["rule_id"], "github.pat-classic");
    assert_eq!(finding["path"], "a.env");
    assert!(!first.contains(GITHUB_PAT), "redacted in the stream too");
}

#[test]
fn a_streamed_report_has_the_same_findings_as_a_buffered_one() {
    let tree = Tree::repo();
    tree.write("one.env", format!("A={GITHUB_PAT}\n"));
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "one"]);
    tree.write("two.env", format!("B={GITHUB_OAUTH}\n"));
    tree.git(&["add", "-A"]);
    tree.git(&["commit", "-q", "-m", "two"]);

    let streamed = tree.leakstop(&["scan", "--git", "--format", "jsonl", "--no-progress"]);
    let (buffered_out, buffered) = tree.scan_json(&["--git"]);
    assert_eq!(streamed.code, 1, "{}", streamed.stderr);
    assert_eq!(buffered_out.code, 1);
    let mut lines: Vec<serde_json::Value> = streamed
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    lines.sort_by_key(|f| f["path"].as_str().unwrap_or_default().to_string());
    assert_eq!(&serde_json::Value::Array(lines), &buffered["findings"]);

    // What is streamed is what is reported: below --min-severity, nothing.
    let critical = tree.leakstop(&[
        "scan",
        "--git",
        "--format",
        "jsonl",
        "--no-progress",
        "--min-severity",
        "critical",
    ]);
    let (_, buffered) = tree.scan_json(&["--git", "--min-severity", "critical"]);
    assert_eq!(
        critical.stdout.lines().count(),
        buffered["findings"].as_array().map_or(0, Vec::len)
    );
    assert!(critical
        .stdout
        .lines()
        .all(|line| line.contains("\"severity\":\"critical\"")));
}
