//! Clones and fetches of org scans: one bare clone per repository in the
//! cache directory (`<cache>/<host>/<owner>/<name>.git`), fetched again on
//! later runs, with gix over HTTP(S). The token is given to gix as the
//! answer of a credentials callback (basic auth, as GitHub takes tokens),
//! only for the API's own host: it is never part of a URL, so never in the
//! clone's config, a log line or an error message.

use super::repos::Repository;
use super::session::{check_name, describe};
use crate::finding::Secret;
use gix::credentials::helper::Action;
use gix::credentials::protocol::{Outcome, Result as CredentialResult};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use url::Url;

/// Where and how repositories are cloned.
#[derive(Debug)]
pub struct CloneOptions<'a> {
    pub cache_dir: &'a Path,
    pub token: Option<&'a Secret>,
    /// The API the repositories were listed from: the token goes only to
    /// its host (or, for `api.github.com`, to `github.com`).
    pub api_url: &'a Url,
    /// A clone or fetch still running after this long is interrupted.
    pub time_limit: Duration,
}

/// A repository ready to scan.
#[derive(Debug)]
pub struct Synced {
    /// The bare clone.
    pub path: PathBuf,
    /// False if an earlier clone was fetched.
    pub cloned: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CloneError {
    #[error("the clone URL `{0}` is not an https URL (http only on loopback)")]
    Url(String),
    #[error("`{0}` is not an owner/name repository name")]
    Name(String),
    #[error("the cache directory {path}: {message}")]
    Cache { path: String, message: String },
    #[error("{action} failed: {message}")]
    Git {
        action: &'static str,
        message: String,
    },
    #[error("{action} took longer than {seconds}s and was interrupted")]
    Interrupted { action: &'static str, seconds: u64 },
}

/// Clones `repo` into the cache, or fetches into the clone already there.
pub fn sync(repo: &Repository, options: &CloneOptions<'_>) -> Result<Synced, CloneError> {
    let url = Url::parse(&repo.clone_url).map_err(|_| CloneError::Url(repo.clone_url.clone()))?;
    if !(url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url))) {
        return Err(CloneError::Url(repo.clone_url.clone()));
    }
    let path = cache_path(options.cache_dir, &url, &repo.full_name)?;
    let token = options
        .token
        .filter(|_| token_allowed(options.api_url, &url))
        .cloned();
    let secret = token.clone();
    let scrub = move |message: String| match &secret {
        Some(secret) if !secret.expose().is_empty() => message.replace(secret.expose(), "***"),
        _ => message,
    };
    let existing = gix::open(&path)
        .ok()
        .filter(|r| remote_url(r).is_some_and(|u| u == url.as_str()));
    match existing {
        Some(existing) => {
            fetch(&existing, &url, token, options.time_limit).map_err(|e| scrubbed(e, &scrub))?;
            Ok(Synced {
                path,
                cloned: false,
            })
        }
        None => {
            clone(&url, &path, token, options.time_limit).map_err(|e| scrubbed(e, &scrub))?;
            Ok(Synced { path, cloned: true })
        }
    }
}

/// `<cache>/<host>[_<port>]/<owner>/<name>.git`, from checked names only.
fn cache_path(cache_dir: &Path, url: &Url, full_name: &str) -> Result<PathBuf, CloneError> {
    let name_error = || CloneError::Name(full_name.to_string());
    let (owner, name) = full_name.split_once('/').ok_or_else(name_error)?;
    check_name(owner, "owner").map_err(|_| name_error())?;
    check_name(name, "repository").map_err(|_| name_error())?;
    let host = url
        .host_str()
        .ok_or_else(|| CloneError::Url(url.to_string()))?;
    let host = match url.port() {
        Some(port) => format!("{host}_{port}"),
        None => host.to_string(),
    };
    let host = host.replace(
        |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '_' && c != '-',
        "_",
    );
    Ok(cache_dir.join(host).join(owner).join(format!("{name}.git")))
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// True if a token for `api` may be sent to `clone`: the same host and
/// port, or the API on `api.<host>` (github.com's layout).
pub fn token_allowed(api: &Url, clone: &Url) -> bool {
    let (Some(api_host), Some(clone_host)) = (api.host_str(), clone.host_str()) else {
        return false;
    };
    let api_host = api_host.to_ascii_lowercase();
    let clone_host = clone_host.to_ascii_lowercase();
    (api_host == clone_host && api.port_or_known_default() == clone.port_or_known_default())
        || api_host == format!("api.{clone_host}")
}

fn remote_url(repo: &gix::Repository) -> Option<String> {
    let remote = repo
        .find_default_remote(gix::remote::Direction::Fetch)?
        .ok()?;
    remote
        .url(gix::remote::Direction::Fetch)
        .map(|u| u.to_bstring().to_string())
}

/// A credentials callback answering with `token` for `url`'s host only
/// (GitHub reads a token as the password of any user; `x-access-token` is
/// the name its docs use). Nothing is stored or erased anywhere.
// The error type is gix's callback contract, not ours to box.
#[allow(clippy::result_large_err)]
fn credentials(
    token: Secret,
    url: Url,
) -> impl FnMut(Action) -> CredentialResult + Send + Sync + Clone + 'static {
    move |action| match action {
        Action::Get(context) => {
            let asked = context
                .url
                .as_ref()
                .and_then(|u| Url::parse(&u.to_string()).ok());
            if asked.is_some_and(|asked| !token_allowed(&url, &asked)) {
                return Ok(None);
            }
            Ok(Some(Outcome {
                identity: gix::sec::identity::Account {
                    username: "x-access-token".into(),
                    password: token.expose().to_string(),
                    oauth_refresh_token: None,
                },
                next: context.into(),
            }))
        }
        Action::Store(_) | Action::Erase(_) => Ok(None),
    }
}

/// A flag that turns true after `limit` unless the returned sender is
/// dropped first (which ends the watching thread at once).
fn deadline(limit: Duration) -> (Arc<AtomicBool>, mpsc::Sender<()>) {
    let flag = Arc::new(AtomicBool::new(false));
    let (done, wait) = mpsc::channel::<()>();
    let raised = Arc::clone(&flag);
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
            raised.store(true, Ordering::Relaxed);
        }
    });
    (flag, done)
}

/// A new bare clone, made beside its place and moved there only once
/// complete, so an interrupted clone never passes for a cached one.
fn clone(url: &Url, path: &Path, token: Option<Secret>, limit: Duration) -> Result<(), CloneError> {
    let action = "cloning";
    let git = |e: &dyn std::error::Error| CloneError::Git {
        action,
        message: describe(e),
    };
    let cache = |e: std::io::Error, at: &Path| CloneError::Cache {
        path: at.display().to_string(),
        message: e.to_string(),
    };
    let partial = path.with_extension("git.partial");
    for stale in [&partial, &path.to_path_buf()] {
        if stale.exists() {
            std::fs::remove_dir_all(stale).map_err(|e| cache(e, stale))?;
        }
    }
    let parent = path.parent().unwrap_or(path);
    std::fs::create_dir_all(parent).map_err(|e| cache(e, parent))?;
    let mut prepare = gix::prepare_clone_bare(url.as_str(), &partial).map_err(|e| git(&e))?;
    if let Some(token) = token {
        let answer = credentials(token, url.clone());
        prepare = prepare.configure_connection(move |connection| {
            connection.set_credentials(answer.clone());
            Ok(())
        });
    }
    let (interrupt, done) = deadline(limit);
    let fetched = prepare.fetch_only(gix::progress::Discard, &interrupt);
    drop(done);
    if interrupt.load(Ordering::Relaxed) {
        return Err(CloneError::Interrupted {
            action,
            seconds: limit.as_secs(),
        });
    }
    let (repo, _) = fetched.map_err(|e| git(&e))?;
    drop_dangling_head(&repo);
    drop(prepare);
    std::fs::rename(&partial, path).map_err(|e| cache(e, path))
}

/// The clone of an empty repository has a `refs/remotes/origin/HEAD`
/// pointing at a branch that does not exist yet: removed, so that an
/// empty repository reads as one with no refs rather than a broken ref.
fn drop_dangling_head(repo: &gix::Repository) {
    if let Ok(mut head) = repo.find_reference("refs/remotes/origin/HEAD") {
        if head.peel_to_id_in_place().is_err() {
            let _ = head.delete();
        }
    }
}

/// Fetches every branch and tag of the clone's remote again.
fn fetch(
    repo: &gix::Repository,
    url: &Url,
    token: Option<Secret>,
    limit: Duration,
) -> Result<(), CloneError> {
    let action = "fetching";
    let git = |e: &dyn std::error::Error| CloneError::Git {
        action,
        message: describe(e),
    };
    let remote = match repo.find_default_remote(gix::remote::Direction::Fetch) {
        Some(Ok(remote)) => remote,
        Some(Err(e)) => return Err(git(&e)),
        None => {
            return Err(CloneError::Git {
                action,
                message: "the cached clone has no remote".into(),
            })
        }
    };
    let mut connection = remote
        .connect(gix::remote::Direction::Fetch)
        .map_err(|e| git(&e))?;
    if let Some(token) = token {
        connection.set_credentials(credentials(token, url.clone()));
    }
    let (interrupt, done) = deadline(limit);
    let fetched = connection
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| git(&e))
        .and_then(|prepared| {
            prepared
                .receive(gix::progress::Discard, &interrupt)
                .map_err(|e| git(&e))
        });
    drop(done);
    if interrupt.load(Ordering::Relaxed) {
        return Err(CloneError::Interrupted {
            action,
            seconds: limit.as_secs(),
        });
    }
    fetched?;
    drop_dangling_head(repo);
    Ok(())
}

fn scrubbed(error: CloneError, scrub: &dyn Fn(String) -> String) -> CloneError {
    match error {
        CloneError::Git { action, message } => CloneError::Git {
            action,
            message: scrub(message),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_to_the_api_host_only() {
        let url = |u: &str| Url::parse(u).unwrap();
        let api = url("https://api.github.com");
        assert!(token_allowed(&api, &url("https://github.com/acme/x.git")));
        assert!(!token_allowed(
            &api,
            &url("https://evil.example/acme/x.git")
        ));
        assert!(!token_allowed(
            &api,
            &url("https://github.com.evil.example/x.git")
        ));
        let ghe = url("https://ghe.corp.example/api/v3");
        assert!(token_allowed(
            &ghe,
            &url("https://ghe.corp.example/acme/x.git")
        ));
        assert!(!token_allowed(
            &ghe,
            &url("https://ghe.corp.example:8443/acme/x.git")
        ));
    }

    #[test]
    fn cache_paths_come_from_checked_names() {
        let url = Url::parse("http://127.0.0.1:8080/git/x.git").unwrap();
        let path = cache_path(Path::new("/c"), &url, "acme/x").unwrap();
        assert_eq!(path, Path::new("/c/127.0.0.1_8080/acme/x.git"));
        assert!(cache_path(Path::new("/c"), &url, "../x").is_err());
        assert!(cache_path(Path::new("/c"), &url, "acme/..").is_err());
        assert!(cache_path(Path::new("/c"), &url, "acme/x/y").is_err());
    }
}
