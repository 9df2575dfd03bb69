//! Continuous improvement in the state store: the weekly reports kept as
//! history, who receives them, and the counts a report reads that no other
//! area keeps (ticket SLA attainment over a week, open findings at a time).

use sqlx::{AnyConnection, Row};

use crate::{Db, Result, new_id};

/// A week in milliseconds; reports cover Monday 00:00 UTC to the next.
const WEEK_MS: i64 = 7 * 86_400_000;

/// A stored weekly report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub project_id: String,
    /// The Monday the week starts, UTC, in ms.
    pub week_start: i64,
    /// The report as the server wrote it (JSON).
    pub body: String,
    pub created_at: i64,
}

/// Keeps the week's report, replacing an earlier one for the same week, in
/// the caller's transaction (so deliveries can be queued with it). Returns
/// true when the week had none before.
/// Notes that the week's report went to its recipients.
pub async fn mark_report_delivered(
    conn: &mut AnyConnection,
    project_id: &str,
    week_start: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE improvement_reports SET delivered_at = $1 WHERE project_id = $2 AND week_start = $3",
    )
    .bind(now)
    .bind(project_id)
    .bind(week_start)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn save_report(
    conn: &mut AnyConnection,
    project_id: &str,
    week_start: i64,
    body: &str,
    now: i64,
) -> Result<bool> {
    let before: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM improvement_reports WHERE project_id = $1 AND week_start = $2",
    )
    .bind(project_id)
    .bind(week_start)
    .fetch_one(&mut *conn)
    .await?;
    // An upsert, so that the weekly job and a person keeping the same week
    // at once both succeed; the later one wins.
    sqlx::query(
        "INSERT INTO improvement_reports (id, project_id, week_start, body, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, week_start) DO UPDATE SET \
         body = excluded.body, created_at = excluded.created_at",
    )
    .bind(new_id())
    .bind(project_id)
    .bind(week_start)
    .bind(body)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(before == 0)
}

/// Adds a recipient (channel `email` or `webhook`) in the caller's
/// transaction; adding one twice changes nothing.
pub async fn add_recipient(
    conn: &mut AnyConnection,
    project_id: &str,
    channel: &str,
    target: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO improvement_recipients (project_id, channel, target, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, channel, target) DO NOTHING",
    )
    .bind(project_id)
    .bind(channel)
    .bind(target)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes a recipient in the caller's transaction; false when there was
/// none.
pub async fn remove_recipient(
    conn: &mut AnyConnection,
    project_id: &str,
    channel: &str,
    target: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "DELETE FROM improvement_recipients WHERE project_id = $1 AND channel = $2 AND target = $3",
    )
    .bind(project_id)
    .bind(channel)
    .bind(target)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Ticket service levels over a range. A target counts as met in the range
/// where it was reached in time, and as missed in the range where its due
/// time passed unmet, so each target counts once, in one week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TicketSla {
    pub opened: i64,
    pub resolved: i64,
    /// Resolved in the range, by their resolution due time.
    pub resolved_in_time: i64,
    /// Resolution due times that passed in the range without a resolution.
    pub resolution_missed: i64,
    pub first_responses: i64,
    pub first_responses_in_time: i64,
    pub first_response_missed: i64,
}

/// What was open at a moment: performance findings, security findings and
/// those among them whose patch SLA breach had been announced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenCounts {
    pub performance_findings: i64,
    pub security_findings: i64,
    pub security_breaches: i64,
}

impl Db {
    /// Keeps the week's report, replacing an earlier one for the same
    /// week. Returns true when the week had none before.
    pub async fn save_report(
        &self,
        project_id: &str,
        week_start: i64,
        body: &str,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let created = save_report(&mut tx, project_id, week_start, body, now).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// A project's reports, newest week first.
    pub async fn reports(&self, project_id: &str, limit: i64) -> Result<Vec<Report>> {
        let rows = sqlx::query(
            "SELECT project_id, week_start, body, created_at FROM improvement_reports \
             WHERE project_id = $1 ORDER BY week_start DESC LIMIT $2",
        )
        .bind(project_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Report {
                    project_id: r.try_get("project_id")?,
                    week_start: r.try_get("week_start")?,
                    body: r.try_get("body")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Projects that existed before the week starting `week_start` ended
    /// and whose report for it is missing, or kept but never sent while
    /// they have recipients.
    pub async fn projects_due_report(&self, week_start: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT p.id FROM projects p WHERE p.created_at < $2 AND ( \
             NOT EXISTS (SELECT 1 FROM improvement_reports r \
               WHERE r.project_id = p.id AND r.week_start = $1) \
             OR (EXISTS (SELECT 1 FROM improvement_reports r WHERE r.project_id = p.id \
                 AND r.week_start = $1 AND r.delivered_at IS NULL) \
               AND EXISTS (SELECT 1 FROM improvement_recipients x WHERE x.project_id = p.id))) \
             ORDER BY p.id",
        )
        .bind(week_start)
        .bind(week_start.saturating_add(WEEK_MS))
        .fetch_all(self.pool())
        .await?)
    }

    /// Tickets opened, resolved and first answered in `[from, to)`, and
    /// how many of their targets were met or missed there.
    pub async fn ticket_sla(&self, project_id: &str, from: i64, to: i64) -> Result<TicketSla> {
        let r = sqlx::query(
            "SELECT \
             (SELECT count(*) FROM support_tickets WHERE project_id = $1 AND created_at >= $2 \
              AND created_at < $3) AS opened, \
             (SELECT count(*) FROM support_tickets WHERE project_id = $1 AND resolved_at >= $2 \
              AND resolved_at < $3) AS resolved, \
             (SELECT count(*) FROM support_tickets WHERE project_id = $1 AND resolved_at >= $2 \
              AND resolved_at < $3 AND resolved_at <= resolution_due) AS resolved_in_time, \
             (SELECT count(*) FROM support_tickets WHERE project_id = $1 AND resolution_due >= $2 \
              AND resolution_due < $3 AND (resolved_at IS NULL OR resolved_at > resolution_due)) \
              AS resolution_missed, \
             (SELECT count(*) FROM support_tickets WHERE project_id = $1 AND first_response_at >= $2 \
              AND first_response_at < $3) AS responded, \
             (SELECT count(*) FROM support_tickets WHERE project_id = $1 AND first_response_at >= $2 \
              AND first_response_at < $3 AND first_response_at <= first_response_due) \
              AS responded_in_time, \
             (SELECT count(*) FROM support_tickets WHERE project_id = $1 \
              AND first_response_due >= $2 AND first_response_due < $3 \
              AND (first_response_at IS NULL OR first_response_at > first_response_due)) \
              AS response_missed",
        )
        .bind(project_id)
        .bind(from)
        .bind(to)
        .fetch_one(self.pool())
        .await?;
        Ok(TicketSla {
            opened: r.try_get("opened")?,
            resolved: r.try_get("resolved")?,
            resolved_in_time: r.try_get("resolved_in_time")?,
            resolution_missed: r.try_get("resolution_missed")?,
            first_responses: r.try_get("responded")?,
            first_responses_in_time: r.try_get("responded_in_time")?,
            first_response_missed: r.try_get("response_missed")?,
        })
    }

    /// Findings open now that were already open at `at`, and the security
    /// findings among them whose patch SLA breach was announced by then.
    pub async fn open_counts(&self, project_id: &str, at: i64) -> Result<OpenCounts> {
        let r = sqlx::query(
            "SELECT \
             (SELECT count(*) FROM performance_findings WHERE project_id = $1 AND status = 'open' \
              AND first_seen < $2) AS performance, \
             (SELECT count(*) FROM security_findings WHERE project_id = $1 AND state = 'open' \
              AND opened_at < $2) AS security, \
             (SELECT count(*) FROM security_findings WHERE project_id = $1 AND state = 'open' \
              AND opened_at < $2 AND sla_warned_at IS NOT NULL AND sla_warned_at <= $2) AS breaches",
        )
        .bind(project_id)
        .bind(at)
        .fetch_one(self.pool())
        .await?;
        Ok(OpenCounts {
            performance_findings: r.try_get("performance")?,
            security_findings: r.try_get("security")?,
            security_breaches: r.try_get("breaches")?,
        })
    }

    /// Adds a recipient: channel `email` or `webhook`.
    pub async fn add_recipient(
        &self,
        project_id: &str,
        channel: &str,
        target: &str,
        now: i64,
    ) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        add_recipient(&mut conn, project_id, channel, target, now).await
    }

    /// Removes a recipient; false when there was none.
    pub async fn remove_recipient(
        &self,
        project_id: &str,
        channel: &str,
        target: &str,
    ) -> Result<bool> {
        let mut conn = self.pool().acquire().await?;
        remove_recipient(&mut conn, project_id, channel, target).await
    }

    /// (channel, target) pairs.
    pub async fn recipients(&self, project_id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT channel, target FROM improvement_recipients WHERE project_id = $1 \
             ORDER BY channel, target",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("channel")?, r.try_get("target")?)))
            .collect()
    }
}
