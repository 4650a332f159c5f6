//! Crash safety: the bot is aborted at each step in turn (a failpoint, as a
//! crash would), then run again; the incident must finish with no action
//! repeated that is not safe to repeat and nothing lost.

#[path = "common/bot_fakes.rs"]
mod bot_fakes;
#[path = "common/bot_setup.rs"]
mod bot_setup;
mod common;

use bot_setup::Setup;
use common::GITHUB_PAT;

const POINTS: &[&str] = &[
    "before:verify",
    "after:verify",
    "before:revoke",
    "after:revoke",
    "before:confirm",
    "after:confirm",
    "before:issue",
    "after:issue",
];

#[test]
fn a_run_killed_at_any_step_finishes_on_the_next_run_without_repeating() {
    for point in POINTS {
        let setup = Setup::new(
            &[("config/.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"))],
            &[GITHUB_PAT],
        );
        let crashed = setup.bot_with(
            "run",
            "bot.sqlite",
            &["--execute"],
            &[("LEAKSTOP_BOT_FAILPOINT", point)],
        );
        assert_ne!(crashed.code, 0, "{point}: the failpoint aborts the run");
        assert!(
            crashed.stderr.contains(&format!("failpoint {point}")),
            "{point}: {}",
            crashed.stderr
        );
        let finished = setup.run();
        assert_eq!(
            finished.code, 0,
            "{point}: {}\n{}",
            finished.stdout, finished.stderr
        );
        let status = setup.status("bot.sqlite");
        assert!(
            status.contains("1 incident(s): 1 closed"),
            "{point}: {status}"
        );
        assert!(
            setup.providers.count("POST /credentials/revoke") <= 1,
            "{point}: revoked twice: {:?}",
            setup.providers.calls()
        );
        assert_eq!(
            setup.providers.count("POST /credentials/revoke"),
            1,
            "{point}: revoked once"
        );
        let issues = setup.github.issues();
        assert_eq!(issues.len(), 1, "{point}: one issue, not {}", issues.len());
        assert!(!issues[0].open, "{point}: the issue is closed");
        let verified = setup.audit_verify();
        assert_eq!(verified.code, 0, "{point}: {}", verified.stdout);
        // Nothing more to do.
        let before = setup.providers.calls().len();
        assert_eq!(setup.run().code, 0);
        assert_eq!(setup.providers.calls().len(), before, "{point}");
    }
}
