//! Named regex fragments: pieces many rules share, written once. A rule's
//! regex says `{{assign}}` and the loader puts the fragment in its place, so
//! a fix to the fragment reaches every rule (docs/rules.md, "Fragments").

use serde::{Deserialize, Deserializer};

/// The fragments, by name.
const FRAGMENTS: &[(&str, &str)] = &[
    // `key = "value"`, `key: value`, `"key": "value"`, `key => 'value'`
    // (Ruby, PHP), `key := "value"` (Go), `key: string = 'value'`
    // (TypeScript, Kotlin, Swift type annotations), `` key = `value` ``
    // (JS template literals), `headers['key'] = "value"`: an optional
    // closing quote and bracket after the key, the operator, an optional
    // opening quote before the value.
    (
        "assign",
        r#"["'`]?\]?\s{0,4}(?::\s{0,4}[A-Za-z_][A-Za-z0-9_.<>|\[\]]{0,40}\s{0,4}=|=>|:=|[:=])\s{0,4}["'`]?"#,
    ),
];

/// Replaces every `{{name}}` in `regex` by its fragment; an unknown name is
/// an error naming it (`{{` never starts valid regex syntax otherwise).
pub fn expand(regex: &str) -> Result<String, String> {
    let mut out = String::with_capacity(regex.len());
    let mut rest = regex;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "`{{` without a closing `}}`".to_string())?;
        let name = &after[..close];
        let fragment = FRAGMENTS
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, fragment)| *fragment)
            .ok_or_else(|| {
                let known: Vec<String> = FRAGMENTS
                    .iter()
                    .map(|(n, _)| format!("{{{{{n}}}}}"))
                    .collect();
                format!(
                    "unknown regex fragment `{{{{{name}}}}}` (known: {})",
                    known.join(", ")
                )
            })?;
        out.push_str(fragment);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Serde hook for `Rule::regex`: every way a rule is read expands fragments.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    expand(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_known_fragments_only() {
        let expanded = expand(r"(?i)token{{assign}}([a-z]{8})").unwrap();
        assert!(
            expanded.starts_with(r#"(?i)token["'`]?\]?\s{0,4}"#),
            "{expanded}"
        );
        assert!(expanded.ends_with("([a-z]{8})"));
        assert_eq!(expand(r"a{2}b").unwrap(), r"a{2}b");
        assert!(expand("x{{nope}}").unwrap_err().contains("{{nope}}"));
        assert!(expand("x{{assign").is_err());
        let regex = regex::Regex::new(&expand(r"key{{assign}}(v)").unwrap()).unwrap();
        for text in [
            r#"key = "v""#,
            "key: v",
            r#""key": "v""#,
            "key => 'v'",
            r#"key := "v""#,
            "key: string = 'v'",
            "key = `v`",
            "h['key'] = \"v\"",
        ] {
            assert!(regex.is_match(text), "{text}");
        }
    }
}
