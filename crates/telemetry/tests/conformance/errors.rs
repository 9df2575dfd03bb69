//! Error events: the same events, the same questions and the same answers
//! on DuckDB, one ClickHouse server and a two-shard cluster; the SQL sent
//! to ClickHouse also runs on chdb. Retention drops whole days on
//! ClickHouse, so its cutoff here is a day boundary.

use std::sync::Arc;

use liveops_core::analytics::days_from_civil;
use liveops_telemetry::clickhouse::ClickHouse;
use liveops_telemetry::clickhouse::errors::ClickHouseErrors;
use liveops_telemetry::clickhouse::testing::chdb_here;
use liveops_telemetry::errors::ErrorEvent;
use liveops_telemetry::{DuckDbStore, Errors, TelemetryStore};

const DAY: i64 = 86_400_000;
const P: &str = "shop";

/// Monday 2 November 2026, 00:00 UTC, in milliseconds.
fn d0() -> i64 {
    days_from_civil(2026, 11, 2) * DAY
}

fn event(n: u64, fingerprint: &str, day: i64, user: &str, release: &str) -> ErrorEvent {
    ErrorEvent {
        event_id: format!("{n:032x}"),
        fingerprint: fingerprint.into(),
        ts_ms: d0() + day * DAY + n as i64 * 1000,
        level: "error".into(),
        release: release.into(),
        environment: "production".into(),
        user: user.into(),
        distinct_id: user.into(),
        tags: vec![
            ("release".into(), release.into()),
            (
                "browser".into(),
                if n.is_multiple_of(3) {
                    "Firefox"
                } else {
                    "Chrome"
                }
                .into(),
            ),
        ],
        payload: format!("{{\"event_id\":\"{n:032x}\",\"message\":\"it broke 'quoted'\"}}"),
    }
}

fn seed(e: &dyn Errors) {
    let mut batch = Vec::new();
    for n in 0..30u64 {
        let fp = if n.is_multiple_of(5) { "bb" } else { "aa" };
        let user = if n.is_multiple_of(7) {
            String::new()
        } else {
            format!("u{}", n % 4)
        };
        batch.push(event(
            n,
            fp,
            (n % 3) as i64,
            &user,
            if n < 20 { "1.0" } else { "1.1" },
        ));
    }
    // Two inserts, as two intakes would send them.
    let (first, second) = batch.split_at(12);
    assert_eq!(e.ingest(P, first).expect("ingest"), 12);
    assert_eq!(e.ingest(P, second).expect("ingest"), 18);
    e.ingest("blog", &[event(99, "aa", 0, "x", "9")])
        .expect("ingest");
}

fn answers(e: &dyn Errors) -> Vec<String> {
    let aa = vec!["aa".to_owned()];
    let both = vec!["aa".to_owned(), "bb".to_owned()];
    let mut out = Vec::new();
    let latest = e.latest(P, &aa, 3).expect("latest");
    out.push(format!(
        "latest {:?}",
        latest
            .iter()
            .map(|x| (
                x.event_id.clone(),
                x.ts_ms,
                x.release.clone(),
                x.tags.clone()
            ))
            .collect::<Vec<_>>()
    ));
    let one = e.event(P, &format!("{:032x}", 7)).expect("event");
    out.push(format!(
        "event {:?}",
        one.map(|x| (x.fingerprint, x.user, x.payload))
    ));
    out.push(format!(
        "missing {:?}",
        e.event(P, "nope").expect("event").is_none()
    ));
    out.push(format!("users aa {}", e.users(P, &aa, 0).expect("users")));
    out.push(format!(
        "users both since day 1 {}",
        e.users(P, &both, d0() + DAY).expect("users")
    ));
    let mut each = e.users_each(P, &both).expect("users each");
    each.sort();
    out.push(format!("users each {each:?}"));
    out.push(format!(
        "affected {:?} {:?}",
        e.affected(P, &both, 3).expect("affected"),
        e.affected(P, &[], 3).expect("affected")
    ));
    out.push(format!(
        "count since day 2 {}",
        e.count_since(P, &both, d0() + 2 * DAY).expect("count")
    ));
    out.push(format!("tags {:?}", e.tags(P, &both, 1).expect("tags")));
    out.push(format!(
        "series {:?}",
        e.series(P, &aa, d0(), d0() + 4 * DAY, DAY).expect("series")
    ));
    let mut tagged = e
        .fingerprints_tagged(P, "browser", "Firefox")
        .expect("tagged");
    tagged.sort();
    out.push(format!("tagged {tagged:?}"));
    out.push(format!(
        "no prints {:?}",
        e.latest(P, &[], 5).expect("latest")
    ));
    out.push(format!(
        "bad print {}",
        e.users(P, &["x'y".to_owned()], 0).is_err()
    ));
    // Which ids are stored: 7 and 29 here, 99 only in another project,
    // 500 nowhere; an id that is not 32 hex digits is refused.
    let ids: Vec<String> = [7u64, 29, 99, 500]
        .iter()
        .map(|n| format!("{n:032x}"))
        .collect();
    let mut stored = e.stored(P, &ids).expect("stored");
    stored.sort();
    out.push(format!("stored {stored:?}"));
    out.push(format!(
        "bad id {}",
        e.stored(P, &["x'y".to_owned()]).is_err()
    ));
    out
}

fn all_answers(e: &dyn Errors) -> Vec<String> {
    seed(e);
    let mut out = answers(e);
    e.drop_before(P, d0() + DAY).expect("retention");
    out.push("after retention".into());
    out.push(format!(
        "count {}",
        e.count_since(P, &["aa".into(), "bb".into()], 0)
            .expect("count")
    ));
    out.push(format!(
        "blog kept {}",
        e.count_since("blog", &["aa".into()], 0).expect("count")
    ));
    out
}

fn duckdb_answers() -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DuckDbStore::open(&dir.path().join("t.duckdb")).expect("open");
    let got = all_answers(store.errors());
    store.close().expect("close");
    got
}

#[test]
fn duckdb_answers_error_questions() {
    let text = duckdb_answers().join("\n");
    assert!(text.contains("users aa 4"), "{text}");
    assert!(
        text.contains("users each [(\"aa\", 4), (\"bb\", 4)]"),
        "{text}"
    );
    assert!(text.contains("count since day 2 10"), "{text}");
    assert!(text.contains("tagged [\"aa\", \"bb\"]"), "{text}");
    assert!(text.contains("bad print true"), "{text}");
    assert!(text.contains("missing true"), "{text}");
    assert!(
        text.contains(&format!("stored [\"{:032x}\", \"{:032x}\"]", 7, 29)),
        "{text}"
    );
    assert!(text.contains("bad id true"), "{text}");
    let retained = &text[text.find("after retention").expect("marker")..];
    assert!(retained.contains("count 20"), "{retained}");
    assert!(retained.contains("blog kept 1"), "{retained}");
}

fn clickhouse_answers(ch: ClickHouse) -> Vec<String> {
    ch.migrate(d0()).expect("migrate");
    let e = ClickHouseErrors::open(Arc::new(ch));
    all_answers(&e)
}

fn same_as_duckdb(got: Vec<String>) {
    let duck = duckdb_answers();
    for (i, (c, d)) in got.iter().zip(&duck).enumerate() {
        assert_eq!(c, d, "answer {i} differs from DuckDB's");
    }
    assert_eq!(got.len(), duck.len());
}

#[test]
fn one_clickhouse_server_answers_errors_as_duckdb_and_its_sql_runs_on_chdb() {
    let Some((_server, ch, journal)) = super::one_server() else {
        return;
    };
    same_as_duckdb(clickhouse_answers(ch));
    if chdb_here() {
        liveops_telemetry::clickhouse::testing::run_on_chdb(&super::replay(
            &journal,
            "FROM error_tags",
        ));
    }
}

#[test]
fn a_two_shard_clickhouse_cluster_answers_errors_as_duckdb() {
    let Some((_servers, ch)) = super::two_shards() else {
        return;
    };
    same_as_duckdb(clickhouse_answers(ch));
}
