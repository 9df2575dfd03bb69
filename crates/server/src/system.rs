//! Liveness, readiness and Prometheus metrics, plus the middleware every response passes.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{ApiError, problem_response};
use crate::state::AppState;

/// Liveness: the process is up and serving.
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// Readiness: both stores answer.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if let Err(e) = state.db.ping().await {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("state store: {e}"))
            .into_response();
    }
    let telemetry = state.telemetry.clone();
    match tokio::task::spawn_blocking(move || telemetry.ping()).await {
        Ok(Ok(())) => axum::Json(json!({ "status": "ready" })).into_response(),
        Ok(Err(e)) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("telemetry store: {e}"),
        )
        .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    if let Ok(bytes) = state.db.size_bytes().await {
        state.metrics.set_storage("state", bytes);
    }
    let telemetry = state.telemetry.clone();
    if let Ok(Ok(bytes)) = tokio::task::spawn_blocking(move || telemetry.size_bytes()).await {
        state
            .metrics
            .set_storage("telemetry", i64::try_from(bytes).unwrap_or(i64::MAX));
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Answers unknown paths: problem details under `/api`, a page elsewhere.
pub async fn fallback(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        ApiError::not_found(format!("no API endpoint at {}", req.uri().path())).into_response()
    } else {
        crate::ui::error_page(StatusCode::NOT_FOUND, "There is no page at this address.")
    }
}

/// Gives bare error responses (a 405 from the router, a 408 from the timeout
/// layer) a problem-details body on API paths, so clients see one error shape.
pub async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    if api && resp.status().as_u16() >= 400 && !resp.headers().contains_key(header::CONTENT_TYPE) {
        let status = resp.status();
        let allow = resp.headers().get(header::ALLOW).cloned();
        let mut out = problem_response(status, None);
        if let Some(allow) = allow {
            out.headers_mut().insert(header::ALLOW, allow);
        }
        return out;
    }
    resp
}

/// Headers that keep the pages from being framed, sniffed or scripted from elsewhere.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A page that set its own policy (the embeddable feedback form) may be
    // framed by other sites; every other page may not.
    let framed_elsewhere = h.contains_key(header::CONTENT_SECURITY_POLICY);
    if !framed_elsewhere {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
            ),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !framed_elsewhere {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if state.config.secure_cookies() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    resp
}
