//! One SigV4-signed `POST /` to an AWS endpoint, shared by IAM's Query
//! protocol (providers::aws) and the JSON 1.1 secret stores (stores::aws):
//! the headers both sign (content type, host, date, the JSON target and the
//! session token where there is one), the signature of crate::verify::aws,
//! and the request the verification client then sends. One place, so the
//! two cannot drift apart in what they sign.

use crate::verify::aws::{amz_date, authorization, Signing};
use crate::verify::endpoint;
use crate::verify::http::Request;
use std::time::SystemTime;

/// What to sign and with which credentials.
pub struct Post<'a> {
    pub base_url: &'a str,
    pub content_type: &'a str,
    /// `X-Amz-Target` of a JSON 1.1 API (`secretsmanager.PutSecretValue`);
    /// None for the Query protocol.
    pub target: Option<&'a str>,
    pub body: Vec<u8>,
    pub region: &'a str,
    pub service: &'a str,
    pub key_id: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<&'a str>,
    /// The operation, shown after the URL in plans and errors (never a secret).
    pub label: &'a str,
}

/// The signed request, or why there is none (a base URL without a host).
pub fn request(post: Post<'_>) -> Result<Request, String> {
    let authority = endpoint::parse(post.base_url)
        .and_then(|url| {
            let host = url.host_str()?.to_string();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .ok_or_else(|| format!("the AWS address {} has no host", post.base_url))?;
    let date = amz_date(SystemTime::now());
    let mut headers = vec![
        ("content-type".to_string(), post.content_type.to_string()),
        ("host".to_string(), authority),
        ("x-amz-date".to_string(), date.clone()),
    ];
    if let Some(target) = post.target {
        headers.push(("x-amz-target".into(), target.to_string()));
    }
    if let Some(token) = post.session_token {
        headers.push(("x-amz-security-token".into(), token.to_string()));
    }
    let signature = authorization(
        &Signing {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: &post.body,
            region: post.region,
            service: post.service,
            amz_date: &date,
        },
        post.key_id,
        post.secret_key,
    );
    // The client sets Host itself; it is signed, not sent twice.
    headers.retain(|(name, _)| name != "host");
    headers.push(("authorization".into(), signature));
    Ok(Request {
        method: "POST".into(),
        url: format!("{}/", post.base_url),
        display: format!("{}/ ({})", post.base_url, post.label),
        headers,
        body: Some(post.body),
    })
}
