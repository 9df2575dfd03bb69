//! The public side of feedback: the embeddable form (served as HTML for an
//! iframe), the first-party script tag that opens it, and the endpoint both
//! post to, guarded by the project's ingest key, spam signals and a rate
//! limit per address.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use liveops_core::feedback::{FeedbackKind, spam_signal};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::{Submission, submit};
use crate::error::ApiError;
use crate::feedback::{FeedbackError, Result};
use crate::state::AppState;

/// Lets any site frame the form; everything else stays locked to us.
const FORM_CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; \
     frame-ancestors *; base-uri 'none'";

#[derive(Debug, Deserialize)]
pub struct FormQuery {
    key: Option<String>,
    distinct_id: Option<String>,
    kind: Option<String>,
}

fn form_page(title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/app.css";
            }
            body.feedback-form { main { (body) } }
        }
    };
    let mut r = markup.into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FORM_CSP),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The form, for an iframe or a link.
pub async fn form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<FormQuery>,
) -> Response {
    let key = q.key.unwrap_or_default();
    if let Err(e) = project_for(&state, &slug, &key).await {
        return form_page("Feedback", html! { p.notice { (e.to_string()) } });
    }
    let chosen = q
        .kind
        .as_deref()
        .and_then(FeedbackKind::parse)
        .unwrap_or(FeedbackKind::Enhancement);
    form_page(
        "Send feedback",
        html! {
            h1 { "Send feedback" }
            form method="post" action={"/feedback/" (slug)} {
                input type="hidden" name="key" value=(key);
                input type="hidden" name="t" value=(state.now_ms());
                @if let Some(d) = &q.distinct_id { input type="hidden" name="distinct_id" value=(d); }
                // Only bots fill this in: people never see it.
                div.hp aria-hidden="true" {
                    label { "Leave this empty " input type="text" name="website" tabindex="-1" autocomplete="off"; }
                }
                label { "What is it about?"
                    select name="kind" {
                        @for k in FeedbackKind::ALL {
                            option value=(k.as_str()) selected[k == chosen] {
                                (match k {
                                    FeedbackKind::Bug => "Something is broken",
                                    FeedbackKind::Enhancement => "An idea or request",
                                    FeedbackKind::Question => "A question",
                                    FeedbackKind::Praise => "Something I like",
                                })
                            }
                        }
                    }
                }
                label { "Your feedback" textarea name="body" rows="6" required maxlength="10000" {} }
                label { "E-mail (optional, for a reply)" input type="email" name="email" maxlength="254"; }
                button type="submit" { "Send" }
            }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Posted {
    key: Option<String>,
    kind: Option<String>,
    title: Option<String>,
    body: Option<String>,
    email: Option<String>,
    name: Option<String>,
    distinct_id: Option<String>,
    url: Option<String>,
    /// When the form was drawn (ms), for the too-fast check.
    t: Option<String>,
    /// The honeypot.
    website: Option<String>,
}

async fn project_for(state: &AppState, slug: &str, key: &str) -> Result<String> {
    let project_id =
        crate::analytics::project_for_key(state, key, liveops_store::projects::KeyPurpose::Browser)
            .await?;
    match state.db.project_by_slug(slug).await {
        Ok(p) if p.id == project_id => Ok(project_id),
        Ok(_) | Err(liveops_store::StoreError::NotFound) => Err(FeedbackError::unauthorized(
            "this ingest key is not the project's",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Takes a submission from the form (urlencoded) or a script (JSON).
pub async fn post(
    State(state): State<AppState>,
    client: crate::auth::client::ClientAddr,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    match accept(&state, client.ip(), &slug, &headers, is_json, &body).await {
        Ok((number, spam)) if is_json => (
            StatusCode::CREATED,
            Json(json!({"number": number, "status": if spam { "received" } else { "new" }})),
        )
            .into_response(),
        Ok(_) => form_page(
            "Thank you",
            html! {
                h1 { "Thank you" }
                p { "Your feedback reached the team." }
            },
        ),
        Err(e) if is_json => ApiError::from(e).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let mut r = form_page(
                "Feedback not sent",
                html! {
                    h1 { "Not sent" }
                    p.notice { (e.detail().unwrap_or("The feedback could not be taken.")) }
                    p { "Go back to change it and send it again." }
                },
            );
            *r.status_mut() = status;
            r
        }
    }
}

async fn accept(
    state: &AppState,
    ip: std::net::IpAddr,
    slug: &str,
    headers: &HeaderMap,
    is_json: bool,
    body: &[u8],
) -> Result<(i64, bool)> {
    let p: Posted = if is_json {
        serde_json::from_slice(body)
            .map_err(|e| FeedbackError::invalid(format!("the body is not valid JSON: {e}")))?
    } else {
        let mut p = Posted::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            let v = Some(v.into_owned());
            match k.as_ref() {
                "key" => p.key = v,
                "kind" => p.kind = v,
                "title" => p.title = v,
                "body" => p.body = v,
                "email" => p.email = v,
                "name" => p.name = v,
                "distinct_id" => p.distinct_id = v,
                "url" => p.url = v,
                "t" => p.t = v,
                "website" => p.website = v,
                _ => {}
            }
        }
        p
    };
    let key = p
        .key
        .clone()
        .or_else(|| {
            headers
                .get("x-liveops-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let project_id = project_for(state, slug, &key).await?;
    if let Err(wait) = state.feedback_limiter.check(ip, Instant::now()) {
        return Err(FeedbackError::limited(
            format!("too much feedback from this address; try again in {wait} s"),
            wait,
        ));
    }
    let text = p.body.clone().unwrap_or_default();
    let fill_ms =
        p.t.as_deref()
            .and_then(|t| t.parse::<i64>().ok())
            .map(|t| state.now_ms() - t);
    let spam = spam_signal(
        &format!("{} {text}", p.title.as_deref().unwrap_or("")),
        p.website.as_deref().unwrap_or(""),
        fill_ms,
    );
    let sub = Submission {
        kind: p.kind,
        title: p.title,
        body: text,
        email: p.email,
        name: p.name,
        distinct_id: p.distinct_id,
        url: p.url,
        external_id: None,
        created_at: None,
    };
    let from = super::Sender::Public {
        spam: spam.map(|s| s.as_str()),
    };
    let (f, _) = submit(state, from, &project_id, "form", &sub, None)
        .await?
        .ok_or_else(|| FeedbackError::internal("the feedback was not stored"))?;
    Ok((f.number, spam.is_some()))
}

/// The script tag's code: a button that opens the form in a frame, passing
/// the PostHog distinct id along when the page has one.
const WIDGET: &str = r#"(function () {
  var s = document.currentScript;
  if (!s) return;
  var base = new URL(s.src).origin;
  var project = s.getAttribute("data-project") || "";
  var key = s.getAttribute("data-key") || "";
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = s.getAttribute("data-label") || "Feedback";
  button.setAttribute("data-liveops", "feedback");
  button.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483000;padding:8px 14px;" +
    "border:0;border-radius:6px;background:#1f4f8a;color:#fff;font:14px system-ui,sans-serif;cursor:pointer";
  var frame = null;
  button.addEventListener("click", function () {
    if (frame) { frame.remove(); frame = null; return; }
    var id = s.getAttribute("data-distinct-id") || "";
    if (!id && window.posthog && typeof window.posthog.get_distinct_id === "function") {
      try { id = window.posthog.get_distinct_id() || ""; } catch (e) { id = ""; }
    }
    frame = document.createElement("iframe");
    frame.title = "Send feedback";
    frame.src = base + "/feedback/" + encodeURIComponent(project) + "/form?key=" + encodeURIComponent(key) +
      (id ? "&distinct_id=" + encodeURIComponent(id) : "");
    frame.style.cssText = "position:fixed;right:16px;bottom:60px;width:360px;height:460px;z-index:2147483000;" +
      "border:1px solid #ccc;border-radius:8px;background:#fff";
    document.body.appendChild(frame);
  });
  document.body.appendChild(button);
})();
"#;

pub async fn widget() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        WIDGET,
    )
        .into_response()
}
