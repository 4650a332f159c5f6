//! `leakstop scan url` against fake apps served from 127.0.0.1: a page, two
//! bundles, a source map, framework data, a cross-origin script that must not
//! be fetched, a robots.txt rule; and loopback refused without the flag.

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Fake Stripe keys (scripts/fake_token.py rand 99 alnum bundlepk / bundlesk).
const STRIPE_PK: &str = "pk_live_rpVVj4qoCk3BzBNxa89didACTPs4AuFrf1yQD4TBxOS0gDtjzgu6iRxvq";
const STRIPE_RK: &str = "rk_live_9CeKZCcPqgLHisNUvxKaBpimypUBIVPnkL6s";

/// A server on 127.0.0.1 answering from `routes`, logging request paths.
struct FakeServer {
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl FakeServer {
    fn start(routes: HashMap<String, (&'static str, String)>) -> FakeServer {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
        let port = server.server_addr().to_ip().expect("ip").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let path = request.url().to_string();
                seen.lock().unwrap().push(path.clone());
                let response = match routes.get(&path) {
                    Some(("redirect", location)) => tiny_http::Response::from_string("moved")
                        .with_status_code(302)
                        .with_header(
                            tiny_http::Header::from_bytes("Location", location.as_bytes()).unwrap(),
                        ),
                    Some((content_type, body)) => tiny_http::Response::from_string(body.clone())
                        .with_header(
                            tiny_http::Header::from_bytes("Content-Type", *content_type).unwrap(),
                        ),
                    None => tiny_http::Response::from_string("not found").with_status_code(404),
                };
                let _ = request.respond(response);
            }
        });
        FakeServer {
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn routes(entries: &[(&str, &'static str, String)]) -> HashMap<String, (&'static str, String)> {
    entries
        .iter()
        .map(|(path, kind, body)| (path.to_string(), (*kind, body.clone())))
        .collect()
}

#[test]
fn fetches_the_page_its_bundles_and_map_on_the_same_origin_only() {
    let other = FakeServer::start(routes(&[(
        "/tracker.js",
        "application/javascript",
        format!("var t=\"{GITHUB_PAT_2}\";"),
    )]));
    // src/pay.ts, line 3: `const key = "rk_live_…";` (the literal at column 12).
    let original = format!("// payments\nimport {{ Stripe }} from \"./vendor\";\nconst key = \"{STRIPE_RK}\";\nexport const s = new Stripe(key);\n");
    let app = format!("import{{S as a}}from\"./vendor.js\";const k=\"{STRIPE_RK}\";export const s=new a(k);\n//# sourceMappingURL=app.js.map\n");
    let literal = app.find("\"rk_").unwrap() as i64;
    let map = serde_json::json!({
        "version": 3,
        "sources": ["../src/pay.ts"],
        "sourcesContent": [original],
        "names": [],
        "mappings": format!("{},{}", vlq(0) + &vlq(0) + &vlq(1) + &vlq(0), vlq(literal) + &vlq(0) + &vlq(1) + &vlq(12)),
    })
    .to_string();
    let vendor = format!("export class S{{constructor(k){{this.k=k;this.p=\"{STRIPE_PK}\"}}}}\n");
    let page = format!(
        r#"<!doctype html><html><head>
<link rel="modulepreload" href="/assets/vendor.js">
<script id="__NEXT_DATA__" type="application/json">{{"props":{{"token":"\u0067hp{}"}}}}</script>
</head><body>
<script type="module" src="/assets/app.js"></script>
<script src="{}/tracker.js"></script>
<script src="/private/debug.js"></script>
<script src="/assets/moved.js"></script>
</body></html>
"#,
        &GITHUB_PAT[3..],
        other.base
    );
    let site = FakeServer::start(routes(&[
        (
            "/robots.txt",
            "text/plain",
            "User-agent: *\nDisallow: /private/\n".into(),
        ),
        ("/", "text/html", page.clone()),
        ("/assets/vendor.js", "application/javascript", vendor),
        ("/assets/app.js", "application/javascript", app.clone()),
        ("/assets/app.js.map", "application/json", map.clone()),
        (
            "/private/debug.js",
            "application/javascript",
            format!("var x=\"{GITHUB_OAUTH}\";"),
        ),
        // A same-origin script that redirects off the origin is not followed.
        (
            "/assets/moved.js",
            "redirect",
            format!("{}/tracker.js", other.base),
        ),
    ]));
    let tree = Tree::new();
    let out = tree.leakstop(&[
        "scan",
        "url",
        &format!("{}/", site.base),
        "--allow-private-addresses",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(
        site.requests(),
        vec![
            "/robots.txt",
            "/",
            "/assets/vendor.js",
            "/assets/app.js",
            "/assets/moved.js",
            "/assets/app.js.map"
        ]
    );
    assert!(other.requests().is_empty(), "cross-origin script fetched");
    let b = &site.base;
    let page_line = page
        .lines()
        .position(|l| l.contains("__NEXT_DATA__"))
        .unwrap() as u64
        + 1;
    let page_col = page
        .lines()
        .nth(page_line as usize - 1)
        .unwrap()
        .find("\\u0067")
        .unwrap() as u64
        + 1;
    let map_col = map.find(STRIPE_RK).unwrap() as u64 + 1;
    assert_eq!(
        locations(&report),
        vec![
            loc("github.pat-classic", &format!("{b}/"), page_line, page_col),
            loc(
                "stripe.restricted-key",
                &format!("{b}/assets/app.js"),
                1,
                literal as u64 + 2
            ),
            loc(
                "stripe.restricted-key",
                &format!("{b}/assets/app.js.map"),
                1,
                map_col
            ),
        ]
    );
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings[0]["encoding"], "js-escape");
    let original = serde_json::json!({"path": "../src/pay.ts", "line": 3, "column": 14});
    assert_eq!(findings[1]["original"], original);
    assert_eq!(findings[2]["original"], original);
    for f in findings {
        assert_eq!(f["client_exposed"], true);
        assert_eq!(f["severity"], "critical");
    }
    // The publishable key in vendor.js is client-safe: suppressed, counted.
    assert_eq!(report["stats"]["suppressed"]["client_safe"], 1);
    assert_eq!(
        report["stats"]["skipped"]["cross_origin"], 2,
        "{:#}",
        report["stats"]
    );
    assert_eq!(report["stats"]["skipped"]["robots_txt"], 1);
    assert_eq!(report["stats"]["files_scanned"], 4, "{:#}", report["stats"]);
    assert!(
        out.stderr
            .contains("framework data in the page: __NEXT_DATA__"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains(STRIPE_RK));
}

#[test]
fn loopback_is_refused_without_the_flag() {
    let site = FakeServer::start(routes(&[(
        "/",
        "text/html",
        format!("<script>var t=\"{GITHUB_PAT}\"</script>"),
    )]));
    let tree = Tree::new();
    let out = tree.leakstop(&["scan", "url", &format!("{}/", site.base)]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("refused: 127.0.0.1 resolves to 127.0.0.1 (loopback address)"),
        "{}",
        out.stderr
    );
    assert!(site.requests().is_empty(), "{:?}", site.requests());
}

#[test]
fn proxies_from_the_environment_cannot_bypass_the_address_check() {
    let site = FakeServer::start(routes(&[("/", "text/html", "<p>hi</p>".to_string())]));
    let output = assert_cmd::Command::cargo_bin("leakstop")
        .expect("binary")
        .env("HTTP_PROXY", "http://203.0.113.7:3128")
        .env("http_proxy", "http://203.0.113.7:3128")
        .env("ALL_PROXY", "http://203.0.113.7:3128")
        .args(["scan", "url", &format!("{}/", site.base)])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("127.0.0.1 resolves to 127.0.0.1 (loopback address)"),
        "{stderr}"
    );
    assert!(site.requests().is_empty());
}

#[test]
fn a_path_and_a_url_together_are_a_usage_error() {
    let tree = Tree::new();
    tree.write("site/index.html", "<p>hi</p>");
    let out = tree.leakstop(&["scan", "site", "url", "http://127.0.0.1:9/"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`scan url` scans a URL, not a PATH: remove `site`"),
        "{}",
        out.stderr
    );
}

/// Issue 14 item 12: IPv6 forms that embed a loopback IPv4 address
/// (IPv4-compatible, SIIT, 6to4, Teredo) are refused before any connection:
/// a listener on 127.0.0.1 and [::1] on the same port sees none.
#[test]
fn ipv6_forms_of_loopback_are_refused_without_connecting() {
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let v4 = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = v4.local_addr().expect("address").port();
    let v6 = TcpListener::bind(("::1", port)).ok();
    let connects = Arc::new(AtomicUsize::new(0));
    for listener in std::iter::once(v4).chain(v6) {
        let connects = Arc::clone(&connects);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                connects.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
    }
    let tree = Tree::new();
    for host in [
        "[::127.0.0.1]",
        "[::ffff:0:7f00:1]",
        "[2002:7f00:1::]",
        "[2001:0:7f00:1::1]",
        "[2001:0:808:808::80ff:fffe]",
    ] {
        let out = tree.leakstop(&["scan", "url", &format!("http://{host}:{port}/")]);
        assert_eq!(out.code, 3, "{host}: {}", out.stderr);
        assert!(
            out.stderr.contains("refused: ") && out.stderr.contains("address)"),
            "{host}: {}",
            out.stderr
        );
    }
    assert_eq!(connects.load(Ordering::SeqCst), 0);
}

/// Issue 14 item 6: a page over the response size limit, or scripts left
/// out by the request limit, were a warning and exit 0: what was not
/// scanned is never clean. Each is a `fetch_limit` error (exit 3).
#[test]
fn pages_and_scripts_left_out_by_limits_make_the_scan_incomplete() {
    let big = FakeServer::start(routes(&[(
        "/",
        "text/html",
        format!("<p>{}</p>", "x".repeat(4096)),
    )]));
    let scripts = FakeServer::start(routes(&[
        (
            "/",
            "text/html",
            "<script src=\"/a.js\"></script><script src=\"/b.js\"></script>".to_string(),
        ),
        ("/a.js", "application/javascript", "var a=1;".to_string()),
        ("/b.js", "application/javascript", "var b=2;".to_string()),
    ]));
    let tree = Tree::new();
    for (site, limit) in [
        (&big, ["--max-download", "1K"]),
        (&scripts, ["--max-requests", "3"]),
    ] {
        let out = tree.leakstop(&[
            "scan",
            "url",
            &format!("{}/", site.base),
            "--allow-private-addresses",
            "--format",
            "json",
            limit[0],
            limit[1],
        ]);
        assert_eq!(out.code, 3, "{limit:?}: {}", out.stderr);
        let report: Value = serde_json::from_str(&out.stdout).expect("json");
        let errors = report["stats"]["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0]["kind"], "fetch_limit", "{errors:?}");
    }
}
