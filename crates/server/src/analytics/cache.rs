//! Answers kept for the dashboards, per node: each question's last answer
//! with when it was made and how much data the project held then. An
//! answer is reused while the project holds the same data; once new data
//! has arrived it is still shown for up to [`STALE_MS`], saying how old it
//! is, while it is made again in the background (one refresh per question
//! at a time, [`AnswerCache::begin_refresh`]); past that it is made again
//! before answering. Several nodes each keep their own; at worst a node
//! answers afresh.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// How long an answer may be shown after new data arrived.
pub const STALE_MS: i64 = 60_000;

/// The most answers kept; past it, the oldest go.
const MAX_ENTRIES: usize = 2_000;

/// One kept answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub value: serde_json::Value,
    pub computed_at: i64,
    /// The project's data when it was made (events, persons).
    pub version: (u64, u64),
}

/// What the cache says of a question.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// Made from the data the project holds now.
    Fresh(Cached),
    /// Made before the latest data arrived, recently enough to show.
    Stale(Cached),
    Missing,
}

#[derive(Debug, Default)]
pub struct AnswerCache {
    map: Mutex<HashMap<String, Cached>>,
    /// Questions being answered again in the background.
    refreshing: Mutex<HashSet<String>>,
}

impl AnswerCache {
    pub fn lookup(&self, key: &str, version: (u64, u64), now: i64) -> Lookup {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some(c) if c.version == version => Lookup::Fresh(c.clone()),
            Some(c) if now - c.computed_at < STALE_MS => Lookup::Stale(c.clone()),
            _ => Lookup::Missing,
        }
    }

    pub fn keep(&self, key: String, cached: Cached) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
            let oldest = map
                .iter()
                .min_by_key(|(_, c)| c.computed_at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        map.insert(key, cached);
    }

    /// Claims the refresh of `key`: true for the one caller that should
    /// make its answer again, false while another refresh of it runs.
    pub fn begin_refresh(&self, key: &str) -> bool {
        let mut busy = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        busy.insert(key.to_owned())
    }

    /// Ends a refresh [`begin_refresh`](Self::begin_refresh) claimed,
    /// whether it kept an answer or failed.
    pub fn end_refresh(&self, key: &str) {
        let mut busy = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        busy.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_fresh_then_stale_then_gone() {
        let c = AnswerCache::default();
        assert_eq!(c.lookup("q", (1, 1), 0), Lookup::Missing);
        let kept = Cached {
            value: serde_json::json!(1),
            computed_at: 1_000,
            version: (10, 2),
        };
        c.keep("q".into(), kept.clone());
        assert_eq!(c.lookup("q", (10, 2), 500_000), Lookup::Fresh(kept.clone()));
        assert_eq!(
            c.lookup("q", (11, 2), 1_000 + STALE_MS - 1),
            Lookup::Stale(kept)
        );
        assert_eq!(c.lookup("q", (11, 2), 1_000 + STALE_MS), Lookup::Missing);
    }

    #[test]
    fn one_refresh_of_a_question_at_a_time() {
        let c = AnswerCache::default();
        assert!(c.begin_refresh("q"));
        assert!(!c.begin_refresh("q"), "already running");
        assert!(c.begin_refresh("r"), "another question");
        c.end_refresh("q");
        assert!(c.begin_refresh("q"), "free again");
    }
}
