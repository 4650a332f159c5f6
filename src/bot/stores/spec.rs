//! The policy's `[store]` table: one flat table whose `kind` decides which
//! other keys it takes; a key of another kind is an error, so a typo or a
//! half-edited table never silently writes a replacement somewhere else.

use crate::provider::template::{placeholders, render};
use crate::verify::endpoint::{self, encode_segment};
use serde::Deserialize;

/// The policy's `[store]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSpec {
    pub kind: StoreKind,
    /// The service's base URL (http only to loopback). Required for `vault`
    /// and `azure-key-vault`; the others default to the public endpoint.
    #[serde(default)]
    pub address: String,
    /// Vault: the KV v2 mount (default `secret`).
    #[serde(default = "default_mount")]
    pub mount: String,
    /// Where the replacement goes, a template over `{provider}`, `{rule}`,
    /// `{fingerprint}`: the Vault path under the mount, the Secrets Manager
    /// secret id, the SSM parameter name, the Key Vault or Actions secret name.
    #[serde(default)]
    pub path: String,
    /// The environment variable holding the store's credential: the Vault
    /// token, the AWS secret access key, the Azure bearer token, the GitHub token.
    #[serde(default)]
    pub token_env: String,
    /// Vault Enterprise `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// AWS: the region the request is signed for.
    pub region: Option<String>,
    /// AWS: the variable holding the access key id (default `AWS_ACCESS_KEY_ID`).
    pub access_key_id_env: Option<String>,
    /// AWS: the variable holding a session token, if any.
    pub session_token_env: Option<String>,
    /// SSM: the KMS key that encrypts the SecureString (default: the account's).
    pub kms_key_id: Option<String>,
    /// GitHub Actions: the repository (`owner/name`) the secret belongs to.
    pub repository: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    Vault,
    AwsSecretsManager,
    AwsSsm,
    AzureKeyVault,
    GithubActions,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Vault => "vault",
            StoreKind::AwsSecretsManager => "aws-secrets-manager",
            StoreKind::AwsSsm => "aws-ssm",
            StoreKind::AzureKeyVault => "azure-key-vault",
            StoreKind::GithubActions => "github-actions",
        }
    }

    fn default_path(self) -> &'static str {
        match self {
            StoreKind::Vault | StoreKind::AwsSecretsManager => "leakstop/{provider}/{fingerprint}",
            StoreKind::AwsSsm => "/leakstop/{provider}/{fingerprint}",
            StoreKind::AzureKeyVault => "leakstop-{provider}-{fingerprint}",
            StoreKind::GithubActions => "LEAKSTOP_{provider}_{fingerprint}",
        }
    }

    fn default_token_env(self) -> &'static str {
        match self {
            StoreKind::Vault => "VAULT_TOKEN",
            StoreKind::AwsSecretsManager | StoreKind::AwsSsm => "AWS_SECRET_ACCESS_KEY",
            StoreKind::AzureKeyVault => "AZURE_KEYVAULT_TOKEN",
            StoreKind::GithubActions => "GITHUB_TOKEN",
        }
    }

    /// The keys this kind takes besides `kind`, `address`, `path`, `token_env`.
    fn own_keys(self) -> &'static [&'static str] {
        match self {
            StoreKind::Vault => &["mount", "namespace"],
            StoreKind::AwsSecretsManager => &["region", "access_key_id_env", "session_token_env"],
            StoreKind::AwsSsm => &[
                "region",
                "access_key_id_env",
                "session_token_env",
                "kms_key_id",
            ],
            StoreKind::AzureKeyVault => &[],
            StoreKind::GithubActions => &["repository"],
        }
    }

    /// Placeholder values made safe for the kind's names: Key Vault takes
    /// letters, digits and `-`; Actions secrets letters, digits and `_`
    /// (upper case by convention); the AWS names no `:`.
    fn clean(self, value: &str) -> String {
        match self {
            StoreKind::Vault => encode_segment(value),
            StoreKind::AwsSecretsManager | StoreKind::AwsSsm => value
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect(),
            StoreKind::AzureKeyVault => value
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect(),
            StoreKind::GithubActions => value
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect(),
        }
    }
}

fn default_mount() -> String {
    "secret".into()
}

/// A `[store]` problem: the key it is about and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The key without the `store.` prefix (`region`), or `kind` for a
    /// missing key.
    pub key: String,
    pub message: String,
}

fn is_var_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl StoreSpec {
    /// The path template, the kind's default when none is given.
    pub fn path_template(&self) -> &str {
        if self.path.is_empty() {
            self.kind.default_path()
        } else {
            &self.path
        }
    }

    /// The variable holding the store's credential.
    pub fn token_var(&self) -> &str {
        if self.token_env.is_empty() {
            self.kind.default_token_env()
        } else {
            &self.token_env
        }
    }

    /// The base URL: `address`, else the kind's public endpoint.
    pub fn address_or_default(&self) -> String {
        if !self.address.is_empty() {
            return self.address.trim_end_matches('/').to_string();
        }
        let region = self.region.as_deref().unwrap_or("us-east-1");
        match self.kind {
            StoreKind::AwsSecretsManager => {
                format!("https://secretsmanager.{region}.amazonaws.com")
            }
            StoreKind::AwsSsm => format!("https://ssm.{region}.amazonaws.com"),
            StoreKind::GithubActions => crate::github::DEFAULT_API.into(),
            StoreKind::Vault | StoreKind::AzureKeyVault => String::new(),
        }
    }

    /// Checks the table for its kind; the error names the key.
    pub fn check(&self) -> Result<(), SpecError> {
        let fail = |key: &str, message: String| SpecError {
            key: key.into(),
            message: format!("`store.{key}`: {message}"),
        };
        let kind = self.kind;
        let given = [
            ("mount", self.mount != default_mount()),
            ("namespace", self.namespace.is_some()),
            ("region", self.region.is_some()),
            ("access_key_id_env", self.access_key_id_env.is_some()),
            ("session_token_env", self.session_token_env.is_some()),
            ("kms_key_id", self.kms_key_id.is_some()),
            ("repository", self.repository.is_some()),
        ];
        if let Some((key, _)) = given
            .iter()
            .find(|(key, set)| *set && !kind.own_keys().contains(key))
        {
            return Err(fail(key, format!("not a key of kind `{}`", kind.as_str())));
        }
        let needs_address = matches!(kind, StoreKind::Vault | StoreKind::AzureKeyVault);
        if needs_address && self.address.is_empty() {
            return Err(fail(
                "address",
                format!("required for kind `{}`", kind.as_str()),
            ));
        }
        if matches!(kind, StoreKind::AwsSecretsManager | StoreKind::AwsSsm) {
            match self.region.as_deref() {
                None => {
                    return Err(fail(
                        "region",
                        format!("required for kind `{}`", kind.as_str()),
                    ))
                }
                Some(region)
                    if region.is_empty()
                        || !region
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
                {
                    return Err(fail("region", format!("`{region}` is not an AWS region")))
                }
                Some(_) => {}
            }
        }
        if kind == StoreKind::GithubActions {
            let ok = self.repository.as_deref().is_some_and(|r| {
                r.split_once('/')
                    .is_some_and(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            });
            if !ok {
                return Err(fail(
                    "repository",
                    "kind `github-actions` needs `repository = \"owner/name\"`".into(),
                ));
            }
        }
        let address = self.address_or_default();
        if !address.is_empty() {
            endpoint::check("store.address", &address)
                .map_err(|e| fail("address", e.to_string()))?;
        }
        if let Some(bad) = placeholders(self.path_template())
            .iter()
            .find(|n| !["provider", "rule", "fingerprint"].contains(n))
        {
            return Err(fail(
                "path",
                format!("unknown placeholder `{{{bad}}}` (use provider, rule, fingerprint)"),
            ));
        }
        for (key, var) in [
            ("token_env", Some(self.token_var())),
            ("access_key_id_env", self.access_key_id_env.as_deref()),
            ("session_token_env", self.session_token_env.as_deref()),
        ] {
            if let Some(var) = var.filter(|v| !is_var_name(v)) {
                return Err(fail(
                    key,
                    format!("`{var}` is not an environment variable name (the policy names variables; it never holds a secret)"),
                ));
            }
        }
        Ok(())
    }

    /// Checks the address and template; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        self.check().map_err(|e| e.message)
    }

    /// Where a replacement goes, for people and for the store: Vault
    /// `secret/leakstop/github/lsfp1:…` (mount first), else the name.
    pub fn location(
        &self,
        provider: &str,
        rule: &str,
        fingerprint: &str,
    ) -> Result<String, String> {
        let name = render(
            self.path_template(),
            |name| match name {
                "provider" => Some(provider.to_string()),
                "rule" => Some(rule.to_string()),
                "fingerprint" => Some(fingerprint.to_string()),
                _ => None,
            },
            |value| self.kind.clean(value),
        )?;
        Ok(match self.kind {
            StoreKind::Vault => format!("{}/{name}", self.mount.trim_matches('/')),
            StoreKind::GithubActions => name.to_ascii_uppercase(),
            _ => name,
        })
    }
}

/// The message with the line of the key in the `[store]` table (the
/// table's own line when the key is missing), as TOML errors name lines.
pub fn spec_error_at(text: &str, error: &SpecError) -> String {
    match key_line(text, "store", &error.key) {
        Some(line) => format!("{} (line {line})", error.message),
        None => error.message.clone(),
    }
}

/// The line of `key` in the table `[table]` of a TOML text, else the
/// table's own line.
pub fn key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut in_store = false;
    let mut header = None;
    let mut found = None;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            in_store = line.trim_start_matches('[').trim_end_matches(']').trim() == table;
            if in_store {
                header = Some(number + 1);
            }
            continue;
        }
        if in_store
            && line.contains('=')
            && line.split('=').next().unwrap_or_default().trim() == key
        {
            found = Some(number + 1);
        }
    }
    found.or(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> StoreSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn names_are_made_safe_for_each_kind() {
        let fp = "lsfp1:ab12";
        let ssm = spec("kind = \"aws-ssm\"\nregion = \"eu-west-1\"");
        assert_eq!(
            ssm.location("gitlab", "gitlab.pat", fp).unwrap(),
            "/leakstop/gitlab/lsfp1-ab12"
        );
        let azure = spec("kind = \"azure-key-vault\"\naddress = \"https://a.vault.azure.net\"");
        assert_eq!(
            azure.location("gitlab", "gitlab.pat", fp).unwrap(),
            "leakstop-gitlab-lsfp1-ab12"
        );
        let actions =
            spec("kind = \"github-actions\"\nrepository = \"acme/app\"\npath = \"{rule}_TOKEN\"");
        assert_eq!(
            actions.location("gitlab", "gitlab.pat", fp).unwrap(),
            "GITLAB_PAT_TOKEN"
        );
    }

    #[test]
    fn keys_of_another_kind_and_missing_keys_are_named() {
        let error = spec("kind = \"aws-ssm\"").check().unwrap_err();
        assert_eq!(error.key, "region");
        let error = spec("kind = \"azure-key-vault\"\naddress = \"https://a.vault.azure.net\"\nnamespace = \"x\"")
            .check()
            .unwrap_err();
        assert_eq!(error.key, "namespace");
        assert!(
            error.message.contains("azure-key-vault"),
            "{}",
            error.message
        );
        let error = spec("kind = \"github-actions\"\nrepository = \"acme\"")
            .check()
            .unwrap_err();
        assert_eq!(error.key, "repository");
        let text =
            "[defaults]\naction = \"notify\"\n\n[store]\nkind = \"aws-ssm\"\nregion = \"EU\"\n";
        let error = toml::from_str::<toml::Value>(text).unwrap()["store"]
            .clone()
            .try_into::<StoreSpec>()
            .unwrap()
            .check()
            .unwrap_err();
        assert_eq!(
            spec_error_at(text, &error),
            "`store.region`: `EU` is not an AWS region (line 6)"
        );
    }
}
