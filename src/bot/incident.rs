//! An incident: one leaked secret (one fingerprint), every place it was seen,
//! and a state that only moves forward, so a re-run can never undo or repeat
//! what an earlier run did.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an incident stands. The order of the variants is the order of the
/// pipeline: detected → verified (live / not live) → replacement created →
/// stored → revoked → confirmed dead → closed; or a human must act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Detected,
    Live,
    NotLive,
    ReplacementCreated,
    ReplacementStored,
    Revoked,
    ConfirmedDead,
    NeedsHuman,
    Closed,
}

impl State {
    pub const ALL: [State; 9] = [
        State::Detected,
        State::Live,
        State::NotLive,
        State::ReplacementCreated,
        State::ReplacementStored,
        State::Revoked,
        State::ConfirmedDead,
        State::NeedsHuman,
        State::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Detected => "detected",
            State::Live => "live",
            State::NotLive => "not_live",
            State::ReplacementCreated => "replacement_created",
            State::ReplacementStored => "replacement_stored",
            State::Revoked => "revoked",
            State::ConfirmedDead => "confirmed_dead",
            State::NeedsHuman => "needs_human",
            State::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Position in the pipeline; `Live` and `NotLive` share one.
    fn rank(self) -> u8 {
        match self {
            State::Detected => 0,
            State::Live | State::NotLive => 1,
            State::ReplacementCreated => 2,
            State::ReplacementStored => 3,
            State::Revoked => 4,
            State::ConfirmedDead => 5,
            State::NeedsHuman => 6,
            State::Closed => 7,
        }
    }

    /// Whether an incident in `self` may move to `next`: only forward, and a
    /// human-needed incident only to what an operator can still make happen
    /// (an emergency revoke, or closing it).
    pub fn may_become(self, next: State) -> bool {
        match (self, next) {
            (State::Closed, _) => false,
            (State::NeedsHuman, State::Revoked | State::ConfirmedDead | State::Closed) => true,
            (State::NeedsHuman, _) => false,
            (_, State::NeedsHuman) => true,
            _ => next.rank() > self.rank(),
        }
    }

    /// The incident needs no more work from the bot.
    pub fn is_final(self) -> bool {
        matches!(self, State::Closed | State::NeedsHuman)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One place the secret was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// `owner/name` of the repository, or empty when unknown.
    pub repo: String,
    pub path: String,
    pub line: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// What was scanned (`git history`, `working tree`, `bundle`).
    #[serde(default)]
    pub source: String,
}

/// What policy told the bot to do with an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Notify,
    Revoke,
    RotateThenRevoke,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Notify => "notify",
            Action::Revoke => "revoke",
            Action::RotateThenRevoke => "rotate-then-revoke",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_only_move_forward() {
        assert!(State::Detected.may_become(State::Live));
        assert!(State::Live.may_become(State::Revoked));
        assert!(State::Revoked.may_become(State::ConfirmedDead));
        assert!(!State::Revoked.may_become(State::Live));
        assert!(!State::Live.may_become(State::NotLive));
        assert!(!State::Live.may_become(State::Live));
        assert!(State::Live.may_become(State::NeedsHuman));
        assert!(State::NeedsHuman.may_become(State::Revoked));
        assert!(!State::NeedsHuman.may_become(State::Live));
        assert!(!State::Closed.may_become(State::NeedsHuman));
        for state in State::ALL {
            assert_eq!(State::parse(state.as_str()), Some(state));
        }
    }
}
