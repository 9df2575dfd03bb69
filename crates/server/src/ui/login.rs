//! Signing in and out of the web UI.

use std::time::Instant;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use liveops_core::Email;
use maud::html;
use serde::Deserialize;

use super::{error_page, page};
use crate::auth::client::ClientAddr;
use crate::auth::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, keys, password, same_secret, throttle};
use crate::state::AppState;

/// What every failed sign-in is told, whether the address has no account,
/// the password is wrong or the attempt came too soon after others: the
/// answer must not tell an attacker which.
const FAILED: &str =
    "Wrong e-mail address or password, or too many attempts: wait a little and try again.";
/// What a visitor sees when the database cannot be reached; the error
/// itself goes to the log.
const UNAVAILABLE: &str = "Signing in is not possible just now. Try again in a minute.";

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Where to go after signing in: only a path on this site. The value is
/// refused outright when it holds a control character, white space or a
/// backslash (browsers read `/\\host` and `/<tab>/host` as another host),
/// and must then resolve, against this origin, to this origin.
fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/";
    let Some(next) = next else {
        return HOME.to_owned();
    };
    if !next.starts_with('/')
        || next.starts_with("//")
        || next
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return HOME.to_owned();
    }
    let Ok(origin) = url::Url::parse("http://liveops.invalid/") else {
        return HOME.to_owned();
    };
    match origin.join(next) {
        Ok(u) if u.origin() == origin.origin() && u.username().is_empty() => {
            let mut path = u.path().to_owned();
            if let Some(q) = u.query() {
                path.push('?');
                path.push_str(q);
            }
            // A path that only begins with `//` after normalising is still
            // read as another host.
            if path.starts_with("//") {
                HOME.to_owned()
            } else {
                path
            }
        }
        _ => HOME.to_owned(),
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
    // A server nobody has set up yet has nobody to sign in: its first
    // admin is made on the setup page.
    if let Ok(false) = state.db.has_users().await {
        return Redirect::to("/setup").into_response();
    }
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
    client: ClientAddr,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let expected = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|e| same_secret(&f.csrf, &e)) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The sign-in form expired or came from another site. Open the sign-in page again.",
        );
    }
    let fail = |status: StatusCode, msg: &str| {
        (status, render(&f.csrf, &next, &f.email, Some(msg))).into_response()
    };
    let unavailable = |e: liveops_store::StoreError| {
        tracing::error!(error = %e, "sign-in could not reach the database");
        error_page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
    };
    let ip = client.ip();
    // A coarse cap per address against floods, before any database work.
    if let Err(wait) = state.login_limiter.check(ip, Instant::now()) {
        return fail(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many sign-in attempts from your address. Try again in {wait} seconds."),
        );
    }
    let Ok(email) = Email::parse(&f.email) else {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "That is not an e-mail address.",
        );
    };
    let now = state.now_ms();
    // Too soon after failures: refused without looking at the password, so
    // guesses made meanwhile are worthless, and told exactly what a wrong
    // password is told.
    match throttle::wait_ms(&state.db, email.as_str(), ip, now).await {
        Ok(0) => {}
        Ok(_) => return fail(StatusCode::UNAUTHORIZED, FAILED),
        Err(e) => return unavailable(e),
    }
    let record = match state.db.login_record(&email).await {
        Ok(r) => Some(r),
        Err(liveops_store::StoreError::NotFound) => None,
        Err(e) => return unavailable(e),
    };
    // An unknown address costs a password check too, so time tells nothing.
    let stored_hash = record.as_ref().map_or_else(
        || password::decoy_hash().to_owned(),
        |r| r.password_hash.clone(),
    );
    let given = f.password.clone();
    let matches = tokio::task::spawn_blocking(move || password::verify(&given, &stored_hash))
        .await
        .unwrap_or(false);
    let record = match record {
        Some(r) if matches => r,
        _ => {
            if let Err(e) = throttle::failed(&state.db, email.as_str(), ip, now).await {
                return unavailable(e);
            }
            return fail(StatusCode::UNAUTHORIZED, FAILED);
        }
    };

    // A fresh session id on every sign-in, so an id planted before sign-in is worthless.
    if let Some(old) = jar.get(SESSION_COOKIE) {
        let _ = state.db.delete_session(&keys::hash(old.value())).await;
    }
    let session_id = keys::random_string(43);
    let csrf = keys::random_string(32);
    let expires = now + i64::from(state.config.session_hours) * 3_600_000;
    let ip_text = ip.to_string();
    let created = async {
        throttle::succeeded(&state.db, email.as_str(), ip).await?;
        let mut tx = state.db.begin().await?;
        liveops_store::access::insert_session(
            &mut tx,
            &keys::hash(&session_id),
            &record.user.id,
            &csrf,
            Some(&ip_text),
            now,
            expires,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, liveops_store::StoreError>(())
    }
    .await;
    if let Err(e) = created {
        return unavailable(e);
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
        match state.db.session(&hash, state.now_ms()).await {
            Ok(s) if !same_secret(&f.csrf, &s.csrf_token) => {
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

    /// Regression: `/%09/evil.example` (a tab after the slash, which
    /// browsers drop) redirected off-site.
    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/p/shop/support")), "/p/shop/support");
        assert_eq!(
            safe_next(Some("/p/shop/analytics?last=7d&event=a%20b")),
            "/p/shop/analytics?last=7d&event=a%20b"
        );
        assert_eq!(safe_next(Some("/a/../p/shop")), "/p/shop");
        assert_eq!(safe_next(Some("/%2F/evil.example")), "/%2F/evil.example");
        for bad in [
            "https://evil.example",
            "http:evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n//evil.example",
            "\t//evil.example",
            " //evil.example",
            "/ /evil.example",
            "///evil.example",
            "/.//evil.example",
            "javascript:x",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
