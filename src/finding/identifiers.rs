//! The identifiers a finding carries in reports (`identifiers`,
//! docs/output.md): the companions — values found next to the secret —
//! that name something rather than unlock it. `leakstop bot` reads them to
//! act on the key: a Twilio API key is deleted by its SID under its
//! account's SID, a Google service-account key under its account's e-mail.
//! Every other companion is a secret (the other half of an AWS pair, a
//! private key) and never leaves the process; so a report gains no secret,
//! with or without `--show-secrets`.

use super::Secret;
use serde::{Deserialize, Deserializer, Serializer};
use std::collections::BTreeMap;

/// Companion names whose values are identifiers, not secrets.
pub const IDENTIFIERS: &[&str] = &["account_sid", "key_sid", "client_email"];

pub fn is_identifier(name: &str) -> bool {
    IDENTIFIERS.contains(&name)
}

/// No identifier to report: the field is left out.
pub fn none(companions: &BTreeMap<String, Secret>) -> bool {
    !companions.keys().any(|name| is_identifier(name))
}

pub fn serialize<S: Serializer>(
    companions: &BTreeMap<String, Secret>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(
        companions
            .iter()
            .filter(|(name, _)| is_identifier(name))
            .map(|(name, value)| (name, value.expose())),
    )
}

/// Reads a report's identifiers back (`report merge`, the bot's input);
/// anything else in the field is dropped.
pub fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Secret>, D::Error> {
    let raw = BTreeMap::<String, String>::deserialize(deserializer)?;
    Ok(raw
        .into_iter()
        .filter(|(name, _)| is_identifier(name))
        .map(|(name, value)| (name, Secret::new(value)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_identifiers_are_written_and_read() {
        let companions = BTreeMap::from([
            ("key_sid".to_string(), Secret::new("SK0123".into())),
            (
                "secret_key".to_string(),
                Secret::new("aws-secret-half".into()),
            ),
            ("private_key".to_string(), Secret::new("-----BEGIN".into())),
        ]);
        let mut out = Vec::new();
        serialize(&companions, &mut serde_json::Serializer::new(&mut out)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, r#"{"key_sid":"SK0123"}"#);
        assert!(!none(&companions));
        assert!(none(&BTreeMap::from([(
            "secret_key".to_string(),
            Secret::new("x".into())
        )])));
        let read = deserialize(&mut serde_json::Deserializer::from_str(
            r#"{"key_sid":"SK1","secret_key":"planted"}"#,
        ))
        .unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read["key_sid"].expose(), "SK1");
    }
}
