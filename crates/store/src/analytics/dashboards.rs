//! Dashboards in the state store: each project's dashboards with their
//! range and filters, the insights each shows in order, and the goal set
//! on an insight.

use liveops_core::analytics::insight::{Goal, GoalOp};
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

/// A dashboard's range and filters, as kept: empty texts when unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// The last this many days.
    pub days: Option<i64>,
    /// Or a fixed range of dates (`YYYY-MM-DD`, the end exclusive).
    pub from_date: String,
    pub to_date: String,
    pub in_cohort: String,
    /// Property filters joined by `;`.
    pub filter: String,
}

/// One tile: an insight and how many of the three columns it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub insight_id: String,
    pub width: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardRow {
    pub id: String,
    pub name: String,
    pub frame: Frame,
    pub tiles: Vec<Tile>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Db {
    /// A project's dashboards, by name, with their tiles.
    pub async fn dashboards(&self, project_id: &str) -> Result<Vec<DashboardRow>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM dashboards WHERE project_id = $1 ORDER BY name")
                .bind(project_id)
                .fetch_all(self.pool())
                .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.dashboard(project_id, &id).await?);
        }
        Ok(out)
    }

    /// One dashboard, by id or by name.
    pub async fn dashboard(&self, project_id: &str, id_or_name: &str) -> Result<DashboardRow> {
        let r = sqlx::query(
            "SELECT id, name, days, from_date, to_date, in_cohort, filter, created_at, updated_at \
             FROM dashboards WHERE project_id = $1 AND (id = $2 OR name = $2) \
             ORDER BY id = $2 DESC LIMIT 1",
        )
        .bind(project_id)
        .bind(id_or_name)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let id: String = r.try_get("id")?;
        let tiles = sqlx::query(
            "SELECT insight_id, width FROM dashboard_tiles WHERE dashboard_id = $1 ORDER BY position",
        )
        .bind(&id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|t| {
            Ok(Tile {
                insight_id: t.try_get("insight_id")?,
                width: t.try_get("width")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(DashboardRow {
            id,
            name: r.try_get("name")?,
            frame: Frame {
                days: r.try_get("days")?,
                from_date: r.try_get("from_date")?,
                to_date: r.try_get("to_date")?,
                in_cohort: r.try_get("in_cohort")?,
                filter: r.try_get("filter")?,
            },
            tiles,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }

    /// The goal set on an insight, if any.
    pub async fn insight_goal(&self, insight_id: &str) -> Result<Option<Goal>> {
        let r = sqlx::query("SELECT op, target FROM insight_goals WHERE insight_id = $1")
            .bind(insight_id)
            .fetch_optional(self.pool())
            .await?;
        match r {
            None => Ok(None),
            Some(r) => {
                let op: String = r.try_get("op")?;
                let target: f64 = r.try_get("target")?;
                Ok(GoalOp::parse(&op).and_then(|op| Goal::new(op, target)))
            }
        }
    }
}

/// Adds a dashboard with its tiles; a conflict when the name is taken.
pub async fn insert_dashboard(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
    frame: &Frame,
    tiles: &[Tile],
    now: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO dashboards (id, project_id, name, days, from_date, to_date, in_cohort, filter, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(name)
    .bind(frame.days)
    .bind(&frame.from_date)
    .bind(&frame.to_date)
    .bind(&frame.in_cohort)
    .bind(&frame.filter)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a dashboard with this name"))?;
    put_tiles(conn, &id, tiles).await?;
    Ok(id)
}

/// Sets a dashboard's range, filters and tiles.
pub async fn update_dashboard(
    conn: &mut AnyConnection,
    id: &str,
    frame: &Frame,
    tiles: &[Tile],
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE dashboards SET days = $2, from_date = $3, to_date = $4, in_cohort = $5, \
         filter = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(frame.days)
    .bind(&frame.from_date)
    .bind(&frame.to_date)
    .bind(&frame.in_cohort)
    .bind(&frame.filter)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    put_tiles(conn, id, tiles).await
}

async fn put_tiles(conn: &mut AnyConnection, id: &str, tiles: &[Tile]) -> Result<()> {
    sqlx::query("DELETE FROM dashboard_tiles WHERE dashboard_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (i, t) in tiles.iter().enumerate() {
        sqlx::query(
            "INSERT INTO dashboard_tiles (dashboard_id, position, insight_id, width) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(i as i64)
        .bind(&t.insight_id)
        .bind(t.width)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Removes a dashboard; its tiles go with it (`ON DELETE CASCADE`), its
/// insights stay. False when there was none.
pub async fn delete_dashboard(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM dashboards WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Sets (or with `None`, removes) the goal on an insight.
pub async fn put_goal(
    conn: &mut AnyConnection,
    insight_id: &str,
    goal: Option<Goal>,
) -> Result<()> {
    sqlx::query("DELETE FROM insight_goals WHERE insight_id = $1")
        .bind(insight_id)
        .execute(&mut *conn)
        .await?;
    if let Some(g) = goal {
        sqlx::query("INSERT INTO insight_goals (insight_id, op, target) VALUES ($1, $2, $3)")
            .bind(insight_id)
            .bind(g.op.as_str())
            .bind(g.target)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// An alert on a saved insight, with what its last check found.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub insight_id: String,
    pub project_id: String,
    pub rule: liveops_core::analytics::insight::AlertRule,
    pub tier: liveops_core::support::escalation::Tier,
    pub severity: liveops_core::support::incident::Severity,
    pub firing: bool,
    pub last_value: Option<f64>,
    pub checked_at: Option<i64>,
    pub fired_at: Option<i64>,
}

fn alert_row(r: &sqlx::any::AnyRow) -> Result<AlertRow> {
    let bad = |what: &str| StoreError::Other(format!("insight alert: bad {what}"));
    let condition: String = r.try_get("condition")?;
    let value: f64 = r.try_get("value")?;
    let tier: String = r.try_get("tier")?;
    let severity: String = r.try_get("severity")?;
    let firing: i64 = r.try_get("firing")?;
    Ok(AlertRow {
        insight_id: r.try_get("insight_id")?,
        project_id: r.try_get("project_id")?,
        rule: liveops_core::analytics::insight::AlertRule::parse(&condition, value)
            .ok_or_else(|| bad("condition"))?,
        tier: liveops_core::support::escalation::Tier::parse(&tier).ok_or_else(|| bad("tier"))?,
        severity: severity.parse().map_err(|_| bad("severity"))?,
        firing: firing != 0,
        last_value: r.try_get("last_value")?,
        checked_at: r.try_get("checked_at")?,
        fired_at: r.try_get("fired_at")?,
    })
}

const ALERT_COLUMNS: &str = "insight_id, project_id, condition, value, tier, severity, firing, \
     last_value, checked_at, fired_at";

impl Db {
    /// The alert on an insight, if any.
    pub async fn insight_alert(&self, insight_id: &str) -> Result<Option<AlertRow>> {
        sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM insight_alerts WHERE insight_id = $1"
        ))
        .bind(insight_id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(alert_row)
        .transpose()
    }

    /// Every project's insight alerts.
    pub async fn insight_alerts(&self) -> Result<Vec<AlertRow>> {
        sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM insight_alerts ORDER BY project_id, insight_id"
        ))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(alert_row)
        .collect()
    }

    /// What an alert's check found (a measurement, not a change anyone
    /// made).
    pub async fn record_alert_check(
        &self,
        insight_id: &str,
        firing: bool,
        value: Option<f64>,
        now: i64,
        fired_at: Option<i64>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE insight_alerts SET firing = $2, last_value = $3, checked_at = $4, \
             fired_at = $5 WHERE insight_id = $1",
        )
        .bind(insight_id)
        .bind(i64::from(firing))
        .bind(value)
        .bind(now)
        .bind(fired_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// Sets (or with `None`, removes) the alert on an insight; a new rule
/// starts quiet.
pub async fn put_alert(
    conn: &mut AnyConnection,
    project_id: &str,
    insight_id: &str,
    alert: Option<(
        liveops_core::analytics::insight::AlertRule,
        liveops_core::support::escalation::Tier,
        liveops_core::support::incident::Severity,
    )>,
) -> Result<()> {
    sqlx::query("DELETE FROM insight_alerts WHERE insight_id = $1")
        .bind(insight_id)
        .execute(&mut *conn)
        .await?;
    if let Some((rule, tier, severity)) = alert {
        sqlx::query(
            "INSERT INTO insight_alerts (insight_id, project_id, condition, value, tier, severity, \
             firing) VALUES ($1, $2, $3, $4, $5, $6, 0)",
        )
        .bind(insight_id)
        .bind(project_id)
        .bind(rule.condition())
        .bind(rule.value())
        .bind(tier.as_str())
        .bind(severity.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
