//! Production support end to end over HTTP: alert intake, escalation through
//! tiers with real webhook deliveries, acknowledgement, resolution, the status
//! page, schedules and tickets.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, Sink, TestApp, assert_problem, spawn_app, spawn_app_with, storage_stories,
};

/// A project with two people on two tiers, each reached by webhook, a
/// component, a policy (L1, then L2, once more round) and an Alertmanager
/// integration. Returns the admin token and the integration secret.
pub async fn support_setup(app: &TestApp, sink: &Sink, delay_secs: i64) -> (String, String) {
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let ann = app
        .user("ann@example.com", "correct horse battery", false)
        .await;
    let bob = app
        .user("bob@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &root).await;
    app.member(&shop, &ann, liveops_core::Role::Responder).await;
    app.member(&shop, &bob, liveops_core::Role::Responder).await;
    let admin = app.token(&root, &shop, "read,write,admin").await;
    for (user, sink_name) in [(&ann, "ann"), (&bob, "bob")] {
        // Notification rules reach across projects: an instance token.
        let t = app.instance_token(user, "read,write").await;
        let (status, body) = app
            .send(
                Method::POST,
                "/api/v1/me/notification-rules",
                &t,
                Some(json!({"kind": "webhook", "address": sink.url(sink_name)})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let ok = |got: (u16, Value), want: u16| assert_eq!(got.0, want, "{}", got.1);
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/components",
            &admin,
            Some(json!({"name": "Checkout"})),
        )
        .await,
        201,
    );
    ok(
        app.send(
            Method::PUT,
            "/api/v1/projects/shop/public-pages",
            &admin,
            Some(json!({"status_page": true, "changelog": false})),
        )
        .await,
        200,
    );
    // L1 answers through its on-call schedule (ann); root is a member who is not on call.
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/schedules",
            &admin,
            Some(json!({"name": "L1 primary", "time_zone": "UTC", "layers": [
                {"members": ["ann@example.com"], "start": "2020-01-06T00:00", "shift": "1w"}
            ]})),
        )
        .await,
        201,
    );
    ok(
        app.send(
            Method::PUT,
            "/api/v1/projects/shop/tiers/l1",
            &admin,
            Some(json!({"schedule": "L1 primary", "members": ["ann@example.com", "root@example.com"]})),
        )
        .await,
        200,
    );
    ok(
        app.send(
            Method::PUT,
            "/api/v1/projects/shop/tiers/l2",
            &admin,
            Some(json!({"members": ["bob@example.com"]})),
        )
        .await,
        200,
    );
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/policies",
            &admin,
            Some(json!({"name": "Default", "repeat": 1, "levels": [
                {"notify": ["tier:l1"], "delay_secs": delay_secs},
                {"notify": ["tier:l2"], "delay_secs": delay_secs},
            ]})),
        )
        .await,
        201,
    );
    let (status, integration) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/integrations",
            &admin,
            Some(json!({"name": "prometheus", "kind": "alertmanager", "policy": "Default", "component": "Checkout"})),
        )
        .await;
    assert_eq!(status, 201, "{integration}");
    (
        admin,
        integration["secret"].as_str().expect("secret").to_owned(),
    )
}

pub fn am_payload(status: &str) -> Value {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"CheckoutDown\"}", "truncatedAlerts": 0,
        "status": status, "receiver": "liveops",
        "groupLabels": {"alertname": "CheckoutDown"},
        "commonLabels": {"alertname": "CheckoutDown", "severity": "critical"},
        "commonAnnotations": {"summary": "Checkout is down"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status, "labels": {"alertname": "CheckoutDown", "severity": "critical"},
            "annotations": {"summary": "Checkout is down"},
            "startsAt": "2026-11-28T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph", "fingerprint": "c0ffee"
        }]
    })
}

async fn post_alert(app: &TestApp, secret: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .http
        .post(app.url(&format!("/ingest/alerts/{secret}")))
        .json(body)
        .send()
        .await
        .expect("post alert");
    crate::helpers::status_json(resp).await
}

async fn status_of(app: &TestApp, component: &str) -> String {
    let page: Value = app
        .http
        .get(app.url("/status/shop.json"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    page["components"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == component))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("missing")
        .to_owned()
}

async fn alerts_escalate_until_acknowledged_then_resolve(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.job_tick_ms = 100).await;
    let sink = Sink::start().await;
    // Ten minutes between levels: only the story's clock moves through them.
    let (admin, secret) = support_setup(&app, &sink, 600).await;
    assert_eq!(status_of(&app, "Checkout").await, "operational");
    // A customer follows the Checkout component on the public status page.
    let resp = app
        .http
        .post(app.url("/status/shop/subscribe"))
        .json(&json!({"kind": "webhook", "address": sink.url("subscriber"), "components": ["Checkout"],
                "secret": "subscriber-secret-0001"}))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(resp.status(), 201);
    let resp = app
        .http
        .post(app.url("/status/shop/subscribe"))
        .json(&json!({"kind": "pigeon", "address": "roof"}))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(resp.status(), 422);

    // Alertmanager repeats a firing group; it stays one incident.
    for _ in 0..3 {
        let (status, body) = post_alert(&app, &secret, &am_payload("firing")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["incident"], 1);
    }
    let (_, list) = app.get("/api/v1/projects/shop/incidents", &admin).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["severity"], "sev1");
    assert_eq!(status_of(&app, "Checkout").await, "major_outage");

    // L1 (ann) is paged at once, L2 (bob) after the delay.
    let ann = sink.wait_for("ann", 1, Duration::from_secs(10)).await;
    assert_eq!(ann.len(), 1);
    assert_eq!(ann[0]["event"], "incident.notify");
    assert_eq!(ann[0]["incident"]["number"], 1);
    liveops_server::jobs::support::tick(&app.state).await;
    assert!(sink.got("bob").is_empty(), "L2 must wait for the delay");
    app.clock.advance(Duration::from_secs(601));
    let bob = sink.wait_for("bob", 1, Duration::from_secs(10)).await;
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0]["level"], 2);

    // Acknowledging stops the second round that would page ann again.
    let (status, acked) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents/1/acknowledge",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["state"], "acknowledged");
    assert!(acked["escalation_due_at"].is_null());
    // An hour on, with the escalation job run, nobody has been paged again.
    app.clock.advance(Duration::from_secs(3600));
    liveops_server::jobs::support::tick(&app.state).await;
    assert_eq!(
        sink.got("ann").len(),
        1,
        "no page after the acknowledgement"
    );
    assert_eq!(sink.got("bob").len(), 1);
    // A second acknowledgement is a conflict, not a change.
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/incidents/1/acknowledge",
            &admin,
            None,
        )
        .await,
        409,
    );

    // The team tells the status page what it knows: the incident becomes
    // public, and its subscribers hear of it.
    let (status, v) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents/1/updates",
            &admin,
            Some(json!({"body": "A bad deploy; rolling back.", "stage": "identified"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");

    // The alert clears: the incident resolves and the component recovers.
    let (status, body) = post_alert(&app, &secret, &am_payload("resolved")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resolved"], true);
    assert_eq!(status_of(&app, "Checkout").await, "operational");
    let (_, detail) = app.get("/api/v1/projects/shop/incidents/1", &admin).await;
    assert_eq!(detail["incident"]["state"], "resolved");
    let kinds: Vec<&str> = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "triggered",
            "notified",
            "notified",
            "acknowledged",
            "identified",
            "resolved"
        ]
    );
    // The pages to ann and bob were delivered; the subscriber's go alongside.
    let pages: Vec<&Value> = detail["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .filter(|d| !d["target"].as_str().unwrap_or("").ends_with("/subscriber"))
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages.iter().all(|d| d["state"] == "sent"), "{pages:?}");

    // The subscriber heard the public update and the end.
    let heard = sink
        .wait_for("subscriber", 2, Duration::from_secs(10))
        .await;
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert!(heard.iter().all(|h| h["event"] == "status.update"));
    assert_eq!(heard[1]["incident"]["state"], "resolved");

    // A new firing after resolution opens a new incident.
    let (_, body) = post_alert(&app, &secret, &am_payload("firing")).await;
    assert_eq!(body["incident"], 2);
    assert_eq!(body["opened"], true);
    app.stop().await;
}

async fn bad_alert_payloads_are_refused_and_create_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.job_tick_ms = 100).await;
    let sink = Sink::start().await;
    let (admin, secret) = support_setup(&app, &sink, 60).await;
    assert_problem(
        &post_alert(&app, "lo_alert_wrong", &am_payload("firing")).await,
        401,
    );
    let raw = |body: &'static str| {
        let app = &app;
        let secret = secret.clone();
        async move {
            let resp = app
                .http
                .post(app.url(&format!("/ingest/alerts/{secret}")))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("post");
            crate::helpers::status_json(resp).await
        }
    };
    for body in [
        "",
        "not json",
        r#"{"version":"3","groupKey":"k","alerts":[{"status":"firing"}]}"#,
        r#"{"version":"4","alerts":[{"status":"firing"}]}"#,
        r#"{"version":"4","groupKey":"k","alerts":[]}"#,
        r#"{"version":"4","groupKey":"k","alerts":[{"status":"exploding"}]}"#,
    ] {
        let got = raw(body).await;
        assert_problem(&got, 400);
        assert!(got.1["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let (_, list) = app.get("/api/v1/projects/shop/incidents", &admin).await;
    assert_eq!(list, json!([]));
    assert_eq!(status_of(&app, "Checkout").await, "operational");
    app.stop().await;
}

async fn schedules_say_who_is_on_call(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let sink = Sink::start().await;
    let (admin, _) = support_setup(&app, &sink, 60).await;
    let (status, sched) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/schedules",
            &admin,
            Some(json!({
                "name": "Primary", "time_zone": "Europe/Berlin",
                "layers": [
                    {"members": ["ann@example.com", "bob@example.com"], "start": "2024-03-29T09:00", "shift": "1d"},
                    {"members": ["root@example.com"], "start": "2024-03-25T00:00", "shift": "1w",
                     "days": ["sat"], "from": "10:00", "to": "12:00"}
                ]
            })),
        )
        .await;
    assert_eq!(status, 201, "{sched}");
    let who = |at: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let (_, list) = app
                .get(
                    &format!("/api/v1/projects/shop/oncall?at={}", at.replace('+', "%2B")),
                    &admin,
                )
                .await;
            list.as_array()
                .and_then(|l| l.iter().find(|e| e["on"] == "Primary"))
                .map(|e| {
                    (
                        e["user"].as_str().unwrap_or("").to_owned(),
                        e["source"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .unwrap_or_default()
        }
    };
    // Across the spring-forward night the hand-off stays at 09:00 local.
    assert_eq!(who("2024-03-31T08:59:00+02:00").await.0, "bob@example.com");
    assert_eq!(who("2024-03-31T09:00:00+02:00").await.0, "ann@example.com");
    // Saturday 10:00-12:00 the upper layer wins.
    assert_eq!(
        who("2024-03-30T11:00:00+01:00").await,
        ("root@example.com".into(), "layer 2".into())
    );
    assert_eq!(who("2024-03-30T12:00:00+01:00").await.0, "bob@example.com");
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/schedules/Primary/overrides",
            &admin,
            Some(json!({"user": "root@example.com", "start": "2024-03-31T10:00:00+02:00", "end": "2024-03-31T11:00:00+02:00"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        who("2024-03-31T10:30:00+02:00").await,
        ("root@example.com".into(), "override".into())
    );
    // The schedule and each person's shifts as iCalendar feeds.
    for path in [
        "/api/v1/projects/shop/schedules/Primary/calendar.ics?days=14",
        "/api/v1/projects/shop/oncall/calendar.ics?user=ann@example.com",
    ] {
        let resp = app
            .http
            .get(app.url(path))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("ics");
        assert_eq!(resp.status(), 200, "{path}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .is_ok_and(|c| c.starts_with("text/calendar"))
        );
        let body = resp.text().await.expect("body");
        assert!(
            body.starts_with("BEGIN:VCALENDAR\r\n") && body.contains("BEGIN:VEVENT"),
            "{body}"
        );
        assert!(body.contains("On call: "), "{body}");
    }
    // Calendar apps subscribe to a URL: a feed URL with a secret of its
    // own, never an API token in the query.
    let feed = format!("/api/v1/projects/shop/schedules/Primary/calendar.ics?token={admin}");
    let resp = app.http.get(app.url(&feed)).send().await.expect("ics");
    assert_eq!(resp.status(), 401);
    let (status, made) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/calendar-feeds",
            &admin,
            Some(json!({"kind": "schedule", "target": "Primary"})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let resp = app
        .http
        .get(app.url(made["url"].as_str().expect("url")))
        .send()
        .await
        .expect("feed");
    assert_eq!(resp.status(), 200);
    let resp = app
        .http
        .get(app.url("/api/v1/projects/shop/schedules/Primary/calendar.ics?token=lo_pat_nope"))
        .send()
        .await
        .expect("ics");
    assert_eq!(resp.status(), 401);
    // Bad schedules are refused with a reason.
    for (body, msg) in [
        (
            json!({"name": "X", "time_zone": "Mars/Olympus", "layers": [{"members": ["ann@example.com"], "start": "2024-01-01T09:00", "shift": "1d"}]}),
            "time zone",
        ),
        (
            json!({"name": "X", "time_zone": "UTC", "layers": [{"members": ["ann@example.com"], "start": "soon", "shift": "1d"}]}),
            "local date",
        ),
        (
            json!({"name": "X", "time_zone": "UTC", "layers": [{"members": ["ann@example.com"], "start": "2024-01-01T09:00", "shift": "1y"}]}),
            "shift length",
        ),
        (
            json!({"name": "X", "time_zone": "UTC", "layers": [{"members": ["nobody@example.com"], "start": "2024-01-01T09:00", "shift": "1d"}]}),
            "not a member",
        ),
        (
            json!({"name": "X", "time_zone": "UTC", "layers": []}),
            "layers",
        ),
    ] {
        let got = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/schedules",
                &admin,
                Some(body),
            )
            .await;
        assert_problem(&got, 422);
        assert!(
            got.1["detail"].as_str().is_some_and(|d| d.contains(msg)),
            "{msg}: {}",
            got.1
        );
    }
    app.stop().await;
}

async fn tickets_climb_tiers_with_slas(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let sink = Sink::start().await;
    let (admin, _) = support_setup(&app, &sink, 60).await;
    let (status, t) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/tickets",
            &admin,
            Some(json!({"subject": "Cannot pay", "requester": "cus@example.org", "body": "Card declined", "priority": "urgent"})),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["tier"], "l1");
    assert_eq!(t["first_response_sla"], "on_track");
    let act = |action: &'static str, body: Option<&'static str>| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.send(
                Method::POST,
                "/api/v1/projects/shop/tickets/1/actions",
                &admin,
                Some(json!({"action": action, "body": body})),
            )
            .await
        }
    };
    let (_, d) = act("reply", Some("Looking into it")).await;
    assert_eq!(d["ticket"]["first_response_sla"], "met");
    assert_eq!(act("escalate", None).await.1["ticket"]["tier"], "l2");
    assert_eq!(act("escalate", None).await.1["ticket"]["tier"], "l3");
    assert_problem(&act("escalate", None).await, 409);
    assert_problem(&act("dance", None).await, 422);
    assert_problem(&act("reply", None).await, 422);
    let (_, d) = act("solve", None).await;
    assert_eq!(d["ticket"]["status"], "solved");
    assert_eq!(d["ticket"]["resolution_sla"], "met");
    let (_, stats) = app.get("/api/v1/projects/shop/support/stats", &admin).await;
    assert_eq!(stats["tickets"], 1);
    assert_eq!(stats["first_response_attainment"], 1.0);
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/tickets",
            &admin,
            Some(json!({"subject": "x", "requester": "not an email", "body": "y"})),
        )
        .await,
        422,
    );

    // A mail provider's inbound webhook opens tickets, authenticated by the
    // project's inbound mail secret (not the public browser key).
    let (_, key) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/keys/mail",
            &admin,
            None,
        )
        .await;
    let key = key["key"].as_str().expect("key").to_owned();
    let mail = json!({"from": "Cus Tomer <cus2@example.org>", "subject": "Refund?", "text": "Please refund order 42"});
    let resp = app
        .http
        .post(app.url("/ingest/email"))
        .bearer_auth(&key)
        .json(&mail)
        .send()
        .await
        .expect("mail");
    assert_eq!(resp.status(), 201);
    let (_, t) = app.get("/api/v1/projects/shop/tickets/2", &admin).await;
    assert_eq!(t["ticket"]["source"], "email");
    assert_eq!(t["ticket"]["requester"], "cus2@example.org");
    assert_eq!(t["comments"][0]["body"], "Please refund order 42");
    let resp = app
        .http
        .post(app.url("/ingest/email"))
        .bearer_auth("lo_ingest_wrong")
        .json(&mail)
        .send()
        .await
        .expect("mail");
    assert_eq!(resp.status(), 401);

    // Scheduled maintenance shows on the status page.
    let (status, m) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/maintenances",
            &admin,
            Some(json!({"title": "Database upgrade", "starts_at": "2099-01-01T02:00:00Z", "ends_at": "2099-01-01T03:00:00Z", "components": ["Checkout"]})),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    let page: Value = app
        .http
        .get(app.url("/status/shop.json"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(
        page["scheduled_maintenances"][0]["title"],
        "Database upgrade"
    );
    assert_eq!(page["scheduled_maintenances"][0]["status"], "scheduled");
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/maintenances",
            &admin,
            Some(json!({"title": "Backwards", "starts_at": "2099-01-01T03:00:00Z", "ends_at": "2099-01-01T02:00:00Z"})),
        )
        .await,
        422,
    );
    app.stop().await;
}

/// SLA warnings (80% of the time gone) and breaches reach the tier's on-call
/// person and the project's hooks exactly once each, and show on the ticket.
async fn ticket_slas_warn_then_breach_once(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.job_tick_ms = 100).await;
    let sink = Sink::start().await;
    let (admin, _) = support_setup(&app, &sink, 60).await;
    let (status, hook) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/hooks",
            &admin,
            Some(json!({"kind": "webhook", "url": sink.url("hooks")})),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let open = |subject: &'static str, fr: i64, res: i64| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.send(
                Method::POST,
                "/api/v1/projects/shop/tickets",
                &admin,
                Some(
                    json!({"subject": subject, "requester": "cus@example.org", "body": "Help",
                    "first_response_secs": fr, "resolution_secs": res}),
                ),
            )
            .await
        }
    };
    let (status, t) = open("Slow", 200, 400).await;
    assert_eq!(status, 201, "{t}");
    // A second ticket is answered in time: its first response raises nothing.
    let (status, _) = open("Answered", 300, 3600).await;
    assert_eq!(status, 201);
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/tickets/2/actions",
            &admin,
            Some(json!({"action": "reply", "body": "On it"})),
        )
        .await;
    assert_eq!(status, 200);

    // Time passes through each stage of ticket 1's SLAs, the watch running
    // several times at each: L1's on-call person (ann, by her webhook rule)
    // hears of ticket 1 four times.
    for (secs, heard) in [(165, 1), (40, 2), (125, 3), (75, 4)] {
        app.clock.advance(Duration::from_secs(secs));
        for _ in 0..3 {
            liveops_server::jobs::support::tick(&app.state).await;
        }
        assert_eq!(
            sink.wait_for("ann", heard, Duration::from_secs(10))
                .await
                .len(),
            heard
        );
    }
    let ann: Vec<(String, String, i64)> = sink
        .got("ann")
        .iter()
        .map(|v| {
            (
                v["event"].as_str().unwrap_or("").to_owned(),
                v["target"].as_str().unwrap_or("").to_owned(),
                v["ticket"]["number"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let mut want = vec![
        (
            "ticket.sla_at_risk".to_owned(),
            "first_response".to_owned(),
            1,
        ),
        (
            "ticket.sla_breached".to_owned(),
            "first_response".to_owned(),
            1,
        ),
        ("ticket.sla_at_risk".to_owned(), "resolution".to_owned(), 1),
        ("ticket.sla_breached".to_owned(), "resolution".to_owned(), 1),
    ];
    let mut got = ann;
    got.sort();
    want.sort();
    assert_eq!(got, want, "each warning and breach once");
    assert_eq!(sink.got("hooks").len(), 4);
    assert!(sink.got("bob").is_empty(), "L2 is not on the ticket's tier");

    let (_, d) = app.get("/api/v1/projects/shop/tickets/1", &admin).await;
    assert_eq!(d["sla_alerts"].as_array().map(Vec::len), Some(4), "{d}");
    assert_eq!(d["ticket"]["first_response_sla"], "breached");
    assert!(
        d["comments"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["body"]
                .as_str()
                .is_some_and(|b| b.starts_with("SLA breached: first response")))),
        "{d}"
    );
    let (_, stats) = app.get("/api/v1/projects/shop/support/stats", &admin).await;
    assert_eq!(stats["breached_tickets"], json!([1]));

    for bad in [
        json!({"subject": "x", "requester": "a@example.org", "body": "y", "first_response_secs": 0}),
        json!({"subject": "x", "requester": "a@example.org", "body": "y", "first_response_secs": 60, "resolution_secs": 30}),
    ] {
        assert_problem(
            &app.send(
                Method::POST,
                "/api/v1/projects/shop/tickets",
                &admin,
                Some(bad),
            )
            .await,
            422,
        );
    }
    let (_, list) = app.get("/api/v1/projects/shop/tickets", &admin).await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(2),
        "bad tickets create nothing"
    );
    app.stop().await;
}

/// Maintenance windows move scheduled → in progress → verifying → completed,
/// by hand or by the clock; their components are under maintenance meanwhile
/// and subscribers hear of each move.
async fn maintenance_windows_move_components(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.job_tick_ms = 100).await;
    let sink = Sink::start().await;
    let (admin, _) = support_setup(&app, &sink, 60).await;
    let resp = app
        .http
        .post(app.url("/status/shop/subscribe"))
        .json(&json!({"kind": "webhook", "address": sink.url("subscriber"), "components": ["Checkout"],
                "secret": "subscriber-secret-0001"}))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(resp.status(), 201);
    let (status, m) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/maintenances",
            &admin,
            Some(json!({"title": "Database upgrade", "starts_at": "2099-01-01T02:00:00Z", "ends_at": "2099-01-01T03:00:00Z", "components": ["Checkout"]})),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["status"], "scheduled");
    let path = format!(
        "/api/v1/projects/shop/maintenances/{}/status",
        m["id"].as_str().expect("id")
    );
    let move_to = |status: &'static str| {
        let (app, admin, path) = (&app, admin.clone(), path.clone());
        async move {
            app.send(
                Method::POST,
                &path,
                &admin,
                Some(json!({"status": status, "body": "Upgrading the primary"})),
            )
            .await
        }
    };
    let (status, v) = move_to("in_progress").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "in_progress");
    assert_eq!(status_of(&app, "Checkout").await, "under_maintenance");
    // An incident during the window shows over the maintenance, and the
    // component returns to maintenance when it resolves.
    let (status, inc) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(
                json!({"title": "Checkout errors", "severity": "sev2", "components": ["Checkout"]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{inc}");
    assert_eq!(status_of(&app, "Checkout").await, "partial_outage");
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents/1/resolve",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&app, "Checkout").await, "under_maintenance");
    assert_eq!(move_to("verifying").await.0, 200);
    assert_problem(&move_to("scheduled").await, 409);
    assert_problem(&move_to("finished").await, 422);
    let (status, _) = move_to("completed").await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&app, "Checkout").await, "operational");
    assert_problem(&move_to("completed").await, 409);
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/maintenances/nope/status",
            &admin,
            Some(json!({"status": "completed"})),
        )
        .await,
        404,
    );
    // The incident's own updates reach the subscriber too; pick out the
    // maintenance notices once all three have arrived.
    let stages = |all: &[Value]| -> Vec<String> {
        all.iter()
            .filter(|n| n["event"] == "maintenance.update")
            .filter_map(|n| n["maintenance"]["status"].as_str().map(str::to_owned))
            .collect()
    };
    let start = std::time::Instant::now();
    while stages(&sink.got("subscriber")).len() < 3 && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        stages(&sink.got("subscriber")),
        ["in_progress", "verifying", "completed"]
    );

    // The clock starts and completes a window nobody touches: an hour from
    // now, for an hour.
    let now = jiff::Timestamp::from_millisecond(app.now_ms()).expect("now");
    let at = |secs: i64| (now + jiff::SignedDuration::from_secs(secs)).to_string();
    let (status, m2) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/maintenances",
            &admin,
            Some(json!({"title": "Cache flush", "starts_at": at(3600), "ends_at": at(7200), "components": ["Checkout"]})),
        )
        .await;
    assert_eq!(status, 201, "{m2}");
    let mut seen = vec![status_of(&app, "Checkout").await];
    for _ in 0..2 {
        app.clock.advance(Duration::from_secs(3601));
        liveops_server::jobs::support::tick(&app.state).await;
        seen.push(status_of(&app, "Checkout").await);
    }
    assert_eq!(seen, ["operational", "under_maintenance", "operational"]);
    let (_, list) = app.get("/api/v1/projects/shop/maintenances", &admin).await;
    assert!(
        list.as_array()
            .is_some_and(|l| l.iter().all(|m| m["status"] == "completed")),
        "{list}"
    );
    app.stop().await;
}

/// A release lists the incidents and tickets it fixed.
async fn releases_list_what_they_fixed(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = Sink::start().await;
    let (admin, _) = support_setup(&app, &sink, 60).await;
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Refunds fail", "severity": "sev3"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/tickets",
            &admin,
            Some(json!({"subject": "Refund failed", "requester": "cus@example.org", "body": "Twice"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, v) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents/1/links",
            &admin,
            Some(json!({"kind": "release", "target": "2.4.1"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, d) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/tickets/1/actions",
            &admin,
            Some(json!({"action": "fixed_in", "release": "2.4.1"})),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["fixed_in"], json!(["2.4.1"]));
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/tickets/1/actions",
            &admin,
            Some(json!({"action": "fixed_in"})),
        )
        .await,
        422,
    );
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/tickets/1/actions",
            &admin,
            Some(json!({"action": "link", "incident": 99})),
        )
        .await,
        422,
    );
    let (status, fixes) = app
        .get("/api/v1/projects/shop/releases/2.4.1/fixes", &admin)
        .await;
    assert_eq!(status, 200, "{fixes}");
    assert_eq!(fixes["incidents"][0]["number"], 1);
    assert_eq!(fixes["tickets"][0]["number"], 1);
    let (_, none) = app
        .get("/api/v1/projects/shop/releases/9.9.9/fixes", &admin)
        .await;
    assert_eq!(none["incidents"], json!([]));
    assert_eq!(none["tickets"], json!([]));
    app.stop().await;
}

/// Two senders working the outbox at once (a second server on the same
/// database, or the job and a manual run) deliver each message once.
async fn concurrent_senders_deliver_once(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |c| c.job_tick_ms = 60_000).await;
    let (admin, _) = crate::helpers::shop_with_ingest_key(&app).await;
    let sink = crate::helpers::Sink::start().await;
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/hooks",
            &admin,
            Some(json!({"kind": "webhook", "url": sink.url("hook")})),
        )
        .await;
    assert_eq!(status, 201);
    for title in ["Checkout down", "Search slow", "Login errors"] {
        let (status, _) = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/incidents",
                &admin,
                Some(json!({"title": title, "severity": "sev2"})),
            )
            .await;
        assert_eq!(status, 201);
    }
    let run = || liveops_server::support::deliver::run_due(&app.state);
    let (a, b, c) = tokio::join!(run(), run(), run());
    let sent = a.expect("run") + b.expect("run") + c.expect("run");
    assert_eq!(sent, 3, "each delivery once across the senders");
    assert_eq!(run().await.expect("run"), 0);
    let got = sink.wait_for("hook", 3, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 3, "{got:?}");
    app.stop().await;
}

storage_stories!(
    concurrent_senders_deliver_once,
    alerts_escalate_until_acknowledged_then_resolve,
    bad_alert_payloads_are_refused_and_create_nothing,
    schedules_say_who_is_on_call,
    tickets_climb_tiers_with_slas,
    ticket_slas_warn_then_breach_once,
    maintenance_windows_move_components,
    releases_list_what_they_fixed,
);
