//! The holes a security review found on a running server, each closed and
//! tried again here: outbound requests to internal addresses, instance-wide
//! power from project tokens, sign-in throttling, the redirect after
//! sign-in, unbounded analytics queries, keys that could do too much,
//! public pages nobody turned on, cross-project DORA numbers, members who
//! left but were still paged, and calendar feeds that carried API tokens.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode, Uri};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, spawn_app, spawn_app_with, status_json, storage_stories,
};

/// What a receiver was sent: path, headers and body.
type Hits = Arc<Mutex<Vec<(String, HeaderMap, String)>>>;

/// A loopback HTTP receiver with several behaviours, by path:
/// `/ok` answers 200, `/echo` answers a subscription challenge (after
/// checking its signature), `/noecho` answers 200 without echoing,
/// `/redirect` answers 307 to `/ok`, `/fail` answers 500 with a body that
/// must never reach anyone.
struct Receiver {
    base: String,
    hits: Hits,
}

const SUBSCRIBER_SECRET: &str = "subscriber-secret-123";

impl Receiver {
    async fn start() -> Receiver {
        let hits: Hits = Arc::default();
        let seen = hits.clone();
        let app =
            axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: String| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap_or_else(|p| p.into_inner()).push((
                        uri.path().to_owned(),
                        headers.clone(),
                        body.clone(),
                    ));
                    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    match uri.path() {
                        "/echo" => {
                            let sig = headers
                                .get("x-liveops-signature")
                                .and_then(|s| s.to_str().ok())
                                .unwrap_or_default();
                            if sig
                                == liveops_server::signing::sign(SUBSCRIBER_SECRET, body.as_bytes())
                            {
                                (
                                    StatusCode::OK,
                                    v["challenge"].as_str().unwrap_or("").to_owned(),
                                )
                            } else {
                                (StatusCode::UNAUTHORIZED, "bad signature".to_owned())
                            }
                        }
                        "/redirect" => (StatusCode::TEMPORARY_REDIRECT, String::new()),
                        "/fail" => (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "secret internals: db password hunter2".to_owned(),
                        ),
                        _ => (StatusCode::OK, "ok".to_owned()),
                    }
                }
            });
        // The redirect needs its Location; added by a layer, as a real
        // server would send it.
        let app = app.layer(axum::middleware::map_response(
            |mut r: axum::response::Response| async move {
                if r.status() == StatusCode::TEMPORARY_REDIRECT {
                    r.headers_mut()
                        .insert("location", axum::http::HeaderValue::from_static("/ok"));
                }
                r
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { base, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self, path: &str) -> Vec<(HeaderMap, String)> {
        self.hits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, h, b)| (h.clone(), b.clone()))
            .collect()
    }
}

/// root (instance admin, owner of `shop`) with a project token and an
/// instance token.
async fn shop(app: &TestApp) -> (liveops_store::projects::Project, String, String) {
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &root).await;
    let admin = app.token(&root, &shop, "read,write,admin").await;
    let instance = app.instance_token(&root, "read,write,admin").await;
    (shop, admin, instance)
}

/// Sends what is due in the outbox, as the job does.
/// Job timers an hour apart: past the round each server starts with, only
/// the story's own `deliver` runs deliveries, so none is still in flight
/// in the background when the story looks at the outcome.
const STORY_DRIVES_JOBS_MS: u64 = 3_600_000;

async fn deliver(app: &TestApp) {
    liveops_server::support::deliver::run_due(&app.state)
        .await
        .expect("deliveries");
}

/// Regression: hooks, notification rules, report recipients and outbox
/// rows could make the server POST to loopback, link-local and private
/// addresses, follow redirects with the body, and show the answer.
async fn outbound_requests_to_internal_addresses_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.outbound_allow.clear();
        c.job_tick_ms = STORY_DRIVES_JOBS_MS;
    })
    .await;
    let rx = Receiver::start().await;
    let (shop, admin, instance) = shop(&app).await;
    let port = rx.base.rsplit(':').next().unwrap_or("9").to_owned();
    for url in [
        rx.url("/ok"),
        format!("http://localhost:{port}/ok"),
        format!("http://[::ffff:127.0.0.1]:{port}/ok"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/hook".to_owned(),
        "http://[fd00::1]/hook".to_owned(),
    ] {
        let got = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/hooks",
                &admin,
                Some(json!({"kind": "webhook", "url": url})),
            )
            .await;
        assert_problem(&got, 422);
        assert!(
            got.1["detail"]
                .as_str()
                .is_some_and(|d| d.contains("refused")),
            "{url}: {}",
            got.1
        );
        let got = app
            .send(
                Method::POST,
                "/api/v1/me/notification-rules",
                &instance,
                Some(json!({"kind": "slack", "address": url})),
            )
            .await;
        assert_problem(&got, 422);
        let got = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/reports/recipients",
                &admin,
                Some(json!({"channel": "webhook", "target": url})),
            )
            .await;
        assert_problem(&got, 422);
    }
    // A URL stored before the check (or a name whose address changed)
    // is refused again when it is delivered to, before any connection.
    let mut tx = app.state.db.begin().await.expect("tx");
    let sealed = app.state.sealer.seal(&rx.url("/ok"));
    let id = liveops_store::support::notify::enqueue(
        &mut tx,
        &liveops_store::support::notify::NewDelivery {
            project_id: &shop.id,
            incident_id: None,
            channel: liveops_store::support::notify::Channel::Webhook,
            target: &sealed,
            subject: "x",
            payload: "{}",
            due_at: 0,
            signing_key: None,
        },
        0,
    )
    .await
    .expect("enqueue");
    tx.commit().await.expect("commit");
    deliver(&app).await;
    let row = app
        .state
        .db
        .deliveries_for_project(&shop.id, 10)
        .await
        .expect("rows")
        .into_iter()
        .find(|d| d.id == id)
        .expect("row");
    assert_eq!(row.state, "pending", "retried later, not sent");
    assert_eq!(
        row.last_error.as_deref(),
        Some("refused: 127.0.0.1 is a loopback address")
    );
    assert!(rx.hits("/ok").is_empty(), "the receiver was reached");
    app.stop().await;
}

/// With loopback allowed, a redirect is not followed and an error answer
/// shows as its class, never its body.
async fn deliveries_follow_no_redirect_and_hide_answers(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.job_tick_ms = STORY_DRIVES_JOBS_MS).await;
    let rx = Receiver::start().await;
    let (shop, admin, _) = shop(&app).await;
    for path in ["/redirect", "/fail"] {
        let (status, v) = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/hooks",
                &admin,
                Some(json!({"kind": "webhook", "url": rx.url(path)})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
    }
    let (status, v) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Checkout is slow"})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    deliver(&app).await;
    assert_eq!(rx.hits("/redirect").len(), 1);
    assert!(rx.hits("/ok").is_empty(), "the redirect was followed");
    let rows = app
        .state
        .db
        .deliveries_for_project(&shop.id, 10)
        .await
        .expect("rows");
    let errors: Vec<String> = rows.iter().filter_map(|d| d.last_error.clone()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    let port = rx.base.rsplit(':').next().unwrap_or("");
    assert!(
        errors.contains(&format!("HTTP 307 from http://127.0.0.1:{port}/redirect")),
        "{errors:?}"
    );
    assert!(
        errors.contains(&format!("HTTP 500 from http://127.0.0.1:{port}/fail")),
        "{errors:?}"
    );
    assert!(errors.iter().all(|e| !e.contains("hunter2")), "{errors:?}");
    app.stop().await;
}

/// Regression: anyone could subscribe any webhook or address, which was
/// sent every update at once; a second subscription overwrote the first's
/// components; messages had no way out.
async fn status_subscriptions_are_confirmed_before_anything_is_sent(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.public_url = Some("https://status.shop.example".into());
        c.job_tick_ms = STORY_DRIVES_JOBS_MS;
    })
    .await;
    let rx = Receiver::start().await;
    let (shop, admin, _) = shop(&app).await;
    for name in ["Checkout", "Search"] {
        let (status, v) = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/components",
                &admin,
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 201, "{v}");
    }
    let subscribe = |body: Value| {
        let app = &app;
        async move {
            let resp = app
                .http
                .post(app.url("/status/shop/subscribe"))
                .json(&body)
                .send()
                .await
                .expect("subscribe");
            status_json(resp).await
        }
    };
    // The page is off: there is nothing to subscribe to.
    assert_problem(
        &subscribe(json!({"kind": "email", "address": "cust@example.com"})).await,
        404,
    );
    let (status, v) = app
        .send(
            Method::PUT,
            "/api/v1/projects/shop/public-pages",
            &admin,
            Some(json!({"status_page": true, "changelog": false})),
        )
        .await;
    assert_eq!(status, 200, "{v}");

    // E-mail: a confirmation link is mailed; nothing else until it is used.
    let (status, v) = subscribe(
        json!({"kind": "email", "address": "cust@example.com", "components": ["Checkout"]}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let mails = app
        .state
        .db
        .deliveries_for_project(&shop.id, 10)
        .await
        .expect("rows");
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].target, "cust@example.com");
    let link = mails[0]
        .payload
        .split_whitespace()
        .find(|w| w.starts_with("https://status.shop.example/status/shop/confirm?"))
        .expect("confirmation link")
        .to_owned();
    // A second request for the same address cannot change it unconfirmed,
    // and comes too soon.
    assert_problem(
        &subscribe(
            json!({"kind": "email", "address": "cust@example.com", "components": ["Search"]}),
        )
        .await,
        429,
    );

    // An incident with a public update on Checkout: the unconfirmed
    // address hears nothing.
    let (status, v) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Payments down", "components": ["Checkout"]})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let update = |n: i64, text: &str| {
        let app = &app;
        let admin = admin.clone();
        let text = text.to_owned();
        async move {
            let (status, v) = app
                .send(
                    Method::POST,
                    &format!("/api/v1/projects/shop/incidents/{n}/updates"),
                    &admin,
                    Some(json!({"body": text, "stage": "investigating"})),
                )
                .await;
            assert_eq!(status, 200, "{v}");
        }
    };
    update(1, "We are looking into failed payments.").await;
    let to_cust = |rows: &[liveops_store::support::notify::OutboxRow]| {
        rows.iter()
            .filter(|d| d.target == "cust@example.com" && d.subject.starts_with("[status]"))
            .count()
    };
    let rows = app
        .state
        .db
        .deliveries_for_project(&shop.id, 50)
        .await
        .expect("rows");
    assert_eq!(to_cust(&rows), 0, "an unconfirmed address was written to");

    // Opening the link shows a button and changes nothing (a mail
    // scanner's GET confirms nothing); pressing it confirms.
    let path = link.trim_start_matches("https://status.shop.example");
    let page = app
        .http
        .get(app.url(path))
        .send()
        .await
        .expect("confirm page");
    assert_eq!(page.status(), 200);
    update(1, "Still looking.").await;
    let rows = app
        .state
        .db
        .deliveries_for_project(&shop.id, 50)
        .await
        .expect("rows");
    assert_eq!(to_cust(&rows), 0, "the GET confirmed the subscription");
    let query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let resp = app
        .http
        .post(app.url("/status/shop/confirm"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query.to_owned())
        .send()
        .await
        .expect("confirm");
    assert_eq!(resp.status(), 200);
    update(1, "Fixed the cause; watching.").await;
    let rows = app
        .state
        .db
        .deliveries_for_project(&shop.id, 50)
        .await
        .expect("rows");
    assert_eq!(to_cust(&rows), 1);
    let notice = rows
        .iter()
        .find(|d| d.target == "cust@example.com" && d.subject.starts_with("[status]"))
        .expect("notice");
    let unsubscribe = notice
        .payload
        .split_whitespace()
        .find(|w| w.starts_with("https://status.shop.example/status/shop/unsubscribe?"))
        .expect("every message carries an unsubscribe link")
        .to_owned();
    // A used link is spent.
    let resp = app
        .http
        .post(app.url("/status/shop/confirm"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query.to_owned())
        .send()
        .await
        .expect("confirm again");
    assert_eq!(resp.status(), 404);

    // A webhook must answer a signed challenge; one that does not is refused.
    assert_problem(
        &subscribe(json!({"kind": "webhook", "address": rx.url("/noecho"),
                          "secret": SUBSCRIBER_SECRET}))
        .await,
        422,
    );
    assert_problem(
        &subscribe(json!({"kind": "webhook", "address": rx.url("/echo")})).await,
        422,
    );
    let (status, v) = subscribe(json!({"kind": "webhook", "address": rx.url("/echo"),
                                       "secret": SUBSCRIBER_SECRET}))
    .await;
    assert_eq!(status, 201, "{v}");
    assert!(
        v["unsubscribe_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://status.shop.example/status/shop/unsubscribe?")),
        "{v}"
    );
    update(1, "Recovered.").await;
    deliver(&app).await;
    let heard = rx.hits("/echo");
    // The challenge, then the update: signed, with the way out.
    assert_eq!(heard.len(), 2, "{heard:?}");
    let (headers, body) = &heard[1];
    let v: Value = serde_json::from_str(body).expect("json");
    assert_eq!(v["event"], "status.update");
    assert!(v["unsubscribe_url"].as_str().is_some(), "{v}");
    assert_eq!(
        headers
            .get("x-liveops-signature")
            .and_then(|s| s.to_str().ok()),
        Some(liveops_server::signing::sign(SUBSCRIBER_SECRET, body.as_bytes()).as_str())
    );

    // Unsubscribing: the link's page has a button; the POST removes.
    let path = unsubscribe.trim_start_matches("https://status.shop.example");
    let query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let resp = app
        .http
        .post(app.url("/status/shop/unsubscribe"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query.to_owned())
        .send()
        .await
        .expect("unsubscribe");
    assert_eq!(resp.status(), 200);
    let before = app
        .state
        .db
        .deliveries_for_project(&shop.id, 100)
        .await
        .expect("rows")
        .len();
    update(1, "All clear.").await;
    let rows = app
        .state
        .db
        .deliveries_for_project(&shop.id, 100)
        .await
        .expect("rows");
    assert_eq!(
        rows.len(),
        before + 1,
        "only the webhook hears; the address that left does not"
    );
    app.stop().await;
}

/// Regression: a token bound to one project, belonging to an instance
/// admin, created a new instance admin through `POST /api/v1/users`.
async fn project_tokens_cannot_act_on_the_instance(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, project_token, instance) = shop(&app).await;
    let new_admin = json!({"email": "mallory@example.com", "admin": true});
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/users",
            &project_token,
            Some(new_admin.clone()),
        )
        .await,
        403,
    );
    assert_problem(&app.get("/api/v1/users", &project_token).await, 403);
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects",
            &project_token,
            Some(json!({"name": "Other"})),
        )
        .await,
        403,
    );
    let (status, v) = app
        .send(Method::POST, "/api/v1/users", &instance, Some(new_admin))
        .await;
    assert_eq!(status, 201, "{v}");
    // A project token may still say who it is and which project it reaches.
    let (status, me) = app.get("/api/v1/me", &project_token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["projects"].as_array().map(Vec::len), Some(1));
    // Instance tokens are listed and revoked by their holder.
    let (status, list) = app.get("/api/v1/tokens", &instance).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let id = list[0]["id"].as_str().expect("id").to_owned();
    let (status, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &instance,
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_problem(&app.get("/api/v1/tokens", &instance).await, 401);
    app.stop().await;
}

/// Regression: while an account was locked its failures were not counted
/// and the counter reset only on success, so after the lock one wrong
/// password locked it again; the locked answer differed from the others.
async fn sign_in_throttling_slows_attackers_and_never_locks_out(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    app.user("ada@example.com", "correct horse battery", false)
        .await;
    let attempt = |email: &'static str, password: &'static str, from: &'static str| {
        let base = app.base.clone();
        async move {
            let (status, _, page) = crate::ui::sign_in_attempt(
                &base,
                &[("email", email), ("password", password), ("next", "/")],
                &[("x-forwarded-for", from)],
            )
            .await;
            (status, crate::ui::alert(&page))
        }
    };
    // Unknown address, wrong password: one answer.
    let unknown = attempt("nobody@example.com", "whatever-password", "198.51.100.7").await;
    let wrong = attempt("ada@example.com", "wrong password!", "198.51.100.7").await;
    assert_eq!(unknown.0, 401);
    assert_eq!(unknown, wrong);
    for _ in 0..4 {
        assert_eq!(
            attempt("ada@example.com", "wrong password!", "198.51.100.7").await,
            wrong
        );
    }
    // Five failures from one address: the next attempt from it must wait,
    // even with the right password, and is told exactly what a wrong
    // password is told.
    assert_eq!(
        attempt("ada@example.com", "correct horse battery", "198.51.100.7").await,
        wrong
    );
    // The owner at another address (behind the trusted proxy) is not kept out.
    assert_eq!(
        attempt("ada@example.com", "correct horse battery", "203.0.113.9")
            .await
            .0,
        303
    );
    // And at the first address, once the delay (a second) has passed; the
    // attempts meanwhile are not counted, so the wait does not grow.
    let start = std::time::Instant::now();
    loop {
        let got = attempt("ada@example.com", "correct horse battery", "198.51.100.7").await;
        if got.0 == 303 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "never let in: {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // An administrator's unlock forgets the failures.
    for _ in 0..6 {
        attempt("ada@example.com", "wrong password!", "198.51.100.8").await;
    }
    let forgotten = liveops_server::auth::throttle::unlock(&app.state.db, "ada@example.com")
        .await
        .expect("unlock");
    assert!(forgotten >= 6, "{forgotten}");
    assert_eq!(
        attempt("ada@example.com", "correct horse battery", "198.51.100.8")
            .await
            .0,
        303
    );
    app.stop().await;
}

/// Regression: `/login?next=/%09/evil.example` sent the browser off-site
/// after signing in.
async fn sign_in_redirects_stay_on_this_site(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("ada@example.com", "correct horse battery", false)
        .await;
    for (next, want) in [
        ("/p/shop/support?x=1", "/p/shop/support?x=1"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\/evil.example", "/"),
        ("///evil.example", "/"),
        ("https://evil.example/", "/"),
        ("%2F%2Fevil.example", "/"),
        ("/%2F/evil.example", "/%2F/evil.example"),
    ] {
        let (status, location, _) = crate::ui::sign_in_attempt(
            &app.base,
            &[
                ("email", "ada@example.com"),
                ("password", "correct horse battery"),
                ("next", next),
            ],
            &[],
        )
        .await;
        assert_eq!(status, 303, "{next:?}");
        assert_eq!(location.as_deref(), Some(want), "{next:?}");
    }
    // The query string is read decoded once: `%09` is a tab.
    let page = app
        .http
        .get(app.url("/login?next=/%09/evil.example"))
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("body");
    assert_eq!(crate::ui::hidden_value(&page, "next").as_deref(), Some("/"));
    app.stop().await;
}

/// Regression: a breakdown on a property with a value per event made a
/// series per value (61 MB for 300 events over ten years); the pages let
/// hourly buckets over 400 days through while the API refused them.
async fn breakdowns_and_ranges_are_bounded(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, key) = crate::helpers::shop_with_ingest_key(&app).await;
    let now = app.now_ms();
    let batch: Vec<Value> = (0..300)
        .map(|i| {
            json!({"event": "order", "distinct_id": format!("u{}", i % 40),
                   "properties": {"uid": format!("id-{i}"), "plan": if i < 200 { "a" } else { "b" }},
                   "timestamp": jiff::Timestamp::from_millisecond(now - 3_600_000 - i64::from(i) * 1000)
                       .expect("ts").to_string()})
        })
        .collect();
    let resp = app
        .http
        .post(app.url("/batch/"))
        .json(&json!({"api_key": key, "batch": batch}))
        .send()
        .await
        .expect("batch");
    assert_eq!(resp.status(), 200);
    let (status, t) = app
        .get(
            "/api/v1/projects/shop/analytics/trends?event=order&breakdown=uid&from=2016-12-01",
            &admin,
        )
        .await;
    assert_problem(&(status, t), 422);
    let (status, t) = app
        .get(
            "/api/v1/projects/shop/analytics/trends?event=order&breakdown=uid&interval=month&from=2016-12-01",
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{t}");
    let series = t["series"].as_array().expect("series");
    assert_eq!(series.len(), 26, "25 values and one other");
    let total = |s: &Value| -> u64 {
        s["points"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["events"].as_u64()).sum())
            .unwrap_or(0)
    };
    let other: Vec<&Value> = series.iter().filter(|s| s["other"] == true).collect();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0]["value"], "$other");
    assert_eq!(total(other[0]), 275);
    assert_eq!(series.iter().map(total).sum::<u64>(), 300);
    let (status, t) = app
        .get(
            "/api/v1/projects/shop/analytics/trends?event=order&breakdown=plan&breakdown_limit=1",
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{t}");
    let series = t["series"].as_array().expect("series");
    assert_eq!(series.len(), 2, "{t}");
    assert_eq!(series[0]["value"], "a");
    assert_eq!(total(&series[0]), 200);
    assert_eq!(series[1]["other"], true);
    assert_eq!(total(&series[1]), 100);
    assert_problem(
        &app.get(
            "/api/v1/projects/shop/analytics/trends?breakdown=plan&breakdown_limit=0",
            &admin,
        )
        .await,
        422,
    );
    // One range rule for the API and the pages: hourly over 400 days is
    // refused by both, with the same words.
    let (status, api) = app
        .get(
            "/api/v1/projects/shop/analytics/trends?interval=hour&from=2025-10-01&to=2026-11-05",
            &admin,
        )
        .await;
    assert_eq!(status, 422, "{api}");
    let detail = api["detail"].as_str().expect("detail").to_owned();
    assert!(detail.contains("buckets"), "{detail}");
    let b = crate::ui::browser();
    crate::ui::sign_in(&b, &app.base, "root@example.com", "correct horse battery").await;
    let page = b
        .get(app.url("/p/shop/analytics?interval=hour&from=2025-10-01&to=2026-11-05"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 422);
    let html = page.text().await.expect("body");
    assert!(html.contains(&detail), "{html}");
    app.stop().await;
}

/// Regression: the key web pages carry opened tickets through
/// `/ingest/email` (requester forged) and fed alert rules through OTLP;
/// a wrong key's gzip body was unpacked and parsed before the key was
/// looked at.
async fn each_key_opens_only_its_own_door(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shop, admin, _) = shop(&app).await;
    let browser = app.key(&shop, "browser").await;
    let server = app.key(&shop, "server").await;
    let mail = app.key(&shop, "mail").await;
    let spans = json!({"resourceSpans": []});
    for (key, want) in [(&browser, 401), (&mail, 401), (&server, 200)] {
        let resp = app
            .http
            .post(app.url("/v1/traces"))
            .bearer_auth(key)
            .json(&spans)
            .send()
            .await
            .expect("otlp");
        assert_eq!(resp.status().as_u16(), want);
    }
    let mail_body =
        json!({"from": "Ann <ann@customer.example>", "subject": "Broken", "text": "Help"});
    for (key, want) in [(&browser, 401), (&server, 401), (&mail, 201)] {
        let resp = app
            .http
            .post(app.url("/ingest/email"))
            .bearer_auth(key)
            .json(&mail_body)
            .send()
            .await
            .expect("mail");
        assert_eq!(resp.status().as_u16(), want);
    }
    // Mailgun's signature, once the project asks for it.
    let (status, _) = app
        .send(
            Method::PUT,
            "/api/v1/projects/shop/keys/mail/signing",
            &admin,
            Some(json!({"mailgun_signing_key": "key-mailgun-signing-0001"})),
        )
        .await;
    assert_eq!(status, 204);
    let now = app.now_ms() / 1000;
    let form = |ts: i64, sig: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("sender", "ann@customer.example")
            .append_pair("subject", "Still broken")
            .append_pair("body-plain", "Please")
            .append_pair("timestamp", &ts.to_string())
            .append_pair("token", "a-random-token")
            .append_pair("signature", sig)
            .finish()
    };
    let good = liveops_server::signing::sign(
        "key-mailgun-signing-0001",
        format!("{now}a-random-token").as_bytes(),
    );
    let stale_ts = now - 3600;
    let stale = liveops_server::signing::sign(
        "key-mailgun-signing-0001",
        format!("{stale_ts}a-random-token").as_bytes(),
    );
    for (body, want) in [
        (form(now, "sha256=00"), 401),
        (form(stale_ts, &stale), 401),
        (form(now, &good), 201),
    ] {
        let resp = app
            .http
            .post(app.url(&format!("/ingest/email/{mail}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("mailgun");
        assert_eq!(resp.status().as_u16(), want);
    }
    // A wrong key is refused before the body is unpacked: a body that is
    // not gzip at all gets 401, not a decompression error.
    let resp = app
        .http
        .post(app.url("/batch/?compression=gzip-js"))
        .bearer_auth("lo_ingest_not-a-key")
        .body(vec![0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef])
        .send()
        .await
        .expect("batch");
    assert_eq!(resp.status(), 401);
    let resp = app
        .http
        .post(app.url("/v1/traces"))
        .bearer_auth("lo_server_not-a-key")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad])
        .send()
        .await
        .expect("otlp");
    assert_eq!(resp.status(), 401);
    app.stop().await;
}

/// Ingest takes a bounded number of requests at once; beyond it, 503 with
/// Retry-After, which SDKs retry.
async fn ingest_answers_503_when_every_slot_is_taken(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.ingest_concurrency = 1).await;
    let (_, key) = crate::helpers::shop_with_ingest_key(&app).await;
    // A request whose body arrives slowly holds the only slot.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let slow = {
        let http = app.http.clone();
        let url = app.url("/batch/");
        tokio::spawn(async move {
            http.post(url)
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    let body = json!({"api_key": key, "batch": [{"event": "a", "distinct_id": "d"}]}).to_string();
    tx.send(Ok(body.as_bytes()[..10].to_vec()))
        .await
        .expect("first part");
    // Wait until the slow request holds the slot.
    let start = std::time::Instant::now();
    while app.state.ingest_slots.available_permits() > 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the slow request never took the slot"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let busy = app
        .http
        .post(app.url("/batch/"))
        .json(&json!({"api_key": key, "batch": [{"event": "b", "distinct_id": "d"}]}))
        .send()
        .await
        .expect("batch");
    assert_eq!(busy.status(), 503);
    assert!(busy.headers().contains_key("retry-after"));
    tx.send(Ok(body.as_bytes()[10..].to_vec()))
        .await
        .expect("rest");
    drop(tx);
    assert_eq!(slow.await.expect("join").expect("slow"), 200);
    app.stop().await;
}

/// Regression: every project had a status page and a changelog, and the
/// changelog listed backlog and incident titles, security fixes included;
/// feed links were built from the Host header.
async fn public_pages_are_off_until_turned_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, admin, _) = shop(&app).await;
    for path in [
        "/status/shop",
        "/status/shop.json",
        "/changelog/shop",
        "/changelog/shop/feed.atom",
    ] {
        let resp = app.http.get(app.url(path)).send().await.expect("get");
        assert_eq!(resp.status(), 404, "{path}");
    }
    // Two items ship in 1.0.0: one public, one a security fix.
    for (title, kind) in [
        ("Dark mode", "enhancement"),
        ("Fix token leak in logs", "security"),
    ] {
        let (status, v) = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/backlog",
                &admin,
                Some(json!({"title": title, "kind": kind})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
    }
    let (status, v) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/releases",
            &admin,
            Some(json!({"kind": "minor", "version": "1.0.0"})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    for n in [1, 2] {
        let (status, v) = app
            .send(
                Method::PATCH,
                &format!("/api/v1/projects/shop/backlog/{n}"),
                &admin,
                Some(json!({"release": "1.0.0", "status": "in_progress", "public": n == 1})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        let (status, v) = app
            .send(
                Method::PATCH,
                &format!("/api/v1/projects/shop/backlog/{n}"),
                &admin,
                Some(json!({"status": "done"})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    for step in ["frozen", "shipped"] {
        let (status, v) = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/releases/1.0.0/state",
                &admin,
                Some(json!({ "state": step })),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let (status, v) = app
        .send(
            Method::PUT,
            "/api/v1/projects/shop/public-pages",
            &admin,
            Some(json!({"status_page": false, "changelog": true})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let page = app
        .http
        .get(app.url("/changelog/shop"))
        .send()
        .await
        .expect("changelog");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    assert!(html.contains("Dark mode"), "{html}");
    assert!(
        !html.contains("token leak"),
        "a private item is public: {html}"
    );
    // No public_url: no feed rather than one built from the Host header.
    let feed = app
        .http
        .get(app.url("/changelog/shop/feed.atom"))
        .header("host", "evil.example")
        .send()
        .await
        .expect("feed");
    assert_eq!(feed.status(), 404);
    assert_eq!(
        app.http
            .get(app.url("/status/shop"))
            .send()
            .await
            .expect("status")
            .status(),
        404
    );
    app.stop().await;
}

/// Regression: the DORA failure count joined incident links by
/// deployment id without the project, so an incident in one project could
/// fail another project's deployment.
async fn dora_counts_only_the_projects_own_incidents(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shop, admin, _) = shop(&app).await;
    let root = app
        .state
        .db
        .user_by_email(&liveops_core::Email::parse("root@example.com").expect("email"))
        .await
        .expect("root");
    let (blog, _) = app.project("Blog", &root).await;
    let blog_admin = app.token(&root, &blog, "read,write,admin").await;
    let (status, d) = app
        .send(
            Method::POST,
            "/api/v1/projects/blog/deployments",
            &blog_admin,
            Some(json!({"service": "web", "version": "1.0.0", "environment": "production"})),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    let deployment = d["id"].as_str().expect("id").to_owned();
    let (status, v) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Outage"})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    // Through the API: another project's deployment cannot be linked.
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/incidents/1/links",
            &admin,
            Some(json!({"kind": "deployment", "target": deployment})),
        )
        .await,
        422,
    );
    // A link stored before the check does not count against the blog.
    let incident = app
        .state
        .db
        .incident_by_number(&shop.id, 1)
        .await
        .expect("incident");
    let mut tx = app.state.db.begin().await.expect("tx");
    liveops_store::support::incidents::add_link(
        &mut tx,
        &incident.id,
        "deployment",
        &deployment,
        0,
    )
    .await
    .expect("link");
    tx.commit().await.expect("commit");
    let (status, dora) = app.get("/api/v1/projects/blog/dora", &blog_admin).await;
    assert_eq!(status, 200, "{dora}");
    assert_eq!(dora["deployments"], 1, "{dora}");
    assert_eq!(dora["change_failure_rate"], 0.0, "{dora}");
    app.stop().await;
}

/// Regression: members taken out of a project stayed on its schedules,
/// tiers and policies and were still paged; errors told whether an
/// address had an account.
async fn members_who_leave_are_taken_off_the_rotas(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shop, admin, _) = shop(&app).await;
    let mut people = Vec::new();
    for name in ["ann", "bob", "cat"] {
        people.push(app.responder(&shop, name).await);
    }
    let ok = |got: (u16, Value), want: u16| assert_eq!(got.0, want, "{}", got.1);
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/schedules",
            &admin,
            Some(json!({"name": "Primary", "time_zone": "UTC", "layers": [
                {"members": ["ann@example.com", "bob@example.com"], "start": "2020-01-06T00:00", "shift": "1w"},
                {"members": ["cat@example.com"], "start": "2020-01-06T00:00", "shift": "1w"}
            ]})),
        )
        .await,
        201,
    );
    ok(
        app.send(
            Method::PUT,
            "/api/v1/projects/shop/tiers/l2",
            &admin,
            Some(json!({"members": ["ann@example.com", "bob@example.com"]})),
        )
        .await,
        200,
    );
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/policies",
            &admin,
            Some(json!({"name": "Default", "levels": [
                {"notify": ["user:ann@example.com", "user:bob@example.com"], "delay_secs": 60}
            ]})),
        )
        .await,
        201,
    );
    // cat alone holds a layer: refused until someone else does.
    let refused = app
        .send(
            Method::DELETE,
            "/api/v1/projects/shop/members/cat@example.com",
            &admin,
            None,
        )
        .await;
    assert_problem(&refused, 409);
    assert!(
        refused.1["detail"]
            .as_str()
            .is_some_and(|d| d.contains("schedule `Primary`")),
        "{}",
        refused.1
    );
    ok(
        app.send(
            Method::DELETE,
            "/api/v1/projects/shop/members/ann@example.com",
            &admin,
            None,
        )
        .await,
        204,
    );
    let (_, schedule) = app
        .get("/api/v1/projects/shop/schedules/Primary", &admin)
        .await;
    assert!(
        !schedule.to_string().contains(&people[0].id) && !schedule.to_string().contains("ann@"),
        "{schedule}"
    );
    let tiers = app.state.db.tiers(&shop.id).await.expect("tiers");
    assert!(tiers.iter().all(|t| !t.members.contains(&people[0].id)));
    let policy = app
        .state
        .db
        .policy(&shop.id, "Default")
        .await
        .expect("policy");
    assert_eq!(policy.levels[0].targets.len(), 1);
    // The same answer for an address with no account and one that is not
    // a member.
    let a = app
        .send(
            Method::PUT,
            "/api/v1/projects/shop/tiers/l3",
            &admin,
            Some(json!({"members": ["ann@example.com"]})),
        )
        .await;
    let b = app
        .send(
            Method::PUT,
            "/api/v1/projects/shop/tiers/l3",
            &admin,
            Some(json!({"members": ["zed@example.com"]})),
        )
        .await;
    assert_problem(&a, 422);
    assert_problem(&b, 422);
    assert_eq!(
        a.1["detail"].as_str().map(|d| d.replace("ann@", "x@")),
        b.1["detail"].as_str().map(|d| d.replace("zed@", "x@"))
    );
    app.stop().await;
}

/// Regression: calendar feeds took an API token in `?token=`, where it
/// lands in logs and calendar apps' sync servers.
async fn calendar_feeds_use_a_secret_of_their_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, admin, _) = shop(&app).await;
    let (status, v) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/schedules",
            &admin,
            Some(json!({"name": "Primary", "time_zone": "UTC", "layers": [
                {"members": ["root@example.com"], "start": "2020-01-06T00:00", "shift": "1w"}
            ]})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let resp = app
        .http
        .get(app.url(&format!(
            "/api/v1/projects/shop/schedules/Primary/calendar.ics?token={admin}"
        )))
        .send()
        .await
        .expect("ics");
    assert_eq!(resp.status(), 401, "an API token in the URL still works");
    let (status, feed) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/calendar-feeds",
            &admin,
            Some(json!({"kind": "schedule", "target": "Primary"})),
        )
        .await;
    assert_eq!(status, 201, "{feed}");
    let url = feed["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with("/feeds/lo_feed_"), "{url}");
    let resp = app.http.get(app.url(&url)).send().await.expect("feed");
    assert_eq!(resp.status(), 200);
    let ics = resp.text().await.expect("body");
    assert!(ics.contains("BEGIN:VCALENDAR") && ics.contains("On call: root@example.com"));
    let id = feed["feed"]["id"].as_str().expect("id");
    let (status, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/projects/shop/calendar-feeds/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let resp = app.http.get(app.url(&url)).send().await.expect("feed");
    assert_eq!(resp.status(), 404);
    app.stop().await;
}

/// New secrets are never cached; database errors never reach a page.
async fn secrets_are_not_cached_and_errors_stay_in_the_log(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, admin, _) = shop(&app).await;
    let resp = app
        .http
        .post(app.url("/api/v1/projects/shop/tokens"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ci", "scopes": ["read"]}))
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let b = crate::ui::browser();
    let csrf = crate::ui::sign_in(&b, &app.base, "root@example.com", "correct horse battery").await;
    let resp = b
        .post(app.url("/p/shop/settings/keys/server"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("rotate");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert!(resp.text().await.expect("body").contains("lo_server_"));
    // The database goes away: /readyz and the sign-in page say so without
    // the error's text.
    app.state.db.close().await;
    let resp = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(resp.status(), 503);
    let body = resp.text().await.expect("body");
    assert!(body.contains("the state store does not answer"), "{body}");
    assert!(!body.to_lowercase().contains("pool"), "{body}");
    let (status, _, page) = crate::ui::sign_in_attempt(
        &app.base,
        &[
            ("email", "root@example.com"),
            ("password", "correct horse battery"),
        ],
        &[],
    )
    .await;
    assert_eq!(status, 503);
    assert!(page.contains("not possible just now"), "{page}");
    assert!(!page.to_lowercase().contains("pool"), "{page}");
}

/// `/metrics` asks for its token once one is configured.
async fn metrics_can_be_kept_behind_a_token(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.metrics_token = Some(liveops_server::config::Secret::new(
            "scrape-token-0123456789",
        ));
    })
    .await;
    let resp = app.http.get(app.url("/metrics")).send().await.expect("get");
    assert_eq!(resp.status(), 401);
    let resp = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("scrape-token-0123456789")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    app.stop().await;
}

storage_stories!(
    outbound_requests_to_internal_addresses_are_refused,
    deliveries_follow_no_redirect_and_hide_answers,
    status_subscriptions_are_confirmed_before_anything_is_sent,
    project_tokens_cannot_act_on_the_instance,
    sign_in_throttling_slows_attackers_and_never_locks_out,
    sign_in_redirects_stay_on_this_site,
    breakdowns_and_ranges_are_bounded,
    each_key_opens_only_its_own_door,
    ingest_answers_503_when_every_slot_is_taken,
    public_pages_are_off_until_turned_on,
    dora_counts_only_the_projects_own_incidents,
    members_who_leave_are_taken_off_the_rotas,
    calendar_feeds_use_a_secret_of_their_own,
    secrets_are_not_cached_and_errors_stay_in_the_log,
    metrics_can_be_kept_behind_a_token,
);
