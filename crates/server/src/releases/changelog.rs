//! The public changelog: each shipped release's notes on one page per
//! project, and the same as an Atom feed (RFC 4287) for readers and chat
//! integrations.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use liveops_core::releases::changelog::{Release, Section};
use maud::{Markup, html};

use super::notes;
use crate::error::ApiResult;
use crate::state::{AppState, format_ms};

/// One shipped release and its notes.
#[derive(Debug)]
struct Shipped {
    version: String,
    shipped_at: i64,
    notes: Release,
}

async fn shipped(state: &AppState, project_id: &str) -> ApiResult<Vec<Shipped>> {
    let mut out = Vec::new();
    for r in state.db.releases(project_id).await? {
        let Some(at) = r.shipped_at else { continue };
        let n = notes(state, project_id, &r).await?;
        out.push(Shipped {
            version: r.version,
            shipped_at: at,
            notes: n.release,
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.shipped_at));
    Ok(out)
}

fn sections(r: &Release) -> Markup {
    html! {
        @for section in Section::ALL {
            @let lines: Vec<_> = r.entries.iter().filter(|e| e.section == section).collect();
            @if !lines.is_empty() {
                h3 { (section.title()) }
                ul {
                    @for e in lines {
                        li {
                            @if e.breaking { strong { "Breaking: " } }
                            (e.text)
                        }
                    }
                }
            }
        }
        @if r.entries.is_empty() {
            p { "Maintenance and internal improvements." }
        }
    }
}

fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// `/changelog/{project}` and `/changelog/{project}/feed.atom`.
pub async fn page(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let project = match state.db.project_by_slug(&slug).await {
        Ok(p) => p,
        Err(liveops_store::StoreError::NotFound) => {
            return crate::ui::error_page(StatusCode::NOT_FOUND, "There is no changelog here.");
        }
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let releases = match shipped(&state, &project.id).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let body = html! {
        section.changelog {
            h1 { (project.name) " changelog" }
            p { a href={"/changelog/" (slug) "/feed.atom"} { "Subscribe (Atom)" } }
            @if releases.is_empty() {
                p { "Nothing has shipped yet." }
            }
            @for r in &releases {
                article id={"v" (r.version)} {
                    h2 { (r.version) " " small { (format_ms(r.shipped_at).get(..10).unwrap_or("")) } }
                    (sections(&r.notes))
                }
            }
        }
    };
    let mut resp =
        crate::ui::page(&format!("{} changelog", project.name), None, body).into_response();
    resp.headers_mut().insert(
        header::LINK,
        header::HeaderValue::from_str(&format!(
            "</changelog/{slug}/feed.atom>; rel=\"alternate\"; type=\"application/atom+xml\""
        ))
        .unwrap_or(header::HeaderValue::from_static("")),
    );
    resp
}

pub async fn feed(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let project = match state.db.project_by_slug(&slug).await {
        Ok(p) => p,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let releases = match shipped(&state, &project.id).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let base = format!("{}/changelog/{slug}", base_url(&state, &headers));
    let updated = releases
        .first()
        .map_or(project.created_at, |r| r.shipped_at);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    xml.push_str(&format!(
        "  <title>{} changelog</title>\n  <id>{}</id>\n  <updated>{}</updated>\n  \
         <link rel=\"self\" href=\"{}/feed.atom\"/>\n  <link rel=\"alternate\" href=\"{}\"/>\n  \
         <author><name>{}</name></author>\n",
        escape(&project.name),
        escape(&base),
        format_ms(updated),
        escape(&base),
        escape(&base),
        escape(&project.name),
    ));
    for r in &releases {
        let link = format!("{base}#v{}", r.version);
        xml.push_str(&format!(
            "  <entry>\n    <title>{}</title>\n    <id>{}</id>\n    <updated>{}</updated>\n    \
             <link href=\"{}\"/>\n    <content type=\"html\">{}</content>\n  </entry>\n",
            escape(&r.version),
            escape(&link),
            format_ms(r.shipped_at),
            escape(&link),
            escape(&sections(&r.notes).into_string()),
        ));
    }
    xml.push_str("</feed>\n");
    (
        [
            (header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        xml,
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
