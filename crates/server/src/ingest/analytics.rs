//! The ingest endpoints the PostHog and Segment SDKs send to, unchanged:
//! PostHog's `/batch`, `/e`, `/capture`, `/i/v0/e`, `/track`, `/engage`
//! (and its feature-flag endpoints), and Segment's `/v1/{call}`. Each event
//! is checked on its own; good ones are stored durably before the answer,
//! bad ones are listed with a reason.

use crate::auth::client::ClientAddr;
use std::collections::HashMap;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use liveops_core::analytics::event::{Event, Rejected};
use liveops_wire::analytics::{self as wire, BodyError, Compression, Context, Decoded};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use liveops_store::projects::KeyPurpose;

/// PostHog's limit for `/batch`.
pub const BATCH_LIMIT: usize = 20 * 1024 * 1024;
/// PostHog's limit for the other capture paths.
pub const EVENT_LIMIT: usize = 2 * 1024 * 1024;

fn body_error(e: BodyError) -> ApiError {
    match e {
        BodyError::TooLarge(_) => ApiError::too_large(e.to_string()),
        other => ApiError::bad_request(other.to_string()),
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Mirrors the caller's origin and requested headers, as PostHog does, so
/// that browsers may send events with credentials from any site.
fn cors(headers: &HeaderMap, mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if let Some(origin) = headers.get(header::ORIGIN) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    } else {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    let allow = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    resp
}

/// Stores the good events of a decoded body for a project and says what
/// became of each.
async fn store(
    state: &AppState,
    project: &str,
    decoded: Decoded,
    client: ClientAddr,
) -> ApiResult<(usize, Vec<(usize, Rejected)>)> {
    let mut good: Vec<Event> = Vec::with_capacity(decoded.events.len());
    let mut bad = Vec::new();
    for (i, e) in decoded.events.into_iter().enumerate() {
        match e {
            Ok(e) => good.push(e),
            Err(why) => bad.push((i, why)),
        }
    }
    let metric = |name: &str| crate::metrics::KindLabels { kind: name.into() };
    state
        .metrics
        .ingest_rejected
        .get_or_create(&metric("event"))
        .inc_by(bad.len() as u64);
    if good.is_empty() {
        let reasons: Vec<String> = bad
            .iter()
            .take(10)
            .map(|(i, why)| format!("event {i}: {why}"))
            .collect();
        return Err(ApiError::bad_request(format!(
            "no event could be stored: {}",
            reasons.join("; ")
        )));
    }
    let n = good.len() as u64;
    if let Err(wait) = state.ingest_keys.take(
        project,
        n,
        state.config.ingest_events_per_sec,
        Instant::now(),
    ) {
        return Err(ApiError::too_many(
            "this ingest key is sending events faster than its limit",
            wait,
        ));
    }
    if let Some(geoip) = &state.geoip {
        geoip.enrich(&mut good, client.0);
    }
    // PostHog's `$exception`s are error events too.
    let exceptions: Vec<crate::support::errors::Incoming> = good
        .iter()
        .filter(|e| e.name == "$exception")
        .filter_map(|e| {
            liveops_wire::sentry::posthog_exception(&e.properties, &e.uuid, &e.distinct_id, e.at_ms)
        })
        .filter_map(crate::support::errors::Incoming::from_payload)
        .collect();
    let answer = state.telemetry.analytics().ingest(project, good).await;
    let stored = match answer {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "events could not be stored");
            return Err(ApiError::unavailable(
                "events could not be stored just now; send them again",
                5,
            ));
        }
        Err(_) => {
            return Err(ApiError::unavailable("liveops is shutting down", 5));
        }
    };
    state
        .metrics
        .ingested
        .get_or_create(&metric("event"))
        .inc_by(stored.stored as u64);
    crate::support::errors::take_alongside(state, project, exceptions).await;
    Ok((stored.stored + stored.duplicates, bad))
}

fn accepted(count: usize, bad: &[(usize, Rejected)], extra: Value) -> Value {
    let mut v = json!({
        "accepted": count,
        "rejected": bad.iter().map(|(i, why)| json!({"index": i, "reason": why.to_string()})).collect::<Vec<_>>(),
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    v
}

/// A key from `Authorization: Bearer …` or the query string.
fn key_from_request(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| query.get("api_key").cloned())
        .or_else(|| query.get("token").cloned())
}

/// Every PostHog capture path: POST a body, or GET with `data=` in the
/// query; OPTIONS for a browser's preflight.
pub async fn posthog(
    State(state): State<AppState>,
    method: Method,
    uri: axum::http::Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    client: ClientAddr,
    body: Bytes,
) -> Response {
    if method == Method::OPTIONS {
        return cors(&headers, StatusCode::OK.into_response());
    }
    let beacon = query.get("beacon").is_some_and(|b| b == "1");
    let limit = if uri.path().starts_with("/batch") {
        BATCH_LIMIT
    } else {
        EVENT_LIMIT
    };
    let answer = posthog_inner(&state, &query, &headers, &body, limit, client).await;
    let resp = match answer {
        Ok(_) if beacon => StatusCode::NO_CONTENT.into_response(),
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    };
    cors(&headers, resp)
}

async fn posthog_inner(
    state: &AppState,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
    limit: usize,
    client: ClientAddr,
) -> ApiResult<Value> {
    if body.len() > limit {
        return Err(ApiError::too_large(format!(
            "the body is larger than {limit} bytes"
        )));
    }
    let mut hint = Compression::from_hint(query.get("compression").map(String::as_str));
    let gzip_header = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if gzip_header {
        hint = Compression::Gzip;
    }
    // GET carries the payload in the query string.
    let from_query;
    let body: &[u8] = if body.is_empty() {
        match query.get("data") {
            Some(d) => {
                from_query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("data", d)
                    .finish();
                hint = Compression::Base64;
                from_query.as_bytes()
            }
            None => return Err(ApiError::bad_request("the request has no events")),
        }
    } else {
        body
    };
    // A key in the request itself is checked before the body is unpacked,
    // so an unknown caller costs no decompression and no parsing.
    let checked = match key_from_request(headers, query) {
        Some(k) => Some(crate::analytics::project_for_key(state, &k, KeyPurpose::Browser).await?),
        None => None,
    };
    // posthog-js may send plain (not base64) JSON in a `data=` form too.
    let raw = match wire::unpack(body, hint, limit) {
        Ok(raw) => raw,
        Err(BodyError::Compression(_)) if body.starts_with(b"data=") => {
            url::form_urlencoded::parse(body)
                .find(|(k, _)| k == "data")
                .map(|(_, v)| std::borrow::Cow::<[u8]>::Owned(v.into_owned().into_bytes()))
                .filter(|v| matches!(v.first(), Some(b'[' | b'{')))
                .ok_or_else(|| {
                    ApiError::bad_request("the `data` field is neither base64 nor JSON")
                })?
        }
        Err(e) => return Err(body_error(e)),
    };
    // posthog-js puts the key inside the (compressed) body: it is skimmed
    // for the key alone, and the events are decoded only once it is good.
    let project = match checked {
        Some(p) => p,
        None => {
            let key = wire::body_key(&raw).unwrap_or_default();
            crate::analytics::project_for_key(state, &key, KeyPurpose::Browser).await?
        }
    };
    let decoded = {
        let mut make_id = new_id;
        let mut ctx = Context {
            now_ms: state.now_ms(),
            new_id: &mut make_id,
        };
        wire::posthog(&raw, &mut ctx).map_err(|e| match e {
            BodyError::Invalid(m) if m.contains("different project keys") => {
                ApiError::unauthorized(m)
            }
            other => body_error(other),
        })?
    };
    check_same_key(state, &project, decoded.key.as_deref()).await?;
    let (count, bad) = store(state, &project, decoded, client).await?;
    Ok(accepted(count, &bad, json!({"status": "Ok"})))
}

/// A body that names a key of its own must name one of the same project as
/// the key that let it in.
async fn check_same_key(state: &AppState, project: &str, body_key: Option<&str>) -> ApiResult<()> {
    if let Some(k) = body_key {
        let named = crate::analytics::project_for_key(state, k, KeyPurpose::Browser).await?;
        if named != project {
            return Err(ApiError::unauthorized(
                "the body carries the key of another project",
            ));
        }
    }
    Ok(())
}

/// Segment's HTTP tracking API: `/v1/{identify,track,page,screen,group,alias,batch}`.
pub async fn segment(
    State(state): State<AppState>,
    Path(call): Path<String>,
    headers: HeaderMap,
    client: ClientAddr,
    body: Bytes,
) -> Response {
    match segment_inner(&state, &call, &headers, &body, client).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn segment_inner(
    state: &AppState,
    call: &str,
    headers: &HeaderMap,
    body: &[u8],
    client: ClientAddr,
) -> ApiResult<Value> {
    if !matches!(
        call,
        "identify" | "track" | "page" | "screen" | "group" | "alias" | "batch" | "import"
    ) {
        return Err(ApiError::not_found(format!(
            "no Segment call `{call}`: use identify, track, page, screen, group, alias or batch"
        )));
    }
    let call = if call == "import" { "batch" } else { call };
    let limit = if call == "batch" {
        wire::SEGMENT_BATCH_LIMIT
    } else {
        wire::SEGMENT_MESSAGE_LIMIT
    };
    // The write key: HTTP basic auth's user name, checked before the body
    // is read; else `writeKey` in the body, skimmed before it is decoded.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .map(|s| s.split(':').next().unwrap_or_default().to_owned());
    let checked = match &basic {
        Some(k) => Some(crate::analytics::project_for_key(state, k, KeyPurpose::Browser).await?),
        None => None,
    };
    let raw = wire::unpack(body, Compression::None, limit).map_err(|e| match e {
        BodyError::TooLarge(_) => ApiError::bad_request(format!(
            "the body is larger than Segment's {limit}-byte limit"
        )),
        other => body_error(other),
    })?;
    let project = match checked {
        Some(p) => p,
        None => {
            let key = wire::body_key(&raw).unwrap_or_default();
            crate::analytics::project_for_key(state, &key, KeyPurpose::Browser).await?
        }
    };
    let decoded = {
        let mut make_id = new_id;
        let mut ctx = Context {
            now_ms: state.now_ms(),
            new_id: &mut make_id,
        };
        wire::segment(&raw, call, &mut ctx).map_err(body_error)?
    };
    check_same_key(state, &project, decoded.key.as_deref()).await?;
    let (count, bad) = store(state, &project, decoded, client).await?;
    Ok(accepted(count, &bad, json!({"success": true})))
}

/// The SDKs' feature-flag endpoints (`/decide`, `/flags`): liveops keeps no
/// flags, so every client is told there are none, in both answer shapes.
pub async fn flags(method: Method, headers: HeaderMap) -> Response {
    if method == Method::OPTIONS {
        return cors(&headers, StatusCode::OK.into_response());
    }
    cors(
        &headers,
        Json(json!({
            "flags": {},
            "featureFlags": {},
            "featureFlagPayloads": {},
            "errorsWhileComputingFlags": false,
            "requestId": new_id(),
        }))
        .into_response(),
    )
}
