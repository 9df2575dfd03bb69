//! Digests of error events per fingerprint: the users reached, how many
//! events carried each tag value, the events per day and the newest event.
//!
//! An issue's page asks those four questions of every event of its
//! fingerprints, and in a table of a million events each question scans
//! the whole fingerprint column. The DuckDB store fills a digest from its
//! table the first time a fingerprint is asked about, keeps it current as
//! events are stored (both under the file's write lock, so no batch is
//! counted twice or missed), forgets a project's digests when its events
//! are deleted, and keeps the most recently used ones within a bound on
//! their entries. Whatever is not held is asked of the table as before,
//! so a digest changes how fast an answer comes, never the answer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use super::{ErrorEvent, TagCount};

/// The length of a day bucket of [`Digest::days`].
pub(crate) const DAY_MS: i64 = 86_400_000;

/// At most this many entries (users, tag values and days, over all
/// digests) are held: some tens of MiB at most.
pub(crate) const MAX_ENTRIES: usize = 400_000;

/// A fill reads at most this many events (a few tens of MiB, under the
/// write lock): fingerprints with more are asked of the table instead.
pub(crate) const MAX_FILL_EVENTS: usize = 200_000;

/// One fingerprint's digest.
#[derive(Debug, Default)]
struct Digest {
    /// Hashes of the user keys.
    users: HashSet<u64>,
    tags: HashMap<(String, String), u64>,
    days: BTreeMap<i64, u64>,
    newest: Option<(i64, String)>,
    /// The earliest event's time, so that "users since" is answered only
    /// when it covers every event.
    earliest: Option<i64>,
    /// When it was last asked about, on the digests' own counter.
    used: u64,
}

impl Digest {
    fn entries(&self) -> usize {
        1 + self.users.len() + self.tags.len() + self.days.len()
    }

    /// Counts one event in.
    fn add(&mut self, hasher: &RandomState, e: &ErrorEvent) {
        if !e.user.is_empty() {
            self.users.insert(hasher.hash_one(e.user.as_str()));
        }
        for (k, v) in &e.tags {
            *self.tags.entry((k.clone(), v.clone())).or_insert(0) += 1;
        }
        *self.days.entry(e.ts_ms.div_euclid(DAY_MS)).or_insert(0) += 1;
        let ts = e.ts_ms;
        self.earliest = Some(self.earliest.map_or(ts, |t| t.min(ts)));
        let newer = match &self.newest {
            None => true,
            Some((t, id)) => ts > *t || (ts == *t && e.event_id < *id),
        };
        if newer {
            self.newest = Some((ts, e.event_id.clone()));
        }
    }
}

type Key = (String, String);

/// The digests one store holds.
#[derive(Debug)]
pub(crate) struct Digests {
    held: HashMap<Key, Digest>,
    /// Fingerprints whose digest would not fit: asked of the table.
    too_big: HashSet<Key>,
    hasher: RandomState,
    clock: u64,
    entries: usize,
    max_entries: usize,
    max_fill: usize,
}

impl Default for Digests {
    fn default() -> Self {
        Digests::with_bounds(MAX_ENTRIES, MAX_FILL_EVENTS)
    }
}

impl Digests {
    pub(crate) fn with_bounds(max_entries: usize, max_fill: usize) -> Digests {
        Digests {
            held: HashMap::new(),
            too_big: HashSet::new(),
            hasher: RandomState::new(),
            clock: 0,
            entries: 0,
            max_entries,
            max_fill,
        }
    }

    fn key(project: &str, fingerprint: &str) -> Key {
        (project.to_owned(), fingerprint.to_owned())
    }

    /// The fingerprints of `fingerprints` that are neither held nor known
    /// to be too big to hold.
    pub(crate) fn missing(&self, project: &str, fingerprints: &[String]) -> Vec<String> {
        fingerprints
            .iter()
            .filter(|f| {
                let k = Digests::key(project, f);
                !self.held.contains_key(&k) && !self.too_big.contains(&k)
            })
            .cloned()
            .collect()
    }

    /// Holds digests of `fingerprints` made from all their events (as the
    /// table holds them), except those that alone would take more than
    /// the bound; then makes room by forgetting the least recently used.
    pub(crate) fn fill(&mut self, project: &str, fingerprints: &[String], events: &[ErrorEvent]) {
        self.clock += 1;
        let mut made: HashMap<&str, Digest> = fingerprints
            .iter()
            .map(|f| {
                let d = Digest {
                    used: self.clock,
                    ..Digest::default()
                };
                (f.as_str(), d)
            })
            .collect();
        for e in events {
            if let Some(d) = made.get_mut(e.fingerprint.as_str()) {
                d.add(&self.hasher, e);
            }
        }
        for (f, d) in made {
            let key = Digests::key(project, f);
            if d.entries() > self.max_entries {
                self.too_big.insert(key);
                continue;
            }
            self.entries += d.entries();
            if let Some(old) = self.held.insert(key, d) {
                self.entries -= old.entries();
            }
        }
        self.shrink();
    }

    /// Holds digests made from `events`, which are every event their
    /// fingerprints have, for those not held yet (a fill from the table may
    /// have come first); too many events for one fill are asked of the
    /// table instead.
    pub(crate) fn start(&mut self, project: &str, events: &[ErrorEvent]) {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for e in events {
            *counts.entry(e.fingerprint.as_str()).or_default() += 1;
        }
        let prints: Vec<String> = counts.keys().map(|f| (*f).to_owned()).collect();
        let (fits, big): (Vec<String>, Vec<String>) = self
            .missing(project, &prints)
            .into_iter()
            .partition(|f| counts.get(f.as_str()).is_some_and(|n| *n <= self.max_fill));
        self.refuse(project, &big);
        if !fits.is_empty() {
            self.fill(project, &fits, events);
        }
    }

    /// How many events a fill may read.
    pub(crate) fn max_fill(&self) -> usize {
        self.max_fill
    }

    /// Marks fingerprints whose events were too many to fill from: they
    /// are asked of the table from now on.
    pub(crate) fn refuse(&mut self, project: &str, fingerprints: &[String]) {
        for f in fingerprints {
            self.too_big.insert(Digests::key(project, f));
        }
    }

    /// Counts newly stored events into the digests held for their
    /// fingerprints.
    pub(crate) fn note(&mut self, project: &str, events: &[ErrorEvent]) {
        if self.held.is_empty() {
            return;
        }
        for e in events {
            let key = Digests::key(project, &e.fingerprint);
            let Some(d) = self.held.get_mut(&key) else {
                continue;
            };
            let before = d.entries();
            d.add(&self.hasher, e);
            self.entries = self.entries + d.entries() - before;
        }
        self.shrink();
    }

    /// Forgets every digest of a project (its events were deleted).
    pub(crate) fn forget(&mut self, project: &str) {
        self.held.retain(|(p, _), _| p != project);
        self.too_big.retain(|(p, _)| p != project);
        self.entries = self.held.values().map(Digest::entries).sum();
    }

    /// Forgets the least recently used digests until the rest fit.
    fn shrink(&mut self) {
        while self.entries > self.max_entries {
            let Some(oldest) = self
                .held
                .iter()
                .min_by_key(|(_, d)| d.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(d) = self.held.remove(&oldest) {
                self.entries -= d.entries();
            }
        }
    }

    /// The digests of all the fingerprints, marked used; `None` when one
    /// is not held.
    fn all(&mut self, project: &str, fingerprints: &[String]) -> Option<Vec<&Digest>> {
        self.clock += 1;
        let now = self.clock;
        for f in fingerprints {
            self.held.get_mut(&Digests::key(project, f))?.used = now;
        }
        fingerprints
            .iter()
            .map(|f| self.held.get(&Digests::key(project, f)))
            .collect()
    }

    /// Distinct users of the fingerprints' events since `since_ms`, when
    /// that is every event of theirs.
    pub(crate) fn users(
        &mut self,
        project: &str,
        fingerprints: &[String],
        since_ms: i64,
    ) -> Option<u64> {
        let all = self.all(project, fingerprints)?;
        if all.iter().any(|d| d.earliest.is_some_and(|e| e < since_ms)) {
            return None;
        }
        let n = match all.as_slice() {
            [one] => one.users.len(),
            many => many
                .iter()
                .flat_map(|d| d.users.iter())
                .collect::<HashSet<_>>()
                .len(),
        };
        Some(n as u64)
    }

    /// Every tag value's events, most first, then by key and value (as
    /// the table's query orders them).
    pub(crate) fn tags(&mut self, project: &str, fingerprints: &[String]) -> Option<Vec<TagCount>> {
        let all = self.all(project, fingerprints)?;
        let mut sum: HashMap<&(String, String), u64> = HashMap::new();
        for d in all {
            for (kv, n) in &d.tags {
                *sum.entry(kv).or_insert(0) += n;
            }
        }
        let mut rows: Vec<TagCount> = sum
            .into_iter()
            .map(|((key, value), events)| TagCount {
                key: key.clone(),
                value: value.clone(),
                events,
            })
            .collect();
        rows.sort_by(|a, b| {
            b.events
                .cmp(&a.events)
                .then_with(|| a.key.cmp(&b.key))
                .then_with(|| a.value.cmp(&b.value))
        });
        Some(rows)
    }

    /// Whether digests answer a series of these bounds: whole days.
    pub(crate) fn keeps_series(from_ms: i64, to_ms: i64, step_ms: i64) -> bool {
        step_ms == DAY_MS && from_ms.rem_euclid(DAY_MS) == 0 && to_ms.rem_euclid(DAY_MS) == 0
    }

    /// Events per day bucket of `[from_ms, to_ms)`, as (bucket number,
    /// events), when the range and step are whole days.
    pub(crate) fn series(
        &mut self,
        project: &str,
        fingerprints: &[String],
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
    ) -> Option<Vec<(i64, u64)>> {
        if !Digests::keeps_series(from_ms, to_ms, step_ms) {
            return None;
        }
        let (first, end) = (from_ms / DAY_MS, to_ms / DAY_MS);
        let all = self.all(project, fingerprints)?;
        let mut rows = Vec::new();
        for d in all {
            if first < end {
                rows.extend(d.days.range(first..end).map(|(day, n)| (day - first, *n)));
            }
        }
        Some(rows)
    }

    /// The newest event's time and id over the fingerprints: `Some(None)`
    /// when they have none.
    pub(crate) fn newest(
        &mut self,
        project: &str,
        fingerprints: &[String],
    ) -> Option<Option<(i64, String)>> {
        let all = self.all(project, fingerprints)?;
        Some(
            all.iter()
                .filter_map(|d| d.newest.as_ref())
                .min_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)))
                .cloned(),
        )
    }

    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, fp: &str, ts: i64, user: &str, tags: &[(&str, &str)]) -> ErrorEvent {
        ErrorEvent {
            event_id: id.into(),
            fingerprint: fp.into(),
            ts_ms: ts,
            level: "error".into(),
            release: String::new(),
            environment: String::new(),
            user: user.into(),
            distinct_id: String::new(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            payload: "{}".into(),
        }
    }

    #[test]
    fn notes_and_answers_across_fingerprints() {
        let mut d = Digests::default();
        let fps = ["aa".to_owned(), "bb".to_owned()];
        assert_eq!(d.missing("p", &fps), fps);
        d.fill(
            "p",
            &fps,
            &[
                event("e1", "aa", DAY_MS + 1, "u1", &[("os", "linux")]),
                event("e2", "aa", DAY_MS + 5, "u2", &[("os", "linux")]),
                event("e7", "zz", DAY_MS + 6, "u7", &[("os", "linux")]),
            ],
        );
        assert!(d.missing("p", &fps).is_empty());
        // Events of other projects and fingerprints are not counted.
        d.note(
            "p",
            &[
                event("e3", "bb", DAY_MS * 2, "u2", &[("os", "mac")]),
                event("e4", "bb", DAY_MS * 2, "", &[("os", "linux")]),
                event("e9", "cc", DAY_MS * 3, "u9", &[]),
            ],
        );
        d.note("q", &[event("e8", "aa", DAY_MS * 4, "u8", &[])]);
        assert_eq!(d.users("p", &fps, 0), Some(2));
        assert_eq!(d.users("p", &fps[1..], 0), Some(1));
        assert_eq!(d.users("p", &fps, DAY_MS + 1), Some(2));
        assert_eq!(d.users("p", &fps, DAY_MS + 2), None, "not every event");
        let tags: Vec<(String, u64)> = d
            .tags("p", &fps)
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.value, t.events))
            .collect();
        assert_eq!(tags, [("linux".to_owned(), 3), ("mac".to_owned(), 1)]);
        assert_eq!(
            d.series("p", &fps, 0, 4 * DAY_MS, DAY_MS),
            Some(vec![(1, 2), (2, 2)])
        );
        assert_eq!(d.series("p", &fps, 1, 4 * DAY_MS, DAY_MS), None);
        // The newest: the latest time, then the lowest id.
        assert_eq!(
            d.newest("p", &fps),
            Some(Some((DAY_MS * 2, "e3".to_owned())))
        );
        assert_eq!(d.users("p", &["cc".to_owned()], 0), None, "not held");
        d.forget("p");
        assert_eq!(d.held(), 0);
    }

    #[test]
    fn keeps_the_recently_used_within_the_bound() {
        let mut d = Digests::with_bounds(6, MAX_FILL_EVENTS);
        let fill = |d: &mut Digests, fp: &str, n: usize| {
            let events: Vec<ErrorEvent> = (0..n)
                .map(|i| event(&format!("e{i}"), fp, 0, &format!("u{i}"), &[]))
                .collect();
            d.fill("p", &[fp.to_owned()], &events);
        };
        // Each digest takes one entry, one per user and one per day.
        fill(&mut d, "aa", 1);
        fill(&mut d, "bb", 1);
        assert_eq!(d.held(), 2);
        assert!(d.users("p", &["aa".to_owned()], 0).is_some());
        // A third pushes out the least recently asked about (bb).
        fill(&mut d, "cc", 1);
        assert_eq!(
            d.missing("p", &["aa".into(), "bb".into(), "cc".into()]),
            ["bb"]
        );
        // One that would not fit alone is not held, nor filled again.
        fill(&mut d, "dd", 9);
        assert!(d.missing("p", &["dd".into()]).is_empty());
        assert_eq!(d.users("p", &["dd".to_owned()], 0), None);
    }
}
