//! The ClickHouse store against real servers: Debian's `clickhouse-server`
//! (18.16), started by each test on free loopback ports with a config and
//! data folder of its own, alone and as a two-shard cluster; and the same
//! SQL on `chdb`, a current ClickHouse engine in process, to show it runs
//! on today's releases too. Without the server (or the venv) a test is
//! skipped, except under `CI=true`, where it fails.

use std::time::Duration;

use liveops_telemetry::clickhouse::schema::{self, EVENTS, Layout};
use liveops_telemetry::clickhouse::testing::{
    ChdbStep, Server, chdb_here, free_port, run_on_chdb, server_here, start_cluster,
};
use liveops_telemetry::clickhouse::{ClickHouse, Kind, retention};
use serde::Deserialize;

const DAY_MS: i64 = 86_400_000;
/// 2026-12-06 12:00 UTC.
const NOW: i64 = 1_796_558_400_000;
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize, PartialEq)]
struct Count {
    n: u64,
}

fn count(ch: &ClickHouse, table: &str, project: &str) -> u64 {
    let rows: Vec<Count> = ch
        .client()
        .rows(&format!(
            "SELECT count() AS n FROM {table} WHERE project_id = '{project}'"
        ))
        .expect("count");
    rows.first().map_or(0, |c| c.n)
}

/// Events of `project` at each of `times`.
fn events(project: &str, times: &[i64]) -> Vec<serde_json::Value> {
    times
        .iter()
        .enumerate()
        .map(|(i, ts)| {
            serde_json::json!({
                "project_id": project, "uuid": format!("{project}-{i}"), "event": "$pageview",
                "distinct_id": "ann", "ts": ts, "properties": "{}", "inserted_at": NOW,
            })
        })
        .collect()
}

fn spans(project: &str, times_ms: &[i64]) -> Vec<serde_json::Value> {
    times_ms
        .iter()
        .enumerate()
        .map(|(i, ms)| {
            serde_json::json!({
                "project_id": project, "trace_id": format!("t{i}"), "span_id": format!("s{i}"),
                "parent_id": null, "service": "api", "version": null, "host": null,
                "name": "GET /", "kind": "server", "route": "/", "start_ns": ms * 1_000_000,
                "duration_ns": 1_000_000, "error": 0, "status_code": 200, "request_bytes": null,
                "response_bytes": null, "db_system": null, "db_operation": null,
                "db_statement": null, "db_fingerprint": null, "attributes": "{}", "inserted_at": NOW,
            })
        })
        .collect()
}

/// Past the retention, whole days go; recent days, the cutoff's own day
/// and other projects stay.
fn retention_story(ch: &ClickHouse) {
    let old = [NOW - 10 * DAY_MS, NOW - 9 * DAY_MS, NOW - 9 * DAY_MS + 1];
    let recent = [NOW - 2 * DAY_MS, NOW - DAY_MS, NOW];
    let all: Vec<i64> = old.iter().chain(&recent).copied().collect();
    ch.client()
        .insert("events", &events("shop", &all))
        .expect("insert shop");
    ch.client()
        .insert("events", &events("blog", &all))
        .expect("insert blog");
    ch.client()
        .insert("spans", &spans("shop", &all))
        .expect("insert spans");
    assert_eq!(count(ch, "events", "shop"), 6);

    // Seven days of events for the shop: the two old days go.
    let dropped = ch
        .drop_before(Kind::Events, "shop", NOW - 7 * DAY_MS)
        .expect("drop");
    assert!(dropped >= 2, "{dropped}");
    assert_eq!(count(ch, "events", "shop"), 3);
    assert_eq!(
        count(ch, "events", "blog"),
        6,
        "another project keeps its days"
    );
    assert_eq!(
        count(ch, "spans", "shop"),
        6,
        "spans keep their own retention"
    );
    // Again: nothing more to drop.
    assert_eq!(
        ch.drop_before(Kind::Events, "shop", NOW - 7 * DAY_MS)
            .expect("drop"),
        0
    );
    // A cutoff in the middle of a day keeps that day whole.
    ch.drop_before(Kind::Spans, "shop", NOW - DAY_MS - 1)
        .expect("drop spans");
    assert_eq!(count(ch, "spans", "shop"), 2);
}

#[test]
fn one_server_migrates_once_and_drops_old_partitions() {
    if !server_here() {
        return;
    }
    let server = Server::start();
    let ch = ClickHouse::connect(&server.url(), None, &[], TIMEOUT, Duration::from_secs(1))
        .expect("connect");
    assert_eq!(ch.migrate(NOW).expect("migrate"), [1, 2, 3, 4, 5]);
    // Questions stop at the query time limit, on the server itself;
    // maintenance has the longer limit.
    let started = std::time::Instant::now();
    let err = ch
        .reader()
        .execute("SELECT sum(number) FROM numbers(100000000000) FORMAT Null")
        .expect_err("stopped")
        .to_string();
    assert!(err.contains("Timeout exceeded"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    ch.client()
        .execute("SELECT sum(number) FROM numbers(1000000) FORMAT Null")
        .expect("a short maintenance query");
    assert_eq!(
        ch.migrate(NOW).expect("again"),
        Vec::<u32>::new(),
        "applied once"
    );
    #[derive(Deserialize)]
    struct Name {
        name: String,
    }
    let tables: Vec<String> = ch
        .client()
        .rows::<Name>("SELECT name FROM system.tables WHERE database = 'liveops' ORDER BY name")
        .expect("tables")
        .into_iter()
        .map(|t| t.name)
        .collect();
    for t in schema::tables() {
        assert!(tables.iter().any(|n| n == t.name), "{t:?} in {tables:?}");
    }
    retention_story(&ch);
}

#[test]
fn a_two_shard_cluster_stores_through_distributed_tables() {
    if !server_here() {
        return;
    }
    let servers = start_cluster();
    let shard_urls: Vec<String> = servers.iter().map(Server::url).collect();
    let ch = ClickHouse::connect(&shard_urls[0], Some("two"), &shard_urls, TIMEOUT, TIMEOUT)
        .expect("connect");
    assert_eq!(ch.migrate(NOW).expect("migrate"), [1, 2, 3, 4, 5]);
    retention_story(&ch);
    // The rows are spread over both shards' local tables.
    for url in &shard_urls {
        let one = ClickHouse::connect(url, None, &[], TIMEOUT, TIMEOUT).expect("shard");
        let n = count(&one, "events_local", "blog");
        assert!(n > 0 && n < 6, "each shard holds some of the six: {n}");
    }
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let port = free_port();
    let ch = ClickHouse::connect(
        &format!("http://127.0.0.1:{port}/liveops"),
        None,
        &[],
        TIMEOUT,
        TIMEOUT,
    )
    .expect("a good URL");
    let err = ch.migrate(NOW).expect_err("nobody listens").to_string();
    assert!(err.contains("ClickHouse is unreachable"), "{err}");
    let err = ClickHouse::connect("http://127.0.0.1:1/a", Some("x y"), &[], TIMEOUT, TIMEOUT)
        .expect_err("a bad cluster name")
        .to_string();
    assert!(err.contains("cluster name"), "{err}");
}

/// The schema and the retention SQL, run on chdb (a current ClickHouse).
#[test]
fn the_sql_runs_on_a_current_clickhouse() {
    if !chdb_here() {
        return;
    }
    let mut steps: Vec<ChdbStep> = schema::statements("liveops", &Layout::Single)
        .into_iter()
        .map(ChdbStep::Run)
        .collect();
    steps.push(ChdbStep::Run(format!(
        "INSERT INTO events VALUES ('shop', 'a', '$pageview', 'ann', {}, '{{}}', {NOW}), \
         ('shop', 'b', '$pageview', 'ann', {NOW}, '{{}}', {NOW})",
        NOW - 10 * DAY_MS
    )));
    // The old event's day is 2026-11-26.
    steps.push(ChdbStep::Expect {
        query: retention::old_days_query(&EVENTS, &Layout::Single, "shop", NOW - 7 * DAY_MS),
        equals: "20261126".into(),
    });
    steps.push(ChdbStep::Run(retention::drop_day(
        &EVENTS,
        &Layout::Single,
        "shop",
        20_261_126,
    )));
    steps.push(ChdbStep::Expect {
        query: "SELECT count() FROM events".into(),
        equals: "1".into(),
    });
    run_on_chdb(&steps);
}
