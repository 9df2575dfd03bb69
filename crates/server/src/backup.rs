//! `liveops backup` and `liveops restore`: consistent snapshots of both stores.
//!
//! A backup is a directory holding the state snapshot (`state.db` for SQLite,
//! `state.pgdump` for PostgreSQL), the telemetry file and a manifest. It can be
//! taken while the server runs: SQLite and PostgreSQL snapshot themselves, and
//! the running server copies its own telemetry file when asked over the
//! control socket. Telemetry kept in ClickHouse is left to ClickHouse's own
//! backup tools; such a backup holds the state alone.

use std::path::Path;

use anyhow::{Context, bail};
use liveops_store::Backend;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::control;
use crate::startup::{DataDirLock, open_state};
use crate::state::format_ms;

const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub liveops_version: String,
    pub created_at: String,
    /// `sqlite` or `postgres`.
    pub state: String,
    pub schema_version: i64,
    pub telemetry: bool,
}

const STATE_SQLITE: &str = "state.db";
const STATE_PG: &str = "state.pgdump";
const TELEMETRY: &str = "telemetry.duckdb";
const MANIFEST: &str = "manifest.json";

pub async fn backup(config: &Config, dest: &Path) -> anyhow::Result<Manifest> {
    if dest.exists()
        && dest
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{} already exists and is not empty", dest.display());
    }
    // A backup holds every secret hash and the data: owner-only from the
    // moment the folder exists.
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dest)
            .with_context(|| format!("could not create {}", dest.display()))?;
    }
    let dest = dest
        .canonicalize()
        .with_context(|| format!("could not resolve {}", dest.display()))?;

    let db = open_state(config).await?;
    let url = config.database_url.as_ref().map(|s| s.expose().to_owned());
    let (state_name, file) = match db.backend() {
        Backend::Sqlite => ("sqlite", STATE_SQLITE),
        Backend::Postgres => ("postgres", STATE_PG),
    };
    liveops_store::backup::snapshot(&db, url.as_deref().unwrap_or_default(), &dest.join(file))
        .await
        .context("could not snapshot the state database")?;
    db.close().await;

    let telemetry_dest = dest.join(TELEMETRY);
    // Telemetry in ClickHouse is backed up with ClickHouse's own tools.
    let telemetry = if config.clickhouse_url.is_some() {
        false
    } else if DataDirLock::held_by_server(config) {
        control::call(
            &config.control_socket_path(),
            &control::Request::SnapshotTelemetry {
                dest: telemetry_dest,
            },
        )
        .await
        .context("could not snapshot the telemetry store through the running server")?;
        true
    } else if config.telemetry_path().exists() {
        let _lock = DataDirLock::acquire(config)?;
        let path = config.telemetry_path();
        tokio::task::spawn_blocking(move || {
            liveops_telemetry::snapshot_file(&path, &telemetry_dest)
        })
        .await?
        .context("could not snapshot the telemetry store")?;
        true
    } else {
        false
    };

    let manifest = Manifest {
        format: FORMAT,
        liveops_version: env!("CARGO_PKG_VERSION").into(),
        created_at: format_ms(crate::clock::Clock::now_ms(&crate::clock::SystemClock)),
        state: state_name.into(),
        schema_version: liveops_store::migrate::latest_version(),
        telemetry,
    };
    std::fs::write(dest.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(manifest)
}

pub async fn restore(config: &Config, src: &Path) -> anyhow::Result<Manifest> {
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(src.join(MANIFEST)).with_context(|| {
            format!("{} holds no liveops backup (no {MANIFEST})", src.display())
        })?)
        .context("the backup manifest is unreadable")?;
    if manifest.format != FORMAT {
        bail!(
            "backup format {} is not one this liveops reads",
            manifest.format
        );
    }
    if manifest.schema_version > liveops_store::migrate::latest_version() {
        bail!(
            "the backup comes from a newer liveops (schema {}); upgrade first",
            manifest.schema_version
        );
    }
    let lock = DataDirLock::acquire(config)
        .context("stop the server before restoring into its data directory")?;

    match (manifest.state.as_str(), &config.database_url) {
        ("sqlite", None) => {
            let target = config.state_db_path();
            let tmp = config.data_dir.join("state.db.restoring");
            std::fs::copy(src.join(STATE_SQLITE), &tmp)
                .context("could not copy the state snapshot")?;
            for ext in ["db-wal", "db-shm"] {
                let _ = std::fs::remove_file(target.with_extension(ext));
            }
            std::fs::rename(&tmp, &target).context("could not put the state snapshot in place")?;
        }
        ("postgres", Some(url)) => {
            liveops_store::backup::pg_restore(url.expose(), &src.join(STATE_PG))
                .await
                .context("could not restore the PostgreSQL snapshot")?;
        }
        ("sqlite", Some(_)) => bail!(
            "this backup holds SQLite state but LIVEOPS_DATABASE_URL points at PostgreSQL; unset it to restore"
        ),
        ("postgres", None) => bail!(
            "this backup holds PostgreSQL state; set LIVEOPS_DATABASE_URL to the database to restore into"
        ),
        (other, _) => bail!("unknown state kind `{other}` in the manifest"),
    }

    if manifest.telemetry {
        let target = config.telemetry_path();
        let tmp = config.data_dir.join("telemetry.duckdb.restoring");
        std::fs::copy(src.join(TELEMETRY), &tmp)
            .context("could not copy the telemetry snapshot")?;
        let _ = std::fs::remove_file(target.with_extension("duckdb.wal"));
        // The layouts saved from the old file describe other events.
        liveops_telemetry::forget_layouts(&target)
            .context("could not remove the old analytics layouts")?;
        std::fs::rename(&tmp, &target).context("could not put the telemetry snapshot in place")?;
    }

    let db = open_state(config).await?;
    db.migrate()
        .await
        .context("could not migrate the restored state")?;
    db.close().await;
    drop(lock);
    Ok(manifest)
}
