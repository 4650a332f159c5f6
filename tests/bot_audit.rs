//! `leakstop audit verify` against a real bot audit log, untouched and
//! tampered with in each way: a changed, a deleted, an inserted and a
//! reordered record are each found and named, with a failing exit code.

#[path = "common/bot_fakes.rs"]
mod bot_fakes;
#[path = "common/bot_setup.rs"]
mod bot_setup;
mod common;

use bot_setup::Setup;
use common::GITHUB_PAT;

fn tampered(setup: &Setup, edit: impl Fn(&mut Vec<String>)) -> common::Output {
    let path = setup.path("audit.jsonl");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = original.lines().map(str::to_string).collect();
    edit(&mut lines);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = setup.audit_verify();
    std::fs::write(&path, original).unwrap();
    out
}

#[test]
fn audit_verify_names_each_kind_of_tampering() {
    let setup = Setup::new(
        &[("config/.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"))],
        &[GITHUB_PAT],
    );
    assert_eq!(setup.run().code, 0);
    let clean = setup.audit_verify();
    assert_eq!(clean.code, 0, "{}", clean.stdout);

    let changed = tampered(&setup, |lines| {
        lines[3] = lines[3].replace("\"outcome\":\"accepted", "\"outcome\":\"refused");
    });
    assert_ne!(changed.code, 0);
    assert!(
        changed.stdout.contains("line 4 (record 4): changed"),
        "{}",
        changed.stdout
    );

    let deleted = tampered(&setup, |lines| {
        lines.remove(2);
    });
    assert_ne!(deleted.code, 0);
    assert!(
        deleted.stdout.contains("record 3 deleted"),
        "{}",
        deleted.stdout
    );

    let inserted = tampered(&setup, |lines| {
        let copy = lines[1].clone();
        lines.insert(2, copy);
    });
    assert_ne!(inserted.code, 0);
    assert!(
        inserted.stdout.contains("line 3 (record 2): inserted"),
        "{}",
        inserted.stdout
    );

    let reordered = tampered(&setup, |lines| lines.swap(2, 3));
    assert_ne!(reordered.code, 0);
    assert!(
        reordered.stdout.contains("reordered"),
        "{}",
        reordered.stdout
    );

    // A run refuses to append to a broken chain.
    let path = setup.path("audit.jsonl");
    let original = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, original.replacen("\"verify\"", "\"verified\"", 1)).unwrap();
    let refused = setup.run();
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("the log is broken"),
        "{}",
        refused.stderr
    );
}
