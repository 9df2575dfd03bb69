//! Each person's own notification rules: a contact method (an e-mail
//! address, a webhook or Slack URL, sealed at rest) with the least severe
//! incident it is for and how long after a page to use it. Shared by the
//! API (`/api/v1/me/notification-rules`) and the notifications page.

use liveops_core::support::incident::Severity;
use liveops_store::audit::Actor;
use liveops_store::support::notify::{self, Channel};

use crate::contract::support::ContactRuleView;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// A rule as a person asks for it.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// email, webhook or slack.
    pub kind: String,
    pub address: String,
    /// sev1 to sev4; sev4 (every incident) when `None`.
    pub min_severity: Option<String>,
    /// 0 to 86400; 0 when `None`.
    pub delay_secs: Option<i64>,
}

/// The person's rules, addresses shown with their secrets masked.
pub async fn list(state: &AppState, user_id: &str) -> ApiResult<Vec<ContactRuleView>> {
    Ok(state
        .db
        .rules_of(user_id)
        .await?
        .into_iter()
        .map(|r| ContactRuleView {
            id: r.id,
            kind: r.contact.channel.as_str().into(),
            address: state.sealer.shown(&r.contact.address),
            min_severity: r.min_severity.as_str().into(),
            delay_secs: r.delay_secs,
        })
        .collect())
}

/// Adds a contact method with its rule.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    r: &Wanted,
) -> ApiResult<ContactRuleView> {
    let channel: Channel = r.kind.trim().parse().map_err(ApiError::unprocessable)?;
    let address = match channel {
        Channel::Email => liveops_core::Email::parse(&r.address)
            .map_err(|e| ApiError::unprocessable(e.to_string()))?
            .to_string(),
        Channel::Webhook | Channel::Slack => state
            .outbound
            .policy()
            .check_url(r.address.trim())
            .await
            .map(|u| u.to_string())
            .map_err(|e| {
                ApiError::unprocessable(format!("this URL cannot receive notifications: {e}"))
            })?,
    };
    let min: Severity = r
        .min_severity
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("sev4")
        .parse()
        .map_err(|e: <Severity as std::str::FromStr>::Err| {
            ApiError::unprocessable(e.to_string())
        })?;
    let delay = r.delay_secs.unwrap_or(0);
    if !(0..=86_400).contains(&delay) {
        return Err(ApiError::unprocessable(
            "delay_secs must be between 0 and 86400",
        ));
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, None).await?;
    let now = w.now();
    let stored = match channel {
        Channel::Email => address.clone(),
        Channel::Webhook | Channel::Slack => state.sealer.seal(&address),
    };
    let contact = notify::insert_contact(w.conn(), user_id, channel, &stored, now).await?;
    let id = notify::insert_rule(w.conn(), user_id, &contact, min, delay).await?;
    w.commit(
        Audit::new("notification_rule.create", &id).detail(serde_json::json!({
            "channel": channel.as_str(), "min_severity": min.as_str(), "delay_secs": delay,
        })),
    )
    .await?;
    Ok(ContactRuleView {
        id,
        kind: channel.as_str().into(),
        address,
        min_severity: min.as_str().into(),
        delay_secs: delay,
    })
}

/// Removes one of the person's rules.
pub async fn remove(state: &AppState, actor: &Actor, user_id: &str, id: &str) -> ApiResult<()> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, None).await?;
    if !notify::delete_rule(w.conn(), user_id, id).await? {
        return Err(ApiError::not_found(format!(
            "you have no notification rule `{id}`"
        )));
    }
    w.commit(Audit::new("notification_rule.delete", id)).await?;
    Ok(())
}
