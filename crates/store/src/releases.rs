//! Release planning in the state store: deployments and the commits each
//! one carried.

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
    /// Records a deployment and its commits in one transaction.
    pub async fn record_deployment(
        &self,
        project_id: &str,
        n: &NewDeployment<'_>,
        now: i64,
    ) -> Result<DeploymentRow> {
        let id = new_id();
        let mut tx = self.begin().await?;
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
        .execute(&mut *tx)
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
            .execute(&mut *tx)
            .await
            .map_err(StoreError::conflict_as("a commit listed twice"))?;
        }
        tx.commit().await?;
        let r = sqlx::query(&format!("{SELECT} WHERE d.id = $1"))
            .bind(&id)
            .fetch_one(self.pool())
            .await?;
        row(&r)
    }

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
}
