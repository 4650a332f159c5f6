//! `.leakstop.toml`: extra rules, disabled rules, allowlists, per-rule
//! overrides and scan settings. Unknown keys are errors naming the key and
//! line, never silently ignored.

mod verify;

pub use verify::{user_config_path, verify_options, VerifyFlags, USER_CONFIG_ENV};

use crate::rules::{validate_rule, Confidence, Rule, Severity, Strictness};
use crate::units;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file name discovered at the scan root.
pub const CONFIG_FILE_NAME: &str = ".leakstop.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path} not read: {reason}")]
    Refused {
        path: PathBuf,
        reason: crate::bounded::ReadRefused,
    },
    #[error("config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("environment variable {name}: {message}")]
    Environment { name: String, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub scan: ScanSettings,
    #[serde(default)]
    pub rules: RuleSettings,
    #[serde(default)]
    pub allowlist: Allowlist,
    #[serde(default)]
    pub verify: VerifySettings,
    /// Extra rules, in the format of patterns/ (provider = the id's prefix).
    #[serde(default)]
    pub rule: Vec<Rule>,
    /// Where the config was loaded from (for messages).
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// How it was found, which decides what it may set.
    #[serde(skip)]
    pub origin: ConfigOrigin,
}

/// How a config was found. A config found in the scanned tree travels with
/// the repository, so a pull request can change it: it may not say where
/// secrets are sent for verification or how much verification may cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// No file.
    #[default]
    None,
    /// `.leakstop.toml` at the scan root.
    Discovered,
    /// `--config FILE`: the user chose it.
    Explicit,
    /// The user's own file outside any repository (`[verify]` only).
    User,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSettings {
    /// Skip files larger than this (`"10M"` or a byte count).
    pub max_file_size: Option<SizeValue>,
    /// Keep lockfiles' hashes, vendored folders and generated files quiet (default true).
    pub default_excludes: Option<bool>,
    /// Decode escapes, percent-encoding and base64 before matching (default true).
    pub decode: Option<bool>,
    /// Scan source maps per original source and resolve bundle positions (default true).
    pub sourcemaps: Option<bool>,
    /// Look inside archives (default true).
    pub archives: Option<bool>,
    /// Report publishable keys in client-side code as info (default false: suppressed).
    pub show_client_safe: Option<bool>,
    /// Report well-known public values (documentation examples, emulator
    /// keys) as info (default false: counted as suppressed).
    pub show_known_public: Option<bool>,
    /// Findings of this severity or above fail the run (default `low`).
    pub fail_on: Option<Severity>,
    /// Findings below this severity are counted, not reported (default `low`).
    pub min_severity: Option<Severity>,
}

/// `[verify]`: how `scan --verify` runs (docs/configuration.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySettings {
    /// Base URL per endpoint name (GitHub Enterprise, self-managed GitLab,
    /// Vault); `LEAKSTOP_VERIFY_URL_<NAME>` in the environment wins.
    #[serde(default)]
    pub base_urls: BTreeMap<String, String>,
    /// Seconds per request (default 10).
    pub timeout: Option<f64>,
    /// Seconds for the whole verification (default 300); checks not done by
    /// then are reported `skipped` with reason `deadline`.
    pub deadline: Option<f64>,
    /// Retries after a 429, 5xx or connection failure (default 2).
    pub retries: Option<u32>,
    /// Requests in flight at once (default 8).
    pub concurrency: Option<usize>,
    /// Requests in flight per provider (default 2).
    pub provider_concurrency: Option<usize>,
    /// Use the verification cache (default true).
    pub cache: Option<bool>,
    /// How long a cached answer stays fresh, in seconds (default 86400).
    pub cache_ttl: Option<u64>,
    /// Verify known canary tokens too (default false: it trips their alarm).
    pub canaries: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeValue {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    /// Rule ids to turn off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Per-rule changes.
    #[serde(default, rename = "override")]
    pub overrides: Vec<RuleOverride>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    pub id: String,
    pub severity: Option<Severity>,
    pub confidence: Option<Confidence>,
    pub min_entropy: Option<f64>,
    /// Paths (globs) where this rule's findings are allowed.
    #[serde(default)]
    pub allow_paths: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowlist {
    /// Globs, relative to the scan root: matching files are not scanned.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Exact secret values that are not secrets (test fixtures, public keys).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Regexes; a secret matching any of them is allowed.
    #[serde(default)]
    pub regexes: Vec<String>,
}

impl Config {
    /// Loads a config that came with the scanned tree: a regular file under
    /// `root`, not a symlink, at most [`MAX_DISCOVERED_SIZE`] bytes, read
    /// through a capped read (src/bounded.rs).
    pub fn load_discovered(path: &Path, root: &Path) -> Result<Config, ConfigError> {
        let policy = crate::bounded::ReadPolicy {
            root: root.to_path_buf(),
            follow_symlinks: false,
            max_size: MAX_DISCOVERED_SIZE,
        };
        let bytes = policy.read(path).map_err(|reason| ConfigError::Refused {
            path: path.to_path_buf(),
            reason,
        })?;
        Config::parse(path, &String::from_utf8_lossy(&bytes))
    }

    /// Loads `path`, validating every section and extra rule.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let mut config: Config = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        config.source = Some(path.to_path_buf());
        for rule in &mut config.rule {
            let provider = rule.id.split('.').next().unwrap_or_default().to_string();
            rule.provider_name = provider.clone();
            rule.provider = provider;
            rule.provider_docs = rule.docs.clone().unwrap_or_default();
            rule.origin = path.display().to_string();
            validate_rule(rule, Strictness::UserConfig)
                .map_err(|reason| invalid(format!("rule `{}`: {reason}", rule.id)))?;
            if rule.verify.is_some() {
                // A config travels with the repository it scans: it must not
                // be able to send the secrets it finds to a URL of its choosing.
                return Err(invalid(format!(
                    "rule `{}`: `verify` is only allowed in leakstop's built-in rules; \
                     use [verify.base_urls] to point a provider at another server",
                    rule.id
                )));
            }
        }
        for pattern in &config.allowlist.regexes {
            regex::Regex::new(pattern)
                .map_err(|e| invalid(format!("allowlist regex `{pattern}`: {e}")))?;
        }
        for glob in config
            .allowlist
            .paths
            .iter()
            .chain(config.rules.overrides.iter().flat_map(|o| &o.allow_paths))
        {
            globset::Glob::new(glob).map_err(|e| invalid(format!("path glob `{glob}`: {e}")))?;
        }
        for (name, url) in &config.verify.base_urls {
            crate::verify::endpoint::check(name, url)
                .map_err(|e| invalid(format!("verify.base_urls: {e}")))?;
        }
        if let Some(timeout) = config.verify.timeout {
            units::check_seconds(timeout).map_err(|e| invalid(format!("verify.timeout: {e}")))?;
        }
        if let Some(deadline) = config.verify.deadline {
            units::check_seconds(deadline).map_err(|e| invalid(format!("verify.deadline: {e}")))?;
        }
        if let Some(SizeValue::Text(text)) = &config.scan.max_file_size {
            units::parse_size(text).map_err(|e| invalid(format!("scan.max_file_size: {e}")))?;
        }
        Ok(config)
    }

    /// `scan.max_file_size` in bytes, if set.
    pub fn max_file_size(&self) -> Option<u64> {
        match &self.scan.max_file_size {
            Some(SizeValue::Bytes(n)) => Some(*n),
            Some(SizeValue::Text(text)) => units::parse_size(text).ok(),
            None => None,
        }
    }
}

/// A discovered config larger than this is refused (a real one is a few KB).
pub const MAX_DISCOVERED_SIZE: u64 = 1 << 20;

/// The config to use: the explicit one, else `.leakstop.toml` at the scan root.
pub fn discover(
    explicit: Option<&Path>,
    scan_root: &Path,
    disabled: bool,
) -> Result<Config, ConfigError> {
    if let Some(path) = explicit {
        let mut config = Config::load(path)?;
        config.origin = ConfigOrigin::Explicit;
        return Ok(config);
    }
    if disabled {
        return Ok(Config::default());
    }
    let root = if scan_root.is_file() {
        scan_root.parent().unwrap_or(Path::new("."))
    } else {
        scan_root
    };
    let candidate = root.join(CONFIG_FILE_NAME);
    if std::fs::symlink_metadata(&candidate).is_ok() {
        let mut config = Config::load_discovered(&candidate, root)?;
        config.origin = ConfigOrigin::Discovered;
        Ok(config)
    } else {
        Ok(Config::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let err = Config::parse(
            Path::new("x.toml"),
            "[allowlist]\npaths = []\nsecretz = []\n",
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("secretz"), "{message}");
        assert!(message.contains("line 3"), "{message}");
    }

    #[test]
    fn verify_settings_are_checked() {
        let err = |text: &str| {
            Config::parse(Path::new("x.toml"), text)
                .unwrap_err()
                .to_string()
        };
        assert!(err("[verify]\ntimout = 3\n").contains("timout"));
        assert!(err("[verify]\ntimeout = -1\n").contains("verify.timeout"));
        assert!(
            err("[verify.base_urls]\ngithub = \"http://ghe.example.com\"\n").contains("plain http")
        );
        let config = Config::parse(
            Path::new("x.toml"),
            "[verify]\ncanaries = true\n[verify.base_urls]\ngitlab = \"https://gitlab.example.com\"\n",
        )
        .unwrap();
        assert_eq!(config.verify.canaries, Some(true));
        let rule_with_verify = ACME_RULE.replace("acme_[a-z]+", "acme_[a-z]{8}")
            + "[rule.verify]\nnot_supported = \"n/a\"\n";
        assert!(err(&rule_with_verify).contains("only allowed in leakstop's built-in rules"));
        assert_eq!(
            config.verify.base_urls["gitlab"],
            "https://gitlab.example.com"
        );
    }

    /// A config rule; its regex is unbounded, which validation rejects.
    const ACME_RULE: &str = r#"
[[rule]]
id = "acme.token"
name = "ACME token"
regex = '''acme_[a-z]+'''
keywords = ["acme_"]
confidence = "high"
severity = "high"
description = "d"
remediation = "r"
"#;

    #[test]
    fn extra_rules_are_validated() {
        let err = Config::parse(Path::new("x.toml"), ACME_RULE)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("acme.token") && err.contains("maximum length"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// TOML-ish fragments of the config's own keys mixed with anything.
    fn config_text() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            Just("[scan]\n".to_string()),
            Just("[allowlist]\npaths = [\"**/x\"]\n".to_string()),
            Just("regexes = [\"(\"]\n".to_string()),
            Just("[[rule]]\nid = \"a.b\"\nregex = \"x{1,99999}\"\n".to_string()),
            Just("keywords = []\n".to_string()),
            Just("max_file_size = 18446744073709551615\n".to_string()),
            Just("[verify]\nretries = 4294967295\n".to_string()),
            Just("disable = [\"\"]\n".to_string()),
            any::<String>(),
        ];
        proptest::collection::vec(pieces, 0..12).prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Arbitrary text is a config or an error naming the file, never a panic.
        #[test]
        fn any_text_parses_or_is_an_error(text in config_text()) {
            if let Err(error) = Config::parse(Path::new("x.toml"), &text) {
                prop_assert!(error.to_string().contains("x.toml"), "{}", error);
            }
        }
    }
}
