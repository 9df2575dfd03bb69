//! Shared server state handed to every handler and job.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use liveops_store::Db;
use liveops_telemetry::TelemetryStore;

use crate::auth::limiter::Limiter;
use crate::config::Config;
use crate::metrics::Metrics;

#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub config: Config,
    pub db: Db,
    pub telemetry: Arc<dyn TelemetryStore>,
    pub metrics: Metrics,
    /// Login attempts per client address.
    pub login_limiter: Limiter,
    /// Delivers queued notifications.
    pub sender: crate::support::sender::Sender,
    /// Status-page subscriptions per client address.
    pub subscribe_limiter: Limiter,
    /// Public feedback-form submissions per client address.
    pub feedback_limiter: Limiter,
    /// This node's spool of error events, and how far it is filed.
    pub errors_intake: crate::support::errors::spool::IntakeSpool,
    /// The error intake's grouping rules and recent event ids, per node.
    pub errors_cache: crate::support::errors::cache::IntakeCache,
    /// Analytics ingest keys recently seen, and their rate limits.
    pub ingest_keys: crate::analytics::keys::IngestKeys,
    /// Seals outbound webhook URLs at rest.
    pub sealer: Arc<crate::sealed::Sealer>,
    /// The one client for requests to addresses people typed in.
    pub outbound: crate::outbound::Outbound,
    /// Where "now" comes from: the system clock, or a test's.
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: crate::auth::proxies::TrustedProxies,
    /// Ingest requests in flight; over `ingest_concurrency`, ingest answers 503.
    pub ingest_slots: Arc<tokio::sync::Semaphore>,
    /// This node among those sharing the state database: the holder name
    /// of the job leases it takes, kept in the data directory.
    pub node: String,
    /// What the first-run setup page asks for while the server has no
    /// user; printed in the log at start, new at every start.
    pub setup_token: String,
    /// The GeoIP database ingest reads countries from (`geoip_database`).
    pub geoip: Option<Arc<crate::analytics::geoip::GeoIp>>,
    /// The dashboards' answers, per node.
    pub answers: crate::analytics::cache::AnswerCache,
}

impl AppState {
    pub fn new(
        config: Config,
        db: Db,
        telemetry: Arc<dyn TelemetryStore>,
        sealer: Arc<crate::sealed::Sealer>,
        clock: Arc<dyn crate::clock::Clock>,
        node: String,
        geoip: Option<Arc<crate::analytics::geoip::GeoIp>>,
    ) -> AppState {
        // Config::load checked both lists; a config built in code that
        // holds a bad entry gets the strict defaults.
        let policy = crate::outbound::Policy::parse(&config.outbound_allow).unwrap_or_default();
        let trusted_proxies = crate::auth::proxies::TrustedProxies::parse(&config.trusted_proxies)
            .unwrap_or_default();
        let outbound = crate::outbound::Outbound::new(policy);
        let sender = crate::support::sender::Sender::new(
            outbound.clone(),
            config.smtp_url.as_ref().map(|s| s.expose().to_owned()),
            config.smtp_from.clone(),
            sealer.clone(),
        );
        AppState(Arc::new(Inner {
            node,
            setup_token: crate::auth::keys::random_string(24),
            ingest_slots: Arc::new(tokio::sync::Semaphore::new(config.ingest_concurrency)),
            outbound,
            trusted_proxies,
            clock,
            sender,
            config,
            db,
            telemetry,
            metrics: Metrics::new(),
            login_limiter: Limiter::new(20, Duration::from_secs(300)),
            subscribe_limiter: Limiter::new(10, Duration::from_secs(3600)),
            feedback_limiter: Limiter::new(FEEDBACK_PER_WINDOW, Duration::from_secs(600)),
            ingest_keys: crate::analytics::keys::IngestKeys::default(),
            errors_intake: crate::support::errors::spool::IntakeSpool::default(),
            errors_cache: crate::support::errors::cache::IntakeCache::default(),
            sealer,
            geoip,
            answers: crate::analytics::cache::AnswerCache::default(),
        }))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Addresses one status page asks to confirm in an hour, for everyone
/// together (counted in the state database, so across servers).
pub const SUBSCRIPTIONS_PER_PAGE_HOUR: usize = 100;

/// Public feedback submissions one address may send in ten minutes.
pub const FEEDBACK_PER_WINDOW: usize = 10;

impl AppState {
    /// Now, in unix milliseconds (the unit every stored time uses), by
    /// the server's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

pub use crate::clock::format_ms;
