//! Project settings in the browser: members, API tokens, the project's
//! keys (browser, server, inbound mail), its public pages and the audit log.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::access::authorize;
use liveops_core::{Permission, Scopes, TimeSpan};
use liveops_store::projects::{KeyPurpose, Project};
use maud::{Markup, html};
use serde::Deserialize;

use super::prologue::{load, permitted, posted};
use super::{Frame, UiSession, error_page};
use crate::access;
use crate::state::{AppState, format_ms};

/// Something to show at the top of the settings page after an action.
enum Flash {
    Secret { what: &'static str, value: String },
    Error(String),
}

async fn render(state: &AppState, s: &UiSession, slug: &str, flash: Option<Flash>) -> Response {
    let (projects, idx) = or_page!(load(state, s, slug));
    let (project, role) = &projects[idx];
    let admin = authorize(*role, None, Permission::Administer).is_ok();
    let loaded = async {
        let members = state.db.members(&project.id).await?;
        let only = (!admin).then_some(s.session.user.id.as_str());
        let tokens = state.db.tokens(&project.id, only).await?;
        let (audit, keys) = if admin {
            (
                state.db.audit_log(&project.id, None, 100).await?,
                state.db.key_hints(&project.id).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok::<_, liveops_store::StoreError>((members, tokens, audit, keys))
    }
    .await;
    let (members, tokens, audit, keys) = match loaded {
        Ok(l) => l,
        Err(e) => return super::unavailable(e),
    };
    let retention = if admin {
        match crate::scaling::retention::settings(state, &project.id).await {
            Ok(r) => Some(r),
            Err(crate::scaling::ScalingError::Store(e)) => return super::unavailable(e),
            Err(e) => {
                return super::unavailable(liveops_store::StoreError::Other(e.to_string()));
            }
        }
    } else {
        None
    };
    let shows_secret = matches!(flash, Some(Flash::Secret { .. }));
    let csrf = &s.session.csrf_token;
    let frame = Frame {
        session: &s.session,
        projects: &projects,
        current: Some(project),
        section: "settings",
    };
    let status = if matches!(flash, Some(Flash::Error(_))) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { "Settings" }
        @match &flash {
            Some(Flash::Secret { what, value }) => {
                div.notice role="status" {
                    p { "Your new " (what) ". Copy it now: it is shown only once." }
                    pre { code.secret { (value) } }
                }
            }
            Some(Flash::Error(e)) => { p.error role="alert" { (e) } }
            None => {}
        }
        section {
            h2 { "Members" }
            table {
                thead { tr { th { "E-mail" } th { "Role" } } }
                tbody {
                    @for m in &members {
                        tr { td { (m.user.email) } td { (m.role) } }
                    }
                }
            }
            @if admin {
                h3 { "Add a person, or change their role" }
                form.stack #add-member method="post" action={"/p/" (project.slug) "/settings/members"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    label for="member-email" { "E-mail" }
                    input #member-email type="email" name="email" required maxlength="254";
                    label for="member-role" { "Role" }
                    select #member-role name="role" {
                        option value="viewer" { "viewer" }
                        option value="responder" selected { "responder" }
                        option value="admin" { "admin" }
                    }
                    @if s.session.user.is_admin {
                        label for="member-password" { "First password (only for someone without an account yet)" }
                        input #member-password type="password" name="password" autocomplete="new-password";
                    }
                    button type="submit" { "Save" }
                }
            }
        }
        section {
            h2 { "API tokens" }
            (tokens_table(project, &tokens, csrf, state.now_ms()))
            h3 { "New token" }
            form.stack method="post" action={"/p/" (project.slug) "/settings/tokens"} {
                input type="hidden" name="_csrf" value=(csrf);
                label for="token-name" { "Name" }
                input #token-name name="name" required maxlength="100" placeholder="ci deploys";
                fieldset {
                    legend { "Scopes" }
                    label { input type="checkbox" name="read" value="on" checked; " read" }
                    label { input type="checkbox" name="write" value="on"; " write" }
                    label { input type="checkbox" name="admin" value="on"; " admin" }
                }
                label for="token-expiry" { "Expires in" }
                select #token-expiry name="expires_in" {
                    option value="7d" { "7 days" }
                    option value="30d" selected { "30 days" }
                    option value="90d" { "90 days" }
                    option value="365d" { "1 year" }
                }
                button type="submit" { "Create token" }
            }
        }
        @if admin {
            section {
                h2 { "Keys" }
                p { a href={"/p/" (project.slug) "/settings/configure"} { "Configuration" } ": schedules, tiers, escalation policies, alert integrations, hooks, status components, SLOs, alert rules, capacity, retention, key funnels, trains and credentials; also as one YAML file." }
                p { a href={"/p/" (project.slug) "/settings/connections"} { "Connections" } ": deployments from GitHub, GitLab and CI, and Slack's buttons on pages." }
                p { "Each key does one thing. The browser key is public (web pages and apps carry it), so it only sends analytics, feedback and error events; OTLP exporters need the server key, the inbound e-mail webhook its own secret." }
                table.keys {
                    thead { tr { th { "Key" } th { "For" } th { "Starts" } th {} } }
                    tbody {
                        @for (purpose, what) in [
                            (KeyPurpose::Browser, "PostHog and Segment SDKs, the feedback widget"),
                            (KeyPurpose::Server, "OpenTelemetry exporters (OTLP traces and metrics)"),
                            (KeyPurpose::Mail, "the inbound e-mail webhook (/ingest/email)"),
                        ] {
                            tr {
                                td { (purpose.as_str()) }
                                td { (what) }
                                td {
                                    @match keys.iter().find(|(p, _)| *p == purpose) {
                                        Some((_, hint)) => { code { (hint) "…" } }
                                        None => { "none yet" }
                                    }
                                }
                                td {
                                    form.inline method="post" action={"/p/" (project.slug) "/settings/keys/" (purpose.as_str())} {
                                        input type="hidden" name="_csrf" value=(csrf);
                                        button type="submit" { "Replace" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Public pages" }
                p { "Off until you turn them on. The status page shows components and the incidents you gave a public update; the changelog shows only backlog items marked public." }
                form.stack method="post" action={"/p/" (project.slug) "/settings/public-pages"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    label { input type="checkbox" name="status_page" value="on" checked[project.status_page_public]; " Status page at " code { "/status/" (project.slug) } }
                    label { input type="checkbox" name="changelog" value="on" checked[project.changelog_public]; " Changelog at " code { "/changelog/" (project.slug) } }
                    button type="submit" { "Save" }
                }
            }
            @if let Some(retention) = &retention {
                section #retention {
                    h2 { "Retention" }
                    p { "How long this project keeps each kind of telemetry. Older data goes a whole day at a time, in the background. Leave the days empty to keep everything." }
                    table {
                        thead { tr { th { "Kind" } th { "Kept" } th { "Default" } th { "Days" } } }
                        tbody {
                            @for k in &retention.kinds {
                                tr {
                                    td { (k.kind) }
                                    td { (kept(k.days)) @if !k.set { " " small { "(default)" } } }
                                    td { (kept(k.default_days)) }
                                    td {
                                        form.inline method="post" action={"/p/" (project.slug) "/settings/retention/" (k.kind)} {
                                            input type="hidden" name="_csrf" value=(csrf);
                                            input type="text" name="days" inputmode="numeric" size="5"
                                                aria-label={"Days of " (k.kind) " to keep"}
                                                value=(k.days.map(|d| d.to_string()).unwrap_or_default());
                                            button type="submit" { "Keep" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Audit log" }
                @if audit.is_empty() {
                    p.empty { "Nothing has been changed in this project yet." }
                } @else {
                    table.audit {
                        thead { tr { th { "When (UTC)" } th { "Who" } th { "What" } th { "Target" } th { "From" } } }
                        tbody {
                            @for e in &audit {
                                tr {
                                    td { (format_ms(e.at)) }
                                    td { (e.actor) " " small { (e.actor_kind) } }
                                    td { code { (e.action) } }
                                    td { (e.target.as_deref().unwrap_or("")) }
                                    td { (e.ip.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut resp = (
        status,
        super::page(&format!("Settings · {}", project.name), Some(&frame), body),
    )
        .into_response();
    if shows_secret {
        // The page holds a secret shown once: no cache may keep it.
        resp.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    resp
}

fn tokens_table(
    project: &Project,
    tokens: &[liveops_store::access::ApiToken],
    csrf: &str,
    now: i64,
) -> Markup {
    html! {
        @if tokens.is_empty() {
            p.empty { "No API tokens yet." }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Starts" } th { "Owner" } th { "Scopes" } th { "Expires" } th { "Last used" } th {} } }
                tbody {
                    @for t in tokens {
                        tr {
                            td { (t.name) }
                            td { code { (t.hint) "…" } }
                            td { (t.user_email) }
                            td { (t.scopes) }
                            td { (format_ms(t.expires_at)) }
                            td { (t.last_used_at.map_or_else(|| "never".to_owned(), format_ms)) }
                            td {
                                @if t.revoked_at.is_some() {
                                    "revoked"
                                } @else if t.expires_at <= now {
                                    "expired"
                                } @else {
                                    form.inline method="post" action={"/p/" (project.slug) "/settings/tokens/" (t.id) "/revoke"} {
                                        input type="hidden" name="_csrf" value=(csrf);
                                        button type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    render(&state, &s, &slug, None).await
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    read: Option<String>,
    write: Option<String>,
    admin: Option<String>,
    expires_in: String,
}

/// Finds the project and the person's role, or answers with an error page.
pub async fn create_token(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<TokenForm>,
) -> Response {
    let (project, role) = or_page!(posted(&state, &s, &slug, &f.csrf));
    let picked: Vec<&str> = [("read", &f.read), ("write", &f.write), ("admin", &f.admin)]
        .into_iter()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k)
        .collect();
    let name = f.name.trim();
    let parsed = (|| {
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err("A token name needs 1 to 100 printable characters.".to_owned());
        }
        let scopes: Scopes = picked.join(",").parse().map_err(|e| format!("{e}."))?;
        if let Some(extra) = scopes
            .iter()
            .find(|sc| !liveops_core::access::role_grants(role, *sc))
        {
            return Err(format!(
                "Your role `{role}` cannot use the `{}` scope.",
                extra.as_str()
            ));
        }
        let span: TimeSpan = f.expires_in.parse().map_err(|e| format!("{e}."))?;
        Ok((scopes, span))
    })();
    let (scopes, span) = match parsed {
        Ok(v) => v,
        Err(e) => return render(&state, &s, &slug, Some(Flash::Error(e))).await,
    };
    let expires_at = state.now_ms().saturating_add(span.millis());
    match access::create_token(
        &state.db,
        &*state.clock,
        &s.actor(),
        access::TokenSpec {
            user: &s.session.user,
            project: Some(&project),
            name,
            scopes: &scopes,
            expires_at,
        },
    )
    .await
    {
        Ok(created) => {
            let flash = Flash::Secret {
                what: "API token",
                value: created.secret,
            };
            render(&state, &s, &slug, Some(flash)).await
        }
        Err(e) => super::unavailable(e),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, id)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let (project, role) = or_page!(posted(&state, &s, &slug, &f.csrf));
    let found = if liveops_store::is_id(&id) {
        state.db.token(&project.id, &id).await.ok()
    } else {
        None
    };
    let Some(token) = found else {
        return error_page(
            StatusCode::NOT_FOUND,
            "There is no such token in this project.",
        );
    };
    let admin = authorize(role, None, Permission::Administer).is_ok();
    if token.user_id != s.session.user.id && !admin {
        return error_page(
            StatusCode::FORBIDDEN,
            "Only project admins may revoke other people's tokens.",
        );
    }
    if token.revoked_at.is_none()
        && let Err(e) =
            access::revoke_token(&state.db, &*state.clock, &s.actor(), &project, &id).await
    {
        return super::unavailable(e);
    }
    Redirect::to(&format!("/p/{slug}/settings")).into_response()
}

/// Replaces one of the project's keys and shows the new one once.
pub async fn rotate_key(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, purpose)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let Ok(purpose) = purpose.parse::<KeyPurpose>() else {
        return error_page(StatusCode::NOT_FOUND, "There is no such key.");
    };
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may replace the project's keys."
    ));
    let rotated = access::rotate_key(&state.db, &*state.clock, &s.actor(), &project, purpose).await;
    state.ingest_keys.forget_all();
    match rotated {
        Ok(key) => {
            let flash = Flash::Secret {
                what: match purpose {
                    KeyPurpose::Browser => "browser key",
                    KeyPurpose::Server => "server key",
                    KeyPurpose::Mail => "inbound mail secret",
                },
                value: key,
            };
            render(&state, &s, &slug, Some(flash)).await
        }
        Err(e) => super::unavailable(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct PublicPagesForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    status_page: Option<String>,
    changelog: Option<String>,
}

/// A retention as the page shows it.
fn kept(days: Option<i64>) -> String {
    days.map_or_else(|| "forever".to_owned(), |d| format!("{d} days"))
}

#[derive(Deserialize)]
pub struct RetentionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    days: String,
}

/// Sets how long the project keeps one kind of telemetry; empty days keep
/// everything.
pub async fn retention(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, kind)): Path<(String, String)>,
    Form(f): Form<RetentionForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may change how long data is kept."
    ));
    let kind = match kind.parse() {
        Ok(k) => k,
        Err(e) => {
            let e: liveops_core::scaling::retention::RetentionError = e;
            return render(&state, &s, &slug, Some(Flash::Error(e.to_string()))).await;
        }
    };
    let days = match f.days.trim() {
        "" => None,
        d => match d.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                let e = format!("Days of {kind} to keep must be a whole number, not “{d}”.");
                return render(&state, &s, &slug, Some(Flash::Error(e))).await;
            }
        },
    };
    match crate::scaling::retention::set(&state, &s.actor(), &project.id, kind, days).await {
        Ok(_) => Redirect::to(&format!("/p/{slug}/settings#retention")).into_response(),
        Err(e) if e.is_client_error() => {
            render(&state, &s, &slug, Some(Flash::Error(e.to_string()))).await
        }
        Err(crate::scaling::ScalingError::Store(e)) => super::unavailable(e),
        Err(e) => super::unavailable(liveops_store::StoreError::Other(e.to_string())),
    }
}

/// Turns the public status page and changelog on or off.
pub async fn public_pages(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<PublicPagesForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may change the public pages."
    ));
    match access::set_public_pages(
        &state.db,
        &*state.clock,
        &s.actor(),
        &project,
        f.status_page.is_some(),
        f.changelog.is_some(),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/p/{slug}/settings")).into_response(),
        Err(e) => super::unavailable(e),
    }
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    email: String,
    role: String,
    #[serde(default)]
    password: String,
}

impl std::fmt::Debug for MemberForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberForm")
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Adds a person to the project with a role below owner (owners are made
/// from the API or CLI), making their account first when an instance
/// admin gives a first password for an address that has none.
pub async fn set_member(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<MemberForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may add people."
    ));
    let flash = match add_member(&state, &s, &project, &f).await {
        Ok(()) => return Redirect::to(&format!("/p/{}/settings", project.slug)).into_response(),
        Err(Ok(message)) => Flash::Error(message),
        Err(Err(e)) => return super::unavailable(e),
    };
    render(&state, &s, &slug, Some(flash)).await
}

/// `Err(Ok(why))` for a person's mistake, `Err(Err(e))` when the store failed.
async fn add_member(
    state: &AppState,
    s: &UiSession,
    project: &Project,
    f: &MemberForm,
) -> Result<(), Result<String, liveops_store::StoreError>> {
    let email = liveops_core::Email::parse(&f.email).map_err(|e| Ok(e.to_string()))?;
    let role: liveops_core::Role = f.role.parse().map_err(|_| Ok("Pick a role.".to_owned()))?;
    if role == liveops_core::Role::Owner {
        return Err(Ok("Owners are made from the API or the CLI.".into()));
    }
    let user = match state.db.user_by_email(&email).await {
        Ok(u) => u,
        Err(liveops_store::StoreError::NotFound) => {
            if !s.session.user.is_admin || f.password.is_empty() {
                return Err(Ok(format!(
                    "{email} has no account yet; an instance admin can make one by giving a first password."
                )));
            }
            let hash = crate::auth::password::hash(&f.password).map_err(|e| Ok(format!("{e}.")))?;
            access::create_user(&state.db, &*state.clock, &s.actor(), &email, &hash, false)
                .await
                .map_err(Err)?
        }
        Err(e) => return Err(Err(e)),
    };
    if state.db.role_of(&project.id, &user.id).await.map_err(Err)?
        == Some(liveops_core::Role::Owner)
    {
        return Err(Ok(format!(
            "{email} is an owner; change owners from the API or the CLI."
        )));
    }
    access::set_member(&state.db, &*state.clock, &s.actor(), project, &user, role)
        .await
        .map_err(Err)
}
