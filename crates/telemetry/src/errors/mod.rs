//! Error events: each one as the SDK sent it, with the fingerprint it
//! grouped under and the tags issues break down by. The issues themselves
//! (states, counts) live in the state store; here are the raw events and
//! the questions only they answer: who was affected, the tag breakdown,
//! events over time, and sample events. Both backends keep the events in a
//! table, each with its tags, and answer with the same SQL shapes; the
//! embedded one also keeps per-fingerprint digests ([`digest`]) of the
//! questions an issue's page asks.

use crate::{Result, TelemetryError};

/// One error event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEvent {
    /// 32 hex digits, the SDK's own id.
    pub event_id: String,
    /// The group it belongs to (see [`check_fingerprint`]).
    pub fingerprint: String,
    /// When it happened (ms).
    pub ts_ms: i64,
    pub level: String,
    /// Empty when the SDK sent none.
    pub release: String,
    pub environment: String,
    /// Who it happened to: the user's id, e-mail or IP address; empty when
    /// nobody is known.
    pub user: String,
    /// The analytics person's distinct id, when the SDK named the user.
    pub distinct_id: String,
    pub tags: Vec<(String, String)>,
    /// The event as the SDK sent it (JSON).
    pub payload: String,
}

/// How many events carried one value of a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub key: String,
    pub value: String,
    pub events: u64,
}

/// Error events, whichever store holds them. Methods block.
pub trait Errors: Send + Sync + std::fmt::Debug {
    /// Stores events durably (one transaction or insert).
    fn ingest(&self, project: &str, events: &[ErrorEvent]) -> Result<usize>;
    /// Says that `events`, stored already, are every event their
    /// fingerprints have: a store that keeps per-fingerprint digests may
    /// start theirs from them, instead of reading the table when the
    /// fingerprints are first asked about. Only for fingerprints known to
    /// have no other events.
    fn first_events(&self, _project: &str, _events: &[ErrorEvent]) {}
    /// The newest events of the fingerprints, at most `limit`.
    fn latest(
        &self,
        project: &str,
        fingerprints: &[String],
        limit: usize,
    ) -> Result<Vec<ErrorEvent>>;
    /// One event by its id.
    fn event(&self, project: &str, event_id: &str) -> Result<Option<ErrorEvent>>;
    /// Which of these event ids (32 hex digits each) are stored already:
    /// a filer that starts again after a crash stores only the others.
    fn stored(&self, project: &str, event_ids: &[String]) -> Result<Vec<String>>;
    /// Distinct users the fingerprints' events since `since_ms` reached.
    fn users(&self, project: &str, fingerprints: &[String], since_ms: i64) -> Result<u64>;
    /// Distinct users per fingerprint, for the issue list.
    fn users_each(&self, project: &str, fingerprints: &[String]) -> Result<Vec<(String, u64)>>;
    /// The users the fingerprints' events reached, the first reached
    /// first, at most `limit`: each user's key, and the analytics distinct
    /// id their events carried (empty when none did).
    fn affected(
        &self,
        project: &str,
        fingerprints: &[String],
        limit: usize,
    ) -> Result<Vec<(String, String)>>;
    /// Events since `since_ms`.
    fn count_since(&self, project: &str, fingerprints: &[String], since_ms: i64) -> Result<u64>;
    /// The most common values of every tag, at most `per_key` each.
    fn tags(&self, project: &str, fingerprints: &[String], per_key: usize)
    -> Result<Vec<TagCount>>;
    /// Events per `step_ms` bucket in `[from_ms, to_ms)`, every bucket
    /// present, oldest first.
    fn series(
        &self,
        project: &str,
        fingerprints: &[String],
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
    ) -> Result<Vec<(i64, u64)>>;
    /// The fingerprints with an event carrying `key = value`.
    fn fingerprints_tagged(&self, project: &str, key: &str, value: &str) -> Result<Vec<String>>;
    /// Each fingerprint with each analytics distinct id its events named,
    /// once per pair, in order.
    fn fingerprint_people(&self, project: &str) -> Result<Vec<(String, String)>>;
    /// Drops events (and their tags) that happened before `cutoff_ms`.
    fn drop_before(&self, project: &str, cutoff_ms: i64) -> Result<u64>;
}

/// A fingerprint as stores write it into SQL: 1 to 64 lower-case hex
/// digits, so a list of them is safe to spell out in a query.
pub fn check_fingerprint(f: &str) -> Result<&str> {
    if !f.is_empty()
        && f.len() <= 64
        && f.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(f)
    } else {
        Err(TelemetryError::Query(format!("`{f}` is not a fingerprint")))
    }
}

/// `'a', 'b'` for an `IN` list of checked fingerprints.
pub(crate) fn fingerprint_list(fingerprints: &[String]) -> Result<String> {
    let mut out = Vec::with_capacity(fingerprints.len());
    for f in fingerprints {
        out.push(format!("'{}'", check_fingerprint(f)?));
    }
    Ok(out.join(", "))
}

/// `'a', 'b'` for an `IN` list of event ids, each checked as 32 hex digits.
pub(crate) fn event_id_list(ids: &[String]) -> Result<String> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if id.len() != 32 {
            return Err(TelemetryError::Query(format!("`{id}` is not an event id")));
        }
        out.push(format!("'{}'", check_fingerprint(id)?));
    }
    Ok(out.join(", "))
}

/// Fills the buckets a query left out with zero.
pub(crate) fn dense(
    rows: Vec<(i64, u64)>,
    from_ms: i64,
    to_ms: i64,
    step_ms: i64,
) -> Vec<(i64, u64)> {
    let step = step_ms.max(1);
    let buckets = ((to_ms - from_ms).max(0) + step - 1) / step;
    let mut out: Vec<(i64, u64)> = (0..buckets).map(|i| (from_ms + i * step, 0)).collect();
    for (i, n) in rows {
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            slot.1 += n;
        }
    }
    out
}

/// Keeps each tag's `per_key` most common values (rows come most events
/// first).
pub(crate) fn top_per_key(rows: Vec<TagCount>, per_key: usize) -> Vec<TagCount> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for r in rows {
        let n = seen.entry(r.key.clone()).or_insert(0);
        if *n < per_key {
            *n += 1;
            out.push(r);
        }
    }
    out.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(b.events.cmp(&a.events))
            .then(a.value.cmp(&b.value))
    });
    out
}

pub(crate) mod digest;
pub(crate) mod duck;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_fingerprints_reach_sql() {
        assert!(check_fingerprint("0123abcdef").is_ok());
        for bad in ["", "ABC", "a'b", "x", &"a".repeat(65)] {
            assert!(check_fingerprint(bad).is_err(), "{bad}");
        }
        assert_eq!(
            fingerprint_list(&["ab".into(), "cd".into()]).ok(),
            Some("'ab', 'cd'".into())
        );
    }

    #[test]
    fn series_are_dense_and_tags_keep_the_top() {
        assert_eq!(
            dense(vec![(0, 2), (2, 5), (9, 1)], 1000, 1250, 100),
            vec![(1000, 2), (1100, 0), (1200, 5)]
        );
        let t = |k: &str, v: &str, n| TagCount {
            key: k.into(),
            value: v.into(),
            events: n,
        };
        let rows = vec![
            t("os", "linux", 9),
            t("release", "1.0", 7),
            t("os", "mac", 3),
            t("os", "win", 1),
        ];
        assert_eq!(
            top_per_key(rows, 2),
            vec![
                t("os", "linux", 9),
                t("os", "mac", 3),
                t("release", "1.0", 7)
            ]
        );
    }
}
