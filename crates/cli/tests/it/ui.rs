//! The web UI over plain HTTP: sign-in, CSRF, throttling and the area pages.

use reqwest::Client;

use crate::helpers::{Backend, spawn_app, storage_stories};

/// Pulls `name="field" value="…"` out of a page.
pub fn hidden_value(html: &str, field: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{field}\" value=\""))?;
    let rest = &html[at + field.len() + 15..];
    rest.split('"').next().map(str::to_owned)
}

/// Signs in through the login form and returns the session's CSRF token.
pub async fn sign_in(browser: &Client, base: &str, email: &str, password: &str) -> String {
    let form = browser
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    let csrf = hidden_value(&form, "csrf").expect("login csrf");
    let resp = browser
        .post(format!("{base}/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), 303, "sign-in failed");
    let page = browser.get(format!("{base}/")).send().await.expect("home");
    let location = page
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("/")
        .to_owned();
    let html = browser
        .get(format!("{base}{location}"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    hidden_value(&html, "_csrf").expect("session csrf in the page")
}

/// One sign-in attempt through the form, in a browser of its own, with
/// extra headers (a proxy's `X-Forwarded-For`): the status, the `Location`
/// it sends the browser to, and the page it answers with.
pub async fn sign_in_attempt(
    base: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let b = browser();
    let form = b
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("body");
    let csrf = hidden_value(&form, "csrf").expect("csrf");
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("csrf", &csrf));
    let mut req = b.post(format!("{base}/login")).form(&all);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("post");
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    let page = resp.text().await.unwrap_or_default();
    (status, location, page)
}

/// The text of a page's alert (`role="alert"`), or "".
pub fn alert(page: &str) -> String {
    page.split("role=\"alert\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or("")
        .to_owned()
}

pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn sign_in_shows_projects_and_areas(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let _ = app.project("Shop", &ada).await;
    let b = browser();

    // Signed-out visitors are sent to the login page, keeping where they were going.
    let resp = b.get(app.url("/p/shop/support")).send().await.expect("get");
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers().get("location").and_then(|l| l.to_str().ok()),
        Some("/login?next=%2Fp%2Fshop%2Fsupport")
    );

    // A wrong password is refused with a message and no session.
    let form = b
        .get(app.url("/login"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("body");
    let csrf = hidden_value(&form, "csrf").expect("csrf");
    let wrong = b
        .post(app.url("/login"))
        .form(&[
            ("email", "ada@example.com"),
            ("password", "nope nope nope"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("Wrong e-mail address or password")
    );

    // A forged form (no matching CSRF cookie) is refused.
    let forged = Client::new()
        .post(app.url("/login"))
        .form(&[
            ("email", "ada@example.com"),
            ("password", "correct horse battery"),
            ("csrf", "x"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);

    let session_csrf = sign_in(&b, &app.base, "ada@example.com", "correct horse battery").await;
    let cookie_header = b.get(app.url("/p/shop")).send().await.expect("overview");
    assert_eq!(cookie_header.status(), 200);
    for area in liveops_core::Area::ALL {
        let page = b
            .get(app.url(&format!("/p/shop/{}", area.slug())))
            .send()
            .await
            .expect("area");
        assert_eq!(page.status(), 200, "{}", area.slug());
        let html = page.text().await.expect("body");
        assert!(html.contains(area.title()), "{}", area.slug());
        assert!(
            html.contains(&format!("data-area=\"{}\"", area.slug())),
            "{}",
            area.slug()
        );
    }
    let missing = b
        .get(app.url("/p/blog/support"))
        .send()
        .await
        .expect("other project");
    assert_eq!(missing.status(), 404);

    // Sign-out needs the session's CSRF token and ends the session.
    let out = b
        .post(app.url("/logout"))
        .form(&[("_csrf", session_csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 303);
    let after = b.get(app.url("/p/shop")).send().await.expect("after");
    assert_eq!(after.status(), 303);
    app.stop().await;
}

async fn repeated_failed_sign_ins_slow_the_account_down(backend: Backend) {
    let app = spawn_app(backend).await;
    let _ = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let b = browser();
    let form = b
        .get(app.url("/login"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("body");
    let csrf = hidden_value(&form, "csrf").expect("csrf");
    let attempt = |password: &'static str| {
        let b = b.clone();
        let csrf = csrf.clone();
        let url = app.url("/login");
        async move {
            b.post(url)
                .form(&[
                    ("email", "ada@example.com"),
                    ("password", password),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .expect("post")
                .status()
                .as_u16()
        }
    };
    for _ in 0..10 {
        assert_eq!(attempt("wrong password!").await, 401);
    }
    // Slowed down: even the right password is refused for now, with the
    // answer a wrong one gets (see `hardening` for the delay running out).
    assert_eq!(attempt("correct horse battery").await, 401);
    // And the address itself runs out of attempts.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(attempt("wrong password!").await);
    }
    assert!(statuses.contains(&429));
    app.stop().await;
}

/// Tickets and maintenance through the pages' own forms: open a ticket,
/// reply, note, escalate, record the fixing release, solve and reopen;
/// schedule a window and move it on.
async fn tickets_and_maintenance_work_from_the_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let admin = app.token(&ada, &shop, "read,write,admin").await;
    let (status, _) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/projects/shop/components",
            &admin,
            Some(serde_json::json!({"name": "Checkout"})),
        )
        .await;
    assert_eq!(status, 201);
    let b = browser();
    let csrf = sign_in(&b, &app.base, "ada@example.com", "correct horse battery").await;
    let page = |path: String| {
        let b = b.clone();
        async move {
            let resp = b.get(path).send().await.expect("get");
            let status = resp.status().as_u16();
            (status, resp.text().await.expect("body"))
        }
    };
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let b = b.clone();
        async move {
            let resp = b.post(path).form(&form).send().await.expect("post");
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or("")
                .to_owned();
            (status, location, resp.text().await.unwrap_or_default())
        }
    };
    let (status, list) = page(app.url("/p/shop/support/tickets")).await;
    assert_eq!(status, 200);
    assert!(list.contains("No unresolved tickets."), "{list}");
    let (status, location, _) = post(
        app.url("/p/shop/support/tickets"),
        vec![
            ("_csrf", csrf.clone()),
            ("subject", "Cannot pay".into()),
            ("requester", "cus@example.org".into()),
            ("body", "My card is declined".into()),
            ("priority", "high".into()),
            ("tier", "l1".into()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(location, "/p/shop/support/tickets/1");
    // A bad requester is refused with a readable page and creates nothing.
    let (status, _, body) = post(
        app.url("/p/shop/support/tickets"),
        vec![
            ("_csrf", csrf.clone()),
            ("subject", "Broken".into()),
            ("requester", "nobody".into()),
            ("body", "x".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body.contains("e-mail") || body.contains("address"),
        "{body}"
    );
    let t = app.url("/p/shop/support/tickets/1");
    for (action, extra) in [
        ("comment", vec![("kind", "reply"), ("body", "We are on it")]),
        (
            "comment",
            vec![("kind", "note"), ("body", "Payment provider issue")],
        ),
        ("escalate", vec![]),
        ("fixed_in", vec![("release", "3.1.4")]),
        ("solve", vec![]),
    ] {
        let mut form = vec![("_csrf", csrf.clone())];
        form.extend(extra.into_iter().map(|(k, v)| (k, v.to_owned())));
        let (status, location, body) = post(format!("{t}/{action}"), form).await;
        assert_eq!(status, 303, "{action}: {body}");
        assert_eq!(location, "/p/shop/support/tickets/1");
    }
    let (status, html) = page(t.clone()).await;
    assert_eq!(status, 200);
    for want in [
        "Cannot pay",
        "We are on it",
        "Payment provider issue",
        "internal note",
        "escalated from L1 to L2",
        "Fixed in release 3.1.4",
        "data-status=\"solved\"",
        "Reopen",
    ] {
        assert!(html.contains(want), "{want} missing from the ticket page");
    }
    let (status, _, body) = post(
        format!("{t}/escalate"),
        vec![("_csrf", "forged".to_owned())],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = post(format!("{t}/reopen"), vec![("_csrf", csrf.clone())]).await;
    assert_eq!(status, 303);
    let (status, _, body) = post(format!("{t}/reopen"), vec![("_csrf", csrf.clone())]).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = page(app.url("/p/shop/support/tickets/99")).await;
    assert_eq!(status, 404);
    let (_, list) = page(app.url("/p/shop/support/tickets?show=all")).await;
    assert!(list.contains("/p/shop/support/tickets/1"));

    // Maintenance: schedule from the support page, then move it on.
    let (_, support) = page(app.url("/p/shop/support")).await;
    assert!(
        support.contains("Response times, last 30 days"),
        "{support}"
    );
    assert!(support.contains("first response on time"), "{support}");
    let component = support
        .split("name=\"component\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("component checkbox")
        .to_owned();
    let (status, _, body) = post(
        app.url("/p/shop/support/maintenances"),
        vec![
            ("_csrf", csrf.clone()),
            ("title", "Database upgrade".into()),
            ("starts_at", "2099-01-01T02:00".into()),
            ("ends_at", "2099-01-01T03:00".into()),
            ("component", component),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let (status, _, _) = post(
        app.url("/p/shop/support/maintenances"),
        vec![
            ("_csrf", csrf.clone()),
            ("title", "Backwards".into()),
            ("starts_at", "2099-01-01T03:00".into()),
            ("ends_at", "2099-01-01T02:00".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    let (_, maint) = app.get("/api/v1/projects/shop/maintenances", &admin).await;
    assert_eq!(maint.as_array().map(Vec::len), Some(1), "{maint}");
    assert_eq!(maint[0]["components"], serde_json::json!(["Checkout"]));
    let id = maint[0]["id"].as_str().expect("id").to_owned();
    let (status, _, _) = post(
        app.url(&format!("/p/shop/support/maintenances/{id}/in_progress")),
        vec![("_csrf", csrf.clone())],
    )
    .await;
    assert_eq!(status, 303);
    let (_, support) = page(app.url("/p/shop/support")).await;
    assert!(support.contains("data-state=\"in_progress\""), "{support}");
    let (_, comps) = app.get("/api/v1/projects/shop/components", &admin).await;
    assert_eq!(comps[0]["status"], "under_maintenance");
    app.stop().await;
}

/// The settings forms add, edit and delete objects of any kind: a mistake
/// comes back beside its field with what was typed kept, a rename is
/// refused, the whole configuration dry-runs from YAML without changing
/// anything, and a person's notification rules are added and removed.
async fn settings_forms_add_edit_and_delete(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let admin = app.token(&ada, &shop, "read,write,admin").await;
    let b = browser();
    let csrf = sign_in(&b, &app.base, "ada@example.com", "correct horse battery").await;
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        let b = b.clone();
        let url = app.url(path);
        async move {
            let resp = b.post(url).form(&form).send().await.expect("post");
            let status = resp.status().as_u16();
            (status, resp.text().await.unwrap_or_default())
        }
    };
    let get = |path: &str| {
        let b = b.clone();
        let url = app.url(path);
        async move {
            let resp = b.get(url).send().await.expect("get");
            let status = resp.status().as_u16();
            (status, resp.text().await.unwrap_or_default())
        }
    };
    let (status, index) = get("/p/shop/settings/configure").await;
    assert_eq!(status, 200);
    for title in [
        "On-call schedules",
        "Escalation policies",
        "Alert integrations",
        "Release trains",
        "Credential inventory",
    ] {
        assert!(index.contains(title), "{title}");
    }
    let c = || ("_csrf", csrf.clone());
    // A bad cadence: 422, the problem beside the field, the name kept.
    let (status, page) = post(
        "/p/shop/settings/configure/trains",
        vec![
            c(),
            ("name", "Weekly".into()),
            ("cadence", "daily".into()),
            ("first_release", "2026-12-10".into()),
            ("freeze_days", "".into()),
        ],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("id=\"field-cadence-error\""), "{page}");
    assert!(page.contains("value=\"Weekly\""), "{page}");
    let (status, page) = post(
        "/p/shop/settings/configure/trains",
        vec![
            c(),
            ("name", "Weekly".into()),
            ("cadence", "weekly".into()),
            ("first_release", "2026-12-10".into()),
            ("freeze_days", "x".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"field-freeze_days-error\""), "{page}");
    let (status, page) = post(
        "/p/shop/settings/configure/trains",
        vec![
            c(),
            ("name", "Weekly".into()),
            ("cadence", "weekly".into()),
            ("first_release", "2026-12-10".into()),
            ("freeze_days", "".into()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Saved:") && page.contains("create trains"),
        "{page}"
    );
    let (_, trains) = app
        .get("/api/v1/projects/shop/releases/trains", &admin)
        .await;
    assert_eq!(trains[0]["freeze_days"], 2, "{trains}");
    // Edited in place; the name cannot change here.
    let (status, page) = get("/p/shop/settings/configure/trains?name=Weekly").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("name=\"_editing\" value=\"Weekly\""),
        "{page}"
    );
    let (status, page) = post(
        "/p/shop/settings/configure/trains",
        vec![
            c(),
            ("_editing", "Weekly".into()),
            ("name", "Weekly".into()),
            ("cadence", "biweekly".into()),
            ("first_release", "2026-12-10".into()),
            ("freeze_days", "3".into()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("update trains"), "{page}");
    let (status, page) = post(
        "/p/shop/settings/configure/trains",
        vec![
            c(),
            ("_editing", "Weekly".into()),
            ("name", "Fortnightly".into()),
            ("cadence", "biweekly".into()),
            ("first_release", "2026-12-10".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("renaming is not possible"), "{page}");
    // The same name again is refused as a new object.
    let (status, page) = post(
        "/p/shop/settings/configure/trains",
        vec![
            c(),
            ("name", "Weekly".into()),
            ("cadence", "weekly".into()),
            ("first_release", "2026-12-10".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("already a train"), "{page}");
    let (_, trains) = app
        .get("/api/v1/projects/shop/releases/trains", &admin)
        .await;
    assert_eq!(trains[0]["cadence"], "biweekly", "{trains}");
    assert_eq!(trains[0]["freeze_days"], 3, "{trains}");
    // A reference to nothing is refused whole.
    let (status, page) = post(
        "/p/shop/settings/configure/integrations",
        vec![
            c(),
            ("name", "Grafana".into()),
            ("kind", "grafana".into()),
            ("policy", "Nobody".into()),
            ("auto_resolve", "".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("no escalation policy `Nobody`"), "{page}");
    let (status, page) = post(
        "/p/shop/settings/configure/trains/delete",
        vec![c(), ("name", "Weekly".into())],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("delete trains"), "{page}");
    let (_, trains) = app
        .get("/api/v1/projects/shop/releases/trains", &admin)
        .await;
    assert_eq!(trains, serde_json::json!([]));
    // The whole file, dry-run: it says what it would do and does nothing.
    let (status, page) = post(
        "/p/shop/settings/configure/file",
        vec![
            c(),
            ("yaml", "components:\n  - name: Search\n".into()),
            ("mode", "dry_run".into()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("A dry run") && page.contains("create components"),
        "{page}"
    );
    let (_, components) = app
        .get("/api/v1/projects/shop/support/components", &admin)
        .await;
    assert_eq!(components, serde_json::json!([]));
    let (status, page) = post(
        "/p/shop/settings/configure/file",
        vec![
            c(),
            ("yaml", "components: [".into()),
            ("mode", "apply".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("does not read"), "{page}");
    // A schedule, and an override put in and taken out on its page.
    let (status, page) = post(
        "/p/shop/settings/configure/schedules",
        vec![
            c(),
            ("name", "Primary".into()),
            ("time_zone", "UTC".into()),
            (
                "layers",
                "ada@example.com start=2026-01-05T09:00 shift=1w".into(),
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let (status, page) = post(
        "/p/shop/settings/configure/schedules/overrides",
        vec![
            c(),
            ("name", "Primary".into()),
            ("user", "ada@example.com".into()),
            ("start", "2099-01-02T09:00".into()),
            ("end", "2099-01-01T09:00".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("must end after it starts"), "{page}");
    let (status, _) = post(
        "/p/shop/settings/configure/schedules/overrides",
        vec![
            c(),
            ("name", "Primary".into()),
            ("user", "ada@example.com".into()),
            ("start", "2099-01-01T09:00".into()),
            ("end", "2099-01-02T09:00".into()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, schedule) = app
        .get("/api/v1/projects/shop/support/schedules/Primary", &admin)
        .await;
    let id = schedule["overrides"][0]["id"]
        .as_str()
        .expect("an override")
        .to_owned();
    assert_eq!(
        schedule["overrides"][0]["start"], "2099-01-01T09:00:00Z",
        "{schedule}"
    );
    let (_, page) = get("/p/shop/settings/configure/schedules?name=Primary").await;
    assert!(page.contains("2099-01-01T09:00:00Z"), "{page}");
    let (status, _) = post(
        "/p/shop/settings/configure/schedules/overrides/delete",
        vec![c(), ("name", "Primary".into()), ("id", id)],
    )
    .await;
    assert_eq!(status, 303);
    let (_, schedule) = app
        .get("/api/v1/projects/shop/support/schedules/Primary", &admin)
        .await;
    assert_eq!(schedule["overrides"], serde_json::json!([]), "{schedule}");

    // Your notifications.
    let (status, _) = post(
        "/me/notifications",
        vec![
            c(),
            ("kind", "webhook".into()),
            ("address", "http://127.0.0.1:9/mine".into()),
            ("min_severity", "sev2".into()),
            ("delay_secs", "60".into()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = get("/me/notifications").await;
    assert!(
        page.contains("http://127.0.0.1:9/mine") && page.contains("sev2"),
        "{page}"
    );
    let (status, page) = post(
        "/me/notifications",
        vec![
            c(),
            ("kind", "email".into()),
            ("address", "not an address".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("value=\"not an address\""), "{page}");
    let id = page
        .split("/me/notifications/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a rule to remove")
        .to_owned();
    let (status, _) = post(&format!("/me/notifications/{id}/delete"), vec![c()]).await;
    assert_eq!(status, 303);
    let (_, page) = get("/me/notifications").await;
    assert!(page.contains("No rules yet"), "{page}");
}

async fn error_dsn(app: &crate::helpers::TestApp, token: &str) -> serde_json::Value {
    app.get("/api/v1/projects/shop/support/errors/dsn", token)
        .await
        .1
}

/// The errors page's settings forms: an admin replaces the DSN's key (the
/// old one is refused from then on) and sets spike alerts; a bad number is
/// refused with a message and changes nothing; a responder may do neither.
async fn the_errors_page_rotates_the_dsn_and_sets_alerts(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let bob = app
        .user("bob@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    app.member(&shop, &bob, liveops_core::Role::Responder).await;
    let admin = app.token(&ada, &shop, "read,write,admin").await;
    let before = error_dsn(&app, &admin).await;
    let post = |b: Client, form: Vec<(&'static str, String)>| {
        let url = app.url("/p/shop/support/errors/settings");
        async move {
            let resp = b.post(url).form(&form).send().await.expect("post");
            let status = resp.status().as_u16();
            (status, resp.text().await.unwrap_or_default())
        }
    };

    // A responder sees the page but may not change its settings.
    let bb = browser();
    let bob_csrf = sign_in(&bb, &app.base, "bob@example.com", "correct horse battery").await;
    let (status, _) = post(
        bb.clone(),
        vec![("_csrf", bob_csrf), ("op", "rotate".into())],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        error_dsn(&app, &admin).await["public_key"],
        before["public_key"]
    );

    let b = browser();
    let csrf = sign_in(&b, &app.base, "ada@example.com", "correct horse battery").await;
    let (status, _) = post(
        b.clone(),
        vec![("_csrf", csrf.clone()), ("op", "rotate".into())],
    )
    .await;
    assert_eq!(status, 303);
    let after = error_dsn(&app, &admin).await;
    assert_ne!(after["public_key"], before["public_key"]);
    let page = b
        .get(app.url("/p/shop/support/errors"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(
        page.contains(after["dsn"].as_str().expect("dsn")),
        "the page shows the new DSN"
    );
    assert_eq!(
        crate::helpers::store_event(&app, &before, &serde_json::json!({"message": "hello"})).await,
        401,
        "the old key is refused"
    );

    let (status, _) = post(
        b.clone(),
        vec![
            ("_csrf", csrf.clone()),
            ("op", "alerts".into()),
            ("integration", String::new()),
            ("on_regression", "1".into()),
            ("spike_events", "7".into()),
            ("spike_minutes", "15".into()),
            ("spike_percent", "2.5".into()),
            ("notify", "l2".into()),
            ("severities", "warning=sev4".into()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let set = error_dsn(&app, &admin).await;
    assert_eq!(
        (
            &set["spike_events"],
            &set["spike_minutes"],
            &set["alert_regression"]
        ),
        (
            &serde_json::json!(7),
            &serde_json::json!(15),
            &serde_json::json!(true)
        )
    );
    assert_eq!(
        (&set["spike_percent"], &set["notify"], &set["severities"]),
        (
            &serde_json::json!(2.5),
            &serde_json::json!("l2"),
            &serde_json::json!("warning=sev4")
        )
    );
    for (field, value, why) in [
        ("spike_percent", "lots", "requests must be a number."),
        ("severities", "fatal=loud", "unknown severity"),
    ] {
        let (status, body) = post(
            b.clone(),
            vec![
                ("_csrf", csrf.clone()),
                ("op", "alerts".into()),
                (field, value.into()),
            ],
        )
        .await;
        assert_eq!(status, 422);
        assert!(body.contains(why), "{why}: {body}");
    }
    let (status, body) = post(
        b.clone(),
        vec![
            ("_csrf", csrf.clone()),
            ("op", "alerts".into()),
            ("spike_events", "many".into()),
            ("spike_minutes", "15".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("Events must be a whole number."), "{body}");
    let (status, body) = post(
        b.clone(),
        vec![
            ("_csrf", csrf),
            ("op", "alerts".into()),
            ("spike_events", "7".into()),
            ("spike_minutes", "0".into()),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("spike_minutes"), "{body}");
    assert_eq!(
        error_dsn(&app, &admin).await["spike_minutes"],
        15,
        "nothing changed"
    );
    app.stop().await;
}

storage_stories!(
    the_errors_page_rotates_the_dsn_and_sets_alerts,
    sign_in_shows_projects_and_areas,
    repeated_failed_sign_ins_slow_the_account_down,
    tickets_and_maintenance_work_from_the_pages,
    settings_forms_add_edit_and_delete,
);

/// A browser signed in as the stories' root user, and the text of the page
/// at `path` under `base`.
pub async fn root_page(base: &str, path: &str) -> (Client, String) {
    let b = browser();
    sign_in(&b, base, "root@example.com", "correct horse battery").await;
    let html = b
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    (b, html)
}
