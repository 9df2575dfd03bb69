//! The ClickHouse store against real servers: Debian's `clickhouse-server`
//! (18.16), started by each test on free loopback ports with a config and
//! data folder of its own, alone and as a two-shard cluster; and the same
//! SQL on `chdb`, a current ClickHouse engine in process, to show it runs
//! on today's releases too. Without the server (or the venv) a test is
//! skipped, except under `CI=true`, where it fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use liveops_telemetry::clickhouse::schema::{self, EVENTS, Layout};
use liveops_telemetry::clickhouse::{ClickHouse, Kind, retention};
use serde::Deserialize;

const DAY_MS: i64 = 86_400_000;
/// 2026-12-06 12:00 UTC.
const NOW: i64 = 1_796_558_400_000;
const TIMEOUT: Duration = Duration::from_secs(30);

/// Says whether a test can run here; in CI, a missing part fails it.
fn available(what: &str, found: bool) -> bool {
    if !found {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but {what} is missing: run scripts/setup.sh"
        );
        eprintln!("{what} is missing; scripts/setup.sh installs it");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One `clickhouse-server` process, stopped when dropped.
struct Server {
    http: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

const SERVER: &str = "/usr/sbin/clickhouse-server";

impl Server {
    /// Starts a server on free ports; `remote_servers` is put in its config.
    /// It keeps Tokyo time, so days taken from the server's zone rather
    /// than UTC would show.
    fn start(http: u16, tcp: u16, remote_servers: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for sub in ["data", "tmp", "user_files", "format_schemas"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        let path = |p: &str| format!("{}/", root.join(p).display());
        std::fs::write(
            root.join("config.xml"),
            format!(
                r#"<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><console>1</console></logger>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>{data}</path>
    <tmp_path>{tmp}</tmp_path>
    <user_files_path>{user_files}</user_files_path>
    <format_schema_path>{format_schemas}</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>Asia/Tokyo</timezone>
    <mark_cache_size>5368709120</mark_cache_size>
    <remote_servers>{remote_servers}</remote_servers>
</yandex>
"#,
                data = path("data"),
                tmp = path("tmp"),
                user_files = path("user_files"),
                format_schemas = path("format_schemas"),
            ),
        )
        .expect("config");
        std::fs::write(
            root.join("users.xml"),
            r#"<?xml version="1.0"?>
<yandex>
    <profiles><default><insert_distributed_sync>1</insert_distributed_sync></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
        <profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
"#,
        )
        .expect("users");
        let log = std::fs::File::create(root.join("server.log")).expect("log");
        let child = Command::new(SERVER)
            .arg(format!(
                "--config-file={}",
                root.join("config.xml").display()
            ))
            .current_dir(root)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start clickhouse-server");
        let server = Server {
            http,
            child,
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let http = reqwest::blocking::Client::new();
        let start = Instant::now();
        loop {
            let ok = http
                .get(format!("http://127.0.0.1:{}/ping", self.http))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "clickhouse-server did not answer on port {}",
                self.http
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/liveops", self.http)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_here() -> bool {
    available(
        "clickhouse-server (Debian package)",
        Path::new(SERVER).exists(),
    )
}

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
    let server = Server::start(free_port(), free_port(), "");
    let ch = ClickHouse::connect(&server.url(), None, &[], TIMEOUT).expect("connect");
    assert_eq!(ch.migrate(NOW).expect("migrate"), [1]);
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
    let ports: Vec<(u16, u16)> = (0..2).map(|_| (free_port(), free_port())).collect();
    let replicas: String = ports
        .iter()
        .map(|(_, tcp)| {
            format!("<shard><replica><host>127.0.0.1</host><port>{tcp}</port></replica></shard>")
        })
        .collect();
    let remote = format!("<two>{replicas}</two>");
    let servers: Vec<Server> = ports
        .iter()
        .map(|(http, tcp)| Server::start(*http, *tcp, &remote))
        .collect();
    let shard_urls: Vec<String> = servers.iter().map(Server::url).collect();
    let ch =
        ClickHouse::connect(&shard_urls[0], Some("two"), &shard_urls, TIMEOUT).expect("connect");
    assert_eq!(ch.migrate(NOW).expect("migrate"), [1]);
    retention_story(&ch);
    // The rows are spread over both shards' local tables.
    for url in &shard_urls {
        let one = ClickHouse::connect(url, None, &[], TIMEOUT).expect("shard");
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
    )
    .expect("a good URL");
    let err = ch.migrate(NOW).expect_err("nobody listens").to_string();
    assert!(err.contains("ClickHouse is unreachable"), "{err}");
    let err = ClickHouse::connect("http://127.0.0.1:1/a", Some("x y"), &[], TIMEOUT)
        .expect_err("a bad cluster name")
        .to_string();
    assert!(err.contains("cluster name"), "{err}");
}

fn venv_python() -> PathBuf {
    let venv = std::env::var("LIVEOPS_TEST_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/liveops-venv",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    Path::new(&venv).join("bin/python")
}

/// The schema and the retention SQL, run on chdb (a current ClickHouse).
#[test]
fn the_sql_runs_on_a_current_clickhouse() {
    let python = venv_python();
    let has_chdb = python.exists()
        && Command::new(&python)
            .args(["-c", "import chdb"])
            .status()
            .is_ok_and(|s| s.success());
    if !available("chdb in the test venv", has_chdb) {
        return;
    }
    let mut steps: Vec<serde_json::Value> = schema::statements("liveops", &Layout::Single)
        .into_iter()
        .map(|sql| serde_json::json!({"run": sql}))
        .collect();
    steps.push(serde_json::json!({"run": format!(
        "INSERT INTO events VALUES ('shop', 'a', '$pageview', 'ann', {}, '{{}}', {NOW}), \
         ('shop', 'b', '$pageview', 'ann', {NOW}, '{{}}', {NOW})",
        NOW - 10 * DAY_MS
    )}));
    // The old event's day is 2026-11-26.
    steps.push(serde_json::json!({
        "expect": retention::old_days_query(&EVENTS, &Layout::Single, "shop", NOW - 7 * DAY_MS),
        "equals": "20261126",
    }));
    steps.push(serde_json::json!({
        "run": retention::drop_day(&EVENTS, &Layout::Single, "shop", 20_261_126),
    }));
    steps.push(serde_json::json!({"expect": "SELECT count() FROM events", "equals": "1"}));
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, serde_json::to_vec(&steps).expect("json")).expect("plan");
    let script = r#"
import json, sys
from chdb import session
s = session.Session(sys.argv[2])
s.query("CREATE DATABASE IF NOT EXISTS liveops")
s.query("USE liveops")
for step in json.load(open(sys.argv[1])):
    if "run" in step:
        s.query(step["run"])
    else:
        got = str(s.query(step["expect"], "CSV")).strip()
        assert got == step["equals"], (step, got)
print("ok")
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&plan)
        .arg(dir.path().join("db"))
        .output()
        .expect("run python");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "chdb refused the SQL:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
