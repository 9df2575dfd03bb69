//! Deployments: what went live, with the commits it carried and the
//! lockfiles it shipped, recorded with the dependency scan they imply in
//! one change.

use liveops_store::audit::Actor;
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
    let row = store::record_deployment(
        w.conn(),
        project_id,
        &NewDeployment {
            service: &d.service,
            version: &d.version,
            environment: &d.environment,
            commit_sha: d.commit.as_deref(),
            deployed_at: d.deployed_at.unwrap_or(now),
            created_by: &actor.name,
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
        .detail(json!({ "environment": row.environment, "commits": row.commits })),
    )
    .await?;
    Ok(row)
}
