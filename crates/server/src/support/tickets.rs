//! Support tickets as a service: opening one, the actions people take on it,
//! and the SLA watch that warns before a target is missed and when it is.
//! The API, the web UI and the e-mail intake all come through here.

use jiff::{SignedDuration, Timestamp};
use liveops_core::Email;
use liveops_core::support::escalation::Tier;
use liveops_core::support::sla::{self, Priority, Standing};
use liveops_store::audit::Actor;
use liveops_store::support::notify::{self, Channel, NewDelivery};
use liveops_store::support::tickets::{self as tk, NewTicket, Ticket};
use liveops_store::{Db, Result, StoreError};
use serde_json::json;

use super::service::{ActionError, tier_on_call};
use crate::state::AppState;
use crate::state::format_ms;
use crate::work::{Audit, Work};

/// Trimmed text of 1 to `max` printable characters (newlines allowed).
pub fn clean_text(field: &str, s: &str, max: usize) -> std::result::Result<String, String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!("`{field}` needs 1 to {max} printable characters"));
    }
    Ok(t.to_owned())
}

/// The longest SLA target a ticket may be given.
const MAX_TARGET: SignedDuration = SignedDuration::from_hours(24 * 365);

/// A ticket someone asked to open, checked.
#[derive(Debug, Clone)]
pub struct TicketRequest {
    pub subject: String,
    pub requester: Email,
    pub body: String,
    pub priority: Priority,
    pub tier: Tier,
    pub targets: sla::Targets,
}

/// The raw fields of a ticket request, from a form, JSON or an e-mail.
#[derive(Debug, Default)]
pub struct TicketFields<'a> {
    pub subject: &'a str,
    pub requester: &'a str,
    pub body: &'a str,
    pub priority: Option<&'a str>,
    pub tier: Option<&'a str>,
    /// Overrides the priority's first-response target, in seconds.
    pub first_response_secs: Option<i64>,
    /// Overrides the priority's resolution target, in seconds.
    pub resolution_secs: Option<i64>,
}

impl TicketRequest {
    pub fn parse(f: &TicketFields<'_>) -> std::result::Result<TicketRequest, String> {
        let subject = clean_text("subject", f.subject, 200)?;
        let requester = Email::parse(f.requester).map_err(|e| e.to_string())?;
        let body = clean_text("body", f.body, 20_000)?;
        let priority = match f.priority.filter(|p| !p.trim().is_empty()) {
            Some(p) => Priority::parse(p)
                .ok_or_else(|| format!("priority `{p}`: use urgent, high, normal or low"))?,
            None => Priority::Normal,
        };
        let tier = match f.tier.filter(|t| !t.trim().is_empty()) {
            Some(t) => Tier::parse(t).ok_or_else(|| format!("tier `{t}`: use l1, l2 or l3"))?,
            None => Tier::L1,
        };
        let defaults = priority.default_targets();
        let target = |field: &str, secs: Option<i64>, default: SignedDuration| match secs {
            None => Ok(default),
            Some(s) if s >= 1 && SignedDuration::from_secs(s) <= MAX_TARGET => {
                Ok(SignedDuration::from_secs(s))
            }
            Some(_) => Err(format!(
                "`{field}` must be between 1 second and {} days",
                MAX_TARGET.as_hours() / 24
            )),
        };
        let targets = sla::Targets {
            first_response: target(
                "first_response_secs",
                f.first_response_secs,
                defaults.first_response,
            )?,
            resolution: target("resolution_secs", f.resolution_secs, defaults.resolution)?,
        };
        if targets.resolution < targets.first_response {
            return Err("the resolution target cannot come before the first response".into());
        }
        Ok(TicketRequest {
            subject,
            requester,
            body,
            priority,
            tier,
            targets,
        })
    }
}

/// Opens a ticket with its first message; `source` is api, web or email.
pub async fn open(
    state: &AppState,
    project_id: &str,
    actor: &Actor,
    req: &TicketRequest,
    source: &str,
) -> Result<Ticket> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let t = open_in(&mut w, project_id, req, source).await?;
    w.commit(Audit::new("ticket.open", t.number.to_string()))
        .await?;
    Ok(t)
}

/// Opens a ticket as part of a change.
pub(crate) async fn open_in(
    w: &mut Work,
    project_id: &str,
    req: &TicketRequest,
    source: &str,
) -> Result<Ticket> {
    let now = w.now();
    let tx = w.conn();
    let t = tk::insert_ticket(
        &mut *tx,
        &NewTicket {
            project_id,
            subject: &req.subject,
            requester: req.requester.as_str(),
            tier: req.tier,
            priority: req.priority,
            source,
            first_response_due: now + req.targets.first_response.as_millis() as i64,
            resolution_due: now + req.targets.resolution.as_millis() as i64,
        },
        now,
    )
    .await?;
    tk::add_comment(
        &mut *tx,
        &t.id,
        req.requester.as_str(),
        true,
        false,
        &req.body,
        now,
    )
    .await?;
    Ok(t)
}

/// What someone does to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketOp {
    /// A reply the requester sees.
    Reply(String),
    /// An internal note.
    Note(String),
    /// Up one tier.
    Escalate,
    Solve,
    Close,
    Reopen,
    /// Link to an incident, by number.
    LinkIncident(i64),
    /// The release (version or id) that fixed it.
    FixedIn(String),
}

impl TicketOp {
    pub const NAMES: &'static str = "reply, note, escalate, solve, close, reopen, link or fixed_in";

    pub fn parse(
        action: &str,
        body: Option<&str>,
        incident: Option<i64>,
        release: Option<&str>,
    ) -> std::result::Result<TicketOp, String> {
        Ok(match action {
            "reply" => TicketOp::Reply(clean_text("body", body.unwrap_or(""), 20_000)?),
            "note" => TicketOp::Note(clean_text("body", body.unwrap_or(""), 20_000)?),
            "escalate" => TicketOp::Escalate,
            "solve" => TicketOp::Solve,
            "close" => TicketOp::Close,
            "reopen" => TicketOp::Reopen,
            "link" => TicketOp::LinkIncident(
                incident.ok_or("`link` needs the incident's number in `incident`")?,
            ),
            "fixed_in" => TicketOp::FixedIn(clean_text("release", release.unwrap_or(""), 100)?),
            other => return Err(format!("unknown action `{other}`: use {}", Self::NAMES)),
        })
    }

    /// What the audit log calls it.
    pub fn audit_name(&self) -> &'static str {
        match self {
            TicketOp::Reply(_) => "ticket.reply",
            TicketOp::Note(_) => "ticket.note",
            TicketOp::Escalate => "ticket.escalate",
            TicketOp::Solve => "ticket.solve",
            TicketOp::Close => "ticket.close",
            TicketOp::Reopen => "ticket.reopen",
            TicketOp::LinkIncident(_) => "ticket.link",
            TicketOp::FixedIn(_) => "ticket.fixed_in",
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            TicketOp::Reply(_) => "reply",
            TicketOp::Note(_) => "note",
            TicketOp::Escalate => "escalate",
            TicketOp::Solve => "solve",
            TicketOp::Close => "close",
            TicketOp::Reopen => "reopen",
            TicketOp::LinkIncident(_) => "link",
            TicketOp::FixedIn(_) => "fixed_in",
        }
    }
}

/// Applies `op` to ticket `t`, with its audit entry, in one transaction.
pub async fn apply(
    state: &AppState,
    actor: &Actor,
    t: &Ticket,
    op: &TicketOp,
) -> std::result::Result<(), ActionError> {
    let db = &state.db;
    let now = state.now_ms();
    // Look references up before the write transaction opens.
    let incident = match op {
        TicketOp::LinkIncident(n) => match db.incident_by_number(&t.project_id, *n).await {
            Ok(i) => Some(i),
            Err(StoreError::NotFound) => {
                return Err(ActionError::Invalid(format!("there is no incident #{n}")));
            }
            Err(e) => return Err(e.into()),
        },
        _ => None,
    };
    let mut w = Work::begin(db, &*state.clock, actor, Some(&t.project_id)).await?;
    let tx = w.conn();
    match op {
        TicketOp::Reply(body) | TicketOp::Note(body) => {
            let public = matches!(op, TicketOp::Reply(_));
            tk::add_comment(&mut *tx, &t.id, &actor.name, public, true, body, now).await?;
            // A reply goes to the requester by mail; a note never does.
            if public {
                super::mail::queue_reply(&mut *tx, state, t, &actor.name, body, now).await?;
            }
        }
        TicketOp::Escalate => {
            let next = t
                .tier
                .next()
                .ok_or_else(|| ActionError::Refused("the ticket is already at L3".into()))?;
            tk::set_tier(&mut *tx, &t.id, next).await?;
            let text = format!(
                "escalated from {} to {}",
                t.tier.as_str().to_uppercase(),
                next.as_str().to_uppercase()
            );
            tk::add_comment(&mut *tx, &t.id, &actor.name, false, true, &text, now).await?;
        }
        TicketOp::Solve | TicketOp::Close => {
            if t.status == "closed" {
                return Err(ActionError::Refused("the ticket is already closed".into()));
            }
            let status = if *op == TicketOp::Solve {
                "solved"
            } else {
                "closed"
            };
            tk::set_status(&mut *tx, &t.id, status, now).await?;
        }
        TicketOp::Reopen => {
            if !matches!(t.status.as_str(), "solved" | "closed") {
                return Err(ActionError::Refused(
                    "only a solved or closed ticket can be reopened".into(),
                ));
            }
            tk::set_status(&mut *tx, &t.id, "open", now).await?;
        }
        TicketOp::LinkIncident(_) => {
            if let Some(i) = &incident {
                tk::link_incident(&mut *tx, &t.id, Some(&i.id)).await?;
                liveops_store::support::incidents::add_link(
                    &mut *tx,
                    &i.id,
                    "ticket",
                    &t.number.to_string(),
                    now,
                )
                .await?;
            }
        }
        TicketOp::FixedIn(release) => {
            tk::add_link(&mut *tx, &t.id, "release", release, now).await?;
            let text = format!("fixed in release {release}");
            tk::add_comment(&mut *tx, &t.id, &actor.name, false, true, &text, now).await?;
        }
    }
    let mut entry = Audit::new(op.audit_name(), t.number.to_string());
    match op {
        TicketOp::LinkIncident(n) => entry = entry.detail(json!({ "incident": n })),
        TicketOp::FixedIn(r) => entry = entry.detail(json!({ "release": r })),
        _ => {}
    }
    w.commit(entry).await?;
    Ok(())
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Where a ticket's two targets stand at `now`: (first response, resolution).
pub fn standings(t: &Ticket, now: i64) -> (Standing, Standing) {
    (
        sla::standing(
            at(t.created_at),
            at(t.first_response_due),
            t.first_response_at.map(at),
            at(now),
        ),
        sla::standing(
            at(t.created_at),
            at(t.resolution_due),
            t.resolved_at.map(at),
            at(now),
        ),
    )
}

/// Announces every SLA warning (80% of a target's time gone) and breach
/// that is due, once each: to the people answering for the ticket's tier, by
/// e-mail, and to the project's outgoing hooks; and notes it on the ticket.
/// Returns how many announcements were made.
pub async fn watch_slas(state: &AppState) -> Result<usize> {
    let db = &state.db;
    let now = state.now_ms();
    let mut made = 0;
    for t in db.tickets_for_sla_watch(now, 200).await? {
        let (first, resolution) = standings(&t, now);
        for (target, standing) in [("first_response", first), ("resolution", resolution)] {
            let level = match standing {
                Standing::AtRisk => "at_risk",
                Standing::Breached => "breached",
                Standing::Met | Standing::OnTrack => continue,
            };
            if announce(db, &t, target, level, now).await? {
                made += 1;
            }
        }
    }
    Ok(made)
}

async fn announce(db: &Db, t: &Ticket, target: &str, level: &str, now: i64) -> Result<bool> {
    // The people answering for the ticket's tier, through the channels of
    // their notification rules; someone with no rules by e-mail.
    let (people, _) = tier_on_call(db, &t.project_id, t.tier, at(now)).await?;
    let mut targets: Vec<(Channel, String)> = Vec::new();
    for p in &people {
        let user = match db.user_by_id(p).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let rules = db.rules_of(&user.id).await?;
        if rules.is_empty() {
            targets.push((Channel::Email, user.email));
        }
        for r in rules {
            let target = (r.contact.channel, r.contact.address);
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
    }
    let hooks = db.hooks(&t.project_id).await?;
    let what = target.replace('_', " ");
    let due = match target {
        "first_response" => t.first_response_due,
        _ => t.resolution_due,
    };
    let headline = match level {
        "breached" => format!("SLA breached: {what} was due {}", format_ms(due)),
        _ => format!("SLA at risk: {what} is due {}", format_ms(due)),
    };
    let subject = format!(
        "[ticket #{} · {}] {headline}",
        t.number,
        t.priority.as_str()
    );
    let payload = json!({
        "event": format!("ticket.sla_{level}"),
        "target": target,
        "ticket": {
            "number": t.number,
            "subject": t.subject,
            "requester": t.requester,
            "tier": t.tier.as_str(),
            "priority": t.priority.as_str(),
            "status": t.status,
            "first_response_due": format_ms(t.first_response_due),
            "resolution_due": format_ms(t.resolution_due),
        },
    });
    let mut tx = db.begin().await?;
    if !tk::claim_sla_alert(&mut tx, &t.id, target, level, now).await? {
        return Ok(false);
    }
    tk::add_comment(&mut tx, &t.id, "liveops", false, false, &headline, now).await?;
    let text = format!(
        "{subject}\n\nTicket #{}: {}\nRequester: {}\nTier: {}\n",
        t.number,
        t.subject,
        t.requester,
        t.tier.as_str().to_uppercase()
    );
    let render = |channel: Channel| match channel {
        Channel::Email => text.clone(),
        Channel::Slack => json!({ "text": subject }).to_string(),
        Channel::Webhook => payload.to_string(),
    };
    let mut deliveries: Vec<(Channel, String, String)> = targets
        .into_iter()
        .map(|(channel, to)| (channel, to, render(channel)))
        .collect();
    for h in hooks {
        deliveries.push((h.channel, h.url, render(h.channel)));
    }
    for (channel, target, body) in &deliveries {
        notify::enqueue(
            &mut tx,
            &NewDelivery {
                project_id: &t.project_id,
                incident_id: None,
                channel: *channel,
                target,
                subject: &subject,
                payload: body,
                due_at: now,
                signing_key: None,
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}
