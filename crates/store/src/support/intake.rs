//! Alert integrations: where alerts come from and what they start.

use liveops_core::support::incident::Severity;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::parse_stored;
use crate::{Db, Result, StoreError, new_id};

/// What an integration's webhook speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationKind {
    Alertmanager,
    Grafana,
    Generic,
}

impl IntegrationKind {
    pub const ALL: [IntegrationKind; 3] = [
        IntegrationKind::Alertmanager,
        IntegrationKind::Grafana,
        IntegrationKind::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::Alertmanager => "alertmanager",
            IntegrationKind::Grafana => "grafana",
            IntegrationKind::Generic => "generic",
        }
    }
}

impl std::str::FromStr for IntegrationKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        IntegrationKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown integration kind `{s}`: use alertmanager, grafana or generic")
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub kind: IntegrationKind,
    pub policy_id: Option<String>,
    pub component_id: Option<String>,
    pub default_severity: Severity,
    /// Whether a resolved alert resolves its incident.
    pub auto_resolve: bool,
    pub created_at: i64,
}

const COLS: &str = "id, project_id, name, kind, policy_id, component_id, default_severity, auto_resolve, created_at";

fn integration_from(r: &AnyRow) -> Result<Integration> {
    Ok(Integration {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        kind: parse_stored("integration kind", &r.try_get::<String, _>("kind")?)?,
        policy_id: r.try_get("policy_id")?,
        component_id: r.try_get("component_id")?,
        default_severity: parse_stored("severity", &r.try_get::<String, _>("default_severity")?)?,
        auto_resolve: r.try_get::<i64, _>("auto_resolve")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

#[derive(Debug)]
pub struct NewIntegration<'a> {
    pub project_id: &'a str,
    pub name: &'a str,
    pub kind: IntegrationKind,
    pub secret_hash: &'a str,
    /// The secret sealed, so its address can be shown again.
    pub secret_sealed: Option<&'a str>,
    pub policy_id: Option<&'a str>,
    pub component_id: Option<&'a str>,
    pub default_severity: Severity,
    pub auto_resolve: bool,
}

pub async fn insert_integration(
    conn: &mut AnyConnection,
    n: &NewIntegration<'_>,
    now: i64,
) -> Result<Integration> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO support_integrations (id, project_id, name, kind, secret_hash, policy_id, component_id, \
         default_severity, auto_resolve, created_at, secret_sealed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(n.project_id)
    .bind(n.name)
    .bind(n.kind.as_str())
    .bind(n.secret_hash)
    .bind(n.policy_id)
    .bind(n.component_id)
    .bind(n.default_severity.as_str())
    .bind(i64::from(n.auto_resolve))
    .bind(now)
    .bind(n.secret_sealed)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("an integration with this name"))?;
    Ok(Integration {
        id,
        project_id: n.project_id.to_owned(),
        name: n.name.to_owned(),
        kind: n.kind,
        policy_id: n.policy_id.map(str::to_owned),
        component_id: n.component_id.map(str::to_owned),
        default_severity: n.default_severity,
        auto_resolve: n.auto_resolve,
        created_at: now,
    })
}

impl Db {
    pub async fn integration_by_secret(&self, secret_hash: &str) -> Result<Integration> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM support_integrations WHERE secret_hash = $1"
        ))
        .bind(secret_hash)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        integration_from(&row)
    }

    pub async fn integrations(&self, project_id: &str) -> Result<Vec<Integration>> {
        let mut conn = self.pool().acquire().await?;
        integrations_in(&mut conn, project_id).await
    }
}

/// A project's integrations by name, read within a transaction.
pub async fn integrations_in(
    conn: &mut AnyConnection,
    project_id: &str,
) -> Result<Vec<Integration>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM support_integrations WHERE project_id = $1 ORDER BY name"
    ))
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(integration_from).collect()
}

/// What an integration does with its alerts, changed in place (its secret,
/// and so its URL, stays).
#[derive(Debug)]
pub struct IntegrationChange<'a> {
    pub kind: IntegrationKind,
    pub policy_id: Option<&'a str>,
    pub component_id: Option<&'a str>,
    pub default_severity: Severity,
    pub auto_resolve: bool,
}

pub async fn update_integration(
    conn: &mut AnyConnection,
    id: &str,
    c: &IntegrationChange<'_>,
) -> Result<()> {
    sqlx::query(
        "UPDATE support_integrations SET kind = $1, policy_id = $2, component_id = $3, \
         default_severity = $4, auto_resolve = $5 WHERE id = $6",
    )
    .bind(c.kind.as_str())
    .bind(c.policy_id)
    .bind(c.component_id)
    .bind(c.default_severity.as_str())
    .bind(i64::from(c.auto_resolve))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes an integration; its URL stops taking alerts. Incidents it opened
/// stay. (Alert rules and SLOs that file into it go with it: see
/// [`integration_users`] to refuse that first.)
pub async fn delete_integration(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
) -> Result<bool> {
    // The alerts' grouping goes with it; the incidents they opened stay.
    sqlx::query("DELETE FROM support_alerts WHERE integration_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE support_incidents SET integration_id = NULL WHERE integration_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM support_integrations WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// An integration's sealed secret; `None` for one made before secrets were
/// kept (or not found).
pub async fn sealed_secret(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "SELECT secret_sealed FROM support_integrations WHERE project_id = $1 AND id = $2",
    )
    .bind(project_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .flatten())
}

/// Gives an integration a new secret: its old address stops working.
pub async fn replace_secret(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
    secret_hash: &str,
    secret_sealed: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE support_integrations SET secret_hash = $1, secret_sealed = $2 \
         WHERE project_id = $3 AND id = $4",
    )
    .bind(secret_hash)
    .bind(secret_sealed)
    .bind(project_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The alert rules and SLOs that file into an integration, by name, and
/// `error alerts` when the project's error alerts do.
pub async fn integration_users(conn: &mut AnyConnection, id: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM performance_rules WHERE integration_id = $1 \
         UNION SELECT name FROM performance_slos WHERE integration_id = $1 \
         UNION SELECT 'error alerts' FROM error_settings e JOIN support_integrations i \
             ON i.project_id = e.project_id AND i.name = e.alert_integration WHERE i.id = $1 \
         ORDER BY 1",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?)
}
