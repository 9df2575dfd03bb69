//! ClickHouse as the telemetry store, for installations that outgrow one
//! machine: the same data as the embedded DuckDB store, in tables of its
//! own (see [`schema`]), reached over ClickHouse's HTTP interface.
//!
//! It makes and migrates the schema, on one server or over a cluster's
//! shards, enforces retention by dropping partitions, and holds product
//! analytics ([`analytics`]) and performance telemetry ([`performance`]);
//! [`store`] puts it behind [`crate::TelemetryStore`].

pub mod analytics;
pub mod client;
pub mod errors;
pub mod performance;
pub mod retention;
pub mod rowbinary;
pub mod schema;
pub mod store;
#[doc(hidden)]
pub mod testing;

use std::time::Duration;

pub use client::{Client, Endpoint};
pub use liveops_core::scaling::retention::Kind;
pub use schema::Layout;

use crate::{Result, TelemetryError};

/// The tables a retention of `kind` applies to: spans take the detections
/// found in them along, as on DuckDB. Error events drop their own
/// tables (`errors`), with the events' retention.
fn tables_of(kind: Kind) -> &'static [&'static schema::Table] {
    match kind {
        Kind::Events => &[&schema::EVENTS, &schema::EVENT_IDS],
        Kind::Spans => &[&schema::SPANS, &schema::DETECTIONS],
        Kind::Metrics => &[&schema::METRICS],
        Kind::Rollups => &[&schema::PERF_HOURS, &schema::PERF_MINUTES],
    }
}

/// A ClickHouse installation: the server queries go to, and the shards
/// that store the rows (the same one server when there is no cluster).
#[derive(Debug, Clone)]
pub struct ClickHouse {
    query: Client,
    /// The same server for the API's questions, each stopped by the
    /// server after the query time limit.
    reads: Client,
    pub(crate) shards: Vec<Client>,
    pub(crate) layout: Layout,
}

impl ClickHouse {
    /// Reads the URLs and the cluster name, without connecting: the server
    /// queries go to, the layout, and one server of each shard.
    pub fn plan(
        url: &str,
        cluster: Option<&str>,
        shard_urls: &[String],
    ) -> Result<(Endpoint, Layout, Vec<Endpoint>)> {
        let query = Endpoint::parse(url)?;
        match cluster {
            None => Ok((query.clone(), Layout::Single, vec![query])),
            Some(name) => {
                if !client::is_identifier(name) {
                    return Err(TelemetryError::Config(format!(
                        "the ClickHouse cluster name `{name}` must be letters, digits and _"
                    )));
                }
                if shard_urls.is_empty() {
                    return Err(TelemetryError::Config(
                        "a ClickHouse cluster needs the URL of one server of each shard".into(),
                    ));
                }
                let shards = shard_urls
                    .iter()
                    .map(|u| Endpoint::parse(u))
                    .collect::<Result<Vec<_>>>()?;
                Ok((query, Layout::Cluster(name.to_owned()), shards))
            }
        }
    }

    /// Connects to the server at `url`. With `cluster`, `shard_urls` name
    /// one server of each shard (over HTTP), where the local tables are
    /// made and partitions dropped. Ingest, deletions and exports may take
    /// `timeout`; questions `query_timeout`, after which ClickHouse itself
    /// stops them (`max_execution_time`). Blocking: call it off async
    /// threads.
    pub fn connect(
        url: &str,
        cluster: Option<&str>,
        shard_urls: &[String],
        timeout: Duration,
        query_timeout: Duration,
    ) -> Result<ClickHouse> {
        let (query, layout, shards) = ClickHouse::plan(url, cluster, shard_urls)?;
        // The server's own limit, in whole seconds (at least one), and a
        // little longer for the answer to come back over HTTP.
        let secs = query_timeout.as_secs().max(1);
        let reads = Client::new(query.clone(), Duration::from_secs(secs + 5))?
            .with_setting("max_execution_time", &secs.to_string());
        let query = Client::new(query, timeout)?;
        let shards = shards
            .into_iter()
            .map(|e| Client::new(e, timeout))
            .collect::<Result<Vec<_>>>()?;
        // An insert into a `Distributed` table answers once every shard
        // has its rows, not when they are queued on the server it went to.
        let query = match layout {
            Layout::Single => query,
            Layout::Cluster(_) => query.with_setting("insert_distributed_sync", "1"),
        };
        Ok(ClickHouse {
            query,
            reads,
            shards,
            layout,
        })
    }

    /// Makes the schema, or moves it forward; returns the migrations it
    /// applied (on the first shard).
    pub fn migrate(&self, now_ms: i64) -> Result<Vec<u32>> {
        schema::migrate(&self.shards, &self.layout, now_ms)
    }

    /// The same installation, noting every statement in `journal` (for
    /// tests that replay them on another engine).
    pub fn with_journal(self, journal: client::Journal) -> ClickHouse {
        ClickHouse {
            query: self.query.with_journal(journal.clone()),
            reads: self.reads.with_journal(journal.clone()),
            shards: self
                .shards
                .into_iter()
                .map(|s| s.with_journal(journal.clone()))
                .collect(),
            layout: self.layout,
        }
    }

    /// The client that queries go through.
    /// The client for questions, under the query time limit.
    pub fn reader(&self) -> &Client {
        &self.reads
    }

    pub fn client(&self) -> &Client {
        &self.query
    }

    /// Drops `project`'s `kind` rows from the days wholly before
    /// `cutoff_ms`, by partition; returns how many partitions went.
    pub fn drop_before(&self, kind: Kind, project: &str, cutoff_ms: i64) -> Result<u64> {
        let mut dropped = 0;
        for table in tables_of(kind) {
            dropped +=
                retention::drop_before(&self.shards, &self.layout, table, project, cutoff_ms)?;
        }
        Ok(dropped)
    }
}
