//! Analytics queries: the core's kernels run over every person's events in
//! memory, split across threads. Each backend is a [`Source`] that hands
//! the queries a project's events laid out per person, so both backends
//! answer with the same code. Trends, which need event properties, are
//! each backend's own.

use std::collections::HashMap;

use liveops_core::analytics::active::{
    ActiveTally, ActiveUsers, Activity, Lifecycle, active_days, lifecycle,
};
use liveops_core::analytics::filter::PropertyFilter;
use liveops_core::analytics::funnel::{
    Exclusion, Funnel, FunnelOrder, FunnelTotals, MAX_STEPS, Scratch,
};
pub use liveops_core::analytics::math::SeriesMath;
use liveops_core::analytics::retention::{Cohort, Retention, RetentionTable, ReturnMode};
use liveops_core::analytics::web::{self, PageView};
use liveops_core::analytics::{Interval, NameMasks, median_mean};

use super::Project;
use super::index::Names;
use crate::{Result, TelemetryError};

const DAY_MS: i64 = 86_400_000;

/// Event names that match: any of these; empty means every event.
pub type EventSet = Vec<String>;

/// The persons of a cohort, as the stores name who did something: a
/// person's id, or the distinct id of events nobody is linked to. Cheap to
/// clone; sorted, so a lookup is a binary search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members(std::sync::Arc<Vec<String>>);

impl Members {
    pub fn new(mut who: Vec<String>) -> Members {
        who.sort_unstable();
        who.dedup();
        Members(std::sync::Arc::new(who))
    }

    pub fn contains(&self, who: &str) -> bool {
        self.0.binary_search_by(|m| m.as_str().cmp(who)).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// In order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Those in both.
    pub fn intersect(&self, other: &Members) -> Members {
        let (small, large) = if self.len() <= other.len() {
            (self, other)
        } else {
            (other, self)
        };
        Members(std::sync::Arc::new(
            small
                .0
                .iter()
                .filter(|m| large.contains(m))
                .cloned()
                .collect(),
        ))
    }
}

/// What a query reads: events in `[from, to)` with one of `names` (all
/// names when empty), or only the persons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Need {
    pub from: i64,
    pub to: i64,
    pub names: Vec<String>,
    pub persons_only: bool,
    /// Whether the query looks at distinct ids by name or at person
    /// properties. When it does not, a store may lay out only the persons
    /// with events in range, each under one distinct id named by the
    /// person's id, with no properties.
    pub detail: bool,
    /// When set, the query looks only at which bucket of this interval
    /// each event falls in and at its name, so a store may give one event
    /// per person, bucket and name, at the bucket's start. The query's
    /// range must then fall on the interval's boundaries.
    pub grain: Option<Interval>,
}

impl Need {
    pub fn events(names: &[String], from: i64, to: i64) -> Need {
        let mut names = names.to_vec();
        names.sort_unstable();
        names.dedup();
        Need {
            from,
            to,
            names,
            persons_only: false,
            detail: true,
            grain: None,
        }
    }

    /// The same events, for a query that only counts persons by their
    /// events (see [`Need::detail`]).
    pub fn counting(mut self) -> Need {
        self.detail = false;
        self
    }

    /// The same events, for a query that counts persons by the buckets of
    /// `interval` they were active in (see [`Need::grain`]).
    pub fn by(mut self, interval: Interval) -> Need {
        self.detail = false;
        self.grain = Some(interval);
        self
    }

    pub fn persons() -> Need {
        Need {
            from: 0,
            to: 0,
            names: Vec::new(),
            persons_only: true,
            detail: true,
            grain: None,
        }
    }
}

/// Where the queries find a project's persons and events.
pub(crate) trait Source {
    /// Runs `f` over the project laid out per person, holding at least
    /// what `need` names; `None` when the project has no analytics.
    fn read<T>(
        &self,
        project: &str,
        need: &Need,
        f: impl FnOnce(&Project) -> T,
    ) -> Result<Option<T>>;

    /// Every event named one of `names` in `[from, to)`, with the text of
    /// its property `key`: (distinct id, time, value).
    fn property_values(
        &self,
        project: &str,
        names: &[String],
        from: i64,
        to: i64,
        key: &str,
    ) -> Result<Vec<(String, i64, Option<String>)>>;
}

/// A property's value as text, as filters and breakdowns compare it:
/// strings as they are, other JSON values as JSON, `null` and missing as
/// `None`.
/// A page view from its stored row: each web property read as
/// [`property_text`] reads one, from one parse of the document.
pub(crate) fn page_view(who: String, at_ms: i64, properties: &str) -> PageView {
    // Most documents read as the web properties alone, each left as its
    // JSON text, without building the rest; one that does not (a repeated
    // key, say) is read whole, as before.
    if let Ok(w) = serde_json::from_str::<WebProperties>(properties) {
        return PageView::from_values(who, at_ms, w.texts());
    }
    let mut m = match serde_json::from_str(properties) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let values = web::PROPERTIES.map(|k| match m.remove(k) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    });
    PageView::from_values(who, at_ms, values)
}

/// The properties a page view is read for, as their JSON texts.
#[derive(serde::Deserialize)]
struct WebProperties<'a> {
    #[serde(rename = "$session_id", borrow, default)]
    session_id: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "$current_url", borrow, default)]
    url: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "$pathname", borrow, default)]
    pathname: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "$referrer", borrow, default)]
    referrer: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "$referring_domain", borrow, default)]
    referring_domain: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "utm_source", borrow, default)]
    utm_source: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "utm_medium", borrow, default)]
    utm_medium: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "utm_campaign", borrow, default)]
    utm_campaign: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "$browser", borrow, default)]
    browser: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "$os", borrow, default)]
    os: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "$device_type", borrow, default)]
    device_type: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "$geoip_country_name", borrow, default)]
    country_name: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "$geoip_country_code", borrow, default)]
    country_code: Option<&'a serde_json::value::RawValue>,
}

impl WebProperties<'_> {
    /// The texts, in the order of [`web::PROPERTIES`], as
    /// [`property_text`] reads each.
    fn texts(&self) -> [Option<String>; 13] {
        let text = |raw: Option<&serde_json::value::RawValue>| -> Option<String> {
            let raw = raw?.get();
            match raw.as_bytes().first() {
                Some(b'"') => serde_json::from_str::<String>(raw).ok(),
                _ => match serde_json::from_str::<serde_json::Value>(raw).ok()? {
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                },
            }
        };
        [
            text(self.session_id),
            text(self.url),
            text(self.pathname),
            text(self.referrer),
            text(self.referring_domain),
            text(self.utm_source),
            text(self.utm_medium),
            text(self.utm_campaign),
            text(self.browser),
            text(self.os),
            text(self.device_type),
            text(self.country_name),
            text(self.country_code),
        ]
    }
}

/// Which events [`crate::Analytics::property_rows`] reads, and which of
/// their properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowsQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Events with one of these names...
    pub names: Vec<String>,
    /// ...or with one of these properties set.
    pub carrying: Vec<String>,
    /// The properties read, in order.
    pub keys: Vec<String>,
}

impl RowsQuery {
    /// The texts a stored event's properties document holds each property
    /// name as, for a first cut by substring: a document without any of
    /// them carries none of the properties.
    pub(crate) fn needles(&self) -> Vec<String> {
        self.carrying
            .iter()
            .map(|k| serde_json::Value::String(k.clone()).to_string())
            .collect()
    }

    /// A stored event as a row, or `None` when it is neither named nor
    /// carries a property (the substring cut let it through).
    pub(crate) fn row(
        &self,
        (who, distinct_id): (String, String),
        at_ms: i64,
        event: String,
        properties: &str,
    ) -> Option<PropertyRow> {
        let mut m = match serde_json::from_str(properties) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let named = self.names.contains(&event);
        let carries = self
            .carrying
            .iter()
            .any(|k| m.get(k).is_some_and(|v| !v.is_null()));
        if !named && !carries {
            return None;
        }
        let values = self
            .keys
            .iter()
            .map(|k| match m.remove(k) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s),
                Some(other) => Some(other.to_string()),
            })
            .collect();
        Some(PropertyRow {
            who,
            distinct_id,
            at_ms,
            event,
            values,
        })
    }
}

/// One event as [`RowsQuery`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyRow {
    pub who: String,
    /// The distinct id the event came with.
    pub distinct_id: String,
    pub at_ms: i64,
    pub event: String,
    /// The texts of the query's `keys`, in order.
    pub values: Vec<Option<String>>,
}

pub fn property_text(properties: &str, key: &str) -> Option<String> {
    let Ok(serde_json::Value::Object(mut m)) = serde_json::from_str(properties) else {
        return None;
    };
    match m.remove(key)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn ids(names: &Names, set: &[String]) -> Vec<u32> {
    set.iter().filter_map(|n| names.get(n)).collect()
}

fn activity(names: &Names, set: &[String]) -> Activity {
    if set.is_empty() {
        Activity::Any
    } else {
        Activity::Events(NameMasks::new(&[ids(names, set)]))
    }
}

/// Runs `visit` for every live person with their time-sorted events within
/// `[from, to)`, on every core, and returns each worker's accumulator.
/// With `keep`, only the persons in it are visited.
fn scan<A: Send>(
    p: &Project,
    from: i64,
    to: i64,
    keep: Option<&Members>,
    init: impl Fn() -> A + Sync,
    visit: impl Fn(&mut A, u32, &[i64], &[u32]) + Sync,
) -> Result<Vec<A>> {
    let slots = p.persons.person_slots();
    let kept: Option<Vec<bool>> = keep.map(|m| {
        (0..slots as u32)
            .map(|slot| {
                p.persons
                    .person(slot)
                    .is_some_and(|v| m.contains(&v.0.text()))
            })
            .collect()
    });
    let kept = kept.as_deref();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = slots.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (init, visit) = (&init, &visit);
                s.spawn(move || {
                    let mut acc = init();
                    let (mut ts_buf, mut name_buf) = (Vec::new(), Vec::new());
                    let mut pairs: Vec<(i64, u32)> = Vec::new();
                    for person in (t * chunk)..((t + 1) * chunk).min(slots) {
                        if kept.is_some_and(|k| !k.get(person).copied().unwrap_or(false)) {
                            continue;
                        }
                        let Some((_, dids, _, _)) = p.persons.person(person as u32) else {
                            continue;
                        };
                        let (ts, names): (&[i64], &[u32]) = if dids.len() == 1 {
                            p.cols.of(dids[0])
                        } else {
                            // Several distinct ids: merge their runs by time.
                            pairs.clear();
                            for d in dids {
                                let (t, n) = p.cols.of(*d);
                                pairs.extend(t.iter().copied().zip(n.iter().copied()));
                            }
                            pairs.sort_by_key(|e| e.0);
                            ts_buf.clear();
                            name_buf.clear();
                            ts_buf.extend(pairs.iter().map(|e| e.0));
                            name_buf.extend(pairs.iter().map(|e| e.1));
                            (&ts_buf, &name_buf)
                        };
                        let a = ts.partition_point(|&x| x < from);
                        let b = ts.partition_point(|&x| x < to);
                        if a < b {
                            visit(&mut acc, person as u32, &ts[a..b], &names[a..b]);
                        }
                    }
                    acc
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| TelemetryError::Query("a query worker failed".into()))
            })
            .collect()
    })
}

/// DAU, WAU and MAU for each day from `from_day` (days since the epoch).
#[derive(Debug, Clone)]
pub struct ActiveQuery {
    pub events: EventSet,
    pub from_day: i64,
    pub days: usize,
    /// Only these persons (a cohort); everyone when `None`.
    pub persons: Option<Members>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSeries {
    /// Each day's first millisecond.
    pub days: Vec<i64>,
    pub dau: Vec<u64>,
    pub wau: Vec<u64>,
    pub mau: Vec<u64>,
}

/// One step of a funnel's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelStep {
    pub label: String,
    pub count: u64,
    /// Share of step 1's people, 0 to 1.
    pub conversion: f64,
    /// Share of the step before's people.
    pub from_previous: f64,
    /// 1 − `from_previous`.
    pub dropoff: f64,
    pub median_ms: Option<i64>,
    pub mean_ms: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct FunnelQuery {
    pub steps: Vec<EventSet>,
    pub window_ms: i64,
    pub order: FunnelOrder,
    /// (events, after step, before step), steps 0-based.
    pub exclusions: Vec<(EventSet, usize, usize)>,
    pub from_ms: i64,
    pub to_ms: i64,
    pub breakdown: Option<FunnelBreakdown>,
    /// Who dropped off after reaching this many steps (1-based), and what
    /// they did next.
    pub dropoff_after: Option<usize>,
    /// Name the distinct ids of the persons who completed every step.
    pub converted: bool,
    /// Only these persons (a cohort); everyone when `None`.
    pub persons: Option<Members>,
}

/// What to break a funnel down by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunnelBreakdown {
    /// A person property, as the person has it now.
    Person(String),
    /// An event property, as the event that started the person's path (their
    /// step-1 event) carried it: PostHog's first-touch attribution.
    Event(String),
}

/// How many events a drop-off path follows.
pub const PATH_LENGTH: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct DropOff {
    pub after_step: usize,
    pub total: u64,
    /// Up to 100 of them, by a distinct id.
    pub persons: Vec<String>,
    /// What they did next, most common first.
    pub next_events: Vec<(String, u64)>,
    /// The next [`PATH_LENGTH`] events they did (repeats in a row counted
    /// once), most common first; an empty path means they did nothing more.
    pub paths: Vec<(Vec<String>, u64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunnelAnswer {
    pub steps: Vec<FunnelStep>,
    pub breakdown: Vec<(String, Vec<FunnelStep>)>,
    pub dropoff: Option<DropOff>,
    /// People the exclusions removed.
    pub excluded: u64,
    /// With `converted`: every distinct id of each person who completed
    /// every step.
    pub converted: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RetentionQuery {
    pub start: EventSet,
    pub returning: EventSet,
    pub interval: Interval,
    /// The first cohort's first millisecond (any time inside it will do).
    pub from_ms: i64,
    pub periods: usize,
    pub cohort: Cohort,
    pub mode: ReturnMode,
    /// Only these persons (a cohort); everyone when `None`.
    pub persons: Option<Members>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionCohort {
    pub start_ms: i64,
    /// [0] is the cohort's size; [k] who returned k periods later.
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct LifecycleQuery {
    pub events: EventSet,
    pub interval: Interval,
    pub from_ms: i64,
    pub periods: usize,
    /// Only these persons (a cohort); everyone when `None`.
    pub persons: Option<Members>,
}

#[derive(Debug, Clone)]
pub struct Feature {
    pub name: String,
    pub events: EventSet,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureUse {
    pub name: String,
    /// People who used it in the range.
    pub users: u64,
    /// `users` ÷ active people in the range.
    pub adoption: f64,
    pub events: u64,
    /// Uses per user.
    pub per_user: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureReport {
    pub active_users: u64,
    /// Most used first.
    pub features: Vec<FeatureUse>,
}

/// Trends: counts and unique people per interval.
#[derive(Debug, Clone)]
pub struct TrendsQuery {
    /// `None` for every event.
    pub event: Option<String>,
    pub interval: Interval,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Conditions on event properties, all of which must hold.
    pub filters: Vec<PropertyFilter>,
    /// An event property to break down by.
    pub breakdown: Option<String>,
    /// The most breakdown values shown, by event count; the rest are
    /// summed into one "other" series.
    pub breakdown_limit: usize,
    /// The number each point shows as its `value`.
    pub math: SeriesMath,
    /// Only the events of these persons (a cohort); everyone's when `None`.
    pub persons: Option<Members>,
}

/// How many breakdown values a trend shows unless asked for another number
/// (PostHog's default).
pub const DEFAULT_BREAKDOWN_LIMIT: usize = 25;
/// The most breakdown values a trend may show.
pub const MAX_BREAKDOWN_LIMIT: usize = 300;
/// The value of the series that sums the values past the limit.
pub const OTHER_VALUE: &str = "$other";

#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub start_ms: i64,
    pub events: u64,
    pub persons: u64,
    /// What the query's math asked for: the events, the persons, or the
    /// property aggregate (`None` where no event had a number to give).
    pub value: Option<f64>,
}

impl TrendPoint {
    /// An interval with nothing in it yet.
    pub fn empty(start_ms: i64, math: &SeriesMath) -> TrendPoint {
        let value = match math {
            SeriesMath::Property(p) => p.outer().of(&mut []),
            _ => Some(0.0),
        };
        TrendPoint {
            start_ms,
            events: 0,
            persons: 0,
            value,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrendSeries {
    /// The breakdown value; `None` without a breakdown (or when unset).
    pub value: Option<String>,
    /// This series sums every breakdown value past the limit.
    pub other: bool,
    pub points: Vec<TrendPoint>,
}

/// A person, for the persons list and page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonView {
    pub id: String,
    pub distinct_ids: Vec<String>,
    pub properties: String,
    pub created_at: i64,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub uuid: String,
    pub event: String,
    pub distinct_id: String,
    pub at_ms: i64,
    pub properties: String,
}

fn person_prop(props: &str, key: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(props) {
        Ok(serde_json::Value::Object(m)) => match m.get(key) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => "(none)".into(),
            Some(v) => v.to_string(),
        },
        _ => "(none)".into(),
    }
}

fn steps_of(labels: &[String], totals: &mut FunnelTotals) -> Vec<FunnelStep> {
    let first = totals.reached.first().copied().unwrap_or(0);
    labels
        .iter()
        .enumerate()
        .map(|(k, label)| {
            let count = totals.reached[k];
            let prev = if k == 0 { count } else { totals.reached[k - 1] };
            let share = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            let from_previous = share(count, prev);
            let mm = median_mean(&mut totals.to_convert[k]);
            FunnelStep {
                label: label.clone(),
                count,
                conversion: share(count, first),
                from_previous,
                dropoff: 1.0 - from_previous,
                median_ms: mm.map(|m| m.0),
                mean_ms: mm.map(|m| m.1),
            }
        })
        .collect()
}

mod active;
mod cohort;
mod features;
mod funnel;
mod persons;
mod retention;

pub(crate) use active::{active_users, lifecycles, stickiness};
pub use cohort::CohortQuery;
pub(crate) use cohort::{cohort, cohort_sizes, who};
pub(crate) use features::features;
pub(crate) use funnel::funnel;
pub(crate) use persons::{event_names, person, persons};
pub(crate) use retention::retention;
