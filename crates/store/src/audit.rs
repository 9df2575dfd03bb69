//! The audit log: who changed what, when, and from which address.
//!
//! Entries are written in the same transaction as the change they describe, so
//! a change and its record land together or not at all.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, new_id};

/// How the actor reached liveops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A person in the web UI.
    Session,
    /// An API token.
    Token,
    /// An admin command run on the server's machine.
    Cli,
    /// liveops itself, for example a background job.
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Session => "session",
            ActorKind::Token => "token",
            ActorKind::Cli => "cli",
            ActorKind::System => "system",
        }
    }
}

/// Who did something, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// An e-mail address, or a name such as `cli` or `system`.
    pub name: String,
    pub ip: Option<String>,
}

impl Actor {
    /// liveops itself: a job, or a change made on behalf of nobody in
    /// particular.
    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            name: "liveops".into(),
            ip: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    pub project_id: Option<String>,
    pub actor: String,
    pub actor_kind: String,
    pub action: String,
    pub target: Option<String>,
    /// Extra facts as a JSON object, written by the caller.
    pub detail: Option<String>,
    pub ip: Option<String>,
}

fn entry_from(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        project_id: row.try_get("project_id")?,
        actor: row.try_get("actor")?,
        actor_kind: row.try_get("actor_kind")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        detail: row.try_get("detail")?,
        ip: row.try_get("ip")?,
    })
}

/// Writes one entry. `action` is a dotted name such as `token.create`.
pub async fn record(
    conn: &mut AnyConnection,
    actor: &Actor,
    project_id: Option<&str>,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, project_id, actor, actor_kind, action, target, detail, ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_id())
    .bind(now)
    .bind(project_id)
    .bind(&actor.name)
    .bind(actor.kind.as_str())
    .bind(action)
    .bind(target)
    .bind(detail)
    .bind(actor.ip.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    /// A page of a project's audit log, newest first, starting below `before`
    /// (an entry id) when given.
    pub async fn audit_log(
        &self,
        project_id: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, project_id, actor, actor_kind, action, target, detail, ip FROM audit_log \
             WHERE project_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(project_id)
        .bind(before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry_from).collect()
    }
}
