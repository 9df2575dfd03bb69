//! The feedback and backlog API: feedback from any source with duplicate
//! suggestions, imports, ticket conversion, backlog items with votes and
//! RICE or ICE scores, links and merges.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use liveops_core::feedback::backlog::{ItemKind, ItemStatus};
use liveops_core::feedback::{FeedbackKind, FeedbackState};
use liveops_store::feedback::ItemFilter;

use crate::auth::{Access, need};
use crate::contract::feedback::*;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::feedback::{self as service, ItemChange, Sender, Submission};
use crate::state::AppState;

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
    let actor = access.actor();
    let (f, s) = service::submit(
        &state,
        Sender::Member(&actor),
        &access.project.id,
        "api",
        &sub,
        None,
    )
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
    let rows = crate::feedback::list(
        &state,
        &access.project.id,
        st,
        kind,
        limit,
        q.in_cohort.as_deref(),
    )
    .await?;
    Ok(Json(rows.into_iter().map(feedback_view).collect()))
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
    let activity = activity_views(
        service::activity(&state, &access.project.id, f.distinct_id.as_deref(), 50).await?,
    );
    Ok(Json(FeedbackDetail {
        feedback: feedback_view(f),
        suggestions: suggestions.into_iter().map(suggestion_view).collect(),
        activity,
    }))
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
    let action = service::action_named(&state, &pid, &a.action, a.item, a.kind.as_deref()).await?;
    service::act(&state, &access.actor(), &pid, &f, action).await?;
    Ok(Json(feedback_view(state.db.feedback_by_id(&f.id).await?)))
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

/// Turns a support ticket into feedback: its subject, its first public
/// message and its requester.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/tickets/{number}/feedback", tag = "feedback",
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
    let (f, s) =
        service::from_ticket(&state, &access.actor(), &access.project.id, &number, b.kind).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedFeedback {
            feedback: feedback_view(f),
            suggestions: s.into_iter().map(suggestion_view).collect(),
        }),
    ))
}

// ---------------------------------------------------------------- backlog

/// Adds a backlog item.
#[utoipa::path(post, path = "/api/v1/projects/{project}/feedback/backlog", tag = "feedback",
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

/// The backlog, highest score first, then most votes.
#[utoipa::path(get, path = "/api/v1/projects/{project}/feedback/backlog", tag = "feedback",
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

/// An item with its votes and likely duplicates.
#[utoipa::path(get, path = "/api/v1/projects/{project}/feedback/backlog/{number}", tag = "feedback",
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

/// Edits an item: text, kind, status (through the workflow), score, release.
#[utoipa::path(patch, path = "/api/v1/projects/{project}/feedback/backlog/{number}", tag = "feedback",
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
    let i = service::update_item(
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
            release,
        },
    )
    .await?;
    Ok(Json(item_view(i)))
}

/// Merges an item into another: its feedback and votes move over.
#[utoipa::path(post, path = "/api/v1/projects/{project}/feedback/backlog/{number}/merge", tag = "feedback",
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
