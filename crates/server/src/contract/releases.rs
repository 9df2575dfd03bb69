//! The releases contract: releases with their items and capacity, as the
//! API and the pages show them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::contract::feedback::item_view;
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
