//! Absolute http(s) URLs as a crawl needs them: parsed and joined by the
//! `url` crate (WHATWG rules), restricted to http and https without
//! credentials, fragments dropped, origins compared with explicit ports.

use std::fmt;

/// An absolute http(s) URL without credentials or fragment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebUrl(url::Url);

impl WebUrl {
    /// Parses an absolute `http://` or `https://` URL; `None` for other
    /// schemes and for URLs carrying credentials (they are never followed).
    pub fn parse(text: &str) -> Option<WebUrl> {
        WebUrl::from_url(url::Url::parse(text.trim()).ok()?)
    }

    fn from_url(mut url: url::Url) -> Option<WebUrl> {
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return None;
        }
        if !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        url.set_fragment(None);
        Some(WebUrl(url))
    }

    /// `scheme://host:port`, the unit of the same-origin policy.
    pub fn origin(&self) -> String {
        format!(
            "{}://{}:{}",
            self.0.scheme(),
            self.0.host_str().unwrap_or_default(),
            self.0.port_or_known_default().unwrap_or_default()
        )
    }

    /// Resolves a reference found in this document (absolute, scheme-relative,
    /// root-relative or relative); `None` for other schemes (`data:`, `blob:`).
    pub fn join(&self, reference: &str) -> Option<WebUrl> {
        WebUrl::from_url(self.0.join(reference.trim()).ok()?)
    }

    /// Path and query, starting with `/`.
    pub fn path_and_query(&self) -> String {
        match self.0.query() {
            Some(query) => format!("{}?{query}", self.0.path()),
            None => self.0.path().to_string(),
        }
    }

    /// The same origin's `/robots.txt`.
    pub fn robots_txt(&self) -> WebUrl {
        let mut url = self.0.clone();
        url.set_path("/robots.txt");
        url.set_query(None);
        WebUrl(url)
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_join() {
        let base = WebUrl::parse("https://App.example.com/shop/index.html?x=1#top").unwrap();
        assert_eq!(base.origin(), "https://app.example.com:443");
        assert_eq!(
            base.to_string(),
            "https://app.example.com/shop/index.html?x=1"
        );
        let join = |r: &str| base.join(r).map(|u| u.to_string());
        assert_eq!(
            join("app.js").as_deref(),
            Some("https://app.example.com/shop/app.js")
        );
        assert_eq!(
            join("../a/./b.js").as_deref(),
            Some("https://app.example.com/a/b.js")
        );
        assert_eq!(
            join("/static/c.js?v=2").as_deref(),
            Some("https://app.example.com/static/c.js?v=2")
        );
        assert_eq!(
            join("//cdn.example.com/d.js").as_deref(),
            Some("https://cdn.example.com/d.js")
        );
        assert_eq!(
            join("http://127.0.0.1:8080/e.js").as_deref(),
            Some("http://127.0.0.1:8080/e.js")
        );
        assert_eq!(join("data:text/javascript,alert(1)"), None);
        assert!(WebUrl::parse("ftp://example.com/").is_none());
        assert!(WebUrl::parse("https://user:pw@example.com/").is_none());
    }

    #[test]
    fn origins_keep_explicit_ports_and_robots_stays_on_the_origin() {
        let url = WebUrl::parse("http://127.0.0.1:8080/a/b.js?x=1").unwrap();
        assert_eq!(url.origin(), "http://127.0.0.1:8080");
        assert_eq!(url.path_and_query(), "/a/b.js?x=1");
        assert_eq!(
            url.robots_txt().to_string(),
            "http://127.0.0.1:8080/robots.txt"
        );
    }
}
