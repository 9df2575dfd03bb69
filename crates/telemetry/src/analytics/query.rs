//! Analytics queries: the core's kernels run over every person's events in
//! memory, split across threads; trends with property filters and
//! breakdowns run as SQL in DuckDB.

use std::collections::HashMap;

use duckdb::types::Value as DuckValue;
use liveops_core::analytics::active::{
    ActiveTally, ActiveUsers, Activity, Lifecycle, active_days, lifecycle,
};
use liveops_core::analytics::filter::{Condition, PropertyFilter};
use liveops_core::analytics::funnel::{
    Exclusion, Funnel, FunnelOrder, FunnelTotals, MAX_STEPS, Scratch,
};
use liveops_core::analytics::retention::{Cohort, Retention, RetentionTable, ReturnMode};
use liveops_core::analytics::{Interval, NameMasks, median_mean};

use super::index::Names;
use super::{Analytics, Project};
use crate::{Result, TelemetryError};

const DAY_MS: i64 = 86_400_000;

/// Event names that match: any of these; empty means every event.
pub type EventSet = Vec<String>;

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
fn scan<A: Send>(
    p: &Project,
    from: i64,
    to: i64,
    init: impl Fn() -> A + Sync,
    visit: impl Fn(&mut A, u32, &[i64], &[u32]) + Sync,
) -> Result<Vec<A>> {
    let slots = p.persons.person_slots();
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
}

/// How many breakdown values a trend shows unless asked for another number
/// (PostHog's default).
pub const DEFAULT_BREAKDOWN_LIMIT: usize = 25;
/// The most breakdown values a trend may show.
pub const MAX_BREAKDOWN_LIMIT: usize = 300;
/// The value of the series that sums the values past the limit.
pub const OTHER_VALUE: &str = "$other";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPoint {
    pub start_ms: i64,
    pub events: u64,
    pub persons: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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

fn json_path(prop: &str) -> String {
    format!("$.\"{}\"", prop.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A property filter as a DuckDB condition on the event row `e`, with its
/// parameters appended to `args` in order. Negative operators keep events
/// without the property, as [`Condition::test`] defines.
fn filter_sql(f: &PropertyFilter, args: &mut Vec<DuckValue>) -> String {
    args.push(DuckValue::Text(json_path(&f.key)));
    let x = "json_extract_string(e.properties, ?)";
    let mut text = |v: &str| args.push(DuckValue::Text(v.to_owned()));
    match &f.condition {
        Condition::Equals(v) => {
            text(v);
            format!("{x} = ?")
        }
        Condition::NotEquals(v) => {
            text(v);
            format!("coalesce({x} <> ?, true)")
        }
        Condition::Contains(v) => {
            text(v);
            format!("coalesce(contains(lower({x}), lower(?)), false)")
        }
        Condition::NotContains(v) => {
            text(v);
            format!("coalesce(NOT contains(lower({x}), lower(?)), true)")
        }
        Condition::Matches(p) => {
            text(p);
            format!("coalesce(regexp_matches({x}, ?), false)")
        }
        Condition::NotMatches(p) => {
            text(p);
            format!("coalesce(NOT regexp_matches({x}, ?), true)")
        }
        Condition::IsSet => format!("{x} IS NOT NULL"),
        Condition::IsNotSet => format!("{x} IS NULL"),
        Condition::Greater(n)
        | Condition::GreaterOrEqual(n)
        | Condition::Less(n)
        | Condition::LessOrEqual(n) => {
            let op = match f.condition {
                Condition::Greater(_) => ">",
                Condition::GreaterOrEqual(_) => ">=",
                Condition::Less(_) => "<",
                _ => "<=",
            };
            args.push(DuckValue::Double(*n));
            format!("coalesce(TRY_CAST(trim({x}) AS DOUBLE) {op} ?, false)")
        }
    }
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

impl Analytics {
    pub fn active_users(&self, project: &str, q: &ActiveQuery) -> Result<ActiveSeries> {
        let days: Vec<i64> = (0..q.days as i64)
            .map(|d| (q.from_day + d) * DAY_MS)
            .collect();
        let empty = || ActiveSeries {
            days: days.clone(),
            dau: vec![0; q.days],
            wau: vec![0; q.days],
            mau: vec![0; q.days],
        };
        let Some(out) = self.read(project, |p| -> Result<ActiveSeries> {
            let kernel = ActiveUsers {
                activity: activity(&p.names, &q.events),
                first_day: q.from_day,
                days: q.days,
            };
            // The 30-day window reaches 29 days before the first day.
            let from = (q.from_day - 29) * DAY_MS;
            let to = (q.from_day + q.days as i64) * DAY_MS;
            let parts = scan(
                p,
                from,
                to,
                || kernel.tally(),
                |acc, _, ts, names| kernel.add(ts, names, acc),
            )?;
            let mut total: Option<ActiveTally> = None;
            for part in parts {
                match &mut total {
                    Some(t) => t.merge(&part),
                    None => total = Some(part),
                }
            }
            let c = total.unwrap_or_else(|| kernel.tally()).finish();
            Ok(ActiveSeries {
                days: days.clone(),
                dau: c.dau,
                wau: c.wau,
                mau: c.mau,
            })
        }) else {
            return Ok(empty());
        };
        out
    }

    /// Persons by how many days of the range they were active: `[k]` is
    /// those active on exactly k + 1 days.
    pub fn stickiness(&self, project: &str, q: &ActiveQuery) -> Result<Vec<u64>> {
        let Some(out) = self.read(project, |p| -> Result<Vec<u64>> {
            let act = activity(&p.names, &q.events);
            let from = q.from_day * DAY_MS;
            let to = (q.from_day + q.days as i64) * DAY_MS;
            let parts = scan(
                p,
                from,
                to,
                || vec![0u64; q.days],
                |acc, _, ts, names| {
                    if let Some(n) = active_days(&act, ts, names, q.from_day, q.days) {
                        acc[n - 1] += 1;
                    }
                },
            )?;
            let mut total = vec![0u64; q.days];
            for part in parts {
                for (a, b) in total.iter_mut().zip(part) {
                    *a += b;
                }
            }
            Ok(total)
        }) else {
            return Ok(vec![0; q.days]);
        };
        out
    }

    pub fn lifecycle(&self, project: &str, q: &LifecycleQuery) -> Result<Vec<(i64, Lifecycle)>> {
        let first = q.interval.bucket(q.from_ms);
        let starts: Vec<i64> = (0..q.periods as i64)
            .map(|k| q.interval.bucket_start(first + k))
            .collect();
        let end = q.interval.bucket_start(first + q.periods as i64);
        let counts = self
            .read(project, |p| -> Result<Vec<Lifecycle>> {
                let act = activity(&p.names, &q.events);
                let parts = scan(
                    p,
                    i64::MIN,
                    end,
                    || vec![Lifecycle::default(); q.periods],
                    |acc, _, ts, names| lifecycle(&act, q.interval, first, ts, names, acc),
                )?;
                let mut total = vec![Lifecycle::default(); q.periods];
                for part in parts {
                    for (a, b) in total.iter_mut().zip(part) {
                        a.new += b.new;
                        a.returning += b.returning;
                        a.resurrecting += b.resurrecting;
                        a.dormant += b.dormant;
                    }
                }
                Ok(total)
            })
            .transpose()?
            .unwrap_or_else(|| vec![Lifecycle::default(); q.periods]);
        Ok(starts.into_iter().zip(counts).collect())
    }

    pub fn funnel(&self, project: &str, q: &FunnelQuery) -> Result<FunnelAnswer> {
        if q.steps.is_empty() || q.steps.len() > MAX_STEPS {
            return Err(TelemetryError::Query(format!(
                "a funnel needs 1 to {MAX_STEPS} steps"
            )));
        }
        let labels: Vec<String> = q.steps.iter().map(|s| s.join(" or ")).collect();
        let first_touch = match &q.breakdown {
            Some(FunnelBreakdown::Event(key)) => Some(self.first_step_values(project, q, key)?),
            _ => None,
        };
        let answer = self.read(project, |p| -> Result<FunnelAnswer> {
            // Step-1 events' breakdown values, by distinct id and time.
            let touch: HashMap<(u32, i64), String> = first_touch
                .iter()
                .flatten()
                .filter_map(|(did, ts, value)| {
                    let value = value.clone().unwrap_or_else(|| "(none)".into());
                    Some(((p.persons.did(did)?, *ts), value))
                })
                .collect();
            let mut sets: Vec<Vec<u32>> = q.steps.iter().map(|s| ids(&p.names, s)).collect();
            let mut exclusions = Vec::new();
            for (events, after, before) in &q.exclusions {
                exclusions.push(Exclusion {
                    set: sets.len(),
                    after: *after,
                    before: *before,
                });
                sets.push(ids(&p.names, events));
            }
            let funnel = Funnel {
                masks: NameMasks::new(&sets),
                steps: q.steps.len(),
                window_ms: q.window_ms,
                order: q.order,
                exclusions,
            };
            struct Acc {
                scratch: Scratch,
                totals: FunnelTotals,
                by: HashMap<String, FunnelTotals>,
                excluded: u64,
                dropped: u64,
                sample: Vec<u32>,
                next: HashMap<u32, u64>,
                paths: HashMap<Vec<u32>, u64>,
            }
            let n = q.steps.len();
            let parts = scan(
                p,
                q.from_ms,
                q.to_ms,
                || Acc {
                    scratch: Scratch::default(),
                    totals: FunnelTotals::new(n),
                    by: HashMap::new(),
                    excluded: 0,
                    dropped: 0,
                    sample: Vec::new(),
                    next: HashMap::new(),
                    paths: HashMap::new(),
                },
                |acc, person, ts, names| {
                    let Some(level) = funnel.run_with(ts, names, &mut acc.scratch) else {
                        acc.excluded += 1;
                        return;
                    };
                    if level == 0 {
                        return;
                    }
                    let times = acc.scratch.times();
                    acc.totals.add(level, times);
                    let value = match &q.breakdown {
                        Some(FunnelBreakdown::Person(key)) => {
                            let props = p.persons.person(person).map_or("", |x| x.2);
                            Some(person_prop(props, key))
                        }
                        Some(FunnelBreakdown::Event(_)) => {
                            let dids = p.persons.person(person).map_or(&[][..], |x| x.1);
                            Some(
                                dids.iter()
                                    .find_map(|d| touch.get(&(*d, times[0])))
                                    .cloned()
                                    .unwrap_or_else(|| "(none)".into()),
                            )
                        }
                        None => None,
                    };
                    if let Some(value) = value {
                        acc.by
                            .entry(value)
                            .or_insert_with(|| FunnelTotals::new(n))
                            .add(level, times);
                    }
                    if q.dropoff_after == Some(level) && level < n {
                        acc.dropped += 1;
                        if acc.sample.len() < 100 {
                            acc.sample.push(person);
                        }
                        let last = times[level - 1];
                        let at = ts.partition_point(|&t| t <= last);
                        if let Some(&next) = names.get(at) {
                            *acc.next.entry(next).or_default() += 1;
                        }
                        let mut path: Vec<u32> = Vec::with_capacity(PATH_LENGTH);
                        for &name in &names[at..] {
                            if path.len() == PATH_LENGTH {
                                break;
                            }
                            if path.last() != Some(&name) {
                                path.push(name);
                            }
                        }
                        *acc.paths.entry(path).or_default() += 1;
                    }
                },
            )?;
            let mut totals = FunnelTotals::new(n);
            let mut by: HashMap<String, FunnelTotals> = HashMap::new();
            let (mut excluded, mut dropped) = (0, 0);
            let mut sample = Vec::new();
            let mut next: HashMap<u32, u64> = HashMap::new();
            let mut paths: HashMap<Vec<u32>, u64> = HashMap::new();
            for part in parts {
                totals.merge(part.totals);
                for (k, v) in part.by {
                    by.entry(k).or_insert_with(|| FunnelTotals::new(n)).merge(v);
                }
                excluded += part.excluded;
                dropped += part.dropped;
                sample.extend(part.sample);
                for (k, v) in part.next {
                    *next.entry(k).or_default() += v;
                }
                for (k, v) in part.paths {
                    *paths.entry(k).or_default() += v;
                }
            }
            let mut breakdown: Vec<(String, Vec<FunnelStep>)> = by
                .into_iter()
                .map(|(k, mut v)| (k, steps_of(&labels, &mut v)))
                .collect();
            breakdown.sort_by(|a, b| {
                b.1.first()
                    .map(|s| s.count)
                    .cmp(&a.1.first().map(|s| s.count))
                    .then_with(|| a.0.cmp(&b.0))
            });
            let dropoff = q.dropoff_after.map(|after| {
                let mut next: Vec<(String, u64)> = next
                    .into_iter()
                    .map(|(k, v)| (p.names.name(k).to_owned(), v))
                    .collect();
                next.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                next.truncate(10);
                let mut paths: Vec<(Vec<String>, u64)> = paths
                    .into_iter()
                    .map(|(k, v)| (k.iter().map(|&n| p.names.name(n).to_owned()).collect(), v))
                    .collect();
                paths.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                paths.truncate(10);
                sample.truncate(100);
                DropOff {
                    after_step: after,
                    total: dropped,
                    persons: sample
                        .iter()
                        .filter_map(|&person| {
                            p.persons
                                .person(person)
                                .and_then(|x| x.1.first().copied())
                                .map(|d| p.persons.did_name(d).to_owned())
                        })
                        .collect(),
                    next_events: next,
                    paths,
                }
            });
            Ok(FunnelAnswer {
                steps: steps_of(&labels, &mut totals),
                breakdown,
                dropoff,
                excluded,
            })
        });
        match answer {
            Some(a) => a,
            None => Ok(FunnelAnswer {
                steps: steps_of(&labels, &mut FunnelTotals::new(q.steps.len())),
                breakdown: Vec::new(),
                dropoff: None,
                excluded: 0,
            }),
        }
    }

    /// Every step-1 event in the funnel's range with the breakdown
    /// property's value: (distinct id, time, value).
    fn first_step_values(
        &self,
        project: &str,
        q: &FunnelQuery,
        key: &str,
    ) -> Result<Vec<(String, i64, Option<String>)>> {
        let first = q.steps.first().map(Vec::as_slice).unwrap_or(&[]);
        if first.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; first.len()].join(", ");
        let sql = format!(
            "SELECT distinct_id, ts, json_extract_string(properties, ?) FROM analytics_events \
             WHERE project_id = ? AND ts >= ? AND ts < ? AND event IN ({marks})"
        );
        let mut args = vec![
            DuckValue::Text(json_path(key)),
            DuckValue::Text(project.to_owned()),
            DuckValue::BigInt(q.from_ms),
            DuckValue::BigInt(q.to_ms),
        ];
        args.extend(first.iter().map(|e| DuckValue::Text(e.clone())));
        self.with_read_conn(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(duckdb::params_from_iter(args.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    pub fn retention(&self, project: &str, q: &RetentionQuery) -> Result<Vec<RetentionCohort>> {
        if q.periods == 0 || q.periods > 64 {
            return Err(TelemetryError::Query(
                "retention covers 1 to 64 periods".into(),
            ));
        }
        let first = q.interval.bucket(q.from_ms);
        let end = q.interval.bucket_start(first + q.periods as i64);
        let table = self
            .read(project, |p| -> Result<RetentionTable> {
                let kernel = Retention {
                    masks: NameMasks::new(&[ids(&p.names, &q.start), ids(&p.names, &q.returning)]),
                    interval: q.interval,
                    first,
                    periods: q.periods,
                    cohort: q.cohort,
                    mode: q.mode,
                };
                // First-time cohorts need what came before; "on or after"
                // needs nothing after the last period beyond knowing it.
                let to = match q.mode {
                    ReturnMode::On => end,
                    ReturnMode::OnOrAfter => i64::MAX,
                };
                let parts = scan(
                    p,
                    i64::MIN,
                    to,
                    || RetentionTable::new(q.periods),
                    |acc, _, ts, names| kernel.add(ts, names, acc),
                )?;
                let mut total = RetentionTable::new(q.periods);
                for part in &parts {
                    total.merge(part);
                }
                Ok(total)
            })
            .transpose()?
            .unwrap_or_else(|| RetentionTable::new(q.periods));
        Ok(table
            .counts
            .into_iter()
            .enumerate()
            .map(|(c, counts)| RetentionCohort {
                start_ms: q.interval.bucket_start(first + c as i64),
                counts: counts.into_iter().take(q.periods - c).collect(),
            })
            .collect())
    }

    /// Adoption, frequency and ranking of features over `[from, to)`.
    pub fn features(
        &self,
        project: &str,
        features: &[Feature],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<FeatureReport> {
        let empty = FeatureReport {
            active_users: 0,
            features: features
                .iter()
                .map(|f| FeatureUse {
                    name: f.name.clone(),
                    users: 0,
                    adoption: 0.0,
                    events: 0,
                    per_user: 0.0,
                })
                .collect(),
        };
        let features = &features[..features.len().min(64)];
        let Some(out) = self.read(project, |p| -> Result<FeatureReport> {
            let masks = NameMasks::new(
                &features
                    .iter()
                    .map(|f| ids(&p.names, &f.events))
                    .collect::<Vec<_>>(),
            );
            let k = features.len();
            // (active people, per feature: users, events)
            let parts = scan(
                p,
                from_ms,
                to_ms,
                || (0u64, vec![(0u64, 0u64); k]),
                |acc, _, _, names| {
                    acc.0 += 1;
                    let mut used = 0u64;
                    for &n in names {
                        let m = masks.of(n);
                        if m != 0 {
                            used |= m;
                            let mut bits = m;
                            while bits != 0 {
                                let i = bits.trailing_zeros() as usize;
                                bits &= bits - 1;
                                acc.1[i].1 += 1;
                            }
                        }
                    }
                    while used != 0 {
                        let i = used.trailing_zeros() as usize;
                        used &= used - 1;
                        acc.1[i].0 += 1;
                    }
                },
            )?;
            let mut active = 0;
            let mut per = vec![(0u64, 0u64); k];
            for (a, v) in parts {
                active += a;
                for (x, y) in per.iter_mut().zip(v) {
                    x.0 += y.0;
                    x.1 += y.1;
                }
            }
            let mut list: Vec<FeatureUse> = features
                .iter()
                .zip(per)
                .map(|(f, (users, events))| FeatureUse {
                    name: f.name.clone(),
                    users,
                    adoption: if active == 0 {
                        0.0
                    } else {
                        users as f64 / active as f64
                    },
                    events,
                    per_user: if users == 0 {
                        0.0
                    } else {
                        events as f64 / users as f64
                    },
                })
                .collect();
            list.sort_by(|a, b| b.users.cmp(&a.users).then_with(|| a.name.cmp(&b.name)));
            Ok(FeatureReport {
                active_users: active,
                features: list,
            })
        }) else {
            return Ok(empty);
        };
        out
    }

    /// Event counts and unique people per interval, filtered and broken
    /// down by event properties, computed by DuckDB.
    pub fn trends(&self, project: &str, q: &TrendsQuery) -> Result<Vec<TrendSeries>> {
        let bucket = match q.interval {
            Interval::Hour => "e.ts // 3600000".to_owned(),
            Interval::Day => "e.ts // 86400000".to_owned(),
            Interval::Week => "((e.ts // 86400000) + 3) // 7".to_owned(),
            Interval::Month => {
                "year(make_timestamp(e.ts * 1000)) * 12 + month(make_timestamp(e.ts * 1000)) - 1"
                    .to_owned()
            }
        };
        let mut args: Vec<DuckValue> = vec![
            DuckValue::Text(project.to_owned()),
            DuckValue::Text(project.to_owned()),
            DuckValue::BigInt(q.from_ms),
            DuckValue::BigInt(q.to_ms),
        ];
        let mut filter = String::new();
        if let Some(e) = &q.event {
            filter.push_str(" AND e.event = ?");
            args.push(DuckValue::Text(e.clone()));
        }
        for f in &q.filters {
            filter.push_str(" AND ");
            filter.push_str(&filter_sql(f, &mut args));
        }
        let limit = q.breakdown_limit.clamp(1, MAX_BREAKDOWN_LIMIT);
        let sql = match &q.breakdown {
            Some(k) => {
                // Bound in text order: the CTE's project id, then this path.
                args.insert(1, DuckValue::Text(json_path(k)));
                args.push(DuckValue::BigInt(limit as i64));
                // Only the top values by events keep their own series; the
                // rest become one, so a property with a value per event
                // costs one series, not one per value.
                format!(
                    "WITH ids AS (SELECT distinct_id, arg_max(person_id, version) AS person_id \
                     FROM analytics_person_ids WHERE project_id = ? GROUP BY distinct_id), \
                     base AS (SELECT json_extract_string(e.properties, ?) AS value, {bucket} AS bucket, \
                     coalesce(ids.person_id, e.distinct_id) AS who \
                     FROM analytics_events e LEFT JOIN ids USING (distinct_id) \
                     WHERE e.project_id = ? AND e.ts >= ? AND e.ts < ?{filter}), \
                     top AS (SELECT value FROM base WHERE value IS NOT NULL GROUP BY value \
                     ORDER BY count(*) DESC, value LIMIT ?) \
                     SELECT CASE WHEN value IS NULL THEN NULL \
                     WHEN value IN (SELECT value FROM top) THEN value ELSE '{OTHER_VALUE}' END AS shown, \
                     value IS NOT NULL AND value NOT IN (SELECT value FROM top) AS is_other, \
                     bucket, count(*) AS events, count(DISTINCT who) AS persons \
                     FROM base GROUP BY shown, is_other, bucket \
                     ORDER BY is_other, shown NULLS FIRST, bucket"
                )
            }
            None => format!(
                "WITH ids AS (SELECT distinct_id, arg_max(person_id, version) AS person_id \
                 FROM analytics_person_ids WHERE project_id = ? GROUP BY distinct_id) \
                 SELECT NULL::VARCHAR AS shown, false AS is_other, {bucket} AS bucket, count(*) AS events, \
                 count(DISTINCT coalesce(ids.person_id, e.distinct_id)) AS persons \
                 FROM analytics_events e LEFT JOIN ids USING (distinct_id) \
                 WHERE e.project_id = ? AND e.ts >= ? AND e.ts < ?{filter} \
                 GROUP BY ALL ORDER BY bucket"
            ),
        };
        let rows: Vec<(Option<String>, bool, i64, i64, i64)> = self.with_read_conn(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(duckdb::params_from_iter(args.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        let first = q.interval.bucket(q.from_ms);
        let last = q.interval.bucket(q.to_ms - 1);
        let mut series: Vec<TrendSeries> = Vec::new();
        for (value, other, b, events, persons) in rows {
            if series
                .last()
                .is_none_or(|s| s.value != value || s.other != other)
            {
                series.push(TrendSeries {
                    value: value.clone(),
                    other,
                    points: (first..=last)
                        .map(|k| TrendPoint {
                            start_ms: q.interval.bucket_start(k),
                            events: 0,
                            persons: 0,
                        })
                        .collect(),
                });
            }
            if let Some(pt) = series.last_mut().and_then(|s| {
                usize::try_from(b - first)
                    .ok()
                    .and_then(|i| s.points.get_mut(i))
            }) {
                pt.events = events as u64;
                pt.persons = persons as u64;
            }
        }
        if series.is_empty() {
            series.push(TrendSeries {
                value: None,
                other: false,
                points: (first..=last)
                    .map(|k| TrendPoint {
                        start_ms: q.interval.bucket_start(k),
                        events: 0,
                        persons: 0,
                    })
                    .collect(),
            });
        }
        Ok(series)
    }

    /// The person a distinct id belongs to.
    pub fn person(&self, project: &str, distinct_id: &str) -> Option<PersonView> {
        self.read(project, |p| {
            let d = p.persons.did(distinct_id)?;
            let (id, dids, props, created) = p.persons.person(p.persons.person_of(d))?;
            Some(PersonView {
                id: id.to_owned(),
                distinct_ids: dids
                    .iter()
                    .map(|d| p.persons.did_name(*d).to_owned())
                    .collect(),
                properties: props.to_owned(),
                created_at: created,
            })
        })
        .flatten()
    }

    /// Persons, newest first, whose distinct id contains `search`.
    pub fn persons(&self, project: &str, search: Option<&str>, limit: usize) -> Vec<PersonView> {
        self.read(project, |p| {
            let mut out = Vec::new();
            for slot in (0..p.persons.person_slots() as u32).rev() {
                let Some((id, dids, props, created)) = p.persons.person(slot) else {
                    continue;
                };
                let names: Vec<String> = dids
                    .iter()
                    .map(|d| p.persons.did_name(*d).to_owned())
                    .collect();
                if let Some(s) = search
                    && !names.iter().any(|n| n.contains(s))
                    && id != s
                {
                    continue;
                }
                out.push(PersonView {
                    id: id.to_owned(),
                    distinct_ids: names,
                    properties: props.to_owned(),
                    created_at: created,
                });
                if out.len() >= limit {
                    break;
                }
            }
            out
        })
        .unwrap_or_default()
    }

    /// A person's latest events, newest first.
    pub fn person_events(
        &self,
        project: &str,
        distinct_ids: &[String],
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        if distinct_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; distinct_ids.len()].join(", ");
        let sql = format!(
            "SELECT uuid, event, distinct_id, ts, properties FROM analytics_events \
             WHERE project_id = ? AND distinct_id IN ({marks}) ORDER BY ts DESC LIMIT {limit}"
        );
        let mut args = vec![DuckValue::Text(project.to_owned())];
        args.extend(distinct_ids.iter().map(|d| DuckValue::Text(d.clone())));
        self.with_read_conn(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(duckdb::params_from_iter(args.iter()), |r| {
                    Ok(StoredEvent {
                        uuid: r.get(0)?,
                        event: r.get(1)?,
                        distinct_id: r.get(2)?,
                        at_ms: r.get(3)?,
                        properties: r.get(4)?,
                    })
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Event names seen in a project, with how many events each.
    pub fn event_names(&self, project: &str) -> Vec<(String, u64)> {
        self.read(project, |p| {
            let mut counts = vec![0u64; p.names.len()];
            for person in 0..p.persons.did_count() as u32 {
                for &n in p.cols.of(person).1 {
                    counts[n as usize] += 1;
                }
            }
            let mut out: Vec<(String, u64)> = counts
                .into_iter()
                .enumerate()
                .map(|(i, c)| (p.names.name(i as u32).to_owned(), c))
                .filter(|(_, c)| *c > 0)
                .collect();
            out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            out
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liveops_core::analytics::filter::parse_filters;

    /// Each filter selects in DuckDB exactly the rows that the core's
    /// definition of the filter accepts.
    #[test]
    fn filter_sql_agrees_with_the_core_definition() {
        let rows = [
            r#"{"plan": "pro", "n": 12, "url": "https://x.io/Checkout?a=1"}"#,
            r#"{"plan": "free", "n": "7.5", "url": "/docs/start"}"#,
            r#"{"plan": null, "n": "ten", "flag": true}"#,
            r#"{"n": 10, "url": "/DOCS"}"#,
            r#"{}"#,
        ];
        let conn = duckdb::Connection::open_in_memory().expect("duckdb");
        conn.execute_batch("CREATE TABLE ev (id INTEGER, properties VARCHAR)")
            .expect("table");
        for (i, r) in rows.iter().enumerate() {
            conn.execute("INSERT INTO ev VALUES (?, ?)", duckdb::params![i as i32, r])
                .expect("row");
        }
        let text_of = |row: &str, key: &str| -> Option<String> {
            let v: serde_json::Value = serde_json::from_str(row).ok()?;
            match v.get(key)? {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            }
        };
        let filters = "plan=pro;plan!=pro;url~checkout;url!~checkout;url=~^/docs;url!=~^/d;\
                       n>10;n>=10;n<10;n<=7.5;plan?;plan!?;flag=true;n=12";
        for f in parse_filters(filters).expect("filters") {
            let mut args = Vec::new();
            let cond = filter_sql(&f, &mut args);
            let sql = format!("SELECT id FROM ev e WHERE {cond} ORDER BY id");
            let mut stmt = conn.prepare(&sql).expect("prepare");
            let got: Vec<i32> = stmt
                .query_map(duckdb::params_from_iter(args.iter()), |r| r.get(0))
                .expect("query")
                .collect::<std::result::Result<_, _>>()
                .expect("rows");
            let want: Vec<i32> = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| f.condition.test(text_of(r, &f.key).as_deref()))
                .map(|(i, _)| i as i32)
                .collect();
            assert_eq!(got, want, "filter {f}");
        }
    }
}
