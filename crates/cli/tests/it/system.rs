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
    // Every project route is named for its area; none by a name from before.
    let paths: Vec<&String> = doc["paths"].as_object().expect("paths").keys().collect();
    for p in &paths {
        if let Some(rest) = p.strip_prefix("/api/v1/projects/{project}/") {
            let first = rest.split('/').next().unwrap_or(rest);
            assert!(
                liveops_core::Area::ALL.iter().any(|a| a.slug() == first)
                    || [
                        "tokens",
                        "audit",
                        "members",
                        "keys",
                        "hooks",
                        "public-pages",
                        "ingest-key",
                        "calendar-feeds",
                        "overview",
                        "configuration"
                    ]
                    .contains(&first),
                "{p} is not under an area"
            );
        }
    }
    // Every operation documents the problem-details error answer.
    let default = &doc["paths"]["/api/v1/me"]["get"]["responses"]["default"];
    assert!(
        default["content"]["application/problem+json"].is_object(),
        "{default}"
    );
    app.stop().await;
}

/// The API's paths from before they were named for their areas still
/// answer, the same as the new ones, with the same access checks.
async fn old_api_paths_still_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.user("owner@example.com", "pw-owner-12345", false).await;
    let (project, _) = app.project("Shop", &owner).await;
    let token = app.token(&owner, &project, "read,write").await;
    let base = format!("/api/v1/projects/{}", project.slug);
    let opened = app
        .send(
            reqwest::Method::POST,
            &format!("{base}/incidents"),
            &token,
            Some(serde_json::json!({ "title": "Checkout down", "severity": "sev2" })),
        )
        .await;
    assert_eq!(opened.0, 201, "{opened:?}");
    for (old, new) in [
        ("incidents", "support/incidents"),
        ("incidents/1", "support/incidents/1"),
        ("backlog", "feedback/backlog"),
        ("trains", "releases/trains"),
        // A fixed range: by default it ends now, which may tick over
        // between the two requests.
        (
            "dora?from=2026-11-01&to=2026-12-01",
            "improvement/dora?from=2026-11-01&to=2026-12-01",
        ),
        ("capacity", "scaling/capacity"),
        ("adrs", "docs/adrs"),
    ] {
        let a = app.get(&format!("{base}/{old}"), &token).await;
        let b = app.get(&format!("{base}/{new}"), &token).await;
        assert_eq!(a.0, 200, "{old}: {a:?}");
        assert_eq!(a, b, "{old} and {new} differ");
    }
    let anonymous = app
        .http
        .get(app.url(&format!("{base}/incidents")))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}

storage_stories!(
    health_ready_and_metrics,
    openapi_document_describes_the_api,
    old_api_paths_still_answer
);
