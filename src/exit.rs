//! Exit codes, computed in one place (docs/output.md):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | scan complete, nothing found |
//! | 1 | findings |
//! | 2 | live (verified) findings |
//! | 3 | incomplete scan (some input could not be read or parsed) and no findings |
//! | 4 | usage or configuration error |
//!
//! An error never looks like a clean scan: a partial scan fails closed.

/// What a command found, as far as the exit code is concerned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub findings: usize,
    pub live_findings: usize,
    pub incomplete: bool,
}

pub const CLEAN: u8 = 0;
pub const FINDINGS: u8 = 1;
pub const LIVE_FINDINGS: u8 = 2;
pub const INCOMPLETE: u8 = 3;
pub const USAGE_ERROR: u8 = 4;

/// The exit code for a finished run.
pub fn code(outcome: Outcome) -> u8 {
    if outcome.live_findings > 0 {
        LIVE_FINDINGS
    } else if outcome.findings > 0 {
        FINDINGS
    } else if outcome.incomplete {
        INCOMPLETE
    } else {
        CLEAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code() {
        let o = |findings, live_findings, incomplete| Outcome {
            findings,
            live_findings,
            incomplete,
        };
        assert_eq!(code(o(0, 0, false)), CLEAN);
        assert_eq!(code(o(3, 0, false)), FINDINGS);
        assert_eq!(code(o(3, 1, false)), LIVE_FINDINGS);
        assert_eq!(code(o(3, 1, true)), LIVE_FINDINGS);
        assert_eq!(code(o(2, 0, true)), FINDINGS);
        assert_eq!(code(o(0, 0, true)), INCOMPLETE);
    }
}
