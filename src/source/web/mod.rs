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

mod address;
mod html;
mod robots;
mod weburl;

pub use address::non_public;
pub use robots::Robots;
pub use weburl::WebUrl;

use crate::stats::{SkipReason, StatsCollector};
use address::GuardedResolver;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::DefaultConnector;

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
                    if let Some(range) =
                        crate::bundle::sourcemap::source_mapping_url(&resource.body)
                    {
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
                            crate::text::human_bytes(limit)
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
                crate::text::human_bytes(self.options.max_bytes)
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
            let robots_url = url.robots_txt();
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
            .is_none_or(|robots| robots.allows(&url.path_and_query()))
    }
}
