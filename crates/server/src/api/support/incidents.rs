//! Incidents: opening, acknowledging, escalating, resolving, updates, links
//! to deployments and tickets, and hotfix requests.

use super::*;

// ---------------------------------------------------------------- incidents

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
    pub(super) fn parse(&self) -> ApiResult<(bool, i64)> {
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
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/incidents", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents", tag = "support",
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

/// One incident with its timeline, alerts, links and deliveries.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/incidents/{number}", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/acknowledge", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/resolve", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/escalate", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/updates", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/links", tag = "support",
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

/// Requests a hotfix (patch release) for an incident, for release planning to pick up.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/hotfix", tag = "support",
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
