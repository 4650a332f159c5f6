//! The checks that need code rather than one templated request: request
//! signing (AWS SigV4) or a token exchange (a GCP service-account JWT). A
//! rule names one with `kind`; serde rejects any other name, so the list of
//! kinds cannot drift from the verifiers `verify` implements for them.

use serde::Deserialize;

/// A verifier implemented in code, by the name a rule's `verify.kind` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Builtin {
    /// `sts:GetCallerIdentity`, SigV4-signed with the key pair.
    AwsSts,
    /// A signed JWT exchanged for an access token at Google's token endpoint.
    GcpServiceAccount,
}

impl Builtin {
    /// Every built-in verifier.
    pub const ALL: [Builtin; 2] = [Builtin::AwsSts, Builtin::GcpServiceAccount];

    /// The name in pattern files (also part of the verification cache key).
    pub fn name(self) -> &'static str {
        match self {
            Builtin::AwsSts => "aws-sts",
            Builtin::GcpServiceAccount => "gcp-service-account",
        }
    }

    /// The credential parts the verifier reads: a rule using it must provide
    /// each, as its secret (`secret_as`) or as a companion.
    pub fn parts(self) -> &'static [&'static str] {
        match self {
            Builtin::AwsSts => &["key_id", "secret_key"],
            Builtin::GcpServiceAccount => &["secret", "client_email", "private_key"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names() {
        #[derive(Deserialize)]
        struct Table {
            kind: Builtin,
        }
        for builtin in Builtin::ALL {
            let table: Table = toml::from_str(&format!("kind = {:?}", builtin.name())).unwrap();
            assert_eq!(table.kind, builtin);
        }
    }
}
