//! Production support end to end over HTTP: alert intake, escalation through
//! tiers with real webhook deliveries, acknowledgement, resolution, the status
//! page, schedules and tickets.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Sink, TestApp, assert_problem, spawn_app_with, storage_stories};

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
        let t = app.token(user, &shop, "read,write").await;
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
    let (admin, secret) = support_setup(&app, &sink, 2).await;
    assert_eq!(status_of(&app, "Checkout").await, "operational");
    // A customer follows the Checkout component on the public status page.
    let resp = app
        .http
        .post(app.url("/status/shop/subscribe"))
        .json(&json!({"kind": "webhook", "address": sink.url("subscriber"), "components": ["Checkout"]}))
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
    assert!(sink.got("bob").is_empty(), "L2 must wait for the delay");
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
    tokio::time::sleep(Duration::from_secs(3)).await;
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

    // The subscriber heard that it started and that it ended.
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
            "no user",
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

    // A mail provider's inbound webhook opens tickets, authenticated by the ingest key.
    let (_, key) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/ingest-key",
            &admin,
            None,
        )
        .await;
    let key = key["ingest_key"].as_str().expect("key").to_owned();
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

storage_stories!(
    alerts_escalate_until_acknowledged_then_resolve,
    bad_alert_payloads_are_refused_and_create_nothing,
    schedules_say_who_is_on_call,
    tickets_climb_tiers_with_slas,
);
