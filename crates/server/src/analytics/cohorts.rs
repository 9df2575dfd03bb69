//! Cohorts: named groups of persons, kept in the state store and evaluated
//! on the telemetry store when an insight filters or breaks down by one.
//! Behavioural cohorts are evaluated at the clock's now; their sizes over
//! time are computed from the events. Property and static cohorts depend
//! on what persons are like now, so their history is the size the
//! housekeeping job measured each day.

use liveops_core::analytics::cohort::{CohortRule, Window, cohort_name};
use liveops_store::analytics::cohorts::{self as store, CohortRow};
use liveops_store::audit::Actor;
use liveops_telemetry::analytics::{CohortQuery, Members, PersonView};

use super::{AnalyticsError, Result, telemetry};
use crate::state::AppState;
use crate::work::{Audit, Work};

const DAY_MS: i64 = 86_400_000;

/// The most days a size history covers.
pub const MAX_DAYS: usize = 400;

/// The most cohorts one insight breaks down by.
pub const MAX_BREAKDOWN: usize = 10;

/// A new cohort: its name and rule, and for a static cohort the distinct
/// ids it lists.
#[derive(Debug, Clone)]
pub struct NewCohort {
    pub name: String,
    pub rule: CohortRule,
    pub distinct_ids: Vec<String>,
}

/// Adds a cohort, with its list when it is static.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    new: NewCohort,
) -> Result<CohortRow> {
    let name = cohort_name(&new.name).map_err(|e| AnalyticsError::invalid(e.to_string()))?;
    let mut ids = new.distinct_ids;
    ids.sort_unstable();
    ids.dedup();
    match (&new.rule, ids.is_empty()) {
        (CohortRule::Static, true) => {
            return Err(AnalyticsError::invalid(
                "a static cohort needs distinct ids (a CSV with one per row)",
            ));
        }
        (CohortRule::Static, false) => {}
        (_, false) => {
            return Err(AnalyticsError::invalid(
                "only a static cohort lists distinct ids",
            ));
        }
        (_, true) => {}
    }
    if ids.len() > liveops_core::analytics::cohort::MAX_STATIC {
        return Err(AnalyticsError::invalid(format!(
            "a static cohort holds at most {} distinct ids",
            liveops_core::analytics::cohort::MAX_STATIC
        )));
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let mut row = store::insert_cohort(w.conn(), project_id, &name, &new.rule, now).await?;
    store::put_members(w.conn(), &row.id, &ids).await?;
    row.listed = ids.len() as i64;
    w.commit(
        Audit::new("analytics.cohort.create", &row.name).detail(serde_json::json!({
            "id": row.id,
            "kind": row.rule.kind(),
            "rule": row.rule.describe(),
            "listed": ids.len(),
        })),
    )
    .await?;
    Ok(row)
}

/// Removes a cohort by id or name.
pub async fn delete(state: &AppState, actor: &Actor, project_id: &str, which: &str) -> Result<()> {
    let row = find(state, project_id, which).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !store::delete_cohort(w.conn(), project_id, &row.id).await? {
        return Err(AnalyticsError::not_found(format!("no cohort `{which}`")));
    }
    w.commit(
        Audit::new("analytics.cohort.delete", &row.name)
            .detail(serde_json::json!({ "id": row.id, "kind": row.rule.kind() })),
    )
    .await?;
    Ok(())
}

/// A cohort by id or name, or a 404 that names it.
pub async fn find(state: &AppState, project_id: &str, which: &str) -> Result<CohortRow> {
    match state.db.cohort(project_id, which.trim()).await {
        Err(liveops_store::StoreError::NotFound) => Err(AnalyticsError::not_found(format!(
            "no cohort `{}` in this project",
            which.trim()
        ))),
        other => Ok(other?),
    }
}

/// The cohorts of a project, by name.
pub async fn list(state: &AppState, project_id: &str) -> Result<Vec<CohortRow>> {
    Ok(state.db.cohorts(project_id).await?)
}

/// The question a cohort asks of the telemetry store, at `at_ms`.
async fn query(state: &AppState, row: &CohortRow, at_ms: i64) -> Result<CohortQuery> {
    Ok(match &row.rule {
        CohortRule::Behavioural {
            event,
            min_count,
            days,
            did,
        } => CohortQuery::Behavioural {
            event: event.clone(),
            window: Window {
                min_count: *min_count,
                days: *days,
            },
            did: *did,
            at_ms,
        },
        CohortRule::Property { filters } => CohortQuery::Property {
            filters: filters.clone(),
        },
        CohortRule::Static => CohortQuery::Static {
            distinct_ids: state.db.cohort_members(&row.id).await?,
        },
    })
}

/// Who belongs to a cohort now.
pub async fn members(state: &AppState, project_id: &str, row: &CohortRow) -> Result<Members> {
    let q = query(state, row, state.now_ms()).await?;
    let id = project_id.to_owned();
    telemetry(state, move |a| a.cohort(&id, &q)).await
}

/// A cohort named by id or name, with who belongs to it now.
pub async fn resolve(
    state: &AppState,
    project_id: &str,
    which: &str,
) -> Result<(CohortRow, Members)> {
    let row = find(state, project_id, which).await?;
    let m = members(state, project_id, &row).await?;
    Ok((row, m))
}

/// Each cohort named (at most [`MAX_BREAKDOWN`]), with its members, for a
/// breakdown by cohort.
pub async fn resolve_all(
    state: &AppState,
    project_id: &str,
    which: &[String],
) -> Result<Vec<(CohortRow, Members)>> {
    if which.len() > MAX_BREAKDOWN {
        return Err(AnalyticsError::invalid(format!(
            "an insight breaks down by at most {MAX_BREAKDOWN} cohorts"
        )));
    }
    let mut out = Vec::with_capacity(which.len());
    for w in which {
        let got = resolve(state, project_id, w).await?;
        if out
            .iter()
            .any(|(r, _): &(CohortRow, Members)| r.id == got.0.id)
        {
            continue;
        }
        out.push(got);
    }
    Ok(out)
}

/// Which cohorts an insight looks at: one that every line keeps to, and
/// several to break down by (a line each), by id or name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CohortChoice {
    pub filter: Option<String>,
    pub breakdown: Vec<String>,
}

/// A choice of cohorts evaluated once: the filter's persons (everyone
/// when `None`) and each breakdown cohort's persons that are also in it.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub filter: Option<Members>,
    pub breakdown: Vec<(String, Members)>,
}

impl Resolved {
    /// The lines an insight draws: with no breakdown, one line (`None`)
    /// of the filter's persons; otherwise a line per cohort, named by it.
    pub fn lines(&self) -> Vec<(Option<String>, Option<Members>)> {
        if self.breakdown.is_empty() {
            return vec![(None, self.filter.clone())];
        }
        self.breakdown
            .iter()
            .map(|(name, m)| (Some(name.clone()), Some(m.clone())))
            .collect()
    }
}

/// Evaluates every cohort a choice names, each once.
pub async fn resolve_choice(
    state: &AppState,
    project_id: &str,
    choice: &CohortChoice,
) -> Result<Resolved> {
    let filter = filter(state, project_id, choice.filter.as_deref()).await?;
    let mut breakdown = Vec::with_capacity(choice.breakdown.len());
    if !choice.breakdown.is_empty() {
        for (row, m) in resolve_all(state, project_id, &choice.breakdown).await? {
            let m = match &filter {
                Some(f) => f.intersect(&m),
                None => m,
            };
            breakdown.push((row.name, m));
        }
    }
    Ok(Resolved { filter, breakdown })
}

/// The persons of the cohort an insight keeps to, if it names one.
pub async fn filter(
    state: &AppState,
    project_id: &str,
    which: Option<&str>,
) -> Result<Option<Members>> {
    match which {
        Some(w) => Ok(Some(resolve(state, project_id, w).await?.1)),
        None => Ok(None),
    }
}

/// A cohort's size on each day of `[from_day, from_day + days)`, at the
/// day's end: computed from the events for a behavioural cohort, as the
/// housekeeping job measured it (or `None` on a day it did not) for the
/// others.
pub async fn sizes(
    state: &AppState,
    project_id: &str,
    row: &CohortRow,
    from_day: i64,
    days: usize,
) -> Result<Vec<(i64, Option<u64>)>> {
    if days == 0 || days > MAX_DAYS {
        return Err(AnalyticsError::invalid(format!(
            "cohort sizes cover 1 to {MAX_DAYS} days"
        )));
    }
    let day_list: Vec<i64> = (0..days as i64).map(|k| from_day + k).collect();
    match &row.rule {
        CohortRule::Behavioural {
            event,
            min_count,
            days: look_back,
            did,
        } => {
            let ends: Vec<i64> = day_list.iter().map(|d| (d + 1) * DAY_MS).collect();
            let (event, did) = (event.clone(), *did);
            let window = Window {
                min_count: *min_count,
                days: *look_back,
            };
            let id = project_id.to_owned();
            let counts = telemetry(state, move |a| {
                a.cohort_sizes(&id, &event, window, did, &ends)
            })
            .await?;
            Ok(day_list
                .into_iter()
                .zip(counts.into_iter().map(Some))
                .collect())
        }
        CohortRule::Property { .. } | CohortRule::Static => {
            let history = state.db.cohort_size_history(&row.id).await?;
            Ok(day_list
                .into_iter()
                .map(|d| {
                    let size = history
                        .iter()
                        .find(|(day, _)| *day == d)
                        .and_then(|(_, n)| u64::try_from(*n).ok());
                    (d, size)
                })
                .collect())
        }
    }
}

/// The cohorts of a project, each with how many persons belong to it now.
pub async fn list_sized(state: &AppState, project_id: &str) -> Result<Vec<(CohortRow, usize)>> {
    let mut out = Vec::new();
    for row in list(state, project_id).await? {
        let n = members(state, project_id, &row).await?.len();
        out.push((row, n));
    }
    Ok(out)
}

/// Adds a cohort and says how many persons belong to it now.
pub async fn create_sized(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    new: NewCohort,
) -> Result<(CohortRow, usize)> {
    let row = create(state, actor, project_id, new).await?;
    let n = members(state, project_id, &row).await?.len();
    Ok((row, n))
}

/// A cohort by id or name, who belongs to it, and up to `limit` of those
/// persons, newest first.
pub async fn detail(
    state: &AppState,
    project_id: &str,
    which: &str,
    limit: usize,
) -> Result<(CohortRow, Members, Vec<PersonView>)> {
    let (row, m) = resolve(state, project_id, which).await?;
    let some = persons(state, project_id, &m, limit).await?;
    Ok((row, m, some))
}

/// The sizes of a cohort named by id or name; see [`sizes`].
pub async fn sizes_of(
    state: &AppState,
    project_id: &str,
    which: &str,
    from_day: i64,
    days: usize,
) -> Result<Vec<(i64, Option<u64>)>> {
    let row = find(state, project_id, which).await?;
    sizes(state, project_id, &row, from_day, days).await
}

/// Up to `limit` of a cohort's persons, newest first.
pub async fn persons(
    state: &AppState,
    project_id: &str,
    members: &Members,
    limit: usize,
) -> Result<Vec<PersonView>> {
    let id = project_id.to_owned();
    let all = telemetry(state, move |a| a.persons(&id, None, usize::MAX)).await?;
    Ok(all
        .into_iter()
        .filter(|p| members.contains(&p.id))
        .take(limit)
        .collect())
}

/// Measures every cohort of every project once a day (the housekeeping
/// job calls this each round; a cohort measured today is skipped).
pub async fn measure_all(state: &AppState) -> Result<usize> {
    let today = state.now_ms().div_euclid(DAY_MS);
    let mut measured = 0;
    for project in state.db.all_projects().await? {
        for row in state.db.cohorts(&project.id).await? {
            let history = state.db.cohort_size_history(&row.id).await?;
            if history.last().is_some_and(|(day, _)| *day == today) {
                continue;
            }
            let m = members(state, &project.id, &row).await?;
            state
                .db
                .record_cohort_size(&row.id, today, m.len() as i64)
                .await?;
            measured += 1;
        }
    }
    Ok(measured)
}
