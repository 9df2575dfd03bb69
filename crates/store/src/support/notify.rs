//! Notifications: people's contact methods and rules, the project's outgoing
//! hooks, and the outbox every delivery goes through.

use liveops_core::support::incident::Severity;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::parse_stored;
use crate::{Db, Result, StoreError, new_id};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    /// A JSON POST of liveops' own shape.
    Webhook,
    /// A POST in Slack's incoming-webhook shape (`{"text": …}`).
    Slack,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Webhook, Channel::Slack];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
            Channel::Slack => "slack",
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown channel `{s}`: use email, webhook or slack"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactMethod {
    pub id: String,
    pub user_id: String,
    pub channel: Channel,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRule {
    pub id: String,
    pub contact: ContactMethod,
    /// Incidents at least this severe (sev1 is the most severe).
    pub min_severity: Severity,
    pub delay_secs: i64,
}

pub async fn insert_contact(
    conn: &mut AnyConnection,
    user_id: &str,
    channel: Channel,
    address: &str,
    now: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO support_contact_methods (id, user_id, kind, address, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(channel.as_str())
    .bind(address)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn insert_rule(
    conn: &mut AnyConnection,
    user_id: &str,
    contact_id: &str,
    min_severity: Severity,
    delay_secs: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO support_notification_rules (id, user_id, contact_id, min_severity, delay_secs) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(contact_id)
    .bind(min_severity.as_str())
    .bind(delay_secs)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn insert_hook(
    conn: &mut AnyConnection,
    project_id: &str,
    channel: Channel,
    url: &str,
    now: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query("INSERT INTO support_hooks (id, project_id, kind, url, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(project_id)
        .bind(channel.as_str())
        .bind(url)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

fn contact_from(r: &AnyRow) -> Result<ContactMethod> {
    Ok(ContactMethod {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        channel: parse_stored("channel", &r.try_get::<String, _>("kind")?)?,
        address: r.try_get("address")?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub id: String,
    pub channel: Channel,
    pub url: String,
}

/// A delivery waiting to be made, or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: String,
    pub project_id: String,
    pub incident_id: Option<String>,
    pub channel: Channel,
    pub target: String,
    pub subject: String,
    pub payload: String,
    /// pending, sent or failed.
    pub state: String,
    pub attempts: i64,
    pub due_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    /// A key (sealed) to sign a webhook body with, for receivers that
    /// chose one (status-page subscribers).
    pub signing_key: Option<String>,
    /// An e-mail's own headers, as a JSON object.
    pub headers: Option<String>,
}

const OUTBOX_COLS: &str = "id, project_id, incident_id, channel, target, subject, payload, state, attempts, \
     due_at, last_error, created_at, sent_at, signing_key, headers";

fn outbox_from(r: &AnyRow) -> Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        incident_id: r.try_get("incident_id")?,
        channel: parse_stored("channel", &r.try_get::<String, _>("channel")?)?,
        target: r.try_get("target")?,
        subject: r.try_get("subject")?,
        payload: r.try_get("payload")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        due_at: r.try_get("due_at")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        sent_at: r.try_get("sent_at")?,
        signing_key: r.try_get("signing_key")?,
        headers: r.try_get("headers")?,
    })
}

#[derive(Debug)]
pub struct NewDelivery<'a> {
    pub project_id: &'a str,
    pub incident_id: Option<&'a str>,
    pub channel: Channel,
    pub target: &'a str,
    pub subject: &'a str,
    /// For webhooks the JSON body; for Slack the text; for e-mail the body.
    pub payload: &'a str,
    pub due_at: i64,
    /// A key (sealed) to sign a webhook body with.
    pub signing_key: Option<&'a str>,
}

/// Queues a delivery; it is written with the change that causes it, so the
/// two commit together and a restart cannot lose it.
pub async fn enqueue(conn: &mut AnyConnection, d: &NewDelivery<'_>, now: i64) -> Result<String> {
    enqueue_with(conn, d, None, now).await
}

/// The same, for an e-mail with headers of its own (`Message-ID`,
/// `In-Reply-To`, `References`, `Reply-To`), as a JSON object.
pub async fn enqueue_with(
    conn: &mut AnyConnection,
    d: &NewDelivery<'_>,
    headers: Option<&str>,
    now: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO support_outbox (id, project_id, incident_id, channel, target, subject, payload, state, \
         attempts, due_at, created_at, signing_key, headers) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(d.project_id)
    .bind(d.incident_id)
    .bind(d.channel.as_str())
    .bind(d.target)
    .bind(d.subject)
    .bind(d.payload)
    .bind(d.due_at)
    .bind(now)
    .bind(d.signing_key)
    .bind(headers)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

impl Db {
    pub async fn contacts_of(&self, user_id: &str) -> Result<Vec<ContactMethod>> {
        let rows = sqlx::query(
            "SELECT id, user_id, kind, address FROM support_contact_methods WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(contact_from).collect()
    }

    pub async fn contact(&self, user_id: &str, id: &str) -> Result<ContactMethod> {
        let row = sqlx::query(
            "SELECT id, user_id, kind, address FROM support_contact_methods WHERE user_id = $1 AND id = $2",
        )
        .bind(user_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        contact_from(&row)
    }

    pub async fn rules_of(&self, user_id: &str) -> Result<Vec<NotificationRule>> {
        let rows = sqlx::query(
            "SELECT r.id AS rule_id, r.min_severity, r.delay_secs, c.id, c.user_id, c.kind, c.address \
             FROM support_notification_rules r JOIN support_contact_methods c ON c.id = r.contact_id \
             WHERE r.user_id = $1 ORDER BY r.delay_secs, r.id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NotificationRule {
                    id: r.try_get("rule_id")?,
                    contact: contact_from(r)?,
                    min_severity: parse_stored(
                        "severity",
                        &r.try_get::<String, _>("min_severity")?,
                    )?,
                    delay_secs: r.try_get("delay_secs")?,
                })
            })
            .collect()
    }

    pub async fn hooks(&self, project_id: &str) -> Result<Vec<Hook>> {
        let rows = sqlx::query(
            "SELECT id, kind, url FROM support_hooks WHERE project_id = $1 ORDER BY created_at, id",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Hook {
                    id: r.try_get("id")?,
                    channel: parse_stored("channel", &r.try_get::<String, _>("kind")?)?,
                    url: r.try_get("url")?,
                })
            })
            .collect()
    }

    /// Pending deliveries that are due, oldest first.
    pub async fn due_deliveries(&self, now: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM support_outbox WHERE state = 'pending' AND due_at <= $1 \
             ORDER BY due_at, id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(outbox_from).collect()
    }

    pub async fn deliveries_for_incident(&self, incident_id: &str) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM support_outbox WHERE incident_id = $1 ORDER BY created_at, id"
        ))
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(outbox_from).collect()
    }

    /// A project's deliveries, newest first.
    pub async fn deliveries_for_project(
        &self,
        project_id: &str,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM support_outbox WHERE project_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(project_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(outbox_from).collect()
    }

    /// Claims a due delivery for one sender until `lease_until`: true only
    /// for the caller that moved it, so two senders (a second server on
    /// the same PostgreSQL, or a job and a manual run) never both send it.
    /// A sender that dies before marking it leaves it due again at the
    /// lease's end.
    pub async fn claim_delivery(&self, d: &OutboxRow, lease_until: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE support_outbox SET due_at = $1 WHERE id = $2 AND state = 'pending' \
             AND due_at = $3 AND attempts = $4",
        )
        .bind(lease_until)
        .bind(&d.id)
        .bind(d.due_at)
        .bind(d.attempts)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1)
    }

    pub async fn mark_sent(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE support_outbox SET state = 'sent', attempts = attempts + 1, sent_at = $1, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or given up when `None`.
    pub async fn mark_failed(&self, id: &str, error: &str, retry_at: Option<i64>) -> Result<()> {
        sqlx::query(
            "UPDATE support_outbox SET attempts = attempts + 1, last_error = $1, \
             state = CASE WHEN $2 IS NULL THEN 'failed' ELSE 'pending' END, due_at = COALESCE($2, due_at) \
             WHERE id = $3",
        )
        .bind(error)
        .bind(retry_at)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// The data task that seals URLs stored before sealing existed.
const SEAL_TASK: &str = "seal_outbound_urls_v1";

/// Columns holding outbound URLs, and which rows of each are URLs.
const SEALED_COLUMNS: &[(&str, &str, &str)] = &[
    ("support_hooks", "url", "1 = 1"),
    (
        "support_contact_methods",
        "address",
        "kind IN ('webhook', 'slack')",
    ),
    (
        "support_outbox",
        "target",
        "channel IN ('webhook', 'slack')",
    ),
    ("support_subscribers", "address", "kind = 'webhook'"),
    ("improvement_recipients", "target", "channel = 'webhook'"),
];

impl Db {
    /// Seals every outbound URL still stored in plain text (written before
    /// sealing existed), once per database: the run is recorded in the
    /// same transaction, so later starts skip the scan. Returns how many
    /// values it sealed.
    pub async fn seal_plaintext(
        &self,
        seal: &(dyn Fn(&str) -> String + Sync),
        now: i64,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT done_at FROM data_tasks WHERE name = $1")
                .bind(SEAL_TASK)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            return Ok(0);
        }
        let mut sealed = 0;
        for (table, column, which) in SEALED_COLUMNS {
            let plain: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT DISTINCT {column} FROM {table} WHERE {which} AND {column} NOT LIKE 'sealed:v1:%'"
            ))
            .fetch_all(&mut *tx)
            .await?;
            for value in plain {
                sealed += sqlx::query(&format!(
                    "UPDATE {table} SET {column} = $1 WHERE {which} AND {column} = $2"
                ))
                .bind(seal(&value))
                .bind(&value)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
        }
        // Two servers starting at once both seal (the same way); one records.
        sqlx::query(
            "INSERT INTO data_tasks (name, done_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(SEAL_TASK)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(sealed)
    }
}

/// Removes one of the project's hooks; false when there was none.
pub async fn delete_hook(conn: &mut AnyConnection, project_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM support_hooks WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes one of a person's notification rules with its contact method;
/// false when they have no such rule.
pub async fn delete_rule(conn: &mut AnyConnection, user_id: &str, id: &str) -> Result<bool> {
    let contact: Option<String> = sqlx::query_scalar(
        "SELECT contact_id FROM support_notification_rules WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(contact) = contact else {
        return Ok(false);
    };
    sqlx::query("DELETE FROM support_notification_rules WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM support_contact_methods WHERE user_id = $1 AND id = $2 \
         AND NOT EXISTS (SELECT 1 FROM support_notification_rules WHERE contact_id = $2)",
    )
    .bind(user_id)
    .bind(&contact)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}
