//! The security page: open findings by severity with their patch SLA (and
//! forms to accept one or raise a backlog item or patch release from it),
//! the credential inventory with expiry and staleness (and a form to add
//! to it), and what the offline OSV database holds.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::Area;
use maud::html;
use serde::Deserialize;

use super::prologue::{load, writable};
use super::{Frame, UiSession, api_error, csrf_field, page};
use crate::contract::security::{CredentialBody, FindingAction, credential_view, finding_view};
use crate::error::ApiError;
use crate::security::{findings, inventory};
use crate::state::AppState;

pub async fn overview(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let loaded: Result<_, ApiError> = async {
        let slas = state.db.security_slas(&project.id).await?;
        let findings: Vec<_> = state
            .db
            .security_findings(&project.id, None, None)
            .await?
            .into_iter()
            .filter(|f| f.state != "fixed")
            .map(|f| finding_view(f, &slas, state.now_ms()))
            .collect();
        let now = state.now_ms();
        let credentials: Vec<_> = inventory::list(&state, &project.id)
            .await?
            .into_iter()
            .map(|c| credential_view(c, now))
            .collect();
        let osv = state.db.osv_counts().await?;
        Ok((findings, credentials, osv, slas))
    }
    .await;
    let (findings, credentials, osv, slas) = match loaded {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Security);
    page(
        &format!("Security · {}", project.name),
        Some(&frame),
        html! {
            h1 { (Area::Security.title()) }
            p.lede { (Area::Security.summary()) }
            @if findings.is_empty() && credentials.iter().all(|c| c.kind == "liveops_token") {
                div.empty data-area="security" {
                    p { strong { "No open findings and no credentials yet." } }
                    p { "Scan lockfiles with " code { "liveops audit deps --project " (project.slug) " Cargo.lock" } ", import SARIF from your scanners, and list the credentials and certificates to watch." }
                }
            }
            section {
                h2 { "Open findings" }
                table.findings {
                    thead { tr { th { "#" } th { "Severity" } th { "Service" } th { "Finding" } th { "Fix" } th { "State" } th { "Patch due" } th { "Act" } } }
                    tbody {
                        @for f in &findings {
                            tr data-severity=(f.severity) data-breached=(f.sla_breached) {
                                td { (f.number) }
                                td { (f.severity) }
                                td { (f.service) }
                                td {
                                    (f.title)
                                    @if let Some(a) = &f.advisory { br; small { (a) " " (f.aliases.as_deref().unwrap_or("")) } }
                                    @if let Some(i) = f.item { br; a href={"/p/" (project.slug) "/feedback/backlog/" (i)} { "backlog item #" (i) } }
                                }
                                td { (f.fixed_version.as_deref().unwrap_or("–")) }
                                td { (f.state) @if let Some(r) = &f.accepted_reason { br; small { "accepted: " (r) } } }
                                td {
                                    @if f.sla_breached { strong.error { "breached " } }
                                    (f.sla_due.as_deref().unwrap_or("–"))
                                }
                                td {
                                    details.act {
                                        summary { "Act" }
                                        form.stack method="post" action={"/p/" (project.slug) "/security/findings/" (f.number)} {
                                            (csrf_field(&s))
                                            input type="hidden" name="action" value="accept";
                                            label { "Reason " input name="reason" required maxlength="2000"; }
                                            label { "Accepted until " input type="date" name="until" required; }
                                            button type="submit" { "Accept the risk" }
                                        }
                                        @for (action, label) in [("backlog", "Raise a backlog item"), ("patch", "Plan a patch release")] {
                                            form.inline method="post" action={"/p/" (project.slug) "/security/findings/" (f.number)} {
                                                (csrf_field(&s))
                                                input type="hidden" name="action" value=(action);
                                                button type="submit" { (label) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p { "Patch SLAs: "
                    @for (i, (sev, days)) in slas.iter().enumerate() {
                        @if i > 0 { ", " }
                        (sev) " " (days) " days"
                    }
                }
            }
            section {
                h2 { "Credentials and certificates" }
                table.credentials {
                    thead { tr { th { "Name" } th { "Kind" } th { "System" } th { "Owner" } th { "Expires" } th { "Last used" } } }
                    tbody {
                        @for c in &credentials {
                            tr data-kind=(c.kind) data-stale=(c.stale) {
                                td { (c.name) }
                                td { (c.kind) }
                                td { (c.system) }
                                td { (c.owner) }
                                td {
                                    (c.expires_at.as_deref().unwrap_or("never"))
                                    @if let Some(d) = c.days_left {
                                        @if d < 0 { " " strong.error { "expired" } }
                                        @else if d <= 30 { " " span.warning { "in " (d) " days" } }
                                    }
                                }
                                td { (c.last_used_at.as_deref().unwrap_or("never")) @if c.stale { " " span.warning { "stale" } } }
                            }
                        }
                    }
                }
                form.stack method="post" action={"/p/" (project.slug) "/security/credentials"} {
                    (csrf_field(&s))
                    label { "Name " input name="name" required maxlength="200"; }
                    label { "Kind "
                        select name="kind" {
                            @for k in ["api_key", "oauth_client_secret", "signing_key", "tls_certificate"] {
                                option value=(k) { (k.replace('_', " ")) }
                            }
                        }
                    }
                    label { "System " input name="system" required maxlength="200" placeholder="stripe"; }
                    label { "Owner " input name="owner" required maxlength="200"; }
                    label { "Expires " input type="date" name="expires_at"; }
                    label { "Last used " input type="date" name="last_used_at"; }
                    button type="submit" { "Add or update a credential" }
                }
            }
            section {
                h2 { "Vulnerability database" }
                @if osv.is_empty() {
                    p { "Empty: load it with " code { "liveops osv import PATH" } " (OSV JSON folders or an ecosystem's all.zip)." }
                } @else {
                    p { @for (i, (e, n)) in osv.iter().enumerate() { @if i > 0 { ", " } (e) ": " (n) } " advisories." }
                }
            }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct FindingForm {
    #[serde(rename = "_csrf")]
    pub csrf: String,
    pub action: String,
    pub reason: Option<String>,
    pub until: Option<String>,
}

/// Accepts a finding, or raises a backlog item or patch release from it.
pub async fn finding_action(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number)): Path<(String, String)>,
    Form(f): Form<FindingForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "act on findings"));
    let project = &projects[idx].0;
    let a = FindingAction {
        action: f.action,
        reason: f.reason,
        until: f.until.filter(|u| !u.trim().is_empty()),
        version: None,
    };
    let done = match a.parse() {
        Ok(a) => findings::act(&state, &s.actor(), &project.id, &number, &a)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Redirect::to(&format!("/p/{}/security", project.slug)).into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct CredentialForm {
    #[serde(rename = "_csrf")]
    pub csrf: String,
    pub kind: String,
    pub name: String,
    pub owner: String,
    pub system: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// Adds a credential to the inventory, or refreshes the one of that name.
pub async fn save_credential_form(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<CredentialForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "edit the inventory"));
    let project = &projects[idx].0;
    let nonempty = |v: Option<String>| v.filter(|t| !t.trim().is_empty());
    let b = CredentialBody {
        kind: f.kind,
        name: f.name,
        owner: f.owner,
        system: f.system,
        expires_at: nonempty(f.expires_at),
        last_used_at: nonempty(f.last_used_at),
    };
    let done = match b.parse() {
        Ok(c) => inventory::save(&state, &s.actor(), &project.id, &[c])
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Redirect::to(&format!("/p/{}/security", project.slug)).into_response(),
        Err(e) => api_error(e),
    }
}
