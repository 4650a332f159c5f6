//! GitHub App authentication for the bot's issues: the App's private key
//! signs a short RS256 JWT (`iat` 60 s in the past for clock drift, `exp`
//! 9 minutes ahead, `iss` the App id or client id), which buys an
//! installation access token with `POST
//! /app/installations/{id}/access_tokens` (201 `{token, expires_at}`, one
//! hour). The token is cached until five minutes before it expires. Issues
//! then show the App (`name[bot]`) as author, and the rate limit scales with
//! the installation instead of one user's.

use super::{Client, GithubError, Method};
use ring::signature::RsaKeyPair;
use std::time::Duration;

/// Seconds before expiry at which a cached token is replaced.
const REFRESH_MARGIN: i64 = 300;

/// An App's identity and key.
pub struct AppAuth {
    app_id: String,
    installation_id: u64,
    key: RsaKeyPair,
}

/// An installation access token and when it expires (Unix seconds).
pub struct InstallationToken {
    pub token: String,
    pub expires_at: i64,
}

fn setup(message: String) -> GithubError {
    GithubError::Setup(message)
}

impl AppAuth {
    /// Reads the key: PKCS#1 (`BEGIN RSA PRIVATE KEY`, what GitHub hands
    /// out) or PKCS#8 (`BEGIN PRIVATE KEY`). The error never holds the key.
    pub fn new(app_id: &str, installation_id: u64, pem: &str) -> Result<AppAuth, GithubError> {
        use crate::verify::gcp::pkcs8_der;
        let key = if pem.contains("BEGIN RSA PRIVATE KEY") {
            let der = pkcs8_der(&pem.replace("RSA PRIVATE KEY", "PRIVATE KEY"))
                .map_err(|_| setup("the App private key is not valid PEM".into()))?;
            RsaKeyPair::from_der(&der)
        } else {
            let der =
                pkcs8_der(pem).map_err(|_| setup("the App private key is not valid PEM".into()))?;
            RsaKeyPair::from_pkcs8(&der)
        }
        .map_err(|e| setup(format!("the App private key is not an RSA key: {e}")))?;
        Ok(AppAuth {
            app_id: app_id.to_string(),
            installation_id,
            key,
        })
    }

    /// The App JWT at Unix time `now`.
    pub fn jwt(&self, now: i64) -> Result<String, GithubError> {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        let claims = serde_json::json!({"iat": now - 60, "exp": now + 540, "iss": self.app_id});
        crate::verify::gcp::sign_jwt(&self.key, &header, &claims).map_err(setup)
    }

    /// Mints an installation token from the API at `api`.
    pub fn mint(
        &self,
        api: &str,
        timeout: Duration,
        now: i64,
    ) -> Result<InstallationToken, GithubError> {
        let client = Client::new(api, Some(self.jwt(now)?), timeout)?;
        let path = format!("/app/installations/{}/access_tokens", self.installation_id);
        let reply = client.call(Method::Post, &path, Some(&serde_json::json!({})))?;
        let value: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
        let token = value.get("token").and_then(|t| t.as_str());
        let expires_at = value
            .get("expires_at")
            .and_then(|t| t.as_str())
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second());
        match (token, expires_at) {
            (Some(token), Some(expires_at)) => Ok(InstallationToken {
                token: token.to_string(),
                expires_at,
            }),
            _ => Err(GithubError::Transport {
                method: "POST",
                path,
                message: "the answer has no token and expires_at".into(),
            }),
        }
    }
}

/// An installation token, minted on first use and again when it is about
/// to expire.
pub struct TokenCache {
    cached: Option<InstallationToken>,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenCache {
    pub fn new() -> TokenCache {
        TokenCache { cached: None }
    }

    /// The cached token if it is good for more than five minutes at `now`,
    /// else one from `mint`.
    pub fn token(
        &mut self,
        now: i64,
        mint: impl FnOnce() -> Result<InstallationToken, GithubError>,
    ) -> Result<&str, GithubError> {
        let fresh = self
            .cached
            .as_ref()
            .is_some_and(|t| t.expires_at - now > REFRESH_MARGIN);
        if !fresh {
            self.cached = Some(mint()?);
        }
        Ok(self.cached.as_ref().map(|t| t.token.as_str()).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_reused_until_five_minutes_before_it_expires() {
        let mut cache = TokenCache::new();
        let minted = std::cell::Cell::new(0);
        let mint = || {
            minted.set(minted.get() + 1);
            Ok(InstallationToken {
                token: format!("ghs_{}", minted.get()),
                expires_at: 1000 + 3600 * minted.get(),
            })
        };
        assert_eq!(cache.token(1000, mint).unwrap(), "ghs_1");
        assert_eq!(cache.token(4000, mint).unwrap(), "ghs_1", "cached");
        assert_eq!(cache.token(4301, mint).unwrap(), "ghs_2", "near expiry");
        assert_eq!(minted.get(), 2);
    }
}
