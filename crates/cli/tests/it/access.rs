//! The authorization boundary: projects, roles, scopes, expiry and revocation.

use liveops_core::Role;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, assert_problem, spawn_app, storage_stories};

async fn token_cannot_reach_another_project(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let bob = app
        .user("bob@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let (blog, _) = app.project("Blog", &bob).await;
    // Ada is also a member of Blog, but her token is bound to Shop.
    app.member(&blog, &ada, Role::Owner).await;
    let token = app.token(&ada, &shop, "read,write,admin").await;

    assert_eq!(app.get("/api/v1/projects/shop", &token).await.0, 200);
    for path in [
        "/api/v1/projects/blog",
        "/api/v1/projects/blog/members",
        "/api/v1/projects/blog/tokens",
        "/api/v1/projects/blog/audit",
    ] {
        assert_problem(&app.get(path, &token).await, 404);
    }
    let (_, list) = app.get("/api/v1/projects", &token).await;
    let slugs: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["shop"]);
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/blog/ingest-key",
            &token,
            None,
        )
        .await,
        404,
    );
    // Bob's token sees nothing of Shop, where he is no member.
    let bob_token = app.token(&bob, &blog, "read").await;
    assert_problem(&app.get("/api/v1/projects/shop", &bob_token).await, 404);
    let _ = blog.id;
    app.stop().await;
}

async fn expired_and_revoked_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let expired = app
        .token_expiring(&ada, &shop, "read", app.now_ms() - 1000)
        .await;
    let got = app.get("/api/v1/me", &expired).await;
    assert_problem(&got, 401);
    assert!(
        got.1["detail"]
            .as_str()
            .is_some_and(|d| d.contains("expired")),
        "{}",
        got.1
    );

    let token = app.token(&ada, &shop, "read").await;
    let (_, me) = app.get("/api/v1/me", &token).await;
    let id = me["token"]["id"].as_str().expect("token id").to_owned();
    let revoked = app
        .send(
            Method::DELETE,
            &format!("/api/v1/projects/shop/tokens/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(revoked.0, 204, "{}", revoked.1);
    let got = app.get("/api/v1/me", &token).await;
    assert_problem(&got, 401);
    assert!(
        got.1["detail"]
            .as_str()
            .is_some_and(|d| d.contains("revoked"))
    );

    assert_problem(&app.get("/api/v1/me", "lo_pat_not-a-real-token").await, 401);
    let bare = app
        .http
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .expect("request");
    assert_eq!(bare.status(), 401);
    app.stop().await;
}

async fn viewer_cannot_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app
        .user("owner@example.com", "correct horse battery", false)
        .await;
    let viewer = app
        .user("viewer@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &owner).await;
    app.member(&shop, &viewer, Role::Viewer).await;
    // Even a token carrying every scope is held to the viewer's role.
    let token = app.token(&viewer, &shop, "read,write,admin").await;

    assert_eq!(
        app.get("/api/v1/projects/shop/members", &token).await.0,
        200
    );
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/ingest-key",
            &token,
            None,
        )
        .await,
        403,
    );
    assert_problem(
        &app.send(
            Method::PUT,
            "/api/v1/projects/shop/members/viewer@example.com",
            &token,
            Some(json!({"role": "owner"})),
        )
        .await,
        403,
    );
    let write_token = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/tokens",
            &token,
            Some(json!({"name": "sneaky", "scopes": ["read", "write"]})),
        )
        .await;
    assert_problem(&write_token, 403);
    assert_problem(&app.get("/api/v1/projects/shop/audit", &token).await, 403);
    // Nothing changed: still a viewer, still one token.
    let (_, members) = app.get("/api/v1/projects/shop/members", &token).await;
    assert!(
        members.to_string().contains(r#""role":"viewer""#),
        "{members}"
    );
    let (_, tokens) = app.get("/api/v1/projects/shop/tokens", &token).await;
    assert_eq!(tokens.as_array().map(Vec::len), Some(1));
    app.stop().await;
}

async fn token_scopes_limit_what_an_owner_can_do(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let read = app.token(&ada, &shop, "read").await;
    let got = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/ingest-key",
            &read,
            None,
        )
        .await;
    assert_problem(&got, 403);
    assert!(
        got.1["detail"]
            .as_str()
            .is_some_and(|d| d.contains("admin"))
    );
    // A read token cannot mint itself a stronger token.
    let got = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/tokens",
            &read,
            Some(json!({"name": "more", "scopes": ["admin"]})),
        )
        .await;
    assert_problem(&got, 403);

    let admin = app.token(&ada, &shop, "read,admin").await;
    let (status, key) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/ingest-key",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{key}");
    assert!(
        key["ingest_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("lo_ingest_"))
    );
    app.stop().await;
}

async fn tokens_are_created_shown_once_and_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let token = app.token(&ada, &shop, "read,write,admin").await;
    let (status, created) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/tokens",
            &token,
            Some(json!({"name": "deploys", "scopes": ["read", "write"], "expires_in": "30d"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let (status, me) = app.get("/api/v1/me", &secret).await;
    assert_eq!(status, 200);
    assert_eq!(me["token"]["name"], "deploys");
    assert_eq!(me["token"]["scopes"], json!(["read", "write"]));
    // The listing never repeats a secret, but records when a token was used.
    let (_, list) = app.get("/api/v1/projects/shop/tokens", &token).await;
    assert!(!list.to_string().contains(&secret));
    let deploys = list
        .as_array()
        .and_then(|l| l.iter().find(|t| t["name"] == "deploys"))
        .expect("listed");
    assert!(deploys["last_used_at"].is_string(), "{deploys}");

    let (status, audit) = app.get("/api/v1/projects/shop/audit", &token).await;
    assert_eq!(status, 200, "{audit}");
    let entry = audit["entries"]
        .as_array()
        .and_then(|es| {
            es.iter()
                .find(|e| e["action"] == "token.create" && e["detail"]["name"] == "deploys")
        })
        .expect("audited");
    assert_eq!(entry["actor"], "ada@example.com");
    assert_eq!(entry["actor_kind"], "token");
    assert_eq!(entry["ip"], "127.0.0.1");
    assert!(audit["entries"].to_string().contains("project.create"));
    app.stop().await;
}

async fn members_are_managed_and_a_project_keeps_an_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let cy = app
        .user("cy@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let token = app.token(&ada, &shop, "read,write,admin").await;
    let put = |email: &str, role: &str| {
        let path = format!("/api/v1/projects/shop/members/{email}");
        let body = json!({ "role": role });
        let app = &app;
        let token = token.clone();
        async move { app.send(Method::PUT, &path, &token, Some(body)).await }
    };
    assert_eq!(put("cy@example.com", "responder").await.0, 200);
    assert_problem(&put("nobody@example.com", "viewer").await, 404);
    assert_problem(&put("cy@example.com", "emperor").await, 422);
    // Ada is the only owner: she cannot step down or leave.
    assert_problem(&put("ada@example.com", "admin").await, 409);
    assert_problem(
        &app.send(
            Method::DELETE,
            "/api/v1/projects/shop/members/ada@example.com",
            &token,
            None,
        )
        .await,
        409,
    );
    // Cy, as a responder, now reaches the project but not its audit log.
    let cy_token = app.token(&cy, &shop, "read").await;
    assert_eq!(
        app.get("/api/v1/projects/shop", &cy_token).await.1["role"],
        "responder"
    );
    assert_problem(
        &app.get("/api/v1/projects/shop/audit", &cy_token).await,
        403,
    );
    // Removing Cy takes his tokens for the project with him.
    let removed = app
        .send(
            Method::DELETE,
            "/api/v1/projects/shop/members/cy@example.com",
            &token,
            None,
        )
        .await;
    assert_eq!(removed.0, 204);
    assert_problem(&app.get("/api/v1/me", &cy_token).await, 401);
    app.stop().await;
}

async fn instance_admins_create_users_and_projects(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let plain = app
        .user("plain@example.com", "correct horse battery", false)
        .await;
    let (ops, _) = app.project("Ops", &root).await;
    app.member(&ops, &plain, Role::Owner).await;
    // Instance-wide work takes instance tokens (a project token is refused
    // even when an instance admin holds it: see `hardening`).
    let root_token = app.instance_token(&root, "read,write,admin").await;
    let plain_token = app.instance_token(&plain, "read,write,admin").await;

    let (status, user) = app
        .send(
            Method::POST,
            "/api/v1/users",
            &root_token,
            Some(json!({"email": "New@Example.com"})),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["user"]["email"], "new@example.com");
    assert!(user["password"].as_str().is_some_and(|p| p.len() >= 20));
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/users",
            &root_token,
            Some(json!({"email": "new@example.com"})),
        )
        .await,
        409,
    );
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/users",
            &plain_token,
            Some(json!({"email": "x@example.com"})),
        )
        .await,
        403,
    );
    let (status, project) = app
        .send(
            Method::POST,
            "/api/v1/projects",
            &root_token,
            Some(json!({"name": "Mobile App"})),
        )
        .await;
    assert_eq!(status, 201, "{project}");
    assert_eq!(project["project"]["slug"], "mobile-app");
    assert!(
        project["ingest_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("lo_ingest_"))
    );
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects",
            &plain_token,
            Some(json!({"name": "Nope"})),
        )
        .await,
        403,
    );
    app.stop().await;
}

storage_stories!(
    token_cannot_reach_another_project,
    expired_and_revoked_tokens_are_refused,
    viewer_cannot_write,
    token_scopes_limit_what_an_owner_can_do,
    tokens_are_created_shown_once_and_audited,
    members_are_managed_and_a_project_keeps_an_owner,
    instance_admins_create_users_and_projects,
);
