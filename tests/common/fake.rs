//! A fake provider API on 127.0.0.1 (port 0): records every request and
//! answers from a handler, so tests can assert request shapes and counts.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub url: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or(&self.url)
    }
}

/// The fake's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Never answer (a hanging connection).
    pub hang: bool,
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
            hang: false,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn hang() -> Reply {
        Reply {
            status: 200,
            headers: vec![],
            body: String::new(),
            hang: true,
        }
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

pub struct FakeServer {
    pub url: String,
    server: Arc<tiny_http::Server>,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeServer {
    /// Starts a server answering with `handler(request, index)`, where
    /// `index` counts requests from 0.
    pub fn start(handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        let log: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let server = Arc::clone(&server);
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for mut request in server.incoming_requests() {
                    let mut body = String::new();
                    let _ = request.as_reader().read_to_string(&mut body);
                    let recorded = Recorded {
                        method: request.method().as_str().to_string(),
                        url: request.url().to_string(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|h| {
                                (
                                    h.field.as_str().as_str().to_ascii_lowercase(),
                                    h.value.as_str().to_string(),
                                )
                            })
                            .collect(),
                        body,
                        at: Instant::now(),
                    };
                    let index = {
                        let mut log = log.lock().unwrap();
                        log.push(recorded.clone());
                        log.len() - 1
                    };
                    let handler = Arc::clone(&handler);
                    std::thread::spawn(move || {
                        let reply = handler(&recorded, index);
                        if reply.hang {
                            std::thread::sleep(Duration::from_secs(60));
                            return;
                        }
                        let mut response = tiny_http::Response::from_string(reply.body)
                            .with_status_code(reply.status);
                        for (name, value) in reply.headers {
                            if let Ok(header) =
                                tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                            {
                                response.add_header(header);
                            }
                        }
                        let _ = request.respond(response);
                    });
                }
            });
        }
        FakeServer {
            url: format!("http://127.0.0.1:{port}"),
            server,
            log,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
