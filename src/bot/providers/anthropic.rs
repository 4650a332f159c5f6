//! Anthropic: the Admin API (an `sk-ant-admin01-` key of the organisation)
//! lists API keys with a `partial_key_hint`; the leaked key is found by it
//! and set `inactive` (`POST /v1/organizations/api_keys/{id}`), which is
//! reversible and idempotent. There is no delete and no create endpoint
//! (PROVIDERS.md 7c), so a human issues the replacement.

use super::admin::{self, matches_redacted, refusal};
use super::{Provider, RevokeContext, Revoked, Target};
use serde_json::{json, Value};

const MAX_PAGES: usize = 20;

pub struct Anthropic;

fn headers(admin: &str) -> Vec<(String, String)> {
    vec![
        ("x-api-key".into(), admin.to_string()),
        ("anthropic-version".into(), "2023-06-01".into()),
    ]
}

impl Anthropic {
    /// The listed key with this key's hint, when exactly one has it.
    fn locate(
        &self,
        context: &RevokeContext<'_>,
        secret: &str,
        admin: &str,
    ) -> Result<Option<Value>, String> {
        let secrets = [secret, admin];
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let path = match &after {
                Some(id) => format!("/v1/organizations/api_keys?limit=1000&after_id={id}"),
                None => "/v1/organizations/api_keys?limit=1000".to_string(),
            };
            let response = admin::call(context, "GET", &path, headers(admin), None, &secrets)?;
            if response.status != 200 {
                return Err(refusal(&response, &secrets));
            }
            let json = response.json().unwrap_or_default();
            for key in json
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let hint = key.get("partial_key_hint").and_then(Value::as_str);
                if hint.is_some_and(|h| matches_redacted(secret, h)) {
                    found.push(key.clone());
                }
            }
            after = json
                .get("last_id")
                .and_then(Value::as_str)
                .map(str::to_string);
            if json.get("has_more").and_then(Value::as_bool) != Some(true) || after.is_none() {
                break;
            }
        }
        Ok((found.len() == 1).then(|| found.remove(0)))
    }
}

impl Provider for Anthropic {
    fn revoke_one(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Revoked {
        let secret = target.secret.expose();
        let admin = match admin::credentials(
            context,
            "anthropic",
            &["admin_key"],
            "deactivate the key at https://console.anthropic.com/settings/keys",
        ) {
            Ok(found) => found[0].expose(),
            Err(manual) => return manual,
        };
        let key = match self.locate(context, secret, admin) {
            Ok(Some(key)) => key,
            Ok(None) => {
                return Revoked::Manual(
                    "the admin key's organisation lists no single key with this key's hint: deactivate it \
                     at https://console.anthropic.com/settings/keys"
                        .into(),
                )
            }
            Err(error) => return Revoked::Failed { error },
        };
        if key.get("status").and_then(Value::as_str) != Some("active") {
            return Revoked::AlreadyDead;
        }
        let Some(id) = key.get("id").and_then(Value::as_str) else {
            return Revoked::Failed {
                error: "Anthropic listed the key without an id".into(),
            };
        };
        let path = format!("/v1/organizations/api_keys/{id}");
        let body = json!({"status": "inactive"});
        let secrets = [secret, admin];
        let answer = admin::call(context, "POST", &path, headers(admin), Some(body), &secrets);
        admin::revoked(answer, &[200], &secrets)
    }

    fn plan(&self, base_url: &str) -> Vec<String> {
        vec![
            format!("GET {base_url}/v1/organizations/api_keys (find the key by its partial_key_hint)"),
            format!("POST {base_url}/v1/organizations/api_keys/{{api_key_id}} {{\"status\":\"inactive\"}}"),
        ]
    }

    fn idempotent(&self) -> bool {
        true
    }

    fn after(&self) -> &str {
        "The key is inactive (reversible): create a replacement in the Console (no API creates one), update \
         every consumer, then archive the old key; check the workspace's usage for misuse."
    }

    fn docs(&self) -> &str {
        "https://docs.anthropic.com/en/api/admin-api/apikeys/update-api-key"
    }
}
