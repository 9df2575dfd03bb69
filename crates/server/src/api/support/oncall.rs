//! Who is on call: schedules and overrides, tiers, escalation policies, and
//! the schedules as iCalendar feeds.

use super::*;

// ---------------------------------------------------------------- schedules

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub name: String,
    /// An IANA time zone such as `Europe/Berlin`.
    pub time_zone: String,
    /// Layers, lowest first; higher layers win.
    pub layers: Vec<LayerBody>,
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
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/schedules", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/schedules", tag = "support",
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
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/schedules/{schedule}", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/schedules/{schedule}/overrides", tag = "support",
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
    crate::support::overrides::add(
        &state,
        &access.actor(),
        &access.project.id,
        &schedule,
        &body.user,
        &body.start,
        &body.end,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(schedule_view(&state, &access.project.id, &schedule).await?),
    ))
}

/// Takes an override out of a schedule.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/support/schedules/{schedule}/overrides/{id}", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("schedule" = String, Path, description = "Schedule id or name"),
           ("id" = String, Path, description = "Override id")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_override(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, schedule, id)): ApiPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    crate::support::overrides::remove(&state, &access.actor(), &access.project.id, &schedule, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// An RFC 3339 time; now when left out.
    pub at: Option<String>,
}

/// Who is on call at a time, per schedule and per support tier.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/oncall", tag = "support",
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

/// The support tiers L1, L2 and L3.
#[utoipa::path(get, path = "/api/v1/projects/{project}/scaling/tiers", tag = "support",
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
#[utoipa::path(put, path = "/api/v1/projects/{project}/scaling/tiers/{tier}", tag = "support",
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

async fn policy_view(
    state: &AppState,
    project_id: &str,
    row: liveops_store::support::oncall::PolicyRow,
) -> ApiResult<PolicyView> {
    let mut levels = Vec::new();
    for l in &row.levels {
        let mut notify = Vec::new();
        for t in &l.targets {
            notify.push(match t {
                StoredTarget::User(u) => format!("user:{}", email_of(state, u).await?),
                // By name, as it was given; a schedule since deleted by its id.
                StoredTarget::Schedule(s) => match state.db.schedule(project_id, s).await {
                    Ok(found) => format!("schedule:{}", found.row.name),
                    Err(StoreError::NotFound) => format!("schedule:{s}"),
                    Err(e) => return Err(e.into()),
                },
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
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/policies", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Policies", body = Vec<PolicyView>)))]
pub async fn list_policies(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<PolicyView>>> {
    let mut out = Vec::new();
    for p in state.db.policies(&access.project.id).await? {
        out.push(policy_view(&state, &access.project.id, p).await?);
    }
    Ok(Json(out))
}

/// Creates an escalation policy.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/policies", tag = "support",
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
    Ok((
        StatusCode::CREATED,
        Json(policy_view(&state, &access.project.id, row).await?),
    ))
}

// ---------------------------------------------------------------- calendars

/// The schedule's final on-call shifts as an iCalendar feed. Calendar apps
/// that cannot send a token subscribe to a feed URL instead
/// (`POST …/calendar-feeds`).
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/schedules/{schedule}/calendar.ics", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("schedule" = String, Path, description = "Schedule id or name"), CalendarQuery),
    responses((status = 200, description = "iCalendar", content_type = "text/calendar", body = String)))]
pub async fn schedule_calendar(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, schedule)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<CalendarQuery>,
) -> ApiResult<axum::response::Response> {
    crate::api::feeds::schedule_ics(&state, &access.project.id, &schedule, q.days).await
}

/// One person's on-call shifts across every schedule of the project.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/oncall/calendar.ics", tag = "support",
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
    crate::api::feeds::oncall_ics(&state, &access.project.id, &user_id, q.days).await
}
