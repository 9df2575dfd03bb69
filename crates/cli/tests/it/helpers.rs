//! `spawn_app()` and friends: a real server on port 0 with a fresh data
//! directory, on SQLite or on its own PostgreSQL database.

use std::net::SocketAddr;
use std::path::PathBuf;

use liveops_core::{Email, ProjectName, Role, Scopes, Slug};
use liveops_server::clock::{Clock, ShiftedClock};
use liveops_server::config::Secret;
use liveops_server::state::AppState;
use liveops_server::{Application, Config, access, auth};
use liveops_store::access::User;
use liveops_store::audit::{Actor, ActorKind};
use liveops_store::projects::Project;
use serde_json::Value;
use tokio::sync::oneshot;

/// Where a test keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests may use, if any.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("LIVEOPS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Creates an empty database of its own for one test and returns its url.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    let name = format!("liveops_test_{}", uuid_like());
    let admin = liveops_store::Db::connect(admin_url)
        .await
        .expect("connect to LIVEOPS_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin.pool())
        .await
        .expect("create test database");
    admin.close().await;
    let mut url = url::Url::parse(admin_url).expect("postgres url");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn uuid_like() -> String {
    liveops_store::new_id()
}

pub struct TestApp {
    pub base: String,
    /// The OTLP-only listener, when the config asked for one.
    pub otlp_base: Option<String>,
    pub state: AppState,
    /// The server's clock: real time, which a story may move forward.
    pub clock: std::sync::Arc<ShiftedClock>,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// A config for a fresh server on `backend`, listening on port 0.
pub async fn test_config(backend: Backend, dir: &std::path::Path) -> Config {
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let admin = postgres_admin_url().expect("LIVEOPS_TEST_POSTGRES_URL");
            Some(Secret::new(fresh_postgres_database(&admin).await))
        }
    };
    Config {
        data_dir: dir.join("data"),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url,
        // The stories' webhook receivers listen on loopback, which the
        // outbound client refuses unless it is allowed; the security
        // stories clear this to see the refusal.
        outbound_allow: vec!["127.0.0.0/8".into(), "::1".into()],
        ..Config::default()
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(backend, dir.path()).await;
    tweak(&mut config);
    let clock = std::sync::Arc::new(ShiftedClock::new());
    let app = Application::build_with_clock(config.clone(), clock.clone())
        .await
        .expect("build app");
    let addr = app.local_addr();
    let otlp_base = app.otlp_addr().map(|a| format!("http://{a}"));
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        base: format!("http://{addr}"),
        otlp_base,
        state,
        clock,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        stop: Some(stop),
        task: Some(task),
        _dir: dir,
    }
}

pub fn test_actor() -> Actor {
    Actor {
        kind: ActorKind::System,
        name: "test".into(),
        ip: None,
    }
}

impl TestApp {
    /// Now, by the server's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Ends the server the way a crash would: it stops at once, without
    /// the clean-up a graceful stop does (its job leases stay taken).
    pub async fn crash(mut self) {
        self.stop = None;
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stops the server the graceful way and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }

    pub async fn user(&self, email: &str, password: &str, admin: bool) -> User {
        let hash = auth::password::hash(password).expect("hash");
        access::create_user(
            &self.state.db,
            &*self.state.clock,
            &test_actor(),
            &Email::parse(email).expect("email"),
            &hash,
            admin,
        )
        .await
        .expect("create user")
    }

    /// A project owned by `owner`, with its ingest key.
    pub async fn project(&self, name: &str, owner: &User) -> (Project, String) {
        let name = ProjectName::parse(name).expect("name");
        let slug = Slug::from_name(&name).expect("slug");
        let created = access::create_project(
            &self.state.db,
            &*self.state.clock,
            &test_actor(),
            &name,
            &slug,
            Some(owner),
        )
        .await
        .expect("create project");
        (created.project, created.ingest_key)
    }

    pub async fn member(&self, project: &Project, user: &User, role: Role) {
        access::set_member(
            &self.state.db,
            &*self.state.clock,
            &test_actor(),
            project,
            user,
            role,
        )
        .await
        .expect("set member");
    }

    /// `{name}@example.com`, a responder in `project`.
    pub async fn responder(&self, project: &Project, name: &str) -> User {
        let u = self
            .user(
                &format!("{name}@example.com"),
                "correct horse battery",
                false,
            )
            .await;
        self.member(project, &u, Role::Responder).await;
        u
    }

    /// An instance token for `user` (not bound to a project), valid for a day.
    pub async fn instance_token(&self, user: &User, scopes: &str) -> String {
        let scopes: Scopes = scopes.parse().expect("scopes");
        access::create_token(
            &self.state.db,
            &*self.state.clock,
            &test_actor(),
            liveops_server::access::TokenSpec {
                user,
                project: None,
                name: "test",
                scopes: &scopes,
                expires_at: self.now_ms() + 86_400_000,
            },
        )
        .await
        .expect("create token")
        .secret
    }

    /// A fresh key of `purpose` ("browser", "server" or "mail") for a project.
    pub async fn key(&self, project: &Project, purpose: &str) -> String {
        access::rotate_key(
            &self.state.db,
            &*self.state.clock,
            &test_actor(),
            project,
            purpose.parse().expect("purpose"),
        )
        .await
        .expect("rotate key")
    }

    /// A token for `user` in `project`, valid for a day.
    pub async fn token(&self, user: &User, project: &Project, scopes: &str) -> String {
        self.token_expiring(user, project, scopes, self.now_ms() + 86_400_000)
            .await
    }

    pub async fn token_expiring(
        &self,
        user: &User,
        project: &Project,
        scopes: &str,
        expires_at: i64,
    ) -> String {
        let scopes: Scopes = scopes.parse().expect("scopes");
        access::create_token(
            &self.state.db,
            &*self.state.clock,
            &test_actor(),
            liveops_server::access::TokenSpec {
                user,
                project: Some(project),
                name: "test",
                scopes: &scopes,
                expires_at,
            },
        )
        .await
        .expect("create token")
        .secret
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        status_json(resp).await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        status_json(req.send().await.expect("request")).await
    }

    /// Runs the `liveops` CLI against this server with `token`, and returns
    /// what it printed; a failure fails the test with its error output.
    pub fn cli(&self, token: &str, args: &[&str]) -> String {
        let out = std::process::Command::new(crate::cli::BIN)
            .args(args)
            .env("LIVEOPS_SERVER", &self.base)
            .env("LIVEOPS_TOKEN", token)
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .output()
            .expect("run liveops");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// POSTs a raw body (SARIF, CSV, PEM: whatever the endpoint reads).
    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let req = self.http.post(self.url(path)).bearer_auth(token).body(body);
        status_json(req.send().await.expect("request")).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn status_json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// Asserts that a response is a problem-details body with `status`.
pub fn assert_problem(got: &(u16, Value), status: u16) {
    assert_eq!(got.0, status, "unexpected answer: {}", got.1);
    assert_eq!(got.1["status"], status, "not problem details: {}", got.1);
    assert!(got.1["title"].is_string(), "no title: {}", got.1);
}

/// Where tests may write files worth keeping, such as screenshots.
pub fn artifacts_dir(kind: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(kind);
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// Runs the same async story on SQLite and, when LIVEOPS_TEST_POSTGRES_URL
/// is set, on PostgreSQL. Each story is `async fn name(backend: Backend)`.
macro_rules! storage_stories {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story($crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    if $crate::helpers::postgres_admin_url().is_none() {
                        // In CI a story that cannot reach PostgreSQL fails:
                        // a skipped story must never look like a passed one.
                        assert!(
                            std::env::var("CI").map_or(true, |v| v != "true"),
                            "CI=true but LIVEOPS_TEST_POSTGRES_URL is not set: start PostgreSQL (scripts/setup.sh does)"
                        );
                        eprintln!("LIVEOPS_TEST_POSTGRES_URL is not set; scripts/test.sh sets it");
                        return;
                    }
                    super::$story($crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}
pub(crate) use storage_stories;

/// What a sink has received: the path name and body of each POST.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>;

/// An HTTP endpoint that records every POST it receives, standing in for a
/// team's webhook receiver (or Slack).
pub struct Sink {
    pub base: String,
    received: Received,
    _task: tokio::task::JoinHandle<()>,
}

impl Sink {
    pub async fn start() -> Sink {
        use axum::extract::{Path as AxPath, State as AxState};
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let app =
            axum::Router::new()
                .route(
                    "/{name}",
                    axum::routing::post(
                        |AxState(r): AxState<Received>,
                         AxPath(name): AxPath<String>,
                         body: String| async move {
                            let v: Value =
                                serde_json::from_str(&body).unwrap_or(Value::String(body));
                            // A status page's subscription challenge is
                            // answered, as a real receiver would, and not
                            // counted among the messages.
                            if v["type"] == "subscription.challenge" {
                                return v["challenge"].as_str().unwrap_or_default().to_owned();
                            }
                            r.lock().unwrap_or_else(|p| p.into_inner()).push((name, v));
                            "ok".to_owned()
                        },
                    ),
                )
                .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind sink");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sink {
            base,
            received,
            _task: task,
        }
    }

    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// Everything posted to `/{name}` so far.
    pub fn got(&self, name: &str) -> Vec<Value> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Waits until `/{name}` has received at least `n` posts, or `limit` passes.
    pub async fn wait_for(&self, name: &str, n: usize, limit: std::time::Duration) -> Vec<Value> {
        let start = std::time::Instant::now();
        loop {
            let got = self.got(name);
            if got.len() >= n || start.elapsed() > limit {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// The Python venv `scripts/setup.sh` built, with the real clients.
/// Runs an SDK `script` in the test venv's Python with the server's base
/// URL and a key as its arguments; it prints a JSON report whose `errors`
/// must be empty, which is returned.
pub async fn run_sdk_script(script: &'static str, base: &str, key: &str) -> serde_json::Value {
    let (base, key) = (base.to_owned(), key.to_owned());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(venv().join("bin").join("python"))
            .args(["-c", script, &base, &key])
            .output()
            .expect("run python")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(
        report["errors"],
        serde_json::json!([]),
        "the SDK saw errors"
    );
    report
}

pub fn venv() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var("LIVEOPS_TEST_VENV").expect(
        "LIVEOPS_TEST_VENV is not set: run the tests with scripts/test.sh, which builds the venv",
    ))
}

/// A project `shop` owned by root@example.com, with an admin token and its
/// server key (what OTLP exporters send with).
pub async fn shop_with_server_key(app: &TestApp) -> (String, String) {
    let (admin, _) = shop_with_ingest_key(app).await;
    let key = server_key(app, &admin).await;
    (admin, key)
}

/// A fresh server key for `shop`, made through the API with `admin`.
pub async fn server_key(app: &TestApp, admin: &str) -> String {
    let (status, key) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/projects/shop/keys/server",
            admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{key}");
    key["key"].as_str().expect("key").to_owned()
}

/// A project `shop` owned by root@example.com, with an admin token and its
/// ingest key.
pub async fn shop_with_ingest_key(app: &TestApp) -> (String, String) {
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &root).await;
    let admin = app.token(&root, &shop, "read,write,admin").await;
    let (status, key) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/projects/shop/ingest-key",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{key}");
    (admin, key["ingest_key"].as_str().expect("key").to_owned())
}

/// Sends one event to the Sentry `store` intake with the DSN's key (`dsn`
/// as the DSN endpoint answers it); the status it got.
pub async fn store_event(app: &TestApp, dsn: &Value, event: &Value) -> u16 {
    app.http
        .post(app.url(&format!("/api/{}/store/", dsn["number"])))
        .header(
            "x-sentry-auth",
            format!(
                "Sentry sentry_key={}",
                dsn["public_key"].as_str().unwrap_or("")
            ),
        )
        .body(event.to_string())
        .send()
        .await
        .expect("store")
        .status()
        .as_u16()
}
