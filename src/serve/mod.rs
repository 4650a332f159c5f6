//! `leakstop serve`: a small web dashboard over the bot's incident store
//! and audit log (docs/dashboard.md), with the bot's emergency actions.
//!
//! Why it is built this way:
//! - it listens on loopback unless the operator names another address, since
//!   it shows where every key leaked and can revoke keys;
//! - reading needs nothing; acting (revoke one incident, revoke every live
//!   key of a provider) needs the token given at start-up, compared in
//!   constant time, plus the page's CSRF token and an explicit confirmation,
//!   so a page on another origin cannot make the browser act;
//! - actions go through the caller's `Revoker`, which is the `bot revoke`
//!   path itself: audited, journaled, leased and idempotent, never a copy;
//! - no secret is ever shown (the store holds none), every response carries
//!   a strict Content-Security-Policy, the only script is a static file
//!   from the binary, and every text is escaped (paths and commit messages
//!   may hold markup).

mod data;
mod pages;

pub use data::{Filter, IncidentDetail, IncidentRow, ProviderTimes};

use crate::bot::policy::Policy;
use crate::bot::run::{Selector, Summary};
use crate::bot::store::Store;
use crate::finding::Secret;
use axum::extract::{Form, Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The default address: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:8765";

/// Environment variable that may name the address; only a loopback one is
/// taken from it (a wider one must be given on the command line).
pub const BIND_ENV: &str = "LEAKSTOP_SERVE_BIND";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SCRIPT: &str = include_str!("assets/dashboard.js");
const STYLE: &str = include_str!("assets/dashboard.css");

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("--bind {0}: not an address (expected IP or IP:PORT)")]
    BadAddress(String),
    #[error("refusing to listen on {0}: it is not a loopback address; give it with --bind on the command line to expose the dashboard beyond this machine")]
    NotLoopback(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serve: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs an emergency action through the bot's revoke path; the text is
/// what `bot revoke` prints, the summary its per-state counts.
pub type Revoker = Arc<dyn Fn(Selector) -> Result<(Summary, String), String> + Send + Sync>;

/// Where and how the dashboard runs.
pub struct Options {
    pub store: PathBuf,
    pub audit_log: PathBuf,
    pub bind: SocketAddr,
    pub token: Secret,
    pub policy: Policy,
    /// `None` when serve was started without `--findings`: actions are
    /// then refused, since revocation needs the secrets.
    pub revoker: Option<Revoker>,
    /// Where repositories are seen (`https://github.com`, or GHES).
    pub web: String,
}

/// The address to listen on and, for a non-loopback one, the warning to
/// print. `explicit` is `--bind`; `env` is [`BIND_ENV`]'s value.
pub fn resolve_bind(
    explicit: Option<&str>,
    env: Option<&str>,
) -> Result<(SocketAddr, Option<String>), ServeError> {
    let text = explicit.or(env).unwrap_or(DEFAULT_BIND);
    let addr = parse_addr(text)?;
    if addr.ip().is_loopback() {
        return Ok((addr, None));
    }
    if explicit.is_none() {
        return Err(ServeError::NotLoopback(text.to_string()));
    }
    Ok((
        addr,
        Some(format!(
            "leakstop: warning: the dashboard listens on {addr}, reachable from other machines; \
             it shows where keys leaked, and anyone holding the token can revoke keys"
        )),
    ))
}

fn parse_addr(text: &str) -> Result<SocketAddr, ServeError> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let port = DEFAULT_BIND
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(8765);
    text.trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, port))
        .map_err(|_| ServeError::BadAddress(text.to_string()))
}

/// Equality that takes the same time wherever the inputs differ: both
/// sides are hashed to a fixed length, then compared with an xor fold.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let x = ring::digest::digest(&ring::digest::SHA256, a);
    let y = ring::digest::digest(&ring::digest::SHA256, b);
    x.as_ref()
        .iter()
        .zip(y.as_ref())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

fn random_hex() -> Result<String, ServeError> {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| std::io::Error::other("no system randomness"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

struct App {
    store: PathBuf,
    audit_log: PathBuf,
    token: Secret,
    /// One per server start; every form carries it.
    csrf: String,
    policy: Policy,
    revoker: Option<Revoker>,
    web: String,
    /// Host headers accepted when listening on loopback (DNS rebinding).
    hosts: Vec<String>,
    /// One emergency action at a time.
    acting: Mutex<()>,
}

type Shared = Arc<App>;

/// Serves until the process ends; `ready` gets the bound address (port 0
/// picks a free one) once the socket listens.
pub fn serve(options: Options, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.bind)
            .await
            .map_err(|source| ServeError::Listen {
                addr: options.bind,
                source,
            })?;
        let addr = listener.local_addr()?;
        let hosts = if addr.ip().is_loopback() {
            let port = addr.port();
            vec![
                format!("127.0.0.1:{port}"),
                format!("localhost:{port}"),
                format!("[::1]:{port}"),
            ]
        } else {
            Vec::new()
        };
        let app = Arc::new(App {
            store: options.store,
            audit_log: options.audit_log,
            token: options.token,
            csrf: random_hex()?,
            policy: options.policy,
            revoker: options.revoker,
            web: options.web,
            hosts,
            acting: Mutex::new(()),
        });
        ready(addr);
        axum::serve(listener, router(app)).await?;
        Ok(())
    })
}

fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/incidents/{id}", get(incident))
        .route(
            "/incidents/{id}/revoke",
            get(confirm_incident).post(revoke_incident),
        )
        .route(
            "/providers/{provider}/revoke-live",
            get(confirm_provider).post(revoke_provider),
        )
        .route("/static/dashboard.js", get(script))
        .route("/static/dashboard.css", get(style))
        .route("/api/incidents", get(api_incidents))
        .route("/api/incidents/{id}", get(api_incident))
        .route(
            "/api/incidents/{id}/revoke",
            axum::routing::post(api_revoke_incident),
        )
        .route("/api/time-to-revoke", get(api_times))
        .route(
            "/api/providers/{provider}/revoke-live",
            axum::routing::post(api_revoke_provider),
        )
        .layer(middleware::from_fn_with_state(Arc::clone(&app), guard))
        .with_state(app)
}

/// Every response: the security headers; every request on loopback: a
/// Host naming loopback, so a rebound DNS name cannot reach the dashboard.
async fn guard(State(app): State<Shared>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let mut response = if !app.hosts.is_empty() && !app.hosts.iter().any(|h| h == host) {
        (StatusCode::MISDIRECTED_REQUEST, "unexpected Host header\n").into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // `same-origin`, not `no-referrer`: with the latter browsers send
        // `Origin: null` on form posts, and the origin check needs the origin.
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Runs store reads off the async thread.
async fn with_store<T: Send + 'static>(
    app: &Shared,
    work: impl FnOnce(&App, &Store) -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    let app = Arc::clone(app);
    let joined = tokio::task::spawn_blocking(move || {
        let store = Store::open(&app.store).map_err(|e| format!("{}: {e}", app.store.display()))?;
        work(&app, &store)
    })
    .await;
    match joined {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(failure(StatusCode::INTERNAL_SERVER_ERROR, &message)),
        Err(e) => Err(failure(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())),
    }
}

fn failure(status: StatusCode, message: &str) -> Response {
    (status, Html(pages::message(status.as_str(), message, None))).into_response()
}

fn now() -> i64 {
    crate::bot::clock::now()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

async fn index(State(app): State<Shared>, Query(filter): Query<Filter>) -> Response {
    let shown = filter.clone();
    let result = with_store(&app, move |app, store| {
        let all = data::list(store, &app.policy, &Filter::default(), now())?;
        let rows = data::list(store, &app.policy, &shown, now())?;
        let times = data::time_to_revoke(store, &app.policy, now()).map_err(|e| e.to_string())?;
        Ok(pages::index(&all, &rows, &times, &shown))
    })
    .await;
    match result {
        Ok(page) => Html(page).into_response(),
        Err(response) => response,
    }
}

async fn load_detail(app: &Shared, id: i64) -> Result<IncidentDetail, Response> {
    let found = with_store(app, move |app, store| {
        data::detail(store, &app.policy, &app.audit_log, &app.web, id, now())
            .map_err(|e| e.to_string())
    })
    .await?;
    found.ok_or_else(|| failure(StatusCode::NOT_FOUND, &format!("no incident {id}")))
}

async fn incident(State(app): State<Shared>, UrlPath(id): UrlPath<i64>) -> Response {
    match load_detail(&app, id).await {
        Ok(detail) => Html(pages::incident(&detail)).into_response(),
        Err(response) => response,
    }
}

async fn confirm_incident(State(app): State<Shared>, UrlPath(id): UrlPath<i64>) -> Response {
    match load_detail(&app, id).await {
        Ok(detail) => Html(pages::confirm_incident(
            &detail,
            &app.csrf,
            app.revoker.is_some(),
        ))
        .into_response(),
        Err(response) => response,
    }
}

async fn confirm_provider(
    State(app): State<Shared>,
    UrlPath(provider): UrlPath<String>,
) -> Response {
    let name = provider.clone();
    let result = with_store(&app, move |app, store| {
        let live = data::live_of_provider(store, &name).map_err(|e| e.to_string())?;
        let rows = data::list(store, &app.policy, &Filter::default(), now())?;
        Ok(rows
            .into_iter()
            .filter(|r| live.iter().any(|i| i.id == r.id))
            .collect::<Vec<_>>())
    })
    .await;
    match result {
        Ok(rows) => Html(pages::confirm_provider(
            &provider,
            &rows,
            &app.csrf,
            app.revoker.is_some(),
        ))
        .into_response(),
        Err(response) => response,
    }
}

/// The emergency form: CSRF token, the operator's token, the confirmation.
#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    confirm: String,
}

/// Checks a form post; the error is the page to answer with.
fn check_form(
    app: &App,
    headers: &HeaderMap,
    form: &ActionForm,
) -> Result<(), (StatusCode, &'static str)> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if origin != format!("http://{host}") && origin != format!("https://{host}") {
            return Err((StatusCode::FORBIDDEN, "cross-origin request refused"));
        }
    }
    if form.csrf.is_empty() || !constant_time_eq(form.csrf.as_bytes(), app.csrf.as_bytes()) {
        return Err((
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token: reload the confirmation page and try again",
        ));
    }
    if form.confirm != "yes" {
        return Err((
            StatusCode::BAD_REQUEST,
            "not confirmed: tick the confirmation box",
        ));
    }
    if !constant_time_eq(form.token.as_bytes(), app.token.expose().as_bytes()) {
        return Err((StatusCode::FORBIDDEN, "wrong token: nothing was done"));
    }
    Ok(())
}

fn bearer_ok(app: &App, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), app.token.expose().as_bytes()))
}

/// Runs an action through the revoker on a thread of its own (the bot
/// starts its own runtime for GitHub calls), one action at a time.
async fn act(app: &Shared, selector: Selector) -> Result<(Summary, String), (StatusCode, String)> {
    let Some(revoker) = app.revoker.clone() else {
        return Err((
            StatusCode::CONFLICT,
            "serve was started without --findings: revocation needs the report holding the secrets"
                .into(),
        ));
    };
    let app = Arc::clone(app);
    let joined = tokio::task::spawn_blocking(move || {
        let _one = app
            .acting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::thread::spawn(move || revoker(selector))
            .join()
            .unwrap_or_else(|payload| {
                let why = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(format!("the revocation panicked: {why}"))
            })
    })
    .await;
    match joined {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(message)) => Err((StatusCode::BAD_GATEWAY, message)),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

async fn act_page(app: &Shared, selector: Selector, back: String) -> Response {
    match act(app, selector).await {
        Ok((summary, text)) => Html(pages::acted(&summary, &text, &back)).into_response(),
        Err((status, message)) => failure(status, &message),
    }
}

async fn revoke_incident(
    State(app): State<Shared>,
    UrlPath(id): UrlPath<i64>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err((status, message)) = check_form(&app, &headers, &form) {
        return failure(status, message);
    }
    act_page(&app, Selector::Incident(id), format!("/incidents/{id}")).await
}

async fn revoke_provider(
    State(app): State<Shared>,
    UrlPath(provider): UrlPath<String>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err((status, message)) = check_form(&app, &headers, &form) {
        return failure(status, message);
    }
    act_page(&app, Selector::ProviderLive(provider), "/".into()).await
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

async fn api_incidents(State(app): State<Shared>, Query(filter): Query<Filter>) -> Response {
    match with_store(&app, move |app, store| {
        data::list(store, &app.policy, &filter, now())
    })
    .await
    {
        Ok(rows) => Json(serde_json::json!({ "incidents": rows })).into_response(),
        Err(_) => json_error(
            StatusCode::BAD_REQUEST,
            "cannot list incidents (check the filter)",
        ),
    }
}

async fn api_incident(State(app): State<Shared>, UrlPath(id): UrlPath<i64>) -> Response {
    match load_detail(&app, id).await {
        Ok(detail) => Json(detail).into_response(),
        Err(response) if response.status() == StatusCode::NOT_FOUND => {
            json_error(StatusCode::NOT_FOUND, "no such incident")
        }
        Err(_) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the store"),
    }
}

async fn api_times(State(app): State<Shared>) -> Response {
    match with_store(&app, |app, store| {
        data::time_to_revoke(store, &app.policy, now()).map_err(|e| e.to_string())
    })
    .await
    {
        Ok(times) => Json(serde_json::json!({ "providers": times })).into_response(),
        Err(_) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the store"),
    }
}

async fn api_act(app: &Shared, headers: &HeaderMap, selector: Selector) -> Response {
    if !bearer_ok(app, headers) {
        return json_error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    match act(app, selector).await {
        Ok((summary, _)) => Json(serde_json::json!({
            "incidents": summary.incidents,
            "by_state": summary.by_state,
            "live_left": summary.live_left,
            "errors": summary.errors,
        }))
        .into_response(),
        Err((status, message)) => json_error(status, &message),
    }
}

async fn api_revoke_incident(
    State(app): State<Shared>,
    UrlPath(id): UrlPath<i64>,
    headers: HeaderMap,
) -> Response {
    api_act(&app, &headers, Selector::Incident(id)).await
}

async fn api_revoke_provider(
    State(app): State<Shared>,
    UrlPath(provider): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    api_act(&app, &headers, Selector::ProviderLive(provider)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_default_and_wider_only_when_explicit() {
        let (addr, warning) = resolve_bind(None, None).unwrap();
        assert!(addr.ip().is_loopback() && warning.is_none());
        assert!(matches!(
            resolve_bind(None, Some("0.0.0.0:9000")),
            Err(ServeError::NotLoopback(_))
        ));
        let (addr, warning) = resolve_bind(Some("0.0.0.0"), None).unwrap();
        assert_eq!(addr.port(), 8765);
        assert!(warning.unwrap().contains("reachable from other machines"));
        assert!(resolve_bind(Some("[::1]:0"), None).unwrap().1.is_none());
        assert!(resolve_bind(Some("nowhere"), None).is_err());
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokem"));
        assert!(!constant_time_eq(b"token", b"token2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
