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
