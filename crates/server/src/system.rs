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

/// Readiness: both stores answer. Which one did not is said; why goes to
/// the log only, since a database error can name hosts, users and paths.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let not_ready = |store: &str| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the {store} store does not answer"),
        )
        .into_response()
    };
    if let Err(e) = state.db.ping().await {
        tracing::error!(error = %e, "readiness: the state store does not answer");
        return not_ready("state");
    }
    let telemetry = state.telemetry.clone();
    match tokio::task::spawn_blocking(move || telemetry.ping()).await {
        Ok(Ok(())) => axum::Json(json!({ "status": "ready" })).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "readiness: the telemetry store does not answer");
            not_ready("telemetry")
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Whether `/metrics` is open to anyone: only without a token and when the
/// server listens on loopback alone.
fn metrics_open(config: &crate::config::Config) -> bool {
    config.metrics_token.is_none() && config.listen.ip().is_loopback()
}

/// Whether a scrape may read `/metrics`: with `metrics_token` set, only
/// with that bearer token; without one, anyone when the server listens on
/// loopback only, else an instance administrator's API token or session.
async fn may_scrape(
    state: &AppState,
    parts: &mut axum::http::request::Parts,
) -> Result<(), ApiError> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(token) = &state.config.metrics_token {
        return match bearer {
            Some(b) if crate::auth::same_secret(b, token.expose().trim()) => Ok(()),
            _ => Err(ApiError::unauthorized(
                "send the metrics token as `Authorization: Bearer <metrics_token>`",
            )),
        };
    }
    if metrics_open(&state.config) {
        return Ok(());
    }
    use axum::extract::FromRequestParts;
    let principal = crate::auth::Principal::from_request_parts(parts, state).await?;
    principal.require_instance_wide()?;
    if principal.user.is_admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only instance administrators may read /metrics; or set metrics_token",
        ))
    }
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    if let Err(e) = may_scrape(&state, &mut parts).await {
        return e.into_response();
    }
    if let Ok(bytes) = state.db.size_bytes().await {
        state.metrics.set_storage("state", bytes);
    }
    state
        .metrics
        .spool_backlog
        .get_or_create(&crate::metrics::KindLabels {
            kind: crate::support::errors::spool::STREAM.into(),
        })
        .set(i64::try_from(state.errors_intake.backlog()).unwrap_or(i64::MAX));
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

/// Holds one of the ingest slots while an ingest request runs, before its
/// body is read; with every slot taken it answers 503 with `Retry-After`,
/// which the SDKs and exporters retry.
pub async fn ingest_gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Ok(_slot) = state.ingest_slots.clone().try_acquire_owned() else {
        return ApiError::unavailable(
            "liveops is taking in all it can just now; send again shortly",
            1,
        )
        .into_response();
    };
    next.run(req).await
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

/// Middleware counting requests by matched route (never the raw path, which
/// would give every id its own series) and status, and timing them.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    state
        .metrics
        .http_requests
        .get_or_create(&crate::metrics::RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status,
        })
        .inc();
    state
        .metrics
        .http_duration
        .get_or_create(&crate::metrics::RouteLabels { method, route })
        .observe(start.elapsed().as_secs_f64());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Secret};

    #[test]
    fn metrics_are_closed_off_loopback_or_with_a_token() {
        let local = Config::default();
        assert!(metrics_open(&local));
        let public = Config {
            listen: "0.0.0.0:8080".parse().unwrap_or(local.listen),
            ..Config::default()
        };
        assert!(!metrics_open(&public));
        let tokened = Config {
            metrics_token: Some(Secret::new("a-scrape-token-of-length")),
            ..Config::default()
        };
        assert!(!metrics_open(&tokened));
    }
}
