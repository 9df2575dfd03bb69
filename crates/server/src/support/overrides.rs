//! Overrides: someone on call in a schedule's place for a while, put in and
//! taken out by people as plans change (the API, the CLI and the schedule's
//! settings page share these).

use jiff::Timestamp;
use jiff::civil::DateTime;
use liveops_core::Email;
use liveops_store::StoreError;
use liveops_store::audit::Actor;
use liveops_store::support::oncall;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// A time as people write it: RFC 3339, or a local date and time in the
/// schedule's zone (`2026-12-24T18:00`).
pub fn when(field: &str, s: &str, time_zone: &str) -> ApiResult<i64> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t.as_millisecond());
    }
    let bad = || {
        ApiError::unprocessable(format!(
            "`{field}` must be a time like 2026-12-24T18:00 (in the schedule's zone) or 2026-12-24T17:00:00Z"
        ))
    };
    let local: DateTime = s.parse().map_err(|_| bad())?;
    let tz = liveops_core::support::schedule::time_zone(time_zone)
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    local
        .to_zoned(tz)
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|_| bad())
}

async fn schedule_of(
    state: &AppState,
    project_id: &str,
    schedule: &str,
) -> ApiResult<oncall::LoadedSchedule> {
    match state.db.schedule(project_id, schedule).await {
        Ok(s) => Ok(s),
        Err(StoreError::NotFound) => Err(ApiError::not_found(format!("no schedule `{schedule}`"))),
        Err(e) => Err(e.into()),
    }
}

/// Puts `user` on call in `schedule` from `start` to `end` (see [`when`]).
pub async fn add(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    schedule: &str,
    user: &str,
    start: &str,
    end: &str,
) -> ApiResult<String> {
    let loaded = schedule_of(state, project_id, schedule).await?;
    let email = Email::parse(user).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let user_id = crate::auth::member_of(state, project_id, &email)
        .await?
        .ok_or_else(|| {
            ApiError::unprocessable(format!("{email} is not a member of this project"))
        })?;
    let start_ms = when("start", start, &loaded.row.time_zone)?;
    let end_ms = when("end", end, &loaded.row.time_zone)?;
    if end_ms <= start_ms {
        return Err(ApiError::unprocessable(
            "an override must end after it starts",
        ));
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let id =
        oncall::insert_override(w.conn(), &loaded.row.id, &user_id, start_ms, end_ms, now).await?;
    w.commit(
        Audit::new("schedule.override", &loaded.row.name)
            .detail(serde_json::json!({"user": email.as_str(), "start": start, "end": end})),
    )
    .await?;
    Ok(id)
}

/// Takes an override out of a schedule.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    schedule: &str,
    id: &str,
) -> ApiResult<()> {
    let loaded = schedule_of(state, project_id, schedule).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !oncall::delete_override(w.conn(), &loaded.row.id, id).await? {
        return Err(ApiError::not_found(format!(
            "schedule `{}` has no override `{id}`",
            loaded.row.name
        )));
    }
    w.commit(
        Audit::new("schedule.override.remove", &loaded.row.name)
            .detail(serde_json::json!({ "override": id })),
    )
    .await?;
    Ok(())
}
