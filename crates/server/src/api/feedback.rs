//! The feedback and backlog API: feedback from any source with duplicate
//! suggestions, imports, ticket conversion, backlog items with votes and
//! RICE or ICE scores, links and merges.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use liveops_core::feedback::backlog::{ItemKind, ItemStatus, Score};
use liveops_core::feedback::{FeedbackKind, FeedbackState};
use liveops_store::feedback::{Feedback, Item, ItemFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, need};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::feedback::{self as service, ItemChange, Submission, Suggestion};
use crate::state::{AppState, format_ms};

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionView {
    pub item: i64,
    pub title: String,
    pub status: String,
    pub votes: i64,
    /// 0 to 1: how much of the feedback's wording the item shares.
    pub similarity: f64,
}

pub fn suggestion_view(s: Suggestion) -> SuggestionView {
    SuggestionView {
        item: s.number,
        title: s.title,
        status: s.status.as_str().into(),
        votes: s.votes,
        similarity: (s.similarity * 1000.0).round() / 1000.0,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReporterView {
    pub email: Option<String>,
    pub name: Option<String>,
    /// The analytics distinct id, when known.
    pub distinct_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackView {
    pub number: i64,
    /// bug, enhancement, question or praise.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// form, api, ticket or import:NAME.
    pub source: String,
    pub external_id: Option<String>,
    pub url: Option<String>,
    pub reporter: ReporterView,
    /// new, linked, closed or spam.
    pub state: String,
    pub spam_signal: Option<String>,
    /// The backlog item it votes for.
    pub item: Option<i64>,
    pub created_at: String,
}

pub fn feedback_view(f: Feedback) -> FeedbackView {
    FeedbackView {
        number: f.number,
        kind: f.kind.as_str().into(),
        title: f.title,
        body: f.body,
        source: f.source,
        external_id: f.external_id,
        url: f.url,
        reporter: ReporterView {
            email: f.reporter_email,
            name: f.reporter_name,
            distinct_id: f.distinct_id,
        },
        state: f.state.as_str().into(),
        spam_signal: f.spam_signal,
        item: f.item_number,
        created_at: format_ms(f.created_at),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// bug, enhancement (default), question or praise.
    pub kind: Option<String>,
    /// A short summary; the text's first line by default.
    pub title: Option<String>,
    pub body: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// The reporter's analytics distinct id, to see what they did.
    pub distinct_id: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedFeedback {
    pub feedback: FeedbackView,
    /// Backlog items it may duplicate, best first.
    pub suggestions: Vec<SuggestionView>,
}

/// Records feedback and suggests the backlog items it may duplicate.
#[utoipa::path(post, path = "/api/v1/projects/{project}/feedback", tag = "feedback",
    params(("project" = String, Path, description = "Project slug")),
    request_body = FeedbackBody,
    responses((status = 201, description = "The feedback", body = CreatedFeedback)))]
pub async fn create_feedback(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(b): ApiJson<FeedbackBody>,
) -> ApiResult<(StatusCode, Json<CreatedFeedback>)> {
    let sub = Submission {
        kind: b.kind,
        title: b.title,
        body: b.body,
        email: b.email,
        name: b.name,
        distinct_id: b.distinct_id,
        url: b.url,
        external_id: None,
        created_at: None,
    };
    let (f, s) = service::submit(&state, &access.project.id, "api", &sub, None, None)
        .await?
        .ok_or_else(|| ApiError::internal("the feedback was not stored"))?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedFeedback {
            feedback: feedback_view(f),
            suggestions: s.into_iter().map(suggestion_view).collect(),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedbackQuery {
    /// new, linked, closed or spam; all but spam by default.
    pub state: Option<String>,
    pub kind: Option<String>,
    /// 1 to 1000 (default 200).
    pub limit: Option<i64>,
}

/// Feedback, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/feedback", tag = "feedback",
    params(("project" = String, Path, description = "Project slug"), FeedbackQuery),
    responses((status = 200, description = "Feedback", body = Vec<FeedbackView>)))]
pub async fn list_feedback(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<FeedbackQuery>,
) -> ApiResult<Json<Vec<FeedbackView>>> {
    let st = match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(FeedbackState::parse(s).ok_or_else(|| {
            ApiError::unprocessable(format!("`{s}` is not a state: new, linked, closed or spam"))
        })?),
        None => None,
    };
    let kind = match q.kind.as_deref().filter(|s| !s.is_empty()) {
        Some(k) => Some(FeedbackKind::parse(k).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "`{k}` is not a kind: bug, enhancement, question or praise"
            ))
        })?),
        None => None,
    };
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::unprocessable("`limit` must be 1 to 1000"));
    }
    let rows = state
        .db
        .feedback_list(&access.project.id, st, kind, limit)
        .await?;
    Ok(Json(rows.into_iter().map(feedback_view).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    pub event: String,
    pub timestamp: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackDetail {
    pub feedback: FeedbackView,
    pub suggestions: Vec<SuggestionView>,
    /// What the reporter did, newest first, when their distinct id is known
    /// to analytics.
    pub activity: Vec<ActivityView>,
}

/// The reporter's latest analytics events.
pub async fn activity(
    state: &AppState,
    project_id: &str,
    distinct_id: Option<&str>,
    limit: usize,
) -> ApiResult<Vec<ActivityView>> {
    let Some(d) = distinct_id else {
        return Ok(Vec::new());
    };
    let (id, d) = (project_id.to_owned(), d.to_owned());
    let events = super::analytics::telemetry(state, move |a| {
        let Some(p) = a.person(&id, &d) else {
            return Ok(Vec::new());
        };
        a.person_events(&id, &p.distinct_ids, limit)
    })
    .await?;
    Ok(events
        .into_iter()
        .map(|e| ActivityView {
            event: e.event,
            timestamp: format_ms(e.at_ms),
        })
        .collect())
}

/// A piece of feedback with duplicate suggestions and what its reporter did.
#[utoipa::path(get, path = "/api/v1/projects/{project}/feedback/{number}", tag = "feedback",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Feedback number")),
    responses((status = 200, description = "The feedback", body = FeedbackDetail)))]
pub async fn get_feedback(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<FeedbackDetail>> {
    let f = service::find_feedback(&state, &access.project.id, &number).await?;
    let suggestions = service::suggestions(
        &state,
        &access.project.id,
        &format!("{}\n{}", f.title, f.body),
        f.item_id.as_deref(),
    )
    .await?;
    let activity = activity(&state, &access.project.id, f.distinct_id.as_deref(), 50).await?;
    Ok(Json(FeedbackDetail {
        feedback: feedback_view(f),
        suggestions: suggestions.into_iter().map(suggestion_view).collect(),
        activity,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackAction {
    /// link (to `item`), promote (to a new item), unlink, close, reopen,
    /// spam or not_spam.
    pub action: String,
    /// For link: the item number.
    pub item: Option<i64>,
    /// For promote: the new item's kind (from the feedback's by default).
    pub kind: Option<String>,
}

/// Links feedback to an item (a vote), promotes it to a new item, or
/// changes its state.
#[utoipa::path(post, path = "/api/v1/projects/{project}/feedback/{number}/actions", tag = "feedback",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Feedback number")),
    request_body = FeedbackAction,
    responses((status = 200, description = "The feedback after the action", body = FeedbackView)))]
pub async fn feedback_action(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(a): ApiJson<FeedbackAction>,
) -> ApiResult<Json<FeedbackView>> {
    let pid = access.project.id.clone();
    let f = service::find_feedback(&state, &pid, &number).await?;
    apply_feedback_action(
        &state,
        &access.actor(),
        &pid,
        &f,
        &a.action,
        a.item,
        a.kind.as_deref(),
    )
    .await?;
    Ok(Json(feedback_view(state.db.feedback_by_id(&f.id).await?)))
}

/// The actions the API and the web UI share.
pub async fn apply_feedback_action(
    state: &AppState,
    actor: &liveops_store::audit::Actor,
    project_id: &str,
    f: &Feedback,
    action: &str,
    item: Option<i64>,
    kind: Option<&str>,
) -> ApiResult<()> {
    match action {
        "link" => {
            let n = item.ok_or_else(|| ApiError::unprocessable("link needs `item`"))?;
            let i = service::find_item(state, project_id, &n.to_string()).await?;
            service::link(state, actor, project_id, f, &i).await
        }
        "promote" => service::promote(state, actor, project_id, f, kind)
            .await
            .map(|_| ()),
        "unlink" => Ok(state.db.link_feedback(&f.id, None).await?),
        "close" => Ok(state
            .db
            .set_feedback_state(&f.id, FeedbackState::Closed)
            .await?),
        "spam" => {
            state.db.link_feedback(&f.id, None).await?;
            Ok(state
                .db
                .set_feedback_state(&f.id, FeedbackState::Spam)
                .await?)
        }
        "reopen" | "not_spam" => Ok(state
            .db
            .set_feedback_state(
                &f.id,
                if f.item_id.is_some() {
                    FeedbackState::Linked
                } else {
                    FeedbackState::New
                },
            )
            .await?),
        other => Err(ApiError::unprocessable(format!(
            "`{other}` is not an action: link, promote, unlink, close, reopen, spam or not_spam"
        ))),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The export's name, such as `discourse` or `twitter`; feedback is
    /// recorded with source `import:NAME`, each record once by its id.
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedRow {
    /// The row (CSV) or record (JSON), from 1.
    pub record: usize,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    pub imported: usize,
    /// Records imported before, by their id.
    pub already_imported: usize,
    pub rejected: Vec<RejectedRow>,
}

/// Imports a CSV (`text/csv`) or JSON (`application/json`) export of
/// community or social feedback.
#[utoipa::path(post, path = "/api/v1/projects/{project}/feedback/import", tag = "feedback",
    params(("project" = String, Path, description = "Project slug"), ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "What was imported", body = ImportView)))]
pub async fn import_feedback(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ImportView>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let json = if ct.starts_with("application/json") {
        true
    } else if ct.starts_with("text/csv") || ct.starts_with("text/plain") {
        false
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the export as text/csv or application/json",
        ));
    };
    let out = service::import(
        &state,
        &access.actor(),
        &access.project.id,
        &q.source,
        json,
        &body,
    )
    .await?;
    Ok(Json(ImportView {
        imported: out.imported,
        already_imported: out.already,
        rejected: out
            .rejected
            .into_iter()
            .map(|(record, reason)| RejectedRow { record, reason })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromTicketBody {
    /// bug, enhancement (default), question or praise.
    pub kind: Option<String>,
}

/// Turns a support ticket into feedback: its subject, its first public
/// message and its requester.
#[utoipa::path(post, path = "/api/v1/projects/{project}/tickets/{number}/feedback", tag = "feedback",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Ticket number")),
    request_body = FromTicketBody,
    responses((status = 201, description = "The feedback", body = CreatedFeedback)))]
pub async fn feedback_from_ticket(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<FromTicketBody>,
) -> ApiResult<(StatusCode, Json<CreatedFeedback>)> {
    let (f, s) = from_ticket(&state, &access.project.id, &number, b.kind).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedFeedback {
            feedback: feedback_view(f),
            suggestions: s.into_iter().map(suggestion_view).collect(),
        }),
    ))
}

pub async fn from_ticket(
    state: &AppState,
    project_id: &str,
    number: &str,
    kind: Option<String>,
) -> ApiResult<(Feedback, Vec<Suggestion>)> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::not_found(format!("no ticket `{number}`")))?;
    let t = match state.db.ticket_by_number(project_id, n).await {
        Ok(t) => t,
        Err(liveops_store::StoreError::NotFound) => {
            return Err(ApiError::not_found(format!("no ticket #{n}")));
        }
        Err(e) => return Err(e.into()),
    };
    let first = state
        .db
        .ticket_comments(&t.id)
        .await?
        .into_iter()
        .find(|c| c.public);
    let sub = Submission {
        kind,
        title: Some(t.subject.clone()),
        body: first.map_or_else(|| t.subject.clone(), |c| c.body),
        email: t.requester.contains('@').then(|| t.requester.clone()),
        name: None,
        distinct_id: None,
        url: None,
        external_id: Some(format!("ticket-{}", t.number)),
        created_at: None,
    };
    match service::submit(state, project_id, "ticket", &sub, Some(&t.id), None).await? {
        Some(done) => Ok(done),
        None => Err(ApiError::conflict(format!(
            "ticket #{n} was already turned into feedback"
        ))),
    }
}

// ---------------------------------------------------------------- backlog

#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreView {
    /// rice or ice.
    pub method: String,
    pub value: f64,
    pub reach: Option<f64>,
    pub impact: f64,
    pub confidence: f64,
    pub effort: Option<f64>,
    pub ease: Option<f64>,
}

fn score_view(s: Score) -> ScoreView {
    let value = (s.value() * 100.0).round() / 100.0;
    match s {
        Score::Rice {
            reach,
            impact,
            confidence,
            effort,
        } => ScoreView {
            method: "rice".into(),
            value,
            reach: Some(reach),
            impact,
            confidence,
            effort: Some(effort),
            ease: None,
        },
        Score::Ice {
            impact,
            confidence,
            ease,
        } => ScoreView {
            method: "ice".into(),
            value,
            reach: None,
            impact,
            confidence,
            effort: None,
            ease: Some(ease),
        },
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    pub number: i64,
    /// enhancement, bug, tech_debt or security.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// triage, planned, in_progress, done, released, wont_do or merged.
    pub status: String,
    pub score: Option<ScoreView>,
    /// Linked feedback: every request is a vote.
    pub votes: i64,
    /// Distinct people behind the votes.
    pub voters: i64,
    /// The release it is scheduled into.
    pub release: Option<String>,
    /// The item it was merged into.
    pub merged_into: Option<i64>,
    /// The incident whose postmortem raised it as an action item.
    pub postmortem: Option<i64>,
    /// The post-launch review whose finding it came from.
    pub review: Option<i64>,
    /// Shown in the public changelog once released.
    pub public: bool,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

pub fn item_view(i: Item) -> ItemView {
    ItemView {
        number: i.number,
        kind: i.kind.as_str().into(),
        title: i.title,
        body: i.body,
        status: i.status.as_str().into(),
        score: i.score.map(score_view),
        votes: i.votes,
        voters: i.voters,
        release: i.release_version,
        merged_into: i.merged_into_number,
        postmortem: i.postmortem_incident,
        review: i.launch_review,
        public: i.public,
        created_by: i.created_by,
        created_at: format_ms(i.created_at),
        updated_at: format_ms(i.updated_at),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    /// enhancement (default), bug, tech_debt or security.
    pub kind: Option<String>,
    pub title: String,
    pub body: Option<String>,
}

/// Adds a backlog item.
#[utoipa::path(post, path = "/api/v1/projects/{project}/backlog", tag = "feedback",
    params(("project" = String, Path, description = "Project slug")),
    request_body = ItemBody,
    responses((status = 201, description = "The item", body = ItemView)))]
pub async fn create_item(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(b): ApiJson<ItemBody>,
) -> ApiResult<(StatusCode, Json<ItemView>)> {
    let i = service::create_item(
        &state,
        &access.actor(),
        &access.project.id,
        b.kind.as_deref().unwrap_or("enhancement"),
        &b.title,
        b.body.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(item_view(i))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    pub status: Option<String>,
    pub kind: Option<String>,
    /// Include merged and won't-do items.
    pub all: Option<bool>,
}

/// The backlog, highest score first, then most votes.
#[utoipa::path(get, path = "/api/v1/projects/{project}/backlog", tag = "feedback",
    params(("project" = String, Path, description = "Project slug"), ItemQuery),
    responses((status = 200, description = "Items", body = Vec<ItemView>)))]
pub async fn list_items(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<ItemQuery>,
) -> ApiResult<Json<Vec<ItemView>>> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            ItemStatus::parse(s)
                .ok_or_else(|| ApiError::unprocessable(format!("`{s}` is not a status")))?,
        ),
        None => None,
    };
    let kind = match q.kind.as_deref().filter(|s| !s.is_empty()) {
        Some(k) => Some(
            ItemKind::parse(k)
                .ok_or_else(|| ApiError::unprocessable(format!("`{k}` is not an item kind")))?,
        ),
        None => None,
    };
    let items = state
        .db
        .items(
            &access.project.id,
            &ItemFilter {
                status,
                kind,
                release_id: None,
                open_only: !q.all.unwrap_or(false) && status.is_none(),
            },
            5000,
        )
        .await?;
    Ok(Json(items.into_iter().map(item_view).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemDetail {
    pub item: ItemView,
    /// The feedback that votes for it.
    pub feedback: Vec<FeedbackView>,
    /// Other open items that look like this one.
    pub duplicates: Vec<SuggestionView>,
}

/// An item with its votes and likely duplicates.
#[utoipa::path(get, path = "/api/v1/projects/{project}/backlog/{number}", tag = "feedback",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Item number")),
    responses((status = 200, description = "The item", body = ItemDetail)))]
pub async fn get_item(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<ItemDetail>> {
    let i = service::find_item(&state, &access.project.id, &number).await?;
    let feedback = state.db.feedback_for_item(&i.id).await?;
    let duplicates = service::suggestions(
        &state,
        &access.project.id,
        &format!("{}\n{}", i.title, i.body),
        Some(&i.id),
    )
    .await?;
    Ok(Json(ItemDetail {
        item: item_view(i),
        feedback: feedback.into_iter().map(feedback_view).collect(),
        duplicates: duplicates.into_iter().map(suggestion_view).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreBody {
    /// rice, ice, or none to clear.
    pub method: String,
    pub reach: Option<f64>,
    pub impact: Option<f64>,
    pub confidence: Option<f64>,
    /// Person-weeks (RICE).
    pub effort: Option<f64>,
    pub ease: Option<f64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    pub title: Option<String>,
    pub body: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub score: Option<ScoreBody>,
    /// The release version to schedule it into, or "" to unschedule.
    pub release: Option<String>,
    /// Show it in the public changelog once released (off by default).
    pub public: Option<bool>,
}

/// Edits an item: text, kind, status (through the workflow), score, release.
#[utoipa::path(patch, path = "/api/v1/projects/{project}/backlog/{number}", tag = "feedback",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Item number")),
    request_body = ItemPatch,
    responses((status = 200, description = "The item", body = ItemView)))]
pub async fn update_item(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(p): ApiJson<ItemPatch>,
) -> ApiResult<Json<ItemView>> {
    let pid = access.project.id.clone();
    let i = service::find_item(&state, &pid, &number).await?;
    let score = match &p.score {
        Some(s) => Some(service::score_from(
            &s.method,
            s.reach,
            s.impact,
            s.confidence,
            s.effort,
            s.ease,
        )?),
        None => None,
    };
    let release = match p.release.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(v) => Some(Some(crate::releases::find_release(&state, &pid, v).await?)),
    };
    let mut i = service::update_item(
        &state,
        &access.actor(),
        &pid,
        i,
        ItemChange {
            title: p.title,
            body: p.body,
            kind: p.kind,
            status: p.status,
            score,
            public: p.public,
        },
    )
    .await?;
    if let Some(r) = release {
        i = crate::releases::schedule(&state, i, r.as_ref()).await?;
    }
    Ok(Json(item_view(i)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The item to merge this one into.
    pub into: i64,
}

/// Merges an item into another: its feedback and votes move over.
#[utoipa::path(post, path = "/api/v1/projects/{project}/backlog/{number}/merge", tag = "feedback",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "The duplicate item's number")),
    request_body = MergeBody,
    responses((status = 200, description = "The item merged into", body = ItemView)))]
pub async fn merge_item(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<MergeBody>,
) -> ApiResult<Json<ItemView>> {
    let pid = access.project.id.clone();
    let from = service::find_item(&state, &pid, &number).await?;
    let into = service::find_item(&state, &pid, &b.into.to_string()).await?;
    let merged = service::merge(&state, &access.actor(), &pid, &from, &into).await?;
    Ok(Json(item_view(merged)))
}
