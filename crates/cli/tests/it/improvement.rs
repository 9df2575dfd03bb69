//! The DORA four keys from recorded deployments, their commits, a linked
//! incident and its restore, against a hand count.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, assert_problem, shop_with_ingest_key, spawn_app, storage_stories};

async fn dora_keys_equal_a_hand_count(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let now = jiff::Timestamp::now();
    let at = |hours: i64| (now - jiff::SignedDuration::from_hours(hours)).to_string();
    let deploy = |version: &str, hours_ago: i64, commits: Vec<(&str, i64)>| {
        json!({"service": "web", "version": version, "deployed_at": at(hours_ago),
            "commits": commits.iter().map(|(sha, h)| json!({"sha": sha, "message": "fix: x",
                "committed_at": at(*h)})).collect::<Vec<_>>()})
    };
    let mut ids = Vec::new();
    for body in [
        deploy("1.0.0", 6 * 24, vec![("aaaaaaa1", 6 * 24 + 2)]),
        deploy(
            "1.0.1",
            5 * 24,
            vec![("aaaaaaa2", 5 * 24 + 23), ("aaaaaaa3", 5 * 24 + 4)],
        ),
        deploy("1.0.2", 3 * 24, vec![]),
        deploy("1.1.0", 24, vec![("aaaaaaa4", 48)]),
    ] {
        let (status, d) = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/deployments",
                &admin,
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{d}");
        ids.push(d["id"].as_str().expect("id").to_owned());
    }
    // Staging does not count.
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/deployments",
            &admin,
            Some(json!({"service": "web", "version": "1.2.0-rc.1", "environment": "staging"})),
        )
        .await;
    assert_eq!(status, 201);
    // 1.0.1 caused an incident, restored at once.
    let (_, inc) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Checkout 500s after 1.0.1", "severity": "sev2"})),
        )
        .await;
    let n = inc["number"].as_i64().expect("number");
    let (status, linked) = app
        .send(
            Method::POST,
            &format!("/api/v1/projects/shop/incidents/{n}/links"),
            &admin,
            Some(json!({"kind": "deployment", "target": ids[1]})),
        )
        .await;
    assert_eq!(status, 200, "{linked}");
    let (status, _) = app
        .send(
            Method::POST,
            &format!("/api/v1/projects/shop/incidents/{n}/resolve"),
            &admin,
            Some(json!({})),
        )
        .await;
    assert!(status < 300, "resolve: {status}");

    let from = at(7 * 24);
    let to = (now + jiff::SignedDuration::from_hours(24)).to_string();
    let q = format!(
        "/api/v1/projects/shop/dora?from={}&to={}",
        url::form_urlencoded::byte_serialize(from.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>()
    );
    let (status, k) = app.get(&q, &admin).await;
    assert_eq!(status, 200, "{k}");
    // Four production deployments over eight days.
    assert_eq!(k["deployments"], 4);
    assert_eq!(k["deployment_frequency"], 0.5);
    assert_eq!(k["frequency_level"], "high");
    // Lead times 2 h, 23 h, 4 h, 24 h: median 13.5 h.
    assert_eq!(k["lead_time_secs"], 48_600);
    assert_eq!(k["lead_time_level"], "elite");
    assert_eq!(k["change_failure_rate"], 0.25);
    assert_eq!(k["change_failure_level"], "low");
    assert!(
        k["time_to_restore_secs"].as_i64().is_some_and(|s| s < 60),
        "{k}"
    );
    assert_eq!(k["time_to_restore_level"], "elite");
    assert_eq!(k["level"], "low");
    // The improvement page shows the same keys.
    let (_, html) = crate::ui::root_page(&app.base, "/p/shop/improvement").await;
    assert!(html.contains("table class=\"dora\""), "{html}");
    assert!(
        html.contains("The last twelve weeks") && html.contains("<svg"),
        "{html}"
    );
    assert!(html.contains("4 deployments") && html.contains("13.5 h") && html.contains("25.0 %"));
    // One service only, and a bad range.
    let (_, none) = app.get(&format!("{q}&service=api"), &admin).await;
    assert_eq!(none["deployments"], 0);
    assert_problem(
        &app.get(
            "/api/v1/projects/shop/dora?from=2026-12-01&to=2026-11-01",
            &admin,
        )
        .await,
        422,
    );
    app.stop().await;
}

storage_stories!(dora_keys_equal_a_hand_count);
