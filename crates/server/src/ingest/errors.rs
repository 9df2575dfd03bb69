//! The Sentry intake: `POST /api/{project}/envelope/` and
//! `/api/{project}/store/`, as the unchanged Sentry SDKs send them, with
//! the DSN's public key from `X-Sentry-Auth`, `?sentry_key=` or the
//! envelope header's DSN, and gzip, deflate or plain bodies.
//!
//! Events are stored and grouped; transactions become spans in the
//! performance area; `session`, `sessions` and `client_report` items are
//! taken (counted, not kept); anything else (attachments, replays,
//! profiles) is dropped and counted. A bad item is refused with its reason while good ones beside
//! it are kept; a request with nothing good in it gets a 400 that says why.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use liveops_wire::sentry::{self, MAX_ENVELOPE_BYTES, SentryError};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;
use crate::support::SupportError;
use crate::support::errors::{self as service, Incoming};

/// Lets browser SDKs send from any page.
fn cors(headers: &HeaderMap, mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    let allow = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type, x-sentry-auth"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-sentry-rate-limits, retry-after"),
    );
    resp
}

/// A refusal as Sentry's SDKs read it: 429 carries `Retry-After` and
/// `X-Sentry-Rate-Limits`, so the SDK holds back that long.
fn refusal(e: SupportError) -> Response {
    let retry = match &e {
        SupportError::Limited(_, secs) => Some(*secs),
        _ => None,
    };
    let mut resp = ApiError::from(e).into_response();
    if let Some(secs) = retry
        && let Ok(v) = HeaderValue::from_str(&format!("{secs}::project"))
    {
        resp.headers_mut().insert("x-sentry-rate-limits", v);
    }
    resp
}

fn bad(e: SentryError) -> Response {
    match e {
        SentryError::TooLarge | SentryError::BodyTooLarge(_) => {
            ApiError::too_large(e.to_string()).into_response()
        }
        other => ApiError::bad_request(other.to_string()).into_response(),
    }
}

/// The public key the request carries, wherever it put it.
fn key_of(
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    envelope_dsn: Option<&str>,
) -> Option<String> {
    for name in ["x-sentry-auth", "authorization"] {
        if let Some(k) = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| sentry::auth_key(v).ok())
        {
            return Some(k);
        }
    }
    if let Some(k) = query.get("sentry_key").filter(|k| !k.is_empty()) {
        return Some(k.clone());
    }
    envelope_dsn
        .and_then(|d| sentry::parse_dsn(d).ok())
        .map(|d| d.public_key)
}

fn unpacked(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, SentryError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    sentry::unpack(body, encoding, MAX_ENVELOPE_BYTES)
}

/// `POST /api/{project}/envelope/`.
pub async fn envelope(
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::OPTIONS {
        return cors(&headers, StatusCode::NO_CONTENT.into_response());
    }
    let resp = envelope_inner(&state, &project, &query, &headers, &body).await;
    cors(&headers, resp)
}

fn count(state: &AppState, kind: &str, n: u64, kept: bool) {
    let label = crate::metrics::KindLabels { kind: kind.into() };
    if kept {
        state.metrics.ingested.get_or_create(&label).inc_by(n);
    } else {
        state
            .metrics
            .ingest_rejected
            .get_or_create(&label)
            .inc_by(n);
    }
}

async fn envelope_inner(
    state: &AppState,
    project: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let raw = match unpacked(headers, body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let env = match sentry::parse_envelope(&raw) {
        Ok(e) => e,
        Err(e) => return bad(e),
    };
    let Some(key) = key_of(headers, query, env.dsn()) else {
        return refusal(SupportError::unauthorized(
            "send the DSN's public key (X-Sentry-Auth, sentry_key or the envelope's dsn)",
        ));
    };
    let project_id = match service::project_for_dsn(state, project, &key).await {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    let mut incoming = Vec::new();
    let mut spans = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut too_large = false;
    for (n, item) in env.items.iter().enumerate() {
        match item.ty.as_str() {
            "event" => match sentry::parse_event_summary(&item.payload) {
                Ok(event) => incoming.push(Incoming {
                    event,
                    payload: String::from_utf8_lossy(&item.payload).into_owned(),
                }),
                Err(e) => {
                    too_large |= e == SentryError::TooLarge;
                    problems.push(format!("item {}: {e}", n + 1));
                    count(state, "sentry_event", 1, false);
                }
            },
            "transaction" => match sentry::parse_transaction(&item.payload) {
                Ok(s) => spans.extend(s),
                Err(e) => {
                    problems.push(format!("item {}: {e}", n + 1));
                    count(state, "sentry_transaction", 1, false);
                }
            },
            "session" | "sessions" | "client_report" => {
                count(state, &format!("sentry_{}", item.ty), 1, true);
            }
            other => {
                let kind = match other {
                    "attachment" | "replay_event" | "replay_recording" | "profile" | "check_in"
                    | "statsd" | "user_report" | "feedback" => {
                        format!("sentry_{other}")
                    }
                    _ => "sentry_other".to_owned(),
                };
                count(state, &kind, 1, false);
            }
        }
    }
    if !spans.is_empty() {
        // A transaction becomes spans in the performance area: one SDK
        // gives both.
        if let Err(e) = service::take_allowance(state, &project_id, spans.len()) {
            return refusal(e);
        }
        let n = spans.len() as u64;
        if let Err(e) = crate::performance::ingest_spans(state, &project_id, spans).await {
            return ApiError::from(e).into_response();
        }
        count(state, "span", n, true);
    } else if incoming.is_empty() && !problems.is_empty() {
        let detail = problems.join("; ");
        return if too_large {
            ApiError::too_large(detail).into_response()
        } else {
            ApiError::bad_request(detail).into_response()
        };
    }
    let header_id = env
        .header
        .get("event_id")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    if incoming.is_empty() {
        return axum::Json(json!({ "id": header_id })).into_response();
    }
    take(state, &project_id, incoming, header_id).await
}

async fn take(
    state: &AppState,
    project_id: &str,
    incoming: Vec<Incoming>,
    id: Option<String>,
) -> Response {
    if let Err(e) = service::take_allowance(state, project_id, incoming.len()) {
        return refusal(e);
    }
    let n = incoming.len() as u64;
    match service::take(state, project_id, incoming).await {
        Ok(taken) => {
            count(state, "sentry_event", n, true);
            let id = id.or_else(|| taken.ids.first().cloned());
            axum::Json(json!({ "id": id })).into_response()
        }
        Err(e) => refusal(e),
    }
}

/// `POST /api/{project}/store/`: one event, the older protocol.
pub async fn store(
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::OPTIONS {
        return cors(&headers, StatusCode::NO_CONTENT.into_response());
    }
    let resp = async {
        let raw = match unpacked(&headers, &body) {
            Ok(r) => r,
            Err(e) => return bad(e),
        };
        let Some(key) = key_of(&headers, &query, None) else {
            return refusal(SupportError::unauthorized(
                "send the DSN's public key (X-Sentry-Auth or sentry_key)",
            ));
        };
        let project_id = match service::project_for_dsn(&state, &project, &key).await {
            Ok(p) => p,
            Err(e) => return refusal(e),
        };
        let event = match sentry::parse_event_summary(&raw) {
            Ok(e) => e,
            Err(e) => return bad(e),
        };
        let payload = String::from_utf8_lossy(&raw).into_owned();
        take(&state, &project_id, vec![Incoming { event, payload }], None).await
    }
    .await;
    cors(&headers, resp)
}
