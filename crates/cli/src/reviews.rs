//! Post-production review commands (client): postmortems drafted from an
//! incident's data, their workflow, action items and Markdown export; and
//! post-launch reviews of a release or period.

use clap::Subcommand;
use liveops_server::contract::reviews::{
    ActionView, LaunchReviewView, PostmortemSummaryView, PostmortemView,
};
use reqwest::Method;
use serde_json::json;

use crate::cli::Global;
use crate::client::{Client, read_as};

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List postmortems, newest incident first.
    Postmortems {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Show an incident's postmortem; --markdown prints the export.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        incident: String,
        #[arg(long)]
        markdown: bool,
    },
    /// Draft an incident's postmortem from its data.
    Draft {
        #[arg(long, value_name = "SLUG")]
        project: String,
        incident: String,
    },
    /// Write a section: summary, impact, trigger, detection, root_causes,
    /// resolution, went_well, went_wrong or got_lucky.
    Write {
        #[arg(long, value_name = "SLUG")]
        project: String,
        incident: String,
        section: String,
        /// The text; `-` reads standard input.
        text: String,
    },
    /// Move the postmortem: submit, request_changes, publish or reopen.
    Step {
        #[arg(long, value_name = "SLUG")]
        project: String,
        incident: String,
        step: String,
    },
    /// Sign the postmortem off as its reviewer.
    SignOff {
        #[arg(long, value_name = "SLUG")]
        project: String,
        incident: String,
    },
    /// Add an action item; it becomes a backlog item.
    Action {
        #[arg(long, value_name = "SLUG")]
        project: String,
        incident: String,
        /// mitigate, prevent or process.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        title: String,
        /// The owner's e-mail.
        #[arg(long)]
        owner: Option<String>,
        /// Due date (YYYY-MM-DD).
        #[arg(long)]
        due: Option<String>,
    },
    /// Generate a post-launch review of a release or a period.
    Launch {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// A shipped release's version.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        release: Option<String>,
        /// Days after the release shipped (14 by default).
        #[arg(long, requires = "release")]
        days: Option<i64>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// List post-launch reviews.
    Launches {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
}

const SECTIONS: [&str; 9] = [
    "summary",
    "impact",
    "trigger",
    "detection",
    "root_causes",
    "resolution",
    "went_well",
    "went_wrong",
    "got_lucky",
];

fn pm_path(project: &str, incident: &str) -> String {
    format!(
        "/api/v1/projects/{project}/support/incidents/{}/postmortem",
        incident.trim_start_matches('#')
    )
}

fn print_postmortem(g: &Global, pm: &PostmortemView) {
    let f = &pm.facts;
    let suspects: Vec<String> = f
        .suspects
        .iter()
        .map(|d| format!("{} {}", d.service, d.version))
        .collect();
    let actions: Vec<String> = pm
        .actions
        .iter()
        .map(|x| format!("#{} {}", x.item, x.title))
        .collect();
    crate::output::record(
        g.format,
        &[
            ("incident", json!(pm.incident)),
            ("title", json!(pm.title)),
            ("state", json!(pm.state)),
            ("severity", json!(f.severity)),
            (
                "time_to_acknowledge_secs",
                json!(f.time_to_acknowledge_secs),
            ),
            ("time_to_resolve_secs", json!(f.time_to_resolve_secs)),
            ("suspects", json!(suspects.join(", "))),
            ("active_users", json!(f.usage.active_users)),
            (
                "active_users_week_before",
                json!(f.usage.active_users_week_before),
            ),
            ("error_rate", json!(f.performance.error_rate)),
            ("p95_ms", json!(f.performance.p95_ms)),
            ("actions", json!(actions.join("; "))),
        ],
    );
}

fn postmortem_row(p: &PostmortemSummaryView) -> Vec<String> {
    vec![
        format!("#{}", p.incident),
        p.title.clone(),
        p.state.clone(),
        p.updated_at.clone(),
    ]
}

fn review_row(r: &LaunchReviewView) -> Vec<String> {
    vec![
        format!("#{}", r.number),
        r.title.clone(),
        r.from.clone(),
        r.to.clone(),
    ]
}

pub async fn run(g: &Global, cmd: ReviewCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    match cmd {
        ReviewCommand::Postmortems { project } => {
            let path = format!("/api/v1/projects/{project}/reviews/postmortems");
            let v = c.call(Method::GET, &path, None).await?;
            let postmortems: Vec<PostmortemSummaryView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = postmortems.iter().map(postmortem_row).collect();
            crate::output::table(
                g.format,
                &v,
                &["INCIDENT", "TITLE", "STATE", "UPDATED"],
                &rows,
            );
        }
        ReviewCommand::Show {
            project,
            incident,
            markdown,
        } => {
            if markdown {
                let md = c
                    .text(&format!("{}?format=markdown", pm_path(&project, &incident)))
                    .await?;
                print!("{md}");
            } else {
                let pm: PostmortemView = c
                    .call_as(Method::GET, &pm_path(&project, &incident), None)
                    .await?;
                print_postmortem(g, &pm);
            }
        }
        ReviewCommand::Draft { project, incident } => {
            let pm: PostmortemView = c
                .call_as(Method::POST, &pm_path(&project, &incident), None)
                .await?;
            print_postmortem(g, &pm);
        }
        ReviewCommand::Write {
            project,
            incident,
            section,
            text,
        } => {
            if !SECTIONS.contains(&section.as_str()) {
                anyhow::bail!(
                    "`{section}` is not a section; use one of: {}",
                    SECTIONS.join(", ")
                );
            }
            let text = if text == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                text
            };
            let pm: PostmortemView = c
                .call_as(
                    Method::PATCH,
                    &pm_path(&project, &incident),
                    Some(json!({ section: text })),
                )
                .await?;
            print_postmortem(g, &pm);
        }
        ReviewCommand::Step {
            project,
            incident,
            step,
        } => {
            let pm: PostmortemView = c
                .call_as(
                    Method::POST,
                    &format!("{}/state", pm_path(&project, &incident)),
                    Some(json!({ "step": step })),
                )
                .await?;
            print_postmortem(g, &pm);
        }
        ReviewCommand::SignOff { project, incident } => {
            let pm: PostmortemView = c
                .call_as(
                    Method::POST,
                    &format!("{}/sign-off", pm_path(&project, &incident)),
                    None,
                )
                .await?;
            print_postmortem(g, &pm);
        }
        ReviewCommand::Action {
            project,
            incident,
            kind,
            title,
            owner,
            due,
        } => {
            let a: ActionView = c
                .call_as(
                    Method::POST,
                    &format!("{}/actions", pm_path(&project, &incident)),
                    Some(json!({"kind": kind, "title": title, "owner": owner, "due": due})),
                )
                .await?;
            crate::output::record(
                g.format,
                &[
                    ("item", json!(a.item)),
                    ("title", json!(a.title)),
                    ("kind", json!(a.kind)),
                    ("owner", json!(a.owner)),
                    ("due", json!(a.due)),
                ],
            );
        }
        ReviewCommand::Launch {
            project,
            release,
            days,
            from,
            to,
        } => {
            let r: LaunchReviewView = c
                .call_as(
                    Method::POST,
                    &format!("/api/v1/projects/{project}/reviews"),
                    Some(json!({"release": release, "days": days, "from": from, "to": to})),
                )
                .await?;
            crate::output::record(
                g.format,
                &[
                    ("number", json!(r.number)),
                    ("title", json!(r.title)),
                    ("from", json!(r.from)),
                    ("to", json!(r.to)),
                    ("went_well", json!(r.went_well)),
                    ("failed", json!(r.failed)),
                    ("improve", json!(r.improve)),
                    ("findings", json!(r.facts.findings)),
                ],
            );
        }
        ReviewCommand::Launches { project } => {
            let path = format!("/api/v1/projects/{project}/reviews");
            let v = c.call(Method::GET, &path, None).await?;
            let reviews: Vec<LaunchReviewView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = reviews.iter().map(review_row).collect();
            crate::output::table(g.format, &v, &["REVIEW", "TITLE", "FROM", "TO"], &rows);
        }
    }
    Ok(())
}
