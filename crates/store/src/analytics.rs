//! Analytics settings in the state store: named features, key funnels and
//! how long each project keeps its events. The events themselves live in
//! telemetry.

use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureRow {
    pub id: String,
    pub name: String,
    pub events: Vec<String>,
    pub created_at: i64,
}

pub async fn insert_feature(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
    events: &[String],
    now: i64,
) -> Result<FeatureRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO analytics_features (id, project_id, name, events, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(name)
    .bind(events.join("\n"))
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a feature with this name"))?;
    Ok(FeatureRow {
        id,
        name: name.to_owned(),
        events: events.to_vec(),
        created_at: now,
    })
}

/// Deletes a feature by name; false when there was none.
pub async fn delete_feature(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM analytics_features WHERE project_id = $1 AND name = $2")
        .bind(project_id)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Sets how many days of events a project keeps; `None` keeps them all.
pub async fn set_retention(
    conn: &mut AnyConnection,
    project_id: &str,
    days: Option<i64>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO analytics_settings (project_id, retention_days, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (project_id) DO UPDATE SET retention_days = excluded.retention_days, updated_at = excluded.updated_at",
    )
    .bind(project_id)
    .bind(days)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    pub async fn features(&self, project_id: &str) -> Result<Vec<FeatureRow>> {
        let rows = sqlx::query(
            "SELECT id, name, events, created_at FROM analytics_features WHERE project_id = $1 ORDER BY name",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let events: String = r.try_get("events")?;
                Ok(FeatureRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    events: events.lines().map(str::to_owned).collect(),
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// What a project has set for its events: `None` when it has set
    /// nothing, `Some(None)` when it keeps them forever.
    pub async fn event_retention(&self, project_id: &str) -> Result<Option<Option<i64>>> {
        Ok(sqlx::query_scalar(
            "SELECT retention_days FROM analytics_settings WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// A project's event retention in days, `None` when events are kept forever.
    pub async fn retention_days(&self, project_id: &str) -> Result<Option<i64>> {
        let days: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT retention_days FROM analytics_settings WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(days.flatten())
    }

    /// Every project that keeps events for a limited time: (project id, days).
    pub async fn retention_limits(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT project_id, retention_days FROM analytics_settings WHERE retention_days IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("project_id")?, r.try_get("retention_days")?)))
            .collect()
    }
}

/// A funnel the project watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFunnel {
    pub name: String,
    /// Each step's events; any of them counts.
    pub steps: Vec<Vec<String>>,
    /// How long a person has to get from the first step to the last.
    pub window_ms: i64,
    pub created_at: i64,
}

impl Db {
    /// A project's key funnels, by name.
    pub async fn key_funnels(&self, project_id: &str) -> Result<Vec<KeyFunnel>> {
        let rows = sqlx::query(
            "SELECT name, steps, window_ms, created_at FROM analytics_key_funnels \
             WHERE project_id = $1 ORDER BY name",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let steps: String = r.try_get("steps")?;
                Ok(KeyFunnel {
                    name: r.try_get("name")?,
                    steps: steps
                        .lines()
                        .map(|l| l.split('|').map(str::to_owned).collect())
                        .collect(),
                    window_ms: r.try_get("window_ms")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// Adds a key funnel; a conflict when the name is taken.
pub async fn insert_key_funnel(
    conn: &mut AnyConnection,
    project_id: &str,
    f: &KeyFunnel,
) -> Result<()> {
    let steps: Vec<String> = f.steps.iter().map(|s| s.join("|")).collect();
    sqlx::query(
        "INSERT INTO analytics_key_funnels (project_id, name, steps, window_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(project_id)
    .bind(&f.name)
    .bind(steps.join("\n"))
    .bind(f.window_ms)
    .bind(f.created_at)
    .execute(&mut *conn)
    .await
    .map_err(crate::StoreError::conflict_as(
        "a key funnel with this name",
    ))?;
    Ok(())
}

/// Removes a key funnel; false when there was none.
pub async fn delete_key_funnel(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
) -> Result<bool> {
    Ok(
        sqlx::query("DELETE FROM analytics_key_funnels WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1,
    )
}
