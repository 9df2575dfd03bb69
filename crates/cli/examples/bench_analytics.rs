//! The analytics benchmark: 10 million events across 500,000 persons over 30
//! days, sent to a running `liveops serve` through PostHog's `/batch` (100
//! events a request), then the three headline queries, each timed against
//! DuckDB and ClickHouse (chdb) on the same events and the same 2 threads.
//!
//! Run it as BENCHMARKS.md says; it prints a Markdown table. With
//! `--backend clickhouse` the server keeps the events in a ClickHouse
//! server started for the run.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{Rng, best_of};
use serde_json::{Value, json};

const DAY: i64 = 86_400;
/// 2026-10-01T00:00:00Z.
const START: i64 = 1_790_812_800;

struct Args {
    events: usize,
    persons: usize,
    connections: usize,
    repeat: usize,
    python: PathBuf,
    /// Stop after ingest (for profiling the server).
    ingest_only: bool,
    /// With `--ingest-only`: stop the server and keep its data directory
    /// (printing where), to time starts on it.
    keep_data: bool,
    /// `duckdb` (the embedded default) or `clickhouse` (Debian's
    /// `clickhouse-server`, started for the run on the same cores).
    backend: String,
    /// Subscriptions over the twelve months to the end of the range, for
    /// MRR.
    subscriptions: usize,
}

fn args() -> Args {
    let mut a = Args {
        events: 10_000_000,
        persons: 500_000,
        connections: 16,
        repeat: 5,
        python: PathBuf::from(std::env::var("LIVEOPS_TEST_VENV").unwrap_or_else(|_| {
            format!(
                "{}/.cache/liveops-venv",
                std::env::var("HOME").unwrap_or_default()
            )
        }))
        .join("bin/python"),
        ingest_only: false,
        keep_data: false,
        backend: "duckdb".into(),
        subscriptions: 100_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--events" => a.events = value().parse().unwrap_or(a.events),
            "--persons" => a.persons = value().parse().unwrap_or(a.persons),
            "--connections" => a.connections = value().parse().unwrap_or(a.connections),
            "--repeat" => a.repeat = value().parse().unwrap_or(a.repeat),
            "--python" => a.python = PathBuf::from(value()),
            "--ingest-only" => a.ingest_only = true,
            "--keep-data" => a.keep_data = true,
            "--backend" => a.backend = value(),
            "--subscriptions" => a.subscriptions = value().parse().unwrap_or(a.subscriptions),
            other => eprintln!("ignoring {other}"),
        }
    }
    a
}

/// Sends a request and reads its JSON answer (null when it has none).
async fn json_of(req: reqwest::RequestBuilder, what: &str) -> Value {
    req.send()
        .await
        .expect(what)
        .json::<Value>()
        .await
        .unwrap_or_default()
}

/// PostHog `/batch` bodies of 100 events: each person has a session or
/// more over the 30 days, walking some way down the funnel.
fn bodies(a: &Args, key: &str) -> Vec<Vec<u8>> {
    let names = [
        "$pageview",
        "viewed product",
        "added to cart",
        "started checkout",
        "purchased",
        "searched",
    ];
    let mut rng = Rng(0x00c0_ffee_1234_5678);
    let mut events = Vec::with_capacity(a.events);
    let per = a.events / a.persons;
    for p in 0..a.persons {
        let mut t = START + rng.below(30 * DAY as u64) as i64;
        for i in 0..per {
            // Mostly forward through the funnel, sometimes browsing.
            let step = (rng.below(6) * rng.below(6) / 5) as usize % names.len();
            t += rng.below(6 * 3600) as i64;
            if t >= START + 30 * DAY {
                t = START + rng.below(30 * DAY as u64) as i64;
            }
            events.push((p, i, names[step], t));
        }
    }
    // Interleave persons the way live traffic arrives: by time.
    events.sort_by_key(|e| e.3);
    events
        .chunks(100)
        .map(|chunk| {
            let batch: Vec<Value> = chunk
                .iter()
                .map(|(p, i, name, t)| {
                    let mut properties = json!({"$lib": "bench", "$current_url": "https://shop.example/p"});
                    // Purchases carry an amount (0 to 200, in cents), for
                    // the property math.
                    if *name == "purchased" {
                        properties["amount"] = json!(((p * 7919 + i * 104_729) % 20_000) as f64 / 100.0);
                    }
                    json!({
                        "event": name,
                        "distinct_id": format!("person-{p}"),
                        "uuid": format!("{p:08x}-{i:04x}"),
                        "timestamp": jiff::Timestamp::from_second(*t).map(|t| t.to_string()).unwrap_or_default(),
                        "properties": properties,
                    })
                })
                .collect();
            serde_json::to_vec(&json!({"api_key": key, "batch": batch})).unwrap_or_default()
        })
        .collect()
}

/// The event a subscription's life sends, and its properties.
type SubEvent = (i64, usize, &'static str, Value);

/// Subscription events for MRR: each subscription starts in the twelve
/// months to the end of the range, monthly (9, 29 or 99) or yearly (ten
/// months' worth); some change plan, some cancel. The customers are the
/// benchmark's persons, some with two subscriptions.
fn subscription_bodies(a: &Args, key: &str) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5eed_0000_2026_1204);
    let end = START + 30 * DAY;
    let mut events: Vec<SubEvent> = Vec::with_capacity(a.subscriptions * 2);
    let plans = [9.0, 29.0, 99.0];
    for n in 0..a.subscriptions {
        let customer = n % a.persons.max(1);
        let start = end - 365 * DAY + rng.below(365 * DAY as u64) as i64;
        let yearly = rng.below(5) == 0;
        let price = |plan: usize| {
            let monthly = plans[plan % plans.len()];
            if yearly {
                (monthly * 10.0, "year")
            } else {
                (monthly, "month")
            }
        };
        let (amount, interval) = price(rng.below(3) as usize);
        let id = format!("s{n}");
        events.push((
            start,
            customer,
            "subscription_started",
            json!({"subscription_id": id, "amount": amount, "interval": interval}),
        ));
        let mut t = start;
        if rng.below(10) < 3 {
            t += DAY + rng.below(120 * DAY as u64) as i64;
            let (amount, interval) = price(rng.below(3) as usize);
            events.push((
                t,
                customer,
                "subscription_changed",
                json!({"subscription_id": id, "amount": amount, "interval": interval}),
            ));
        }
        if rng.below(4) == 0 {
            t += DAY + rng.below(240 * DAY as u64) as i64;
            events.push((
                t,
                customer,
                "subscription_cancelled",
                json!({"subscription_id": id}),
            ));
        }
    }
    events.retain(|e| e.0 < end);
    events.sort_by_key(|e| e.0);
    events
        .chunks(100)
        .enumerate()
        .map(|(c, chunk)| {
            let batch: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, (t, customer, name, properties))| {
                    json!({
                        "event": name,
                        "distinct_id": format!("person-{customer}"),
                        "uuid": format!("sub-{c:06x}-{i:02x}"),
                        "timestamp": jiff::Timestamp::from_second(*t).map(|t| t.to_string()).unwrap_or_default(),
                        "properties": properties,
                    })
                })
                .collect();
            serde_json::to_vec(&json!({"api_key": key, "batch": batch})).unwrap_or_default()
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let (_clickhouse, env) = common::backend(&a.backend).await;
    let mut started = common::start_with(&env).await;
    let (token, key) = (started.token.clone(), started.ingest_key.clone());
    let pid = started.server.child.id();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.connections)
        .build()
        .expect("client");

    eprintln!("generating {} events for {} persons…", a.events, a.persons);
    let bodies = Arc::new(bodies(&a, &key));
    eprintln!(
        "ingesting over {} connections (server pid {pid})…",
        a.connections
    );
    let sent = common::send_all(
        bodies.clone(),
        &format!("{}/batch/", started.server.base),
        &[("content-type", "application/json".into())],
        a.connections,
        pid,
    )
    .await;
    let ingest_secs = sent.secs;
    let subscription_batches = Arc::new(subscription_bodies(&a, &key));
    let subs = common::send_all(
        subscription_batches,
        &format!("{}/batch/", started.server.base),
        &[("content-type", "application/json".into())],
        a.connections,
        pid,
    )
    .await;
    eprintln!(
        "{} subscriptions sent in {:.1} s, {} failed requests",
        a.subscriptions, subs.secs, subs.failed
    );
    let peak_mib = sent.peak_rss_mib;
    let eps = a.events as f64 / ingest_secs;
    eprintln!(
        "ingested in {ingest_secs:.1} s ({eps:.0} events/s), {} failed requests, peak RSS {peak_mib:.0} MiB",
        sent.failed
    );
    drop(bodies);
    if a.ingest_only {
        if a.keep_data {
            started.server.stop();
            let kept = std::mem::replace(&mut started.dir, tempfile::tempdir().expect("tempdir"));
            let _ = kept.keep();
            println!("data kept in {}", started.data.display());
        }
        return;
    }

    let base = started.server.base.clone();
    let api = |path: &str| format!("{base}/api/v1/projects/bench/analytics/{path}");
    let (from, to) = ("2026-10-01", "2026-10-31");
    let funnel_body = json!({"steps": ["$pageview", "viewed product", "added to cart", "started checkout"],
        "window": "14d", "from": from, "to": to});
    let retention_body =
        json!({"start_event": "$pageview", "interval": "week", "from": "2026-09-28", "periods": 8});
    // Warm up: the first query folds freshly ingested events into the layout.
    let _ = http
        .get(api("active?from=2026-10-01&to=2026-10-31"))
        .bearer_auth(&token)
        .send()
        .await;
    let (funnel_s, funnel) = best_of(a.repeat, || {
        let req = http
            .post(api("funnel"))
            .bearer_auth(&token)
            .json(&funnel_body);
        async move {
            req.send()
                .await
                .expect("funnel")
                .json::<Value>()
                .await
                .unwrap_or_default()
        }
    })
    .await;
    let (retention_s, _) = best_of(a.repeat, || {
        let req = http
            .post(api("retention"))
            .bearer_auth(&token)
            .json(&retention_body);
        async move {
            req.send()
                .await
                .expect("retention")
                .json::<Value>()
                .await
                .unwrap_or_default()
        }
    })
    .await;
    let (dau_s, _) = best_of(a.repeat, || {
        let req = http
            .get(api("active?from=2026-10-01&to=2026-10-31"))
            .bearer_auth(&token);
        async move {
            req.send()
                .await
                .expect("dau")
                .json::<Value>()
                .await
                .unwrap_or_default()
        }
    })
    .await;
    // Property math: the sum and the p95 of the purchases' amounts per day.
    let math = |m: &'static str| {
        let url = api(&format!(
            "trends?event=purchased&interval=day&from=2026-10-01&to=2026-10-31&math={m}"
        ));
        let (http, token) = (http.clone(), token.clone());
        move || {
            let req = http.get(url.clone()).bearer_auth(&token);
            async move {
                req.send()
                    .await
                    .expect("trends")
                    .json::<Value>()
                    .await
                    .unwrap_or_default()
            }
        }
    };
    let (sum_s, sums) = best_of(a.repeat, math("sum:amount")).await;
    let (p95_s, _) = best_of(a.repeat, math("p95:amount")).await;
    let sum_total: f64 = sums["series"][0]["points"]
        .as_array()
        .map(|p| p.iter().filter_map(|x| x["value"].as_f64()).sum())
        .unwrap_or(0.0);
    // The web overview of the month's page views.
    let web_url = api("web?from=2026-10-01&to=2026-10-31");
    let (web_s, web) = best_of(a.repeat, || {
        let req = http.get(&web_url).bearer_auth(&token);
        async move {
            req.send()
                .await
                .expect("web")
                .json::<Value>()
                .await
                .unwrap_or_default()
        }
    })
    .await;
    // MRR for the twelve months to the end of the range.
    let mrr_url = api("revenue/mrr?months=12&to=2026-10-15");
    let (mrr_s, mrr) = best_of(a.repeat, || {
        let req = http.get(&mrr_url).bearer_auth(&token);
        async move {
            req.send()
                .await
                .expect("mrr")
                .json::<Value>()
                .await
                .unwrap_or_default()
        }
    })
    .await;
    let mrr_last = mrr["months"][11]["mrr"].as_f64().unwrap_or(f64::NAN);
    // The project overview (one read per area, the page's content).
    let overview_url = format!("{base}/api/v1/projects/bench/overview");
    let (overview_s, glance) = best_of(a.repeat, || {
        let req = http.get(&overview_url).bearer_auth(&token);
        async move {
            req.send()
                .await
                .expect("overview")
                .json::<Value>()
                .await
                .unwrap_or_default()
        }
    })
    .await;
    eprintln!(
        "overview: {:.1} ms (active users today: {})",
        overview_s * 1000.0,
        glance["active_today"]
    );
    eprintln!("funnel steps: {}", funnel["steps"]);
    // A dashboard of eight saved insights over the same month: its first
    // load answers every tile; later loads, with no new data, come from
    // the answer cache.
    let range = json!({"from": from, "to": to});
    let insights = [
        ("Funnel", "funnel", funnel_body.clone()),
        ("Retention", "retention", retention_body.clone()),
        ("Active", "active", range.clone()),
        ("Stickiness", "stickiness", range.clone()),
        (
            "Order sum",
            "trends",
            json!({"series": [{"event": "purchased", "math": "sum:amount"}], "from": from, "to": to}),
        ),
        (
            "Order p95",
            "trends",
            json!({"series": [{"event": "purchased", "math": "p95:amount"}], "from": from, "to": to}),
        ),
        ("Web", "web", range.clone()),
        (
            "Lifecycle",
            "lifecycle",
            json!({"interval": "week", "from": "2026-09-28", "periods": 4}),
        ),
    ];
    for (name, kind, query) in &insights {
        let resp = http
            .post(api("insights"))
            .bearer_auth(&token)
            .json(&json!({"name": name, "kind": kind, "query": query}))
            .send()
            .await
            .expect("save insight");
        assert_eq!(resp.status().as_u16(), 201, "{name}");
    }
    // Each insight answered on its own, to see where a first load goes.
    for (name, _, _) in &insights {
        let t = std::time::Instant::now();
        let resp = http
            .get(api(&format!("insights/{}", name.replace(' ', "%20"))))
            .bearer_auth(&token)
            .send()
            .await
            .expect("insight");
        let status = resp.status().as_u16();
        let _ = resp.bytes().await;
        eprintln!(
            "insight {name}: {:.1} ms ({status})",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    let tiles: Vec<Value> = insights
        .iter()
        .map(|(n, _, _)| json!({"insight": n}))
        .collect();
    let resp = http
        .post(api("dashboards"))
        .bearer_auth(&token)
        .json(&json!({"name": "Bench", "tiles": tiles}))
        .send()
        .await
        .expect("dashboard");
    assert_eq!(resp.status().as_u16(), 201);
    let board_url = api("dashboards/Bench");
    let load = || json_of(http.get(&board_url).bearer_auth(&token), "dashboard");
    let cold = std::time::Instant::now();
    let board = load().await;
    let cold_s = cold.elapsed().as_secs_f64();
    let failed = board["tiles"]
        .as_array()
        .map_or(0, |t| t.iter().filter(|t| !t["error"].is_null()).count());
    let (warm_s, _) = best_of(a.repeat, load).await;
    eprintln!(
        "dashboard of 8 insights: first load {:.1} ms, cached {:.1} ms ({failed} tiles failed)",
        cold_s * 1000.0,
        warm_s * 1000.0
    );
    // New data arrives: the next load shows the kept answers as stale
    // while they are made again in the background.
    let one = json!({"api_key": key, "batch": [{"event": "$pageview", "distinct_id": "person-0",
        "uuid": "ffffffff-dash", "properties": {"$current_url": "https://shop.example/p"}}]});
    let resp = http
        .post(format!("{}/batch/", started.server.base))
        .json(&one)
        .send()
        .await
        .expect("one more event");
    assert!(resp.status().is_success(), "one more event");
    let t = std::time::Instant::now();
    let board = load().await;
    let stale_s = t.elapsed().as_secs_f64();
    let stale_tiles = |b: &Value| {
        b["tiles"]
            .as_array()
            .map_or(0, |t| t.iter().filter(|t| t["stale"] == true).count())
    };
    let stale = stale_tiles(&board);
    let mut refreshed = None;
    while t.elapsed() < Duration::from_secs(600) {
        if stale_tiles(&load().await) == 0 {
            refreshed = Some(t.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "after one more event: load {:.1} ms with {stale} of 8 tiles stale; all answered again after {}",
        stale_s * 1000.0,
        refreshed.map_or("more than 600 s".to_owned(), |s| format!("{s:.1} s"))
    );

    eprintln!("exporting Parquet and running DuckDB and chdb…");
    let parquet = started.dir.path().join("events.parquet");
    let bytes = http
        .get(api("export"))
        .bearer_auth(&token)
        .timeout(Duration::from_secs(1800))
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes");
    std::fs::write(&parquet, &bytes).expect("write parquet");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/analytics_reference.py"
    );
    let out = Command::new(&a.python)
        .arg(script)
        .arg(&parquet)
        .args([
            "--steps",
            "$pageview,viewed product,added to cart,started checkout",
        ])
        .args(["--from-ms", &((START) * 1000).to_string()])
        .args(["--to-ms", &((START + 30 * DAY) * 1000).to_string()])
        .args(["--retention-event", "$pageview"])
        .args([
            "--retention-from-ms",
            &((START - 3 * DAY) * 1000).to_string(),
        ])
        .args(["--periods", "8", "--threads", "2", "--load-table"])
        .args(["--mrr-to-ms", &((START + 30 * DAY) * 1000).to_string()])
        .arg("--web")
        .args(["--repeat", &a.repeat.to_string()])
        .output()
        .expect("run the reference script");
    let reference: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        Value::Null
    });
    eprintln!("restarting the server on its data…");
    let restarted = common::restart(&mut started, &env).await;
    // The restarted server reads its columns from the saved layout: the
    // first funnel pages them in, the later ones find them in memory.
    let after_restart = {
        let url = format!(
            "{}/api/v1/projects/bench/analytics/funnel",
            started.server.base
        );
        let ask = || {
            json_of(
                http.post(&url).bearer_auth(&token).json(&funnel_body),
                "funnel",
            )
        };
        let t = std::time::Instant::now();
        let first = ask().await;
        let first_s = t.elapsed().as_secs_f64();
        let (best_s, best) = best_of(a.repeat, ask).await;
        let same = first["steps"] == funnel["steps"] && best["steps"] == funnel["steps"];
        let rss = common::rss_kib(started.server.child.id()) as f64 / 1024.0;
        (first_s, best_s, same, rss)
    };
    let t = &reference["timings"];
    let secs = |v: &Value| v.as_f64();
    let ratio = |ours: f64, theirs: Option<f64>| {
        theirs.map_or("—".to_owned(), |x| {
            if x >= ours {
                format!("{:.1}× faster", x / ours)
            } else {
                format!("liveops {:.1}× slower", ours / x)
            }
        })
    };
    println!("liveops telemetry backend: {}", a.backend);
    println!();
    println!("| Measurement | liveops | DuckDB | chdb | Target |");
    println!("|---|---|---|---|---|");
    println!(
        "| Ingest, PostHog `/batch`, 100 events/request, {} connections | {eps:.0} events/s | — | — | ≥ 200,000 events/s |",
        a.connections
    );
    println!("| Server peak RSS while ingesting | {peak_mib:.0} MiB | — | — | ≤ 1024 MiB |");
    println!(
        "| 4-step funnel, 14-day window | {:.3} s | {} ({}) | {} ({}) | ≤ 0.15 s |",
        funnel_s,
        secs(&t["duckdb"]["first_entry_funnel"]).map_or("—".into(), |x| format!("{x:.3} s")),
        ratio(funnel_s, secs(&t["duckdb"]["first_entry_funnel"])),
        secs(&t["chdb"]["funnel"]).map_or("—".into(), |x| format!("{x:.3} s")),
        ratio(funnel_s, secs(&t["chdb"]["funnel"])),
    );
    println!(
        "| Weekly retention, 8 periods | {:.3} s | {} ({}) | {} ({}) | ≤ 0.25 s |",
        retention_s,
        secs(&t["duckdb"]["retention"]).map_or("—".into(), |x| format!("{x:.3} s")),
        ratio(retention_s, secs(&t["duckdb"]["retention"])),
        secs(&t["chdb"]["retention"]).map_or("—".into(), |x| format!("{x:.3} s")),
        ratio(retention_s, secs(&t["chdb"]["retention"])),
    );
    println!(
        "| DAU over 30 days | {:.3} s | {} ({}) | {} ({}) | ≤ 0.1 s |",
        dau_s,
        secs(&t["duckdb"]["dau"]).map_or("—".into(), |x| format!("{x:.3} s")),
        ratio(dau_s, secs(&t["duckdb"]["dau"])),
        secs(&t["chdb"]["dau"]).map_or("—".into(), |x| format!("{x:.3} s")),
        ratio(dau_s, secs(&t["chdb"]["dau"])),
    );
    for (name, ours, key) in [
        ("Sum of a property per day, 30 days", sum_s, "sum_per_day"),
        ("p95 of a property per day, 30 days", p95_s, "p95_per_day"),
    ] {
        println!(
            "| {name} | {ours:.3} s | {} ({}) | {} ({}) | 5× faster than both |",
            secs(&t["duckdb"][key]).map_or("—".into(), |x| format!("{x:.3} s")),
            ratio(ours, secs(&t["duckdb"][key])),
            secs(&t["chdb"][key]).map_or("—".into(), |x| format!("{x:.3} s")),
            ratio(ours, secs(&t["chdb"][key])),
        );
    }
    println!(
        "| MRR with movements, 12 months, {} subscriptions | {mrr_s:.3} s | {} ({}) | {} ({}) | 5× faster than both |",
        a.subscriptions,
        secs(&t["duckdb"]["mrr"]).map_or("—".into(), |x| format!("{x:.3} s")),
        ratio(mrr_s, secs(&t["duckdb"]["mrr"])),
        secs(&t["chdb"]["mrr"]).map_or("—".into(), |x| format!("{x:.3} s")),
        ratio(mrr_s, secs(&t["chdb"]["mrr"])),
    );
    println!(
        "| Web overview, 30 days | {web_s:.3} s | {} ({}) | {} ({}) | 5× faster than both |",
        secs(&t["duckdb"]["web"]).map_or("—".into(), |x| format!("{x:.3} s")),
        ratio(web_s, secs(&t["duckdb"]["web"])),
        secs(&t["chdb"]["web"]).map_or("—".into(), |x| format!("{x:.3} s")),
        ratio(web_s, secs(&t["chdb"]["web"])),
    );
    println!(
        "| Restart with the events stored: to `/readyz` | {:.2} s | — | — | ≤ 2 s |",
        restarted.ready_secs
    );
    println!(
        "| Idle RSS after the restart | {:.0} MiB | — | — | ≤ 150 MiB |",
        restarted.idle_rss_mib
    );
    println!(
        "| 4-step funnel after the restart: first / best of {} ({}) | {:.3} / {:.3} s | — | — | — |",
        a.repeat,
        if after_restart.2 {
            "same steps as before it"
        } else {
            "DIFFERENT steps from before it"
        },
        after_restart.0,
        after_restart.1
    );
    println!(
        "| RSS after those funnels | {:.0} MiB | — | — | — |",
        after_restart.3
    );
    println!();
    println!(
        "Check: liveops funnel {} · chdb windowFunnel {}",
        funnel["steps"]
            .as_array()
            .map(|s| s
                .iter()
                .map(|x| x["persons"].to_string())
                .collect::<Vec<_>>()
                .join("/"))
            .unwrap_or_default(),
        reference["funnel"]
    );
    println!(
        "Check: liveops sum of amounts {sum_total:.2} · DuckDB {}",
        reference["duckdb_amount_total"]
    );
    println!(
        "Check: liveops web visitors/views/sessions/bounce {}/{}/{}/{:.6} · DuckDB {} · chdb {}",
        web["visitors"],
        web["page_views"],
        web["sessions"],
        web["bounce_rate"].as_f64().unwrap_or(f64::NAN),
        reference["duckdb_web"],
        reference["chdb_web"]
    );
    println!(
        "Check: liveops MRR at the end of October {mrr_last:.2} · DuckDB {} · chdb {}",
        reference["duckdb_mrr_last"], reference["chdb_mrr_last"]
    );
}
