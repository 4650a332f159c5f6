//! How the bot authenticates to GitHub for issues: a token from
//! `GITHUB_TOKEN` (a PAT or the Actions token; the default), or a GitHub App
//! named in the policy's `[github_app]` table — its id, the installation,
//! and where its private key is (a file, or the environment variable
//! holding the PEM). The policy never holds the key itself.

use crate::github::app::{AppAuth, TokenCache};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// An App id: the numeric App id or the client id (`Iv23…`), both accepted
/// as the JWT's issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AppId {
    Number(u64),
    Text(String),
}

/// The policy's `[github_app]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    pub app_id: AppId,
    pub installation_id: u64,
    /// A PEM file holding the App's private key.
    pub private_key_file: Option<PathBuf>,
    /// The environment variable holding the PEM.
    pub private_key_env: Option<String>,
}

impl AppSpec {
    /// Checks the table; the error names the key (without `github_app.`).
    pub fn check(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, message: &str| {
            Err((key.to_string(), format!("`github_app.{key}`: {message}")))
        };
        if let AppId::Text(id) = &self.app_id {
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return fail(
                    "app_id",
                    "an App id or client id has only letters and digits",
                );
            }
        }
        if self.installation_id == 0 {
            return fail("installation_id", "must be the installation's number");
        }
        match (&self.private_key_file, &self.private_key_env) {
            (Some(_), Some(_)) | (None, None) => fail(
                "private_key_file",
                "name exactly one of private_key_file and private_key_env",
            ),
            (None, Some(var))
                if var.is_empty()
                    || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                fail(
                    "private_key_env",
                    "not an environment variable name (the policy names where the key is; it never holds it)",
                )
            }
            _ => Ok(()),
        }
    }

    fn issuer(&self) -> String {
        match &self.app_id {
            AppId::Number(n) => n.to_string(),
            AppId::Text(t) => t.clone(),
        }
    }

    /// An installation token minted at `api`, from `cache` while it is
    /// good for more than five minutes.
    pub fn installation_token(
        &self,
        api: &str,
        timeout: Duration,
        cache: &mut TokenCache,
    ) -> anyhow::Result<String> {
        let pem = match (&self.private_key_file, &self.private_key_env) {
            (Some(path), _) => std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("reading the App private key {}: {e}", path.display())
            })?,
            (None, Some(var)) => std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    anyhow::anyhow!("`{var}` (github_app.private_key_env) is not set")
                })?,
            (None, None) => anyhow::bail!("[github_app] names no private key"),
        };
        let app = AppAuth::new(&self.issuer(), self.installation_id, &pem)?;
        drop(pem);
        let now = super::clock::now();
        Ok(cache
            .token(now, || app.mint(api, timeout, now))?
            .to_string())
    }
}
