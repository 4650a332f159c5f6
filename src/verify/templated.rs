//! The data-driven check: a rule's `request` (crate::provider) is filled in,
//! sent, and its answer read by the rule's `responses` (docs/rules.md,
//! "Verification"). A rule whose provider needs more than one templated
//! request names a built-in verifier with `kind` instead.

use super::endpoint::encode_segment;
use super::http::{Request, Response};
use super::{Context, Credential, Status, Verification, Verifier};
use crate::provider::template::render;
use crate::provider::{HttpCheck, Outcome, ResponseRule};
use base64::Engine as _;

impl HttpCheck {
    /// Builds the request for `credential` against `base_url`.
    pub fn build_request(
        &self,
        credential: &Credential,
        base_url: &str,
    ) -> Result<Request, String> {
        let request = &self.request;
        let lookup = |name: &str| credential.get(name).map(str::to_string);
        let url = render(
            &format!("{base_url}{}", request.path),
            lookup,
            encode_segment,
        )?;
        let display = format!("{base_url}{}", request.path);
        let mut headers = Vec::new();
        for (name, template) in &request.headers {
            headers.push((name.clone(), render(template, lookup, str::to_string)?));
        }
        if let Some([user, password]) = &request.basic_auth {
            let pair = format!(
                "{}:{}",
                render(user, lookup, str::to_string)?,
                render(password, lookup, str::to_string)?
            );
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            headers.push(("Authorization".into(), format!("Basic {encoded}")));
        }
        let mut body = None;
        if let Some(json) = &request.json_body {
            let filled = fill_json(json, &lookup)?;
            headers.push(("Content-Type".into(), "application/json".into()));
            body = Some(serde_json::to_vec(&filled).map_err(|e| e.to_string())?);
        } else if let Some(form) = &request.form_body {
            let mut pairs = form_urlencoded::Serializer::new(String::new());
            for (key, template) in form {
                pairs.append_pair(key, &render(template, lookup, str::to_string)?);
            }
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            body = Some(pairs.finish().into_bytes());
        }
        Ok(Request {
            method: request.method.to_ascii_uppercase(),
            url,
            display,
            headers,
            body,
        })
    }

    /// Reads a response by the first matching `responses` rule.
    pub fn classify(&self, response: &Response) -> Option<Verification> {
        let json = response.json();
        let rule = self
            .responses
            .iter()
            .find(|rule| rule_matches(rule, response, json.as_ref()))?;
        let status = match rule.result {
            Outcome::Live => Status::Live,
            Outcome::Invalid => Status::Invalid,
            Outcome::Revoked => Status::Revoked,
            Outcome::RateLimited => Status::RateLimited,
        };
        let mut result = Verification::new(status, rule.reason.clone());
        if status != Status::Live {
            if result.reason.is_none() {
                result.reason = Some(format!("HTTP {}", response.status));
            }
            return Some(result);
        }
        for path in &self.owner {
            if let Some(value) = json.as_ref().and_then(|j| lookup(j, path)).and_then(scalar) {
                result.owner.insert(path.clone(), value);
            }
        }
        if let Some(value) = self
            .owner_header
            .as_deref()
            .and_then(|h| response.header(h))
        {
            result.owner.insert(
                self.owner_header.clone().unwrap_or_default(),
                value.to_string(),
            );
        }
        if let Some(value) = self
            .scopes_header
            .as_deref()
            .and_then(|h| response.header(h))
        {
            result.scopes = value
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if let Some(value) = self
            .scopes_json
            .as_deref()
            .and_then(|p| lookup(json.as_ref()?, p))
        {
            result.scopes = match value {
                serde_json::Value::Array(items) => items.iter().filter_map(scalar).collect(),
                other => scalar(other).into_iter().collect(),
            };
        }
        result.expires_at = self
            .expiry_header
            .as_deref()
            .and_then(|h| response.header(h))
            .map(str::to_string)
            .or_else(|| {
                self.expiry_json
                    .as_deref()
                    .and_then(|p| lookup(json.as_ref()?, p))
                    .and_then(scalar)
            });
        Some(result)
    }
}

/// The data-driven verifier: one templated request.
pub struct HttpVerifier<'a> {
    pub check: &'a HttpCheck,
}

impl Verifier for HttpVerifier<'_> {
    fn verify(&self, credential: &Credential, context: &Context<'_>) -> Verification {
        let request = match self.check.build_request(credential, context.base_url) {
            Ok(request) => request,
            Err(e) => return Verification::error(format!("building the request: {e}")),
        };
        if let Err(e) = super::endpoint::check("request", &request.url) {
            return Verification::error(e.reason);
        }
        // Companions the rule names as owner names (a username) are not
        // secret: a response may show them.
        let secrets: Vec<&str> = credential
            .parts
            .iter()
            .filter(|(name, _)| !self.check.owner_companions.contains(name))
            .map(|(_, value)| value.expose())
            .collect();
        let mut result = context
            .client
            .send(&request, &secrets, &|r| self.check.classify(r));
        if result.status == Status::Live {
            for name in &self.check.owner_companions {
                if let Some(value) = credential.get(name) {
                    result.owner.insert(name.clone(), value.to_string());
                }
            }
        }
        result
    }
}

fn rule_matches(
    rule: &ResponseRule,
    response: &Response,
    json: Option<&serde_json::Value>,
) -> bool {
    if !rule.status.contains(&response.status) {
        return false;
    }
    if let Some(header) = &rule.header {
        if response.header(header).is_none_or(str::is_empty) {
            return false;
        }
    }
    let field = match &rule.json {
        Some(path) => match json.and_then(|j| lookup(j, path)) {
            Some(value) if present(value) => Some(value),
            _ => return false,
        },
        None => None,
    };
    if let (Some(expected), Some(value)) = (&rule.equals, field) {
        if value != expected {
            return false;
        }
    }
    if let Some(needle) = &rule.contains {
        let haystack = match field {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => response.body.clone(),
        };
        if !haystack.to_lowercase().contains(&needle.to_lowercase()) {
            return false;
        }
    }
    true
}

/// Follows a dotted path; numeric parts index arrays (`orgs.0.name`).
pub fn lookup<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.')
        .try_fold(value, |current, part| match current {
            serde_json::Value::Object(map) => map.get(part),
            serde_json::Value::Array(items) => items.get(part.parse::<usize>().ok()?),
            _ => None,
        })
}

fn present(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => false,
        serde_json::Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// A JSON scalar as text (objects and arrays are not owner names).
pub fn scalar(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn fill_json(
    value: &serde_json::Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<serde_json::Value, String> {
    Ok(match value {
        serde_json::Value::String(template) => {
            serde_json::Value::String(render(template, lookup, str::to_string)?)
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|item| fill_json(item, lookup))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, item) in map {
                out.insert(key.clone(), fill_json(item, lookup)?);
            }
            serde_json::Value::Object(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> HttpCheck {
        let spec: crate::provider::VerifySpec = toml::from_str(text).expect("spec parses");
        match spec.check {
            crate::provider::Check::Request(check) => *check,
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn classify_reads_owner_scopes_and_expiry() {
        let s = spec(
            r#"
request = { path = "/user", headers = { Authorization = "Bearer {secret}" } }
owner = ["login", "orgs.0.name"]
scopes_header = "x-oauth-scopes"
expiry_json = "exp"
responses = [
  { status = [200], json = "login", result = "live" },
  { status = [401], result = "invalid" },
]
"#,
        );
        let response = Response {
            status: 200,
            headers: vec![("x-oauth-scopes".into(), "repo, gist".into())],
            body: r#"{"login":"octocat","orgs":[{"name":"acme"}],"exp":"2030-01-01"}"#.into(),
        };
        let v = s.classify(&response).unwrap();
        assert_eq!(v.status, Status::Live);
        assert_eq!(v.owner["login"], "octocat");
        assert_eq!(v.owner["orgs.0.name"], "acme");
        assert_eq!(v.scopes, vec!["repo", "gist"]);
        assert_eq!(v.expires_at.as_deref(), Some("2030-01-01"));
        // 200 without the identity field is not live.
        let empty = Response {
            status: 200,
            headers: vec![],
            body: "{}".into(),
        };
        assert!(s.classify(&empty).is_none());
        let denied = Response {
            status: 401,
            headers: vec![],
            body: String::new(),
        };
        assert_eq!(s.classify(&denied).unwrap().status, Status::Invalid);
    }

    #[test]
    fn equals_and_contains() {
        let s = spec(
            r#"
request = { method = "POST", path = "/api/auth.test" }
responses = [
  { status = [200], json = "ok", equals = true, result = "live" },
  { status = [200], json = "error", contains = "revoked", result = "revoked" },
  { status = [200], json = "error", result = "invalid" },
]
"#,
        );
        let r = |body: &str| Response {
            status: 200,
            headers: vec![],
            body: body.into(),
        };
        assert_eq!(
            s.classify(&r(r#"{"ok":true}"#)).unwrap().status,
            Status::Live
        );
        assert_eq!(
            s.classify(&r(r#"{"ok":false,"error":"token_revoked"}"#))
                .unwrap()
                .status,
            Status::Revoked
        );
        assert_eq!(
            s.classify(&r(r#"{"ok":false,"error":"invalid_auth"}"#))
                .unwrap()
                .status,
            Status::Invalid
        );
    }

    #[test]
    fn request_is_templated_and_encoded() {
        let s = spec(
            r#"
request = { path = "/bot{secret}/getMe", basic_auth = ["{sid}", "{secret}"], form_body = { token = "{secret}" } }
companions = [{ name = "sid", regex = '(AC[0-9a-f]{4})' }]
responses = [{ status = [200], json = "ok", result = "live" }]
"#,
        );
        let mut credential = Credential {
            parts: std::collections::BTreeMap::new(),
        };
        for (name, value) in [("secret", "12:a/b"), ("sid", "AC12")] {
            credential
                .parts
                .insert(name.into(), crate::finding::Secret::new(value.into()));
        }
        let request = s
            .build_request(&credential, "https://api.example.com")
            .unwrap();
        assert_eq!(request.url, "https://api.example.com/bot12:a%2Fb/getMe");
        assert_eq!(request.display, "https://api.example.com/bot{secret}/getMe");
        assert_eq!(request.body.as_deref(), Some(&b"token=12%3Aa%2Fb"[..]));
        assert!(request
            .headers
            .contains(&("Authorization".into(), "Basic QUMxMjoxMjphL2I=".into())));
    }
}
