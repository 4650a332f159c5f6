//! Property tests for what a server sends `scan url`: pages (script
//! extraction, framework payloads), scripts (imports) and robots.txt. On any
//! input: no panic, and every extracted reference is bounded by the input.

use super::html::{framework_payloads, page_scripts, script_imports};
use super::robots::Robots;
use proptest::prelude::*;

/// HTML-ish and robots-ish fragments mixed with anything.
fn markup() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("<script src=\"".to_string()),
        Just("<script type=module src=".to_string()),
        Just("<link rel=modulepreload href='".to_string()),
        Just("\"></script>".to_string()),
        Just("import(\"./".to_string()),
        Just("import x from '".to_string()),
        Just("&amp;&#x2f;&#47;&lt;".to_string()),
        Just("__NEXT_DATA__ self.__next_f window.__NUXT__".to_string()),
        Just("User-agent: *\n".to_string()),
        Just("User-agent: leakstop\n".to_string()),
        Just("Disallow: /a*b\n".to_string()),
        Just("Allow: /\n".to_string()),
        Just("Crawl-delay: 1e30\n".to_string()),
        Just("Crawl-delay: 18446744073709551615\n".to_string()),
        Just("Crawl-delay: -1\n".to_string()),
        any::<String>(),
    ];
    proptest::collection::vec(pieces, 0..24).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn pages_and_scripts_yield_bounded_references(text in markup()) {
        let bytes = text.as_bytes();
        let scripts = page_scripts(bytes);
        let imports = script_imports(bytes);
        prop_assert!(scripts.len() + imports.len() <= bytes.len());
        for reference in scripts.iter().chain(&imports) {
            prop_assert!(reference.len() <= bytes.len());
        }
        let _ = framework_payloads(bytes);
    }

    #[test]
    fn robots_txt_never_panics_and_delays_are_clamped(text in markup(), path in any::<String>()) {
        for agent in ["leakstop", "*"] {
            let robots = Robots::parse(&text, agent);
            let _ = robots.allows(&path);
            let _ = robots.allows("/");
            if let Some(delay) = robots.crawl_delay {
                prop_assert!(delay <= std::time::Duration::from_secs(5));
            }
        }
    }
}
