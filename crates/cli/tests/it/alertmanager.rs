//! The production-support story with real Prometheus and Alertmanager
//! (Debian packages): a rule fires, Alertmanager pages liveops, escalation
//! runs, a person acknowledges, the alert clears and the incident resolves.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Backend, Sink, spawn_app_with};
use crate::support::support_setup;

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn spawn(bin: &str, args: &[String]) -> Daemon {
    let child = Command::new(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{bin} is not installed ({e}): run scripts/test.sh, which installs it")
        });
    Daemon(child)
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_alert_pages_escalates_and_resolves() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.job_tick_ms = 100).await;
    let sink = Sink::start().await;
    // Ten minutes between levels: the story's clock moves through them.
    let (admin, secret) = support_setup(&app, &sink, 600).await;

    // The "service" Prometheus watches: a gauge the test flips.
    let up = Arc::new(AtomicU8::new(1));
    let metrics = {
        let up = up.clone();
        axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let v = up.load(Ordering::SeqCst);
                async move { format!("# TYPE checkout_up gauge\ncheckout_up {v}\n") }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let metrics_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, metrics).await;
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let (am_port, prom_port) = (free_port(), free_port());
    let am_config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &am_config,
        format!(
            "route:\n  receiver: liveops\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 2s\n\
             receivers:\n  - name: liveops\n    webhook_configs:\n      - url: {}/ingest/alerts/{secret}\n        send_resolved: true\n",
            app.base
        ),
    )
    .expect("write alertmanager config");
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: shop\n    interval: 1s\n    rules:\n      - alert: CheckoutDown\n        expr: checkout_up == 0\n\
         \x20       labels:\n          severity: critical\n        annotations:\n          summary: Checkout is down\n",
    )
    .expect("write rules");
    let prom_config = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [{}]\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n\
             scrape_configs:\n  - job_name: shop\n    static_configs:\n      - targets: ['{metrics_addr}']\n",
            rules.display()
        ),
    )
    .expect("write prometheus config");
    let _am = spawn(
        "prometheus-alertmanager",
        &[
            format!("--config.file={}", am_config.display()),
            format!("--storage.path={}", dir.path().join("am").display()),
            format!("--web.listen-address=127.0.0.1:{am_port}"),
            "--cluster.listen-address=".into(),
        ],
    );
    let _prom = spawn(
        "prometheus",
        &[
            format!("--config.file={}", prom_config.display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
        ],
    );

    let incidents = || {
        let app = &app;
        let admin = admin.clone();
        async move { app.get("/api/v1/projects/shop/incidents", &admin).await.1 }
    };
    let component = || {
        let app = &app;
        async move {
            let page: Value = app
                .http
                .get(app.url("/status/shop.json"))
                .send()
                .await
                .expect("status")
                .json()
                .await
                .expect("json");
            page["components"][0]["status"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        }
    };
    assert_eq!(component().await, "operational");

    // The service goes down: the rule fires and Alertmanager calls liveops.
    up.store(0, Ordering::SeqCst);
    wait_until(
        "an incident from Alertmanager",
        Duration::from_secs(60),
        move || async move { incidents().await.as_array().is_some_and(|l| !l.is_empty()) },
    )
    .await;
    let first = incidents().await;
    assert_eq!(first[0]["severity"], "sev1");
    assert_eq!(first[0]["title"], "Checkout is down");
    assert_eq!(component().await, "major_outage");

    // L1 is paged, then L2 after the delay.
    assert_eq!(
        sink.wait_for("ann", 1, Duration::from_secs(20)).await.len(),
        1
    );
    app.clock.advance(Duration::from_secs(601));
    assert_eq!(
        sink.wait_for("bob", 1, Duration::from_secs(20)).await.len(),
        1
    );
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents/1/acknowledge",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200);
    // Alertmanager keeps repeating the firing group; it stays one incident,
    // and nobody is paged again after the acknowledgement, however long.
    wait_until(
        "Alertmanager to repeat the alert",
        Duration::from_secs(30),
        || {
            let (app, admin) = (&app, admin.clone());
            async move {
                let d = app.get("/api/v1/projects/shop/incidents/1", &admin).await.1;
                d["alerts"][0]["last_seen"] != d["alerts"][0]["first_seen"]
            }
        },
    )
    .await;
    app.clock.advance(Duration::from_secs(3600));
    liveops_server::jobs::support::tick(&app.state).await;
    let list = incidents().await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(sink.got("ann").len(), 1);
    assert_eq!(sink.got("bob").len(), 1);
    let (_, detail) = app.get("/api/v1/projects/shop/incidents/1", &admin).await;
    assert!(
        detail["alerts"][0]["last_seen"] != detail["alerts"][0]["first_seen"],
        "Alertmanager repeated the alert: {detail}"
    );

    // The service recovers: the alert resolves the incident and the component.
    up.store(1, Ordering::SeqCst);
    wait_until(
        "the incident to resolve",
        Duration::from_secs(60),
        move || async move { incidents().await[0]["state"] == "resolved" },
    )
    .await;
    assert_eq!(component().await, "operational");
    let page = app
        .http
        .get(app.url("/status/shop"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("All systems operational"), "{page}");
    app.stop().await;
}
