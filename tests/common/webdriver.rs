//! A small WebDriver client (W3C protocol, JSON over HTTP to a local
//! chromedriver) for the browser tests: Debian's `chromium` and
//! `chromium-driver`, headless, with a fresh profile and every background
//! service that would reach the network switched off. Missing browser or
//! driver is a test failure with the install command, never a skip.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// An HTTP answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// One request with ureq (no status is an error): `body` is sent as is.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
    let agent = agent();
    let mut response = match method {
        "GET" => {
            let mut request = agent.get(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call()
        }
        "DELETE" => {
            let mut request = agent.delete(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call()
        }
        _ => {
            let mut request = agent.post(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send(body.unwrap_or(""))
        }
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    Answer {
        status: response.status().as_u16(),
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// A headless Chromium session; ended (and the driver killed) on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
    /// Where screenshots go.
    pub shots: PathBuf,
}

impl Browser {
    pub fn start() -> Browser {
        let chromium = find_program("chromium").unwrap_or_else(|| {
            panic!("the browser tests need Debian's chromium: apt-get install -y chromium chromium-driver")
        });
        let chromedriver = find_program("chromedriver").unwrap_or_else(|| {
            panic!(
                "the browser tests need chromedriver: apt-get install -y chromium chromium-driver"
            )
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = agent()
                .get(&format!("{base}/status"))
                .call()
                .ok()
                .is_some_and(|r| r.status().as_u16() == 200);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start on {base}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            _profile: profile,
            shots,
        };
        let created = browser.command(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args}
            }}}),
        );
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser
    }

    /// Sends a command; panics with the driver's message on an error.
    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        match self.try_command(method, path, body) {
            Ok(value) => value,
            Err(message) => panic!("webdriver {method} {path}: {message}"),
        }
    }

    fn try_command(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let text = body.to_string();
        let answer = http(
            method,
            &url,
            &[("content-type", "application/json")],
            Some(&text),
        );
        let value: Value = serde_json::from_str(&answer.body).map_err(|e| e.to_string())?;
        if answer.status >= 400 {
            return Err(value["value"]["message"]
                .as_str()
                .unwrap_or(&answer.body)
                .to_string());
        }
        Ok(value["value"].clone())
    }

    fn session(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.command("POST", &self.session("/url"), json!({ "url": url }));
    }

    pub fn url(&self) -> String {
        self.command("GET", &self.session("/url"), json!({}))
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn find_all(&self, css: &str) -> Vec<String> {
        self.command(
            "POST",
            &self.session("/elements"),
            json!({"using": "css selector", "value": css}),
        )
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|e| e[ELEMENT].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
    }

    pub fn find(&self, css: &str) -> String {
        self.find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css} on {}", self.url()))
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &self.session(&format!("/element/{element}/click")),
            json!({}),
        );
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &self.session(&format!("/element/{element}/value")),
            json!({ "text": text }),
        );
    }

    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.command(
            "GET",
            &self.session(&format!("/element/{element}/text")),
            json!({}),
        )
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub fn exec(&self, script: &str) -> Value {
        self.command(
            "POST",
            &self.session("/execute/sync"),
            json!({"script": script, "args": []}),
        )
    }

    /// Waits until `script` returns true (pages load asynchronously).
    pub fn wait_for(&self, script: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.exec(script) != Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG screenshot as `name` in [`Browser::shots`].
    pub fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine as _;
        let data = self.command("GET", &self.session("/screenshot"), json!({}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or(""))
            .expect("a base64 PNG");
        let path = self.shots.join(name);
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub fn file_url(path: &Path) -> String {
        format!("file://{}", path.display())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_command("DELETE", &self.session(""), json!({}));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
