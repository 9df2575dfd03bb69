//! Product analytics in the telemetry store: durable event ingest with
//! group commit, persons, and the queries behind trends, active users,
//! funnels, retention and feature usage.
//!
//! [`Analytics`] is what the server sees. Two backends implement it:
//! [`duck::DuckAnalytics`], the embedded default, which mirrors every
//! project's events per person in memory, and the ClickHouse store
//! (`crate::clickhouse::analytics`), which keeps nothing in memory and lays
//! out what each query needs when it runs. Both run the same queries
//! ([`query`]) over the same per-person layout ([`Project`]), so they give
//! the same answers.

pub(crate) mod duck;
mod duck_sql;
pub(crate) mod index;
pub(crate) mod layout;
pub(crate) mod mapped;
pub(crate) mod persons;
pub(crate) mod props;
mod query;
pub(crate) mod texts;
pub(crate) mod writer;

pub use query::*;
pub(crate) use writer::Job;

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::path::Path;

use liveops_core::analytics::event::Event;
use liveops_core::analytics::web::PageView;

use crate::Result;
use index::{Columns, Names};
use mapped::Col;
use persons::Persons;

/// Product analytics, whichever store holds it. Methods block, except
/// `ingest`, which answers through a channel once the events are durable.
pub trait Analytics: Send + Sync + std::fmt::Debug {
    /// Queues events for storage; the answer arrives once they are durable.
    fn ingest(
        &self,
        project: &str,
        events: Vec<Event>,
    ) -> futures::channel::oneshot::Receiver<Result<Ingested>>;
    /// How many events, persons, distinct ids and names a project has.
    fn stats(&self, project: &str) -> Result<ProjectStats>;
    /// Deletes a person, every distinct id they have and all their events.
    /// Returns how many events went, or `None` for an unknown distinct id.
    fn delete_person(&self, project: &str, distinct_id: &str) -> Result<Option<u64>>;
    /// Deletes a project's events older than `cutoff_ms`.
    fn drop_before(&self, project: &str, cutoff_ms: i64) -> Result<u64>;
    /// Writes a project's events, with the person each belongs to, as
    /// Parquet; returns how many.
    fn export_parquet(&self, project: &str, dest: &Path) -> Result<u64>;
    /// Event counts and unique people per interval, filtered and broken
    /// down by event properties.
    fn trends(&self, project: &str, q: &TrendsQuery) -> Result<Vec<TrendSeries>>;
    /// Every `$pageview` in `[from, to)`, with who viewed (their person,
    /// or the distinct id nobody is linked to) and the web properties.
    fn page_views(&self, project: &str, from_ms: i64, to_ms: i64) -> Result<Vec<PageView>>;
    /// Events in `[from, to)` named one of `q.names` or carrying one of
    /// `q.carrying`, with who sent them (as for page views) and the texts
    /// of the properties `q.keys`. Revenue and subscriptions read these.
    fn property_rows(&self, project: &str, q: &RowsQuery) -> Result<Vec<PropertyRow>>;
    /// DAU, WAU and MAU per day.
    fn active_users(&self, project: &str, q: &ActiveQuery) -> Result<ActiveSeries>;
    /// Persons by how many days of the range they were active: `[k]` is
    /// those active on exactly k + 1 days.
    fn stickiness(&self, project: &str, q: &ActiveQuery) -> Result<Vec<u64>>;
    /// New, returning, resurrecting and dormant people per period.
    fn lifecycle(
        &self,
        project: &str,
        q: &LifecycleQuery,
    ) -> Result<Vec<(i64, liveops_core::analytics::active::Lifecycle)>>;
    /// Adoption, frequency and ranking of features over `[from, to)`.
    fn features(
        &self,
        project: &str,
        features: &[Feature],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<FeatureReport>;
    fn funnel(&self, project: &str, q: &FunnelQuery) -> Result<FunnelAnswer>;
    fn retention(&self, project: &str, q: &RetentionQuery) -> Result<Vec<RetentionCohort>>;
    /// Who belongs to a cohort.
    fn cohort(&self, project: &str, q: &CohortQuery) -> Result<Members>;
    /// How many persons a behavioural cohort held at each of `ends`
    /// (ascending).
    fn cohort_sizes(
        &self,
        project: &str,
        event: &str,
        window: liveops_core::analytics::cohort::Window,
        did: bool,
        ends: &[i64],
    ) -> Result<Vec<u64>>;
    /// Who each distinct id is, as [`Members`] name persons: its person's
    /// id, or the id itself when nobody has sent events with it.
    fn who(&self, project: &str, distinct_ids: &[String]) -> Result<Vec<String>>;
    /// The person a distinct id belongs to.
    fn person(&self, project: &str, distinct_id: &str) -> Result<Option<PersonView>>;
    /// Persons, newest first, whose distinct id contains `search`.
    fn persons(&self, project: &str, search: Option<&str>, limit: usize)
    -> Result<Vec<PersonView>>;
    /// Some distinct ids' latest events, newest first.
    fn person_events(
        &self,
        project: &str,
        distinct_ids: &[String],
        limit: usize,
    ) -> Result<Vec<StoredEvent>>;
    /// Event names seen in a project, with how many events each, most
    /// first.
    fn event_names(&self, project: &str) -> Result<Vec<(String, u64)>>;
}

/// Implements the behavioural queries of [`Analytics`] with the shared
/// [`query`] code over a [`Source`]; each store implements `active_users`
/// itself (ClickHouse counts active days in SQL).
macro_rules! shared_queries {
    () => {
        fn stickiness(
            &self,
            project: &str,
            q: &$crate::analytics::ActiveQuery,
        ) -> $crate::Result<Vec<u64>> {
            $crate::analytics::stickiness(self, project, q)
        }
        fn lifecycle(
            &self,
            project: &str,
            q: &$crate::analytics::LifecycleQuery,
        ) -> $crate::Result<Vec<(i64, liveops_core::analytics::active::Lifecycle)>> {
            $crate::analytics::lifecycles(self, project, q)
        }
        fn features(
            &self,
            project: &str,
            features: &[$crate::analytics::Feature],
            from_ms: i64,
            to_ms: i64,
        ) -> $crate::Result<$crate::analytics::FeatureReport> {
            $crate::analytics::features(self, project, features, from_ms, to_ms)
        }
        fn funnel(
            &self,
            project: &str,
            q: &$crate::analytics::FunnelQuery,
        ) -> $crate::Result<$crate::analytics::FunnelAnswer> {
            $crate::analytics::funnel(self, project, q)
        }
        fn retention(
            &self,
            project: &str,
            q: &$crate::analytics::RetentionQuery,
        ) -> $crate::Result<Vec<$crate::analytics::RetentionCohort>> {
            $crate::analytics::retention(self, project, q)
        }
        fn cohort(
            &self,
            project: &str,
            q: &$crate::analytics::CohortQuery,
        ) -> $crate::Result<$crate::analytics::Members> {
            $crate::analytics::cohort(self, project, q)
        }
        fn cohort_sizes(
            &self,
            project: &str,
            event: &str,
            window: liveops_core::analytics::cohort::Window,
            did: bool,
            ends: &[i64],
        ) -> $crate::Result<Vec<u64>> {
            $crate::analytics::cohort_sizes(self, project, event, window, did, ends)
        }
        fn who(&self, project: &str, distinct_ids: &[String]) -> $crate::Result<Vec<String>> {
            $crate::analytics::who(self, project, distinct_ids)
        }
        fn person(
            &self,
            project: &str,
            distinct_id: &str,
        ) -> $crate::Result<Option<$crate::analytics::PersonView>> {
            $crate::analytics::person(self, project, distinct_id)
        }
        fn persons(
            &self,
            project: &str,
            search: Option<&str>,
            limit: usize,
        ) -> $crate::Result<Vec<$crate::analytics::PersonView>> {
            $crate::analytics::persons(self, project, search, limit)
        }
    };
}
pub(crate) use shared_queries;

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
pub(crate) struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) type Seen = HashSet<u64, BuildHasherDefault<Identity>>;

pub(crate) fn uuid_hash(uuid: &str) -> u64 {
    // SipHash with fixed keys: the same id hashes the same across restarts.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    uuid.hash(&mut h);
    h.finish()
}

/// One project's analytics in memory.
#[derive(Debug, Default)]
pub(crate) struct Project {
    pub(crate) names: Names,
    pub(crate) persons: Persons,
    pub(crate) cols: Columns,
    /// Hashes of the event ids seen since the layout was read back.
    pub(crate) seen: Seen,
    /// Hashes of the event ids the saved layout held.
    pub(crate) seen_saved: SortedHashes,
    /// Numeric properties trends asked for, per event (not saved).
    pub(crate) props: props::PropColumns,
}

/// Event id hashes, sorted, six bytes each: the top 16 bits of a hash
/// say which run it is in (`starts`), so only the low 48 are kept, as 32
/// and 16 bits. A lookup reads one short run. The arrays may be read in
/// place from a saved layout (see [`mapped`]).
#[derive(Debug, Default)]
pub(crate) struct SortedHashes {
    low: Col<u32>,
    mid: Col<u16>,
    /// The run of top bits `b` is `starts[b]..starts[b + 1]`; empty when
    /// no hash is held.
    starts: Col<u64>,
}

pub(crate) const RUNS: usize = 1 << 16;
const LOW_48: u64 = (1 << 48) - 1;

impl SortedHashes {
    /// An empty set to [`push`](Self::push) hashes into, in ascending order.
    pub(crate) fn with_capacity(n: usize) -> SortedHashes {
        SortedHashes {
            low: Vec::with_capacity(n).into(),
            mid: Vec::with_capacity(n).into(),
            starts: Vec::with_capacity(RUNS + 1).into(),
        }
    }

    /// The arrays as [`SortedHashes::parts`] gave them; `None` when they
    /// do not fit together.
    pub(crate) fn from_parts(
        starts: Col<u64>,
        low: Col<u32>,
        mid: Col<u16>,
    ) -> Option<SortedHashes> {
        let n = low.len() as u64;
        let sound = mid.len() == low.len()
            && if starts.is_empty() {
                n == 0
            } else {
                starts.len() == RUNS + 1
                    && starts.first() == Some(&0)
                    && starts.last() == Some(&n)
                    && starts.windows(2).all(|w| w[0] <= w[1])
            };
        sound.then_some(SortedHashes { low, mid, starts })
    }

    /// The run starts, low and middle bits, to save.
    pub(crate) fn parts(&self) -> (&[u64], &[u32], &[u16]) {
        (&self.starts, &self.low, &self.mid)
    }

    /// Adds a hash greater than every one held; false (and nothing added)
    /// for any other.
    pub(crate) fn push(&mut self, h: u64) -> bool {
        if self.last().is_some_and(|last| h <= last) {
            return false;
        }
        let run = (h >> 48) as usize;
        let held = self.low.len() as u64;
        let starts = self.starts.to_mut();
        while starts.len() <= run {
            starts.push(held);
        }
        self.low.to_mut().push(h as u32);
        self.mid.to_mut().push((h >> 32) as u16);
        true
    }

    /// Closes the runs after the last hash pushed.
    pub(crate) fn finish(mut self) -> SortedHashes {
        let held = self.low.len() as u64;
        if held > 0 && self.starts.len() <= RUNS {
            let starts = self.starts.to_mut();
            while starts.len() <= RUNS {
                starts.push(held);
            }
        }
        if !self.low.is_mapped() {
            self.low.to_mut().shrink_to_fit();
            self.mid.to_mut().shrink_to_fit();
        }
        self
    }

    /// Whether the arrays are read in place from a file.
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        self.low.is_mapped()
    }

    fn at(&self, run: usize, i: usize) -> u64 {
        ((run as u64) << 48) | (u64::from(self.mid[i]) << 32) | u64::from(self.low[i])
    }

    fn last(&self) -> Option<u64> {
        let i = self.low.len().checked_sub(1)?;
        // The run holding `i`: the last that starts at or before it
        // (runs closed by `finish` start after it).
        let run = self
            .starts
            .partition_point(|&s| s <= i as u64)
            .checked_sub(1)?;
        Some(self.at(run, i))
    }

    pub(crate) fn len(&self) -> usize {
        self.low.len()
    }

    pub(crate) fn contains(&self, h: u64) -> bool {
        let run = (h >> 48) as usize;
        let starts: &[u64] = &self.starts;
        let (Some(&from), Some(&to)) = (starts.get(run), starts.get(run + 1)) else {
            return false;
        };
        let key = h & LOW_48;
        let (low, mid): (&[u32], &[u16]) = (&self.low, &self.mid);
        let (mut lo, mut hi) = (from as usize, to as usize);
        while lo < hi {
            let m = lo + (hi - lo) / 2;
            let k = (u64::from(mid[m]) << 32) | u64::from(low[m]);
            match k.cmp(&key) {
                std::cmp::Ordering::Less => lo = m + 1,
                std::cmp::Ordering::Greater => hi = m,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// The hashes, in ascending order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.starts
            .windows(2)
            .enumerate()
            .flat_map(move |(run, w)| (w[0] as usize..w[1] as usize).map(move |i| self.at(run, i)))
    }
}

impl Project {
    /// Notes an event id's hash; false when it was seen before (a resent
    /// event).
    pub(crate) fn first_sight(&mut self, hash: u64) -> bool {
        !self.seen_saved.contains(hash) && self.seen.insert(hash)
    }

    /// Every hash seen, sorted, once each.
    pub(crate) fn seen_all(&self) -> SortedHashes {
        let mut new: Vec<u64> = self.seen.iter().copied().collect();
        new.sort_unstable();
        let mut out = SortedHashes::with_capacity(self.seen_saved.len() + new.len());
        // Two sorted runs merged in one pass; a hash in both is pushed
        // once (the second push is refused).
        let mut saved = self.seen_saved.iter().peekable();
        let mut new = new.into_iter().peekable();
        loop {
            let next = match (saved.peek(), new.peek()) {
                (Some(&a), Some(&b)) if a <= b => saved.next(),
                (Some(_), Some(_)) | (None, Some(_)) => new.next(),
                (Some(_), None) => saved.next(),
                (None, None) => break,
            };
            if let Some(h) = next {
                out.push(h);
            }
        }
        out.finish()
    }

    /// Moves the hashes seen lately in with the saved ones, sorted, which
    /// takes less than half the memory.
    pub(crate) fn settle_seen(&mut self) {
        if !self.seen.is_empty() {
            self.seen_saved = self.seen_all();
            self.seen = Seen::default();
        }
    }

    /// Reads the columns and the ids seen in place from the layout file
    /// just saved, when they are still what the file holds: the columns at
    /// `generation` and no hashes settled since. True when taken.
    pub(crate) fn use_in_place(&mut self, generation: u64, saved: layout::InPlace) -> bool {
        if saved.seen.len() != self.seen_saved.len() {
            return false;
        }
        let taken = self.cols.replace_sorted(generation, saved.cols);
        if taken {
            self.seen_saved = saved.seen;
        }
        taken
    }

    /// Folds new events in; queries call this (under the write lock) first.
    pub(crate) fn ready(&mut self) {
        if self.cols.has_delta() {
            self.cols.compact(self.persons.did_count());
        }
    }

    pub(crate) fn needs_compaction(&self) -> bool {
        self.cols.has_delta()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_hashes_find_exactly_what_they_hold() {
        let mut values: Vec<u64> = (1..5_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        values.push(u64::MAX);
        values.push(0);
        values.sort_unstable();
        let mut s = SortedHashes::with_capacity(0);
        for v in &values {
            assert!(s.push(*v));
        }
        assert!(!s.push(values[3]), "not above the last");
        let mut s = s.finish();
        assert!(!s.push(values[3]), "nor once finished");
        assert_eq!(s.iter().collect::<Vec<_>>(), values);
        assert_eq!(s.len(), values.len());
        for v in &values {
            assert!(s.contains(*v), "{v}");
            assert!(!s.contains(v.wrapping_add(1)) || values.contains(&v.wrapping_add(1)));
        }
        assert!(!SortedHashes::default().contains(7));
        let mut p = Project::default();
        assert!(p.first_sight(5) && !p.first_sight(5));
        p.settle_seen();
        assert!(p.seen.is_empty() && !p.first_sight(5) && p.first_sight(6));
        assert_eq!(p.seen_all().iter().collect::<Vec<_>>(), [5, 6]);
        p.first_sight(1);
        p.first_sight(u64::MAX);
        assert_eq!(p.seen_all().iter().collect::<Vec<_>>(), [1, 5, 6, u64::MAX]);
    }
}

/// What one ingest request achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ingested {
    pub stored: usize,
    /// Events dropped because an event with the same id was already stored.
    pub duplicates: usize,
}

/// Sizes of a project's analytics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectStats {
    pub events: usize,
    pub persons: usize,
    pub distinct_ids: usize,
    pub event_names: usize,
    pub index_bytes: usize,
}
