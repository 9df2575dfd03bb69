//! What the benchmarks share: a `liveops serve` of their own on a fresh
//! data directory, with a user, a project, an API token and an ingest key;
//! the server's memory; best-of-N timing; and a small random generator.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// SIGTERM, then waits for the process to end.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn liveops_bin() -> PathBuf {
    // The example sits in target/<profile>/examples; the binary one up.
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("liveops"))
        .unwrap_or_else(|| PathBuf::from("liveops"))
}

pub fn liveops(data: &Path, args: &[&str]) -> Value {
    let out = Command::new(liveops_bin())
        .args(args)
        .args(["--format", "json"])
        .env("LIVEOPS_DATA_DIR", data)
        .env_remove("LIVEOPS_DATABASE_URL")
        .output()
        .expect("run liveops");
    assert!(
        out.status.success(),
        "liveops {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

pub async fn best_of<F, Fut>(repeat: usize, mut f: F) -> (f64, Value)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut best = f64::MAX;
    let mut last = Value::Null;
    for _ in 0..repeat {
        let t = Instant::now();
        last = f().await;
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, last)
}

/// A benchmark's server and what it sends with.
pub struct Started {
    /// Declared before `dir`: fields drop in order, and the server must stop
    /// (and close its files) before its data directory is removed.
    pub server: Server,
    /// The data directory's parent, removed when dropped.
    pub dir: tempfile::TempDir,
    /// The data directory: `dir`'s `data`, or a kept one (`start_on`).
    pub data: PathBuf,
    /// An admin API token for the project `bench`.
    pub token: String,
    /// The public browser key (analytics).
    pub ingest_key: String,
    /// The server key (OTLP).
    pub server_key: String,
}

/// The telemetry backend a benchmark asked for: for `clickhouse`, Debian's
/// `clickhouse-server` started on free ports (stopped when dropped) and the
/// setting that points liveops at it; nothing for `duckdb`.
pub async fn backend(
    name: &str,
) -> (
    Option<liveops_telemetry::clickhouse::testing::Server>,
    Vec<(&'static str, String)>,
) {
    let clickhouse = match name {
        "duckdb" => None,
        "clickhouse" => Some(
            tokio::task::spawn_blocking(|| {
                use liveops_telemetry::clickhouse::testing::Server;
                Server::start()
            })
            .await
            .expect("start clickhouse-server"),
        ),
        other => panic!("--backend is duckdb or clickhouse, not {other}"),
    };
    let env = clickhouse
        .iter()
        .map(|c| ("LIVEOPS_CLICKHOUSE_URL", c.url()))
        .collect();
    (clickhouse, env)
}

/// Starts a server on a fresh data directory with a user, a project
/// `bench`, an admin token and the project's keys, and `env` as more
/// settings (`LIVEOPS_*` variables). Rate limits are lifted: the
/// benchmarks measure throughput, not the limits.
pub async fn start_with(env: &[(&str, String)]) -> Started {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    liveops(&data, &["user", "add", "bench@example.com", "--admin"]);
    let created = liveops(
        &data,
        &["project", "create", "Bench", "--owner", "bench@example.com"],
    );
    let ingest_key = created["ingest_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let server_key = created["server_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let token = admin_token(&data);
    let server = serve(&data, env);
    Started {
        dir,
        data,
        server,
        token,
        ingest_key,
        server_key,
    }
}

/// A new admin API token for the project `bench` in `data`.
fn admin_token(data: &Path) -> String {
    liveops(
        data,
        &[
            "token",
            "create",
            "--user",
            "bench@example.com",
            "--project",
            "bench",
            "--scopes",
            "read,write,admin",
        ],
    )["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Starts a server on a data directory a benchmark kept (`--keep-data`),
/// which holds the user and the project `bench` already: a new admin
/// token, and new browser and server keys (the old ones were shown once).
/// The directory stays when the benchmark ends.
pub async fn start_on(data: PathBuf, env: &[(&str, String)]) -> Started {
    let token = admin_token(&data);
    let server = serve(&data, env);
    let http = reqwest::Client::new();
    let ready = format!("{}/readyz", server.base);
    while !http
        .get(&ready)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut keys = Vec::new();
    for purpose in ["browser", "server"] {
        let key: Value = http
            .post(format!(
                "{}/api/v1/projects/bench/keys/{purpose}",
                server.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .expect("new key")
            .json()
            .await
            .unwrap_or_default();
        keys.push(key["key"].as_str().unwrap_or_default().to_owned());
    }
    Started {
        dir: tempfile::tempdir().expect("tempdir"),
        data,
        server,
        token,
        ingest_key: keys[0].clone(),
        server_key: keys[1].clone(),
    }
}

/// Starts `liveops serve` on `data` with the benchmarks' settings.
pub fn serve(data: &Path, env: &[(&str, String)]) -> Server {
    let mut child = Command::new(liveops_bin())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("LIVEOPS_DATA_DIR", data)
        .env("LIVEOPS_LOG", "warn")
        .env("LIVEOPS_REQUEST_TIMEOUT_SECS", "600")
        .env("LIVEOPS_QUERY_TIMEOUT_SECS", "600")
        .env("LIVEOPS_INGEST_EVENTS_PER_SEC", "100000000")
        .env("LIVEOPS_INGEST_SPANS_PER_SEC", "100000000")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start liveops");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    Server {
        base: line
            .trim()
            .trim_start_matches("liveops listening on ")
            .to_owned(),
        child,
    }
}

/// A restart on the same data directory.
pub struct Restarted {
    /// From starting the process to the first 200 from `/readyz`.
    pub ready_secs: f64,
    /// The server's RSS after five idle seconds.
    pub idle_rss_mib: f64,
}

/// Stops `started`'s server (SIGTERM, as a deploy would), starts another
/// on its data directory in its place, and times it to `/readyz`.
pub async fn restart(started: &mut Started, env: &[(&str, String)]) -> Restarted {
    started.server.stop();
    let t = Instant::now();
    started.server = serve(&started.data, env);
    let http = reqwest::Client::new();
    let ready = format!("{}/readyz", started.server.base);
    while !http
        .get(&ready)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(600),
            "the restarted server never got ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let ready_secs = t.elapsed().as_secs_f64();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    Restarted {
        ready_secs,
        idle_rss_mib: rss_kib(started.server.child.id()) as f64 / 1024.0,
    }
}

/// What sending every body took.
pub struct Sent {
    pub secs: f64,
    pub failed: u64,
    pub peak_rss_mib: f64,
}

/// Posts every body to `url` over `connections` connections with the given
/// headers, retrying 429 and 503, while sampling the server's RSS.
pub async fn send_all(
    bodies: Arc<Vec<Vec<u8>>>,
    url: &str,
    headers: &[(&'static str, String)],
    connections: usize,
    pid: u32,
) -> Sent {
    let make = Arc::new(move |i: usize| bodies.get(i).cloned());
    send_made(make, url, headers, connections, pid).await
}

/// Like [`send_all`], with body `i` made by `make` as it is sent (none
/// past the last), so that large runs never hold every body at once.
pub async fn send_made(
    make: Arc<dyn Fn(usize) -> Option<Vec<u8>> + Send + Sync>,
    url: &str,
    headers: &[(&'static str, String)],
    connections: usize,
    pid: u32,
) -> Sent {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(rss_kib(pid)));
    let sampling = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (http, make, next, failed) = (http.clone(), make.clone(), next.clone(), failed.clone());
        let (url, headers) = (url.to_owned(), headers.to_vec());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = make(i) else { break };
                loop {
                    let mut req = http.post(&url).body(body.clone());
                    for (k, v) in &headers {
                        req = req.header(*k, v);
                    }
                    match req.send().await {
                        Ok(r) if r.status().is_success() => break,
                        Ok(r) if r.status() == 429 || r.status() == 503 => {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = started.elapsed().as_secs_f64();
    sampling.abort();
    Sent {
        secs,
        failed: failed.load(Ordering::Relaxed),
        peak_rss_mib: peak.load(Ordering::Relaxed) as f64 / 1024.0,
    }
}
