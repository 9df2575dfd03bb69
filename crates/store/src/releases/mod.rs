//! Release planning in the state store: deployments and the commits each
//! one carried, trains and releases; what Git hosts report is in `hooks`.

pub mod hooks;

use sqlx::AnyConnection;
use sqlx::Row;

use crate::{Db, Result, StoreError, new_id};

/// A commit a deployment carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedCommit {
    pub sha: String,
    pub message: String,
    pub committed_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeployment<'a> {
    pub service: &'a str,
    pub version: &'a str,
    pub environment: &'a str,
    pub commit_sha: Option<&'a str>,
    pub deployed_at: i64,
    pub created_by: &'a str,
    pub commits: &'a [DeployedCommit],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRow {
    pub id: String,
    pub service: String,
    pub version: String,
    pub environment: String,
    pub commit_sha: Option<String>,
    pub deployed_at: i64,
    pub created_by: String,
    pub commits: i64,
    /// The oldest commit's time, for lead time.
    pub first_commit_at: Option<i64>,
}

fn row(r: &sqlx::any::AnyRow) -> Result<DeploymentRow> {
    Ok(DeploymentRow {
        id: r.try_get("id")?,
        service: r.try_get("service")?,
        version: r.try_get("version")?,
        environment: r.try_get("environment")?,
        commit_sha: r.try_get("commit_sha")?,
        deployed_at: r.try_get("deployed_at")?,
        created_by: r.try_get("created_by")?,
        commits: r.try_get("commits")?,
        first_commit_at: r.try_get("first_commit_at")?,
    })
}

const SELECT: &str = "SELECT d.id, d.service, d.version, d.environment, d.commit_sha, d.deployed_at, \
     d.created_by, (SELECT count(*) FROM deployment_commits c WHERE c.deployment_id = d.id) AS commits, \
     (SELECT min(c.committed_at) FROM deployment_commits c WHERE c.deployment_id = d.id) AS first_commit_at \
     FROM deployments d";

impl Db {
    /// A project's deployments, newest first, optionally for one service
    /// and environment.
    pub async fn deployments(
        &self,
        project_id: &str,
        service: Option<&str>,
        environment: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeploymentRow>> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE d.project_id = $1 AND ($2 = '' OR d.service = $2) \
             AND ($3 = '' OR d.environment = $3) ORDER BY d.deployed_at DESC, d.id DESC LIMIT $4"
        ))
        .bind(project_id)
        .bind(service.unwrap_or(""))
        .bind(environment.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    /// A project's deployments to `environment` in `[from, to)`, oldest
    /// first.
    pub async fn deployments_between(
        &self,
        project_id: &str,
        environment: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<DeploymentRow>> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE d.project_id = $1 AND d.environment = $2 AND d.deployed_at >= $3 \
             AND d.deployed_at < $4 ORDER BY d.deployed_at, d.id LIMIT 1000"
        ))
        .bind(project_id)
        .bind(environment)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }
}

/// A release train.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainRow {
    pub id: String,
    pub name: String,
    pub cadence: String,
    /// `YYYY-MM-DD`.
    pub first_release: String,
    pub freeze_days: i64,
    pub created_at: i64,
}

fn train_row(r: &sqlx::any::AnyRow) -> Result<TrainRow> {
    Ok(TrainRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        cadence: r.try_get("cadence")?,
        first_release: r.try_get("first_release")?,
        freeze_days: r.try_get("freeze_days")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A planned, frozen or shipped release.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRow {
    pub id: String,
    pub version: String,
    pub kind: String,
    pub state: String,
    pub train_id: Option<String>,
    pub planned_for: Option<String>,
    pub capacity: Option<f64>,
    pub incident_id: Option<String>,
    pub has_openapi: bool,
    pub frozen_at: Option<i64>,
    pub shipped_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
}

const RELEASE_COLS: &str = "id, version, kind, state, train_id, planned_for, capacity, incident_id, \
     CASE WHEN openapi IS NULL THEN 0 ELSE 1 END AS has_openapi, frozen_at, shipped_at, \
     created_by, created_at";

fn release_row(r: &sqlx::any::AnyRow) -> Result<ReleaseRow> {
    Ok(ReleaseRow {
        id: r.try_get("id")?,
        version: r.try_get("version")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        train_id: r.try_get("train_id")?,
        planned_for: r.try_get("planned_for")?,
        capacity: r.try_get("capacity")?,
        incident_id: r.try_get("incident_id")?,
        has_openapi: r.try_get::<i64, _>("has_openapi")? != 0,
        frozen_at: r.try_get("frozen_at")?,
        shipped_at: r.try_get("shipped_at")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewRelease<'a> {
    pub version: &'a str,
    pub kind: &'a str,
    pub train_id: Option<&'a str>,
    pub planned_for: Option<&'a str>,
    pub capacity: Option<f64>,
    pub incident_id: Option<&'a str>,
    pub created_by: &'a str,
}

/// What shipping a release did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    /// Items that were done and are now released.
    pub released: i64,
    /// Open items taken out of the release and back to the backlog.
    pub carried_over: Vec<i64>,
}

impl Db {
    /// A train by name or id.
    pub async fn train(&self, project_id: &str, name_or_id: &str) -> Result<TrainRow> {
        let mut conn = self.pool().acquire().await?;
        train_in(&mut conn, project_id, name_or_id).await
    }

    pub async fn trains(&self, project_id: &str) -> Result<Vec<TrainRow>> {
        let rows = sqlx::query("SELECT * FROM release_trains WHERE project_id = $1 ORDER BY name")
            .bind(project_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(train_row).collect()
    }

    /// A release by version or id.
    pub async fn release(&self, project_id: &str, version_or_id: &str) -> Result<ReleaseRow> {
        let mut conn = self.pool().acquire().await?;
        release_in(&mut conn, project_id, version_or_id).await
    }

    /// Every release, newest plan first.
    pub async fn releases(&self, project_id: &str) -> Result<Vec<ReleaseRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {RELEASE_COLS} FROM releases WHERE project_id = $1 \
             ORDER BY COALESCE(shipped_at, 9223372036854775807) DESC, created_at DESC"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(release_row).collect()
    }

    pub async fn release_openapi(&self, release_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT openapi FROM releases WHERE id = $1")
                .bind(release_id)
                .fetch_optional(self.pool())
                .await?
                .flatten(),
        )
    }

    /// The commit messages of the deployments of `version`, oldest first,
    /// each once.
    pub async fn deployed_commit_messages(
        &self,
        project_id: &str,
        version: &str,
    ) -> Result<Vec<String>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.sha, c.message FROM deployment_commits c JOIN deployments d \
             ON d.id = c.deployment_id WHERE d.project_id = $1 AND d.version = $2 \
             ORDER BY c.committed_at, c.sha",
        )
        .bind(project_id)
        .bind(version)
        .fetch_all(self.pool())
        .await?;
        let mut seen = std::collections::HashSet::new();
        Ok(rows
            .into_iter()
            .filter(|(sha, _)| seen.insert(sha.clone()))
            .map(|(_, m)| m)
            .collect())
    }
}

impl Db {
    /// Whether `id` is a deployment of the project.
    pub async fn has_deployment(&self, project_id: &str, id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM deployments WHERE project_id = $1 AND id = $2",
        )
        .bind(project_id)
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    pub async fn release_by_id(&self, id: &str) -> Result<ReleaseRow> {
        let r = sqlx::query(&format!(
            "SELECT {RELEASE_COLS} FROM releases WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        release_row(&r)
    }
}

/// What the DORA keys are computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoraFacts {
    /// (deployed at, its commits' times, linked to an incident).
    pub deployments: Vec<(i64, Vec<i64>, bool)>,
    /// (incident opened, resolved) for incidents resolved in the range.
    pub restores: Vec<(i64, i64)>,
}

impl Db {
    /// Deployments to `environment` in `[from, to)` (one service or all),
    /// and incidents resolved in the range.
    pub async fn dora_facts(
        &self,
        project_id: &str,
        environment: &str,
        service: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<DoraFacts> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT d.id, d.deployed_at, (SELECT count(*) FROM support_incident_links l \
             JOIN support_incidents i ON i.id = l.incident_id \
             WHERE l.kind = 'deployment' AND l.target_id = d.id AND i.project_id = d.project_id) \
             AS failed FROM deployments d \
             WHERE d.project_id = $1 AND d.environment = $2 AND ($3 = '' OR d.service = $3) \
             AND d.deployed_at >= $4 AND d.deployed_at < $5 ORDER BY d.deployed_at",
        )
        .bind(project_id)
        .bind(environment)
        .bind(service.unwrap_or(""))
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        // Every commit of those deployments in one query, not one each.
        let commits: Vec<(String, i64)> = sqlx::query_as(
            "SELECT c.deployment_id, c.committed_at FROM deployment_commits c \
             JOIN deployments d ON d.id = c.deployment_id \
             WHERE d.project_id = $1 AND d.environment = $2 AND ($3 = '' OR d.service = $3) \
             AND d.deployed_at >= $4 AND d.deployed_at < $5",
        )
        .bind(project_id)
        .bind(environment)
        .bind(service.unwrap_or(""))
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        let mut by_deployment: std::collections::HashMap<String, Vec<i64>> =
            std::collections::HashMap::new();
        for (id, at) in commits {
            by_deployment.entry(id).or_default().push(at);
        }
        let mut facts = DoraFacts::default();
        for (id, at, failed) in rows {
            let commits = by_deployment.remove(&id).unwrap_or_default();
            facts.deployments.push((at, commits, failed > 0));
        }
        facts.restores = sqlx::query_as(
            "SELECT created_at, resolved_at FROM support_incidents WHERE project_id = $1 \
             AND resolved_at IS NOT NULL AND resolved_at >= $2 AND resolved_at < $3",
        )
        .bind(project_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        Ok(facts)
    }
}

pub async fn insert_train(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
    cadence: &str,
    first_release: &str,
    freeze_days: i64,
    now: i64,
) -> Result<TrainRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO release_trains (id, project_id, name, cadence, first_release, freeze_days, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(name)
    .bind(cadence)
    .bind(first_release)
    .bind(freeze_days)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a train with this name"))?;
    train_in(conn, project_id, name).await
}

pub async fn insert_release(
    conn: &mut AnyConnection,
    project_id: &str,
    n: &NewRelease<'_>,
    now: i64,
) -> Result<ReleaseRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO releases (id, project_id, version, kind, state, train_id, planned_for, \
         capacity, incident_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4, 'planned', $5, $6, CASE WHEN $11 = 1 THEN $7 END, $8, $9, $10)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(n.version)
    .bind(n.kind)
    .bind(n.train_id)
    .bind(n.planned_for)
    // Never a NULL float: see `save_item`.
    .bind(n.capacity.unwrap_or(0.0))
    .bind(n.incident_id)
    .bind(n.created_by)
    .bind(now)
    .bind(i64::from(n.capacity.is_some()))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a release with this version"))?;
    if let Some(incident) = n.incident_id {
        // The incident's hotfix requests are now taken up by this release.
        sqlx::query(
            "UPDATE support_hotfix_requests SET release_id = $1, state = 'scheduled' \
             WHERE incident_id = $2 AND release_id IS NULL",
        )
        .bind(&id)
        .bind(incident)
        .execute(&mut *conn)
        .await?;
        crate::support::incidents::add_event(
            &mut *conn,
            incident,
            n.created_by,
            "hotfix_scheduled",
            Some(&format!("Hotfix release {} planned", n.version)),
            false,
            now,
        )
        .await?;
    }
    release_in(conn, project_id, n.version).await
}

/// A train by name or id, on a connection.
pub async fn train_in(
    conn: &mut AnyConnection,
    project_id: &str,
    name_or_id: &str,
) -> Result<TrainRow> {
    let r = sqlx::query(
        "SELECT * FROM release_trains WHERE project_id = $1 AND (name = $2 OR id = $2)",
    )
    .bind(project_id)
    .bind(name_or_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    train_row(&r)
}

/// A release by version or id, on a connection.
pub async fn release_in(
    conn: &mut AnyConnection,
    project_id: &str,
    version_or_id: &str,
) -> Result<ReleaseRow> {
    let r = sqlx::query(&format!(
        "SELECT {RELEASE_COLS} FROM releases WHERE project_id = $1 AND (version = $2 OR id = $2)"
    ))
    .bind(project_id)
    .bind(version_or_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    release_row(&r)
}

/// Records a deployment and its commits in one transaction.
pub async fn record_deployment(
    conn: &mut AnyConnection,
    project_id: &str,
    n: &NewDeployment<'_>,
    now: i64,
) -> Result<DeploymentRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO deployments (id, project_id, service, version, environment, commit_sha, \
         deployed_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(n.service)
    .bind(n.version)
    .bind(n.environment)
    .bind(n.commit_sha)
    .bind(n.deployed_at)
    .bind(n.created_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    for c in n.commits {
        sqlx::query(
            "INSERT INTO deployment_commits (deployment_id, sha, message, committed_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&c.sha)
        .bind(&c.message)
        .bind(c.committed_at)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::conflict_as("a commit listed twice"))?;
    }
    let r = sqlx::query(&format!("{SELECT} WHERE d.id = $1"))
        .bind(&id)
        .fetch_one(&mut *conn)
        .await?;
    row(&r)
}

pub async fn set_release_openapi(
    conn: &mut AnyConnection,
    release_id: &str,
    spec: &str,
) -> Result<()> {
    sqlx::query("UPDATE releases SET openapi = $1 WHERE id = $2")
        .bind(spec)
        .bind(release_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Freezes a release, or thaws it back to planned.
pub async fn set_release_frozen(
    conn: &mut AnyConnection,
    release_id: &str,
    frozen: bool,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE releases SET state = $1, frozen_at = $2 WHERE id = $3")
        .bind(if frozen { "frozen" } else { "planned" })
        .bind(frozen.then_some(now))
        .bind(release_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ships a release: done items become released, open ones go back to
/// the backlog, the hotfix requests it carried are shipped and the
/// incident it was opened for records the fix.
pub async fn ship_release(
    conn: &mut AnyConnection,
    release: &ReleaseRow,
    by: &str,
    now: i64,
) -> Result<Shipped> {
    let moved = sqlx::query(
        "UPDATE releases SET state = 'shipped', shipped_at = $1 WHERE id = $2 AND state <> 'shipped'",
    )
    .bind(now)
    .bind(&release.id)
    .execute(&mut *conn)
    .await?;
    if moved.rows_affected() == 0 {
        return Err(StoreError::Conflict("a shipped release"));
    }
    let released = sqlx::query(
        "UPDATE backlog_items SET status = 'released', updated_at = $1 \
         WHERE release_id = $2 AND status = 'done'",
    )
    .bind(now)
    .bind(&release.id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let carried: Vec<i64> = sqlx::query_scalar(
        "SELECT number FROM backlog_items WHERE release_id = $1 \
         AND status IN ('triage', 'planned', 'in_progress') ORDER BY number",
    )
    .bind(&release.id)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE backlog_items SET release_id = NULL, updated_at = $1 WHERE release_id = $2 \
         AND status IN ('triage', 'planned', 'in_progress')",
    )
    .bind(now)
    .bind(&release.id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE support_hotfix_requests SET state = 'shipped' WHERE release_id = $1")
        .bind(&release.id)
        .execute(&mut *conn)
        .await?;
    let incidents: Vec<String> = sqlx::query_scalar(
        "SELECT incident_id FROM support_hotfix_requests WHERE release_id = $1 \
         UNION SELECT incident_id FROM releases WHERE id = $1 AND incident_id IS NOT NULL",
    )
    .bind(&release.id)
    .fetch_all(&mut *conn)
    .await?;
    for incident in incidents {
        crate::support::incidents::add_link(
            &mut *conn,
            &incident,
            "release",
            &release.version,
            now,
        )
        .await?;
        crate::support::incidents::add_event(
            &mut *conn,
            &incident,
            by,
            "hotfix_shipped",
            Some(&format!("Release {} shipped", release.version)),
            false,
            now,
        )
        .await?;
    }
    Ok(Shipped {
        released: released as i64,
        carried_over: carried,
    })
}

/// Changes a train's cadence, first release day and freeze; releases it
/// already planned keep their dates.
pub async fn update_train(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
    cadence: &str,
    first_release: &str,
    freeze_days: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE release_trains SET cadence = $1, first_release = $2, freeze_days = $3 \
         WHERE project_id = $4 AND id = $5",
    )
    .bind(cadence)
    .bind(first_release)
    .bind(freeze_days)
    .bind(project_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stops a train; its releases stay, off any train. False when there was none.
pub async fn delete_train(conn: &mut AnyConnection, project_id: &str, id: &str) -> Result<bool> {
    sqlx::query("UPDATE releases SET train_id = NULL WHERE project_id = $1 AND train_id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM release_trains WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
