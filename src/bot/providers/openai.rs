//! OpenAI: no API takes a leaked key and revokes it; the organisation's
//! Admin API key can (PROVIDERS.md 6c). A project key is found by its
//! redacted value among every project's keys (`GET /v1/organization/projects`,
//! then `.../projects/{id}/api_keys`), then deleted
//! (`DELETE .../projects/{id}/api_keys/{key_id}` → `deleted: true`). An
//! admin key is found among `/v1/organization/admin_api_keys` and deleted
//! there. A second delete answers 404: already gone.

use super::admin::{self, accepted, matches_redacted, refusal};
use super::{Provider, RevokeContext, Revoked, Target};
use serde_json::Value;

/// Pages followed per listing (100 entries each).
const MAX_PAGES: usize = 20;

pub struct OpenAi {
    /// The leaked key is itself an admin key.
    pub admin_key: bool,
}

/// Every entry of a paginated OpenAI listing (`data`, `has_more`, `last_id`).
fn list_all(
    context: &RevokeContext<'_>,
    path: &str,
    admin: &str,
    secrets: &[&str],
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = match &after {
            Some(id) => format!("{path}?limit=100&after={id}"),
            None => format!("{path}?limit=100"),
        };
        let response = admin::call(context, "GET", &page, bearer(admin), None, secrets)?;
        if response.status != 200 {
            return Err(refusal(&response, secrets));
        }
        let json = response.json().unwrap_or_default();
        let data = json
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        out.extend(data);
        let more = json.get("has_more").and_then(Value::as_bool) == Some(true);
        after = json
            .get("last_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        if !more || after.is_none() {
            return Ok(out);
        }
    }
    Ok(out)
}

fn bearer(admin: &str) -> Vec<(String, String)> {
    vec![("authorization".into(), format!("Bearer {admin}"))]
}

fn id_of(entry: &Value) -> Option<&str> {
    entry.get("id").and_then(Value::as_str)
}

/// The listed key whose redacted value is this key's, when exactly one is.
fn find<'a>(entries: &'a [Value], secret: &str) -> Option<&'a Value> {
    let mut found = entries.iter().filter(|e| {
        e.get("redacted_value")
            .and_then(Value::as_str)
            .is_some_and(|r| matches_redacted(secret, r))
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

impl OpenAi {
    /// The path of the key to delete: `projects/{p}/api_keys/{k}` or `admin_api_keys/{k}`.
    fn locate(
        &self,
        context: &RevokeContext<'_>,
        secret: &str,
        admin: &str,
    ) -> Result<Option<String>, String> {
        let secrets = [secret, admin];
        if self.admin_key {
            let keys = list_all(context, "/v1/organization/admin_api_keys", admin, &secrets)?;
            return Ok(find(&keys, secret)
                .and_then(id_of)
                .map(|id| format!("/v1/organization/admin_api_keys/{id}")));
        }
        let projects = list_all(context, "/v1/organization/projects", admin, &secrets)?;
        for project in projects.iter().filter_map(id_of) {
            let path = format!("/v1/organization/projects/{project}/api_keys");
            let keys = list_all(context, &path, admin, &secrets)?;
            if let Some(id) = find(&keys, secret).and_then(id_of) {
                return Ok(Some(format!("{path}/{id}")));
            }
        }
        Ok(None)
    }
}

impl Provider for OpenAi {
    fn revoke_one(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Revoked {
        let secret = target.secret.expose();
        let admin = match admin::credentials(
            context,
            "openai",
            &["admin_key"],
            "delete the key at https://platform.openai.com/api-keys",
        ) {
            Ok(found) => found[0].expose(),
            // An admin key may delete itself.
            Err(_) if self.admin_key => secret,
            Err(manual) => return manual,
        };
        let path = match self.locate(context, secret, admin) {
            Ok(Some(path)) => path,
            Ok(None) => {
                return Revoked::Manual(
                    "the admin key's organisation lists no key with this key's redacted value (another \
                     organisation's key, or a legacy user key): delete it at https://platform.openai.com/api-keys"
                        .into(),
                )
            }
            Err(error) => return Revoked::Failed { error },
        };
        match admin::call(
            context,
            "DELETE",
            &path,
            bearer(admin),
            None,
            &[secret, admin],
        ) {
            Ok(r) if r.status == 200 => {
                match r
                    .json()
                    .and_then(|v| v.get("deleted").and_then(Value::as_bool))
                {
                    Some(true) => accepted(&r),
                    _ => Revoked::Failed {
                        error: "OpenAI answered 200 without `deleted: true`".into(),
                    },
                }
            }
            Ok(r) if r.status == 404 => Revoked::AlreadyDead,
            Ok(r) => Revoked::Failed {
                error: refusal(&r, &[secret, admin]),
            },
            Err(error) => Revoked::Failed { error },
        }
    }

    fn plan(&self, base_url: &str) -> Vec<String> {
        if self.admin_key {
            return vec![
                format!("GET {base_url}/v1/organization/admin_api_keys (find the key by its redacted value)"),
                format!("DELETE {base_url}/v1/organization/admin_api_keys/{{key_id}}"),
            ];
        }
        vec![
            format!("GET {base_url}/v1/organization/projects"),
            format!("GET {base_url}/v1/organization/projects/{{project_id}}/api_keys (find the key by its redacted value)"),
            format!("DELETE {base_url}/v1/organization/projects/{{project_id}}/api_keys/{{key_id}}"),
        ]
    }

    fn idempotent(&self) -> bool {
        true
    }

    fn after(&self) -> &str {
        "No API issues a user's project key: create a replacement (or a service account) in the project \
         and update every consumer; check the project's usage for misuse."
    }

    fn docs(&self) -> &str {
        "https://platform.openai.com/docs/api-reference/project-api-keys/delete"
    }
}
