//! The web UI: server-rendered HTML pages that work without JavaScript.
//!
//! Page helpers return a finished error page as their `Err`, which handlers
//! hand straight back; boxing that `Response` would only add noise.
#![allow(clippy::result_large_err)]

/// The value of a step that yields a page when it fails (the sign-in
/// redirect, a missing project, a refused form), or that page.
macro_rules! or_page {
    ($step:expr) => {
        match $step.await {
            Ok(v) => v,
            Err(page) => return page,
        }
    };
}

pub mod act;
mod analytics;
mod analytics_cohorts;
mod analytics_dashboards;
mod analytics_insights;
mod analytics_revenue;
mod analytics_web;
pub mod changelog;
pub mod charts;
mod configure;
mod connections;
mod docs;
mod feedback;
mod improvement;
mod login;
mod me;
mod pages;
mod performance;
mod prologue;
mod releases;
mod reviews;
mod scaling;
mod security;
mod settings;
pub mod setup;
mod start;
pub mod status;
mod style;
mod support;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use liveops_core::{Area, Role};
use liveops_store::access::Session;
use liveops_store::projects::Project;
use maud::{DOCTYPE, Markup, html};

use crate::auth::{SESSION_COOKIE, keys};
use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    routes().route_layer(axum::middleware::from_fn_with_state(state, csrf_guard))
}

/// Every form a signed-in person posts must carry the session's CSRF token
/// (`_csrf`). It is checked here, once for every page, before the handler
/// reads the form; a post without a live session goes on to the handler,
/// which sends the visitor to sign in. `/login` has its own double-submit
/// check, since nobody is signed in yet.
async fn csrf_guard(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if req.method() != axum::http::Method::POST || req.uri().path() == "/login" {
        return next.run(req).await;
    }
    let jar = CookieJar::from_headers(req.headers());
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return next.run(req).await;
    };
    let session = match state
        .db
        .session(&keys::hash(cookie.value()), state.now_ms())
        .await
    {
        Ok(s) => s,
        Err(liveops_store::StoreError::NotFound) => return next.run(req).await,
        Err(e) => return unavailable(e),
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return error_page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
    };
    let sent = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !crate::auth::same_secret(&sent, &session.csrf_token) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired or came from another site. Reload the page and try again.",
        );
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// The largest form the pages take.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/assets/app.css", get(style::css))
        .route("/projects", post(pages::create_project))
        .route("/me/notifications", get(me::page).post(me::add))
        .route("/me/notifications/{id}/delete", post(me::remove))
        .route("/p/{project}", get(pages::overview))
        .route("/p/{project}/start", get(start::page))
        .route("/p/{project}/start/key", post(start::new_key))
        .route("/p/{project}/settings", get(settings::page))
        .route("/p/{project}/settings/members", post(settings::set_member))
        .route("/p/{project}/settings/tokens", post(settings::create_token))
        .route(
            "/p/{project}/settings/tokens/{id}/revoke",
            post(settings::revoke_token),
        )
        .route(
            "/p/{project}/settings/keys/{purpose}",
            post(settings::rotate_key),
        )
        .route(
            "/p/{project}/settings/retention/{kind}",
            post(settings::retention),
        )
        .route(
            "/p/{project}/settings/public-pages",
            post(settings::public_pages),
        )
        .route("/p/{project}/settings/configure", get(configure::page))
        .route(
            "/p/{project}/settings/configure.yaml",
            get(configure::download),
        )
        .route(
            "/p/{project}/settings/configure/file",
            post(configure::apply_file),
        )
        .route(
            "/p/{project}/settings/configure/{kind}",
            get(configure::edit).post(configure::save),
        )
        .route(
            "/p/{project}/settings/configure/{kind}/delete",
            post(configure::delete),
        )
        .route(
            "/p/{project}/settings/configure/{kind}/address",
            post(configure::replace_address),
        )
        .route(
            "/p/{project}/settings/configure/{kind}/overrides",
            post(configure::add_override),
        )
        .route(
            "/p/{project}/settings/configure/{kind}/overrides/delete",
            post(configure::delete_override),
        )
        .route("/p/{project}/settings/connections", get(connections::page))
        .route(
            "/p/{project}/settings/connections/slack",
            post(connections::slack),
        )
        .route(
            "/p/{project}/settings/connections/{provider}",
            post(connections::connect),
        )
        .route("/p/{project}/support", get(support::overview))
        .route("/p/{project}/support/incidents", post(support::open))
        .route(
            "/p/{project}/support/incidents/{number}",
            get(support::incident),
        )
        .route(
            "/p/{project}/support/incidents/{number}/{action}",
            post(support::incident_action),
        )
        .route("/p/{project}/support/errors", get(support::issue_list))
        .route(
            "/p/{project}/support/errors/settings",
            post(support::settings_action),
        )
        .route(
            "/p/{project}/support/errors/{number}",
            get(support::issue_page),
        )
        .route(
            "/p/{project}/support/errors/{number}/{action}",
            post(support::issue_action),
        )
        .route(
            "/p/{project}/support/tickets",
            get(support::tickets).post(support::open_ticket),
        )
        .route(
            "/p/{project}/support/tickets/{number}",
            get(support::ticket),
        )
        .route(
            "/p/{project}/support/tickets/{number}/{action}",
            post(support::ticket_action),
        )
        .route(
            "/p/{project}/support/maintenances",
            post(support::schedule_maintenance),
        )
        .route(
            "/p/{project}/support/maintenances/{id}/{stage}",
            post(support::move_maintenance),
        )
        .route("/p/{project}/analytics", get(analytics::page_view))
        .route(
            "/p/{project}/analytics/features",
            post(analytics::create_feature),
        )
        .route("/p/{project}/analytics/web", get(analytics_web::page_view))
        .route(
            "/p/{project}/analytics/insights",
            get(analytics_insights::list_view).post(analytics_insights::create),
        )
        .route(
            "/p/{project}/analytics/insights/{insight}",
            get(analytics_insights::insight_view),
        )
        .route(
            "/p/{project}/analytics/insights/{insight}/delete",
            post(analytics_insights::delete),
        )
        .route(
            "/p/{project}/analytics/insights/{insight}/goal",
            post(analytics_insights::set_goal),
        )
        .route(
            "/p/{project}/analytics/insights/{insight}/alert",
            post(analytics_insights::set_alert),
        )
        .route(
            "/p/{project}/analytics/dashboards",
            get(analytics_dashboards::list_view).post(analytics_dashboards::create),
        )
        .route(
            "/p/{project}/analytics/dashboards/import",
            post(analytics_dashboards::import),
        )
        .route(
            "/p/{project}/analytics/dashboards/{dashboard}",
            get(analytics_dashboards::dashboard_view),
        )
        .route(
            "/p/{project}/analytics/dashboards/{dashboard}/frame",
            post(analytics_dashboards::set_frame),
        )
        .route(
            "/p/{project}/analytics/dashboards/{dashboard}/export",
            get(analytics_dashboards::export_json),
        )
        .route(
            "/p/{project}/analytics/dashboards/{dashboard}/delete",
            post(analytics_dashboards::delete),
        )
        .route(
            "/p/{project}/analytics/cohorts",
            get(analytics_cohorts::list_view).post(analytics_cohorts::create),
        )
        .route(
            "/p/{project}/analytics/cohorts/{cohort}",
            get(analytics_cohorts::detail_view),
        )
        .route(
            "/p/{project}/analytics/cohorts/{cohort}/delete",
            post(analytics_cohorts::delete),
        )
        .route(
            "/p/{project}/analytics/revenue",
            get(analytics_revenue::page_view),
        )
        .route(
            "/p/{project}/analytics/revenue/settings",
            post(analytics_revenue::save_settings),
        )
        .route(
            "/p/{project}/analytics/revenue/rates",
            post(analytics_revenue::import_rates),
        )
        .route("/p/{project}/analytics/persons", get(analytics::persons))
        .route(
            "/p/{project}/analytics/persons/{distinct_id}",
            get(analytics::person),
        )
        .route(
            "/p/{project}/analytics/persons/{distinct_id}/delete",
            post(analytics::delete_person),
        )
        .route("/p/{project}/performance", get(performance::page_view))
        .route(
            "/p/{project}/performance/traces/{trace}",
            get(performance::trace),
        )
        .route(
            "/p/{project}/performance/findings/{id}",
            post(performance::set_finding),
        )
        .route(
            "/p/{project}/feedback",
            get(feedback::overview).post(feedback::create_feedback),
        )
        .route("/p/{project}/feedback/backlog", post(feedback::create_item))
        .route(
            "/p/{project}/feedback/backlog/{number}",
            get(feedback::item).post(feedback::update_item),
        )
        .route(
            "/p/{project}/feedback/backlog/{number}/merge",
            post(feedback::merge_item),
        )
        .route("/p/{project}/feedback/{number}", get(feedback::feedback))
        .route(
            "/p/{project}/feedback/{number}/action",
            post(feedback::feedback_action),
        )
        .route(
            "/p/{project}/releases",
            get(releases::overview).post(releases::create_release),
        )
        .route("/p/{project}/releases/trains", post(releases::create_train))
        .route("/p/{project}/releases/{version}", get(releases::release))
        .route(
            "/p/{project}/releases/{version}/state",
            post(releases::move_release),
        )
        .route("/p/{project}/docs", get(docs::docs))
        .route("/p/{project}/security", get(security::overview))
        .route(
            "/p/{project}/security/findings/{number}",
            post(security::finding_action),
        )
        .route(
            "/p/{project}/security/credentials",
            post(security::save_credential_form),
        )
        .route("/p/{project}/improvement", get(improvement::overview))
        .route("/p/{project}/scaling", get(scaling::overview))
        .route(
            "/p/{project}/reviews",
            get(reviews::overview).post(reviews::create_review),
        )
        .route(
            "/p/{project}/reviews/postmortems/{number}",
            get(reviews::postmortem),
        )
        .route(
            "/p/{project}/reviews/postmortems/{number}/{action}",
            post(reviews::postmortem_action),
        )
        .route("/p/{project}/reviews/{number}", get(reviews::review))
        .route(
            "/p/{project}/reviews/{number}/{action}",
            post(reviews::review_action),
        )
        .route("/p/{project}/{area}", get(pages::area))
}

/// A signed-in person in the browser.
#[derive(Debug, Clone)]
pub struct UiSession {
    pub session: Session,
    pub ip: Option<String>,
}

impl UiSession {
    /// Who the audit log says made a change from a page.
    pub fn actor(&self) -> liveops_store::audit::Actor {
        liveops_store::audit::Actor {
            kind: liveops_store::audit::ActorKind::Session,
            name: self.session.user.email.clone(),
            ip: self.ip.clone(),
        }
    }
}

/// Pages for signed-in people redirect everyone else to the login page.
impl FromRequestParts<AppState> for UiSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let next = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let to_login =
            || Redirect::to(&format!("/login?next={}", url_encode(&next))).into_response();
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(to_login());
        };
        match state
            .db
            .session(&keys::hash(cookie.value()), state.now_ms())
            .await
        {
            Ok(session) => Ok(UiSession {
                session,
                ip: crate::auth::client::ClientAddr::of(parts, state).to_option_string(),
            }),
            Err(liveops_store::StoreError::NotFound) => Err(to_login()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What the page frame needs to draw navigation.
#[derive(Debug)]
pub struct Frame<'a> {
    pub session: &'a Session,
    pub projects: &'a [(Project, Role)],
    pub current: Option<&'a Project>,
    /// The area or page in view, kept when switching project.
    pub section: &'a str,
}

impl<'a> Frame<'a> {
    /// The frame of a page of `project` in `area`.
    pub fn of(
        s: &'a UiSession,
        projects: &'a [(Project, Role)],
        project: &'a Project,
        area: liveops_core::Area,
    ) -> Frame<'a> {
        Frame {
            session: &s.session,
            projects,
            current: Some(project),
            section: area.slug(),
        }
    }
}

pub fn page(title: &str, frame: Option<&Frame<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · liveops" }
                link rel="stylesheet" href="/assets/app.css";
            }
            body {
                header.top {
                    a.brand href="/" { "liveops" }
                    @if let Some(f) = frame {
                        (switcher(f))
                        span.spacer {}
                        span.who { a href="/me/notifications" title="Your notifications" { (f.session.user.email) } }
                        form.inline method="post" action="/logout" {
                            input type="hidden" name="_csrf" value=(f.session.csrf_token);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                div.shell {
                    @if let Some(f) = frame {
                        @if let Some(p) = f.current {
                            nav.areas aria-label="Areas" {
                                ul {
                                    li { a href={"/p/" (p.slug)} aria-current=[(f.section == "overview").then_some("page")] { "Overview" } }
                                    @for area in Area::ALL {
                                        li { a href={"/p/" (p.slug) "/" (area.slug())} aria-current=[(f.section == area.slug()).then_some("page")] { (area.title()) } }
                                    }
                                    li.sep { a href={"/p/" (p.slug) "/settings"} aria-current=[(f.section == "settings").then_some("page")] { "Settings" } }
                                }
                            }
                        }
                    }
                    main { (body) }
                }
            }
        }
    }
}

fn switcher(f: &Frame<'_>) -> Markup {
    let section = if f.section == "overview" {
        String::new()
    } else {
        format!("/{}", f.section)
    };
    html! {
        details.switcher {
            summary {
                "Project: "
                strong { (f.current.map_or("choose…", |p| p.name.as_str())) }
            }
            ul {
                @for (p, role) in f.projects {
                    li {
                        a href={"/p/" (p.slug) (section)} { (p.name) }
                        " " small { (role) }
                    }
                }
                @if f.projects.is_empty() {
                    li { "No projects yet" }
                }
            }
        }
    }
}

/// Refuses a form whose CSRF token is not the session's.
pub(crate) fn csrf_ok(s: &UiSession, sent: &str) -> Result<(), Response> {
    if crate::auth::same_secret(sent, &s.session.csrf_token) {
        Ok(())
    } else {
        Err(error_page(
            StatusCode::FORBIDDEN,
            "The form expired or came from another site. Reload the page and try again.",
        ))
    }
}

/// An API error from a shared service function, as a page.
pub(crate) fn api_error(e: impl Into<crate::error::ApiError>) -> Response {
    let e: crate::error::ApiError = e.into();
    error_page(e.status(), e.detail().unwrap_or("That did not work."))
}

/// A value escaped for a link's path segment or query (a space as `%20`,
/// which both read as a space).
pub(crate) fn url_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The hidden CSRF field every form that changes something carries.
pub(crate) fn csrf_field(s: &UiSession) -> Markup {
    html! { input type="hidden" name="_csrf" value=(s.session.csrf_token); }
}

/// The page for a database that did not answer: the error goes to the
/// log, never to the page, where it could name hosts and users.
pub fn unavailable(e: liveops_store::StoreError) -> Response {
    tracing::error!(error = %e, "a page could not reach the database");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "liveops cannot reach its database just now. Try again in a minute.",
    )
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let body = page(
        status.canonical_reason().unwrap_or("Error"),
        None,
        html! {
            h1 { (status.canonical_reason().unwrap_or("Error")) }
            p.notice { (message) }
            p { a href="/" { "Back to liveops" } }
        },
    );
    (status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}
