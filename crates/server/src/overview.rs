//! A project at a glance, for its overview page: one read per area of how
//! the product is doing now — open incidents and who is on call, active
//! users today against the same day last week, request rate, error rate
//! and p95 over the last five minutes, SLO budgets left, security findings
//! past their patch SLA, and the next release with its freeze date.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use liveops_core::support::escalation::Tier;
use liveops_store::StoreError;
use liveops_telemetry::analytics::ActiveQuery;
use liveops_telemetry::performance::RouteQuery;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;
const NS_PER_MS: i64 = 1_000_000;
/// How far back "now" looks for requests.
pub const NOW_WINDOW_MS: i64 = 5 * 60_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OpenIncident {
    pub number: i64,
    pub title: String,
    pub severity: String,
    pub state: String,
}

/// Requests over the last five minutes.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct Traffic {
    pub per_minute: f64,
    pub error_rate: Option<f64>,
    pub p95_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NextRelease {
    pub version: String,
    pub state: String,
    pub planned_for: Option<String>,
    /// The day its train freezes, when it leaves on one.
    pub freeze: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OnCall {
    /// The schedule, or `L1`.
    pub on: String,
    pub who: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SloBudget {
    pub name: String,
    /// The share of its error budget left (negative when overspent).
    pub budget_remaining: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct Glance {
    pub incidents: Vec<OpenIncident>,
    /// Who is on call, per schedule (or the L1 tier without one).
    pub on_call: Vec<OnCall>,
    /// Active users today, and on the same weekday a week before.
    pub active_today: Option<u64>,
    pub active_week_ago: Option<u64>,
    pub traffic: Traffic,
    pub slos: Vec<SloBudget>,
    pub findings_past_sla: i64,
    pub next_release: Option<NextRelease>,
}

/// Reads the glance. A telemetry read that fails leaves its part empty
/// rather than the page: the state store's parts still show.
pub async fn glance(state: &AppState, project_id: &str) -> Result<Glance, StoreError> {
    let now = state.now_ms();
    let at = Timestamp::from_millisecond(now).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut g = Glance {
        incidents: state
            .db
            .incidents(project_id, true, None, None, 10)
            .await?
            .into_iter()
            .map(|i| OpenIncident {
                number: i.number,
                title: i.title,
                severity: i.severity.as_str().to_owned(),
                state: i.state.as_str().to_owned(),
            })
            .collect(),
        ..Glance::default()
    };
    for s in state.db.schedules(project_id).await? {
        let loaded = state.db.schedule(project_id, &s.id).await?;
        if let Some((user, _)) = loaded.schedule.on_call_at(at) {
            g.on_call.push(OnCall {
                on: s.name,
                who: email(state, user).await?,
            });
        }
    }
    if g.on_call.is_empty() {
        let (people, _) =
            crate::support::service::tier_on_call(&state.db, project_id, Tier::L1, at).await?;
        let mut who = Vec::new();
        for p in &people {
            who.push(email(state, p).await?);
        }
        if !who.is_empty() {
            g.on_call.push(OnCall {
                on: "L1".into(),
                who: who.join(", "),
            });
        }
    }
    g.findings_past_sla = state
        .db
        .open_counts(project_id, now)
        .await?
        .security_breaches;
    g.next_release = next_release(state, project_id, now).await?;
    let slos = state.db.slos(Some(project_id)).await?;

    // The telemetry reads, off the async threads.
    let st = state.clone();
    let pid = project_id.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        let today = now.div_euclid(DAY_MS);
        let active = st
            .telemetry
            .analytics()
            .active_users(
                &pid,
                &ActiveQuery {
                    persons: None,
                    events: Vec::new(),
                    from_day: today - 7,
                    days: 8,
                },
            )
            .ok()
            .map(|s| (s.dau.first().copied(), s.dau.last().copied()));
        let traffic = st
            .telemetry
            .performance()
            .merged(
                &pid,
                &RouteQuery {
                    from_ns: (now - NOW_WINDOW_MS) * NS_PER_MS,
                    to_ns: (now + 1) * NS_PER_MS,
                    ..RouteQuery::default()
                },
            )
            .ok()
            .map(|r| Traffic {
                per_minute: r.requests as f64 / (NOW_WINDOW_MS as f64 / 60_000.0),
                error_rate: (r.requests > 0).then(|| r.errors as f64 / r.requests as f64),
                p95_ms: r.latency.quantile(0.95),
            });
        let slos: Vec<SloBudget> = slos
            .into_iter()
            .map(|s| {
                let status = crate::performance::alerts::slo_status(&st, &s, now);
                SloBudget {
                    name: s.name,
                    budget_remaining: Some(status.budget_remaining).filter(|b| b.is_finite()),
                }
            })
            .collect();
        (active, traffic, slos)
    })
    .await;
    if let Ok((active, traffic, slos)) = read {
        if let Some((week_ago, today)) = active {
            g.active_week_ago = week_ago;
            g.active_today = today;
        }
        g.traffic = traffic.unwrap_or_default();
        g.slos = slos;
    }
    Ok(g)
}

async fn email(state: &AppState, user_id: &str) -> Result<String, StoreError> {
    match state.db.user_by_id(user_id).await {
        Ok(u) => Ok(u.email),
        Err(StoreError::NotFound) => Ok(format!("deleted user {user_id}")),
        Err(e) => Err(e),
    }
}

/// The release planned soonest that has not shipped, and its freeze day.
async fn next_release(
    state: &AppState,
    project_id: &str,
    now: i64,
) -> Result<Option<NextRelease>, StoreError> {
    let today = Timestamp::from_millisecond(now)
        .map(|t| t.to_zoned(TimeZone::UTC).date())
        .unwrap_or_default();
    let mut open: Vec<_> = state
        .db
        .releases(project_id)
        .await?
        .into_iter()
        .filter(|r| r.state != "shipped")
        .collect();
    // Dated ones first, soonest first; undated ones after.
    open.sort_by(|a, b| match (&a.planned_for, &b.planned_for) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.created_at.cmp(&b.created_at),
    });
    let Some(r) = open.into_iter().find(|r| {
        r.planned_for
            .as_deref()
            .is_none_or(|d| d >= today.to_string().as_str())
    }) else {
        return Ok(None);
    };
    let mut freeze = None;
    if let (Some(train_id), Some(day)) = (&r.train_id, &r.planned_for) {
        let trains = state.db.trains(project_id).await?;
        if let (Some(t), Ok(day)) = (
            trains.iter().find(|t| &t.id == train_id),
            day.parse::<Date>(),
        ) {
            freeze = day
                .checked_sub(jiff::Span::new().days(t.freeze_days))
                .ok()
                .map(|d| d.to_string());
        }
    }
    Ok(Some(NextRelease {
        version: r.version,
        state: r.state,
        planned_for: r.planned_for,
        freeze,
    }))
}
