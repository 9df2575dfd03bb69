//! The public changelog: each shipped release's public items on one page
//! per project, and the same as an Atom feed (RFC 4287) for readers and
//! chat integrations. Off until the project turns it on; links come from
//! `public_url`, never from the `Host` header a requester chooses.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use liveops_core::releases::changelog::{Release, Section};
use maud::{Markup, html};

use crate::error::ApiResult;
use crate::releases::public_notes;
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
        let notes = public_notes(state, project_id, &r).await?;
        out.push(Shipped {
            version: r.version,
            shipped_at: at,
            notes,
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

/// A project whose changelog is public; any other slug is a plain 404.
async fn public_project(
    state: &AppState,
    slug: &str,
) -> Result<liveops_store::projects::Project, Response> {
    match state.db.project_by_slug(slug).await {
        Ok(p) if p.changelog_public => Ok(p),
        Ok(_) | Err(liveops_store::StoreError::NotFound) => Err(super::error_page(
            StatusCode::NOT_FOUND,
            "There is no changelog here.",
        )),
        Err(e) => Err(super::unavailable(e)),
    }
}

/// `/changelog/{project}` and `/changelog/{project}/feed.atom`.
pub async fn page(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let project = match public_project(&state, &slug).await {
        Ok(p) => p,
        Err(r) => return r,
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
    let mut resp = super::page(&format!("{} changelog", project.name), None, body).into_response();
    resp.headers_mut().insert(
        header::LINK,
        header::HeaderValue::from_str(&format!(
            "</changelog/{slug}/feed.atom>; rel=\"alternate\"; type=\"application/atom+xml\""
        ))
        .unwrap_or(header::HeaderValue::from_static("")),
    );
    resp
}

/// The Atom feed. Feed readers need absolute links, which only
/// `public_url` can give; without it the feed is refused rather than built
/// from a `Host` header anyone can set.
pub async fn feed(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let project = match public_project(&state, &slug).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(site) = state.config.public_url.as_deref() else {
        return super::error_page(
            StatusCode::NOT_FOUND,
            "This changelog has no feed until the server's public_url is set.",
        );
    };
    let releases = match shipped(&state, &project.id).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let base = format!("{}/changelog/{slug}", site.trim_end_matches('/'));
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
