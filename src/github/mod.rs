//! GitHub's REST API through octocrab: the client constructor here, issues
//! in [`issues`]; org scans list repositories ([`repos`]) and clone them
//! ([`clone`]) through [`session`].
//!
//! octocrab is built without its retry layer (it retries POSTs on 5xx and
//! could open a duplicate issue) and without redirects; this module retries
//! itself, only where a retry is safe, honouring `Retry-After` and the
//! rate-limit reset on 403/429. Each call has a timeout. The runtime is
//! tokio's current-thread one, started only when the bot talks to GitHub.

pub mod app;
pub mod clone;
pub mod issues;
pub mod repos;
pub mod session;

pub use session::{check_name, client, token_from_env, DEFAULT_API_URL};

use std::time::Duration;

/// Default API base; GitHub Enterprise Server uses `https://HOST/api/v3`.
pub const DEFAULT_API: &str = "https://api.github.com";

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("GitHub API: {0}")]
    Setup(String),
    #[error("GitHub API: {method} {path}: HTTP {status}: {message}")]
    Status {
        method: &'static str,
        path: String,
        status: u16,
        message: String,
    },
    #[error("GitHub API: {method} {path}: {message}")]
    Transport {
        method: &'static str,
        path: String,
        message: String,
    },
}

impl GithubError {
    pub fn status(&self) -> Option<u16> {
        match self {
            GithubError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A response as this module reads it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A GitHub API client.
pub struct Client {
    octo: octocrab::Octocrab,
    runtime: tokio::runtime::Runtime,
    base: String,
    timeout: Duration,
    /// Retries of a safe request after a rate limit or 5xx.
    retries: u32,
    /// Longest `Retry-After` honoured; beyond it the call fails.
    max_wait: Duration,
}

/// Method of a request; POST and PATCH are never retried after a 5xx (the
/// first may have landed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

impl Client {
    /// A client for `base` (https, or http on loopback for tests) with a
    /// token (`GITHUB_TOKEN`), or none for unauthenticated calls.
    pub fn new(
        base: &str,
        token: Option<String>,
        timeout: Duration,
    ) -> Result<Client, GithubError> {
        let base = base.trim_end_matches('/').to_string();
        crate::verify::endpoint::check("github-api", &base)
            .map_err(|e| GithubError::Setup(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| GithubError::Setup(format!("starting the runtime: {e}")))?;
        let octo = {
            let _guard = runtime.enter();
            let mut builder = octocrab::Octocrab::builder()
                .base_uri(base.as_str())
                .map_err(|e| GithubError::Setup(format!("base URL {base}: {e}")))?
                .add_header(
                    http::header::ACCEPT,
                    "application/vnd.github+json".to_string(),
                )
                .add_header(
                    http::header::HeaderName::from_static("x-github-api-version"),
                    "2022-11-28".to_string(),
                );
            if let Some(token) = token.filter(|t| !t.is_empty()) {
                builder = builder.personal_token(token);
            }
            builder
                .build()
                .map_err(|e| GithubError::Setup(e.to_string()))?
        };
        Ok(Client {
            octo,
            runtime,
            base,
            timeout,
            retries: 3,
            max_wait: Duration::from_secs(60),
        })
    }

    /// Sets the retry budget and longest honoured wait (tests shorten it).
    pub fn with_limits(mut self, retries: u32, max_wait: Duration) -> Self {
        self.retries = retries;
        self.max_wait = max_wait;
        self
    }

    /// Sends a request; retries rate limits (403/429 with `Retry-After`, or
    /// remaining 0 with a reset time) for every method, and 5xx or transport
    /// failures only for GET. Non-2xx answers come back as `Status` errors.
    pub fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Reply, GithubError> {
        let mut attempt = 0;
        loop {
            let result = self.once(method, path, body);
            let last = attempt >= self.retries;
            match result {
                Ok(reply) if (200..300).contains(&reply.status) => return Ok(reply),
                Ok(reply) => {
                    let wait = rate_limit_wait(&reply);
                    let limited = reply.status == 429 || (reply.status == 403 && wait.is_some());
                    let retry = if limited {
                        wait.or(Some(Duration::from_secs(1)))
                            .filter(|w| *w <= self.max_wait)
                    } else if reply.status >= 500 && method == Method::Get {
                        Some(Duration::from_millis(200 * 2u64.pow(attempt)))
                    } else {
                        None
                    };
                    match retry {
                        Some(wait) if !last => {
                            std::thread::sleep(wait);
                        }
                        _ => {
                            let message = serde_json::from_str::<serde_json::Value>(&reply.body)
                                .ok()
                                .and_then(|v| {
                                    v.get("message")
                                        .and_then(|m| m.as_str().map(str::to_string))
                                })
                                .unwrap_or_default();
                            return Err(GithubError::Status {
                                method: method.as_str(),
                                path: path.to_string(),
                                status: reply.status,
                                message,
                            });
                        }
                    }
                }
                Err(message) => {
                    if last || method != Method::Get {
                        return Err(GithubError::Transport {
                            method: method.as_str(),
                            path: path.to_string(),
                            message,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(200 * 2u64.pow(attempt)));
                }
            }
            attempt += 1;
        }
    }

    fn once(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Reply, String> {
        let uri = format!("{}{path}", self.base);
        let octo = &self.octo;
        let future = async {
            let response = match method {
                Method::Get => octo._get(uri.as_str()).await,
                Method::Post => octo._post(uri.as_str(), body).await,
                Method::Patch => octo._patch(uri.as_str(), body).await,
            }
            .map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = octo
                .body_to_string(response)
                .await
                .map_err(|e| describe(&e))?;
            Ok(Reply {
                status,
                headers,
                body,
            })
        };
        self.runtime
            .block_on(async { tokio::time::timeout(self.timeout, future).await })
            .unwrap_or_else(|_| Err(format!("no answer within {}s", self.timeout.as_secs_f64())))
    }
}

/// A transport error without the request (a URL could hold a token in a query).
fn describe(error: &octocrab::Error) -> String {
    match error {
        octocrab::Error::Hyper { .. } => "network error".into(),
        octocrab::Error::Service { .. } => "connection failed".into(),
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or("request failed")
            .to_string(),
    }
}

/// How long a rate-limited answer asks to wait: `Retry-After`, else the
/// reset time when no requests remain.
fn rate_limit_wait(reply: &Reply) -> Option<Duration> {
    if let Some(seconds) = reply
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_secs(seconds));
    }
    if reply.header("x-ratelimit-remaining") == Some("0") {
        let reset = reply
            .header("x-ratelimit-reset")?
            .trim()
            .parse::<u64>()
            .ok()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        return Some(Duration::from_secs(reset.saturating_sub(now)));
    }
    None
}
