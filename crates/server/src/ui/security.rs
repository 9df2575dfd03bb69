//! The security page: open findings by severity with their patch SLA, the
//! credential inventory with expiry and staleness, and what the offline OSV
//! database holds.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use liveops_core::Area;
use maud::html;

use super::support::load;
use super::{Frame, UiSession, api_error, page};
use crate::api::security::{finding_view, list_credentials_for};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn overview(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = match load(&state, &s, &slug).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let project = &projects[idx].0;
    let loaded: Result<_, ApiError> = async {
        let slas = state.db.security_slas(&project.id).await?;
        let findings: Vec<_> = state
            .db
            .security_findings(&project.id, None, None)
            .await?
            .into_iter()
            .filter(|f| f.state != "fixed")
            .map(|f| finding_view(f, &slas))
            .collect();
        let credentials = list_credentials_for(&state, &project.id).await?;
        let osv = state.db.osv_counts().await?;
        Ok((findings, credentials, osv, slas))
    }
    .await;
    let (findings, credentials, osv, slas) = match loaded {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let frame = Frame {
        session: &s.session,
        projects: &projects,
        current: Some(project),
        section: Area::Security.slug(),
    };
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
                    thead { tr { th { "#" } th { "Severity" } th { "Service" } th { "Finding" } th { "Fix" } th { "State" } th { "Patch due" } } }
                    tbody {
                        @for f in &findings {
                            tr data-severity=(f.severity) data-breached=(f.sla_breached) {
                                td { (f.number) }
                                td { (f.severity) }
                                td { (f.service) }
                                td { (f.title) @if let Some(a) = &f.advisory { br; small { (a) " " (f.aliases.as_deref().unwrap_or("")) } } }
                                td { (f.fixed_version.as_deref().unwrap_or("–")) }
                                td { (f.state) @if let Some(r) = &f.accepted_reason { br; small { "accepted: " (r) } } }
                                td {
                                    @if f.sla_breached { strong.error { "breached " } }
                                    (f.sla_due.as_deref().unwrap_or("–"))
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
