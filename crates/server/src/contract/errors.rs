//! Error tracking's part of the production-support contract: the DSN and
//! alert settings, issues in a list and in full, their sample events with
//! stack traces, and the bodies that resolve, ignore, merge and unmerge.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A project's Sentry DSN and what its error alerts do.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DsnView {
    /// `http://<public key>@<host>/<number>`, for the SDKs' `dsn` option.
    pub dsn: String,
    pub number: i64,
    pub public_key: String,
    /// The integration new issues and regressions open incidents through.
    pub alert_integration: Option<String>,
    pub alert_new: bool,
    pub alert_regression: bool,
    /// A spike: this many events of one issue within `spike_minutes`.
    pub spike_events: Option<i64>,
    pub spike_minutes: i64,
    /// A spike: one issue's events within `spike_minutes` are at least this
    /// share (%) of its route's requests.
    pub spike_percent: Option<f64>,
    /// The tier whose on-call people are told of each alert through their
    /// own notification rules.
    pub notify: Option<String>,
    /// The severity alerts take from their issue's level, as `level=sevN`
    /// pairs.
    pub severities: String,
}

/// What error alerts do: which issues alert (new ones, regressions,
/// spikes), and where they go (an incident through an alert integration,
/// the on-call people of a tier through their own notification rules, or
/// both). This is also the `error_alerts` entry of a project's
/// configuration document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorAlertsBody {
    /// An alert integration's name: alerts open incidents through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
    #[serde(default)]
    pub on_new: bool,
    #[serde(default = "yes")]
    pub on_regression: bool,
    /// Alert when one issue has this many events within `spike_minutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike_events: Option<i64>,
    /// 60 unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike_minutes: Option<i64>,
    /// Alert when one issue's events within `spike_minutes` are at least
    /// this share (%) of the requests its route served then (with at least
    /// 20 requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike_percent: Option<f64>,
    /// `l1`, `l2` or `l3`: that tier's on-call people (else its members)
    /// are told of each alert through their own notification rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// The severity an alert takes from its issue's level, as
    /// `level=sevN` pairs separated by commas (`fatal=sev1,error=sev3`);
    /// `fatal=sev2` unless given. Unmapped levels take the integration's
    /// default severity, or SEV3 for notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severities: Option<String>,
}

fn yes() -> bool {
    true
}

/// Which issues to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IssueListParams {
    /// unresolved, resolved or ignored; all when left out.
    pub status: Option<String>,
    /// Seen in this release.
    pub release: Option<String>,
    /// Seen in this environment.
    pub environment: Option<String>,
    /// `key:value`: an event of the issue carried this tag.
    pub tag: Option<String>,
    /// Only issues that reached a person of this cohort (its id or name),
    /// by the analytics distinct id their events named.
    pub in_cohort: Option<String>,
    /// last_seen (the default), first_seen, events or users.
    pub sort: Option<String>,
    /// At most this many (1–500, 50 unless asked).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// An issue as the list shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IssueSummary {
    /// The issue's number in the project.
    pub number: i64,
    pub title: String,
    pub culprit: Option<String>,
    pub level: String,
    /// unresolved, resolved or ignored.
    pub status: String,
    /// When it came back after a fix, while it is unresolved again.
    pub regressed_at: Option<String>,
    /// now, next or release, while resolved.
    pub resolution: Option<String>,
    /// The release it was resolved in, or the last one before the next.
    pub resolved_release: Option<String>,
    pub events: i64,
    /// Distinct users its events reached.
    pub users: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub first_release: Option<String>,
    pub last_release: Option<String>,
}

/// A release and environment an issue was seen in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IssueReleaseView {
    pub release: String,
    pub environment: String,
    pub events: i64,
    pub first_seen: String,
    pub last_seen: String,
}

/// A value of a tag, and the events that carried it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TagValueView {
    pub key: String,
    pub value: String,
    pub events: u64,
}

/// Events in one bucket of the chart.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CountPoint {
    pub start: String,
    pub events: u64,
}

/// One frame of a stack trace, innermost last.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FrameView {
    pub function: Option<String>,
    pub module: Option<String>,
    pub filename: Option<String>,
    pub lineno: Option<u32>,
    pub colno: Option<u32>,
    pub in_app: bool,
    pub context_line: Option<String>,
    pub pre_context: Vec<String>,
    pub post_context: Vec<String>,
    /// Local variables, as the SDK sent them.
    #[schema(value_type = Option<Object>)]
    pub vars: Option<serde_json::Value>,
    /// The source map that gave this frame its original place, and where
    /// the minified code was (`url:line:column`).
    pub sourcemap: Option<String>,
    pub minified: Option<String>,
}

/// One exception of an event, outermost last.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExceptionView {
    #[serde(rename = "type")]
    pub ty: String,
    pub value: Option<String>,
    pub module: Option<String>,
    pub frames: Vec<FrameView>,
}

/// One error event in full.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorEventView {
    pub event_id: String,
    pub at: String,
    pub level: String,
    pub release: Option<String>,
    pub environment: Option<String>,
    /// The user's id, e-mail or address.
    pub user: Option<String>,
    /// The analytics person it belongs to, when the SDK named the user.
    pub distinct_id: Option<String>,
    pub message: Option<String>,
    pub exceptions: Vec<ExceptionView>,
    /// Each tag as `[key, value]`.
    #[schema(value_type = Vec<Vec<String>>)]
    pub tags: Vec<(String, String)>,
    #[schema(value_type = Vec<Object>)]
    pub breadcrumbs: Vec<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub request: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub contexts: Option<serde_json::Value>,
}

/// Something that happened to an issue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IssueActivityView {
    /// created, resolved, regressed, ignored, unignored, reopened, merged
    /// or unmerged.
    pub kind: String,
    pub release: Option<String>,
    pub actor: String,
    pub detail: Option<String>,
    pub at: String,
}

/// One fingerprint of an issue (several after a merge).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FingerprintView {
    pub fingerprint: String,
    pub title: String,
    pub events: i64,
    pub last_seen: String,
}

/// The deployment that brought an issue: the last one to its environment
/// before it was first seen there.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntroducedView {
    pub service: String,
    pub version: String,
    pub environment: String,
    pub deployed_at: String,
}

/// An issue in full.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IssueDetail {
    pub issue: IssueSummary,
    /// While ignored: until this many more events, users, or this time.
    pub ignore_events: Option<u64>,
    pub ignore_users: Option<u64>,
    pub ignore_until: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub fingerprints: Vec<FingerprintView>,
    pub releases: Vec<IssueReleaseView>,
    pub tags: Vec<TagValueView>,
    /// Events per day over the last 14 days.
    pub series: Vec<CountPoint>,
    /// The newest event in full (a list of one, or none); any other
    /// event is read by its id (`…/issues/{number}/events/{event}`).
    pub events: Vec<ErrorEventView>,
    pub activity: Vec<IssueActivityView>,
    pub introduced: Option<IntroducedView>,
    /// The numbers of the incidents, tickets and backlog items it is
    /// linked to.
    pub incidents: Vec<i64>,
    pub tickets: Vec<i64>,
    pub backlog: Vec<i64>,
}

/// A change of an issue's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueUpdate {
    /// unresolved, resolved or ignored.
    pub status: String,
    /// With resolved: fixed in this release.
    pub in_release: Option<String>,
    /// With resolved: fixed in the next release.
    #[serde(default)]
    pub in_next_release: bool,
    /// With ignored: until this many more events.
    pub ignore_events: Option<u64>,
    /// With ignored: until this many more users.
    pub ignore_users: Option<u64>,
    /// With ignored: until this time (RFC 3339).
    pub ignore_until: Option<String>,
}

/// Issues to fold into the one in the path.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    pub issues: Vec<i64>,
}

/// A fingerprint to split off into an issue of its own.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmergeBody {
    pub fingerprint: String,
}

/// A grouping rule: events whose exception type, message or module
/// matches `pattern` (`*` is any run) group under `fingerprint`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupingRuleView {
    pub id: String,
    /// type, message or module.
    pub matcher: String,
    pub pattern: String,
    /// The parts; `{{ default }}` stands for the default fingerprint.
    pub fingerprint: Vec<String>,
}

/// A grouping rule: events whose exception type, message or module
/// matches the pattern group under the fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupingRuleBody {
    /// type, message or module.
    pub matcher: String,
    pub pattern: String,
    pub fingerprint: Vec<String>,
}

/// An incident or ticket to link an issue to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueLinkBody {
    /// incident or ticket.
    pub kind: String,
    /// Its number.
    pub number: i64,
}

/// The backlog item made from an issue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BacklogFromIssue {
    pub item: i64,
}

/// A file kept for a release: a source map, or a minified script that
/// names its map.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReleaseFileView {
    pub release: String,
    /// The name the browser loads it under: `~/path` on any host, or a URL.
    pub name: String,
    /// `map` or `source`.
    pub kind: String,
    pub sha256: String,
    pub size: i64,
    pub uploaded_at: String,
    pub uploaded_by: String,
}

/// What an upload kept, and whether it replaced a file of that name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadedFile {
    pub file: ReleaseFileView,
    pub replaced: bool,
}

/// Which file of a release.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReleaseFileParams {
    /// `~/path` (the path the browser loads it from, on any host) or a URL.
    pub name: Option<String>,
    /// With no name, delete every file of the release.
    #[serde(default)]
    pub all: bool,
}

/// A release with uploaded files.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReleaseFilesSummaryView {
    pub release: String,
    pub files: i64,
    pub bytes: i64,
    pub last_upload: String,
}
