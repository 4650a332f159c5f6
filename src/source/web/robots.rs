//! robots.txt: which paths of an origin leakstop may fetch, and how slowly.

use std::time::Duration;

/// The longest pause between two requests a site's `Crawl-delay` can ask for.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(5);

/// The rules of robots.txt that apply to leakstop.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Robots {
    /// `(allow, path prefix)`; the longest matching prefix decides.
    rules: Vec<(bool, String)>,
    pub crawl_delay: Option<Duration>,
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
                        .map(|d| Duration::from_secs_f64(d.min(MAX_CRAWL_DELAY.as_secs_f64())));
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

    #[test]
    fn huge_crawl_delays_are_clamped_not_a_panic() {
        for delay in ["1e30", "18446744073709551615", "inf", "NaN", "-1"] {
            let robots = Robots::parse(&format!("User-agent: *\nCrawl-delay: {delay}\n"), "x");
            assert!(
                robots.crawl_delay.is_none_or(|d| d <= MAX_CRAWL_DELAY),
                "{delay}"
            );
        }
    }
}
