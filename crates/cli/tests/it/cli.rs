//! The `liveops` binary as a newcomer uses it: real processes, real signals.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Backend, fresh_postgres_database, postgres_admin_url, storage_stories};

pub const BIN: &str = env!("CARGO_BIN_EXE_liveops");

/// Where a process-level test keeps its data: a data directory, plus its own
/// PostgreSQL database on that backend.
pub struct Place {
    pub dir: tempfile::TempDir,
    pub database_url: Option<String>,
}

impl Place {
    pub async fn new(backend: Backend) -> Place {
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                Some(fresh_postgres_database(&postgres_admin_url().expect("postgres url")).await)
            }
        };
        Place {
            dir: tempfile::tempdir().expect("tempdir"),
            database_url,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A `liveops` command pointed at this place, with a clean environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env_remove("LIVEOPS_SERVER")
            .env_remove("LIVEOPS_TOKEN")
            .env_remove("LIVEOPS_DATABASE_URL")
            .env("LIVEOPS_DATA_DIR", self.data_dir())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"))
            .current_dir(self.dir.path());
        if let Some(url) = &self.database_url {
            c.env("LIVEOPS_DATABASE_URL", url);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run liveops")
    }

    /// Runs a command that must succeed and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "liveops {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command with `--format json` and parses its answer.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("json output")
    }

    pub fn serve(&self) -> Server {
        serve_with(self.cmd(&["serve", "--listen", "127.0.0.1:0"]))
    }
}

/// Starts `cmd` (a `liveops serve` command) and waits for its banner.
pub fn serve_with(mut cmd: Command) -> Server {
    let mut child = cmd
        .env("LIVEOPS_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn liveops serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read banner");
    let base = line
        .trim()
        .strip_prefix("liveops listening on ")
        .unwrap_or_else(|| panic!("unexpected banner: {line:?}"))
        .to_owned();
    Server { child, base }
}

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) {
        self.signal("-TERM");
        let status = wait_for(&mut self.child, Duration::from_secs(30));
        assert!(status.success(), "server exited with {status}");
    }

    /// A crash: SIGKILL, no chance to flush anything.
    pub fn kill9(mut self) {
        self.signal("-KILL");
        let _ = wait_for(&mut self.child, Duration::from_secs(30));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(start.elapsed() < limit, "process did not exit in {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The admin setup a newcomer does: a user, a project, a token.
pub fn bootstrap(place: &Place) -> (String, String) {
    let user = place.json(&["user", "add", "ada@example.com", "--admin"]);
    assert!(
        user["password"].as_str().is_some_and(|p| p.len() >= 20),
        "{user}"
    );
    let project = place.json(&["project", "create", "My Shop", "--owner", "ada@example.com"]);
    assert_eq!(project["slug"], "my-shop");
    let token = place.json(&[
        "token",
        "create",
        "--user",
        "ada@example.com",
        "--project",
        "my-shop",
        "--scopes",
        "read,write,admin",
        "--expires-in",
        "30d",
    ]);
    (
        "my-shop".into(),
        token["token"].as_str().expect("token").to_owned(),
    )
}

/// Output to a reader that has gone away (`liveops … | head`) ends quietly
/// with success, as ripgrep's does: no panic, no backtrace.
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let place = Place {
        dir: tempfile::tempdir().expect("tempdir"),
        database_url: None,
    };
    for args in [
        &["config", "show"][..],
        &["config", "show", "--format", "json"],
    ] {
        let mut child = place
            .cmd(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn liveops");
        // The reader goes away before the first line is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} said: {stderr}");
    }
}

/// Completion scripts and manual pages come from the grammar itself: every
/// area is in them, the bash script parses, and the pages say what the exit
/// statuses mean.
#[test]
fn completions_and_manual_pages_cover_every_command() {
    let place = Place {
        dir: tempfile::tempdir().expect("tempdir"),
        database_url: None,
    };
    for shell in ["bash", "zsh", "fish"] {
        let script = place.ok(&["completions", shell]);
        for word in [
            "support",
            "analytics",
            "security",
            "improvement",
            "completions",
        ] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let bash = place.dir.path().join("liveops.bash");
    std::fs::write(&bash, place.ok(&["completions", "bash"])).expect("write");
    let checked = Command::new("bash")
        .arg("-n")
        .arg(&bash)
        .output()
        .expect("bash");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let out = place.run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));

    let dir = place.dir.path().join("man");
    let said = place.ok(&["man", dir.to_str().expect("utf-8 path")]);
    assert!(said.contains("manual pages in"), "{said}");
    let top = std::fs::read_to_string(dir.join("liveops.1")).expect("liveops.1");
    assert!(
        top.starts_with(".ie"),
        "roff: {}",
        &top[..top.len().min(80)]
    );
    assert!(top.contains("Exit status"), "{top}");
    for page in [
        "liveops-support.1",
        "liveops-security-audit.1",
        "liveops-completions.1",
    ] {
        assert!(dir.join(page).exists(), "{page}");
    }
    assert_eq!(place.ok(&["man"]), top);
}

/// Colour only on a terminal (a pseudo-terminal from util-linux's
/// `script` here), and never when `NO_COLOR` is set or into a pipe.
#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let on_a_terminal = |no_color: bool| {
        let mut c = Command::new("script");
        c.args(["-qec", &format!("{BIN} --no-such-flag"), "/dev/null"])
            .env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let out = c.output().expect("script (util-linux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_a_terminal(false);
    assert!(coloured.contains("unexpected argument"), "{coloured}");
    assert!(
        coloured.contains('\u{1b}'),
        "a terminal gets colour: {coloured:?}"
    );
    let plain = on_a_terminal(true);
    assert!(plain.contains("unexpected argument"), "{plain}");
    assert!(!plain.contains('\u{1b}'), "NO_COLOR: {plain:?}");
    let piped = Command::new(BIN)
        .arg("--no-such-flag")
        .env_remove("NO_COLOR")
        .output()
        .expect("liveops");
    assert_eq!(piped.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&piped.stderr).contains('\u{1b}'));
}

#[test]
fn every_command_has_help() {
    let place = Place {
        dir: tempfile::tempdir().expect("tempdir"),
        database_url: None,
    };
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["user"],
        &["user", "add"],
        &["project"],
        &["project", "create"],
        &["project", "add-member"],
        &["project", "list"],
        &["token"],
        &["token", "create"],
        &["token", "list"],
        &["token", "revoke"],
        &["migrate"],
        &["config"],
        &["completions"],
        &["man"],
        &["config", "show"],
        &["backup"],
        &["restore"],
        &["login"],
        &["whoami"],
        &["audit", "list"],
        &["dora"],
        &["review"],
        &["review", "show"],
        &["review", "action"],
        &["review", "launch"],
        &["report", "weekly"],
        &["capacity"],
        &["capacity", "set"],
        &["support"],
        &["support", "incident", "open"],
        &["feedback", "backlog"],
        &["releases", "train"],
        &["releases", "deploy"],
        &["performance", "slo"],
        &["security", "audit"],
        &["security", "osv"],
        &["scaling", "capacity"],
        &["improvement", "dora"],
        &["improvement", "report"],
    ];
    for cmd in commands {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = place.run(&args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    // The top level lists the ten areas by their names; the names from
    // before stay usable but out of the list.
    let top = place.run(&["--help"]);
    let top = String::from_utf8_lossy(&top.stdout);
    for area in liveops_core::Area::ALL {
        assert!(
            top.lines().any(|l| l.trim_start().starts_with(area.slug())),
            "{} is not a command:\n{top}",
            area.slug()
        );
    }
    assert!(!top.lines().any(|l| l.trim_start().starts_with("incident ")));
}

#[test]
fn bad_cli_input_gets_a_readable_error() {
    let place = Place {
        dir: tempfile::tempdir().expect("tempdir"),
        database_url: None,
    };
    let cases: &[(&[&str], &str)] = &[
        (
            &["user", "add", "not-an-email"],
            "not a valid e-mail address",
        ),
        (
            &["project", "create", "Shop", "--slug", "Bad Slug"],
            "not a valid project slug",
        ),
        (
            &[
                "token",
                "create",
                "--user",
                "a@example.com",
                "--project",
                "x",
                "--expires-in",
                "forever",
            ],
            "is not a duration",
        ),
        (
            &[
                "token",
                "create",
                "--user",
                "a@example.com",
                "--project",
                "x",
                "--scopes",
                "delete",
            ],
            "unknown scope",
        ),
        (&["whoami"], "no server"),
        (&["restore", "/nonexistent"], "no liveops backup"),
    ];
    for (args, message) in cases {
        let out = place.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(message),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

async fn newcomer_gets_from_nothing_to_an_api_call(backend: Backend) {
    let place = Place::new(backend).await;
    let server = place.serve();
    // Admin commands work while the server runs.
    let (slug, token) = bootstrap(&place);
    let http = reqwest::Client::new();
    let resp = http
        .get(server.url(&format!("/api/v1/projects/{slug}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("api call");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["name"], "My Shop");

    // Client commands reach the same server with the token.
    let whoami = place
        .cmd(&["whoami", "--format", "json", "--server", &server.base])
        .env("LIVEOPS_TOKEN", &token)
        .output()
        .expect("whoami");
    assert!(
        whoami.status.success(),
        "{}",
        String::from_utf8_lossy(&whoami.stderr)
    );
    let me: Value = serde_json::from_slice(&whoami.stdout).expect("json");
    assert_eq!(me["email"], "ada@example.com");
    // `login` remembers the server and token for later commands.
    let mut login = place
        .cmd(&["login", "--token-stdin", "--server", &server.base])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("login");
    login
        .stdin
        .take()
        .expect("stdin")
        .write_all(token.as_bytes())
        .expect("write token");
    assert!(login.wait().expect("login").success());
    // The saved token is the owner's alone, from the moment it is written.
    {
        use std::os::unix::fs::PermissionsExt;
        let creds = place.dir.path().join("xdg/liveops/credentials.toml");
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
        };
        assert_eq!(mode(&creds), 0o600);
        assert_eq!(mode(creds.parent().expect("dir")), 0o700);
    }
    // A project token cannot work on the instance; an instance token can.
    let unlocked = place.json(&["user", "unlock", "nobody@example.com"]);
    assert_eq!(unlocked["failures_forgotten"], 0);
    let instance = place.json(&[
        "token",
        "create",
        "--user",
        "ada@example.com",
        "--instance",
        "--scopes",
        "read,write,admin",
    ]);
    assert_eq!(instance["project"], "(instance)");
    let instance = instance["token"].as_str().expect("token").to_owned();
    for (token, want) in [(&token, 403), (&instance, 200)] {
        let resp = http
            .get(server.url("/api/v1/users"))
            .bearer_auth(token)
            .send()
            .await
            .expect("users");
        assert_eq!(resp.status().as_u16(), want);
    }
    let projects = place.json(&["project", "list"]);
    assert_eq!(projects[0]["slug"], "my-shop");
    let audit = place.ok(&["audit", "list", "--project", "my-shop"]);
    assert!(
        audit.contains("token.create") && audit.contains("project.create"),
        "{audit}"
    );

    let shown = place.ok(&["config", "show"]);
    assert!(shown.contains("data_dir"));
    if let Some(url) = &place.database_url {
        let with_password = url.replace("postgres@", "postgres:s3cret-pw@");
        let out = place
            .cmd(&["config", "show"])
            .env("LIVEOPS_DATABASE_URL", &with_password)
            .output()
            .expect("config show");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("s3cret-pw") && text.contains("redacted"),
            "{text}"
        );
    }
    server.stop();
}

async fn acknowledged_writes_survive_kill_9(backend: Backend) {
    let place = Place::new(backend).await;
    let (slug, token) = bootstrap(&place);
    let server = place.serve();
    let http = reqwest::Client::new();
    let tokens_url = |s: &Server| s.url(&format!("/api/v1/projects/{slug}/tokens"));
    let mut made = Vec::new();
    for i in 0..20 {
        let resp = http
            .post(tokens_url(&server))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "name": format!("crash-test-{i}"), "scopes": ["read"] }))
            .send()
            .await
            .expect("create");
        assert_eq!(resp.status(), 201);
        made.push(format!("crash-test-{i}"));
    }
    // No graceful shutdown: every acknowledged write must already be on disk.
    server.kill9();
    let server = place.serve();
    let list: Value = http
        .get(tokens_url(&server))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("tokens")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for name in made {
        assert!(names.contains(&name.as_str()), "{name} lost");
    }
    server.stop();
}

async fn one_server_per_data_directory(backend: Backend) {
    let place = Place::new(backend).await;
    let server = place.serve();
    let second = place.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr)
            .contains("another liveops server is using the data directory"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    server.stop();
    // After a clean stop the control socket is gone.
    assert!(!Path::new(&place.data_dir().join("control.sock")).exists());
}

/// The client commands against a running server: incidents, tickets,
/// maintenance, statistics and analytics, in tables and JSON.
async fn client_commands_work_against_a_server(backend: Backend) {
    let place = Place::new(backend).await;
    let (slug, token) = bootstrap(&place);
    let server = place.serve();
    let client = |args: &[&str]| {
        let mut c = place.cmd(args);
        c.env("LIVEOPS_SERVER", &server.base)
            .env("LIVEOPS_TOKEN", &token);
        let out = c.output().expect("run");
        assert!(
            out.status.success(),
            "liveops {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let json = |args: &[&str]| -> Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        serde_json::from_str(&client(&all)).expect("json")
    };
    let opened = json(&[
        "incident",
        "open",
        "--project",
        &slug,
        "Checkout down",
        "--severity",
        "sev1",
    ]);
    assert_eq!(opened["number"], 1);
    // The commands go by their area's name, and by the names from before.
    client(&["support", "incident", "ack", "--project", &slug, "1"]);
    client(&["incident", "resolve", "--project", &slug, "1"]);
    let stats = json(&["incident", "stats", "--project", &slug]);
    assert_eq!(stats["by_severity"][0]["incidents"], 1);
    assert!(stats["by_severity"][0]["mttr_secs"].is_number());
    assert!(client(&["incident", "stats", "--project", &slug]).contains("sev1"));
    let t = json(&[
        "ticket",
        "open",
        "--project",
        &slug,
        "Refund",
        "--requester",
        "cus@example.org",
        "--body",
        "Please",
    ]);
    assert_eq!(t["number"], 1);
    json(&[
        "ticket",
        "act",
        "--project",
        &slug,
        "1",
        "fixed_in",
        "--release",
        "1.2.3",
    ]);
    let fixes = json(&["incident", "fixed-by", "--project", &slug, "1.2.3"]);
    assert_eq!(fixes["tickets"][0]["number"], 1);
    let m = json(&[
        "maintenance",
        "schedule",
        "--project",
        &slug,
        "Upgrade",
        "--starts",
        "2099-01-01T00:00:00Z",
        "--ends",
        "2099-01-01T01:00:00Z",
    ]);
    let id = m["id"].as_str().expect("id").to_owned();
    assert_eq!(
        json(&["maintenance", "move", "--project", &slug, &id, "completed"])["status"],
        "completed"
    );
    assert!(client(&["maintenance", "list", "--project", &slug]).contains("Upgrade"));
    // Analytics: events from the ingest API, then the queries from the CLI.
    let ingest: Value = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/projects/{slug}/ingest-key")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    let server_key: Value = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/projects/{slug}/keys/server")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    let server_key = server_key["key"].as_str().expect("server key").to_owned();
    let batch: Vec<Value> = ["visit", "visit", "signup"]
        .iter()
        .enumerate()
        .map(|(i, e)| serde_json::json!({"event": e, "distinct_id": format!("u{}", i % 2), "uuid": format!("c{i}")}))
        .collect();
    let resp = reqwest::Client::new()
        .post(server.url("/batch/"))
        .json(&serde_json::json!({"api_key": ingest["ingest_key"], "batch": batch}))
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), 200);
    let f = json(&["analytics", "funnel", "--project", &slug, "visit", "signup"]);
    assert_eq!(f["steps"][0]["persons"], 2);
    assert_eq!(f["steps"][1]["persons"], 1);
    let table = client(&[
        "analytics",
        "funnel",
        "--project",
        &slug,
        "visit",
        "signup",
        "--dropoff-after",
        "1",
    ]);
    assert!(
        table.contains("1 dropped off after step 1") && table.contains("then (nothing more) (1)"),
        "{table}"
    );
    let filtered = |filter: &str| {
        let t = json(&["analytics", "trends", "--project", &slug, "--where", filter]);
        t["series"][0]["points"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["events"].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    assert_eq!(filtered("plan!?"), 3);
    assert_eq!(filtered("plan=pro"), 0);
    assert!(client(&["analytics", "active", "--project", &slug]).contains("DAU"));
    assert!(client(&["analytics", "events", "--project", &slug]).contains("visit"));
    let sticky = json(&["analytics", "stickiness", "--project", &slug]);
    assert_eq!(sticky[0]["persons"], 2, "both active on one day");
    let life = json(&[
        "analytics",
        "lifecycle",
        "--project",
        &slug,
        "--interval",
        "day",
        "--periods",
        "3",
    ]);
    assert_eq!(life[2]["new"], 2, "{life}");
    // Performance: spans over OTLP, then routes, a rule and an SLO from the CLI.
    let now = jiff::Timestamp::now().as_nanosecond() as i64;
    let spans: Vec<Value> = (0..20)
        .map(|i: i64| serde_json::json!({"traceId": format!("{:032x}", i + 1), "spanId": format!("{:016x}", i + 1),
            "name": "GET /items", "kind": 2, "startTimeUnixNano": (now - 2_000_000_000 + i).to_string(),
            "endTimeUnixNano": (now - 2_000_000_000 + i + 30_000_000).to_string(),
            "attributes": [{"key": "http.route", "value": {"stringValue": "/items"}},
                           {"key": "http.request.method", "value": {"stringValue": "GET"}}]}))
        .collect();
    let resp = reqwest::Client::new()
        .post(server.url("/v1/traces"))
        .bearer_auth(&server_key)
        .header("content-type", "application/json")
        .body(
            serde_json::json!({"resourceSpans": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "api"}}]},
            "scopeSpans": [{"spans": spans}]}]})
            .to_string(),
        )
        .send()
        .await
        .expect("spans");
    assert_eq!(resp.status(), 200);
    let routes = json(&["perf", "routes", "--project", &slug, "--last", "1h"]);
    assert_eq!(routes[0]["route"], "GET /items");
    assert_eq!(routes[0]["requests"], 20);
    assert!(client(&["perf", "report", "--project", &slug]).contains("SLOWEST ROUTES"));
    let rule = json(&[
        "perf",
        "rule",
        "create",
        "--project",
        &slug,
        "slow items",
        "--metric",
        "p95_ms",
        "--above",
        "500",
        "--for",
        "5m",
        "--route",
        "GET /items",
    ]);
    assert_eq!(rule["state"], "ok");
    assert!(client(&["perf", "rule", "list", "--project", &slug]).contains("slow items"));
    let slo = json(&[
        "slo",
        "create",
        "--project",
        &slug,
        "items fast",
        "--objective",
        "0.99",
        "--latency-ms",
        "100",
    ]);
    assert_eq!(slo["kind"], "latency");
    assert_eq!(slo["good"], 20);
    assert!(client(&["slo", "list", "--project", &slug]).contains("items fast"));
    let out = place.dir.path().join("events.parquet");
    json(&[
        "analytics",
        "export",
        "--project",
        &slug,
        "--out",
        &out.display().to_string(),
    ]);
    assert!(std::fs::read(&out).expect("parquet").starts_with(b"PAR1"));
    let refused = place
        .cmd(&["analytics", "delete-person", "--project", &slug, "u0"])
        .env("LIVEOPS_SERVER", &server.base)
        .env("LIVEOPS_TOKEN", &token)
        .output()
        .expect("run");
    assert!(!refused.status.success(), "deleting needs --yes");
    assert_eq!(
        json(&[
            "analytics",
            "delete-person",
            "--project",
            &slug,
            "u0",
            "--yes"
        ])["events_deleted"],
        2
    );
    server.stop();
}

storage_stories!(
    newcomer_gets_from_nothing_to_an_api_call,
    client_commands_work_against_a_server,
    acknowledged_writes_survive_kill_9,
    one_server_per_data_directory,
);
