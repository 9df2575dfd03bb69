//! The saved-insights pages: the project's insights, and an insight's own
//! page (its link to share inside the project), answered for today by the
//! same code as the API and drawn by its kind; the analytics page saves
//! its trend, funnel and retention through the form here.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::access::authorize;
use liveops_core::analytics::insight::{GoalOp, InsightKind};
use liveops_core::{Area, Permission};
use maud::{Markup, html};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::charts::{bars, heat, lines};
use super::prologue::{load, permitted};
use super::{Frame, UiSession, api_error, csrf_field, page, url_segment};
use crate::analytics::insights as service;
use crate::contract::analytics::{
    ActiveDayView, FunnelView, LifecycleView, RetentionView, StickinessView, TrendsResultView,
    WebOverviewView,
};
use crate::contract::answers;
use crate::contract::dashboards::{AlertBody, AlertView, GoalBody};
use crate::contract::insights::{InsightBody, InsightView};
use crate::contract::revenue::RevenueView;
use crate::error::ApiError;
use crate::state::{AppState, format_ms};

pub async fn list_view(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, _) = &projects[idx];
    let rows = match service::list(&state, &project.id).await {
        Ok(r) => r,
        Err(e) => return api_error(e),
    };
    let views: Vec<InsightView> = rows
        .iter()
        .map(|r| InsightView::new(r, &project.slug))
        .collect();
    let base = format!("/p/{}/analytics", project.slug);
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let body = html! {
        p { a href=(base) { "← Analytics" } }
        h1 { "Saved insights" }
        p.lede { "A saved insight is a question kept under a name. Its page answers it for today; share its link with anyone in the project. Save one from the analytics page, or through the API and the CLI." }
        @if views.is_empty() {
            p.empty { "No saved insights yet." }
        } @else {
            table.insights {
                thead { tr { th { "Insight" } th { "Kind" } th { "Saved by" } th { "Saved" } } }
                tbody { @for v in &views { tr {
                    td { a href=(v.link) { (v.name) } }
                    td { (v.kind) }
                    td { (v.created_by) }
                    td { (v.created_at[..10]) }
                } } }
            }
        }
    };
    page(&format!("Insights · {}", project.name), Some(&frame), body).into_response()
}

fn parse<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(ApiError::internal)
}

fn pct(f: f64) -> String {
    format!("{:.1}%", f * 100.0)
}

/// An answer drawn by its kind.
/// Rows that come per cohort (each naming it, in runs), grouped in order;
/// rows of no cohort make one group named `None`.
fn by_cohort<T>(
    rows: &[T],
    cohort: impl Fn(&T) -> &Option<String>,
) -> Vec<(Option<String>, Vec<&T>)> {
    let mut out: Vec<(Option<String>, Vec<&T>)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some((c, group)) if c == cohort(r) => group.push(r),
            _ => out.push((cohort(r).clone(), vec![r])),
        }
    }
    out
}

/// Revenue's lines: the whole, then each cohort's.
fn revenue_lines(r: &RevenueView) -> Vec<(String, Vec<f64>)> {
    let mut out = vec![(
        format!("revenue ({})", r.base_currency),
        r.points.iter().map(|p| p.revenue).collect(),
    )];
    for c in r.breakdown.iter().take(6) {
        out.push((
            c.value.clone(),
            c.points.iter().map(|p| p.revenue).collect(),
        ));
    }
    out
}

pub(super) fn drawn(kind: InsightKind, result: serde_json::Value) -> Result<Markup, ApiError> {
    Ok(match kind {
        InsightKind::Trends => {
            let t: TrendsResultView = parse(result)?;
            let labels: Vec<String> = t
                .series
                .first()
                .and_then(|s| s.lines.first())
                .map(|l| l.points.iter().map(|p| p.start[5..10].to_owned()).collect())
                .unwrap_or_default();
            let mut drawn: Vec<(String, Vec<f64>)> = Vec::new();
            for s in &t.series {
                for l in s.lines.iter().take(6) {
                    let name = match &l.value {
                        Some(v) => format!("{} {v}", s.name),
                        None => s.name.clone(),
                    };
                    drawn.push((
                        name,
                        l.points
                            .iter()
                            .map(|p| p.value.unwrap_or(f64::NAN))
                            .collect(),
                    ));
                }
            }
            if let Some(f) = &t.formula {
                for l in f.lines.iter().take(6) {
                    drawn.push((
                        f.formula.clone(),
                        l.points
                            .iter()
                            .map(|p| p.value.unwrap_or(f64::NAN))
                            .collect(),
                    ));
                }
            }
            html! {
                (lines(&labels, &drawn))
                table.trends {
                    thead { tr { th { "Line" } th { "Total" } th { "Latest" } } }
                    tbody { @for (name, values) in &drawn { tr {
                        td { (name) }
                        td.total { (values.iter().filter(|v| v.is_finite()).sum::<f64>()) }
                        td { (values.last().filter(|v| v.is_finite()).map_or("—".to_owned(), |v| format!("{v:.2}"))) }
                    } } }
                }
            }
        }
        InsightKind::Funnel => {
            let f: FunnelView = parse(result)?;
            html! {
                (bars(&f.steps.iter().map(|s| (format!("{}. {}", s.step, s.event), s.persons as f64)).collect::<Vec<_>>(), "persons"))
                table.funnel {
                    thead { tr { th { "Step" } th { "Persons" } th { "Conversion" } } }
                    tbody { @for st in &f.steps { tr { td { (st.step) ". " (st.event) } td.persons { (st.persons) } td { (pct(st.conversion)) } } } }
                }
                @for b in &f.breakdown {
                    p { (b.value) ": " @for (i, st) in b.steps.iter().enumerate() { @if i > 0 { " → " } (st.persons) } }
                }
            }
        }
        InsightKind::Retention => {
            let r: RetentionView = parse(result)?;
            html! {
                table.retention {
                    thead { tr { th { "Cohort" } th { "People" } @for k in 0..r.cohorts.len() { th { (k) } } } }
                    tbody { @for c in &r.cohorts { tr {
                        td { (c.start[..10]) } td { (c.size) }
                        @for x in &c.rates { td class=(heat(*x)) { (pct(*x)) } }
                    } } }
                }
            }
        }
        InsightKind::Stickiness => {
            let s: Vec<StickinessView> = parse(result)?;
            html! {
                @for (cohort, rows) in by_cohort(&s, |d| &d.cohort) {
                    @if let Some(c) = cohort { h3.cohort { (c) } }
                    (bars(&rows.iter().filter(|d| d.persons > 0).map(|d| (format!("{} days", d.days), d.persons as f64)).collect::<Vec<_>>(), "people"))
                }
            }
        }
        InsightKind::Lifecycle => {
            let l: Vec<LifecycleView> = parse(result)?;
            let cohorts = l.iter().any(|x| x.cohort.is_some());
            html! {
                table.lifecycle {
                    thead { tr { @if cohorts { th { "Cohort" } } th { "From" } th { "New" } th { "Returning" } th { "Resurrecting" } th { "Dormant" } } }
                    tbody { @for x in &l { tr {
                        @if cohorts { td { (x.cohort.clone().unwrap_or_default()) } }
                        td { (x.start[..10]) } td { (x.new) } td { (x.returning) } td { (x.resurrecting) } td { "−" (x.dormant) }
                    } } }
                }
            }
        }
        InsightKind::Active => {
            let a: Vec<ActiveDayView> = parse(result)?;
            let groups = by_cohort(&a, |d| &d.cohort);
            let labels: Vec<String> = groups
                .first()
                .map(|(_, rows)| rows.iter().map(|d| d.date[5..].to_owned()).collect())
                .unwrap_or_default();
            let drawn: Vec<(String, Vec<f64>)> = match groups.as_slice() {
                [(None, a)] => vec![
                    ("DAU".to_owned(), a.iter().map(|d| d.dau as f64).collect()),
                    ("WAU".to_owned(), a.iter().map(|d| d.wau as f64).collect()),
                    ("MAU".to_owned(), a.iter().map(|d| d.mau as f64).collect()),
                ],
                // Compared by cohort, each cohort's DAU is a line.
                _ => groups
                    .iter()
                    .map(|(c, rows)| {
                        (
                            format!("DAU {}", c.as_deref().unwrap_or("")),
                            rows.iter().map(|d| d.dau as f64).collect(),
                        )
                    })
                    .collect(),
            };
            html! { (lines(&labels, &drawn)) }
        }
        InsightKind::Web => {
            let w: WebOverviewView = parse(result)?;
            html! {
                dl.web-summary {
                    dt { "Visitors" } dd { (w.visitors) }
                    dt { "Page views" } dd.page-views { (w.page_views) }
                    dt { "Sessions" } dd { (w.sessions) }
                    dt { "Bounce rate" } dd { (pct(w.bounce_rate)) }
                }
                @if !w.breakdown.is_empty() {
                    table.web-cohorts {
                        thead { tr { th { "Cohort" } th { "Visitors" } th { "Page views" } th { "Sessions" } th { "Bounce rate" } } }
                        tbody { @for c in &w.breakdown { tr { td { (c.value) } td { (c.visitors) } td { (c.page_views) } td { (c.sessions) } td { (pct(c.bounce_rate)) } } } }
                    }
                }
                table.pages {
                    thead { tr { th { "Page" } th { "Views" } } }
                    tbody { @for p in &w.pages { tr { td { (p.value) } td { (p.count) } } } }
                }
            }
        }
        InsightKind::Revenue => {
            let r: RevenueView = parse(result)?;
            let labels: Vec<String> = r.points.iter().map(|p| p.start[5..10].to_owned()).collect();
            html! {
                p { "Revenue " strong.revenue { (format!("{:.2}", r.revenue)) " " (r.base_currency) } ", " (r.orders) " orders, " (r.payers) " payers." }
                (lines(&labels, &revenue_lines(&r)))
                @if !r.breakdown.is_empty() {
                    table.revenue-cohorts {
                        thead { tr { th { "Cohort" } th { "Revenue" } th { "Orders" } th { "Payers" } } }
                        tbody { @for c in &r.breakdown { tr { td { (c.value) } td { (format!("{:.2}", c.revenue)) } td { (c.orders) } td { (c.payers) } } } }
                    }
                }
            }
        }
    })
}

pub async fn insight_view(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, which)): Path<(String, String)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let row = match service::find(&state, &project.id, &which).await {
        Ok(r) => r,
        Err(e) => return api_error(e),
    };
    let query = match service::query_of(&row) {
        Ok(q) => q,
        Err(e) => return api_error(e),
    };
    let result = match answers::answer(&state, &project.id, row.kind, &query).await {
        Ok(r) => r,
        Err(e) => return api_error(e),
    };
    let head = crate::contract::dashboards::headline(row.kind, &result);
    let goal = match state.db.insight_goal(&row.id).await {
        Ok(g) => g,
        Err(e) => return api_error(crate::analytics::AnalyticsError::from(e)),
    };
    let alert = match state.db.insight_alert(&row.id).await {
        Ok(a) => a.as_ref().map(AlertView::new),
        Err(e) => return api_error(crate::analytics::AnalyticsError::from(e)),
    };
    let chart = match drawn(row.kind, result) {
        Ok(m) => m,
        Err(e) => return api_error(e),
    };
    let view = InsightView::new(&row, &project.slug);
    let base = format!("/p/{}/analytics", project.slug);
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let body = html! {
        p { a href={(base) "/insights"} { "← Saved insights" } }
        h1 { (view.name) }
        p.lede { (view.kind) ", saved by " (view.created_by) " on " (view.created_at[..10]) ". Answered " span.computed-at { (format_ms(state.now_ms())) } "." }
        (chart)
        @if let Some(h) = head {
            p.headline { "Headline: " strong { (format!("{h:.2}")) }
                @if let Some(g) = goal { " · goal " (g.op.as_str()) " " (g.target) " · "
                    @if g.attainment(h).met { span.goal-met { "met" } } @else { span.goal-missed { "not met" } } }
            }
        }
        details {
            summary { "The question" }
            pre.query { (serde_json::to_string_pretty(&view.query).unwrap_or_default()) }
        }
        @if let Some(a) = &alert {
            p.alert { "Alert when " (a.rule) ", telling " (a.tier.to_uppercase()) " on call (" (a.severity) "): "
                @if a.firing { strong.alert-firing { "firing since " (a.fired_at.clone().unwrap_or_default()) } }
                @else { span.alert-quiet { "quiet" } }
                @if let Some(c) = &a.checked_at { " · checked " (c) }
            }
        }
        @if can_write {
            form.inline.alert method="post" action={(base) "/insights/" (url_segment(&view.id)) "/alert"} {
                (csrf_field(&s))
                label { "Alert when the headline is " select name="condition" {
                    option value="" { "— no alert —" }
                    @for (v, l) in [("above", "above"), ("below", "below"), ("change", "changed by % against the period before")] {
                        option value=(v) selected[alert.as_ref().is_some_and(|a| a.condition == v)] { (l) }
                    }
                } }
                " " input name="value" size="8" value=(alert.as_ref().map(|a| a.value.to_string()).unwrap_or_default());
                " " label { "tell " select name="tier" {
                    @for t in ["l1", "l2", "l3"] { option value=(t) selected[alert.as_ref().is_some_and(|a| a.tier == t)] { (t.to_uppercase()) " on call" } }
                } }
                " " button type="submit" { "Set alert" }
            }
        }
        @if can_write {
            form.inline.goal method="post" action={(base) "/insights/" (url_segment(&view.id)) "/goal"} {
                (csrf_field(&s))
                label { "Goal: headline " select name="op" {
                    option value=">=" selected[goal.is_none_or(|g| g.op == GoalOp::AtLeast)] { "≥" }
                    option value="<=" selected[goal.is_some_and(|g| g.op == GoalOp::AtMost)] { "≤" }
                } }
                " " input name="target" size="8" value=(goal.map(|g| g.target.to_string()).unwrap_or_default()) placeholder="empty: none";
                " " button type="submit" { "Set goal" }
            }
        }
        @if can_write {
            form method="post" action={(base) "/insights/" (url_segment(&view.id)) "/delete"} {
                (csrf_field(&s))
                button.danger type="submit" { "Delete this insight" }
            }
        }
    };
    page(&format!("{} · Insights", view.name), Some(&frame), body).into_response()
}

/// The save form as pages post it: a name, a kind and the request.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    kind: String,
    query: String,
}

pub async fn create(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<SaveForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Write,
        "Only members who may write can save insights."
    ));
    let query: serde_json::Value = match serde_json::from_str(&f.query) {
        Ok(q) => q,
        Err(e) => {
            return api_error(ApiError::unprocessable(format!(
                "the query is not JSON: {e}"
            )));
        }
    };
    let body = InsightBody {
        name: f.name,
        kind: f.kind,
        query,
    };
    let kind = match body.parse(state.now_ms()) {
        Ok(k) => k,
        Err(e) => return api_error(e),
    };
    match service::create(
        &state,
        &s.actor(),
        &project.id,
        &body.name,
        kind,
        &body.query,
    )
    .await
    {
        Ok(row) => Redirect::to(&format!(
            "/p/{slug}/analytics/insights/{}",
            url_segment(&row.id)
        ))
        .into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

pub async fn delete(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, which)): Path<(String, String)>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Write,
        "Only members who may write can delete insights."
    ));
    match service::delete(&state, &s.actor(), &project.id, &which).await {
        Ok(()) => Redirect::to(&format!("/p/{slug}/analytics/insights")).into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct GoalForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    op: String,
    target: String,
}

pub async fn set_goal(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, which)): Path<(String, String)>,
    Form(f): Form<GoalForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Write,
        "Only members who may write can set goals."
    ));
    let goal = match f.target.trim() {
        "" => None,
        t => match t.parse::<f64>().ok().and_then(|target| {
            GoalBody {
                op: f.op.clone(),
                target,
            }
            .parse()
            .ok()
        }) {
            Some(g) => Some(g),
            None => {
                return api_error(ApiError::unprocessable(format!(
                    "the goal `{} {t}` needs >= or <= and a number",
                    f.op
                )));
            }
        },
    };
    match crate::analytics::dashboards::set_goal(&state, &s.actor(), &project.id, &which, goal)
        .await
    {
        Ok(row) => Redirect::to(&format!(
            "/p/{slug}/analytics/insights/{}",
            url_segment(&row.id)
        ))
        .into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct AlertForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    condition: String,
    value: String,
    tier: String,
}

pub async fn set_alert(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, which)): Path<(String, String)>,
    Form(f): Form<AlertForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Write,
        "Only members who may write can set alerts."
    ));
    let spec = match f.condition.trim() {
        "" => None,
        c => {
            let Ok(value) = f.value.trim().parse::<f64>() else {
                return api_error(ApiError::unprocessable(format!(
                    "the alert's value `{}` is not a number",
                    f.value.trim()
                )));
            };
            let body = AlertBody {
                condition: c.to_owned(),
                value,
                tier: f.tier.clone(),
                severity: None,
            };
            match body.parse() {
                Ok(spec) => Some(spec),
                Err(e) => return api_error(e),
            }
        }
    };
    match crate::analytics::alerts::set(&state, &s.actor(), &project.id, &which, spec).await {
        Ok(row) => Redirect::to(&format!(
            "/p/{slug}/analytics/insights/{}",
            url_segment(&row.id)
        ))
        .into_response(),
        Err(e) => api_error(e),
    }
}

/// The form that saves a question of the analytics page as an insight.
pub fn save_form(
    s: &UiSession,
    base: &str,
    kind: InsightKind,
    query: &serde_json::Value,
) -> Markup {
    html! {
        form.inline.save-insight method="post" action={(base) "/insights"} {
            (csrf_field(s))
            input type="hidden" name="kind" value=(kind.as_str());
            input type="hidden" name="query" value=(query.to_string());
            label { "Save as " input name="name" required maxlength="120" placeholder="insight name"; }
            " " button type="submit" { "Save insight" }
        }
    }
}
