//! The reviews contract: postmortems and post-launch reviews as the API
//! shows them.

use liveops_core::reviews::postmortem::Line;
use liveops_store::reviews::Action;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::reviews::Facts;
use crate::reviews::launch::{LaunchFacts, Shown};
use crate::reviews::postmortems::Loaded;
use crate::state::format_ms;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignOffView {
    pub reviewer: String,
    pub at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PostmortemSummaryView {
    pub incident: i64,
    pub title: String,
    /// draft, in_review or published.
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostmortemQuery {
    /// json (default) or markdown.
    pub format: Option<String>,
    /// Include hidden timeline entries (JSON only; default true).
    pub hidden: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReviewItemView {
    pub item: i64,
    pub title: String,
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

/// A review as the API shows it.
pub fn review_view(shown: Shown) -> ApiResult<LaunchReviewView> {
    let r = shown.review;
    let facts: LaunchFacts = serde_json::from_str(&r.facts).map_err(ApiError::internal)?;
    let items = shown
        .items
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// submit, request_changes, publish or reopen.
    pub step: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkBody {
    /// The entry, as the timeline names it.
    pub entry: String,
    /// star, hide or none.
    pub mark: String,
}
