//! What the error intake keeps per node, each with a bound on its effect
//! (ARCHITECTURE.md, "What stays per node"):
//!
//! - each project's grouping rules, read again after [`RULES_FOR`] or
//!   when this node changes them, so a rule made on another node applies
//!   here within that time;
//! - the ids of the latest [`RECENT_PER_PROJECT`] events per project, so
//!   an SDK's resend of an event is counted once (a resend to another
//!   node, or after that many other events, is stored again).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use liveops_core::support::errors::Rule;

/// How long a project's grouping rules are used before they are read again.
pub const RULES_FOR: Duration = Duration::from_secs(5);

/// Event ids remembered per project.
pub const RECENT_PER_PROJECT: usize = 4096;

/// Rules as read, and when.
type Kept = (Instant, Arc<Vec<Rule>>);

/// The intake's per-node memory.
#[derive(Debug, Default)]
pub struct IntakeCache {
    rules: Mutex<HashMap<String, Kept>>,
    recent: Mutex<HashMap<String, Recent>>,
}

/// One project's recent event ids: in the order stored, and as a set.
#[derive(Debug, Default)]
struct Recent {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl IntakeCache {
    /// The project's rules if they were read within [`RULES_FOR`].
    pub fn rules(&self, project: &str, now: Instant) -> Option<Arc<Vec<Rule>>> {
        let map = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        map.get(project)
            .filter(|(at, _)| now.saturating_duration_since(*at) < RULES_FOR)
            .map(|(_, r)| r.clone())
    }

    /// Keeps the project's rules as just read.
    pub fn keep_rules(&self, project: &str, rules: Vec<Rule>, now: Instant) -> Arc<Vec<Rule>> {
        let rules = Arc::new(rules);
        let mut map = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(project.to_owned(), (now, rules.clone()));
        rules
    }

    /// Forgets the project's rules: they changed.
    pub fn forget_rules(&self, project: &str) {
        let mut map = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(project);
    }

    /// Whether the event id was stored lately.
    pub fn seen(&self, project: &str, id: &str) -> bool {
        let map = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        map.get(project).is_some_and(|r| r.ids.contains(id))
    }

    /// Remembers stored event ids, forgetting the oldest past the bound.
    pub fn note(&self, project: &str, ids: impl IntoIterator<Item = String>) {
        let mut map = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let r = map.entry(project.to_owned()).or_default();
        for id in ids {
            if !r.ids.insert(id.clone()) {
                continue;
            }
            if r.order.len() >= RECENT_PER_PROJECT
                && let Some(old) = r.order.pop_front()
            {
                r.ids.remove(&old);
            }
            r.order.push_back(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_read_again_after_a_while_or_a_change() {
        let c = IntakeCache::default();
        let t0 = Instant::now();
        assert!(c.rules("p", t0).is_none());
        c.keep_rules("p", Vec::new(), t0);
        assert!(c.rules("p", t0 + Duration::from_secs(4)).is_some());
        assert!(c.rules("p", t0 + RULES_FOR).is_none());
        c.keep_rules("p", Vec::new(), t0);
        c.forget_rules("p");
        assert!(c.rules("p", t0).is_none());
    }

    #[test]
    fn recent_ids_are_bounded_per_project() {
        let c = IntakeCache::default();
        c.note("p", (0..RECENT_PER_PROJECT + 1).map(|i| i.to_string()));
        assert!(!c.seen("p", "0"));
        assert!(c.seen("p", "1"));
        assert!(c.seen("p", &RECENT_PER_PROJECT.to_string()));
        assert!(!c.seen("q", "1"));
        // A repeat is not noted twice, so it evicts nothing.
        c.note("p", [RECENT_PER_PROJECT.to_string()]);
        c.note("p", ["x".to_owned()]);
        assert!(!c.seen("p", "1") && c.seen("p", "2") && c.seen("p", "x"));
    }
}
