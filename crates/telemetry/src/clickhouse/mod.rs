//! ClickHouse as the telemetry store, for installations that outgrow one
//! machine: the same data as the embedded DuckDB store, in tables of its
//! own (see [`schema`]), reached over ClickHouse's HTTP interface.
//!
//! This module grows toward a full [`crate::TelemetryStore`]. Today it
//! makes and migrates the schema, on one server or over a cluster's shards,
//! and enforces retention by dropping partitions; the server does not use
//! it yet.

pub mod client;
pub mod retention;
pub mod schema;

use std::time::Duration;

pub use client::{Client, Endpoint};
pub use liveops_core::scaling::retention::Kind;
pub use schema::Layout;

use crate::{Result, TelemetryError};

/// The tables a retention of `kind` applies to: spans take the detections
/// found in them along, as on DuckDB.
fn tables_of(kind: Kind) -> &'static [&'static schema::Table] {
    match kind {
        Kind::Events => &[&schema::EVENTS],
        Kind::Spans => &[&schema::SPANS, &schema::DETECTIONS],
        Kind::Metrics => &[&schema::METRICS],
    }
}

/// A ClickHouse installation: the server queries go to, and the shards
/// that store the rows (the same one server when there is no cluster).
#[derive(Debug, Clone)]
pub struct ClickHouse {
    query: Client,
    shards: Vec<Client>,
    layout: Layout,
}

impl ClickHouse {
    /// Connects to the server at `url`. With `cluster`, `shard_urls` name
    /// one server of each shard (over HTTP), where the local tables are
    /// made and partitions dropped.
    pub fn connect(
        url: &str,
        cluster: Option<&str>,
        shard_urls: &[String],
        timeout: Duration,
    ) -> Result<ClickHouse> {
        let query = Client::new(Endpoint::parse(url)?, timeout)?;
        let (layout, shards) = match cluster {
            None => (Layout::Single, vec![query.clone()]),
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
                    .map(|u| Client::new(Endpoint::parse(u)?, timeout))
                    .collect::<Result<Vec<_>>>()?;
                (Layout::Cluster(name.to_owned()), shards)
            }
        };
        Ok(ClickHouse {
            query,
            shards,
            layout,
        })
    }

    /// Makes the schema, or moves it forward; returns the migrations it
    /// applied (on the first shard).
    pub fn migrate(&self, now_ms: i64) -> Result<Vec<u32>> {
        schema::migrate(&self.shards, &self.layout, now_ms)
    }

    /// The client that queries go through.
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
