//! Dashboards: saved insights arranged in a grid, with one date range and
//! filters (a cohort, property filters) that apply to all of them, goals on
//! insights, and dashboards copied between projects as JSON. Everything is
//! kept in the state store with an audit entry; the tiles are answered by
//! the adapters (through `contract::answers`, with the answer cache).

use liveops_core::analytics::filter::parse_filters;
use liveops_core::analytics::insight::{Goal, InsightKind, insight_name};
use liveops_store::StoreError;
use liveops_store::analytics::dashboards::{self as store, DashboardRow, Frame, Tile};
use liveops_store::analytics::insights::{self as insights_store, InsightRow};
use liveops_store::audit::Actor;

use super::{AnalyticsError, Result};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// The most tiles a dashboard holds.
pub const MAX_TILES: usize = 24;

/// The longest range a dashboard sets, in days.
pub const MAX_DAYS: i64 = 3660;

/// A tile as asked for: an insight by id or name, and its width (1 to 3
/// columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileSpec {
    pub insight: String,
    pub width: i64,
}

fn date_ok(d: &str) -> bool {
    d.is_empty() || d.parse::<jiff::civil::Date>().is_ok()
}

/// Checks a range and filters: the last 1 to [`MAX_DAYS`] days or a range
/// of dates (not both), property filters that parse, a cohort that exists.
async fn check_frame(state: &AppState, project_id: &str, f: &Frame) -> Result<()> {
    check_frame_shape(f)?;
    if !f.in_cohort.is_empty() {
        super::cohorts::find(state, project_id, &f.in_cohort).await?;
    }
    Ok(())
}

/// Checks a range and filters without reading anything: the last 1 to
/// [`MAX_DAYS`] days or a range of dates (not both), property filters
/// that parse.
pub fn check_frame_shape(f: &Frame) -> Result<()> {
    if let Some(d) = f.days
        && !(1..=MAX_DAYS).contains(&d)
    {
        return Err(AnalyticsError::invalid(format!(
            "days: a dashboard shows the last 1 to {MAX_DAYS} days"
        )));
    }
    if f.days.is_some() && (!f.from_date.is_empty() || !f.to_date.is_empty()) {
        return Err(AnalyticsError::invalid(
            "a dashboard's range is the last `days` days or `from` and `to`, not both",
        ));
    }
    if !date_ok(&f.from_date) || !date_ok(&f.to_date) {
        return Err(AnalyticsError::invalid("from and to are dates: YYYY-MM-DD"));
    }
    parse_filters(&f.filter).map_err(|e| AnalyticsError::invalid(format!("where: {e}")))?;
    Ok(())
}

/// The tiles' insights, found by id or name in the project.
async fn tiles_of(state: &AppState, project_id: &str, specs: &[TileSpec]) -> Result<Vec<Tile>> {
    if specs.len() > MAX_TILES {
        return Err(AnalyticsError::invalid(format!(
            "a dashboard holds at most {MAX_TILES} insights"
        )));
    }
    let mut out = Vec::with_capacity(specs.len());
    for s in specs {
        if !(1..=3).contains(&s.width) {
            return Err(AnalyticsError::invalid(format!(
                "insight `{}`: a tile is 1 to 3 columns wide",
                s.insight
            )));
        }
        let row = super::insights::find(state, project_id, &s.insight).await?;
        out.push(Tile {
            insight_id: row.id,
            width: s.width,
        });
    }
    Ok(out)
}

pub fn name_of(name: &str) -> Result<String> {
    insight_name(name).ok_or_else(|| {
        AnalyticsError::invalid("a dashboard needs a name of 1 to 120 printable characters")
    })
}

fn conflict(name: &str) -> impl FnOnce(StoreError) -> AnalyticsError + '_ {
    move |e| match e {
        StoreError::Conflict(_) => {
            AnalyticsError::conflict(format!("there is already a dashboard `{name}`"))
        }
        e => e.into(),
    }
}

/// Makes a dashboard.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    name: &str,
    frame: &Frame,
    specs: &[TileSpec],
) -> Result<DashboardRow> {
    let name = name_of(name)?;
    check_frame(state, project_id, frame).await?;
    let tiles = tiles_of(state, project_id, specs).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let id = store::insert_dashboard(w.conn(), project_id, &name, frame, &tiles, now)
        .await
        .map_err(conflict(&name))?;
    w.commit(
        Audit::new("analytics.dashboard.create", &name)
            .detail(serde_json::json!({ "id": id, "tiles": tiles.len() })),
    )
    .await?;
    find(state, project_id, &id).await
}

/// Sets a dashboard's range, filters and tiles.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    which: &str,
    frame: &Frame,
    specs: &[TileSpec],
) -> Result<DashboardRow> {
    let row = find(state, project_id, which).await?;
    check_frame(state, project_id, frame).await?;
    let tiles = tiles_of(state, project_id, specs).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    store::update_dashboard(w.conn(), &row.id, frame, &tiles, now).await?;
    w.commit(
        Audit::new("analytics.dashboard.update", &row.name)
            .detail(serde_json::json!({ "id": row.id, "tiles": tiles.len() })),
    )
    .await?;
    find(state, project_id, &row.id).await
}

/// A dashboard by id or name, or a 404 that names it.
pub async fn find(state: &AppState, project_id: &str, which: &str) -> Result<DashboardRow> {
    match state.db.dashboard(project_id, which.trim()).await {
        Err(StoreError::NotFound) => Err(AnalyticsError::not_found(format!(
            "no dashboard `{}` in this project",
            which.trim()
        ))),
        other => Ok(other?),
    }
}

pub async fn list(state: &AppState, project_id: &str) -> Result<Vec<DashboardRow>> {
    Ok(state.db.dashboards(project_id).await?)
}

/// Removes a dashboard; its insights stay.
pub async fn delete(state: &AppState, actor: &Actor, project_id: &str, which: &str) -> Result<()> {
    let row = find(state, project_id, which).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !store::delete_dashboard(w.conn(), project_id, &row.id).await? {
        return Err(AnalyticsError::not_found(format!("no dashboard `{which}`")));
    }
    w.commit(
        Audit::new("analytics.dashboard.delete", &row.name)
            .detail(serde_json::json!({ "id": row.id })),
    )
    .await?;
    Ok(())
}

/// Sets, or with `None` removes, the goal on an insight's headline number.
pub async fn set_goal(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    insight: &str,
    goal: Option<Goal>,
) -> Result<InsightRow> {
    let row = super::insights::find(state, project_id, insight).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    store::put_goal(w.conn(), &row.id, goal).await?;
    w.commit(
        Audit::new("analytics.insight.goal", &row.name).detail(serde_json::json!({
            "id": row.id,
            "op": goal.map(|g| g.op.as_str()),
            "target": goal.map(|g| g.target),
        })),
    )
    .await?;
    Ok(row)
}

/// An insight as a copied dashboard carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct CarriedInsight {
    pub name: String,
    pub kind: InsightKind,
    /// Its request, as JSON text, already checked against its kind.
    pub query: String,
    pub goal: Option<Goal>,
    pub width: i64,
}

/// Makes a dashboard from one copied out of a project (this one or
/// another): its insights are saved by name, or, where the project has an
/// insight of that name, reused when it asks the same question. All or
/// nothing.
pub async fn import(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    name: &str,
    frame: &Frame,
    carried: &[CarriedInsight],
) -> Result<DashboardRow> {
    let name = name_of(name)?;
    check_frame(state, project_id, frame).await?;
    if carried.len() > MAX_TILES {
        return Err(AnalyticsError::invalid(format!(
            "a dashboard holds at most {MAX_TILES} insights"
        )));
    }
    let existing = state.db.insights(project_id).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let mut tiles = Vec::with_capacity(carried.len());
    let mut made = 0;
    for c in carried {
        if !(1..=3).contains(&c.width) {
            return Err(AnalyticsError::invalid(format!(
                "insight `{}`: a tile is 1 to 3 columns wide",
                c.name
            )));
        }
        let same = |q: &str| {
            serde_json::from_str::<serde_json::Value>(q).ok()
                == serde_json::from_str::<serde_json::Value>(&c.query).ok()
        };
        let id = match existing.iter().find(|i| i.name == c.name) {
            Some(i) if i.kind == c.kind && same(&i.query) => i.id.clone(),
            Some(_) => {
                return Err(AnalyticsError::conflict(format!(
                    "this project has an insight `{}` that asks another question: rename one",
                    c.name
                )));
            }
            None => {
                let n = insight_name(&c.name).ok_or_else(|| {
                    AnalyticsError::invalid(format!("insight `{}`: not a name", c.name))
                })?;
                made += 1;
                insights_store::insert_insight(
                    w.conn(),
                    project_id,
                    &n,
                    c.kind,
                    &c.query,
                    &actor.name,
                    now,
                )
                .await?
                .id
            }
        };
        store::put_goal(w.conn(), &id, c.goal).await?;
        tiles.push(Tile {
            insight_id: id,
            width: c.width,
        });
    }
    let id = store::insert_dashboard(w.conn(), project_id, &name, frame, &tiles, now)
        .await
        .map_err(conflict(&name))?;
    w.commit(
        Audit::new("analytics.dashboard.import", &name).detail(serde_json::json!({
            "id": id,
            "tiles": tiles.len(),
            "insights_made": made,
        })),
    )
    .await?;
    find(state, project_id, &id).await
}
