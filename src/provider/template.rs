//! Request templates: `{name}` placeholders, where a name is lowercase
//! letters and `_`; any other brace (a GraphQL query) is literal text.

/// The placeholder starting at `text[0] == '{'`, if there is one.
fn placeholder_at(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('{')?;
    let close = inner.find('}')?;
    let name = &inner[..close];
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).then_some(name)
}

/// Fills `{name}` placeholders in `template` from `lookup`; `encode` is
/// applied to each value. An unknown name is an error naming it.
pub fn render(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
    encode: impl Fn(&str) -> String,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        match placeholder_at(rest) {
            Some(name) => {
                let value = lookup(name).ok_or_else(|| format!("no value for `{{{name}}}`"))?;
                out.push_str(&encode(&value));
                rest = &rest[name.len() + 2..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The `{name}` placeholders in a template.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open..];
        match placeholder_at(rest) {
            Some(name) => {
                names.push(name);
                rest = &rest[name.len() + 2..];
            }
            None => rest = &rest[1..],
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_literal_braces() {
        assert_eq!(placeholders("a{b}c{d}"), vec!["b", "d"]);
        assert_eq!(placeholders("{ viewer { id } }"), Vec::<&str>::new());
        assert_eq!(
            render("{ q {x} }", |_| Some("1".into()), str::to_string).unwrap(),
            "{ q 1 }"
        );
        assert_eq!(
            render("{nope}", |_| None, str::to_string).unwrap_err(),
            "no value for `{nope}`"
        );
    }
}
