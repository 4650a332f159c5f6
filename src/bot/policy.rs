//! The bot's policy, `leakstop-bot.toml` (docs/bot.md): what to do with a
//! leaked credential of a given provider, rule, severity and repository,
//! how long the old key overlaps with its replacement, where issues go and
//! who is assigned, and the names (never the values) of the environment
//! variables holding admin credentials. Unknown keys are errors that name
//! the key and line.

use super::clock::parse_duration;
use super::incident::Action;
use super::owners::Assign;
use globset::Glob;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy {path}: {message}")]
    Invalid { path: String, message: String },
}

/// The file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default, rename = "match")]
    matches: Vec<RawMatch>,
    #[serde(default)]
    credentials: BTreeMap<String, BTreeMap<String, String>>,
    store: Option<super::stores::StoreSpec>,
    github_app: Option<super::auth::AppSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    action: Option<Action>,
    /// Overlap for high and critical severity keys.
    overlap_high: Option<String>,
    /// Overlap for the rest.
    overlap_moderate: Option<String>,
    /// How long a deactivated key (AWS, a Google service-account key) is
    /// kept before it is deleted.
    grace: Option<String>,
    /// `affected` (the repository the key was found in) or `central`.
    issues: Option<IssueTarget>,
    central_repo: Option<String>,
    labels: Option<Vec<String>>,
    assignees: Option<Vec<String>>,
    /// How assignees are chosen: `fixed` (default), `codeowners`, `committer`.
    assign: Option<Assign>,
}

/// One `[[match]]` block: every key given must match; the first block
/// that matches decides each setting it names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    provider: Option<String>,
    rule: Option<String>,
    severity: Option<String>,
    repository: Option<String>,
    action: Option<Action>,
    overlap: Option<String>,
    grace: Option<String>,
    issues: Option<IssueTarget>,
    issue_repo: Option<String>,
    labels: Option<Vec<String>>,
    assignees: Option<Vec<String>>,
    assign: Option<Assign>,
}

/// Where an incident's issue goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueTarget {
    Affected,
    Central,
}

/// A loaded, checked policy.
#[derive(Debug, Clone)]
pub struct Policy {
    defaults: Settings,
    matches: Vec<Match>,
    /// Provider → (credential name → environment variable name).
    pub credentials: BTreeMap<String, BTreeMap<String, String>>,
    pub central_repo: Option<String>,
    /// Where replacements go (`[store]`); without it nothing is rotated.
    pub store: Option<super::stores::StoreSpec>,
    /// The working tree the findings come from, where CODEOWNERS and
    /// commits are read (`assign`); set by the command, not the file.
    pub checkout: Option<std::path::PathBuf>,
    /// GitHub App authentication for issues (`[github_app]`); else `GITHUB_TOKEN`.
    pub github_app: Option<super::auth::AppSpec>,
}

#[derive(Debug, Clone)]
struct Match {
    provider: Option<globset::GlobMatcher>,
    rule: Option<globset::GlobMatcher>,
    severity: Option<String>,
    repository: Option<globset::GlobMatcher>,
    settings: Partial,
}

#[derive(Debug, Clone, Default)]
struct Partial {
    action: Option<Action>,
    overlap: Option<i64>,
    grace: Option<i64>,
    issues: Option<IssueTarget>,
    issue_repo: Option<String>,
    labels: Option<Vec<String>>,
    assignees: Option<Vec<String>>,
    assign: Option<Assign>,
}

#[derive(Debug, Clone)]
struct Settings {
    action: Action,
    overlap_high: i64,
    overlap_moderate: i64,
    grace: i64,
    issues: IssueTarget,
    labels: Vec<String>,
    assignees: Vec<String>,
    assign: Assign,
}

/// What policy says for one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub action: Action,
    /// Seconds between a replacement and the old key's revocation.
    pub overlap: i64,
    /// Seconds a deactivated key is kept (it can be switched back on if
    /// something still needed it) before it is deleted for good.
    pub grace: i64,
    /// `owner/name` of the repository the issue goes to, if any.
    pub issue_repo: Option<String>,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    /// How `assignees` are completed (super::owners).
    pub assign: Assign,
}

/// What the policy matches an incident on.
pub struct Subject<'a> {
    pub provider: &'a str,
    pub rule: &'a str,
    pub severity: &'a str,
    pub repository: &'a str,
    /// Found in a public repository or a client bundle: no overlap.
    pub public: bool,
}

const DAY: i64 = 86_400;

/// Default grace before a deactivated key is deleted: a week, long enough
/// for a forgotten consumer to fail loudly and for its owner to switch the
/// key back on while a replacement is rolled out.
const GRACE: i64 = 7 * DAY;

impl Default for Policy {
    fn default() -> Self {
        Policy::from_raw(RawPolicy::default(), "<built-in>", "").unwrap_or_else(|_| unreachable!())
    }
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Invalid {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        Policy::parse(&shown, &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Invalid {
            path: path.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Policy::from_raw(raw, path, text)
    }

    fn from_raw(raw: RawPolicy, path: &str, text: &str) -> Result<Policy, PolicyError> {
        let fail = |message: String| PolicyError::Invalid {
            path: path.to_string(),
            message,
        };
        let duration = |key: &str, value: &Option<String>, default: i64| match value {
            Some(text) => parse_duration(text).map_err(|e| fail(format!("`{key}`: {e}"))),
            None => Ok(default),
        };
        let d = &raw.defaults;
        let defaults = Settings {
            action: d.action.unwrap_or(Action::Revoke),
            overlap_high: duration("defaults.overlap_high", &d.overlap_high, DAY)?,
            overlap_moderate: duration("defaults.overlap_moderate", &d.overlap_moderate, 2 * DAY)?,
            grace: duration("defaults.grace", &d.grace, GRACE)?,
            issues: d.issues.unwrap_or(IssueTarget::Affected),
            labels: d
                .labels
                .clone()
                .unwrap_or_else(|| vec!["leaked-secret".into()]),
            assignees: d.assignees.clone().unwrap_or_default(),
            assign: d.assign.unwrap_or_default(),
        };
        if let Some(repo) = &d.central_repo {
            check_repo("defaults.central_repo", repo).map_err(fail)?;
        }
        if defaults.issues == IssueTarget::Central && d.central_repo.is_none() {
            return Err(fail(
                "`defaults.issues = \"central\"` needs `defaults.central_repo = \"owner/name\"`"
                    .into(),
            ));
        }
        let glob = |key: String, value: &Option<String>| -> Result<_, PolicyError> {
            value
                .as_deref()
                .map(|v| {
                    Glob::new(v)
                        .map(|g| g.compile_matcher())
                        .map_err(|e| fail(format!("`{key}`: {e}")))
                })
                .transpose()
        };
        let mut matches = Vec::new();
        for (i, m) in raw.matches.iter().enumerate() {
            let key = |name: &str| format!("match[{i}].{name}");
            if let Some(repo) = &m.issue_repo {
                check_repo(&key("issue_repo"), repo).map_err(fail)?;
            }
            if let Some(severity) = &m.severity {
                if !["info", "low", "medium", "high", "critical"].contains(&severity.as_str()) {
                    return Err(fail(format!(
                        "`{}`: `{severity}` is not one of info, low, medium, high, critical",
                        key("severity")
                    )));
                }
            }
            matches.push(Match {
                provider: glob(key("provider"), &m.provider)?,
                rule: glob(key("rule"), &m.rule)?,
                severity: m.severity.clone(),
                repository: glob(key("repository"), &m.repository)?,
                settings: Partial {
                    action: m.action,
                    overlap: m
                        .overlap
                        .as_ref()
                        .map(|o| {
                            parse_duration(o)
                                .map_err(|e| fail(format!("`{}`: {e}", key("overlap"))))
                        })
                        .transpose()?,
                    grace: m
                        .grace
                        .as_ref()
                        .map(|g| {
                            parse_duration(g).map_err(|e| fail(format!("`{}`: {e}", key("grace"))))
                        })
                        .transpose()?,
                    issues: m.issues,
                    issue_repo: m.issue_repo.clone(),
                    labels: m.labels.clone(),
                    assignees: m.assignees.clone(),
                    assign: m.assign,
                },
            });
        }
        for (provider, names) in &raw.credentials {
            for (name, var) in names {
                if !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || var.is_empty() {
                    return Err(fail(format!(
                        "`credentials.{provider}.{name}`: `{var}` is not an environment variable name \
                         (the policy names variables; it never holds a secret)"
                    )));
                }
            }
        }
        if let Some(store) = &raw.store {
            store
                .check()
                .map_err(|e| fail(super::stores::spec_error_at(text, &e)))?;
        }
        if let Some(app) = &raw.github_app {
            app.check().map_err(|(key, message)| {
                fail(match super::stores::key_line(text, "github_app", &key) {
                    Some(line) => format!("{message} (line {line})"),
                    None => message,
                })
            })?;
        }
        Ok(Policy {
            defaults,
            matches,
            credentials: raw.credentials,
            central_repo: d.central_repo.clone(),
            store: raw.store,
            checkout: None,
            github_app: raw.github_app,
        })
    }

    /// The decision for one incident: each setting from the first matching
    /// block that names it, else the defaults.
    pub fn decide(&self, subject: &Subject<'_>) -> Decision {
        let hits: Vec<&Partial> = self
            .matches
            .iter()
            .filter(|m| {
                m.provider
                    .as_ref()
                    .is_none_or(|g| g.is_match(subject.provider))
                    && m.rule.as_ref().is_none_or(|g| g.is_match(subject.rule))
                    && m.severity.as_deref().is_none_or(|s| s == subject.severity)
                    && m.repository
                        .as_ref()
                        .is_none_or(|g| g.is_match(subject.repository))
            })
            .map(|m| &m.settings)
            .collect();
        let first = |pick: &dyn Fn(&Partial) -> bool| hits.iter().find(|p| pick(p)).copied();
        let d = &self.defaults;
        let action = first(&|p| p.action.is_some())
            .and_then(|p| p.action)
            .unwrap_or(d.action);
        let high = matches!(subject.severity, "high" | "critical");
        let overlap = if subject.public {
            0
        } else {
            first(&|p| p.overlap.is_some())
                .and_then(|p| p.overlap)
                .unwrap_or(if high {
                    d.overlap_high
                } else {
                    d.overlap_moderate
                })
        };
        // A deactivated key is already dead, so public exposure does not
        // shorten its grace: the grace is the time to switch it back on.
        let grace = first(&|p| p.grace.is_some())
            .and_then(|p| p.grace)
            .unwrap_or(d.grace);
        let target = first(&|p| p.issues.is_some())
            .and_then(|p| p.issues)
            .unwrap_or(d.issues);
        let issue_repo = first(&|p| p.issue_repo.is_some())
            .and_then(|p| p.issue_repo.clone())
            .or_else(|| match target {
                IssueTarget::Central => self.central_repo.clone(),
                IssueTarget::Affected => {
                    (!subject.repository.is_empty()).then(|| subject.repository.to_string())
                }
            });
        Decision {
            action,
            overlap,
            grace,
            issue_repo,
            labels: first(&|p| p.labels.is_some())
                .and_then(|p| p.labels.clone())
                .unwrap_or_else(|| d.labels.clone()),
            assignees: first(&|p| p.assignees.is_some())
                .and_then(|p| p.assignees.clone())
                .unwrap_or_else(|| d.assignees.clone()),
            assign: first(&|p| p.assign.is_some())
                .and_then(|p| p.assign)
                .unwrap_or(d.assign),
        }
    }
}

fn check_repo(key: &str, repo: &str) -> Result<(), String> {
    let ok = repo
        .split_once('/')
        .is_some_and(|(owner, name)| !owner.is_empty() && !name.is_empty() && !name.contains('/'));
    if ok {
        Ok(())
    } else {
        Err(format!("`{key}`: `{repo}` is not `owner/name`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(provider: &'a str, severity: &'a str, public: bool) -> Subject<'a> {
        Subject {
            provider,
            rule: "x.y",
            severity,
            repository: "acme/app",
            public,
        }
    }

    #[test]
    fn defaults_and_first_match_wins() {
        let policy = Policy::parse(
            "p.toml",
            r#"
[defaults]
central_repo = "acme/security"

[[match]]
provider = "stripe"
action = "notify"
issues = "central"

[[match]]
severity = "high"
overlap = "2h"
labels = ["urgent"]
"#,
        )
        .unwrap();
        let stripe = policy.decide(&subject("stripe", "high", false));
        assert_eq!(stripe.action, Action::Notify);
        assert_eq!(stripe.issue_repo.as_deref(), Some("acme/security"));
        assert_eq!(stripe.overlap, 7200);
        assert_eq!(stripe.labels, ["urgent"]);
        let moderate = policy.decide(&subject("github", "medium", false));
        assert_eq!(
            (moderate.action, moderate.overlap),
            (Action::Revoke, 2 * DAY)
        );
        assert_eq!(moderate.issue_repo.as_deref(), Some("acme/app"));
        assert_eq!(policy.decide(&subject("github", "high", true)).overlap, 0);
        assert_eq!(moderate.grace, 7 * DAY, "a week by default");
    }

    #[test]
    fn the_grace_before_deletion_is_a_validated_duration() {
        let policy = Policy::parse(
            "p.toml",
            "[defaults]\ngrace = \"2d\"\n\n[[match]]\nprovider = \"aws\"\ngrace = \"0\"\n",
        )
        .unwrap();
        assert_eq!(policy.decide(&subject("aws", "high", false)).grace, 0);
        assert_eq!(
            policy.decide(&subject("google", "high", true)).grace,
            2 * DAY
        );
        let error = Policy::parse("p.toml", "[defaults]\ngrace = \"a week\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("defaults.grace"), "{error}");
        let error = Policy::parse("p.toml", "[[match]]\ngrace = \"400d\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("match[0].grace") && error.contains("366d"),
            "{error}"
        );
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let error = Policy::parse("p.toml", "[defaults]\naction = \"revoke\"\nacton = 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 3") && error.contains("acton"),
            "{error}"
        );
        let error = Policy::parse("p.toml", "[[match]]\noverlap = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("match[0].overlap"), "{error}");
        let error = Policy::parse("p.toml", "[credentials.aws]\nkey = \"AKIA/not a name\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("credentials.aws.key"), "{error}");
    }
}
