//! Error tracking's settings per project: the DSN (made on first use,
//! its key replaced on demand), what error alerts do, read and checked
//! once for the API, the UI and the configuration document alike, and the
//! grouping rules.

use liveops_core::support::errors as grouping;
use liveops_core::support::escalation::Tier;
use liveops_core::support::issue_alerts::{self, Severities};
use liveops_store::audit::Actor;
use liveops_store::support::errors::{self as store, Alerts, ErrorSettings};
use serde_json::json;

use super::{Result, SupportError};
use crate::auth::keys;
use crate::contract::errors::{DsnView, ErrorAlertsBody, GroupingRuleBody, GroupingRuleView};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// Where SDKs reach this server: `public_url`, else the host the caller
/// used (the `Host` header).
pub fn public_base(state: &AppState, host: Option<&str>) -> String {
    match state.config.public_url.as_deref() {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => format!("http://{}", host.unwrap_or("localhost")),
    }
}

/// The DSN of a project as the SDKs take it.
pub fn dsn_view(base: &str, s: &ErrorSettings) -> Result<DsnView> {
    let dsn = liveops_wire::sentry::dsn(base, &s.public_key, &s.number.to_string())
        .map_err(|e| SupportError::invalid(format!("no DSN can be made for {base}: {e}")))?;
    Ok(DsnView {
        dsn,
        number: s.number,
        public_key: s.public_key.clone(),
        alert_integration: s.alert_integration.clone(),
        alert_new: s.alert_new,
        alert_regression: s.alert_regression,
        spike_events: s.spike_events,
        spike_minutes: s.spike_minutes,
        spike_percent: s.spike_percent,
        notify: s.notify_tier.map(|t| t.as_str().to_owned()),
        severities: s.severities.to_string(),
    })
}

/// A new DSN public key.
pub fn new_public_key() -> String {
    keys::random_string(32).to_ascii_lowercase()
}

/// A project's error settings, made (with a new DSN) on first use.
pub async fn settings(state: &AppState, actor: &Actor, project_id: &str) -> Result<ErrorSettings> {
    if let Some(s) = state.db.error_settings(project_id).await? {
        return Ok(s);
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let s = store::ensure_settings(w.conn(), project_id, &new_public_key(), now).await?;
    w.commit(Audit::new("errors.dsn.create", s.number.to_string()))
        .await?;
    Ok(s)
}

/// Gives the project's DSN a new public key; SDKs with the old one are
/// refused from now on.
pub async fn rotate_key(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
) -> Result<ErrorSettings> {
    settings(state, actor, project_id).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    store::set_public_key(w.conn(), project_id, &new_public_key()).await?;
    w.commit(Audit::action("errors.dsn.rotate")).await?;
    state.ingest_keys.forget_all();
    state
        .db
        .error_settings(project_id)
        .await?
        .ok_or_else(|| SupportError::internal("the DSN vanished"))
}

/// Reads what error alerts should do from a body, saying what is wrong
/// with it.
pub fn read_alerts(body: &ErrorAlertsBody) -> std::result::Result<Alerts, String> {
    let spike_minutes = body.spike_minutes.unwrap_or(60);
    if !(1..=1440).contains(&spike_minutes) {
        return Err("`spike_minutes` must be from 1 to 1440".into());
    }
    if body.spike_events.is_some_and(|n| n < 1) {
        return Err("`spike_events` must be at least 1".into());
    }
    let spike_percent = body
        .spike_percent
        .map(issue_alerts::check_percent)
        .transpose()
        .map_err(|e| format!("`spike_percent`: {e}"))?;
    let notify_tier = match body
        .notify
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => None,
        Some(t) => {
            Some(Tier::parse(t).ok_or_else(|| format!("`notify`: `{t}` is not l1, l2 or l3"))?)
        }
    };
    let severities = match body.severities.as_deref() {
        None => Severities::default(),
        Some(s) => Severities::parse(s).map_err(|e| format!("`severities`: {e}"))?,
    };
    Ok(Alerts {
        integration: body
            .integration
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        on_new: body.on_new,
        on_regression: body.on_regression,
        spike_events: body.spike_events,
        spike_minutes,
        spike_percent,
        notify_tier,
        severities,
    })
}

/// Error alerts as a body, in the canonical form [`read_alerts`] gives
/// back unchanged.
pub fn alerts_body(a: &Alerts) -> ErrorAlertsBody {
    ErrorAlertsBody {
        integration: a.integration.clone(),
        on_new: a.on_new,
        on_regression: a.on_regression,
        spike_events: a.spike_events,
        spike_minutes: Some(a.spike_minutes),
        spike_percent: a.spike_percent,
        notify: a.notify_tier.map(|t| t.as_str().to_owned()),
        severities: Some(a.severities.to_string()),
    }
}

/// Stores error alerts in an open change; the integration must exist.
pub async fn store_alerts(
    conn: &mut sqlx::AnyConnection,
    project_id: &str,
    a: &Alerts,
) -> Result<()> {
    if let Some(name) = &a.integration {
        let known = liveops_store::support::intake::integrations_in(conn, project_id).await?;
        if !known.iter().any(|i| &i.name == name) {
            return Err(SupportError::invalid(format!(
                "the project has no alert integration named `{name}`"
            )));
        }
    }
    store::set_alerts(conn, project_id, a).await?;
    Ok(())
}

/// Sets what error alerts do; the integration must exist.
pub async fn set_alerts(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    body: &ErrorAlertsBody,
) -> Result<ErrorSettings> {
    let a = read_alerts(body).map_err(SupportError::invalid)?;
    settings(state, actor, project_id).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    store_alerts(w.conn(), project_id, &a).await?;
    w.commit(Audit::action("errors.alerts").detail(json!(alerts_body(&a))))
        .await?;
    state
        .db
        .error_settings(project_id)
        .await?
        .ok_or_else(|| SupportError::internal("the settings vanished"))
}

/// A project's grouping rules, in the order they are tried.
pub async fn grouping_rules(state: &AppState, project_id: &str) -> Result<Vec<GroupingRuleView>> {
    Ok(state
        .db
        .grouping_rules(project_id)
        .await?
        .into_iter()
        .map(rule_view)
        .collect())
}

fn rule_view(r: store::GroupingRuleRow) -> GroupingRuleView {
    let (what, pattern) = r.rule.matcher.parts();
    GroupingRuleView {
        id: r.id.clone(),
        matcher: what.to_owned(),
        pattern: pattern.to_owned(),
        fingerprint: r.rule.fingerprint.clone(),
    }
}

/// Reads a grouping rule, saying what is wrong with it.
pub fn rule_of(body: &GroupingRuleBody) -> std::result::Result<grouping::Rule, String> {
    let matcher = grouping::Matcher::new(&body.matcher, &body.pattern)?;
    let fingerprint: Vec<String> = body
        .fingerprint
        .iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    if fingerprint.is_empty()
        || fingerprint.len() > 10
        || fingerprint.iter().any(|p| p.chars().count() > 200)
    {
        return Err(
            "a grouping rule's fingerprint is 1 to 10 parts of at most 200 characters".into(),
        );
    }
    Ok(grouping::Rule {
        matcher,
        fingerprint,
    })
}

/// Adds a grouping rule after the others: events it matches from now on
/// group under its fingerprint (events already grouped stay where they are).
pub async fn add_grouping_rule(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    body: &GroupingRuleBody,
) -> Result<GroupingRuleView> {
    let rule = rule_of(body).map_err(SupportError::invalid)?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let row = store::insert_grouping_rule(w.conn(), project_id, &rule, now).await?;
    w.commit(Audit::new("errors.grouping_rule.add", row.id.clone()))
        .await?;
    state.errors_cache.forget_rules(project_id);
    Ok(rule_view(row))
}

/// Removes a grouping rule.
pub async fn delete_grouping_rule(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    id: &str,
) -> Result<()> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !store::delete_grouping_rule(w.conn(), project_id, id).await? {
        return Err(SupportError::not_found(format!("no grouping rule {id}")));
    }
    w.commit(Audit::new("errors.grouping_rule.delete", id))
        .await?;
    state.errors_cache.forget_rules(project_id);
    Ok(())
}
