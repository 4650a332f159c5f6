//! Where a secret may be sent: its provider's base URL (overridable by config
//! and environment), over https, or plain http only to a loopback host (how
//! tests reach fake servers). Values are percent-encoded into URLs, so a
//! secret or companion value can never change the host.

use std::collections::BTreeMap;

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

/// Splits `scheme://host[:port]/path` into its parts (no userinfo allowed).
pub fn split(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains(['@', '?', '#', '\\', ' ']) {
        return None;
    }
    Some((scheme, authority, path))
}

/// The host of an authority, without port or IPv6 brackets.
fn host(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// True for `localhost`, `127.x.y.z` and `::1`.
pub fn is_loopback(url: &str) -> bool {
    split(url).is_some_and(|(_, authority, _)| {
        let host = host(authority);
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
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
    let Some((scheme, _, _)) = split(url) else {
        return Err(fail("not an absolute http(s) URL without user info"));
    };
    match scheme {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(fail(
            "plain http is only allowed to a loopback host; use https",
        )),
        _ => Err(fail("only https URLs are allowed")),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `:`/`@`
/// (allowed in a path segment), so a value stays inside its segment.
pub fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'@' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The placeholder starting at `text[0] == '{'`: `{name}` where name is
/// lowercase letters and `_`; other braces (a GraphQL query) are literal.
fn placeholder_at(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('{')?;
    let close = inner.find('}')?;
    let name = &inner[..close];
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).then_some(name)
}

/// Fills `{name}` placeholders in `template` from `lookup`; `encode` is
/// applied to each value. An unknown name is an error naming it.
pub fn render(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
    encode: impl Fn(&str) -> String,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        match placeholder_at(rest) {
            Some(name) => {
                let value = lookup(name).ok_or_else(|| format!("no value for `{{{name}}}`"))?;
                out.push_str(&encode(&value));
                rest = &rest[name.len() + 2..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The `{name}` placeholders in a template.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open..];
        match placeholder_at(rest) {
            Some(name) => {
                names.push(name);
                rest = &rest[name.len() + 2..];
            }
            None => rest = &rest[1..],
        }
    }
    names
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
            render("{nope}", |_| None, encode_segment).unwrap_err(),
            "no value for `{nope}`"
        );
        assert_eq!(placeholders("a{b}c{d}"), vec!["b", "d"]);
        assert_eq!(placeholders("{ viewer { id } }"), Vec::<&str>::new());
        assert_eq!(
            render("{ q {x} }", |_| Some("1".into()), str::to_string).unwrap(),
            "{ q 1 }"
        );
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name("github"), "LEAKSTOP_VERIFY_URL_GITHUB");
        assert_eq!(env_name("google-oauth"), "LEAKSTOP_VERIFY_URL_GOOGLE_OAUTH");
    }
}
