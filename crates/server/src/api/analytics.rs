//! Usage analytics over the API: trends, active users, stickiness,
//! lifecycle, funnels with drop-off, retention, features, persons (and their
//! deletion), retention settings and Parquet export.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use liveops_core::analytics::funnel::MAX_STEPS;
use liveops_core::scaling::retention::Kind as RetentionKind;
use liveops_store::analytics::KeyFunnel;

use crate::analytics::funnels;
use crate::auth::{Access, need};
use crate::contract::analytics::*;
use crate::contract::answers;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::{AppState, format_ms};
use crate::work::{Audit, Work};

// ---------------------------------------------------------------- events and trends

/// The event names a project has, most frequent first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/events", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Event names", body = Vec<EventNameView>)))]
pub async fn event_names(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<EventNameView>>> {
    let id = access.project.id.clone();
    let names = crate::analytics::telemetry(&state, move |a| a.event_names(&id)).await?;
    Ok(Json(
        names
            .into_iter()
            .map(|(name, count)| EventNameView { name, count })
            .collect(),
    ))
}

/// Event counts, unique persons or property math per interval, filtered and
/// broken down by properties: one series.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/trends", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), TrendsParams),
    responses((status = 200, description = "Series", body = TrendsView)))]
pub async fn trends(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<TrendsParams>,
) -> ApiResult<Json<TrendsView>> {
    let req = trends_request(&TrendsBody::from(p), state.now_ms())?;
    let interval = req.interval;
    let answer = crate::analytics::trends::run(&state, &access.project.id, req).await?;
    Ok(Json(TrendsView {
        interval: interval.as_str().into(),
        series: answer
            .series
            .into_iter()
            .next()
            .map(trend_lines_view)
            .unwrap_or_default(),
    }))
}

/// Several series, each with its own event, math and filters, and a
/// formula over them (`A / B * 100`).
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/trends", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = TrendsBody,
    responses((status = 200, description = "Series and formula", body = TrendsResultView)))]
pub async fn trends_query(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiJson(body): ApiJson<TrendsBody>,
) -> ApiResult<Json<TrendsResultView>> {
    Ok(Json(
        answers::trends(&state, &access.project.id, &body).await?,
    ))
}

// ---------------------------------------------------------------- web

/// The web overview of a range: visitors, sessions, bounce rate and
/// duration, pages, entry and exit pages, referrers, channels, UTM
/// parameters, devices, browsers and operating systems.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/web", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), WebParams),
    responses((status = 200, description = "Web overview", body = WebOverviewView)))]
pub async fn web(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<WebParams>,
) -> ApiResult<Json<WebOverviewView>> {
    Ok(Json(answers::web(&state, &access.project.id, &p).await?))
}

// ---------------------------------------------------------------- active users

/// DAU, WAU and MAU (sliding windows) for each day.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/active", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), ActiveParams),
    responses((status = 200, description = "Active users per day", body = Vec<ActiveDayView>)))]
pub async fn active(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<ActiveParams>,
) -> ApiResult<Json<Vec<ActiveDayView>>> {
    Ok(Json(answers::active(&state, &access.project.id, &p).await?))
}

/// How many people were active on 1, 2, … days of the range.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/stickiness", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), ActiveParams),
    responses((status = 200, description = "Persons by days active", body = Vec<StickinessView>)))]
pub async fn stickiness(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<ActiveParams>,
) -> ApiResult<Json<Vec<StickinessView>>> {
    Ok(Json(
        answers::stickiness(&state, &access.project.id, &p).await?,
    ))
}

/// New, returning, resurrecting and dormant people per interval.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/lifecycle", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), LifecycleParams),
    responses((status = 200, description = "Lifecycle per interval", body = Vec<LifecycleView>)))]
pub async fn lifecycle(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<LifecycleParams>,
) -> ApiResult<Json<Vec<LifecycleView>>> {
    Ok(Json(
        answers::lifecycle(&state, &access.project.id, &p).await?,
    ))
}

// ---------------------------------------------------------------- funnels

/// Conversion through ordered, strict or unordered steps within a window,
/// with exclusions, a breakdown, time to convert, and who dropped off.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/funnel", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = FunnelBody,
    responses((status = 200, description = "The funnel", body = FunnelView)))]
pub async fn funnel(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiJson(body): ApiJson<FunnelBody>,
) -> ApiResult<Json<FunnelView>> {
    Ok(Json(
        answers::funnel(&state, &access.project.id, &body).await?,
    ))
}

// ---------------------------------------------------------------- retention

/// Cohorts by first (or every) start event, and who came back in each later period.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/retention", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = RetentionBody,
    responses((status = 200, description = "Retention", body = RetentionView)))]
pub async fn retention(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiJson(body): ApiJson<RetentionBody>,
) -> ApiResult<Json<RetentionView>> {
    Ok(Json(
        answers::retention(&state, &access.project.id, &body).await?,
    ))
}

// ---------------------------------------------------------------- features

/// The project's named features.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/features", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Features", body = Vec<FeatureView>)))]
pub async fn list_features(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<FeatureView>>> {
    Ok(Json(
        state
            .db
            .features(&access.project.id)
            .await?
            .into_iter()
            .map(|f| FeatureView {
                name: f.name,
                events: f.events,
                created_at: format_ms(f.created_at),
            })
            .collect(),
    ))
}

/// Defines a feature by a name and the events that mean it was used.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/features", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = FeatureBody,
    responses((status = 201, description = "The feature", body = FeatureView)))]
pub async fn create_feature(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<FeatureBody>,
) -> ApiResult<(StatusCode, Json<FeatureView>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "`name` needs 1 to 100 printable characters",
        ));
    }
    if body.events.is_empty() || body.events.len() > 20 {
        return Err(ApiError::unprocessable("a feature has 1 to 20 events"));
    }
    let events = event_list("events", &body.events)?;
    let now = state.now_ms();
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    let f =
        liveops_store::analytics::insert_feature(&mut *tx, &access.project.id, name, &events, now)
            .await?;
    w.commit(Audit::new("analytics.feature.create", name))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(FeatureView {
            name: f.name,
            events: f.events,
            created_at: format_ms(f.created_at),
        }),
    ))
}

/// Removes a feature definition (its events stay).
#[utoipa::path(delete, path = "/api/v1/projects/{project}/analytics/features/{name}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
           ("name" = String, Path, description = "Feature name")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_feature(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, name)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    if !liveops_store::analytics::delete_feature(&mut *tx, &access.project.id, &name).await? {
        return Err(ApiError::not_found(format!("no feature `{name}`")));
    }
    w.commit(Audit::new("analytics.feature.delete", &name))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adoption, frequency and ranking of every feature over a range.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/features/usage", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), RangeParams),
    responses((status = 200, description = "Feature usage", body = FeatureUsageView)))]
pub async fn feature_usage(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> ApiResult<Json<FeatureUsageView>> {
    let (from, to) = range(
        p.from.as_deref(),
        p.to.as_deref(),
        30,
        3660,
        None,
        state.now_ms(),
    )?;
    let report = crate::analytics::feature_usage(&state, &access.project.id, from, to).await?;
    Ok(Json(feature_usage_view(from, to, report)))
}

// ---------------------------------------------------------------- persons

/// Persons, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/persons", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), PersonsParams),
    responses((status = 200, description = "Persons", body = Vec<PersonView>)))]
pub async fn persons(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<PersonsParams>,
) -> ApiResult<Json<Vec<PersonView>>> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::unprocessable("limit must be 1 to 500"));
    }
    let id = access.project.id.clone();
    let list = crate::analytics::telemetry(&state, move |a| {
        a.persons(&id, p.search.as_deref().filter(|s| !s.is_empty()), limit)
    })
    .await?;
    Ok(Json(list.into_iter().map(person_view).collect()))
}

/// A person by any of their distinct ids, with their latest events.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/persons/{distinct_id}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
           ("distinct_id" = String, Path, description = "Any of the person's distinct ids")),
    responses((status = 200, description = "The person", body = PersonDetail)))]
pub async fn person(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, distinct_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<PersonDetail>> {
    let id = access.project.id.clone();
    let (person, events) = crate::analytics::telemetry(&state, move |a| {
        let Some(p) = a.person(&id, &distinct_id)? else {
            return Ok(None);
        };
        let events = a.person_events(&id, &p.distinct_ids, 100)?;
        Ok(Some((p, events)))
    })
    .await?
    .ok_or_else(|| ApiError::not_found("no person has this distinct id"))?;
    Ok(Json(PersonDetail {
        person: person_view(person),
        events: events
            .into_iter()
            .map(|e| EventView {
                uuid: e.uuid,
                event: e.event,
                distinct_id: e.distinct_id,
                timestamp: format_ms(e.at_ms),
                properties: serde_json::from_str(&e.properties).unwrap_or_default(),
            })
            .collect(),
    }))
}

/// Deletes a person with every distinct id and event they have (a GDPR erasure request).
#[utoipa::path(delete, path = "/api/v1/projects/{project}/analytics/persons/{distinct_id}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
           ("distinct_id" = String, Path, description = "Any of the person's distinct ids")),
    responses((status = 200, description = "Deleted", body = DeletedPerson)))]
pub async fn delete_person(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, distinct_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<DeletedPerson>> {
    let deleted =
        crate::analytics::delete_person(&state, &access.actor(), &access.project.id, &distinct_id)
            .await?
            .ok_or_else(|| ApiError::not_found("no person has this distinct id"))?;
    Ok(Json(DeletedPerson {
        events_deleted: deleted,
    }))
}

// ---------------------------------------------------------------- settings and export

/// How long the project keeps events.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/settings", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Settings", body = AnalyticsSettings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<AnalyticsSettings>> {
    let view = crate::scaling::retention::settings(&state, &access.project.id).await?;
    Ok(Json(AnalyticsSettings {
        retention_days: view.days(RetentionKind::Events),
    }))
}

/// Sets how long the project keeps events; older ones are dropped in the background.
#[utoipa::path(put, path = "/api/v1/projects/{project}/analytics/settings", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = AnalyticsSettings,
    responses((status = 200, description = "Settings", body = AnalyticsSettings)))]
pub async fn put_settings(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<AnalyticsSettings>,
) -> ApiResult<Json<AnalyticsSettings>> {
    crate::scaling::retention::set(
        &state,
        &access.actor(),
        &access.project.id,
        RetentionKind::Events,
        body.retention_days,
    )
    .await?;
    Ok(Json(body))
}

/// Every event of the project, with its person, as a Parquet file.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/export", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "A Parquet file", content_type = "application/vnd.apache.parquet")))]
pub async fn export(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Response> {
    let dir = tempfile::tempdir().map_err(ApiError::internal)?;
    let path = dir.path().join("events.parquet");
    let id = access.project.id.clone();
    let target = path.clone();
    crate::analytics::telemetry(&state, move |a| a.export_parquet(&id, &target)).await?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(ApiError::internal)?;
    let size = file.metadata().await.map_err(ApiError::internal)?.len();
    // Streamed from disk in chunks: the file can be far larger than memory
    // should hold. The temporary folder lives until the last chunk is read.
    let chunks = futures::stream::unfold((file, Some(dir)), |(mut file, dir)| async move {
        use tokio::io::AsyncReadExt;
        dir.as_ref()?;
        let mut buf = vec![0u8; 256 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), (file, dir)))
            }
            Err(e) => Some((Err(e), (file, None))),
        }
    });
    Ok((
        [
            (header::CONTENT_LENGTH, size.to_string()),
            (
                header::CONTENT_TYPE,
                "application/vnd.apache.parquet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-events.parquet\"",
                    access.project.slug
                ),
            ),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response())
}

// ---------------------------------------------------------------- key funnels

/// The funnels the project watches; postmortems and launch reviews report
/// their conversion.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/key-funnels", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Key funnels", body = [KeyFunnelView])))]
pub async fn list_key_funnels(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<KeyFunnelView>>> {
    let all = state.db.key_funnels(&access.project.id).await?;
    Ok(Json(all.into_iter().map(key_funnel_view).collect()))
}

/// Watches a funnel.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/key-funnels", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = KeyFunnelBody,
    responses((status = 201, description = "The key funnel", body = KeyFunnelView)))]
pub async fn create_key_funnel(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<KeyFunnelBody>,
) -> ApiResult<(StatusCode, Json<KeyFunnelView>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "`name` needs 1 to 100 printable characters",
        ));
    }
    if body.steps.len() < 2 || body.steps.len() > MAX_STEPS {
        return Err(ApiError::unprocessable(format!(
            "a key funnel has 2 to {MAX_STEPS} steps"
        )));
    }
    let steps = funnel_steps(&body.steps)?;
    let window = funnel_window(body.window.as_deref())?;
    let f = KeyFunnel {
        name: name.to_owned(),
        steps,
        window_ms: window.millis(),
        created_at: 0,
    };
    let f = funnels::create(&state, &access.actor(), &access.project.id, f).await?;
    Ok((StatusCode::CREATED, Json(key_funnel_view(f))))
}

/// Stops watching a funnel.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/analytics/key-funnels/{name}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
           ("name" = String, Path, description = "Funnel name")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_key_funnel(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, name)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    funnels::delete(&state, &access.actor(), &access.project.id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
