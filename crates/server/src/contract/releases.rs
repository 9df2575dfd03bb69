//! The releases contract: deployments as senders describe them, and
//! releases with their items and capacity, as the API and the pages show
//! them.

use liveops_store::releases::hooks::PullRequestRow;
use liveops_store::releases::{DeployedCommit, DeploymentRow, TrainRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::contract::feedback::item_view;
use crate::error::ApiResult;
use crate::releases::ReleaseDetail;
use crate::releases::deploy::Deployment;
use crate::state::format_ms;

/// The most commits one deployment may list.
const MAX_COMMITS: usize = 10_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitBody {
    pub sha: String,
    pub message: String,
    /// When it was committed (RFC 3339).
    pub committed_at: String,
}

/// A deployment, as the API and a CI system's signed call send it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentBody {
    pub service: String,
    pub version: String,
    /// production (default), staging, …
    pub environment: Option<String>,
    /// The commit deployed (7 to 40 hex digits).
    pub commit: Option<String>,
    /// When it went live (RFC 3339); now by default.
    pub deployed_at: Option<String>,
    /// The commits it carried since the previous deployment.
    #[serde(default)]
    pub commits: Vec<CommitBody>,
    /// The lockfiles it shipped (Cargo.lock, package-lock.json, …): their
    /// packages are scanned against the OSV database for the service, so
    /// findings the deployment no longer carries are fixed.
    #[serde(default)]
    pub lockfiles: Vec<crate::contract::security::LockfileBody>,
}

fn text(field: &str, v: &str, max: usize) -> Result<String, String> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(format!("`{field}` needs 1 to {max} printable characters"));
    }
    Ok(t.to_owned())
}

fn sha(field: &str, v: &str) -> Result<String, String> {
    let t = v.trim().to_ascii_lowercase();
    if !(7..=64).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "`{field}` must be a commit id of 7 to 64 hex digits"
        ));
    }
    Ok(t)
}

fn when(field: &str, v: &str) -> Result<i64, String> {
    crate::timerange::parse_when(field, v)
        .map_err(|e| e.detail().unwrap_or("not a time").to_owned())
}

impl DeploymentBody {
    /// The deployment it describes, or what is wrong with it.
    pub fn parse(self) -> Result<Deployment, String> {
        let service = text("service", &self.service, 100)?;
        let version = text("version", &self.version, 100)?;
        let environment = text(
            "environment",
            self.environment.as_deref().unwrap_or("production"),
            50,
        )?;
        let commit = self
            .commit
            .as_deref()
            .map(|c| sha("commit", c))
            .transpose()?;
        let deployed_at = self
            .deployed_at
            .as_deref()
            .map(|t| when("deployed_at", t))
            .transpose()?;
        if self.commits.len() > MAX_COMMITS {
            return Err(format!("a deployment lists at most {MAX_COMMITS} commits"));
        }
        let commits = self
            .commits
            .iter()
            .map(|c| {
                Ok(DeployedCommit {
                    sha: sha("commits[].sha", &c.sha)?,
                    message: c.message.chars().take(10_000).collect(),
                    committed_at: when("commits[].committed_at", &c.committed_at)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if self.lockfiles.len() > 200 {
            return Err("a deployment lists at most 200 lockfiles".into());
        }
        Ok(Deployment {
            service,
            version,
            environment,
            commit,
            deployed_at,
            commits,
            lockfiles: self
                .lockfiles
                .into_iter()
                .map(|f| (f.name, f.text))
                .collect(),
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CapacityWarning {
    pub planned: f64,
    pub capacity: f64,
    pub unestimated: usize,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReleaseView {
    pub version: String,
    pub kind: String,
    /// planned, frozen or shipped.
    pub state: String,
    pub train: Option<String>,
    pub planned_for: Option<String>,
    pub capacity: Option<f64>,
    /// Effort of the open items scheduled, in person-weeks.
    pub planned_effort: f64,
    pub capacity_warning: Option<CapacityWarning>,
    /// The incident a hotfix was opened for.
    pub incident: Option<i64>,
    pub has_openapi: bool,
    pub frozen_at: Option<String>,
    pub shipped_at: Option<String>,
    pub created_by: String,
    pub items: Vec<super::feedback::ItemView>,
}

/// A release as the API shows it.
pub fn release_view(d: ReleaseDetail) -> ReleaseView {
    let items = d.items.into_iter().map(item_view).collect();
    let (train, incident) = (d.train, d.incident);
    let r = d.release;
    ReleaseView {
        version: r.version,
        kind: r.kind,
        state: r.state,
        train,
        planned_for: r.planned_for,
        capacity: r.capacity,
        planned_effort: d.planned_effort,
        capacity_warning: d.over_capacity.map(|o| CapacityWarning {
            message: format!(
                "{:.1} person-weeks planned against a capacity of {:.1}{}",
                o.planned,
                o.capacity,
                if o.unestimated > 0 {
                    format!(", plus {} items without an estimate", o.unestimated)
                } else {
                    String::new()
                }
            ),
            planned: o.planned,
            capacity: o.capacity,
            unestimated: o.unestimated,
        }),
        incident,
        has_openapi: r.has_openapi,
        frozen_at: r.frozen_at.map(format_ms),
        shipped_at: r.shipped_at.map(format_ms),
        created_by: r.created_by,
        items,
    }
}

/// The answer to moving a release to another state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReleaseMoved {
    pub release: ReleaseView,
    /// When shipped: items that were not done, now back in the backlog.
    pub carried_over: Vec<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeploymentView {
    pub id: String,
    pub service: String,
    pub version: String,
    pub environment: String,
    pub commit: Option<String>,
    pub deployed_at: String,
    pub recorded_by: String,
    pub commits: i64,
    /// From the oldest commit it carried to the deployment, in seconds.
    pub lead_time_secs: Option<i64>,
}

/// A deployment as the API shows it.
pub fn deployment_view(d: DeploymentRow) -> DeploymentView {
    DeploymentView {
        lead_time_secs: d.first_commit_at.map(|c| (d.deployed_at - c) / 1000),
        id: d.id,
        service: d.service,
        version: d.version,
        environment: d.environment,
        commit: d.commit_sha,
        deployed_at: format_ms(d.deployed_at),
        recorded_by: d.created_by,
        commits: d.commits,
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DepartureView {
    pub release: String,
    pub freeze: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrainView {
    pub name: String,
    pub cadence: String,
    pub first_release: String,
    pub freeze_days: i64,
    /// The next departures from today.
    pub next: Vec<DepartureView>,
}

/// A train with its next `count` departures from the day of `now`.
pub fn train_view(t: TrainRow, count: usize, now: i64) -> ApiResult<TrainView> {
    let next = crate::releases::train_of(&t)?
        .calendar(crate::clock::today(now), count)
        .into_iter()
        .map(|d| DepartureView {
            release: d.release.to_string(),
            freeze: d.freeze.to_string(),
        })
        .collect();
    Ok(TrainView {
        name: t.name,
        cadence: t.cadence,
        first_release: t.first_release,
        freeze_days: t.freeze_days,
        next,
    })
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiChangeView {
    pub id: String,
    /// ERR (breaking), WARN or INFO.
    pub level: String,
    pub method: String,
    pub path: String,
    pub text: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotesView {
    pub version: String,
    /// Keep a Changelog Markdown.
    pub markdown: String,
    pub fixed_incidents: Vec<i64>,
    /// Error issues resolved in it.
    #[serde(default)]
    pub fixed_issues: Vec<i64>,
    /// The release whose OpenAPI document this one is compared with.
    pub api_base: Option<String>,
    pub api_changes: Vec<ApiChangeView>,
    /// Set when the API breaks without the version step it calls for.
    pub version_problem: Option<String>,
}

/// A pull (merge) request a Git host reported.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PullRequestView {
    pub repository: String,
    pub number: i64,
    pub title: String,
    pub author: String,
    pub source_branch: String,
    pub target_branch: String,
    /// open, merged or closed.
    pub state: String,
    pub first_commit_at: Option<String>,
    pub opened_at: String,
    pub merged_at: Option<String>,
    pub deployed_at: Option<String>,
    /// The production deployment that carried it.
    pub deployment: Option<String>,
    /// First commit to opened, in seconds.
    pub coding_secs: Option<i64>,
    /// Opened to merged.
    pub review_secs: Option<i64>,
    /// Merged to production.
    pub deploy_secs: Option<i64>,
}

pub fn pull_request_view(p: PullRequestRow) -> PullRequestView {
    let secs = |from: Option<i64>, to: Option<i64>| match (from, to) {
        (Some(f), Some(t)) => Some((t - f).max(0) / 1000),
        _ => None,
    };
    PullRequestView {
        coding_secs: secs(p.first_commit_at, Some(p.opened_at)),
        review_secs: secs(Some(p.opened_at), p.merged_at),
        deploy_secs: secs(p.merged_at, p.deployed_at),
        repository: p.repository,
        number: p.number,
        title: p.title,
        author: p.author,
        source_branch: p.source_branch,
        target_branch: p.target_branch,
        state: p.state,
        first_commit_at: p.first_commit_at.map(format_ms),
        opened_at: format_ms(p.opened_at),
        merged_at: p.merged_at.map(format_ms),
        deployed_at: p.deployed_at.map(format_ms),
        deployment: p.deployment_id,
    }
}
