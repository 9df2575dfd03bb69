//! The error-tracking benchmark: error events of about 5 KB each (an
//! exception with twelve frames, context lines and local variables,
//! breadcrumbs, a user, tags), spread over 2,000 distinct stack traces,
//! sent to a running `liveops serve` one event per envelope as the Sentry
//! SDKs send them, over many connections; then 8,000 more events of new
//! traces so the project holds 10,000 issues, and the issue list and the
//! busiest issue's page, each timed through the API. Events are made as
//! they are sent, so a million of them never sit in memory at once.
//!
//! Run it as BENCHMARKS.md says; it prints a Markdown table.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Rng, best_of};
use serde_json::Value;

struct Args {
    events: usize,
    traces: usize,
    issues: usize,
    connections: usize,
    repeat: usize,
    backend: String,
}

fn args() -> Args {
    let mut a = Args {
        events: 1_000_000,
        traces: 2_000,
        issues: 10_000,
        connections: 32,
        repeat: 5,
        backend: "duckdb".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--events" => a.events = value().parse().unwrap_or(a.events),
            "--traces" => a.traces = value().parse().unwrap_or(a.traces),
            "--issues" => a.issues = value().parse().unwrap_or(a.issues),
            "--connections" => a.connections = value().parse().unwrap_or(a.connections),
            "--repeat" => a.repeat = value().parse().unwrap_or(a.repeat),
            "--backend" => a.backend = value(),
            other => eprintln!("ignoring {other}"),
        }
    }
    a
}

/// Event `i` of stack trace `trace`, as an envelope of one event. Written
/// straight into one string: the benchmark's client shares the machine's
/// two cores with the server, and building a JSON tree for every event
/// took a third of them.
fn envelope(i: u64, trace: u64, now_s: f64) -> Vec<u8> {
    use std::fmt::Write;
    let mut rng = Rng(0x5eed_0000_0000_0001 ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let id = format!("{:016x}{:016x}", trace + 1, i + 1);
    let mut e = String::with_capacity(6_000);
    let region = ["eu", "us", "ap"][(i % 3) as usize];
    let plan = ["free", "pro"][(i % 2) as usize];
    let _ = write!(
        e,
        r#"{{"event_id":"{id}","timestamp":{:.3},"platform":"python","level":"error","release":"shop@1.{}.0","environment":"{}","server_name":"web-{}","user":{{"id":"user-{}","ip_address":"10.0.0.1"}},"tags":{{"region":"{region}","plan":"{plan}"}},"contexts":{{"os":{{"name":"Linux"}},"runtime":{{"name":"CPython","version":"3.12.3"}}}},"breadcrumbs":{{"values":["#,
        now_s - (rng.below(3_600_000) as f64) / 1000.0,
        trace % 5,
        if i.is_multiple_of(10) {
            "staging"
        } else {
            "production"
        },
        i % 8,
        rng.below(50_000),
    );
    for k in 0..5 {
        let _ = write!(
            e,
            r#"{}{{"category":"query","message":"SELECT * FROM orders WHERE id = {}"}}"#,
            if k == 0 { "" } else { "," },
            rng.below(100_000) + k
        );
    }
    let _ = write!(
        e,
        r#"]}},"exception":{{"values":[{{"type":"Error{}","value":"order {} could not be charged after {} attempts","stacktrace":{{"frames":["#,
        trace % 50,
        rng.below(1_000_000),
        rng.below(5)
    );
    for j in 0..12u64 {
        let module = (trace + j) % 97;
        let _ = write!(
            e,
            r#"{}{{"module":"shop.module{module}","function":"step_{trace}_{j}","filename":"shop/module{module}.py","lineno":{},"in_app":{},"pre_context":["    order = load(order_id)","    total = price(order)"],"context_line":"    result = step_{trace}_{j}(order, total, {})","post_context":["    audit(result)","    return result"],"vars":{{"order_id":"{}","total":"{}.{}","attempt":{}}}}}"#,
            if j == 0 { "" } else { "," },
            10 + j * 7 + rng.below(3),
            j % 4 != 0,
            rng.below(1000),
            rng.below(1_000_000),
            rng.below(500),
            rng.below(100),
            rng.below(5)
        );
    }
    e.push_str("]}}]}}");
    format!(
        "{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{e}\n",
        e.len()
    )
    .into_bytes()
}

/// Sends events `from..to`, event `i` of trace `trace_of(i)`, made as
/// they are sent; returns what sending took and the bytes sent.
async fn send(
    url: &str,
    auth: &str,
    from: u64,
    to: u64,
    trace_of: Arc<dyn Fn(u64) -> u64 + Send + Sync>,
    connections: usize,
    pid: u32,
) -> (common::Sent, u64) {
    let now_s = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
    let bytes = Arc::new(AtomicU64::new(0));
    let counted = bytes.clone();
    let make = Arc::new(move |k: usize| {
        let i = from + k as u64;
        (i < to).then(|| {
            let body = envelope(i, trace_of(i), now_s);
            counted.fetch_add(body.len() as u64, Ordering::Relaxed);
            body
        })
    });
    let headers = [
        ("x-sentry-auth", auth.to_owned()),
        ("content-type", "application/x-sentry-envelope".to_owned()),
    ];
    let sent = common::send_made(make, url, &headers, connections, pid).await;
    (sent, bytes.load(Ordering::Relaxed))
}

/// Seconds until the server's error spool has nothing left to file, read
/// from its metrics.
async fn backlog_gone(http: &reqwest::Client, base: &str) -> f64 {
    let start = std::time::Instant::now();
    loop {
        let text = match http.get(format!("{base}/metrics")).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let left = text
            .lines()
            .find(|l| l.starts_with("liveops_spool_backlog_bytes{kind=\"errors\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok());
        match left {
            Some(0) => return start.elapsed().as_secs_f64(),
            Some(_) => {}
            None => {
                eprintln!("the server's metrics do not show the error spool");
                return start.elapsed().as_secs_f64();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let (_clickhouse, mut env) = common::backend(&a.backend).await;
    // Every connection may wait on the spool's sync at once: the ingest
    // slots must not turn some of them away.
    env.push((
        "LIVEOPS_INGEST_CONCURRENCY",
        (a.connections * 2).max(64).to_string(),
    ));
    let started = common::start_with(&env).await;
    let token = started.token.clone();
    let pid = started.server.child.id();
    let base = started.server.base.clone();
    let http = reqwest::Client::new();
    let dsn: Value = http
        .get(format!("{base}/api/v1/projects/bench/support/errors/dsn"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("dsn")
        .json()
        .await
        .expect("dsn json");
    let url = format!("{base}/api/{}/envelope/", dsn["number"]);
    let auth = format!(
        "Sentry sentry_version=7, sentry_key={}",
        dsn["public_key"].as_str().unwrap_or("")
    );
    let traces = a.traces as u64;
    eprintln!(
        "ingesting {} events over {} stack traces on {} connections (server pid {pid})…",
        a.events, a.traces, a.connections
    );
    let (main, main_bytes) = send(
        &url,
        &auth,
        0,
        a.events as u64,
        Arc::new(move |i| i % traces),
        a.connections,
        pid,
    )
    .await;
    // Acknowledged is not yet grouped: the events count once the filer
    // has filed them all (the spool's backlog is empty).
    let filed_after = backlog_gone(&http, &base).await;
    let total_s = main.secs + filed_after;
    let eps = a.events as f64 / total_s;
    eprintln!(
        "acknowledged in {:.1} s ({:.0} events/s, {:.1} MB/s), all filed {:.1} s later: {eps:.0} events/s; {} failed, peak RSS {:.0} MiB",
        main.secs,
        a.events as f64 / main.secs,
        main_bytes as f64 / main.secs / 1e6,
        filed_after,
        main.failed,
        main.peak_rss_mib
    );
    let more = a.issues.saturating_sub(a.traces) as u64;
    let start = a.events as u64;
    eprintln!("{more} more events of new traces, to {} issues…", a.issues);
    let (extra, _) = send(
        &url,
        &auth,
        start,
        start + more,
        Arc::new(move |i| traces + (i - start)),
        a.connections,
        pid,
    )
    .await;

    let api = |path: &str| format!("{base}/api/v1/projects/bench/support/errors/{path}");
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
    let list_url = api("issues?limit=50");
    let (list_s, list) = best_of(a.repeat, || get(list_url.clone())).await;
    // The issues past the first (issues - 500), to count them all.
    let skip = a.issues.saturating_sub(500);
    let count_url = api(&format!("issues?limit=500&offset={skip}"));
    let (_, tail) = best_of(1, || get(count_url.clone())).await;
    let by_events_url = api("issues?limit=50&sort=events");
    let (events_s, by_events) = best_of(a.repeat, || get(by_events_url.clone())).await;
    let busiest = by_events[0]["number"].as_i64().unwrap_or(1);
    let page_url = api(&format!("issues/{busiest}"));
    // The first load fills the issue's digests from the table (on the
    // DuckDB backend); the best of the later ones reads them.
    let (first_s, _) = best_of(1, || get(page_url.clone())).await;
    let (page_s, page) = best_of(a.repeat, || get(page_url.clone())).await;
    let issues_total = skip + tail.as_array().map_or(0, Vec::len);

    println!("liveops telemetry backend: {}", a.backend);
    println!();
    println!("| Measurement | liveops | Target |");
    println!("|---|---:|---:|");
    println!(
        "| Ingest, {} events of {:.1} KB over {} traces, grouping included, durable | {eps:.0} events/s ({:.1} s, {} failed) | ≥ 20,000 events/s |",
        a.events,
        main_bytes as f64 / a.events as f64 / 1000.0,
        a.traces,
        total_s,
        main.failed
    );
    println!(
        "| Acknowledged (durable in the spool, not yet grouped) | {:.0} events/s ({:.1} s) | – |",
        a.events as f64 / main.secs,
        main.secs
    );
    println!(
        "| Peak server RSS while ingesting | {:.0} MiB | – |",
        main.peak_rss_mib.max(extra.peak_rss_mib)
    );
    println!(
        "| Issue list, {issues_total} issues, 50 by last seen | {:.1} ms | ≤ 50 ms |",
        list_s * 1000.0
    );
    println!(
        "| Issue list, 50 by events | {:.1} ms | ≤ 50 ms |",
        events_s * 1000.0
    );
    println!(
        "| Issue page, #{busiest} ({} events, {} users) | {:.1} ms | ≤ 50 ms |",
        page["issue"]["events"],
        page["issue"]["users"],
        page_s * 1000.0
    );
    println!(
        "| Issue page, first load | {:.1} ms | ≤ 50 ms |",
        first_s * 1000.0
    );
    println!();
    println!(
        "Checks: the list's first issue is #{} with {} events; the busiest issue holds {} of {} events (every trace equally often: {}).",
        list[0]["number"],
        list[0]["events"],
        by_events[0]["events"],
        a.events,
        a.events / a.traces
    );
}
