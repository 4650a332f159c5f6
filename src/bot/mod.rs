//! The revocation bot (docs/bot.md): findings become incidents (one per
//! fingerprint) in a SQLite store; each incident is driven forward by
//! policy — verify, revoke, confirm dead, open and update a GitHub issue,
//! close — with every external action announced in the journal and the
//! hash-chained audit log before it happens and recorded after. A run that
//! dies between two steps finishes on the next run without repeating a
//! step that is not safe to repeat; a run with an empty store rebuilds
//! each incident from the state block of its GitHub issue.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod drill;
mod finish;
pub mod incident;
pub mod input;
pub mod owners;
pub mod policy;
pub mod providers;
pub mod rotate;
pub mod run;
mod sigv4;
mod steps;
pub mod store;
pub mod stores;
mod sync;
pub mod text;

/// The first name of [`stores`], kept for callers written against it.
pub use stores as secrets;

/// Environment variable naming a failpoint (`after:revoke`,
/// `before:issue`): the process stops there at once (exit code 86, no
/// cleanup), as a crash would. Tests use it to prove a killed run finishes
/// on the next one.
pub const FAILPOINT_ENV: &str = "LEAKSTOP_BOT_FAILPOINT";

/// Aborts the process if the failpoint `when:step` is set; with
/// `pause:step` (at `before`) it holds still for three seconds instead, so
/// a test can start a second bot meanwhile.
pub fn failpoint(when: &str, step: &str) {
    if let Ok(point) = std::env::var(FAILPOINT_ENV) {
        if point == format!("{when}:{step}") {
            eprintln!("leakstop: bot: failpoint {point}: stopping");
            std::process::exit(86);
        }
        if when == "before" && point == format!("pause:{step}") {
            eprintln!("leakstop: bot: failpoint {point}: pausing");
            std::thread::sleep(std::time::Duration::from_secs(3));
        }
    }
}
