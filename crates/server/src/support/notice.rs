//! Telling the people on call: whoever is on call in a tier, each through
//! their own notification rules (the channels, delays and least severity
//! they chose), or by e-mail at once when they have none. Error issues and
//! analytics alerts both go this way, without opening an incident.

use jiff::Timestamp;
use liveops_core::support::escalation::Tier;
use liveops_core::support::incident::Severity;
use liveops_store::StoreError;
use liveops_store::support::notify::{self, Channel, NewDelivery};
use serde_json::json;

use crate::state::AppState;

/// What to tell: a subject, the e-mail text, a link, and the JSON a
/// webhook receives.
#[derive(Debug, Clone)]
pub struct Notice {
    pub subject: String,
    pub text: String,
    pub url: String,
    pub payload: serde_json::Value,
}

/// Queues the notice for the on-call people of `tier` in the project,
/// through their rules for `severity`; one message per channel and
/// address. Returns how many were queued.
pub async fn tell_on_call(
    state: &AppState,
    project_id: &str,
    tier: Tier,
    severity: Severity,
    notice: &Notice,
) -> anyhow::Result<usize> {
    let now = state.now_ms();
    let at = Timestamp::from_millisecond(now).unwrap_or(Timestamp::UNIX_EPOCH);
    let (people, _) = super::service::tier_on_call(&state.db, project_id, tier, at).await?;
    let mut targets: Vec<(Channel, String, i64)> = Vec::new();
    for p in &people {
        let user = match state.db.user_by_id(p).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        let rules = state.db.rules_of(&user.id).await?;
        if rules.is_empty() {
            targets.push((Channel::Email, user.email.clone(), now));
        }
        for r in rules.iter().filter(|r| severity <= r.min_severity) {
            targets.push((
                r.contact.channel,
                r.contact.address.clone(),
                now + r.delay_secs * 1000,
            ));
        }
    }
    if targets.is_empty() {
        return Ok(0);
    }
    let mut tx = state.db.begin().await?;
    // Webhooks and Slack get one message each, however many people share
    // them; a person's own e-mail and pager targets too.
    let mut sent: Vec<(Channel, &str)> = Vec::new();
    for (channel, target, due_at) in &targets {
        let (channel, due_at) = (*channel, *due_at);
        if sent.contains(&(channel, target.as_str())) {
            continue;
        }
        sent.push((channel, target));
        let body = match channel {
            Channel::Email => notice.text.clone(),
            Channel::Slack => {
                json!({ "text": format!("{} <{}|open>", notice.subject, notice.url) }).to_string()
            }
            Channel::Webhook => notice.payload.to_string(),
        };
        notify::enqueue(
            &mut tx,
            &NewDelivery {
                project_id,
                incident_id: None,
                channel,
                target,
                subject: &notice.subject,
                payload: &body,
                due_at,
                signing_key: None,
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(sent.len())
}
