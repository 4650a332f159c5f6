//! The event that started the workflow (`GITHUB_EVENT_NAME`,
//! `GITHUB_EVENT_PATH`) decides what a scan covers: a pull request's own
//! commits, the commits a push added, the whole history, or a directory.

use serde_json::Value;
use std::fmt;

/// The `mode` input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// From the event: pull requests → `pr`, pushes → `push`, anything else → `full`.
    Auto,
    /// Only the commits of the pull request (base..head).
    Pr,
    /// The commits the push added (before..after).
    Push,
    /// The whole history, every ref.
    Full,
    /// A directory as it is (a build output such as `dist/`).
    Dir,
}

/// The parts of the event payload a scan needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    pub pr_base: Option<String>,
    pub pr_head: Option<String>,
    pub push_before: Option<String>,
    pub push_after: Option<String>,
    pub default_branch: Option<String>,
    pub push_ref: Option<String>,
}

/// What to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `git` revision range `base..head`.
    Range { base: String, head: String },
    /// Every commit reachable from `head` (a first push of a repository).
    Reachable { head: String },
    /// The whole history.
    History,
    /// The directory at the `path` input.
    Directory,
    /// Nothing (a branch deleted); the reason is shown.
    Nothing(&'static str),
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selection::Range { base, head } => write!(f, "commits {base}..{head}"),
            Selection::Reachable { head } => write!(f, "every commit reachable from {head}"),
            Selection::History => f.write_str("the whole history"),
            Selection::Directory => f.write_str("the directory"),
            Selection::Nothing(why) => write!(f, "nothing ({why})"),
        }
    }
}

/// Why an event cannot be scanned as asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("mode `{mode}` needs a {event} event, this is `{name}`")]
    WrongEvent {
        mode: &'static str,
        event: &'static str,
        name: String,
    },
    #[error("the event payload has no usable {0} (a full 40 or 64 hex commit id)")]
    MissingCommit(&'static str),
}

impl Event {
    /// Reads the fields leakstop uses from a payload; anything missing or
    /// malformed is `None` (the selection then says what it lacks).
    pub fn from_payload(name: &str, payload: &Value) -> Event {
        let text = |pointer: &str| payload.pointer(pointer).and_then(Value::as_str);
        let commit = |pointer: &str| {
            text(pointer)
                .filter(|id| is_commit_id(id))
                .map(String::from)
        };
        Event {
            name: name.to_string(),
            pr_base: commit("/pull_request/base/sha"),
            pr_head: commit("/pull_request/head/sha"),
            push_before: commit("/before"),
            push_after: commit("/after"),
            default_branch: text("/repository/default_branch")
                .filter(|b| is_branch_name(b))
                .map(String::from),
            push_ref: text("/ref").map(String::from),
        }
    }

    fn is_pull_request(&self) -> bool {
        matches!(
            self.name.as_str(),
            "pull_request" | "pull_request_target" | "merge_group"
        )
    }
}

/// What `mode` asks for, given the event.
pub fn select(mode: Mode, event: &Event) -> Result<Selection, EventError> {
    let mode = match mode {
        Mode::Auto if event.is_pull_request() => Mode::Pr,
        Mode::Auto if event.name == "push" => Mode::Push,
        Mode::Auto => Mode::Full,
        other => other,
    };
    match mode {
        Mode::Pr => {
            if !event.is_pull_request() {
                return Err(EventError::WrongEvent {
                    mode: "pr",
                    event: "pull_request",
                    name: event.name.clone(),
                });
            }
            let base = event
                .pr_base
                .clone()
                .ok_or(EventError::MissingCommit("pull_request.base.sha"))?;
            let head = event
                .pr_head
                .clone()
                .ok_or(EventError::MissingCommit("pull_request.head.sha"))?;
            Ok(Selection::Range { base, head })
        }
        Mode::Push => {
            if event.name != "push" {
                return Err(EventError::WrongEvent {
                    mode: "push",
                    event: "push",
                    name: event.name.clone(),
                });
            }
            let after = event
                .push_after
                .clone()
                .ok_or(EventError::MissingCommit("after"))?;
            if is_zero(&after) {
                return Ok(Selection::Nothing("the push deleted a branch"));
            }
            let before = event
                .push_before
                .clone()
                .ok_or(EventError::MissingCommit("before"))?;
            if !is_zero(&before) {
                return Ok(Selection::Range {
                    base: before,
                    head: after,
                });
            }
            // A new branch: what it adds to the default branch.
            let pushed_branch = event
                .push_ref
                .as_deref()
                .and_then(|r| r.strip_prefix("refs/heads/"));
            match &event.default_branch {
                Some(default) if pushed_branch != Some(default.as_str()) => Ok(Selection::Range {
                    base: format!("origin/{default}"),
                    head: after,
                }),
                _ => Ok(Selection::Reachable { head: after }),
            }
        }
        Mode::Full => Ok(Selection::History),
        Mode::Dir => Ok(Selection::Directory),
        Mode::Auto => unreachable!("resolved above"),
    }
}

/// A full commit id (SHA-1 or SHA-256), lower or upper case hex.
pub fn is_commit_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_zero(id: &str) -> bool {
    id.bytes().all(|b| b == b'0')
}

/// A branch name safe to put in a revision (`origin/NAME..`): the rules of
/// `git check-ref-format` that matter here, and no leading `-`.
fn is_branch_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['-', '/', '.'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("@{")
        && !name.contains("//")
        && name
            .bytes()
            .all(|b| b > b' ' && b != 0x7f && !b"~^:?*[\\".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn pull_requests_scan_base_to_head() {
        let payload = json!({"pull_request": {"base": {"sha": A}, "head": {"sha": B}}});
        let event = Event::from_payload("pull_request", &payload);
        assert_eq!(
            select(Mode::Auto, &event),
            Ok(Selection::Range {
                base: A.into(),
                head: B.into()
            })
        );
        assert!(select(Mode::Push, &event).is_err());
    }

    #[test]
    fn pushes_new_branches_and_deletions() {
        let push = |before: &str, after: &str, r: &str| {
            Event::from_payload(
                "push",
                &json!({"before": before, "after": after, "ref": r,
                        "repository": {"default_branch": "main"}}),
            )
        };
        assert_eq!(
            select(Mode::Auto, &push(A, B, "refs/heads/x")),
            Ok(Selection::Range {
                base: A.into(),
                head: B.into()
            })
        );
        assert_eq!(
            select(Mode::Push, &push(ZERO, B, "refs/heads/feature")),
            Ok(Selection::Range {
                base: "origin/main".into(),
                head: B.into()
            })
        );
        assert_eq!(
            select(Mode::Push, &push(ZERO, B, "refs/heads/main")),
            Ok(Selection::Reachable { head: B.into() })
        );
        assert!(matches!(
            select(Mode::Push, &push(A, ZERO, "refs/heads/x")),
            Ok(Selection::Nothing(_))
        ));
    }

    #[test]
    fn untrusted_payload_values_never_reach_a_revision() {
        let payload = json!({
            "before": "--output=/tmp/x", "after": B, "ref": "refs/heads/x",
            "repository": {"default_branch": "--upload-pack=evil"},
            "pull_request": {"base": {"sha": "HEAD~1"}, "head": {"sha": B}}
        });
        let push = Event::from_payload("push", &payload);
        assert_eq!(push.push_before, None);
        assert_eq!(push.default_branch, None);
        assert!(select(Mode::Push, &push).is_err());
        let pr = Event::from_payload("pull_request", &payload);
        assert_eq!(
            select(Mode::Pr, &pr),
            Err(EventError::MissingCommit("pull_request.base.sha"))
        );
        assert_eq!(
            select(Mode::Auto, &Event::from_payload("schedule", &json!(null))),
            Ok(Selection::History)
        );
    }
}
