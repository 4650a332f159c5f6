//! Well-known public values (`patterns/known-public/values.toml`): keys that
//! vendors print in their documentation, ship in emulators or use in SDK
//! samples. A match on one of them is not a leak, but it is counted (stats
//! `suppressed.known_public`) so a scan says what it left out, and
//! `--show-known-public` reports it.
//!
//! The list is data with a source per entry, not code, so adding a value is
//! a one-entry change that a reviewer can check against the cited page.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

const EMBEDDED: &str = include_str!("../../patterns/known-public/values.toml");

/// One published value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownPublic {
    /// What it is ("AWS documentation example access key ID").
    pub name: String,
    /// The value itself, when printing it is harmless (it is public).
    #[serde(default)]
    pub value: Option<String>,
    /// Or its SHA-256, in hex.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The page that publishes it.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    value: Vec<KnownPublic>,
}

/// The loaded list, indexed for lookups.
pub struct KnownPublicValues {
    entries: Vec<KnownPublic>,
    by_value: HashMap<Vec<u8>, usize>,
    by_hash: HashMap<[u8; 32], usize>,
}

/// Problems in the list: the embedded one is checked by a test.
#[derive(Debug, thiserror::Error)]
pub enum KnownPublicError {
    #[error("known-public values: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("known-public value `{0}`: needs exactly one of `value` or `sha256` (64 hex digits)")]
    Entry(String),
}

impl KnownPublicValues {
    /// Parses a list in the format of `patterns/known-public/values.toml`.
    pub fn parse(text: &str) -> Result<Self, KnownPublicError> {
        let file: File = toml::from_str(text)?;
        let mut by_value = HashMap::new();
        let mut by_hash = HashMap::new();
        for (index, entry) in file.value.iter().enumerate() {
            match (&entry.value, &entry.sha256) {
                (Some(value), None) if !value.is_empty() => {
                    by_value.insert(value.as_bytes().to_vec(), index);
                }
                (None, Some(hash)) => {
                    let digest = parse_sha256(hash)
                        .ok_or_else(|| KnownPublicError::Entry(entry.name.clone()))?;
                    by_hash.insert(digest, index);
                }
                _ => return Err(KnownPublicError::Entry(entry.name.clone())),
            }
        }
        Ok(KnownPublicValues {
            entries: file.value,
            by_value,
            by_hash,
        })
    }

    /// The entry `secret` is, if it is a known public value.
    pub fn lookup(&self, secret: &[u8]) -> Option<&KnownPublic> {
        if let Some(&index) = self.by_value.get(secret) {
            return self.entries.get(index);
        }
        if self.by_hash.is_empty() {
            return None;
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, secret);
        let key: [u8; 32] = digest.as_ref().try_into().ok()?;
        self.by_hash
            .get(&key)
            .and_then(|&index| self.entries.get(index))
    }

    pub fn entries(&self) -> &[KnownPublic] {
        &self.entries
    }
}

/// The embedded list (empty if it failed to parse, which a unit test rules out).
pub fn embedded() -> &'static KnownPublicValues {
    static LIST: OnceLock<KnownPublicValues> = OnceLock::new();
    LIST.get_or_init(|| {
        KnownPublicValues::parse(EMBEDDED).unwrap_or_else(|_| KnownPublicValues {
            entries: Vec::new(),
            by_value: HashMap::new(),
            by_hash: HashMap::new(),
        })
    })
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(hex.chunks(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_parses_and_every_entry_has_a_source() {
        let list = KnownPublicValues::parse(EMBEDDED).expect("embedded list parses");
        assert!(list.entries().len() >= 10);
        for entry in list.entries() {
            assert!(entry.source.starts_with("https://"), "{}", entry.name);
        }
        assert!(embedded().lookup(b"AKIAIOSFODNN7EXAMPLE").is_some());
        assert!(embedded().lookup(b"AKIAIOSFODNN7EXAMPLF").is_none());
    }

    #[test]
    fn hashed_entries_match_by_digest() {
        // SHA-256 of "abc".
        let list = KnownPublicValues::parse(
            "[[value]]\nname = \"x\"\nsha256 = \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"\nsource = \"https://example.org\"\n",
        )
        .expect("parses");
        assert_eq!(list.lookup(b"abc").map(|e| e.name.as_str()), Some("x"));
        assert!(list.lookup(b"abd").is_none());
        assert!(KnownPublicValues::parse(
            "[[value]]\nname = \"y\"\nsha256 = \"zz\"\nsource = \"https://example.org\"\n"
        )
        .is_err());
    }
}
