//! Feedback and backlog commands (client): record and import feedback, link
//! it to backlog items as votes, score, schedule and merge items.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::Global;
use crate::client::{Client, s};

#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Record feedback; prints the backlog items it may duplicate.
    Add {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// bug, enhancement, question or praise.
        #[arg(long, default_value = "enhancement")]
        kind: String,
        /// The feedback itself.
        #[arg(long)]
        body: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// The reporter's analytics distinct id.
        #[arg(long)]
        distinct_id: Option<String>,
    },
    /// Feedback, newest first.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// new, linked, closed or spam.
        #[arg(long)]
        state: Option<String>,
    },
    /// One piece of feedback, its duplicate suggestions and the reporter's activity.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
    /// Import a CSV or JSON export (by its extension) of community or social feedback.
    Import {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// The export's name, such as discourse or twitter.
        #[arg(long)]
        source: String,
        file: PathBuf,
    },
    /// Link feedback to a backlog item, as a vote.
    Link {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
        #[arg(long)]
        item: i64,
    },
    /// Turn feedback into a new backlog item.
    Promote {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum BacklogCommand {
    /// Items, highest score then most votes first.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Include merged and won't-do items.
        #[arg(long)]
        all: bool,
    },
    /// Add an item.
    Add {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        title: String,
        /// enhancement, bug, tech_debt or security.
        #[arg(long, default_value = "enhancement")]
        kind: String,
        #[arg(long)]
        body: Option<String>,
    },
    /// An item with its votes and likely duplicates.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
    /// Change an item's status, score or release.
    Update {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
        /// triage, planned, in_progress, done or wont_do.
        #[arg(long)]
        status: Option<String>,
        /// RICE: reach, impact, confidence %, effort (person-weeks), as R,I,C,E.
        #[arg(long, value_name = "R,I,C,E", conflicts_with = "ice")]
        rice: Option<String>,
        /// ICE: impact, confidence, ease (each 1–10), as I,C,E.
        #[arg(long, value_name = "I,C,E")]
        ice: Option<String>,
        /// The release to schedule it into ("" to unschedule).
        #[arg(long)]
        release: Option<String>,
    },
    /// Merge an item into another; its votes move over.
    Merge {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
        #[arg(long)]
        into: i64,
    },
}

fn numbers(s: &str, n: usize, what: &str) -> anyhow::Result<Vec<f64>> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{what} takes {n} numbers separated by commas"))?;
    anyhow::ensure!(v.len() == n, "{what} takes {n} numbers separated by commas");
    Ok(v)
}

const FEEDBACK_HEADERS: [&str; 7] = ["#", "KIND", "STATE", "TITLE", "FROM", "ITEM", "CREATED"];

fn feedback_row(f: &Value) -> Vec<String> {
    vec![
        s(f, "number"),
        s(f, "kind"),
        s(f, "state"),
        s(f, "title"),
        f["reporter"]["email"]
            .as_str()
            .or(f["reporter"]["name"].as_str())
            .unwrap_or("-")
            .to_owned(),
        f["item"].as_i64().map_or("-".into(), |n| format!("#{n}")),
        s(f, "created_at"),
    ]
}

const ITEM_HEADERS: [&str; 7] = ["#", "KIND", "STATUS", "TITLE", "VOTES", "SCORE", "RELEASE"];

fn item_row(i: &Value) -> Vec<String> {
    vec![
        s(i, "number"),
        s(i, "kind"),
        s(i, "status"),
        s(i, "title"),
        s(i, "votes"),
        i["score"]["value"]
            .as_f64()
            .map_or("-".into(), |v| format!("{} {v}", s(&i["score"], "method"))),
        i["release"].as_str().unwrap_or("-").to_owned(),
    ]
}

fn print_suggestions(v: &Value) {
    if let Some(list) = v.as_array().filter(|l| !l.is_empty()) {
        eprintln!("possible duplicates:");
        for sg in list {
            eprintln!(
                "  #{} {} ({} votes, {:.0}% alike)",
                s(sg, "item"),
                s(sg, "title"),
                s(sg, "votes"),
                sg["similarity"].as_f64().unwrap_or(0.0) * 100.0
            );
        }
    }
}

pub async fn run_feedback(g: &Global, cmd: FeedbackCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/feedback");
    match cmd {
        FeedbackCommand::Add {
            project,
            kind,
            body,
            title,
            email,
            distinct_id,
        } => {
            let v = c
                .call(
                    Method::POST,
                    &base(&project),
                    Some(
                        json!({"kind": kind, "body": body, "title": title, "email": email,
                        "distinct_id": distinct_id}),
                    ),
                )
                .await?;
            crate::output::table(
                g.format,
                &v,
                &FEEDBACK_HEADERS,
                &[feedback_row(&v["feedback"])],
            );
            print_suggestions(&v["suggestions"]);
        }
        FeedbackCommand::List { project, state } => {
            let q = state.map(|s| format!("?state={s}")).unwrap_or_default();
            let v = c
                .call(Method::GET, &format!("{}{q}", base(&project)), None)
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .map(|a| a.iter().map(feedback_row).collect())
                .unwrap_or_default();
            crate::output::table(g.format, &v, &FEEDBACK_HEADERS, &rows);
        }
        FeedbackCommand::Show { project, number } => {
            let v = c
                .call(Method::GET, &format!("{}/{number}", base(&project)), None)
                .await?;
            crate::output::table(
                g.format,
                &v,
                &FEEDBACK_HEADERS,
                &[feedback_row(&v["feedback"])],
            );
            if g.format == crate::cli::Format::Table {
                println!("\n{}", s(&v["feedback"], "body"));
                print_suggestions(&v["suggestions"]);
                if let Some(acts) = v["activity"].as_array().filter(|a| !a.is_empty()) {
                    eprintln!("what the reporter did:");
                    for a in acts.iter().take(20) {
                        eprintln!("  {} {}", s(a, "timestamp"), s(a, "event"));
                    }
                }
            }
        }
        FeedbackCommand::Import {
            project,
            source,
            file,
        } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("could not read {}", file.display()))?;
            let ct = match file.extension().and_then(|e| e.to_str()) {
                Some("json") => "application/json",
                Some("csv") => "text/csv",
                _ => anyhow::bail!(
                    "{} must end in .csv or .json, to say which it is",
                    file.display()
                ),
            };
            let v = c
                .call_raw(
                    Method::POST,
                    &format!(
                        "{}/import?source={}",
                        base(&project),
                        url::form_urlencoded::byte_serialize(source.as_bytes()).collect::<String>()
                    ),
                    ct,
                    bytes,
                )
                .await?;
            crate::output::record(
                g.format,
                &[
                    ("imported", v["imported"].clone()),
                    ("already_imported", v["already_imported"].clone()),
                    ("rejected", v["rejected"].clone()),
                ],
            );
        }
        FeedbackCommand::Link {
            project,
            number,
            item,
        } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/{number}/actions", base(&project)),
                    Some(json!({"action": "link", "item": item})),
                )
                .await?;
            crate::output::table(g.format, &v, &FEEDBACK_HEADERS, &[feedback_row(&v)]);
        }
        FeedbackCommand::Promote { project, number } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/{number}/actions", base(&project)),
                    Some(json!({"action": "promote"})),
                )
                .await?;
            crate::output::table(g.format, &v, &FEEDBACK_HEADERS, &[feedback_row(&v)]);
        }
    }
    Ok(())
}

pub async fn run_backlog(g: &Global, cmd: BacklogCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/feedback/backlog");
    match cmd {
        BacklogCommand::List { project, all } => {
            let v = c
                .call(
                    Method::GET,
                    &format!("{}{}", base(&project), if all { "?all=true" } else { "" }),
                    None,
                )
                .await?;
            let rows: Vec<Vec<String>> = v
                .as_array()
                .map(|a| a.iter().map(item_row).collect())
                .unwrap_or_default();
            crate::output::table(g.format, &v, &ITEM_HEADERS, &rows);
        }
        BacklogCommand::Add {
            project,
            title,
            kind,
            body,
        } => {
            let v = c
                .call(
                    Method::POST,
                    &base(&project),
                    Some(json!({"title": title, "kind": kind, "body": body})),
                )
                .await?;
            crate::output::table(g.format, &v, &ITEM_HEADERS, &[item_row(&v)]);
        }
        BacklogCommand::Show { project, number } => {
            let v = c
                .call(Method::GET, &format!("{}/{number}", base(&project)), None)
                .await?;
            crate::output::table(g.format, &v, &ITEM_HEADERS, &[item_row(&v["item"])]);
            if g.format == crate::cli::Format::Table {
                if let Some(votes) = v["feedback"].as_array().filter(|a| !a.is_empty()) {
                    eprintln!("votes:");
                    for f in votes {
                        let r = feedback_row(f);
                        eprintln!("  #{} {} ({})", r[0], r[3], r[4]);
                    }
                }
                print_suggestions(&v["duplicates"]);
            }
        }
        BacklogCommand::Update {
            project,
            number,
            status,
            rice,
            ice,
            release,
        } => {
            let score = match (rice, ice) {
                (Some(r), _) => {
                    let n = numbers(&r, 4, "--rice")?;
                    Some(json!({"method": "rice", "reach": n[0], "impact": n[1],
                        "confidence": n[2], "effort": n[3]}))
                }
                (None, Some(i)) => {
                    let n = numbers(&i, 3, "--ice")?;
                    Some(json!({"method": "ice", "impact": n[0], "confidence": n[1], "ease": n[2]}))
                }
                (None, None) => None,
            };
            let v = c
                .call(
                    Method::PATCH,
                    &format!("{}/{number}", base(&project)),
                    Some(json!({"status": status, "score": score, "release": release})),
                )
                .await?;
            crate::output::table(g.format, &v, &ITEM_HEADERS, &[item_row(&v)]);
        }
        BacklogCommand::Merge {
            project,
            number,
            into,
        } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("{}/{number}/merge", base(&project)),
                    Some(json!({"into": into})),
                )
                .await?;
            crate::output::table(g.format, &v, &ITEM_HEADERS, &[item_row(&v)]);
        }
    }
    Ok(())
}
