//! AWS IAM: a leaked long-term access key is deactivated with
//! `UpdateAccessKey Status=Inactive` for the IAM user STS named when the key
//! was verified, signed (SigV4, the signer of crate::verify::aws) with the
//! admin credentials whose environment variables the policy names
//! (`[credentials.aws] access_key_id`, `secret_access_key`, optional
//! `session_token`). Deactivating is reversible and idempotent (setting
//! Inactive twice succeeds); a deleted key answers 404 `NoSuchEntity`, which
//! means there is nothing left to revoke. The STS check then confirms the key
//! is dead (`InvalidClientTokenId`). After the policy's grace period
//! [`Provider::finish`] deletes it with `DeleteAccessKey`; deleting a gone
//! key answers `NoSuchEntity` again, so a retried delete is done, not failed.

use super::{exchange, Provider, RevokeContext, Revoked, Rotated, Target};
use crate::finding::Secret;
use crate::verify::aws::xml_field;
use crate::verify::endpoint::encode_segment;
use std::collections::BTreeMap;

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
    /// One IAM Query call (`Action=…&…&Version=…`), SigV4-signed with the
    /// policy's admin credentials; the answer, or why there is none.
    fn iam(
        &self,
        context: &RevokeContext<'_>,
        params: &[(&str, &str)],
    ) -> Result<crate::verify::http::Response, Revoked> {
        let admin = context
            .credentials
            .and_then(|c| Some((c.get("access_key_id")?, c.get("secret_access_key")?, c)));
        let Some((admin_id, admin_secret, credentials)) = admin else {
            return Err(Revoked::Manual(
                "no AWS admin credentials: name them in the policy ([credentials.aws] access_key_id, \
                 secret_access_key) and set those environment variables, or deactivate the key in the IAM console"
                    .into(),
            ));
        };
        let mut body = String::new();
        for (name, value) in params {
            body.push_str(&format!("{name}={}&", encode_segment(value)));
        }
        body.push_str(&format!("Version={VERSION}"));
        let action = params.first().map(|(_, a)| *a).unwrap_or_default();
        let request = crate::bot::sigv4::request(crate::bot::sigv4::Post {
            base_url: context.base_url,
            content_type: "application/x-www-form-urlencoded; charset=utf-8",
            target: None,
            body: body.into_bytes(),
            region: "us-east-1",
            service: "iam",
            key_id: admin_id.expose(),
            secret_key: admin_secret.expose(),
            session_token: credentials.get("session_token").map(Secret::expose),
            label: &format!("iam:{action}"),
        })
        .map_err(|error| Revoked::Failed { error })?;
        exchange(context.client, &request, &[admin_secret.expose()])
            .map_err(|error| Revoked::Failed { error })
    }

    /// `UpdateAccessKey Status=Inactive` (reversible) or `DeleteAccessKey`
    /// (for good) of the leaked key, for the user STS named; NoSuchEntity
    /// means the key is already gone.
    fn key_action(
        &self,
        context: &RevokeContext<'_>,
        target: &Target<'_>,
        delete: bool,
    ) -> Revoked {
        let Some(user) = target.owner.and_then(user_of) else {
            return Revoked::Manual(
                "the key's IAM user is unknown (verification named no user ARN): deactivate, then delete it in \
                 the IAM console"
                    .into(),
            );
        };
        let key_id = target.secret.expose();
        let params: &[(&str, &str)] = if delete {
            &[
                ("Action", "DeleteAccessKey"),
                ("AccessKeyId", key_id),
                ("UserName", user),
            ]
        } else {
            &[
                ("Action", "UpdateAccessKey"),
                ("AccessKeyId", key_id),
                ("Status", "Inactive"),
                ("UserName", user),
            ]
        };
        match self.iam(context, params) {
            Ok(response) if response.status == 200 => Revoked::Accepted {
                request_id: xml_field(&response.body, "RequestId"),
            },
            Ok(response) => match iam_error(&response) {
                (_, true) => Revoked::AlreadyDead,
                (error, false) => Revoked::Failed { error },
            },
            Err(revoked) => revoked,
        }
    }

    /// The user's access key ids (ListAccessKeys; a user has at most two).
    fn keys(&self, context: &RevokeContext<'_>, user: &str) -> Result<Vec<String>, Revoked> {
        let response = self.iam(context, &[("Action", "ListAccessKeys"), ("UserName", user)])?;
        if response.status != 200 {
            return Err(Revoked::Failed {
                error: iam_error(&response).0,
            });
        }
        Ok(response
            .body
            .split("<AccessKeyId>")
            .skip(1)
            .filter_map(|rest| rest.split("</AccessKeyId>").next())
            .map(str::to_string)
            .collect())
    }
}

/// An IAM error answer: its text, and whether it is `NoSuchEntity` (gone).
fn iam_error(response: &crate::verify::http::Response) -> (String, bool) {
    let code = xml_field(&response.body, "Code").unwrap_or_default();
    let message = xml_field(&response.body, "Message").unwrap_or_default();
    (
        format!("HTTP {} {code}: {message}", response.status),
        code == "NoSuchEntity",
    )
}

fn rotated_error(revoked: Revoked) -> Rotated {
    match revoked {
        Revoked::Manual(reason) => Rotated::Manual(reason),
        Revoked::Failed { error } => Rotated::Refused { error },
        _ => Rotated::Refused {
            error: "unexpected answer".into(),
        },
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

    fn revoke_one(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Revoked {
        self.key_action(context, target, false)
    }

    fn finish_plan(&self, base_url: &str) -> Vec<String> {
        vec![format!(
            "POST {base_url}/ (iam:DeleteAccessKey, signed with the policy's admin credentials)"
        )]
    }

    /// `DeleteAccessKey` of the deactivated key; deleting again answers 404
    /// `NoSuchEntity`, read as already gone.
    fn finish(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Option<Revoked> {
        Some(self.key_action(context, target, true))
    }

    /// Rotation: ListAccessKeys (a user may hold two keys: with two, a human
    /// decides which goes), CreateAccessKey, and the new pair back for the
    /// bot to test and store. The secret half exists only in this answer.
    fn rotate(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Rotated {
        let Some(user) = target.owner.and_then(user_of) else {
            return Rotated::Manual(
                "the key's IAM user is unknown: rotate it in the IAM console".into(),
            );
        };
        let keys = match self.keys(context, user) {
            Ok(keys) => keys,
            Err(revoked) => return rotated_error(revoked),
        };
        if keys.len() >= 2 {
            // Never name the leaked key id: it is the secret's public half.
            let leaked = target.secret.expose();
            let others: Vec<&str> = keys
                .iter()
                .map(String::as_str)
                .filter(|k| *k != leaked)
                .collect();
            return Rotated::Manual(format!(
                "IAM user {user} already has two access keys (the leaked one and {}), the most AWS allows: \
                 delete the one that is not in use (aws iam delete-access-key), then run the bot again to rotate",
                others.join(", ")
            ));
        }
        let response = match self.iam(
            context,
            &[("Action", "CreateAccessKey"), ("UserName", user)],
        ) {
            Ok(response) => response,
            Err(Revoked::Failed { error }) => return Rotated::Unknown { error },
            Err(revoked) => return rotated_error(revoked),
        };
        if response.status != 200 {
            let error = iam_error(&response).0;
            return if response.status >= 500 {
                Rotated::Unknown { error }
            } else {
                Rotated::Refused { error }
            };
        }
        let (Some(id), Some(secret)) = (
            xml_field(&response.body, "AccessKeyId"),
            xml_field(&response.body, "SecretAccessKey"),
        ) else {
            return Rotated::Unknown {
                error: "CreateAccessKey answered without a key".into(),
            };
        };
        let stored =
            serde_json::json!({"access_key_id": id, "secret_access_key": secret}).to_string();
        Rotated::New {
            secret: Secret::new(id.clone()),
            id: Some(id),
            revoked_old: false,
            companions: BTreeMap::from([("secret_key".to_string(), Secret::new(secret))]),
            stored: Some(Secret::new(stored)),
        }
    }

    /// `GetAccessKeyLastUsed`: `last_used=<date> (<service>, <region>)`,
    /// or `last_used=never`.
    fn last_used(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Option<String> {
        let params = [
            ("Action", "GetAccessKeyLastUsed"),
            ("AccessKeyId", target.secret.expose()),
        ];
        let response = self.iam(context, &params).ok()?;
        if response.status != 200 {
            return None;
        }
        let Some(date) = xml_field(&response.body, "LastUsedDate") else {
            return Some("last_used=never".into());
        };
        let service = xml_field(&response.body, "ServiceName").unwrap_or_default();
        let region = xml_field(&response.body, "Region").unwrap_or_default();
        Some(format!("last_used={date} ({service}, {region})"))
    }

    /// After a run died during CreateAccessKey: a key besides the leaked one
    /// means it landed (its secret is lost: a human deletes it); none means
    /// it did not, and creating one now is safe.
    fn reconcile_rotation(
        &self,
        context: &RevokeContext<'_>,
        target: &Target<'_>,
    ) -> Result<(), String> {
        let user = target
            .owner
            .and_then(user_of)
            .ok_or("the key's IAM user is unknown: check its keys in the IAM console")?;
        let keys = self.keys(context, user).map_err(|revoked| match revoked {
            Revoked::Manual(reason) => reason,
            Revoked::Failed { error } => {
                format!("ListAccessKeys failed ({error}); check the user's keys by hand")
            }
            _ => "ListAccessKeys failed".to_string(),
        })?;
        let leaked = target.secret.expose();
        let others: Vec<&String> = keys.iter().filter(|k| *k != leaked).collect();
        if others.is_empty() {
            return Ok(());
        }
        Err(format!(
            "an interrupted rotation created access key {} for {user}, whose secret was never stored: delete it \
             (aws iam delete-access-key), then run the bot again; no second key was created",
            others.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
        ))
    }

    fn idempotent(&self) -> bool {
        true
    }

    fn after(&self) -> &str {
        "The key is deactivated at once and deleted by the bot (iam:DeleteAccessKey, as aws iam delete-access-key) \
         once the policy's grace period has passed; until then aws iam update-access-key --status Active switches \
         it back on if something still needs it. Roll out a replacement (aws iam create-access-key, unless the bot \
         rotated it) and review CloudTrail for its use."
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
