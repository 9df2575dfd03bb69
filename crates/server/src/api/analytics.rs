//! Usage analytics over the API: trends, active users, stickiness,
//! lifecycle, funnels with drop-off, retention, features, persons (and their
//! deletion), retention settings and Parquet export.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use liveops_core::TimeSpan;
use liveops_core::analytics::Interval;
use liveops_core::analytics::filter::parse_filters;
use liveops_core::analytics::funnel::{FunnelOrder, MAX_STEPS};
use liveops_core::analytics::retention::{Cohort, ReturnMode};
use liveops_store::analytics::KeyFunnel;
use liveops_store::{StoreError, audit};
use liveops_telemetry::analytics as q;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, need};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::{AppState, format_ms};
use crate::timerange::{parse_when, query_range};

const DAY_MS: i64 = 86_400_000;

fn unprocessable(e: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(e.to_string())
}

/// A query's `[from, to)` as milliseconds: see [`query_range`].
fn range(
    from: Option<&str>,
    to: Option<&str>,
    default_days: i64,
    max_days: i64,
    interval: Option<Interval>,
    now: i64,
) -> ApiResult<(i64, i64)> {
    query_range(from, to, default_days, max_days, interval, now).map(|r| (r.from_ms(), r.to_ms()))
}

fn event_list(field: &str, names: &[String]) -> ApiResult<Vec<String>> {
    names
        .iter()
        .map(|n| {
            let t = n.trim();
            if t.is_empty() || t.chars().count() > 200 || t.chars().any(char::is_control) {
                Err(ApiError::unprocessable(format!(
                    "`{field}`: an event name needs 1 to 200 printable characters"
                )))
            } else {
                Ok(t.to_owned())
            }
        })
        .collect()
}

fn interval(s: Option<&str>, default: Interval) -> ApiResult<Interval> {
    s.map(|i| i.parse::<Interval>().map_err(unprocessable))
        .transpose()
        .map(|i| i.unwrap_or(default))
}

pub(crate) async fn telemetry<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&liveops_telemetry::Analytics) -> Result<T, liveops_telemetry::TelemetryError>
    + Send
    + 'static,
) -> ApiResult<T> {
    let t = state.telemetry.clone();
    tokio::task::spawn_blocking(move || f(t.analytics()))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            liveops_telemetry::TelemetryError::Query(m) => ApiError::unprocessable(m),
            other => ApiError::internal(other),
        })
}

// ---------------------------------------------------------------- events and trends

#[derive(Debug, Serialize, ToSchema)]
pub struct EventNameView {
    pub name: String,
    pub count: u64,
}

/// The event names a project has, most frequent first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/events", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Event names", body = Vec<EventNameView>)))]
pub async fn event_names(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<EventNameView>>> {
    let id = access.project.id.clone();
    let names = telemetry(&state, move |a| Ok(a.event_names(&id))).await?;
    Ok(Json(
        names
            .into_iter()
            .map(|(name, count)| EventNameView { name, count })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendsParams {
    /// One event; every event when absent.
    pub event: Option<String>,
    /// hour, day (default), week or month.
    pub interval: Option<String>,
    /// Start (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; the end of today by default.
    pub to: Option<String>,
    /// Event property filters joined by `;`: `key=value`, `key!=value`,
    /// `key~text` (contains, any case), `key!~text`, `key=~regex`,
    /// `key!=~regex`, `key>n`, `key>=n`, `key<n`, `key<=n`, `key?` (set) and
    /// `key!?` (not set). Negative ones also match events without the key.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// An event property to break down by.
    pub breakdown: Option<String>,
    /// The most breakdown values shown, by event count (25 by default, at
    /// most 300); the others are summed into one series marked `other`.
    pub breakdown_limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPointView {
    pub start: String,
    pub events: u64,
    /// Unique persons.
    pub persons: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendSeriesView {
    /// The breakdown value; null without a breakdown or when unset.
    pub value: Option<String>,
    /// This series sums every breakdown value past `breakdown_limit`.
    pub other: bool,
    pub points: Vec<TrendPointView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendsView {
    pub interval: String,
    pub series: Vec<TrendSeriesView>,
}

/// Event counts and unique persons per interval, filtered and broken down by properties.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/trends", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), TrendsParams),
    responses((status = 200, description = "Series", body = TrendsView)))]
pub async fn trends(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<TrendsParams>,
) -> ApiResult<Json<TrendsView>> {
    let interval = interval(p.interval.as_deref(), Interval::Day)?;
    let (from_ms, to_ms) = range(
        p.from.as_deref(),
        p.to.as_deref(),
        30,
        3660,
        Some(interval),
        state.now_ms(),
    )?;
    let filters = parse_filters(p.filter.as_deref().unwrap_or("")).map_err(unprocessable)?;
    let query = q::TrendsQuery {
        event: p
            .event
            .map(|e| event_list("event", &[e]))
            .transpose()?
            .and_then(|v| v.into_iter().next()),
        interval,
        from_ms,
        to_ms,
        filters,
        breakdown: p.breakdown.filter(|b| !b.trim().is_empty()),
        breakdown_limit: breakdown_limit(p.breakdown_limit)?,
    };
    let id = access.project.id.clone();
    let series = telemetry(&state, move |a| a.trends(&id, &query)).await?;
    Ok(Json(TrendsView {
        interval: interval.as_str().into(),
        series: series
            .into_iter()
            .map(|s| TrendSeriesView {
                value: s.value,
                other: s.other,
                points: s
                    .points
                    .into_iter()
                    .map(|pt| TrendPointView {
                        start: format_ms(pt.start_ms),
                        events: pt.events,
                        persons: pt.persons,
                    })
                    .collect(),
            })
            .collect(),
    }))
}

/// A breakdown limit as asked for, or the default.
pub(crate) fn breakdown_limit(asked: Option<usize>) -> ApiResult<usize> {
    match asked {
        None => Ok(q::DEFAULT_BREAKDOWN_LIMIT),
        Some(n) if (1..=q::MAX_BREAKDOWN_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::unprocessable(format!(
            "breakdown_limit must be between 1 and {}",
            q::MAX_BREAKDOWN_LIMIT
        ))),
    }
}

// ---------------------------------------------------------------- active users

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActiveParams {
    /// Count only people who did this event; any event when absent.
    pub event: Option<String>,
    /// First day; 30 days before `to` by default.
    pub from: Option<String>,
    /// Day after the last; tomorrow by default.
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveDayView {
    pub date: String,
    pub dau: u64,
    /// Distinct people over the 7 days ending this day.
    pub wau: u64,
    /// Distinct people over the 30 days ending this day.
    pub mau: u64,
}

fn day_range(p: &ActiveParams, now: i64) -> ApiResult<(i64, usize, Vec<String>)> {
    let (from, to) = range(
        p.from.as_deref(),
        p.to.as_deref(),
        30,
        400,
        Some(Interval::Day),
        now,
    )?;
    let first = from.div_euclid(DAY_MS);
    let days = (to - 1).div_euclid(DAY_MS) - first + 1;
    let events = match &p.event {
        Some(e) => event_list("event", std::slice::from_ref(e))?,
        None => Vec::new(),
    };
    Ok((first, days as usize, events))
}

/// DAU, WAU and MAU (sliding windows) for each day.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/active", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), ActiveParams),
    responses((status = 200, description = "Active users per day", body = Vec<ActiveDayView>)))]
pub async fn active(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<ActiveParams>,
) -> ApiResult<Json<Vec<ActiveDayView>>> {
    let (from_day, days, events) = day_range(&p, state.now_ms())?;
    let query = q::ActiveQuery {
        events,
        from_day,
        days,
    };
    let id = access.project.id.clone();
    let s = telemetry(&state, move |a| a.active_users(&id, &query)).await?;
    Ok(Json(
        (0..s.days.len())
            .map(|i| ActiveDayView {
                date: format_ms(s.days[i])[..10].to_owned(),
                dau: s.dau[i],
                wau: s.wau[i],
                mau: s.mau[i],
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StickinessView {
    /// Days active in the range.
    pub days: u64,
    pub persons: u64,
}

/// How many people were active on 1, 2, … days of the range.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/stickiness", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), ActiveParams),
    responses((status = 200, description = "Persons by days active", body = Vec<StickinessView>)))]
pub async fn stickiness(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<ActiveParams>,
) -> ApiResult<Json<Vec<StickinessView>>> {
    let (from_day, days, events) = day_range(&p, state.now_ms())?;
    let query = q::ActiveQuery {
        events,
        from_day,
        days,
    };
    let id = access.project.id.clone();
    let hist = telemetry(&state, move |a| a.stickiness(&id, &query)).await?;
    Ok(Json(
        hist.into_iter()
            .enumerate()
            .map(|(k, persons)| StickinessView {
                days: k as u64 + 1,
                persons,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LifecycleParams {
    pub event: Option<String>,
    /// day, week (default) or month.
    pub interval: Option<String>,
    /// Start of the first interval; 8 intervals ago by default.
    pub from: Option<String>,
    /// Intervals, 1 to 120; 8 by default.
    pub periods: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LifecycleView {
    pub start: String,
    pub new: u64,
    pub returning: u64,
    pub resurrecting: u64,
    /// Active the interval before, not this one (shown negative in charts).
    pub dormant: u64,
}

/// New, returning, resurrecting and dormant people per interval.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/lifecycle", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), LifecycleParams),
    responses((status = 200, description = "Lifecycle per interval", body = Vec<LifecycleView>)))]
pub async fn lifecycle(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<LifecycleParams>,
) -> ApiResult<Json<Vec<LifecycleView>>> {
    let interval = interval(p.interval.as_deref(), Interval::Week)?;
    if interval == Interval::Hour {
        return Err(ApiError::unprocessable(
            "lifecycle works per day, week or month",
        ));
    }
    let periods = p.periods.unwrap_or(8);
    if !(1..=120).contains(&periods) {
        return Err(ApiError::unprocessable("periods must be 1 to 120"));
    }
    let from_ms = match &p.from {
        Some(f) => parse_when("from", f)?,
        None => interval.bucket_start(interval.bucket(state.now_ms()) - periods as i64 + 1),
    };
    let events = match &p.event {
        Some(e) => event_list("event", std::slice::from_ref(e))?,
        None => Vec::new(),
    };
    let query = q::LifecycleQuery {
        events,
        interval,
        from_ms,
        periods,
    };
    let id = access.project.id.clone();
    let rows = telemetry(&state, move |a| a.lifecycle(&id, &query)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(start, l)| LifecycleView {
                start: format_ms(start),
                new: l.new,
                returning: l.returning,
                resurrecting: l.resurrecting,
                dormant: l.dormant,
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------- funnels

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusionBody {
    pub event: String,
    /// The step (1-based) after which the event excludes.
    pub after_step: usize,
    /// The step (1-based) before which it excludes.
    pub before_step: usize,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FunnelBody {
    /// Each step is one event name, or several separated by `|` (any of them).
    pub steps: Vec<String>,
    /// Conversion window, like `14d` (default), `1h` or `2w`.
    pub window: Option<String>,
    /// ordered (default), strict or unordered.
    pub order: Option<String>,
    #[serde(default)]
    pub exclusions: Vec<ExclusionBody>,
    /// Start (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; the end of today by default.
    pub to: Option<String>,
    /// A property to break down by.
    pub breakdown: Option<String>,
    /// `event` (default): the property as the person's step-1 event carried
    /// it; `person`: the person property as it is now.
    pub breakdown_type: Option<String>,
    /// List who dropped off after this step (1-based) and what they did next.
    pub dropoff_after: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelStepView {
    pub step: usize,
    pub event: String,
    pub persons: u64,
    /// Share of step 1, 0 to 1.
    pub conversion: f64,
    /// Share of the step before.
    pub from_previous: f64,
    pub dropoff: f64,
    /// Time from the step before, in seconds.
    pub median_secs: Option<f64>,
    pub mean_secs: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelBreakdownView {
    pub value: String,
    pub steps: Vec<FunnelStepView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextEventView {
    pub event: String,
    pub persons: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DropOffView {
    pub after_step: usize,
    pub persons: u64,
    /// Up to 100 of them, by a distinct id.
    pub sample: Vec<String>,
    /// What they did next, most common first.
    pub next_events: Vec<NextEventView>,
    /// Their next few events (repeats in a row counted once), most common
    /// first; an empty list means they did nothing more.
    pub paths: Vec<DropOffPathView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DropOffPathView {
    pub events: Vec<String>,
    pub persons: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelView {
    pub steps: Vec<FunnelStepView>,
    pub breakdown: Vec<FunnelBreakdownView>,
    pub dropoff: Option<DropOffView>,
    /// People removed by exclusion steps.
    pub excluded: u64,
}

fn step_views(steps: Vec<q::FunnelStep>) -> Vec<FunnelStepView> {
    steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| FunnelStepView {
            step: i + 1,
            event: s.label,
            persons: s.count,
            conversion: s.conversion,
            from_previous: s.from_previous,
            dropoff: s.dropoff,
            median_secs: s.median_ms.map(|m| m as f64 / 1000.0),
            mean_secs: s.mean_ms.map(|m| m / 1000.0),
        })
        .collect()
}

/// A funnel's steps: event names, `a|b` for either.
fn funnel_steps(steps: &[String]) -> ApiResult<Vec<Vec<String>>> {
    steps
        .iter()
        .map(|s| {
            let names: Vec<String> = s.split('|').map(str::to_owned).collect();
            event_list("steps", &names)
        })
        .collect()
}

/// How long a person has to finish a funnel; 14 days by default.
fn funnel_window(window: Option<&str>) -> ApiResult<TimeSpan> {
    window.unwrap_or("14d").parse().map_err(unprocessable)
}

/// Parses a funnel request into a query.
pub fn funnel_query(body: &FunnelBody, now: i64) -> ApiResult<q::FunnelQuery> {
    if body.steps.is_empty() || body.steps.len() > MAX_STEPS {
        return Err(ApiError::unprocessable(format!(
            "a funnel needs 1 to {MAX_STEPS} steps"
        )));
    }
    let steps = funnel_steps(&body.steps)?;
    let window = funnel_window(body.window.as_deref())?;
    let order: FunnelOrder = body
        .order
        .as_deref()
        .unwrap_or("ordered")
        .parse()
        .map_err(unprocessable)?;
    let n = steps.len();
    let exclusions = body
        .exclusions
        .iter()
        .map(|x| {
            if x.after_step < 1 || x.before_step <= x.after_step || x.before_step > n {
                return Err(ApiError::unprocessable(format!(
                    "an exclusion sits between two steps: 1 ≤ after_step < before_step ≤ {n}"
                )));
            }
            Ok((
                event_list("exclusions", std::slice::from_ref(&x.event))?,
                x.after_step - 1,
                x.before_step - 1,
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    if let Some(d) = body.dropoff_after
        && (d < 1 || d >= n)
    {
        return Err(ApiError::unprocessable(format!(
            "dropoff_after names a step from 1 to {}",
            n.saturating_sub(1)
        )));
    }
    let (from_ms, to_ms) = range(
        body.from.as_deref(),
        body.to.as_deref(),
        30,
        3660,
        None,
        now,
    )?;
    let key = body
        .breakdown
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_owned);
    let breakdown = match (body.breakdown_type.as_deref().unwrap_or("event"), key) {
        (_, None) => None,
        ("event", Some(k)) => Some(q::FunnelBreakdown::Event(k)),
        ("person", Some(k)) => Some(q::FunnelBreakdown::Person(k)),
        (other, _) => {
            return Err(ApiError::unprocessable(format!(
                "breakdown_type `{other}` is not one of: event, person"
            )));
        }
    };
    Ok(q::FunnelQuery {
        steps,
        window_ms: window.millis(),
        order,
        exclusions,
        from_ms,
        to_ms,
        breakdown,
        dropoff_after: body.dropoff_after,
    })
}

pub fn funnel_view(a: q::FunnelAnswer) -> FunnelView {
    FunnelView {
        steps: step_views(a.steps),
        breakdown: a
            .breakdown
            .into_iter()
            .map(|(value, steps)| FunnelBreakdownView {
                value,
                steps: step_views(steps),
            })
            .collect(),
        dropoff: a.dropoff.map(|d| DropOffView {
            after_step: d.after_step,
            persons: d.total,
            sample: d.persons,
            next_events: d
                .next_events
                .into_iter()
                .map(|(event, persons)| NextEventView { event, persons })
                .collect(),
            paths: d
                .paths
                .into_iter()
                .map(|(events, persons)| DropOffPathView { events, persons })
                .collect(),
        }),
        excluded: a.excluded,
    }
}

/// Conversion through ordered, strict or unordered steps within a window,
/// with exclusions, a breakdown, time to convert, and who dropped off.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/funnel", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = FunnelBody,
    responses((status = 200, description = "The funnel", body = FunnelView)))]
pub async fn funnel(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiJson(body): ApiJson<FunnelBody>,
) -> ApiResult<Json<FunnelView>> {
    let query = funnel_query(&body, state.now_ms())?;
    let id = access.project.id.clone();
    let answer = telemetry(&state, move |a| a.funnel(&id, &query)).await?;
    Ok(Json(funnel_view(answer)))
}

// ---------------------------------------------------------------- retention

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionBody {
    /// The event that puts a person in a cohort.
    pub start_event: String,
    /// The event that counts as coming back; the start event by default.
    pub return_event: Option<String>,
    /// day, week (default) or month.
    pub interval: Option<String>,
    /// The first cohort (date or RFC 3339); `periods` intervals ago by default.
    pub from: Option<String>,
    /// Cohorts and periods, 1 to 64; 8 by default.
    pub periods: Option<usize>,
    /// first_time (default) or recurring.
    pub cohort: Option<String>,
    /// on (default) or on_or_after.
    pub mode: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CohortView {
    pub start: String,
    pub size: u64,
    /// People back in period 0, 1, …; the first is the cohort's size.
    pub counts: Vec<u64>,
    /// The same as shares of the cohort.
    pub rates: Vec<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionView {
    pub interval: String,
    pub cohorts: Vec<CohortView>,
}

pub fn retention_query(body: &RetentionBody, now: i64) -> ApiResult<q::RetentionQuery> {
    let interval = interval(body.interval.as_deref(), Interval::Week)?;
    if interval == Interval::Hour {
        return Err(ApiError::unprocessable(
            "retention works per day, week or month",
        ));
    }
    let periods = body.periods.unwrap_or(8);
    if !(1..=64).contains(&periods) {
        return Err(ApiError::unprocessable("periods must be 1 to 64"));
    }
    let start = event_list("start_event", std::slice::from_ref(&body.start_event))?;
    let returning = match &body.return_event {
        Some(r) => event_list("return_event", std::slice::from_ref(r))?,
        None => start.clone(),
    };
    let from_ms = match &body.from {
        Some(f) => parse_when("from", f)?,
        None => interval.bucket_start(interval.bucket(now) - periods as i64 + 1),
    };
    Ok(q::RetentionQuery {
        start,
        returning,
        interval,
        from_ms,
        periods,
        cohort: body
            .cohort
            .as_deref()
            .unwrap_or("first_time")
            .parse::<Cohort>()
            .map_err(unprocessable)?,
        mode: body
            .mode
            .as_deref()
            .unwrap_or("on")
            .parse::<ReturnMode>()
            .map_err(unprocessable)?,
    })
}

/// Cohorts by first (or every) start event, and who came back in each later period.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/retention", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = RetentionBody,
    responses((status = 200, description = "Retention", body = RetentionView)))]
pub async fn retention(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiJson(body): ApiJson<RetentionBody>,
) -> ApiResult<Json<RetentionView>> {
    let query = retention_query(&body, state.now_ms())?;
    let interval = query.interval;
    let id = access.project.id.clone();
    let cohorts = telemetry(&state, move |a| a.retention(&id, &query)).await?;
    Ok(Json(RetentionView {
        interval: interval.as_str().into(),
        cohorts: cohorts
            .into_iter()
            .map(|c| {
                let size = c.counts.first().copied().unwrap_or(0);
                CohortView {
                    start: format_ms(c.start_ms),
                    size,
                    rates: c
                        .counts
                        .iter()
                        .map(|&n| {
                            if size == 0 {
                                0.0
                            } else {
                                n as f64 / size as f64
                            }
                        })
                        .collect(),
                    counts: c.counts,
                }
            })
            .collect(),
    }))
}

// ---------------------------------------------------------------- features

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureBody {
    pub name: String,
    /// The events that mean someone used it.
    pub events: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureView {
    pub name: String,
    pub events: Vec<String>,
    pub created_at: String,
}

/// The project's named features.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/features", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Features", body = Vec<FeatureView>)))]
pub async fn list_features(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<FeatureView>>> {
    Ok(Json(
        state
            .db
            .features(&access.project.id)
            .await?
            .into_iter()
            .map(|f| FeatureView {
                name: f.name,
                events: f.events,
                created_at: format_ms(f.created_at),
            })
            .collect(),
    ))
}

/// Defines a feature by a name and the events that mean it was used.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/features", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = FeatureBody,
    responses((status = 201, description = "The feature", body = FeatureView)))]
pub async fn create_feature(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<FeatureBody>,
) -> ApiResult<(StatusCode, Json<FeatureView>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "`name` needs 1 to 100 printable characters",
        ));
    }
    if body.events.is_empty() || body.events.len() > 20 {
        return Err(ApiError::unprocessable("a feature has 1 to 20 events"));
    }
    let events = event_list("events", &body.events)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let f =
        liveops_store::analytics::insert_feature(&mut tx, &access.project.id, name, &events, now)
            .await?;
    audit::record(
        &mut tx,
        &access.actor(),
        Some(&access.project.id),
        "analytics.feature.create",
        Some(name),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(FeatureView {
            name: f.name,
            events: f.events,
            created_at: format_ms(f.created_at),
        }),
    ))
}

/// Removes a feature definition (its events stay).
#[utoipa::path(delete, path = "/api/v1/projects/{project}/analytics/features/{name}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
           ("name" = String, Path, description = "Feature name")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_feature(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, name)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !liveops_store::analytics::delete_feature(&mut tx, &access.project.id, &name).await? {
        return Err(ApiError::not_found(format!("no feature `{name}`")));
    }
    audit::record(
        &mut tx,
        &access.actor(),
        Some(&access.project.id),
        "analytics.feature.delete",
        Some(&name),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureUseView {
    pub name: String,
    pub users: u64,
    /// Share of the range's active people who used it, 0 to 1.
    pub adoption: f64,
    pub events: u64,
    /// Uses per user.
    pub per_user: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureUsageView {
    pub from: String,
    pub to: String,
    pub active_users: u64,
    /// Most used first.
    pub features: Vec<FeatureUseView>,
}

/// Adoption, frequency and ranking of every feature over a range.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/features/usage", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), RangeParams),
    responses((status = 200, description = "Feature usage", body = FeatureUsageView)))]
pub async fn feature_usage(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> ApiResult<Json<FeatureUsageView>> {
    let (from, to) = range(
        p.from.as_deref(),
        p.to.as_deref(),
        30,
        3660,
        None,
        state.now_ms(),
    )?;
    Ok(Json(usage(&state, &access.project.id, from, to).await?))
}

/// Feature usage of a project over `[from, to)`.
pub async fn usage(
    state: &AppState,
    project_id: &str,
    from: i64,
    to: i64,
) -> ApiResult<FeatureUsageView> {
    let features: Vec<q::Feature> = state
        .db
        .features(project_id)
        .await?
        .into_iter()
        .map(|f| q::Feature {
            name: f.name,
            events: f.events,
        })
        .collect();
    let id = project_id.to_owned();
    let report = telemetry(state, move |a| a.features(&id, &features, from, to)).await?;
    Ok(FeatureUsageView {
        from: format_ms(from),
        to: format_ms(to),
        active_users: report.active_users,
        features: report
            .features
            .into_iter()
            .map(|f| FeatureUseView {
                name: f.name,
                users: f.users,
                adoption: f.adoption,
                events: f.events,
                per_user: f.per_user,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------- persons

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub id: String,
    pub distinct_ids: Vec<String>,
    /// The person's properties.
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
    pub created_at: String,
}

fn person_view(p: q::PersonView) -> PersonView {
    PersonView {
        id: p.id,
        distinct_ids: p.distinct_ids,
        properties: serde_json::from_str(&p.properties).unwrap_or_default(),
        created_at: format_ms(p.created_at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonsParams {
    /// Part of a distinct id, or a person id.
    pub search: Option<String>,
    /// 1 to 500; 100 by default.
    pub limit: Option<usize>,
}

/// Persons, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/persons", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), PersonsParams),
    responses((status = 200, description = "Persons", body = Vec<PersonView>)))]
pub async fn persons(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<PersonsParams>,
) -> ApiResult<Json<Vec<PersonView>>> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::unprocessable("limit must be 1 to 500"));
    }
    let id = access.project.id.clone();
    let list = telemetry(&state, move |a| {
        Ok(a.persons(&id, p.search.as_deref().filter(|s| !s.is_empty()), limit))
    })
    .await?;
    Ok(Json(list.into_iter().map(person_view).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub uuid: String,
    pub event: String,
    pub distinct_id: String,
    pub timestamp: String,
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonDetail {
    pub person: PersonView,
    /// The latest 100 events, newest first.
    pub events: Vec<EventView>,
}

/// A person by any of their distinct ids, with their latest events.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/persons/{distinct_id}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
           ("distinct_id" = String, Path, description = "Any of the person's distinct ids")),
    responses((status = 200, description = "The person", body = PersonDetail)))]
pub async fn person(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, distinct_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<PersonDetail>> {
    let id = access.project.id.clone();
    let (person, events) = telemetry(&state, move |a| {
        let Some(p) = a.person(&id, &distinct_id) else {
            return Ok(None);
        };
        let events = a.person_events(&id, &p.distinct_ids, 100)?;
        Ok(Some((p, events)))
    })
    .await?
    .ok_or_else(|| ApiError::not_found("no person has this distinct id"))?;
    Ok(Json(PersonDetail {
        person: person_view(person),
        events: events
            .into_iter()
            .map(|e| EventView {
                uuid: e.uuid,
                event: e.event,
                distinct_id: e.distinct_id,
                timestamp: format_ms(e.at_ms),
                properties: serde_json::from_str(&e.properties).unwrap_or_default(),
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedPerson {
    pub events_deleted: u64,
}

/// Deletes a person with every distinct id and event they have (a GDPR erasure request).
#[utoipa::path(delete, path = "/api/v1/projects/{project}/analytics/persons/{distinct_id}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
           ("distinct_id" = String, Path, description = "Any of the person's distinct ids")),
    responses((status = 200, description = "Deleted", body = DeletedPerson)))]
pub async fn delete_person(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, distinct_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<DeletedPerson>> {
    let id = access.project.id.clone();
    let did = distinct_id.clone();
    let deleted = telemetry(&state, move |a| a.delete_person(&id, &did))
        .await?
        .ok_or_else(|| ApiError::not_found("no person has this distinct id"))?;
    let now = state.now_ms();
    let mut conn = state.db.pool().acquire().await.map_err(StoreError::from)?;
    audit::record(
        &mut conn,
        &access.actor(),
        Some(&access.project.id),
        "analytics.person.delete",
        Some(&distinct_id),
        Some(&serde_json::json!({ "events_deleted": deleted }).to_string()),
        now,
    )
    .await?;
    Ok(Json(DeletedPerson {
        events_deleted: deleted,
    }))
}

// ---------------------------------------------------------------- settings and export

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsSettings {
    /// Days of events to keep; null keeps them all.
    pub retention_days: Option<i64>,
}

/// How long the project keeps events.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/settings", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Settings", body = AnalyticsSettings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<AnalyticsSettings>> {
    Ok(Json(AnalyticsSettings {
        retention_days: state.db.retention_days(&access.project.id).await?,
    }))
}

/// Sets how long the project keeps events; older ones are dropped in the background.
#[utoipa::path(put, path = "/api/v1/projects/{project}/analytics/settings", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = AnalyticsSettings,
    responses((status = 200, description = "Settings", body = AnalyticsSettings)))]
pub async fn put_settings(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<AnalyticsSettings>,
) -> ApiResult<Json<AnalyticsSettings>> {
    if let Some(d) = body.retention_days
        && !(1..=3650).contains(&d)
    {
        return Err(ApiError::unprocessable(
            "retention_days must be 1 to 3650, or null to keep everything",
        ));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    liveops_store::analytics::set_retention(&mut tx, &access.project.id, body.retention_days, now)
        .await?;
    audit::record(
        &mut tx,
        &access.actor(),
        Some(&access.project.id),
        "analytics.settings",
        None,
        Some(&serde_json::json!({ "retention_days": body.retention_days }).to_string()),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(body))
}

/// Every event of the project, with its person, as a Parquet file.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/export", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "A Parquet file", content_type = "application/vnd.apache.parquet")))]
pub async fn export(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Response> {
    let dir = tempfile::tempdir().map_err(ApiError::internal)?;
    let path = dir.path().join("events.parquet");
    let id = access.project.id.clone();
    let target = path.clone();
    telemetry(&state, move |a| a.export_parquet(&id, &target)).await?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(ApiError::internal)?;
    let size = file.metadata().await.map_err(ApiError::internal)?.len();
    // Streamed from disk in chunks: the file can be far larger than memory
    // should hold. The temporary folder lives until the last chunk is read.
    let chunks = futures::stream::unfold((file, Some(dir)), |(mut file, dir)| async move {
        use tokio::io::AsyncReadExt;
        dir.as_ref()?;
        let mut buf = vec![0u8; 256 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), (file, dir)))
            }
            Err(e) => Some((Err(e), (file, None))),
        }
    });
    Ok((
        [
            (header::CONTENT_LENGTH, size.to_string()),
            (
                header::CONTENT_TYPE,
                "application/vnd.apache.parquet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-events.parquet\"",
                    access.project.slug
                ),
            ),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response())
}

// ---------------------------------------------------------------- key funnels

/// A key funnel's conversion over `[from, to)`, first step to last, to
/// four places; `None` when nobody entered it.
pub fn key_funnel_conversion(
    a: &liveops_telemetry::Analytics,
    project_id: &str,
    f: &KeyFunnel,
    from_ms: i64,
    to_ms: i64,
) -> Result<Option<f64>, liveops_telemetry::TelemetryError> {
    let q = q::FunnelQuery {
        steps: f.steps.clone(),
        window_ms: f.window_ms,
        order: FunnelOrder::Ordered,
        exclusions: Vec::new(),
        from_ms,
        to_ms,
        breakdown: None,
        dropoff_after: None,
    };
    let answer = a.funnel(project_id, &q)?;
    Ok(answer
        .steps
        .last()
        .filter(|_| answer.steps.first().is_some_and(|s| s.count > 0))
        .map(|s| (s.conversion * 10_000.0).round() / 10_000.0))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyFunnelBody {
    pub name: String,
    /// Event names in order; `a|b` means either.
    pub steps: Vec<String>,
    /// How long a person has to finish (`14d` by default).
    pub window: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyFunnelView {
    pub name: String,
    pub steps: Vec<String>,
    pub window_secs: i64,
    pub created_at: String,
}

fn key_funnel_view(f: KeyFunnel) -> KeyFunnelView {
    KeyFunnelView {
        name: f.name,
        steps: f.steps.iter().map(|s| s.join("|")).collect(),
        window_secs: f.window_ms / 1000,
        created_at: format_ms(f.created_at),
    }
}

/// The funnels the project watches; postmortems and launch reviews report
/// their conversion.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/key-funnels", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Key funnels", body = [KeyFunnelView])))]
pub async fn list_key_funnels(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<KeyFunnelView>>> {
    let all = state.db.key_funnels(&access.project.id).await?;
    Ok(Json(all.into_iter().map(key_funnel_view).collect()))
}

/// Watches a funnel.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/key-funnels", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = KeyFunnelBody,
    responses((status = 201, description = "The key funnel", body = KeyFunnelView)))]
pub async fn create_key_funnel(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<KeyFunnelBody>,
) -> ApiResult<(StatusCode, Json<KeyFunnelView>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "`name` needs 1 to 100 printable characters",
        ));
    }
    if body.steps.len() < 2 || body.steps.len() > MAX_STEPS {
        return Err(ApiError::unprocessable(format!(
            "a key funnel has 2 to {MAX_STEPS} steps"
        )));
    }
    let steps = funnel_steps(&body.steps)?;
    let window = funnel_window(body.window.as_deref())?;
    let f = KeyFunnel {
        name: name.to_owned(),
        steps,
        window_ms: window.millis(),
        created_at: state.now_ms(),
    };
    state
        .db
        .insert_key_funnel(&access.project.id, &f)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                ApiError::conflict(format!("there is already a key funnel `{name}`"))
            }
            e => e.into(),
        })?;
    Ok((StatusCode::CREATED, Json(key_funnel_view(f))))
}

/// Stops watching a funnel.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/analytics/key-funnels/{name}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
           ("name" = String, Path, description = "Funnel name")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_key_funnel(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, name)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    if !state
        .db
        .delete_key_funnel(&access.project.id, &name)
        .await?
    {
        return Err(ApiError::not_found(format!("no key funnel `{name}`")));
    }
    Ok(StatusCode::NO_CONTENT)
}
