//! Performance findings in the state store: one row per detected pattern
//! with its lifecycle (open, resolved, ignored), and how far the detectors
//! have scanned each project's spans. The spans live in telemetry.

use sqlx::Row;

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
        let r = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM performance_findings WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        row(&r)
    }

    pub async fn set_finding_status(
        &self,
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
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.finding(project_id, id).await
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
