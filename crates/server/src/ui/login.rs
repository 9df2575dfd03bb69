//! Signing in and out of the web UI.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use liveops_core::Email;
use maud::html;
use serde::Deserialize;

use super::{error_page, page};
use crate::auth::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, keys, password};
use crate::state::{AppState, now_ms};

/// Failed logins in a row before an account is locked.
const LOCK_AFTER: i64 = 10;
/// How long a locked account stays locked.
const LOCK_MS: i64 = 15 * 60 * 1000;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only same-site paths may follow a login, never another host.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn cookie<'c>(state: &AppState, name: &'c str, value: String) -> Cookie<'c> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies())
        .path("/")
        .build()
}

fn render(csrf: &str, next: &str, email: &str, error: Option<&str>) -> maud::Markup {
    page(
        "Sign in",
        None,
        html! {
            section.login {
                h1 { "Sign in to liveops" }
                @if let Some(e) = error {
                    p.error role="alert" { (e) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="next" value=(next);
                    label for="email" { "E-mail" }
                    input #email type="email" name="email" value=(email) required autocomplete="username" autofocus;
                    label for="password" { "Password" }
                    input #password type="password" name="password" required autocomplete="current-password";
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

pub async fn form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Response {
    let csrf = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 32)
        .unwrap_or_else(|| keys::random_string(32));
    let jar = jar.add(cookie(&state, LOGIN_CSRF_COOKIE, csrf.clone()));
    let next = safe_next(q.next.as_deref());
    (jar, render(&csrf, &next, "", None)).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let expected = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    if expected.as_deref() != Some(f.csrf.as_str()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The sign-in form expired or came from another site. Open the sign-in page again.",
        );
    }
    let fail = |status: StatusCode, msg: &str| {
        (status, render(&f.csrf, &next, &f.email, Some(msg))).into_response()
    };
    if let Err(wait) = state.login_limiter.check(peer.ip(), Instant::now()) {
        return fail(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many sign-in attempts from your address. Try again in {wait} seconds."),
        );
    }
    let wrong = "Wrong e-mail address or password.";
    let Ok(email) = Email::parse(&f.email) else {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "That is not an e-mail address.",
        );
    };
    let now = now_ms();
    let record = match state.db.login_record(&email).await {
        Ok(r) => Some(r),
        Err(liveops_store::StoreError::NotFound) => None,
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let stored_hash = record.as_ref().map_or_else(
        || password::decoy_hash().to_owned(),
        |r| r.password_hash.clone(),
    );
    let given = f.password.clone();
    let matches = tokio::task::spawn_blocking(move || password::verify(&given, &stored_hash))
        .await
        .unwrap_or(false);
    let Some(record) = record else {
        return fail(StatusCode::UNAUTHORIZED, wrong);
    };
    if record.locked_until.is_some_and(|t| t > now) {
        return fail(
            StatusCode::TOO_MANY_REQUESTS,
            "This account is locked for a while after too many failed sign-ins.",
        );
    }
    if !matches {
        if let Err(e) = state
            .db
            .record_failed_login(&record.user.id, LOCK_AFTER, now + LOCK_MS)
            .await
        {
            return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
        }
        return fail(StatusCode::UNAUTHORIZED, wrong);
    }

    // A fresh session id on every sign-in, so an id planted before sign-in is worthless.
    if let Some(old) = jar.get(SESSION_COOKIE) {
        let _ = state.db.delete_session(&keys::hash(old.value())).await;
    }
    let session_id = keys::random_string(43);
    let csrf = keys::random_string(32);
    let expires = now + i64::from(state.config.session_hours) * 3_600_000;
    let ip = peer.ip().to_string();
    let created = async {
        state.db.record_good_login(&record.user.id).await?;
        let mut tx = state.db.begin().await?;
        liveops_store::access::insert_session(
            &mut tx,
            &keys::hash(&session_id),
            &record.user.id,
            &csrf,
            Some(&ip),
            now,
            expires,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, liveops_store::StoreError>(())
    }
    .await;
    if let Err(e) = created {
        return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
    }
    let jar = jar
        .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/"))
        .add(cookie(&state, SESSION_COOKIE, session_id));
    (jar, Redirect::to(&next)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(f): Form<LogoutForm>,
) -> Response {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        let hash = keys::hash(c.value());
        match state.db.session(&hash, now_ms()).await {
            Ok(s) if s.csrf_token != f.csrf => {
                return error_page(
                    StatusCode::FORBIDDEN,
                    "The sign-out form came from another site.",
                );
            }
            _ => {
                let _ = state.db.delete_session(&hash).await;
            }
        }
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/login")).into_response()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/p/shop/support")), "/p/shop/support");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
