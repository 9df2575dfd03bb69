//! What Git hosts and CI report through webhooks, in the state store: the
//! sealed secret each sender signs with, deliveries already taken, commits
//! pushed, and pull (merge) requests from opened to deployed.

use sqlx::AnyConnection;
use sqlx::Row;

use super::DeployedCommit;
use crate::{Db, Result, new_id};

/// A commit pushed to a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGitCommit<'a> {
    pub sha: &'a str,
    pub message: &'a str,
    pub author: &'a str,
    pub committed_at: i64,
}

/// Where a pushed commit was first seen on a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRow {
    pub sha: String,
    pub branch: String,
    pub pushed_at: i64,
}

/// A pull request as a host last described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestFields<'a> {
    pub repository: &'a str,
    pub number: i64,
    pub title: &'a str,
    pub author: &'a str,
    pub source_branch: &'a str,
    pub target_branch: &'a str,
    pub head_sha: Option<&'a str>,
    pub merge_sha: Option<&'a str>,
    /// open, merged or closed.
    pub state: &'a str,
    pub opened_at: i64,
    pub merged_at: Option<i64>,
    pub closed_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestRow {
    pub id: String,
    pub repository: String,
    pub number: i64,
    pub title: String,
    pub author: String,
    pub source_branch: String,
    pub target_branch: String,
    pub merge_sha: Option<String>,
    pub state: String,
    /// The oldest commit pushed to its branch, made before it merged.
    pub first_commit_at: Option<i64>,
    pub opened_at: i64,
    pub merged_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub deployed_at: Option<i64>,
    pub deployment_id: Option<String>,
}

const PR_SELECT: &str = "SELECT p.id, p.repository, p.number, p.title, p.author, p.source_branch, \
     p.target_branch, p.merge_sha, p.state, p.opened_at, p.merged_at, p.closed_at, p.deployed_at, \
     p.deployment_id, (SELECT min(c.committed_at) FROM git_commits c WHERE c.project_id = p.project_id \
     AND c.repository = p.repository AND c.branch = p.source_branch \
     AND c.committed_at <= COALESCE(p.merged_at, p.closed_at, c.committed_at)) AS first_commit_at \
     FROM pull_requests p";

fn pr_row(r: &sqlx::any::AnyRow) -> Result<PullRequestRow> {
    Ok(PullRequestRow {
        id: r.try_get("id")?,
        repository: r.try_get("repository")?,
        number: r.try_get("number")?,
        title: r.try_get("title")?,
        author: r.try_get("author")?,
        source_branch: r.try_get("source_branch")?,
        target_branch: r.try_get("target_branch")?,
        merge_sha: r.try_get("merge_sha")?,
        state: r.try_get("state")?,
        first_commit_at: r.try_get("first_commit_at")?,
        opened_at: r.try_get("opened_at")?,
        merged_at: r.try_get("merged_at")?,
        closed_at: r.try_get("closed_at")?,
        deployed_at: r.try_get("deployed_at")?,
        deployment_id: r.try_get("deployment_id")?,
    })
}

/// A `LIKE` pattern that finds a commit by its full id or a prefix of it.
fn sha_prefix(sha: &str) -> String {
    format!("{}%", sha.replace(['%', '_'], ""))
}

impl Db {
    /// The sealed secret `provider` (github, gitlab or ci) signs with.
    pub async fn git_hook_secret(
        &self,
        project_id: &str,
        provider: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT sealed_secret FROM git_hook_secrets WHERE project_id = $1 AND provider = $2",
        )
        .bind(project_id)
        .bind(provider)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The providers a project takes webhooks from, with when each secret
    /// was made.
    pub async fn git_hook_providers(&self, project_id: &str) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT provider, created_at FROM git_hook_secrets WHERE project_id = $1 ORDER BY provider",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// A project's pull requests, most recently opened first.
    pub async fn pull_requests(
        &self,
        project_id: &str,
        repository: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PullRequestRow>> {
        let rows = sqlx::query(&format!(
            "{PR_SELECT} WHERE p.project_id = $1 AND ($2 = '' OR p.repository = $2) \
             ORDER BY p.opened_at DESC, p.number DESC LIMIT $3"
        ))
        .bind(project_id)
        .bind(repository.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(pr_row).collect()
    }

    /// Merged pull requests that reached production in `[from, to)`, for
    /// one service (repository) or all.
    pub async fn deployed_pull_requests(
        &self,
        project_id: &str,
        service: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<PullRequestRow>> {
        let rows = sqlx::query(&format!(
            "{PR_SELECT} WHERE p.project_id = $1 AND ($2 = '' OR p.repository = $2) \
             AND p.state = 'merged' AND p.deployed_at >= $3 AND p.deployed_at < $4 \
             ORDER BY p.deployed_at LIMIT 10000"
        ))
        .bind(project_id)
        .bind(service.unwrap_or(""))
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(pr_row).collect()
    }
}

/// Stores (or replaces) the sealed secret of a provider.
pub async fn set_secret(
    conn: &mut AnyConnection,
    project_id: &str,
    provider: &str,
    sealed: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO git_hook_secrets (project_id, provider, sealed_secret, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, provider) \
         DO UPDATE SET sealed_secret = excluded.sealed_secret, created_at = excluded.created_at",
    )
    .bind(project_id)
    .bind(provider)
    .bind(sealed)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stops taking webhooks from a provider; false when none were taken.
pub async fn delete_secret(
    conn: &mut AnyConnection,
    project_id: &str,
    provider: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM git_hook_secrets WHERE project_id = $1 AND provider = $2")
        .bind(project_id)
        .bind(provider)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Claims a delivery by the id its sender gave it; false when it was
/// taken before (a retry).
pub async fn claim_delivery(
    conn: &mut AnyConnection,
    project_id: &str,
    provider: &str,
    delivery: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO git_deliveries (project_id, provider, delivery, received_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(project_id)
    .bind(provider)
    .bind(delivery)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Records the commits of a push; a commit already seen on that branch
/// keeps its first sighting. Returns how many were new.
pub async fn record_push(
    conn: &mut AnyConnection,
    project_id: &str,
    repository: &str,
    branch: &str,
    commits: &[NewGitCommit<'_>],
    pushed_at: i64,
) -> Result<u64> {
    let mut added = 0;
    for c in commits {
        added += sqlx::query(
            "INSERT INTO git_commits (project_id, repository, branch, sha, message, author, \
             committed_at, pushed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(project_id)
        .bind(repository)
        .bind(branch)
        .bind(c.sha)
        .bind(c.message)
        .bind(c.author)
        .bind(c.committed_at)
        .bind(pushed_at)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(added)
}

/// Where a commit (by full id or prefix) was pushed, preferring `branch`,
/// then the earliest sighting.
pub async fn pushed(
    conn: &mut AnyConnection,
    project_id: &str,
    repository: &str,
    sha: &str,
    branch: Option<&str>,
) -> Result<Option<PushedRow>> {
    let row = sqlx::query(
        "SELECT sha, branch, pushed_at FROM git_commits WHERE project_id = $1 AND repository = $2 \
         AND sha LIKE $3 ORDER BY CASE WHEN branch = $4 THEN 0 ELSE 1 END, pushed_at LIMIT 1",
    )
    .bind(project_id)
    .bind(repository)
    .bind(sha_prefix(sha))
    .bind(branch.unwrap_or(""))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(PushedRow {
            sha: r.try_get("sha")?,
            branch: r.try_get("branch")?,
            pushed_at: r.try_get("pushed_at")?,
        })
    })
    .transpose()
}

/// The commits pushed to `branch` up to `pushed_by` that no deployment of
/// `service` to `environment` has carried yet: what a deployment of the
/// branch's head at that push carries. Oldest first, at most `limit`.
pub async fn undeployed(
    conn: &mut AnyConnection,
    project_id: &str,
    repository: &str,
    branch: &str,
    pushed_by: i64,
    environment: &str,
    limit: i64,
) -> Result<Vec<DeployedCommit>> {
    let rows = sqlx::query(
        "SELECT g.sha, g.message, g.committed_at FROM git_commits g \
         WHERE g.project_id = $1 AND g.repository = $2 AND g.branch = $3 AND g.pushed_at <= $4 \
         AND NOT EXISTS (SELECT 1 FROM deployment_commits dc JOIN deployments d ON d.id = dc.deployment_id \
           WHERE d.project_id = g.project_id AND d.service = g.repository AND d.environment = $5 \
           AND dc.sha = g.sha) \
         ORDER BY g.pushed_at, g.committed_at, g.sha LIMIT $6",
    )
    .bind(project_id)
    .bind(repository)
    .bind(branch)
    .bind(pushed_by)
    .bind(environment)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeployedCommit {
                sha: r.try_get("sha")?,
                message: r.try_get("message")?,
                committed_at: r.try_get("committed_at")?,
            })
        })
        .collect()
}

/// Records a pull request as the host describes it now. A merge, once
/// seen, stays: a late delivery of an older state does not undo it. The
/// deployment it reached is kept.
pub async fn upsert_pull_request(
    conn: &mut AnyConnection,
    project_id: &str,
    p: &PullRequestFields<'_>,
    now: i64,
) -> Result<PullRequestRow> {
    sqlx::query(
        "INSERT INTO pull_requests (id, project_id, repository, number, title, author, source_branch, \
         target_branch, head_sha, merge_sha, state, opened_at, merged_at, closed_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (project_id, repository, number) DO UPDATE SET \
         title = excluded.title, author = excluded.author, source_branch = excluded.source_branch, \
         target_branch = excluded.target_branch, \
         head_sha = COALESCE(excluded.head_sha, pull_requests.head_sha), \
         merge_sha = COALESCE(pull_requests.merge_sha, excluded.merge_sha), \
         state = CASE WHEN pull_requests.state = 'merged' THEN 'merged' ELSE excluded.state END, \
         opened_at = excluded.opened_at, \
         merged_at = COALESCE(pull_requests.merged_at, excluded.merged_at), \
         closed_at = COALESCE(excluded.closed_at, pull_requests.closed_at), \
         updated_at = excluded.updated_at",
    )
    .bind(new_id())
    .bind(project_id)
    .bind(p.repository)
    .bind(p.number)
    .bind(p.title)
    .bind(p.author)
    .bind(p.source_branch)
    .bind(p.target_branch)
    .bind(p.head_sha)
    .bind(p.merge_sha)
    .bind(p.state)
    .bind(p.opened_at)
    .bind(p.merged_at)
    .bind(p.closed_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let r = sqlx::query(&format!(
        "{PR_SELECT} WHERE p.project_id = $1 AND p.repository = $2 AND p.number = $3"
    ))
    .bind(project_id)
    .bind(p.repository)
    .bind(p.number)
    .fetch_one(&mut *conn)
    .await?;
    pr_row(&r)
}

/// Marks the merged pull requests of `repository` whose merge (or head)
/// commit is among `shas` as deployed, unless they already were. Returns
/// their numbers.
pub async fn mark_deployed(
    conn: &mut AnyConnection,
    project_id: &str,
    repository: &str,
    shas: &[String],
    deployment_id: &str,
    deployed_at: i64,
) -> Result<Vec<i64>> {
    let mut numbers = Vec::new();
    for chunk in shas.chunks(200) {
        let list = (0..chunk.len())
            .map(|i| format!("${}", i + 5))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE pull_requests SET deployed_at = $1, deployment_id = $2 \
             WHERE project_id = $3 AND repository = $4 AND state = 'merged' \
             AND deployed_at IS NULL AND (merge_sha IN ({list}) OR head_sha IN ({list})) \
             RETURNING number"
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql)
            .bind(deployed_at)
            .bind(deployment_id)
            .bind(project_id)
            .bind(repository);
        for s in chunk {
            q = q.bind(s);
        }
        numbers.extend(q.fetch_all(&mut *conn).await?);
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// The deployments of a project that carried a commit (by full id or
/// prefix), oldest first.
pub async fn deployments_carrying(
    conn: &mut AnyConnection,
    project_id: &str,
    sha: &str,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT d.id FROM deployments d WHERE d.project_id = $1 AND (d.commit_sha LIKE $2 \
         OR EXISTS (SELECT 1 FROM deployment_commits c WHERE c.deployment_id = d.id AND c.sha LIKE $2)) \
         ORDER BY d.deployed_at",
    )
    .bind(project_id)
    .bind(sha_prefix(sha))
    .fetch_all(&mut *conn)
    .await?)
}

/// The incidents a deployment is linked to.
pub async fn incidents_of_deployment(
    conn: &mut AnyConnection,
    deployment_id: &str,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT incident_id FROM support_incident_links WHERE kind = 'deployment' AND target_id = $1 \
         ORDER BY created_at",
    )
    .bind(deployment_id)
    .fetch_all(&mut *conn)
    .await?)
}
