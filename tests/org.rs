//! Org scans (`leakstop scan github`) against a fake GitHub on 127.0.0.1:
//! the REST API lists an organisation of 123 repositories over four pages
//! (with a 429 and a spent-limit 403 on the way), and `git http-backend`
//! serves real repositories made by the test over smart HTTP, both behind
//! the same token. The org scan finds the planted secrets in the right
//! repositories and commits; a second run scans nothing new and reports
//! the same; a new commit is scanned alone; two shards cover every
//! repository once and merge into the unsharded report.

mod common;

use common::{Output, Tree, GITHUB_OAUTH, GITHUB_PAT, GITHUB_PAT_2};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The token the fake accepts; it must never show anywhere.
const TOKEN: &str = "tok_4f1c9e0b7d2a5e8c3f6a9d1b4e7c0a2d";
const PAGE_SIZE: usize = 40;
const PLAIN_REPOS: usize = 120;

struct FakeGithub {
    port: u16,
    root: tempfile::TempDir,
    /// Listed repositories: (full name, fork).
    listed: Vec<(String, bool)>,
    requests: Arc<Mutex<Vec<String>>>,
    rate_limited: Arc<AtomicUsize>,
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Ada Lovelace",
            "-c",
            "user.email=ada@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A work repository with one commit per `(path, contents)` list; the id
/// of each commit.
fn work_repo(dir: &Path, commits: &[&[(&str, String)]]) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    let mut ids = Vec::new();
    for (n, files) in commits.iter().enumerate() {
        for (path, contents) in files.iter() {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, contents).unwrap();
        }
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-qm", &format!("commit {n}")]);
        ids.push(git(dir, &["rev-parse", "HEAD"]));
    }
    ids
}

impl FakeGithub {
    /// Starts the fake with the planted repositories; returns it and the
    /// commits the secrets were planted in, by repository.
    fn start() -> (FakeGithub, BTreeMap<String, String>) {
        let root = tempfile::tempdir().unwrap();
        let acme = root.path().join("acme");
        let work = root.path().join("work");
        let template = work.join("template");
        work_repo(
            &template,
            &[
                &[("README.md", "# a service\n".into())],
                &[("src/main.py", "print('hi')\n".into())],
            ],
        );
        let mut listed = Vec::new();
        let mut planted = BTreeMap::new();
        let special = |name: &str, commits: &[&[(&str, String)]], secret_commit: usize| {
            let dir = work.join(name);
            let ids = work_repo(&dir, commits);
            git(
                root.path(),
                &[
                    "clone",
                    "-q",
                    "--bare",
                    dir.to_str().unwrap(),
                    acme.join(format!("{name}.git")).to_str().unwrap(),
                ],
            );
            ids[secret_commit].clone()
        };
        for n in 0..PLAIN_REPOS {
            let name = format!("repo-{n:03}");
            match n {
                7 => {
                    let c = special(
                        &name,
                        &[
                            &[("README.md", "x\n".into())],
                            &[("config.env", format!("GITHUB_TOKEN={GITHUB_PAT}\n"))],
                            &[("README.md", "y\n".into())],
                        ],
                        1,
                    );
                    planted.insert(format!("acme/{name}"), c);
                }
                42 => {
                    let c = special(
                        &name,
                        &[
                            &[("deploy/.env", format!("TOKEN={GITHUB_OAUTH}\n"))],
                            &[("README.md", "z\n".into())],
                        ],
                        0,
                    );
                    planted.insert(format!("acme/{name}"), c);
                }
                _ => {
                    git(
                        root.path(),
                        &[
                            "clone",
                            "-q",
                            "--bare",
                            template.to_str().unwrap(),
                            acme.join(format!("{name}.git")).to_str().unwrap(),
                        ],
                    );
                }
            }
            listed.push((format!("acme/{name}"), false));
        }
        // A fork holding a secret: not scanned without --include-forks.
        special(
            "forked",
            &[&[("leak.env", format!("T={GITHUB_PAT_2}\n"))]],
            0,
        );
        listed.push(("acme/forked".into(), true));
        // An empty repository, and one the API lists but git no longer serves.
        git(
            root.path(),
            &[
                "init",
                "-q",
                "--bare",
                acme.join("empty.git").to_str().unwrap(),
            ],
        );
        listed.push(("acme/empty".into(), false));
        listed.push(("acme/gone".into(), false));

        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let rate_limited = Arc::new(AtomicUsize::new(0));
        let state = Serve {
            port,
            project_root: root.path().to_path_buf(),
            listed: listed.clone(),
            requests: requests.clone(),
            rate_limited: rate_limited.clone(),
        };
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                state.answer(request);
            }
        });
        (
            FakeGithub {
                port,
                root,
                listed,
                requests,
                rate_limited,
            },
            planted,
        )
    }

    fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Adds a commit to a served repository; its id.
    fn push_commit(&self, name: &str, path: &str, contents: &str) -> String {
        let work = self.root.path().join("work").join(format!("{name}-more"));
        let bare = self.root.path().join("acme").join(format!("{name}.git"));
        git(
            self.root.path(),
            &[
                "clone",
                "-q",
                bare.to_str().unwrap(),
                work.to_str().unwrap(),
            ],
        );
        std::fs::write(work.join(path), contents).unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-qm", "more"]);
        git(&work, &["push", "-q", "origin", "HEAD"]);
        git(&work, &["rev-parse", "HEAD"])
    }
}

struct Serve {
    port: u16,
    project_root: PathBuf,
    listed: Vec<(String, bool)>,
    requests: Arc<Mutex<Vec<String>>>,
    rate_limited: Arc<AtomicUsize>,
}

fn header(request: &tiny_http::Request, name: &str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

fn reply(request: tiny_http::Request, status: u16, headers: &[(&str, String)], body: Vec<u8>) {
    let mut response = tiny_http::Response::from_data(body).with_status_code(status);
    for (name, value) in headers {
        response
            .add_header(tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap());
    }
    let _ = request.respond(response);
}

impl Serve {
    fn answer(&self, mut request: tiny_http::Request) {
        let url = request.url().to_string();
        self.requests
            .lock()
            .unwrap()
            .push(format!("{} {url}", request.method()));
        if let Some(rest) = url.strip_prefix("/git/") {
            let expected = format!(
                "Basic {}",
                common::b64(format!("x-access-token:{TOKEN}").as_bytes())
            );
            if header(&request, "Authorization").as_deref() != Some(expected.as_str()) {
                let challenge = [("WWW-Authenticate", "Basic realm=\"git\"".to_string())];
                return reply(
                    request,
                    401,
                    &challenge,
                    b"authentication required".to_vec(),
                );
            }
            let mut body = Vec::new();
            request.as_reader().read_to_end(&mut body).unwrap();
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            let mut cgi = Command::new("git");
            cgi.arg("http-backend")
                .env("GIT_PROJECT_ROOT", &self.project_root)
                .env("GIT_HTTP_EXPORT_ALL", "1")
                .env("PATH_INFO", format!("/{path}"))
                .env("QUERY_STRING", query)
                .env("REQUEST_METHOD", request.method().as_str())
                .env("CONTENT_LENGTH", body.len().to_string())
                .env(
                    "CONTENT_TYPE",
                    header(&request, "Content-Type").unwrap_or_default(),
                )
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            if let Some(protocol) = header(&request, "Git-Protocol") {
                cgi.env("GIT_PROTOCOL", protocol);
            }
            if let Some(encoding) = header(&request, "Content-Encoding") {
                cgi.env("HTTP_CONTENT_ENCODING", encoding);
            }
            let mut child = cgi.spawn().unwrap();
            let mut stdin = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = std::io::Write::write_all(&mut stdin, &body);
            });
            let output = child.wait_with_output().unwrap();
            let split = output
                .stdout
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| (p, 4))
                .or_else(|| {
                    output
                        .stdout
                        .windows(2)
                        .position(|w| w == b"\n\n")
                        .map(|p| (p, 2))
                });
            let Some((at, gap)) = split else {
                return reply(request, 500, &[], b"bad CGI output".to_vec());
            };
            let head = String::from_utf8_lossy(&output.stdout[..at]).to_string();
            let mut status = 200;
            let mut headers = Vec::new();
            for line in head.lines() {
                let Some((name, value)) = line.split_once(':') else {
                    continue;
                };
                if name.eq_ignore_ascii_case("Status") {
                    status = value.trim()[..3].parse().unwrap_or(500);
                } else {
                    headers.push((name.trim(), value.trim().to_string()));
                }
            }
            let headers: Vec<(&str, String)> = headers;
            return reply(
                request,
                status,
                &headers,
                output.stdout[at + gap..].to_vec(),
            );
        }
        if header(&request, "Authorization").as_deref() != Some(format!("Bearer {TOKEN}").as_str())
        {
            return reply(
                request,
                401,
                &[],
                br#"{"message":"Requires authentication"}"#.to_vec(),
            );
        }
        let Some(query) = url.strip_prefix("/orgs/acme/repos?") else {
            return reply(request, 404, &[], br#"{"message":"Not Found"}"#.to_vec());
        };
        let page: usize = query
            .split('&')
            .find_map(|p| p.strip_prefix("page="))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        // The first request for page 2 meets a 429, the first for page 3 a spent limit.
        let limited = self.rate_limited.load(Ordering::SeqCst);
        if page == 2 && limited == 0 {
            self.rate_limited.fetch_add(1, Ordering::SeqCst);
            return reply(
                request,
                429,
                &[("Retry-After", "1".into())],
                br#"{"message":"slow down"}"#.to_vec(),
            );
        }
        if page == 3 && limited == 1 {
            self.rate_limited.fetch_add(1, Ordering::SeqCst);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let headers = [
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", (now + 1).to_string()),
            ];
            return reply(
                request,
                403,
                &headers,
                br#"{"message":"API rate limit exceeded"}"#.to_vec(),
            );
        }
        let items: Vec<Value> = self
            .listed
            .iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|(name, fork)| {
                serde_json::json!({
                    "full_name": name,
                    "clone_url": format!("http://127.0.0.1:{}/git/{name}.git", self.port),
                    "fork": fork,
                    "archived": false,
                    "private": false,
                    "visibility": "public",
                    "topics": [],
                })
            })
            .collect();
        let mut headers = vec![("Content-Type", "application/json".to_string())];
        if page * PAGE_SIZE < self.listed.len() {
            headers.push((
                "Link",
                format!(
                    "<http://127.0.0.1:{}/orgs/acme/repos?type=all&per_page=100&page={}>; rel=\"next\"",
                    self.port,
                    page + 1
                ),
            ));
        }
        reply(request, 200, &headers, serde_json::to_vec(&items).unwrap());
    }
}

fn org_scan(
    tree: &Tree,
    fake: &FakeGithub,
    cache: &Path,
    out: &str,
    extra: &[&str],
) -> (Output, Value) {
    let mut args = vec![
        "scan",
        "--format",
        "json",
        "--output",
        out,
        "github",
        "--org",
        "acme",
        "--api-url",
    ];
    let api = fake.api();
    let cache = cache.to_str().unwrap().to_string();
    args.push(&api);
    args.extend(["--cache-dir", &cache]);
    args.extend(extra);
    let output = tree.leakstop_env(&args, &[("GITHUB_TOKEN".into(), TOKEN.into())]);
    assert!(!output.stdout.contains(TOKEN) && !output.stderr.contains(TOKEN));
    let text = std::fs::read_to_string(tree.join(out))
        .unwrap_or_else(|_| panic!("no report: {}", output.stderr));
    assert!(!text.contains(TOKEN));
    (output, serde_json::from_str(&text).unwrap())
}

/// (repository, path, commit, rule) of every finding.
fn places(report: &Value) -> Vec<(String, String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["repository"].as_str().unwrap_or_default().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["commit"]["id"].as_str().unwrap_or_default().to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The clones a run left in its cache, by name.
fn clones(cache: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for host in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        for owner in std::fs::read_dir(host.path()).unwrap().flatten() {
            for repo in std::fs::read_dir(owner.path()).unwrap().flatten() {
                names.insert(format!(
                    "{}/{}",
                    owner.file_name().to_string_lossy(),
                    repo.file_name().to_string_lossy().trim_end_matches(".git")
                ));
            }
        }
    }
    names
}

/// No file under `dir` holds `needle`.
fn assert_nowhere(dir: &Path, needle: &str) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            assert_nowhere(&path, needle);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{}",
                path.display()
            );
        }
    }
}

fn stats_without_time(report: &Value) -> Value {
    let mut stats = report["stats"].clone();
    stats.as_object_mut().unwrap().remove("elapsed_ms");
    stats
}

#[test]
fn org_scan_is_complete_incremental_and_shardable() {
    let (fake, planted) = FakeGithub::start();
    let tree = Tree::new();
    let cache = tree.join("cache");

    // First run: every page listed through both rate limits, every repository cloned.
    let (first, report) = org_scan(&tree, &fake, &cache, "first.json", &[]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert_eq!(fake.rate_limited.load(Ordering::SeqCst), 2);
    assert!(first.stderr.contains("rate limit"), "{}", first.stderr);
    let pages = fake
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.starts_with("GET /orgs/acme/repos"))
        .count();
    assert_eq!(pages, 4 + 2, "four pages, two of them asked twice");
    let mut expected = vec![
        (
            "acme/repo-007".to_string(),
            "config.env".to_string(),
            planted["acme/repo-007"].clone(),
            "github.pat".to_string(),
        ),
        (
            "acme/repo-042".to_string(),
            "deploy/.env".to_string(),
            planted["acme/repo-042"].clone(),
            "github.oauth".to_string(),
        ),
    ];
    let found = places(&report);
    let rules: Vec<&str> = found.iter().map(|p| p.3.as_str()).collect();
    for (place, rule) in expected.iter_mut().zip(&rules) {
        place.3 = rule.to_string();
    }
    assert_eq!(found, expected, "{}", first.stderr);
    assert!(rules.iter().all(|r| r.starts_with("github")), "{rules:?}");
    let errors = report["stats"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "acme/gone");
    let warnings = serde_json::to_string(&report["stats"]["warnings"]).unwrap();
    assert!(
        warnings.contains("acme/empty") && warnings.contains("empty"),
        "{warnings}"
    );
    assert!(report["stats"]["files_scanned"].as_u64().unwrap() >= 120);
    let mut all: BTreeSet<String> = fake
        .listed
        .iter()
        .filter(|(_, fork)| !fork)
        .map(|(n, _)| n.clone())
        .collect();
    all.remove("acme/gone");
    assert_eq!(clones(&cache), all);
    assert_nowhere(&cache, TOKEN);
    // The state stores findings redacted, as reports show them.
    assert_nowhere(&cache, GITHUB_PAT);

    // Second run: nothing new anywhere, the same findings.
    let (second, again) = org_scan(&tree, &fake, &cache, "second.json", &[]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert_eq!(again["findings"], report["findings"]);
    assert_eq!(again["stats"]["files_scanned"], 0, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("0 repositories scanned, 121 unchanged"),
        "{}",
        second.stderr
    );

    // A new commit in one repository is scanned alone.
    let added = fake.push_commit("repo-099", "later.env", &format!("K={GITHUB_PAT_2}\n"));
    let (third, after) = org_scan(&tree, &fake, &cache, "third.json", &[]);
    assert!(
        third
            .stderr
            .contains("1 repositories scanned, 120 unchanged"),
        "{}",
        third.stderr
    );
    assert_eq!(after["stats"]["files_scanned"], 1, "{}", third.stderr);
    let mut now = places(&after);
    let new: Vec<_> = now
        .iter()
        .filter(|p| p.0 == "acme/repo-099")
        .cloned()
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(
        (new[0].1.as_str(), new[0].2.as_str()),
        ("later.env", added.as_str())
    );
    now.retain(|p| p.0 != "acme/repo-099");
    assert_eq!(now, found);

    // Two shards, each on its own machine (cache), cover every repository once…
    let full = org_scan(&tree, &fake, &cache, "full.json", &["--full"]).1;
    assert_eq!(places(&full), places(&after));
    let shard_cache = [tree.join("cache-1"), tree.join("cache-2")];
    let one = org_scan(
        &tree,
        &fake,
        &shard_cache[0],
        "shard-1.json",
        &["--shard", "1/2"],
    )
    .1;
    let two = org_scan(
        &tree,
        &fake,
        &shard_cache[1],
        "shard-2.json",
        &["--shard", "2/2"],
    )
    .1;
    let (a, b) = (clones(&shard_cache[0]), clones(&shard_cache[1]));
    assert!(a.is_disjoint(&b) && !a.is_empty() && !b.is_empty());
    assert_eq!(a.union(&b).cloned().collect::<BTreeSet<_>>(), all);
    let gone_errors = [&one, &two]
        .iter()
        .map(|r| r["stats"]["errors"].as_array().unwrap().len())
        .sum::<usize>();
    assert_eq!(gone_errors, 1);

    // …and merge into the unsharded report.
    let merged = tree.leakstop(&[
        "report",
        "merge",
        "shard-1.json",
        "shard-2.json",
        "-o",
        "merged.json",
    ]);
    assert_eq!(merged.code, 1, "{}", merged.stderr);
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(tree.join("merged.json")).unwrap()).unwrap();
    assert_eq!(merged["findings"], full["findings"]);
    assert_eq!(stats_without_time(&merged), stats_without_time(&full));
    let sarif = tree.leakstop(&[
        "report",
        "merge",
        "shard-2.json",
        "shard-1.json",
        "--format",
        "sarif",
    ]);
    let sarif: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["properties"]["repository"]
        .as_str()
        .is_some_and(|n| n.starts_with("acme/"))));
}
