//! Durable escalation: a server killed mid-escalation picks up after a
//! restart, running each overdue step once, late, and never twice.

use std::time::Duration;

use serde_json::json;

use crate::cli::{Place, bootstrap};
use crate::helpers::{Backend, Sink, storage_stories};

async fn restart_mid_escalation_loses_and_duplicates_nothing(backend: Backend) {
    let place = Place::new(backend).await;
    let sink = Sink::start().await;
    let (slug, admin) = bootstrap(&place);
    for who in ["ann@example.com", "bob@example.com"] {
        place.ok(&["user", "add", who]);
        place.ok(&[
            "project",
            "add-member",
            "--project",
            &slug,
            "--user",
            who,
            "--role",
            "responder",
        ]);
    }
    let token_of = |who: &str| {
        place.json(&[
            "token",
            "create",
            "--user",
            who,
            "--instance",
            "--scopes",
            "read,write",
        ])["token"]
            .as_str()
            .expect("token")
            .to_owned()
    };
    let (ann, bob) = (token_of("ann@example.com"), token_of("bob@example.com"));

    let start = |place: &Place| {
        let mut cmd = place.cmd(&["serve", "--listen", "127.0.0.1:0"]);
        cmd.env("LIVEOPS_JOB_TICK_MS", "100");
        // The sink listens on loopback.
        cmd.env("LIVEOPS_OUTBOUND_ALLOW", "[\"127.0.0.0/8\"]");
        cmd
    };
    let server = crate::cli::serve_with(start(&place));
    let http = reqwest::Client::new();
    let post = |url: String, token: &str, body: serde_json::Value| {
        let req = http.post(url).bearer_auth(token).json(&body);
        async move {
            let resp = req.send().await.expect("post");
            let status = resp.status().as_u16();
            (
                status,
                resp.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    for (token, name) in [(&ann, "ann"), (&bob, "bob")] {
        let (s, b) = post(
            server.url("/api/v1/me/notification-rules"),
            token,
            json!({"kind": "webhook", "address": sink.url(name)}),
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }
    let (s, b) = post(
        server.url(&format!("/api/v1/projects/{slug}/policies")),
        &admin,
        json!({"name": "Pager", "levels": [
            {"notify": ["user:ann@example.com"], "delay_secs": 2},
            {"notify": ["user:bob@example.com"], "delay_secs": 2}
        ]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = post(
        server.url(&format!("/api/v1/projects/{slug}/incidents")),
        &admin,
        json!({"title": "Payments failing", "severity": "sev2", "policy": "Pager"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        sink.wait_for("ann", 1, Duration::from_secs(10)).await.len(),
        1
    );

    // Crash before bob's step falls due, and stay down past it.
    let detail: serde_json::Value = http
        .get(server.url(&format!("/api/v1/projects/{slug}/incidents/1")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("incident")
        .json()
        .await
        .expect("json");
    let due: jiff::Timestamp = detail["incident"]["escalation_due_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("the incident says when bob's step falls due");
    server.kill9();
    while jiff::Timestamp::now() <= due {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sink.got("bob").is_empty());
    let server = crate::cli::serve_with(start(&place));
    let bob_pages = sink.wait_for("bob", 1, Duration::from_secs(10)).await;
    assert_eq!(bob_pages.len(), 1, "the overdue step ran after the restart");
    // Three more rounds of the support job: nobody is paged twice.
    let ticks = || {
        let (http, url) = (http.clone(), server.url("/metrics"));
        async move {
            let text = http
                .get(url)
                .send()
                .await
                .expect("metrics")
                .text()
                .await
                .unwrap_or_default();
            text.lines()
                .find(|l| l.starts_with("liveops_job_ticks_total{kind=\"support\"}"))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(0.0)
        }
    };
    let seen = ticks().await;
    let start = std::time::Instant::now();
    while ticks().await < seen + 3.0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the support job stopped ticking"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sink.got("ann").len(), 1, "ann was paged exactly once");
    assert_eq!(sink.got("bob").len(), 1, "bob was paged exactly once");

    let detail: serde_json::Value = http
        .get(server.url(&format!("/api/v1/projects/{slug}/incidents/1")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let notified = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "notified")
        .count();
    assert_eq!(notified, 2, "{detail}");
    server.stop();
}

storage_stories!(restart_mid_escalation_loses_and_duplicates_nothing);
