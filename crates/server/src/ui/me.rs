//! Your own notification rules in the browser: how and when liveops
//! reaches you when you are paged (e-mail, a webhook or a Slack URL, for
//! incidents at least so severe, after a wait), added and removed here.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::pages::projects_for;
use super::{Frame, UiSession, csrf_ok};
use crate::state::AppState;
use crate::support::rules::{self, Wanted};

async fn render(
    state: &AppState,
    s: &UiSession,
    error: Option<String>,
    typed: &Wanted,
) -> Response {
    let projects = match projects_for(state, s).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let frame = Frame {
        session: &s.session,
        projects: &projects,
        current: None,
        section: "overview",
    };
    let list = match rules::list(state, &s.session.user.id).await {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let csrf = &s.session.csrf_token;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { "Your notifications" }
        p { "When you are paged, liveops e-mails your address. Add other ways to reach you, each for incidents at least as severe as you choose, after a wait." }
        @if list.is_empty() {
            p.empty { "No rules yet: pages reach you by e-mail at " (s.session.user.email) "." }
        } @else {
            table #rules {
                thead { tr { th { "How" } th { "Where" } th { "From" } th { "After" } th {} } }
                tbody {
                    @for r in &list {
                        tr {
                            td { (r.kind) } td { code { (r.address) } } td { (r.min_severity) }
                            td { (r.delay_secs) " s" }
                            td {
                                form.inline method="post" action={"/me/notifications/" (r.id) "/delete"} {
                                    input type="hidden" name="_csrf" value=(csrf);
                                    button type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add a way to reach you" }
        @if let Some(e) = &error { p.error role="alert" { (e) } }
        form.stack #add-rule method="post" action="/me/notifications" {
            input type="hidden" name="_csrf" value=(csrf);
            label for="rule-kind" { "How" }
            select #rule-kind name="kind" {
                @for k in ["email", "webhook", "slack"] {
                    option value=(k) selected[typed.kind == k] { (k) }
                }
            }
            label for="rule-address" { "E-mail address or URL" }
            input #rule-address name="address" required value=(typed.address);
            label for="rule-severity" { "For incidents at least" }
            select #rule-severity name="min_severity" {
                @for v in ["sev4", "sev3", "sev2", "sev1"] {
                    option value=(v) selected[typed.min_severity.as_deref() == Some(v)] { (v) }
                }
            }
            label for="rule-delay" { "After (seconds)" }
            input #rule-delay name="delay_secs" inputmode="numeric"
                value=(typed.delay_secs.map(|d| d.to_string()).unwrap_or_default());
            button type="submit" { "Add" }
        }
    };
    (
        status,
        super::page("Your notifications", Some(&frame), body),
    )
        .into_response()
}

pub async fn page(State(state): State<AppState>, s: UiSession) -> Response {
    render(&state, &s, None, &Wanted::default()).await
}

#[derive(Deserialize)]
pub struct RuleForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    address: String,
    #[serde(default)]
    min_severity: String,
    #[serde(default)]
    delay_secs: String,
}

impl std::fmt::Debug for RuleForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleForm")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

pub async fn add(State(state): State<AppState>, s: UiSession, Form(f): Form<RuleForm>) -> Response {
    if let Err(page) = csrf_ok(&s, &f.csrf) {
        return page;
    }
    let delay = f.delay_secs.trim();
    let wanted = Wanted {
        kind: f.kind,
        address: f.address,
        min_severity: Some(f.min_severity).filter(|m| !m.is_empty()),
        delay_secs: None,
    };
    let delay_secs = if delay.is_empty() {
        None
    } else {
        match delay.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                return render(
                    &state,
                    &s,
                    Some(format!("`{delay}` is not a number of seconds.")),
                    &wanted,
                )
                .await;
            }
        }
    };
    let wanted = Wanted {
        delay_secs,
        ..wanted
    };
    match rules::add(&state, &s.actor(), &s.session.user.id, &wanted).await {
        Ok(_) => Redirect::to("/me/notifications").into_response(),
        Err(e) if e.status().is_client_error() => {
            render(
                &state,
                &s,
                Some(e.detail().unwrap_or("refused").to_owned()),
                &wanted,
            )
            .await
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

pub async fn remove(
    State(state): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(page) = csrf_ok(&s, &f.csrf) {
        return page;
    }
    match rules::remove(&state, &s.actor(), &s.session.user.id, &id).await {
        Ok(()) => Redirect::to("/me/notifications").into_response(),
        Err(e) if e.status().is_client_error() => {
            render(
                &state,
                &s,
                Some(e.detail().unwrap_or("refused").to_owned()),
                &Wanted::default(),
            )
            .await
        }
        Err(e) => e.into_response(),
    }
}
