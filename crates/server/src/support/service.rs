//! Incident actions shared by alert intake, the API, the UI and the jobs.
//!
//! Every action runs in one write transaction with its timeline entries, its
//! audit entry where a person acted, and the notifications it causes (queued
//! in the outbox), so none of them can happen without the others.

use jiff::Timestamp;
use liveops_core::support::alert::AlertGroup;
use liveops_core::support::escalation::Target;
use liveops_core::support::incident::{IncidentState, Severity, StatusStage};
use liveops_core::support::status::ComponentStatus;
use liveops_store::audit::Actor;
use liveops_store::support::incidents::{self, IncidentRow, NewIncident};
use liveops_store::support::intake::Integration;
use liveops_store::support::notify::{self, Channel, NewDelivery};
use liveops_store::support::status as components;
use liveops_store::{Db, Result, StoreError};
use serde_json::json;
use sqlx::AnyConnection;

use crate::state::AppState;
use crate::support::SupportError;
use crate::work::{Audit, Work};

/// The component status an open incident of `severity` implies.
pub fn impact(severity: Severity) -> ComponentStatus {
    match severity {
        Severity::Sev1 => ComponentStatus::MajorOutage,
        Severity::Sev2 => ComponentStatus::PartialOutage,
        Severity::Sev3 | Severity::Sev4 => ComponentStatus::DegradedPerformance,
    }
}

/// What happened to alerts sent to an integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// The incident the alerts belong to, if any is open or was opened.
    pub incident: Option<i64>,
    pub opened: bool,
    pub resolved: bool,
}

/// Files a group of alerts: opens an incident for the group's key when none
/// is open and something fires, records every alert under it, and resolves
/// the incident when nothing fires any more and the integration says so.
pub async fn ingest_alerts(
    state: &AppState,
    integration: &Integration,
    group: &AlertGroup,
) -> Result<Intake> {
    // Two deliveries of the same new alert may race; the unique index on open
    // keys lets one win, and the other then finds its incident.
    for attempt in 0..3 {
        match ingest_once(state, integration, group).await {
            Err(StoreError::Conflict(_)) if attempt < 2 => continue,
            other => return other,
        }
    }
    Err(StoreError::Other("could not file the alerts".into()))
}

async fn ingest_once(
    state: &AppState,
    integration: &Integration,
    group: &AlertGroup,
) -> Result<Intake> {
    let db = &state.db;
    let now = state.now_ms();
    let actor = format!("integration:{}", integration.name);
    let mut tx = db.begin().await?;
    let open = incidents::open_by_key(&mut tx, &integration.project_id, &group.key).await?;
    let (incident, opened) = match open {
        Some(i) => (i, false),
        None if group.any_firing() => {
            let severity = group.severity().unwrap_or(integration.default_severity);
            let incident = incidents::insert_incident(
                &mut tx,
                &NewIncident {
                    project_id: &integration.project_id,
                    title: truncate(&group.title, 200),
                    severity,
                    dedup_key: Some(&group.key),
                    integration_id: Some(&integration.id),
                    policy_id: integration.policy_id.as_deref(),
                    assignee_id: None,
                    commander_id: None,
                },
                now,
            )
            .await?;
            incidents::add_event(
                &mut tx,
                &incident.id,
                &actor,
                "triggered",
                Some(&group.title),
                false,
                now,
            )
            .await?;
            // The component's state is public at once; the incident itself
            // stays the team's until someone gives it a public update.
            if let Some(component) = &integration.component_id {
                affect_component(&mut tx, &incident, component, impact(severity), now).await?;
            }
            hook_event(&mut tx, db, &incident, "incident.triggered", now).await?;
            (incident, true)
        }
        None => {
            // A resolve for something with no open incident: nothing to do.
            tx.commit().await?;
            return Ok(Intake {
                incident: None,
                opened: false,
                resolved: false,
            });
        }
    };
    for alert in &group.alerts {
        incidents::upsert_alert(&mut tx, &incident, &integration.id, alert, now).await?;
    }
    let mut resolved = false;
    if integration.auto_resolve
        && !group.any_firing()
        && incidents::firing_alerts(&mut tx, &incident.id).await? == 0
    {
        resolved = resolve_in(
            &mut tx,
            db,
            &incident,
            &actor,
            "all alerts resolved",
            false,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Intake {
        incident: Some(incident.number),
        opened,
        resolved,
    })
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

async fn affect_component(
    conn: &mut AnyConnection,
    incident: &IncidentRow,
    component_id: &str,
    status: ComponentStatus,
    now: i64,
) -> Result<()> {
    components::affect(conn, &incident.id, component_id, status).await?;
    refresh_component(conn, component_id, now).await
}

/// Sets a component to the worst impact of its open incidents; with none,
/// under maintenance while a window covers it, else operational.
pub(crate) async fn refresh_component(
    conn: &mut AnyConnection,
    component_id: &str,
    now: i64,
) -> Result<()> {
    let status = match components::worst_open_impact(conn, component_id).await? {
        Some(worst) => worst,
        None if components::under_maintenance(conn, component_id).await? => {
            ComponentStatus::UnderMaintenance
        }
        None => ComponentStatus::Operational,
    };
    components::set_status(conn, component_id, status, now).await?;
    Ok(())
}

/// Resolves an incident. The resolution is public when the incident is
/// (it had a public update before) or when `published`, a person resolving
/// it with a public update; subscribers hear of public ones only.
async fn resolve_in(
    conn: &mut AnyConnection,
    db: &Db,
    incident: &IncidentRow,
    actor: &str,
    why: &str,
    published: bool,
    now: i64,
) -> Result<bool> {
    if !incidents::resolve(conn, &incident.id, now).await? {
        return Ok(false);
    }
    let public = published || incidents::has_public_event(conn, &incident.id).await?;
    incidents::add_event(
        conn,
        &incident.id,
        actor,
        "resolved",
        Some(why),
        public,
        now,
    )
    .await?;
    if public {
        let text = if published {
            why
        } else {
            "This incident has been resolved."
        };
        notify_subscribers(conn, db, incident, text, now).await?;
    }
    for component in components::components_of_incident(conn, &incident.id).await? {
        refresh_component(conn, &component, now).await?;
    }
    hook_event(conn, db, incident, "incident.resolved", now).await?;
    Ok(true)
}

/// Why an action on an incident, ticket or maintenance window failed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The request itself is wrong (a missing field, an unknown reference).
    #[error("{0}")]
    Invalid(String),
    /// The request is fine but the record's state does not allow it.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ActionError {
    fn from(e: sqlx::Error) -> ActionError {
        ActionError::Store(e.into())
    }
}

/// A person opens an incident by hand.
#[derive(Debug)]
pub struct ManualIncident<'a> {
    pub title: &'a str,
    pub severity: Severity,
    pub policy_id: Option<&'a str>,
    pub assignee_id: Option<&'a str>,
    pub commander_id: Option<&'a str>,
    pub services: &'a [String],
    pub components: &'a [String],
    pub body: Option<&'a str>,
}

pub async fn open_incident(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    m: &ManualIncident<'_>,
) -> Result<IncidentRow> {
    let db = &state.db;
    let mut w = Work::begin(db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let tx = w.conn();
    let incident = incidents::insert_incident(
        &mut *tx,
        &NewIncident {
            project_id,
            title: m.title,
            severity: m.severity,
            dedup_key: None,
            integration_id: None,
            policy_id: m.policy_id,
            assignee_id: m.assignee_id,
            commander_id: m.commander_id,
        },
        now,
    )
    .await?;
    incidents::add_event(
        &mut *tx,
        &incident.id,
        &actor.name,
        "triggered",
        m.body.or(Some(m.title)),
        false,
        now,
    )
    .await?;
    incidents::set_services(&mut *tx, &incident.id, m.services).await?;
    for c in m.components {
        affect_component(&mut *tx, &incident, c, impact(m.severity), now).await?;
    }
    hook_event(&mut *tx, db, &incident, "incident.triggered", now).await?;
    w.commit(Audit::new("incident.open", incident.number.to_string()))
        .await?;
    Ok(incident)
}

pub async fn acknowledge(
    state: &AppState,
    actor: &Actor,
    incident: &IncidentRow,
    ack_timeout_secs: Option<i64>,
) -> std::result::Result<(), ActionError> {
    let db = &state.db;
    let mut w = Work::begin(db, &*state.clock, actor, Some(&incident.project_id)).await?;
    acknowledge_in(&mut w, db, incident, ack_timeout_secs).await?;
    w.commit(Audit::new(
        "incident.acknowledge",
        incident.number.to_string(),
    ))
    .await?;
    Ok(())
}

/// Acknowledges as part of a change, by its actor.
pub(crate) async fn acknowledge_in(
    w: &mut Work,
    db: &Db,
    incident: &IncidentRow,
    ack_timeout_secs: Option<i64>,
) -> std::result::Result<(), ActionError> {
    let now = w.now();
    let by = w.actor().name.clone();
    let deadline = ack_timeout_secs.map(|s| now + s * 1000);
    let tx = w.conn();
    if !incidents::acknowledge(&mut *tx, &incident.id, deadline, now).await? {
        return Err(ActionError::Refused(format!(
            "incident #{} is {}, not triggered",
            incident.number,
            incidents::get(&mut *tx, &incident.id).await?.state.as_str()
        )));
    }
    incidents::add_event(
        &mut *tx,
        &incident.id,
        &by,
        "acknowledged",
        None,
        false,
        now,
    )
    .await?;
    hook_event(&mut *tx, db, incident, "incident.acknowledged", now).await?;
    Ok(())
}

pub async fn resolve(
    state: &AppState,
    actor: &Actor,
    incident: &IncidentRow,
    note: Option<&str>,
) -> std::result::Result<(), ActionError> {
    let db = &state.db;
    let mut w = Work::begin(db, &*state.clock, actor, Some(&incident.project_id)).await?;
    resolve_by(&mut w, db, incident, note).await?;
    w.commit(Audit::new("incident.resolve", incident.number.to_string()))
        .await?;
    Ok(())
}

/// Resolves as part of a change, by its actor.
pub(crate) async fn resolve_by(
    w: &mut Work,
    db: &Db,
    incident: &IncidentRow,
    note: Option<&str>,
) -> std::result::Result<(), ActionError> {
    let now = w.now();
    let by = w.actor().name.clone();
    if !resolve_in(
        w.conn(),
        db,
        incident,
        &by,
        note.unwrap_or("resolved by hand"),
        false,
        now,
    )
    .await?
    {
        return Err(ActionError::Refused(format!(
            "incident #{} is already resolved",
            incident.number
        )));
    }
    Ok(())
}

/// Moves escalation on to the next level at once.
pub async fn escalate(
    state: &AppState,
    actor: &Actor,
    incident: &IncidentRow,
) -> std::result::Result<(), ActionError> {
    let db = &state.db;
    let mut w = Work::begin(db, &*state.clock, actor, Some(&incident.project_id)).await?;
    escalate_in(&mut w, incident).await?;
    w.commit(Audit::new("incident.escalate", incident.number.to_string()))
        .await?;
    run_escalated(state, incident).await
}

/// Moves escalation on as part of a change; `run_escalated` runs the
/// step once the change is in.
pub(crate) async fn escalate_in(
    w: &mut Work,
    incident: &IncidentRow,
) -> std::result::Result<(), ActionError> {
    if incident.policy_id.is_none() {
        return Err(ActionError::Refused(format!(
            "incident #{} has no escalation policy to escalate along",
            incident.number
        )));
    }
    let now = w.now();
    let by = w.actor().name.clone();
    let tx = w.conn();
    if !incidents::escalate_now(&mut *tx, &incident.id, now).await? {
        return Err(ActionError::Refused(format!(
            "incident #{} is resolved",
            incident.number
        )));
    }
    incidents::add_event(
        &mut *tx,
        &incident.id,
        &by,
        "escalated",
        Some("escalated by hand"),
        false,
        now,
    )
    .await?;
    Ok(())
}

/// Runs an escalated incident's step now rather than at the job's next
/// tick.
pub(crate) async fn run_escalated(
    state: &AppState,
    incident: &IncidentRow,
) -> std::result::Result<(), ActionError> {
    let fresh = {
        let mut conn = state.db.pool().acquire().await.map_err(StoreError::from)?;
        incidents::get(&mut conn, &incident.id).await?
    };
    run_step(state, &fresh).await?;
    Ok(())
}

/// A note on the timeline, or a public status update when `stage` is given.
pub async fn add_update(
    state: &AppState,
    actor: &Actor,
    incident: &IncidentRow,
    body: &str,
    stage: Option<StatusStage>,
) -> std::result::Result<(), ActionError> {
    let db = &state.db;
    let mut w = Work::begin(db, &*state.clock, actor, Some(&incident.project_id)).await?;
    let now = w.now();
    let tx = w.conn();
    match stage {
        Some(StatusStage::Resolved) => {
            resolve_in(&mut *tx, db, incident, &actor.name, body, true, now).await?;
        }
        Some(stage) => {
            incidents::set_fields(&mut *tx, &incident.id, Some(stage), None, None, None).await?;
            incidents::add_event(
                &mut *tx,
                &incident.id,
                &actor.name,
                stage.as_str(),
                Some(body),
                true,
                now,
            )
            .await?;
            notify_subscribers(&mut *tx, db, incident, body, now).await?;
        }
        None => {
            incidents::add_event(
                &mut *tx,
                &incident.id,
                &actor.name,
                "note",
                Some(body),
                false,
                now,
            )
            .await?
        }
    }
    let action = if stage.is_some() {
        "incident.status_update"
    } else {
        "incident.note"
    };
    w.commit(Audit::new(action, incident.number.to_string()))
        .await?;
    Ok(())
}

/// Runs every escalation step and acknowledgement timeout that has fallen due.
pub async fn run_due(state: &AppState) -> Result<usize> {
    let db = &state.db;
    let now = state.now_ms();
    let mut ran = 0;
    for incident in db.due_ack_timeouts(now, 100).await? {
        let mut tx = db.begin().await?;
        if incidents::ack_timeout(&mut tx, &incident.id, now).await? {
            incidents::add_event(
                &mut tx,
                &incident.id,
                "liveops",
                "ack_timeout",
                Some("the acknowledgement timed out; escalating again"),
                false,
                now,
            )
            .await?;
            ran += 1;
        }
        tx.commit().await?;
    }
    for incident in db.due_escalations(now, 100).await? {
        if run_step(state, &incident).await? {
            ran += 1;
        }
    }
    Ok(ran)
}

/// Runs the incident's current escalation step, once: the step is claimed
/// in the same transaction that queues its notifications.
pub async fn run_step(state: &AppState, incident: &IncidentRow) -> Result<bool> {
    let db = &state.db;
    let Some(policy_id) = &incident.policy_id else {
        return Ok(false);
    };
    if incident.state != IncidentState::Triggered || incident.esc_next_at.is_none() {
        return Ok(false);
    }
    let policy = match db.policy(&incident.project_id, policy_id).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Ok(false),
        Err(e) => return Err(e),
    };
    let now = state.now_ms();
    let step = usize::try_from(incident.esc_step).unwrap_or(usize::MAX);
    let Some(level) = policy.policy.step(step) else {
        // Exhausted: stop the timer.
        let mut tx = db.begin().await?;
        if incidents::claim_step(&mut tx, &incident.id, incident.esc_step, None).await? {
            incidents::add_event(
                &mut tx,
                &incident.id,
                "liveops",
                "escalation_exhausted",
                Some("every level has been notified"),
                false,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        return Ok(false);
    };
    let ran_at = Timestamp::from_millisecond(now).map_err(|e| StoreError::Other(e.to_string()))?;
    let next_at = policy
        .policy
        .next_due(step, ran_at)
        .map(|t| t.as_millisecond());
    let at = ran_at;
    let mut users = Vec::new();
    let mut described = Vec::new();
    for target in &level.targets {
        let found = resolve_target(db, &incident.project_id, target, at).await?;
        described.push(format!(
            "{} → {}",
            describe(target),
            if found.is_empty() {
                "nobody".into()
            } else {
                found.len().to_string() + " people"
            }
        ));
        for u in found {
            if !users.contains(&u) {
                users.push(u);
            }
        }
    }
    let level_no = step % policy.policy.levels().len() + 1;
    let mut tx = db.begin().await?;
    if !incidents::claim_step(&mut tx, &incident.id, incident.esc_step, next_at).await? {
        // Someone else ran this step already.
        return Ok(false);
    }
    let mut names = Vec::new();
    for user_id in &users {
        let user = match db.user_by_id(user_id).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        names.push(user.email.clone());
        notify_user(&mut tx, state, incident, &user, level_no, now).await?;
    }
    let body = format!(
        "level {level_no}: {}; notified {}",
        described.join(", "),
        if names.is_empty() {
            "nobody".to_owned()
        } else {
            names.join(", ")
        }
    );
    incidents::add_event(
        &mut tx,
        &incident.id,
        "liveops",
        "notified",
        Some(&body),
        false,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

fn describe(t: &Target) -> String {
    match t {
        Target::User(u) => format!("user {u}"),
        Target::Schedule(s) => format!("schedule {s}"),
        Target::Tier(t) => format!("tier {}", t.as_str().to_uppercase()),
    }
}

/// The people a target means at time `at`.
pub async fn resolve_target(
    db: &Db,
    project_id: &str,
    target: &Target,
    at: Timestamp,
) -> Result<Vec<String>> {
    Ok(match target {
        Target::User(u) => vec![u.clone()],
        Target::Schedule(s) => match db.schedule(project_id, s).await {
            Ok(loaded) => loaded
                .schedule
                .on_call_at(at)
                .map(|(u, _)| vec![u.to_owned()])
                .unwrap_or_default(),
            Err(StoreError::NotFound) => Vec::new(),
            Err(e) => return Err(e),
        },
        Target::Tier(t) => tier_on_call(db, project_id, *t, at).await?.0,
    })
}

/// Who answers for a tier at `at`: its schedule's on-call person when it has
/// a schedule and someone is on call (`true`), else all its members (`false`).
pub async fn tier_on_call(
    db: &Db,
    project_id: &str,
    tier: liveops_core::support::escalation::Tier,
    at: Timestamp,
) -> Result<(Vec<String>, bool)> {
    let tiers = db.tiers(project_id).await?;
    let Some(row) = tiers.into_iter().find(|r| r.tier == tier) else {
        return Ok((Vec::new(), false));
    };
    if let Some(s) = &row.schedule_id {
        match db.schedule(project_id, s).await {
            Ok(loaded) => {
                if let Some((u, _)) = loaded.schedule.on_call_at(at) {
                    return Ok((vec![u.to_owned()], true));
                }
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((row.members, false))
}

fn incident_json(incident: &IncidentRow) -> serde_json::Value {
    json!({
        "number": incident.number,
        "title": incident.title,
        "severity": incident.severity.as_str(),
        "state": incident.state.as_str(),
        "stage": incident.stage.as_str(),
        "created_at": crate::state::format_ms(incident.created_at),
    })
}

fn subject(incident: &IncidentRow) -> String {
    format!(
        "[{}] #{} {}",
        incident.severity.as_str().to_uppercase(),
        incident.number,
        incident.title
    )
}

/// Queues a person's notifications for an escalation level, per their rules;
/// with no rules, an e-mail to their address at once. Each message carries
/// its own signed links to acknowledge, escalate and resolve.
async fn notify_user(
    conn: &mut AnyConnection,
    state: &AppState,
    incident: &IncidentRow,
    user: &liveops_store::access::User,
    level: usize,
    now: i64,
) -> Result<()> {
    let rules = state.db.rules_of(&user.id).await?;
    let subject = subject(incident);
    let mut deliveries: Vec<(Channel, String, i64)> = rules
        .iter()
        .filter(|r| incident.severity <= r.min_severity)
        .map(|r| {
            (
                r.contact.channel,
                r.contact.address.clone(),
                now + r.delay_secs * 1000,
            )
        })
        .collect();
    if rules.is_empty() {
        deliveries.push((Channel::Email, user.email.clone(), now));
    }
    for (channel, target, due_at) in deliveries {
        let links = super::links::for_page(state, incident, &user.email, now);
        let payload = json!({
            "event": "incident.notify",
            "incident": incident_json(incident),
            "level": level,
            "user": user.email,
            "links": links
                .iter()
                .map(|(a, _, url)| (a.as_str().to_owned(), json!(url)))
                .collect::<serde_json::Map<_, _>>(),
        });
        let body = match channel {
            Channel::Slack => slack_page(&subject, &links),
            _ => render(channel, &subject, &payload),
        };
        notify::enqueue(
            conn,
            &NewDelivery {
                project_id: &incident.project_id,
                incident_id: Some(&incident.id),
                channel,
                target: &target,
                subject: &subject,
                payload: &body,
                due_at,
                signing_key: None,
            },
            now,
        )
        .await?;
    }
    Ok(())
}

/// A Slack page: the subject, a button per action whose value is its
/// signed token (for the interactivity endpoint), and the same actions as
/// links for a workspace without the app.
fn slack_page(subject: &str, links: &[(super::links::LinkAction, String, String)]) -> String {
    let buttons: Vec<serde_json::Value> = links
        .iter()
        .map(|(a, token, _)| {
            let mut b = json!({
                "type": "button",
                "action_id": a.as_str(),
                "text": {"type": "plain_text", "text": a.verb()},
                "value": token,
            });
            if *a == super::links::LinkAction::Acknowledge {
                b["style"] = json!("primary");
            }
            b
        })
        .collect();
    let fallback = links
        .iter()
        .map(|(a, _, url)| format!("<{url}|{}>", a.verb()))
        .collect::<Vec<_>>()
        .join(" · ");
    json!({
        "text": format!("{subject} — incident.notify"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": subject}},
            {"type": "actions", "block_id": "incident_actions", "elements": buttons},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": fallback}]},
        ],
    })
    .to_string()
}

/// The message body for a channel.
fn render(channel: Channel, subject: &str, payload: &serde_json::Value) -> String {
    match channel {
        Channel::Webhook => payload.to_string(),
        Channel::Slack => {
            json!({ "text": format!("{subject} — {}", payload["event"].as_str().unwrap_or("")) })
                .to_string()
        }
        Channel::Email => {
            let mut text = format!(
                "{subject}\n\nEvent: {}\nSeverity: {}\nState: {}\n",
                payload["event"].as_str().unwrap_or(""),
                payload["incident"]["severity"].as_str().unwrap_or(""),
                payload["incident"]["state"].as_str().unwrap_or(""),
            );
            if let Some(links) = payload["links"].as_object().filter(|l| !l.is_empty()) {
                text.push('\n');
                for action in super::links::LinkAction::ALL {
                    if let Some(url) = links.get(action.as_str()).and_then(|u| u.as_str()) {
                        text.push_str(&format!("{}: {url}\n", action.verb()));
                    }
                }
                text.push_str(
                    "\nEach link works once, for 24 hours, and asks you to confirm before it acts.\n",
                );
            }
            text
        }
    }
}

/// Queues a message about `incident` for delivery at once.
async fn deliver_now(
    conn: &mut AnyConnection,
    incident: &IncidentRow,
    channel: Channel,
    target: &str,
    subject: &str,
    body: &str,
    now: i64,
) -> Result<()> {
    let delivery = NewDelivery {
        project_id: &incident.project_id,
        incident_id: Some(&incident.id),
        channel,
        target,
        subject,
        payload: body,
        due_at: now,
        signing_key: None,
    };
    notify::enqueue(conn, &delivery, now).await?;
    Ok(())
}

/// Tells status-page subscribers of the incident's components about a public
/// change: by e-mail or by webhook, through the outbox.
async fn notify_subscribers(
    conn: &mut AnyConnection,
    db: &Db,
    incident: &IncidentRow,
    update: &str,
    now: i64,
) -> Result<()> {
    let affected = components::components_of_incident(conn, &incident.id).await?;
    if affected.is_empty() {
        return Ok(());
    }
    let fresh = incidents::get(conn, &incident.id).await?;
    let subject = format!("[status] {} — {}", fresh.title, fresh.stage.as_str());
    let payload = json!({
        "event": "status.update",
        "incident": incident_json(&fresh),
        "update": update,
    });
    let notice = Notice {
        project_id: &incident.project_id,
        incident_id: Some(&incident.id),
        subject: &subject,
        text: update,
        payload: &payload,
    };
    notify_subscribers_of(conn, db, &notice, &affected, now).await
}

/// A public notice for status-page subscribers.
pub(crate) struct Notice<'a> {
    pub project_id: &'a str,
    pub incident_id: Option<&'a str>,
    pub subject: &'a str,
    /// The e-mail body's text.
    pub text: &'a str,
    /// The webhook body.
    pub payload: &'a serde_json::Value,
}

/// Queues a notice for every subscriber of any of `affected` (component ids).
pub(crate) async fn notify_subscribers_of(
    conn: &mut AnyConnection,
    db: &Db,
    notice: &Notice<'_>,
    affected: &[String],
    now: i64,
) -> Result<()> {
    for sub in db.subscribers(notice.project_id).await? {
        let wanted = sub
            .components
            .as_ref()
            .is_none_or(|cs| cs.iter().any(|c| affected.contains(c)));
        if !wanted {
            continue;
        }
        let unsubscribe = sub.unsubscribe_url.as_deref().unwrap_or_default();
        let (channel, body) = if sub.kind == "email" {
            (
                Channel::Email,
                format!(
                    "{}\n\n{}\n\n--\nYou receive this because you subscribed to this status page.\n\
                     Unsubscribe: {unsubscribe}\n",
                    notice.subject, notice.text
                ),
            )
        } else {
            let mut payload = notice.payload.clone();
            if let serde_json::Value::Object(m) = &mut payload {
                m.insert("unsubscribe_url".into(), unsubscribe.into());
            }
            (Channel::Webhook, payload.to_string())
        };
        let delivery = NewDelivery {
            project_id: notice.project_id,
            incident_id: notice.incident_id,
            channel,
            target: &sub.address,
            subject: notice.subject,
            payload: &body,
            due_at: now,
            signing_key: sub.secret.as_deref(),
        };
        notify::enqueue(conn, &delivery, now).await?;
    }
    Ok(())
}

/// Tells the project's outgoing hooks about an incident event.
async fn hook_event(
    conn: &mut AnyConnection,
    db: &Db,
    incident: &IncidentRow,
    event: &str,
    now: i64,
) -> Result<()> {
    let hooks = db.hooks(&incident.project_id).await?;
    if hooks.is_empty() {
        return Ok(());
    }
    let fresh = incidents::get(conn, &incident.id).await?;
    let payload = json!({ "event": event, "incident": incident_json(&fresh) });
    let subject = subject(&fresh);
    for hook in hooks {
        let body = render(hook.channel, &subject, &payload);
        deliver_now(
            conn,
            incident,
            hook.channel,
            &hook.url,
            &subject,
            &body,
            now,
        )
        .await?;
    }
    Ok(())
}

/// An incident by number (`7` or `#7`).
pub async fn find_incident(
    state: &AppState,
    project_id: &str,
    number: &str,
) -> super::Result<IncidentRow> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| SupportError::not_found(format!("no incident #{number}")))?;
    state
        .db
        .incident_by_number(project_id, n)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => SupportError::not_found(format!("no incident #{n}")),
            e => e.into(),
        })
}
