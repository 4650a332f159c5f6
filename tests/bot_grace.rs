//! The grace period (issue 9, "deactivated, then deleted after grace"): a
//! leaked AWS key is deactivated at once and kept, confirmed dead, for the
//! policy's `grace`; the first run after it deletes the key with
//! `DeleteAccessKey`, confirms it dead again and closes the incident. The
//! clock moves with `LEAKSTOP_BOT_NOW`, as for the overlap window; the fake
//! IAM on 127.0.0.1 answers `NoSuchEntity` (404) to a second delete, as
//! AWS does, and a run killed around the delete must finish on the next one
//! without an error loop.

#[path = "common/bot_fakes.rs"]
mod bot_fakes;
#[path = "common/bot_setup.rs"]
mod bot_setup;
mod common;

use bot_setup::Setup;

const KEY_ID: &str = "AKIA222UC9KG0RG13CKD";
const SECRET: &str = "KdrwIpQER9ivzmahzCf793LUGivmiCdNuvcyPQju";
const ADMIN_ID: &str = "AKIAADMIN00000000001";
const ADMIN_SECRET: &str = "admin/secret/value/that/signs/iam/calls0";
const DAY: u64 = 86_400;

/// A leaked AWS pair, the admin credentials in the policy, a 7-day grace
/// (the default, written out).
fn setup() -> Setup {
    let mut setup = Setup::new(
        &[(
            ".aws/credentials",
            format!("[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"),
        )],
        &[KEY_ID],
    );
    setup.secrets.extend([SECRET, ADMIN_SECRET]);
    setup
        .providers
        .state
        .lock()
        .unwrap()
        .admin_keys
        .insert(ADMIN_ID.into());
    setup.tree.write(
        "leakstop-bot.toml",
        "[defaults]\ngrace = \"7d\"\n\n[credentials.aws]\naccess_key_id = \"BOT_AWS_KEY_ID\"\nsecret_access_key = \"BOT_AWS_SECRET\"\n",
    );
    setup
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `bot run --execute` with the store `store`, `days` from now, `extra` env.
fn run_at(setup: &Setup, store: &str, days: u64, extra: &[(&str, &str)]) -> common::Output {
    let at = (now() + days * DAY).to_string();
    let mut env = vec![
        ("BOT_AWS_KEY_ID", ADMIN_ID),
        ("BOT_AWS_SECRET", ADMIN_SECRET),
        ("LEAKSTOP_BOT_NOW", at.as_str()),
    ];
    env.extend_from_slice(extra);
    setup.bot_with("run", store, &["--execute"], &env)
}

fn deleted(setup: &Setup) -> bool {
    setup
        .providers
        .state
        .lock()
        .unwrap()
        .deleted
        .contains(KEY_ID)
}

/// The audit log's records for `action`, as `phase outcome`.
fn audited(setup: &Setup, action: &str) -> Vec<String> {
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["action"] == action)
        .map(|r| {
            format!(
                "{} {}",
                r["phase"].as_str().unwrap(),
                r["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

/// The first run deactivates the key and leaves the incident confirmed
/// dead, waiting for the grace period.
fn deactivated(setup: &Setup, store: &str) {
    let out = run_at(setup, store, 0, &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        setup.aws_calls(),
        [
            format!("GetCallerIdentity ({KEY_ID})"),
            format!("GetAccessKeyLastUsed ({ADMIN_ID})"),
            format!("UpdateAccessKey ({ADMIN_ID})"),
            format!("GetCallerIdentity ({KEY_ID})"),
        ]
    );
    assert!(
        out.stdout
            .contains("the deactivated key is deleted by the first run after"),
        "{}",
        out.stdout
    );
    assert!(!deleted(setup));
}

#[test]
fn a_deactivated_aws_key_is_deleted_after_the_grace_period_confirmed_dead_and_closed() {
    let setup = setup();
    deactivated(&setup, "bot.sqlite");
    assert!(setup.status("bot.sqlite").contains("1 confirmed_dead"));
    let issue = &setup.github.issues()[0];
    assert!(issue.open, "open until the key is deleted");
    assert!(
        issue
            .body
            .contains("| Deactivated key deleted not before |"),
        "{}",
        issue.body
    );

    // Within the grace period: nothing is sent, nothing changes.
    let out = run_at(&setup, "bot.sqlite", 6, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(setup.aws_calls().len(), 4, "{:?}", setup.aws_calls());
    assert!(setup.github.issues()[0].open);
    assert!(audited(&setup, "delete").is_empty());

    // After it: DeleteAccessKey with the admin credentials for the user STS
    // named, one more STS check, and the incident and its issue are closed.
    let out = run_at(&setup, "bot.sqlite", 8, &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let all = setup.aws_calls();
    assert_eq!(
        all[4..],
        [
            format!("DeleteAccessKey ({ADMIN_ID})"),
            format!("GetCallerIdentity ({KEY_ID})"),
        ]
    );
    assert_eq!(
        setup.providers.server.requests()[4].body,
        format!("Action=DeleteAccessKey&AccessKeyId={KEY_ID}&UserName=alice&Version=2010-05-08")
    );
    assert!(deleted(&setup));
    assert!(setup.status("bot.sqlite").contains("1 closed"));
    let issue = &setup.github.issues()[0];
    assert!(!issue.open, "closed with the incident");
    assert!(
        issue
            .comments
            .last()
            .is_some_and(|c| c.contains("**closed**") && c.contains("deleted via")),
        "{:?}",
        issue.comments
    );
    assert!(issue.body.contains("| delete | done |"), "{}", issue.body);
    assert_eq!(
        audited(&setup, "delete"),
        [
            "intent pending".to_string(),
            "result deleted: POST ".to_string()
                + &setup.providers.server.url
                + "/ (iam:DeleteAccessKey, signed with the policy's admin credentials)",
        ]
    );
    let audit = std::fs::read_to_string(setup.path("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"request_id\":\"req-iam-delete\""),
        "{audit}"
    );
    assert_eq!(setup.audit_verify().code, 0);

    // And a later run repeats nothing.
    let out = run_at(&setup, "bot.sqlite", 9, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(setup.aws_calls().len(), 6);
}

#[test]
fn a_run_killed_around_the_delete_finishes_on_the_next_without_an_error_loop() {
    for point in ["before:delete", "after:delete"] {
        let setup = setup();
        deactivated(&setup, "bot.sqlite");
        let out = run_at(
            &setup,
            "bot.sqlite",
            8,
            &[("LEAKSTOP_BOT_FAILPOINT", point)],
        );
        assert_eq!(out.code, 86, "{point}: {}", out.stderr);
        assert_eq!(deleted(&setup), point == "after:delete", "{point}");
        let out = run_at(&setup, "bot.sqlite", 8, &[]);
        assert_eq!(out.code, 0, "{point}: {}\n{}", out.stdout, out.stderr);
        let deletes = setup
            .aws_calls()
            .iter()
            .filter(|c| c.starts_with("DeleteAccessKey"))
            .count();
        // After the call landed, the retry meets NoSuchEntity: done, not failed.
        let expected = if point == "after:delete" { 2 } else { 1 };
        assert_eq!(deletes, expected, "{point}: {:?}", setup.aws_calls());
        assert!(setup.status("bot.sqlite").contains("1 closed"), "{point}");
        assert!(!setup.github.issues()[0].open, "{point}");
        let results = audited(&setup, "delete");
        let last = results.last().cloned().unwrap_or_default();
        if point == "after:delete" {
            assert!(last.starts_with("result already gone:"), "{results:?}");
        } else {
            assert!(last.starts_with("result deleted:"), "{results:?}");
        }
        assert_eq!(setup.audit_verify().code, 0, "{point}");
        // Nothing left to do: a third run sends nothing.
        let before = setup.aws_calls().len();
        let out = run_at(&setup, "bot.sqlite", 9, &[]);
        assert_eq!(out.code, 0, "{point}: {}", out.stderr);
        assert_eq!(setup.aws_calls().len(), before, "{point}");
    }
}

#[test]
fn a_stateless_run_counts_the_grace_from_the_issue_not_from_its_own_start() {
    let setup = setup();
    deactivated(&setup, "first.sqlite");
    // A fresh runner within the grace period: rebuilt from the issue, it waits.
    let out = run_at(&setup, "second.sqlite", 6, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(setup.aws_calls().len(), 4, "{:?}", setup.aws_calls());
    // Another fresh runner after it: rebuilt, it deletes.
    let out = run_at(&setup, "third.sqlite", 8, &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        setup.aws_calls()[4..],
        [
            format!("DeleteAccessKey ({ADMIN_ID})"),
            format!("GetCallerIdentity ({KEY_ID})"),
        ]
    );
    assert!(!setup.github.issues()[0].open);
    assert_eq!(setup.github.issues().len(), 1, "no second issue");
}

#[test]
fn without_admin_credentials_at_deletion_time_a_human_deletes_the_key() {
    let setup = setup();
    deactivated(&setup, "bot.sqlite");
    let out = run_at(
        &setup,
        "bot.sqlite",
        8,
        &[("BOT_AWS_KEY_ID", ""), ("BOT_AWS_SECRET", "")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        setup.aws_calls().len(),
        4,
        "nothing sent: {:?}",
        setup.aws_calls()
    );
    assert!(setup.status("bot.sqlite").contains("1 needs_human"));
    let issue = &setup.github.issues()[0];
    assert!(
        issue.body.contains("no AWS admin credentials"),
        "{}",
        issue.body
    );
}

#[test]
fn the_dry_run_plan_names_the_delete_and_the_grace() {
    let setup = setup();
    let out = setup.bot_with("run", "bot.sqlite", &[], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("delete, by the first run after the 7d 0h grace period: POST"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("iam:DeleteAccessKey"), "{}", out.stdout);
    assert_eq!(setup.providers.server.count(), 0);
}
