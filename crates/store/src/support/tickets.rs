//! Support tickets: tiers, priorities, SLA due times, replies and notes.

use liveops_core::support::escalation::Tier;
use liveops_core::support::sla::Priority;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: String,
    pub project_id: String,
    pub number: i64,
    pub subject: String,
    pub requester: String,
    pub tier: Tier,
    pub priority: Priority,
    /// open, pending, solved or closed.
    pub status: String,
    /// api, web or email.
    pub source: String,
    pub assignee_id: Option<String>,
    pub incident_id: Option<String>,
    pub created_at: i64,
    pub first_response_due: i64,
    pub resolution_due: i64,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
}

const COLS: &str = "id, project_id, number, subject, requester, tier, priority, status, source, assignee_id, \
     incident_id, created_at, first_response_due, resolution_due, first_response_at, resolved_at";

fn ticket_from(r: &AnyRow) -> Result<Ticket> {
    let bad =
        |what: &str, v: String| StoreError::Other(format!("stored {what} `{v}` is not valid"));
    let tier: String = r.try_get("tier")?;
    let priority: String = r.try_get("priority")?;
    Ok(Ticket {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        number: r.try_get("number")?,
        subject: r.try_get("subject")?,
        requester: r.try_get("requester")?,
        tier: Tier::parse(&tier).ok_or_else(|| bad("tier", tier.clone()))?,
        priority: Priority::parse(&priority).ok_or_else(|| bad("priority", priority.clone()))?,
        status: r.try_get("status")?,
        source: r.try_get("source")?,
        assignee_id: r.try_get("assignee_id")?,
        incident_id: r.try_get("incident_id")?,
        created_at: r.try_get("created_at")?,
        first_response_due: r.try_get("first_response_due")?,
        resolution_due: r.try_get("resolution_due")?,
        first_response_at: r.try_get("first_response_at")?,
        resolved_at: r.try_get("resolved_at")?,
    })
}

#[derive(Debug)]
pub struct NewTicket<'a> {
    pub project_id: &'a str,
    pub subject: &'a str,
    pub requester: &'a str,
    pub tier: Tier,
    pub priority: Priority,
    pub source: &'a str,
    pub first_response_due: i64,
    pub resolution_due: i64,
}

pub async fn insert_ticket(
    conn: &mut AnyConnection,
    t: &NewTicket<'_>,
    now: i64,
) -> Result<Ticket> {
    let row = sqlx::query(&format!(
        "INSERT INTO support_tickets (id, project_id, number, subject, requester, tier, priority, status, source, \
         created_at, first_response_due, resolution_due) VALUES ($1, $2, \
         (SELECT COALESCE(MAX(number), 0) + 1 FROM support_tickets WHERE project_id = $2), \
         $3, $4, $5, $6, 'open', $7, $8, $9, $10) RETURNING {COLS}"
    ))
    .bind(new_id())
    .bind(t.project_id)
    .bind(t.subject)
    .bind(t.requester)
    .bind(t.tier.as_str())
    .bind(t.priority.as_str())
    .bind(t.source)
    .bind(now)
    .bind(t.first_response_due)
    .bind(t.resolution_due)
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a ticket with this number"))?;
    ticket_from(&row)
}

/// Adds a reply (public) or an internal note. The first public reply by
/// staff is the ticket's first response.
pub async fn add_comment(
    conn: &mut AnyConnection,
    ticket_id: &str,
    author: &str,
    public: bool,
    staff: bool,
    body: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO support_ticket_comments (id, ticket_id, at, author, public, body) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(ticket_id)
    .bind(now)
    .bind(author)
    .bind(i64::from(public))
    .bind(body)
    .execute(&mut *conn)
    .await?;
    if public && staff {
        sqlx::query("UPDATE support_tickets SET first_response_at = COALESCE(first_response_at, $1) WHERE id = $2")
            .bind(now)
            .bind(ticket_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn set_status(
    conn: &mut AnyConnection,
    ticket_id: &str,
    status: &str,
    now: i64,
) -> Result<()> {
    let resolved = matches!(status, "solved" | "closed");
    sqlx::query(
        "UPDATE support_tickets SET status = $1, \
         resolved_at = CASE WHEN $2 = 1 THEN COALESCE(resolved_at, $3) ELSE NULL END WHERE id = $4",
    )
    .bind(status)
    .bind(i64::from(resolved))
    .bind(now)
    .bind(ticket_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_tier(conn: &mut AnyConnection, ticket_id: &str, tier: Tier) -> Result<()> {
    sqlx::query("UPDATE support_tickets SET tier = $1 WHERE id = $2")
        .bind(tier.as_str())
        .bind(ticket_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn link_incident(
    conn: &mut AnyConnection,
    ticket_id: &str,
    incident_id: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE support_tickets SET incident_id = $1 WHERE id = $2")
        .bind(incident_id)
        .bind(ticket_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Links a ticket to another area's record; `kind` names it (`release`);
/// false when it already was.
pub async fn add_link(
    conn: &mut AnyConnection,
    ticket_id: &str,
    kind: &str,
    target_id: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO support_ticket_links (ticket_id, kind, target_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (ticket_id, kind, target_id) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(kind)
    .bind(target_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The token of a ticket's reply-to address: the one it has, or
/// `candidate`, stored now.
pub async fn mail_token(
    conn: &mut AnyConnection,
    ticket_id: &str,
    candidate: &str,
) -> Result<String> {
    sqlx::query("UPDATE support_tickets SET mail_token = $1 WHERE id = $2 AND mail_token IS NULL")
        .bind(candidate)
        .bind(ticket_id)
        .execute(&mut *conn)
        .await?;
    let token: Option<String> =
        sqlx::query_scalar("SELECT mail_token FROM support_tickets WHERE id = $1")
            .bind(ticket_id)
            .fetch_one(&mut *conn)
            .await?;
    token.ok_or(StoreError::NotFound)
}

/// Records a message mailed (`out`) or received (`in`) about a ticket, by
/// its Message-ID.
pub async fn add_message(
    conn: &mut AnyConnection,
    ticket_id: &str,
    message_id: &str,
    direction: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO support_ticket_messages (ticket_id, message_id, direction, at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(ticket_id)
    .bind(message_id)
    .bind(direction)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The Message-IDs of a ticket's thread, oldest first, at most the last 50.
pub async fn thread(conn: &mut AnyConnection, ticket_id: &str) -> Result<Vec<String>> {
    let mut ids: Vec<String> = sqlx::query_scalar(
        "SELECT message_id FROM support_ticket_messages WHERE ticket_id = $1 \
         ORDER BY at DESC, message_id DESC LIMIT 50",
    )
    .bind(ticket_id)
    .fetch_all(&mut *conn)
    .await?;
    ids.reverse();
    Ok(ids)
}

/// The id of a project's ticket by its number, inside a change.
pub async fn id_by_number(
    conn: &mut AnyConnection,
    project_id: &str,
    number: i64,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM support_tickets WHERE project_id = $1 AND number = $2")
            .bind(project_id)
            .bind(number)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Records that an SLA `level` (at_risk or breached) of a `target`
/// (first_response or resolution) was announced; false when it already was.
pub async fn claim_sla_alert(
    conn: &mut AnyConnection,
    ticket_id: &str,
    target: &str,
    level: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO support_sla_alerts (ticket_id, target, level, at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (ticket_id, target, level) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(target)
    .bind(level)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub at: i64,
    pub author: String,
    pub public: bool,
    pub body: String,
}

impl Db {
    pub async fn ticket_by_number(&self, project_id: &str, number: i64) -> Result<Ticket> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM support_tickets WHERE project_id = $1 AND number = $2"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        ticket_from(&row)
    }

    /// Tickets newest first, created in `[from, to)`, optionally only unresolved ones.
    pub async fn tickets(
        &self,
        project_id: &str,
        open_only: bool,
        from: Option<i64>,
        to: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Ticket>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM support_tickets WHERE project_id = $1 \
             AND ($2 = 0 OR status IN ('open', 'pending')) AND created_at >= $3 AND created_at < $4 \
             ORDER BY number DESC LIMIT $5"
        ))
        .bind(project_id)
        .bind(i64::from(open_only))
        .bind(from.unwrap_or(i64::MIN))
        .bind(to.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(ticket_from).collect()
    }

    /// Unresolved tickets, across projects, that have used four fifths of a
    /// target's time and whose resolution breach was not announced yet: the
    /// SLA watch's work list.
    pub async fn tickets_for_sla_watch(&self, now: i64, limit: i64) -> Result<Vec<Ticket>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM support_tickets t WHERE status IN ('open', 'pending') \
             AND ((first_response_at IS NULL AND created_at + (first_response_due - created_at) * 4 / 5 <= $1) \
                  OR created_at + (resolution_due - created_at) * 4 / 5 <= $1) \
             AND NOT EXISTS (SELECT 1 FROM support_sla_alerts a WHERE a.ticket_id = t.id \
                  AND a.target = 'resolution' AND a.level = 'breached') \
             ORDER BY resolution_due LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(ticket_from).collect()
    }

    /// The SLA announcements made for a ticket: (target, level, at).
    pub async fn sla_alerts(&self, ticket_id: &str) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT target, level, at FROM support_sla_alerts WHERE ticket_id = $1 ORDER BY at, target, level",
        )
        .bind(ticket_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("target")?, r.try_get("level")?, r.try_get("at")?)))
            .collect()
    }

    /// The project's ticket whose reply-to token is `token`.
    pub async fn ticket_by_mail_token(&self, project_id: &str, token: &str) -> Result<Ticket> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM support_tickets WHERE project_id = $1 AND mail_token = $2"
        ))
        .bind(project_id)
        .bind(token)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        ticket_from(&row)
    }

    /// The project's ticket one of `message_ids` was mailed or received
    /// about, the most recent first.
    pub async fn ticket_by_message(
        &self,
        project_id: &str,
        message_ids: &[String],
    ) -> Result<Option<Ticket>> {
        for id in message_ids.iter().rev().take(50) {
            let row = sqlx::query(&format!(
                "SELECT {} FROM support_tickets t JOIN support_ticket_messages m ON m.ticket_id = t.id \
                 WHERE t.project_id = $1 AND m.message_id = $2 LIMIT 1",
                COLS.split(", ")
                    .map(|c| format!("t.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .bind(project_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
            if let Some(r) = row {
                return Ok(Some(ticket_from(&r)?));
            }
        }
        Ok(None)
    }

    /// A ticket's links to other areas: (kind, target).
    pub async fn ticket_links(&self, ticket_id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT kind, target_id FROM support_ticket_links WHERE ticket_id = $1 ORDER BY created_at, kind",
        )
        .bind(ticket_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("target_id")?)))
            .collect()
    }

    /// Tickets of a project linked to `target` of `kind`, newest first.
    pub async fn tickets_linked_to(
        &self,
        project_id: &str,
        kind: &str,
        target: &str,
    ) -> Result<Vec<Ticket>> {
        let cols = COLS
            .split(", ")
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {cols} FROM support_tickets t JOIN support_ticket_links l ON l.ticket_id = t.id \
             WHERE t.project_id = $1 AND l.kind = $2 AND l.target_id = $3 ORDER BY t.number DESC"
        ))
        .bind(project_id)
        .bind(kind)
        .bind(target)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(ticket_from).collect()
    }

    pub async fn ticket_comments(&self, ticket_id: &str) -> Result<Vec<Comment>> {
        let rows = sqlx::query(
            "SELECT at, author, public, body FROM support_ticket_comments WHERE ticket_id = $1 ORDER BY at, id",
        )
        .bind(ticket_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Comment {
                    at: r.try_get("at")?,
                    author: r.try_get("author")?,
                    public: r.try_get::<i64, _>("public")? != 0,
                    body: r.try_get("body")?,
                })
            })
            .collect()
    }
}
