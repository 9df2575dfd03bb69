//! Integrations: where alerts come in, each with the secret senders use.

use super::*;

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

/// Alert integrations.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/integrations", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/integrations", tag = "support",
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
    let (secret, sealed) = crate::support::integrations::new_secret(&state);
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
            secret_sealed: Some(&sealed),
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

fn address_view(a: crate::support::integrations::Address) -> IntegrationAddressView {
    IntegrationAddressView {
        url_path: a.url_path,
        secret: a.secret,
    }
}

/// An integration's address, for admins, with its secret.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/integrations/{integration}/address", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("integration" = String, Path, description = "Integration name or id")),
    responses((status = 200, description = "The address", body = IntegrationAddressView)))]
pub async fn integration_address(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, integration)): ApiPath<(String, String)>,
) -> ApiResult<Json<IntegrationAddressView>> {
    match crate::support::integrations::address(&state, &access.project.id, &integration).await? {
        Some(a) => Ok(Json(address_view(a))),
        None => Err(ApiError::conflict(
            "this integration was made before addresses were kept: replace its address to see one",
        )),
    }
}

/// Gives an integration a new address; the old one stops taking alerts.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/integrations/{integration}/address", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("integration" = String, Path, description = "Integration name or id")),
    responses((status = 200, description = "The new address", body = IntegrationAddressView)))]
pub async fn replace_integration_address(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, integration)): ApiPath<(String, String)>,
) -> ApiResult<Json<IntegrationAddressView>> {
    Ok(Json(address_view(
        crate::support::integrations::replace(
            &state,
            &access.actor(),
            &access.project.id,
            &integration,
        )
        .await?,
    )))
}
