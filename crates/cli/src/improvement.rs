//! Continuous-improvement commands (client): the DORA four keys, the
//! weekly report with its history and recipients, and a project's overview
//! of how it is doing now.

use clap::{Args, Subcommand};
use liveops_server::contract::improvement::{RecipientBody, SavedReportView, StoredReportView};
use liveops_server::improvement::{
    DoraView, LeadTimeView, LinkSuggestion, StagesView, WeeklyReport, render_text,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Format, Global};
use crate::client::esc;
use crate::client::read_as;

#[derive(Debug, Args)]
pub struct DoraArgs {
    #[arg(long, value_name = "SLUG")]
    pub project: String,
    /// Start (date or RFC 3339); 30 days before --to by default.
    #[arg(long)]
    pub from: Option<String>,
    /// End, exclusive; now by default.
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub service: Option<String>,
    #[arg(long, default_value = "production")]
    pub env: String,
    /// Show the keys period by period: week or day.
    #[arg(long, value_name = "INTERVAL", conflicts_with = "suggest")]
    pub trend: Option<String>,
    /// List incidents that started soon after a deployment but are not
    /// linked to one, with the deployment to link.
    #[arg(long)]
    pub suggest: bool,
    /// Lead time in its stages (coding, review, deploy) per service, from
    /// the pull requests Git hosts reported.
    #[arg(long, conflicts_with_all = ["suggest", "trend"])]
    pub stages: bool,
}

fn hours(secs: Option<i64>) -> String {
    secs.map(|s| format!("{:.1} h", s as f64 / 3600.0))
        .unwrap_or_else(|| "-".into())
}

fn rate(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1} %", r * 100.0))
        .unwrap_or_else(|| "-".into())
}

pub async fn run_dora(g: &Global, a: DoraArgs) -> anyhow::Result<()> {
    let c = crate::client::Client::new(g)?;
    if a.suggest {
        return suggest(g, &c, &a).await;
    }
    if let Some(interval) = &a.trend {
        return trend(g, &c, &a, interval).await;
    }
    if a.stages {
        return stages(g, &c, &a).await;
    }
    let mut q = vec![format!("environment={}", esc(&a.env))];
    for (k, v) in [("from", &a.from), ("to", &a.to), ("service", &a.service)] {
        if let Some(v) = v {
            q.push(format!("{k}={}", esc(v)));
        }
    }
    let path = format!(
        "/api/v1/projects/{}/improvement/dora?{}",
        a.project,
        q.join("&")
    );
    let v = c.call(Method::GET, &path, None).await?;
    let k: DoraView = read_as(&path, &v)?;
    let level = |l: &Option<String>| l.clone().unwrap_or_else(|| "-".into());
    let rows = vec![
        vec![
            "Deployment frequency".into(),
            format!(
                "{} per day ({} deployments)",
                Value::from(k.deployment_frequency),
                k.deployments
            ),
            k.frequency_level.clone(),
        ],
        vec![
            "Lead time for changes".into(),
            hours(k.lead_time_secs),
            level(&k.lead_time_level),
        ],
        vec![
            "Change failure rate".into(),
            rate(k.change_failure_rate),
            level(&k.change_failure_level),
        ],
        vec![
            "Time to restore".into(),
            hours(k.time_to_restore_secs),
            level(&k.time_to_restore_level),
        ],
        vec!["Overall".into(), String::new(), k.level.clone()],
    ];
    crate::output::table(g.format, &v, &["KEY", "VALUE", "LEVEL"], &rows);
    Ok(())
}

async fn stages(g: &Global, c: &crate::client::Client, a: &DoraArgs) -> anyhow::Result<()> {
    let mut q = Vec::new();
    for (k, v) in [("from", &a.from), ("to", &a.to), ("service", &a.service)] {
        if let Some(v) = v {
            q.push(format!("{k}={}", esc(v)));
        }
    }
    let path = format!(
        "/api/v1/projects/{}/improvement/dora/lead-time?{}",
        a.project,
        q.join("&")
    );
    let v = c.call(Method::GET, &path, None).await?;
    let lt: LeadTimeView = read_as(&path, &v)?;
    let row = |s: &StagesView| {
        vec![
            s.service.clone().unwrap_or_else(|| "all".into()),
            s.changes.to_string(),
            hours(s.coding_secs),
            hours(s.review_secs),
            hours(s.deploy_secs),
            hours(s.total_secs),
        ]
    };
    let mut rows: Vec<Vec<String>> = lt.services.iter().map(row).collect();
    rows.push(row(&lt.overall));
    crate::output::table(
        g.format,
        &v,
        &[
            "SERVICE",
            "CHANGES",
            "CODING",
            "REVIEW",
            "DEPLOY",
            "LEAD TIME",
        ],
        &rows,
    );
    Ok(())
}

async fn trend(
    g: &Global,
    c: &crate::client::Client,
    a: &DoraArgs,
    interval: &str,
) -> anyhow::Result<()> {
    let mut q = vec![
        format!("environment={}", esc(&a.env)),
        format!("interval={}", esc(interval)),
    ];
    for (k, v) in [("from", &a.from), ("to", &a.to), ("service", &a.service)] {
        if let Some(v) = v {
            q.push(format!("{k}={}", esc(v)));
        }
    }
    let path = format!(
        "/api/v1/projects/{}/improvement/dora/trends?{}",
        a.project,
        q.join("&")
    );
    let v = c.call(Method::GET, &path, None).await?;
    let periods: Vec<DoraView> = read_as(&path, &v)?;
    let rows: Vec<Vec<String>> = periods
        .iter()
        .map(|p| {
            vec![
                p.from.get(..10).unwrap_or("-").to_owned(),
                p.deployments.to_string(),
                hours(p.lead_time_secs),
                rate(p.change_failure_rate),
                hours(p.time_to_restore_secs),
                p.level.clone(),
            ]
        })
        .collect();
    crate::output::table(
        g.format,
        &v,
        &[
            "FROM",
            "DEPLOYS",
            "LEAD TIME",
            "FAILURE RATE",
            "RESTORE",
            "LEVEL",
        ],
        &rows,
    );
    Ok(())
}

async fn suggest(g: &Global, c: &crate::client::Client, a: &DoraArgs) -> anyhow::Result<()> {
    let mut q = Vec::new();
    for (k, v) in [("from", &a.from), ("to", &a.to)] {
        if let Some(v) = v {
            q.push(format!("{k}={}", esc(v)));
        }
    }
    let path = format!(
        "/api/v1/projects/{}/improvement/dora/suggestions?{}",
        a.project,
        q.join("&")
    );
    let v = c.call(Method::GET, &path, None).await?;
    let suggested: Vec<LinkSuggestion> = read_as(&path, &v)?;
    let rows: Vec<Vec<String>> = suggested
        .iter()
        .map(|s| {
            vec![
                format!("#{}", s.incident),
                s.title.clone(),
                format!("{} {}", s.service, s.version),
                format!("{} min", s.after_secs / 60),
                s.deployment.clone(),
            ]
        })
        .collect();
    crate::output::table(
        g.format,
        &v,
        &["INCIDENT", "TITLE", "DEPLOYMENT", "AFTER", "LINK WITH"],
        &rows,
    );
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// A week's report: computed now, or with --send kept in the history
    /// (replacing the week's) and sent to the recipients.
    Weekly {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Any day of the week (YYYY-MM-DD); the last complete week by default.
        #[arg(long, value_name = "DATE")]
        week: Option<String>,
        /// Keep the report and send it to the project's recipients.
        #[arg(long)]
        send: bool,
    },
    /// The kept weekly reports, newest week first.
    History {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Weeks to list.
        #[arg(long, default_value_t = 12)]
        limit: i64,
    },
    /// Who receives the weekly report: add, list, remove.
    #[command(subcommand)]
    Recipients(RecipientCommand),
}

#[derive(Debug, Subcommand)]
pub enum RecipientCommand {
    /// Send the weekly report to an e-mail address or a webhook URL.
    Add {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// email or webhook.
        #[arg(long)]
        channel: String,
        /// The address or URL.
        target: String,
    },
    /// The project's recipients.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Stop sending the weekly report to a recipient.
    Remove {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// email or webhook.
        #[arg(long)]
        channel: String,
        target: String,
    },
}

/// The smallest error budget left among a report's SLOs.
fn least_budget(report: &WeeklyReport) -> String {
    let least = report
        .slos
        .iter()
        .filter_map(|s| s.budget_remaining)
        .reduce(f64::min);
    rate(least)
}

/// A kept report's line in the history.
fn history_row(path: &str, e: &StoredReportView) -> anyhow::Result<Vec<String>> {
    let r: WeeklyReport = read_as(path, &e.report)?;
    Ok(vec![
        e.week.clone(),
        r.dora.level.clone(),
        r.dora.deployments.to_string(),
        least_budget(&r),
        rate(r.tickets.resolution_attainment),
        format!("{} ({} overdue)", r.actions.open, r.actions.overdue),
        r.security.sla_breaches.to_string(),
    ])
}

pub async fn run_report(g: &Global, cmd: ReportCommand) -> anyhow::Result<()> {
    let c = crate::client::Client::new(g)?;
    match cmd {
        ReportCommand::Weekly {
            project,
            week,
            send,
        } => {
            let path = format!(
                "/api/v1/projects/{}/improvement/reports/weekly",
                esc(&project)
            );
            if send {
                let v = c
                    .call(
                        Method::POST,
                        &path,
                        Some(json!({"week": week, "deliver": true})),
                    )
                    .await?;
                if g.format == Format::Json {
                    println!("{v}");
                    return Ok(());
                }
                let saved: SavedReportView = read_as(&path, &v)?;
                print!("{}", render_text(&saved.report));
                println!(
                    "\nKept in the history; {} deliveries queued.",
                    saved.deliveries
                );
            } else {
                let q = week
                    .map(|w| format!("?week={}", esc(&w)))
                    .unwrap_or_default();
                let path = format!("{path}{q}");
                let v = c.call(Method::GET, &path, None).await?;
                if g.format == Format::Json {
                    println!("{v}");
                    return Ok(());
                }
                let r: WeeklyReport = read_as(&path, &v)?;
                print!("{}", render_text(&r));
            }
        }
        ReportCommand::History { project, limit } => {
            let path = format!(
                "/api/v1/projects/{}/improvement/reports?limit={limit}",
                esc(&project)
            );
            let v = c.call(Method::GET, &path, None).await?;
            let kept: Vec<StoredReportView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = kept
                .iter()
                .map(|e| history_row(&path, e))
                .collect::<anyhow::Result<_>>()?;
            crate::output::table(
                g.format,
                &v,
                &[
                    "WEEK",
                    "DORA",
                    "DEPLOYS",
                    "SLO BUDGET",
                    "TICKET SLA",
                    "ACTIONS OPEN",
                    "SLA BREACHES",
                ],
                &rows,
            );
        }
        ReportCommand::Recipients(cmd) => recipients(g, &c, cmd).await?,
    }
    Ok(())
}

async fn recipients(
    g: &Global,
    c: &crate::client::Client,
    cmd: RecipientCommand,
) -> anyhow::Result<()> {
    let base = |p: &str| format!("/api/v1/projects/{}/improvement/reports/recipients", esc(p));
    match cmd {
        RecipientCommand::Add {
            project,
            channel,
            target,
        } => {
            let path = base(&project);
            let v = c
                .call(
                    Method::POST,
                    &path,
                    Some(json!({"channel": channel, "target": target})),
                )
                .await?;
            let r: RecipientBody = read_as(&path, &v)?;
            crate::output::record(
                g.format,
                &[("channel", json!(r.channel)), ("target", json!(r.target))],
            );
        }
        RecipientCommand::List { project } => {
            let path = base(&project);
            let v = c.call(Method::GET, &path, None).await?;
            let list: Vec<RecipientBody> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = list
                .into_iter()
                .map(|r| vec![r.channel, r.target])
                .collect();
            crate::output::table(g.format, &v, &["CHANNEL", "TARGET"], &rows);
        }
        RecipientCommand::Remove {
            project,
            channel,
            target,
        } => {
            c.call(
                Method::DELETE,
                &format!(
                    "{}?channel={}&target={}",
                    base(&project),
                    esc(&channel),
                    esc(&target)
                ),
                None,
            )
            .await?;
            crate::output::record(
                g.format,
                &[("removed", json!(target)), ("channel", json!(channel))],
            );
        }
    }
    Ok(())
}

/// A project now, as its overview page shows it.
pub async fn overview(g: &Global, project: &str) -> anyhow::Result<()> {
    let c = crate::client::Client::new(g)?;
    let path = format!("/api/v1/projects/{project}/overview");
    let v = c.call(Method::GET, &path, None).await?;
    let o: liveops_server::overview::Glance = read_as(&path, &v)?;
    if g.format == Format::Json {
        println!("{v}");
        return Ok(());
    }
    let pct = |x: f64| format!("{:.1} %", x * 100.0);
    let dash = || "-".to_owned();
    let incidents = if o.incidents.is_empty() {
        "none open".to_owned()
    } else {
        o.incidents
            .iter()
            .map(|i| format!("#{} {} ({}, {})", i.number, i.title, i.severity, i.state))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let on_call = o
        .on_call
        .iter()
        .map(|c| format!("{} ({})", c.who, c.on))
        .collect::<Vec<_>>()
        .join("; ");
    let slos = o
        .slos
        .iter()
        .map(|s| {
            format!(
                "{}: {}",
                s.name,
                s.budget_remaining.map_or_else(|| "spent".into(), pct)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let release = o.next_release.as_ref().map_or_else(
        || "none planned".to_owned(),
        |r| {
            let mut t = format!("{} ({})", r.version, r.state);
            if let Some(d) = &r.planned_for {
                t.push_str(&format!(", planned for {d}"));
            }
            if let Some(f) = &r.freeze {
                t.push_str(&format!(", freezes {f}"));
            }
            t
        },
    );
    crate::output::record(
        g.format,
        &[
            ("incidents", json!(incidents)),
            (
                "on call",
                json!(if on_call.is_empty() {
                    "nobody".into()
                } else {
                    on_call
                }),
            ),
            (
                "active users today",
                json!(o.active_today.map_or_else(dash, |n| n.to_string())),
            ),
            (
                "same day last week",
                json!(o.active_week_ago.map_or_else(dash, |n| n.to_string())),
            ),
            (
                "requests per minute",
                json!(format!("{:.1}", o.traffic.per_minute)),
            ),
            (
                "error rate",
                json!(o.traffic.error_rate.map_or_else(dash, pct)),
            ),
            (
                "p95",
                json!(o.traffic.p95_ms.map_or_else(dash, |p| format!("{p:.0} ms"))),
            ),
            (
                "SLO budgets left",
                json!(if slos.is_empty() { dash() } else { slos }),
            ),
            ("findings past their SLA", json!(o.findings_past_sla)),
            ("next release", json!(release)),
        ],
    );
    Ok(())
}
