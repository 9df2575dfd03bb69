//! One conformance suite for every telemetry backend: the same seeded
//! data, the same questions and the same expected answers, on the embedded
//! DuckDB store, on one ClickHouse server (Debian's 18.16) and on a
//! two-shard ClickHouse cluster; the SQL sent to ClickHouse also runs on
//! `chdb`, a current ClickHouse.

mod analytics;
mod performance;
