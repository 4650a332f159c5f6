//! What a page and its scripts load, read with a few regexes rather than an
//! HTML5 parser: `<script src>`, `<link rel=modulepreload|preload as=script>`,
//! static and dynamic `import` specifiers a script spells out, and the
//! framework data inlined into pages (`__NEXT_DATA__`, `window.__NUXT__`, …).
//! Missing a reference costs one unfetched file; a tree builder would cost
//! a dependency and time on every page.

use regex::bytes::Regex;
use std::sync::OnceLock;

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("built-in pattern compiles"))
}

fn tag_regex() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(&CELL, r"(?is-u)<(script|link)\b([^>]*)>")
}

fn attribute_regex() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"(?is-u)\b([a-z][a-z0-9_-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#,
    )
}

fn import_regex() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    // `from "x"`, `import "x"`, `import("x")`: the specifier must be a path
    // or a URL (bare package names are resolved by a bundler, not the browser).
    regex(
        &CELL,
        r#"(?-u)(?:\bfrom|\bimport)\s*\(?\s*["']((?:\.{1,2}/|/|https?://)[^"'\s]+)["']"#,
    )
}

/// Markers of framework data inlined into pages.
pub const FRAMEWORK_PAYLOADS: &[&str] = &[
    "__NEXT_DATA__",
    "self.__next_f",
    "window.__NUXT__",
    "__NUXT_DATA__",
    "__remixContext",
    "__sveltekit_",
    "window.__INITIAL_STATE__",
    "window.__APOLLO_STATE__",
    "window.__PRELOADED_STATE__",
];

/// Script URLs a page loads, in document order: `<script src>` and module
/// or script preloads.
pub fn page_scripts(html: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for tag in tag_regex().captures_iter(html) {
        let name = tag[1].to_ascii_lowercase();
        let attributes = attributes(&tag[2]);
        let get = |key: &str| {
            attributes
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let wanted = if name == b"script" {
            get("src")
        } else {
            let rel = get("rel").unwrap_or("").to_ascii_lowercase();
            let is_script_preload = rel.split_whitespace().any(|r| r == "modulepreload")
                || (rel.split_whitespace().any(|r| r == "preload")
                    && get("as").is_some_and(|a| a.eq_ignore_ascii_case("script")));
            if is_script_preload {
                get("href")
            } else {
                None
            }
        };
        if let Some(url) = wanted {
            out.push(url.trim().to_string());
        }
    }
    out
}

/// Import specifiers a script spells out.
pub fn script_imports(js: &[u8]) -> Vec<String> {
    import_regex()
        .captures_iter(js)
        .map(|c| String::from_utf8_lossy(&c[1]).into_owned())
        .collect()
}

/// The framework payloads a page carries (for the summary).
pub fn framework_payloads(html: &[u8]) -> Vec<&'static str> {
    FRAMEWORK_PAYLOADS
        .iter()
        .copied()
        .filter(|marker| memchr::memmem::find(html, marker.as_bytes()).is_some())
        .collect()
}

fn attributes(text: &[u8]) -> Vec<(String, String)> {
    attribute_regex()
        .captures_iter(text)
        .map(|c| {
            let key = String::from_utf8_lossy(&c[1]).to_ascii_lowercase();
            let value = c
                .get(2)
                .or(c.get(3))
                .or(c.get(4))
                .map(|m| decode_entities(&String::from_utf8_lossy(m.as_bytes())))
                .unwrap_or_default();
            (key, value)
        })
        .collect()
}

/// The entities that appear in URLs in attributes.
fn decode_entities(value: &str) -> String {
    value
        .replace("&amp;", "&")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_preloads_in_document_order() {
        let html = br#"<html><head>
<link rel="stylesheet" href="/a.css"><link rel=modulepreload href=/m.js>
<link as="script" rel="preload" href='/p.js?v=1&amp;x=2'>
<script type="module" src="/app.js" defer></script><script>inline()</script>
<SCRIPT SRC="https://cdn.example.com/x.js"></SCRIPT></head></html>"#;
        assert_eq!(
            page_scripts(html),
            vec![
                "/m.js",
                "/p.js?v=1&x=2",
                "/app.js",
                "https://cdn.example.com/x.js"
            ]
        );
    }

    #[test]
    fn imports_with_paths_only() {
        let js = br#"import a from"./a.js";import{b}from '../b.mjs';import "/c.js";const d=import("./d.js");import e from "react";export*from"./f.js""#;
        assert_eq!(
            script_imports(js),
            vec!["./a.js", "../b.mjs", "/c.js", "./d.js", "./f.js"]
        );
    }

    #[test]
    fn framework_payloads_are_recognised() {
        let html = br#"<script id="__NEXT_DATA__" type="application/json">{}</script><script>window.__NUXT__={}</script>"#;
        assert_eq!(
            framework_payloads(html),
            vec!["__NEXT_DATA__", "window.__NUXT__"]
        );
    }
}
