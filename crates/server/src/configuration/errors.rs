//! Error tracking's part of a configuration document: the project's error
//! alerts (one entry, named `errors`, listed only when it differs from
//! the defaults) and its grouping rules (each named by what it matches,
//! `type:Timeout*`, and tried in the order they were made).

use super::{Cx, Named, Problem, at, vanished};
use crate::contract::configuration::Document;
use crate::contract::errors::{ErrorAlertsBody, GroupingRuleBody};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::support::errors::{self as service, alerts_body, read_alerts};
use liveops_store::support::errors as store;

/// The one name error alerts have in a document.
pub const ALERTS_KEY: &str = "errors";

impl Named for ErrorAlertsBody {
    fn key(&self) -> String {
        ALERTS_KEY.to_owned()
    }
}

impl Named for GroupingRuleBody {
    fn key(&self) -> String {
        format!("{}:{}", self.matcher.trim(), self.pattern.trim())
    }
}

/// Error alerts as a project has them before anyone sets them.
fn defaults() -> ErrorAlertsBody {
    let none = ErrorAlertsBody {
        integration: None,
        on_new: false,
        on_regression: true,
        spike_events: None,
        spike_minutes: None,
        spike_percent: None,
        notify: None,
        severities: None,
    };
    read_alerts(&none).map_or(none, |a| alerts_body(&a))
}

/// The project's error settings as document entries.
pub(super) async fn current(
    state: &AppState,
    project_id: &str,
) -> ApiResult<(Vec<ErrorAlertsBody>, Vec<GroupingRuleBody>)> {
    let alerts = state
        .db
        .error_settings(project_id)
        .await?
        .map(|s| alerts_body(&s.alerts()))
        .filter(|b| *b != defaults())
        .into_iter()
        .collect();
    let rules = state
        .db
        .grouping_rules(project_id)
        .await?
        .into_iter()
        .map(|r| {
            let (what, pattern) = r.rule.matcher.parts();
            GroupingRuleBody {
                matcher: what.to_owned(),
                pattern: pattern.to_owned(),
                fingerprint: r.rule.fingerprint,
            }
        })
        .collect();
    Ok((alerts, rules))
}

fn alerts_of(b: &ErrorAlertsBody) -> Result<ErrorAlertsBody, Problem> {
    read_alerts(b)
        .map(|a| alerts_body(&a))
        .map_err(|e| at(field_of(&e))(e))
}

/// The field a message from [`read_alerts`] names.
fn field_of(message: &str) -> &'static str {
    [
        "spike_minutes",
        "spike_events",
        "spike_percent",
        "notify",
        "severities",
    ]
    .into_iter()
    .find(|f| message.starts_with(&format!("`{f}`")))
    .unwrap_or("")
}

fn rule_spec(b: &GroupingRuleBody) -> Result<GroupingRuleBody, Problem> {
    let rule = service::rule_of(b).map_err(Problem::from)?;
    let (what, pattern) = rule.matcher.parts();
    Ok(GroupingRuleBody {
        matcher: what.to_owned(),
        pattern: pattern.to_owned(),
        fingerprint: rule.fingerprint,
    })
}

/// Checks the error settings of `doc` into `out`; an alerts entry equal
/// to the defaults is left out, as an export leaves it out.
pub(super) fn canonical(doc: &Document, out: &mut Document, problems: &mut Vec<(String, Problem)>) {
    for b in &doc.error_alerts {
        match alerts_of(b) {
            Ok(a) if a == defaults() => {}
            Ok(a) => out.error_alerts.push(a),
            Err(e) => problems.push((e.about("error_alerts", ALERTS_KEY), e)),
        }
    }
    for b in &doc.grouping_rules {
        match rule_spec(b) {
            Ok(r) => out.grouping_rules.push(r),
            Err(e) => problems.push((e.about("grouping_rules", &b.key()), e)),
        }
    }
}

// ---------------------------------------------------------------- writing

pub(super) async fn put_alerts(cx: &mut Cx<'_>, b: &ErrorAlertsBody) -> ApiResult<Option<String>> {
    let a = read_alerts(b).map_err(|e| ApiError::unprocessable(format!("error_alerts: {e}")))?;
    ensure_settings(cx).await?;
    service::store_alerts(cx.w.conn(), cx.project_id, &a).await?;
    Ok(None)
}

pub(super) async fn delete_alerts(cx: &mut Cx<'_>) -> ApiResult<()> {
    put_alerts(cx, &defaults()).await.map(drop)
}

/// The project's DSN, made when it has none, so its settings have a row.
async fn ensure_settings(cx: &mut Cx<'_>) -> ApiResult<()> {
    let now = cx.w.now();
    let key = service::new_public_key();
    store::ensure_settings(cx.w.conn(), cx.project_id, &key, now).await?;
    Ok(())
}

async fn rule_id(cx: &mut Cx<'_>, key: &str) -> ApiResult<Option<String>> {
    Ok(cx
        .state
        .db
        .grouping_rules(cx.project_id)
        .await?
        .into_iter()
        .find(|r| {
            let (what, pattern) = r.rule.matcher.parts();
            format!("{what}:{pattern}") == key
        })
        .map(|r| r.id))
}

pub(super) async fn put_rule(
    cx: &mut Cx<'_>,
    b: &GroupingRuleBody,
    exists: bool,
) -> ApiResult<Option<String>> {
    let rule = service::rule_of(b)
        .map_err(|e| ApiError::unprocessable(format!("grouping_rules `{}`: {e}", b.key())))?;
    if exists {
        let id = rule_id(cx, &b.key())
            .await?
            .ok_or_else(|| vanished("grouping_rules", &b.key()))?;
        store::set_grouping_rule_fingerprint(cx.w.conn(), cx.project_id, &id, &rule.fingerprint)
            .await?;
    } else {
        let now = cx.w.now();
        store::insert_grouping_rule(cx.w.conn(), cx.project_id, &rule, now).await?;
    }
    Ok(None)
}

pub(super) async fn delete_rule(cx: &mut Cx<'_>, key: &str) -> ApiResult<()> {
    let id = rule_id(cx, key)
        .await?
        .ok_or_else(|| vanished("grouping_rules", key))?;
    store::delete_grouping_rule(cx.w.conn(), cx.project_id, &id).await?;
    Ok(())
}
