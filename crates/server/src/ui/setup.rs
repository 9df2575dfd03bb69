//! First run: a server with no users shows a one-time page that makes the
//! first admin. It asks for the setup token the server printed in its log
//! at start, so nobody else on the network can claim the server; once a
//! user exists the page is gone.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use liveops_core::Email;
use maud::{Markup, html};
use serde::Deserialize;

use super::{error_page, page};
use crate::auth::{LOGIN_CSRF_COOKIE, keys, password, same_secret};
use crate::state::AppState;

/// What was typed, and what is wrong with it, field by field.
#[derive(Debug, Default)]
struct Errors {
    token: Option<String>,
    email: Option<String>,
    password: Option<String>,
    again: Option<String>,
}

impl Errors {
    fn any(&self) -> bool {
        self.token.is_some()
            || self.email.is_some()
            || self.password.is_some()
            || self.again.is_some()
    }
}

fn field_error(e: &Option<String>, id: &str) -> Markup {
    html! {
        @if let Some(m) = e {
            span.field-error id=(id) role="alert" { (m) }
        }
    }
}

fn render(csrf: &str, email: &str, errors: &Errors) -> Markup {
    page(
        "Set up liveops",
        None,
        html! {
            section.login.setup {
                h1 { "Set up liveops" }
                p { "This server has no users yet. Make the first admin: they can then add projects and people." }
                p { "The setup token is in the server's log, on the line that says this server has no users yet. It changes at every start." }
                form method="post" action="/setup" novalidate {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="token" { "Setup token" }
                    input #token type="text" name="token" required autocomplete="off" autofocus
                        aria-invalid=[errors.token.as_ref().map(|_| "true")];
                    (field_error(&errors.token, "token-error"))
                    label for="email" { "Your e-mail address" }
                    input #email type="email" name="email" value=(email) required autocomplete="username"
                        aria-invalid=[errors.email.as_ref().map(|_| "true")];
                    (field_error(&errors.email, "email-error"))
                    label for="password" { "Password" }
                    input #password type="password" name="password" required autocomplete="new-password"
                        aria-invalid=[errors.password.as_ref().map(|_| "true")];
                    (field_error(&errors.password, "password-error"))
                    label for="again" { "The password again" }
                    input #again type="password" name="again" required autocomplete="new-password"
                        aria-invalid=[errors.again.as_ref().map(|_| "true")];
                    (field_error(&errors.again, "again-error"))
                    button type="submit" { "Make the first admin" }
                }
            }
        },
    )
}

fn csrf_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build((LOGIN_CSRF_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.secure_cookies())
        .path("/")
        .build()
}

fn unavailable(e: liveops_store::StoreError) -> Response {
    tracing::error!(error = %e, "the setup page could not reach the database");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Setting up is not possible just now. Try again in a minute.",
    )
}

/// `GET /setup`: the form, while the server has no user.
pub async fn form(State(state): State<AppState>, jar: CookieJar) -> Response {
    match state.db.has_users().await {
        Ok(true) => return Redirect::to("/login").into_response(),
        Ok(false) => {}
        Err(e) => return unavailable(e),
    }
    let csrf = keys::random_string(32);
    let jar = jar.add(csrf_cookie(&state, csrf.clone()));
    (jar, render(&csrf, "", &Errors::default())).into_response()
}

#[derive(Deserialize)]
pub struct SetupForm {
    csrf: String,
    token: String,
    email: String,
    password: String,
    again: String,
}

impl std::fmt::Debug for SetupForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupForm")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// `POST /setup`: makes the first admin, then sends them to sign in.
pub async fn submit(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(f): Form<SetupForm>,
) -> Response {
    let expected = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|e| same_secret(&f.csrf, &e)) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The setup form expired or came from another site. Open the setup page again.",
        );
    }
    match state.db.has_users().await {
        Ok(true) => return Redirect::to("/login").into_response(),
        Ok(false) => {}
        Err(e) => return unavailable(e),
    }
    let mut errors = Errors::default();
    let token_ok = same_secret(f.token.trim(), &state.setup_token);
    if !token_ok {
        errors.token = Some("That is not the setup token in this server's log.".into());
    }
    let email = Email::parse(&f.email);
    if email.is_err() {
        errors.email = Some("That is not an e-mail address.".into());
    }
    let hash = password::hash(&f.password);
    if let Err(e) = &hash {
        errors.password = Some(format!("{e}."));
    } else if f.password != f.again {
        errors.again = Some("The two passwords differ.".into());
    }
    let (Ok(email), Ok(hash), false) = (email, hash, errors.any()) else {
        let status = if token_ok {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::FORBIDDEN
        };
        return (status, render(&f.csrf, &f.email, &errors)).into_response();
    };
    match crate::access::create_first_admin(&state.db, &*state.clock, &email, &hash).await {
        Ok(Some(user)) => {
            tracing::info!(email = %user.email, "the first admin was made on the setup page");
            let jar = jar.remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/"));
            (jar, Redirect::to("/login")).into_response()
        }
        // Someone else was first.
        Ok(None) => Redirect::to("/login").into_response(),
        Err(e) => unavailable(e),
    }
}
