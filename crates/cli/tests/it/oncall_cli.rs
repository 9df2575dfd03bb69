//! A team sets up on-call without curl: a status component, a schedule of
//! two people (previewed for two weeks), tiers, a policy and an
//! Alertmanager integration, all from the CLI; an alert to the address it
//! printed pages whoever is on call, and the page's link acknowledges.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Sink, spawn_app_with, storage_stories};

fn json_of(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn a_team_sets_up_on_call_from_the_cli(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.job_tick_ms = 100).await;
    let sink = Sink::start().await;
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &root).await;
    let admin = app.token(&root, &shop, "read,write,admin").await;
    for name in ["ann", "bob"] {
        let u = app.responder(&shop, name).await;
        let t = app.instance_token(&u, "read,write").await;
        let (status, body) = app
            .send(
                Method::POST,
                "/api/v1/me/notification-rules",
                &t,
                Some(json!({"kind": "webhook", "address": sink.url(name)})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let p = ["--project", "shop"];
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(&p);
        app.cli(&admin, &all)
    };
    run(&["oncall", "component", "create", "Checkout"]);
    run(&[
        "oncall",
        "schedule",
        "create",
        "Primary",
        "--time-zone",
        "Europe/Berlin",
        "--layer",
        "ann@example.com,bob@example.com start=2020-01-06T09:00 shift=1w",
    ]);
    // Two weeks ahead: both take a turn.
    let shown = json_of(&run(&[
        "--format", "json", "oncall", "schedule", "show", "Primary",
    ]));
    let preview = shown["preview"].as_array().expect("preview");
    let people: std::collections::BTreeSet<&str> = preview
        .iter()
        .filter_map(|s| s["user"].as_str())
        .map(|u| u.split(' ').next().unwrap_or(u))
        .collect();
    assert!(
        people.contains("ann@example.com") && people.contains("bob@example.com"),
        "{shown}"
    );
    let on_call = shown["on_call_now"].as_str().expect("someone").to_owned();
    run(&[
        "oncall",
        "tier",
        "set",
        "l1",
        "--members",
        "ann@example.com,bob@example.com",
        "--schedule",
        "Primary",
    ]);
    run(&[
        "oncall",
        "policy",
        "create",
        "Default",
        "--level",
        "schedule:Primary after=5m",
        "--level",
        "tier:l1 after=10m",
    ]);
    let made = json_of(&run(&[
        "--format",
        "json",
        "oncall",
        "integration",
        "create",
        "prometheus",
        "--policy",
        "Default",
        "--component",
        "Checkout",
    ]));
    let url = made["url"].as_str().expect("url").to_owned();
    assert!(
        url.starts_with(&app.base) && url.contains("/ingest/alerts/"),
        "{made}"
    );
    // The lists say what was made.
    let policies = run(&["oncall", "policy", "list"]);
    assert!(
        policies.contains("schedule:Primary after 300 s; then tier:l1 after 600 s"),
        "{policies}"
    );
    assert!(run(&["oncall", "tier", "list"]).contains("Primary"));
    assert!(run(&["oncall", "integration", "list"]).contains("prometheus"));
    assert!(run(&["oncall", "component", "list"]).contains("Checkout"));
    assert!(run(&["oncall", "schedule", "list"]).contains(&on_call));
    // Bad specifications are refused with a reason, before any request.
    let out = std::process::Command::new(crate::cli::BIN)
        .args([
            "oncall",
            "policy",
            "create",
            "X",
            "--level",
            "after=5m",
            "--project",
            "shop",
        ])
        .env("LIVEOPS_SERVER", &app.base)
        .env("LIVEOPS_TOKEN", &admin)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("names nobody to notify"));

    // An alert pages whoever is on call; their page's link acknowledges.
    let resp = app
        .http
        .post(&url)
        .json(&crate::support::am_payload("firing"))
        .send()
        .await
        .expect("alert");
    assert_eq!(resp.status(), 200);
    let who = on_call.split('@').next().unwrap_or_default().to_owned();
    let page = sink.wait_for(&who, 1, Duration::from_secs(10)).await[0].clone();
    let ack = page["links"]["acknowledge"]
        .as_str()
        .expect("link")
        .to_owned();
    let resp = app.http.post(app.url(&ack)).send().await.expect("ack");
    assert_eq!(resp.status(), 200);
    let (_, detail) = app.get("/api/v1/projects/shop/incidents/1", &admin).await;
    assert_eq!(detail["incident"]["state"], "acknowledged", "{detail}");
    // The project now, from the CLI.
    let now = run(&["overview"]);
    assert!(
        now.contains("#1 Checkout is down (sev1, acknowledged)") && now.contains(&on_call),
        "{now}"
    );
    app.stop().await;
}

storage_stories!(a_team_sets_up_on_call_from_the_cli);
