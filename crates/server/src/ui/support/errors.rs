//! Error tracking pages: the issue list (sorted by last seen, events or
//! users; filtered by state, release, environment or tag) with the DSN and
//! SDK snippets, and an issue page: counts, a chart of events per day, the
//! releases and tags it was seen with, the newest event's stack trace
//! (in-app frames marked, context lines and local variables when sent),
//! breadcrumbs, request and user, what happened to it, and the forms that
//! resolve, ignore, reopen and merge it.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::access::authorize;
use liveops_core::{Area, Permission};
use maud::{Markup, html};
use serde::Deserialize;

use crate::contract::errors::{ErrorEventView, IssueListParams, IssueSummary, IssueUpdate};
use crate::state::AppState;
use crate::support::errors::{self as service, issues};
use crate::ui::prologue::{load, writable};
use crate::ui::{Frame, UiSession, api_error, charts, error_page, page};

fn status_badge(i: &IssueSummary) -> Markup {
    let label = match (&i.regressed_at, i.status.as_str()) {
        (Some(_), "unresolved") => "regressed",
        (_, s) => s,
    };
    html! { span.state data-state=(label) { (label) } }
}

/// `s` as one path segment (a space as `%20`, not the form's `+`).
fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn base_of(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    service::public_base(state, host)
}

/// The issue list, with the DSN and how to send to it.
pub async fn issue_list(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Query(q): Query<IssueListParams>,
    headers: HeaderMap,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let list = match issues::list(&state, &project.id, &q).await {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let dsn = match service::settings(&state, &s.actor(), &project.id).await {
        Ok(settings) => service::dsn_view(&base_of(&state, &headers), &settings).ok(),
        Err(e) => return api_error(e),
    };
    let maps = match service::sourcemaps::releases(&state, &project.id).await {
        Ok(m) => m,
        Err(e) => return api_error(e),
    };
    let admin = authorize(*role, None, Permission::Administer).is_ok();
    let (rules, integrations) = if admin {
        let rules = match service::grouping_rules(&state, &project.id).await {
            Ok(r) => r,
            Err(e) => return api_error(e),
        };
        let integrations = match state.db.integrations(&project.id).await {
            Ok(i) => i.into_iter().map(|i| i.name).collect::<Vec<_>>(),
            Err(e) => return api_error(e),
        };
        (rules, integrations)
    } else {
        (Vec::new(), Vec::new())
    };
    let cohorts = match crate::analytics::cohorts::list(&state, &project.id).await {
        Ok(c) => c,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Support);
    let base = format!("/p/{}/support/errors", project.slug);
    let sort = q.sort.clone().unwrap_or_else(|| "last_seen".into());
    let csrf = &s.session.csrf_token;
    let body = html! {
        p { a href={"/p/" (project.slug) "/support"} { "← Support" } }
        h1 { "Errors" }
        form.filters method="get" action=(base) {
            label { "State " select name="status" {
                @for (v, l) in [("", "any"), ("unresolved", "unresolved"), ("resolved", "resolved"), ("ignored", "ignored")] {
                    option value=(v) selected[q.status.as_deref().unwrap_or("") == v] { (l) }
                }
            } }
            label { "Release " input name="release" value=(q.release.clone().unwrap_or_default()); }
            label { "Environment " input name="environment" value=(q.environment.clone().unwrap_or_default()); }
            label { "Tag " input name="tag" placeholder="browser:Chrome" value=(q.tag.clone().unwrap_or_default()); }
            @if !cohorts.is_empty() {
                label { "Reached cohort " select name="in_cohort" {
                    option value="" { "anyone" }
                    @for c in &cohorts { option value=(c.name) selected[q.in_cohort.as_deref() == Some(c.name.as_str())] { (c.name) } }
                } }
            }
            label { "Sort " select name="sort" {
                @for (v, l) in [("last_seen", "last seen"), ("first_seen", "first seen"), ("events", "events"), ("users", "users")] {
                    option value=(v) selected[sort == v] { (l) }
                }
            } }
            button type="submit" { "Show" }
        }
        @if list.is_empty() {
            p.empty { "No issues match. Errors appear here once an SDK sends them to the DSN below." }
        } @else {
            table.issues {
                thead { tr { th { "#" } th { "Issue" } th { "State" } th { "Events" } th { "Users" } th { "Last seen" } th { "Release" } } }
                tbody {
                    @for i in &list {
                        tr {
                            td { (i.number) }
                            td {
                                a href={(base) "/" (i.number)} { (i.title) }
                                @if let Some(c) = &i.culprit { br; small { (c) } }
                            }
                            td { (status_badge(i)) }
                            td { (i.events) }
                            td { (i.users) }
                            td { (i.last_seen) }
                            td { (i.last_release.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
        @if let Some(d) = &dsn {
            section.dsn {
                h2 { "Send errors here" }
                p { "DSN: " code.dsn { (d.dsn) } }
                p { "Python (" code { "pip install sentry-sdk" } "):" }
                pre { "import sentry_sdk\nsentry_sdk.init(dsn=\"" (d.dsn) "\", release=\"1.0.0\", environment=\"production\")" }
                p { "Node.js (" code { "npm install @sentry/node" } "):" }
                pre { "const Sentry = require(\"@sentry/node\");\nSentry.init({ dsn: \"" (d.dsn) "\", release: \"1.0.0\" });" }
                p { "Browser (" code { "npm install @sentry/browser" } "):" }
                pre { "import * as Sentry from \"@sentry/browser\";\nSentry.init({ dsn: \"" (d.dsn) "\", release: \"1.0.0\" });" }
                h2 { "Source maps" }
                p { "Minified browser frames are shown in their original source once the build's scripts and maps are uploaded for the release:" }
                pre { "liveops sourcemaps upload --project " (project.slug) " --release 1.0.0 --url-prefix '~/static/' dist/" }
                @if maps.is_empty() {
                    p.empty { "No release has source maps yet." }
                } @else {
                    table.sourcemaps {
                        thead { tr { th { "Release" } th { "Files" } th { "Bytes" } th { "Last upload" } } }
                        tbody { @for r in &maps { tr { td { (r.release) } td { (r.files) } td { (r.bytes) } td { (r.last_upload) } } } }
                    }
                }
                @if admin {
                    form method="post" action={(base) "/settings"} {
                        input type="hidden" name="_csrf" value=(csrf);
                        input type="hidden" name="op" value="rotate";
                        button type="submit" { "Replace the DSN's key" }
                    }
                    h2 { "Alerts" }
                    form.stack method="post" action={(base) "/settings"} {
                        input type="hidden" name="_csrf" value=(csrf);
                        input type="hidden" name="op" value="alerts";
                        label { "Open incidents through " select name="integration" {
                            option value="" selected[d.alert_integration.is_none()] { "no integration (no incidents)" }
                            @for i in &integrations { option value=(i) selected[d.alert_integration.as_deref() == Some(i.as_str())] { (i) } }
                        } }
                        label { "Tell the on-call people of " select name="notify" {
                            option value="" selected[d.notify.is_none()] { "no tier" }
                            @for t in ["l1", "l2", "l3"] { option value=(t) selected[d.notify.as_deref() == Some(t)] { "tier " (t.to_uppercase()) } }
                        } " through their notification rules" }
                        label { input type="checkbox" name="on_new" value="1" checked[d.alert_new]; " for every new issue" }
                        label { input type="checkbox" name="on_regression" value="1" checked[d.alert_regression]; " when a resolved issue regresses" }
                        label { "and when an issue has " input name="spike_events" type="number" min="1" value=(d.spike_events.map(|n| n.to_string()).unwrap_or_default());
                            " events within " input name="spike_minutes" type="number" min="1" max="1440" value=(d.spike_minutes); " minutes" }
                        label { "or, within those minutes, at least " input name="spike_percent" type="number" min="0.01" max="100" step="any" value=(d.spike_percent.map(|n| n.to_string()).unwrap_or_default());
                            " % of its route's requests" }
                        label { "Severities by level " input name="severities" value=(d.severities) placeholder="fatal=sev2,error=sev3"; }
                        button type="submit" { "Save alerts" }
                    }
                    h2 { "Grouping rules" }
                    @if rules.is_empty() { p.empty { "None: events group by their stack trace, or their message." } }
                    ul.rules { @for r in &rules {
                        li { (r.matcher) " matches " code { (r.pattern) } " → " code { (r.fingerprint.join(", ")) }
                            form.inline method="post" action={(base) "/settings"} {
                                input type="hidden" name="_csrf" value=(csrf);
                                input type="hidden" name="op" value="rule-delete";
                                input type="hidden" name="id" value=(r.id);
                                button type="submit" { "Delete" }
                            }
                        }
                    } }
                    form.stack method="post" action={(base) "/settings"} {
                        input type="hidden" name="_csrf" value=(csrf);
                        input type="hidden" name="op" value="rule-add";
                        label { "When the " select name="matcher" { option value="type" { "exception type" } option value="message" { "message" } option value="module" { "module" } } }
                        label { " matches " input name="pattern" required placeholder="Timeout*"; }
                        label { " group under " input name="fingerprint" required placeholder="timeouts"; }
                        button type="submit" { "Add the rule" }
                    }
                }
            }
        }
    };
    page(&format!("Errors · {}", project.name), Some(&frame), body).into_response()
}

fn event_section(slug: &str, e: &ErrorEventView) -> Markup {
    html! {
        section.event {
            h2 { "Newest event" }
            p { code { (e.event_id) } " at " (e.at)
                @if let Some(r) = &e.release { " · release " (r) }
                @if let Some(env) = &e.environment { " · " (env) }
                @if let Some(u) = &e.user { " · user " (u) }
                @if let Some(d) = &e.distinct_id {
                    " · " a href={"/p/" (slug) "/analytics/persons/" (urlencode(d))} { "what they did before" }
                }
            }
            @if let Some(m) = &e.message { p.message { (m) } }
            @for x in e.exceptions.iter().rev() {
                h3 { (x.ty) @if let Some(v) = &x.value { ": " (v) } }
                ol.frames reversed {
                    @for f in x.frames.iter().rev() {
                        li.frame data-in-app=(if f.in_app { "true" } else { "false" }) {
                            @if f.in_app { span.inapp { "in app" } " " }
                            code { (f.filename.clone().or_else(|| f.module.clone()).unwrap_or_default()) }
                            " in " code.function { (f.function.clone().unwrap_or_else(|| "?".into())) }
                            @if let Some(l) = f.lineno { " at line " (l) }
                            @if let Some(c) = f.colno { ":" (c) }
                            @if let (Some(m), Some(at)) = (&f.sourcemap, &f.minified) {
                                br; small.minified { "mapped by " code { (m) } " from " code { (at) } }
                            }
                            @if f.context_line.is_some() {
                                pre.context {
                                    @for l in &f.pre_context { (l) "\n" }
                                    b { (f.context_line.clone().unwrap_or_default()) } "\n"
                                    @for l in &f.post_context { (l) "\n" }
                                }
                            }
                            @if let Some(serde_json::Value::Object(vars)) = &f.vars {
                                table.vars {
                                    @for (k, v) in vars { tr { th { (k) } td { code { (v.to_string()) } } } }
                                }
                            }
                        }
                    }
                }
            }
            @if !e.breadcrumbs.is_empty() {
                h3 { "Breadcrumbs" }
                ul.breadcrumbs {
                    @for b in &e.breadcrumbs {
                        li {
                            (b.get("category").and_then(|v| v.as_str()).unwrap_or("")) " "
                            (b.get("message").and_then(|v| v.as_str()).unwrap_or(""))
                        }
                    }
                }
            }
            @if let Some(r) = &e.request { h3 { "Request" } pre { (serde_json::to_string_pretty(r).unwrap_or_default()) } }
            @if let Some(c) = &e.contexts { h3 { "Contexts" } pre { (serde_json::to_string_pretty(c).unwrap_or_default()) } }
        }
    }
}

/// One issue.
pub async fn issue_page(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number)): Path<(String, i64)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let d = match issues::show(&state, &project.id, number).await {
        Ok(d) => d,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Support);
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let base = format!("/p/{}/support/errors/{}", project.slug, number);
    let i = &d.issue;
    let days: Vec<String> = d
        .series
        .iter()
        .map(|p| p.start.get(5..10).unwrap_or(&p.start).to_owned())
        .collect();
    let counts: Vec<f64> = d.series.iter().map(|p| p.events as f64).collect();
    let csrf = &s.session.csrf_token;
    let body = html! {
        p { a href={"/p/" (project.slug) "/support/errors"} { "← Errors" } }
        h1 { "#" (i.number) " " (i.title) }
        @if let Some(c) = &i.culprit { p.culprit { (c) } }
        p { (status_badge(i))
            @if let Some(r) = &i.resolved_release { " · resolved for " (r) }
            @if let Some(by) = &d.resolved_by { " by " (by) }
        }
        dl.facts {
            dt { "Events" } dd { (i.events) }
            dt { "Users" } dd { (i.users) }
            dt { "First seen" } dd { (i.first_seen) @if let Some(r) = &i.first_release { " in " (r) } }
            dt { "Last seen" } dd { (i.last_seen) @if let Some(r) = &i.last_release { " in " (r) } }
            @if let Some(x) = &d.introduced {
                dt { "Introduced by" } dd { (x.service) " " (x.version) " to " (x.environment) ", deployed " (x.deployed_at) }
            }
        }
        h2 { "Events per day" }
        (charts::lines(&days, &[("events".to_owned(), counts)]))
        @if let Some(e) = d.events.first() { (event_section(&project.slug, e)) }
        @if can_write {
            section.actions {
                h2 { "Change" }
                form method="post" action={(base) "/resolve"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    button type="submit" { "Resolve" }
                }
                form method="post" action={(base) "/resolve"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    input type="hidden" name="next" value="1";
                    button type="submit" { "Resolve in the next release" }
                }
                form method="post" action={(base) "/resolve"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    label { "Resolve in release " input name="release" required; }
                    button type="submit" { "Resolve" }
                }
                form method="post" action={(base) "/ignore"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    label { "Ignore until " input name="events" type="number" min="1" placeholder="events"; }
                    label { " or " input name="users" type="number" min="1" placeholder="users"; }
                    label { " or " input name="until" placeholder="2027-01-01T00:00:00Z"; }
                    button type="submit" { "Ignore" }
                }
                form method="post" action={(base) "/reopen"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    button type="submit" { "Reopen" }
                }
                form method="post" action={(base) "/link"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    label { "Link to " select name="kind" { option value="incident" { "incident" } option value="ticket" { "ticket" } } }
                    label { " # " input name="other" type="number" min="1" required; }
                    button type="submit" { "Link" }
                }
                form method="post" action={(base) "/backlog"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    button type="submit" { "Make a backlog bug" }
                }
                form method="post" action={(base) "/merge"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    label { "Merge issue # " input name="other" type="number" min="1" required; }
                    button type="submit" { "Merge into this one" }
                }
            }
        }
        @if !(d.incidents.is_empty() && d.tickets.is_empty() && d.backlog.is_empty()) {
            h2 { "Linked" }
            ul.links {
                @for n in &d.incidents { li { a href={"/p/" (project.slug) "/support/incidents/" (n)} { "Incident #" (n) } } }
                @for n in &d.tickets { li { a href={"/p/" (project.slug) "/support/tickets/" (n)} { "Ticket #" (n) } } }
                @for n in &d.backlog { li { a href={"/p/" (project.slug) "/feedback/backlog/" (n)} { "Backlog #" (n) } } }
            }
        }
        @if !d.releases.is_empty() {
            h2 { "Releases" }
            table.releases {
                thead { tr { th { "Release" } th { "Environment" } th { "Events" } th { "First seen" } th { "Last seen" } } }
                tbody { @for r in &d.releases { tr { td { (r.release) } td { (r.environment) } td { (r.events) } td { (r.first_seen) } td { (r.last_seen) } } } }
            }
        }
        @if !d.tags.is_empty() {
            h2 { "Tags" }
            table.tags {
                thead { tr { th { "Tag" } th { "Value" } th { "Events" } } }
                tbody { @for t in &d.tags { tr { td { (t.key) } td { (t.value) } td { (t.events) } } } }
            }
        }

        @if d.fingerprints.len() > 1 {
            h2 { "Fingerprints" }
            ul { @for f in &d.fingerprints { li { code { (f.fingerprint) } " " (f.title) " (" (f.events) ")" } } }
        }
        h2 { "Activity" }
        ul.activity {
            @for a in &d.activity {
                li { (a.at) " " (a.kind) @if let Some(r) = &a.release { " in " (r) } " by " (a.actor) @if let Some(x) = &a.detail { " — " (x) } }
            }
        }
    };
    page(
        &format!("#{} {} · {}", i.number, i.title, project.name),
        Some(&frame),
        body,
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    op: String,
    integration: Option<String>,
    on_new: Option<String>,
    on_regression: Option<String>,
    spike_events: Option<String>,
    spike_minutes: Option<String>,
    spike_percent: Option<String>,
    notify: Option<String>,
    severities: Option<String>,
    matcher: Option<String>,
    pattern: Option<String>,
    fingerprint: Option<String>,
    id: Option<String>,
}

/// The error settings on the list page: the DSN's key, alerts, grouping
/// rules.
pub async fn settings_action(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<SettingsForm>,
) -> Response {
    let (project, _) = or_page!(crate::ui::prologue::permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only admins change error settings."
    ));
    let actor = s.actor();
    let done = match f.op.as_str() {
        "rotate" => service::rotate_key(&state, &actor, &project.id)
            .await
            .map(drop),
        "alerts" => {
            let spike_events = match number_field("Events", f.spike_events.as_deref()) {
                Ok(v) => v.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
                Err(page) => return page,
            };
            let spike_minutes = match number_field("Minutes", f.spike_minutes.as_deref()) {
                Ok(v) => v.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
                Err(page) => return page,
            };
            let spike_percent = match f.spike_percent.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(p) => match p.parse::<f64>() {
                    Ok(p) => Some(p),
                    Err(_) => {
                        return error_page(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "The share of a route's requests must be a number.",
                        );
                    }
                },
            };
            let body = crate::contract::errors::ErrorAlertsBody {
                integration: f.integration.clone(),
                on_new: f.on_new.is_some(),
                on_regression: f.on_regression.is_some(),
                spike_events,
                spike_minutes,
                spike_percent,
                notify: f.notify.clone(),
                severities: f.severities.clone(),
            };
            service::set_alerts(&state, &actor, &project.id, &body)
                .await
                .map(drop)
        }
        "rule-add" => {
            let body = crate::contract::errors::GroupingRuleBody {
                matcher: f.matcher.clone().unwrap_or_default(),
                pattern: f.pattern.clone().unwrap_or_default(),
                fingerprint: f
                    .fingerprint
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .map(str::to_owned)
                    .collect(),
            };
            service::add_grouping_rule(&state, &actor, &project.id, &body)
                .await
                .map(drop)
        }
        "rule-delete" => {
            service::delete_grouping_rule(
                &state,
                &actor,
                &project.id,
                f.id.as_deref().unwrap_or(""),
            )
            .await
        }
        _ => return error_page(StatusCode::NOT_FOUND, "There is no such setting."),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/p/{}/support/errors", project.slug)).into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct IssueForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    next: Option<String>,
    release: Option<String>,
    events: Option<String>,
    users: Option<String>,
    until: Option<String>,
    other: Option<String>,
    kind: Option<String>,
}

fn number_field(name: &str, v: Option<&str>) -> Result<Option<u64>, Response> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("{name} must be a whole number."),
            )
        }),
    }
}

/// Resolve, ignore, reopen or merge, from the issue page.
pub async fn issue_action(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number, action)): Path<(String, i64, String)>,
    Form(f): Form<IssueForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "change issues"));
    let project = &projects[idx].0;
    let actor = s.actor();
    let blank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let done = match action.as_str() {
        "resolve" => {
            let body = IssueUpdate {
                status: "resolved".into(),
                in_release: blank(&f.release),
                in_next_release: f.next.is_some(),
                ..IssueUpdate::default()
            };
            issues::update(&state, &actor, &project.id, number, &body)
                .await
                .map(drop)
        }
        "ignore" => {
            let events = match number_field("Events", f.events.as_deref()) {
                Ok(v) => v,
                Err(page) => return page,
            };
            let users = match number_field("Users", f.users.as_deref()) {
                Ok(v) => v,
                Err(page) => return page,
            };
            let body = IssueUpdate {
                status: "ignored".into(),
                ignore_events: events,
                ignore_users: users,
                ignore_until: blank(&f.until),
                ..IssueUpdate::default()
            };
            issues::update(&state, &actor, &project.id, number, &body)
                .await
                .map(drop)
        }
        "reopen" => {
            let body = IssueUpdate {
                status: "unresolved".into(),
                ..IssueUpdate::default()
            };
            issues::update(&state, &actor, &project.id, number, &body)
                .await
                .map(drop)
        }
        "merge" => {
            let other = match number_field("The issue number", f.other.as_deref()) {
                Ok(Some(n)) => i64::try_from(n).unwrap_or(i64::MAX),
                Ok(None) => {
                    return error_page(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Name the issue to merge.",
                    );
                }
                Err(page) => return page,
            };
            issues::merge(&state, &actor, &project.id, number, &[other])
                .await
                .map(drop)
        }
        "link" => {
            let other = match number_field("The number", f.other.as_deref()) {
                Ok(Some(n)) => i64::try_from(n).unwrap_or(i64::MAX),
                Ok(None) => {
                    return error_page(StatusCode::UNPROCESSABLE_ENTITY, "Name what to link to.");
                }
                Err(page) => return page,
            };
            let kind = f.kind.as_deref().unwrap_or("incident");
            issues::link(&state, &actor, &project.id, number, kind, other).await
        }
        "backlog" => issues::to_backlog(&state, &actor, &project.id, number)
            .await
            .map(drop),
        _ => return error_page(StatusCode::NOT_FOUND, "There is no such action."),
    };
    match done {
        Ok(()) => {
            Redirect::to(&format!("/p/{}/support/errors/{number}", project.slug)).into_response()
        }
        Err(e) => api_error(e),
    }
}
