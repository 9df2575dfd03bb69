//! Notifications: project hooks, and each person's own rules for how and
//! when liveops reaches them.

use super::*;

// ---------------------------------------------------------------- notifications

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHook {
    /// webhook (liveops JSON) or slack (incoming-webhook shape).
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

/// Your notification rules: how and when liveops reaches you.
#[utoipa::path(get, path = "/api/v1/me/notification-rules", tag = "support",
    responses((status = 200, description = "Rules", body = Vec<ContactRuleView>)))]
pub async fn list_rules(
    State(state): State<AppState>,
    // Rules reach across every project a person is on call for.
    InstanceWide(principal): InstanceWide,
) -> ApiResult<Json<Vec<ContactRuleView>>> {
    Ok(Json(
        crate::support::rules::list(&state, &principal.user.id).await?,
    ))
}

fn writes(principal: &crate::auth::Principal) -> ApiResult<()> {
    if principal
        .scopes()
        .is_some_and(|s| !s.contains(liveops_core::Scope::Write))
    {
        return Err(ApiError::forbidden(
            "this API token lacks the `write` scope",
        ));
    }
    Ok(())
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
    writes(&principal)?;
    let view = crate::support::rules::add(
        &state,
        &principal.actor(),
        &principal.user.id,
        &crate::support::rules::Wanted {
            kind: body.kind,
            address: body.address,
            min_severity: body.min_severity,
            delay_secs: body.delay_secs,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Removes one of your notification rules.
#[utoipa::path(delete, path = "/api/v1/me/notification-rules/{id}", tag = "support",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_rule(
    State(state): State<AppState>,
    InstanceWide(principal): InstanceWide,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    writes(&principal)?;
    crate::support::rules::remove(&state, &principal.actor(), &principal.user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
