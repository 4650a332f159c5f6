//! The org scans' GitHub session: an octocrab client whose API base URL can be overridden (GitHub
//! Enterprise, and local fake servers in tests), the repository listing of
//! org scans ([`repos`]) and their clones ([`clone`]). The token comes from
//! the environment, never from a flag (flags show in process lists), and
//! travels only in `Authorization` headers: never in a URL, a log line, an
//! error message or a file.

use crate::finding::Secret;
use std::time::Duration;

/// GitHub.com's REST API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// How long a request may wait to connect, and for each read.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("`{0}` is not an http(s) API URL")]
    ApiUrl(String),
    #[error("setting up the GitHub client: {0}")]
    Client(String),
    #[error("{what}: {message}")]
    Api { what: String, message: String },
    #[error("`{0}` is not a GitHub {1} name")]
    Name(String, &'static str),
}

/// The token from `GITHUB_TOKEN`, else `GH_TOKEN` (as the gh CLI reads it).
pub fn token_from_env() -> Option<Secret> {
    ["GITHUB_TOKEN", "GH_TOKEN"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .map(|value| value.trim().to_string())
        .find(|value| !value.is_empty())
        .map(Secret::new)
}

/// An API client and the (single-threaded) runtime its requests run on:
/// the rest of leakstop is synchronous, and octocrab's client must be
/// built and used inside a Tokio runtime.
pub struct Client {
    pub runtime: tokio::runtime::Runtime,
    pub octocrab: octocrab::Octocrab,
}

/// An API client for `api_url`, authenticated with `token` if there is one.
/// It has no retry layer and follows no redirect: rate limits are honoured
/// by the caller ([`repos`]), and a redirect never carries the token away.
pub fn client(api_url: &url::Url, token: Option<&Secret>) -> Result<Client, GithubError> {
    if !matches!(api_url.scheme(), "http" | "https") {
        return Err(GithubError::ApiUrl(api_url.to_string()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| GithubError::Client(e.to_string()))?;
    let inside = runtime.enter();
    let mut builder = octocrab::Octocrab::builder()
        .base_uri(api_url.as_str())
        .map_err(|e| GithubError::Client(e.to_string()))?
        .set_connect_timeout(Some(REQUEST_TIMEOUT))
        .set_read_timeout(Some(REQUEST_TIMEOUT));
    if let Some(token) = token {
        builder = builder.personal_token(token.expose().to_string());
    }
    let octocrab = builder
        .build()
        .map_err(|e| GithubError::Client(e.to_string()))?;
    drop(inside);
    Ok(Client { runtime, octocrab })
}

/// An owner or repository name as GitHub allows them (letters, digits,
/// `-`, `_`, `.`), so that a name can never change the path of a request
/// or of a clone in the cache.
pub fn check_name(name: &str, kind: &'static str) -> Result<(), GithubError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(GithubError::Name(name.to_string(), kind))
    }
}

/// An error with its causes, which carry the useful part.
pub(super) fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_paths() {
        for good in ["acme", "my-org", "repo.name", "a_b"] {
            assert!(check_name(good, "owner").is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a?b", "a b", "%2e%2e", "a\nb"] {
            assert!(check_name(bad, "owner").is_err(), "{bad:?}");
        }
    }
}
