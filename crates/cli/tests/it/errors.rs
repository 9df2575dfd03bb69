//! Bad input gets a clear 4xx problem-details answer and changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, assert_problem, spawn_app_with, status_json, storage_stories};

async fn bad_input_gets_problem_details(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.max_body_bytes = 4096).await;
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let (_ops, _) = app.project("Ops", &root).await;
    let token = app.instance_token(&root, "read,write,admin").await;
    let post_raw = |path: &str, body: Vec<u8>, content_type: &str| {
        app.http
            .post(app.url(path))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
    };

    // Malformed JSON.
    let got = status_json(
        post_raw(
            "/api/v1/projects",
            b"{\"name\":".to_vec(),
            "application/json",
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_problem(&got, 400);
    // Wrong types and unknown fields.
    let got = app
        .send(
            Method::POST,
            "/api/v1/projects",
            &token,
            Some(json!({"name": 42})),
        )
        .await;
    assert_problem(&got, 422);
    let got = app
        .send(
            Method::POST,
            "/api/v1/projects",
            &token,
            Some(json!({"name": "x", "colour": "red"})),
        )
        .await;
    assert_problem(&got, 422);
    // Not JSON at all.
    let got = status_json(
        post_raw("/api/v1/projects", b"name=x".to_vec(), "text/plain")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_problem(&got, 415);
    // Oversize bodies.
    let big = json!({ "name": "x".repeat(10_000) })
        .to_string()
        .into_bytes();
    let got = status_json(
        post_raw("/api/v1/projects", big, "application/json")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_problem(&got, 413);
    // Invalid values.
    let got = app
        .send(
            Method::POST,
            "/api/v1/projects",
            &token,
            Some(json!({"name": "Shop", "slug": "Not A Slug"})),
        )
        .await;
    assert_problem(&got, 422);
    let got = app
        .send(
            Method::POST,
            "/api/v1/projects/ops/tokens",
            &token,
            Some(json!({"name": "t", "scopes": ["read"], "expires_in": "forever"})),
        )
        .await;
    assert_problem(&got, 422);
    let got = app
        .send(
            Method::POST,
            "/api/v1/projects/ops/tokens",
            &token,
            Some(json!({"name": "t", "scopes": []})),
        )
        .await;
    assert_problem(&got, 422);
    let got = app.get("/api/v1/projects/ops/audit?limit=0", &token).await;
    assert_problem(&got, 400);
    let got = app
        .get("/api/v1/projects/ops/audit?limit=ten", &token)
        .await;
    assert_problem(&got, 400);
    // Unknown projects, paths and methods.
    assert_problem(&app.get("/api/v1/projects/nope", &token).await, 404);
    assert_problem(&app.get("/api/v1/nothing-here", &token).await, 404);
    let got = app
        .send(Method::PATCH, "/api/v1/projects", &token, None)
        .await;
    assert_problem(&got, 405);

    // None of it created anything: still one project, no extra tokens.
    let (_, projects) = app.get("/api/v1/projects", &token).await;
    assert_eq!(projects.as_array().map(Vec::len), Some(1), "{projects}");
    let (_, tokens) = app.get("/api/v1/projects/ops/tokens", &token).await;
    assert_eq!(tokens.as_array().map(Vec::len), Some(0), "{tokens}");
    let (_, tokens) = app.get("/api/v1/tokens", &token).await;
    assert_eq!(tokens.as_array().map(Vec::len), Some(1), "{tokens}");
    app.stop().await;
}

async fn browser_session_writes_need_the_csrf_header(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let _ = app.project("Ops", &root).await;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let csrf = crate::ui::sign_in(
        &browser,
        &app.base,
        "root@example.com",
        "correct horse battery",
    )
    .await;
    // Reads work with the session cookie alone.
    let me = browser.get(app.url("/api/v1/me")).send().await.expect("me");
    assert_eq!(me.status(), 200);
    // Writes without the CSRF header are refused, with it they pass.
    let body = json!({"name": "Web"});
    let refused = browser
        .post(app.url("/api/v1/projects"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_problem(&status_json(refused).await, 403);
    let ok = browser
        .post(app.url("/api/v1/projects"))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status(), 201);
    app.stop().await;
}

storage_stories!(
    bad_input_gets_problem_details,
    browser_session_writes_need_the_csrf_header
);
