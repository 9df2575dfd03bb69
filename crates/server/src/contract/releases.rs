//! The releases contract: releases with their items and capacity, as the
//! API and the pages show them.

use liveops_store::releases::{DeploymentRow, TrainRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::contract::feedback::item_view;
use crate::error::ApiResult;
use crate::releases::ReleaseDetail;
use crate::state::format_ms;

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
    /// The release whose OpenAPI document this one is compared with.
    pub api_base: Option<String>,
    pub api_changes: Vec<ApiChangeView>,
    /// Set when the API breaks without the version step it calls for.
    pub version_problem: Option<String>,
}
