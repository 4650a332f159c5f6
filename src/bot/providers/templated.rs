//! A revocation that is one templated request (crate::provider::revoke):
//! GitHub's `/credentials/revoke` (batched) and installation-token delete,
//! GitLab's self-revoke, Slack's `auth.revoke`, npm's token delete,
//! SendGrid's key delete (by the id inside the key) and Discord's webhook
//! delete (by the id and token inside the URL).

use super::{exchange, request_id, Provider, RevokeContext, Revoked, Rotated, Target};
use crate::finding::Secret;
use crate::provider::revoke::RevokeRequest;
use crate::provider::template::render;
use crate::verify::endpoint::encode_segment;
use crate::verify::http::{Request, Response};

pub struct Templated {
    pub request: &'static RevokeRequest,
}

impl Templated {
    fn build(&self, base_url: &str, secrets: &[&Secret]) -> Result<Request, String> {
        let first = secrets.first().map(|s| s.expose()).unwrap_or_default();
        let parts = match self.request.parts {
            Some(cut) => {
                cut(first).ok_or("the secret does not have the shape its revocation needs")?
            }
            None => Vec::new(),
        };
        let lookup = |name: &str| {
            if name == "secret" {
                return Some(first.to_string());
            }
            parts
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        };
        let path = render(self.request.path, lookup, encode_segment)?;
        let mut headers = Vec::new();
        for (name, template) in self.request.headers {
            headers.push((name.to_string(), render(template, lookup, str::to_string)?));
        }
        let body = match self.request.json_body {
            Some(template) => {
                let list: Vec<String> = secrets
                    .iter()
                    .map(|s| serde_json::Value::String(s.expose().to_string()).to_string())
                    .collect();
                let joined = list.join(",");
                Some(
                    render(
                        template,
                        |name| (name == "secret").then(|| joined.clone()),
                        str::to_string,
                    )?
                    .into_bytes(),
                )
            }
            None => None,
        };
        Ok(Request {
            method: self.request.method.to_string(),
            url: format!("{base_url}{path}"),
            display: format!("{base_url}{}", self.request.path),
            headers,
            body,
        })
    }

    /// One revoking request for `secrets` (several only in a batch).
    fn send(&self, context: &RevokeContext<'_>, secrets: &[&Secret]) -> Revoked {
        let values: Vec<&str> = secrets.iter().map(|s| s.expose()).collect();
        match self.build(context.base_url, secrets) {
            Ok(request) => match exchange(context.client, &request, &values) {
                Ok(response) => self.read(&response),
                Err(error) => Revoked::Failed { error },
            },
            Err(error) => Revoked::Failed { error },
        }
    }

    fn read(&self, response: &Response) -> Revoked {
        let r = self.request;
        if r.gone.contains(&response.status)
            || r.gone_body.iter().any(|text| response.body.contains(text))
        {
            return Revoked::AlreadyDead;
        }
        if let Some((_, reason)) = r.manual_on.iter().find(|(s, _)| *s == response.status) {
            return Revoked::Manual(reason.to_string());
        }
        let ok_json = r.ok_json_true.is_none_or(|field| {
            response
                .json()
                .and_then(|v| v.get(field).and_then(serde_json::Value::as_bool))
                == Some(true)
        });
        if r.ok.contains(&response.status) && ok_json {
            return Revoked::Accepted {
                request_id: request_id(response),
            };
        }
        let detail = response
            .json()
            .and_then(|v| {
                v.get("message")
                    .or_else(|| v.get("error"))
                    .and_then(|m| m.as_str().map(str::to_string))
            })
            .unwrap_or_default();
        Revoked::Failed {
            error: format!("HTTP {} {detail}", response.status)
                .trim()
                .to_string(),
        }
    }
}

impl Provider for Templated {
    fn plan(&self, base_url: &str) -> Vec<String> {
        vec![format!(
            "{} {base_url}{}",
            self.request.method, self.request.path
        )]
    }

    fn revoke_one(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Revoked {
        self.send(context, &[target.secret])
    }

    /// One request per batch where the provider takes a list (GitHub's
    /// `/credentials/revoke` takes 1,000), each credential sharing its
    /// batch's result.
    fn revoke(&self, context: &RevokeContext<'_>, targets: &[Target<'_>]) -> Vec<Revoked> {
        let secrets: Vec<&Secret> = targets.iter().map(|t| t.secret).collect();
        let size = self.request.batch.unwrap_or(1).max(1);
        let mut out = Vec::with_capacity(secrets.len());
        for chunk in secrets.chunks(size) {
            let result = self.send(context, chunk);
            out.extend(std::iter::repeat_n(result, chunk.len()));
        }
        out
    }

    fn rotate(&self, context: &RevokeContext<'_>, target: &Target<'_>) -> Rotated {
        let Some(rotate) = self.request.rotate else {
            return Rotated::NotSupported;
        };
        let secret = target.secret.expose();
        let lookup = |name: &str| (name == "secret").then(|| secret.to_string());
        let mut headers = Vec::new();
        for (name, template) in rotate.headers {
            match render(template, lookup, str::to_string) {
                Ok(value) => headers.push((name.to_string(), value)),
                Err(error) => return Rotated::Refused { error },
            }
        }
        let request = Request {
            method: rotate.method.to_string(),
            url: format!("{}{}", context.base_url, rotate.path),
            display: format!("{}{}", context.base_url, rotate.path),
            headers,
            body: None,
        };
        // Not even one retry: a second rotate after a lost answer would
        // rotate a revoked token, which GitLab punishes by revoking the family.
        let once = crate::verify::http::Client::new(crate::verify::http::Policy {
            retries: 0,
            ..context.client.policy().clone()
        });
        let response = match exchange(&once, &request, &[secret]) {
            Ok(response) => response,
            Err(error) => return Rotated::Unknown { error },
        };
        if rotate.gone.contains(&response.status) {
            return Rotated::AlreadyDead;
        }
        let json = response.json();
        let field = |name: &str| {
            json.as_ref().and_then(|v| v.get(name)).and_then(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
        };
        match (response.status, field(rotate.new_secret)) {
            (200 | 201, Some(new)) if !new.is_empty() => Rotated::New {
                secret: Secret::new(new),
                id: rotate.new_id.and_then(field),
                revoked_old: rotate.revokes_old,
                companions: Default::default(),
                stored: None,
            },
            (status, _) if status >= 500 || status == 429 => Rotated::Unknown {
                error: format!("HTTP {status}"),
            },
            (status, _) => Rotated::Refused {
                error: format!("HTTP {status}"),
            },
        }
    }

    fn idempotent(&self) -> bool {
        self.request.idempotent
    }

    fn after(&self) -> &str {
        self.request.after
    }

    fn docs(&self) -> &str {
        self.request.docs
    }
}
