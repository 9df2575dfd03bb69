//! Acknowledge from the message that woke you: a page's signed links show
//! a button and act only when it is pressed, once, and not after a day; a
//! Slack button does the same through the interactivity endpoint, signed
//! with the app's secret. The timeline says who acted and how.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Sink, TestApp, spawn_app_with, status_json, storage_stories};
use crate::support::{am_payload, support_setup};

async fn page_of(app: &TestApp, secret: &str, sink: &Sink, name: &str) -> Value {
    let resp = app
        .http
        .post(app.url(&format!("/ingest/alerts/{secret}")))
        .json(&am_payload("firing"))
        .send()
        .await
        .expect("alert");
    assert_eq!(resp.status(), 200);
    sink.wait_for(name, 1, Duration::from_secs(10)).await[0].clone()
}

async fn html(app: &TestApp, method: Method, path: &str) -> (u16, String) {
    let resp = app
        .http
        .request(method, app.url(path))
        .send()
        .await
        .expect("request");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

async fn incident(app: &TestApp, admin: &str) -> Value {
    app.get("/api/v1/projects/shop/incidents/1", admin).await.1
}

fn actor_of(detail: &Value, kind: &str) -> Option<String> {
    detail["timeline"]
        .as_array()?
        .iter()
        .find(|e| e["kind"] == kind)
        .and_then(|e| e["actor"].as_str())
        .map(str::to_owned)
}

async fn page_links_act_once_after_a_confirmation(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.job_tick_ms = 100).await;
    let sink = Sink::start().await;
    let (admin, secret) = support_setup(&app, &sink, 600).await;
    let page = page_of(&app, &secret, &sink, "ann").await;
    let links = page["links"].as_object().expect("links").clone();
    assert_eq!(
        links.keys().collect::<Vec<_>>(),
        ["acknowledge", "escalate", "resolve"],
        "{page}"
    );
    let ack = links["acknowledge"].as_str().expect("link").to_owned();
    assert!(ack.starts_with("/act/"), "{ack}");

    // Following the link only asks: a link checker acknowledges nothing.
    let (status, body) = html(&app, Method::GET, &ack).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("Acknowledge incident #1") && body.contains("<form method=\"post\""),
        "{body}"
    );
    assert_eq!(
        incident(&app, &admin).await["incident"]["state"],
        "triggered"
    );
    // A link with its signature changed is refused.
    let forged = format!("{}A", &ack[..ack.len() - 1]);
    let forged = if forged == ack {
        format!("{}B", &ack[..ack.len() - 1])
    } else {
        forged
    };
    assert_eq!(html(&app, Method::POST, &forged).await.0, 403);
    assert_eq!(
        incident(&app, &admin).await["incident"]["state"],
        "triggered"
    );

    // The button acknowledges, once; the timeline says who and how.
    let (status, body) = html(&app, Method::POST, &ack).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Incident #1 acknowledged"), "{body}");
    let detail = incident(&app, &admin).await;
    assert_eq!(detail["incident"]["state"], "acknowledged");
    assert_eq!(
        actor_of(&detail, "acknowledged").as_deref(),
        Some("ann@example.com (link)")
    );
    let (status, body) = html(&app, Method::POST, &ack).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("used already"), "{body}");
    assert_eq!(html(&app, Method::GET, &ack).await.0, 409);

    // The resolve link from the same page still works.
    let (status, _) = html(
        &app,
        Method::POST,
        links["resolve"].as_str().expect("resolve"),
    )
    .await;
    assert_eq!(status, 200);
    let detail = incident(&app, &admin).await;
    assert_eq!(detail["incident"]["state"], "resolved");
    assert_eq!(
        actor_of(&detail, "resolved").as_deref(),
        Some("ann@example.com (link)")
    );

    // A day on, the page's links have expired.
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    let (status, body) = html(
        &app,
        Method::POST,
        links["escalate"].as_str().expect("escalate"),
    )
    .await;
    assert_eq!(status, 409);
    assert!(body.contains("expired"), "{body}");
    app.stop().await;
}

/// Slack's documented example secret.
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

async fn press(app: &TestApp, secret: &str, ts: i64, token: &str) -> (u16, Value) {
    let payload = json!({"type": "block_actions", "user": {"id": "U2147483697", "username": "ann",
        "name": "ann", "team_id": "T1"}, "api_app_id": "A1", "token": "verification-token",
        "container": {"type": "message"}, "trigger_id": "1.2.3",
        "response_url": "https://hooks.slack.com/actions/T1/1/x",
        "actions": [{"action_id": "acknowledge", "block_id": "incident_actions", "type": "button",
            "value": token, "action_ts": ts.to_string()}]});
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let signed = format!("v0:{ts}:{body}");
    let sig = liveops_server::signing::sign(secret, signed.as_bytes()).replace("sha256=", "v0=");
    let resp = app
        .http
        .post(app.url("/ingest/slack/shop"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", sig)
        .body(body)
        .send()
        .await
        .expect("press");
    status_json(resp).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_buttons_acknowledge_through_the_interactivity_endpoint() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.job_tick_ms = 100).await;
    let sink = Sink::start().await;
    let (admin, secret) = support_setup(&app, &sink, 600).await;
    // Ann is paged on Slack too.
    let ann = app
        .state
        .db
        .user_by_email(&liveops_core::Email::parse("ann@example.com").expect("email"))
        .await
        .expect("ann");
    let t = app.instance_token(&ann, "read,write").await;
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/me/notification-rules",
            &t,
            Some(json!({"kind": "slack", "address": sink.url("ann-slack")})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let slack = {
        page_of(&app, &secret, &sink, "ann").await;
        sink.wait_for("ann-slack", 1, Duration::from_secs(10)).await[0].clone()
    };
    let buttons = slack["blocks"][1]["elements"].as_array().expect("buttons");
    assert_eq!(buttons[0]["action_id"], "acknowledge", "{slack}");
    let token = buttons[0]["value"].as_str().expect("token").to_owned();
    let now = app.now_ms() / 1000;

    // Before the project has Slack's secret, no button is taken.
    assert_eq!(press(&app, SLACK_SECRET, now, &token).await.0, 401);
    // Set from the CLI, which reads it from the environment.
    let out = std::process::Command::new(crate::cli::BIN)
        .args(["oncall", "slack-secret", "--project", "shop"])
        .env("LIVEOPS_SERVER", &app.base)
        .env("LIVEOPS_TOKEN", &admin)
        .env("LIVEOPS_SLACK_SIGNING_SECRET", SLACK_SECRET)
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .expect("run liveops");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("/ingest/slack/shop"));
    // A wrong signature, and a request older than five minutes, are refused.
    let (status, refused) = press(&app, "not-the-secret-at-all", now, &token).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(press(&app, SLACK_SECRET, now - 301, &token).await.0, 401);
    assert_eq!(
        incident(&app, &admin).await["incident"]["state"],
        "triggered"
    );

    let (status, answer) = press(&app, SLACK_SECRET, now, &token).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["text"], "Incident #1 acknowledged by ann");
    assert_eq!(answer["response_type"], "in_channel");
    let detail = incident(&app, &admin).await;
    assert_eq!(detail["incident"]["state"], "acknowledged");
    assert_eq!(
        actor_of(&detail, "acknowledged").as_deref(),
        Some("ann (Slack)")
    );
    // Pressed again: only the presser hears that it was used.
    let (status, again) = press(&app, SLACK_SECRET, now, &token).await;
    assert_eq!(status, 200);
    assert_eq!(again["response_type"], "ephemeral");
    app.stop().await;
}

storage_stories!(page_links_act_once_after_a_confirmation);
