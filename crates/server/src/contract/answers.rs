//! Analytics questions answered as the API shows them: each parses its
//! request, calls the service layer once per line it draws, and renders
//! the view. The API's handlers, saved insights and the insight pages
//! share them, so a saved insight always answers exactly as the API does.

use liveops_core::analytics::Interval;
use liveops_core::analytics::insight::InsightKind;
use liveops_telemetry::analytics as q;
use serde::de::DeserializeOwned;

use super::analytics::*;
use super::revenue::{RevenueLineView, RevenueParams, RevenueView};
use crate::analytics::cohorts::{self, CohortChoice};
use crate::analytics::{funnels, telemetry};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, format_ms};
use crate::timerange::parse_when;

/// The days active users and stickiness count over, without a cohort,
/// and the cohorts asked for.
fn active_query(p: &ActiveParams, now: i64) -> ApiResult<(q::ActiveQuery, CohortChoice)> {
    let (from_day, days, events) = day_range(p, now)?;
    let choice = cohorts_only(
        "active users and stickiness",
        p.in_cohort.as_deref(),
        p.breakdown_type.as_deref(),
        p.breakdown.as_deref(),
    )?;
    let query = q::ActiveQuery {
        persons: None,
        events,
        from_day,
        days,
    };
    Ok((query, choice))
}

/// Runs `ask` once per line the choice draws (one without a breakdown,
/// else one per cohort), each with its persons, and names each line's
/// rows by its cohort.
async fn per_line<Q, R, T>(
    state: &AppState,
    project_id: &str,
    choice: &CohortChoice,
    query: Q,
    ask: fn(
        &dyn liveops_telemetry::Analytics,
        &str,
        &Q,
    ) -> Result<R, liveops_telemetry::TelemetryError>,
    rows: impl Fn(Option<String>, R) -> Vec<T>,
) -> ApiResult<Vec<T>>
where
    Q: Clone + Send + 'static + WithPersons,
    R: Send + 'static,
{
    let resolved = cohorts::resolve_choice(state, project_id, choice).await?;
    let mut out = Vec::new();
    for (name, persons) in resolved.lines() {
        let mut one = query.clone();
        one.set_persons(persons);
        let id = project_id.to_owned();
        let got = telemetry(state, move |a| ask(a, &id, &one)).await?;
        out.extend(rows(name, got));
    }
    Ok(out)
}

/// DAU, WAU and MAU per day.
pub async fn active(
    state: &AppState,
    project_id: &str,
    p: &ActiveParams,
) -> ApiResult<Vec<ActiveDayView>> {
    let (query, choice) = active_query(p, state.now_ms())?;
    per_line(
        state,
        project_id,
        &choice,
        query,
        |a, id, q| a.active_users(id, q),
        |cohort, s| {
            (0..s.days.len())
                .map(|i| ActiveDayView {
                    cohort: cohort.clone(),
                    date: format_ms(s.days[i])[..10].to_owned(),
                    dau: s.dau[i],
                    wau: s.wau[i],
                    mau: s.mau[i],
                })
                .collect()
        },
    )
    .await
}

/// Persons by how many days of the range they were active.
pub async fn stickiness(
    state: &AppState,
    project_id: &str,
    p: &ActiveParams,
) -> ApiResult<Vec<StickinessView>> {
    let (query, choice) = active_query(p, state.now_ms())?;
    per_line(
        state,
        project_id,
        &choice,
        query,
        |a, id, q| a.stickiness(id, q),
        |cohort, hist| {
            hist.into_iter()
                .enumerate()
                .map(|(k, persons)| StickinessView {
                    cohort: cohort.clone(),
                    days: k as u64 + 1,
                    persons,
                })
                .collect()
        },
    )
    .await
}

/// A lifecycle request read at `now`, without its cohort.
fn lifecycle_query(p: &LifecycleParams, now: i64) -> ApiResult<q::LifecycleQuery> {
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
        None => interval.bucket_start(interval.bucket(now) - periods as i64 + 1),
    };
    let events = match &p.event {
        Some(e) => event_list("event", std::slice::from_ref(e))?,
        None => Vec::new(),
    };
    Ok(q::LifecycleQuery {
        persons: None,
        events,
        interval,
        from_ms,
        periods,
    })
}

/// New, returning, resurrecting and dormant people per interval.
pub async fn lifecycle(
    state: &AppState,
    project_id: &str,
    p: &LifecycleParams,
) -> ApiResult<Vec<LifecycleView>> {
    let query = lifecycle_query(p, state.now_ms())?;
    let choice = lifecycle_cohorts(p)?;
    per_line(
        state,
        project_id,
        &choice,
        query,
        |a, id, q| a.lifecycle(id, q),
        |cohort, rows| {
            rows.into_iter()
                .map(|(start, l)| LifecycleView {
                    cohort: cohort.clone(),
                    start: format_ms(start),
                    new: l.new,
                    returning: l.returning,
                    resurrecting: l.resurrecting,
                    dormant: l.dormant,
                })
                .collect()
        },
    )
    .await
}

fn lifecycle_cohorts(p: &LifecycleParams) -> ApiResult<CohortChoice> {
    cohorts_only(
        "lifecycle",
        p.in_cohort.as_deref(),
        p.breakdown_type.as_deref(),
        p.breakdown.as_deref(),
    )
}

/// A query that can be kept to a set of persons.
trait WithPersons {
    fn set_persons(&mut self, persons: Option<q::Members>);
}

impl WithPersons for q::ActiveQuery {
    fn set_persons(&mut self, persons: Option<q::Members>) {
        self.persons = persons;
    }
}

impl WithPersons for q::LifecycleQuery {
    fn set_persons(&mut self, persons: Option<q::Members>) {
        self.persons = persons;
    }
}

/// A funnel, with its revenue when asked.
pub async fn funnel(
    state: &AppState,
    project_id: &str,
    body: &FunnelBody,
) -> ApiResult<FunnelView> {
    let query = funnel_query(body, state.now_ms())?;
    let chosen = funnel_cohorts(body)?;
    let (answer, revenue) = funnels::run(state, project_id, query, &chosen).await?;
    Ok(funnel_view(answer, revenue))
}

/// Retention cohorts and who came back.
pub async fn retention(
    state: &AppState,
    project_id: &str,
    body: &RetentionBody,
) -> ApiResult<RetentionView> {
    let chosen = retention_cohorts(body)?;
    let resolved = cohorts::resolve_choice(state, project_id, &chosen).await?;
    let query = retention_query(body, state.now_ms())?;
    let interval = query.interval;
    // The whole table keeps to the filter; each named cohort gets its own.
    let run = |persons| {
        let mut q = query.clone();
        q.persons = persons;
        let id = project_id.to_owned();
        async move { telemetry(state, move |a| a.retention(&id, &q)).await }
    };
    let mut breakdown = Vec::with_capacity(resolved.breakdown.len());
    for (value, persons) in resolved.breakdown {
        breakdown.push(RetentionLineView {
            value,
            cohorts: cohort_views(run(Some(persons)).await?),
        });
    }
    Ok(RetentionView {
        interval: interval.as_str().into(),
        cohorts: cohort_views(run(resolved.filter).await?),
        breakdown,
    })
}

fn retention_cohorts(body: &RetentionBody) -> ApiResult<CohortChoice> {
    cohorts_only(
        "retention",
        body.in_cohort.as_deref(),
        body.breakdown_type.as_deref(),
        body.breakdown.as_deref(),
    )
}

/// Retention rows as the API shows them.
fn cohort_views(rows: Vec<q::RetentionCohort>) -> Vec<CohortView> {
    rows.into_iter()
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
        .collect()
}

/// Trends of one or more series, with the formula over them.
pub async fn trends(
    state: &AppState,
    project_id: &str,
    body: &TrendsBody,
) -> ApiResult<TrendsResultView> {
    let req = trends_request(body, state.now_ms())?;
    let answer = crate::analytics::trends::run(state, project_id, req.clone()).await?;
    Ok(TrendsResultView::new(&req, answer))
}

/// The web overview.
pub async fn web(state: &AppState, project_id: &str, p: &WebParams) -> ApiResult<WebOverviewView> {
    let (from_ms, to_ms) = range(
        p.from.as_deref(),
        p.to.as_deref(),
        30,
        3660,
        None,
        state.now_ms(),
    )?;
    let top = web_top(p.top)?;
    let choice = web_cohorts(p)?;
    let (o, each) =
        crate::analytics::web::overview(state, project_id, from_ms, to_ms, top, &choice).await?;
    let mut view = WebOverviewView::new(from_ms, to_ms, o, state.geoip.is_some());
    view.breakdown = each
        .into_iter()
        .map(|(name, o)| WebCohortView::new(name, &o))
        .collect();
    Ok(view)
}

fn web_cohorts(p: &WebParams) -> ApiResult<CohortChoice> {
    cohorts_only(
        "the web overview",
        p.in_cohort.as_deref(),
        p.breakdown_type.as_deref(),
        p.breakdown.as_deref(),
    )
}

fn revenue_cohorts(p: &RevenueParams) -> ApiResult<CohortChoice> {
    cohorts_only(
        "revenue",
        p.in_cohort.as_deref(),
        p.breakdown_type.as_deref(),
        p.breakdown.as_deref(),
    )
}

/// Revenue per interval.
pub async fn revenue(
    state: &AppState,
    project_id: &str,
    p: &RevenueParams,
) -> ApiResult<RevenueView> {
    let interval = interval(p.interval.as_deref(), Interval::Day)?;
    let (from_ms, to_ms) = range(
        p.from.as_deref(),
        p.to.as_deref(),
        30,
        3660,
        Some(interval),
        state.now_ms(),
    )?;
    let choice = revenue_cohorts(p)?;
    let (r, each) =
        crate::analytics::revenue::revenue(state, project_id, interval, (from_ms, to_ms), &choice)
            .await?;
    let mut view = RevenueView::new(interval, from_ms, to_ms, r);
    view.breakdown = each
        .into_iter()
        .map(|(name, r)| RevenueLineView::new(name, &r))
        .collect();
    Ok(view)
}

/// A kind's request read from its JSON, or a 422 that says what is wrong.
fn read<T: DeserializeOwned>(kind: InsightKind, query: &serde_json::Value) -> ApiResult<T> {
    serde_json::from_value(query.clone())
        .map_err(|e| ApiError::unprocessable(format!("the {kind} query: {e}")))
}

fn json(v: impl serde::Serialize) -> ApiResult<serde_json::Value> {
    serde_json::to_value(v).map_err(ApiError::internal)
}

/// Checks that a saved question reads as its kind's request and parses
/// (names, math, formula, range), without running it.
pub fn check(kind: InsightKind, query: &serde_json::Value, now: i64) -> ApiResult<()> {
    match kind {
        InsightKind::Trends => trends_request(&read::<TrendsBody>(kind, query)?, now).map(|_| ()),
        InsightKind::Funnel => {
            let b: FunnelBody = read(kind, query)?;
            funnel_query(&b, now)?;
            funnel_cohorts(&b).map(|_| ())
        }
        InsightKind::Retention => {
            let b: RetentionBody = read(kind, query)?;
            retention_query(&b, now)?;
            retention_cohorts(&b).map(|_| ())
        }
        InsightKind::Active | InsightKind::Stickiness => {
            active_query(&read::<ActiveParams>(kind, query)?, now).map(|_| ())
        }
        InsightKind::Lifecycle => {
            let p: LifecycleParams = read(kind, query)?;
            lifecycle_query(&p, now)?;
            lifecycle_cohorts(&p).map(|_| ())
        }
        InsightKind::Web => {
            let p: WebParams = read(kind, query)?;
            range(p.from.as_deref(), p.to.as_deref(), 30, 3660, None, now)?;
            web_top(p.top)?;
            web_cohorts(&p).map(|_| ())
        }
        InsightKind::Revenue => {
            let p: RevenueParams = read(kind, query)?;
            let i = interval(p.interval.as_deref(), Interval::Day)?;
            range(p.from.as_deref(), p.to.as_deref(), 30, 3660, Some(i), now)?;
            revenue_cohorts(&p).map(|_| ())
        }
    }
}

/// Answers a saved question as the API answers its kind, as JSON.
pub async fn answer(
    state: &AppState,
    project_id: &str,
    kind: InsightKind,
    query: &serde_json::Value,
) -> ApiResult<serde_json::Value> {
    match kind {
        InsightKind::Trends => json(trends(state, project_id, &read(kind, query)?).await?),
        InsightKind::Funnel => json(funnel(state, project_id, &read(kind, query)?).await?),
        InsightKind::Retention => json(retention(state, project_id, &read(kind, query)?).await?),
        InsightKind::Stickiness => json(stickiness(state, project_id, &read(kind, query)?).await?),
        InsightKind::Lifecycle => json(lifecycle(state, project_id, &read(kind, query)?).await?),
        InsightKind::Active => json(active(state, project_id, &read(kind, query)?).await?),
        InsightKind::Web => json(web(state, project_id, &read(kind, query)?).await?),
        InsightKind::Revenue => json(revenue(state, project_id, &read(kind, query)?).await?),
    }
}
