//! For tests: `clickhouse-server` processes (Debian's package) started on
//! free loopback ports, each with a config and data folder of its own, alone
//! or as the shards of one cluster. Not used by liveops itself.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Says whether a test can run here; in CI, a missing part fails it.
pub fn available(what: &str, found: bool) -> bool {
    if !found {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but {what} is missing: run scripts/setup.sh"
        );
        eprintln!("{what} is missing; scripts/setup.sh installs it");
    }
    found
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One `clickhouse-server` process, stopped when dropped.
#[derive(Debug)]
pub struct Server {
    pub http: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

pub const SERVER: &str = "/usr/sbin/clickhouse-server";

impl Server {
    /// Starts a server alone on free ports. A port that another process
    /// took between being found free and being bound makes the server
    /// exit; it is then started again on fresh ports.
    pub fn start() -> Server {
        retrying(|| Server::try_start(free_port(), free_port(), ""))
    }

    /// Starts a server on `http` and `tcp`; `remote_servers` is put in its
    /// config. It keeps Tokyo time, so days taken from the server's zone
    /// rather than UTC would show. Says why when it exits or does not
    /// answer, with the end of its log.
    fn try_start(http: u16, tcp: u16, remote_servers: &str) -> Result<Server, String> {
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
        let mut server = Server {
            http,
            child,
            _dir: dir,
        };
        server.wait_ready().map(|()| server)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let http = reqwest::blocking::Client::new();
        let start = Instant::now();
        loop {
            let ok = http
                .get(format!("http://127.0.0.1:{}/ping", self.http))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "clickhouse-server on port {} exited ({status}):\n{}",
                    self.http,
                    self.log_tail()
                ));
            }
            if start.elapsed() > Duration::from_secs(120) {
                return Err(format!(
                    "clickhouse-server did not answer on port {} in 120 s:\n{}",
                    self.http,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last lines the server logged.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self._dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/liveops", self.http)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn server_here() -> bool {
    available(
        "clickhouse-server (Debian package)",
        Path::new(SERVER).exists(),
    )
}

/// Two servers, each one shard of the cluster `two`; queries go through
/// the first.
pub fn start_cluster() -> Vec<Server> {
    retrying(|| {
        let ports: Vec<(u16, u16)> = (0..2).map(|_| (free_port(), free_port())).collect();
        let replicas: String = ports
            .iter()
            .map(|(_, tcp)| {
                format!(
                    "<shard><replica><host>127.0.0.1</host><port>{tcp}</port></replica></shard>"
                )
            })
            .collect();
        let remote = format!("<two>{replicas}</two>");
        ports
            .iter()
            .map(|(http, tcp)| Server::try_start(*http, *tcp, &remote))
            .collect()
    })
}

/// Up to three tries of `start`, each on fresh ports; panics with every
/// try's reason.
fn retrying<T>(start: impl Fn() -> Result<T, String>) -> T {
    let mut reasons = Vec::new();
    for _ in 0..3 {
        match start() {
            Ok(started) => return started,
            Err(reason) => reasons.push(reason),
        }
    }
    panic!(
        "clickhouse-server did not start:\n{}",
        reasons.join("\n---\n")
    )
}

/// The venv's Python, where `chdb` is installed.
pub fn venv_python() -> std::path::PathBuf {
    let venv = std::env::var("LIVEOPS_TEST_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/liveops-venv",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    Path::new(&venv).join("bin/python")
}

/// True when the venv has `chdb` (in CI, a missing one fails).
pub fn chdb_here() -> bool {
    let python = venv_python();
    let has = python.exists()
        && Command::new(&python)
            .args(["-c", "import chdb"])
            .status()
            .is_ok_and(|s| s.success());
    available("chdb in the test venv", has)
}

/// A step for [`run_on_chdb`]: a statement to run, or a query whose CSV
/// answer must equal `equals`.
#[derive(Debug, Clone)]
pub enum ChdbStep {
    Run(String),
    Expect { query: String, equals: String },
}

/// Runs `steps` in order in chdb, in a database `liveops` of a fresh
/// session; panics with the statement chdb refused, or the answer that
/// differed.
pub fn run_on_chdb(steps: &[ChdbStep]) {
    let plan: Vec<serde_json::Value> = steps
        .iter()
        .map(|s| match s {
            ChdbStep::Run(sql) => serde_json::json!({ "run": sql }),
            ChdbStep::Expect { query, equals } => {
                serde_json::json!({ "expect": query, "equals": equals })
            }
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plan.json");
    std::fs::write(&file, serde_json::to_vec(&plan).expect("json")).expect("plan");
    let script = r#"
import json, sys
from chdb import session
s = session.Session(sys.argv[2])
s.query("CREATE DATABASE IF NOT EXISTS liveops")
s.query("USE liveops")
for step in json.load(open(sys.argv[1])):
    sql = step.get("run") or step["expect"]
    try:
        got = str(s.query(sql, "CSV")).strip()
    except Exception as e:
        print("refused:", sql, "\n", e)
        sys.exit(1)
    if "expect" in step and got != step["equals"]:
        print("answered", repr(got), "not", repr(step["equals"]), "to", sql)
        sys.exit(1)
print("ok")
"#;
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(script)
        .arg(&file)
        .arg(dir.path().join("db"))
        .output()
        .expect("run python");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("ok"),
        "chdb:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
