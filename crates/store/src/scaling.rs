//! Scaling in the state store: each service metric's configured capacity,
//! replicas and target utilisation, which forecasts are read against; and
//! how long each project keeps each kind of telemetry.

use sqlx::AnyConnection;
use sqlx::Row;

use crate::{Db, Result};

/// What a service can take on one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    pub service: String,
    /// `requests` (per second, from spans) or an OTLP metric's name.
    pub metric: String,
    /// The most the replicas together can take, in the metric's unit.
    pub capacity: f64,
    pub replicas: i64,
    /// The utilisation to scale for, in (0, 1].
    pub target_utilisation: f64,
    pub updated_at: i64,
}

impl Db {
    /// A project's capacities, by service and metric.
    pub async fn capacities(&self, project_id: &str) -> Result<Vec<Capacity>> {
        let rows = sqlx::query(
            "SELECT service, metric, capacity, replicas, target_utilisation, updated_at \
             FROM scaling_capacities WHERE project_id = $1 ORDER BY service, metric",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Capacity {
                    service: r.try_get("service")?,
                    metric: r.try_get("metric")?,
                    capacity: r.try_get("capacity")?,
                    replicas: r.try_get("replicas")?,
                    target_utilisation: r.try_get("target_utilisation")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }
}

/// Sets a service metric's capacity, replacing an earlier one.
pub async fn put_capacity(conn: &mut AnyConnection, project_id: &str, c: &Capacity) -> Result<()> {
    sqlx::query(
        "DELETE FROM scaling_capacities WHERE project_id = $1 AND service = $2 AND metric = $3",
    )
    .bind(project_id)
    .bind(&c.service)
    .bind(&c.metric)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO scaling_capacities (project_id, service, metric, capacity, replicas, \
         target_utilisation, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(project_id)
    .bind(&c.service)
    .bind(&c.metric)
    .bind(c.capacity)
    .bind(c.replicas)
    .bind(c.target_utilisation)
    .bind(c.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes one; false when there was none.
pub async fn delete_capacity(
    conn: &mut AnyConnection,
    project_id: &str,
    service: &str,
    metric: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "DELETE FROM scaling_capacities WHERE project_id = $1 AND service = $2 AND metric = $3",
    )
    .bind(project_id)
    .bind(service)
    .bind(metric)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Sets how many days of `kind` (events, spans, metrics or rollups) a project keeps;
/// `None` keeps everything.
pub async fn set_retention(
    conn: &mut AnyConnection,
    project_id: &str,
    kind: &str,
    days: Option<i64>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO telemetry_retention (project_id, kind, days, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (project_id, kind) DO UPDATE SET days = excluded.days, updated_at = excluded.updated_at",
    )
    .bind(project_id)
    .bind(kind)
    .bind(days)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A retention a project has set: (project id, kind, days; `None` keeps all).
pub type RetentionRow = (String, String, Option<i64>);

impl Db {
    /// Every retention projects have set (`project_id` narrows it to one
    /// project).
    pub async fn retention_settings(&self, project_id: Option<&str>) -> Result<Vec<RetentionRow>> {
        const ALL: &str = "SELECT project_id, kind, days FROM telemetry_retention";
        let rows = match project_id {
            Some(id) => {
                sqlx::query(&format!("{ALL} WHERE project_id = $1 ORDER BY kind"))
                    .bind(id)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query(&format!("{ALL} ORDER BY project_id, kind"))
                    .fetch_all(self.pool())
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("project_id")?,
                    r.try_get("kind")?,
                    r.try_get("days")?,
                ))
            })
            .collect()
    }
}

/// Forgets a project's retention for `kind`, so the default applies again.
pub async fn clear_retention(conn: &mut AnyConnection, project_id: &str, kind: &str) -> Result<()> {
    sqlx::query("DELETE FROM telemetry_retention WHERE project_id = $1 AND kind = $2")
        .bind(project_id)
        .bind(kind)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
