//! Building and running the server: stores, listener, routes, jobs and a
//! graceful shutdown. Tests drive the same `Application` the binary runs.

use std::fs::File;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use liveops_store::Db;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tower_http::timeout::TimeoutLayer;

use crate::config::Config;
use crate::state::AppState;
use crate::support::errors;
use crate::{api, control, feedback, ingest, jobs, system, ui};

/// Opens the state database the configuration names.
pub async fn open_state(config: &Config) -> anyhow::Result<Db> {
    let db = match &config.database_url {
        Some(url) => Db::connect(url.expose())
            .await
            .context("could not connect to PostgreSQL")?,
        None => {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!(
                    "could not create data directory {}",
                    config.data_dir.display()
                )
            })?;
            Db::open_sqlite(&config.state_db_path())
                .await
                .with_context(|| format!("could not open {}", config.state_db_path().display()))?
        }
    };
    Ok(db)
}

/// Holds the data directory for one server; released on drop.
#[derive(Debug)]
pub struct DataDirLock(#[allow(dead_code)] File);

impl DataDirLock {
    /// Takes the lock, or says which server already holds it.
    pub fn acquire(config: &Config) -> anyhow::Result<DataDirLock> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "could not create data directory {}",
                config.data_dir.display()
            )
        })?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(config.lock_path())
            .with_context(|| format!("could not open {}", config.lock_path().display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock(file)),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another liveops server is using the data directory {}",
                config.data_dir.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).context("could not lock the data directory")
            }
        }
    }

    /// True when a server holds the data directory right now.
    pub fn held_by_server(config: &Config) -> bool {
        if !config.lock_path().exists() {
            return false;
        }
        match File::options().write(true).open(config.lock_path()) {
            Ok(f) => matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
            Err(_) => false,
        }
    }
}

/// The text whose sealed form tells whether two nodes share a key.
const KEY_CHECK: &str = "liveops sealing key check";

/// This node's name among those sharing the state database, kept in the
/// data directory: a server restarted on the same directory is the same
/// node, and takes its job leases back at once. The directory lock makes
/// sure one process at a time holds the name.
fn node_id(config: &Config) -> anyhow::Result<String> {
    let path = config.data_dir.join("node.id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    }
    let id = liveops_store::new_id();
    std::fs::write(&path, format!("{id}\n"))
        .with_context(|| format!("could not write {}", path.display()))?;
    Ok(id)
}

/// The whole HTTP surface, answering the API's old paths too.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback_service(routes(state))
        .layer(middleware::from_fn(crate::aliases::rewrite))
}

/// Every route, under its current path.
fn routes(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.request_timeout_secs);
    // Reads answer with the error events this node has acknowledged.
    let caught_up = middleware::from_fn_with_state(state.clone(), errors::intake::caught_up);
    let api = api::router()
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(caught_up.clone());
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/status/{project}", get(ui::status::status))
        .route("/status/{project}/subscribe", post(ui::status::subscribe))
        .route(
            "/status/{project}/confirm",
            get(ui::status::confirm_form).post(ui::status::confirm),
        )
        .route(
            "/status/{project}/unsubscribe",
            get(ui::status::unsubscribe_form).post(ui::status::unsubscribe),
        )
        .route("/setup", get(ui::setup::form).post(ui::setup::submit))
        .route(
            "/act/{token}",
            get(ui::act::confirm_form).post(ui::act::act),
        )
        .route("/feeds/{secret}", get(api::feeds::calendar))
        .route("/feedback/widget.js", get(feedback::public::widget))
        .route("/feedback/{project}/form", get(feedback::public::form))
        .route("/changelog/{project}", get(ui::changelog::page))
        .route("/changelog/{project}/feed.atom", get(ui::changelog::feed))
        .merge(ingest(state.clone()))
        .merge(api)
        .merge(ui::router(state.clone()).layer(caught_up))
        .fallback(fallback)
        .layer(middleware::from_fn(system::problem_for_bare_errors))
        .layer(middleware::from_fn_with_state(state.clone(), system::track))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            system::security_headers,
        ))
        .with_state(state)
}

/// Every path that takes data in from outside without a login (SDKs,
/// exporters, alert senders, mail providers, Git hosts and CI, the feedback
/// form), each holding one of the ingest slots while it runs.
fn ingest(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/ingest/alerts",
            post(ingest::support::alerts_by_header).layer(DefaultBodyLimit::max(4 * 1024 * 1024)),
        )
        .route(
            "/ingest/alerts/{secret}",
            post(ingest::support::alerts_by_path).layer(DefaultBodyLimit::max(4 * 1024 * 1024)),
        )
        .route(
            "/ingest/email",
            post(ingest::support::inbound_email).layer(DefaultBodyLimit::max(1024 * 1024)),
        )
        .route(
            "/ingest/email/{secret}",
            post(ingest::support::inbound_email_by_path).layer(DefaultBodyLimit::max(1024 * 1024)),
        )
        .route(
            "/ingest/slack/{project}",
            post(ingest::support::slack_actions).layer(DefaultBodyLimit::max(256 * 1024)),
        )
        .route(
            "/ingest/github/{project}",
            post(ingest::releases::github).layer(DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route(
            "/ingest/gitlab/{project}",
            post(ingest::releases::gitlab).layer(DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route(
            "/ingest/deployments/{project}",
            post(ingest::releases::ci).layer(DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route(
            "/feedback/{project}",
            post(feedback::public::post).layer(DefaultBodyLimit::max(64 * 1024)),
        )
        .merge(analytics_ingest())
        .merge(sentry_ingest())
        .route_layer(middleware::from_fn_with_state(state, system::ingest_gate))
}

/// The paths the PostHog and Segment SDKs send to, with and without a
/// trailing slash, each with its own body limit.
fn analytics_ingest() -> Router<AppState> {
    use ingest::analytics as ingest;
    let mut r = Router::new();
    for path in ["/e", "/i/v0/e", "/capture", "/track", "/engage", "/batch"] {
        let route = get(ingest::posthog)
            .post(ingest::posthog)
            .options(ingest::posthog)
            .layer(DefaultBodyLimit::max(ingest::BATCH_LIMIT));
        r = r
            .route(path, route.clone())
            .route(&format!("{path}/"), route);
    }
    for path in ["/decide", "/decide/", "/flags", "/flags/"] {
        r = r.route(
            path,
            get(ingest::flags)
                .post(ingest::flags)
                .options(ingest::flags),
        );
    }
    r.route(
        "/v1/{call}",
        post(ingest::segment).layer(DefaultBodyLimit::max(1024 * 1024)),
    )
    .merge(otlp_ingest())
}

/// The paths the Sentry SDKs send to, with and without a trailing slash.
fn sentry_ingest() -> Router<AppState> {
    use ingest::errors;
    let limit = DefaultBodyLimit::max(liveops_wire::sentry::MAX_ENVELOPE_BYTES);
    let envelope = post(errors::envelope)
        .options(errors::envelope)
        .layer(limit);
    let store = post(errors::store).options(errors::store).layer(limit);
    Router::new()
        .route("/api/{project}/envelope/", envelope.clone())
        .route("/api/{project}/envelope", envelope)
        .route("/api/{project}/store/", store.clone())
        .route("/api/{project}/store", store)
}

/// The OTLP/HTTP paths, also served alone on the optional OTLP listener.
fn otlp_ingest() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/traces",
            post(ingest::performance::traces)
                .layer(DefaultBodyLimit::max(ingest::performance::OTLP_LIMIT)),
        )
        .route(
            "/v1/metrics",
            post(ingest::performance::metrics)
                .layer(DefaultBodyLimit::max(ingest::performance::OTLP_LIMIT)),
        )
}

/// A server ready to run: stores open and migrated, sockets bound.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    otlp: Option<TcpListener>,
    control: UnixListener,
    state: AppState,
    lock: DataDirLock,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Application::build_with_clock(config, Arc::new(crate::clock::SystemClock)).await
    }

    /// The same, with a clock of the caller's: tests move a manual one.
    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> anyhow::Result<Application> {
        let lock = DataDirLock::acquire(&config)?;
        let db = open_state(&config).await?;
        db.migrate()
            .await
            .context("could not migrate the state database")?;
        let store_config = liveops_telemetry::StoreConfig {
            duckdb_path: config.telemetry_path(),
            options: liveops_telemetry::Options {
                query_timeout: Duration::from_secs(config.query_timeout_secs),
                ..liveops_telemetry::Options::default()
            },
            clickhouse: config.clickhouse()?,
        };
        let now_ms = clock.now_ms();
        let telemetry =
            tokio::task::spawn_blocking(move || liveops_telemetry::open(&store_config, now_ms))
                .await?
                .context("could not open the telemetry store")?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let otlp = match config.otlp_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("could not listen for OTLP on {addr}"))?,
            ),
            None => None,
        };
        let control = control::bind(&config.control_socket_path()).with_context(|| {
            format!(
                "could not open the control socket {}",
                config.control_socket_path().display()
            )
        })?;
        let sealer = Arc::new(crate::sealed::Sealer::load(&config)?);
        // Every node must seal with the same key; the first to start records
        // what its key makes of a fixed text, and a node whose key makes
        // something else stops here rather than fail on every sealed value.
        let check = sealer.seal(KEY_CHECK);
        let recorded = db
            .instance_fact("sealing_key", &check)
            .await
            .context("could not read the instance facts")?;
        if recorded != check {
            anyhow::bail!(
                "this server's secret key is not the one the state database was sealed with: \
                 give every node sharing the database the same `secret_key` \
                 (or the same secret.key file in its data directory)"
            );
        }
        let sealed = db
            .seal_plaintext(&|plain: &str| sealer.seal(plain), clock.now_ms())
            .await
            .context("could not seal stored webhook URLs")?;
        if sealed > 0 {
            tracing::info!(values = sealed, "sealed stored webhook URLs at rest");
        }
        let node = node_id(&config)?;
        let geoip = match &config.geoip_database {
            Some(path) => Some(Arc::new(
                crate::analytics::geoip::GeoIp::open(path).map_err(anyhow::Error::msg)?,
            )),
            None => None,
        };
        let spool_dir = config.data_dir.join("spool").join(errors::spool::STREAM);
        let state = AppState::new(config, db, Arc::from(telemetry), sealer, clock, node, geoip);
        // Error events are acknowledged once in this node's spool; the
        // filer goes on from where the state database says it stopped.
        let filed = state
            .db
            .spool_position(&state.node, errors::spool::STREAM)
            .await
            .context("could not read the error spool's position")?;
        state
            .errors_intake
            .open(&spool_dir, filed)
            .with_context(|| format!("could not open the error spool {}", spool_dir.display()))?;
        Ok(Application {
            listener,
            otlp,
            control,
            state,
            lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.config.listen)
    }

    /// Where the extra OTLP listener is bound, when configured.
    pub fn otlp_addr(&self) -> Option<SocketAddr> {
        self.otlp.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight
    /// requests finish, stops the jobs and closes both stores.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            otlp,
            control,
            state,
            lock,
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let jobs = jobs::start(&state, &stop_rx);
        // Aborted with this future, should a test drop it as a crash would.
        let mut filer = AbortOnDrop(tokio::spawn(errors::intake::run_filer(
            state.clone(),
            stop_rx.clone(),
        )));
        let control_task = tokio::spawn(control::serve(control, state.clone(), stop_rx.clone()));
        tracing::info!(address = %listener.local_addr()?, "liveops is listening");
        if !state.db.has_users().await? {
            let at = state.config.public_url.clone().unwrap_or_else(|| {
                listener
                    .local_addr()
                    .map(|a| format!("http://{a}"))
                    .unwrap_or_default()
            });
            tracing::warn!(
                setup_token = %state.setup_token,
                "this server has no users yet: open {at}/setup and give the setup token to make the first admin"
            );
        }

        let otlp_task = otlp.map(|l| {
            let mut stop = stop_rx.clone();
            let app = otlp_ingest()
                .route_layer(middleware::from_fn_with_state(
                    state.clone(),
                    system::ingest_gate,
                ))
                .layer(middleware::from_fn(system::problem_for_bare_errors))
                .with_state(state.clone());
            tracing::info!(address = ?l.local_addr().ok(), "liveops is listening for OTLP");
            tokio::spawn(async move {
                axum::serve(l, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.changed().await;
                    })
                    .await
            })
        });
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;

        let _ = stop_tx.send(true);
        for job in jobs {
            let _ = job.await;
        }
        // Other nodes take this one's jobs over at once.
        if let Err(e) = state.db.release_leases(&state.node).await {
            tracing::warn!(error = %e, "could not give up the job leases");
        }
        if let Some(t) = otlp_task {
            let _ = t.await;
        }
        let _ = control_task.await;
        // The filer files what the spool holds before the stores close.
        let _ = (&mut *filer).await;
        state.errors_intake.close();
        let telemetry = state.telemetry.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || telemetry.close()).await? {
            tracing::error!(error = %e, "closing the telemetry store failed");
        }
        state.db.close().await;
        let _ = std::fs::remove_file(state.config.control_socket_path());
        drop(lock);
        tracing::info!("liveops stopped");
        served.context("the HTTP server failed")
    }
}

/// A task that ends when its handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl std::ops::Deref for AbortOnDrop {
    type Target = tokio::task::JoinHandle<()>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for AbortOnDrop {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A future that completes on SIGTERM or Ctrl-C. The handlers are installed
/// now, before the server starts, so a signal that comes early is not lost to
/// the default action (which would kill the process without a clean stop).
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

/// Answers unknown paths: problem details under `/api`, a page elsewhere.
async fn fallback(req: axum::extract::Request) -> axum::response::Response {
    if req.uri().path().starts_with("/api/") {
        axum::response::IntoResponse::into_response(crate::error::ApiError::not_found(format!(
            "no API endpoint at {}",
            req.uri().path()
        )))
    } else {
        ui::error_page(
            axum::http::StatusCode::NOT_FOUND,
            "There is no page at this address.",
        )
    }
}
