//! Health, readiness, metrics and the OpenAPI document.

use crate::helpers::{Backend, spawn_app, storage_stories};

async fn health_ready_and_metrics(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);

    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    // The two requests above are counted by route and status, with latency.
    assert!(
        metrics.contains(
            r#"liveops_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("liveops_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"liveops_storage_bytes{store="state"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"liveops_storage_bytes{store="telemetry"}"#),
        "{metrics}"
    );
    app.stop().await;
}

async fn openapi_document_describes_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc: serde_json::Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );
    for path in [
        "/api/v1/me",
        "/api/v1/projects",
        "/api/v1/projects/{project}/tokens",
        "/api/v1/projects/{project}/audit",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    // Every operation documents the problem-details error answer.
    let default = &doc["paths"]["/api/v1/me"]["get"]["responses"]["default"];
    assert!(
        default["content"]["application/problem+json"].is_object(),
        "{default}"
    );
    app.stop().await;
}

storage_stories!(health_ready_and_metrics, openapi_document_describes_the_api);
