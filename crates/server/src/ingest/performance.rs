//! OTLP/HTTP intake: the trace and metric endpoints the unchanged
//! OpenTelemetry exporters send to (protobuf or JSON, gzip or not), with the
//! project's server key.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use liveops_wire::analytics::BodyError;
use liveops_wire::otlp::{self, Encoding};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::support::errors::Incoming;

/// OTLP's recommended body limit, before and after decompression.
pub const OTLP_LIMIT: usize = 20 * 1024 * 1024;

/// The server key from `Authorization: Bearer`, basic auth (either half),
/// an `x-liveops-key` header, or `?api_key=`.
fn otlp_key(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(b) = auth.strip_prefix("Bearer ") {
        return Some(b.trim().to_owned());
    }
    if let Some(b) = auth.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())?;
        let (user, pass) = decoded.split_once(':').unwrap_or((&decoded, ""));
        return Some(if pass.is_empty() { user } else { pass }.to_owned());
    }
    headers
        .get("x-liveops-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.get("api_key").cloned())
}

/// What an OTLP export carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Traces,
    Metrics,
}

/// `POST /v1/traces`: protobuf or JSON, gzip or not.
pub async fn traces(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    export(&state, &query, &headers, &body, Signal::Traces).await
}

/// `POST /v1/metrics`: gauges, sums and histograms, protobuf or JSON.
pub async fn metrics(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    export(&state, &query, &headers, &body, Signal::Metrics).await
}

async fn export(
    state: &AppState,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
    signal: Signal,
) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let Some(encoding) = Encoding::from_content_type(ct) else {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/x-protobuf or application/json",
        )
        .into_response();
    };
    let answer = match signal {
        Signal::Traces => traces_inner(state, query, headers, body, encoding).await,
        Signal::Metrics => metrics_inner(state, query, headers, body, encoding).await,
    };
    match answer {
        Ok(answer) => {
            let mut resp = answer.into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(encoding.content_type()),
            );
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// The project the export's key names, and the body unpacked.
async fn open_export(
    state: &AppState,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<(String, Vec<u8>)> {
    let key = otlp_key(headers, query).unwrap_or_default();
    let project =
        crate::analytics::project_for_key(state, &key, liveops_store::projects::KeyPurpose::Server)
            .await?;
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let raw = otlp::unpack(body, gzip, OTLP_LIMIT).map_err(|e| match e {
        BodyError::TooLarge(_) => ApiError::too_large(e.to_string()),
        other => ApiError::bad_request(other.to_string()),
    })?;
    Ok((project, raw))
}

fn take_tokens(state: &AppState, project: &str, n: usize, what: &str) -> ApiResult<()> {
    state
        .ingest_keys
        .take(
            &format!("server:{project}"),
            n as u64,
            state.config.ingest_spans_per_sec,
            Instant::now(),
        )
        .map_err(|wait| {
            ApiError::too_many(
                format!("this server key is sending {what} faster than its limit"),
                wait,
            )
        })
}

async fn traces_inner(
    state: &AppState,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
    encoding: Encoding,
) -> ApiResult<Vec<u8>> {
    let (project, raw) = open_export(state, query, headers, body).await?;
    let (spans, exceptions, refusals) = otlp::decode_traces_with_exceptions(&raw, encoding)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let metric = |name: &str| crate::metrics::KindLabels { kind: name.into() };
    state
        .metrics
        .ingest_rejected
        .get_or_create(&metric("span"))
        .inc_by(refusals.rejected);
    if !spans.is_empty() {
        take_tokens(state, &project, spans.len(), "spans")?;
        let n = spans.len() as u64;
        crate::performance::ingest_spans(state, &project, spans).await?;
        state
            .metrics
            .ingested
            .get_or_create(&metric("span"))
            .inc_by(n);
    }
    // Exceptions the spans recorded are error events too.
    let incoming: Vec<Incoming> = exceptions.iter().filter_map(error_event).collect();
    crate::support::errors::take_alongside(state, &project, incoming).await;
    Ok(otlp::trace_response(&refusals, encoding))
}

/// An exception a span recorded, as an error event.
fn error_event(x: &otlp::SpanException) -> Option<Incoming> {
    let frames = x
        .stacktrace
        .as_deref()
        .map(liveops_wire::sentry::stack_frames)
        .unwrap_or_default();
    let foreign = liveops_wire::sentry::Foreign {
        ty: x.ty.as_deref(),
        message: x.message.as_deref(),
        frames,
        timestamp_ms: x.at_ns.div_euclid(1_000_000),
        platform: "other",
        release: x.version.as_deref(),
        server_name: x.host.as_deref(),
        transaction: Some(&x.transaction),
        tags: vec![("service".to_owned(), x.service.clone())],
        contexts: Some(
            serde_json::json!({"trace": {"trace_id": x.trace_id, "span_id": x.span_id}}),
        ),
        ..Default::default()
    };
    Incoming::from_payload(foreign.payload())
}

async fn metrics_inner(
    state: &AppState,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
    encoding: Encoding,
) -> ApiResult<Vec<u8>> {
    let (project, raw) = open_export(state, query, headers, body).await?;
    let (points, refusals) =
        otlp::decode_metrics(&raw, encoding).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let metric = |name: &str| crate::metrics::KindLabels { kind: name.into() };
    state
        .metrics
        .ingest_rejected
        .get_or_create(&metric("metric_point"))
        .inc_by(refusals.rejected);
    if !points.is_empty() {
        take_tokens(state, &project, points.len(), "metric points")?;
        let t = state.telemetry.clone();
        let stored =
            tokio::task::spawn_blocking(move || t.performance().ingest_metrics(&project, &points))
                .await
                .map_err(ApiError::internal)?;
        match stored {
            Ok(n) => state
                .metrics
                .ingested
                .get_or_create(&metric("metric_point"))
                .inc_by(n as u64),
            Err(e) => {
                tracing::error!(error = %e, "metric points could not be stored");
                return Err(ApiError::unavailable(
                    "metric points could not be stored just now; send them again",
                    5,
                ));
            }
        };
    }
    Ok(otlp::metrics_response(&refusals, encoding))
}
