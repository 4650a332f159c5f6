//! GCP service-account keys: sign a short-lived JWT with the key (RS256) and
//! exchange it for an access token at Google's token endpoint. A token means
//! the key is live; the token itself is discarded unread. The `token_uri` in
//! the leaked JSON is never used: only the configured endpoint receives the
//! assertion.

use super::http::{Request, Response};
use super::{Context, Credential, Status, Verification, Verifier};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use std::time::{SystemTime, UNIX_EPOCH};

/// The audience Google documents for service-account JWTs.
const AUDIENCE: &str = "https://oauth2.googleapis.com/token";
/// The narrowest useful scope: read-only, and the token is never used.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";

pub struct ServiceAccount;

impl Verifier for ServiceAccount {
    fn verify(&self, credential: &Credential, context: &Context<'_>) -> Verification {
        let (Some(key_id), Some(email), Some(pem)) = (
            credential.get("secret"),
            credential.get("client_email"),
            credential.get("private_key"),
        ) else {
            return Verification::with_reason(
                Status::Skipped,
                "the check needs the key file's client_email and private_key",
            );
        };
        let assertion = match assertion(key_id, email, pem, now()) {
            Ok(jwt) => jwt,
            Err(reason) => return Verification::error(reason),
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
            .append_pair("assertion", &assertion)
            .finish();
        let request = Request {
            method: "POST".into(),
            url: format!("{}/token", context.base_url),
            display: format!("{}/token (JWT bearer grant)", context.base_url),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: Some(body.into_bytes()),
        };
        let mut secrets = credential.values();
        secrets.push(&assertion);
        let mut result = context.client.send(&request, &secrets, &classify);
        // The key's own client_email names its owner; added after the
        // response values were scrubbed of the credential (which includes it).
        if result.status == Status::Live {
            result
                .owner
                .insert("client_email".into(), email.to_string());
        }
        result
    }
}

fn classify(response: &Response) -> Option<Verification> {
    let json = response.json()?;
    let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_string);
    match response.status {
        200 if field("access_token").is_some() => Some(Verification::new(Status::Live, None)),
        400 | 401 => {
            let error = field("error")?;
            let description = field("error_description").unwrap_or_default();
            let reason = format!("{error}: {description}");
            Some(match error.as_str() {
                "invalid_grant" | "invalid_client" | "unauthorized_client" => {
                    Verification::with_reason(Status::Invalid, reason)
                }
                _ => Verification::error(reason),
            })
        }
        _ => None,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The signed JWT (`header.claims.signature`, base64url without padding).
pub fn assertion(key_id: &str, email: &str, pem: &str, issued_at: u64) -> Result<String, String> {
    let der = pkcs8_der(pem)?;
    let key = RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| format!("the private_key is not an RSA PKCS#8 key: {e}"))?;
    let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": key_id });
    let claims = serde_json::json!({
        "iss": email,
        "scope": SCOPE,
        "aud": AUDIENCE,
        "iat": issued_at,
        "exp": issued_at + 600,
    });
    sign_jwt(&key, &header, &claims)
}

/// An RS256 JWT of `header` and `claims` (also GitHub App JWTs, src/github/app.rs).
pub fn sign_jwt(
    key: &RsaKeyPair,
    header: &serde_json::Value,
    claims: &serde_json::Value,
) -> Result<String, String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signing_input = format!(
        "{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string())
    );
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing the assertion failed".to_string())?;
    Ok(format!("{signing_input}.{}", b64.encode(signature)))
}

/// The DER bytes of a `-----BEGIN PRIVATE KEY-----` block, as found in a key
/// file (newlines may still be JSON-escaped as `\n`).
pub fn pkcs8_der(pem: &str) -> Result<Vec<u8>, String> {
    let text = pem.replace("\\n", "\n");
    let start = text
        .find("-----BEGIN PRIVATE KEY-----")
        .ok_or("the private_key has no BEGIN PRIVATE KEY line")?
        + "-----BEGIN PRIVATE KEY-----".len();
    let end = text[start..]
        .find("-----END PRIVATE KEY-----")
        .ok_or("the private_key has no END PRIVATE KEY line")?
        + start;
    let body: String = text[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("the private_key is not valid base64: {e}"))
}
