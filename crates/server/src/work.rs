//! A unit of work: one transaction, who does it, in which project, and the
//! instant it happens. It can only be committed together with its audit
//! entry, written in the same transaction, so no change is ever stored
//! without its record, and no record without its change. Dropping it
//! without committing rolls everything back.

use liveops_store::audit::{self, Actor};
use liveops_store::{Db, StoreError};
use sqlx::AnyConnection;

use crate::clock::Clock;

/// What the audit log says of a change.
#[derive(Debug, Clone)]
pub struct Audit {
    action: &'static str,
    target: Option<String>,
    detail: Option<String>,
}

impl Audit {
    /// `action` names the change (`incident.acknowledge`), `target` what it
    /// changed (a number, a name).
    pub fn new(action: &'static str, target: impl Into<String>) -> Audit {
        Audit {
            action,
            target: Some(target.into()),
            detail: None,
        }
    }

    /// A change with nothing in particular as its target.
    pub fn action(action: &'static str) -> Audit {
        Audit {
            action,
            target: None,
            detail: None,
        }
    }

    /// More about the change, as JSON.
    pub fn detail(mut self, detail: serde_json::Value) -> Audit {
        self.detail = Some(detail.to_string());
        self
    }

    pub fn name(&self) -> &'static str {
        self.action
    }
}

/// One change to the state store, in progress.
#[derive(Debug)]
pub struct Work {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    actor: Actor,
    project: Option<String>,
    now: i64,
}

impl Work {
    /// Begins a change by `actor` in `project` (`None` for the instance),
    /// at the clock's now, which stays the change's one instant.
    pub async fn begin(
        db: &Db,
        clock: &dyn Clock,
        actor: &Actor,
        project: Option<&str>,
    ) -> Result<Work, StoreError> {
        Ok(Work {
            tx: db.begin().await?,
            actor: actor.clone(),
            project: project.map(str::to_owned),
            now: clock.now_ms(),
        })
    }

    /// The transaction's connection, for the store's write functions.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// The instant of this change.
    pub fn now(&self) -> i64 {
        self.now
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }

    /// Names the project a change made (a new project is the project its
    /// own creation is recorded in).
    pub fn in_project(&mut self, project_id: &str) {
        self.project = Some(project_id.to_owned());
    }

    /// Writes the audit entry and commits, together.
    pub async fn commit(mut self, entry: Audit) -> Result<(), StoreError> {
        audit::record(
            &mut self.tx,
            &self.actor,
            self.project.as_deref(),
            entry.action,
            entry.target.as_deref(),
            entry.detail.as_deref(),
            self.now,
        )
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}
