//! Deployments: what went live, with the commits it carried and the
//! lockfiles it shipped, recorded with the dependency scan they imply in
//! one change; one to production marks the pull requests it carried.

use liveops_store::audit::Actor;
use liveops_store::releases::hooks;
use liveops_store::releases::{self as store, DeployedCommit, DeploymentRow, NewDeployment};
use serde_json::json;

use crate::releases::{ReleasesError, Result};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// A deployment, read and checked.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub service: String,
    pub version: String,
    pub environment: String,
    pub commit: Option<String>,
    /// When it went live; now when not given.
    pub deployed_at: Option<i64>,
    pub commits: Vec<DeployedCommit>,
    /// (file name, text) of the lockfiles it shipped.
    pub lockfiles: Vec<(String, String)>,
}

/// Records a deployment. Its lockfiles, in production, are scanned for the
/// service in the same change: findings it no longer carries are fixed.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    d: &Deployment,
) -> Result<DeploymentRow> {
    match record_once(state, actor, project_id, d, None).await? {
        Some((row, _)) => Ok(row),
        None => Err(ReleasesError::internal(
            "a deployment with no delivery was a duplicate",
        )),
    }
}

/// The same, for a sender that names each delivery (`claim` is the sender
/// and the delivery's id): a delivery taken before records nothing and
/// gives `None`. Also returns the pull requests the deployment took to
/// production.
pub async fn record_once(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    d: &Deployment,
    claim: Option<(&str, &str)>,
) -> Result<Option<(DeploymentRow, Vec<i64>)>> {
    // Read before anything is written, so a bad lockfile changes nothing.
    let locks = crate::security::read_lockfiles(&d.lockfiles)
        .map_err(|e| ReleasesError::invalid(e.to_string()))?;
    let findings = if !locks.is_empty() && d.environment == "production" {
        let vulns = crate::security::audit(&state.db, &locks)
            .await
            .map_err(|e| ReleasesError::internal(e.to_string()))?;
        Some(crate::security::findings_of(&vulns))
    } else {
        None
    };
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    if let Some((sender, delivery)) = claim
        && !hooks::claim_delivery(w.conn(), project_id, sender, delivery, now).await?
    {
        return Ok(None);
    }
    let (row, prs) = record_in(&mut w, project_id, d).await?;
    if let Some(findings) = findings {
        liveops_store::security::record_scan(
            w.conn(),
            project_id,
            &d.service,
            "audit",
            &findings,
            now,
        )
        .await?;
    }
    w.commit(
        Audit::new(
            "deployment.record",
            format!("{} {}", row.service, row.version),
        )
        .detail(
            json!({ "environment": row.environment, "commits": row.commits, "pull_requests": prs }),
        ),
    )
    .await?;
    Ok(Some((row, prs)))
}

/// Records a deployment as part of a change. One to production marks the
/// merged pull requests of its service whose commit it carried as deployed,
/// and returns their numbers.
pub async fn record_in(
    w: &mut Work,
    project_id: &str,
    d: &Deployment,
) -> Result<(DeploymentRow, Vec<i64>)> {
    let now = w.now();
    let by = w.actor().name.clone();
    let row = store::record_deployment(
        w.conn(),
        project_id,
        &NewDeployment {
            service: &d.service,
            version: &d.version,
            environment: &d.environment,
            commit_sha: d.commit.as_deref(),
            deployed_at: d.deployed_at.unwrap_or(now),
            created_by: &by,
            commits: &d.commits,
        },
        now,
    )
    .await
    .map_err(|e| match e {
        liveops_store::StoreError::Conflict(what) => {
            ReleasesError::invalid(format!("{what}: each commit once"))
        }
        other => other.into(),
    })?;
    let mut deployed = Vec::new();
    if row.environment == "production" {
        let shas: Vec<String> = d
            .commits
            .iter()
            .map(|c| c.sha.clone())
            .chain(d.commit.clone())
            .collect();
        deployed = hooks::mark_deployed(
            w.conn(),
            project_id,
            &row.service,
            &shas,
            &row.id,
            row.deployed_at,
        )
        .await?;
    }
    Ok((row, deployed))
}
