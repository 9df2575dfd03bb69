//! Performance telemetry: the same spans and metrics, the same questions
//! and the same answers on DuckDB, one ClickHouse server and a two-shard
//! cluster. Route percentiles are equal, not just close: both stores count
//! latencies in the same DDSketch bins. A query's p95 is interpolated on
//! DuckDB and nearest-rank on ClickHouse, so it is compared within a rank.
//! Retention at day boundaries leaves the same answers on both.

use std::sync::Arc;

use liveops_core::analytics::days_from_civil;
use liveops_core::performance::metric::{MetricKind, MetricPoint};
use liveops_core::performance::{DbCall, HttpCall, Span, SpanKind};
use liveops_telemetry::clickhouse::ClickHouse;
use liveops_telemetry::clickhouse::client::Journal;
use liveops_telemetry::clickhouse::performance::ClickHousePerformance;
use liveops_telemetry::clickhouse::testing::{ChdbStep, chdb_here, run_on_chdb};
use liveops_telemetry::performance::{RouteQuery, RouteStats, SeriesKey};
use liveops_telemetry::{DuckDbStore, Performance, TelemetryStore};

const MS: i64 = 1_000_000;
const MINUTE: i64 = 60_000 * MS;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const P: &str = "shop";

/// Monday 2 November 2026, 00:00 UTC, in nanoseconds.
fn d0() -> i64 {
    days_from_civil(2026, 11, 2) * DAY
}

fn request(trace: &str, version: &str, method: &str, route: &str, start: i64, dur: i64) -> Span {
    Span {
        trace_id: trace.into(),
        span_id: format!("{trace}-r"),
        parent_id: None,
        service: "api".into(),
        version: Some(version.into()),
        host: Some("web-1".into()),
        name: format!("{method} {route}"),
        kind: SpanKind::Server,
        start_ns: start,
        duration_ns: dur,
        status_error: false,
        http: Some(HttpCall {
            method: Some(method.into()),
            route: Some(route.into()),
            path: None,
            status: Some(200),
            request_bytes: Some(50),
            response_bytes: Some(1_000),
        }),
        db: None,
        attributes: "{}".into(),
    }
}

fn call(trace: &str, n: usize, statement: &str, start: i64, dur: i64) -> Span {
    Span {
        trace_id: trace.into(),
        span_id: format!("{trace}-c{n}"),
        parent_id: Some(format!("{trace}-r")),
        service: "api".into(),
        version: Some("1.1".into()),
        host: Some("web-1".into()),
        name: "SELECT".into(),
        kind: SpanKind::Client,
        start_ns: start,
        duration_ns: dur,
        status_error: false,
        http: None,
        db: Some(DbCall {
            system: "postgresql".into(),
            statement: Some(statement.into()),
            ..DbCall::default()
        }),
        attributes: "{}".into(),
    }
}

/// Exports: requests over four hours across midnight in two releases,
/// with errors, payloads and a zero-length one; an N+1 under one request;
/// a slow query whose request comes in a later export; a queue consumer.
fn exports() -> Vec<Vec<Span>> {
    let start = d0() + 22 * HOUR + 7 * MINUTE;
    let mut requests = Vec::new();
    for i in 0..200i64 {
        let (method, route) = if i % 3 == 0 {
            ("POST", "/orders")
        } else {
            ("GET", "/users/{id}")
        };
        let version = if i < 100 { "1.0" } else { "1.1" };
        let dur = (i * 37 % 400 + 3) * MS + i * 1_000 + if i % 50 == 7 { 1_900 * MS } else { 0 };
        let mut r = request(
            &format!("t{i}"),
            version,
            method,
            route,
            start + i * 72 * 1_000 * MS,
            dur,
        );
        let http = r.http.as_mut().expect("http");
        if i % 13 == 0 {
            http.status = Some(500);
        }
        http.response_bytes = Some(if i == 42 { 400_000 } else { (i as u64) * 100 });
        if i == 99 {
            r.duration_ns = 0;
        }
        requests.push(r);
    }
    let mut out: Vec<Vec<Span>> = requests.chunks(50).map(<[Span]>::to_vec).collect();
    let at = d0() + DAY + HOUR;
    // An order read, then its six items one by one (N+1), then the same
    // settings read three times (a cache candidate).
    let mut n1 = vec![
        request("n1", "1.1", "POST", "/orders", at, 180 * MS),
        call(
            "n1",
            0,
            "SELECT * FROM orders WHERE id = 7",
            at + MS,
            4 * MS,
        ),
    ];
    for k in 1..=6 {
        n1.push(call(
            "n1",
            k,
            &format!("SELECT * FROM items WHERE order_id = {k}"),
            at + (k as i64) * 15 * MS,
            11 * MS + k as i64 * MS,
        ));
    }
    for k in 7..=9 {
        n1.push(call(
            "n1",
            k,
            "SELECT value FROM settings WHERE name = 'theme'",
            at + (k as i64) * 15 * MS,
            2 * MS + k as i64 * 1_000,
        ));
    }
    out.push(n1);
    let slow_at = d0() + DAY + HOUR + 30 * MINUTE;
    out.push(vec![call(
        "s1",
        0,
        "SELECT count(*) FROM orders WHERE total > 10",
        slow_at + 5 * MS,
        700 * MS,
    )]);
    out.push(vec![
        request("s1", "1.1", "GET", "/report", slow_at, 800 * MS),
        Span {
            trace_id: "q1".into(),
            span_id: "q1-r".into(),
            parent_id: None,
            service: "billing".into(),
            version: None,
            host: None,
            name: "invoice.process".into(),
            kind: SpanKind::Consumer,
            start_ns: slow_at + MINUTE,
            duration_ns: 40 * MS,
            status_error: true,
            http: None,
            db: None,
            attributes: "{}".into(),
        },
    ]);
    out
}

fn metrics() -> Vec<MetricPoint> {
    let at = d0() + DAY;
    let mut out = Vec::new();
    for m in 0..10i64 {
        for (host, base) in [(None, 10.0), (Some("h1"), 20.0), (Some("h2"), 30.0)] {
            out.push(MetricPoint {
                service: "api".into(),
                host: host.map(str::to_owned),
                name: "cpu".into(),
                unit: "%".into(),
                kind: MetricKind::Gauge,
                cumulative: false,
                at_ns: at + m * MINUTE,
                value: base + (m * 7 % 5) as f64,
                count: None,
                sum: None,
                attributes: "{}".into(),
            });
        }
        out.push(MetricPoint {
            service: "api".into(),
            host: Some("h1".into()),
            name: "requests_total".into(),
            unit: "1".into(),
            kind: MetricKind::Sum,
            cumulative: true,
            at_ns: at + m * MINUTE,
            value: (m * m * 30) as f64,
            count: None,
            sum: None,
            attributes: "{}".into(),
        });
    }
    out
}

fn seed(p: &dyn Performance) {
    for e in exports() {
        let n = e.len();
        let stored = p.ingest(P, &e).expect("ingest");
        assert_eq!(stored.spans, n);
    }
    assert_eq!(p.ingest_metrics(P, &metrics()).expect("metrics"), 40);
}

fn f(v: f64) -> String {
    format!("{v:.6}")
}

fn of(v: Option<f64>) -> String {
    v.map_or("-".into(), f)
}

fn stats(s: &RouteStats) -> String {
    format!(
        "{} {} n={} err={} rate={} pm={} p50={} p90={} p95={} p99={} mean={} total={} apdex={} in={} out={} max={}",
        s.service,
        s.route,
        s.requests,
        s.errors,
        f(s.error_rate),
        f(s.per_minute),
        of(s.p50_ms),
        of(s.p90_ms),
        of(s.p95_ms),
        of(s.p99_ms),
        of(s.mean_ms),
        f(s.total_ms),
        of(s.apdex),
        of(s.mean_request_bytes),
        of(s.mean_response_bytes),
        s.max_response_bytes
    )
}

fn range(from: i64, to: i64) -> RouteQuery {
    RouteQuery {
        from_ns: from,
        to_ns: to,
        ..RouteQuery::default()
    }
}

/// The route questions, over ranges that read minutes, hours and both.
fn route_answers(p: &dyn Performance, out: &mut Vec<String>) {
    let whole = range(d0(), d0() + 2 * DAY);
    for q in [
        whole.clone(),
        range(
            d0() + 22 * HOUR + 30 * MINUTE,
            d0() + DAY + HOUR + 10 * MINUTE,
        ),
        range(
            d0() + 23 * HOUR + 5 * MINUTE,
            d0() + 23 * HOUR + 17 * MINUTE,
        ),
        RouteQuery {
            version: Some("1.0".into()),
            ..whole.clone()
        },
        RouteQuery {
            service: Some("api".into()),
            route: Some("GET /users/{id}".into()),
            ..whole.clone()
        },
    ] {
        out.push(format!("routes {}..{}", q.from_ns, q.to_ns));
        out.extend(p.routes(P, &q).expect("routes").iter().map(stats));
        let m = p.merged(P, &q).expect("merged");
        out.push(format!(
            "merged n={} p99={} apdex={}",
            m.requests,
            of(m.latency.quantile(0.99)),
            of(m.apdex())
        ));
    }
    let q = RouteQuery {
        route: Some("POST /orders".into()),
        ..range(d0() + 21 * HOUR + 45 * MINUTE, d0() + DAY + 3 * HOUR)
    };
    for (at, s) in p.series(P, &q, 30 * MINUTE).expect("series") {
        out.push(format!("series {at} {}", stats(&s)));
    }
}

/// Every answer, one per line; a query's p95 apart.
fn answers(p: &dyn Performance) -> (Vec<String>, Vec<f64>) {
    let mut out = Vec::new();
    out.push(format!("projects {:?}", p.project_ids().expect("projects")));
    route_answers(p, &mut out);
    for (k, first) in p.releases(P).expect("releases") {
        out.push(format!(
            "release {} {} {} {first}",
            k.service, k.route, k.version
        ));
    }
    out.push(format!("services {:?}", p.services(P).expect("services")));
    let key = SeriesKey {
        service: "api".into(),
        route: "GET /users/{id}".into(),
        version: "1.1".into(),
    };
    let samples = p
        .samples(P, &key, d0(), d0() + 2 * DAY, 10)
        .expect("samples");
    out.push(format!("samples {samples:?}"));
    let mut p95 = Vec::new();
    let whole = range(d0(), d0() + 2 * DAY);
    for q in p.queries(P, &whole, 10).expect("queries") {
        out.push(format!(
            "query {} {} {} calls={} total={} mean={} share={} example={} text={:?}",
            q.fingerprint,
            q.system,
            q.query,
            q.calls,
            f(q.total_ms),
            f(q.mean_ms),
            f(q.share),
            q.example_trace,
            p.query_text(P, &q.fingerprint).expect("text")
        ));
        p95.push(q.p95_ms);
    }
    out.push(format!(
        "unknown text {:?}",
        p.query_text(P, "00000000000000ff").expect("text")
    ));
    let mut found = p.detect(P, d0(), d0() + 2 * DAY).expect("detect");
    found.sort_by(|a, b| (a.at_ns, &a.span_id, a.kind).cmp(&(b.at_ns, &b.span_id, b.kind)));
    for d in found {
        out.push(format!(
            "found {:?} {} {} {:?} {} {} {} {} {} {:?}",
            d.kind,
            d.service,
            d.route,
            d.fingerprint,
            d.trace_id,
            d.span_id,
            d.at_ns,
            f(d.duration_ms),
            d.count,
            d.bytes
        ));
    }
    for s in p.trace(P, "n1").expect("trace") {
        out.push(format!("trace {s:?}"));
    }
    for m in p.metric_names(P).expect("names") {
        out.push(format!("metric {m:?}"));
    }
    for name in ["cpu", "requests_total"] {
        for service in [None, Some("api"), Some("web")] {
            let lines = p
                .metric_series(P, name, service, d0() + DAY, d0() + DAY + HOUR, 3 * MINUTE)
                .expect("series");
            for l in lines {
                let points: Vec<String> = l
                    .points
                    .iter()
                    .map(|(t, v)| format!("{t}:{}", f(*v)))
                    .collect();
                out.push(format!(
                    "line {name} {} {:?} {}",
                    l.service,
                    l.host,
                    points.join(",")
                ));
            }
            let v = p
                .metric_value(P, name, service, d0() + DAY, d0() + DAY + HOUR)
                .expect("value");
            out.push(format!("value {name} {service:?} {}", of(v)));
        }
    }
    (out, p95)
}

/// Retention at day boundaries, then the answers it leaves.
fn after_retention(p: &dyn Performance) -> Vec<String> {
    let mut out = Vec::new();
    // Minutes from the second day on: the first day reads hours.
    p.keep_minutes_from(P, d0() + DAY).expect("minutes");
    route_answers(p, &mut out);
    // The first day's spans go; its requests still count.
    p.drop_spans_before(P, d0() + DAY).expect("spans");
    out.push(format!("trace t0 {:?}", p.trace(P, "t0").expect("trace")));
    out.push(format!(
        "trace n1 {}",
        p.trace(P, "n1").expect("trace").len()
    ));
    route_answers(p, &mut out);
    // Then its rollups: only the second day counts.
    p.drop_rollups_before(P, d0() + DAY).expect("rollups");
    p.drop_metrics_before(P, d0() + 2 * DAY).expect("metrics");
    route_answers(p, &mut out);
    out.push(format!("metrics {:?}", p.metric_names(P).expect("names")));
    out
}

fn all_answers(p: &dyn Performance) -> (Vec<String>, Vec<f64>) {
    seed(p);
    let (mut out, p95) = answers(p);
    out.push("after retention".into());
    out.extend(after_retention(p));
    (out, p95)
}

fn duckdb_answers() -> (Vec<String>, Vec<f64>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DuckDbStore::open(&dir.path().join("t.duckdb")).expect("open");
    let got = all_answers(store.performance());
    store.close().expect("close");
    got
}

/// The answers mean what they should, whichever store gave them.
#[test]
fn duckdb_answers_performance_questions() {
    let (out, p95) = duckdb_answers();
    let text = out.join("\n");
    assert!(text.contains("projects [\"shop\"]"), "{text}");
    assert!(text.contains("api GET /users/{id} n=133 err="), "{text}");
    assert!(text.contains("api POST /orders n=68 err="), "{text}");
    assert!(text.contains("billing invoice.process n=1 err=1"), "{text}");
    assert!(text.contains("found NPlusOne api POST /orders"), "{text}");
    assert!(
        text.contains("found CacheCandidate api POST /orders"),
        "{text}"
    );
    // The slow query's request came later: its route is found.
    assert!(text.contains("found SlowQuery api GET /report"), "{text}");
    assert!(
        text.contains("found LargePayload api POST /orders"),
        "{text}"
    );
    assert!(text.contains("release api GET /users/{id} 1.1 "), "{text}");
    assert!(text.contains("line cpu api Some(\"h1\") "), "{text}");
    assert_eq!(p95.len(), 4, "{text}");
    let retained = &text[text.find("after retention").expect("marker")..];
    assert!(retained.contains("trace t0 []"), "{retained}");
    assert!(retained.contains("trace n1 11"), "{retained}");
    assert!(retained.contains("metrics []"), "{retained}");
}

fn same_as_duckdb(got: (Vec<String>, Vec<f64>)) {
    let (duck, duck_p95) = duckdb_answers();
    for (i, (c, d)) in got.0.iter().zip(&duck).enumerate() {
        assert_eq!(c, d, "answer {i} differs from DuckDB's");
    }
    assert_eq!(got.0.len(), duck.len());
    // Within a rank: the calls of each statement are spaced 1 ms apart.
    for (c, d) in got.1.iter().zip(&duck_p95) {
        assert!((c - d).abs() <= 1.0 + 1e-9, "p95 {c} vs {d}");
    }
    assert_eq!(got.1.len(), duck_p95.len());
}

fn clickhouse_answers(ch: ClickHouse) -> (Vec<String>, Vec<f64>) {
    ch.migrate(d0() / MS).expect("migrate");
    let p = ClickHousePerformance::open(Arc::new(ch));
    all_answers(&p)
}

#[test]
fn one_clickhouse_server_answers_performance_as_duckdb_and_its_sql_runs_on_chdb() {
    let Some((_server, ch, journal)) = super::one_server() else {
        return;
    };
    same_as_duckdb(clickhouse_answers(ch));
    if chdb_here() {
        replay_on_chdb(&journal);
    }
}

#[test]
fn a_two_shard_clickhouse_cluster_answers_performance_as_duckdb() {
    let Some((_servers, ch)) = super::two_shards() else {
        return;
    };
    same_as_duckdb(clickhouse_answers(ch));
}

/// Every statement the store sent runs on chdb's empty tables; and the
/// rollup views count a span inserted there as 18.16 does.
fn replay_on_chdb(journal: &Journal) {
    let mut steps = super::replay(journal, "sumMapMerge(bins)");
    steps.push(ChdbStep::Run(
        "INSERT INTO spans (project_id, trace_id, span_id, service, name, kind, route, \
         start_ns, duration_ns, error, attributes, inserted_at) VALUES \
         ('p', 't', 's1', 'api', 'GET /', 'server', 'GET /', 1800000000000000000, 250000000, 0, '{}', 0), \
         ('p', 't', 's2', 'api', 'GET /', 'server', 'GET /', 1800000000000000001, 0, 1, '{}', 0), \
         ('p', 't', 's3', 'api', 'db', 'client', NULL, 1800000000000000002, 9, 0, '{}', 0)"
            .into(),
    ));
    steps.push(ChdbStep::Expect {
        query: "SELECT sumMerge(requests), sumMerge(errors), sumMerge(satisfied), \
                sumMapMerge(bins) FROM perf_hours WHERE project_id = 'p'"
            .into(),
        equals: "2,1,1,\"[-32768,276]\",\"[1,1]\"".into(),
    });
    run_on_chdb(&steps);
}
