//! The post-production reviews pages: postmortems (drafted from data,
//! edited, marked, signed off, printed) and post-launch reviews.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::Area;
use liveops_core::reviews::postmortem::{ActionKind, Mark, PostmortemState};
use liveops_store::projects::Project;
use maud::{Markup, html};
use serde::Deserialize;

use super::prologue::{load, writable};
use super::{Frame, UiSession, api_error, csrf_field, error_page, page};
use crate::contract::reviews::review_view;
use crate::error::ApiError;
use crate::reviews::launch::{self, FindingBody, ReviewSectionsBody};
use crate::reviews::postmortems::{self as api, ActionBody, SectionsBody, Who};
use crate::state::{AppState, format_ms};

/// The signed-in person acting on `project`.
fn who<'a>(s: &'a UiSession, project: &'a Project) -> Who<'a> {
    Who {
        actor: s.actor(),
        user_id: &s.session.user.id,
        project_id: &project.id,
    }
}

fn day(ms: i64) -> String {
    format_ms(ms)[..10].to_owned()
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1} %", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn duration(secs: Option<i64>) -> String {
    match secs {
        None => "–".into(),
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) if s < 3600 => format!("{} min", s / 60),
        Some(s) => format!("{:.1} h", s as f64 / 3600.0),
    }
}

/// The reviews area: postmortems and post-launch reviews.
pub async fn overview(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let loaded = async {
        let pms = state.db.postmortems(&project.id).await?;
        let reviews = state.db.launch_reviews(&project.id).await?;
        let actions = state.db.open_actions(&project.id).await?;
        Ok::<_, ApiError>((pms, reviews, actions))
    }
    .await;
    let (pms, reviews, actions) = match loaded {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Reviews);
    let now = state.now_ms();
    page(
        &format!("Post-production reviews · {}", project.name),
        Some(&frame),
        html! {
            h1 { (Area::Reviews.title()) }
            p.lede { (Area::Reviews.summary()) }
            section {
                h2 { "Postmortems" }
                @if pms.is_empty() {
                    div.empty data-area="reviews" {
                        p { strong { "No postmortems yet." } }
                        p { "A postmortem is drafted from the data when a SEV1–SEV3 incident resolves; any incident can have one drafted from its page." }
                    }
                } @else {
                    table.postmortems {
                        thead { tr { th { "Incident" } th { "Title" } th { "State" } th { "Updated" } } }
                        tbody {
                            @for p in &pms {
                                tr {
                                    td { a href={"/p/" (project.slug) "/reviews/postmortems/" (p.incident_number)} { "#" (p.incident_number) } }
                                    td { (p.incident_title) }
                                    td { span.state { (p.state.as_str().replace('_', " ")) } }
                                    td { (day(p.updated_at)) }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Open action items" }
                @if actions.is_empty() {
                    p { "None open." }
                } @else {
                    ul.actions {
                        @for a in &actions {
                            li {
                                a href={"/p/" (project.slug) "/feedback/backlog/" (a.item_number)} { "#" (a.item_number) " " (a.title) }
                                " · " (a.kind.as_str()) " · " (a.owner_email.as_deref().unwrap_or("no owner"))
                                @if let Some(d) = a.due_at {
                                    " · due " (day(d))
                                    @if d < now { " " strong.overdue { "overdue" } }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Post-launch reviews" }
                @if !reviews.is_empty() {
                    ul.reviews {
                        @for r in &reviews {
                            li {
                                a href={"/p/" (project.slug) "/reviews/" (r.number)} { "#" (r.number) " " (r.title) }
                                " · " (day(r.from_at)) " to " (day(r.to_at))
                            }
                        }
                    }
                }
                form.stack method="post" action={"/p/" (project.slug) "/reviews"} {
                    (csrf_field(&s))
                    label { "Release version " input name="release" placeholder="1.4.0"; }
                    label { "or from " input type="date" name="from"; }
                    label { "to " input type="date" name="to"; }
                    button type="submit" { "Generate a review" }
                }
            }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(rename = "_csrf")]
    pub csrf: String,
    pub release: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

fn blank(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Generates a post-launch review from the form.
pub async fn create_review(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<ReviewForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "write reviews"));
    let project = &projects[idx].0;
    let who = who(&s, project);
    let body = launch::LaunchReviewBody {
        release: blank(&f.release),
        from: blank(&f.from),
        to: blank(&f.to),
        days: None,
        title: None,
    };
    match launch::review(&state, &who, &body).await {
        Ok(r) => Redirect::to(&format!("/p/{}/reviews/{}", project.slug, r.number)).into_response(),
        Err(e) => api_error(e),
    }
}

/// One post-launch review.
pub async fn review(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number)): Path<(String, String)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let shown = launch::shown_by_number(&state, &project.id, &number).await;
    let r = match shown.map_err(ApiError::from).and_then(review_view) {
        Ok(r) => r,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Reviews);
    let f = &r.facts;
    let base = format!("/p/{}/reviews/{}", project.slug, r.number);
    page(
        &format!("{} · {}", r.title, project.name),
        Some(&frame),
        html! {
            p { a href={"/p/" (project.slug) "/reviews"} { "← Reviews" } }
            h1 { (r.title) }
            p.lede { (&f.from[..10]) " to " (&f.to[..10]) ", against the same length of time before." }
            section {
                h2 { "Facts" }
                table.facts {
                    tbody {
                        tr { th { "Active users" } td { (f.active_users) " (before: " (f.active_users_before) ")" } }
                        tr { th { "Week-1 retention" } td { (pct(f.retention)) " (before: " (pct(f.retention_before)) ")" } }
                        tr { th { "Incidents" } td { (f.incidents) " (" (f.major_incidents) " SEV1/SEV2)" } }
                        tr { th { "Tickets" } td { (f.tickets) " (before: " (f.tickets_before) ")" } }
                        tr { th { "Feedback" } td { (f.feedback) " (before: " (f.feedback_before) ")" } }
                        tr { th { "Security findings" } td { (f.findings_opened) " opened, " (f.findings_fixed) " fixed" } }
                        tr { th { "Error issues" } td { (f.new_issues) " new (before: " (f.new_issues_before) "), " (f.regressed_issues) " regressed" } }
                        @if let (Some(r), Some(b), Some(c)) = (f.revenue, f.revenue_before, &f.revenue_currency) {
                            tr { th { "Revenue" } td.revenue { (format!("{r:.2} {c} (before: {b:.2})")) } }
                        }
                    }
                }
                @if !f.adoption.is_empty() {
                    h3 { "Feature adoption" }
                    (crate::ui::charts::bars(
                        &f.adoption.iter().map(|a| (a.feature.clone(), a.adoption * 100.0)).collect::<Vec<_>>(),
                        "%",
                    ))
                    table { thead { tr { th { "Feature" } th { "Users" } th { "Before" } th { "Adoption" } } }
                        tbody { @for a in &f.adoption { tr { td { (a.feature) @if a.new { " " small { "new" } } } td { (a.users) } td { (a.users_before) } td { (pct(Some(a.adoption))) } } } } }
                }
                @if !f.conversions.is_empty() {
                    h3 { "Key funnels" }
                    table { thead { tr { th { "Funnel" } th { "Conversion" } th { "Before" } } }
                        tbody { @for c in &f.conversions { tr { td { (c.funnel) } td { (pct(c.conversion)) } td { (pct(c.conversion_before)) } } } } }
                }
                @if !f.regressions.is_empty() {
                    h3 { "Performance regressions" }
                    ul { @for g in &f.regressions { li { (g) } } }
                }
                @if !f.themes.is_empty() {
                    h3 { "Top feedback themes" }
                    ul { @for t in &f.themes { li { (t.item) " (" (t.feedback) ")" } } }
                }
            }
            form.stack method="post" action={(base) "/edit"} {
                (csrf_field(&s))
                label { "Went well" textarea name="went_well" rows="5" { (r.went_well) } }
                label { "Failed" textarea name="failed" rows="5" { (r.failed) } }
                label { "Improve" textarea name="improve" rows="5" { (r.improve) } }
                button type="submit" { "Save" }
            }
            section {
                h2 { "Findings" }
                @if f.findings.is_empty() { p { "No findings." } }
                ul.findings {
                    @for finding in &f.findings {
                        li {
                            (finding) " "
                            @if r.items.iter().any(|i| &i.title == finding) {
                                small { "in the backlog" }
                            } @else {
                                form.inline method="post" action={(base) "/findings"} {
                                    (csrf_field(&s))
                                    input type="hidden" name="title" value=(finding);
                                    button type="submit" { "Add to backlog" }
                                }
                            }
                        }
                    }
                }
                @if !r.items.is_empty() {
                    h3 { "Backlog items raised" }
                    ul { @for i in &r.items { li { a href={"/p/" (project.slug) "/feedback/backlog/" (i.item)} { "#" (i.item) " " (i.title) } " · " (i.status) } } }
                }
            }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ReviewEditForm {
    #[serde(rename = "_csrf")]
    pub csrf: String,
    pub went_well: Option<String>,
    pub failed: Option<String>,
    pub improve: Option<String>,
    pub title: Option<String>,
}

/// Saves a review's sections or raises a finding.
pub async fn review_action(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number, action)): Path<(String, String, String)>,
    Form(f): Form<ReviewEditForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "write reviews"));
    let project = &projects[idx].0;
    let who = who(&s, project);
    let done: Result<(), crate::reviews::ReviewsError> = match action.as_str() {
        "edit" => {
            launch::save_review(
                &state,
                &who,
                &number,
                &ReviewSectionsBody {
                    went_well: f.went_well,
                    failed: f.failed,
                    improve: f.improve,
                },
            )
            .await
        }
        "findings" => {
            launch::raise_finding(
                &state,
                &who,
                &number,
                &FindingBody {
                    title: f.title.unwrap_or_default(),
                    body: None,
                    kind: None,
                },
            )
            .await
        }
        _ => return error_page(StatusCode::NOT_FOUND, "There is no such action."),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/p/{}/reviews/{number}", project.slug)).into_response(),
        Err(e) => api_error(e),
    }
}

fn section(title: &str, name: &str, text: &str, editable: bool) -> Markup {
    html! {
        section.pm-section {
            h2 { (title) }
            @if editable {
                textarea name=(name) rows="6" aria-label=(title) { (text) }
            } @else if text.trim().is_empty() {
                p.muted { "Not written." }
            } @else {
                @for para in text.split("\n\n") {
                    p.prose { (para) }
                }
            }
        }
    }
}

/// A postmortem, print-ready: the browser's print hides forms and
/// navigation.
pub async fn postmortem(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number)): Path<(String, i64)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let loaded = async {
        let pm = state
            .db
            .postmortem(&project.id, number)
            .await
            .map_err(|e| match e {
                liveops_store::StoreError::NotFound => {
                    ApiError::not_found(format!("Incident #{number} has no postmortem yet."))
                }
                e => e.into(),
            })?;
        api::load(&state, pm, true).await
    }
    .await;
    let l = match loaded {
        Ok(l) => l,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Reviews);
    let pm = &l.pm;
    let f = &l.facts;
    let editable = pm.state != PostmortemState::Published;
    let base = format!(
        "/p/{}/reviews/postmortems/{}",
        project.slug, pm.incident_number
    );
    let now = state.now_ms();
    let sc = &pm.sections;
    page(
        &format!("Postmortem #{} · {}", pm.incident_number, project.name),
        Some(&frame),
        html! {
            p.no-print { a href={"/p/" (project.slug) "/reviews"} { "← Reviews" } " · "
                a href={"/p/" (project.slug) "/support/incidents/" (pm.incident_number)} { "Incident #" (pm.incident_number) } " · "
                a href={"/api/v1/projects/" (project.slug) "/incidents/" (pm.incident_number) "/postmortem?format=markdown"} { "Markdown" } }
            h1 { "Postmortem: " (pm.incident_title) }
            p.lede {
                span.state { (pm.state.as_str().replace('_', " ")) } " · " (f.severity.to_uppercase())
                " · started " (f.started_at)
                " · acknowledged after " (duration(f.time_to_acknowledge_secs))
                " · resolved after " (duration(f.time_to_resolve_secs))
            }
            div.no-print.workflow {
                @for (step, label) in workflow(pm.state) {
                    form.inline method="post" action={(base) "/state"} {
                        (csrf_field(&s))
                        input type="hidden" name="step" value=(step);
                        button type="submit" { (label) }
                    }
                }
                @if pm.state == PostmortemState::InReview {
                    form.inline method="post" action={(base) "/sign-off"} {
                        (csrf_field(&s))
                        button type="submit" { "Sign off" }
                    }
                }
                @if editable {
                    form.inline method="post" action={(base) "/refresh"} {
                        (csrf_field(&s))
                        button type="submit" { "Read the figures again" }
                    }
                }
            }
            @if !l.sign_offs.is_empty() {
                p { "Signed off by " @for (i, (who, at)) in l.sign_offs.iter().enumerate() { @if i > 0 { ", " } (who) " (" (day(*at)) ")" } }
            }
            section {
                h2 { "Impact, measured" }
                table.facts { tbody {
                    tr { th { "Active users" } td { (f.usage.active_users) " (a week before: " (f.usage.active_users_week_before) ", " (f.usage.change.map(|c| format!("{:+.1} %", c * 100.0)).unwrap_or_else(|| "–".into())) ")" } }
                    @for fu in &f.usage.funnels {
                        tr { th { "Funnel " (fu.name) } td { (pct(fu.conversion)) " (a week before: " (pct(fu.conversion_week_before)) ")" } }
                    }
                    tr { th { "Requests" } td { (f.performance.requests) ", " (f.performance.errors) " errors (" (pct(Some(f.performance.error_rate))) ")" } }
                    tr { th { "p95 latency" } td { (f.performance.p95_ms.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "–".into())) " (a week before: " (f.performance.p95_ms_week_before.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "–".into())) ")" } }
                    @for b in &f.performance.budgets {
                        tr { th { "Error budget, " (b.slo) } td { (pct(b.consumed)) " consumed (" (b.bad) " bad requests)" } }
                    }
                } }
            }
            @if !f.errors.is_empty() {
                section {
                    h2 { "Errors during the incident" }
                    ul { @for e in &f.errors {
                        li { a href={"/p/" (project.slug) "/support/errors/" (e.number)} { "#" (e.number) " " (e.title) }
                            ": " (e.events) " events (" (e.events_before) " before)"
                            @if e.new { " · new" } }
                    } }
                }
            }
            section {
                h2 { "Suspect changes" }
                @if f.suspects.is_empty() { p { "No deployments in the 24 hours before the incident." } }
                ul { @for d in &f.suspects {
                    li { strong { (d.service) " " (d.version) } " deployed " (d.deployed_at) ", " (duration(Some(d.before_secs))) " before"
                        @if d.same_service { " · same service" }
                        @if d.linked { " · linked as the cause" } }
                } }
            }
            form.pm method="post" action={(base) "/edit"} {
                (csrf_field(&s))
                (section("Summary", "summary", &sc.summary, editable))
                (section("Impact", "impact", &sc.impact, editable))
                (section("Trigger", "trigger", &sc.trigger, editable))
                (section("Detection", "detection", &sc.detection, editable))
                (section("Root causes", "root_causes", &sc.root_causes, editable))
                (section("Resolution", "resolution", &sc.resolution, editable))
                (section("What went well", "went_well", &sc.went_well, editable))
                (section("What went wrong", "went_wrong", &sc.went_wrong, editable))
                (section("Where we got lucky", "got_lucky", &sc.got_lucky, editable))
                @if editable { button.no-print type="submit" { "Save the postmortem" } }
            }
            section {
                h2 { "Timeline (UTC)" }
                table.timeline {
                    tbody {
                        @for line in &l.lines {
                            @let starred = line.mark == Some(Mark::Star);
                            @let class = match line.mark {
                                Some(Mark::Hide) => Some("hidden no-print"),
                                Some(Mark::Star) => Some("starred"),
                                None => None,
                            };
                            tr class=[class] {
                                td { (format_ms(line.entry.at)) }
                                td { (line.entry.actor) }
                                td { @if starred { "★ " } strong { (line.entry.kind) } " " (line.entry.text) }
                                td.no-print {
                                    @if editable {
                                        @for (mark, label) in [("star", "Star"), ("hide", "Hide"), ("none", "Clear")] {
                                            form.inline method="post" action={(base) "/mark"} {
                                                (csrf_field(&s))
                                                input type="hidden" name="entry" value=(line.entry.key);
                                                input type="hidden" name="mark" value=(mark);
                                                button type="submit" { (label) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Action items" }
                @if l.actions.is_empty() { p { "None yet." } }
                ul.actions {
                    @for a in &l.actions {
                        @let open = !matches!(a.status.as_str(), "done" | "released" | "wont_do" | "merged");
                        li {
                            a href={"/p/" (project.slug) "/feedback/backlog/" (a.item_number)} { "#" (a.item_number) " " (a.title) }
                            " · " (a.kind.as_str()) " · " (a.owner_email.as_deref().unwrap_or("no owner"))
                            @if let Some(d) = a.due_at { " · due " (day(d)) }
                            " · " (a.status)
                            @if open && a.due_at.is_some_and(|d| d < now) { " " strong.overdue { "overdue" } }
                        }
                    }
                }
                form.stack.no-print method="post" action={(base) "/action"} {
                    (csrf_field(&s))
                    label { "Action " input name="title" required maxlength="200"; }
                    label { "Type "
                        select name="kind" { @for k in ActionKind::ALL { option value=(k.as_str()) { (k.as_str()) } } }
                    }
                    label { "Owner (e-mail) " input type="email" name="owner"; }
                    label { "Due " input type="date" name="due"; }
                    button type="submit" { "Add an action item" }
                }
            }
        },
    )
    .into_response()
}

fn workflow(state: PostmortemState) -> Vec<(&'static str, &'static str)> {
    match state {
        PostmortemState::Draft => vec![("submit", "Ask for review")],
        PostmortemState::InReview => vec![
            ("publish", "Publish"),
            ("request_changes", "Request changes"),
        ],
        PostmortemState::Published => vec![("reopen", "Reopen")],
    }
}

/// Every form a postmortem page posts.
#[derive(Debug, Deserialize)]
pub struct PostmortemForm {
    #[serde(rename = "_csrf")]
    pub csrf: String,
    pub step: Option<String>,
    pub entry: Option<String>,
    pub mark: Option<String>,
    pub title: Option<String>,
    pub kind: Option<String>,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub summary: Option<String>,
    pub impact: Option<String>,
    pub trigger: Option<String>,
    pub detection: Option<String>,
    pub root_causes: Option<String>,
    pub resolution: Option<String>,
    pub went_well: Option<String>,
    pub went_wrong: Option<String>,
    pub got_lucky: Option<String>,
}

/// Drafts (from the incident page) or changes a postmortem.
pub async fn postmortem_action(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number, action)): Path<(String, i64, String)>,
    Form(f): Form<PostmortemForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "write postmortems"));
    let project = &projects[idx].0;
    let who = who(&s, project);
    let done: Result<(), crate::reviews::ReviewsError> = async {
        if action == "draft" {
            let i = state.db.incident_by_number(&project.id, number).await?;
            api::draft(&state, &who, &i).await?;
            return Ok(());
        }
        let pm = state.db.postmortem(&project.id, number).await?;
        match action.as_str() {
            "edit" => {
                let body = SectionsBody {
                    summary: f.summary,
                    impact: f.impact,
                    trigger: f.trigger,
                    detection: f.detection,
                    root_causes: f.root_causes,
                    resolution: f.resolution,
                    went_well: f.went_well,
                    went_wrong: f.went_wrong,
                    got_lucky: f.got_lucky,
                };
                api::edit(&state, &who, &pm, &body).await
            }
            "state" => api::step(&state, &who, &pm, f.step.as_deref().unwrap_or("")).await,
            "sign-off" => api::sign(&state, &who, &pm).await,
            "refresh" => api::refresh(&state, &who, &pm).await,
            "mark" => {
                api::mark(
                    &state,
                    &who,
                    &pm,
                    f.entry.as_deref().unwrap_or(""),
                    f.mark.as_deref().unwrap_or(""),
                )
                .await
            }
            "action" => {
                let body = ActionBody {
                    kind: f.kind.unwrap_or_default(),
                    title: f.title.unwrap_or_default(),
                    body: None,
                    owner: f.owner.filter(|o| !o.trim().is_empty()),
                    due: f.due.filter(|d| !d.trim().is_empty()),
                };
                api::action(&state, &who, &pm, &body).await.map(|_| ())
            }
            _ => Err(crate::reviews::ReviewsError::not_found(
                "There is no such action.",
            )),
        }
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/p/{}/reviews/postmortems/{number}", project.slug))
            .into_response(),
        Err(e) => api_error(e),
    }
}
