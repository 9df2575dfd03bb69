//! Performance findings in the state store: one row per detected pattern
//! with its lifecycle (open, resolved, ignored), and how far the detectors
//! have scanned each project's spans. The spans live in telemetry.

use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

/// A finding's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingStatus {
    Open,
    Resolved,
    Ignored,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Resolved => "resolved",
            FindingStatus::Ignored => "ignored",
        }
    }

    pub fn parse(s: &str) -> Option<FindingStatus> {
        [
            FindingStatus::Open,
            FindingStatus::Resolved,
            FindingStatus::Ignored,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
    }
}

/// What a detector run saw of one pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub kind: String,
    pub service: String,
    pub route: String,
    pub subject: String,
    pub detail: String,
    pub example_trace: Option<String>,
    /// New occurrences to add.
    pub occurrences: i64,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    pub id: String,
    pub kind: String,
    pub service: String,
    pub route: String,
    pub subject: String,
    pub detail: String,
    pub example_trace: Option<String>,
    pub occurrences: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub status: FindingStatus,
}

fn row(r: &sqlx::any::AnyRow) -> Result<FindingRow> {
    let status: String = r.try_get("status")?;
    Ok(FindingRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        service: r.try_get("service")?,
        route: r.try_get("route")?,
        subject: r.try_get("subject")?,
        detail: r.try_get("detail")?,
        example_trace: r.try_get("example_trace")?,
        occurrences: r.try_get("occurrences")?,
        first_seen: r.try_get("first_seen")?,
        last_seen: r.try_get("last_seen")?,
        status: FindingStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("a stored finding has status `{status}`")))?,
    })
}

const COLUMNS: &str = "id, kind, service, route, subject, detail, example_trace, occurrences, \
                       first_seen, last_seen, status";

async fn finding_in(conn: &mut AnyConnection, project_id: &str, id: &str) -> Result<FindingRow> {
    let r = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM performance_findings WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    row(&r)
}

async fn rule_in(conn: &mut AnyConnection, project_id: &str, id: &str) -> Result<RuleRow> {
    let r = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM performance_rules WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    rule_row(&r)
}

pub async fn set_finding_status(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
    status: FindingStatus,
) -> Result<FindingRow> {
    let done = sqlx::query(
        "UPDATE performance_findings SET status = $1 WHERE project_id = $2 AND id = $3",
    )
    .bind(status.as_str())
    .bind(project_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    finding_in(conn, project_id, id).await
}

impl Db {
    /// Records sightings: new patterns open findings, known ones count up
    /// and move their last sighting, and resolved ones open again (a
    /// regression of the fix). Ignored findings stay ignored.
    pub async fn record_findings(&self, project_id: &str, sightings: &[Sighting]) -> Result<()> {
        let mut tx = self.begin().await?;
        for s in sightings {
            sqlx::query(
                "INSERT INTO performance_findings (id, project_id, kind, service, route, subject, detail, \
                 example_trace, occurrences, first_seen, last_seen, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 'open') \
                 ON CONFLICT (project_id, kind, service, route, subject) DO UPDATE SET \
                 occurrences = performance_findings.occurrences + excluded.occurrences, \
                 detail = excluded.detail, example_trace = excluded.example_trace, \
                 last_seen = excluded.last_seen, \
                 status = CASE WHEN performance_findings.status = 'resolved' THEN 'open' \
                 ELSE performance_findings.status END",
            )
            .bind(new_id())
            .bind(project_id)
            .bind(&s.kind)
            .bind(&s.service)
            .bind(&s.route)
            .bind(&s.subject)
            .bind(&s.detail)
            .bind(&s.example_trace)
            .bind(s.occurrences)
            .bind(s.at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A project's findings, newest sighting first; `status` filters.
    pub async fn findings(
        &self,
        project_id: &str,
        status: Option<FindingStatus>,
    ) -> Result<Vec<FindingRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM performance_findings WHERE project_id = $1 \
             AND ($2 = '' OR status = $2) ORDER BY last_seen DESC, id LIMIT 500"
        ))
        .bind(project_id)
        .bind(status.map_or("", FindingStatus::as_str))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    pub async fn finding(&self, project_id: &str, id: &str) -> Result<FindingRow> {
        let mut conn = self.pool().acquire().await?;
        finding_in(&mut conn, project_id, id).await
    }

    /// How far the detectors have scanned a project, if at all.
    pub async fn scanned_to(&self, project_id: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT scanned_to FROM performance_scans WHERE project_id = $1")
                .bind(project_id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn set_scanned_to(&self, project_id: &str, to: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO performance_scans (project_id, scanned_to) VALUES ($1, $2) \
             ON CONFLICT (project_id) DO UPDATE SET scanned_to = excluded.scanned_to",
        )
        .bind(project_id)
        .bind(to)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Whether a finding exists for this pattern already.
    pub async fn has_finding(
        &self,
        project_id: &str,
        kind: &str,
        service: &str,
        route: &str,
        subject: &str,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM performance_findings WHERE project_id = $1 AND kind = $2 \
             AND service = $3 AND route = $4 AND subject = $5",
        )
        .bind(project_id)
        .bind(kind)
        .bind(service)
        .bind(route)
        .bind(subject)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }
}

/// An alert rule as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub metric: String,
    pub comparator: String,
    pub threshold: f64,
    pub for_secs: i64,
    pub window_secs: i64,
    pub service: String,
    pub route: String,
    pub severity: String,
    pub integration_id: String,
    pub state: String,
    pub pending_since: Option<i64>,
    pub value: Option<f64>,
    pub evaluated_at: Option<i64>,
    pub created_at: i64,
}

/// A new rule; `state` starts at ok.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRule<'a> {
    pub name: &'a str,
    pub metric: &'a str,
    pub comparator: &'a str,
    pub threshold: f64,
    pub for_secs: i64,
    pub window_secs: i64,
    pub service: &'a str,
    pub route: &'a str,
    pub severity: &'a str,
    pub integration_id: &'a str,
}

const RULE_COLUMNS: &str = "id, project_id, name, metric, comparator, threshold, for_secs, window_secs, \
     service, route, severity, integration_id, state, pending_since, value, evaluated_at, created_at";

fn rule_row(r: &sqlx::any::AnyRow) -> Result<RuleRow> {
    Ok(RuleRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        metric: r.try_get("metric")?,
        comparator: r.try_get("comparator")?,
        threshold: r.try_get("threshold")?,
        for_secs: r.try_get("for_secs")?,
        window_secs: r.try_get("window_secs")?,
        service: r.try_get("service")?,
        route: r.try_get("route")?,
        severity: r.try_get("severity")?,
        integration_id: r.try_get("integration_id")?,
        state: r.try_get("state")?,
        pending_since: r.try_get("pending_since")?,
        value: r.try_get("value")?,
        evaluated_at: r.try_get("evaluated_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// An SLO as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SloRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub kind: String,
    pub objective: f64,
    pub latency_ms: Option<f64>,
    pub period_days: i64,
    pub service: String,
    pub route: String,
    pub integration_id: String,
    pub state: String,
    pub evaluated_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSlo<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub objective: f64,
    pub latency_ms: Option<f64>,
    pub period_days: i64,
    pub service: &'a str,
    pub route: &'a str,
    pub integration_id: &'a str,
}

const SLO_COLUMNS: &str = "id, project_id, name, kind, objective, latency_ms, period_days, service, \
     route, integration_id, state, evaluated_at, created_at";

fn slo_row(r: &sqlx::any::AnyRow) -> Result<SloRow> {
    Ok(SloRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        objective: r.try_get("objective")?,
        latency_ms: r.try_get("latency_ms")?,
        period_days: r.try_get("period_days")?,
        service: r.try_get("service")?,
        route: r.try_get("route")?,
        integration_id: r.try_get("integration_id")?,
        state: r.try_get("state")?,
        evaluated_at: r.try_get("evaluated_at")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert_rule(
    conn: &mut AnyConnection,
    project_id: &str,
    n: &NewRule<'_>,
    now: i64,
) -> Result<RuleRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO performance_rules (id, project_id, name, metric, comparator, threshold, for_secs, \
         window_secs, service, route, severity, integration_id, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'ok', $13)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(n.name)
    .bind(n.metric)
    .bind(n.comparator)
    .bind(n.threshold)
    .bind(n.for_secs)
    .bind(n.window_secs)
    .bind(n.service)
    .bind(n.route)
    .bind(n.severity)
    .bind(n.integration_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a rule with this name"))?;
    rule_in(conn, project_id, &id).await
}

pub async fn delete_rule(conn: &mut AnyConnection, project_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM performance_rules WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn insert_slo(
    conn: &mut AnyConnection,
    project_id: &str,
    n: &NewSlo<'_>,
    now: i64,
) -> Result<SloRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO performance_slos (id, project_id, name, kind, objective, latency_ms, period_days, \
         service, route, integration_id, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $12 = 1 THEN $6 END, $7, $8, $9, $10, 'ok', $11)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(n.name)
    .bind(n.kind)
    .bind(n.objective)
    .bind(n.latency_ms.unwrap_or(0.0))
    .bind(n.period_days)
    .bind(n.service)
    .bind(n.route)
    .bind(n.integration_id)
    .bind(now)
    .bind(i64::from(n.latency_ms.is_some()))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("an SLO with this name"))?;
    let r = sqlx::query(&format!(
        "SELECT {SLO_COLUMNS} FROM performance_slos WHERE id = $1"
    ))
    .bind(&id)
    .fetch_one(&mut *conn)
    .await?;
    slo_row(&r)
}

pub async fn delete_slo(conn: &mut AnyConnection, project_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM performance_slos WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

impl Db {
    pub async fn rule(&self, project_id: &str, id: &str) -> Result<RuleRow> {
        let mut conn = self.pool().acquire().await?;
        rule_in(&mut conn, project_id, id).await
    }

    /// A project's rules by name; every project's when `project_id` is None.
    pub async fn rules(&self, project_id: Option<&str>) -> Result<Vec<RuleRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM performance_rules WHERE ($1 = '' OR project_id = $1) ORDER BY project_id, name"
        ))
        .bind(project_id.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(rule_row).collect()
    }

    /// Records an evaluation: the rule's state, since when it is pending,
    /// and the value seen.
    pub async fn set_rule_state(
        &self,
        id: &str,
        state: &str,
        pending_since: Option<i64>,
        value: Option<f64>,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE performance_rules SET state = $1, pending_since = $2, \
             value = CASE WHEN $6 = 1 THEN $3 END, evaluated_at = $4 WHERE id = $5",
        )
        .bind(state)
        .bind(pending_since)
        // A NULL float on a reused PostgreSQL statement is refused once a
        // number has been bound there, so floats go in with a flag.
        .bind(value.unwrap_or(0.0))
        .bind(now)
        .bind(id)
        .bind(i64::from(value.is_some()))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A project's SLOs by name; every project's when `project_id` is None.
    pub async fn slos(&self, project_id: Option<&str>) -> Result<Vec<SloRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {SLO_COLUMNS} FROM performance_slos WHERE ($1 = '' OR project_id = $1) ORDER BY project_id, name"
        ))
        .bind(project_id.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(slo_row).collect()
    }

    pub async fn set_slo_state(&self, id: &str, state: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE performance_slos SET state = $1, evaluated_at = $2 WHERE id = $3")
            .bind(state)
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// Changes a rule's definition in place. Where it stands (firing or not)
/// starts over, since what it watches may have changed.
pub async fn update_rule(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
    n: &NewRule<'_>,
) -> Result<RuleRow> {
    sqlx::query(
        "UPDATE performance_rules SET metric = $1, comparator = $2, threshold = $3, for_secs = $4, \
         window_secs = $5, service = $6, route = $7, severity = $8, integration_id = $9, \
         pending_since = NULL WHERE project_id = $10 AND id = $11",
    )
    .bind(n.metric)
    .bind(n.comparator)
    .bind(n.threshold)
    .bind(n.for_secs)
    .bind(n.window_secs)
    .bind(n.service)
    .bind(n.route)
    .bind(n.severity)
    .bind(n.integration_id)
    .bind(project_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    rule_in(conn, project_id, id).await
}

/// Changes an SLO's definition in place.
pub async fn update_slo(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
    n: &NewSlo<'_>,
) -> Result<()> {
    sqlx::query(
        "UPDATE performance_slos SET kind = $1, objective = $2, \
         latency_ms = CASE WHEN $3 = 1 THEN $4 END, period_days = $5, service = $6, route = $7, \
         integration_id = $8 WHERE project_id = $9 AND id = $10",
    )
    .bind(n.kind)
    .bind(n.objective)
    .bind(i64::from(n.latency_ms.is_some()))
    .bind(n.latency_ms.unwrap_or(0.0))
    .bind(n.period_days)
    .bind(n.service)
    .bind(n.route)
    .bind(n.integration_id)
    .bind(project_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
