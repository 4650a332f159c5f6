//! Where a secret may be sent: its provider's base URL (overridable by config
//! and environment), over https, or plain http only to a loopback host (how
//! tests reach fake servers). Values are percent-encoded into URLs, so a
//! secret or companion value can never change the host.

use crate::provider::template::render;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::BTreeMap;
use url::{Host, Url};

/// Environment variable prefix for base URL overrides:
/// `LEAKSTOP_VERIFY_URL_GITHUB=https://ghe.example.com/api/v3`.
pub const ENV_PREFIX: &str = "LEAKSTOP_VERIFY_URL_";

/// A base URL that is not allowed to receive secrets.
#[derive(Debug, Clone, thiserror::Error)]
#[error("verification URL for `{endpoint}` ({url}): {reason}")]
pub struct UnsafeUrl {
    pub endpoint: String,
    pub url: String,
    pub reason: String,
}

/// The environment variable that overrides `endpoint`'s base URL.
pub fn env_name(endpoint: &str) -> String {
    let upper: String = endpoint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{ENV_PREFIX}{upper}")
}

/// Base URL overrides: config `[verify.base_urls]`, then the environment wins.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    config: BTreeMap<String, String>,
}

impl Overrides {
    pub fn new(config: BTreeMap<String, String>) -> Self {
        Overrides { config }
    }

    /// The base URL for `endpoint`: environment, config, else the rule's default.
    pub fn resolve(&self, endpoint: &str, default: Option<&str>) -> Option<String> {
        std::env::var(env_name(endpoint))
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| self.config.get(endpoint).cloned())
            .or_else(|| default.map(str::to_string))
            .map(|url| url.trim_end_matches('/').to_string())
    }
}

/// Parses a base URL or request URL. A base URL may hold placeholders
/// (`https://{shop}.myshopify.com`): each is read as a plain label `x`, so
/// the template is judged by the shape every filled-in value keeps (values
/// are percent-encoded, and the request URL is checked again once filled).
pub fn parse(url: &str) -> Option<Url> {
    let shape = render(url, |_| Some("x".to_string()), str::to_string).ok()?;
    let parsed = Url::parse(&shape).ok()?;
    let has_userinfo = !parsed.username().is_empty() || parsed.password().is_some();
    (parsed.has_host() && !has_userinfo).then_some(parsed)
}

/// True for `localhost`, `127.x.y.z` and `::1`.
pub fn is_loopback(url: &str) -> bool {
    parse(url).is_some_and(|url| match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    })
}

/// Accepts `https://…`, or `http://…` on a loopback host; anything else would
/// send a secret in clear or to a malformed destination.
pub fn check(endpoint: &str, url: &str) -> Result<(), UnsafeUrl> {
    let fail = |reason: &str| UnsafeUrl {
        endpoint: endpoint.to_string(),
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let Some(parsed) = parse(url) else {
        return Err(fail("not an absolute http(s) URL without user info"));
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(fail(
            "plain http is only allowed to a loopback host; use https",
        )),
        _ => Err(fail("only https URLs are allowed")),
    }
}

/// What a value may keep unencoded in a path segment: RFC 3986 unreserved
/// characters and `:`/`@`; everything else (`/`, `?`, `#`, spaces,
/// non-ASCII) is percent-encoded, so a value stays inside its segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'@');

/// Percent-encodes `value` for a URL path segment (or host label).
pub fn encode_segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tls_or_loopback() {
        assert!(check("github", "https://api.github.com").is_ok());
        assert!(check("github", "http://127.0.0.1:8080").is_ok());
        assert!(check("github", "http://localhost:1").is_ok());
        assert!(check("github", "http://[::1]:1/api").is_ok());
        assert!(check("github", "http://api.github.com").is_err());
        assert!(check("github", "http://127.0.0.1.evil.com").is_err());
        assert!(check("github", "https://user@api.github.com").is_err());
        assert!(check("github", "ftp://x").is_err());
        assert!(check("github", "api.github.com").is_err());
        assert!(check("github", "https://:pw@api.github.com").is_err());
        assert!(check("shopify", "https://{shop}.myshopify.com").is_ok());
        assert!(check("shopify", "http://{shop}.myshopify.com").is_err());
        assert!(check("request", "https://evil.com%2Fx%3F.myshopify.com/a").is_err());
    }

    #[test]
    fn values_cannot_escape_their_segment() {
        let url = render(
            "https://{shop}.myshopify.com/a/{secret}",
            |name| {
                Some(
                    if name == "shop" {
                        "evil.com/x?"
                    } else {
                        "a/b c"
                    }
                    .to_string(),
                )
            },
            encode_segment,
        )
        .unwrap();
        assert_eq!(url, "https://evil.com%2Fx%3F.myshopify.com/a/a%2Fb%20c");
        assert_eq!(
            encode_segment("a~b-c.d_e:f@g%h é"),
            "a~b-c.d_e:f@g%25h%20%C3%A9"
        );
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name("github"), "LEAKSTOP_VERIFY_URL_GITHUB");
        assert_eq!(env_name("google-oauth"), "LEAKSTOP_VERIFY_URL_GOOGLE_OAUTH");
    }
}
