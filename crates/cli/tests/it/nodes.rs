//! Several liveops nodes on one PostgreSQL: each background job runs on one
//! node at a time, a node that stops hands its jobs over at once, and one
//! that crashes hands them over when its lease runs out. Across all of it,
//! each escalation level pages exactly once.

use std::time::Duration;

use liveops_core::access::Role;
use liveops_server::jobs;
use reqwest::Method;
use serde_json::json;

use liveops_server::config::Secret;

use crate::helpers::{Backend, Sink, TestApp, postgres_admin_url, spawn_app_with, test_config};

/// Job timers an hour apart: past the one round each node starts with,
/// only the story runs rounds, so it knows which node could run each.
const TICK_MS: u64 = 3_600_000;

/// The instance key every node of the story shares.
const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// A node on the state database at `url` (or a fresh one).
async fn node(url: Option<Option<Secret>>) -> TestApp {
    spawn_app_with(Backend::Postgres, move |c| {
        c.job_tick_ms = TICK_MS;
        c.secret_key = Some(Secret::new(KEY));
        if let Some(url) = url {
            c.database_url = url;
        }
    })
    .await
}

/// Skips the story when PostgreSQL is missing, except in CI, where it fails.
fn postgres_or_skip() -> bool {
    if postgres_admin_url().is_some() {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "CI=true but LIVEOPS_TEST_POSTGRES_URL is not set: start PostgreSQL (scripts/setup.sh does)"
    );
    eprintln!("LIVEOPS_TEST_POSTGRES_URL is not set; scripts/test.sh sets it");
    false
}

/// One round of the support job on every node at once; which ran it.
async fn round(nodes: &[&TestApp]) -> Vec<bool> {
    let support = jobs::job("support").expect("the support job");
    futures::future::join_all(nodes.iter().map(|n| support.round(&n.state))).await
}

/// Moves every node's clock on by `by`.
fn advance(nodes: &[&TestApp], by: Duration) {
    for n in nodes {
        n.clock.advance(by);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_page_each_level_once_through_a_stop_and_a_crash() {
    if !postgres_or_skip() {
        return;
    }
    let sink = Sink::start().await;
    let a = node(None).await;
    let b = node(Some(a.state.config.database_url.clone())).await;

    // The team, set up through node A.
    let root = a.user("root@example.com", "root-password-1", true).await;
    let (shop, _) = a.project("Shop", &root).await;
    let admin = a.token(&root, &shop, "read,write,admin").await;
    for who in ["ann", "bob", "cy"] {
        let user = a
            .user(&format!("{who}@example.com"), "a-long-password", false)
            .await;
        a.member(&shop, &user, Role::Responder).await;
        let token = a.instance_token(&user, "read,write").await;
        let (s, body) = a
            .send(
                Method::POST,
                "/api/v1/me/notification-rules",
                &token,
                Some(json!({"kind": "webhook", "address": sink.url(who)})),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    let (s, body) = a
        .send(
            Method::POST,
            "/api/v1/projects/shop/policies",
            &admin,
            Some(json!({"name": "Pager", "levels": [
                {"notify": ["user:ann@example.com"], "delay_secs": 60},
                {"notify": ["user:bob@example.com"], "delay_secs": 60},
                {"notify": ["user:cy@example.com"], "delay_secs": 60}
            ]})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    // The incident is opened through node B: any node takes any request.
    let (s, body) = b
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Payments failing", "severity": "sev2", "policy": "Pager"})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let pages = |who: &str| sink.got(who).len();
    // Which levels were paged so far, with the incident's timeline should
    // it differ from what the story expects.
    let check = async |app: &TestApp, want: (usize, usize, usize)| {
        let got = (pages("ann"), pages("bob"), pages("cy"));
        if got != want {
            let (_, detail) = app.get("/api/v1/projects/shop/incidents/1", &admin).await;
            panic!("paged {got:?}, not {want:?}; the incident: {detail:#}");
        }
    };

    // A started first and holds the support job: B's rounds run nothing.
    assert_eq!(round(&[&a, &b]).await, [true, false]);
    check(&a, (1, 0, 0)).await;
    let leases = a.state.db.leases().await.expect("leases");
    assert!(
        leases.iter().all(|l| l.holder == a.state.node),
        "{leases:?}"
    );

    // A stops cleanly mid-escalation: B takes the job over at once.
    let db_url = a.state.config.database_url.clone();
    a.stop().await;
    advance(&[&b], Duration::from_secs(61));
    assert_eq!(round(&[&b]).await, [true]);
    check(&b, (1, 1, 0)).await;

    // A comes back; B keeps the job. Then B crashes, keeping its lease:
    // nobody runs the job until the lease runs out, then A does, once.
    let a = node(Some(db_url)).await;
    // Its clock starts where B's is.
    advance(&[&a], Duration::from_secs(61));
    advance(&[&a, &b], Duration::from_secs(61));
    assert_eq!(round(&[&a, &b]).await, [false, true]);
    check(&b, (1, 1, 1)).await;
    b.crash().await;
    advance(&[&a], Duration::from_secs(60));
    assert_eq!(round(&[&a]).await, [false], "B's lease still holds");
    // The lease lasts three rounds of the job timer.
    advance(&[&a], Duration::from_millis(3 * TICK_MS));
    assert_eq!(round(&[&a]).await, [true]);
    assert_eq!(round(&[&a]).await, [true]);
    // Every level was paged exactly once, and the escalation is over.
    check(&a, (1, 1, 1)).await;
    let (s, detail) = a.get("/api/v1/projects/shop/incidents/1", &admin).await;
    assert_eq!(s, 200, "{detail}");
    assert!(
        detail["incident"]["escalation_due_at"].is_null(),
        "{detail}"
    );
    a.stop().await;
}

/// A node whose instance key differs from the one the shared database was
/// sealed with would fail to open every stored webhook URL: it refuses to
/// start, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_key_refuses_to_start() {
    if !postgres_or_skip() {
        return;
    }
    let a = node(None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(Backend::Postgres, dir.path()).await;
    config.database_url = a.state.config.database_url.clone();
    config.secret_key = Some(Secret::new("CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="));
    let err = liveops_server::startup::Application::build(config)
        .await
        .expect_err("another key");
    assert!(format!("{err:#}").contains("same `secret_key`"), "{err:#}");
    a.stop().await;
}
