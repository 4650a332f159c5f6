//! Fakes for the bot (tests/bot*.rs), on 127.0.0.1 through `FakeServer`:
//! the built-in fake providers and fake GitHub issues API that `bot drill`
//! uses (src/bot/drill/fake.rs, the contracts of ../shared/PROVIDERS.md),
//! with every request recorded and faults injected on top (429 with
//! Retry-After, 5xx, 403 rate limits, hanging answers, lost answers).
#![allow(dead_code)]

use crate::common::fake::{FakeServer, Recorded, Reply};
pub use leakstop::bot::drill::fake::FakeIssue;
use leakstop::bot::drill::fake::{FakeReply, FakeRequest, Github, Providers};
use std::sync::{Arc, Mutex};

/// A reply to give instead of the real one, `times` times, to requests
/// whose `METHOD path` starts with `matches`. `land` makes the real action
/// happen first (an answer lost after the work was done).
#[derive(Clone)]
pub struct Fault {
    pub matches: String,
    pub reply: Reply,
    pub times: usize,
    pub land: bool,
}

impl Fault {
    pub fn new(matches: &str, reply: Reply, times: usize) -> Fault {
        Fault {
            matches: matches.into(),
            reply,
            times,
            land: false,
        }
    }

    pub fn landed(mut self) -> Fault {
        self.land = true;
        self
    }
}

fn take_fault(faults: &Mutex<Vec<Fault>>, request: &Recorded) -> Option<(Reply, bool)> {
    let key = format!("{} {}", request.method, request.url);
    let mut faults = faults.lock().unwrap();
    let fault = faults
        .iter_mut()
        .find(|f| f.times > 0 && key.starts_with(&f.matches))?;
    fault.times -= 1;
    Some((fault.reply.clone(), fault.land))
}

pub struct FakeProviders {
    pub server: FakeServer,
    pub state: Arc<Mutex<Providers>>,
    pub faults: Arc<Mutex<Vec<Fault>>>,
}

/// Answers a recorded request with one of the built-in fakes.
fn reply(request: &Recorded, answer: impl FnOnce(&FakeRequest<'_>) -> FakeReply) -> Reply {
    let (path, query) = request.url.split_once('?').unwrap_or((&request.url, ""));
    let fake = answer(&FakeRequest {
        method: &request.method,
        path,
        query,
        headers: &request.headers,
        body: &request.body,
    });
    let mut out = Reply::json(fake.status, &fake.body);
    out.headers = fake.headers;
    out
}

impl FakeProviders {
    /// Starts the fake with these tokens live.
    pub fn start(live: &[&str]) -> FakeProviders {
        let state = Arc::new(Mutex::new(Providers {
            live: live.iter().map(|s| s.to_string()).collect(),
            ..Providers::default()
        }));
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::default();
        let (s, f) = (Arc::clone(&state), Arc::clone(&faults));
        let server = FakeServer::start(move |request, _| {
            let fault = take_fault(&f, request);
            if let Some((reply, false)) = &fault {
                return reply.clone();
            }
            let real = reply(request, |r| s.lock().unwrap().answer(r));
            fault.map(|(reply, _)| reply).unwrap_or(real)
        });
        FakeProviders {
            server,
            state,
            faults,
        }
    }

    pub fn fault(&self, fault: Fault) {
        self.faults.lock().unwrap().push(fault);
    }

    /// Environment pointing every provider the fake plays at it.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            "GITHUB",
            "GITLAB",
            "SLACK",
            "NPM",
            "STRIPE",
            "AWS",
            "AWS_IAM",
            "SENDGRID",
            "DISCORD",
            "OPENAI",
            "ANTHROPIC",
            "DATADOG",
            "GOOGLE",
            "GOOGLE_APIKEYS",
            "GOOGLE_IAM",
            "GOOGLE_OAUTH",
            "TWILIO",
        ]
        .iter()
        .map(|p| (format!("LEAKSTOP_VERIFY_URL_{p}"), self.server.url.clone()))
        .collect()
    }

    /// `METHOD path` of every request, in order.
    pub fn calls(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path()))
            .collect()
    }

    pub fn count(&self, call: &str) -> usize {
        self.calls().iter().filter(|c| *c == call).count()
    }
}

pub struct FakeGithub {
    pub server: FakeServer,
    pub state: Arc<Mutex<Github>>,
    pub faults: Arc<Mutex<Vec<Fault>>>,
}

impl FakeGithub {
    pub fn start() -> FakeGithub {
        let state = Arc::new(Mutex::new(Github {
            token: "test-bot-token".into(),
            ..Github::default()
        }));
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::default();
        let (s, f) = (Arc::clone(&state), Arc::clone(&faults));
        let server = FakeServer::start(move |request, _| {
            let fault = take_fault(&f, request);
            if let Some((reply, false)) = &fault {
                return reply.clone();
            }
            let real = reply(request, |r| s.lock().unwrap().answer(r));
            fault.map(|(reply, _)| reply).unwrap_or(real)
        });
        FakeGithub {
            server,
            state,
            faults,
        }
    }

    pub fn fault(&self, fault: Fault) {
        self.faults.lock().unwrap().push(fault);
    }

    pub fn issues(&self) -> Vec<FakeIssue> {
        self.state.lock().unwrap().issues.clone()
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("LEAKSTOP_GITHUB_API".into(), self.server.url.clone()),
            ("GITHUB_TOKEN".into(), "test-bot-token".into()),
        ]
    }

    /// `METHOD path` of every request that changed something.
    pub fn writes(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {}", r.method, r.path()))
            .collect()
    }
}
