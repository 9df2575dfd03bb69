//! Components and maintenance windows: what the status page shows, and the
//! work announced on it.

use super::*;

// ---------------------------------------------------------------- components

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComponent {
    pub name: String,
    pub description: Option<String>,
}

/// Status-page components of the project.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/components", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/components", tag = "support",
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
#[utoipa::path(put, path = "/api/v1/projects/{project}/support/components/{component}/status", tag = "support",
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
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/maintenances", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/maintenances/{id}/status", tag = "support",
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
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/maintenances", tag = "support",
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
