//! Twilio API keys: `DELETE /2010-04-01/Accounts/{AC}/Keys/{SK}.json` with
//! the account's own credentials (account SID and auth token, HTTP Basic),
//! because a Standard key cannot manage keys (PROVIDERS.md 10). The key SID
//! and account SID come from the leak's companions (found next to the key
//! secret); a delete of a gone key answers 404.

use super::admin;
use super::{Provider, RevokeContext, Revoked, Target};
use base64::Engine;

pub struct Twilio;

impl Provider for Twilio {
    fn revoke_one(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Revoked {
        let found = match admin::credentials(
            context,
            "twilio",
            &["account_sid", "auth_token"],
            "delete the key at https://console.twilio.com (Account > API keys & tokens)",
        ) {
            Ok(found) => found,
            Err(manual) => return manual,
        };
        let (admin_sid, token) = (found[0].expose(), found[1].expose());
        let companion = |name: &str| {
            target
                .companions
                .and_then(|c| c.get(name))
                .map(|s| s.expose().to_string())
        };
        let Some(key_sid) = companion("key_sid") else {
            return Revoked::Manual(
                "the key's SID (SK…) was not found next to the secret: delete the key at \
                 https://console.twilio.com (Account > API keys & tokens)"
                    .into(),
            );
        };
        let account = companion("account_sid").unwrap_or_else(|| admin_sid.to_string());
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{admin_sid}:{token}"));
        let path = format!("/2010-04-01/Accounts/{account}/Keys/{key_sid}.json");
        let headers = vec![("authorization".into(), format!("Basic {basic}"))];
        let secrets = [target.secret.expose(), token, basic.as_str()];
        let answer = admin::call(context, "DELETE", &path, headers, None, &secrets);
        admin::revoked(answer, &[200, 204], &secrets)
    }

    fn plan(&self, base_url: &str) -> Vec<String> {
        vec![format!(
            "DELETE {base_url}/2010-04-01/Accounts/{{account_sid}}/Keys/{{key_sid}}.json (with the account's credentials)"
        )]
    }

    fn idempotent(&self) -> bool {
        true
    }

    fn after(&self) -> &str {
        "Create a new API key (Console > Account > API keys & tokens) and update every consumer; review the \
         account's message and call logs for misuse."
    }

    fn docs(&self) -> &str {
        "https://www.twilio.com/docs/iam/api-keys/key-resource-v2010#delete-a-key-resource"
    }
}
