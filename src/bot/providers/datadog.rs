//! Datadog API keys: the key's id comes from `GET /api/v2/validate` asked
//! with the leaked key itself (`data.attributes.api_key_id`); the key is
//! then deleted with `DELETE /api/v2/api_keys/{id}`, which needs an admin
//! API key **and** application key (PROVIDERS.md 10; Datadog API reference,
//! Key Management). A gone key answers 404; a dead key cannot name its id
//! (403 on validate), so there is nothing left to revoke.

use super::admin::{self, refusal};
use super::{Provider, RevokeContext, Revoked, Target};

pub struct Datadog;

impl Provider for Datadog {
    fn revoke_one(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Revoked {
        let found = match admin::credentials(
            context,
            "datadog",
            &["api_key", "application_key"],
            "revoke the key at https://app.datadoghq.com/organization-settings/api-keys",
        ) {
            Ok(found) => found,
            Err(manual) => return manual,
        };
        let (api, app) = (found[0].expose(), found[1].expose());
        let secret = target.secret.expose();
        let secrets = [secret, api, app];
        let headers = vec![("dd-api-key".to_string(), secret.to_string())];
        let id = match admin::call(context, "GET", "/api/v2/validate", headers, None, &secrets) {
            Ok(r) if r.status == 200 => r.json().and_then(|v| {
                v.pointer("/data/attributes/api_key_id")
                    .and_then(|id| id.as_str().map(str::to_string))
            }),
            Ok(r) if r.status == 401 || r.status == 403 => return Revoked::AlreadyDead,
            Ok(r) => {
                return Revoked::Failed {
                    error: refusal(&r, &secrets),
                }
            }
            Err(error) => return Revoked::Failed { error },
        };
        let Some(id) = id.filter(|id| !id.is_empty() && !id.contains(['/', '?', '#'])) else {
            return Revoked::Failed {
                error: "Datadog's /api/v2/validate named no api_key_id".into(),
            };
        };
        let headers = vec![
            ("dd-api-key".to_string(), api.to_string()),
            ("dd-application-key".to_string(), app.to_string()),
        ];
        let path = format!("/api/v2/api_keys/{id}");
        let answer = admin::call(context, "DELETE", &path, headers, None, &secrets);
        admin::revoked(answer, &[200, 204], &secrets)
    }

    fn plan(&self, base_url: &str) -> Vec<String> {
        vec![
            format!("GET {base_url}/api/v2/validate (the leaked key names its id)"),
            format!("DELETE {base_url}/api/v2/api_keys/{{api_key_id}} (with the admin API and application keys)"),
        ]
    }

    fn idempotent(&self) -> bool {
        true
    }

    fn after(&self) -> &str {
        "Create a replacement API key (Organization Settings > API Keys) and roll it out to every agent and \
         integration; review the organization's audit trail for misuse."
    }

    fn docs(&self) -> &str {
        "https://docs.datadoghq.com/api/latest/key-management/#delete-an-api-key"
    }
}
