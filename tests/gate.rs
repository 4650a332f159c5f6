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
