//! Who an incident's issue is assigned to, as policy `assign` says:
//! `fixed` (the policy's `assignees`), `codeowners` (the owners of the
//! leaking file in the affected repository's CODEOWNERS — read at the
//! commit the secret was found in, else from the working tree), or
//! `committer` (the GitHub login of the commit's author, known from a
//! `users.noreply.github.com` address). Users become assignees; teams
//! (`@org/team`) cannot be assigned, so the issue mentions them instead
//! (e-mail owners are skipped: an issue cannot reach them). When the chosen way finds nobody, the policy's
//! fixed `assignees` apply.

use globset::{GlobBuilder, GlobMatcher};
use std::path::Path;

/// Where GitHub looks for CODEOWNERS, in its order: the first that exists wins.
pub const CODEOWNERS_PATHS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// How an issue's assignees are chosen (`assign` in the policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Assign {
    #[default]
    Fixed,
    Codeowners,
    Committer,
}

/// Assignable users and owners to mention.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owners {
    /// GitHub logins, without `@`.
    pub users: Vec<String>,
    /// `@org/team` owners, as written.
    pub mentions: Vec<String>,
}

/// One CODEOWNERS rule.
struct Rule {
    matchers: Vec<GlobMatcher>,
    owners: Vec<String>,
}

/// A parsed CODEOWNERS file.
pub struct Codeowners {
    rules: Vec<Rule>,
}

impl Codeowners {
    /// Parses the file; lines whose pattern cannot be read are skipped, as
    /// GitHub skips them.
    pub fn parse(text: &str) -> Codeowners {
        let rules = text
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    return None;
                }
                let line = line.split(" #").next().unwrap_or(line);
                let mut parts = line.split_whitespace();
                let pattern = parts.next()?;
                Some(Rule {
                    matchers: matchers(pattern)?,
                    owners: parts.map(str::to_string).collect(),
                })
            })
            .collect();
        Codeowners { rules }
    }

    /// The owners of `path` (relative to the repository root): the last
    /// matching rule wins; a rule with no owners means nobody.
    pub fn owners_of(&self, path: &str) -> Owners {
        let path = path.trim_start_matches("./").trim_start_matches('/');
        let Some(rule) = self
            .rules
            .iter()
            .rev()
            .find(|rule| rule.matchers.iter().any(|m| m.is_match(path)))
        else {
            return Owners::default();
        };
        let mut owners = Owners::default();
        for owner in &rule.owners {
            // Owners reach the issue body unescaped: only well-formed names.
            let name = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            };
            match owner.strip_prefix('@').map(|o| o.split_once('/')) {
                Some(None) if name(&owner[1..]) => owners.users.push(owner[1..].to_string()),
                Some(Some((org, team))) if name(org) && name(team) => {
                    owners.mentions.push(owner.clone())
                }
                _ => {}
            }
        }
        owners
    }
}

/// A CODEOWNERS pattern as globs (gitignore rules): a leading `/` or a
/// `/` inside anchors it to the root, otherwise it matches at any depth;
/// `*` stays within one directory; a pattern also owns everything below
/// the directory it names, and one ending in `/` only that.
fn matchers(pattern: &str) -> Option<Vec<GlobMatcher>> {
    let dir_only = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let anchored = trimmed.starts_with('/') || trimmed.contains('/');
    let body = trimmed.trim_start_matches('/');
    if body.is_empty() {
        return None;
    }
    let base = if anchored || body.starts_with("**") {
        body.to_string()
    } else {
        format!("**/{body}")
    };
    let mut globs = vec![format!("{base}/**")];
    if !dir_only {
        globs.push(base);
    }
    globs
        .iter()
        .map(|g| {
            GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .ok()
                .map(|g| g.compile_matcher())
        })
        .collect()
}

/// The CODEOWNERS of the repository at `root`: at `commit` when given (the
/// commit the secret was found in), else the working tree's.
pub fn codeowners(root: &Path, commit: Option<&str>) -> Option<Codeowners> {
    CODEOWNERS_PATHS.iter().find_map(|path| {
        let text = match commit {
            Some(commit) => crate::scan::gate::read_at(root, commit, path).ok()??,
            None => std::fs::read_to_string(root.join(path)).ok()?,
        };
        Some(Codeowners::parse(&text))
    })
}

/// The GitHub login of a commit's author, when the commit carries GitHub's
/// no-reply address (`123+login@users.noreply.github.com`).
pub fn committer_login(root: &Path, commit: &str) -> Option<String> {
    let repo = gix::discover(root).ok()?;
    let id = gix::ObjectId::from_hex(commit.as_bytes()).ok()?;
    let found = repo.find_commit(id).ok()?;
    let author = found.author().ok()?;
    login_from_email(&author.email.to_string())
}

fn login_from_email(email: &str) -> Option<String> {
    let local = email.strip_suffix("@users.noreply.github.com")?;
    let login = local.rsplit('+').next()?;
    let valid = !login.is_empty() && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then(|| login.to_string())
}

impl super::run::Bot<'_> {
    /// The assignees and the owners it mentions, by the policy's
    /// `assign`; the fixed `assignees` when the chosen way finds nobody.
    pub(super) fn owners(
        &self,
        incident: &super::store::Incident,
        decision: &super::policy::Decision,
    ) -> Owners {
        let fixed = Owners {
            users: decision.assignees.clone(),
            mentions: Vec::new(),
        };
        if decision.assign == Assign::Fixed {
            return fixed;
        }
        let root = self
            .policy
            .checkout
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from("."));
        let locations = self.store.locations(incident.id).unwrap_or_default();
        let mut found = Owners::default();
        for location in &locations {
            let commit = location.commit.as_deref();
            let owners = match decision.assign {
                Assign::Codeowners => codeowners(&root, commit)
                    .map(|c| c.owners_of(&location.path))
                    .unwrap_or_default(),
                _ => Owners {
                    users: commit
                        .and_then(|c| committer_login(&root, c))
                        .into_iter()
                        .collect(),
                    mentions: Vec::new(),
                },
            };
            for user in owners.users {
                if !found.users.contains(&user) {
                    found.users.push(user);
                }
            }
            for mention in owners.mentions {
                if !found.mentions.contains(&mention) {
                    found.mentions.push(mention);
                }
            }
        }
        if found.users.is_empty() {
            found.users = fixed.users;
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_matching_pattern_wins_and_teams_are_mentioned() {
        let owners = Codeowners::parse(
            "# comment\n* @acme/everyone\n*.env @alice @acme/security\n/config/ @bob\ndocs/*.md @carol\n/config/public.env\n",
        );
        let users = |path: &str| owners.owners_of(path).users;
        assert_eq!(users("app/.env"), ["alice"]);
        assert_eq!(owners.owners_of("app/.env").mentions, ["@acme/security"]);
        assert_eq!(users("config/.env"), ["bob"], "later rule wins");
        assert_eq!(users("config/deep/x.yml"), ["bob"]);
        assert!(
            owners.owners_of("config/public.env").users.is_empty(),
            "no owners"
        );
        assert_eq!(users("docs/a.md"), ["carol"]);
        assert!(
            users("docs/sub/a.md").is_empty(),
            "* stays in one directory"
        );
        assert_eq!(owners.owners_of("src/main.rs").mentions, ["@acme/everyone"]);
    }

    #[test]
    fn no_reply_addresses_name_the_login() {
        assert_eq!(
            login_from_email("123456+octo-cat@users.noreply.github.com").as_deref(),
            Some("octo-cat")
        );
        assert_eq!(
            login_from_email("octocat@users.noreply.github.com").as_deref(),
            Some("octocat")
        );
        assert_eq!(login_from_email("alice@example.com"), None);
    }
}
