//! Listing the repositories of an org scan: every page of an organisation's
//! or a user's repositories (the `Link: rel="next"` chain), and single
//! repositories by name, through the REST API with octocrab. Rate limits are
//! honoured: a 429, or a 403 that says the limit is spent, waits for
//! `Retry-After` or `x-ratelimit-reset` (clamped) and tries again, a bounded
//! number of times.

use super::session::{check_name, describe, Client, GithubError};
use octocrab::{FromResponse, Octocrab, Page};
use serde::Deserialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A repository as the API lists it (the fields an org scan uses).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Repository {
    /// `owner/name`.
    pub full_name: String,
    /// The HTTPS clone URL (on GitHub Enterprise, the server's own).
    pub clone_url: String,
    #[serde(default)]
    pub fork: bool,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub private: bool,
    /// `public`, `private` or `internal` (older servers omit it).
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub topics: Vec<String>,
}

/// Where repositories come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Org(String),
    User(String),
    /// One repository, `owner/name`.
    Repo(String),
}

/// Which visibility an org scan keeps (`--visibility`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Visibility {
    Public,
    /// Private and internal repositories.
    Private,
    All,
}

/// Which listed repositories an org scan keeps. Repositories named one by
/// one (`--repo`) are kept whatever they are.
#[derive(Debug, Clone)]
pub struct Filter {
    pub include_forks: bool,
    pub include_archived: bool,
    pub visibility: Visibility,
    /// Every one of these topics must be on the repository.
    pub topics: Vec<String>,
}

impl Filter {
    pub fn keeps(&self, repo: &Repository) -> bool {
        let private = repo.private || repo.visibility.as_deref().is_some_and(|v| v != "public");
        let visible = match self.visibility {
            Visibility::All => true,
            Visibility::Public => !private,
            Visibility::Private => private,
        };
        (self.include_forks || !repo.fork)
            && (self.include_archived || !repo.archived)
            && visible
            && self
                .topics
                .iter()
                .all(|t| repo.topics.iter().any(|r| r.eq_ignore_ascii_case(t)))
    }
}

/// What the listing found: the repositories to scan, sorted by name, and
/// the repositories named with `--repo` that could not be looked up (each
/// becomes an error of the scan; the rest goes on).
#[derive(Debug, Default)]
pub struct Listing {
    pub repositories: Vec<Repository>,
    pub failed: Vec<(String, String)>,
}

/// How long and how often a rate-limited request waits.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// The longest single wait, whatever the server asks for.
    pub max_wait: Duration,
    /// Waits before giving up.
    pub retries: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            max_wait: Duration::from_secs(15 * 60),
            retries: 5,
        }
    }
}

/// Lists the repositories of `sources` that `filter` keeps.
pub fn list(
    client: &Client,
    sources: &[Source],
    filter: &Filter,
    limits: RateLimits,
) -> Result<Listing, GithubError> {
    let api = Api {
        client: &client.octocrab,
        runtime: &client.runtime,
        limits,
    };
    let mut listing = Listing::default();
    for source in sources {
        match source {
            Source::Org(name) | Source::User(name) => {
                let org = matches!(source, Source::Org(_));
                check_name(name, if org { "organisation" } else { "user" })?;
                let first = if org {
                    format!("/orgs/{name}/repos?type=all&per_page=100")
                } else {
                    format!("/users/{name}/repos?type=owner&per_page=100")
                };
                let what = format!("listing the repositories of {name}");
                let mut next = Some(first);
                while let Some(uri) = next.take() {
                    let page: Page<Repository> = api.get(&uri, &what)?;
                    next = page.next.map(|uri| uri.to_string());
                    listing
                        .repositories
                        .extend(page.items.into_iter().filter(|r| filter.keeps(r)));
                }
            }
            Source::Repo(full_name) => {
                let Some((owner, name)) = full_name.split_once('/') else {
                    return Err(GithubError::Name(
                        full_name.clone(),
                        "owner/name repository",
                    ));
                };
                check_name(owner, "owner")?;
                check_name(name, "repository")?;
                let what = format!("looking up {full_name}");
                match api.get::<Repository>(&format!("/repos/{owner}/{name}"), &what) {
                    Ok(repo) => listing.repositories.push(repo),
                    Err(error) => listing.failed.push((full_name.clone(), error.to_string())),
                }
            }
        }
    }
    listing
        .repositories
        .sort_by_key(|r| r.full_name.to_lowercase());
    listing
        .repositories
        .dedup_by(|a, b| a.full_name.eq_ignore_ascii_case(&b.full_name));
    Ok(listing)
}

struct Api<'a> {
    client: &'a Octocrab,
    runtime: &'a tokio::runtime::Runtime,
    limits: RateLimits,
}

/// One unsuccessful answer: its status, how long the server asked to wait
/// if it was a rate limit, and its message.
struct Refused {
    status: u16,
    wait: Option<Duration>,
    message: String,
}

impl Api<'_> {
    /// GETs `uri` (relative to the API base, or a `next` link), waiting
    /// out rate limits.
    fn get<T: FromResponse>(&self, uri: &str, what: &str) -> Result<T, GithubError> {
        let failed = |message: String| GithubError::Api {
            what: what.to_string(),
            message,
        };
        let mut attempt = 0;
        loop {
            let answer: Result<T, Refused> = self
                .runtime
                .block_on(async {
                    let response = self.client._get(uri).await?;
                    let status = response.status();
                    if status.is_success() {
                        return T::from_response(response).await.map(Ok);
                    }
                    let wait = rate_limit_wait(
                        status.as_u16(),
                        response.headers(),
                        now(),
                        self.limits.max_wait,
                    );
                    let body = self
                        .client
                        .body_to_string(response)
                        .await
                        .unwrap_or_default();
                    Ok(Err(Refused {
                        status: status.as_u16(),
                        wait,
                        message: api_message(&body),
                    }))
                })
                .map_err(|e: octocrab::Error| failed(describe(&e)))?;
            match answer {
                Ok(value) => return Ok(value),
                Err(Refused {
                    wait: Some(wait), ..
                }) if attempt < self.limits.retries => {
                    attempt += 1;
                    eprintln!(
                        "leakstop: GitHub rate limit while {what}: waiting {}s",
                        wait.as_secs()
                    );
                    std::thread::sleep(wait);
                }
                Err(refused) => {
                    return Err(failed(format!(
                        "HTTP {}: {}",
                        refused.status, refused.message
                    )))
                }
            }
        }
    }
}

/// How long to wait before retrying a rate-limited answer; `None` if the
/// answer is not a rate limit. A 429 is one; a 403 is one when it says the
/// limit is spent (`x-ratelimit-remaining: 0`) or asks to retry later
/// (secondary limits). `Retry-After` wins over `x-ratelimit-reset`; the
/// wait is at least a second and at most `max`.
pub fn rate_limit_wait(
    status: u16,
    headers: &http::HeaderMap,
    now: u64,
    max: Duration,
) -> Option<Duration> {
    let number = |name: &str| -> Option<u64> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    };
    let retry_after = number("retry-after");
    let spent = number("x-ratelimit-remaining") == Some(0);
    if !(status == 429 || (status == 403 && (spent || retry_after.is_some()))) {
        return None;
    }
    let seconds = retry_after
        .or_else(|| number("x-ratelimit-reset").map(|reset| reset.saturating_sub(now)))
        .unwrap_or(60);
    Some(Duration::from_secs(seconds).clamp(Duration::from_secs(1), max))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The `message` of a GitHub error body, cut short; the status alone if none.
fn api_message(body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    message
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn rate_limits_wait_as_told_within_bounds() {
        let max = Duration::from_secs(900);
        let wait =
            |status, h: &[(&'static str, &str)]| rate_limit_wait(status, &headers(h), 1000, max);
        assert_eq!(
            wait(429, &[("retry-after", "7")]),
            Some(Duration::from_secs(7))
        );
        assert_eq!(wait(429, &[]), Some(Duration::from_secs(60)));
        assert_eq!(
            wait(
                403,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1030")
                ]
            ),
            Some(Duration::from_secs(30))
        );
        // A reset in the past, or a huge one, is clamped.
        assert_eq!(
            wait(
                403,
                &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "10")]
            ),
            Some(Duration::from_secs(1))
        );
        assert_eq!(wait(429, &[("retry-after", "999999")]), Some(max));
        // A plain 403 (no access) and a 404 are not rate limits.
        assert_eq!(wait(403, &[("x-ratelimit-remaining", "12")]), None);
        assert_eq!(wait(404, &[("retry-after", "5")]), None);
    }

    #[test]
    fn filters_keep_what_was_asked() {
        let repo = |fork, archived, private, topics: &[&str]| Repository {
            full_name: "acme/x".into(),
            clone_url: "https://github.com/acme/x.git".into(),
            fork,
            archived,
            private,
            visibility: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
        };
        let filter = Filter {
            include_forks: false,
            include_archived: false,
            visibility: Visibility::All,
            topics: vec![],
        };
        assert!(filter.keeps(&repo(false, false, false, &[])));
        assert!(!filter.keeps(&repo(true, false, false, &[])));
        assert!(!filter.keeps(&repo(false, true, false, &[])));
        let public = Filter {
            visibility: Visibility::Public,
            topics: vec!["Backend".into()],
            ..filter.clone()
        };
        assert!(public.keeps(&repo(false, false, false, &["backend", "go"])));
        assert!(!public.keeps(&repo(false, false, true, &["backend"])));
        assert!(!public.keeps(&repo(false, false, false, &["frontend"])));
    }
}
