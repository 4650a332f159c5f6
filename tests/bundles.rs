//! Client bundles: minified lines, source maps (written here with real VLQ
//! mappings), escaped and base64-encoded secrets, and the client-exposure policy.

mod common;

use common::*;
use serde_json::Value;

/// Fake Stripe keys (scripts/fake_token.py rand 99 alnum bundlepk / bundlesk).
const STRIPE_PK: &str = "pk_live_rpVVj4qoCk3BzBNxa89didACTPs4AuFrf1yQD4TBxOS0gDtjzgu6iRxvq";
const STRIPE_RK: &str = "rk_live_9CeKZCcPqgLHisNUvxKaBpimypUBIVPnkL6s";

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("findings")
}

fn only<'a>(report: &'a Value, path: &str) -> Vec<&'a Value> {
    findings(report)
        .iter()
        .filter(|f| f["path"] == path)
        .collect()
}

/// 1-based column of `needle` in single-line `text`.
fn column_of(text: &str, needle: &str) -> u64 {
    text.find(needle).expect("needle present") as u64 + 1
}

#[test]
fn secret_in_a_five_megabyte_line_has_an_exact_column_and_a_short_context() {
    let tree = Tree::new();
    let filler = "a=b+c;".repeat(5 * 1024 * 1024 / 12);
    let bundle = format!("{filler}var t=\"{GITHUB_PAT}\";{filler}");
    tree.write("dist/main.js", &bundle);
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let f = &findings(&report)[0];
    assert_eq!(f["line"], 1);
    assert_eq!(f["column"], column_of(&bundle, GITHUB_PAT));
    assert!(f["context"].as_str().unwrap().len() < 200);
    let human = tree.leakstop(&["scan", "."]);
    assert!(
        human.stdout.lines().all(|l| l.len() < 400),
        "human output is bounded"
    );
    assert!(!human.stdout.contains(GITHUB_PAT));
}

/// A one-line bundle of `src/config.ts` and its map: the string literal at
/// generated column 6 comes from original line 2, column 21 (0-based 1, 21).
fn bundle_and_map(secret: &str) -> (String, String, String) {
    let original =
        format!("// settings\nexport const token = \"{secret}\";\nconsole.log(token);\n");
    let bundle = format!("var t=\"{secret}\";console.log(t);");
    // Segments: [gen col, source, orig line, orig col], each relative to the previous.
    let mappings = [
        vlq(0) + &vlq(0) + &vlq(1) + &vlq(0),
        vlq(6) + &vlq(0) + &vlq(0) + &vlq(21),
        vlq(14 + secret.len() as i64 - 6) + &vlq(0) + &vlq(1) + &vlq(-21),
    ]
    .join(",");
    let map = serde_json::json!({
        "version": 3,
        "file": "app.js",
        "sources": ["src/config.ts"],
        "sourcesContent": [original],
        "names": [],
        "mappings": mappings,
    })
    .to_string();
    (original, bundle, map)
}

#[test]
fn source_map_sources_and_bundle_positions_resolve_to_the_original() {
    let tree = Tree::new();
    let (_, bundle, map) = bundle_and_map(GITHUB_PAT);
    tree.write(
        "dist/app.js",
        format!("{bundle}\n//# sourceMappingURL=app.js.map\n"),
    )
    .write("dist/app.js.map", &map);
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", "dist/app.js", 1, 8),
            loc(
                "github.pat-classic",
                "dist/app.js.map",
                1,
                column_of(&map, GITHUB_PAT)
            ),
        ]
    );
    for f in findings(&report) {
        assert_eq!(
            f["original"],
            serde_json::json!({"path": "src/config.ts", "line": 2, "column": 23}),
            "{f}"
        );
        assert_eq!(f["client_exposed"], true);
        assert_eq!(f["severity"], "critical");
        assert!(f.get("encoding").is_none());
    }
    let human = tree.leakstop(&["scan", "."]);
    assert!(
        human.stdout.contains(
            "    original: src/config.ts:2:23\n    client-side: shipped to browsers/apps\n"
        ),
        "{}",
        human.stdout
    );
    // Without source maps: the map is text, the bundle has no original.
    let (_, plain) = tree.scan_json(&["--no-sourcemaps"]);
    assert!(findings(&plain).iter().all(|f| f.get("original").is_none()));
}

#[test]
fn inline_source_maps_are_decoded_and_scanned_per_source() {
    let tree = Tree::new();
    let (_, bundle, map) = bundle_and_map(GITHUB_PAT_2);
    let file = format!(
        "{bundle}\n//# sourceMappingURL=data:application/json;base64,{}\n",
        b64(map.as_bytes())
    );
    tree.write("src/inline.js", &file);
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let found = findings(&report);
    assert_eq!(found.len(), 2, "{report:#}");
    let original = serde_json::json!({"path": "src/config.ts", "line": 2, "column": 23});
    // The bundle's literal, resolved through the inline mappings.
    assert_eq!(found[0]["line"], 1);
    assert_eq!(found[0]["column"], 8);
    assert_eq!(found[0]["original"], original);
    assert!(found[0].get("encoding").is_none());
    // The embedded source, inside the base64 payload on line 2.
    assert_eq!(found[1]["line"], 2);
    assert_eq!(found[1]["original"], original);
    assert_eq!(found[1]["encoding"], "data-uri");
    let payload_start = "//# sourceMappingURL=data:application/json;base64,".len() as u64;
    assert!(found[1]["column"].as_u64().unwrap() > payload_start);
    assert!(found.iter().all(|f| f["client_exposed"] == true));
}

#[test]
fn escaped_percent_encoded_and_base64_secrets_are_found_where_they_are() {
    let tree = Tree::new();
    let escaped: String = GITHUB_PAT
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i < 3 {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect();
    let percent = format!("%{:02X}{}", GITHUB_PAT.as_bytes()[0], &GITHUB_PAT[1..]);
    let atob = b64(format!("token={GITHUB_OAUTH}").as_bytes());
    let data_uri = b64(format!("key: {STRIPE_RK}\n").as_bytes());
    let lines = [
        format!("const a = \"{escaped}\";"),
        format!("fetch('/x?t={percent}');"),
        format!("const c = atob(\"{atob}\");"),
        format!("const d = 'data:text/plain;base64,{data_uri}';"),
    ];
    tree.write("src/enc.js", lines.join("\n") + "\n");
    // Nested: base64 (whose `+` and `=` are) percent-encoded in a URL.
    let nested = b64(format!("~~~ token={GITHUB_OAUTH}").as_bytes())
        .replace('+', "%2B")
        .replace('=', "%3D");
    assert!(nested.starts_with("fn5%2B"));
    let nested_line = format!("location.href = '/login?state={nested}';");
    tree.write("src/nested.js", format!("{nested_line}\n"));
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let got: Vec<(String, u64, u64, String)> = only(&report, "src/enc.js")
        .into_iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["encoding"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let atob_col = column_of(&lines[2], &atob) + 8; // "token=" is bytes 0..6: char 8
    let uri_col = column_of(&lines[3], &data_uri) + 6; // "key: " is bytes 0..5: char 6
    assert_eq!(
        got,
        vec![
            (
                "github.pat-classic".into(),
                1,
                column_of(&lines[0], "\\u"),
                "js-escape".into()
            ),
            (
                "github.pat-classic".into(),
                2,
                column_of(&lines[1], &percent),
                "percent".into()
            ),
            ("github.oauth".into(), 3, atob_col, "base64".into()),
            (
                "stripe.restricted-key".into(),
                4,
                uri_col,
                "data-uri".into()
            ),
        ]
    );
    // "~~~ token=" is decoded bytes 0..10: byte 10 starts in base64
    // character 13 of the decoded URL, which is 2 bytes further in the file
    // (`%2B` is three bytes for one).
    let nested_finding = only(&report, "src/nested.js");
    assert_eq!(nested_finding.len(), 1, "{report:#}");
    assert_eq!(nested_finding[0]["rule_id"], "github.oauth");
    assert_eq!(nested_finding[0]["encoding"], "percent+base64");
    assert_eq!(
        nested_finding[0]["column"],
        column_of(&nested_line, &nested) + 15
    );
    // Not client-side: severities stay the rules' own.
    assert!(findings(&report)
        .iter()
        .all(|f| f["client_exposed"] == false));
    assert_eq!(findings(&report)[3]["severity"], "high");
    // Redacted everywhere, also in decoded contexts.
    assert!(!out.stdout.contains(GITHUB_PAT) && !out.stdout.contains(STRIPE_RK));

    let (out, plain) = tree.scan_json(&["--no-decode"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(findings(&plain).is_empty());
    tree.write(".leakstop.toml", "[scan]\ndecode = false\n");
    let (out, configured) = tree.scan_json(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(findings(&configured).is_empty());
}

#[test]
fn client_side_raises_server_secrets_and_suppresses_publishable_keys() {
    let tree = Tree::new();
    let js = format!("var s=Stripe(\"{STRIPE_PK}\"),r=\"{STRIPE_RK}\";");
    tree.write("dist/pay.js", &js).write(
        "server/pay.py",
        format!("PK = \"{STRIPE_PK}\"\nRK = \"{STRIPE_RK}\"\n"),
    );
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let client = only(&report, "dist/pay.js");
    assert_eq!(client.len(), 1, "{report:#}");
    assert_eq!(client[0]["rule_id"], "stripe.restricted-key");
    assert_eq!(client[0]["severity"], "critical");
    assert_eq!(client[0]["client_exposed"], true);
    assert_eq!(report["stats"]["suppressed"]["client_safe"], 1);
    // The publishable key in server code is an info finding: below the
    // default --min-severity, counted, not reported.
    let server = only(&report, "server/pay.py");
    assert_eq!(server.len(), 1, "{report:#}");
    assert_eq!(report["stats"]["suppressed"]["below_min_severity"], 1);
    assert!(server.iter().all(|f| f["client_exposed"] == false));
    assert_eq!(server[0]["severity"], "high");

    let (_, shown) = tree.scan_json(&["--show-client-safe"]);
    let client = only(&shown, "dist/pay.js");
    assert_eq!(client.len(), 2);
    assert_eq!(client[0]["rule_id"], "stripe.publishable-key");
    assert_eq!(client[0]["severity"], "info");
    assert_eq!(client[0]["client_exposed"], true);
}

#[test]
fn esbuild_bundle_resolves_through_its_real_source_map() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/esbuild");
    let tree = Tree::new();
    for name in ["app.js", "app.js.map"] {
        let bytes = std::fs::read(fixture.join(name)).expect("fixture");
        tree.write(&format!("dist/{name}"), bytes);
    }
    let bundle = std::fs::read_to_string(fixture.join("app.js")).unwrap();
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // sourcesContent is on line 4 of esbuild's pretty-printed map.
    let map = std::fs::read_to_string(fixture.join("app.js.map")).unwrap();
    let map_line = map.lines().nth(3).unwrap();
    assert_eq!(
        locations(&report),
        vec![
            loc(
                "github.pat-classic",
                "dist/app.js",
                1,
                column_of(&bundle, GITHUB_PAT)
            ),
            loc(
                "github.pat-classic",
                "dist/app.js.map",
                4,
                column_of(map_line, GITHUB_PAT)
            ),
        ]
    );
    let original = serde_json::json!({"path": "../src/config.ts", "line": 9, "column": 11});
    for f in findings(&report) {
        assert_eq!(f["original"], original, "{f}");
        assert_eq!(f["client_exposed"], true);
    }
}

#[test]
fn decoding_stops_at_the_per_file_limit_with_one_warning() {
    let tree = Tree::new();
    // Escapes that decode to percent-encoding and percent-encoding that
    // decodes to escapes, everywhere: every view holds another encoding, so
    // three levels of views add up past 4x the file.
    let filler = "x".repeat(150);
    let body = format!("\\u002541{filler}%5Cu0041{filler}").repeat(1_500);
    tree.write(
        "src/dense.js",
        format!("{body}\nconst t = \"{GITHUB_PAT}\";\n"),
    );
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "src/dense.js", 2, 12)]
    );
    let warnings = report["stats"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["path"], "src/dense.js");
    assert!(warnings[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("decoding stopped at this file's limit of 1.8 MiB decoded"));
}

#[test]
fn escaped_json_in_framework_payloads_reaches_the_generic_rules() {
    let tree = Tree::new();
    let page = concat!(
        "<script>self.__next_f.push([1,\"5:[\\\"$\\\",\\\"div\\\",null,",
        "{\\\"config\\\":{\\\"apiKey\\\":\\\"Zq8vK3mP2xR7tY9wB4nC6dF1\\\"}}]\\n\"])</script>\n"
    );
    tree.write("dist/index.html", page);
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc(
            "generic.api-key-assignment",
            "dist/index.html",
            1,
            column_of(page, "Zq8vK3")
        )]
    );
    let f = &findings(&report)[0];
    assert_eq!(f["encoding"], "js-escape");
    assert_eq!(f["client_exposed"], true);
    assert_eq!(f["severity"], "critical");
    // The plain scan cannot see it: `\"apiKey\":\"…\"` is not an assignment.
    let (out, plain) = tree.scan_json(&["--no-decode"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(findings(&plain).is_empty());
}
