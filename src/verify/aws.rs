//! AWS: `sts:GetCallerIdentity`, signed with Signature Version 4 using the
//! key id and secret found together. It needs no permissions and changes
//! nothing. Key ids that belong to public canary-token services are skipped
//! unless asked for: checking one is exactly what trips its alarm.

use super::http::{Request, Response};
use super::{Context, Credential, Status, Verification, Verifier};
use ring::digest::{digest, SHA256};
use ring::hmac;
use std::time::SystemTime;
use url::Position;

const REGION: &str = "us-east-1";
const SERVICE: &str = "sts";
const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// AWS accounts that issue canarytokens.org AWS keys (public knowledge:
/// the accounts Thinkst's canary-token service creates its users in).
pub const CANARY_ACCOUNTS: &[&str] = &[
    "052310077262",
    "171436882533",
    "266735846894",
    "534261010715",
    "595918472158",
    "717712589309",
    "730335385048",
    "819147034852",
    "992382622183",
];

pub struct AwsSts;

impl Verifier for AwsSts {
    fn verify(&self, credential: &Credential, context: &Context<'_>) -> Verification {
        let (Some(key_id), Some(secret)) = (credential.get("key_id"), credential.get("secret_key"))
        else {
            return Verification::with_reason(
                Status::Skipped,
                "the check needs both the access key id and its secret access key",
            );
        };
        if !context.verify_canaries {
            if let Some(account) =
                account_id(key_id).filter(|a| CANARY_ACCOUNTS.contains(&a.as_str()))
            {
                return Verification::with_reason(
                    Status::Skipped,
                    format!(
                        "the key id belongs to AWS account {account}, used by a canary-token service: \
                         verifying it would trigger the canary's alarm (set verify.canaries = true to check it anyway)"
                    ),
                );
            }
        }
        // The signed `host` header must be what goes on the wire: sign and
        // send the URL as the parser normalised it.
        let Some(url) = super::endpoint::parse(context.base_url) else {
            return Verification::error("the STS base URL has no host");
        };
        let authority = url[Position::BeforeHost..Position::AfterPort].to_string();
        let base_url = url[..Position::AfterPath].trim_end_matches('/').to_string();
        let amz_date = amz_date(SystemTime::now());
        let mut headers = vec![
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            ),
            ("host".to_string(), authority),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        if let Some(token) = credential.get("session_token") {
            headers.push(("x-amz-security-token".to_string(), token.to_string()));
        }
        let authorization = authorization(
            &Signing {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                body: BODY.as_bytes(),
                region: REGION,
                service: SERVICE,
                amz_date: &amz_date,
            },
            key_id,
            secret,
        );
        headers.retain(|(name, _)| name != "host");
        headers.push(("authorization".to_string(), authorization));
        let request = Request {
            method: "POST".into(),
            url: format!("{base_url}/"),
            display: format!("{base_url}/ (sts:GetCallerIdentity)"),
            headers,
            body: Some(BODY.as_bytes().to_vec()),
        };
        context
            .client
            .send(&request, &credential.values(), &classify)
    }
}

/// Reads STS's XML answer.
fn classify(response: &Response) -> Option<Verification> {
    let body = &response.body;
    if response.status == 200 {
        let arn = xml_field(body, "Arn")?;
        let mut result = Verification::new(Status::Live, None);
        result.owner.insert("arn".into(), arn);
        for (tag, key) in [("Account", "account"), ("UserId", "user_id")] {
            if let Some(value) = xml_field(body, tag) {
                result.owner.insert(key.into(), value);
            }
        }
        return Some(result);
    }
    let code = xml_field(body, "Code")?;
    let message = xml_field(body, "Message").unwrap_or_default();
    let reason = format!("{code}: {message}");
    Some(match code.as_str() {
        "InvalidClientTokenId" => Verification::with_reason(Status::Invalid, reason),
        "SignatureDoesNotMatch" => Verification::with_reason(
            Status::Invalid,
            format!("the secret does not belong to this key id ({reason})"),
        ),
        "ExpiredToken" => Verification::with_reason(Status::Revoked, reason),
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
            Verification::with_reason(Status::RateLimited, reason)
        }
        _ => Verification::error(reason),
    })
}

/// The text of the first `<tag>…</tag>` (STS answers are small, flat XML).
fn xml_field(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].trim().to_string())
}

/// The AWS account a key id belongs to, decoded from the id itself (keys
/// created since 2019 carry it: base32 after the 4-letter prefix, bits 7..47).
pub fn account_id(key_id: &str) -> Option<String> {
    let body = key_id.get(4..)?;
    let mut bits: u128 = 0;
    let mut count = 0;
    for c in body.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        bits = (bits << 5) | u128::from(value);
        count += 5;
    }
    if count != 80 {
        return None;
    }
    let first_six = (bits >> 32) as u64;
    let account = (first_six & 0x7fff_ffff_ff80) >> 7;
    Some(format!("{account:012}"))
}

/// A request to sign.
pub struct Signing<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Lowercase names; all of them are signed.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub region: &'a str,
    pub service: &'a str,
    pub amz_date: &'a str,
}

/// The SigV4 `Authorization` header value.
pub fn authorization(request: &Signing<'_>, key_id: &str, secret: &str) -> String {
    let mut headers: Vec<&(String, String)> = request.headers.iter().collect();
    headers.sort();
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{}\n", value.trim()))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        request.path,
        request.query,
        canonical_headers,
        signed_headers,
        hex(digest(&SHA256, request.body).as_ref())
    );
    let date = &request.amz_date[..8.min(request.amz_date.len())];
    let scope = format!("{date}/{}/{}/aws4_request", request.region, request.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        request.amz_date,
        hex(digest(&SHA256, canonical_request.as_bytes()).as_ref())
    );
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [date, request.region, request.service, "aws4_request"] {
        key = mac(&key, part.as_bytes());
    }
    let signature = hex(&mac(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYYMMDDTHHMMSSZ` in UTC (ISO 8601 basic format, as SigV4 wants it).
pub fn amz_date(time: SystemTime) -> String {
    let at = jiff::Timestamp::try_from(time).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// The `get-vanilla` case of AWS's Signature Version 4 test suite.
    #[test]
    fn sigv4_test_suite_get_vanilla() {
        let headers = vec![
            ("host".to_string(), "example.amazonaws.com".to_string()),
            ("x-amz-date".to_string(), "20150830T123600Z".to_string()),
        ];
        let value = authorization(
            &Signing {
                method: "GET",
                path: "/",
                query: "",
                headers: &headers,
                body: b"",
                region: "us-east-1",
                service: "service",
                amz_date: "20150830T123600Z",
            },
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        );
        assert_eq!(
            value,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            amz_date(UNIX_EPOCH + Duration::from_secs(1_440_938_160)),
            "20150830T123600Z"
        );
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(
            amz_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229T000000Z"
        );
    }

    #[test]
    fn account_from_key_id() {
        // A published example key id (not a credential) and its account.
        let example = "ASIAQNZGKIQY56JQ7WML"; // leakstop:allow
        assert_eq!(account_id(example).as_deref(), Some("029608264753"));
        assert_eq!(account_id("AKIA1"), None);
    }

    #[test]
    fn reads_sts_answers() {
        let ok = Response {
            status: 200,
            headers: vec![],
            body: "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/Alice</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>".into(),
        };
        let v = classify(&ok).unwrap();
        assert_eq!(v.status, Status::Live);
        assert_eq!(v.owner["account"], "123456789012");
        let bad = Response {
            status: 403,
            headers: vec![],
            body: "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>".into(),
        };
        assert_eq!(classify(&bad).unwrap().status, Status::Invalid);
    }
}
