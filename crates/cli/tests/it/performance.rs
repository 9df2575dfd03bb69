//! Performance end to end: a small Python service instrumented with the real
//! OpenTelemetry SDK exports to liveops in protobuf and in JSON; liveops
//! reports route percentiles within the sketch's stated error of the exact
//! values, the N+1 and slow-query findings, and the regression the second
//! release brought. Also: OTLP refusals, partial success and gzip, on both
//! state backends, and spans that survive a `kill -9`.

use std::io::Write;
use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Place, bootstrap};
use crate::helpers::{
    Backend, TestApp, assert_problem, shop_with_server_key, spawn_app, spawn_app_with,
    storage_stories, venv,
};

const SERVICE: &str = include_str!("otel_service.py");

/// Runs the instrumented service once; returns each server span it made:
/// (route, duration in ns, trace id).
pub(crate) fn run_service(
    app: &TestApp,
    key: &str,
    version: &str,
    mode: &str,
    handler_ms: u32,
) -> Vec<(String, i64, String)> {
    let out = Command::new(venv().join("bin").join("python"))
        .args([
            "-c",
            SERVICE,
            &app.url("/v1/traces"),
            key,
            version,
            mode,
            &handler_ms.to_string(),
        ])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the service failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("span line");
            (
                v["route"].as_str().expect("route").to_owned(),
                v["duration_ns"].as_i64().expect("duration"),
                v["trace_id"].as_str().expect("trace").to_owned(),
            )
        })
        .collect()
}

/// The exact latency (ms) at DDSketch's rank for quantile `q`.
pub(crate) fn exact(durations: &mut [i64], q: f64) -> f64 {
    durations.sort_unstable();
    let rank = (q * (durations.len() - 1) as f64).floor() as usize;
    durations[rank] as f64 / 1e6
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instrumented_service_gets_percentiles_findings_and_a_regression() {
    let app = spawn_app(Backend::Sqlite).await;
    let (admin, key) = shop_with_server_key(&app).await;
    let first = run_service(&app, &key, "1.0.0", "protobuf", 20);
    let second = run_service(&app, &key, "1.1.0", "json", 70);
    assert_eq!(first.len(), 44);
    assert_eq!(second.len(), 44);

    // Percentiles of each route in release 1.0.0, against the exact values.
    let (status, routes) = app
        .get(
            "/api/v1/projects/shop/performance/routes?last=1h&version=1.0.0",
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{routes}");
    let routes = routes.as_array().expect("routes").clone();
    assert_eq!(routes.len(), 3, "{routes:?}");
    for r in &routes {
        let route = r["route"].as_str().expect("route");
        let mut durations: Vec<i64> = first.iter().filter(|s| s.0 == route).map(|s| s.1).collect();
        assert_eq!(
            r["requests"].as_u64(),
            Some(durations.len() as u64),
            "{route}"
        );
        assert_eq!(r["service"], "shop");
        for (field, q) in [
            ("p50_ms", 0.5),
            ("p90_ms", 0.9),
            ("p95_ms", 0.95),
            ("p99_ms", 0.99),
        ] {
            let want = exact(&mut durations, q);
            let got = r[field].as_f64().expect("percentile");
            assert!(
                (got - want).abs() <= want * 0.01 + 1e-6,
                "{route} {field}: {got} vs exact {want}"
            );
        }
        assert_eq!(r["errors"], 0);
    }
    let (_, all) = app
        .get("/api/v1/projects/shop/performance/routes?last=1h", &admin)
        .await;
    let users = all
        .as_array()
        .expect("routes")
        .iter()
        .find(|r| r["route"] == "GET /users/{id}")
        .expect("users route")
        .clone();
    assert_eq!(users["requests"], 80, "both releases together");

    // System load from the SDK's metric exporter, charted per host, and a
    // rule on it.
    let (status, metrics) = app
        .get("/api/v1/projects/shop/performance/metrics", &admin)
        .await;
    assert_eq!(status, 200, "{metrics}");
    let names: Vec<&str> = metrics
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(
        names.contains(&"queue.depth") && names.contains(&"orders.served"),
        "{metrics}"
    );
    let (status, lines) = app
        .get(
            "/api/v1/projects/shop/performance/metrics/series?name=queue.depth&last=1h",
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{lines}");
    assert_eq!(lines[0]["host"], "web-1");
    assert!(
        lines[0]["points"]
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x["value"] == 7.0)),
        "{lines}"
    );
    let (status, rule) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/performance/rules",
            &admin,
            Some(json!({"name": "queue backs up", "metric": "otel:queue.depth", "threshold": 5, "window": "10m"})),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    let now = jiff::Timestamp::now().as_millisecond();
    liveops_server::performance::alerts::evaluate(&app.state, now)
        .await
        .expect("evaluate");
    let (_, open) = app
        .get("/api/v1/projects/shop/incidents?state=open", &admin)
        .await;
    assert!(
        open.as_array().is_some_and(|o| o.iter().any(|i| i["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("queue backs up")))),
        "{open}"
    );

    // Queries, grouped by fingerprint.
    let (status, queries) = app
        .get("/api/v1/projects/shop/performance/queries?last=1h", &admin)
        .await;
    assert_eq!(status, 200, "{queries}");
    let items = queries
        .as_array()
        .expect("queries")
        .iter()
        .find(|q| {
            q["query"]
                .as_str()
                .is_some_and(|t| t.contains("FROM items WHERE order_id = ?"))
        })
        .expect("the N+1 query's fingerprint")
        .clone();
    assert_eq!(
        items["calls"], 60,
        "10 per /orders request, 3 requests per run, 2 runs"
    );

    // The detectors: N+1 on /orders, a slow query on /report, and the
    // regression 1.1.0 brought to /users/{id}.
    let until = (jiff::Timestamp::now().as_nanosecond() + 60_000_000_000) as i64;
    let recorded = liveops_server::performance::scan::scan(&app.state, until)
        .await
        .expect("scan");
    assert!(recorded >= 3, "{recorded}");
    let (status, findings) = app
        .get("/api/v1/projects/shop/performance/findings", &admin)
        .await;
    assert_eq!(status, 200, "{findings}");
    let find = |kind: &str| {
        findings
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} finding in {findings}"))
    };
    let n1 = find("n_plus_one");
    assert_eq!(n1["route"], "GET /orders");
    assert_eq!(n1["occurrences"], 6, "every /orders request of both runs");
    assert!(
        n1["query"].as_str().unwrap_or("").contains("order_id = ?"),
        "{n1}"
    );
    let slow = find("slow_query");
    assert_eq!(slow["route"], "GET /report");
    assert_eq!(slow["occurrences"], 2);
    let reg = find("regression");
    assert_eq!(reg["route"], "GET /users/{id}");
    assert_eq!(reg["subject"], "1.1.0");
    assert!(
        reg["detail"]
            .as_str()
            .unwrap_or("")
            .contains("Mann–Whitney"),
        "{reg}"
    );
    assert!(
        findings
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["route"] != "GET /users/{id}" || f["kind"] == "regression"),
        "no query finding on the plain route: {findings}"
    );

    // The evidence: the N+1 finding's example trace has its ten calls.
    let trace = n1["example_trace"].as_str().expect("trace");
    let (status, spans) = app
        .get(
            &format!("/api/v1/projects/shop/performance/traces/{trace}"),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{spans}");
    let calls = spans
        .as_array()
        .expect("spans")
        .iter()
        .filter(|s| {
            s["statement"]
                .as_str()
                .is_some_and(|t| t.contains("order_id"))
        })
        .count();
    assert_eq!(calls, 10);

    // A second scan over the same spans adds nothing; a resolved finding
    // stays resolved until it is seen again.
    liveops_server::performance::scan::scan(&app.state, until)
        .await
        .expect("scan");
    let (_, again) = app
        .get("/api/v1/projects/shop/performance/findings", &admin)
        .await;
    assert_eq!(
        again.as_array().map(Vec::len),
        findings.as_array().map(Vec::len)
    );
    let id = slow["id"].as_str().expect("id");
    let (status, marked) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/projects/shop/performance/findings/{id}"),
            &admin,
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(status, 200, "{marked}");
    assert_eq!(marked["status"], "resolved");
    let (_, open) = app
        .get("/api/v1/projects/shop/performance/findings", &admin)
        .await;
    assert!(open.as_array().expect("open").iter().all(|f| f["id"] != id));

    // The tuning report ranks the same things.
    let (status, report) = app
        .get("/api/v1/projects/shop/performance/report?last=1h", &admin)
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["n_plus_one"][0]["route"], "GET /orders");
    assert_eq!(report["slow_queries"][0]["route"], "GET /report");
    assert_eq!(report["regressions"][0]["version"], "1.1.0");
    assert_eq!(report["regressions"][0]["previous_version"], "1.0.0");
    assert!(report["routes"].as_array().is_some_and(|r| r.len() == 3));

    // The page shows the routes, the open findings and a trace's waterfall,
    // and resolves a finding from its form.
    let b = crate::ui::browser();
    let csrf = crate::ui::sign_in(&b, &app.base, "root@example.com", "correct horse battery").await;
    let html = b
        .get(app.url("/p/shop/performance?last=1h"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("GET /users/{id}") && html.contains("N+1 queries"),
        "{html}"
    );
    assert!(html.contains("Release regression"), "{html}");
    let page = b
        .get(app.url(&format!("/p/shop/performance/traces/{trace}")))
        .send()
        .await
        .expect("trace page");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("svg class=\"waterfall\"")
    );
    let n1_id = n1["id"].as_str().expect("id");
    let resp = b
        .post(app.url(&format!("/p/shop/performance/findings/{n1_id}")))
        .form(&[("_csrf", csrf.as_str()), ("status", "ignored")])
        .send()
        .await
        .expect("form");
    assert_eq!(resp.status(), 303);
    let resp = b
        .post(app.url(&format!("/p/shop/performance/findings/{n1_id}")))
        .form(&[("_csrf", "forged"), ("status", "open")])
        .send()
        .await
        .expect("form");
    assert_eq!(resp.status(), 403);
    let (_, ignored) = app
        .get(
            "/api/v1/projects/shop/performance/findings?status=ignored",
            &admin,
        )
        .await;
    assert_eq!(ignored[0]["id"], n1["id"]);

    app.stop().await;
}

/// OTLP refusals, partial success and gzip; findings kept in the state store.
async fn otlp_ingest_answers_like_a_collector(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, key) = shop_with_server_key(&app).await;
    let now = jiff::Timestamp::now().as_nanosecond() as i64;
    let span = |id: &str, name: &str, start: i64, ms: i64, attrs: Value| {
        json!({"traceId": "5b8efff798038103d269b633813fc60c", "spanId": id, "name": name,
               "kind": 2, "startTimeUnixNano": start.to_string(),
               "endTimeUnixNano": (start + ms * 1_000_000).to_string(), "attributes": attrs})
    };
    let attrs = json!([
        {"key": "http.method", "value": {"stringValue": "POST"}},
        {"key": "http.target", "value": {"stringValue": "/upload/42?x=1"}},
        {"key": "http.status_code", "value": {"intValue": 503}},
        {"key": "http.request_content_length", "value": {"intValue": "400000"}}
    ]);
    let body = json!({"resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
    "scopeSpans": [{"spans": [
        span("eee19b7ec3c1b174", "POST", now, 120, attrs),
        span("zz", "bad", now, 1, json!([]))
    ]}]}]});
    let post = |body: Vec<u8>, headers: Vec<(&'static str, String)>| {
        let mut req = app.http.post(app.url("/v1/traces")).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move {
            let resp = req.send().await.expect("post");
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            (status, ct, resp.bytes().await.expect("body").to_vec())
        }
    };
    let json_ct = ("content-type", "application/json".to_owned());
    let bearer = ("authorization", format!("Bearer {key}"));
    let (status, ct, answer) = post(
        body.to_string().into_bytes(),
        vec![json_ct.clone(), bearer.clone()],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ct, "application/json");
    let answer: Value = serde_json::from_slice(&answer).expect("json answer");
    assert_eq!(answer["partialSuccess"]["rejectedSpans"], "1", "{answer}");

    // Gzip, with the key in basic auth.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(json!({"resourceSpans": []}).to_string().as_bytes())
        .expect("gzip");
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("otel:{key}")
        )
    );
    let (status, _, answer) = post(
        gz.finish().expect("gzip"),
        vec![
            json_ct.clone(),
            ("content-encoding", "gzip".into()),
            ("authorization", basic),
        ],
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));

    // Refusals: no key, a bad key, garbage protobuf, an unknown type.
    let (status, _, _) = post(body.to_string().into_bytes(), vec![json_ct.clone()]).await;
    assert_eq!(status, 401);
    let (status, _, _) = post(
        body.to_string().into_bytes(),
        vec![json_ct.clone(), ("authorization", "Bearer nope".into())],
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, problem) = post(
        b"\x0a\xff\xff\xff".to_vec(),
        vec![
            ("content-type", "application/x-protobuf".into()),
            bearer.clone(),
        ],
    )
    .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&problem));
    let (status, _, _) = post(
        b"hello".to_vec(),
        vec![("content-type", "text/plain".into()), bearer.clone()],
    )
    .await;
    assert_eq!(status, 415);
    let (status, _, _) = post(b"{".to_vec(), vec![json_ct.clone(), bearer.clone()]).await;
    assert_eq!(status, 400);
    // Over 20 MiB, before or after decompression: 413. The server answers
    // from the declared length without reading the body, so the client
    // may find the connection closed while it is still sending; it tries
    // again until it reads the answer.
    let mut status = 0;
    for _ in 0..10 {
        let sent = app
            .http
            .post(app.url("/v1/traces"))
            .body(vec![b' '; 21 * 1024 * 1024])
            .header(json_ct.0, json_ct.1.clone())
            .header(bearer.0, bearer.1.clone())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                status = resp.status().as_u16();
                break;
            }
            Err(e) if e.is_request() => continue,
            Err(e) => panic!("post: {e}"),
        }
    }
    assert_eq!(status, 413);
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![b' '; 21 * 1024 * 1024]).expect("gzip");
    let (status, _, _) = post(
        bomb.finish().expect("gzip"),
        vec![
            json_ct.clone(),
            bearer.clone(),
            ("content-encoding", "gzip".into()),
        ],
    )
    .await;
    assert_eq!(status, 413);

    // The stored span: its route from the path, its error, its payload.
    let (status, routes) = app
        .get("/api/v1/projects/shop/performance/routes?last=1h", &admin)
        .await;
    assert_eq!(status, 200, "{routes}");
    assert_eq!(routes[0]["route"], "POST /upload/{id}");
    assert_eq!(routes[0]["errors"], 1);
    assert_eq!(routes[0]["apdex"], 0.0, "a failed request frustrates");
    let until = now + 120_000_000_000;
    liveops_server::performance::scan::scan(&app.state, until)
        .await
        .expect("scan");
    let (_, findings) = app
        .get(
            "/api/v1/projects/shop/performance/findings?status=all",
            &admin,
        )
        .await;
    assert_eq!(findings[0]["kind"], "large_payload", "{findings}");
    assert_eq!(findings[0]["route"], "POST /upload/{id}");
    let id = findings[0]["id"].as_str().expect("id");
    assert_problem(
        &app.send(
            Method::PATCH,
            &format!("/api/v1/projects/shop/performance/findings/{id}"),
            &admin,
            Some(json!({"status": "gone"})),
        )
        .await,
        422,
    );
    assert_problem(
        &app.send(
            Method::PATCH,
            "/api/v1/projects/shop/performance/findings/nope",
            &admin,
            Some(json!({"status": "ignored"})),
        )
        .await,
        404,
    );
    assert_problem(
        &app.get(
            "/api/v1/projects/shop/performance/routes?last=forever",
            &admin,
        )
        .await,
        422,
    );
    assert_problem(
        &app.get("/api/v1/projects/shop/performance/traces/xyz", &admin)
            .await,
        422,
    );
    assert_problem(
        &app.get(
            "/api/v1/projects/shop/performance/traces/00000000000000000000000000000001",
            &admin,
        )
        .await,
        404,
    );
    app.stop().await;
}

/// Acknowledged spans survive `kill -9`, and the rollups come back from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_survive_kill_9() {
    let place = Place::new(Backend::Sqlite).await;
    spans_until_killed(&place, Place::serve).await;
}

/// The same with the spans in ClickHouse: what a node acknowledged is
/// there, and counted in the rollups, after the node died.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_survive_kill_9_in_clickhouse() {
    use liveops_telemetry::clickhouse::testing::{Server, server_here};
    if !server_here() {
        return;
    }
    let clickhouse = tokio::task::spawn_blocking(Server::start)
        .await
        .expect("start clickhouse");
    let url = clickhouse.url();
    let place = Place::new(Backend::Sqlite).await;
    spans_until_killed(&place, move |place: &Place| {
        let mut cmd = place.cmd(&["serve", "--listen", "127.0.0.1:0"]);
        cmd.env("LIVEOPS_CLICKHOUSE_URL", &url);
        crate::cli::serve_with(cmd)
    })
    .await;
}

/// Four exporters send spans to a server `serve` starts until it is killed
/// with SIGKILL; a server started again counts every span acknowledged.
async fn spans_until_killed(place: &Place, serve: impl Fn(&Place) -> crate::cli::Server) {
    let (slug, admin) = bootstrap(place);
    let server = serve(place);
    let http = reqwest::Client::new();
    let key: Value = http
        .post(server.url(&format!("/api/v1/projects/{slug}/keys/server")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    let key = key["key"].as_str().expect("key").to_owned();
    // Four exporters at once, so that commits are shared, until the kill.
    let url = server.url("/v1/traces");
    let mut writers = Vec::new();
    let going = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    for w in 0..4u64 {
        let (http, url, key) = (http.clone(), url.clone(), key.clone());
        let going = going.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = 0u64;
            for round in 0..10_000u64 {
                let body = requests("GET /ping", 50, 5, 0, w * 100_000 + round + 1);
                match http
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => {
                        acked += 50;
                        going.fetch_add(50, std::sync::atomic::Ordering::Relaxed);
                    }
                    _ => break,
                }
            }
            acked
        }));
    }
    // Once the exporters are well under way, the kill.
    let start = std::time::Instant::now();
    while going.load(std::sync::atomic::Ordering::Relaxed) < 1000 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the exporters did not get going"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.kill9();
    let mut acked = 0;
    for w in writers {
        acked += w.await.expect("writer");
    }
    assert!(acked > 0);
    let server = serve(place);
    let routes: Value = http
        .get(server.url(&format!(
            "/api/v1/projects/{slug}/performance/routes?last=1h"
        )))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("routes")
        .json()
        .await
        .expect("json");
    // Every acknowledged span is there; an export cut off mid-answer may
    // be there too (at most one per exporter).
    let stored = routes[0]["requests"].as_u64().unwrap_or(0);
    assert!(
        stored >= acked && stored <= acked + 4 * 50,
        "{stored} stored, {acked} acknowledged"
    );
    assert_eq!(routes[0]["route"], "GET /ping");
    server.stop();
}

/// JSON spans for `n` requests to `route` now, each taking `ms`, the first
/// `errors` of them answered 503.
pub(crate) fn requests(route: &str, n: usize, ms: i64, errors: usize, seed: u64) -> Value {
    let now = jiff::Timestamp::now().as_nanosecond() as i64;
    let spans: Vec<Value> = (0..n)
        .map(|i| {
            let id = seed * 10_000 + i as u64 + 1;
            let start = now - 5_000_000_000 + i as i64 * 1000;
            json!({"traceId": format!("{id:032x}"), "spanId": format!("{id:016x}"),
                   "name": route, "kind": 2, "startTimeUnixNano": start.to_string(),
                   "endTimeUnixNano": (start + ms * 1_000_000).to_string(),
                   "attributes": [
                       {"key": "http.route", "value": {"stringValue": route.split(' ').nth(1).unwrap_or("/")}},
                       {"key": "http.request.method", "value": {"stringValue": "GET"}},
                       {"key": "http.response.status_code", "value": {"intValue": if i < errors { 503 } else { 200 }}}]})
        })
        .collect();
    json!({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"spans": spans}]}]})
}

/// An alert rule and an SLO each open an incident through the support alert
/// path, once, and resolve it when their condition clears.
async fn alert_rules_and_slos_open_and_resolve_incidents(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, key) = shop_with_server_key(&app).await;
    for body in [
        requests("GET /slow", 40, 800, 0, 1),
        requests("GET /pay", 100, 20, 30, 2),
    ] {
        let r = app
            .http
            .post(app.url("/v1/traces"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("spans");
        assert_eq!(r.status(), 200);
    }
    let rules = "/api/v1/projects/shop/performance/rules";
    let (status, rule) = app
        .send(
            Method::POST,
            rules,
            &admin,
            Some(
                json!({"name": "slow checkout", "metric": "p95_ms", "threshold": 500,
                        "route": "GET /slow", "window": "5m", "severity": "sev2"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["state"], "ok");
    for (bad, want) in [
        (json!({"name": "x", "metric": "p42", "threshold": 1}), 422),
        (
            json!({"name": "x", "metric": "p95_ms", "threshold": 1, "window": "1s"}),
            422,
        ),
        (
            json!({"name": "x", "metric": "p95_ms", "threshold": 1, "comparator": "="}),
            422,
        ),
        (
            json!({"name": "x", "metric": "p95_ms", "threshold": 1, "integration": "nope"}),
            422,
        ),
        (
            json!({"name": "slow checkout", "metric": "p95_ms", "threshold": 1}),
            409,
        ),
    ] {
        assert_problem(
            &app.send(Method::POST, rules, &admin, Some(bad)).await,
            want,
        );
    }
    let (status, slo) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/performance/slos",
            &admin,
            Some(
                json!({"name": "payments available", "kind": "availability", "objective": 0.999,
                        "route": "GET /pay"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{slo}");
    assert!(
        slo["budget_remaining"].as_f64().is_some_and(|b| b < 0.0),
        "{slo}"
    );
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/performance/slos",
            &admin,
            Some(json!({"name": "lat", "kind": "latency", "objective": 0.99})),
        )
        .await,
        422,
    );

    let now = jiff::Timestamp::now().as_millisecond();
    let evaluate = |at: i64| liveops_server::performance::alerts::evaluate(&app.state, at);
    assert_eq!(
        evaluate(now).await.expect("evaluate"),
        2,
        "the rule and the SLO fire"
    );
    assert_eq!(
        evaluate(now + 1000).await.expect("evaluate"),
        0,
        "no second incident"
    );
    let (_, open) = app
        .get("/api/v1/projects/shop/incidents?state=open", &admin)
        .await;
    let open = open.as_array().expect("incidents").clone();
    assert_eq!(open.len(), 2, "{open:?}");
    let by_rule = open
        .iter()
        .find(|i| {
            i["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("slow checkout"))
        })
        .expect("the rule's incident");
    assert_eq!(by_rule["severity"], "sev2");
    let by_slo = open
        .iter()
        .find(|i| {
            i["title"]
                .as_str()
                .is_some_and(|t| t.contains("payments available"))
        })
        .expect("the SLO's incident");
    assert_eq!(by_slo["severity"], "sev2", "a fast burn pages");
    let (_, listed) = app.get(rules, &admin).await;
    assert_eq!(listed[0]["state"], "firing");
    let (_, html) = crate::ui::root_page(&app.base, "/p/shop/performance").await;
    assert!(
        html.contains("payments available") && html.contains("slow checkout"),
        "{html}"
    );
    assert!(html.contains("firing") && html.contains("page"), "{html}");
    assert!(listed[0]["value"].as_f64().is_some_and(|v| v > 500.0));

    // Later, with no slow requests in the window and no errors in any
    // burn window, both clear and their incidents resolve.
    assert_eq!(evaluate(now + 4 * 86_400_000).await.expect("evaluate"), 2);
    let (_, open) = app
        .get("/api/v1/projects/shop/incidents?state=open", &admin)
        .await;
    assert_eq!(open, json!([]));
    let id = rule["id"].as_str().expect("id");
    let (status, _) = app
        .send(Method::DELETE, &format!("{rules}/{id}"), &admin, None)
        .await;
    assert_eq!(status, 204);
    assert_problem(
        &app.send(Method::DELETE, &format!("{rules}/{id}"), &admin, None)
            .await,
        404,
    );
    app.stop().await;
}

storage_stories!(
    otlp_ingest_answers_like_a_collector,
    alert_rules_and_slos_open_and_resolve_incidents,
);

/// The optional OTLP listener (port 4318 in production) takes exports and
/// serves nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_otlp_listener_serves_only_otlp() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.otlp_listen = Some("127.0.0.1:0".parse().expect("addr"));
    })
    .await;
    let (admin, key) = shop_with_server_key(&app).await;
    let otlp = app.otlp_base.clone().expect("an OTLP listener");
    let r = app
        .http
        .post(format!("{otlp}/v1/traces"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(requests("GET /ping", 3, 5, 0, 9).to_string())
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .get(format!("{otlp}/api/v1/projects/shop/performance/routes"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let (_, routes) = app
        .get("/api/v1/projects/shop/performance/routes?last=1h", &admin)
        .await;
    assert_eq!(routes[0]["requests"], 3);
    app.stop().await;
}
