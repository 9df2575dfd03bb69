//! One conformance suite for every telemetry backend: the same seeded
//! data, the same questions and the same expected answers, on the embedded
//! DuckDB store, on one ClickHouse server (Debian's 18.16) and on a
//! two-shard ClickHouse cluster; the SQL sent to ClickHouse also runs on
//! `chdb`, a current ClickHouse.

mod analytics;
mod errors;
mod performance;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use liveops_telemetry::clickhouse::client::Journal;
use liveops_telemetry::clickhouse::testing::{ChdbStep, Server, server_here, start_cluster};
use liveops_telemetry::clickhouse::{ClickHouse, schema};

const TIMEOUT: Duration = Duration::from_secs(60);

/// One ClickHouse server of its own, and a store on it that notes every
/// statement it sends; `None` where no server is installed (outside CI).
fn one_server() -> Option<(Server, ClickHouse, Journal)> {
    if !server_here() {
        return None;
    }
    let server = Server::start();
    let journal: Journal = Arc::new(Mutex::new(Vec::new()));
    let ch = ClickHouse::connect(&server.url(), None, &[], TIMEOUT, TIMEOUT)
        .expect("connect")
        .with_journal(journal.clone());
    Some((server, ch, journal))
}

/// A two-shard cluster of its own and a store over it.
fn two_shards() -> Option<(Vec<Server>, ClickHouse)> {
    if !server_here() {
        return None;
    }
    let servers = start_cluster();
    let urls: Vec<String> = servers.iter().map(Server::url).collect();
    let ch = ClickHouse::connect(&urls[0], Some("two"), &urls, TIMEOUT, TIMEOUT).expect("connect");
    Some((servers, ch))
}

/// The migrations' statements, then every other statement the store sent,
/// for chdb to run on empty tables; `marker` must be among them (the
/// queries the suite is about were sent).
fn replay(sent: &Journal, marker: &str) -> Vec<ChdbStep> {
    let sent = sent.lock().expect("journal").clone();
    let mut statements = schema::statements("liveops", &schema::Layout::Single);
    statements.extend(
        sent.into_iter()
            .filter(|s| !s.starts_with("CREATE") && !s.contains("liveops_migrations")),
    );
    assert!(
        statements.iter().any(|s| s.contains(marker)),
        "no statement with {marker} was sent"
    );
    statements.into_iter().map(ChdbStep::Run).collect()
}
