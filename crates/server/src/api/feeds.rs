//! Calendar feeds: on-call shifts (a schedule's, or one person's) and a
//! release train's freeze and release days as iCalendar. The API serves
//! them to token holders; calendar apps, which subscribe to a URL and send
//! no headers, get a feed URL with a secret of its own that shows that one
//! calendar and nothing else, never an API token in a URL.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use liveops_core::Permission;
use liveops_core::access::authorize;
use liveops_store::StoreError;
use liveops_store::feeds::{self, Feed, NewFeed};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, keys, need};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::{AppState, format_ms};
use crate::work::{Audit, Work};

/// Feed secrets start with this.
pub const FEED_PREFIX: &str = "lo_feed_";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// Days ahead to include, 1 to 400; 60 by default. The past week is always included.
    pub days: Option<i64>,
    /// For the per-person feed: whose shifts.
    pub user: Option<String>,
}

fn calendar_window(days: Option<i64>, now: i64) -> ApiResult<(Timestamp, Timestamp)> {
    let days = days.unwrap_or(60);
    if !(1..=400).contains(&days) {
        return Err(ApiError::bad_request("days must be between 1 and 400"));
    }
    let now = Timestamp::from_millisecond(now).map_err(ApiError::internal)?;
    let from = now
        .checked_sub(jiff::SignedDuration::from_hours(24 * 7))
        .map_err(ApiError::internal)?;
    let to = now
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .map_err(ApiError::internal)?;
    Ok((from, to))
}

fn ics(body: String) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/calendar; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// A schedule's final shifts.
pub async fn schedule_ics(
    state: &AppState,
    project_id: &str,
    schedule: &str,
    days: Option<i64>,
) -> ApiResult<Response> {
    let (from, to) = calendar_window(days, state.now_ms())?;
    let loaded = match state.db.schedule(project_id, schedule).await {
        Ok(l) => l,
        Err(StoreError::NotFound) => {
            return Err(ApiError::not_found(format!("no schedule `{schedule}`")));
        }
        Err(e) => return Err(e.into()),
    };
    let mut events = Vec::new();
    for seg in loaded.schedule.final_shifts(from, to) {
        let who = super::support::email_of(state, &seg.user).await?;
        events.push(liveops_wire::ical::Event {
            uid: format!("{}-{}@liveops", loaded.row.id, seg.start.as_second()),
            start: seg.start,
            end: seg.end,
            summary: format!("On call: {who} ({})", loaded.row.name),
            description: None,
        });
    }
    Ok(ics(liveops_wire::ical::calendar(
        &loaded.row.name,
        &events,
        Timestamp::from_millisecond(state.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH),
    )))
}

/// One person's shifts across every schedule of the project.
pub async fn oncall_ics(
    state: &AppState,
    project_id: &str,
    user_id: &str,
    days: Option<i64>,
) -> ApiResult<Response> {
    let (from, to) = calendar_window(days, state.now_ms())?;
    let email = super::support::email_of(state, user_id).await?;
    let mut events = Vec::new();
    for s in state.db.schedules(project_id).await? {
        let loaded = state.db.schedule(project_id, &s.id).await?;
        for seg in loaded
            .schedule
            .final_shifts(from, to)
            .into_iter()
            .filter(|g| g.user == user_id)
        {
            events.push(liveops_wire::ical::Event {
                uid: format!("{}-{}-{}@liveops", s.id, user_id, seg.start.as_second()),
                start: seg.start,
                end: seg.end,
                summary: format!("On call: {}", s.name),
                description: None,
            });
        }
    }
    events.sort_by_key(|e| e.start);
    Ok(ics(liveops_wire::ical::calendar(
        &format!("On call: {email}"),
        &events,
        Timestamp::from_millisecond(state.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH),
    )))
}

/// A release train's freeze and release days for the next half year.
pub async fn train_ics(state: &AppState, project_id: &str, train: &str) -> ApiResult<Response> {
    let t = match state.db.train(project_id, train).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => {
            return Err(ApiError::not_found(format!("no release train `{train}`")));
        }
        Err(e) => return Err(e.into()),
    };
    let day = |d: jiff::civil::Date| -> ApiResult<Timestamp> {
        d.to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(ApiError::internal)
    };
    let mut events = Vec::new();
    for d in crate::releases::train_of(&t)?.calendar(crate::clock::today(state.now_ms()), 26) {
        let next = |x: jiff::civil::Date| x.tomorrow().map_err(ApiError::internal);
        events.push(liveops_wire::ical::Event {
            uid: format!("{}-freeze-{}@liveops", t.id, d.freeze),
            start: day(d.freeze)?,
            end: day(next(d.freeze)?)?,
            summary: format!("{} code freeze", t.name),
            description: Some(format!("Release on {}", d.release)),
        });
        events.push(liveops_wire::ical::Event {
            uid: format!("{}-release-{}@liveops", t.id, d.release),
            start: day(d.release)?,
            end: day(next(d.release)?)?,
            summary: format!("{} release", t.name),
            description: None,
        });
    }
    Ok(ics(liveops_wire::ical::calendar(
        &t.name,
        &events,
        Timestamp::from_millisecond(state.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH),
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedView {
    pub id: String,
    /// schedule, oncall or train.
    pub kind: String,
    /// The schedule, the person or the train the feed shows.
    pub target: Option<String>,
    /// The start of the secret, to recognise the feed by.
    pub hint: String,
    pub owner: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

async fn feed_view(state: &AppState, f: &Feed) -> ApiResult<FeedView> {
    let target = match (f.kind.as_str(), &f.target) {
        ("oncall", Some(u)) => Some(super::support::email_of(state, u).await?),
        ("schedule", Some(s)) => Some(
            state
                .db
                .schedule(&f.project_id, s)
                .await
                .map(|l| l.row.name)
                .unwrap_or_else(|_| s.clone()),
        ),
        (_, t) => t.clone(),
    };
    Ok(FeedView {
        id: f.id.clone(),
        kind: f.kind.clone(),
        target,
        hint: f.hint.clone(),
        owner: super::support::email_of(state, &f.user_id).await?,
        created_at: format_ms(f.created_at),
        revoked_at: f.revoked_at.map(format_ms),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFeedBody {
    /// schedule (a schedule's shifts), oncall (your own shifts) or train.
    pub kind: String,
    /// The schedule or train name; not used for oncall.
    pub target: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedFeed {
    pub feed: FeedView,
    /// The URL to subscribe to; it is the feed's only credential and is
    /// shown only in this answer. Relative when the server has no public_url.
    pub url: String,
}

/// Makes a calendar feed URL for you: it shows that one calendar, to
/// whoever has the URL, for as long as you can read the project.
#[utoipa::path(post, path = "/api/v1/projects/{project}/calendar-feeds", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = NewFeedBody,
    responses((status = 201, description = "The feed and its URL, shown once", body = CreatedFeed)))]
pub async fn create_feed(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiJson(body): ApiJson<NewFeedBody>,
) -> ApiResult<Response> {
    let principal = &access.principal;
    let project_id = access.project.id.clone();
    let target = match body.kind.as_str() {
        "schedule" => {
            let name = body
                .target
                .as_deref()
                .ok_or_else(|| ApiError::unprocessable("a schedule feed names its schedule"))?;
            match state.db.schedule(&project_id, name).await {
                Ok(l) => Some(l.row.id),
                Err(StoreError::NotFound) => {
                    return Err(ApiError::unprocessable(format!("no schedule `{name}`")));
                }
                Err(e) => return Err(e.into()),
            }
        }
        "train" => {
            let name = body
                .target
                .as_deref()
                .ok_or_else(|| ApiError::unprocessable("a train feed names its train"))?;
            match state.db.train(&project_id, name).await {
                Ok(t) => Some(t.name),
                Err(StoreError::NotFound) => {
                    return Err(ApiError::unprocessable(format!(
                        "no release train `{name}`"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
        "oncall" => Some(principal.user.id.clone()),
        other => {
            return Err(ApiError::unprocessable(format!(
                "kind `{other}`: use schedule, oncall or train"
            )));
        }
    };
    let secret = format!("{FEED_PREFIX}{}", keys::random_string(40));
    let hint: String = secret.chars().take(FEED_PREFIX.len() + 6).collect();
    let now = state.now_ms();
    let mut w = Work::begin(&state.db, &*state.clock, &access.actor(), Some(&project_id)).await?;
    let tx = w.conn();
    let id = feeds::insert_feed(
        &mut *tx,
        &NewFeed {
            user_id: &principal.user.id,
            project_id: &project_id,
            kind: &body.kind,
            target: target.as_deref(),
            secret_hash: &keys::hash(&secret),
            hint: &hint,
        },
        now,
    )
    .await?;
    w.commit(
        Audit::new("feed.create", &id)
            .detail(serde_json::json!({"kind": body.kind, "target": body.target})),
    )
    .await?;
    let base = state.config.public_base().unwrap_or("");
    let feed = Feed {
        id,
        user_id: principal.user.id.clone(),
        project_id,
        kind: body.kind.clone(),
        target,
        hint,
        created_at: now,
        revoked_at: None,
    };
    let created = CreatedFeed {
        feed: feed_view(&state, &feed).await?,
        url: format!("{base}/feeds/{secret}.ics"),
    };
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(created),
    )
        .into_response())
}

/// Whether the caller sees everyone's feeds in the project.
fn manages_all(access: &crate::auth::ProjectAccess) -> bool {
    authorize(
        access.role,
        access.principal.scopes(),
        Permission::Administer,
    )
    .is_ok()
}

/// Calendar feeds of the project: all for admins, your own otherwise.
#[utoipa::path(get, path = "/api/v1/projects/{project}/calendar-feeds", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Feeds, newest first", body = Vec<FeedView>)))]
pub async fn list_feeds(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<FeedView>>> {
    let principal = &access.principal;
    let only = (!manages_all(&access)).then_some(principal.user.id.as_str());
    let mut out = Vec::new();
    for f in state.db.feeds(&access.project.id, only).await? {
        out.push(feed_view(&state, &f).await?);
    }
    Ok(Json(out))
}

/// Revokes a calendar feed; its URL stops working at once.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/calendar-feeds/{id}", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
           ("id" = String, Path, description = "Feed id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_feed(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let principal = &access.principal;
    if !liveops_store::is_id(&id) {
        return Err(ApiError::not_found(format!("no feed {id}")));
    }
    let only = (!manages_all(&access)).then_some(principal.user.id.as_str());
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    match feeds::revoke_feed(&mut *tx, &access.project.id, &id, only, now).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::not_found(format!("no feed {id}"))),
        Err(e) => return Err(e.into()),
    }
    w.commit(Audit::new("feed.revoke", &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /feeds/{secret}.ics`: the calendar a feed shows. It works while its
/// maker can still read the project, and answers 404 otherwise, exactly
/// like an unknown or revoked secret.
pub async fn calendar(State(state): State<AppState>, Path(secret): Path<String>) -> Response {
    let secret = secret.strip_suffix(".ics").unwrap_or(&secret);
    match feed_calendar(&state, secret).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn feed_calendar(state: &AppState, secret: &str) -> ApiResult<Response> {
    let missing = || ApiError::not_found("no calendar feed at this address");
    if !secret.starts_with(FEED_PREFIX) {
        return Err(missing());
    }
    let feed = match state.db.feed_by_hash(&keys::hash(secret)).await {
        Ok(f) => f,
        Err(StoreError::NotFound) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    let user = match state.db.user_by_id(&feed.user_id).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    let member = state
        .db
        .role_of(&feed.project_id, &user.id)
        .await?
        .is_some();
    if !member && !user.is_admin {
        return Err(missing());
    }
    let target = feed.target.as_deref().unwrap_or_default();
    match feed.kind.as_str() {
        "schedule" => schedule_ics(state, &feed.project_id, target, None).await,
        "oncall" => oncall_ics(state, &feed.project_id, target, None).await,
        "train" => train_ics(state, &feed.project_id, target).await,
        _ => Err(missing()),
    }
}
