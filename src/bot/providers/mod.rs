//! Providers behind one trait: verify, revoke, rotate, confirm dead. Most
//! revocations are one templated request (crate::provider::revoke); those
//! are sent by [`templated::Templated`]. Verification and confirmation reuse
//! `scan --verify` (crate::verify) unchanged, so the bot asks exactly the
//! same harmless question a scan does. Every call goes through the one HTTP
//! client of crate::verify: https only (plain http to loopback), no
//! redirects, a timeout, bounded retries honouring `Retry-After`.

pub mod admin;
pub mod anthropic;
pub mod aws;
pub mod datadog;
pub mod google;
pub mod openai;
pub mod templated;
pub mod twilio;

use super::input::Leak;
use crate::finding::{Confidence, Finding, Secret, Severity};
pub use crate::provider::revoke::Manual;
use crate::provider::revoke::{revoke_for, BuiltinRevoke, Revoke};
use crate::rules::Rule;
use crate::verify::endpoint::{self, Overrides};
use crate::verify::http::{Client, Request, Response};
use crate::verify::{self, Status, Verification};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

/// What the bot needs to reach providers.
pub struct Env<'a> {
    pub client: &'a Client,
    pub overrides: &'a Overrides,
    pub rules: &'a HashMap<&'a str, &'a Rule>,
    pub options: &'a verify::Options,
}

impl Env<'_> {
    /// The base URL a provider's revocation goes to.
    pub fn revoke_url(&self, rule_id: &str, provider: &dyn Provider) -> Result<String, String> {
        match provider.endpoint() {
            Some((name, default)) => {
                let url = self
                    .overrides
                    .resolve(name, Some(default))
                    .ok_or_else(|| format!("no base URL for `{name}`"))?;
                endpoint::check(name, &url).map_err(|e| e.to_string())?;
                Ok(url)
            }
            None => self.base_url(rule_id),
        }
    }

    /// The base URL of a rule's provider API (the one verification uses,
    /// with the same overrides), checked to be https or loopback.
    pub fn base_url(&self, rule_id: &str) -> Result<String, String> {
        let rule = self
            .rules
            .get(rule_id)
            .ok_or_else(|| format!("rule `{rule_id}` is not loaded"))?;
        let name = rule
            .verify
            .as_ref()
            .map(|s| s.endpoint_name(&rule.provider))
            .unwrap_or(&rule.provider);
        let default = rule
            .verify
            .as_ref()
            .and_then(|s| s.base_url.as_deref())
            .or(rule.provider_verify.base_url.as_deref());
        let url = self
            .overrides
            .resolve(name, default)
            .ok_or_else(|| format!("no base URL for `{name}`: set {}", endpoint::env_name(name)))?;
        endpoint::check(name, &url).map_err(|e| e.to_string())?;
        Ok(url)
    }
}

/// What a revocation achieved.
#[derive(Debug, Clone, PartialEq)]
pub enum Revoked {
    /// The provider accepted the revocation.
    Accepted { request_id: Option<String> },
    /// The credential no longer authenticates: nothing left to revoke.
    AlreadyDead,
    /// The provider refused or could not be reached.
    Failed { error: String },
    /// The bot cannot act (no admin credentials, an unknown owner): a human must.
    Manual(String),
}

/// What a rotation achieved.
pub enum Rotated {
    /// The replacement (held only in memory until it is stored).
    New {
        secret: Secret,
        id: Option<String>,
        revoked_old: bool,
        /// What verifying the replacement needs besides it (the AWS secret half).
        companions: BTreeMap<String, Secret>,
        /// What goes to the secret store, when not the secret alone (the AWS pair as JSON).
        stored: Option<Secret>,
    },
    /// The bot must not rotate (two AWS keys already): a human must, for this reason.
    Manual(String),
    /// The old credential no longer authenticates: nothing to rotate.
    AlreadyDead,
    /// The provider said no; nothing changed.
    Refused {
        error: String,
    },
    /// The request may have landed (a timeout, a lost answer): the outcome
    /// is unknown and must not be retried.
    Unknown {
        error: String,
    },
    NotSupported,
}

/// One credential to revoke, with what verification learnt about it.
pub struct Target<'a> {
    pub secret: &'a Secret,
    /// Owner identity from verification (`arn=…, account=…`).
    pub owner: Option<&'a str>,
    /// Values found next to the secret (a Twilio key's SID, a service
    /// account's email), by the verify rules' names.
    pub companions: Option<&'a BTreeMap<String, Secret>>,
}

impl<'a> Target<'a> {
    /// A leak's credential, with the owner its verification named.
    pub fn of(leak: &'a Leak, secret: &'a Secret, owner: Option<&'a str>) -> Target<'a> {
        Target {
            secret,
            owner,
            companions: Some(&leak.companions),
        }
    }
}

/// Where and with what a revocation runs.
pub struct RevokeContext<'a> {
    pub base_url: &'a str,
    pub client: &'a Client,
    /// The admin credentials the policy names for this provider, read from
    /// the environment at start-up.
    pub credentials: Option<&'a BTreeMap<String, Secret>>,
}

/// A provider the bot can act on.
pub trait Provider {
    /// The API the revocation goes to, when it is not the verification's:
    /// (endpoint name for overrides, default base URL).
    fn endpoint(&self) -> Option<(&'static str, &'static str)> {
        None
    }
    /// Calls a revocation makes, for the dry-run plan: `METHOD URL` with no secret.
    fn plan(&self, base_url: &str) -> Vec<String>;
    /// Revokes one credential.
    fn revoke_one(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Revoked;
    /// Revokes several credentials of this provider; one result per
    /// credential, in order. One by one unless the provider takes a list
    /// (GitHub's batched `/credentials/revoke` overrides this).
    fn revoke(&self, context: &RevokeContext<'_>, targets: &[Target<'_>]) -> Vec<Revoked> {
        targets
            .iter()
            .map(|target| self.revoke_one(context, target))
            .collect()
    }
    /// Replaces the credential where the provider can (never retried).
    fn rotate(&self, _context: &RevokeContext<'_>, _target: &Target<'_>) -> Rotated {
        Rotated::NotSupported
    }
    /// When and where the credential was last used, where the provider
    /// tells (asked with the admin credentials; None when it cannot).
    fn last_used(&self, _context: &RevokeContext<'_>, _target: &Target<'_>) -> Option<String> {
        None
    }
    /// After a run died with a rotation announced: Ok when asking the
    /// provider shows it did not land (rotating now is safe), else what a
    /// human must do. By default the outcome is unknown.
    fn reconcile_rotation(
        &self,
        _context: &RevokeContext<'_>,
        _target: &Target<'_>,
    ) -> Result<(), String> {
        Err(
            "a rotation was interrupted and its outcome is unknown; it is never sent twice \
             (GitLab revokes the whole token family when a revoked token rotates): check the \
             provider, revoke any new token and rotate by hand"
                .into(),
        )
    }
    /// The calls [`Provider::finish`] makes, for the plan; empty where the
    /// revocation is already permanent and there is nothing to finish.
    fn finish_plan(&self, _base_url: &str) -> Vec<String> {
        Vec::new()
    }
    /// After the grace period, makes a reversible revocation permanent
    /// (deletes a deactivated key); None where the revocation already is.
    /// A key that is already gone answers `AlreadyDead`, so a run that
    /// died after the call and before recording it finishes on the retry
    /// instead of failing on it forever.
    fn finish(&self, _context: &RevokeContext<'_>, _target: &Target<'_>) -> Option<Revoked> {
        None
    }
    /// Whether the credential is dead, asked with the admin credentials,
    /// where verification cannot tell (a service-account key whose private
    /// key is not in the report): `Ok(true)` dead, `Ok(false)` still
    /// usable, `Err` no answer; None where the provider has no such question.
    fn confirm(
        &self,
        _context: &RevokeContext<'_>,
        _target: &Target<'_>,
    ) -> Option<Result<bool, String>> {
        None
    }
    /// Sending the revocation again after a lost answer is harmless.
    fn idempotent(&self) -> bool;
    /// What a human must still do after the revocation.
    fn after(&self) -> &str;
    fn docs(&self) -> &str;
}

/// The provider implementation that revokes a rule's credentials by API;
/// None where a human must ([`manual_steps`] says how).
pub fn for_rule(rule_id: &str) -> Option<Box<dyn Provider>> {
    Some(match revoke_for(rule_id)? {
        Revoke::Request(request) => Box::new(templated::Templated { request }),
        Revoke::Builtin(builtin) => builtin_provider(builtin),
    })
}

fn builtin_provider(builtin: BuiltinRevoke) -> Box<dyn Provider> {
    match builtin {
        BuiltinRevoke::AwsIam => Box::new(aws::AwsIam),
        BuiltinRevoke::OpenAi => Box::new(openai::OpenAi { admin_key: false }),
        BuiltinRevoke::OpenAiAdmin => Box::new(openai::OpenAi { admin_key: true }),
        BuiltinRevoke::Anthropic => Box::new(anthropic::Anthropic),
        BuiltinRevoke::Twilio => Box::new(twilio::Twilio),
        BuiltinRevoke::Datadog => Box::new(datadog::Datadog),
        BuiltinRevoke::GoogleApiKey => Box::new(google::GoogleApiKey),
        BuiltinRevoke::GoogleServiceAccount => Box::new(google::GoogleServiceAccount),
    }
}

/// What a human must do to revoke a rule's credential: the provider's
/// manual steps and link from its pattern file (`[revoke]`, `[rule.revoke]`),
/// else the rule's remediation text and docs link.
pub fn manual_steps(rule: Option<&Rule>) -> Manual {
    match rule {
        Some(rule) => rule.manual_revoke().cloned().unwrap_or_else(|| Manual {
            steps: rule.remediation.clone(),
            url: rule.docs_url().to_string(),
        }),
        None => Manual {
            steps: "Revoke the credential at its provider and issue a replacement.".into(),
            url: String::new(),
        },
    }
}

/// Verifies one leaked credential exactly as `scan --verify` would.
pub fn verify_leak(leak: &Leak, secret: &Secret, env: &Env<'_>) -> Verification {
    let mut finding = finding_of(leak, secret);
    // Values inside the secret itself (a Discord webhook URL's id and
    // token) are cut from it here, as the scan's companion search does.
    let spec = env
        .rules
        .get(leak.rule_id.as_str())
        .and_then(|r| r.verify.as_ref());
    for companion in spec
        .iter()
        .flat_map(|s| &s.companions)
        .filter(|c| c.in_secret)
    {
        let value = companion
            .regex()
            .and_then(|re| re.captures(secret.expose().as_bytes()))
            .and_then(|c| c.get(1))
            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned());
        if let Some(value) = value {
            finding
                .companions
                .entry(companion.name.clone())
                .or_insert_with(|| Secret::new(value));
        }
    }
    let mut findings = [finding];
    match verify::verify_findings(&mut findings, env.rules, env.options) {
        Ok(_) => findings[0]
            .verification
            .take()
            .unwrap_or_else(|| Verification::error("not checked")),
        Err(unsafe_url) => Verification::error(unsafe_url.to_string()),
    }
}

/// Whether a verification result means the credential is dead.
pub fn is_dead(result: &Verification) -> bool {
    matches!(result.status, Status::Invalid | Status::Revoked)
}

/// A finding carrying just what verification reads.
fn finding_of(leak: &Leak, secret: &Secret) -> Finding {
    Finding {
        repository: None,
        rule_id: leak.rule_id.clone(),
        rule_name: leak.rule_name.clone(),
        provider: leak.provider.clone(),
        path: leak.location.path.clone(),
        line: leak.location.line,
        column: 1,
        end_line: leak.location.line,
        end_column: 1,
        secret_redacted: secret.redacted(),
        secret: None,
        fingerprint: leak.fingerprint.clone(),
        confidence: Confidence::High,
        severity: Severity::High,
        client_safe: false,
        context: String::new(),
        commit: None,
        other_occurrences: None,
        original: None,
        verification: None,
        companions: leak.companions.clone(),
        encoding: Vec::new(),
        client_exposed: leak.client_exposed,
        raw_secret: secret.clone(),
        span: 0..0,
    }
}

/// Sends one request through the verification client and hands back the
/// provider's answer: 429, 5xx and GitHub's rate-limit 403s are retried by
/// the client (honouring `Retry-After`); anything else is returned as is.
pub fn exchange(client: &Client, request: &Request, secrets: &[&str]) -> Result<Response, String> {
    let answer: RefCell<Option<Response>> = RefCell::new(None);
    let result = client.send(request, secrets, &|response| {
        let limited = response.status == 429
            || response.status >= 500
            || (response.status == 403
                && (response.header("retry-after").is_some()
                    || response.header("x-ratelimit-remaining") == Some("0")));
        if limited {
            return None;
        }
        *answer.borrow_mut() = Some(response.clone());
        Some(Verification::new(Status::Live, None))
    });
    answer.into_inner().ok_or_else(|| {
        result
            .reason
            .unwrap_or_else(|| format!("no answer ({})", result.status))
    })
}

/// The provider's request id, where it sends one (for the audit log).
pub fn request_id(response: &Response) -> Option<String> {
    [
        "x-github-request-id",
        "x-request-id",
        "x-amzn-requestid",
        "x-slack-req-id",
        "x-npm-request-id",
        "x-twilio-request-id",
        "request-id",
    ]
    .iter()
    .find_map(|name| response.header(name).map(str::to_string))
}
