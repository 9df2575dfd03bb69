//! Status-page components, their history, scheduled maintenance and subscribers.

use liveops_core::support::status::{ComponentStatus, MaintenanceState};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::parse_stored;
use crate::{Db, Result, StoreError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: ComponentStatus,
    pub position: i64,
}

fn component_from(r: &AnyRow) -> Result<Component> {
    Ok(Component {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        status: parse_stored("component status", &r.try_get::<String, _>("status")?)?,
        position: r.try_get("position")?,
    })
}

const COLS: &str = "id, project_id, name, description, status, position";

pub async fn insert_component(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
    description: Option<&str>,
    now: i64,
) -> Result<Component> {
    let id = new_id();
    let row = sqlx::query(&format!(
        "INSERT INTO support_components (id, project_id, name, description, status, position, created_at) \
         VALUES ($1, $2, $3, $4, 'operational', \
         (SELECT COALESCE(MAX(position), 0) + 1 FROM support_components WHERE project_id = $2), $5) RETURNING {COLS}"
    ))
    .bind(&id)
    .bind(project_id)
    .bind(name)
    .bind(description)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a component with this name"))?;
    log_status(conn, &id, ComponentStatus::Operational, now).await?;
    component_from(&row)
}

async fn log_status(
    conn: &mut AnyConnection,
    component_id: &str,
    status: ComponentStatus,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO support_component_log (id, component_id, at, status) VALUES ($1, $2, $3, $4)",
    )
    .bind(new_id())
    .bind(component_id)
    .bind(now)
    .bind(status.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets a component's status, logging the change; false when it was unchanged.
pub async fn set_status(
    conn: &mut AnyConnection,
    component_id: &str,
    status: ComponentStatus,
    now: i64,
) -> Result<bool> {
    let done =
        sqlx::query("UPDATE support_components SET status = $1 WHERE id = $2 AND status <> $1")
            .bind(status.as_str())
            .bind(component_id)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 1 {
        log_status(conn, component_id, status, now).await?;
        return Ok(true);
    }
    Ok(false)
}

/// Marks a component as affected by an incident.
pub async fn affect(
    conn: &mut AnyConnection,
    incident_id: &str,
    component_id: &str,
    status: ComponentStatus,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO support_incident_components (incident_id, component_id, status) VALUES ($1, $2, $3) \
         ON CONFLICT (incident_id, component_id) DO UPDATE SET status = excluded.status",
    )
    .bind(incident_id)
    .bind(component_id)
    .bind(status.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The worst status open incidents give a component, if any affects it.
pub async fn worst_open_impact(
    conn: &mut AnyConnection,
    component_id: &str,
) -> Result<Option<ComponentStatus>> {
    let statuses: Vec<String> = sqlx::query_scalar(
        "SELECT ic.status FROM support_incident_components ic JOIN support_incidents i ON i.id = ic.incident_id \
         WHERE ic.component_id = $1 AND i.state <> 'resolved'",
    )
    .bind(component_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut worst = None;
    for s in statuses {
        let s: ComponentStatus = parse_stored("component status", &s)?;
        worst = Some(worst.map_or(s, |w: ComponentStatus| w.max(s)));
    }
    Ok(worst)
}

pub async fn components_of_incident(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT component_id FROM support_incident_components WHERE incident_id = $1",
    )
    .bind(incident_id)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub body: Option<String>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub state: MaintenanceState,
    pub components: Vec<String>,
}

const MAINT_COLS: &str = "id, project_id, title, body, starts_at, ends_at, state, components";

fn maintenance_from(r: &AnyRow) -> Result<Maintenance> {
    let components: String = r.try_get("components")?;
    Ok(Maintenance {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        state: parse_stored("maintenance state", &r.try_get::<String, _>("state")?)?,
        components: components
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Moves a window from stage `from` to `to`; false when it was no longer at
/// `from` (someone, or the clock, moved it first).
pub async fn move_maintenance(
    conn: &mut AnyConnection,
    id: &str,
    from: MaintenanceState,
    to: MaintenanceState,
) -> Result<bool> {
    let done =
        sqlx::query("UPDATE support_maintenances SET state = $1 WHERE id = $2 AND state = $3")
            .bind(to.as_str())
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether a maintenance window in progress or being verified covers the component.
pub async fn under_maintenance(conn: &mut AnyConnection, component_id: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM support_maintenances WHERE state IN ('in_progress', 'verifying') \
         AND (',' || components || ',') LIKE ('%,' || $1 || ',%')",
    )
    .bind(component_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// A maintenance window about to be scheduled.
#[derive(Debug)]
pub struct NewMaintenance<'a> {
    pub project_id: &'a str,
    pub title: &'a str,
    pub body: Option<&'a str>,
    pub starts_at: i64,
    pub ends_at: i64,
    /// Component ids.
    pub components: &'a [String],
}

pub async fn insert_maintenance(
    conn: &mut AnyConnection,
    m: &NewMaintenance<'_>,
    now: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO support_maintenances (id, project_id, title, body, starts_at, ends_at, state, components, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', $7, $8)",
    )
    .bind(&id)
    .bind(m.project_id)
    .bind(m.title)
    .bind(m.body)
    .bind(m.starts_at)
    .bind(m.ends_at)
    .bind(m.components.join(","))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// A status-page subscriber as stored. `address` is an e-mail address, or a
/// sealed webhook URL; `secret` (webhooks) is the sealed key their
/// deliveries are signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub id: String,
    pub kind: String,
    pub address: String,
    /// Component ids; `None` means every component.
    pub components: Option<Vec<String>>,
    pub confirmed_at: Option<i64>,
    /// The nonce of the confirmation link sent last; a new request makes
    /// the older links worthless.
    pub confirm_nonce: Option<String>,
    pub confirm_sent_at: Option<i64>,
    /// A change of components waiting for the subscriber to confirm it:
    /// `Some(None)` for every component.
    pub pending_components: Option<Option<Vec<String>>>,
    pub secret: Option<String>,
    /// The secret of the subscriber's unsubscribe link, and the link every
    /// message carries (absolute when the server knew its public URL).
    pub unsubscribe_token: Option<String>,
    pub unsubscribe_url: Option<String>,
}

const SUB_COLS: &str = "id, kind, address, components, confirmed_at, confirm_nonce, confirm_sent_at, \
     pending_components, secret, unsubscribe_token, unsubscribe_url";

fn split_ids(s: Option<String>) -> Option<Vec<String>> {
    s.filter(|c| !c.is_empty() && c != "*")
        .map(|c| c.split(',').map(str::to_owned).collect())
}

/// How a set of components is stored: ids joined by commas, `*` for all.
fn join_ids(ids: Option<&[String]>) -> String {
    ids.map_or_else(|| "*".to_owned(), |ids| ids.join(","))
}

fn subscriber_from(r: &AnyRow) -> Result<Subscriber> {
    let pending: Option<String> = r.try_get("pending_components")?;
    Ok(Subscriber {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        address: r.try_get("address")?,
        components: split_ids(r.try_get("components")?),
        confirmed_at: r.try_get("confirmed_at")?,
        confirm_nonce: r.try_get("confirm_nonce")?,
        confirm_sent_at: r.try_get("confirm_sent_at")?,
        pending_components: pending.map(|p| split_ids(Some(p))),
        secret: r.try_get("secret")?,
        unsubscribe_token: r.try_get("unsubscribe_token")?,
        unsubscribe_url: r.try_get("unsubscribe_url")?,
    })
}

/// What a new subscriber starts with.
#[derive(Debug)]
pub struct NewSubscriber<'a> {
    /// Made by the caller, so the unsubscribe link can name it.
    pub id: &'a str,
    pub project_id: &'a str,
    pub kind: &'a str,
    pub address: &'a str,
    pub components: Option<&'a [String]>,
    pub confirm_nonce: Option<&'a str>,
    pub secret: Option<&'a str>,
    /// Set for a webhook whose challenge was answered before it was stored.
    pub confirmed_at: Option<i64>,
    pub unsubscribe_token: &'a str,
    pub unsubscribe_url: &'a str,
}

/// Adds a subscriber. An address already subscribed to the page is a
/// conflict: changing another subscriber goes through [`request_change`].
pub async fn insert_subscriber(
    conn: &mut AnyConnection,
    s: &NewSubscriber<'_>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO support_subscribers (id, project_id, kind, address, components, created_at, \
         confirmed_at, confirm_nonce, confirm_sent_at, secret, unsubscribe_token, unsubscribe_url) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(s.id)
    .bind(s.project_id)
    .bind(s.kind)
    .bind(s.address)
    .bind(s.components.map(|c| c.join(",")))
    .bind(now)
    .bind(s.confirmed_at)
    .bind(s.confirm_nonce)
    .bind(now)
    .bind(s.secret)
    .bind(s.unsubscribe_token)
    .bind(s.unsubscribe_url)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a subscriber with this address"))?;
    Ok(())
}

/// Records a requested change of components, to apply once the subscriber
/// confirms it from the new link (`nonce`); earlier links stop working.
pub async fn request_change(
    conn: &mut AnyConnection,
    id: &str,
    components: Option<&[String]>,
    nonce: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE support_subscribers SET pending_components = $1, confirm_nonce = $2, \
         confirm_sent_at = $3 WHERE id = $4",
    )
    .bind(join_ids(components))
    .bind(nonce)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Confirms a subscriber (and any change waiting); `false` when the nonce
/// is not the one sent last.
pub async fn confirm(conn: &mut AnyConnection, id: &str, nonce: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE support_subscribers SET confirmed_at = COALESCE(confirmed_at, $1), \
         components = CASE WHEN pending_components IS NULL THEN components \
             WHEN pending_components = '*' THEN NULL ELSE pending_components END, \
         pending_components = NULL, confirm_nonce = NULL WHERE id = $2 AND confirm_nonce = $3",
    )
    .bind(now)
    .bind(id)
    .bind(nonce)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a webhook subscriber's components and signing key, after its
/// endpoint answered a fresh challenge.
pub async fn replace_webhook(
    conn: &mut AnyConnection,
    id: &str,
    components: Option<&[String]>,
    secret: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE support_subscribers SET components = $1, secret = $2, pending_components = NULL, \
         confirm_nonce = NULL, confirm_sent_at = $3, confirmed_at = COALESCE(confirmed_at, $3) \
         WHERE id = $4",
    )
    .bind(components.map(|c| c.join(",")))
    .bind(secret)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes a subscriber; `false` when there was none.
pub async fn delete_subscriber(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM support_subscribers WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

impl Db {
    pub async fn components(&self, project_id: &str) -> Result<Vec<Component>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM support_components WHERE project_id = $1 ORDER BY position, name"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(component_from).collect()
    }

    /// A component by id or name.
    pub async fn component(&self, project_id: &str, id_or_name: &str) -> Result<Component> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM support_components WHERE project_id = $1 AND (id = $2 OR name = $2)"
        ))
        .bind(project_id)
        .bind(id_or_name)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        component_from(&row)
    }

    /// The status in force at `from` and every change after it.
    pub async fn component_history(
        &self,
        component_id: &str,
        from: i64,
    ) -> Result<(Option<ComponentStatus>, Vec<(i64, ComponentStatus)>)> {
        let before: Option<String> = sqlx::query_scalar(
            "SELECT status FROM support_component_log WHERE component_id = $1 AND at <= $2 ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(component_id)
        .bind(from)
        .fetch_optional(self.pool())
        .await?;
        let rows = sqlx::query(
            "SELECT at, status FROM support_component_log WHERE component_id = $1 AND at > $2 ORDER BY at, id",
        )
        .bind(component_id)
        .bind(from)
        .fetch_all(self.pool())
        .await?;
        let changes = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<i64, _>("at")?,
                    parse_stored("component status", &r.try_get::<String, _>("status")?)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let before = before
            .map(|s| parse_stored("component status", &s))
            .transpose()?;
        Ok((before, changes))
    }

    /// Maintenance windows not completed and not ended before `now`: the
    /// ones a status page announces.
    pub async fn maintenances(&self, project_id: &str, now: i64) -> Result<Vec<Maintenance>> {
        let rows = sqlx::query(&format!(
            "SELECT {MAINT_COLS} FROM support_maintenances \
             WHERE project_id = $1 AND ends_at > $2 AND state <> 'completed' ORDER BY starts_at"
        ))
        .bind(project_id)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(maintenance_from).collect()
    }

    /// A project's maintenance windows, latest start first.
    pub async fn all_maintenances(&self, project_id: &str, limit: i64) -> Result<Vec<Maintenance>> {
        let rows = sqlx::query(&format!(
            "SELECT {MAINT_COLS} FROM support_maintenances WHERE project_id = $1 \
             ORDER BY starts_at DESC LIMIT $2"
        ))
        .bind(project_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(maintenance_from).collect()
    }

    pub async fn maintenance(&self, project_id: &str, id: &str) -> Result<Maintenance> {
        let row = sqlx::query(&format!(
            "SELECT {MAINT_COLS} FROM support_maintenances WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        maintenance_from(&row)
    }

    /// Windows, across projects, that the clock moves on at `now`: scheduled
    /// ones that have started and unfinished ones that have ended.
    pub async fn due_maintenances(&self, now: i64, limit: i64) -> Result<Vec<Maintenance>> {
        let rows = sqlx::query(&format!(
            "SELECT {MAINT_COLS} FROM support_maintenances WHERE state <> 'completed' \
             AND ((state = 'scheduled' AND starts_at <= $1) OR ends_at <= $1) ORDER BY starts_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(maintenance_from).collect()
    }

    /// The confirmed subscribers of a page: only they hear anything.
    pub async fn subscribers(&self, project_id: &str) -> Result<Vec<Subscriber>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUB_COLS} FROM support_subscribers WHERE project_id = $1 \
             AND confirmed_at IS NOT NULL ORDER BY created_at, id"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(subscriber_from).collect()
    }

    pub async fn subscriber(&self, project_id: &str, id: &str) -> Result<Subscriber> {
        let row = sqlx::query(&format!(
            "SELECT {SUB_COLS} FROM support_subscribers WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        subscriber_from(&row)
    }

    /// The subscriber with this address on a page, confirmed or not.
    pub async fn subscriber_by_address(
        &self,
        project_id: &str,
        kind: &str,
        address: &str,
    ) -> Result<Option<Subscriber>> {
        let row = sqlx::query(&format!(
            "SELECT {SUB_COLS} FROM support_subscribers WHERE project_id = $1 AND kind = $2 \
             AND address = $3"
        ))
        .bind(project_id)
        .bind(kind)
        .bind(address)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(subscriber_from).transpose()
    }

    /// Confirmation requests a page sent since `since`, for its rate limit.
    pub async fn confirmations_sent(&self, project_id: &str, since: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM support_subscribers WHERE project_id = $1 AND confirm_sent_at >= $2",
        )
        .bind(project_id)
        .bind(since)
        .fetch_one(self.pool())
        .await?)
    }
}

/// Changes a component's description.
pub async fn describe_component(
    conn: &mut AnyConnection,
    id: &str,
    description: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE support_components SET description = $1 WHERE id = $2")
        .bind(description)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Takes a component off the status page with its history; incidents and
/// integrations that named it stay. False when there was none.
pub async fn delete_component(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
) -> Result<bool> {
    sqlx::query("UPDATE support_integrations SET component_id = NULL WHERE component_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM support_components WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
