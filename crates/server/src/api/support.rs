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
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::feeds::CalendarQuery;
use crate::auth::{Access, InstanceWide, ProjectAccess, keys, need};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::{AppState, format_ms};
use crate::support::service::{self, ActionError, ManualIncident};
use crate::support::tickets::{self, TicketFields, TicketOp, TicketRequest};
use crate::work::{Audit, Work};

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
    tickets::clean_text(field, s, max).map_err(ApiError::unprocessable)
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

// ---------------------------------------------------------------- components

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// operational, under_maintenance, degraded_performance, partial_outage or major_outage.
    pub status: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComponent {
    pub name: String,
    pub description: Option<String>,
}

/// Status-page components of the project.
#[utoipa::path(get, path = "/api/v1/projects/{project}/components", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Components", body = Vec<ComponentView>)))]
pub async fn list_components(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<ComponentView>>> {
    let list = state.db.components(&access.project.id).await?;
    Ok(Json(
        list.into_iter()
            .map(|c| ComponentView {
                id: c.id,
                name: c.name,
                description: c.description,
                status: c.status.as_str().into(),
            })
            .collect(),
    ))
}

/// Adds a status-page component.
#[utoipa::path(post, path = "/api/v1/projects/{project}/components", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = NewComponent,
    responses((status = 201, description = "The component", body = ComponentView)))]
pub async fn create_component(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<NewComponent>,
) -> ApiResult<(StatusCode, Json<ComponentView>)> {
    let name = text("name", &body.name, 100)?;
    let description = body
        .description
        .as_deref()
        .map(|d| text("description", d, 500))
        .transpose()?;
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    let c = liveops_store::support::status::insert_component(
        &mut *tx,
        &access.project.id,
        &name,
        description.as_deref(),
        now,
    )
    .await?;
    w.commit(Audit::new("component.create", &name)).await?;
    Ok((
        StatusCode::CREATED,
        Json(ComponentView {
            id: c.id,
            name: c.name,
            description: c.description,
            status: c.status.as_str().into(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentStatusBody {
    pub status: String,
}

/// Sets a component's status by hand, e.g. for maintenance.
#[utoipa::path(put, path = "/api/v1/projects/{project}/components/{component}/status", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("component" = String, Path, description = "Component id or name")),
    request_body = ComponentStatusBody,
    responses((status = 200, description = "The component", body = ComponentView)))]
pub async fn set_component_status(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, component)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ComponentStatusBody>,
) -> ApiResult<Json<ComponentView>> {
    let status: ComponentStatus = body.status.parse().map_err(unprocessable)?;
    let c = state
        .db
        .component(&access.project.id, &component)
        .await
        .map_err(or_missing(ApiError::not_found(format!(
            "no component `{component}`"
        ))))?;
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    liveops_store::support::status::set_status(&mut *tx, &c.id, status, now).await?;
    w.commit(
        Audit::new("component.status", &c.name)
            .detail(serde_json::json!({"status": status.as_str()})),
    )
    .await?;
    Ok(Json(ComponentView {
        id: c.id,
        name: c.name,
        description: c.description,
        status: status.as_str().into(),
    }))
}

// ---------------------------------------------------------------- schedules

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerBody {
    /// Members' e-mail addresses, in rotation order.
    pub members: Vec<String>,
    /// The first hand-off, as local time in the schedule's zone, e.g. `2026-01-05T09:00`.
    pub start: String,
    /// Shift length: `12h`, `1d`, `1w`, …
    pub shift: String,
    /// Only these weekdays (`mon`…`sun`) …
    pub days: Option<Vec<String>>,
    /// … from this local time (`09:00`) …
    pub from: Option<String>,
    /// … until this one (`17:00`; earlier than `from` runs overnight).
    pub to: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub name: String,
    /// An IANA time zone such as `Europe/Berlin`.
    pub time_zone: String,
    /// Layers, lowest first; higher layers win.
    pub layers: Vec<LayerBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideView {
    pub id: String,
    pub user: String,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub layers: Vec<LayerBody>,
    pub overrides: Vec<OverrideView>,
    /// Who is on call now.
    pub on_call_now: Option<String>,
}

async fn schedule_view(state: &AppState, project_id: &str, id: &str) -> ApiResult<ScheduleView> {
    let loaded = state
        .db
        .schedule(project_id, id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(format!("no schedule `{id}`")),
            e => e.into(),
        })?;
    let mut layers = Vec::new();
    for l in &loaded.layers {
        let mut members = Vec::new();
        for m in &l.members {
            members.push(email_of(state, m).await?);
        }
        layers.push(LayerBody {
            members,
            start: l.start_local.clone(),
            shift: l.shift.clone(),
            days: l
                .restrict_days
                .as_ref()
                .map(|d| d.split(',').map(str::to_owned).collect()),
            from: l.restrict_from.clone(),
            to: l.restrict_to.clone(),
        });
    }
    let mut overrides = Vec::new();
    for o in &loaded.overrides {
        overrides.push(OverrideView {
            id: o.id.clone(),
            user: email_of(state, &o.user_id).await?,
            start: format_ms(o.start_at),
            end: format_ms(o.end_at),
        });
    }
    let on_call_now = match loaded
        .schedule
        .on_call_at(Timestamp::from_millisecond(state.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH))
    {
        Some((u, _)) => Some(email_of(state, u).await?),
        None => None,
    };
    Ok(ScheduleView {
        id: loaded.row.id,
        name: loaded.row.name,
        time_zone: loaded.row.time_zone,
        layers,
        overrides,
        on_call_now,
    })
}

/// The project's on-call schedules.
#[utoipa::path(get, path = "/api/v1/projects/{project}/schedules", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Schedules", body = Vec<ScheduleView>)))]
pub async fn list_schedules(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<ScheduleView>>> {
    let mut out = Vec::new();
    for s in state.db.schedules(&access.project.id).await? {
        out.push(schedule_view(&state, &access.project.id, &s.id).await?);
    }
    Ok(Json(out))
}

/// Creates an on-call schedule from rotation layers.
#[utoipa::path(post, path = "/api/v1/projects/{project}/schedules", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = NewSchedule,
    responses((status = 201, description = "The schedule", body = ScheduleView)))]
pub async fn create_schedule(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<NewSchedule>,
) -> ApiResult<(StatusCode, Json<ScheduleView>)> {
    let name = text("name", &body.name, 100)?;
    liveops_core::support::schedule::time_zone(&body.time_zone).map_err(unprocessable)?;
    if body.layers.is_empty() || body.layers.len() > 20 {
        return Err(ApiError::unprocessable("a schedule needs 1 to 20 layers"));
    }
    let mut rows = Vec::new();
    for (i, l) in body.layers.iter().enumerate() {
        if l.members.is_empty() || l.members.len() > 100 {
            return Err(ApiError::unprocessable(format!(
                "layer {}: a rotation needs 1 to 100 members",
                i + 1
            )));
        }
        let mut members = Vec::new();
        for m in &l.members {
            members.push(member_id(&state, &access, m).await?);
        }
        let row = LayerRow {
            members,
            start_local: l.start.clone(),
            shift: l.shift.clone(),
            restrict_days: l.days.as_ref().map(|d| d.join(",")),
            restrict_from: l.from.clone(),
            restrict_to: l.to.clone(),
        };
        row.to_layer(&body.time_zone)
            .map_err(|e| ApiError::unprocessable(format!("layer {}: {e}", i + 1)))?;
        rows.push(row);
    }
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    let id = liveops_store::support::oncall::insert_schedule(
        &mut *tx,
        &access.project.id,
        &name,
        &body.time_zone,
        &rows,
        now,
    )
    .await?;
    w.commit(Audit::new("schedule.create", &name)).await?;
    Ok((
        StatusCode::CREATED,
        Json(schedule_view(&state, &access.project.id, &id).await?),
    ))
}

/// One schedule with its layers and overrides.
#[utoipa::path(get, path = "/api/v1/projects/{project}/schedules/{schedule}", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("schedule" = String, Path, description = "Schedule id or name")),
    responses((status = 200, description = "The schedule", body = ScheduleView)))]
pub async fn get_schedule(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, schedule)): ApiPath<(String, String)>,
) -> ApiResult<Json<ScheduleView>> {
    Ok(Json(
        schedule_view(&state, &access.project.id, &schedule).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOverride {
    /// Who stands in.
    pub user: String,
    pub start: String,
    pub end: String,
}

/// Puts someone on call in place of the schedule for a while.
#[utoipa::path(post, path = "/api/v1/projects/{project}/schedules/{schedule}/overrides", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("schedule" = String, Path, description = "Schedule id or name")),
    request_body = NewOverride,
    responses((status = 201, description = "The schedule with the override", body = ScheduleView)))]
pub async fn create_override(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, schedule)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<NewOverride>,
) -> ApiResult<(StatusCode, Json<ScheduleView>)> {
    let loaded = state
        .db
        .schedule(&access.project.id, &schedule)
        .await
        .map_err(or_missing(ApiError::not_found(format!(
            "no schedule `{schedule}`"
        ))))?;
    let user = member_id(&state, &access, &body.user).await?;
    let start = parse_time("start", &body.start)?;
    let end = parse_time("end", &body.end)?;
    if end <= start {
        return Err(ApiError::unprocessable(
            "an override must end after it starts",
        ));
    }
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    liveops_store::support::oncall::insert_override(
        &mut *tx,
        &loaded.row.id,
        &user,
        start,
        end,
        now,
    )
    .await?;
    w.commit(
        Audit::new("schedule.override", &loaded.row.name)
            .detail(serde_json::json!({"user": body.user, "start": body.start, "end": body.end})),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(schedule_view(&state, &access.project.id, &loaded.row.id).await?),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// An RFC 3339 time; now when left out.
    pub at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallEntry {
    /// A schedule name, or a tier (`L1`, `L2`, `L3`).
    pub on: String,
    pub user: Option<String>,
    /// `override`, `layer N`, or `tier members` when a tier has no schedule.
    pub source: String,
}

/// Who is on call at a time, per schedule and per support tier.
#[utoipa::path(get, path = "/api/v1/projects/{project}/oncall", tag = "support",
    params(("project" = String, Path, description = "Project slug"), AtQuery),
    responses((status = 200, description = "Who is on call", body = Vec<OnCallEntry>)))]
pub async fn who_is_on_call(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> ApiResult<Json<Vec<OnCallEntry>>> {
    let at = match q.at.as_deref() {
        Some(s) => Timestamp::from_millisecond(parse_time("at", s)?).map_err(unprocessable)?,
        None => Timestamp::from_millisecond(state.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH),
    };
    let mut out = Vec::new();
    for s in state.db.schedules(&access.project.id).await? {
        let loaded = state.db.schedule(&access.project.id, &s.id).await?;
        let (user, source) = match loaded.schedule.on_call_at(at) {
            Some((u, src)) => (
                Some(email_of(&state, u).await?),
                match src {
                    liveops_core::support::schedule::Source::Override => "override".to_owned(),
                    liveops_core::support::schedule::Source::Layer(i) => format!("layer {}", i + 1),
                },
            ),
            None => (None, "nobody".to_owned()),
        };
        out.push(OnCallEntry {
            on: s.name,
            user,
            source,
        });
    }
    for tier in Tier::ALL {
        let (people, by_schedule) =
            service::tier_on_call(&state.db, &access.project.id, tier, at).await?;
        let source = if by_schedule {
            "schedule"
        } else {
            "tier members"
        };
        let mut emails = Vec::new();
        for p in &people {
            emails.push(email_of(&state, p).await?);
        }
        out.push(OnCallEntry {
            on: tier.as_str().to_uppercase(),
            user: (!emails.is_empty()).then(|| emails.join(", ")),
            source: source.into(),
        });
    }
    Ok(Json(out))
}

// ---------------------------------------------------------------- tiers

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TierView {
    /// l1, l2 or l3.
    pub tier: String,
    /// The schedule whose on-call person answers for the tier, if any.
    pub schedule: Option<String>,
    /// Members' e-mail addresses; all are notified when there is no schedule.
    pub members: Vec<String>,
}

/// The support tiers L1, L2 and L3.
#[utoipa::path(get, path = "/api/v1/projects/{project}/tiers", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Tiers", body = Vec<TierView>)))]
pub async fn list_tiers(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<TierView>>> {
    let mut out = Vec::new();
    for row in state.db.tiers(&access.project.id).await? {
        let mut members = Vec::new();
        for m in &row.members {
            members.push(email_of(&state, m).await?);
        }
        let schedule = match &row.schedule_id {
            Some(id) => state
                .db
                .schedule(&access.project.id, id)
                .await
                .ok()
                .map(|s| s.row.name),
            None => None,
        };
        out.push(TierView {
            tier: row.tier.as_str().into(),
            schedule,
            members,
        });
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierBody {
    pub schedule: Option<String>,
    #[serde(default)]
    pub members: Vec<String>,
}

/// Sets a tier's members and schedule.
#[utoipa::path(put, path = "/api/v1/projects/{project}/tiers/{tier}", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("tier" = String, Path, description = "l1, l2 or l3")),
    request_body = TierBody,
    responses((status = 200, description = "The tier", body = TierView)))]
pub async fn set_tier(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, tier)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<TierBody>,
) -> ApiResult<Json<TierView>> {
    let tier = Tier::parse(&tier)
        .ok_or_else(|| ApiError::not_found(format!("no tier `{tier}`: use l1, l2 or l3")))?;
    let schedule_id = match body.schedule.as_deref() {
        Some(s) => Some(
            state
                .db
                .schedule(&access.project.id, s)
                .await
                .map_err(or_missing(ApiError::unprocessable(format!(
                    "no schedule `{s}`"
                ))))?
                .row
                .id,
        ),
        None => None,
    };
    let mut members = Vec::new();
    for m in &body.members {
        members.push(member_id(&state, &access, m).await?);
    }
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    liveops_store::support::oncall::set_tier(
        &mut *tx,
        &access.project.id,
        tier,
        schedule_id.as_deref(),
        &members,
    )
    .await?;
    w.commit(Audit::new("tier.set", tier.as_str())).await?;
    Ok(Json(TierView {
        tier: tier.as_str().into(),
        schedule: body.schedule,
        members: body.members,
    }))
}

// ---------------------------------------------------------------- policies

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelBody {
    /// Targets such as `user:ann@example.com`, `schedule:Primary` or `tier:l2`.
    pub notify: Vec<String>,
    /// Seconds to wait for an acknowledgement before the next level.
    pub delay_secs: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPolicy {
    pub name: String,
    pub levels: Vec<LevelBody>,
    /// How many more times to run through all levels.
    #[serde(default)]
    pub repeat: u32,
    /// Seconds after which an acknowledgement lapses and escalation restarts.
    pub ack_timeout_secs: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    pub id: String,
    pub name: String,
    pub levels: Vec<LevelBody>,
    pub repeat: u32,
    pub ack_timeout_secs: Option<i64>,
}

async fn policy_view(
    state: &AppState,
    row: liveops_store::support::oncall::PolicyRow,
) -> ApiResult<PolicyView> {
    let mut levels = Vec::new();
    for l in &row.levels {
        let mut notify = Vec::new();
        for t in &l.targets {
            notify.push(match t {
                StoredTarget::User(u) => format!("user:{}", email_of(state, u).await?),
                StoredTarget::Schedule(s) => format!("schedule:{s}"),
                StoredTarget::Tier(t) => format!("tier:{t}"),
            });
        }
        levels.push(LevelBody {
            notify,
            delay_secs: l.delay_secs,
        });
    }
    Ok(PolicyView {
        id: row.id,
        name: row.name,
        levels,
        repeat: row.repeat,
        ack_timeout_secs: row.ack_timeout_secs,
    })
}

/// Escalation policies.
#[utoipa::path(get, path = "/api/v1/projects/{project}/policies", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Policies", body = Vec<PolicyView>)))]
pub async fn list_policies(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<PolicyView>>> {
    let mut out = Vec::new();
    for p in state.db.policies(&access.project.id).await? {
        out.push(policy_view(&state, p).await?);
    }
    Ok(Json(out))
}

/// Creates an escalation policy.
#[utoipa::path(post, path = "/api/v1/projects/{project}/policies", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = NewPolicy,
    responses((status = 201, description = "The policy", body = PolicyView)))]
pub async fn create_policy(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<NewPolicy>,
) -> ApiResult<(StatusCode, Json<PolicyView>)> {
    let name = text("name", &body.name, 100)?;
    if body
        .ack_timeout_secs
        .is_some_and(|s| !(60..=86_400).contains(&s))
    {
        return Err(ApiError::unprocessable(
            "ack_timeout_secs must be between 60 and 86400",
        ));
    }
    let mut levels = Vec::new();
    for (i, l) in body.levels.iter().enumerate() {
        let mut targets = Vec::new();
        for t in &l.notify {
            let (kind, value) = t.split_once(':').ok_or_else(|| {
                ApiError::unprocessable(format!(
                    "level {}: `{t}` must look like user:EMAIL, schedule:NAME or tier:l1",
                    i + 1
                ))
            })?;
            targets.push(match kind {
                "user" => StoredTarget::User(member_id(&state, &access, value).await?),
                "schedule" => StoredTarget::Schedule(
                    state
                        .db
                        .schedule(&access.project.id, value)
                        .await
                        .map_err(|e| {
                            or_missing(ApiError::unprocessable(format!(
                                "level {}: no schedule `{value}`",
                                i + 1
                            )))(e)
                        })?
                        .row
                        .id,
                ),
                "tier" => StoredTarget::Tier(value.to_ascii_lowercase()),
                other => {
                    return Err(ApiError::unprocessable(format!(
                        "level {}: unknown target kind `{other}`: use user, schedule or tier",
                        i + 1
                    )));
                }
            });
        }
        levels.push(StoredLevel {
            targets,
            delay_secs: l.delay_secs,
        });
    }
    build_policy(&levels, body.repeat).map_err(unprocessable)?;
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    let id = liveops_store::support::oncall::insert_policy(
        &mut *tx,
        &access.project.id,
        &name,
        &levels,
        body.repeat,
        body.ack_timeout_secs,
        now,
    )
    .await?;
    w.commit(Audit::new("policy.create", &name)).await?;
    let row = state.db.policy(&access.project.id, &id).await?;
    Ok((StatusCode::CREATED, Json(policy_view(&state, row).await?)))
}

// ---------------------------------------------------------------- integrations

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntegrationBody {
    pub name: String,
    /// alertmanager, grafana or generic.
    pub kind: String,
    /// Escalation policy (id or name) for incidents it opens.
    pub policy: Option<String>,
    /// Status-page component (id or name) its incidents affect.
    pub component: Option<String>,
    /// Severity when the alert carries none; sev3 by default.
    pub default_severity: Option<String>,
    /// Resolve the incident when its alerts resolve; true by default.
    pub auto_resolve: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub default_severity: String,
    pub auto_resolve: bool,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedIntegration {
    pub integration: IntegrationView,
    /// The secret; shown only now.
    pub secret: String,
    /// Where to send alerts: the secret is part of the path.
    pub url_path: String,
}

/// Alert integrations.
#[utoipa::path(get, path = "/api/v1/projects/{project}/integrations", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Integrations", body = Vec<IntegrationView>)))]
pub async fn list_integrations(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<IntegrationView>>> {
    Ok(Json(
        state
            .db
            .integrations(&access.project.id)
            .await?
            .into_iter()
            .map(|i| IntegrationView {
                id: i.id,
                name: i.name,
                kind: i.kind.as_str().into(),
                default_severity: i.default_severity.as_str().into(),
                auto_resolve: i.auto_resolve,
                created_at: format_ms(i.created_at),
            })
            .collect(),
    ))
}

/// Creates an alert integration and its secret webhook address.
#[utoipa::path(post, path = "/api/v1/projects/{project}/integrations", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = NewIntegrationBody,
    responses((status = 201, description = "The integration", body = CreatedIntegration)))]
pub async fn create_integration(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<NewIntegrationBody>,
) -> ApiResult<(StatusCode, Json<CreatedIntegration>)> {
    let name = text("name", &body.name, 100)?;
    let kind: IntegrationKind = body.kind.parse().map_err(ApiError::unprocessable)?;
    let policy_id = match body.policy.as_deref() {
        Some(p) => Some(named_policy(&state, &access, p).await?.id),
        None => None,
    };
    let component_id = match body.component.as_deref() {
        Some(c) => Some(named_component(&state, &access, c).await?.id),
        None => None,
    };
    let default_severity: Severity = body
        .default_severity
        .as_deref()
        .unwrap_or("sev3")
        .parse()
        .map_err(unprocessable)?;
    let secret = format!("lo_alert_{}", keys::random_string(40));
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    let i = liveops_store::support::intake::insert_integration(
        &mut *tx,
        &NewIntegration {
            project_id: &access.project.id,
            name: &name,
            kind,
            secret_hash: &keys::hash(&secret),
            policy_id: policy_id.as_deref(),
            component_id: component_id.as_deref(),
            default_severity,
            auto_resolve: body.auto_resolve.unwrap_or(true),
        },
        now,
    )
    .await?;
    w.commit(
        Audit::new("integration.create", &name).detail(serde_json::json!({"kind": kind.as_str()})),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedIntegration {
            url_path: format!("/ingest/alerts/{secret}"),
            secret,
            integration: IntegrationView {
                id: i.id,
                name: i.name,
                kind: i.kind.as_str().into(),
                default_severity: i.default_severity.as_str().into(),
                auto_resolve: i.auto_resolve,
                created_at: format_ms(i.created_at),
            },
        }),
    ))
}

// ---------------------------------------------------------------- notifications

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHook {
    /// webhook (liveops JSON) or slack (incoming-webhook shape).
    pub kind: String,
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HookView {
    pub id: String,
    pub kind: String,
    pub url: String,
}

/// A URL notifications may go to: http or https, and outside the internal
/// ranges the outbound client refuses (unless `outbound_allow` lists it).
pub(crate) async fn check_url(state: &AppState, url: &str) -> ApiResult<String> {
    state
        .outbound
        .policy()
        .check_url(url)
        .await
        .map(|u| u.to_string())
        .map_err(|e| ApiError::unprocessable(format!("this URL cannot receive notifications: {e}")))
}

/// The project's outgoing webhooks for incident events.
#[utoipa::path(get, path = "/api/v1/projects/{project}/hooks", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Hooks", body = Vec<HookView>)))]
pub async fn list_hooks(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
) -> ApiResult<Json<Vec<HookView>>> {
    Ok(Json(
        state
            .db
            .hooks(&access.project.id)
            .await?
            .into_iter()
            .map(|h| HookView {
                id: h.id,
                kind: h.channel.as_str().into(),
                url: state.sealer.shown(&h.url),
            })
            .collect(),
    ))
}

/// Adds an outgoing webhook for incident events.
#[utoipa::path(post, path = "/api/v1/projects/{project}/hooks", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = NewHook,
    responses((status = 201, description = "The hook", body = HookView)))]
pub async fn create_hook(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<NewHook>,
) -> ApiResult<(StatusCode, Json<HookView>)> {
    let channel: Channel = body.kind.parse().map_err(ApiError::unprocessable)?;
    if channel == Channel::Email {
        return Err(ApiError::unprocessable("a hook is a webhook or slack URL"));
    }
    let url = check_url(&state, &body.url).await?;
    let shown = crate::sealed::redact(&url);
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    let id = liveops_store::support::notify::insert_hook(
        &mut *tx,
        &access.project.id,
        channel,
        &state.sealer.seal(&url),
        now,
    )
    .await?;
    w.commit(Audit::new("hook.create", &shown)).await?;
    Ok((
        StatusCode::CREATED,
        Json(HookView {
            id,
            kind: channel.as_str().into(),
            url: shown,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    /// email, webhook or slack.
    pub kind: String,
    /// An e-mail address or a URL.
    pub address: String,
    /// Notify through it for incidents at least this severe (sev4 = all); sev4 by default.
    pub min_severity: Option<String>,
    /// Wait this long after being paged before using it; 0 by default.
    pub delay_secs: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactRuleView {
    pub id: String,
    pub kind: String,
    pub address: String,
    pub min_severity: String,
    pub delay_secs: i64,
}

/// Your notification rules: how and when liveops reaches you.
#[utoipa::path(get, path = "/api/v1/me/notification-rules", tag = "support",
    responses((status = 200, description = "Rules", body = Vec<ContactRuleView>)))]
pub async fn list_rules(
    State(state): State<AppState>,
    // Rules reach across every project a person is on call for.
    InstanceWide(principal): InstanceWide,
) -> ApiResult<Json<Vec<ContactRuleView>>> {
    Ok(Json(
        state
            .db
            .rules_of(&principal.user.id)
            .await?
            .into_iter()
            .map(|r| ContactRuleView {
                id: r.id,
                kind: r.contact.channel.as_str().into(),
                address: state.sealer.shown(&r.contact.address),
                min_severity: r.min_severity.as_str().into(),
                delay_secs: r.delay_secs,
            })
            .collect(),
    ))
}

/// Adds a contact method with its notification rule.
#[utoipa::path(post, path = "/api/v1/me/notification-rules", tag = "support",
    request_body = NewContact,
    responses((status = 201, description = "The rule", body = ContactRuleView)))]
pub async fn create_rule(
    State(state): State<AppState>,
    // Rules reach across every project a person is on call for.
    InstanceWide(principal): InstanceWide,
    ApiJson(body): ApiJson<NewContact>,
) -> ApiResult<(StatusCode, Json<ContactRuleView>)> {
    if principal
        .scopes()
        .is_some_and(|s| !s.contains(liveops_core::Scope::Write))
    {
        return Err(ApiError::forbidden(
            "this API token lacks the `write` scope",
        ));
    }
    let channel: Channel = body.kind.parse().map_err(ApiError::unprocessable)?;
    let address = match channel {
        Channel::Email => liveops_core::Email::parse(&body.address)
            .map_err(unprocessable)?
            .to_string(),
        Channel::Webhook | Channel::Slack => check_url(&state, &body.address).await?,
    };
    let min: Severity = body
        .min_severity
        .as_deref()
        .unwrap_or("sev4")
        .parse()
        .map_err(unprocessable)?;
    let delay = body.delay_secs.unwrap_or(0);
    if !(0..=86_400).contains(&delay) {
        return Err(ApiError::unprocessable(
            "delay_secs must be between 0 and 86400",
        ));
    }
    let mut w = Work::begin(&state.db, &*state.clock, &principal.actor(), None).await?;
    let now = w.now();
    let stored = match channel {
        Channel::Email => address.clone(),
        Channel::Webhook | Channel::Slack => state.sealer.seal(&address),
    };
    let contact = liveops_store::support::notify::insert_contact(
        w.conn(),
        &principal.user.id,
        channel,
        &stored,
        now,
    )
    .await?;
    let id = liveops_store::support::notify::insert_rule(
        w.conn(),
        &principal.user.id,
        &contact,
        min,
        delay,
    )
    .await?;
    w.commit(
        Audit::new("notification_rule.create", &id).detail(serde_json::json!({
            "channel": channel.as_str(), "min_severity": min.as_str(), "delay_secs": delay,
        })),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ContactRuleView {
            id,
            kind: channel.as_str().into(),
            address,
            min_severity: min.as_str().into(),
            delay_secs: delay,
        }),
    ))
}

// ---------------------------------------------------------------- incidents

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    pub number: i64,
    pub title: String,
    /// sev1 (worst) to sev4.
    pub severity: String,
    /// triggered, acknowledged or resolved.
    pub state: String,
    /// The public stage: investigating, identified, monitoring or resolved.
    pub stage: String,
    pub assignee: Option<String>,
    pub commander: Option<String>,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub resolved_at: Option<String>,
    /// The escalation step that runs next, from 0.
    pub escalation_step: i64,
    /// When it runs; absent when escalation is stopped.
    pub escalation_due_at: Option<String>,
}

async fn incident_view(state: &AppState, i: &IncidentRow) -> ApiResult<IncidentView> {
    let assignee = match &i.assignee_id {
        Some(u) => Some(email_of(state, u).await?),
        None => None,
    };
    let commander = match &i.commander_id {
        Some(u) => Some(email_of(state, u).await?),
        None => None,
    };
    Ok(IncidentView {
        number: i.number,
        title: i.title.clone(),
        severity: i.severity.as_str().into(),
        state: i.state.as_str().into(),
        stage: i.stage.as_str().into(),
        assignee,
        commander,
        created_at: format_ms(i.created_at),
        acknowledged_at: i.acknowledged_at.map(format_ms),
        resolved_at: i.resolved_at.map(format_ms),
        escalation_step: i.esc_step,
        escalation_due_at: i.esc_next_at.map(format_ms),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    /// `open` for triggered and acknowledged only.
    pub state: Option<String>,
    /// At most this many, 1 to 500; 100 by default.
    pub limit: Option<i64>,
}

impl IncidentQuery {
    /// Whether to list only open records, and how many at most.
    fn parse(&self) -> ApiResult<(bool, i64)> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(ApiError::bad_request("limit must be between 1 and 500"));
        }
        let open_only = match self.state.as_deref() {
            None | Some("all") => false,
            Some("open") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "state `{other}`: use open or all"
                )));
            }
        };
        Ok((open_only, limit))
    }
}

/// Incidents, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/incidents", tag = "support",
    params(("project" = String, Path, description = "Project slug"), IncidentQuery),
    responses((status = 200, description = "Incidents", body = Vec<IncidentView>)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<IncidentQuery>,
) -> ApiResult<Json<Vec<IncidentView>>> {
    let (open_only, limit) = q.parse()?;
    let mut out = Vec::new();
    for i in state
        .db
        .incidents(&access.project.id, open_only, None, None, limit)
        .await?
    {
        out.push(incident_view(&state, &i).await?);
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncidentBody {
    pub title: String,
    /// sev1 to sev4; sev3 by default.
    pub severity: Option<String>,
    /// Escalation policy, by id or name.
    pub policy: Option<String>,
    pub assignee: Option<String>,
    pub commander: Option<String>,
    #[serde(default)]
    pub services: Vec<String>,
    /// Status-page components (ids or names) affected.
    #[serde(default)]
    pub components: Vec<String>,
    /// What is known so far.
    pub description: Option<String>,
}

/// Opens an incident by hand.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = NewIncidentBody,
    responses((status = 201, description = "The incident", body = IncidentView)))]
pub async fn create_incident(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<NewIncidentBody>,
) -> ApiResult<(StatusCode, Json<IncidentView>)> {
    let title = text("title", &body.title, 200)?;
    let severity: Severity = body
        .severity
        .as_deref()
        .unwrap_or("sev3")
        .parse()
        .map_err(unprocessable)?;
    let policy_id = match body.policy.as_deref() {
        Some(p) => Some(named_policy(&state, &access, p).await?.id),
        None => None,
    };
    let assignee = match body.assignee.as_deref() {
        Some(e) => Some(member_id(&state, &access, e).await?),
        None => None,
    };
    let commander = match body.commander.as_deref() {
        Some(e) => Some(member_id(&state, &access, e).await?),
        None => None,
    };
    let services = body
        .services
        .iter()
        .map(|s| text("services", s, 100))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut components = Vec::new();
    for c in &body.components {
        components.push(named_component(&state, &access, c).await?.id);
    }
    let description = body
        .description
        .as_deref()
        .map(|d| text("description", d, 5000))
        .transpose()?;
    let incident = service::open_incident(
        &state,
        &access.actor(),
        &access.project.id,
        &ManualIncident {
            title: &title,
            severity,
            policy_id: policy_id.as_deref(),
            assignee_id: assignee.as_deref(),
            commander_id: commander.as_deref(),
            services: &services,
            components: &components,
            body: description.as_deref(),
        },
    )
    .await?;
    if incident.policy_id.is_some() {
        service::run_step(&state, &incident).await?;
    }
    let fresh = state
        .db
        .incident_by_number(&access.project.id, incident.number)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(incident_view(&state, &fresh).await?),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub at: String,
    pub actor: String,
    /// triggered, acknowledged, notified, escalated, note, investigating, …, resolved.
    pub kind: String,
    pub body: Option<String>,
    /// Shown on the public status page.
    pub public: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub channel: String,
    pub target: String,
    /// pending, sent or failed.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    /// ticket, release, deployment or hotfix.
    pub kind: String,
    pub target: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    pub fingerprint: String,
    pub status: String,
    pub summary: String,
    pub labels: String,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    pub incident: IncidentView,
    pub services: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
    pub alerts: Vec<AlertView>,
    pub links: Vec<LinkView>,
    /// Every notification sent or queued for the incident.
    pub deliveries: Vec<DeliveryView>,
}

/// One incident with its timeline, alerts, links and deliveries.
#[utoipa::path(get, path = "/api/v1/projects/{project}/incidents/{number}", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    responses((status = 200, description = "The incident", body = IncidentDetail)))]
pub async fn get_incident(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<IncidentDetail>> {
    let i = service::find_incident(&state, &access.project.id, &number).await?;
    Ok(Json(incident_detail(&state, &i).await?))
}

pub(crate) async fn incident_detail(
    state: &AppState,
    i: &IncidentRow,
) -> ApiResult<IncidentDetail> {
    Ok(IncidentDetail {
        incident: incident_view(state, i).await?,
        services: state.db.incident_services(&i.id).await?,
        timeline: state
            .db
            .incident_events(&i.id)
            .await?
            .into_iter()
            .map(|e| TimelineEntry {
                at: format_ms(e.at),
                actor: e.actor,
                kind: e.kind,
                body: e.body,
                public: e.public,
            })
            .collect(),
        alerts: state
            .db
            .incident_alerts(&i.id)
            .await?
            .into_iter()
            .map(|a| AlertView {
                fingerprint: a.fingerprint,
                status: a.status,
                summary: a.summary,
                labels: a.labels,
                first_seen: format_ms(a.first_seen),
                last_seen: format_ms(a.last_seen),
            })
            .collect(),
        links: state
            .db
            .incident_links(&i.id)
            .await?
            .into_iter()
            .map(|l| LinkView {
                kind: l.kind,
                target: l.target_id,
            })
            .collect(),
        deliveries: state
            .db
            .deliveries_for_incident(&i.id)
            .await?
            .into_iter()
            .map(|d| DeliveryView {
                channel: d.channel.as_str().into(),
                target: state.sealer.shown(&d.target),
                state: d.state,
                attempts: d.attempts,
                last_error: d.last_error,
                created_at: format_ms(d.created_at),
                sent_at: d.sent_at.map(format_ms),
            })
            .collect(),
    })
}

async fn after_action(
    state: &AppState,
    access: &ProjectAccess,
    i: &IncidentRow,
) -> ApiResult<Json<IncidentView>> {
    let fresh = state
        .db
        .incident_by_number(&access.project.id, i.number)
        .await?;
    Ok(Json(incident_view(state, &fresh).await?))
}

/// Acknowledges an incident: escalation stops.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/acknowledge", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    responses((status = 200, description = "The incident", body = IncidentView)))]
pub async fn acknowledge_incident(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<IncidentView>> {
    let i = service::find_incident(&state, &access.project.id, &number).await?;
    let timeout = match &i.policy_id {
        Some(p) => state
            .db
            .policy(&access.project.id, p)
            .await
            .ok()
            .and_then(|p| p.ack_timeout_secs),
        None => None,
    };
    service::acknowledge(&state, &access.actor(), &i, timeout).await?;
    after_action(&state, &access, &i).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// What happened, for the timeline (and the status page for updates).
    pub body: Option<String>,
    /// A public stage: investigating, identified, monitoring or resolved.
    pub stage: Option<String>,
}

/// Resolves an incident.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/resolve", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    responses((status = 200, description = "The incident", body = IncidentView)))]
pub async fn resolve_incident(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<IncidentView>> {
    let i = service::find_incident(&state, &access.project.id, &number).await?;
    service::resolve(&state, &access.actor(), &i, None).await?;
    after_action(&state, &access, &i).await
}

/// Escalates an incident to the next level of its policy now.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/escalate", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    responses((status = 200, description = "The incident", body = IncidentView)))]
pub async fn escalate_incident(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<IncidentView>> {
    let i = service::find_incident(&state, &access.project.id, &number).await?;
    service::escalate(&state, &access.actor(), &i).await?;
    after_action(&state, &access, &i).await
}

/// Adds a note, or a public status update when `stage` is given.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/updates", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = NoteBody,
    responses((status = 200, description = "The incident", body = IncidentView)))]
pub async fn add_incident_update(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<NoteBody>,
) -> ApiResult<Json<IncidentView>> {
    let i = service::find_incident(&state, &access.project.id, &number).await?;
    let text_body = text("body", body.body.as_deref().unwrap_or(""), 5000)?;
    let stage: Option<StatusStage> = body
        .stage
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(unprocessable)?;
    service::add_update(&state, &access.actor(), &i, &text_body, stage).await?;
    after_action(&state, &access, &i).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// ticket, release or deployment.
    pub kind: String,
    /// The other end: a ticket number, a release version, a deployment id.
    pub target: String,
}

/// Links an incident to a ticket, release or deployment.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/links", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = LinkBody,
    responses((status = 200, description = "The incident", body = IncidentView)))]
pub async fn link_incident(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<LinkBody>,
) -> ApiResult<Json<IncidentView>> {
    let i = service::find_incident(&state, &access.project.id, &number).await?;
    if !matches!(body.kind.as_str(), "ticket" | "release" | "deployment") {
        return Err(ApiError::unprocessable(
            "kind must be ticket, release or deployment",
        ));
    }
    let target = text("target", &body.target, 100)?;
    // A deployment of another project would count in that project's DORA
    // numbers (and tell its id exists): only this project's are linked.
    if body.kind == "deployment" && !state.db.has_deployment(&access.project.id, &target).await? {
        return Err(ApiError::unprocessable(format!(
            "no deployment `{target}` in this project"
        )));
    }
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    if body.kind == "ticket" {
        let n: i64 = target
            .trim_start_matches('#')
            .parse()
            .map_err(|_| ApiError::unprocessable("a ticket is linked by its number"))?;
        let t = match state.db.ticket_by_number(&access.project.id, n).await {
            Ok(t) => t,
            Err(StoreError::NotFound) => {
                return Err(ApiError::unprocessable(format!("no ticket #{n}")));
            }
            Err(e) => return Err(e.into()),
        };
        liveops_store::support::tickets::link_incident(&mut *tx, &t.id, Some(&i.id)).await?;
    }
    liveops_store::support::incidents::add_link(&mut *tx, &i.id, &body.kind, &target, now).await?;
    liveops_store::support::incidents::add_event(
        &mut *tx,
        &i.id,
        &access.actor().name,
        "linked",
        Some(&format!("{} {target}", body.kind)),
        false,
        now,
    )
    .await?;
    w.commit(
        Audit::new("incident.link", i.number.to_string())
            .detail(serde_json::json!({"kind": body.kind, "target": target})),
    )
    .await?;
    after_action(&state, &access, &i).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HotfixBody {
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HotfixView {
    pub id: String,
    pub incident: i64,
    pub reason: String,
    /// requested until release planning takes it up.
    pub state: String,
}

/// Requests a hotfix (patch release) for an incident, for release planning to pick up.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/hotfix", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = HotfixBody,
    responses((status = 201, description = "The request", body = HotfixView)))]
pub async fn request_hotfix(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<HotfixBody>,
) -> ApiResult<(StatusCode, Json<HotfixView>)> {
    let i = service::find_incident(&state, &access.project.id, &number).await?;
    let reason = text("reason", &body.reason, 2000)?;
    let now = state.now_ms();
    let id = liveops_store::new_id();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    sqlx_insert_hotfix(
        &mut *tx,
        &id,
        &access.project.id,
        &i.id,
        &access.actor().name,
        &reason,
        now,
    )
    .await?;
    liveops_store::support::incidents::add_link(&mut *tx, &i.id, "hotfix", &id, now).await?;
    liveops_store::support::incidents::add_event(
        &mut *tx,
        &i.id,
        &access.actor().name,
        "hotfix_requested",
        Some(&reason),
        false,
        now,
    )
    .await?;
    w.commit(Audit::new("incident.hotfix", i.number.to_string()))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(HotfixView {
            id,
            incident: i.number,
            reason,
            state: "requested".into(),
        }),
    ))
}

async fn sqlx_insert_hotfix(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    project_id: &str,
    incident_id: &str,
    by: &str,
    reason: &str,
    now: i64,
) -> ApiResult<()> {
    liveops_store::support::incidents::insert_hotfix(
        conn,
        id,
        project_id,
        incident_id,
        by,
        reason,
        now,
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- tickets

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    pub number: i64,
    pub subject: String,
    pub requester: String,
    /// l1, l2 or l3.
    pub tier: String,
    /// urgent, high, normal or low.
    pub priority: String,
    /// open, pending, solved or closed.
    pub status: String,
    /// api, web or email.
    pub source: String,
    pub incident: Option<i64>,
    pub created_at: String,
    pub first_response_due: String,
    pub resolution_due: String,
    pub first_response_at: Option<String>,
    pub resolved_at: Option<String>,
    /// met, breached, at_risk or on_track.
    pub first_response_sla: String,
    pub resolution_sla: String,
}

async fn ticket_view(state: &AppState, t: &Ticket) -> ApiResult<TicketView> {
    let (fr, res) = tickets::standings(t, state.now_ms());
    let incident = match &t.incident_id {
        Some(id) => {
            let mut conn = state.db.pool().acquire().await.map_err(StoreError::from)?;
            Some(
                liveops_store::support::incidents::get(&mut conn, id)
                    .await?
                    .number,
            )
        }
        None => None,
    };
    Ok(TicketView {
        number: t.number,
        subject: t.subject.clone(),
        requester: t.requester.clone(),
        tier: t.tier.as_str().into(),
        priority: t.priority.as_str().into(),
        status: t.status.clone(),
        source: t.source.clone(),
        incident,
        created_at: format_ms(t.created_at),
        first_response_due: format_ms(t.first_response_due),
        resolution_due: format_ms(t.resolution_due),
        first_response_at: t.first_response_at.map(format_ms),
        resolved_at: t.resolved_at.map(format_ms),
        first_response_sla: fr.as_str().into(),
        resolution_sla: res.as_str().into(),
    })
}

/// Tickets, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/tickets", tag = "support",
    params(("project" = String, Path, description = "Project slug"), IncidentQuery),
    responses((status = 200, description = "Tickets", body = Vec<TicketView>)))]
pub async fn list_tickets(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<IncidentQuery>,
) -> ApiResult<Json<Vec<TicketView>>> {
    let (open_only, limit) = q.parse()?;
    let mut out = Vec::new();
    for t in state
        .db
        .tickets(&access.project.id, open_only, None, None, limit)
        .await?
    {
        out.push(ticket_view(&state, &t).await?);
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketBody {
    pub subject: String,
    /// The customer's e-mail address.
    pub requester: String,
    /// The first message.
    pub body: String,
    /// urgent, high, normal (default) or low.
    pub priority: Option<String>,
    /// l1 (default), l2 or l3.
    pub tier: Option<String>,
    /// First-response target in seconds; the priority's default otherwise.
    pub first_response_secs: Option<i64>,
    /// Resolution target in seconds; the priority's default otherwise.
    pub resolution_secs: Option<i64>,
}

/// Opens a support ticket.
#[utoipa::path(post, path = "/api/v1/projects/{project}/tickets", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = NewTicketBody,
    responses((status = 201, description = "The ticket", body = TicketView)))]
pub async fn create_ticket(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<NewTicketBody>,
) -> ApiResult<(StatusCode, Json<TicketView>)> {
    let req = TicketRequest::parse(&TicketFields {
        subject: &body.subject,
        requester: &body.requester,
        body: &body.body,
        priority: body.priority.as_deref(),
        tier: body.tier.as_deref(),
        first_response_secs: body.first_response_secs,
        resolution_secs: body.resolution_secs,
    })
    .map_err(ApiError::unprocessable)?;
    let t = tickets::open(&state, &access.project.id, &access.actor(), &req, "api").await?;
    Ok((StatusCode::CREATED, Json(ticket_view(&state, &t).await?)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    pub at: String,
    pub author: String,
    /// A reply the requester sees, or an internal note.
    pub public: bool,
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaAlertView {
    /// first_response or resolution.
    pub target: String,
    /// at_risk or breached.
    pub level: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDetail {
    pub ticket: TicketView,
    pub comments: Vec<CommentView>,
    /// Releases that fixed the ticket.
    pub fixed_in: Vec<String>,
    /// SLA warnings and breaches announced so far.
    pub sla_alerts: Vec<SlaAlertView>,
}

async fn find_ticket(state: &AppState, access: &ProjectAccess, number: &str) -> ApiResult<Ticket> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::not_found(format!("no ticket #{number}")))?;
    state
        .db
        .ticket_by_number(&access.project.id, n)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(format!("no ticket #{n}")),
            e => e.into(),
        })
}

async fn ticket_detail(state: &AppState, t: &Ticket) -> ApiResult<TicketDetail> {
    Ok(TicketDetail {
        ticket: ticket_view(state, t).await?,
        comments: state
            .db
            .ticket_comments(&t.id)
            .await?
            .into_iter()
            .map(|c| CommentView {
                at: format_ms(c.at),
                author: c.author,
                public: c.public,
                body: c.body,
            })
            .collect(),
        fixed_in: state
            .db
            .ticket_links(&t.id)
            .await?
            .into_iter()
            .filter(|(kind, _)| kind == "release")
            .map(|(_, target)| target)
            .collect(),
        sla_alerts: state
            .db
            .sla_alerts(&t.id)
            .await?
            .into_iter()
            .map(|(target, level, at)| SlaAlertView {
                target,
                level,
                at: format_ms(at),
            })
            .collect(),
    })
}

/// One ticket with its conversation.
#[utoipa::path(get, path = "/api/v1/projects/{project}/tickets/{number}", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Ticket number")),
    responses((status = 200, description = "The ticket", body = TicketDetail)))]
pub async fn get_ticket(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<TicketDetail>> {
    let t = find_ticket(&state, &access, &number).await?;
    Ok(Json(ticket_detail(&state, &t).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketAction {
    /// reply, note, escalate, solve, close, reopen, link or fixed_in.
    pub action: String,
    /// The text of a reply or note.
    pub body: Option<String>,
    /// For `link`: the incident number.
    pub incident: Option<i64>,
    /// For `fixed_in`: the release (version or id) that fixed the ticket.
    pub release: Option<String>,
}

/// Replies, notes, escalates to the next tier, solves, closes, reopens, links
/// a ticket to an incident, or records the release that fixed it.
#[utoipa::path(post, path = "/api/v1/projects/{project}/tickets/{number}/actions", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Ticket number")),
    request_body = TicketAction,
    responses((status = 200, description = "The ticket", body = TicketDetail)))]
pub async fn ticket_action(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<TicketAction>,
) -> ApiResult<Json<TicketDetail>> {
    let t = find_ticket(&state, &access, &number).await?;
    let op = TicketOp::parse(
        &body.action,
        body.body.as_deref(),
        body.incident,
        body.release.as_deref(),
    )
    .map_err(ApiError::unprocessable)?;
    tickets::apply(&state, &access.actor(), &t, &op).await?;
    let fresh = state
        .db
        .ticket_by_number(&access.project.id, t.number)
        .await?;
    Ok(Json(ticket_detail(&state, &fresh).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FixesView {
    pub release: String,
    pub incidents: Vec<IncidentSummary>,
    pub tickets: Vec<TicketView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentSummary {
    pub number: i64,
    pub title: String,
    pub severity: String,
    pub state: String,
}

/// The incidents and tickets a release fixed: the other end of their release links.
#[utoipa::path(get, path = "/api/v1/projects/{project}/releases/{release}/fixes", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("release" = String, Path, description = "Release version or id")),
    responses((status = 200, description = "What the release fixed", body = FixesView)))]
pub async fn release_fixes(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, release)): ApiPath<(String, String)>,
) -> ApiResult<Json<FixesView>> {
    let incidents = state
        .db
        .incidents_linked_to(&access.project.id, "release", &release)
        .await?
        .into_iter()
        .map(|i| IncidentSummary {
            number: i.number,
            title: i.title,
            severity: i.severity.as_str().into(),
            state: i.state.as_str().into(),
        })
        .collect();
    let mut tickets = Vec::new();
    for t in state
        .db
        .tickets_linked_to(&access.project.id, "release", &release)
        .await?
    {
        tickets.push(ticket_view(&state, &t).await?);
    }
    Ok(Json(FixesView {
        release,
        incidents,
        tickets,
    }))
}

// ---------------------------------------------------------------- stats

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Start of the range (RFC 3339); 30 days ago by default.
    pub from: Option<String>,
    /// End of the range (RFC 3339); now by default.
    pub to: Option<String>,
}

/// MTTA and MTTR by severity, and ticket SLA attainment, over a time range.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/stats", tag = "support",
    params(("project" = String, Path, description = "Project slug"), RangeQuery),
    responses((status = 200, description = "Statistics", body = crate::support::stats::SupportStats)))]
pub async fn support_stats(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<crate::support::stats::SupportStats>> {
    let now = state.now_ms();
    let to =
        q.to.as_deref()
            .map(|t| parse_time("to", t))
            .transpose()?
            .unwrap_or(now);
    let from = q
        .from
        .as_deref()
        .map(|t| parse_time("from", t))
        .transpose()?
        .unwrap_or(to - 30 * 86_400_000);
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`"));
    }
    Ok(Json(
        crate::support::stats::stats(&state, &access.project.id, from, to).await?,
    ))
}

// ---------------------------------------------------------------- calendars

/// The schedule's final on-call shifts as an iCalendar feed. Calendar apps
/// that cannot send a token subscribe to a feed URL instead
/// (`POST …/calendar-feeds`).
#[utoipa::path(get, path = "/api/v1/projects/{project}/schedules/{schedule}/calendar.ics", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("schedule" = String, Path, description = "Schedule id or name"), CalendarQuery),
    responses((status = 200, description = "iCalendar", content_type = "text/calendar", body = String)))]
pub async fn schedule_calendar(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, schedule)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<CalendarQuery>,
) -> ApiResult<axum::response::Response> {
    super::feeds::schedule_ics(&state, &access.project.id, &schedule, q.days).await
}

/// One person's on-call shifts across every schedule of the project.
#[utoipa::path(get, path = "/api/v1/projects/{project}/oncall/calendar.ics", tag = "support",
    params(("project" = String, Path, description = "Project slug"), CalendarQuery),
    responses((status = 200, description = "iCalendar", content_type = "text/calendar", body = String)))]
pub async fn user_calendar(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<CalendarQuery>,
) -> ApiResult<axum::response::Response> {
    let principal = &access.principal;
    let user_id = match q.user.as_deref() {
        Some(e) => member_id(&state, &access, e).await?,
        None => principal.user.id.clone(),
    };
    super::feeds::oncall_ics(&state, &access.project.id, &user_id, q.days).await
}

// ---------------------------------------------------------------- maintenance

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMaintenanceBody {
    pub title: String,
    pub body: Option<String>,
    /// RFC 3339.
    pub starts_at: String,
    /// RFC 3339, after `starts_at`.
    pub ends_at: String,
    /// Affected components, by id or name.
    #[serde(default)]
    pub components: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceView {
    pub id: String,
    pub title: String,
    /// scheduled, in_progress, verifying or completed.
    pub status: String,
    pub starts_at: String,
    pub ends_at: String,
    pub components: Vec<String>,
}

async fn maintenance_view(
    state: &AppState,
    project_id: &str,
    m: liveops_store::support::status::Maintenance,
) -> ApiResult<MaintenanceView> {
    let names: std::collections::HashMap<String, String> = state
        .db
        .components(project_id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    Ok(MaintenanceView {
        status: m.state.as_str().into(),
        starts_at: format_ms(m.starts_at),
        ends_at: format_ms(m.ends_at),
        components: m
            .components
            .iter()
            .filter_map(|c| names.get(c).cloned())
            .collect(),
        id: m.id,
        title: m.title,
    })
}

/// Maintenance windows, latest start first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/maintenances", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Maintenance windows", body = Vec<MaintenanceView>)))]
pub async fn list_maintenances(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<MaintenanceView>>> {
    let mut out = Vec::new();
    for m in state.db.all_maintenances(&access.project.id, 100).await? {
        out.push(maintenance_view(&state, &access.project.id, m).await?);
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceStatusBody {
    /// in_progress, verifying or completed; stages only move forward.
    pub status: String,
    /// A message for subscribers.
    pub body: Option<String>,
}

/// Moves a maintenance window to its next stage by hand: its components go
/// under maintenance while it runs, come back when it completes, and
/// subscribers are told. The clock also starts and completes windows.
#[utoipa::path(post, path = "/api/v1/projects/{project}/maintenances/{id}/status", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("id" = String, Path, description = "Maintenance window id")),
    request_body = MaintenanceStatusBody,
    responses((status = 200, description = "The maintenance window", body = MaintenanceView)))]
pub async fn move_maintenance(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<MaintenanceStatusBody>,
) -> ApiResult<Json<MaintenanceView>> {
    let to: MaintenanceState = body.status.parse().map_err(unprocessable)?;
    let note = body
        .body
        .as_deref()
        .map(|b| text("body", b, 5000))
        .transpose()?;
    let m = state
        .db
        .maintenance(&access.project.id, &id)
        .await
        .map_err(or_missing(ApiError::not_found(format!(
            "no maintenance window `{id}`"
        ))))?;
    crate::support::maintenance::move_to(&state, &access.actor(), &m, to, note.as_deref()).await?;
    let fresh = state.db.maintenance(&access.project.id, &id).await?;
    Ok(Json(
        maintenance_view(&state, &access.project.id, fresh).await?,
    ))
}

/// Schedules a maintenance window; it shows on the status page until it ends.
#[utoipa::path(post, path = "/api/v1/projects/{project}/maintenances", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = NewMaintenanceBody,
    responses((status = 201, description = "The maintenance window", body = MaintenanceView)))]
pub async fn create_maintenance(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<NewMaintenanceBody>,
) -> ApiResult<(StatusCode, Json<MaintenanceView>)> {
    let title = text("title", &body.title, 200)?;
    let note = body
        .body
        .as_deref()
        .map(|b| text("body", b, 5000))
        .transpose()?;
    let starts_at = parse_time("starts_at", &body.starts_at)?;
    let ends_at = parse_time("ends_at", &body.ends_at)?;
    if ends_at <= starts_at {
        return Err(ApiError::unprocessable(
            "a maintenance window must end after it starts",
        ));
    }
    let mut components = Vec::new();
    for c in &body.components {
        components.push(named_component(&state, &access, c).await?);
    }
    let ids: Vec<String> = components.iter().map(|c| c.id.clone()).collect();
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    let id = liveops_store::support::status::insert_maintenance(
        &mut *tx,
        &liveops_store::support::status::NewMaintenance {
            project_id: &access.project.id,
            title: &title,
            body: note.as_deref(),
            starts_at,
            ends_at,
            components: &ids,
        },
        now,
    )
    .await?;
    w.commit(Audit::new("maintenance.schedule", &title)).await?;
    Ok((
        StatusCode::CREATED,
        Json(MaintenanceView {
            id,
            title,
            status: MaintenanceState::Scheduled.as_str().into(),
            starts_at: format_ms(starts_at),
            ends_at: format_ms(ends_at),
            components: components.into_iter().map(|c| c.name).collect(),
        }),
    ))
}
