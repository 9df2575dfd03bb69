//! Getting started with a project: where each SDK and sender points, with
//! snippets for PostHog (JavaScript and Python), Segment, OpenTelemetry,
//! Alertmanager and Grafana, and a button beside each that checks whether
//! anything has arrived yet. Keys are stored hashed, so a snippet shows
//! the key's first characters, or the whole key right after an admin makes
//! a new one here.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use liveops_core::Permission;
use liveops_core::access::authorize;
use liveops_store::projects::KeyPurpose;
use liveops_telemetry::performance::RouteQuery;
use maud::{Markup, html};
use serde::Deserialize;

use super::prologue::{load, permitted};
use super::{Frame, UiSession};
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;
const NS_PER_MS: i64 = 1_000_000;

#[derive(Debug, Deserialize)]
pub struct CheckQuery {
    /// events, spans or alerts.
    check: Option<String>,
}

/// What a check found.
async fn check(state: &AppState, project_id: &str, what: &str) -> Result<String, String> {
    match what {
        "events" => {
            let id = project_id.to_owned();
            let names = crate::analytics::telemetry(state, move |a| a.event_names(&id))
                .await
                .map_err(|e| e.to_string())?;
            let total: u64 = names.iter().map(|(_, n)| *n).sum();
            Ok(if total == 0 {
                "No events yet. Send one with a snippet above, then check again.".into()
            } else {
                let top: Vec<&str> = names.iter().take(3).map(|(n, _)| n.as_str()).collect();
                format!("{total} events have arrived ({}).", top.join(", "))
            })
        }
        "spans" => {
            let now = state.now_ms();
            let q = RouteQuery {
                from_ns: (now - DAY_MS) * NS_PER_MS,
                to_ns: (now + 60_000) * NS_PER_MS,
                ..RouteQuery::default()
            };
            let id = project_id.to_owned();
            let routes = crate::performance::queries::on_spans(state, move |t| t.routes(&id, &q))
                .await
                .map_err(|e| e.to_string())?;
            let requests: u64 = routes.iter().map(|r| r.requests).sum();
            Ok(if requests == 0 {
                "No spans in the last day yet.".into()
            } else {
                format!(
                    "{requests} requests on {} routes in the last day.",
                    routes.len()
                )
            })
        }
        "alerts" => {
            let n = state
                .db
                .incidents(project_id, false, None, None, 1)
                .await
                .map_err(|e| e.to_string())?
                .len();
            Ok(if n == 0 {
                "No alert has opened an incident yet.".into()
            } else {
                "Alerts have arrived: see the incidents under Production support.".into()
            })
        }
        other => Err(format!("There is nothing called `{other}` to check.")),
    }
}

/// An Alertmanager receiver and a Grafana contact point that send to `url`.
pub(crate) fn alert_snippets(url: &str) -> (String, String) {
    (
        format!(
            "receivers:\n  - name: liveops\n    webhook_configs:\n      - url: {url}\n        send_resolved: true"
        ),
        format!("Contact point → Integration: Webhook\nURL: {url}\nHTTP method: POST"),
    )
}

fn snippet(title: &str, code: &str, check: Option<(&str, &str)>, slug: &str) -> Markup {
    html! {
        section.snippet {
            h3 { (title) }
            pre { code { (code) } }
            @if let Some((what, label)) = check {
                form.inline method="get" action={"/p/" (slug) "/start"} {
                    input type="hidden" name="check" value=(what);
                    button type="submit" { (label) }
                }
            }
        }
    }
}

async fn render(
    state: &AppState,
    s: &UiSession,
    slug: &str,
    fresh_key: Option<String>,
    checked: Option<(String, Result<String, String>)>,
) -> Response {
    let (projects, idx) = or_page!(load(state, s, slug));
    let (project, role) = &projects[idx];
    let admin = authorize(*role, None, Permission::Administer).is_ok();
    let hints = match state.db.key_hints(&project.id).await {
        Ok(h) => h,
        Err(e) => return super::unavailable(e),
    };
    let hint = |p: KeyPurpose, name: &str| {
        hints
            .iter()
            .find(|(k, _)| *k == p)
            .map_or_else(|| format!("<{name}>"), |(_, h)| format!("{h}…"))
    };
    let browser = fresh_key
        .clone()
        .unwrap_or_else(|| hint(KeyPurpose::Browser, "browser key"));
    let server = hint(KeyPurpose::Server, "server key");
    let base = state
        .config
        .public_base()
        .map(str::to_owned)
        .unwrap_or_else(|| "http://liveops.example:8080".into());
    let slug = project.slug.as_str();
    let frame = Frame {
        session: &s.session,
        projects: &projects,
        current: Some(project),
        section: "start",
    };
    let js = format!(
        "npm install posthog-js\n\nimport posthog from 'posthog-js'\nposthog.init('{browser}', {{ api_host: '{base}' }})\nposthog.capture('signed_up')"
    );
    let py = format!(
        "pip install posthog\n\nfrom posthog import Posthog\nposthog = Posthog('{browser}', host='{base}')\nposthog.capture(event='signed_up', distinct_id='user-1')\nposthog.flush()"
    );
    let segment = format!(
        "pip install segment-analytics-python\n\nimport segment.analytics as analytics\nanalytics.write_key = '{browser}'\nanalytics.host = '{base}'\nanalytics.track('user-1', 'Signed Up')\nanalytics.flush()"
    );
    let otel = format!(
        "OTEL_EXPORTER_OTLP_ENDPOINT={base}\nOTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\nOTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20{server}\nOTEL_SERVICE_NAME=checkout"
    );
    let (alertmanager, grafana) =
        alert_snippets(&format!("{base}/ingest/alerts/<integration secret>"));
    let body = html! {
        h1 { "Getting started" }
        p.lede { "Point your SDKs, exporters and alert senders at this server. Each snippet has a button that checks whether anything has arrived." }
        @if let Some((what, result)) = &checked {
            @match result {
                Ok(text) => { p.notice role="status" id={"check-" (what)} { (text) } }
                Err(text) => { p.error role="alert" { (text) } }
            }
        }
        @if fresh_key.is_some() {
            div.notice role="status" {
                p { "A new browser key is in the snippets below. Copy it now: it is shown only once, and the old one no longer works." }
            }
        } @else if admin {
            p { "Keys are kept hashed, so the snippets show their first characters. "
                form.inline method="post" action={"/p/" (slug) "/start/key"} {
                    input type="hidden" name="_csrf" value=(s.session.csrf_token);
                    button type="submit" { "Make a new browser key and show it here" }
                }
            }
        }
        h2 { "Product analytics" }
        (snippet("PostHog, JavaScript", &js, Some(("events", "Check for events")), slug))
        (snippet("PostHog, Python", &py, Some(("events", "Check for events")), slug))
        (snippet("Segment", &segment, Some(("events", "Check for events")), slug))
        h2 { "Traces and metrics" }
        (snippet("OpenTelemetry (environment variables for any SDK)", &otel, Some(("spans", "Check for spans")), slug))
        h2 { "Alerts" }
        p { "Make an alert integration under " a href={"/p/" (slug) "/support"} { "Production support" } " (or with " code { "liveops oncall integration create" } "): its secret goes where the snippets say." }
        (snippet("Prometheus Alertmanager receiver", &alertmanager, Some(("alerts", "Check for alerts")), slug))
        (snippet("Grafana contact point", &grafana, None, slug))
        h2 { "Deployments" }
        p { "Connect GitHub, GitLab or your CI under " a href={"/p/" (slug) "/settings/connections"} { "Connections" } "." }
    };
    (
        StatusCode::OK,
        super::page(
            &format!("Getting started · {}", project.name),
            Some(&frame),
            body,
        ),
    )
        .into_response()
}

/// `GET /p/{project}/start`, with `?check=events|spans|alerts` to look.
pub async fn page(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Query(q): Query<CheckQuery>,
) -> Response {
    let checked = match q.check.as_deref() {
        Some(what) => {
            let (projects, idx) = or_page!(load(&state, &s, &slug));
            let id = projects[idx].0.id.clone();
            Some((what.to_owned(), check(&state, &id, what).await))
        }
        None => None,
    };
    render(&state, &s, &slug, None, checked).await
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// Makes a new browser key and shows the snippets with it.
pub async fn new_key(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may replace the project's keys."
    ));
    let rotated = crate::access::rotate_key(
        &state.db,
        &*state.clock,
        &s.actor(),
        &project,
        KeyPurpose::Browser,
    )
    .await;
    state.ingest_keys.forget_all();
    match rotated {
        Ok(key) => render(&state, &s, &slug, Some(key), None).await,
        Err(e) => super::unavailable(e),
    }
}
