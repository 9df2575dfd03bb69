//! Maintenance windows moving through their stages, by hand or by the clock,
//! with the component states and subscriber notices each move brings.

use jiff::Timestamp;
use liveops_core::support::status::MaintenanceState;
use liveops_store::Result;
use liveops_store::audit::Actor;
use liveops_store::support::status::{self as components, Maintenance};
use serde_json::json;

use super::service::{ActionError, Notice, notify_subscribers_of, refresh_component};
use crate::state::AppState;
use crate::state::format_ms;
use crate::work::{Audit, Work};

/// Moves a window to stage `to`: its components go under maintenance while
/// it is in progress or being verified and come back when it completes, and
/// its subscribers are told. One transaction, so the clock and a person
/// moving the same window at once move it once.
pub async fn move_to(
    state: &AppState,
    actor: &Actor,
    m: &Maintenance,
    to: MaintenanceState,
    note: Option<&str>,
) -> std::result::Result<(), ActionError> {
    let db = &state.db;
    if !m.state.can_move_to(to) {
        return Err(ActionError::Refused(format!(
            "a maintenance window that is {} cannot move to {}",
            m.state.as_str(),
            to.as_str()
        )));
    }
    let mut w = Work::begin(db, &*state.clock, actor, Some(&m.project_id)).await?;
    let now = w.now();
    let tx = w.conn();
    if !components::move_maintenance(&mut *tx, &m.id, m.state, to).await? {
        return Err(ActionError::Refused(
            "the maintenance window was moved meanwhile; reload it".into(),
        ));
    }
    for c in &m.components {
        refresh_component(&mut *tx, c, now).await?;
    }
    let subject = format!("[maintenance] {} — {}", m.title, label(to));
    let text = match note {
        Some(n) => format!(
            "{n}\n\nWindow: {} to {}",
            format_ms(m.starts_at),
            format_ms(m.ends_at)
        ),
        None => format!(
            "The maintenance window is {}.\n\nWindow: {} to {}",
            label(to).to_lowercase(),
            format_ms(m.starts_at),
            format_ms(m.ends_at)
        ),
    };
    let payload = json!({
        "event": "maintenance.update",
        "maintenance": {
            "id": m.id,
            "title": m.title,
            "status": to.as_str(),
            "scheduled_for": format_ms(m.starts_at),
            "scheduled_until": format_ms(m.ends_at),
        },
        "update": note,
    });
    let notice = Notice {
        project_id: &m.project_id,
        incident_id: None,
        subject: &subject,
        text: &text,
        payload: &payload,
    };
    notify_subscribers_of(&mut *tx, db, &notice, &m.components, now).await?;
    let action = match to {
        MaintenanceState::Scheduled => "maintenance.scheduled",
        MaintenanceState::InProgress => "maintenance.in_progress",
        MaintenanceState::Verifying => "maintenance.verifying",
        MaintenanceState::Completed => "maintenance.completed",
    };
    w.commit(Audit::new(action, &m.title)).await?;
    Ok(())
}

fn label(s: MaintenanceState) -> &'static str {
    match s {
        MaintenanceState::Scheduled => "Scheduled",
        MaintenanceState::InProgress => "In progress",
        MaintenanceState::Verifying => "Verifying",
        MaintenanceState::Completed => "Completed",
    }
}

/// Starts windows whose start has come and completes those whose end has.
pub async fn run_due(state: &AppState) -> Result<usize> {
    let db = &state.db;
    let now = state.now_ms();
    let clock = Actor::system();
    let at = |ms: i64| Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut moved = 0;
    for m in db.due_maintenances(now, 100).await? {
        let Some(to) = m.state.due(at(m.starts_at), at(m.ends_at), at(now)) else {
            continue;
        };
        match move_to(state, &clock, &m, to, None).await {
            Ok(()) => moved += 1,
            // Someone moved it first; the next run sees the new stage.
            Err(ActionError::Refused(_)) | Err(ActionError::Invalid(_)) => {}
            Err(ActionError::Store(e)) => return Err(e),
        }
    }
    Ok(moved)
}
