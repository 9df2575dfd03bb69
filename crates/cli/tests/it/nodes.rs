//! Several liveops nodes on one PostgreSQL (and a two-shard ClickHouse
//! cluster): each background job runs on one node at a time, a node that
//! stops hands its jobs over at once, and one that crashes hands them over
//! when its lease runs out. Across all of it, each escalation level pages
//! exactly once.

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

/// A node on the state database at `url` (or a fresh one), with its
/// telemetry in the ClickHouse cluster whose shards `clickhouse` names (or
/// in its own DuckDB file).
async fn node(url: Option<Option<Secret>>, clickhouse: &[String]) -> TestApp {
    let shards = clickhouse.to_vec();
    spawn_app_with(Backend::Postgres, move |c| {
        c.job_tick_ms = TICK_MS;
        c.secret_key = Some(Secret::new(KEY));
        if let Some(url) = url {
            c.database_url = url;
        }
        in_cluster(c, &shards);
    })
    .await
}

/// Points a node's telemetry at the two-shard cluster `two` (when `shards`
/// names its servers).
fn in_cluster(c: &mut liveops_server::config::Config, shards: &[String]) {
    if let Some(first) = shards.first() {
        c.clickhouse_url = Some(Secret::new(first.clone()));
        c.clickhouse_cluster = Some("two".into());
        c.clickhouse_shards = shards.iter().map(|u| Secret::new(u.clone())).collect();
    }
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
    // Telemetry in a two-shard ClickHouse cluster, where one is installed:
    // the nodes then share nothing but PostgreSQL and ClickHouse.
    let servers = if liveops_telemetry::clickhouse::testing::server_here() {
        tokio::task::spawn_blocking(liveops_telemetry::clickhouse::testing::start_cluster)
            .await
            .expect("start the cluster")
    } else {
        Vec::new()
    };
    let shards: Vec<String> = servers
        .iter()
        .map(liveops_telemetry::clickhouse::testing::Server::url)
        .collect();
    let sink = Sink::start().await;
    let a = node(None, &shards).await;
    let b = node(Some(a.state.config.database_url.clone()), &shards).await;

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
    let a = node(Some(db_url), &shards).await;
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
    drop(servers);
}

/// A node whose instance key differs from the one the shared database was
/// sealed with would fail to open every stored webhook URL: it refuses to
/// start, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_key_refuses_to_start() {
    if !postgres_or_skip() {
        return;
    }
    let a = node(None, &[]).await;
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

/// Two nodes on one PostgreSQL and a two-shard ClickHouse cluster: the
/// PostHog SDK sends its events to node A, and node B answers the funnel,
/// the persons and the trends exactly as A does, from the same shared rows;
/// the OpenTelemetry SDK sends its spans to node B, and node A reads the
/// same route percentiles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_analytics_through_a_clickhouse_cluster() {
    use liveops_telemetry::clickhouse::testing::{Server, server_here, start_cluster};
    if !postgres_or_skip() || !server_here() {
        return;
    }
    let servers = tokio::task::spawn_blocking(start_cluster)
        .await
        .expect("start the cluster");
    let urls: Vec<String> = servers.iter().map(Server::url).collect();
    let clickhouse = move |c: &mut liveops_server::config::Config| in_cluster(c, &urls);
    let a = spawn_app_with(Backend::Postgres, {
        let clickhouse = clickhouse.clone();
        move |c| {
            c.secret_key = Some(Secret::new(KEY));
            clickhouse(c);
        }
    })
    .await;
    let db = a.state.config.database_url.clone();
    let b = spawn_app_with(Backend::Postgres, move |c| {
        c.secret_key = Some(Secret::new(KEY));
        c.database_url = db;
        clickhouse(c);
    })
    .await;
    let (admin, key) = crate::helpers::shop_with_ingest_key(&a).await;

    // The real SDK, through node A: forty people view, thirty of them sign
    // up, ten pay; one anonymous visitor is identified on signing up.
    let script = r#"
import json, sys
from posthog import Posthog
host, key = sys.argv[1], sys.argv[2]
errors = []
ph = Posthog(key, host=host, flush_at=25, on_error=lambda e, batch: errors.append(repr(e)))
ph.capture("$pageview", distinct_id="anon-7", properties={"plan": "free"})
for i in range(40):
    if i != 7:
        ph.capture("$pageview", distinct_id=f"user-{i}", properties={"plan": "pro" if i % 2 else "free"})
for i in range(30):
    ph.capture("signup", distinct_id=f"user-{i}")
ph.alias(previous_id="anon-7", distinct_id="user-7")
for i in range(10):
    ph.capture("purchase", distinct_id=f"user-{i}", properties={"amount": i})
ph.flush()
ph.shutdown()
print(json.dumps({"errors": errors}))
"#;
    crate::helpers::run_sdk_script(script, &a.base, &key).await;

    // The default range: the last 30 days, up to now.
    let funnel = json!({"steps": ["$pageview", "signup", "purchase"], "window": "1d"});
    let mut answers = Vec::new();
    for node in [&a, &b] {
        let (s, f) = node
            .send(
                Method::POST,
                "/api/v1/projects/shop/analytics/funnel",
                &admin,
                Some(funnel.clone()),
            )
            .await;
        assert_eq!(s, 200, "{f}");
        let (s, people) = node
            .get(
                "/api/v1/projects/shop/analytics/persons?search=user-7",
                &admin,
            )
            .await;
        assert_eq!(s, 200, "{people}");
        let (s, t) = node
            .get(
                "/api/v1/projects/shop/analytics/trends?event=%24pageview&breakdown=plan",
                &admin,
            )
            .await;
        assert_eq!(s, 200, "{t}");
        answers.push((f, people, t));
    }
    let (f, people, _) = &answers[0];
    let reached: Vec<u64> = f["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["persons"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(reached, [40, 30, 10], "{f}");
    let ids = &people[0]["distinct_ids"];
    assert_eq!(ids.as_array().map(Vec::len), Some(2), "{people}");
    assert_eq!(answers[0], answers[1], "node B answers as node A does");

    // The OpenTelemetry SDK sends its spans to node B; both nodes read the
    // same route percentiles, and they are the exact ones within the
    // sketch's error.
    let server_key = crate::helpers::server_key(&a, &admin).await;
    let spans = tokio::task::block_in_place(|| {
        crate::performance::run_service(&b, &server_key, "1.0.0", "protobuf", 20)
    });
    let mut routes = Vec::new();
    for node in [&a, &b] {
        let (s, r) = node
            .get("/api/v1/projects/shop/performance/routes?last=1h", &admin)
            .await;
        assert_eq!(s, 200, "{r}");
        routes.push(r);
    }
    assert_eq!(routes[0], routes[1], "node A reads what node B took in");
    let table = routes[0].as_array().expect("routes");
    assert_eq!(table.len(), 3, "{table:?}");
    for r in table {
        let route = r["route"].as_str().expect("route");
        let mut durations: Vec<i64> = spans.iter().filter(|s| s.0 == route).map(|s| s.1).collect();
        assert_eq!(
            r["requests"].as_u64(),
            Some(durations.len() as u64),
            "{route}"
        );
        let want = crate::performance::exact(&mut durations, 0.99);
        let got = r["p99_ms"].as_f64().expect("p99");
        assert!(
            (got - want).abs() <= want * 0.01 + 1e-6,
            "{route} p99: {got} vs {want}"
        );
    }
    a.stop().await;
    b.stop().await;
    drop(servers);
}

/// Requests a node has answered, read from its own `/metrics`.
async fn answered(node: &TestApp) -> f64 {
    let text = node
        .http
        .get(node.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.split(['{', ' '])
                .next()
                .is_some_and(|n| n.contains("http_requests"))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// HAProxy, run as its own process on the config the README gives, with
/// its ports moved to the story's; stopped when dropped.
struct Proxy {
    child: std::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    fn start(a: &TestApp, b: &TestApp) -> Proxy {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .expect("README.md");
        let config = readme
            .split("```haproxy\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("README.md has a haproxy block");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let host = |t: &TestApp| t.base.trim_start_matches("http://").to_owned();
        let config = config
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
            .replace("127.0.0.1:8081", &host(a))
            .replace("127.0.0.1:8082", &host(b));
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).expect("config");
        let child = std::process::Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start haproxy");
        Proxy {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

/// The README's HAProxy config in front of two nodes: requests reach both,
/// and with one node stopped every request is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_load_balancer_spreads_requests_and_survives_a_stopped_node() {
    let here = std::path::Path::new("/usr/sbin/haproxy").exists();
    if !postgres_or_skip() || !liveops_telemetry::clickhouse::testing::available("haproxy", here) {
        return;
    }
    let a = node(None, &[]).await;
    let b = node(Some(a.state.config.database_url.clone()), &[]).await;
    let root = a.user("root@example.com", "root-password-1", true).await;
    let (shop, _) = a.project("Shop", &root).await;
    let admin = a.token(&root, &shop, "read").await;
    let proxy = Proxy::start(&a, &b);
    let http = reqwest::Client::new();
    let get = async |path: &str| {
        for _ in 0..100 {
            if let Ok(r) = http
                .get(format!("{}{path}", proxy.base))
                .bearer_auth(&admin)
                .send()
                .await
            {
                return r.status().as_u16();
            }
            // HAProxy is still starting.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("HAProxy did not answer");
    };
    let before = (answered(&a).await, answered(&b).await);
    for _ in 0..10 {
        assert_eq!(get("/api/v1/projects/shop").await, 200);
    }
    let after = (answered(&a).await, answered(&b).await);
    assert!(
        after.0 >= before.0 + 3.0 && after.1 >= before.1 + 3.0,
        "both nodes answer: {before:?} → {after:?}"
    );
    // Node A stops: the proxy sends what cannot reach it to B.
    a.stop().await;
    for _ in 0..10 {
        assert_eq!(get("/api/v1/projects/shop").await, 200);
    }
    b.stop().await;
    drop(proxy);
}
