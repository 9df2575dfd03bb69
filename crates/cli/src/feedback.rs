//! Feedback and backlog commands (client): record and import feedback, link
//! it to backlog items as votes, score, schedule and merge items.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use liveops_server::contract::feedback::{
    CreatedFeedback, FeedbackDetail, FeedbackView, ImportView, ItemDetail, ItemView, SuggestionView,
};
use reqwest::Method;
use serde_json::json;

use crate::cli::Global;
use crate::client::{Client, read_as};

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

fn feedback_row(f: &FeedbackView) -> Vec<String> {
    vec![
        f.number.to_string(),
        f.kind.clone(),
        f.state.clone(),
        f.title.clone(),
        f.reporter
            .email
            .as_deref()
            .or(f.reporter.name.as_deref())
            .unwrap_or("-")
            .to_owned(),
        f.item.map_or("-".into(), |n| format!("#{n}")),
        f.created_at.clone(),
    ]
}

const ITEM_HEADERS: [&str; 7] = ["#", "KIND", "STATUS", "TITLE", "VOTES", "SCORE", "RELEASE"];

fn item_row(i: &ItemView) -> Vec<String> {
    vec![
        i.number.to_string(),
        i.kind.clone(),
        i.status.clone(),
        i.title.clone(),
        i.votes.to_string(),
        i.score
            .as_ref()
            .map_or("-".into(), |sc| format!("{} {}", sc.method, sc.value)),
        i.release.as_deref().unwrap_or("-").to_owned(),
    ]
}

fn print_suggestions(list: &[SuggestionView]) {
    if list.is_empty() {
        return;
    }
    eprintln!("possible duplicates:");
    for sg in list {
        eprintln!(
            "  #{} {} ({} votes, {:.0}% alike)",
            sg.item,
            sg.title,
            sg.votes,
            sg.similarity * 100.0
        );
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
            let path = base(&project);
            let v = c
                .call(
                    Method::POST,
                    &path,
                    Some(
                        json!({"kind": kind, "body": body, "title": title, "email": email,
                        "distinct_id": distinct_id}),
                    ),
                )
                .await?;
            let created: CreatedFeedback = read_as(&path, &v)?;
            crate::output::table(
                g.format,
                &v,
                &FEEDBACK_HEADERS,
                &[feedback_row(&created.feedback)],
            );
            print_suggestions(&created.suggestions);
        }
        FeedbackCommand::List { project, state } => {
            let q = state.map(|s| format!("?state={s}")).unwrap_or_default();
            let path = format!("{}{q}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let list: Vec<FeedbackView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = list.iter().map(feedback_row).collect();
            crate::output::table(g.format, &v, &FEEDBACK_HEADERS, &rows);
        }
        FeedbackCommand::Show { project, number } => {
            let path = format!("{}/{number}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let d: FeedbackDetail = read_as(&path, &v)?;
            crate::output::table(
                g.format,
                &v,
                &FEEDBACK_HEADERS,
                &[feedback_row(&d.feedback)],
            );
            if g.format == crate::cli::Format::Table {
                println!("\n{}", d.feedback.body);
                print_suggestions(&d.suggestions);
                if !d.activity.is_empty() {
                    eprintln!("what the reporter did:");
                    for a in d.activity.iter().take(20) {
                        eprintln!("  {} {}", a.timestamp, a.event);
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
            let path = format!(
                "{}/import?source={}",
                base(&project),
                url::form_urlencoded::byte_serialize(source.as_bytes()).collect::<String>()
            );
            let v = c.call_raw(Method::POST, &path, ct, bytes).await?;
            let done: ImportView = read_as(&path, &v)?;
            crate::output::record(
                g.format,
                &[
                    ("imported", json!(done.imported)),
                    ("already_imported", json!(done.already_imported)),
                    ("rejected", json!(done.rejected)),
                ],
            );
        }
        FeedbackCommand::Link {
            project,
            number,
            item,
        } => {
            let path = format!("{}/{number}/actions", base(&project));
            let v = c
                .call(
                    Method::POST,
                    &path,
                    Some(json!({"action": "link", "item": item})),
                )
                .await?;
            let f: FeedbackView = read_as(&path, &v)?;
            crate::output::table(g.format, &v, &FEEDBACK_HEADERS, &[feedback_row(&f)]);
        }
        FeedbackCommand::Promote { project, number } => {
            let path = format!("{}/{number}/actions", base(&project));
            let v = c
                .call(Method::POST, &path, Some(json!({"action": "promote"})))
                .await?;
            let f: FeedbackView = read_as(&path, &v)?;
            crate::output::table(g.format, &v, &FEEDBACK_HEADERS, &[feedback_row(&f)]);
        }
    }
    Ok(())
}

pub async fn run_backlog(g: &Global, cmd: BacklogCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/feedback/backlog");
    match cmd {
        BacklogCommand::List { project, all } => {
            let path = format!("{}{}", base(&project), if all { "?all=true" } else { "" });
            let v = c.call(Method::GET, &path, None).await?;
            let items: Vec<ItemView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = items.iter().map(item_row).collect();
            crate::output::table(g.format, &v, &ITEM_HEADERS, &rows);
        }
        BacklogCommand::Add {
            project,
            title,
            kind,
            body,
        } => {
            let path = base(&project);
            let v = c
                .call(
                    Method::POST,
                    &path,
                    Some(json!({"title": title, "kind": kind, "body": body})),
                )
                .await?;
            let item: ItemView = read_as(&path, &v)?;
            crate::output::table(g.format, &v, &ITEM_HEADERS, &[item_row(&item)]);
        }
        BacklogCommand::Show { project, number } => {
            let path = format!("{}/{number}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let d: ItemDetail = read_as(&path, &v)?;
            crate::output::table(g.format, &v, &ITEM_HEADERS, &[item_row(&d.item)]);
            if g.format == crate::cli::Format::Table {
                if !d.feedback.is_empty() {
                    eprintln!("votes:");
                    for f in &d.feedback {
                        let r = feedback_row(f);
                        eprintln!("  #{} {} ({})", r[0], r[3], r[4]);
                    }
                }
                print_suggestions(&d.duplicates);
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
            let path = format!("{}/{number}", base(&project));
            let v = c
                .call(
                    Method::PATCH,
                    &path,
                    Some(json!({"status": status, "score": score, "release": release})),
                )
                .await?;
            let item: ItemView = read_as(&path, &v)?;
            crate::output::table(g.format, &v, &ITEM_HEADERS, &[item_row(&item)]);
        }
        BacklogCommand::Merge {
            project,
            number,
            into,
        } => {
            let path = format!("{}/{number}/merge", base(&project));
            let v = c
                .call(Method::POST, &path, Some(json!({"into": into})))
                .await?;
            let item: ItemView = read_as(&path, &v)?;
            crate::output::table(g.format, &v, &ITEM_HEADERS, &[item_row(&item)]);
        }
    }
    Ok(())
}
