//! The one HTTP client verification uses: blocking `ureq` over rustls, a
//! global timeout per request, no redirects (a redirect could carry a secret
//! to another host), bounded retries with exponential backoff that honour
//! `Retry-After` and rate-limit reset headers, and request logging that never
//! contains a secret (it prints the templated URL and header names only).

use super::limits::{self, Deadline};
use super::{Status, Verification};
use std::io::Read;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Largest response body read; identity responses are small.
const MAX_BODY: u64 = 1 << 20;

/// Longest wait a rate-limit header is read as; anything longer is as good
/// as "too long" (the policy's `max_wait` decides).
const MAX_HEADER_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Retry and timeout policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub timeout: Duration,
    /// Retries after the first attempt (429, 5xx, connection failures);
    /// at most [`limits::MAX_RETRIES`].
    pub retries: u32,
    /// First backoff delay; doubles on each retry, up to [`limits::MAX_BACKOFF`].
    pub backoff: Duration,
    /// Longest wait a `Retry-After` may ask for; beyond it the result is `rate_limited`.
    pub max_wait: Duration,
    /// Log requests (redacted) to stderr.
    pub log: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_secs(10),
            retries: 2,
            backoff: Duration::from_millis(250),
            max_wait: Duration::from_secs(30),
            log: false,
        }
    }
}

/// One request. `display` is what logs and results show: the URL template,
/// never the filled-in URL (Telegram puts the token in the path).
pub struct Request {
    pub method: String,
    pub url: String,
    pub display: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// A response as the classifiers see it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

pub struct Client {
    /// Honours proxy settings from the environment, for real providers.
    agent: ureq::Agent,
    /// No proxy: loopback base URLs (tests, local fakes) are reached directly.
    direct: ureq::Agent,
    policy: Policy,
    /// The end of the overall verification budget, if there is one.
    deadline: Option<Deadline>,
}

impl Client {
    pub fn new(policy: Policy) -> Self {
        let build = |proxy: bool| -> ureq::Agent {
            let mut config = ureq::Agent::config_builder()
                .timeout_global(Some(policy.timeout))
                .http_status_as_error(false)
                .max_redirects(0)
                .max_redirects_will_error(false)
                .user_agent(concat!("leakstop/", env!("CARGO_PKG_VERSION")));
            if !proxy {
                config = config.proxy(None);
            }
            config.build().into()
        };
        Client {
            agent: build(true),
            direct: build(false),
            policy,
            deadline: None,
        }
    }

    /// Stops retrying (and reports `skipped: deadline`) when a wait would
    /// run past `deadline`.
    pub fn with_deadline(mut self, deadline: Deadline) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The overall budget is spent: checks not yet started are skipped.
    pub fn past_deadline(&self) -> Option<Verification> {
        let deadline = self.deadline?;
        deadline
            .passed()
            .then(|| limits::deadline_skipped(deadline.budget))
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Writes a debug line to stderr when logging is on. Callers pass text
    /// that holds no secret; `scrub` is the second line of defence.
    pub fn log(&self, message: &str) {
        if self.policy.log {
            eprintln!("leakstop: verify: {message}");
        }
    }

    /// Sends `request`, retrying 429/5xx/connection failures. `classify`
    /// turns a response into a result, or `None` when the response is not one
    /// the provider documents (then 429 and 5xx are retried, anything else is
    /// an error). `secrets` are scrubbed from every value the result takes
    /// from the response (owner, scopes, expiry, reason): a server that
    /// echoes the token must not put it into reports or the cache.
    pub fn send(
        &self,
        request: &Request,
        secrets: &[&str],
        classify: &dyn Fn(&Response) -> Option<Verification>,
    ) -> Verification {
        let endpoint = format!("{} {}", request.method, request.display);
        let mut result = self.attempts(request, secrets, classify);
        result.endpoint = Some(endpoint);
        result.reason = result.reason.map(|reason| scrub(&reason, secrets));
        for value in result.owner.values_mut() {
            *value = scrub(value, secrets);
        }
        for scope in &mut result.scopes {
            *scope = scrub(scope, secrets);
        }
        result.expires_at = result.expires_at.map(|expiry| scrub(&expiry, secrets));
        result
    }

    fn attempts(
        &self,
        request: &Request,
        secrets: &[&str],
        classify: &dyn Fn(&Response) -> Option<Verification>,
    ) -> Verification {
        let mut attempt = 0;
        loop {
            let backoff = limits::backoff(self.policy.backoff, attempt);
            let last = attempt >= self.policy.retries.min(limits::MAX_RETRIES);
            let started = Instant::now();
            let next = match self.once(request) {
                Ok(response) => {
                    self.log_response(request, &response, started);
                    self.after_response(&response, attempt, backoff, classify)
                }
                Err(Failure::Timeout) => {
                    self.log(&format!(
                        "{} {} -> timed out",
                        request.method, request.display
                    ));
                    Next::Done(Verification::error(format!(
                        "no answer within {:.1}s (--verify-timeout)",
                        self.policy.timeout.as_secs_f64()
                    )))
                }
                Err(Failure::Other(text)) => {
                    let text = scrub(&text, secrets);
                    self.log(&format!("{} {} -> {text}", request.method, request.display));
                    if last {
                        Next::Done(Verification::error(text))
                    } else {
                        Next::Retry(backoff)
                    }
                }
            };
            match next {
                Next::Done(result) => return result,
                Next::Retry(wait) => {
                    if let Some(deadline) = self.deadline.filter(|d| d.would_pass(wait)) {
                        return limits::deadline_skipped(deadline.budget);
                    }
                    self.log(&format!("retrying in {} ms", wait.as_millis()));
                    std::thread::sleep(wait);
                }
            }
            attempt += 1;
        }
    }

    /// What a response means: a result, or a retry after a wait (429 and
    /// 5xx, while attempts remain and the provider's wait is reasonable).
    fn after_response(
        &self,
        response: &Response,
        attempt: u32,
        backoff: Duration,
        classify: &dyn Fn(&Response) -> Option<Verification>,
    ) -> Next {
        if let Some(result) = classify(response) {
            return Next::Done(result);
        }
        let status = response.status;
        let last = attempt >= self.policy.retries.min(limits::MAX_RETRIES);
        let attempts = attempt + 1;
        // 429, or GitHub's 403 for its primary (remaining 0) and secondary
        // (Retry-After) rate limits.
        let limited = status == 429
            || (status == 403
                && (response.header("x-ratelimit-remaining") == Some("0")
                    || response.header("retry-after").is_some()));
        if limited {
            let wait = rate_limit_wait(response).unwrap_or(backoff);
            if wait > self.policy.max_wait {
                return Next::Done(Verification::with_reason(
                    Status::RateLimited,
                    format!(
                        "HTTP {status}; the provider asked to wait {}s",
                        wait.as_secs()
                    ),
                ));
            }
            if last {
                return Next::Done(Verification::with_reason(
                    Status::RateLimited,
                    format!("HTTP {status} after {attempts} attempts"),
                ));
            }
            return Next::Retry(wait);
        }
        if status >= 500 {
            if last {
                return Next::Done(Verification::error(format!(
                    "HTTP {status} from the provider after {attempts} attempts"
                )));
            }
            return Next::Retry(backoff);
        }
        Next::Done(Verification::error(format!(
            "unexpected response: HTTP {status}"
        )))
    }

    /// Logs a response: URL template and header names only, never values.
    fn log_response(&self, request: &Request, response: &Response, started: Instant) {
        let names: Vec<&str> = request.headers.iter().map(|(n, _)| n.as_str()).collect();
        self.log(&format!(
            "{} {} [{}] -> HTTP {} in {} ms",
            request.method,
            request.display,
            names.join(", "),
            response.status,
            started.elapsed().as_millis()
        ));
    }

    fn once(&self, request: &Request) -> Result<Response, Failure> {
        let agent = if super::endpoint::is_loopback(&request.url) {
            &self.direct
        } else {
            &self.agent
        };
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let http_request = builder
            .body(request.body.clone().unwrap_or_default())
            .map_err(|e| Failure::Other(format!("building the request: {e}")))?;
        let mut response = agent.run(http_request).map_err(|e| match e {
            ureq::Error::Timeout(_) => Failure::Timeout,
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Failure::Timeout,
            other => Failure::Other(describe(&other)),
        })?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let read = response
            .body_mut()
            .as_reader()
            .take(MAX_BODY)
            .read_to_end(&mut body);
        if let Err(e) = read {
            return Err(if e.kind() == std::io::ErrorKind::TimedOut {
                Failure::Timeout
            } else {
                Failure::Other(format!("reading the response: {}", e.kind()))
            });
        }
        Ok(Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

enum Failure {
    Timeout,
    Other(String),
}

/// After one attempt: the result, or wait this long and try again.
enum Next {
    Done(Verification),
    Retry(Duration),
}

/// A short description of a transport error, without URLs (which could hold
/// a secret in their path).
fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::Io(io) => format!("network error: {}", io.kind()),
        ureq::Error::Tls(text) => format!("TLS error: {text}"),
        ureq::Error::Rustls(e) => format!("TLS error: {e}"),
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
            "the provider answered with a redirect, which leakstop does not follow".into()
        }
        ureq::Error::BodyExceedsLimit(_) => "response too large".into(),
        _ => "request failed".into(),
    }
}

/// How long a rate-limited response asks us to wait: `Retry-After` (seconds
/// or an HTTP date), else a reset time (`x-ratelimit-reset`,
/// `ratelimit-reset`) as Unix seconds.
pub fn rate_limit_wait(response: &Response) -> Option<Duration> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    if let Some(value) = response.header("retry-after").map(str::trim) {
        if let Some(seconds) = value.parse::<f64>().ok().filter(|s| *s >= 0.0) {
            return Some(limits::clamp_seconds(seconds, MAX_HEADER_WAIT));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            // A date in the past means "now".
            let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
            return Some(wait.min(MAX_HEADER_WAIT));
        }
    }
    let reset = ["x-ratelimit-reset", "ratelimit-reset"]
        .iter()
        .find_map(|name| response.header(name)?.trim().parse::<u64>().ok())?;
    // Small values are deltas (some providers send seconds-until-reset).
    let wait = if reset > 1_000_000_000 {
        reset.saturating_sub(now)
    } else {
        reset
    };
    Some(Duration::from_secs(wait).min(MAX_HEADER_WAIT))
}

/// Replaces every occurrence of a secret value in `text` by its redacted form.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, &crate::finding::redact(secret));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)]) -> Response {
        Response {
            status: 429,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: String::new(),
        }
    }

    #[test]
    fn retry_after_and_reset_headers() {
        assert_eq!(
            rate_limit_wait(&response(&[("retry-after", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            rate_limit_wait(&response(&[("ratelimit-reset", "5")])),
            Some(Duration::from_secs(5))
        );
        assert_eq!(rate_limit_wait(&response(&[])), None);
        // Absurd values from a server are clamped, never a panic.
        for absurd in ["1e30", "18446744073709551615", "inf"] {
            assert_eq!(
                rate_limit_wait(&response(&[("retry-after", absurd)])),
                Some(MAX_HEADER_WAIT),
                "{absurd}"
            );
        }
        assert_eq!(
            rate_limit_wait(&response(&[("x-ratelimit-reset", "18446744073709551615")])),
            Some(MAX_HEADER_WAIT)
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let wait =
            rate_limit_wait(&response(&[("x-ratelimit-reset", &(now + 10).to_string())])).unwrap();
        assert!((9..=10).contains(&wait.as_secs()), "{wait:?}");
    }

    #[test]
    fn http_dates() {
        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        let wait = rate_limit_wait(&response(&[("retry-after", &in_a_minute)])).unwrap();
        assert!((58..=60).contains(&wait.as_secs()), "{wait:?}");
        assert_eq!(rate_limit_wait(&response(&[("retry-after", "soon")])), None);
        // A date in the past means "now".
        assert_eq!(
            rate_limit_wait(&response(&[(
                "retry-after",
                "Sun, 06 Nov 1994 08:49:37 GMT"
            )])),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn scrub_hides_secrets() {
        assert_eq!(
            scrub("bad token abcdefghij!", &["abcdefghij"]),
            "bad token ab*****!"
        );
    }
}
