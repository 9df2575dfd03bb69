//! Cohort client commands (`liveops analytics cohort ...`): list the
//! cohorts, define one (behavioural, by person properties, or static from a
//! CSV file of distinct ids), show one with some of its persons, its sizes
//! over time, and delete one.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use liveops_server::contract::cohorts::{CohortBody, CohortDetailView, CohortSizeView, CohortView};

use crate::cli::Global;
use crate::client::{Client, esc, read_as};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum CohortCommand {
    /// The project's cohorts with their sizes now.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Define a cohort. Behavioural: --did EVENT (or --did-not EVENT) with
    /// --at-least N and --days D; by person properties: --where; static:
    /// --csv FILE.
    Create {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        name: String,
        /// The persons who did this event...
        #[arg(long, value_name = "EVENT", conflicts_with_all = ["did_not", "filter", "csv"])]
        did: Option<String>,
        /// ...or everyone who did not.
        #[arg(long, value_name = "EVENT", conflicts_with_all = ["filter", "csv"])]
        did_not: Option<String>,
        /// At least this many times.
        #[arg(long, default_value_t = 1)]
        at_least: u32,
        /// In the last this many days.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Person property filters joined by `;`: plan=pro;seats>=5.
        #[arg(long = "where", conflicts_with = "csv")]
        filter: Option<String>,
        /// A CSV file with one distinct id per row (first column).
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// A cohort (id or name) with some of its persons.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        cohort: String,
    },
    /// A cohort's size at the end of each day.
    Sizes {
        #[arg(long, value_name = "SLUG")]
        project: String,
        cohort: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Delete a cohort (id or name).
    Delete {
        #[arg(long, value_name = "SLUG")]
        project: String,
        cohort: String,
    },
}

fn summary(c: &CohortView) -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("id", json!(c.id)),
        ("name", json!(c.name)),
        ("kind", json!(c.kind)),
        ("who", json!(c.rule)),
        ("persons now", json!(c.size)),
    ]
}

pub async fn run(g: &Global, cmd: CohortCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/analytics/cohorts");
    match cmd {
        CohortCommand::List { project } => {
            let path = base(&project);
            let v = c.call(Method::GET, &path, None).await?;
            let list: Vec<CohortView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = list
                .into_iter()
                .map(|c| vec![c.name, c.kind, c.rule, c.size.to_string()])
                .collect();
            output::table(g.format, &v, &["NAME", "KIND", "WHO", "PERSONS"], &rows);
        }
        CohortCommand::Create {
            project,
            name,
            did,
            did_not,
            at_least,
            days,
            filter,
            csv,
        } => {
            let mut body = CohortBody {
                name,
                ..CohortBody::default()
            };
            if let Some(event) = did.clone().or(did_not.clone()) {
                body.kind = "behavioural".into();
                body.event = Some(event);
                body.min_count = Some(at_least);
                body.days = Some(days);
                body.did = Some(did.is_some());
            } else if let Some(f) = filter {
                body.kind = "property".into();
                body.filter = Some(f);
            } else if let Some(file) = csv {
                body.kind = "static".into();
                body.csv = Some(
                    std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?,
                );
            } else {
                anyhow::bail!(
                    "say who belongs: --did EVENT or --did-not EVENT, --where FILTERS, or --csv FILE"
                );
            }
            let path = base(&project);
            let v = c
                .call(Method::POST, &path, Some(serde_json::to_value(&body)?))
                .await?;
            let made: CohortView = read_as(&path, &v)?;
            output::record(g.format, &summary(&made));
        }
        CohortCommand::Show { project, cohort } => {
            let path = format!("{}/{}", base(&project), esc(&cohort));
            let v = c.call(Method::GET, &path, None).await?;
            let d: CohortDetailView = read_as(&path, &v)?;
            output::record(g.format, &summary(&d.cohort));
            println!();
            let rows: Vec<Vec<String>> = d
                .persons
                .into_iter()
                .map(|p| vec![p.distinct_ids.join(", "), p.id])
                .collect();
            output::table(g.format, &v, &["DISTINCT IDS", "PERSON"], &rows);
        }
        CohortCommand::Sizes {
            project,
            cohort,
            from,
            to,
        } => {
            let q = crate::analytics::query(&[("from", &from), ("to", &to)]);
            let path = format!("{}/{}/sizes{q}", base(&project), esc(&cohort));
            let v = c.call(Method::GET, &path, None).await?;
            let sizes: Vec<CohortSizeView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = sizes
                .into_iter()
                .map(|s| vec![s.date, s.size.map_or("-".to_owned(), |n| n.to_string())])
                .collect();
            output::table(g.format, &v, &["DATE", "PERSONS"], &rows);
        }
        CohortCommand::Delete { project, cohort } => {
            let path = format!("{}/{}", base(&project), esc(&cohort));
            c.call(Method::DELETE, &path, None).await?;
            println!("deleted cohort {cohort}");
        }
    }
    Ok(())
}
