//! A project's configuration as one document: what `liveops apply -f`
//! reads and `liveops export-config` writes (as YAML), and what
//! `GET`/`POST /api/v1/projects/{project}/configuration` take and give (as
//! JSON). Objects are named, and refer to each other by name; people by
//! e-mail address. Secrets never appear: an integration's URL is shown
//! once when it is made, and a hook's URL is exported redacted (a redacted
//! URL that matches a hook means "keep that one").
//!
//! Overrides, maintenance windows and per-person notification rules are
//! not configuration: they are made by people as things happen, and stay
//! out of the file.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

/// Every kind of object, in the order they are made (later ones may name
/// earlier ones); deletions go the other way.
pub const KINDS: [&str; 20] = [
    "components",
    "schedules",
    "tiers",
    "policies",
    "integrations",
    "hooks",
    "slos",
    "alert_rules",
    "capacity",
    "retention",
    "key_funnels",
    "trains",
    "credentials",
    "error_alerts",
    "grouping_rules",
    "revenue",
    "revenue_rates",
    "cohorts",
    "insights",
    "dashboards",
];

/// A project's configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// The project's slug. The project the request names wins; a file that
    /// names another project is refused, so it cannot be applied by mistake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TierSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicySpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrations: Vec<IntegrationSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<SloSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_rules: Vec<RuleSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<CapacitySpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retention: Vec<RetentionSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_funnels: Vec<KeyFunnelSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trains: Vec<TrainSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<CredentialSpec>,
    /// What error issues alert on and where alerts go: at most one entry,
    /// left out while the defaults hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_alerts: Vec<crate::contract::errors::ErrorAlertsBody>,
    /// Error grouping rules, tried in the order they were made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grouping_rules: Vec<crate::contract::errors::GroupingRuleBody>,
    /// The base currency and the revenue property: at most one entry, left
    /// out while the defaults (EUR, `$revenue`) hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revenue: Vec<RevenueSpec>,
    /// Dated currency rates against the base currency.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revenue_rates: Vec<RateSpec>,
    /// Named cohorts of persons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cohorts: Vec<CohortSpec>,
    /// Saved insights, with their goals and alerts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insights: Vec<InsightSpec>,
    /// Dashboards of saved insights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dashboards: Vec<DashboardSpec>,
}

/// How revenue is read and summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevenueSpec {
    /// A three-letter code such as EUR; rates are against it.
    pub base_currency: String,
    /// The event property revenue is read from first.
    pub property: String,
}

/// One currency rate: from `date` on, a unit of `currency` is worth `rate`
/// of the base currency. Named `CUR@YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    pub currency: String,
    pub date: String,
    pub rate: f64,
}

/// A named cohort: `behavioural` (did `event` at least `min_count` times
/// in the last `days` days, or with `did: false` did not), `property`
/// (`where` person property filters) or `static` (its `distinct_ids`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortSpec {
    pub name: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<bool>,
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distinct_ids: Vec<String>,
}

/// A saved insight: its kind (trends, funnel, retention, stickiness,
/// lifecycle, active, web or revenue), the request its kind's endpoint
/// takes, and optionally a goal and an alert on its headline number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InsightSpec {
    pub name: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub query: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<crate::contract::dashboards::GoalBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<crate::contract::dashboards::AlertBody>,
}

/// A dashboard: its range (the last `days` days, or `from` to `to`),
/// filters for every tile, and its insights by name in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_cohort: Option<String>,
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    pub tiles: Vec<DashboardTileSpec>,
}

/// One tile: a saved insight by name, 1 to 3 columns wide (1 when left
/// out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardTileSpec {
    pub insight: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
}

/// A status-page component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An on-call schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    pub name: String,
    /// An IANA time zone such as `Europe/Berlin`.
    pub time_zone: String,
    /// Rotation layers, lowest first; a higher layer wins where it has someone.
    pub layers: Vec<LayerSpec>,
}

/// One rotation layer of a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Members' e-mail addresses, in rotation order.
    pub members: Vec<String>,
    /// The first hand-off as local time, like `2026-01-05T09:00:00`.
    pub start: String,
    /// Shift length: `12h`, `1d`, `1w`, …
    pub shift: String,
    /// Only on these weekdays (`mon` … `sun`), from `from` until `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A support tier (l1, l2 or l3): a schedule to follow, or members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierSpec {
    pub tier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// An escalation policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    pub levels: Vec<LevelSpec>,
    /// How many more times to run through all levels.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeat: u32,
    /// Seconds after which an acknowledgement lapses and paging restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_timeout_secs: Option<i64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One level of a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelSpec {
    /// `user:EMAIL`, `schedule:NAME` or `tier:l2`.
    pub notify: Vec<String>,
    /// Seconds to wait for an acknowledgement before the next level.
    pub delay_secs: i64,
}

/// An alert integration: a URL that alerting tools post to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSpec {
    pub name: String,
    /// alertmanager, grafana or generic.
    pub kind: String,
    /// The escalation policy that pages, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The status-page component its incidents affect, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// sev1 to sev4; sev3 when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_severity: Option<String>,
    /// Whether a resolved alert resolves its incident (yes when left out).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub auto_resolve: bool,
}

/// An outgoing hook for incident events: `webhook` (liveops JSON) or
/// `slack` (an incoming-webhook URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    pub kind: String,
    /// The URL; exported redacted, and a redacted URL keeps the hook it names.
    pub url: String,
}

/// A service level objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    pub name: String,
    /// availability or latency.
    pub kind: String,
    /// The share of good requests promised, like 0.999.
    pub objective: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Days; 30 when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The integration whose policy pages; liveops' own when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
}

/// A threshold alert rule on a request metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    /// p50_ms, p90_ms, p95_ms, p99_ms, error_rate, requests_per_min, apdex or `otel:NAME`.
    pub metric: String,
    /// `>` or `<`; `>` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparator: Option<String>,
    pub threshold: f64,
    /// How long the condition must hold, like `5m`.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// The window the metric is computed over; `5m` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
}

/// What a service can take on one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacitySpec {
    pub service: String,
    /// `requests` or an OTLP metric's name.
    pub metric: String,
    pub capacity: f64,
    pub replicas: i64,
    /// In (0, 1]; 0.7 when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_utilisation: Option<f64>,
}

/// How long one kind of telemetry is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSpec {
    /// events, spans or metrics.
    pub kind: String,
    /// Days to keep; left out (or null) keeps everything.
    #[serde(default)]
    pub days: Option<i64>,
}

/// A funnel the project watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyFunnelSpec {
    pub name: String,
    /// Event names in order; `a|b` means either.
    pub steps: Vec<String>,
    /// How long a person has to finish; `14d` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// A release train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    pub name: String,
    /// weekly, biweekly or monthly.
    pub cadence: String,
    /// The first release day, `YYYY-MM-DD`.
    pub first_release: String,
    /// Days before each release that code freezes; 2 when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_days: Option<i64>,
}

/// A credential in the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    pub name: String,
    /// api_key, oauth_client_secret, signing_key or tls_certificate.
    pub kind: String,
    pub owner: String,
    pub system: String,
    /// A date or RFC 3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// How to apply a document.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplyParams {
    /// Only say what would change.
    #[serde(default)]
    pub dry_run: bool,
    /// Also delete what the document leaves out.
    #[serde(default)]
    pub prune: bool,
}

/// One change an apply makes (or, in a dry run, would make).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChangeView {
    /// The kind, as the document names it (`schedules`, `alert_rules`, …).
    pub kind: String,
    pub name: String,
    /// create, update or delete.
    pub action: String,
    /// What a new object needs shown once: an integration's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What an apply did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanView {
    /// False for a dry run, and when nothing needed changing.
    pub applied: bool,
    pub dry_run: bool,
    pub changes: Vec<ChangeView>,
    /// Objects the document leaves out that stay, because `prune` was not asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<ChangeView>,
}

// ---------------------------------------------------------------- one-line forms

/// A layer written on one line, as the CLI's `--layer` and the settings
/// page take it: `ann@x.example,bob@x.example start=2026-01-05T09:00
/// shift=1w [days=sat,sun from=09:00 to=17:00]`.
pub fn layer_line(line: &str) -> Result<LayerSpec, String> {
    let mut members: Option<Vec<String>> = None;
    let (mut start, mut shift, mut days, mut from, mut to) = (None, None, None, None, None);
    for part in line.split_whitespace() {
        match part.split_once('=') {
            None if members.is_none() => {
                members = Some(
                    part.split(',')
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
            None => {
                return Err(format!(
                    "layer `{line}`: `{part}` is neither the members nor key=value"
                ));
            }
            Some(("start", v)) => start = Some(v.to_owned()),
            Some(("shift", v)) => shift = Some(v.to_owned()),
            Some(("from", v)) => from = Some(v.to_owned()),
            Some(("to", v)) => to = Some(v.to_owned()),
            Some(("days", v)) => {
                days = Some(
                    v.split(',')
                        .filter(|d| !d.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
            Some((k, _)) => {
                return Err(format!(
                    "layer `{line}`: no setting `{k}`; use start, shift, days, from or to"
                ));
            }
        }
    }
    let members = members
        .filter(|m| !m.is_empty())
        .ok_or_else(|| format!("layer `{line}` names no members"))?;
    let start = start.ok_or_else(|| format!("layer `{line}` needs start="))?;
    let shift = shift.ok_or_else(|| format!("layer `{line}` needs shift="))?;
    Ok(LayerSpec {
        members,
        start,
        shift,
        days,
        from,
        to,
    })
}

/// A layer on one line, as [`layer_line`] reads it.
pub fn layer_text(l: &LayerSpec) -> String {
    let mut out = format!(
        "{} start={} shift={}",
        l.members.join(","),
        l.start,
        l.shift
    );
    if let Some(d) = &l.days {
        out.push_str(&format!(" days={}", d.join(",")));
    }
    for (k, v) in [("from", &l.from), ("to", &l.to)] {
        if let Some(v) = v {
            out.push_str(&format!(" {k}={v}"));
        }
    }
    out
}

/// A policy level on one line, as the CLI's `--level` and the settings
/// page take it: `tier:l1,user:ann@x.example after=5m`.
pub fn level_line(line: &str) -> Result<LevelSpec, String> {
    let mut notify: Option<Vec<String>> = None;
    let mut delay_secs = 0;
    for part in line.split_whitespace() {
        match part.split_once('=') {
            Some(("after", v)) => {
                let span: liveops_core::TimeSpan = v
                    .parse()
                    .map_err(|e| format!("level `{line}`: after `{v}`: {e}"))?;
                delay_secs = span.seconds();
            }
            Some((k, _)) if !k.contains(':') => {
                return Err(format!("level `{line}`: no setting `{k}`; use after="));
            }
            _ if notify.is_none() => {
                notify = Some(
                    part.split(',')
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
            _ => {
                return Err(format!(
                    "level `{line}`: `{part}` is neither the targets nor after="
                ));
            }
        }
    }
    let notify = notify
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("level `{line}` names nobody to notify"))?;
    Ok(LevelSpec { notify, delay_secs })
}

/// A policy level on one line, as [`level_line`] reads it.
pub fn level_text(l: &LevelSpec) -> String {
    let after = liveops_core::TimeSpan::from_seconds(l.delay_secs)
        .map_or_else(|| format!("{}s", l.delay_secs), |t| t.to_string());
    format!("{} after={after}", l.notify.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_and_levels_read_back_from_their_lines() {
        let l = layer_line("ann@x.example,bob@x.example start=2026-01-05T09:00 shift=1w days=sat,sun from=09:00 to=17:00").expect("read");
        assert_eq!(l.members, ["ann@x.example", "bob@x.example"]);
        assert_eq!(
            l.days.as_deref(),
            Some(&["sat".to_owned(), "sun".to_owned()][..])
        );
        assert_eq!(layer_line(&layer_text(&l)).expect("read"), l);
        assert!(
            layer_line("start=2026-01-05T09:00 shift=1w")
                .expect_err("refused")
                .contains("no members")
        );
        assert!(
            layer_line("a@x.example shift=1w")
                .expect_err("refused")
                .contains("start=")
        );
        assert!(
            layer_line("a@x.example start=x shift=1w colour=red")
                .expect_err("refused")
                .contains("`colour`")
        );
        let v = level_line("tier:l1,user:ann@x.example after=5m").expect("read");
        assert_eq!(v.delay_secs, 300);
        assert_eq!(level_text(&v), "tier:l1,user:ann@x.example after=5m");
        assert_eq!(level_line(&level_text(&v)).expect("read"), v);
        assert!(level_line("after=5m").is_err());
        assert!(level_line("tier:l1 after=soon").is_err());
        assert!(level_line("tier:l1 wait=5m").is_err());
    }

    #[test]
    fn a_document_refuses_unknown_keys_and_fills_defaults() {
        let err = serde_json::from_str::<Document>(r#"{"schedule": []}"#).expect_err("refused");
        assert!(
            err.to_string().contains("unknown field `schedule`"),
            "{err}"
        );
        let d: Document =
            serde_json::from_str(r#"{"integrations": [{"name": "am", "kind": "alertmanager"}]}"#)
                .expect("read");
        assert!(d.integrations[0].auto_resolve);
        let back = serde_json::to_value(&d).expect("read");
        assert_eq!(
            back,
            serde_json::json!({"integrations": [{"name": "am", "kind": "alertmanager"}]})
        );
        let off: IntegrationSpec =
            serde_json::from_str(r#"{"name": "x", "kind": "generic", "auto_resolve": false}"#)
                .expect("read");
        assert!(!off.auto_resolve);
    }
}
