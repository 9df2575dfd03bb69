//! Error alerts that reach people without an incident: the on-call people
//! of a tier are told of new issues through their own notification rules,
//! at the severity the project maps each level to, and an issue that is
//! a large enough share of its route's requests spikes. Set from the CLI,
//! refused with reasons, and exported in the configuration document.

use reqwest::Method;
use serde_json::{Value, json};

use crate::error_tracking::{bug, dsn, envelope, send};
use crate::helpers::{Backend, TestApp, assert_problem, shop_with_ingest_key, spawn_app_with};

/// The outbox rows whose subject contains `part`: (target, subject, due).
async fn told(app: &TestApp, part: &str) -> Vec<(String, String, i64)> {
    // Alerts go out as the events are filed, just after they are
    // acknowledged.
    assert!(
        app.state
            .errors_intake
            .caught_up(std::time::Duration::from_secs(10))
            .await
    );
    let shop = app.state.db.project_by_slug("shop").await.expect("shop");
    let mut rows: Vec<(String, String, i64)> = app
        .state
        .db
        .deliveries_for_project(&shop.id, 200)
        .await
        .expect("deliveries")
        .into_iter()
        .filter(|d| d.subject.contains(part))
        .map(|d| (d.target, d.subject, d.due_at))
        .collect();
    rows.sort();
    rows
}

/// A Sentry `transaction` envelope: one `POST /checkout` request.
fn request(i: u64, at_s: f64) -> Vec<u8> {
    let t = json!({
        "type": "transaction", "transaction": "/checkout", "transaction_info": {"source": "route"},
        "start_timestamp": at_s, "timestamp": at_s + 0.05, "release": "shop@1.0.0",
        "request": {"method": "POST", "url": "http://shop.example/checkout"},
        "contexts": {"trace": {"trace_id": format!("{:032x}", i + 1), "span_id": format!("{:016x}", i + 1),
                               "op": "http.server", "status": "ok"}},
    });
    let payload = t.to_string();
    format!(
        "{{}}\n{}\n{payload}\n",
        json!({"type": "transaction", "length": payload.len()})
    )
    .into_bytes()
}

async fn error_alerts_reach_the_on_call_through_their_rules(backend: Backend) {
    // The story runs the spike check itself.
    let app = spawn_app_with(backend, |c| c.job_tick_ms = 3_600_000).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let ok = |got: (u16, Value), want: u16| assert_eq!(got.0, want, "{}", got.1);
    let shop = app.state.db.project_by_slug("shop").await.expect("shop");
    // ann wants SEV3 and worse by e-mail at once; bob only SEV1, after two
    // minutes. Both answer for tier L1.
    for (name, min, delay) in [("ann", "sev3", 0), ("bob", "sev1", 120)] {
        let u = app.responder(&shop, name).await;
        let t = app.instance_token(&u, "read,write").await;
        ok(
            app.send(
                Method::POST,
                "/api/v1/me/notification-rules",
                &t,
                Some(
                    json!({"kind": "email", "address": format!("{name}-pager@example.com"),
                            "min_severity": min, "delay_secs": delay}),
                ),
            )
            .await,
            201,
        );
    }
    ok(
        app.send(
            Method::PUT,
            "/api/v1/projects/shop/tiers/l1",
            &admin,
            Some(json!({"members": ["ann@example.com", "bob@example.com"]})),
        )
        .await,
        200,
    );
    let dsn = dsn(&app, &admin).await;
    let number = dsn.rsplit('/').next().expect("number").to_owned();

    // Bad settings are refused with their reason, and change nothing.
    for (body, why) in [
        (
            json!({"notify": "l7", "on_new": true}),
            "`notify`: `l7` is not l1, l2 or l3",
        ),
        (
            json!({"severities": "fatal=sev9", "on_new": true}),
            "unknown severity `sev9`",
        ),
        (
            json!({"spike_percent": 0.0, "on_new": true}),
            "`spike_percent`",
        ),
    ] {
        let got = app
            .send(
                Method::PUT,
                "/api/v1/projects/shop/support/errors/alerts",
                &admin,
                Some(body),
            )
            .await;
        assert_problem(&got, 422);
        assert!(got.1.to_string().contains(why), "{why}: {}", got.1);
    }
    // Set from the CLI: no integration, so no incidents; tier L1 is told.
    let out = app.cli(
        &admin,
        &[
            "errors",
            "alerts",
            "--project",
            "shop",
            "--on-new",
            "--notify",
            "l1",
            "--severities",
            "error=sev3, fatal=SEV1",
            "--spike-percent",
            "10",
            "--spike-minutes",
            "10",
        ],
    );
    assert!(
        out.contains("tier l1 on call")
            && out.contains("fatal=sev1,error=sev3")
            && out.contains("10 % of a route's requests in 10 min"),
        "{out}"
    );

    // An error-level issue is SEV3: ann is told, bob is not.
    let (status, v) = send(
        &app,
        &number,
        &dsn,
        envelope(&dsn, &bug("1.0.0", &"1".repeat(32))),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let first = told(&app, "New issue: #1").await;
    assert_eq!(
        first
            .iter()
            .map(|(t, s, _)| (t.as_str(), s.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            "ann-pager@example.com",
            "[SEV3] New issue: #1 RuntimeError: cart is gone"
        )]
    );
    // A fatal one is SEV1: both, bob after his delay.
    let mut fatal = bug("1.0.0", &"2".repeat(32));
    fatal["level"] = json!("fatal");
    fatal["exception"]["values"][0]["type"] = json!("OutOfMemory");
    assert_eq!(
        send(&app, &number, &dsn, envelope(&dsn, &fatal)).await.0,
        200
    );
    let both = told(&app, "New issue: #2").await;
    let at = both.first().map_or(0, |(_, _, d)| *d);
    assert_eq!(
        both.iter()
            .map(|(t, s, d)| (t.as_str(), s.starts_with("[SEV1]"), d - at))
            .collect::<Vec<_>>(),
        vec![
            ("ann-pager@example.com", true, 0),
            ("bob-pager@example.com", true, 120_000)
        ],
        "{both:?}"
    );
    let (_, incidents) = app
        .get("/api/v1/projects/shop/support/incidents", &admin)
        .await;
    assert_eq!(incidents, json!([]), "no integration, no incident");

    // POST /checkout serves 40 requests; a bug on it spikes once its events
    // reach 10 % of them.
    let at_s = app.now_ms() as f64 / 1000.0 - 60.0;
    for i in 0..40 {
        let (status, v) = send(&app, &number, &dsn, request(i, at_s + i as f64)).await;
        assert_eq!(status, 200, "{v}");
    }
    let mut n = 0;
    let mut checkout = || {
        n += 1;
        let mut e = bug("1.0.0", &format!("{:032x}", 0xc0de_0000_u64 + n));
        e["exception"]["values"][0]["type"] = json!("CheckoutError");
        e["transaction"] = json!("/checkout");
        e["transaction_info"] = json!({"source": "route"});
        e["request"] = json!({"method": "POST", "url": "http://shop.example/checkout"});
        envelope(&dsn, &e)
    };
    for _ in 0..2 {
        assert_eq!(send(&app, &number, &dsn, checkout()).await.0, 200);
    }
    let spikes = || liveops_server::support::errors::alerts::spikes(&app.state);
    assert_eq!(spikes().await.expect("spikes"), 0, "2 of 40 is 5 %");
    for _ in 0..3 {
        assert_eq!(send(&app, &number, &dsn, checkout()).await.0, 200);
    }
    assert_eq!(spikes().await.expect("spikes"), 1, "5 of 40 is 12.5 %");
    let spiking = told(&app, "Spiking").await;
    assert_eq!(spiking.len(), 1, "{spiking:?}");
    assert_eq!(
        spiking[0].1,
        "[SEV3] Spiking: #3 CheckoutError: cart is gone \
         (5 events in 10 min, 12.5 % of the 40 requests to POST /checkout)"
    );
    assert_eq!(spikes().await.expect("spikes"), 0, "once per window");

    // The settings are part of the configuration document.
    let (_, doc) = app.get("/api/v1/projects/shop/configuration", &admin).await;
    assert_eq!(
        doc["error_alerts"],
        json!([{"on_new": true, "on_regression": true, "spike_minutes": 10,
                "spike_percent": 10.0, "notify": "l1", "severities": "fatal=sev1,error=sev3"}]),
        "{doc}"
    );
    app.stop().await;
}

crate::helpers::storage_stories!(error_alerts_reach_the_on_call_through_their_rules,);
