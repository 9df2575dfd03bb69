//! The security API: dependency scans of lockfiles against the offline OSV
//! database, findings with their lifecycle and patch SLAs, SARIF and
//! penetration-test imports, backlog items and patch releases from
//! findings, and the credential inventory with expiry and staleness.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;

use crate::auth::{Access, InstanceWide, need};
use crate::contract::security::*;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::security::{findings, inventory};
use crate::state::AppState;
use crate::support::tickets::clean_text;

/// Scans a service's lockfiles against the OSV database and records the
/// findings: new ones open, those no longer present are fixed.
#[utoipa::path(post, path = "/api/v1/projects/{project}/security/scans", tag = "security",
    params(("project" = String, Path, description = "Project slug")),
    request_body = ScanBody,
    responses((status = 200, description = "What the scan found", body = ScanView)))]
pub async fn scan(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(b): ApiJson<ScanBody>,
) -> ApiResult<Json<ScanView>> {
    let service = service_name(b.service.as_deref())?;
    let files: Vec<(String, String)> = b.files.into_iter().map(|f| (f.name, f.text)).collect();
    let scanned = findings::scan(
        &state,
        &access.actor(),
        &access.project.id,
        &service,
        &files,
    )
    .await?;
    Ok(Json(scan_view(service, scanned)))
}

/// Findings, most severe and oldest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/security/findings", tag = "security",
    params(("project" = String, Path, description = "Project slug"), FindingQuery),
    responses((status = 200, description = "Findings", body = Vec<FindingView>)))]
pub async fn list_findings(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> ApiResult<Json<Vec<FindingView>>> {
    let st = q.state.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = st
        && !matches!(s, "open" | "fixed" | "accepted")
    {
        return Err(ApiError::unprocessable(format!(
            "`{s}` is not a state: open, fixed or accepted"
        )));
    }
    let rows = state
        .db
        .security_findings(
            &access.project.id,
            st,
            q.service.as_deref().filter(|s| !s.is_empty()),
        )
        .await?;
    let slas = state.db.security_slas(&access.project.id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|f| finding_view(f, &slas, state.now_ms()))
            .collect(),
    ))
}

/// Accepts a finding's risk, or turns it into a backlog item or a patch release.
#[utoipa::path(post, path = "/api/v1/projects/{project}/security/findings/{number}/actions", tag = "security",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Finding number")),
    request_body = FindingAction,
    responses((status = 200, description = "The finding", body = FindingActionView)))]
pub async fn finding_action(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(a): ApiJson<FindingAction>,
) -> ApiResult<Json<FindingActionView>> {
    let pid = access.project.id.clone();
    let release = findings::act(&state, &access.actor(), &pid, &number, &a.parse()?).await?;
    let f = findings::find(&state, &pid, &number).await?;
    Ok(Json(FindingActionView {
        finding: finding_view(f, &state.db.security_slas(&pid).await?, state.now_ms()),
        release,
    }))
}

/// Imports a SARIF 2.1.0 log (semgrep, trivy, CodeQL …): each tool's
/// results become findings; results of the tool no longer reported are fixed.
#[utoipa::path(post, path = "/api/v1/projects/{project}/security/sarif", tag = "security",
    params(("project" = String, Path, description = "Project slug"), ImportQuery),
    request_body(content = String, content_type = "application/sarif+json"),
    responses((status = 200, description = "What was recorded", body = ImportView)))]
pub async fn import_sarif(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> ApiResult<Json<ImportView>> {
    let service = service_name(q.service.as_deref())?;
    let results = liveops_wire::sarif::parse_sarif(&body)
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    // Each run's tool is its own source: a tool's scan fixes only what that
    // tool no longer reports, even when one log carries several tools.
    let mut tools = liveops_wire::sarif::tool_names(&body);
    if tools.is_empty() {
        tools.push("scanner".into());
    }
    let batches = tools
        .into_iter()
        .map(|tool| {
            let mine: Vec<_> = results.iter().filter(|r| r.tool == tool).cloned().collect();
            (format!("sarif:{}", tool.to_ascii_lowercase()), mine)
        })
        .collect();
    let r = findings::import(
        &state,
        &access.actor(),
        &access.project.id,
        &service,
        "scanner",
        batches,
    )
    .await?;
    Ok(Json(import_view(r)))
}

/// Imports a penetration-test report as CSV (title and severity per row).
#[utoipa::path(post, path = "/api/v1/projects/{project}/security/pentest", tag = "security",
    params(("project" = String, Path, description = "Project slug"), ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "What was recorded", body = ImportView)))]
pub async fn import_pentest(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> ApiResult<Json<ImportView>> {
    let service = service_name(q.service.as_deref())?;
    let name = service_name(q.name.as_deref().or(Some("pentest")))?;
    let results = liveops_wire::sarif::parse_pentest_csv(&body, &name)
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let r = findings::import(
        &state,
        &access.actor(),
        &access.project.id,
        &service,
        "pentest",
        vec![(format!("pentest:{name}"), results)],
    )
    .await?;
    Ok(Json(import_view(r)))
}

/// Patch SLAs by severity.
#[utoipa::path(get, path = "/api/v1/projects/{project}/security/slas", tag = "security",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "SLAs", body = Vec<SlaView>)))]
pub async fn get_slas(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<SlaView>>> {
    slas_now(&state, &access.project.id).await
}

async fn slas_now(state: &AppState, project_id: &str) -> ApiResult<Json<Vec<SlaView>>> {
    Ok(Json(sla_views(state.db.security_slas(project_id).await?)))
}

/// Sets patch SLAs (critical, high, medium, low), 1 to 365 days each.
#[utoipa::path(put, path = "/api/v1/projects/{project}/security/slas", tag = "security",
    params(("project" = String, Path, description = "Project slug")),
    request_body = Vec<SlaView>,
    responses((status = 200, description = "SLAs", body = Vec<SlaView>)))]
pub async fn put_slas(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(slas): ApiJson<Vec<SlaView>>,
) -> ApiResult<Json<Vec<SlaView>>> {
    findings::set_slas(&state, &access.actor(), &access.project.id, &slas_of(&slas)).await?;
    slas_now(&state, &access.project.id).await
}

/// The credential inventory, soonest expiry first, with liveops' own API
/// tokens for the project.
#[utoipa::path(get, path = "/api/v1/projects/{project}/security/credentials", tag = "security",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Credentials", body = Vec<CredentialView>)))]
pub async fn list_credentials(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<CredentialView>>> {
    let now = state.now_ms();
    Ok(Json(
        inventory::list(&state, &access.project.id)
            .await?
            .into_iter()
            .map(|c| credential_view(c, now))
            .collect(),
    ))
}

/// Adds a credential to the inventory, or refreshes the one of that name.
#[utoipa::path(post, path = "/api/v1/projects/{project}/security/credentials", tag = "security",
    params(("project" = String, Path, description = "Project slug")),
    request_body = CredentialBody,
    responses((status = 201, description = "The credential", body = CredentialView)))]
pub async fn put_credential(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(b): ApiJson<CredentialBody>,
) -> ApiResult<(StatusCode, Json<CredentialView>)> {
    let c = b.parse()?;
    let saved = inventory::save(&state, &access.actor(), &access.project.id, &[c]).await?;
    let view = saved
        .into_iter()
        .next()
        .map(|c| credential_view(c.into(), state.now_ms()))
        .ok_or_else(|| ApiError::internal("the credential was not saved"))?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Adds the certificates of a PEM or DER upload to the inventory, named by
/// subject, with their expiry and fingerprint.
#[utoipa::path(post, path = "/api/v1/projects/{project}/security/certificates", tag = "security",
    params(("project" = String, Path, description = "Project slug"), CertificateQuery),
    request_body(content = String, content_type = "text/plain"),
    responses((status = 201, description = "The certificates", body = Vec<CredentialView>)))]
pub async fn upload_certificates(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiQuery(q): ApiQuery<CertificateQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Vec<CredentialView>>)> {
    let owner = clean_text("owner", &q.owner, 200).map_err(ApiError::unprocessable)?;
    let certs = inventory::certificates(&body, &owner, q.system.as_deref())?;
    let saved = inventory::save(&state, &access.actor(), &access.project.id, &certs).await?;
    let now = state.now_ms();
    Ok((
        StatusCode::CREATED,
        Json(
            saved
                .into_iter()
                .map(|c| credential_view(c.into(), now))
                .collect(),
        ),
    ))
}

/// Removes a credential from the inventory.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/security/credentials/{name}", tag = "security",
    params(("project" = String, Path, description = "Project slug"),
           ("name" = String, Path, description = "Credential name")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_credential(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, name)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    inventory::delete(&state, &access.actor(), &access.project.id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the offline OSV database holds (`liveops osv import` fills it).
#[utoipa::path(get, path = "/api/v1/security/osv", tag = "security",
    responses((status = 200, description = "The database", body = OsvStatus)))]
pub async fn osv_status(
    State(state): State<AppState>,
    InstanceWide(_caller): InstanceWide,
) -> ApiResult<Json<OsvStatus>> {
    Ok(Json(OsvStatus {
        ecosystems: state
            .db
            .osv_counts()
            .await?
            .into_iter()
            .map(|(ecosystem, advisories)| EcosystemCount {
                ecosystem,
                advisories,
            })
            .collect(),
    }))
}
