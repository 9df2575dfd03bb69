//! The post-production reviews API: postmortems drafted from an incident's
//! data, edited, marked, signed off and published, with action items that
//! become backlog items, exported as JSON or Markdown; and post-launch
//! reviews of a release or period, whose findings feed the backlog.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use liveops_core::Email;
use liveops_core::feedback::backlog::ItemKind;
use liveops_core::reviews::postmortem::{self, ActionKind, Line, Mark, PostmortemState, Step};
use liveops_store::audit::Actor;
use liveops_store::reviews::{
    Action, LaunchReview, NewAction, NewLaunchReview, Postmortem, Sections,
};
use liveops_store::{StoreError, audit};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::support::find_incident;
use crate::auth::{Access, ProjectAccess, need};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::reviews::launch::{LaunchFacts, lines};
use crate::reviews::{self as service, Facts};
use crate::state::{AppState, format_ms};
use crate::timerange::parse_when;

/// The longest a written section may be.
const MAX_SECTION: usize = 20_000;

/// Free text that may span lines.
pub(crate) fn long_text(field: &str, s: &str, max: usize) -> ApiResult<String> {
    let t = s.trim();
    if t.chars().count() > max || t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::unprocessable(format!(
            "`{field}` takes up to {max} printable characters"
        )));
    }
    Ok(t.replace("\r\n", "\n"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SectionsView {
    pub summary: String,
    pub impact: String,
    pub trigger: String,
    pub detection: String,
    pub root_causes: String,
    pub resolution: String,
    pub went_well: String,
    pub went_wrong: String,
    pub got_lucky: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineLineView {
    /// What marks address: the incident event's id or `deploy:<id>`.
    pub entry: String,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub text: String,
    /// star, hide or none.
    pub mark: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionView {
    /// The backlog item it became.
    pub item: i64,
    pub title: String,
    /// mitigate, prevent or process.
    pub kind: String,
    /// The backlog item's status.
    pub status: String,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub overdue: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignOffView {
    pub reviewer: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostmortemSummaryView {
    pub incident: i64,
    pub title: String,
    /// draft, in_review or published.
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostmortemView {
    pub incident: i64,
    pub title: String,
    /// draft, in_review or published.
    pub state: String,
    pub sections: SectionsView,
    pub facts: Facts,
    pub timeline: Vec<TimelineLineView>,
    pub actions: Vec<ActionView>,
    pub sign_offs: Vec<SignOffView>,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
}

pub fn action_view(a: Action, now: i64) -> ActionView {
    let open = !matches!(
        a.status.as_str(),
        "done" | "released" | "wont_do" | "merged"
    );
    ActionView {
        item: a.item_number,
        title: a.title,
        kind: a.kind.as_str().into(),
        overdue: open && a.due_at.is_some_and(|d| d < now),
        status: a.status,
        owner: a.owner_email,
        due: a.due_at.map(format_ms),
    }
}

fn line_view(l: Line) -> TimelineLineView {
    TimelineLineView {
        entry: l.entry.key,
        at: format_ms(l.entry.at),
        actor: l.entry.actor,
        kind: l.entry.kind,
        text: l.entry.text,
        mark: l.mark.map(|m| m.as_str().to_owned()),
    }
}

/// Everything a postmortem shows, read once.
#[derive(Debug)]
pub struct Loaded {
    pub pm: Postmortem,
    pub facts: Facts,
    pub lines: Vec<Line>,
    pub actions: Vec<Action>,
    pub sign_offs: Vec<(String, i64)>,
}

pub async fn load(state: &AppState, pm: Postmortem, with_hidden: bool) -> ApiResult<Loaded> {
    let facts = service::stored_facts(&pm)?;
    let lines = service::timeline(state, &pm, &facts, with_hidden).await?;
    let actions = state.db.actions(&pm.id).await?;
    let sign_offs = state.db.sign_offs(&pm.id).await?;
    Ok(Loaded {
        pm,
        facts,
        lines,
        actions,
        sign_offs,
    })
}

pub fn view(l: Loaded, now: i64) -> PostmortemView {
    let s = l.pm.sections;
    PostmortemView {
        incident: l.pm.incident_number,
        title: l.pm.incident_title,
        state: l.pm.state.as_str().into(),
        sections: SectionsView {
            summary: s.summary,
            impact: s.impact,
            trigger: s.trigger,
            detection: s.detection,
            root_causes: s.root_causes,
            resolution: s.resolution,
            went_well: s.went_well,
            went_wrong: s.went_wrong,
            got_lucky: s.got_lucky,
        },
        facts: l.facts,
        timeline: l.lines.into_iter().map(line_view).collect(),
        actions: l.actions.into_iter().map(|a| action_view(a, now)).collect(),
        sign_offs: l
            .sign_offs
            .into_iter()
            .map(|(reviewer, at)| SignOffView {
                reviewer,
                at: format_ms(at),
            })
            .collect(),
        created_at: format_ms(l.pm.created_at),
        updated_at: format_ms(l.pm.updated_at),
        published_at: l.pm.published_at.map(format_ms),
    }
}

/// The postmortem of incident `number`.
pub async fn find(state: &AppState, access: &ProjectAccess, number: &str) -> ApiResult<Postmortem> {
    let i = find_incident(state, access, number).await?;
    state
        .db
        .postmortem(&access.project.id, i.number)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(format!(
                "incident #{} has no postmortem yet; draft one with POST",
                i.number
            )),
            e => e.into(),
        })
}

/// Who changes a postmortem, from the API or the web UI.
#[derive(Debug)]
pub struct Who<'a> {
    pub actor: Actor,
    pub user_id: &'a str,
    pub project_id: &'a str,
}

impl ProjectAccess {
    pub fn who(&self) -> Who<'_> {
        Who {
            actor: self.actor(),
            user_id: &self.principal.user.id,
            project_id: &self.project.id,
        }
    }
}

async fn audited(
    state: &AppState,
    who: &Who<'_>,
    action: &str,
    pm: &Postmortem,
    detail: Option<String>,
) -> ApiResult<()> {
    let mut tx = state.db.begin().await?;
    audit::record(
        &mut tx,
        &who.actor,
        Some(who.project_id),
        action,
        Some(&pm.incident_number.to_string()),
        detail.as_deref(),
        state.now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn fresh(state: &AppState, pm: &Postmortem) -> ApiResult<Json<PostmortemView>> {
    let pm = state.db.postmortem_by_id(&pm.id).await?;
    Ok(Json(view(load(state, pm, true).await?, state.now_ms())))
}

fn editable(pm: &Postmortem) -> ApiResult<()> {
    if pm.state == PostmortemState::Published {
        return Err(ApiError::conflict(
            "the postmortem is published; reopen it to change it",
        ));
    }
    Ok(())
}

/// A project's postmortems, newest incident first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/postmortems", tag = "reviews",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Postmortems", body = [PostmortemSummaryView])))]
pub async fn list_postmortems(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<PostmortemSummaryView>>> {
    let all = state.db.postmortems(&access.project.id).await?;
    Ok(Json(
        all.into_iter()
            .map(|p| PostmortemSummaryView {
                incident: p.incident_number,
                title: p.incident_title,
                state: p.state.as_str().into(),
                created_at: format_ms(p.created_at),
                updated_at: format_ms(p.updated_at),
                published_at: p.published_at.map(format_ms),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostmortemQuery {
    /// json (default) or markdown.
    pub format: Option<String>,
    /// Include hidden timeline entries (JSON only; default true).
    pub hidden: Option<bool>,
}

/// An incident's postmortem, as JSON or Markdown.
#[utoipa::path(get, path = "/api/v1/projects/{project}/incidents/{number}/postmortem", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number"), PostmortemQuery),
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn get_postmortem(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<PostmortemQuery>,
) -> ApiResult<Response> {
    let pm = find(&state, &access, &number).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => {
            let l = load(&state, pm, q.hidden.unwrap_or(true)).await?;
            Ok(Json(view(l, state.now_ms())).into_response())
        }
        "markdown" | "md" => {
            let l = load(&state, pm, false).await?;
            let md = service::markdown(&l.pm, &l.facts, &l.lines, &l.actions, &l.sign_offs);
            Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], md).into_response())
        }
        other => Err(ApiError::unprocessable(format!(
            "format `{other}` is not one of: json, markdown"
        ))),
    }
}

/// Drafts the incident's postmortem from its data.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/postmortem", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    responses((status = 201, description = "The draft", body = PostmortemView)))]
pub async fn draft_postmortem(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<PostmortemView>)> {
    let i = find_incident(&state, &access, &number).await?;
    let pm = service::draft(&state, &i).await?;
    audited(&state, &access.who(), "postmortem.draft", &pm, None).await?;
    Ok((StatusCode::CREATED, fresh(&state, &pm).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionsBody {
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

/// Applies the sections given, leaving the rest.
pub fn apply(s: &mut Sections, b: &SectionsBody) -> ApiResult<()> {
    let fields: [(&str, &Option<String>, &mut String); 9] = [
        ("summary", &b.summary, &mut s.summary),
        ("impact", &b.impact, &mut s.impact),
        ("trigger", &b.trigger, &mut s.trigger),
        ("detection", &b.detection, &mut s.detection),
        ("root_causes", &b.root_causes, &mut s.root_causes),
        ("resolution", &b.resolution, &mut s.resolution),
        ("went_well", &b.went_well, &mut s.went_well),
        ("went_wrong", &b.went_wrong, &mut s.went_wrong),
        ("got_lucky", &b.got_lucky, &mut s.got_lucky),
    ];
    for (name, given, slot) in fields {
        if let Some(v) = given {
            *slot = long_text(name, v, MAX_SECTION)?;
        }
    }
    Ok(())
}

/// Edits the written sections.
#[utoipa::path(patch, path = "/api/v1/projects/{project}/incidents/{number}/postmortem", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = SectionsBody,
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn edit_postmortem(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SectionsBody>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = find(&state, &access, &number).await?;
    edit(&state, &access.who(), &pm, &body).await?;
    fresh(&state, &pm).await
}

/// Saves the sections given.
pub async fn edit(
    state: &AppState,
    who: &Who<'_>,
    pm: &Postmortem,
    body: &SectionsBody,
) -> ApiResult<()> {
    editable(pm)?;
    let mut sections = pm.sections.clone();
    apply(&mut sections, body)?;
    state
        .db
        .save_sections(&pm.id, &sections, state.now_ms())
        .await?;
    audited(state, who, "postmortem.edit", pm, None).await
}

/// Reads the figures again (say, once late telemetry has arrived).
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/postmortem/refresh", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn refresh_postmortem(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = find(&state, &access, &number).await?;
    refresh(&state, &pm).await?;
    fresh(&state, &pm).await
}

/// Reads a postmortem's figures again.
pub async fn refresh(state: &AppState, pm: &Postmortem) -> ApiResult<()> {
    editable(pm)?;
    let i = state
        .db
        .incident_by_number(&pm.project_id, pm.incident_number)
        .await?;
    let f = service::facts(state, &i).await?;
    let body = serde_json::to_string(&f).map_err(ApiError::internal)?;
    state.db.save_facts(&pm.id, &body, state.now_ms()).await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// submit, request_changes, publish or reopen.
    pub step: String,
}

/// Moves the postmortem through draft → in review → published.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/postmortem/state", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = StepBody,
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn move_postmortem(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<StepBody>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = find(&state, &access, &number).await?;
    step(&state, &access.who(), &pm, &body.step).await?;
    fresh(&state, &pm).await
}

/// Moves the postmortem one step through its workflow.
pub async fn step(state: &AppState, who: &Who<'_>, pm: &Postmortem, step: &str) -> ApiResult<()> {
    let step: Step = step
        .parse()
        .map_err(|e: liveops_core::support::incident::UnknownValue| {
            ApiError::unprocessable(e.to_string())
        })?;
    let signed = state.db.sign_offs(&pm.id).await?.len();
    let to =
        postmortem::next(pm.state, step, signed).map_err(|e| ApiError::conflict(e.to_string()))?;
    if !state
        .db
        .move_postmortem(&pm.id, pm.state, to, state.now_ms())
        .await?
    {
        return Err(ApiError::conflict(
            "the postmortem changed meanwhile; reload it",
        ));
    }
    audited(
        state,
        who,
        "postmortem.state",
        pm,
        Some(serde_json::json!({"from": pm.state.as_str(), "to": to.as_str()}).to_string()),
    )
    .await
}

/// Signs the postmortem off as its reviewer.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/postmortem/sign-off", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn sign_off(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = find(&state, &access, &number).await?;
    sign(&state, &access.who(), &pm).await?;
    fresh(&state, &pm).await
}

/// Records the caller's sign-off.
pub async fn sign(state: &AppState, who: &Who<'_>, pm: &Postmortem) -> ApiResult<()> {
    postmortem::can_sign_off(pm.state).map_err(|e| ApiError::conflict(e.to_string()))?;
    state
        .db
        .sign_off(&pm.id, who.user_id, state.now_ms())
        .await?;
    audited(state, who, "postmortem.sign_off", pm, None).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkBody {
    /// The entry, as the timeline names it.
    pub entry: String,
    /// star, hide or none.
    pub mark: String,
}

/// Stars or hides a timeline entry.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/postmortem/timeline", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = MarkBody,
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn mark_entry(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<MarkBody>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = find(&state, &access, &number).await?;
    mark(&state, &pm, &body.entry, &body.mark).await?;
    fresh(&state, &pm).await
}

/// Stars, hides or clears a timeline entry.
pub async fn mark(state: &AppState, pm: &Postmortem, entry: &str, mark: &str) -> ApiResult<()> {
    editable(pm)?;
    let mark = match mark {
        "none" => None,
        m => Some(
            m.parse::<Mark>()
                .map_err(|e| ApiError::unprocessable(e.to_string()))?,
        ),
    };
    let facts = service::stored_facts(pm)?;
    let known = service::timeline(state, pm, &facts, true)
        .await?
        .iter()
        .any(|l| l.entry.key == entry);
    if !known {
        return Err(ApiError::unprocessable(format!(
            "the timeline has no entry `{entry}`"
        )));
    }
    state.db.mark_entry(&pm.id, entry, mark).await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// mitigate, prevent or process.
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    /// The owner's e-mail; a member of the project.
    pub owner: Option<String>,
    /// Due date (YYYY-MM-DD or RFC 3339).
    pub due: Option<String>,
}

/// Adds an action item; it becomes a backlog item linked both ways.
#[utoipa::path(post, path = "/api/v1/projects/{project}/incidents/{number}/postmortem/actions", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = ActionBody,
    responses((status = 201, description = "The action item", body = ActionView)))]
pub async fn add_action(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ActionBody>,
) -> ApiResult<(StatusCode, Json<ActionView>)> {
    let pm = find(&state, &access, &number).await?;
    let a = action(&state, &access.who(), &pm, &body).await?;
    Ok((StatusCode::CREATED, Json(action_view(a, state.now_ms()))))
}

/// Adds an action item and the backlog item it becomes.
pub async fn action(
    state: &AppState,
    who: &Who<'_>,
    pm: &Postmortem,
    body: &ActionBody,
) -> ApiResult<Action> {
    let kind: ActionKind =
        body.kind
            .parse()
            .map_err(|e: liveops_core::support::incident::UnknownValue| {
                ApiError::unprocessable(e.to_string())
            })?;
    let title = crate::support::tickets::clean_text("title", &body.title, 200)
        .map_err(ApiError::unprocessable)?;
    let text = long_text("body", body.body.as_deref().unwrap_or(""), MAX_SECTION)?;
    let text = if text.is_empty() {
        format!(
            "Action item ({}) from the postmortem of incident #{}: {}",
            kind.as_str(),
            pm.incident_number,
            pm.incident_title
        )
    } else {
        text
    };
    let owner = match body
        .owner
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        None => None,
        Some(o) => {
            let email = Email::parse(o)
                .map_err(|_| ApiError::unprocessable(format!("`{o}` is not an e-mail address")))?;
            let user = crate::auth::member_of(state, who.project_id, &email)
                .await?
                .ok_or_else(|| {
                    ApiError::unprocessable(format!("{email} is not a member of the project"))
                })?;
            Some(user)
        }
    };
    let due = body
        .due
        .as_deref()
        .map(|d| parse_when("due", d))
        .transpose()?;
    let now = state.now_ms();
    let a = state
        .db
        .add_action(
            pm,
            &NewAction {
                kind,
                title: &title,
                body: &text,
                owner_id: owner.as_deref(),
                due_at: due,
                created_by: &who.actor.name,
            },
            now,
        )
        .await?;
    audited(
        state,
        who,
        "postmortem.action",
        pm,
        Some(serde_json::json!({"item": a.item_number, "kind": kind.as_str()}).to_string()),
    )
    .await?;
    Ok(a)
}

// ---------------------------------------------------------------- post-launch reviews

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchReviewBody {
    /// A shipped release's version: the review covers its first `days`.
    pub release: Option<String>,
    /// Or a period: start (date or RFC 3339)…
    pub from: Option<String>,
    /// …and end, exclusive (now by default).
    pub to: Option<String>,
    /// With a release, how many days after it shipped (14 by default).
    pub days: Option<i64>,
    pub title: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewItemView {
    pub item: i64,
    pub title: String,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LaunchReviewView {
    pub number: i64,
    pub title: String,
    pub release: Option<String>,
    pub from: String,
    pub to: String,
    pub facts: LaunchFacts,
    pub went_well: String,
    pub failed: String,
    pub improve: String,
    /// Backlog items raised from its findings.
    pub items: Vec<ReviewItemView>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

async fn review_view(state: &AppState, r: LaunchReview) -> ApiResult<LaunchReviewView> {
    let facts: LaunchFacts = serde_json::from_str(&r.facts).map_err(ApiError::internal)?;
    let items = state
        .db
        .review_items(&r.id)
        .await?
        .into_iter()
        .map(|(item, title, status)| ReviewItemView {
            item,
            title,
            status,
        })
        .collect();
    Ok(LaunchReviewView {
        number: r.number,
        title: r.title,
        release: r.release_version,
        from: format_ms(r.from_at),
        to: format_ms(r.to_at),
        facts,
        went_well: r.went_well,
        failed: r.failed,
        improve: r.improve,
        items,
        created_by: r.created_by,
        created_at: format_ms(r.created_at),
        updated_at: format_ms(r.updated_at),
    })
}

async fn find_review(state: &AppState, project_id: &str, number: &str) -> ApiResult<LaunchReview> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::not_found(format!("no review #{number}")))?;
    state
        .db
        .launch_review(project_id, n)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(format!("no review #{n}")),
            e => e.into(),
        })
}

/// Generates a post-launch review of a release or a period.
#[utoipa::path(post, path = "/api/v1/projects/{project}/reviews", tag = "reviews",
    params(("project" = String, Path, description = "Project slug")),
    request_body = LaunchReviewBody,
    responses((status = 201, description = "The review", body = LaunchReviewView)))]
pub async fn create_review(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<LaunchReviewBody>,
) -> ApiResult<(StatusCode, Json<LaunchReviewView>)> {
    let r = review(&state, &access.who(), &body).await?;
    Ok((StatusCode::CREATED, Json(review_view(&state, r).await?)))
}

/// Generates and keeps a post-launch review.
pub async fn review(
    state: &AppState,
    who: &Who<'_>,
    body: &LaunchReviewBody,
) -> ApiResult<LaunchReview> {
    let now = state.now_ms();
    let release = match body.release.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => match state.db.release(who.project_id, v).await {
            Ok(r) => Some(r),
            Err(StoreError::NotFound) => {
                return Err(ApiError::unprocessable(format!("no release `{v}`")));
            }
            Err(e) => return Err(e.into()),
        },
    };
    let (from, to) = match &release {
        Some(r) => {
            if body.from.is_some() || body.to.is_some() {
                return Err(ApiError::unprocessable(
                    "give a release or a period (`from`, `to`), not both",
                ));
            }
            let shipped = r.shipped_at.ok_or_else(|| {
                ApiError::unprocessable(format!(
                    "release {} has not shipped; review it once it is live",
                    r.version
                ))
            })?;
            let days = body.days.unwrap_or(14);
            if !(1..=365).contains(&days) {
                return Err(ApiError::unprocessable("`days` must be 1 to 365"));
            }
            (
                shipped,
                (shipped + days * 86_400_000).min(now).max(shipped + 1),
            )
        }
        None => {
            let from = body
                .from
                .as_deref()
                .ok_or_else(|| ApiError::unprocessable("give a `release` or a `from` date"))
                .and_then(|f| parse_when("from", f))?;
            let to = body
                .to
                .as_deref()
                .map(|t| parse_when("to", t))
                .transpose()?
                .unwrap_or(now);
            if from >= to || to - from > 366 * 86_400_000 {
                return Err(ApiError::unprocessable(
                    "`from` must come before `to`, at most a year apart",
                ));
            }
            (from, to)
        }
    };
    let title = match body
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t) => {
            crate::support::tickets::clean_text("title", t, 200).map_err(ApiError::unprocessable)?
        }
        None => match &release {
            Some(r) => format!("Post-launch review of {}", r.version),
            None => format!(
                "Review of {} to {}",
                &format_ms(from)[..10],
                &format_ms(to)[..10]
            ),
        },
    };
    let (facts, sections) =
        crate::reviews::launch::generate(state, who.project_id, from, to).await?;
    let body_json = serde_json::to_string(&facts).map_err(ApiError::internal)?;
    let r = state
        .db
        .insert_launch_review(
            who.project_id,
            &NewLaunchReview {
                title: &title,
                release_id: release.as_ref().map(|r| r.id.as_str()),
                from_at: from,
                to_at: to,
                facts: &body_json,
                went_well: &lines(&sections.went_well),
                failed: &lines(&sections.failed),
                improve: &lines(&sections.improve),
                created_by: &who.actor.name,
            },
            now,
        )
        .await?;
    let mut tx = state.db.begin().await?;
    audit::record(
        &mut tx,
        &who.actor,
        Some(who.project_id),
        "review.create",
        Some(&r.number.to_string()),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(r)
}

/// A project's post-launch reviews, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/reviews", tag = "reviews",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Reviews", body = [LaunchReviewView])))]
pub async fn list_reviews(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<LaunchReviewView>>> {
    let mut out = Vec::new();
    for r in state.db.launch_reviews(&access.project.id).await? {
        out.push(review_view(&state, r).await?);
    }
    Ok(Json(out))
}

/// One post-launch review.
#[utoipa::path(get, path = "/api/v1/projects/{project}/reviews/{number}", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Review number")),
    responses((status = 200, description = "The review", body = LaunchReviewView)))]
pub async fn get_review(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<LaunchReviewView>> {
    let r = find_review(&state, &access.project.id, &number).await?;
    Ok(Json(review_view(&state, r).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewSectionsBody {
    pub went_well: Option<String>,
    pub failed: Option<String>,
    pub improve: Option<String>,
}

/// Edits a review's sections.
#[utoipa::path(patch, path = "/api/v1/projects/{project}/reviews/{number}", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Review number")),
    request_body = ReviewSectionsBody,
    responses((status = 200, description = "The review", body = LaunchReviewView)))]
pub async fn edit_review(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ReviewSectionsBody>,
) -> ApiResult<Json<LaunchReviewView>> {
    save_review(&state, &access.who(), &number, &body).await?;
    let r = find_review(&state, &access.project.id, &number).await?;
    Ok(Json(review_view(&state, r).await?))
}

/// Saves a review's sections.
pub async fn save_review(
    state: &AppState,
    who: &Who<'_>,
    number: &str,
    body: &ReviewSectionsBody,
) -> ApiResult<()> {
    let r = find_review(state, who.project_id, number).await?;
    let pick = |name: &str, given: &Option<String>, old: &str| -> ApiResult<String> {
        match given {
            Some(v) => long_text(name, v, MAX_SECTION),
            None => Ok(old.to_owned()),
        }
    };
    let went_well = pick("went_well", &body.went_well, &r.went_well)?;
    let failed = pick("failed", &body.failed, &r.failed)?;
    let improve = pick("improve", &body.improve, &r.improve)?;
    state
        .db
        .save_launch_review(&r.id, &went_well, &failed, &improve, state.now_ms())
        .await?;
    Ok(())
}

/// A review as the API shows it.
pub async fn review_by_number(
    state: &AppState,
    project_id: &str,
    number: &str,
) -> ApiResult<LaunchReviewView> {
    let r = find_review(state, project_id, number).await?;
    review_view(state, r).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingBody {
    /// The finding, as the backlog item's title.
    pub title: String,
    pub body: Option<String>,
    /// enhancement (default), bug, tech_debt or security.
    pub kind: Option<String>,
}

/// Raises a backlog item from one of the review's findings.
#[utoipa::path(post, path = "/api/v1/projects/{project}/reviews/{number}/findings", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Review number")),
    request_body = FindingBody,
    responses((status = 201, description = "The review", body = LaunchReviewView)))]
pub async fn add_finding(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<FindingBody>,
) -> ApiResult<(StatusCode, Json<LaunchReviewView>)> {
    raise_finding(&state, &access.who(), &number, &body).await?;
    let r = find_review(&state, &access.project.id, &number).await?;
    Ok((StatusCode::CREATED, Json(review_view(&state, r).await?)))
}

/// Raises a backlog item from one of a review's findings.
pub async fn raise_finding(
    state: &AppState,
    who: &Who<'_>,
    number: &str,
    body: &FindingBody,
) -> ApiResult<()> {
    let r = find_review(state, who.project_id, number).await?;
    let title = crate::support::tickets::clean_text("title", &body.title, 200)
        .map_err(ApiError::unprocessable)?;
    let kind = match body.kind.as_deref() {
        None => ItemKind::Enhancement,
        Some(k) => ItemKind::parse(k).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "kind `{k}` is not one of: enhancement, bug, tech_debt, security"
            ))
        })?,
    };
    let text = long_text("body", body.body.as_deref().unwrap_or(""), MAX_SECTION)?;
    let text = if text.is_empty() {
        format!("A finding of review #{}: {}", r.number, r.title)
    } else {
        text
    };
    state
        .db
        .add_review_item(&r, kind, &title, &text, &who.actor.name, state.now_ms())
        .await?;
    Ok(())
}
