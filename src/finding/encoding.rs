//! How a secret was encoded where it was found. Reports write the chain as
//! one string, outermost first, joined with `+` (`percent+base64`); inside
//! the program it is a list of variants, so nothing splits strings.

use serde::{Deserialize, Deserializer, Serializer};
use std::fmt;

/// How a span of a blob was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// JavaScript/JSON string escapes: `\uXXXX`, `\u{…}`, `\xXX`, `\/`.
    JsEscape,
    /// URL percent-encoding: `%XX`.
    Percent,
    /// A standalone base64 (or base64url) run, including `atob("…")`.
    Base64,
    /// The base64 payload of a `data:…;base64,` URI.
    DataUri,
}

const ALL: [Encoding; 4] = [
    Encoding::JsEscape,
    Encoding::Percent,
    Encoding::Base64,
    Encoding::DataUri,
];

impl Encoding {
    /// The name reports use (docs/output.md).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::JsEscape => "js-escape",
            Encoding::Percent => "percent",
            Encoding::Base64 => "base64",
            Encoding::DataUri => "data-uri",
        }
    }

    pub fn from_name(name: &str) -> Option<Encoding> {
        ALL.into_iter().find(|encoding| encoding.name() == name)
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The chain as reports write it: `outer+inner`.
pub fn render_chain(chain: &[Encoding]) -> String {
    chain
        .iter()
        .map(|encoding| encoding.name())
        .collect::<Vec<_>>()
        .join("+")
}

/// Serde for `Finding::encoding`: the list as one `+`-joined string.
pub(super) mod chain {
    use super::*;

    pub fn serialize<S: Serializer>(chain: &[Encoding], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&render_chain(chain))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Encoding>, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.split('+')
            .map(|name| {
                Encoding::from_name(name)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown encoding `{name}`")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for encoding in ALL {
            assert_eq!(Encoding::from_name(encoding.name()), Some(encoding));
        }
        assert_eq!(Encoding::from_name("rot13"), None);
        assert_eq!(
            render_chain(&[Encoding::Percent, Encoding::Base64]),
            "percent+base64"
        );
    }
}
