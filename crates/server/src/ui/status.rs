//! The unauthenticated side of support: alert webhooks (authenticated by the
//! integration's secret) and the public status page.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use liveops_core::support::status::{ComponentStatus, daily_uptime, overall_uptime};
use liveops_store::StoreError;
use liveops_store::support::notify;
use liveops_store::support::status::{self, Subscriber};
use maud::html;
use serde::Serialize;
use serde_json::json;

use crate::auth::keys;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, format_ms};
use crate::support::service;

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
    /// For a webhook: the key (16 to 200 characters) its challenge and
    /// every delivery are signed with, in `X-Liveops-Signature`.
    pub secret: Option<String>,
}

/// How soon one address may be sent another confirmation.
const PER_ADDRESS_MS: i64 = 10 * 60 * 1000;

/// A public page of a project that turned its status page on; any other
/// slug is a plain 404.
async fn public_project(
    state: &AppState,
    slug: &str,
) -> ApiResult<liveops_store::projects::Project> {
    match state.db.project_by_slug(slug).await {
        Ok(p) if p.status_page_public => Ok(p),
        Ok(_) | Err(StoreError::NotFound) => {
            Err(ApiError::not_found(format!("no status page `{slug}`")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The start of links in messages: `public_url` when set, never the
/// `Host` header (which the requester chooses); else links stay relative.
fn link_base(state: &AppState) -> Option<String> {
    state.config.public_base().map(str::to_owned)
}

/// Subscribes an e-mail address or a webhook to a project's status
/// updates. No login. Nothing is sent to a subscriber until it confirms:
/// an e-mail address by the link it is mailed, a webhook by answering a
/// signed challenge at once. An address already subscribed is never
/// changed by the request itself, only by its confirmation. Limited per
/// client address, per subscriber address and per page.
pub async fn subscribe(
    State(state): State<AppState>,
    client: crate::auth::client::ClientAddr,
    Path(slug): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    if let Err(wait) = state
        .subscribe_limiter
        .check(client.ip(), std::time::Instant::now())
    {
        return Err(ApiError::too_many(
            "too many subscriptions from your address",
            wait,
        ));
    }
    // A page that is off answers like one that does not exist, whatever
    // the request holds.
    let project = public_project(&state, &slug).await?;
    let req: Subscribe = serde_json::from_slice(&body)
        .map_err(|e| ApiError::unprocessable(format!("the subscription is not valid: {e}")))?;
    let now = state.now_ms();
    let mut ids = Vec::new();
    for name in &req.components {
        let c = state
            .db
            .component(&project.id, name)
            .await
            .map_err(|_| ApiError::unprocessable(format!("no component `{name}`")))?;
        ids.push(c.id);
    }
    let components = (!ids.is_empty()).then_some(ids.as_slice());
    if state
        .db
        .confirmations_sent(&project.id, now - 3_600_000)
        .await?
        >= crate::state::SUBSCRIPTIONS_PER_PAGE_HOUR as i64
    {
        return Err(ApiError::too_many(
            "this status page takes no more subscriptions this hour",
            600,
        ));
    }
    match req.kind.as_str() {
        "email" => subscribe_email(&state, &project, &req.address, components, now).await,
        "webhook" => {
            let secret = req.secret.as_deref().map(str::trim).unwrap_or_default();
            if !(16..=200).contains(&secret.chars().count()) {
                return Err(ApiError::unprocessable(
                    "a webhook subscription needs a `secret` of 16 to 200 characters; its \
                     challenge and deliveries are signed with it",
                ));
            }
            subscribe_webhook(&state, &project, &req.address, secret, components, now).await
        }
        other => Err(ApiError::unprocessable(format!(
            "kind `{other}`: use email or webhook"
        ))),
    }
}

fn too_soon(existing: Option<&Subscriber>, now: i64) -> ApiResult<()> {
    if let Some(sent) = existing.and_then(|s| s.confirm_sent_at)
        && sent > now - PER_ADDRESS_MS
    {
        return Err(ApiError::too_many(
            "this address was asked to confirm a subscription a short while ago",
            u64::try_from((sent + PER_ADDRESS_MS - now) / 1000)
                .unwrap_or(60)
                .max(1),
        ));
    }
    Ok(())
}

async fn subscribe_email(
    state: &AppState,
    project: &liveops_store::projects::Project,
    address: &str,
    components: Option<&[String]>,
    now: i64,
) -> ApiResult<Response> {
    let Some(base) = link_base(state) else {
        return Err(ApiError::conflict(
            "this server cannot mail confirmation links until its public_url is set",
        ));
    };
    let email = liveops_core::Email::parse(address)
        .map_err(|e| ApiError::unprocessable(e.to_string()))?
        .to_string();
    let existing = state
        .db
        .subscriber_by_address(&project.id, "email", &email)
        .await?;
    too_soon(existing.as_ref(), now)?;
    let nonce = keys::random_string(32);
    let id = existing
        .as_ref()
        .map_or_else(liveops_store::new_id, |s| s.id.clone());
    let confirm = format!("{base}/status/{}/confirm?s={id}&n={nonce}", project.slug);
    let mut tx = state.db.begin().await?;
    match &existing {
        Some(s) => status::request_change(&mut tx, &s.id, components, &nonce, now).await?,
        None => {
            let token = keys::random_string(32);
            let unsubscribe = format!(
                "{base}/status/{}/unsubscribe?s={id}&t={token}",
                project.slug
            );
            status::insert_subscriber(
                &mut tx,
                &status::NewSubscriber {
                    id: &id,
                    project_id: &project.id,
                    kind: "email",
                    address: &email,
                    components,
                    confirm_nonce: Some(&nonce),
                    secret: None,
                    confirmed_at: None,
                    unsubscribe_token: &token,
                    unsubscribe_url: &unsubscribe,
                },
                now,
            )
            .await?;
        }
    }
    let subject = format!("Confirm your subscription to {} status", project.name);
    let body = format!(
        "Someone, hopefully you, asked to follow the status page of {}.\n\n\
         Confirm it here (the link opens a page with one button):\n{confirm}\n\n\
         If it was not you, ignore this message: nothing will be sent.\n",
        project.name
    );
    notify::enqueue(
        &mut tx,
        &notify::NewDelivery {
            project_id: &project.id,
            incident_id: None,
            channel: notify::Channel::Email,
            target: &email,
            subject: &subject,
            payload: &body,
            due_at: now,
            signing_key: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    // The same answer for a new address and a known one.
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "confirmation sent", "address": email })),
    )
        .into_response())
}

/// Does the webhook's answer echo the challenge: as the whole body, or as
/// `{"challenge": "…"}`?
fn echoes(answer: &[u8], challenge: &str) -> bool {
    let text = String::from_utf8_lossy(answer);
    let text = text.trim();
    if crate::auth::same_secret(text, challenge) {
        return true;
    }
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            v.get("challenge")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
        })
        .is_some_and(|c| crate::auth::same_secret(&c, challenge))
}

async fn subscribe_webhook(
    state: &AppState,
    project: &liveops_store::projects::Project,
    address: &str,
    secret: &str,
    components: Option<&[String]>,
    now: i64,
) -> ApiResult<Response> {
    let url = state
        .outbound
        .policy()
        .check_url(address)
        .await
        .map_err(|e| ApiError::unprocessable(format!("the webhook cannot be used: {e}")))?
        .to_string();
    let sealed = state.sealer.seal(&url);
    let existing = state
        .db
        .subscriber_by_address(&project.id, "webhook", &sealed)
        .await?;
    too_soon(existing.as_ref(), now)?;
    let challenge = keys::random_string(32);
    let body = json!({
        "type": "subscription.challenge",
        "page": project.slug,
        "challenge": challenge,
    })
    .to_string();
    let signature = crate::signing::sign(secret, body.as_bytes());
    let answer = state
        .outbound
        .post(
            &url,
            &[
                ("content-type", "application/json"),
                (crate::signing::SIGNATURE_HEADER, &signature),
            ],
            body.into_bytes(),
        )
        .await
        .map_err(|e| {
            ApiError::unprocessable(format!("the webhook did not take the challenge: {e}"))
        })?;
    if !echoes(&answer.body, &challenge) {
        return Err(ApiError::unprocessable(
            "the webhook did not answer the challenge: answer with the `challenge` value, \
             as the body or as {\"challenge\": \"…\"}",
        ));
    }
    let sealed_secret = state.sealer.seal(secret);
    let mut tx = state.db.begin().await?;
    let unsubscribe = match &existing {
        Some(s) => {
            status::replace_webhook(&mut tx, &s.id, components, &sealed_secret, now).await?;
            s.unsubscribe_url.clone().unwrap_or_default()
        }
        None => {
            let id = liveops_store::new_id();
            let token = keys::random_string(32);
            let unsubscribe = format!(
                "{}/status/{}/unsubscribe?s={id}&t={token}",
                link_base(state).unwrap_or_default(),
                project.slug
            );
            status::insert_subscriber(
                &mut tx,
                &status::NewSubscriber {
                    id: &id,
                    project_id: &project.id,
                    kind: "webhook",
                    address: &sealed,
                    components,
                    confirm_nonce: None,
                    secret: Some(&sealed_secret),
                    confirmed_at: Some(now),
                    unsubscribe_token: &token,
                    unsubscribe_url: &unsubscribe,
                },
                now,
            )
            .await?;
            unsubscribe
        }
    };
    tx.commit().await?;
    let shown = crate::sealed::redact(&url);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "subscribed": shown, "unsubscribe_url": unsubscribe })),
    )
        .into_response())
}

/// The query of a confirmation or unsubscribe link.
#[derive(Debug, serde::Deserialize)]
pub struct LinkQuery {
    /// The subscriber.
    s: String,
    /// The confirmation nonce.
    n: Option<String>,
    /// The unsubscribe token.
    t: Option<String>,
}

/// A small public page with one button: links in mail are opened by
/// scanners and previews, so a GET only shows the button and the POST acts.
fn one_button(title: &str, text: &str, action: &str, q: &LinkQuery) -> Response {
    let body = html! {
        section.statuspage {
            h1 { (title) }
            p { (text) }
            form method="post" action=(action) {
                input type="hidden" name="s" value=(q.s);
                @if let Some(n) = &q.n { input type="hidden" name="n" value=(n); }
                @if let Some(t) = &q.t { input type="hidden" name="t" value=(t); }
                button type="submit" { (title) }
            }
        }
    };
    let mut resp = super::page(title, None, body).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

fn done_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = html! { section.statuspage { h1 { (title) } p { (text) } } };
    (status, super::page(title, None, body)).into_response()
}

/// `GET /status/{project}/confirm`: the button that confirms.
pub async fn confirm_form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    axum::extract::Query(q): axum::extract::Query<LinkQuery>,
) -> Response {
    if public_project(&state, &slug).await.is_err() {
        return super::error_page(StatusCode::NOT_FOUND, "There is no status page here.");
    }
    one_button(
        "Confirm subscription",
        "Confirm that you want this status page's updates.",
        &format!("/status/{slug}/confirm"),
        &q,
    )
}

/// `POST /status/{project}/confirm`: confirms a subscriber, or the change
/// they asked for, when the link is the one sent last.
pub async fn confirm(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    axum::Form(q): axum::Form<LinkQuery>,
) -> Response {
    let bad = || {
        done_page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This confirmation link is not valid any more. Subscribe again to get a new one.",
        )
    };
    let Ok(project) = public_project(&state, &slug).await else {
        return bad();
    };
    let (Some(nonce), true) = (q.n.as_deref(), liveops_store::is_id(&q.s)) else {
        return bad();
    };
    let sub = match state.db.subscriber(&project.id, &q.s).await {
        Ok(s) => s,
        Err(_) => return bad(),
    };
    if !sub
        .confirm_nonce
        .as_deref()
        .is_some_and(|stored| crate::auth::same_secret(nonce, stored))
    {
        return bad();
    }
    let done = async {
        let mut tx = state.db.begin().await?;
        let ok = status::confirm(&mut tx, &sub.id, nonce, state.now_ms()).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(ok)
    }
    .await;
    match done {
        Ok(true) => done_page(
            StatusCode::OK,
            "Subscribed",
            "You will hear of this status page's incidents and maintenance. Every message \
             carries a link to unsubscribe.",
        ),
        Ok(false) => bad(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /status/{project}/unsubscribe`: the button that unsubscribes.
pub async fn unsubscribe_form(
    Path(slug): Path<String>,
    axum::extract::Query(q): axum::extract::Query<LinkQuery>,
) -> Response {
    one_button(
        "Unsubscribe",
        "Stop receiving this status page's updates.",
        &format!("/status/{slug}/unsubscribe"),
        &q,
    )
}

/// `POST /status/{project}/unsubscribe`: removes the subscriber whose link
/// this is. Works while the status page is off, too: nobody is kept on a
/// list they want to leave. Also RFC 8058's one-click form, whose POST
/// carries the link's query.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let from_body: Option<LinkQuery> = link_query(&body);
    let from_query: Option<LinkQuery> = uri.query().and_then(|q| link_query(q.as_bytes()));
    let Some(q) = from_body.filter(|q| q.t.is_some()).or(from_query) else {
        return done_page(
            StatusCode::BAD_REQUEST,
            "Link not valid",
            "This link is not complete.",
        );
    };
    let gone = || {
        done_page(
            StatusCode::OK,
            "Unsubscribed",
            "You will not receive this status page's updates any more.",
        )
    };
    let project = match state.db.project_by_slug(&slug).await {
        Ok(p) => p,
        Err(_) => return gone(),
    };
    if !liveops_store::is_id(&q.s) {
        return gone();
    }
    let Ok(sub) = state.db.subscriber(&project.id, &q.s).await else {
        return gone();
    };
    let matches = match (&q.t, &sub.unsubscribe_token) {
        (Some(given), Some(stored)) => crate::auth::same_secret(given, stored),
        _ => false,
    };
    if !matches {
        return done_page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This unsubscribe link is not valid.",
        );
    }
    let removed = async {
        let mut tx = state.db.begin().await?;
        status::delete_subscriber(&mut tx, &project.id, &sub.id).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(())
    }
    .await;
    match removed {
        Ok(()) => gone(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Reads `s`, `n` and `t` from a urlencoded text.
fn link_query(raw: &[u8]) -> Option<LinkQuery> {
    let mut q = LinkQuery {
        s: String::new(),
        n: None,
        t: None,
    };
    for (k, v) in url::form_urlencoded::parse(raw) {
        match k.as_ref() {
            "s" => q.s = v.into_owned(),
            "n" => q.n = Some(v.into_owned()),
            "t" => q.t = Some(v.into_owned()),
            _ => {}
        }
    }
    (!q.s.is_empty()).then_some(q)
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
    let project = public_project(state, slug).await?;
    let now = state.now_ms();
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
        // Only incidents someone gave a public update are public; an
        // incident's title and timeline are the team's until then.
        if updates.is_empty() {
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
            return super::error_page(StatusCode::NOT_FOUND, "There is no status page here.");
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
                    (super::charts::uptime_bars(&c.days.iter().map(|d| (d.date.clone(), d.uptime, d.worst)).collect::<Vec<_>>()))
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
    super::page(&format!("{title} status"), None, body).into_response()
}
