//! Tickets: opening, actions, SLAs, and the support statistics.

use super::*;

// ---------------------------------------------------------------- tickets

async fn ticket_view(state: &AppState, t: &Ticket) -> ApiResult<TicketView> {
    let (fr, res) = ticket_service::standings(t, state.now_ms());
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
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/tickets", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/tickets", tag = "support",
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
    let t = ticket_service::open(&state, &access.project.id, &access.actor(), &req, "api").await?;
    Ok((StatusCode::CREATED, Json(ticket_view(&state, &t).await?)))
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
    let links = state.db.ticket_links(&t.id).await?;
    let of_kind = |kind: &str| -> Vec<String> {
        links
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, target)| target.clone())
            .collect()
    };
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
        fixed_in: of_kind("release"),
        fixed_by: of_kind("commit"),
        issues: of_kind("issue"),
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
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/tickets/{number}", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/tickets/{number}/actions", tag = "support",
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
    ticket_service::apply(&state, &access.actor(), &t, &op).await?;
    let fresh = state
        .db
        .ticket_by_number(&access.project.id, t.number)
        .await?;
    Ok(Json(ticket_detail(&state, &fresh).await?))
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
    responses((status = 200, description = "Statistics", body = SupportStats)))]
pub async fn support_stats(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<SupportStats>> {
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
