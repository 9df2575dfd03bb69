//! The security API: dependency scans of lockfiles against the offline OSV
//! database, findings with their lifecycle and patch SLAs, SARIF and
//! penetration-test imports, backlog items and patch releases from
//! findings, and the credential inventory with expiry and staleness.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use liveops_store::audit::Actor;
use liveops_store::security::{Finding, NewCredential, NewFinding};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, InstanceWide, need};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::security::{AuditError, Vulnerability};
use crate::state::{AppState, format_ms};
use crate::support::tickets::clean_text;
use crate::timerange::parse_when;

const DAY_MS: i64 = 86_400_000;
/// Credentials unused this long are stale.
pub const STALE_AFTER_DAYS: i64 = 90;

fn service_name(s: Option<&str>) -> ApiResult<String> {
    let s = s.unwrap_or("default").trim();
    if s.is_empty()
        || s.len() > 100
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    {
        return Err(ApiError::unprocessable(
            "`service` is 1 to 100 letters, digits, `-`, `_`, `.` or `/`",
        ));
    }
    Ok(s.to_owned())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockfileBody {
    /// The file's name or path: it says the format (Cargo.lock, package-lock.json, …).
    pub name: String,
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    /// The service the lockfiles belong to (default `default`).
    pub service: Option<String>,
    pub files: Vec<LockfileBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VulnerabilityView {
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    pub file: String,
    pub line: Option<u32>,
    pub advisory: String,
    pub aliases: Vec<String>,
    pub summary: String,
    /// critical, high, medium, low or unknown.
    pub severity: String,
    pub score: Option<f64>,
    pub fixed: Vec<String>,
    /// The smallest upgrade that clears this advisory.
    pub fix: Option<String>,
    /// The smallest upgrade that clears every advisory on the package.
    pub upgrade: Option<String>,
}

pub fn vulnerability_view(v: &Vulnerability) -> VulnerabilityView {
    VulnerabilityView {
        ecosystem: v.package.ecosystem.as_str().into(),
        package: v.package.name.clone(),
        version: v.package.version.clone(),
        file: v.file.clone(),
        line: v.line,
        advisory: v.advisory.clone(),
        aliases: v.aliases.clone(),
        summary: v.summary.clone(),
        severity: v.severity.as_str().into(),
        score: v.score,
        fixed: v.fixed.clone(),
        fix: v.fix.clone(),
        upgrade: v.upgrade.clone(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanView {
    pub service: String,
    pub packages: usize,
    pub vulnerabilities: Vec<VulnerabilityView>,
    /// Finding numbers.
    pub opened: Vec<i64>,
    pub reopened: Vec<i64>,
    pub fixed: Vec<i64>,
    pub still_present: Vec<i64>,
}

fn audit_error(e: AuditError) -> ApiError {
    match e {
        AuditError::Store(s) => s.into(),
        other => ApiError::unprocessable(other.to_string()),
    }
}

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
    if b.files.is_empty() || b.files.len() > 200 {
        return Err(ApiError::unprocessable(
            "send 1 to 200 lockfiles in `files`",
        ));
    }
    let files: Vec<(String, String)> = b.files.into_iter().map(|f| (f.name, f.text)).collect();
    let locks = crate::security::read_lockfiles(&files).map_err(audit_error)?;
    let vulns = crate::security::audit(&state.db, &locks)
        .await
        .map_err(audit_error)?;
    let outcome = state
        .db
        .record_scan(
            &access.project.id,
            &service,
            "audit",
            &crate::security::findings_of(&vulns),
            state.now_ms(),
        )
        .await?;
    Ok(Json(ScanView {
        service,
        packages: locks.iter().map(|(_, l)| l.packages.len()).sum(),
        vulnerabilities: vulns.iter().map(vulnerability_view).collect(),
        opened: outcome.opened,
        reopened: outcome.reopened,
        fixed: outcome.fixed,
        still_present: outcome.still_present,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingView {
    pub number: i64,
    pub service: String,
    /// vulnerability, scanner or pentest.
    pub kind: String,
    pub title: String,
    pub severity: String,
    pub package: Option<String>,
    pub version: Option<String>,
    pub fixed_version: Option<String>,
    pub advisory: Option<String>,
    pub aliases: Option<String>,
    /// audit, sarif:TOOL or pentest:NAME.
    pub source: String,
    pub location: Option<String>,
    /// open, fixed or accepted.
    pub state: String,
    pub opened_at: String,
    pub last_seen_at: String,
    pub fixed_at: Option<String>,
    pub accepted_reason: Option<String>,
    pub accepted_until: Option<String>,
    /// When the patch SLA for its severity runs out (open findings).
    pub sla_due: Option<String>,
    pub sla_breached: bool,
    /// The backlog item made for it.
    pub item: Option<i64>,
}

/// A finding as the API shows it; `slas` are the project's patch SLAs.
pub fn finding_view(f: Finding, slas: &[(String, i64)], now: i64) -> FindingView {
    let due = slas
        .iter()
        .find(|(s, _)| *s == f.severity)
        .map(|(_, d)| f.opened_at + d * DAY_MS)
        .filter(|_| f.state == "open");
    let item = f.item_number;
    FindingView {
        number: f.number,
        service: f.service,
        kind: f.kind,
        title: f.title,
        severity: f.severity,
        package: f.package,
        version: f.version,
        fixed_version: f.fixed_version,
        advisory: f.advisory,
        aliases: f.aliases,
        source: f.source,
        location: f.location,
        state: f.state,
        opened_at: format_ms(f.opened_at),
        last_seen_at: format_ms(f.last_seen_at),
        fixed_at: f.fixed_at.map(format_ms),
        accepted_reason: f.accepted_reason,
        accepted_until: f.accepted_until.map(format_ms),
        sla_due: due.map(format_ms),
        sla_breached: due.is_some_and(|d| d <= now),
        item,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    /// open, fixed or accepted; all by default.
    pub state: Option<String>,
    pub service: Option<String>,
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

async fn find(state: &AppState, project_id: &str, number: &str) -> ApiResult<Finding> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::not_found(format!("no finding `{number}`")))?;
    match state.db.security_finding(project_id, n).await {
        Ok(f) => Ok(f),
        Err(liveops_store::StoreError::NotFound) => {
            Err(ApiError::not_found(format!("no finding #{n}")))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingAction {
    /// accept (with `reason` and `until`), backlog (a security item), or
    /// patch (a backlog item scheduled into a new patch release).
    pub action: String,
    pub reason: Option<String>,
    /// Until when the risk is accepted: a date or RFC 3339 time, at most a
    /// year ahead.
    pub until: Option<String>,
    /// For patch: the release version (the next patch by default).
    pub version: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingActionView {
    pub finding: FindingView,
    /// The release planned for the patch.
    pub release: Option<String>,
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
    let release = act(&state, &access.actor(), &pid, &number, &a).await?;
    let f = find(&state, &pid, &number).await?;
    Ok(Json(FindingActionView {
        finding: finding_view(f, &state.db.security_slas(&pid).await?, state.now_ms()),
        release,
    }))
}

/// Accepts a finding, or raises a security backlog item (and with
/// `patch`, a patch release) from it; returns the release's version.
pub async fn act(
    state: &AppState,
    actor: &Actor,
    pid: &str,
    number: &str,
    a: &FindingAction,
) -> ApiResult<Option<String>> {
    let f = find(state, pid, number).await?;
    let mut release = None;
    match a.action.as_str() {
        "accept" => {
            if f.state == "fixed" {
                return Err(ApiError::conflict("a fixed finding needs no acceptance"));
            }
            let reason = clean_text("reason", a.reason.as_deref().unwrap_or(""), 2000)
                .map_err(ApiError::unprocessable)?;
            let until = parse_when(
                "until",
                a.until
                    .as_deref()
                    .ok_or_else(|| ApiError::unprocessable("accepting needs `until`"))?,
            )?;
            if until <= state.now_ms() || until > state.now_ms() + 366 * DAY_MS {
                return Err(ApiError::unprocessable(
                    "`until` must be in the future and at most a year ahead",
                ));
            }
            state
                .db
                .accept_finding(&f.id, &reason, until, &actor.name)
                .await?;
        }
        "backlog" | "patch" => {
            let item = match &f.item_id {
                Some(id) => state.db.item_by_id(id).await?,
                None => {
                    let body = format!(
                        "Security finding #{} ({}, {}): {}{}{}",
                        f.number,
                        f.severity,
                        f.service,
                        f.title,
                        f.advisory
                            .as_deref()
                            .map(|a| format!("\n\nAdvisory: {a}"))
                            .unwrap_or_default(),
                        f.fixed_version
                            .as_deref()
                            .map(|v| format!("\nFixed in: {v}"))
                            .unwrap_or_default(),
                    );
                    let title = match (&f.package, &f.fixed_version) {
                        (Some(p), Some(v)) => format!(
                            "Upgrade {p} to {v} ({})",
                            f.advisory.as_deref().unwrap_or("security")
                        ),
                        _ => format!("Fix: {}", f.title),
                    };
                    let title: String = title.chars().take(200).collect();
                    let i = crate::feedback::create_item(
                        state,
                        actor,
                        pid,
                        "security",
                        &title,
                        Some(&body),
                    )
                    .await?;
                    state.db.set_finding_item(&f.id, &i.id).await?;
                    i
                }
            };
            if a.action == "patch" {
                let r = crate::releases::create_release(
                    state,
                    actor,
                    pid,
                    &crate::releases::ReleasePlan {
                        version: a.version.clone(),
                        kind: "patch".into(),
                        ..crate::releases::ReleasePlan::default()
                    },
                    None,
                )
                .await?;
                crate::releases::schedule(state, item, Some(&r)).await?;
                release = Some(r.version);
            }
        }
        other => {
            return Err(ApiError::unprocessable(format!(
                "`{other}` is not an action: accept, backlog or patch"
            )));
        }
    }
    Ok(release)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    pub service: Option<String>,
    /// For pentest CSV: the report's name, such as the firm or the date.
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    pub results: usize,
    pub opened: Vec<i64>,
    pub reopened: Vec<i64>,
    pub fixed: Vec<i64>,
}

async fn record(
    state: &AppState,
    project_id: &str,
    service: &str,
    source: &str,
    kind: &str,
    results: Vec<liveops_wire::sarif::ScanResult>,
) -> ApiResult<ImportView> {
    let findings: Vec<NewFinding> = results
        .iter()
        .map(|r| NewFinding {
            kind: kind.into(),
            key: r.key.clone(),
            title: r.title.clone(),
            severity: r.severity.clone(),
            advisory: Some(r.rule.clone()),
            location: r.location.clone(),
            ..NewFinding::default()
        })
        .collect();
    let o = state
        .db
        .record_scan(project_id, service, source, &findings, state.now_ms())
        .await?;
    Ok(ImportView {
        results: results.len(),
        opened: o.opened,
        reopened: o.reopened,
        fixed: o.fixed,
    })
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
    let mut all = ImportView {
        results: 0,
        opened: Vec::new(),
        reopened: Vec::new(),
        fixed: Vec::new(),
    };
    for tool in tools {
        let mine: Vec<_> = results.iter().filter(|r| r.tool == tool).cloned().collect();
        let source = format!("sarif:{}", tool.to_ascii_lowercase());
        let v = record(
            &state,
            &access.project.id,
            &service,
            &source,
            "scanner",
            mine,
        )
        .await?;
        all.results += v.results;
        all.opened.extend(v.opened);
        all.reopened.extend(v.reopened);
        all.fixed.extend(v.fixed);
    }
    Ok(Json(all))
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
    Ok(Json(
        record(
            &state,
            &access.project.id,
            &service,
            &format!("pentest:{name}"),
            "pentest",
            results,
        )
        .await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlaView {
    pub severity: String,
    /// Days from a finding's opening to its patch.
    pub days: i64,
}

/// Patch SLAs by severity.
#[utoipa::path(get, path = "/api/v1/projects/{project}/security/slas", tag = "security",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "SLAs", body = Vec<SlaView>)))]
pub async fn get_slas(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<SlaView>>> {
    slas_of(&state, &access.project.id).await
}

async fn slas_of(state: &AppState, project_id: &str) -> ApiResult<Json<Vec<SlaView>>> {
    Ok(Json(
        state
            .db
            .security_slas(project_id)
            .await?
            .into_iter()
            .map(|(severity, days)| SlaView { severity, days })
            .collect(),
    ))
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
    for s in &slas {
        if !matches!(s.severity.as_str(), "critical" | "high" | "medium" | "low") {
            return Err(ApiError::unprocessable(format!(
                "`{}` is not a severity: critical, high, medium or low",
                s.severity
            )));
        }
        if !(1..=365).contains(&s.days) {
            return Err(ApiError::unprocessable("an SLA is 1 to 365 days"));
        }
    }
    for s in &slas {
        state
            .db
            .set_security_sla(&access.project.id, &s.severity, s.days)
            .await?;
    }
    slas_of(&state, &access.project.id).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialView {
    /// api_key, oauth_client_secret, signing_key, tls_certificate, or
    /// liveops_token for liveops' own API tokens.
    pub kind: String,
    pub name: String,
    pub owner: String,
    pub system: String,
    pub expires_at: Option<String>,
    pub days_left: Option<i64>,
    pub last_used_at: Option<String>,
    /// Unused for 90 days or more (or never used, 90 days after creation).
    pub stale: bool,
    pub fingerprint: Option<String>,
}

/// The fields a credential view is drawn from.
struct CredentialFacts {
    kind: String,
    name: String,
    owner: String,
    system: String,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    created_at: i64,
    fingerprint: Option<String>,
}

impl From<liveops_store::security::Credential> for CredentialFacts {
    fn from(c: liveops_store::security::Credential) -> CredentialFacts {
        CredentialFacts {
            kind: c.kind,
            name: c.name,
            owner: c.owner,
            system: c.system,
            expires_at: c.expires_at,
            last_used_at: c.last_used_at,
            created_at: c.created_at,
            fingerprint: c.fingerprint,
        }
    }
}

fn credential_view(c: CredentialFacts, now: i64) -> CredentialView {
    let used = c.last_used_at.unwrap_or(c.created_at);
    CredentialView {
        kind: c.kind,
        name: c.name,
        owner: c.owner,
        system: c.system,
        days_left: c.expires_at.map(|e| (e - now).div_euclid(DAY_MS)),
        expires_at: c.expires_at.map(format_ms),
        last_used_at: c.last_used_at.map(format_ms),
        stale: now - used >= STALE_AFTER_DAYS * DAY_MS,
        fingerprint: c.fingerprint,
    }
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
    Ok(Json(
        list_credentials_for(&state, &access.project.id).await?,
    ))
}

/// The inventory and liveops' own live tokens for a project.
pub async fn list_credentials_for(
    state: &AppState,
    project_id: &str,
) -> ApiResult<Vec<CredentialView>> {
    let mut out: Vec<CredentialView> = state
        .db
        .credentials(project_id)
        .await?
        .into_iter()
        .map(|c| credential_view(c.into(), state.now_ms()))
        .collect();
    for t in state.db.tokens(project_id, None).await? {
        if t.revoked_at.is_some() || t.expires_at <= state.now_ms() {
            continue;
        }
        out.push(credential_view(
            CredentialFacts {
                kind: "liveops_token".into(),
                name: t.name,
                owner: t.user_email,
                system: "liveops".into(),
                expires_at: Some(t.expires_at),
                last_used_at: t.last_used_at,
                created_at: t.created_at,
                fingerprint: Some(t.hint),
            },
            state.now_ms(),
        ));
    }
    Ok(out)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialBody {
    /// api_key, oauth_client_secret, signing_key or tls_certificate.
    pub kind: String,
    pub name: String,
    pub owner: String,
    /// The system it opens, such as `stripe` or `api.shop.example`.
    pub system: String,
    /// A date or RFC 3339 time.
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
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
    let saved = save_credential(&state, &access.project.id, &b).await?;
    Ok((
        StatusCode::CREATED,
        Json(credential_view(saved.into(), state.now_ms())),
    ))
}

/// Adds a credential to the inventory, or refreshes the one of that name.
pub async fn save_credential(
    state: &AppState,
    pid: &str,
    b: &CredentialBody,
) -> ApiResult<liveops_store::security::Credential> {
    if !matches!(
        b.kind.as_str(),
        "api_key" | "oauth_client_secret" | "signing_key" | "tls_certificate"
    ) {
        return Err(ApiError::unprocessable(
            "`kind` is api_key, oauth_client_secret, signing_key or tls_certificate",
        ));
    }
    let text = |f: &str, v: &str| clean_text(f, v, 200).map_err(ApiError::unprocessable);
    let c = NewCredential {
        kind: b.kind.clone(),
        name: text("name", &b.name)?,
        owner: text("owner", &b.owner)?,
        system: text("system", &b.system)?,
        expires_at: b
            .expires_at
            .as_deref()
            .map(|t| parse_when("expires_at", t))
            .transpose()?,
        last_used_at: b
            .last_used_at
            .as_deref()
            .map(|t| parse_when("last_used_at", t))
            .transpose()?,
        fingerprint: None,
    };
    let saved = state.db.upsert_credential(pid, &c, state.now_ms()).await?;
    Ok(saved)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateQuery {
    pub owner: String,
    pub system: Option<String>,
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
    let certs = crate::security::certificates(&body).map_err(ApiError::unprocessable)?;
    let mut out = Vec::new();
    for c in certs {
        let saved = state
            .db
            .upsert_credential(
                &access.project.id,
                &NewCredential {
                    kind: "tls_certificate".into(),
                    system: q
                        .system
                        .clone()
                        .or_else(|| c.dns_names.first().cloned())
                        .unwrap_or_else(|| c.subject.clone()),
                    name: c.name,
                    owner: owner.clone(),
                    expires_at: Some(c.not_after_ms),
                    last_used_at: None,
                    fingerprint: Some(c.fingerprint),
                },
                state.now_ms(),
            )
            .await?;
        out.push(credential_view(saved.into(), state.now_ms()));
    }
    Ok((StatusCode::CREATED, Json(out)))
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
    if state
        .db
        .delete_credential(&access.project.id, &name)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no credential `{name}`")))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OsvStatus {
    /// Advisories per ecosystem in the offline database.
    pub ecosystems: Vec<EcosystemCount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EcosystemCount {
    pub ecosystem: String,
    pub advisories: i64,
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
