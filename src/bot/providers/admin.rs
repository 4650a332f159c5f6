//! What the admin-API providers share: reading the admin credentials the
//! policy names, one JSON call through the verification client, finding a
//! leaked key among a listing by the redacted form the provider shows
//! (`sk-abc...wxyz`), and reading an error answer without echoing it.

use super::{exchange, request_id, RevokeContext, Revoked};
use crate::finding::Secret;
use crate::verify::http::{Request, Response};

/// The named admin credentials, or why the bot cannot act without them.
pub fn credentials<'a>(
    context: &RevokeContext<'a>,
    provider: &str,
    names: &[&str],
    by_hand: &str,
) -> Result<Vec<&'a Secret>, Revoked> {
    let found: Option<Vec<&Secret>> = names
        .iter()
        .map(|name| context.credentials.and_then(|c| c.get(*name)))
        .collect();
    found.ok_or_else(|| {
        let keys = names.join(", ");
        Revoked::Manual(format!(
            "no {provider} admin credentials: name them in the policy ([credentials.{provider}] {keys}) \
             and set those environment variables, or {by_hand}"
        ))
    })
}

/// One call: `path` is appended to the base URL; `display` is what the
/// plan and errors show (no secret in it). `secrets` are scrubbed from errors.
pub fn call(
    context: &RevokeContext<'_>,
    method: &str,
    path: &str,
    headers: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    secrets: &[&str],
) -> Result<Response, String> {
    let mut headers = headers;
    if body.is_some() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let display = path.split('?').next().unwrap_or(path);
    let request = Request {
        method: method.into(),
        url: format!("{}{path}", context.base_url),
        display: format!("{}{display}", context.base_url),
        headers,
        body: body.map(|b| b.to_string().into_bytes()),
    };
    exchange(context.client, &request, secrets)
}

/// Whether a redacted form the provider lists (`sk-proj-abc...wxyz`,
/// `sk-ant-api03-R2D...igAA`) is this key: its visible head and tail match.
pub fn matches_redacted(secret: &str, redacted: &str) -> bool {
    let Some((head, tail)) = redacted
        .split_once("...")
        .or_else(|| redacted.split_once('…'))
    else {
        return false;
    };
    let head = head.trim_end_matches('*');
    let tail = tail.trim_start_matches('*');
    !head.is_empty()
        && !tail.is_empty()
        && head.len() + tail.len() < secret.len()
        && secret.starts_with(head)
        && secret.ends_with(tail)
}

/// The provider's refusal, with its own message where it gives one (the
/// message is scrubbed of the secrets; providers quote keys in errors).
pub fn refusal(response: &Response, secrets: &[&str]) -> String {
    let message = response
        .json()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("message"))
                .or_else(|| v.pointer("/errors/0"))
                .or_else(|| v.get("error"))
                .and_then(|m| m.as_str().map(str::to_string))
        })
        .unwrap_or_default();
    let mut message = message.chars().take(200).collect::<String>();
    for secret in secrets {
        if !secret.is_empty() {
            message = message.replace(secret, "[redacted]");
        }
    }
    format!("HTTP {} {message}", response.status)
        .trim()
        .to_string()
}

/// What a revoking request's answer means: one of `ok` is accepted, 404
/// says the key is already gone, anything else is a refusal (its message
/// scrubbed of `secrets`).
pub fn revoked(answer: Result<Response, String>, ok: &[u16], secrets: &[&str]) -> Revoked {
    match answer {
        Ok(r) if ok.contains(&r.status) => accepted(&r),
        Ok(r) if r.status == 404 => Revoked::AlreadyDead,
        Ok(r) => Revoked::Failed {
            error: refusal(&r, secrets),
        },
        Err(error) => Revoked::Failed { error },
    }
}

/// An accepted revocation, with the provider's request id.
pub fn accepted(response: &Response) -> Revoked {
    Revoked::Accepted {
        request_id: request_id(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_form_matches_only_its_key() {
        let key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123";
        assert!(matches_redacted(key, "sk-proj-abc...0123"));
        assert!(matches_redacted(key, "sk-proj-abc***...0123"));
        assert!(!matches_redacted(key, "sk-proj-abd...0123"));
        assert!(!matches_redacted(key, "sk-proj-abc...0124"));
        assert!(!matches_redacted(key, "no dots"));
        assert!(!matches_redacted("sk-ab", "sk-a...b"));
    }
}
