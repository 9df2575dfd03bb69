//! Postmortems: drafting from the incident's data, editing the written
//! sections, the workflow with sign-offs, timeline marks and action items.
//! Each change is one unit of work with its audit entry.

use liveops_core::Email;
use liveops_core::reviews::postmortem::{self, ActionKind, Line, Mark, PostmortemState, Step};
use liveops_store::StoreError;
use liveops_store::audit::Actor;
use liveops_store::reviews::{self as store, Action, NewAction, Postmortem, Sections};
use liveops_store::support::incidents::IncidentRow;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::Facts;
use crate::auth::ProjectAccess;
use crate::reviews::{Result, ReviewsError};
use crate::state::AppState;
use crate::timerange::parse_when;
use crate::work::{Audit, Work};

/// The longest a written section may be.
pub(crate) const MAX_SECTION: usize = 20_000;

/// Free text that may span lines.
pub(crate) fn long_text(field: &str, s: &str, max: usize) -> Result<String> {
    let t = s.trim();
    if t.chars().count() > max || t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ReviewsError::invalid(format!(
            "`{field}` takes up to {max} printable characters"
        )));
    }
    Ok(t.replace("\r\n", "\n"))
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

pub async fn load(state: &AppState, pm: Postmortem, with_hidden: bool) -> Result<Loaded> {
    let facts = super::stored_facts(&pm)?;
    let lines = super::timeline(state, &pm, &facts, with_hidden).await?;
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

/// The postmortem of incident `number`.
pub async fn find(state: &AppState, access: &ProjectAccess, number: &str) -> Result<Postmortem> {
    let i = crate::support::service::find_incident(state, &access.project.id, number).await?;
    state
        .db
        .postmortem(&access.project.id, i.number)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ReviewsError::not_found(format!(
                "incident #{} has no postmortem yet; draft one with POST",
                i.number
            )),
            e => e.into(),
        })
}

/// Begins a change to a postmortem by `who`.
async fn begin(state: &AppState, who: &Who<'_>) -> Result<Work> {
    Ok(Work::begin(&state.db, &*state.clock, &who.actor, Some(who.project_id)).await?)
}

/// The audit entry of a change to the postmortem of `pm`'s incident.
fn entry(action: &'static str, pm: &Postmortem) -> Audit {
    Audit::new(action, pm.incident_number.to_string())
}

/// Drafts the incident's postmortem from its data.
pub async fn draft(state: &AppState, who: &Who<'_>, incident: &IncidentRow) -> Result<Postmortem> {
    let mut w = begin(state, who).await?;
    let pm = super::draft_in(&mut w, state, incident).await?;
    w.commit(entry("postmortem.draft", &pm)).await?;
    Ok(pm)
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

fn editable(pm: &Postmortem) -> Result<()> {
    if pm.state == PostmortemState::Published {
        return Err(ReviewsError::conflict(
            "the postmortem is published; reopen it to change it",
        ));
    }
    Ok(())
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
pub fn apply(s: &mut Sections, b: &SectionsBody) -> Result<()> {
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

/// Saves the sections given.
pub async fn edit(
    state: &AppState,
    who: &Who<'_>,
    pm: &Postmortem,
    body: &SectionsBody,
) -> Result<()> {
    editable(pm)?;
    let mut sections = pm.sections.clone();
    apply(&mut sections, body)?;
    let mut w = begin(state, who).await?;
    let now = w.now();
    store::save_sections(w.conn(), &pm.id, &sections, now).await?;
    w.commit(entry("postmortem.edit", pm)).await?;
    Ok(())
}

/// Reads a postmortem's figures again.
pub async fn refresh(state: &AppState, who: &Who<'_>, pm: &Postmortem) -> Result<()> {
    editable(pm)?;
    let i = state
        .db
        .incident_by_number(&pm.project_id, pm.incident_number)
        .await?;
    let f = super::facts(state, &i).await?;
    let body = serde_json::to_string(&f).map_err(ReviewsError::internal)?;
    let mut w = begin(state, who).await?;
    let now = w.now();
    store::save_facts(w.conn(), &pm.id, &body, now).await?;
    w.commit(entry("postmortem.refresh", pm)).await?;
    Ok(())
}

/// Moves the postmortem one step through its workflow.
pub async fn step(state: &AppState, who: &Who<'_>, pm: &Postmortem, step: &str) -> Result<()> {
    let step: Step = step
        .parse()
        .map_err(|e: liveops_core::support::incident::UnknownValue| {
            ReviewsError::invalid(e.to_string())
        })?;
    let signed = state.db.sign_offs(&pm.id).await?.len();
    let to = postmortem::next(pm.state, step, signed)
        .map_err(|e| ReviewsError::conflict(e.to_string()))?;
    let mut w = begin(state, who).await?;
    let now = w.now();
    if !store::move_postmortem(w.conn(), &pm.id, pm.state, to, now).await? {
        return Err(ReviewsError::conflict(
            "the postmortem changed meanwhile; reload it",
        ));
    }
    w.commit(
        entry("postmortem.state", pm).detail(json!({"from": pm.state.as_str(), "to": to.as_str()})),
    )
    .await?;
    Ok(())
}

/// Records the caller's sign-off.
pub async fn sign(state: &AppState, who: &Who<'_>, pm: &Postmortem) -> Result<()> {
    postmortem::can_sign_off(pm.state).map_err(|e| ReviewsError::conflict(e.to_string()))?;
    let mut w = begin(state, who).await?;
    let now = w.now();
    store::sign_off(w.conn(), &pm.id, who.user_id, now).await?;
    w.commit(entry("postmortem.sign_off", pm)).await?;
    Ok(())
}

/// Stars, hides or clears a timeline entry.
pub async fn mark(
    state: &AppState,
    who: &Who<'_>,
    pm: &Postmortem,
    entry_key: &str,
    mark: &str,
) -> Result<()> {
    editable(pm)?;
    let mark = match mark {
        "none" => None,
        m => Some(
            m.parse::<Mark>()
                .map_err(|e| ReviewsError::invalid(e.to_string()))?,
        ),
    };
    let facts = super::stored_facts(pm)?;
    let known = super::timeline(state, pm, &facts, true)
        .await?
        .iter()
        .any(|l| l.entry.key == entry_key);
    if !known {
        return Err(ReviewsError::invalid(format!(
            "the timeline has no entry `{entry_key}`"
        )));
    }
    let mut w = begin(state, who).await?;
    store::mark_entry(w.conn(), &pm.id, entry_key, mark).await?;
    w.commit(
        entry("postmortem.mark", pm)
            .detail(json!({"entry": entry_key, "mark": mark.map(|m| m.as_str())})),
    )
    .await?;
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

/// Adds an action item and the backlog item it becomes.
pub async fn action(
    state: &AppState,
    who: &Who<'_>,
    pm: &Postmortem,
    body: &ActionBody,
) -> Result<Action> {
    let kind: ActionKind =
        body.kind
            .parse()
            .map_err(|e: liveops_core::support::incident::UnknownValue| {
                ReviewsError::invalid(e.to_string())
            })?;
    let title = crate::support::tickets::clean_text("title", &body.title, 200)
        .map_err(ReviewsError::invalid)?;
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
                .map_err(|_| ReviewsError::invalid(format!("`{o}` is not an e-mail address")))?;
            let user = crate::auth::member_of(state, who.project_id, &email)
                .await?
                .ok_or_else(|| {
                    ReviewsError::invalid(format!("{email} is not a member of the project"))
                })?;
            Some(user)
        }
    };
    let due = body
        .due
        .as_deref()
        .map(|d| parse_when("due", d))
        .transpose()?;
    let mut w = begin(state, who).await?;
    let now = w.now();
    let a = store::add_action(
        w.conn(),
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
    w.commit(
        entry("postmortem.action", pm)
            .detail(json!({"item": a.item_number, "kind": kind.as_str()})),
    )
    .await?;
    Ok(a)
}
