//! Production-support client commands: incidents, on-call and tickets.

use clap::Subcommand;
use liveops_server::contract::support::{
    FixesView, IncidentDetail, IncidentView, MaintenanceView, OnCallEntry, SupportStats,
    TicketDetail, TicketView,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Format, Global};
use crate::client::{Client, read_as};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Incidents, newest first.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Only triggered and acknowledged ones.
        #[arg(long)]
        open: bool,
    },
    /// One incident with its timeline and deliveries.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
    /// Open an incident by hand.
    Open {
        #[arg(long, value_name = "SLUG")]
        project: String,
        title: String,
        /// sev1 (worst) to sev4.
        #[arg(long, default_value = "sev3")]
        severity: String,
        /// Escalation policy name.
        #[arg(long)]
        policy: Option<String>,
        /// Affected status-page component (repeatable).
        #[arg(long = "component")]
        components: Vec<String>,
    },
    /// Acknowledge: stop escalation.
    Ack {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
    /// Resolve.
    Resolve {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
    /// Escalate to the next level now.
    Escalate {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
    /// Add a note, or a public update with --stage.
    Note {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
        body: String,
        /// investigating, identified, monitoring or resolved.
        #[arg(long)]
        stage: Option<String>,
    },
    /// MTTA and MTTR by severity, and ticket SLA attainment.
    Stats {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// RFC 3339 start; 30 days ago by default.
        #[arg(long)]
        from: Option<String>,
        /// RFC 3339 end; now by default.
        #[arg(long)]
        to: Option<String>,
    },
    /// The incidents and tickets a release fixed.
    FixedBy {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// The release version or id.
        release: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Maintenance windows, latest first.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Schedule a window; the status page announces it.
    Schedule {
        #[arg(long, value_name = "SLUG")]
        project: String,
        title: String,
        /// RFC 3339 start, like 2026-12-01T02:00:00Z.
        #[arg(long)]
        starts: String,
        /// RFC 3339 end.
        #[arg(long)]
        ends: String,
        /// Affected status-page component (repeatable).
        #[arg(long = "component")]
        components: Vec<String>,
        /// A message for subscribers.
        #[arg(long)]
        body: Option<String>,
    },
    /// Move a window on: in_progress, verifying or completed.
    Move {
        #[arg(long, value_name = "SLUG")]
        project: String,
        id: String,
        status: String,
        /// A message for subscribers.
        #[arg(long)]
        body: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OncallCommand {
    /// Who is on call, per schedule and per tier.
    Who {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// An RFC 3339 time; now by default.
        #[arg(long)]
        at: Option<String>,
    },
    /// Turn on the Acknowledge, Escalate and Resolve buttons of pages sent
    /// to Slack: the Slack app's signing secret, read from the
    /// LIVEOPS_SLACK_SIGNING_SECRET environment variable or standard input.
    /// Point the app's Interactivity Request URL at /ingest/slack/PROJECT.
    SlackSecret {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Turn the buttons off instead.
        #[arg(long)]
        clear: bool,
    },
    /// On-call schedules: layers, overrides and a two-week preview.
    #[command(subcommand)]
    Schedule(crate::oncall::ScheduleCommand),
    /// Support tiers (L1–L3) and their members.
    #[command(subcommand)]
    Tier(crate::oncall::TierCommand),
    /// Escalation policies.
    #[command(subcommand)]
    Policy(crate::oncall::PolicyCommand),
    /// Alert integrations (Alertmanager, Grafana, generic webhooks).
    #[command(subcommand)]
    Integration(crate::oncall::IntegrationCommand),
    /// Status-page components.
    #[command(subcommand)]
    Component(crate::oncall::ComponentCommand),
    /// Your own notification rules: how and when liveops reaches you.
    #[command(subcommand)]
    Notify(crate::oncall::NotifyCommand),
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Tickets, newest first.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        open: bool,
    },
    /// One ticket with its conversation.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
    /// Open a ticket for a customer.
    Open {
        #[arg(long, value_name = "SLUG")]
        project: String,
        subject: String,
        #[arg(long, value_name = "EMAIL")]
        requester: String,
        #[arg(long)]
        body: String,
        #[arg(long)]
        priority: Option<String>,
    },
    /// Reply, note, escalate, solve, close, reopen, or link to an incident.
    Act {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
        /// reply, note, escalate, solve, close, reopen, link or fixed_in.
        action: String,
        #[arg(long)]
        body: Option<String>,
        /// For `link`: the incident number.
        #[arg(long)]
        incident: Option<i64>,
        /// For `fixed_in`: the release that fixed it.
        #[arg(long)]
        release: Option<String>,
    },
}

/// A JSON value as the table shows it: text as is, null as `-`.
fn shown(v: impl Into<Value>) -> String {
    output::plain(&v.into())
}

fn incident_row(i: &IncidentView) -> Vec<String> {
    vec![
        format!("#{}", i.number),
        i.severity.clone(),
        i.state.clone(),
        i.title.clone(),
        i.created_at.clone(),
    ]
}

fn show_incident(format: Format, path: &str, v: &Value) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{v}");
        return Ok(());
    }
    let d: IncidentDetail = read_as(path, v)?;
    let i = &d.incident;
    println!(
        "#{} {} [{} · {} · {}]",
        i.number, i.title, i.severity, i.state, i.stage
    );
    println!("opened {}", i.created_at);
    println!();
    for e in &d.timeline {
        println!(
            "{}  {:<14} {}  {}",
            e.at,
            e.kind,
            e.actor,
            shown(e.body.clone())
        );
    }
    if !d.deliveries.is_empty() {
        println!();
        for dl in &d.deliveries {
            println!(
                "{:<8} {:<8} {}  {}",
                dl.channel,
                dl.state,
                dl.target,
                shown(dl.last_error.clone())
            );
        }
    }
    Ok(())
}

pub async fn incident(g: &Global, cmd: IncidentCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/support/incidents");
    match cmd {
        IncidentCommand::List { project, open } => {
            let q = if open { "?state=open" } else { "" };
            let path = format!("{}{q}", base(&project));
            let list = c.call(Method::GET, &path, None).await?;
            let incidents: Vec<IncidentView> = read_as(&path, &list)?;
            output::table(
                g.format,
                &list,
                &["#", "SEVERITY", "STATE", "TITLE", "OPENED"],
                &incidents.iter().map(incident_row).collect::<Vec<_>>(),
            );
        }
        IncidentCommand::Show { project, number } => {
            let path = format!("{}/{number}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            show_incident(g.format, &path, &v)?;
        }
        IncidentCommand::Open {
            project,
            title,
            severity,
            policy,
            components,
        } => {
            let body = json!({ "title": title, "severity": severity, "policy": policy, "components": components });
            let i: IncidentView = c.call_as(Method::POST, &base(&project), Some(body)).await?;
            output::record(
                g.format,
                &[
                    ("number", Value::from(i.number)),
                    ("state", Value::from(i.state)),
                    ("severity", Value::from(i.severity)),
                ],
            );
        }
        IncidentCommand::Ack { project, number } => {
            act(g, &c, &base(&project), number, "acknowledge").await?
        }
        IncidentCommand::Resolve { project, number } => {
            act(g, &c, &base(&project), number, "resolve").await?
        }
        IncidentCommand::Escalate { project, number } => {
            act(g, &c, &base(&project), number, "escalate").await?
        }
        IncidentCommand::Note {
            project,
            number,
            body,
            stage,
        } => {
            let i: IncidentView = c
                .call_as(
                    Method::POST,
                    &format!("{}/{number}/updates", base(&project)),
                    Some(json!({ "body": body, "stage": stage })),
                )
                .await?;
            output::record(
                g.format,
                &[
                    ("number", Value::from(i.number)),
                    ("stage", Value::from(i.stage)),
                    ("state", Value::from(i.state)),
                ],
            );
        }
        IncidentCommand::Stats { project, from, to } => stats(g, &c, &project, from, to).await?,
        IncidentCommand::FixedBy { project, release } => {
            let path = format!(
                "/api/v1/projects/{project}/releases/{}/fixes",
                path_escape(&release)
            );
            let v = c.call(Method::GET, &path, None).await?;
            let fixes: FixesView = read_as(&path, &v)?;
            output::table(
                g.format,
                &v,
                &["KIND", "#", "STATE", "TITLE"],
                &fixes_rows(&fixes),
            );
        }
    }
    Ok(())
}

/// MTTA and MTTR by severity, then the tickets' SLA attainment.
async fn stats(
    g: &Global,
    c: &Client,
    project: &str,
    from: Option<String>,
    to: Option<String>,
) -> anyhow::Result<()> {
    let mut q = Vec::new();
    if let Some(f) = from {
        q.push(format!("from={}", url_escape(&f)));
    }
    if let Some(t) = to {
        q.push(format!("to={}", url_escape(&t)));
    }
    let q = if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    };
    let path = format!("/api/v1/projects/{project}/support/stats{q}");
    let v = c.call(Method::GET, &path, None).await?;
    let st: SupportStats = read_as(&path, &v)?;
    let rows: Vec<Vec<String>> = st
        .by_severity
        .iter()
        .map(|r| {
            vec![
                r.severity.clone(),
                r.incidents.to_string(),
                shown(r.mtta_secs),
                shown(r.mttr_secs),
            ]
        })
        .collect();
    output::table(
        g.format,
        &v,
        &["SEVERITY", "INCIDENTS", "MTTA (S)", "MTTR (S)"],
        &rows,
    );
    if g.format == Format::Table {
        println!(
            "tickets: {} · first response on time: {} · resolved on time: {}",
            st.tickets,
            shown(st.first_response_attainment),
            shown(st.resolution_attainment)
        );
    }
    Ok(())
}

/// The incidents, then the tickets, a release fixed.
fn fixes_rows(fixes: &FixesView) -> Vec<Vec<String>> {
    let incidents = fixes.incidents.iter().map(|i| {
        vec![
            "incident".into(),
            format!("#{}", i.number),
            i.state.clone(),
            i.title.clone(),
        ]
    });
    let tickets = fixes.tickets.iter().map(|t| {
        vec![
            "ticket".into(),
            format!("#{}", t.number),
            t.status.clone(),
            t.subject.clone(),
        ]
    });
    incidents.chain(tickets).collect()
}

/// Escapes a value for one URL path segment.
fn path_escape(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn maintenance(g: &Global, cmd: MaintenanceCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/support/maintenances");
    let show = |m: MaintenanceView| {
        output::record(
            g.format,
            &[
                ("id", Value::from(m.id)),
                ("title", Value::from(m.title)),
                ("status", Value::from(m.status)),
                ("starts_at", Value::from(m.starts_at)),
                ("ends_at", Value::from(m.ends_at)),
            ],
        )
    };
    match cmd {
        MaintenanceCommand::List { project } => {
            let path = base(&project);
            let list = c.call(Method::GET, &path, None).await?;
            let windows: Vec<MaintenanceView> = read_as(&path, &list)?;
            let rows: Vec<Vec<String>> = windows
                .iter()
                .map(|m| {
                    vec![
                        m.id.clone(),
                        m.status.clone(),
                        m.starts_at.clone(),
                        m.ends_at.clone(),
                        m.title.clone(),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &list,
                &["ID", "STATUS", "STARTS", "ENDS", "TITLE"],
                &rows,
            );
        }
        MaintenanceCommand::Schedule {
            project,
            title,
            starts,
            ends,
            components,
            body,
        } => {
            let req = json!({ "title": title, "starts_at": starts, "ends_at": ends, "components": components, "body": body });
            show(c.call_as(Method::POST, &base(&project), Some(req)).await?);
        }
        MaintenanceCommand::Move {
            project,
            id,
            status,
            body,
        } => {
            let m: MaintenanceView = c
                .call_as(
                    Method::POST,
                    &format!("{}/{}/status", base(&project), path_escape(&id)),
                    Some(json!({ "status": status, "body": body })),
                )
                .await?;
            show(m);
        }
    }
    Ok(())
}

/// Acknowledge, resolve and escalate share one shape: a POST with no body.
async fn act(g: &Global, c: &Client, base: &str, number: i64, action: &str) -> anyhow::Result<()> {
    let i: IncidentView = c
        .call_as(Method::POST, &format!("{base}/{number}/{action}"), None)
        .await?;
    output::record(
        g.format,
        &[
            ("number", Value::from(i.number)),
            ("state", Value::from(i.state)),
            ("escalation_due_at", Value::from(i.escalation_due_at)),
        ],
    );
    Ok(())
}

pub async fn oncall(g: &Global, cmd: OncallCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let (project, at) = match cmd {
        OncallCommand::Who { project, at } => (project, at),
        OncallCommand::Schedule(c) => return crate::oncall::schedule(g, c).await,
        OncallCommand::Tier(c) => return crate::oncall::tier(g, c).await,
        OncallCommand::Policy(c) => return crate::oncall::policy(g, c).await,
        OncallCommand::Integration(c) => return crate::oncall::integration(g, c).await,
        OncallCommand::Component(c) => return crate::oncall::component(g, c).await,
        OncallCommand::Notify(c) => return crate::oncall::notify(g, c).await,
        OncallCommand::SlackSecret { project, clear } => {
            let secret = if clear {
                None
            } else if let Ok(s) = std::env::var("LIVEOPS_SLACK_SIGNING_SECRET") {
                Some(s)
            } else {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                Some(s.trim().to_owned())
            };
            c.call(
                Method::PUT,
                &format!("/api/v1/projects/{project}/keys/slack/signing"),
                Some(serde_json::json!({ "signing_secret": secret })),
            )
            .await?;
            output::record(
                g.format,
                &[
                    ("project", Value::from(project.clone())),
                    ("slack_buttons", Value::from(!clear)),
                    (
                        "interactivity_path",
                        Value::from(format!("/ingest/slack/{project}")),
                    ),
                ],
            );
            return Ok(());
        }
    };
    let q = at
        .map(|a| format!("?at={}", url_escape(&a)))
        .unwrap_or_default();
    let path = format!("/api/v1/projects/{project}/support/oncall{q}");
    let list = c.call(Method::GET, &path, None).await?;
    let entries: Vec<OnCallEntry> = read_as(&path, &list)?;
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| vec![e.on.clone(), shown(e.user.clone()), e.source.clone()])
        .collect();
    output::table(g.format, &list, &["ON", "WHO", "WHY"], &rows);
    Ok(())
}

fn url_escape(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

fn ticket_row(t: &TicketView) -> Vec<String> {
    vec![
        format!("#{}", t.number),
        t.tier.clone(),
        t.priority.clone(),
        t.status.clone(),
        t.first_response_sla.clone(),
        t.subject.clone(),
    ]
}

fn show_ticket(format: Format, path: &str, v: &Value) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{v}");
        return Ok(());
    }
    let d: TicketDetail = read_as(path, v)?;
    let t = &d.ticket;
    println!(
        "#{} {} [{} · {} · {}]",
        t.number, t.subject, t.tier, t.priority, t.status
    );
    for m in &d.comments {
        let kind = if m.public { "reply" } else { "note" };
        println!("{}  {kind:<5} {}: {}", m.at, m.author, m.body);
    }
    Ok(())
}

pub async fn ticket(g: &Global, cmd: TicketCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/support/tickets");
    match cmd {
        TicketCommand::List { project, open } => {
            let q = if open { "?state=open" } else { "" };
            let path = format!("{}{q}", base(&project));
            let list = c.call(Method::GET, &path, None).await?;
            let tickets: Vec<TicketView> = read_as(&path, &list)?;
            output::table(
                g.format,
                &list,
                &[
                    "#",
                    "TIER",
                    "PRIORITY",
                    "STATUS",
                    "FIRST RESPONSE",
                    "SUBJECT",
                ],
                &tickets.iter().map(ticket_row).collect::<Vec<_>>(),
            );
        }
        TicketCommand::Show { project, number } => {
            let path = format!("{}/{number}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            show_ticket(g.format, &path, &v)?;
        }
        TicketCommand::Open {
            project,
            subject,
            requester,
            body,
            priority,
        } => {
            let t: TicketView = c
                .call_as(Method::POST, &base(&project), Some(json!({ "subject": subject, "requester": requester, "body": body, "priority": priority })))
                .await?;
            output::record(
                g.format,
                &[
                    ("number", Value::from(t.number)),
                    ("tier", Value::from(t.tier)),
                    ("first_response_due", Value::from(t.first_response_due)),
                ],
            );
        }
        TicketCommand::Act {
            project,
            number,
            action,
            body,
            incident,
            release,
        } => {
            let d: TicketDetail = c
                .call_as(
                    Method::POST,
                    &format!("{}/{number}/actions", base(&project)),
                    Some(json!({ "action": action, "body": body, "incident": incident, "release": release })),
                )
                .await?;
            output::record(
                g.format,
                &[
                    ("number", Value::from(d.ticket.number)),
                    ("tier", Value::from(d.ticket.tier)),
                    ("status", Value::from(d.ticket.status)),
                ],
            );
        }
    }
    Ok(())
}
