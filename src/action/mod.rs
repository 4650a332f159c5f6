//! The GitHub Action (`action.yml` runs `leakstop action`): which commits or
//! files an event asks to scan ([`event`]), and how findings reach the
//! people on the pull request: file/line annotations as workflow commands
//! ([`annotate`]) and a Markdown job summary ([`summary`]). Everything that
//! comes from the event payload or from scanned file names is untrusted and
//! escaped for the place it goes.

pub mod annotate;
pub mod event;
pub mod summary;

pub use event::{select, Event, Mode, Selection};

use crate::exit::Outcome;

/// When the job fails (`fail-on` input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any finding, or an incomplete scan (the scanner's own exit codes).
    Any,
    /// Only live (verified) findings, or an incomplete scan.
    Verified,
    /// Never (report only).
    None,
}

impl FailOn {
    /// The outcome the exit code is computed from under this policy.
    pub fn apply(self, outcome: Outcome) -> Outcome {
        match self {
            FailOn::Any => outcome,
            FailOn::Verified => Outcome {
                findings: 0,
                ..outcome
            },
            FailOn::None => Outcome::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit;

    #[test]
    fn fail_on_policies() {
        let code = |policy: FailOn, findings, live_findings, incomplete| {
            exit::code(policy.apply(Outcome {
                findings,
                live_findings,
                incomplete,
            }))
        };
        assert_eq!(code(FailOn::Any, 2, 0, false), exit::FINDINGS);
        assert_eq!(code(FailOn::Any, 0, 0, true), exit::INCOMPLETE);
        assert_eq!(code(FailOn::Verified, 2, 0, false), exit::CLEAN);
        assert_eq!(code(FailOn::Verified, 2, 1, false), exit::LIVE_FINDINGS);
        assert_eq!(code(FailOn::Verified, 0, 0, true), exit::INCOMPLETE);
        assert_eq!(code(FailOn::None, 5, 5, true), exit::CLEAN);
    }
}
