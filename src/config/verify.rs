//! How `scan --verify` runs, resolved from flags, the environment and the
//! configs. Where secrets are sent (`[verify.base_urls]`) and what
//! verification may cost (retries, timeouts, concurrency, the deadline) are
//! trusted settings: they come from the environment, an explicit `--config`
//! or the user's own config outside any repository — never from a
//! `.leakstop.toml` found in the scanned tree, which a pull request can
//! change. Such settings there are ignored with a warning.

use super::{Config, ConfigError, ConfigOrigin, VerifySettings};
use crate::units;
use crate::verify::{self, endpoint, limits};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Names the user-level config file; set but empty, there is none.
pub const USER_CONFIG_ENV: &str = "LEAKSTOP_USER_CONFIG";
/// Seconds for the whole verification (as `--verify-deadline`).
pub const DEADLINE_ENV: &str = "LEAKSTOP_VERIFY_DEADLINE";

/// The command line's verification flags.
#[derive(Debug, Clone, Default)]
pub struct VerifyFlags {
    /// `--verify-timeout`, seconds per request.
    pub timeout: Option<f64>,
    /// `--verify-deadline`, seconds for the whole verification.
    pub deadline: Option<f64>,
    /// `--no-verify-cache`.
    pub no_cache: bool,
    /// `--verbose`: log requests (redacted).
    pub verbose: bool,
}

/// The user-level config: `$LEAKSTOP_USER_CONFIG`, else
/// `$XDG_CONFIG_HOME/leakstop/config.toml`, else `~/.config/leakstop/config.toml`.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(USER_CONFIG_ENV) {
        return (!path.is_empty()).then(|| PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })?;
    Some(base.join("leakstop").join("config.toml"))
}

/// The verification options, and notices to print (ignored or clamped settings,
/// base URLs that configuration moved).
pub fn verify_options(
    config: &Config,
    flags: &VerifyFlags,
) -> Result<(verify::Options, Vec<String>), ConfigError> {
    let mut notices = Vec::new();
    let user = load_user_config(config)?;
    // Only a config the user named is trusted; one found in the tree, or
    // read from a commit (range scans), is the repository's.
    let own = match config.origin {
        ConfigOrigin::Explicit | ConfigOrigin::User => Some(&config.verify),
        ConfigOrigin::Discovered | ConfigOrigin::None => {
            if let Some(notice) = refused(config) {
                notices.push(notice);
            }
            None
        }
    };
    let trusted: Vec<&VerifySettings> = own.into_iter().chain(user.as_ref()).collect();
    let first = |get: &dyn Fn(&VerifySettings) -> Option<f64>| trusted.iter().find_map(|s| get(s));
    // Settings that cannot move a secret or weaken the gate come from any config.
    let any: Vec<&VerifySettings> = std::iter::once(&config.verify)
        .chain(user.as_ref())
        .collect();

    check_environment_urls()?;
    let mut base_urls = BTreeMap::new();
    for settings in trusted.iter().rev() {
        base_urls.extend(settings.base_urls.clone());
    }
    for (name, url) in &base_urls {
        notices.push(format!("base URL for `{name}` from the config: {url}"));
    }
    let defaults = verify::Options::default();
    let timeout = flags
        .timeout
        .or_else(|| first(&|s| s.timeout))
        .map_or(defaults.policy.timeout, Duration::from_secs_f64);
    let deadline = match flags.deadline {
        Some(seconds) => Some(seconds),
        None => deadline_from_environment()?,
    }
    .or_else(|| first(&|s| s.deadline))
    .map_or(defaults.deadline, Duration::from_secs_f64);
    let retries = trusted.iter().find_map(|s| s.retries);
    let concurrency = trusted.iter().find_map(|s| s.concurrency);
    let provider_concurrency = trusted.iter().find_map(|s| s.provider_concurrency);
    clamp_notice(
        &mut notices,
        "retries",
        retries.map(u64::from),
        limits::MAX_RETRIES.into(),
    );
    clamp_notice(
        &mut notices,
        "concurrency",
        concurrency.map(|n| n as u64),
        limits::MAX_CONCURRENCY as u64,
    );
    clamp_notice(
        &mut notices,
        "provider_concurrency",
        provider_concurrency.map(|n| n as u64),
        limits::MAX_PROVIDER_CONCURRENCY as u64,
    );
    let cache_off = flags.no_cache || any.iter().find_map(|s| s.cache) == Some(false);
    let log = flags.verbose
        || std::env::var("LEAKSTOP_LOG")
            .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "debug" | "trace"));
    let options = verify::Options {
        policy: verify::http::Policy {
            timeout,
            retries: retries.unwrap_or(defaults.policy.retries),
            log,
            ..defaults.policy
        },
        concurrency: concurrency.unwrap_or(defaults.concurrency),
        provider_concurrency: provider_concurrency.unwrap_or(defaults.provider_concurrency),
        cache_dir: if cache_off {
            None
        } else {
            verify::cache::default_dir()
        },
        cache_ttl: any
            .iter()
            .find_map(|s| s.cache_ttl)
            .map_or(defaults.cache_ttl, Duration::from_secs),
        overrides: endpoint::Overrides::new(base_urls),
        verify_canaries: any.iter().find_map(|s| s.canaries).unwrap_or(false),
        deadline,
    };
    Ok((options.clamped(), notices))
}

/// The user-level config's `[verify]` table, unless it is the config already
/// in use: explicit (read already) or found in the scanned tree (then it is
/// the repository's, not the user's).
fn load_user_config(config: &Config) -> Result<Option<VerifySettings>, ConfigError> {
    let Some(path) = user_config_path().filter(|p| p.is_file()) else {
        return Ok(None);
    };
    let canonical = |p: &PathBuf| std::fs::canonicalize(p).ok();
    if config
        .source
        .as_ref()
        .is_some_and(|source| canonical(source).is_some() && canonical(source) == canonical(&path))
    {
        return Ok(None);
    }
    Ok(Some(Config::load(&path)?.verify))
}

/// The warning for a repository config that tries to set trusted settings.
fn refused(config: &Config) -> Option<String> {
    let settings = &config.verify;
    let mut keys: Vec<&str> = Vec::new();
    if !settings.base_urls.is_empty() {
        keys.push("[verify.base_urls]");
    }
    for (key, set) in [
        ("timeout", settings.timeout.is_some()),
        ("deadline", settings.deadline.is_some()),
        ("retries", settings.retries.is_some()),
        ("concurrency", settings.concurrency.is_some()),
        (
            "provider_concurrency",
            settings.provider_concurrency.is_some(),
        ),
    ] {
        if set {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return None;
    }
    let path = config
        .source
        .as_ref()
        .map_or_else(|| "the config".to_string(), |p| p.display().to_string());
    Some(format!(
        "warning: {path}: ignoring {} in the repository's config: where secrets are sent and what \
         verification may cost come only from LEAKSTOP_VERIFY_URL_<NAME>, an explicit --config FILE \
         or your own config ({}), never from the scanned tree",
        keys.join(", "),
        user_config_path().map_or_else(|| "~/.config/leakstop/config.toml".into(), |p| p.display().to_string())
    ))
}

/// Overrides from the environment must be as safe as a config's.
fn check_environment_urls() -> Result<(), ConfigError> {
    for (name, value) in std::env::vars() {
        let Some(endpoint) = name.strip_prefix(endpoint::ENV_PREFIX) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        endpoint::check(&endpoint.to_ascii_lowercase(), &value).map_err(|e| {
            ConfigError::Environment {
                name: name.clone(),
                message: e.to_string(),
            }
        })?;
    }
    Ok(())
}

fn deadline_from_environment() -> Result<Option<f64>, ConfigError> {
    match std::env::var(DEADLINE_ENV) {
        Ok(text) if !text.is_empty() => {
            units::parse_seconds(&text)
                .map(Some)
                .map_err(|message| ConfigError::Environment {
                    name: DEADLINE_ENV.into(),
                    message,
                })
        }
        _ => Ok(None),
    }
}

fn clamp_notice(notices: &mut Vec<String>, key: &str, value: Option<u64>, max: u64) {
    if let Some(value) = value.filter(|v| *v > max) {
        notices.push(format!(
            "warning: verify.{key} = {value} is above the maximum of {max}; using {max}"
        ));
    }
}
