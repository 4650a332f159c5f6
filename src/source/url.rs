//! `leakstop scan url`: fetches a deployed page, the scripts it loads, the
//! modules those import and the source maps they name, on the page's origin
//! and the origins the user allows, within limits on requests, bytes and
//! time, politely (one request at a time, a user agent, robots.txt).
//!
//! It must not be usable against an internal network: every connection goes
//! through a resolver that refuses loopback, private, link-local and other
//! non-public addresses, and the connection is made to the address that was
//! checked (no second lookup for DNS rebinding to race). Redirects are
//! followed by hand, each hop checked again, unless `--allow-private-addresses`.

use super::html;
use crate::stats::{SkipReason, StatsCollector};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// An absolute http(s) URL, split as far as fetching needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebUrl {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`; no fragment.
    pub path: String,
}

impl WebUrl {
    /// Parses an absolute `http://` or `https://` URL.
    pub fn parse(text: &str) -> Option<WebUrl> {
        let text = text.trim();
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let rest = rest.split('#').next().unwrap_or("");
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') || authority.is_empty() {
            return None; // credentials in URLs are not followed
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
            _ => (authority, default_port),
        };
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Some(WebUrl {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path,
        })
    }

    /// `scheme://host:port`, the unit of the same-origin policy.
    pub fn origin(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host, self.port)
    }

    /// Resolves a reference found in this document (absolute, scheme-relative,
    /// root-relative or relative); `None` for other schemes (`data:`, `blob:`).
    pub fn join(&self, reference: &str) -> Option<WebUrl> {
        let reference = reference.trim();
        if reference.starts_with("//") {
            return WebUrl::parse(&format!("{}:{reference}", self.scheme));
        }
        if let Some((scheme, _)) = reference.split_once(':') {
            if scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            {
                return WebUrl::parse(reference);
            }
        }
        let reference = reference.split('#').next().unwrap_or("");
        let joined = if reference.starts_with('/') {
            reference.to_string()
        } else if reference.starts_with('?') {
            let base = self.path.split('?').next().unwrap_or("/");
            format!("{base}{reference}")
        } else {
            let base = self.path.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{reference}")
        };
        Some(WebUrl {
            path: normalise(&joined),
            ..self.clone()
        })
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = matches!(
            (self.scheme.as_str(), self.port),
            ("http", 80) | ("https", 443)
        );
        if default {
            write!(f, "{}://{}{}", self.scheme, self.host, self.path)
        } else {
            write!(
                f,
                "{}://{}:{}{}",
                self.scheme, self.host, self.port, self.path
            )
        }
    }
}

/// Removes `.` and `..` segments from a path (with its query kept).
fn normalise(path: &str) -> String {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing = path.ends_with("/.") || path.ends_with("/..");
    let mut out = format!("/{}", segments.join("/"));
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Why an address is not on the public internet, if it is not.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if s[0] & 0xffc0 == 0xfe80 || s[0] & 0xffc0 == 0xfec0 {
                Some("link-local")
            } else if s[0] & 0xff00 == 0xff00 {
                Some("multicast")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation")
            } else if s[0] == 0x64 && s[1] == 0xff9b {
                // NAT64: the embedded IPv4 address decides.
                let v4 =
                    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                non_public_v4(v4)
            } else if v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1) {
                Some("loopback")
            } else {
                None
            }
        }
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 0 || ip.is_broadcast() {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if a >= 224 {
        Some("multicast or reserved")
    } else if (a, b, c) == (192, 0, 2) || (a, b, c) == (198, 51, 100) || (a, b, c) == (203, 0, 113)
    {
        Some("documentation")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else if (a, b, c) == (192, 0, 0) {
        Some("IETF protocol assignments")
    } else {
        None
    }
}

/// Resolves with the system resolver, then refuses non-public addresses.
/// ureq connects to exactly the addresses returned here.
#[derive(Debug)]
struct GuardedResolver {
    allow_private: bool,
    inner: DefaultResolver,
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addresses = self.inner.resolve(uri, config, timeout)?;
        if !self.allow_private {
            if let Some((address, why)) = addresses
                .iter()
                .find_map(|a| non_public(a.ip()).map(|why| (a, why)))
            {
                return Err(ureq::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "refused: {} resolves to {} ({why} address); pass --allow-private-addresses to scan internal hosts",
                        uri.host().unwrap_or("?"),
                        address.ip()
                    ),
                )));
            }
        }
        Ok(addresses)
    }
}

/// Limits and policy of one URL scan.
#[derive(Debug, Clone)]
pub struct UrlOptions {
    pub start: WebUrl,
    /// Origins besides the start page's whose scripts and maps are fetched.
    pub allowed_origins: Vec<String>,
    pub allow_private_addresses: bool,
    pub max_requests: usize,
    /// Total bytes downloaded.
    pub max_bytes: u64,
    /// Largest single response.
    pub max_response: u64,
    /// Wall-clock budget for the whole crawl.
    pub time_limit: Duration,
    pub user_agent: String,
}

/// What a fetched resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Page,
    Script,
    SourceMap,
}

/// A fetched resource.
#[derive(Debug, Clone)]
pub struct Resource {
    pub url: WebUrl,
    pub kind: ResourceKind,
    pub body: Vec<u8>,
}

/// Everything a crawl fetched, and which bundle names which map.
#[derive(Debug, Default)]
pub struct Crawl {
    pub resources: Vec<Resource>,
    /// Script URL → the URL of its source map (when it was fetched).
    pub maps: HashMap<String, String>,
    /// Framework payloads seen in pages.
    pub payloads: Vec<&'static str>,
}

/// Most redirects followed for one resource.
const MAX_REDIRECTS: usize = 5;
/// Longest pause robots.txt's Crawl-delay can ask for.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(5);

struct Crawler<'a> {
    options: &'a UrlOptions,
    stats: &'a StatsCollector,
    agent: ureq::Agent,
    origins: HashSet<String>,
    robots: HashMap<String, Robots>,
    started: Instant,
    requests: usize,
    bytes: u64,
    limit_warned: bool,
    last_request: Option<Instant>,
}

/// Fetches the page and what it loads; problems are recorded in `stats`.
pub fn crawl(options: &UrlOptions, stats: &StatsCollector) -> Crawl {
    let config = ureq::Agent::config_builder()
        // No proxy from the environment: through a proxy, the address check
        // would see the proxy's address, not the one it connects to.
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(options.user_agent.as_str())
        .timeout_global(Some(Duration::from_secs(30).min(options.time_limit)))
        .build();
    let resolver = GuardedResolver {
        allow_private: options.allow_private_addresses,
        inner: DefaultResolver::default(),
    };
    let agent = ureq::Agent::with_parts(config, DefaultConnector::default(), resolver);
    let mut origins: HashSet<String> = options.allowed_origins.iter().cloned().collect();
    origins.insert(options.start.origin());
    let mut crawler = Crawler {
        options,
        stats,
        agent,
        origins,
        robots: HashMap::new(),
        started: Instant::now(),
        requests: 0,
        bytes: 0,
        limit_warned: false,
        last_request: None,
    };
    crawler.run()
}

impl Crawler<'_> {
    fn run(&mut self) -> Crawl {
        let mut crawl = Crawl::default();
        let mut queue: VecDeque<(WebUrl, ResourceKind, Option<String>)> = VecDeque::new();
        let mut seen: HashSet<String> = HashSet::new();
        queue.push_back((self.options.start.clone(), ResourceKind::Page, None));
        seen.insert(self.options.start.to_string());
        while let Some((url, kind, referrer)) = queue.pop_front() {
            let Some(resource) = self.fetch(url, kind) else {
                continue;
            };
            let display = resource.url.to_string();
            let references: Vec<(String, ResourceKind)> = match kind {
                ResourceKind::Page => {
                    for payload in html::framework_payloads(&resource.body) {
                        if !crawl.payloads.contains(&payload) {
                            crawl.payloads.push(payload);
                        }
                    }
                    html::page_scripts(&resource.body)
                        .into_iter()
                        .map(|s| (s, ResourceKind::Script))
                        .collect()
                }
                ResourceKind::Script => {
                    let mut refs: Vec<(String, ResourceKind)> =
                        html::script_imports(&resource.body)
                            .into_iter()
                            .map(|s| (s, ResourceKind::Script))
                            .collect();
                    if let Some(range) = super::sourcemap::source_mapping_url(&resource.body) {
                        let value = String::from_utf8_lossy(&resource.body[range]).into_owned();
                        if !value.starts_with("data:") {
                            refs.push((value, ResourceKind::SourceMap));
                        }
                    }
                    refs
                }
                ResourceKind::SourceMap => Vec::new(),
            };
            if let (ResourceKind::SourceMap, Some(script)) = (kind, referrer) {
                crawl.maps.insert(script, display.clone());
            }
            for (reference, next_kind) in references {
                let Some(next) = resource.url.join(&reference) else {
                    continue;
                };
                if !self.origins.contains(&next.origin()) {
                    self.stats.skipped(SkipReason::CrossOrigin);
                    continue;
                }
                if seen.insert(next.to_string()) {
                    let referrer = (next_kind == ResourceKind::SourceMap).then(|| display.clone());
                    queue.push_back((next, next_kind, referrer));
                }
            }
            crawl.resources.push(resource);
        }
        crawl
    }

    /// Fetches one resource, following redirects within the allowed origins.
    fn fetch(&mut self, mut url: WebUrl, kind: ResourceKind) -> Option<Resource> {
        for _ in 0..=MAX_REDIRECTS {
            if !self.robots_allow(&url) {
                self.stats.skipped(SkipReason::RobotsTxt);
                return None;
            }
            if !self.within_limits(&url) {
                return None;
            }
            let response = self.get(&url);
            let mut response = match response {
                Ok(response) => response,
                Err(message) => {
                    self.problem(kind, &url, message);
                    return None;
                }
            };
            let status = response.status().as_u16();
            if (300..400).contains(&status) {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| url.join(l));
                let Some(next) = location else {
                    self.problem(
                        kind,
                        &url,
                        format!("HTTP {status} without a usable Location"),
                    );
                    return None;
                };
                // The start page (the only page fetched) may move (http →
                // https, apex → www): its new origin becomes the site's.
                // Addresses are still checked on the new hop's connection.
                if kind == ResourceKind::Page {
                    self.origins.insert(next.origin());
                } else if !self.origins.contains(&next.origin()) {
                    self.stats.skipped(SkipReason::CrossOrigin);
                    return None;
                }
                url = next;
                continue;
            }
            if status != 200 {
                self.problem(kind, &url, format!("HTTP {status}"));
                return None;
            }
            let left = self.options.max_bytes.saturating_sub(self.bytes);
            let limit = self.options.max_response.min(left);
            let body = response.body_mut().with_config().limit(limit).read_to_vec();
            return match body {
                Ok(body) => {
                    self.bytes += body.len() as u64;
                    Some(Resource { url, kind, body })
                }
                Err(ureq::Error::BodyExceedsLimit(_)) => {
                    self.stats.warning(
                        url.to_string(),
                        format!(
                            "not scanned: larger than the {} response/byte limit",
                            crate::report::human_bytes(limit)
                        ),
                    );
                    self.stats.skipped(SkipReason::TooLarge);
                    None
                }
                Err(e) => {
                    self.problem(kind, &url, format!("reading the response: {e}"));
                    None
                }
            };
        }
        self.problem(kind, &url, format!("more than {MAX_REDIRECTS} redirects"));
        None
    }

    fn get(&mut self, url: &WebUrl) -> Result<ureq::http::Response<ureq::Body>, String> {
        if let Some(delay) = self.robots.get(&url.origin()).and_then(|r| r.crawl_delay) {
            if let Some(last) = self.last_request {
                let wait = delay.saturating_sub(last.elapsed());
                std::thread::sleep(wait);
            }
        }
        self.requests += 1;
        self.last_request = Some(Instant::now());
        self.agent
            .get(url.to_string())
            .header(
                "Accept",
                "text/html,application/javascript,application/json;q=0.9,*/*;q=0.8",
            )
            .call()
            .map_err(|e| e.to_string())
    }

    /// Requests, bytes and time left; warns once when a limit stops the crawl.
    fn within_limits(&mut self, url: &WebUrl) -> bool {
        let reason = if self.requests >= self.options.max_requests {
            Some(format!("the {}-request limit", self.options.max_requests))
        } else if self.bytes >= self.options.max_bytes {
            Some(format!(
                "the {} download limit",
                crate::report::human_bytes(self.options.max_bytes)
            ))
        } else if self.started.elapsed() >= self.options.time_limit {
            Some(format!(
                "the {}s time limit",
                self.options.time_limit.as_secs()
            ))
        } else {
            None
        };
        match reason {
            Some(reason) => {
                if !self.limit_warned {
                    self.limit_warned = true;
                    self.stats.warning(
                        url.to_string(),
                        format!("not fetched: the crawl reached {reason}; this and later resources were not scanned"),
                    );
                }
                false
            }
            None => true,
        }
    }

    /// A page or script that could not be fetched makes the scan incomplete;
    /// a missing source map is common (maps not deployed) and only a warning.
    fn problem(&self, kind: ResourceKind, url: &WebUrl, message: String) {
        if kind == ResourceKind::SourceMap {
            self.stats.warning(
                url.to_string(),
                format!("source map not fetched: {message}"),
            );
        } else {
            self.stats.error(url.to_string(), message);
        }
    }

    /// robots.txt of the URL's origin (fetched once) allows it.
    fn robots_allow(&mut self, url: &WebUrl) -> bool {
        let origin = url.origin();
        if !self.robots.contains_key(&origin) {
            let robots_url = WebUrl {
                path: "/robots.txt".into(),
                ..url.clone()
            };
            let robots = match self.get(&robots_url) {
                Ok(mut response) if response.status().as_u16() == 200 => response
                    .body_mut()
                    .with_config()
                    .limit(512 << 10)
                    .read_to_string()
                    .map(|text| Robots::parse(&text, "leakstop"))
                    .unwrap_or_default(),
                // No robots.txt (or an unreachable one, which the page fetch
                // will report): everything is allowed.
                _ => Robots::default(),
            };
            self.robots.insert(origin.clone(), robots);
        }
        self.robots
            .get(&origin)
            .is_none_or(|robots| robots.allows(&url.path))
    }
}

/// The rules of robots.txt that apply to leakstop.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Robots {
    /// `(allow, path prefix)`; the longest matching prefix decides.
    rules: Vec<(bool, String)>,
    crawl_delay: Option<Duration>,
}

impl Robots {
    /// Parses robots.txt: the group naming `agent` if there is one, else `*`.
    /// Wildcards are honoured up to the first `*` (a shorter prefix: stricter).
    pub fn parse(text: &str, agent: &str) -> Robots {
        let mut groups: Vec<(Vec<String>, Robots)> = Vec::new();
        let mut in_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            if key == "user-agent" {
                if !in_agents {
                    groups.push((Vec::new(), Robots::default()));
                }
                in_agents = true;
                if let Some(group) = groups.last_mut() {
                    group.0.push(value.to_ascii_lowercase());
                }
                continue;
            }
            in_agents = false;
            let Some((_, robots)) = groups.last_mut() else {
                continue;
            };
            let prefix = value.split('*').next().unwrap_or("").trim_end_matches('$');
            match key.as_str() {
                "disallow" if !value.is_empty() => robots.rules.push((false, prefix.to_string())),
                "allow" if !value.is_empty() => robots.rules.push((true, prefix.to_string())),
                "crawl-delay" => {
                    robots.crawl_delay = value
                        .parse::<f64>()
                        .ok()
                        .filter(|d| d.is_finite() && *d >= 0.0)
                        .map(|d| Duration::from_secs_f64(d).min(MAX_CRAWL_DELAY));
                }
                _ => {}
            }
        }
        let agent = agent.to_ascii_lowercase();
        let named = groups
            .iter()
            .find(|(agents, _)| agents.iter().any(|a| a == &agent));
        let any = groups
            .iter()
            .find(|(agents, _)| agents.iter().any(|a| a == "*"));
        named.or(any).map(|(_, r)| r.clone()).unwrap_or_default()
    }

    pub fn allows(&self, path: &str) -> bool {
        self.rules
            .iter()
            .filter(|(_, prefix)| path.starts_with(prefix.as_str()))
            .max_by_key(|(allow, prefix)| (prefix.len(), *allow))
            .is_none_or(|(allow, _)| *allow)
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
    fn non_public_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::",
        ] {
            assert!(non_public(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert_eq!(non_public(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn robots_rules() {
        let text = "User-agent: *\nDisallow: /private/\nAllow: /private/ok\nCrawl-delay: 1\n\nUser-agent: badbot\nDisallow: /\n";
        let robots = Robots::parse(text, "leakstop");
        assert!(!robots.allows("/private/x.js"));
        assert!(robots.allows("/private/ok.js"));
        assert!(robots.allows("/app.js"));
        assert_eq!(robots.crawl_delay, Some(Duration::from_secs(1)));
        let named = Robots::parse("User-agent: leakstop\nDisallow: /\n", "leakstop");
        assert!(!named.allows("/"));
        assert!(Robots::parse("", "leakstop").allows("/anything"));
    }
}
