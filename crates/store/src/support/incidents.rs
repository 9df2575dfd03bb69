//! Incidents, their timelines, alerts, links and escalation bookkeeping.

use liveops_core::support::alert::Alert;
use liveops_core::support::incident::{IncidentState, Severity, StatusStage};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::parse_stored;
use crate::{Db, Result, StoreError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    pub id: String,
    pub project_id: String,
    pub number: i64,
    pub title: String,
    pub severity: Severity,
    pub state: IncidentState,
    pub stage: StatusStage,
    pub dedup_key: Option<String>,
    pub integration_id: Option<String>,
    pub policy_id: Option<String>,
    pub assignee_id: Option<String>,
    pub commander_id: Option<String>,
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// The next escalation step to run.
    pub esc_step: i64,
    /// When it falls due; `None` when escalation is stopped.
    pub esc_next_at: Option<i64>,
    pub ack_deadline: Option<i64>,
}

const COLS: &str = "id, project_id, number, title, severity, state, stage, dedup_key, integration_id, \
     policy_id, assignee_id, commander_id, created_at, acknowledged_at, resolved_at, esc_step, \
     esc_next_at, ack_deadline";

fn incident_from(r: &AnyRow) -> Result<IncidentRow> {
    Ok(IncidentRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        number: r.try_get("number")?,
        title: r.try_get("title")?,
        severity: parse_stored("severity", &r.try_get::<String, _>("severity")?)?,
        state: parse_stored("incident state", &r.try_get::<String, _>("state")?)?,
        stage: parse_stored("status stage", &r.try_get::<String, _>("stage")?)?,
        dedup_key: r.try_get("dedup_key")?,
        integration_id: r.try_get("integration_id")?,
        policy_id: r.try_get("policy_id")?,
        assignee_id: r.try_get("assignee_id")?,
        commander_id: r.try_get("commander_id")?,
        created_at: r.try_get("created_at")?,
        acknowledged_at: r.try_get("acknowledged_at")?,
        resolved_at: r.try_get("resolved_at")?,
        esc_step: r.try_get("esc_step")?,
        esc_next_at: r.try_get("esc_next_at")?,
        ack_deadline: r.try_get("ack_deadline")?,
    })
}

#[derive(Debug)]
pub struct NewIncident<'a> {
    pub project_id: &'a str,
    pub title: &'a str,
    pub severity: Severity,
    pub dedup_key: Option<&'a str>,
    pub integration_id: Option<&'a str>,
    pub policy_id: Option<&'a str>,
    pub assignee_id: Option<&'a str>,
    pub commander_id: Option<&'a str>,
}

/// Opens an incident with the project's next number. Escalation, when there
/// is a policy, falls due at once.
pub async fn insert_incident(
    conn: &mut AnyConnection,
    n: &NewIncident<'_>,
    now: i64,
) -> Result<IncidentRow> {
    let id = new_id();
    let esc_next_at = n.policy_id.map(|_| now);
    // The number comes from a sub-select in the same statement, so no read
    // precedes the write; the unique index turns a rare race into a conflict.
    let row = sqlx::query(&format!(
        "INSERT INTO support_incidents (id, project_id, number, title, severity, state, stage, dedup_key, \
         integration_id, policy_id, assignee_id, commander_id, created_at, esc_step, esc_next_at) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(number), 0) + 1 FROM support_incidents WHERE project_id = $2), \
         $3, $4, 'triggered', 'investigating', $5, $6, $7, $8, $9, $10, 0, $11) RETURNING {COLS}"
    ))
    .bind(&id)
    .bind(n.project_id)
    .bind(n.title)
    .bind(n.severity.as_str())
    .bind(n.dedup_key)
    .bind(n.integration_id)
    .bind(n.policy_id)
    .bind(n.assignee_id)
    .bind(n.commander_id)
    .bind(now)
    .bind(esc_next_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("an open incident with this key"))?;
    incident_from(&row)
}

pub async fn open_by_key(
    conn: &mut AnyConnection,
    project_id: &str,
    key: &str,
) -> Result<Option<IncidentRow>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM support_incidents WHERE project_id = $1 AND dedup_key = $2 AND state <> 'resolved'"
    ))
    .bind(project_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(incident_from).transpose()
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<IncidentRow> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM support_incidents WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    incident_from(&row)
}

/// Appends to the timeline. `public` entries also show on the status page.
/// Whether anyone gave the incident a public update: only then does it
/// show on the status page and reach subscribers.
pub async fn has_public_event(conn: &mut AnyConnection, incident_id: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM support_incident_events WHERE incident_id = $1 AND public = 1",
    )
    .bind(incident_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

pub async fn add_event(
    conn: &mut AnyConnection,
    incident_id: &str,
    actor: &str,
    kind: &str,
    body: Option<&str>,
    public: bool,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO support_incident_events (id, incident_id, at, actor, kind, body, public) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(incident_id)
    .bind(now)
    .bind(actor)
    .bind(kind)
    .bind(body)
    .bind(i64::from(public))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Triggered → acknowledged; stops escalation. `ack_deadline` re-triggers it
/// later when set. False when the incident was not triggered.
pub async fn acknowledge(
    conn: &mut AnyConnection,
    id: &str,
    ack_deadline: Option<i64>,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE support_incidents SET state = 'acknowledged', acknowledged_at = COALESCE(acknowledged_at, $1), \
         esc_next_at = NULL, ack_deadline = $2 WHERE id = $3 AND state = 'triggered'",
    )
    .bind(now)
    .bind(ack_deadline)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Any open state → resolved. False when it was already resolved.
pub async fn resolve(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE support_incidents SET state = 'resolved', stage = 'resolved', resolved_at = $1, \
         esc_next_at = NULL, ack_deadline = NULL WHERE id = $2 AND state <> 'resolved'",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An acknowledgement ran out: back to triggered, escalation from the top.
pub async fn ack_timeout(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE support_incidents SET state = 'triggered', esc_step = 0, esc_next_at = $1, ack_deadline = NULL \
         WHERE id = $2 AND state = 'acknowledged' AND ack_deadline IS NOT NULL AND ack_deadline <= $1",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims escalation step `step` for running: moves the incident to the next
/// step due at `next_at`. Only one caller can win a step, so a step runs once
/// even when a restart finds it overdue.
pub async fn claim_step(
    conn: &mut AnyConnection,
    id: &str,
    step: i64,
    next_at: Option<i64>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE support_incidents SET esc_step = $1, esc_next_at = $2 \
         WHERE id = $3 AND esc_step = $4 AND esc_next_at IS NOT NULL",
    )
    .bind(step + 1)
    .bind(next_at)
    .bind(id)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes the next step due now (a manual escalation); an acknowledged
/// incident becomes triggered again.
pub async fn escalate_now(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE support_incidents SET state = 'triggered', esc_next_at = $1, ack_deadline = NULL \
         WHERE id = $2 AND state <> 'resolved'",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_fields(
    conn: &mut AnyConnection,
    id: &str,
    stage: Option<StatusStage>,
    severity: Option<Severity>,
    assignee_id: Option<Option<&str>>,
    commander_id: Option<Option<&str>>,
) -> Result<()> {
    if let Some(stage) = stage {
        sqlx::query("UPDATE support_incidents SET stage = $1 WHERE id = $2")
            .bind(stage.as_str())
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(sev) = severity {
        sqlx::query("UPDATE support_incidents SET severity = $1 WHERE id = $2")
            .bind(sev.as_str())
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(a) = assignee_id {
        sqlx::query("UPDATE support_incidents SET assignee_id = $1 WHERE id = $2")
            .bind(a)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(c) = commander_id {
        sqlx::query("UPDATE support_incidents SET commander_id = $1 WHERE id = $2")
            .bind(c)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Records an alert under its incident, or refreshes it when seen again.
pub async fn upsert_alert(
    conn: &mut AnyConnection,
    incident: &IncidentRow,
    integration_id: &str,
    alert: &Alert,
    now: i64,
) -> Result<()> {
    let labels = alert
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let status = if alert.firing { "firing" } else { "resolved" };
    let resolved_at = (!alert.firing).then_some(now);
    sqlx::query(
        "INSERT INTO support_alerts (id, project_id, integration_id, incident_id, fingerprint, status, summary, \
         labels, first_seen, last_seen, resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) \
         ON CONFLICT (incident_id, fingerprint) DO UPDATE SET status = excluded.status, \
         summary = excluded.summary, last_seen = excluded.last_seen, resolved_at = excluded.resolved_at",
    )
    .bind(new_id())
    .bind(&incident.project_id)
    .bind(integration_id)
    .bind(&incident.id)
    .bind(&alert.fingerprint)
    .bind(status)
    .bind(&alert.summary)
    .bind(labels)
    .bind(now)
    .bind(resolved_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn firing_alerts(conn: &mut AnyConnection, incident_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM support_alerts WHERE incident_id = $1 AND status = 'firing'",
    )
    .bind(incident_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Links the incident to a ticket, release, deployment or commit; false
/// when it already was.
pub async fn add_link(
    conn: &mut AnyConnection,
    incident_id: &str,
    kind: &str,
    target_id: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO support_incident_links (incident_id, kind, target_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(incident_id)
    .bind(kind)
    .bind(target_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Records the use of a signed link by its nonce; false when it was used
/// before.
pub async fn claim_link(
    conn: &mut AnyConnection,
    nonce: &str,
    incident_id: &str,
    action: &str,
    used_by: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO incident_link_uses (nonce, incident_id, action, used_by, used_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(nonce)
    .bind(incident_id)
    .bind(action)
    .bind(used_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The id of a project's incident by its number, inside a change.
pub async fn id_by_number(
    conn: &mut AnyConnection,
    project_id: &str,
    number: i64,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar(
            "SELECT id FROM support_incidents WHERE project_id = $1 AND number = $2",
        )
        .bind(project_id)
        .bind(number)
        .fetch_optional(&mut *conn)
        .await?,
    )
}

/// An incident's number, inside a change.
pub async fn number_of(conn: &mut AnyConnection, incident_id: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT number FROM support_incidents WHERE id = $1")
            .bind(incident_id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

pub async fn set_services(
    conn: &mut AnyConnection,
    incident_id: &str,
    services: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM support_incident_services WHERE incident_id = $1")
        .bind(incident_id)
        .execute(&mut *conn)
        .await?;
    for s in services {
        sqlx::query(
            "INSERT INTO support_incident_services (incident_id, service) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(incident_id)
        .bind(s)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub id: String,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub body: Option<String>,
    pub public: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub kind: String,
    pub target_id: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub fingerprint: String,
    pub status: String,
    pub summary: String,
    pub labels: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

impl Db {
    /// Whether a signed link (by its nonce) has been used.
    pub async fn link_used(&self, nonce: &str) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM incident_link_uses WHERE nonce = $1")
                .bind(nonce)
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }

    pub async fn incident_by_number(&self, project_id: &str, number: i64) -> Result<IncidentRow> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM support_incidents WHERE project_id = $1 AND number = $2"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        incident_from(&row)
    }

    /// Incidents newest first, optionally only open ones, created in `[from, to)`.
    pub async fn incidents(
        &self,
        project_id: &str,
        open_only: bool,
        from: Option<i64>,
        to: Option<i64>,
        limit: i64,
    ) -> Result<Vec<IncidentRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM support_incidents WHERE project_id = $1 \
             AND ($2 = 0 OR state <> 'resolved') AND created_at >= $3 AND created_at < $4 \
             ORDER BY number DESC LIMIT $5"
        ))
        .bind(project_id)
        .bind(i64::from(open_only))
        .bind(from.unwrap_or(i64::MIN))
        .bind(to.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(incident_from).collect()
    }

    /// Incidents whose next escalation step has fallen due.
    pub async fn due_escalations(&self, now: i64, limit: i64) -> Result<Vec<IncidentRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM support_incidents WHERE esc_next_at IS NOT NULL AND esc_next_at <= $1 \
             AND state = 'triggered' ORDER BY esc_next_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(incident_from).collect()
    }

    /// Acknowledged incidents whose acknowledgement has run out.
    pub async fn due_ack_timeouts(&self, now: i64, limit: i64) -> Result<Vec<IncidentRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM support_incidents WHERE state = 'acknowledged' AND ack_deadline IS NOT NULL \
             AND ack_deadline <= $1 ORDER BY ack_deadline LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(incident_from).collect()
    }

    pub async fn incident_events(&self, incident_id: &str) -> Result<Vec<EventRow>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, kind, body, public FROM support_incident_events WHERE incident_id = $1 ORDER BY at, id",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EventRow {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    kind: r.try_get("kind")?,
                    body: r.try_get("body")?,
                    public: r.try_get::<i64, _>("public")? != 0,
                })
            })
            .collect()
    }

    pub async fn incident_links(&self, incident_id: &str) -> Result<Vec<LinkRow>> {
        let rows = sqlx::query(
            "SELECT kind, target_id, created_at FROM support_incident_links WHERE incident_id = $1 ORDER BY created_at",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LinkRow {
                    kind: r.try_get("kind")?,
                    target_id: r.try_get("target_id")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// A project's incidents linked to `target_id` of `kind` (the other end of a link), newest first.
    pub async fn incidents_linked_to(
        &self,
        project_id: &str,
        kind: &str,
        target_id: &str,
    ) -> Result<Vec<IncidentRow>> {
        let cols = COLS
            .split(", ")
            .map(|c| format!("i.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {cols} FROM support_incidents i JOIN support_incident_links l ON l.incident_id = i.id \
             WHERE i.project_id = $1 AND l.kind = $2 AND l.target_id = $3 ORDER BY i.number DESC"
        ))
        .bind(project_id)
        .bind(kind)
        .bind(target_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(incident_from).collect()
    }

    pub async fn incident_services(&self, incident_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT service FROM support_incident_services WHERE incident_id = $1 ORDER BY service",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn incident_alerts(&self, incident_id: &str) -> Result<Vec<AlertRow>> {
        let rows = sqlx::query(
            "SELECT fingerprint, status, summary, labels, first_seen, last_seen FROM support_alerts \
             WHERE incident_id = $1 ORDER BY first_seen, fingerprint",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AlertRow {
                    fingerprint: r.try_get("fingerprint")?,
                    status: r.try_get("status")?,
                    summary: r.try_get("summary")?,
                    labels: r
                        .try_get::<Option<String>, _>("labels")?
                        .unwrap_or_default(),
                    first_seen: r.try_get("first_seen")?,
                    last_seen: r.try_get("last_seen")?,
                })
            })
            .collect()
    }
}

/// Records a request for a hotfix release, for release planning to take up.
pub async fn insert_hotfix(
    conn: &mut AnyConnection,
    id: &str,
    project_id: &str,
    incident_id: &str,
    requested_by: &str,
    reason: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO support_hotfix_requests (id, project_id, incident_id, requested_by, reason, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'requested', $6)",
    )
    .bind(id)
    .bind(project_id)
    .bind(incident_id)
    .bind(requested_by)
    .bind(reason)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
