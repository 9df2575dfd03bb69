//! Acknowledge from the message that woke you: every page carries signed,
//! expiring, single-use links to acknowledge, escalate and resolve its
//! incident. Following one shows the incident and a button; only the
//! button (a POST) acts, so a mail scanner that fetches links changes
//! nothing. Slack's buttons carry the same tokens to the interactivity
//! endpoint.
//!
//! A token is `base64url(claims).signature`: the claims (incident, action,
//! expiry, a random nonce and who the page went to) signed with a key
//! derived from the instance key, so every node that shares the key
//! accepts it. A use records the nonce, in the same change as the action.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use liveops_store::StoreError;
use liveops_store::audit::{Actor, ActorKind};
use liveops_store::support::incidents::{self, IncidentRow};
use serde_json::json;

use super::service::{self, ActionError};
use super::{Result, SupportError};
use crate::sealed::Sealer;
use crate::state::AppState;
use crate::work::{Audit, Work};

/// How long a page's links work.
pub const LINK_TTL_MS: i64 = 24 * 3_600_000;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    Acknowledge,
    Escalate,
    Resolve,
}

impl LinkAction {
    pub const ALL: [LinkAction; 3] = [
        LinkAction::Acknowledge,
        LinkAction::Escalate,
        LinkAction::Resolve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Acknowledge => "acknowledge",
            LinkAction::Escalate => "escalate",
            LinkAction::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<LinkAction> {
        LinkAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The button's words.
    pub fn verb(self) -> &'static str {
        match self {
            LinkAction::Acknowledge => "Acknowledge",
            LinkAction::Escalate => "Escalate",
            LinkAction::Resolve => "Resolve",
        }
    }

    /// What the incident's timeline and the answer say it did.
    pub fn done(self) -> &'static str {
        match self {
            LinkAction::Acknowledge => "acknowledged",
            LinkAction::Escalate => "escalated",
            LinkAction::Resolve => "resolved",
        }
    }
}

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub incident_id: String,
    pub action: LinkAction,
    /// Who the page went to.
    pub recipient: String,
    pub expires_at: i64,
    pub nonce: String,
}

fn claims_text(c: &Claims) -> String {
    format!(
        "v1\n{}\n{}\n{}\n{}\n{}",
        c.incident_id,
        c.action.as_str(),
        c.expires_at,
        c.nonce,
        c.recipient
    )
}

/// A signed token for `action` on an incident, for `recipient`, working
/// until `LINK_TTL_MS` after `now`.
pub fn mint(
    sealer: &Sealer,
    incident_id: &str,
    action: LinkAction,
    recipient: &str,
    now: i64,
) -> String {
    let text = claims_text(&Claims {
        incident_id: incident_id.to_owned(),
        action,
        recipient: recipient.replace('\n', " "),
        expires_at: now + LINK_TTL_MS,
        nonce: crate::auth::keys::random_string(24),
    });
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(text.as_bytes()),
        sealer.sign_link(text.as_bytes())
    )
}

/// The claims of a token liveops made and that has not expired.
pub fn read(sealer: &Sealer, token: &str, now: i64) -> Result<Claims> {
    let forged = || SupportError::unauthorized("this link was not made by this server");
    let (body, signature) = token.trim().split_once('.').ok_or_else(forged)?;
    let text = URL_SAFE_NO_PAD.decode(body).map_err(|_| forged())?;
    if !sealer.link_signed(&text, signature) {
        return Err(forged());
    }
    let text = String::from_utf8(text).map_err(|_| forged())?;
    let mut parts = text.splitn(6, '\n');
    let (Some("v1"), Some(incident_id), Some(action), Some(expires_at), Some(nonce), Some(who)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(forged());
    };
    let claims = Claims {
        incident_id: incident_id.to_owned(),
        action: LinkAction::parse(action).ok_or_else(forged)?,
        recipient: who.to_owned(),
        expires_at: expires_at.parse().map_err(|_| forged())?,
        nonce: nonce.to_owned(),
    };
    if claims.expires_at <= now {
        return Err(SupportError::conflict(
            "this link has expired: links in a page work for 24 hours",
        ));
    }
    Ok(claims)
}

/// The links a page about `incident` carries for `recipient`: each
/// action's token and address (absolute when the server knows its
/// `public_url`).
pub fn for_page(
    state: &AppState,
    incident: &IncidentRow,
    recipient: &str,
    now: i64,
) -> Vec<(LinkAction, String, String)> {
    let base = state.config.public_base().unwrap_or("");
    LinkAction::ALL
        .into_iter()
        .filter(|a| *a != LinkAction::Escalate || incident.policy_id.is_some())
        .map(|a| {
            let token = mint(&state.sealer, &incident.id, a, recipient, now);
            let url = format!("{base}/act/{token}");
            (a, token, url)
        })
        .collect()
}

/// A token's claims and its incident as it is now, for the page that asks
/// to confirm.
pub async fn preview(state: &AppState, token: &str) -> Result<(Claims, IncidentRow)> {
    let claims = read(&state.sealer, token, state.now_ms())?;
    let incident = incident(state, &claims.incident_id).await?;
    if state.db.link_used(&claims.nonce).await? {
        return Err(SupportError::conflict("this link has been used already"));
    }
    Ok((claims, incident))
}

async fn incident(state: &AppState, id: &str) -> Result<IncidentRow> {
    let mut conn = state.db.pool().acquire().await.map_err(StoreError::from)?;
    match incidents::get(&mut conn, id).await {
        Ok(i) => Ok(i),
        Err(StoreError::NotFound) => Err(SupportError::not_found(
            "the incident this link was for no longer exists",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Does what a token says, once, as `who` (the page's recipient when
/// `None`) by way of `how` (`e-mail link`, `Slack`), and returns the
/// incident afterwards.
pub async fn act(
    state: &AppState,
    token: &str,
    who: Option<&str>,
    how: &str,
) -> Result<(LinkAction, IncidentRow)> {
    act_in(state, token, who, how, None).await
}

async fn act_in(
    state: &AppState,
    token: &str,
    who: Option<&str>,
    how: &str,
    project_id: Option<&str>,
) -> Result<(LinkAction, IncidentRow)> {
    let claims = read(&state.sealer, token, state.now_ms())?;
    let found = incident(state, &claims.incident_id).await?;
    if project_id.is_some_and(|p| p != found.project_id) {
        return Err(SupportError::unauthorized(
            "this button is for another project's incident",
        ));
    }
    let actor = Actor {
        kind: ActorKind::System,
        name: format!("{} ({how})", who.unwrap_or(&claims.recipient)),
        ip: None,
    };
    let mut w = Work::begin(&state.db, &*state.clock, &actor, Some(&found.project_id)).await?;
    let now = w.now();
    if !incidents::claim_link(
        w.conn(),
        &claims.nonce,
        &found.id,
        claims.action.as_str(),
        &actor.name,
        now,
    )
    .await?
    {
        return Err(SupportError::conflict("this link has been used already"));
    }
    let acted = match claims.action {
        LinkAction::Acknowledge => service::acknowledge_in(&mut w, &state.db, &found, None).await,
        LinkAction::Resolve => {
            service::resolve_by(
                &mut w,
                &state.db,
                &found,
                Some(&format!("resolved from {how}")),
            )
            .await
        }
        LinkAction::Escalate => service::escalate_in(&mut w, &found).await,
    };
    acted.map_err(refused)?;
    let audit = match claims.action {
        LinkAction::Acknowledge => "incident.acknowledge",
        LinkAction::Resolve => "incident.resolve",
        LinkAction::Escalate => "incident.escalate",
    };
    w.commit(Audit::new(audit, found.number.to_string()).detail(json!({ "via": how })))
        .await?;
    if claims.action == LinkAction::Escalate {
        service::run_escalated(state, &found)
            .await
            .map_err(refused)?;
    }
    Ok((claims.action, incident(state, &found.id).await?))
}

/// How far Slack's request timestamp may be from now, in seconds.
pub const SLACK_WINDOW_SECS: i64 = 300;

/// Sets (or clears) the Slack app's signing secret the interactivity
/// endpoint checks buttons with.
pub async fn set_slack_secret(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    secret: Option<&str>,
) -> Result<()> {
    let secret = secret.map(str::trim).filter(|s| !s.is_empty());
    if secret.is_some_and(|s| s.len() < 16 || s.len() > 200 || s.chars().any(char::is_control)) {
        return Err(SupportError::invalid(
            "a Slack signing secret has 16 to 200 printable characters",
        ));
    }
    let sealed = secret.map(|s| state.sealer.seal(s));
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    liveops_store::projects::set_slack_signing_secret(w.conn(), project_id, sealed.as_deref())
        .await?;
    w.commit(Audit::new(
        "project.slack_signing.set",
        if secret.is_some() { "on" } else { "off" },
    ))
    .await?;
    Ok(())
}

/// What the interactivity endpoint answers Slack: shown in the channel,
/// or only to the person who pressed (a refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackAnswer {
    pub text: String,
    pub ephemeral: bool,
}

/// A button pressed on a page in Slack. The request must carry Slack's
/// signature under the project's signing secret, at most five minutes
/// old; the button's value is the page's signed token.
pub async fn slack(
    state: &AppState,
    slug: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<SlackAnswer> {
    let refuse = |why: &str| SupportError::unauthorized(format!("Slack's signature: {why}"));
    let project = match state.db.project_by_slug(slug).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(refuse("no such project")),
        Err(e) => return Err(e.into()),
    };
    let sealed = state
        .db
        .slack_signing_secret(&project.id)
        .await?
        .ok_or_else(|| refuse("this project has no Slack signing secret"))?;
    let secret = state
        .sealer
        .open(&sealed)
        .map_err(|e| SupportError::internal(e.to_string()))?;
    let ts = timestamp.ok_or_else(|| refuse("X-Slack-Request-Timestamp is missing"))?;
    let fresh = ts
        .trim()
        .parse::<i64>()
        .is_ok_and(|t| (t - state.now_ms() / 1000).abs() <= SLACK_WINDOW_SECS);
    if !fresh {
        return Err(refuse("the request is older than five minutes"));
    }
    let sig = signature
        .and_then(|s| s.trim().strip_prefix("v0="))
        .ok_or_else(|| refuse("X-Slack-Signature is missing"))?;
    let signed = liveops_wire::slack::signed_text(ts.trim(), body);
    if !crate::signing::verify(&secret, &signed, sig) {
        return Err(refuse("it does not match the signing secret"));
    }
    let pressed = liveops_wire::slack::block_action(body)
        .map_err(|e| SupportError::invalid(e.to_string()))?;
    Ok(
        match act_in(
            state,
            &pressed.value,
            Some(&pressed.user),
            "Slack",
            Some(&project.id),
        )
        .await
        {
            Ok((action, incident)) => SlackAnswer {
                text: format!(
                    "Incident #{} {} by {}",
                    incident.number,
                    action.done(),
                    pressed.user
                ),
                ephemeral: false,
            },
            Err(
                SupportError::Conflict(m)
                | SupportError::Unauthorized(m)
                | SupportError::NotFound(m)
                | SupportError::Invalid(m),
            ) => SlackAnswer {
                text: m,
                ephemeral: true,
            },
            Err(e) => return Err(e),
        },
    )
}

fn refused(e: ActionError) -> SupportError {
    match e {
        ActionError::Invalid(m) => SupportError::invalid(m),
        ActionError::Refused(m) => SupportError::conflict(m),
        ActionError::Store(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_expire_and_refuse_tampering() {
        let sealer = Sealer::from_key(&[7; 32]);
        let t = mint(
            &sealer,
            "inc-1",
            LinkAction::Acknowledge,
            "ann@example.com",
            1_000,
        );
        let c = read(&sealer, &t, 2_000).expect("a fresh token reads");
        assert_eq!(c.incident_id, "inc-1");
        assert_eq!(c.action, LinkAction::Acknowledge);
        assert_eq!(c.recipient, "ann@example.com");
        assert_eq!(c.expires_at, 1_000 + LINK_TTL_MS);
        assert!(matches!(
            read(&sealer, &t, 1_000 + LINK_TTL_MS),
            Err(SupportError::Conflict(_))
        ));
        // Another key, another action, a cut token: all refused.
        let other = Sealer::from_key(&[8; 32]);
        assert!(matches!(
            read(&other, &t, 2_000),
            Err(SupportError::Unauthorized(_))
        ));
        let (body, sig) = t.split_once('.').expect("two parts");
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(body).expect("base64")).expect("utf-8");
        let changed = URL_SAFE_NO_PAD.encode(text.replace("acknowledge", "resolve"));
        assert!(matches!(
            read(&sealer, &format!("{changed}.{sig}"), 2_000),
            Err(SupportError::Unauthorized(_))
        ));
        assert!(read(&sealer, body, 2_000).is_err());
        assert!(read(&sealer, "", 2_000).is_err());
        // Two tokens for the same action differ (each has its own nonce).
        let again = mint(
            &sealer,
            "inc-1",
            LinkAction::Acknowledge,
            "ann@example.com",
            1_000,
        );
        assert_ne!(t, again);
    }
}
