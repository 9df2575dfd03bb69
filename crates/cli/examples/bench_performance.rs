//! The performance benchmark: 10 million spans over 24 hours on 50 routes
//! (request spans, and database calls under a quarter of them, some in N+1
//! patterns, a few slow), sent to a running `liveops serve` as OTLP/HTTP
//! protobuf in batches of 512 (the SDK's default), then route percentiles
//! for one route and for every route, and the tuning report, each timed
//! through the API; DuckDB computes the same percentiles from the raw
//! request spans with 2 threads in the same run. With `--backend
//! clickhouse` the server keeps the spans in a ClickHouse server
//! (Debian's `clickhouse-server`) started for the run on the same cores.
//! With `--data-dir DIR` it runs on a data directory `bench_analytics
//! --ingest-only --keep-data` kept, so the restart holds events and spans.
//!
//! Run it as BENCHMARKS.md says; it prints a Markdown table.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{Rng, best_of};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::Value;

const ROUTES: u64 = 50;
const HOUR_NS: i64 = 3_600_000_000_000;

struct Args {
    spans: usize,
    connections: usize,
    repeat: usize,
    /// `duckdb` (the embedded default) or `clickhouse`.
    backend: String,
    /// A data directory another benchmark kept (`bench_analytics
    /// --ingest-only --keep-data`): the spans go in beside what it holds,
    /// and the restart is timed with both.
    data_dir: Option<std::path::PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        spans: 10_000_000,
        connections: 16,
        repeat: 5,
        backend: "duckdb".into(),
        data_dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--spans" => a.spans = value().parse().unwrap_or(a.spans),
            "--connections" => a.connections = value().parse().unwrap_or(a.connections),
            "--repeat" => a.repeat = value().parse().unwrap_or(a.repeat),
            "--backend" => a.backend = value(),
            "--data-dir" => a.data_dir = Some(value().into()),
            other => eprintln!("ignoring {other}"),
        }
    }
    a
}

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..KeyValue::default()
    }
}

fn text(k: &str, v: &str) -> KeyValue {
    kv(k, any_value::Value::StringValue(v.into()))
}

/// The request spans, kept for DuckDB: (route, start, duration).
struct Requests {
    route: Vec<u8>,
    start: Vec<i64>,
    duration: Vec<i64>,
}

/// A latency around `base_ms` with a long right tail.
fn latency_ns(rng: &mut Rng, base_ms: f64) -> i64 {
    let u: f64 = (0..4).map(|_| rng.below(1000) as f64 / 1000.0).sum::<f64>() - 2.0;
    (base_ms * (u * 0.8).exp() * 1e6) as i64
}

/// OTLP protobuf bodies of 512 spans covering `[from, from + 24h)`.
fn bodies(a: &Args, from_ns: i64) -> (Vec<Vec<u8>>, Requests, usize) {
    let mut rng = Rng(0x5eed_f0ad_f00d_0001);
    // About 8 request spans for every 2 database calls.
    let requests = a.spans * 4 / 5;
    let gap = (24 * HOUR_NS) / requests as i64;
    let mut kept = Requests {
        route: Vec::with_capacity(requests),
        start: Vec::with_capacity(requests),
        duration: Vec::with_capacity(requests),
    };
    let mut spans: Vec<Span> = Vec::with_capacity(a.spans + 1024);
    let mut bodies = Vec::new();
    let mut total = 0;
    let resource = Resource {
        attributes: vec![
            text("service.name", "shop"),
            text("service.version", "2.3.1"),
        ],
        ..Resource::default()
    };
    let flush = |spans: &mut Vec<Span>, bodies: &mut Vec<Vec<u8>>| {
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(resource.clone()),
                scope_spans: vec![ScopeSpans {
                    spans: std::mem::take(spans),
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        bodies.push(req.encode_to_vec());
    };
    let mut batch: Vec<Span> = Vec::with_capacity(600);
    for i in 0..requests {
        let r = rng.below(ROUTES);
        let start = from_ns + i as i64 * gap;
        let dur = latency_ns(&mut rng, 4.0 + r as f64 * 3.0);
        let trace_id = ((i as u128 + 1) << 8 | 0x42).to_be_bytes().to_vec();
        let server_id = ((i as u64) << 4 | 1).to_be_bytes().to_vec();
        kept.route.push(r as u8);
        kept.start.push(start);
        kept.duration.push(dur);
        let route = format!("/r{r}/{{id}}");
        batch.push(Span {
            trace_id: trace_id.clone(),
            span_id: server_id.clone(),
            name: format!("GET {route}"),
            kind: 2,
            start_time_unix_nano: start as u64,
            end_time_unix_nano: (start + dur) as u64,
            attributes: vec![
                text("http.request.method", "GET"),
                text("http.route", &route),
                kv(
                    "http.response.status_code",
                    any_value::Value::IntValue(if rng.below(200) == 0 { 500 } else { 200 }),
                ),
                kv(
                    "http.response.body.size",
                    any_value::Value::IntValue(if r == 31 && rng.below(50) == 0 {
                        400_000
                    } else {
                        2_000
                    }),
                ),
            ],
            ..Span::default()
        });
        if i % 4 == 0 {
            // Route 7 loads orders and then each order's items: N+1.
            let calls: Vec<(String, i64)> = if r == 7 {
                std::iter::once((
                    "SELECT * FROM orders WHERE customer_id = $1".to_owned(),
                    2_000_000,
                ))
                .chain((0..6).map(|_| {
                    (
                        "SELECT * FROM items WHERE order_id = $1".to_owned(),
                        10_000_000,
                    )
                }))
                .collect()
            } else if r == 13 && rng.below(100) == 0 {
                vec![(
                    "SELECT count(*) FROM events WHERE at > $1".to_owned(),
                    600_000_000,
                )]
            } else {
                vec![(
                    format!("SELECT * FROM t{} WHERE id = $1", r % 20),
                    latency_ns(&mut rng, 1.0),
                )]
            };
            let mut at = start + 100_000;
            for (k, (stmt, took)) in calls.into_iter().enumerate() {
                batch.push(Span {
                    trace_id: trace_id.clone(),
                    span_id: ((i as u64) << 4 | (k as u64 + 2)).to_be_bytes().to_vec(),
                    parent_span_id: server_id.clone(),
                    name: "SELECT".into(),
                    kind: 3,
                    start_time_unix_nano: at as u64,
                    end_time_unix_nano: (at + took) as u64,
                    attributes: vec![
                        text("db.system.name", "postgresql"),
                        text("db.query.text", &stmt),
                    ],
                    ..Span::default()
                });
                at += took;
            }
        }
        if batch.len() >= 512 {
            total += batch.len();
            spans.append(&mut batch);
            flush(&mut spans, &mut bodies);
        }
    }
    total += batch.len();
    if !batch.is_empty() {
        spans.append(&mut batch);
        flush(&mut spans, &mut bodies);
    }
    (bodies, kept, total)
}

fn rfc3339(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let (clickhouse, env) = common::backend(&a.backend).await;
    let mut started = match &a.data_dir {
        Some(dir) => common::start_on(dir.clone(), &env).await,
        None => common::start_with(&env).await,
    };
    let (token, key) = (started.token.clone(), started.server_key.clone());
    let pid = started.server.child.id();
    let now_ns = jiff::Timestamp::now().as_nanosecond() as i64;
    let from_ns = now_ns - 24 * HOUR_NS - HOUR_NS;
    eprintln!("generating about {} spans…", a.spans);
    let (bodies, kept, total) = bodies(&a, from_ns);
    let to_ns = from_ns + 24 * HOUR_NS;
    let bodies = Arc::new(bodies);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.connections)
        .build()
        .expect("client");
    eprintln!(
        "ingesting {total} spans in {} requests over {} connections (server pid {pid})…",
        bodies.len(),
        a.connections
    );
    let sent = common::send_all(
        bodies,
        &format!("{}/v1/traces", started.server.base),
        &[
            ("authorization", format!("Bearer {key}")),
            ("content-type", "application/x-protobuf".into()),
        ],
        a.connections,
        pid,
    )
    .await;
    let sps = total as f64 / sent.secs;
    let peak_mib = sent.peak_rss_mib;
    eprintln!(
        "ingested in {:.1} s ({sps:.0} spans/s), {} failed requests, peak RSS {peak_mib:.0} MiB",
        sent.secs, sent.failed
    );

    let range = format!("from={}&to={}", rfc3339(from_ns), rfc3339(to_ns));
    let base = started.server.base.clone();
    let api = |path: &str| format!("{base}/api/v1/projects/bench/performance/{path}");
    let get = |url: String| {
        let req = http.get(url).bearer_auth(&token);
        async move {
            req.send()
                .await
                .expect("query")
                .json::<Value>()
                .await
                .unwrap_or_default()
        }
    };
    let one_url = api(&format!("routes?{range}&route=GET%20/r7/%7Bid%7D"));
    let (one_s, one) = best_of(a.repeat, || get(one_url.clone())).await;
    let all_url = api(&format!("routes?{range}"));
    let (all_s, all) = best_of(a.repeat, || get(all_url.clone())).await;
    let report_url = api(&format!("report?{range}"));
    let (report_s, report) = best_of(a.repeat.min(3), || get(report_url.clone())).await;

    eprintln!("restarting the server on its data…");
    let restarted = common::restart(&mut started, &env).await;
    let again_url = format!(
        "{}/api/v1/projects/bench/performance/routes?{range}&route=GET%20/r7/%7Bid%7D",
        started.server.base
    );
    let again = get(again_url).await;

    eprintln!("loading the request spans into DuckDB…");
    let duck = duckdb::Connection::open_in_memory().expect("duckdb");
    duck.execute_batch(
        "SET threads = 2; CREATE TABLE spans (route VARCHAR, start_ns BIGINT, duration_ns BIGINT)",
    )
    .expect("table");
    {
        let mut app = duck.appender("spans").expect("appender");
        for i in 0..kept.route.len() {
            app.append_row(duckdb::params![
                format!("GET /r{}/{{id}}", kept.route[i]),
                kept.start[i],
                kept.duration[i]
            ])
            .expect("row");
        }
        app.flush().expect("flush");
    }
    let duck_one_sql = "SELECT quantile_cont(duration_ns, [0.5, 0.9, 0.95, 0.99]) FROM spans \
                        WHERE route = 'GET /r7/{id}' AND start_ns >= ? AND start_ns < ?";
    let duck_all_sql = "SELECT route, count(*), quantile_cont(duration_ns, [0.5, 0.9, 0.95, 0.99]) \
                        FROM spans WHERE start_ns >= ? AND start_ns < ? GROUP BY route";
    let time_duck = |sql: &str| {
        let mut best = f64::MAX;
        let mut stmt = duck.prepare(sql).expect("prepare");
        let mut first = String::new();
        for _ in 0..a.repeat {
            let t = Instant::now();
            let mut rows = stmt.query(duckdb::params![from_ns, to_ns]).expect("query");
            let mut n = 0;
            while let Ok(Some(r)) = rows.next() {
                if n == 0 {
                    first = format!("{:?}", r.get::<_, duckdb::types::Value>(0).ok());
                }
                n += 1;
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        (best, first)
    };
    let (duck_one, duck_one_values) = time_duck(duck_one_sql);
    let (duck_all, _) = time_duck(duck_all_sql);

    println!("liveops telemetry backend: {}", a.backend);
    if let Some(dir) = &a.data_dir {
        println!(
            "on a kept data directory, beside what it held: {}",
            dir.display()
        );
    }
    println!(
        "Spans: {total} ({} requests on {ROUTES} routes over 24 h, the rest database calls)",
        kept.route.len()
    );
    println!();
    println!("| Measurement | liveops | DuckDB (raw spans, 2 threads) | Target |");
    println!("|---|---|---|---|");
    println!(
        "| OTLP protobuf ingest, 512 spans a request, {} connections | {sps:.0} spans/s | — | ≥ 100,000 spans/s |",
        a.connections
    );
    println!("| Server peak RSS while ingesting | {peak_mib:.0} MiB | — | — |");
    println!(
        "| p50/p90/p95/p99 of one route over 24 h | {:.1} ms | {:.1} ms ({:.1}× faster) | ≤ 5 ms |",
        one_s * 1e3,
        duck_one * 1e3,
        duck_one / one_s
    );
    println!(
        "| The same for all {} routes | {:.1} ms | {:.1} ms ({:.1}× faster) | ≤ 20 ms |",
        all.as_array().map_or(0, Vec::len),
        all_s * 1e3,
        duck_all * 1e3,
        duck_all / all_s
    );
    println!("| Tuning report over the 24 h | {report_s:.2} s | — | ≤ 2 s |");
    println!(
        "| Restart with the spans stored: to `/readyz` | {:.2} s | — | ≤ 2 s |",
        restarted.ready_secs
    );
    println!(
        "| Idle RSS after the restart | {:.0} MiB | — | ≤ 150 MiB |",
        restarted.idle_rss_mib
    );
    println!();
    println!(
        "Check, GET /r7/{{id}}: liveops p50/p90/p95/p99 {}/{}/{}/{} ms · DuckDB quantile_cont {duck_one_values} ns",
        one[0]["p50_ms"], one[0]["p90_ms"], one[0]["p95_ms"], one[0]["p99_ms"]
    );
    println!(
        "Report: {} N+1 pattern(s), {} slow-query pattern(s), {} large-payload pattern(s)",
        report["n_plus_one"].as_array().map_or(0, Vec::len),
        report["slow_queries"].as_array().map_or(0, Vec::len),
        report["large_payloads"].as_array().map_or(0, Vec::len)
    );
    println!(
        "After the restart, GET /r7/{{id}}: {} requests, p50/p90/p95/p99 {}/{}/{}/{} ms (before: {} requests)",
        again[0]["requests"],
        again[0]["p50_ms"],
        again[0]["p90_ms"],
        again[0]["p95_ms"],
        again[0]["p99_ms"],
        one[0]["requests"]
    );
    drop(started);
    drop(clickhouse);
}
