//! A project's connections in the browser: the Git hosts and CI systems it
//! takes deployments, pull requests and releases from (each secret shown
//! once, with where to paste it), and the Slack signing secret that lets
//! the buttons on pages acknowledge.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use liveops_core::Permission;
use liveops_core::access::authorize;
use maud::html;
use serde::Deserialize;

use super::prologue::{load, permitted};
use super::{Frame, UiSession, error_page};
use crate::releases::hooks::{self, Provider};
use crate::state::AppState;

/// What to show at the top after an action.
enum Flash {
    Secret { provider: Provider, secret: String },
    Saved(String),
    Error(String),
}

fn how(p: Provider) -> &'static str {
    match p {
        Provider::GitHub => {
            "In the repository: Settings → Webhooks → Add webhook. Payload URL as above, content type application/json, this secret; events: pushes, pull requests, deployment statuses and releases."
        }
        Provider::GitLab => {
            "In the project: Settings → Webhooks. URL as above, this secret as the secret token; triggers: push, merge request, deployment and release events."
        }
        Provider::Ci => {
            "After a deployment, POST the deployment JSON (service, version, environment, commit, commits) to the URL above with X-Liveops-Signature: sha256=<hex HMAC-SHA256 of the body under this secret>."
        }
    }
}

fn title(p: Provider) -> &'static str {
    match p {
        Provider::GitHub => "GitHub",
        Provider::GitLab => "GitLab",
        Provider::Ci => "CI",
    }
}

async fn render(state: &AppState, s: &UiSession, slug: &str, flash: Option<Flash>) -> Response {
    let (projects, idx) = or_page!(load(state, s, slug));
    let (project, role) = &projects[idx];
    if authorize(*role, None, Permission::Administer).is_err() {
        let frame = Frame {
            session: &s.session,
            projects: &projects,
            current: Some(project),
            section: "settings",
        };
        let body = html! {
            h1 { "Connections" }
            p { "Only the project's admins see and change its connections to Git hosts, CI and Slack." }
        };
        return super::page(
            &format!("Connections · {}", project.name),
            Some(&frame),
            body,
        )
        .into_response();
    }
    let loaded = async {
        let senders = hooks::list(state, &project.id, &project.slug).await?;
        let slack = state.db.slack_signing_secret(&project.id).await?.is_some();
        Ok::<_, crate::releases::ReleasesError>((senders, slack))
    }
    .await;
    let (senders, slack) = match loaded {
        Ok(l) => l,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let base = state
        .config
        .public_base()
        .map(str::to_owned)
        .unwrap_or_default();
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
        h1 { "Connections" }
        p { a href={"/p/" (project.slug) "/settings"} { "← Settings" } }
        @match &flash {
            Some(Flash::Secret { provider, secret }) => {
                div.notice role="status" {
                    p { "The " (title(*provider)) " secret. Copy it now: it is shown only once." }
                    pre { code.secret { (secret) } }
                    p { (how(*provider)) }
                }
            }
            Some(Flash::Saved(m)) => { p.notice role="status" { (m) } }
            Some(Flash::Error(e)) => { p.error role="alert" { (e) } }
            None => {}
        }
        section {
            h2 { "Deployments from Git hosts and CI" }
            p { "Pushes, pull requests, deployments and releases, as they happen. Each sender signs with its own secret; a delivery that does not match is refused and records nothing." }
            table.senders {
                thead { tr { th { "Sender" } th { "Address" } th { "Since" } th {} } }
                tbody {
                    @for p in Provider::ALL {
                        @let found = senders.iter().find(|h| h.provider == p.as_str());
                        tr {
                            td { (title(p)) }
                            td { code { (base) (p.path(&project.slug)) } }
                            td { @match found { Some(h) => { (h.created_at) } None => { "not connected" } } }
                            td {
                                form.inline method="post" action={"/p/" (project.slug) "/settings/connections/" (p.as_str())} {
                                    input type="hidden" name="_csrf" value=(csrf);
                                    button type="submit" { @if found.is_some() { "Replace secret" } @else { "Connect" } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Slack buttons" }
            p { "Pages sent to Slack carry Acknowledge, Escalate and Resolve buttons. In your Slack app, set Interactivity's Request URL to "
                code { (base) "/ingest/slack/" (project.slug) } " and give its signing secret here." }
            p { "Signing secret: " strong { @if slack { "set" } @else { "not set" } } }
            form.stack method="post" action={"/p/" (project.slug) "/settings/connections/slack"} {
                input type="hidden" name="_csrf" value=(csrf);
                label for="signing-secret" { "Signing secret (empty turns the buttons off)" }
                input #signing-secret type="password" name="signing_secret" autocomplete="off";
                button type="submit" { "Save" }
            }
        }
    };
    (
        status,
        super::page(
            &format!("Connections · {}", project.name),
            Some(&frame),
            body,
        ),
    )
        .into_response()
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

/// Connects a sender, or replaces its secret, and shows the secret once.
pub async fn connect(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, provider)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may connect Git hosts and CI."
    ));
    let Ok(provider) = Provider::parse(&provider) else {
        return error_page(StatusCode::NOT_FOUND, "There is no such sender.");
    };
    let flash = match hooks::create_secret(&state, &s.actor(), &project.id, &project.slug, provider)
        .await
    {
        Ok(made) => Flash::Secret {
            provider,
            secret: made.secret,
        },
        Err(e) if e.is_client_error() => Flash::Error(e.to_string()),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    render(&state, &s, &slug, Some(flash)).await
}

#[derive(Deserialize)]
pub struct SlackForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    signing_secret: String,
}

impl std::fmt::Debug for SlackForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackForm").finish_non_exhaustive()
    }
}

/// Sets or clears the Slack signing secret.
pub async fn slack(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<SlackForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may set the Slack signing secret."
    ));
    let secret = Some(f.signing_secret.as_str()).filter(|v| !v.trim().is_empty());
    let flash = match crate::support::links::set_slack_secret(
        &state,
        &s.actor(),
        &project.id,
        secret,
    )
    .await
    {
        Ok(()) => Flash::Saved(
            if secret.is_some() {
                "Saved: Slack's buttons now work."
            } else {
                "Cleared: Slack's buttons are off."
            }
            .into(),
        ),
        Err(e) if e.is_client_error() => Flash::Error(e.to_string()),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    render(&state, &s, &slug, Some(flash)).await
}
