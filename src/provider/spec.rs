//! A rule's `[rule.verify]` table (docs/rules.md, "Verification"): exactly
//! one way to check a credential — one templated HTTP request, a built-in
//! verifier (`kind`) or a reason there is none (`not_supported`). The table
//! is read into [`RawVerifySpec`] and turned into [`VerifySpec`] while
//! deserializing, so a table that breaks a rule below never loads: the error
//! names the file and line like any other TOML error.

use super::builtin::Builtin;
use super::companion::CompanionSpec;
use super::template::placeholders;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A rule's verification: how, plus what every kind of check shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawVerifySpec")]
pub struct VerifySpec {
    pub check: Check,
    /// Name of the base URL (default: the provider id); the override key in
    /// `[verify.base_urls]` and `LEAKSTOP_VERIFY_URL_<NAME>`.
    pub endpoint: Option<String>,
    /// Base URL for this rule when it differs from the provider's.
    pub base_url: Option<String>,
    /// The template name of the secret itself (default `secret`); pair rules
    /// name both halves so either half's finding makes the same check.
    pub secret_as: Option<String>,
    /// Values found near the secret that the check also needs.
    pub companions: Vec<CompanionSpec>,
}

/// The one way a rule's credential is checked.
#[derive(Debug, Clone)]
pub enum Check {
    /// One templated request (boxed: it is much larger than the others).
    Request(Box<HttpCheck>),
    /// A verifier written in code.
    Builtin(Builtin),
    /// There is no harmless check; the reason is recorded on the finding.
    NotSupported(String),
}

/// One templated request and how to read its answer.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    pub request: RequestSpec,
    /// How to read the answer: the first rule that matches decides.
    pub responses: Vec<ResponseRule>,
    /// JSON paths (dotted, numeric parts index arrays) naming the owner.
    pub owner: Vec<String>,
    /// Response header naming the owner (e.g. `openai-organization`).
    pub owner_header: Option<String>,
    /// Response header with comma-separated scopes.
    pub scopes_header: Option<String>,
    /// JSON path of a scopes array (or a single string).
    pub scopes_json: Option<String>,
    pub expiry_header: Option<String>,
    pub expiry_json: Option<String>,
    /// Companion values that name the owner (a username, a shop), copied
    /// into a live result's owner. Never the secret.
    pub owner_companions: Vec<String>,
}

/// The request: `{secret}` and companion names are filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    #[serde(default = "default_method")]
    pub method: String,
    /// Appended to the base URL; values are percent-encoded into it.
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `[user, password]` templates for HTTP Basic authentication.
    pub basic_auth: Option<[String; 2]>,
    /// A JSON body; string values are templates.
    pub json_body: Option<serde_json::Value>,
    /// A form body (`application/x-www-form-urlencoded`).
    pub form_body: Option<BTreeMap<String, String>>,
}

fn default_method() -> String {
    "GET".into()
}

/// One way to read a response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseRule {
    /// HTTP statuses this rule applies to.
    pub status: Vec<u16>,
    /// JSON path that must be present (not null, not empty).
    pub json: Option<String>,
    /// With `json`: the value it must equal.
    pub equals: Option<serde_json::Value>,
    /// Text the body (or the `json` field, if given) must contain.
    pub contains: Option<String>,
    /// A response header that must be present.
    pub header: Option<String>,
    pub result: Outcome,
    /// Recorded with the result (e.g. "key lacks permission for this endpoint").
    pub reason: Option<String>,
}

/// What a matching response means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Live,
    Invalid,
    Revoked,
    RateLimited,
}

/// The table as written: every key, before the shape is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVerifySpec {
    kind: Option<Builtin>,
    not_supported: Option<String>,
    endpoint: Option<String>,
    base_url: Option<String>,
    secret_as: Option<String>,
    #[serde(default)]
    companions: Vec<CompanionSpec>,
    request: Option<RequestSpec>,
    #[serde(default)]
    responses: Vec<ResponseRule>,
    #[serde(default)]
    owner: Vec<String>,
    owner_header: Option<String>,
    scopes_header: Option<String>,
    scopes_json: Option<String>,
    expiry_header: Option<String>,
    expiry_json: Option<String>,
    #[serde(default)]
    owner_companions: Vec<String>,
}

impl TryFrom<RawVerifySpec> for VerifySpec {
    type Error = String;

    fn try_from(raw: RawVerifySpec) -> Result<Self, String> {
        let RawVerifySpec {
            kind,
            not_supported,
            endpoint,
            base_url,
            secret_as,
            companions,
            request,
            responses,
            owner,
            owner_header,
            scopes_header,
            scopes_json,
            expiry_header,
            expiry_json,
            owner_companions,
        } = raw;
        let reading_keys = !responses.is_empty()
            || !owner.is_empty()
            || !owner_companions.is_empty()
            || [
                &owner_header,
                &scopes_header,
                &scopes_json,
                &expiry_header,
                &expiry_json,
            ]
            .iter()
            .any(|key| key.is_some());
        let check = match (kind, not_supported, request) {
            (Some(builtin), None, None) => Check::Builtin(builtin),
            (None, Some(reason), None) => Check::NotSupported(reason),
            (None, None, Some(request)) => Check::Request(Box::new(HttpCheck {
                request,
                responses,
                owner,
                owner_header,
                scopes_header,
                scopes_json,
                expiry_header,
                expiry_json,
                owner_companions,
            })),
            _ => {
                return Err(
                    "verify needs exactly one of `kind`, `not_supported` or `request`".into(),
                )
            }
        };
        if reading_keys && !matches!(check, Check::Request(_)) {
            return Err(
                "`responses`, `owner…`, `scopes…` and `expiry…` apply only to a `request`".into(),
            );
        }
        let spec = VerifySpec {
            check,
            endpoint,
            base_url,
            secret_as,
            companions,
        };
        spec.check_shape()?;
        Ok(spec)
    }
}

impl VerifySpec {
    /// The template name of the secret.
    pub fn secret_name(&self) -> &str {
        self.secret_as.as_deref().unwrap_or("secret")
    }

    /// The base URL name this rule uses.
    pub fn endpoint_name<'a>(&'a self, provider: &'a str) -> &'a str {
        self.endpoint.as_deref().unwrap_or(provider)
    }

    /// The names a template may use: the secret's and every companion's.
    pub fn value_names(&self) -> Vec<&str> {
        std::iter::once(self.secret_name())
            .chain(self.companions.iter().map(|c| c.name.as_str()))
            .collect()
    }

    /// Everything that costs more than reading the table (companion regexes
    /// compile here); run for user rules at load and for the embedded
    /// library by the test suite.
    pub fn validate(&self) -> Result<(), String> {
        self.companions.iter().try_for_each(CompanionSpec::validate)
    }

    /// The cheap checks, run on every load: names, placeholders, responses.
    fn check_shape(&self) -> Result<(), String> {
        for companion in &self.companions {
            companion.check_name()?;
        }
        let names = self.value_names();
        let known = |template: &str| -> Result<(), String> {
            match placeholders(template)
                .into_iter()
                .find(|n| !names.contains(n))
            {
                Some(name) => Err(format!("verify template uses unknown value `{{{name}}}`")),
                None => Ok(()),
            }
        };
        if let Some(base_url) = &self.base_url {
            known(base_url)?;
        }
        match &self.check {
            Check::NotSupported(_) => Ok(()),
            Check::Builtin(builtin) => match builtin.parts().iter().find(|p| !names.contains(p)) {
                Some(part) => Err(format!(
                    "verify.kind `{}` reads the value `{part}`: name the secret (`secret_as`) or a companion so",
                    builtin.name()
                )),
                None => Ok(()),
            },
            Check::Request(http) => http.check_shape(&known),
        }
    }
}

impl HttpCheck {
    fn check_shape(&self, known: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
        let request = &self.request;
        if !request.path.starts_with('/') {
            return Err("verify.request.path must start with `/`".into());
        }
        let mut templates: Vec<&str> = request
            .headers
            .values()
            .chain(request.basic_auth.iter().flatten())
            .chain(request.form_body.iter().flat_map(|f| f.values()))
            .map(String::as_str)
            .collect();
        templates.push(&request.path);
        if let Some(json) = &request.json_body {
            json_strings(json, &mut templates);
        }
        templates.into_iter().try_for_each(known)?;
        if self.responses.is_empty() {
            return Err("verify.responses must say which answers mean live and invalid".into());
        }
        for rule in &self.responses {
            if rule.result == Outcome::Live && rule.json.is_none() && rule.header.is_none() {
                // "Any 2xx" is not proof: some endpoints answer 200 to anything.
                return Err(
                    "a `live` response rule needs `json` or `header`: a status alone proves nothing"
                        .into(),
                );
            }
            if rule.equals.is_some() && rule.json.is_none() {
                return Err("`equals` needs `json`".into());
            }
        }
        Ok(())
    }
}

/// The string values of a JSON body (the templates in it).
fn json_strings<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::String(text) => out.push(text),
        serde_json::Value::Array(items) => items.iter().for_each(|item| json_strings(item, out)),
        serde_json::Value::Object(map) => map.values().for_each(|item| json_strings(item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<VerifySpec, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn exactly_one_way_to_check() {
        let both = load("kind = \"aws-sts\"\nnot_supported = \"no\"\n").unwrap_err();
        assert!(both.contains("exactly one of"), "{both}");
        assert!(load("secret_as = \"x\"\n")
            .unwrap_err()
            .contains("exactly one of"));
        let unknown = load("kind = \"azure-ad\"\n").unwrap_err();
        assert!(
            unknown.contains("azure-ad") && unknown.contains("aws-sts"),
            "{unknown}"
        );
        let stray = load("not_supported = \"n/a\"\nowner = [\"login\"]\n").unwrap_err();
        assert!(stray.contains("apply only to a `request`"), "{stray}");
        assert!(matches!(
            load("not_supported = \"n/a\"\n").unwrap().check,
            Check::NotSupported(_)
        ));
    }

    #[test]
    fn live_needs_a_body_or_header_match() {
        let err = load(
            r#"
request = { path = "/user" }
responses = [{ status = [200], result = "live" }]
"#,
        )
        .unwrap_err();
        assert!(err.contains("status alone"), "{err}");
    }

    #[test]
    fn every_placeholder_names_a_known_value() {
        let with_json = |body: &str| {
            load(&format!(
                r#"
request = {{ method = "POST", path = "/login", json_body = {body} }}
responses = [{{ status = [200], json = "token", result = "live" }}]
"#
            ))
        };
        let err = with_json(r#"{ identifier = "{username}", secret = "{secret}" }"#).unwrap_err();
        assert!(err.contains("`{username}`"), "{err}");
        let nested = with_json(r#"{ auth = [{ who = "{user}" }] }"#).unwrap_err();
        assert!(nested.contains("`{user}`"), "{nested}");
        assert!(with_json(r#"{ query = "{ viewer { id } }", key = "{secret}" }"#).is_ok());
        let header = load(
            r#"
request = { path = "/", headers = { Authorization = "Bearer {token}" } }
responses = [{ status = [401], result = "invalid" }]
"#,
        )
        .unwrap_err();
        assert!(header.contains("`{token}`"), "{header}");
    }

    #[test]
    fn a_builtin_gets_the_values_it_reads() {
        let err = load("kind = \"aws-sts\"\nsecret_as = \"key_id\"\n").unwrap_err();
        assert!(err.contains("`secret_key`"), "{err}");
        let ok = load(
            r#"
kind = "aws-sts"
secret_as = "key_id"
companions = [{ name = "secret_key", rules = ["aws.secret-access-key"] }]
"#,
        )
        .unwrap();
        assert!(matches!(ok.check, Check::Builtin(Builtin::AwsSts)));
    }
}
