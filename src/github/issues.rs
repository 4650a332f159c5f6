//! Issues: find the bot's own issue by the hidden fingerprint marker in its
//! body (so a run with no local state never opens a duplicate), open one,
//! comment, rewrite the body, close. Labels and assignees are silently
//! dropped by GitHub when the token cannot push; that is not an error.

use super::{Client, GithubError, Method};
use serde_json::json;

/// Pages of 100 issues read when looking for a marker.
const MAX_PAGES: u32 = 20;

/// An issue as the bot needs it.
#[derive(Debug, Clone)]
pub struct Issue {
    pub number: u64,
    pub url: String,
    pub open: bool,
    pub body: String,
}

/// The hidden marker the bot writes into an issue body.
pub fn marker(fingerprint: &str) -> String {
    format!("<!-- leakstop:fingerprint={fingerprint} -->")
}

fn read_issue(value: &serde_json::Value) -> Option<Issue> {
    Some(Issue {
        number: value.get("number")?.as_u64()?,
        url: value
            .get("html_url")
            .and_then(|u| u.as_str())
            .unwrap_or_default()
            .to_string(),
        open: value.get("state").and_then(|s| s.as_str()) != Some("closed"),
        body: value
            .get("body")
            .and_then(|b| b.as_str())
            .unwrap_or_default()
            .to_string(),
    })
}

fn repo_path(repo: &str) -> Result<String, GithubError> {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if valid(owner) && valid(name) => Ok(format!("/repos/{owner}/{name}")),
        _ => Err(GithubError::Setup(format!("`{repo}` is not owner/name"))),
    }
}

impl Client {
    /// Every issue (open or closed, not pull requests) whose body holds a
    /// leakstop marker.
    pub fn marked_issues(&self, repo: &str) -> Result<Vec<Issue>, GithubError> {
        let base = repo_path(repo)?;
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let reply = self.call(
                Method::Get,
                &format!("{base}/issues?state=all&per_page=100&page={page}"),
                None,
            )?;
            let items: Vec<serde_json::Value> =
                serde_json::from_str(&reply.body).unwrap_or_default();
            let count = items.len();
            out.extend(
                items
                    .iter()
                    .filter(|item| item.get("pull_request").is_none())
                    .filter_map(read_issue)
                    .filter(|issue| issue.body.contains("<!-- leakstop:fingerprint=")),
            );
            if count < 100 {
                break;
            }
        }
        Ok(out)
    }

    /// The bot's issue for a fingerprint in a repository, if there is one.
    pub fn find_issue(&self, repo: &str, fingerprint: &str) -> Result<Option<Issue>, GithubError> {
        let wanted = marker(fingerprint);
        Ok(self
            .marked_issues(repo)?
            .into_iter()
            .find(|issue| issue.body.contains(&wanted)))
    }

    /// Opens an issue. Not retried after a 5xx: the caller reconciles by
    /// looking for the marker before trying again.
    pub fn create_issue(
        &self,
        repo: &str,
        title: &str,
        body: &str,
        labels: &[String],
        assignees: &[String],
    ) -> Result<Issue, GithubError> {
        let base = repo_path(repo)?;
        let reply = self.call(
            Method::Post,
            &format!("{base}/issues"),
            Some(&json!({"title": title, "body": body, "labels": labels, "assignees": assignees})),
        )?;
        let value: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
        read_issue(&value).ok_or_else(|| GithubError::Transport {
            method: "POST",
            path: format!("{base}/issues"),
            message: "the answer has no issue number".into(),
        })
    }

    pub fn comment(&self, repo: &str, number: u64, body: &str) -> Result<(), GithubError> {
        let base = repo_path(repo)?;
        self.call(
            Method::Post,
            &format!("{base}/issues/{number}/comments"),
            Some(&json!({"body": body})),
        )?;
        Ok(())
    }

    /// Rewrites the body (the state block) and optionally closes the issue.
    pub fn update_issue(
        &self,
        repo: &str,
        number: u64,
        body: &str,
        close: bool,
    ) -> Result<(), GithubError> {
        let base = repo_path(repo)?;
        let mut patch = json!({"body": body});
        if close {
            patch["state"] = json!("closed");
            patch["state_reason"] = json!("completed");
        }
        self.call(
            Method::Patch,
            &format!("{base}/issues/{number}"),
            Some(&patch),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_cannot_change_the_path() {
        assert_eq!(repo_path("acme/app").unwrap(), "/repos/acme/app");
        assert!(repo_path("acme/../x").is_err());
        assert!(repo_path("acme").is_err());
        assert!(repo_path("acme/app?x=1").is_err());
    }
}
