//! Production support over the API: incidents, on-call, escalation,
//! integrations, notifications, tickets and status-page components.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use liveops_core::support::escalation::Tier;
use liveops_core::support::incident::{Severity, StatusStage};
use liveops_core::support::status::{ComponentStatus, MaintenanceState};
use liveops_store::StoreError;

use liveops_store::support::incidents::IncidentRow;
use liveops_store::support::intake::{IntegrationKind, NewIntegration};
use liveops_store::support::notify::Channel;
use liveops_store::support::oncall::{LayerRow, StoredLevel, StoredTarget, build_policy};
use liveops_store::support::tickets::Ticket;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::feeds::CalendarQuery;
use crate::auth::{Access, InstanceWide, ProjectAccess, keys, need};
use crate::contract::support::{
    AlertView, CommentView, ComponentView, ContactRuleView, CreatedIntegration, DeliveryView,
    FixesView, HookView, HotfixView, IncidentDetail, IncidentSummary, IncidentView,
    IntegrationAddressView, IntegrationView, LayerBody, LevelBody, LinkView, MaintenanceView,
    OnCallEntry, OverrideView, PolicyView, ScheduleView, SlaAlertView, SupportStats, TicketDetail,
    TicketView, TierView, TimelineEntry,
};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::{AppState, format_ms};
use crate::support::service::{self, ActionError, ManualIncident};
use crate::support::tickets::{self as ticket_service, TicketFields, TicketOp, TicketRequest};
use crate::work::{Audit, Work};

mod errors;
mod incidents;
mod intake;
mod notify;
mod oncall;
mod status;
mod tickets;

pub use errors::*;
pub use incidents::*;
pub use intake::*;
pub use notify::*;
pub use oncall::*;
pub use status::*;
pub use tickets::*;

fn unprocessable(e: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(e.to_string())
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> ApiError {
        match e {
            ActionError::Invalid(why) => ApiError::unprocessable(why),
            ActionError::Refused(why) => ApiError::conflict(why),
            ActionError::Store(s) => s.into(),
        }
    }
}

fn parse_time(field: &str, s: &str) -> ApiResult<i64> {
    s.parse::<Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            ApiError::unprocessable(format!(
                "`{field}` must be an RFC 3339 time like 2026-01-05T09:00:00Z"
            ))
        })
}

fn text(field: &str, s: &str, max: usize) -> ApiResult<String> {
    ticket_service::clean_text(field, s, max).map_err(ApiError::unprocessable)
}

/// Maps a lookup's error: a missing record becomes `missing`; a database
/// failure stays what it is.
fn or_missing(missing: ApiError) -> impl FnOnce(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => missing,
        e => e.into(),
    }
}

/// The user id of a project member by e-mail address. Someone who is not a
/// member gets the same answer whether or not they have an account, so the
/// answer tells nothing about the instance's other users.
async fn member_id(state: &AppState, access: &ProjectAccess, email: &str) -> ApiResult<String> {
    let parsed = liveops_core::Email::parse(email).map_err(unprocessable)?;
    crate::auth::member_of(state, &access.project.id, &parsed)
        .await?
        .ok_or_else(|| ApiError::unprocessable(format!("{parsed} is not a member of this project")))
}

/// A component a request names, by id or name; a missing one is the request's fault.
async fn named_component(
    state: &AppState,
    access: &ProjectAccess,
    name: &str,
) -> ApiResult<liveops_store::support::status::Component> {
    match state.db.component(&access.project.id, name).await {
        Err(StoreError::NotFound) => Err(ApiError::unprocessable(format!("no component `{name}`"))),
        other => Ok(other?),
    }
}

/// An escalation policy a request names, by id or name.
async fn named_policy(
    state: &AppState,
    access: &ProjectAccess,
    name: &str,
) -> ApiResult<liveops_store::support::oncall::PolicyRow> {
    match state.db.policy(&access.project.id, name).await {
        Err(StoreError::NotFound) => Err(ApiError::unprocessable(format!(
            "no escalation policy `{name}`"
        ))),
        other => Ok(other?),
    }
}

pub(crate) async fn email_of(state: &AppState, user_id: &str) -> ApiResult<String> {
    match state.db.user_by_id(user_id).await {
        Ok(u) => Ok(u.email),
        Err(StoreError::NotFound) => Ok(format!("deleted user {user_id}")),
        Err(e) => Err(e.into()),
    }
}
