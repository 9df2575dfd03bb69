//! The first ten minutes: a server with no users sends sign-in to a
//! one-time setup page, which makes the first admin only with the setup
//! token from the server's log, shows each mistake beside its field with
//! what was typed kept, and is gone once a user exists.

use crate::helpers::{Backend, spawn_app, storage_stories};
use crate::ui::{browser, hidden_value, sign_in};

async fn the_first_admin_needs_the_setup_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = browser();
    let login = b.get(app.url("/login")).send().await.expect("login");
    assert_eq!(login.status(), 303);
    assert_eq!(login.headers()["location"], "/setup");
    let form = b
        .get(app.url("/setup"))
        .send()
        .await
        .expect("setup")
        .text()
        .await
        .expect("body");
    assert!(form.contains("Setup token"), "{form}");
    let csrf = hidden_value(&form, "csrf").expect("csrf");
    let post = |fields: Vec<(&'static str, String)>| {
        let mut all = fields;
        all.push(("csrf", csrf.clone()));
        let req = b.post(app.url("/setup")).form(&all);
        async move {
            let resp = req.send().await.expect("post");
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            (status, location, resp.text().await.unwrap_or_default())
        }
    };
    let token = app.state.setup_token.clone();
    let fields = |token: &str, email: &str, password: &str, again: &str| {
        vec![
            ("token", token.to_owned()),
            ("email", email.to_owned()),
            ("password", password.to_owned()),
            ("again", again.to_owned()),
        ]
    };
    let good = "correct horse battery staple";
    // Without the token nobody is made, and the typed address stays.
    let (status, _, page) = post(fields("guess", "ann@example.com", good, good)).await;
    assert_eq!(status, 403);
    assert!(page.contains("id=\"token-error\""), "{page}");
    assert!(page.contains("value=\"ann@example.com\""), "{page}");
    let (status, _, page) = post(fields(&token, "ann@example.com", "short", "short")).await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"password-error\""), "{page}");
    let (status, _, page) = post(fields(
        &token,
        "ann@example.com",
        good,
        "other horse battery",
    ))
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"again-error\""), "{page}");
    let (status, _, page) = post(fields(&token, "not-an-address", good, good)).await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"email-error\""), "{page}");
    assert!(!app.state.db.has_users().await.expect("users"));

    let (status, location, _) = post(fields(&token, "ann@example.com", good, good)).await;
    assert_eq!((status, location.as_deref()), (303, Some("/login")));
    let ann = app
        .state
        .db
        .user_by_email(&liveops_core::Email::parse("ann@example.com").expect("email"))
        .await
        .expect("the first admin");
    assert!(ann.is_admin);
    // The page is gone, and the token makes nobody else.
    let again = browser()
        .get(app.url("/setup"))
        .send()
        .await
        .expect("setup");
    assert_eq!(again.status(), 303);
    let (status, location, _) = post(fields(&token, "eve@example.com", good, good)).await;
    assert!(status == 303 || status == 403, "{status} {location:?}");
    assert!(
        app.state
            .db
            .user_by_email(&liveops_core::Email::parse("eve@example.com").expect("email"))
            .await
            .is_err()
    );
    // The admin signs in.
    sign_in(&browser(), &app.base, "ann@example.com", good).await;
    app.stop().await;
}

/// The getting-started page gives each SDK's snippet with this server's
/// address and the project's key, and its button tells whether the first
/// event has arrived.
async fn getting_started_checks_for_the_first_event(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |c| {
        c.public_url = Some("http://liveops.example.org".into());
    })
    .await;
    let (_, key) = crate::helpers::shop_with_ingest_key(&app).await;
    let b = browser();
    let csrf = sign_in(&b, &app.base, "root@example.com", "correct horse battery").await;
    let get = |path: &str| {
        let req = b.get(app.url(path));
        async move {
            let resp = req.send().await.expect("page");
            (resp.status().as_u16(), resp.text().await.expect("html"))
        }
    };
    let (status, page) = get("/p/shop/start").await;
    assert_eq!(status, 200);
    for wanted in [
        "posthog.init(",
        "api_host: 'http://liveops.example.org'",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://liveops.example.org",
        "webhook_configs",
        &key[..8],
    ] {
        assert!(page.contains(wanted), "{wanted} missing from {page}");
    }
    let (_, none) = get("/p/shop/start?check=events").await;
    assert!(none.contains("No events yet"), "{none}");
    let resp = app
        .http
        .post(app.url("/capture/"))
        .json(&serde_json::json!({"api_key": key, "event": "signed_up", "distinct_id": "u1"}))
        .send()
        .await
        .expect("capture");
    assert_eq!(resp.status(), 200);
    let (_, some) = get("/p/shop/start?check=events").await;
    assert!(some.contains("1 events have arrived (signed_up)"), "{some}");
    let (_, spans) = get("/p/shop/start?check=spans").await;
    assert!(spans.contains("No spans"), "{spans}");
    // An admin can make a new browser key and see it in the snippets once.
    let resp = b
        .post(app.url("/p/shop/start/key"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("new key");
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("html");
    assert!(page.contains("shown only once"), "{page}");
    assert!(!page.contains(&key[..12]), "the old key is gone");
    app.stop().await;
}

/// Setups sent at once make one admin: the others are told someone was first.
async fn simultaneous_setups_make_one_admin(backend: Backend) {
    let app = spawn_app(backend).await;
    let hash = liveops_server::auth::password::hash("correct horse battery").expect("hash");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let state = app.state.clone();
        let hash = hash.clone();
        tasks.push(tokio::spawn(async move {
            let email =
                liveops_core::Email::parse(&format!("admin{i}@example.com")).expect("email");
            liveops_server::access::create_first_admin(&state.db, &*state.clock, &email, &hash)
                .await
                .expect("no store error")
                .is_some()
        }));
    }
    let mut made = 0;
    for t in tasks {
        if t.await.expect("task") {
            made += 1;
        }
    }
    assert_eq!(made, 1);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(app.state.db.pool())
        .await
        .expect("count");
    assert_eq!(users, 1);
}

storage_stories!(
    the_first_admin_needs_the_setup_token,
    getting_started_checks_for_the_first_event,
    simultaneous_setups_make_one_admin,
);
