//! Analytics questions answered as the API shows them: each parses its
//! request, calls the service layer once per line it draws, and renders
//! the view. The API's handlers, saved insights and the insight pages
//! share them, so a saved insight always answers exactly as the API does.

use liveops_core::analytics::Interval;
use liveops_core::analytics::insight::InsightKind;
use liveops_telemetry::analytics as q;
use serde::de::DeserializeOwned;

use super::analytics::*;
use super::revenue::{RevenueParams, RevenueView};
use crate::analytics::{cohorts, funnels, telemetry};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, format_ms};
use crate::timerange::parse_when;

/// The days active users and stickiness count over, with the cohort.
async fn active_query(
    state: &AppState,
    project_id: &str,
    p: &ActiveParams,
) -> ApiResult<q::ActiveQuery> {
    let (from_day, days, events) = day_range(p, state.now_ms())?;
    Ok(q::ActiveQuery {
        persons: cohorts::filter(state, project_id, p.in_cohort.as_deref()).await?,
        events,
        from_day,
        days,
    })
}

/// DAU, WAU and MAU per day.
pub async fn active(
    state: &AppState,
    project_id: &str,
    p: &ActiveParams,
) -> ApiResult<Vec<ActiveDayView>> {
    let query = active_query(state, project_id, p).await?;
    let id = project_id.to_owned();
    let s = telemetry(state, move |a| a.active_users(&id, &query)).await?;
    Ok((0..s.days.len())
        .map(|i| ActiveDayView {
            date: format_ms(s.days[i])[..10].to_owned(),
            dau: s.dau[i],
            wau: s.wau[i],
            mau: s.mau[i],
        })
        .collect())
}

/// Persons by how many days of the range they were active.
pub async fn stickiness(
    state: &AppState,
    project_id: &str,
    p: &ActiveParams,
) -> ApiResult<Vec<StickinessView>> {
    let query = active_query(state, project_id, p).await?;
    let id = project_id.to_owned();
    let hist = telemetry(state, move |a| a.stickiness(&id, &query)).await?;
    Ok(hist
        .into_iter()
        .enumerate()
        .map(|(k, persons)| StickinessView {
            days: k as u64 + 1,
            persons,
        })
        .collect())
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
    let mut query = lifecycle_query(p, state.now_ms())?;
    query.persons = cohorts::filter(state, project_id, p.in_cohort.as_deref()).await?;
    let id = project_id.to_owned();
    let rows = telemetry(state, move |a| a.lifecycle(&id, &query)).await?;
    Ok(rows
        .into_iter()
        .map(|(start, l)| LifecycleView {
            start: format_ms(start),
            new: l.new,
            returning: l.returning,
            resurrecting: l.resurrecting,
            dormant: l.dormant,
        })
        .collect())
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
    if body
        .breakdown
        .as_deref()
        .is_some_and(|b| !b.trim().is_empty())
        && body.breakdown_type.as_deref() != Some("cohort")
    {
        return Err(ApiError::unprocessable(
            "retention breaks down by named cohorts only: breakdown_type `cohort`",
        ));
    }
    let chosen = cohort_choice(
        body.in_cohort.as_deref(),
        body.breakdown_type.as_deref(),
        body.breakdown.as_deref(),
        &["event", "cohort"],
    )?;
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
    let o = crate::analytics::web::overview(
        state,
        project_id,
        from_ms,
        to_ms,
        top,
        p.in_cohort.as_deref(),
    )
    .await?;
    Ok(WebOverviewView::new(
        from_ms,
        to_ms,
        o,
        state.geoip.is_some(),
    ))
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
    let r = crate::analytics::revenue::revenue(
        state,
        project_id,
        interval,
        (from_ms, to_ms),
        p.in_cohort.as_deref(),
    )
    .await?;
    Ok(RevenueView::new(interval, from_ms, to_ms, r))
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
        InsightKind::Retention => retention_query(&read(kind, query)?, now).map(|_| ()),
        InsightKind::Active | InsightKind::Stickiness => {
            day_range(&read::<ActiveParams>(kind, query)?, now).map(|_| ())
        }
        InsightKind::Lifecycle => lifecycle_query(&read(kind, query)?, now).map(|_| ()),
        InsightKind::Web => {
            let p: WebParams = read(kind, query)?;
            range(p.from.as_deref(), p.to.as_deref(), 30, 3660, None, now)?;
            web_top(p.top).map(|_| ())
        }
        InsightKind::Revenue => {
            let p: RevenueParams = read(kind, query)?;
            let i = interval(p.interval.as_deref(), Interval::Day)?;
            range(p.from.as_deref(), p.to.as_deref(), 30, 3660, Some(i), now).map(|_| ())
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
