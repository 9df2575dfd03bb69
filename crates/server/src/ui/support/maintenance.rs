//! Maintenance windows on the support page: the list with stage buttons, and
//! the form to schedule one.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::DateTime;
use liveops_core::support::status::MaintenanceState;

use liveops_store::projects::Project;
use liveops_store::support::status::{Component, Maintenance, NewMaintenance};
use maud::{Markup, html};
use serde::Deserialize;

use super::{db_error, outcome};
use crate::state::{AppState, format_ms};
use crate::ui::prologue::writable;
use crate::ui::{UiSession, error_page};
use crate::work::{Audit, Work};

pub(super) fn maintenance_section(
    project: &Project,
    windows: &[Maintenance],
    components: &[Component],
    csrf: &str,
    can_write: bool,
) -> Markup {
    let name = |id: &str| {
        components
            .iter()
            .find(|c| c.id == id)
            .map_or("(removed)", |c| c.name.as_str())
            .to_owned()
    };
    let base = format!("/p/{}/support/maintenances", project.slug);
    html! {
        section.maintenance {
            h2 { "Maintenance" }
            @if windows.is_empty() {
                p.empty { "No maintenance windows." }
            } @else {
                table.maintenances {
                    thead { tr { th { "Title" } th { "Stage" } th { "From (UTC)" } th { "Until (UTC)" } th { "Components" } th {} } }
                    tbody {
                        @for m in windows {
                            tr data-state=(m.state.as_str()) {
                                td { (m.title) }
                                td { (m.state.as_str().replace('_', " ")) }
                                td { (format_ms(m.starts_at)) }
                                td { (format_ms(m.ends_at)) }
                                td { (m.components.iter().map(|c| name(c)).collect::<Vec<_>>().join(", ")) }
                                td {
                                    @if can_write {
                                        @for to in MaintenanceState::ALL.into_iter().filter(|to| m.state.can_move_to(*to)) {
                                            form.inline method="post" action={(base) "/" (m.id) "/" (to.as_str())} {
                                                input type="hidden" name="_csrf" value=(csrf);
                                                button type="submit" { (to.as_str().replace('_', " ")) }
                                            }
                                            " "
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can_write {
                details {
                    summary { "Schedule maintenance" }
                    form.stack method="post" action=(base) {
                        input type="hidden" name="_csrf" value=(csrf);
                        label for="m-title" { "Title" }
                        input #m-title name="title" required maxlength="200";
                        label for="m-start" { "Starts (UTC)" }
                        input #m-start name="starts_at" type="datetime-local" required;
                        label for="m-end" { "Ends (UTC)" }
                        input #m-end name="ends_at" type="datetime-local" required;
                        @if !components.is_empty() {
                            fieldset.choice {
                                legend { "Components under maintenance" }
                                @for c in components {
                                    label { input type="checkbox" name="component" value=(c.id); " " (c.name) }
                                }
                            }
                        }
                        label for="m-body" { "Message for subscribers (optional)" }
                        textarea #m-body name="body" maxlength="5000" rows="2" {}
                        button type="submit" { "Schedule" }
                    }
                }
            }
        }
    }
}

/// The schedule form, read from its fields; `component` repeats, one per
/// ticked box, which a plain struct cannot take.
#[derive(Debug, Default)]
struct ScheduleForm {
    csrf: String,
    title: String,
    starts_at: String,
    ends_at: String,
    component: Vec<String>,
    body: Option<String>,
}

impl ScheduleForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> ScheduleForm {
        let mut f = ScheduleForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "_csrf" => f.csrf = v,
                "title" => f.title = v,
                "starts_at" => f.starts_at = v,
                "ends_at" => f.ends_at = v,
                "component" => f.component.push(v),
                "body" => f.body = Some(v),
                _ => {}
            }
        }
        f
    }
}

/// A `datetime-local` value, read as UTC.
fn utc_ms(field: &str, v: &str) -> Result<i64, String> {
    v.trim()
        .parse::<DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond())
        .ok_or_else(|| format!("{field} must be a date and time like 2026-01-05T09:00"))
}

pub async fn schedule_maintenance(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = ScheduleForm::from_pairs(pairs);
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "schedule maintenance"));
    let project = &projects[idx].0;
    let unprocessable = |why: &str| error_page(StatusCode::UNPROCESSABLE_ENTITY, why);
    let title = match crate::support::tickets::clean_text("title", &f.title, 200) {
        Ok(t) => t,
        Err(why) => return unprocessable(&why),
    };
    let note = match f.body.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => match crate::support::tickets::clean_text("message", b, 5000) {
            Ok(b) => Some(b),
            Err(why) => return unprocessable(&why),
        },
        None => None,
    };
    let (starts_at, ends_at) = match (
        utc_ms("The start", &f.starts_at),
        utc_ms("The end", &f.ends_at),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(why), _) | (_, Err(why)) => return unprocessable(&why),
    };
    if ends_at <= starts_at {
        return unprocessable("A maintenance window must end after it starts.");
    }
    let known = match state.db.components(&project.id).await {
        Ok(c) => c,
        Err(e) => return db_error(e),
    };
    if let Some(bad) = f
        .component
        .iter()
        .find(|c| !known.iter().any(|k| &k.id == *c))
    {
        return unprocessable(&format!("There is no component `{bad}`."));
    }
    let now = state.now_ms();
    let done = async {
        let mut w = Work::begin(&state.db, &*state.clock, &s.actor(), Some(&project.id)).await?;
        let tx = w.conn();
        liveops_store::support::status::insert_maintenance(
            &mut *tx,
            &NewMaintenance {
                project_id: &project.id,
                title: &title,
                body: note.as_deref(),
                starts_at,
                ends_at,
                components: &f.component,
            },
            now,
        )
        .await?;
        w.commit(Audit::new("maintenance.schedule", &title)).await?;
        Ok::<_, liveops_store::StoreError>(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/p/{}/support", project.slug)).into_response(),
        Err(e) => db_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

pub async fn move_maintenance(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, id, to)): Path<(String, String, String)>,
    Form(f): Form<MoveForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "move maintenance"));
    let project = &projects[idx].0;
    let Ok(to) = to.parse::<MaintenanceState>() else {
        return error_page(StatusCode::NOT_FOUND, "There is no such maintenance stage.");
    };
    let m = match state.db.maintenance(&project.id, &id).await {
        Ok(m) => m,
        Err(liveops_store::StoreError::NotFound) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "There is no such maintenance window.",
            );
        }
        Err(e) => return db_error(e),
    };
    outcome(
        crate::support::maintenance::move_to(&state, &s.actor(), &m, to, None).await,
        &format!("/p/{}/support", project.slug),
    )
}
