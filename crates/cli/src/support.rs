//! Production-support client commands: incidents, on-call and tickets.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Format, Global};
use crate::client::{Client, s};
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

fn incident_rows(list: &Value) -> Vec<Vec<String>> {
    list.as_array()
        .map(|is| {
            is.iter()
                .map(|i| {
                    vec![
                        format!("#{}", s(i, "number")),
                        s(i, "severity"),
                        s(i, "state"),
                        s(i, "title"),
                        s(i, "created_at"),
                    ]
                })
                .collect()
        })
        .unwrap_or_default()
}

fn show_incident(format: Format, v: &Value) {
    if format == Format::Json {
        println!("{v}");
        return;
    }
    let i = &v["incident"];
    println!(
        "#{} {} [{} · {} · {}]",
        s(i, "number"),
        s(i, "title"),
        s(i, "severity"),
        s(i, "state"),
        s(i, "stage")
    );
    println!("opened {}", s(i, "created_at"));
    println!();
    for e in v["timeline"].as_array().into_iter().flatten() {
        println!(
            "{}  {:<14} {}  {}",
            s(e, "at"),
            s(e, "kind"),
            s(e, "actor"),
            s(e, "body")
        );
    }
    let deliveries = v["deliveries"].as_array().map(Vec::len).unwrap_or(0);
    if deliveries > 0 {
        println!();
        for d in v["deliveries"].as_array().into_iter().flatten() {
            println!(
                "{:<8} {:<8} {}  {}",
                s(d, "channel"),
                s(d, "state"),
                s(d, "target"),
                s(d, "last_error")
            );
        }
    }
}

pub async fn incident(g: &Global, cmd: IncidentCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/support/incidents");
    match cmd {
        IncidentCommand::List { project, open } => {
            let q = if open { "?state=open" } else { "" };
            let list = c
                .call(Method::GET, &format!("{}{q}", base(&project)), None)
                .await?;
            output::table(
                g.format,
                &list,
                &["#", "SEVERITY", "STATE", "TITLE", "OPENED"],
                &incident_rows(&list),
            );
        }
        IncidentCommand::Show { project, number } => {
            let v = c
                .call(Method::GET, &format!("{}/{number}", base(&project)), None)
                .await?;
            show_incident(g.format, &v);
        }
        IncidentCommand::Open {
            project,
            title,
            severity,
            policy,
            components,
        } => {
            let body = json!({ "title": title, "severity": severity, "policy": policy, "components": components });
            let v = c.call(Method::POST, &base(&project), Some(body)).await?;
            output::record(
                g.format,
                &[
                    ("number", v["number"].clone()),
                    ("state", v["state"].clone()),
                    ("severity", v["severity"].clone()),
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
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/{number}/updates", base(&project)),
                    Some(json!({ "body": body, "stage": stage })),
                )
                .await?;
            output::record(
                g.format,
                &[
                    ("number", v["number"].clone()),
                    ("stage", v["stage"].clone()),
                    ("state", v["state"].clone()),
                ],
            );
        }
        IncidentCommand::Stats { project, from, to } => {
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
            let v = c
                .call(
                    Method::GET,
                    &format!("/api/v1/projects/{project}/support/stats{q}"),
                    None,
                )
                .await?;
            let rows: Vec<Vec<String>> = v["by_severity"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    vec![
                        s(r, "severity"),
                        s(r, "incidents"),
                        s(r, "mtta_secs"),
                        s(r, "mttr_secs"),
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
                    s(&v, "tickets"),
                    s(&v, "first_response_attainment"),
                    s(&v, "resolution_attainment")
                );
            }
        }
        IncidentCommand::FixedBy { project, release } => {
            let v = c
                .call(
                    Method::GET,
                    &format!(
                        "/api/v1/projects/{project}/releases/{}/fixes",
                        path_escape(&release)
                    ),
                    None,
                )
                .await?;
            let mut rows: Vec<Vec<String>> = Vec::new();
            for i in v["incidents"].as_array().into_iter().flatten() {
                rows.push(vec![
                    "incident".into(),
                    format!("#{}", s(i, "number")),
                    s(i, "state"),
                    s(i, "title"),
                ]);
            }
            for t in v["tickets"].as_array().into_iter().flatten() {
                rows.push(vec![
                    "ticket".into(),
                    format!("#{}", s(t, "number")),
                    s(t, "status"),
                    s(t, "subject"),
                ]);
            }
            output::table(g.format, &v, &["KIND", "#", "STATE", "TITLE"], &rows);
        }
    }
    Ok(())
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
    let show = |v: &Value| {
        output::record(
            g.format,
            &[
                ("id", v["id"].clone()),
                ("title", v["title"].clone()),
                ("status", v["status"].clone()),
                ("starts_at", v["starts_at"].clone()),
                ("ends_at", v["ends_at"].clone()),
            ],
        )
    };
    match cmd {
        MaintenanceCommand::List { project } => {
            let list = c.call(Method::GET, &base(&project), None).await?;
            let rows: Vec<Vec<String>> = list
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    vec![
                        s(m, "id"),
                        s(m, "status"),
                        s(m, "starts_at"),
                        s(m, "ends_at"),
                        s(m, "title"),
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
            let v = c.call(Method::POST, &base(&project), Some(req)).await?;
            show(&v);
        }
        MaintenanceCommand::Move {
            project,
            id,
            status,
            body,
        } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/{}/status", base(&project), path_escape(&id)),
                    Some(json!({ "status": status, "body": body })),
                )
                .await?;
            show(&v);
        }
    }
    Ok(())
}

/// Acknowledge, resolve and escalate share one shape: a POST with no body.
async fn act(g: &Global, c: &Client, base: &str, number: i64, action: &str) -> anyhow::Result<()> {
    let v = c
        .call(Method::POST, &format!("{base}/{number}/{action}"), None)
        .await?;
    output::record(
        g.format,
        &[
            ("number", v["number"].clone()),
            ("state", v["state"].clone()),
            ("escalation_due_at", v["escalation_due_at"].clone()),
        ],
    );
    Ok(())
}

pub async fn oncall(g: &Global, cmd: OncallCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let OncallCommand::Who { project, at } = cmd;
    let q = at
        .map(|a| format!("?at={}", url_escape(&a)))
        .unwrap_or_default();
    let list = c
        .call(
            Method::GET,
            &format!("/api/v1/projects/{project}/support/oncall{q}"),
            None,
        )
        .await?;
    let rows: Vec<Vec<String>> = list
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| vec![s(e, "on"), s(e, "user"), s(e, "source")])
                .collect()
        })
        .unwrap_or_default();
    output::table(g.format, &list, &["ON", "WHO", "WHY"], &rows);
    Ok(())
}

fn url_escape(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

pub async fn ticket(g: &Global, cmd: TicketCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/support/tickets");
    match cmd {
        TicketCommand::List { project, open } => {
            let q = if open { "?state=open" } else { "" };
            let list = c
                .call(Method::GET, &format!("{}{q}", base(&project)), None)
                .await?;
            let rows: Vec<Vec<String>> = list
                .as_array()
                .map(|ts| {
                    ts.iter()
                        .map(|t| {
                            vec![
                                format!("#{}", s(t, "number")),
                                s(t, "tier"),
                                s(t, "priority"),
                                s(t, "status"),
                                s(t, "first_response_sla"),
                                s(t, "subject"),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
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
                &rows,
            );
        }
        TicketCommand::Show { project, number } => {
            let v = c
                .call(Method::GET, &format!("{}/{number}", base(&project)), None)
                .await?;
            if g.format == Format::Json {
                println!("{v}");
            } else {
                let t = &v["ticket"];
                println!(
                    "#{} {} [{} · {} · {}]",
                    s(t, "number"),
                    s(t, "subject"),
                    s(t, "tier"),
                    s(t, "priority"),
                    s(t, "status")
                );
                for m in v["comments"].as_array().into_iter().flatten() {
                    let kind = if m["public"].as_bool() == Some(true) {
                        "reply"
                    } else {
                        "note"
                    };
                    println!(
                        "{}  {kind:<5} {}: {}",
                        s(m, "at"),
                        s(m, "author"),
                        s(m, "body")
                    );
                }
            }
        }
        TicketCommand::Open {
            project,
            subject,
            requester,
            body,
            priority,
        } => {
            let v = c
                .call(Method::POST, &base(&project), Some(json!({ "subject": subject, "requester": requester, "body": body, "priority": priority })))
                .await?;
            output::record(
                g.format,
                &[
                    ("number", v["number"].clone()),
                    ("tier", v["tier"].clone()),
                    ("first_response_due", v["first_response_due"].clone()),
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
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/{number}/actions", base(&project)),
                    Some(json!({ "action": action, "body": body, "incident": incident, "release": release })),
                )
                .await?;
            output::record(
                g.format,
                &[
                    ("number", v["ticket"]["number"].clone()),
                    ("tier", v["ticket"]["tier"].clone()),
                    ("status", v["ticket"]["status"].clone()),
                ],
            );
        }
    }
    Ok(())
}
