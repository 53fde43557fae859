//! The axum router: one handler per endpoint, the token check, and the headers every
//! response carries (`Content-Security-Policy: default-src 'self'`, so a stray CDN
//! reference fails in the browser and the browser test sees it; `[DashboardOutput]`
//! `[headers]` on top).
//!
//! Handlers only read the registry (atomics) and the history ring (a short lock);
//! the two that do work, reload and report, run on the blocking pool.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State as AxState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use heka_pipeline::Registry;
use serde::{Deserialize, Serialize};

use crate::data_files::{self, DataFile};
use crate::history::Ring;
use crate::{Hooks, OpsConfig, assets, health, metrics, outputs, report, status, tail};

/// The outcome of `POST /api/v1/reload`: 200 applied, 422 invalid (the old pipeline
/// keeps running), 409 another reload under way, 503 valid but not running (it could
/// not start and the previous configuration runs again, or hekad is stopping).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReloadOutcome {
    /// The new config runs.
    pub ok: bool,
    /// The new config passed validation (every file, section and key).
    #[serde(default)]
    pub valid: bool,
    /// The generation running after the attempt.
    pub generation: u64,
    /// Every problem found (`file:line: [section] key: message`), when not ok.
    pub errors: Vec<String>,
    /// Another reload was under way; nothing was done (answered 409).
    #[serde(default)]
    pub busy: bool,
    /// What the reload did to each plugin, once it got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ReloadChanges>,
}

/// The plugins (inputs, filters, outputs) a reload started, stopped, replaced and
/// kept running untouched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadChanges {
    /// New names, started.
    pub started: Vec<String>,
    /// Gone from the configuration, stopped with a drain.
    pub stopped: Vec<String>,
    /// Changed: stopped with a drain, the new version started.
    pub replaced: Vec<String>,
    /// Unchanged: left running (same thread, queue, connections and state).
    pub kept: Vec<String>,
    /// Replaced sandbox filters whose new version took over the old one's state.
    pub state_carried: Vec<String>,
    /// Set when every plugin restarted instead (the reason, e.g. `[hekad]` changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_restart: Option<String>,
    /// What went less well without failing the reload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Validates and applies the configuration again (blocking).
pub type ReloadHook = Arc<dyn Fn() -> ReloadOutcome + Send + Sync>;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct State(Arc<Inner>);

struct Inner {
    config: OpsConfig,
    registry: Arc<Registry>,
    ring: Arc<Mutex<Ring>>,
    hooks: Hooks,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl State {
    pub(crate) fn new(
        mut config: OpsConfig,
        bound: SocketAddr,
        registry: Arc<Registry>,
        ring: Arc<Mutex<Ring>>,
        hooks: Hooks,
    ) -> State {
        config.address = bound;
        let mut headers = vec![
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
                ),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ];
        for (name, value) in &config.headers {
            match (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                (Ok(n), Ok(v)) => headers.push((n, v)),
                _ => tracing::warn!(header = %name, "ops listener: invalid header ignored"),
            }
        }
        State(Arc::new(Inner {
            config,
            registry,
            ring,
            hooks,
            headers,
        }))
    }
}

/// Every route.
pub(crate) fn router(state: State) -> axum::Router {
    axum::Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::script))
        .route("/outputs.js", get(assets::outputs_script))
        .route("/app.css", get(assets::style))
        .route("/favicon.svg", get(assets::favicon))
        .route("/favicon.ico", get(assets::favicon))
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/status", get(status_json))
        .route("/api/v1/history", get(history_json))
        .route("/api/v1/terminations", get(terminations_json))
        .route("/api/v1/tail", get(tail_events))
        .route("/api/v1/sandbox_outputs", get(outputs_json))
        .route("/api/v1/sandbox_outputs/{plugin}/", get(unnamed_output))
        .route("/api/v1/sandbox_outputs/{plugin}/{name}", get(named_output))
        .route("/data/{file}", get(heka_output_file))
        .route("/api/v1/report", post(report_log))
        .route("/api/v1/reload", post(reload).get(reload_status))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            add_headers,
        ))
        .with_state(state)
}

async fn add_headers(AxState(state): AxState<State>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in &state.0.headers {
        headers.insert(name.clone(), value.clone());
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A JSON error body with a status.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct Body {
        error: String,
    }
    (
        status,
        Json(Body {
            error: message.into(),
        }),
    )
        .into_response()
}

/// The token check for calls that change things or reveal message data: needed
/// only when the listener is not on loopback. Some(response) = refused.
fn refused(state: &State, headers: &HeaderMap, query_token: Option<&str>) -> Option<Response> {
    let config = &state.0.config;
    if !config.token_required() {
        return None;
    }
    let Some(expected) = config.token.as_deref() else {
        return Some(error(
            StatusCode::FORBIDDEN,
            "the ops listener is not on loopback and no ops_token is set: this call is disabled",
        ));
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match bearer.or(query_token) {
        Some(given) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => None,
        _ => Some(error(
            StatusCode::UNAUTHORIZED,
            "a valid ops_token is required",
        )),
    }
}

/// The token rule of [`refused`] as an extractor: a handler that takes `Authorized`
/// runs only for a caller the rule lets through (the rejection is `refused`'s answer);
/// one that takes `Result<Authorized, Response>` decides itself when it applies.
struct Authorized;

impl FromRequestParts<State> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Response> {
        let token = Query::<TokenQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(q)| q.token);
        match refused(state, &parts.headers, token.as_deref()) {
            Some(denied) => Err(denied),
            None => Ok(Authorized),
        }
    }
}

/// Compares without stopping at the first difference (the token is a secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn metrics_text(AxState(state): AxState<State>) -> Response {
    let ring = state.0.ring.lock().ok();
    let text = metrics::render(&state.0.registry, ring.as_deref());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

async fn healthz(AxState(state): AxState<State>) -> Response {
    let live = health::liveness(&state.0.registry, state.0.config.liveness_timeout);
    let code = if live.live {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(live)).into_response()
}

async fn readyz(AxState(state): AxState<State>) -> Response {
    let ready = health::readiness(&state.0.registry);
    let code = if ready.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(ready)).into_response()
}

async fn status_json(AxState(state): AxState<State>) -> Json<status::Status> {
    let registry = &state.0.registry;
    let live = health::liveness(registry, state.0.config.liveness_timeout).live;
    let ready = health::readiness(registry).ready;
    Json(status::Status::read(registry, live, ready))
}

#[derive(Deserialize)]
struct HistoryQuery {
    seconds: Option<usize>,
}

async fn history_json(AxState(state): AxState<State>, Query(q): Query<HistoryQuery>) -> Response {
    let seconds = q.seconds.unwrap_or(usize::MAX);
    match state.0.ring.lock() {
        Ok(ring) => Json(ring.view(seconds)).into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "history unavailable"),
    }
}

#[derive(Serialize)]
struct TerminationView {
    time: f64,
    plugin: String,
    #[serde(rename = "type")]
    type_name: String,
    kind: &'static str,
    reason: &'static str,
    message: String,
    stats: std::collections::BTreeMap<&'static str, u64>,
}

async fn terminations_json(AxState(state): AxState<State>) -> Json<Vec<TerminationView>> {
    let list = state
        .0
        .registry
        .terminations()
        .into_iter()
        .rev()
        .map(|t| TerminationView {
            time: t.time_ns as f64 / 1e9,
            plugin: t.plugin,
            type_name: t.type_name,
            kind: t.kind.as_str(),
            reason: t.reason.as_str(),
            message: t.message,
            stats: t.snapshot.into_iter().collect(),
        })
        .collect();
    Json(list)
}

#[derive(Deserialize)]
struct TailQuery {
    #[serde(rename = "match")]
    matcher: Option<String>,
    limit: Option<u64>,
}

async fn tail_events(
    _: Authorized,
    AxState(state): AxState<State>,
    Query(q): Query<TailQuery>,
) -> Response {
    let expression = q.matcher.unwrap_or_else(|| "TRUE".to_owned());
    let matcher = match heka_message::Matcher::parse(&expression) {
        Ok(m) => m,
        Err(e) => {
            #[derive(Serialize)]
            struct Bad {
                error: String,
                offset: usize,
                expected: String,
                found: String,
            }
            let body = Bad {
                error: e.to_string(),
                offset: e.offset,
                expected: e.expected.clone(),
                found: e.found.clone(),
            };
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    match state.0.registry.taps.open(matcher) {
        Ok(tap) => Sse::new(tail::TailStream::new(tap, q.limit))
            .keep_alive(KeepAlive::default())
            .into_response(),
        Err(e) => error(StatusCode::TOO_MANY_REQUESTS, e.to_string()),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn outputs_json(AxState(state): AxState<State>) -> Json<Vec<outputs::OutputEntry>> {
    Json(outputs::list(&state.0.registry))
}

// The sandbox-output handlers below are one thin axum handler per route (each
// extracts its own path); the work is in `output_bytes`.
async fn named_output(
    _: Authorized,
    AxState(state): AxState<State>,
    Path((plugin, name)): Path<(String, String)>,
) -> Response {
    let found = outputs::find(&state.0.registry, &plugin, &name);
    output_bytes(
        found,
        &format!("no sandbox output {name:?} from plugin {plugin:?}"),
    )
}

/// Heka's DashboardOutput files ([`data_files`]): the report, the sandbox list and the
/// termination list are statistics (no token, as `/api/v1/status`); a sandbox
/// output's bytes are message data (the token rule applies, and to a name not found, so
/// that names cannot be probed without it).
async fn heka_output_file(
    access: Result<Authorized, Response>,
    AxState(state): AxState<State>,
    Path(file): Path<String>,
) -> Response {
    let found = match data_files::find(&state.0.registry, &file) {
        Some(DataFile::Json(value)) => return Json(value).into_response(),
        Some(DataFile::Tsv(text)) => {
            let tsv = "text/tab-separated-values; charset=utf-8";
            return ([(header::CONTENT_TYPE, tsv)], text).into_response();
        }
        Some(DataFile::Output(out)) => Some(out),
        None => None,
    };
    match access {
        Ok(Authorized) => output_bytes(found, &format!("no sandbox output stored as {file:?}")),
        Err(denied) => denied,
    }
}

async fn unnamed_output(
    _: Authorized,
    AxState(state): AxState<State>,
    Path(plugin): Path<String>,
) -> Response {
    let found = outputs::find(&state.0.registry, &plugin, "");
    output_bytes(
        found,
        &format!("no unnamed sandbox output from plugin {plugin:?}"),
    )
}

/// One payload, its bytes as injected (message data: the callers take [`Authorized`]);
/// `missing` is the 404's text.
fn output_bytes(
    found: Option<Arc<heka_pipeline::sandbox_outputs::SandboxOutput>>,
    missing: &str,
) -> Response {
    match found {
        Some(out) => {
            let content_type = outputs::content_type(&out.payload_type);
            // The body is a copy: the slot is free again at once for the filter to
            // reuse (one copy per request in flight, each at most `output_limit`).
            let body = axum::body::Body::from(out.payload.clone());
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        None => error(StatusCode::NOT_FOUND, missing),
    }
}

async fn report_log(_: Authorized, AxState(state): AxState<State>) -> Response {
    let text = report::text(&state.0.registry);
    tracing::info!("{text}");
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

async fn reload(_: Authorized, AxState(state): AxState<State>) -> Response {
    let Some(hook) = state.0.hooks.reload.clone() else {
        return error(StatusCode::NOT_IMPLEMENTED, "reload is not available here");
    };
    match tokio::task::spawn_blocking(move || hook()).await {
        Ok(outcome) => {
            let code = if outcome.busy {
                StatusCode::CONFLICT
            } else if outcome.ok {
                StatusCode::OK
            } else if outcome.valid {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (code, Json(outcome)).into_response()
        }
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload failed: {e}"),
        ),
    }
}

async fn reload_status(AxState(state): AxState<State>) -> Json<status::ConfigStatus> {
    Json(status::Status::read(&state.0.registry, true, true).config)
}
