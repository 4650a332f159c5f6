//! What each provider offers to kill a leaked credential: the one request
//! that revokes it where a template suffices, how to read the answer, and
//! which revocations are written in code. Where no API exists, a human
//! follows the provider's manual steps, which are data in the pattern
//! files (`[revoke]` for a whole provider, `[rule.revoke]` for one rule:
//! [`Manual`]). The bot (crate::bot) sends these requests through the same
//! HTTP client and URL rules as verification; nothing here makes a request.
//!
//! Facts and sources: ../shared/PROVIDERS.md (sections 1-4, 6-10, 16).

use serde::Deserialize;

/// How a credential is revoked.
#[derive(Debug, Clone, Copy)]
pub enum Revoke {
    /// One templated request; `{secret}` is filled in (percent-encoded in
    /// paths, JSON-escaped in bodies).
    Request(&'static RevokeRequest),
    /// Several signed calls with admin credentials: written in code
    /// (crate::bot::providers), named here.
    Builtin(BuiltinRevoke),
}

/// Revocations that need code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRevoke {
    /// IAM `UpdateAccessKey Status=Inactive`, SigV4-signed with the admin
    /// credentials the policy names, for the user STS named at verification;
    /// `DeleteAccessKey` after the policy's grace period.
    AwsIam,
    /// OpenAI project keys: found by their redacted value among the
    /// projects' keys and deleted, with the admin key the policy names.
    OpenAi,
    /// OpenAI admin keys: `DELETE /v1/organization/admin_api_keys/{id}`.
    OpenAiAdmin,
    /// Anthropic: found by `partial_key_hint`, set `inactive` (no delete API).
    Anthropic,
    /// Twilio API keys: deleted with the account's credentials.
    Twilio,
    /// Datadog API keys: id from `/api/v2/validate`, deleted with an admin API + application key.
    Datadog,
    /// Google API keys: `keys:lookupKey`, then delete, with an admin access token.
    GoogleApiKey,
    /// Google service-account keys: disable, then delete, with an admin access token.
    GoogleServiceAccount,
}

/// A revocation request and how to read its answer.
#[derive(Debug)]
pub struct RevokeRequest {
    pub method: &'static str,
    /// Appended to the provider's base URL (the same base URL and override
    /// as its verification: `LEAKSTOP_VERIFY_URL_<PROVIDER>`).
    pub path: &'static str,
    /// Header templates. The secret goes only in headers the provider documents.
    pub headers: &'static [(&'static str, &'static str)],
    /// A JSON body template (`{secret}` is replaced by a JSON string).
    pub json_body: Option<&'static str>,
    /// Several credentials in one request: the body's array holds up to
    /// this many (GitHub's `/credentials/revoke` takes 1,000).
    pub batch: Option<usize>,
    /// Statuses that mean "revoked now".
    pub ok: &'static [u16],
    /// With `ok`: a JSON field that must be `true` (Slack answers 200 for
    /// everything and says `ok:false` on failure).
    pub ok_json_true: Option<&'static str>,
    /// Statuses, or texts in the body, that mean "already dead": the
    /// credential no longer authenticates, so there is nothing left to revoke.
    pub gone: &'static [u16],
    pub gone_body: &'static [&'static str],
    /// Safe to send again after a lost answer (a second revocation of a dead
    /// credential is harmless). GitLab's rotate is the counter-example.
    pub idempotent: bool,
    /// What a human must still do after the revocation (issue a replacement).
    pub after: &'static str,
    pub docs: &'static str,
    /// How the credential replaces itself, where the provider can.
    pub rotate: Option<&'static RotateRequest>,
    /// Values the templates need besides `{secret}`, cut from the secret
    /// itself (a SendGrid key's id is its middle segment; a Discord webhook
    /// URL holds its id and token); None when the secret has not the shape.
    pub parts: Option<Parts>,
    /// Statuses meaning the credential may not revoke itself (a SendGrid
    /// key without the `api_keys` scope): a human must, for this reason.
    pub manual_on: &'static [(u16, &'static str)],
}

/// Cuts named values out of a secret (None when it has not the shape).
pub type Parts = fn(&str) -> Option<Vec<(&'static str, String)>>;

/// A rotation: one request, with the leaked credential, that returns its
/// replacement. Never sent twice: a lost answer leaves the outcome unknown,
/// and GitLab revokes the whole token family when a revoked token rotates.
#[derive(Debug)]
pub struct RotateRequest {
    pub method: &'static str,
    pub path: &'static str,
    pub headers: &'static [(&'static str, &'static str)],
    /// The JSON field holding the new secret.
    pub new_secret: &'static str,
    /// The JSON field holding the new credential's public id.
    pub new_id: Option<&'static str>,
    /// The rotation itself revokes the old credential.
    pub revokes_old: bool,
    /// Statuses meaning the old credential no longer authenticates.
    pub gone: &'static [u16],
    pub docs: &'static str,
}

/// GitLab's self-rotation: the new token comes back, the old one is revoked.
pub const GITLAB_ROTATE: RotateRequest = RotateRequest {
    method: "POST",
    path: "/api/v4/personal_access_tokens/self/rotate",
    headers: &[("private-token", "{secret}")],
    new_secret: "token",
    new_id: Some("id"),
    revokes_old: true,
    gone: &[401],
    docs: "https://docs.gitlab.com/api/personal_access_tokens/#rotate-a-personal-access-token",
};

/// Steps a human takes where no API revokes the credential: a pattern
/// file's `[revoke]` table (every rule of the provider) or a rule's
/// `[rule.revoke]` (that rule; it wins).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manual {
    /// The exact steps, in order: where in the provider's console, which
    /// button, what to do after.
    pub steps: String,
    /// Where to do it: the console page, else the provider's documentation.
    pub url: String,
}

impl Manual {
    /// Steps to follow and an https link to follow them at.
    pub fn validate(&self) -> Result<(), String> {
        if self.steps.trim().is_empty() {
            return Err("revoke.steps must say what a human does".into());
        }
        if !self.url.starts_with("https://") {
            return Err(format!("revoke.url `{}` must be an https:// URL", self.url));
        }
        Ok(())
    }
}

/// GitHub's credential revocation API: unauthenticated (an authenticated
/// call gets 403), batched, 202 with no per-token result, so the bot
/// confirms with `GET /user` returning 401.
pub const GITHUB_CREDENTIALS: RevokeRequest = RevokeRequest {
    method: "POST",
    path: "/credentials/revoke",
    headers: &[
        ("accept", "application/vnd.github+json"),
        ("x-github-api-version", "2022-11-28"),
        ("content-type", "application/json"),
    ],
    json_body: Some(r#"{"credentials":[{secret}]}"#),
    batch: Some(1000),
    ok: &[202],
    ok_json_true: None,
    gone: &[],
    gone_body: &[],
    idempotent: true,
    after: "No API creates a personal access token: the owner must issue a replacement \
            (Settings > Developer settings > Personal access tokens) and update every consumer.",
    docs: "https://docs.github.com/en/rest/credentials/revoke",
    rotate: None,
    parts: None,
    manual_on: &[],
};

/// An installation token revokes itself; a dead one answers 401.
pub const GITHUB_INSTALLATION: RevokeRequest = RevokeRequest {
    method: "DELETE",
    path: "/installation/token",
    headers: &[
        ("authorization", "Bearer {secret}"),
        ("accept", "application/vnd.github+json"),
        ("x-github-api-version", "2022-11-28"),
    ],
    json_body: None,
    batch: None,
    ok: &[204],
    ok_json_true: None,
    gone: &[401],
    gone_body: &[],
    idempotent: true,
    after: "Installation tokens expire within an hour; the app mints new ones itself. \
            Find out how the token reached the repository (a CI log, an artifact).",
    docs: "https://docs.github.com/en/rest/apps/installations#revoke-an-installation-access-token",
    rotate: None,
    parts: None,
    manual_on: &[],
};

/// A GitLab token revokes itself; afterwards it no longer authenticates (401).
pub const GITLAB_SELF: RevokeRequest = RevokeRequest {
    method: "DELETE",
    path: "/api/v4/personal_access_tokens/self",
    headers: &[("private-token", "{secret}")],
    json_body: None,
    batch: None,
    ok: &[204],
    ok_json_true: None,
    gone: &[401],
    gone_body: &[],
    idempotent: true,
    after: "Create a replacement token with the same scopes (User settings > Access tokens) \
            and update every consumer.",
    docs: "https://docs.gitlab.com/api/personal_access_tokens/#revoke-a-personal-access-token",
    rotate: Some(&GITLAB_ROTATE),
    parts: None,
    manual_on: &[],
};

/// Slack's `auth.revoke` with the token itself; HTTP 200 either way.
pub const SLACK_AUTH_REVOKE: RevokeRequest = RevokeRequest {
    method: "POST",
    path: "/api/auth.revoke",
    headers: &[("authorization", "Bearer {secret}")],
    json_body: None,
    batch: None,
    ok: &[200],
    ok_json_true: Some("ok"),
    gone: &[],
    gone_body: &["token_revoked", "invalid_auth", "account_inactive"],
    idempotent: true,
    after: "Reinstall the app (OAuth) to get a new token and update every consumer.",
    docs: "https://docs.slack.dev/reference/methods/auth.revoke",
    rotate: None,
    parts: None,
    manual_on: &[],
};

/// An npm token deletes itself by its own value.
pub const NPM_TOKEN_DELETE: RevokeRequest = RevokeRequest {
    method: "DELETE",
    path: "/-/npm/v1/tokens/token/{secret}",
    headers: &[("authorization", "Bearer {secret}")],
    json_body: None,
    batch: None,
    ok: &[200, 204],
    ok_json_true: None,
    gone: &[401, 404],
    gone_body: &[],
    idempotent: true,
    after: "Create a granular token (npm token create, or prefer OIDC trusted publishing) \
            and update the CI secret that used the old one.",
    docs: "https://docs.npmjs.com/cli/v11/commands/npm-token",
    rotate: None,
    parts: None,
    manual_on: &[],
};

/// A SendGrid key deletes itself by its id, the middle of `SG.<id>.<secret>`
/// (it needs the `api_keys` scope; a restricted key gets 403).
pub const SENDGRID_KEY_DELETE: RevokeRequest = RevokeRequest {
    method: "DELETE",
    path: "/v3/api_keys/{api_key_id}",
    headers: &[("authorization", "Bearer {secret}")],
    json_body: None,
    batch: None,
    ok: &[204],
    ok_json_true: None,
    gone: &[401, 404],
    gone_body: &[],
    idempotent: true,
    after: "Create a key with only the scopes needed (Settings > API Keys, or POST /v3/api_keys) \
            and update every consumer.",
    docs: "https://www.twilio.com/docs/sendgrid/api-reference/api-keys/delete-api-keys",
    rotate: None,
    parts: Some(sendgrid_parts),
    manual_on: &[(
        403,
        "SendGrid refused: the key lacks the api_keys scope, so it cannot delete itself. \
         Delete it at https://app.sendgrid.com/settings/api_keys (or DELETE /v3/api_keys/{id} \
         with a full-access key).",
    )],
};

fn sendgrid_parts(secret: &str) -> Option<Vec<(&'static str, String)>> {
    let mut segments = secret.split('.');
    let id = match (segments.next(), segments.next(), segments.next()) {
        (Some("SG"), Some(id), Some(_)) if !id.is_empty() => id,
        _ => return None,
    };
    Some(vec![("api_key_id", id.to_string())])
}

/// A Discord webhook deletes itself with the token in its URL, no other
/// authentication ("Delete Webhook with Token"): 204, then 404/401.
pub const DISCORD_WEBHOOK_DELETE: RevokeRequest = RevokeRequest {
    method: "DELETE",
    path: "/api/v10/webhooks/{webhook_id}/{webhook_token}",
    headers: &[],
    json_body: None,
    batch: None,
    ok: &[204],
    ok_json_true: None,
    gone: &[401, 404],
    gone_body: &[],
    idempotent: true,
    after:
        "Create a new webhook in the channel (Integrations > Webhooks) and update every consumer.",
    docs: "https://discord.com/developers/docs/resources/webhook#delete-webhook-with-token",
    rotate: None,
    parts: Some(discord_webhook_parts),
    manual_on: &[],
};

fn discord_webhook_parts(secret: &str) -> Option<Vec<(&'static str, String)>> {
    let rest = secret.split("/webhooks/").nth(1)?;
    let (id, token) = rest.split_once('/')?;
    let token = token.split(['/', '?']).next()?;
    let digits = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
    (digits && !token.is_empty()).then(|| {
        vec![
            ("webhook_id", id.to_string()),
            ("webhook_token", token.to_string()),
        ]
    })
}

/// How the credential a rule finds is revoked by API; None where a human
/// must (the rule's manual steps say how).
pub fn revoke_for(rule_id: &str) -> Option<Revoke> {
    let request = |r: &'static RevokeRequest| Some(Revoke::Request(r));
    match rule_id {
        "github.pat-classic"
        | "github.pat-fine-grained"
        | "github.oauth"
        | "github.app-user"
        | "github.app-refresh" => request(&GITHUB_CREDENTIALS),
        "github.app-installation" => request(&GITHUB_INSTALLATION),
        "gitlab.pat" | "gitlab.pat-routable" => request(&GITLAB_SELF),
        "slack.bot-token" | "slack.user-token" | "slack.legacy-token" | "slack.rotating-token" => {
            request(&SLACK_AUTH_REVOKE)
        }
        "npm.access-token" | "npm.legacy-auth-token" => request(&NPM_TOKEN_DELETE),
        "aws.access-key-id" => Some(Revoke::Builtin(BuiltinRevoke::AwsIam)),
        "sendgrid.api-key" => request(&SENDGRID_KEY_DELETE),
        "discord.webhook" => request(&DISCORD_WEBHOOK_DELETE),
        "openai.project-key" | "openai.service-account-key" | "openai.user-key" => {
            Some(Revoke::Builtin(BuiltinRevoke::OpenAi))
        }
        "openai.admin-key" => Some(Revoke::Builtin(BuiltinRevoke::OpenAiAdmin)),
        "anthropic.api-key" => Some(Revoke::Builtin(BuiltinRevoke::Anthropic)),
        "datadog.api-key" => Some(Revoke::Builtin(BuiltinRevoke::Datadog)),
        "google.api-key" => Some(Revoke::Builtin(BuiltinRevoke::GoogleApiKey)),
        "google.service-account-key" => Some(Revoke::Builtin(BuiltinRevoke::GoogleServiceAccount)),
        "twilio.api-key-secret" => Some(Revoke::Builtin(BuiltinRevoke::Twilio)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_tokens_go_to_the_batched_api_installation_tokens_revoke_themselves() {
        let Some(Revoke::Request(pat)) = revoke_for("github.pat-classic") else {
            panic!("classic PATs have a revoke API");
        };
        assert_eq!(pat.path, "/credentials/revoke");
        assert!(pat.headers.iter().all(|(name, _)| *name != "authorization"));
        assert_eq!(pat.batch, Some(1000));
        let Some(Revoke::Request(ghs)) = revoke_for("github.app-installation") else {
            panic!("installation tokens revoke themselves");
        };
        assert_eq!((ghs.method, ghs.path), ("DELETE", "/installation/token"));
        assert!(
            revoke_for("stripe.secret-key").is_none(),
            "a human rolls Stripe keys"
        );
        assert!(revoke_for("made.up").is_none());
    }
}
