//! The unauthenticated side of support: alert webhooks (authenticated by the
//! integration's secret) and the public status page.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use liveops_core::support::status::{ComponentStatus, daily_uptime, overall_uptime};
use liveops_store::StoreError;
use liveops_store::support::intake::IntegrationKind;
use maud::html;
use serde::Serialize;
use serde_json::json;

use crate::auth::keys;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, format_ms, now_ms};
use crate::support::service;
use crate::support::tickets::{self, TicketFields, TicketRequest};

/// Answers Alertmanager, Grafana and generic webhooks.
pub async fn alerts_by_path(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    ingest(&state, &secret, &body).await
}

/// The same, with the secret in `Authorization: Bearer …`.
pub async fn alerts_by_header(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::unauthorized("send the integration secret in the path or as a bearer token")
        })?;
    ingest(&state, secret.trim(), &body).await
}

async fn ingest(state: &AppState, secret: &str, body: &[u8]) -> ApiResult<Response> {
    let integration = match state.db.integration_by_secret(&keys::hash(secret)).await {
        Ok(i) => i,
        Err(StoreError::NotFound) => {
            return Err(ApiError::unauthorized("unknown integration secret"));
        }
        Err(e) => return Err(e.into()),
    };
    let parsed = match integration.kind {
        IntegrationKind::Alertmanager | IntegrationKind::Grafana => {
            liveops_wire::alerts::parse_alertmanager(body)
        }
        IntegrationKind::Generic => liveops_wire::alerts::parse_generic(body),
    };
    let group = match parsed {
        Ok(g) => g,
        Err(e) => {
            state
                .metrics
                .ingest_rejected
                .get_or_create(&crate::metrics::KindLabels {
                    kind: "alert".into(),
                })
                .inc();
            return Err(ApiError::bad_request(e.to_string()));
        }
    };
    let intake = service::ingest_alerts(&state.db, &integration, &group).await?;
    state
        .metrics
        .ingested
        .get_or_create(&crate::metrics::KindLabels {
            kind: "alert".into(),
        })
        .inc_by(group.alerts.len() as u64);
    Ok(Json(json!({
        "status": "ok",
        "incident": intake.incident,
        "opened": intake.opened,
        "resolved": intake.resolved,
    }))
    .into_response())
}

/// A status-page subscription request.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// email or webhook.
    pub kind: String,
    pub address: String,
    /// Component names to follow; all when empty.
    #[serde(default)]
    pub components: Vec<String>,
}

/// Subscribes an e-mail address or webhook to a project's status updates. No
/// login; limited per client address.
pub async fn subscribe(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    Path(slug): Path<String>,
    crate::error::ApiJson(req): crate::error::ApiJson<Subscribe>,
) -> ApiResult<Response> {
    if let Err(wait) = state
        .subscribe_limiter
        .check(peer.ip(), std::time::Instant::now())
    {
        return Err(ApiError::too_many(
            "too many subscriptions from your address",
            wait,
        ));
    }
    let project = match state.db.project_by_slug(&slug).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            return Err(ApiError::not_found(format!("no status page `{slug}`")));
        }
        Err(e) => return Err(e.into()),
    };
    let address = match req.kind.as_str() {
        "email" => liveops_core::Email::parse(&req.address)
            .map_err(|e| ApiError::unprocessable(e.to_string()))?
            .to_string(),
        "webhook" => {
            let u = url::Url::parse(req.address.trim()).map_err(|e| {
                ApiError::unprocessable(format!("`{}` is not a URL: {e}", req.address))
            })?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(ApiError::unprocessable(
                    "a webhook must be an http or https URL",
                ));
            }
            u.to_string()
        }
        other => {
            return Err(ApiError::unprocessable(format!(
                "kind `{other}`: use email or webhook"
            )));
        }
    };
    let mut ids = Vec::new();
    for name in &req.components {
        let c = state
            .db
            .component(&project.id, name)
            .await
            .map_err(|_| ApiError::unprocessable(format!("no component `{name}`")))?;
        ids.push(c.id);
    }
    let components = (!ids.is_empty()).then(|| ids.join(","));
    let stored = if req.kind == "webhook" {
        state.sealer.seal(&address)
    } else {
        address.clone()
    };
    let mut tx = state.db.begin().await?;
    liveops_store::support::status::insert_subscriber(
        &mut tx,
        &project.id,
        &req.kind,
        &stored,
        components.as_deref(),
        now_ms(),
    )
    .await?;
    tx.commit().await?;
    let shown = crate::security::sealed::redact(&address);
    Ok((StatusCode::CREATED, Json(json!({ "subscribed": shown }))).into_response())
}

/// An inbound e-mail as a mail provider's inbound webhook posts it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundEmail {
    pub from: String,
    pub subject: String,
    pub text: String,
}

/// Opens a ticket from an inbound e-mail. Authenticated by the project's
/// ingest key as a bearer token.
pub async fn inbound_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::error::ApiJson(mail): crate::error::ApiJson<InboundEmail>,
) -> ApiResult<Response> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("send the project's ingest key as a bearer token"))?;
    let project = match state
        .db
        .project_by_ingest_hash(&keys::hash(key.trim()))
        .await
    {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(ApiError::unauthorized("unknown ingest key")),
        Err(e) => return Err(e.into()),
    };
    // "Name <address>" or a bare address.
    let from = mail
        .from
        .rsplit_once('<')
        .map_or(mail.from.as_str(), |(_, rest)| rest.trim_end_matches('>'))
        .trim()
        .to_owned();
    let actor = liveops_store::audit::Actor {
        kind: liveops_store::audit::ActorKind::System,
        name: "inbound-email".into(),
        ip: None,
    };
    let req = TicketRequest::parse(&TicketFields {
        subject: &mail.subject,
        requester: &from,
        body: &mail.text,
        ..TicketFields::default()
    })
    .map_err(ApiError::unprocessable)?;
    let ticket = tickets::open(&state.db, &project.id, &actor, &req, "email").await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "ticket": ticket.number })),
    )
        .into_response())
}

#[derive(Debug, Serialize)]
struct StatusComponent {
    id: String,
    name: String,
    description: Option<String>,
    status: &'static str,
    uptime_90d: Option<f64>,
    days: Vec<StatusDay>,
}

#[derive(Debug, Serialize)]
struct StatusDay {
    date: String,
    uptime: f64,
    worst: &'static str,
}

#[derive(Debug, Serialize)]
struct StatusUpdate {
    status: String,
    body: Option<String>,
    created_at: String,
}

#[derive(Debug, Serialize)]
struct StatusIncident {
    number: i64,
    name: String,
    status: &'static str,
    impact: &'static str,
    created_at: String,
    resolved_at: Option<String>,
    updates: Vec<StatusUpdate>,
}

#[derive(Debug, Serialize)]
struct StatusMaintenance {
    title: String,
    body: Option<String>,
    status: &'static str,
    scheduled_for: String,
    scheduled_until: String,
}

#[derive(Debug, Serialize)]
struct StatusPage {
    page: serde_json::Value,
    status: serde_json::Value,
    components: Vec<StatusComponent>,
    incidents: Vec<StatusIncident>,
    scheduled_maintenances: Vec<StatusMaintenance>,
}

async fn status_page(state: &AppState, slug: &str) -> ApiResult<StatusPage> {
    let project = match state.db.project_by_slug(slug).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            return Err(ApiError::not_found(format!("no status page `{slug}`")));
        }
        Err(e) => return Err(e.into()),
    };
    let now = now_ms();
    let days = 90;
    let from = Timestamp::from_millisecond(now)
        .map_err(ApiError::internal)?
        .checked_sub(SignedDuration::from_hours(24 * days as i64))
        .map_err(ApiError::internal)?;
    let mut components = Vec::new();
    let mut worst = ComponentStatus::Operational;
    for c in state.db.components(&project.id).await? {
        let (before, changes) = state
            .db
            .component_history(&c.id, from.as_millisecond())
            .await?;
        let changes: Vec<(Timestamp, ComponentStatus)> = changes
            .into_iter()
            .filter_map(|(at, s)| Timestamp::from_millisecond(at).ok().map(|t| (t, s)))
            .collect();
        // Before a component existed it counts as operational.
        let history = daily_uptime(
            before.unwrap_or(ComponentStatus::Operational),
            &changes,
            from,
            days,
        );
        worst = worst.max(c.status);
        components.push(StatusComponent {
            id: c.id,
            name: c.name,
            description: c.description,
            status: c.status.as_str(),
            uptime_90d: overall_uptime(&history),
            days: history
                .iter()
                .map(|d| StatusDay {
                    date: d.start.strftime("%Y-%m-%d").to_string(),
                    uptime: d.uptime,
                    worst: d.worst.as_str(),
                })
                .collect(),
        });
    }
    let mut incidents = Vec::new();
    let recent = state
        .db
        .incidents(&project.id, false, Some(now - 7 * 86_400_000), None, 50)
        .await?;
    for i in recent {
        let events = state.db.incident_events(&i.id).await?;
        let mut conn = state.db.pool().acquire().await.map_err(StoreError::from)?;
        let affects = !liveops_store::support::status::components_of_incident(&mut conn, &i.id)
            .await?
            .is_empty();
        drop(conn);
        let updates: Vec<StatusUpdate> = events
            .into_iter()
            .filter(|e| e.public)
            .rev()
            .map(|e| StatusUpdate {
                status: e.kind,
                body: e.body,
                created_at: format_ms(e.at),
            })
            .collect();
        // Only incidents that touch a component or were given a public update are public.
        if !affects && updates.is_empty() {
            continue;
        }
        if !i.state.is_open() && i.resolved_at.is_some_and(|r| r < now - 86_400_000) {
            continue;
        }
        incidents.push(StatusIncident {
            number: i.number,
            name: i.title.clone(),
            status: i.stage.as_str(),
            impact: match service::impact(i.severity) {
                ComponentStatus::MajorOutage => "critical",
                ComponentStatus::PartialOutage => "major",
                _ => "minor",
            },
            created_at: format_ms(i.created_at),
            resolved_at: i.resolved_at.map(format_ms),
            updates,
        });
    }
    let scheduled_maintenances = state
        .db
        .maintenances(&project.id, now)
        .await?
        .into_iter()
        .map(|m| StatusMaintenance {
            status: m.state.as_str(),
            title: m.title,
            body: m.body,
            scheduled_for: format_ms(m.starts_at),
            scheduled_until: format_ms(m.ends_at),
        })
        .collect();
    let (indicator, description) = match worst {
        ComponentStatus::MajorOutage => ("critical", "Major outage"),
        ComponentStatus::PartialOutage => ("major", "Partial outage"),
        ComponentStatus::DegradedPerformance => ("minor", "Degraded performance"),
        ComponentStatus::UnderMaintenance => ("maintenance", "Under maintenance"),
        ComponentStatus::Operational => ("none", "All systems operational"),
    };
    Ok(StatusPage {
        page: json!({ "name": project.name, "slug": project.slug, "updated_at": format_ms(now) }),
        status: json!({ "indicator": indicator, "description": description }),
        components,
        incidents,
        scheduled_maintenances,
    })
}

/// `/status/{project}` as a page, `/status/{project}.json` as JSON. No login.
pub async fn status(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    if let Some(slug) = name.strip_suffix(".json") {
        return match status_page(&state, slug).await {
            Ok(p) => ([(header::CACHE_CONTROL, "public, max-age=30")], Json(p)).into_response(),
            Err(e) => e.into_response(),
        };
    }
    let page = match status_page(&state, &name).await {
        Ok(p) => p,
        Err(e) if e.status() == StatusCode::NOT_FOUND => {
            return crate::ui::error_page(StatusCode::NOT_FOUND, "There is no status page here.");
        }
        Err(e) => return e.into_response(),
    };
    let title = page.page["name"].as_str().unwrap_or("Status").to_owned();
    let body = html! {
        section.statuspage {
            h1 { (title) " status" }
            p.overall data-indicator=(page.status["indicator"].as_str().unwrap_or("none")) {
                (page.status["description"].as_str().unwrap_or(""))
            }
            @if !page.incidents.is_empty() {
                h2 { "Incidents" }
                @for i in &page.incidents {
                    article.incident data-status=(i.status) {
                        h3 { (i.name) " " small { (i.status) } }
                        @for u in &i.updates {
                            p { strong { (u.status) } " — " (u.body.as_deref().unwrap_or("")) " " small { (u.created_at) } }
                        }
                    }
                }
            }
            h2 { "Components" }
            @if page.components.is_empty() {
                p.empty { "No components are listed yet." }
            }
            @for c in &page.components {
                div.component data-status=(c.status) {
                    h3 { (c.name) " " span.state { (ComponentStatus::ALL.iter().find(|s| s.as_str() == c.status).map_or(c.status, |s| s.label())) } }
                    (crate::ui::charts::uptime_bars(&c.days.iter().map(|d| (d.date.clone(), d.uptime, d.worst)).collect::<Vec<_>>()))
                    p.uptime { (format!("{:.3}", c.uptime_90d.unwrap_or(1.0) * 100.0)) "% uptime over 90 days" }
                }
            }
            @if !page.scheduled_maintenances.is_empty() {
                h2 { "Scheduled maintenance" }
                @for m in &page.scheduled_maintenances {
                    p { strong { (m.title) } " " (m.scheduled_for) " – " (m.scheduled_until) " " small { (m.status) } }
                }
            }
            p { a href={"/status/" (page.page["slug"].as_str().unwrap_or("")) ".json"} { "JSON" } }
        }
    };
    crate::ui::page(&format!("{title} status"), None, body).into_response()
}
