//! Google Cloud, with an admin OAuth access token the policy names
//! (`[credentials.google] access_token`, e.g. a short-lived token from
//! `gcloud auth print-access-token` of an account with
//! `apikeys.keys.lookup`/`delete` and `iam.serviceAccountKeys.disable`/`delete`)
//! (PROVIDERS.md 9c):
//! - an API key is found with `GET /v2/keys:lookupKey?keyString=…` and
//!   deleted with `DELETE /v2/{name}` (a long-running operation; Google
//!   keeps it restorable for 30 days);
//! - a service-account key (its id is the key file's `private_key_id`,
//!   the account its `client_email`, which reports carry as an identifier)
//!   is disabled at once (`POST …/serviceAccounts/{email}/keys/{id}:disable`,
//!   reversible) and deleted by [`Provider::finish`] (`DELETE …/keys/{id}`)
//!   once the policy's grace period has passed. A gone key answers 404.
//!   Verification needs the key file's private key, which no report
//!   carries, so [`Provider::confirm`] asks IAM instead: `GET …/keys/{id}`
//!   answers `"disabled": true` for a disabled key and 404 for a deleted one.

use super::admin::{self, refusal};
use super::{Provider, RevokeContext, Revoked, Target};
use crate::verify::endpoint::encode_segment;

const BY_HAND_KEY: &str = "delete the key at https://console.cloud.google.com/apis/credentials";
const BY_HAND_SA: &str =
    "disable, then delete the key at https://console.cloud.google.com/iam-admin/serviceaccounts";

fn token<'a>(context: &RevokeContext<'a>, by_hand: &str) -> Result<&'a str, Revoked> {
    admin::credentials(context, "google", &["access_token"], by_hand).map(|f| f[0].expose())
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("authorization".into(), format!("Bearer {token}"))]
}

pub struct GoogleApiKey;

impl Provider for GoogleApiKey {
    fn revoke_one(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Revoked {
        let admin = match token(context, BY_HAND_KEY) {
            Ok(admin) => admin,
            Err(manual) => return manual,
        };
        let key = target.secret.expose();
        let secrets = [key, admin];
        let path = format!("/v2/keys:lookupKey?keyString={}", encode_segment(key));
        let name = match admin::call(context, "GET", &path, bearer(admin), None, &secrets) {
            Ok(r) if r.status == 200 => r
                .json()
                .and_then(|v| v.get("name").and_then(|n| n.as_str().map(str::to_string))),
            // Unknown to Google (or purged): nothing left to delete.
            Ok(r) if r.status == 404 => return Revoked::AlreadyDead,
            Ok(r) if r.status == 403 => {
                return Revoked::Manual(format!(
                    "the admin token may not look the key up ({}): it belongs to a project the token cannot \
                     manage; {BY_HAND_KEY}",
                    refusal(&r, &secrets)
                ))
            }
            Ok(r) => {
                return Revoked::Failed {
                    error: refusal(&r, &secrets),
                }
            }
            Err(error) => return Revoked::Failed { error },
        };
        let Some(name) = name else {
            return Revoked::AlreadyDead;
        };
        let valid = name.starts_with("projects/")
            && name.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
            });
        if !valid {
            return Revoked::Failed {
                error: "Google's lookupKey named no key resource".into(),
            };
        }
        let path = format!("/v2/{name}");
        let answer = admin::call(context, "DELETE", &path, bearer(admin), None, &secrets);
        admin::revoked(answer, &[200], &secrets)
    }

    fn endpoint(&self) -> Option<(&'static str, &'static str)> {
        Some(("google-apikeys", "https://apikeys.googleapis.com"))
    }

    fn plan(&self, base_url: &str) -> Vec<String> {
        vec![
            format!("GET {base_url}/v2/keys:lookupKey (with the admin token)"),
            format!("DELETE {base_url}/v2/projects/{{project}}/locations/global/keys/{{key}}"),
        ]
    }

    fn idempotent(&self) -> bool {
        true
    }

    fn after(&self) -> &str {
        "The key is deleted (restorable for 30 days with keys.undelete): create a restricted replacement \
         (application and API restrictions) and update every consumer; check the project's billing and API \
         metrics for misuse."
    }

    fn docs(&self) -> &str {
        "https://cloud.google.com/api-keys/docs/reference/rest/v2/projects.locations.keys/delete"
    }
}

pub struct GoogleServiceAccount;

impl GoogleServiceAccount {
    /// `/v1/projects/{project}/serviceAccounts/{email}/keys/{id}`, or why not.
    fn key_path(target: &Target<'_>) -> Result<String, Revoked> {
        let email = target
            .companions
            .and_then(|c| c.get("client_email"))
            .map(|s| s.expose().to_string())
            .ok_or_else(|| {
                Revoked::Manual(format!(
                    "the key file's client_email was not found next to its private_key_id: {BY_HAND_SA}"
                ))
            })?;
        // `-` lets IAM infer the project from the account (IAM REST reference).
        let project = email
            .split_once('@')
            .and_then(|(_, domain)| domain.strip_suffix(".iam.gserviceaccount.com"))
            .unwrap_or("-");
        Ok(format!(
            "/v1/projects/{}/serviceAccounts/{}/keys/{}",
            encode_segment(project),
            encode_segment(&email),
            encode_segment(target.secret.expose())
        ))
    }

    fn act(&self, context: &RevokeContext<'_>, target: &Target<'_>, delete: bool) -> Revoked {
        let admin = match token(context, BY_HAND_SA) {
            Ok(admin) => admin,
            Err(manual) => return manual,
        };
        let path = match Self::key_path(target) {
            Ok(path) => path,
            Err(manual) => return manual,
        };
        let secrets = [admin];
        let answer = if delete {
            admin::call(context, "DELETE", &path, bearer(admin), None, &secrets)
        } else {
            let body = serde_json::json!({});
            admin::call(
                context,
                "POST",
                &format!("{path}:disable"),
                bearer(admin),
                Some(body),
                &secrets,
            )
        };
        admin::revoked(answer, &[200], &secrets)
    }
}

impl Provider for GoogleServiceAccount {
    fn endpoint(&self) -> Option<(&'static str, &'static str)> {
        Some(("google-iam", "https://iam.googleapis.com"))
    }

    fn plan(&self, base_url: &str) -> Vec<String> {
        vec![format!(
            "POST {base_url}/v1/projects/{{project}}/serviceAccounts/{{email}}/keys/{{private_key_id}}:disable \
             (with the admin token)"
        )]
    }

    fn revoke_one(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Revoked {
        self.act(context, target, false)
    }

    fn finish_plan(&self, base_url: &str) -> Vec<String> {
        vec![format!(
            "DELETE {base_url}/v1/projects/{{project}}/serviceAccounts/{{email}}/keys/{{private_key_id}} (with the admin token)"
        )]
    }

    fn finish(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Option<Revoked> {
        Some(self.act(context, target, true))
    }

    fn confirm(
        &self,
        context: &RevokeContext<'_>,
        target: &Target<'_>,
    ) -> Option<Result<bool, String>> {
        let admin = token(context, BY_HAND_SA).ok()?;
        let path = Self::key_path(target).ok()?;
        let secrets = [admin];
        Some(
            match admin::call(context, "GET", &path, bearer(admin), None, &secrets) {
                Ok(r) if r.status == 404 => Ok(true),
                Ok(r) if r.status == 200 => Ok(r
                    .json()
                    .and_then(|v| v.get("disabled").and_then(serde_json::Value::as_bool))
                    == Some(true)),
                Ok(r) => Err(refusal(&r, &secrets)),
                Err(error) => Err(error),
            },
        )
    }

    fn idempotent(&self) -> bool {
        true
    }

    fn after(&self) -> &str {
        "The key is disabled, then deleted after the grace period: create a new key only if workload identity \
         federation cannot replace it, update every consumer, and review the account's audit logs."
    }

    fn docs(&self) -> &str {
        "https://cloud.google.com/iam/docs/keys-disable-enable"
    }
}
