//! Layered configuration: defaults, then `liveops.toml`, then `LIVEOPS_*`
//! environment variables, then command-line flags. Secrets never print.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything the server and the admin commands need to know.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where state (SQLite) and telemetry (DuckDB) live.
    pub data_dir: PathBuf,
    /// `http://user:password@host:8123/database` puts product analytics in
    /// ClickHouse, over its HTTP interface, instead of the data
    /// directory's DuckDB file. liveops makes and migrates the tables.
    pub clickhouse_url: Option<Secret>,
    /// The cluster (from the servers' `remote_servers`) whose shards hold
    /// the rows, behind `Distributed` tables; one server per shard is
    /// named in `clickhouse_shards`.
    pub clickhouse_cluster: Option<String>,
    /// In cluster mode, the HTTP URL of one server of each shard, where the
    /// local tables are made and old partitions dropped.
    pub clickhouse_shards: Vec<Secret>,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// An extra address that serves only OTLP/HTTP (`/v1/traces`), for
    /// exporters left at their default `http://host:4318`; off when unset.
    pub otlp_listen: Option<SocketAddr>,
    /// `postgres://…` puts state in PostgreSQL instead of the data directory's SQLite file.
    pub database_url: Option<Secret>,
    /// The address people reach liveops at, e.g. `https://ops.example.com`.
    /// Makes cookies `Secure` and turns on HSTS when it is https.
    pub public_url: Option<String>,
    /// How long a browser session lasts, in hours.
    pub session_hours: u32,
    /// The longest a request may take, in seconds.
    pub request_timeout_secs: u64,
    /// The longest an analytics query may run before it is stopped, in seconds.
    pub query_timeout_secs: u64,
    /// The largest API request body, in bytes.
    pub max_body_bytes: usize,
    /// Log filter, e.g. `info` or `liveops_server=debug`.
    pub log: String,
    /// Outgoing mail server, e.g. `smtp://mail.example.com:587` or
    /// `smtps://user:password@mail.example.com`.
    pub smtp_url: Option<Secret>,
    /// The sender of liveops' e-mail.
    pub smtp_from: String,
    /// A Maildir a mail server delivers support mail to; each message
    /// becomes a ticket of `inbound_maildir_project`, or an answer on the
    /// ticket it replies to.
    pub inbound_maildir: Option<PathBuf>,
    /// The project (slug) whose tickets `inbound_maildir` holds.
    pub inbound_maildir_project: Option<String>,
    /// The key outbound webhook URLs are sealed under at rest: base64 of
    /// 32 random bytes. When unset, `secret.key` in the data directory is
    /// used (made on first start). Servers sharing a PostgreSQL database
    /// must all be given the same key.
    pub secret_key: Option<Secret>,
    /// How often background jobs (escalations, deliveries) look for due work, in milliseconds.
    pub job_tick_ms: u64,
    /// Analytics events each project ingest key may send per second
    /// (bursts up to twice that); over it, ingest answers 429.
    pub ingest_events_per_sec: u64,
    /// Spans and metric points each project's server key may send per
    /// second over OTLP (bursts up to twice that); over it, 429.
    pub ingest_spans_per_sec: u64,
    /// Ingest requests (analytics, OTLP, feedback, alerts) handled at once;
    /// beyond it, ingest answers 503 with `Retry-After`, which SDKs retry.
    pub ingest_concurrency: usize,
    /// Internal addresses outbound deliveries may reach after all: CIDR
    /// ranges (`10.0.0.0/8`), addresses, host names (`hooks.internal`) and
    /// domains (`*.corp.example`). Everything internal is refused otherwise.
    pub outbound_allow: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (CIDR ranges or
    /// addresses); the client address is then the nearest one they did not
    /// add. Without them the peer address counts.
    pub trusted_proxies: Vec<String>,
    /// A bearer token `/metrics` asks for. Without one, `/metrics` is open
    /// when `listen` is a loopback address and needs an instance API token
    /// of an administrator otherwise.
    pub metrics_token: Option<Secret>,
    /// A MaxMind GeoLite2 or GeoIP2 Country (or City) `.mmdb` file: events
    /// then get their country at ingest. Without one, countries are unknown.
    pub geoip_database: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("liveops-data"),
            clickhouse_url: None,
            clickhouse_cluster: None,
            clickhouse_shards: Vec::new(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            otlp_listen: None,
            database_url: None,
            public_url: None,
            session_hours: 24 * 7,
            request_timeout_secs: 30,
            query_timeout_secs: 25,
            max_body_bytes: 1024 * 1024,
            log: "info".into(),
            smtp_url: None,
            smtp_from: "liveops <liveops@localhost>".into(),
            inbound_maildir: None,
            inbound_maildir_project: None,
            secret_key: None,
            job_tick_ms: 1000,
            ingest_events_per_sec: 10_000,
            ingest_spans_per_sec: 50_000,
            ingest_concurrency: 64,
            outbound_allow: Vec::new(),
            trusted_proxies: Vec::new(),
            metrics_token: None,
            geoip_database: None,
        }
    }
}

/// The keys environment variables may set. Other `LIVEOPS_*` variables, such
/// as the CLI's `LIVEOPS_SERVER` and `LIVEOPS_TOKEN`, belong to the client.
const ENV_KEYS: &[&str] = &[
    "data_dir",
    "clickhouse_url",
    "clickhouse_cluster",
    "clickhouse_shards",
    "listen",
    "otlp_listen",
    "database_url",
    "public_url",
    "session_hours",
    "request_timeout_secs",
    "query_timeout_secs",
    "max_body_bytes",
    "log",
    "smtp_url",
    "smtp_from",
    "inbound_maildir",
    "inbound_maildir_project",
    "secret_key",
    "job_tick_ms",
    "ingest_events_per_sec",
    "ingest_spans_per_sec",
    "ingest_concurrency",
    "outbound_allow",
    "trusted_proxies",
    "metrics_token",
    "geoip_database",
];

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Reads the layers. `file` is the config file to read; when `None`,
    /// `./liveops.toml` is read if it exists. `flags` are the command line's
    /// settings, which win over everything else.
    pub fn load(file: Option<&Path>, flags: &ConfigFlags) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file("liveops.toml")),
        }
        fig = fig
            .merge(Env::prefixed("LIVEOPS_").only(ENV_KEYS))
            .merge(Serialized::defaults(flags));
        let config: Config = fig.extract().map_err(|e| ConfigError(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.inbound_maildir.is_some() != self.inbound_maildir_project.is_some() {
            return Err(ConfigError(
                "inbound_maildir and inbound_maildir_project go together: the Maildir, and the project its mail is for".into(),
            ));
        }
        if let Some(url) = &self.database_url {
            let u = url.expose();
            if !(u.starts_with("postgres://") || u.starts_with("postgresql://")) {
                return Err(ConfigError(
                    "database_url must be a postgres:// url; leave it unset for the embedded SQLite".into(),
                ));
            }
        }
        self.clickhouse()?;
        if let Some(url) = &self.public_url {
            url::Url::parse(url).map_err(|e| ConfigError(format!("public_url: {e}")))?;
        }
        if self.job_tick_ms < 10 || self.job_tick_ms > 60_000 {
            return Err(ConfigError(
                "job_tick_ms must be between 10 and 60000".into(),
            ));
        }
        if self.ingest_events_per_sec == 0
            || self.ingest_spans_per_sec == 0
            || self.ingest_concurrency == 0
        {
            return Err(ConfigError(
                "ingest_events_per_sec, ingest_spans_per_sec and ingest_concurrency must be positive"
                    .into(),
            ));
        }
        crate::outbound::Policy::parse(&self.outbound_allow).map_err(ConfigError)?;
        crate::auth::proxies::TrustedProxies::parse(&self.trusted_proxies).map_err(ConfigError)?;
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.expose().trim().len() < 16)
        {
            return Err(ConfigError(
                "metrics_token must have at least 16 characters".into(),
            ));
        }
        if self.query_timeout_secs == 0 {
            return Err(ConfigError("query_timeout_secs must be positive".into()));
        }
        if self.session_hours == 0 || self.request_timeout_secs == 0 || self.max_body_bytes == 0 {
            return Err(ConfigError(
                "session_hours, request_timeout_secs and max_body_bytes must be positive".into(),
            ));
        }
        Ok(())
    }

    /// Where telemetry goes: ClickHouse when `clickhouse_url` is set
    /// (checked here), the data directory's DuckDB file otherwise.
    pub fn clickhouse(&self) -> Result<Option<liveops_telemetry::ClickHouseConfig>, ConfigError> {
        let Some(url) = &self.clickhouse_url else {
            if self.clickhouse_cluster.is_some() || !self.clickhouse_shards.is_empty() {
                return Err(ConfigError(
                    "clickhouse_cluster and clickhouse_shards need clickhouse_url".into(),
                ));
            }
            return Ok(None);
        };
        let config = liveops_telemetry::ClickHouseConfig {
            url: url.expose().to_owned(),
            cluster: self.clickhouse_cluster.clone(),
            shards: self
                .clickhouse_shards
                .iter()
                .map(|s| s.expose().to_owned())
                .collect(),
        };
        config
            .check()
            .map_err(|e| ConfigError(format!("clickhouse: {e}")))?;
        Ok(Some(config))
    }

    pub fn state_db_path(&self) -> PathBuf {
        self.data_dir.join("state.db")
    }

    pub fn telemetry_path(&self) -> PathBuf {
        self.data_dir.join("telemetry.duckdb")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.data_dir.join("liveops.lock")
    }

    pub fn control_socket_path(&self) -> PathBuf {
        self.data_dir.join("control.sock")
    }

    /// `public_url` without its trailing slash, for the start of links;
    /// `None` when unset (links then stay relative).
    pub fn public_base(&self) -> Option<&str> {
        self.public_url.as_deref().map(|u| u.trim_end_matches('/'))
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// The effective configuration as TOML, with secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = self
            .database_url
            .as_ref()
            .map(|s| Secret(redact_url(s.expose())));
        shown.clickhouse_url = self
            .clickhouse_url
            .as_ref()
            .map(|s| Secret(redact_url(s.expose())));
        shown.clickhouse_shards = self
            .clickhouse_shards
            .iter()
            .map(|s| Secret(redact_url(s.expose())))
            .collect();
        shown.smtp_url = self
            .smtp_url
            .as_ref()
            .map(|s| Secret(redact_url(s.expose())));
        shown.secret_key = self
            .secret_key
            .as_ref()
            .map(|_| Secret("<redacted>".into()));
        shown.metrics_token = self
            .metrics_token
            .as_ref()
            .map(|_| Secret("<redacted>".into()));
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# could not render: {e}"))
    }
}

/// Settings given as command-line flags; unset flags leave the lower layers alone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConfigFlags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clickhouse_url: Option<String>,
}

/// A configuration value that must not be printed or logged.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Hides the password of a database url, keeping the rest readable.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("<redacted>"));
            }
            u.to_string()
        }
        Err(_) => "<redacted>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_which_wins_over_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("liveops.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/liveops\"\n",
        )?;
        let flags = ConfigFlags {
            data_dir: Some(PathBuf::from("/flag/dir")),
            ..ConfigFlags::default()
        };
        let c = Config::load(Some(&file), &flags)?;
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.data_dir, PathBuf::from("/flag/dir"));
        assert_eq!(c.session_hours, 168);
        Ok(())
    }

    #[test]
    fn unknown_file_keys_are_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("liveops.toml");
        std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n")?;
        let err = Config::load(Some(&file), &ConfigFlags::default())
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("lisen")));
        Ok(())
    }

    #[test]
    fn secrets_are_redacted() {
        let c = Config {
            database_url: Some(Secret::new("postgres://ops:hunter2@db:5432/liveops")),
            ..Config::default()
        };
        let shown = c.to_redacted_toml();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("postgres://ops:%3Credacted%3E@db:5432/liveops")
                || shown.contains("<redacted>")
        );
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
