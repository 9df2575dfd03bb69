//! The feedback contract: feedback, backlog items, scores, imports and the
//! reporter's activity, as the API takes and shows them and as the CLI
//! reads them back.

use liveops_core::feedback::backlog::Score;
use liveops_store::feedback::{Feedback, Item};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::feedback::Suggestion;
use crate::state::format_ms;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReporterView {
    pub email: Option<String>,
    pub name: Option<String>,
    /// The analytics distinct id, when known.
    pub distinct_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedFeedback {
    pub feedback: FeedbackView,
    /// Backlog items it may duplicate, best first.
    pub suggestions: Vec<SuggestionView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedbackQuery {
    /// new, linked, closed or spam; all but spam by default.
    pub state: Option<String>,
    pub kind: Option<String>,
    /// 1 to 1000 (default 200).
    pub limit: Option<i64>,
    /// Only feedback from the persons of this cohort (its id or name),
    /// matched by the feedback's distinct id.
    pub in_cohort: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivityView {
    pub event: String,
    pub timestamp: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FeedbackDetail {
    pub feedback: FeedbackView,
    pub suggestions: Vec<SuggestionView>,
    /// What the reporter did, newest first, when their distinct id is known
    /// to analytics.
    pub activity: Vec<ActivityView>,
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The export's name, such as `discourse` or `twitter`; feedback is
    /// recorded with source `import:NAME`, each record once by its id.
    pub source: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RejectedRow {
    /// The row (CSV) or record (JSON), from 1.
    pub record: usize,
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportView {
    pub imported: usize,
    /// Records imported before, by their id.
    pub already_imported: usize,
    pub rejected: Vec<RejectedRow>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromTicketBody {
    /// bug, enhancement (default), question or praise.
    pub kind: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

pub fn score_view(s: Score) -> ScoreView {
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    pub status: Option<String>,
    pub kind: Option<String>,
    /// Include merged and won't-do items.
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemDetail {
    pub item: ItemView,
    /// The feedback that votes for it.
    pub feedback: Vec<FeedbackView>,
    /// Other open items that look like this one.
    pub duplicates: Vec<SuggestionView>,
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The item to merge this one into.
    pub into: i64,
}

/// What the reporter did, as the API shows it.
pub fn activity_views(events: Vec<liveops_telemetry::analytics::StoredEvent>) -> Vec<ActivityView> {
    events
        .into_iter()
        .map(|e| ActivityView {
            event: e.event,
            timestamp: format_ms(e.at_ms),
        })
        .collect()
}
