//! The web-analytics page: the overview of a range's page views (visitors,
//! sessions, bounce rate, duration) and its breakdowns, from the same
//! service the API answers with.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use liveops_core::Area;
use liveops_core::analytics::web::Ranked;
use maud::{Markup, html};
use serde::Deserialize;

use super::charts::bars;
use super::prologue::load;
use super::{Frame, UiSession, api_error, page};
use crate::state::{AppState, format_ms};
use crate::timerange::query_range;

#[derive(Debug, Default, Deserialize)]
pub struct WebForm {
    from: Option<String>,
    to: Option<String>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// One breakdown as a table: its values, their counts and visitors.
fn ranked(title: &str, class: &str, count: &str, rows: &[Ranked]) -> Markup {
    html! {
        section.web-breakdown {
            h3 { (title) }
            @if rows.is_empty() {
                p.empty { "Nothing in this range." }
            } @else {
                table class=(class) {
                    thead { tr { th { (title) } th { (count) } th { "Visitors" } } }
                    tbody { @for r in rows { tr { td { (r.value) } td { (r.count) } td { (r.visitors) } } } }
                }
            }
        }
    }
}

pub async fn page_view(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Query(f): Query<WebForm>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, _) = &projects[idx];
    let (from, to) = match query_range(blank(&f.from), blank(&f.to), 30, 400, None, state.now_ms())
    {
        Ok(r) => (r.from_ms(), r.to_ms()),
        Err(e) => return api_error(e),
    };
    let o = match crate::analytics::web::overview(
        &state,
        &project.id,
        from,
        to,
        10,
        &Default::default(),
    )
    .await
    {
        Ok((o, _)) => o,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let base = format!("/p/{}/analytics", project.slug);
    let body = html! {
        p { a href=(base) { "← Analytics" } }
        h1 { "Web analytics" }
        form.inline method="get" {
            label { "From " input type="date" name="from" value=(format_ms(from)[..10]); }
            " " label { "to " input type="date" name="to" value=(format_ms(to)[..10]); }
            " " button type="submit" { "Show" }
        }
        p.lede {
            "From the " code { "$pageview" } " events the JavaScript SDK sends. A session is one person's views with the same "
            code { "$session_id" } ", or, without one, views less than 30 minutes apart. A bounce is a session of one view. "
            "A session's referrer, UTM parameters, device, browser and OS are those of its first view."
        }
        dl.web-summary {
            dt { "Visitors" } dd #visitors { (o.visitors) }
            dt { "Page views" } dd #page-views { (o.page_views) }
            dt { "Sessions" } dd #sessions { (o.sessions) }
            dt { "Views per session" } dd { (format!("{:.2}", o.views_per_session)) }
            dt { "Bounce rate" } dd #bounce-rate { (format!("{:.1} %", o.bounce_rate * 100.0)) }
            dt { "Session duration" } dd { (format!("{:.0} s mean, {:.0} s median", o.mean_session_ms / 1000.0, o.median_session_ms / 1000.0)) }
        }
        @if !o.channels.is_empty() {
            h2 { "Channels" }
            (bars(&o.channels.iter().map(|r| (r.value.clone(), r.count as f64)).collect::<Vec<_>>(), "sessions"))
        }
        h2 { "Pages" }
        (ranked("Page", "web-pages", "Views", &o.pages))
        (ranked("Entry page", "web-entry", "Sessions", &o.entry_pages))
        (ranked("Exit page", "web-exit", "Sessions", &o.exit_pages))
        h2 { "Sources" }
        (ranked("Referrer", "web-referrers", "Sessions", &o.referrers))
        (ranked("UTM source", "web-utm-source", "Sessions", &o.utm_sources))
        (ranked("UTM medium", "web-utm-medium", "Sessions", &o.utm_mediums))
        (ranked("UTM campaign", "web-utm-campaign", "Sessions", &o.utm_campaigns))
        h2 { "Technology" }
        (ranked("Device", "web-devices", "Sessions", &o.devices))
        (ranked("Browser", "web-browsers", "Sessions", &o.browsers))
        (ranked("OS", "web-os", "Sessions", &o.oses))
        h2 { "Countries" }
        @if state.geoip.is_none() && o.countries.iter().all(|c| c.value == "(none)") {
            p.empty #no-geoip {
                "No GeoIP database is configured, so countries are not known. Set "
                code { "geoip_database" } " to a MaxMind GeoLite2 or GeoIP2 Country (or City) "
                code { ".mmdb" } " file and new events get their country at ingest."
            }
        } @else {
            (ranked("Country", "web-countries", "Sessions", &o.countries))
        }
    };
    page(
        &format!("Web analytics · {}", project.name),
        Some(&frame),
        body,
    )
    .into_response()
}
