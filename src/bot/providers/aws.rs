//! AWS IAM: a leaked long-term access key is deactivated with
//! `UpdateAccessKey Status=Inactive` for the IAM user STS named when the key
//! was verified, signed (SigV4, the signer of crate::verify::aws) with the
//! admin credentials whose environment variables the policy names
//! (`[credentials.aws] access_key_id`, `secret_access_key`, optional
//! `session_token`). Deactivating is reversible and idempotent (setting
//! Inactive twice succeeds); a deleted key answers 404 `NoSuchEntity`, which
//! means there is nothing left to revoke. The STS check then confirms the key
//! is dead (`InvalidClientTokenId`).

use super::{exchange, Provider, RevokeContext, Revoked, Target};
use crate::verify::aws::{amz_date, authorization, xml_field, Signing};
use crate::verify::endpoint::{self, encode_segment};
use crate::verify::http::Request;
use std::time::SystemTime;

pub struct AwsIam;

const VERSION: &str = "2010-05-08";

/// The IAM user name in an ARN (`arn:aws:iam::123:user/path/alice` → `alice`).
fn user_of(owner: &str) -> Option<&str> {
    let arn = owner
        .split(", ")
        .find_map(|part| part.strip_prefix("arn="))?;
    let resource = arn.split(':').nth(5)?;
    let path = resource.strip_prefix("user/")?;
    path.rsplit('/').next().filter(|name| !name.is_empty())
}

impl AwsIam {
    fn deactivate(&self, context: &RevokeContext<'_>, key_id: &str, user: &str) -> Revoked {
        let admin = context
            .credentials
            .and_then(|c| Some((c.get("access_key_id")?, c.get("secret_access_key")?, c)));
        let Some((admin_id, admin_secret, credentials)) = admin else {
            return Revoked::Manual(
                "no AWS admin credentials: name them in the policy ([credentials.aws] access_key_id, \
                 secret_access_key) and set those environment variables, or deactivate the key in the IAM console"
                    .into(),
            );
        };
        let Some(authority) = endpoint::parse(context.base_url).and_then(|url| {
            let host = url.host_str()?.to_string();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        }) else {
            return Revoked::Failed {
                error: "the IAM base URL has no host".into(),
            };
        };
        let body = format!(
            "Action=UpdateAccessKey&AccessKeyId={}&Status=Inactive&UserName={}&Version={VERSION}",
            encode_segment(key_id),
            encode_segment(user)
        );
        let date = amz_date(SystemTime::now());
        let mut headers = vec![
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            ),
            ("host".to_string(), authority.to_string()),
            ("x-amz-date".to_string(), date.clone()),
        ];
        if let Some(token) = credentials.get("session_token") {
            headers.push(("x-amz-security-token".into(), token.expose().to_string()));
        }
        let signature = authorization(
            &Signing {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                body: body.as_bytes(),
                region: "us-east-1",
                service: "iam",
                amz_date: &date,
            },
            admin_id.expose(),
            admin_secret.expose(),
        );
        headers.retain(|(name, _)| name != "host");
        headers.push(("authorization".into(), signature));
        let request = Request {
            method: "POST".into(),
            url: format!("{}/", context.base_url),
            display: format!("{}/ (iam:UpdateAccessKey)", context.base_url),
            headers,
            body: Some(body.into_bytes()),
        };
        match exchange(context.client, &request, &[admin_secret.expose()]) {
            Ok(response) if response.status == 200 => Revoked::Accepted {
                request_id: xml_field(&response.body, "RequestId"),
            },
            Ok(response) => {
                let code = xml_field(&response.body, "Code").unwrap_or_default();
                if code == "NoSuchEntity" {
                    return Revoked::AlreadyDead;
                }
                let message = xml_field(&response.body, "Message").unwrap_or_default();
                Revoked::Failed {
                    error: format!("HTTP {} {code}: {message}", response.status),
                }
            }
            Err(error) => Revoked::Failed { error },
        }
    }
}

impl Provider for AwsIam {
    fn endpoint(&self) -> Option<(&'static str, &'static str)> {
        Some(("aws-iam", "https://iam.amazonaws.com"))
    }

    fn plan(&self, base_url: &str) -> Vec<String> {
        vec![format!(
            "POST {base_url}/ (iam:UpdateAccessKey Status=Inactive, signed with the policy's admin credentials)"
        )]
    }

    fn revoke(&self, context: &RevokeContext<'_>, targets: &[Target<'_>]) -> Vec<Revoked> {
        targets
            .iter()
            .map(|target| match target.owner.and_then(user_of) {
                Some(user) => self.deactivate(context, target.secret.expose(), user),
                None => Revoked::Manual(
                    "the key's IAM user is unknown (verification named no user ARN): deactivate it in the IAM console".into(),
                ),
            })
            .collect()
    }

    fn idempotent(&self) -> bool {
        true
    }

    fn after(&self) -> &str {
        "The key is deactivated, not deleted: create a replacement (aws iam create-access-key), roll it out, \
         then delete the leaked key (aws iam delete-access-key) after the grace period; review CloudTrail for its use."
    }

    fn docs(&self) -> &str {
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_comes_from_the_arn() {
        assert_eq!(
            user_of("account=123, arn=arn:aws:iam::123456789012:user/ops/alice, user_id=AIDA"),
            Some("alice")
        );
        assert_eq!(user_of("arn=arn:aws:iam::1:user/bob"), Some("bob"));
        assert_eq!(user_of("arn=arn:aws:sts::1:assumed-role/r/s"), None);
        assert_eq!(user_of("login=octocat"), None);
    }
}
