//! The support contract: the views the API answers with, as the CLI reads them back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---------------------------------------------------------------- incidents
// An incident, its detail page, and the hotfixes asked for it.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentView {
    pub number: i64,
    pub title: String,
    /// sev1 (worst) to sev4.
    pub severity: String,
    /// triggered, acknowledged or resolved.
    pub state: String,
    /// The public stage: investigating, identified, monitoring or resolved.
    pub stage: String,
    pub assignee: Option<String>,
    pub commander: Option<String>,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub resolved_at: Option<String>,
    /// The escalation step that runs next, from 0.
    pub escalation_step: i64,
    /// When it runs; absent when escalation is stopped.
    pub escalation_due_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub at: String,
    pub actor: String,
    /// triggered, acknowledged, notified, escalated, note, investigating, …, resolved.
    pub kind: String,
    pub body: Option<String>,
    /// Shown on the public status page.
    pub public: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    pub channel: String,
    pub target: String,
    /// pending, sent or failed.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkView {
    /// ticket, release, deployment, commit or hotfix.
    pub kind: String,
    pub target: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertView {
    pub fingerprint: String,
    pub status: String,
    pub summary: String,
    pub labels: String,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentDetail {
    pub incident: IncidentView,
    pub services: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
    pub alerts: Vec<AlertView>,
    pub links: Vec<LinkView>,
    /// Every notification sent or queued for the incident.
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HotfixView {
    pub id: String,
    pub incident: i64,
    pub reason: String,
    /// requested until release planning takes it up.
    pub state: String,
}

// ---------------------------------------------------------------- tickets
// Tickets with their conversation, and what a release fixed.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketView {
    pub number: i64,
    pub subject: String,
    pub requester: String,
    /// l1, l2 or l3.
    pub tier: String,
    /// urgent, high, normal or low.
    pub priority: String,
    /// open, pending, solved or closed.
    pub status: String,
    /// api, web or email.
    pub source: String,
    pub incident: Option<i64>,
    pub created_at: String,
    pub first_response_due: String,
    pub resolution_due: String,
    pub first_response_at: Option<String>,
    pub resolved_at: Option<String>,
    /// met, breached, at_risk or on_track.
    pub first_response_sla: String,
    pub resolution_sla: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommentView {
    pub at: String,
    pub author: String,
    /// A reply the requester sees, or an internal note.
    pub public: bool,
    pub body: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlaAlertView {
    /// first_response or resolution.
    pub target: String,
    /// at_risk or breached.
    pub level: String,
    pub at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketDetail {
    pub ticket: TicketView,
    pub comments: Vec<CommentView>,
    /// Releases that fixed the ticket.
    pub fixed_in: Vec<String>,
    /// Commits whose message says they fix it, as `repository@sha`.
    #[serde(default)]
    pub fixed_by: Vec<String>,
    /// SLA warnings and breaches announced so far.
    pub sla_alerts: Vec<SlaAlertView>,
    /// The error issues the requester hit, by number.
    #[serde(default)]
    pub issues: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FixesView {
    pub release: String,
    pub incidents: Vec<IncidentSummary>,
    pub tickets: Vec<TicketView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentSummary {
    pub number: i64,
    pub title: String,
    pub severity: String,
    pub state: String,
}

// ---------------------------------------------------------------- stats
// MTTA and MTTR by severity, and ticket SLA attainment.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeverityStats {
    pub severity: String,
    pub incidents: usize,
    /// Mean time to acknowledge, in seconds.
    pub mtta_secs: Option<i64>,
    /// Mean time to resolve, in seconds.
    pub mttr_secs: Option<i64>,
    pub median_tta_secs: Option<i64>,
    pub median_ttr_secs: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SupportStats {
    pub from: String,
    pub to: String,
    pub by_severity: Vec<SeverityStats>,
    pub tickets: usize,
    /// Share of decided first-response targets that were met, 0 to 1.
    pub first_response_attainment: Option<f64>,
    pub resolution_attainment: Option<f64>,
    pub breached_tickets: Vec<i64>,
    pub at_risk_tickets: Vec<i64>,
}

// ---------------------------------------------------------------- on-call
// Schedules (their layers are read back as they were sent), who is on call,
// tiers and escalation policies.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerBody {
    /// Members' e-mail addresses, in rotation order.
    pub members: Vec<String>,
    /// The first hand-off, as local time in the schedule's zone, e.g. `2026-01-05T09:00`.
    pub start: String,
    /// Shift length: `12h`, `1d`, `1w`, …
    pub shift: String,
    /// Only these weekdays (`mon`…`sun`) …
    pub days: Option<Vec<String>>,
    /// … from this local time (`09:00`) …
    pub from: Option<String>,
    /// … until this one (`17:00`; earlier than `from` runs overnight).
    pub to: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OverrideView {
    pub id: String,
    pub user: String,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleView {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub layers: Vec<LayerBody>,
    pub overrides: Vec<OverrideView>,
    /// Who is on call now.
    pub on_call_now: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OnCallEntry {
    /// A schedule name, or a tier (`L1`, `L2`, `L3`).
    pub on: String,
    pub user: Option<String>,
    /// `override`, `layer N`, or `tier members` when a tier has no schedule.
    pub source: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TierView {
    /// l1, l2 or l3.
    pub tier: String,
    /// The schedule whose on-call person answers for the tier, if any.
    pub schedule: Option<String>,
    /// Members' e-mail addresses; all are notified when there is no schedule.
    pub members: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelBody {
    /// Targets such as `user:ann@example.com`, `schedule:Primary` or `tier:l2`.
    pub notify: Vec<String>,
    /// Seconds to wait for an acknowledgement before the next level.
    pub delay_secs: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PolicyView {
    pub id: String,
    pub name: String,
    pub levels: Vec<LevelBody>,
    pub repeat: u32,
    pub ack_timeout_secs: Option<i64>,
}

// ---------------------------------------------------------------- status page
// Components and maintenance windows.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ComponentView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// operational, under_maintenance, degraded_performance, partial_outage or major_outage.
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceView {
    pub id: String,
    pub title: String,
    /// scheduled, in_progress, verifying or completed.
    pub status: String,
    pub starts_at: String,
    pub ends_at: String,
    pub components: Vec<String>,
}

// ---------------------------------------------------------------- notifications
// Project hooks and each person's contact rules.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HookView {
    pub id: String,
    pub kind: String,
    pub url: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactRuleView {
    pub id: String,
    pub kind: String,
    pub address: String,
    pub min_severity: String,
    pub delay_secs: i64,
}

// ---------------------------------------------------------------- integrations
// Where alerts come in.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IntegrationView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub default_severity: String,
    pub auto_resolve: bool,
    pub created_at: String,
}

/// Where an integration takes alerts: a secret address.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IntegrationAddressView {
    /// The path under the server's public URL.
    pub url_path: String,
    pub secret: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedIntegration {
    pub integration: IntegrationView,
    /// The secret; shown only now.
    pub secret: String,
    /// Where to send alerts: the secret is part of the path.
    pub url_path: String,
}
