//! The pages behind the links a page carries: `GET /act/{token}` shows the
//! incident and one button, and only `POST /act/{token}` acknowledges,
//! escalates or resolves, so a mail scanner that follows links changes
//! nothing. No login: the signed, single-use token is the credential.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::error::ApiError;
use crate::state::{AppState, format_ms};
use crate::support::links;

fn refused(e: crate::support::SupportError) -> Response {
    let e = ApiError::from(e);
    let status = match e.status() {
        StatusCode::UNAUTHORIZED => StatusCode::FORBIDDEN,
        s => s,
    };
    super::error_page(status, e.detail().unwrap_or("This link cannot be used."))
}

fn no_store(body: maud::Markup, status: StatusCode) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// `GET /act/{token}`: what the link would do, and the button that does it.
pub async fn confirm_form(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let (claims, incident) = match links::preview(&state, &token).await {
        Ok(found) => found,
        Err(e) => return refused(e),
    };
    let verb = claims.action.verb();
    let title = format!("{verb} incident #{}", incident.number);
    let body = html! {
        section.act {
            h1 { (title) }
            p { strong { (incident.severity.as_str().to_uppercase()) } " · " (incident.title) }
            p { "It is " (incident.state.as_str()) " since " (format_ms(incident.created_at)) "." }
            p { "The page went to " (claims.recipient) ". The link works once, until "
                (format_ms(claims.expires_at)) "." }
            form method="post" action={"/act/" (token)} {
                button type="submit" { (verb) }
            }
        }
    };
    no_store(super::page(&title, None, body), StatusCode::OK)
}

/// `POST /act/{token}`: does it, once.
pub async fn act(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match links::act(&state, &token, None, "link").await {
        Ok((action, incident)) => {
            let title = format!("Incident #{} {}", incident.number, action.done());
            let body = html! {
                section.act {
                    h1 { (title) }
                    p { (incident.title) " is now " (incident.state.as_str()) "." }
                    p { a href="/" { "Sign in to liveops" } " to follow it." }
                }
            };
            no_store(super::page(&title, None, body), StatusCode::OK)
        }
        Err(e) => refused(e),
    }
}
