//! The feedback pages: incoming feedback with duplicate suggestions and the
//! reporter's activity, the backlog ranked by score and votes, and an item
//! with its votes, RICE or ICE inputs, release and merge buttons.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::Area;
use liveops_core::feedback::FeedbackKind;
use liveops_core::feedback::backlog::{ItemKind, ItemStatus};
use liveops_store::feedback::ItemFilter;
use maud::html;
use serde::Deserialize;

use super::prologue::{load, writable};
use super::{Frame, UiSession, api_error, csrf_field, error_page, page};
use crate::contract::feedback::{ItemView, activity_views, item_view};
use crate::error::ApiError;
use crate::feedback::{self as service, ItemChange, Sender, Submission};
use crate::state::{AppState, format_ms};

fn score_text(i: &ItemView) -> String {
    i.score
        .as_ref()
        .map(|s| format!("{} {}", s.method.to_uppercase(), s.value))
        .unwrap_or_else(|| "–".into())
}

/// The overview's filter: feedback from one cohort's persons.
#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    in_cohort: Option<String>,
}

pub async fn overview(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let chosen = q
        .in_cohort
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let feedback = match service::list(&state, &project.id, None, None, 100, chosen).await {
        Ok(f) => f,
        Err(e) => return api_error(e),
    };
    let cohorts = match crate::analytics::cohorts::list(&state, &project.id).await {
        Ok(c) => c,
        Err(e) => return api_error(e),
    };
    let items = match state
        .db
        .items(
            &project.id,
            &ItemFilter {
                open_only: true,
                ..ItemFilter::default()
            },
            500,
        )
        .await
    {
        Ok(i) => i,
        Err(e) => return api_error(e),
    };
    let views: Vec<_> = items.into_iter().map(item_view).collect();
    let frame = Frame::of(&s, &projects, project, Area::Feedback);
    let p = &project.slug;
    page(
        &format!("Feedback · {}", project.name),
        Some(&frame),
        html! {
            h1 { (Area::Feedback.title()) }
            p.lede { (Area::Feedback.summary()) }
            @if feedback.is_empty() && views.is_empty() {
                div.empty data-area="feedback" {
                    p { strong { "No feedback and no backlog items yet." } }
                    p { "Embed the feedback form on your site (below), import a CSV or JSON export with " code { "liveops feedback import" } ", or add items by hand." }
                }
            }
            section {
                h2 { "Backlog" }
                table.backlog {
                    thead { tr { th { "#" } th { "Item" } th { "Kind" } th { "Status" } th { "Votes" } th { "Score" } th { "Release" } } }
                    tbody {
                        @for i in &views {
                            tr data-item=(i.number) {
                                td { (i.number) }
                                td { a href={"/p/" (p) "/feedback/backlog/" (i.number)} { (i.title) } }
                                td { (i.kind) }
                                td { (i.status) }
                                td { span.votes { (i.votes) } }
                                td { (score_text(i)) }
                                td { (i.release.as_deref().unwrap_or("–")) }
                            }
                        }
                    }
                }
                @if views.is_empty() { p { "The backlog is empty. Add an item, or turn feedback into one." } }
                details {
                    summary { "Add an item" }
                    form.grid method="post" action={"/p/" (p) "/feedback/backlog"} {
                        (csrf_field(&s))
                        label { "Title" input name="title" required maxlength="200"; }
                        label { "Kind" select name="kind" { @for k in ItemKind::ALL { option value=(k.as_str()) { (k.as_str()) } } } }
                        label { "Description" textarea name="body" rows="3" {} }
                        button type="submit" { "Add item" }
                    }
                }
            }
            section {
                h2 { "Feedback" }
                @if !cohorts.is_empty() {
                    form.inline method="get" {
                        label { "From the cohort " select name="in_cohort" {
                            option value="" { "everyone" }
                            @for c in &cohorts { option value=(c.name) selected[chosen == Some(c.name.as_str())] { (c.name) } }
                        } }
                        " " button type="submit" { "Show" }
                    }
                }
                table.feedback {
                    thead { tr { th { "#" } th { "Feedback" } th { "Kind" } th { "From" } th { "Source" } th { "Item" } th { "When" } } }
                    tbody {
                        @for f in &feedback {
                            tr data-feedback=(f.number) data-state=(f.state.as_str()) {
                                td { (f.number) }
                                td { a href={"/p/" (p) "/feedback/" (f.number)} { (f.title) } }
                                td { (f.kind.as_str()) }
                                td { (f.reporter_email.as_deref().or(f.reporter_name.as_deref()).unwrap_or("anonymous")) }
                                td { (f.source) }
                                td { @if let Some(n) = f.item_number { a href={"/p/" (p) "/feedback/backlog/" (n)} { "#" (n) } } @else { "–" } }
                                td { (format_ms(f.created_at)) }
                            }
                        }
                    }
                }
                @if feedback.is_empty() { p { "No feedback yet. Embed the form on your site, import an export, or add some by hand." } }
                details {
                    summary { "Add feedback by hand" }
                    form.grid method="post" action={"/p/" (p) "/feedback"} {
                        (csrf_field(&s))
                        label { "Kind" select name="kind" { @for k in FeedbackKind::ALL { option value=(k.as_str()) { (k.as_str()) } } } }
                        label { "Feedback" textarea name="body" rows="3" required {} }
                        label { "Reporter's e-mail" input type="email" name="email"; }
                        button type="submit" { "Add feedback" }
                    }
                }
                details {
                    summary { "Embed the feedback form on your site" }
                    p { "Add this tag to your pages, with the project's ingest key:" }
                    pre { code { "<script src=\"https://YOUR-LIVEOPS/feedback/widget.js\" data-project=\"" (p) "\" data-key=\"YOUR_INGEST_KEY\" defer></script>" } }
                    p { "Or link to the form itself: " a href={"/feedback/" (p) "/form?key=YOUR_INGEST_KEY"} { "/feedback/" (p) "/form" } "." }
                }
            }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct NewFeedbackForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    body: String,
    email: Option<String>,
}

pub async fn create_feedback(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<NewFeedbackForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "add feedback"));
    let project = &projects[idx].0;
    let sub = Submission {
        kind: Some(f.kind),
        body: f.body,
        email: f.email,
        ..Submission::default()
    };
    let actor = s.actor();
    match service::submit(
        &state,
        Sender::Member(&actor),
        &project.id,
        "web",
        &sub,
        None,
    )
    .await
    {
        Ok(Some((fb, _))) => {
            Redirect::to(&format!("/p/{}/feedback/{}", project.slug, fb.number)).into_response()
        }
        Ok(None) => error_page(StatusCode::CONFLICT, "That feedback exists already."),
        Err(e) => api_error(e),
    }
}

pub async fn feedback(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number)): Path<(String, String)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let f = match service::find_feedback(&state, &project.id, &number).await {
        Ok(f) => f,
        Err(e) => return api_error(e),
    };
    let suggestions = match service::suggestions(
        &state,
        &project.id,
        &format!("{}\n{}", f.title, f.body),
        f.item_id.as_deref(),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return api_error(e),
    };
    let acts = service::activity(&state, &project.id, f.distinct_id.as_deref(), 20)
        .await
        .map(activity_views)
        .unwrap_or_default();
    let frame = Frame::of(&s, &projects, project, Area::Feedback);
    let p = &project.slug;
    let action = format!("/p/{p}/feedback/{}/action", f.number);
    page(
        &format!("Feedback #{} · {}", f.number, project.name),
        Some(&frame),
        html! {
            p { a href={"/p/" (p) "/feedback"} { "← Feedback" } }
            h1 { "#" (f.number) " " (f.title) }
            p.meta data-state=(f.state.as_str()) {
                (f.kind.as_str()) " · " span.state { (f.state.as_str()) } " · from "
                (f.reporter_email.as_deref().or(f.reporter_name.as_deref()).unwrap_or("anonymous"))
                " via " (f.source) " · " (format_ms(f.created_at))
                @if let Some(sig) = &f.spam_signal { " · spam signal: " (sig) }
            }
            blockquote { (f.body) }
            @if let Some(n) = f.item_number {
                p { "Votes for " a href={"/p/" (p) "/feedback/backlog/" (n)} { "item #" (n) } "." }
            }
            section.suggestions {
                h2 { "Possible duplicates in the backlog" }
                @if suggestions.is_empty() { p { "No open item looks like this." } }
                ul {
                    @for sg in &suggestions {
                        li data-item=(sg.number) {
                            a href={"/p/" (p) "/feedback/backlog/" (sg.number)} { "#" (sg.number) " " (sg.title) }
                            " (" (sg.votes) " votes, " (format!("{:.0}", sg.similarity * 100.0)) "% alike) "
                            form.inline method="post" action=(action) {
                                (csrf_field(&s))
                                input type="hidden" name="action" value="link";
                                input type="hidden" name="item" value=(sg.number);
                                button type="submit" { "Link as a vote" }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Triage" }
                form.inline method="post" action=(action) {
                    (csrf_field(&s))
                    input type="hidden" name="action" value="promote";
                    button type="submit" { "Make a new backlog item" }
                }
                " "
                @for (a, label) in [("close", "Close"), ("spam", "Mark as spam"), ("not_spam", "Not spam"), ("unlink", "Unlink")] {
                    form.inline method="post" action=(action) {
                        (csrf_field(&s))
                        input type="hidden" name="action" value=(a);
                        button type="submit" { (label) }
                    }
                    " "
                }
            }
            @if f.distinct_id.is_some() {
                section.activity {
                    h2 { "What the reporter did" }
                    @if acts.is_empty() { p { "Analytics has no events for " code { (f.distinct_id.as_deref().unwrap_or("")) } " yet." } }
                    ol.timeline {
                        @for a in &acts { li { time { (a.timestamp) } " " (a.event) } }
                    }
                    p { a href={"/p/" (p) "/analytics/persons/" (f.distinct_id.as_deref().unwrap_or(""))} { "Open the person in analytics" } }
                }
            }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    action: String,
    item: Option<i64>,
}

pub async fn feedback_action(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "triage feedback"));
    let project = &projects[idx].0;
    let fb = match service::find_feedback(&state, &project.id, &number).await {
        Ok(f) => f,
        Err(e) => return api_error(e),
    };
    let done = match service::action_named(&state, &project.id, &f.action, f.item, None).await {
        Ok(a) => service::act(&state, &s.actor(), &project.id, &fb, a).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => {
            Redirect::to(&format!("/p/{}/feedback/{}", project.slug, fb.number)).into_response()
        }
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct NewItemForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    title: String,
    kind: String,
    body: Option<String>,
}

pub async fn create_item(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<NewItemForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "add backlog items"));
    let project = &projects[idx].0;
    match service::create_item(
        &state,
        &s.actor(),
        &project.id,
        &f.kind,
        &f.title,
        f.body.as_deref(),
    )
    .await
    {
        Ok(i) => Redirect::to(&format!(
            "/p/{}/feedback/backlog/{}",
            project.slug, i.number
        ))
        .into_response(),
        Err(e) => api_error(e),
    }
}

pub async fn item(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number)): Path<(String, String)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let i = match service::find_item(&state, &project.id, &number).await {
        Ok(i) => i,
        Err(e) => return api_error(e),
    };
    let votes = state.db.feedback_for_item(&i.id).await.unwrap_or_default();
    let dups = service::suggestions(
        &state,
        &project.id,
        &format!("{}\n{}", i.title, i.body),
        Some(&i.id),
    )
    .await
    .unwrap_or_default();
    let releases: Vec<_> = state
        .db
        .releases(&project.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.state != "shipped")
        .collect();
    let v = item_view(i);
    let frame = Frame::of(&s, &projects, project, Area::Feedback);
    let p = &project.slug;
    let base = format!("/p/{p}/feedback/backlog/{}", v.number);
    let sc = v.score.as_ref();
    page(
        &format!("Item #{} · {}", v.number, project.name),
        Some(&frame),
        html! {
            p { a href={"/p/" (p) "/feedback"} { "← Backlog" } }
            h1 { "#" (v.number) " " (v.title) }
            p.meta { (v.kind) " · " strong.status { (v.status) } " · " span.votes { (v.votes) } " votes from " (v.voters) " people · score " (score_text(&v))
                @if let Some(r) = &v.release { " · release " a href={"/p/" (p) "/releases/" (r)} { (r) } }
                @if let Some(m) = v.merged_into { " · merged into " a href={"/p/" (p) "/feedback/backlog/" (m)} { "#" (m) } }
                @if let Some(n) = v.postmortem { " · action item of " a href={"/p/" (p) "/reviews/postmortems/" (n)} { "the postmortem of incident #" (n) } }
                @if let Some(n) = v.review { " · from " a href={"/p/" (p) "/reviews/" (n)} { "review #" (n) } }
            }
            @if !v.body.is_empty() { blockquote { (v.body) } }
            section {
                h2 { "Votes" }
                @if votes.is_empty() { p { "No feedback is linked yet." } }
                ul.votes {
                    @for f in &votes {
                        li { a href={"/p/" (p) "/feedback/" (f.number)} { "#" (f.number) " " (f.title) } " — " (f.reporter_email.as_deref().or(f.reporter_name.as_deref()).unwrap_or("anonymous")) }
                    }
                }
            }
            section {
                h2 { "Plan" }
                form.grid method="post" action=(base) {
                    (csrf_field(&s))
                    label { "Status" select name="status" {
                        @for st in ItemStatus::ALL {
                            @if st == ItemStatus::parse(&v.status).unwrap_or(ItemStatus::Triage) || ItemStatus::parse(&v.status).is_some_and(|cur| cur.can_move_to(st)) {
                                option value=(st.as_str()) selected[st.as_str() == v.status] { (st.as_str()) }
                            }
                        }
                    } }
                    label { "Release" select name="release" {
                        option value="" { "none" }
                        @for r in &releases { option value=(r.version) selected[v.release.as_deref() == Some(r.version.as_str())] { (r.version) " (" (r.state) ")" } }
                    } }
                    label { input type="checkbox" name="public" value="on" checked[v.public]; " Public: show it in the changelog once released" }
                    fieldset {
                        legend { "Score" }
                        label { "Method" select name="method" {
                            option value="" selected[sc.is_none()] { "none" }
                            option value="rice" selected[sc.is_some_and(|s| s.method == "rice")] { "RICE: reach × impact × confidence ÷ effort" }
                            option value="ice" selected[sc.is_some_and(|s| s.method == "ice")] { "ICE: impact × confidence × ease" }
                        } }
                        label { "Reach (people per quarter)" input name="reach" inputmode="decimal" value=[sc.and_then(|s| s.reach)]; }
                        label { "Impact (RICE 0.25–3, ICE 1–10)" input name="impact" inputmode="decimal" value=[sc.map(|s| s.impact)]; }
                        label { "Confidence (RICE %, ICE 1–10)" input name="confidence" inputmode="decimal" value=[sc.map(|s| s.confidence)]; }
                        label { "Effort (person-weeks, RICE)" input name="effort" inputmode="decimal" value=[sc.and_then(|s| s.effort)]; }
                        label { "Ease (1–10, ICE)" input name="ease" inputmode="decimal" value=[sc.and_then(|s| s.ease)]; }
                    }
                    button type="submit" { "Save" }
                }
            }
            section.duplicates {
                h2 { "Possible duplicates" }
                @if dups.is_empty() { p { "No other open item looks like this one." } }
                ul {
                    @for d in &dups {
                        li data-item=(d.number) {
                            a href={"/p/" (p) "/feedback/backlog/" (d.number)} { "#" (d.number) " " (d.title) }
                            " (" (format!("{:.0}", d.similarity * 100.0)) "% alike) "
                            form.inline method="post" action={(base) "/merge"} {
                                (csrf_field(&s))
                                input type="hidden" name="into" value=(d.number);
                                button type="submit" { "Merge this item into #" (d.number) }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ItemForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    status: Option<String>,
    release: Option<String>,
    method: Option<String>,
    reach: Option<String>,
    impact: Option<String>,
    confidence: Option<String>,
    effort: Option<String>,
    ease: Option<String>,
    public: Option<String>,
}

fn number(field: &str, v: Option<&str>) -> Result<Option<f64>, ApiError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| ApiError::unprocessable(format!("{field} `{s}` is not a number"))),
    }
}

pub async fn update_item(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number_)): Path<(String, String)>,
    Form(f): Form<ItemForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "edit the backlog"));
    let project = &projects[idx].0;
    let done: Result<i64, ApiError> = async {
        let i = service::find_item(&state, &project.id, &number_).await?;
        let score = service::score_from(
            f.method.as_deref().unwrap_or(""),
            number("reach", f.reach.as_deref())?,
            number("impact", f.impact.as_deref())?,
            number("confidence", f.confidence.as_deref())?,
            number("effort", f.effort.as_deref())?,
            number("ease", f.ease.as_deref())?,
        )?;
        let release = match f.release.as_deref() {
            None | Some("") => None,
            Some(v) => Some(crate::releases::find_release(&state, &project.id, v).await?),
        };
        let i = service::update_item(
            &state,
            &s.actor(),
            &project.id,
            i,
            ItemChange {
                status: f.status.clone(),
                score: Some(score),
                public: Some(f.public.is_some()),
                release: Some(release),
                ..ItemChange::default()
            },
        )
        .await?;
        Ok(i.number)
    }
    .await;
    match done {
        Ok(n) => Redirect::to(&format!("/p/{}/feedback/backlog/{n}", project.slug)).into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct MergeForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    into: i64,
}

pub async fn merge_item(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number_)): Path<(String, String)>,
    Form(f): Form<MergeForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "merge backlog items"));
    let project = &projects[idx].0;
    let done: Result<i64, ApiError> = async {
        let from = service::find_item(&state, &project.id, &number_).await?;
        let into = service::find_item(&state, &project.id, &f.into.to_string()).await?;
        Ok(
            service::merge(&state, &s.actor(), &project.id, &from, &into)
                .await?
                .number,
        )
    }
    .await;
    match done {
        Ok(n) => Redirect::to(&format!("/p/{}/feedback/backlog/{n}", project.slug)).into_response(),
        Err(e) => api_error(e),
    }
}
