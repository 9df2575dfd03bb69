//! Post-production review commands (client): postmortems drafted from an
//! incident's data, their workflow, action items and Markdown export; and
//! post-launch reviews of a release or period.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::Global;
use crate::client::{Client, s};

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

fn print_postmortem(g: &Global, v: &Value) {
    let f = &v["facts"];
    crate::output::record(
        g.format,
        &[
            ("incident", v["incident"].clone()),
            ("title", v["title"].clone()),
            ("state", v["state"].clone()),
            ("severity", f["severity"].clone()),
            (
                "time_to_acknowledge_secs",
                f["time_to_acknowledge_secs"].clone(),
            ),
            ("time_to_resolve_secs", f["time_to_resolve_secs"].clone()),
            (
                "suspects",
                json!(
                    f["suspects"]
                        .as_array()
                        .map(|a| a
                            .iter()
                            .map(|d| format!("{} {}", s(d, "service"), s(d, "version")))
                            .collect::<Vec<_>>()
                            .join(", "))
                        .unwrap_or_default()
                ),
            ),
            ("active_users", f["usage"]["active_users"].clone()),
            (
                "active_users_week_before",
                f["usage"]["active_users_week_before"].clone(),
            ),
            ("error_rate", f["performance"]["error_rate"].clone()),
            ("p95_ms", f["performance"]["p95_ms"].clone()),
            (
                "actions",
                json!(
                    v["actions"]
                        .as_array()
                        .map(|a| a
                            .iter()
                            .map(|x| format!("#{} {}", x["item"], s(x, "title")))
                            .collect::<Vec<_>>()
                            .join("; "))
                        .unwrap_or_default()
                ),
            ),
        ],
    );
}

pub async fn run(g: &Global, cmd: ReviewCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    match cmd {
        ReviewCommand::Postmortems { project } => {
            let v = c
                .call(
                    Method::GET,
                    &format!("/api/v1/projects/{project}/reviews/postmortems"),
                    None,
                )
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            vec![
                                format!("#{}", p["incident"]),
                                s(p, "title"),
                                s(p, "state"),
                                s(p, "updated_at"),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
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
                let v = c
                    .call(Method::GET, &pm_path(&project, &incident), None)
                    .await?;
                print_postmortem(g, &v);
            }
        }
        ReviewCommand::Draft { project, incident } => {
            let v = c
                .call(Method::POST, &pm_path(&project, &incident), None)
                .await?;
            print_postmortem(g, &v);
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
            let v = c
                .call(
                    Method::PATCH,
                    &pm_path(&project, &incident),
                    Some(json!({ section: text })),
                )
                .await?;
            print_postmortem(g, &v);
        }
        ReviewCommand::Step {
            project,
            incident,
            step,
        } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/state", pm_path(&project, &incident)),
                    Some(json!({ "step": step })),
                )
                .await?;
            print_postmortem(g, &v);
        }
        ReviewCommand::SignOff { project, incident } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/sign-off", pm_path(&project, &incident)),
                    None,
                )
                .await?;
            print_postmortem(g, &v);
        }
        ReviewCommand::Action {
            project,
            incident,
            kind,
            title,
            owner,
            due,
        } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/actions", pm_path(&project, &incident)),
                    Some(json!({"kind": kind, "title": title, "owner": owner, "due": due})),
                )
                .await?;
            crate::output::record(
                g.format,
                &[
                    ("item", v["item"].clone()),
                    ("title", v["title"].clone()),
                    ("kind", v["kind"].clone()),
                    ("owner", v["owner"].clone()),
                    ("due", v["due"].clone()),
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
            let v = c
                .call(
                    Method::POST,
                    &format!("/api/v1/projects/{project}/reviews"),
                    Some(json!({"release": release, "days": days, "from": from, "to": to})),
                )
                .await?;
            crate::output::record(
                g.format,
                &[
                    ("number", v["number"].clone()),
                    ("title", v["title"].clone()),
                    ("from", v["from"].clone()),
                    ("to", v["to"].clone()),
                    ("went_well", v["went_well"].clone()),
                    ("failed", v["failed"].clone()),
                    ("improve", v["improve"].clone()),
                    ("findings", v["facts"]["findings"].clone()),
                ],
            );
        }
        ReviewCommand::Launches { project } => {
            let v = c
                .call(
                    Method::GET,
                    &format!("/api/v1/projects/{project}/reviews"),
                    None,
                )
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| {
                            vec![
                                format!("#{}", r["number"]),
                                s(r, "title"),
                                s(r, "from"),
                                s(r, "to"),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            crate::output::table(g.format, &v, &["REVIEW", "TITLE", "FROM", "TO"], &rows);
        }
    }
    Ok(())
}
